//! The connection seam: what the engine needs from a database connection. Backends implement
//! [`Conn`]; the engine and server modules use nothing else.

use std::any::Any;

use jamrs_core::session::Tenant;
use jamrs_core::{FieldType, Result, Value};

use crate::auth::SessionCache;
use crate::dialect::Dialect;
use crate::sql::Sql;

pub trait Conn {
    fn dialect(&self) -> &dyn Dialect;

    /// Runs a query and decodes each column with the matching entry of `types` (so a boolean
    /// column comes back as `Value::Bool` whatever the database stores).
    fn query(&mut self, sql: &Sql, types: &[FieldType]) -> Result<Vec<Vec<Value>>>;

    /// Runs a query of any shape (raw SQL from server modules), decoding each column by what
    /// the database holds.
    fn query_any(&mut self, sql: &Sql) -> Result<Vec<Vec<Value>>>;

    /// Runs a statement and returns the number of rows it changed.
    fn execute(&mut self, sql: &Sql) -> Result<u64>;

    /// Runs an INSERT and returns the new row's key.
    fn insert(&mut self, sql: &Sql) -> Result<i64>;

    /// Starts a write transaction.
    fn begin(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;

    /// Waits until no other transaction holds `key`, then holds it until this transaction
    /// ends: what lets a check and the write that depends on it (the login throttle's count
    /// and its reservation) run as one, whichever instance of jamrs runs them. A backend that
    /// runs one write transaction at a time (SQLite) already has that, and does nothing.
    fn lock_key(&mut self, _key: &str) -> Result<()> {
        Ok(())
    }

    /// Tells the database whose rows the rest of this transaction may reach: the second wall
    /// under the engine's own tenant predicates (PostgreSQL's row-level security reads it; a
    /// connection that sets nothing reaches no covered row). Set from the session by
    /// `auth::authenticate`, widened only for what server code asks to see unscoped. SQLite:
    /// nothing (the engine is its one wall).
    fn scope(&mut self, _tenant: &Tenant) -> Result<()> {
        Ok(())
    }

    /// True for a connection that cannot write (the store's readers).
    fn read_only(&self) -> bool;

    /// Moves the live connection out, for code that must own it while it runs: a server
    /// module's objects hold it during a handler. Until [`Conn::restore`], `self` refuses work.
    fn lend(&mut self) -> Result<Box<dyn Conn + Send>>;

    /// Takes back what [`Conn::lend`] gave out.
    fn restore(&mut self, lent: Box<dyn Conn + Send>);

    /// For [`Conn::restore`] to get its own type back.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;

    /// The sessions this process already checked on this connection's database (shared by
    /// the connections of one store), if the backend keeps them: see [`SessionCache`].
    fn session_cache(&self) -> Option<&SessionCache> {
        None
    }
}

/// Runs `f` with the transaction widened to every tenant (server code's unscoped datasets, the
/// one deliberate bypass), then narrowed back to `back` (see [`Conn::scope`]).
pub fn widened<T>(
    conn: &mut dyn Conn,
    back: &Tenant,
    f: impl FnOnce(&mut dyn Conn) -> Result<T>,
) -> Result<T> {
    conn.scope(&Tenant::All)?;
    let out = f(conn);
    let restored = conn.scope(back);
    let out = out?;
    restored?;
    Ok(out)
}
