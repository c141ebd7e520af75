//! Record history (`keep_history`): every insert, update and delete of a row (also those of
//! server modules, detail cascades and delete integrity's set_null and cascade) is recorded in
//! the transaction of the change, and `POST /api/items/{item}/history` shows it only to those
//! who may view the record and its fields.

#![allow(clippy::unwrap_used)]

mod common;

use common::office::{CONTACTS, Office};
use common::{assert_error, ok};
use serde_json::{Value, json};

fn history(c: &common::Client, item: &str, body: Value) -> (u16, Value) {
    c.post_json(&format!("/api/items/{item}/history"), &body)
}

/// One field of an entry: `(field, old, new)`.
type FieldChange = (String, Value, Value);

/// The entries of a reply as `(operation, record_id, [(field, old, new)])`.
fn entries(reply: &Value) -> Vec<(String, i64, Vec<FieldChange>)> {
    reply["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let changes = e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["field"].as_str().unwrap().to_string(),
                        c["old"].clone(),
                        c["new"].clone(),
                    )
                })
                .collect();
            (
                e["operation"].as_str().unwrap().to_string(),
                e["record_id"].as_i64().unwrap(),
                changes,
            )
        })
        .collect()
}

fn change(field: &str, old: Value, new: Value) -> FieldChange {
    (field.to_string(), old, new)
}

/// Insert, update and delete each leave an entry, newest first, with who and when and the
/// fields with their old and new values (an update only the fields it changed; the tenant
/// column and the record version are the server's and not listed).
#[test]
fn inserts_updates_and_deletes_are_recorded() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "Anne"}}]}),
    ));
    let reply = ok(history(&o.alice, "customers", json!({"id": ann})));
    assert_eq!(
        entries(&reply),
        [
            (
                "update".into(),
                ann,
                vec![change("name", json!("Ann"), json!("Anne"))]
            ),
            (
                "insert".into(),
                ann,
                vec![change("name", Value::Null, json!("Ann"))]
            ),
        ]
    );
    let first = &reply["history"][0];
    assert_eq!(first["user_id"], json!(o.server.user_id("alice")));
    assert_eq!(first["user_name"], json!("alice"));
    assert_eq!(first["at"].as_str().unwrap().len(), 19, "{first}");
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "delete", "id": ann}]}),
    ));
    // A deleted record's history stays readable by its tenant.
    let reply = ok(history(&o.alice, "customers", json!({"id": ann})));
    assert_eq!(
        entries(&reply)[0],
        (
            "delete".into(),
            ann,
            vec![change("name", json!("Anne"), Value::Null)]
        )
    );
    assert_eq!(entries(&reply).len(), 3);
}

/// An apply that fails leaves no entry: history is written in its transaction.
#[test]
fn a_failed_apply_leaves_no_entry() {
    let o = Office::new();
    let before = o.count("jamrs_history", "1=1");
    let (status, _) = o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "insert", "values": {"name": "ok"}}, {"op": "insert", "values": {}}]}),
    );
    assert_eq!(status, 422);
    assert_eq!(o.count("jamrs_history", "1=1"), before);
}

/// A delete's cascades are recorded row by row: the invoice's lines (soft-deleted with it),
/// the visits delete integrity's cascade removes (with their stops), and the notes its
/// set_null changes.
#[test]
fn cascades_are_recorded() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let inv = o.insert_with(
        &o.alice,
        "invoices",
        json!({"number": "1"}),
        json!({"lines": [{"op": "insert", "values": {"qty": 1}}, {"op": "insert", "values": {"qty": 2}}]}),
    );
    ok(o.alice.apply(
        "invoices",
        &json!({"changes": [{"op": "delete", "id": inv}]}),
    ));
    let lines = entries(&ok(history(&o.alice, "lines", json!({}))));
    let deletes: Vec<_> = lines.iter().filter(|e| e.0 == "delete").collect();
    assert_eq!(deletes.len(), 2, "{lines:?}");
    assert!(
        deletes
            .iter()
            .any(|e| e.2.contains(&change("qty", json!(2), Value::Null)))
    );

    let note = o.insert(&o.alice, "notes", json!({"text": "n", "customer": ann}));
    let visit = o.insert_with(
        &o.alice,
        "visits",
        json!({"place": "v", "customer": ann}),
        json!({"stops": [{"op": "insert", "values": {"what": "s"}}]}),
    );
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "delete", "id": ann}]}),
    ));
    assert_eq!(
        entries(&ok(history(&o.alice, "notes", json!({"id": note}))))[0],
        (
            "update".into(),
            note,
            vec![change("customer", json!(ann), Value::Null)]
        )
    );
    assert_eq!(
        entries(&ok(history(&o.alice, "visits", json!({"id": visit}))))[0].0,
        "delete"
    );
    let stops = entries(&ok(history(&o.alice, "stops", json!({}))));
    assert_eq!(stops[0].0, "delete", "{stops:?}");
}

/// Changes made by server code are recorded too (a server function editing a customer
/// through a dataset), under the user whose request ran it.
#[test]
fn server_module_changes_are_recorded() {
    let contacts = format!("callable = [\"rename\"]\n{CONTACTS}");
    let o = Office::with(&[
        ("items/contacts.toml", &contacts),
        (
            "items/contacts.py",
            r#"
def rename(item, id, name):
    c = item.task.customers.copy()
    c.set_where(id=id)
    c.open()
    c.edit()
    c.name.value = name
    c.post()
    c.apply()
    return c.record_version.value
"#,
        ),
    ]);
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    let (status, body) = o.alice.post_json(
        "/api/items/contacts/call/rename",
        &json!({"args": [ann, "By code"]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"],
        json!(2),
        "the version, as server code reads it"
    );
    let reply = ok(history(&o.alice, "customers", json!({"id": ann})));
    assert_eq!(
        entries(&reply)[0],
        (
            "update".into(),
            ann,
            vec![change("name", json!("Ann"), json!("By code"))]
        )
    );
    assert_eq!(reply["history"][0]["user_name"], json!("alice"));
}

/// A prohibited field never appears in history: alice's role may not see `secret`, so
/// changes of it are left out of her entries (an all-tenants administrator sees them).
#[test]
fn prohibited_fields_never_appear() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    o.server.db_execute(&format!(
        "UPDATE customers SET secret = 'old' WHERE id = {ann}"
    ));
    // A change of the secret by someone who may (server code, here the administrator).
    ok(o.admin.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"secret": "s3cret", "name": "N"}}]}),
    ));
    let mine = ok(history(&o.alice, "customers", json!({"id": ann})));
    assert!(
        !mine.to_string().contains("s3cret") && !mine.to_string().contains("secret"),
        "{mine}"
    );
    assert_eq!(
        entries(&mine)[0].2,
        [change("name", json!("Ann"), json!("N"))]
    );
    let admins = ok(history(&o.admin, "customers", json!({"id": ann})));
    assert!(admins.to_string().contains("s3cret"), "{admins}");
    let item_history = ok(history(&o.alice, "customers", json!({})));
    assert!(
        !item_history.to_string().contains("s3cret"),
        "{item_history}"
    );
}

/// Another tenant's history never appears: bob gets a 404 for alice's record, live or
/// deleted, and the item's history shows him his own entries only.
#[test]
fn another_tenants_history_never_appears() {
    let o = Office::new();
    o.insert(&o.bob, "customers", json!({"name": "bob: Bo"}));
    let ann = o.insert(&o.alice, "customers", json!({"name": "alice: Ann"}));
    let gone = o.insert(&o.alice, "customers", json!({"name": "alice: gone"}));
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "delete", "id": gone}]}),
    ));
    for id in [ann, gone] {
        assert_error(
            &history(&o.bob, "customers", json!({"id": id})),
            404,
            "not_found",
        );
    }
    let his = ok(history(&o.bob, "customers", json!({})));
    assert_eq!(entries(&his).len(), 1);
    assert!(!his.to_string().contains("alice"), "{his}");
    let hers = ok(history(&o.alice, "customers", json!({})));
    assert_eq!(entries(&hers).len(), 3);
}

/// A key the database gives again after a delete (SQLite reuses the highest one) starts a
/// new record: its history begins at its insert, without the deleted record's entries.
#[test]
fn a_reused_key_shows_only_its_own_record() {
    let o = Office::new();
    let first = o.insert(&o.alice, "customers", json!({"name": "first"}));
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": first, "values": {"name": "first, renamed"}}]}),
    ));
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "delete", "id": first}]}),
    ));
    let second = o.insert(&o.alice, "customers", json!({"name": "second"}));
    if common::on_postgres() {
        // An identity column never gives a key again; the history is still the new record's.
        assert_ne!(second, first);
    } else {
        assert_eq!(second, first, "SQLite gave the key again");
    }
    let reply = ok(history(&o.alice, "customers", json!({"id": second})));
    assert_eq!(
        entries(&reply),
        [(
            "insert".into(),
            second,
            vec![change("name", Value::Null, json!("second"))]
        )]
    );
}

/// Who may ask: a session (401 without), a role that views the item (403), an item that
/// keeps history (400), an item that exists (404); bad params are 400 with the reason.
#[test]
fn history_requests_are_checked() {
    let o = Office::new();
    let ann = o.insert(&o.alice, "customers", json!({"name": "Ann"}));
    assert_error(
        &history(&o.server.anonymous(), "customers", json!({"id": ann})),
        401,
        "unauthorized",
    );
    assert_error(&history(&o.carol, "notes", json!({})), 403, "forbidden");
    let err = assert_error(
        &history(&o.alice, "contacts", json!({})),
        400,
        "bad_request",
    );
    assert!(
        err["message"].as_str().unwrap().contains("keep_history"),
        "{err}"
    );
    assert_error(&history(&o.alice, "nope", json!({})), 404, "not_found");
    for bad in [
        json!({"id": "x"}),
        json!({"id": 1.5}),
        json!({"limit": -1}),
        json!({"what": 1}),
        json!([1]),
    ] {
        assert_error(&history(&o.alice, "customers", bad), 400, "bad_request");
    }
    // null is the same as leaving a member out; limit and offset page.
    ok(o.alice.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"name": "B"}}]}),
    ));
    let page = ok(history(
        &o.alice,
        "customers",
        json!({"id": ann, "limit": 1, "offset": 1}),
    ));
    assert_eq!(entries(&page)[0].0, "insert");
    let all = ok(history(
        &o.alice,
        "customers",
        json!({"id": ann, "limit": null, "offset": null}),
    ));
    assert_eq!(entries(&all).len(), 2);
}

/// An item `[tenancy]` does not cover (shared by every tenant) keeps one history for everyone:
/// its entries carry no tenant, and a user with a tenant of their own sees them.
#[test]
fn a_shared_items_history_is_everyones() {
    let o = Office::with(&[(
        "items/products.toml",
        "keep_history = true\n\n[[fields]]\nname = \"name\"\ntype = \"text\"\nsize = 100\n",
    )]);
    let widget = o.insert(&o.alice, "products", json!({"name": "Widget"}));
    ok(o.bob.apply(
        "products",
        &json!({"changes": [{"op": "update", "id": widget, "values": {"name": "Widget 2"}}]}),
    ));
    for c in [&o.alice, &o.bob, &o.carol] {
        let reply = ok(history(c, "products", json!({"id": widget})));
        assert_eq!(entries(&reply).len(), 2, "{reply}");
        assert_eq!(entries(&ok(history(c, "products", json!({})))).len(), 2);
    }
}
