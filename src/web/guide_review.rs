//! What waits for an editor: suggestions, file changes that met a browser edit, files the lint
//! refused; and, after a guide grew from a case, the other unsorted cases it could take in.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::guide_edit::case_for;
use super::{page, AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::Caller;
use crate::cases::{store as case_store, Case};
use crate::content::compose::{diff_lines, DiffLine};
use crate::content::revisions::{ImportFault, Revision, RevisionState};
use crate::content::Decision;
use crate::web::access::CsrfForm;

/// Editor and up.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/guides/review", get(review))
        .route(
            "/admin/guides",
            get(|| async { Redirect::to("/guides/review") }),
        )
        .route("/guides/{slug}/revisions/{rev}/decision", post(decide))
        .route("/guides/{slug}/unsorted", get(unsorted))
}

/// One waiting revision with what it would change.
pub struct Waiting {
    pub rev: Revision,
    pub slug: String,
    pub conflict: bool,
    pub diff: Vec<Option<DiffLine>>,
}

#[derive(Template)]
#[template(path = "guides/review.html")]
struct ReviewPage {
    waiting: Vec<Waiting>,
    refused: Vec<ImportFault>,
    csrf: String,
}

async fn review(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    let mut waiting = Vec::new();
    let mut conn = state.db.acquire().await?;
    for rev in state.guides.waiting().await? {
        let row = crate::content::revisions::guide_by_id(&mut conn, rev.guide_id).await?;
        let Some(row) = row else { continue };
        let current = match row.current_revision {
            Some(id) => crate::content::revisions::revision_by_id(&state.db, id).await?,
            None => None,
        };
        let diff = diff_lines(current.as_ref().map_or("", |c| c.text.as_str()), &rev.text);
        waiting.push(Waiting {
            conflict: rev.state == RevisionState::Conflict,
            slug: row.slug,
            rev,
            diff,
        });
    }
    page(&ReviewPage {
        waiting,
        refused: state.guides.import_faults().await?,
        csrf: caller.csrf_token().to_string(),
    })
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, rev)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, AppError> {
    let id: i64 = rev
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound(format!("There is no revision `{rev}`.")))?;
    let decision = match form.decision.trim() {
        "accept" => Decision::Take,
        "decline" => Decision::Leave,
        other => {
            return Err(AppError::Unprocessable(format!(
                "Decide `accept` or `decline`, not `{other}`."
            )))
        }
    };
    let note: String = form.note.trim().chars().take(2000).collect();
    let decided = state
        .guides
        .decide(&caller.actor(), &slug, id, decision, &note)
        .await?;
    let action = match decision {
        Decision::Take => AuditAction::GuideAccept,
        Decision::Leave => AuditAction::GuideDecline,
    };
    audit::record(
        &state.db,
        AuditEvent::by(&caller, action, decided.slug()).detail(format!(
            "revision {id} by {}{}",
            decided.author,
            if note.is_empty() {
                String::new()
            } else {
                format!(": {note}")
            }
        )),
    )
    .await;
    Ok(Redirect::to("/guides/review").into_response())
}

#[derive(Template)]
#[template(path = "guides/unsorted.html")]
struct UnsortedPage {
    slug: String,
    title: String,
    attached: Option<Case>,
    others: Vec<Case>,
    csrf: String,
    clear: Option<String>,
}

#[derive(Deserialize)]
struct UnsortedQuery {
    case: Option<String>,
    clear: Option<String>,
}

/// Unsorted cases with the same alarm as the case a guide grew from, each one click from
/// being attached to it.
async fn unsorted(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(q): Query<UnsortedQuery>,
) -> Result<Response, AppError> {
    let library = state.library();
    let guide = library
        .find(&slug)
        .ok_or_else(|| AppError::NotFound(format!("There is no guide `{slug}`.")))?;
    let attached = case_for(&state, q.case.as_deref()).await?;
    let mut others = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let alarms: Vec<String> = match &attached {
        Some(c) => vec![c.fields.verbatim_alarm.clone()],
        None => guide.front.alarms.clone(),
    };
    let except = attached.as_ref().map(|c| c.id).unwrap_or_default();
    for alarm in alarms {
        for c in case_store::unsorted_same_alarm(&state.db, &alarm, &except, 50).await? {
            if seen.insert(c.id) {
                others.push(c);
            }
        }
    }
    page(&UnsortedPage {
        slug: guide.slug.clone(),
        title: guide.front.title.clone(),
        attached,
        others,
        csrf: caller.csrf_token().to_string(),
        clear: q.clear.filter(|k| is_draft_key(k)),
    })
}

/// Draft keys are made here (`guide-draft:12`); anything else in a URL is ignored.
pub fn is_draft_key(k: &str) -> bool {
    k.len() <= 80
        && k.starts_with("guide-")
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':')
}
