//! Hex status codes as OCR misreads them: the letters it puts for digits, and the known code
//! (of the OPC UA table or the OPC Classic and Windows one) a misread value can be.

use std::sync::OnceLock;

use super::{or_list, CodeReading, KnownCode};
use crate::search::{classic, status};

/// Most misreads (8/B, 0/8, 6/0, 1/7) that may lie between a hex value and the known code it
/// is taken for: two covers a zero read as 8 beside a B read as 8, and any value that more
/// than one code explains is refused anyway.
const MAX_CONFUSIONS: u32 = 2;
/// Pairs of hex digits OCR mistakes for each other on alarm banners.
const CONFUSIONS: [(u8, u8); 4] = [(b'8', b'B'), (b'0', b'8'), (b'6', b'0'), (b'1', b'7')];
/// Characters of eight that must look like digits (`0`, `O`, `l`, …) for a misread hex.
const MIN_DIGIT_LIKE: usize = 5;
/// A value no known code explains names at most this many codes that differ in few digits.
pub(super) const MAX_NEAREST: usize = 3;
const NEAREST_DIGITS: u32 = 2;

/// A word shaped like an 8-digit hex status code, as written or as OCR misreads it.
pub(super) struct HexWord {
    /// The eight digits with OCR's letters for digits put right, upper-case.
    digits: String,
    /// Nothing in it misread (OCR prefix or letters for digits).
    clean: bool,
    /// Written without any prefix.
    bare: bool,
}

impl HexWord {
    pub(super) fn parse(word: &str) -> Option<HexWord> {
        if !word.is_ascii() {
            return None;
        }
        let (prefix, body) = match word.len() {
            10 => word.split_at(2),
            8 => ("", word),
            _ => return None,
        };
        let ocr_prefix = matches!(
            prefix,
            "Ox" | "OX" | "ox" | "oX" | "8x" | "8X" | "@x" | "@X"
        );
        if !(prefix.is_empty() || ocr_prefix || prefix == "0x" || prefix == "0X") {
            return None;
        }
        let mut misread = ocr_prefix;
        let mut digits = String::with_capacity(8);
        for c in body.chars() {
            let d = match c {
                '0'..='9' | 'A'..='F' => c,
                'a'..='f' => c.to_ascii_uppercase(),
                'O' | 'o' | 'Q' | '@' => '0',
                'I' | 'l' | '|' => '1',
                // S for 5 only where a prefix says a code is meant (measured in tests/ocr_text.rs).
                'S' if !prefix.is_empty() => '5',
                _ => return None,
            };
            misread |= !c.is_ascii_hexdigit();
            digits.push(d);
        }
        let real_digits = body.bytes().filter(u8::is_ascii_digit).count();
        let digit_like = body
            .bytes()
            .filter(|b| b.is_ascii_digit() || b"OoQ@Il|".contains(b))
            .count();
        // Status codes are mostly zeros: a word after `Ox` that does not look mostly like
        // digits (`Oxidation`) is a word. A bare run needs a real digit too.
        let plausible = match prefix {
            "0x" | "0X" => true,
            "" => real_digits >= 1 && digit_like >= MIN_DIGIT_LIKE,
            _ => digit_like >= MIN_DIGIT_LIKE,
        };
        plausible.then_some(HexWord {
            digits,
            clean: !misread,
            bare: prefix.is_empty(),
        })
    }

    /// The value this word stands for (None: no one code) and how it was read, when that is
    /// worth saying; None when it is no code at all (a hex value no table knows written as
    /// it is, far from every code: a message id or a handle).
    pub(super) fn resolve(&self, written: &str) -> Option<(Option<u32>, Option<CodeReading>)> {
        let value = u32::from_str_radix(&self.digits, 16).ok()?;
        let mut reading = CodeReading {
            from: written.to_string(),
            read_as: None,
            ambiguous: Vec::new(),
            nearest: Vec::new(),
            note: String::new(),
        };
        if let Some(known) = describe(value) {
            if self.clean {
                return Some((Some(value), None));
            }
            reading.note = format!("Read “{written}” as {} ({}).", known.hex, known.name);
            reading.read_as = Some(known.hex);
            return Some((Some(value), Some(reading)));
        }
        if self.bare && self.clean {
            return None;
        }
        let within: Vec<u32> = known_values()
            .iter()
            .copied()
            .filter(|&k| confusions(value, k).is_some_and(|d| d <= MAX_CONFUSIONS))
            .collect();
        let shown = format!("0x{}", self.digits);
        match within.as_slice() {
            [one] => {
                let known = describe(*one)?;
                reading.note = format!(
                    "Read “{written}” as {} ({}): the only known code that a misread 8/B, 0/8, 6/0 or 1/7 explains.",
                    known.hex, known.name
                );
                reading.read_as = Some(known.hex);
                Some((Some(*one), Some(reading)))
            }
            // Written cleanly, only a value shaped like an OPC UA code (its low 16 bits 0)
            // is worth a word: `0x00000001` is a number, not a misread code.
            [] if self.clean && (value & 0xFFFF != 0 || value >> 16 == 0) => None,
            [] => {
                reading.nearest = nearest(value);
                reading.note = if reading.nearest.is_empty() {
                    format!("“{shown}” is not a known status code.")
                } else {
                    format!(
                        "“{shown}” is not a known status code; nearest known codes: {}.",
                        listed(&reading.nearest)
                    )
                };
                Some((None, Some(reading)))
            }
            several => {
                reading.ambiguous = several.iter().filter_map(|&v| describe(v)).collect();
                let options: Vec<String> = reading
                    .ambiguous
                    .iter()
                    .map(|k| format!("{} ({})", k.hex, k.name))
                    .collect();
                let options: Vec<&str> = options.iter().map(String::as_str).collect();
                reading.note = format!("“{shown}” could be {}; not guessing.", or_list(&options));
                Some((None, Some(reading)))
            }
        }
    }
}

fn listed(codes: &[KnownCode]) -> String {
    codes
        .iter()
        .map(|k| format!("{} ({})", k.hex, k.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every value of both code tables, once.
fn known_values() -> &'static [u32] {
    static VALUES: OnceLock<Vec<u32>> = OnceLock::new();
    VALUES.get_or_init(|| {
        let mut v: Vec<u32> = status::table().all().iter().map(|c| c.value).collect();
        v.extend(classic::table().all().iter().map(|c| c.value));
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// The name a known value carries in either table (both of a classic value's names).
pub(super) fn describe(value: u32) -> Option<KnownCode> {
    let hex = format!("0x{value:08X}");
    if let Some(c) = status::table().by_value(value) {
        return Some(KnownCode {
            name: c.name(),
            hex,
        });
    }
    let names: Vec<String> = classic::table()
        .by_value(value)
        .into_iter()
        .map(|c| c.name.clone())
        .collect();
    (!names.is_empty()).then(|| KnownCode {
        name: names.join(" / "),
        hex,
    })
}

/// Whether OCR confusions can turn one of these values into the other.
pub(super) fn confusable(a: u32, b: u32) -> bool {
    confusions(a, b).is_some_and(|d| d <= MAX_CONFUSIONS)
}

/// How many OCR confusions turn `read` into `known`, digit by digit; None when a digit differs
/// in a way OCR does not explain.
fn confusions(read: u32, known: u32) -> Option<u32> {
    let (a, b) = (format!("{read:08X}"), format!("{known:08X}"));
    a.bytes().zip(b.bytes()).try_fold(0, |n, (x, y)| {
        if x == y {
            Some(n)
        } else if CONFUSIONS
            .iter()
            .any(|&(p, q)| (x, y) == (p, q) || (x, y) == (q, p))
        {
            Some(n + 1)
        } else {
            None
        }
    })
}

/// Known codes that differ from `value` in the fewest hex digits (at most `NEAREST_DIGITS`).
fn nearest(value: u32) -> Vec<KnownCode> {
    let differing = |k: u32| (0..8).filter(|i| (value ^ k) >> (4 * i) & 0xF != 0).count() as u32;
    let mut near: Vec<(u32, u32)> = known_values()
        .iter()
        .map(|&k| (differing(k), k))
        .filter(|(d, _)| *d <= NEAREST_DIGITS)
        .collect();
    near.sort_unstable();
    near.into_iter()
        .take(MAX_NEAREST)
        .filter_map(|(_, k)| describe(k))
        .collect()
}
