//! Attacks on accounts and access that once worked: racing the setup link, a forged Host,
//! refused requests eating a colleague's write budget, private pages left to caches, secrets in
//! the audit log, and an old database's times.

mod common;

use common::*;
use faultbook::auth::Role;

const GUIDE: &str = "ignition-opcua-bad-connectionrejected-kepware";
const PASSWORD: &str = "cabinet lamp orange 42";

/// Eight people (or one script) racing the fresh setup link make exactly one admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_to_the_setup_link_make_one_admin() {
    let app = spawn_app().await;
    let url = app.setup_url.clone().expect("a setup link");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("boss{i}");
            browser()
                .post(&url)
                .form(&[
                    ("username", name.as_str()),
                    ("password", PASSWORD),
                    ("password_again", PASSWORD),
                ])
                .send()
                .await
                .expect("req")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "exactly one setup wins: {statuses:?}"
    );
    let admins = faultbook::auth::store::list_users(&app.app_state.db)
        .await
        .expect("users")
        .into_iter()
        .filter(|u| u.role == Role::Admin)
        .count();
    assert_eq!(admins, 1);
}

/// A request naming another host is refused before it can put that host into links, and
/// DNS rebinding (Host and Origin both the attacker's name) files nothing.
#[tokio::test]
async fn a_foreign_host_header_is_refused_and_cannot_file_by_rebinding() {
    let app = spawn_app_with(|c| c.open_intake = vec!["127.0.0.0/8".parse().expect("range")]).await;
    let res = app
        .anon
        .get(app.url(&format!("/guides/{GUIDE}")))
        .header("Host", "evil.example")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 400);
    let text = res.text().await.expect("text");
    assert!(text.contains("--allowed-hosts"), "{text}");
    assert!(!text.contains("http://evil.example"), "{text}");
    let res = app
        .anon
        .get(app.url(&format!("/guides/{GUIDE}/qr.png")))
        .header("Host", "evil.example")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 400, "no QR code for another host");

    let form = reqwest::multipart::Form::new()
        .text("verbatim_alarm", "Bad_Timeout rebinding")
        .text("outcome", "fixed");
    let res = app
        .anon
        .post(app.url("/cases"))
        .header("Host", "evil.example")
        .header("Origin", "http://evil.example")
        .multipart(form)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 400);
    let (_, list) = app.get_json("/api/cases").await;
    assert_eq!(list["cases"].as_array().map(Vec::len), Some(0), "{list}");

    // The loopback names of this machine keep working without any flag.
    let port = app.addr.rsplit(':').next().expect("port").to_string();
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let res = app
            .anon
            .get(app.url("/guides"))
            .header("Host", &host)
            .send()
            .await
            .expect("req");
        assert_eq!(res.status().as_u16(), 200, "{host}");
    }
}

/// With `--allowed-hosts`, exactly those names are served, and an Origin must be one of them.
#[tokio::test]
async fn allowed_hosts_lists_the_names_served() {
    let app = spawn_app_with(|c| {
        c.allowed_hosts = vec!["faultbook.plant.example".into()];
        c.open_intake = vec!["127.0.0.0/8".parse().expect("range")];
    })
    .await;
    let get = |host: &'static str| app.anon.get(app.url("/guides")).header("Host", host).send();
    assert_eq!(
        get("faultbook.plant.example").await.expect("req").status(),
        200
    );
    assert_eq!(get("localhost").await.expect("req").status(), 400);
    let form = reqwest::multipart::Form::new()
        .text("verbatim_alarm", "Bad_Timeout")
        .text("outcome", "fixed");
    let res = app
        .anon
        .post(app.url("/cases"))
        .header("Host", "faultbook.plant.example")
        .header("Origin", "http://evil.example")
        .multipart(form)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 403, "another site's Origin");
}

/// Anonymous POSTs that are refused anyway do not use up the address's write budget, so a
/// logged-in tech behind the same NAT can still file.
#[tokio::test]
async fn refused_writes_do_not_spend_the_write_budget() {
    let app = spawn_app_with(|c| c.write_limit = 5).await;
    for _ in 0..8 {
        let form = reqwest::multipart::Form::new()
            .text("verbatim_alarm", "Bad_Timeout")
            .text("outcome", "fixed");
        let res = app
            .anon
            .post(app.url("/cases"))
            .multipart(form)
            .send()
            .await
            .expect("req");
        assert_eq!(res.status().as_u16(), 401);
    }
    let (tech, csrf) = app.logged_in("tina", Role::Tech).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .text("verbatim_alarm", "Bad_Timeout after the refused ones")
        .text("outcome", "fixed");
    let res = tech
        .post(app.url("/cases"))
        .multipart(form)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 303, "the tech may still file");
}

fn cache_control(res: &reqwest::Response) -> String {
    res.headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn vary(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
        .to_ascii_lowercase()
}

/// Pages made for a logged-in person (case data, the account, admin pages, and search, feed and
/// guides seen logged in) tell every cache to keep no copy.
#[tokio::test]
async fn pages_made_for_a_session_are_not_stored_by_caches() {
    let app = spawn_app().await;
    let (admin, _) = app.logged_in("boss", Role::Admin).await;
    for path in [
        "/cases".to_string(),
        "/cases.csv".to_string(),
        "/account".to_string(),
        "/admin/users".to_string(),
        "/admin/audit".to_string(),
        "/search?q=Bad_Timeout".to_string(),
        "/feed.xml".to_string(),
        format!("/guides/{GUIDE}"),
    ] {
        let res = admin.get(app.url(&path)).send().await.expect("req");
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let cc = cache_control(&res);
        assert!(
            cc.contains("private") && cc.contains("no-store"),
            "{path}: Cache-Control `{cc}`"
        );
    }
    let res = app.get("/api/cases").await;
    let cc = cache_control(&res);
    assert!(cc.contains("no-store"), "/api/cases by token: `{cc}`");
    // The anonymous guide page may be cached, but never handed to someone logged in.
    let res = app
        .anon
        .get(app.url(&format!("/guides/{GUIDE}")))
        .send()
        .await
        .expect("req");
    assert!(!cache_control(&res).contains("no-store"));
    let v = vary(&res);
    assert!(v.contains("cookie") && v.contains("authorization"), "{v}");
    // A private case path is private even for someone sent to log in.
    let res = app.anon.get(app.url("/cases")).send().await.expect("req");
    assert!(cache_control(&res).contains("no-store"));
}

/// A password typed into the name field never reaches the audit log, and the content hash
/// is only for those who may read guides.
#[tokio::test]
async fn unknown_login_names_are_not_stored_and_health_hides_the_hash() {
    let app = spawn_app_with(|c| c.guides_public = false).await;
    browser()
        .post(app.url("/login"))
        .form(&[("username", "Tr0ub4dor&3-horse"), ("password", "x")])
        .send()
        .await
        .expect("req");
    let csv = app
        .client
        .get(app.url("/admin/audit.csv?action=login.failed"))
        .send()
        .await
        .expect("req")
        .text()
        .await
        .expect("text");
    assert!(!csv.to_lowercase().contains("tr0ub4dor"), "{csv}");
    assert!(csv.contains("unknown user"), "{csv}");

    let res = app.anon.get(app.url("/healthz")).send().await.expect("req");
    assert_eq!(res.status().as_u16(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert!(body.get("content_hash").is_none(), "{body}");
    let (_, body) = app.get_json("/healthz").await;
    assert!(body["content_hash"].is_string(), "{body}");
}

/// The admin and account forms check their token in the extractor: without it nothing
/// changes; the field or the `X-CSRF-Token` header lets the change through.
#[tokio::test]
async fn account_and_admin_forms_need_their_token() {
    let app = spawn_app().await;
    let (admin, csrf) = app.logged_in("boss", Role::Admin).await;
    let create = |name: &'static str, token: Option<&str>| {
        let mut form = vec![("name", name.to_string()), ("role", "tech".to_string())];
        if let Some(t) = token {
            form.push(("csrf_token", t.to_string()));
        }
        admin.post(app.url("/admin/tokens")).form(&form).send()
    };
    assert_eq!(create("mes-a", None).await.expect("req").status(), 403);
    assert_eq!(
        create("mes-b", Some("0000")).await.expect("req").status(),
        403
    );
    assert_eq!(
        create("mes-c", Some(&csrf)).await.expect("req").status(),
        200
    );
    let res = admin
        .post(app.url("/admin/tokens"))
        .header("X-CSRF-Token", &csrf)
        .form(&[("name", "mes-d"), ("role", "tech")])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    let names: Vec<String> = faultbook::auth::store::list_tokens(&app.app_state.db)
        .await
        .expect("tokens")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"mes-c".to_string()) && names.contains(&"mes-d".to_string()));
    assert!(
        !names.iter().any(|n| n == "mes-a" || n == "mes-b"),
        "{names:?}"
    );

    // Logging out is a change too: another site cannot log the admin out.
    assert_eq!(status(admin.post(app.url("/logout"))).await, 403);
    assert_eq!(status(admin.get(app.url("/account"))).await, 200);
    assert_eq!(
        status(
            admin
                .post(app.url("/logout"))
                .form(&[("csrf_token", csrf.as_str())])
        )
        .await,
        303
    );
    assert_eq!(status(admin.get(app.url("/account"))).await, 303);
}
