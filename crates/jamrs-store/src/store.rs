//! The store seam between the async server and the synchronous engine.
//!
//! A backend runs jobs on its own threads, off the async runtime: reads on a pool of reader
//! connections, writes one at a time on the writer. [`read`] and [`write`] turn that into
//! `async` calls; [`write`] wraps the job in a transaction that commits only if it succeeds.
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

/// A unit of work for one connection.
pub type Job = Box<dyn FnOnce(&mut dyn Conn) + Send>;

/// How a read offered to [`Store::read_here`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here {
    /// The job ran to its end on the calling thread.
    Done,
    /// The job did not run: this store runs no reads on the calling thread.
    Declined,
    /// The job ran past the store's time bound (or would have waited for a lock) and its SQL
    /// was interrupted: its result must be thrown away and the job run on a reader.
    TooLong,
}

pub trait Store: Send + Sync + 'static {
    fn dialect(&self) -> &dyn Dialect;
    /// Queues `job` for a reader connection.
    fn submit_read(&self, job: Job) -> Result<()>;
    /// Queues `job` for the writer connection (one at a time).
    fn submit_write(&self, job: Job) -> Result<()>;
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

/// Runs `f` in one write transaction: committed if `f` returns `Ok`, rolled back otherwise.
pub async fn write<T, F>(store: &dyn Store, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    store.submit_write(Box::new(move |conn| {
        let _ = tx.send(in_transaction(conn, f));
    }))?;
    rx.await.map_err(|_| gone())?
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
