//! Alarm-aware tokenizing. Splits identifiers at `_ - . /`, camelCase and letter/digit
//! boundaries while also keeping the whole identifier, so `Bad_ConnectionRejected`,
//! `BadConnectionRejected` and `bad connection rejected` meet; normalises hex (`0x80AC0000`,
//! `80ac0000`) and numbers (`SRVO-023`, `srvo 23`); adds the other notations of any OPC UA
//! status code it recognises (name <-> hex <-> decimal) at the same position.

use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

use super::classic;
use super::status;

/// Name under which the analyzer is registered with the index.
pub const ANALYZER: &str = "alarm";

/// Tokens longer than this are dropped: base64 blobs and the like are not searchable words.
const MAX_TOKEN_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A word or number as written (lower-cased, numbers without leading zeros).
    Part,
    /// The whole identifier joined: `badconnectionrejected` for `Bad_ConnectionRejected`.
    Joined,
    /// A normalised hex value: `0x80ac0000`.
    Hex,
    /// Another notation of a recognised status code, added at the same position.
    Synonym,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmToken {
    pub text: String,
    pub kind: TokenKind,
    pub position: usize,
    pub from: usize,
    pub to: usize,
}

fn is_connector(c: char) -> bool {
    matches!(c, '_' | '-' | '.' | '/')
}

fn is_chunk_char(c: char) -> bool {
    c.is_alphanumeric() || is_connector(c)
}

fn strip_zeros(digits: &str) -> String {
    let s = digits.trim_start_matches('0');
    if s.is_empty() {
        "0".into()
    } else {
        s.into()
    }
}

/// Splits an alphanumeric run at camelCase and letter/digit boundaries. A single letter stays
/// with the digits after it (`S7`, `x64`), longer letter runs split off (`SRVO023` -> `SRVO`, `023`).
fn split_word(word: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0usize; // index into chars
    for i in 1..chars.len() {
        let (prev, cur) = (chars[i - 1].1, chars[i].1);
        let next = chars.get(i + 1).map(|c| c.1);
        let run_letters = chars[start..i].iter().all(|c| c.1.is_alphabetic());
        let boundary = (prev.is_lowercase() && cur.is_uppercase())
            || (prev.is_uppercase() && cur.is_uppercase() && next.is_some_and(char::is_lowercase))
            || (prev.is_alphabetic() && cur.is_numeric() && run_letters && i - start >= 2)
            || (prev.is_numeric() && cur.is_alphabetic());
        if boundary {
            out.push((chars[start].0, chars[i].0));
            start = i;
        }
    }
    if !chars.is_empty() {
        out.push((chars[start].0, word.len()));
    }
    out
}

fn normalise_part(part: &str) -> String {
    if part.bytes().all(|b| b.is_ascii_digit()) {
        strip_zeros(part)
    } else {
        part.to_lowercase()
    }
}

fn hex_token(value: u32) -> String {
    format!("0x{value:08x}")
}

/// Parses hex written as `0x...` (any length up to 8 digits) or as exactly 8 hex digits with at
/// least one letter and one digit (`80AC0000`).
fn parse_hex(chunk: &str) -> Option<u32> {
    if let Some(h) = chunk
        .strip_prefix("0x")
        .or_else(|| chunk.strip_prefix("0X"))
    {
        if !h.is_empty() && h.len() <= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(h, 16).ok();
        }
        return None;
    }
    let b = chunk.as_bytes();
    if b.len() == 8
        && b.iter().all(u8::is_ascii_hexdigit)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
    {
        return u32::from_str_radix(chunk, 16).ok();
    }
    None
}

fn push(
    out: &mut Vec<AlarmToken>,
    text: String,
    kind: TokenKind,
    position: usize,
    from: usize,
    to: usize,
) {
    if !text.is_empty() && text.len() <= MAX_TOKEN_LEN {
        out.push(AlarmToken {
            text,
            kind,
            position,
            from,
            to,
        });
    }
}

/// Adds the hex and joined-name notations of codes (OPC UA, OPC Classic or Windows) at one
/// position, except the notation the text already had; one hex token per position.
fn add_notations(
    out: &mut Vec<AlarmToken>,
    codes: impl IntoIterator<Item = (u32, String)>,
    position: usize,
    (from, to): (usize, usize),
    had: TokenKind,
) {
    for (value, joined) in codes {
        let has_hex = out
            .iter()
            .any(|t| t.position == position && t.text == hex_token(value));
        if had != TokenKind::Hex && !has_hex {
            push(
                out,
                hex_token(value),
                TokenKind::Synonym,
                position,
                from,
                to,
            );
        }
        if had != TokenKind::Joined {
            push(out, joined, TokenKind::Synonym, position, from, to);
        }
    }
}

/// The notations of the OPC UA code and the OPC Classic or Windows codes a value names.
fn codes_of(value: u32) -> Vec<(u32, String)> {
    let mut codes: Vec<(u32, String)> = status::table()
        .by_value(value)
        .map(|c| (c.value, c.joined()))
        .into_iter()
        .collect();
    codes.extend(
        classic::table()
            .by_value(value)
            .into_iter()
            .map(|c| (c.value, c.joined())),
    );
    codes
}

/// The tokens of `text`, with their kinds. The tantivy tokenizer and the query builder share it.
pub fn analyze(text: &str) -> Vec<AlarmToken> {
    let table = status::table();
    let mut out: Vec<AlarmToken> = Vec::new();
    let mut position = 0usize;

    let mut idx = 0usize;
    let bytes_len = text.len();
    while idx < bytes_len {
        let Some(c) = text[idx..].chars().next() else {
            break;
        };
        if !is_chunk_char(c) {
            idx += c.len_utf8();
            continue;
        }
        let start = idx;
        let mut end = idx;
        for (off, ch) in text[idx..].char_indices() {
            if !is_chunk_char(ch) {
                break;
            }
            end = idx + off + ch.len_utf8();
        }
        idx = end;
        let raw = &text[start..end];

        // A signed 32-bit decimal status code: `-2136211456`.
        if let Some(digits) = raw.strip_prefix('-') {
            if digits.len() >= 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(v) = raw.parse::<i32>() {
                    push(
                        &mut out,
                        raw.to_string(),
                        TokenKind::Part,
                        position,
                        start,
                        end,
                    );
                    let codes = codes_of(v as u32);
                    add_notations(&mut out, codes, position, (start, end), TokenKind::Part);
                    position += 1;
                    continue;
                }
            }
        }

        let trimmed_start = raw.len() - raw.trim_start_matches(is_connector).len();
        let chunk = raw.trim_matches(is_connector);
        if chunk.is_empty() {
            continue;
        }
        let from = start + trimmed_start;
        let to = from + chunk.len();

        if let Some(v) = parse_hex(chunk) {
            push(&mut out, hex_token(v), TokenKind::Hex, position, from, to);
            add_notations(&mut out, codes_of(v), position, (from, to), TokenKind::Hex);
            position += 1;
            continue;
        }
        if chunk.bytes().all(|b| b.is_ascii_digit()) {
            push(
                &mut out,
                strip_zeros(chunk),
                TokenKind::Part,
                position,
                from,
                to,
            );
            if chunk.len() >= 7 {
                if let Ok(v) = chunk.parse::<u32>() {
                    add_notations(&mut out, codes_of(v), position, (from, to), TokenKind::Part);
                }
            }
            // Eight digits may be hex without its `0x` (`80740000`, `80070005`); only a known
            // code counts.
            if chunk.len() == 8 {
                let codes = u32::from_str_radix(chunk, 16)
                    .map(codes_of)
                    .unwrap_or_default();
                if let Some(&(v, _)) = codes.first() {
                    push(&mut out, hex_token(v), TokenKind::Hex, position, from, to);
                    add_notations(&mut out, codes, position, (from, to), TokenKind::Hex);
                }
            }
            position += 1;
            continue;
        }

        let first = position;
        let chunk_start = out.len();
        let mut joined = String::new();
        let mut parts = 0;
        for piece in chunk.split(is_connector).filter(|p| !p.is_empty()) {
            let piece_from = from + (piece.as_ptr() as usize - chunk.as_ptr() as usize);
            let spans = split_word(piece);
            let piece_first = position;
            let mut piece_joined = String::new();
            for &(s, e) in &spans {
                let part = normalise_part(&piece[s..e]);
                joined.push_str(&part);
                piece_joined.push_str(&part);
                push(
                    &mut out,
                    part,
                    TokenKind::Part,
                    position,
                    piece_from + s,
                    piece_from + e,
                );
                position += 1;
                parts += 1;
            }
            // `OpcUaConnection` inside `c.i.i.g.o.c.c.OpcUaConnection` is kept whole too.
            if spans.len() > 1 && piece.len() < chunk.len() {
                let to = piece_from + piece.len();
                push(
                    &mut out,
                    piece_joined,
                    TokenKind::Joined,
                    piece_first,
                    piece_from,
                    to,
                );
            }
        }
        if parts > 1 {
            push(&mut out, joined.clone(), TokenKind::Joined, first, from, to);
        }
        if let Some(code) = table.recognise(chunk) {
            // Every spelling of a status name carries all of its parts, its joined name and its hex.
            let mut extra: Vec<String> = split_word(&code.symbol)
                .into_iter()
                .map(|(s, e)| code.symbol[s..e].to_lowercase())
                .collect();
            extra.push(code.joined());
            extra.push(hex_token(code.value));
            for text in extra {
                if !out[chunk_start..].iter().any(|t| t.text == text) {
                    push(&mut out, text, TokenKind::Synonym, first, from, to);
                }
            }
        }
        // `OPC_E_UNKNOWNITEMID` or `E_ACCESSDENIED`: its hex rides along, so a guide that lists
        // only the hex is found by the name, and the other way round.
        if chunk.contains('_') {
            for code in classic::table().recognise(chunk) {
                let hex = hex_token(code.value);
                if !out[chunk_start..].iter().any(|t| t.text == hex) {
                    push(&mut out, hex, TokenKind::Synonym, first, from, to);
                }
                let joined = code.joined();
                if !out[chunk_start..].iter().any(|t| t.text == joined) {
                    push(&mut out, joined, TokenKind::Synonym, first, from, to);
                }
            }
        }
    }
    out
}

/// The tantivy side of `analyze`. `for_snippets` keeps only tokens that cover their own text
/// (no joined or synonym tokens), because highlighting needs non-overlapping ranges in order.
#[derive(Clone, Default)]
pub struct AlarmTokenizer {
    pub for_snippets: bool,
}

pub struct AlarmTokenStream {
    tokens: Vec<AlarmToken>,
    next: usize,
    token: Token,
}

impl Tokenizer for AlarmTokenizer {
    type TokenStream<'a> = AlarmTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> AlarmTokenStream {
        let mut tokens = analyze(text);
        if self.for_snippets {
            tokens.retain(|t| matches!(t.kind, TokenKind::Part | TokenKind::Hex));
        }
        AlarmTokenStream {
            tokens,
            next: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for AlarmTokenStream {
    fn advance(&mut self) -> bool {
        let Some(t) = self.tokens.get(self.next) else {
            return false;
        };
        self.next += 1;
        self.token.text.clear();
        self.token.text.push_str(&t.text);
        self.token.position = t.position;
        self.token.offset_from = t.from;
        self.token.offset_to = t.to;
        self.token.position_length = 1;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The analyzer used for every text field: alarm tokens, then English stemming so that
/// `switches` meets `switch`.
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(AlarmTokenizer::default())
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The same analysis for highlighting matches in a snippet.
pub fn snippet_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(AlarmTokenizer { for_snippets: true })
        .filter(Stemmer::new(Language::English))
        .build()
}

/// English stemming of one token, as the analyzer does it.
pub fn stem(word: &str) -> String {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    STEMMER
        .get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
        .stem(word)
        .into_owned()
}

/// The terms the index holds for `text`, in order (what a query on `text` looks up).
pub fn terms(text: &str) -> Vec<(String, usize)> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        out.push((t.text.clone(), t.position));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        analyze(input).into_iter().map(|t| t.text).collect()
    }

    fn has_all(input: &str, expected: &[&str]) {
        let got = texts(input);
        for e in expected {
            assert!(
                got.iter().any(|g| g == e),
                "{input:?}: expected {e:?} in {got:?}"
            );
        }
    }

    #[test]
    fn status_names_in_every_spelling_meet() {
        for input in [
            "Bad_ConnectionRejected",
            "BadConnectionRejected",
            "badconnectionrejected",
            "BAD_CONNECTIONREJECTED",
        ] {
            has_all(
                input,
                &[
                    "bad",
                    "connection",
                    "rejected",
                    "badconnectionrejected",
                    "0x80ac0000",
                ],
            );
        }
        has_all(
            "bad connection rejected",
            &["bad", "connection", "rejected"],
        );
        has_all(
            "Bad ConnectionRejected",
            &["bad", "connection", "rejected", "connectionrejected"],
        );
    }

    #[test]
    fn hex_meets_in_any_case_and_prefix() {
        for input in [
            "0x80AC0000",
            "80AC0000",
            "0x80ac0000",
            "80ac0000",
            "(0X80AC0000)",
        ] {
            has_all(input, &["0x80ac0000", "badconnectionrejected"]);
        }
        // Short hex with 0x is normalised to eight digits.
        has_all("0xC0040007", &["0xc0040007"]);
        has_all("0x1F", &["0x0000001f"]);
        has_all("80740000", &["80740000", "0x80740000", "badtypemismatch"]);
    }

    #[test]
    fn decimal_status_codes_gain_hex_and_name() {
        has_all(
            "2158755840",
            &["2158755840", "0x80ac0000", "badconnectionrejected"],
        );
        has_all(
            "value=-2136211456",
            &["-2136211456", "0x80ac0000", "badconnectionrejected"],
        );
    }

    #[test]
    fn codes_with_dashes_and_leading_zeros_meet() {
        has_all("SRVO-023", &["srvo", "23", "srvo23"]);
        has_all("SRVO023", &["srvo", "23", "srvo23"]);
        has_all("srvo 23", &["srvo", "23"]);
    }

    #[test]
    fn splits_dotted_class_names_and_paths_but_keeps_the_whole() {
        has_all(
            "c.i.i.g.o.c.c.OpcUaConnection",
            &["opc", "ua", "connection", "opcuaconnection"],
        );
        has_all("CCU-Historian", &["ccu", "historian", "ccuhistorian"]);
        has_all(
            "NodeName.HIST_HEARTBEAT.F_CV",
            &["hist", "heartbeat", "cv", "nodenamehistheartbeatfcv"],
        );
        has_all(
            r"C:\Historian Data\LogFiles",
            &["historian", "data", "log", "files", "logfiles"],
        );
        has_all("S7-1500", &["s7", "1500", "s71500"]);
        has_all("S7Plus", &["s7", "plus", "s7plus"]);
    }

    #[test]
    fn parts_keep_positions_and_whole_shares_the_first() {
        let t = analyze("Bad_ConnectionRejected now");
        let pos = |s: &str| t.iter().find(|x| x.text == s).map(|x| x.position);
        assert_eq!(pos("bad"), Some(0));
        assert_eq!(pos("connection"), Some(1));
        assert_eq!(pos("rejected"), Some(2));
        assert_eq!(pos("badconnectionrejected"), Some(0));
        assert_eq!(pos("now"), Some(3));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let long = "x".repeat(10_000);
        for input in [
            "",
            "\"\"\"((([[[",
            "title:foo AND body:(bar",
            "\u{0}\u{1}\u{7f}",
            "🔥🔥 Bad_Timeout 🔥",
            long.as_str(),
            "_-./",
            "-",
            "-12345678901234567890",
            "0x",
            "0xFFFFFFFFFF",
            "ÄÖÜ straße İstanbul",
        ] {
            let t = analyze(input);
            assert!(t
                .iter()
                .all(|t| t.text.len() <= MAX_TOKEN_LEN && !t.text.is_empty()));
        }
        has_all("🔥🔥 Bad_Timeout 🔥", &["badtimeout", "timeout"]);
        has_all("ÄÖÜ straße", &["äöü", "straße"]);
    }

    #[test]
    fn stemming_joins_word_forms() {
        let a: Vec<_> = terms("switches").into_iter().map(|t| t.0).collect();
        let b: Vec<_> = terms("switch").into_iter().map(|t| t.0).collect();
        assert_eq!(a, b);
        // The standalone stem agrees with the analyzer's.
        for (t, (stemmed, _)) in analyze("Switches rejected connections")
            .iter()
            .zip(terms("Switches rejected connections"))
        {
            assert_eq!(stem(&t.text), stemmed);
        }
    }
}
