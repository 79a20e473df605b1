//! Admin pages: users, tokens, and the audit log (which editors see for cases only).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::access::{CsrfForm, NoFields};
use super::{AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEntry, AuditEvent, AuditFilter};
use crate::auth::store::{self, ApiToken, User};
use crate::auth::{password, AuthError, Caller, Permission, Role};
use crate::time::Timestamp;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(add_user))
        .route("/admin/users/{name}/role", post(set_role))
        .route("/admin/users/{name}/disabled", post(set_disabled))
        .route("/admin/users/{name}/password", post(reset_password))
        .route("/admin/tokens", get(tokens).post(create_token))
        .route("/admin/tokens/{name}/revoke", post(revoke_token))
}

/// Editors see the case part of the log; admins all of it.
pub fn audit_router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit.csv", get(audit_csv))
}

// ---------- users ----------

pub struct UserRow {
    pub name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    min_length: usize,
}

async fn users_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let list: Vec<User> = store::list_users(&state.db).await?;
    let html = UsersPage {
        users: list
            .into_iter()
            .map(|u| UserRow {
                created: u.created_at.human(),
                role: u.role.as_str(),
                disabled: u.disabled,
                name: u.name,
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), r.describe()))
            .collect(),
        csrf: caller.csrf_token().to_string(),
        notice,
        error,
        min_length: password::MIN_LENGTH,
    }
    .render()?;
    Ok((status, Html(html)).into_response())
}

/// The page again, with what happened: a notice on success, the reason on a refusal.
async fn outcome(
    state: &AppState,
    caller: &Caller,
    result: Result<String, AuthError>,
) -> Result<Response, AppError> {
    match result {
        Ok(notice) => users_page(state, caller, StatusCode::OK, Some(notice), None).await,
        Err(e @ (AuthError::Db(_) | AuthError::Hash(_))) => Err(e.into()),
        Err(e) => {
            let status = match e {
                AuthError::NoSuchUser(_) | AuthError::NoSuchToken(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            users_page(state, caller, status, None, Some(e.to_string())).await
        }
    }
}

async fn users(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    users_page(&state, &caller, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
struct AddUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    CsrfForm(form): CsrfForm<AddUserForm>,
) -> Result<Response, AppError> {
    let result = async {
        let role: Role = form.role.parse()?;
        let user = state
            .auth
            .add_user(&form.username, role, &form.password, &caller)
            .await?;
        Ok(format!("Added {} as {}.", user.name, role.as_str()))
    }
    .await;
    outcome(&state, &caller, result).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, AppError> {
    let result = async {
        let role: Role = form.role.parse()?;
        state
            .auth
            .set_role(
                &name,
                role,
                AuditEvent::by(&caller, AuditAction::UserRole, &name),
            )
            .await?;
        Ok(format!("{name} is now {}.", role.as_str()))
    }
    .await;
    outcome(&state, &caller, result).await
}

#[derive(Deserialize)]
struct DisabledForm {
    #[serde(default)]
    disabled: String,
}

async fn set_disabled(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<DisabledForm>,
) -> Result<Response, AppError> {
    let disabled = form.disabled == "1";
    let action = if disabled {
        AuditAction::UserDisable
    } else {
        AuditAction::UserEnable
    };
    let result = state
        .auth
        .set_disabled(&name, disabled, AuditEvent::by(&caller, action, &name))
        .await
        .map(|()| {
            if disabled {
                format!("{name} is disabled and logged out everywhere.")
            } else {
                format!("{name} may log in again.")
            }
        });
    outcome(&state, &caller, result).await
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, AppError> {
    let result = state
        .auth
        .set_password(
            &name,
            &form.password,
            AuditEvent::by(&caller, AuditAction::UserPasswd, &name),
        )
        .await
        .map(|()| format!("{name} has a new password and was logged out everywhere."));
    outcome(&state, &caller, result).await
}

// ---------- tokens ----------

pub struct TokenRow {
    pub name: String,
    pub role: &'static str,
    pub created: String,
    pub created_by: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    tokens: Vec<TokenRow>,
    roles: Vec<&'static str>,
    csrf: String,
    new_secret: Option<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    new_secret: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let list: Vec<ApiToken> = store::list_tokens(&state.db).await?;
    let html = TokensPage {
        tokens: list
            .into_iter()
            .map(|t| TokenRow {
                role: t.role.as_str(),
                created: t.created_at.human(),
                created_by: t.created_by,
                last_used: t.last_used_at.map_or_else(|| "never".into(), |t| t.human()),
                revoked: t.revoked_at.map(|t| t.human()),
                name: t.name,
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        csrf: caller.csrf_token().to_string(),
        new_secret,
        error,
        notice,
    }
    .render()?;
    let mut res = (status, Html(html)).into_response();
    // The page may hold a secret shown once: keep it out of every cache.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().map_err(anyhow::Error::from)?,
    );
    Ok(res)
}

async fn tokens(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    tokens_page(&state, &caller, StatusCode::OK, None, None, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, AppError> {
    let result = async {
        let role: Role = form.role.parse()?;
        state
            .auth
            .create_token(
                &form.name,
                role,
                AuditEvent::by(&caller, AuditAction::TokenCreate, &form.name),
            )
            .await
    }
    .await;
    match result {
        Ok((token, secret)) => {
            tokens_page(
                &state,
                &caller,
                StatusCode::OK,
                Some((token.name, secret)),
                None,
                None,
            )
            .await
        }
        Err(e @ (AuthError::Db(_) | AuthError::Hash(_))) => Err(e.into()),
        Err(e) => {
            tokens_page(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                None,
                Some(e.to_string()),
            )
            .await
        }
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    match state
        .auth
        .revoke_token(
            &name,
            AuditEvent::by(&caller, AuditAction::TokenRevoke, &name),
        )
        .await
    {
        Ok(()) => {
            tokens_page(
                &state,
                &caller,
                StatusCode::OK,
                None,
                Some(format!(
                    "Token {name} is revoked; scripts using it now get 401."
                )),
                None,
            )
            .await
        }
        Err(AuthError::NoSuchToken(n)) => {
            Err(AppError::NotFound(format!("There is no live token `{n}`.")))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------- audit ----------

/// The filters from the query string; unparseable values are ignored, not fatal.
fn audit_filter(
    state: &AppState,
    caller: &Caller,
    raw: Option<&str>,
) -> (AuditFilter, Vec<(String, String)>) {
    let mut f = AuditFilter {
        limit: 200,
        cases_only: !state.auth.allows(caller, Permission::Admin),
        ..AuditFilter::default()
    };
    let mut kept = Vec::new();
    let day = |s: &str, end: bool| {
        chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Timestamp::from_datetime(t.and_utc()).plus_secs(if end { 86_400 } else { 0 }))
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let v = v.trim().to_string();
        if v.is_empty() {
            continue;
        }
        match k.as_ref() {
            "actor" => f.actor = Some(v.clone()),
            "action" => f.action = Some(v.clone()),
            "addr" => f.addr = Some(v.clone()),
            "since" => f.since = day(&v, false),
            "until" => f.until = day(&v, true),
            "before" => f.before_id = v.parse().ok(),
            _ => continue,
        }
        if k != "before" {
            kept.push((k.into_owned(), v));
        }
    }
    (f, kept)
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    rows: Vec<AuditEntry>,
    cases_only: bool,
    actor: String,
    action: String,
    addr: String,
    since: String,
    until: String,
    csv_href: String,
    older_href: Option<String>,
}

async fn audit_page(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (filter, kept) = audit_filter(&state, &caller, raw.as_deref());
    let entries: Vec<AuditEntry> = audit::list(&state.db, &filter).await?;
    let get = |k: &str| {
        kept.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let older_href = (entries.len() as u32 == filter.limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten()
        .map(|id| {
            let mut pairs = kept.clone();
            pairs.push(("before".into(), id.to_string()));
            format!("/admin/audit{}", super::query_string(pairs))
        });
    super::page(&AuditPage {
        rows: entries,
        cases_only: filter.cases_only,
        actor: get("actor"),
        action: get("action"),
        addr: get("addr"),
        since: get("since"),
        until: get("until"),
        csv_href: format!(
            "/admin/audit.csv{}",
            super::query_string(kept.iter().map(|(k, v)| (k, v)))
        ),
        older_href,
    })
}

async fn audit_csv(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (mut filter, _) = audit_filter(&state, &caller, raw.as_deref());
    filter.limit = 100_000;
    let entries = audit::list(&state.db, &filter).await?;
    let mut out = String::from("at,actor,role,address,action,target,detail\r\n");
    for e in &entries {
        let cells = [
            e.at_rfc3339(),
            e.actor.clone(),
            e.role.clone(),
            e.addr.clone(),
            e.action.clone(),
            e.target.clone(),
            e.detail.clone(),
        ];
        let line: Vec<String> = cells.iter().map(|c| super::cases::csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"faultbook-audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
