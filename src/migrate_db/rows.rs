//! The statements that read, look up, insert and count a table's rows, a page at a time.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::db::{Backend, Db};

use super::checksum::{render_key, render_row};
use super::schema::{Column, Table};
use super::values::{bind, typed_row, Value};
use super::{sql, MigrateError};

/// Rows per page read and per multi-row INSERT (fewer for wide tables, see `page_size`).
const PAGE: usize = 500;
/// Bound parameters per statement, well under SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;

/// The `n`th bound parameter, bound in order. SQLite keeps numbered and named parameters in a
/// list it searches one by one (to prepare `$n`, and again for each bound value), which takes
/// seconds for the thousands of a multi-row INSERT; plain `?` it does not look up.
pub(super) fn param(db: &Db, n: usize) -> String {
    match Backend::of(db) {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    }
}

pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(super) fn page_size(cols: &[Column]) -> usize {
    PAGE.min(MAX_PARAMS / cols.len().max(1)).max(1)
}

/// The rows after `after` (a key, in key order), at most `limit`, ordered by primary key.
pub(super) async fn read_page(
    db: &Db,
    t: &Table,
    cols: &[Column],
    keys: &[usize],
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>, MigrateError> {
    let select = cols
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let order = t
        .key
        .iter()
        .map(|k| quote(k))
        .collect::<Vec<_>>()
        .join(", ");
    let filter = match after {
        None => String::new(),
        Some(_) if t.key.len() == 1 => format!(" WHERE {order} > {}", param(db, 1)),
        Some(_) => {
            let params = (1..=t.key.len())
                .map(|i| param(db, i))
                .collect::<Vec<_>>()
                .join(", ");
            format!(" WHERE ({order}) > ({params})")
        }
    };
    let text = format!(
        "SELECT {select} FROM {} {filter} ORDER BY {order} LIMIT {limit}",
        quote(t.name)
    );
    let mut q = sqlx::query(&text);
    if let Some(after) = after {
        for (v, &k) in after.iter().zip(keys) {
            q = bind(q, v, cols[k].kind);
        }
    }
    q.fetch_all(db)
        .await
        .map_err(sql(t.name))?
        .iter()
        .map(|r| typed_row(r, t, cols, keys))
        .collect()
}

/// The rows of `db` with the keys of `rows`, rendered, by rendered key. Looked up by the first
/// key column (`IN`), so it does not depend on how either engine orders text.
pub(super) async fn lookup(
    db: &Db,
    t: &Table,
    cols: &[Column],
    keys: &[usize],
    rows: &[Vec<Value>],
) -> Result<HashMap<Vec<u8>, Vec<u8>>, MigrateError> {
    let first = keys[0];
    let mut seen = HashSet::new();
    let wanted: Vec<&Value> = rows
        .iter()
        .map(|r| &r[first])
        .filter(|v| {
            let mut k = Vec::new();
            v.render(&mut k);
            seen.insert(k)
        })
        .collect();
    let mut found = HashMap::with_capacity(rows.len());
    if wanted.is_empty() {
        return Ok(found);
    }
    let select = cols
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let params = (1..=wanted.len())
        .map(|i| param(db, i))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "SELECT {select} FROM {} WHERE {} IN ({params})",
        quote(t.name),
        quote(&cols[first].name)
    );
    let mut q = sqlx::query(&text);
    for v in wanted {
        q = bind(q, v, cols[first].kind);
    }
    for row in q.fetch_all(db).await.map_err(sql(t.name))? {
        let values = typed_row(&row, t, cols, keys)?;
        found.insert(render_key(&values, keys), render_row(&values));
    }
    Ok(found)
}

/// Inserts the rows, skipping those whose key (or another unique value) is there already;
/// the number inserted.
pub(super) async fn insert(
    db: &Db,
    t: &Table,
    cols: &[Column],
    rows: &[Vec<Value>],
) -> Result<u64, MigrateError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let names = cols
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!("INSERT INTO {} ({names}) VALUES ", quote(t.name));
    let sqlite = Backend::of(db) == Backend::Sqlite;
    let mut n = 0;
    for r in 0..rows.len() {
        if r > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                text.push_str(", ");
            }
            n += 1;
            let _ = if sqlite {
                write!(text, "?")
            } else {
                write!(text, "${n}")
            };
        }
        text.push(')');
    }
    text.push_str(" ON CONFLICT DO NOTHING");
    // Not kept as a prepared statement: PostgreSQL would keep the parameter types of its first
    // use, and sqlx's Any driver types a NULL real differently from a real (float4 and float8),
    // so the next page's value in a place that held a NULL would be refused.
    let mut q = sqlx::query(&text).persistent(false);
    for row in rows {
        for (v, c) in row.iter().zip(cols) {
            q = bind(q, v, c.kind);
        }
    }
    let mut tx = db.begin().await.map_err(sql(t.name))?;
    let done = q.execute(&mut *tx).await.map_err(sql(t.name))?;
    tx.commit().await.map_err(sql(t.name))?;
    Ok(done.rows_affected())
}

pub(super) async fn count(db: &Db, t: &Table) -> Result<u64, MigrateError> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(t.name)))
        .fetch_one(db)
        .await
        .map_err(sql(t.name))?;
    Ok(n.max(0) as u64)
}
