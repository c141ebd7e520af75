//! jamrs-postgres: the PostgreSQL backend.
//!
//! Owns PostgreSQL's [`dialect::PgDialect`] (beside SQLite's, difference by difference), the
//! connection settings and the binary value codec (`conn`, `codec`), the [`store::PgStore`]
//! with pools of reader and writer threads (one transaction per job, several writers at once,
//! several instances on one database), the system tables, and schema introspection and
//! migration under an advisory lock.
//!
//! Must not know: HTTP, Python, the project's files.

pub mod codec;
pub mod conn;
pub mod dialect;
pub mod migrate;
pub mod store;
pub mod system;
pub mod testing;

pub use conn::PgConn;
pub use dialect::PgDialect;
pub use store::PgStore;
