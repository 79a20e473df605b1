//! Guides going out: `faultbook export DIR` writes every guide's current text as the file it
//! would be under `content/`, with the redirects and the published list, so that browser edits
//! can be committed to git and the folder passes `faultbook check` and imports back unchanged.

use std::path::Path;

use super::revisions as store;
use super::{PUBLISHED_FILE, REDIRECTS_FILE};
use crate::db::Db;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct ExportReport {
    pub guides: usize,
    /// Paths of the guide texts written, relative to the folder.
    pub paths: Vec<String>,
    /// Files of renamed guides taken out of the folder (their slug is an alias now).
    pub removed: Vec<String>,
}

/// Writes every current guide under `out` (`<platform>/<slug>.md`), `redirects.toml` from the
/// content folder, and `published-slugs.txt`: the content folder's list with the slugs first
/// published in the browser appended, as the list only ever grows.
pub async fn export(db: &Db, content_dir: &Path, out: &Path) -> Result<ExportReport, ExportError> {
    let mut conn = db.acquire().await?;
    let mut sources = store::current_sources(&mut conn).await?;
    sources.sort();
    let db_slugs = store::published_slugs(&mut conn).await?;
    drop(conn);
    let write = |rel: &str, bytes: &[u8]| -> Result<(), ExportError> {
        let path = out.join(rel);
        let err = |source| ExportError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        std::fs::write(&path, bytes).map_err(err)
    };
    let mut report = ExportReport::default();
    // A guide renamed (or moved to another platform) since its file was imported: the old file
    // would hold a second guide under a slug that is now an alias, which `check` refuses.
    let mut conn = db.acquire().await?;
    let moved: Vec<(String, String)> = sqlx::query_as(
        "SELECT g.file_path, r.path FROM guides g JOIN guide_revisions r ON r.id = g.current_revision \
         WHERE g.file_path IS NOT NULL AND g.file_path <> r.path",
    )
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    for (old, _) in &moved {
        let path = out.join(old);
        match std::fs::remove_file(&path) {
            Ok(()) => report.removed.push(old.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ExportError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        }
    }
    for (path, text) in &sources {
        write(path, text.as_bytes())?;
        report.paths.push(path.clone());
    }
    report.guides = sources.len();
    if let Ok(redirects) = std::fs::read_to_string(content_dir.join(REDIRECTS_FILE)) {
        write(REDIRECTS_FILE, redirects.as_bytes())?;
    }
    let mut published =
        std::fs::read_to_string(content_dir.join(PUBLISHED_FILE)).unwrap_or_default();
    let listed: std::collections::HashSet<String> = published
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .collect();
    if !published.is_empty() && !published.ends_with('\n') {
        published.push('\n');
    }
    for slug in db_slugs {
        if !listed.contains(&slug) {
            published.push_str(&slug);
            published.push('\n');
        }
    }
    write(PUBLISHED_FILE, published.as_bytes())?;
    Ok(report)
}
