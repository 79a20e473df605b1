//! Changes to a stored case: an editor's (attach it to a guide, correct it, close or reopen it)
//! and the filer's own later additions. Each is audited, then back to the case page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

use super::form::{render_form, FormCtx};
use super::show::{self, Refused};
use super::submission::FormSubmission;
use super::{case_or_404, no_such_case, AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::Caller;
use crate::cases::{Case, CaseError, FollowUp, FIELDS};
use crate::web::access::CsrfForm;

/// An editor's change: audited, then back to the case page.
async fn edited(
    state: &AppState,
    caller: &Caller,
    id: &str,
    result: Result<Option<Case>, CaseError>,
    action: AuditAction,
    detail: impl FnOnce(&Case) -> String,
) -> Result<Response, AppError> {
    let case = result?.ok_or_else(|| no_such_case(id))?;
    let event = AuditEvent::by(caller, action, case.id.to_string()).detail(detail(&case));
    audit::record(&state.db, event).await;
    Ok(Redirect::to(&case.url()).into_response())
}

#[derive(Deserialize)]
pub struct AttachForm {
    guide: String,
    /// Where to go after: only the unsorted-cases page of a guide, so the form cannot be used
    /// to send anyone off the site.
    #[serde(default)]
    next: Option<String>,
}

/// Files an unsorted case under the guide that fits it.
pub async fn attach(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AttachForm>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let result = state.cases.attach(&case.id, form.guide.trim()).await;
    let res = edited(&state, &caller, &id, result, AuditAction::CaseAttach, |c| {
        format!("guide {}", c.fields.guide.as_deref().unwrap_or(""))
    })
    .await?;
    let back = form.next.as_deref().filter(|n| {
        n.strip_prefix("/guides/")
            .and_then(|rest| rest.strip_suffix("/unsorted"))
            .is_some_and(crate::content::is_valid_slug)
    });
    Ok(match back {
        Some(next) => Redirect::to(next).into_response(),
        None => res,
    })
}

/// An editor's correction: every field as the form sends it; photos stay as they are.
pub async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    sub: FormSubmission,
) -> Result<Response, AppError> {
    let library = state.library();
    let case = case_or_404(&state, &id).await?;
    if let Some(fault) = sub.fault {
        return Err(fault.into());
    }
    let mut draft = sub.draft;
    if draft.guide.is_none() {
        draft.guide = case.fields.guide.clone();
    }
    let new = match draft.parse(&library) {
        Ok(c) => c,
        Err(errors) => {
            let guide = draft.guide.as_deref().and_then(|g| library.find(g));
            let ctx = FormCtx::editing(&caller, case.id, &state);
            let html = render_form(guide, &draft, "", &errors, None, &ctx)?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
        }
    };
    let changed: Vec<&str> = FIELDS
        .iter()
        .map(|f| f.name)
        .filter(|name| case.fields.text(name) != new.text(name))
        .collect();
    let result = state.cases.update(&case.id, &new).await;
    edited(&state, &caller, &id, result, AuditAction::CaseEdit, |_| {
        format!("changed: {}", changed.join(", "))
    })
    .await
}

/// The filer's own addition (a new outcome, a note, photos), within the window after filing.
/// Anyone else, or the filer after the window, gets a 403 that says why.
pub async fn follow_up(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    sub: FormSubmission,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let note = sub.draft.notes.clone().unwrap_or_default();
    let again = |status: StatusCode, reason: String| {
        let refused = Refused {
            reason,
            note: note.clone(),
        };
        let mut res = show::render(&state, &caller, &headers, &case, Some(refused))?;
        *res.status_mut() = status;
        Ok::<_, AppError>(res)
    };
    if let Some(fault) = sub.fault {
        let err = AppError::from(fault);
        return again(err.status(), err.to_string());
    }
    let add = FollowUp {
        outcome: sub.draft.outcome,
        note: note.clone(),
        uploads: sub.uploads,
        key: sub.key.unwrap_or_default(),
    };
    let window = state.config.own_case_edit_window;
    match state.cases.follow_up(&case.id, add, &caller, window).await {
        Ok(case) => Ok(Redirect::to(&case.url()).into_response()),
        // Faults the filer can fix are shown on the case page, above what they wrote.
        Err(CaseError::Invalid(errors)) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(CaseError::Photo(e)) if e.is_user_error() => {
            again(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ClosedForm {
    #[serde(default)]
    closed: String,
}

pub async fn set_closed(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ClosedForm>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    let closed = form.closed == "1";
    let result = state
        .cases
        .set_closed(&case.id, closed, &caller.actor())
        .await;
    let action = if closed {
        AuditAction::CaseClose
    } else {
        AuditAction::CaseReopen
    };
    edited(&state, &caller, &id, result, action, |_| String::new()).await
}
