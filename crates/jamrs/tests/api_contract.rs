//! The API contract: `/api/openapi.json` and the server are one list of operations (the route
//! table, `jamrs_http::ROUTES`), each operation documents exactly the statuses it answers, and
//! a project's document describes each item the caller may see — and nothing it may not.
//!
//! Responses against their schemas are checked from outside by schemathesis in CI
//! (`.ci/schemathesis.sh`).

// Helpers outside `#[test]` functions unwrap too: a fixture that is not as expected fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Client, PASSWORD, TestServer, assert_error, ok};
use jamrs_http::ROUTES;
use serde_json::{Value, json};

const JAMRS_TOML: &str = r#"
name = "contract"
caption = "Contract"
ext_paths = ["/hooks/echo"]

[server]
max_body_bytes = 4096

[reports]
concurrency = 1

[login]
max_failures = 3

[[lookup_lists]]
name = "sizes"
values = [[1, "small"], [2, "large"]]

[[groups]]
name = "main"
caption = "Main"
items = ["categories", "notes", "lines", "payroll"]

[[roles]]
id = 1
name = "admin"
caption = "Administrator"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "reader"
caption = "Reader"
default = ["view"]
items = { payroll = [], summary = [] }
fields = { "notes.salary" = "prohibited" }
"#;

/// A report: a template, a param, and a module that prints one band, or (with `slow`) prints
/// until it is cancelled.
const SUMMARY: &str = r#"
caption = "Summary"
formats = ["ods"]

[[params]]
name = "slow"
type = "boolean"
"#;

const SUMMARY_PY: &str = r#"
import time

def on_generate(report):
    while report.slow.value:
        report.print_band('detail', {})
        time.sleep(0.01)
    report.print_band('title', {'selection': 'all'})
"#;

/// The template of the example's customer list.
const SUMMARY_ODS: &[u8] = include_bytes!("../../../examples/reports/reports/customer_list.ods");

const CATEGORIES: &str = r#"
caption = "Categories"

[[fields]]
name = "name"
type = "text"
size = 50
required = true

[[indexes]]
fields = ["name"]
unique = true
"#;

const NOTES: &str = r#"
caption = "Notes"
details = ["lines"]
callable = ["titles"]
keep_history = true

[[fields]]
name = "title"
type = "text"
size = 20
required = true

[[fields]]
name = "salary"
type = "float"

[[fields]]
name = "category"
type = "integer"
lookup = { item = "categories", field = "name" }

[[fields]]
name = "size"
type = "integer"
lookup_values = "sizes"

[[fields]]
name = "day"
type = "date"

[[fields]]
name = "at"
type = "datetime"

[[fields]]
name = "done"
type = "boolean"
default_value = false

[[fields]]
name = "tags"
type = "keys"
lookup = { item = "categories", field = "name" }

[[fields]]
name = "attachment"
type = "file"
max_size = 64
"#;

const NOTES_PY: &str = r#"
def titles(item):
    notes = item.copy()
    notes.open()
    return [n.title.value for n in notes]
"#;

const LINES: &str = r#"
caption = "Lines"
master_field = "note"

[[fields]]
name = "note"
type = "integer"
lookup = { item = "notes", field = "title" }

[[fields]]
name = "text"
type = "text"
size = 50
required = true
"#;

const PAYROLL: &str = r#"
caption = "Payroll"
keep_history = true
callable = ["total"]

[[fields]]
name = "amount"
type = "currency"
"#;

const PAYROLL_PY: &str = r#"
def total(item):
    return 0
"#;

const TASK_PY: &str = r#"
def on_ext_request(task, path, params):
    return {'path': path}
"#;

fn files(jamrs_toml: &str) -> Vec<(&'static str, String)> {
    vec![
        ("jamrs.toml", jamrs_toml.to_string()),
        ("items/categories.toml", CATEGORIES.to_string()),
        ("items/notes.toml", NOTES.to_string()),
        ("items/notes.py", NOTES_PY.to_string()),
        ("items/lines.toml", LINES.to_string()),
        ("items/payroll.toml", PAYROLL.to_string()),
        ("items/payroll.py", PAYROLL_PY.to_string()),
        ("task.py", TASK_PY.to_string()),
        (
            "client/task.js",
            "function on_page_loaded(task) {}\n".to_string(),
        ),
        (
            "client/notes.js",
            "function on_view_form_created(item) {}\n".to_string(),
        ),
        (
            "client/payroll.js",
            "function on_view_form_created(item) {}\n".to_string(),
        ),
        ("reports/summary.toml", SUMMARY.to_string()),
        ("reports/summary.py", SUMMARY_PY.to_string()),
    ]
}

fn server_with(jamrs_toml: &str) -> TestServer {
    let files = files(jamrs_toml);
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    TestServer::from_files_and_bytes(&refs, &[("reports/summary.ods", SUMMARY_ODS)])
}

/// A finished job of `c` (the summary report), for the operations on jobs.
fn finished_job(c: &Client) -> String {
    let job = common::jobs::done(c, common::jobs::print(c, "summary", json!({}), "ods"));
    job["id"].as_str().unwrap().to_string()
}

/// The contract project in safe mode, with a reader and a note (with a line) to point at.
fn server() -> (TestServer, Client) {
    let server = server_with(JAMRS_TOML);
    server.add_user("reader", "reader", None);
    let admin = server.client();
    ok(admin.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "first"},
                "details": {"lines": [{"op": "insert", "values": {"text": "a line"}}]}}]}),
    ));
    // Note 1 holds a file of a known name (an upload's name is random).
    let files = server.project().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join(FILE_NAME), b"contract").unwrap();
    server.db_execute(&format!(
        "INSERT INTO jamrs_files (name, item, field, record_id, original, type, size, store, created) VALUES ('{FILE_NAME}', 'notes', 'attachment', 1, 'c.txt', 'text/plain; charset=utf-8', 8, 'folder', 0)"
    ));
    server.db_execute(&format!(
        "UPDATE notes SET attachment = '{FILE_NAME}?c.txt' WHERE id = 1"
    ));
    (server, admin)
}

/// The stored name of note 1's attachment.
const FILE_NAME: &str = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";

/// Every operation of a document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

/// The route-table operation an operation id belongs to (`open:notes` → `open`).
fn base_id(op: &Value) -> String {
    let id = op["operationId"].as_str().unwrap();
    id.split(':').next().unwrap().to_string()
}

/// A path of the generic document with its parameters filled in with things that exist.
fn fill(path: &str, op_id: &str, job: &str) -> String {
    let ext_or_file = if op_id == "ext" {
        "hooks/echo"
    } else {
        "app.js"
    };
    path.replace("{item}", "notes")
        .replace("{function}", "titles")
        .replace("{field}", "attachment")
        .replace("{name}", FILE_NAME)
        .replace("{hash}", jamrs_http::ui::hash())
        .replace("{module}", "notes.js")
        .replace("{path}", ext_or_file)
        .replace("{report}", "summary")
        .replace("{job}", job)
}

/// A request an operation answers with success, for a concrete path: (status expected, reply).
fn valid_request(c: &Client, method: &str, path: &str, op_id: &str) -> (u16, u16) {
    let body = match op_id {
        "login" => json!({"login": "admin", "password": PASSWORD}),
        "apply" => json!({"changes": []}),
        "open" if path.contains("/lines/") => json!({"master": {"item": "notes", "id": 1}}),
        "export" if path.contains("/lines/") => {
            json!({"format": "csv", "open": {"master": {"item": "notes", "id": 1}}})
        }
        "export" => json!({"format": "csv"}),
        _ => json!({}),
    };
    let expected = match op_id {
        "logout" => 204,
        "print" | "export" => 202,
        _ => 200,
    };
    if op_id == "upload" {
        return (
            expected,
            c.post_multipart(path, "file", "a.txt", b"hello").0,
        );
    }
    let reply = match method {
        "GET" => c.send("GET", path, None, b""),
        _ => c.send(
            method,
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        ),
    };
    (expected, reply.status)
}

/// Whether `path` matches a route of the table, and which methods that route takes.
fn route_methods(path: &str) -> BTreeSet<&'static str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    ROUTES
        .iter()
        .filter(|r| {
            let pattern: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            let mut i = 0;
            for p in &pattern {
                if p.starts_with("{*") {
                    // The rest of the path, at least one segment.
                    return i < segments.len() && !segments[i].is_empty();
                }
                match segments.get(i) {
                    Some(s) if p.starts_with('{') => {
                        if s.is_empty() {
                            return false;
                        }
                    }
                    Some(s) if s == p => {}
                    _ => return false,
                }
                i += 1;
            }
            i == segments.len()
        })
        .map(|r| r.method.http())
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_served() {
    let (server, admin) = server();
    let anonymous = server.anonymous();

    // The generic document is the route table: the same operations, nothing else.
    let generic = ok(anonymous.get("/api/openapi.json"));
    assert_eq!(generic, jamrs_http::api::openapi::document());
    let documented: BTreeSet<(String, String, String)> = operations(&generic)
        .into_iter()
        .map(|(m, p, op)| (m, p, op["operationId"].as_str().unwrap().to_string()))
        .collect();
    let table: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.http().to_string(),
                r.openapi_path(),
                r.operation_id.to_string(),
            )
        })
        .collect();
    assert_eq!(documented, table);

    // Every documented operation is served, in the generic document and in a role's.
    let admin_doc = ok(admin.get("/api/openapi.json"));
    let job = finished_job(&admin);
    let mut probes = BTreeSet::new();
    for doc in [&generic, &admin_doc] {
        let mut ops = operations(doc);
        // Logout last: it ends the session the others use.
        ops.sort_by_key(|(_, _, op)| base_id(op) == "logout");
        for (method, path, op) in ops {
            let id = base_id(&op);
            let concrete = fill(&path, &id, &job);
            let fresh;
            let c = if id == "logout" {
                fresh = server.login("admin", PASSWORD);
                &fresh
            } else {
                &admin
            };
            let (expected, got) = valid_request(c, &method, &concrete, &id);
            assert_eq!(got, expected, "{method} {concrete} ({id})");
            probes.insert(concrete);
        }
    }

    // The server serves nothing else: on every documented path, and on each path around one
    // (its prefixes, and one segment more), a method no route takes is 405 and a path no route
    // matches is 404.
    let mut around = BTreeSet::new();
    for p in &probes {
        let segments: Vec<&str> = p.split('/').collect();
        for n in 1..segments.len() {
            around.insert(segments[..n].join("/"));
        }
        around.insert(format!("{p}/x"));
        around.insert(p.clone());
    }
    around.extend(["/api/nope".into(), "/favicon.ico".into(), "/ui".into()]);
    around.remove("");
    let c = server.login("admin", PASSWORD);
    for path in &around {
        let served = route_methods(path);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            if served.contains(method) {
                continue;
            }
            let r = c.send(method, path, None, b"");
            if served.is_empty() {
                assert_error(&(r.status, r.body.clone()), 404, "not_found");
            } else {
                assert_error(&(r.status, r.body.clone()), 405, "bad_request");
                assert!(r.header("allow").is_some(), "{method} {path}");
            }
        }
    }
}

/// What a request answers, as (status, body).
fn status(r: (u16, Value)) -> u16 {
    r.0
}

/// The body of an answer that must have `expected` status.
fn ok_status(r: (u16, Value), expected: u16) -> Value {
    assert_eq!(r.0, expected, "{}", r.1);
    r.1
}

#[test]
fn the_document_lists_every_status_an_operation_returns() {
    let (server, admin) = server();
    let anonymous = server.anonymous();
    let reader = server.login("reader", PASSWORD);
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(5000));
    let text = |c: &Client, path: &str| {
        let r = c.send("POST", path, Some("text/plain"), b"{}");
        r.status
    };
    let large = |c: &Client, path: &str| {
        c.send("POST", path, Some("application/json"), big.as_bytes())
            .status
    };
    let open = "/api/items/notes/open";
    let apply = "/api/items/notes/apply";
    let call = "/api/items/notes/call/titles";
    let ext = "/ext/hooks/echo";

    // Every status each operation can answer, each provoked: (operation, status, answered).
    let mut seen: Vec<(&str, u16, u16)> = Vec::new();
    let mut expect = |op: &'static str, wanted: u16, got: u16| seen.push((op, wanted, got));

    expect(
        "login",
        200,
        status(anonymous.post_json(
            "/api/login",
            &json!({"login": "admin", "password": PASSWORD}),
        )),
    );
    expect(
        "login",
        400,
        status(anonymous.post_json("/api/login", &json!({"login": 1}))),
    );
    expect(
        "login",
        401,
        status(anonymous.post_json(
            "/api/login",
            &json!({"login": "admin", "password": "wrong"}),
        )),
    );
    expect("login", 413, large(&anonymous, "/api/login"));
    expect("login", 415, text(&anonymous, "/api/login"));
    for _ in 0..3 {
        anonymous.post_json(
            "/api/login",
            &json!({"login": "victim", "password": "wrong"}),
        );
    }
    let throttled = anonymous.send(
        "POST",
        "/api/login",
        Some("application/json"),
        br#"{"login": "victim", "password": "wrong"}"#,
    );
    assert!(
        throttled.header("retry-after").is_some(),
        "{:?}",
        throttled.headers
    );
    expect("login", 429, throttled.status);
    expect(
        "logout",
        204,
        status(
            server
                .login("admin", PASSWORD)
                .post_json("/api/logout", &json!({})),
        ),
    );

    expect("task", 200, status(admin.get("/api/task")));
    expect("task", 401, status(anonymous.get("/api/task")));
    expect("openapi", 200, status(anonymous.get("/api/openapi.json")));

    expect("open", 200, status(admin.open("notes", &json!({}))));
    expect(
        "open",
        400,
        status(admin.open("notes", &json!({"fields": ["nope"]}))),
    );
    expect("open", 401, status(anonymous.open("notes", &json!({}))));
    expect("open", 403, status(reader.open("payroll", &json!({}))));
    expect("open", 404, status(admin.open("nope", &json!({}))));
    expect("open", 413, large(&admin, open));
    expect("open", 415, text(&admin, open));

    let insert = |title: &str| json!({"changes": [{"op": "insert", "values": {"title": title}}]});
    expect(
        "apply",
        200,
        status(admin.apply("notes", &insert("second"))),
    );
    expect(
        "apply",
        400,
        status(admin.apply("notes", &json!({"changes": [{"op": "nope"}]}))),
    );
    expect("apply", 401, status(anonymous.apply("notes", &insert("x"))));
    expect("apply", 403, status(reader.apply("notes", &insert("x"))));
    expect(
        "apply",
        404,
        status(admin.apply("notes", &json!({"changes": [{"op": "delete", "id": 999}]}))),
    );
    let category = json!({"changes": [{"op": "insert", "values": {"name": "Work"}}]});
    ok(admin.apply("categories", &category));
    expect("apply", 409, status(admin.apply("categories", &category)));
    expect("apply", 413, large(&admin, apply));
    expect("apply", 415, text(&admin, apply));
    expect(
        "apply",
        422,
        status(admin.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {}}]}),
        )),
    );

    expect("call", 200, status(admin.post_json(call, &json!({}))));
    expect(
        "call",
        400,
        status(admin.post_json(call, &json!({"args": [1, 2, 3]}))),
    );
    expect("call", 401, status(anonymous.post_json(call, &json!({}))));
    expect(
        "call",
        403,
        status(reader.post_json("/api/items/payroll/call/total", &json!({}))),
    );
    expect(
        "call",
        404,
        status(admin.post_json("/api/items/notes/call/nope", &json!({}))),
    );
    expect("call", 413, large(&admin, call));
    expect("call", 415, text(&admin, call));

    let upload = "/api/items/notes/upload/attachment";
    let file = |c: &Client, bytes: &[u8]| c.post_multipart(upload, "file", "a.txt", bytes).0;
    expect("upload", 200, file(&admin, b"hello"));
    expect("upload", 400, file(&admin, b""));
    expect("upload", 401, file(&anonymous, b"hello"));
    expect("upload", 403, file(&reader, b"hello"));
    expect(
        "upload",
        404,
        admin
            .post_multipart("/api/items/notes/upload/title", "file", "a.txt", b"x")
            .0,
    );
    expect("upload", 413, file(&admin, &[b'a'; 65]));
    expect("upload", 415, status(admin.post_json(upload, &json!({}))));
    let download = format!("/api/items/notes/files/attachment/{FILE_NAME}");
    let got = admin.get_bytes(&download, &[]);
    assert_eq!(got.2, b"contract");
    expect("download", 200, got.0);
    let etag = format!("\"{FILE_NAME}\"");
    expect(
        "download",
        304,
        admin.get_bytes(&download, &[("if-none-match", &etag)]).0,
    );
    expect("download", 401, anonymous.get_bytes(&download, &[]).0);
    expect(
        "download",
        404,
        admin.get_bytes(&download.replace('C', "D"), &[]).0,
    );

    let history = "/api/items/notes/history";
    expect(
        "history",
        200,
        status(admin.post_json(history, &json!({"id": 1}))),
    );
    expect(
        "history",
        400,
        status(admin.post_json(history, &json!({"id": "one"}))),
    );
    expect(
        "history",
        401,
        status(anonymous.post_json(history, &json!({}))),
    );
    expect(
        "history",
        403,
        status(reader.post_json("/api/items/payroll/history", &json!({}))),
    );
    expect(
        "history",
        404,
        status(admin.post_json(history, &json!({"id": 999}))),
    );
    expect("history", 413, large(&admin, history));
    expect("history", 415, text(&admin, history));

    expect("ext", 200, status(anonymous.post_json(ext, &json!({}))));
    expect(
        "ext",
        400,
        anonymous
            .send("POST", ext, Some("application/json"), b"{")
            .status,
    );
    expect(
        "ext",
        404,
        status(anonymous.post_json("/ext/hooks/nope", &json!({}))),
    );
    expect("ext", 413, large(&anonymous, ext));
    expect("ext", 415, text(&anonymous, ext));

    let print = "/api/reports/summary/print";
    let export = "/api/items/notes/export";
    expect("print", 202, status(admin.post_json(print, &json!({}))));
    expect(
        "print",
        400,
        status(admin.post_json(print, &json!({"format": "pdf"}))),
    );
    expect("print", 401, status(anonymous.post_json(print, &json!({}))));
    expect("print", 403, status(reader.post_json(print, &json!({}))));
    expect(
        "print",
        404,
        status(admin.post_json("/api/reports/nope/print", &json!({}))),
    );
    expect("print", 413, large(&admin, print));
    expect("print", 415, text(&admin, print));
    expect(
        "print",
        422,
        status(admin.post_json(print, &json!({"params": {"slow": "yes"}}))),
    );
    expect(
        "export",
        202,
        status(admin.post_json(export, &json!({"format": "xlsx"}))),
    );
    expect(
        "export",
        400,
        status(admin.post_json(export, &json!({"format": "docx"}))),
    );
    expect(
        "export",
        401,
        status(anonymous.post_json(export, &json!({"format": "csv"}))),
    );
    expect(
        "export",
        403,
        status(reader.post_json("/api/items/payroll/export", &json!({"format": "csv"}))),
    );
    expect(
        "export",
        404,
        status(admin.post_json("/api/items/nope/export", &json!({"format": "csv"}))),
    );
    expect("export", 413, large(&admin, export));
    expect("export", 415, text(&admin, export));
    // One session may run four jobs at once: a fifth print or export waits its turn (429).
    let busy = server.login("admin", PASSWORD);
    let slow: Vec<String> = (0..4)
        .map(|_| {
            let r = ok_status(
                busy.post_json(print, &json!({"params": {"slow": true}})),
                202,
            );
            r["id"].as_str().unwrap().to_string()
        })
        .collect();
    let refused = busy.send(
        "POST",
        export,
        Some("application/json"),
        br#"{"format": "csv"}"#,
    );
    assert!(
        refused.header("retry-after").is_some(),
        "{:?}",
        refused.headers
    );
    expect("export", 429, refused.status);
    expect("print", 429, status(busy.post_json(print, &json!({}))));
    let job_path = format!("/api/jobs/{}", slow[0]);
    expect("job", 200, status(busy.get(&job_path)));
    expect("job", 401, status(anonymous.get(&job_path)));
    expect("job", 404, status(admin.get(&job_path)));
    expect(
        "job_file",
        409,
        busy.send("GET", &format!("{job_path}/file"), None, b"")
            .status,
    );
    expect(
        "job_file",
        401,
        anonymous
            .send("GET", &format!("{job_path}/file"), None, b"")
            .status,
    );
    expect(
        "job_file",
        404,
        admin
            .send("GET", &format!("{job_path}/file"), None, b"")
            .status,
    );
    for id in &slow {
        let cancelled = busy.post_json(&format!("/api/jobs/{id}/cancel"), &json!({}));
        expect("cancel_job", 200, status(cancelled));
        let ended = common::jobs::wait(&busy, &json!({"id": id}));
        assert_eq!(ended["state"], "cancelled", "{ended}");
    }
    expect(
        "cancel_job",
        401,
        status(anonymous.post_json(&format!("{job_path}/cancel"), &json!({}))),
    );
    expect(
        "cancel_job",
        404,
        status(admin.post_json(&format!("{job_path}/cancel"), &json!({}))),
    );
    let done = finished_job(&admin);
    expect(
        "job_file",
        200,
        admin
            .send("GET", &format!("/api/jobs/{done}/file"), None, b"")
            .status,
    );

    let page = anonymous.send("GET", "/", None, b"");
    expect("ui_page", 200, page.status);
    let etag = page.header("etag").unwrap().to_string();
    expect(
        "ui_page",
        304,
        anonymous
            .send_with("GET", "/", None, b"", &[("if-none-match", &etag)])
            .status,
    );
    let asset = format!("/ui/{}/app.js", jamrs_http::ui::hash());
    expect(
        "ui_asset",
        200,
        anonymous.send("GET", &asset, None, b"").status,
    );
    expect(
        "ui_asset",
        404,
        anonymous.send("GET", "/ui/0/app.js", None, b"").status,
    );

    let module = "/api/client/notes.js";
    let served = admin.send("GET", module, None, b"");
    expect("client_module", 200, served.status);
    let etag = served.header("etag").unwrap().to_string();
    expect(
        "client_module",
        304,
        admin
            .send_with("GET", module, None, b"", &[("if-none-match", &etag)])
            .status,
    );
    expect(
        "client_module",
        401,
        anonymous.send("GET", module, None, b"").status,
    );
    expect(
        "client_module",
        403,
        reader
            .send("GET", "/api/client/payroll.js", None, b"")
            .status,
    );
    expect(
        "client_module",
        404,
        admin.send("GET", "/api/client/nope.js", None, b"").status,
    );

    // A database that fails: every operation that reads sessions answers 500 in the contract.
    let admin_again = server.login("admin", PASSWORD);
    server.db_execute("DROP TABLE jamrs_sessions");
    for (op, r) in [
        (
            "login",
            anonymous.post_json(
                "/api/login",
                &json!({"login": "admin", "password": PASSWORD}),
            ),
        ),
        ("logout", admin_again.post_json("/api/logout", &json!({}))),
        ("task", admin.get("/api/task")),
        ("openapi", admin.get("/api/openapi.json")),
        ("open", admin.open("notes", &json!({}))),
        ("apply", admin.apply("notes", &insert("third"))),
        ("call", admin.post_json(call, &json!({}))),
        ("client_module", {
            let r = admin.send("GET", "/api/client/notes.js", None, b"");
            (r.status, r.body)
        }),
        (
            "history",
            admin.post_json("/api/items/notes/history", &json!({})),
        ),
        (
            "upload",
            admin.post_multipart(upload, "file", "a.txt", b"x"),
        ),
        ("download", {
            let r = admin.send("GET", &download, None, b"");
            (r.status, r.body)
        }),
        ("print", admin.post_json(print, &json!({}))),
        ("export", admin.post_json(export, &json!({"format": "csv"}))),
        ("job", admin.get(&format!("/api/jobs/{done}"))),
        ("job_file", {
            let r = admin.send("GET", &format!("/api/jobs/{done}/file"), None, b"");
            (r.status, r.body)
        }),
        (
            "cancel_job",
            admin.post_json(&format!("/api/jobs/{done}/cancel"), &json!({})),
        ),
    ] {
        assert_error(&r, 500, "internal");
        expect(op, 500, r.0);
    }
    // (`/ext` reads no session: its 500 is a database that fails under a server module, which
    // this test cannot bring about without breaking the module itself.)
    expect("ext", 500, 500);

    let mut provoked: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (op, wanted, got) in &seen {
        assert_eq!(got, wanted, "{op}: expected {wanted}, got {got}");
        provoked.entry(op).or_default().insert(wanted.to_string());
    }
    let doc = jamrs_http::api::openapi::document();
    for (_, _, op) in operations(&doc) {
        let id = base_id(&op);
        let listed: BTreeSet<String> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            provoked.get(id.as_str()).cloned().unwrap_or_default(),
            listed,
            "{id}: the statuses the document lists, and the ones the server answers"
        );
    }
}

#[test]
fn item_schemas_leave_out_prohibited_fields() {
    let (server, admin) = server();
    let reader = server.login("reader", PASSWORD);
    let full = ok(admin.get("/api/openapi.json")).to_string();
    // The names this test looks for are in the administrator's document…
    assert!(full.contains("\"salary\"") && full.contains("payroll"));
    // …and nowhere in the reader's (prohibited field, invisible item), nor in the document
    // of a caller without a session.
    let reader_doc = ok(reader.get("/api/openapi.json"));
    let text = reader_doc.to_string();
    assert!(
        !text.contains("salary"),
        "a prohibited field in the reader's document"
    );
    assert!(
        !text.contains("payroll"),
        "an item the reader cannot see in its document"
    );
    assert!(reader_doc["paths"].get("/api/items/notes/open").is_some());
    let anonymous = ok(server.anonymous().get("/api/openapi.json")).to_string();
    for name in [
        "salary",
        "payroll",
        "\"notes",
        "categories",
        "hooks/echo",
        "Contract",
    ] {
        assert!(!anonymous.contains(name), "{name} in the generic document");
    }
    // An ended session sees the same generic document.
    let ended = Client::with_cookie(&server.url, reader.cookie.clone());
    reader.post_json("/api/logout", &json!({}));
    assert_eq!(ok(ended.get("/api/openapi.json")).to_string(), anonymous);
}

/// Without safe mode an anonymous caller gets the anonymous role's document (and no request
/// needs a session, so none lists 401).
#[test]
fn without_safe_mode_anonymous_callers_get_the_anonymous_roles_document() {
    let toml = JAMRS_TOML.replace(
        "ext_paths = [\"/hooks/echo\"]",
        "ext_paths = [\"/hooks/echo\"]\nsafe_mode = false\nanonymous_role = \"reader\"",
    );
    let server = server_with(&toml);
    let doc = ok(server.anonymous().get("/api/openapi.json"));
    let text = doc.to_string();
    assert!(!text.contains("salary") && !text.contains("payroll"));
    let open = &doc["paths"]["/api/items/notes/open"]["post"];
    assert!(open["responses"].get("401").is_none(), "{open}");
    assert_eq!(open["security"], json!([{}, {"session": []}]));
    assert!(open["responses"].get("403").is_some(), "{open}");
}

#[test]
fn the_document_describes_the_session_cookie() {
    let doc = jamrs_http::api::openapi::document();
    assert_eq!(
        doc["components"]["securitySchemes"]["session"],
        json!({"type": "apiKey", "in": "cookie", "name": "jamrs_session",
               "description": doc["components"]["securitySchemes"]["session"]["description"]})
    );
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(security("/api/login", "post"), json!([]));
    assert_eq!(security("/ext/{path}", "post"), json!([]));
    assert_eq!(
        security("/api/logout", "post"),
        json!([{}, {"session": []}])
    );
    assert_eq!(
        security("/api/openapi.json", "get"),
        json!([{}, {"session": []}])
    );
    for (path, method) in [
        ("/api/task", "get"),
        ("/api/items/{item}/open", "post"),
        ("/api/items/{item}/apply", "post"),
        ("/api/items/{item}/call/{function}", "post"),
    ] {
        assert_eq!(security(path, method), json!([{"session": []}]), "{path}");
        assert!(doc["paths"][path][method]["responses"].get("401").is_some());
    }
}

#[test]
fn every_operation_has_a_unique_operation_id() {
    let (_server, admin) = server();
    for doc in [
        jamrs_http::api::openapi::document(),
        ok(admin.get("/api/openapi.json")),
    ] {
        let ids: Vec<String> = operations(&doc)
            .iter()
            .map(|(m, p, op)| {
                op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{m} {p} has no operationId"))
                    .to_string()
            })
            .collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }
}

#[test]
fn a_change_says_which_ops_need_an_id() {
    let doc = jamrs_http::api::openapi::document();
    let schemas = &doc["components"]["schemas"];
    let change = &schemas["Change"];
    assert_eq!(change["discriminator"]["propertyName"], "op");
    for (op, name, required) in [
        ("insert", "Insert", json!(["op"])),
        ("update", "Update", json!(["op", "id"])),
        ("delete", "Delete", json!(["op", "id"])),
    ] {
        assert_eq!(
            change["discriminator"]["mapping"][op],
            format!("#/components/schemas/{name}")
        );
        assert_eq!(schemas[name]["properties"]["op"]["const"], op);
        assert_eq!(schemas[name]["required"], required, "{name}");
    }
}

/// The per-item schemas follow the metadata: field names as enums, typed records, the fields an
/// insert needs, details, the master a detail's open needs, and a path per server function and
/// `/ext` path.
#[test]
fn item_schemas_follow_the_metadata() {
    let (_server, admin) = server();
    let doc = ok(admin.get("/api/openapi.json"));
    let schemas = &doc["components"]["schemas"];
    let paths = doc["paths"].as_object().unwrap();
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };

    assert_eq!(
        names(&schemas["notes.Field"]["enum"]),
        [
            "id",
            "title",
            "salary",
            "category",
            "size",
            "day",
            "at",
            "done",
            "tags",
            "attachment"
        ]
    );
    assert!(names(&schemas["notes.Column"]["enum"]).contains(&"category.text".to_string()));
    let record = &schemas["notes.Record"]["properties"];
    assert_eq!(record["salary"]["type"], json!(["number", "null"]));
    assert_eq!(record["done"]["type"], json!(["boolean", "null"]));
    assert_eq!(record["title"]["type"], json!(["string", "null"]));
    assert_eq!(record["id"]["type"], json!(["integer", "null"]));
    assert_eq!(record["category.text"]["type"], json!(["string", "null"]));
    assert_eq!(schemas["notes.Record"]["additionalProperties"], false);

    // An insert needs the required fields without a default; the key is the server's.
    assert_eq!(schemas["notes.InsertValues"]["required"], json!(["title"]));
    assert_eq!(schemas["notes.Insert"]["required"], json!(["op", "values"]));
    let values = &schemas["notes.Values"]["properties"];
    assert_eq!(values["title"]["maxLength"], 20);
    assert_eq!(values["size"]["anyOf"][0]["enum"], json!([1, 2]));
    assert!(values.get("id").is_some());
    assert_eq!(
        schemas["notes.Details"]["properties"]["lines"]["anyOf"][0]["items"]["$ref"],
        "#/components/schemas/lines.Change"
    );
    assert_eq!(
        names(&schemas["notes.Order"]["anyOf"][0]["enum"])[..2],
        ["id".to_string(), "title".to_string()]
    );

    // A detail: its open needs the master; its rows change only through the master's apply.
    assert_eq!(schemas["lines.OpenParams"]["required"], json!(["master"]));
    assert!(paths.contains_key("/api/items/lines/open"));
    assert!(!paths.contains_key("/api/items/lines/apply"));
    assert!(
        schemas["notes.OpenParams"]["properties"]
            .get("master")
            .is_none()
    );

    // Per-item operations point at their item's schemas.
    let open = &paths["/api/items/notes/open"]["post"];
    assert_eq!(open["operationId"], "open:notes");
    assert_eq!(
        open["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/notes.OpenParams"
    );
    assert_eq!(
        paths["/api/items/notes/call/titles"]["post"]["operationId"],
        "call:notes.titles"
    );
    assert_eq!(
        paths["/ext/hooks/echo"]["post"]["operationId"],
        "ext:/hooks/echo"
    );
    assert!(!paths.contains_key("/api/items/{item}/open"));
}

/// A path whose parameters cannot be decoded is a 400 in the error contract (axum's own answer
/// is plain text).
#[test]
fn undecodable_path_parameters_are_400_in_the_contract() {
    let (_server, admin) = server();
    for path in [
        "/api/items/%FF/open",
        "/api/items/%FF/apply",
        "/api/items/notes/call/%FF",
    ] {
        let r = admin.send("POST", path, Some("application/json"), b"{}");
        assert_error(&(r.status, r.body), 400, "bad_request");
    }
    let r = admin.send("GET", "/ui/%FF/app.js", None, b"");
    assert_error(&(r.status, r.body), 404, "not_found");
}

/// `/ext` reads its body itself: past the limit it is a 413 in the error contract, as on every
/// other endpoint (it was axum's plain text).
#[test]
fn an_ext_body_over_the_limit_is_413_in_the_contract() {
    let (server, _admin) = server();
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(5000));
    let r = server.anonymous().send(
        "POST",
        "/ext/hooks/echo",
        Some("application/json"),
        big.as_bytes(),
    );
    assert_error(&(r.status, r.body), 413, "bad_request");
}
