//! Turning whatever a tech pasted into tantivy queries, without ever handing raw input to
//! tantivy's query parser, and ranking guides against cases. Works on searchers and the field
//! set only; opening, writing and reloading the index is `index`'s business.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Score, Searcher, Term};

use super::confidence::{idf, TermCheck};
use super::document::DocKind;
use super::schema::Fields;
use super::tokenizer::{self, TokenKind};
use crate::content::Platform;

/// Longest input looked at; the rest of a pasted wall of text is ignored.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// Most distinct terms one query uses; whole identifiers and codes go first.
const MAX_TERMS: usize = 40;

const W_ALARMS: Score = 4.0;
const W_ALARM_PART: Score = 2.0;
const W_TITLE: Score = 2.5;
const W_PRODUCTS: Score = 1.5;
const W_BODY: Score = 1.0;
/// Whole identifiers, hex values and status-code notations outrank their parts.
const W_WHOLE: Score = 1.5;
const W_FUZZY: Score = 0.35;
/// A code or identifier typed half-way (`0x80AC`, `Bad_Conn`) matches the whole ones it begins.
const W_PREFIX: Score = 3.0;
/// Shortest beginning worth expanding, and how many words of one query are expanded.
const MIN_PREFIX_CHARS: usize = 3;
const MAX_PREFIXES: usize = 3;
/// Input of more words than this was pasted, not typed: no beginnings are expanded.
const MAX_TYPED_WORDS: usize = 6;
const W_PHRASE: Score = 3.0;
/// Share of the other fields' scores a term keeps beyond its best field.
const TIE_BREAKER: Score = 0.3;
const W_PAIR: Score = 1.0;
const PAIR_SLOP: u32 = 2;
const MAX_PAIRS: usize = 12;
/// Cases rank below guides that match as well.
const CASE_FACTOR: Score = 0.6;
/// A guide scoring at least this share of the best guide is listed before any case.
const STRONG_GUIDE: Score = 0.3;
/// A term in more than this share of all documents is left out of the case query...
const COMMON_SHARE: f64 = 0.05;
/// ...unless it is among the rarest few terms of the query.
const KEEP_RAREST: usize = 3;

/// Words a log line is full of that say nothing about the fault.
const NOISE: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "is", "are", "was", "were", "be",
    "been", "and", "or", "but", "not", "no", "with", "by", "from", "as", "it", "its", "this",
    "that", "into", "when", "then", "than", "my", "i", "we", "our", "has", "have", "had", "do",
    "does", "did", "can", "will", "trace", "debug", "info", "inform", "warn", "warning", "error",
    "err", "fatal", "sever", "severe", "fine", "finer", "finest", "notic", "notice", "critic",
    "critical", "crit", "emerg", "verbos", "verbose",
];

pub struct BuiltQuery {
    /// For guides: every term, spelling matches, word pairs and quoted phrases. None when the
    /// input held nothing that is in the index.
    pub guides: Option<Box<dyn Query>>,
    /// For cases: the same without word pairs, and without the words so common among
    /// hundreds of thousands of cases that they only cost time.
    pub cases: Option<Box<dyn Query>>,
    pub fuzzy_words: Vec<String>,
    /// Terms to highlight in snippets, rarer ones scoring higher.
    pub snippet_terms: BTreeMap<String, Score>,
    pub terms_used: usize,
    /// One check per query term, weighted by how rare the term is among guides: how much of
    /// the query a guide covers says how sure a hit is (see `confidence`).
    pub checks: Vec<TermCheck>,
}

struct QueryTerm {
    text: String,
    kind: TokenKind,
}

fn timestamp_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            \b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T\ ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b
            | \b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b
            | \b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?[AaPp][Mm])?\b
            | \b[a-z][a-z0-9+.-]*://[^\s/:]+
            ",
        )
        .expect("the timestamp pattern is valid")
    })
}

/// Clips the input and blanks out timestamps, clock times and URL schemes with hosts, which
/// every log line has and which never identify a fault.
pub fn clean_input(raw: &str) -> String {
    let mut end = raw.len().min(MAX_INPUT_BYTES);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    let clipped: String = raw[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    timestamp_re().replace_all(&clipped, " ").into_owned()
}

fn is_noise(t: &str, kind: TokenKind) -> bool {
    if kind != TokenKind::Part {
        return false;
    }
    if NOISE.contains(&t) {
        return true;
    }
    let digits = t.bytes().all(|b| b.is_ascii_digit());
    if digits {
        return t.len() <= 2;
    }
    t.chars().count() == 1
}

/// The distinct terms of the input, whole identifiers and codes first, noise dropped.
/// Each token's kind and stemmed text, in order.
fn analysis(text: &str) -> Vec<(TokenKind, String)> {
    tokenizer::analyze(text)
        .into_iter()
        .map(|t| (t.kind, tokenizer::stem(&t.text)))
        .collect()
}

fn query_terms(analysed: &[(TokenKind, String)]) -> Vec<QueryTerm> {
    let mut seen = HashSet::new();
    let mut whole = Vec::new();
    let mut parts = Vec::new();
    for (kind, term) in analysed {
        let kind = *kind;
        if is_noise(term, kind) || !seen.insert(term.clone()) {
            continue;
        }
        let q = QueryTerm {
            text: term.clone(),
            kind,
        };
        if kind == TokenKind::Part {
            parts.push(q);
        } else {
            whole.push(q);
        }
    }
    whole.extend(parts);
    whole.truncate(MAX_TERMS);
    whole
}

/// The input's words in order (stemmed, noise dropped), for proximity pairs.
fn adjacent_words(analysed: &[(TokenKind, String)]) -> Vec<&str> {
    analysed
        .iter()
        .filter(|(kind, stem)| *kind == TokenKind::Part && !is_noise(stem, *kind))
        .map(|(_, stem)| stem.as_str())
        .collect()
}

/// Whether a term is a whole identifier or code that an alarm list could name: a hex value or
/// status code, or a joined identifier with letters in it (`4.2` joined is no alarm name).
fn names_an_alarm(t: &QueryTerm) -> bool {
    match t.kind {
        TokenKind::Hex | TokenKind::Synonym => true,
        TokenKind::Joined => t.text.chars().count() >= 5 && t.text.chars().any(char::is_alphabetic),
        TokenKind::Part => false,
    }
}

/// Beginnings of codes and identifiers the input may be typing, by the term they stand for:
/// a hex value typed with `0x` and fewer than 8 digits (`0x80AC` -> `0x80ac`), an identifier
/// (`Bad_Conn` -> `badconn`), and the last word when the input does not end in a space (the
/// word being typed). Only terms found nowhere as typed are expanded (see `build`).
fn typed_prefixes(text: &str) -> BTreeMap<String, String> {
    let tokens = tokenizer::analyze(text);
    if tokens.iter().filter(|t| t.kind == TokenKind::Part).count() > MAX_TYPED_WORDS {
        return BTreeMap::new();
    }
    let last_end = tokens.iter().map(|t| t.to).max().unwrap_or(0);
    let still_typing = text.trim_end().len() == text.len();
    let mut out = BTreeMap::new();
    for t in &tokens {
        let typed = text.get(t.from..t.to).unwrap_or("");
        let prefix = match t.kind {
            TokenKind::Hex => typed
                .strip_prefix("0x")
                .or_else(|| typed.strip_prefix("0X"))
                .filter(|h| (2..8).contains(&h.len()))
                .map(|h| format!("0x{}", h.to_ascii_lowercase())),
            TokenKind::Joined => Some(t.text.clone()),
            TokenKind::Part if still_typing && t.to == last_end => {
                Some(t.text.clone()).filter(|p| p.chars().all(char::is_alphanumeric))
            }
            _ => None,
        };
        if let Some(p) = prefix.filter(|p| p.chars().count() >= MIN_PREFIX_CHARS) {
            out.insert(tokenizer::stem(&t.text), p);
        }
    }
    out
}

/// Quoted parts of the input, for an exact-phrase boost; an unpaired quote is ignored.
fn quoted_phrases(text: &str) -> Vec<&str> {
    let pieces: Vec<&str> = text.split('"').collect();
    pieces
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1 && *i + 1 < pieces.len())
        .map(|(_, p)| *p)
        .filter(|p| !p.trim().is_empty())
        .collect()
}

fn boosted(q: Box<dyn Query>, w: Score) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(q, w)))
}

type Clauses = Vec<(Occur, Box<dyn Query>)>;

/// A hit before its document is read: which index it came from and where.
pub type Ranked = (Score, DocKind, DocAddress);

fn text_fields(f: &Fields) -> [(Field, Score); 4] {
    [
        (f.alarms, W_ALARMS),
        (f.title, W_TITLE),
        (f.products, W_PRODUCTS),
        (f.body, W_BODY),
    ]
}

/// The guide query and the case query for cleaned input, and what the page reports. `cases`
/// is None when the caller may not read cases: then no case statistics shape the queries.
pub fn build(
    fields: &Fields,
    guides: &Searcher,
    cases: Option<&Searcher>,
    text: &str,
) -> tantivy::Result<BuiltQuery> {
    let analysed = analysis(text);
    let terms = query_terms(&analysed);
    let mut guide_clauses: Clauses = Vec::new();
    // (highest field document frequency among cases, that term's clauses) per term.
    let mut case_terms: Vec<(u64, Clauses)> = Vec::new();
    let mut case_clauses: Clauses = Vec::new();
    let mut fuzzy_words = Vec::new();
    let mut snippet_terms = BTreeMap::new();
    let mut guide_body_terms = HashSet::new();
    let mut checks = Vec::new();
    let prefixes = typed_prefixes(text);
    let mut prefixes_used = 0;
    for t in &terms {
        let mut found = 0u64;
        let mut case_max_df = 0u64;
        let kind_w = if t.kind == TokenKind::Part {
            1.0
        } else {
            W_WHOLE
        };
        // Guides: one clause per term taking the best field (plus a little of the others),
        // so a common word that sits in every field does not outweigh a rare one.
        let mut per_field: Vec<Box<dyn Query>> = Vec::new();
        // Cases: plain boosted term queries, which tantivy can prune block by block.
        let mut case_fields: Clauses = Vec::new();
        let mut body_df = 0u64;
        let mut guide_max_df = 0u64;
        let mut check_fields: Vec<Box<dyn Query>> = Vec::new();
        for (field, mut w) in text_fields(fields) {
            // A word that is only part of an alarm name says less than the whole name.
            if field == fields.alarms && t.kind == TokenKind::Part {
                w = W_ALARM_PART;
            }
            let term = Term::from_field_text(field, &t.text);
            let gdf = guides.doc_freq(&term)?;
            let cdf = match cases {
                Some(cs) => cs.doc_freq(&term)?,
                None => 0,
            };
            found += gdf + cdf;
            case_max_df = case_max_df.max(cdf);
            let tq = || Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
            check_fields.push(tq());
            if gdf > 0 {
                per_field.push(Box::new(BoostQuery::new(tq(), w * kind_w)));
                guide_max_df = guide_max_df.max(gdf);
            }
            if cdf > 0 {
                case_fields.push(boosted(tq(), w * kind_w));
            }
            if field == fields.body {
                body_df = gdf + cdf;
                if gdf > 0 {
                    guide_body_terms.insert(t.text.clone());
                }
            }
        }
        if body_df > 0 {
            snippet_terms.insert(t.text.clone(), 1.0 / (1.0 + body_df as Score));
        }
        let mut check = TermCheck {
            query: Box::new(BooleanQuery::union(check_fields)),
            weight: idf(guides.num_docs(), guide_max_df),
            loose: Vec::new(),
            alarm: names_an_alarm(t).then(|| {
                Box::new(TermQuery::new(
                    Term::from_field_text(fields.alarms, &t.text),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>
            }),
        };
        if !per_field.is_empty() {
            guide_clauses.push((
                Occur::Should,
                Box::new(DisjunctionMaxQuery::with_tie_breaker(
                    per_field,
                    TIE_BREAKER,
                )),
            ));
        }
        if !case_fields.is_empty() {
            case_terms.push((case_max_df, case_fields));
        }
        let prefix = prefixes.get(&t.text).filter(|_| found == 0);
        if let Some(prefix) = prefix.filter(|_| prefixes_used < MAX_PREFIXES) {
            prefixes_used += 1;
            let prefix_q = |field: Field, w: Score| -> Box<dyn Query> {
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new_prefix(
                        Term::from_field_text(field, prefix),
                        0,
                        true,
                    )),
                    w * W_PREFIX,
                ))
            };
            let per_field: Vec<Box<dyn Query>> = [
                (fields.alarms, W_ALARMS),
                (fields.title, W_TITLE),
                (fields.body, W_BODY),
            ]
            .into_iter()
            .map(|(field, w)| prefix_q(field, w * kind_w))
            .collect();
            let q: Box<dyn Query> = Box::new(DisjunctionMaxQuery::with_tie_breaker(
                per_field,
                TIE_BREAKER,
            ));
            case_clauses.push((Occur::Should, q.box_clone()));
            check.loose.push(q.box_clone());
            guide_clauses.push((Occur::Should, q));
        }
        let chars = t.text.chars().count();
        let wordlike = t.text.chars().all(char::is_alphabetic);
        if found == 0 && t.kind == TokenKind::Part && wordlike && chars >= 5 {
            let distance = if chars >= 9 { 2 } else { 1 };
            // Products are short names; typos there are not worth an automaton.
            let fuzzy: Vec<Box<dyn Query>> = text_fields(fields)
                .into_iter()
                .filter(|(field, _)| *field != fields.products)
                .map(|(field, w)| -> Box<dyn Query> {
                    Box::new(BoostQuery::new(
                        Box::new(FuzzyTermQuery::new(
                            Term::from_field_text(field, &t.text),
                            distance,
                            true,
                        )),
                        w * W_FUZZY,
                    ))
                })
                .collect();
            let fuzzy: Box<dyn Query> =
                Box::new(DisjunctionMaxQuery::with_tie_breaker(fuzzy, TIE_BREAKER));
            case_clauses.push((Occur::Should, fuzzy.box_clone()));
            check.loose.push(fuzzy.box_clone());
            guide_clauses.push((Occur::Should, fuzzy));
            fuzzy_words.push(t.text.clone());
        }
        checks.push(check);
    }
    // Words in a large share of all cases cost time and say little; the rarest few stay.
    let common = (cases.map_or(0, |c| c.num_docs()) as f64 * COMMON_SHARE) as u64;
    case_terms.sort_by_key(|(df, _)| *df);
    for (rank, (df, clauses)) in case_terms.into_iter().enumerate() {
        if rank < KEEP_RAREST || df <= common {
            case_clauses.extend(clauses);
        }
    }

    // Words the tech typed next to each other score more where the guide has them close
    // together too ("stop updating", "switch back").
    let mut pairs = 0;
    for pair in adjacent_words(&analysed).windows(2) {
        if pairs >= MAX_PAIRS {
            break;
        }
        let (a, b) = (pair[0], pair[1]);
        if !guide_body_terms.contains(a) || !guide_body_terms.contains(b) || a == b {
            continue;
        }
        let pq = PhraseQuery::new_with_offset_and_slop(
            vec![
                (0, Term::from_field_text(fields.body, a)),
                (1, Term::from_field_text(fields.body, b)),
            ],
            PAIR_SLOP,
        );
        guide_clauses.push(boosted(Box::new(pq), W_PAIR));
        pairs += 1;
    }
    for phrase in quoted_phrases(text) {
        let mut positions = HashSet::new();
        let words: Vec<(usize, String)> = tokenizer::terms(phrase)
            .into_iter()
            .filter(|(_, p)| positions.insert(*p))
            .map(|(t, p)| (p, t))
            .collect();
        if words.len() < 2 {
            continue;
        }
        for (field, w) in text_fields(fields) {
            let pq = PhraseQuery::new_with_offset(
                words
                    .iter()
                    .map(|(p, t)| (*p, Term::from_field_text(field, t)))
                    .collect(),
            );
            let (occur, q) = boosted(Box::new(pq), w * W_PHRASE);
            case_clauses.push((occur, q.box_clone()));
            guide_clauses.push((occur, q));
        }
    }
    let boolean =
        |c: Clauses| (!c.is_empty()).then(|| Box::new(BooleanQuery::new(c)) as Box<dyn Query>);
    Ok(BuiltQuery {
        guides: boolean(guide_clauses),
        cases: boolean(case_clauses),
        fuzzy_words,
        snippet_terms,
        terms_used: terms.len(),
        checks,
    })
}

/// `q` restricted to documents of platform `p`.
pub fn platform_filter(fields: &Fields, q: Box<dyn Query>, p: Platform) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, q),
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(fields.platform, p.as_str()),
                IndexRecordOption::Basic,
            )),
        ),
    ]))
}

/// Guides that match well come first, whatever the cases score: a tech is looking for the
/// fix. Then cases and weakly matching guides, by score, cases damped.
pub fn guides_then_cases(
    gs: &Searcher,
    guides: Option<Box<dyn Query>>,
    cs: &Searcher,
    cases: Option<Box<dyn Query>>,
    limit: usize,
) -> tantivy::Result<Vec<Ranked>> {
    let collector = TopDocs::with_limit(limit);
    let guides: Vec<(Score, DocAddress)> = match guides {
        Some(q) => gs.search(&q, &collector)?,
        None => Vec::new(),
    };
    let cases: Vec<(Score, DocAddress)> = match cases {
        Some(q) => cs.search(&q, &collector)?,
        None => Vec::new(),
    };
    let best_guide = guides.first().map_or(0.0, |g| g.0);
    let (strong, weak): (Vec<_>, Vec<_>) = guides
        .into_iter()
        .map(|(s, a)| (s, DocKind::Guide, a))
        .partition(|(s, _, _)| *s >= best_guide * STRONG_GUIDE);
    let mut rest: Vec<Ranked> = weak
        .into_iter()
        .chain(
            cases
                .into_iter()
                .map(|(s, a)| (s * CASE_FACTOR, DocKind::Case, a)),
        )
        .collect();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(strong.into_iter().chain(rest).take(limit).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_input_drops_timestamps_and_hosts() {
        let c = clean_input(
            "2026-11-20 02:14:07,331 WARN opc.tcp://plc-01:49320 Bad_Timeout 11/20/2026 3:04 PM",
        );
        assert!(!c.contains("2026"), "{c}");
        assert!(!c.contains("02:14"), "{c}");
        assert!(!c.contains("plc-01"), "{c}");
        assert!(c.contains("49320") && c.contains("Bad_Timeout"), "{c}");
    }

    #[test]
    fn clean_input_clips_on_a_char_boundary() {
        let long = "é".repeat(MAX_INPUT_BYTES);
        let c = clean_input(&long);
        assert!(c.len() <= MAX_INPUT_BYTES);
    }

    #[test]
    fn typed_beginnings_of_codes_identifiers_and_the_last_word() {
        let p = typed_prefixes("0x80AC");
        assert_eq!(p.values().collect::<Vec<_>>(), vec!["0x80ac"]);
        let p = typed_prefixes("Bad_Conn");
        assert!(p.values().any(|v| v == "badconn"), "{p:?}");
        assert!(
            p.values().any(|v| v == "conn"),
            "the word being typed: {p:?}"
        );
        // A finished word (followed by a space) and a complete hex value are not beginnings.
        let p = typed_prefixes("conn ");
        assert!(p.is_empty(), "{p:?}");
        let p = typed_prefixes("0x80AC0000");
        assert!(!p.values().any(|v| v.starts_with("0x")), "{p:?}");
        // Too short to expand.
        assert!(typed_prefixes("0x8").is_empty());
    }

    #[test]
    fn quoted_phrases_ignore_unpaired_quotes() {
        assert_eq!(quoted_phrases("a \"b c\" d \"e"), vec!["b c"]);
        assert!(quoted_phrases("\"").is_empty());
    }

    #[test]
    fn whole_identifiers_come_first_and_noise_goes() {
        let t = query_terms(&analysis("ERROR the Bad_Timeout at 12 x"));
        let texts: Vec<_> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts[0], "badtimeout");
        assert!(
            !texts.contains(&"error")
                && !texts.contains(&"the")
                && !texts.contains(&"12")
                && !texts.contains(&"x")
        );
        assert!(texts.contains(&"timeout"));
    }
}
