//! The tantivy indexes on disk: opening (or rebuilding when missing, corrupt or old), one
//! writer each whose commits run off the async threads, one reader each reloaded explicitly,
//! and searching, which reads both and runs off the async threads too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::directory::MmapDirectory;
use tantivy::query::Query;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Term};
use tokio::sync::Semaphore;

use super::confidence;
use super::document::{self, DocKind, IndexDoc};
use super::guide_cache::GuideCache;
use super::hit::{self, SearchOutcome};
use super::ocr::Lexicon;
use super::query::{self, BuiltQuery};
use super::schema::{self, Fields, SCHEMA_VERSION};
use super::{snippet, spelling, status};
use crate::content::{Library, Platform};

const META_FILE: &str = "faultbook-index.json";
const WRITER_MEMORY: usize = 50_000_000;
/// Most hits one search returns.
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("search index: {0}")]
    OpenDirectory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index writer is unavailable after an earlier failure")]
    WriterPoisoned,
    #[error("search index background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("searches are shut down")]
    SearchesClosed,
    #[error("search index commit failed: {0}")]
    Commit(String),
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: String,
    pub platform: Option<Platform>,
    pub limit: usize,
    /// Count matches per platform too (for filter links).
    pub with_counts: bool,
    /// Search cases too; false for someone who may not read cases, so that neither hits nor
    /// word statistics from cases reach them.
    pub include_cases: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Meta {
    schema: u32,
    content_hash: String,
}

/// Why the index was (re)built at start, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenOutcome {
    UpToDate,
    Rebuilt(String),
    GuidesReindexed,
}

/// A document waiting for the next commit, and who to tell when it is searchable.
type Waiting = (IndexDoc, tokio::sync::oneshot::Sender<Result<(), String>>);

/// One tantivy index on disk with its one writer and its one reader (reloaded explicitly).
#[derive(Clone)]
struct Part {
    reader: IndexReader,
    writer: Arc<Mutex<IndexWriter>>,
    /// Documents filed while a commit runs wait here and go into the next one together.
    waiting: Arc<Mutex<Vec<Waiting>>>,
}

impl Part {
    fn create(dir: &Path) -> Result<Part, SearchError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let (schema, _) = schema::schema();
        let index = Index::create(MmapDirectory::open(dir)?, schema, Default::default())?;
        Part::from_index(index)
    }

    fn from_index(index: Index) -> Result<Part, SearchError> {
        schema::register_tokenizer(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        Ok(Part {
            reader,
            writer: Arc::new(Mutex::new(writer)),
            waiting: Arc::default(),
        })
    }

    /// Opens an existing part and proves its files are readable.
    fn open(dir: &Path) -> Result<Part, String> {
        let index = MmapDirectory::open(dir)
            .map_err(|e| e.to_string())
            .and_then(|d| Index::open(d).map_err(|e| e.to_string()))
            .map_err(|e| format!("index corrupt ({e})"))?;
        if index.schema() != schema::schema().0 {
            return Err("index schema differs from this version's".into());
        }
        let part = Part::from_index(index).map_err(|e| format!("index corrupt ({e})"))?;
        let (_, fields) = schema::schema();
        let searcher = part.reader.searcher();
        for seg in searcher.segment_readers() {
            seg.inverted_index(fields.alarms)
                .map_err(|e| format!("index corrupt ({e})"))?;
            seg.get_store_reader(1)
                .map_err(|e| format!("index corrupt ({e})"))?;
        }
        Ok(part)
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, SearchError> {
        self.writer.lock().map_err(|_| SearchError::WriterPoisoned)
    }
}

/// The search index: guides and cases, each in its own tantivy index under one folder. Guides
/// are few and cases many; kept apart, a guide query never walks the case postings and the
/// case query needs no filter, so tantivy can skip blocks that cannot reach the top hits.
#[derive(Clone)]
pub struct SearchIndex {
    guides: Part,
    cases: Part,
    fields: Fields,
    /// Cleared whenever guides are re-indexed.
    guide_cache: Arc<GuideCache>,
    /// The names a misread alarm name may be taken for; replaced whenever guides are re-indexed.
    lexicon: Arc<RwLock<Arc<Lexicon>>>,
    /// One permit per core: searches beyond that wait their turn in order instead of all
    /// sharing the cores at once, which would slow every one of them.
    search_permits: Arc<Semaphore>,
    dir: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SearchError + '_ {
    move |source| SearchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SearchIndex {
    fn assemble(dir: &Path, guides: Part, cases: Part) -> SearchIndex {
        SearchIndex {
            guides,
            cases,
            fields: schema::schema().1,
            guide_cache: Arc::default(),
            lexicon: Arc::new(RwLock::new(Arc::new(Lexicon::new([])))),
            search_permits: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            dir: dir.to_path_buf(),
        }
    }

    /// A fresh, empty index in `dir`, replacing whatever was there.
    pub fn create_fresh(dir: &Path) -> Result<SearchIndex, SearchError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io_err(dir))?;
        }
        let guides = Part::create(&dir.join("guides"))?;
        let cases = Part::create(&dir.join("cases"))?;
        Ok(SearchIndex::assemble(dir, guides, cases))
    }

    /// Opens the index in `dir` if it is usable and current; says why when it is not.
    fn try_open(dir: &Path) -> Result<(SearchIndex, Meta), String> {
        if !dir.exists() {
            return Err("no index yet".into());
        }
        let meta: Meta = std::fs::read(dir.join(META_FILE))
            .map_err(|e| format!("index metadata unreadable ({e})"))
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| format!("index metadata corrupt ({e})"))
            })?;
        if meta.schema != SCHEMA_VERSION {
            return Err(format!(
                "index schema {} is older than {SCHEMA_VERSION}",
                meta.schema
            ));
        }
        let guides = Part::open(&dir.join("guides"))?;
        let cases = Part::open(&dir.join("cases"))?;
        Ok((SearchIndex::assemble(dir, guides, cases), meta))
    }

    /// Opens the index, rebuilding it from the guides and `cases` when it is missing, corrupt
    /// or from an older schema, and re-indexing guides when their content changed. `cases` is
    /// called only for a rebuild.
    pub fn open_or_rebuild(
        dir: &Path,
        library: &Library,
        cases: impl FnOnce() -> Vec<IndexDoc>,
    ) -> Result<(SearchIndex, OpenOutcome), SearchError> {
        match SearchIndex::try_open(dir) {
            Ok((index, meta)) if meta.content_hash == library.content_hash => {
                index.learn_alarms(library.all().iter().flat_map(|g| &g.front.alarms));
                Ok((index, OpenOutcome::UpToDate))
            }
            Ok((index, _)) => {
                index.replace_guides_blocking(library)?;
                Ok((index, OpenOutcome::GuidesReindexed))
            }
            Err(why) => {
                let index = SearchIndex::create_fresh(dir)?;
                let docs = document::documents(library, cases());
                index.rebuild_blocking(&library.content_hash, docs, |_| {})?;
                Ok((index, OpenOutcome::Rebuilt(why)))
            }
        }
    }

    fn part(&self, kind: DocKind) -> &Part {
        match kind {
            DocKind::Guide => &self.guides,
            DocKind::Case => &self.cases,
        }
    }

    fn write_meta(&self, content_hash: &str) -> Result<(), SearchError> {
        let meta = Meta {
            schema: SCHEMA_VERSION,
            content_hash: content_hash.to_string(),
        };
        let path = self.dir.join(META_FILE);
        let tmp = self.dir.join(format!("{META_FILE}.tmp"));
        let bytes = serde_json::to_vec(&meta).unwrap_or_default();
        std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Replaces everything in the index with `docs`; `progress` is told after each document.
    pub fn rebuild_blocking(
        &self,
        content_hash: &str,
        docs: Vec<IndexDoc>,
        mut progress: impl FnMut(u64),
    ) -> Result<(), SearchError> {
        {
            let mut g = self.guides.writer()?;
            let mut c = self.cases.writer()?;
            g.delete_all_documents()?;
            c.delete_all_documents()?;
            for (i, d) in docs.iter().enumerate() {
                let w = if d.kind == DocKind::Guide {
                    &mut g
                } else {
                    &mut c
                };
                w.add_document(d.to_tantivy(&self.fields))?;
                progress(i as u64 + 1);
            }
            g.commit()?;
            c.commit()?;
        }
        self.guides.reader.reload()?;
        self.cases.reader.reload()?;
        self.forget_guide_tokens();
        self.learn_alarms(
            docs.iter()
                .filter(|d| d.kind == DocKind::Guide)
                .flat_map(|d| &d.alarms),
        );
        self.write_meta(content_hash)
    }

    /// Re-indexes every guide, keeping cases.
    pub fn replace_guides_blocking(&self, library: &Library) -> Result<(), SearchError> {
        {
            let mut w = self.guides.writer()?;
            w.delete_all_documents()?;
            for g in library.all() {
                w.add_document(IndexDoc::from_guide(g).to_tantivy(&self.fields))?;
            }
            w.commit()?;
        }
        self.guides.reader.reload()?;
        self.forget_guide_tokens();
        self.learn_alarms(library.all().iter().flat_map(|g| &g.front.alarms));
        self.write_meta(&library.content_hash)
    }

    /// Adds or replaces one document; searchable on return. A tantivy commit syncs several
    /// files, so documents that arrive while one runs share the next (a group commit): under
    /// concurrent filing each case still waits for its own commit, but commits do not queue.
    pub async fn upsert(&self, d: IndexDoc) -> Result<(), SearchError> {
        let (told, committed) = tokio::sync::oneshot::channel();
        let kind = d.kind;
        self.part(kind)
            .waiting
            .lock()
            .map_err(|_| SearchError::WriterPoisoned)?
            .push((d, told));
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.commit_waiting(kind)).await??;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(SearchError::Commit(why)),
            Err(_) => Err(SearchError::WriterPoisoned),
        }
    }

    /// Commits every waiting document of a part, if another call has not already done so.
    fn commit_waiting(&self, kind: DocKind) -> Result<(), SearchError> {
        let part = self.part(kind);
        let mut w = part.writer()?;
        let batch: Vec<Waiting> = std::mem::take(
            &mut *part
                .waiting
                .lock()
                .map_err(|_| SearchError::WriterPoisoned)?,
        );
        if batch.is_empty() {
            return Ok(());
        }
        let result = (|| -> Result<(), SearchError> {
            for (d, _) in &batch {
                w.delete_term(Term::from_field_text(self.fields.id, &d.id));
                w.add_document(d.to_tantivy(&self.fields))?;
            }
            w.commit()?;
            part.reader.reload()?;
            Ok(())
        })();
        if result.is_err() {
            // Leave the writer as it was before this batch, so a later commit cannot carry
            // half of it.
            let _ = w.rollback();
        }
        let told = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
        for (_, tell) in batch {
            let _ = tell.send(told.clone());
        }
        result
    }

    /// Takes the guides' alarm names as names a misread one may be taken for.
    fn learn_alarms<'a>(&self, alarms: impl IntoIterator<Item = &'a String>) {
        let lexicon = Arc::new(Lexicon::new(alarms.into_iter().map(String::as_str)));
        // A poisoned lock only means a panic elsewhere; the value inside is whole.
        let mut held = self.lexicon.write().unwrap_or_else(|e| e.into_inner());
        *held = lexicon;
    }

    fn lexicon(&self) -> Arc<Lexicon> {
        self.lexicon
            .read()
            .map_or_else(|e| e.into_inner().clone(), |l| l.clone())
    }

    fn forget_guide_tokens(&self) {
        self.guide_cache.clear();
    }

    pub fn num_case_docs(&self) -> u64 {
        self.cases.reader.searcher().num_docs()
    }

    /// Adds every case in `docs` that the index lacks or holds differently, keeping guides:
    /// the catch-up after filings that reached the database but not the index.
    pub fn replace_cases_blocking(&self, docs: Vec<IndexDoc>) -> Result<(), SearchError> {
        {
            let mut w = self.cases.writer()?;
            w.delete_all_documents()?;
            for d in docs.iter().filter(|d| d.kind == DocKind::Case) {
                w.add_document(d.to_tantivy(&self.fields))?;
            }
            w.commit()?;
        }
        self.cases.reader.reload()?;
        Ok(())
    }

    pub fn num_docs(&self) -> u64 {
        self.guides.reader.searcher().num_docs() + self.cases.reader.searcher().num_docs()
    }

    /// Runs a search on a blocking thread, so the async threads stay free for other requests
    /// while tantivy walks postings and reads stored documents; at most one search per core.
    pub async fn search(&self, req: SearchRequest) -> Result<SearchOutcome, SearchError> {
        let permit = self
            .search_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SearchError::SearchesClosed)?;
        let this = self.clone();
        let started = std::time::Instant::now();
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            this.search_blocking(&req)
        })
        .await?;
        crate::telemetry::prometheus::search(started.elapsed());
        outcome
    }

    /// Runs a search on this thread. Never fails on odd input: anything unsearchable gives an
    /// empty outcome.
    pub fn search_blocking(&self, req: &SearchRequest) -> Result<SearchOutcome, SearchError> {
        let gs = self.guides.reader.searcher();
        let cs = self.cases.reader.searcher();
        // Codes and names misread by OCR are searched, and explained, as the one code they can
        // be; the cards below come from the same reading.
        let reading = self.lexicon().read(&query::clean_input(&req.text));
        let text = reading.text;
        let BuiltQuery {
            guides,
            cases,
            fuzzy_words,
            snippet_terms,
            terms_used,
            checks,
        } = query::build(&self.fields, &gs, req.include_cases.then_some(&cs), &text)?;
        let cases = cases.filter(|_| req.include_cases);
        let mut outcome = SearchOutcome {
            status_code: status::table().find_in(&text),
            classic_codes: super::classic::table().find_in(&text),
            code_readings: reading.codes,
            terms_used,
            fuzzy_words,
            ..SearchOutcome::default()
        };
        if guides.is_none() && cases.is_none() {
            return Ok(outcome);
        }
        let on_platform =
            |q: &dyn Query, p: Platform| query::platform_filter(&self.fields, q.box_clone(), p);
        if req.with_counts {
            for p in Platform::ALL {
                let mut n = 0;
                if let Some(q) = &guides {
                    n += gs.search(&on_platform(q.as_ref(), p), &Count)?;
                }
                if let Some(q) = &cases {
                    n += cs.search(&on_platform(q.as_ref(), p), &Count)?;
                }
                outcome.platform_counts.push((p, n));
            }
        }
        let filter = |q: Option<Box<dyn Query>>| match (q, req.platform) {
            (Some(q), Some(p)) => Some(query::platform_filter(&self.fields, q, p)),
            (q, _) => q,
        };
        let limit = req.limit.clamp(1, MAX_LIMIT);
        // Two guides at least: whether the first clearly leads depends on the second.
        let top = query::guides_then_cases(&gs, filter(guides), &cs, filter(cases), limit.max(2))?;
        let mut answer_guides = Vec::new();
        let addrs = |k: DocKind| -> Vec<DocAddress> {
            top.iter().filter(|t| t.1 == k).map(|t| t.2).collect()
        };
        let mut guide_found =
            confidence::find(&checks, &gs, &addrs(DocKind::Guide), true)?.into_iter();
        let mut case_found =
            confidence::find(&checks, &cs, &addrs(DocKind::Case), false)?.into_iter();
        for (score, kind, addr) in top {
            let mut hit = match kind {
                DocKind::Guide => {
                    let g = self.guide_cache.get(&gs, &self.fields, addr)?;
                    let hit = hit::guide_hit(&g, score, &snippet_terms);
                    answer_guides.push(g);
                    hit
                }
                DocKind::Case => hit::case_hit(&cs.doc(addr)?, &self.fields, score, &snippet_terms),
            };
            let found = match kind {
                DocKind::Guide => guide_found.next(),
                DocKind::Case => case_found.next(),
            }
            .unwrap_or_default();
            hit.coverage = found.coverage;
            hit.names_alarm = found.names_alarm;
            outcome.hits.push(hit);
        }
        outcome.judge();
        if !outcome.fuzzy_words.is_empty() {
            let answers: Vec<(&str, &[snippet::SnippetToken])> = answer_guides
                .iter()
                .filter(|g| outcome.hits.iter().any(|h| h.answer && h.id == g.slug))
                .map(|g| (g.body.as_str(), g.tokens.as_slice()))
                .collect();
            outcome.corrections = spelling::corrections(&text, &outcome.fuzzy_words, &answers);
            outcome.showing_results_for =
                spelling::showing_results_for(&text, &outcome.corrections);
        }
        outcome.hits.truncate(limit);
        if outcome.best_match.is_some_and(|i| i >= limit) {
            outcome.best_match = None;
        }
        Ok(outcome)
    }
}
