//! Apply over real HTTP: inserts, updates and deletes with nested details in one transaction,
//! results 1:1 in order, defaults, the detail link set by the server, soft and hard delete
//! cascading to details, and all-or-nothing when any change fails. Data: `common::seed_demo`.

mod common;

use common::{TestServer, apply_ids, assert_error, demo, error_fields, ids, ok};
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

const SHOP: [(&str, &str); 3] = [
    (
        "jamrs.toml",
        "name = \"shop\"\nsafe_mode = false\n[[groups]]\nname = \"all\"\nitems = [\"orders\", \"lines\"]\n",
    ),
    (
        "items/orders.toml",
        "details = [\"lines\"]\n[[fields]]\nname = \"title\"\ntype = \"text\"\nsize = 20\nrequired = true\n",
    ),
    (
        "items/lines.toml",
        "master_field = \"order_id\"\n[[fields]]\nname = \"order_id\"\ntype = \"integer\"\n[[fields]]\nname = \"qty\"\ntype = \"integer\"\nrequired = true\n",
    ),
];

fn int(i: i64) -> Sql {
    Sql::Integer(i)
}

#[test]
fn one_apply_inserts_updates_and_deletes_with_details_in_order() {
    let (server, c) = demo();
    let reply = ok(c.apply(
        "invoices",
        &json!({"changes": [
            {"op": "insert", "values": {"customer": 3}, "details": {"invoice_table": [
                {"op": "insert", "values": {"track": 4, "unitprice": 0.99}},
                {"op": "insert", "values": {"track": 5, "unitprice": 1.99, "quantity": 2}}]}},
            // (Not the tax rate: the demo's module refuses a new rate its lines disagree with.)
            {"op": "update", "id": 1, "values": {"paid": true}},
            {"op": "delete", "id": 2}]}),
    ));
    let changes = reply["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    let new = &changes[0];
    assert_eq!((&new["op"], &new["id"]), (&json!("insert"), &json!(4)));
    let v = &new["values"];
    assert_eq!(v["id"], 4);
    assert_eq!(v["customer"], 3);
    // Defaults: today, 5.0, not paid; a line's quantity 1.
    assert_eq!(v["invoice_date"].as_str().map(str::len), Some(10), "{v}");
    assert_eq!((&v["taxrate"], &v["paid"]), (&json!(5.0), &json!(false)));
    assert!(v.get("deleted").is_none(), "{v}");
    let lines = new["details"]["invoice_table"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((&lines[0]["id"], &lines[1]["id"]), (&json!(6), &json!(7)));
    assert_eq!(lines[0]["values"]["quantity"], 1);
    assert_eq!(lines[1]["values"]["quantity"], 2);
    // The link is the master's: the item's id (38) and the row's key.
    assert_eq!(lines[0]["values"]["master_id"], 38);
    assert_eq!(lines[0]["values"]["master_rec_id"], 4);
    // The update returns the final row, untouched values included.
    assert_eq!(changes[1]["op"], "update");
    assert_eq!(changes[1]["values"]["paid"], true);
    assert_eq!(changes[1]["values"]["invoice_date"], "2021-01-01");
    assert_eq!(changes[2], json!({"op": "delete", "id": 2}));

    assert_eq!(ids(&c, "invoices", json!({})), [1, 4]);
    assert_eq!(ids(&c, "invoice_table", json!({"master": 4})), [6, 7]);
    // Invoice 2 and its lines are flagged, not removed.
    let flagged =
        server.db_query("SELECT id FROM demo_invoice_table WHERE deleted = 1 ORDER BY id");
    assert_eq!(flagged, [[int(3)], [int(4)], [int(5)]]);
    let inv = server.db_query("SELECT deleted FROM demo_invoices WHERE id = 2");
    assert_eq!(inv, [[int(1)]]);
}

/// Reference §7.12 and §7.6: the server chooses keys and detail links, not the client.
#[test]
fn client_keys_and_detail_links_are_ignored() {
    let (server, c) = demo();
    let reply = ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "insert", "values": {"id": 500, "customer": 1}, "details": {"invoice_table": [
            {"op": "insert", "values": {"id": 900, "track": 1, "unitprice": 1, "master_id": 1, "master_rec_id": 1}}]}}]}),
    ));
    let new = &reply["changes"][0];
    assert_eq!(new["id"], 4);
    let line = &new["details"]["invoice_table"][0];
    assert_eq!(line["id"], 6);
    assert_eq!(
        (
            &line["values"]["master_id"],
            &line["values"]["master_rec_id"]
        ),
        (&json!(38), &json!(4))
    );
    let stored = server
        .db_query("SELECT id, master_id, master_rec_id FROM demo_invoice_table WHERE id >= 6");
    assert_eq!(stored, [[int(6), int(38), int(4)]]);
    assert_eq!(ids(&c, "invoice_table", json!({"master": 1})), [1, 2]);

    // New-style link: checklist.note is the note's key whatever the client says.
    let notes = TestServer::template("notes");
    let n = notes.client();
    apply_ids(
        &n,
        "notes",
        json!([{"op": "insert", "values": {"title": "first"}}]),
    );
    let reply = ok(n.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "second"}, "details": {"checklist": [
            {"op": "insert", "values": {"text": "x", "note": 1}}]}},
            {"op": "update", "id": 1, "details": {"checklist": [{"op": "insert", "values": {"text": "y", "note": 2}}]}}]}),
    ));
    assert_eq!(
        reply["changes"][0]["details"]["checklist"][0]["values"]["note"],
        2
    );
    assert_eq!(
        reply["changes"][1]["details"]["checklist"][0]["values"]["note"],
        1
    );
    let rows = notes.db_query("SELECT id, note, done FROM checklist ORDER BY id");
    assert_eq!(rows, [[int(1), int(2), int(0)], [int(2), int(1), int(0)]]);
}

/// A bad detail row rolls back its master's insert, and an earlier valid change.
#[test]
fn a_failing_change_rolls_back_the_whole_apply() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let reply = c.apply(
        "invoices",
        &json!({"changes": [
            {"op": "update", "id": 1, "values": {"paid": true}},
            {"op": "insert", "values": {"customer": 2}, "details": {"invoice_table": [
                {"op": "insert", "values": {"track": 1, "unitprice": 1}},
                {"op": "insert", "values": {"track": 2}}]}}]}),
    );
    let err = assert_error(&reply, 422, "validation");
    assert_eq!(
        error_fields(&err),
        ["changes[1].invoice_table[1].unitprice"]
    );
    assert_eq!(server.db_snapshot(), before);
    // A lookup to a row that does not exist, or is deleted (track 6), fails the same way.
    for track in [99, 6] {
        let reply = c.apply(
            "invoices",
            &json!({"changes": [{"op": "insert", "values": {"customer": 2}, "details": {"invoice_table": [
                {"op": "insert", "values": {"track": track, "unitprice": 1}}]}}]}),
        );
        let err = assert_error(&reply, 422, "validation");
        assert_eq!(
            error_fields(&err),
            ["changes[0].invoice_table[0].track"],
            "{track}"
        );
    }
    // A change that matches no row is 404 and undoes the insert before it.
    for missing in [
        json!({"op": "update", "id": 99, "values": {"name": "x"}}),
        json!({"op": "delete", "id": 99}),
    ] {
        let reply = c.apply(
            "genres",
            &json!({"changes": [{"op": "insert", "values": {"name": "Jazz"}}, missing]}),
        );
        let err = assert_error(&reply, 404, "not_found");
        assert_eq!(error_fields(&err), ["changes[1]"]);
    }
    // So is a soft-deleted row: track 6 cannot be updated back to life.
    let reply = c.apply(
        "tracks",
        &json!({"changes": [{"op": "update", "id": 1, "values": {"name": "x"}},
                            {"op": "update", "id": 6, "values": {"name": "y"}}]}),
    );
    assert_error(&reply, 404, "not_found");
    assert_eq!(server.db_snapshot(), before);
}

#[test]
fn required_size_and_value_validation_name_each_field() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let long = "x".repeat(121);
    for (item, changes, fields) in [
        (
            "tracks",
            json!([{"op": "insert", "values": {"name": "", "album": 1}}]),
            vec!["changes[0].name", "changes[0].unitprice"],
        ),
        (
            "artists",
            json!([{"op": "insert", "values": {"name": "ok"}}, {"op": "insert", "values": {"name": long}}]),
            vec!["changes[1].name"],
        ),
        (
            "tracks",
            json!([{"op": "update", "id": 1, "values": {"name": null, "unitprice": null}}]),
            vec!["changes[0].name", "changes[0].unitprice"],
        ),
        // Values of the wrong type are found before the rows are read.
        (
            "tracks",
            json!([{"op": "update", "id": 1, "values": {"name": null, "milliseconds": "long", "bytes": 1.5}}]),
            vec!["changes[0].milliseconds", "changes[0].bytes"],
        ),
        (
            "tracks",
            json!([{"op": "update", "id": 1, "values": {"media_type": 9, "album": 99}}]),
            vec!["changes[0].media_type", "changes[0].album"],
        ),
        (
            "invoices",
            json!([{"op": "update", "id": 1, "values": {"subtotal": 1, "invoice_date": "2021-02-30"}}]),
            vec!["changes[0].subtotal", "changes[0].invoice_date"],
        ),
        (
            "invoices",
            json!([{"op": "update", "id": 1, "values": {"id": 2}}]),
            vec!["changes[0].id"],
        ),
        (
            "invoices",
            json!([{"op": "insert", "values": {"paid": "yes"}}]),
            vec!["changes[0].paid"],
        ),
    ] {
        let err = assert_error(
            &c.apply(item, &json!({"changes": changes})),
            422,
            "validation",
        );
        let mut got = error_fields(&err);
        got.sort();
        let mut want = fields.clone();
        want.sort_unstable();
        assert_eq!(got, want, "{item} {changes}");
    }
    assert_eq!(server.db_snapshot(), before);
    // Sizes count characters, not bytes.
    apply_ids(
        &c,
        "artists",
        json!([{"op": "insert", "values": {"name": "é".repeat(120)}}]),
    );
}

#[test]
fn updates_change_only_what_they_name() {
    let (_server, c) = demo();
    let reply = ok(c.apply(
        "tracks",
        &json!({"changes": [{"op": "update", "id": 3, "values": {"id": 3, "composer": null, "bytes": 123}}]}),
    ));
    let v = &reply["changes"][0]["values"];
    assert_eq!(v["name"], "Fast As a Shark");
    assert_eq!((&v["composer"], &v["bytes"]), (&Value::Null, &json!(123)));
    let row = ok(c.open("tracks", &json!({"filters": [["id", "eq", 3]]})));
    assert_eq!(
        row["rows"][0],
        json!([3, "Fast As a Shark", 3, 2, 2, null, 230619, 123, 0.99, null])
    );
    // An update with no values only touches its details.
    let reply = ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "update", "id": 1, "details": {"invoice_table": [
            {"op": "update", "id": 2, "values": {"quantity": 5}}, {"op": "delete", "id": 1}]}}]}),
    ));
    assert_eq!(reply["changes"][0]["values"]["customer"], 1);
    assert_eq!(
        reply["changes"][0]["details"]["invoice_table"][0]["values"]["quantity"],
        5
    );
    assert_eq!(ids(&c, "invoice_table", json!({"master": 1})), [2]);
}

#[test]
fn expanded_results_carry_lookup_texts_and_calculated_fields() {
    let (_server, c) = demo();
    let reply = ok(c.apply(
        "invoices",
        &json!({"expanded": true, "changes": [{"op": "insert", "values": {"customer": 2}, "details": {"invoice_table": [
            {"op": "insert", "values": {"track": 5, "unitprice": 1.99}}]}}]}),
    ));
    let v = &reply["changes"][0]["values"];
    assert_eq!(
        (&v["customer.text"], &v["billing_city.text"]),
        (&json!("Köhler"), &json!("Stuttgart"))
    );
    let line = &reply["changes"][0]["details"]["invoice_table"][0]["values"];
    assert_eq!(line["track.text"], "Walk On Water");
    assert_eq!(line["album.text"], "Big Ones");
    assert_eq!(line["artist.text"], "Aerosmith");
    let reply = ok(c.apply(
        "tracks",
        &json!({"expanded": true, "changes": [{"op": "update", "id": 5, "values": {"album": 1}}]}),
    ));
    let v = &reply["changes"][0]["values"];
    assert_eq!(
        (&v["tracks_sold"], &v["artist.text"]),
        (&json!(5), &json!("AC/DC"))
    );
}

/// Reference §7.6: a detail row of one master cannot be changed through another.
#[test]
fn a_detail_row_of_another_master_cannot_be_changed() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    // Line 1 belongs to invoice 1.
    for change in [
        json!({"op": "update", "id": 1, "values": {"quantity": 9}}),
        json!({"op": "delete", "id": 1}),
    ] {
        let reply = c.apply(
            "invoices",
            &json!({"changes": [{"op": "update", "id": 2, "details": {"invoice_table": [change]}}]}),
        );
        let err = assert_error(&reply, 404, "not_found");
        assert_eq!(error_fields(&err), ["changes[0].invoice_table[0]"]);
    }
    // Nor through a new master, nor directly.
    let reply = c.apply(
        "invoices",
        &json!({"changes": [{"op": "insert", "values": {"customer": 1}, "details": {"invoice_table": [
            {"op": "update", "id": 1, "values": {"quantity": 9}}]}}]}),
    );
    assert_error(&reply, 400, "bad_request");
    for change in [
        json!({"op": "insert", "values": {"track": 1, "unitprice": 1}}),
        json!({"op": "update", "id": 1, "values": {"quantity": 9}}),
        json!({"op": "delete", "id": 1}),
    ] {
        let reply = c.apply("invoice_table", &json!({"changes": [change]}));
        let err = assert_error(&reply, 400, "bad_request");
        assert!(
            err["message"].as_str().unwrap().contains("invoices"),
            "{err}"
        );
    }
    assert_eq!(server.db_snapshot(), before);
}

#[test]
fn deletes_cascade_to_details_soft_or_hard() {
    // Soft: the note and its checklist rows are flagged.
    let notes = TestServer::template("notes");
    let n = notes.client();
    ok(n.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "a"}, "details": {"checklist": [
            {"op": "insert", "values": {"text": "one"}}, {"op": "insert", "values": {"text": "two"}}]}}]}),
    ));
    apply_ids(&n, "notes", json!([{"op": "delete", "id": 1}]));
    assert_eq!(notes.db_query("SELECT deleted FROM notes"), [[int(1)]]);
    assert_eq!(
        notes.db_query("SELECT deleted FROM checklist"),
        [[int(1)], [int(1)]]
    );
    assert_eq!(ids(&n, "notes", json!({})), Vec::<i64>::new());
    assert_error(
        &n.open("checklist", &json!({"master": 1})),
        404,
        "not_found",
    );

    // Hard: without soft delete the rows are removed, other masters' rows kept.
    let shop = TestServer::from_files(&SHOP);
    let s = shop.client();
    let line = |qty: i64| json!({"op": "insert", "values": {"qty": qty}});
    ok(s.apply(
        "orders",
        &json!({"changes": [
            {"op": "insert", "values": {"title": "a"}, "details": {"lines": [line(1), line(2)]}},
            {"op": "insert", "values": {"title": "b"}, "details": {"lines": [line(3)]}}]}),
    ));
    apply_ids(&s, "orders", json!([{"op": "delete", "id": 1}]));
    assert_eq!(shop.db_query("SELECT id FROM orders"), [[int(2)]]);
    assert_eq!(
        shop.db_query("SELECT id, order_id, qty FROM lines"),
        [[int(3), int(2), int(3)]]
    );
}

/// Issue 13: an apply changes at most `max_apply_records` records, detail records included
/// (65,000 inserts held the writer and then failed with a 500). Past the limit the apply is
/// refused before any record is read or written, naming the list that crossed it.
#[test]
fn an_apply_changes_at_most_max_apply_records() {
    let task = SHOP[0].1.replace(
        "safe_mode = false\n",
        "safe_mode = false\nmax_apply_records = 5\n",
    );
    let server = TestServer::from_files(&[("jamrs.toml", &task), SHOP[1], SHOP[2]]);
    let c = server.client();
    let order = |lines: usize| {
        let lines: Vec<Value> = (0..lines)
            .map(|i| json!({"op": "insert", "values": {"qty": i}}))
            .collect();
        json!({"op": "insert", "values": {"title": "o"}, "details": {"lines": lines}})
    };
    ok(c.apply("orders", &json!({"changes": vec![order(0); 5]})));
    ok(c.apply("orders", &json!({"changes": [order(4)]})));
    let before = server.db_snapshot();
    for (changes, field) in [
        (vec![order(0); 6], "changes"),
        (vec![order(2), order(2)], "changes[1].lines"),
        (vec![order(5)], "changes[0].lines"),
    ] {
        let err = assert_error(
            &c.apply("orders", &json!({ "changes": changes })),
            400,
            "bad_request",
        );
        assert_eq!(error_fields(&err), [field], "{err}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("at most 5 records"),
            "{err}"
        );
        assert_eq!(server.db_snapshot(), before);
    }

    // The default is 10,000, and an apply that large runs, expanded results included (one
    // SELECT with 10,000 keys bound).
    let (server, c) = demo();
    let changes: Vec<Value> = (0..10_000)
        .map(|i| json!({"op": "insert", "values": {"name": format!("g{i}")}}))
        .collect();
    let reply = ok(c.apply("genres", &json!({"changes": changes, "expanded": true})));
    assert_eq!(reply["changes"].as_array().unwrap().len(), 10_000);
    let before = server.db_snapshot();
    let insert = json!({"op": "insert", "values": {"name": "x"}});
    let err = assert_error(
        &c.apply("genres", &json!({"changes": vec![insert; 10_001]})),
        400,
        "bad_request",
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("at most 10000 records"),
        "{err}"
    );
    assert_eq!(server.db_snapshot(), before);
}

/// Issue 13: naming one stored record twice in an apply is a bad request that names both
/// changes. Among details it was a 409 ("changed while it was being saved"); at the top level
/// an update and a delete of one row ran one after the other on the row the first left.
#[test]
fn a_record_is_changed_once_per_apply() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    let cases = [
        (
            json!([{"op": "update", "id": 1, "details": {"invoice_table": [
                {"op": "delete", "id": 1},
                {"op": "update", "id": 1, "values": {"quantity": 5}}]}}]),
            ["changes[0].invoice_table[0]", "changes[0].invoice_table[1]"],
        ),
        (
            json!([{"op": "update", "id": 1, "values": {"taxrate": 1.0}}, {"op": "delete", "id": 1}]),
            ["changes[0]", "changes[1]"],
        ),
        (
            json!([{"op": "delete", "id": 2}, {"op": "update", "id": 1}, {"op": "delete", "id": 2.0}]),
            ["changes[0]", "changes[2]"],
        ),
    ];
    for (changes, fields) in cases {
        let err = assert_error(
            &c.apply("invoices", &json!({ "changes": changes })),
            400,
            "bad_request",
        );
        assert_eq!(error_fields(&err), fields, "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains(fields[0]) && message.contains(fields[1]),
            "{message}"
        );
        assert_eq!(server.db_snapshot(), before);
    }
    // Different records, and the same record in different applies, are fine.
    ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "update", "id": 1, "details": {"invoice_table": [
            {"op": "update", "id": 1, "values": {"quantity": 5}},
            {"op": "update", "id": 2, "values": {"quantity": 6}}]}}]}),
    ));
    ok(c.apply("invoices", &json!({"changes": [{"op": "delete", "id": 1}]})));
}

/// Issue 13 (fuzzer): every optional member of an apply reads `null` as absent, and keys take
/// whole numbers written as floats, as JSON Schema's `integer` does.
#[test]
fn apply_params_read_null_as_absent_and_whole_floats_as_integers() {
    let (server, c) = demo();
    let reply = ok(c.apply(
        "invoices",
        &json!({"changes": [
            {"op": "update", "id": 1.0, "values": {"paid": true}, "details": null},
            {"op": "update", "id": 2, "values": null, "details": {"invoice_table": null}},
            {"op": "insert", "id": null, "values": {"customer": 2}, "details": {"invoice_table": [
                {"op": "insert", "values": {"track": 1, "unitprice": 0.99}, "details": null}]}}],
            "params": null, "expanded": null}),
    ));
    let ids: Vec<&Value> = reply["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!(2), &json!(4)]);
    assert_eq!(
        server.db_int("SELECT COUNT(*) FROM demo_invoice_table WHERE master_rec_id = 4"),
        1
    );
    let err = assert_error(
        &c.apply("invoices", &json!({"changes": null})),
        400,
        "bad_request",
    );
    assert!(
        err["message"].as_str().unwrap().contains("changes"),
        "{err}"
    );
}

/// Issue 12 §10: a cleared field is not quietly replaced. A default fills a field an insert
/// does not name; one it sends as null stays empty (or, if required, is refused as required).
#[test]
fn a_default_fills_an_absent_field_not_one_sent_as_null() {
    let server = TestServer::template("notes");
    let c = server.client();
    let ids = apply_ids(
        &c,
        "notes",
        json!([
            {"op": "insert", "values": {"title": "absent"}},
            {"op": "insert", "values": {"title": "cleared", "pinned": null}}
        ]),
    );
    let pinned = |id: i64| {
        server.db_query(&format!(
            "SELECT pinned, created IS NOT NULL FROM notes WHERE id = {id}"
        ))
    };
    assert_eq!(pinned(ids[0]), [[int(0), int(1)]]);
    assert_eq!(pinned(ids[1]), [[Sql::Null, int(1)]]);
    let before = server.db_snapshot();
    let err = assert_error(
        &c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "no date", "created": null}}]}),
        ),
        422,
        "validation",
    );
    assert_eq!(
        err["fields"],
        json!([{"field": "changes[0].created", "message": "is required"}])
    );
    assert_eq!(server.db_snapshot(), before);
}
