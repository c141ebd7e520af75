//! Delete integrity: a record that lookup fields of other items still point at is not deleted
//! (409 naming the item and how many records refer to it), unless the lookup says
//! `on_delete = "set_null"` or `"cascade"`, which the engine then does in the same transaction.
//! Counts and changes stay in the caller's tenant; soft-deleted referrers do not hold a
//! record.

#![allow(clippy::unwrap_used)]

mod common;

use common::office::Office;
use common::{assert_error, error_fields, ok};
use serde_json::json;

fn delete(_o: &Office, c: &common::Client, item: &str, id: i64) -> (u16, serde_json::Value) {
    c.apply(item, &json!({"changes": [{"op": "delete", "id": id}]}))
}

/// The default, restrict: a customer an invoice refers to is not deleted; the 409 names the
/// referring item, its field and how many of its records refer, and nothing changes (neither
/// the customer, nor the set_null and cascade referrers handled before the refusal).
#[test]
fn a_referenced_record_is_not_deleted() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    o.insert(
        &o.alice,
        "invoices",
        json!({"number": "1", "customer": ann}),
    );
    o.insert(
        &o.alice,
        "invoices",
        json!({"number": "2", "customer": ann}),
    );
    o.insert(&o.alice, "notes", json!({"text": "n", "customer": ann}));
    o.insert(&o.alice, "visits", json!({"place": "v", "customer": ann}));
    let before = o.server.db_snapshot();
    let err = assert_error(&delete(&o, &o.alice, "customers", ann), 409, "conflict");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("customers {ann}"))
            && message.contains("2 records of \"invoices\"")
            && message.contains("\"customer\""),
        "{message}"
    );
    assert_eq!(error_fields(&err), ["changes[0]"]);
    assert_eq!(o.server.db_snapshot(), before);
}

/// Soft-deleted referrers do not hold a record: once the invoices are deleted (they keep
/// their rows, flagged), the customer can go.
#[test]
fn soft_deleted_referrers_do_not_block() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let inv = o.insert(
        &o.alice,
        "invoices",
        json!({"number": "1", "customer": ann}),
    );
    assert_error(&delete(&o, &o.alice, "customers", ann), 409, "conflict");
    ok(delete(&o, &o.alice, "invoices", inv));
    assert_eq!(o.count("invoices", "deleted = 1"), 1);
    ok(delete(&o, &o.alice, "customers", ann));
    assert_eq!(o.count("customers", "1=1"), 0);
}

/// set_null empties the lookup of the notes and contacts that pointed at the deleted
/// customer (and only theirs); cascade deletes the visits with their detail stops.
#[test]
fn set_null_and_cascade_run_in_the_delete() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let other = o.insert(&o.alice, "customers", json!({"name": "Other"}));
    let note = o.insert(&o.alice, "notes", json!({"text": "n", "customer": ann}));
    let kept = o.insert(&o.alice, "notes", json!({"text": "k", "customer": other}));
    o.insert(&o.alice, "contacts", json!({"name": "c", "customer": ann}));
    let visit = o.insert_with(
        &o.alice,
        "visits",
        json!({"place": "v", "customer": ann}),
        json!({"stops": [{"op": "insert", "values": {"what": "s1"}}, {"op": "insert", "values": {"what": "s2"}}]}),
    );
    o.insert(&o.alice, "visits", json!({"place": "w", "customer": other}));
    ok(delete(&o, &o.alice, "customers", ann));
    assert_eq!(
        o.server
            .db_query(&format!("SELECT customer FROM notes WHERE id = {note}"))[0][0],
        rusqlite::types::Value::Null
    );
    assert_eq!(
        o.server
            .db_int(&format!("SELECT customer FROM notes WHERE id = {kept}")),
        other
    );
    assert_eq!(o.count("contacts", "customer IS NULL"), 1);
    assert_eq!(o.count("visits", &format!("id = {visit}")), 0);
    assert_eq!(o.count("visits", "1=1"), 1);
    assert_eq!(o.count("stops", "1=1"), 0);
}

/// A cascade whose deleted rows are themselves referred to with restrict is refused as a
/// whole: deleting a product that lines use is refused, and so is a customer whose cascade
/// reaches a row another item holds.
#[test]
fn a_cascade_meets_restrict_and_nothing_changes() {
    let o = Office::with(&[(
        "items/notes.toml",
        r#"keep_history = true

[[fields]]
name = "text"
type = "text"
size = 100

[[fields]]
name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }
on_delete = "set_null"

[[fields]]
name = "visit"
type = "integer"
lookup = { item = "visits", field = "place" }

[[fields]]
name = "user_id"
type = "integer"
"#,
    )]);
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let visit = o.insert(&o.alice, "visits", json!({"place": "v", "customer": ann}));
    o.insert(
        &o.alice,
        "notes",
        json!({"text": "about the visit", "visit": visit}),
    );
    let before = o.server.db_snapshot();
    let err = assert_error(&delete(&o, &o.alice, "customers", ann), 409, "conflict");
    assert!(
        err["message"].as_str().unwrap().contains(&format!(
            "visits {visit} cannot be deleted: 1 record of \"notes\""
        )),
        "{err}"
    );
    assert_eq!(o.server.db_snapshot(), before);
}

/// A detail row deleted with its master is held by its own referrers too: a line an
/// invoice's deletion cascades to is checked like a line deleted alone.
#[test]
fn detail_rows_deleted_with_their_master_are_checked() {
    let o = Office::with(&[(
        "items/contacts.toml",
        r#"[[fields]]
name = "name"
type = "text"
size = 100

[[fields]]
name = "line"
type = "integer"
lookup = { item = "lines", field = "qty" }

[[fields]]
name = "user_id"
type = "integer"
"#,
    )]);
    let inv = o.insert_with(
        &o.alice,
        "invoices",
        json!({"number": "1"}),
        json!({"lines": [{"op": "insert", "values": {"qty": 3}}]}),
    );
    let line = o.server.db_int("SELECT id FROM lines");
    o.insert(&o.alice, "contacts", json!({"name": "c", "line": line}));
    let before = o.server.db_snapshot();
    let err = assert_error(&delete(&o, &o.alice, "invoices", inv), 409, "conflict");
    assert!(
        err["message"].as_str().unwrap().contains("\"contacts\""),
        "{err}"
    );
    assert_eq!(o.server.db_snapshot(), before);
}

/// Counting stays in the caller's tenant: bob's invoice that (written by server code or an
/// all-tenants role) points at alice's customer neither blocks alice's delete nor is told
/// to her, and a set_null or cascade never touches bob's rows.
#[test]
fn another_tenants_referrers_are_neither_counted_nor_changed() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    o.insert(&o.bob, "invoices", json!({"number": "b"}));
    o.insert(&o.bob, "notes", json!({"text": "b"}));
    o.insert(&o.bob, "visits", json!({"place": "b"}));
    // Plant the references directly: the API refuses a lookup to another tenant's row.
    o.server.db_batch(&format!(
        "UPDATE invoices SET customer = {ann}; UPDATE notes SET customer = {ann}; UPDATE visits SET customer = {ann};"
    ));
    let before_bob = o.count("invoices", &format!("customer = {ann}"));
    ok(delete(&o, &o.alice, "customers", ann));
    assert_eq!(
        o.count("invoices", &format!("customer = {ann}")),
        before_bob
    );
    assert_eq!(o.count("notes", &format!("customer = {ann}")), 1);
    assert_eq!(o.count("visits", &format!("customer = {ann}")), 1);
}

/// Bob cannot learn how many of alice's rows point at his records either: alice's invoice
/// pointing at bob's customer is not counted in the refusal bob gets from his own invoice.
#[test]
fn a_refusal_counts_only_the_callers_rows() {
    let o = Office::new();
    let bobs = o.insert(&o.bob, "customers", json!({"name": "Bob's"}));
    o.insert(&o.bob, "invoices", json!({"number": "b", "customer": bobs}));
    o.insert(&o.alice, "invoices", json!({"number": "a1"}));
    o.insert(&o.alice, "invoices", json!({"number": "a2"}));
    o.server.db_batch(&format!(
        "UPDATE invoices SET customer = {bobs} WHERE number LIKE 'a%'"
    ));
    let err = assert_error(&delete(&o, &o.bob, "customers", bobs), 409, "conflict");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("1 record of \"invoices\""),
        "{err}"
    );
}

/// A self-reference with cascade deletes the whole chain (rows deleted together do not hold
/// each other), without recursion: a chain longer than any stack would allow.
#[test]
fn a_long_self_referencing_cascade_deletes_the_chain() {
    let o = Office::with(&[(
        "items/products.toml",
        r#"[[fields]]
name = "name"
type = "text"
size = 100

[[fields]]
name = "parent"
type = "integer"
lookup = { item = "products", field = "name" }
on_delete = "cascade"
"#,
    )]);
    let root = o.insert(&o.admin, "products", json!({"name": "root"}));
    // 3,000 products, each the child of the one before.
    o.server.db_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
         INSERT INTO products (id, name, parent) SELECT {root} + i, 'p' || i, {root} + i - 1 FROM n;"
    ));
    o.server.db_batch(&format!(
        "UPDATE products SET parent = {root} WHERE id = {root}"
    ));
    ok(delete(&o, &o.admin, "products", root));
    assert_eq!(o.count("products", "1=1"), 0);
}

/// on_delete is checked when the project loads: a known word, on an integer lookup field
/// with a column of its own, and set_null not on a required field.
#[test]
fn on_delete_is_checked_at_load() {
    for (field, expected) in [
        (
            r#"name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }
on_delete = "nullify""#,
            "on_delete \"nullify\" is not restrict, set_null or cascade",
        ),
        (
            r#"name = "customer"
type = "integer"
on_delete = "cascade""#,
            "on_delete applies to an integer lookup field",
        ),
        (
            r#"name = "customer"
type = "integer"
required = true
lookup = { item = "customers", field = "name" }
on_delete = "set_null""#,
            "would empty a required field",
        ),
    ] {
        let notes =
            format!("[[fields]]\n{field}\n\n[[fields]]\nname = \"user_id\"\ntype = \"integer\"\n");
        let files = common::office::files(&[("items/notes.toml", &notes)]);
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
            err.contains("items/notes.toml") && err.contains(expected),
            "{expected}: {err}"
        );
    }
}
