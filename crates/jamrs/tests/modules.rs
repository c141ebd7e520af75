//! Server modules over real HTTP, real SQLite and the embedded Python: Jam.py's event order
//! (task handler first; a non-None result skips the item's handler and the default
//! processing), what each event may do (reference §4.6), open params changed by handlers,
//! errors and rollback, the watchdog, start-up errors, reloading in development mode, server
//! functions, raw SQL, `/ext`, `on_created`, and requests for items without handlers not
//! waiting for the interpreter. Jam.py's documented `on_apply` examples run as written there
//! (adapted only where jamrs differs: dates are `YYYY-MM-DD` strings, SQL goes through
//! datasets).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime};

use common::{Client, PASSWORD, TestServer, apply_ids, assert_error, column, ids, insert, ok};
use jamrs::app::RunOptions;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The test project.

/// The tests of this file share one Python interpreter. The test that holds the interpreter on
/// purpose (and the measurement) runs alone; the rest run side by side.
static INTERPRETER: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    INTERPRETER.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    INTERPRETER.write().unwrap_or_else(|e| e.into_inner())
}

/// Notes with a checklist detail (`lines`), an item without handlers (`plain`), a log the
/// handlers write to (`audit`); roles admin, and `blind`, which may not view notes.
struct Project {
    settings: String,
    notes_head: String,
    modules: Vec<(String, String)>,
    extra: Vec<(String, String)>,
    opts: RunOptions,
}

const GROUPS_AND_ROLES: &str = r#"
[[groups]]
name = "journals"
items = ["notes", "plain", "audit"]

[[groups]]
name = "details"
visible = false
items = ["lines"]

[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "blind"
default = ["view", "create", "edit", "delete"]
items = { notes = [], lines = [] }
"#;

const NOTES_FIELDS: &str = r#"
soft_delete = true
details = ["lines"]
default_order = ["id"]

[[fields]]
name = "title"
type = "text"
size = 100
required = true

[[fields]]
name = "stamp"
type = "text"
size = 100
"#;

const LINES: &str = r#"
master_field = "note"
default_order = ["id"]

[[fields]]
name = "note"
type = "integer"

[[fields]]
name = "text"
type = "text"
size = 100
required = true
"#;

const PLAIN: &str = r#"
default_order = ["id"]

[[fields]]
name = "title"
type = "text"
size = 100
"#;

const AUDIT: &str = r#"
default_order = ["id"]

[[fields]]
name = "what"
type = "text"
size = 200

[[fields]]
name = "rec"
type = "integer"

[[fields]]
name = "op"
type = "text"
size = 100
"#;

impl Project {
    fn new() -> Project {
        Project {
            settings: String::new(),
            notes_head: String::new(),
            modules: Vec::new(),
            extra: Vec::new(),
            opts: RunOptions::default(),
        }
    }

    /// A line of `jamrs.toml` (before its groups).
    fn setting(mut self, line: &str) -> Project {
        self.settings.push_str(line);
        self.settings.push('\n');
        self
    }

    /// A line at the top of `items/notes.toml` (`callable = [...]`).
    fn notes_key(mut self, line: &str) -> Project {
        self.notes_head.push_str(line);
        self.notes_head.push('\n');
        self
    }

    /// A server module: `task.py` or `items/<name>.py`.
    fn module(mut self, path: &str, code: &str) -> Project {
        self.modules.push((path.into(), code.into()));
        self
    }

    /// A file written after the defaults (so it may replace one of them).
    fn file(mut self, path: &str, text: &str) -> Project {
        self.extra.push((path.into(), text.into()));
        self
    }

    fn dev(mut self) -> Project {
        self.opts.dev = true;
        self
    }

    fn files(&self) -> Vec<(String, String)> {
        let mut files = vec![
            (
                "jamrs.toml".to_string(),
                format!("name = \"mods\"\n{}{GROUPS_AND_ROLES}", self.settings),
            ),
            (
                "items/notes.toml".to_string(),
                format!("{}{NOTES_FIELDS}", self.notes_head),
            ),
            ("items/lines.toml".to_string(), LINES.to_string()),
            ("items/plain.toml".to_string(), PLAIN.to_string()),
            ("items/audit.toml".to_string(), AUDIT.to_string()),
        ];
        files.extend(self.modules.iter().cloned());
        files.extend(self.extra.iter().cloned());
        files
    }

    fn try_start(self) -> Result<TestServer, String> {
        let files = self.files();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        TestServer::try_from_files_with(&refs, &self.opts)
    }

    fn start(self) -> TestServer {
        self.try_start()
            .unwrap_or_else(|e| panic!("the test server does not start: {e}"))
    }
}

fn rows(c: &Client, item: &str, params: Value) -> Value {
    ok(c.open(item, &params))["rows"].clone()
}

fn titles(c: &Client, item: &str) -> Vec<Value> {
    column(&ok(c.open(item, &json!({"fields": ["title"]}))), "title")
}

/// Asserts a 400 `module_error` with exactly `message`.
#[track_caller]
fn module_error(reply: &(u16, Value), message: &str) {
    let err = assert_error(reply, 400, "module_error");
    assert_eq!(err["message"], json!(message), "{err}");
}

/// Asserts a 400 `module_error` whose message contains every one of `parts`.
#[track_caller]
fn module_error_with(reply: &(u16, Value), parts: &[&str]) -> String {
    let err = assert_error(reply, 400, "module_error");
    let message = err["message"].as_str().unwrap().to_string();
    for p in parts {
        assert!(message.contains(p), "{p:?} not in {message:?}");
    }
    message
}

// ---------------------------------------------------------------------------------------------
// Event order.

const ORDER_TASK: &str = r#"
def on_open(item, params):
    if item.item_name != 'notes':
        return
    params['trace'] = ['task']
    if params.get('task_answers'):
        return [[[7, 'from the task']], None]
    if params.get('task_fails'):
        return [[], 'The task says no.']

def on_apply(item, delta, params, connection):
    if item.item_name != 'notes':
        return
    params['trace'] = ['task']
    if params.get('task_answers'):
        for d in delta:
            d.edit()
            d.stamp.value = 'task only'
            d.post()
        return item.apply_delta(delta, params, connection)
"#;

const ORDER_NOTES: &str = r#"
def on_open(item, params):
    if params.get('task_answers'):
        raise Exception('the item handler ran after the task answered')
    params['trace'].append('item')
    if params.get('item_answers'):
        return [[[8, ','.join(params['trace'])]], '']

def on_apply(item, delta, params, connection):
    if params.get('task_answers'):
        raise Exception('the item handler ran after the task answered')
    params['trace'].append('item')
    for d in delta:
        d.edit()
        d.stamp.value = ','.join(params['trace'])
        d.post()
    if params.get('item_answers'):
        return item.apply_delta(delta, params, connection)
    if params.get('bad_answer'):
        return 5
"#;

#[test]
fn on_open_runs_the_task_handler_first_and_an_answer_skips_the_rest() {
    let _py = shared();
    let server = Project::new()
        .module("task.py", ORDER_TASK)
        .module("items/notes.py", ORDER_NOTES)
        .start();
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "stored"})]);
    let open = |params: Value| {
        let mut p = json!({"fields": ["id", "title"]});
        p["params"] = params;
        rows(&c, "notes", p)
    };
    // Neither answers: both ran (task first), then the query.
    assert_eq!(open(json!({})), json!([[1, "stored"]]));
    // The item answers: it saw the task's trace; no query ran.
    assert_eq!(
        open(json!({"item_answers": true})),
        json!([[8, "task,item"]])
    );
    // The task answers: the item's handler does not run (it would raise), nor the query.
    assert_eq!(
        open(json!({"task_answers": true})),
        json!([[7, "from the task"]])
    );
    // [rows, error] with an error fails the open with it.
    module_error(
        &c.open("notes", &json!({"params": {"task_fails": true}})),
        "The task says no.",
    );
    // Other items: the task's handler returns None for them and they open as usual.
    insert(&c, "plain", &[json!({"title": "p"})]);
    assert_eq!(titles(&c, "plain"), [json!("p")]);
}

#[test]
fn on_apply_runs_the_task_handler_first_and_an_answer_skips_the_rest() {
    let _py = shared();
    let server = Project::new()
        .module("task.py", ORDER_TASK)
        .module("items/notes.py", ORDER_NOTES)
        .start();
    let c = server.client();
    let apply = |title: &str, params: Value| {
        ok(c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": title}}], "params": params}),
        ))
    };
    apply("default", json!({}));
    apply("item answers", json!({"item_answers": true}));
    apply("task answers", json!({"task_answers": true}));
    // One row each: an answer replaces the default processing, it does not add to it.
    assert_eq!(
        server.db_query("SELECT title, stamp FROM notes ORDER BY id"),
        server.db_query(
            "VALUES ('default', 'task,item'), ('item answers', 'task,item'), ('task answers', 'task only')"
        )
    );
    // An answer that is not apply_delta's result is refused, and nothing is saved.
    let before = server.db_snapshot();
    let message = module_error_with(
        &c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "x"}}], "params": {"bad_answer": true}}),
        ),
        &["apply_delta"],
    );
    assert!(message.contains("on_apply"), "{message}");
    assert_eq!(server.db_snapshot(), before);
}

// ---------------------------------------------------------------------------------------------
// What each open event may do.

#[test]
fn on_before_open_returning_false_gives_no_rows_and_may_change_the_query() {
    let _py = shared();
    let server = Project::new()
        .module(
            "items/notes.py",
            r#"
def on_before_open(item, query, params, connection):
    if params.get('none'):
        return False
    if params.get('first'):
        query.limit = 1
    if params.get('b_only'):
        query.filters.append(['title', item.task.consts.FILTER_EQ, 'b'])
"#,
        )
        .start();
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "a"}), json!({"title": "b"})]);
    let open = ok(c.open(
        "notes",
        &json!({"fields": ["id", "title"], "params": {"none": true}}),
    ));
    assert_eq!(open, json!({"fields": ["id", "title"], "rows": []}));
    assert_eq!(ids(&c, "notes", json!({})), [1, 2]);
    assert_eq!(ids(&c, "notes", json!({"params": {"first": true}})), [1]);
    assert_eq!(ids(&c, "notes", json!({"params": {"b_only": true}})), [2]);
}

/// What a client's apply writes must stay within the filters `on_open` adds (as PostgreSQL's
/// row security checks written rows against the policy): a change that would take a row out of
/// them is refused and nothing changes. Filters added in `on_before_open` only shape the query
/// and are not part of the check, so a row can be hidden by a change there.
#[test]
fn a_client_apply_cannot_take_a_row_out_of_the_filters_of_on_open() {
    let _py = shared();
    for (event, signature) in [
        ("on_open", "item, params"),
        ("on_before_open", "item, query, params, connection"),
    ] {
        let filters = if event == "on_open" {
            "params['__filters']"
        } else {
            "query.filters"
        };
        let server = Project::new()
            .module(
                "items/notes.py",
                &format!(
                    "def {event}({signature}):\n    {filters}.append(['stamp', item.task.consts.FILTER_ISNULL, True])\n"
                ),
            )
            .start();
        let c = server.client();
        let id = insert(&c, "notes", &[json!({"title": "a"})])[0];
        ok(c.apply(
            "notes",
            &json!({"changes": [{"op": "update", "id": id, "values": {"title": "b"}}]}),
        ));
        let hide =
            json!({"changes": [{"op": "update", "id": id, "values": {"stamp": "archived"}}]});
        if event == "on_open" {
            let before = server.db_snapshot();
            let err = assert_error(&c.apply("notes", &hide), 403, "forbidden");
            assert_eq!(err["fields"][0]["field"], json!("changes[0]"), "{err}");
            assert_eq!(server.db_snapshot(), before, "nothing changed");
            assert_eq!(ids(&c, "notes", json!({})), [id]);
            // An insert outside the filters is refused the same way.
            let err = assert_error(
                &c.apply(
                    "notes",
                    &json!({"changes": [{"op": "insert", "values": {"title": "c", "stamp": "x"}}]}),
                ),
                403,
                "forbidden",
            );
            assert_eq!(err["fields"][0]["field"], json!("changes[0]"), "{err}");
        } else {
            ok(c.apply("notes", &hide));
            assert!(ids(&c, "notes", json!({})).is_empty());
        }
    }
}

#[test]
fn on_after_open_can_change_rows_and_the_task_handler_serves_items_without_one() {
    let _py = shared();
    let server = Project::new()
        .module(
            "task.py",
            r#"
def on_after_open(item, query, params, connection, dataset):
    for r in dataset:
        r.title.value = r.title.value + ' (task)'
"#,
        )
        .module(
            "items/notes.py",
            r#"
def on_after_open(item, query, params, connection, dataset):
    for r in dataset:
        r.title.value = r.title.value.upper()
"#,
        )
        .start();
    let c = server.client();
    insert(
        &c,
        "notes",
        &[json!({"title": "one"}), json!({"title": "two"})],
    );
    insert(&c, "plain", &[json!({"title": "three"})]);
    // The item's handler replaces the task's (Jam.py: the item's, or else the task's).
    assert_eq!(titles(&c, "notes"), [json!("ONE"), json!("TWO")]);
    assert_eq!(titles(&c, "plain"), [json!("three (task)")]);
    // Only the reply changed.
    assert_eq!(
        server.db_query("SELECT title FROM notes ORDER BY id"),
        server.db_query("VALUES ('one'), ('two')")
    );
}

#[test]
fn open_params_changed_by_a_handler_are_honoured_and_bad_ones_are_refused() {
    let _py = shared();
    let server = Project::new()
        .module(
            "items/notes.py",
            r#"
def on_open(item, params):
    change = params.get('change')
    if change == 'limit':
        params['__limit'] = 1
    elif change == 'offset':
        params['__offset'] = 2
    elif change == 'order':
        params['__order'] = [['id', True]]
    elif change == 'fields':
        params['__fields'] = ['id', 'stamp']
    elif change == 'filters':
        params['__filters'].append(['title', item.task.consts.FILTER_CONTAINS, 'b'])
    elif change == 'replace_filters':
        params['__filters'] = [['id', item.task.consts.FILTER_IN, [1, 3]]]
    elif change == 'funcs':
        params['__fields'] = ['id']
        params['__funcs'] = {'id': 'count'}
    elif change == 'search':
        params['__search'] = ['title', 'c']
    elif change == 'bad_limit':
        params['__limit'] = 'ten'
    elif change == 'unknown':
        params['__bogus'] = 1
    elif change == 'bad_filters':
        params['__filters'] = 'title'
    elif change == 'bad_field':
        params['__filters'].append(['nope', 1, 2])
"#,
        )
        .start();
    let c = server.client();
    insert(
        &c,
        "notes",
        &[
            json!({"title": "a", "stamp": "x"}),
            json!({"title": "b", "stamp": "y"}),
            json!({"title": "c", "stamp": "z"}),
        ],
    );
    let open = |change: &str| c.open("notes", &json!({"params": {"change": change}}));
    let ids_of = |change: &str| {
        let mut v: Vec<i64> = column(&ok(open(change)), "id")
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        if change != "order" {
            v.sort_unstable();
        }
        v
    };
    assert_eq!(ids_of("none"), [1, 2, 3]);
    assert_eq!(ids_of("limit"), [1]);
    assert_eq!(ids_of("offset"), [3]);
    assert_eq!(ids_of("order"), [3, 2, 1]);
    assert_eq!(ids_of("filters"), [2]);
    assert_eq!(ids_of("replace_filters"), [1, 3]);
    assert_eq!(ids_of("search"), [3]);
    assert_eq!(ok(open("fields"))["fields"], json!(["id", "stamp"]));
    assert_eq!(ok(open("funcs"))["rows"], json!([[3]]));
    // The client's own filters are there for the handler to extend, not to replace.
    assert_eq!(
        ids(
            &c,
            "notes",
            json!({"filters": [["id", "ge", 2]], "params": {"change": "filters"}})
        ),
        [2]
    );
    // A bad change names the key; a bad field is refused as a client's would be.
    module_error_with(&open("bad_limit"), &["__limit"]);
    module_error_with(&open("unknown"), &["__bogus"]);
    module_error_with(&open("bad_filters"), &["__filters"]);
    let (status, body) = open("bad_field");
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("nope"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// What each apply event may do.

#[test]
fn on_before_apply_record_returning_false_skips_the_record_and_its_details() {
    let _py = shared();
    let server = Project::new()
        .module(
            "items/notes.py",
            r#"
def on_before_apply_record(item, delta, params, connection):
    if delta.title.value == 'skip':
        return False
"#,
        )
        .module(
            "items/lines.py",
            r#"
def on_before_apply_record(item, delta, params, connection):
    if delta.text.value == 'skip me':
        return False
"#,
        )
        .start();
    let c = server.client();
    let line = |text: &str| json!({"op": "insert", "values": {"text": text}});
    let reply = ok(c.apply(
        "notes",
        &json!({"changes": [
            {"op": "insert", "values": {"title": "keep"}, "details": {"lines": [line("a"), line("skip me"), line("b")]}},
            {"op": "insert", "values": {"title": "skip"}, "details": {"lines": [line("c"), line("d")]}},
        ]}),
    ));
    assert_eq!(reply["changes"][1]["id"], Value::Null, "{reply}");
    assert_eq!(
        server.db_query("SELECT id, title FROM notes"),
        server.db_query("VALUES (1, 'keep')")
    );
    assert_eq!(
        server.db_query("SELECT note, text FROM lines ORDER BY id"),
        server.db_query("VALUES (1, 'a'), (1, 'b')")
    );
    // An update it skips changes nothing, details included.
    let before = server.db_snapshot();
    ok(c.apply(
        "notes",
        &json!({"changes": [{"op": "update", "id": 1, "values": {"title": "skip"},
                             "details": {"lines": [line("e"), {"op": "delete", "id": 1}]}}]}),
    ));
    assert_eq!(server.db_snapshot(), before);
}

const AUDIT_TASK: &str = r#"
def on_after_apply_record(item, delta, params, connection):
    if item.item_name == 'audit':
        return
    log = item.task.audit.copy()
    log.open(open_empty=True)
    log.append()
    log.what.value = item.item_name
    log.rec.value = delta.id.value
    if delta.rec_inserted():
        log.op.value = 'insert'
    elif delta.rec_modified():
        log.op.value = 'update'
    else:
        log.op.value = 'delete'
    log.post()
    log.apply(connection)
"#;

#[test]
fn on_after_apply_record_runs_per_record_and_detail_level_inside_the_transaction() {
    let _py = shared();
    let server = Project::new().module("task.py", AUDIT_TASK).start();
    let c = server.client();
    let line = |text: &str| json!({"op": "insert", "values": {"text": text}});
    ok(c.apply(
        "notes",
        &json!({"changes": [
            {"op": "insert", "values": {"title": "n1"}, "details": {"lines": [line("a"), line("b")]}},
            {"op": "insert", "values": {"title": "n2"}},
        ]}),
    ));
    ok(c.apply(
        "notes",
        &json!({"changes": [
            {"op": "update", "id": 1, "values": {"title": "n1'"},
             "details": {"lines": [{"op": "update", "id": 2, "values": {"text": "b'"}}]}},
            {"op": "delete", "id": 2},
        ]}),
    ));
    // A record's details are saved (and logged) before the record's own event, as in Jam.py;
    // the new keys are in the delta by then.
    assert_eq!(
        server.db_query("SELECT what, rec, op FROM audit ORDER BY id"),
        server.db_query(
            "VALUES ('lines', 1, 'insert'), ('lines', 2, 'insert'), ('notes', 1, 'insert'), \
             ('notes', 2, 'insert'), ('lines', 2, 'update'), ('notes', 1, 'update'), \
             ('notes', 2, 'delete')"
        )
    );
    // A later record that fails takes the log rows written before it along.
    let before = server.db_snapshot();
    let reply = c.apply(
        "notes",
        &json!({"changes": [
            {"op": "insert", "values": {"title": "n3"}, "details": {"lines": [line("c")]}},
            {"op": "insert", "values": {"stamp": "no title"}},
        ]}),
    );
    assert_error(&reply, 422, "validation");
    assert_eq!(server.db_snapshot(), before);
}

#[test]
fn abort_and_raise_fail_with_the_message_and_roll_the_apply_back() {
    let _py = shared();
    let server = Project::new()
        .module(
            "items/notes.py",
            r#"
def on_open(item, params):
    if params.get('abort'):
        item.abort('No opening today.')

def on_apply(item, delta, params, connection):
    result = item.apply_delta(delta, params, connection)
    if params.get('abort'):
        item.abort('Stopped by the module.')
    if params.get('raise'):
        raise Exception('Raised by the module.')
    if params.get('bare'):
        raise ValueError()
    return result
"#,
        )
        .module(
            "items/lines.py",
            r#"
def on_after_apply_record(item, delta, params, connection):
    if delta.text.value == 'fail':
        raise Exception('A line failed.')
"#,
        )
        .start();
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "kept"})]);
    let before = server.db_snapshot();
    let apply = |params: Value| {
        c.apply(
            "notes",
            &json!({"changes": [
                {"op": "insert", "values": {"title": "new"}},
                {"op": "update", "id": 1, "values": {"title": "changed"}},
            ], "params": params}),
        )
    };
    module_error(&apply(json!({"abort": true})), "Stopped by the module.");
    assert_eq!(server.db_snapshot(), before);
    module_error(&apply(json!({"raise": true})), "Raised by the module.");
    assert_eq!(server.db_snapshot(), before);
    module_error(&apply(json!({"bare": true})), "ValueError");
    assert_eq!(server.db_snapshot(), before);
    // From a detail's record event, after the master was saved.
    module_error(
        &c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "m"},
                "details": {"lines": [{"op": "insert", "values": {"text": "ok"}},
                                      {"op": "insert", "values": {"text": "fail"}}]}}]}),
        ),
        "A line failed.",
    );
    assert_eq!(server.db_snapshot(), before);
    module_error(
        &c.open("notes", &json!({"params": {"abort": true}})),
        "No opening today.",
    );
    // The same requests without the failure go through.
    ok(apply(json!({})));
    assert_eq!(titles(&c, "notes"), [json!("changed"), json!("new")]);
}

// ---------------------------------------------------------------------------------------------
// The watchdog.

#[test]
fn a_handler_that_runs_too_long_is_stopped_and_the_server_keeps_serving() {
    let _py = shared();
    let server = Project::new()
        .setting("module_timeout = 1")
        .module(
            "items/notes.py",
            r#"
def on_open(item, params):
    if params.get('spin'):
        while True:
            pass
    if params.get('stubborn'):
        # A loop that swallows exceptions must be stopped too.
        while True:
            try:
                while True:
                    pass
            except Exception:
                pass

def on_apply(item, delta, params, connection):
    result = item.apply_delta(delta, params, connection)
    if params.get('spin'):
        while True:
            pass
    return result
"#,
        )
        .start();
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "a"})]);
    insert(&c, "plain", &[json!({"title": "p"})]);
    let stopped = "ran longer than 1 s";
    module_error_with(
        &c.open("notes", &json!({"params": {"spin": true}})),
        &[stopped],
    );
    // The server still serves: other items, and the same item and handler.
    assert_eq!(titles(&c, "plain"), [json!("p")]);
    assert_eq!(titles(&c, "notes"), [json!("a")]);
    module_error_with(
        &c.open("notes", &json!({"params": {"stubborn": true}})),
        &[stopped],
    );
    assert_eq!(titles(&c, "notes"), [json!("a")]);
    // An apply stopped half-way is rolled back.
    let before = server.db_snapshot();
    module_error_with(
        &c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "b"}}], "params": {"spin": true}}),
        ),
        &[stopped],
    );
    assert_eq!(server.db_snapshot(), before);
    insert(&c, "notes", &[json!({"title": "b"})]);
    assert_eq!(titles(&c, "notes"), [json!("a"), json!("b")]);
}

// ---------------------------------------------------------------------------------------------
// Start-up and development mode.

#[test]
fn a_module_that_does_not_load_refuses_to_start_naming_file_and_line() {
    let _py = shared();
    let err = Project::new()
        .module(
            "items/notes.py",
            "def on_open(item, params):\n    return [\n\ndef x(:\n",
        )
        .try_start()
        .err()
        .expect("a syntax error refuses to start");
    assert!(err.contains("items/notes.py, line "), "{err}");
    assert!(err.contains("SyntaxError"), "{err}");
    let err = Project::new()
        .module("task.py", "import os\n\nx = 1 / 0\n")
        .module("items/plain.py", "def on_open(item, params)\n    pass\n")
        .try_start()
        .err()
        .expect("an error while loading refuses to start");
    // Every module that does not load is reported at once.
    assert!(err.contains("task.py, line 3: ZeroDivisionError"), "{err}");
    assert!(err.contains("items/plain.py, line 1: SyntaxError"), "{err}");
}

/// Rewrites a module with a modification time distinct from the last one (so a coarse
/// file-system clock cannot hide the change).
fn rewrite(path: &Path, code: &str) {
    let before = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, code).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    let later = before.max(SystemTime::now()) + Duration::from_secs(2);
    file.set_modified(later).unwrap();
}

/// Repeats `f` until it returns `Some`, for at most 15 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn answering(version: &str) -> String {
    format!("def on_open(item, params):\n    return [[[1, '{version}']], None]\n")
}

#[test]
fn development_mode_reloads_changed_modules_and_isolates_a_broken_one() {
    let _py = shared();
    let server = Project::new()
        .module("items/notes.py", &answering("v1"))
        .dev()
        .start();
    let c = server.client();
    insert(&c, "plain", &[json!({"title": "p"})]);
    let notes = || c.open("notes", &json!({"fields": ["id", "title"]}));
    assert_eq!(ok(notes())["rows"], json!([[1, "v1"]]));
    let path = server.project().join("items/notes.py");

    rewrite(&path, &answering("v2"));
    eventually("the changed module", || {
        (ok(notes())["rows"] == json!([[1, "v2"]])).then_some(())
    });

    rewrite(
        &path,
        "def on_open(item, params):\n    return 1\n\ndef broken(:\n",
    );
    let message = eventually("the broken module's error", || {
        let reply = notes();
        (reply.0 == 400).then(|| module_error_with(&reply, &["items/notes.py, line 4"]))
    });
    assert!(message.contains("SyntaxError"), "{message}");
    // Its item's other requests fail the same way; other items keep working.
    module_error_with(
        &c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "x"}}]}),
        ),
        &["items/notes.py, line 4"],
    );
    assert_eq!(titles(&c, "plain"), [json!("p")]);

    rewrite(&path, &answering("v3"));
    eventually("the fixed module", || {
        let reply = notes();
        (reply.0 == 200 && reply.1["rows"] == json!([[1, "v3"]])).then_some(())
    });
}

// ---------------------------------------------------------------------------------------------
// Server functions, raw SQL, /ext and on_created.

const FUNCTIONS: &str = r#"
def total(item, a, b):
    info = item.session['user_info']
    return {'sum': a + b, 'item': item.item_name, 'user': info['login']}

def count_titles(item, prefix):
    notes = item.copy()
    notes.set_where(title__startwith=prefix)
    notes.open()
    return [n.title.value for n in notes]

def rename(item, id, title):
    notes = item.copy()
    notes.set_where(id=id)
    notes.open()
    notes.edit()
    notes.title.value = title
    notes.post()
    notes.apply()
    if title == 'fail':
        raise Exception('Renamed, then failed.')
    return notes.rec_count

def secret(item):
    return 'not callable'

def on_open(item, params):
    pass
"#;

#[test]
fn server_functions_are_callable_only_when_listed_and_viewable() {
    let _py = shared();
    let server = Project::new()
        .notes_key(r#"callable = ["total", "count_titles", "rename"]"#)
        .module("items/notes.py", FUNCTIONS)
        .start();
    let c = server.client();
    insert(
        &c,
        "notes",
        &[
            json!({"title": "alpha"}),
            json!({"title": "beta"}),
            json!({"title": "alps"}),
        ],
    );
    let call = |c: &Client, f: &str, body: Value| {
        c.post_json(&format!("/api/items/notes/call/{f}"), &body)
    };
    assert_eq!(
        ok(call(&c, "total", json!({"args": [2, 3.5]}))),
        json!({"result": {"sum": 5.5, "item": "notes", "user": "admin"}})
    );
    assert_eq!(
        ok(call(&c, "count_titles", json!({"args": ["al"]}))),
        json!({"result": ["alpha", "alps"]})
    );
    // A function that writes runs in one transaction.
    assert_eq!(
        ok(call(&c, "rename", json!({"args": [2, "gamma"]}))),
        json!({"result": 1})
    );
    let before = server.db_snapshot();
    module_error(
        &call(&c, "rename", json!({"args": [2, "fail"]})),
        "Renamed, then failed.",
    );
    assert_eq!(server.db_snapshot(), before);
    // Wrong arguments are the function's error, not the server's.
    module_error_with(&call(&c, "total", json!({"args": [1]})), &["total()"]);
    // Not listed: a defined function, a handler, nothing at all.
    for f in ["secret", "on_open", "nope", "__import__"] {
        assert_error(&call(&c, f, json!({})), 404, "not_found");
    }
    assert_error(&call(&c, "total", json!({"args": 1})), 400, "bad_request");
    // A role that may not view the item may not call its functions.
    server.add_user("blind", "blind", None);
    let blind = server.login("blind", PASSWORD);
    assert_error(
        &call(&blind, "total", json!({"args": [1, 2]})),
        403,
        "forbidden",
    );
    assert_error(
        &call(&server.anonymous(), "total", json!({"args": [1, 2]})),
        401,
        "unauthorized",
    );
}

#[test]
fn a_callable_function_missing_from_the_module_refuses_to_start() {
    let _py = shared();
    let err = Project::new()
        .notes_key(r#"callable = ["total", "missing"]"#)
        .module("items/notes.py", FUNCTIONS)
        .try_start()
        .err()
        .expect("a listed function that does not exist refuses to start");
    assert!(err.contains("items/notes.py"), "{err}");
    assert!(err.contains("\"missing\""), "{err}");
    assert!(!err.contains("\"total\""), "{err}");
}

const RAW: &str = r#"
def raw(item, text):
    task.execute('INSERT INTO audit (what, op) VALUES (?, ?)', [text, 'raw'])
    return task.select('SELECT what, op FROM audit WHERE what = ?', [text])

def raw_fail(item, text):
    item.task.execute([('INSERT INTO audit (what, op) VALUES (?, ?)', (text, 'raw'))])
    raise Exception('Inserted, then failed.')

def raw_in_open(item):
    return task.select('SELECT COUNT(*) FROM audit')

def raw_commit(item, text):
    task.execute('INSERT INTO audit (what, op) VALUES (?, ?)', [text, 'raw'])
    task.execute(text)
"#;

#[test]
fn raw_sql_is_refused_unless_the_project_allows_it() {
    let _py = shared();
    let server = Project::new()
        .notes_key(r#"callable = ["raw", "raw_fail", "raw_in_open"]"#)
        .module("items/notes.py", RAW)
        .start();
    let c = server.client();
    let before = server.db_snapshot();
    for f in ["raw", "raw_fail"] {
        module_error_with(
            &c.post_json(
                &format!("/api/items/notes/call/{f}"),
                &json!({"args": ["x"]}),
            ),
            &["raw_sql = true"],
        );
    }
    assert_eq!(server.db_snapshot(), before);
}

#[test]
fn raw_sql_binds_its_parameters_and_runs_in_the_transaction() {
    let _py = shared();
    let server = Project::new()
        .setting("raw_sql = true")
        .notes_key(r#"callable = ["raw", "raw_fail", "raw_in_open", "raw_commit"]"#)
        .module("items/notes.py", RAW)
        .start();
    let c = server.client();
    let call = |f: &str, args: Value| {
        c.post_json(
            &format!("/api/items/notes/call/{f}"),
            &json!({ "args": args }),
        )
    };
    let text = "x'); DROP TABLE audit; --";
    assert_eq!(
        ok(call("raw", json!([text]))),
        json!({"result": [[text, "raw"]]})
    );
    assert_eq!(
        server.db_query("SELECT what FROM audit"),
        server.db_query(&format!("VALUES ('{}')", text.replace('\'', "''")))
    );
    let before = server.db_snapshot();
    module_error(&call("raw_fail", json!(["y"])), "Inserted, then failed.");
    assert_eq!(server.db_snapshot(), before);
    assert_eq!(ok(call("raw_in_open", json!([]))), json!({"result": [[1]]}));

    // The request's transaction is the store's: raw SQL cannot end it or make savepoints, and
    // what the function wrote before trying is rolled back with the rest.
    let before = server.db_snapshot();
    for statement in [
        "COMMIT",
        "ROLLBACK",
        "BEGIN",
        "END",
        "SAVEPOINT mine",
        "RELEASE jamrs_write",
        "/* hidden */ commit",
    ] {
        // SQLite refuses it, and the author is told why (no SQLite text reaches the client).
        let err = assert_error(&call("raw_commit", json!([statement])), 400, "bad_request");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("may not begin, commit or roll back a transaction"),
            "{err}"
        );
        assert!(!err.to_string().contains("not authorized"), "{err}");
        assert_eq!(server.db_snapshot(), before, "{statement}");
    }
    assert_eq!(
        ok(call("raw", json!(["after"])))["result"],
        json!([["after", "raw"]])
    );
}

#[test]
fn ext_answers_only_its_paths_without_a_session() {
    let _py = shared();
    let server = Project::new()
        .setting(r#"ext_paths = ["/hooks/ping"]"#)
        .module(
            "task.py",
            r#"
def on_ext_request(task, path, params):
    if params and params.get('fail'):
        raise Exception('The hook failed.')
    return {'path': path, 'params': params, 'no_session': task.notes.session is None}
"#,
        )
        .start();
    // No login needed (it is for other systems); the handler sees no session.
    let anonymous = server.anonymous();
    assert_eq!(
        ok(anonymous.post_json("/ext/hooks/ping", &json!({"a": 1}))),
        json!({"result": {"path": "/hooks/ping", "params": {"a": 1}, "no_session": true}})
    );
    // A logged-in caller's session is not passed on either.
    assert_eq!(
        ok(server.client().post_json("/ext/hooks/ping", &json!({})))["result"]["no_session"],
        json!(true)
    );
    for path in ["/ext/hooks/other", "/ext/hooks", "/ext/hooks/ping/more"] {
        assert_error(&anonymous.post_json(path, &json!({})), 404, "not_found");
    }
    module_error(
        &anonymous.post_json("/ext/hooks/ping", &json!({"fail": true})),
        "The hook failed.",
    );
}

#[test]
fn ext_paths_without_a_handler_are_not_found() {
    let _py = shared();
    let server = Project::new()
        .setting(r#"ext_paths = ["/hooks/ping"]"#)
        .module("items/plain.py", "def on_open(item, params):\n    pass\n")
        .start();
    assert_error(
        &server.anonymous().post_json("/ext/hooks/ping", &json!({})),
        404,
        "not_found",
    );
}

#[test]
fn on_created_runs_once_at_start_without_a_session() {
    let _py = shared();
    let server = Project::new()
        .module(
            "task.py",
            r#"
def on_created(task):
    log = task.audit.copy()
    log.open(open_empty=True)
    log.append()
    log.what.value = 'created'
    log.op.value = repr(task.audit.session) + ' ' + repr(task.notes.user_info)
    log.post()
    log.apply()
"#,
        )
        .start();
    assert_eq!(
        server.db_query("SELECT what, op FROM audit"),
        server.db_query("VALUES ('created', 'None None')")
    );
}

// ---------------------------------------------------------------------------------------------
// Jam.py's documented on_apply examples.

#[test]
fn jampy_example_setting_a_date_on_every_changed_record() {
    let _py = shared();
    // docs/refs/server/item/on_apply.txt, with v7's signature; `plain` gets a date and a
    // date-time field.
    let server = Project::new()
        .file(
            "items/plain.toml",
            r#"
default_order = ["id"]

[[fields]]
name = "title"
type = "text"
size = 100

[[fields]]
name = "date"
type = "date"

[[fields]]
name = "modified"
type = "datetime"
"#,
        )
        .module(
            "items/plain.py",
            r#"
import datetime

def on_apply(item, delta, params, connection):
    for d in delta:
        d.edit()
        d.date.value = datetime.datetime.now()
        d.modified.value = datetime.datetime.now()
        d.post()
"#,
        )
        .start();
    let c = server.client();
    insert(&c, "plain", &[json!({"title": "a"}), json!({"title": "b"})]);
    server.db_execute("UPDATE plain SET date = '2001-01-01', modified = NULL");
    apply_ids(
        &c,
        "plain",
        json!([{"op": "update", "id": 1, "values": {"title": "a'"}},
               {"op": "insert", "values": {"title": "c", "date": "2002-02-02"}}]),
    );
    // The changed and the new record have today's date; the untouched one keeps its own.
    assert_eq!(
        server.db_query("SELECT date FROM plain WHERE id IN (1, 3) ORDER BY id"),
        server.db_query(if common::on_postgres() {
            // The harness's PostgreSQL connections read dates in UTC (as the machines that run
            // the tests keep local time).
            "VALUES (CAST(CURRENT_DATE AS text)), (CAST(CURRENT_DATE AS text))"
        } else {
            "VALUES (date('now', 'localtime')), (date('now', 'localtime'))"
        })
    );
    assert_eq!(
        server.db_query("SELECT date, modified FROM plain WHERE id = 2"),
        server.db_query("VALUES ('2001-01-01', NULL)")
    );
    // The date-time is now (to the minute, whatever the test machine's speed).
    assert_eq!(
        server.db_int(if common::on_postgres() {
            "SELECT COUNT(*) FROM plain WHERE id IN (1, 3) \
             AND abs(extract(epoch FROM modified - LOCALTIMESTAMP)) < 60"
        } else {
            "SELECT COUNT(*) FROM plain WHERE id IN (1, 3) \
             AND abs(strftime('%s', modified) - strftime('%s', 'now', 'localtime')) < 60"
        }),
        2
    );
}

const SHOP_TASK: &str = r#"name = "shop"

[[groups]]
name = "catalogs"
items = ["tracks"]

[[groups]]
name = "journals"
items = ["invoices"]

[[groups]]
name = "details"
visible = false
items = ["invoice_table"]

[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]
"#;

const TRACKS: &str = r#"
default_order = ["id"]

[[fields]]
name = "name"
type = "text"
size = 100

[[fields]]
name = "sold"
type = "integer"
"#;

const INVOICES: &str = r#"
details = ["invoice_table"]

[[fields]]
name = "customer"
type = "text"
size = 100
"#;

const INVOICE_TABLE: &str = r#"
master_field = "invoice"
default_order = ["id"]

[[fields]]
name = "invoice"
type = "integer"

[[fields]]
name = "track"
type = "integer"
lookup = { item = "tracks", field = "name" }
required = true

[[fields]]
name = "quantity"
type = "integer"
required = true
"#;

/// Jam.py's documented example (on_apply.txt: saving invoices updates the tracks' `sold` in
/// the same transaction), written with datasets as `m_apply.txt` shows them instead of raw
/// SQL on a cursor.
const INVOICES_PY: &str = r#"
def on_apply(item, delta, params, connection):
    tracks = item.task.tracks.copy()
    for d in delta:
        for t in d.invoice_table:
            tracks.set_where(id=t.track.value)
            tracks.open(connection=connection)
            tracks.edit()
            if t.rec_inserted():
                tracks.sold.value += t.quantity.value
            elif t.rec_deleted():
                tracks.sold.value -= t.quantity.old_value
            elif t.rec_modified():
                tracks.sold.value += t.quantity.value - t.quantity.old_value
            tracks.post()
            tracks.apply(connection)
"#;

#[test]
fn jampy_example_updating_another_item_in_the_same_transaction() {
    let _py = shared();
    let server = TestServer::from_files(&[
        ("jamrs.toml", SHOP_TASK),
        ("items/tracks.toml", TRACKS),
        ("items/invoices.toml", INVOICES),
        ("items/invoice_table.toml", INVOICE_TABLE),
        ("items/invoices.py", INVOICES_PY),
    ]);
    let c = server.client();
    insert(
        &c,
        "tracks",
        &[json!({"name": "T1"}), json!({"name": "T2"})],
    );
    let sold = || rows(&c, "tracks", json!({"fields": ["sold"]}));
    let line = |track: i64, quantity: Value| json!({"op": "insert", "values": {"track": track, "quantity": quantity}});
    apply_ids(
        &c,
        "invoices",
        json!([{"op": "insert", "values": {"customer": "Ann"},
                "details": {"invoice_table": [line(1, json!(2)), line(2, json!(1))]}}]),
    );
    assert_eq!(sold(), json!([[2], [1]]));
    apply_ids(
        &c,
        "invoices",
        json!([{"op": "update", "id": 1, "values": {},
        "details": {"invoice_table": [
            {"op": "update", "id": 1, "values": {"quantity": 5}},
            {"op": "delete", "id": 2},
            line(2, json!(3)),
        ]}}]),
    );
    assert_eq!(sold(), json!([[5], [3]]));
    // A line the default processing refuses, after the handler counted the lines before it:
    // the whole apply is one transaction, so the tracks keep their counts.
    let before = server.db_snapshot();
    let reply = c.apply(
        "invoices",
        &json!({"changes": [{"op": "insert", "values": {"customer": "Ben"},
                "details": {"invoice_table": [line(1, json!(4)), line(2, Value::Null)]}}]}),
    );
    assert_error(&reply, 422, "validation");
    assert_eq!(server.db_snapshot(), before);
    assert_eq!(sold(), json!([[5], [3]]));
}

// ---------------------------------------------------------------------------------------------
// The interpreter lock.

/// `slow` holds the interpreter for `hold` seconds without letting other threads in (a switch
/// interval longer than the hold), leaving a `done` file when it lets go; `quick` has a
/// handler that does nothing; `plain` has none.
const SLOW: &str = r#"
import os, sys, time

HERE = os.path.dirname(__file__)

def on_open(item, params):
    hold = params.get('hold')
    if not hold:
        return
    # The switch interval first: a request that took the interpreter between the 'started'
    # file and this line would answer before the hold, and the control below would fail.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    open(os.path.join(HERE, 'started'), 'w').close()
    try:
        end = time.monotonic() + hold
        while time.monotonic() < end:
            pass
    finally:
        open(os.path.join(HERE, 'done'), 'w').close()
        sys.setswitchinterval(previous)
"#;

#[test]
fn requests_for_items_without_handlers_do_not_wait_for_the_interpreter() {
    let _alone = exclusive();
    let server = Project::new()
        .file("items/slow.toml", PLAIN)
        .file("items/quick.toml", PLAIN)
        .file(
            "jamrs.toml",
            &format!(
                "name = \"mods\"\n{}",
                GROUPS_AND_ROLES.replace(
                    r#"items = ["notes", "plain", "audit"]"#,
                    r#"items = ["notes", "plain", "audit", "slow", "quick"]"#
                )
            ),
        )
        .module("items/slow.py", SLOW)
        .module("items/quick.py", "def on_open(item, params):\n    pass\n")
        .start();
    let items = server.project().join("items");
    let (started, done) = (items.join("started"), items.join("done"));
    let c = server.client();
    insert(&c, "plain", &[json!({"title": "p"})]);
    let cookie = c.cookie.clone();
    let url = server.url.clone();
    let hold = |seconds: u64| {
        let (url, cookie) = (url.clone(), cookie.clone());
        std::thread::spawn(move || {
            Client::with_cookie(&url, cookie).open("slow", &json!({"params": {"hold": seconds}}))
        })
    };
    let wait_for = |file: &Path| eventually("the slow handler", || file.exists().then_some(()));

    // `plain` answers while `slow` holds the interpreter.
    let slow = hold(4);
    wait_for(&started);
    assert_eq!(titles(&c, "plain"), [json!("p")]);
    assert!(
        !done.exists(),
        "the open of an item without handlers waited for another item's handler"
    );
    assert_eq!(slow.join().unwrap().0, 200);

    // The control: `quick` has a handler, so it waits (this is what the check above would see
    // if `plain` took the interpreter lock).
    std::fs::remove_file(&started).unwrap();
    std::fs::remove_file(&done).unwrap();
    let slow = hold(2);
    wait_for(&started);
    ok(c.open("quick", &json!({})));
    assert!(
        done.exists(),
        "the control did not wait: the check proves nothing"
    );
    assert_eq!(slow.join().unwrap().0, 200);
}

/// Not a check: the cost of an `on_open` handler per request. Run it with
/// `cargo test --release -p jamrs --test modules -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn measure_the_cost_of_an_on_open_handler() {
    let _alone = exclusive();
    let server = Project::new()
        .module("items/notes.py", "def on_open(item, params):\n    pass\n")
        .start();
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "n"})]);
    insert(&c, "plain", &[json!({"title": "p"})]);
    let n = 2000;
    let mut report = Vec::new();
    for round in 0..2 {
        for item in ["plain", "notes"] {
            let t = Instant::now();
            for _ in 0..n {
                ok(c.open(item, &json!({"fields": ["id", "title"]})));
            }
            let per = t.elapsed() / n;
            if round == 1 {
                report.push(format!("{item}: {per:?} per open"));
            }
        }
    }
    println!("{n} opens each over HTTP: {}", report.join(", "));
}
