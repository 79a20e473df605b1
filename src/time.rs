//! The one time type. Every instant in faultbook is a `Timestamp`, and every timestamp column in
//! the database holds the same text: RFC 3339 in UTC with microseconds and a `Z`
//! (`2026-11-20T14:03:07.123456Z`), which sorts as text in the order it happened.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }

    pub fn from_unix(secs: i64) -> Option<Self> {
        DateTime::from_timestamp(secs, 0).map(Timestamp)
    }

    /// Any RFC 3339 text, in any offset; kept in UTC.
    pub fn parse(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| Timestamp(t.with_timezone(&Utc)))
    }

    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn unix(&self) -> i64 {
        self.0.timestamp()
    }

    /// The stored and JSON form.
    pub fn to_db(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// As people read it in pages, lists and the command line.
    pub fn human(&self) -> String {
        self.0.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    /// To the second, as the audit page and CSV exports show it.
    pub fn seconds(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    pub fn plus_secs(&self, secs: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::seconds(secs))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_db())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_db())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 time"))
    }
}

// Stored as text on every engine (see the module note), so each impl defers to `String`'s.
impl<DB: Database> Type<DB> for Timestamp
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Database> Encode<'q, DB> for Timestamp
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode(self.to_db(), buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Timestamp
where
    String: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <String as Decode<'r, DB>>::decode(value)?;
        Timestamp::parse(&s).ok_or_else(|| format!("not an RFC 3339 time: {s:?}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_sorts_in_time_order_and_round_trips() {
        let a = Timestamp::parse("2026-11-20T14:03:07.5+01:00").unwrap();
        let b = Timestamp::parse("2026-11-20T13:03:08Z").unwrap();
        assert_eq!(a.to_db(), "2026-11-20T13:03:07.500000Z");
        assert!(a.to_db() < b.to_db());
        assert_eq!(Timestamp::parse(&a.to_db()), Some(a));
        assert_eq!(
            Timestamp::from_unix(0).unwrap().seconds(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn garbage_is_not_a_time() {
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
    }
}
