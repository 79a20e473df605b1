//! Text as phone OCR reads an alarm banner, or as it is pasted from one: hex prefixes read as
//! `Ox` or `8x`, zeros read as `O`, `I` read as `l`, the underscore of `Bad_Timeout` lost. The
//! search reads such text the way the banner meant it, under one rule: never invent a code. A
//! misread is corrected only to the one known code or name it can be; when it could be two, or
//! none, the search says so and uses no code.

use super::classic;
use super::status::{self, log_words};

/// Most misreads (8/B, 0/8, 6/0, 1/7) that may lie between a hex value and the known code it
/// is taken for. Two keeps every code of the tables apart from most others (see the tests).
const MAX_CONFUSIONS: u32 = 2;
/// Pairs of hex digits OCR mistakes for each other on alarm banners.
const CONFUSIONS: [(u8, u8); 4] = [(b'8', b'B'), (b'0', b'8'), (b'6', b'0'), (b'1', b'7')];
/// Characters of eight that must look like digits (`0`, `O`, `l`, …) for a misread hex.
const MIN_DIGIT_LIKE: usize = 5;
/// A value no known code explains names at most this many codes that differ in few digits.
const MAX_NEAREST: usize = 3;
const NEAREST_DIGITS: u32 = 2;
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
            let letters = severity_of(&spelled).map_or(0, |s| folded.len() - s.len());
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
                if value != Some(*name) {
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

fn or_list(items: &[&str]) -> String {
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

/// A word shaped like an 8-digit hex status code, as written or as OCR misreads it.
struct HexWord {
    /// The eight digits with OCR's letters for digits put right, upper-case.
    digits: String,
    /// Nothing in it misread (OCR prefix or letters for digits).
    clean: bool,
    /// Written without any prefix.
    bare: bool,
}

impl HexWord {
    fn parse(word: &str) -> Option<HexWord> {
        if !word.is_ascii() {
            return None;
        }
        let (prefix, body) = match word.len() {
            10 => word.split_at(2),
            8 => ("", word),
            _ => return None,
        };
        let ocr_prefix = matches!(
            prefix,
            "Ox" | "OX" | "ox" | "oX" | "8x" | "8X" | "@x" | "@X"
        );
        if !(prefix.is_empty() || ocr_prefix || prefix == "0x" || prefix == "0X") {
            return None;
        }
        let mut misread = ocr_prefix;
        let mut digits = String::with_capacity(8);
        for c in body.chars() {
            let d = match c {
                '0'..='9' | 'A'..='F' => c,
                'a'..='f' => c.to_ascii_uppercase(),
                'O' | 'o' | 'Q' | '@' => '0',
                'I' | 'l' | '|' => '1',
                // S for 5 only where a prefix says a code is meant (measured in tests/ocr_text.rs).
                'S' if !prefix.is_empty() => '5',
                _ => return None,
            };
            misread |= !c.is_ascii_hexdigit();
            digits.push(d);
        }
        let real_digits = body.bytes().filter(u8::is_ascii_digit).count();
        let digit_like = body
            .bytes()
            .filter(|b| b.is_ascii_digit() || b"OoQ@Il|".contains(b))
            .count();
        // Status codes are mostly zeros: a word after `Ox` that does not look mostly like
        // digits (`Oxidation`) is a word. A bare run needs a real digit too.
        let plausible = match prefix {
            "0x" | "0X" => true,
            "" => real_digits >= 1 && digit_like >= MIN_DIGIT_LIKE,
            _ => digit_like >= MIN_DIGIT_LIKE,
        };
        plausible.then_some(HexWord {
            digits,
            clean: !misread,
            bare: prefix.is_empty(),
        })
    }

    /// The value this word stands for (None: no one code) and how it was read, when that is
    /// worth saying; None when it is no code at all (a hex value no table knows written as
    /// it is, far from every code: a message id or a handle).
    fn resolve(&self, written: &str) -> Option<(Option<u32>, Option<CodeReading>)> {
        let value = u32::from_str_radix(&self.digits, 16).ok()?;
        let mut reading = CodeReading {
            from: written.to_string(),
            read_as: None,
            ambiguous: Vec::new(),
            nearest: Vec::new(),
            note: String::new(),
        };
        if let Some(known) = describe(value) {
            if self.clean {
                return Some((Some(value), None));
            }
            reading.note = format!("Read “{written}” as {} ({}).", known.hex, known.name);
            reading.read_as = Some(known.hex);
            return Some((Some(value), Some(reading)));
        }
        if self.bare && self.clean {
            return None;
        }
        let within: Vec<u32> = known_values()
            .into_iter()
            .filter(|&k| confusions(value, k).is_some_and(|d| d <= MAX_CONFUSIONS))
            .collect();
        let shown = format!("0x{}", self.digits);
        match within.as_slice() {
            [one] => {
                let known = describe(*one)?;
                reading.note = format!(
                    "Read “{written}” as {} ({}): the only known code that a misread 8/B, 0/8, 6/0 or 1/7 explains.",
                    known.hex, known.name
                );
                reading.read_as = Some(known.hex);
                Some((Some(*one), Some(reading)))
            }
            [] if self.clean && nearest(value).is_empty() => None,
            [] => {
                reading.nearest = nearest(value);
                reading.note = if reading.nearest.is_empty() {
                    format!("“{shown}” is not a known status code.")
                } else {
                    format!(
                        "“{shown}” is not a known status code; nearest known codes: {}.",
                        listed(&reading.nearest)
                    )
                };
                Some((None, Some(reading)))
            }
            several => {
                reading.ambiguous = several.iter().filter_map(|&v| describe(v)).collect();
                let options: Vec<String> = reading
                    .ambiguous
                    .iter()
                    .map(|k| format!("{} ({})", k.hex, k.name))
                    .collect();
                let options: Vec<&str> = options.iter().map(String::as_str).collect();
                reading.note = format!("“{shown}” could be {}; not guessing.", or_list(&options));
                Some((None, Some(reading)))
            }
        }
    }
}

fn listed(codes: &[KnownCode]) -> String {
    codes
        .iter()
        .map(|k| format!("{} ({})", k.hex, k.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every value of both code tables, once.
fn known_values() -> Vec<u32> {
    let mut v: Vec<u32> = status::table().all().iter().map(|c| c.value).collect();
    v.extend(classic::table().all().iter().map(|c| c.value));
    v.sort_unstable();
    v.dedup();
    v
}

/// The name a known value carries in either table (both of a classic value's names).
fn describe(value: u32) -> Option<KnownCode> {
    let hex = format!("0x{value:08X}");
    if let Some(c) = status::table().by_value(value) {
        return Some(KnownCode {
            name: c.name(),
            hex,
        });
    }
    let names: Vec<String> = classic::table()
        .by_value(value)
        .into_iter()
        .map(|c| c.name.clone())
        .collect();
    (!names.is_empty()).then(|| KnownCode {
        name: names.join(" / "),
        hex,
    })
}

/// How many OCR confusions turn `read` into `known`, digit by digit; None when a digit differs
/// in a way OCR does not explain.
fn confusions(read: u32, known: u32) -> Option<u32> {
    let (a, b) = (format!("{read:08X}"), format!("{known:08X}"));
    a.bytes().zip(b.bytes()).try_fold(0, |n, (x, y)| {
        if x == y {
            Some(n)
        } else if CONFUSIONS
            .iter()
            .any(|&(p, q)| (x, y) == (p, q) || (x, y) == (q, p))
        {
            Some(n + 1)
        } else {
            None
        }
    })
}

/// Known codes that differ from `value` in the fewest hex digits (at most `NEAREST_DIGITS`).
fn nearest(value: u32) -> Vec<KnownCode> {
    let differing = |k: u32| (0..8).filter(|i| (value ^ k) >> (4 * i) & 0xF != 0).count() as u32;
    let mut near: Vec<(u32, u32)> = known_values()
        .into_iter()
        .map(|k| (differing(k), k))
        .filter(|(d, _)| *d <= NEAREST_DIGITS)
        .collect();
    near.sort_unstable();
    near.into_iter()
        .take(MAX_NEAREST)
        .filter_map(|(_, k)| describe(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        Lexicon::new(["Bad_Stale", "EngineFailureTimeout"])
    }

    /// The text searched for and the code card it gets.
    fn read(input: &str) -> (Reading, Option<String>) {
        let r = lexicon().read(input);
        let card = status::table().find_in(&r.text).map(|c| c.name());
        (r, card)
    }

    #[test]
    fn ocr_hex_prefixes_read_as_0x() {
        for input in [
            "Ox80AC0000",
            "OX80AC0000",
            "ox80AC0000",
            "8x80AC0000",
            "@x80AC0000",
        ] {
            let (r, card) = read(input);
            assert_eq!(r.text, "0x80AC0000", "{input}");
            assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
        }
        // Written right, there is nothing to say.
        for input in ["0x80AC0000", "0X80AC0000", "80AC0000"] {
            let (r, card) = read(input);
            assert!(r.codes.is_empty() && r.text == input, "{input}: {r:?}");
            assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
        }
    }

    #[test]
    fn letters_for_digits_read_as_digits() {
        for (input, name) in [
            ("0x80ACOOOO", "Bad_ConnectionRejected"),
            ("0x80AC@@QQ", "Bad_ConnectionRejected"),
            ("80ACoooo", "Bad_ConnectionRejected"),
            ("0x80lAOOOO", "Bad_CertificateUntrusted"),
            ("0x80|AOOOO", "Bad_CertificateUntrusted"),
            ("0x8OI3OOOO", "Bad_SecurityChecksFailed"),
            ("Ox8OS6OOOO", "Bad_TooManySessions"),
            ("(status=0x8O34OOOO)", "Bad_NodeIdUnknown"),
        ] {
            let (r, card) = read(input);
            assert_eq!(card.as_deref(), Some(name), "{input} read as {:?}", r.text);
            assert_eq!(r.codes.len(), 1, "{input}");
            assert!(r.codes[0].note.contains(name), "{:?}", r.codes[0].note);
        }
        // Classic and Windows codes too.
        assert_eq!(read("0xC004OOO7").0.text, "0xC0040007");
    }

    #[test]
    fn ordinary_words_and_numbers_stay_as_written() {
        for input in [
            "Oxford oxidised ox 8x zoom",
            "Oxygenated boxes",
            "OOOOOOOO",
            "BOOLEANS",
            "message id 0x0012A3F0",
            "20261120",
            "Goodbye Good Morning Team",
            "bad quality on tag",
            "bad connection rejected",
            "Uncertainty",
            "S7-1500 SRVO-023",
        ] {
            let (r, card) = read(input);
            assert_eq!(r.text, input, "{input}");
            assert!(r.codes.is_empty(), "{input}: {:?}", r.codes);
            assert_eq!(card, None, "{input}");
        }
    }

    #[test]
    fn a_value_one_known_code_explains_snaps_to_it() {
        // A zero read as 8, an 8 read as B, a leading 8 read as 0.
        for input in ["0x80AC8000", "0x88AC0000", "0xB0AC0000", "0x00AC0000"] {
            let (r, card) = read(input);
            assert_eq!(r.text, "0x80AC0000", "{input}");
            assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
            assert!(r.codes[0].note.contains("only known code"), "{:?}", r.codes);
        }
    }

    #[test]
    fn a_value_two_known_codes_explain_gets_no_code_and_both_are_named() {
        for (input, a, b) in [
            ("0x803B8000", "0x80380000", "0x803B0000"),
            ("Ox8O1A8OOO", "0x801A0000", "0x807A0000"),
            ("0x80130800", "0x80130000", "0x80730000"),
        ] {
            let (r, card) = read(input);
            assert_eq!(card, None, "{input}: no code may be invented");
            assert_eq!(r.text, input, "{input}");
            let c = &r.codes[0];
            assert_eq!(c.read_as, None);
            let named: Vec<&str> = c.ambiguous.iter().map(|k| k.hex.as_str()).collect();
            assert_eq!(named, [a, b], "{input}");
            assert!(
                c.note.contains(a) && c.note.contains(b) && c.note.contains("not guessing"),
                "{}",
                c.note
            );
        }
    }

    #[test]
    fn a_value_no_known_code_explains_is_said_plainly_with_the_nearest() {
        let (r, card) = read("0x80FF0000");
        assert_eq!(card, None);
        let c = &r.codes[0];
        assert_eq!(c.read_as, None);
        assert!(c.note.starts_with("“0x80FF0000” is not a known status code; nearest known codes: 0x800F0000 (Bad_NothingToDo)"), "{}", c.note);
        assert_eq!(c.nearest.len(), MAX_NEAREST);
    }

    #[test]
    fn misread_names_read_as_the_one_name_they_can_be() {
        for (input, name) in [
            ("Bad_NodeldUnknown", "Bad_NodeIdUnknown"),
            ("BadSecurityChecksFai1ed", "Bad_SecurityChecksFailed"),
            ("Bad_Time0ut", "Bad_Timeout"),
            ("Bad_Tirneout", "Bad_Timeout"),
            ("Bad_ldentityTokenlnvalid", "Bad_IdentityTokenInvalid"),
            ("Bad_ConectionRejected", "Bad_ConnectionRejected"),
            ("Bad Connection Rejected", "Bad_ConnectionRejected"),
            ("BAD CONNECTION REJECTED", "Bad_ConnectionRejected"),
            ("Bad-Connection-Rejected", "Bad_ConnectionRejected"),
            ("Bad.ConnectionRejected", "Bad_ConnectionRejected"),
            ("Bad_ ConnectionRejected", "Bad_ConnectionRejected"),
            ("Uncertain Last Usable Value", "Uncertain_LastUsableValue"),
        ] {
            let (r, card) = read(input);
            assert_eq!(r.text, name, "{input}");
            assert_eq!(card.as_deref(), Some(name), "{input}");
            assert_eq!(r.codes[0].read_as.as_deref(), Some(name), "{input}");
        }
        // A guide's own alarm name (not a status code) is a name too, but gets no card.
        let (r, card) = read("tag quality Bad_Sta1e");
        assert_eq!(r.text, "tag quality Bad_Stale");
        assert_eq!(card, None);
        // Joining stops where the name ends.
        let (r, _) = read("Bad Connection Rejected by Kepware");
        assert_eq!(r.text, "Bad_ConnectionRejected by Kepware");
        // Case and underscores alone are no misread.
        assert!(read("bad_stale badtimeout").0.codes.is_empty());
    }

    #[test]
    fn short_or_ambiguous_names_are_not_guessed() {
        // Too short to match by edit distance, and matching nothing by look.
        for input in ["Bad_Stal", "Bad_Tme", "Good_Thing", "Bad_Xyzzy"] {
            let (r, _) = read(input);
            assert_eq!(r.text, input);
            assert!(r.codes.is_empty(), "{input}: {:?}", r.codes);
        }
        // One edit from Bad_DecodingError and from Bad_EncodingError.
        let (r, card) = read("Bad_EecodingError");
        assert_eq!(card, None);
        assert_eq!(r.text, "Bad_EecodingError");
        let c = &r.codes[0];
        assert_eq!(c.read_as, None);
        assert_eq!(c.ambiguous.len(), 2);
        assert!(c.note.contains("Bad_DecodingError") && c.note.contains("Bad_EncodingError"));
    }

    #[test]
    fn a_name_beats_a_different_hex_on_its_line() {
        for input in [
            "0x80130000 Bad_ConnectionRejected",
            "Status 0x80770000: Bad Connection Rejected",
            "Bad_ConnectionRejected (0x80AB0000)",
            "Bad_ConnectionRejected (0x80A80000)",
        ] {
            let (r, card) = read(input);
            assert_eq!(card.as_deref(), Some("Bad_ConnectionRejected"), "{input}");
            assert!(
                !r.text.contains("0x80"),
                "{input}: the hex is left out: {}",
                r.text
            );
            assert!(
                r.codes.iter().any(|c| c.note.contains("trusting the name")),
                "{input}: {:?}",
                r.codes
            );
        }
        // The same code twice, two names, or another line: nothing is left out.
        for input in [
            "Bad_ConnectionRejected (0x8OACOOOO)",
            "Bad_Timeout Bad_ConnectionRejected 0x80130000",
            "Bad_ConnectionRejected\n0x80130000",
        ] {
            let r = lexicon().read(input);
            assert!(
                !r.codes.iter().any(|c| c.note.contains("trusting")),
                "{input}: {:?}",
                r.codes
            );
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let long = "Bad ".repeat(5_000);
        for input in [
            "",
            "\n\n",
            "Ox",
            "@x@@@@@@@@",
            "Bad",
            "Bad_",
            "é0xOOOOOOOO",
            &long,
            "Ox8OACOOOOé",
        ] {
            let _ = lexicon().read(input);
        }
    }
}
