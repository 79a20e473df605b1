//! What a search answers. Hits name what they found (kind, slug or id, the case's guide) and
//! carry no links: the web layer decides where a hit points.

use std::collections::BTreeMap;

use tantivy::{Score, TantivyDocument};

use super::document::DocKind;
use super::guide_cache::CachedGuide;
use super::schema::{stored_text, Fields};
use super::snippet;
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
    }
}
