//! Identifiers that may reach SQL.
//!
//! Architecture invariant: a table or column name reaches SQL only as an [`Ident`], and an
//! `Ident` can only be made from metadata that passed [`Ident::parse`] (names of jamrs's own
//! things: items, fields, groups) or [`Ident::parse_sql_name`] (the names of tables, columns
//! and indexes, which may keep the upper-case letters of a database jamrs did not create).
//! Values never become identifiers.

use std::fmt;

/// A lower-case SQL identifier: `[a-z_][a-z0-9_]*`, at most 63 bytes (PostgreSQL's limit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

impl Ident {
    pub const MAX_LEN: usize = 63;

    /// Checks the name; the error says what is wrong with it.
    pub fn parse(name: &str) -> Result<Ident, String> {
        if name.is_empty() {
            return Err("a name cannot be empty".into());
        }
        if name.len() > Self::MAX_LEN {
            return Err(format!(
                "\"{name}\" is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !first_ok || !rest_ok {
            return Err(format!(
                "\"{name}\" is not a valid name: use lower-case letters, digits and _, starting with a letter or _"
            ));
        }
        if name.starts_with("jamrs_") || name.starts_with("sqlite_") {
            return Err(format!(
                "\"{name}\" is reserved: names starting with jamrs_ or sqlite_ belong to the system"
            ));
        }
        Ok(Ident(name.to_string()))
    }

    /// A table, column or index name: as [`Ident::parse`], but upper-case ASCII letters are
    /// allowed and kept (`DEMO_CUSTOMERS`, `Order_ID`), because PostgreSQL compares quoted
    /// names with their case and a database made by Jam.py or by hand names them so. Quoting
    /// such a name is as safe as quoting a lower-case one. The reserved prefixes are refused in
    /// any case: SQLite reads `JAMRS_users` as `jamrs_users`.
    pub fn parse_sql_name(name: &str) -> Result<Ident, String> {
        if name.is_empty() {
            return Err("a name cannot be empty".into());
        }
        if name.len() > Self::MAX_LEN {
            return Err(format!(
                "\"{name}\" is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !first_ok || !rest_ok {
            return Err(format!(
                "\"{name}\" is not a valid table or column name: use ASCII letters, digits and _, starting with a letter or _"
            ));
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("jamrs_") || lower.starts_with("sqlite_") {
            return Err(format!(
                "\"{name}\" is reserved: names starting with jamrs_ or sqlite_ belong to the system"
            ));
        }
        Ok(Ident(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for ok in ["a", "notes", "user_id", "_x1", "a2b_c"] {
            assert!(Ident::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_anything_that_could_escape_quoting() {
        for bad in [
            "",
            "Notes",
            "1a",
            "a-b",
            "a b",
            "a\"b",
            "a;b",
            "été",
            "jamrs_users",
            "sqlite_master",
        ] {
            assert!(Ident::parse(bad).is_err(), "{bad}");
        }
        assert!(Ident::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn sql_names_keep_their_case_and_nothing_else_gets_through() {
        for ok in ["DEMO_CUSTOMERS", "Order_ID", "accounts", "_X1"] {
            assert_eq!(
                Ident::parse_sql_name(ok).map(|i| i.to_string()),
                Ok(ok.into())
            );
        }
        for bad in [
            "",
            "1a",
            "a-b",
            "a b",
            "a\"b",
            "a;b",
            "été",
            "JAMRS_users",
            "Sqlite_master",
            "jamrs_x",
        ] {
            assert!(Ident::parse_sql_name(bad).is_err(), "{bad}");
        }
        assert!(Ident::parse_sql_name(&"A".repeat(64)).is_err());
    }
}
