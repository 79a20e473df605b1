//! A tech adds to their own case (a new outcome, a note, photos) for a while after filing it;
//! not to anyone else's, and not after the window; every addition is in the audit log.

mod common;

use std::io::Cursor;

use common::{spawn_app, spawn_app_with, TestApp};
use faultbook::auth::audit::{self, AuditFilter};
use faultbook::auth::Role;
use image::{DynamicImage, ImageFormat};
use reqwest::multipart::{Form, Part};

const GUIDE: &str = "ignition-opcua-subscription-lost";

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::new_rgb8(w, h)
        .write_to(&mut out, ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// A multipart form that opens with the form token, as the browser sends it.
fn form(csrf: &str, fields: &[(&str, &str)], photos: usize) -> Form {
    let mut f = Form::new().text("csrf_token", csrf.to_string());
    for (k, v) in fields {
        f = f.text(k.to_string(), v.to_string());
    }
    for i in 0..photos {
        f = f.part(
            "photo",
            Part::bytes(png(40 + i as u32, 30)).file_name(format!("cabinet-{i}.png")),
        );
    }
    f
}

/// Files a case through the HTML form as this logged-in person; gives its id.
async fn file_as(app: &TestApp, who: &reqwest::Client, csrf: &str) -> String {
    let res = who
        .post(app.url(&format!("/guides/{GUIDE}/cases")))
        .multipart(form(
            csrf,
            &[
                ("idempotency_key", &uuid::Uuid::now_v7().to_string()),
                ("verbatim_alarm", "Bad_Timeout on the line 4 gateway"),
                ("outcome", "fixed"),
                ("cell", "L4-C2"),
            ],
            0,
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(
        res.status().as_u16(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    location.trim_start_matches("/cases/").to_string()
}

async fn follow_up(
    app: &TestApp,
    who: &reqwest::Client,
    csrf: &str,
    id: &str,
    key: &str,
    photos: usize,
) -> (u16, String) {
    let res = who
        .post(app.url(&format!("/cases/{id}/follow-up")))
        .multipart(form(
            csrf,
            &[
                ("idempotency_key", key),
                ("outcome", "workaround"),
                ("notes", "Cable swapped, alarm back after an hour"),
            ],
            photos,
        ))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.expect("text"))
}

async fn page_of(app: &TestApp, who: &reqwest::Client, id: &str) -> String {
    who.get(app.url(&format!("/cases/{id}")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text")
}

async fn follow_up_entries(app: &TestApp) -> Vec<audit::AuditEntry> {
    audit::list(
        &app.app_state.db,
        &AuditFilter {
            action: Some("case.follow_up".into()),
            limit: 100,
            ..AuditFilter::default()
        },
    )
    .await
    .expect("audit log")
}

#[tokio::test]
async fn the_filer_adds_an_outcome_a_note_and_photos_once_and_it_is_audited() {
    let app = spawn_app().await;
    let (ana, csrf) = app.logged_in("ana", Role::Tech).await;
    let id = file_as(&app, &ana, &csrf).await;
    assert!(page_of(&app, &ana, &id).await.contains("Add to your case"));

    let key = uuid::Uuid::now_v7().to_string();
    let (status, body) = follow_up(&app, &ana, &csrf, &id, &key, 2).await;
    assert_eq!(status, 303, "{body}");
    // A resend of the same form (the phone lost the answer) adds nothing twice.
    let (status, _) = follow_up(&app, &ana, &csrf, &id, &key, 2).await;
    assert_eq!(status, 303);

    let (_, case) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(case["outcome"], "workaround");
    let notes = case["notes"].as_str().expect("notes");
    assert_eq!(notes.matches("Cable swapped").count(), 1, "{notes}");
    assert!(notes.contains("by ana"), "the note is signed: {notes}");
    assert_eq!(case["photos"].as_array().expect("photos").len(), 2);

    let entries = follow_up_entries(&app).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].actor, "ana");
    assert_eq!(entries[0].target, id);
    assert_eq!(
        entries[0].detail,
        "outcome fixed -> workaround, note, 2 photo(s)"
    );
}

#[tokio::test]
async fn someone_elses_case_is_refused_with_a_reason() {
    let app = spawn_app().await;
    let (ana, ana_csrf) = app.logged_in("ana", Role::Tech).await;
    let id = file_as(&app, &ana, &ana_csrf).await;
    let (ben, ben_csrf) = app.logged_in("ben", Role::Tech).await;
    assert!(!page_of(&app, &ben, &id).await.contains("Add to your case"));

    let key = uuid::Uuid::now_v7().to_string();
    let (status, body) = follow_up(&app, &ben, &ben_csrf, &id, &key, 0).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("Only the person who filed this case"),
        "{body}"
    );
    let (_, case) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(case["outcome"], "fixed", "nothing changed");
    assert!(follow_up_entries(&app).await.is_empty());

    // A viewer may not file, so may not add either; a missing form token is refused too.
    let (viewer, viewer_csrf) = app.logged_in("vic", Role::Viewer).await;
    let (status, _) = follow_up(&app, &viewer, &viewer_csrf, &id, &key, 0).await;
    assert_eq!(status, 403);
    let (status, _) = follow_up(&app, &ana, "not-the-token", &id, &key, 0).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn after_the_window_the_filer_is_refused_and_the_form_is_gone() {
    let app = spawn_app().await;
    let (ana, csrf) = app.logged_in("ana", Role::Tech).await;
    let id = file_as(&app, &ana, &csrf).await;
    // Filed 73 hours ago: one hour past the default window of 72 hours.
    let long_ago = faultbook::time::Timestamp::now().plus_secs(-73 * 3600);
    sqlx::query("UPDATE cases SET created_at = $1 WHERE id = $2")
        .bind(long_ago)
        .bind(&id)
        .execute(&app.app_state.db)
        .await
        .expect("backdate");
    assert!(!page_of(&app, &ana, &id).await.contains("Add to your case"));
    let key = uuid::Uuid::now_v7().to_string();
    let (status, body) = follow_up(&app, &ana, &csrf, &id, &key, 0).await;
    assert_eq!(status, 403);
    assert!(body.contains("for 72 hours after filing it"), "{body}");
    assert!(follow_up_entries(&app).await.is_empty());
}

#[tokio::test]
async fn the_window_is_a_setting_and_zero_turns_it_off() {
    let app = spawn_app_with(|c| c.own_case_edit_window = 0).await;
    let (ana, csrf) = app.logged_in("ana", Role::Tech).await;
    let id = file_as(&app, &ana, &csrf).await;
    assert!(!page_of(&app, &ana, &id).await.contains("Add to your case"));
    let key = uuid::Uuid::now_v7().to_string();
    let (status, _) = follow_up(&app, &ana, &csrf, &id, &key, 0).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn too_many_photos_and_an_empty_addition_are_refused_without_a_change() {
    let app = spawn_app().await;
    let (ana, csrf) = app.logged_in("ana", Role::Tech).await;
    let id = file_as(&app, &ana, &csrf).await;
    let res = ana
        .post(app.url(&format!("/cases/{id}/follow-up")))
        .multipart(form(
            &csrf,
            &[("idempotency_key", "empty-1"), ("outcome", "fixed")],
            0,
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.expect("text").contains("Nothing to add"));
    let (status, _) = follow_up(&app, &ana, &csrf, &id, "many-1", 10).await;
    assert_eq!(status, 303);
    let (status, body) = follow_up(&app, &ana, &csrf, &id, "many-2", 1).await;
    assert_eq!(status, 422);
    assert!(body.contains("at most 10 photos"), "{body}");
    // The case page shows why, with the note as it was written, ready to send again.
    assert!(body.contains("<strong>Not added yet.</strong>"), "{body}");
    assert!(
        body.contains(">Cable swapped, alarm back after an hour</textarea>"),
        "{body}"
    );
    let (_, case) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(case["photos"].as_array().expect("photos").len(), 10);
}
