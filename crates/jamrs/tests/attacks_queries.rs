//! Queries and lookups aimed at other users' rows over real HTTP, by a second logged-in user
//! (reference §7.1–7.2, 7.5, 7.9): lookups to another user's rows (written, or planted behind
//! the server's back) and the filters that search their texts, the deleted flag and prohibited
//! fields, injections meant to cancel the tenant filter, and aggregates. Each runs against every
//! way a project keeps users apart (`common::tenancy::Setup`); every refused request leaves the
//! whole database as it was.
//!
//! Where the recipe alone is weaker than built-in tenancy (a lookup can point at another user's
//! row and show its text), the test asserts what happens rather than hiding it;
//! `docs/security.md` lists these limits.

#![allow(clippy::unwrap_used)]

mod common;

use common::tenancy::{Setup, World, assert_only_own_texts, in_setups, seed, unchanged};
use common::{Client, assert_error, column, error_fields, ids, ok};
use serde_json::{Value, json};

fn rows(c: &Client, item: &str, params: Value) -> Value {
    ok(c.open(item, &params))["rows"].clone()
}

/// Reference §7.5: a lookup value that points at another user's row. Built-in tenancy refuses
/// to write it (validation, as for a row that does not exist), and a reference planted behind
/// the server's back shows no text and cannot be found by lookup-text filters (types 16–30,
/// LIKE filters on a lookup field, search, grouping, ordering). The recipe alone checks
/// nothing of the kind: the value is saved and the other user's text is shown.
fn lookups_to_another_users_rows(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    let (alice, bob) = (&data[0], &data[1]);
    let theirs = bob.contacts[0];
    let writes = [
        json!([{"op": "insert", "values": {"title": "alice: pointing", "contact": theirs}}]),
        json!([{"op": "update", "id": alice.notes[1], "values": {"contact": theirs}}]),
    ];
    for changes in writes.iter() {
        let before = w.server.db_snapshot();
        let reply = w
            .alice()
            .apply("notes", &json!({ "changes": changes.clone() }));
        // Built-in tenancy hides the row; with the recipe alone the contact is outside the
        // filter the recipe's on_open adds, which a client's lookup value must pass too.
        let err = unchanged(&w, &before, reply, 422, "validation");
        assert!(error_fields(&err)[0].ends_with(".contact"), "{err}");
        assert!(!err.to_string().contains("bob:"), "{err}");
    }
    if setup.shop() {
        // A detail row's lookup, written through the user's own note.
        let change = json!([{"op": "update", "id": alice.notes[0], "details": {"lines": [
            {"op": "insert", "values": {"text": "alice: line", "contact": theirs}}]}}]);
        let before = w.server.db_snapshot();
        let reply = w.alice().apply("notes", &json!({ "changes": change }));
        let err = unchanged(&w, &before, reply, 422, "validation");
        assert_eq!(error_fields(&err), ["changes[0].lines[0].contact"]);
    }

    // Plant the reference directly (as server code or SQL could): alice's second note looks up
    // bob's contact.
    w.server.db_execute(&format!(
        "UPDATE notes SET contact = {theirs} WHERE id = {}",
        alice.notes[1]
    ));
    let expanded = ok(w.alice().open(
        "notes",
        &json!({"expanded": true, "filters": [["id", "eq", alice.notes[1]]]}),
    ));
    let text = column(&expanded, "contact.text")[0].clone();
    let by_text = |filter: Value| ids(w.alice(), "notes", json!({"filters": [filter]}));
    if setup.recipe_alone() {
        assert_eq!(text, json!("bob: contact 1"), "the recipe alone shows it");
        assert!(by_text(json!(["contact", "contains", "bob"])).contains(&alice.notes[1]));
        return;
    }
    assert_eq!(text, Value::Null, "{expanded}");
    if setup.shop() {
        assert_eq!(column(&expanded, "contact_email.text")[0], Value::Null);
    }
    assert_only_own_texts(&w, 0, &expanded, "expanded open");
    for filter in [
        json!(["contact", "contains", "bob"]),
        json!(["contact", "eq_l", "bob: contact 1"]),
        json!(["contact", "startwith_l", "bob"]),
        json!(["contact", "contains_l", "contact"]),
        json!(["contact", 16, "bob: contact 1"]),
        json!(["contact", "in_l", ["bob: contact 1"]]),
        json!(["contact", "ge_l", "a"]),
        json!(["contact", "range_l", ["a", "z"]]),
        json!(["contact", "isnull_l", false]),
    ] {
        let found = by_text(filter.clone());
        assert!(
            !found.contains(&alice.notes[1]),
            "{filter} finds the note by bob's text: {found:?}"
        );
    }
    assert!(
        ids(w.alice(), "notes", json!({"search": ["contact", "bob"]})).is_empty(),
        "search"
    );
    for params in [
        json!({"fields": ["contact", "id"], "funcs": {"id": "count"}, "group_by": ["contact"], "expanded": true}),
        json!({"expanded": true, "order": ["contact"], "fields": ["id", "contact", "title"]}),
        json!({"expanded": true, "fields": ["contact_email", "contact"]}),
    ] {
        if !setup.shop() && params.to_string().contains("contact_email") {
            continue;
        }
        let reply = ok(w.alice().open("notes", &params));
        assert_only_own_texts(&w, 0, &reply, &params.to_string());
    }
}

/// Reference §7.9: the soft-delete flag does not exist for clients (so another user's deleted
/// rows cannot be found by filtering on it, nor undeleted), and a field prohibited for the role
/// is refused in every open parameter and every write, and never sent.
fn deleted_flag_and_prohibited_fields(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    ok(w.bob().apply(
        "notes",
        &json!({"changes": [{"op": "delete", "id": data[1].notes[1]}]}),
    ));
    let mut cases = vec![("deleted", 400, "bad_request")];
    if setup.shop() {
        w.server
            .db_execute("UPDATE notes SET secret = 'bob: secret' WHERE title LIKE 'bob:%'");
        cases.push(("secret", 403, "forbidden"));
    }
    let before = w.server.db_snapshot();
    for (field, status, code) in cases {
        for params in [
            json!({"filters": [[field, "eq", 1]]}),
            json!({"filters": [[field, 1, true]]}),
            json!({"filters": [[field, "isnull", false]]}),
            json!({"filters": [[[["id", "ge", 0]], [[field, "eq", 1]]]]}),
            json!({"fields": ["id", field]}),
            json!({"order": [field]}),
            json!({"order": [[field, true]]}),
            json!({"fields": ["id"], "funcs": {field: "max"}}),
            json!({"fields": [field, "id"], "funcs": {"id": "count"}, "group_by": [field]}),
            json!({"search": [field, "1"]}),
        ] {
            let err = assert_error(&w.alice().open("notes", &params), status, code);
            assert!(!err.to_string().contains("bob:"), "{err}");
        }
        for change in [
            json!({"op": "update", "id": data[0].notes[0], "values": {field: false}}),
            json!({"op": "insert", "values": {"title": "alice: x", field: false}}),
        ] {
            assert_error(
                &w.alice().apply("notes", &json!({ "changes": [change] })),
                status,
                code,
            );
        }
    }
    assert_eq!(w.server.db_snapshot(), before);
    for c in [w.alice(), w.bob()] {
        for params in [json!({}), json!({"expanded": true})] {
            let reply = ok(c.open("notes", &params));
            let fields = reply["fields"].to_string();
            assert!(
                !fields.contains("deleted") && !fields.contains("secret"),
                "{reply}"
            );
            assert!(!reply.to_string().contains("bob: secret"), "{reply}");
        }
    }
    assert_eq!(ids(w.bob(), "notes", json!({})), [data[1].notes[0]]);
}

/// Reference §7.1–7.2: what cancelled an `on_open` tenant filter in Jam.py (IN lists,
/// `__funcs`, order, group_by) is refused or matches nothing, and only the user's rows come
/// back.
fn injections_cannot_cancel_the_tenant_filter(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    let mine = data[0].notes.clone();
    let column = setup.column();
    let before = w.server.db_snapshot();
    let alice = w.alice();
    // Values are bound: injections are text that matches nothing, or a type error.
    for filter in [
        json!(["title", "in", ["0) OR 1=1 --"]]),
        json!(["title", 7, ["x') OR ('1'='1"]]),
        json!(["title", "eq", "x' OR '1'='1"]),
        json!(["title", "startwith", "' OR 1=1 --"]),
        json!(["category", 22, ["0) OR 1=1 --"]]),
    ] {
        assert!(
            ids(alice, "notes", json!({"filters": [filter]})).is_empty(),
            "{filter}"
        );
    }
    for filter in [
        json!(["title", "not_in", ["0) OR 1=1 --"]]),
        json!(["title", "contains", "%"]),
        json!(["title", "contains", "_"]),
        json!([[["id", "ge", 0]], [[column, "eq", w.tenant(1)]]]),
        json!([
            [["title", "contains", "bob"]],
            [["id", "in", data[1].notes]]
        ]),
        json!([column, "ne", w.tenant(0)]),
        json!([column, "in", [w.tenant(1)]]),
    ] {
        let got = ids(alice, "notes", json!({"filters": [filter]}));
        assert!(got.iter().all(|id| mine.contains(id)), "{filter}: {got:?}");
    }
    for filter in [
        json!(["id", "in", ["0) OR 1=1 --"]]),
        json!(["id", 7, ["1) OR (1=1"]]),
        json!(["id", "eq", "0 OR 1=1"]),
        json!([column, "eq", "0 OR 1=1"]),
    ] {
        let err = assert_error(
            &alice.open("notes", &json!({"filters": [filter]})),
            400,
            "bad_request",
        );
        assert_eq!(error_fields(&err), ["filters[0]"], "{filter}");
    }
    for params in [
        json!({"fields": ["id"], "funcs": {"id": "(SELECT COUNT(*) FROM notes) +"}}),
        json!({"fields": ["amount"], "funcs": {"amount": "sum(amount) FROM notes --"}}),
        json!({"fields": ["id"], "funcs": {"id) FROM notes --": "count"}}),
        json!({"order": [["title; DROP TABLE notes; --", true]]}),
        json!({"order": ["-title desc"]}),
        json!({"order": [["title", "desc; --"]]}),
        json!({"fields": ["id"], "funcs": {"id": "count"}, "group_by": ["id) --"]}),
        json!({"fields": ["title FROM notes --"]}),
        json!({"search": ["title) OR 1=1 --", "x"]}),
        json!({"limit": "10; DROP TABLE notes"}),
        json!({"offset": -1}),
    ] {
        assert_error(&alice.open("notes", &params), 400, "bad_request");
    }
    assert_eq!(w.server.db_snapshot(), before);
}

/// Counts, sums, summaries and groups see only the user's rows, whatever the grouping.
fn aggregates_count_only_own_rows(setup: Setup) {
    let w = World::new(setup);
    seed(&w);
    let column = setup.column();
    let count_sum = json!({"fields": ["id", "amount"], "funcs": {"id": "count", "amount": "sum"}});
    assert_eq!(
        rows(w.alice(), "notes", count_sum.clone()),
        json!([[2, 3.0]])
    );
    assert_eq!(
        rows(w.bob(), "notes", count_sum.clone()),
        json!([[2, 30.0]])
    );
    // Carol has no rows (in tenancy by organisation she shares alice's).
    let carol = rows(w.carol(), "notes", count_sum);
    if setup == Setup::Org {
        assert_eq!(carol, json!([[2, 3.0]]));
    } else {
        assert_eq!(carol, json!([[0, null]]));
    }
    let summary = json!({"summary": true, "fields": ["id", "amount"], "funcs": {"amount": "max"}});
    assert_eq!(rows(w.alice(), "notes", summary.clone()), json!([[2, 2.0]]));
    assert_eq!(rows(w.bob(), "notes", summary), json!([[2, 20.0]]));
    let by_tenant =
        json!({"fields": [column, "id"], "funcs": {"id": "count"}, "group_by": [column]});
    assert_eq!(
        rows(w.alice(), "notes", by_tenant.clone()),
        json!([[w.tenant(0), 2]])
    );
    assert_eq!(rows(w.bob(), "notes", by_tenant), json!([[w.tenant(1), 2]]));
    let by_category = json!({"fields": ["category", "amount"], "funcs": {"amount": "sum"},
        "group_by": ["category"], "order": ["category"], "expanded": true});
    let reply = ok(w.alice().open("notes", &by_category));
    // Expanded, a lookup orders by its text.
    assert_eq!(reply["rows"], json!([[2, 2.0, "Home"], [1, 1.0, "Work"]]));
    if setup.has_contacts() {
        let by_contact = json!({"fields": ["contact", "id"], "funcs": {"id": "count"},
            "group_by": ["contact"], "expanded": true});
        let reply = ok(w.alice().open("notes", &by_contact));
        assert_only_own_texts(&w, 0, &reply, "group by contact");
        assert_eq!(
            rows(
                w.alice(),
                "contacts",
                json!({"summary": true, "fields": ["id"]})
            ),
            json!([[2]])
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The matrix: each scenario on each setup it applies to.

in_setups! {
    lookups_to_another_users_rows:
        lookups_to_another_users_rows_seed_task => SeedTask,
        lookups_to_another_users_rows_recipe => Recipe,
        lookups_to_another_users_rows_builtin => Builtin,
        lookups_to_another_users_rows_both => Both,
        lookups_to_another_users_rows_org => Org;
    deleted_flag_and_prohibited_fields:
        deleted_flag_and_prohibited_fields_seed_item => SeedItem,
        deleted_flag_and_prohibited_fields_seed_task => SeedTask,
        deleted_flag_and_prohibited_fields_recipe => Recipe,
        deleted_flag_and_prohibited_fields_builtin => Builtin,
        deleted_flag_and_prohibited_fields_both => Both,
        deleted_flag_and_prohibited_fields_org => Org;
    injections_cannot_cancel_the_tenant_filter:
        injections_seed_item => SeedItem,
        injections_seed_task => SeedTask,
        injections_recipe => Recipe,
        injections_builtin => Builtin,
        injections_both => Both,
        injections_org => Org;
    aggregates_count_only_own_rows:
        aggregates_seed_item => SeedItem,
        aggregates_seed_task => SeedTask,
        aggregates_recipe => Recipe,
        aggregates_builtin => Builtin,
        aggregates_both => Both,
        aggregates_org => Org;
}
