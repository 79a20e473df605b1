//! TOML front matter between `+++` lines, checked key by key so that every fault names its line.

use chrono::NaiveDate;
use serde::Serialize;

use super::{ContentIssue, Platform};

/// Keys a guide may have; all are required.
pub const KEYS: [&str; 9] = [
    "title", "platform", "products", "alarms", "aliases", "updated", "level", "minutes", "sources",
];

/// One reference a guide rests on: `{ title = "…", url = "…" }` in `sources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub title: String,
    /// The URL as written: `https://…`, `http://…`, or GitHub shorthand `owner/repo#123`.
    pub url: String,
    /// The link target: `url` itself, or the GitHub issue URL for the shorthand.
    pub href: String,
}

/// The link a `sources` url stands for, or why it is not a well-formed url.
///
/// Accepted: `https://host/…` or `http://host/…` (host letters, digits, dots and dashes, with an
/// optional `:port`), and GitHub shorthand `owner/repo#123`, which becomes
/// `https://github.com/owner/repo/issues/123` (GitHub forwards pull-request numbers).
pub fn source_href(url: &str) -> Result<String, String> {
    if url.trim() != url || url.is_empty() {
        return Err("must not be empty or have spaces around it".into());
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"<>\\^`{|}".contains(c))
    {
        return Err("must not contain spaces, quotes, angle brackets or backslashes".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if let Some(rest) = rest {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host.is_empty() || !host.split('.').all(label_ok) {
            return Err("has no valid host after the scheme".into());
        }
        if port
            .is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("has a port that is not a number".into());
        }
        return Ok(url.to_string());
    }
    if url.contains("://") || url.starts_with("www.") {
        return Err("must start with https:// or http://".into());
    }
    let shorthand = url.split_once('/').and_then(|(owner, rest)| {
        let (repo, number) = rest.split_once('#')?;
        let owner_ok = (1..=39).contains(&owner.len())
            && !owner.starts_with('-')
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let repo_ok = (1..=100).contains(&repo.len())
            && repo != "."
            && repo != ".."
            && repo
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        let number_ok = !number.is_empty()
            && number.len() <= 9
            && !number.starts_with('0')
            && number.bytes().all(|b| b.is_ascii_digit());
        (owner_ok && repo_ok && number_ok)
            .then(|| format!("https://github.com/{owner}/{repo}/issues/{number}"))
    });
    shorthand.ok_or_else(|| {
        "is neither an https:// (or http://) URL nor GitHub shorthand like `owner/repo#123`".into()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Advanced => "advanced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrontMatter {
    pub title: String,
    pub platform: Platform,
    pub products: Vec<String>,
    pub alarms: Vec<String>,
    pub aliases: Vec<String>,
    pub updated: NaiveDate,
    pub level: Level,
    pub minutes: String,
    pub sources: Vec<Source>,
}

/// The split of a guide file: front matter text, body text, and the line the body starts on.
pub struct Split<'a> {
    pub front: &'a str,
    pub body: &'a str,
    /// 1-based line number of the first front-matter line (after the opening `+++`).
    pub front_first_line: usize,
    /// 1-based line number of the first body line.
    pub body_first_line: usize,
}

pub fn split(source: &str) -> Result<Split<'_>, (usize, String)> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = source.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "+++" => {}
        _ => {
            return Err((
                1,
                "a guide must start with a `+++` line opening its TOML front matter".into(),
            ))
        }
    }
    let front_start = source.find('\n').map_or(source.len(), |i| i + 1);
    let mut offset = front_start;
    for (line_no, line) in (2..).zip(lines) {
        if line.trim_end() == "+++" {
            let front = &source[front_start..offset];
            let body = &source[offset + line.len()..];
            return Ok(Split {
                front,
                body,
                front_first_line: 2,
                body_first_line: line_no + 1,
            });
        }
        offset += line.len();
    }
    Err((1, "front matter is not closed by a `+++` line".into()))
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count()
}

/// Finds the line of `key = ...` in the front matter, so faults point at the key itself.
pub fn key_line(front: &str, key: &str) -> Option<usize> {
    front.lines().position(|l| {
        let t = l.trim_start();
        t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}

/// Parses and checks front matter. `platform_dir` is the folder the file sits in.
pub fn parse(split: &Split<'_>, platform_dir: &str) -> Result<FrontMatter, Vec<ContentIssue>> {
    let base = split.front_first_line;
    let at = |line: usize, reason: String| ContentIssue { line, reason };
    let table: toml::Table = match split.front.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map_or(0, |s| line_of(split.front, s.start));
            return Err(vec![at(
                base + line,
                format!("front matter is not valid TOML: {}", e.message()),
            )]);
        }
    };
    let mut issues = Vec::new();
    let line_for = |key: &str| key_line(split.front, key).map_or(base - 1, |l| base + l);

    for key in table.keys() {
        if !KEYS.contains(&key.as_str()) {
            let hint = KEYS
                .iter()
                .filter(|k| strsim::levenshtein(k, key) <= 2)
                .min_by_key(|k| strsim::levenshtein(k, key))
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            issues.push(at(
                line_for(key),
                format!("unknown front-matter key `{key}`{hint}"),
            ));
        }
    }
    for key in KEYS {
        if !table.contains_key(key) {
            issues.push(at(
                base - 1,
                format!("missing required front-matter key `{key}`"),
            ));
        }
    }

    let string = |key: &str, issues: &mut Vec<ContentIssue>| -> Option<String> {
        match table.get(key)? {
            toml::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            toml::Value::String(_) => {
                issues.push(at(line_for(key), format!("`{key}` must not be empty")));
                None
            }
            _ => {
                issues.push(at(line_for(key), format!("`{key}` must be a string")));
                None
            }
        }
    };
    let list = |key: &str, issues: &mut Vec<ContentIssue>| -> Option<Vec<String>> {
        match table.get(key)? {
            toml::Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) if !s.trim().is_empty() => out.push(s.clone()),
                        _ => {
                            issues.push(at(
                                line_for(key),
                                format!("`{key}` must be a list of non-empty strings"),
                            ));
                            return None;
                        }
                    }
                }
                Some(out)
            }
            _ => {
                issues.push(at(
                    line_for(key),
                    format!("`{key}` must be a list of strings"),
                ));
                None
            }
        }
    };

    let title = string("title", &mut issues);
    let platform = string("platform", &mut issues).and_then(|p| match Platform::parse(&p) {
        Some(pl) if pl.as_str() == platform_dir => Some(pl),
        Some(pl) => {
            issues.push(at(
                line_for("platform"),
                format!(
                    "platform `{}` does not match the folder `{platform_dir}`",
                    pl.as_str()
                ),
            ));
            None
        }
        None => {
            issues.push(at(
                line_for("platform"),
                format!(
                    "platform `{p}` is not one of {}",
                    Platform::ALL.map(|p| p.as_str()).join(", ")
                ),
            ));
            None
        }
    });
    let products = list("products", &mut issues);
    let alarms = list("alarms", &mut issues);
    let aliases = list("aliases", &mut issues);
    if let Some(aliases) = &aliases {
        for a in aliases {
            if !super::is_valid_slug(a) {
                issues.push(at(
                    line_for("aliases"),
                    format!("alias `{a}` is not a valid slug (lower-case letters, digits, dashes)"),
                ));
            }
        }
    }
    let updated = match table.get("updated") {
        None => None,
        Some(toml::Value::Datetime(dt)) => match (dt.date, dt.time) {
            (Some(d), None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }
            _ => {
                issues.push(at(
                    line_for("updated"),
                    "`updated` must be a date like 2026-11-20, without a time".into(),
                ));
                None
            }
        },
        Some(_) => {
            issues.push(at(
                line_for("updated"),
                "`updated` must be a bare TOML date like 2026-11-20 (no quotes)".into(),
            ));
            None
        }
    };
    let level = string("level", &mut issues).and_then(|l| match l.as_str() {
        "beginner" => Some(Level::Beginner),
        "intermediate" => Some(Level::Intermediate),
        "advanced" => Some(Level::Advanced),
        other => {
            issues.push(at(
                line_for("level"),
                format!("level `{other}` is not one of beginner, intermediate, advanced"),
            ));
            None
        }
    });
    let minutes = string("minutes", &mut issues);
    let sources = table
        .get("sources")
        .and_then(|v| parse_sources(v, split, &mut issues));

    match (
        title, platform, products, alarms, aliases, updated, level, minutes, sources,
    ) {
        (
            Some(title),
            Some(platform),
            Some(products),
            Some(alarms),
            Some(aliases),
            Some(updated),
            Some(level),
            Some(minutes),
            Some(sources),
        ) if issues.is_empty() => Ok(FrontMatter {
            title,
            platform,
            products,
            alarms,
            aliases,
            updated,
            level,
            minutes,
            sources,
        }),
        _ => Err(issues),
    }
}

const SOURCES_SHAPE: &str =
    "`sources` must be a list like [{ title = \"Vendor manual\", url = \"https://…\" }]";

/// Checks `sources`: at least one entry, each `{ title, url }` with a non-empty title and a
/// well-formed url, no url twice. Each fault names the line of the entry it is about.
fn parse_sources(
    value: &toml::Value,
    split: &Split<'_>,
    issues: &mut Vec<ContentIssue>,
) -> Option<Vec<Source>> {
    let base = split.front_first_line;
    let key = key_line(split.front, "sources");
    let key_abs = key.map_or(base - 1, |l| base + l);
    // The line of the first unclaimed `needle` at or after the key, so each entry gets its own line.
    let mut claimed: Vec<usize> = Vec::new();
    let mut line_of = |needle: &str| -> usize {
        if needle.is_empty() {
            return key_abs;
        }
        let found = split
            .front
            .lines()
            .enumerate()
            .skip(key.unwrap_or(0))
            .find(|(i, l)| l.contains(needle) && !claimed.contains(i))
            .map(|(i, _)| i);
        match found {
            Some(i) => {
                claimed.push(i);
                base + i
            }
            None => key_abs,
        }
    };
    let at = |line: usize, reason: String| ContentIssue { line, reason };
    let Some(items) = value.as_array() else {
        issues.push(at(key_abs, SOURCES_SHAPE.into()));
        return None;
    };
    if items.is_empty() {
        issues.push(at(
            key_abs,
            "`sources` is empty: every guide needs at least one source { title = \"…\", url = \"https://…\" }".into(),
        ));
        return None;
    }
    let before = issues.len();
    let mut out: Vec<Source> = Vec::with_capacity(items.len());
    for (n, item) in (1..).zip(items) {
        let Some(entry) = item.as_table() else {
            issues.push(at(key_abs, format!("source {n}: {SOURCES_SHAPE}")));
            continue;
        };
        let text = |k: &str| entry.get(k).and_then(toml::Value::as_str).unwrap_or("");
        let (title, url) = (text("title"), text("url"));
        let line = line_of(if url.is_empty() { title } else { url });
        for k in entry.keys() {
            if k != "title" && k != "url" {
                issues.push(at(
                    line,
                    format!("source {n}: unknown key `{k}` (a source has only `title` and `url`)"),
                ));
            }
        }
        match entry.get("title") {
            Some(toml::Value::String(t)) if !t.trim().is_empty() => {}
            Some(toml::Value::String(_)) | None => {
                issues.push(at(line, format!("source {n}: `title` is missing or empty")))
            }
            Some(_) => issues.push(at(line, format!("source {n}: `title` must be a string"))),
        }
        let href = match entry.get("url") {
            Some(toml::Value::String(u)) => match source_href(u) {
                Ok(h) => Some(h),
                Err(why) => {
                    issues.push(at(line, format!("source {n}: url `{u}` {why}")));
                    None
                }
            },
            None => {
                issues.push(at(line, format!("source {n}: `url` is missing")));
                None
            }
            Some(_) => {
                issues.push(at(line, format!("source {n}: `url` must be a string")));
                None
            }
        };
        if let Some(href) = href {
            if out.iter().any(|s| s.href == href) {
                issues.push(at(line, format!("source {n}: url `{url}` is listed twice")));
            }
            out.push(Source {
                title: title.trim().to_string(),
                url: url.to_string(),
                href,
            });
        }
    }
    (issues.len() == before).then_some(out)
}

#[cfg(test)]
#[path = "frontmatter_tests.rs"]
mod tests;
