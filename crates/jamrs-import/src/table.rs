//! `jamrs import-table`: an existing table of a SQLite database described as an item file, for
//! serving it as it is (`managed = false`): a field per column (its type from the declared type,
//! the name an identifier, the column's spelling kept in `db_field`), the primary key, and a
//! soft-delete flag when a column is called `deleted`.

use jamrs_core::Ident;
use jamrs_core::project::{FieldFile, ItemFile};
use rusqlite::{Connection, OpenFlags};

use crate::names::Names;

/// The item name `import-table` gives `table` by default.
pub fn item_name(table: &str) -> String {
    crate::names::ident(table)
}

/// The item file for `table` in the database at `db`, and notes on what was approximated.
pub fn describe(db: &std::path::Path, table: &str) -> Result<(ItemFile, Vec<String>), String> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("{}: cannot open: {e}", db.display()))?;
    let actual: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
            [table],
            |r| r.get(0),
        )
        .ok();
    let Some(actual) = actual else {
        return Err(format!("{}: there is no table {table}", db.display()));
    };
    Ident::parse_sql_name(&actual).map_err(|e| format!("table {e}"))?;
    let columns: Vec<(String, String, bool, bool)> = conn
        .prepare(r#"SELECT name, type, "notnull", pk FROM pragma_table_info(?1)"#)
        .and_then(|mut s| {
            s.query_map([&actual], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, i64>(2)? != 0,
                    r.get::<_, i64>(3)? > 0,
                ))
            })?
            .collect()
        })
        .map_err(|e| format!("{}: {e}", db.display()))?;
    let mut notes = Vec::new();
    let mut names = Names::default();
    let mut item = ItemFile {
        table: Some(actual.clone()),
        managed: Some(false),
        ..ItemFile::default()
    };
    let keys: Vec<&(String, String, bool, bool)> = columns.iter().filter(|c| c.3).collect();
    for (col, sql_type, not_null, pk) in &columns {
        if let Err(e) = Ident::parse_sql_name(col) {
            notes.push(format!("column {col} left out: {e}"));
            continue;
        }
        let t = sql_type.to_ascii_uppercase();
        let field_type = if t.contains("INT") {
            "integer"
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            "text"
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            "float"
        } else if t.contains("NUMERIC") || t.contains("DECIMAL") {
            "currency"
        } else if t.contains("DATETIME") || t.contains("TIMESTAMP") {
            "datetime"
        } else if t.contains("DATE") {
            "date"
        } else if t.contains("BOOL") {
            "boolean"
        } else {
            notes.push(format!(
                "column {col} ({}) left out: no jamrs type fits it",
                if sql_type.is_empty() {
                    "no type"
                } else {
                    sql_type
                }
            ));
            continue;
        };
        let name = names.unique(col);
        let mut f = FieldFile::new(&name, field_type);
        if &name != col {
            f.db_field = Some(col.clone());
        }
        if field_type == "text" {
            let size = t
                .split(['(', ')'])
                .nth(1)
                .and_then(|n| n.trim().parse::<u32>().ok())
                .filter(|n| *n > 0);
            f.size = Some(size.unwrap_or(255));
            if size.is_none() {
                notes.push(format!(
                    "column {col}: text without a length, given size 255"
                ));
            }
        }
        if *pk {
            if keys.len() == 1 && field_type == "integer" {
                item.primary_key = Some(name.clone());
                f.visible = Some(false);
            } else if keys.len() == 1 && field_type == "text" {
                // A text key is the client's to give (a new record names it).
                item.primary_key = Some(name.clone());
                notes.push(format!(
                    "column {col} is a text primary key: a new record must give it"
                ));
            } else {
                notes.push(format!(
                    "column {col} is part of a primary key of several columns, which jamrs cannot serve; the item is served by SQLite's rowid instead (primary_key = \"rowid\")"
                ));
            }
        } else if *not_null {
            f.required = Some(true);
        }
        if name == "deleted" && matches!(field_type, "integer" | "boolean") {
            item.soft_delete = Some(true);
            item.deleted_flag = Some(name.clone());
            notes.push(format!(
                "column {col} is taken as the soft-delete flag (rows with 1 are hidden, deletes set it)"
            ));
        }
        item.fields.push(f);
    }
    if item.primary_key.is_none() {
        // SQLite numbers every row of a table without a key of its own (`rowid`); the item is
        // keyed by that (docs/project-format.md, "Tables without a key").
        item.primary_key = Some("rowid".into());
        if keys.is_empty() {
            notes.push("the table declares no primary key: the item is keyed by SQLite's rowid (primary_key = \"rowid\"); VACUUM may renumber the rows of such a table, so no lookup should point at it".into());
        }
    }
    Ok((item, notes))
}
