//! One writer, many readers, on threads of their own.
//!
//! SQLite allows one writer at a time per file; a single writer thread owning the only
//! read-write connection makes that explicit and keeps lock waits out of requests. Readers
//! share a queue and each owns a read-only connection, so a bug on a read path cannot write.
//! None of this runs on the async runtime: the server awaits a oneshot answer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender, unbounded};
use jamrs_core::{Error, Result};
use jamrs_store::store::Job;
use jamrs_store::{Conn, Dialect, Store};

use crate::conn::{SqliteConn, open};
use crate::dialect::SqliteDialect;

pub struct SqliteStore {
    path: PathBuf,
    writer: Sender<Job>,
    readers: Sender<Job>,
}

impl SqliteStore {
    /// Opens the writer (creating the file, switching it to WAL) and `readers` reader threads.
    pub fn open(path: &Path, readers: usize) -> Result<SqliteStore> {
        Self::open_with(path, readers, None)
    }

    /// As [`SqliteStore::open`], running each database thread's loop inside `wrap` (server
    /// modules use it to give each thread one long-lived Python thread state instead of making
    /// one for every handler call).
    pub fn open_with(path: &Path, readers: usize, wrap: Option<ThreadWrap>) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let writer_conn = open(path, false)?;
        let (writer, writer_rx) = unbounded::<Job>();
        spawn_worker(
            "jamrs-sqlite-writer".into(),
            SqliteConn::new(writer_conn),
            writer_rx,
            wrap.clone(),
        )?;
        let (reader_tx, reader_rx) = unbounded::<Job>();
        for i in 0..readers.max(1) {
            let conn = open(path, true)?;
            spawn_worker(
                format!("jamrs-sqlite-reader-{i}"),
                SqliteConn::new(conn),
                reader_rx.clone(),
                wrap.clone(),
            )?;
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer,
            readers: reader_tx,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Runs a database thread's whole loop (see [`SqliteStore::open_with`]).
pub type ThreadWrap = Arc<dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync>;

fn spawn_worker(
    name: String,
    conn: SqliteConn,
    jobs: Receiver<Job>,
    wrap: Option<ThreadWrap>,
) -> Result<()> {
    let thread_name = name.clone();
    let run = move || {
        let loop_ = move || worker_loop(&name, conn, jobs);
        match wrap {
            Some(w) => w(Box::new(loop_)),
            None => loop_(),
        }
    };
    thread::Builder::new()
        .name(thread_name)
        .spawn(run)
        .map(|_| ())
        .map_err(|e| Error::internal(format!("cannot start a database thread: {e}")))
}

fn worker_loop(name: &str, mut conn: SqliteConn, jobs: Receiver<Job>) {
    for job in jobs.iter() {
        // A panicking job must not take the connection down with it.
        if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            tracing::error!(worker = %name, "a database job panicked");
            if let Err(e) = conn.rollback() {
                tracing::error!(worker = %name, error = %e, "rollback after panic failed");
            }
        }
    }
}

fn stopped() -> Error {
    Error::internal("the database workers have stopped")
}

impl Store for SqliteStore {
    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    fn submit_read(&self, job: Job) -> Result<()> {
        self.readers.send(job).map_err(|_| stopped())
    }

    fn submit_write(&self, job: Job) -> Result<()> {
        self.writer.send(job).map_err(|_| stopped())
    }
}

/// Runs `f` on a fresh read-write connection (for CLI commands and migrations).
pub fn with_connection<T>(path: &Path, f: impl FnOnce(&mut SqliteConn) -> Result<T>) -> Result<T> {
    let conn = open(path, false)?;
    f(&mut SqliteConn::new(conn))
}
