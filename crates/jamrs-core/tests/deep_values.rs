//! No input may overflow the stack of a thread other requests share (issue 13). The HTTP
//! parser stops a body at 128 levels, but server modules hand in values built in Python, so
//! the walks of `OpenQuery::resolve` and `Change::resolve_all` must hold for values of any
//! depth: each request here carries a value nested 100,000 levels deep in one place, runs on a
//! thread with a 512 KiB stack, and must come back as a clear error.

#![allow(clippy::unwrap_used)]

use jamrs_core::delta::{Change, ChangeParams};
use jamrs_core::query::{OpenParams, OpenQuery};
use jamrs_core::{Kind, Task, project};
use serde_json::{Map, Value as Json, json};

const DEPTH: usize = 100_000;

fn demo() -> Task {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
    project::load(&dir).unwrap()
}

/// `[[[…[1]…]]]`, `DEPTH` lists deep, built without recursion.
fn deep() -> Json {
    let mut v = json!(1);
    for _ in 0..DEPTH {
        v = Json::Array(vec![v]);
    }
    v
}

/// `skeleton` with `v` put at `pointer` (moved in: `json!` would copy it by serializing it,
/// recursively).
fn put(mut skeleton: Json, pointer: &str, v: Json) -> Json {
    *skeleton.pointer_mut(pointer).unwrap() = v;
    skeleton
}

/// Drops `v` a level at a time (serde_json's own drop recurses as deep as the value).
fn dismantle(v: Json) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::Array(a) => stack.extend(a),
            Json::Object(o) => stack.extend(o.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Runs `f` on a thread with a small stack, as a database thread's.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Opens `item` with `params`, whose one deep value sits where `place` puts it; the error
/// must be a bad request, and the params are taken apart without recursion.
fn open_error(item: &'static str, place: impl FnOnce(&mut OpenParams, Json) + Send + 'static) {
    let kind = on_small_stack(move || {
        let task = demo();
        let mut params = OpenParams::default();
        place(&mut params, deep());
        let result = OpenQuery::resolve(
            &task,
            task.item_by_name(item).unwrap(),
            &params,
            &task.unrestricted,
        );
        let kind = result.err().map(|e| e.kind);
        let OpenParams {
            filters,
            order,
            funcs,
            master,
            search,
            params,
            ..
        } = params;
        filters.into_iter().chain(order).for_each(dismantle);
        funcs
            .into_iter()
            .chain(Some(params))
            .for_each(|m| dismantle(Json::Object(m)));
        master.into_iter().chain(search).for_each(dismantle);
        kind
    });
    assert_eq!(kind, Some(Kind::BadRequest));
}

#[test]
fn deep_values_in_open_params_are_refused_without_recursion() {
    // As a filter type (its error message printed the value whole).
    open_error("tracks", |p, v| {
        p.filters = vec![put(json!(["name", null, 1]), "/1", v)]
    });
    // As an aggregate function (the same).
    open_error("tracks", |p, v| {
        p.fields = Some(vec!["id".into()]);
        p.funcs = Some(Map::from_iter([("id".to_string(), v)]));
    });
    // In user params (copied into the query).
    open_error("tracks", |p, v| {
        p.params = Map::from_iter([("x".to_string(), v)])
    });
    // As a filter, a filter value, an order, a search text and a master key.
    open_error("tracks", |p, v| p.filters = vec![v]);
    open_error("tracks", |p, v| {
        p.filters = vec![put(json!(["name", "in", null]), "/2", v)]
    });
    open_error("tracks", |p, v| p.order = vec![v]);
    open_error("tracks", |p, v| {
        p.search = Some(put(json!({"field": "name", "text": null}), "/text", v))
    });
    open_error("invoice_table", |p, v| p.master = Some(v));
}

/// A change's members, moved out of `v` (as the API's parser does).
fn change_params(v: Json) -> ChangeParams {
    let Json::Object(mut o) = v else {
        panic!("a change is an object");
    };
    let mut object = |key: &str| match o.remove(key) {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    };
    let (values, details) = (object("values"), object("details"));
    ChangeParams {
        op: o["op"].as_str().unwrap().to_string(),
        id: o.remove("id"),
        values,
        details,
    }
}

/// Applies `change` (with its one deep value) to `item`; the error must be `kind`.
fn apply_error(item: &'static str, kind: Kind, change: impl FnOnce(Json) -> Json + Send + 'static) {
    let got = on_small_stack(move || {
        let task = demo();
        let change = change_params(change(deep()));
        let changes = vec![change];
        let result = Change::resolve_all(
            &task,
            task.item_by_name(item).unwrap(),
            &changes,
            &task.unrestricted,
        );
        for c in changes {
            c.id.into_iter().for_each(dismantle);
            dismantle(Json::Object(c.values));
            dismantle(Json::Object(c.details));
        }
        result.err().map(|e| e.kind)
    });
    assert_eq!(got, Some(kind));
}

#[test]
fn deep_values_in_a_delta_are_refused_without_recursion() {
    // As a key (its error message printed the value whole).
    apply_error("genres", Kind::BadRequest, |v| {
        put(json!({"op": "delete", "id": null}), "/id", v)
    });
    // Inside a detail change (the detail list was copied, then read by serde).
    apply_error("invoices", Kind::Validation, |v| {
        let change = json!({"op": "update", "id": 1, "details": {"invoice_table": [
            {"op": "insert", "values": {"track": null, "unitprice": 1.0}}]}});
        put(change, "/details/invoice_table/0/values/track", v)
    });
    apply_error("invoices", Kind::BadRequest, |v| {
        let change = json!({"op": "update", "id": 1, "details": {"invoice_table": [null]}});
        put(change, "/details/invoice_table/0", v)
    });
    // As a value.
    apply_error("genres", Kind::Validation, |v| {
        put(
            json!({"op": "insert", "values": {"name": null}}),
            "/values/name",
            v,
        )
    });
}
