//! Writing guides in the browser: a new guide (also from a case), an edit, a suggestion. The form
//! keeps everything typed through every refusal (lint faults, a newer revision, a taken slug);
//! `content::Guides` decides, this module only parses and renders.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use uuid::Uuid;

use super::{page, query_string, AppError, AppState};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::{Caller, Permission};
use crate::cases::{store as case_store, Case};
use crate::content::compose::{diff_lines, DiffLine};
use crate::content::revisions::Revision;
use crate::content::{
    markdown, GuideEdit, GuideError, GuideFields, Intent, LocatedIssue, Platform, REQUIRED_SECTIONS,
};
use crate::web::access::CsrfForm;

/// Most bytes one editor form may send. The longest shipped guide is under 12 KB; a form twenty
/// times past that is a paste gone wrong, and refusing it keeps every revision small.
pub const FORM_MAX_BYTES: usize = 256 * 1024;

/// Editor routes (editor and admin).
pub fn edit_router() -> Router<AppState> {
    Router::new()
        .route("/guides/new", get(new_form).post(new_save))
        .route("/guides/{slug}/edit", get(edit_form).post(edit_save))
        .layer(DefaultBodyLimit::max(FORM_MAX_BYTES))
}

/// Suggestion routes (tech and up).
pub fn suggest_router() -> Router<AppState> {
    Router::new()
        .route(
            "/guides/{slug}/suggest",
            get(suggest_form).post(suggest_save),
        )
        .layer(DefaultBodyLimit::max(FORM_MAX_BYTES))
}

/// The editor form as the browser sends it: every front-matter key a field, lists one a line.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EditorForm {
    #[serde(default)]
    base_revision: Option<String>,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    products: String,
    #[serde(default)]
    alarms: String,
    #[serde(default)]
    aliases: String,
    #[serde(default)]
    sources: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    from_case: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

impl EditorForm {
    fn from_fields(f: &GuideFields, slug: &str, base: Option<i64>) -> EditorForm {
        EditorForm {
            base_revision: base.map(|b| b.to_string()),
            slug: slug.to_string(),
            title: f.title.clone(),
            platform: f.platform.clone(),
            level: f.level.clone(),
            minutes: f.minutes.clone(),
            products: f.products.join("\n"),
            alarms: f.alarms.join("\n"),
            aliases: f.aliases.join("\n"),
            sources: f.sources_text(),
            body: f.body.clone(),
            ..EditorForm::default()
        }
    }

    fn fields(&self) -> GuideFields {
        GuideFields {
            title: self.title.trim().to_string(),
            platform: self.platform.trim().to_string(),
            products: GuideFields::lines(&self.products),
            alarms: GuideFields::lines(&self.alarms),
            aliases: GuideFields::lines(&self.aliases),
            updated: chrono::Utc::now().date_naive().to_string(),
            level: self.level.trim().to_string(),
            minutes: self.minutes.trim().to_string(),
            sources: GuideFields::parse_sources(&self.sources),
            body: crate::content::compose::normalise_newlines(&self.body),
        }
    }

    fn base(&self) -> Option<i64> {
        self.base_revision
            .as_deref()
            .and_then(|b| b.trim().parse().ok())
    }

    fn previewing(&self) -> bool {
        self.action.as_deref() == Some("preview")
    }

    /// The slug to save under: the one typed, else one proposed from the title.
    fn wanted_slug(&self) -> String {
        let typed = self.slug.trim();
        if typed.is_empty() {
            markdown::slugify(self.title.trim())
        } else {
            typed.to_string()
        }
    }
}

/// One lint fault, placed where the editor can find it: a form field or a body line.
pub struct Fault {
    pub place: String,
    pub reason: String,
}

/// Where the body starts in the text `GuideFields::to_text` writes, and which key each
/// front-matter line holds, so a fault at "line 5" reads as "Alarms".
fn place_faults(text: &str, path: &str, issues: &[LocatedIssue]) -> Vec<Fault> {
    let lines: Vec<&str> = text.lines().collect();
    let close = lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, l)| l.trim() == "+++")
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
    issues
        .iter()
        .map(|i| {
            let place = if i.path != path && i.path.ends_with(".md") {
                format!("Another guide ({})", i.path)
            } else if i.line == 0 {
                field_label(&i.path).to_string()
            } else if i.line > close + 1 && close > 0 {
                format!("Body line {}", i.line - close - 1)
            } else {
                let key = lines
                    .get(i.line.saturating_sub(1))
                    .and_then(|l| l.split_once('='))
                    .map(|(k, _)| k.trim())
                    .filter(|k| k.chars().all(|c| c.is_ascii_lowercase()))
                    .unwrap_or("sources");
                field_label(key).to_string()
            };
            Fault {
                place,
                reason: i.reason.clone(),
            }
        })
        .collect()
}

fn field_label(key: &str) -> &str {
    match key {
        "title" => "Title",
        "platform" => "Platform",
        "products" => "Products",
        "alarms" => "Alarms",
        "aliases" => "Old slugs (aliases)",
        "updated" => "Updated",
        "level" => "Level",
        "minutes" => "Minutes",
        "sources" => "Sources",
        other => other,
    }
}

/// The current text beside the editor's, when a save came too late.
pub struct ConflictView {
    pub current: Revision,
    pub diff: Vec<Option<DiffLine>>,
}

#[derive(Template)]
#[template(path = "guides/edit.html")]
struct EditorPage {
    heading: String,
    intent: &'static str,
    action: String,
    csrf: String,
    draft_key: String,
    form: EditorForm,
    slug_locked: bool,
    platforms: Vec<(&'static str, &'static str)>,
    levels: [&'static str; 3],
    faults: Vec<Fault>,
    message: Option<String>,
    preview: Option<String>,
    conflict: Option<ConflictView>,
    guide_slug: Option<String>,
    can_upload: bool,
}

/// What the page is for: where it posts and how its draft is named.
struct Mode {
    intent: Intent,
    /// The guide being edited and its id (the draft key survives a rename).
    guide: Option<(String, i64)>,
    from_case: Option<Uuid>,
}

impl Mode {
    fn action(&self) -> String {
        match (&self.guide, self.intent) {
            (Some((slug, _)), Intent::Suggest) => format!("/guides/{slug}/suggest"),
            (Some((slug, _)), Intent::Publish) => format!("/guides/{slug}/edit"),
            (None, _) => match self.from_case {
                Some(id) => format!("/guides/new?from_case={id}"),
                None => "/guides/new".into(),
            },
        }
    }

    fn draft_key(&self) -> String {
        match (&self.guide, self.intent, self.from_case) {
            (Some((_, id)), Intent::Suggest, _) => format!("guide-suggest:{id}"),
            (Some((_, id)), Intent::Publish, _) => format!("guide-draft:{id}"),
            (None, _, Some(case)) => format!("guide-draft:new:case:{case}"),
            (None, _, None) => "guide-draft:new".into(),
        }
    }
}

fn render(
    state: &AppState,
    caller: &Caller,
    mode: &Mode,
    form: EditorForm,
    status: StatusCode,
    extra: impl FnOnce(&mut EditorPage),
) -> Result<Response, AppError> {
    let title = form.title.clone();
    let mut p = EditorPage {
        heading: match (&mode.guide, mode.intent) {
            (Some(_), Intent::Suggest) => format!("Suggest a change: {title}"),
            (Some(_), Intent::Publish) => format!("Edit: {title}"),
            (None, _) => "New guide".into(),
        },
        intent: match mode.intent {
            Intent::Suggest => "suggest",
            Intent::Publish => "publish",
        },
        action: mode.action(),
        csrf: caller.csrf_token().to_string(),
        draft_key: mode.draft_key(),
        slug_locked: mode.intent == Intent::Suggest,
        form,
        platforms: Platform::ALL.map(|p| (p.as_str(), p.label())).to_vec(),
        levels: ["beginner", "intermediate", "advanced"],
        faults: Vec::new(),
        message: None,
        preview: None,
        conflict: None,
        guide_slug: mode.guide.as_ref().map(|(s, _)| s.clone()),
        can_upload: state.auth.allows(caller, Permission::EditGuides),
    };
    extra(&mut p);
    let mut res = page(&p)?;
    *res.status_mut() = status;
    Ok(res)
}

/// A new guide's body: the sections the lint asks for, filled from a case where there is one.
fn skeleton(case: Option<&Case>) -> String {
    let alarm = case
        .map(|c| c.fields.verbatim_alarm.trim().to_string())
        .unwrap_or_default();
    let fix = case
        .map(|c| c.fields.fix_applied.trim().to_string())
        .unwrap_or_default();
    let mut body = String::from("What this guide covers, in one or two sentences.\n");
    for section in REQUIRED_SECTIONS {
        body.push_str(&format!("\n## {section}\n\n"));
        match section {
            "Symptom" if !alarm.is_empty() => {
                body.push_str("The screen or log shows:\n\n```\n");
                body.push_str(&alarm);
                body.push_str("\n```\n");
            }
            "Fix" if !fix.is_empty() => {
                body.push_str("What fixed it on the case this guide grew from:\n\n");
                for line in fix.lines().filter(|l| !l.trim().is_empty()) {
                    body.push_str(&format!("1. {}\n", line.trim()));
                }
            }
            _ => body.push_str("1. \n"),
        }
    }
    body
}

#[derive(Deserialize)]
struct NewQuery {
    from_case: Option<String>,
}

pub async fn case_for(state: &AppState, id: Option<&str>) -> Result<Option<Case>, AppError> {
    let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let uuid =
        Uuid::parse_str(id).map_err(|_| AppError::NotFound(format!("There is no case `{id}`.")))?;
    case_store::get(&state.db, &uuid)
        .await?
        .map(Some)
        .ok_or_else(|| AppError::NotFound(format!("There is no case `{id}`.")))
}

async fn new_form(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    let case = case_for(&state, q.from_case.as_deref()).await?;
    let mut form = EditorForm {
        level: "intermediate".into(),
        body: skeleton(case.as_ref()),
        ..EditorForm::default()
    };
    if let Some(c) = &case {
        form.from_case = Some(c.id.to_string());
        if let Some(first) = c
            .fields
            .verbatim_alarm
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
        {
            form.alarms = first.to_string();
        }
        form.products = [&c.fields.software_version, &c.fields.firmware_revision]
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        form.summary = format!("New guide from case {}", c.id);
    }
    let mode = Mode {
        intent: Intent::Publish,
        guide: None,
        from_case: case.map(|c| c.id),
    };
    render(&state, &caller, &mode, form, StatusCode::OK, |_| {})
}

async fn new_save(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NewQuery>,
    CsrfForm(mut form): CsrfForm<EditorForm>,
) -> Result<Response, AppError> {
    if form.from_case.is_none() {
        form.from_case = q.from_case;
    }
    let case = case_for(&state, form.from_case.as_deref()).await?;
    let mode = Mode {
        intent: Intent::Publish,
        guide: None,
        from_case: case.as_ref().map(|c| c.id),
    };
    if form.slug.trim().is_empty() {
        form.slug = proposed_slug(&state, form.title.trim());
    }
    let edit = GuideEdit {
        slug: None,
        base_revision: None,
        new_slug: form.wanted_slug(),
        fields: form.fields(),
        summary: form.summary.clone(),
        intent: Intent::Publish,
    };
    let saved = match submit(&state, &caller, &mode, &form, edit).await? {
        Ok(saved) => saved,
        Err(res) => return Ok(res),
    };
    let mut event = AuditEvent::by(&caller, AuditAction::GuideNew, &saved.slug)
        .detail(format!("revision {}", saved.revision));
    if let Some(c) = &case {
        state.cases.attach(&c.id, &saved.slug).await?;
        audit::record(
            &state.db,
            AuditEvent::by(&caller, AuditAction::CaseAttach, c.id.to_string())
                .detail(format!("guide {}", saved.slug)),
        )
        .await;
        event = event.detail(format!("revision {} from case {}", saved.revision, c.id));
    }
    audit::record(&state.db, event).await;
    let qs = query_string(
        [
            ("saved", saved.revision.to_string()),
            ("clear", mode.draft_key()),
        ]
        .into_iter()
        .chain(case.map(|c| ("case", c.id.to_string()))),
    );
    let target = match mode.from_case {
        Some(_) => format!("/guides/{}/unsorted{qs}", saved.slug),
        None => format!("/guides/{}{qs}", saved.slug),
    };
    Ok(Redirect::to(&target).into_response())
}

/// A slug from the title that no guide uses yet: `-2`, `-3`… after a taken one.
fn proposed_slug(state: &AppState, title: &str) -> String {
    let base = markdown::slugify(title);
    let base = base.trim_matches('-');
    if base.is_empty() {
        return String::new();
    }
    let base: String = base.chars().take(100).collect();
    let library = state.library();
    let mut slug = base.to_string();
    let mut n = 2;
    while library.resolve(&slug).is_some() {
        slug = format!("{base}-{n}");
        n += 1;
    }
    slug
}

/// Saves or previews; a refusal comes back as the re-rendered form, everything typed kept.
async fn submit(
    state: &AppState,
    caller: &Caller,
    mode: &Mode,
    form: &EditorForm,
    edit: GuideEdit,
) -> Result<Result<crate::content::Saved, Response>, AppError> {
    let path = format!("{}/{}.md", edit.fields.platform.trim(), edit.new_slug);
    let text = edit.fields.to_text();
    if form.previewing() {
        let res = match state.guides.preview(&edit).await {
            Ok(guide) => render(state, caller, mode, form.clone(), StatusCode::OK, |p| {
                p.preview = Some(guide.html.clone());
            }),
            Err(e) => refused(state, caller, mode, form, &path, &text, e),
        }?;
        return Ok(Err(res));
    }
    match state.guides.save(&caller.actor(), edit).await {
        Ok(saved) => Ok(Ok(saved)),
        Err(e) => Ok(Err(refused(state, caller, mode, form, &path, &text, e)?)),
    }
}

fn refused(
    state: &AppState,
    caller: &Caller,
    mode: &Mode,
    form: &EditorForm,
    path: &str,
    text: &str,
    e: GuideError,
) -> Result<Response, AppError> {
    let mut form = form.clone();
    match e {
        GuideError::Invalid(issues) => {
            let faults = place_faults(text, path, &issues);
            render(
                state,
                caller,
                mode,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
                |p| {
                    p.message = Some(format!(
                        "Not saved: the guide has {} {} to fix. Everything you typed is still here.",
                        faults.len(),
                        if faults.len() == 1 { "fault" } else { "faults" }
                    ));
                    p.faults = faults;
                },
            )
        }
        GuideError::Stale { current } => {
            // The next save from this page is made knowing the newer text.
            form.base_revision = Some(current.id.to_string());
            let diff = diff_lines(&current.text, text);
            render(state, caller, mode, form, StatusCode::CONFLICT, |p| {
                p.message = Some(format!(
                    "Not saved: {} saved a newer version ({}) while you were editing. Your text is still in the form below; compare it with theirs, merge what you need, and save again.",
                    current.author,
                    current.created_at.human()
                ));
                p.conflict = Some(ConflictView {
                    current: *current,
                    diff,
                });
            })
        }
        GuideError::SlugTaken(_) | GuideError::BadSlug(_) => {
            let msg = e.to_string();
            render(state, caller, mode, form, StatusCode::CONFLICT, |p| {
                p.message = Some(format!("Not saved: {msg}. Choose another slug."));
            })
        }
        other => Err(other.into()),
    }
}

/// The guide a slug leads to, with its id; a moved slug answers with the current one.
async fn guide_mode(
    state: &AppState,
    slug: &str,
    intent: Intent,
) -> Result<(Mode, Revision), AppError> {
    let row = state.guides.guide_row(slug).await?;
    let current = state.guides.current_revision(&row.slug).await?;
    Ok((
        Mode {
            intent,
            guide: Some((row.slug, row.id)),
            from_case: None,
        },
        current,
    ))
}

async fn open_form(
    state: AppState,
    caller: Caller,
    slug: String,
    intent: Intent,
) -> Result<Response, AppError> {
    let (mode, current) = guide_mode(&state, &slug, intent).await?;
    let fields = GuideFields::from_text(&current.text).unwrap_or_default();
    let form = EditorForm::from_fields(&fields, current.slug(), Some(current.id));
    render(&state, &caller, &mode, form, StatusCode::OK, |_| {})
}

async fn edit_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    open_form(state, caller, slug, Intent::Publish).await
}

async fn suggest_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    open_form(state, caller, slug, Intent::Suggest).await
}

async fn save_existing(
    state: AppState,
    caller: Caller,
    slug: String,
    form: EditorForm,
    intent: Intent,
) -> Result<Response, AppError> {
    let (mode, _) = guide_mode(&state, &slug, intent).await?;
    let Some((slug, _)) = mode.guide.clone() else {
        return Err(AppError::NotFound(format!("There is no guide `{slug}`.")));
    };
    let mut form = form;
    if intent == Intent::Suggest || form.slug.trim().is_empty() {
        // A suggestion cannot rename: links are an editor's call.
        form.slug = slug.clone();
    }
    let edit = GuideEdit {
        slug: Some(slug.clone()),
        base_revision: form.base(),
        new_slug: form.wanted_slug(),
        fields: form.fields(),
        summary: form.summary.clone(),
        intent,
    };
    let saved = match submit(&state, &caller, &mode, &form, edit).await? {
        Ok(saved) => saved,
        Err(res) => return Ok(res),
    };
    let (action, detail) = match intent {
        Intent::Publish => (
            AuditAction::GuideSave,
            match &saved.renamed_from {
                Some(old) => format!("revision {}, renamed from {old}", saved.revision),
                None => format!("revision {}", saved.revision),
            },
        ),
        Intent::Suggest => (
            AuditAction::GuideSuggest,
            format!("revision {} waits for an editor", saved.revision),
        ),
    };
    audit::record(
        &state.db,
        AuditEvent::by(&caller, action, &saved.slug).detail(detail),
    )
    .await;
    let qs = query_string([
        ("saved", saved.revision.to_string()),
        ("clear", mode.draft_key()),
    ]);
    let target = match intent {
        Intent::Publish => format!("/guides/{}{qs}", saved.slug),
        Intent::Suggest => format!("/account{qs}#suggestions"),
    };
    Ok(Redirect::to(&target).into_response())
}

async fn edit_save(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    CsrfForm(form): CsrfForm<EditorForm>,
) -> Result<Response, AppError> {
    save_existing(state, caller, slug, form, Intent::Publish).await
}

async fn suggest_save(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    CsrfForm(form): CsrfForm<EditorForm>,
) -> Result<Response, AppError> {
    save_existing(state, caller, slug, form, Intent::Suggest).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_placed_on_the_field_or_the_body_line_the_editor_sees() {
        let fields = GuideFields {
            title: "T".into(),
            platform: "ignition".into(),
            alarms: vec!["Bad_Timeout".into()],
            level: "beginner".into(),
            minutes: "5".into(),
            updated: "2026-12-01".into(),
            body: "Intro.\n\n## Symptom\n\nline three".into(),
            ..GuideFields::default()
        };
        let text = fields.to_text();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let at = |line| LocatedIssue {
            path: "ignition/t.md".into(),
            line,
            reason: "r".into(),
        };
        let placed = place_faults(
            &text,
            "ignition/t.md",
            &[
                at(line_of("alarms =")),
                at(line_of("line three")),
                at(line_of("## Symptom")),
            ],
        );
        let places: Vec<&str> = placed.iter().map(|f| f.place.as_str()).collect();
        assert_eq!(places, ["Alarms", "Body line 5", "Body line 3"]);
    }

    #[test]
    fn a_new_guide_from_a_case_starts_with_every_required_section() {
        let body = skeleton(None);
        let mut at = 0;
        for section in REQUIRED_SECTIONS {
            let found = body[at..]
                .find(&format!("## {section}\n"))
                .unwrap_or_else(|| panic!("{section} missing or out of order"));
            at += found;
        }
    }
}
