//! The tables migrate-db copies, and their columns and keys as the catalogs declare them.

use crate::db::{Backend, Db};

use super::{sql, MigrateError};

/// A table migrate-db copies: its primary key, and its identity column if it has one.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub(super) key: &'static [&'static str],
    pub(super) identity: Option<&'static str>,
}

const fn table(
    name: &'static str,
    key: &'static [&'static str],
    identity: Option<&'static str>,
) -> Table {
    Table {
        name,
        key,
        identity,
    }
}

/// Every table that is copied, parents before children. `sessions` is left out on purpose.
pub const TABLES: &[Table] = &[
    table("users", &["id"], None),
    table("api_tokens", &["id"], None),
    table("cases", &["id"], None),
    table("case_photos", &["case_id", "position"], None),
    table("case_checks", &["case_id", "step"], None),
    table("case_updates", &["idempotency_key"], None),
    table("audit_log", &["id"], Some("id")),
    table("guides", &["id"], Some("id")),
    table("guide_revisions", &["id"], Some("id")),
    table("published_slugs", &["slug"], None),
    table("guide_import_faults", &["path"], None),
    table("server_secrets", &["name"], None),
    table("content_loads", &["id"], Some("id")),
    table("changes", &["seq"], Some("seq")),
];

/// How a column's values are bound on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Real => "a real number",
            Kind::Text => "text",
            Kind::Blob => "a blob",
        }
    }

    /// A declared column type as the engine reads it.
    pub(super) fn of(backend: Backend, declared: &str) -> Option<Kind> {
        let t = declared.to_ascii_lowercase();
        match backend {
            // SQLite's affinity rules, in their order.
            Backend::Sqlite => {
                if t.contains("int") {
                    Some(Kind::Int)
                } else if t.contains("char") || t.contains("clob") || t.contains("text") {
                    Some(Kind::Text)
                } else if t.is_empty() || t.contains("blob") {
                    Some(Kind::Blob)
                } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
                    Some(Kind::Real)
                } else {
                    None
                }
            }
            Backend::Postgres => match t.as_str() {
                "bigint" | "integer" | "smallint" => Some(Kind::Int),
                "double precision" | "real" => Some(Kind::Real),
                "text" | "character varying" | "character" => Some(Kind::Text),
                "bytea" => Some(Kind::Blob),
                _ => None,
            },
        }
    }
}

/// A column of a copied table: its name and how the target keeps it.
#[derive(Debug, Clone)]
pub struct Column {
    pub(super) name: String,
    pub(super) kind: Kind,
}

/// The table's columns as the target declares them, in its order; the source must have the
/// same names (both are at the same schema version after `connect`).
pub(super) async fn columns_of(
    source: &Db,
    target: &Db,
    t: &Table,
) -> Result<Vec<Column>, MigrateError> {
    let theirs = declared(source, t.name).await?;
    let ours = declared(target, t.name).await?;
    if theirs.is_empty() || ours.is_empty() {
        return Err(MigrateError::MissingTable {
            side: if theirs.is_empty() {
                "the source"
            } else {
                "the target"
            },
            table: t.name.to_string(),
        });
    }
    fn names(cols: &[(String, String)]) -> Vec<&str> {
        let mut n: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        n.sort_unstable();
        n
    }
    if names(&theirs) != names(&ours) {
        return Err(MigrateError::SchemaDiffers {
            table: t.name.to_string(),
            source_columns: names(&theirs).join(", "),
            target_columns: names(&ours).join(", "),
        });
    }
    let backend = Backend::of(target);
    let columns = ours
        .into_iter()
        .map(|(name, ty)| match Kind::of(backend, &ty) {
            Some(kind) => Ok(Column { name, kind }),
            None => Err(MigrateError::UnsupportedType {
                table: t.name.to_string(),
                column: name,
                ty,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    for k in t.key {
        if !columns.iter().any(|c| c.name == *k) {
            return Err(MigrateError::SchemaDiffers {
                table: t.name.to_string(),
                source_columns: names(&theirs).join(", "),
                target_columns: format!("no {k}"),
            });
        }
    }
    Ok(columns)
}

/// `(name, declared type)` of each column, in table order; empty when there is no such table.
async fn declared(db: &Db, table: &str) -> Result<Vec<(String, String)>, MigrateError> {
    let query = match Backend::of(db) {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name::text = $1 ORDER BY ordinal_position"
        }
    };
    sqlx::query_as(query)
        .bind(table)
        .fetch_all(db)
        .await
        .map_err(sql(table))
}

/// Where the key columns are among a table's columns.
pub(super) fn key_positions(t: &Table, cols: &[Column]) -> Vec<usize> {
    t.key
        .iter()
        .map(|k| {
            cols.iter()
                .position(|c| c.name == *k)
                .expect("columns_of checked the key columns")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_kinds() {
        assert_eq!(Kind::of(Backend::Sqlite, "INTEGER"), Some(Kind::Int));
        assert_eq!(Kind::of(Backend::Sqlite, "REAL"), Some(Kind::Real));
        assert_eq!(Kind::of(Backend::Sqlite, "TEXT"), Some(Kind::Text));
        assert_eq!(Kind::of(Backend::Postgres, "bigint"), Some(Kind::Int));
        assert_eq!(
            Kind::of(Backend::Postgres, "double precision"),
            Some(Kind::Real)
        );
        assert_eq!(Kind::of(Backend::Postgres, "text"), Some(Kind::Text));
        assert_eq!(Kind::of(Backend::Postgres, "jsonb"), None);
    }
}
