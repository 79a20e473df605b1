//! Who is asking, and may they: the caller is established once per request (bearer token,
//! trusted proxy header, or session cookie), state-changing requests are checked for their form
//! token and origin and counted against the write limit, and each route group demands a
//! permission.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::{AppError, AppState};
use crate::auth::ratelimit::RateDecision;
use crate::auth::{net, store, Caller, Identity, Permission, Role};

/// The form field, and the header scripts may use instead.
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie's name: `__Host-` prefixed (and so `Secure`, host-only) over https.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.https() {
        "__Host-faultbook"
    } else {
        "faultbook"
    }
}

/// `Set-Cookie` for a new session: it lives as long as the session may.
pub fn session_cookie(state: &AppState, value: &str) -> HeaderValue {
    let secure = if state.config.https() { "; Secure" } else { "" };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        cookie_name(state),
        state.config.session_max
    );
    HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""))
}

pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.config.https() { "; Secure" } else { "" };
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""))
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Paths whose answers are for programs (JSON, CSV, feeds, images), not for a person's browser.
fn wants_machine_answer(path: &str) -> bool {
    path.starts_with("/api/")
        || path.starts_with("/photos/")
        || path.ends_with(".csv")
        || path.ends_with(".xml")
}

fn error_for(path: &str, err: AppError) -> Response {
    let res = err.into_response();
    if wants_machine_answer(path) {
        // `identify` answers before routing, outside the API routers' JSON layer.
        super::error::to_json(res)
    } else {
        res
    }
}

fn unauthorized(message: &str) -> Response {
    let mut res =
        super::error::to_json(AppError::Unauthorized(message.to_string()).into_response());
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"faultbook\""),
    );
    res
}

/// A 429 with the headers plant integration wrappers read.
pub fn too_many(path: &str, d: &RateDecision, message: String) -> Response {
    let mut res = error_for(path, AppError::TooManyRequests(message));
    let h = res.headers_mut();
    for (name, value) in [
        ("retry-after", d.retry_after_secs()),
        ("x-ratelimit-limit", u64::from(d.limit)),
        ("x-ratelimit-remaining", u64::from(d.remaining)),
        ("x-ratelimit-reset", d.reset_secs),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
    res
}

/// The client's address: the peer, or behind a trusted proxy the last address it forwarded.
fn client_addr(state: &AppState, req: &Request) -> (IpAddr, bool) {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let from_proxy = net::any_contains(&state.config.trusted_proxy, peer);
    if !from_proxy {
        return (peer, false);
    }
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    (forwarded.unwrap_or(peer), true)
}

/// The role a proxy user gets from their groups: the highest mapped one, else the default.
fn proxy_role(state: &AppState, headers: &HeaderMap) -> Role {
    let default = Role::parse(&state.config.proxy_default_role).unwrap_or(Role::Viewer);
    let Some(groups_header) = &state.config.proxy_groups_header else {
        return default;
    };
    let groups: Vec<&str> = headers
        .get_all(groups_header.as_str())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ' ', ';']))
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    state
        .proxy_roles
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
        .map(|(_, role)| *role)
        .max()
        .unwrap_or(default)
}

/// Establishes the caller of every request, then guards state-changing requests.
pub async fn identify(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (addr, from_proxy) = client_addr(&state, &req);
    let mut caller = Caller::anonymous(addr);
    let mut stale_cookie = false;
    let headers = req.headers();

    if let Some(authz) = headers.get(header::AUTHORIZATION) {
        let secret = authz
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, s)| s.trim().to_string());
        let Some(secret) = secret else {
            return unauthorized("Only `Authorization: Bearer <token>` is accepted.");
        };
        match store::token_by_secret(&state.db, &secret).await {
            Ok(Some(t)) => {
                caller.identity = Identity::Token { name: t.name };
                caller.role = Some(t.role);
            }
            Ok(None) => return unauthorized("The bearer token is unknown or has been revoked."),
            Err(e) => return error_for(&path, e.into()),
        }
    } else if let Some(name) = state
        .config
        .trust_proxy_header
        .as_deref()
        .filter(|_| from_proxy)
        .and_then(|h| headers.get(h))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|n| store::valid_name(n))
    {
        caller.role = Some(proxy_role(&state, headers));
        caller.proxy_csrf = Some(state.auth.proxy_csrf(name));
        caller.identity = Identity::Proxy {
            name: name.to_string(),
        };
    } else if let Some(value) = cookie_value(headers, cookie_name(&state)) {
        match store::live_session(&state.db, value, state.auth.timeouts).await {
            Ok(Some(s)) => {
                caller.identity = Identity::User {
                    id: s.user.id.clone(),
                    name: s.user.name.clone(),
                };
                caller.role = Some(s.user.role);
                caller.session = Some((s.id_hash, s.csrf_token));
            }
            Ok(None) => stale_cookie = true,
            Err(e) => return error_for(&path, e.into()),
        }
    }

    let mut req = req;
    if !is_safe(req.method()) {
        if let Err(res) = same_origin(&state, req.headers(), &path) {
            return *res;
        }
        // Logging in (again, or as someone else) replaces the session, so it needs none.
        let expected = caller.csrf_token().to_string();
        if !expected.is_empty() && !starts_a_session(&path) {
            let (back, submitted) = match submitted_csrf(req).await {
                Ok(pair) => pair,
                Err(res) => return *res,
            };
            req = back;
            if !submitted.is_some_and(|s| store::same_secret(&s, &expected)) {
                return error_for(
                    &path,
                    AppError::Forbidden(
                        "This form's security token is missing or out of date (for example after logging in again). Nothing was saved; go back, reload the page and send it again.".into(),
                    ),
                );
            }
        }
        if counts_as_write(&path) {
            let key = match &caller.identity {
                Identity::Token { name } => format!("token:{name}"),
                _ => format!("addr:{addr}"),
            };
            let d = state.auth.writes.hit(&key);
            if !d.allowed {
                return too_many(
                    &path,
                    &d,
                    format!(
                        "Too many changes from here: at most {} a minute. Try again in {} seconds.",
                        d.limit,
                        d.retry_after_secs()
                    ),
                );
            }
        }
    }

    let signed_in = caller.role.is_some();
    req.extensions_mut().insert(caller);
    let mut res = next.run(req).await;
    // Tells the service worker whether this page was made for someone logged in, so it can
    // drop such pages once the device is no longer logged in.
    res.headers_mut().insert(
        "x-faultbook-session",
        HeaderValue::from_static(if signed_in { "1" } else { "0" }),
    );
    if stale_cookie && !res.headers().contains_key(header::SET_COOKIE) {
        res.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(&state));
    }
    res
}

/// Logins and logouts have their own limits.
fn counts_as_write(path: &str) -> bool {
    !(path == "/login" || path == "/logout" || path.starts_with("/setup/"))
}

fn starts_a_session(path: &str) -> bool {
    path == "/login" || path.starts_with("/setup/")
}

/// A state-changing request that names its origin must come from this site.
fn same_origin(state: &AppState, headers: &HeaderMap, path: &str) -> Result<(), Box<Response>> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let ours = state
        .config
        .base_url
        .as_deref()
        .map(|b| b.trim_end_matches('/').to_string());
    let matches_host = host.is_some_and(|h| {
        origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h))
    });
    if matches_host || ours.is_some_and(|o| o.eq_ignore_ascii_case(origin)) {
        Ok(())
    } else {
        Err(Box::new(error_for(
            path,
            AppError::Forbidden(format!(
                "A request from another site ({origin}) may not change anything here."
            )),
        )))
    }
}

/// Reads the form token from the header, a URL-encoded body, or the first part of a multipart
/// body (forms put it first), and gives back a request whose body is whole again.
async fn submitted_csrf(req: Request) -> Result<(Request, Option<String>), Box<Response>> {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.to_string();
        return Ok((req, Some(v)));
    }
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (parts, body) = req.into_parts();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let bytes = axum::body::to_bytes(body, 1024 * 1024).await.map_err(|_| {
            Box::new(error_for(
                &path,
                AppError::PayloadTooLarge("The form is over 1 MB.".into()),
            ))
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

/// What a group of routes demands: `read` for GET and HEAD, `write` for the rest.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub read: Permission,
    pub write: Permission,
}

impl Need {
    pub const fn both(p: Permission) -> Need {
        Need { read: p, write: p }
    }
}

/// The caller of this request (set by `identify`, which wraps every route).
pub fn caller_of(req: &Request) -> Caller {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| Caller::anonymous(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
}

pub async fn require(
    State((state, need)): State<(AppState, Need)>,
    req: Request,
    next: Next,
) -> Response {
    let caller = caller_of(&req);
    let permission = if is_safe(req.method()) {
        need.read
    } else {
        need.write
    };
    if state.auth.allows(&caller, permission) {
        return next.run(req).await;
    }
    let path = req.uri().path();
    if caller.role.is_none() {
        if wants_machine_answer(path) {
            return unauthorized("Log in first: send `Authorization: Bearer <token>`.");
        }
        if is_safe(req.method()) {
            let next_url = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let target = format!(
                "/login?next={}",
                percent_encoding::utf8_percent_encode(next_url, percent_encoding::NON_ALPHANUMERIC)
            );
            return Redirect::to(&target).into_response();
        }
        return error_for(
            path,
            AppError::Unauthorized("Log in to do this. Nothing was changed.".into()),
        );
    }
    let role = caller.role.map(Role::as_str).unwrap_or("none");
    error_for(
        path,
        AppError::Forbidden(format!(
            "Your role ({role}) may not do this. Ask an admin if you need it."
        )),
    )
}
