//! What the index holds: guides and cases as `IndexDoc`s, and how one becomes a tantivy document.

use tantivy::{doc, TantivyDocument};

use super::schema::Fields;
use crate::content::{Guide, Library, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Guide,
    Case,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Guide => "guide",
            DocKind::Case => "case",
        }
    }
}

/// One searchable thing: a guide, or a case record.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub kind: DocKind,
    /// Slug for a guide, UUID for a case.
    pub id: String,
    /// For a case, the guide it belongs to, if any.
    pub guide: Option<String>,
    pub platform: Option<Platform>,
    pub title: String,
    pub alarms: Vec<String>,
    pub products: Vec<String>,
    pub body: String,
}

impl IndexDoc {
    pub fn from_guide(g: &Guide) -> IndexDoc {
        IndexDoc {
            kind: DocKind::Guide,
            id: g.slug.clone(),
            guide: None,
            platform: Some(g.front.platform),
            title: g.front.title.clone(),
            alarms: g.front.alarms.clone(),
            // The slug is a name people see in links and say aloud ("the ftlinx guide").
            products: g
                .front
                .products
                .iter()
                .cloned()
                .chain([g.slug.replace('-', " ")])
                .collect(),
            body: g.text.clone(),
        }
    }

    pub(super) fn to_tantivy(&self, f: &Fields) -> TantivyDocument {
        let mut doc = doc!(
            f.kind => self.kind.as_str(),
            f.id => self.id.as_str(),
            f.guide => self.guide.as_deref().unwrap_or(""),
            f.platform => self.platform.map_or("", Platform::as_str),
            f.title => self.title.as_str(),
            f.body => self.body.as_str(),
        );
        for a in &self.alarms {
            doc.add_text(f.alarms, a);
        }
        for p in &self.products {
            doc.add_text(f.products, p);
        }
        doc
    }
}

/// Everything the index holds: every guide of `library`, then `cases`. The one place the
/// document list is put together, for start-up, `faultbook reindex` and the benchmark alike.
pub fn documents(library: &Library, cases: impl IntoIterator<Item = IndexDoc>) -> Vec<IndexDoc> {
    library
        .all()
        .iter()
        .map(IndexDoc::from_guide)
        .chain(cases)
        .collect()
}
