//! What a search answers. Hits name what they found (kind, slug or id, the case's guide) and
//! carry no links: the web layer decides where a hit points.

use std::collections::BTreeMap;

use tantivy::{Score, TantivyDocument};

use super::confidence::{self, Signals};
use super::document::DocKind;
use super::guide_cache::CachedGuide;
use super::schema::{stored_text, Fields};
use super::snippet;
use super::spelling::Correction;
use super::status::StatusCode;
use crate::content::Platform;

const SNIPPET_BYTES: usize = 240;

#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: DocKind,
    /// Slug for a guide, UUID for a case.
    pub id: String,
    /// For a case, the slug of its guide, if it has one.
    pub guide: Option<String>,
    pub title: String,
    pub platform: Option<Platform>,
    /// HTML: escaped text with the matching words in `<mark>`.
    pub snippet: String,
    pub score: Score,
    /// Share (0 to 1) of the query's weight this hit holds (see `confidence`).
    pub coverage: Score,
    /// The hit lists one of the query's whole identifiers or codes among its alarms.
    pub names_alarm: bool,
    /// An answer, not a hit that merely mentions some of the words (see `SearchOutcome::judge`).
    pub answer: bool,
}

impl Hit {
    fn signals(&self) -> Signals {
        Signals {
            score: self.score,
            coverage: self.coverage,
            names_alarm: self.names_alarm,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchOutcome {
    pub status_code: Option<&'static StatusCode>,
    /// OPC Classic or Windows codes the input names (a value may carry two names).
    pub classic_codes: Vec<&'static super::classic::ClassicCode>,
    /// Codes and alarm names the input wrote other than as they are (OCR misreads), with how
    /// each was read; the codes above are those of the corrected reading.
    pub code_readings: Vec<super::ocr::CodeReading>,
    pub hits: Vec<Hit>,
    /// Matches per platform for the whole query, ignoring the platform filter.
    pub platform_counts: Vec<(Platform, usize)>,
    /// How many terms the query used; 0 means the input held nothing searchable.
    pub terms_used: usize,
    /// Words that were not found anywhere and were matched by spelling instead.
    pub fuzzy_words: Vec<String>,
    /// Index in `hits` of the guide that clearly leads, if one does.
    pub best_match: Option<usize>,
    /// Words matched by spelling, with the word an answering guide holds.
    pub corrections: Vec<Correction>,
    /// The input as it was searched, corrected ("connection rejected"), when a word was.
    pub showing_results_for: Option<String>,
}

impl SearchOutcome {
    /// Marks which hits are answers and which guide, if any, is the best match (rules in
    /// `confidence`). A case is an answer under a guide that is one, or alone when it holds
    /// most of the query.
    pub fn judge(&mut self) {
        let guides: Vec<usize> = (0..self.hits.len())
            .filter(|i| self.hits[*i].kind == DocKind::Guide)
            .collect();
        let mut answers = std::collections::HashSet::new();
        let first_score = guides.first().map_or(0.0, |&i| self.hits[i].score);
        for &i in &guides {
            let h = &mut self.hits[i];
            h.answer = confidence::above_floor(h.signals(), first_score);
            if h.answer {
                answers.insert(h.id.clone());
            }
        }
        for h in self.hits.iter_mut().filter(|h| h.kind == DocKind::Case) {
            h.answer = h.guide.as_ref().is_some_and(|g| answers.contains(g))
                || h.coverage >= confidence::CASE_MIN_COVERAGE;
        }
        self.best_match = guides.first().copied().filter(|&first| {
            let second = guides.get(1).map(|&i| self.hits[i].signals());
            confidence::clearly_leads(self.hits[first].signals(), second)
        });
    }
}

/// `weights`: the query's terms, rarer ones higher, for choosing and marking the snippet.
pub(super) fn guide_hit(g: &CachedGuide, score: Score, weights: &BTreeMap<String, Score>) -> Hit {
    Hit {
        kind: DocKind::Guide,
        id: g.slug.clone(),
        guide: None,
        title: g.title.clone(),
        platform: g.platform,
        snippet: snippet::render(&g.body, &g.tokens, weights, SNIPPET_BYTES),
        score,
        coverage: 0.0,
        names_alarm: false,
        answer: false,
    }
}

pub(super) fn case_hit(
    doc: &TantivyDocument,
    fields: &Fields,
    score: Score,
    weights: &BTreeMap<String, Score>,
) -> Hit {
    let body = stored_text(doc, fields.body);
    Hit {
        kind: DocKind::Case,
        id: stored_text(doc, fields.id),
        guide: Some(stored_text(doc, fields.guide)).filter(|g| !g.is_empty()),
        title: stored_text(doc, fields.title),
        platform: Platform::parse(&stored_text(doc, fields.platform)),
        snippet: snippet::render(
            &body,
            &snippet::matching_tokens(&body, weights),
            weights,
            SNIPPET_BYTES,
        ),
        score,
        coverage: 0.0,
        names_alarm: false,
        answer: false,
    }
}
