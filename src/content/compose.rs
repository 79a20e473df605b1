//! A guide as the editor's form fields, and back to the file text faultbook reads. The text is
//! what is stored and exported; the fields are only how people edit it.

use serde::Serialize;

use super::frontmatter;

/// The editable parts of a guide. `to_text` writes them in the layout the shipped guides use,
/// so a guide saved in the browser and exported diffs cleanly against a hand-written one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GuideFields {
    pub title: String,
    pub platform: String,
    pub products: Vec<String>,
    pub alarms: Vec<String>,
    pub aliases: Vec<String>,
    /// `YYYY-MM-DD`; set to the day of the save.
    pub updated: String,
    pub level: String,
    pub minutes: String,
    /// `(title, url)` pairs.
    pub sources: Vec<(String, String)>,
    pub body: String,
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// Browsers send textarea lines with CRLF; files and diffs use LF.
pub fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

impl GuideFields {
    /// The whole guide file.
    pub fn to_text(&self) -> String {
        let mut out = String::from("+++\n");
        out.push_str(&format!("title = {}\n", quoted(self.title.trim())));
        out.push_str(&format!("platform = {}\n", quoted(self.platform.trim())));
        out.push_str(&format!("products = {}\n", list(&self.products)));
        out.push_str(&format!("alarms = {}\n", list(&self.alarms)));
        out.push_str(&format!("aliases = {}\n", list(&self.aliases)));
        // An unparseable date is written quoted, so the lint names it instead of the TOML parser
        // failing on the whole block.
        let updated = self.updated.trim();
        if chrono::NaiveDate::parse_from_str(updated, "%Y-%m-%d").is_ok() {
            out.push_str(&format!("updated = {updated}\n"));
        } else {
            out.push_str(&format!("updated = {}\n", quoted(updated)));
        }
        out.push_str(&format!("level = {}\n", quoted(self.level.trim())));
        out.push_str(&format!("minutes = {}\n", quoted(self.minutes.trim())));
        if self.sources.is_empty() {
            out.push_str("sources = []\n");
        } else {
            out.push_str("sources = [\n");
            for (title, url) in &self.sources {
                out.push_str(&format!(
                    "  {{ title = {}, url = {} }},\n",
                    quoted(title.trim()),
                    quoted(url.trim())
                ));
            }
            out.push_str("]\n");
        }
        out.push_str("+++\n\n");
        let body = normalise_newlines(&self.body);
        out.push_str(body.trim_matches('\n'));
        out.push('\n');
        out
    }

    /// Reads the fields back from a guide's text, leniently: a text the lint refuses still fills
    /// the form, so nothing of it is lost. `None` only when there is no front matter at all.
    pub fn from_text(text: &str) -> Option<GuideFields> {
        let split = frontmatter::split(text).ok()?;
        let table: toml::Table = split.front.parse().unwrap_or_default();
        let string = |key: &str| match table.get(key) {
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Datetime(d)) => d.to_string(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let strings = |key: &str| -> Vec<String> {
            table
                .get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let sources = table
            .get("sources")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .map(|s| {
                        let field = |k: &str| {
                            s.get(k)
                                .and_then(|v| v.as_str())
                                .unwrap_or_default()
                                .to_string()
                        };
                        (field("title"), field("url"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(GuideFields {
            title: string("title"),
            platform: string("platform"),
            products: strings("products"),
            alarms: strings("alarms"),
            aliases: strings("aliases"),
            updated: string("updated"),
            level: string("level"),
            minutes: string("minutes"),
            sources,
            body: split.body.trim_start_matches('\n').to_string(),
        })
    }

    /// The form's one-a-line text areas.
    pub fn lines(text: &str) -> Vec<String> {
        normalise_newlines(text)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Sources as the form shows them: the URL, a space, the title; one a line.
    pub fn sources_text(&self) -> String {
        self.sources
            .iter()
            .map(|(title, url)| format!("{url} {title}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads the sources text area: the first word of a line is the URL, the rest its title.
    pub fn parse_sources(text: &str) -> Vec<(String, String)> {
        Self::lines(text)
            .into_iter()
            .map(|l| match l.split_once(char::is_whitespace) {
                Some((url, title)) => (title.trim().to_string(), url.to_string()),
                None => (String::new(), l),
            })
            .collect()
    }
}

/// Lines added and removed between two texts, for the history list.
pub fn lines_changed(old: &str, new: &str) -> (i64, i64) {
    let diff = similar::TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

/// One line of a unified diff, as the history and conflict pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct DiffLine {
    /// `+`, `-` or a space.
    pub sign: char,
    pub text: String,
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
}

/// A diff grouped into hunks with three lines of context; `None` between hunks is a gap.
pub fn diff_lines(old: &str, new: &str) -> Vec<Option<DiffLine>> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            out.push(None);
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Equal => ' ',
                };
                out.push(Some(DiffLine {
                    sign,
                    text: change.value().trim_end_matches('\n').to_string(),
                    old_line: change.old_index().map(|i| i + 1),
                    new_line: change.new_index().map(|i| i + 1),
                }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_guide_reads_into_fields_and_back_to_a_text_the_lint_accepts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let lib = crate::content::Library::load(&dir).expect("shipped guides load");
        let mut sources = Vec::new();
        for g in lib.all() {
            let text = std::fs::read_to_string(dir.join(&g.path)).expect("guide file");
            let fields = GuideFields::from_text(&text).expect("front matter");
            let again = fields.to_text();
            assert_eq!(
                GuideFields::from_text(&again).as_ref(),
                Some(&fields),
                "{} does not survive the form",
                g.path
            );
            sources.push((g.path.clone(), again.into_bytes()));
        }
        let rewritten = crate::content::Library::from_parts(
            sources,
            std::fs::read_to_string(dir.join(crate::content::REDIRECTS_FILE)).ok(),
            std::fs::read_to_string(dir.join(crate::content::PUBLISHED_FILE)).ok(),
        )
        .expect("every guide written from its fields passes the lint");
        for g in lib.all() {
            let r = rewritten.get(&g.slug).expect("same slugs");
            assert_eq!(r.front, g.front);
            assert_eq!(r.html, g.html);
        }
    }

    #[test]
    fn sources_and_lines_read_from_text_areas_with_crlf() {
        assert_eq!(
            GuideFields::lines("a\r\n\r\n  b  \r\n"),
            vec!["a".to_string(), "b".to_string()]
        );
        assert_eq!(
            GuideFields::parse_sources("https://x.example/a  The A page\r\nowner/repo#3 Issue"),
            vec![
                ("The A page".to_string(), "https://x.example/a".to_string()),
                ("Issue".to_string(), "owner/repo#3".to_string())
            ]
        );
    }

    #[test]
    fn lines_changed_counts_what_a_diff_shows() {
        assert_eq!(lines_changed("a\nb\nc\n", "a\nB\nc\nd\n"), (2, 1));
        let d = diff_lines("a\nb\n", "a\nc\n");
        let signs: String = d.iter().flatten().map(|l| l.sign).collect();
        assert_eq!(signs, " -+");
    }
}
