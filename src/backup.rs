//! Backup and restore of a SQLite data folder, safe while the server runs and files cases.
//!
//! A backup folder holds `faultbook.db` (a `VACUUM INTO` snapshot: one read transaction, so it
//! is consistent with itself), the photos that snapshot refers to, the guides as they were,
//! and `manifest.json` with every file's size and SHA-256. The manifest is written last and
//! renamed into place, so a folder without one is a backup that did not finish.
//! Photos are written and synced before the row that names them commits (see
//! `cases::PhotoStore::write`), so every photo the snapshot names is already on disk.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::time::Timestamp;

pub const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "faultbook.db";
const PHOTOS: &str = "photos";
const CONTENT: &str = "content";
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backups and restores cover SQLite databases; for PostgreSQL use pg_dump and pg_restore (`{0}`)")]
    NotSqlite(String),
    #[error("there is no database at {0}: check --data-dir or --database-url")]
    NoDatabase(PathBuf),
    #[error("{0} is not empty; a backup goes into a new or empty folder")]
    TargetNotEmpty(PathBuf),
    #[error("{0} has no {MANIFEST}: the backup did not finish (the manifest is written last), so it cannot be restored")]
    Unfinished(PathBuf),
    #[error("{path}: the manifest cannot be read ({why}); the backup is damaged")]
    BadManifest { path: PathBuf, why: String },
    #[error("the backup is damaged; nothing was restored:\n{}", .0.join("\n"))]
    Damaged(Vec<String>),
    #[error("the backup was made at schema version {backup}, newer than this faultbook's {ours}; restore it with a newer release")]
    NewerSchema { backup: i64, ours: i64 },
    #[error("the data folder {0} is not empty; add --force to move what is there aside and restore over it")]
    DataNotEmpty(PathBuf),
    #[error("the restored database fails SQLite's integrity check: {0}")]
    Integrity(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One file of a backup, by its path relative to the backup folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub faultbook_version: String,
    pub schema_version: i64,
    /// When the snapshot's read transaction began: every case acknowledged before is in it.
    pub snapshot_started_at: String,
    pub finished_at: String,
    pub cases: i64,
    pub photos: usize,
    pub guides: usize,
    pub files: Vec<FileEntry>,
}

/// Where a data folder's parts live.
#[derive(Debug, Clone)]
pub struct DataLayout {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub photo_dir: PathBuf,
    pub index_dir: PathBuf,
    pub content_dir: PathBuf,
}

impl DataLayout {
    pub fn of(config: &crate::config::Config) -> DataLayout {
        DataLayout {
            database_url: config.database_url(),
            data_dir: config.data_dir.clone(),
            photo_dir: config.photo_dir(),
            index_dir: config.index_dir(),
            content_dir: config.content_dir.clone(),
        }
    }

    fn database_file(&self) -> Result<PathBuf, BackupError> {
        let options = SqliteConnectOptions::from_str(&self.database_url)
            .map_err(|_| BackupError::NotSqlite(self.database_url.clone()))?;
        if !self.database_url.starts_with("sqlite:") {
            return Err(BackupError::NotSqlite(self.database_url.clone()));
        }
        Ok(options.get_filename().to_path_buf())
    }
}

/// SHA-256 and length of a file, read in pieces so a large photo does not sit in memory.
fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// Copies a file and syncs the copy.
fn copy_synced(from: &Path, to: &Path) -> Result<(), BackupError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::copy(from, to).map_err(io(from))?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(io(to))
}

fn is_empty_dir(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

async fn open_existing(file: &Path) -> Result<SqliteConnection, BackupError> {
    if !file.is_file() {
        return Err(BackupError::NoDatabase(file.to_path_buf()));
    }
    Ok(SqliteConnectOptions::new()
        .filename(file)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await?)
}

/// What a finished backup holds.
#[derive(Debug)]
pub struct BackupSummary {
    pub manifest: Manifest,
    pub dir: PathBuf,
}

/// Takes a consistent backup of a running (or stopped) faultbook into `target`.
pub async fn backup(layout: &DataLayout, target: &Path) -> Result<BackupSummary, BackupError> {
    let source = layout.database_file()?;
    if !is_empty_dir(target)? {
        return Err(BackupError::TargetNotEmpty(target.to_path_buf()));
    }
    std::fs::create_dir_all(target).map_err(io(target))?;

    let snapshot = target.join(DATABASE);
    let started = Timestamp::now();
    let mut live = open_existing(&source).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(snapshot.to_string_lossy().into_owned())
        .execute(&mut live)
        .await?;
    live.close().await?;

    // Everything below reads the snapshot, not the live database.
    let mut snap = open_existing(&snapshot).await?;
    let schema_version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = 1",
    )
    .fetch_one(&mut snap)
    .await?;
    let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(&mut snap)
        .await?;
    let shas: BTreeSet<String> = sqlx::query_scalar("SELECT DISTINCT sha256 FROM case_photos")
        .fetch_all(&mut snap)
        .await?
        .into_iter()
        .collect();
    snap.close().await?;

    let mut files = vec![entry(target, DATABASE)?];
    for sha in &shas {
        if !crate::cases::photos::is_photo_id(sha) {
            continue;
        }
        for name in [format!("{sha}.jpg"), format!("{sha}.thumb.jpg")] {
            let from = layout.photo_dir.join(&name);
            let rel = format!("{PHOTOS}/{name}");
            copy_synced(&from, &target.join(&rel))?;
            files.push(entry(target, &rel)?);
        }
    }
    let mut guides = 0;
    for rel in content_files(&layout.content_dir)? {
        let to = format!("{CONTENT}/{rel}");
        copy_synced(&layout.content_dir.join(&rel), &target.join(&to))?;
        if rel.ends_with(".md") {
            guides += 1;
        }
        files.push(entry(target, &to)?);
    }
    if target.join(PHOTOS).is_dir() {
        sync_dir(&target.join(PHOTOS))?;
    }

    let manifest = Manifest {
        format: FORMAT,
        faultbook_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        snapshot_started_at: started.to_db(),
        finished_at: Timestamp::now().to_db(),
        cases,
        photos: shas.len(),
        guides,
        files,
    };
    let tmp = target.join(format!("{MANIFEST}.tmp"));
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::BadManifest {
        path: tmp.clone(),
        why: e.to_string(),
    })?;
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&json).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, target.join(MANIFEST)).map_err(io(target))?;
    sync_dir(target)?;
    Ok(BackupSummary {
        manifest,
        dir: target.to_path_buf(),
    })
}

fn entry(root: &Path, rel: &str) -> Result<FileEntry, BackupError> {
    let (bytes, sha256) = digest(&root.join(rel))?;
    Ok(FileEntry {
        path: rel.to_string(),
        bytes,
        sha256,
    })
}

/// Every regular file under the content folder, as relative paths with `/`, sorted.
fn content_files(root: &Path) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        if !dir.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let kind = e.file_type().map_err(io(&e.path()))?;
            if kind.is_dir() {
                stack.push(rel.join(&name));
            } else if kind.is_file() {
                out.push(rel.join(&name).to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads and checks a backup: the manifest, then every file's presence, size and checksum.
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Unfinished(dir.to_path_buf()))
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| BackupError::BadManifest {
            path: path.clone(),
            why: e.to_string(),
        })?;
    if manifest.format != FORMAT {
        return Err(BackupError::BadManifest {
            path,
            why: format!("format {} is not {FORMAT}", manifest.format),
        });
    }
    let mut faults = Vec::new();
    if !manifest.files.iter().any(|f| f.path == DATABASE) {
        faults.push(format!("{DATABASE}: not listed in the manifest"));
    }
    for f in &manifest.files {
        let unsafe_path = Path::new(&f.path)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)));
        if unsafe_path {
            faults.push(format!("{}: not a path inside the backup", f.path));
            continue;
        }
        match digest(&dir.join(&f.path)) {
            Err(_) => faults.push(format!("{}: missing or unreadable", f.path)),
            Ok((bytes, _)) if bytes != f.bytes => faults.push(format!(
                "{}: {bytes} bytes, the manifest says {}",
                f.path, f.bytes
            )),
            Ok((_, sha)) if sha != f.sha256 => {
                faults.push(format!("{}: checksum differs from the manifest", f.path))
            }
            Ok(_) => {}
        }
    }
    if faults.is_empty() {
        Ok(manifest)
    } else {
        Err(BackupError::Damaged(faults))
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    /// Where the data that was there before went (with `--force`).
    pub moved_aside: Option<PathBuf>,
    /// The guides as they were at backup time.
    pub guides_at: PathBuf,
}

/// Restores a checked backup into the data folder. Refuses a folder that holds anything unless
/// `force`, and then moves what was there into `replaced-<time>` inside it instead of deleting.
pub async fn restore(
    layout: &DataLayout,
    from: &Path,
    force: bool,
) -> Result<RestoreSummary, BackupError> {
    let manifest = verify(from)?;
    let ours = crate::db::schema_version();
    if manifest.schema_version > ours {
        return Err(BackupError::NewerSchema {
            backup: manifest.schema_version,
            ours,
        });
    }
    let db_file = layout.database_file()?;
    let occupied = [&db_file, &layout.photo_dir, &layout.index_dir]
        .iter()
        .any(|p| p.exists() && !(p.is_dir() && is_empty_dir(p).unwrap_or(false)))
        || !is_empty_dir(&layout.data_dir)?;
    let mut moved_aside = None;
    if occupied {
        if !force {
            return Err(BackupError::DataNotEmpty(layout.data_dir.clone()));
        }
        moved_aside = Some(move_aside(layout, &db_file)?);
    }
    std::fs::create_dir_all(&layout.data_dir).map_err(io(&layout.data_dir))?;
    std::fs::create_dir_all(&layout.photo_dir).map_err(io(&layout.photo_dir))?;

    let tmp = db_file.with_extension("db.restoring");
    copy_synced(&from.join(DATABASE), &tmp)?;
    for f in manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{PHOTOS}/")))
    {
        let name = &f.path[PHOTOS.len() + 1..];
        copy_synced(&from.join(&f.path), &layout.photo_dir.join(name))?;
    }
    sync_dir(&layout.photo_dir)?;

    let mut conn = open_existing(&tmp).await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    if check != "ok" {
        let _ = std::fs::remove_file(&tmp);
        return Err(BackupError::Integrity(check));
    }
    std::fs::rename(&tmp, &db_file).map_err(io(&db_file))?;
    if let Some(parent) = db_file.parent() {
        sync_dir(parent)?;
    }
    Ok(RestoreSummary {
        manifest,
        moved_aside,
        guides_at: from.join(CONTENT),
    })
}

/// Moves the database (with its WAL files), the photos and the index into
/// `<data>/replaced-<time>/`, so a mistaken `--force` loses nothing.
fn move_aside(layout: &DataLayout, db_file: &Path) -> Result<PathBuf, BackupError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let aside = layout.data_dir.join(format!("replaced-{stamp}"));
    std::fs::create_dir_all(&aside).map_err(io(&aside))?;
    let db_name = db_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| DATABASE.into());
    let mut parts: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| db_file.with_file_name(format!("{db_name}{suffix}")))
        .collect();
    parts.push(layout.photo_dir.clone());
    parts.push(layout.index_dir.clone());
    for part in parts.into_iter().filter(|p| p.exists()) {
        let Some(name) = part.file_name() else {
            continue;
        };
        let to = aside.join(name);
        std::fs::rename(&part, &to).map_err(io(&part))?;
    }
    sync_dir(&layout.data_dir)?;
    Ok(aside)
}
