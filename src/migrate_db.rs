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

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{Any, ConnectOptions, Row, ValueRef};

use crate::db::{Backend, Db, DbError};

/// Rows per page read and per multi-row INSERT (fewer for wide tables, see `page_size`).
const PAGE: usize = 500;
/// Bound parameters per statement, well under SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;

/// A table migrate-db copies: its primary key, and its identity column if it has one.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    key: &'static [&'static str],
    identity: Option<&'static str>,
}

const fn table(
    name: &'static str,
    key: &'static [&'static str],
    identity: Option<&'static str>,
) -> Table {
    Table {
        name,
        key,
        identity,
    }
}

/// Every table that is copied, parents before children. `sessions` is left out on purpose.
pub const TABLES: &[Table] = &[
    table("users", &["id"], None),
    table("api_tokens", &["id"], None),
    table("cases", &["id"], None),
    table("case_photos", &["case_id", "position"], None),
    table("case_checks", &["case_id", "step"], None),
    table("case_updates", &["idempotency_key"], None),
    table("audit_log", &["id"], Some("id")),
    table("guides", &["id"], Some("id")),
    table("guide_revisions", &["id"], Some("id")),
    table("published_slugs", &["slug"], None),
    table("guide_import_faults", &["path"], None),
    table("server_secrets", &["name"], None),
    table("content_loads", &["id"], Some("id")),
    table("changes", &["seq"], Some("seq")),
];

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

fn list(tables: &[(String, u64)]) -> String {
    tables
        .iter()
        .map(|(t, n)| format!("{t}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sql(table: &str) -> impl FnOnce(sqlx::Error) -> MigrateError + '_ {
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

/// What happened to one table.
#[derive(Debug, Clone)]
pub struct TableReport {
    pub table: &'static str,
    pub source_rows: u64,
    pub target_rows: u64,
    /// Rows this run inserted (the others were there already).
    pub inserted: u64,
    /// Source rows the target lacks, and rows it holds with other values.
    pub missing: u64,
    pub differing: u64,
    /// The primary key of the first missing or differing row.
    pub first_fault: Option<String>,
    pub source_sha256: String,
    pub target_sha256: String,
    /// Counts must be equal (a copy into an empty database).
    pub exact: bool,
    /// How long copying and checking the table took.
    pub elapsed: std::time::Duration,
}

impl TableReport {
    pub fn ok(&self) -> bool {
        self.missing == 0
            && self.differing == 0
            && self.source_sha256 == self.target_sha256
            && (!self.exact || self.source_rows == self.target_rows)
    }

    /// One line for the terminal: `cases: 100000 rows copied (100000 new), checksum ok`.
    pub fn line(&self) -> String {
        if self.ok() {
            format!(
                "{}: {} rows copied ({} new) in {:.1} s, checksum ok",
                self.table,
                self.source_rows,
                self.inserted,
                self.elapsed.as_secs_f64()
            )
        } else {
            format!("{}: {}", self.table, self.fault())
        }
    }

    fn fault(&self) -> String {
        let mut s = format!(
            "checksum mismatch: source {} rows (sha256 {}), target {} rows (sha256 {})",
            self.source_rows,
            &self.source_sha256[..16],
            self.target_rows,
            &self.target_sha256[..16]
        );
        if self.missing > 0 {
            let _ = write!(s, ", {} source rows missing", self.missing);
        }
        if self.differing > 0 {
            let _ = write!(s, ", {} rows differ", self.differing);
        }
        if let Some(key) = &self.first_fault {
            let _ = write!(s, ", first at {key}");
        }
        if self.exact && self.missing == 0 && self.source_rows != self.target_rows {
            let _ = write!(
                s,
                ", the target has {} rows the source has not",
                self.target_rows.saturating_sub(self.source_rows)
            );
        }
        s
    }
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub tables: Vec<TableReport>,
}

impl Summary {
    /// `Err(Mismatch)` naming every table whose copy differs from its source.
    pub fn check(&self) -> Result<(), MigrateError> {
        let faults: Vec<String> = self
            .tables
            .iter()
            .filter(|t| !t.ok())
            .map(|t| format!("{}: {}", t.table, t.fault()))
            .collect();
        if faults.is_empty() {
            Ok(())
        } else {
            Err(MigrateError::Mismatch(faults))
        }
    }
}

/// Told how the copy goes, table by table.
pub trait Progress {
    fn start(&mut self, table: &str, rows: u64);
    fn advance(&mut self, rows: u64);
    fn finish(&mut self, report: &TableReport);
}

/// A bar per table on stderr; where stderr is no terminal, one line per table when it is done.
#[derive(Default)]
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl Progress for TerminalProgress {
    fn start(&mut self, table: &str, rows: u64) {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(rows)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>19} [{bar:30}] {pos}/{len} rows, {msg} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(table.to_string());
        self.bar = Some(bar);
    }

    fn advance(&mut self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
            bar.set_message(format!("{:.0} rows/s", bar.per_sec()));
        }
    }

    fn finish(&mut self, report: &TableReport) {
        match self.bar.take() {
            Some(bar) if !bar.is_hidden() => {
                if let Ok(style) = ProgressStyle::with_template("{msg}") {
                    bar.set_style(style);
                }
                bar.finish_with_message(report.line());
            }
            _ => eprintln!("{}", report.line()),
        }
    }
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

/// The file a `sqlite:` URL names.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

/// The path with its folder's symbolic links and `..` resolved, as far as it exists.
fn canonical(path: PathBuf) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(&path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(path),
        _ => path,
    }
}

fn same_database(a: &str, b: &str) -> bool {
    match (sqlite_path(a), sqlite_path(b)) {
        (Some(a), Some(b)) => canonical(a) == canonical(b),
        (None, None) => {
            let norm = |u: &str| {
                u.trim()
                    .trim_end_matches('/')
                    .replacen("postgresql://", "postgres://", 1)
            };
            norm(a) == norm(b)
        }
        _ => false,
    }
}

/// The URL with its password, if any, replaced by `***`, for printing.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let start = scheme_end + 3;
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..start],
                &authority[..colon],
                &url[start + at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// How a column's values are bound on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Real => "a real number",
            Kind::Text => "text",
            Kind::Blob => "a blob",
        }
    }

    /// A declared column type as the engine reads it.
    fn of(backend: Backend, declared: &str) -> Option<Kind> {
        let t = declared.to_ascii_lowercase();
        match backend {
            // SQLite's affinity rules, in their order.
            Backend::Sqlite => {
                if t.contains("int") {
                    Some(Kind::Int)
                } else if t.contains("char") || t.contains("clob") || t.contains("text") {
                    Some(Kind::Text)
                } else if t.is_empty() || t.contains("blob") {
                    Some(Kind::Blob)
                } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
                    Some(Kind::Real)
                } else {
                    None
                }
            }
            Backend::Postgres => match t.as_str() {
                "bigint" | "integer" | "smallint" => Some(Kind::Int),
                "double precision" | "real" => Some(Kind::Real),
                "text" | "character varying" | "character" => Some(Kind::Text),
                "bytea" => Some(Kind::Blob),
                _ => None,
            },
        }
    }
}

/// A column of a copied table: its name and how the target keeps it.
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    kind: Kind,
}

/// The table's columns as the target declares them, in its order; the source must have the
/// same names (both are at the same schema version after `connect`).
async fn columns_of(source: &Db, target: &Db, t: &Table) -> Result<Vec<Column>, MigrateError> {
    let theirs = declared(source, t.name).await?;
    let ours = declared(target, t.name).await?;
    if theirs.is_empty() || ours.is_empty() {
        return Err(MigrateError::MissingTable {
            side: if theirs.is_empty() {
                "the source"
            } else {
                "the target"
            },
            table: t.name.to_string(),
        });
    }
    fn names(cols: &[(String, String)]) -> Vec<&str> {
        let mut n: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        n.sort_unstable();
        n
    }
    if names(&theirs) != names(&ours) {
        return Err(MigrateError::SchemaDiffers {
            table: t.name.to_string(),
            source_columns: names(&theirs).join(", "),
            target_columns: names(&ours).join(", "),
        });
    }
    let backend = Backend::of(target);
    let columns = ours
        .into_iter()
        .map(|(name, ty)| match Kind::of(backend, &ty) {
            Some(kind) => Ok(Column { name, kind }),
            None => Err(MigrateError::UnsupportedType {
                table: t.name.to_string(),
                column: name,
                ty,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    for k in t.key {
        if !columns.iter().any(|c| c.name == *k) {
            return Err(MigrateError::SchemaDiffers {
                table: t.name.to_string(),
                source_columns: names(&theirs).join(", "),
                target_columns: format!("no {k}"),
            });
        }
    }
    Ok(columns)
}

/// `(name, declared type)` of each column, in table order; empty when there is no such table.
async fn declared(db: &Db, table: &str) -> Result<Vec<(String, String)>, MigrateError> {
    let query = match Backend::of(db) {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name::text = $1 ORDER BY ordinal_position"
        }
    };
    sqlx::query_as(query)
        .bind(table)
        .fetch_all(db)
        .await
        .map_err(sql(table))
}

/// One value as both engines can hold it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Int(i) => format!("the integer {i}"),
            Value::Real(f) => format!("the real number {f:?}"),
            Value::Text(s) => format!("the text {s:?}"),
            Value::Blob(b) => format!("a blob of {} bytes", b.len()),
        }
    }

    /// The value as the target column keeps it; integers widen to reals, nothing else changes.
    fn into_kind(self, kind: Kind) -> Result<Value, Value> {
        match (self, kind) {
            (Value::Null, _) => Ok(Value::Null),
            (Value::Int(i), Kind::Int) => Ok(Value::Int(i)),
            (Value::Int(i), Kind::Real) => Ok(Value::Real(i as f64)),
            (Value::Real(f), Kind::Real) => Ok(Value::Real(f)),
            (Value::Text(s), Kind::Text) => Ok(Value::Text(s)),
            (Value::Blob(b), Kind::Blob) => Ok(Value::Blob(b)),
            (v, _) => Err(v),
        }
    }

    /// The canonical form the checksums hash.
    fn render(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = match self {
            Value::Null => out.write_all(b"n"),
            Value::Int(i) => write!(out, "i:{i}"),
            Value::Real(f) => write!(out, "f:{f:?}"),
            Value::Text(s) => {
                write!(out, "t:{}:", s.len()).and_then(|()| out.write_all(s.as_bytes()))
            }
            Value::Blob(b) => write!(out, "b:{}", hex::encode(b)),
        };
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r:?}"),
            Value::Text(s) => write!(f, "{s}"),
            Value::Blob(b) => write!(f, "x'{}'", hex::encode(b)),
        }
    }
}

/// Decodes column `i` by the kind of the value it holds (SQLite types values, not columns).
fn decode(row: &AnyRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Value::Null,
        AnyTypeInfoKind::Bool => Value::Int(i64::from(row.try_get::<bool, _>(i)?)),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Value::Int(row.try_get(i)?)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::Real(row.try_get(i)?),
        AnyTypeInfoKind::Text => Value::Text(row.try_get(i)?),
        AnyTypeInfoKind::Blob => Value::Blob(row.try_get(i)?),
    })
}

/// Binds a value with the target column's type (PostgreSQL wants a BIGINT bound as one,
/// also when it is NULL).
fn bind<'q>(
    q: Query<'q, Any, AnyArguments<'q>>,
    value: &'q Value,
    kind: Kind,
) -> Query<'q, Any, AnyArguments<'q>> {
    match (value, kind) {
        (Value::Int(i), _) => q.bind(*i),
        (Value::Real(f), _) => q.bind(*f),
        (Value::Text(s), _) => q.bind(s.as_str()),
        (Value::Blob(b), _) => q.bind(b.as_slice()),
        (Value::Null, Kind::Int) => q.bind(None::<i64>),
        (Value::Null, Kind::Real) => q.bind(None::<f64>),
        (Value::Null, Kind::Text) => q.bind(None::<String>),
        (Value::Null, Kind::Blob) => q.bind(None::<Vec<u8>>),
    }
}

/// The `n`th bound parameter, bound in order. SQLite keeps numbered and named parameters in a
/// list it searches one by one (to prepare `$n`, and again for each bound value), which takes
/// seconds for the thousands of a multi-row INSERT; plain `?` it does not look up.
fn param(db: &Db, n: usize) -> String {
    match Backend::of(db) {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Where the key columns are among a table's columns.
fn key_positions(t: &Table, cols: &[Column]) -> Vec<usize> {
    t.key
        .iter()
        .map(|k| {
            cols.iter()
                .position(|c| c.name == *k)
                .expect("columns_of checked the key columns")
        })
        .collect()
}

fn render_row(row: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * row.len());
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push(0x1f);
        }
        v.render(&mut out);
    }
    out.push(0x1e);
    out
}

fn render_key(row: &[Value], keys: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &k in keys {
        row[k].render(&mut out);
        out.push(0x1f);
    }
    out
}

fn show_key(t: &Table, row: &[Value], keys: &[usize]) -> String {
    t.key
        .iter()
        .zip(keys)
        .map(|(name, &k)| format!("{name}={}", row[k]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn page_size(cols: &[Column]) -> usize {
    PAGE.min(MAX_PARAMS / cols.len().max(1)).max(1)
}

/// The rows after `after` (a key, in key order), at most `limit`, ordered by primary key.
async fn read_page(
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

/// A row decoded and brought to the target's column types.
fn typed_row(
    row: &AnyRow,
    t: &Table,
    cols: &[Column],
    keys: &[usize],
) -> Result<Vec<Value>, MigrateError> {
    let raw = (0..cols.len())
        .map(|i| decode(row, i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql(t.name))?;
    let mut values = Vec::with_capacity(raw.len());
    for (v, c) in raw.iter().zip(cols) {
        match v.clone().into_kind(c.kind) {
            Ok(v) => values.push(v),
            Err(v) => {
                return Err(MigrateError::BadValue {
                    table: t.name.to_string(),
                    column: c.name.clone(),
                    key: show_key(t, &raw, keys),
                    found: v.describe(),
                    expected: c.kind.name(),
                })
            }
        }
    }
    Ok(values)
}

/// The rows of `db` with the keys of `rows`, rendered, by rendered key. Looked up by the first
/// key column (`IN`), so it does not depend on how either engine orders text.
async fn lookup(
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
async fn insert(
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

async fn count(db: &Db, t: &Table) -> Result<u64, MigrateError> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(t.name)))
        .fetch_one(db)
        .await
        .map_err(sql(t.name))?;
    Ok(n.max(0) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_canonically_and_unambiguously() {
        let row = [
            Value::Int(-3),
            Value::Real(1.5),
            Value::Real(12.0),
            Value::Text("a\u{1f}b".into()),
            Value::Null,
            Value::Blob(vec![0xde, 0xad]),
        ];
        assert_eq!(
            render_row(&row),
            b"i:-3\x1ff:1.5\x1ff:12.0\x1ft:3:a\x1fb\x1fn\x1fb:dead\x1e".to_vec()
        );
        // A separator inside a text cannot make two rows render alike.
        assert_ne!(
            render_row(&[Value::Text("a\u{1f}t:1:b".into())]),
            render_row(&[Value::Text("a".into()), Value::Text("b".into())])
        );
    }

    #[test]
    fn integers_widen_to_reals_and_nothing_else_converts() {
        assert_eq!(Value::Int(7).into_kind(Kind::Real), Ok(Value::Real(7.0)));
        assert_eq!(Value::Null.into_kind(Kind::Int), Ok(Value::Null));
        assert!(Value::Text("7".into()).into_kind(Kind::Int).is_err());
        assert!(Value::Real(7.5).into_kind(Kind::Int).is_err());
    }

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(Kind::of(Backend::Sqlite, "INTEGER"), Some(Kind::Int));
        assert_eq!(Kind::of(Backend::Sqlite, "REAL"), Some(Kind::Real));
        assert_eq!(Kind::of(Backend::Sqlite, "TEXT"), Some(Kind::Text));
        assert_eq!(Kind::of(Backend::Postgres, "bigint"), Some(Kind::Int));
        assert_eq!(
            Kind::of(Backend::Postgres, "double precision"),
            Some(Kind::Real)
        );
        assert_eq!(Kind::of(Backend::Postgres, "text"), Some(Kind::Text));
        assert_eq!(Kind::of(Backend::Postgres, "jsonb"), None);
    }

    #[test]
    fn urls_are_compared_and_printed_safely() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        assert!(same_database(
            &format!("sqlite://{d}/faultbook.db"),
            &format!("sqlite://{d}/sub/../faultbook.db?mode=rwc")
        ));
        assert!(!same_database(
            &format!("sqlite://{d}/faultbook.db"),
            &format!("sqlite://{d}/copy.db")
        ));
        assert!(same_database(
            "postgres://fb@db/faultbook",
            "postgresql://fb@db/faultbook/"
        ));
        assert!(!same_database(
            "sqlite:///tmp/a.db",
            "postgres://fb@db/faultbook"
        ));
        assert_eq!(
            redact("postgres://fb:s3cret@db.plant:5432/faultbook"),
            "postgres://fb:***@db.plant:5432/faultbook"
        );
        assert_eq!(
            redact("postgres://fb@db/faultbook"),
            "postgres://fb@db/faultbook"
        );
        assert_eq!(redact("sqlite:///var/fb.db"), "sqlite:///var/fb.db");
        assert_eq!(
            sqlite_path("sqlite:///var/fb.db?mode=rwc"),
            Some(PathBuf::from("/var/fb.db"))
        );
    }
}
