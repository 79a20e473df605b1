//! What plant IT sees of a running faultbook: durable commits, health with versions, metrics
//! for the dashboards (and only for them), request ids, the index catching up with the
//! database, and a stop on SIGTERM that finishes the filings in flight.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::process::*;
use common::*;
use faultbook::auth::net::parse_net;

#[tokio::test]
async fn health_and_version_name_the_release_and_the_schema() {
    let app = spawn_app().await;
    let res = app
        .anon
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(res.status().as_u16(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["schema"], faultbook::db::schema_version());
    assert!(faultbook::db::schema_version() >= 5);

    let out = std::process::Command::new(BIN)
        .arg("--version")
        .output()
        .expect("--version");
    let line = text(&out.stdout);
    assert_eq!(
        line.trim(),
        format!(
            "faultbook {} (schema {})",
            env!("CARGO_PKG_VERSION"),
            faultbook::db::schema_version()
        )
    );
}

#[tokio::test]
async fn every_database_connection_syncs_each_commit_to_disk() {
    if common::database::sqlite_only("SQLite's synchronous pragma") {
        return;
    }
    let app = spawn_app().await;
    // Hold several connections at once so the check covers more than one of the pool's.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut conn = app.app_state.db.acquire().await.expect("connection");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .expect("pragma");
        assert_eq!(sync, 2, "synchronous=FULL on every connection");
        held.push(conn);
    }
}

/// The value of one series in a Prometheus text page, 0 when absent.
fn series(page: &str, name_and_labels: &str) -> f64 {
    page.lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let res = app
        .anon
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/plain; version=0.0.4"));
    res.text().await.expect("text")
}

#[tokio::test]
async fn metrics_count_what_happened_by_route_and_reason() {
    let app = spawn_app().await;
    let before = scrape(&app).await;

    app.file_case(
        "metrics-1",
        serde_json::json!({"verbatim_alarm": "Bad_Timeout", "outcome": "fixed"}),
    )
    .await;
    let (status, _) = app.get_json("/api/search?q=Bad_ConnectionRejected").await;
    assert_eq!(status, 200);
    let (status, _) = app
        .file_case_with_photo("metrics-2", "Bad_Timeout", b"GIF89a not a photo".to_vec())
        .await;
    assert_eq!(status, 422);
    let login = app
        .anon
        .post(app.url("/login"))
        .form(&[("name", "nobody"), ("password", "wrong password here")])
        .send()
        .await
        .expect("login");
    assert!(login.status().is_client_error() || login.status().is_success());
    for path in ["/no/such/page/1", "/no/such/page/2", "/wp-admin/setup.php"] {
        assert_eq!(app.get(path).await.status().as_u16(), 404);
    }

    let after = scrape(&app).await;
    let grew = |s: &str| series(&after, s) - series(&before, s);
    assert!(grew("faultbook_cases_filed_total") >= 1.0, "{after}");
    assert!(
        grew(r#"faultbook_http_requests_total{method="GET",route="/api/search",status="200"}"#)
            >= 1.0
    );
    assert!(grew(r#"faultbook_photos_refused_total{reason="not_an_image"}"#) >= 1.0);
    assert!(grew(r#"faultbook_logins_refused_total{reason="unknown_or_disabled"}"#) >= 1.0);
    assert!(
        grew(r#"faultbook_http_requests_total{method="GET",route="unmatched",status="404"}"#)
            >= 3.0
    );
    assert!(!after.contains("wp-admin"), "raw paths never become labels");
    assert!(series(&after, "faultbook_search_duration_seconds_count") >= 1.0);
    assert!(after.contains(r#"faultbook_http_request_duration_seconds_bucket{method="GET",route="/api/search",le="0.005"}"#));
    assert_eq!(series(&after, "faultbook_index_lag_cases"), 0.0);
    assert!(series(&after, "faultbook_cases_stored") >= 1.0);
    assert!(series(&after, "faultbook_db_pool_acquire_seconds_count") >= 1.0);
    assert!(series(&after, "faultbook_process_resident_memory_bytes") > 1e6);
}

#[tokio::test]
async fn metrics_are_only_for_loopback_and_the_allowed_networks() {
    // Through a proxy nobody declared: the loopback peer proves nothing.
    let app = spawn_app().await;
    let res = app
        .anon
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "198.51.100.20")
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status().as_u16(), 403);

    // Through a declared proxy, the client's own address decides.
    let proxied = spawn_app_with(|c| {
        c.trusted_proxy = vec![parse_net("127.0.0.1/32").expect("net")];
    })
    .await;
    let from = |addr: &'static str| {
        proxied
            .anon
            .get(proxied.url("/metrics"))
            .header("X-Forwarded-For", addr)
            .send()
    };
    assert_eq!(
        from("203.0.113.7")
            .await
            .expect("metrics")
            .status()
            .as_u16(),
        403
    );
    let allowed = spawn_app_with(|c| {
        c.trusted_proxy = vec![parse_net("127.0.0.1/32").expect("net")];
        c.ops.metrics_allow = vec![parse_net("203.0.113.0/24").expect("net")];
    })
    .await;
    let res = allowed
        .anon
        .get(allowed.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status().as_u16(), 200);
    let res = allowed
        .anon
        .get(allowed.url("/metrics"))
        .header("X-Forwarded-For", "192.0.2.1")
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_forged_one_is_replaced() {
    let app = spawn_app().await;
    let id_of = |res: &reqwest::Response| {
        res.headers()
            .get("x-request-id")
            .expect("x-request-id")
            .to_str()
            .expect("ascii")
            .to_string()
    };
    let a = id_of(&app.get("/guides").await);
    let b = id_of(&app.get("/no/such/page").await);
    assert_ne!(a, b);
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");

    let kept = app
        .anon
        .get(app.url("/healthz"))
        .header("x-request-id", "nginx-5f1c2e7a")
        .send()
        .await
        .expect("healthz");
    assert_eq!(id_of(&kept), "nginx-5f1c2e7a", "a proxy's id is kept");
    for forged in [
        "a".repeat(200),
        "x\u{7f}y".to_string(),
        "id with spaces".into(),
    ] {
        let Ok(value) = reqwest::header::HeaderValue::from_str(&forged) else {
            continue;
        };
        let res = app
            .anon
            .get(app.url("/healthz"))
            .header("x-request-id", value)
            .send()
            .await
            .expect("healthz");
        let id = id_of(&res);
        assert_ne!(id, forged);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_catches_the_index_up_with_cases_it_missed() {
    let app = spawn_app().await;
    let case = app
        .file_case(
            "catch-up-1",
            serde_json::json!({"verbatim_alarm": "Bad_Timeout on QX91Z drive", "outcome": "fixed"}),
        )
        .await;
    let id = case["id"].as_str().expect("id").to_string();
    // The commit landed but the index write did not (a crash between them, a full disk).
    let index_dir = app.data.path().join("index");
    let library = app.app_state.library();
    tokio::task::spawn_blocking(move || {
        let (index, _) =
            faultbook::search::SearchIndex::open_or_rebuild(&index_dir, &library, Vec::new)
                .expect("open");
        index
            .replace_cases_blocking(Vec::new())
            .expect("forget cases");
    })
    .await
    .expect("thread");

    let restarted = spawn_app_in(app.data, shipped_content()).await;
    let (status, found) = restarted.get_json("/api/search?q=QX91Z").await;
    assert_eq!(status, 200);
    assert!(found.to_string().contains(&id), "{found}");
    let page = scrape(&restarted).await;
    assert_eq!(series(&page, "faultbook_index_lag_cases"), 0.0);
}

/// A case with a photo as raw HTTP, so the test decides when each byte is sent.
fn raw_filing(token: &str, key: &str) -> (Vec<u8>, Vec<u8>) {
    let boundary = "faultbookboundary7";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"case\"\r\nContent-Type: application/json\r\n\r\n{}\r\n",
            serde_json::json!({"verbatim_alarm": "Bad_Timeout during shutdown", "outcome": "fixed"})
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"hmi.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&jpeg(7));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/cases HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {key}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    (head.into_bytes(), body)
}

#[test]
fn sigterm_finishes_the_filing_in_flight_and_stops_within_the_grace() {
    let data = tempfile::tempdir().expect("temp dir");
    let token = run_ok(
        data.path(),
        &[
            "token",
            "create",
            "--name",
            "shutdown-test",
            "--role",
            "tech",
        ],
        "",
    )
    .trim()
    .to_string();
    let mut server = Server::start_with(data.path(), &["--shutdown-grace", "4s"]);
    server.listening();
    let addr = server.base.trim_start_matches("http://").to_string();

    let (head, body) = raw_filing(&token, "sigterm-1");
    let mut in_flight = TcpStream::connect(&addr).expect("connect");
    in_flight.write_all(&head).expect("head");
    in_flight
        .write_all(&body[..body.len() / 2])
        .expect("half the body");
    // A second client that stalls mid-upload and never finishes.
    let (stall_head, stall_body) = raw_filing(&token, "sigterm-2");
    let mut stalled = TcpStream::connect(&addr).expect("connect");
    stalled.write_all(&stall_head).expect("head");
    stalled.write_all(&stall_body[..100]).expect("a little");
    std::thread::sleep(Duration::from_millis(300));

    let signalled = Instant::now();
    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    in_flight
        .write_all(&body[body.len() / 2..])
        .expect("the rest after SIGTERM");
    let mut answer = String::new();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    in_flight.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let status = server
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running 15 s after SIGTERM:\n{}", server.output()));
    let took = signalled.elapsed();
    assert!(status.success(), "{status}: {}", server.output());
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(8),
        "stopped {took:?} after SIGTERM with a 4 s grace and a stalled upload"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "nothing listens after the stop"
    );
    drop(stalled);

    // The filing acknowledged during the shutdown is there after a restart.
    let mut again = Server::start(data.path());
    again.listening();
    let id = answer
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("case id in the answer")
        .to_string();
    let again_addr = again.base.trim_start_matches("http://").to_string();
    let mut get = TcpStream::connect(&again_addr).expect("connect");
    get.write_all(
        format!("GET /api/cases/{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .expect("request");
    let mut page = String::new();
    get.read_to_string(&mut page).expect("answer");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Bad_Timeout during shutdown"), "{page}");
}

#[tokio::test]
async fn the_dashboard_charts_only_metrics_the_server_exports() {
    let app = spawn_app().await;
    // Activity that makes every series appear at least once.
    app.file_case(
        "dash-1",
        serde_json::json!({"verbatim_alarm": "Bad_Timeout", "outcome": "fixed"}),
    )
    .await;
    let _ = app.get_json("/api/search?q=Bad_Timeout").await;
    let _ = app
        .file_case_with_photo("dash-2", "Bad_Timeout", b"not a photo".to_vec())
        .await;
    let _ = app
        .anon
        .post(app.url("/login"))
        .form(&[("name", "nobody"), ("password", "wrong password here")])
        .send()
        .await;
    let page = scrape(&app).await;
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grafana-faultbook.json"),
    )
    .expect("dashboard");
    let json: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard is JSON");
    let panels = json["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10);
    let mut names = std::collections::BTreeSet::new();
    for p in panels {
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr");
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("faultbook_") {
                    names.insert(word.to_string());
                }
            }
        }
    }
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))),
            "the dashboard charts {name}, which /metrics does not export"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cases_filed_together_share_index_commits_yet_each_is_found_when_acknowledged() {
    let app = spawn_app().await;
    let filings = (0..24).map(|i| {
        let (client, base) = (app.client.clone(), app.addr.clone());
        tokio::spawn(async move {
            let marker = format!("QZ{i}W");
            let res = client
                .post(format!("{base}/api/cases"))
                .header("Idempotency-Key", format!("together-{i}"))
                .json(&serde_json::json!({"verbatim_alarm": format!("Bad_Timeout {marker}"), "outcome": "fixed"}))
                .send()
                .await
                .expect("filing");
            assert_eq!(res.status().as_u16(), 201);
            let case: serde_json::Value = res.json().await.expect("json");
            // Searched the moment the 201 arrives: the commit that holds it is done.
            let found: serde_json::Value = client
                .get(format!("{base}/api/search?q={marker}"))
                .send()
                .await
                .expect("search")
                .json()
                .await
                .expect("json");
            let id = case["id"].as_str().expect("id").to_string();
            assert!(found.to_string().contains(&id), "{marker}: {found}");
        })
    });
    for f in filings.collect::<Vec<_>>() {
        f.await.expect("filing task");
    }
    assert_eq!(app.app_state.search.num_case_docs(), 24);
}
