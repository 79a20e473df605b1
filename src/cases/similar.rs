//! Earlier cases with the same alarm, for the tech filing a new one: what fixed it last time,
//! on this cell first. Cases meet on an alarm key kept in its own indexed column, so the lookup
//! is two index range scans whatever the number of cases.

use serde::Serialize;
use sqlx::Row;

use super::Outcome;
use crate::db::Db;
use crate::search::{classic, status};
use crate::time::Timestamp;

/// How many earlier cases the form shows.
pub const SHOWN: usize = 3;
/// Rows filled per transaction when old cases get their key at start.
const BACKFILL_BATCH: usize = 500;
/// Longest text key kept; longer first lines are cut here (at a character boundary).
const TEXT_KEY_MAX: usize = 200;

/// What two sightings of one fault have in common.
///
/// A recognised OPC UA status code or OPC Classic/Windows code wins, in whatever notation or
/// stack spelling it was pasted (`0x80AC0000`, `Bad_ConnectionRejected`, `OpcUa_BadConnectionRejected`
/// are one key). Otherwise the first non-empty line, lower-cased, with whitespace collapsed and
/// a leading log timestamp or bracketed level dropped, since those differ on every sighting.
pub fn alarm_key(verbatim: &str) -> String {
    if let Some(code) = status::table().find_in(verbatim) {
        return format!("ua:{}", code.hex());
    }
    if let Some(code) = classic::table().find_in(verbatim).first() {
        return format!("win:{}", code.hex());
    }
    let line = verbatim
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let words: Vec<String> = line
        .split_whitespace()
        .skip_while(|w| is_log_prefix(w))
        .map(str::to_lowercase)
        .collect();
    let mut key = format!("text:{}", words.join(" "));
    if key.len() > TEXT_KEY_MAX {
        let mut end = TEXT_KEY_MAX;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

/// A timestamp piece (`2026-11-30`, `02:14:07.113Z`, `[12:01]`) or a bracketed level (`[ERROR]`).
fn is_log_prefix(word: &str) -> bool {
    let bracketed = word.starts_with('[') && word.ends_with(']') && word.len() > 2;
    let stamp = word.chars().any(|c| c.is_ascii_digit())
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || "-:/.,+TZ[]()".contains(c));
    bracketed || stamp
}

/// An earlier case as the form shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarCase {
    pub id: String,
    pub url: String,
    pub created_at: Timestamp,
    pub alarm: String,
    pub site: String,
    pub line: String,
    pub cell: String,
    pub asset: String,
    pub guide: Option<String>,
    pub fix_applied: String,
    pub outcome: Outcome,
    pub outcome_label: &'static str,
    /// Filed on the cell the tech picked.
    pub same_cell: bool,
}

/// What the form asks about: the alarm as typed so far, and the cell if picked.
#[derive(Debug, Clone, Default)]
pub struct SimilarQuery<'a> {
    pub alarm: &'a str,
    pub cell: &'a str,
    /// A case not to show (the one being corrected).
    pub exclude: Option<&'a str>,
}

const COLUMNS: &str =
    "id, created_at, verbatim_alarm, site, line, cell, asset, guide, fix_applied, outcome";

fn similar_of(r: &sqlx::any::AnyRow, cell: &str) -> Result<SimilarCase, sqlx::Error> {
    let id: String = r.try_get("id")?;
    let alarm: String = r.try_get("verbatim_alarm")?;
    let row_cell: String = r.try_get("cell")?;
    let outcome: Outcome = r.try_get("outcome")?;
    Ok(SimilarCase {
        url: format!("/cases/{id}"),
        id,
        created_at: r.try_get("created_at")?,
        alarm: first_line(&alarm),
        site: r.try_get("site")?,
        line: r.try_get("line")?,
        same_cell: !cell.is_empty() && row_cell == cell,
        cell: row_cell,
        asset: r.try_get("asset")?,
        guide: r.try_get("guide")?,
        fix_applied: r.try_get("fix_applied")?,
        outcome_label: outcome.label(),
        outcome,
    })
}

fn first_line(alarm: &str) -> String {
    let line = alarm
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut t: String = line.chars().take(120).collect();
    if line.chars().count() > 120 {
        t.push('…');
    }
    t
}

/// Up to three earlier cases with the same alarm key: the picked cell's newest first, then the
/// newest elsewhere. Nothing for an alarm too short to mean anything.
pub async fn find(db: &Db, q: &SimilarQuery<'_>) -> Result<Vec<SimilarCase>, sqlx::Error> {
    if q.alarm.trim().chars().count() < 3 {
        return Ok(Vec::new());
    }
    let key = alarm_key(q.alarm);
    let cell = q.cell.trim();
    let exclude = q.exclude.unwrap_or("");
    let mut found = Vec::with_capacity(SHOWN);
    if !cell.is_empty() {
        let sql = format!(
            "SELECT {COLUMNS} FROM cases WHERE alarm_key = $1 AND cell = $2 AND id <> $3 \
             ORDER BY created_at DESC LIMIT $4"
        );
        for r in sqlx::query(&sql)
            .bind(&key)
            .bind(cell)
            .bind(exclude)
            .bind(SHOWN as i64)
            .fetch_all(db)
            .await?
        {
            found.push(similar_of(&r, cell)?);
        }
    }
    if found.len() < SHOWN {
        let sql = format!(
            "SELECT {COLUMNS} FROM cases WHERE alarm_key = $1 AND cell <> $2 AND id <> $3 \
             ORDER BY created_at DESC LIMIT $4"
        );
        for r in sqlx::query(&sql)
            .bind(&key)
            .bind(cell)
            .bind(exclude)
            .bind((SHOWN - found.len()) as i64)
            .fetch_all(db)
            .await?
        {
            found.push(similar_of(&r, cell)?);
        }
    }
    Ok(found)
}

/// Gives every case filed before alarm keys existed its key; returns how many were filled.
pub async fn backfill_keys(db: &Db) -> Result<usize, sqlx::Error> {
    let mut filled = 0;
    loop {
        let rows =
            sqlx::query("SELECT id, verbatim_alarm FROM cases WHERE alarm_key IS NULL LIMIT $1")
                .bind(BACKFILL_BATCH as i64)
                .fetch_all(db)
                .await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut tx = db.begin().await?;
        for r in &rows {
            let id: String = r.try_get("id")?;
            let alarm: String = r.try_get("verbatim_alarm")?;
            sqlx::query("UPDATE cases SET alarm_key = $1 WHERE id = $2")
                .bind(alarm_key(&alarm))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        filled += rows.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_code_in_any_notation_is_one_key() {
        let k = alarm_key("Bad_ConnectionRejected");
        assert_eq!(k, "ua:0x80AC0000");
        assert_eq!(alarm_key("status 0x80ac0000 on connect"), k);
        assert_eq!(alarm_key("OpcUa_BadConnectionRejected"), k);
        assert_eq!(alarm_key("2158755840"), k);
    }

    #[test]
    fn windows_codes_have_their_own_keys() {
        let k = alarm_key("CoCreateInstanceEx failed: 0x80070005");
        assert_eq!(k, alarm_key("E_ACCESSDENIED"));
        assert!(k.starts_with("win:"), "{k}");
    }

    #[test]
    fn text_keys_drop_the_log_timestamp_and_case() {
        let a = alarm_key("2026-11-30 02:14:07.113 [ERROR] Drive 3 overtemperature\nmore");
        let b = alarm_key("  drive 3   OVERTEMPERATURE ");
        assert_eq!(a, b);
        assert_eq!(a, "text:drive 3 overtemperature");
        assert_ne!(alarm_key("Drive 4 overtemperature"), a);
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        let k = alarm_key(&"é".repeat(400));
        assert!(k.len() <= TEXT_KEY_MAX);
    }
}
