//! The tantivy index on disk: schema, opening (or rebuilding when missing, corrupt or old),
//! one writer whose commits run off the async threads, one reader reloaded explicitly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, STORED, STRING,
};
use tantivy::{
    doc, DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
};

use super::query::CachedGuide;
use super::tokenizer;
use crate::content::{Guide, Library, Platform};

/// Bump when the schema or the tokenizer changes: an index from an older version is rebuilt.
pub const SCHEMA_VERSION: u32 = 2;
const META_FILE: &str = "faultbook-index.json";
const WRITER_MEMORY: usize = 50_000_000;

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
}

#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub kind: Field,
    pub id: Field,
    pub guide: Field,
    pub platform: Field,
    pub title: Field,
    pub alarms: Field,
    pub products: Field,
    pub body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer(tokenizer::ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let opts = TextOptions::default().set_indexing_options(idx);
        if stored {
            opts.set_stored()
        } else {
            opts
        }
    };
    let fields = Fields {
        kind: b.add_text_field("kind", STRING | STORED),
        id: b.add_text_field("id", STRING | STORED),
        guide: b.add_text_field("guide", STRING | STORED),
        platform: b.add_text_field("platform", STRING | STORED),
        title: b.add_text_field("title", text(true)),
        alarms: b.add_text_field("alarms", text(true)),
        products: b.add_text_field("products", text(false)),
        body: b.add_text_field("body", text(true)),
    };
    (b.build(), fields)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Guide,
    Case,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Guide => "guide",
            DocKind::Case => "case",
        }
    }
}

/// One searchable thing: a guide, or a case record.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub kind: DocKind,
    /// Slug for a guide, UUID for a case.
    pub id: String,
    /// For a case, the guide it belongs to, if any.
    pub guide: Option<String>,
    pub platform: Option<Platform>,
    pub title: String,
    pub alarms: Vec<String>,
    pub products: Vec<String>,
    pub body: String,
}

impl IndexDoc {
    pub fn from_guide(g: &Guide) -> IndexDoc {
        IndexDoc {
            kind: DocKind::Guide,
            id: g.slug.clone(),
            guide: None,
            platform: Some(g.front.platform),
            title: g.front.title.clone(),
            alarms: g.front.alarms.clone(),
            // The slug is a name people see in links and say aloud ("the ftlinx guide").
            products: g
                .front
                .products
                .iter()
                .cloned()
                .chain([g.slug.replace('-', " ")])
                .collect(),
            body: g.text.clone(),
        }
    }
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

/// One tantivy index on disk with its one writer and its one reader (reloaded explicitly).
#[derive(Clone)]
pub struct Part {
    pub(crate) reader: IndexReader,
    writer: Arc<Mutex<IndexWriter>>,
}

impl Part {
    fn create(dir: &Path) -> Result<Part, SearchError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let (schema, _) = schema();
        let index = Index::create(MmapDirectory::open(dir)?, schema, Default::default())?;
        Part::from_index(index)
    }

    fn from_index(index: Index) -> Result<Part, SearchError> {
        index
            .tokenizers()
            .register(tokenizer::ANALYZER, tokenizer::analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        Ok(Part {
            reader,
            writer: Arc::new(Mutex::new(writer)),
        })
    }

    /// Opens an existing part and proves its files are readable.
    fn open(dir: &Path) -> Result<Part, String> {
        let index = MmapDirectory::open(dir)
            .map_err(|e| e.to_string())
            .and_then(|d| Index::open(d).map_err(|e| e.to_string()))
            .map_err(|e| format!("index corrupt ({e})"))?;
        if index.schema() != schema().0 {
            return Err("index schema differs from this version's".into());
        }
        let part = Part::from_index(index).map_err(|e| format!("index corrupt ({e})"))?;
        let (_, fields) = schema();
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
    pub(crate) guides: Part,
    pub(crate) cases: Part,
    pub(crate) fields: Fields,
    /// Guide hits by address, read once; cleared whenever guides are re-indexed.
    pub(crate) guide_cache: Arc<RwLock<HashMap<DocAddress, Arc<CachedGuide>>>>,
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
            fields: schema().1,
            guide_cache: Arc::default(),
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

    /// Opens the index, rebuilding it from the guides (and `extra` records) when it is missing,
    /// corrupt or from an older schema, and re-indexing guides when their content changed.
    pub fn open_or_rebuild(
        dir: &Path,
        library: &Library,
        extra: impl FnOnce() -> Vec<IndexDoc>,
    ) -> Result<(SearchIndex, OpenOutcome), SearchError> {
        match SearchIndex::try_open(dir) {
            Ok((index, meta)) if meta.content_hash == library.content_hash => {
                Ok((index, OpenOutcome::UpToDate))
            }
            Ok((index, _)) => {
                index.replace_guides_blocking(library)?;
                Ok((index, OpenOutcome::GuidesReindexed))
            }
            Err(why) => {
                let index = SearchIndex::create_fresh(dir)?;
                let mut docs: Vec<IndexDoc> =
                    library.all().iter().map(IndexDoc::from_guide).collect();
                docs.extend(extra());
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

    fn to_document(&self, d: &IndexDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = doc!(
            f.kind => d.kind.as_str(),
            f.id => d.id.as_str(),
            f.guide => d.guide.as_deref().unwrap_or(""),
            f.platform => d.platform.map_or("", Platform::as_str),
            f.title => d.title.as_str(),
            f.body => d.body.as_str(),
        );
        for a in &d.alarms {
            doc.add_text(f.alarms, a);
        }
        for p in &d.products {
            doc.add_text(f.products, p);
        }
        doc
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
                w.add_document(self.to_document(d))?;
                progress(i as u64 + 1);
            }
            g.commit()?;
            c.commit()?;
        }
        self.guides.reader.reload()?;
        self.cases.reader.reload()?;
        self.forget_guide_tokens();
        self.write_meta(content_hash)
    }

    /// Re-indexes every guide, keeping cases.
    pub fn replace_guides_blocking(&self, library: &Library) -> Result<(), SearchError> {
        {
            let mut w = self.guides.writer()?;
            w.delete_all_documents()?;
            for g in library.all() {
                w.add_document(self.to_document(&IndexDoc::from_guide(g)))?;
            }
            w.commit()?;
        }
        self.guides.reader.reload()?;
        self.forget_guide_tokens();
        self.write_meta(&library.content_hash)
    }

    /// Adds or replaces one document and commits, on a blocking thread; searchable on return.
    pub async fn upsert(&self, d: IndexDoc) -> Result<(), SearchError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || -> Result<(), SearchError> {
            let part = this.part(d.kind);
            {
                let mut w = part.writer()?;
                w.delete_term(Term::from_field_text(this.fields.id, &d.id));
                w.add_document(this.to_document(&d))?;
                w.commit()?;
            }
            part.reader.reload()?;
            Ok(())
        })
        .await?
    }

    fn forget_guide_tokens(&self) {
        if let Ok(mut m) = self.guide_cache.write() {
            m.clear();
        }
    }

    pub fn num_docs(&self) -> u64 {
        self.guides.reader.searcher().num_docs() + self.cases.reader.searcher().num_docs()
    }
}
