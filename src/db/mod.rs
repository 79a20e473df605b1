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

/// The migrations this binary carries; the last one's number is its schema version.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The schema version this binary brings (its newest migration).
pub fn schema_version() -> i64 {
    MIGRATOR.migrations.last().map_or(0, |m| m.version)
}

/// The newest migration applied to an open database.
pub async fn applied_schema_version(db: &Db) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = 1",
    )
    .fetch_one(db)
    .await?)
}

/// When SQLite tells a writer its commit is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// Every commit is on the disk before it is acknowledged: a power cut loses no
    /// acknowledged case (`synchronous=FULL`).
    #[default]
    Full,
    /// WAL's `synchronous=NORMAL`: the database stays intact, but a power cut may roll back the
    /// last commits after they were acknowledged. Only for measuring what FULL costs.
    Normal,
}

/// Opens (creating if needed) the database with durable commits and applies every pending
/// migration.
pub async fn connect(url: &str) -> Result<Db, DbError> {
    connect_with(url, Durability::Full).await
}

/// Opens the database with the given durability and applies every pending migration.
pub async fn connect_with(url: &str, durability: Durability) -> Result<Db, DbError> {
    if !url.starts_with("sqlite:") {
        return Err(DbError::Unsupported(url.to_string()));
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        })
        .foreign_keys(true)
        // Concurrent writers wait for each other instead of failing with "database is locked".
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Why the server could not write, when the cause is the disk rather than the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFault {
    DiskFull,
    ReadOnly,
}

/// Finds a full disk or a read-only data folder anywhere in an error's chain: an `io::Error`
/// from a photo or index write, or SQLite's SQLITE_FULL / SQLITE_READONLY.
pub fn write_fault(err: &(dyn std::error::Error + 'static)) -> Option<WriteFault> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(f) = io_fault(io) {
                return Some(f);
            }
        }
        if let Some(sqlx::Error::Database(db)) = e.downcast_ref::<sqlx::Error>() {
            // SQLite's primary result code is the low byte of the extended one.
            match db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff)
            {
                Some(13) => return Some(WriteFault::DiskFull),
                Some(8) => return Some(WriteFault::ReadOnly),
                _ => {}
            }
        }
        if let Some(sqlx::Error::Io(io)) = e.downcast_ref::<sqlx::Error>() {
            if let Some(f) = io_fault(io) {
                return Some(f);
            }
        }
        next = e.source();
    }
    None
}

fn io_fault(io: &std::io::Error) -> Option<WriteFault> {
    match io.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            Some(WriteFault::DiskFull)
        }
        std::io::ErrorKind::ReadOnlyFilesystem => Some(WriteFault::ReadOnly),
        _ => None,
    }
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

/// SQLite's `synchronous` setting of a connection: 1 is NORMAL, 2 is FULL.
pub async fn synchronous(db: &Db) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(db)
        .await?)
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
