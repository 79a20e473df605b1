//! The spelling note: which words a search matched by spelling, shown as the words the guides
//! really hold ("showing results for connection rejected"), never as the stems the index keeps
//! ("netti") nor as the typed misspellings alone.

use std::collections::BTreeMap;

use super::snippet::SnippetToken;
use super::tokenizer::{self, TokenKind};

/// Longest corrected input shown whole; longer input (a pasted log line) shows only the
/// corrected words.
const MAX_WHOLE_CHARS: usize = 80;

/// One word typed one way and found another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub typed: String,
    pub matched: String,
}

/// The edit distance a spelling match allows for a term of this length (as `query` asks it).
pub fn max_distance(term: &str) -> usize {
    if term.chars().count() >= 9 {
        2
    } else {
        1
    }
}

/// For each fuzzy-matched term (a stem), the word of `text` (with its `tokens`) it matched:
/// the most frequent word within the allowed distance, as written there (lower-cased).
fn best_word(stem: &str, docs: &[(&str, &[SnippetToken])]) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let limit = max_distance(stem);
    for (text, tokens) in docs {
        for t in tokens.iter() {
            if t.term != stem && strsim::osa_distance(&t.term, stem) <= limit {
                if let Some(word) = text.get(t.from..t.to) {
                    if word.chars().all(char::is_alphabetic) {
                        *counts.entry(word.to_lowercase()).or_default() += 1;
                    }
                }
            }
        }
    }
    counts
        .into_iter()
        .max_by_key(|(w, n)| (*n, std::cmp::Reverse(w.clone())))
        .map(|(w, _)| w)
}

/// The words of `input` that were matched by spelling (`fuzzy`, as stems), each with the word
/// it matched in `docs` (the answering guides: body text and its tokens). A word no answer
/// holds anything close to is left out.
pub fn corrections(
    input: &str,
    fuzzy: &[String],
    docs: &[(&str, &[SnippetToken])],
) -> Vec<Correction> {
    let mut out: Vec<Correction> = Vec::new();
    for stem in fuzzy {
        let Some(matched) = best_word(stem, docs) else {
            continue;
        };
        for t in tokenizer::analyze(input) {
            if t.kind == TokenKind::Part && tokenizer::stem(&t.text) == *stem {
                let typed = input.get(t.from..t.to).unwrap_or("").to_string();
                if !typed.is_empty() && !out.iter().any(|c| c.typed == typed) {
                    out.push(Correction {
                        typed,
                        matched: matched.clone(),
                    });
                }
            }
        }
    }
    out
}

/// What the search showed results for: the input with each corrected word replaced, when it
/// is short; else just the corrected words.
pub fn showing_results_for(input: &str, corrections: &[Correction]) -> Option<String> {
    if corrections.is_empty() {
        return None;
    }
    let mut replaced = String::with_capacity(input.len());
    let mut at = 0;
    let mut spans: Vec<(usize, usize, &str)> = tokenizer::analyze(input)
        .into_iter()
        .filter(|t| t.kind == TokenKind::Part)
        .filter_map(|t| {
            let typed = input.get(t.from..t.to)?;
            corrections
                .iter()
                .find(|c| c.typed == typed)
                .map(|c| (t.from, t.to, c.matched.as_str()))
        })
        .collect();
    spans.sort();
    spans.dedup_by_key(|s| s.0);
    for (from, to, word) in spans {
        if from < at {
            continue;
        }
        replaced.push_str(input.get(at..from).unwrap_or(""));
        replaced.push_str(word);
        at = to;
    }
    replaced.push_str(input.get(at..).unwrap_or(""));
    let whole = replaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if whole.chars().count() <= MAX_WHOLE_CHARS {
        Some(whole)
    } else {
        let words: Vec<&str> = corrections.iter().map(|c| c.matched.as_str()).collect();
        Some(words.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::snippet;

    #[test]
    fn shows_the_words_the_guide_holds_not_stems_or_typos() {
        let body = "The connection was rejected. Check the connection settings.";
        let toks = snippet::tokens(body);
        let docs = [(body, toks.as_slice())];
        let fuzzy = vec![tokenizer::stem("conection"), tokenizer::stem("rejectd")];
        let c = corrections("conection rejectd", &fuzzy, &docs);
        assert_eq!(
            showing_results_for("conection rejectd", &c).as_deref(),
            Some("connection rejected")
        );
    }

    #[test]
    fn a_word_nothing_resembles_is_left_out() {
        let body = "Subscription watchdog timer elapsed.";
        let toks = snippet::tokens(body);
        let docs = [(body, toks.as_slice())];
        let c = corrections("zzqqxx", &["zzqqxx".to_string()], &docs);
        assert!(c.is_empty());
        assert_eq!(showing_results_for("zzqqxx", &c), None);
    }

    #[test]
    fn long_input_shows_only_the_corrected_words() {
        let body = "Subscription watchdog timer elapsed.";
        let toks = snippet::tokens(body);
        let docs = [(body, toks.as_slice())];
        let input = format!("{} watchdgo", "2026-11-20 line 4 gateway ".repeat(5));
        let c = corrections(&input, &[tokenizer::stem("watchdgo")], &docs);
        assert_eq!(showing_results_for(&input, &c).as_deref(), Some("watchdog"));
    }
}
