//! Record locking (`edit_lock`): rows carry a record version; an update or delete that names an
//! older version is refused with 409 `conflict` naming the record, and nothing of the apply is
//! saved. Every update raises the version (also one made without naming it, by server code or
//! a detail change).

#![allow(clippy::unwrap_used)]

mod common;

use common::office::Office;
use common::{assert_error, column, error_fields, ok};
use serde_json::json;

fn version(o: &Office, item: &str, id: i64) -> i64 {
    o.server.db_int(&format!(
        "SELECT record_version FROM {item} WHERE id = {id}"
    ))
}

/// An insert starts at version 1, which opens and apply results show; each update raises it.
#[test]
fn the_version_starts_at_one_and_every_update_raises_it() {
    let o = Office::new();
    let (status, body) = o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "insert", "values": {"name": "Ann", "record_version": 40}}]}),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["changes"][0]["id"].as_i64().unwrap();
    assert_eq!(body["changes"][0]["values"]["record_version"], json!(1));
    let open = ok(o
        .alice
        .open("customers", &json!({"fields": ["id", "record_version"]})));
    assert_eq!(column(&open, "record_version"), [json!(1)]);
    let body = ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": id, "values": {"name": "Anne", "record_version": 1}}]}),
    ));
    assert_eq!(body["changes"][0]["values"]["record_version"], json!(2));
    // Without naming a version (server code, a client that does not care): raised all the same.
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": id, "values": {"name": "Annie"}}]}),
    ));
    assert_eq!(version(&o, "customers", id), 3);
}

/// Two people open version 1; the first saves (version 2); the second's update, which names
/// version 1, is refused with a 409 naming the record and its version field, and nothing of
/// that apply is saved (not the other change in it either).
#[test]
fn an_update_of_an_older_version_is_refused_and_nothing_is_saved() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let ben = o.insert(&o.alice, "customers", json!({"name": "Ben"}));
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "first", "record_version": 1}}]}),
    ));
    let before = o.server.db_snapshot();
    let err = assert_error(
        &o.alice.apply(
            "customers",
            &json!({"changes": [
                {"op": "update", "id": ben, "values": {"name": "Ben 2", "record_version": 1}},
                {"op": "update", "id": ann, "values": {"name": "second", "record_version": 1}}
            ]}),
        ),
        409,
        "conflict",
    );
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("customers {ann}"))
            && message.contains("changed by someone else"),
        "{message}"
    );
    assert_eq!(error_fields(&err), ["changes[1].record_version"]);
    assert_eq!(o.server.db_snapshot(), before);
}

/// A delete that names an older version is refused the same way; one that names the stored
/// version, or none, deletes.
#[test]
fn a_delete_of_an_older_version_is_refused() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "x"}}]}),
    ));
    let before = o.server.db_snapshot();
    let err = assert_error(
        &o.alice.apply(
            "customers",
            &json!({"changes": [{"op": "delete", "id": ann, "values": {"record_version": 1}}]}),
        ),
        409,
        "conflict",
    );
    assert_eq!(error_fields(&err), ["changes[0].record_version"]);
    assert_eq!(o.server.db_snapshot(), before);
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "delete", "id": ann, "values": {"record_version": 2}}]}),
    ));
    assert_eq!(o.count("customers", "1=1"), 0);
}

/// A delete takes nothing but the version in its values; a version that is not a whole
/// number is a 400-class error naming the field, and changes nothing.
#[test]
fn bad_versions_are_clear_errors() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let before = o.server.db_snapshot();
    for (change, status, code, field) in [
        (
            json!({"op": "delete", "id": ann, "values": {"name": "x"}}),
            400,
            "bad_request",
            "changes[0]",
        ),
        (
            json!({"op": "update", "id": ann, "values": {"record_version": "one"}}),
            422,
            "validation",
            "changes[0].record_version",
        ),
        (
            json!({"op": "update", "id": ann, "values": {"record_version": 1.5}}),
            422,
            "validation",
            "changes[0].record_version",
        ),
    ] {
        let reply = o.alice.apply("customers", &json!({ "changes": [change] }));
        let err = assert_error(&reply, status, code);
        assert_eq!(error_fields(&err), [field], "{err}");
        assert_eq!(o.server.db_snapshot(), before);
    }
}

/// A change to a master's details alone raises the master's version too, so two people
/// editing the lines of one invoice meet the lock.
#[test]
fn a_detail_change_raises_the_masters_version() {
    let o = Office::new();
    let inv = o.insert_with(
        &o.alice,
        "invoices",
        json!({"number": "1"}),
        json!({"lines": [{"op": "insert", "values": {"qty": 1}}]}),
    );
    let change = |v: i64| {
        json!({"changes": [{"op": "update", "id": inv, "values": {"record_version": v},
            "details": {"lines": [{"op": "insert", "values": {"qty": 2}}]}}]})
    };
    ok(o.alice.apply("invoices", &change(1)));
    assert_eq!(version(&o, "invoices", inv), 2);
    let before = o.server.db_snapshot();
    assert_error(&o.alice.apply("invoices", &change(1)), 409, "conflict");
    assert_eq!(o.server.db_snapshot(), before);
}

/// Another tenant's record is not found, whatever version is named (the lock tells nothing
/// about rows the caller cannot open); a reader cannot change a version; and the version is
/// not writable by anyone.
#[test]
fn versions_of_other_tenants_and_roles() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let before = o.server.db_snapshot();
    for v in [1, 2] {
        let reply = o.bob.apply(
            "customers",
            &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "bob", "record_version": v}}]}),
        );
        assert_error(&reply, 404, "not_found");
        let reply = o.bob.apply(
            "customers",
            &json!({"changes": [{"op": "delete", "id": ann, "values": {"record_version": v}}]}),
        );
        assert_error(&reply, 404, "not_found");
    }
    let reply = o.carol.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "c", "record_version": 1}}]}),
    );
    assert_error(&reply, 403, "forbidden");
    assert_eq!(o.server.db_snapshot(), before);
    // Naming a version far ahead does not set it.
    assert_error(
        &o.alice.apply(
            "customers",
            &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "x", "record_version": 99}}]}),
        ),
        409,
        "conflict",
    );
    assert_eq!(version(&o, "customers", ann), 1);
}

/// `edit_lock` and `record_version` are checked when the project loads.
#[test]
fn edit_lock_is_checked_at_load() {
    for (customers, expected) in [
        (
            "record_version = \"rv\"\n[[fields]]\nname = \"name\"\ntype = \"text\"\nsize = 10\n",
            "record_version is set but edit_lock is not true",
        ),
        (
            "edit_lock = true\nrecord_version = \"rv\"\n[[fields]]\nname = \"rv\"\ntype = \"text\"\nsize = 10\n",
            "record version \"rv\" must be a stored integer field",
        ),
    ] {
        let text = format!("{customers}\n[[fields]]\nname = \"user_id\"\ntype = \"integer\"\n");
        let files = common::office::files(&[("items/customers.toml", &text)]);
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in &files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let err = jamrs_core::project::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("items/customers.toml") && err.contains(expected),
            "{expected}: {err}"
        );
    }
}
