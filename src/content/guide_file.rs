//! One guide file: front matter, body, section rules and the faults found, each with its line.

use super::*;

/// `/guides/<slug>` links (with or without a fragment) name another guide; other links are not ours.
pub(super) fn guide_link_slug(dest: &str) -> Option<&str> {
    let rest = dest.strip_prefix("/guides/")?;
    let end = rest.find(['#', '?', '/']).unwrap_or(rest.len());
    let slug = &rest[..end];
    (!slug.is_empty()).then_some(slug)
}

/// What one file yields: the guide when it has no faults, and always what the cross-file checks need.
pub(super) struct ParsedFile {
    pub(super) path: String,
    pub(super) slug: String,
    pub(super) guide: Option<Guide>,
    /// `(line, alias)` for each alias in the front matter.
    pub(super) aliases: Vec<(usize, String)>,
    /// `(line, dest)` for each `/guides/` link in the body.
    pub(super) links: Vec<(usize, String)>,
    pub(super) issues: Vec<LocatedIssue>,
}

pub(super) fn parse_guide(rel: &str, bytes: &[u8]) -> ParsedFile {
    let (folder, file) = rel.split_once('/').unwrap_or(("", rel));
    let slug = file.trim_end_matches(".md").to_string();
    let mut out = ParsedFile {
        path: rel.to_string(),
        slug: slug.clone(),
        guide: None,
        aliases: Vec::new(),
        links: Vec::new(),
        issues: Vec::new(),
    };
    let mut issues: Vec<ContentIssue> = Vec::new();
    let finish = |mut out: ParsedFile, issues: Vec<ContentIssue>| {
        out.issues = issues
            .into_iter()
            .map(|i| LocatedIssue {
                path: rel.to_string(),
                line: i.line.max(1),
                reason: i.reason,
            })
            .collect();
        out
    };

    if Platform::parse(folder).is_none() {
        issues.push(ContentIssue {
            line: 1,
            reason: format!(
                "folder `{folder}` is not a platform; guides live in content/<platform>/ with platform one of {}",
                Platform::ALL.map(|p| p.as_str()).join(", ")
            ),
        });
        return finish(out, issues);
    }
    if !is_valid_slug(&slug) {
        issues.push(ContentIssue {
            line: 1,
            reason: format!(
                "file name `{slug}` is not a valid slug (lower-case letters, digits, dashes)"
            ),
        });
    }
    let source = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            issues.push(ContentIssue {
                line,
                reason: "file is not valid UTF-8".into(),
            });
            return finish(out, issues);
        }
    };
    let split = match frontmatter::split(source) {
        Ok(s) => s,
        Err((line, reason)) => {
            issues.push(ContentIssue { line, reason });
            return finish(out, issues);
        }
    };
    let front = match frontmatter::parse(&split, folder) {
        Ok(f) => Some(f),
        Err(mut found) => {
            issues.append(&mut found);
            None
        }
    };
    let rendered = markdown::render(split.body);
    let body_line = |offset: usize| {
        split.body_first_line
            + split.body[..offset.min(split.body.len())]
                .matches('\n')
                .count()
    };
    issues.extend(check_sections(
        &rendered.headings,
        split.body_first_line,
        &body_line,
    ));
    out.links = rendered
        .links
        .iter()
        .filter(|l| l.dest.starts_with("/guides/"))
        .map(|l| (body_line(l.offset), l.dest.clone()))
        .collect();
    if let Some(front) = &front {
        let line =
            frontmatter::key_line(split.front, "aliases").map_or(1, |l| split.front_first_line + l);
        out.aliases = front.aliases.iter().map(|a| (line, a.clone())).collect();
    }

    match front {
        Some(front) if issues.is_empty() => {
            let verify_id = rendered
                .headings
                .iter()
                .find(|h| h.level == 2 && h.title == "Verify")
                .map(|h| h.id.clone());
            let verify_steps = rendered
                .steps
                .iter()
                .find(|(id, _)| Some(id) == verify_id.as_ref())
                .map(|(_, steps)| steps.clone())
                .unwrap_or_default();
            let sections = rendered
                .headings
                .iter()
                .filter(|h| h.level == 2)
                .map(|h| Section {
                    id: h.id.clone(),
                    title: h.title.clone(),
                })
                .collect();
            out.guide = Some(Guide {
                slug,
                path: rel.to_string(),
                front,
                html: rendered.html,
                sections,
                text: rendered.text,
                summary: rendered.summary,
                verify_steps,
            });
            out
        }
        _ => finish(out, issues),
    }
}

fn check_sections(
    headings: &[markdown::Heading],
    body_first_line: usize,
    body_line: &dyn Fn(usize) -> usize,
) -> Vec<ContentIssue> {
    let mut issues = Vec::new();
    let order: Vec<&str> = REQUIRED_SECTIONS
        .iter()
        .chain(OPTIONAL_SECTIONS.iter())
        .copied()
        .collect();
    let mut next_required = 0;
    let mut last_pos: Option<usize> = None;
    for h in headings {
        let line = body_line(h.offset);
        if h.level == 1 {
            issues.push(ContentIssue {
                line,
                reason:
                    "level-1 heading: the title comes from the front matter; use `## ` for sections"
                        .into(),
            });
            continue;
        }
        if h.id == REFERENCES_ID {
            issues.push(ContentIssue {
                line,
                reason: format!(
                    "heading `{}` takes the anchor `{REFERENCES_ID}`, which belongs to the list rendered from the front-matter `sources`; rename it",
                    h.title
                ),
            });
            continue;
        }
        if h.level != 2 {
            continue;
        }
        if h.title.eq_ignore_ascii_case("Sources") {
            issues.push(ContentIssue {
                line,
                reason: "`## Sources` in the body is replaced by the front-matter key `sources`: move each entry there as { title = \"…\", url = \"https://…\" } (or url = \"owner/repo#123\" for a GitHub issue) and delete the section".into(),
            });
            continue;
        }
        let Some(pos) = order.iter().position(|s| s.eq_ignore_ascii_case(&h.title)) else {
            issues.push(ContentIssue {
                line,
                reason: format!(
                    "unknown section `## {}`: sections are {} (then optionally {})",
                    h.title,
                    REQUIRED_SECTIONS.join(", "),
                    OPTIONAL_SECTIONS.join(", ")
                ),
            });
            continue;
        };
        if last_pos.is_some_and(|p| pos <= p) {
            issues.push(ContentIssue {
                line,
                reason: format!(
                    "section `## {}` is out of order or repeated: the order is {}, {}",
                    h.title,
                    REQUIRED_SECTIONS.join(", "),
                    OPTIONAL_SECTIONS.join(", ")
                ),
            });
            continue;
        }
        if h.id != order[pos].to_ascii_lowercase() {
            issues.push(ContentIssue {
                line,
                reason: format!(
                    "section `## {}` must have the anchor `{}`",
                    h.title,
                    order[pos].to_ascii_lowercase()
                ),
            });
        }
        while next_required < REQUIRED_SECTIONS.len() && next_required < pos {
            issues.push(ContentIssue {
                line,
                reason: format!(
                    "required section `## {}` is missing before `## {}`",
                    REQUIRED_SECTIONS[next_required], h.title
                ),
            });
            next_required += 1;
        }
        if pos < REQUIRED_SECTIONS.len() {
            next_required = pos + 1;
        }
        last_pos = Some(pos);
    }
    let end_line = headings
        .last()
        .map_or(body_first_line, |h| body_line(h.offset));
    for missing in &REQUIRED_SECTIONS[next_required..] {
        issues.push(ContentIssue {
            line: end_line,
            reason: format!("required section `## {missing}` is missing"),
        });
    }
    issues
}
