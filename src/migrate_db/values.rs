//! Values as both engines hold them: decoded from a row, brought to the target's column
//! types, and bound to a statement.

use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{Any, Row, ValueRef};

use super::schema::{Column, Kind, Table};
use super::{sql, MigrateError};

/// One value as both engines can hold it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub(super) fn describe(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Int(i) => format!("the integer {i}"),
            Value::Real(f) => format!("the real number {f:?}"),
            Value::Text(s) => format!("the text {s:?}"),
            Value::Blob(b) => format!("a blob of {} bytes", b.len()),
        }
    }

    /// The value as the target column keeps it; integers widen to reals, nothing else changes.
    pub(super) fn into_kind(self, kind: Kind) -> Result<Value, Value> {
        match (self, kind) {
            (Value::Null, _) => Ok(Value::Null),
            (Value::Int(i), Kind::Int) => Ok(Value::Int(i)),
            (Value::Int(i), Kind::Real) => Ok(Value::Real(i as f64)),
            (Value::Real(f), Kind::Real) => Ok(Value::Real(f)),
            (Value::Text(s), Kind::Text) => Ok(Value::Text(s)),
            (Value::Blob(b), Kind::Blob) => Ok(Value::Blob(b)),
            (v, _) => Err(v),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r:?}"),
            Value::Text(s) => write!(f, "{s}"),
            Value::Blob(b) => write!(f, "x'{}'", hex::encode(b)),
        }
    }
}

/// Decodes column `i` by the kind of the value it holds (SQLite types values, not columns).
pub(super) fn decode(row: &AnyRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Value::Null,
        AnyTypeInfoKind::Bool => Value::Int(i64::from(row.try_get::<bool, _>(i)?)),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Value::Int(row.try_get(i)?)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::Real(row.try_get(i)?),
        AnyTypeInfoKind::Text => Value::Text(row.try_get(i)?),
        AnyTypeInfoKind::Blob => Value::Blob(row.try_get(i)?),
    })
}

/// Binds a value with the target column's type (PostgreSQL wants a BIGINT bound as one,
/// also when it is NULL).
pub(super) fn bind<'q>(
    q: Query<'q, Any, AnyArguments<'q>>,
    value: &'q Value,
    kind: Kind,
) -> Query<'q, Any, AnyArguments<'q>> {
    match (value, kind) {
        (Value::Int(i), _) => q.bind(*i),
        (Value::Real(f), _) => q.bind(*f),
        (Value::Text(s), _) => q.bind(s.as_str()),
        (Value::Blob(b), _) => q.bind(b.as_slice()),
        (Value::Null, Kind::Int) => q.bind(None::<i64>),
        (Value::Null, Kind::Real) => q.bind(None::<f64>),
        (Value::Null, Kind::Text) => q.bind(None::<String>),
        (Value::Null, Kind::Blob) => q.bind(None::<Vec<u8>>),
    }
}

pub(super) fn show_key(t: &Table, row: &[Value], keys: &[usize]) -> String {
    t.key
        .iter()
        .zip(keys)
        .map(|(name, &k)| format!("{name}={}", row[k]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row decoded and brought to the target's column types.
pub(super) fn typed_row(
    row: &AnyRow,
    t: &Table,
    cols: &[Column],
    keys: &[usize],
) -> Result<Vec<Value>, MigrateError> {
    let raw = (0..cols.len())
        .map(|i| decode(row, i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql(t.name))?;
    let mut values = Vec::with_capacity(raw.len());
    for (v, c) in raw.iter().zip(cols) {
        match v.clone().into_kind(c.kind) {
            Ok(v) => values.push(v),
            Err(v) => {
                return Err(MigrateError::BadValue {
                    table: t.name.to_string(),
                    column: c.name.clone(),
                    key: show_key(t, &raw, keys),
                    found: v.describe(),
                    expected: c.kind.name(),
                })
            }
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_widen_to_reals_and_nothing_else_converts() {
        assert_eq!(Value::Int(7).into_kind(Kind::Real), Ok(Value::Real(7.0)));
        assert_eq!(Value::Null.into_kind(Kind::Int), Ok(Value::Null));
        assert!(Value::Text("7".into()).into_kind(Kind::Int).is_err());
        assert!(Value::Real(7.5).into_kind(Kind::Int).is_err());
    }
}
