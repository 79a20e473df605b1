//! The web layer's one error type. Every domain error becomes an `AppError` through one `From`
//! impl, and each maps to a status in exactly one place (`AppError::status`).
//!
//! `into_response` renders the readable page and leaves an `ErrorReport` in the response's
//! extensions. Two middlewares read it: `json_errors`, layered on the API routers only, turns the
//! page into `{"error": ...}`; `log_errors`, around the whole app, logs each error once with its
//! method and route. Handlers never choose a format or log.

use std::sync::Arc;

use askama::Template;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use crate::auth::AuthError;
use crate::cases::assets::AssetError;
use crate::cases::photos::PhotoError;
use crate::cases::{CaseError, FieldError};
use crate::content::GuideError;
use crate::search::SearchError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    /// A case with faults, each against its field.
    #[error("The case has faults; see `fields`.")]
    InvalidFields(Vec<FieldError>),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The thing changed since the caller read it (a guide saved by someone else meanwhile).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// The server is busy with work it limits (photo decoding); try again after `retry_after_secs`.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u64,
    },
    /// The disk is full or the data folder read-only: nothing was saved, the request was fine.
    #[error("{}", cannot_write_message(*.0))]
    CannotWrite(crate::db::WriteFault, String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

fn cannot_write_message(fault: crate::db::WriteFault) -> &'static str {
    match fault {
        crate::db::WriteFault::DiskFull => "The server's disk is full, so nothing of this was saved. What you entered is still here: tell plant IT, and send it again once they have freed space.",
        crate::db::WriteFault::ReadOnly => "The server cannot write to its data folder (it is read-only), so nothing of this was saved. What you entered is still here: tell plant IT, and send it again once they have fixed it.",
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) | AppError::InvalidFields(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::CannotWrite(crate::db::WriteFault::DiskFull, _) => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            AppError::CannotWrite(crate::db::WriteFault::ReadOnly, _) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user is told: the message for 4xx, nothing internal for 5xx.
    fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => {
                "Something went wrong on the server. It has been logged.".to_string()
            }
            AppError::InvalidFields(fields) => fields
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        }
    }

    /// A server-side failure: a full disk or read-only folder gets its own answer, anything
    /// else is a 500 whose detail only the log sees.
    fn internal(e: impl Into<anyhow::Error>) -> Self {
        let e: anyhow::Error = e.into();
        match crate::db::write_fault(e.as_ref()) {
            Some(fault) => AppError::CannotWrite(fault, format!("{e:#}")),
            None => AppError::Internal(e),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(_) | AuthError::Hash(_) => AppError::internal(e),
            AuthError::NoSuchUser(_) | AuthError::NoSuchToken(_) => {
                AppError::NotFound(e.to_string())
            }
            other => AppError::Unprocessable(other.to_string()),
        }
    }
}

impl From<GuideError> for AppError {
    fn from(e: GuideError) -> Self {
        match e {
            GuideError::NotFound(_) | GuideError::NoRevision(_) => {
                AppError::NotFound(e.to_string())
            }
            GuideError::Invalid(ref issues) => AppError::Unprocessable(format!(
                "The guide does not pass the lint: {}",
                issues
                    .iter()
                    .map(|i| format!("line {}: {}", i.line, i.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            GuideError::BadSlug(_) => AppError::Unprocessable(e.to_string()),
            GuideError::Stale { .. } | GuideError::SlugTaken(_) | GuideError::NotWaiting(_) => {
                AppError::Conflict(e.to_string())
            }
            GuideError::Content(_) | GuideError::Db(_) => AppError::internal(e),
        }
    }
}

impl From<PhotoError> for AppError {
    fn from(e: PhotoError) -> Self {
        if let PhotoError::Busy { retry_after_secs } = e {
            return AppError::Busy {
                message: e.to_string(),
                retry_after_secs,
            };
        }
        if e.is_user_error() {
            AppError::Unprocessable(e.to_string())
        } else {
            AppError::internal(e)
        }
    }
}

impl From<CaseError> for AppError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::Invalid(fields) => AppError::InvalidFields(fields),
            CaseError::Photo(p) => p.into(),
            CaseError::KeyReused => AppError::Unprocessable(e.to_string()),
            CaseError::BadKey => AppError::BadRequest(e.to_string()),
            CaseError::NotFound => AppError::NotFound(e.to_string()),
            CaseError::NotYours | CaseError::WindowClosed { .. } => {
                AppError::Forbidden(e.to_string())
            }
            other => AppError::internal(other),
        }
    }
}

impl From<AssetError> for AppError {
    fn from(e: AssetError) -> Self {
        match e {
            AssetError::NoSuchAsset(_) | AssetError::NoName | AssetError::NotOfAsset { .. } => {
                AppError::NotFound(e.to_string())
            }
            AssetError::Db(e) => AppError::internal(e),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::internal(e)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::internal(e)
    }
}

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> Self {
        AppError::internal(e)
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(e)
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(e)
    }
}

/// What `into_response` leaves for the middlewares: the public message, the field faults, and
/// the internal detail that only the log sees.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub message: String,
    pub fields: Vec<FieldError>,
    pub detail: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    reason: String,
    message: String,
    /// Where a login from this page leads back to.
    login_next: Option<String>,
}

/// A 401 page for a browser whose session is gone: a login link that leads back to `next`
/// (the page the refused form was on), so a draft kept in the browser is there again.
pub fn login_needed(message: String, next: &str) -> Response {
    let mut res = AppError::Unauthorized(message.clone()).into_response();
    let page = ErrorPage {
        status: 401,
        reason: "Unauthorized".into(),
        message,
        login_next: Some(
            percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        ),
    };
    if let Ok(html) = page.render() {
        *res.body_mut() = axum::body::Body::from(html);
        res.headers_mut().remove(header::CONTENT_LENGTH);
    }
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.public_message();
        let detail = match &self {
            AppError::Internal(e) => Some(format!("{e:?}")),
            AppError::CannotWrite(_, cause) => Some(cause.clone()),
            _ => None,
        };
        let retry_after = match &self {
            AppError::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let fields = match self {
            AppError::InvalidFields(fields) => fields,
            _ => Vec::new(),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error").to_string(),
            message: message.clone(),
            login_next: None,
        };
        let mut res = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message.clone()).into_response(),
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut().insert(Arc::new(ErrorReport {
            message,
            fields,
            detail,
        }));
        res
    }
}

/// Layered on the API routers: an error answers as `{"error": ...}` (with `fields` for an
/// invalid case), keeping its status and headers.
pub async fn json_errors(req: Request, next: Next) -> Response {
    to_json(next.run(req).await)
}

/// An error answer as JSON; any other answer unchanged.
pub fn to_json(res: Response) -> Response {
    let Some(report) = res.extensions().get::<Arc<ErrorReport>>().cloned() else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let body = if report.fields.is_empty() {
        serde_json::json!({ "error": report.message })
    } else {
        serde_json::json!({ "error": report.message, "fields": report.fields })
    };
    let json = Json(body).into_response();
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}

/// Around the whole app: each error answer is logged once, with its method and route.
pub async fn log_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let res = next.run(req).await;
    if let Some(report) = res.extensions().get::<Arc<ErrorReport>>() {
        let status = res.status().as_u16();
        match &report.detail {
            Some(detail) => tracing::error!(%method, %route, status, %detail, "request failed"),
            None => {
                tracing::info!(%method, %route, status, refusal = %report.message, "request refused")
            }
        }
    }
    res
}
