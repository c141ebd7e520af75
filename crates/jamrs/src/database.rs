//! Which database a project uses, and the few things the commands do on it whatever it is:
//! the project's SQLite file (`[database] path`), or a PostgreSQL database (`[database] url`,
//! `JAMRS_DATABASE_URL`, `--database-url`). This is the one place the binary chooses a backend;
//! everything above the store works on `Conn` and `Store`.

use std::path::{Path, PathBuf};

use jamrs_core::{Error, Result, Task};
use jamrs_store::Conn;

use crate::config::database_path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite file (absolute, or relative to the working folder).
    Sqlite(PathBuf),
    /// A PostgreSQL database URL.
    Postgres(String),
}

impl Database {
    /// The database a loaded project names.
    pub fn of(task: &Task) -> Database {
        match &task.settings.database.url {
            Some(url) => Database::Postgres(url.clone()),
            None => Database::Sqlite(database_path(task)),
        }
    }

    /// How messages name it: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => jamrs_postgres::conn::redact(url),
        }
    }

    /// The SQLite file, if it is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Database::Sqlite(p) => Some(p),
            Database::Postgres(_) => None,
        }
    }

    /// Runs `f` in one transaction on a read-write connection, after creating or upgrading the
    /// system tables (users, sessions). For the CLI (`jamrs user …`, the demo's data). The
    /// PostgreSQL client runs on a thread of its own, so async code may call this.
    pub fn transaction<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send,
    ) -> Result<T> {
        match self {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::internal(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                jamrs_sqlite::store::with_connection(path, |c| {
                    jamrs_sqlite::system::ensure(c.raw())?;
                    jamrs_store::store::in_transaction(c, f)
                })
            }
            Database::Postgres(url) => jamrs_postgres::store::with_connection(url, |c| {
                jamrs_postgres::migrate::locked(c.client()?, |tx| {
                    jamrs_postgres::system::ensure(tx).map(|_| ())
                })?;
                // The CLI is the operator: its transaction reaches every tenant's rows
                // (row-level security; `Conn::scope`).
                jamrs_store::store::in_transaction(c, |conn| {
                    conn.scope(&jamrs_core::session::Tenant::All)?;
                    f(conn)
                })
            }),
        }
    }
}
