//! Text that leaves faultbook for other programs: XML (the Atom feed) and spreadsheets (CSV).
//! Records keep what was typed byte for byte; these functions only shape the copies going out.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Characters XML 1.0 does not allow anywhere (most C0 controls, U+FFFE, U+FFFF); a document
/// holding one is malformed and feed readers drop the whole feed.
fn xml_forbidden(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\u{fffe}' | '\u{ffff}')
}

/// The text with every character XML forbids written as a visible `\u{..}` escape, so a reader
/// still sees that the alarm held, say, an ESC (`\u{1b}`).
pub fn xml_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(xml_forbidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if xml_forbidden(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Characters a spreadsheet skips before it decides whether a cell is a formula: Unicode
/// whitespace (U+00A0, U+3000, …), control characters and invisible format characters.
fn skipped_before_formula(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Whether a spreadsheet could run the cell as a formula: its first visible character is
/// `=`, `+`, `-` or `@`, also in a compatibility form (fullwidth `＝`, small `﹢`, …), which
/// spreadsheets fold to ASCII. A cell starting with a tab or line break is treated the same,
/// as several spreadsheets drop those before parsing.
pub fn could_start_formula(cell: &str) -> bool {
    if cell.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    cell.chars()
        .find(|c| !skipped_before_formula(*c))
        .is_some_and(|c| {
            // NFKC of the one character is enough to fold every width and size variant.
            std::iter::once(c)
                .nfkc()
                .next()
                .is_some_and(|folded| matches!(folded, '=' | '+' | '-' | '@'))
        })
}

/// A CSV cell's text: XML-forbidden characters made visible (spreadsheet files are XML inside),
/// and a leading `'` where a spreadsheet would otherwise run the text as a formula.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let guarded = could_start_formula(cell);
    match (guarded, xml_safe(cell)) {
        (false, text) => text,
        (true, text) => Cow::Owned(format!("'{text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_xml_characters_become_visible_escapes() {
        assert_eq!(
            xml_safe("a\u{1}b\u{1b}[0m\tc\r\n"),
            "a\\u{1}b\\u{1b}[0m\tc\r\n"
        );
        assert!(matches!(xml_safe("plain <text>"), Cow::Borrowed(_)));
    }

    #[test]
    fn formulas_are_found_behind_any_invisible_prefix_and_in_any_width() {
        for risky in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            " =1",
            "\t=1",
            "\u{b}=1",
            "\u{c}=1",
            "\u{1f}=1",
            "\u{0}=1",
            "\u{a0}=1",
            "\u{3000}=1",
            "\u{feff}=1",
            "＝1+1",
            "＋1",
            "－1",
            "＠SUM(A1)",
            "\u{3000}＝1",
            "﹦1",
        ] {
            assert!(could_start_formula(risky), "{risky:?}");
            assert!(spreadsheet_safe(risky).starts_with('\''), "{risky:?}");
        }
        for plain in ["Bad_Timeout", "1+1", " a=b", "", "'quoted", "\u{3000}x"] {
            assert!(!could_start_formula(plain), "{plain:?}");
        }
    }
}
