//! The one Markdown renderer: every pulldown-cmark option lives here, output is sanitized.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// A heading found while rendering, with the anchor it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub id: String,
    pub title: String,
    /// Byte offset of the heading in the Markdown source, for line numbers in lint messages.
    pub offset: usize,
}

/// A link target found in the Markdown, with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRef {
    pub dest: String,
    pub offset: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Sanitized HTML, safe to insert into a page as is.
    pub html: String,
    pub headings: Vec<Heading>,
    pub links: Vec<LinkRef>,
    /// Plain text of the body (for search and summaries).
    pub text: String,
    /// Plain text of the first paragraph.
    pub summary: String,
    /// The numbered steps of each section, as plain text: `("verify", ["The log shows…", …])`.
    pub steps: Vec<(String, Vec<String>)>,
}

pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Turns heading text into a stable anchor: lower-case ASCII letters and digits joined by dashes.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    if out.is_empty() {
        out.push_str("section");
    }
    out
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Renders Markdown to sanitized HTML, giving every heading a stable, unique anchor.
pub fn render(markdown: &str) -> Rendered {
    let mut events: Vec<(Event, usize)> = Parser::new_ext(markdown, options())
        .into_offset_iter()
        .map(|(e, r)| (e, r.start))
        .collect();

    let mut used: HashSet<String> = HashSet::new();
    let mut headings = Vec::new();
    let mut links = Vec::new();
    let mut text = String::new();
    let mut summary = String::new();
    let mut in_first_paragraph = false;
    let mut seen_paragraph = false;

    let mut i = 0;
    while i < events.len() {
        match &events[i].0 {
            Event::Start(Tag::Heading { level, id, .. }) => {
                let level = level_number(*level);
                let explicit = id.as_ref().map(|s| s.to_string());
                let mut title = String::new();
                let mut j = i + 1;
                while j < events.len() {
                    match &events[j].0 {
                        Event::End(TagEnd::Heading(_)) => break,
                        Event::Text(t) | Event::Code(t) => title.push_str(t),
                        _ => {}
                    }
                    j += 1;
                }
                let base = explicit.unwrap_or_else(|| slugify(&title));
                let mut anchor = base.clone();
                let mut n = 2;
                while used.contains(&anchor) {
                    anchor = format!("{base}-{n}");
                    n += 1;
                }
                used.insert(anchor.clone());
                headings.push(Heading {
                    level,
                    id: anchor.clone(),
                    title: title.trim().to_string(),
                    offset: events[i].1,
                });
                if let Event::Start(Tag::Heading { id, .. }) = &mut events[i].0 {
                    *id = Some(CowStr::from(anchor));
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => links.push(LinkRef {
                dest: dest_url.to_string(),
                offset: events[i].1,
            }),
            Event::Start(Tag::Paragraph) if !seen_paragraph => {
                seen_paragraph = true;
                in_first_paragraph = true;
            }
            Event::End(TagEnd::Paragraph) => {
                in_first_paragraph = false;
                text.push('\n');
            }
            Event::Text(t) | Event::Code(t) => {
                text.push_str(t);
                if in_first_paragraph {
                    summary.push_str(t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                text.push(' ');
                if in_first_paragraph {
                    summary.push(' ');
                }
            }
            Event::End(TagEnd::TableCell) => text.push(' '),
            Event::End(
                TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_),
            ) => text.push('\n'),
            _ => {}
        }
        i += 1;
    }

    let steps = number_steps(&mut events);
    let mut raw = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut raw, events.into_iter().map(|(e, _)| e));
    Rendered {
        html: sanitizer().clean(&raw).to_string(),
        headings,
        links,
        text,
        summary: summary.trim().to_string(),
        steps,
    }
}

/// Gives each top-level item of the ordered lists in a section an anchor `<section>-<n>`
/// (`#fix-3` is the third fix step), counted across the section, so a wiki can link a step
/// whatever the heading's wording.
fn number_steps(events: &mut [(Event<'_>, usize)]) -> Vec<(String, Vec<String>)> {
    let mut section: Option<String> = None;
    let mut step = 0usize;
    let mut depth = 0usize; // list nesting
    let mut ordered_top = false;
    let mut in_step = false;
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for (event, _) in events.iter_mut() {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                id,
                ..
            }) => {
                section = id.as_ref().map(|s| s.to_string());
                step = 0;
            }
            Event::Start(Tag::List(start)) => {
                if depth == 0 {
                    ordered_top = start.is_some();
                }
                depth += 1;
            }
            Event::End(TagEnd::List(_)) => depth = depth.saturating_sub(1),
            Event::Start(Tag::Item) if depth == 1 && ordered_top => {
                if let Some(sec) = &section {
                    step += 1;
                    *event = Event::Html(CowStr::from(format!("<li id=\"{sec}-{step}\">")));
                    match steps.last_mut() {
                        Some((s, list)) if s == sec => list.push(String::new()),
                        _ => steps.push((sec.clone(), vec![String::new()])),
                    }
                    in_step = true;
                }
            }
            Event::End(TagEnd::Item) if depth == 1 => in_step = false,
            // The step's own words, not its nested lists: a checklist line stays one line.
            Event::Text(t) | Event::Code(t) if in_step && depth == 1 => {
                if let Some(last) = steps.last_mut().and_then(|(_, l)| l.last_mut()) {
                    last.push_str(t);
                }
            }
            Event::SoftBreak | Event::HardBreak if in_step && depth == 1 => {
                if let Some(last) = steps.last_mut().and_then(|(_, l)| l.last_mut()) {
                    last.push(' ');
                }
            }
            _ => {}
        }
    }
    for (_, list) in &mut steps {
        for s in list.iter_mut() {
            *s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    steps
}

/// Sanitizes any HTML that came from a guide: no script, no event handlers, no `javascript:` URLs.
pub fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.add_tags(["input"])
            .add_tag_attributes("input", ["type", "checked", "disabled"])
            .add_generic_attributes(["id"])
            .add_tag_attributes("code", ["class"])
            .add_tag_attributes("div", ["class"])
            .add_tag_attributes("sup", ["class"])
            .add_tag_attributes("th", ["style"])
            .add_tag_attributes("td", ["style"])
            .filter_style_properties(std::collections::HashSet::from(["text-align"]))
            .link_rel(Some("noopener noreferrer"));
        b
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_stable_lowercase_ids() {
        let r = render("## Symptom\n\ntext\n\n## Fix the Thing!\n\n### Fix the thing\n");
        assert_eq!(
            r.html,
            "<h2 id=\"symptom\">Symptom</h2>\n<p>text</p>\n<h2 id=\"fix-the-thing\">Fix the Thing!</h2>\n<h3 id=\"fix-the-thing-2\">Fix the thing</h3>\n"
        );
        let ids: Vec<_> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["symptom", "fix-the-thing", "fix-the-thing-2"]);
    }

    #[test]
    fn explicit_heading_id_is_kept() {
        let r = render("## Verify it works {#verify}\n");
        assert_eq!(r.html, "<h2 id=\"verify\">Verify it works</h2>\n");
    }

    #[test]
    fn tables_render_with_alignment() {
        let r = render("| a | b |\n|:--|--:|\n| 1 | 2 |\n");
        assert_eq!(
            r.html,
            "<table><thead><tr><th style=\"text-align:left\">a</th><th style=\"text-align:right\">b</th></tr></thead><tbody>\n<tr><td style=\"text-align:left\">1</td><td style=\"text-align:right\">2</td></tr>\n</tbody></table>\n"
        );
    }

    #[test]
    fn strikethrough_and_task_lists() {
        let r = render("~~old~~\n\n- [x] done\n- [ ] todo\n");
        assert_eq!(
            r.html,
            "<p><del>old</del></p>\n<ul>\n<li><input disabled=\"\" type=\"checkbox\" checked=\"\">\ndone</li>\n<li><input disabled=\"\" type=\"checkbox\">\ntodo</li>\n</ul>\n"
        );
    }

    #[test]
    fn footnotes_render() {
        let r = render("Text[^1].\n\n[^1]: The note.\n");
        assert!(r.html.contains("<sup class=\"footnote-reference\"><a href=\"#1\" rel=\"noopener noreferrer\">1</a></sup>"), "{}", r.html);
        assert!(
            r.html
                .contains("<div class=\"footnote-definition\" id=\"1\">"),
            "{}",
            r.html
        );
    }

    #[test]
    fn code_blocks_keep_language_class_and_escape() {
        let r = render("```text\n<b>Bad_Timeout</b>\n```\n");
        assert_eq!(
            r.html,
            "<pre><code class=\"language-text\">&lt;b&gt;Bad_Timeout&lt;/b&gt;\n</code></pre>\n"
        );
    }

    #[test]
    fn hostile_html_is_made_inert() {
        let md = "## Symptom\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n\n<a href=\"JaVaScRiPt:alert(4)\" onclick=\"x()\">y</a>\n";
        let r = render(md);
        let lower = r.html.to_lowercase();
        assert!(!lower.contains("<script"), "{}", r.html);
        assert!(!lower.contains("onerror"), "{}", r.html);
        assert!(!lower.contains("onclick"), "{}", r.html);
        assert!(!lower.contains("javascript:"), "{}", r.html);
        assert!(r.html.contains("<h2 id=\"symptom\">"), "{}", r.html);
    }

    #[test]
    fn collects_links_text_and_summary() {
        let r = render("First *para* here.\n\nSee [other](/guides/abc#fix).\n");
        assert_eq!(r.summary, "First para here.");
        assert_eq!(r.links.len(), 1);
        assert_eq!(r.links[0].dest, "/guides/abc#fix");
        assert!(r.text.contains("See other."));
    }

    #[test]
    fn ordered_steps_get_section_anchors_counted_across_the_section() {
        let r = render("## Fix\n\n1. One\n2. Two\n   - nested\n\nText.\n\n3. Three\n\n## Verify\n\n1. Check\n- not a step\n");
        assert!(r.html.contains("<li id=\"fix-1\">One</li>"), "{}", r.html);
        assert!(r.html.contains("<li id=\"fix-2\">Two"), "{}", r.html);
        assert!(r.html.contains("<li id=\"fix-3\">Three</li>"), "{}", r.html);
        assert!(
            r.html.contains("<li id=\"verify-1\">Check</li>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("<li>nested</li>"), "{}", r.html);
        assert!(r.html.contains("<li>not a step</li>"), "{}", r.html);
        assert_eq!(
            r.steps,
            vec![
                (
                    "fix".to_string(),
                    vec!["One".to_string(), "Two".to_string(), "Three".to_string()]
                ),
                ("verify".to_string(), vec!["Check".to_string()]),
            ]
        );
    }

    #[test]
    fn slugify_rules() {
        assert_eq!(slugify("  Fix: Step 3 (PLC)"), "fix-step-3-plc");
        assert_eq!(slugify("Überprüfen"), "berpr-fen");
        assert_eq!(slugify("!!!"), "section");
    }
}
