//! The change feed: each write that other app nodes must see adds a row to `changes` in the same
//! transaction, so a node that reads the feed in order never sees a change before its data.
//! On PostgreSQL the row also sends a NOTIFY, delivered at commit, to wake the other nodes.

use sqlx::{AnyConnection, Row};

use super::Db;
use crate::time::Timestamp;

/// The channel `NOTIFY` uses; the payload is the change's sequence number.
pub const CHANNEL: &str = "faultbook_changes";

/// This process's name in the feed: a node skips the changes it wrote itself, which it indexed
/// as it made them.
pub fn this_node() -> &'static str {
    static NODE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| uuid::Uuid::now_v7().simple().to_string());
    &NODE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A case was filed or changed: `target` is its id.
    Case,
    /// The guides changed (a save, restore, decision or imported file).
    Guides,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Case => "case",
            ChangeKind::Guides => "guides",
        }
    }

    fn parse(s: &str) -> Option<ChangeKind> {
        match s {
            "case" => Some(ChangeKind::Case),
            "guides" => Some(ChangeKind::Guides),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub kind: Option<ChangeKind>,
    pub target: String,
    pub node: String,
    pub at: Timestamp,
}

/// Adds a change inside the caller's transaction; returns its sequence number.
pub async fn record(
    conn: &mut AnyConnection,
    kind: ChangeKind,
    target: &str,
    node: &str,
) -> Result<i64, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO changes (kind, target, node, at) VALUES ($1, $2, $3, $4) RETURNING seq",
    )
    .bind(kind.as_str())
    .bind(target)
    .bind(node)
    .bind(Timestamp::now())
    .fetch_one(&mut *conn)
    .await?;
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(seq.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(seq)
}

/// The changes after `after`, oldest first, at most `limit`.
pub async fn since(db: &Db, after: i64, limit: i64) -> Result<Vec<Change>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, kind, target, node, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    from_rows(rows)
}

/// Rows of `SELECT seq, kind, target, node, at FROM changes` as changes.
pub fn from_rows(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<Change>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            Ok(Change {
                seq: r.try_get(0)?,
                kind: ChangeKind::parse(&r.try_get::<String, _>(1)?),
                target: r.try_get(2)?,
                node: r.try_get(3)?,
                at: r.try_get(4)?,
            })
        })
        .collect()
}

/// The newest sequence number; 0 when the feed is empty.
pub async fn latest(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
        .fetch_one(db)
        .await
}

/// The oldest sequence number still kept; a node behind it must rebuild its index.
pub async fn oldest(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(seq) FROM changes")
        .fetch_one(db)
        .await
}

/// Forgets changes older than `before`, keeping the newest one so the numbering shows where it
/// stood. A node that was away longer rebuilds its index from the tables.
pub async fn prune(db: &Db, before: Timestamp) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM changes WHERE at < $1 AND seq < (SELECT COALESCE(MAX(seq), 0) FROM changes)",
    )
    .bind(before)
    .execute(db)
    .await?
    .rows_affected())
}

/// Serialises guide writes across nodes for the rest of the transaction (PostgreSQL); on SQLite
/// the single writer lock and the in-process mutex already do.
pub async fn lock_guide_writes(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT pg_advisory_xact_lock(7239001)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A lock held across app nodes for a longer piece of work (importing the content folder at
/// start): a PostgreSQL session lock on a connection taken out of the pool, so that a task
/// that stops early closes the connection and the server frees the lock. On SQLite, nothing.
pub struct ClusterLock(Option<AnyConnection>);

impl ClusterLock {
    pub const IMPORT: i64 = 7_239_002;

    pub async fn acquire(db: &Db, key: i64) -> Result<ClusterLock, sqlx::Error> {
        if super::Backend::of(db) != super::Backend::Postgres {
            return Ok(ClusterLock(None));
        }
        let mut conn = db.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut conn)
            .await?;
        Ok(ClusterLock(Some(conn)))
    }

    /// Ends the session, and with it the lock.
    pub async fn release(mut self) {
        if let Some(conn) = self.0.take() {
            use sqlx::Connection;
            let _ = conn.close().await;
        }
    }
}
