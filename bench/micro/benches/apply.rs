//! The apply path on a real SQLite file (WAL, synchronous=NORMAL, as the server's writer opens
//! it): typing a delta (`Change::resolve_all`), a one-row insert, a one-row update and a
//! 100-row insert through the engine, each in its own transaction as the writer thread runs
//! them, and the same one-row INSERT written directly with rusqlite: the floor for the engine's.
//!
//! `cargo bench -p jamrs-micro --bench apply`; see bench/README.md.

// A benchmark whose setup or call fails should stop with the error, not measure something else.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jamrs_core::delta::{ApplyParams, Change, ChangeParams};
use jamrs_micro::{CATEGORIES, Project, USER_ID, trim_notes};
use jamrs_sqlite::SqliteConn;
use jamrs_store::store::in_transaction;
use jamrs_store::{ChangeResult, Engine, NoHooks};
use rusqlite::TransactionBehavior;
use serde_json::{Value as Json, json};

/// Rows a bench may add before the table is trimmed back to its seed (outside the timing).
const ROWS_BETWEEN_TRIMS: u64 = 2_000;

fn insert_change(i: u64) -> Json {
    json!({
        "op": "insert",
        "values": {
            "title": format!("Benchmark note {i}"),
            "body": "Inserted by the apply micro-benchmark, about as long as a seeded body.",
            "category": 1 + i % CATEGORIES as u64
        }
    })
}

fn changes(list: Json) -> Vec<ChangeParams> {
    serde_json::from_value::<ApplyParams>(json!({ "changes": list }))
        .unwrap()
        .changes
}

/// Runs `op` `iters` times, `per_trim` at a time, and trims the notes table after each run of
/// `per_trim` (untimed), so every measured insert sees about the seeded table.
fn timed_with_trims(
    conn: &mut SqliteConn,
    iters: u64,
    per_trim: u64,
    mut op: impl FnMut(&mut SqliteConn),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(per_trim);
        let start = Instant::now();
        for _ in 0..n {
            op(conn);
        }
        total += start.elapsed();
        done += n;
        trim_notes(conn);
    }
    total
}

fn apply(c: &mut Criterion) {
    let p = Project::new();
    let mut conn = p.database();
    let task = &p.task;
    let notes = p.notes();
    let access = p.caller.access(task);
    // As the HTTP layer builds it for a logged-in client.
    let engine = Engine::for_client(task, &NoHooks, &p.caller);
    // The writer's job for an apply, without the session check: type, apply (which checks
    // reach).
    let run = |conn: &mut SqliteConn, params: &[ChangeParams]| -> Vec<ChangeResult> {
        in_transaction(conn, |c| {
            let changes = Change::resolve_all(task, notes, params, access)?;
            engine.apply(c, notes, changes, Default::default(), false)
        })
        .unwrap()
    };

    let one = changes(json!([insert_change(0)]));
    let hundred = changes(Json::Array((0..100).map(insert_change).collect()));
    // Two titles to alternate between, so every update changes the row.
    let updates = [
        changes(json!([{"op": "update", "id": 1, "values": {"title": "Updated note A"}}])),
        changes(json!([{"op": "update", "id": 1, "values": {"title": "Updated note B"}}])),
    ];

    // Checks before measuring: the insert is stamped with the caller's tenant, the update
    // reaches the caller's own row 1.
    let r = run(&mut conn, &one);
    let id = r[0].id.as_ref().and_then(|k| k.as_i64()).unwrap();
    let stamped: i64 = conn
        .get()
        .query_row("SELECT user_id FROM notes WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stamped, USER_ID);
    run(&mut conn, &updates[0]);
    trim_notes(&mut conn);

    let mut g = c.benchmark_group("apply");
    let body = serde_json::to_vec(&json!({ "changes": [insert_change(0)] })).unwrap();
    g.bench_function("parse_insert_1", |b| {
        b.iter(|| serde_json::from_slice::<ApplyParams>(black_box(&body)).unwrap())
    });
    g.bench_function("resolve_insert_1", |b| {
        b.iter(|| Change::resolve_all(task, notes, black_box(&one), access).unwrap())
    });
    g.bench_function("insert_1", |b| {
        b.iter_custom(|iters| {
            timed_with_trims(&mut conn, iters, ROWS_BETWEEN_TRIMS, |conn| {
                run(conn, black_box(&one));
            })
        })
    });
    let mut turn = 0;
    g.bench_function("update_1", |b| {
        b.iter(|| {
            turn ^= 1;
            run(&mut conn, black_box(&updates[turn]))
        })
    });
    g.bench_function("insert_100", |b| {
        b.iter_custom(|iters| {
            timed_with_trims(&mut conn, iters, ROWS_BETWEEN_TRIMS / 100, |conn| {
                run(conn, black_box(&hundred));
            })
        })
    });
    // The floor for insert_1: the same row, the same transaction, one cached statement.
    g.bench_function("insert_1_rusqlite", |b| {
        b.iter_custom(|iters| {
            timed_with_trims(&mut conn, iters, ROWS_BETWEEN_TRIMS, |conn| {
                let tx = conn
                    .raw()
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .unwrap();
                tx.prepare_cached(
                    "INSERT INTO notes (title, body, user_id, category, deleted) \
                     VALUES (?1, ?2, ?3, ?4, 0)",
                )
                .unwrap()
                .execute(rusqlite::params![
                    "Benchmark note 0",
                    "Inserted by the apply micro-benchmark, about as long as a seeded body.",
                    USER_ID,
                    1
                ])
                .unwrap();
                black_box(tx.last_insert_rowid());
                tx.commit().unwrap();
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .nresamples(20_000);
    targets = apply
}
criterion_main!(benches);
