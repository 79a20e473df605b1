//! `faultbook migrate-db`: copies a whole faultbook database into another one (SQLite or
//! PostgreSQL, either way) and proves the copy with row counts and checksums.
//!
//! Both databases are opened with `db::connect`, so the target is migrated to this release's
//! schema before anything is copied. Tables go in foreign-key order (guides before their
//! revisions; `guides.current_revision` has no foreign key, so the cycle is harmless). Each table
//! is read in pages ordered by its primary key (keyset paging, so memory stays flat) and each
//! page goes in as one multi-row `INSERT … ON CONFLICT DO NOTHING`: a second run adds nothing
//! and an interrupted run carries on where it stopped.
//!
//! Right after a page is inserted its rows are read back from the target by primary key. Every
//! row is rendered canonically (`i:123`, `f:1.5`, `t:LEN:text`, `b:HEX`, `n` for NULL, joined by
//! a unit separator), and SHA-256 runs over the source's rows in primary-key order and over the
//! target's rows with the same keys in the same order. Equal digests and, for a copy into an
//! empty database, equal row counts mean the target holds exactly the source's rows.
//!
//! Sessions are not copied (people log in again), and photo files and guide images are files,
//! not rows: the operator shares or copies them.

mod checksum;
mod progress;
mod report;
mod rows;
mod schema;
mod urls;
mod values;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use sqlx::ConnectOptions;

use crate::db::{Backend, Db, DbError};

use checksum::{render_key, render_row};
pub use progress::{Progress, TerminalProgress};
pub use report::{Summary, TableReport};
use rows::{count, insert, lookup, page_size, quote, read_page};
use schema::{columns_of, key_positions};
pub use schema::{Column, Table, TABLES};
pub use urls::redact;
use urls::{same_database, sqlite_path};
use values::{show_key, Value};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("--from and --to name the same database ({0}); copy into another one")]
    SameDatabase(String),
    #[error("there is no database at {0}: check --from")]
    NoSource(PathBuf),
    #[error("cannot open {url}: {source}")]
    Open { url: String, source: DbError },
    #[error("{side} has no table {table}: is it a faultbook database?")]
    MissingTable { side: &'static str, table: String },
    #[error("table {table} has other columns in the source ({source_columns}) than in the target ({target_columns})")]
    SchemaDiffers {
        table: String,
        source_columns: String,
        target_columns: String,
    },
    #[error("{table}.{column} has the type `{ty}`, which migrate-db cannot copy")]
    UnsupportedType {
        table: String,
        column: String,
        ty: String,
    },
    #[error("{table}.{column} of the row {key} holds {found} where the target keeps {expected}")]
    BadValue {
        table: String,
        column: String,
        key: String,
        found: String,
        expected: &'static str,
    },
    #[error("the target already holds rows that are not in the source ({}); copy into a new, empty database, or add --into-nonempty to copy into this one anyway", list(.0))]
    TargetNotEmpty(Vec<(String, u64)>),
    #[error("the copy does not match the source: {}", .0.join("; "))]
    Mismatch(Vec<String>),
    #[error("{table}: {source}")]
    Sql { table: String, source: sqlx::Error },
}

pub(super) fn list(tables: &[(String, u64)]) -> String {
    tables
        .iter()
        .map(|(t, n)| format!("{t}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn sql(table: &str) -> impl FnOnce(sqlx::Error) -> MigrateError + '_ {
    move |source| MigrateError::Sql {
        table: table.to_string(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub from: String,
    pub to: String,
    /// Copy into a database that holds rows of its own: then only check that every source row
    /// arrived, not that the tables are equal.
    pub into_nonempty: bool,
}

/// Copies every table of `from` into `to` and checks the copy. A checksum mismatch is not an
/// error here: the summary says which tables differ (`Summary::check`).
pub async fn migrate(
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Summary, MigrateError> {
    if same_database(&options.from, &options.to) {
        return Err(MigrateError::SameDatabase(redact(&options.from)));
    }
    if let Some(path) = sqlite_path(&options.from) {
        if !path.exists() {
            return Err(MigrateError::NoSource(path));
        }
    }
    let source = open(&options.from).await?;
    let target = open(&options.to).await?;

    let mut columns = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        columns.push(columns_of(&source, &target, t).await?);
    }

    if !options.into_nonempty {
        let mut foreign = Vec::new();
        for (t, cols) in TABLES.iter().zip(&columns) {
            let n = rows_not_in(&target, &source, t, cols).await?;
            if n > 0 {
                foreign.push((t.name.to_string(), n));
            }
        }
        if !foreign.is_empty() {
            return Err(MigrateError::TargetNotEmpty(foreign));
        }
    }

    let mut tables = Vec::with_capacity(TABLES.len());
    for (t, cols) in TABLES.iter().zip(&columns) {
        let report =
            copy_table(&source, &target, t, cols, !options.into_nonempty, progress).await?;
        progress.finish(&report);
        tables.push(report);
    }
    source.close().await;
    target.close().await;
    Ok(Summary {
        from: redact(&options.from),
        to: redact(&options.to),
        tables,
    })
}

/// Opens and migrates a database. The statements migrate-db runs are long (thousands of
/// parameters), and sqlx would print each slow one whole: its connections log no statements.
async fn open(url: &str) -> Result<Db, MigrateError> {
    let failed = |source: DbError| MigrateError::Open {
        url: redact(url),
        source,
    };
    let db = crate::db::connect(url).await.map_err(failed)?;
    db.set_connect_options((*db.connect_options()).clone().disable_statement_logging());
    // The connections the migrations ran on were opened before: replace them.
    let mut idle = Vec::new();
    for _ in 0..db.num_idle() {
        idle.push(db.acquire().await.map_err(|e| failed(e.into()))?);
    }
    for conn in idle {
        conn.close().await.map_err(|e| failed(e.into()))?;
    }
    Ok(db)
}

/// How many rows of `db` have a primary key `other` lacks.
async fn rows_not_in(db: &Db, other: &Db, t: &Table, cols: &[Column]) -> Result<u64, MigrateError> {
    let keys = key_positions(t, cols);
    let limit = page_size(cols);
    let mut after: Option<Vec<Value>> = None;
    let mut absent = 0;
    loop {
        let page = read_page(db, t, cols, &keys, after.as_deref(), limit).await?;
        let found = lookup(other, t, cols, &keys, &page).await?;
        absent += page
            .iter()
            .filter(|r| !found.contains_key(&render_key(r, &keys)))
            .count() as u64;
        match page.last() {
            Some(last) if page.len() == limit => {
                after = Some(keys.iter().map(|&k| last[k].clone()).collect())
            }
            _ => return Ok(absent),
        }
    }
}

/// Copies one table page by page, reading each page back from the target for the checksums.
async fn copy_table(
    source: &Db,
    target: &Db,
    t: &Table,
    cols: &[Column],
    exact: bool,
    progress: &mut dyn Progress,
) -> Result<TableReport, MigrateError> {
    let started = std::time::Instant::now();
    let keys = key_positions(t, cols);
    let limit = page_size(cols);
    progress.start(t.name, count(source, t).await?);
    let mut source_sha = Sha256::new();
    let mut target_sha = Sha256::new();
    let (mut rows, mut inserted, mut missing, mut differing) = (0u64, 0u64, 0u64, 0u64);
    let mut first_fault = None;
    let mut page = read_page(source, t, cols, &keys, None, limit).await?;
    while !page.is_empty() {
        // The next page is read from the source while this one goes into the target.
        let after: Option<Vec<Value>> = match page.last() {
            Some(last) if page.len() == limit => {
                Some(keys.iter().map(|&k| last[k].clone()).collect())
            }
            _ => None,
        };
        let write = async {
            let n = insert(target, t, cols, &page).await?;
            Ok::<_, MigrateError>((n, lookup(target, t, cols, &keys, &page).await?))
        };
        let read = async {
            match &after {
                Some(after) => read_page(source, t, cols, &keys, Some(after), limit).await,
                None => Ok(Vec::new()),
            }
        };
        let ((n, found), next) = tokio::try_join!(write, read)?;
        inserted += n;
        for row in &page {
            let rendered = render_row(row);
            source_sha.update(&rendered);
            let fault = match found.get(&render_key(row, &keys)) {
                None => {
                    missing += 1;
                    true
                }
                Some(there) => {
                    target_sha.update(there);
                    if *there != rendered {
                        differing += 1;
                        true
                    } else {
                        false
                    }
                }
            };
            if fault && first_fault.is_none() {
                first_fault = Some(show_key(t, row, &keys));
            }
        }
        rows += page.len() as u64;
        progress.advance(page.len() as u64);
        page = next;
    }
    if let (Some(column), Backend::Postgres) = (t.identity, Backend::of(target)) {
        // Ids were copied as they were: the identity continues after the largest.
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             COALESCE((SELECT MAX({col}) FROM {qtable}), 0) + 1, false)",
            table = t.name,
            col = quote(column),
            qtable = quote(t.name),
        ))
        .execute(target)
        .await
        .map_err(sql(t.name))?;
    }
    Ok(TableReport {
        table: t.name,
        source_rows: rows,
        target_rows: count(target, t).await?,
        inserted,
        missing,
        differing,
        first_fault,
        source_sha256: hex::encode(source_sha.finalize()),
        target_sha256: hex::encode(target_sha.finalize()),
        exact,
        elapsed: started.elapsed(),
    })
}
