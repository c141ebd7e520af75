//! jamrs-sqlite: the SQLite backend.
//!
//! Owns SQLite's [`dialect::SqliteDialect`], the connection settings (`conn::open`, all pragmas
//! in one commented function), the [`store::SqliteStore`] with one writer thread and a pool of
//! reader threads, and schema introspection and migration for SQLite.
//!
//! Must not know: HTTP, Python, the project's files.

pub mod conn;
pub mod dialect;
mod fold;
pub mod migrate;
pub mod store;
pub mod system;
mod writer;

pub use conn::SqliteConn;
pub use dialect::SqliteDialect;
pub use store::SqliteStore;
