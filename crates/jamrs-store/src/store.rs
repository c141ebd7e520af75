//! The store seam between the async server and the synchronous engine.
//!
//! A backend runs jobs on its own threads, off the async runtime: reads on a pool of reader
//! connections, writes one at a time on the writer. [`read`] and [`write`] turn that into
//! `async` calls; [`write`] wraps the job in a transaction that commits only if it succeeds.

use jamrs_core::{Error, Result};
use tokio::sync::oneshot;

use crate::conn::Conn;
use crate::dialect::Dialect;

/// A unit of work for one connection.
pub type Job = Box<dyn FnOnce(&mut dyn Conn) + Send>;

pub trait Store: Send + Sync + 'static {
    fn dialect(&self) -> &dyn Dialect;
    /// Queues `job` for a reader connection.
    fn submit_read(&self, job: Job) -> Result<()>;
    /// Queues `job` for the writer connection (one at a time).
    fn submit_write(&self, job: Job) -> Result<()>;
}

fn gone() -> Error {
    Error::internal("the database worker stopped before answering")
}

/// Runs `f` on a reader connection.
pub async fn read<T, F>(store: &dyn Store, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
{
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
