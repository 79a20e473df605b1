//! Case records: what the screen said, on which machine, what was done. Parsing drafts into
//! typed cases, storing them with their photos, and reading them back. Knows nothing of HTTP.

pub mod photos;
pub mod store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::content::{Library, Platform};
use crate::db::Db;
use crate::search::{DocKind, IndexDoc, SearchIndex};
pub use photos::{DecodeGate, PhotoError, PhotoStore, ProcessedPhoto};
pub use store::{CaseFilter, GuideRecord};

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

/// Numbers may come as JSON numbers or as form text.
fn flexible<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex {
        S(String),
        N(serde_json::Number),
        B(bool),
    }
    Ok(Option::<Flex>::deserialize(d)?.map(|f| match f {
        Flex::S(s) => s,
        Flex::N(n) => n.to_string(),
        Flex::B(b) => b.to_string(),
    }))
}

/// A case as submitted, untrusted: every field optional text until parsed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDraft {
    pub guide: Option<String>,
    pub filed_by: Option<String>,
    pub site: Option<String>,
    pub line: Option<String>,
    pub cell: Option<String>,
    pub asset: Option<String>,
    pub serial: Option<String>,
    pub firmware_revision: Option<String>,
    pub software_version: Option<String>,
    pub parameter_set: Option<String>,
    pub io_mapping: Option<String>,
    pub verbatim_alarm: Option<String>,
    pub alarm_at: Option<String>,
    #[serde(default, deserialize_with = "flexible")]
    pub hour_meter: Option<String>,
    #[serde(default, deserialize_with = "flexible")]
    pub part_count: Option<String>,
    pub fix_applied: Option<String>,
    pub outcome: Option<String>,
    #[serde(default, deserialize_with = "flexible")]
    pub verified_sister_cell: Option<String>,
    pub notes: Option<String>,
}

/// A stored case's fields as a draft again, for an editor's form.
impl From<&NewCase> for CaseDraft {
    fn from(c: &NewCase) -> Self {
        // Both sides use the same field names, and numbers are accepted as text.
        serde_json::to_value(c)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }
}

/// `set` and `get` by form name, generated from one list of the draft's fields.
macro_rules! draft_fields_by_name {
    ($($field:ident),* $(,)?) => {
        /// Every field's form name, in form order.
        pub const DRAFT_FIELDS: &[&str] = &[$(stringify!($field)),*];

        impl CaseDraft {
            /// Sets a field by its form name; returns false for a name that is not a case field.
            pub fn set(&mut self, name: &str, value: String) -> bool {
                match name {
                    $(stringify!($field) => self.$field = Some(value),)*
                    _ => return false,
                }
                true
            }

            /// A field's value by its form name; empty when unset or unknown.
            pub fn get(&self, name: &str) -> &str {
                match name {
                    $(stringify!($field) => self.$field.as_deref().unwrap_or(""),)*
                    _ => "",
                }
            }
        }
    };
}

draft_fields_by_name!(
    guide,
    filed_by,
    site,
    line,
    cell,
    asset,
    serial,
    firmware_revision,
    software_version,
    parameter_set,
    io_mapping,
    verbatim_alarm,
    alarm_at,
    hour_meter,
    part_count,
    fix_applied,
    outcome,
    verified_sister_cell,
    notes,
);

/// One fault in a draft, reported against its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// A parsed, valid case that is not stored yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCase {
    pub guide: Option<String>,
    pub filed_by: String,
    pub site: String,
    pub line: String,
    pub cell: String,
    pub asset: String,
    pub serial: String,
    pub firmware_revision: String,
    pub software_version: String,
    pub parameter_set: String,
    pub io_mapping: String,
    pub verbatim_alarm: String,
    pub alarm_at: Option<String>,
    pub hour_meter: Option<f64>,
    pub part_count: Option<i64>,
    pub fix_applied: String,
    pub outcome: Outcome,
    pub verified_sister_cell: String,
    pub notes: String,
}

fn short(field: &'static str, v: &Option<String>, errors: &mut Vec<FieldError>) -> String {
    let s = v.as_deref().unwrap_or("").trim();
    if s.chars().count() > SHORT_MAX {
        errors.push(FieldError {
            field,
            message: format!("At most {SHORT_MAX} characters."),
        });
    } else if s.chars().any(char::is_control) {
        errors.push(FieldError {
            field,
            message: "Must be one line without control characters.".into(),
        });
    }
    s.to_string()
}

fn long(field: &'static str, v: &Option<String>, errors: &mut Vec<FieldError>) -> String {
    let s = v.as_deref().unwrap_or("");
    if s.chars().count() > LONG_MAX {
        errors.push(FieldError {
            field,
            message: format!("At most {LONG_MAX} characters."),
        });
    }
    s.trim_end().to_string()
}

/// Accepts `2026-11-20T02:14`, `2026-11-20 02:14:07` or RFC 3339; stores `YYYY-MM-DDTHH:MM:SS`
/// (with the offset when one was given).
fn parse_alarm_at(s: &str) -> Option<String> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
    }
    None
}

impl CaseDraft {
    /// Parses every field; all faults are reported at once, each against its field.
    pub fn parse(&self, library: &Library) -> Result<NewCase, Vec<FieldError>> {
        let mut errors = Vec::new();
        let guide = match self
            .guide
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
        {
            None | Some("none") => None,
            Some(g) => match library
                .get(g)
                .map(|g| g.slug.clone())
                .or_else(|| library.resolve_alias(g).map(str::to_owned))
            {
                Some(slug) => Some(slug),
                None => {
                    errors.push(FieldError {
                        field: "guide",
                        message: format!("There is no guide `{g}`."),
                    });
                    None
                }
            },
        };
        let alarm = self.verbatim_alarm.clone().unwrap_or_default();
        if alarm.trim().is_empty() {
            errors.push(FieldError {
                field: "verbatim_alarm",
                message: "Type or paste what the screen or log said.".into(),
            });
        } else if alarm.len() > ALARM_MAX {
            errors.push(FieldError {
                field: "verbatim_alarm",
                message: format!("At most {ALARM_MAX} bytes; paste the lines that matter."),
            });
        }
        let alarm_at = match self
            .alarm_at
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => {
                let parsed = parse_alarm_at(s);
                if parsed.is_none() {
                    errors.push(FieldError {
                        field: "alarm_at",
                        message: "Use a date and time like 2026-11-20 02:14.".into(),
                    });
                }
                parsed
            }
        };
        let hour_meter = match self
            .hour_meter
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => match s.replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..1e8).contains(&v) => Some(v),
                _ => {
                    errors.push(FieldError {
                        field: "hour_meter",
                        message: "Hours as a number, for example 15230.5.".into(),
                    });
                    None
                }
            },
        };
        let part_count = match self
            .part_count
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => match s.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    errors.push(FieldError {
                        field: "part_count",
                        message: "A whole number of parts, 0 or more.".into(),
                    });
                    None
                }
            },
        };
        let outcome = match self.outcome.as_deref().map(str::trim) {
            Some(o) if !o.is_empty() => {
                let parsed = Outcome::parse(o);
                if parsed.is_none() {
                    errors.push(FieldError {
                        field: "outcome",
                        message: "Choose fixed, workaround, not_fixed or escalated.".into(),
                    });
                }
                parsed
            }
            _ => {
                errors.push(FieldError {
                    field: "outcome",
                    message: "Say how it ended: fixed, workaround, not fixed or escalated.".into(),
                });
                None
            }
        };
        let case = NewCase {
            guide,
            filed_by: short("filed_by", &self.filed_by, &mut errors),
            site: short("site", &self.site, &mut errors),
            line: short("line", &self.line, &mut errors),
            cell: short("cell", &self.cell, &mut errors),
            asset: short("asset", &self.asset, &mut errors),
            serial: short("serial", &self.serial, &mut errors),
            firmware_revision: short("firmware_revision", &self.firmware_revision, &mut errors),
            software_version: short("software_version", &self.software_version, &mut errors),
            parameter_set: long("parameter_set", &self.parameter_set, &mut errors),
            io_mapping: long("io_mapping", &self.io_mapping, &mut errors),
            verbatim_alarm: alarm,
            alarm_at,
            hour_meter,
            part_count,
            fix_applied: long("fix_applied", &self.fix_applied, &mut errors),
            outcome: outcome.unwrap_or(Outcome::NotFixed),
            verified_sister_cell: short(
                "verified_sister_cell",
                &self.verified_sister_cell,
                &mut errors,
            ),
            notes: long("notes", &self.notes, &mut errors),
        };
        if errors.is_empty() {
            Ok(case)
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoRef {
    pub id: String,
    pub width: u32,
    pub height: u32,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: Uuid,
    pub created_at: String,
    #[serde(flatten)]
    pub fields: NewCase,
    pub photos: Vec<PhotoRef>,
    pub record: CaseRecord,
}

/// Who filed a case and from where (as the server knows it, not as typed), and its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaseRecord {
    /// The account (`ana`), token (`token:mes-line4`), proxy user or `open-intake`.
    pub filed_account: String,
    pub filed_from: String,
    pub closed_at: Option<String>,
    pub closed_by: String,
    pub updated_at: Option<String>,
}

/// Who is filing: the account or token, and the client's address.
#[derive(Debug, Clone, Default)]
pub struct Filer {
    pub account: String,
    pub addr: String,
}

impl Case {
    pub fn url(&self) -> String {
        format!("/cases/{}", self.id)
    }

    /// A one-line title: the first line of the alarm, and where.
    pub fn title(&self) -> String {
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
        let place = [
            &self.fields.asset,
            &self.fields.cell,
            &self.fields.line,
            &self.fields.site,
        ]
        .into_iter()
        .find(|s| !s.is_empty());
        match place {
            Some(p) => format!("{t} on {p}"),
            None => t,
        }
    }

    pub fn index_doc(&self, library: &Library) -> IndexDoc {
        let f = &self.fields;
        let platform: Option<Platform> = f
            .guide
            .as_deref()
            .and_then(|g| library.get(g))
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
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
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
    pub library: Arc<Library>,
    /// The server-wide limit on photo decodes.
    pub decodes: DecodeGate,
    /// Makes the next filings fail between the photo write and the commit (crash-safety tests).
    pub fail_before_commit: Arc<AtomicBool>,
}

fn request_hash(case: &NewCase, photos: &[ProcessedPhoto]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(case).unwrap_or_default());
    for p in photos {
        h.update(p.sha256.as_bytes());
    }
    hex::encode(h.finalize())
}

pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_MAX && key.chars().all(|c| c.is_ascii_graphic())
}

impl CaseService {
    pub async fn file(
        &self,
        case: NewCase,
        uploads: Vec<Upload>,
        key: &str,
        filer: &Filer,
    ) -> Result<Filed, CaseError> {
        if !valid_key(key) {
            return Err(CaseError::BadKey);
        }
        let processed = self.decodes.process_all(uploads).await?;
        let hash = request_hash(&case, &processed);
        if let Some(existing) = store::find_by_key(&self.db, key).await? {
            return self.replay(existing, &hash).await;
        }

        let store_photos = self.photos.clone();
        let to_write = processed.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for p in &to_write {
                store_photos.write(p)?;
            }
            Ok(())
        })
        .await?
        .map_err(PhotoError::Io)?;

        let result = if self.fail_before_commit.load(Ordering::SeqCst) {
            Err(CaseError::Injected)
        } else {
            store::insert(&self.db, &case, &processed, key, &hash, filer).await
        };
        match result {
            Ok(Some(stored)) => {
                self.search.upsert(stored.index_doc(&self.library)).await?;
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
        let Some(slug) = self
            .library
            .get(guide)
            .map(|g| g.slug.clone())
            .or_else(|| self.library.resolve_alias(guide).map(str::to_owned))
        else {
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
        self.search.upsert(case.index_doc(&self.library)).await?;
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

    async fn reindex(&self, id: &Uuid) -> Result<Option<Case>, CaseError> {
        let Some(case) = store::get(&self.db, id).await? else {
            return Ok(None);
        };
        self.search.upsert(case.index_doc(&self.library)).await?;
        Ok(Some(case))
    }

    /// At start: removes photo files that no case refers to (left by a crash mid-filing).
    pub async fn clean_orphan_photos(&self) -> anyhow::Result<usize> {
        let referenced = store::referenced_photos(&self.db).await?;
        let photos = self.photos.clone();
        Ok(tokio::task::spawn_blocking(move || photos.remove_orphans(&referenced)).await??)
    }
}
