//! The connection seam: what the engine needs from a database connection. Backends implement
//! [`Conn`]; the engine and server modules use nothing else.

use std::any::Any;

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
