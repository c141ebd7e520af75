//! Jam.py's metadata as rows: read from `admin.sqlite` (read-only), or from the `task.dat` of a
//! Builder export. Columns are read by name, in upper case, because they vary with the Jam.py
//! version that made the database (`update_admin_db` only ever adds columns); a missing column
//! reads as NULL. Soft-deleted metadata rows (`DELETED = 1`) are left out everywhere.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde_json::Value as J;

/// One metadata row, by upper-case column name.
pub type Row = BTreeMap<String, J>;

/// The tables an import reads.
pub const TABLES: [&str; 12] = [
    "SYS_ITEMS",
    "SYS_FIELDS",
    "SYS_FILTERS",
    "SYS_INDICES",
    "SYS_REPORT_PARAMS",
    "SYS_LOOKUP_LISTS",
    "SYS_ROLES",
    "SYS_PRIVILEGES",
    "SYS_FIELD_PRIVILEGES",
    "SYS_PARAMS",
    "SYS_TASKS",
    "SYS_USERS",
];

/// The metadata of one Jam.py project.
#[derive(Default)]
pub struct Meta {
    tables: HashMap<String, Vec<Row>>,
}

impl Meta {
    /// The live rows of `table` (none when the table does not exist), in ID order.
    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables
            .get(table)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// True when the metadata has `table` (SYS_FIELD_PRIVILEGES: v7 only).
    pub fn has(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// The single row of SYS_PARAMS or SYS_TASKS.
    pub fn one(&self, table: &str) -> Option<&Row> {
        self.rows(table).first()
    }

    fn insert(&mut self, table: &str, mut rows: Vec<Row>) {
        rows.retain(|r| !r.flag("DELETED"));
        rows.sort_by_key(|r| r.int("ID").unwrap_or(0));
        self.tables.insert(table.to_string(), rows);
    }

    /// Reads `admin.sqlite`, opened read-only: the import never writes to it.
    pub fn from_sqlite(path: &Path) -> Result<Meta, String> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
        let mut meta = Meta::default();
        for table in TABLES {
            let exists: bool = conn
                .query_row(
                    "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
                    [table],
                    |r| r.get(0),
                )
                .map_err(|e| format!("{}: {e} (is it Jam.py's admin.sqlite?)", path.display()))?;
            if !exists {
                continue;
            }
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM \"{table}\""))
                .map_err(|e| format!("{}: {table}: {e}", path.display()))?;
            let names: Vec<String> = stmt
                .column_names()
                .map(|n| n.to_ascii_uppercase())
                .collect();
            let rows = stmt
                .query_map([], |r| {
                    let mut row = Row::new();
                    for (i, n) in names.iter().enumerate() {
                        let v = match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => J::Null,
                            rusqlite::types::ValueRef::Integer(n) => J::from(n),
                            rusqlite::types::ValueRef::Real(f) => J::from(f),
                            rusqlite::types::ValueRef::Text(t)
                            | rusqlite::types::ValueRef::Blob(t) => {
                                J::from(String::from_utf8_lossy(t).into_owned())
                            }
                        };
                        row.insert(n.clone(), v);
                    }
                    Ok(row)
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Row>>>())
                .map_err(|e| format!("{}: {table}: {e}", path.display()))?;
            meta.insert(table, rows);
        }
        if !meta.has("SYS_ITEMS") || !meta.has("SYS_FIELDS") {
            return Err(format!(
                "{}: has no SYS_ITEMS and SYS_FIELDS tables: it is not Jam.py's admin.sqlite",
                path.display()
            ));
        }
        Ok(meta)
    }

    /// Reads the `task.dat` of a Builder export: `{"sys_items": {"fields": [...], "records":
    /// [[...]]}, ...}` with lower-case column names. It has no users.
    pub fn from_task_dat(text: &[u8]) -> Result<Meta, String> {
        let doc: J = serde_json::from_slice(text)
            .map_err(|e| format!("task.dat is not the JSON a Builder export holds: {e}"))?;
        let mut meta = Meta::default();
        for table in TABLES {
            let Some(t) = doc.get(table.to_ascii_lowercase()) else {
                continue;
            };
            let fields: Vec<String> = t
                .get("fields")
                .and_then(J::as_array)
                .map(|a| {
                    a.iter()
                        .map(|f| f.as_str().unwrap_or_default().to_ascii_uppercase())
                        .collect()
                })
                .unwrap_or_default();
            let rows = t
                .get("records")
                .and_then(J::as_array)
                .map(|records| {
                    records
                        .iter()
                        .filter_map(J::as_array)
                        .map(|values| {
                            fields
                                .iter()
                                .cloned()
                                .zip(values.iter().cloned())
                                .collect::<Row>()
                        })
                        .collect()
                })
                .unwrap_or_default();
            meta.insert(table, rows);
        }
        if !meta.has("SYS_ITEMS") || !meta.has("SYS_FIELDS") {
            return Err("task.dat has no sys_items and sys_fields".into());
        }
        Ok(meta)
    }
}

/// Typed reads of a metadata row; a missing column, NULL or a value of another kind reads as
/// `None` (or false).
pub trait RowExt {
    fn int(&self, col: &str) -> Option<i64>;
    fn text(&self, col: &str) -> Option<&str>;
    fn flag(&self, col: &str) -> bool;
    /// An ID column: `None` for NULL and for 0 ("none" in Jam.py).
    fn id(&self, col: &str) -> Option<i64> {
        self.int(col).filter(|n| *n != 0)
    }
}

impl RowExt for Row {
    fn int(&self, col: &str) -> Option<i64> {
        match self.get(col)? {
            J::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            J::Bool(b) => Some(i64::from(*b)),
            J::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn text(&self, col: &str) -> Option<&str> {
        self.get(col)?.as_str().filter(|s| !s.is_empty())
    }

    fn flag(&self, col: &str) -> bool {
        self.int(col).is_some_and(|n| n != 0)
    }
}
