//! Wiring: a loaded project → its database migrated → the store → the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;

use jamrs_core::{Error, Task};
use jamrs_http::{AppState, Services};
use jamrs_postgres::PgStore;
use jamrs_sqlite::SqliteStore;
use jamrs_store::store::ThreadWrap;
use jamrs_store::{Engine, Events, Hooks, NoHooks, Store, TaskEvent, store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::database::Database;
use crate::migrate;

/// What `jamrs run` needs besides the project.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Apply destructive schema changes (drop or retype columns) at start.
    pub allow_destructive: bool,
    /// Development mode: reload changed server modules without a restart.
    pub dev: bool,
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub database: Database,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(jamrs_http::SHUTDOWN_GRACE, &mut self.handle).await {
            Ok(joined) => joined.map_err(std::io::Error::other)?,
            Err(_) => {
                self.handle.abort();
                Ok(())
            }
        }
    }

    /// Serves until the process gets Ctrl-C or SIGTERM.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// How long a read may hold the request's thread before it moves to a reader thread: about a
/// hundred page queries' worth; longer reads (a count over a million rows) are rare and pay
/// this once more on the reader.
const READ_BUDGET: std::time::Duration = std::time::Duration::from_millis(1);

/// `bench/icount` runs the server under valgrind, about 50 times slower, where the 1 ms bound
/// would send most reads to a reader thread after a first, interrupted run (and count them
/// twice). It raises the bound with this variable (milliseconds); nothing else should set it.
const READ_BUDGET_VAR: &str = "JAMRS_BENCH_READ_BUDGET_MS";

fn read_budget() -> std::time::Duration {
    std::env::var(READ_BUDGET_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(READ_BUDGET, std::time::Duration::from_millis)
}

/// `bench/ab` compares the two read paths of one build side by side: with this variable set to
/// `readers`, a project without modules also reads on reader threads only. Nothing else should
/// set it (bench/README.md, "Where the time goes").
const READS_VAR: &str = "JAMRS_BENCH_READS";

fn reads_on_readers_only() -> bool {
    std::env::var(READS_VAR).is_ok_and(|v| v == "readers")
}

/// Migrates the project's database (additive changes always, destructive ones only when
/// allowed), opens the store and starts serving on the task's `server.bind`.
pub async fn start(task: Task, opts: &RunOptions) -> Result<Server, Error> {
    let db = Database::of(&task);
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let readers = cores.clamp(2, 8);
    let bind = task.settings.server.bind.clone();
    let task = Arc::new(task);
    // Modules first: one that does not load (or a jamrs without Python) stops the start before
    // anything else runs, the database included.
    let (hooks, events) = modules(&task, opts)?;
    migrate::at_start(&task, opts.allow_destructive)?;
    let wrap = thread_wrap(&task);
    // Reports and exports run on job threads of their own, a few at a time.
    let jobs = task.settings.reports.concurrency;
    let store: Arc<dyn Store> = match &db {
        Database::Sqlite(path) => {
            let mut sqlite =
                SqliteStore::open_with(path, readers, wrap.clone())?.with_job_threads(jobs)?;
            // Without modules every read is SQL jamrs built, so short ones run on the
            // request's own thread (crates/jamrs-sqlite/src/store.rs); with modules, a read may
            // run Python of any length, which must not hold an async worker.
            if wrap.is_none() && !reads_on_readers_only() {
                sqlite = sqlite.read_on_caller(read_budget());
            }
            Arc::new(sqlite)
        }
        // Writers wait on row locks and the network: half as many as readers, at least two.
        // Each instance holds readers + writers + jobs connections (crates/jamrs-postgres).
        Database::Postgres(url) => Arc::new(
            PgStore::open(url, readers, (readers / 2).max(2), wrap.clone())?
                .with_job_threads(jobs)?,
        ),
    };
    // on_created(task): once, with no session, in a transaction of its own.
    {
        let (task, hooks, events) = (task.clone(), hooks.clone(), events.clone());
        store::write(&*store, move |conn| {
            let engine = Engine::for_server(&task, &*hooks);
            events.task_event(&engine, conn, TaskEvent::Created, &[])
        })
        .await?;
    }
    let state = AppState::new(Services {
        task,
        store,
        hooks,
        events,
    });
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| Error::internal(format!("cannot listen on {bind}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("cannot read the bound address: {e}")))?;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(jamrs_http::serve(listener, state, async move {
        let _ = rx.await;
    }));
    Ok(Server {
        addr,
        database: db,
        shutdown: Some(tx),
        handle,
    })
}

/// The engine hooks and the other events of a project's server modules.
type Modules = (Arc<dyn Hooks>, Arc<dyn Events>);

/// The server modules of the project, or none: the interpreter starts only for a project that
/// has `.py` modules.
#[cfg(feature = "python")]
fn modules(task: &Arc<Task>, opts: &RunOptions) -> Result<Modules, Error> {
    if task.module_files().next().is_none() {
        return Ok((Arc::new(NoHooks), Arc::new(NoHooks)));
    }
    python::require_usable()?;
    let rt = jamrs_python::Runtime::load(
        task.clone(),
        jamrs_python::Options {
            timeout: task.settings.module_timeout,
            reload: opts.dev,
        },
    )?;
    let hooks = Arc::new(jamrs_python::PythonHooks::new(rt));
    Ok((hooks.clone(), hooks))
}

/// A jamrs built without Python serves projects without server modules, and refuses the others
/// at start with one line.
#[cfg(not(feature = "python"))]
fn modules(task: &Arc<Task>, _opts: &RunOptions) -> Result<Modules, Error> {
    match task.module_files().next() {
        None => Ok((Arc::new(NoHooks), Arc::new(NoHooks))),
        Some(file) => Err(Error::bad_request(format!(
            "{} is a server module, and this jamrs was built without Python: build it with Python \
             (`./dev install`, or `cargo install --path crates/jamrs --locked` on a machine with \
             python3-dev)",
            file.display()
        ))),
    }
}

/// With server modules, every database thread keeps a Python thread state (see
/// `jamrs_python::keep_thread_state`); without them the threads never touch the interpreter.
#[cfg(feature = "python")]
fn thread_wrap(task: &Task) -> Option<ThreadWrap> {
    task.module_files()
        .next()
        .map(|_| Arc::new(jamrs_python::keep_thread_state) as ThreadWrap)
}

#[cfg(not(feature = "python"))]
fn thread_wrap(_task: &Task) -> Option<ThreadWrap> {
    None
}

#[cfg(feature = "python")]
mod python {
    use jamrs_core::Error;

    /// Checks, before the interpreter starts, that the Python this jamrs was built against can
    /// start here: CPython aborts the whole process with a page of text when its standard
    /// library is missing, so say it in one line instead. The paths come from the build
    /// (build.rs); `PYTHONHOME`, when set, is the user's own choice and is left to CPython.
    pub(super) fn require_usable() -> Result<(), Error> {
        if std::env::var_os("PYTHONHOME").is_some() {
            return Ok(());
        }
        require_stdlib(
            std::path::Path::new(env!("JAMRS_PYTHON_STDLIB")),
            env!("JAMRS_PYTHON_VERSION"),
        )
    }

    fn require_stdlib(stdlib: &std::path::Path, version: &str) -> Result<(), Error> {
        if stdlib.join("encodings").is_dir() {
            return Ok(());
        }
        Err(Error::bad_request(format!(
            "this project has server modules, and the Python jamrs was built with (Python \
             {version}) cannot start here: its standard library is not at {} (install \
             python{version}, or set PYTHONHOME)",
            stdlib.display(),
        )))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_python_jamrs_was_built_with_is_found_here() {
            assert!(require_usable().is_ok());
        }

        #[test]
        fn a_missing_python_standard_library_is_one_clear_line() {
            let err = require_stdlib(std::path::Path::new("/nonexistent/lib/python3.11"), "3.11")
                .unwrap_err();
            assert!(!err.message.contains('\n'), "{}", err.message);
            assert!(
                err.message.contains("/nonexistent/lib/python3.11")
                    && err.message.contains("install python3.11"),
                "{}",
                err.message
            );
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
