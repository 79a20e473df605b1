//! `/metrics` for Prometheus, and the middleware that times every request by its route.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{AppError, AppState};
use crate::auth::net;
use crate::auth::Caller;
use crate::telemetry::prometheus::{self, Snapshot};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Headers a proxy adds. Seen from a peer that is not a trusted proxy, they mean the request
/// came through a proxy this server was not told about, so its loopback address proves nothing.
const FORWARDING_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// Whether the caller may read the metrics: loopback or a `--metrics-allow` network, judged by
/// the client's address (behind a trusted proxy, the one it forwarded).
fn may_scrape(state: &AppState, caller: &Caller, peer: SocketAddr, headers: &HeaderMap) -> bool {
    let via_unknown_proxy = !net::any_contains(&state.config.trusted_proxy, peer.ip())
        && FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h));
    if via_unknown_proxy {
        return false;
    }
    caller.addr.is_loopback() || net::any_contains(&state.config.ops.metrics_allow, caller.addr)
}

async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !may_scrape(&state, &caller, peer, &headers) {
        return Err(AppError::Forbidden(
            "Metrics are served to loopback and to the networks named by --metrics-allow only."
                .into(),
        ));
    }
    let Some(handle) = prometheus::handle() else {
        return Err(AppError::NotFound(
            "Metrics are off in this process.".into(),
        ));
    };
    // The pool's wait as a probe sees it: how long one connection takes to come free now.
    let started = Instant::now();
    drop(state.db.acquire().await?);
    prometheus::pool_acquire(started.elapsed());
    let cases_stored = crate::cases::store::count_all(&state.db).await?;
    prometheus::set_snapshot(Snapshot {
        cases_stored: u64::try_from(cases_stored).unwrap_or(0),
        cases_indexed: state.search.num_case_docs(),
        pool_open: state.db.size(),
        pool_idle: u32::try_from(state.db.num_idle()).unwrap_or(u32::MAX),
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response())
}

/// Counts and times each request under its route pattern (`/guides/{slug}`), or `unmatched`.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Methods outside HTTP's own set share one label, for the same reason as routes.
    let method = match *req.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::DELETE
        | Method::PATCH
        | Method::OPTIONS => req.method().as_str().to_owned(),
        _ => "OTHER".to_owned(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    prometheus::request(&method, &route, res.status().as_u16(), started.elapsed());
    res
}
