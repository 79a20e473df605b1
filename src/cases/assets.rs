//! One asset's history: its cases over time with what it ran (firmware, software, parameter
//! set), and what changed between any two of them, by default since the last good run.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use uuid::Uuid;

use super::{Case, Outcome};
use crate::db::Db;

/// A history lists at most this many cases, the newest.
pub const HISTORY_MAX: usize = 500;

/// Everything but unreserved characters is escaped, so an asset named `Line 2/PLC` stays one
/// path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The canonical path of an asset's history.
pub fn url(asset: &str) -> String {
    format!("/assets/{}", utf8_percent_encode(asset, SEGMENT))
}

/// The path of a diff between two cases of an asset.
pub fn diff_url(asset: &str, from: &Uuid, to: &Uuid) -> String {
    format!("{}/diff?from={from}&to={to}", url(asset))
}

/// An asset's cases, newest first, and how many there are in all.
#[derive(Debug, Clone)]
pub struct History {
    pub asset: String,
    pub total: i64,
    pub cases: Vec<Case>,
}

/// Which cases belong to an asset: the name as typed, ignoring ASCII capitals (techs write
/// `plc-4` and `PLC-4` for one controller). `lower()` rather than SQLite's `COLLATE NOCASE`, so
/// that PostgreSQL runs the same text; both have an index on it. The asset is always `$1`.
const ASSET_MATCH: &str = "lower(asset) = lower($1)";

/// An asset's history; an asset no case names is an error.
pub async fn history(db: &Db, asset: &str) -> Result<History, AssetError> {
    let asset = asset.trim();
    if asset.is_empty() {
        return Err(AssetError::NoName);
    }
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM cases WHERE {ASSET_MATCH}"))
        .bind(asset)
        .fetch_one(db)
        .await?;
    let cases = newest(db, asset, HISTORY_MAX).await?;
    let Some(first) = cases.first() else {
        return Err(AssetError::NoSuchAsset(asset.to_string()));
    };
    Ok(History {
        asset: first.fields.asset.clone(),
        total,
        cases,
    })
}

/// How a diff's `from` case was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Both cases were named.
    Chosen,
    /// The latest case that ended fixed before `to`: the last good run.
    LastGood,
    /// No case ended fixed before `to`, so the one just before it.
    Previous,
    /// `to` is the asset's first case: nothing to compare with.
    Nothing,
}

/// One changed (or unchanged) line of a multi-line field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// `equal`, `delete` or `insert`.
    pub op: &'static str,
    /// 1-based line numbers in the older and newer text.
    pub old_no: Option<usize>,
    pub new_no: Option<usize>,
    pub text: String,
}

/// One field compared between two cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    pub field: &'static str,
    pub label: &'static str,
    pub changed: bool,
    pub old: String,
    pub new: String,
    /// For multi-line fields: the changed stretches, each with three lines of context around it.
    pub hunks: Vec<Vec<Line>>,
}

/// The fields compared, with their labels, and whether they are compared line by line.
pub const COMPARED: [(&str, &str, bool); 4] = [
    ("firmware_revision", "Firmware revision", false),
    ("software_version", "Software version", false),
    ("parameter_set", "Parameter set", true),
    ("io_mapping", "I/O mapping", true),
];

/// Two cases of one asset compared.
#[derive(Debug, Clone)]
pub struct Diff {
    pub asset: String,
    pub from: Option<Case>,
    pub to: Case,
    pub basis: Basis,
    pub fields: Vec<FieldDiff>,
}

impl Diff {
    pub fn changed(&self) -> impl Iterator<Item = &FieldDiff> {
        self.fields.iter().filter(|f| f.changed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("No case names the asset `{0}`.")]
    NoSuchAsset(String),
    #[error("An asset needs a name: /assets/<name>.")]
    NoName,
    #[error("`{id}` is not a case of the asset `{asset}`.")]
    NotOfAsset { id: String, asset: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The newest cases of an asset (without their photos, which a history does not show).
async fn newest(db: &Db, asset: &str, limit: usize) -> Result<Vec<Case>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM cases WHERE {ASSET_MATCH} ORDER BY created_at DESC, id DESC LIMIT $2",
        *super::store::SELECT_LIST
    ))
    .bind(asset)
    .bind(limit as i64)
    .fetch_all(db)
    .await
}

/// A case of this asset by its id (as typed in a URL).
async fn case_of(db: &Db, asset: &str, id: &str) -> Result<Case, AssetError> {
    let not_of = || AssetError::NotOfAsset {
        id: id.to_string(),
        asset: asset.to_string(),
    };
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| not_of())?;
    match super::store::get(db, &uuid).await? {
        Some(c) if c.fields.asset.eq_ignore_ascii_case(asset.trim()) => Ok(c),
        _ => Err(not_of()),
    }
}

/// Compares two cases of an asset. Without `to`, the newest case; without `from`, the last good
/// run before `to` (else the case just before it).
pub async fn diff(
    db: &Db,
    asset: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Diff, AssetError> {
    let to = match to {
        Some(id) => case_of(db, asset, id).await?,
        None if asset.trim().is_empty() => return Err(AssetError::NoName),
        None => newest(db, asset.trim(), 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AssetError::NoSuchAsset(asset.to_string()))?,
    };
    let (from, basis) = match from {
        Some(id) => (Some(case_of(db, asset, id).await?), Basis::Chosen),
        None => match before(db, &to, Some(Outcome::Fixed)).await? {
            Some(c) => (Some(c), Basis::LastGood),
            None => match before(db, &to, None).await? {
                Some(c) => (Some(c), Basis::Previous),
                None => (None, Basis::Nothing),
            },
        },
    };
    let fields = from.as_ref().map_or_else(Vec::new, |f| compare(f, &to));
    Ok(Diff {
        asset: to.fields.asset.clone(),
        from,
        to,
        basis,
        fields,
    })
}

/// The newest case of `of`'s asset filed before it, with this outcome when one is given.
async fn before(db: &Db, of: &Case, outcome: Option<Outcome>) -> Result<Option<Case>, sqlx::Error> {
    let id: Option<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM cases WHERE {ASSET_MATCH} AND (created_at < $2 OR (created_at = $3 AND id < $4)) \
         AND ($5 IS NULL OR outcome = $6) ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(&of.fields.asset)
    .bind(of.created_at)
    .bind(of.created_at)
    .bind(of.id.to_string())
    .bind(outcome)
    .bind(outcome)
    .fetch_optional(db)
    .await?;
    match id.and_then(|id| Uuid::parse_str(&id).ok()) {
        Some(id) => super::store::get(db, &id).await,
        None => Ok(None),
    }
}

/// Every compared field of two cases, older first.
pub fn compare(from: &Case, to: &Case) -> Vec<FieldDiff> {
    COMPARED
        .iter()
        .map(|&(field, label, lines)| {
            let old = from.fields.text(field);
            let new = to.fields.text(field);
            FieldDiff {
                field,
                label,
                changed: old != new,
                hunks: if lines && old != new {
                    line_diff(&old, &new)
                } else {
                    Vec::new()
                },
                old,
                new,
            }
        })
        .collect()
}

/// The changed stretches of two texts, line by line. A diff that takes too long (two huge,
/// unrelated texts) is cut short and still correct, only less minimal.
pub fn line_diff(old: &str, new: &str) -> Vec<Vec<Line>> {
    let diff = TextDiff::configure()
        .timeout(Duration::from_millis(200))
        .diff_lines(old, new);
    diff.grouped_ops(3)
        .iter()
        .map(|ops| {
            ops.iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|c| Line {
                    op: match c.tag() {
                        ChangeTag::Equal => "equal",
                        ChangeTag::Delete => "delete",
                        ChangeTag::Insert => "insert",
                    },
                    old_no: c.old_index().map(|i| i + 1),
                    new_no: c.new_index().map(|i| i + 1),
                    text: c.value().trim_end_matches(['\n', '\r']).to_string(),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_parameter_line_is_a_delete_and_an_insert_with_context() {
        let old = "Kp=1.2\nKi=0.4\nKd=0\nramp=5\n";
        let new = "Kp=1.2\nKi=0.9\nKd=0\nramp=5\n";
        let hunks = line_diff(old, new);
        assert_eq!(hunks.len(), 1);
        let ops: Vec<(&str, &str)> = hunks[0].iter().map(|l| (l.op, l.text.as_str())).collect();
        assert_eq!(
            ops,
            vec![
                ("equal", "Kp=1.2"),
                ("delete", "Ki=0.4"),
                ("insert", "Ki=0.9"),
                ("equal", "Kd=0"),
                ("equal", "ramp=5"),
            ]
        );
        assert_eq!(hunks[0][1].old_no, Some(2));
        assert_eq!(hunks[0][2].new_no, Some(2));
        assert!(line_diff("same\n", "same\n").is_empty());
    }

    #[test]
    fn an_asset_name_stays_one_path_segment() {
        assert_eq!(url("PLC-4"), "/assets/PLC-4");
        assert_eq!(url("Line 2/PLC"), "/assets/Line%202%2FPLC");
        assert_eq!(url("Presse ü"), "/assets/Presse%20%C3%BC");
    }
}
