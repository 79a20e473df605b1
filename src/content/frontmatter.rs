//! TOML front matter between `+++` lines, checked key by key so that every fault names its line.

use chrono::NaiveDate;
use serde::Serialize;

use super::{ContentIssue, Platform};

/// Keys a guide may have; all are required.
pub const KEYS: [&str; 8] = [
    "title", "platform", "products", "alarms", "aliases", "updated", "level", "minutes",
];

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

#[derive(Debug, Clone, Serialize)]
pub struct FrontMatter {
    pub title: String,
    pub platform: Platform,
    pub products: Vec<String>,
    pub alarms: Vec<String>,
    pub aliases: Vec<String>,
    pub updated: NaiveDate,
    pub level: Level,
    pub minutes: String,
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

    match (
        title, platform, products, alarms, aliases, updated, level, minutes,
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
        ) if issues.is_empty() => Ok(FrontMatter {
            title,
            platform,
            products,
            alarms,
            aliases,
            updated,
            level,
            minutes,
        }),
        _ => Err(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++\ntitle = \"T\"\nplatform = \"ignition\"\nproducts = [\"Ignition 8.1\"]\nalarms = [\"Bad_Timeout\"]\naliases = []\nupdated = 2026-11-20\nlevel = \"beginner\"\nminutes = \"5-30\"\n+++\n\n## Symptom\n";

    #[test]
    fn parses_good_front_matter() {
        let s = split(GOOD).unwrap();
        assert_eq!(s.body_first_line, 11);
        let fm = parse(&s, "ignition").unwrap();
        assert_eq!(fm.title, "T");
        assert_eq!(fm.updated.to_string(), "2026-11-20");
    }

    #[test]
    fn misspelt_key_is_named_with_line_and_hint() {
        let src = GOOD.replace("minutes =", "minuts =");
        let s = split(&src).unwrap();
        let issues = parse(&s, "ignition").unwrap_err();
        let unknown = issues.iter().find(|i| i.reason.contains("minuts")).unwrap();
        assert_eq!(unknown.line, 9);
        assert!(unknown.reason.contains("did you mean `minutes`"));
        assert!(issues.iter().any(|i| i
            .reason
            .contains("missing required front-matter key `minutes`")));
    }

    #[test]
    fn wrong_platform_and_level() {
        let src = GOOD
            .replace("\"ignition\"", "\"citect\"")
            .replace("\"beginner\"", "\"expert\"");
        let s = split(&src).unwrap();
        let issues = parse(&s, "ignition").unwrap_err();
        assert!(issues
            .iter()
            .any(|i| i.line == 3 && i.reason.contains("citect")));
        assert!(issues
            .iter()
            .any(|i| i.line == 8 && i.reason.contains("expert")));
    }

    #[test]
    fn toml_syntax_error_has_line() {
        let src = GOOD.replace("aliases = []", "aliases = [");
        let s = split(&src).unwrap();
        let issues = parse(&s, "ignition").unwrap_err();
        assert!(issues[0].reason.contains("not valid TOML"));
        assert!(issues[0].line >= 6, "{:?}", issues);
    }

    #[test]
    fn unclosed_front_matter() {
        assert!(split("+++\ntitle = \"x\"\n").is_err());
        assert!(split("title = \"x\"\n").is_err());
    }
}
