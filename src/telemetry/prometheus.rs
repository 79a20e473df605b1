//! Prometheus metrics through the `metrics` facade and its exporter, rendered at `/metrics`.
//!
//! The facade's recorder is global, so one process holds one set of metrics even when it runs
//! several applications (as the test binaries do); tests compare before and after.
//! Every metric name is defined here, so the dashboard in `docs/` and the code agree.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "faultbook_http_requests_total";
pub const HTTP_DURATION: &str = "faultbook_http_request_duration_seconds";
pub const SEARCH_DURATION: &str = "faultbook_search_duration_seconds";
pub const CASES_FILED: &str = "faultbook_cases_filed_total";
pub const PHOTOS_REFUSED: &str = "faultbook_photos_refused_total";
pub const LOGINS_REFUSED: &str = "faultbook_logins_refused_total";
pub const INDEX_LAG: &str = "faultbook_index_lag_cases";
pub const CASES_STORED: &str = "faultbook_cases_stored";
pub const POOL_CONNECTIONS: &str = "faultbook_db_pool_connections";
pub const POOL_ACQUIRE: &str = "faultbook_db_pool_acquire_seconds";
pub const RESIDENT_MEMORY: &str = "faultbook_process_resident_memory_bytes";
pub const BUILD_INFO: &str = "faultbook_build_info";

/// Latency buckets from 0.5 ms to 10 s: search answers in about a millisecond, a filing with
/// photos in a few hundred, and anything past seconds is a problem worth its own bucket.
const SECONDS_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    120.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use; `None` when another recorder was installed
/// first (then `/metrics` says so instead of serving empty figures).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .and_then(|b| b.install_recorder());
            match built {
                Ok(handle) => {
                    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"),
                        "schema" => env!("FAULTBOOK_SCHEMA"))
                    .set(1.0);
                    spawn_upkeep(handle.clone());
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!("metrics are off: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// Histograms keep raw samples until upkeep folds them into buckets; without it they only grow.
fn spawn_upkeep(handle: PrometheusHandle) {
    let run = move || loop {
        std::thread::sleep(Duration::from_secs(5));
        handle.run_upkeep();
    };
    if let Err(e) = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(run)
    {
        tracing::warn!("cannot start the metrics upkeep thread: {e}");
    }
}

/// One answered request. `route` is the matched route pattern, never the raw path, so a
/// scanner walking random URLs cannot grow the label set.
pub fn request(method: &str, route: &str, status: u16, took: Duration) {
    let method = method.to_owned();
    let route = route.to_owned();
    counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(),
        "status" => status.to_string())
    .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(took.as_secs_f64());
}

pub fn search(took: Duration) {
    histogram!(SEARCH_DURATION).record(took.as_secs_f64());
}

pub fn case_filed() {
    counter!(CASES_FILED).increment(1);
}

/// A photo refused; `reason` is one of a few fixed words (see `PhotoError::reason`).
pub fn photo_refused(reason: &'static str) {
    counter!(PHOTOS_REFUSED, "reason" => reason).increment(1);
}

/// A login refused; `reason` is one of a few fixed words (see `AuthError::refusal_reason`).
pub fn login_refused(reason: &'static str) {
    counter!(LOGINS_REFUSED, "reason" => reason).increment(1);
}

pub fn pool_acquire(took: Duration) {
    histogram!(POOL_ACQUIRE).record(took.as_secs_f64());
}

/// Figures read at scrape time rather than counted as they happen.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub cases_stored: u64,
    pub cases_indexed: u64,
    pub pool_open: u32,
    pub pool_idle: u32,
}

pub fn set_snapshot(s: Snapshot) {
    gauge!(CASES_STORED).set(s.cases_stored as f64);
    gauge!(INDEX_LAG).set(s.cases_stored.saturating_sub(s.cases_indexed) as f64);
    gauge!(POOL_CONNECTIONS, "state" => "idle").set(s.pool_idle as f64);
    gauge!(POOL_CONNECTIONS, "state" => "in_use")
        .set(s.pool_open.saturating_sub(s.pool_idle) as f64);
    if let Some(rss) = resident_memory() {
        gauge!(RESIDENT_MEMORY).set(rss as f64);
    }
}

/// Resident set size from `/proc/self/statm` (Linux; elsewhere the gauge is left out).
fn resident_memory() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // The kernel's page size is 4 KiB on every platform this is built for.
    Some(pages * 4096)
}
