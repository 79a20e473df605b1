//! The case form: new cases (against a guide or unsorted) and an editor's correction.

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use uuid::Uuid;

use super::{case_or_404, AppError, AppState};
use crate::auth::{Caller, Permission};
use crate::cases::fields::FormPlace;
use crate::cases::{CaseDraft, FieldError, Outcome, FIELDS};
use crate::content::{Guide, Resolved};

pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
    /// The input's type.
    pub kind: &'static str,
    pub hint: &'static str,
}

#[derive(Template)]
#[template(path = "cases/new.html")]
struct CaseForm<'a> {
    guide: Option<&'a Guide>,
    action: String,
    csrf: String,
    /// Editing a stored case: no photos, no idempotency key.
    editing: Option<String>,
    key: String,
    screen: Vec<FieldView>,
    machine: Vec<FieldView>,
    work: Vec<FieldView>,
    outcome: String,
    outcome_error: Option<String>,
    outcomes: Vec<(&'static str, &'static str)>,
    photo_error: Option<String>,
    error_count: usize,
    verbatim_alarm: String,
    alarm_error: Option<String>,
    /// `(slug, title)` of every guide: the picker of an editor's form.
    guides: &'a [(String, String)],
    /// The slug the case is filed under ("" for unsorted).
    guide_slug: String,
    /// The guide's Verify steps as checkboxes: `(step, words, ticked)`.
    checklist: Vec<(u32, String, bool)>,
    checklist_error: Option<String>,
    /// Earlier cases with the same alarm are looked up as the alarm is typed.
    similar: bool,
}

fn error_of(errors: &[FieldError], names: &[&str]) -> Option<String> {
    errors
        .iter()
        .find(|e| names.contains(&e.field))
        .map(|e| e.message.clone())
}

/// The form's inputs for the fields the table puts in these places.
fn inputs(draft: &CaseDraft, errors: &[FieldError], places: &[FormPlace]) -> Vec<FieldView> {
    places
        .iter()
        .flat_map(|place| FIELDS.iter().filter(move |f| f.form == *place))
        .map(|f| FieldView {
            name: f.name,
            label: f.label,
            value: draft.get(f.name).to_string(),
            error: error_of(errors, &[f.name]),
            kind: f.input,
            hint: f.hint,
        })
        .collect()
}

/// Whose form it is: their form token, and the case when an editor corrects one (with the
/// guides to choose from).
pub struct FormCtx<'a> {
    pub csrf: &'a str,
    pub editing: Option<Uuid>,
    pub guides: Vec<(String, String)>,
    /// The Verify steps ticked when the form comes back (as sent).
    pub ticked: Vec<u32>,
    /// The caller may read cases, so the form may show earlier ones.
    pub similar: bool,
}

impl<'a> FormCtx<'a> {
    pub fn new(state: &AppState, caller: &'a Caller) -> FormCtx<'a> {
        FormCtx {
            csrf: caller.csrf_token(),
            editing: None,
            guides: Vec::new(),
            ticked: Vec::new(),
            similar: state.auth.allows(caller, Permission::ReadCases),
        }
    }

    /// An editor's form for the case `id`.
    pub fn editing(caller: &'a Caller, id: Uuid, state: &AppState) -> FormCtx<'a> {
        FormCtx {
            csrf: caller.csrf_token(),
            editing: Some(id),
            guides: state.library().choices(),
            ticked: Vec::new(),
            similar: false,
        }
    }

    /// The form comes back with these Verify steps still ticked.
    pub fn ticked(mut self, sent: Option<Vec<String>>) -> Self {
        self.ticked = sent
            .map(|s| crate::cases::checks::parse_ticked(&s).unwrap_or_default())
            .unwrap_or_default();
        self
    }
}

pub fn render_form(
    guide: Option<&Guide>,
    draft: &CaseDraft,
    key: &str,
    errors: &[FieldError],
    photo_error: Option<String>,
    ctx: &FormCtx,
) -> Result<String, AppError> {
    let form = CaseForm {
        guide,
        action: match (ctx.editing, guide) {
            (Some(id), _) => format!("/cases/{id}/edit"),
            (None, Some(g)) => format!("/guides/{}/cases", g.slug),
            (None, None) => "/cases".to_string(),
        },
        csrf: ctx.csrf.to_string(),
        editing: ctx.editing.map(|id| id.to_string()),
        key: key.to_string(),
        screen: inputs(draft, errors, &[FormPlace::Screen]),
        machine: inputs(draft, errors, &[FormPlace::Machine]),
        work: inputs(draft, errors, &[FormPlace::Work, FormPlace::Signature]),
        outcome: draft.get("outcome").to_string(),
        outcome_error: error_of(errors, &["outcome"]),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        error_count: errors.len() + usize::from(photo_error.is_some()),
        photo_error,
        verbatim_alarm: draft.get("verbatim_alarm").to_string(),
        alarm_error: error_of(errors, &["verbatim_alarm", "guide"]),
        guides: &ctx.guides,
        guide_slug: guide
            .map(|g| g.slug.clone())
            .unwrap_or_else(|| draft.get("guide").to_string()),
        checklist: match (ctx.editing, guide) {
            (None, Some(g)) => g
                .verify_steps
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    let step = i as u32 + 1;
                    (step, text.clone(), ctx.ticked.contains(&step))
                })
                .collect(),
            _ => Vec::new(),
        },
        checklist_error: error_of(errors, &["verified_steps"]),
        similar: ctx.similar && ctx.editing.is_none(),
    };
    Ok(form.render()?)
}

/// What a QR label or a search page may prefill.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Prefill {
    site: Option<String>,
    line: Option<String>,
    cell: Option<String>,
    asset: Option<String>,
    alarm: Option<String>,
}

impl Prefill {
    /// The draft a new form starts from; the name is the caller's.
    fn draft(self, caller: &Caller) -> CaseDraft {
        CaseDraft {
            filed_by: caller.display_name().map(str::to_owned),
            site: self.site,
            line: self.line,
            cell: self.cell,
            asset: self.asset,
            verbatim_alarm: self.alarm,
            ..CaseDraft::default()
        }
    }
}

pub fn guide_or_404(state: &AppState, slug: &str) -> Result<Guide, AppError> {
    let library = state.library();
    library.find(slug).cloned().ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no guide `{slug}` to file a case against."
        ))
    })
}

fn new_form(
    state: &AppState,
    guide: Option<&Guide>,
    prefill: Prefill,
    caller: &Caller,
) -> Result<Response, AppError> {
    let html = render_form(
        guide,
        &prefill.draft(caller),
        &Uuid::now_v7().to_string(),
        &[],
        None,
        &FormCtx::new(state, caller),
    )?;
    Ok(Html(html).into_response())
}

pub async fn new_for_guide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    Query(prefill): Query<Prefill>,
) -> Result<Response, AppError> {
    if let Some(Resolved::Moved { slug: current, .. }) = state.library().resolve(&slug) {
        // The query goes along as it came: a label printed years ago keeps its place.
        let q = raw.map(|r| format!("?{r}")).unwrap_or_default();
        return Ok(crate::web::moved_permanently(&format!(
            "/guides/{current}/cases/new{q}"
        )));
    }
    new_form(
        &state,
        Some(&guide_or_404(&state, &slug)?),
        prefill,
        &caller,
    )
}

pub async fn new_unsorted(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(prefill): Query<Prefill>,
) -> Result<Response, AppError> {
    new_form(&state, None, prefill, &caller)
}

/// An editor's form for a stored case.
pub async fn edit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let library = state.library();
    let case = case_or_404(&state, &id).await?;
    let guide = case.fields.guide.as_deref().and_then(|g| library.find(g));
    let html = render_form(
        guide,
        &CaseDraft::from(&case.fields),
        "",
        &[],
        None,
        &FormCtx::editing(&caller, case.id, &state),
    )?;
    Ok(Html(html).into_response())
}
