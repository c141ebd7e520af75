//! Open over real HTTP on the demo and notes projects: fields, order, paging, expanded lookup
//! texts (three levels, master fields), calculated fields, funcs, summary, group_by, search,
//! details with their master, and soft-deleted rows. Data: `common::seed_demo`.

mod common;

use common::{TestServer, assert_error, column, demo, error_fields, ids, insert, ints, ok};
use serde_json::{Value, json};

#[track_caller]
fn bad(c: &common::Client, item: &str, params: Value, field: &str) {
    let err = assert_error(&c.open(item, &params), 400, "bad_request");
    assert_eq!(error_fields(&err), [field], "{params}");
}

#[test]
fn fields_in_request_order_and_all_stored_fields_by_default() {
    let (_server, c) = demo();
    let all = ok(c.open("tracks", &json!({})));
    assert_eq!(
        all["fields"],
        json!([
            "id",
            "name",
            "album",
            "media_type",
            "genre",
            "composer",
            "milliseconds",
            "bytes",
            "unitprice",
            "file"
        ])
    );
    assert_eq!(
        all["rows"][2],
        json!([
            3,
            "Fast As a Shark",
            3,
            2,
            2,
            "F. Baltes, S. Kaufman",
            230619,
            null,
            0.99,
            null
        ])
    );
    let some = ok(c.open("tracks", &json!({"fields": ["name", "id", "name"]})));
    assert_eq!(some["fields"], json!(["name", "id"]));
    assert_eq!(some["rows"][0], json!(["Put The Finger On You", 1]));
    // Calculated and master-field fields have no column: only with expanded.
    bad(&c, "tracks", json!({"fields": ["artist"]}), "fields");
    bad(&c, "tracks", json!({"fields": ["nope"]}), "fields[0]");
}

#[test]
fn order_by_values_and_by_lookup_text_when_expanded() {
    let (_server, c) = demo();
    let order = |params: Value| ints(&ok(c.open("tracks", &params)), "id");
    // Default order: artist, album, name (without expanded, by the stored keys).
    assert_eq!(order(json!({})), [1, 2, 3, 4, 5]);
    assert_eq!(order(json!({"order": [["name", true]]})), [5, 4, 1, 3, 2]);
    assert_eq!(order(json!({"order": ["-milliseconds"]})), [2, 4, 3, 1, 5]);
    // By album: the key, or with expanded its title (ties by id).
    assert_eq!(order(json!({"order": [["album", true]]})), [5, 3, 4, 2, 1]);
    assert_eq!(
        order(json!({"order": [["album", true]], "expanded": true})),
        [3, 4, 1, 5, 2]
    );
    // By a master field's text, two levels away: AC/DC, Accept, Aerosmith.
    assert_eq!(
        order(json!({"order": [["artist", true], ["name", false]], "expanded": true})),
        [5, 2, 3, 4, 1]
    );
    bad(&c, "tracks", json!({"order": [["nope", true]]}), "order[0]");
    bad(
        &c,
        "tracks",
        json!({"order": [["name", "desc"]]}),
        "order[0]",
    );
}

#[test]
fn limit_and_offset_page_through_rows() {
    let (_server, c) = demo();
    let page = |limit: u64, offset: u64| {
        let params = json!({"fields": ["id"], "order": ["name"], "limit": limit, "offset": offset});
        ints(&ok(c.open("tracks", &params)), "id")
    };
    assert_eq!(page(2, 0), [2, 3]);
    assert_eq!(page(2, 2), [1, 4]);
    assert_eq!(page(2, 4), [5]);
    assert_eq!(page(2, 6), Vec::<i64>::new());
    assert_eq!(page(0, 0).len(), 5, "limit 0 means max_limit");
    assert_eq!(page(1000, 0).len(), 5);
    let err = assert_error(
        &c.open("tracks", &json!({"limit": 1001})),
        400,
        "bad_request",
    );
    assert_eq!(error_fields(&err), ["limit"]);
    assert!(err["message"].as_str().unwrap().contains("1000"), "{err}");
}

#[test]
fn expanded_adds_lookup_texts_of_up_to_three_levels() {
    let (_server, c) = demo();
    let tracks = ok(c.open("tracks", &json!({"expanded": true})));
    assert_eq!(
        tracks["fields"],
        json!([
            "id",
            "name",
            "album",
            "media_type",
            "genre",
            "composer",
            "milliseconds",
            "bytes",
            "unitprice",
            "file",
            "tracks_sold",
            "album.text",
            "artist.text",
            "genre.text"
        ])
    );
    assert_eq!(
        column(&tracks, "album.text"),
        json!([
            "For Those About To Rock",
            "Balls to the Wall",
            "Restless and Wild",
            "Restless and Wild",
            "Big Ones"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    assert_eq!(
        column(&tracks, "artist.text"),
        ["AC/DC", "Accept", "Accept", "Accept", "Aerosmith"]
    );
    assert_eq!(
        column(&tracks, "genre.text"),
        [
            json!("Rock"),
            json!("Metal"),
            json!("Metal"),
            Value::Null,
            json!("Blues")
        ]
    );
    // Invoice lines: track → album → artist; ordered by default by album (its title, when
    // expanded), then track.
    let lines = ok(c.open(
        "invoice_table",
        &json!({"master": 2, "expanded": true, "fields": ["track", "artist", "album", "quantity"]}),
    ));
    assert_eq!(
        lines["fields"],
        json!([
            "track",
            "quantity",
            "track.text",
            "artist.text",
            "album.text"
        ])
    );
    assert_eq!(
        lines["rows"],
        json!([
            [5, 4, "Walk On Water", "Aerosmith", "Big Ones"],
            [3, 1, "Fast As a Shark", "Accept", "Restless and Wild"]
        ])
    );
    // Master fields of an invoice show the customer's columns.
    let inv = ok(c.open(
        "invoices",
        &json!({"expanded": true, "filters": [["id", "eq", 1]],
                "fields": ["customer", "firstname", "billing_city", "billing_country", "billing_state"]}),
    ));
    assert_eq!(
        inv["fields"],
        json!([
            "customer",
            "customer.text",
            "firstname.text",
            "billing_city.text",
            "billing_country.text",
            "billing_state.text"
        ])
    );
    assert_eq!(
        inv["rows"],
        json!([[
            1,
            "Gonçalves",
            "Luís",
            "São José dos Campos",
            "Brazil",
            null
        ]])
    );
}

/// `tracks_sold` sums the live invoice lines of each track; invoice 3 (3 of track 1) is deleted.
#[test]
fn calculated_fields_count_only_live_detail_rows() {
    let (_server, c) = demo();
    let sold = |c: &common::Client| {
        let r = ok(c.open(
            "tracks",
            &json!({"expanded": true, "fields": ["id", "tracks_sold"], "order": ["id"]}),
        ));
        ints(&r, "tracks_sold")
    };
    assert_eq!(sold(&c), [2, 1, 1, 0, 4]);
    ok(c.apply("invoices", &json!({"changes": [{"op": "delete", "id": 2}]})));
    assert_eq!(sold(&c), [2, 1, 0, 0, 0]);
}

#[test]
fn funcs_summary_and_group_by() {
    let (_server, c) = demo();
    let rows = |params: Value| ok(c.open("tracks", &params))["rows"].clone();
    let r = rows(json!({"fields": ["id", "milliseconds", "bytes", "name"],
        "funcs": {"id": "count", "milliseconds": "max", "bytes": "count", "name": "min"}}));
    assert_eq!(r, json!([[5, 342562, 0, "Balls to the Wall"]]));
    let r = rows(
        json!({"fields": ["unitprice", "milliseconds"], "funcs": {"unitprice": "sum", "milliseconds": "avg"}}),
    );
    assert!((r[0][0].as_f64().unwrap() - 5.95).abs() < 1e-9, "{r}");
    assert!((r[0][1].as_f64().unwrap() - 257723.5).abs() < 1e-9, "{r}");
    // summary: the first column is COUNT(*), with the filters applied.
    let r = rows(
        json!({"summary": true, "fields": ["id", "unitprice"], "funcs": {"unitprice": "max"},
        "filters": [["album", "in", [3, 4]]]}),
    );
    assert_eq!(r, json!([[3, 1.99]]));
    // group_by, ordered by the group or by the aggregate, with the lookup text when expanded.
    let r = rows(
        json!({"fields": ["album", "id"], "funcs": {"id": "count"}, "group_by": ["album"], "order": ["album"]}),
    );
    assert_eq!(r, json!([[1, 1], [2, 1], [3, 2], [4, 1]]));
    let r = rows(
        json!({"fields": ["album", "id"], "funcs": {"id": "count"}, "group_by": ["album"],
        "order": [["id", true], ["album", false]], "expanded": true}),
    );
    assert_eq!(r[0], json!([3, 2, "Restless and Wild"]), "{r}");
    assert_eq!(r.as_array().unwrap().len(), 4);
    // Only count/sum/min/max/avg, on fields that suit them; reference §7.2.
    for (funcs, field) in [
        (json!({"id": "(SELECT 1)+"}), "funcs.id"),
        (
            json!({"id": "(SELECT COUNT(*) FROM demo_customers) +"}),
            "funcs.id",
        ),
        (json!({"id": "median"}), "funcs.id"),
        (json!({"id": 1}), "funcs.id"),
        (json!({"name": "sum"}), "funcs.name"),
        (json!({"nope": "count"}), "funcs.nope"),
    ] {
        bad(
            &c,
            "tracks",
            json!({"fields": ["id"], "funcs": funcs}),
            field,
        );
    }
    bad(
        &c,
        "tracks",
        json!({"fields": ["album", "name"], "funcs": {"name": "max"}, "group_by": ["album", "tracks_sold"]}),
        "group_by[1]",
    );
    bad(
        &c,
        "tracks",
        json!({"fields": ["album", "name"], "group_by": ["album"]}),
        "fields",
    );
}

#[test]
fn search_matches_every_word_case_insensitively() {
    let (_server, c) = demo();
    for (search, expected) in [
        (json!({"field": "name", "text": "the"}), vec![1, 2]),
        (json!({"field": "name", "text": "WALL the"}), vec![2]),
        (json!(["name", "shark"]), vec![3]),
        (json!({"field": "album", "text": "big"}), vec![5]),
        (json!({"field": "name", "text": "  "}), vec![1, 2, 3, 4, 5]),
    ] {
        assert_eq!(
            ids(&c, "tracks", json!({"search": search})),
            expected,
            "{search}"
        );
    }
    let customers = |text: &str| ids(&c, "customers", json!({"search": ["lastname", text]}));
    assert_eq!(customers("KÖHLER"), [2]);
    assert_eq!(customers("gonç"), [1]);
    bad(
        &c,
        "tracks",
        json!({"search": {"field": "nope", "text": "x"}}),
        "search",
    );
    bad(&c, "tracks", json!({"search": 5}), "search");
}

#[test]
fn details_open_only_with_their_master() {
    let (_server, c) = demo();
    let lines = |master: Value| ids(&c, "invoice_table", json!({"master": master}));
    assert_eq!(lines(json!({"item": "invoices", "id": 1})), [1, 2]);
    assert_eq!(lines(json!(1)), [1, 2]);
    assert_eq!(lines(json!({"id": 2})), [3, 4]);
    bad(&c, "invoice_table", json!({}), "master");
    bad(&c, "invoice_table", json!({"master": null}), "master");
    bad(&c, "invoice_table", json!({"master": "1"}), "master.id");
    bad(
        &c,
        "invoice_table",
        json!({"master": {"item": "invoices", "id": "1 OR 1=1"}}),
        "master.id",
    );
    bad(
        &c,
        "invoice_table",
        json!({"master": {"item": "tracks", "id": 1}}),
        "master.item",
    );
    bad(&c, "tracks", json!({"master": 1}), "master");
    // A master that does not exist, or is deleted (invoice 3), has no lines to show.
    for id in [3, 99] {
        let reply = c.open("invoice_table", &json!({"master": id}));
        assert_error(&reply, 404, "not_found");
    }
}

#[test]
fn details_linked_by_a_master_field() {
    let server = TestServer::template("notes");
    let c = server.client();
    let changes = json!({"changes": [
        {"op": "insert", "values": {"title": "a"}, "details": {"checklist": [
            {"op": "insert", "values": {"text": "one"}}, {"op": "insert", "values": {"text": "two"}}]}},
        {"op": "insert", "values": {"title": "b"}, "details": {"checklist": [
            {"op": "insert", "values": {"text": "three"}}]}}]});
    ok(c.apply("notes", &changes));
    let under = |note: i64| {
        let r = ok(c.open(
            "checklist",
            &json!({"master": {"item": "notes", "id": note}, "expanded": true}),
        ));
        (ints(&r, "id"), column(&r, "note.text"))
    };
    assert_eq!(under(1), (vec![1, 2], vec![json!("a"), json!("a")]));
    assert_eq!(under(2), (vec![3], vec![json!("b")]));
    assert_eq!(ids(&c, "checklist", json!({"master": 2})), [3]);
    bad(&c, "checklist", json!({}), "master");
    assert_error(
        &c.open("checklist", &json!({"master": 7})),
        404,
        "not_found",
    );
}

/// Soft-deleted rows stay in the table but no open shows them, whatever it asks; the flag is
/// not a field clients can name (reference §7.9).
#[test]
fn soft_deleted_rows_are_never_visible() {
    let (server, c) = demo();
    let flags = server.db_query("SELECT id, deleted FROM demo_tracks ORDER BY id");
    assert_eq!(flags.len(), 6, "track 6 is still stored");
    assert_eq!(flags[5][1], rusqlite::types::Value::Integer(1));
    for params in [
        json!({}),
        json!({"filters": [["id", "eq", 6]]}),
        json!({"filters": [["id", "in", [5, 6]]]}),
        json!({"filters": [["name", "contains", "elevator"]]}),
        json!({"filters": [[[["id", "eq", 6]], [["id", "ge", 1]]]]}),
        json!({"search": ["name", "love"]}),
        json!({"expanded": true, "limit": 1000}),
    ] {
        assert!(!ids(&c, "tracks", params.clone()).contains(&6), "{params}");
    }
    let count = ok(c.open("tracks", &json!({"summary": true, "fields": ["id"]})));
    assert_eq!(count["rows"], json!([[5]]));
    for (params, field) in [
        (json!({"filters": [["deleted", "eq", true]]}), "filters[0]"),
        (json!({"filters": [["deleted", 1, 1]]}), "filters[0]"),
        (json!({"fields": ["id", "deleted"]}), "fields[1]"),
        (json!({"order": ["deleted"]}), "order[0]"),
        (
            json!({"fields": ["id"], "funcs": {"deleted": "max"}}),
            "funcs.deleted",
        ),
        (
            json!({"fields": ["deleted"], "group_by": ["deleted"]}),
            "fields[0]",
        ),
        (json!({"search": ["deleted", "1"]}), "search"),
    ] {
        bad(&c, "tracks", params, field);
    }
    // A deleted invoice and its lines are gone for clients too.
    assert_eq!(ids(&c, "invoices", json!({})), [1, 2]);
    let lines = server.db_query("SELECT id FROM demo_invoice_table WHERE deleted = 1");
    assert_eq!(lines, [[rusqlite::types::Value::Integer(5)]]);
    insert(&c, "genres", &[json!({"name": "Jazz"})]);
    assert_eq!(ids(&c, "genres", json!({})), [1, 2, 3, 4]);
}

/// Issue 19 §2: `total: true` answers the page and the number of rows the filters select in
/// one request, whatever the page, counting only the caller's rows; a page past the end still
/// has its total; with aggregates it is refused (they are counts already).
#[test]
fn a_page_and_its_total_come_in_one_request() {
    let server = TestServer::template("notes");
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    let alice = server.login("alice", common::PASSWORD);
    let bob = server.login("bob", common::PASSWORD);
    let titles: Vec<Value> = (0..7)
        .map(|i| json!({"title": format!("{} note {i}", if i % 2 == 0 { "even" } else { "odd" })}))
        .collect();
    insert(&alice, "notes", &titles);
    insert(&bob, "notes", &[json!({"title": "even bob"})]);

    let page = ok(alice.open(
        "notes",
        &json!({"fields": ["title"], "order": ["id"], "limit": 3, "total": true}),
    ));
    assert_eq!(page["total"], 7);
    assert_eq!(page["fields"], json!(["title"]));
    assert_eq!(page["rows"].as_array().unwrap().len(), 3);
    let filtered = ok(alice.open(
        "notes",
        &json!({"fields": ["title"], "filters": [["title", "startwith", "even"]], "limit": 2, "offset": 2, "total": true}),
    ));
    assert_eq!(filtered["total"], 4);
    assert_eq!(
        column(&filtered, "title"),
        [json!("even note 4"), json!("even note 6")]
    );
    // Past the end: no rows, the same total.
    let past = ok(alice.open("notes", &json!({"limit": 5, "offset": 50, "total": true})));
    assert_eq!(
        (past["rows"].clone(), past["total"].clone()),
        (json!([]), json!(7))
    );
    // Only one's own rows count; nothing at all is 0.
    assert_eq!(ok(bob.open("notes", &json!({"total": true})))["total"], 1);
    assert_eq!(
        ok(bob.open(
            "notes",
            &json!({"filters": [["title", "eq", "none"]], "total": true})
        ))["total"],
        0
    );
    // Without it, no total.
    assert!(
        ok(alice.open("notes", &json!({"limit": 1})))
            .get("total")
            .is_none()
    );
    bad(
        &alice,
        "notes",
        json!({"fields": ["id"], "funcs": {"id": "count"}, "total": true}),
        "total",
    );
}
