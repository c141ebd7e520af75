//! One writer, many readers, on threads of their own; optionally, short reads on the caller's.
//!
//! SQLite allows one writer at a time per file; a single writer thread owning the only
//! read-write connection makes that explicit and keeps lock waits out of requests (it commits
//! the writes queued together as one transaction: crates/jamrs-sqlite/src/writer.rs). Readers
//! share a queue and each owns a read-only connection, so a bug on a read path cannot write.
//! The server awaits a oneshot answer.
//!
//! With [`SqliteStore::read_on_caller`], reads first run on a read-only connection that the
//! calling thread (an async worker) owns: a page query takes a few microseconds of SQLite, and
//! the handoff to a reader thread and back cost more CPU than that (measured in
//! bench/README.md). A read may hold the caller's thread for `budget` at most: a progress
//! handler interrupts its SQL after that, a lock wait interrupts it at once, and the read runs
//! again on a reader. Reads that call server modules do not run here: Python code has no such
//! bound, and the app leaves this off when the project has modules. Such a read runs in one
//! read transaction: its statements (the session check, the open) see one snapshot, and the WAL
//! read lock is taken once per request rather than once per statement (bench/README.md).

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use jamrs_core::{Error, Result};
use jamrs_store::auth::SessionCache;
use jamrs_store::store::{Here, Job, WriteJob};
use jamrs_store::{Conn, Dialect, Store};

use crate::conn::{SqliteConn, in_job, open};
use crate::dialect::SqliteDialect;

pub struct SqliteStore {
    /// Tells this store's connections from other stores' in a thread's [`HERE`].
    id: u64,
    path: PathBuf,
    writer: Sender<Box<dyn WriteJob>>,
    readers: Sender<Job>,
    /// Long reads (reports, exports), on threads of their own ([`SqliteStore::with_job_threads`]).
    jobs: Option<Sender<Job>>,
    wrap: Option<ThreadWrap>,
    /// How long a read may hold the calling thread; `None`: reads only run on readers.
    budget: Option<Duration>,
    commits: Arc<AtomicU64>,
    /// Sessions checked on this database, shared by all its connections.
    sessions: Arc<SessionCache>,
    /// Statements that lately ran past `budget` on a request's thread.
    slow: Arc<SlowReads>,
}

/// The statements that lately ran past the time bound on a request's thread (a search that
/// scans a tenant's rows, a count over many): the next reads that run them go to a reader
/// before they start, rather than run for the bound's length on the request's thread, be
/// interrupted and run again from the start (a search at about 1 ms did both for each request:
/// bench/README.md). The server learns this from its own reads: a statement is remembered by a
/// hash of its text (its values are bound, so every search of one item has one text) for
/// [`SLOW_FOR`], then tried on the request's thread again, once, in case it got faster (the
/// table shrank). A collision of hashes only sends a short read to a reader for a while.
pub(crate) struct SlowReads {
    start: Instant,
    /// `SLOTS` hashes (0: empty) and, beside each, until when it counts (ms since `start`).
    slots: [(AtomicU64, AtomicU64); SLOTS],
}

const SLOTS: usize = 64;

/// How long a statement that ran past the bound stays on the readers.
const SLOW_FOR: Duration = Duration::from_secs(5);

impl SlowReads {
    fn new() -> SlowReads {
        SlowReads {
            start: Instant::now(),
            slots: std::array::from_fn(|_| (AtomicU64::new(0), AtomicU64::new(0))),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether `sql` may run on this (request's) thread; if not, the read is marked as too
    /// long for it. Otherwise `sql` becomes this thread's running statement.
    pub(crate) fn admit(&self, sql: &str) -> bool {
        let hash = text_hash(sql);
        let (slot, until) = &self.slots[(hash % SLOTS as u64) as usize];
        if slot.load(Ordering::Relaxed) == hash && until.load(Ordering::Relaxed) > self.now_ms() {
            TRIPPED.set(true);
            return false;
        }
        RUNNING.set(hash);
        true
    }

    /// Remembers the statement this thread was running as too long for a request's thread.
    fn mark_running(&self) {
        let hash = RUNNING.get();
        if hash != 0 {
            let (slot, until) = &self.slots[(hash % SLOTS as u64) as usize];
            until.store(
                self.now_ms() + SLOW_FOR.as_millis() as u64,
                Ordering::Relaxed,
            );
            slot.store(hash, Ordering::Relaxed);
        }
    }
}

/// A fast hash of a statement's text, never 0 (FNV-1a over 8-byte words; not for security:
/// a collision only sends a read to a reader).
fn text_hash(sql: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = sql.as_bytes();
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ bytes.len() as u64).max(1)
}

/// How many SQLite VM steps run between two checks of a read's time bound (each check reads
/// the clock, about 20 ns; a 20-row page takes some hundreds of steps).
const PROGRESS_STEPS: i32 = 1000;

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The calling thread's read-only connections, one per store that read on it.
    static HERE: RefCell<Vec<(u64, SqliteConn)>> = const { RefCell::new(Vec::new()) };
    /// When the read running on this thread must stop.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Set when the read running on this thread was interrupted (time, or a lock wait), or
    /// refused a statement known to be long.
    static TRIPPED: Cell<bool> = const { Cell::new(false) };
    /// Set when it was interrupted by time.
    static TIMED_OUT: Cell<bool> = const { Cell::new(false) };
    /// The hash of the statement it runs (`SlowReads::admit`).
    static RUNNING: Cell<u64> = const { Cell::new(0) };
    /// The last progress call of the read, and how long the read ran between progress calls.
    static LAST_CALL: Cell<Option<Instant>> = const { Cell::new(None) };
    static RAN_FOR: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// The progress handler of a caller-thread connection: interrupts once the deadline passed.
///
/// It also adds up how long the read ran between its calls, leaving out the gaps of more than
/// [`RUNNING_GAP`]: those are the thread waiting for a core (preempted), not the statement
/// working. A read cut short by preemption alone is run again on a reader, but its statement is
/// not remembered as long ([`SlowReads`]): on a busy machine even a short count is preempted now
/// and then, and sending every count to the readers for it cost more than it saved (measured).
fn past_deadline() -> bool {
    let Some(deadline) = DEADLINE.get() else {
        return false;
    };
    let now = Instant::now();
    if let Some(last) = LAST_CALL.get() {
        let gap = now.saturating_duration_since(last);
        if gap < RUNNING_GAP {
            RAN_FOR.set(RAN_FOR.get() + gap);
        }
    }
    LAST_CALL.set(Some(now));
    let past = now >= deadline;
    if past {
        TRIPPED.set(true);
        TIMED_OUT.set(true);
    }
    past
}

/// A gap between two progress calls longer than this (they come every [`PROGRESS_STEPS`] VM
/// steps: some microseconds) is time the thread did not run.
const RUNNING_GAP: Duration = Duration::from_micros(200);

/// The busy handler of a caller-thread connection: never waits for a lock on the caller's
/// thread (a reader will).
fn no_lock_wait(_attempts: i32) -> bool {
    TRIPPED.set(true);
    false
}

/// A read-only connection for the calling thread, with the bound's handlers.
fn open_here(path: &Path, sessions: Arc<SessionCache>, slow: Arc<SlowReads>) -> Result<SqliteConn> {
    let mut conn = open(path, true)?;
    conn.progress_handler(PROGRESS_STEPS, Some(past_deadline))
        .map_err(crate::conn::map_err)?;
    conn.busy_handler(Some(no_lock_wait))
        .map_err(crate::conn::map_err)?;
    Ok(SqliteConn::with_sessions(conn, sessions).gated(slow))
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
        // Every connection of the store shares one cache of checked sessions.
        let sessions = Arc::new(SessionCache::default());
        let writer_conn = SqliteConn::with_sessions(open(path, false)?, Arc::clone(&sessions));
        let (writer, writer_rx) = unbounded::<Box<dyn WriteJob>>();
        let commits = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&commits);
        spawn_thread("jamrs-sqlite-writer".into(), wrap.clone(), move || {
            crate::writer::run(writer_conn, &writer_rx, &counted);
        })?;
        let (reader_tx, reader_rx) = unbounded::<Job>();
        for i in 0..readers.max(1) {
            let conn = SqliteConn::with_sessions(open(path, true)?, Arc::clone(&sessions));
            let name = format!("jamrs-sqlite-reader-{i}");
            let jobs = reader_rx.clone();
            spawn_thread(name.clone(), wrap.clone(), move || {
                reader_loop(&name, conn, &jobs);
            })?;
        }
        Ok(SqliteStore {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            path: path.to_path_buf(),
            writer,
            readers: reader_tx,
            jobs: None,
            wrap,
            budget: None,
            commits,
            sessions,
            slow: Arc::new(SlowReads::new()),
        })
    }

    /// Starts `threads` job threads, each with a read-only connection of its own, for long
    /// reads ([`Store::submit_job`]): at most that many run at once, the rest wait in line.
    pub fn with_job_threads(mut self, threads: usize) -> Result<SqliteStore> {
        let (tx, rx) = unbounded::<Job>();
        for i in 0..threads.max(1) {
            let conn =
                SqliteConn::with_sessions(open(&self.path, true)?, Arc::clone(&self.sessions));
            let name = format!("jamrs-sqlite-job-{i}");
            let jobs = rx.clone();
            spawn_thread(name.clone(), self.wrap.clone(), move || {
                job_loop(&name, conn, &jobs);
            })?;
        }
        self.jobs = Some(tx);
        Ok(self)
    }

    /// How many write transactions the writer has committed (several writes queued together
    /// share one).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Lets reads run on the calling thread for up to `budget` each (see the module's doc).
    /// Only for projects whose reads run no server module code.
    pub fn read_on_caller(mut self, budget: Duration) -> SqliteStore {
        self.budget = Some(budget);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Runs a database thread's whole loop (see [`SqliteStore::open_with`]).
pub use jamrs_store::store::ThreadWrap;

/// The stack of a database thread: server modules' Python runs on these threads, and CPython's
/// recursion limit (1000 frames, some of them through C) assumes a main thread's 8 MiB; on
/// Rust's default 2 MiB a module's deep recursion could overflow the stack and abort the
/// process. Only the pages a thread touches take memory.
const THREAD_STACK: usize = 8 << 20;

/// Starts a database thread running `loop_` (inside `wrap`, if any).
fn spawn_thread(
    name: String,
    wrap: Option<ThreadWrap>,
    loop_: impl FnOnce() + Send + 'static,
) -> Result<()> {
    let run = move || match wrap {
        Some(w) => w(Box::new(loop_)),
        None => loop_(),
    };
    thread::Builder::new()
        .name(name)
        .stack_size(THREAD_STACK)
        .spawn(run)
        .map(|_| ())
        .map_err(|e| Error::internal(format!("cannot start a database thread: {e}")))
}

fn reader_loop(name: &str, mut conn: SqliteConn, jobs: &Receiver<Job>) {
    for job in jobs.iter() {
        // A panicking job must not take the connection down with it.
        if catch_unwind(AssertUnwindSafe(|| in_job(|| job(&mut conn)))).is_err() {
            tracing::error!(worker = %name, "a database job panicked");
            if let Err(e) = conn.rollback() {
                tracing::error!(worker = %name, error = %e, "rollback after panic failed");
            }
        }
    }
}

/// A job thread's loop: each job runs in a read transaction the loop begins and ends, so all
/// its statements (a report's datasets, an export's pages) see one state of the database.
fn job_loop(name: &str, mut conn: SqliteConn, jobs: &Receiver<Job>) {
    for job in jobs.iter() {
        if let Err(e) = conn.begin_snapshot() {
            tracing::error!(worker = %name, error = %e, "cannot begin a read transaction");
        }
        if catch_unwind(AssertUnwindSafe(|| in_job(|| job(&mut conn)))).is_err() {
            tracing::error!(worker = %name, "a database job panicked");
        }
        if !conn.outside_transaction()
            && let Err(e) = conn.rollback()
        {
            tracing::error!(worker = %name, error = %e, "ending a job's read transaction failed");
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

    fn submit_write(&self, job: Box<dyn WriteJob>) -> Result<()> {
        self.writer.send(job).map_err(|_| stopped())
    }

    fn submit_job(&self, job: Job) -> Result<()> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|_| stopped()),
            None => self.readers.send(job).map_err(|_| stopped()),
        }
    }

    fn reads_here(&self) -> bool {
        self.budget.is_some()
    }

    fn read_here(&self, job: &mut dyn FnMut(&mut dyn Conn)) -> Here {
        let Some(budget) = self.budget else {
            return Here::Declined;
        };
        HERE.with(|here| {
            // A job cannot start another read, but if one ever did, it goes to a reader.
            let Ok(mut conns) = here.try_borrow_mut() else {
                return Here::Declined;
            };
            let at = match conns.iter().position(|(id, _)| *id == self.id) {
                Some(at) => at,
                None => match open_here(
                    &self.path,
                    Arc::clone(&self.sessions),
                    Arc::clone(&self.slow),
                ) {
                    Ok(conn) => {
                        conns.push((self.id, conn));
                        conns.len() - 1
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open a read connection on this thread");
                        return Here::Declined;
                    }
                },
            };
            let conn = &mut conns[at].1;
            TRIPPED.set(false);
            TIMED_OUT.set(false);
            RUNNING.set(0);
            LAST_CALL.set(None);
            RAN_FOR.set(Duration::ZERO);
            DEADLINE.set(Some(Instant::now() + budget));
            // One read transaction for the whole job (see `SqliteConn::begin_read`).
            if let Err(e) = conn.begin_read() {
                DEADLINE.set(None);
                tracing::warn!(error = %e, "cannot begin a read on this thread");
                return Here::Declined;
            }
            let ran = catch_unwind(AssertUnwindSafe(|| in_job(|| job(conn))));
            DEADLINE.set(None);
            // A read job leaves no transaction open, whatever happened.
            if conn.end_read().is_err() && !conn.outside_transaction() {
                let _ = conn.rollback();
            }
            // Long by its own work, not by waiting for a core (see `past_deadline`).
            if TIMED_OUT.get() && RAN_FOR.get() >= budget / 2 {
                self.slow.mark_running();
            }
            match ran {
                Err(_) => {
                    tracing::error!("a database job panicked");
                    // The job's answer was never written: run it where a panic is contained.
                    Here::TooLong
                }
                Ok(()) if TRIPPED.get() => Here::TooLong,
                Ok(()) => Here::Done,
            }
        })
    }
}

/// Runs `f` on a fresh read-write connection (for CLI commands and migrations).
pub fn with_connection<T>(path: &Path, f: impl FnOnce(&mut SqliteConn) -> Result<T>) -> Result<T> {
    let conn = open(path, false)?;
    f(&mut SqliteConn::new(conn))
}
