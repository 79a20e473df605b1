//! The one list of a case's fields. The form, the case page, the JSON, the CSV columns, the SQL
//! column lists and binds, and the checks on a draft all read it: adding a field is one line in
//! `case_fields!` below (and a migration).

use serde::{Deserialize, Deserializer, Serialize};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use super::{Outcome, ALARM_MAX, LONG_MAX, SHORT_MAX};
use crate::content::Library;

/// How a field's text is checked and what it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A guide slug or one of its earlier slugs; empty (or `none`) for an unsorted case.
    Guide,
    /// One line, at most `SHORT_MAX` characters, trimmed.
    Short,
    /// Free text, at most `LONG_MAX` characters, trailing whitespace dropped.
    Long,
    /// What the screen said: required, kept byte for byte.
    Alarm,
    /// A wall-clock date and time as the tech read it off the HMI (no zone unless one was given),
    /// so it stays text rather than a `Timestamp`.
    WallClock,
    /// Hours on the meter, a number.
    Hours,
    /// A whole number of parts.
    Count,
    Outcome,
}

/// Where the case form puts a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormPlace {
    /// "What the screen said".
    Screen,
    /// "The machine".
    Machine,
    /// "What you did".
    Work,
    /// After the work fields: who filed.
    Signature,
    /// Drawn by the form itself (the guide in the action, the alarm box, the outcome buttons).
    Own,
}

/// Where the case page shows a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePlace {
    /// In the details list, under this label.
    Detail(&'static str),
    /// Under its own heading, preformatted (parameter sets, I/O maps).
    Pre(&'static str),
    /// Under its own heading, as prose.
    Prose(&'static str),
    /// In the page's frame: crumbs, title, the "filed by" line, the outcome.
    Frame,
}

/// One case field: its name (form field, JSON key, CSV column and SQL column alike), how it
/// is checked, and where the form and the page show it.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub label: &'static str,
    /// The form input's type: `text`, `textarea` or `datetime-local`.
    pub input: &'static str,
    pub hint: &'static str,
    pub form: FormPlace,
    pub page: PagePlace,
}

const fn spec(kind: Kind, label: &'static str, form: FormPlace, page: PagePlace) -> Field {
    Field {
        name: "",
        kind,
        label,
        input: match kind {
            Kind::Long => "textarea",
            Kind::WallClock => "datetime-local",
            _ => "text",
        },
        hint: "",
        form,
        page,
    }
}

const fn hint(f: Field, hint: &'static str) -> Field {
    Field { hint, ..f }
}

/// Numbers may come as JSON numbers or as form text.
fn flexible<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flex {
        S(String),
        N(serde_json::Number),
        B(bool),
    }
    Ok(Option::<Flex>::deserialize(d)?.map(|f| match f {
        Flex::S(s) => s,
        Flex::N(n) => n.to_string(),
        Flex::B(b) => b.to_string(),
    }))
}

/// One fault in a draft, reported against its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

macro_rules! case_fields {
    ($( $(#[$draft_attr:meta])* $name:ident: $ty:ty = $spec:expr; )*) => {
        /// Every case field, in the order of the JSON, the CSV and the database columns.
        pub const FIELDS: &[Field] = &[$( Field { name: stringify!($name), ..$spec } ),*];

        /// Every field's name, in table order.
        pub const DRAFT_FIELDS: &[&str] = &[$(stringify!($name)),*];

        /// A case's checked fields: parsed from a draft, or read back from the database.
        #[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
        pub struct NewCase {
            $(pub $name: $ty,)*
        }

        /// A case as submitted, untrusted: every field optional text until parsed.
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CaseDraft {
            $($(#[$draft_attr])* pub $name: Option<String>,)*
        }

        impl CaseDraft {
            /// Sets a field by its name; false for a name that is not a case field.
            pub fn set(&mut self, name: &str, value: String) -> bool {
                match name {
                    $(stringify!($name) => self.$name = Some(value),)*
                    _ => return false,
                }
                true
            }

            /// A field's value by its name; empty when unset or unknown.
            pub fn get(&self, name: &str) -> &str {
                match name {
                    $(stringify!($name) => self.$name.as_deref().unwrap_or(""),)*
                    _ => "",
                }
            }

            fn parse_fields(&self, library: &Library, errors: &mut Vec<FieldError>) -> NewCase {
                NewCase {
                    $($name: FromDraft::from_draft(
                        field(stringify!($name)),
                        self.$name.as_deref(),
                        library,
                        errors,
                    ),)*
                }
            }
        }

        impl NewCase {
            /// A field's value as text, as the form, the page and the CSV show it.
            pub fn text(&self, name: &str) -> String {
                match name {
                    $(stringify!($name) => AsText::as_text(&self.$name),)*
                    _ => String::new(),
                }
            }

            /// Binds every field in table order (the order of `column_list`).
            pub fn bind_all<'q>(
                &'q self,
                q: Query<'q, Any, AnyArguments<'q>>,
            ) -> Query<'q, Any, AnyArguments<'q>> {
                q$(.bind(BindValue::bind_value(&self.$name)))*
            }
        }
    };
}

/// What a field binds as. Only `Option<f64>` differs from itself: sqlx 0.8's `Any` driver sends a
/// NULL `f64` to PostgreSQL as a `float4` (its `Real` and `Double` NULLs are swapped), and a
/// statement prepared with that type then refuses the next case's hour meter. A NULL `f32`
/// reaches PostgreSQL as `float8`, the column's type.
pub enum FloatBind {
    Value(f64),
    Null,
}

impl sqlx::Type<Any> for FloatBind {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<Any>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Any> for FloatBind {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self {
            FloatBind::Value(v) => <f64 as sqlx::Encode<'q, Any>>::encode_by_ref(v, buf),
            FloatBind::Null => <Option<f32> as sqlx::Encode<'q, Any>>::encode_by_ref(&None, buf),
        }
    }
}

trait BindValue {
    type Bound<'a>: 'a + sqlx::Encode<'a, Any> + sqlx::Type<Any>
    where
        Self: 'a;
    fn bind_value(&self) -> Self::Bound<'_>;
}

impl BindValue for String {
    type Bound<'a> = &'a String;
    fn bind_value(&self) -> &String {
        self
    }
}

impl BindValue for Option<String> {
    type Bound<'a> = &'a Option<String>;
    fn bind_value(&self) -> &Option<String> {
        self
    }
}

impl BindValue for Option<i64> {
    type Bound<'a> = Option<i64>;
    fn bind_value(&self) -> Option<i64> {
        *self
    }
}

impl BindValue for Outcome {
    type Bound<'a> = Outcome;
    fn bind_value(&self) -> Outcome {
        *self
    }
}

impl BindValue for Option<f64> {
    type Bound<'a> = FloatBind;
    fn bind_value(&self) -> FloatBind {
        self.map_or(FloatBind::Null, FloatBind::Value)
    }
}

use FormPlace as F;
use PagePlace as P;

case_fields! {
    guide: Option<String> = spec(Kind::Guide, "Guide", F::Own, P::Frame);
    filed_by: String = spec(Kind::Short, "Your name", F::Signature, P::Frame);
    site: String = spec(Kind::Short, "Site", F::Machine, P::Detail("Site"));
    line: String = spec(Kind::Short, "Line", F::Machine, P::Detail("Line"));
    cell: String = spec(Kind::Short, "Cell", F::Machine, P::Detail("Cell"));
    asset: String = spec(Kind::Short, "Asset (controller, server or node)", F::Machine, P::Detail("Asset"));
    serial: String = spec(Kind::Short, "Serial number", F::Machine, P::Detail("Serial"));
    firmware_revision: String = hint(
        spec(Kind::Short, "Firmware revision", F::Machine, P::Detail("Firmware revision")),
        "For example 33.011",
    );
    software_version: String = hint(
        spec(Kind::Short, "Software version", F::Machine, P::Detail("Software version")),
        "For example Ignition 8.1.26",
    );
    parameter_set: String = spec(Kind::Long, "Parameter set", F::Machine, P::Pre("Parameter set"));
    io_mapping: String = spec(Kind::Long, "I/O mapping", F::Machine, P::Pre("I/O mapping"));
    verbatim_alarm: String = spec(Kind::Alarm, "Alarm or message, exactly as shown", F::Own, P::Frame);
    alarm_at: Option<String> = spec(Kind::WallClock, "When it happened", F::Screen, P::Detail("When"));
    #[serde(default, deserialize_with = "flexible")]
    hour_meter: Option<f64> = hint(
        spec(Kind::Hours, "Hour meter", F::Machine, P::Detail("Hour meter")),
        "Hours",
    );
    #[serde(default, deserialize_with = "flexible")]
    part_count: Option<i64> = spec(Kind::Count, "Part count", F::Machine, P::Detail("Part count"));
    fix_applied: String = spec(Kind::Long, "What you did", F::Work, P::Prose("What was done"));
    outcome: Outcome = spec(Kind::Outcome, "How did it end?", F::Own, P::Frame);
    #[serde(default, deserialize_with = "flexible")]
    verified_sister_cell: String = hint(
        spec(Kind::Short, "Verified on sister cell", F::Work, P::Detail("Verified on sister cell")),
        "Which cell, if you checked it there too",
    );
    notes: String = spec(Kind::Long, "Notes", F::Work, P::Prose("Notes"));
}

/// The field of this name. Only called with names from the table itself.
pub fn field(name: &str) -> &'static Field {
    FIELDS
        .iter()
        .find(|f| f.name == name)
        .expect("every generated name is in the table")
}

/// The fields' column names joined by `sep` (with `suffix` after each), in table order.
/// `field = $1, …` in table order, for an UPDATE that binds every field first.
pub fn assignment_list() -> String {
    FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = ${}", f.name, i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn column_list(suffix: &str) -> String {
    FIELDS
        .iter()
        .map(|f| format!("{}{suffix}", f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<&NewCase> for CaseDraft {
    /// A stored case's fields as a draft again, for an editor's form.
    fn from(c: &NewCase) -> Self {
        let mut d = CaseDraft::default();
        for f in FIELDS {
            d.set(f.name, c.text(f.name));
        }
        d
    }
}

impl CaseDraft {
    /// Parses every field; all faults are reported at once, each against its field.
    pub fn parse(&self, library: &Library) -> Result<NewCase, Vec<FieldError>> {
        let mut errors = Vec::new();
        let case = self.parse_fields(library, &mut errors);
        if errors.is_empty() {
            Ok(case)
        } else {
            Err(errors)
        }
    }
}

/// A field's value as text.
trait AsText {
    fn as_text(&self) -> String;
}

impl AsText for String {
    fn as_text(&self) -> String {
        self.clone()
    }
}

impl AsText for Option<String> {
    fn as_text(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl AsText for Option<f64> {
    fn as_text(&self) -> String {
        self.map(|v| v.to_string()).unwrap_or_default()
    }
}

impl AsText for Option<i64> {
    fn as_text(&self) -> String {
        self.map(|v| v.to_string()).unwrap_or_default()
    }
}

impl AsText for Outcome {
    fn as_text(&self) -> String {
        self.as_str().to_string()
    }
}

/// Reads one field of a draft into its checked type, recording faults against the field.
trait FromDraft: Sized {
    fn from_draft(
        f: &'static Field,
        raw: Option<&str>,
        library: &Library,
        errors: &mut Vec<FieldError>,
    ) -> Self;
}

fn fault(errors: &mut Vec<FieldError>, f: &Field, message: impl Into<String>) {
    errors.push(FieldError {
        field: f.name,
        message: message.into(),
    });
}

fn nonempty(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

impl FromDraft for String {
    fn from_draft(
        f: &'static Field,
        raw: Option<&str>,
        _: &Library,
        e: &mut Vec<FieldError>,
    ) -> Self {
        let raw = raw.unwrap_or("");
        if raw.contains('\0') {
            // PostgreSQL text cannot hold U+0000, and no alarm or note has one: refuse it on
            // both engines so a case files the same way wherever it lands.
            fault(
                e,
                f,
                "Contains a NUL character (U+0000); remove it and send again.",
            );
        }
        match f.kind {
            Kind::Alarm => {
                if raw.trim().is_empty() {
                    fault(e, f, "Type or paste what the screen or log said.");
                } else if raw.len() > ALARM_MAX {
                    fault(
                        e,
                        f,
                        format!("At most {ALARM_MAX} bytes; paste the lines that matter."),
                    );
                }
                raw.to_string()
            }
            Kind::Long => {
                if raw.chars().count() > LONG_MAX {
                    fault(e, f, format!("At most {LONG_MAX} characters."));
                }
                raw.trim_end().to_string()
            }
            _ => {
                let s = raw.trim();
                if s.chars().count() > SHORT_MAX {
                    fault(e, f, format!("At most {SHORT_MAX} characters."));
                } else if s.chars().any(char::is_control) {
                    fault(e, f, "Must be one line without control characters.");
                }
                s.to_string()
            }
        }
    }
}

impl FromDraft for Option<String> {
    fn from_draft(
        f: &'static Field,
        raw: Option<&str>,
        library: &Library,
        e: &mut Vec<FieldError>,
    ) -> Self {
        let s = nonempty(raw)?;
        match f.kind {
            Kind::Guide => {
                if s == "none" {
                    return None;
                }
                let slug = library.find(s).map(|g| g.slug.clone());
                if slug.is_none() {
                    fault(e, f, format!("There is no guide `{s}`."));
                }
                slug
            }
            _ => {
                let parsed = parse_wall_clock(s);
                if parsed.is_none() {
                    fault(e, f, "Use a date and time like 2026-11-20 02:14.");
                }
                parsed
            }
        }
    }
}

impl FromDraft for Option<f64> {
    fn from_draft(
        f: &'static Field,
        raw: Option<&str>,
        _: &Library,
        e: &mut Vec<FieldError>,
    ) -> Self {
        let s = nonempty(raw)?;
        match s.replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..1e8).contains(&v) => Some(v),
            _ => {
                fault(e, f, "Hours as a number, for example 15230.5.");
                None
            }
        }
    }
}

impl FromDraft for Option<i64> {
    fn from_draft(
        f: &'static Field,
        raw: Option<&str>,
        _: &Library,
        e: &mut Vec<FieldError>,
    ) -> Self {
        let s = nonempty(raw)?;
        match s.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v),
            _ => {
                fault(e, f, "A whole number of parts, 0 or more.");
                None
            }
        }
    }
}

impl FromDraft for Outcome {
    fn from_draft(
        f: &'static Field,
        raw: Option<&str>,
        _: &Library,
        e: &mut Vec<FieldError>,
    ) -> Self {
        match nonempty(raw) {
            Some(o) => Outcome::parse(o).unwrap_or_else(|| {
                fault(e, f, "Choose fixed, workaround, not_fixed or escalated.");
                Outcome::NotFixed
            }),
            None => {
                fault(
                    e,
                    f,
                    "Say how it ended: fixed, workaround, not fixed or escalated.",
                );
                Outcome::NotFixed
            }
        }
    }
}

/// Accepts `2026-11-20T02:14`, `2026-11-20 02:14:07` or RFC 3339; stores `YYYY-MM-DDTHH:MM:SS`
/// (with the offset when one was given).
fn parse_wall_clock(s: &str) -> Option<String> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .into_iter()
    .find_map(|fmt| chrono::NaiveDateTime::parse_from_str(s, fmt).ok())
    .map(|dt| dt.format("%Y-%m-%dT%H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_named_once_and_found_by_its_name() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(DRAFT_FIELDS[i], f.name);
            assert_eq!(FIELDS.iter().filter(|g| g.name == f.name).count(), 1);
            assert_eq!(field(f.name).kind, f.kind);
        }
        assert_eq!(assignment_list().matches('$').count(), FIELDS.len());
    }
}
