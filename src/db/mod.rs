//! Database access: the pool, embedded migrations, and the small tables the rest of the app shares.
//!
//! One pool type serves both engines: sqlx's `Any` driver over SQLite (the embedded default) or
//! PostgreSQL (several nodes). The SQL the app runs is written once, in the dialect both read
//! (`$n` placeholders, `ON CONFLICT`, `RETURNING`, `lower()` for case-blind names); each engine has
//! its own migrations folder. ARCHITECTURE.md says why.

pub mod builder;
pub mod changes;

use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

pub use builder::SqlBuilder;

pub type Db = AnyPool;
pub type DbRow = AnyRow;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL `{0}` is not supported: use sqlite://PATH or postgres://USER@HOST/NAME")]
    Unsupported(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("applying migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The engine behind an open pool.
    pub fn of(db: &Db) -> Backend {
        match db.connect_options().database_url.scheme() {
            "postgres" | "postgresql" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    pub fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// The SQLite migrations this binary carries; the last one's number is its schema version.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL migrations: the same schema from its first file (numbered as the SQLite
/// migration it catches up with), then one file per later SQLite migration, with the same number.
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// The schema version this binary brings (its newest migration; the same on both engines).
pub fn schema_version() -> i64 {
    MIGRATOR.migrations.last().map_or(0, |m| m.version)
}

/// The newest migration applied to an open database.
pub async fn applied_schema_version(db: &Db) -> Result<i64, DbError> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(db)
            .await?,
    )
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

/// Opens the database with the given durability (SQLite only) and applies every pending
/// migration. On PostgreSQL sqlx holds an advisory lock while it migrates, so nodes that start
/// together wait for each other instead of racing.
pub async fn connect_with(url: &str, durability: Durability) -> Result<Db, DbError> {
    let pool = open(url, durability).await?;
    Backend::of(&pool).migrator().run(&pool).await?;
    Ok(pool)
}

/// Opens the pool without migrating (for reading an old database as it is).
pub async fn open(url: &str, durability: Durability) -> Result<Db, DbError> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => open_sqlite(url, durability).await,
        Some(Backend::Postgres) => Ok(AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?),
        None => Err(DbError::Unsupported(url.to_string())),
    }
}

async fn open_sqlite(url: &str, durability: Durability) -> Result<Db, DbError> {
    // The Any driver reads only the URL, so the settings a SQLite connection needs are set on
    // each new connection.
    let url = if url.contains('?') {
        url.to_string()
    } else {
        format!("{url}?mode=rwc")
    };
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000;",
        match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    );
    Ok(AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(move |conn, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move {
                // Concurrent writers wait for each other (busy_timeout) instead of failing with
                // "database is locked".
                conn.execute(pragmas.as_str()).await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?)
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
            match db.code().as_deref() {
                // PostgreSQL's disk_full and read_only_sql_transaction.
                Some("53100") => return Some(WriteFault::DiskFull),
                Some("25006") => return Some(WriteFault::ReadOnly),
                // SQLite's primary result code is the low byte of the extended one.
                Some(c) => match c.parse::<i32>().ok().map(|c| c & 0xff) {
                    Some(13) => return Some(WriteFault::DiskFull),
                    Some(8) => return Some(WriteFault::ReadOnly),
                    _ => {}
                },
                None => {}
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

/// A UUID as both engines keep it: hyphenated text. (`Any` decodes no UUID type of its own.)
pub struct UuidText(pub String);

impl<DB: sqlx::Database> sqlx::Type<DB> for UuidText
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for UuidText
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(UuidText(<String as sqlx::Decode<'r, DB>>::decode(value)?))
    }
}

impl TryFrom<UuidText> for uuid::Uuid {
    type Error = uuid::Error;
    fn try_from(t: UuidText) -> Result<Self, Self::Error> {
        uuid::Uuid::parse_str(&t.0)
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
        "INSERT INTO content_loads (content_hash, guide_count, loaded_at) VALUES ($1, $2, $3)",
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

/// SQLite's `synchronous` setting of a connection: 1 is NORMAL, 2 is FULL. (SQLite only.)
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
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::SqlitePool;
    use std::str::FromStr;

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
