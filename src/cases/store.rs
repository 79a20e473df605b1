//! SQL for cases and their photos.

use std::collections::HashSet;

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{Case, CaseRecord, Filer, NewCase, Outcome, PhotoRef, ProcessedPhoto};
use crate::db::Db;

const COLUMNS: &str = "id, guide, created_at, filed_by, site, line, cell, asset, serial, \
    firmware_revision, software_version, parameter_set, io_mapping, verbatim_alarm, alarm_at, \
    hour_meter, part_count, fix_applied, outcome, verified_sister_cell, notes, request_hash, \
    filed_account, filed_from, closed_at, closed_by, updated_at";

fn from_row(r: &SqliteRow) -> Result<(Case, String), sqlx::Error> {
    let id: String = r.try_get("id")?;
    let outcome: String = r.try_get("outcome")?;
    Ok((
        Case {
            id: Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            created_at: r.try_get("created_at")?,
            fields: NewCase {
                guide: r.try_get("guide")?,
                filed_by: r.try_get("filed_by")?,
                site: r.try_get("site")?,
                line: r.try_get("line")?,
                cell: r.try_get("cell")?,
                asset: r.try_get("asset")?,
                serial: r.try_get("serial")?,
                firmware_revision: r.try_get("firmware_revision")?,
                software_version: r.try_get("software_version")?,
                parameter_set: r.try_get("parameter_set")?,
                io_mapping: r.try_get("io_mapping")?,
                verbatim_alarm: r.try_get("verbatim_alarm")?,
                alarm_at: r.try_get("alarm_at")?,
                hour_meter: r.try_get("hour_meter")?,
                part_count: r.try_get("part_count")?,
                fix_applied: r.try_get("fix_applied")?,
                outcome: Outcome::parse(&outcome).unwrap_or(Outcome::NotFixed),
                verified_sister_cell: r.try_get("verified_sister_cell")?,
                notes: r.try_get("notes")?,
            },
            photos: Vec::new(),
            record: CaseRecord {
                filed_account: r.try_get("filed_account")?,
                filed_from: r.try_get("filed_from")?,
                closed_at: r.try_get("closed_at")?,
                closed_by: r.try_get("closed_by")?,
                updated_at: r.try_get("updated_at")?,
            },
        },
        r.try_get("request_hash")?,
    ))
}

async fn attach_photos(db: &Db, cases: &mut [Case]) -> Result<(), sqlx::Error> {
    for c in cases.iter_mut() {
        let rows = sqlx::query(
            "SELECT sha256, width, height FROM case_photos WHERE case_id = ? ORDER BY position",
        )
        .bind(c.id.to_string())
        .fetch_all(db)
        .await?;
        c.photos = rows
            .iter()
            .map(|r| {
                Ok(PhotoRef {
                    id: r.try_get("sha256")?,
                    width: r.try_get::<i64, _>("width")? as u32,
                    height: r.try_get::<i64, _>("height")? as u32,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
    }
    Ok(())
}

/// The case filed with this idempotency key, with the hash of the request that filed it.
pub async fn find_by_key(db: &Db, key: &str) -> Result<Option<(Case, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM cases WHERE idempotency_key = ?"
    ))
    .bind(key)
    .fetch_optional(db)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let (case, hash) = from_row(&r)?;
            let mut one = [case];
            attach_photos(db, &mut one).await?;
            let [case] = one;
            Ok(Some((case, hash)))
        }
    }
}

/// Binds a case's fields in the order of `guide, filed_by, …, notes` (the column order of
/// both the insert and the update).
fn bind_fields<'q>(
    q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    case: &'q NewCase,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    q.bind(&case.guide)
        .bind(&case.filed_by)
        .bind(&case.site)
        .bind(&case.line)
        .bind(&case.cell)
        .bind(&case.asset)
        .bind(&case.serial)
        .bind(&case.firmware_revision)
        .bind(&case.software_version)
        .bind(&case.parameter_set)
        .bind(&case.io_mapping)
        .bind(&case.verbatim_alarm)
        .bind(&case.alarm_at)
        .bind(case.hour_meter)
        .bind(case.part_count)
        .bind(&case.fix_applied)
        .bind(case.outcome.as_str())
        .bind(&case.verified_sister_cell)
        .bind(&case.notes)
}

/// Inserts the case and its photo rows in one transaction. `None` when the idempotency key
/// was taken meanwhile.
pub async fn insert(
    db: &Db,
    case: &NewCase,
    photos: &[ProcessedPhoto],
    key: &str,
    request_hash: &str,
    filer: &Filer,
) -> Result<Option<Case>, super::CaseError> {
    let id = Uuid::now_v7();
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut tx = db.begin().await?;
    let inserted = bind_fields(
        sqlx::query(
            "INSERT INTO cases (id, created_at, guide, filed_by, site, line, cell, asset, serial, \
             firmware_revision, software_version, parameter_set, io_mapping, verbatim_alarm, \
             alarm_at, hour_meter, part_count, fix_applied, outcome, verified_sister_cell, notes, \
             idempotency_key, request_hash, filed_account, filed_from) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(&created_at),
        case,
    )
    .bind(key)
    .bind(request_hash)
    .bind(&filer.account)
    .bind(&filer.addr)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    for (i, p) in photos.iter().enumerate() {
        sqlx::query(
            "INSERT INTO case_photos (case_id, position, sha256, width, height, bytes) VALUES (?, ?, ?, ?, ?, ?)",
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
        record: CaseRecord {
            filed_account: filer.account.clone(),
            filed_from: filer.addr.clone(),
            ..CaseRecord::default()
        },
    }))
}

pub async fn get(db: &Db, id: &Uuid) -> Result<Option<Case>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM cases WHERE id = ?"))
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut one = [from_row(&row)?.0];
    attach_photos(db, &mut one).await?;
    let [case] = one;
    Ok(Some(case))
}

/// What a case list may be narrowed to. `guide = Some("none")` means cases without a guide.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub guide: Option<String>,
    /// Slugs of the guides of one platform.
    pub platform_guides: Option<Vec<String>>,
    pub site: Option<String>,
    pub line: Option<String>,
    pub cell: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive lower bound on `created_at` (RFC 3339 or a date).
    pub since: Option<String>,
    /// Exclusive upper bound on `created_at`.
    pub until: Option<String>,
    /// Keyset cursor: cases strictly older than this `(created_at, id)`.
    pub before: Option<(String, String)>,
}

fn push_filter(q: &mut QueryBuilder<'_, Sqlite>, f: &CaseFilter) {
    q.push(" WHERE 1 = 1");
    match f.guide.as_deref() {
        Some("none") => {
            q.push(" AND guide IS NULL");
        }
        Some(g) => {
            q.push(" AND guide = ").push_bind(g.to_string());
        }
        None => {}
    }
    if let Some(slugs) = &f.platform_guides {
        q.push(" AND guide IN (");
        let mut sep = q.separated(", ");
        sep.push_bind("");
        for s in slugs {
            sep.push_bind(s.clone());
        }
        q.push(")");
    }
    for (col, v) in [("site", &f.site), ("line", &f.line), ("cell", &f.cell)] {
        if let Some(v) = v {
            q.push(format!(" AND {col} = ")).push_bind(v.clone());
        }
    }
    if let Some(o) = f.outcome {
        q.push(" AND outcome = ").push_bind(o.as_str());
    }
    if let Some(s) = &f.since {
        q.push(" AND created_at >= ").push_bind(s.clone());
    }
    if let Some(u) = &f.until {
        q.push(" AND created_at < ").push_bind(u.clone());
    }
    if let Some((at, id)) = &f.before {
        q.push(" AND (created_at < ")
            .push_bind(at.clone())
            .push(" OR (created_at = ")
            .push_bind(at.clone())
            .push(" AND id < ")
            .push_bind(id.clone())
            .push("))");
    }
}

/// Newest first.
pub async fn list(db: &Db, f: &CaseFilter, limit: usize) -> Result<Vec<Case>, sqlx::Error> {
    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM cases"));
    push_filter(&mut q, f);
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(limit as i64);
    let rows = q.build().fetch_all(db).await?;
    let mut cases = rows
        .iter()
        .map(|r| from_row(r).map(|(c, _)| c))
        .collect::<Result<Vec<_>, _>>()?;
    attach_photos(db, &mut cases).await?;
    Ok(cases)
}

pub async fn count(db: &Db, f: &CaseFilter) -> Result<i64, sqlx::Error> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM cases");
    push_filter(&mut q, f);
    q.build().fetch_one(db).await?.try_get(0)
}

/// Every case, for rebuilding the search index.
pub async fn all(db: &Db) -> Result<Vec<Case>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM cases"))
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| from_row(r).map(|(c, _)| c)).collect()
}

pub async fn photo_referenced(db: &Db, sha: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 FROM case_photos WHERE sha256 = ? LIMIT 1")
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
}

pub async fn guide_record(db: &Db, slug: &str) -> Result<GuideRecord, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(outcome = 'fixed'), 0), MAX(created_at) FROM cases WHERE guide = ?",
    )
    .bind(slug)
    .fetch_one(db)
    .await?;
    let firmware = sqlx::query(
        "SELECT DISTINCT firmware_revision FROM cases \
         WHERE guide = ? AND outcome = 'fixed' AND firmware_revision <> '' ORDER BY firmware_revision",
    )
    .bind(slug)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let top_cells = sqlx::query(
        "SELECT TRIM(line || ' ' || cell), COUNT(*) AS n FROM cases \
         WHERE guide = ? AND (line <> '' OR cell <> '') GROUP BY line, cell ORDER BY n DESC, 1 LIMIT 5",
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
        firmware,
        top_cells,
    })
}

/// Attaches a case to a guide (or detaches it with `None`); false when there is no such case.
pub async fn set_guide(db: &Db, id: &Uuid, guide: Option<&str>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE cases SET guide = ? WHERE id = ?")
        .bind(guide)
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Rewrites a case's fields; false when there is no such case.
pub async fn update(db: &Db, id: &Uuid, case: &NewCase) -> Result<bool, sqlx::Error> {
    let done = bind_fields(
        sqlx::query(
            "UPDATE cases SET guide = ?, filed_by = ?, site = ?, line = ?, cell = ?, asset = ?, \
             serial = ?, firmware_revision = ?, software_version = ?, parameter_set = ?, \
             io_mapping = ?, verbatim_alarm = ?, alarm_at = ?, hour_meter = ?, part_count = ?, \
             fix_applied = ?, outcome = ?, verified_sister_cell = ?, notes = ?, updated_at = ? \
             WHERE id = ?",
        ),
        case,
    )
    .bind(now_rfc3339())
    .bind(id.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_closed(db: &Db, id: &Uuid, closed: bool, by: &str) -> Result<bool, sqlx::Error> {
    let (at, by) = if closed {
        (Some(now_rfc3339()), by)
    } else {
        (None, "")
    };
    let done =
        sqlx::query("UPDATE cases SET closed_at = ?, closed_by = ?, updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(by)
            .bind(now_rfc3339())
            .bind(id.to_string())
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}
