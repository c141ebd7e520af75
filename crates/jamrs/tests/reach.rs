//! The reach rule over real HTTP, where the seed's recipe alone keeps users apart (no
//! `[tenancy]`): what a client names, and what is written for it, must pass the filters the
//! items' `on_open` adds for its session. Each test is named after the rule it guards:
//!
//! - server code running for a client's request (a server function, an `on_apply` that saves
//!   the delta itself) is held to the rule for what it writes, unless it asks for an unchecked
//!   write (`apply(unchecked=True)`);
//! - the rows written are what is checked, not what the reply shows (a role that may change
//!   rows but not view them gets no rows back);
//! - calculated fields aggregate only rows the caller could open.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::tenancy::{Setup, World, seed, shop_files, unchanged};
use common::{Client, TestServer, assert_error, column, ids, ok};
use serde_json::{Value, json};

/// Files of a repository example (`examples/<name>`), to start with changes.
fn example_files(name: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

fn start(files: &[(String, String)]) -> TestServer {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    TestServer::from_files(&refs)
}

/// Puts `line` at the top of file `path` (a `callable` list, say), or appends it.
fn edit(files: &mut [(String, String)], path: &str, top: &str, bottom: &str) {
    let (_, text) = files.iter_mut().find(|(p, _)| p == path).unwrap();
    *text = format!("{top}\n{text}\n{bottom}\n");
}

fn call(c: &Client, item: &str, function: &str, args: Value) -> (u16, Value) {
    c.post_json(
        &format!("/api/items/{item}/call/{function}"),
        &json!({ "args": args }),
    )
}

/// A refused request answered with the engine's error, its kind kept through the module
/// (`status`, `code`), with `contains` in its message, and changed nothing.
#[track_caller]
fn refused(
    w: &World,
    request: impl FnOnce() -> (u16, Value),
    status: u16,
    code: &str,
    contains: &str,
) {
    let before = w.server.db_snapshot();
    let reply = request();
    let err = unchanged(w, &before, reply, status, code);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(contains), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Server code on a client's request.

/// Server functions that change one note of the caller through a dataset, applied "safely"
/// (with the caller's rights, the pattern docs/server-modules.md shows), and the same without
/// the check, which the code must ask for.
const NOTES_PY: &str = r#"

def _one(item, note):
    notes = item.copy()
    notes.set_where(id=note)
    notes.open()
    if notes.rec_count != 1:
        raise Exception('no such note')
    return notes

def set_contact(item, note, contact):
    notes = _one(item, note)
    notes.contact.value = contact
    notes.post()
    notes.apply(safe=True)
    return note

def set_contact_unchecked(item, note, contact):
    notes = _one(item, note)
    notes.contact.value = contact
    notes.post()
    notes.apply(unchecked=True)
    return note

def give(item, note, user):
    notes = _one(item, note)
    notes.user_id.value = user
    notes.post()
    notes.apply()
    return note

def note_for(item, user):
    notes = item.copy(handlers=False)
    notes.open(open_empty=True)
    notes.append()
    notes.title.value = 'for someone'
    notes.user_id.value = user
    notes.post()
    notes.apply()
    return notes.id.value
"#;

const CALLABLE: &str = r#"callable = ["set_contact", "set_contact_unchecked", "give", "note_for"]"#;

/// Rule: what server code writes for a client's request (lookup values, and the rows
/// themselves) must pass the filters `on_open` adds for the client's session, as the client's
/// own apply must; `apply(unchecked=True)` is the explicit way out.
fn server_code_writes_for_a_client_are_held_to_its_reach(setup: Setup) {
    let mut files = match setup {
        Setup::SeedTask => example_files("seed_task"),
        Setup::SeedItem => example_files("seed_item"),
        _ => shop_files(setup, "", &[]),
    };
    match files.iter_mut().find(|(p, _)| p == "items/notes.py") {
        // seed_item's recipe is the notes' module: the functions go after it.
        Some((_, text)) => text.push_str(NOTES_PY),
        None => files.push(("items/notes.py".into(), NOTES_PY.into())),
    }
    edit(&mut files, "items/notes.toml", CALLABLE, "");
    let w = World::on(setup, start(&files));
    let data = seed(&w);
    let (mine, theirs) = (&data[0], &data[1]);

    if setup.has_contacts() {
        let contact_texts = |c: &Client| {
            let reply = ok(c.open(
                "notes",
                &json!({"expanded": true, "fields": ["id", "contact"], "order": ["id"]}),
            ));
            column(&reply, "contact.text")
        };
        let texts_before = contact_texts(w.alice());
        // A lookup to bob's contact: refused as for a contact that does not exist.
        refused(
            &w,
            || {
                call(
                    w.alice(),
                    "notes",
                    "set_contact",
                    json!([mine.notes[0], theirs.contacts[0]]),
                )
            },
            422,
            "validation",
            &format!("contacts {} does not exist", theirs.contacts[0]),
        );
        assert_eq!(contact_texts(w.alice()), texts_before);
        // Her own contact is fine.
        ok(call(
            w.alice(),
            "notes",
            "set_contact",
            json!([mine.notes[0], mine.contacts[1]]),
        ));
        // The code that asks for an unchecked write gets it: its author's decision.
        ok(call(
            w.alice(),
            "notes",
            "set_contact_unchecked",
            json!([mine.notes[0], theirs.contacts[0]]),
        ));
        assert_eq!(
            w.server.db_int(&format!(
                "SELECT contact FROM notes WHERE id = {}",
                mine.notes[0]
            )),
            theirs.contacts[0]
        );
    }
    // A row given to bob is no longer one alice could open: refused, naming the way out.
    refused(
        &w,
        || call(w.alice(), "notes", "give", json!([mine.notes[1], w.ids[1]])),
        403,
        "forbidden",
        "apply(unchecked=True)",
    );
    // A dataset without the item's handlers: the check still reads them all, as a client's
    // open runs them all. (Where the recipe is the task's, its on_apply stamps the row with
    // alice's id whatever the code set, so the row is hers.)
    let note_for_bob = || call(w.alice(), "notes", "note_for", json!([w.ids[1]]));
    if setup == Setup::SeedItem {
        refused(&w, note_for_bob, 403, "forbidden", "apply(unchecked=True)");
    } else {
        let id = ok(note_for_bob())["result"].as_i64().unwrap();
        assert!(ids(w.alice(), "notes", json!({})).contains(&id));
    }
    assert_eq!(ids(w.bob(), "notes", json!({})), theirs.notes);
}

#[test]
fn server_code_writes_for_a_client_are_held_to_its_reach_seed_item() {
    server_code_writes_for_a_client_are_held_to_its_reach(Setup::SeedItem);
}

#[test]
fn server_code_writes_for_a_client_are_held_to_its_reach_seed_task() {
    server_code_writes_for_a_client_are_held_to_its_reach(Setup::SeedTask);
}

#[test]
fn server_code_writes_for_a_client_are_held_to_its_reach_recipe() {
    server_code_writes_for_a_client_are_held_to_its_reach(Setup::Recipe);
}

/// An `on_apply` that saves the delta itself (`item.apply_delta`, the pattern for work after
/// the save) saves the client's values as server code: they are held to the client's reach.
const SAVE_ITSELF_PY: &str = r#"
def on_apply(item, delta, params, connection):
    return item.apply_delta(delta, params, connection)
"#;

/// Rule: a client's values are checked however they are saved, also when a module's
/// `on_apply` saves them with `item.apply_delta`.
#[test]
fn a_clients_lookups_saved_by_apply_delta_are_held_to_its_reach() {
    let mut files = example_files("seed_task");
    files.push(("items/notes.py".into(), SAVE_ITSELF_PY.into()));
    let w = World::on(Setup::SeedTask, start(&files));
    let data = seed(&w);
    let (mine, theirs) = (&data[0], &data[1]);
    let before = w.server.db_snapshot();
    let reply = w.alice().apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": mine.notes[0], "values": {"contact": theirs.contacts[0]}}]}),
    );
    // apply_delta raises jamrs' error in Python; uncaught, it fails the apply with its kind.
    let err = unchanged(&w, &before, reply, 422, "validation");
    assert_eq!(
        err["message"],
        json!(format!(
            "changes[0].contact: contacts {} does not exist",
            theirs.contacts[0]
        )),
        "{err}"
    );
    ok(w.alice().apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": mine.notes[0], "values": {"contact": mine.contacts[1]}}]}),
    ));
}

// ---------------------------------------------------------------------------------------------
// What is written, not what is returned.

/// Rule: the reach check reads the rows an apply wrote, not the rows its reply shows: a role
/// that may create and edit notes but not view them gets no rows back, and still cannot give
/// a row to another user.
fn a_role_that_may_not_view_cannot_give_a_row_away(setup: Setup) {
    let mut files = match setup {
        Setup::SeedTask => example_files("seed_task"),
        Setup::SeedItem => example_files("seed_item"),
        _ => shop_files(setup, "", &[]),
    };
    edit(
        &mut files,
        "jamrs.toml",
        "",
        r#"
[[roles]]
id = 3
name = "clerk"
default = ["view", "create", "edit", "delete"]
items = { notes = ["create", "edit"] }
"#,
    );
    let w = World::on(setup, start(&files));
    let data = seed(&w);
    w.server.add_user("dave", "clerk", None);
    let dave = w.server.login("dave", common::PASSWORD);
    let dave_id = w.server.user_id("dave");
    // An insert is stamped with dave's id by the recipe, and shows him nothing.
    let reply = ok(dave.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "dave: note"}}]}),
    ));
    assert_eq!(reply["changes"][0].get("values"), None, "{reply}");
    let note = reply["changes"][0]["id"].as_i64().unwrap();
    assert_eq!(
        w.server
            .db_int(&format!("SELECT user_id FROM notes WHERE id = {note}")),
        dave_id
    );
    // The recipe checks the stored owner, which is dave: only the reach check stops this.
    let before = w.server.db_snapshot();
    let reply = dave.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": note, "values": {"user_id": w.ids[0]}}]}),
    );
    let err = unchanged(&w, &before, reply, 403, "forbidden");
    assert_eq!(common::error_fields(&err), ["changes[0]"], "{err}");
    assert_eq!(ids(w.alice(), "notes", json!({})), data[0].notes);
    // His own edits still go through.
    ok(dave.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": note, "values": {"title": "dave: edited"}}]}),
    ));
}

#[test]
fn a_role_that_may_not_view_cannot_give_a_row_away_seed_item() {
    a_role_that_may_not_view_cannot_give_a_row_away(Setup::SeedItem);
}

#[test]
fn a_role_that_may_not_view_cannot_give_a_row_away_seed_task() {
    a_role_that_may_not_view_cannot_give_a_row_away(Setup::SeedTask);
}

#[test]
fn a_role_that_may_not_view_cannot_give_a_row_away_recipe() {
    a_role_that_may_not_view_cannot_give_a_row_away(Setup::Recipe);
}

// ---------------------------------------------------------------------------------------------
// Calculated fields.

/// Rule: a calculated field aggregates only the rows the caller could open: its sub-select
/// carries the filters the aggregated item's `on_open` adds for the session and, for a
/// detail, those of its master's rows (the recipe's lines have no `user_id`; they are
/// reached through their note). Filtering and ordering by a total reveal nothing either.
#[test]
fn calculated_fields_aggregate_only_rows_the_caller_could_open() {
    let w = World::new(Setup::Recipe);
    seed(&w);
    let totals = |c: &Client, params: Value| ok(c.open("categories", &params))["rows"].clone();
    let expanded = json!({"expanded": true, "fields": ["name", "notes_amount", "notes_count", "lines_qty"], "order": ["id"]});
    assert_eq!(
        totals(w.alice(), expanded.clone()),
        json!([["Work", 1.0, 1, 2], ["Home", 2.0, 1, 4]])
    );
    assert_eq!(
        totals(w.bob(), expanded.clone()),
        json!([["Work", 10.0, 1, 20], ["Home", 20.0, 1, 40]])
    );
    assert_eq!(
        totals(w.carol(), expanded.clone()),
        json!([["Work", 0.0, 0, 0], ["Home", 0.0, 0, 0]])
    );
    // The administrator is a user too under the recipe: it sees its own (none).
    assert_eq!(
        totals(&w.admin, expanded),
        json!([["Work", 0.0, 0, 0], ["Home", 0.0, 0, 0]])
    );
    // No oracle: bob's amounts do not pass a filter, an order or an aggregate of alice's.
    for filter in [
        json!(["notes_amount", "gt", 5]),
        json!(["lines_qty", "gt", 5]),
        json!(["notes_count", "gt", 1]),
    ] {
        assert_eq!(
            ids(w.alice(), "categories", json!({ "filters": [filter] })),
            Vec::<i64>::new(),
            "{filter}"
        );
    }
    let sum = ok(w.alice().open(
        "categories",
        &json!({"fields": ["lines_qty"], "funcs": {"lines_qty": "sum"}}),
    ));
    assert_eq!(sum["rows"], json!([[6]]));
    // Carol's big note in Work would put Work first for everyone; alice's own order is Home
    // first.
    ok(w.carol().apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "carol: big", "amount": 1000.0, "category": 1},
            "details": {"lines": [{"op": "insert", "values": {"text": "carol: big line", "qty": 1000, "category": 1}}]}}]}),
    ));
    for total in ["notes_amount", "lines_qty"] {
        let ordered = ok(w.alice().open(
            "categories",
            &json!({"fields": ["id"], "order": [[total, true]]}),
        ));
        assert_eq!(common::ints(&ordered, "id"), [2, 1], "{total}");
    }
    // A note's own total of its lines is unchanged.
    let qty = ok(w.bob().open(
        "notes",
        &json!({"expanded": true, "fields": ["id", "lines_qty"]}),
    ));
    assert_eq!(column(&qty, "lines_qty"), [json!(30), json!(30)]);
    assert_error(
        &w.alice().open(
            "categories",
            &json!({"filters": [["notes_amount", "gt", "x"]]}),
        ),
        400,
        "bad_request",
    );
}
