//! Reading a case as it is sent: the HTML form (multipart) and the API (JSON, or multipart with
//! a `case` part). One multipart reader serves both; it also checks the form token of browser
//! callers, which forms send as their first field.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use bytes::Bytes;
use uuid::Uuid;

use super::form::{render_form, FormCtx};
use super::{too_large, AppError, AppState, MAX_PHOTOS, PHOTO_MAX_BYTES};
use crate::auth::store::same_secret;
use crate::auth::{Caller, Permission};
use crate::cases::photos::PhotoError;
use crate::cases::{
    valid_key, CaseDraft, CaseError, FieldError, Filed, Submission, Upload, KEY_MAX,
};
use crate::web::access::{caller_of, check_csrf, CSRF_FIELD, CSRF_HEADER};
use crate::web::page;

const TEXT_PART_MAX: usize = 1024 * 1024;
const MAX_TICKED: usize = crate::cases::checks::MAX_STEPS;

/// Why reading stopped before the end; what was read so far is kept.
pub enum ReadFault {
    /// Too big or too many: 413.
    TooLarge(String),
    Malformed(String),
}

impl From<ReadFault> for AppError {
    fn from(f: ReadFault) -> Self {
        match f {
            ReadFault::TooLarge(m) => {
                crate::telemetry::prometheus::photo_refused("too_large");
                AppError::PayloadTooLarge(m)
            }
            ReadFault::Malformed(m) => AppError::BadRequest(m),
        }
    }
}

enum Stop {
    Fault(ReadFault),
    /// The form token was missing or wrong: nothing else is read.
    BadToken,
}

impl From<MultipartError> for Stop {
    fn from(e: MultipartError) -> Self {
        Stop::Fault(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ReadFault::TooLarge(too_large().to_string())
        } else {
            ReadFault::Malformed(format!(
                "The upload was cut off or malformed: {}",
                e.body_text()
            ))
        })
    }
}

fn bad_token() -> AppError {
    AppError::Forbidden(
        "This form's security token is missing or out of date (for example after logging in again). Nothing was saved; go back, reload the page and send it again.".into(),
    )
}

/// The form token a multipart body must open with: the caller's, when they came with a browser
/// session (or a single-sign-on proxy) and did not send it in the `X-CSRF-Token` header.
/// Bearer-token callers have none and need none.
fn token_to_check(req: &Request, caller: &Caller) -> Result<Option<String>, AppError> {
    if !caller.needs_csrf() {
        return Ok(None);
    }
    match req.headers().get(CSRF_HEADER) {
        Some(_) => check_csrf(caller, req.headers(), None).map(|()| None),
        None => Ok(Some(caller.csrf_token().to_string())),
    }
}

fn multipart_rejection(e: MultipartRejection) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::BadRequest(format!("The form could not be read: {}", e.body_text()))
    }
}

/// Everything a multipart body held, in the order it came.
#[derive(Default)]
struct Parts {
    draft: CaseDraft,
    key: Option<String>,
    /// The `case` part of an API upload: the case as JSON.
    case_json: Option<String>,
    uploads: Vec<Upload>,
    /// The Verify steps ticked; `Some` once the form said it offered the checklist.
    ticked: Option<Vec<String>>,
}

async fn read_text(field: &mut Field<'_>) -> Result<String, Stop> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if buf.len() + chunk.len() > TEXT_PART_MAX {
            return Err(Stop::Fault(ReadFault::TooLarge(format!(
                "The field `{}` is over 1 MB.",
                field.name().unwrap_or("")
            ))));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| {
        Stop::Fault(ReadFault::Malformed(
            "A field is not valid UTF-8 text.".into(),
        ))
    })
}

async fn read_photo(field: &mut Field<'_>) -> Result<Upload, Stop> {
    let file_name = field.file_name().unwrap_or("").to_string();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > PHOTO_MAX_BYTES {
            return Err(Stop::Fault(ReadFault::TooLarge(format!(
                "{} is over {} MB. Take the photo at a lower resolution, or send it on its own.",
                if file_name.is_empty() {
                    "A photo"
                } else {
                    &file_name
                },
                PHOTO_MAX_BYTES / (1024 * 1024)
            ))));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Upload {
        name: file_name,
        bytes,
    })
}

/// Reads the parts in order, stopping at the first limit broken; what was read is kept. With a
/// token to check, the first part must be the form token and match it.
async fn read_parts(
    mut mp: Multipart,
    token: Option<String>,
    parts: &mut Parts,
) -> Result<(), Stop> {
    if let Some(expected) = token {
        let mut first = mp.next_field().await?.ok_or(Stop::BadToken)?;
        if first.name() != Some(CSRF_FIELD) {
            return Err(Stop::BadToken);
        }
        let sent = read_text(&mut first).await?;
        if !same_secret(sent.trim(), &expected) {
            return Err(Stop::BadToken);
        }
    }
    while let Some(mut field) = mp.next_field().await? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "photo" => {
                let upload = read_photo(&mut field).await?;
                // An empty file input still sends a part.
                if upload.bytes.is_empty() && upload.name.is_empty() {
                    continue;
                }
                if parts.uploads.len() == MAX_PHOTOS {
                    return Err(Stop::Fault(ReadFault::TooLarge(format!(
                        "At most {MAX_PHOTOS} photos per case."
                    ))));
                }
                parts.uploads.push(Upload {
                    name: if upload.name.is_empty() {
                        "photo".into()
                    } else {
                        upload.name
                    },
                    bytes: upload.bytes,
                });
            }
            "idempotency_key" => parts.key = Some(read_text(&mut field).await?),
            CSRF_FIELD => {
                read_text(&mut field).await?;
            }
            "case" => parts.case_json = Some(read_text(&mut field).await?),
            // Unticked boxes send nothing, so the form says it offered the checklist at all.
            "verify_offered" => {
                read_text(&mut field).await?;
                parts.ticked.get_or_insert_with(Vec::new);
            }
            "verify_step" => {
                let value = read_text(&mut field).await?;
                if parts.ticked.as_ref().is_some_and(|t| t.len() >= MAX_TICKED) {
                    return Err(Stop::Fault(ReadFault::Malformed(
                        "Too many Verify steps were sent.".into(),
                    )));
                }
                parts.ticked.get_or_insert_with(Vec::new).push(value);
            }
            _ => {
                let value = read_text(&mut field).await?;
                parts.draft.set(&name, value);
            }
        }
    }
    Ok(())
}

/// Opens a multipart body and reads it; a bad form token refuses the whole request.
async fn read_multipart(
    req: Request,
    state: &AppState,
) -> Result<(Parts, Option<ReadFault>), AppError> {
    let caller = caller_of(&req);
    let token = token_to_check(&req, &caller)?;
    let mp = Multipart::from_request(req, state)
        .await
        .map_err(multipart_rejection)?;
    let mut parts = Parts::default();
    match read_parts(mp, token, &mut parts).await {
        Ok(()) => Ok((parts, None)),
        Err(Stop::BadToken) => Err(bad_token()),
        Err(Stop::Fault(f)) => Ok((parts, Some(f))),
    }
}

/// A case from the HTML form: what could be read, and why reading stopped early if it did
/// (the form is shown again with everything that arrived).
pub struct FormSubmission {
    pub draft: CaseDraft,
    pub ticked: Option<Vec<String>>,
    pub uploads: Vec<Upload>,
    pub key: Option<String>,
    pub fault: Option<ReadFault>,
}

impl FromRequest<AppState> for FormSubmission {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let (parts, fault) = read_multipart(req, state).await?;
        Ok(FormSubmission {
            draft: parts.draft,
            ticked: parts.ticked,
            uploads: parts.uploads,
            key: parts.key,
            fault,
        })
    }
}

/// A case from the API: the `Idempotency-Key` header, and the case as a JSON body or as a
/// multipart body with a `case` part and `photo` parts.
pub struct ApiSubmission(pub Submission);

impl FromRequest<AppState> for ApiSubmission {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let key = req
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| AppError::BadRequest("The Idempotency-Key header is required: any unique string per case, the same on every retry.".into()))?;
        if !valid_key(&key) {
            return Err(AppError::BadRequest(format!(
                "Idempotency-Key must be 1 to {KEY_MAX} visible ASCII characters."
            )));
        }
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("multipart/form-data"));
        let (draft, ticked, uploads) = if multipart {
            let (parts, fault) = read_multipart(req, state).await?;
            if let Some(f) = fault {
                return Err(f.into());
            }
            let json = parts.case_json.ok_or_else(|| {
                AppError::BadRequest(
                    "A multipart case needs a `case` part holding the case JSON.".into(),
                )
            })?;
            let (draft, ticked) = case_from_json(json.as_bytes()).map_err(|e| {
                AppError::BadRequest(format!("The `case` part is not a valid case: {e}"))
            })?;
            (draft, ticked, parts.uploads)
        } else {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|e| match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => AppError::BadRequest(e.body_text()),
                })?;
            let (draft, ticked) = case_from_json(&body)
                .map_err(|e| AppError::BadRequest(format!("The body is not a valid case: {e}")))?;
            (draft, ticked, Vec::new())
        };
        Ok(ApiSubmission(Submission {
            draft,
            uploads,
            key,
            ticked,
        }))
    }
}

/// A case as JSON: the fields, and `verified_steps` (`[1, 3]`) when the client offered the
/// guide's Verify checklist. The fields stay strict: an unknown name is still refused.
fn case_from_json(json: &[u8]) -> Result<(CaseDraft, Option<Vec<String>>), serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_slice(json)?;
    let ticked = match value
        .as_object_mut()
        .and_then(|o| o.remove("verified_steps"))
    {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        Some(other) => Some(vec![match other {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }]),
    };
    Ok((serde_json::from_value(value)?, ticked))
}

pub async fn create_for_guide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    sub: FormSubmission,
) -> Result<Response, AppError> {
    let guide = super::form::guide_or_404(&state, &slug)?;
    let slug = guide.slug.clone();
    file_from_form(&state, &caller, Some(slug), sub).await
}

pub async fn create_unsorted(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    sub: FormSubmission,
) -> Result<Response, AppError> {
    file_from_form(&state, &caller, None, sub).await
}

#[derive(askama::Template)]
#[template(path = "cases/filed.html")]
struct FiledPage {
    id: String,
    guide: Option<(String, String)>,
}

/// Files a case from the form; anything the tech can fix shows the form again, filled in.
async fn file_from_form(
    state: &AppState,
    caller: &Caller,
    guide_slug: Option<String>,
    mut sub: FormSubmission,
) -> Result<Response, AppError> {
    let library = state.library();
    if guide_slug.is_some() {
        sub.draft.guide = guide_slug;
    }
    let guide = sub.draft.guide.as_deref().and_then(|g| library.find(g));
    let key = sub
        .key
        .take()
        .filter(|k| valid_key(k))
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let again = |status: StatusCode, errors: &[FieldError], problem: Option<String>| {
        let ctx = FormCtx::new(state, caller).ticked(sub.ticked.clone());
        let html = render_form(guide, &sub.draft, &key, errors, problem, &ctx)?;
        Ok::<_, AppError>((status, Html(html)).into_response())
    };
    match sub.fault.take() {
        Some(ReadFault::TooLarge(m)) => return again(StatusCode::PAYLOAD_TOO_LARGE, &[], Some(m)),
        Some(ReadFault::Malformed(m)) => return again(StatusCode::BAD_REQUEST, &[], Some(m)),
        None => {}
    }
    let submission = Submission {
        draft: sub.draft.clone(),
        uploads: std::mem::take(&mut sub.uploads),
        key: key.clone(),
        ticked: sub.ticked.clone(),
    };
    match state.cases.submit(submission, caller).await {
        Ok(filed) => filed_answer(state, caller, guide.map(|g| (g.slug.clone(), g.front.title.clone())), filed),
        Err(CaseError::Invalid(errors)) => again(StatusCode::UNPROCESSABLE_ENTITY, &errors, None),
        Err(CaseError::Photo(e @ PhotoError::Busy { retry_after_secs })) => {
            let mut res = again(StatusCode::SERVICE_UNAVAILABLE, &[], Some(e.to_string()))?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(res)
        }
        Err(CaseError::Photo(e)) if e.is_user_error() => {
            again(StatusCode::UNPROCESSABLE_ENTITY, &[], Some(e.to_string()))
        }
        Err(CaseError::KeyReused) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            &[],
            Some("This form was already sent with different contents. Reload the page to file a new case.".into()),
        ),
        Err(e) => Err(e.into()),
    }
}

/// The case page for those who may read cases; a receipt for an open-intake tablet.
fn filed_answer(
    state: &AppState,
    caller: &Caller,
    guide: Option<(String, String)>,
    filed: Filed,
) -> Result<Response, AppError> {
    if state.auth.allows(caller, Permission::ReadCases) {
        return Ok(Redirect::to(&filed.case.url()).into_response());
    }
    page(&FiledPage {
        id: filed.case.id.to_string(),
        guide,
    })
}
