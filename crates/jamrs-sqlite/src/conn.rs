//! A SQLite connection implementing the engine's [`Conn`], and the one place where connection
//! settings live.

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jamrs_core::{Error, FieldType, Result, Value};
use jamrs_store::auth::SessionCache;
use jamrs_store::{Conn, Dialect, Sql};
use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, params_from_iter};

use crate::dialect::{FOLD_FN, SqliteDialect};

/// How long a statement waits for a lock held by another connection or process.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection with every setting jamrs relies on.
pub fn open(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::internal(format!("cannot open database {}: {e}", path.display())))?;
    configure(&conn, read_only).map_err(map_err)?;
    // The store opens and ends transactions, never a job (see [`in_job`]).
    conn.authorizer(Some(|ctx: AuthContext<'_>| match ctx.action {
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } if IN_JOB.get() => {
            Authorization::Deny
        }
        _ => Authorization::Allow,
    }))
    .map_err(map_err)?;
    Ok(conn)
}

thread_local! {
    /// True on a database thread while it runs a job's body.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

/// Runs a job's body. SQL that would begin, commit or roll back a transaction, or make or
/// release a savepoint, is refused while it runs ("not authorized"): the store owns the
/// transaction a write runs in, and shares it with other writes (group commit), and a read must
/// not keep a snapshot open on its connection.
pub fn in_job<R>(body: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_JOB.set(self.0);
        }
    }
    let _reset = Reset(IN_JOB.replace(true));
    body()
}

/// Every connection setting, in one place.
fn configure(conn: &Connection, read_only: bool) -> rusqlite::Result<()> {
    // Wait for locks instead of failing at once: readers and several processes share the file.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        // WAL lets readers run while the writer writes; it is a property of the file, so the
        // writer sets it and readers inherit it.
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    // In WAL mode NORMAL is durable against application crashes and only risks the last
    // transactions on power loss, at a fraction of FULL's fsyncs.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Temporary b-trees (sorting, grouping) stay in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 32 MB page cache per connection (negative means KiB).
    conn.pragma_update(None, "cache_size", -32_000)?;
    // jamrs checks references itself (lookups are checked on apply) and SQLite's enforcement
    // would also block migrations that rebuild tables.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // Keep one plan per cached statement instead of re-planning every call: without this,
    // prepared statements with bound LIMIT values were re-planned each time, costing about a
    // third of the throughput of a page query (measured, see reference/rust-stack.md).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Refuse to run SQL that could corrupt the file through writable_schema and friends.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    // Each request builds a handful of distinct statements; keep them prepared.
    conn.set_prepared_statement_cache_capacity(256);
    // Case-insensitive searches compare `jamrs_fold(column) LIKE pattern` (crate::fold).
    conn.create_scalar_function(
        FOLD_FN,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(crate::fold::jamrs_fold(ctx)),
    )?;
    Ok(())
}

/// Maps a SQLite error to the engine's error kinds, once.
pub fn map_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.code {
            ErrorCode::ConstraintViolation => {
                let detail = msg.clone().unwrap_or_default();
                if detail.contains("UNIQUE") {
                    return Error::conflict(
                        "a record with the same value already exists (unique index)",
                    );
                }
                return Error::conflict(format!("the database refused the change: {detail}"));
            }
            // Only the authorizer of [`open`] denies, and only transaction control in a job:
            // raw SQL of a server module's author, who is told so (not a 500 with the text
            // hidden, as for faults of jamrs itself).
            ErrorCode::AuthorizationForStatementDenied => {
                return Error::bad_request(
                    "SQL run by a request may not begin, commit or roll back a transaction or use savepoints: jamrs runs each request in a transaction it ends itself",
                );
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return Error::internal(format!("database busy: {e}"));
            }
            _ => {}
        }
    }
    if let rusqlite::Error::SqlInputError {
        msg, sql, offset, ..
    } = &e
    {
        // rusqlite's own text of this error is the whole statement, which can be a hundred
        // kilobytes and, for raw SQL from a server module, hold its values.
        return Error::internal(format!(
            "sqlite: {msg} at offset {offset} of {}",
            statement_head(sql)
        ));
    }
    Error::internal(format!("sqlite: {e}"))
}

/// How a statement is named in a log line: its length and its first words, up to where values
/// could begin (a quote, a placeholder, `WHERE`, `VALUES`, `SET`), at most 60 characters. The
/// builder's statements hold no values (they are bound), but raw SQL from a module may.
pub fn statement_head(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    let mut end = sql.len().min(60);
    for stop in ["'", "?", " WHERE ", " VALUES", " SET "] {
        if let Some(i) = upper.find(stop) {
            end = end.min(i);
        }
    }
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "a {}-byte statement \"{} …\"",
        sql.len(),
        sql[..end].trim_end()
    )
}

/// Statements that bind more values than this, or are longer, are prepared for one run and not
/// kept: their text differs with the length of each list, and a prepared statement holds a slot
/// per bound value (about 1.6 MB for 10,000 values, measured), so keeping them would let one
/// client fill the 256 places of each connection's cache with hundreds of megabytes.
const CACHED_MAX_PARAMS: usize = 64;
const CACHED_MAX_BYTES: usize = 8 * 1024;

/// A statement from the connection's cache, or prepared for one run (see [`CACHED_MAX_PARAMS`]).
enum Prepared<'c> {
    Cached(rusqlite::CachedStatement<'c>),
    Once(rusqlite::Statement<'c>),
}

impl<'c> std::ops::Deref for Prepared<'c> {
    type Target = rusqlite::Statement<'c>;
    fn deref(&self) -> &Self::Target {
        match self {
            Prepared::Cached(s) => s,
            Prepared::Once(s) => s,
        }
    }
}

impl std::ops::DerefMut for Prepared<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Prepared::Cached(s) => s,
            Prepared::Once(s) => s,
        }
    }
}

fn prepare<'c>(conn: &'c Connection, sql: &Sql) -> Result<Prepared<'c>> {
    if sql.params.len() > CACHED_MAX_PARAMS || sql.text.len() > CACHED_MAX_BYTES {
        conn.prepare(&sql.text).map(Prepared::Once)
    } else {
        conn.prepare_cached(&sql.text).map(Prepared::Cached)
    }
    .map_err(map_err)
}

/// Binds a [`Value`]; booleans are stored as 0/1.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        })
    }
}

fn decode(v: ValueRef<'_>, t: FieldType) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => match t {
            FieldType::Boolean => Value::Bool(i != 0),
            FieldType::Float | FieldType::Currency => Value::Float(i as f64),
            _ => Value::Int(i),
        },
        ValueRef::Real(f) => Value::Float(f),
        // `from_utf8` first: its check of valid text is several times faster than the lossy
        // conversion's, which only text that is not UTF-8 needs.
        ValueRef::Text(s) | ValueRef::Blob(s) => Value::Text(match std::str::from_utf8(s) {
            Ok(t) => t.to_owned(),
            Err(_) => String::from_utf8_lossy(s).into_owned(),
        }),
    }
}

/// A connection the engine can use.
pub struct SqliteConn {
    /// `None` while lent out (see `Conn::lend`).
    conn: Option<Connection>,
    read_only: bool,
    /// Shared by the connections of one store (`SqliteStore`); `None` for a lone connection.
    sessions: Option<Arc<SessionCache>>,
    /// On a connection of a request's thread: the statements lately too long for that thread,
    /// which [`Conn::query`] refuses there, so that they go to a reader before they start.
    gate: Option<Arc<crate::store::SlowReads>>,
}

impl SqliteConn {
    pub fn new(conn: Connection) -> Self {
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
        SqliteConn {
            conn: Some(conn),
            read_only,
            sessions: None,
            gate: None,
        }
    }

    /// A connection of a request's thread (`SqliteStore::read_here`), gated by `slow`.
    pub(crate) fn gated(self, slow: Arc<crate::store::SlowReads>) -> Self {
        SqliteConn {
            gate: Some(slow),
            ..self
        }
    }

    /// A connection of a store, which shares the store's [`SessionCache`].
    pub fn with_sessions(conn: Connection, sessions: Arc<SessionCache>) -> Self {
        SqliteConn {
            sessions: Some(sessions),
            ..SqliteConn::new(conn)
        }
    }

    /// The rusqlite connection. Lending is scoped to one handler call, so outside of it the
    /// connection is always here.
    pub fn raw(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("the connection is used while it is lent to a server module")
    }

    /// Shared access to the rusqlite connection (see [`SqliteConn::raw`]).
    pub fn get(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the connection is used while it is lent to a server module")
    }

    /// True when no transaction is open, or the connection is lent out and was not returned.
    /// Starts a read transaction (outside any job: the store owns it; see
    /// `store::job_loop`). DEFERRED takes no lock; the snapshot starts at the first read.
    pub(crate) fn begin_snapshot(&mut self) -> Result<()> {
        self.live()?
            .execute_batch("BEGIN DEFERRED")
            .map_err(map_err)
    }

    /// Starts the read transaction of one short read (`SqliteStore::read_here`), so that all
    /// its statements (the session check and the open) see one snapshot and take the WAL's
    /// read lock once: every read transaction locks and unlocks a read mark of the `-shm` file
    /// (an `fcntl` each time no other connection of the process holds it, under a mutex the
    /// process's connections share). Cached statements: this runs for every request.
    pub(crate) fn begin_read(&mut self) -> Result<()> {
        self.live()?
            .prepare_cached("BEGIN DEFERRED")
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(map_err)
    }

    /// Ends the transaction [`SqliteConn::begin_read`] began (a read-only one: COMMIT and
    /// ROLLBACK are the same, COMMIT is the cheaper).
    pub(crate) fn end_read(&mut self) -> Result<()> {
        let conn = self.live()?;
        if conn.is_autocommit() {
            return Ok(());
        }
        conn.prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(map_err)
    }

    pub fn outside_transaction(&self) -> bool {
        self.conn.as_ref().is_none_or(Connection::is_autocommit)
    }

    /// Runs statements without results (transaction control: `SAVEPOINT`, `RELEASE`).
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.live()?.execute_batch(sql).map_err(map_err)
    }

    fn live(&mut self) -> Result<&mut Connection> {
        self.conn
            .as_mut()
            .ok_or_else(|| jamrs_core::Error::internal("the connection is lent to a server module"))
    }
}

impl Conn for SqliteConn {
    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    fn query(&mut self, sql: &Sql, types: &[FieldType]) -> Result<Vec<Vec<Value>>> {
        if let Some(gate) = &self.gate
            && !gate.admit(&sql.text)
        {
            // Never answered: the store runs the whole job again on a reader.
            return Err(Error::internal("a read too long for the request's thread"));
        }
        let mut stmt = prepare(self.live()?, sql)?;
        let mut rows = stmt
            .query(params_from_iter(sql.params.iter().map(Bind)))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut values = Vec::with_capacity(types.len());
            for (i, t) in types.iter().enumerate() {
                values.push(decode(row.get_ref(i).map_err(map_err)?, *t));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn query_any(&mut self, sql: &Sql) -> Result<Vec<Vec<Value>>> {
        let mut stmt = self.live()?.prepare(&sql.text).map_err(map_err)?;
        let n = stmt.column_count();
        let mut rows = stmt
            .query(params_from_iter(sql.params.iter().map(Bind)))
            .map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(decode(row.get_ref(i).map_err(map_err)?, FieldType::Text));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &Sql) -> Result<u64> {
        let mut stmt = prepare(self.live()?, sql)?;
        let n = stmt
            .execute(params_from_iter(sql.params.iter().map(Bind)))
            .map_err(map_err)?;
        Ok(n as u64)
    }

    fn insert(&mut self, sql: &Sql) -> Result<i64> {
        self.execute(sql)?;
        Ok(self.live()?.last_insert_rowid())
    }

    fn begin(&mut self) -> Result<()> {
        // IMMEDIATE takes the write lock now, so a transaction never fails half-way on a lock
        // another process took after our first read.
        self.live()?
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(map_err)
    }

    fn commit(&mut self) -> Result<()> {
        self.live()?.execute_batch("COMMIT").map_err(map_err)
    }

    fn rollback(&mut self) -> Result<()> {
        let conn = self.live()?;
        if conn.is_autocommit() {
            return Ok(());
        }
        conn.execute_batch("ROLLBACK").map_err(map_err)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn lend(&mut self) -> Result<Box<dyn Conn + Send>> {
        let conn = self.conn.take().ok_or_else(|| {
            jamrs_core::Error::internal("the connection is already lent to a server module")
        })?;
        Ok(Box::new(SqliteConn {
            conn: Some(conn),
            read_only: self.read_only,
            sessions: self.sessions.clone(),
            gate: self.gate.clone(),
        }))
    }

    fn restore(&mut self, lent: Box<dyn Conn + Send>) {
        if let Ok(mut back) = lent.into_any().downcast::<SqliteConn>() {
            self.conn = back.conn.take();
        }
    }

    fn session_cache(&self) -> Option<&SessionCache> {
        self.sessions.as_deref()
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: a log line never carries a whole statement, nor its values.
    #[test]
    fn a_failing_statement_is_logged_by_its_head_alone() {
        let conn = Connection::open_in_memory().unwrap();
        let many = vec!["?"; 40_000].join(", ");
        let deep = vec!["a = 1"; 1_200].join(" AND ");
        let mut pointed = 0;
        for sql in [
            format!("SELECT 1 WHERE 1 IN ({many})"),
            format!("SELECT 1 FROM (SELECT 1 AS a) WHERE {deep}"),
            "SELECT 'secret value' FROM nowhere".to_string(),
            "SELECT 'secret value' FROM WHERE 42".to_string(),
            "UPDATE t SET a = 'secret' WHERE b = 42".to_string(),
        ] {
            let e = map_err(conn.prepare(&sql).map(|_| ()).unwrap_err());
            assert!(e.message.len() < 200, "{}", e.message);
            assert!(
                !e.message.contains("secret") && !e.message.contains("42"),
                "{}",
                e.message
            );
            // SQLite points at the place of some errors (too many variables, a syntax error):
            // those name the statement by its head.
            if e.message.contains(" at offset ") {
                pointed += 1;
                assert!(
                    e.message
                        .contains(&format!("a {}-byte statement", sql.len())),
                    "{}",
                    e.message
                );
            }
        }
        // Too many variables (the 500 of issue 12) and the syntax error.
        assert_eq!(pointed, 2);
    }

    #[test]
    fn a_statement_head_stops_where_values_could_begin() {
        assert_eq!(
            statement_head("SELECT t.\"a\" FROM \"notes\" AS t WHERE t.\"b\" = ?"),
            "a 46-byte statement \"SELECT t.\"a\" FROM \"notes\" AS t …\""
        );
        assert_eq!(
            statement_head("INSERT INTO x (a) VALUES (5)"),
            "a 28-byte statement \"INSERT INTO x (a) …\""
        );
        let long = format!("SELECT {}", "ä".repeat(100));
        assert!(statement_head(&long).chars().count() < 90);
    }
}
