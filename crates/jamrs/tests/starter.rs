//! The starter project `jamrs new` creates keeps what its docs promise: each user sees and
//! changes only their own notes, categories and checklists (issue 12 §10).

#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, TestServer, apply_ids, assert_error, ids, ok};
use serde_json::json;

#[test]
fn in_the_starter_each_user_sees_and_changes_only_their_own_notes() {
    let server = TestServer::template("notes");
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    let alice = server.login("alice", PASSWORD);
    let bob = server.login("bob", PASSWORD);

    let cat = apply_ids(
        &alice,
        "categories",
        json!([{"op": "insert", "values": {"name": "Mine"}}]),
    )[0];
    let note = ok(alice.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "alice's plan", "category": cat},
            "details": {"checklist": [{"op": "insert", "values": {"text": "call Anna"}}]}}]}),
    ))["changes"][0]["id"]
        .as_i64()
        .unwrap();
    let before = server.db_snapshot();

    // Bob sees none of it, through any open.
    assert_eq!(ids(&bob, "notes", json!({})), Vec::<i64>::new());
    assert_eq!(ids(&bob, "categories", json!({})), Vec::<i64>::new());
    assert_eq!(
        ok(bob.open(
            "notes",
            &json!({"fields": ["id"], "funcs": {"id": "count"}})
        ))["rows"],
        json!([[0]])
    );
    assert_error(
        &bob.open("checklist", &json!({"master": note})),
        404,
        "not_found",
    );
    // ... and can change none of it.
    assert_error(
        &bob.apply(
            "notes",
            &json!({"changes": [{"op": "update", "id": note, "values": {"title": "mine now"}}]}),
        ),
        404,
        "not_found",
    );
    assert_error(
        &bob.apply("notes", &json!({"changes": [{"op": "delete", "id": note}]})),
        404,
        "not_found",
    );
    // Nor point his own note at her category.
    assert_error(
        &bob.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "b", "category": cat}}]}),
        ),
        422,
        "validation",
    );
    assert_eq!(
        server.db_snapshot(),
        before,
        "a refused request changed nothing"
    );

    // Alice still sees hers; the administrator sees everyone's.
    assert_eq!(ids(&alice, "notes", json!({})), [note]);
    assert_eq!(ids(&server.client(), "notes", json!({})), [note]);
}
