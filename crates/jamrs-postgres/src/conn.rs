//! A PostgreSQL connection implementing the engine's [`Conn`], and the one place where
//! connection settings live.
//!
//! The client is `postgres`'s synchronous one: it drives a tokio-postgres connection on a
//! runtime of its own and blocks the calling thread, so it must never run on an async worker
//! (it panics there). The store's threads are the only place it runs.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use jamrs_core::session::Tenant;
use jamrs_core::{Error, FieldType, Result, Value};
use jamrs_store::{Conn, Dialect, Sql};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Statement};

use crate::codec::{Bind, Cell, as_field};
use crate::dialect::PgDialect;

/// How long a statement may run, and wait for a lock, before it fails its request (set per
/// session; see [`configure`]).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connecting may take before it is reported as a failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// True for a database URL this backend serves (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A connection URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((who, host)) => {
            let user = who.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

/// The settings a URL gives, with jamrs's own (see [`connect`]).
pub fn config(url: &str) -> Result<Config> {
    if !is_postgres_url(url) {
        return Err(Error::bad_request(format!(
            "database url \"{}\" is not a PostgreSQL URL (postgres://user@host:port/database)",
            redact(url)
        )));
    }
    let mut config = Config::from_str(url)
        .map_err(|e| Error::bad_request(format!("database url \"{}\": {e}", redact(url))))?;
    if config.get_application_name().is_none() {
        config.application_name("jamrs");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(config)
}

/// Opens a connection with every setting jamrs relies on. A failure is one line that names
/// the server (without the password) and says what went wrong.
pub fn connect(url: &str) -> Result<Client> {
    let config = config(url)?;
    let mut client = config.connect(NoTls).map_err(|e| {
        Error::internal(format!(
            "cannot connect to PostgreSQL at {}: {}",
            redact(url),
            describe(&e)
        ))
    })?;
    configure(&mut client).map_err(|e| {
        Error::internal(format!(
            "cannot set up the connection to {}: {}",
            redact(url),
            describe(&e)
        ))
    })?;
    Ok(client)
}

/// Every session setting, in one place.
fn configure(client: &mut Client) -> std::result::Result<(), postgres::Error> {
    client.batch_execute(&format!(
        // Dates and times are read and written in UTC and ISO order, whatever the server's
        // defaults; jamrs's values carry no time zone.
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';
         SET IntervalStyle = 'iso_8601';
         -- A stuck query, or a wait for another transaction's lock, fails its request instead
         -- of holding a connection (and the client waiting) for ever.
         SET statement_timeout = {};
         SET lock_timeout = {};
         -- A connection never idles inside a transaction for long: the store ends every
         -- transaction it begins, so this only catches a fault (an hour: longer than any
         -- module_timeout or report's run, whose Python may think between statements).
         SET idle_in_transaction_session_timeout = 3600000;
         -- Standard strings: a backslash in a literal is a backslash (the LIKE escape).
         SET standard_conforming_strings = on",
        STATEMENT_TIMEOUT.as_millis(),
        LOCK_TIMEOUT.as_millis()
    ))
}

/// Whether the database folds non-ASCII case in ILIKE (its `LC_CTYPE` is not `C`/`POSIX`):
/// with a C ctype, "Ärger" does not match "ä", unlike on SQLite. Returns the ctype when it
/// does not, for a warning at start.
pub fn check_ctype(client: &mut Client) -> Result<Option<String>> {
    let row = client
        .query_one(
            "SELECT datctype FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(map_err)?;
    let ctype: String = row.get(0);
    Ok(matches!(ctype.as_str(), "C" | "POSIX").then_some(ctype))
}

/// The text of a client error: the server's message for a database error (the client's own
/// Display says only "db error"), the cause's for a connection error.
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Maps a PostgreSQL error to the engine's error kinds, once.
pub fn map_err(e: postgres::Error) -> Error {
    let Some(code) = e.code() else {
        return Error::internal(format!("postgres: {}", describe(&e)));
    };
    let message = describe(&e);
    if *code == SqlState::UNIQUE_VIOLATION {
        return Error::conflict("a record with the same value already exists (unique index)");
    }
    if code.code().starts_with("23") {
        return Error::conflict(format!("the database refused the change: {message}"));
    }
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return Error::conflict("the database is busy with a conflicting change; retry");
    }
    if *code == SqlState::LOCK_NOT_AVAILABLE {
        return Error::conflict(
            "the record is being changed by another request (waited too long for it); retry",
        );
    }
    if *code == SqlState::QUERY_CANCELED {
        return Error::internal(format!("postgres: the statement ran too long: {message}"));
    }
    if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        return Error::internal(format!("postgres: permission denied: {message}"));
    }
    Error::internal(format!("postgres: {message} ({})", code.code()))
}

/// Statements that bind more values than this, or are longer, are prepared for one run and not
/// kept (as on SQLite: their text differs with each list's length).
const CACHED_MAX_PARAMS: usize = 64;
const CACHED_MAX_BYTES: usize = 8 * 1024;
/// Prepared statements kept per connection; when full, the cache starts over.
const CACHE_SIZE: usize = 256;

/// The first keyword of a statement, after white space and comments.
fn first_keyword(text: &str) -> String {
    let mut s = text;
    loop {
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '(' || c == ';');
        if let Some(rest) = t.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = t.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            s = t;
            break;
        }
    }
    s.chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Statements that would end, split or change the transaction a job runs in, or the session's
/// settings (its time limits, and the tenant row-level security reads): only the store runs
/// them. PostgreSQL's extended protocol runs one statement per call, so the first keyword is
/// the statement's.
const TRANSACTION_CONTROL: &[&str] = &[
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "PREPARE",
    "SET",
    "RESET",
    "DISCARD",
    "LISTEN",
    "UNLISTEN",
    "LOCK",
    "CALL",
    "DO",
    "VACUUM",
    "CHECKPOINT",
];

fn refuse_control(sql: &Sql) -> Result<()> {
    let word = first_keyword(&sql.text);
    if TRANSACTION_CONTROL.contains(&word.as_str()) {
        return Err(Error::bad_request(format!(
            "SQL run by a request may not begin, commit or roll back a transaction, use savepoints or change the session ({word}): jamrs runs each request in a transaction it begins and ends itself"
        )));
    }
    Ok(())
}

/// A connection the engine can use.
pub struct PgConn {
    /// `None` while lent out (see `Conn::lend`).
    client: Option<Client>,
    cache: HashMap<String, Statement>,
    read_only: bool,
    /// True while a job's body runs: it may not begin, commit or roll back.
    in_job: bool,
}

impl PgConn {
    pub fn new(client: Client, read_only: bool) -> Self {
        PgConn {
            client: Some(client),
            cache: HashMap::new(),
            read_only,
            in_job: false,
        }
    }

    /// Opens a read-write connection (CLI commands, migrations).
    pub fn open(url: &str) -> Result<PgConn> {
        Ok(PgConn::new(connect(url)?, false))
    }

    fn live(&mut self) -> Result<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| Error::internal("the connection is lent to a server module"))
    }

    /// The client, for the store's transaction control and migrations.
    pub fn client(&mut self) -> Result<&mut Client> {
        self.live()
    }

    /// True when the connection was lost (the store opens a new one).
    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_some_and(Client::is_closed)
    }

    /// True when the client was lent to a module and never came back.
    pub fn client_missing(&self) -> bool {
        self.client.is_none()
    }

    pub(crate) fn set_in_job(&mut self, on: bool) {
        self.in_job = on;
    }

    /// Runs statements without results, outside of any job (the store's BEGIN and COMMIT).
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        self.live()?.batch_execute(sql).map_err(map_err)
    }

    fn statement(&mut self, sql: &Sql) -> Result<Statement> {
        if let Some(s) = self.cache.get(&sql.text) {
            return Ok(s.clone());
        }
        let stmt = self.live()?.prepare(&sql.text).map_err(|e| {
            let err = map_err(e);
            Error::new(
                err.kind,
                format!("{} in {}", err.message, statement_head(&sql.text)),
            )
        })?;
        if sql.params.len() <= CACHED_MAX_PARAMS && sql.text.len() <= CACHED_MAX_BYTES {
            if self.cache.len() >= CACHE_SIZE {
                self.cache.clear();
            }
            self.cache.insert(sql.text.clone(), stmt.clone());
        }
        Ok(stmt)
    }

    fn rows(&mut self, sql: &Sql) -> Result<Vec<postgres::Row>> {
        refuse_control(sql)?;
        let stmt = self.statement(sql)?;
        let binds: Vec<Bind> = sql.params.iter().map(Bind).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let result = self.live()?.query(&stmt, &params);
        result.map_err(|e| self.failed(e))
    }

    /// Maps a failed run's error; a statement whose result type changed (another instance
    /// migrated the table) empties the cache so the next run prepares it afresh.
    fn failed(&mut self, e: postgres::Error) -> Error {
        if e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED) {
            self.cache.clear();
            return Error::conflict("the database schema changed while this ran; retry");
        }
        map_err(e)
    }

    /// Takes a session-level advisory lock (migrations across instances); released by
    /// [`PgConn::unlock_session`] or when the connection closes.
    pub fn lock_session(&mut self, key: i64) -> Result<()> {
        self.live()?
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .map(|_| ())
            .map_err(map_err)
    }

    pub fn unlock_session(&mut self, key: i64) -> Result<()> {
        self.live()?
            .execute("SELECT pg_advisory_unlock($1)", &[&key])
            .map(|_| ())
            .map_err(map_err)
    }
}

/// How a statement is named in an error: its length and first words, up to where values could
/// begin (the builder's statements hold none, but raw SQL from a module may).
pub fn statement_head(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    let mut end = sql.len().min(60);
    for stop in ["'", "$", " WHERE ", " VALUES", " SET "] {
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

fn cells(row: &postgres::Row, i: usize) -> Result<Value> {
    row.try_get::<usize, Cell>(i)
        .map(|c| c.0)
        .map_err(|e| Error::internal(format!("postgres: {}", describe(&e))))
}

impl Conn for PgConn {
    fn dialect(&self) -> &dyn Dialect {
        &PgDialect
    }

    fn query(&mut self, sql: &Sql, types: &[FieldType]) -> Result<Vec<Vec<Value>>> {
        let rows = self.rows(sql)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(types.len());
            for (i, t) in types.iter().enumerate() {
                values.push(as_field(cells(row, i)?, *t));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn query_any(&mut self, sql: &Sql) -> Result<Vec<Vec<Value>>> {
        let rows = self.rows(sql)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                values.push(cells(row, i)?);
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &Sql) -> Result<u64> {
        refuse_control(sql)?;
        let stmt = self.statement(sql)?;
        let binds: Vec<Bind> = sql.params.iter().map(Bind).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let result = self.live()?.execute(&stmt, &params);
        result.map_err(|e| self.failed(e))
    }

    /// The INSERT carries `RETURNING` (the dialect's `insert_returning`).
    fn insert(&mut self, sql: &Sql) -> Result<i64> {
        let rows = self.rows(sql)?;
        match rows.first().map(|r| cells(r, 0)).transpose()? {
            Some(Value::Int(id)) => Ok(id),
            _ => Err(Error::internal(format!(
                "postgres: an INSERT returned no key ({})",
                statement_head(&sql.text)
            ))),
        }
    }

    fn begin(&mut self) -> Result<()> {
        self.refuse_in_job()?;
        self.batch("BEGIN")
    }

    fn commit(&mut self) -> Result<()> {
        self.refuse_in_job()?;
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        self.refuse_in_job()?;
        self.batch("ROLLBACK")
    }

    /// `pg_advisory_xact_lock` on a 64-bit hash of the key: held until the transaction ends,
    /// by whichever connection or instance of jamrs asks.
    fn lock_key(&mut self, key: &str) -> Result<()> {
        let sql = Sql {
            text: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))".into(),
            params: vec![Value::Text(key.to_string())],
        };
        self.rows(&sql).map(|_| ())
    }

    /// `set_config(…, true)` (what `SET LOCAL` does, with bound values): gone when the
    /// transaction ends, so each job starts with nothing set, which row-level security reads as
    /// "no tenant" (`migrate::POLICY`).
    fn scope(&mut self, tenant: &Tenant) -> Result<()> {
        let (value, all) = match tenant {
            Tenant::All => (String::new(), "on"),
            Tenant::Only(Value::Int(i)) => (i.to_string(), "off"),
            Tenant::Only(Value::Text(t)) => (t.clone(), "off"),
            Tenant::Only(_) | Tenant::Nobody => (String::new(), "off"),
        };
        let sql = Sql {
            text: "SELECT set_config('jamrs.tenant', $1, true), set_config('jamrs.tenant_all', $2, true)"
                .into(),
            params: vec![Value::Text(value), Value::Text(all.into())],
        };
        self.rows(&sql).map(|_| ())
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn lend(&mut self) -> Result<Box<dyn Conn + Send>> {
        let client = self
            .client
            .take()
            .ok_or_else(|| Error::internal("the connection is already lent to a server module"))?;
        Ok(Box::new(PgConn {
            client: Some(client),
            cache: std::mem::take(&mut self.cache),
            read_only: self.read_only,
            in_job: self.in_job,
        }))
    }

    fn restore(&mut self, lent: Box<dyn Conn + Send>) {
        if let Ok(mut back) = lent.into_any().downcast::<PgConn>() {
            self.client = back.client.take();
            self.cache = std::mem::take(&mut back.cache);
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

impl PgConn {
    fn refuse_in_job(&self) -> Result<()> {
        if self.in_job {
            return Err(Error::bad_request(
                "a request may not begin, commit or roll back a transaction: jamrs runs each request in a transaction it ends itself",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_keyword_skips_space_and_comments() {
        assert_eq!(first_keyword("  -- hi\n /* x */ commit"), "COMMIT");
        assert_eq!(first_keyword("(select 1)"), "SELECT");
        assert_eq!(first_keyword(";rollback"), "ROLLBACK");
        assert_eq!(first_keyword("/* unterminated"), "");
    }

    #[test]
    fn urls_are_told_and_redacted() {
        assert!(is_postgres_url("postgres://a@h/db"));
        assert!(is_postgres_url("postgresql://a@h/db"));
        assert!(!is_postgres_url("data/x.sqlite"));
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u@h:5432/db"
        );
        assert!(config("mysql://x").is_err());
        assert!(config("postgres://u@127.0.0.1:notaport/db").is_err());
    }
}
