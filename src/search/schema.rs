//! The index schema: its fields, their tokenizer, and the version that forces a rebuild.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::{Index, TantivyDocument};

use super::tokenizer;

/// Bump when the schema or the tokenizer changes: an index from an older version is rebuilt.
pub const SCHEMA_VERSION: u32 = 4;

/// The fields of both indexes (guides and cases share one schema).
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub kind: Field,
    pub id: Field,
    pub guide: Field,
    pub platform: Field,
    pub title: Field,
    pub alarms: Field,
    pub products: Field,
    pub body: Field,
}

/// The schema and its fields; the same every call, so an index on disk can be compared to it.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer(tokenizer::ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let opts = TextOptions::default().set_indexing_options(idx);
        if stored {
            opts.set_stored()
        } else {
            opts
        }
    };
    let fields = Fields {
        kind: b.add_text_field("kind", STRING | STORED),
        id: b.add_text_field("id", STRING | STORED),
        guide: b.add_text_field("guide", STRING | STORED),
        platform: b.add_text_field("platform", STRING | STORED),
        title: b.add_text_field("title", text(true)),
        alarms: b.add_text_field("alarms", text(true)),
        products: b.add_text_field("products", text(false)),
        body: b.add_text_field("body", text(true)),
    };
    (b.build(), fields)
}

/// Makes the alarm analyzer the text fields name known to `index`; needed after every open.
pub fn register_tokenizer(index: &Index) {
    index
        .tokenizers()
        .register(tokenizer::ANALYZER, tokenizer::analyzer());
}

/// A stored text field of `doc`, or "" when it has none.
pub fn stored_text(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}
