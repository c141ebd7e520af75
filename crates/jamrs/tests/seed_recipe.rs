//! The seed's acceptance test (issue 4): Jam.py's multi-tenancy recipe
//! (`how_to_multitenancy.txt`), pasted unchanged as a server module, works over real HTTP with
//! two users. Both of the seed's blocks run: `examples/seed_item` has the first one as
//! `items/notes.py`, `examples/seed_task` the second as `task.py`. Each user sees only their
//! rows through every kind of open; inserts are stamped with the user's id whatever the client
//! sent; changing or deleting the other user's row fails with the recipe's message and changes
//! nothing; a row that does not exist or is soft-deleted fails the change instead of falling
//! back to the client's value (`old_value` comes from the database, reference §3.3); items
//! without `user_id` stay shared.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{Client, TestServer, apply_ids, assert_error, column, ids, insert, ok};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The modules are the seed's code, byte for byte.

/// The seed file, kept in the repository (`examples/seed/`, with its source named there).
fn seed_path() -> PathBuf {
    example_file("seed/how_to_multitenancy.txt")
}

fn example_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(rel)
}

/// The code blocks of the seed: from each `def on_open` line to the last line of the
/// `on_apply` after it (a block is its `def` lines, their indented bodies and the blank lines
/// between them; prose ends it).
fn seed_blocks(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("def on_open") {
            i += 1;
            continue;
        }
        let mut block = Vec::new();
        while i < lines.len()
            && (lines[i].trim().is_empty()
                || lines[i].starts_with(char::is_whitespace)
                || lines[i].starts_with("def "))
        {
            block.push(lines[i]);
            i += 1;
        }
        while block.last().is_some_and(|l| l.trim().is_empty()) {
            block.pop();
        }
        blocks.push(block.join("\n"));
    }
    blocks
}

#[test]
fn the_example_modules_are_the_seeds_blocks_unchanged() {
    let path = seed_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the seed file is missing: looked for {}: {e}",
            path.display()
        )
    });
    let blocks = seed_blocks(&text);
    assert_eq!(blocks.len(), 2, "the seed has two code blocks: {blocks:#?}");
    for (block, module) in blocks
        .iter()
        .zip(["seed_item/items/notes.py", "seed_task/task.py"])
    {
        assert!(
            block.contains("def on_apply(item, delta, params, connection):")
                && block.ends_with("raise Exception('You are not allowed to delete record.')"),
            "the block runs from on_open to the end of on_apply: {block}"
        );
        let file = std::fs::read_to_string(example_file(module)).unwrap();
        assert_eq!(
            file,
            format!("{block}\n"),
            "examples/{module} is not the seed's block unchanged"
        );
    }
    // The two blocks differ (the second checks for a user_id field first).
    assert!(blocks[1].contains("item.field_by_name('user_id')"));
    assert!(!blocks[0].contains("field_by_name"));
}

// ---------------------------------------------------------------------------------------------
// Two users on each example.

const CHANGE: &str = "You are not allowed to change record.";
const DELETE: &str = "You are not allowed to delete record.";

struct Two {
    server: TestServer,
    admin: Client,
    alice: Client,
    bob: Client,
    alice_id: i64,
    bob_id: i64,
}

/// The example with users alice and bob (role `user`) and two shared categories, Work (1) and
/// Home (2), made by the administrator.
fn two_users(example: &str) -> Two {
    let server = TestServer::example(example);
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    let admin = server.client();
    let alice = server.login("alice", common::PASSWORD);
    let bob = server.login("bob", common::PASSWORD);
    let (alice_id, bob_id) = (server.user_id("alice"), server.user_id("bob"));
    assert!(alice_id > 0 && bob_id > 0 && alice_id != bob_id);
    assert_eq!(
        insert(
            &admin,
            "categories",
            &[json!({"name": "Work"}), json!({"name": "Home"})]
        ),
        [1, 2]
    );
    Two {
        server,
        admin,
        alice,
        bob,
        alice_id,
        bob_id,
    }
}

/// Notes: alice's three (claiming bob's id, 0, and nothing) and bob's two (claiming alice's
/// id, and null). Returns (alice's ids, bob's ids).
fn notes(t: &Two) -> (Vec<i64>, Vec<i64>) {
    let alice = insert(
        &t.alice,
        "notes",
        &[
            json!({"title": "alice one", "amount": 1.5, "category": 1, "user_id": t.bob_id}),
            json!({"title": "alice two shared", "amount": 2.5, "category": 1, "user_id": 0}),
            json!({"title": "alice three", "amount": 4.0, "category": 2}),
        ],
    );
    let bob = insert(
        &t.bob,
        "notes",
        &[
            json!({"title": "bob one shared", "amount": 10.0, "category": 1, "user_id": t.alice_id}),
            json!({"title": "bob two", "amount": 20.0, "category": 2, "user_id": null}),
        ],
    );
    (alice, bob)
}

/// `user_id` of each stored row of `table`, by id.
fn owners(server: &TestServer, table: &str) -> Vec<(i64, i64)> {
    server
        .db_query(&format!("SELECT id, user_id FROM {table} ORDER BY id"))
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (rusqlite::types::Value::Integer(id), rusqlite::types::Value::Integer(u)) => (*id, *u),
            other => panic!("{table}: {other:?}"),
        })
        .collect()
}

fn rows(c: &Client, item: &str, params: Value) -> Value {
    ok(c.open(item, &params))["rows"].clone()
}

fn inserts_are_stamped(example: &str) {
    let t = two_users(example);
    let (a, b) = notes(&t);
    let mut expected: Vec<(i64, i64)> = a.iter().map(|id| (*id, t.alice_id)).collect();
    expected.extend(b.iter().map(|id| (*id, t.bob_id)));
    assert_eq!(owners(&t.server, "notes"), expected);
    // The reply carries the stamped value, not the one the client sent.
    let reply = ok(t.alice.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "x", "user_id": t.bob_id}}]}),
    ));
    assert_eq!(
        reply["changes"][0]["values"]["user_id"],
        json!(t.alice_id),
        "{reply}"
    );
}

fn each_user_sees_only_their_rows(example: &str) {
    let t = two_users(example);
    let (a, b) = notes(&t);
    let (alice, bob) = (&t.alice, &t.bob);
    assert_eq!(ids(alice, "notes", json!({})), a);
    assert_eq!(ids(bob, "notes", json!({})), b);
    // The administrator has a user id too: the recipe gives them their own (no) rows.
    assert_eq!(ids(&t.admin, "notes", json!({})), Vec::<i64>::new());

    // Whatever the client asks for, the recipe's filter is ANDed to it.
    for params in [
        json!({"filters": [["user_id", "eq", t.bob_id]]}),
        json!({"filters": [["user_id", "ne", t.alice_id]]}),
        json!({"filters": [["id", "in", b]]}),
        json!({"filters": [[[["id", "eq", b[0]]], [["id", "ge", 1]]]]}),
        json!({"filters": [["title", "contains", "bob"]]}),
        json!({"search": ["title", "bob"]}),
        json!({"order": [["user_id", true]], "offset": 0, "limit": 100}),
    ] {
        let got = ids(alice, "notes", params.clone());
        assert!(got.iter().all(|id| a.contains(id)), "{params}: {got:?}");
    }
    assert_eq!(
        ids(alice, "notes", json!({"search": ["title", "shared"]})),
        [a[1]]
    );
    assert_eq!(
        ids(bob, "notes", json!({"search": ["title", "shared"]})),
        [b[0]]
    );

    // Aggregates count and sum only the user's rows.
    let funcs = json!({"fields": ["id", "amount"], "funcs": {"id": "count", "amount": "sum"}});
    assert_eq!(rows(alice, "notes", funcs.clone()), json!([[3, 8.0]]));
    assert_eq!(rows(bob, "notes", funcs), json!([[2, 30.0]]));
    let summary = json!({"summary": true, "fields": ["id", "amount"], "funcs": {"amount": "max"}});
    assert_eq!(rows(alice, "notes", summary.clone()), json!([[3, 4.0]]));
    assert_eq!(rows(bob, "notes", summary), json!([[2, 20.0]]));
    let group = json!({"fields": ["category", "id"], "funcs": {"id": "count"},
        "group_by": ["category"], "order": ["category"]});
    assert_eq!(rows(alice, "notes", group.clone()), json!([[1, 2], [2, 1]]));
    assert_eq!(rows(bob, "notes", group.clone()), json!([[1, 1], [2, 1]]));
    let mut expanded_group = group;
    expanded_group["expanded"] = json!(true);
    assert_eq!(
        rows(alice, "notes", expanded_group),
        // Expanded, a lookup orders by its text.
        json!([[2, 1, "Home"], [1, 2, "Work"]])
    );

    // Expanded: the user's rows with their lookup texts.
    let open = ok(alice.open(
        "notes",
        &json!({"expanded": true, "fields": ["id", "title", "category"]}),
    ));
    assert_eq!(
        column(&open, "title"),
        [
            json!("alice one"),
            json!("alice two shared"),
            json!("alice three")
        ]
    );
    assert_eq!(column(&open, "category.text")[2], json!("Home"), "{open}");
    let open = ok(bob.open("notes", &json!({"expanded": true})));
    assert_eq!(
        column(&open, "title"),
        [json!("bob one shared"), json!("bob two")]
    );
}

fn changing_another_users_row_fails(example: &str) {
    let t = two_users(example);
    let (a, b) = notes(&t);
    let (alice, bob) = (&t.alice, &t.bob);
    let before = t.server.db_snapshot();
    let refused = |c: &Client, changes: Value, message: &str| {
        let err = assert_error(
            &c.apply("notes", &json!({ "changes": changes })),
            400,
            "module_error",
        );
        assert_eq!(err["message"], json!(message), "{changes}");
        assert_eq!(
            t.server.db_snapshot(),
            before,
            "{changes} changed the database"
        );
    };
    refused(
        alice,
        json!([{"op": "update", "id": b[0], "values": {"title": "mine now"}}]),
        CHANGE,
    );
    // Claiming the row as one's own does not help: old_value is read from the database.
    refused(
        alice,
        json!([{"op": "update", "id": b[0], "values": {"title": "mine now", "user_id": t.alice_id}}]),
        CHANGE,
    );
    refused(alice, json!([{"op": "delete", "id": b[1]}]), DELETE);
    refused(bob, json!([{"op": "delete", "id": a[0]}]), DELETE);
    refused(
        bob,
        json!([{"op": "update", "id": a[2], "values": {"amount": 0}}]),
        CHANGE,
    );
    // One foreign row fails the whole apply: the user's own changes before it are not saved.
    refused(
        alice,
        json!([
            {"op": "update", "id": a[0], "values": {"title": "renamed"}},
            {"op": "insert", "values": {"title": "new"}},
            {"op": "delete", "id": b[0]},
        ]),
        DELETE,
    );
    // Their own rows they change and delete.
    apply_ids(
        alice,
        "notes",
        json!([{"op": "update", "id": a[0], "values": {"title": "renamed"}},
               {"op": "delete", "id": a[1]}]),
    );
    assert_eq!(ids(alice, "notes", json!({})), [a[0], a[2]]);
    assert_eq!(
        rows(
            alice,
            "notes",
            json!({"fields": ["title"], "filters": [["id", "eq", a[0]]]})
        ),
        json!([["renamed"]])
    );
    assert_eq!(ids(bob, "notes", json!({})), b);
}

fn missing_or_deleted_rows_fail(example: &str) {
    let t = two_users(example);
    let (a, b) = notes(&t);
    let (alice, bob) = (&t.alice, &t.bob);
    // Alice deletes her note: it stays, soft-deleted.
    apply_ids(alice, "notes", json!([{"op": "delete", "id": a[2]}]));
    assert_eq!(
        t.server
            .db_int(&format!("SELECT deleted FROM notes WHERE id = {}", a[2])),
        1
    );
    let before = t.server.db_snapshot();
    let not_found = |c: &Client, change: Value| {
        assert_error(
            &c.apply("notes", &json!({ "changes": [change.clone()] })),
            404,
            "not_found",
        );
        assert_eq!(
            t.server.db_snapshot(),
            before,
            "{change} changed the database"
        );
    };
    for c in [alice, bob] {
        for id in [a[2], 9999] {
            // The client's own user_id is no stand-in for the stored one.
            not_found(
                c,
                json!({"op": "update", "id": id, "values": {"title": "back", "user_id": t.alice_id}}),
            );
            not_found(
                c,
                json!({"op": "update", "id": id, "values": {"title": "back", "user_id": t.bob_id}}),
            );
            not_found(c, json!({"op": "delete", "id": id}));
        }
    }
    // Nor can the flag be sent to undelete the row.
    let reply = alice.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": a[2], "values": {"deleted": 0}}]}),
    );
    assert!(reply.0 >= 400, "{reply:?}");
    assert_eq!(t.server.db_snapshot(), before);
    assert_eq!(ids(alice, "notes", json!({})), [a[0], a[1]]);
    assert_eq!(ids(bob, "notes", json!({})), b);
}

fn items_without_user_id_are_shared(example: &str) {
    let t = two_users(example);
    notes(&t);
    let (alice, bob) = (&t.alice, &t.bob);
    assert_eq!(ids(alice, "categories", json!({})), [1, 2]);
    assert_eq!(ids(bob, "categories", json!({})), [1, 2]);
    let [mine] = insert(alice, "categories", &[json!({"name": "Alice's"})])[..] else {
        panic!()
    };
    assert_eq!(ids(bob, "categories", json!({})), [1, 2, mine]);
    apply_ids(
        bob,
        "categories",
        json!([{"op": "update", "id": mine, "values": {"name": "Renamed by Bob"}},
               {"op": "update", "id": 1, "values": {"name": "Office"}}]),
    );
    assert_eq!(
        rows(
            alice,
            "categories",
            json!({"fields": ["name"], "order": ["id"]})
        ),
        json!([["Office"], ["Home"], ["Renamed by Bob"]])
    );
    // Delete integrity counts only what the deleting user could open: alice's note in
    // category 2 holds it (one record, not bob's too); once hers has moved, bob's, which she
    // cannot see, neither holds the category nor is told about.
    let delete = json!({"changes": [{"op": "delete", "id": 2}]});
    let (status, body) = alice.apply("categories", &delete);
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("1 record of \"notes\""), "{message}");
    let hers = ids(alice, "notes", json!({"filters": [["category", "eq", 2]]}));
    assert_eq!(hers.len(), 1);
    apply_ids(
        alice,
        "notes",
        json!([{"op": "update", "id": hers[0], "values": {"category": 1}}]),
    );
    ok(alice.apply("categories", &delete));
    assert_eq!(ids(bob, "categories", json!({})), [1, mine]);
    // The lookup text of a shared row shows in both users' notes.
    for c in [alice, bob] {
        let open = ok(c.open(
            "notes",
            &json!({"expanded": true, "fields": ["id", "category"], "filters": [["category", "eq", 1]]}),
        ));
        let texts = column(&open, "category.text");
        assert!(
            !texts.is_empty() && texts.iter().all(|t| t == "Office"),
            "{open}"
        );
    }
}

/// The task module's recipe covers every item with a `user_id` field: contacts as well as
/// notes, with a lookup from one to the other.
#[test]
fn task_module_covers_every_item_with_user_id() {
    let t = two_users("seed_task");
    let (alice, bob) = (&t.alice, &t.bob);
    let ann = insert(
        alice,
        "contacts",
        &[json!({"name": "Ann", "user_id": t.bob_id})],
    );
    let ben = insert(bob, "contacts", &[json!({"name": "Ben", "user_id": 0})]);
    assert_eq!(
        owners(&t.server, "contacts"),
        [(ann[0], t.alice_id), (ben[0], t.bob_id)]
    );
    assert_eq!(ids(alice, "contacts", json!({})), ann);
    assert!(ids(bob, "contacts", json!({"filters": [["name", "eq", "Ann"]]})).is_empty());
    insert(
        alice,
        "notes",
        &[json!({"title": "call Ann", "contact": ann[0]})],
    );
    insert(
        bob,
        "notes",
        &[json!({"title": "call Ben", "contact": ben[0]})],
    );
    for (c, title, name) in [(alice, "call Ann", "Ann"), (bob, "call Ben", "Ben")] {
        let open = ok(c.open(
            "notes",
            &json!({"expanded": true, "fields": ["title", "contact"]}),
        ));
        assert_eq!(column(&open, "title"), [json!(title)]);
        assert_eq!(column(&open, "contact.text"), [json!(name)]);
    }
    let before = t.server.db_snapshot();
    for (change, message) in [
        (
            json!({"op": "update", "id": ann[0], "values": {"email": "x@example.com"}}),
            CHANGE,
        ),
        (json!({"op": "delete", "id": ann[0]}), DELETE),
    ] {
        let err = assert_error(
            &bob.apply("contacts", &json!({ "changes": [change] })),
            400,
            "module_error",
        );
        assert_eq!(err["message"], json!(message));
    }
    assert_eq!(t.server.db_snapshot(), before);
}

macro_rules! on_both_examples {
    ($($scenario:ident => $item_test:ident, $task_test:ident;)*) => {
        $(
            #[test]
            fn $item_test() {
                $scenario("seed_item");
            }

            #[test]
            fn $task_test() {
                $scenario("seed_task");
            }
        )*
    };
}

on_both_examples! {
    inserts_are_stamped => item_module_stamps_inserts, task_module_stamps_inserts;
    each_user_sees_only_their_rows => item_module_each_user_sees_own_rows, task_module_each_user_sees_own_rows;
    changing_another_users_row_fails => item_module_refuses_other_users_rows, task_module_refuses_other_users_rows;
    missing_or_deleted_rows_fail => item_module_missing_rows_are_not_found, task_module_missing_rows_are_not_found;
    items_without_user_id_are_shared => item_module_leaves_shared_items_alone, task_module_leaves_shared_items_alone;
}
