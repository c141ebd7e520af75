//! One budget for the whole query (issue 12), over real HTTP on a real SQLite file: the largest
//! open the budget allows runs, and one condition, value or byte past it is a 400 that names
//! the limit, where it used to be a 500 from SQLite ("Expression tree is too large", "too many
//! SQL variables", "LIKE or GLOB pattern too complex"). The queries run in the shop with
//! built-in tenancy, whose calculated fields and lookup joins each carry the tenant: the deepest
//! and widest SQL a condition can turn into.

#![allow(clippy::unwrap_used)]

mod common;

use common::tenancy::{Setup, World, seed};
use common::{TestServer, assert_error, error_fields, ok};
use serde_json::{Value, json};

/// `n` conditions of the costliest kind: a LIKE on a calculated field (a correlated sub-select
/// with its tenant), or on a lookup text (a join with its tenant).
fn costly(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                json!(["lines_qty", "contains", "1"])
            } else {
                json!(["contact", "contains", "a"])
            }
        })
        .collect()
}

fn words(n: usize, word: &str) -> String {
    vec![word; n].join(" ")
}

fn list(n: i64) -> Vec<i64> {
    (0..n).collect()
}

/// A 400 whose message names `limit`; the open changes nothing either way.
#[track_caller]
fn over(reply: (u16, Value), limit: &str, field: &str) {
    let err = assert_error(&reply, 400, "bad_request");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(limit), "{message}");
    assert_eq!(error_fields(&err), [field], "{err}");
}

#[test]
fn the_query_budget_admits_its_largest_query_and_refuses_one_past_it() {
    let w = World::new(Setup::Builtin);
    let data = seed(&w);
    let alice = w.alice();
    let open = |params: Value| alice.open("notes", &params);

    // 500 conditions and 10,000 values at once: 498 LIKEs over sub-selects and joins (a value
    // each), and two lists of 4,751 values, one on the calculated field.
    let mut filters = vec![
        json!(["lines_qty", "not_in", list(4751)]),
        json!(["id", "not_in", list(4751)]),
    ];
    filters.extend(costly(498));
    let reply = ok(open(json!({"filters": filters, "expanded": true})));
    assert_eq!(reply["rows"], json!([]), "every note's key is in the list");
    filters.push(json!(["title", "eq", "x"]));
    over(
        open(json!({"filters": filters})),
        "more than 500 conditions",
        "filters[500]",
    );

    // The same conditions as OR groups nested four deep, and as words.
    let mut nested = json!([costly(500)]);
    for _ in 0..3 {
        nested = json!([[nested]]);
    }
    ok(open(json!({"filters": [nested.clone()], "expanded": true})));
    // The innermost member: group, member, group, member, … seven steps in.
    nested[0][0][0][0][0][0][0]
        .as_array_mut()
        .unwrap()
        .push(json!(["id", 1, 1]));
    over(
        open(json!({"filters": [nested]})),
        "more than 500 conditions",
        "filters[0][0][0][0][0][0][0][0][500]",
    );
    let found = ok(open(
        json!({"filters": [["contact", "contains_all", words(250, "a")]],
        "search": ["lines_qty", words(250, "3")], "fields": ["id"]}),
    ));
    assert_eq!(
        found["rows"],
        json!([[data[0].notes[0]]]),
        "alice's note with a contact"
    );
    over(
        open(
            json!({"filters": [["contact", "contains_all", words(250, "a")]],
            "search": ["lines_qty", words(251, "3")]}),
        ),
        "more than 500 conditions",
        "search",
    );

    // 10,000 values: every list, word and compared value counts.
    let values = json!({"filters": [["id", "in", list(4999)], ["lines_qty", "not_in", list(4999)],
        ["title", "range", ["a", "z"]]]});
    ok(open(values.clone()));
    let mut one_more = values;
    one_more["filters"]
        .as_array_mut()
        .unwrap()
        .push(json!(["amount", "ne", 1.5]));
    over(open(one_more), "more than 10000 values", "filters[3]");

    // A LIKE text of 10,000 bytes (SQLite refuses patterns over 50,000, and escaping doubles
    // `%` and `_`).
    ok(open(
        json!({"filters": [["title", "contains", "%_".repeat(5000)]]}),
    ));
    over(
        open(json!({"filters": [["title", "contains", "%_".repeat(5000) + "x"]]})),
        "longer than 10000 bytes",
        "filters[0]",
    );
}

/// Issue 12 verbatim: each of these was a 500 with the SQL text in the log.
#[test]
fn queries_that_were_500s_are_400s_naming_the_limit() {
    let w = World::new(Setup::Builtin);
    seed(&w);
    let alice = w.alice();
    let open = |params: Value| alice.open("notes", &params);
    // "Expression tree is too large (maximum depth 1000)".
    over(
        open(json!({"filters": [["title", "contains_all", words(1000, "a")]]})),
        "more than 500 conditions",
        "filters[0]",
    );
    over(
        open(json!({"search": ["title", words(1000, "a")]})),
        "more than 500 conditions",
        "search",
    );
    over(
        open(
            json!({"filters": (0..1000).map(|_| json!(["title", "ne", "x"])).collect::<Vec<_>>()}),
        ),
        "more than 500 conditions",
        "filters[500]",
    );
    // "too many SQL variables": seven lists of 5,000, each under the old cap of one list.
    let seven: Vec<Value> = (0..7)
        .map(|_| json!(["id", "not_in", list(5000)]))
        .collect();
    over(
        open(json!({"filters": seven})),
        "more than 10000 values",
        "filters[2]",
    );
    // "LIKE or GLOB pattern too complex".
    over(
        open(json!({"filters": [["title", "contains", "x".repeat(60_000)]]})),
        "longer than 10000 bytes",
        "filters[0]",
    );
    // Order and group_by name each field once in the SQL, however often the request does.
    let order: Vec<&str> = vec!["lines_qty"; 5000];
    ok(open(json!({"order": order, "expanded": true})));
    let group: Vec<&str> = vec!["contact"; 5000];
    ok(open(
        json!({"fields": ["contact", "id"], "funcs": {"id": "count"}, "group_by": group,
        "expanded": true}),
    ));
}

/// The widest item the loader accepts (1000 fields, 63 lookup joins) opens expanded: every
/// column and every join in one SELECT.
#[test]
fn the_widest_item_the_loader_accepts_opens_expanded() {
    let mut wide = String::new();
    for i in 0..63 {
        wide.push_str(&format!(
            "[[fields]]\nname = \"l{i}\"\ntype = \"integer\"\nlookup = {{ item = \"target\", field = \"name\" }}\n\n"
        ));
    }
    for i in 63..999 {
        wide.push_str(&format!(
            "[[fields]]\nname = \"f{i}\"\ntype = \"integer\"\n\n"
        ));
    }
    let server = TestServer::from_files(&[
        (
            "jamrs.toml",
            "name = \"wide\"\nsafe_mode = false\n[[groups]]\nname = \"all\"\nitems = [\"wide\", \"target\"]\n",
        ),
        (
            "items/target.toml",
            "fields = [{ name = \"name\", type = \"text\", size = 50 }]\n",
        ),
        ("items/wide.toml", &wide),
    ]);
    let c = server.client();
    ok(c.apply(
        "target",
        &json!({"changes": [{"op": "insert", "values": {"name": "T"}}]}),
    ));
    let values: serde_json::Map<String, Value> =
        (0..63).map(|i| (format!("l{i}"), json!(1))).collect();
    ok(c.apply(
        "wide",
        &json!({"changes": [{"op": "insert", "values": values}]}),
    ));
    let reply = ok(c.open("wide", &json!({"expanded": true})));
    assert_eq!(reply["fields"].as_array().unwrap().len(), 1000 + 63);
    assert_eq!(
        reply["rows"][0].as_array().unwrap().last(),
        Some(&json!("T"))
    );
}
