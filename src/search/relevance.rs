//! The relevance set: realistic pasted queries with the guide that must come first.
//! Shared by the relevance test and `faultbook bench`.

use serde::Deserialize;

const QUERIES_TOML: &str = include_str!("../../tests/relevance/queries.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct RelevanceQuery {
    pub q: String,
    pub expect: String,
    pub kind: String,
}

#[derive(Deserialize)]
struct File {
    query: Vec<RelevanceQuery>,
}

pub fn queries() -> Result<Vec<RelevanceQuery>, toml::de::Error> {
    Ok(toml::from_str::<File>(QUERIES_TOML)?.query)
}

#[derive(Debug, Clone, Default)]
pub struct RelevanceReport {
    pub total: usize,
    pub top1: usize,
    pub top3: usize,
    /// Queries whose expected guide was not in the top 3, with what came first.
    pub misses: Vec<(RelevanceQuery, Vec<String>)>,
    /// Queries whose expected guide was 2nd or 3rd.
    pub not_first: Vec<(RelevanceQuery, Vec<String>)>,
}

impl RelevanceReport {
    pub fn top1_rate(&self) -> f64 {
        self.top1 as f64 / self.total.max(1) as f64
    }
    pub fn top3_rate(&self) -> f64 {
        self.top3 as f64 / self.total.max(1) as f64
    }
}

/// Runs every query through `search` (which returns guide slugs, best first) and scores it.
pub fn evaluate(
    queries: &[RelevanceQuery],
    mut search: impl FnMut(&str) -> Vec<String>,
) -> RelevanceReport {
    let mut r = RelevanceReport {
        total: queries.len(),
        ..Default::default()
    };
    for q in queries {
        let slugs = search(&q.q);
        let pos = slugs.iter().position(|s| *s == q.expect);
        match pos {
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
