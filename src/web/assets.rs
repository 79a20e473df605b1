//! Static files compiled into the binary, served under a versioned URL with long cache headers.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;
use sha2::{Digest, Sha256};

#[derive(Embed)]
#[folder = "static/"]
struct Static;

/// Short hash of every embedded file: changes whenever any asset changes, so caches never go stale.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut names: Vec<_> = Static::iter().collect();
        names.sort();
        let mut h = Sha256::new();
        for name in names {
            h.update(name.as_bytes());
            if let Some(f) = Static::get(&name) {
                h.update(f.data);
            }
        }
        hex::encode(h.finalize())[..12].to_string()
    })
}

/// The URL of an embedded asset, e.g. `url("app.css")`.
pub fn url(name: &str) -> String {
    format!("/static/{}/{name}", version())
}

pub async fn serve(Path((_version, path)): Path<(String, String)>) -> Response {
    let Some(file) = Static::get(&path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let mut res = file.data.into_owned().into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    res
}

/// The service worker, served from the root so that it may control every page.
pub async fn service_worker() -> Response {
    let Some(file) = Static::get("sw.js") else {
        return (StatusCode::NOT_FOUND, "no service worker").into_response();
    };
    let mut res = file.data.into_owned().into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
