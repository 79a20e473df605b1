//! Text as phone OCR reads an alarm banner, or as it is pasted from one: hex prefixes read as
//! `Ox` or `8x`, zeros read as `O`, `I` read as `l`, the underscore of `Bad_Timeout` lost. The
//! search reads such text the way the banner meant it, under one rule: never invent a code. A
//! misread is corrected only to the one known code or name it can be; when it could be two, or
//! none, the search says so and uses no code.

mod hex;
#[cfg(test)]
mod tests;

use hex::{confusable, describe, HexWord};

use super::classic;
use super::status::{self, log_words};

/// Most capitalised words joined after `Bad`, `Good` or `Uncertain` (`Bad Connection Rejected`).
const MAX_JOINED_WORDS: usize = 5;
/// Letters after the severity a name needs to be matched by its look (`l` for `I`)...
const MIN_FOLD_LETTERS: usize = 4;
/// ...and to be matched within an edit distance: short names are too close to each other.
const MIN_EDIT_LETTERS: usize = 8;
/// Letters after the severity from which two edits are allowed instead of one.
const TWO_EDIT_LETTERS: usize = 16;
/// Most names of one input matched by edit distance, which walks every name: a pasted wall of
/// `Bad…` words costs no more than a few.
const MAX_EDIT_LOOKUPS: usize = 32;
/// Words of an alarm banner's line; a longer line is a log line or prose.
const BANNER_WORDS: usize = 8;
const SEVERITIES: [&str; 3] = ["Uncertain", "Good", "Bad"];

/// A known code, as a note names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCode {
    pub name: String,
    pub hex: String,
}

/// How one piece of the input was read as a code or alarm name, in words for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeReading {
    /// The input as it came: `Ox80ACOOOO`.
    pub from: String,
    /// What the search used instead (`0x80AC0000`, `Bad_NodeIdUnknown`); None when it used no
    /// code for it.
    pub read_as: Option<String>,
    /// Known codes it could equally be: more than one, so none was chosen.
    pub ambiguous: Vec<KnownCode>,
    /// For a value no known code explains: the known codes differing in the fewest digits.
    pub nearest: Vec<KnownCode>,
    pub note: String,
}

impl CodeReading {
    /// The known codes the tech may have meant, when the search used none.
    pub fn candidates(&self) -> &[KnownCode] {
        if self.ambiguous.is_empty() {
            &self.nearest
        } else {
            &self.ambiguous
        }
    }
}

/// The input as the search reads it, and what was read differently from how it was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub text: String,
    pub codes: Vec<CodeReading>,
}

struct Name {
    /// As the search writes it: `Bad_NodeIdUnknown`, or a guide's `Bad_Stale`.
    spelled: String,
    folded: String,
    letters: usize,
}

/// The names a misread name may be taken for: every status name of the OPC UA table and each
/// `Bad…`, `Good…` or `Uncertain…` identifier a guide lists among its alarms.
pub struct Lexicon {
    names: Vec<Name>,
}

/// A name with the letters OCR confuses made one: case, separators, `l`/`I`/`1`/`|`, `0`/`O`,
/// `rn`/`m`.
fn fold(s: &str) -> String {
    let mapped: String = s
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'l' | '1' | '|' => 'i',
            '0' => 'o',
            c => c,
        })
        .collect();
    mapped.replace("rn", "m")
}

/// The severity a word begins with, in any case.
fn severity_of(word: &str) -> Option<&'static str> {
    SEVERITIES.into_iter().find(|s| {
        word.len() >= s.len() && word.as_bytes()[..s.len()].eq_ignore_ascii_case(s.as_bytes())
    })
}

impl Lexicon {
    pub fn new<'a>(guide_alarms: impl IntoIterator<Item = &'a str>) -> Lexicon {
        let table = status::table();
        let mut names: Vec<Name> = Vec::new();
        let mut add = |spelled: String| {
            let folded = fold(&spelled);
            let letters = severity_of(&spelled).map_or(0, |s| folded.len().saturating_sub(s.len()));
            if letters > 0 && !names.iter().any(|n| n.folded == folded) {
                names.push(Name {
                    spelled,
                    folded,
                    letters,
                });
            }
        };
        for c in table.all() {
            add(c.name());
        }
        for a in guide_alarms {
            if severity_of(a).is_some() && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                add(a.to_string());
            }
        }
        Lexicon { names }
    }

    /// The one name `word` reads as, or every name it could equally be (none: it names nothing).
    fn names_for(&self, word: &str, budget: &mut usize) -> Vec<&Name> {
        let Some(severity) = severity_of(word) else {
            return Vec::new();
        };
        let folded = fold(word);
        let letters = folded.len().saturating_sub(severity.len());
        if letters < MIN_FOLD_LETTERS {
            return Vec::new();
        }
        let same: Vec<&Name> = self.names.iter().filter(|n| n.folded == folded).collect();
        if !same.is_empty() || letters < MIN_EDIT_LETTERS || *budget == 0 {
            return same;
        }
        *budget -= 1;
        let allowed = if letters >= TWO_EDIT_LETTERS { 2 } else { 1 };
        let mut best: Vec<&Name> = Vec::new();
        let mut best_d = allowed + 1;
        for n in self.names.iter().filter(|n| {
            n.letters >= MIN_EDIT_LETTERS && n.folded.len().abs_diff(folded.len()) <= allowed
        }) {
            let d = strsim::osa_distance(&n.folded, &folded);
            if d < best_d {
                best_d = d;
                best.clear();
            }
            if d == best_d {
                best.push(n);
            }
        }
        best
    }

    /// Reads `text` line by line; see the module documentation.
    pub fn read(&self, text: &str) -> Reading {
        let mut edits: Vec<Edit> = Vec::new();
        let mut codes = Vec::new();
        let mut line_start = 0;
        let mut budget = MAX_EDIT_LOOKUPS;
        for line in text.split('\n') {
            self.read_line(line, line_start, &mut edits, &mut codes, &mut budget);
            line_start += line.len() + 1;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for e in edits {
            out.push_str(text.get(at..e.from).unwrap_or(""));
            out.push_str(&e.with);
            at = e.to;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        Reading { text: out, codes }
    }

    fn read_line(
        &self,
        line: &str,
        offset: usize,
        edits: &mut Vec<Edit>,
        codes: &mut Vec<CodeReading>,
        budget: &mut usize,
    ) {
        let words = words(line);
        // Values the line names by name, and the code-shaped hex values on it.
        let mut named: Vec<u32> = Vec::new();
        let mut hexes: Vec<(&Word, Option<u32>, Option<CodeReading>)> = Vec::new();
        let table = status::table();
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            i += 1;
            if let Some(hex) = HexWord::parse(w.text) {
                if let Some((value, reading)) = hex.resolve(w.text) {
                    hexes.push((w, value, reading));
                }
                continue;
            }
            if !is_name(w.text) && severity_of(w.text).is_none() {
                continue;
            }
            if let Some(code) = table.recognise(w.text) {
                named.push(code.value);
                continue;
            }
            if let Some(c) = classic::table().recognise(w.text).first() {
                named.push(c.value);
                continue;
            }
            let (taken, found) = self.name_at(line, &words[i - 1..], budget);
            i += taken - 1;
            let Some(reading) = found else {
                continue;
            };
            if let Some(read_as) = &reading.read_as {
                if let Some(code) = table.by_name(read_as) {
                    named.push(code.value);
                }
                edits.push(Edit {
                    from: offset + w.from,
                    to: offset + words[i - 1].to,
                    with: read_as.clone(),
                });
            }
            codes.push(reading);
        }
        named.sort_unstable();
        named.dedup();
        for (w, value, reading) in hexes {
            let (from, to) = (offset + w.from, offset + w.to);
            if let [name] = named.as_slice() {
                // A misread or unknown hex, one a misread explains, or any on a line as short
                // as a banner's; a long line may name two codes on purpose.
                let suspect = reading.is_some()
                    || words.len() <= BANNER_WORDS
                    || value.is_some_and(|v| confusable(v, *name));
                if suspect && value != Some(*name) {
                    codes.push(name_over_hex(w.text, *name));
                    edits.push(Edit {
                        from,
                        to,
                        with: String::new(),
                    });
                    continue;
                }
            }
            if let Some(r) = reading {
                if let Some(read_as) = &r.read_as {
                    edits.push(Edit {
                        from,
                        to,
                        with: read_as.clone(),
                    });
                }
                codes.push(r);
            }
        }
        edits.sort_by_key(|e| e.from);
    }

    /// The status or alarm name that begins at `words[0]`, maybe spread over several words
    /// (`Bad Connection Rejected`), when it was written other than as the name: how many words
    /// it takes, and how it reads. Joining stops at a lower-case word, so typed prose
    /// (`bad connection`) stays as it is.
    fn name_at(
        &self,
        line: &str,
        words: &[Word],
        budget: &mut usize,
    ) -> (usize, Option<CodeReading>) {
        let first = words[0].text;
        if severity_of(first).is_none() || first.contains(['/', ':']) {
            return (1, None);
        }
        let bare = SEVERITIES
            .iter()
            .any(|s| first.trim_end_matches(['_', '-']).eq_ignore_ascii_case(s));
        let capitalised = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
        let mut span = 1;
        if bare && capitalised(first) {
            while span < words.len().min(MAX_JOINED_WORDS + 1)
                && capitalised(words[span].text)
                && severity_of(words[span].text).is_none()
                && line
                    .get(words[span - 1].to..words[span].from)
                    .is_some_and(|gap| gap.chars().all(|c| c.is_whitespace() || "-._".contains(c)))
            {
                span += 1;
            }
        }
        for take in (1..=span).rev() {
            let joined: String = words[..take].iter().map(|w| w.text).collect();
            let from = line
                .get(words[0].from..words[take - 1].to)
                .unwrap_or(first)
                .to_string();
            let mut reading = CodeReading {
                from,
                read_as: None,
                ambiguous: Vec::new(),
                nearest: Vec::new(),
                note: String::new(),
            };
            match self.names_for(&joined, budget).as_slice() {
                [] => continue,
                // Written as the name, but for case and underscores: nothing was misread.
                [one] if unseparated(&one.spelled) == unseparated(&reading.from) => {
                    return (take, None)
                }
                [one] => {
                    reading.note = format!("Read “{}” as {}.", reading.from, one.spelled);
                    reading.read_as = Some(one.spelled.clone());
                }
                several => {
                    let names: Vec<&str> = several.iter().map(|n| n.spelled.as_str()).collect();
                    reading.note = format!(
                        "“{}” could be {}; not guessing.",
                        reading.from,
                        or_list(&names)
                    );
                    reading.ambiguous = several
                        .iter()
                        .filter_map(|n| status::table().by_name(&n.spelled))
                        .map(|c| KnownCode {
                            name: c.name(),
                            hex: c.hex(),
                        })
                        .collect();
                }
            }
            return (take, Some(reading));
        }
        (1, None)
    }
}

fn unseparated(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A word that may be a name: it has a letter no number has (hex digits and `0x` aside).
fn is_name(word: &str) -> bool {
    let rest = word
        .strip_prefix("0x")
        .or_else(|| word.strip_prefix("0X"))
        .unwrap_or(word);
    rest.chars()
        .any(|c| c == '_' || (c.is_ascii_alphabetic() && !c.is_ascii_hexdigit()))
}

fn name_over_hex(written: &str, named: u32) -> CodeReading {
    let name = describe(named).map_or_else(
        || format!("0x{named:08X}"),
        |k| format!("{} ({})", k.name, k.hex),
    );
    CodeReading {
        from: written.to_string(),
        read_as: None,
        ambiguous: Vec::new(),
        nearest: Vec::new(),
        note: format!(
            "“{written}” does not match {name} on the same line; trusting the name, since a misread hex is likelier, and leaving the hex out."
        ),
    }
}

pub(super) fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

struct Edit {
    from: usize,
    to: usize,
    with: String,
}

#[derive(Debug, Clone)]
struct Word<'a> {
    text: &'a str,
    from: usize,
    to: usize,
}

/// The words of a line as logs separate them, without the punctuation a banner puts around
/// them; `@` and `|` stay inside, where OCR puts them for `0` and `1`.
fn words(line: &str) -> Vec<Word<'_>> {
    log_words(line)
        .filter_map(|raw| {
            let start = raw.as_ptr() as usize - line.as_ptr() as usize;
            let text = raw.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@');
            let text = text.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_');
            let from = start + (text.as_ptr() as usize - raw.as_ptr() as usize);
            (!text.is_empty()).then(|| Word {
                text,
                from,
                to: from + text.len(),
            })
        })
        .collect()
}
