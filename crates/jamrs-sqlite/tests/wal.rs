//! The write-ahead log stays bounded under steady reads and writes (issue 12 §6), and is
//! truncated when the store stops.
//!
//! Readers that always overlap each other leave SQLite's passive automatic checkpoint no moment
//! to restart the log, which then grows with every commit (238 MB in three minutes of mixed load
//! on an 8 MB database). The writer's checkpoint policy (`writer.rs`, `Wal`) must keep it near
//! `RESTART_FRAMES` pages whatever the readers do.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jamrs_core::Value;
use jamrs_sqlite::SqliteStore;
use jamrs_store::{Conn, Sql, store};

fn wal_bytes(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

fn sql(text: &str, params: Vec<Value>) -> Sql {
    Sql {
        text: text.into(),
        params,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_overlapping_reads_and_is_truncated_at_stop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.sqlite");
    let store = Arc::new(SqliteStore::open(&path, 2).unwrap());
    store::write(&*store, |conn: &mut dyn Conn| {
        conn.execute(&sql(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
            vec![],
        ))
        .map(|_| ())
    })
    .await
    .unwrap();

    // Three readers whose read transactions overlap all the time, on connections of their own
    // (as the reader threads and the request threads' connections of a busy server): each
    // holds its snapshot for 2 ms, and they start a third of that apart, so at every moment
    // some reader holds a snapshot older than the last commit.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3u64)
        .map(|i| {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                std::thread::sleep(Duration::from_micros(700 * i));
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    conn.execute_batch("BEGIN").unwrap();
                    // A page, as a grid asks for it.
                    let mut page = conn
                        .prepare_cached(
                            "SELECT id, substr(body, 1, 20) FROM notes ORDER BY id DESC LIMIT 20",
                        )
                        .unwrap();
                    let rows = page.query_map([], |r| r.get::<_, i64>(0)).unwrap().count();
                    assert!(rows <= 20);
                    drop(page);
                    std::thread::sleep(Duration::from_millis(2));
                    conn.execute_batch("COMMIT").unwrap();
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    // 100 MB of rows in 5,000 commits (without the policy the log grew past the data).
    let body = "x".repeat(2000);
    let mut largest = 0;
    for batch in 0..5000 {
        let body = body.clone();
        store::write(&*store, move |conn: &mut dyn Conn| {
            for i in 0..10 {
                conn.execute(&sql(
                    "INSERT INTO notes (body) VALUES (?1)",
                    vec![Value::Text(format!("{batch}-{i}-{body}"))],
                ))?;
            }
            Ok(())
        })
        .await
        .unwrap();
        largest = largest.max(wal_bytes(&path));
    }
    stop.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 100, "the readers ran ({reads} reads)");
    let db_bytes = std::fs::metadata(&path).unwrap().len();
    assert!(
        db_bytes > 90 << 20,
        "the rows were written ({db_bytes} bytes)"
    );
    // The policy's bound: a restart past 4,096 frames (16 MB), and after each restart that
    // gives up (a busy machine preempts a reader holding its lock) another 1,000 frames with a
    // doubled wait, at most seven times: about 46 MB in the worst case.
    assert!(
        largest < 48 << 20,
        "the write-ahead log reached {} MB while the database grew to {} MB",
        largest >> 20,
        db_bytes >> 20
    );

    // A clean stop checkpoints the whole log and truncates it.
    drop(store);
    let mut truncated = false;
    for _ in 0..100 {
        if wal_bytes(&path) == 0 {
            truncated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        truncated,
        "the log is {} bytes after the stop",
        wal_bytes(&path)
    );
}
