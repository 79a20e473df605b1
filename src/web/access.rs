//! Who is asking, and may they: the caller is established once per request (bearer token,
//! trusted proxy header, or session cookie), requests naming a host this server does not serve
//! are refused, state-changing requests are checked for their origin, each route group demands
//! a permission and counts permitted writes, and forms are checked for their token by the
//! `CsrfForm` extractor.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use cookie::{Cookie, SameSite};
use serde::de::DeserializeOwned;

use super::{AppError, AppState};
use crate::auth::ratelimit::RateDecision;
use crate::auth::{net, store, Caller, Identity, Permission, Role, SessionRef};
use crate::config::host_only;

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

fn cookie_header(state: &AppState, value: String, max_age_secs: i64) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(state), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.https())
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// `Set-Cookie` for a new session: it lives as long as the session may.
pub fn session_cookie(state: &AppState, value: &str) -> HeaderValue {
    cookie_header(state, value.to_string(), state.config.session_max)
}

pub fn clear_cookie(state: &AppState) -> HeaderValue {
    cookie_header(state, String::new(), 0)
}

/// The value of the named cookie among the request's `Cookie` headers.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Paths whose answers are for programs (JSON, CSV, feeds, images), not for a person's browser.
fn wants_machine_answer(path: &str) -> bool {
    path.starts_with("/api/")
        || path.starts_with("/photos/")
        || path.starts_with("/guides/images")
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
    rate_headers(&mut res, d);
    res
}

/// `Retry-After` and the `X-RateLimit-*` headers of a decision.
pub fn rate_headers(res: &mut Response, d: &RateDecision) {
    let h = res.headers_mut();
    for (name, value) in [
        ("retry-after", d.retry_after_secs()),
        ("x-ratelimit-limit", u64::from(d.limit)),
        ("x-ratelimit-remaining", u64::from(d.remaining)),
        ("x-ratelimit-reset", d.reset_secs),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
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
    let default = state.config.proxy_default_role;
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
        .config
        .proxy_roles
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
        .map(|(_, role)| *role)
        .max()
        .unwrap_or(default)
}

/// Is this a host name the server answers to? Only then may it go into links and QR codes.
fn host_served(state: &AppState, authority: &str) -> bool {
    let host = host_only(authority);
    state.hosts.contains(&host)
}

/// A request naming a host this server does not serve gets a 400 saying which flag to set.
fn check_host(state: &AppState, req: &Request) -> Result<(), Box<Response>> {
    let named = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match named {
        Some(host) if !host_served(state, &host) => Err(Box::new(error_for(
            req.uri().path(),
            AppError::BadRequest(format!(
                "This server does not answer to the host name `{}`. If that is its name on your network, start it with --allowed-hosts {} (or set --base-url).",
                host_only(&host),
                host_only(&host)
            )),
        ))),
        _ => Ok(()),
    }
}

/// Establishes the caller of every request, refuses foreign hosts and origins, and marks the
/// answer private when it depends on who asked.
pub async fn identify(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if let Err(res) = check_host(&state, &req) {
        return *res;
    }
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
        match store::live_session(&state.db, &value, state.auth.timeouts).await {
            Ok(Some(s)) => {
                caller.identity = Identity::User {
                    id: s.user.id.clone(),
                    name: s.user.name.clone(),
                };
                caller.role = Some(s.user.role);
                caller.session = Some(SessionRef {
                    id_hash: s.id_hash,
                    csrf_token: s.csrf_token,
                });
            }
            Ok(None) => stale_cookie = true,
            Err(e) => return error_for(&path, e.into()),
        }
    }

    if !is_safe(req.method()) {
        if let Err(res) = same_origin(&state, req.headers(), &path) {
            return *res;
        }
    }

    let mut req = req;
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
    mark_private(&path, signed_in, &mut res);
    res
}

/// Paths that carry case records or account data whoever asks (a login page for the anonymous).
fn private_path(path: &str) -> bool {
    path == "/cases"
        || path.starts_with("/cases/")
        || path.starts_with("/cases.")
        || path.starts_with("/api/cases")
        || path == "/account"
        || path.starts_with("/account/")
        || path.starts_with("/admin/")
        || path == "/api/csrf"
}

/// The one cache decision: an answer made for a logged-in caller, or on a private path, is kept
/// by no cache (the service worker's Cache API copies are not affected by `no-store`); every
/// other answer may differ by cookie and token, so shared caches key on them. Static assets and
/// answers that chose their own caching keep it.
fn mark_private(path: &str, signed_in: bool, res: &mut Response) {
    if path.starts_with("/static/") || path == "/sw.js" {
        return;
    }
    let h = res.headers_mut();
    h.append(
        header::VARY,
        HeaderValue::from_static("Cookie, Authorization"),
    );
    if (signed_in || private_path(path)) && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
}

/// A state-changing request that names its origin must come from a host this server serves.
fn same_origin(state: &AppState, headers: &HeaderMap, path: &str) -> Result<(), Box<Response>> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let served = origin
        .split_once("://")
        .is_some_and(|(_, authority)| host_served(state, authority));
    if served {
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

// ---------- form tokens ----------

fn csrf_refused() -> AppError {
    AppError::Forbidden(
        "This form's security token is missing or out of date (for example after logging in again). Nothing was saved; go back, reload the page and send it again.".into(),
    )
}

/// Checks a state-changing request's form token: from the `X-CSRF-Token` header, else from
/// `field` (the form's `csrf_token`). Callers without a cookie session or proxy login (bearer
/// tokens, the anonymous) need none. The multipart reader of case filing calls this with the
/// field it read.
pub fn check_csrf(
    caller: &Caller,
    headers: &HeaderMap,
    field: Option<&str>,
) -> Result<(), AppError> {
    if !caller.needs_csrf() {
        return Ok(());
    }
    let submitted = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(field);
    if submitted.is_some_and(|s| caller.csrf_matches(s)) {
        Ok(())
    } else {
        Err(csrf_refused())
    }
}

/// A URL-encoded form whose `csrf_token` (or `X-CSRF-Token` header) has been checked against
/// the caller's: the body is read once, checked, then deserialized into `T`.
pub struct CsrfForm<T>(pub T);

/// Forms of one button (log out, revoke) carry only their token.
#[derive(serde::Deserialize)]
pub struct NoFields {}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let caller = caller_of(&req);
        let headers = req.headers().clone();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(
                    "This form is too large, so nothing of it was saved. Go back: what you typed is still in the form.".into(),
                )
            } else {
                AppError::BadRequest(e.body_text())
            }
        })?;
        if !is_form && !body.is_empty() {
            return Err(AppError::BadRequest(
                "Send this form as application/x-www-form-urlencoded.".into(),
            ));
        }
        let field = form_urlencoded::parse(&body)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned());
        check_csrf(&caller, &headers, field.as_deref())?;
        serde_urlencoded::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| AppError::Unprocessable(format!("The form is not valid: {e}.")))
    }
}

/// Handlers take `caller: Caller`: the caller `identify` established for this request.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(|| Caller::anonymous(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}

// ---------- route groups ----------

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

/// Lets permitted requests through, counting permitted writes against the write limit (a
/// refused request costs nobody's budget); sends the others to log in, or refuses them.
pub async fn require(
    State((state, need)): State<(AppState, Need)>,
    req: Request,
    next: Next,
) -> Response {
    let caller = caller_of(&req);
    let safe = is_safe(req.method());
    let permission = if safe { need.read } else { need.write };
    let path = req.uri().path();
    if state.auth.allows(&caller, permission) {
        if !safe {
            let d = state.auth.writes.hit(&caller.write_key());
            if !d.allowed {
                return too_many(
                    path,
                    &d,
                    format!(
                        "Too many changes from here: at most {} a minute. Try again in {} seconds.",
                        d.limit,
                        d.retry_after_secs()
                    ),
                );
            }
        }
        return next.run(req).await;
    }
    if caller.role.is_none() {
        if wants_machine_answer(path) {
            return unauthorized("Log in first: send `Authorization: Bearer <token>`.");
        }
        if safe {
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
        if !wants_machine_answer(path) {
            // Forms whose page has the same address lead back to it; others to the account.
            let back = ["/edit", "/suggest", "/guides/new", "/cases/new"]
                .iter()
                .any(|end| path.ends_with(end));
            return super::error::login_needed(
                "You are not logged in (or your session ended), so nothing was changed. Log in and send it again.".into(),
                if back { path } else { "/account" },
            );
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
