//! How sure a search is. Each query term weighs what its rarity among guides says (a code or a
//! rare word more than "connection"); a hit's coverage is the share of that weight it contains.
//! From coverage and the scores of the first two guides, `judge` decides which hit clearly
//! leads (the best match) and which hits only mention some of the words (below the floor).

use tantivy::query::{BooleanQuery, EnableScoring, Query};
use tantivy::{DocAddress, DocSet, Score, Searcher};

/// One query term: a query matching a document that holds it (in any field), the queries that
/// match it by spelling or by its beginning, and its weight.
pub struct TermCheck {
    pub query: Box<dyn Query>,
    pub loose: Vec<Box<dyn Query>>,
    pub weight: Score,
    /// For a whole identifier or code: a query matching a document whose alarm list holds
    /// it exactly.
    pub alarm: Option<Box<dyn Query>>,
}

/// Inverse document frequency among `n` guides, as BM25 weighs it; a term no guide has
/// weighs the most.
pub fn idf(n: u64, df: u64) -> Score {
    let (n, df) = (n as f64, df.min(n) as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as Score
}

/// What the checks found in one document.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Found {
    /// The share (0 to 1) of the query's weight the document holds.
    pub coverage: Score,
    /// It lists one of the query's whole identifiers or codes among its alarms, exactly as
    /// typed (not by spelling or beginning).
    pub names_alarm: bool,
}

/// Which of `docs` (all from `searcher`) each check matches. Each check's weight is built once
/// and its scorer once per segment, walked in document order: a spelling or beginning check
/// walks its terms once, not once per hit. `loose`: count matches by spelling or beginning
/// too (for guides; among hundreds of thousands of cases they cost more than they tell).
pub fn find(
    checks: &[TermCheck],
    searcher: &Searcher,
    docs: &[DocAddress],
    loose: bool,
) -> tantivy::Result<Vec<Found>> {
    let mut found = vec![Found::default(); docs.len()];
    let total: Score = checks.iter().map(|c| c.weight).sum();
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&i| (docs[i].segment_ord, docs[i].doc_id));
    let matching = |q: &dyn Query| -> tantivy::Result<Vec<bool>> {
        let weight = q.weight(EnableScoring::disabled_from_searcher(searcher))?;
        let mut hit = vec![false; docs.len()];
        let mut current: Option<(u32, Box<dyn tantivy::query::Scorer>)> = None;
        for &i in &order {
            let addr = docs[i];
            if current
                .as_ref()
                .is_none_or(|(seg, _)| *seg != addr.segment_ord)
            {
                let reader = searcher.segment_reader(addr.segment_ord);
                current = Some((addr.segment_ord, weight.scorer(reader, 1.0)?));
            }
            if let Some((_, scorer)) = current.as_mut() {
                if scorer.doc() < addr.doc_id {
                    scorer.seek(addr.doc_id);
                }
                hit[i] = scorer.doc() == addr.doc_id;
            }
        }
        Ok(hit)
    };
    for c in checks {
        let union;
        let query: &dyn Query = if loose && !c.loose.is_empty() {
            let all = std::iter::once(c.query.box_clone())
                .chain(c.loose.iter().map(|q| q.box_clone()))
                .collect();
            union = BooleanQuery::union(all);
            &union
        } else {
            c.query.as_ref()
        };
        for (f, held) in found.iter_mut().zip(matching(query)?) {
            if held && total > 0.0 {
                f.coverage += c.weight / total;
            }
        }
        if let Some(alarm) = &c.alarm {
            for (f, named) in found.iter_mut().zip(matching(alarm.as_ref())?) {
                f.names_alarm |= named;
            }
        }
    }
    Ok(found)
}

/// The best guide must score at least this (BM25 with the field weights of `query`)...
pub const BEST_MIN_SCORE: Score = 20.0;
/// ...at least this many times the second guide...
pub const BEST_MIN_LEAD: Score = 1.05;
/// ...and hold at least this share of the query's weight.
pub const BEST_MIN_COVERAGE: Score = 0.2;
/// Or: a guide holding this share of the query's weight...
pub const FULL_COVERAGE: Score = 0.75;
/// ...leads by this much, whatever its score (short queries score low: `subscripton watchdog`).
pub const FULL_COVERAGE_LEAD: Score = 1.5;
/// A case hit standing alone is an answer when it holds this share of the query's weight.
pub const CASE_MIN_COVERAGE: Score = 0.5;

/// What a guide hit offers for judging: its score, coverage and whether it names the alarm.
#[derive(Debug, Clone, Copy)]
pub struct Signals {
    pub score: Score,
    pub coverage: Score,
    pub names_alarm: bool,
}

/// A guide below this share of the first guide's score is no answer, whatever it covers.
pub const FLOOR_SHARE_OF_FIRST: Score = 0.4;

/// Whether a guide hit is an answer at all (else it only mentions some of the words): it names
/// one of the query's alarms, or, scoring at least `FLOOR_SHARE_OF_FIRST` of the first guide,
/// it scores and covers enough or covers nearly all of the query.
pub fn above_floor(s: Signals, first_score: Score) -> bool {
    s.names_alarm
        || (s.score >= FLOOR_SHARE_OF_FIRST * first_score
            && ((s.score >= BEST_MIN_SCORE && s.coverage >= BEST_MIN_COVERAGE)
                || s.coverage >= FULL_COVERAGE))
}

/// Whether the first guide clearly leads the second (`None`: there is no second).
///
/// 1. It lists one of the query's whole identifiers or codes among its alarms, and the second
///    does not; or
/// 2. it scores at least `BEST_MIN_SCORE`, `BEST_MIN_LEAD` times the second, and holds at least
///    `BEST_MIN_COVERAGE` of the query's weight; or
/// 3. it holds `FULL_COVERAGE` of the query's weight and scores `FULL_COVERAGE_LEAD` times the
///    second.
///
/// Measured on the relevance set (tests/relevance.rs): see README, "How sure a search is".
pub fn clearly_leads(first: Signals, second: Option<Signals>) -> bool {
    let lead = |min: Score| second.is_none_or(|s| first.score >= min * s.score);
    (first.names_alarm && !second.is_some_and(|s| s.names_alarm))
        || (first.score >= BEST_MIN_SCORE
            && lead(BEST_MIN_LEAD)
            && first.coverage >= BEST_MIN_COVERAGE)
        || (first.coverage >= FULL_COVERAGE && lead(FULL_COVERAGE_LEAD))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(score: Score, coverage: Score, names_alarm: bool) -> Signals {
        Signals {
            score,
            coverage,
            names_alarm,
        }
    }

    #[test]
    fn naming_the_alarm_leads_unless_the_second_names_it_too() {
        assert!(clearly_leads(s(5.0, 0.1, true), Some(s(4.9, 0.1, false))));
        assert!(!clearly_leads(s(30.0, 0.1, true), Some(s(29.0, 0.1, true))));
    }

    #[test]
    fn a_high_score_must_lead_and_cover() {
        assert!(clearly_leads(
            s(40.0, 0.5, false),
            Some(s(20.0, 0.5, false))
        ));
        assert!(!clearly_leads(
            s(40.0, 0.5, false),
            Some(s(39.5, 0.5, false))
        ));
        assert!(!clearly_leads(s(40.0, 0.1, false), None));
        assert!(!clearly_leads(s(15.0, 0.5, false), None));
    }

    #[test]
    fn a_low_score_that_covers_the_whole_query_may_lead() {
        assert!(clearly_leads(s(11.0, 1.0, false), Some(s(3.0, 0.5, false))));
        assert!(!clearly_leads(
            s(11.0, 1.0, false),
            Some(s(10.0, 1.0, false))
        ));
    }

    #[test]
    fn idf_weighs_rare_terms_more() {
        assert!(idf(30, 0) > idf(30, 1));
        assert!(idf(30, 1) > idf(30, 29));
        assert!(idf(30, 40) > 0.0);
    }
}
