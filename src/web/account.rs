//! Logging in and out, the first-run setup link, and the account page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::access::{clear_cookie, rate_headers, session_cookie, CsrfForm, NoFields};
use super::{page, AppError, AppState};
use crate::auth::ratelimit::RateDecision;
use crate::auth::store::{self, SessionSummary};
use crate::auth::{password, AuthError, Caller, Identity, LoginOutcome, PasswordChange};

/// Open to everyone: the login form, logout, and the setup link.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_form).post(setup))
}

/// The form token, for the page that sends cases saved offline.
pub fn api_router() -> Router<AppState> {
    Router::new().route("/api/csrf", get(csrf))
}

/// The form token of the caller's session, for pages that send saved cases later. Other sites
/// cannot read it: there are no CORS headers.
async fn csrf(caller: Caller) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "csrf_token": caller.csrf_token() })),
    )
        .into_response()
}

/// For anyone logged in.
pub fn account_router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/logout-everywhere", post(logout_everywhere))
}

/// Where to go after login: a path on this site, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from URLs, so `/\t/evil.example` would become
        // `//evil.example`: any control character or space sends the person home instead.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    next: String,
    username: String,
    error: Option<String>,
    signed_in_as: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(caller: Caller, Query(q): Query<NextQuery>) -> Result<Response, AppError> {
    page(&LoginPage {
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        signed_in_as: caller.display_name().map(str::to_owned),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref());
    let again = |status: StatusCode, error: String| -> Result<Response, AppError> {
        let html = LoginPage {
            next: next.clone(),
            username: form.username.clone(),
            error: Some(error),
            signed_in_as: None,
        }
        .render()?;
        Ok((status, Html(html)).into_response())
    };
    match state
        .auth
        .login(
            &form.username,
            &form.password,
            &caller,
            &user_agent(&headers),
        )
        .await?
    {
        LoginOutcome::LoggedIn(_, session) => {
            // A fresh id at every login; the session this browser had before ends here.
            if caller.session.is_some() {
                state.auth.logout(&caller).await?;
            }
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(&state, &session.cookie_value),
            );
            Ok(res)
        }
        LoginOutcome::Refused => again(
            StatusCode::UNAUTHORIZED,
            "That name and password do not match an active account.".into(),
        ),
        LoginOutcome::Limited(d) => {
            // The login form again (with what was typed), as a 429 with the rate headers.
            let mut res = again(StatusCode::TOO_MANY_REQUESTS, wait_message(&d))?;
            rate_headers(&mut res, &d);
            Ok(res)
        }
    }
}

fn wait_message(d: &RateDecision) -> String {
    format!(
        "Too many wrong passwords from here. Wait {} seconds, then try again.",
        d.retry_after_secs()
    )
}

async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    state.auth.logout(&caller).await?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, clear_cookie(&state));
    Ok(res)
}

// ---------- first run ----------

#[derive(Template)]
#[template(path = "account/setup.html")]
struct SetupPage {
    token: String,
    username: String,
    error: Option<String>,
    min_length: usize,
}

fn setup_gone() -> AppError {
    AppError::NotFound(
        "This setup link is not valid: it lasts one hour, works once, and only while there is no admin. Restart faultbook to print a new link, or run `faultbook user add NAME --role admin` on the server.".into(),
    )
}

async fn setup_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if !state.auth.setup_valid(&token).await {
        return Err(setup_gone());
    }
    page(&SetupPage {
        token,
        username: "admin".into(),
        error: None,
        min_length: password::MIN_LENGTH,
    })
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

async fn setup(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    if !state.auth.setup_valid(&token).await {
        return Err(setup_gone());
    }
    let again = |error: String| -> Result<Response, AppError> {
        let html = SetupPage {
            token: token.clone(),
            username: form.username.clone(),
            error: Some(error),
            min_length: password::MIN_LENGTH,
        }
        .render()?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
    };
    if form.password != form.password_again {
        return again("The two passwords differ; type the same password twice.".into());
    }
    match state
        .auth
        .complete_setup(
            &token,
            &form.username,
            &form.password,
            &caller,
            &user_agent(&headers),
        )
        .await
    {
        Ok(Some((_, session))) => {
            let mut res = Redirect::to("/account").into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(&state, &session.cookie_value),
            );
            Ok(res)
        }
        Ok(None) => Err(setup_gone()),
        Err(e @ (AuthError::WeakPassword(_) | AuthError::BadName(_) | AuthError::NameTaken(_))) => {
            again(e.to_string())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------- the account page ----------

pub struct SessionView {
    pub current: bool,
    pub created: String,
    pub last_seen: String,
    pub addr: String,
    pub user_agent: String,
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    name: String,
    role: &'static str,
    role_text: &'static str,
    via: &'static str,
    csrf: String,
    sessions: Vec<SessionView>,
    notice: Option<String>,
    error: Option<String>,
    can_admin: bool,
    can_audit: bool,
    can_review: bool,
    min_length: usize,
    /// Guide changes this person suggested, newest first, with the editor's decision.
    suggestions: Vec<crate::content::revisions::Revision>,
    /// The browser draft a suggestion just sent made obsolete.
    clear_draft: Option<String>,
    /// The suggestion just sent.
    sent: Option<i64>,
}

async fn account_page(
    state: &AppState,
    caller: &Caller,
    notice: Option<String>,
    error: Option<String>,
) -> Result<AccountPage, AppError> {
    let role = caller.role.unwrap_or(crate::auth::Role::Viewer);
    let (via, sessions) = match &caller.identity {
        Identity::User { id, .. } => {
            let current = caller.session.as_ref().map(|s| s.id_hash.as_str());
            let list: Vec<SessionSummary> = store::user_sessions(&state.db, id).await?;
            (
                "password",
                list.into_iter()
                    .map(|s| SessionView {
                        current: Some(s.id_hash.as_str()) == current,
                        created: s.created_at.human(),
                        last_seen: s.last_seen_at.human(),
                        addr: s.addr,
                        user_agent: s.user_agent,
                    })
                    .collect(),
            )
        }
        Identity::Proxy { .. } => ("single sign-on", Vec::new()),
        Identity::Token { .. } => ("bearer token", Vec::new()),
        Identity::Anonymous => ("nothing", Vec::new()),
    };
    Ok(AccountPage {
        name: caller.display_name().unwrap_or("").to_string(),
        role: role.as_str(),
        role_text: role.describe(),
        via,
        csrf: caller.csrf_token().to_string(),
        sessions,
        notice,
        error,
        can_admin: state.auth.allows(caller, crate::auth::Permission::Admin),
        can_audit: state
            .auth
            .allows(caller, crate::auth::Permission::CaseAudit),
        can_review: state
            .auth
            .allows(caller, crate::auth::Permission::EditGuides),
        min_length: password::MIN_LENGTH,
        suggestions: state.guides.suggestions_by(&caller.actor()).await?,
        clear_draft: None,
        sent: None,
    })
}

async fn account(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, AppError> {
    let mut p = account_page(&state, &caller, None, None).await?;
    for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match &*k {
            "clear" if super::guide_review::is_draft_key(&v) => p.clear_draft = Some(v.into()),
            "saved" => p.sent = v.parse().ok(),
            _ => {}
        }
    }
    page(&p)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let (state, caller) = (&state, &caller);
    let fail = |status: StatusCode, msg: String| async move {
        let html = account_page(state, caller, None, Some(msg))
            .await?
            .render()?;
        Ok::<_, AppError>((status, Html(html)).into_response())
    };
    let refuse = |msg: String| fail(StatusCode::UNPROCESSABLE_ENTITY, msg);
    if form.password != form.password_again {
        return refuse("The two new passwords differ.".into()).await;
    }
    match state
        .auth
        .change_own_password(caller, &form.current, &form.password)
        .await
    {
        Ok(PasswordChange::Changed) => {
            // Every session ended with the change, this one too: log in with the new password.
            let mut res = Redirect::to("/login?next=/account").into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, clear_cookie(state));
            Ok(res)
        }
        Ok(PasswordChange::WrongCurrent) => {
            refuse("The current password is not right.".into()).await
        }
        Ok(PasswordChange::Limited(d)) => {
            let mut res = fail(StatusCode::TOO_MANY_REQUESTS, wait_message(&d)).await?;
            rate_headers(&mut res, &d);
            Ok(res)
        }
        Err(AuthError::WeakPassword(m)) => refuse(m).await,
        Err(e) => Err(e.into()),
    }
}

async fn logout_everywhere(
    State(state): State<AppState>,
    caller: Caller,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    state.auth.logout_everywhere(&caller).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, clear_cookie(&state));
    Ok(res)
}
