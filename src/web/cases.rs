//! Case forms, case pages, the case API, CSV export and photos. Handlers parse the request,
//! call `cases`, and render.

use std::collections::HashMap;

use askama::Template;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use uuid::Uuid;

use super::{page, AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::{Caller, Identity, Permission};
use crate::cases::photos::{is_photo_id, PhotoError};
use crate::cases::{
    store, Case, CaseDraft, CaseError, CaseFilter, FieldError, Filed, Filer, Outcome, Upload,
};
use crate::content::{Guide, Platform};
use axum::Extension;

/// Per photo, photos per case, and per request.
pub const PHOTO_MAX_BYTES: usize = 15 * 1024 * 1024;
pub const MAX_PHOTOS: usize = 10;
pub const REQUEST_MAX_BYTES: usize = 60 * 1024 * 1024;
const TEXT_PART_MAX: usize = 1024 * 1024;
const PAGE_SIZE: usize = 50;

/// `/cases` and `/api/cases`: listing needs ReadCases, filing FileCases.
pub fn list_router() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list_page).post(create_unsorted))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// `/api/cases`: listing needs ReadCases, filing FileCases.
pub fn api_list_router() -> Router<AppState> {
    Router::new()
        .route("/api/cases", get(api_list).post(api_create))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// Reading single cases, their photos and the export.
pub fn read_router() -> Router<AppState> {
    Router::new()
        .route("/cases.csv", get(export_csv))
        .route("/cases/{id}", get(show))
        .route("/photos/{file}", get(photo))
}

pub fn api_read_router() -> Router<AppState> {
    Router::new().route("/api/cases/{id}", get(api_show))
}

/// The case forms and their submissions.
pub fn file_router() -> Router<AppState> {
    Router::new()
        .route("/guides/{slug}/cases/new", get(new_for_guide))
        .route(
            "/guides/{slug}/cases",
            axum::routing::post(create_for_guide),
        )
        .route("/cases/new", get(new_unsorted))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// Editors: correct, sort, close and reopen cases.
pub fn edit_router() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/guide", axum::routing::post(attach))
        .route("/cases/{id}/edit", get(edit_form).post(edit_submit))
        .route("/cases/{id}/closed", axum::routing::post(set_closed))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
}

/// A request that announces more than the limit is answered 413 before its body is read.
async fn refuse_oversized(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > REQUEST_MAX_BYTES as u64) {
        let err = AppError::PayloadTooLarge(format!(
            "The upload is over {} MB in all and was not read. Nothing was saved; what you typed is still in the form on your phone. Send fewer or smaller photos.",
            REQUEST_MAX_BYTES / (1024 * 1024)
        ));
        return err.into_response();
    }
    next.run(req).await
}

/// Query-string pairs, leniently: bad encoding never fails a page.
fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

// ---------- the form ----------

pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
    pub kind: &'static str,
    pub hint: &'static str,
}

#[derive(Template)]
#[template(path = "cases/new.html")]
struct CaseForm<'a> {
    guide: Option<&'a Guide>,
    action: String,
    csrf: String,
    /// Editing a stored case: no photos, no idempotency key.
    editing: Option<String>,
    key: String,
    screen: Vec<FieldView>,
    machine: Vec<FieldView>,
    work: Vec<FieldView>,
    outcome: String,
    outcome_error: Option<String>,
    outcomes: Vec<(&'static str, &'static str)>,
    photo_error: Option<String>,
    error_count: usize,
    verbatim_alarm: String,
    alarm_error: Option<String>,
}

fn field(
    draft: &CaseDraft,
    errors: &[FieldError],
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    hint: &'static str,
) -> FieldView {
    FieldView {
        name,
        label,
        value: draft.get(name).to_string(),
        error: errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.message.clone()),
        kind,
        hint,
    }
}

/// Whose form it is: their form token, and the case when an editor corrects one.
struct FormCtx<'a> {
    csrf: &'a str,
    editing: Option<Uuid>,
}

impl<'a> FormCtx<'a> {
    fn new(caller: &'a Caller) -> FormCtx<'a> {
        FormCtx {
            csrf: caller.csrf_token(),
            editing: None,
        }
    }
}

fn render_form(
    guide: Option<&Guide>,
    draft: &CaseDraft,
    key: &str,
    errors: &[FieldError],
    photo_error: Option<String>,
    ctx: &FormCtx,
) -> Result<String, AppError> {
    let f = |name, label, kind, hint| field(draft, errors, name, label, kind, hint);
    let form = CaseForm {
        guide,
        action: match (ctx.editing, guide) {
            (Some(id), _) => format!("/cases/{id}/edit"),
            (None, Some(g)) => format!("/guides/{}/cases", g.slug),
            (None, None) => "/cases".to_string(),
        },
        csrf: ctx.csrf.to_string(),
        editing: ctx.editing.map(|id| id.to_string()),
        key: key.to_string(),
        screen: vec![f("alarm_at", "When it happened", "datetime-local", "")],
        machine: vec![
            f("site", "Site", "text", ""),
            f("line", "Line", "text", ""),
            f("cell", "Cell", "text", ""),
            f("asset", "Asset (controller, server or node)", "text", ""),
            f("serial", "Serial number", "text", ""),
            f(
                "firmware_revision",
                "Firmware revision",
                "text",
                "For example 33.011",
            ),
            f(
                "software_version",
                "Software version",
                "text",
                "For example Ignition 8.1.26",
            ),
            f("parameter_set", "Parameter set", "textarea", ""),
            f("io_mapping", "I/O mapping", "textarea", ""),
            f("hour_meter", "Hour meter", "text", "Hours"),
            f("part_count", "Part count", "text", ""),
        ],
        work: vec![
            f("fix_applied", "What you did", "textarea", ""),
            f(
                "verified_sister_cell",
                "Verified on sister cell",
                "text",
                "Which cell, if you checked it there too",
            ),
            f("notes", "Notes", "textarea", ""),
            f("filed_by", "Your name", "text", ""),
        ],
        outcome: draft.get("outcome").to_string(),
        outcome_error: errors
            .iter()
            .find(|e| e.field == "outcome")
            .map(|e| e.message.clone()),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        error_count: errors.len() + usize::from(photo_error.is_some()),
        photo_error,
        verbatim_alarm: draft.get("verbatim_alarm").to_string(),
        alarm_error: errors
            .iter()
            .find(|e| e.field == "verbatim_alarm" || e.field == "guide")
            .map(|e| e.message.clone()),
    };
    Ok(form.render()?)
}

/// A QR label or a search page can prefill where and what; the name is the caller's.
fn prefilled(raw: Option<&str>, caller: &Caller) -> CaseDraft {
    let q = query_map(raw);
    let mut d = CaseDraft::default();
    if let Some(name) = caller.display_name() {
        d.set("filed_by", name.to_string());
    }
    for (param, name) in [
        ("site", "site"),
        ("line", "line"),
        ("cell", "cell"),
        ("asset", "asset"),
        ("alarm", "verbatim_alarm"),
    ] {
        if let Some(v) = q.get(param) {
            d.set(name, v.clone());
        }
    }
    d
}

fn guide_or_404<'a>(state: &'a AppState, slug: &str) -> Result<&'a Guide, AppError> {
    state.library.get(slug).ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no guide `{slug}` to file a case against."
        ))
    })
}

async fn new_for_guide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    if let Some(current) = state.library.resolve_alias(&slug) {
        let q = raw.map(|r| format!("?{r}")).unwrap_or_default();
        return Ok(super::moved_permanently(&format!(
            "/guides/{current}/cases/new{q}"
        )));
    }
    let guide = guide_or_404(&state, &slug)?;
    let html = render_form(
        Some(guide),
        &prefilled(raw.as_deref(), &caller),
        &Uuid::now_v7().to_string(),
        &[],
        None,
        &FormCtx::new(&caller),
    )?;
    Ok(Html(html).into_response())
}

async fn new_unsorted(
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let html = render_form(
        None,
        &prefilled(raw.as_deref(), &caller),
        &Uuid::now_v7().to_string(),
        &[],
        None,
        &FormCtx::new(&caller),
    )?;
    Ok(Html(html).into_response())
}

// ---------- reading a multipart submission ----------

#[derive(Default)]
struct Submission {
    draft: CaseDraft,
    key: Option<String>,
    /// The `case` part of an API upload.
    case_json: Option<String>,
    uploads: Vec<Upload>,
}

enum Stop {
    /// Too big or too many: 413, with what was read so far.
    TooLarge(String),
    Malformed(String),
}

async fn read_text(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, Stop> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_stop)? {
        if buf.len() + chunk.len() > TEXT_PART_MAX {
            return Err(Stop::TooLarge(format!(
                "The field `{}` is over 1 MB.",
                field.name().unwrap_or("")
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| Stop::Malformed("A field is not valid UTF-8 text.".into()))
}

fn multipart_stop(e: axum::extract::multipart::MultipartError) -> Stop {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Stop::TooLarge(format!(
            "The upload is over {} MB in all. Send fewer or smaller photos.",
            REQUEST_MAX_BYTES / (1024 * 1024)
        ))
    } else {
        Stop::Malformed(format!(
            "The upload was cut off or malformed: {}",
            e.body_text()
        ))
    }
}

/// Reads fields in order, stopping at the first limit broken; what was read is kept.
async fn read_submission(mut mp: Multipart, sub: &mut Submission) -> Result<(), Stop> {
    while let Some(mut field) = mp.next_field().await.map_err(multipart_stop)? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "photo" => {
                let file_name = field.file_name().unwrap_or("").to_string();
                let mut buf = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_stop)? {
                    if buf.len() + chunk.len() > PHOTO_MAX_BYTES {
                        return Err(Stop::TooLarge(format!(
                            "{} is over {} MB. Take the photo at a lower resolution, or send it on its own.",
                            if file_name.is_empty() { "A photo" } else { &file_name },
                            PHOTO_MAX_BYTES / (1024 * 1024)
                        )));
                    }
                    buf.extend_from_slice(&chunk);
                }
                // An empty file input still sends a part.
                if buf.is_empty() && file_name.is_empty() {
                    continue;
                }
                if sub.uploads.len() == MAX_PHOTOS {
                    return Err(Stop::TooLarge(format!(
                        "At most {MAX_PHOTOS} photos per case."
                    )));
                }
                sub.uploads.push(Upload {
                    name: if file_name.is_empty() {
                        "photo".into()
                    } else {
                        file_name
                    },
                    bytes: buf,
                });
            }
            "idempotency_key" => sub.key = Some(read_text(&mut field).await?),
            // Checked by the access layer before the handler runs.
            super::access::CSRF_FIELD => {
                read_text(&mut field).await?;
            }
            "case" => sub.case_json = Some(read_text(&mut field).await?),
            _ => {
                let value = read_text(&mut field).await?;
                sub.draft.set(&name, value);
            }
        }
    }
    Ok(())
}

// ---------- HTML submit ----------

async fn create_for_guide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let guide = guide_or_404(&state, &slug)?;
    create_html(state.clone(), &caller, Some(guide.slug.clone()), mp).await
}

async fn create_unsorted(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    create_html(state, &caller, None, mp).await
}

/// Who filed, as the case and the audit log record it.
fn filer_of(caller: &Caller) -> Filer {
    Filer {
        account: match caller.identity {
            Identity::Anonymous => "open-intake".to_string(),
            _ => caller.actor(),
        },
        addr: caller.addr.to_string(),
    }
}

async fn audit_filed(state: &AppState, caller: &Caller, filed: &Filed) {
    if filed.created {
        let detail = format!(
            "guide {}, {} photo(s)",
            filed.case.fields.guide.as_deref().unwrap_or("none"),
            filed.case.photos.len()
        );
        audit::record(
            &state.db,
            AuditEvent::by(caller, AuditAction::CaseFile, filed.case.id.to_string()).detail(detail),
        )
        .await;
    }
}

#[derive(Template)]
#[template(path = "cases/filed.html")]
struct FiledPage {
    id: String,
    guide: Option<(String, String)>,
}

async fn create_html(
    state: AppState,
    caller: &Caller,
    guide_slug: Option<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let mp = mp.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(format!(
            "The upload is over {} MB in all and was not read. Nothing was saved; what you typed is still in the form on your phone. Send fewer or smaller photos.",
            REQUEST_MAX_BYTES / (1024 * 1024)
        )),
        _ => AppError::BadRequest(format!("The form could not be read: {}", e.body_text())),
    })?;
    let mut sub = Submission::default();
    let stopped = read_submission(mp, &mut sub).await.err();
    if let Some(slug) = &guide_slug {
        sub.draft.guide = Some(slug.clone());
    }
    let guide = sub
        .draft
        .guide
        .as_deref()
        .and_then(|g| state.library.get(g));
    let key = sub
        .key
        .clone()
        .filter(|k| crate::cases::valid_key(k))
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let rerender = |status: StatusCode,
                    errors: &[FieldError],
                    photo_error: Option<String>|
     -> Result<Response, AppError> {
        let html = render_form(
            guide,
            &sub.draft,
            &key,
            errors,
            photo_error,
            &FormCtx::new(caller),
        )?;
        Ok((status, Html(html)).into_response())
    };
    match stopped {
        Some(Stop::TooLarge(msg)) => {
            return rerender(StatusCode::PAYLOAD_TOO_LARGE, &[], Some(msg))
        }
        Some(Stop::Malformed(msg)) => return rerender(StatusCode::BAD_REQUEST, &[], Some(msg)),
        None => {}
    }
    let new_case = match sub.draft.parse(&state.library) {
        Ok(c) => c,
        Err(errors) => return rerender(StatusCode::UNPROCESSABLE_ENTITY, &errors, None),
    };
    match state
        .cases
        .file(new_case, sub.uploads, &key, &filer_of(caller))
        .await
    {
        Ok(filed) => {
            audit_filed(&state, caller, &filed).await;
            if state.auth.allows(caller, Permission::ReadCases) {
                return Ok(Redirect::to(&filed.case.url()).into_response());
            }
            // Filed from an open-intake tablet by someone who may not read cases.
            page(&FiledPage {
                id: filed.case.id.to_string(),
                guide: guide.map(|g| (g.slug.clone(), g.front.title.clone())),
            })
        }
        Err(CaseError::Photo(e @ PhotoError::Busy { retry_after_secs })) => {
            let mut res = rerender(StatusCode::SERVICE_UNAVAILABLE, &[], Some(e.to_string()))?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(res)
        }
        Err(CaseError::Photo(e)) if e.is_user_error() => {
            rerender(StatusCode::UNPROCESSABLE_ENTITY, &[], Some(e.to_string()))
        }
        Err(CaseError::KeyReused) => rerender(
            StatusCode::UNPROCESSABLE_ENTITY,
            &[],
            Some("This form was already sent with different contents. Reload the page to file a new case.".into()),
        ),
        Err(e) => Err(e.into()),
    }
}

// ---------- JSON API ----------

#[derive(Serialize)]
struct PhotoJson {
    id: String,
    url: String,
    thumbnail_url: String,
    width: u32,
    height: u32,
}

#[derive(Serialize)]
struct CaseJson<'a> {
    id: String,
    url: String,
    created_at: &'a str,
    #[serde(flatten)]
    fields: &'a crate::cases::NewCase,
    photos: Vec<PhotoJson>,
    closed_at: Option<&'a str>,
    updated_at: Option<&'a str>,
}

fn case_json(c: &Case) -> CaseJson<'_> {
    CaseJson {
        id: c.id.to_string(),
        url: c.url(),
        created_at: &c.created_at,
        fields: &c.fields,
        closed_at: c.record.closed_at.as_deref(),
        updated_at: c.record.updated_at.as_deref(),
        photos: c
            .photos
            .iter()
            .map(|p| PhotoJson {
                url: format!("/photos/{}.jpg", p.id),
                thumbnail_url: format!("/photos/{}.thumb.jpg", p.id),
                id: p.id.clone(),
                width: p.width,
                height: p.height,
            })
            .collect(),
    }
}

async fn api_create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: axum::extract::Request,
) -> Result<Response, AppError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| AppError::BadRequest("The Idempotency-Key header is required: any unique string per case, the same on every retry.".into()))?;
    if !crate::cases::valid_key(&key) {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1 to {} visible ASCII characters.",
            crate::cases::KEY_MAX
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (draft, uploads) = if content_type.starts_with("multipart/form-data") {
        let mp = Multipart::from_request(body, &state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(format!(
                    "The request is over {} MB.",
                    REQUEST_MAX_BYTES / (1024 * 1024)
                )),
                _ => AppError::BadRequest(e.body_text()),
            })?;
        let mut sub = Submission::default();
        match read_submission(mp, &mut sub).await {
            Err(Stop::TooLarge(m)) => return Err(AppError::PayloadTooLarge(m)),
            Err(Stop::Malformed(m)) => return Err(AppError::BadRequest(m)),
            Ok(()) => {}
        }
        let json = sub.case_json.ok_or_else(|| {
            AppError::BadRequest(
                "A multipart case needs a `case` part holding the case JSON.".into(),
            )
        })?;
        let draft: CaseDraft = serde_json::from_str(&json).map_err(|e| {
            AppError::BadRequest(format!("The `case` part is not a valid case: {e}"))
        })?;
        (draft, sub.uploads)
    } else {
        let bytes = axum::body::to_bytes(body.into_body(), REQUEST_MAX_BYTES)
            .await
            .map_err(|_| {
                AppError::PayloadTooLarge(format!(
                    "The request is over {} MB.",
                    REQUEST_MAX_BYTES / (1024 * 1024)
                ))
            })?;
        let draft: CaseDraft = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::BadRequest(format!("The body is not a valid case: {e}")))?;
        (draft, Vec::new())
    };
    let new_case = match draft.parse(&state.library) {
        Ok(c) => c,
        Err(errors) => return Err(AppError::InvalidFields(errors)),
    };
    let filed = state
        .cases
        .file(new_case, uploads, &key, &filer_of(&caller))
        .await?;
    audit_filed(&state, &caller, &filed).await;
    let status = if filed.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = (status, Json(case_json(&filed.case))).into_response();
    if let Ok(v) = HeaderValue::from_str(&filed.case.url()) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

use axum::extract::FromRequest;

fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

async fn api_show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let uuid = parse_id(&id).ok_or_else(|| AppError::NotFound(format!("No case `{id}`.")))?;
    let case = store::get(&state.db, &uuid)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No case `{id}`.")))?;
    Ok(Json(case_json(&case)).into_response())
}

/// Filters from a query string; a bad value is an error the user can read.
fn parse_filter(state: &AppState, q: &HashMap<String, String>) -> Result<CaseFilter, AppError> {
    let nonempty = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut f = CaseFilter {
        guide: nonempty("guide"),
        site: nonempty("site"),
        line: nonempty("line"),
        cell: nonempty("cell"),
        ..CaseFilter::default()
    };
    if let Some(o) = nonempty("outcome") {
        f.outcome = Some(Outcome::parse(&o).ok_or_else(|| {
            AppError::BadRequest(format!(
                "Unknown outcome `{o}`: use fixed, workaround, not_fixed or escalated."
            ))
        })?);
    }
    if let Some(platform) = super::parse_platform(q.get("platform").map(String::as_str))? {
        f.platform_guides = Some(
            state
                .library
                .all()
                .iter()
                .filter(|g| g.front.platform == platform)
                .map(|g| g.slug.clone())
                .collect(),
        );
    }
    let date = |k: &str| -> Result<Option<String>, AppError> {
        match nonempty(k) {
            None => Ok(None),
            Some(v) => {
                if let Ok(d) = chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
                    let d = if k == "to" {
                        d.succ_opt().unwrap_or(d)
                    } else {
                        d
                    };
                    return Ok(Some(format!("{d}T00:00:00")));
                }
                chrono::DateTime::parse_from_rfc3339(&v)
                    .map(|dt| {
                        Some(
                            dt.with_timezone(&chrono::Utc)
                                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        )
                    })
                    .map_err(|_| {
                        AppError::BadRequest(format!(
                            "`{k}` must be a date like 2026-11-20 or an RFC 3339 time."
                        ))
                    })
            }
        }
    };
    f.since = date("since")?.or(date("from")?);
    f.until = date("to")?;
    if let Some(c) = nonempty("cursor") {
        let (at, id) = c
            .split_once('~')
            .ok_or_else(|| AppError::BadRequest("Invalid cursor.".into()))?;
        f.before = Some((at.to_string(), id.to_string()));
    }
    Ok(f)
}

fn cursor_of(c: &Case) -> String {
    format!("{}~{}", c.created_at, c.id)
}

async fn api_list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let q = query_map(raw.as_deref());
    let filter = parse_filter(&state, &q)?;
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(PAGE_SIZE)
        .clamp(1, 500);
    let cases = store::list(&state.db, &filter, limit + 1).await?;
    let next = (cases.len() > limit).then(|| cursor_of(&cases[limit - 1]));
    let shown: Vec<CaseJson> = cases.iter().take(limit).map(case_json).collect();
    Ok(Json(serde_json::json!({ "cases": shown, "next_cursor": next })).into_response())
}

// ---------- pages ----------

#[derive(Template)]
#[template(path = "cases/show.html")]
struct CasePage<'a> {
    case: &'a Case,
    guide: Option<&'a Guide>,
    outcome_label: &'static str,
    title: String,
    canonical: String,
    /// The machine fields that were filled in, as (label, value).
    details: Vec<(&'static str, String)>,
    /// `(slug, title)` of every guide, for attaching an unsorted case.
    guides: Vec<(String, String)>,
    can_edit: bool,
    csrf: String,
}

async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    page(&CasePage {
        guide: case
            .fields
            .guide
            .as_deref()
            .and_then(|g| state.library.get(g)),
        outcome_label: case.fields.outcome.label(),
        title: case.title(),
        canonical: super::absolute(&state, &headers, &case.url()),
        details: case_details(&case),
        guides: state.library.choices(),
        can_edit: state.auth.allows(&caller, Permission::EditCases),
        csrf: caller.csrf_token().to_string(),
        case: &case,
    })
}

async fn case_or_404(state: &AppState, id: &str) -> Result<Case, AppError> {
    let not_found = || AppError::NotFound(format!("There is no case `{id}`."));
    let uuid = parse_id(id).ok_or_else(not_found)?;
    store::get(&state.db, &uuid).await?.ok_or_else(not_found)
}

/// An editor's change: audited, then back to the case page.
async fn edited(
    state: &AppState,
    caller: &Caller,
    id: &str,
    result: Result<Option<Case>, CaseError>,
    action: AuditAction,
    detail: impl FnOnce(&Case) -> String,
) -> Result<Response, AppError> {
    match result {
        Ok(Some(case)) => {
            let event = AuditEvent::by(caller, action, case.id.to_string()).detail(detail(&case));
            audit::record(&state.db, event).await;
            Ok(Redirect::to(&case.url()).into_response())
        }
        Ok(None) => Err(AppError::NotFound(format!("There is no case `{id}`."))),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
struct AttachForm {
    guide: String,
}

/// Files an unsorted case under the guide that fits it.
async fn attach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<AttachForm>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let result = state.cases.attach(&case.id, form.guide.trim()).await;
    edited(&state, &caller, &id, result, AuditAction::CaseAttach, |c| {
        format!("guide {}", c.fields.guide.as_deref().unwrap_or(""))
    })
    .await
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let guide = case
        .fields
        .guide
        .as_deref()
        .and_then(|g| state.library.get(g));
    let html = render_form(
        guide,
        &CaseDraft::from(&case.fields),
        "",
        &[],
        None,
        &FormCtx {
            csrf: caller.csrf_token(),
            editing: Some(case.id),
        },
    )?;
    Ok(Html(html).into_response())
}

/// An editor's correction: every field as the form sends it; photos stay as they are.
async fn edit_submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let mp = mp.map_err(|e| {
        AppError::BadRequest(format!("The form could not be read: {}", e.body_text()))
    })?;
    let mut sub = Submission::default();
    match read_submission(mp, &mut sub).await {
        Err(Stop::TooLarge(m)) => return Err(AppError::PayloadTooLarge(m)),
        Err(Stop::Malformed(m)) => return Err(AppError::BadRequest(m)),
        Ok(()) => {}
    }
    if sub.draft.guide.is_none() {
        sub.draft.guide = case.fields.guide.clone();
    }
    let guide = sub
        .draft
        .guide
        .as_deref()
        .and_then(|g| state.library.get(g));
    let new = match sub.draft.parse(&state.library) {
        Ok(c) => c,
        Err(errors) => {
            let html = render_form(
                guide,
                &sub.draft,
                "",
                &errors,
                None,
                &FormCtx {
                    csrf: caller.csrf_token(),
                    editing: Some(case.id),
                },
            )?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
        }
    };
    let changed: Vec<&str> = crate::cases::DRAFT_FIELDS
        .iter()
        .copied()
        .filter(|f| CaseDraft::from(&case.fields).get(f) != CaseDraft::from(&new).get(f))
        .collect();
    let result = state.cases.update(&case.id, &new).await;
    edited(&state, &caller, &id, result, AuditAction::CaseEdit, |_| {
        format!("changed: {}", changed.join(", "))
    })
    .await
}

#[derive(serde::Deserialize)]
struct ClosedForm {
    #[serde(default)]
    closed: String,
}

async fn set_closed(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ClosedForm>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let closed = form.closed == "1";
    let result = state
        .cases
        .set_closed(&case.id, closed, &caller.actor())
        .await;
    let action = if closed {
        AuditAction::CaseClose
    } else {
        AuditAction::CaseReopen
    };
    edited(&state, &caller, &id, result, action, |_| String::new()).await
}

fn case_details(c: &Case) -> Vec<(&'static str, String)> {
    let f = &c.fields;
    [
        ("When", f.alarm_at.clone().unwrap_or_default()),
        ("Site", f.site.clone()),
        ("Line", f.line.clone()),
        ("Cell", f.cell.clone()),
        ("Asset", f.asset.clone()),
        ("Serial", f.serial.clone()),
        ("Firmware revision", f.firmware_revision.clone()),
        ("Software version", f.software_version.clone()),
        (
            "Hour meter",
            f.hour_meter.map(|h| h.to_string()).unwrap_or_default(),
        ),
        (
            "Part count",
            f.part_count.map(|p| p.to_string()).unwrap_or_default(),
        ),
        ("Verified on sister cell", f.verified_sister_cell.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

pub struct CaseRow {
    pub url: String,
    pub title: String,
    pub created: String,
    pub outcome: &'static str,
    pub guide_title: Option<String>,
    pub guide_url: Option<String>,
    pub closed: bool,
}

#[derive(Template)]
#[template(path = "cases/list.html")]
struct ListPage {
    rows: Vec<CaseRow>,
    total: i64,
    next_href: Option<String>,
    guide: String,
    platform: String,
    site: String,
    line: String,
    cell: String,
    outcome: String,
    from: String,
    to: String,
    outcomes: Vec<(&'static str, &'static str)>,
    platforms: Vec<(&'static str, &'static str)>,
    unsorted: bool,
    csv_href: String,
}

pub(super) fn case_row(state: &AppState, c: &Case) -> CaseRow {
    let guide = c.fields.guide.as_deref().and_then(|g| state.library.get(g));
    CaseRow {
        url: c.url(),
        title: c.title(),
        created: c
            .created_at
            .get(..16)
            .unwrap_or(&c.created_at)
            .replace('T', " "),
        outcome: c.fields.outcome.label(),
        guide_title: guide.map(|g| g.front.title.clone()),
        guide_url: guide.map(|g| g.url()),
        closed: c.record.closed_at.is_some(),
    }
}

async fn list_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let q = query_map(raw.as_deref());
    let filter = parse_filter(&state, &q)?;
    let cases = store::list(&state.db, &filter, PAGE_SIZE + 1).await?;
    let mut count_filter = filter.clone();
    count_filter.before = None;
    let total = store::count(&state.db, &count_filter).await?;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let mut keep: Vec<(String, String)> = q
        .iter()
        .filter(|(k, v)| k.as_str() != "cursor" && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    keep.sort();
    let encode = |pairs: &[(String, String)]| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let next_href = (cases.len() > PAGE_SIZE).then(|| {
        let mut pairs = keep.clone();
        pairs.push(("cursor".into(), cursor_of(&cases[PAGE_SIZE - 1])));
        format!("/cases?{}", encode(&pairs))
    });
    page(&ListPage {
        rows: cases
            .iter()
            .take(PAGE_SIZE)
            .map(|c| case_row(&state, c))
            .collect(),
        total,
        next_href,
        unsorted: get("guide") == "none",
        guide: get("guide"),
        platform: get("platform"),
        site: get("site"),
        line: get("line"),
        cell: get("cell"),
        outcome: get("outcome"),
        from: get("from"),
        to: get("to"),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        platforms: Platform::ALL.map(|p| (p.as_str(), p.label())).to_vec(),
        csv_href: format!("/cases.csv?{}", encode(&keep)),
    })
}

/// RFC 4180 cell; text a spreadsheet would run as a formula is prefixed with `'`.
pub(super) fn csv_cell(s: &str) -> String {
    // Spreadsheets skip leading whitespace before reading a formula.
    let risky = s
        .trim_start_matches([' ', '\t', '\r', '\n'])
        .starts_with(['=', '+', '-', '@'])
        || s.starts_with(['\t', '\r', '\n']);
    let s = if risky {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn export_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let q = query_map(raw.as_deref());
    let filter = parse_filter(&state, &q)?;
    let cases = store::list(&state.db, &filter, 1_000_000).await?;
    let header_row = [
        "id",
        "guide",
        "created_at",
        "filed_by",
        "site",
        "line",
        "cell",
        "asset",
        "serial",
        "firmware_revision",
        "software_version",
        "parameter_set",
        "io_mapping",
        "verbatim_alarm",
        "alarm_at",
        "hour_meter",
        "part_count",
        "fix_applied",
        "outcome",
        "verified_sister_cell",
        "notes",
        "photos",
    ];
    let mut out = String::new();
    out.push_str(&header_row.map(csv_cell).join(","));
    out.push_str("\r\n");
    for c in &cases {
        let f = &c.fields;
        let row = [
            c.id.to_string(),
            f.guide.clone().unwrap_or_default(),
            c.created_at.clone(),
            f.filed_by.clone(),
            f.site.clone(),
            f.line.clone(),
            f.cell.clone(),
            f.asset.clone(),
            f.serial.clone(),
            f.firmware_revision.clone(),
            f.software_version.clone(),
            f.parameter_set.clone(),
            f.io_mapping.clone(),
            f.verbatim_alarm.clone(),
            f.alarm_at.clone().unwrap_or_default(),
            f.hour_meter.map(|h| h.to_string()).unwrap_or_default(),
            f.part_count.map(|p| p.to_string()).unwrap_or_default(),
            f.fix_applied.clone(),
            f.outcome.as_str().to_string(),
            f.verified_sister_cell.clone(),
            f.notes.clone(),
            c.photos
                .iter()
                .map(|p| format!("/photos/{}.jpg", p.id))
                .collect::<Vec<_>>()
                .join(" "),
        ];
        out.push_str(
            &row.iter()
                .map(|s| csv_cell(s))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"faultbook-cases.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

async fn photo(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound("No such photo.".into());
    let (sha, thumb) = match file.strip_suffix(".thumb.jpg") {
        Some(sha) => (sha, true),
        None => (file.strip_suffix(".jpg").ok_or_else(not_found)?, false),
    };
    if !is_photo_id(sha) {
        return Err(not_found());
    }
    let bytes = tokio::fs::read(state.cases.photos.path(sha, thumb))
        .await
        .map_err(|_| not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            // Named by content: the bytes behind a URL never change.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}
