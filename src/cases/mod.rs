//! Case records: what the screen said, on which machine, what was done. Parsing drafts into
//! typed cases, storing them with their photos, and reading them back. Knows nothing of HTTP.

pub mod assets;
pub mod checks;
pub mod export;
pub mod fields;
pub mod follow_up;
pub mod photos;
pub mod recurring;
pub mod similar;
pub mod store;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::{Caller, Identity};
use crate::content::{Guides, Library, Platform};
use crate::db::Db;
use crate::search::{DocKind, IndexDoc, SearchIndex};
use crate::time::Timestamp;
pub use checks::VerifyCheck;
pub use fields::{CaseDraft, FieldError, NewCase, DRAFT_FIELDS, FIELDS};
pub use follow_up::{FollowUp, PHOTOS_PER_CASE};
pub use photos::{DecodeGate, PhotoError, PhotoStore, ProcessedPhoto};
pub use store::{CaseFilter, GuideFilter, GuideRecord};

/// Short fields (names, revisions) and long fields (notes, parameter sets) have these limits.
pub const SHORT_MAX: usize = 200;
pub const LONG_MAX: usize = 10_000;
pub const ALARM_MAX: usize = 10_000;
pub const KEY_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fixed,
    Workaround,
    NotFixed,
    Escalated,
}

// Stored as its snake_case name on both engines. Written out because sqlx's derive implements
// only the concrete engines, not the `Any` driver the app runs on.
impl<DB: sqlx::Database> sqlx::Type<DB> for Outcome
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Outcome
where
    String: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut DB::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, DB>>::encode(self.as_str().to_string(), buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Outcome
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <String as sqlx::Decode<'r, DB>>::decode(value)?;
        Outcome::parse(&s).ok_or_else(|| format!("not an outcome: {s:?}").into())
    }
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Fixed,
        Outcome::Workaround,
        Outcome::NotFixed,
        Outcome::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fixed => "fixed",
            Outcome::Workaround => "workaround",
            Outcome::NotFixed => "not_fixed",
            Outcome::Escalated => "escalated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Fixed => "Fixed",
            Outcome::Workaround => "Workaround in place",
            Outcome::NotFixed => "Not fixed",
            Outcome::Escalated => "Escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoRef {
    pub id: String,
    pub width: u32,
    pub height: u32,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Case {
    #[sqlx(try_from = "crate::db::UuidText")]
    pub id: Uuid,
    pub created_at: Timestamp,
    #[sqlx(flatten)]
    pub fields: NewCase,
    /// Read by a second query for the whole list (`store::attach_photos`).
    #[sqlx(skip)]
    pub photos: Vec<PhotoRef>,
    /// Its guide's Verify steps as ticked when filed; read only for a single case.
    #[sqlx(skip)]
    pub checks: Vec<VerifyCheck>,
    #[sqlx(flatten)]
    pub record: CaseRecord,
}

/// Who filed a case and from where (as the server knows it, not as typed), and its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct CaseRecord {
    /// The account (`ana`), token (`token:mes-line4`), proxy user or `open-intake`.
    pub filed_account: String,
    pub filed_from: String,
    pub closed_at: Option<Timestamp>,
    pub closed_by: String,
    pub updated_at: Option<Timestamp>,
}

/// The columns of `CaseRecord`, for select lists.
pub(crate) const RECORD_COLUMNS: &str =
    "filed_account, filed_from, closed_at, closed_by, updated_at";

/// Who is filing: the account or token, and the client's address.
#[derive(Debug, Clone, Default)]
pub struct Filer {
    pub account: String,
    pub addr: String,
}

impl Filer {
    /// Who filed, as the case and the audit log record it.
    pub fn of(caller: &Caller) -> Filer {
        Filer {
            account: match caller.identity {
                Identity::Anonymous => "open-intake".to_string(),
                _ => caller.actor(),
            },
            addr: caller.addr.to_string(),
        }
    }
}

impl Case {
    pub fn url(&self) -> String {
        format!("/cases/{}", self.id)
    }

    /// Where it happened, most precise first: the asset, else the cell, the line or the site.
    pub fn place(&self) -> Option<&str> {
        [
            &self.fields.asset,
            &self.fields.cell,
            &self.fields.line,
            &self.fields.site,
        ]
        .into_iter()
        .map(String::as_str)
        .find(|s| !s.is_empty())
    }

    /// The first non-empty line of the alarm, at most 100 characters.
    pub fn alarm_line(&self) -> String {
        let first = self
            .fields
            .verbatim_alarm
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let mut t: String = first.chars().take(100).collect();
        if first.chars().count() > 100 {
            t.push('…');
        }
        t
    }

    /// A one-line title: the first line of the alarm, and where.
    pub fn title(&self) -> String {
        let t = self.alarm_line();
        match self.place() {
            Some(p) => format!("{t} on {p}"),
            None => t,
        }
    }

    pub fn index_doc(&self, library: &Library) -> IndexDoc {
        let f = &self.fields;
        let platform: Option<Platform> = f
            .guide
            .as_deref()
            .and_then(|g| library.find(g))
            .map(|g| g.front.platform);
        let body = [
            f.fix_applied.as_str(),
            f.notes.as_str(),
            f.site.as_str(),
            f.line.as_str(),
            f.cell.as_str(),
            f.asset.as_str(),
            f.serial.as_str(),
            f.firmware_revision.as_str(),
            f.software_version.as_str(),
            f.parameter_set.as_str(),
            f.io_mapping.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
        IndexDoc {
            kind: DocKind::Case,
            id: self.id.to_string(),
            guide: f.guide.clone(),
            platform,
            title: self.title(),
            alarms: vec![f.verbatim_alarm.clone()],
            products: Vec::new(),
            body,
        }
    }
}

/// A photo as uploaded, before any checks.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("the case has faults")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Photo(#[from] PhotoError),
    #[error("This Idempotency-Key was already used for a different case.")]
    KeyReused,
    #[error("idempotency key must be 1 to {KEY_MAX} visible characters")]
    BadKey,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("search index: {0}")]
    Search(#[from] crate::search::SearchError),
    #[error("There is no such case.")]
    NotFound,
    #[error("Only the person who filed this case, or an editor, can add to it.")]
    NotYours,
    #[error("You can add to your own case for {window} after filing it, and that time is over. Ask an editor to change it.")]
    WindowClosed { window: String },
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[cfg(feature = "test-hooks")]
    #[error("injected failure before commit")]
    Injected,
}

/// The outcome of filing: the case, and whether this request created it.
#[derive(Debug, Clone)]
pub struct Filed {
    pub case: Case,
    pub created: bool,
}

/// Files cases: photos first (synced), then the row, then the search index.
#[derive(Clone)]
pub struct CaseService {
    pub db: Db,
    pub photos: PhotoStore,
    pub search: SearchIndex,
    pub guides: Guides,
    /// The server-wide limit on photo decodes.
    pub decodes: DecodeGate,
    /// Makes the next filings fail between the photo write and the commit (crash-safety tests;
    /// only built with the `test-hooks` feature, which the test targets turn on).
    #[cfg(feature = "test-hooks")]
    pub fail_before_commit: Arc<std::sync::atomic::AtomicBool>,
}

/// A case as sent, read but not checked: the draft, its photos and its idempotency key.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub draft: CaseDraft,
    pub uploads: Vec<Upload>,
    pub key: String,
    /// The Verify steps ticked, as sent (`None`: no checklist was offered).
    pub ticked: Option<Vec<String>>,
}

fn request_hash(case: &NewCase, checks: &[VerifyCheck], photos: &[ProcessedPhoto]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(case).unwrap_or_default());
    if !checks.is_empty() {
        h.update(serde_json::to_vec(checks).unwrap_or_default());
    }
    for p in photos {
        h.update(p.sha256.as_bytes());
    }
    hex::encode(h.finalize())
}

pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_MAX && key.chars().all(|c| c.is_ascii_graphic())
}

impl CaseService {
    /// The guides as they are now.
    pub fn library(&self) -> Arc<Library> {
        self.guides.current()
    }

    pub fn new(db: Db, photos: PhotoStore, search: SearchIndex, guides: Guides) -> Self {
        CaseService {
            db,
            photos,
            search,
            guides,
            decodes: DecodeGate::default(),
            #[cfg(feature = "test-hooks")]
            fail_before_commit: Arc::default(),
        }
    }

    /// Checks a submission and files it; a newly filed case goes into the audit log.
    pub async fn submit(&self, sub: Submission, caller: &Caller) -> Result<Filed, CaseError> {
        let (case, checks) = self.check(&sub)?;
        let filed = self
            .file(case, checks, sub.uploads, &sub.key, &Filer::of(caller))
            .await?;
        if filed.created {
            let detail = format!(
                "guide {}, {} photo(s)",
                filed.case.fields.guide.as_deref().unwrap_or("none"),
                filed.case.photos.len()
            );
            let event = AuditEvent::by(caller, AuditAction::CaseFile, filed.case.id.to_string());
            audit::record(&self.db, event.detail(detail)).await;
        }
        Ok(filed)
    }

    /// Parses the fields and the Verify checklist, reporting every fault at once.
    fn check(&self, sub: &Submission) -> Result<(NewCase, Vec<VerifyCheck>), CaseError> {
        let library = self.library();
        let mut errors = Vec::new();
        let case = sub
            .draft
            .parse(&library)
            .map_err(|mut e| errors.append(&mut e))
            .ok();
        let slug = match &case {
            Some(c) => c.guide.as_deref(),
            None => sub.draft.guide.as_deref(),
        };
        let steps = slug
            .and_then(|g| library.find(g))
            .map(|g| g.verify_steps.as_slice())
            .unwrap_or_default();
        let checks = sub
            .ticked
            .as_deref()
            .map(checks::parse_ticked)
            .transpose()
            .and_then(|ticked| checks::checklist(steps, ticked.as_deref()))
            .map_err(|e| errors.push(e))
            .ok();
        match (case, checks) {
            (Some(case), Some(checks)) if errors.is_empty() => Ok((case, checks)),
            _ => Err(CaseError::Invalid(errors)),
        }
    }

    #[cfg(feature = "test-hooks")]
    fn injected_failure(&self) -> Result<(), CaseError> {
        use std::sync::atomic::Ordering;
        if self.fail_before_commit.load(Ordering::SeqCst) {
            return Err(CaseError::Injected);
        }
        Ok(())
    }

    #[cfg(not(feature = "test-hooks"))]
    fn injected_failure(&self) -> Result<(), CaseError> {
        Ok(())
    }

    pub async fn file(
        &self,
        case: NewCase,
        checks: Vec<VerifyCheck>,
        uploads: Vec<Upload>,
        key: &str,
        filer: &Filer,
    ) -> Result<Filed, CaseError> {
        if !valid_key(key) {
            return Err(CaseError::BadKey);
        }
        let processed = self.decodes.process_all(uploads).await?;
        let hash = request_hash(&case, &checks, &processed);
        if let Some(existing) = store::find_by_key(&self.db, key).await? {
            return self.replay(existing, &hash).await;
        }

        self.write_photos(&processed).await?;

        let result = match self.injected_failure() {
            Err(e) => Err(e),
            Ok(()) => {
                let new = store::Insert {
                    case: &case,
                    checks: &checks,
                    photos: &processed,
                    key,
                    request_hash: &hash,
                    filer,
                };
                store::insert(&self.db, new).await
            }
        };
        match result {
            Ok(Some(stored)) => {
                crate::telemetry::prometheus::case_filed();
                // The case is committed: it is acknowledged even if the index cannot take it
                // now (a full disk, say). The index lag metric shows it, and the next start
                // catches the index up from the database.
                if let Err(e) = self.search.upsert(stored.index_doc(&self.library())).await {
                    tracing::error!(case = %stored.id, "case saved but not indexed: {e}");
                }
                Ok(Filed {
                    case: stored,
                    created: true,
                })
            }
            // Another request with the same key won the race.
            Ok(None) => {
                self.forget_unreferenced(&processed).await;
                match store::find_by_key(&self.db, key).await? {
                    Some(existing) => self.replay(existing, &hash).await,
                    None => Err(CaseError::KeyReused),
                }
            }
            Err(e) => {
                self.forget_unreferenced(&processed).await;
                Err(e)
            }
        }
    }

    /// Writes the photo files (synced) on a blocking thread.
    async fn write_photos(&self, processed: &[ProcessedPhoto]) -> Result<(), CaseError> {
        let store_photos = self.photos.clone();
        let to_write = processed.to_vec();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for p in &to_write {
                store_photos.write(p)?;
            }
            Ok(())
        })
        .await?
        .map_err(PhotoError::Io)?;
        Ok(())
    }

    async fn replay(
        &self,
        (case, stored_hash): (Case, String),
        hash: &str,
    ) -> Result<Filed, CaseError> {
        if stored_hash == hash {
            Ok(Filed {
                case,
                created: false,
            })
        } else {
            Err(CaseError::KeyReused)
        }
    }

    /// Removes photo files written for a case that was not stored, unless another case uses them.
    async fn forget_unreferenced(&self, processed: &[ProcessedPhoto]) {
        for p in processed {
            if let Ok(false) = store::photo_referenced(&self.db, &p.sha256).await {
                self.photos.remove(&p.sha256);
            }
        }
    }

    /// Files an unsorted case under a guide (or moves it to another) and re-indexes it.
    pub async fn attach(&self, id: &Uuid, guide: &str) -> Result<Option<Case>, CaseError> {
        let Some(slug) = self.library().find(guide).map(|g| g.slug.clone()) else {
            return Err(CaseError::Invalid(vec![FieldError {
                field: "guide",
                message: format!("There is no guide `{guide}`."),
            }]));
        };
        if !store::set_guide(&self.db, id, Some(&slug)).await? {
            return Ok(None);
        }
        let Some(case) = store::get(&self.db, id).await? else {
            return Ok(None);
        };
        self.search.upsert(case.index_doc(&self.library())).await?;
        Ok(Some(case))
    }

    /// Replaces an existing case's fields (an editor's correction); photos stay.
    pub async fn update(&self, id: &Uuid, case: &NewCase) -> Result<Option<Case>, CaseError> {
        if !store::update(&self.db, id, case).await? {
            return Ok(None);
        }
        self.reindex(id).await
    }

    /// Closes (or reopens) a case.
    pub async fn set_closed(
        &self,
        id: &Uuid,
        closed: bool,
        by: &str,
    ) -> Result<Option<Case>, CaseError> {
        if !store::set_closed(&self.db, id, closed, by).await? {
            return Ok(None);
        }
        self.reindex(id).await
    }

    pub async fn reindex(&self, id: &Uuid) -> Result<Option<Case>, CaseError> {
        let Some(case) = store::get(&self.db, id).await? else {
            return Ok(None);
        };
        self.search.upsert(case.index_doc(&self.library())).await?;
        Ok(Some(case))
    }

    /// At start: removes photo files that no case refers to (left by a crash mid-filing).
    pub async fn clean_orphan_photos(&self) -> anyhow::Result<usize> {
        let referenced = store::referenced_photos(&self.db).await?;
        let photos = self.photos.clone();
        Ok(tokio::task::spawn_blocking(move || photos.remove_orphans(&referenced)).await??)
    }
}
