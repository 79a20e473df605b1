//! Case photos, served by content hash only.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState};
use crate::cases::photos::is_photo_id;

pub async fn photo(
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
