//! A request id in every log line of a request and in its `x-request-id` answer header.
//!
//! An id sent by a proxy (nginx's `$request_id`) is kept so both logs name the same request;
//! anything else a client puts in the header is replaced, so a forged id cannot smuggle text
//! into the logs.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 64;

/// A UUID v7 for each request without a usable id: time-ordered, so log searches sort well.
#[derive(Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

fn usable(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LEN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Runs before the id is set: removes an incoming id that is too long or holds odd characters.
pub async fn drop_unusable(mut req: Request, next: Next) -> Response {
    let bad = req.headers().get_all(&HEADER).iter().count() > 1
        || req.headers().get(&HEADER).is_some_and(|v| !usable(v));
    if bad {
        req.headers_mut().remove(&HEADER);
    }
    next.run(req).await
}

/// The span every log line of a request is written in.
pub fn span<B>(req: &axum::http::Request<B>) -> Span {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    )
}
