//! The dialect seam: everything that differs between SQLite, PostgreSQL and MariaDB when the
//! builder writes SQL. A backend crate implements [`Dialect`]; the builder never names a
//! database.

use jamrs_core::FieldType;

pub trait Dialect: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Appends a quoted identifier. Identifiers are checked `Ident`s, so quoting cannot be
    /// escaped; it only protects against reserved words.
    fn push_ident(&self, out: &mut String, ident: &str) {
        out.push('"');
        out.push_str(ident);
        out.push('"');
    }

    /// Appends the placeholder for the `n`-th bound value (1-based): `?` or `$n`.
    fn push_placeholder(&self, out: &mut String, n: usize);

    /// The text around a case-insensitive `LIKE` with `\` as the escape character:
    /// `[0] <expression> [1] <pattern placeholder> [2]` (the pattern prepared by
    /// [`Dialect::like_value`]).
    fn ilike(&self) -> [&'static str; 3];

    /// Prepares a LIKE pattern's text for [`Dialect::push_ilike`] (e.g. case-folds it).
    fn like_value(&self, pattern: &str) -> String {
        pattern.to_string()
    }

    /// The text around a null-safe "is different from" (Jam.py's FILTER_NE):
    /// `[0] <expression> [1] <value placeholder> [2]`.
    fn distinct(&self) -> [&'static str; 3];

    /// The column type for a field type.
    fn column_type(&self, t: FieldType) -> &'static str;

    /// The full column definition of an integer primary key that the database numbers itself.
    fn primary_key_type(&self) -> &'static str;

    /// Text appended to an INSERT so it returns the new key (`RETURNING "id"`), if the backend
    /// needs that instead of a last-insert-id call.
    fn insert_returning(&self, _pk: &str) -> Option<String> {
        None
    }

    /// The text after an ORDER BY term. Jam.py's order puts NULLs first when ascending and
    /// last when descending, which is SQLite's own order; a database that orders NULLs the
    /// other way (PostgreSQL) says so here.
    fn order(&self, desc: bool) -> &'static str {
        if desc { " DESC" } else { " ASC" }
    }

    /// The text after a SELECT of stored rows that a write transaction reads to change them
    /// (`FOR UPDATE`) or to rely on their existence (`FOR SHARE`), so a concurrent writer waits
    /// for this transaction. Empty where writes are serialised anyway (SQLite's one writer).
    fn row_lock(&self, _lock: RowLock) -> &'static str {
        ""
    }
}

/// How a write transaction's read holds the rows it reads (see [`Dialect::row_lock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLock {
    /// A plain read (a read job, or a read whose rows the transaction does not rely on).
    None,
    /// The rows must keep existing until the transaction ends (a lookup's target).
    Share,
    /// The transaction changes the rows it read (an apply's stored rows).
    Update,
}

/// Escapes LIKE wildcards so user text matches literally (escape character `\`).
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
