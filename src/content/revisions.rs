//! The guide tables: guides, every revision of each, the browser's published slugs and the
//! content folder's refused files. Plain reads and writes; the rules live in `live.rs`.

use serde::Serialize;
use sqlx::{Any, AnyConnection, Transaction};

use crate::db::Db;
use crate::time::Timestamp;

/// Who made a revision, as people read it: a user's name, `token:…`, or "content folder".
pub const CONTENT_FOLDER: &str = "content folder";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevisionState {
    /// It is, or once was, what readers saw.
    Published,
    /// A suggestion waiting for an editor.
    Pending,
    /// A suggestion an editor declined.
    Declined,
    /// A changed file that met a browser edit; waits for an editor to pick.
    Conflict,
    /// A conflicting file text the editor did not take.
    SetAside,
}

impl RevisionState {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionState::Published => "published",
            RevisionState::Pending => "pending",
            RevisionState::Declined => "declined",
            RevisionState::Conflict => "conflict",
            RevisionState::SetAside => "set-aside",
        }
    }

    fn parse(s: &str) -> RevisionState {
        match s {
            "pending" => RevisionState::Pending,
            "declined" => RevisionState::Declined,
            "conflict" => RevisionState::Conflict,
            "set-aside" => RevisionState::SetAside,
            _ => RevisionState::Published,
        }
    }

    /// What the history page calls it.
    pub fn label(self) -> &'static str {
        match self {
            RevisionState::Published => "published",
            RevisionState::Pending => "suggested, waiting for an editor",
            RevisionState::Declined => "suggestion declined",
            RevisionState::Conflict => "file change waiting: pick one",
            RevisionState::SetAside => "file change not taken",
        }
    }
}

/// How a revision came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Import,
    Edit,
    New,
    Restore,
    Suggestion,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Import => "import",
            Origin::Edit => "edit",
            Origin::New => "new",
            Origin::Restore => "restore",
            Origin::Suggestion => "suggestion",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GuideRow {
    pub id: i64,
    pub slug: String,
    pub current_revision: Option<i64>,
    pub file_path: Option<String>,
    pub file_sha: Option<String>,
    pub imported_revision: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub id: i64,
    pub guide_id: i64,
    pub path: String,
    #[serde(skip)]
    pub text: String,
    pub author: String,
    pub origin: String,
    pub summary: String,
    pub state: RevisionState,
    pub base_revision: Option<i64>,
    pub lines_added: i64,
    pub lines_removed: i64,
    pub created_at: Timestamp,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<Timestamp>,
    pub review_note: Option<String>,
}

impl Revision {
    /// The slug the revision's path gives the guide.
    pub fn slug(&self) -> &str {
        self.path
            .rsplit('/')
            .next()
            .unwrap_or(&self.path)
            .trim_end_matches(".md")
    }
}

type RevisionTuple = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    i64,
    i64,
    Timestamp,
    Option<String>,
    Option<Timestamp>,
    Option<String>,
);

const REVISION_COLUMNS: &str = "id, guide_id, path, text, author, origin, summary, state, \
    base_revision, lines_added, lines_removed, created_at, reviewed_by, reviewed_at, review_note";

fn revision(t: RevisionTuple) -> Revision {
    Revision {
        id: t.0,
        guide_id: t.1,
        path: t.2,
        text: t.3,
        author: t.4,
        origin: t.5,
        summary: t.6,
        state: RevisionState::parse(&t.7),
        base_revision: t.8,
        lines_added: t.9,
        lines_removed: t.10,
        created_at: t.11,
        reviewed_by: t.12,
        reviewed_at: t.13,
        review_note: t.14,
    }
}

type GuideTuple = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn guide_row(t: GuideTuple) -> GuideRow {
    GuideRow {
        id: t.0,
        slug: t.1,
        current_revision: t.2,
        file_path: t.3,
        file_sha: t.4,
        imported_revision: t.5,
    }
}

const GUIDE_COLUMNS: &str = "id, slug, current_revision, file_path, file_sha, imported_revision";

pub async fn guide_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM guides")
        .fetch_one(db)
        .await
}

pub async fn guides(conn: &mut AnyConnection) -> Result<Vec<GuideRow>, sqlx::Error> {
    let rows: Vec<GuideTuple> =
        sqlx::query_as(&format!("SELECT {GUIDE_COLUMNS} FROM guides ORDER BY id"))
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(guide_row).collect())
}

pub async fn guide_by_slug(db: &Db, slug: &str) -> Result<Option<GuideRow>, sqlx::Error> {
    let row: Option<GuideTuple> = sqlx::query_as(&format!(
        "SELECT {GUIDE_COLUMNS} FROM guides WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(db)
    .await?;
    Ok(row.map(guide_row))
}

pub async fn guide_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<GuideRow>, sqlx::Error> {
    let row: Option<GuideTuple> =
        sqlx::query_as(&format!("SELECT {GUIDE_COLUMNS} FROM guides WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(guide_row))
}

/// `(path, text)` of every guide's current revision: what the library is built from.
pub async fn current_sources(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.path, r.text FROM guides g JOIN guide_revisions r ON r.id = g.current_revision",
    )
    .fetch_all(conn)
    .await
}

pub async fn revision_by_id(db: &Db, id: i64) -> Result<Option<Revision>, sqlx::Error> {
    let row: Option<RevisionTuple> = sqlx::query_as(&format!(
        "SELECT {REVISION_COLUMNS} FROM guide_revisions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(revision))
}

/// Every revision of a guide, newest first.
pub async fn history(db: &Db, guide_id: i64) -> Result<Vec<Revision>, sqlx::Error> {
    let rows: Vec<RevisionTuple> = sqlx::query_as(&format!(
        "SELECT {REVISION_COLUMNS} FROM guide_revisions WHERE guide_id = $1 ORDER BY id DESC"
    ))
    .bind(guide_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(revision).collect())
}

/// Revisions in a state across all guides (suggestions and conflicts waiting), oldest first.
pub async fn in_state(db: &Db, state: RevisionState) -> Result<Vec<Revision>, sqlx::Error> {
    let rows: Vec<RevisionTuple> = sqlx::query_as(&format!(
        "SELECT {REVISION_COLUMNS} FROM guide_revisions WHERE state = $1 ORDER BY id"
    ))
    .bind(state.as_str())
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(revision).collect())
}

/// A person's suggestions, newest first, for their account page.
pub async fn suggestions_by(db: &Db, author: &str) -> Result<Vec<Revision>, sqlx::Error> {
    let rows: Vec<RevisionTuple> = sqlx::query_as(&format!(
        "SELECT {REVISION_COLUMNS} FROM guide_revisions WHERE author = $1 AND origin = 'suggestion' \
         ORDER BY id DESC LIMIT 50"
    ))
    .bind(author)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(revision).collect())
}

pub struct NewRevision<'a> {
    pub guide_id: i64,
    pub path: &'a str,
    pub text: &'a str,
    pub author: &'a str,
    pub origin: Origin,
    pub summary: &'a str,
    pub state: RevisionState,
    pub base_revision: Option<i64>,
    pub lines: (i64, i64),
    pub at: Timestamp,
}

pub async fn insert_revision(
    tx: &mut Transaction<'_, Any>,
    r: NewRevision<'_>,
) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar(
        "INSERT INTO guide_revisions (guide_id, path, text, author, origin, summary, state, \
         base_revision, lines_added, lines_removed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(r.guide_id)
    .bind(r.path)
    .bind(r.text)
    .bind(r.author)
    .bind(r.origin.as_str())
    .bind(r.summary)
    .bind(r.state.as_str())
    .bind(r.base_revision)
    .bind(r.lines.0)
    .bind(r.lines.1)
    .bind(r.at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn insert_guide(
    tx: &mut Transaction<'_, Any>,
    slug: &str,
    file: Option<(&str, &str)>,
    at: Timestamp,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO guides (slug, file_path, file_sha, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(slug)
    .bind(file.map(|f| f.0))
    .bind(file.map(|f| f.1))
    .bind(at)
    .fetch_one(&mut **tx)
    .await
}

/// Makes a revision the one readers see, under the slug its path gives.
pub async fn make_current(
    tx: &mut Transaction<'_, Any>,
    guide_id: i64,
    slug: &str,
    revision: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guides SET current_revision = $1, slug = $2 WHERE id = $3")
        .bind(revision)
        .bind(slug)
        .bind(guide_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records what the guide's file held at this import, and the revision it made current.
pub async fn mark_imported(
    tx: &mut Transaction<'_, Any>,
    guide_id: i64,
    file_path: &str,
    file_sha: &str,
    imported_revision: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guides SET file_path = $1, file_sha = $2, \
         imported_revision = COALESCE($3, imported_revision) WHERE id = $4",
    )
    .bind(file_path)
    .bind(file_sha)
    .bind(imported_revision)
    .bind(guide_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_state(
    tx: &mut Transaction<'_, Any>,
    revision: i64,
    state: RevisionState,
    reviewer: &str,
    note: &str,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guide_revisions SET state = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4 \
         WHERE id = $5",
    )
    .bind(state.as_str())
    .bind(reviewer)
    .bind(at)
    .bind(note)
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn published_slugs(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT slug FROM published_slugs ORDER BY added_at, slug")
        .fetch_all(conn)
        .await
}

pub async fn add_published_slug(
    tx: &mut Transaction<'_, Any>,
    slug: &str,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO published_slugs (slug, added_at) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING")
        .bind(slug)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A file under content/ the last import refused.
#[derive(Debug, Clone, Serialize)]
pub struct ImportFault {
    pub path: String,
    pub faults: Vec<String>,
    pub seen_at: Timestamp,
}

pub async fn import_faults(db: &Db) -> Result<Vec<ImportFault>, sqlx::Error> {
    let rows: Vec<(String, String, Timestamp)> =
        sqlx::query_as("SELECT path, faults, seen_at FROM guide_import_faults ORDER BY path")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(path, faults, seen_at)| ImportFault {
            path,
            faults: faults.lines().map(str::to_owned).collect(),
            seen_at,
        })
        .collect())
}

pub async fn set_import_fault(
    tx: &mut Transaction<'_, Any>,
    path: &str,
    sha: &str,
    faults: &str,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guide_import_faults (path, file_sha, faults, seen_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT(path) DO UPDATE SET file_sha = excluded.file_sha, faults = excluded.faults, \
         seen_at = excluded.seen_at",
    )
    .bind(path)
    .bind(sha)
    .bind(faults)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn clear_import_fault(
    tx: &mut Transaction<'_, Any>,
    path: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM guide_import_faults WHERE path = $1")
        .bind(path)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The sha the last import refused for a path, so an unchanged broken file is not re-linted.
pub async fn fault_sha(
    conn: &mut AnyConnection,
    path: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT file_sha FROM guide_import_faults WHERE path = $1")
        .bind(path)
        .fetch_optional(conn)
        .await
}
