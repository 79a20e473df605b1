//! Turning whatever a tech pasted into a tantivy query, without ever handing raw input to
//! tantivy's query parser, and running it.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Score, Searcher, TantivyDocument, Term};

use super::index::{DocKind, SearchError, SearchIndex};
use super::snippet;
use super::status::{self, StatusCode};
use super::tokenizer::{self, TokenKind};
use crate::content::Platform;

/// Longest input looked at; the rest of a pasted wall of text is ignored.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// Most distinct terms one query uses; whole identifiers and codes go first.
const MAX_TERMS: usize = 40;
pub const MAX_LIMIT: usize = 100;
const SNIPPET_BYTES: usize = 240;

const W_ALARMS: Score = 4.0;
const W_ALARM_PART: Score = 2.0;
const W_TITLE: Score = 2.5;
const W_PRODUCTS: Score = 1.5;
const W_BODY: Score = 1.0;
/// Whole identifiers, hex values and status-code notations outrank their parts.
const W_WHOLE: Score = 1.5;
const W_FUZZY: Score = 0.35;
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

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: String,
    pub platform: Option<Platform>,
    pub limit: usize,
    /// Count matches per platform too (for filter links).
    pub with_counts: bool,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: DocKind,
    pub id: String,
    pub guide: Option<String>,
    pub title: String,
    pub platform: Option<Platform>,
    pub url: String,
    /// HTML: escaped text with the matching words in `<mark>`.
    pub snippet: String,
    pub score: Score,
}

#[derive(Debug, Clone, Default)]
pub struct SearchOutcome {
    pub status_code: Option<&'static StatusCode>,
    pub hits: Vec<Hit>,
    /// Matches per platform for the whole query, ignoring the platform filter.
    pub platform_counts: Vec<(Platform, usize)>,
    /// How many terms the query used; 0 means the input held nothing searchable.
    pub terms_used: usize,
    /// Words that were not found anywhere and were matched by spelling instead.
    pub fuzzy_words: Vec<String>,
}

struct BuiltQuery {
    /// For guides: every term, spelling matches, word pairs and quoted phrases. None when the
    /// input held nothing that is in the index.
    guides: Option<Box<dyn Query>>,
    /// For cases: the same without word pairs, and without the words so common among
    /// hundreds of thousands of cases that they only cost time.
    cases: Option<Box<dyn Query>>,
    fuzzy_words: Vec<String>,
    /// Terms to highlight in snippets, rarer ones scoring higher.
    snippet_terms: BTreeMap<String, Score>,
    terms_used: usize,
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
fn query_terms(text: &str) -> Vec<QueryTerm> {
    let kinds: Vec<TokenKind> = tokenizer::analyze(text)
        .into_iter()
        .map(|t| t.kind)
        .collect();
    let stemmed = tokenizer::terms(text);
    let mut seen = HashSet::new();
    let mut whole = Vec::new();
    let mut parts = Vec::new();
    for ((term, _), kind) in stemmed.into_iter().zip(kinds) {
        if is_noise(&term, kind) || !seen.insert(term.clone()) {
            continue;
        }
        let q = QueryTerm { text: term, kind };
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
fn adjacent_words(text: &str) -> Vec<String> {
    tokenizer::analyze(text)
        .iter()
        .zip(tokenizer::terms(text))
        .filter(|(t, (stem, _))| t.kind == TokenKind::Part && !is_noise(stem, t.kind))
        .map(|(_, (stem, _))| stem)
        .collect()
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

impl SearchIndex {
    fn text_fields(&self) -> [(Field, Score); 4] {
        let f = &self.fields;
        [
            (f.alarms, W_ALARMS),
            (f.title, W_TITLE),
            (f.products, W_PRODUCTS),
            (f.body, W_BODY),
        ]
    }

    /// The query for cleaned input, plus the words matched by spelling and the snippet terms.
    fn build_query(&self, searcher: &Searcher, text: &str) -> Result<BuiltQuery, SearchError> {
        let terms = query_terms(text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // (highest field document frequency, clause) for each term that is in the index.
        let mut term_clauses: Vec<(u64, Box<dyn Query>)> = Vec::new();
        let mut case_clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut fuzzy_words = Vec::new();
        let mut snippet_terms = BTreeMap::new();
        for t in &terms {
            let mut found = 0u64;
            let mut max_df = 0u64;
            let kind_w = if t.kind == TokenKind::Part {
                1.0
            } else {
                W_WHOLE
            };
            // One clause per term, taking the best field (plus a little of the others), so a
            // common word that happens to sit in every field does not outweigh a rare one.
            let mut per_field: Vec<Box<dyn Query>> = Vec::new();
            for (field, mut w) in self.text_fields() {
                // A word that is only part of an alarm name says less than the whole name.
                if field == self.fields.alarms && t.kind == TokenKind::Part {
                    w = W_ALARM_PART;
                }
                let term = Term::from_field_text(field, &t.text);
                let df = searcher.doc_freq(&term)?;
                found += df;
                max_df = max_df.max(df);
                if df > 0 {
                    per_field.push(Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                        w * kind_w,
                    )));
                }
                if field == self.fields.body && df > 0 {
                    snippet_terms.insert(t.text.clone(), 1.0 / (1.0 + df as Score));
                }
            }
            if !per_field.is_empty() {
                term_clauses.push((
                    max_df,
                    Box::new(DisjunctionMaxQuery::with_tie_breaker(
                        per_field,
                        TIE_BREAKER,
                    )),
                ));
            }
            let chars = t.text.chars().count();
            let wordlike = t.text.chars().all(char::is_alphabetic);
            if found == 0 && t.kind == TokenKind::Part && wordlike && chars >= 5 {
                let distance = if chars >= 9 { 2 } else { 1 };
                let fuzzy: Vec<Box<dyn Query>> = self
                    .text_fields()
                    .into_iter()
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
                clauses.push((Occur::Should, fuzzy));
                fuzzy_words.push(t.text.clone());
            }
        }
        let common = (searcher.num_docs() as f64 * COMMON_SHARE) as u64;
        let mut by_rarity: Vec<usize> = (0..term_clauses.len()).collect();
        by_rarity.sort_by_key(|&i| term_clauses[i].0);
        for (rank, &i) in by_rarity.iter().enumerate() {
            if rank < KEEP_RAREST || term_clauses[i].0 <= common {
                case_clauses.push((Occur::Should, term_clauses[i].1.box_clone()));
            }
        }
        clauses.extend(term_clauses.into_iter().map(|(_, q)| (Occur::Should, q)));

        // Words the tech typed next to each other score more where the guide has them close
        // together too ("stop updating", "switch back").
        let mut pairs = 0;
        for pair in adjacent_words(text).windows(2) {
            if pairs >= MAX_PAIRS {
                break;
            }
            let (a, b) = (&pair[0], &pair[1]);
            if !snippet_terms.contains_key(a) || !snippet_terms.contains_key(b) || a == b {
                continue;
            }
            let pq = PhraseQuery::new_with_offset_and_slop(
                vec![
                    (0, Term::from_field_text(self.fields.body, a)),
                    (1, Term::from_field_text(self.fields.body, b)),
                ],
                PAIR_SLOP,
            );
            clauses.push(boosted(Box::new(pq), W_PAIR));
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
            for (field, w) in self.text_fields() {
                let pq = PhraseQuery::new_with_offset(
                    words
                        .iter()
                        .map(|(p, t)| (*p, Term::from_field_text(field, t)))
                        .collect(),
                );
                let (occur, q) = boosted(Box::new(pq), w * W_PHRASE);
                case_clauses.push((occur, q.box_clone()));
                clauses.push((occur, q));
            }
        }
        let boolean = |c: Vec<(Occur, Box<dyn Query>)>| {
            (!c.is_empty()).then(|| Box::new(BooleanQuery::new(c)) as Box<dyn Query>)
        };
        Ok(BuiltQuery {
            guides: boolean(clauses),
            cases: boolean(case_clauses),
            fuzzy_words,
            snippet_terms,
            terms_used: terms.len(),
        })
    }

    fn platform_filter(&self, q: Box<dyn Query>, p: Platform) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, q),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.platform, p.as_str()),
                    IndexRecordOption::Basic,
                )),
            ),
        ]))
    }

    /// Runs a search. Never fails on odd input: anything unsearchable gives an empty outcome.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchOutcome, SearchError> {
        let searcher = self.reader.searcher();
        let text = clean_input(&req.text);
        let status_code = status::table().find_in(&req.text);
        let BuiltQuery {
            guides,
            cases,
            fuzzy_words,
            snippet_terms,
            terms_used,
        } = self.build_query(&searcher, &text)?;
        let mut outcome = SearchOutcome {
            status_code,
            terms_used,
            fuzzy_words,
            ..SearchOutcome::default()
        };
        let (Some(guides), Some(cases)) = (guides, cases) else {
            return Ok(outcome);
        };
        let guides = self.of_kind(guides, DocKind::Guide);
        let cases = self.of_kind(cases, DocKind::Case);
        if req.with_counts {
            for p in Platform::ALL {
                let n = searcher.search(&self.platform_filter(guides.box_clone(), p), &Count)?
                    + searcher.search(&self.platform_filter(cases.box_clone(), p), &Count)?;
                outcome.platform_counts.push((p, n));
            }
        }
        let (guides, cases) = match req.platform {
            Some(p) => (
                self.platform_filter(guides, p),
                self.platform_filter(cases, p),
            ),
            None => (guides, cases),
        };
        let limit = req.limit.clamp(1, MAX_LIMIT);
        let top = self.guides_then_cases(&searcher, guides, cases, limit)?;

        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            outcome.hits.push(self.hit(&doc, score, &snippet_terms));
        }
        Ok(outcome)
    }

    /// A guide's snippet from its cached tokens.
    fn guide_snippet(&self, slug: &str, body: &str, weights: &BTreeMap<String, Score>) -> String {
        let cached = self
            .guide_tokens
            .read()
            .ok()
            .and_then(|m| m.get(slug).cloned());
        let toks = match cached {
            Some(t) => t,
            None => {
                let t = std::sync::Arc::new(snippet::tokens(body));
                if let Ok(mut m) = self.guide_tokens.write() {
                    m.insert(slug.to_string(), t.clone());
                }
                t
            }
        };
        snippet::render(body, &toks, weights, SNIPPET_BYTES)
    }

    fn of_kind(&self, q: Box<dyn Query>, kind: DocKind) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, q),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.kind, kind.as_str()),
                    IndexRecordOption::Basic,
                )),
            ),
        ]))
    }

    /// Guides that match well come first, whatever the cases score: a tech is looking for
    /// the fix. Then cases and weakly matching guides, by score, cases damped.
    fn guides_then_cases(
        &self,
        searcher: &Searcher,
        guides: Box<dyn Query>,
        cases: Box<dyn Query>,
        limit: usize,
    ) -> Result<Vec<(Score, DocAddress)>, SearchError> {
        let collector = TopDocs::with_limit(limit);
        let guides: Vec<(Score, DocAddress)> = searcher.search(&guides, &collector)?;
        let cases: Vec<(Score, DocAddress)> = searcher.search(&cases, &collector)?;
        let best_guide = guides.first().map_or(0.0, |g| g.0);
        let (strong, weak): (Vec<_>, Vec<_>) = guides
            .into_iter()
            .partition(|(s, _)| *s >= best_guide * STRONG_GUIDE);
        let mut rest: Vec<(Score, DocAddress)> = weak
            .into_iter()
            .chain(cases.into_iter().map(|(s, a)| (s * CASE_FACTOR, a)))
            .collect();
        rest.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(strong.into_iter().chain(rest).take(limit).collect())
    }

    fn hit(&self, doc: &TantivyDocument, score: Score, weights: &BTreeMap<String, Score>) -> Hit {
        let f = &self.fields;
        let get = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let kind = if get(f.kind) == "case" {
            DocKind::Case
        } else {
            DocKind::Guide
        };
        let id = get(f.id);
        let guide = Some(get(f.guide)).filter(|g| !g.is_empty());
        let body = get(f.body);
        let html = match kind {
            DocKind::Guide => self.guide_snippet(&id, &body, weights),
            DocKind::Case => {
                snippet::render(&body, &snippet::tokens(&body), weights, SNIPPET_BYTES)
            }
        };
        let url = match kind {
            DocKind::Guide => format!("/guides/{id}"),
            DocKind::Case => format!("/cases/{id}"),
        };
        Hit {
            kind,
            title: get(f.title),
            platform: Platform::parse(&get(f.platform)),
            url,
            snippet: html,
            score,
            id,
            guide,
        }
    }
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
    fn quoted_phrases_ignore_unpaired_quotes() {
        assert_eq!(quoted_phrases("a \"b c\" d \"e"), vec!["b c"]);
        assert!(quoted_phrases("\"").is_empty());
    }

    #[test]
    fn whole_identifiers_come_first_and_noise_goes() {
        let t = query_terms("ERROR the Bad_Timeout at 12 x");
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
