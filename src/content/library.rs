//! The library: every guide loaded and checked together (slugs, aliases, redirects, the
//! published list, links between guides), and the lookups routes use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::guide_file::{guide_link_slug, parse_guide, ParsedFile};
use super::*;

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

pub(super) fn list_guide_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ContentError> {
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
