//! What a case brings back later: earlier cases with the same alarm while filing (this cell
//! first, never for someone who may not read cases), and the guide's Verify checklist ticked on
//! the form, shown on the case and tallied on the guide.

mod common;

use common::{spawn_app, spawn_app_in, spawn_app_with, TestApp};
use faultbook::auth::Role;
use reqwest::multipart::Form;
use serde_json::{json, Value};

const GUIDE: &str = "ignition-opcua-subscription-lost";

async fn file(app: &TestApp, alarm: &str, cell: &str, fix: &str, outcome: &str) -> String {
    let key = uuid::Uuid::now_v7().to_string();
    let case = app
        .file_case(
            &key,
            json!({ "guide": GUIDE, "verbatim_alarm": alarm, "cell": cell, "line": "Line 4",
                    "fix_applied": fix, "outcome": outcome }),
        )
        .await;
    case["id"].as_str().expect("id").to_string()
}

async fn similar(app: &TestApp, alarm: &str, cell: &str) -> Vec<Value> {
    let q = faultbook::web::query_string([("alarm", alarm), ("cell", cell)]);
    let (status, body) = app.get_json(&format!("/api/cases/similar{q}")).await;
    assert_eq!(status, 200, "{body}");
    body["cases"].as_array().expect("cases").clone()
}

fn ids(cases: &[Value]) -> Vec<&str> {
    cases
        .iter()
        .map(|c| c["id"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn earlier_cases_with_the_same_alarm_come_this_cell_first_then_newest() {
    let app = spawn_app().await;
    let a = file(
        &app,
        "Bad_ConnectionRejected",
        "C1",
        "Re-trusted the certificate",
        "fixed",
    )
    .await;
    let b = file(
        &app,
        "Bad_ConnectionRejected",
        "C2",
        "Restarted the gateway",
        "workaround",
    )
    .await;
    let c = file(
        &app,
        "Bad_ConnectionRejected",
        "C2",
        "Raised the session limit",
        "fixed",
    )
    .await;
    let d = file(
        &app,
        "Bad_ConnectionRejected",
        "C3",
        "Escalated to IT",
        "escalated",
    )
    .await;
    let e = file(
        &app,
        "Bad_ConnectionRejected",
        "C1",
        "Re-trusted again",
        "not_fixed",
    )
    .await;
    file(&app, "Bad_Timeout", "C1", "Another fault", "fixed").await;

    // This cell's newest first, then the newest elsewhere; three at most.
    let on_c1 = similar(&app, "Bad_ConnectionRejected", "C1").await;
    assert_eq!(ids(&on_c1), vec![e.as_str(), a.as_str(), d.as_str()]);
    assert_eq!(on_c1[0]["same_cell"], true);
    assert_eq!(on_c1[2]["same_cell"], false);
    assert_eq!(on_c1[0]["fix_applied"], "Re-trusted again");
    assert_eq!(on_c1[0]["outcome"], "not_fixed");
    assert_eq!(on_c1[0]["outcome_label"], "Not fixed");
    assert_eq!(on_c1[0]["url"], format!("/cases/{e}"));

    // No cell picked: simply the newest.
    let anywhere = similar(&app, "Bad_ConnectionRejected", "").await;
    assert_eq!(ids(&anywhere), vec![e.as_str(), d.as_str(), c.as_str()]);
    let on_c2 = similar(&app, "Bad_ConnectionRejected", "C2").await;
    assert_eq!(ids(&on_c2), vec![c.as_str(), b.as_str(), e.as_str()]);
}

#[tokio::test]
async fn the_same_alarm_in_another_notation_or_log_line_is_found_and_other_alarms_are_not() {
    let app = spawn_app().await;
    let code = file(
        &app,
        "Bad_ConnectionRejected",
        "C1",
        "Trusted the cert",
        "fixed",
    )
    .await;
    let text = file(
        &app,
        "2026-11-30 02:14:07.113 [ERROR] Drive 3 overtemperature",
        "C1",
        "Cleaned the filter",
        "fixed",
    )
    .await;

    for pasted in [
        "0x80AC0000",
        "ConnectAsync failed: status 2158755840 (BadConnectionRejected)",
        "OpcUa_BadConnectionRejected",
    ] {
        assert_eq!(
            ids(&similar(&app, pasted, "").await),
            vec![code.as_str()],
            "{pasted}"
        );
    }
    assert_eq!(
        ids(&similar(
            &app,
            "2026-12-01 03:00:00 [ERROR] drive 3 OVERTEMPERATURE",
            ""
        )
        .await),
        vec![text.as_str()]
    );
    assert!(similar(&app, "Drive 4 overtemperature", "")
        .await
        .is_empty());
    assert!(similar(&app, "Bad_Timeout", "").await.is_empty());
    // Too short to mean anything, and over the limit.
    assert!(similar(&app, "Ba", "").await.is_empty());
    let long = "x".repeat(10_001);
    let q = faultbook::web::query_string([("alarm", long.as_str())]);
    assert_eq!(app.get_json(&format!("/api/cases/similar{q}")).await.0, 400);
}

#[tokio::test]
async fn similar_cases_never_reach_someone_who_may_not_read_cases() {
    // An open-intake tablet may file without logging in, but may not read cases.
    let app = spawn_app_with(|c| {
        c.open_intake = vec!["127.0.0.0/8".parse().expect("range")];
    })
    .await;
    file(&app, "Bad_ConnectionRejected", "C1", "Secret fix", "fixed").await;

    let res = app
        .anon
        .get(app.url("/api/cases/similar?alarm=Bad_ConnectionRejected"))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let body = res.text().await.expect("body");
    assert!(status == 401 || status == 403, "{status}");
    assert!(!body.contains("Secret fix"), "{body}");

    let form = app
        .anon
        .get(app.url(&format!(
            "/guides/{GUIDE}/cases/new?alarm=Bad_ConnectionRejected"
        )))
        .send()
        .await
        .expect("form");
    assert_eq!(form.status().as_u16(), 200);
    let html = form.text().await.expect("html");
    assert!(html.contains("data-case-form"), "the tablet gets the form");
    assert!(
        !html.contains("data-similar"),
        "but no lookup of earlier cases"
    );

    // A tech who may read cases gets the lookup.
    let (tech, _) = app.logged_in("tina", Role::Tech).await;
    let html = tech
        .get(app.url(&format!("/guides/{GUIDE}/cases/new")))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("html");
    assert!(html.contains("data-similar-url=\"/api/cases/similar\""));
}

#[tokio::test]
async fn cases_filed_before_alarm_keys_get_theirs_at_start() {
    let app = spawn_app().await;
    let id = file(
        &app,
        "Bad_ConnectionRejected",
        "C1",
        "Trusted the cert",
        "fixed",
    )
    .await;
    sqlx::query("UPDATE cases SET alarm_key = NULL")
        .execute(&app.app_state.db)
        .await
        .expect("forget keys");
    assert!(similar(&app, "Bad_ConnectionRejected", "").await.is_empty());

    let TestApp {
        data, content_dir, ..
    } = app;
    let again = spawn_app_in(data, content_dir).await;
    assert_eq!(
        ids(&similar(&again, "0x80AC0000", "").await),
        vec![id.as_str()]
    );
}

fn verify_form(csrf: &str, ticked: &[&str]) -> Form {
    let mut f = Form::new()
        .text("csrf_token", csrf.to_string())
        .text("idempotency_key", uuid::Uuid::now_v7().to_string())
        .text("verbatim_alarm", "Subscription watchdog timer elapsed")
        .text("outcome", "fixed")
        .text("verify_offered", "4");
    for t in ticked {
        f = f.text("verify_step", t.to_string());
    }
    f
}

/// Sends the guide's case form, with these Verify steps ticked, as this logged-in tech.
async fn send_verify_form(
    app: &TestApp,
    tech: &reqwest::Client,
    csrf: &str,
    ticked: &[&str],
) -> reqwest::Response {
    tech.post(app.url(&format!("/guides/{GUIDE}/cases")))
        .multipart(verify_form(csrf, ticked))
        .send()
        .await
        .expect("file")
}

#[tokio::test]
async fn the_verify_checklist_goes_from_the_form_to_the_case_and_the_guides_record() {
    let app = spawn_app().await;
    let (tech, csrf) = app.logged_in("tom", Role::Tech).await;
    let form = tech
        .get(app.url(&format!("/guides/{GUIDE}/cases/new")))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("html");
    assert_eq!(
        form.matches("name=\"verify_step\"").count(),
        4,
        "one box per Verify step"
    );
    assert!(form.contains("<span class=\"stepno\">1.</span> View Details &#62; Client Diagnostics shows a stable subscription count"), "the step's words: {form}");

    let res = send_verify_form(&app, &tech, &csrf, &["1", "3"]).await;
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let id = location.trim_start_matches("/cases/");

    let (_, case) = app.get_json(&format!("/api/cases/{id}")).await;
    let checks = case["verify_checks"].as_array().expect("checks");
    assert_eq!(
        checks
            .iter()
            .map(|c| (
                c["step"].as_u64().unwrap_or(0),
                c["passed"].as_bool().unwrap_or(false)
            ))
            .collect::<Vec<_>>(),
        vec![(1, true), (2, false), (3, true), (4, false)]
    );
    assert!(checks[1]["text"]
        .as_str()
        .unwrap_or("")
        .contains("Subscription watchdog timer elapsed"));

    let (_, page) = app.get_text(&location).await;
    assert!(page.contains("<span class=\"visually-hidden\">Confirmed:</span> <a href=\"/guides/ignition-opcua-subscription-lost#verify-1\">Step 1</a>"), "{page}");
    assert!(page.contains("<span class=\"visually-hidden\">Not confirmed:</span> <a href=\"/guides/ignition-opcua-subscription-lost#verify-2\">Step 2</a>"));

    // A second case ticks only step 1: the guide tallies each step over both.
    let res = send_verify_form(&app, &tech, &csrf, &["1"]).await;
    assert_eq!(res.status().as_u16(), 303);
    let (_, guide) = app.get_text(&format!("/guides/{GUIDE}")).await;
    assert!(
        guide.contains("<a href=\"#verify-1\">Step 1</a>: <strong>confirmed on 2 of 2</strong>"),
        "{guide}"
    );
    assert!(
        guide.contains("<a href=\"#verify-3\">Step 3</a>: <strong>confirmed on 1 of 2</strong>")
    );
    assert!(
        guide.contains("<a href=\"#verify-2\">Step 2</a>: <strong>confirmed on 0 of 2</strong>")
    );
}

#[tokio::test]
async fn a_step_the_guide_lacks_sends_the_form_back_with_the_ticks_and_files_nothing() {
    let app = spawn_app().await;
    let (tech, csrf) = app.logged_in("tess", Role::Tech).await;
    let res = send_verify_form(&app, &tech, &csrf, &["2", "9"]).await;
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.expect("html");
    assert!(
        html.contains("There is no Verify step 9: the guide has steps 1 to 4."),
        "{html}"
    );
    assert!(
        html.contains("value=\"2\" checked"),
        "the tick on step 2 is kept"
    );
    assert!(
        html.contains("Subscription watchdog timer elapsed</textarea>"),
        "the alarm is kept"
    );
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_api_takes_verified_steps_and_refuses_them_without_a_guide() {
    let app = spawn_app().await;
    let case = app
        .file_case(
            "api-checks-1",
            json!({ "guide": GUIDE, "verbatim_alarm": "Bad_Timeout", "outcome": "fixed",
                    "verified_steps": [2, 4] }),
        )
        .await;
    let passed: Vec<u64> = case["verify_checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == true)
        .filter_map(|c| c["step"].as_u64())
        .collect();
    assert_eq!(passed, vec![2, 4]);

    // The same key and the same ticks: the first case again. Other ticks: refused.
    let again = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "api-checks-1")
        .json(
            &json!({ "guide": GUIDE, "verbatim_alarm": "Bad_Timeout", "outcome": "fixed",
                       "verified_steps": [2, 4] }),
        )
        .send()
        .await
        .expect("retry");
    assert_eq!(again.status().as_u16(), 200);
    let other = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "api-checks-1")
        .json(
            &json!({ "guide": GUIDE, "verbatim_alarm": "Bad_Timeout", "outcome": "fixed",
                       "verified_steps": [1] }),
        )
        .send()
        .await
        .expect("retry");
    assert_eq!(other.status().as_u16(), 422);

    let unsorted = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "api-checks-2")
        .json(
            &json!({ "verbatim_alarm": "Bad_Timeout", "outcome": "fixed", "verified_steps": [1] }),
        )
        .send()
        .await
        .expect("unsorted");
    assert_eq!(unsorted.status().as_u16(), 422);
    let body: Value = unsorted.json().await.expect("json");
    assert!(body.to_string().contains("filed against a guide"), "{body}");

    // A case without a checklist records none.
    let plain = app
        .file_case(
            "api-checks-3",
            json!({ "guide": GUIDE, "verbatim_alarm": "Bad_Timeout", "outcome": "fixed" }),
        )
        .await;
    assert_eq!(plain["verify_checks"], json!([]));
}

#[tokio::test]
async fn too_many_or_unreadable_verify_steps_are_refused_and_the_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    let (tech, csrf) = app.logged_in("tara", Role::Tech).await;
    let many: Vec<String> = (1..=51).map(|n| n.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let res = send_verify_form(&app, &tech, &csrf, &many).await;
    assert_eq!(res.status().as_u16(), 400);
    let html = res.text().await.expect("html");
    assert!(html.contains("Too many Verify steps were sent."), "{html}");
    assert!(
        html.contains("Subscription watchdog timer elapsed</textarea>"),
        "the alarm is kept"
    );

    let res = send_verify_form(&app, &tech, &csrf, &["1", "two"]).await;
    assert_eq!(res.status().as_u16(), 422);
    let html = res.text().await.expect("html");
    assert!(html.contains("`two` is not a step number."), "{html}");

    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(
        list["cases"].as_array().map(Vec::len),
        Some(0),
        "nothing filed"
    );
}
