//! Who sees what under built-in tenancy, over real HTTP: a role with `all_tenants`, users of one
//! organisation and a user without one; and the rules the project loader keeps so that rows
//! reached sideways stay apart (a detail of a covered item needs the tenant column; a unique
//! index of a covered item includes it).

#![allow(clippy::unwrap_used)]

mod common;

use common::tenancy::{Setup, World, seed, unchanged};
use common::{column, ids, ok};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Who sees what under built-in tenancy.

/// A role with `all_tenants` sees and changes every tenant's rows; a row it changes keeps its
/// tenant, and a row it inserts gets its own (an administrator without an organisation cannot
/// insert one: see `a_tenant_scoped_insert_needs_a_tenant_value`). With the recipe as well,
/// the recipe's own filter still applies to it: the module is the project's code, and built-in
/// tenancy does not override it.
fn all_tenants_role(setup: Setup) {
    let w = World::new(setup);
    let data = seed(&w);
    let tenant_column = setup.column();
    let everyone: Vec<i64> = data.iter().flat_map(|o| o.notes.clone()).collect();
    if setup == Setup::Both {
        assert!(ids(&w.admin, "notes", json!({})).is_empty());
        return;
    }
    assert_eq!(ids(&w.admin, "notes", json!({})), everyone);
    assert_eq!(
        ids(&w.admin, "lines", json!({"master": data[1].notes[0]})),
        data[1].lines[0]
    );
    let reply = ok(w.admin.open(
        "notes",
        &json!({"expanded": true, "fields": ["id", "contact"], "order": ["id"]}),
    ));
    assert_eq!(
        column(&reply, "contact.text"),
        [
            json!("alice: contact 1"),
            Value::Null,
            json!("bob: contact 1"),
            Value::Null
        ]
    );
    ok(w.admin.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": data[1].notes[0],
            "values": {"title": "bob: edited by admin", "contact": data[0].contacts[0], tenant_column: 0}}]}),
    ));
    assert_eq!(
        w.server.db_int(&format!(
            "SELECT {tenant_column} FROM notes WHERE id = {}",
            data[1].notes[0]
        )),
        w.tenant(1),
        "the row keeps its tenant"
    );
    let insert = || {
        w.admin.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "admin: own", tenant_column: w.tenant(1)}}]}),
        )
    };
    if setup == Setup::Org {
        // An administrator without an organisation has no tenant to give the row.
        let before = w.server.db_snapshot();
        unchanged(&w, &before, insert(), 403, "forbidden");
    } else {
        let new = ok(insert())["changes"][0]["id"].as_i64().unwrap();
        assert_eq!(
            w.server.db_int(&format!(
                "SELECT {tenant_column} FROM notes WHERE id = {new}"
            )),
            w.server.user_id("admin")
        );
    }
    // A line it adds to bob's note is bob's: he sees it under his note.
    let reply = ok(w.admin.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": data[1].notes[0], "details": {"lines": [
            {"op": "insert", "values": {"text": "bob: line added by admin", "qty": 5}}]}}]}),
    ));
    let line = reply["changes"][0]["details"]["lines"][0]["id"]
        .as_i64()
        .unwrap();
    assert!(ids(w.bob(), "lines", json!({"master": data[1].notes[0]})).contains(&line));
    // The users still see only their own.
    assert_eq!(ids(w.bob(), "notes", json!({})), data[1].notes);
}

#[test]
fn all_tenants_role_builtin() {
    all_tenants_role(Setup::Builtin);
}

#[test]
fn all_tenants_role_org() {
    all_tenants_role(Setup::Org);
}

#[test]
fn all_tenants_role_both() {
    all_tenants_role(Setup::Both);
}

/// Tenancy by organisation: alice and carol (organisation 101) share rows, bob (202) does not
/// see them, and a user with no organisation (whose role does not see all tenants) sees no
/// covered row and writes none: it fails closed rather than see everything.
#[test]
fn a_user_without_an_organisation_sees_nothing_and_writes_nothing() {
    let w = World::new(Setup::Org);
    let data = seed(&w);
    let (alice, bob) = (&data[0], &data[1]);
    // Same organisation: carol sees and changes alice's rows.
    assert_eq!(ids(w.carol(), "notes", json!({})), alice.notes);
    ok(w.carol().apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": alice.notes[0], "values": {"title": "alice: edited by carol"}}]}),
    ));
    assert_eq!(ids(w.bob(), "notes", json!({})), bob.notes);

    w.server.add_user("drifter", "user", None);
    let drifter = w.server.login("drifter", common::PASSWORD);
    let before = w.server.db_snapshot();
    for (item, params) in [
        ("notes", json!({})),
        ("notes", json!({"fields": ["id"], "funcs": {"id": "count"}})),
        ("notes", json!({"search": ["title", "alice"]})),
        ("contacts", json!({})),
        ("lines", json!({"master": alice.notes[0]})),
    ] {
        unchanged(&w, &before, drifter.open(item, &params), 403, "forbidden");
    }
    for (item, change) in [
        (
            "notes",
            json!({"op": "insert", "values": {"title": "drifter: note"}}),
        ),
        (
            "notes",
            json!({"op": "update", "id": alice.notes[0], "values": {"title": "x"}}),
        ),
        ("notes", json!({"op": "delete", "id": bob.notes[0]})),
        (
            "contacts",
            json!({"op": "insert", "values": {"name": "drifter: contact"}}),
        ),
    ] {
        unchanged(
            &w,
            &before,
            drifter.apply(item, &json!({ "changes": [change] })),
            403,
            "forbidden",
        );
    }
    // Shared items still work, and their totals over covered rows count nothing.
    let reply = ok(drifter.open(
        "categories",
        &json!({"expanded": true, "fields": ["name", "notes_amount", "notes_count", "lines_qty"], "order": ["id"]}),
    ));
    assert_eq!(
        reply["rows"],
        json!([["Work", 0.0, 0, 0], ["Home", 0.0, 0, 0]])
    );
    assert_eq!(w.server.db_snapshot(), before);
}

/// Rule: a row of an item `[tenancy]` covers is never written without a tenant. An
/// all-tenants administrator without an organisation has no tenant to stamp on a top-level row
/// (before, it wrote NULL: a row only all-tenants roles could see): the insert is refused,
/// naming the tenant column. A detail row it adds under a user's master takes the master's
/// tenant, and server code that names the tenant itself may insert.
#[test]
fn a_tenant_scoped_insert_needs_a_tenant_value() {
    let w = World::new(Setup::Org);
    let data = seed(&w);
    let bob = &data[1];
    let before = w.server.db_snapshot();
    for (item, values) in [
        ("notes", json!({"title": "admin: own"})),
        ("contacts", json!({"name": "admin: own"})),
    ] {
        let reply = w.admin.apply(
            item,
            &json!({"changes": [{"op": "insert", "values": values}]}),
        );
        let err = unchanged(&w, &before, reply, 403, "forbidden");
        assert_eq!(
            common::error_fields(&err),
            ["changes[0].tenant_id"],
            "{err}"
        );
    }
    // Inside a delta that also changes a tenant's row, nothing is saved.
    let reply = w.admin.apply(
        "notes",
        &json!({"changes": [
            {"op": "update", "id": bob.notes[0], "values": {"title": "bob: edited by admin"}},
            {"op": "insert", "values": {"title": "admin: own"}}]}),
    );
    let err = unchanged(&w, &before, reply, 403, "forbidden");
    assert_eq!(
        common::error_fields(&err),
        ["changes[1].tenant_id"],
        "{err}"
    );
    assert_eq!(
        w.server
            .db_int("SELECT count(*) FROM notes WHERE tenant_id IS NULL"),
        0
    );
    // A line under bob's note is bob's organisation's.
    let reply = ok(w.admin.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": bob.notes[0], "details": {"lines": [
            {"op": "insert", "values": {"text": "bob: line added by admin", "qty": 5}}]}}]}),
    ));
    let line = reply["changes"][0]["details"]["lines"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        w.server
            .db_int(&format!("SELECT tenant_id FROM lines WHERE id = {line}")),
        202
    );
}

// ---------------------------------------------------------------------------------------------
// Rules the project loader keeps.

/// Loads the shop's files for `setup` with `change` applied to them; returns the loader's
/// error, if any.
fn load(setup: Setup, change: impl Fn(&str, String) -> String) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in common::tenancy::shop_files(setup, "", &[]) {
        let target = dir.path().join(&path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, change(&path, text)).unwrap();
    }
    jamrs::config::load_project(dir.path(), &Default::default(), &|_| None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A detail of a covered item needs the tenant column: without it, a calculated field of a
/// shared item (`categories.lines_qty`, the demo's `tracks_sold`) would sum every tenant's
/// lines, and a lookup to a line would show another tenant's text. The project does not load.
#[test]
fn a_detail_of_a_covered_item_needs_the_tenant_column() {
    let without = |path: &str, text: String| {
        if path == "items/lines.toml" {
            text.replace("name = \"user_id\"", "name = \"owner\"")
        } else {
            text
        }
    };
    let err = load(Setup::Builtin, without).expect_err("a detail without the column loads");
    assert!(
        err.contains("items/lines.toml")
            && err.contains(
                "tenancy covers \"notes\", so its detail needs the tenant column \"user_id\""
            ),
        "{err}"
    );
    // Listing only the master covers its details as well.
    let listed = |path: &str, text: String| {
        if path == "jamrs.toml" {
            text.replace(
                "column = \"user_id\"",
                "column = \"user_id\"\nitems = [\"notes\"]",
            )
        } else {
            without(path, text)
        }
    };
    let err = load(Setup::Builtin, listed).expect_err("listing only notes covers lines");
    assert!(err.contains("items/lines.toml"), "{err}");
    assert_eq!(load(Setup::Builtin, |_, t| t), Ok(()));
}

/// A unique index of a covered item must include the tenant column: otherwise one tenant's
/// value blocks another's and answers "it exists" (409) about a row they cannot see.
#[test]
fn a_unique_index_of_a_covered_item_includes_the_tenant_column() {
    let across = |path: &str, text: String| {
        if path == "items/contacts.toml" {
            text.replace("fields = [\"email\", \"user_id\"]", "fields = [\"email\"]")
        } else {
            text
        }
    };
    let err = load(Setup::Builtin, across).expect_err("a unique index across tenants loads");
    assert!(
        err.contains("items/contacts.toml")
            && err.contains("does not include the tenant column \"user_id\""),
        "{err}"
    );
    // With the tenant in the index, two tenants may hold the same value, and the index still
    // keeps one tenant's values apart.
    let w = World::new(Setup::Builtin);
    let contact = json!({"name": "x", "email": "same@example.com"});
    let before = w.server.db_snapshot();
    common::insert(w.bob(), "contacts", std::slice::from_ref(&contact));
    common::insert(w.alice(), "contacts", std::slice::from_ref(&contact));
    let before_dup = w.server.db_snapshot();
    assert_ne!(before, before_dup);
    unchanged(
        &w,
        &before_dup,
        w.alice().apply(
            "contacts",
            &json!({"changes": [{"op": "insert", "values": contact}]}),
        ),
        409,
        "conflict",
    );
}
