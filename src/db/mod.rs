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
    pub loaded_at: String,
}

pub async fn record_content_load(db: &Db, hash: &str, guide_count: usize) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO content_loads (content_hash, guide_count, loaded_at) VALUES (?, ?, ?)",
    )
    .bind(hash)
    .bind(guide_count as i64)
    .bind(chrono::Utc::now().to_rfc3339())
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
