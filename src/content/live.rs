//! The guides the server serves: built from the current revision of each guide in the database,
//! swapped whole after every save, restore, accepted suggestion or imported file. Every write
//! is checked by the same lint as `faultbook check`, against the whole library it would make.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{watch, Mutex};

use super::compose::{lines_changed, GuideFields};
use super::revisions::{self as store, NewRevision, Origin, Revision, RevisionState};
use super::{ContentError, Library, LocatedIssue, Platform, PUBLISHED_FILE, REDIRECTS_FILE};
use crate::db::changes::{self, ChangeKind};
use crate::db::Db;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum GuideError {
    #[error("there is no guide `{0}`")]
    NotFound(String),
    #[error("there is no revision {0} of this guide")]
    NoRevision(i64),
    #[error("the guide does not pass the lint")]
    Invalid(Vec<LocatedIssue>),
    /// The edit started from an older revision than the current one.
    #[error("the guide changed since this edit started")]
    Stale { current: Box<Revision> },
    #[error("the slug `{0}` is already taken")]
    SlugTaken(String),
    #[error("`{0}` is not a valid slug: use lower-case letters, digits and dashes")]
    BadSlug(String),
    #[error("revision {0} is not waiting for a decision")]
    NotWaiting(i64),
    #[error("cannot read the content folder: {0}")]
    Content(#[from] ContentError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Save as the current text, or as a suggestion an editor decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Publish,
    Suggest,
}

/// One save from the editor.
#[derive(Debug, Clone)]
pub struct GuideEdit {
    /// The guide being edited, or `None` for a new guide.
    pub slug: Option<String>,
    /// The revision the edit started from; a save over a newer one is refused.
    pub base_revision: Option<i64>,
    /// The slug to save under: a different one renames the guide.
    pub new_slug: String,
    pub fields: GuideFields,
    pub summary: String,
    pub intent: Intent,
}

#[derive(Debug, Clone)]
pub struct Saved {
    pub revision: i64,
    pub slug: String,
    /// The slug before a rename, now an alias.
    pub renamed_from: Option<String>,
    pub state: RevisionState,
}

/// What an editor decides on a waiting revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Publish it: a suggestion accepted, or a conflicting file text taken.
    Take,
    /// Leave the current text: a suggestion declined, or a file text set aside.
    Leave,
}

/// The guide service: the live library, its revisions, and the one writer.
#[derive(Clone)]
pub struct Guides {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    content_dir: PathBuf,
    library: ArcSwap<Library>,
    /// One writer at a time: each write checks the library it is about to make.
    writes: Mutex<()>,
    changed: watch::Sender<u64>,
}

impl Guides {
    /// Imports the content folder and builds the library from the database. On a first start
    /// the folder must pass the lint as a whole, as before guides lived in the database.
    pub async fn open(db: Db, content_dir: &Path) -> Result<Guides, GuideError> {
        let (changed, _) = watch::channel(0);
        let guides = Guides {
            inner: Arc::new(Inner {
                db,
                content_dir: content_dir.to_path_buf(),
                library: ArcSwap::from_pointee(Library::default()),
                writes: Mutex::new(()),
                changed,
            }),
        };
        if store::guide_count(&guides.inner.db).await? == 0 {
            // Refuse a broken folder with every fault named, as `faultbook check` would.
            Library::load(content_dir)?;
        }
        let _report = guides.import_folder().await?;
        let mut conn = guides.inner.db.acquire().await?;
        let library = guides.build(&mut conn, &[]).await?;
        guides.publish(library);
        Ok(guides)
    }

    /// Rebuilds the library from the database: another node changed the guides.
    pub async fn reload(&self) -> Result<(), GuideError> {
        let _writer = self.lock().await;
        let mut conn = self.inner.db.acquire().await?;
        let library = self.build(&mut conn, &[]).await?;
        drop(conn);
        self.publish(library);
        Ok(())
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn content_dir(&self) -> &Path {
        &self.inner.content_dir
    }

    /// The library as it is now. Cheap: a reference count.
    pub fn current(&self) -> Arc<Library> {
        self.inner.library.load_full()
    }

    /// Ticks after every change of the library (to re-index guides).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    pub(super) fn publish(&self, library: Library) {
        self.inner.library.store(Arc::new(library));
        self.inner.changed.send_modify(|n| *n += 1);
    }

    pub(super) async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.writes.lock().await
    }

    /// The library the database holds, with `replace` applied: `(old path, new path, text)`,
    /// old path `None` for a new guide. Published slugs are the file's plus the database's.
    pub(super) async fn build(
        &self,
        conn: &mut sqlx::AnyConnection,
        replace: &[(Option<String>, String, String)],
    ) -> Result<Library, GuideError> {
        let mut sources = store::current_sources(conn).await?;
        for (old, new, text) in replace {
            if let Some(old) = old {
                sources.retain(|(p, _)| p != old);
            }
            sources.retain(|(p, _)| p != new);
            sources.push((new.clone(), text.clone()));
        }
        let (redirects, published) = self.folder_lists(conn, replace).await?;
        let sources = sources
            .into_iter()
            .map(|(p, t)| (p, t.into_bytes()))
            .collect();
        Library::from_parts(sources, redirects, published).map_err(|e| match e {
            ContentError::Invalid(issues) => GuideError::Invalid(issues),
            other => GuideError::Content(other),
        })
    }

    /// `redirects.toml` and the published list (file plus database twin, plus the slugs `replace`
    /// brings, since a save publishes its slug).
    async fn folder_lists(
        &self,
        conn: &mut sqlx::AnyConnection,
        replace: &[(Option<String>, String, String)],
    ) -> Result<(Option<String>, Option<String>), GuideError> {
        let read = |name: &str| -> Result<Option<String>, GuideError> {
            let path = self.inner.content_dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(s) => Ok(Some(s)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(ContentError::Io { path, source }.into()),
            }
        };
        let redirects = read(REDIRECTS_FILE)?;
        let file = read(PUBLISHED_FILE)?;
        let mut extra = store::published_slugs(conn).await?;
        extra.extend(replace.iter().map(|(_, p, _)| slug_of(p).to_string()));
        if file.is_none() && extra.is_empty() {
            return Ok((redirects, None));
        }
        let mut published = file.unwrap_or_default();
        if !published.is_empty() && !published.ends_with('\n') {
            published.push('\n');
        }
        for slug in extra {
            published.push_str(&slug);
            published.push('\n');
        }
        Ok((redirects, Some(published)))
    }

    /// Saves an edit or a new guide, or files it as a suggestion.
    pub async fn save(&self, author: &str, edit: GuideEdit) -> Result<Saved, GuideError> {
        let _writer = self.lock().await;
        let db = &self.inner.db;
        let current_lib = self.current();
        let new_slug = edit.new_slug.trim().to_string();
        if !super::is_valid_slug(&new_slug) {
            return Err(GuideError::BadSlug(new_slug));
        }
        let existing = match &edit.slug {
            Some(slug) => {
                let slug = current_lib
                    .find(slug)
                    .map(|g| g.slug.clone())
                    .ok_or_else(|| GuideError::NotFound(slug.clone()))?;
                Some(
                    store::guide_by_slug(db, &slug)
                        .await?
                        .ok_or(GuideError::NotFound(slug))?,
                )
            }
            None => None,
        };
        let current = match &existing {
            Some(g) => match g.current_revision {
                Some(id) => store::revision_by_id(db, id).await?,
                None => None,
            },
            None => None,
        };
        if let (Some(cur), Some(_)) = (&current, &existing) {
            if edit.base_revision != Some(cur.id) {
                return Err(GuideError::Stale {
                    current: Box::new(cur.clone()),
                });
            }
        }
        // The slug must be free, unless it already leads to this guide (an alias taken back).
        let own_slug = existing.as_ref().map(|g| g.slug.as_str());
        if Some(new_slug.as_str()) != own_slug {
            let taken = match current_lib.resolve(&new_slug) {
                None => false,
                Some(_) => current_lib.find(&new_slug).map(|g| g.slug.as_str()) != own_slug,
            };
            if taken || (existing.is_none() && store::guide_by_slug(db, &new_slug).await?.is_some())
            {
                return Err(GuideError::SlugTaken(new_slug));
            }
        }
        let renamed_from = own_slug.filter(|s| *s != new_slug).map(str::to_owned);
        let (path, text) = shaped(&edit.fields, renamed_from.as_deref(), &new_slug)?;
        let old_path = current.as_ref().map(|r| r.path.clone());
        let mut tx = db.begin().await?;
        changes::lock_guide_writes(&mut tx).await?;
        let candidate = self
            .build(&mut tx, &[(old_path.clone(), path.clone(), text.clone())])
            .await?;
        let at = Timestamp::now();
        let guide_id = match &existing {
            Some(g) => g.id,
            None => store::insert_guide(&mut tx, &new_slug, None, at).await?,
        };
        let lines = lines_changed(current.as_ref().map_or("", |r| r.text.as_str()), &text);
        let (origin, state) = match (edit.intent, existing.is_some()) {
            (Intent::Suggest, _) => (Origin::Suggestion, RevisionState::Pending),
            (Intent::Publish, true) => (Origin::Edit, RevisionState::Published),
            (Intent::Publish, false) => (Origin::New, RevisionState::Published),
        };
        let revision = store::insert_revision(
            &mut tx,
            NewRevision {
                guide_id,
                path: &path,
                text: &text,
                author,
                origin,
                summary: edit.summary.trim(),
                state,
                base_revision: current.as_ref().map(|r| r.id),
                lines,
                at,
            },
        )
        .await?;
        if state == RevisionState::Published {
            store::make_current(&mut tx, guide_id, &new_slug, revision).await?;
            store::add_published_slug(&mut tx, &new_slug, at).await?;
            changes::record(&mut tx, ChangeKind::Guides, &new_slug, changes::this_node()).await?;
        }
        tx.commit().await?;
        if state == RevisionState::Published {
            self.publish(candidate);
        }
        Ok(Saved {
            revision,
            slug: new_slug,
            renamed_from: if state == RevisionState::Published {
                renamed_from
            } else {
                None
            },
            state,
        })
    }

    /// The guide an edit would make, checked by the lint against the whole library, without
    /// saving anything: the editor's preview.
    pub async fn preview(&self, edit: &GuideEdit) -> Result<super::Guide, GuideError> {
        let new_slug = edit.new_slug.trim();
        if !super::is_valid_slug(new_slug) {
            return Err(GuideError::BadSlug(new_slug.to_string()));
        }
        let current = match &edit.slug {
            Some(slug) => Some(self.current_revision(slug).await?),
            None => None,
        };
        let renamed_from = current
            .as_ref()
            .map(|r| r.slug().to_string())
            .filter(|s| s != new_slug);
        let (path, text) = shaped(&edit.fields, renamed_from.as_deref(), new_slug)?;
        let mut conn = self.inner.db.acquire().await?;
        let old_path = current.map(|r| r.path);
        let library = self.build(&mut conn, &[(old_path, path, text)]).await?;
        library
            .get(new_slug)
            .cloned()
            .ok_or_else(|| GuideError::NotFound(new_slug.to_string()))
    }

    /// Makes an older revision's text current again, as a new revision. The guide keeps its
    /// slug and every alias it has now, so no link breaks.
    pub async fn restore(
        &self,
        author: &str,
        slug: &str,
        revision: i64,
        base_revision: Option<i64>,
    ) -> Result<Saved, GuideError> {
        let (guide, old) = self.revision_of(slug, revision).await?;
        let current = self
            .current()
            .get(&guide.slug)
            .map(|g| g.front.aliases.clone())
            .unwrap_or_default();
        let mut fields = GuideFields::from_text(&old.text).unwrap_or_default();
        for alias in current {
            if !fields.aliases.contains(&alias) {
                fields.aliases.push(alias);
            }
        }
        if old.slug() != guide.slug && !fields.aliases.iter().any(|a| a == old.slug()) {
            fields.aliases.push(old.slug().to_string());
        }
        let saved = self
            .save(
                author,
                GuideEdit {
                    slug: Some(guide.slug.clone()),
                    base_revision,
                    new_slug: guide.slug.clone(),
                    fields,
                    summary: format!("Restored revision {revision}"),
                    intent: Intent::Publish,
                },
            )
            .await?;
        // `save` records it as an edit; say what it was.
        sqlx::query("UPDATE guide_revisions SET origin = 'restore' WHERE id = $1")
            .bind(saved.revision)
            .execute(&self.inner.db)
            .await?;
        Ok(saved)
    }

    /// A revision that belongs to the guide a slug leads to.
    pub async fn revision_of(
        &self,
        slug: &str,
        revision: i64,
    ) -> Result<(store::GuideRow, Revision), GuideError> {
        let guide = self.guide_row(slug).await?;
        let rev = store::revision_by_id(&self.inner.db, revision)
            .await?
            .filter(|r| r.guide_id == guide.id)
            .ok_or(GuideError::NoRevision(revision))?;
        Ok((guide, rev))
    }

    pub async fn guide_row(&self, slug: &str) -> Result<store::GuideRow, GuideError> {
        let lib = self.current();
        let slug = lib
            .find(slug)
            .map(|g| g.slug.clone())
            .ok_or_else(|| GuideError::NotFound(slug.to_string()))?;
        store::guide_by_slug(&self.inner.db, &slug)
            .await?
            .ok_or(GuideError::NotFound(slug))
    }

    /// The current revision of a guide: who changed it last and when, and the text.
    pub async fn current_revision(&self, slug: &str) -> Result<Revision, GuideError> {
        let guide = self.guide_row(slug).await?;
        let id = guide
            .current_revision
            .ok_or_else(|| GuideError::NotFound(slug.to_string()))?;
        store::revision_by_id(&self.inner.db, id)
            .await?
            .ok_or(GuideError::NoRevision(id))
    }

    pub async fn history(&self, slug: &str) -> Result<Vec<Revision>, GuideError> {
        let guide = self.guide_row(slug).await?;
        Ok(store::history(&self.inner.db, guide.id).await?)
    }

    /// Accepts or declines a suggestion, or takes or sets aside a conflicting file text.
    pub async fn decide(
        &self,
        reviewer: &str,
        slug: &str,
        revision: i64,
        decision: Decision,
        note: &str,
    ) -> Result<Revision, GuideError> {
        let (guide, rev) = self.revision_of(slug, revision).await?;
        let _writer = self.lock().await;
        let waiting = matches!(rev.state, RevisionState::Pending | RevisionState::Conflict);
        // Re-read under the writer: a decision made a moment ago by someone else counts.
        let fresh = store::revision_by_id(&self.inner.db, revision)
            .await?
            .ok_or(GuideError::NoRevision(revision))?;
        if !waiting || fresh.state != rev.state {
            return Err(GuideError::NotWaiting(revision));
        }
        let at = Timestamp::now();
        let mut tx = self.inner.db.begin().await?;
        changes::lock_guide_writes(&mut tx).await?;
        let new_state = match (decision, rev.state) {
            (Decision::Take, _) => RevisionState::Published,
            (Decision::Leave, RevisionState::Pending) => RevisionState::Declined,
            (Decision::Leave, _) => RevisionState::SetAside,
        };
        let mut candidate = None;
        if decision == Decision::Take {
            let current = match guide.current_revision {
                Some(id) => store::revision_by_id(&self.inner.db, id).await?,
                None => None,
            };
            // A suggestion made on an older text would undo what came since: refuse it.
            if rev.state == RevisionState::Pending
                && current.as_ref().map(|c| c.id) != rev.base_revision
            {
                if let Some(current) = current {
                    return Err(GuideError::Stale {
                        current: Box::new(current),
                    });
                }
            }
            let old_path = current.as_ref().map(|c| c.path.clone());
            let text = self.keeping_links(&guide.slug, &rev);
            if text != rev.text {
                sqlx::query("UPDATE guide_revisions SET text = $1 WHERE id = $2")
                    .bind(&text)
                    .bind(rev.id)
                    .execute(&mut *tx)
                    .await?;
            }
            candidate = Some(
                self.build(&mut tx, &[(old_path, rev.path.clone(), text)])
                    .await?,
            );
            store::make_current(&mut tx, guide.id, rev.slug(), rev.id).await?;
            store::add_published_slug(&mut tx, rev.slug(), at).await?;
            if rev.state == RevisionState::Conflict {
                sqlx::query("UPDATE guides SET imported_revision = $1 WHERE id = $2")
                    .bind(rev.id)
                    .bind(guide.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        store::set_state(&mut tx, rev.id, new_state, reviewer, note.trim(), at).await?;
        if candidate.is_some() {
            changes::record(
                &mut tx,
                ChangeKind::Guides,
                rev.slug(),
                changes::this_node(),
            )
            .await?;
        }
        tx.commit().await?;
        if let Some(lib) = candidate {
            self.publish(lib);
        }
        store::revision_by_id(&self.inner.db, revision)
            .await?
            .ok_or(GuideError::NoRevision(revision))
    }

    /// A waiting text under another slug than the guide's now (a file changed under its old
    /// name after a rename in the browser): taking it must not break the current slug or an
    /// alias, so they become aliases of the text's slug.
    fn keeping_links(&self, slug_now: &str, rev: &Revision) -> String {
        if rev.slug() == slug_now {
            return rev.text.clone();
        }
        let Some(mut fields) = GuideFields::from_text(&rev.text) else {
            return rev.text.clone();
        };
        let lib = self.current();
        let mut keep = lib
            .get(slug_now)
            .map(|g| g.front.aliases.clone())
            .unwrap_or_default();
        keep.push(slug_now.to_string());
        for alias in keep {
            if alias != rev.slug() && !fields.aliases.contains(&alias) {
                fields.aliases.push(alias);
            }
        }
        fields.to_text()
    }

    /// Files the last import refused, with why.
    pub async fn import_faults(&self) -> Result<Vec<store::ImportFault>, GuideError> {
        Ok(store::import_faults(&self.inner.db).await?)
    }

    /// Suggestions and file conflicts waiting for an editor, oldest first.
    pub async fn waiting(&self) -> Result<Vec<Revision>, GuideError> {
        let mut all = store::in_state(&self.inner.db, RevisionState::Conflict).await?;
        all.extend(store::in_state(&self.inner.db, RevisionState::Pending).await?);
        all.sort_by_key(|r| r.id);
        Ok(all)
    }

    pub async fn suggestions_by(&self, author: &str) -> Result<Vec<Revision>, GuideError> {
        Ok(store::suggestions_by(&self.inner.db, author).await?)
    }
}

/// The file path and text an edit saves: a renamed guide keeps its old slug as an alias.
fn shaped(
    fields: &GuideFields,
    renamed_from: Option<&str>,
    new_slug: &str,
) -> Result<(String, String), GuideError> {
    let mut fields = fields.clone();
    if let Some(old) = renamed_from {
        if !fields.aliases.iter().any(|a| a == old) {
            fields.aliases.push(old.to_string());
        }
    }
    fields.aliases.retain(|a| a != new_slug);
    let Some(platform) = Platform::parse(fields.platform.trim()) else {
        return Err(GuideError::Invalid(vec![LocatedIssue {
            path: "platform".into(),
            line: 0,
            reason: format!(
                "choose a platform: one of {}",
                Platform::ALL.map(|p| p.as_str()).join(", ")
            ),
        }]));
    };
    Ok((
        format!("{}/{new_slug}.md", platform.as_str()),
        fields.to_text(),
    ))
}

/// The slug a `platform/slug.md` path gives.
pub fn slug_of(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".md")
}
