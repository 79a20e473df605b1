//! Search: the tantivy index of guides (and later cases), the alarm tokenizer, query building,
//! snippets, and the OPC UA status-code table.

pub mod index;
pub mod query;
pub mod snippet;
pub mod status;
pub mod tokenizer;

pub use index::{DocKind, IndexDoc, OpenOutcome, SearchError, SearchIndex};
pub use query::{Hit, SearchOutcome, SearchRequest};

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
pub mod relevance;
