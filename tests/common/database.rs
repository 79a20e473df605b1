//! Which database a test's app runs on. With `FAULTBOOK_TEST_PG` set (an admin URL, as
//! `scripts/with-postgres.sh` exports it) every data folder gets its own fresh PostgreSQL
//! database; otherwise the app keeps its SQLite file in the data folder.

use std::path::Path;

/// The admin URL of the PostgreSQL server the suites run against, if any.
pub fn postgres_admin() -> Option<String> {
    std::env::var("FAULTBOOK_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())
}

pub fn on_postgres() -> bool {
    postgres_admin().is_some()
}

/// For a test about something only SQLite has (its file, WAL, pragmas, file backups): says so
/// and returns true on a PostgreSQL run, so the test returns early there.
pub fn sqlite_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("SQLite only ({why}): not run on PostgreSQL");
        true
    } else {
        false
    }
}

const URL_FILE: &str = ".test-database-url";

/// The database URL for this data folder: `None` on SQLite (the default file); on PostgreSQL a
/// database made for the folder on first use and the same one after (a restarted app).
pub fn url_for(data: &Path) -> Option<String> {
    let admin = postgres_admin()?;
    let file = data.join(URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return Some(url);
    }
    let name = format!("fb_{}", uuid::Uuid::now_v7().simple());
    let url = database_url(&admin, &name);
    // Its own thread and runtime: callers may be sync code or already inside a runtime.
    let made = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create a test database");
        })
    })
    .join();
    made.expect("test database made");
    std::fs::create_dir_all(data).expect("data folder");
    std::fs::write(&file, &url).expect("remember the test database");
    Some(url)
}

/// A second database on the same server (for copying between databases).
pub fn fresh_postgres() -> Option<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = url_for(dir.path());
    drop(dir);
    url
}

fn database_url(admin: &str, name: &str) -> String {
    match admin.rfind('/') {
        Some(i) if admin[..i].contains("://") && !admin[i..].contains('@') => {
            let (base, rest) = admin.split_at(i);
            let query = rest.find('?').map_or("", |q| &rest[q..]);
            format!("{base}/{name}{query}")
        }
        _ => format!("{}/{name}", admin.trim_end_matches('/')),
    }
}
