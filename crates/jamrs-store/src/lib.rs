//! jamrs-store: how open and apply reach a database.
//!
//! Owns the query builder (the only code that writes SQL for items), the [`Dialect`] seam that
//! SQLite, PostgreSQL and MariaDB implement side by side, the [`Conn`] seam a backend
//! connection implements, the [`Store`] seam that runs jobs off the async runtime, the engine
//! that gives open and apply their Jam.py semantics, the [`Hooks`] seam server modules plug
//! into, and schema planning for migrations.
//!
//! Must not know: HTTP, a particular database driver, Python.

pub mod auth;
pub mod builder;
pub mod conn;
pub mod dialect;
pub mod engine;
pub mod files;
pub mod history;
pub mod hooks;
pub mod report;
pub mod schema;
pub mod sql;
pub mod store;

pub use conn::Conn;
pub use dialect::Dialect;
pub use engine::{ChangeResult, Engine, OpenResult};
pub use hooks::{Events, Hooks, LoginAnswer, NoHooks, TaskEvent};
pub use sql::Sql;
pub use store::Store;
