//! Attacks through details and aggregates over real HTTP, by a second logged-in user
//! (reference §7.5–7.6): another master's detail rows updated, deleted or re-parented through
//! one's own master; details opened without a master or with another user's; calculated fields
//! over other users' rows. Run on the shop (`common::tenancy`) with the seed's recipe alone,
//! with built-in tenancy, with both, and by organisation; every refused request leaves the
//! whole database as it was. Who sees what under built-in tenancy, and the rules the loader
//! keeps, are in `attacks_tenants.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use common::tenancy::{
    CHANGE, DELETE, Setup, World, assert_only_own_texts, in_setups, seed, unchanged,
};
use common::{Client, assert_error, column, error_fields, ids, ok};
use serde_json::{Value, json};

/// A change of another user's master is refused: by the recipe's check of the stored owner,
/// or, with built-in tenancy, because the row is not found.
#[track_caller]
fn refused_master(w: &World, c: &Client, changes: Value, recipe_message: &str) {
    let before = w.server.db_snapshot();
    let reply = c.apply("notes", &json!({ "changes": changes }));
    if w.setup.recipe_alone() {
        let err = unchanged(w, &before, reply, 400, "module_error");
        assert_eq!(err["message"], json!(recipe_message));
    } else {
        unchanged(w, &before, reply, 404, "not_found");
    }
}

fn detail_rows_of_another_master(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    let (mine, theirs) = (&data[0], &data[1]);
    let (my_note, their_line) = (mine.notes[0], theirs.lines[0][0]);
    let before = w.server.db_snapshot();
    // Through one's own master: every change of a line that is not under it is not found,
    // whatever the setup (the detail link is in the WHERE of every read and write).
    for line in [
        json!({"op": "update", "id": their_line, "values": {"qty": 0}}),
        json!({"op": "update", "id": their_line, "values": {"text": "alice: moved", "note": my_note}}),
        json!({"op": "delete", "id": their_line}),
        json!({"op": "update", "id": mine.lines[1][0], "values": {"qty": 0}}),
    ] {
        let reply = w.alice().apply(
            "notes",
            &json!({"changes": [{"op": "update", "id": my_note, "details": {"lines": [line]}}]}),
        );
        let err = unchanged(&w, &before, reply, 404, "not_found");
        assert_eq!(error_fields(&err), ["changes[0].lines[0]"], "{err}");
    }
    // Through the other user's master.
    refused_master(
        &w,
        w.alice(),
        json!([{"op": "update", "id": theirs.notes[0], "details": {"lines": [
            {"op": "insert", "values": {"text": "alice: planted", "qty": 1}}]}}]),
        CHANGE,
    );
    refused_master(
        &w,
        w.alice(),
        json!([{"op": "update", "id": theirs.notes[0], "details": {"lines": [
            {"op": "update", "id": their_line, "values": {"qty": 0}}]}}]),
        CHANGE,
    );
    refused_master(
        &w,
        w.alice(),
        json!([{"op": "delete", "id": theirs.notes[0]}]),
        DELETE,
    );
    // Nor as an item of its own: a detail changes only through its master.
    for change in [
        json!({"op": "insert", "values": {"text": "alice: loose", "note": theirs.notes[0]}}),
        json!({"op": "update", "id": their_line, "values": {"qty": 0}}),
        json!({"op": "delete", "id": their_line}),
    ] {
        let reply = w.alice().apply("lines", &json!({ "changes": [change] }));
        unchanged(&w, &before, reply, 400, "bad_request");
    }
    // A soft-deleted master of one's own has no details to change.
    ok(w.alice().apply(
        "notes",
        &json!({"changes": [{"op": "delete", "id": mine.notes[1]}]}),
    ));
    let before = w.server.db_snapshot();
    let reply = w.alice().apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": mine.notes[1], "details": {"lines": [
            {"op": "insert", "values": {"text": "alice: under a deleted note"}}]}}]}),
    );
    unchanged(&w, &before, reply, 404, "not_found");
    // Bob's lines are as he made them.
    assert_eq!(
        ids(
            w.bob(),
            "lines",
            json!({"master": {"item": "notes", "id": theirs.notes[0]}})
        ),
        theirs.lines[0]
    );
    if setup.builtin() {
        // A line of bob's under alice's note (planted: no client can write one) is not hers:
        // she does not see it, her note's total does not count it, she cannot change it, and
        // deleting her note leaves it.
        let column = setup.column();
        w.server.db_execute(&format!(
            "INSERT INTO lines (note, text, qty, {column}) VALUES ({my_note}, 'bob: planted', 1000, {})",
            w.tenant(1)
        ));
        let planted = w.server.db_int("SELECT max(id) FROM lines");
        let open = ok(w
            .alice()
            .open("lines", &json!({"master": my_note, "expanded": true})));
        assert_only_own_texts(&w, 0, &open, "lines with a planted one");
        let qty = ok(w.alice().open(
            "notes",
            &json!({"expanded": true, "fields": ["id", "lines_qty"], "filters": [["id", "eq", my_note]]}),
        ));
        assert_eq!(qty["rows"], json!([[my_note, 3]]));
        let before = w.server.db_snapshot();
        let reply = w.alice().apply(
            "notes",
            &json!({"changes": [{"op": "update", "id": my_note, "details": {"lines": [
                {"op": "update", "id": planted, "values": {"qty": 0}}]}}]}),
        );
        unchanged(&w, &before, reply, 404, "not_found");
        ok(w.alice().apply(
            "notes",
            &json!({"changes": [{"op": "delete", "id": my_note}]}),
        ));
        assert_eq!(
            w.server
                .db_int(&format!("SELECT count(*) FROM lines WHERE id = {planted}")),
            1
        );
        assert_eq!(
            w.server.db_int(&format!(
                "SELECT count(*) FROM lines WHERE note = {my_note}"
            )),
            1,
            "alice's own lines went with her note"
        );
    }
}

/// Reference §7.6: a detail open needs its master, and the master must be one the user sees.
/// With the recipe alone, the lines have no `user_id` and the recipe does not filter them; the
/// engine refuses the open because the master is outside the filter the recipe's on_open adds
/// to the notes.
fn detail_opens(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    let (mine, theirs) = (&data[0], &data[1]);
    let lines = |c: &Client, master: Value| c.open("lines", &json!({ "master": master }));
    let err = assert_error(&w.alice().open("lines", &json!({})), 400, "bad_request");
    assert_eq!(error_fields(&err), ["master"]);
    let own = ok(lines(
        w.alice(),
        json!({"item": "notes", "id": mine.notes[0]}),
    ));
    assert_eq!(common::ints(&own, "id"), mine.lines[0]);
    let expanded = ok(w
        .alice()
        .open("lines", &json!({"master": mine.notes[0], "expanded": true})));
    assert_eq!(
        column(&expanded, "contact.text"),
        [json!("alice: contact 1"), Value::Null]
    );
    assert_eq!(column(&expanded, "note.text")[0], json!("alice: note 1"));
    assert_only_own_texts(&w, 0, &expanded, "lines of one's own note");

    for master in [
        json!(theirs.notes[0]),
        json!({"item": "notes", "id": theirs.notes[1]}),
    ] {
        let err = assert_error(&lines(w.alice(), master.clone()), 404, "not_found");
        assert!(!err.to_string().contains("bob:"), "{err}");
        // Counting them is the same open.
        let count = w.alice().open(
            "lines",
            &json!({"master": master, "summary": true, "fields": ["id"]}),
        );
        assert_error(&count, 404, "not_found");
    }
    for master in [
        json!("0 OR 1=1"),
        json!(1.5),
        json!({"item": "contacts", "id": 1}),
        json!({"id": "1"}),
    ] {
        assert_error(&lines(w.alice(), master.clone()), 400, "bad_request");
    }
    assert_error(&lines(w.alice(), json!(999_999)), 404, "not_found");
    // One's own master, with filters naming the other user's lines: nothing.
    assert!(
        ids(
            w.alice(),
            "lines",
            json!({"master": mine.notes[0], "filters": [["id", "in", theirs.lines[0]]]})
        )
        .is_empty()
    );
    ok(w.alice().apply(
        "notes",
        &json!({"changes": [{"op": "delete", "id": mine.notes[1]}]}),
    ));
    assert_error(&lines(w.alice(), json!(mine.notes[1])), 404, "not_found");
    if setup.builtin() {
        // A master nobody owns is nobody's to open.
        let column = setup.column();
        w.server.db_execute(&format!(
            "INSERT INTO notes (title, deleted, {column}) VALUES ('orphan: note', 0, NULL)"
        ));
        let orphan = w.server.db_int("SELECT max(id) FROM notes");
        assert_error(&lines(w.alice(), json!(orphan)), 404, "not_found");
    }
}

/// Reference §7.5: calculated fields aggregate only the rows the user may see. `categories` is
/// shared, and its totals sum the notes and the note lines (a detail, as Jam.py demo's
/// `tracks_sold` sums invoice lines) that use each category: each user's own. With built-in
/// tenancy the sub-select carries the tenant; with the recipe it carries the filters the
/// recipe's `on_open` adds (lines have no `user_id` there: they count through their note), so
/// the totals are each user's own in every setup, and a filter on a total tells nothing.
fn calculated_fields(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    let totals = |c: &Client| {
        ok(c.open(
            "categories",
            &json!({"expanded": true, "fields": ["name", "notes_amount", "notes_count", "lines_qty"], "order": ["id"]}),
        ))["rows"]
            .clone()
    };
    let everyone = json!([["Work", 11.0, 2, 22], ["Home", 22.0, 2, 44]]);
    let none = json!([["Work", 0.0, 0, 0], ["Home", 0.0, 0, 0]]);
    let alice = json!([["Work", 1.0, 1, 2], ["Home", 2.0, 1, 4]]);
    assert_eq!(totals(w.alice()), alice);
    assert_eq!(
        totals(w.bob()),
        json!([["Work", 10.0, 1, 20], ["Home", 20.0, 1, 40]])
    );
    let carol = if setup == Setup::Org {
        alice
    } else {
        none.clone()
    };
    assert_eq!(totals(w.carol()), carol);
    // The administrator sees every tenant under built-in tenancy; the recipe's filter is the
    // project's code and applies to it too (it has no notes of its own).
    let admin = match setup {
        Setup::Builtin | Setup::Org => everyone,
        _ => none,
    };
    assert_eq!(totals(&w.admin), admin);
    // Filtering and sorting by a total is no oracle.
    let found = ids(
        w.alice(),
        "categories",
        json!({"filters": [["notes_amount", "gt", 5]]}),
    );
    assert_eq!(found, Vec::<i64>::new());
    // A note's total of its lines counts its own lines.
    let qty = ok(w.alice().open(
        "notes",
        &json!({"expanded": true, "fields": ["id", "lines_qty"]}),
    ));
    assert_eq!(column(&qty, "lines_qty"), [json!(3), json!(3)]);
    let qty = ok(w.bob().open(
        "notes",
        &json!({"expanded": true, "fields": ["id", "lines_qty"]}),
    ));
    assert_eq!(column(&qty, "lines_qty"), [json!(30), json!(30)]);
    assert_eq!(data[0].notes.len(), 2);
}

in_setups! {
    detail_rows_of_another_master:
        detail_rows_of_another_master_recipe => Recipe,
        detail_rows_of_another_master_builtin => Builtin,
        detail_rows_of_another_master_both => Both,
        detail_rows_of_another_master_org => Org;
    detail_opens:
        detail_opens_recipe => Recipe,
        detail_opens_builtin => Builtin,
        detail_opens_both => Both,
        detail_opens_org => Org;
    calculated_fields:
        calculated_fields_recipe => Recipe,
        calculated_fields_builtin => Builtin,
        calculated_fields_both => Both,
        calculated_fields_org => Org;
}
