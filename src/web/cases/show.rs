//! The case page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;

use super::{case_or_404, AppError, AppState};
use crate::auth::{Caller, Permission};
use crate::cases::fields::PagePlace;
use crate::cases::{Case, FIELDS};
use crate::content::Guide;
use crate::web::{absolute, page};

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
    /// The short fields that were filled in, as (label, value).
    details: Vec<(&'static str, String)>,
    /// The long fields that were filled in.
    blocks: Vec<Block>,
    /// `(slug, title)` of every guide, for attaching an unsorted case.
    guides: Vec<(String, String)>,
    can_edit: bool,
    csrf: String,
}

fn details(c: &Case) -> Vec<(&'static str, String)> {
    FIELDS
        .iter()
        .filter_map(|f| match f.page {
            PagePlace::Detail(label) => Some((label, c.fields.text(f.name))),
            _ => None,
        })
        .filter(|(_, v)| !v.is_empty())
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
    page(&CasePage {
        guide: case
            .fields
            .guide
            .as_deref()
            .and_then(|g| state.library.find(g)),
        outcome_label: case.fields.outcome.label(),
        title: case.title(),
        canonical: absolute(&state, &headers, &case.url()),
        details: details(&case),
        blocks: blocks(&case),
        guides: state.library.choices(),
        can_edit: state.auth.allows(&caller, Permission::EditCases),
        csrf: caller.csrf_token().to_string(),
        case: &case,
    })
}
