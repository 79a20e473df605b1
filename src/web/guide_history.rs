//! A guide's revisions: the list, a diff between any two, one revision's text, and restore.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{page, AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::{Caller, Permission};
use crate::content::compose::{diff_lines, DiffLine};
use crate::content::revisions::{Revision, RevisionState};
use crate::web::access::CsrfForm;

/// Reading the history (tech and up: it names who changed what).
pub fn read_router() -> Router<AppState> {
    Router::new()
        .route("/guides/{slug}/history", get(history))
        .route("/guides/{slug}/diff", get(diff))
        .route("/guides/{slug}/revisions/{rev}", get(revision))
}

/// Restoring (editor and up).
pub fn restore_router() -> Router<AppState> {
    Router::new().route("/guides/{slug}/revisions/{rev}/restore", post(restore))
}

#[derive(Template)]
#[template(path = "guides/history.html")]
struct HistoryPage {
    slug: String,
    title: String,
    revisions: Vec<Revision>,
    current: Option<i64>,
    /// 0 when the guide has none (ids start at 1).
    current_id: i64,
    can_restore: bool,
    csrf: String,
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let row = state.guides.guide_row(&slug).await?;
    let mut revisions = state.guides.history(&row.slug).await?;
    revisions.reverse();
    let title = state
        .library()
        .get(&row.slug)
        .map(|g| g.front.title.clone())
        .unwrap_or_else(|| row.slug.clone());
    page(&HistoryPage {
        title,
        revisions,
        current: row.current_revision,
        current_id: row.current_revision.unwrap_or(0),
        can_restore: state.auth.allows(&caller, Permission::EditGuides),
        csrf: caller.csrf_token().to_string(),
        slug: row.slug,
    })
}

#[derive(Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Template)]
#[template(path = "guides/diff.html")]
struct DiffPage {
    slug: String,
    from: Revision,
    to: Revision,
    diff: Vec<Option<DiffLine>>,
}

fn revision_number(raw: Option<&str>, what: &str) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            AppError::BadRequest(format!("`{what}` must be a revision number, not `{s}`."))
        }),
    }
}

/// The diff between two revisions; `to` defaults to the current one and `from` to the one
/// before `to`.
async fn diff(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Response, AppError> {
    let row = state.guides.guide_row(&slug).await?;
    let to_id = match revision_number(q.to.as_deref(), "to")? {
        Some(id) => id,
        None => row
            .current_revision
            .ok_or_else(|| AppError::NotFound("This guide has no revision yet.".into()))?,
    };
    let (_, to) = state.guides.revision_of(&row.slug, to_id).await?;
    let from = match revision_number(q.from.as_deref(), "from")? {
        Some(id) => state.guides.revision_of(&row.slug, id).await?.1,
        None => {
            let all = state.guides.history(&row.slug).await?;
            all.into_iter()
                .rfind(|r| r.id < to.id && r.state == RevisionState::Published)
                .unwrap_or_else(|| to.clone())
        }
    };
    page(&DiffPage {
        diff: diff_lines(&from.text, &to.text),
        slug: row.slug,
        from,
        to,
    })
}

#[derive(Template)]
#[template(path = "guides/revision.html")]
struct RevisionPage {
    slug: String,
    rev: Revision,
}

async fn revision(
    State(state): State<AppState>,
    Path((slug, rev)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = revision_number(Some(&rev), "revision")?.unwrap_or_default();
    let (row, rev) = state.guides.revision_of(&slug, id).await?;
    page(&RevisionPage {
        slug: row.slug,
        rev,
    })
}

#[derive(Deserialize)]
struct RestoreForm {
    #[serde(default)]
    base_revision: Option<String>,
}

async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, rev)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<RestoreForm>,
) -> Result<Response, AppError> {
    let id = revision_number(Some(&rev), "revision")?.unwrap_or_default();
    let row = state.guides.guide_row(&slug).await?;
    let base = match revision_number(form.base_revision.as_deref(), "base_revision")? {
        Some(b) => Some(b),
        None => row.current_revision,
    };
    let saved = state
        .guides
        .restore(&caller.actor(), &row.slug, id, base)
        .await?;
    audit::record(
        &state.db,
        AuditEvent::by(&caller, AuditAction::GuideRestore, &saved.slug).detail(format!(
            "revision {id} restored as revision {}",
            saved.revision
        )),
    )
    .await;
    Ok(Redirect::to(&format!("/guides/{}/history", saved.slug)).into_response())
}
