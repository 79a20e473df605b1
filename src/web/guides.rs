//! Home page, guide list and guide pages, and their JSON twins.

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};

use crate::auth::{Caller, Permission};
use serde::{Deserialize, Serialize};

use super::cases::recurring::{recurs_on, RecursOn};
use super::cases::{case_row, CaseRow};
use super::{absolute, moved_permanently, page, AppError, AppState};
use crate::cases::{checks, store, CaseFilter, GuideRecord};
use crate::content::{Guide, Platform, Resolved};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/guides", get(list))
        .route("/guides/{slug}", get(show))
}

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/api/guides", get(api_list))
        .route("/api/guides/{slug}", get(api_show))
}

pub struct PlatformCount {
    pub id: &'static str,
    pub label: &'static str,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    platforms: Vec<PlatformCount>,
    latest: Vec<&'a Guide>,
}

async fn home(State(state): State<AppState>) -> Result<Response, AppError> {
    let platforms = state
        .library()
        .by_platform()
        .into_iter()
        .map(|(p, g)| PlatformCount {
            id: p.as_str(),
            label: p.label(),
            count: g.len(),
        })
        .collect();
    page(&HomePage {
        platforms,
        latest: state.library().latest(8),
    })
}

#[derive(Deserialize)]
struct ListQuery {
    platform: Option<String>,
}

pub struct PlatformGroup<'a> {
    pub id: &'static str,
    pub label: &'static str,
    pub guides: Vec<&'a Guide>,
}

#[derive(Template)]
#[template(path = "guides/list.html")]
struct ListPage<'a> {
    groups: Vec<PlatformGroup<'a>>,
    selected: Option<&'static str>,
    all_platforms: Vec<(&'static str, &'static str)>,
}

async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let library = state.library();
    let filter = super::parse_platform(q.platform.as_deref())?;
    let groups = library
        .by_platform()
        .into_iter()
        .filter(|(p, _)| filter.is_none_or(|f| f == *p))
        .map(|(p, guides)| PlatformGroup {
            id: p.as_str(),
            label: p.label(),
            guides,
        })
        .collect();
    page(&ListPage {
        groups,
        selected: filter.map(Platform::as_str),
        all_platforms: Platform::ALL.map(|p| (p.as_str(), p.label())).to_vec(),
    })
}

#[derive(Template)]
#[template(path = "guides/show.html")]
struct GuidePage<'a> {
    guide: &'a Guide,
    platform_label: &'static str,
    /// The plant's record with this guide; `None` for someone who may not read cases.
    record: Option<GuideRecord>,
    recent: Vec<CaseRow>,
    /// Where this guide's fault keeps coming back; empty for someone who may not read cases.
    recurs: Vec<RecursOn>,
    canonical: String,
    /// The opening paragraphs (before the first section), shown at the top; may be empty.
    intro: String,
    /// The body with a copy-link menu beside every section heading.
    body: String,
    copy_menu: String,
    /// The case form for this guide, carrying the alarm the visitor came with.
    file_href: String,
    /// The anchor of the Fix section, when the guide has one.
    fix_id: Option<String>,
    /// Who changed the guide last, and when.
    changed: Option<LastChange>,
    can_edit: bool,
    can_suggest: bool,
    /// The revision just saved, when the editor came back here from saving.
    saved: Option<i64>,
    /// The browser draft the save made obsolete.
    clear_draft: Option<String>,
    /// For editors: suggestions and file changes waiting on this guide.
    waiting_here: usize,
    /// For editors: the lint's faults in this guide's file under content/, when it was refused.
    refused_file: Option<crate::content::revisions::ImportFault>,
}

struct LastChange {
    author: String,
    at: crate::time::Timestamp,
    revision: i64,
}

#[derive(Template)]
#[template(path = "guides/embed.html")]
struct EmbedPage<'a> {
    guide: &'a Guide,
    platform_label: &'static str,
    canonical: String,
}

/// One control that opens a small menu copying a link as plain URL, Markdown, MediaWiki and
/// HTML, then any `extra` texts (a guide's alarm strings). `what` names the target for screen
/// readers ("" for the page itself).
pub fn copy_menu(url: &str, title: &str, what: &str, extra: &[(String, &str)]) -> String {
    use crate::search::snippet::escape;
    let formats = [
        ("URL", "Link", url.to_string()),
        ("Markdown", "Markdown", format!("[{title}]({url})")),
        ("MediaWiki", "MediaWiki", format!("[{url} {title}]")),
        (
            "HTML",
            "HTML",
            format!("<a href=\"{}\">{}</a>", escape(url), escape(title)),
        ),
    ];
    let (class, summary) = if what.is_empty() {
        ("copylink copymenu", "Copy…".to_string())
    } else {
        (
            "copylink copymenu copymenu-section",
            format!(
                "Copy link<span class=\"visually-hidden\"> to {}</span>",
                escape(what)
            ),
        )
    };
    let mut out = format!(
        "<details class=\"{class}\"><summary class=\"btn btn-secondary btn-small\">{summary}</summary>\
         <div class=\"copyformats\" role=\"group\" aria-label=\"Copy as\">"
    );
    for (label, shown, text) in formats {
        out.push_str(&format!(
            "<button type=\"button\" class=\"menuitem\" data-copy=\"{}\" data-format=\"{}\">{}</button>",
            escape(&text),
            label.to_ascii_lowercase(),
            if shown == label { label.to_string() } else { format!("{shown} ({label})") },
        ));
    }
    for (label, text) in extra {
        out.push_str(&format!(
            "<button type=\"button\" class=\"menuitem\" data-copy=\"{}\">{}</button>",
            escape(text),
            escape(label)
        ));
    }
    out.push_str("</div></details>");
    out
}

/// Puts one copy-link control for `#id` beside each section heading of the rendered body.
fn with_heading_menus(guide: &Guide, url: &str) -> String {
    let mut html = guide.html.clone();
    for s in &guide.sections {
        let open = format!("<h2 id=\"{}\">", s.id);
        let Some(start) = html.find(&open) else {
            continue;
        };
        let Some(close) = html[start..].find("</h2>") else {
            continue;
        };
        let at = start + close + "</h2>".len();
        let menu = copy_menu(
            &format!("{url}#{}", s.id),
            &format!("{} – {}", guide.front.title, s.title),
            &s.title,
            &[],
        );
        html.insert_str(at, &format!("{menu}</div>"));
        html.insert_str(start, "<div class=\"sechead\">");
    }
    html
}

/// Makes the body's mentions of a GitHub-shorthand source (`owner/repo#123`) links to it. Only
/// text outside tags, links and code is touched.
fn link_sources(html: &str, guide: &Guide) -> String {
    use crate::search::snippet::escape;
    let sources: Vec<(&str, &str)> = guide
        .front
        .sources
        .iter()
        .filter(|s| s.url != s.href && !s.url.is_empty())
        .map(|s| (s.url.as_str(), s.href.as_str()))
        .collect();
    if sources.is_empty() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    // Depth of <a> and <code> elements around the current text.
    let mut shielded = 0usize;
    while !rest.is_empty() {
        if let Some(tag_end) = rest.starts_with('<').then(|| rest.find('>')).flatten() {
            let tag = &rest[..=tag_end];
            let name = tag[1..]
                .trim_start_matches('/')
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            if matches!(name, "a" | "code" | "pre") {
                if tag.starts_with("</") {
                    shielded = shielded.saturating_sub(1);
                } else {
                    shielded += 1;
                }
            }
            out.push_str(tag);
            rest = &rest[tag_end + 1..];
            continue;
        }
        let text_end = rest[1..].find('<').map_or(rest.len(), |i| i + 1);
        let mut text = rest[..text_end].to_string();
        if shielded == 0 {
            for (short, href) in &sources {
                text = link_word(&text, &escape(short), &escape(href));
            }
        }
        out.push_str(&text);
        rest = &rest[text_end..];
    }
    out
}

/// The rendered body split into its opening paragraphs (text before the first section, when
/// that is only paragraphs) and the rest.
fn split_intro(html: &str) -> (String, String) {
    let Some(at) = html.find("<div class=\"sechead\">") else {
        return (String::new(), html.to_string());
    };
    let head = html[..at].trim();
    let only_paragraphs = head.starts_with("<p>")
        && head.ends_with("</p>")
        && !["<ul", "<ol", "<pre", "<table", "<h", "<div", "<blockquote"]
            .iter()
            .any(|t| head.contains(t));
    if only_paragraphs {
        (head.to_string(), html[at..].to_string())
    } else {
        (String::new(), html.to_string())
    }
}

/// `text` with each whole `word` (not followed by another digit or letter) made a link.
fn link_word(text: &str, word: &str, href: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let after = &rest[i + word.len()..];
        out.push_str(&rest[..i]);
        if after.starts_with(|c: char| c.is_alphanumeric()) {
            out.push_str(word);
        } else {
            out.push_str(&format!("<a href=\"{href}\" rel=\"noopener\">{word}</a>"));
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[derive(Template)]
#[template(path = "guides/not_found.html")]
struct GuideNotFound<'a> {
    slug: &'a str,
    words: String,
    similar: Vec<&'a Guide>,
}

/// Guides whose slug shares a word with the missing one, best overlap first.
fn similar_guides<'a>(library: &'a crate::content::Library, words: &[&str]) -> Vec<&'a Guide> {
    let mut scored: Vec<(usize, &Guide)> = library
        .all()
        .iter()
        .map(|g| {
            let n = g
                .slug
                .split('-')
                .filter(|w| w.len() > 2 && words.contains(w))
                .count();
            (n, g)
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.slug.cmp(&b.1.slug)));
    scored.into_iter().take(5).map(|(_, g)| g).collect()
}

async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let library = state.library();
    let embed = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "embed" && v == "1");
    let resolved = library.resolve(&slug);
    if let Some(Resolved::Current(guide)) = resolved {
        let canonical = absolute(&state, &headers, &guide.url());
        if embed {
            let mut res = page(&EmbedPage {
                guide,
                platform_label: guide.front.platform.label(),
                canonical,
            })?;
            let allowed = state
                .config
                .embed_allow
                .iter()
                .map(|s| s.trim())
                .filter(|s| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
                })
                .collect::<Vec<_>>()
                .join(" ");
            res.extensions_mut().insert(super::FrameAncestors(allowed));
            return Ok(res);
        }
        let alarm = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "alarm")
            .map(|(_, v)| v.trim().chars().take(500).collect::<String>())
            .filter(|v| !v.is_empty());
        let (record, recent, recurs) = if state.auth.allows(&caller, Permission::ReadCases) {
            let mut record = store::guide_record(&state.db, &guide.slug).await?;
            record.verify = checks::tally(&state.db, &guide.slug, &guide.verify_steps).await?;
            let recent = store::list(&state.db, &CaseFilter::for_guide(&guide.slug), 5).await?;
            (Some(record), recent, recurs_on(&state, &guide.slug).await?)
        } else {
            (None, Vec::new(), Vec::new())
        };
        let (intro, body) =
            split_intro(&link_sources(&with_heading_menus(guide, &canonical), guide));
        let current = state.guides.current_revision(&guide.slug).await?;
        let can_edit = state.auth.allows(&caller, Permission::EditGuides);
        let (waiting_here, refused_file) = if can_edit {
            let waiting = state.guides.waiting().await?;
            let refused = state.guides.import_faults().await?;
            (
                waiting
                    .iter()
                    .filter(|r| r.guide_id == current.guide_id)
                    .count(),
                refused.into_iter().find(|f| f.path == current.path),
            )
        } else {
            (0, None)
        };
        let param = |name: &str| {
            form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        return page(&GuidePage {
            intro,
            body,
            guide,
            platform_label: guide.front.platform.label(),
            record,
            recurs,
            recent: recent.iter().map(|c| case_row(&state, c)).collect(),
            copy_menu: copy_menu(
                &canonical,
                &guide.front.title,
                "",
                &guide
                    .front
                    .alarms
                    .iter()
                    .map(|a| (format!("Alarm: {a}"), a.as_str()))
                    .collect::<Vec<_>>(),
            ),
            file_href: format!(
                "/guides/{}/cases/new{}",
                guide.slug,
                super::query_string(alarm.iter().map(|a| ("alarm", a.as_str())))
            ),
            fix_id: guide
                .sections
                .iter()
                .find(|s| s.title.eq_ignore_ascii_case("fix"))
                .map(|s| s.id.clone()),
            canonical,
            changed: Some(LastChange {
                author: current.author.clone(),
                at: current.created_at,
                revision: current.id,
            }),
            can_edit,
            can_suggest: state.auth.allows(&caller, Permission::SuggestGuides),
            saved: param("saved").and_then(|v| v.parse().ok()),
            clear_draft: param("clear").filter(|k| super::guide_review::is_draft_key(k)),
            waiting_here,
            refused_file,
        });
    }
    let q = if embed { "?embed=1" } else { "" };
    if let Some(target) = resolved.and_then(|r| r.moved_path("/guides/", q)) {
        return Ok(moved_permanently(&target));
    }
    let words: Vec<&str> = slug
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let body = GuideNotFound {
        slug: &slug,
        words: words.join(" "),
        similar: similar_guides(&library, &words),
    }
    .render()?;
    Ok((StatusCode::NOT_FOUND, axum::response::Html(body)).into_response())
}

#[derive(Serialize)]
struct GuideSummary<'a> {
    slug: &'a str,
    title: &'a str,
    platform: Platform,
    products: &'a [String],
    alarms: &'a [String],
    url: String,
    updated: String,
}

impl<'a> From<&'a Guide> for GuideSummary<'a> {
    fn from(g: &'a Guide) -> Self {
        GuideSummary {
            slug: &g.slug,
            title: &g.front.title,
            platform: g.front.platform,
            products: &g.front.products,
            alarms: &g.front.alarms,
            url: g.url(),
            updated: g.front.updated.to_string(),
        }
    }
}

#[derive(Serialize)]
struct GuideDetail<'a> {
    #[serde(flatten)]
    summary: GuideSummary<'a>,
    level: &'static str,
    minutes: &'a str,
    aliases: &'a [String],
    sections: Vec<&'a str>,
    html: &'a str,
    /// The front-matter `sources`, GitHub shorthand expanded to its URL.
    sources: Vec<SourceLink<'a>>,
}

#[derive(Serialize)]
struct SourceLink<'a> {
    title: &'a str,
    url: &'a str,
}

async fn api_list(State(state): State<AppState>) -> Response {
    let library = state.library();
    let guides: Vec<GuideSummary> = library.all().iter().map(GuideSummary::from).collect();
    Json(guides).into_response()
}

async fn api_show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let library = state.library();
    let g = match library.resolve(&slug) {
        Some(Resolved::Current(g)) => g,
        Some(Resolved::Moved { slug, .. }) => {
            return Ok(moved_permanently(&format!("/api/guides/{slug}")))
        }
        None => return Err(AppError::NotFound(format!("No guide with slug `{slug}`."))),
    };
    Ok(Json(GuideDetail {
        summary: GuideSummary::from(g),
        level: g.front.level.as_str(),
        minutes: &g.front.minutes,
        aliases: &g.front.aliases,
        sections: g.sections.iter().map(|s| s.id.as_str()).collect(),
        html: &g.html,
        sources: g
            .front
            .sources
            .iter()
            .map(|s| SourceLink {
                title: &s.title,
                url: &s.href,
            })
            .collect(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::{link_word, split_intro};

    #[test]
    fn shorthand_becomes_a_link_only_as_a_whole_word() {
        let href = "https://github.com/o/r/issues/61";
        assert_eq!(
            link_word("see o/r#61 and o/r#611.", "o/r#61", href),
            format!("see <a href=\"{href}\" rel=\"noopener\">o/r#61</a> and o/r#611.")
        );
        assert_eq!(link_word("nothing here", "o/r#61", href), "nothing here");
    }

    #[test]
    fn only_opening_paragraphs_move_to_the_top() {
        let body = "<p>Intro <code>x</code>.</p>\n<div class=\"sechead\"><h2 id=\"a\">A</h2></div>";
        let (intro, rest) = split_intro(body);
        assert_eq!(intro, "<p>Intro <code>x</code>.</p>");
        assert!(rest.starts_with("<div class=\"sechead\">"));
        let listy = "<p>Intro</p><ul><li>x</li></ul><div class=\"sechead\"></div>";
        assert_eq!(split_intro(listy), (String::new(), listy.to_string()));
    }
}
