//! The store seam between the async server and the synchronous engine.
//!
//! A backend runs jobs on its own threads, off the async runtime: reads on a pool of reader
//! connections, writes one at a time on the writer. [`read`] and [`write`] turn that into
//! `async` calls. A write's body runs inside a transaction the backend opens and is answered
//! once that transaction has committed; if the body fails, what it did is rolled back.
//!
//! The backend may run several queued bodies in one transaction (group commit), each inside a
//! savepoint of its own: a failing body rolls back to its savepoint and leaves the others alone,
//! and no body is answered before the COMMIT that makes it durable (SQLite). Or it may run each
//! body in a transaction of its own, several at once on a pool of writer connections
//! (PostgreSQL). So bodies must not begin, commit or roll back transactions themselves, and
//! must not rely on writes being serialised: a body that reads rows and writes what depends on
//! them holds them ([`crate::dialect::RowLock`], [`crate::Conn::lock_key`]).
//!
//! A backend may also run short reads on the calling thread ([`Store::read_here`]): handing a
//! 20-row page to another thread and back costs more CPU than the query. It must then bound how
//! long such a read holds the caller's thread (an async worker) and report a read that ran
//! past that bound, which [`read`] runs again on a reader. So a read job may run twice, and
//! must have no effect but its result.

use jamrs_core::{Error, Result};
use tokio::sync::oneshot;

use crate::conn::Conn;
use crate::dialect::Dialect;

/// Runs a database thread's whole loop: server modules use it to give each database thread one
/// long-lived Python thread state instead of making one for every handler call. Every backend's
/// store takes one.
pub type ThreadWrap = std::sync::Arc<dyn Fn(Box<dyn FnOnce() + Send>) + Send + Sync>;

/// A unit of work for one connection.
pub type Job = Box<dyn FnOnce(&mut dyn Conn) + Send>;

/// A write for [`Store::submit_write`]: a body to run in a transaction the store opened, and
/// an answer to give once the transaction's fate is known.
pub trait WriteJob: Send {
    /// Runs the body; `false` if it failed (the store then rolls back what it did).
    fn run(&mut self, conn: &mut dyn Conn) -> bool;
    /// Gives the answer: `Ok` once the body's work is committed, the store's error if it
    /// never ran or its transaction did not commit. A failed body answers its own error.
    fn finish(self: Box<Self>, outcome: Result<()>);
}

/// How a read offered to [`Store::read_here`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here {
    /// The job ran to its end on the calling thread.
    Done,
    /// The job did not run: this store runs no reads on the calling thread.
    Declined,
    /// The job ran past the store's time bound (or would have waited for a lock) and its SQL
    /// was interrupted, or it panicked: its result must be thrown away and the job run on a
    /// reader (where a panic is contained and answered as an error).
    TooLong,
}

pub trait Store: Send + Sync + 'static {
    fn dialect(&self) -> &dyn Dialect;
    /// Queues `job` for a reader connection.
    fn submit_read(&self, job: Job) -> Result<()>;
    /// Queues `job` for the writer connection (one at a time, inside a transaction).
    fn submit_write(&self, job: Box<dyn WriteJob>) -> Result<()>;
    /// Queues `job` for a long read (a report, an export) on a read-only connection of its own,
    /// so it never holds a reader that requests wait for, in one read transaction the backend
    /// begins and ends (every statement of the job sees one state of the database). The
    /// backend runs a few at a time and queues the rest. Default: a reader.
    fn submit_job(&self, job: Job) -> Result<()> {
        self.submit_read(job)
    }
    /// True if [`Store::read_here`] may run jobs (so [`read`] only prepares a second copy of a
    /// job when it can be used).
    fn reads_here(&self) -> bool {
        false
    }
    /// Runs `job` on a read-only connection of the calling thread, interrupting its SQL once it
    /// has held the thread longer than the store allows (see [`Here`]).
    fn read_here(&self, _job: &mut dyn FnMut(&mut dyn Conn)) -> Here {
        Here::Declined
    }
}

fn gone() -> Error {
    Error::internal("the database worker stopped before answering")
}

/// Runs `f` on a read-only connection: on the calling thread if the store allows it and `f`
/// finishes within the store's bound, on a reader otherwise (so `f` may run twice; it is
/// cloned for that).
pub async fn read<T, F>(store: &dyn Store, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T> + Clone + Send + 'static,
{
    if store.reads_here() {
        let mut first = Some(f.clone());
        let mut out = None;
        let here = store.read_here(&mut |conn| {
            if let Some(job) = first.take() {
                out = Some(job(conn));
            }
        });
        if let (Here::Done, Some(result)) = (here, out) {
            return result;
        }
    }
    let (tx, rx) = oneshot::channel();
    store.submit_read(Box::new(move |conn| {
        let _ = tx.send(f(conn));
    }))?;
    rx.await.map_err(|_| gone())?
}

/// Runs `f` in a write transaction: answered once its work is committed; rolled back if `f`
/// returns an error (see the module's doc).
pub async fn write<T, F>(store: &dyn Store, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    store.submit_write(Box::new(Pending {
        body: Some(f),
        result: None,
        answer: tx,
    }))?;
    rx.await.map_err(|_| gone())?
}

/// A write body waiting for its transaction's fate.
struct Pending<T, F> {
    body: Option<F>,
    result: Option<Result<T>>,
    answer: oneshot::Sender<Result<T>>,
}

impl<T, F> WriteJob for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
{
    fn run(&mut self, conn: &mut dyn Conn) -> bool {
        let Some(body) = self.body.take() else {
            return false;
        };
        let result = body(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, outcome: Result<()>) {
        let answer = match (self.result, outcome) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => Err(Error::internal("a write was answered without running")),
        };
        let _ = self.answer.send(answer);
    }
}

/// A write with no one waiting for its answer (for example sliding a session's expiry): its
/// error is logged. Queue it with [`Store::submit_write`].
pub fn detached<F>(f: F) -> Box<dyn WriteJob>
where
    F: FnOnce(&mut dyn Conn) -> Result<()> + Send + 'static,
{
    Box::new(Detached(Some(f)))
}

struct Detached<F>(Option<F>);

impl<F> WriteJob for Detached<F>
where
    F: FnOnce(&mut dyn Conn) -> Result<()> + Send + 'static,
{
    fn run(&mut self, conn: &mut dyn Conn) -> bool {
        match self.0.take().map(|f| f(conn)) {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a background write failed");
                false
            }
            None => false,
        }
    }

    fn finish(self: Box<Self>, outcome: Result<()>) {
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "a background write was not committed");
        }
    }
}

/// `f` inside BEGIN … COMMIT, rolling back on error.
pub fn in_transaction<T>(
    conn: &mut dyn Conn,
    f: impl FnOnce(&mut dyn Conn) -> Result<T>,
) -> Result<T> {
    conn.begin()?;
    match f(conn) {
        Ok(v) => match conn.commit() {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = conn.rollback();
                Err(e)
            }
        },
        Err(e) => {
            if let Err(rb) = conn.rollback() {
                tracing::error!(error = %rb, "rollback failed");
            }
            Err(e)
        }
    }
}
