//! HTTP: the router, thin handlers and their templates. Business logic lives in other modules.

pub mod assets;
mod cases;
pub mod error;
mod guides;
mod health;
mod links;
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
        .merge(links::router())
        .route("/static/{version}/{*path}", get(assets::serve))
        .route("/sw.js", get(assets::service_worker))
        .fallback(not_found)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(refuse_framing))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
}

/// The absolute form of a site path: from `--base-url` when set, else from the request's Host.
pub fn absolute(state: &AppState, headers: &axum::http::HeaderMap, path: &str) -> String {
    if let Some(base) = &state.config.base_url {
        return format!("{}{path}", base.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .map(str::to_owned)
        .unwrap_or_else(|| state.config.addr.to_string());
    format!("http://{host}{path}")
}

/// A `platform` parameter: absent or empty is no filter, an unknown name is a 400 that lists them.
pub fn parse_platform(p: Option<&str>) -> Result<Option<crate::content::Platform>, AppError> {
    use crate::content::Platform;
    match p.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => Platform::parse(p).map(Some).ok_or_else(|| {
            AppError::BadRequest(format!(
                "Unknown platform `{p}`. Choose one of: {}.",
                Platform::ALL.map(|p| p.as_str()).join(", ")
            ))
        }),
    }
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

/// Only an embed page, which sets its own `frame-ancestors`, may be shown in a frame.
async fn refuse_framing(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

async fn not_found(uri: Uri) -> Response {
    let message = format!("There is no page at {}.", uri.path());
    if uri.path().starts_with("/api/") {
        ApiError(AppError::NotFound(message)).into_response()
    } else {
        AppError::NotFound(message).into_response()
    }
}
