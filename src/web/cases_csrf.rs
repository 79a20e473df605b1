//! Transitional: the form-token check of the case routes, whose handlers do not check it yet.
//! It reads the token from the header, a URL-encoded body, or the first part of a multipart
//! body, and gives the handler the body whole again. Remove this file (and its `route_layer`
//! in `web/mod.rs`) once the case handlers use `access::CsrfForm` and call
//! `access::check_csrf` from their multipart reader.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::access::{caller_of, check_csrf, CSRF_FIELD, CSRF_HEADER};
use super::AppError;

/// Refuses a cookie-session or proxy-login write to a case route whose token is missing or
/// wrong; lets everything else through untouched.
pub async fn guard(req: Request, next: Next) -> Response {
    let caller = caller_of(&req);
    if req.method().is_safe() || !caller.needs_csrf() {
        return next.run(req).await;
    }
    let (req, submitted) = match submitted_csrf(req).await {
        Ok(pair) => pair,
        Err(res) => return *res,
    };
    if let Err(e) = check_csrf(&caller, req.headers(), submitted.as_deref()) {
        return e.into_response();
    }
    next.run(req).await
}

/// Reads the form token from the header, a URL-encoded body, or the first part of a multipart
/// body (forms put it first), and gives back a request whose body is whole again.
async fn submitted_csrf(req: Request) -> Result<(Request, Option<String>), Box<Response>> {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.to_string();
        return Ok((req, Some(v)));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (parts, body) = req.into_parts();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let bytes = axum::body::to_bytes(body, 1024 * 1024).await.map_err(|_| {
            Box::new(AppError::PayloadTooLarge("The form is over 1 MB.".into()).into_response())
        })?;
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned());
        return Ok((Request::from_parts(parts, Body::from(bytes)), token));
    }
    if let Some(boundary) = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .filter(|_| content_type.starts_with("multipart/form-data"))
    {
        let mut stream = body.into_data_stream();
        let mut buf = BytesMut::new();
        let mut token = None;
        while buf.len() < 16 * 1024 {
            match stream.next().await {
                Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                Some(Err(_)) | None => break,
            }
            if let Some(found) = first_part_field(&buf, &boundary) {
                token = found;
                break;
            }
        }
        let head: Bytes = buf.freeze();
        let rest =
            futures_util::stream::once(async move { Ok::<Bytes, axum::Error>(head) }).chain(stream);
        return Ok((Request::from_parts(parts, Body::from_stream(rest)), token));
    }
    Ok((Request::from_parts(parts, body), None))
}

/// `Some(token)` once the first part is complete: its value if it is the `csrf_token` field,
/// else `Some(None)`. `None` while more bytes are needed.
fn first_part_field(buf: &[u8], boundary: &str) -> Option<Option<String>> {
    let delim = format!("--{boundary}");
    let start = find(buf, delim.as_bytes())? + delim.len();
    let after = &buf[start..];
    let headers_end = find(after, b"\r\n\r\n")?;
    let part_headers = String::from_utf8_lossy(&after[..headers_end]).to_ascii_lowercase();
    let value = &after[headers_end + 4..];
    let end = find(value, format!("\r\n{delim}").as_bytes())?;
    let is_csrf = part_headers.contains(&format!("name=\"{CSRF_FIELD}\""));
    Some(is_csrf.then(|| String::from_utf8_lossy(&value[..end]).trim().to_string()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
