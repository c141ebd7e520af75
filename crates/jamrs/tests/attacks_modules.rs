//! Attacks through server code over real HTTP (reference §7.7–7.8): functions that are not
//! listed as callable (event handlers and imported names included), raw SQL without
//! `raw_sql`, server-side datasets inside a client's request (they see the caller's tenant),
//! and server code outside any request (`/ext`, `on_created`), which fails closed on items
//! `[tenancy]` covers unless it asks for an unscoped dataset.

#![allow(clippy::unwrap_used)]

mod common;

use common::tenancy::{Setup, World, seed, shop_files};
use common::{Client, TestServer, assert_error, ok};
use jamrs::app::RunOptions;
use serde_json::{Value, json};

const NOTES_PY: &str = r#"
import os

def titles(item):
    notes = item.copy()
    notes.open()
    return sorted(n.title.value for n in notes)

def titles_without_handlers(item):
    notes = item.copy(handlers=False)
    notes.open()
    return sorted(n.title.value for n in notes)

def all_titles(item):
    notes = item.copy(unscoped=True)
    notes.open()
    return sorted(n.title.value for n in notes)

def rename(item, id, title):
    notes = item.copy()
    notes.set_where(id=id)
    notes.open()
    if notes.rec_count != 1:
        raise Exception('no such note')
    notes.edit()
    notes.title.value = title
    notes.post()
    notes.apply()
    return id

def lines_of(item, note):
    lines = item.task.lines.copy()
    lines.set_where(note=note)
    lines.open()
    return sorted(l.text.value for l in lines)

def contact_names(item):
    notes = item.copy()
    notes.open(expanded=True)
    return sorted(n.contact.lookup_text or '' for n in notes)

def raw(item):
    return task.execute('DELETE FROM notes')

def secret(item):
    return 'not callable'
"#;

const CALLABLE: &str = r#"callable = ["titles", "titles_without_handlers", "all_titles", "rename", "lines_of", "contact_names", "raw"]"#;

/// The shop's files with `items/notes.py` and its `callable` list.
fn files(setup: Setup, callable: &str, extra: &str) -> Vec<(String, String)> {
    let mut files = shop_files(setup, extra, &[("items/notes.py", NOTES_PY)]);
    for (path, text) in &mut files {
        if path == "items/notes.toml" {
            *text = format!("{callable}\n{text}");
        }
    }
    files
}

fn start(files: &[(String, String)]) -> Result<TestServer, String> {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    TestServer::try_from_files_with(&refs, &RunOptions::default())
}

fn call(c: &Client, function: &str, args: Value) -> (u16, Value) {
    c.post_json(
        &format!("/api/items/notes/call/{function}"),
        &json!({ "args": args }),
    )
}

#[track_caller]
fn module_error(w: &World, reply: (u16, Value), contains: &str) {
    refused(w, reply, 400, "module_error", contains);
}

/// An error that changed nothing; engine errors keep their kind through a module.
#[track_caller]
fn refused(w: &World, reply: (u16, Value), status: u16, code: &str, contains: &str) {
    let before = w.server.db_snapshot();
    let err = assert_error(&reply, status, code);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(contains), "{message}");
    assert_eq!(w.server.db_snapshot(), before);
}

/// Server functions run with the caller's session: their datasets see the caller's rows (with
/// built-in tenancy, unless the code asks for `unscoped=True`; with the recipe, through the
/// task's `on_open`, which datasets run too).
fn server_functions(setup: Setup) {
    let w = World::on(setup, start(&files(setup, CALLABLE, "")).unwrap());
    let data = seed(&w);
    let (mine, theirs) = (&data[0], &data[1]);
    let own_titles = json!({"result": ["alice: note 1", "alice: note 2"]});
    assert_eq!(ok(call(w.alice(), "titles", json!([]))), own_titles);
    // Without the item's handlers (reference §7.7: Jam.py's copy(handlers=False) skipped an
    // item-level filter): built-in tenancy is not a handler, and the recipe's is the task's.
    assert_eq!(
        ok(call(w.alice(), "titles_without_handlers", json!([]))),
        own_titles
    );
    let everyone = ok(call(w.alice(), "all_titles", json!([])));
    if setup == Setup::Builtin {
        // Server code that asks for every tenant gets it; what it returns is its own choice.
        assert_eq!(
            everyone["result"].as_array().unwrap().len(),
            4,
            "{everyone}"
        );
    } else {
        // The recipe's filter is a handler, and datasets run handlers.
        assert_eq!(everyone, own_titles);
    }
    module_error(
        &w,
        call(
            w.alice(),
            "rename",
            json!([theirs.notes[0], "alice: taken"]),
        ),
        "no such note",
    );
    ok(call(
        w.alice(),
        "rename",
        json!([mine.notes[0], "alice: renamed"]),
    ));
    let lines = call(w.alice(), "lines_of", json!([theirs.notes[0]]));
    if setup.recipe_alone() {
        // The recipe filters notes, not their lines: a detail dataset with another user's
        // note reads its lines, as a client's open does.
        assert_eq!(
            ok(lines)["result"],
            json!(["bob: line 1.1", "bob: line 1.2"])
        );
    } else {
        refused(&w, lines, 404, "not_found", "does not exist");
    }
    w.server.db_execute(&format!(
        "UPDATE notes SET contact = {} WHERE id = {}",
        theirs.contacts[0], mine.notes[1]
    ));
    let names = ok(call(w.alice(), "contact_names", json!([])));
    let expected = if setup.recipe_alone() {
        json!(["alice: contact 1", "bob: contact 1"])
    } else {
        json!(["", "alice: contact 1"])
    };
    assert_eq!(names["result"], expected);
    module_error(&w, call(w.alice(), "raw", json!([])), "raw_sql = true");
    // Only listed functions: not a defined one, not a handler, not an imported name.
    let before = w.server.db_snapshot();
    for f in [
        "secret",
        "on_open",
        "on_apply",
        "os",
        "__import__",
        "sorted",
        "nope",
    ] {
        assert_error(&call(w.alice(), f, json!([])), 404, "not_found");
    }
    assert_eq!(w.server.db_snapshot(), before);
}

#[test]
fn server_functions_recipe() {
    server_functions(Setup::Recipe);
}

#[test]
fn server_functions_builtin() {
    server_functions(Setup::Builtin);
}

#[test]
fn server_functions_both() {
    server_functions(Setup::Both);
}

/// An event handler cannot be listed as callable: the project does not load.
#[test]
fn handlers_cannot_be_made_callable() {
    for name in ["on_open", "on_apply"] {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files(Setup::Builtin, &format!("callable = [\"{name}\"]"), "") {
            let target = dir.path().join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
        let err = jamrs::config::load_project(dir.path(), &Default::default(), &|_| None)
            .err()
            .unwrap_or_else(|| panic!("{name} listed as callable loads"));
        assert!(err.to_string().contains(name), "{err}");
    }
}

const EXT_PY: &str = r#"
def on_ext_request(task, path, params):
    if path == '/count':
        notes = task.notes.copy()
        notes.open()
        return notes.rec_count
    if path == '/count_all':
        notes = task.notes.copy(unscoped=True)
        notes.open()
        return {'count': notes.rec_count, 'no_session': task.notes.session is None}
"#;

/// `/ext` runs without a session: a covered item fails closed there, an unscoped dataset sees
/// every tenant; paths not listed in `ext_paths` are not found, for anyone.
#[test]
fn ext_requests_have_no_session_and_fail_closed() {
    let files = shop_files(
        Setup::Builtin,
        r#"ext_paths = ["/count", "/count_all"]"#,
        &[("task.py", EXT_PY)],
    );
    let w = World::on(Setup::Builtin, start(&files).unwrap());
    seed(&w);
    let anonymous = w.server.anonymous();
    for c in [&anonymous, w.alice()] {
        refused(
            &w,
            c.post_json("/ext/count", &json!({})),
            403,
            "forbidden",
            "keeps each tenant's rows apart",
        );
        assert_eq!(
            ok(c.post_json("/ext/count_all", &json!({}))),
            json!({"result": {"count": 4, "no_session": true}})
        );
        for path in [
            "/ext/other",
            "/ext/count/more",
            "/ext/",
            "/ext/%2e%2e/count",
        ] {
            let reply = c.post_json(path, &json!({}));
            assert!(reply.0 == 404 || reply.0 == 405, "{path}: {reply:?}");
        }
    }
    let reply = anonymous.get("/ext/count");
    assert_eq!(reply.0, 405, "{reply:?}");
}

/// `on_created` runs without a session: a covered item fails closed there (the server does not
/// start, naming the problem); with `copy(unscoped=True)` it works, and a row it inserts keeps
/// the tenant the code gave it.
#[test]
fn on_created_fails_closed_unless_unscoped() {
    let scoped = "def on_created(task):\n    notes = task.notes.copy()\n    notes.open()\n";
    let err = start(&shop_files(Setup::Builtin, "", &[("task.py", scoped)]))
        .err()
        .expect("a scoped dataset in on_created does not start");
    assert!(err.contains("keeps each tenant's rows apart"), "{err}");

    let unscoped = r#"
def on_created(task):
    notes = task.notes.copy(unscoped=True)
    notes.open()
    if notes.rec_count == 0:
        notes.append()
        notes.title.value = 'seven: welcome'
        notes.user_id.value = 7
        notes.post()
        notes.apply()
"#;
    let w = World::on(
        Setup::Builtin,
        start(&shop_files(Setup::Builtin, "", &[("task.py", unscoped)])).unwrap(),
    );
    assert_eq!(
        w.server.db_query("SELECT title, user_id FROM notes"),
        w.server.db_query("VALUES ('seven: welcome', 7)")
    );
    for c in &w.users {
        assert!(common::ids(c, "notes", json!({})).is_empty());
    }
}
