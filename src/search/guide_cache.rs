//! Guide hits kept in memory between searches: guide bodies are long, and the same few guides
//! answer most searches, so each is read from the store and tokenized for snippets only once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::schema::{stored_text, Fields};
use super::snippet;
use crate::content::Platform;

/// What a guide hit needs from the stored guide.
pub struct CachedGuide {
    pub slug: String,
    pub title: String,
    pub platform: Option<Platform>,
    pub body: String,
    pub tokens: Vec<snippet::SnippetToken>,
}

/// Guides by address in the guide index. Addresses change when guides are re-indexed, so
/// whoever re-indexes them clears the cache.
#[derive(Default)]
pub struct GuideCache {
    by_address: RwLock<HashMap<DocAddress, Arc<CachedGuide>>>,
}

impl GuideCache {
    /// The guide at `addr` in `guides`, from memory when it was read before.
    pub fn get(
        &self,
        guides: &Searcher,
        fields: &Fields,
        addr: DocAddress,
    ) -> tantivy::Result<Arc<CachedGuide>> {
        if let Some(g) = self
            .by_address
            .read()
            .ok()
            .and_then(|m| m.get(&addr).cloned())
        {
            return Ok(g);
        }
        let doc: TantivyDocument = guides.doc(addr)?;
        let body = stored_text(&doc, fields.body);
        let g = Arc::new(CachedGuide {
            slug: stored_text(&doc, fields.id),
            title: stored_text(&doc, fields.title),
            platform: Platform::parse(&stored_text(&doc, fields.platform)),
            tokens: snippet::tokens(&body),
            body,
        });
        // A poisoned lock only means a panic elsewhere; the guide is still answered, uncached.
        if let Ok(mut m) = self.by_address.write() {
            m.insert(addr, g.clone());
        }
        Ok(g)
    }

    pub fn clear(&self) {
        if let Ok(mut m) = self.by_address.write() {
            m.clear();
        }
    }
}
