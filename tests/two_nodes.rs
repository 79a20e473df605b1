//! Two `faultbook serve` processes on one PostgreSQL database and one photo folder, as behind a
//! load balancer: what one node writes, the other serves, and a node that was down or lost its
//! index catches up. Runs when `FAULTBOOK_TEST_PG` names a server (the README's test command
//! starts one); on SQLite alone it says so and passes.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::database;
use common::editor::{editor_form, OLD_STEP, SUBS};
use common::process::{run_ok, Server};
use common::{browser, client_with, csrf_in};

const PASSWORD: &str = "two-nodes-share-one-database";

fn start(data: &Path, photos: &Path) -> Server {
    let photos = photos.to_str().expect("utf-8 path");
    Server::start_with(data, &["--photo-dir", photos])
}

/// Points a second data folder at the first one's database.
fn share_database(from: &Path, to: &Path) {
    let url = database::url_for(from).expect("a PostgreSQL database");
    std::fs::write(to.join(".test-database-url"), url).expect("share the database");
}

async fn file(node: &Server, token: &str, key: &str, alarm: &str) -> reqwest::Response {
    client_with(Some(token))
        .post(node.url("/api/cases"))
        .header("Idempotency-Key", key)
        .json(&serde_json::json!({"verbatim_alarm": alarm, "outcome": "fixed", "site": "Plant 7"}))
        .send()
        .await
        .expect("file a case")
}

/// How long until a search on `node` finds the case with this alarm word; panics after `limit`.
async fn found_after(node: &Server, token: &str, word: &str, limit: Duration) -> Duration {
    let client = client_with(Some(token));
    let started = Instant::now();
    loop {
        let body: serde_json::Value = client
            .get(node.url(&format!("/api/search?q={word}")))
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        let hit = body["hits"].as_array().is_some_and(|hits| {
            hits.iter()
                .any(|h| h["kind"] == "case" && h.to_string().contains(word))
        });
        if hit {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{word} not found on {} within {limit:?}: {body}",
            node.url("")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_nodes_serve_one_database_and_catch_up() {
    if !database::on_postgres() {
        eprintln!("needs PostgreSQL (FAULTBOOK_TEST_PG): not run on SQLite alone");
        return;
    }
    let (a_dir, b_dir) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let photos = tempfile::tempdir().expect("photo dir");
    share_database(a_dir.path(), b_dir.path());

    // Both start at once on an empty database: the migrations run once, under a lock.
    let mut a = start(a_dir.path(), photos.path());
    let mut b = start(b_dir.path(), photos.path());
    a.listening();
    b.listening();

    // One node makes the first-run link, and it opens on the other node too.
    let printed: Vec<String> = [a.output(), b.output()]
        .iter()
        .flat_map(|o| {
            o.lines()
                .filter(|l| l.contains("/setup/"))
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(printed.len(), 1, "exactly one setup link: {printed:?}");
    let secret = printed[0]
        .rsplit("/setup/")
        .next()
        .expect("secret")
        .to_string();
    for node in [&a, &b] {
        let res = reqwest::get(node.url(&format!("/setup/{secret}")))
            .await
            .expect("setup page");
        assert_eq!(
            res.status().as_u16(),
            200,
            "the link opens on {}",
            node.url("")
        );
    }

    run_ok(
        a_dir.path(),
        &["user", "add", "tess", "--role", "admin"],
        &format!("{PASSWORD}\n"),
    );
    let token = run_ok(
        a_dir.path(),
        &["token", "create", "--name", "line-mes", "--role", "tech"],
        "",
    )
    .trim()
    .to_string();

    // A case filed on A is found on B within 2 s.
    let res = file(&a, &token, "node-a-1", "Bad_Timeout zqnodeone on press 4").await;
    assert_eq!(res.status().as_u16(), 201);
    let first: serde_json::Value = res.json().await.expect("json");
    let lag = found_after(&b, &token, "zqnodeone", Duration::from_secs(2)).await;
    eprintln!("a case filed on A was found on B after {lag:?}");

    // The phone's retry lands on the other node: it gets the first case back, not a second one.
    let res = file(&b, &token, "node-a-1", "Bad_Timeout zqnodeone on press 4").await;
    assert!(res.status().is_success(), "{}", res.status());
    let again: serde_json::Value = res.json().await.expect("json");
    assert_eq!(again["id"], first["id"], "the retry returns the first case");

    // A login on A is a session on B, and A's form token works on B.
    let tess = browser();
    let res = tess
        .post(a.url("/login"))
        .form(&[("username", "tess"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status().as_u16(), 303);
    let page = tess
        .get(a.url("/account"))
        .send()
        .await
        .expect("account")
        .text()
        .await
        .expect("text");
    let csrf = csrf_in(&page).expect("form token");
    let on_b = tess
        .get(b.url("/account"))
        .send()
        .await
        .expect("account on B");
    assert_eq!(on_b.status().as_u16(), 200, "the session works on B");
    assert!(on_b.text().await.expect("text").contains("tess"));

    // A guide saved in the editor on A is served, and found by search, on B.
    let page = tess
        .get(a.url(&format!("/guides/{SUBS}/edit")))
        .send()
        .await
        .expect("editor");
    assert_eq!(page.status().as_u16(), 200);
    let mut form = editor_form(&page.text().await.expect("text"));
    form.replace(
        "body",
        OLD_STEP,
        "Session limit: zqguidetwo, disconnect the clients that do not need this server.",
    );
    form.set("action", "save");
    let saved = tess
        .post(a.url(&form.action))
        .form(&form.fields)
        .send()
        .await
        .expect("save");
    assert_eq!(
        saved.status().as_u16(),
        303,
        "{}",
        saved.text().await.unwrap_or_default()
    );
    let started = Instant::now();
    loop {
        let body: serde_json::Value = reqwest::get(b.url("/api/search?q=zqguidetwo"))
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        if body["hits"][0]["slug"] == SUBS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the edit is not found on B: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "a guide saved on A was found on B after {:?}",
        started.elapsed()
    );
    let page = reqwest::get(b.url(&format!("/guides/{SUBS}")))
        .await
        .expect("guide on B");
    assert!(
        page.text().await.expect("text").contains("zqguidetwo"),
        "B serves the new text"
    );

    // Logging out everywhere on B, with the form token from A, ends the session on A too.
    let res = tess
        .post(b.url("/account/logout-everywhere"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("logout everywhere");
    assert_eq!(res.status().as_u16(), 303, "A's form token is good on B");
    let res = tess
        .get(a.url("/account"))
        .send()
        .await
        .expect("account on A");
    assert_eq!(res.status().as_u16(), 303, "the session is over on A");

    // A node that was down catches up on start.
    b.terminate();
    assert!(b.wait_exit(Duration::from_secs(30)).is_some(), "B stops");
    let res = file(
        &a,
        &token,
        "node-a-2",
        "Bad_NotConnected zqwhiledown at the filler",
    )
    .await;
    assert_eq!(res.status().as_u16(), 201);
    let mut b = start(b_dir.path(), photos.path());
    b.listening();
    found_after(&b, &token, "zqwhiledown", Duration::from_secs(2)).await;

    // A node whose index is lost rebuilds it from the database.
    b.terminate();
    assert!(b.wait_exit(Duration::from_secs(30)).is_some(), "B stops");
    std::fs::remove_dir_all(b_dir.path().join("index")).expect("lose B's index");
    let mut b = start(b_dir.path(), photos.path());
    b.listening();
    for word in ["zqnodeone", "zqwhiledown"] {
        found_after(&b, &token, word, Duration::from_secs(2)).await;
    }

    // Revoking the token takes effect on both nodes.
    run_ok(b_dir.path(), &["token", "revoke", "line-mes"], "");
    for node in [&a, &b] {
        let res = client_with(Some(&token))
            .get(node.url("/api/cases"))
            .send()
            .await
            .expect("req");
        assert_eq!(res.status().as_u16(), 401, "revoked on {}", node.url(""));
    }
    a.terminate();
    b.terminate();
}
