//! Guides: loading `content/<platform>/<slug>.md`, front matter, section rules, Markdown rendering.

pub mod frontmatter;
pub mod markdown;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use frontmatter::{FrontMatter, Level};

/// The five platforms faultbook knows. The folder names under `content/` are these ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Factorytalk,
    Wonderware,
    Ignition,
    Wincc,
    Proficy,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Factorytalk,
        Platform::Wonderware,
        Platform::Ignition,
        Platform::Wincc,
        Platform::Proficy,
    ];

    pub fn parse(s: &str) -> Option<Platform> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Factorytalk => "factorytalk",
            Platform::Wonderware => "wonderware",
            Platform::Ignition => "ignition",
            Platform::Wincc => "wincc",
            Platform::Proficy => "proficy",
        }
    }

    /// The name people use on the floor.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Factorytalk => "Rockwell FactoryTalk",
            Platform::Wonderware => "AVEVA Wonderware",
            Platform::Ignition => "Inductive Automation Ignition",
            Platform::Wincc => "Siemens WinCC",
            Platform::Proficy => "GE Proficy",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level-2 sections every guide has, in this order, with exactly these anchors.
pub const REQUIRED_SECTIONS: [&str; 6] =
    ["Symptom", "Cause", "Diagnose", "Fix", "Verify", "Rollback"];
/// Sections a guide may add after Rollback, in this order.
pub const OPTIONAL_SECTIONS: [&str; 2] = ["Prevent", "Unverified"];
/// The anchor of the list rendered from the front-matter `sources`, after the body.
pub const REFERENCES_ID: &str = "references";

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Guide {
    pub slug: String,
    /// Path relative to the content folder, e.g. `ignition/foo.md`.
    pub path: String,
    pub front: FrontMatter,
    pub html: String,
    /// Level-2 sections, for the table of contents.
    pub sections: Vec<Section>,
    pub text: String,
    pub summary: String,
}

impl Guide {
    pub fn url(&self) -> String {
        format!("/guides/{}", self.slug)
    }
}

/// One fault in a guide file, reported as `path:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentIssue {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedIssue {
    pub path: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LocatedIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot read the content folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} fault(s) in the guides:\n{}", .0.len(), .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<LocatedIssue>),
}

/// What `Library::resolve` finds for a slug.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    Current(&'a Guide),
    /// An alias or a `redirects.toml` entry: answer 301 to this slug (and section).
    Moved {
        slug: &'a str,
        anchor: Option<&'a str>,
    },
}

impl Resolved<'_> {
    /// The path of a move, with `suffix` (e.g. `/cases/new?cell=3`) before the anchor.
    pub fn moved_path(&self, prefix: &str, suffix: &str) -> Option<String> {
        match self {
            Resolved::Current(_) => None,
            Resolved::Moved { slug, anchor } => Some(match anchor {
                Some(a) => format!("{prefix}{slug}{suffix}#{a}"),
                None => format!("{prefix}{slug}{suffix}"),
            }),
        }
    }
}

pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 120
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Every guide, loaded and checked, with lookups by slug and alias.
#[derive(Debug, Default)]
pub struct Library {
    guides: Vec<Guide>,
    by_slug: HashMap<String, usize>,
    aliases: HashMap<String, String>,
    /// Old slug -> `slug` or `slug#anchor` of the guide that took its place.
    redirects: HashMap<String, String>,
    /// SHA-256 over every guide file's path and bytes: changes whenever any guide changes.
    pub content_hash: String,
}

impl Library {
    /// Loads every guide under `dir`; any fault in any file refuses the whole folder.
    pub fn load(dir: &Path) -> Result<Library, ContentError> {
        let files = list_guide_files(dir)?;
        let mut sources = Vec::with_capacity(files.len());
        for (rel, abs) in files {
            let bytes = std::fs::read(&abs).map_err(|source| ContentError::Io {
                path: abs.clone(),
                source,
            })?;
            sources.push((rel, bytes));
        }
        let optional = |name: &str| -> Result<Option<String>, ContentError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(s) => Ok(Some(s)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(ContentError::Io { path, source }),
            }
        };
        Library::from_parts(
            sources,
            optional(REDIRECTS_FILE)?,
            optional(PUBLISHED_FILE)?,
        )
    }

    /// Builds a library from `(relative path, file bytes)` pairs; used by `load` and by tests.
    pub fn from_sources(sources: Vec<(String, Vec<u8>)>) -> Result<Library, ContentError> {
        Library::from_parts(sources, None, None)
    }

    /// Builds a library from guide files plus the optional `redirects.toml` and
    /// `published-slugs.txt` texts.
    pub fn from_parts(
        mut sources: Vec<(String, Vec<u8>)>,
        redirects: Option<String>,
        published: Option<String>,
    ) -> Result<Library, ContentError> {
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        let mut issues = Vec::new();
        let mut parsed: Vec<ParsedFile> = Vec::new();

        for (name, text) in [(REDIRECTS_FILE, &redirects), (PUBLISHED_FILE, &published)] {
            if let Some(t) = text {
                hasher.update(name.as_bytes());
                hasher.update(t.as_bytes());
            }
        }
        for (rel, bytes) in &sources {
            hasher.update(rel.as_bytes());
            hasher.update([0]);
            hasher.update(bytes);
            hasher.update([0]);
            let mut file = parse_guide(rel, bytes);
            issues.append(&mut file.issues);
            parsed.push(file);
        }

        let mut lib = Library {
            content_hash: hex::encode(hasher.finalize()),
            ..Library::default()
        };
        // Every name a link may use: slugs first, then aliases, so duplicates name the earlier owner.
        let mut owner: HashMap<String, String> = HashMap::new();
        for f in &parsed {
            if let Some(prev) = owner.insert(f.slug.clone(), f.path.clone()) {
                issues.push(LocatedIssue {
                    path: f.path.clone(),
                    line: 1,
                    reason: format!("duplicate slug `{}`: also used by {prev}", f.slug),
                });
            }
        }
        for f in &parsed {
            for (line, alias) in &f.aliases {
                if let Some(prev) = owner.insert(alias.clone(), f.path.clone()) {
                    issues.push(LocatedIssue {
                        path: f.path.clone(),
                        line: *line,
                        reason: format!(
                            "duplicate alias `{alias}`: also a slug or alias of {prev}"
                        ),
                    });
                }
            }
        }
        let moved = parse_redirects(redirects.as_deref(), &owner, &parsed, &mut issues);
        for (old, _) in &moved {
            owner
                .entry(old.clone())
                .or_insert_with(|| REDIRECTS_FILE.to_string());
        }
        if let Some(text) = &published {
            check_published(text, &owner, &parsed, &mut issues);
        }
        for f in &parsed {
            for (line, dest) in &f.links {
                if let Some(target) = guide_link_slug(dest) {
                    if !owner.contains_key(target) {
                        issues.push(LocatedIssue {
                            path: f.path.clone(),
                            line: *line,
                            reason: format!(
                                "broken link to another guide: `{dest}` (no guide `{target}`)"
                            ),
                        });
                    }
                }
            }
        }
        if !issues.is_empty() {
            issues.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
            return Err(ContentError::Invalid(issues));
        }

        lib.redirects = moved.into_iter().collect();
        for g in parsed.into_iter().filter_map(|f| f.guide) {
            for alias in &g.front.aliases {
                lib.aliases.insert(alias.clone(), g.slug.clone());
            }
            lib.by_slug.insert(g.slug.clone(), lib.guides.len());
            lib.guides.push(g);
        }
        Ok(lib)
    }

    pub fn all(&self) -> &[Guide] {
        &self.guides
    }

    /// `(slug, title)` of every guide, for choosing one in a form.
    pub fn choices(&self) -> Vec<(String, String)> {
        self.guides
            .iter()
            .map(|g| (g.slug.clone(), g.front.title.clone()))
            .collect()
    }

    pub fn get(&self, slug: &str) -> Option<&Guide> {
        self.by_slug.get(slug).map(|&i| &self.guides[i])
    }

    /// What a slug in a URL names: a guide, or where a renamed, merged or retired guide lives
    /// now. Every route that takes a slug asks this, so old links keep working everywhere.
    pub fn resolve<'a>(&'a self, slug: &str) -> Option<Resolved<'a>> {
        if let Some(guide) = self.get(slug) {
            return Some(Resolved::Current(guide));
        }
        if let Some(current) = self.aliases.get(slug) {
            return Some(Resolved::Moved {
                slug: current,
                anchor: None,
            });
        }
        let target = self.redirects.get(slug)?;
        let (slug, anchor) = match target.split_once('#') {
            Some((s, a)) => (s, Some(a)),
            None => (target.as_str(), None),
        };
        Some(Resolved::Moved { slug, anchor })
    }

    /// The current slug for an earlier slug kept in some guide's `aliases`.
    pub fn resolve_alias(&self, slug: &str) -> Option<&str> {
        self.aliases.get(slug).map(String::as_str)
    }

    /// The guide a slug leads to, following a move.
    pub fn find(&self, slug: &str) -> Option<&Guide> {
        match self.resolve(slug)? {
            Resolved::Current(g) => Some(g),
            Resolved::Moved { slug, .. } => self.get(slug),
        }
    }

    pub fn by_platform(&self) -> BTreeMap<Platform, Vec<&Guide>> {
        let mut map: BTreeMap<Platform, Vec<&Guide>> =
            Platform::ALL.into_iter().map(|p| (p, Vec::new())).collect();
        for g in &self.guides {
            map.entry(g.front.platform).or_default().push(g);
        }
        for list in map.values_mut() {
            list.sort_by(|a, b| a.front.title.cmp(&b.front.title));
        }
        map
    }

    /// Newest first, by `updated`, then title.
    pub fn latest(&self, n: usize) -> Vec<&Guide> {
        let mut all: Vec<&Guide> = self.guides.iter().collect();
        all.sort_by(|a, b| {
            b.front
                .updated
                .cmp(&a.front.updated)
                .then_with(|| a.front.title.cmp(&b.front.title))
        });
        all.truncate(n);
        all
    }
}

/// Redirects for merged and retired guides, `content/redirects.toml`.
pub const REDIRECTS_FILE: &str = "redirects.toml";
/// Every slug ever published, one a line, only ever appended to: `content/published-slugs.txt`.
pub const PUBLISHED_FILE: &str = "published-slugs.txt";

fn parse_redirects(
    text: Option<&str>,
    owner: &HashMap<String, String>,
    parsed: &[ParsedFile],
    issues: &mut Vec<LocatedIssue>,
) -> Vec<(String, String)> {
    let Some(text) = text else { return Vec::new() };
    let at = |line: usize, reason: String| LocatedIssue {
        path: REDIRECTS_FILE.to_string(),
        line,
        reason,
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e
                .span()
                .map_or(1, |s| text[..s.start].matches('\n').count() + 1);
            issues.push(at(line, format!("not valid TOML: {}", e.message())));
            return Vec::new();
        }
    };
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().trim_start_matches('"').starts_with(key))
            .map_or(1, |i| i + 1)
    };
    let mut out = Vec::new();
    for (key, value) in &table {
        if key != "redirects" {
            issues.push(at(
                line_of(key),
                format!("unknown key `{key}`: entries go under [redirects]"),
            ));
            continue;
        }
        let Some(entries) = value.as_table() else {
            issues.push(at(
                line_of(key),
                "[redirects] must be a table of \"old-slug\" = \"new-slug\"".into(),
            ));
            continue;
        };
        for (old, target) in entries {
            let line = line_of(old);
            let Some(target) = target.as_str() else {
                issues.push(at(line, format!("redirect for `{old}` must be a string")));
                continue;
            };
            let target_slug = target.split('#').next().unwrap_or("");
            if owner.contains_key(old) {
                issues.push(at(line, format!("`{old}` is still a guide or an alias; a redirect is only for slugs that are gone")));
            } else if !parsed.iter().any(|f| f.slug == target_slug) {
                issues.push(at(
                    line,
                    format!("redirect `{old}` points at `{target}`, which is not a guide"),
                ));
            } else {
                out.push((old.clone(), target.to_string()));
            }
        }
    }
    out
}

/// Every published slug must keep resolving, and every guide's slug must be in the list.
fn check_published(
    text: &str,
    resolvable: &HashMap<String, String>,
    parsed: &[ParsedFile],
    issues: &mut Vec<LocatedIssue>,
) {
    let mut listed = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let slug = line.split('#').next().unwrap_or("").trim();
        if slug.is_empty() {
            continue;
        }
        listed.insert(slug.to_string());
        if !resolvable.contains_key(slug) {
            issues.push(LocatedIssue {
                path: PUBLISHED_FILE.to_string(),
                line: i + 1,
                reason: format!(
                    "published slug `{slug}` no longer resolves: keep it in the `aliases` of the guide that replaced it, or add it to {REDIRECTS_FILE}"
                ),
            });
        }
    }
    for f in parsed {
        if !listed.contains(&f.slug) {
            issues.push(LocatedIssue {
                path: f.path.clone(),
                line: 1,
                reason: format!(
                    "slug `{}` is not in {PUBLISHED_FILE}: append it (the list only grows)",
                    f.slug
                ),
            });
        }
    }
}

/// `/guides/<slug>` links (with or without a fragment) name another guide; other links are not ours.
fn guide_link_slug(dest: &str) -> Option<&str> {
    let rest = dest.strip_prefix("/guides/")?;
    let end = rest.find(['#', '?', '/']).unwrap_or(rest.len());
    let slug = &rest[..end];
    (!slug.is_empty()).then_some(slug)
}

fn list_guide_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ContentError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ContentError::Io { path, source }
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let sub = entry.path();
        if !sub.is_dir() {
            continue;
        }
        let Some(folder) = sub.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        for file in std::fs::read_dir(&sub).map_err(io(&sub))? {
            let file = file.map_err(io(&sub))?;
            let path = file.path();
            if path.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let name = file.file_name().to_string_lossy().into_owned();
            out.push((format!("{folder}/{name}"), path));
        }
    }
    Ok(out)
}

/// What one file yields: the guide when it has no faults, and always what the cross-file checks need.
struct ParsedFile {
    path: String,
    slug: String,
    guide: Option<Guide>,
    /// `(line, alias)` for each alias in the front matter.
    aliases: Vec<(usize, String)>,
    /// `(line, dest)` for each `/guides/` link in the body.
    links: Vec<(usize, String)>,
    issues: Vec<LocatedIssue>,
}

fn parse_guide(rel: &str, bytes: &[u8]) -> ParsedFile {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn guide(platform: &str, extra_front: &str, body: &str) -> Vec<u8> {
        format!(
            "+++\ntitle = \"T\"\nplatform = \"{platform}\"\nproducts = []\nalarms = []\naliases = []{extra_front}\nupdated = 2026-11-20\nlevel = \"beginner\"\nminutes = \"5\"\nsources = [{{ title = \"Manual\", url = \"https://example.com/manual\" }}]\n+++\n{body}"
        )
        .into_bytes()
    }

    const BODY: &str = "\n## Symptom\n\ns\n\n## Cause\n\nc\n\n## Diagnose\n\nd\n\n## Fix\n\nf\n\n## Verify\n\nv\n\n## Rollback\n\nr\n";

    fn issues(result: Result<Library, ContentError>) -> Vec<String> {
        match result {
            Err(ContentError::Invalid(i)) => i.iter().map(|i| i.to_string()).collect(),
            Err(e) => vec![e.to_string()],
            Ok(_) => vec![],
        }
    }

    #[test]
    fn good_guide_loads_with_sections() {
        let lib =
            Library::from_sources(vec![("wincc/a-b.md".into(), guide("wincc", "", BODY))]).unwrap();
        let g = lib.get("a-b").unwrap();
        let ids: Vec<_> = g.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["symptom", "cause", "diagnose", "fix", "verify", "rollback"]
        );
    }

    #[test]
    fn missing_and_out_of_order_sections() {
        let body = BODY.replace("## Cause\n\nc\n\n", "").replace(
            "## Verify\n\nv\n\n## Rollback",
            "## Rollback\n\nr\n\n## Verify",
        );
        let found = issues(Library::from_sources(vec![(
            "wincc/a.md".into(),
            guide("wincc", "", &body),
        )]));
        assert!(
            found.iter().any(|i| i.contains("`## Cause` is missing")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|i| i.contains("`## Verify` is out of order")),
            "{found:?}"
        );
        assert!(found.iter().all(|i| i.starts_with("wincc/a.md:")));
    }

    #[test]
    fn broken_link_duplicate_slug_and_alias() {
        let a = guide(
            "wincc",
            "",
            &format!("{BODY}\nSee [b](/guides/nope#fix).\n"),
        );
        let b = guide("proficy", "", BODY);
        let c = guide("ignition", "\naliases2 = 1", BODY);
        let found = issues(Library::from_sources(vec![
            ("wincc/a.md".into(), a),
            ("proficy/a.md".into(), b),
            ("ignition/c.md".into(), c),
        ]));
        assert!(
            found
                .iter()
                .any(|i| i.starts_with("wincc/a.md:37: broken link")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|i| i.contains("duplicate slug `a`")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|i| i.starts_with("ignition/c.md:7: unknown front-matter key `aliases2`")),
            "{found:?}"
        );
    }

    #[test]
    fn sources_are_required_and_body_sources_section_is_refused() {
        let no_sources = String::from_utf8(guide("wincc", "", BODY))
            .unwrap()
            .replace(
                "sources = [{ title = \"Manual\", url = \"https://example.com/manual\" }]\n",
                "",
            );
        let found = issues(Library::from_sources(vec![(
            "wincc/no-sources.md".into(),
            no_sources.into_bytes(),
        )]));
        assert!(
            found.iter().any(|i| i.starts_with("wincc/no-sources.md:")
                && i.contains("missing required front-matter key `sources`")),
            "{found:?}"
        );

        let bad_url = String::from_utf8(guide("wincc", "", BODY))
            .unwrap()
            .replace("https://example.com/manual", "example.com/manual");
        let found = issues(Library::from_sources(vec![(
            "wincc/bad-url.md".into(),
            bad_url.into_bytes(),
        )]));
        assert!(
            found
                .iter()
                .any(|i| i.starts_with("wincc/bad-url.md:10: source 1: url `example.com/manual`")),
            "{found:?}"
        );

        let body = format!("{BODY}\n## Sources\n\n- a manual\n\n### References\n");
        let found = issues(Library::from_sources(vec![(
            "wincc/old.md".into(),
            guide("wincc", "", &body),
        )]));
        assert!(
            found.iter().any(
                |i| i.starts_with("wincc/old.md:37: `## Sources` in the body")
                    && i.contains("front-matter key `sources`")
            ),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|i| i.starts_with("wincc/old.md:41: heading `References`")),
            "{found:?}"
        );
    }

    #[test]
    fn folder_must_be_a_platform() {
        let found = issues(Library::from_sources(vec![(
            "citect/a.md".into(),
            guide("wincc", "", BODY),
        )]));
        assert!(
            found[0].starts_with("citect/a.md:1: folder `citect`"),
            "{found:?}"
        );
    }
}
