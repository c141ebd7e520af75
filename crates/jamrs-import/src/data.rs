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

/// The most rows one statement copies: a progress line comes between two statements.
const CHUNK_ROWS: u64 = 10_000;

/// The alias of the source database on the copy's connection.
const SRC: &str = "jamrs_src";

/// Copies the database `from` to `to` (a new file). `from` is attached read-only (`mode=ro`):
/// nothing is written to it, and what its write-ahead log holds comes along.
///
/// The copy is one transaction on the new file, reading one snapshot of `from` (and no journal:
/// a failed copy is a file to delete). Each table is created with its own SQL and its rows are
/// copied with their rowids by `INSERT … SELECT`, in chunks of at most [`CHUNK_ROWS`]; then the
/// indexes, views and triggers are created, and `sqlite_sequence` and the statistics copied.
/// A copy of [`LONG_COPY_ROWS`] rows or more tells `progress` what it copies, how far it is
/// at each tenth of the rows (and in which table), and when it is done; a shorter one says
/// nothing. A database this way cannot copy (a virtual table, a generated column, a text
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
    // A chunk is at most half a tenth of the rows, so that each tenth gets its line.
    let chunk = (total / 20).clamp(1, CHUNK_ROWS);
    let mut done = 0u64;
    let mut tenth = 1u64;
    for t in &plan.tables {
        dst.execute_batch(&t.sql)?;
    }
    for t in &plan.tables {
        let name = quote(&t.name);
        let Some(rowid) = &t.rowid else {
            done += dst.execute(
                &format!("INSERT INTO main.{name} SELECT * FROM {SRC}.{name}"),
                [],
            )? as u64;
            continue;
        };
        let cols: String = t
            .columns
            .iter()
            .map(|c| format!(", {}", quote(c)))
            .collect();
        let mut insert = dst.prepare(&format!(
            "INSERT INTO main.{name} ({rowid}{cols}) SELECT {rowid}{cols} FROM {SRC}.{name} \
             WHERE {rowid} >= ?1 ORDER BY {rowid} LIMIT {chunk}"
        ))?;
        let mut last = dst.prepare(&format!("SELECT max({rowid}) FROM main.{name}"))?;
        let mut next = Some(i64::MIN);
        let mut copied = 0u64;
        while let Some(first) = next {
            let n = insert.execute([first])? as u64;
            if n == 0 {
                break;
            }
            copied += n;
            done += n;
            next = last.query_row([], |r| r.get::<_, i64>(0))?.checked_add(1);
            if long && tenth <= 10 && done >= (total * tenth).div_ceil(10) {
                progress(&format!(
                    "copying the data: {} of {} rows (table {}: {} of {})",
                    thousands(done),
                    thousands(total),
                    t.name,
                    thousands(copied),
                    thousands(t.rows)
                ));
                while tenth <= 10 && done >= (total * tenth).div_ceil(10) {
                    tenth += 1;
                }
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
    /// The indexes, views and triggers, created after the rows.
    after: Vec<String>,
    has_sequence: bool,
    /// The statistics tables ANALYZE made (`sqlite_stat1`, `sqlite_stat4`).
    stats: Vec<String>,
}

struct Table {
    name: String,
    sql: String,
    columns: Vec<String>,
    /// A name the rowid goes by (`None`: a WITHOUT ROWID table, or one whose columns take
    /// every name of it).
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
                let info: Vec<(String, i64)> = dst
                    .prepare(&format!(
                        "SELECT name, hidden FROM pragma_table_xinfo(?1, '{SRC}')"
                    ))?
                    .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                if info.iter().any(|(_, hidden)| *hidden != 0) {
                    return Ok(None);
                }
                let columns: Vec<String> = info.into_iter().map(|(c, _)| c).collect();
                let without_rowid: bool = dst.query_row(
                    &format!(
                        "SELECT wr FROM pragma_table_list WHERE schema = '{SRC}' AND name = ?1"
                    ),
                    [&name],
                    |r| r.get(0),
                )?;
                let rowid = ["rowid", "_rowid_", "oid"]
                    .into_iter()
                    .find(|a| !without_rowid && !columns.iter().any(|c| c.eq_ignore_ascii_case(a)))
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
