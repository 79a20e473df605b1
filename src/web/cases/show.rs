//! The case page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;

use super::{case_or_404, AppError, AppState};
use crate::auth::{Caller, Permission};
use crate::cases::fields::PagePlace;
use crate::cases::{follow_up, Case, Outcome, FIELDS};
use crate::content::Guide;
use crate::time::Timestamp;
use crate::web::{absolute, page};
use uuid::Uuid;

/// A long field under its own heading.
pub struct Block {
    pub heading: &'static str,
    pub text: String,
    /// Preformatted (parameter sets, I/O maps) rather than prose.
    pub pre: bool,
}

#[derive(Template)]
#[template(path = "cases/show.html")]
struct CasePage<'a> {
    case: &'a Case,
    guide: Option<&'a Guide>,
    outcome_label: &'static str,
    title: String,
    canonical: String,
    /// The short fields that were filled in, as (label, value, link): the asset links to its
    /// history.
    details: Vec<(&'static str, String, Option<String>)>,
    /// The long fields that were filled in.
    blocks: Vec<Block>,
    /// `(slug, title)` of every guide, for attaching an unsorted case.
    guides: Vec<(String, String)>,
    can_edit: bool,
    csrf: String,
    /// Who filed it, said once.
    filer: String,
    /// The filer may still add to the case until then (the follow-up form is shown).
    follow_up_until: Option<Timestamp>,
    /// A fresh idempotency key for the follow-up form.
    follow_up_key: String,
    /// Why the filer's last addition was refused (a fault they can fix), with what they wrote.
    follow_up_error: Option<String>,
    follow_up_note: String,
    outcomes: Vec<(&'static str, &'static str)>,
}

/// "by ana", or who typed their name and which account sent it, without saying a name twice.
fn filer_line(c: &Case) -> String {
    let by = c.fields.filed_by.trim();
    let account = c.record.filed_account.as_str();
    let sent = match (account.is_empty(), c.record.filed_from.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!("sent as {account}"),
        (false, false) => format!("sent as {account} from {}", c.record.filed_from),
    };
    match (by.is_empty(), by == account || sent.is_empty()) {
        (true, _) => sent,
        (false, true) => format!("by {by}"),
        (false, false) => format!("by {by} ({sent})"),
    }
}

fn details(c: &Case) -> Vec<(&'static str, String, Option<String>)> {
    FIELDS
        .iter()
        .filter_map(|f| match f.page {
            PagePlace::Detail(label) => {
                let value = c.fields.text(f.name);
                let link = (f.name == "asset").then(|| crate::cases::assets::url(&value));
                Some((label, value, link))
            }
            _ => None,
        })
        .filter(|(_, v, _)| !v.is_empty())
        .collect()
}

fn blocks(c: &Case) -> Vec<Block> {
    FIELDS
        .iter()
        .filter_map(|f| {
            let (heading, pre) = match f.page {
                PagePlace::Pre(h) => (h, true),
                PagePlace::Prose(h) => (h, false),
                _ => return None,
            };
            let text = c.fields.text(f.name);
            (!text.is_empty()).then_some(Block { heading, text, pre })
        })
        .collect()
}

pub async fn page_of_case(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let case = case_or_404(&state, &id).await?;
    render(&state, &caller, &headers, &case, None)
}

/// What the filer sent that could not be added: the reason and their note, to show again.
pub struct Refused {
    pub reason: String,
    pub note: String,
}

/// The case page; with `refused`, the filer's addition form shows why it was not saved.
pub fn render(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    case: &Case,
    refused: Option<Refused>,
) -> Result<Response, AppError> {
    let library = state.library();
    let (follow_up_error, follow_up_note) = match refused {
        Some(r) => (Some(r.reason), r.note),
        None => (None, String::new()),
    };
    let follow_up_until = state
        .auth
        .allows(caller, Permission::FileCases)
        .then(|| {
            follow_up::deadline(
                case,
                caller,
                Timestamp::now(),
                state.config.own_case_edit_window,
            )
            .ok()
        })
        .flatten();
    page(&CasePage {
        filer: filer_line(case),
        follow_up_until,
        follow_up_key: Uuid::now_v7().to_string(),
        follow_up_error,
        follow_up_note,
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        guide: case.fields.guide.as_deref().and_then(|g| library.find(g)),
        outcome_label: case.fields.outcome.label(),
        title: case.title(),
        canonical: absolute(state, headers, &case.url()),
        details: details(case),
        blocks: blocks(case),
        guides: library.choices(),
        can_edit: state.auth.allows(caller, Permission::EditCases),
        csrf: caller.csrf_token().to_string(),
        case,
    })
}
