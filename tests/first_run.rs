//! The first minutes of a newcomer: the real binary, its setup link, and the account commands.

mod common;

use std::time::Duration;

use common::process::*;
use common::*;

/// The `faultbook=...` pair of a `Set-Cookie` header.
fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("faultbook=") && !v.starts_with("faultbook=;"))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in {:?}", res.headers()))
        .to_string()
}

/// Opens the setup link, creates the admin `boss`, and returns the session cookie.
async fn complete_setup(url: &str) -> String {
    let c = client_with(None);
    let res = c.get(url).send().await.expect("setup page");
    assert_eq!(res.status().as_u16(), 200, "the setup link opens");
    let page = res.text().await.expect("html");
    let path = url
        .find("/setup/")
        .map(|at| &url[at..])
        .expect("a setup path");
    assert!(
        page.contains(&format!("action=\"{path}\"")),
        "the page has the form"
    );
    for field in [
        "name=\"username\"",
        "name=\"password\"",
        "name=\"password_again\"",
    ] {
        assert!(page.contains(field), "the form has {field}");
    }
    let res = c
        .post(url)
        .form(&[
            ("username", "boss"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .expect("setup post");
    assert_eq!(res.status().as_u16(), 303, "the admin is created");
    assert_eq!(res.headers()["location"], "/account");
    session_cookie(&res)
}

// Without this, someone installing faultbook would start it and find no way in: no link, a
// link to the wrong port, a form that does not log them in, or a link that still works for
// whoever reads the console later.
#[tokio::test]
async fn a_first_start_prints_a_setup_link_that_makes_the_admin_once() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(data.path());
    let url = server.setup_url();
    server.listening();
    let cookie = complete_setup(&url).await;

    let c = client_with(None);
    let res = c
        .get(server.url("/account"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .expect("account page");
    assert_eq!(res.status().as_u16(), 200, "the cookie logs the admin in");
    let page = res.text().await.expect("html");
    assert!(page.contains("<h1>boss</h1>"), "shows the name");
    assert!(
        page.contains("<strong>admin</strong>"),
        "shows the admin role"
    );

    for method in ["GET", "POST"] {
        let req = match method {
            "GET" => c.get(&url),
            _ => c.post(&url).form(&[
                ("username", "intruder"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ]),
        };
        let res = req.send().await.expect("setup link again");
        assert_eq!(res.status().as_u16(), 404, "{method} on a used setup link");
    }
    let out = run_ok(data.path(), &["user", "list"], "");
    assert!(!out.contains("intruder"), "{out}");
}

// Without this, every restart of a running plant server would print a fresh setup link to
// the console (and its logs), a standing invitation to make another admin.
#[tokio::test]
async fn a_restart_with_an_admin_prints_no_setup_link() {
    let data = tempfile::tempdir().expect("temp dir");
    let old_url = {
        let mut first = Server::start(data.path());
        let url = first.setup_url();
        first.listening();
        complete_setup(&url).await;
        url
    };

    let mut again = Server::start(data.path());
    again.listening();
    // The setup block is printed before the log line; give its pipe a moment to catch up.
    again.drain(Duration::from_secs(2));
    let printed: Vec<&str> = again.seen.iter().map(Line::text).collect();
    assert!(
        !printed
            .iter()
            .any(|l| l.contains("/setup/") || l.contains("no admin yet")),
        "a setup link was printed again: {printed:#?}"
    );
    // The new server answers, and the old link's token means nothing to it.
    let c = client_with(None);
    let res = c.get(again.url("/healthz")).send().await.expect("health");
    assert_eq!(res.status().as_u16(), 200);
    let token = &old_url[old_url.find("/setup/").expect("path")..];
    let res = c.get(again.url(token)).send().await.expect("setup");
    assert_eq!(res.status().as_u16(), 404);
}

// Without this, an admin scripting accounts on the server would find that piped passwords,
// weak-password refusals, token secrets, revocation or disabling do not do what they say:
// a revoked MES token that still writes, or a dismissed colleague still logged in.
#[tokio::test]
async fn accounts_and_tokens_from_the_command_line_take_effect_on_the_running_app() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().to_path_buf();

    let out = run_ok(
        &dir,
        &["user", "add", "ana", "--role", "tech"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.contains("ana"), "{out}");
    let short = run(&dir, &["user", "add", "bob", "--role", "tech"], "short\n");
    assert!(!short.status.success(), "a short password is refused");
    let said = format!("{}{}", text(&short.stdout), text(&short.stderr));
    assert!(said.contains("12"), "says the minimum length: {said}");

    let users = run_ok(&dir, &["user", "list"], "");
    let ana = users
        .lines()
        .find(|l| l.split_whitespace().next() == Some("ana"))
        .unwrap_or_else(|| panic!("ana is listed: {users}"));
    assert!(ana.split_whitespace().any(|w| w == "tech"), "{ana}");
    assert!(
        !users
            .lines()
            .any(|l| l.split_whitespace().next() == Some("bob")),
        "bob was not added: {users}"
    );

    let secret = run_ok(
        &dir,
        &["token", "create", "--name", "mes4", "--role", "tech"],
        "",
    )
    .trim()
    .to_string();
    assert!(
        secret.starts_with("fbt_"),
        "the secret is printed: {secret}"
    );
    assert!(!secret.contains(char::is_whitespace), "{secret}");
    let tokens = run_ok(&dir, &["token", "list"], "");
    assert!(
        tokens
            .lines()
            .any(|l| l.split_whitespace().next() == Some("mes4")),
        "{tokens}"
    );
    assert!(!tokens.contains(&secret), "never the secret: {tokens}");
    assert!(!tokens.contains("fbt_"), "not even its start: {tokens}");

    let app = spawn_app_in(data, shipped_content()).await;

    let ana = browser();
    let res = ana
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 303, "ana logs in");
    let res = ana.get(app.url("/cases")).send().await.expect("cases");
    assert_eq!(res.status().as_u16(), 200, "ana reads cases");

    let mes = client_with(Some(&secret));
    let res = mes
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "mes4-1")
        .json(&serde_json::json!({"verbatim_alarm": "Bad_Timeout from MES line 4", "outcome": "escalated"}))
        .send()
        .await
        .expect("file a case");
    assert_eq!(res.status().as_u16(), 201, "the token files a case");
    let case: serde_json::Value = res.json().await.expect("json");
    assert_eq!(case["verbatim_alarm"], "Bad_Timeout from MES line 4");
    let res = mes.get(app.url("/api/cases")).send().await.expect("list");
    assert_eq!(res.status().as_u16(), 200);

    run_ok(&dir, &["token", "revoke", "mes4"], "");
    let res = mes.get(app.url("/api/cases")).send().await.expect("list");
    assert_eq!(res.status().as_u16(), 401, "a revoked token is refused");
    let res = mes
        .post(app.url("/api/cases"))
        .header("Idempotency-Key", "mes4-2")
        .json(&serde_json::json!({"verbatim_alarm": "after revoke", "outcome": "fixed"}))
        .send()
        .await
        .expect("file a case");
    assert_eq!(res.status().as_u16(), 401, "and may not write");
    let tokens = run_ok(&dir, &["token", "list"], "");
    assert!(tokens.contains("revoked"), "{tokens}");

    run_ok(&dir, &["user", "disable", "ana"], "");
    let res = ana.get(app.url("/cases")).send().await.expect("cases");
    assert_eq!(res.status().as_u16(), 303, "ana's session has ended");
    let location = res.headers()["location"].to_str().expect("ascii");
    assert!(location.starts_with("/login"), "{location}");
    let res = browser()
        .post(app.url("/login"))
        .form(&[("username", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 401, "and she cannot log in again");
}
