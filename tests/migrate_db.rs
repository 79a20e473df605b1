//! `faultbook migrate-db`: a whole database copied (SQLite to PostgreSQL when the suite has a
//! server, else SQLite to SQLite; PostgreSQL to SQLite too on such a run) and served by a second
//! app; a second run adds nothing; a row changed in the copy is caught by its checksum; a target
//! holding rows of its own is refused.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use common::editor::{edit_and_save, reader_page, OLD_STEP, SUBS};
use common::{client_with, database, process, spawn_app, spawn_app_with, TestApp};
use faultbook::auth::Role;
use serde_json::json;
use tempfile::TempDir;

const NEW_STEP: &str = "Session limit: moved over with the database, word for word.";

/// A fresh PostgreSQL database when the suite has a server, else `copy.db` in a new folder (the
/// folder lives as long as the returned `TempDir`).
fn target() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database::fresh_postgres().unwrap_or_else(|| sqlite_file(dir.path(), "copy.db"));
    (url, dir)
}

fn sqlite_file(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// An app on SQLite, also on a PostgreSQL run: the usual copy goes from the embedded database.
async fn sqlite_app() -> TestApp {
    spawn_app_with(|c| c.database_url = None).await
}

/// `faultbook migrate-db --from FROM --to TO EXTRA…`, stdout and stderr together.
async fn migrate(from: &str, to: &str, extra: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(process::BIN);
    cmd.env_remove("DATABASE_URL")
        .args(["migrate-db", "--from", from, "--to", to])
        .args(extra);
    let out: Output = tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .expect("joined");
    (
        out.status.success(),
        format!(
            "{}\n{}",
            process::text(&out.stdout),
            process::text(&out.stderr)
        ),
    )
}

/// The summary's rows: table → (source, target, new, check).
fn summary(out: &str) -> HashMap<String, (u64, u64, u64, String)> {
    let mut rows = HashMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [table, source, target, new, check] = f[..] {
            if let (Ok(s), Ok(t), Ok(n)) = (source.parse(), target.parse(), new.parse()) {
                rows.insert(table.to_string(), (s, t, n, check.to_string()));
            }
        }
    }
    rows
}

const TABLES: [&str; 14] = [
    "users",
    "api_tokens",
    "cases",
    "case_photos",
    "case_checks",
    "case_updates",
    "audit_log",
    "guides",
    "guide_revisions",
    "published_slugs",
    "guide_import_faults",
    "server_secrets",
    "content_loads",
    "changes",
];

/// What a source holds for the checks on the copy.
struct Filled {
    cases: Vec<(String, &'static str)>,
    photo: String,
    password: String,
    token: String,
}

/// Cases (one with a photo, one with a real, an integer and non-ASCII text), a person, a
/// token, a guide edit, and rows of the tables the API does not reach in a few lines.
async fn fill(app: &TestApp) -> Filled {
    let mut cases = Vec::new();
    let alarm = "QX-4471 migration flux stall";
    let first = app
        .file_case(
            "migrate-1",
            json!({
                "verbatim_alarm": alarm,
                "outcome": "fixed",
                "asset": "PRESS-7",
                "hour_meter": 1234.5,
                "part_count": 88,
                "notes": "Füße — kept as typed",
            }),
        )
        .await;
    cases.push((first["id"].as_str().expect("id").to_string(), alarm));
    let alarm = "QX-4472 migration flux surge";
    let second = app
        .file_case(
            "migrate-2",
            json!({ "verbatim_alarm": alarm, "outcome": "workaround" }),
        )
        .await;
    cases.push((second["id"].as_str().expect("id").to_string(), alarm));
    let alarm = "QX-4473 migration flux photo";
    let (status, third) = app
        .file_case_with_photo("migrate-3", alarm, common::jpeg(7))
        .await;
    assert_eq!(status, 201, "{third}");
    cases.push((third["id"].as_str().expect("id").to_string(), alarm));
    let photo = third["photos"][0]["id"]
        .as_str()
        .expect("photo")
        .to_string();

    let password = common::user(&app.app_state, "casey", Role::Tech).await;
    let token = common::token(&app.app_state, "line4-script", Role::Viewer).await;
    let (edna, _) = app.logged_in("edna", Role::Editor).await;
    edit_and_save(app, &edna, SUBS, |f| f.replace("body", OLD_STEP, NEW_STEP)).await;

    let db = &app.app_state.db;
    let case = &cases[0].0;
    for (sql, bind_case) in [
        ("INSERT INTO case_checks (case_id, step, step_text, passed) VALUES ($1, 1, 'Subscription count is stable', 1)", true),
        ("INSERT INTO case_updates (idempotency_key, case_id, at, actor, detail) VALUES ('update-1', $1, '2026-11-20T14:03:07.000000Z', 'casey', 'Outcome: fixed')", true),
        ("INSERT INTO guide_import_faults (path, file_sha, faults, seen_at) VALUES ('ignition/broken.md', 'abc', 'line 1: no front matter', '2026-11-20T14:03:07.000000Z')", false),
    ] {
        let q = sqlx::query(sql);
        let q = if bind_case { q.bind(case.as_str()) } else { q };
        q.execute(db).await.expect("row written");
    }
    Filled {
        cases,
        photo,
        password,
        token,
    }
}

/// Copies `from` to `to`, checks the counts, runs it again (nothing new), and serves the copy.
async fn copy_and_serve(source: &TestApp, filled: &Filled, from: &str, to: &str) {
    let (ok, out) = migrate(from, to, &[]).await;
    assert!(ok, "migrate-db failed:\n{out}");
    let first = summary(&out);
    for table in TABLES {
        let (source, target, new, check) = first
            .get(table)
            .unwrap_or_else(|| panic!("no count for {table}:\n{out}"));
        assert_eq!(source, target, "{table}:\n{out}");
        assert_eq!(
            source, new,
            "an empty target gets every row of {table}:\n{out}"
        );
        assert_eq!(check, "ok", "{table}:\n{out}");
    }
    assert_eq!(first["cases"].0, 3, "{out}");
    assert_eq!(first["case_photos"].0, 1, "{out}");
    assert_eq!(first["case_checks"].0, 1, "{out}");
    assert_eq!(first["case_updates"].0, 1, "{out}");
    assert!(first["users"].0 >= 2, "{out}");
    assert!(first["guide_revisions"].0 > first["guides"].0, "{out}");
    assert!(!first.contains_key("sessions"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("cases: 3 rows copied (3 new) in ")
                && l.ends_with(" s, checksum ok")),
        "{out}"
    );
    assert!(
        out.contains("sessions were not copied: everyone logs in again"),
        "{out}"
    );
    assert!(
        out.contains("photo files are not in the database: point --photo-dir of every node at the same folder or copy data/photos"),
        "{out}"
    );

    let (ok, again) = migrate(from, to, &[]).await;
    assert!(ok, "the second run failed:\n{again}");
    let second = summary(&again);
    for table in TABLES {
        let (s, t, new, check) = &second[table];
        assert_eq!(
            (s, t),
            (&first[table].0, &first[table].1),
            "{table}:\n{again}"
        );
        assert_eq!(*new, 0, "nothing is copied twice into {table}:\n{again}");
        assert_eq!(check, "ok", "{table}:\n{again}");
    }

    // A server on the copy, sharing the source's photo folder as the output says.
    let photos = source.data.path().join("photos");
    let to_owned = to.to_string();
    let copy = spawn_app_with(move |c| {
        c.database_url = Some(to_owned);
        c.photo_dir = Some(photos);
    })
    .await;
    let (status, list) = copy.get_json("/api/cases?limit=100").await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&str> = list["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    for (id, alarm) in &filled.cases {
        assert!(listed.contains(&id.as_str()), "{id} in {list}");
        let (status, page) = copy.get_text(&format!("/cases/{id}")).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains(alarm), "the case page of {id} shows {alarm}");
    }
    let (_, case) = copy
        .get_json(&format!("/api/cases/{}", filled.cases[0].0))
        .await;
    assert_eq!(case["hour_meter"], 1234.5, "{case}");
    assert_eq!(case["part_count"], 88, "{case}");
    assert_eq!(case["notes"], "Füße — kept as typed", "{case}");
    let (status, found) = copy.get_json("/api/search?q=flux").await;
    assert_eq!(status, 200);
    for (id, _) in &filled.cases {
        assert!(
            found.to_string().contains(&format!("/cases/{id}")),
            "search finds {id}: {found}"
        );
    }
    let photo = copy.get(&format!("/photos/{}.jpg", filled.photo)).await;
    assert_eq!(photo.status().as_u16(), 200, "the photo is served");

    let browser = common::browser();
    let login = browser
        .post(copy.url("/login"))
        .form(&[
            ("username", "casey"),
            ("password", filled.password.as_str()),
            ("next", "/account"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 303, "casey logs in on the copy");
    let res = client_with(Some(&filled.token))
        .get(copy.url("/api/cases"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200, "the token works on the copy");
    assert!(reader_page(&copy, SUBS).await.contains(NEW_STEP));

    // New rows get new ids (PostgreSQL's identities were moved past the copied ones).
    copy.file_case(
        "after-the-move",
        json!({ "verbatim_alarm": "QX-4474 filed after the move", "outcome": "fixed" }),
    )
    .await;
    let (edna, _) = copy.logged_in("edna2", Role::Editor).await;
    edit_and_save(&copy, &edna, SUBS, |f| {
        f.replace("body", NEW_STEP, "Session limit: edited on the copy.")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_database_is_copied_checked_and_served() {
    let source = sqlite_app().await;
    let filled = fill(&source).await;
    let (to, _dir) = target();
    copy_and_serve(
        &source,
        &filled,
        &sqlite_file(source.data.path(), "faultbook.db"),
        &to,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_is_copied_to_sqlite() {
    if !database::on_postgres() {
        eprintln!("PostgreSQL only: FAULTBOOK_TEST_PG is not set");
        return;
    }
    let source = spawn_app().await;
    let filled = fill(&source).await;
    let from = database::url_for(source.data.path()).expect("the app runs on PostgreSQL");
    let dir = tempfile::tempdir().expect("temp dir");
    copy_and_serve(&source, &filled, &from, &sqlite_file(dir.path(), "copy.db")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_copy_fails_its_checksum_and_a_used_target_is_refused() {
    let source = sqlite_app().await;
    let case = source
        .file_case(
            "tamper-1",
            json!({ "verbatim_alarm": "QX-5501 tamper check", "outcome": "fixed", "notes": "as filed" }),
        )
        .await;
    let id = case["id"].as_str().expect("id").to_string();
    let from = sqlite_file(source.data.path(), "faultbook.db");
    let (to, _dir) = target();

    let (same, out) = migrate(&from, &from, &[]).await;
    assert!(!same, "copying a database onto itself is refused:\n{out}");
    assert!(out.contains("same database"), "{out}");

    let (ok, out) = migrate(&from, &to, &[]).await;
    assert!(ok, "{out}");

    let db = faultbook::db::connect(&to).await.expect("the copy opens");
    sqlx::query("UPDATE cases SET notes = 'changed in the copy' WHERE id = $1")
        .bind(&id)
        .execute(&db)
        .await
        .expect("update");
    let (ok, out) = migrate(&from, &to, &[]).await;
    assert!(!ok, "a changed copy fails:\n{out}");
    assert!(out.contains("cases: checksum mismatch"), "{out}");
    assert!(out.contains(&format!("first at id={id}")), "{out}");
    assert_eq!(summary(&out)["cases"].3, "MISMATCH", "{out}");
    assert_eq!(summary(&out)["users"].3, "ok", "{out}");

    // A row the source does not have: the target is not a copy of it, so it is refused.
    sqlx::query("UPDATE cases SET notes = 'as filed' WHERE id = $1")
        .bind(&id)
        .execute(&db)
        .await
        .expect("update");
    sqlx::query("INSERT INTO server_secrets (name, value) VALUES ('someone-else', 'x')")
        .execute(&db)
        .await
        .expect("insert");
    db.close().await;
    let (ok, out) = migrate(&from, &to, &[]).await;
    assert!(!ok, "a target with rows of its own is refused:\n{out}");
    assert!(out.contains("server_secrets: 1"), "{out}");
    assert!(out.contains("--into-nonempty"), "{out}");
    let (ok, out) = migrate(&from, &to, &["--into-nonempty"]).await;
    assert!(ok, "every source row is there:\n{out}");
    let counts = summary(&out);
    assert_eq!(
        counts["server_secrets"].1,
        counts["server_secrets"].0 + 1,
        "{out}"
    );
}

/// More rows than a page, with NULLs and reals mixed in one column (PostgreSQL types a NULL real
/// apart from a real) and a two-column key continued across pages.
#[tokio::test]
async fn many_rows_are_copied_page_by_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = sqlite_file(dir.path(), "many.db");
    let db = faultbook::db::connect(&from).await.expect("source");
    let mut tx = db.begin().await.expect("begin");
    for i in 0..1200i64 {
        let id = format!("00000000-0000-7000-8000-{i:012}");
        sqlx::query(
            "INSERT INTO cases (id, created_at, verbatim_alarm, hour_meter, part_count, outcome, \
             idempotency_key, request_hash) VALUES ($1, '2026-11-20T14:03:07.000000Z', $2, $3, $4, \
             'fixed', $5, 'h')",
        )
        .bind(&id)
        .bind(format!("QX-{i} page test"))
        .bind((i % 3 == 0).then_some(i as f64 * 0.25))
        .bind((i % 4 == 0).then_some(i))
        .bind(format!("many-{i}"))
        .execute(&mut *tx)
        .await
        .expect("case");
        if i < 300 {
            for position in 0..3i64 {
                sqlx::query(
                    "INSERT INTO case_photos (case_id, position, sha256, width, height, bytes) \
                     VALUES ($1, $2, $3, 640, 480, 1000)",
                )
                .bind(&id)
                .bind(position)
                .bind(format!("{:064x}", i * 3 + position))
                .execute(&mut *tx)
                .await
                .expect("photo");
            }
        }
    }
    tx.commit().await.expect("commit");
    db.close().await;

    let (to, _target_dir) = target();
    let (ok, out) = migrate(&from, &to, &[]).await;
    assert!(ok, "{out}");
    let counts = summary(&out);
    assert_eq!(counts["cases"], (1200, 1200, 1200, "ok".into()), "{out}");
    assert_eq!(counts["case_photos"], (900, 900, 900, "ok".into()), "{out}");
    let (ok, out) = migrate(&from, &to, &[]).await;
    assert!(ok, "{out}");
    assert_eq!(
        summary(&out)["cases"],
        (1200, 1200, 0, "ok".into()),
        "{out}"
    );
}
