//! The examples of `docs/server-modules.md`, run against a real server.
//!
//! Convention, in the Markdown source of that document:
//!
//! - A ```` ```python ```` block on the line right after `<!-- example: NAME PATH -->` is an
//!   example: `PATH` is the module it becomes in a project (`task.py` or `items/<item>.py`).
//!   Blocks with the same `NAME` (and different paths) make up one project.
//! - A ```` ```python ```` block right after `<!-- fragment -->` is a piece of code that is not
//!   run.
//! - Any other Python block fails [`every_python_block_is_marked`].
//!
//! Each example `NAME` has a scenario here: a function of the same name in `mod scenario`,
//! registered in the `scenarios!` list, that adds the rest of the project (`jamrs.toml`, the
//! item files), starts a server on a temporary folder, sends the requests the document describes
//! over HTTP and checks what the document says happens. An example without a scenario, or a
//! scenario whose example is gone, fails [`every_example_has_a_scenario`], so the document and
//! the tests cannot drift apart.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{Client, PASSWORD, TestServer, assert_error, column, insert, ok};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Reading the document.

const DOC: &str = "docs/server-modules.md";

fn doc_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DOC);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Debug, Clone, PartialEq)]
enum Marker {
    Example { name: String, path: String },
    Fragment,
    Unmarked,
}

#[derive(Debug, Clone)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    marker: Marker,
    code: String,
}

/// Every fenced block of the document whose language is `python`, with the marker on the line
/// before it. Blocks may be indented (inside list items): the fence's indentation is removed
/// from the code.
fn python_blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_start();
        if !fence.starts_with("```") {
            i += 1;
            continue;
        }
        let indent = lines[i].len() - fence.len();
        let is_python = fence.trim_end() == "```python";
        let start = i;
        i += 1;
        let mut code = String::new();
        while i < lines.len() && lines[i].trim() != "```" {
            let l = lines[i];
            let stripped = if l.len() >= indent && l[..indent].trim().is_empty() {
                &l[indent..]
            } else {
                l.trim_start()
            };
            code.push_str(stripped);
            code.push('\n');
            i += 1;
        }
        assert!(
            i < lines.len(),
            "{DOC}:{}: a code block is not closed",
            start + 1
        );
        i += 1;
        if !is_python {
            continue;
        }
        let before = if start > 0 {
            lines[start - 1].trim()
        } else {
            ""
        };
        out.push(Block {
            line: start + 1,
            marker: marker(before, start),
            code,
        });
    }
    out
}

fn marker(line: &str, at: usize) -> Marker {
    let Some(inner) = line
        .strip_prefix("<!--")
        .and_then(|l| l.strip_suffix("-->"))
        .map(str::trim)
    else {
        return Marker::Unmarked;
    };
    if inner == "fragment" {
        return Marker::Fragment;
    }
    let Some(rest) = inner.strip_prefix("example:") else {
        panic!("{DOC}:{at}: unknown marker `{line}`");
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [name, path] = words.as_slice() else {
        panic!("{DOC}:{at}: write `<!-- example: NAME PATH -->`, not `{line}`");
    };
    let module_path = *path == "task.py"
        || path
            .strip_prefix("items/")
            .and_then(|p| p.strip_suffix(".py"))
            .is_some_and(|stem| !stem.is_empty() && !stem.contains('/'));
    assert!(
        module_path,
        "{DOC}:{at}: {path} is not task.py or items/<item>.py"
    );
    Marker::Example {
        name: name.to_string(),
        path: path.to_string(),
    }
}

/// The modules of example `name`: (path, code).
fn example(name: &str) -> Vec<(String, String)> {
    let files: Vec<(String, String)> = python_blocks(&doc_text())
        .into_iter()
        .filter_map(|b| match b.marker {
            Marker::Example { name: n, path } if n == name => Some((path, b.code)),
            _ => None,
        })
        .collect();
    assert!(!files.is_empty(), "{DOC} has no example \"{name}\"");
    files
}

#[test]
fn every_python_block_is_marked() {
    let blocks = python_blocks(&doc_text());
    assert!(blocks.len() > 10, "the document's Python blocks were found");
    let unmarked: Vec<usize> = blocks
        .iter()
        .filter(|b| b.marker == Marker::Unmarked)
        .map(|b| b.line)
        .collect();
    assert!(
        unmarked.is_empty(),
        "{DOC}: the Python blocks at lines {unmarked:?} are neither `<!-- example: NAME PATH -->` nor `<!-- fragment -->`"
    );
    // One project per example name: each path once.
    let mut seen = BTreeSet::new();
    for b in &blocks {
        if let Marker::Example { name, path } = &b.marker {
            assert!(
                seen.insert((name.clone(), path.clone())),
                "{DOC}:{}: example \"{name}\" has two blocks for {path}",
                b.line
            );
        }
    }
}

#[test]
fn every_example_has_a_scenario() {
    let in_doc: BTreeSet<String> = python_blocks(&doc_text())
        .into_iter()
        .filter_map(|b| match b.marker {
            Marker::Example { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    let in_tests: BTreeSet<String> = SCENARIOS.iter().map(|s| s.to_string()).collect();
    let missing: Vec<&String> = in_doc.difference(&in_tests).collect();
    let stale: Vec<&String> = in_tests.difference(&in_doc).collect();
    assert!(
        missing.is_empty(),
        "examples of {DOC} without a scenario in doc_examples.rs: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "scenarios whose example is no longer in {DOC}: {stale:?}"
    );
}

/// One `#[test]` per example, named after it, running `scenario::<name>` with its modules.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        const SCENARIOS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                scenario::$name(&example(stringify!($name)));
            }
        )*
    };
}

scenarios! {
    broken,
    dev_reload,
    shared_code,
    event_order,
    answer_open,
    before_after_open,
    stamp_dates,
    skip_record,
    audit,
    on_created,
    club_login,
    field_text,
    describe,
    raw_sql,
    open_params,
    longest_tracks,
    reach,
    archive_done,
    set_media_type,
    ext_webhook,
    timeout,
    quota,
    send_email,
    seed_item,
    seed_task,
    tracks_sold,
}

// ---------------------------------------------------------------------------------------------
// Building projects.

/// `jamrs.toml`: `settings` (plain keys), one group holding `items`, and `roles` (TOML
/// `[[roles]]` entries; none means `safe_mode = false`).
fn task_toml(settings: &str, items: &[&str], roles: &str) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    let safe = if roles.is_empty() {
        "safe_mode = false\n"
    } else {
        ""
    };
    format!(
        "name = \"docs\"\n{safe}{settings}\n[[groups]]\nname = \"all\"\nitems = [{}]\n{roles}",
        items.join(", ")
    )
}

const ADMIN_ROLE: &str = "
[[roles]]
id = 1
name = \"admin\"
default = [\"view\", \"create\", \"edit\", \"delete\"]
";

/// An item file: `head` (plain TOML keys), then one `[[fields]]` per spec,
/// `"name type [size] [required] [read_only] [lookup=item.field] [values=list] [default=toml]"`.
fn item_toml(head: &str, fields: &[&str]) -> String {
    let mut out = format!("{head}\n");
    for spec in fields {
        let mut words = spec.split_whitespace();
        let name = words.next().unwrap();
        let ty = words.next().unwrap();
        out.push_str(&format!(
            "\n[[fields]]\nname = \"{name}\"\ntype = \"{ty}\"\n"
        ));
        for w in words {
            if let Ok(size) = w.parse::<u32>() {
                out.push_str(&format!("size = {size}\n"));
            } else if w == "required" || w == "read_only" {
                out.push_str(&format!("{w} = true\n"));
            } else if let Some(l) = w.strip_prefix("lookup=") {
                let (item, field) = l.split_once('.').unwrap();
                out.push_str(&format!(
                    "lookup = {{ item = \"{item}\", field = \"{field}\" }}\n"
                ));
            } else if let Some(list) = w.strip_prefix("values=") {
                out.push_str(&format!("lookup_values = \"{list}\"\n"));
            } else if let Some(d) = w.strip_prefix("default=") {
                out.push_str(&format!("default_value = {d}\n"));
            } else {
                panic!("field spec word {w}");
            }
        }
    }
    out
}

/// The example's modules plus the scenario's other files.
fn files<'a>(
    modules: &'a [(String, String)],
    rest: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    for (path, _) in rest {
        assert!(
            !modules.iter().any(|(p, _)| p == path),
            "the scenario must not replace the example's {path}"
        );
    }
    modules
        .iter()
        .chain(rest)
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect()
}

fn server(modules: &[(String, String)], rest: &[(String, String)]) -> TestServer {
    TestServer::from_files(&files(modules, rest))
}

fn owned(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(p, t)| (p.to_string(), t.clone()))
        .collect()
}

/// `POST /api/items/{item}/call/{function}` with `args`.
fn call(c: &Client, item: &str, function: &str, args: Value) -> (u16, Value) {
    c.post_json(
        &format!("/api/items/{item}/call/{function}"),
        &json!({ "args": args }),
    )
}

/// The message of a `module_error` reply.
#[track_caller]
fn module_error(reply: &(u16, Value)) -> String {
    let err = assert_error(reply, 400, "module_error");
    err["message"].as_str().unwrap().to_string()
}

/// The `values` of the first change of an apply reply.
#[track_caller]
fn first_values(reply: &Value) -> &Value {
    &reply["changes"][0]["values"]
}

fn text(v: &rusqlite::types::Value) -> String {
    match v {
        rusqlite::types::Value::Text(s) => s.clone(),
        other => panic!("{other:?} is not text"),
    }
}

fn int(v: &rusqlite::types::Value) -> i64 {
    match v {
        rusqlite::types::Value::Integer(i) => *i,
        other => panic!("{other:?} is not an integer"),
    }
}

/// A project folder with a server that this file starts and stops itself: for what
/// [`TestServer`] does not do (a start that fails, development mode, a second start).
struct Project {
    dir: tempfile::TempDir,
}

struct Running {
    url: String,
    database: PathBuf,
    server: Option<jamrs::app::Server>,
    runtime: tokio::runtime::Runtime,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let p = Project { dir };
        for (path, text) in files {
            p.write(path, text);
        }
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join("project").join(rel)
    }

    /// Writes a file, and moves its modification time on so a reload notices it whatever the
    /// file system's time resolution.
    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        let later = SystemTime::now() + Duration::from_secs(rand_seconds(&path));
        file.set_modified(later).unwrap();
    }

    fn start(&self, dev: bool) -> Result<Running, String> {
        let overrides = jamrs::config::Overrides {
            bind: Some("127.0.0.1:0".into()),
            database_url: None,
        };
        let task = jamrs::config::load_project(&self.path(""), &overrides, &|_| None)
            .map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let opts = jamrs::app::RunOptions {
            dev,
            ..Default::default()
        };
        let server = runtime
            .block_on(jamrs::app::start(task, &opts))
            .map_err(|e| e.message)?;
        Ok(Running {
            url: server.url(),
            database: server
                .database
                .sqlite_path()
                .expect("the docs' examples run on SQLite")
                .to_path_buf(),
            server: Some(server),
            runtime,
        })
    }
}

/// A different number of seconds ahead for each write of a file (its current length is as
/// good as a counter here: every rewrite in these scenarios changes it, and it only has to
/// differ from the last).
fn rand_seconds(path: &Path) -> u64 {
    10 + std::fs::metadata(path).map_or(0, |m| m.len() % 1000)
}

impl Running {
    fn client(&self) -> Client {
        Client::new(&self.url)
    }

    fn db_query(&self, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared items.

fn notes_toml() -> String {
    item_toml("", &["title text 200"])
}

fn categories_toml() -> String {
    item_toml("", &["name text 100"])
}

fn customers_toml(callable: &str) -> String {
    item_toml(
        &format!("callable = [\"{callable}\"]\ndefault_order = [\"id\"]"),
        &[
            "firstname text 40",
            "lastname text 40 required",
            "email text 60",
        ],
    )
}

/// Jam.py demo's customers (their e-mail addresses made up).
fn insert_customers(c: &Client) {
    insert(
        c,
        "customers",
        &[
            json!({"firstname": "Luís", "lastname": "Gonçalves", "email": "luis@example.br"}),
            json!({"firstname": "Leonie", "lastname": "Köhler", "email": "leonie@example.de"}),
            json!({"firstname": "François", "lastname": "Tremblay"}),
        ],
    );
}

/// Logs in through `/api/login` whatever answers it (the built-in login or `on_login`).
fn try_login(server: &TestServer, login: &str, password: &str) -> (u16, Value, Option<Client>) {
    let r = server.try_login(login, password, &[]);
    let cookie = r
        .header("set-cookie")
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let client = (r.status == 200).then(|| Client::with_cookie(&server.url, cookie));
    (r.status, r.body, client)
}

// ---------------------------------------------------------------------------------------------
// The scenarios, in the document's order.

mod scenario {
    use super::*;

    type Modules = [(String, String)];

    /// §1: a module that does not load stops the start, with file and line.
    pub fn broken(m: &Modules) {
        let task = task_toml("", &["notes"], "");
        let notes = notes_toml();
        let project = Project::new(&files(
            m,
            &owned(&[
                ("jamrs.toml", task.clone()),
                ("items/notes.toml", notes.clone()),
            ]),
        ));
        let err = project.start(false).err().expect("the start fails");
        // The reason after "SyntaxError: " is Python's own (3.11's is the document's).
        assert!(
            err.starts_with("server modules do not load: items/notes.py, line 1: SyntaxError: "),
            "{err}"
        );

        // Not only syntax errors: any exception of the top-level code, with its line.
        let project = Project::new(&[
            ("jamrs.toml", &task),
            ("items/notes.toml", &notes),
            ("items/notes.py", "LIMIT = 10\nLIMIT = LIMT * 2\n"),
        ]);
        let err = project.start(false).err().expect("the start fails");
        assert!(
            err.ends_with("items/notes.py, line 2: NameError: name 'LIMT' is not defined"),
            "{err}"
        );

        // A callable function the module does not define.
        let with_callable = format!("callable = [\"x\"]\n{notes}");
        let project = Project::new(&[
            ("jamrs.toml", &task),
            ("items/notes.toml", &with_callable),
            ("items/notes.py", "def y(item):\n    return 1\n"),
        ]);
        let err = project.start(false).err().expect("the start fails");
        assert!(
            err.contains("items/notes.py: callable function \"x\" is not defined in the module"),
            "{err}"
        );
    }

    /// §1: `jamrs run --dev` reloads a changed module; a broken one fails only its item.
    pub fn dev_reload(m: &Modules) {
        let (path, code) = &m[0];
        let project = Project::new(&files(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes", "categories"], "")),
                ("items/notes.toml", notes_toml()),
                ("items/categories.toml", categories_toml()),
            ]),
        ));
        let running = project.start(true).unwrap();
        let c = running.client();
        insert(
            &c,
            "notes",
            &[
                json!({"title": "a"}),
                json!({"title": "b"}),
                json!({"title": "c"}),
            ],
        );
        let rows = |c: &Client| {
            ok(c.open("notes", &json!({})))["rows"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(rows(&c), 1);

        let settle = || std::thread::sleep(Duration::from_millis(700));
        project.write(path, &code.replace("= 1", "= 2"));
        settle();
        assert_eq!(rows(&c), 2, "the changed module is used");

        project.write(
            path,
            "def on_open(item, params)\n    params['__limit'] = 2\n",
        );
        settle();
        let message = module_error(&c.open("notes", &json!({})));
        assert!(
            message.starts_with("items/notes.py, line 1: SyntaxError"),
            "{message}"
        );
        ok(c.open("categories", &json!({})));

        project.write(path, &code.replace("= 1", "= 2"));
        settle();
        assert_eq!(rows(&c), 2, "fixed, the module works again");
    }

    /// §1: `task.<function>` reaches a function of task.py.
    pub fn shared_code(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes"], "")),
                (
                    "items/notes.toml",
                    item_toml("", &["title text 200", "slug text 200"]),
                ),
            ]),
        );
        let c = server.client();
        let reply = ok(c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "Hello, World!"}}]}),
        ));
        assert_eq!(first_values(&reply)["slug"], "hello-world");
    }

    /// §2: task handler first; a non-None result skips the item's handler.
    pub fn event_order(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes", "categories"], "")),
                (
                    "items/notes.toml",
                    item_toml("", &["title text 200", "trail text 300"]),
                ),
                ("items/categories.toml", categories_toml()),
            ]),
        );
        let c = server.client();
        let insert_note = |params: Value| {
            let reply = ok(c.apply(
                "notes",
                &json!({"changes": [{"op": "insert", "values": {"title": "x"}}], "params": params}),
            ));
            first_values(&reply)["trail"].as_str().unwrap().to_string()
        };
        assert_eq!(
            insert_note(json!({})),
            "task.on_apply > notes.on_apply > task.on_before_apply_record > notes.on_before_apply_record"
        );
        assert_eq!(
            insert_note(json!({"quick": true})),
            "task.on_apply > task.on_before_apply_record > notes.on_before_apply_record"
        );
        // Items without the field are left alone by the task's handlers.
        insert(&c, "categories", &[json!({"name": "work"})]);
    }

    /// §2.1: on_open answers the open with its own rows.
    pub fn answer_open(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                (
                    "jamrs.toml",
                    task_toml("", &["categories", "notes", "category_counts"], ""),
                ),
                ("items/categories.toml", categories_toml()),
                (
                    "items/notes.toml",
                    item_toml("", &["title text 200", "category integer"]),
                ),
                (
                    "items/category_counts.toml",
                    item_toml("", &["category integer", "notes integer"]),
                ),
            ]),
        );
        let c = server.client();
        insert(
            &c,
            "categories",
            &[json!({"name": "home"}), json!({"name": "work"})],
        );
        insert(
            &c,
            "notes",
            &[
                json!({"title": "a", "category": 1}),
                json!({"title": "b", "category": 1}),
                json!({"title": "c", "category": 2}),
            ],
        );
        assert_eq!(
            ok(c.open("category_counts", &json!({}))),
            json!({"fields": ["id", "category", "notes"], "rows": [[1, 1, 2], [2, 2, 1]]})
        );
        assert_eq!(
            ok(c.open("category_counts", &json!({"fields": ["notes"]}))),
            json!({"fields": ["notes"], "rows": [[2], [1]]})
        );
        assert_eq!(server.db_int("SELECT COUNT(*) FROM category_counts"), 0);
    }

    /// §2.1: on_before_open and on_after_open; `query.client_request`.
    pub fn before_after_open(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["customers"], "")),
                ("items/customers.toml", customers_toml("count_all")),
            ]),
        );
        let c = server.client();
        insert_customers(&c);
        assert_eq!(ok(c.open("customers", &json!({})))["rows"], json!([]));
        let found = ok(c.open(
            "customers",
            &json!({"filters": [["lastname", "contains", "ler"]]}),
        ));
        assert_eq!(column(&found, "lastname"), vec![json!("Köhler")]);
        assert_eq!(column(&found, "email"), vec![json!("example.de")]);
        assert_eq!(
            server.db_query("SELECT email FROM customers WHERE id = 2")[0][0],
            rusqlite::types::Value::Text("leonie@example.de".into())
        );
        assert_eq!(
            ok(call(&c, "customers", "count_all", json!([])))["result"],
            3
        );
    }

    /// §2.2: dates are text; item.abort refuses the record.
    pub fn stamp_dates(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["todos"], "")),
                (
                    "items/todos.toml",
                    item_toml(
                        "",
                        &["title text 100", "due date", "changed date read_only"],
                    ),
                ),
            ]),
        );
        let c = server.client();
        let reply = ok(c.apply(
            "todos",
            &json!({"changes": [{"op": "insert", "values": {"title": "later", "due": "2999-12-31"}}]}),
        ));
        let changed = first_values(&reply)["changed"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            changed.len() == 10 && changed.as_bytes()[4] == b'-' && changed.as_str() > "2024",
            "{changed}"
        );
        let refused = c.apply(
            "todos",
            &json!({"changes": [{"op": "insert", "values": {"title": "too late", "due": "2000-01-01"}}]}),
        );
        assert_eq!(
            module_error(&refused),
            "The due date 2000-01-01 is in the past"
        );
        assert_eq!(server.db_int("SELECT COUNT(*) FROM todos"), 1);
        // An update that leaves a past due date alone is not refused for it.
        server.db_execute("UPDATE todos SET due = '2000-01-01'");
        ok(c.apply(
            "todos",
            &json!({"changes": [{"op": "update", "id": 1, "values": {"title": "renamed"}}]}),
        ));
    }

    fn notes_with_checklist() -> Vec<(String, String)> {
        owned(&[
            (
                "items/notes.toml",
                item_toml("details = [\"checklist\"]", &["title text 200"]),
            ),
            (
                "items/checklist.toml",
                item_toml(
                    "master_field = \"note\"",
                    &["note integer lookup=notes.title", "text text 200"],
                ),
            ),
        ])
    }

    /// §2.2: `False` from on_before_apply_record skips a detail record.
    pub fn skip_record(m: &Modules) {
        let mut rest = notes_with_checklist();
        rest.push((
            "jamrs.toml".into(),
            task_toml("", &["notes", "checklist"], ""),
        ));
        let server = server(m, &rest);
        let c = server.client();
        let line = |t: &str| json!({"op": "insert", "values": {"text": t}});
        let reply = ok(c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "shopping"},
                    "details": {"checklist": [line("Milk"), line("  "), line("Eggs")]}}]}),
        ));
        let lines = reply["changes"][0]["details"]["checklist"]
            .as_array()
            .unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], json!({"op": "insert", "id": null}));
        assert_eq!(lines[0]["values"]["text"], "Milk");
        assert_eq!(lines[2]["values"]["text"], "Eggs");
        assert_eq!(server.db_int("SELECT COUNT(*) FROM checklist"), 2);
    }

    /// §2.2: the task's on_after_apply_record sees every saved record, with its key.
    pub fn audit(m: &Modules) {
        let mut rest = notes_with_checklist();
        rest.push((
            "jamrs.toml".into(),
            task_toml("", &["notes", "checklist", "audit"], ADMIN_ROLE),
        ));
        rest.push((
            "items/audit.toml".into(),
            item_toml(
                "",
                &[
                    "source text 50",
                    "rec_id integer",
                    "operation text 10",
                    "login text 50",
                ],
            ),
        ));
        let server = server(m, &rest);
        let c = server.client();
        let line = |t: &str| json!({"op": "insert", "values": {"text": t}});
        ok(c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "shopping"},
                    "details": {"checklist": [line("Milk"), line("Eggs")]}}]}),
        ));
        let log = || -> Vec<String> {
            server
                .db_query("SELECT source, rec_id, operation, login FROM audit ORDER BY id")
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {} {}",
                        text(&r[0]),
                        int(&r[1]),
                        text(&r[2]),
                        text(&r[3])
                    )
                })
                .collect()
        };
        assert_eq!(
            log(),
            [
                "checklist 1 insert admin",
                "checklist 2 insert admin",
                "notes 1 insert admin"
            ]
        );
        ok(c.apply("notes", &json!({"changes": [{"op": "delete", "id": 1}]})));
        assert_eq!(log().len(), 4);
        assert_eq!(log()[3], "notes 1 delete admin");
        assert_eq!(server.db_int("SELECT COUNT(*) FROM checklist"), 0);
    }

    /// §2.3: on_created runs at every start, in its own transaction.
    pub fn on_created(m: &Modules) {
        let project = Project::new(&files(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["statuses"], "")),
                ("items/statuses.toml", item_toml("", &["name text 40"])),
            ]),
        ));
        let names = |r: &Running| -> Vec<String> {
            r.db_query("SELECT name FROM statuses ORDER BY id")
                .iter()
                .map(|row| text(&row[0]))
                .collect()
        };
        let first = project.start(false).unwrap();
        assert_eq!(names(&first), ["new", "in progress", "done"]);
        drop(first);
        let second = project.start(false).unwrap();
        assert_eq!(names(&second).len(), 3, "a later start adds none");
        let rows = ok(second.client().open("statuses", &json!({})));
        assert_eq!(rows["rows"].as_array().unwrap().len(), 3);
    }

    /// §2.3: on_login replaces the built-in login; on_logout runs before the session ends.
    pub fn club_login(m: &Modules) {
        let roles =
            format!("{ADMIN_ROLE}\n[[roles]]\nid = 2\nname = \"member\"\ndefault = [\"view\"]\n");
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["members", "visits"], &roles)),
                (
                    "items/members.toml",
                    item_toml(
                        "",
                        &[
                            "number text 20",
                            "name text 60",
                            "pin_salt text 64",
                            "pin_hash text 128",
                        ],
                    ),
                ),
                ("items/visits.toml", item_toml("", &["member integer"])),
            ]),
        );
        // PIN 4711, salt "jamrs-salt": hashlib.pbkdf2_hmac('sha256', b'4711', salt, 100_000).
        server.db_execute(
            "INSERT INTO members (number, name, pin_salt, pin_hash) VALUES ('1001', 'Ada', \
             '6a616d72732d73616c74', \
             '6dbc40dc99c313c9fe886a09465f3c73812a8473483f7b4dfb7eea49f4f912ef')",
        );
        let (status, body, member) = try_login(&server, "1001", "4711");
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["user"],
            json!({"user_id": 1, "user_name": "Ada", "login": "1", "role_id": 2,
                   "role_name": "member", "tenant_id": null})
        );
        let member = member.unwrap();
        assert_eq!(member.get("/api/task").0, 200);
        for (login, pin) in [("1001", "1234"), ("1002", "4711"), ("admin", PASSWORD)] {
            assert_eq!(try_login(&server, login, pin).0, 401, "{login}");
        }
        assert_eq!(member.post_json("/api/logout", &json!({})).0, 204);
        assert_eq!(server.db_int("SELECT member FROM visits"), 1);
    }

    /// §2.4: on_field_get_text and display_text.
    pub fn field_text(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["customers"], "")),
                ("items/customers.toml", customers_toml("full_names")),
            ]),
        );
        let c = server.client();
        insert_customers(&c);
        assert_eq!(
            ok(call(&c, "customers", "full_names", json!([])))["result"],
            json!(["Luís Gonçalves", "Leonie Köhler", "François Tremblay"])
        );
        let rows = ok(c.open("customers", &json!({"fields": ["lastname"]})));
        assert_eq!(
            rows["rows"],
            json!([["Gonçalves"], ["Köhler"], ["Tremblay"]])
        );
    }

    /// §3: what `item` and `task` describe.
    pub fn describe(m: &Modules) {
        let settings = "[[lookup_lists]]\nname = \"media_types\"\nvalues = [[1, \"MPEG audio file\"], [2, \"AAC audio file\"]]\n";
        let mut task = task_toml("", &["albums", "tracks"], ADMIN_ROLE);
        task.push_str(settings);
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task),
                ("items/albums.toml", item_toml("", &["title text 160"])),
                (
                    "items/tracks.toml",
                    item_toml(
                        "callable = [\"describe\"]",
                        &[
                            "name text 200",
                            "album integer lookup=albums.title",
                            "media_type integer values=media_types",
                            "composer text 220",
                        ],
                    ),
                ),
            ]),
        );
        let c = server.client();
        assert_eq!(
            ok(call(&c, "tracks", "describe", json!([])))["result"],
            json!({
                "item": ["tracks", "Tracks"],
                "text_fields": ["name", "composer"],
                "album": "albums",
                "no_such_field": null,
                "media_types": [[1, "MPEG audio file"], [2, "AAC audio file"]],
                "same_item": "tracks",
                "user": "admin",
            })
        );
    }

    /// §4: task.execute / task.select, only with raw_sql = true.
    pub fn raw_sql(m: &Modules) {
        let tracks = item_toml(
            "callable = [\"reset_plays\"]",
            &["name text 200", "genre text 20", "plays integer"],
        );
        let data = [
            json!({"name": "Balls to the Wall", "genre": "Rock", "plays": 3}),
            json!({"name": "Fast As a Shark", "genre": "Metal", "plays": 7}),
            json!({"name": "Restless and Wild", "genre": "Rock", "plays": 2}),
        ];
        for allowed in [true, false] {
            let settings = if allowed { "raw_sql = true\n" } else { "" };
            let server = server(
                m,
                &owned(&[
                    ("jamrs.toml", task_toml(settings, &["tracks"], "")),
                    ("items/tracks.toml", tracks.clone()),
                ]),
            );
            let c = server.client();
            insert(&c, "tracks", &data);
            let reply = call(&c, "tracks", "reset_plays", json!(["Rock"]));
            if allowed {
                assert_eq!(ok(reply)["result"], json!([["Fast As a Shark", 7]]));
                assert_eq!(server.db_int("SELECT SUM(plays) FROM tracks"), 7);
            } else {
                let message = module_error(&reply);
                assert!(message.contains("raw_sql = true"), "{message}");
                assert_eq!(server.db_int("SELECT SUM(plays) FROM tracks"), 12);
            }
        }
    }

    /// §5: the `__` keys and the client's own params.
    pub fn open_params(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes"], "")),
                (
                    "items/notes.toml",
                    item_toml("", &["title text 200", "pinned boolean"]),
                ),
            ]),
        );
        let c = server.client();
        let rows: Vec<Value> = (0..25)
            .map(|i| json!({"title": format!("note {i}"), "pinned": i < 3}))
            .collect();
        insert(&c, "notes", &rows);
        let count = |params: Value| {
            ok(c.open("notes", &params))["rows"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(count(json!({})), 20);
        assert_eq!(count(json!({"limit": 100})), 20);
        assert_eq!(count(json!({"limit": 5})), 5);
        assert_eq!(count(json!({"params": {"pinned_only": true}})), 3);
    }

    fn tracks_with_lengths(callable: &str) -> String {
        item_toml(
            &format!("callable = [\"{callable}\"]"),
            &["name text 200", "milliseconds integer"],
        )
    }

    /// §7: reading a dataset.
    pub fn longest_tracks(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["tracks"], "")),
                ("items/tracks.toml", tracks_with_lengths("longest")),
            ]),
        );
        let c = server.client();
        insert(
            &c,
            "tracks",
            &[
                json!({"name": "Balls to the Wall", "milliseconds": 342562}),
                json!({"name": "Restless and Wild", "milliseconds": 252051}),
                json!({"name": "Fast As a Shark", "milliseconds": 230619}),
                json!({"name": "Walk On Water"}),
            ],
        );
        assert_eq!(
            ok(call(&c, "tracks", "longest", json!([2])))["result"],
            json!({"count": 2, "tracks": [["Balls to the Wall", 5.7], ["Restless and Wild", 4.2]]})
        );
    }

    /// §7: writing datasets of two items in one transaction.
    pub fn archive_done(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes", "archive"], "")),
                (
                    "items/notes.toml",
                    item_toml(
                        "callable = [\"archive_done\"]",
                        &["title text 200", "done boolean"],
                    ),
                ),
                ("items/archive.toml", item_toml("", &["title text 200"])),
            ]),
        );
        let c = server.client();
        insert(
            &c,
            "notes",
            &[
                json!({"title": "a", "done": true}),
                json!({"title": "b", "done": false}),
                json!({"title": "c", "done": true}),
            ],
        );
        assert_eq!(
            ok(call(&c, "notes", "archive_done", json!([])))["result"],
            2
        );
        let titles = |table: &str| -> Vec<String> {
            server
                .db_query(&format!("SELECT title FROM {table} ORDER BY id"))
                .iter()
                .map(|r| text(&r[0]))
                .collect()
        };
        assert_eq!(titles("notes"), ["b"]);
        assert_eq!(titles("archive"), ["a", "c"]);
    }

    /// §8: a server function, can_view, `apply(safe=True)`.
    pub fn set_media_type(m: &Modules) {
        let roles = format!(
            "{ADMIN_ROLE}
[[roles]]
id = 2
name = \"clerk\"
default = [\"view\", \"create\", \"edit\", \"delete\"]
items = {{ tracks = [\"view\"] }}

[[roles]]
id = 3
name = \"guest\"
default = [\"view\"]
items = {{ tracks = [] }}
"
        );
        let mut task = task_toml("", &["tracks"], &roles);
        task.push_str(
            "\n[[lookup_lists]]\nname = \"media_types\"\nvalues = [[1, \"MPEG audio file\"], [2, \"AAC audio file\"]]\n",
        );
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task),
                (
                    "items/tracks.toml",
                    item_toml(
                        "callable = [\"set_media_type\"]",
                        &["name text 200", "media_type integer values=media_types"],
                    ),
                ),
            ]),
        );
        let admin = server.client();
        insert(
            &admin,
            "tracks",
            &[
                json!({"name": "a", "media_type": 1}),
                json!({"name": "b", "media_type": 1}),
                json!({"name": "c", "media_type": 1}),
            ],
        );
        let media = || -> Vec<i64> {
            server
                .db_query("SELECT media_type FROM tracks ORDER BY id")
                .iter()
                .map(|r| int(&r[0]))
                .collect()
        };
        assert_eq!(
            ok(call(&admin, "tracks", "set_media_type", json!([2, [1, 3]])))["result"],
            2
        );
        assert_eq!(media(), [2, 1, 2]);

        server.add_user("clerk", "clerk", None);
        let clerk = server.login("clerk", PASSWORD);
        let refused = assert_error(
            &call(&clerk, "tracks", "set_media_type", json!([1, [1]])),
            403,
            "forbidden",
        );
        assert_eq!(
            refused["message"],
            json!("your role may not edit records of \"tracks\"")
        );
        server.add_user("guest", "guest", None);
        let guest = server.login("guest", PASSWORD);
        assert_error(
            &call(&guest, "tracks", "set_media_type", json!([1, [1]])),
            403,
            "forbidden",
        );
        let invalid = assert_error(
            &call(&admin, "tracks", "set_media_type", json!([99, [1]])),
            422,
            "validation",
        );
        assert_eq!(
            invalid["fields"],
            json!([{"field": "changes[0].media_type",
                    "message": "99 is not one of the values of list \"media_types\""}])
        );
        assert_eq!(media(), [2, 1, 2], "nothing changed");

        // Only listed functions; only `args` in the body.
        assert_error(
            &call(&admin, "tracks", "on_open", json!([])),
            404,
            "not_found",
        );
        assert_error(
            &admin.post_json(
                "/api/items/tracks/call/set_media_type",
                &json!({"args": [1, [1]], "kwargs": {}}),
            ),
            400,
            "bad_request",
        );
    }

    /// §9: on_ext_request, without a session.
    pub fn ext_webhook(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                (
                    "jamrs.toml",
                    task_toml(
                        "ext_paths = [\"/hooks/payment\"]\n",
                        &["invoices"],
                        ADMIN_ROLE,
                    ),
                ),
                (
                    "items/invoices.toml",
                    item_toml("", &["customer text 60", "paid boolean"]),
                ),
            ]),
        );
        insert(
            &server.client(),
            "invoices",
            &[json!({"customer": "Köhler", "paid": false})],
        );
        let outsider = server.anonymous();
        assert_eq!(
            ok(outsider.post_json(
                "/ext/hooks/payment",
                &json!({"invoice": 1, "secret": "replace-me"})
            )),
            json!({"result": {"paid": 1}})
        );
        assert_eq!(server.db_int("SELECT paid FROM invoices WHERE id = 1"), 1);
        assert_eq!(
            module_error(&outsider.post_json(
                "/ext/hooks/payment",
                &json!({"invoice": 1, "secret": "guess"})
            )),
            "not allowed"
        );
        assert_error(
            &outsider.post_json("/ext/hooks/other", &json!({})),
            404,
            "not_found",
        );
        let (status, _) = outsider.post_raw("/ext/hooks/payment", "text/plain", b"invoice=1");
        assert_eq!(status, 415);
    }

    /// §10: a handler that runs too long is stopped; the server keeps serving.
    pub fn timeout(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                (
                    "jamrs.toml",
                    task_toml("module_timeout = 0.5\n", &["notes", "categories"], ""),
                ),
                ("items/notes.toml", notes_toml()),
                ("items/categories.toml", categories_toml()),
            ]),
        );
        let c = server.client();
        let started = std::time::Instant::now();
        assert_eq!(
            module_error(&c.open("notes", &json!({}))),
            "a server module ran longer than 0.5 s and was stopped"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        ok(c.open("categories", &json!({})));
        insert(&c, "categories", &[json!({"name": "still writable"})]);
    }

    /// §11: an exception after the save rolls the whole apply back.
    pub fn quota(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes"], "")),
                ("items/notes.toml", notes_toml()),
            ]),
        );
        let c = server.client();
        insert(&c, "notes", &[json!({"title": "a"}), json!({"title": "b"})]);
        let two_more = json!({"changes": [
            {"op": "insert", "values": {"title": "c"}},
            {"op": "insert", "values": {"title": "d"}}
        ]});
        assert_eq!(
            module_error(&c.apply("notes", &two_more)),
            "You may keep at most 3 notes"
        );
        assert_eq!(server.db_int("SELECT COUNT(*) FROM notes"), 2);
        insert(&c, "notes", &[json!({"title": "c"})]);
        assert_eq!(server.db_int("SELECT COUNT(*) FROM notes"), 3);
    }

    /// §11: errors in server functions; item.abort.
    pub fn send_email(m: &Modules) {
        let roles = format!(
            "{ADMIN_ROLE}\n[[roles]]\nid = 2\nname = \"clerk\"\ndefault = [\"view\", \"create\", \"edit\", \"delete\"]\n"
        );
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["customers"], &roles)),
                ("items/customers.toml", customers_toml("send_email")),
            ]),
        );
        let admin = server.client();
        insert_customers(&admin);
        let args = json!([[1, 2, 3], "Hello", "A message"]);
        assert_eq!(
            module_error(&call(&admin, "customers", "send_email", args.clone())),
            "This is a demo app: no e-mail was sent to 2 addresses"
        );
        server.add_user("clerk", "clerk", None);
        let clerk = server.login("clerk", PASSWORD);
        assert_eq!(
            module_error(&call(&clerk, "customers", "send_email", args)),
            "Only administrators may send e-mail"
        );
    }

    const TENANT_ROLES: &str = "
[[roles]]
id = 1
name = \"admin\"
default = [\"view\", \"create\", \"edit\", \"delete\"]

[[roles]]
id = 2
name = \"user\"
default = [\"view\", \"create\", \"edit\", \"delete\"]
";

    fn tenant_notes() -> String {
        item_toml("", &["title text 200", "user_id integer read_only"])
    }

    /// Alice and Bob, logged in.
    fn alice_and_bob(server: &TestServer) -> (Client, Client, i64, i64) {
        server.add_user("alice", "user", None);
        server.add_user("bob", "user", None);
        let id = |login: &str| {
            server.db_int(&format!(
                "SELECT id FROM jamrs_users WHERE login = '{login}'"
            ))
        };
        (
            server.login("alice", PASSWORD),
            server.login("bob", PASSWORD),
            id("alice"),
            id("bob"),
        )
    }

    fn titles(c: &Client, item: &str) -> Vec<Value> {
        column(&ok(c.open(item, &json!({"order": ["id"]}))), "title")
    }

    /// The seed's first recipe, as the document describes it.
    fn seed_checks(server: &TestServer, alice: &Client, bob: &Client, ids: (i64, i64)) {
        let (alice_id, bob_id) = ids;
        insert(
            alice,
            "notes",
            &[json!({"title": "alice 1"}), json!({"title": "alice 2"})],
        );
        insert(bob, "notes", &[json!({"title": "bob 1"})]);
        assert_eq!(
            server
                .db_query("SELECT user_id FROM notes ORDER BY id")
                .iter()
                .map(|r| int(&r[0]))
                .collect::<Vec<_>>(),
            [alice_id, alice_id, bob_id]
        );
        assert_eq!(titles(alice, "notes"), [json!("alice 1"), json!("alice 2")]);
        assert_eq!(titles(bob, "notes"), [json!("bob 1")]);

        let before = server.db_snapshot();
        assert_eq!(
            module_error(&bob.apply(
                "notes",
                &json!({"changes": [{"op": "update", "id": 1, "values": {"title": "mine"}}]})
            )),
            "You are not allowed to change record."
        );
        assert_eq!(
            module_error(&bob.apply("notes", &json!({"changes": [{"op": "delete", "id": 1}]}))),
            "You are not allowed to delete record."
        );
        // user_id is read_only: clients cannot send it at all.
        assert_error(
            &bob.apply(
                "notes",
                &json!({"changes": [{"op": "insert", "values": {"title": "x", "user_id": alice_id}}]}),
            ),
            422,
            "validation",
        );
        assert_eq!(server.db_snapshot(), before, "nothing changed");
        ok(alice.apply(
            "notes",
            &json!({"changes": [{"op": "update", "id": 1, "values": {"title": "alice one"}}]}),
        ));
    }

    /// §13: the seed's recipe in the item's module.
    pub fn seed_item(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                ("jamrs.toml", task_toml("", &["notes"], TENANT_ROLES)),
                ("items/notes.toml", tenant_notes()),
            ]),
        );
        let (alice, bob, a, b) = alice_and_bob(&server);
        seed_checks(&server, &alice, &bob, (a, b));
    }

    /// §13: the seed's recipe in task.py: every item with user_id, others shared.
    pub fn seed_task(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                (
                    "jamrs.toml",
                    task_toml("", &["notes", "categories"], TENANT_ROLES),
                ),
                ("items/notes.toml", tenant_notes()),
                ("items/categories.toml", item_toml("", &["title text 100"])),
            ]),
        );
        let (alice, bob, a, b) = alice_and_bob(&server);
        seed_checks(&server, &alice, &bob, (a, b));
        insert(&alice, "categories", &[json!({"title": "home"})]);
        insert(&bob, "categories", &[json!({"title": "work"})]);
        for c in [&alice, &bob] {
            assert_eq!(titles(c, "categories"), [json!("home"), json!("work")]);
        }
    }

    /// §7: what server code writes for a client's request is held to the client's reach,
    /// unless it asks for `apply(unchecked=True)`; with the seed's recipe as `task.py`.
    pub fn reach(m: &Modules) {
        let seed = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed_task/task.py"),
        )
        .unwrap();
        let server = server(
            m,
            &owned(&[
                (
                    "jamrs.toml",
                    task_toml("", &["notes", "contacts"], TENANT_ROLES),
                ),
                (
                    "items/notes.toml",
                    item_toml(
                        "callable = [\"set_contact\", \"hand_over\"]",
                        &[
                            "title text 200",
                            "contact integer lookup=contacts.name",
                            "user_id integer",
                        ],
                    ),
                ),
                (
                    "items/contacts.toml",
                    item_toml("", &["name text 100", "user_id integer"]),
                ),
                ("task.py", seed),
            ]),
        );
        let (alice, bob, _, b) = alice_and_bob(&server);
        assert_eq!(
            insert(
                &alice,
                "contacts",
                &[json!({"name": "a1"}), json!({"name": "a2"})]
            ),
            [1, 2]
        );
        assert_eq!(insert(&bob, "contacts", &[json!({"name": "b1"})]), [3]);
        assert_eq!(insert(&alice, "notes", &[json!({"title": "alice's"})]), [1]);
        let contact = || server.db_int("SELECT contact FROM notes WHERE id = 1");
        ok(call(&alice, "notes", "set_contact", json!([1, 2])));
        assert_eq!(contact(), 2);
        let err = assert_error(
            &call(&alice, "notes", "set_contact", json!([1, 3])),
            422,
            "validation",
        );
        assert_eq!(
            err["fields"],
            json!([{"field": "changes[0].contact", "message": "contacts 3 does not exist"}])
        );
        assert_eq!(contact(), 2);
        ok(call(&alice, "notes", "hand_over", json!([1, b])));
        assert_eq!(server.db_int("SELECT user_id FROM notes WHERE id = 1"), b);
        assert_eq!(titles(&bob, "notes"), [json!("alice's")]);
        assert!(titles(&alice, "notes").is_empty());
    }

    /// §13: Jam.py demo's tracks_sold, kept up to date in on_apply.
    pub fn tracks_sold(m: &Modules) {
        let server = server(
            m,
            &owned(&[
                (
                    "jamrs.toml",
                    task_toml("", &["tracks", "invoices", "invoice_lines"], ""),
                ),
                (
                    "items/tracks.toml",
                    item_toml(
                        "",
                        &["name text 200", "tracks_sold integer read_only default=0"],
                    ),
                ),
                (
                    "items/invoices.toml",
                    item_toml("details = [\"invoice_lines\"]", &["customer text 60"]),
                ),
                (
                    "items/invoice_lines.toml",
                    item_toml(
                        "master_field = \"invoice\"",
                        &[
                            "invoice integer",
                            "track integer lookup=tracks.name",
                            "quantity integer",
                        ],
                    ),
                ),
            ]),
        );
        let c = server.client();
        insert(
            &c,
            "tracks",
            &[
                json!({"name": "Balls to the Wall"}),
                json!({"name": "Fast As a Shark"}),
            ],
        );
        let sold = || -> Vec<i64> {
            server
                .db_query("SELECT tracks_sold FROM tracks ORDER BY id")
                .iter()
                .map(|r| int(&r[0]))
                .collect()
        };
        let line = |track: i64, quantity: i64| json!({"op": "insert", "values": {"track": track, "quantity": quantity}});
        ok(c.apply(
            "invoices",
            &json!({"changes": [{"op": "insert", "values": {"customer": "Köhler"},
                    "details": {"invoice_lines": [line(1, 2), line(2, 1)]}}]}),
        ));
        assert_eq!(sold(), [2, 1]);
        let change_lines = |lines: Value| {
            ok(c.apply(
                "invoices",
                &json!({"changes": [{"op": "update", "id": 1, "details": {"invoice_lines": lines}}]}),
            ))
        };
        change_lines(json!([{"op": "update", "id": 1, "values": {"quantity": 5}}]));
        assert_eq!(sold(), [5, 1]);
        change_lines(json!([{"op": "update", "id": 2, "values": {"track": 1}}]));
        assert_eq!(sold(), [6, 0]);
        ok(c.apply("invoices", &json!({"changes": [{"op": "delete", "id": 1}]})));
        assert_eq!(sold(), [0, 0]);
        assert_eq!(server.db_int("SELECT COUNT(*) FROM invoice_lines"), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Statements of the document's text that no example shows.

const NOTES_TASK: &str =
    "name = \"docs\"\nsafe_mode = false\n\n[[groups]]\nname = \"all\"\nitems = [\"notes\"]\n";

fn notes_server(module: &str) -> TestServer {
    TestServer::from_files(&[
        ("jamrs.toml", NOTES_TASK),
        ("items/notes.toml", &notes_toml()),
        ("items/notes.py", module),
    ])
}

/// §3: after `item.apply_delta`, inserted records have their keys; an `on_apply` that saved the
/// delta must return the result, and cannot save it twice.
#[test]
fn text_apply_delta_gives_keys_and_runs_once() {
    let server = notes_server(
        "
def on_apply(item, delta, params, connection):
    result = item.apply_delta(delta, params, connection)
    if params.get('twice'):
        item.apply_delta(delta, params, connection)
    if params.get('forget'):
        return None
    for d in delta:
        if d.id.value < 1:
            raise Exception('no key')
    return result
",
    );
    let c = server.client();
    insert(&c, "notes", &[json!({"title": "a"}), json!({"title": "b"})]);
    let apply = |params: Value| {
        c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "x"}}], "params": params}),
        )
    };
    let message = module_error(&apply(json!({"forget": true})));
    assert!(message.contains("returned None"), "{message}");
    let message = module_error(&apply(json!({"twice": true})));
    assert!(message.contains("already saved"), "{message}");
    assert_eq!(server.db_int("SELECT COUNT(*) FROM notes"), 2);
}

/// §5: a `__` value of the wrong shape, or an unknown `__` key, fails the open.
#[test]
fn text_bad_open_params_fail_the_open() {
    let server = notes_server(
        "
def on_open(item, params):
    if params.get('bad_limit'):
        params['__limit'] = 'ten'
    if params.get('unknown'):
        params['__nonsense'] = 1
",
    );
    let c = server.client();
    let message = module_error(&c.open("notes", &json!({"params": {"bad_limit": true}})));
    assert!(message.contains("__limit"), "{message}");
    let message = module_error(&c.open("notes", &json!({"params": {"unknown": true}})));
    assert!(message.contains("__nonsense"), "{message}");
}

/// §12: a dataset cannot apply while a client's open runs.
#[test]
fn text_no_writes_while_opening() {
    let server = notes_server(
        "
def on_open(item, params):
    notes = item.copy(handlers=False)
    notes.open(open_empty=True)
    notes.append()
    notes.title.value = 'sneaky'
    notes.apply()
",
    );
    let message = module_error(&server.client().open("notes", &json!({})));
    assert!(message.contains("write transaction"), "{message}");
    assert_eq!(server.db_int("SELECT COUNT(*) FROM notes"), 0);
}

/// §7: a server-side open reads every row (the task's `on_open` runs for it and does not page
/// it), and `expanded=True` gives lookup texts.
#[test]
fn text_datasets_are_unpaged_and_read_lookup_texts() {
    let server = TestServer::from_files(&[
        (
            "jamrs.toml",
            "name = \"docs\"\nsafe_mode = false\nmax_limit = 5\n\n[[groups]]\nname = \"all\"\nitems = [\"categories\", \"notes\"]\n",
        ),
        ("task.py", "def on_open(item, params):\n    pass\n"),
        ("items/categories.toml", &categories_toml()),
        (
            "items/notes.toml",
            &item_toml(
                "callable = [\"summary\"]",
                &["title text 200", "category integer lookup=categories.name"],
            ),
        ),
        (
            "items/notes.py",
            "
def summary(item):
    notes = item.copy()
    notes.open(expanded=True)
    return [notes.rec_count, sorted(set(n.category.lookup_text for n in notes))]
",
        ),
    ]);
    let c = server.client();
    insert(
        &c,
        "categories",
        &[json!({"name": "home"}), json!({"name": "work"})],
    );
    let rows: Vec<Value> = (0..8)
        .map(|i| json!({"title": format!("n{i}"), "category": 1 + i % 2}))
        .collect();
    insert(&c, "notes", &rows);
    assert_eq!(
        ok(c.open("notes", &json!({})))["rows"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        ok(call(&c, "notes", "summary", json!([])))["result"],
        json!([8, ["home", "work"]])
    );
}
