//! A query built piece by piece, with `$n` placeholders.
//!
//! sqlx's `QueryBuilder` writes `?` for the `Any` driver, which PostgreSQL rejects; SQLite and
//! PostgreSQL both read `$1`, `$2`…, so this small builder numbers its own binds.

use std::fmt::{Display, Write};

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, Arguments, Encode, Type};

pub struct SqlBuilder<'q> {
    sql: String,
    args: AnyArguments<'q>,
    binds: usize,
    /// The first value that could not be encoded; `build` fails with it rather than run a query
    /// missing a bind.
    fault: Option<String>,
}

impl<'q> SqlBuilder<'q> {
    pub fn new(sql: impl Into<String>) -> Self {
        SqlBuilder {
            sql: sql.into(),
            args: AnyArguments::default(),
            binds: 0,
            fault: None,
        }
    }

    pub fn push(&mut self, sql: impl Display) -> &mut Self {
        let _ = write!(self.sql, "{sql}");
        self
    }

    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        if let Err(e) = self.args.add(value) {
            self.fault.get_or_insert(e.to_string());
        }
        self.binds += 1;
        let _ = write!(self.sql, "${}", self.binds);
        self
    }

    /// `$a, $b, …`: one bind per item, comma-separated.
    pub fn push_bind_list<T, I>(&mut self, items: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(item);
        }
        self
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    fn checked(&mut self) -> Result<AnyArguments<'q>, sqlx::Error> {
        match self.fault.take() {
            Some(e) => Err(sqlx::Error::Protocol(format!("cannot bind a value: {e}"))),
            None => Ok(std::mem::take(&mut self.args)),
        }
    }

    pub fn build<'s>(&'s mut self) -> Result<Query<'s, Any, AnyArguments<'s>>, sqlx::Error>
    where
        'q: 's,
    {
        let args = self.checked()?;
        Ok(sqlx::query_with(&self.sql, args))
    }

    pub fn build_query_as<'s, O>(
        &'s mut self,
    ) -> Result<QueryAs<'s, Any, O, AnyArguments<'s>>, sqlx::Error>
    where
        'q: 's,
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let args = self.checked()?;
        Ok(sqlx::query_as_with(&self.sql, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_numbered_in_order() {
        let mut q = SqlBuilder::new("SELECT 1 FROM cases WHERE guide = ");
        q.push_bind("a")
            .push(" AND id IN (")
            .push_bind_list(["x", "y"])
            .push(")");
        assert_eq!(
            q.sql(),
            "SELECT 1 FROM cases WHERE guide = $1 AND id IN ($2, $3)"
        );
    }
}
