//! The writer thread, with group commit.
//!
//! Writes queue up while a transaction runs. The writer takes every queued write (at most
//! [`MAX_BATCH`]) and runs their bodies in one transaction, each inside a savepoint of its own,
//! then answers them all after one COMMIT. One COMMIT, with its WAL append and its lock
//! round-trips, then serves many requests. A lone write runs without a savepoint.
//!
//! - A body that fails, or panics, is rolled back to its savepoint. The other bodies of the
//!   batch are not affected.
//! - No body is answered before the COMMIT that makes its work durable. If the COMMIT fails,
//!   every body of the batch gets that error.
//! - The writer starts no further body once a transaction has run for [`BATCH_TIME`]. It
//!   commits, and the rest of the queue goes into the next transaction. So a write waits at
//!   most that long for the writes queued with it, plus the body that was running.
//! - A body cannot end the transaction: SQLite refuses transaction control while a body runs
//!   (`conn::in_job`). Should the transaction end anyway, the batch is answered with an error.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use jamrs_core::Error;
use jamrs_store::Conn;
use jamrs_store::store::WriteJob;

use crate::conn::{SqliteConn, in_job};

/// At most this many writes share a transaction.
const MAX_BATCH: usize = 64;

/// No further body starts in a transaction once it has run this long.
const BATCH_TIME: Duration = Duration::from_millis(2);

/// Serves the write queue until every sender is gone; counts the transactions it commits in
/// `commits`.
pub fn run(mut conn: SqliteConn, jobs: &Receiver<Box<dyn WriteJob>>, commits: &AtomicU64) {
    let mut queued: VecDeque<Box<dyn WriteJob>> = VecDeque::new();
    loop {
        if queued.is_empty() {
            match jobs.recv() {
                Ok(job) => queued.push_back(job),
                Err(_) => return,
            }
        }
        while queued.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => queued.push_back(job),
                Err(_) => break,
            }
        }
        if transaction(&mut conn, &mut queued) {
            commits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs queued bodies in one transaction (see the module's doc) and answers each of them;
/// true if it committed.
fn transaction(conn: &mut SqliteConn, queued: &mut VecDeque<Box<dyn WriteJob>>) -> bool {
    if let Err(e) = conn.begin() {
        // Nothing can run (another process holds the write lock past the busy timeout).
        for job in queued.drain(..) {
            job.finish(Err(e.clone()));
        }
        return false;
    }
    let savepoints = queued.len() > 1;
    let started = Instant::now();
    // Each body run, with its failure (`None`: it succeeded).
    let mut done: Vec<(Box<dyn WriteJob>, Option<Error>)> = Vec::new();
    while let Some(mut job) = queued.pop_front() {
        if savepoints && let Err(e) = conn.execute_batch("SAVEPOINT jamrs_write") {
            done.push((job, None));
            abort(conn, done, e);
            return false;
        }
        let failure = match catch_unwind(AssertUnwindSafe(|| in_job(|| job.run(conn)))) {
            Ok(true) => None,
            Ok(false) => Some(Error::internal("the write failed")),
            Err(_) => {
                tracing::error!("a database write panicked");
                Some(Error::internal("a database job panicked"))
            }
        };
        if conn.outside_transaction() {
            done.push((job, failure));
            abort(
                conn,
                done,
                Error::internal(
                    "a write ended its transaction itself; its batch is not known to be committed",
                ),
            );
            return false;
        }
        if savepoints {
            let undo = match failure {
                Some(_) => conn.execute_batch("ROLLBACK TO jamrs_write; RELEASE jamrs_write"),
                None => conn.execute_batch("RELEASE jamrs_write"),
            };
            if let Err(e) = undo {
                done.push((job, failure));
                abort(conn, done, e);
                return false;
            }
        }
        done.push((job, failure));
        if started.elapsed() >= BATCH_TIME {
            break;
        }
    }
    let commit = done.iter().any(|(_, failure)| failure.is_none());
    let outcome = if commit {
        conn.commit()
    } else {
        conn.rollback()
    };
    if outcome.is_err()
        && let Err(e) = conn.rollback()
    {
        tracing::error!(error = %e, "rollback after a failed commit failed");
    }
    let committed = commit && outcome.is_ok();
    for (job, failure) in done {
        job.finish(match failure {
            None => outcome.clone(),
            Some(e) => Err(e),
        });
    }
    committed
}

/// Rolls the whole transaction back and answers every body it ran with `e` (a body that
/// failed on its own answers its own error).
fn abort(conn: &mut SqliteConn, done: Vec<(Box<dyn WriteJob>, Option<Error>)>, e: Error) {
    tracing::error!(error = %e, "a write transaction was abandoned");
    if let Err(rb) = conn.rollback() {
        tracing::error!(error = %rb, "rollback failed");
    }
    for (job, _) in done {
        job.finish(Err(e.clone()));
    }
}
