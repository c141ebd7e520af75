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

/// A copy of at least this many rows is long: it prints progress lines.
pub const LONG_COPY_ROWS: u64 = 20_000;

/// The alias of the source database on the copy's connection.
const SRC: &str = "jamrs_src";

/// Copies the database `from` to `to` (a new file). `from` is attached read-only (`mode=ro`):
/// nothing is written to it, and what its write-ahead log holds comes along.
///
/// The copy is one transaction on the new file, reading one snapshot of `from` (and no journal:
/// a failed copy is a file to delete). The tables and indexes are created with their own SQL,
/// then each table's rows copied by one `INSERT … SELECT *`, which SQLite runs as VACUUM does
/// (its transfer optimization: records and index entries as they are); a rowid table whose key
/// is not its rowid names the rowid, to keep it. Then the views and triggers, `sqlite_sequence`
/// and the statistics. A copy of [`LONG_COPY_ROWS`] rows or more tells `progress` what it
/// copies, each table that holds a tenth of the rows or more before it starts on it, how far it
/// is after each table that completes a tenth of the rows, and when it is done; a shorter one
/// says nothing. A database this way cannot copy (a virtual table, a generated column, a text
/// encoding other than UTF-8) is copied whole with `VACUUM INTO`, which shows no progress.
pub fn copy(from: &Path, to: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), String> {
    let err = |e: rusqlite::Error| format!("copying {} to {}: {e}", from.display(), to.display());
    let dst = Connection::open_with_flags(
        to,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("{}: cannot create: {e}", to.display()))?;
    // A source in another text encoding cannot be attached: it is copied whole.
    if dst
        .execute(&format!("ATTACH DATABASE ?1 AS {SRC}"), [file_uri(from)?])
        .is_err()
    {
        drop(dst);
        return vacuum_into(from, to);
    }
    let copied = (|| -> rusqlite::Result<bool> {
        let pragma =
            |name: &str| dst.query_row(&format!("PRAGMA {SRC}.{name}"), [], |r| r.get::<_, i64>(0));
        // Set before the new file's first page is written.
        dst.execute_batch(&format!(
            "PRAGMA main.page_size = {}; PRAGMA main.auto_vacuum = {}; \
             PRAGMA main.journal_mode = OFF; PRAGMA foreign_keys = OFF;",
            pragma("page_size")?,
            pragma("auto_vacuum")?
        ))?;
        let (user_version, application_id) = (pragma("user_version")?, pragma("application_id")?);
        dst.execute_batch("BEGIN")?;
        let result = (|| {
            let Some(plan) = plan(&dst)? else {
                return Ok(false);
            };
            dst.execute_batch(&format!(
                "PRAGMA main.user_version = {user_version}; \
                 PRAGMA main.application_id = {application_id};"
            ))?;
            copy_rows(&dst, from, &plan, progress)?;
            dst.execute_batch("COMMIT")?;
            Ok(true)
        })();
        if !matches!(result, Ok(true)) {
            let _ = dst.execute_batch("ROLLBACK");
        }
        result
    })();
    let _ = dst.execute_batch(&format!("DETACH DATABASE {SRC}"));
    drop(dst);
    if copied.map_err(err)? {
        Ok(())
    } else {
        vacuum_into(from, to)
    }
}

/// The whole database with `VACUUM INTO` (into `to`, removed first: it must not exist).
fn vacuum_into(from: &Path, to: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(to);
    let conn = open_read_only(from).map_err(|e| format!("{}: cannot open: {e}", from.display()))?;
    let target = to
        .to_str()
        .ok_or_else(|| format!("{}: the path is not UTF-8", to.display()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
    Ok(())
}

/// The tables, rows and the rest, inside the copy's transaction.
fn copy_rows(
    dst: &Connection,
    from: &Path,
    plan: &Plan,
    progress: &mut dyn FnMut(&str),
) -> rusqlite::Result<()> {
    let total: u64 = plan.tables.iter().map(|t| t.rows).sum();
    let long = total >= LONG_COPY_ROWS;
    if long {
        let size = std::fs::metadata(from).map(|m| m.len()).unwrap_or(0);
        progress(&format!(
            "copying the data: {} rows in {} tables ({:.1} MB)…",
            thousands(total),
            plan.tables.len(),
            size as f64 / 1e6
        ));
    }
    // The tables and their indexes first: SQLite then copies each table's records and index
    // entries as they are (its transfer optimization, as VACUUM does), without sorting.
    for sql in plan.tables.iter().map(|t| &t.sql).chain(&plan.indexes) {
        dst.execute_batch(sql)?;
    }
    let mut done = 0u64;
    let mut tenth = 1u64;
    for t in &plan.tables {
        let name = quote(&t.name);
        let big = long && t.rows * 10 >= total;
        if big {
            progress(&format!(
                "copying the data: table {} ({} rows)…",
                t.name,
                thousands(t.rows)
            ));
        }
        let sql = match &t.rowid {
            // A table whose key is its rowid (or that has none): the rows as they are.
            None => format!("INSERT INTO main.{name} SELECT * FROM {SRC}.{name}"),
            // Another rowid table: its rowids named, or they would be numbered anew.
            Some(rowid) => {
                let cols: String = t
                    .columns
                    .iter()
                    .map(|c| format!(", {}", quote(c)))
                    .collect();
                format!(
                    "INSERT INTO main.{name} ({rowid}{cols}) \
                     SELECT {rowid}{cols} FROM {SRC}.{name} ORDER BY {rowid}"
                )
            }
        };
        done += dst.execute(&sql, [])? as u64;
        if long && tenth <= 10 && done >= (total * tenth).div_ceil(10) {
            progress(&format!(
                "copying the data: {} of {} rows, table {} copied",
                thousands(done),
                thousands(total),
                t.name
            ));
            while tenth <= 10 && done >= (total * tenth).div_ceil(10) {
                tenth += 1;
            }
        }
    }
    for sql in &plan.after {
        dst.execute_batch(sql)?;
    }
    if plan.has_sequence {
        dst.execute_batch(&format!(
            "DELETE FROM main.sqlite_sequence; \
             INSERT INTO main.sqlite_sequence SELECT * FROM {SRC}.sqlite_sequence"
        ))?;
    }
    if !plan.stats.is_empty() {
        // ANALYZE of the schema table alone creates the statistics tables (sqlite_stat1, and
        // sqlite_stat4 where SQLite keeps it) and analyzes nothing.
        dst.execute_batch("ANALYZE main.sqlite_schema")?;
        for stat in &plan.stats {
            dst.execute_batch(&format!(
                "DELETE FROM main.{stat}; INSERT INTO main.{stat} SELECT * FROM {SRC}.{stat}"
            ))?;
        }
    }
    if long {
        progress(&format!(
            "copied the data: {} rows in {} tables",
            thousands(done),
            plan.tables.len()
        ));
    }
    Ok(())
}

/// What the copy does, read from the attached source; `None` when it cannot do it.
struct Plan {
    tables: Vec<Table>,
    /// The indexes, created with the tables.
    indexes: Vec<String>,
    /// The views and triggers, created after the rows.
    after: Vec<String>,
    has_sequence: bool,
    /// The statistics tables ANALYZE made (`sqlite_stat1`, `sqlite_stat4`).
    stats: Vec<String>,
}

struct Table {
    name: String,
    sql: String,
    columns: Vec<String>,
    /// The name to copy the rowid by, for a rowid table whose key is not its rowid (SQLite
    /// would number the rows anew); `None` for a table whose INTEGER PRIMARY KEY is its rowid,
    /// a WITHOUT ROWID table, and one whose columns take every name of the rowid.
    rowid: Option<String>,
    rows: u64,
}

fn plan(dst: &Connection) -> rusqlite::Result<Option<Plan>> {
    let schema: Vec<(String, String, Option<String>)> = dst
        .prepare(&format!(
            "SELECT type, name, sql FROM {SRC}.sqlite_schema ORDER BY rowid"
        ))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut plan = Plan {
        tables: Vec::new(),
        indexes: Vec::new(),
        after: Vec::new(),
        has_sequence: false,
        stats: Vec::new(),
    };
    for (kind, name, sql) in schema {
        let Some(sql) = sql else { continue };
        let virtual_table = sql
            .trim_start()
            .get(..14)
            .is_some_and(|s| s.eq_ignore_ascii_case("create virtual"));
        if virtual_table {
            return Ok(None);
        }
        match kind.as_str() {
            "table" if name == "sqlite_sequence" => plan.has_sequence = true,
            "table" if name.starts_with("sqlite_stat") => plan.stats.push(name),
            "table" if name.starts_with("sqlite_") => {}
            "table" => {
                // (name, type, pk position, hidden)
                let info: Vec<(String, String, i64, i64)> = dst
                    .prepare(&format!(
                        "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?1, '{SRC}')"
                    ))?
                    .query_map([&name], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                if info.iter().any(|c| c.3 != 0) {
                    return Ok(None);
                }
                let without_rowid: bool = dst.query_row(
                    &format!(
                        "SELECT wr FROM pragma_table_list WHERE schema = '{SRC}' AND name = ?1"
                    ),
                    [&name],
                    |r| r.get(0),
                )?;
                // One INTEGER PRIMARY KEY column is the rowid (with DESC it is not, and SQLite
                // gives it an index, by which the transfer keeps the rowids too).
                let keys: Vec<&(String, String, i64, i64)> =
                    info.iter().filter(|c| c.2 > 0).collect();
                let rowid_key = keys.len() == 1 && keys[0].1.eq_ignore_ascii_case("integer");
                let columns: Vec<String> = info.into_iter().map(|c| c.0).collect();
                let rowid = ["rowid", "_rowid_", "oid"]
                    .into_iter()
                    .find(|a| {
                        !without_rowid
                            && !rowid_key
                            && !columns.iter().any(|c| c.eq_ignore_ascii_case(a))
                    })
                    .map(str::to_string);
                let rows: i64 = dst.query_row(
                    &format!("SELECT count(*) FROM {SRC}.{}", quote(&name)),
                    [],
                    |r| r.get(0),
                )?;
                plan.tables.push(Table {
                    name,
                    sql,
                    columns,
                    rowid,
                    rows: u64::try_from(rows).unwrap_or(0),
                });
            }
            "index" => plan.indexes.push(sql),
            _ => plan.after.push(sql),
        }
    }
    Ok(Some(plan))
}

/// `name` as an SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A read-only `file:` URI of `path`, for ATTACH.
fn file_uri(path: &Path) -> Result<String, String> {
    let abs = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = abs
        .to_str()
        .ok_or_else(|| format!("{}: the path is not UTF-8", path.display()))?;
    let mut uri = String::from("file:");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro");
    Ok(uri)
}

/// 12345 as "12,345".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
