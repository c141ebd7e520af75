//! The open path without a database: parsing the body, `OpenQuery::resolve` (names to field
//! ids, values to typed values, privileges) and `builder::select` (the SQL text and its bound
//! values, with the tenant predicate), each measured on its own.
//!
//! `cargo bench -p jamrs-micro --bench query`; see bench/README.md.

// A benchmark whose setup or call fails should stop with the error, not measure something else.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jamrs_core::query::{OpenParams, OpenQuery};
use jamrs_micro::Project;
use jamrs_sqlite::SqliteDialect;
use jamrs_store::builder;
use serde_json::json;

/// The grid's page: every column of the grid, newest first, the third page of 20.
fn page_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "fields": ["id", "title", "body", "user_id", "category"],
        "order": [["id", false]],
        "limit": 20,
        "offset": 40
    }))
    .unwrap()
}

/// The pager's record count.
fn count_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "fields": ["id"],
        "funcs": {"id": "count"},
        "summary": true
    }))
    .unwrap()
}

/// An expanded open (the category's name by a lookup join) with three filters: a 100-value IN
/// list, an OR group (title contains, or the category's name contains: a LIKE on a lookup
/// field compares its text) and a prefix match.
fn expanded_body() -> Vec<u8> {
    let ids: Vec<i64> = (1..=100).map(|i| i * 7).collect();
    serde_json::to_vec(&json!({
        "fields": ["id", "title", "category"],
        "expanded": true,
        "filters": [
            ["id", "in", ids],
            [[["title", "contains", "urgent"]], [["category", "contains", "work"]]],
            ["title", "startwith", "Note"]
        ],
        "order": [["id", true]],
        "limit": 20
    }))
    .unwrap()
}

fn query(c: &mut Criterion) {
    let p = Project::new();
    let notes = p.notes();
    let access = p.caller.access(&p.task);
    let tenant = p.caller.tenant(&p.task);
    assert!(
        matches!(tenant, jamrs_core::session::Tenant::Only(_)),
        "the caller should see only their own rows: {tenant:?}"
    );

    for (name, body) in [
        ("page", page_body()),
        ("count", count_body()),
        ("expanded", expanded_body()),
    ] {
        let params: OpenParams = serde_json::from_slice(&body).unwrap();
        let q = OpenQuery::resolve(&p.task, notes, &params, access).unwrap();
        // No calculated field: nothing for `on_open` to filter.
        let calc = builder::CalcFilters::new();
        let sql = builder::select(&SqliteDialect, &p.task, &q, &tenant, &calc).sql;
        if std::env::var_os("JAMRS_MICRO_SHOW_SQL").is_some() {
            eprintln!("{name}: {} ({} values)", sql.text, sql.params.len());
        }
        assert!(
            sql.text.contains("user_id"),
            "no tenant predicate: {}",
            sql.text
        );

        let mut g = c.benchmark_group(format!("query/{name}"));
        g.bench_function("resolve", |b| {
            b.iter(|| OpenQuery::resolve(&p.task, notes, black_box(&params), access).unwrap())
        });
        // As the engine builds it: the calculated fields' items first (none here, so no
        // `on_open` runs for them), then the SELECT.
        g.bench_function("build", |b| {
            b.iter(|| {
                let q = black_box(&q);
                assert!(builder::calculated_items(&p.task, q).is_empty());
                builder::select(&SqliteDialect, &p.task, q, &tenant, &calc)
            })
        });
        g.bench_function("parse", |b| {
            b.iter(|| serde_json::from_slice::<OpenParams>(black_box(&body)).unwrap())
        });
        // As axum's `Json::from_bytes` does it for `JsonBody`: with the error's path tracked.
        g.bench_function("parse_axum", |b| {
            b.iter(|| {
                let mut de = serde_json::Deserializer::from_slice(black_box(&body));
                let v: OpenParams = serde_path_to_error::deserialize(&mut de).unwrap();
                de.end().unwrap();
                v
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .nresamples(20_000);
    targets = query
}
criterion_main!(benches);
