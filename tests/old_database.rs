//! A database written before account times were text (Unix seconds) opens with its people,
//! sessions, tokens and audit entries intact.

mod common;

use std::path::Path;

use common::*;
use faultbook::auth::store::sha256_hex;

/// Applies the migrations up to the accounts one, as a server of that time had.
async fn old_database(data: &Path) -> sqlx::SqlitePool {
    let old = tempfile::tempdir().expect("temp dir");
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if name.as_str() < "0004" {
            std::fs::copy(&path, old.path().join(&name)).expect("copy");
        }
    }
    let url = format!("sqlite://{}", data.join("faultbook.db").display());
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().expect("url");
    let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
        .await
        .expect("db");
    sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrations")
        .run(&pool)
        .await
        .expect("applied");
    pool
}

#[tokio::test]
async fn an_old_database_opens_with_its_accounts_and_their_times() {
    if common::database::sqlite_only("an old SQLite file from an earlier release") {
        return;
    }
    let data = tempfile::tempdir().expect("temp dir");
    let pool = old_database(data.path()).await;
    let now = chrono::Utc::now().timestamp();
    let hash = faultbook::auth::password::hash_blocking("old lamp orange 42").expect("hash");
    let cookie = "ab".repeat(32);
    let secret = format!("fbt_{}", "cd".repeat(32));
    for (sql, binds) in [
        (
            "INSERT INTO users (id, name, role, password_hash, disabled, created_at, password_set_at) VALUES ('u1', 'oldtimer', 'tech', ?, 0, 1700000000, 1700000000)",
            vec![hash.clone()],
        ),
        (
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, addr, user_agent) VALUES (?, 'u1', 'tok', ?, ?, '10.1.1.1', 'old phone')",
            vec![sha256_hex(&cookie), (now - 120).to_string(), (now - 120).to_string()],
        ),
        (
            "INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by, last_used_at) VALUES ('t1', 'old-mes', 'tech', ?, 1700000000, 'cli', 1700000100)",
            vec![sha256_hex(&secret)],
        ),
        (
            "INSERT INTO audit_log (at, actor, role, addr, action, target, detail) VALUES (1700000000, 'cli', 'admin', '', 'user.add', 'oldtimer', 'role tech')",
            vec![],
        ),
    ] {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = match b.parse::<i64>() {
                Ok(n) => q.bind(n),
                Err(_) => q.bind(b),
            };
        }
        q.execute(&pool).await.expect("old row");
    }
    pool.close().await;

    let app = spawn_app_in(data, shipped_content()).await;
    let (code, users) = app.get_text("/admin/users").await;
    assert_eq!(code, 200);
    assert!(users.contains("oldtimer"), "{users}");
    assert!(users.contains("2023-11-14 22:13 UTC"), "{users}");
    let (_, audit) = app.get_text("/admin/audit?actor=cli").await;
    assert!(audit.contains("2023-11-14 22:13:20Z"), "{audit}");
    let (_, tokens) = app.get_text("/admin/tokens").await;
    assert!(tokens.contains("old-mes") && tokens.contains("2023-11-14 22:15 UTC"));

    // The old session still logs its phone in, and the old token still works.
    let res = client_with(None)
        .get(app.url("/account"))
        .header("Cookie", format!("faultbook={cookie}"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.expect("text").contains("old phone"));
    assert_eq!(
        status(client_with(Some(&secret)).get(app.url("/api/cases"))).await,
        200
    );

    // One text format in every account time column.
    let odd: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM users WHERE typeof(created_at) <> 'text' OR created_at NOT LIKE '____-__-__T__:__:__.______Z') \
         + (SELECT COUNT(*) FROM audit_log WHERE at NOT LIKE '____-__-__T__:__:__.______Z') \
         + (SELECT COUNT(*) FROM sessions WHERE last_seen_at NOT LIKE '____-__-__T__:__:__.______Z')",
    )
    .fetch_one(&app.app_state.db)
    .await
    .expect("count");
    assert_eq!(odd, 0);
}
