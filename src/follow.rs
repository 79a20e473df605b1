//! Keeps this node in step with the other app nodes on one PostgreSQL database: reads the change
//! feed (`db::changes`) in order and re-indexes the cases, or reloads the guides, that another
//! node changed. A NOTIFY wakes it at once; a poll every second covers a lost notification.
//!
//! The sequence numbers of transactions that commit out of order can show up late: a number
//! skipped over is watched for a while before it is taken for a rolled-back transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cases::CaseService;
use crate::content::Guides;
use crate::db::changes::{self, Change, ChangeKind};
use crate::db::{Db, SqlBuilder};

const POLL: Duration = Duration::from_secs(1);
/// How long a skipped sequence number is waited for; transactions here last milliseconds.
const GAP_WAIT: Duration = Duration::from_secs(10);
const BATCH: i64 = 1000;
/// A jump this large is not a transaction in flight but changes pruned long ago.
const GAP_LIMIT: i64 = 10_000;
/// How long the feed keeps a change; a node away longer re-indexes every case.
pub const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);
const MARK_FILE: &str = "follow.json";

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Guides(#[from] crate::content::GuideError),
    #[error(transparent)]
    Cases(#[from] crate::cases::CaseError),
    #[error("cannot write {path}: {source}")]
    Mark {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The last change this node's index holds, kept beside the index (a rebuilt index starts
/// without one).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Mark {
    seq: i64,
}

pub fn read_mark(index_dir: &Path) -> Option<i64> {
    let bytes = std::fs::read(index_dir.join(MARK_FILE)).ok()?;
    serde_json::from_slice::<Mark>(&bytes).ok().map(|m| m.seq)
}

fn write_mark(index_dir: &Path, seq: i64) -> Result<(), FollowError> {
    let path = index_dir.join(MARK_FILE);
    let tmp = index_dir.join(format!("{MARK_FILE}.tmp"));
    let bytes = serde_json::to_vec(&Mark { seq }).unwrap_or_default();
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|source| FollowError::Mark { path, source })
}

/// How far this node has read the feed; shared with /health and the metrics.
#[derive(Debug, Clone, Default)]
pub struct FollowState {
    pub applied: Arc<AtomicI64>,
}

impl FollowState {
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Relaxed)
    }
}

/// Which changes have been read: all up to the first gap, and the gaps still waited for.
#[derive(Debug, Default)]
struct Cursor {
    max_seen: i64,
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    fn done(&self) -> i64 {
        self.gaps.keys().next().map_or(self.max_seen, |g| g - 1)
    }

    /// Takes in the new changes (ordered by seq), noting the numbers they skipped.
    fn saw_new(&mut self, new: &[Change], now: Instant) {
        for c in new {
            if c.seq - self.max_seen <= GAP_LIMIT {
                for s in self.max_seen + 1..c.seq {
                    self.gaps.insert(s, now);
                }
            }
            self.max_seen = self.max_seen.max(c.seq);
        }
    }

    fn filled(&mut self, seq: i64) {
        self.gaps.remove(&seq);
    }

    fn expire(&mut self, now: Instant) {
        self.gaps
            .retain(|_, since| now.duration_since(*since) < GAP_WAIT);
    }
}

pub struct Follower {
    db: Db,
    cases: CaseService,
    guides: Guides,
    index_dir: PathBuf,
    state: FollowState,
}

impl Follower {
    pub fn new(
        db: Db,
        cases: CaseService,
        guides: Guides,
        index_dir: PathBuf,
        state: FollowState,
    ) -> Follower {
        Follower {
            db,
            cases,
            guides,
            index_dir,
            state,
        }
    }

    /// Applies every change after `from` now (a node catching up at start), then follows the
    /// feed in a background task.
    pub async fn start(self, from: i64) -> Result<(), FollowError> {
        let mut cursor = Cursor {
            max_seen: from,
            gaps: BTreeMap::new(),
        };
        self.state.applied.store(from, Ordering::Relaxed);
        // Written now, so that a node stopped before any change comes knows where it stood.
        write_mark(&self.index_dir, from)?;
        let mut caught_up = 0;
        loop {
            let n = self.step(&mut cursor).await?;
            caught_up += n;
            if n < BATCH as usize {
                break;
            }
        }
        if caught_up > 0 {
            tracing::info!(changes = caught_up, "caught up with the other nodes");
        }
        tokio::spawn(self.run(cursor));
        Ok(())
    }

    async fn run(self, mut cursor: Cursor) {
        let mut listener = self.listen().await;
        let mut last_prune = Instant::now();
        loop {
            match self.step(&mut cursor).await {
                Ok(n) if n >= BATCH as usize => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "following the other nodes' changes failed; retrying")
                }
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = Instant::now();
                let before = crate::time::Timestamp::now().plus_secs(-(KEEP.as_secs() as i64));
                if let Err(e) = changes::prune(&self.db, before).await {
                    tracing::warn!(error = %e, "cannot prune the change feed");
                }
            }
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        got = l.recv() => if let Err(e) = got {
                            tracing::warn!(error = %e, "change notifications lost; polling");
                            tokio::time::sleep(POLL).await;
                        },
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
                None => tokio::time::sleep(POLL).await,
            }
        }
    }

    async fn listen(&self) -> Option<sqlx::postgres::PgListener> {
        let url = self.db.connect_options().database_url.to_string();
        let mut l = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; polling every second");
                return None;
            }
        };
        match l.listen(changes::CHANNEL).await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; polling every second");
                None
            }
        }
    }

    /// Reads and applies what is new, and what filled a gap; returns how many new changes came.
    async fn step(&self, cursor: &mut Cursor) -> Result<usize, FollowError> {
        let now = Instant::now();
        let late = if cursor.gaps.is_empty() {
            Vec::new()
        } else {
            let mut q =
                SqlBuilder::new("SELECT seq, kind, target, node, at FROM changes WHERE seq IN (");
            q.push_bind_list(cursor.gaps.keys().copied().take(500));
            q.push(")");
            changes::from_rows(q.build()?.fetch_all(&self.db).await?)?
        };
        let new = changes::since(&self.db, cursor.max_seen, BATCH).await?;
        let before = cursor.done();
        self.apply(late.iter().chain(&new)).await?;
        for c in &late {
            cursor.filled(c.seq);
        }
        cursor.saw_new(&new, now);
        cursor.expire(now);
        let done = cursor.done();
        if done != before {
            write_mark(&self.index_dir, done)?;
        }
        self.state.applied.store(done, Ordering::Relaxed);
        Ok(new.len())
    }

    async fn apply<'c>(&self, batch: impl Iterator<Item = &'c Change>) -> Result<(), FollowError> {
        let me = changes::this_node();
        let mut guides = false;
        let mut cases = BTreeSet::new();
        for c in batch.filter(|c| c.node != me) {
            match c.kind {
                Some(ChangeKind::Guides) => guides = true,
                Some(ChangeKind::Case) => {
                    if let Ok(id) = Uuid::parse_str(&c.target) {
                        cases.insert(id);
                    }
                }
                None => {}
            }
        }
        if guides {
            self.guides.reload().await?;
        }
        // Upserts that run together share the index's next commit.
        let ids: Vec<Uuid> = cases.into_iter().collect();
        for chunk in ids.chunks(64) {
            let done =
                futures_util::future::join_all(chunk.iter().map(|id| self.cases.reindex(id))).await;
            for r in done {
                r?;
            }
        }
        Ok(())
    }
}

/// Where a node starts reading the feed: after what its index holds, or, when the index was
/// just rebuilt or the feed no longer reaches back that far, after `start` (read before the
/// index was opened, so nothing between is missed).
pub async fn starting_point(
    db: &Db,
    index_dir: &Path,
    start: i64,
) -> Result<(i64, bool), FollowError> {
    let Some(mark) = read_mark(index_dir) else {
        return Ok((start, false));
    };
    match changes::oldest(db).await? {
        Some(oldest) if oldest > mark + 1 => Ok((start, true)),
        _ => Ok((mark, false)),
    }
}
