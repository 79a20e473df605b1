//! HTTP: the router, thin handlers and their templates. Business logic lives in other modules.

pub mod assets;
mod cases;
pub mod error;
mod guides;
mod health;
mod search;

use std::sync::Arc;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::cases::CaseService;
use crate::config::Config;
use crate::content::Library;
use crate::db::Db;
use crate::search::SearchIndex;
pub use error::{ApiError, AppError};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub library: Arc<Library>,
    pub search: SearchIndex,
    pub cases: CaseService,
    pub db: Db,
    pub config: Arc<Config>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(guides::router())
        .merge(health::router())
        .merge(search::router())
        .merge(cases::router())
        .route("/static/{version}/{*path}", get(assets::serve))
        .fallback(not_found)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
}

/// Renders any askama template as an HTML response.
pub fn page<T: Template>(t: &T) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}

/// A 301, which wikis and crawlers treat as "update your link"; axum's permanent redirect is a 308.
pub fn moved_permanently(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, v)]).into_response(),
        Err(_) => AppError::BadRequest("invalid redirect target".into()).into_response(),
    }
}

async fn not_found(uri: Uri) -> Response {
    let message = format!("There is no page at {}.", uri.path());
    if uri.path().starts_with("/api/") {
        ApiError(AppError::NotFound(message)).into_response()
    } else {
        AppError::NotFound(message).into_response()
    }
}
