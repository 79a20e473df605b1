//! Search: the tantivy indexes of guides and cases, the alarm tokenizer, query building,
//! snippets, and the OPC UA status-code table.
//!
//! Imports go one way: `tokenizer` and `status` at the bottom, `ocr` (reading misread codes
//! and names) on `status` and `classic`; `schema` (fields) and `snippet`
//! on them; `document` (what is indexed), `guide_cache`, `query` (building and ranking over a
//! searcher) and `hit` (what a search answers) on those; `index` (writers, readers, commits and
//! searching) on top.

pub mod classic;
pub mod confidence;
pub mod document;
pub mod guide_cache;
pub mod hit;
pub mod index;
pub mod ocr;
pub mod query;
pub mod relevance;
pub mod schema;
pub mod snippet;
pub mod spelling;
pub mod status;
pub mod tokenizer;

pub use document::{documents, DocKind, IndexDoc};
pub use hit::{Hit, SearchOutcome};
pub use index::{OpenOutcome, SearchError, SearchIndex, SearchRequest, MAX_LIMIT};

use crate::content::{Guide, Library};
use status::StatusCode;

/// Guides whose alarm list names `code` in any notation.
pub fn guides_listing<'a>(library: &'a Library, code: &StatusCode) -> Vec<&'a Guide> {
    let table = status::table();
    library
        .all()
        .iter()
        .filter(|g| {
            g.front
                .alarms
                .iter()
                .any(|a| table.recognise(a).is_some_and(|c| c.value == code.value))
        })
        .collect()
}

/// Every OPC UA status code with the guides whose alarm lists name it, for the table the
/// phone keeps for searching offline.
pub fn codes_with_guides(library: &Library) -> Vec<(&'static StatusCode, Vec<&Guide>)> {
    let table = status::table();
    let mut by_value: std::collections::HashMap<u32, Vec<&Guide>> = Default::default();
    for g in library.all() {
        let mut values: Vec<u32> = g
            .front
            .alarms
            .iter()
            .filter_map(|a| table.recognise(a).map(|c| c.value))
            .collect();
        values.dedup();
        for v in values {
            let list = by_value.entry(v).or_default();
            if !list.iter().any(|x| x.slug == g.slug) {
                list.push(g);
            }
        }
    }
    table
        .all()
        .iter()
        .map(|c| (c, by_value.remove(&c.value).unwrap_or_default()))
        .collect()
}
