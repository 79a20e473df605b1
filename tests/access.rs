//! Who may do what: the role matrix, form tokens, sessions, rate limits, the proxy header, and
//! that private cases never leak to someone who may not read them.

mod common;

use common::*;
use faultbook::auth::Role;
use serde_json::json;

const GUIDE: &str = "ignition-opcua-bad-connectionrejected-kepware";

/// A small real JPEG.
fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode");
    out.into_inner()
}

/// Files a case through the API with the given client; returns its JSON.
async fn file_case(
    app: &TestApp,
    client: &reqwest::Client,
    body: serde_json::Value,
) -> serde_json::Value {
    let res = client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 201, "case filed");
    res.json().await.expect("json")
}

#[derive(Clone)]
enum Body {
    None,
    Form(Vec<(&'static str, String)>),
    Multipart(Vec<(&'static str, String)>),
    Json(serde_json::Value),
}

struct Who {
    label: &'static str,
    client: reqwest::Client,
    csrf: Option<String>,
}

async fn send(app: &TestApp, who: &Who, method: &str, path: &str, body: &Body) -> u16 {
    let mut req = match method {
        "GET" => who.client.get(app.url(path)),
        _ => who.client.post(app.url(path)),
    };
    if let Some(t) = &who.csrf {
        req = req.header("X-CSRF-Token", t);
    }
    req = match body.clone() {
        Body::None => req,
        Body::Form(pairs) => req.form(&pairs),
        Body::Multipart(pairs) => {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in pairs {
                form = form.text(k, v);
            }
            form = form.part(
                "photo",
                reqwest::multipart::Part::bytes(jpeg())
                    .file_name("hmi.jpg")
                    .mime_str("image/jpeg")
                    .expect("mime"),
            );
            req.multipart(form)
        }
        Body::Json(v) => req
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
            .json(&v),
    };
    req.send().await.expect("request").status().as_u16()
}

/// Every route against every kind of caller, with the status each must get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix() {
    let app = spawn_app().await;
    let state = &app.app_state;
    let tech_token = token(state, "mes-line4", Role::Tech).await;
    let revoked = token(state, "old-script", Role::Admin).await;
    faultbook::auth::store::revoke_token(&state.db, "old-script")
        .await
        .expect("revoke");

    let mut callers = vec![Who {
        label: "anonymous",
        client: app.anon.clone(),
        csrf: None,
    }];
    for (label, role) in [
        ("viewer", Role::Viewer),
        ("tech", Role::Tech),
        ("editor", Role::Editor),
        ("admin", Role::Admin),
    ] {
        let (client, csrf) = app.logged_in(label, role).await;
        callers.push(Who {
            label,
            client,
            csrf: Some(csrf),
        });
    }
    callers.push(Who {
        label: "bearer token (tech)",
        client: client_with(Some(&tech_token)),
        csrf: None,
    });
    callers.push(Who {
        label: "revoked token",
        client: client_with(Some(&revoked)),
        csrf: None,
    });

    // A case with a photo to read, edit and close.
    let mut form = reqwest::multipart::Form::new().text(
        "case",
        json!({"verbatim_alarm": "Bad_ConnectionRejected matrix", "outcome": "fixed", "guide": GUIDE, "asset": "PLC-4"})
            .to_string(),
    );
    form = form.part(
        "photo",
        reqwest::multipart::Part::bytes(jpeg())
            .file_name("a.jpg")
            .mime_str("image/jpeg")
            .expect("mime"),
    );
    let case: serde_json::Value = app
        .client
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "matrix-case")
        .multipart(form)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let id = case["id"].as_str().expect("id").to_string();
    let photo = case["photos"][0]["id"].as_str().expect("photo").to_string();

    let case_fields = || {
        vec![
            ("verbatim_alarm", "Bad_Timeout from the matrix".to_string()),
            ("outcome", "fixed".to_string()),
        ]
    };
    let api_case = json!({"verbatim_alarm": "Bad_Timeout via API", "outcome": "workaround"});
    // Someone for the admin actions to act on, who is not in the matrix.
    user(state, "dormant", Role::Viewer).await;
    let strong = || "cabinet lamp orange 43".to_string();

    // Guide editing: the editor form's fields for GUIDE as it is now, sent with action=preview
    // so that the allowed callers get 200 and nothing is saved.
    let current = state.guides.current_revision(GUIDE).await.expect("current");
    let first_rev = state.guides.history(GUIDE).await.expect("history")[0].id;
    let fields = faultbook::content::GuideFields::from_text(&current.text).expect("fields");
    let guide_form = |slug: &str, base: Option<i64>| {
        let mut f = vec![
            ("slug", slug.to_string()),
            ("title", fields.title.clone()),
            ("platform", fields.platform.clone()),
            ("level", fields.level.clone()),
            ("minutes", fields.minutes.clone()),
            ("products", fields.products.join("\n")),
            ("alarms", fields.alarms.join("\n")),
            ("aliases", fields.aliases.join("\n")),
            ("sources", fields.sources_text()),
            ("body", fields.body.clone()),
            ("summary", "matrix preview".to_string()),
            ("action", "preview".to_string()),
        ];
        if let Some(b) = base {
            f.push(("base_revision", b.to_string()));
        }
        f
    };
    let new_guide_form = {
        let mut f = guide_form("matrix-preview-guide", None);
        f[1].1 = "Matrix preview guide".into();
        f[6].1 = "Matrix preview alarm".into();
        f
    };
    // A suggestion waiting for a decision: the editor declines it, after which it no longer
    // waits, so the admin's decision on it is a 409.
    let mut suggested = fields.clone();
    suggested.body.push_str("\nA matrix suggestion.\n");
    let suggestion = state
        .guides
        .save(
            "matrix-tech",
            faultbook::content::GuideEdit {
                slug: Some(GUIDE.into()),
                base_revision: Some(current.id),
                new_slug: GUIDE.into(),
                fields: suggested,
                summary: "matrix suggestion".into(),
                intent: faultbook::content::Intent::Suggest,
            },
        )
        .await
        .expect("suggestion saved")
        .revision;
    let cur = current.id;

    use Body as B;
    // Columns: anonymous, viewer, tech, editor, admin, bearer token (tech), revoked token.
    #[rustfmt::skip]
    let rows: Vec<(&str, String, Body, [u16; 7])> = vec![
        ("GET", "/".into(), B::None,                               [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/guides".into(), B::None,                         [200, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/guides/{GUIDE}"), B::None,               [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/search?q=Bad_Timeout".into(), B::None,           [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/api/search?q=Bad_Timeout".into(), B::None,       [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/api/guides".into(), B::None,                     [200, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/guides/{GUIDE}"), B::None,           [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/alarm/Bad_ConnectionRejected".into(), B::None,   [302, 302, 302, 302, 302, 302, 401]),
        ("GET", format!("/guides/{GUIDE}/qr.svg"), B::None,        [200, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/guides/{GUIDE}/qr.png"), B::None,        [200, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/labels?guide={GUIDE}"), B::None,         [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/feed.xml".into(), B::None,                       [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/login".into(), B::None,                          [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/healthz".into(), B::None,                        [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/cases".into(), B::None,                          [303, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/cases/{id}"), B::None,                   [303, 200, 200, 200, 200, 200, 401]),
        ("GET", "/cases.csv".into(), B::None,                      [401, 200, 200, 200, 200, 200, 401]),
        ("GET", "/api/cases".into(), B::None,                      [401, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/cases/{id}"), B::None,               [401, 200, 200, 200, 200, 200, 401]),
        ("GET", "/api/cases/similar?alarm=Bad_ConnectionRejected&cell=C1".into(), B::None,
                                                                   [401, 200, 200, 200, 200, 200, 401]),
        ("GET", "/cases/recurring".into(), B::None,                [303, 200, 200, 200, 200, 200, 401]),
        ("GET", "/api/cases/recurring?min=2&days=30".into(), B::None,
                                                                   [401, 200, 200, 200, 200, 200, 401]),
        ("GET", "/assets/PLC-4".into(), B::None,                   [303, 200, 200, 200, 200, 200, 401]),
        ("GET", "/api/assets/PLC-4".into(), B::None,               [401, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/assets/PLC-4/diff?to={id}"), B::None,     [303, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/api/assets/PLC-4/diff?to={id}"), B::None, [401, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/photos/{photo}.jpg"), B::None,           [401, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/photos/{photo}.thumb.jpg"), B::None,     [401, 200, 200, 200, 200, 200, 401]),
        ("GET", "/cases/new".into(), B::None,                      [303, 403, 200, 200, 200, 200, 401]),
        ("GET", format!("/guides/{GUIDE}/cases/new"), B::None,     [303, 403, 200, 200, 200, 200, 401]),
        ("POST", "/cases".into(), B::Multipart(case_fields()),     [401, 403, 303, 303, 303, 303, 401]),
        ("POST", format!("/guides/{GUIDE}/cases"), B::Multipart(case_fields()),
                                                                   [401, 403, 303, 303, 303, 303, 401]),
        ("POST", "/api/cases".into(), B::Json(api_case.clone()),   [401, 403, 201, 201, 201, 201, 401]),
        ("GET", format!("/cases/{id}/edit"), B::None,              [303, 403, 403, 200, 200, 403, 401]),
        ("POST", format!("/cases/{id}/edit"), B::Multipart(case_fields()),
                                                                   [401, 403, 403, 303, 303, 403, 401]),
        // Only the filer adds to their own case: this one was filed by another token.
        ("POST", format!("/cases/{id}/follow-up"), B::Multipart(case_fields()),
                                                                   [401, 403, 403, 403, 403, 403, 401]),
        ("POST", format!("/cases/{id}/guide"), B::Form(vec![("guide", GUIDE.into())]),
                                                                   [401, 403, 403, 303, 303, 403, 401]),
        ("POST", format!("/cases/{id}/closed"), B::Form(vec![("closed", "1".into())]),
                                                                   [401, 403, 403, 303, 303, 403, 401]),
        ("GET", "/account".into(), B::None,                        [303, 200, 200, 200, 200, 200, 401]),
        ("GET", "/admin/audit".into(), B::None,                    [303, 403, 403, 200, 200, 403, 401]),
        ("GET", "/admin/audit.csv".into(), B::None,                [401, 403, 403, 200, 200, 403, 401]),
        ("GET", "/admin/users".into(), B::None,                    [303, 403, 403, 403, 200, 403, 401]),
        ("POST", "/admin/users".into(), B::Form(vec![("username", "newbie".into()), ("role", "viewer".into()), ("password", "cabinet lamp orange 42".into())]),
                                                                   [401, 403, 403, 403, 200, 403, 401]),
        ("POST", "/admin/users/dormant/role".into(), B::Form(vec![("role", "viewer".into())]),
                                                                   [401, 403, 403, 403, 200, 403, 401]),
        ("POST", "/admin/users/dormant/password".into(), B::Form(vec![("password", strong())]),
                                                                   [401, 403, 403, 403, 200, 403, 401]),
        ("POST", "/admin/users/dormant/disabled".into(), B::Form(vec![("disabled", "0".into())]),
                                                                   [401, 403, 403, 403, 200, 403, 401]),
        ("POST", "/account/password".into(), B::Form(vec![("current", "not it".into()), ("password", strong()), ("password_again", strong())]),
                                                                   [401, 422, 422, 422, 422, 422, 401]),
        ("GET", "/api/csrf".into(), B::None,                       [200, 200, 200, 200, 200, 200, 401]),
        ("GET", "/sw.js".into(), B::None,                          [200, 200, 200, 200, 200, 200, 401]),
        ("GET", format!("/setup/{}", "0".repeat(48)), B::None,     [404, 404, 404, 404, 404, 404, 401]),
        ("GET", "/admin/tokens".into(), B::None,                   [303, 403, 403, 403, 200, 403, 401]),
        ("POST", "/admin/tokens".into(), B::Form(vec![("name", "matrix-token".into()), ("role", "viewer".into())]),
                                                                   [401, 403, 403, 403, 200, 403, 401]),
        ("GET", "/guides/new".into(), B::None,                     [303, 403, 403, 200, 200, 403, 401]),
        ("GET", format!("/guides/new?from_case={id}"), B::None,    [303, 403, 403, 200, 200, 403, 401]),
        ("POST", "/guides/new".into(), B::Form(new_guide_form.clone()),
                                                                   [401, 403, 403, 200, 200, 403, 401]),
        ("GET", format!("/guides/{GUIDE}/edit"), B::None,          [303, 403, 403, 200, 200, 403, 401]),
        ("POST", format!("/guides/{GUIDE}/edit"), B::Form(guide_form(GUIDE, Some(cur))),
                                                                   [401, 403, 403, 200, 200, 403, 401]),
        ("GET", format!("/guides/{GUIDE}/suggest"), B::None,       [303, 403, 200, 200, 200, 200, 401]),
        ("POST", format!("/guides/{GUIDE}/suggest"), B::Form(guide_form(GUIDE, Some(cur))),
                                                                   [401, 403, 200, 200, 200, 200, 401]),
        ("GET", format!("/guides/{GUIDE}/history"), B::None,       [303, 403, 200, 200, 200, 200, 401]),
        ("GET", format!("/guides/{GUIDE}/diff?from={first_rev}&to={cur}"), B::None,
                                                                   [303, 403, 200, 200, 200, 200, 401]),
        ("GET", format!("/guides/{GUIDE}/revisions/{cur}"), B::None,
                                                                   [303, 403, 200, 200, 200, 200, 401]),
        // Without base_revision a restore goes over whatever is current, so both may restore.
        ("POST", format!("/guides/{GUIDE}/revisions/{cur}/restore"), B::Form(vec![]),
                                                                   [401, 403, 403, 303, 303, 403, 401]),
        ("GET", "/guides/review".into(), B::None,                  [303, 403, 403, 200, 200, 403, 401]),
        ("GET", "/admin/guides".into(), B::None,                   [303, 403, 403, 303, 303, 403, 401]),
        ("POST", format!("/guides/{GUIDE}/revisions/{suggestion}/decision"), B::Form(vec![("decision", "decline".into()), ("note", "matrix".into())]),
                                                                   [401, 403, 403, 303, 409, 403, 401]),
        ("GET", format!("/guides/{GUIDE}/unsorted"), B::None,      [303, 403, 403, 200, 200, 403, 401]),
    ];

    let mut wrong = Vec::new();
    for (method, path, body, expected) in &rows {
        for (who, want) in callers.iter().zip(expected) {
            let got = send(&app, who, method, path, body).await;
            if got != *want {
                wrong.push(format!(
                    "{method} {path} as {}: got {got}, want {want}",
                    who.label
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "role matrix mismatches:\n{}",
        wrong.join("\n")
    );

    // The admin really can revoke, and the token stops working at once.
    let admin = &callers[4];
    assert_eq!(
        send(
            &app,
            admin,
            "POST",
            "/admin/tokens/mes-line4/revoke",
            &B::None
        )
        .await,
        200
    );
    assert_eq!(
        send(&app, &callers[5], "GET", "/api/cases", &B::None).await,
        401
    );
}

/// Guides can be made private too, and cases public.
#[tokio::test]
async fn policy_flags_open_and_close_reading() {
    let closed = spawn_app_with(|c| c.guides_public = false).await;
    let res = closed
        .anon
        .get(closed.url(&format!("/guides/{GUIDE}")))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .expect("ascii")
        .starts_with("/login?next="));
    assert_eq!(
        status(closed.anon.get(closed.url("/api/search?q=x"))).await,
        401
    );

    let open = spawn_app_with(|c| c.cases_public = true).await;
    let filed = file_case(
        &open,
        &open.client,
        json!({"verbatim_alarm": "Bad_Timeout public", "outcome": "fixed"}),
    )
    .await;
    let url = filed["url"].as_str().expect("url");
    assert_eq!(status(open.anon.get(open.url(url))).await, 200);
    // Reading is public; filing still is not.
    let res = open
        .anon
        .post(open.url("/api/cases"))
        .header("Idempotency-Key", "anon-1")
        .json(&json!({"verbatim_alarm": "x", "outcome": "fixed"}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 401);
}

/// Floor tablets on the open-intake network file without logging in; the case records where
/// it came from, and reading cases still needs a login.
#[tokio::test]
async fn open_intake_files_without_login_and_records_the_address() {
    let app = spawn_app_with(|c| c.open_intake = vec!["127.0.0.0/8".parse().expect("range")]).await;
    let form = reqwest::multipart::Form::new()
        .text("verbatim_alarm", "Bad_Timeout from the tablet")
        .text("outcome", "fixed");
    let res = app
        .anon
        .post(app.url(&format!("/guides/{GUIDE}/cases")))
        .multipart(form)
        .send()
        .await
        .expect("req");
    assert_eq!(
        res.status().as_u16(),
        200,
        "a confirmation page, not a redirect to a private page"
    );
    let page = res.text().await.expect("text");
    assert!(page.contains("Case filed"), "{page}");
    assert_eq!(status(app.anon.get(app.url("/cases"))).await, 303);

    let (_, list) = app.get_json("/api/cases").await;
    let case = &list["cases"][0];
    assert_eq!(case["verbatim_alarm"], "Bad_Timeout from the tablet");
    let (_, full) = app
        .get_json(&format!("/api/cases/{}", case["id"].as_str().expect("id")))
        .await;
    let (_, html) = app.get_text(full["url"].as_str().expect("url")).await;
    assert!(
        html.contains("sent as open-intake from 127.0.0.1"),
        "{html}"
    );

    // Outside the range, the same anonymous filing is refused.
    let closed =
        spawn_app_with(|c| c.open_intake = vec!["10.9.0.0/16".parse().expect("range")]).await;
    let form = reqwest::multipart::Form::new()
        .text("verbatim_alarm", "x")
        .text("outcome", "fixed");
    let res = closed
        .anon
        .post(closed.url("/cases"))
        .multipart(form)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 401);
}

/// A forged form from another page must not act with a logged-in person's cookie.
#[tokio::test]
async fn csrf_missing_or_wrong_is_403_and_bearer_needs_none() {
    let app = spawn_app().await;
    let filed = file_case(
        &app,
        &app.client,
        json!({"verbatim_alarm": "Bad_Timeout csrf", "outcome": "fixed"}),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    let (editor, csrf) = app.logged_in("ed", Role::Editor).await;
    let close = |token: Option<&str>| {
        let mut form = vec![("closed", "1".to_string())];
        if let Some(t) = token {
            form.insert(0, ("csrf_token", t.to_string()));
        }
        editor
            .post(app.url(&format!("/cases/{id}/closed")))
            .form(&form)
            .send()
    };
    assert_eq!(close(None).await.expect("req").status().as_u16(), 403);
    assert_eq!(
        close(Some("0123abcd"))
            .await
            .expect("req")
            .status()
            .as_u16(),
        403
    );
    let (_, still_open) = app.get_text(&format!("/cases/{id}")).await;
    assert!(
        !still_open.contains("class=\"closed\""),
        "nothing changed on a refused form"
    );
    assert_eq!(
        close(Some(&csrf)).await.expect("req").status().as_u16(),
        303
    );
    let (_, closed) = app.get_text(&format!("/cases/{id}")).await;
    assert!(closed.contains("class=\"closed\""));
    let (_, json) = app.get_json(&format!("/api/cases/{id}")).await;
    assert!(json["closed_at"].is_string(), "{json}");
    let (_, list) = app.get_text("/cases").await;
    assert!(list.contains("<span class=\"badge badge-closed\">closed</span>"));

    // Multipart: the token is the first part, as the form sends it.
    let multipart = |token: Option<&str>| {
        let mut form = reqwest::multipart::Form::new();
        if let Some(t) = token {
            form = form.text("csrf_token", t.to_string());
        }
        form = form
            .text("verbatim_alarm", "Bad_Timeout")
            .text("outcome", "fixed");
        editor.post(app.url("/cases")).multipart(form).send()
    };
    assert_eq!(multipart(None).await.expect("req").status().as_u16(), 403);
    assert_eq!(
        multipart(Some("nope"))
            .await
            .expect("req")
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        multipart(Some(&csrf)).await.expect("req").status().as_u16(),
        303
    );

    // Another site's page posting with the cookie is refused by its Origin even with a token.
    let res = editor
        .post(app.url(&format!("/cases/{id}/closed")))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str()), ("closed", "0")])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 403);

    // A script with a bearer token carries no cookie and needs no form token.
    let res = app
        .client
        .post(app.url(&format!("/cases/{id}/closed")))
        .form(&[("closed", "0")])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 303);
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("faultbook="))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
}

#[tokio::test]
async fn session_cookie_rules_and_a_new_id_at_each_login() {
    let app = spawn_app().await;
    let password = user(&app.app_state, "ana", Role::Tech).await;
    let login = |c: &reqwest::Client| {
        c.post(app.url("/login"))
            .form(&[("username", "ana"), ("password", password.as_str())])
            .send()
    };
    let c = browser();
    let first = login(&c).await.expect("req");
    assert_eq!(first.status().as_u16(), 303);
    let raw = first.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(raw.contains(attr), "{raw}");
    }
    assert!(
        !raw.contains("Secure"),
        "plain http to localhost: no Secure flag"
    );
    let first_id = session_cookie(&first).expect("cookie");

    let second = login(&c).await.expect("req");
    let second_id = session_cookie(&second).expect("cookie");
    assert_ne!(first_id, second_id, "a fresh session id at every login");
    // The old id no longer works.
    let old = client_with(None)
        .get(app.url("/cases"))
        .header("Cookie", &first_id)
        .send()
        .await
        .expect("req");
    assert_eq!(old.status().as_u16(), 303);
    assert_eq!(status(c.get(app.url("/cases"))).await, 200);

    // Wrong password: 401 and no cookie.
    let bad = browser()
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", "not her password at all")])
        .send()
        .await
        .expect("req");
    assert_eq!(bad.status().as_u16(), 401);
    assert!(session_cookie(&bad).is_none());

    // Over https: the __Host- prefix and Secure.
    let https =
        spawn_app_with(|c| c.base_url = Some("https://faultbook.plant.example".into())).await;
    let pw = user(&https.app_state, "bo", Role::Viewer).await;
    let res = browser()
        .post(https.url("/login"))
        .header("Host", "faultbook.plant.example")
        .form(&[("username", "bo"), ("password", pw.as_str())])
        .send()
        .await
        .expect("req");
    let raw = res.headers()["set-cookie"].to_str().expect("ascii");
    assert!(raw.starts_with("__Host-faultbook="), "{raw}");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(raw.contains(attr), "{raw}");
    }
    assert!(!raw.contains("Domain"), "{raw}");
}

#[tokio::test]
async fn an_expired_session_leads_back_to_login() {
    let app = spawn_app_with(|c| {
        c.session_idle = 3600;
        c.session_max = 7 * 86_400;
    })
    .await;
    let (c, _) = app.logged_in("night-shift", Role::Tech).await;
    assert_eq!(status(c.get(app.url("/cases"))).await, 200);
    // Unused for longer than the idle timeout.
    faultbook::auth::store::age_sessions(&app.app_state.db, 3601)
        .await
        .expect("age");
    let res = c.get(app.url("/cases")).send().await.expect("req");
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/login?next=%2Fcases");

    // Used every day, but past the absolute limit.
    let (c, _) = app.logged_in("day-shift", Role::Tech).await;
    for _ in 0..7 {
        faultbook::auth::store::age_sessions(&app.app_state.db, 86_400)
            .await
            .expect("age");
        sqlx::query("UPDATE sessions SET last_seen_at = $1")
            .bind(faultbook::time::Timestamp::now())
            .execute(&app.app_state.db)
            .await
            .expect("touch");
    }
    faultbook::auth::store::age_sessions(&app.app_state.db, 10)
        .await
        .expect("age");
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(faultbook::time::Timestamp::now())
        .execute(&app.app_state.db)
        .await
        .expect("touch");
    assert_eq!(status(c.get(app.url("/cases"))).await, 303);
}

#[tokio::test]
async fn logout_everywhere_ends_every_session() {
    let app = spawn_app().await;
    let (phone, csrf) = app.logged_in("ana", Role::Tech).await;
    let password = "ana-ana-cabinet-42";
    let laptop = browser();
    laptop
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", password)])
        .send()
        .await
        .expect("req");
    let account = phone
        .get(app.url("/account"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(account.contains("(this device)"));
    let res = phone
        .post(app.url("/account/logout-everywhere"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 303);
    for c in [&phone, &laptop] {
        assert_eq!(status(c.get(app.url("/cases"))).await, 303);
    }
}

#[tokio::test]
async fn writes_are_limited_per_token_with_rate_headers() {
    let app = spawn_app_with(|c| c.write_limit = 3).await;
    let tok = token(&app.app_state, "chatty-mes", Role::Tech).await;
    let c = client_with(Some(&tok));
    let mut last = None;
    for i in 0..4 {
        let res = c
            .post(app.url("/api/cases"))
            .header("Idempotency-Key", format!("w-{i}"))
            .json(&json!({"verbatim_alarm": "Bad_Timeout", "outcome": "fixed"}))
            .send()
            .await
            .expect("req");
        last = Some((res.status().as_u16(), res.headers().clone()));
        if i < 3 {
            assert_eq!(res.status().as_u16(), 201);
        }
    }
    let (code, h) = last.expect("four requests");
    assert_eq!(code, 429);
    assert_eq!(h["x-ratelimit-limit"], "3");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let retry: u64 = h["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("n");
    assert!((1..=60).contains(&retry));
    // Another token has its own budget; reading is not limited.
    let other = client_with(Some(&token(&app.app_state, "quiet-mes", Role::Tech).await));
    let res = other
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "q-1")
        .json(&json!({"verbatim_alarm": "Bad_Timeout", "outcome": "fixed"}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(status(c.get(app.url("/api/cases"))).await, 200);
}

#[tokio::test]
async fn the_proxy_header_counts_only_from_a_trusted_proxy() {
    let untrusted = spawn_app_with(|c| {
        c.trust_proxy_header = Some("X-Remote-User".into());
        c.trusted_proxy = vec!["10.0.0.0/8".parse().expect("range")];
    })
    .await;
    let res = untrusted
        .anon
        .get(untrusted.url("/admin/users"))
        .header("X-Remote-User", "plantadmin")
        .send()
        .await
        .expect("req");
    assert_eq!(
        res.status().as_u16(),
        303,
        "from 127.0.0.1 the header is ignored"
    );
    let res = untrusted
        .anon
        .get(untrusted.url("/api/cases"))
        .header("X-Remote-User", "plantadmin")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 401);

    let trusted = spawn_app_with(|c| {
        c.trust_proxy_header = Some("X-Remote-User".into());
        c.proxy_groups_header = Some("X-Remote-Groups".into());
        c.proxy_roles = vec![
            ("scada-admins".into(), Role::Admin),
            ("floor".into(), Role::Tech),
        ];
        c.trusted_proxy = vec!["127.0.0.1/32".parse().expect("range")];
    })
    .await;
    let as_proxy = |user: &str, groups: &str| {
        trusted
            .anon
            .get(trusted.url("/admin/users"))
            .header("X-Remote-User", user)
            .header("X-Remote-Groups", groups)
            .send()
    };
    assert_eq!(
        as_proxy("ines", "floor, scada-admins")
            .await
            .expect("req")
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        as_proxy("tom", "floor")
            .await
            .expect("req")
            .status()
            .as_u16(),
        403
    );
    // A proxy user's forms carry a token too.
    let page = trusted
        .anon
        .get(trusted.url("/cases/new"))
        .header("X-Remote-User", "tom")
        .header("X-Remote-Groups", "floor")
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    let csrf = csrf_in(&page).expect("token on the form");
    assert!(!csrf.is_empty());
    let post = |token: &str| {
        trusted
            .anon
            .post(trusted.url("/cases"))
            .header("X-Remote-User", "tom")
            .header("X-Remote-Groups", "floor")
            .multipart(
                reqwest::multipart::Form::new()
                    .text("csrf_token", token.to_string())
                    .text("verbatim_alarm", "Bad_Timeout via SSO")
                    .text("outcome", "fixed"),
            )
            .send()
    };
    assert_eq!(post("forged").await.expect("req").status().as_u16(), 403);
    assert_eq!(post(&csrf).await.expect("req").status().as_u16(), 303);

    // A form opened before a restart still sends after it.
    let content = trusted.content_dir.clone();
    let again = spawn_app_configured(trusted.data, content, |c| {
        c.trust_proxy_header = Some("X-Remote-User".into());
        c.proxy_groups_header = Some("X-Remote-Groups".into());
        c.proxy_roles = vec![("floor".into(), Role::Tech)];
        c.trusted_proxy = vec!["127.0.0.1/32".parse().expect("range")];
    })
    .await;
    let page = again
        .anon
        .get(again.url("/cases/new"))
        .header("X-Remote-User", "tom")
        .header("X-Remote-Groups", "floor")
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert_eq!(csrf_in(&page).as_deref(), Some(csrf.as_str()));
}

/// A private case's words must not reach an anonymous visitor by any side door.
#[tokio::test]
async fn a_private_case_leaks_nowhere_to_anonymous() {
    let app = spawn_app().await;
    let secret = "Zq7PlantSecret Bad_ConnectionRejected";
    let filed = file_case(
        &app,
        &app.client,
        json!({"verbatim_alarm": secret, "outcome": "fixed", "guide": GUIDE, "cell": "CELL-ZQ7", "firmware_revision": "fw-zq7"}),
    )
    .await;
    let id = filed["id"].as_str().expect("id");

    // The admin finds it, so the searches below would find it if they were allowed to.
    let (_, found) = app.get_json("/api/search?q=Zq7PlantSecret").await;
    assert!(found["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .any(|h| h["kind"] == "case"));

    let anon = |path: String| {
        let c = app.anon.clone();
        let url = app.url(&path);
        async move {
            let res = c.get(url).send().await.expect("req");
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get("location")
                .map(|v| v.to_str().expect("ascii").to_string());
            (status, location, res.text().await.expect("text"))
        }
    };
    let (_, _, api) = anon("/api/search?q=Zq7PlantSecret".into()).await;
    let v: serde_json::Value = serde_json::from_str(&api).expect("json");
    assert!(
        v["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .all(|h| h["kind"] != "case"),
        "{api}"
    );
    // The search page repeats the query itself, so there the case's other words and id count.
    for path in [
        "/search?q=Zq7PlantSecret".to_string(),
        format!("/search?q={}", urlencode(secret)),
        format!("/search?q={}", urlencode("CELL-ZQ7 fw-zq7")),
    ] {
        let (status, _, body) = anon(path.clone()).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.contains(id), "{path} links the private case");
        assert!(!body.contains("Case:") || !body.contains("Zq7"), "{path}");
    }
    for path in [
        format!("/guides/{GUIDE}"),
        "/feed.xml".to_string(),
        "/".to_string(),
    ] {
        let (status, _, body) = anon(path.clone()).await;
        assert_eq!(status, 200, "{path}");
        for leak in ["Zq7PlantSecret", "CELL-ZQ7", "fw-zq7", id] {
            assert!(!body.contains(leak), "{path} shows `{leak}` to anonymous");
        }
    }
    // The guide page shows no track record either.
    let (_, _, guide) = anon(format!("/guides/{GUIDE}")).await;
    assert!(!guide.contains("Fixed 1 of 1"));
    // /alarm/ never sends anyone to a case.
    let (status, location, _) = anon("/alarm/Zq7PlantSecret".into()).await;
    assert_eq!(status, 302);
    assert!(!location.expect("location").starts_with("/cases/"));
    for path in [
        "/cases.csv".to_string(),
        format!("/api/cases/{id}"),
        "/api/cases".into(),
    ] {
        let (status, _, body) = anon(path.clone()).await;
        assert_eq!(status, 401, "{path}");
        assert!(!body.contains("Zq7PlantSecret"));
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every login, failed login, write and admin action lands in the audit log with who, role,
/// address and what; editors see the case part only.
#[tokio::test]
async fn the_audit_log_records_who_did_what() {
    let app = spawn_app().await;
    let tok = token(&app.app_state, "mes-line2", Role::Tech).await;
    let filed = file_case(
        &app,
        &client_with(Some(&tok)),
        json!({"verbatim_alarm": "Bad_Timeout audit", "outcome": "fixed"}),
    )
    .await;
    let id = filed["id"].as_str().expect("id");
    browser()
        .post(app.url("/login"))
        .form(&[("username", "nobody"), ("password", "wrong wrong wrong")])
        .send()
        .await
        .expect("req");
    let (admin, csrf) = app.logged_in("boss", Role::Admin).await;
    admin
        .post(app.url("/admin/users"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "newtech"),
            ("role", "tech"),
            ("password", "cabinet lamp orange 42"),
        ])
        .send()
        .await
        .expect("req");
    let (editor, ecsrf) = app.logged_in("ed", Role::Editor).await;
    editor
        .post(app.url(&format!("/cases/{id}/closed")))
        .form(&[("csrf_token", ecsrf.as_str()), ("closed", "1")])
        .send()
        .await
        .expect("req");

    let csv = admin
        .get(app.url("/admin/audit.csv"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    for line in [
        format!("\"token:mes-line2\",\"tech\",\"127.0.0.1\",\"case.file\",\"{id}\""),
        "\"anonymous\",\"\",\"127.0.0.1\",\"login.failed\",\"unknown user (sha256 ".to_string(),
        ")\",\"no such user\"".to_string(),
        "\"boss\",\"admin\",\"127.0.0.1\",\"login\",\"boss\"".to_string(),
        "\"boss\",\"admin\",\"127.0.0.1\",\"user.add\",\"newtech\",\"role tech\"".to_string(),
        format!("\"ed\",\"editor\",\"127.0.0.1\",\"case.close\",\"{id}\""),
    ] {
        assert!(csv.contains(&line), "audit CSV lacks {line}\n{csv}");
    }
    // Filters.
    let only_failed = admin
        .get(app.url("/admin/audit.csv?action=login.failed"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert_eq!(only_failed.lines().count(), 2, "{only_failed}");
    let page = admin
        .get(app.url("/admin/audit?actor=ed"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(page.contains("case.close") && !page.contains("user.add"));

    // An editor sees case actions and nothing else.
    let editor_csv = editor
        .get(app.url("/admin/audit.csv"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(editor_csv.contains("case.file") && editor_csv.contains("case.close"));
    assert!(
        !editor_csv.contains("login") && !editor_csv.contains("user.add"),
        "{editor_csv}"
    );
}

#[tokio::test]
async fn the_first_admin_comes_from_the_setup_link_once() {
    let app = spawn_app().await;
    let url = app
        .setup_url
        .clone()
        .expect("no admin yet, so a setup link");
    let path = url.trim_start_matches(&app.addr).to_string();
    let c = browser();
    assert_eq!(status(c.get(app.url(&path))).await, 200);
    // A weak password is refused with the reason, nothing created.
    let res = c
        .post(app.url(&path))
        .form(&[
            ("username", "boss"),
            ("password", "short"),
            ("password_again", "short"),
        ])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.text().await.expect("text").contains("at least 12"));
    let res = c
        .post(app.url(&path))
        .form(&[
            ("username", "boss"),
            ("password", "cabinet lamp orange 42"),
            ("password_again", "cabinet lamp orange 42"),
        ])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 303);
    let account = c
        .get(app.url("/account"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(account.contains("boss") && account.contains("admin"));
    assert_eq!(status(c.get(app.url(&path))).await, 404);
    let bogus = format!("/setup/{}", "0".repeat(48));
    assert_eq!(status(app.anon.get(app.url(&bogus))).await, 404);
}

/// The plant can never lock itself out: the last enabled admin keeps the role.
#[tokio::test]
async fn the_last_admin_cannot_be_disabled_or_demoted() {
    let app = spawn_app().await;
    let (admin, csrf) = app.logged_in("boss", Role::Admin).await;
    for (path, field, value) in [
        ("/admin/users/boss/disabled", "disabled", "1"),
        ("/admin/users/boss/role", "role", "tech"),
    ] {
        let res = admin
            .post(app.url(path))
            .form(&[("csrf_token", csrf.as_str()), (field, value)])
            .send()
            .await
            .expect("req");
        assert_eq!(res.status().as_u16(), 422, "{path}");
        assert!(res
            .text()
            .await
            .expect("text")
            .contains("last enabled admin"));
    }
    assert_eq!(status(admin.get(app.url("/admin/users"))).await, 200);
}

#[tokio::test]
async fn editors_correct_and_close_cases() {
    let app = spawn_app().await;
    let filed = file_case(&app, &app.client, json!({"verbatim_alarm": "Bad_Timout typo", "outcome": "not_fixed", "guide": GUIDE, "cell": "C07"})).await;
    let id = filed["id"].as_str().expect("id");
    let (editor, csrf) = app.logged_in("ed", Role::Editor).await;
    let form_page = editor
        .get(app.url(&format!("/cases/{id}/edit")))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(
        form_page.contains("Bad_Timout typo") && form_page.contains("C07"),
        "the form holds the stored values"
    );
    let res = editor
        .post(app.url(&format!("/cases/{id}/edit")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", csrf.clone())
                .text("verbatim_alarm", "Bad_Timeout corrected")
                .text("outcome", "fixed")
                .text("cell", "C07"),
        )
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 303);
    let (_, json) = app.get_json(&format!("/api/cases/{id}")).await;
    assert_eq!(json["verbatim_alarm"], "Bad_Timeout corrected");
    assert_eq!(json["outcome"], "fixed");
    assert_eq!(json["guide"], GUIDE, "the guide stays");
    assert!(json["updated_at"].is_string() && json["closed_at"].is_null());
    // The search index follows the correction.
    let (_, hits) = app.get_json("/api/search?q=corrected").await;
    assert!(hits["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .any(|h| h["id"] == id));
}

/// A login link cannot send anyone to another site afterwards, however `next` is disguised.
#[tokio::test]
async fn login_never_redirects_off_the_site() {
    let app = spawn_app().await;
    let password = user(&app.app_state, "ana", Role::Tech).await;
    for (next, want) in [
        ("/cases?guide=none", "/cases?guide=none"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/ /evil.example", "/"),
    ] {
        let res = browser()
            .post(app.url("/login"))
            .form(&[
                ("username", "ana"),
                ("password", password.as_str()),
                ("next", next),
            ])
            .send()
            .await
            .expect("req");
        assert_eq!(res.status().as_u16(), 303, "{next:?}");
        assert_eq!(res.headers()["location"], want, "{next:?}");
    }
}
