//! SQL for cases and their photos. Column lists and binds come from the field table
//! (`fields::FIELDS`), rows come back through `sqlx::FromRow`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use sqlx::Row;

use crate::db::changes::{self, ChangeKind};
use crate::db::SqlBuilder;
use uuid::Uuid;

use super::fields::{assignment_list, column_list, FIELDS};
use super::{Case, CaseRecord, Filer, NewCase, Outcome, PhotoRef, ProcessedPhoto, RECORD_COLUMNS};
use crate::db::Db;
use crate::time::Timestamp;

/// Every column a `Case` is read from.
pub(crate) static SELECT_LIST: LazyLock<String> =
    LazyLock::new(|| format!("id, created_at, {}, {RECORD_COLUMNS}", column_list("")));

/// A case with the hash of the request that filed it.
#[derive(sqlx::FromRow)]
struct KeyedCase {
    #[sqlx(flatten)]
    case: Case,
    request_hash: String,
}

/// Reads the photos of all these cases in one query and hands each case its own, in order.
async fn attach_photos(db: &Db, cases: &mut [Case]) -> Result<(), sqlx::Error> {
    if cases.is_empty() {
        return Ok(());
    }
    let mut q = SqlBuilder::new(
        "SELECT case_id, sha256, width, height FROM case_photos WHERE case_id IN (",
    );
    q.push_bind_list(cases.iter().map(|c| c.id.to_string()));
    q.push(") ORDER BY case_id, position");
    let mut by_case: HashMap<String, Vec<PhotoRef>> = HashMap::new();
    for r in q.build()?.fetch_all(db).await? {
        by_case
            .entry(r.try_get("case_id")?)
            .or_default()
            .push(PhotoRef {
                id: r.try_get("sha256")?,
                width: u32::try_from(r.try_get::<i64, _>("width")?).unwrap_or(0),
                height: u32::try_from(r.try_get::<i64, _>("height")?).unwrap_or(0),
            });
    }
    for c in cases.iter_mut() {
        c.photos = by_case.remove(&c.id.to_string()).unwrap_or_default();
    }
    Ok(())
}

/// The case filed with this idempotency key, with the hash of the request that filed it.
pub async fn find_by_key(db: &Db, key: &str) -> Result<Option<(Case, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT {}, request_hash FROM cases WHERE idempotency_key = $1",
        *SELECT_LIST
    );
    let Some(KeyedCase { case, request_hash }) = sqlx::query_as::<_, KeyedCase>(&sql)
        .bind(key)
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((with_photos(db, case).await?, request_hash)))
}

/// A case to store, with everything that goes in the same transaction.
pub struct Insert<'a> {
    pub case: &'a NewCase,
    pub checks: &'a [super::VerifyCheck],
    pub photos: &'a [ProcessedPhoto],
    pub key: &'a str,
    pub request_hash: &'a str,
    pub filer: &'a Filer,
}

/// Inserts the case, its checklist and its photo rows in one transaction. `None` when the
/// idempotency key was taken meanwhile.
pub async fn insert(db: &Db, new: Insert<'_>) -> Result<Option<Case>, super::CaseError> {
    let Insert {
        case,
        checks,
        photos,
        key,
        request_hash,
        filer,
    } = new;
    let id = Uuid::now_v7();
    let created_at = Timestamp::now();
    let placeholders = (1..=FIELDS.len() + 7)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO cases (id, created_at, {}, idempotency_key, request_hash, filed_account, \
         filed_from, alarm_key) VALUES ({placeholders}) ON CONFLICT (idempotency_key) DO NOTHING",
        column_list("")
    );
    let mut tx = db.begin().await?;
    let inserted = case
        .bind_all(sqlx::query(&sql).bind(id.to_string()).bind(created_at))
        .bind(key)
        .bind(request_hash)
        .bind(&filer.account)
        .bind(&filer.addr)
        .bind(super::similar::alarm_key(&case.verbatim_alarm))
        .execute(&mut *tx)
        .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    super::checks::insert(&mut tx, &id, checks).await?;
    for (i, p) in photos.iter().enumerate() {
        sqlx::query(
            "INSERT INTO case_photos (case_id, position, sha256, width, height, bytes) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(i as i64)
        .bind(&p.sha256)
        .bind(i64::from(p.width))
        .bind(i64::from(p.height))
        .bind(p.jpeg.len() as i64)
        .execute(&mut *tx)
        .await?;
    }
    changes::record(
        &mut tx,
        ChangeKind::Case,
        &id.to_string(),
        changes::this_node(),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Case {
        id,
        created_at,
        fields: case.clone(),
        photos: photos
            .iter()
            .map(|p| PhotoRef {
                id: p.sha256.clone(),
                width: p.width,
                height: p.height,
            })
            .collect(),
        checks: checks.to_vec(),
        record: CaseRecord {
            filed_account: filer.account.clone(),
            filed_from: filer.addr.clone(),
            ..CaseRecord::default()
        },
    }))
}

/// A single case with its photos and its Verify checklist.
async fn with_photos(db: &Db, case: Case) -> Result<Case, sqlx::Error> {
    let mut one = [case];
    attach_photos(db, &mut one).await?;
    let [mut case] = one;
    case.checks = super::checks::of_case(db, &case.id).await?;
    Ok(case)
}

pub async fn get(db: &Db, id: &Uuid) -> Result<Option<Case>, sqlx::Error> {
    let sql = format!("SELECT {} FROM cases WHERE id = $1", *SELECT_LIST);
    let Some(case) = sqlx::query_as::<_, Case>(&sql)
        .bind(id.to_string())
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(with_photos(db, case).await?))
}

/// Which guide's cases a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GuideFilter {
    #[default]
    Any,
    /// Cases filed when no guide fitted yet (`guide=none` in a URL).
    Unsorted,
    Guide(String),
}

impl GuideFilter {
    /// The URL word for the Unsorted list.
    pub const UNSORTED_PARAM: &'static str = "none";

    /// From a `guide` URL parameter: empty is any guide, `none` the Unsorted list, else a slug.
    pub fn from_param(p: Option<&str>) -> GuideFilter {
        match p.map(str::trim).filter(|p| !p.is_empty()) {
            None => GuideFilter::Any,
            Some(Self::UNSORTED_PARAM) => GuideFilter::Unsorted,
            Some(slug) => GuideFilter::Guide(slug.to_string()),
        }
    }

    /// The `guide` URL parameter that selects this list again.
    pub fn as_param(&self) -> &str {
        match self {
            GuideFilter::Any => "",
            GuideFilter::Unsorted => Self::UNSORTED_PARAM,
            GuideFilter::Guide(slug) => slug,
        }
    }
}

/// What a case list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub guide: GuideFilter,
    /// Slugs of the guides of one platform.
    pub platform_guides: Option<Vec<String>>,
    pub site: Option<String>,
    pub line: Option<String>,
    pub cell: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive lower bound on `created_at`.
    pub since: Option<Timestamp>,
    /// Exclusive upper bound on `created_at`.
    pub until: Option<Timestamp>,
    /// Keyset cursor: cases strictly older than this `(created_at, id)`.
    pub before: Option<(Timestamp, String)>,
    /// Words that must each appear (any case) in the alarm, the fix, the notes, the asset,
    /// the serial or the filer's name.
    pub words: Vec<String>,
}

/// The columns a text search in the case list looks in.
const TEXT_COLUMNS: [&str; 6] = [
    "verbatim_alarm",
    "fix_applied",
    "notes",
    "asset",
    "serial",
    "filed_by",
];

/// A LIKE pattern that finds `word` anywhere, its `%`, `_` and `\` taken literally.
pub fn like_pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 2);
    p.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl CaseFilter {
    /// The cases of one guide.
    pub fn for_guide(slug: &str) -> CaseFilter {
        CaseFilter {
            guide: GuideFilter::Guide(slug.to_string()),
            ..CaseFilter::default()
        }
    }
}

fn push_filter(q: &mut SqlBuilder<'_>, f: &CaseFilter) {
    q.push(" WHERE 1 = 1");
    match &f.guide {
        GuideFilter::Any => {}
        GuideFilter::Unsorted => {
            q.push(" AND guide IS NULL");
        }
        GuideFilter::Guide(g) => {
            q.push(" AND guide = ").push_bind(g.clone());
        }
    }
    if let Some(slugs) = &f.platform_guides {
        q.push(" AND guide IN (");
        q.push_bind_list(std::iter::once(String::new()).chain(slugs.iter().cloned()));
        q.push(")");
    }
    for (col, v) in [("site", &f.site), ("line", &f.line), ("cell", &f.cell)] {
        if let Some(v) = v {
            q.push(format!(" AND {col} = ")).push_bind(v.clone());
        }
    }
    if let Some(o) = f.outcome {
        q.push(" AND outcome = ").push_bind(o);
    }
    for word in &f.words {
        let pattern = like_pattern(word);
        q.push(" AND (");
        for (i, col) in TEXT_COLUMNS.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            q.push(format!("lower({col}) LIKE lower("))
                .push_bind(pattern.clone())
                .push(") ESCAPE '\\'");
        }
        q.push(")");
    }
    if let Some(s) = f.since {
        q.push(" AND created_at >= ").push_bind(s);
    }
    if let Some(u) = f.until {
        q.push(" AND created_at < ").push_bind(u);
    }
    if let Some((at, id)) = &f.before {
        q.push(" AND (created_at < ")
            .push_bind(*at)
            .push(" OR (created_at = ")
            .push_bind(*at)
            .push(" AND id < ")
            .push_bind(id.clone())
            .push("))");
    }
}

/// Newest first, each with its photos.
pub async fn list(db: &Db, f: &CaseFilter, limit: usize) -> Result<Vec<Case>, sqlx::Error> {
    let mut q = SqlBuilder::new(format!("SELECT {} FROM cases", *SELECT_LIST));
    push_filter(&mut q, f);
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(limit as i64);
    let mut cases: Vec<Case> = q.build_query_as()?.fetch_all(db).await?;
    attach_photos(db, &mut cases).await?;
    Ok(cases)
}

/// A case as the CSV export reads it: the photo ids come along, space-separated.
#[derive(sqlx::FromRow)]
pub struct ExportRow {
    #[sqlx(flatten)]
    pub case: Case,
    pub photo_ids: Option<String>,
}

/// The query behind the CSV export, newest first, photos folded into each row so the export
/// reads one row at a time.
pub fn export_query(f: &CaseFilter) -> SqlBuilder<'static> {
    let mut q = SqlBuilder::new(format!(
        "SELECT {}, (SELECT string_agg(sha256, ' ' ORDER BY position) FROM case_photos \
         WHERE case_id = cases.id) AS photo_ids FROM cases",
        *SELECT_LIST
    ));
    push_filter(&mut q, f);
    q.push(" ORDER BY created_at DESC, id DESC");
    q
}

pub async fn count(db: &Db, f: &CaseFilter) -> Result<i64, sqlx::Error> {
    let mut q = SqlBuilder::new("SELECT COUNT(*) FROM cases");
    push_filter(&mut q, f);
    q.build()?.fetch_one(db).await?.try_get(0)
}

/// How many cases the database holds.
pub async fn count_all(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(db)
        .await
}

/// Every case (without photos), for rebuilding the search index.
pub async fn all(db: &Db) -> Result<Vec<Case>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {} FROM cases", *SELECT_LIST))
        .fetch_all(db)
        .await
}

pub async fn photo_referenced(db: &Db, sha: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 FROM case_photos WHERE sha256 = $1 LIMIT 1")
            .bind(sha)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}

pub async fn referenced_photos(db: &Db) -> Result<HashSet<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT DISTINCT sha256 FROM case_photos")
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// A guide's track record on this plant.
#[derive(Debug, Clone, Default)]
pub struct GuideRecord {
    pub total: i64,
    pub fixed: i64,
    /// Firmware revisions on which the fix was confirmed (outcome fixed).
    pub firmware: Vec<String>,
    /// Cells it hit most, with counts.
    pub top_cells: Vec<(String, i64)>,
    pub last_seen: Option<String>,
    /// When a case here last ended fixed.
    pub last_fixed: Option<Timestamp>,
    /// How often each of the guide's Verify steps was confirmed (filled by `checks::tally`).
    pub verify: Vec<super::checks::StepTally>,
}

impl GuideRecord {
    /// Some case was offered the Verify checklist in the guide's current wording.
    pub fn has_verify_record(&self) -> bool {
        self.verify.iter().any(|t| t.offered > 0)
    }
}

pub async fn guide_record(db: &Db, slug: &str) -> Result<GuideRecord, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN outcome = 'fixed' THEN 1 ELSE 0 END), 0) AS BIGINT), \
         MAX(created_at), \
         MAX(CASE WHEN outcome = 'fixed' THEN created_at END) FROM cases WHERE guide = $1",
    )
    .bind(slug)
    .fetch_one(db)
    .await?;
    let firmware = sqlx::query(
        "SELECT DISTINCT firmware_revision FROM cases \
         WHERE guide = $1 AND outcome = 'fixed' AND firmware_revision <> '' ORDER BY firmware_revision",
    )
    .bind(slug)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let top_cells = sqlx::query(
        "SELECT TRIM(line || ' ' || cell), COUNT(*) AS n FROM cases \
         WHERE guide = $1 AND (line <> '' OR cell <> '') GROUP BY line, cell ORDER BY n DESC, 1 LIMIT 5",
    )
    .bind(slug)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    Ok(GuideRecord {
        total: row.try_get(0)?,
        fixed: row.try_get(1)?,
        last_seen: row.try_get(2)?,
        last_fixed: row.try_get(3)?,
        firmware,
        top_cells,
        verify: Vec::new(),
    })
}

/// Runs one UPDATE of a case and, when it changed a row, records the change for the other
/// nodes in the same transaction; false when there is no such case.
async fn update_case<'q>(
    db: &Db,
    id: &Uuid,
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let changed = q.execute(&mut *tx).await?.rows_affected() == 1;
    if changed {
        changes::record(
            &mut tx,
            ChangeKind::Case,
            &id.to_string(),
            changes::this_node(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Attaches a case to a guide (or detaches it with `None`); false when there is no such case.
pub async fn set_guide(db: &Db, id: &Uuid, guide: Option<&str>) -> Result<bool, sqlx::Error> {
    let q = sqlx::query("UPDATE cases SET guide = $1 WHERE id = $2")
        .bind(guide)
        .bind(id.to_string());
    update_case(db, id, q).await
}

/// Rewrites a case's fields; false when there is no such case.
pub async fn update(db: &Db, id: &Uuid, case: &NewCase) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "UPDATE cases SET {}, updated_at = ${}, alarm_key = ${} WHERE id = ${}",
        assignment_list(),
        FIELDS.len() + 1,
        FIELDS.len() + 2,
        FIELDS.len() + 3,
    );
    let q = case
        .bind_all(sqlx::query(&sql))
        .bind(Timestamp::now())
        .bind(super::similar::alarm_key(&case.verbatim_alarm))
        .bind(id.to_string());
    update_case(db, id, q).await
}

pub async fn set_closed(db: &Db, id: &Uuid, closed: bool, by: &str) -> Result<bool, sqlx::Error> {
    let now = Timestamp::now();
    let (at, by) = if closed { (Some(now), by) } else { (None, "") };
    let q = sqlx::query(
        "UPDATE cases SET closed_at = $1, closed_by = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(at)
    .bind(by)
    .bind(now)
    .bind(id.to_string());
    update_case(db, id, q).await
}

/// A filer's addition to their case, as `add_to_case` writes it.
pub struct Addition<'a> {
    pub outcome: Option<Outcome>,
    /// The whole notes field, the new note appended.
    pub notes: Option<&'a str>,
    pub photos: &'a [ProcessedPhoto],
    pub key: &'a str,
    pub actor: &'a str,
    pub detail: &'a str,
    pub at: Timestamp,
}

/// Applies an addition in one transaction; false when its key was used before (nothing changes).
pub async fn add_to_case(db: &Db, id: &Uuid, a: &Addition<'_>) -> Result<bool, sqlx::Error> {
    let id = id.to_string();
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO case_updates (idempotency_key, case_id, at, actor, detail) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(a.key)
    .bind(&id)
    .bind(a.at)
    .bind(a.actor)
    .bind(a.detail)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "UPDATE cases SET outcome = COALESCE($1, outcome), notes = COALESCE($2, notes), updated_at = $3 \
         WHERE id = $4",
    )
    .bind(a.outcome)
    .bind(a.notes)
    .bind(a.at)
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    for p in a.photos {
        sqlx::query(
            "INSERT INTO case_photos (case_id, position, sha256, width, height, bytes) VALUES \
             ($1, (SELECT COALESCE(MAX(position) + 1, 0) FROM case_photos WHERE case_id = $2), $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&id)
        .bind(&p.sha256)
        .bind(i64::from(p.width))
        .bind(i64::from(p.height))
        .bind(p.jpeg.len() as i64)
        .execute(&mut *tx)
        .await?;
    }
    changes::record(&mut tx, ChangeKind::Case, &id, changes::this_node()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Unsorted cases whose alarm is the same fault as `verbatim` (see `similar::alarm_key`), newest
/// first: what a new guide made from one of them could take in too.
pub async fn unsorted_same_alarm(
    db: &Db,
    verbatim: &str,
    except: &Uuid,
    limit: usize,
) -> Result<Vec<Case>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM cases WHERE alarm_key = $1 AND guide IS NULL AND id <> $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3",
        *SELECT_LIST
    );
    sqlx::query_as::<_, Case>(&sql)
        .bind(super::similar::alarm_key(verbatim))
        .bind(except.to_string())
        .bind(limit as i64)
        .fetch_all(db)
        .await
}
