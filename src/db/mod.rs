//! Database access: the pool, embedded migrations, and the small tables the rest of the app shares.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

pub type Db = SqlitePool;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL `{0}` is not supported yet: use sqlite://PATH")]
    Unsupported(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("applying migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens (creating if needed) the database and applies every pending migration.
pub async fn connect(url: &str) -> Result<Db, DbError> {
    if !url.starts_with("sqlite:") {
        return Err(DbError::Unsupported(url.to_string()));
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        // Concurrent writers wait for each other instead of failing with "database is locked".
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLoad {
    pub content_hash: String,
    pub guide_count: i64,
    pub loaded_at: crate::time::Timestamp,
}

pub async fn record_content_load(db: &Db, hash: &str, guide_count: usize) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO content_loads (content_hash, guide_count, loaded_at) VALUES (?, ?, ?)",
    )
    .bind(hash)
    .bind(guide_count as i64)
    .bind(crate::time::Timestamp::now())
    .execute(db)
    .await?;
    Ok(())
}

/// The most recent content load before this one, if any.
pub async fn last_content_load(db: &Db) -> Result<Option<ContentLoad>, DbError> {
    let row = sqlx::query(
        "SELECT content_hash, guide_count, loaded_at FROM content_loads ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| ContentLoad {
        content_hash: r.get(0),
        guide_count: r.get(1),
        loaded_at: r.get(2),
    }))
}

pub async fn journal_mode(db: &Db) -> Result<String, DbError> {
    Ok(sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn content_loads_written_in_the_old_time_form_are_rewritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .expect("url")
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.expect("open");
        let mut before = sqlx::migrate!("./migrations");
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version < 5)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(&pool).await.expect("old migrations");
        sqlx::query("INSERT INTO content_loads (content_hash, guide_count, loaded_at) VALUES ('abc', 13, '2026-11-20T13:03:07.123456789+00:00')")
            .execute(&pool)
            .await
            .expect("old row");
        pool.close().await;

        let db = connect(&url).await.expect("migrates");
        let load = last_content_load(&db).await.expect("reads").expect("a row");
        assert_eq!(load.loaded_at.to_db(), "2026-11-20T13:03:07.123000Z");
        assert_eq!(load.guide_count, 13);
    }
}
