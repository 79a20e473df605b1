//! Guides coming in from `content/`: at start and whenever a file there changes. A file whose
//! text differs from its last import becomes a revision by "content folder" if the library it
//! would make passes the lint; a file that fails changes nothing and its faults are kept for
//! editors; a file that changed while the guide was edited in the browser waits as a conflict.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};

use super::compose::lines_changed;
use super::library::list_guide_files;
use super::live::{slug_of, GuideError, Guides};
use super::revisions::{self as store, NewRevision, Origin, RevisionState, CONTENT_FOLDER};
use super::{ContentError, LocatedIssue};
use crate::db::changes::{self, ChangeKind, ClusterLock};
use crate::time::Timestamp;

/// What one import did, by path.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub imported: Vec<String>,
    pub conflicts: Vec<String>,
    pub refused: Vec<(String, Vec<LocatedIssue>)>,
}

impl ImportReport {
    pub fn changed_anything(&self) -> bool {
        !(self.imported.is_empty() && self.conflicts.is_empty() && self.refused.is_empty())
    }
}

struct Changed {
    path: String,
    sha: String,
    text: String,
    guide: Option<store::GuideRow>,
    /// The guide's current path and text, when it has one.
    current: Option<(String, String)>,
    /// Edited in the browser since the last import: the file waits as a conflict.
    conflict: bool,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Guides {
    /// Reads every guide file and brings in what changed since the last import.
    pub async fn import_folder(&self) -> Result<ImportReport, GuideError> {
        // Nodes that start together would each find the same new files and insert them twice.
        let cluster = ClusterLock::acquire(self.db(), ClusterLock::IMPORT).await?;
        let imported = self.import_folder_here().await;
        cluster.release().await;
        imported
    }

    async fn import_folder_here(&self) -> Result<ImportReport, GuideError> {
        let _writer = self.lock().await;
        let dir = self.content_dir().to_path_buf();
        let files = tokio::task::spawn_blocking(move || read_files(&dir))
            .await
            .map_err(|e| {
                GuideError::Content(ContentError::Io {
                    path: Default::default(),
                    source: std::io::Error::other(e),
                })
            })??;
        let db = self.db().clone();
        let mut conn = db.acquire().await?;
        let rows = store::guides(&mut conn).await?;
        let by_path: HashMap<&str, &store::GuideRow> = rows
            .iter()
            .filter_map(|g| g.file_path.as_deref().map(|p| (p, g)))
            .collect();
        let by_slug: HashMap<&str, &store::GuideRow> =
            rows.iter().map(|g| (g.slug.as_str(), g)).collect();
        let current: HashMap<i64, (String, String)> = sqlx::query_as::<_, (i64, String, String)>(
            "SELECT g.id, r.path, r.text FROM guides g JOIN guide_revisions r ON r.id = g.current_revision",
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id, p, t)| (id, (p, t)))
        .collect();

        let present: std::collections::HashSet<String> =
            files.iter().map(|(p, _)| p.clone()).collect();
        let mut report = ImportReport::default();
        let mut changed = Vec::new();
        let mut same_text = Vec::new();
        for (path, bytes) in files {
            let sha = sha(&bytes);
            let guide = by_path
                .get(path.as_str())
                .or_else(|| {
                    by_slug
                        .get(slug_of(&path))
                        // A guide renamed in the browser and exported: its file moved.
                        .filter(|g| g.file_path.as_deref().is_none_or(|p| !present.contains(p)))
                })
                .copied()
                .cloned();
            if guide.as_ref().and_then(|g| g.file_sha.as_deref()) == Some(sha.as_str()) {
                continue;
            }
            if store::fault_sha(&mut conn, &path).await?.as_deref() == Some(sha.as_str()) {
                continue;
            }
            let text = match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    // The lint names the line; one parse is enough to get it.
                    let issues = match super::Library::from_sources(vec![(
                        path.clone(),
                        std::fs::read(self.content_dir().join(&path)).unwrap_or_default(),
                    )]) {
                        Err(ContentError::Invalid(i)) => i,
                        _ => Vec::new(),
                    };
                    report.refused.push((path, issues));
                    continue;
                }
            };
            let cur = guide.as_ref().and_then(|g| current.get(&g.id)).cloned();
            if let (Some(g), Some((_, cur_text))) = (&guide, &cur) {
                if *cur_text == text {
                    // An export committed and pulled back: nothing new, only remember the file.
                    same_text.push((g.id, path, sha, g.current_revision));
                    continue;
                }
            }
            let conflict = guide.as_ref().is_some_and(|g| {
                g.imported_revision.is_some() && g.current_revision != g.imported_revision
            });
            changed.push(Changed {
                path,
                sha,
                text,
                guide,
                current: cur,
                conflict,
            });
        }

        // Drop the files the lint names until what is left builds; faults in other files
        // (a broken redirects.toml) refuse every change of this import.
        let mut candidate = None;
        let mut take: Vec<usize> = (0..changed.len()).collect();
        while candidate.is_none() {
            // A conflict changes nothing readers see, so it is not part of the library checked
            // here; the lint checks it when an editor takes it.
            let replace: Vec<(Option<String>, String, String)> = take
                .iter()
                .filter(|&&i| !changed[i].conflict)
                .map(|&i| {
                    let c = &changed[i];
                    (
                        c.current.as_ref().map(|(p, _)| p.clone()),
                        c.path.clone(),
                        c.text.clone(),
                    )
                })
                .collect();
            match self.build(&mut conn, &replace).await {
                Ok(lib) => candidate = Some(lib),
                Err(GuideError::Invalid(issues)) => {
                    let before = take.len();
                    let mut named: HashMap<String, Vec<LocatedIssue>> = HashMap::new();
                    for i in &issues {
                        named.entry(i.path.clone()).or_default().push(i.clone());
                    }
                    take.retain(|&i| !named.contains_key(&changed[i].path));
                    for c in &changed {
                        if let Some(found) = named.remove(&c.path) {
                            report.refused.push((c.path.clone(), found));
                        }
                    }
                    if take.len() == before {
                        // The faults are elsewhere: nothing of this import can go in.
                        let all: Vec<LocatedIssue> = named.into_values().flatten().collect();
                        for &i in &take {
                            report.refused.push((changed[i].path.clone(), all.clone()));
                        }
                        take.clear();
                    }
                }
                Err(e) => return Err(e),
            }
        }
        drop(conn);

        let at = Timestamp::now();
        let mut tx = db.begin().await?;
        changes::lock_guide_writes(&mut tx).await?;
        for (guide_id, path, sha, current) in &same_text {
            store::mark_imported(&mut tx, *guide_id, path, sha, *current).await?;
            store::clear_import_fault(&mut tx, path).await?;
        }
        for &i in &take {
            let c = &changed[i];
            let guide_id = match &c.guide {
                Some(g) => g.id,
                None => store::insert_guide(&mut tx, slug_of(&c.path), None, at).await?,
            };
            let state = if c.conflict {
                RevisionState::Conflict
            } else {
                RevisionState::Published
            };
            let revision = store::insert_revision(
                &mut tx,
                NewRevision {
                    guide_id,
                    path: &c.path,
                    text: &c.text,
                    author: CONTENT_FOLDER,
                    origin: Origin::Import,
                    summary: if c.guide.is_none() {
                        "First import from the content folder"
                    } else {
                        "Changed in the content folder"
                    },
                    state,
                    base_revision: c.guide.as_ref().and_then(|g| g.current_revision),
                    lines: lines_changed(c.current.as_ref().map_or("", |(_, t)| t), &c.text),
                    at,
                },
            )
            .await?;
            if c.conflict {
                store::mark_imported(&mut tx, guide_id, &c.path, &c.sha, None).await?;
                report.conflicts.push(c.path.clone());
            } else {
                store::make_current(&mut tx, guide_id, slug_of(&c.path), revision).await?;
                store::mark_imported(&mut tx, guide_id, &c.path, &c.sha, Some(revision)).await?;
                report.imported.push(c.path.clone());
            }
            store::clear_import_fault(&mut tx, &c.path).await?;
        }
        for (path, issues) in &report.refused {
            let faults: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
            let file_sha = changed
                .iter()
                .find(|c| &c.path == path)
                .map(|c| c.sha.clone())
                .unwrap_or_default();
            store::set_import_fault(&mut tx, path, &file_sha, &faults.join("\n"), at).await?;
        }
        if !take.is_empty() {
            changes::record(&mut tx, ChangeKind::Guides, "", changes::this_node()).await?;
        }
        tx.commit().await?;
        for (path, issues) in &report.refused {
            tracing::warn!(%path, faults = issues.len(), "a changed guide file fails the lint and was not imported");
        }
        if !report.imported.is_empty() {
            tracing::info!(
                files = report.imported.len(),
                "imported changed guide files"
            );
        }
        if !report.conflicts.is_empty() {
            tracing::warn!(files = ?report.conflicts, "guide files changed that were also edited in the browser: kept as conflicts for an editor");
        }
        // A conflict changes nothing readers see; only a published import swaps the library.
        if let (Some(lib), true) = (candidate, take.iter().any(|&i| !changed[i].conflict)) {
            self.publish(lib);
        }
        Ok(report)
    }

    /// Watches the content folder and imports whatever changes there (a `git pull` included).
    /// The watcher lives as long as the returned task.
    pub fn watch_folder(&self) -> Result<tokio::task::JoinHandle<()>, notify::Error> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(event) = res {
                    if !matches!(event.kind, notify::EventKind::Access(_)) {
                        let _ = tx.send(());
                    }
                }
            })?;
        watcher.watch(self.content_dir(), RecursiveMode::Recursive)?;
        let guides = self.clone();
        Ok(tokio::spawn(async move {
            let _watcher = watcher;
            while rx.recv().await.is_some() {
                // A pull writes many files in a burst: settle, then import once.
                tokio::time::sleep(Duration::from_millis(150)).await;
                while rx.try_recv().is_ok() {}
                if let Err(e) = guides.import_folder().await {
                    tracing::warn!(error = %e, "importing the changed content folder failed");
                }
            }
        }))
    }
}

fn read_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, GuideError> {
    let mut out = Vec::new();
    for (rel, abs) in list_guide_files(dir)? {
        match std::fs::read(&abs) {
            Ok(bytes) => out.push((rel, bytes)),
            // Removed between listing and reading (a pull in progress): the next event brings it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ContentError::Io { path: abs, source }.into()),
        }
    }
    out.sort();
    Ok(out)
}
