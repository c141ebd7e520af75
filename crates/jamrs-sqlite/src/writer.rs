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
//!
//! The writer also keeps the write-ahead log bounded ([`Wal`]). SQLite's own automatic
//! checkpoint is passive: it copies the log into the database but never waits for readers, and
//! the log restarts from its beginning only at a moment when no reader is using it. Under
//! steady reads there is no such moment, and the log grew without bound (238 MB in three
//! minutes of mixed load while the database was 8 MB). So the writer runs the passive
//! checkpoint itself and, once the log passes [`RESTART_FRAMES`], a restarting one that waits
//! briefly for the readers of older snapshots to finish (reads take microseconds to
//! milliseconds; readers that start meanwhile read the database file and do not hold it up).
//! `journal_size_limit` then cuts the file back. When the writer stops, it truncates the log.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::wal::CheckpointMode;

use crossbeam_channel::Receiver;
use jamrs_core::Error;
use jamrs_store::Conn;
use jamrs_store::store::WriteJob;

use crate::conn::{SqliteConn, in_job};

/// At most this many writes share a transaction.
const MAX_BATCH: usize = 64;

/// No further body starts in a transaction once it has run this long.
const BATCH_TIME: Duration = Duration::from_millis(2);

/// A passive checkpoint runs once the log holds this many frames (pages), as SQLite's own
/// automatic checkpoint does (its default).
pub const PASSIVE_FRAMES: i64 = 1000;

/// Past this many frames in the log (16 MB with 4 KiB pages), the writer waits for readers of
/// older snapshots so that the log restarts from its beginning.
pub const RESTART_FRAMES: i64 = 4096;

/// The log file is cut back to this size when it restarts (`journal_size_limit`).
pub const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// How many times (one per [`RETRY_STEP`]: 20 ms in all) a restarting checkpoint tries the
/// locks readers hold before it gives up until later: long enough for the reads jamrs builds,
/// short enough that the writes queued behind it barely notice. A read that runs longer (a
/// count over millions of rows, a server module's) only postpones the restart.
const RESTART_ATTEMPTS: i32 = 200;

/// A restart that gives up is tried again after [`PASSIVE_FRAMES`] more frames, waiting twice
/// as long, up to 2^6 times the first wait (1.3 s): the log then stays within a few times
/// [`RESTART_FRAMES`] even when readers are slow (a busy machine preempts a reader while it
/// holds its lock), and writes wait that long only when it has grown that far.
const MAX_DOUBLINGS: u32 = 6;

/// The writer's checkpoint policy (see the module's doc).
struct Wal {
    /// Frames in the log after the last commit, as SQLite's WAL hook reports them.
    frames: Arc<AtomicI64>,
    /// The log size at which the next checkpoint runs.
    next_passive: i64,
    next_restart: i64,
    /// Restarts that gave up in a row: each next one waits twice as long (see
    /// [`RESTART_ATTEMPTS`]), so the log stays bounded even when readers are slow to let go.
    failed_restarts: u32,
}

impl Wal {
    /// Takes over checkpoints on the writer's connection (a WAL hook replaces SQLite's
    /// automatic checkpoint) and limits the log file's size.
    fn install(conn: &mut SqliteConn) -> Wal {
        let frames = Arc::new(AtomicI64::new(0));
        let seen = Arc::clone(&frames);
        let raw = conn.raw();
        if let Err(e) = raw.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT) {
            tracing::warn!(error = %e, "cannot limit the write-ahead log's size");
        }
        if let Err(e) = raw.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
            seen.store(i64::from(pages), Ordering::Relaxed);
            Ok(())
        })) {
            tracing::warn!(error = %e, "cannot watch the write-ahead log; SQLite checkpoints it");
        }
        Wal {
            frames,
            next_passive: PASSIVE_FRAMES,
            next_restart: RESTART_FRAMES,
            failed_restarts: 0,
        }
    }

    /// After a commit: checkpoints when the log has grown past a threshold.
    fn after_commit(&mut self, conn: &mut SqliteConn) {
        let frames = self.frames.load(Ordering::Relaxed);
        if frames < self.next_passive.min(self.next_restart) {
            if frames < PASSIVE_FRAMES {
                // The log restarted: start counting again.
                self.next_passive = PASSIVE_FRAMES;
                self.next_restart = RESTART_FRAMES;
            }
            return;
        }
        if frames >= self.next_restart {
            let attempts = RESTART_ATTEMPTS << self.failed_restarts.min(MAX_DOUBLINGS);
            match checkpoint(conn, CheckpointMode::RESTART, attempts) {
                Ok(()) => {
                    self.next_passive = PASSIVE_FRAMES;
                    self.next_restart = RESTART_FRAMES;
                    self.failed_restarts = 0;
                }
                Err(e) => {
                    // Readers held on: try again, waiting longer, after some more writes.
                    tracing::debug!(error = %e, frames, "the write-ahead log could not restart yet");
                    self.next_restart = frames + PASSIVE_FRAMES;
                    self.next_passive = frames + PASSIVE_FRAMES;
                    self.failed_restarts += 1;
                }
            }
        } else {
            if let Err(e) = checkpoint(conn, CheckpointMode::PASSIVE, 0) {
                tracing::debug!(error = %e, "passive checkpoint");
            }
            self.next_passive = frames + PASSIVE_FRAMES;
        }
    }
}

/// Runs a checkpoint that waits for locks by retrying every [`RETRY_STEP`], at most
/// `attempts` times, then restores the connection's usual busy timeout. SQLite's own busy
/// handler sleeps longer after each try (1, 2, 5, 10, … ms), which for locks that readers hold
/// for microseconds made a restarting checkpoint wait 50–300 ms.
fn checkpoint(conn: &mut SqliteConn, mode: CheckpointMode, attempts: i32) -> rusqlite::Result<()> {
    let raw = conn.raw();
    CHECKPOINT_ATTEMPTS.set(attempts);
    raw.busy_handler(Some(retry_soon))?;
    let done = raw.wal_checkpoint_v2(None::<&str>, mode).map(|_| ());
    raw.busy_timeout(crate::conn::BUSY_TIMEOUT)?;
    done
}

/// How long a checkpoint waits between two tries of a lock.
const RETRY_STEP: Duration = Duration::from_micros(100);

thread_local! {
    /// How many tries the running checkpoint's busy handler allows.
    static CHECKPOINT_ATTEMPTS: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

fn retry_soon(attempt: i32) -> bool {
    if attempt >= CHECKPOINT_ATTEMPTS.get() {
        return false;
    }
    std::thread::sleep(RETRY_STEP);
    true
}

/// Serves the write queue until every sender is gone; counts the transactions it commits in
/// `commits`. When it stops, it checkpoints the whole log and truncates it.
pub fn run(mut conn: SqliteConn, jobs: &Receiver<Box<dyn WriteJob>>, commits: &AtomicU64) {
    let mut wal = Wal::install(&mut conn);
    let mut queued: VecDeque<Box<dyn WriteJob>> = VecDeque::new();
    loop {
        if queued.is_empty() {
            match jobs.recv() {
                Ok(job) => queued.push_back(job),
                Err(_) => {
                    if let Err(e) = checkpoint(&mut conn, CheckpointMode::TRUNCATE, 10_000) {
                        tracing::debug!(error = %e, "the write-ahead log was not truncated at stop");
                    }
                    return;
                }
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
            wal.after_commit(&mut conn);
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
