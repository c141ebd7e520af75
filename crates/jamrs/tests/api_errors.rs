//! The error contract over real HTTP: every kind of bad input gets its 4xx status and
//! `{"error": {"code", "message", "fields"?}}`, and leaves the database exactly as it was.
//! Data: `common::seed_demo`.

mod common;

use common::{TestServer, assert_error, demo, error_fields, ok};
use serde_json::{Value, json};

/// One bad request: where it goes, its body, and what must come back.
struct Case {
    name: &'static str,
    path: &'static str,
    body: Body,
    status: u16,
    code: &'static str,
    /// The `fields` entry the error names, if it names one.
    field: Option<&'static str>,
}

enum Body {
    Json(Value),
    Raw(&'static str),
}

fn case(
    name: &'static str,
    path: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        path,
        body: Body::Json(body),
        status,
        code,
        field,
    }
}

const OPEN: &str = "/api/items/tracks/open";
const APPLY: &str = "/api/items/tracks/apply";
const LINES_OPEN: &str = "/api/items/invoice_table/open";
const INVOICES_APPLY: &str = "/api/items/invoices/apply";

#[rustfmt::skip]
fn open_cases() -> Vec<Case> {
    let bad = |name, body, field| case(name, OPEN, body, 400, "bad_request", Some(field));
    let filter = |name, f: Value| case(name, OPEN, json!({"filters": [f]}), 400, "bad_request", Some("filters[0]"));
    vec![
        case("unknown item", "/api/items/nope/open", json!({}), 404, "not_found", None),
        bad("unknown field", json!({"fields": ["id", "nope"]}), "fields[1]"),
        filter("unknown filter field", json!(["nope", 1, 1])),
        filter("the deleted flag", json!(["deleted", 1, 0])),
        filter("unknown op name", json!(["name", "like", "x"])),
        filter("op 0", json!(["name", 0, "x"])),
        filter("op 31", json!(["name", 31, "x"])),
        filter("op of a wrong type", json!(["name", true, "x"])),
        filter("a lookup op on a plain field", json!(["name", 16, "x"])),
        filter("text for an integer", json!(["milliseconds", 1, "abc"])),
        filter("text for a number", json!(["unitprice", "gt", "cheap"])),
        filter("null value", json!(["name", "eq", null])),
        filter("two elements", json!(["name", "eq"])),
        filter("not a list", json!("name")),
        filter("in without a list", json!(["genre", "in", 1])),
        filter("range of one", json!(["genre", "range", [1]])),
        filter("too many IN values", json!(["id", "in", (0..10_001).collect::<Vec<_>>()])),
        filter("too many words", json!(["name", "contains_all", vec!["a"; 501].join(" ")])),
        filter("a LIKE text too long", json!(["name", "contains", "x".repeat(10_001)])),
        bad("an OR member not a list", json!({"filters": [[[["id", 1, 1]], 5]]}), "filters[0][1]"),
        bad("OR groups too deep", json!({"filters": [[[[[[[[[[[["id", 1, 1]]]]]]]]]]]]}),
            "filters[0][0][0][0][0][0][0][0][0]"),
        bad("limit over the maximum", json!({"limit": 1001}), "limit"),
        bad("unknown order field", json!({"order": [["nope", false]]}), "order[0]"),
        bad("funcs injection", json!({"fields": ["id"], "funcs": {"id": "(SELECT 1)+"}}), "funcs.id"),
        bad("master on a non-detail", json!({"master": 1}), "master"),
        case("negative limit", OPEN, json!({"limit": -1}), 400, "bad_request", None),
        case("limit as text", OPEN, json!({"limit": "10"}), 400, "bad_request", None),
        case("limit as a fraction", OPEN, json!({"limit": 2.5}), 400, "bad_request", None),
        case("offset too large", OPEN, json!({"offset": 1e300}), 400, "bad_request", None),
        case("master key as a fraction", LINES_OPEN, json!({"master": 1.5}), 400, "bad_request", Some("master.id")),
        case("unknown param", OPEN, json!({"__fields": ["id"]}), 400, "bad_request", None),
        case("detail without master", LINES_OPEN, json!({}), 400, "bad_request", Some("master")),
        case("master as text", LINES_OPEN, json!({"master": "1"}), 400, "bad_request", Some("master.id")),
        case("master that does not exist", LINES_OPEN, json!({"master": 42}), 404, "not_found", None),
        case("deleted master", LINES_OPEN, json!({"master": 3}), 404, "not_found", None),
    ]
}

#[rustfmt::skip]
fn apply_cases() -> Vec<Case> {
    let bad = |name, change: Value, field| {
        case(name, APPLY, json!({"changes": [change]}), 400, "bad_request", field)
    };
    let update_1 = |detail: Value| json!({"changes": [{"op": "update", "id": 1, "details": detail}]});
    vec![
        case("unknown item", "/api/items/nope/apply", json!({"changes": []}), 404, "not_found", None),
        case("no changes key", APPLY, json!({}), 400, "bad_request", None),
        case("unknown key", APPLY, json!({"changes": [], "old": 1}), 400, "bad_request", None),
        bad("unknown field", json!({"op": "insert", "values": {"nope": 1}}), Some("changes[0].nope")),
        bad("the deleted flag", json!({"op": "update", "id": 1, "values": {"deleted": false}}),
            Some("changes[0].deleted")),
        bad("unknown op", json!({"op": "upsert", "values": {}}), Some("changes[0].op")),
        bad("update without id", json!({"op": "update", "values": {"name": "x"}}), Some("changes[0].id")),
        bad("id as text", json!({"op": "update", "id": "1", "values": {"name": "x"}}), Some("changes[0].id")),
        bad("pk injection on update", json!({"op": "update", "id": "0 OR 1=1", "values": {"name": "x"}}),
            Some("changes[0].id")),
        bad("pk injection on delete", json!({"op": "delete", "id": "0 OR 1=1"}), Some("changes[0].id")),
        bad("fractional id", json!({"op": "delete", "id": 1.5}), Some("changes[0].id")),
        bad("values not an object", json!({"op": "update", "id": 1, "values": [1]}), None),
        bad("op missing", json!({"id": 1, "values": {"name": "x"}}), None),
        bad("a delete with values", json!({"op": "delete", "id": 1, "values": {"name": "x"}}), Some("changes[0]")),
        bad("unknown change key", json!({"op": "delete", "id": 1, "old_value": 2}), None),
        case("id that does not exist", APPLY, json!({"changes": [{"op": "delete", "id": 404}]}),
             404, "not_found", Some("changes[0]")),
        case("wrong value type", APPLY, json!({"changes": [{"op": "update", "id": 1, "values": {"bytes": "many"}}]}),
             422, "validation", Some("changes[0].bytes")),
        case("required missing", APPLY, json!({"changes": [{"op": "insert", "values": {"name": "x", "album": 1}}]}),
             422, "validation", Some("changes[0].unitprice")),
        case("unknown detail", INVOICES_APPLY, update_1(json!({"lines": []})),
             400, "bad_request", Some("changes[0].details")),
        case("details not a list", INVOICES_APPLY, update_1(json!({"invoice_table": {"op": "insert"}})),
             400, "bad_request", Some("changes[0].invoice_table")),
        case("detail of another master", INVOICES_APPLY,
             json!({"changes": [{"op": "update", "id": 2, "details": {"invoice_table": [{"op": "delete", "id": 1}]}}]}),
             404, "not_found", Some("changes[0].invoice_table[0]")),
        case("detail applied directly", "/api/items/invoice_table/apply",
             json!({"changes": [{"op": "delete", "id": 1}]}), 400, "bad_request", None),
    ]
}

fn raw_cases() -> Vec<Case> {
    let malformed = |name, path, raw| Case {
        name,
        path,
        body: Body::Raw(raw),
        status: 400,
        code: "bad_request",
        field: None,
    };
    vec![
        malformed("empty body", OPEN, ""),
        malformed("unclosed object", OPEN, "{"),
        malformed(
            "unclosed apply",
            APPLY,
            r#"{"changes": [{"op": "delete", "id": 1}"#,
        ),
        malformed(
            "trailing garbage",
            APPLY,
            r#"{"changes": [{"op": "delete", "id": 1}]} x"#,
        ),
        malformed("single quotes", OPEN, "{'limit': 1}"),
        malformed("not JSON", APPLY, "changes=1"),
    ]
}

#[test]
fn bad_input_gets_the_error_contract_and_changes_nothing() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let cases: Vec<Case> = open_cases()
        .into_iter()
        .chain(apply_cases())
        .chain(raw_cases())
        .collect();
    for case in &cases {
        let reply = match &case.body {
            Body::Json(v) => c.post_json(case.path, v),
            Body::Raw(s) => c.post_raw(case.path, "application/json", s.as_bytes()),
        };
        let err = std::panic::catch_unwind(|| assert_error(&reply, case.status, case.code))
            .unwrap_or_else(|_| panic!("case \"{}\": {reply:?}", case.name));
        if let Some(field) = case.field {
            assert_eq!(error_fields(&err), [field], "case \"{}\": {err}", case.name);
        }
        assert!(
            server.db_snapshot() == before,
            "case \"{}\" changed the database",
            case.name
        );
    }
}

/// The contract documents objects (`additionalProperties: false`), but serde's derived
/// `Deserialize` also takes a struct as a JSON array of its fields in declaration order, so
/// `[]` opens like `{}` and `["delete", 1]` deletes row 1. `OpenParams`, `ApplyParams` and
/// `ChangeParams` (jamrs-core `query.rs`, `delta.rs`) should accept only objects.
#[test]
fn params_that_are_arrays_are_a_bad_request() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    assert_error(&c.open("tracks", &json!([])), 400, "bad_request");
    assert_error(
        &c.open("tracks", &json!([["id"], [["id", 1, 1]]])),
        400,
        "bad_request",
    );
    assert_error(
        &c.apply("genres", &json!([[["delete", 1]]])),
        400,
        "bad_request",
    );
    assert_error(
        &c.apply("genres", &json!({"changes": [["delete", 1]]})),
        400,
        "bad_request",
    );
    assert_eq!(server.db_snapshot(), before);
}

/// Reference §7.1–7.3: each injection that worked on Jam.py is refused or matches nothing.
#[test]
fn reference_injections_change_nothing() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let rows = ok(c.open(
        "tracks",
        &json!({"filters": [["name", 7, ["0) OR 1=1 --"]]]}),
    ));
    assert_eq!(rows["rows"], json!([]));
    let funcs =
        json!({"fields": ["id"], "funcs": {"id": "(SELECT COUNT(*) FROM demo_customers) +"}});
    assert_error(&c.open("invoices", &funcs), 400, "bad_request");
    for change in [
        json!({"op": "update", "id": "0 OR 1=1", "values": {"name": "pwned"}}),
        json!({"op": "delete", "id": "0 OR 1=1"}),
        json!({"op": "update", "id": 1, "values": {"id": "0 OR 1=1", "name": "pwned"}}),
    ] {
        let reply = c.apply("genres", &json!({"changes": [change]}));
        assert!(reply.0 == 400 || reply.0 == 422, "{reply:?}");
    }
    let order = json!({"order": [["name; DROP TABLE demo_genres; --", true]]});
    assert_error(&c.open("genres", &order), 400, "bad_request");
    assert_eq!(server.db_snapshot(), before);
    let names = ok(c.open("genres", &json!({"fields": ["name"], "order": ["id"]})));
    assert_eq!(names["rows"], json!([["Rock"], ["Metal"], ["Blues"]]));
}

/// A form (or any body that is not JSON) cannot post to the API: 415.
#[test]
fn bodies_that_are_not_json_are_415() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let delete = br#"{"changes": [{"op": "delete", "id": 1}]}"#;
    for ct in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let err = assert_error(&c.post_raw(APPLY, ct, delete), 415, "bad_request");
        assert!(err.get("fields").is_none());
    }
    let r = c.send("POST", APPLY, None, delete);
    assert_error(&(r.status, r.body), 415, "bad_request");
    assert_error(
        &c.post_raw(APPLY, "application/x-www-form-urlencoded", b"changes=1"),
        415,
        "bad_request",
    );
    assert_eq!(server.db_snapshot(), before);
    ok(c.post_raw(OPEN, "application/json; charset=utf-8", b"{}"));
}

#[test]
fn deeply_nested_json_is_a_bad_request() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let deep = format!("{{\"filters\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
    assert_error(
        &c.post_raw(OPEN, "application/json", deep.as_bytes()),
        400,
        "bad_request",
    );
    assert_eq!(server.db_snapshot(), before);
}

const SMALL: [(&str, &str); 2] = [
    (
        "jamrs.toml",
        "name = \"small\"\nmax_limit = 3\nsafe_mode = false\n[server]\nmax_body_bytes = 2048\n[[groups]]\nname = \"all\"\nitems = [\"things\"]\n",
    ),
    (
        "items/things.toml",
        "[[fields]]\nname = \"title\"\ntype = \"longtext\"\n",
    ),
];

/// The project's `server.max_body_bytes` and `max_limit` are the limits, not the defaults.
#[test]
fn the_project_limits_apply() {
    let server = TestServer::from_files(&SMALL);
    let c = server.client();
    let insert = |title: String| json!({"changes": [{"op": "insert", "values": {"title": title}}]});
    for i in 0..5 {
        ok(c.apply("things", &insert(format!("t{i}"))));
    }
    // Just under the limit is accepted.
    ok(c.apply("things", &insert("x".repeat(1900))));
    let before = server.db_snapshot();
    for size in [2100, 100_000] {
        let reply = c.apply("things", &insert("x".repeat(size)));
        let err = assert_error(&reply, 413, "bad_request");
        assert!(err.get("fields").is_none(), "{err}");
        assert_eq!(server.db_snapshot(), before);
    }
    let open = |params: Value| c.open("things", &params);
    assert_eq!(ok(open(json!({})))["rows"].as_array().unwrap().len(), 3);
    assert_eq!(
        ok(open(json!({"limit": 3, "offset": 3})))["rows"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let err = assert_error(&open(json!({"limit": 4})), 400, "bad_request");
    assert_eq!(error_fields(&err), ["limit"]);
}

/// The demo's genres have a unique index on name: a collision is 409 and undoes the apply.
#[test]
fn a_unique_index_collision_is_409_and_rolls_back() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    for changes in [
        json!([{"op": "insert", "values": {"name": "Jazz"}}, {"op": "insert", "values": {"name": "Rock"}}]),
        json!([{"op": "update", "id": 2, "values": {"name": "Rock"}}]),
    ] {
        let reply = c.apply("genres", &json!({ "changes": changes }));
        assert_error(&reply, 409, "conflict");
        assert_eq!(server.db_snapshot(), before);
    }
}

/// Issue 13 (OpenAPI fuzzer): `offset: 788887.0` is an integer to JSON Schema and was refused,
/// while `fields: null` was accepted and `filters: null` refused. Every optional open param
/// now reads `null` as absent, and `limit`, `offset` and the master's key take whole numbers
/// written as floats; a fraction is a 400 that says a whole number was expected.
#[test]
fn open_params_read_null_as_absent_and_whole_floats_as_integers() {
    let (server, c) = demo();
    let absent = ok(c.open("tracks", &json!({})));
    let nulls = json!({"fields": null, "filters": null, "order": null, "limit": null,
        "offset": null, "expanded": null, "funcs": null, "summary": null, "group_by": null,
        "master": null, "search": null, "params": null});
    assert_eq!(ok(c.open("tracks", &nulls)), absent);
    assert_eq!(
        ok(c.open(
            "tracks",
            &json!({"limit": 2.0, "offset": 1.0, "order": ["id"]})
        )),
        ok(c.open("tracks", &json!({"limit": 2, "offset": 1, "order": ["id"]})))
    );
    assert_eq!(
        ok(c.open("tracks", &json!({"offset": 788887.0})))["rows"],
        json!([])
    );
    let lines = ok(c.open("invoice_table", &json!({"master": 1.0, "fields": ["id"]})));
    assert_eq!(lines["rows"], json!([[1], [2]]));
    for (params, needle) in [
        (json!({"limit": 2.5}), "expected a whole number, got 2.5"),
        (
            json!({"offset": -1.0}),
            "expected a count of 0 or more, got -1",
        ),
        (json!({"limit": "2"}), "expected a whole number, got \"2\""),
    ] {
        let err = assert_error(&c.open("tracks", &params), 400, "bad_request");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(needle), "{params}: {message}");
    }
    let _ = server;
}
