//! Pools of reader and writer threads, each owning one connection for its life.
//!
//! PostgreSQL serves many writers at once, so unlike SQLite's one writer with group commit
//! (`jamrs-sqlite/src/writer.rs`), each write runs in a transaction of its own on one of several
//! writer connections, and several instances of jamrs may share the database. What SQLite's
//! single writer gave for free is therefore explicit: an apply holds the rows it reads
//! (`FOR UPDATE`/`FOR SHARE`, `Dialect::row_lock`), the login throttle holds its keys
//! (`Conn::lock_key`), migrations hold an advisory lock (`migrate`).
//!
//! - A read job runs in a `READ ONLY` transaction: a bug on a read path, or a module's raw SQL
//!   in one, cannot write.
//! - A write job runs in `BEGIN … COMMIT`; it is answered after the COMMIT. Before committing,
//!   the store checks that the transaction it began is still the one open and still healthy
//!   (a marker set with `set_config(…, true)` right after BEGIN must read back): PostgreSQL
//!   answers COMMIT on a failed transaction by rolling it back without an error, and a body
//!   that swallowed a failed statement's error must not be told it committed.
//! - Long reads (reports, exports) run on job threads of their own, each in one `REPEATABLE
//!   READ` snapshot.
//! - A connection that was lost is opened again before the next job; a job that finds no
//!   connection fails with the reason.
//! - No read runs on the caller's thread: the synchronous client panics on an async worker.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use crossbeam_channel::{Receiver, Sender, unbounded};
use jamrs_core::{Error, Result};
use jamrs_store::store::{Job, ThreadWrap, WriteJob};
use jamrs_store::{Dialect, Store};

use crate::conn::{PgConn, connect};
use crate::dialect::PgDialect;

pub struct PgStore {
    url: String,
    readers: Sender<Job>,
    writers: Sender<Box<dyn WriteJob>>,
    jobs: Option<Sender<Job>>,
    wrap: Option<ThreadWrap>,
}

/// The stack of a database thread (Python runs on it: see `jamrs-sqlite/src/store.rs`).
const THREAD_STACK: usize = 8 << 20;

/// How the transaction a thread's jobs run in begins.
#[derive(Clone, Copy)]
enum Kind {
    Read,
    LongRead,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Read => "reader",
            Kind::LongRead => "job",
        }
    }

    fn begin(self) -> &'static str {
        match self {
            Kind::Read => "BEGIN READ ONLY",
            Kind::LongRead => "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ",
        }
    }
}

impl PgStore {
    /// Connects `readers` reader and `writers` writer threads to `url` (each connection is
    /// opened now, so a wrong URL or an unreachable server fails here, in one line).
    pub fn open(
        url: &str,
        readers: usize,
        writers: usize,
        wrap: Option<ThreadWrap>,
    ) -> Result<PgStore> {
        let (reader_tx, reader_rx) = unbounded::<Job>();
        for i in 0..readers.max(1) {
            let conn = PgConn::new(off_runtime(|| connect(url))?, true);
            start(url, Kind::Read, i, conn, wrap.clone(), reader_rx.clone())?;
        }
        let (writer_tx, writer_rx) = unbounded::<Box<dyn WriteJob>>();
        for i in 0..writers.max(1) {
            let conn = PgConn::new(off_runtime(|| connect(url))?, false);
            let url = url.to_string();
            let rx = writer_rx.clone();
            spawn(format!("jamrs-pg-writer-{i}"), wrap.clone(), move || {
                writer_loop(&url, i, conn, &rx);
            })?;
        }
        Ok(PgStore {
            url: url.to_string(),
            readers: reader_tx,
            writers: writer_tx,
            jobs: None,
            wrap,
        })
    }

    /// Starts `threads` job threads for long reads ([`Store::submit_job`]).
    pub fn with_job_threads(mut self, threads: usize) -> Result<PgStore> {
        let (tx, rx) = unbounded::<Job>();
        for i in 0..threads.max(1) {
            let conn = PgConn::new(off_runtime(|| connect(&self.url))?, true);
            start(
                &self.url,
                Kind::LongRead,
                i,
                conn,
                self.wrap.clone(),
                rx.clone(),
            )?;
        }
        self.jobs = Some(tx);
        Ok(self)
    }
}

/// Runs `f` on a thread of its own and waits for it: the synchronous client panics when it is
/// used on an async worker, and a store is opened (and the CLI migrates) from async code.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(Error::internal("a database call panicked")))
    })
}

fn spawn(
    name: String,
    wrap: Option<ThreadWrap>,
    body: impl FnOnce() + Send + 'static,
) -> Result<()> {
    let run = move || match wrap {
        Some(w) => w(Box::new(body)),
        None => body(),
    };
    thread::Builder::new()
        .name(name)
        .stack_size(THREAD_STACK)
        .spawn(run)
        .map(|_| ())
        .map_err(|e| Error::internal(format!("cannot start a database thread: {e}")))
}

fn start(
    url: &str,
    kind: Kind,
    i: usize,
    conn: PgConn,
    wrap: Option<ThreadWrap>,
    rx: Receiver<Job>,
) -> Result<()> {
    let url = url.to_string();
    spawn(format!("jamrs-pg-{}-{i}", kind.name()), wrap, move || {
        read_loop(&url, kind, conn, &rx);
    })
}

/// The thread's connection, opened again if it was lost (or never came back from a module).
fn usable<'c>(url: &str, slot: &'c mut Option<PgConn>, read_only: bool) -> Result<&'c mut PgConn> {
    let lost = slot
        .as_ref()
        .is_none_or(|c| c.is_closed() || c.client_missing());
    if lost {
        *slot = None;
        tracing::warn!("reconnecting to the database");
        *slot = Some(PgConn::new(connect(url)?, read_only));
    }
    slot.as_mut()
        .ok_or_else(|| Error::internal("no database connection"))
}

fn read_loop(url: &str, kind: Kind, conn: PgConn, jobs: &Receiver<Job>) {
    let mut slot = Some(conn);
    for job in jobs.iter() {
        let conn = match usable(url, &mut slot, true) {
            Ok(c) => c,
            Err(e) => {
                // Dropping the job answers its caller that the worker could not run it.
                tracing::error!(error = %e, "a read could not run");
                continue;
            }
        };
        if let Err(e) = conn.batch(kind.begin()) {
            tracing::error!(error = %e, "cannot begin a read transaction");
            continue;
        }
        conn.set_in_job(true);
        if catch_unwind(AssertUnwindSafe(|| job(&mut *conn))).is_err() {
            tracing::error!(worker = kind.name(), "a database job panicked");
        }
        conn.set_in_job(false);
        if let Err(e) = conn.batch("ROLLBACK") {
            tracing::warn!(error = %e, "ending a read transaction failed");
        }
    }
}

fn writer_loop(url: &str, i: usize, conn: PgConn, jobs: &Receiver<Box<dyn WriteJob>>) {
    let mut slot = Some(conn);
    let mut serial: u64 = 0;
    for mut job in jobs.iter() {
        let conn = match usable(url, &mut slot, false) {
            Ok(c) => c,
            Err(e) => {
                job.finish(Err(e));
                continue;
            }
        };
        serial += 1;
        let marker = format!("{i}.{serial}");
        if let Err(e) = conn.batch(&format!(
            "BEGIN; SELECT set_config('jamrs.txn', '{marker}', true)"
        )) {
            job.finish(Err(e));
            continue;
        }
        conn.set_in_job(true);
        let ran = catch_unwind(AssertUnwindSafe(|| job.run(&mut *conn)));
        conn.set_in_job(false);
        let outcome = match ran {
            Ok(true) => commit(conn, &marker),
            Ok(false) => Err(Error::internal("the write failed and was rolled back")),
            Err(_) => {
                tracing::error!("a database job panicked");
                Err(Error::internal("a write panicked and was rolled back"))
            }
        };
        if outcome.is_err()
            && let Ok(client) = conn.client()
            && let Err(e) = client.batch_execute("ROLLBACK")
        {
            tracing::warn!(error = %crate::conn::describe(&e), "rollback failed");
        }
        job.finish(outcome);
    }
}

/// Commits the transaction the writer began, if it is still that one and still healthy.
fn commit(conn: &mut PgConn, marker: &str) -> Result<()> {
    let client = conn.client()?;
    // The simple protocol: one round trip, where a prepared query takes two.
    let answer = client
        .simple_query("SELECT current_setting('jamrs.txn', true)")
        .map_err(|e| {
            Error::internal(format!(
                "the write's transaction failed: {}",
                crate::conn::describe(&e)
            ))
        })?;
    let current = answer.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
        _ => None,
    });
    if current.as_deref() != Some(marker) {
        return Err(Error::internal(
            "the write's transaction was ended by SQL it ran; nothing it did after that is kept",
        ));
    }
    client.batch_execute("COMMIT").map_err(crate::conn::map_err)
}

fn stopped() -> Error {
    Error::internal("the database workers have stopped")
}

impl Store for PgStore {
    fn dialect(&self) -> &dyn Dialect {
        &PgDialect
    }

    fn submit_read(&self, job: Job) -> Result<()> {
        self.readers.send(job).map_err(|_| stopped())
    }

    fn submit_write(&self, job: Box<dyn WriteJob>) -> Result<()> {
        self.writers.send(job).map_err(|_| stopped())
    }

    fn submit_job(&self, job: Job) -> Result<()> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|_| stopped()),
            None => self.readers.send(job).map_err(|_| stopped()),
        }
    }
}

/// Runs `f` on a fresh read-write connection (CLI commands), outside any transaction.
/// Runs on a thread of its own (see [`off_runtime`]), so async code may call it.
pub fn with_connection<T: Send>(
    url: &str,
    f: impl FnOnce(&mut PgConn) -> Result<T> + Send,
) -> Result<T> {
    off_runtime(|| {
        let mut conn = PgConn::open(url)?;
        f(&mut conn)
    })
}
