//! Images of guides: editors upload a screenshot from the editor (one `image` part), everyone
//! who may read guides fetches it by its content hash.

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::store::same_secret;
use crate::auth::Caller;
use crate::content::images::{self, GuideImageError, MAX_BYTES};
use crate::web::access::{check_csrf, CSRF_FIELD, CSRF_HEADER};

/// The most a whole upload request may carry: one image and the multipart framing.
const REQUEST_MAX_BYTES: usize = MAX_BYTES + 64 * 1024;

/// `POST /guides/images`: editors only (the caller gates it).
pub fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/guides/images", post(upload))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// `GET /guides/images/{name}`: whoever may read guides (the caller gates it).
pub fn read_router() -> Router<AppState> {
    Router::new().route("/guides/images/{name}", get(serve))
}

impl From<GuideImageError> for AppError {
    fn from(e: GuideImageError) -> Self {
        match e {
            GuideImageError::Image(p) => p.into(),
            GuideImageError::TooManyBytes { .. } => AppError::PayloadTooLarge(e.to_string()),
            GuideImageError::Io(io) => anyhow::Error::from(io)
                .context("cannot store a guide image")
                .into(),
        }
    }
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "The image is over {} MB and was not read. Nothing was saved; crop the screenshot or save it smaller.",
        MAX_BYTES / (1024 * 1024)
    ))
}

/// A request that announces more than the limit is answered 413 before its body is read.
async fn refuse_oversized(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > REQUEST_MAX_BYTES as u64) {
        return too_large().into_response();
    }
    next.run(req).await
}

fn read_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::BadRequest(format!(
            "The upload was cut off or malformed: {}",
            e.body_text()
        ))
    }
}

fn bad_token() -> AppError {
    AppError::Forbidden(
        "This page's security token is missing or out of date (for example after logging in again). Nothing was saved; reload the editor and upload the image again.".into(),
    )
}

async fn read_bytes(field: &mut Field<'_>, max: usize) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(read_error)? {
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The one image of an upload. A browser caller's form token comes in the `X-CSRF-Token`
/// header or, as in the case forms, as the first part (`csrf_token`); bearer callers need none.
async fn read_upload(
    caller: &Caller,
    headers: &HeaderMap,
    mut mp: Multipart,
) -> Result<(String, Vec<u8>), AppError> {
    let mut token = None;
    if caller.needs_csrf() {
        if headers.contains_key(CSRF_HEADER) {
            check_csrf(caller, headers, None)?;
        } else {
            token = Some(caller.csrf_token().to_string());
        }
    }
    if let Some(expected) = token {
        let mut first = mp
            .next_field()
            .await
            .map_err(read_error)?
            .ok_or_else(bad_token)?;
        if first.name() != Some(CSRF_FIELD) {
            return Err(bad_token());
        }
        let sent = String::from_utf8(read_bytes(&mut first, 1024).await?).unwrap_or_default();
        if !same_secret(sent.trim(), &expected) {
            return Err(bad_token());
        }
    }
    let mut image = None;
    while let Some(mut field) = mp.next_field().await.map_err(read_error)? {
        match field.name() {
            Some("image") => {
                if image.is_some() {
                    return Err(AppError::BadRequest("Send one image per upload.".into()));
                }
                let name = field
                    .file_name()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or("image")
                    .chars()
                    .take(200)
                    .collect::<String>();
                image = Some((name, read_bytes(&mut field, MAX_BYTES).await?));
            }
            // A form token sent anyway (header callers, bearer callers) is ignored.
            Some(CSRF_FIELD) => {
                read_bytes(&mut field, 1024).await?;
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "Unknown part `{}`: send the image as the part `image`.",
                    other.unwrap_or("")
                )))
            }
        }
    }
    match image {
        Some((_, bytes)) if bytes.is_empty() => Err(AppError::BadRequest(
            "The image part is empty: choose a file.".into(),
        )),
        Some(upload) => Ok(upload),
        None => Err(AppError::BadRequest(
            "No image: send the file as the multipart part `image`.".into(),
        )),
    }
}

#[derive(serde::Serialize)]
struct Uploaded {
    name: String,
    url: String,
    markdown: String,
    width: u32,
    height: u32,
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let mp = mp.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::BadRequest(format!(
                "Send the image as multipart/form-data: {}",
                e.body_text()
            ))
        }
    })?;
    let (original, bytes) = read_upload(&caller, &headers, mp).await?;
    let stored = state
        .guide_images
        .store_limited(original.clone(), bytes)
        .await?;
    let event =
        AuditEvent::by(&caller, AuditAction::GuideImageUpload, &stored.name).detail(format!(
            "{original}: {} x {} px, {} bytes",
            stored.width, stored.height, stored.bytes_len
        ));
    audit::record(&state.db, event).await;
    let alt = std::path::Path::new(&original)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let url = stored.url();
    let location = HeaderValue::from_str(&url).map_err(anyhow::Error::from)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Uploaded {
            markdown: images::markdown(&alt, &stored.name),
            url,
            name: stored.name,
            width: stored.width,
            height: stored.height,
        }),
    )
        .into_response())
}

async fn serve(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound("No such image.".into());
    let path = state.guide_images.path(&name).ok_or_else(not_found)?;
    let bytes = tokio::fs::read(path).await.map_err(|_| not_found())?;
    let content_type = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    // Named by content: the bytes behind a URL never change. Shared caches may keep them only
    // when anyone may read guides.
    let cache = if state.config.guides_public {
        "public, max-age=31536000, immutable"
    } else {
        "private, max-age=31536000, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        Body::from(bytes),
    )
        .into_response())
}
