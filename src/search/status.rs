//! Every OPC UA status code (names and values from the specification), with plain-language
//! meanings for the ones a plant floor sees, and recognition of a code inside pasted text.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

const CODES_CSV: &str = include_str!("opcua-status-codes.csv");
const MEANINGS_TOML: &str = include_str!("opcua_meanings.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Good,
    Uncertain,
    Bad,
}

impl Severity {
    fn of(value: u32) -> Severity {
        match value >> 30 {
            0 => Severity::Good,
            1 => Severity::Uncertain,
            _ => Severity::Bad,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Good => "good",
            Severity::Uncertain => "uncertain",
            Severity::Bad => "bad",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StatusCode {
    /// As in the specification: `BadConnectionRejected`.
    pub symbol: String,
    pub value: u32,
    pub severity: Severity,
    /// Plain-language meaning on a plant floor, where faultbook has one.
    pub meaning: Option<String>,
}

impl StatusCode {
    /// As logs print it: `Bad_ConnectionRejected`.
    pub fn name(&self) -> String {
        for prefix in ["Uncertain", "Good", "Bad"] {
            if let Some(rest) = self.symbol.strip_prefix(prefix) {
                if !rest.is_empty() {
                    return format!("{prefix}_{rest}");
                }
            }
        }
        self.symbol.clone()
    }

    pub fn hex(&self) -> String {
        format!("0x{:08X}", self.value)
    }

    pub fn signed(&self) -> i32 {
        self.value as i32
    }

    /// What faultbook shows: the plain meaning, or an honest note that there is none yet.
    pub fn description(&self) -> String {
        match &self.meaning {
            Some(m) => m.clone(),
            None => format!(
                "An OPC UA status code of severity {}. faultbook has no plant-floor notes for it yet: check the server's log for the operation that returned it.",
                self.severity.as_str()
            ),
        }
    }

    /// The name lower-cased without separators, as the tokenizer joins it: `badconnectionrejected`.
    pub fn joined(&self) -> String {
        joined(&self.symbol)
    }
}

/// The words of a pasted log line that may each be a code: split at white space and at the
/// punctuation logs wrap codes in (`status=0x80AC0000;`, `(E_ACCESSDENIED)`, `'…BadTimeout'>`).
/// Dots, slashes and `-` stay inside a word: they belong to dotted paths and signed numbers.
pub fn log_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '=' | '"' | '\'' | ':' | '<' | '>'
            )
    })
}

/// The status name inside a stack's spelling of it: the last member of a dotted path
/// (`StatusCodes.BadTimeout`, `asyncua.ua.uaerrors._auto.BadTimeout`, Go's `ua.StatusBadTimeout`,
/// `Opc.Ua::StatusCodes::BadTimeout`), without the prefix a stack puts before it (the ANSI C
/// stack's `OpcUa_`, open62541's `UA_STATUSCODE_`, Go's `Status`). Anything else is unchanged.
fn stack_spelling(word: &str) -> &str {
    let last = word
        .rsplit(['.', '/', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or(word);
    let starts_with = |s: &str, p: &str| {
        s.len() > p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    for prefix in ["UA_STATUSCODE_", "OpcUa_", "StatusCode_", "Status"] {
        if starts_with(last, prefix) {
            let rest = &last[prefix.len()..];
            if ["bad", "good", "uncertain"]
                .iter()
                .any(|severity| starts_with(rest, severity))
            {
                return rest;
            }
        }
    }
    last
}

/// A name lower-cased without underscores. Seven symbols hold an underscore of their own
/// (`GoodEdited_DependentValueChanged`); keeping it made them unfindable by name.
fn joined(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug)]
pub struct StatusTable {
    codes: Vec<StatusCode>,
    by_value: HashMap<u32, usize>,
    by_joined: HashMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusTableError {
    #[error("status code table line {0}: {1}")]
    Csv(usize, String),
    #[error("status meanings: {0}")]
    Meanings(String),
}

impl StatusTable {
    pub fn parse(csv: &str, meanings: &str) -> Result<StatusTable, StatusTableError> {
        let meanings: toml::Table = meanings
            .parse()
            .map_err(|e: toml::de::Error| StatusTableError::Meanings(e.to_string()))?;
        let mut table = StatusTable {
            codes: Vec::new(),
            by_value: HashMap::new(),
            by_joined: HashMap::new(),
        };
        for (i, line) in csv
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let mut parts = line.splitn(3, ',');
            let (Some(symbol), Some(hex)) = (parts.next(), parts.next()) else {
                return Err(StatusTableError::Csv(
                    i + 1,
                    "expected name,0xVALUE,description".into(),
                ));
            };
            let value = u32::from_str_radix(hex.trim_start_matches("0x"), 16)
                .map_err(|e| StatusTableError::Csv(i + 1, e.to_string()))?;
            let meaning = meanings
                .get(symbol)
                .and_then(|m| m.get("meaning"))
                .and_then(|m| m.as_str())
                .map(str::to_owned);
            let idx = table.codes.len();
            table.by_value.insert(value, idx);
            table.by_joined.insert(joined(symbol), idx);
            table.codes.push(StatusCode {
                symbol: symbol.to_string(),
                value,
                severity: Severity::of(value),
                meaning,
            });
        }
        for key in meanings.keys() {
            if !table.by_joined.contains_key(&joined(key)) {
                return Err(StatusTableError::Meanings(format!(
                    "`{key}` is not a status code"
                )));
            }
        }
        Ok(table)
    }

    pub fn all(&self) -> &[StatusCode] {
        &self.codes
    }

    pub fn by_value(&self, value: u32) -> Option<&StatusCode> {
        self.by_value.get(&value).map(|&i| &self.codes[i])
    }

    /// By name in any spelling: `Bad_ConnectionRejected`, `BadConnectionRejected`, `badconnectionrejected`.
    pub fn by_name(&self, name: &str) -> Option<&StatusCode> {
        let joined: String = name
            .chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        self.by_joined.get(&joined).map(|&i| &self.codes[i])
    }

    /// Recognises one word of pasted text as a status code: a name, hex with or without `0x`,
    /// unsigned decimal or signed 32-bit decimal. Bare `Good`, `Bad` and `Uncertain` are ordinary
    /// words, and short numbers are not codes.
    pub fn recognise(&self, word: &str) -> Option<&StatusCode> {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '-');
        if let Some(hex) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
            return u32::from_str_radix(hex, 16)
                .ok()
                .and_then(|v| self.by_value(v));
        }
        if let Some(digits) = w.strip_prefix('-') {
            if digits.len() >= 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
                return w.parse::<i32>().ok().and_then(|v| self.by_value(v as u32));
            }
            return None;
        }
        if w.len() >= 7 && w.bytes().all(|b| b.is_ascii_digit()) {
            let decimal = w.parse::<u32>().ok().and_then(|v| self.by_value(v));
            // Eight digits may also be hex written without `0x`: `80740000`.
            let hex = (w.len() == 8)
                .then(|| {
                    u32::from_str_radix(w, 16)
                        .ok()
                        .and_then(|v| self.by_value(v))
                })
                .flatten();
            return decimal.or(hex);
        }
        if w.len() == 8 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(w, 16)
                .ok()
                .and_then(|v| self.by_value(v));
        }
        let name = stack_spelling(w);
        // Only names start with these; checking first spares a lookup for every other word.
        let lower_prefix = |p: &str| {
            name.len() > p.len() && name.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        };
        if !(lower_prefix("bad") || lower_prefix("good") || lower_prefix("uncertain")) {
            return None;
        }
        let code = self.by_name(name)?;
        (!matches!(code.symbol.as_str(), "Good" | "Bad" | "Uncertain")).then_some(code)
    }

    /// The first status code named anywhere in a pasted line, in any notation.
    pub fn find_in(&self, text: &str) -> Option<&StatusCode> {
        log_words(text).find_map(|w| self.recognise(w))
    }
}

/// The built-in table, parsed once.
pub fn table() -> &'static StatusTable {
    static TABLE: OnceLock<StatusTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        StatusTable::parse(CODES_CSV, MEANINGS_TOML)
            .expect("the status code table compiled into the binary is valid (tested)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_code_and_sixty_meanings() {
        let t = StatusTable::parse(CODES_CSV, MEANINGS_TOML).unwrap();
        assert_eq!(t.all().len(), 271);
        let with_meaning = t.all().iter().filter(|c| c.meaning.is_some()).count();
        assert!(with_meaning >= 60, "{with_meaning}");
        for c in t.all() {
            assert!(!c.description().is_empty());
        }
    }

    #[test]
    fn known_values_from_the_specification() {
        let t = table();
        for (name, hex) in [
            ("Bad_NotConnected", 0x808A_0000u32),
            ("Bad_NoCommunication", 0x8031_0000),
            ("Bad_TooManySessions", 0x8056_0000),
            ("Bad_TooManySubscriptions", 0x8077_0000),
            ("Bad_NotWritable", 0x803B_0000),
            ("Bad_ConnectionRejected", 0x80AC_0000),
            ("Uncertain_LastUsableValue", 0x4090_0000),
        ] {
            let c = t.by_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(c.value, hex, "{name}");
            assert_eq!(c.name(), name);
        }
    }

    #[test]
    fn recognises_the_spellings_of_other_stacks() {
        let t = table();
        for word in [
            "OpcUa_BadTimeout",
            "UA_STATUSCODE_BADTIMEOUT",
            "StatusCodes.BadTimeout",
            "StatusCodes.Bad_Timeout",
            "Opc.Ua.StatusCodes.BadTimeout",
            "Opc::Ua::StatusCodes::BadTimeout",
            "opcua.ua.uaerrors._auto.BadTimeout",
            "asyncua.ua.uaerrors._auto.BadTimeout",
            "ua.StatusBadTimeout",
            "StatusBadTimeout",
        ] {
            assert_eq!(
                t.recognise(word).map(|c| c.symbol.as_str()),
                Some("BadTimeout"),
                "{word}"
            );
        }
        for line in [
            "status=OpcUa_BadTimeout,",
            "read failed (UA_STATUSCODE_BADTIMEOUT)",
            "ServiceResultException: StatusCodes.BadTimeout: timed out",
            "<class 'asyncua.ua.uaerrors._auto.BadTimeout'>",
            "err: ua.StatusBadTimeout;",
        ] {
            assert_eq!(
                t.find_in(line).map(|c| c.symbol.as_str()),
                Some("BadTimeout"),
                "{line}"
            );
        }
        // Words that only look like a prefix are not codes.
        for word in [
            "Status",
            "StatusGood",
            "Statusbar",
            "OpcUa_Connection",
            "ua.Status",
        ] {
            assert!(t.recognise(word).is_none(), "{word}");
        }
    }

    #[test]
    fn recognises_every_notation() {
        let t = table();
        for input in [
            "Bad_ConnectionRejected",
            "BadConnectionRejected",
            "badconnectionrejected",
            "0x80AC0000",
            "0x80ac0000",
            "80AC0000",
            "2158755840",
            "-2136211456",
            "(Bad_ConnectionRejected)",
            "80AC0000",
        ] {
            let c = t.recognise(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(c.hex(), "0x80AC0000", "{input}");
        }
        for input in [
            "Bad",
            "good",
            "uncertain",
            "12",
            "1500",
            "hello",
            "-1",
            "ZZZZZZZZ",
        ] {
            assert!(t.recognise(input).is_none(), "{input}");
        }
    }

    #[test]
    fn finds_a_code_inside_a_log_line() {
        let line = "2026-11-20 02:14:07,331 WARN [milo-netty-event-loop-1] c.i.i.g.o.c.c.OpcUaConnection: connect failed, status=StatusCode{name=Bad_ConnectionRejected, value=0x80AC0000, quality=bad}";
        assert_eq!(
            table().find_in(line).unwrap().symbol,
            "BadConnectionRejected"
        );
        assert_eq!(
            table().find_in("status 80740000").unwrap().symbol,
            "BadTypeMismatch"
        );
        assert_eq!(
            table()
                .find_in("write failed with 2151350272")
                .unwrap()
                .symbol,
            "BadNotWritable"
        );
        assert!(table()
            .find_in("2026-11-20 02:14:07 bad quality on tag")
            .is_none());
    }
}
