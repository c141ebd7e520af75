//! Faults of server code that must fail one request and nothing else, over real HTTP, real
//! SQLite and the embedded Python: results that cannot become JSON (a list that contains itself,
//! values nested 10,000 deep, a result of hundreds of megabytes), a panic inside a method Python
//! calls (the connection it had been lent comes back, and the writer's transaction is rolled
//! back), engine errors keeping their kind through a module (and internal text never reaching a
//! client), and a client's `params` that try to set what only the server sets.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, TestServer, assert_error, column, error_fields, insert, ok};
use serde_json::{Value, json};

const TASK: &str = r#"
name = "faults"
raw_sql = true

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

const NOTES: &str = r#"
details = ["lines"]
default_order = ["id"]

[[fields]]
name = "title"
type = "text"
size = 100
required = true

[[indexes]]
fields = ["title"]
unique = true
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
"#;

const AUDIT: &str = r#"
default_order = ["id"]

[[fields]]
name = "what"
type = "text"
size = 200
"#;

const PLAIN: &str = r#"
callable = ["self_ref", "deep_list", "deep_dict", "huge", "self_ref_field", "log",
            "append_next_cancel", "edit_each", "open_lines_of", "open_notes_safely",
            "duplicate_title", "untitled", "bad_sql", "caught", "aborts", "raises",
            "text_forever", "endless_params"]
default_order = ["id"]

[[fields]]
name = "title"
type = "text"
size = 100
"#;

const PLAIN_PY: &str = r#"
def self_ref(item):
    x = []
    x.append(x)
    return x

def deep_list(item):
    x = []
    for _ in range(10000):
        x = [x]
    return x

def deep_dict(item):
    x = {}
    for _ in range(10000):
        x = {'a': x}
    return {'deep': x}

def huge(item):
    # 100 MB of JSON from less than a megabyte of Python objects.
    return ['x' * 1000000] * 100

def self_ref_field(item):
    x = []
    x.append(x)
    audit = item.task.audit.copy()
    audit.open(open_empty=True)
    audit.append()
    audit.what.value = x
    audit.post()
    audit.apply()

def log(item, what):
    audit = item.task.audit.copy()
    audit.open(open_empty=True)
    audit.append()
    audit.what.value = what
    audit.post()
    audit.apply()
    return what

def append_next_cancel(item):
    audit = item.task.audit.copy()
    audit.open()
    audit.append()
    audit.what.value = 'written first'
    audit.post()
    audit.apply()
    audit.append()
    audit.next()
    audit.cancel()
    return [audit.rec_count, audit.rec_no]

def edit_each(item, title):
    notes = item.task.notes.copy()
    notes.open()
    for n in notes:
        n.title.value = title + ' ' + str(n.id.value)
    notes.apply()
    return notes.rec_count

def open_lines_of(item, note):
    lines = item.task.lines.copy()
    lines.set_where(note=note)
    lines.open()
    return lines.rec_count

def open_notes_safely(item):
    notes = item.task.notes.copy()
    notes.open(safe=True)
    return notes.rec_count

def duplicate_title(item, title):
    notes = item.task.notes.copy()
    notes.open(open_empty=True)
    notes.append()
    notes.title.value = title
    notes.post()
    notes.apply()

def untitled(item):
    notes = item.task.notes.copy()
    notes.open(open_empty=True)
    notes.append()
    notes.post()
    notes.apply()

def bad_sql(item):
    task.execute('SELEC nothing FROM nowhere')

def caught(item, note):
    lines = item.task.lines.copy()
    lines.set_where(note=note)
    try:
        lines.open()
    except RuntimeError as e:
        return [type(e).__name__, e.code, str(e)]

def aborts(item):
    item.abort('Stopped by the module.')

def raises(item):
    raise Exception('Raised by the module.')

def endless_params(item):
    import itertools
    task.execute('SELECT ?', itertools.repeat(1))

def text_forever(item):
    notes = item.task.notes.copy()
    notes.open()
    return notes.title.display_text
"#;

const NOTES_PY: &str = r#"
def on_open(item, params):
    if params.get('self_ref'):
        x = []
        x.append(x)
        params['mine'] = x
    if params.get('deep'):
        x = []
        for _ in range(10000):
            x = [x]
        params['__filters'] = x
    if params.get('again'):
        # Opens its own item, which runs this handler again, without end.
        try:
            item.copy().open(params={'again': True, 'deepest': params.get('deepest')})
        except Exception as e:
            if params.get('deepest') and 'nested' in str(e):
                # The deepest level, refused a further one: now Python's own recursion
                # (through C, which uses the thread's stack) on top of it.
                def f(n):
                    return sorted([1], key=lambda x: f(n + 1))
                f(0)
            raise
    params['seen_client_request'] = params['__client_request']
    if params.get('trace') and params['__client_request'] is not True:
        raise Exception('the handler was told this is not a client request')

def on_field_get_text(field):
    return field.display_text

def on_apply(item, delta, params, connection):
    if params.get('check_keys'):
        for k in params:
            if k.startswith('__'):
                raise Exception('a client set ' + k)
"#;

fn start() -> TestServer {
    TestServer::from_files(&[
        ("jamrs.toml", TASK),
        ("items/notes.toml", NOTES),
        ("items/lines.toml", LINES),
        ("items/audit.toml", AUDIT),
        ("items/plain.toml", PLAIN),
        ("items/plain.py", PLAIN_PY),
        ("items/notes.py", NOTES_PY),
    ])
}

fn call(c: &Client, function: &str, args: Value) -> (u16, Value) {
    c.post_json(
        &format!("/api/items/plain/call/{function}"),
        &json!({ "args": args }),
    )
}

/// Asserts a 400 `module_error` whose message contains `part`; returns the message.
#[track_caller]
fn module_error(reply: &(u16, Value), part: &str) -> String {
    let err = assert_error(reply, 400, "module_error");
    let message = err["message"].as_str().unwrap().to_string();
    assert!(message.contains(part), "{part:?} not in {message:?}");
    message
}

/// The server still serves: a read, a write on the writer thread (through a module), and a
/// write by another process (no transaction was left open).
#[track_caller]
fn still_serving(server: &TestServer, c: &Client, n: usize) {
    let what = format!("after {n}");
    assert_eq!(ok(call(c, "log", json!([what])))["result"], json!(what));
    let audit = ok(c.open("audit", &json!({"fields": ["what"]})));
    assert!(column(&audit, "what").contains(&json!(what)), "{audit}");
    let started = Instant::now();
    server.db_execute("UPDATE audit SET what = what WHERE id = 1");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "another process waited {:?} for the write lock",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Values that cannot become JSON.

#[test]
fn a_self_referencing_result_fails_its_request_and_the_server_keeps_serving() {
    let server = start();
    let c = server.client();
    for n in 0..3 {
        let message = module_error(&call(&c, "self_ref", json!([])), "the result of self_ref");
        assert!(message.contains("deeper than"), "{message}");
        still_serving(&server, &c, n);
    }
}

#[test]
fn a_result_nested_10000_deep_fails_its_request_and_the_server_keeps_serving() {
    let server = start();
    let c = server.client();
    for (n, f) in ["deep_list", "deep_dict"].into_iter().enumerate() {
        let message = module_error(&call(&c, f, json!([])), "deeper than");
        assert!(message.contains(f), "{message}");
        still_serving(&server, &c, n);
    }
}

#[test]
fn a_huge_result_fails_its_request_and_the_server_keeps_serving() {
    let server = start();
    let c = server.client();
    let message = module_error(&call(&c, "huge", json!([])), "the result of huge");
    assert!(message.contains("larger than"), "{message}");
    still_serving(&server, &c, 0);
    // Raw SQL's parameters from an endless iterator (C code, which the watchdog cannot stop).
    module_error(&call(&c, "endless_params", json!([])), "larger than");
    still_serving(&server, &c, 1);
}

#[test]
fn a_self_referencing_value_in_a_field_or_in_params_fails_its_request() {
    let server = start();
    let c = server.client();
    let before = server.db_snapshot();
    module_error(&call(&c, "self_ref_field", json!([])), "deeper than");
    assert_eq!(server.db_snapshot(), before);
    // On a reader thread: a handler's params that cannot be read back.
    for params in [json!({"self_ref": true}), json!({"deep": true})] {
        module_error(&c.open("notes", &json!({"params": params})), "deeper than");
        ok(c.open("notes", &json!({})));
    }
    still_serving(&server, &c, 0);
}

/// Handlers nest through the engine, with Rust frames Python's recursion limit does not count:
/// a handler that opens its own item, or an `on_field_get_text` that reads `display_text`,
/// once overflowed the database thread's stack and aborted the process.
#[test]
fn server_code_that_calls_itself_without_end_fails_its_request_and_the_server_keeps_serving() {
    let server = start();
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "a"})]);
    let message = module_error(
        &c.open("notes", &json!({"params": {"again": true}})),
        "nested",
    );
    assert!(message.contains("calls itself"), "{message}");
    // Python's own recursion at the deepest level still ends in Python's RecursionError.
    module_error(
        &c.open(
            "notes",
            &json!({"params": {"again": true, "deepest": true}}),
        ),
        "maximum recursion depth",
    );
    module_error(&call(&c, "text_forever", json!([])), "calls itself");
    still_serving(&server, &c, 0);
}

// ---------------------------------------------------------------------------------------------
// A panic inside a method Python calls.

/// `append(); next(); cancel()` once panicked inside `cancel` (it removed a row past the end),
/// on the writer, with the connection lent to Python: the connection was never returned, the
/// transaction stayed open and every later write failed. Now moving off a record being
/// inserted ends the insert (an empty appended row is dropped), and `cancel` has nothing left
/// to undo.
#[test]
fn a_panic_in_a_dataset_method_returns_the_connection() {
    let server = start();
    let c = server.client();
    for n in 0..2 {
        let reply = ok(call(&c, "append_next_cancel", json!([])));
        // The row written first, and the row of each earlier round's `log`.
        let rows = 1 + 2 * n as i64;
        assert_eq!(reply["result"], json!([rows, rows]), "{reply}");
        still_serving(&server, &c, n);
    }
    assert_eq!(
        server.db_int("SELECT COUNT(*) FROM audit WHERE what = 'written first'"),
        2
    );
}

/// Assigning a value puts the current row in edit mode; moving to the next row posts it (as
/// `apply()` posts the last one), so a loop that sets a value on each row changes every row.
#[test]
fn moving_to_another_row_posts_the_row_being_edited() {
    let server = start();
    let c = server.client();
    insert(
        &c,
        "notes",
        &[
            json!({"title": "a"}),
            json!({"title": "b"}),
            json!({"title": "c"}),
        ],
    );
    assert_eq!(
        ok(call(&c, "edit_each", json!(["note"])))["result"],
        json!(3)
    );
    assert_eq!(
        column(&ok(c.open("notes", &json!({"fields": ["title"]}))), "title"),
        vec![json!("note 1"), json!("note 2"), json!("note 3")]
    );
}

// ---------------------------------------------------------------------------------------------
// Engine errors through a module.

#[test]
fn engine_errors_keep_their_kind_through_a_module() {
    let server = start();
    let admin = server.client();
    server.add_user("blind", "blind", None);
    let blind = server.login("blind", common::PASSWORD);
    insert(&admin, "notes", &[json!({"title": "taken"})]);
    let before = server.db_snapshot();

    // 404: the master of a detail open does not exist.
    let err = assert_error(
        &call(&admin, "open_lines_of", json!([99])),
        404,
        "not_found",
    );
    assert!(
        err["message"].as_str().unwrap().contains("notes 99"),
        "{err}"
    );
    // 403: `open(safe=True)` with a role that may not view the item.
    assert_error(
        &call(&blind, "open_notes_safely", json!([])),
        403,
        "forbidden",
    );
    // 409: a unique index.
    assert_error(
        &call(&admin, "duplicate_title", json!(["taken"])),
        409,
        "conflict",
    );
    // 422: validation, with the field at fault.
    let err = assert_error(&call(&admin, "untitled", json!([])), 422, "validation");
    assert!(
        error_fields(&err).iter().any(|f| f.ends_with("title")),
        "{err}"
    );
    // 500: SQLite's own words stay in the server log.
    let err = assert_error(&call(&admin, "bad_sql", json!([])), 500, "internal");
    let text = err.to_string().to_lowercase();
    for leak in ["sqlite", "selec", "syntax", "nowhere"] {
        assert!(!text.contains(leak), "{leak} in {err}");
    }
    assert_eq!(server.db_snapshot(), before);

    // Caught by the module, the error is Python's to handle, with its kind.
    assert_eq!(
        ok(call(&admin, "caught", json!([99])))["result"],
        json!(["EngineError", "not_found", "notes 99 does not exist"])
    );
    // The module's own exceptions stay module errors with their message.
    module_error(&call(&admin, "aborts", json!([])), "Stopped by the module.");
    module_error(&call(&admin, "raises", json!([])), "Raised by the module.");
    still_serving(&server, &admin, 0);
}

// ---------------------------------------------------------------------------------------------
// A client's params.

#[test]
fn a_client_cannot_set_server_params() {
    let server = start();
    let c = server.client();
    // The handler sees the server's value, whatever the client sends beside it.
    let reply = ok(c.open("notes", &json!({"params": {"trace": true}})));
    assert_eq!(reply["rows"], json!([]));
    for key in ["__client_request", "__filters", "__limit", "__anything"] {
        let mut params = json!({"trace": true});
        params[key] = json!(false);
        let err = assert_error(
            &c.open("notes", &json!({ "params": params })),
            400,
            "bad_request",
        );
        assert_eq!(error_fields(&err), vec![format!("params.{key}")], "{err}");
        assert!(err["message"].as_str().unwrap().contains(key), "{err}");
    }
    // Apply params too: refused before any handler runs, nothing changed.
    let before = server.db_snapshot();
    let err = assert_error(
        &c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "x"}}],
                    "params": {"check_keys": true, "__client_request": false}}),
        ),
        400,
        "bad_request",
    );
    assert_eq!(error_fields(&err), vec!["params.__client_request"], "{err}");
    assert_eq!(server.db_snapshot(), before);
    // Keys of the client's own are as before.
    ok(c.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "x"}}],
                "params": {"check_keys": true, "_mine": 1}}),
    ));
}
