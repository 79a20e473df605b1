//! The relevance set: realistic pasted queries with the guide that must come first, and faults
//! no guide covers (`expect = "none"`), for which no hit may be marked the best match.
//! Shared by the relevance test and the benchmark.

use serde::Deserialize;

const QUERIES_TOML: &str = include_str!("../../tests/relevance/queries.toml");

/// What `expect` says when no shipped guide covers the fault.
pub const NO_GUIDE: &str = "none";

#[derive(Debug, Clone, Deserialize)]
pub struct RelevanceQuery {
    pub q: String,
    pub expect: String,
    pub kind: String,
}

impl RelevanceQuery {
    /// The guide that must come first, or None for a fault no guide covers.
    pub fn expected_guide(&self) -> Option<&str> {
        Some(self.expect.as_str()).filter(|e| *e != NO_GUIDE)
    }
}

#[derive(Deserialize)]
struct File {
    query: Vec<RelevanceQuery>,
}

pub fn queries() -> Result<Vec<RelevanceQuery>, toml::de::Error> {
    Ok(toml::from_str::<File>(QUERIES_TOML)?.query)
}

/// What one search answered: guide slugs, best first, and the one marked the best match.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    pub guides: Vec<String>,
    pub best_match: Option<String>,
    /// How many guides are answers (above the relevance floor); 0 shows "no guide yet".
    pub answers: usize,
}

#[derive(Debug, Clone, Default)]
pub struct RelevanceReport {
    /// Queries a guide covers.
    pub total: usize,
    pub top1: usize,
    pub top3: usize,
    /// Covered queries whose expected guide was marked the best match.
    pub best_right: usize,
    /// Covered queries where another guide was marked the best match (a confident wrong answer).
    pub best_wrong: Vec<(RelevanceQuery, String)>,
    /// Queries no guide covers.
    pub uncovered: usize,
    /// Uncovered queries that got a best match anyway, with the guide marked.
    pub uncovered_best: Vec<(RelevanceQuery, String)>,
    /// Uncovered queries for which no guide is an answer: the page says "no guide yet".
    pub uncovered_no_guide_yet: usize,
    /// Covered queries whose expected guide was not in the top 3, with what came first.
    pub misses: Vec<(RelevanceQuery, Vec<String>)>,
    /// Covered queries whose expected guide was 2nd or 3rd.
    pub not_first: Vec<(RelevanceQuery, Vec<String>)>,
}

fn rate(n: usize, of: usize) -> f64 {
    n as f64 / of.max(1) as f64
}

impl RelevanceReport {
    pub fn top1_rate(&self) -> f64 {
        rate(self.top1, self.total)
    }
    pub fn top3_rate(&self) -> f64 {
        rate(self.top3, self.total)
    }
    /// Share of covered queries whose right guide is marked the best match.
    pub fn best_match_rate(&self) -> f64 {
        rate(self.best_right, self.total)
    }
    /// Share of uncovered queries that got a best match (the goal is none).
    pub fn false_best_rate(&self) -> f64 {
        rate(self.uncovered_best.len(), self.uncovered)
    }
}

/// Runs every query through `search` and scores it.
pub fn evaluate(
    queries: &[RelevanceQuery],
    mut search: impl FnMut(&str) -> Ranking,
) -> RelevanceReport {
    let mut r = RelevanceReport::default();
    for q in queries {
        let ranking = search(&q.q);
        let Some(expect) = q.expected_guide() else {
            r.uncovered += 1;
            if ranking.answers == 0 {
                r.uncovered_no_guide_yet += 1;
            }
            if let Some(best) = ranking.best_match {
                r.uncovered_best.push((q.clone(), best));
            }
            continue;
        };
        r.total += 1;
        match ranking.best_match {
            Some(b) if b == expect => r.best_right += 1,
            Some(b) => r.best_wrong.push((q.clone(), b)),
            None => {}
        }
        let slugs = ranking.guides;
        match slugs.iter().position(|s| s == expect) {
            Some(0) => {
                r.top1 += 1;
                r.top3 += 1;
            }
            Some(1 | 2) => {
                r.top3 += 1;
                r.not_first
                    .push((q.clone(), slugs.into_iter().take(3).collect()));
            }
            _ => r
                .misses
                .push((q.clone(), slugs.into_iter().take(3).collect())),
        }
    }
    r
}

impl Ranking {
    /// The guide hits of a search, and its best match.
    pub fn of(outcome: &super::SearchOutcome) -> Ranking {
        Ranking {
            guides: outcome
                .hits
                .iter()
                .filter(|h| h.kind == super::DocKind::Guide)
                .map(|h| h.id.clone())
                .collect(),
            answers: outcome
                .hits
                .iter()
                .filter(|h| h.kind == super::DocKind::Guide && h.answer)
                .count(),
            best_match: outcome
                .best_match
                .and_then(|i| outcome.hits.get(i))
                .map(|h| h.id.clone()),
        }
    }
}
