//! Snippets: the best short window of a document's text for the query's terms, escaped, with
//! the matching words in `<mark>`. A guide's tokens are computed once and cached, because
//! analysing a long guide body on every search would cost more than the search itself.

use std::collections::BTreeMap;

use tantivy::tokenizer::TokenStream;
use tantivy::Score;

use super::tokenizer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnippetToken {
    pub term: String,
    pub from: usize,
    pub to: usize,
}

/// Stemmed tokens with their byte ranges, in text order.
pub fn tokens(text: &str) -> Vec<SnippetToken> {
    let mut analyzer = tokenizer::snippet_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        out.push(SnippetToken {
            term: t.text.clone(),
            from: t.offset_from,
            to: t.offset_to,
        });
    }
    out
}

/// Only the tokens of `text` that can match one of `weights`' terms, stemming a word only when
/// its start agrees with some term's: for the short texts of case hits, on every search.
pub fn matching_tokens(text: &str, weights: &BTreeMap<String, Score>) -> Vec<SnippetToken> {
    let head = |s: &str| s.get(..2).unwrap_or(s).to_string();
    let heads: std::collections::HashSet<String> = weights.keys().map(|k| head(k)).collect();
    tokenizer::analyze(text)
        .into_iter()
        .filter(|t| {
            matches!(
                t.kind,
                tokenizer::TokenKind::Part | tokenizer::TokenKind::Hex
            )
        })
        .filter(|t| heads.contains(&head(&t.text)))
        .filter_map(|t| {
            let term = tokenizer::stem(&t.text);
            weights.contains_key(&term).then_some(SnippetToken {
                term,
                from: t.from,
                to: t.to,
            })
        })
        .collect()
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Picks the window of at most `max_bytes` holding the most query weight (each distinct term
/// counted once) and renders it as HTML. Without any match, the start of the text.
pub fn render(
    text: &str,
    toks: &[SnippetToken],
    weights: &BTreeMap<String, Score>,
    max_bytes: usize,
) -> String {
    let matched: Vec<(&SnippetToken, Score)> = toks
        .iter()
        .filter_map(|t| weights.get(&t.term).map(|w| (t, *w)))
        .collect();
    let mut best: Option<(Score, usize, usize)> = None; // score, first, last matched index
    for i in 0..matched.len() {
        let start = matched[i].0.from;
        let mut seen: Vec<&str> = Vec::new();
        let mut score = 0.0;
        let mut last = i;
        for (j, (t, w)) in matched.iter().enumerate().skip(i) {
            if t.to - start > max_bytes {
                break;
            }
            if !seen.contains(&t.term.as_str()) {
                seen.push(&t.term);
                score += w;
            }
            last = j;
        }
        if best.is_none_or(|b| score > b.0) {
            best = Some((score, i, last));
        }
    }
    let (start, end) = match best {
        None => (0, floor_boundary(text, max_bytes)),
        Some((_, first, last)) => {
            let (a, b) = (matched[first].0.from, matched[last].0.to);
            // Centre the matches in the window, starting at a word boundary.
            let spare = max_bytes.saturating_sub(b - a);
            let mut s = floor_boundary(text, a.saturating_sub(spare / 3));
            if s > 0 {
                s = text[s..a]
                    .find(char::is_whitespace)
                    .map_or(s, |k| s + k + 1)
                    .min(a);
            }
            let e = floor_boundary(text, (s + max_bytes).max(b));
            (s, e)
        }
    };
    let mut html = String::new();
    if start > 0 {
        html.push('…');
    }
    let mut pos = start;
    for (t, _) in matched
        .iter()
        .filter(|(t, _)| t.from >= start && t.to <= end)
    {
        if t.from < pos {
            continue;
        }
        html.push_str(&escape(&text[pos..t.from]));
        html.push_str("<mark>");
        html.push_str(&escape(&text[t.from..t.to]));
        html.push_str("</mark>");
        pos = t.to;
    }
    html.push_str(&escape(&text[pos..end]));
    if end < text.len() {
        html.push('…');
    }
    html.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(terms: &[&str]) -> BTreeMap<String, Score> {
        terms.iter().map(|t| (t.to_string(), 1.0)).collect()
    }

    #[test]
    fn marks_matches_and_escapes_the_rest() {
        let text = "Check <b>the</b> log & then Bad_Timeout appears.";
        let html = render(text, &tokens(text), &w(&["timeout", "log"]), 200);
        assert_eq!(
            html,
            "Check &lt;b&gt;the&lt;/b&gt; <mark>log</mark> &amp; then Bad_<mark>Timeout</mark> appears."
        );
    }

    #[test]
    fn picks_the_window_with_most_distinct_terms() {
        let text = format!(
            "{} alpha here. {} beta gamma together.",
            "x ".repeat(200),
            "y ".repeat(200)
        );
        let html = render(&text, &tokens(&text), &w(&["alpha", "beta", "gamma"]), 60);
        assert!(
            html.contains("<mark>beta</mark> <mark>gamma</mark>"),
            "{html}"
        );
        assert!(html.starts_with('…'));
    }

    #[test]
    fn matching_tokens_agree_with_full_tokens() {
        let text = "Switches rejected: Bad_ConnectionRejected at 0x80AC0000, switching back.";
        let weights = w(&["switch", "reject", "0x80ac0000", "connect"]);
        let full: Vec<_> = tokens(text)
            .into_iter()
            .filter(|t| weights.contains_key(&t.term))
            .collect();
        assert_eq!(matching_tokens(text, &weights), full);
    }

    #[test]
    fn no_match_gives_the_start_and_multibyte_is_safe() {
        let text = "äöü ".repeat(100);
        let html = render(&text, &tokens(&text), &w(&["zzz"]), 31);
        assert!(html.starts_with("äöü"));
        assert!(html.ends_with('…'));
    }
}
