//! HTTP: the router, thin handlers and their templates. Business logic lives in other modules.

pub mod access;
mod account;
mod admin;
pub mod assets;
mod cases;
pub mod error;
mod guide_edit;
mod guide_history;
mod guide_images;
mod guide_review;
mod guides;
mod health;
mod links;
mod metrics;
mod request_id;
mod search;

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{AuthService, Permission};
use crate::cases::CaseService;
use crate::config::Config;
use crate::content::images::GuideImageStore;
use crate::content::{Guides, Library};
use crate::db::Db;
use crate::search::SearchIndex;
pub use error::AppError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub guides: Guides,
    pub search: SearchIndex,
    pub cases: CaseService,
    pub db: Db,
    pub config: Arc<Config>,
    pub auth: AuthService,
    /// The host names requests may name in Host and Origin (see `Config::served_hosts`).
    pub hosts: Arc<Vec<String>>,
    /// Images of guides, uploaded from the editor or imported from `content/images/`.
    pub guide_images: GuideImageStore,
}

impl AppState {
    /// The guides as they are now; hold it for the length of a request.
    pub fn library(&self) -> Arc<Library> {
        self.guides.current()
    }
}

pub fn router(state: AppState) -> Router {
    use access::Need;
    use Permission::*;
    let gate = |routes: Router<AppState>, need: Need| {
        routes.route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), need),
            access::require,
        ))
    };
    // The API routers answer errors as JSON: chosen here, once, by the router they sit in.
    let api =
        |routes: Router<AppState>| routes.layer(axum::middleware::from_fn(error::json_errors));
    let guides = guides::router()
        .merge(search::router())
        .merge(links::router());
    let guides_api = guides::api_router().merge(search::api_router());
    Router::new()
        .merge(gate(guides, Need::both(ReadGuides)))
        .merge(api(gate(guides_api, Need::both(ReadGuides))))
        .merge(
            Router::new()
                .merge(gate(
                    cases::list_router(),
                    Need {
                        read: ReadCases,
                        write: FileCases,
                    },
                ))
                .merge(api(gate(
                    cases::api_list_router(),
                    Need {
                        read: ReadCases,
                        write: FileCases,
                    },
                )))
                .merge(gate(cases::read_router(), Need::both(ReadCases)))
                .merge(api(gate(cases::api_read_router(), Need::both(ReadCases))))
                .merge(gate(cases::file_router(), Need::both(FileCases)))
                .merge(gate(cases::edit_router(), Need::both(EditCases))),
        )
        .merge(account::router())
        .merge(api(account::api_router()))
        .merge(gate(account::account_router(), Need::both(Account)))
        .merge(gate(admin::router(), Need::both(Admin)))
        .merge(api(gate(
            guide_images::upload_router(),
            Need::both(EditGuides),
        )))
        .merge(api(gate(
            guide_images::read_router(),
            Need::both(ReadGuides),
        )))
        .merge(gate(guide_edit::edit_router(), Need::both(EditGuides)))
        .merge(gate(
            guide_edit::suggest_router(),
            Need::both(SuggestGuides),
        ))
        .merge(gate(
            guide_history::read_router(),
            Need::both(SuggestGuides),
        ))
        .merge(gate(
            guide_history::restore_router(),
            Need::both(EditGuides),
        ))
        .merge(gate(guide_review::router(), Need::both(EditGuides)))
        .merge(gate(admin::audit_router(), Need::both(CaseAudit)))
        .merge(api(health::router()))
        .merge(metrics::router())
        .merge(api(Router::new().route("/api/{*rest}", get(not_found))))
        .route("/static/{version}/{*path}", get(assets::serve))
        .route("/sw.js", get(assets::service_worker))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::identify,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(axum::middleware::from_fn(error::log_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state.clone())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.connections.request_timeout(),
        ))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(PropagateRequestIdLayer::new(request_id::HEADER))
        .layer(SetRequestIdLayer::new(
            request_id::HEADER,
            request_id::MakeId,
        ))
        .layer(axum::middleware::from_fn(request_id::drop_unusable))
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

/// `?k=v&…` from pairs, percent-encoded; empty when there are none.
pub fn query_string<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k.as_ref(), v.as_ref());
    }
    let qs = s.finish();
    if qs.is_empty() {
        qs
    } else {
        format!("?{qs}")
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

/// Set on an embed page's response: the origins (besides this site) that may frame it.
#[derive(Clone)]
pub struct FrameAncestors(pub String);

/// The policy every page's scripts, styles and frames live under. No inline script anywhere;
/// inline style attributes stay allowed for table alignment in guides.
const CSP_BASE: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self'";

async fn security_headers(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut res = next.run(req).await;
    let embed = res.extensions().get::<FrameAncestors>().cloned();
    let h = res.headers_mut();
    let ancestors = match &embed {
        Some(FrameAncestors(allowed)) => format!("'self' {allowed}").trim_end().to_string(),
        None => "'none'".to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{CSP_BASE}; frame-ancestors {ancestors}")) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if embed.is_none() {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    if state
        .config
        .base_url
        .as_deref()
        .is_some_and(|b| b.starts_with("https://"))
    {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound(format!("There is no page at {}.", uri.path()))
}
