//! The Jam.py project's data database, opened read-only: which tables and columns it has
//! (what an item and its fields need to come over), and its copy for `--copy-data`.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// The data database's tables and their columns, read once.
pub struct DataDb {
    /// Lower-case table name → (the table's own spelling, its columns' spellings).
    tables: HashMap<String, (String, Vec<String>)>,
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

impl DataDb {
    pub fn read(path: &Path) -> Result<DataDb, String> {
        let conn =
            open_read_only(path).map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
        let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
        let names: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(err)?;
        let mut tables = HashMap::new();
        for name in names {
            let columns: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1)")
                .and_then(|mut s| s.query_map([&name], |r| r.get(0))?.collect())
                .map_err(err)?;
            tables.insert(name.to_ascii_lowercase(), (name, columns));
        }
        Ok(DataDb { tables })
    }

    /// The columns of `table` (compared without regard to case, as SQLite does), or `None`
    /// when there is no such table.
    pub fn columns(&self, table: &str) -> Option<Vec<String>> {
        self.tables
            .get(&table.to_ascii_lowercase())
            .map(|(_, c)| c.clone())
    }
}

/// The language code (`en-US`) of Jam.py language `id`, from the project's `langs.sqlite`.
pub fn language(project: &Path, id: i64) -> Option<String> {
    let conn = open_read_only(&project.join("langs.sqlite")).ok()?;
    let name: String = conn
        .query_row("SELECT F_NAME FROM JAM_LANGS WHERE ID = ?1", [id], |r| {
            r.get(0)
        })
        .ok()?;
    // "English en-US": the code is the last word.
    name.split_whitespace()
        .last()
        .filter(|c| c.contains('-') || c.len() == 2)
        .map(str::to_string)
}

/// Copies the database `from` to `to` (a new file) with `VACUUM INTO`: a consistent copy read
/// from a read-only connection, which also takes in what a write-ahead log holds. Nothing is
/// written to `from`.
pub fn copy(from: &Path, to: &Path) -> Result<(), String> {
    let conn = open_read_only(from).map_err(|e| format!("{}: cannot open: {e}", from.display()))?;
    let target = to
        .to_str()
        .ok_or_else(|| format!("{}: the path is not UTF-8", to.display()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
    Ok(())
}
