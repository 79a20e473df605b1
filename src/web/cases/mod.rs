//! Case forms, case pages, the case API, the CSV export and photos. Handlers take typed
//! extractors, make one call into `cases`, and answer with a typed template or JSON.

mod api;
mod assets;
mod edit;
mod export;
mod form;
mod list;
mod photos;
pub(super) mod recurring;
mod show;
mod submission;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use uuid::Uuid;

use super::{AppError, AppState};
use crate::cases::{store, Case};
pub use export::csv_cell;
pub(super) use list::{case_row, CaseRow};

/// Per photo, photos per case, and per request.
pub const PHOTO_MAX_BYTES: usize = 15 * 1024 * 1024;
pub const MAX_PHOTOS: usize = crate::cases::PHOTOS_PER_CASE;
pub const REQUEST_MAX_BYTES: usize = 60 * 1024 * 1024;

/// `/cases`: listing needs ReadCases, filing FileCases.
pub fn list_router() -> Router<AppState> {
    Router::new()
        .route(
            "/cases",
            get(list::list_page).post(submission::create_unsorted),
        )
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// `/api/cases`: listing needs ReadCases, filing FileCases.
pub fn api_list_router() -> Router<AppState> {
    Router::new()
        .route("/api/cases", get(api::list).post(api::create))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// Reading single cases, their photos and the export; recurring faults and asset histories.
pub fn read_router() -> Router<AppState> {
    Router::new()
        .route("/cases.csv", get(export::csv))
        .route("/cases/recurring", get(recurring::page_of_groups))
        .route("/cases/{id}", get(show::page_of_case))
        .route("/photos/{file}", get(photos::photo))
        .route("/assets/{asset}", get(assets::history_page))
        .route("/assets/{asset}/diff", get(assets::diff_page))
}

/// Reading a single case, recurring faults and asset histories as JSON.
pub fn api_read_router() -> Router<AppState> {
    Router::new()
        .route("/api/cases/recurring", get(recurring::api_groups))
        .route("/api/cases/similar", get(api::similar))
        .route("/api/cases/{id}", get(api::show))
        .route("/api/assets/{asset}", get(assets::api_history))
        .route("/api/assets/{asset}/diff", get(assets::api_diff))
}

/// The case forms and their submissions, and a filer's later additions to their own case.
pub fn file_router() -> Router<AppState> {
    Router::new()
        .route("/guides/{slug}/cases/new", get(form::new_for_guide))
        .route("/guides/{slug}/cases", post(submission::create_for_guide))
        .route("/cases/new", get(form::new_unsorted))
        .route("/cases/{id}/follow-up", post(edit::follow_up))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
        .layer(axum::middleware::from_fn(refuse_oversized))
}

/// Editors: correct, sort, close and reopen cases.
pub fn edit_router() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/guide", post(edit::attach))
        .route("/cases/{id}/edit", get(form::edit).post(edit::submit))
        .route("/cases/{id}/closed", post(edit::set_closed))
        .layer(DefaultBodyLimit::max(REQUEST_MAX_BYTES))
}

/// The one answer to an upload over the request limit.
pub fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "The upload is over {} MB in all and was not read. Nothing was saved; what you typed is still in the form on your phone. Send fewer or smaller photos.",
        REQUEST_MAX_BYTES / (1024 * 1024)
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

fn no_such_case(id: &str) -> AppError {
    AppError::NotFound(format!("There is no case `{id}`."))
}

/// The case with this id, or a 404 that names it.
async fn case_or_404(state: &AppState, id: &str) -> Result<Case, AppError> {
    let uuid = Uuid::parse_str(id).map_err(|_| no_such_case(id))?;
    store::get(&state.db, &uuid)
        .await?
        .ok_or_else(|| no_such_case(id))
}
