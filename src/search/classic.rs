//! OPC Classic result codes (DA, AE, HDA) and the Windows COM, RPC and Win32 HRESULTs that
//! FactoryTalk, Wonderware and iFIX nodes print, from `classic-codes.toml` (values from the
//! public headers named there, meanings in faultbook's words).
//!
//! Recognised by name (`OPC_E_UNKNOWNITEMID`, any case), by hex with or without `0x`
//! (`0xC0040007`, `C0040007`), and by unsigned or signed 32-bit decimal (`3221487623`,
//! `-1073479673`), as .NET and VB logs print an HRESULT. A value can carry two names
//! (OPC AE's `OPC_E_INVALIDBRANCHNAME` is DA's `OPC_E_INVALID_PID`); both are answered.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ClassicCode {
    pub name: String,
    #[serde(deserialize_with = "hex_value")]
    pub value: u32,
    pub family: String,
    pub source: String,
    pub meaning: String,
}

impl ClassicCode {
    pub fn hex(&self) -> String {
        format!("0x{:08X}", self.value)
    }

    pub fn signed(&self) -> i32 {
        self.value as i32
    }

    /// The name lower-cased without underscores, as the tokenizer joins it: `opceunknownitemid`.
    pub fn joined(&self) -> String {
        joined(&self.name)
    }
}

fn joined(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn hex_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let s = String::deserialize(d)?;
    s.strip_prefix("0x")
        .filter(|h| h.len() == 8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not 0x and 8 hex digits")))
}

#[derive(Debug, Deserialize)]
struct File {
    code: Vec<ClassicCode>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClassicTableError {
    #[error("classic code table: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("classic code table: `{0}` appears twice")]
    DuplicateName(String),
}

#[derive(Debug, Default)]
pub struct ClassicTable {
    codes: Vec<ClassicCode>,
    by_value: HashMap<u32, Vec<usize>>,
    by_joined: HashMap<String, usize>,
}

impl ClassicTable {
    pub fn parse(text: &str) -> Result<ClassicTable, ClassicTableError> {
        let file: File = toml::from_str(text)?;
        let mut table = ClassicTable::default();
        for code in file.code {
            let idx = table.codes.len();
            if table.by_joined.insert(code.joined(), idx).is_some() {
                return Err(ClassicTableError::DuplicateName(code.name));
            }
            table.by_value.entry(code.value).or_default().push(idx);
            table.codes.push(code);
        }
        Ok(table)
    }

    pub fn all(&self) -> &[ClassicCode] {
        &self.codes
    }

    /// Every name a value carries (usually one).
    pub fn by_value(&self, value: u32) -> Vec<&ClassicCode> {
        self.by_value
            .get(&value)
            .map(|ids| ids.iter().map(|&i| &self.codes[i]).collect())
            .unwrap_or_default()
    }

    /// By name in any case, with or without its underscores.
    pub fn by_name(&self, name: &str) -> Option<&ClassicCode> {
        self.by_joined.get(&joined(name)).map(|&i| &self.codes[i])
    }

    /// The codes one word of pasted text names, in any notation; empty when it names none.
    pub fn recognise(&self, word: &str) -> Vec<&ClassicCode> {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '-');
        if w.is_empty() {
            return Vec::new();
        }
        if let Some(hex) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
            return u32::from_str_radix(hex, 16)
                .map(|v| self.by_value(v))
                .unwrap_or_default();
        }
        if let Some(digits) = w.strip_prefix('-') {
            if digits.len() >= 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(v) = w.parse::<i32>() {
                    return self.by_value(v as u32);
                }
            }
            return Vec::new();
        }
        if w.len() >= 7 && w.bytes().all(|b| b.is_ascii_digit()) {
            let decimal = w
                .parse::<u32>()
                .map(|v| self.by_value(v))
                .unwrap_or_default();
            if !decimal.is_empty() {
                return decimal;
            }
        }
        if w.len() == 8 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u32::from_str_radix(w, 16)
                .map(|v| self.by_value(v))
                .unwrap_or_default();
        }
        // Names hold an underscore (`E_FAIL`, `OPC_E_BUSY`); a bare word is never one.
        if !w.contains('_') {
            return Vec::new();
        }
        self.by_name(w).into_iter().collect()
    }

    /// The codes named by the first word of a pasted line that names any.
    pub fn find_in(&self, text: &str) -> Vec<&ClassicCode> {
        super::status::log_words(text)
            .map(|w| self.recognise(w))
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    }
}

/// The guides whose front-matter alarms name this value, in any notation.
pub fn guides_listing(
    library: &crate::content::Library,
    value: u32,
) -> Vec<&crate::content::Guide> {
    let t = table();
    library
        .all()
        .iter()
        .filter(|g| {
            g.front
                .alarms
                .iter()
                .any(|a| t.find_in(a).iter().any(|c| c.value == value))
        })
        .collect()
}

/// The built-in table, parsed once.
pub fn table() -> &'static ClassicTable {
    static TABLE: OnceLock<ClassicTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        ClassicTable::parse(include_str!("classic-codes.toml"))
            .expect("the built-in classic code table is checked by its tests")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_with_codes_of_every_family() {
        let t = table();
        for family in ["OPC DA", "OPC AE", "OPC HDA", "COM", "RPC", "Win32"] {
            assert!(
                t.all().iter().any(|c| c.family == family),
                "no {family} code"
            );
        }
        for c in t.all() {
            assert!(!c.meaning.trim().is_empty(), "{} has no meaning", c.name);
            assert!(!c.source.trim().is_empty(), "{} has no source", c.name);
            // No value of this table is an OPC UA status code (those end in 0000).
            assert!(
                super::super::status::table().by_value(c.value).is_none(),
                "{} collides with an OPC UA code",
                c.name
            );
        }
    }

    #[test]
    fn every_notation_of_every_code_is_recognised() {
        let t = table();
        for c in t.all() {
            let forms = [
                c.name.clone(),
                c.name.to_lowercase(),
                c.hex(),
                c.hex().to_lowercase(),
                c.hex()[2..].to_string(),
                c.value.to_string(),
                c.signed().to_string(),
            ];
            for form in forms {
                // Short decimals (success codes such as 0x00040200) are ordinary numbers.
                if form.trim_start_matches('-').len() < 7
                    && form.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                {
                    continue;
                }
                let found = t.recognise(&form);
                assert!(
                    found.iter().any(|f| f.value == c.value),
                    "{form} should name {}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn a_logged_line_names_its_code_and_a_shared_value_both_names() {
        let t = table();
        let found = t.find_in("AddItems failed: hr=0xC0040007 (item 'Line4.Motor.Speed')");
        assert_eq!(
            found.first().map(|c| c.name.as_str()),
            Some("OPC_E_UNKNOWNITEMID")
        );
        let found = t.find_in("CoCreateInstanceEx returned -2147023174");
        assert_eq!(
            found.first().map(|c| c.name.as_str()),
            Some("RPC_S_SERVER_UNAVAILABLE")
        );
        let shared: Vec<&str> = t
            .recognise("0xC0040203")
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert!(
            shared.contains(&"OPC_E_INVALID_PID") && shared.contains(&"OPC_E_INVALIDBRANCHNAME"),
            "{shared:?}"
        );
        assert!(t.recognise("Bad_Timeout").is_empty());
        assert!(t.recognise("12345678").is_empty());
    }
}
