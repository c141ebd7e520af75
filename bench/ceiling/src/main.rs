//! The benchmark's ceiling: what this machine can do for jamrs's requests with nothing but
//! axum, rusqlite and the same SQL (and jamrs's allocator, mimalloc).
//!
//! It answers the benchmark's requests on jamrs's paths, with jamrs's JSON shapes:
//!
//! - `POST /api/items/notes/open` `{"limit", "offset"}` (and `"order": [["id", false]]`, the
//!   same statement): a page of one tenant's notes;
//! - the same with `"funcs"` (and `"summary"`): the tenant's row count;
//! - the same with `"expanded": true`: the page with its three lookup texts (LEFT JOINs);
//! - the same with `"filters": [["title", "contains", text]]`: a search;
//! - `POST /api/items/notes/apply` `{"changes": [{"op": "insert", "values": {...}}]}`: one row,
//!   with `"details": {"checklist": [inserts]}` a master and its detail rows;
//! - the same with `{"op": "update", "id", "values": {"title"}}`: one row's title.
//!
//! The SQL is the text jamrs's engine runs for these requests (crates/jamrs-store/src/builder,
//! soft-delete flag and tenant predicate included, and the reads apply does before a change);
//! `--print-sql` prints it and bench/run compares it with what jamrs runs (bench/micro's
//! `jamrs-bench-sql`) before it measures. The database runs as jamrs runs it:
//! one writer thread with the only read-write connection that runs the applies queued together
//! in one `BEGIN IMMEDIATE … COMMIT`, each in a savepoint when there are several (as
//! crates/jamrs-sqlite/src/writer.rs does, 64 at most, none started past 2 ms), reads on a
//! read-only connection of the request's own thread, bounded to 1 ms by a progress handler and
//! run again on reader threads when interrupted (as crates/jamrs-sqlite/src/store.rs does), the
//! same connection settings (WAL, synchronous=NORMAL, the query-planner stability guarantee,
//! cached statements, the `jamrs_fold` function searches use).
//! There is no session, no metadata, no privilege or tenancy rule: the tenant is the request's
//! `"tenant"` or the command line's `--tenant`.
//!
//! Usage: `jamrs-bench-ceiling DB ADDR [--tenant N]`, or `jamrs-bench-ceiling --print-sql`.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use crossbeam_channel::{Sender, unbounded};
use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value as Json, json};
use tokio::sync::oneshot;

/// jamrs's `jamrs_fold` SQL function, the same source file: the ceiling runs exactly jamrs's
/// function for searches.
#[path = "../../../crates/jamrs-sqlite/src/fold.rs"]
mod fold;

/// The allocator jamrs ships with (`crates/jamrs/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// jamrs's SQL (builder/select.rs and builder/write.rs) for the project bench/run writes: notes
// (title, body, user_id, three lookups, soft delete) with the detail checklist, built-in tenancy.

/// A page; also a page sorted by id (jamrs adds the key to every order, so it is the same).
const PAGE_SQL: &str = "SELECT t.\"id\", t.\"title\", t.\"body\", t.\"user_id\", t.\"category\", \
     t.\"project\", t.\"status\" FROM \"notes\" AS t WHERE 1=1 AND t.\"deleted\" = 0 AND \
     t.\"user_id\" = ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?";
/// `"total": true`: the page with its total, one statement (the count a sub-select in the first
/// column, its value bound first).
const PAGE_TOTAL_SQL: &str = "SELECT (SELECT COUNT(*) FROM \"notes\" AS t WHERE 1=1 AND \
     t.\"deleted\" = 0 AND t.\"user_id\" = ?), t.\"id\", t.\"title\", t.\"body\", \
     t.\"user_id\", t.\"category\", t.\"project\", t.\"status\" FROM \"notes\" AS t WHERE 1=1 \
     AND t.\"deleted\" = 0 AND t.\"user_id\" = ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?";
/// `{"fields": ["id"], "funcs": {"id": "count"}, "summary": true}`.
const COUNT_SQL: &str =
    "SELECT COUNT(*) FROM \"notes\" AS t WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"user_id\" = ?";
/// `"expanded": true`: the lookup texts.
const EXPANDED_SQL: &str = "SELECT t.\"id\", t.\"title\", t.\"body\", t.\"user_id\", \
     t.\"category\", t.\"project\", t.\"status\", j1.\"name\", j2.\"name\", j3.\"name\" FROM \
     \"notes\" AS t LEFT JOIN \"categories\" AS j1 ON t.\"category\" = j1.\"id\" LEFT JOIN \
     \"projects\" AS j2 ON t.\"project\" = j2.\"id\" LEFT JOIN \"statuses\" AS j3 ON \
     t.\"status\" = j3.\"id\" WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"user_id\" = ? ORDER BY \
     t.\"id\" ASC LIMIT ? OFFSET ?";
/// `"filters": [["title", "contains", text]]`.
const SEARCH_SQL: &str = "SELECT t.\"id\", t.\"title\", t.\"body\", t.\"user_id\", \
     t.\"category\", t.\"project\", t.\"status\" FROM \"notes\" AS t WHERE 1=1 AND \
     t.\"deleted\" = 0 AND t.\"user_id\" = ? AND jamrs_fold(t.\"title\") LIKE ? ESCAPE '\\' \
     ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?";
/// An INSERT: every stored field but the key, the flag cleared.
const INSERT_SQL: &str = "INSERT INTO \"notes\" (\"title\", \"body\", \"user_id\", \"category\", \
     \"project\", \"status\", \"deleted\") VALUES (?, ?, ?, ?, ?, ?, ?)";
/// A detail row's INSERT (the link, its fields, the master's tenant, the flag).
const DETAIL_INSERT_SQL: &str = "INSERT INTO \"checklist\" (\"note\", \"text\", \"done\", \
     \"user_id\", \"deleted\") VALUES (?, ?, ?, ?, ?)";
/// An update first reads the stored row (live, the tenant's)...
const SELECT_ROW_SQL: &str = "SELECT \"id\", \"title\", \"body\", \"user_id\", \"category\", \
     \"project\", \"status\", \"deleted\" FROM \"notes\" WHERE \"id\" = ? AND \"deleted\" = 0 AND \
     \"user_id\" = ?";
/// ... then changes what the request changes.
const UPDATE_SQL: &str =
    "UPDATE \"notes\" SET \"title\" = ? WHERE \"id\" = ? AND \"deleted\" = 0 AND \"user_id\" = ?";

const PAGE_FIELDS: [&str; 7] = [
    "id", "title", "body", "user_id", "category", "project", "status",
];
const EXPANDED_FIELDS: [&str; 10] = [
    "id",
    "title",
    "body",
    "user_id",
    "category",
    "project",
    "status",
    "category.text",
    "project.text",
    "status.text",
];

/// The statements each request of bench/run runs, by its name there (`--print-sql`). The
/// master's apply has 10 detail rows, as bench/run sends it.
fn print_sql() {
    let mut master = vec![INSERT_SQL];
    master.extend([DETAIL_INSERT_SQL; 10]);
    let all = json!({
        "open": [PAGE_SQL],
        "open_sorted": [PAGE_SQL],
        "page_total": [PAGE_TOTAL_SQL],
        "count": [COUNT_SQL],
        "expanded": [EXPANDED_SQL],
        "search": [SEARCH_SQL],
        "update": [SELECT_ROW_SQL, UPDATE_SQL],
        "insert": [INSERT_SQL],
        "master10": master,
    });
    println!("{all}");
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A write body; it returns whether it succeeded and what to do once its transaction's fate is
/// known (`Ok` committed).
type WriteJob = Box<dyn FnOnce(&mut Connection) -> (bool, Finish) + Send>;
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;

const MAX_BATCH: usize = 64;
const BATCH_TIME: Duration = Duration::from_millis(2);

/// jamrs's writer loop (crates/jamrs-sqlite/src/writer.rs): group commit with savepoints.
fn spawn_writer(mut conn: Connection, jobs: crossbeam_channel::Receiver<WriteJob>) {
    thread::Builder::new()
        .name("ceiling-writer".into())
        .spawn(move || {
            let mut queued: std::collections::VecDeque<WriteJob> = Default::default();
            loop {
                if queued.is_empty() {
                    match jobs.recv() {
                        Ok(j) => queued.push_back(j),
                        Err(_) => return,
                    }
                }
                while queued.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(j) => queued.push_back(j),
                        Err(_) => break,
                    }
                }
                if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                    panic!("BEGIN failed: {e}");
                }
                let savepoints = queued.len() > 1;
                let started = Instant::now();
                let mut done: Vec<(bool, Finish)> = Vec::new();
                while let Some(job) = queued.pop_front() {
                    if savepoints {
                        conn.execute_batch("SAVEPOINT w").expect("SAVEPOINT");
                    }
                    let (ok, finish) = job(&mut conn);
                    if savepoints {
                        let undo = if ok {
                            "RELEASE w"
                        } else {
                            "ROLLBACK TO w; RELEASE w"
                        };
                        conn.execute_batch(undo).expect("RELEASE");
                    }
                    done.push((ok, finish));
                    if started.elapsed() >= BATCH_TIME {
                        break;
                    }
                }
                let end = if done.iter().any(|(ok, _)| *ok) {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                };
                let outcome = conn.execute_batch(end).map_err(|e| e.to_string());
                if outcome.is_err() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                for (_, finish) in done {
                    finish(outcome.clone());
                }
            }
        })
        .expect("cannot start the writer thread");
}

/// Queues a write body and waits for its answer, given after its transaction committed.
async fn write<T: Send + 'static>(
    queue: &Sender<WriteJob>,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    queue
        .send(Box::new(move |conn| match f(conn) {
            Ok(v) => (
                true,
                Box::new(move |outcome: Result<(), String>| {
                    let _ = tx.send(outcome.map(|()| v));
                }) as Finish,
            ),
            Err(e) => (
                false,
                Box::new(move |_| {
                    let _ = tx.send(Err(e.to_string()));
                }),
            ),
        }))
        .map_err(|_| error("database workers stopped"))?;
    rx.await
        .map_err(|_| error("database job lost"))?
        .map_err(|e| error(&e))
}

struct Db {
    path: PathBuf,
    readers: Sender<Job>,
    writer: Sender<WriteJob>,
    tenant: i64,
}

#[derive(Clone, Debug)]
enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_unit(),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        // As jamrs decodes text (crates/jamrs-sqlite/src/conn.rs).
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
    }
}

/// The connection settings of crates/jamrs-sqlite/src/conn.rs that matter for speed, and the
/// function its case-insensitive LIKE calls.
fn open(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(256);
    // jamrs's `jamrs_fold`, its own code (the module is included from jamrs-sqlite below).
    conn.create_scalar_function(
        "jamrs_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(fold::jamrs_fold(ctx)),
    )?;
    Ok(conn)
}

fn spawn(name: String, mut conn: Connection, jobs: crossbeam_channel::Receiver<Job>) {
    thread::Builder::new()
        .name(name)
        .spawn(move || {
            for job in jobs.iter() {
                job(&mut conn);
            }
        })
        .expect("cannot start a database thread");
}

async fn run<T: Send + 'static>(
    queue: &Sender<Job>,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    queue
        .send(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        }))
        .map_err(|_| error("database workers stopped"))?;
    rx.await
        .map_err(|_| error("database job lost"))?
        .map_err(|e| error(&e.to_string()))
}

fn error(msg: &str) -> Response {
    let body = serde_json::json!({"error": {"code": "internal", "message": msg}}).to_string();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn bad_request(msg: String) -> Response {
    let body = serde_json::json!({"error": {"code": "bad_request", "message": msg}}).to_string();
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn json(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[derive(Deserialize)]
struct OpenRequest {
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    funcs: Option<Map<String, Json>>,
    #[serde(default)]
    #[allow(dead_code)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    summary: bool,
    #[serde(default)]
    expanded: bool,
    #[serde(default)]
    filters: Vec<(String, String, String)>,
    #[serde(default)]
    order: Vec<(String, bool)>,
    #[serde(default)]
    tenant: Option<i64>,
    #[serde(default)]
    total: bool,
}

struct OpenReply<'a> {
    fields: &'a [&'a str],
    rows: &'a [Vec<Value>],
    total: Option<i64>,
}

impl Serialize for OpenReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2 + usize::from(self.total.is_some())))?;
        map.serialize_entry("fields", self.fields)?;
        map.serialize_entry("rows", &Rows(self.rows))?;
        if let Some(total) = self.total {
            map.serialize_entry("total", &total)?;
        }
        map.end()
    }
}

struct Rows<'a>(&'a [Vec<Value>]);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            seq.serialize_element(row)?;
        }
        seq.end()
    }
}

/// jamrs's bound on a read on the request's thread (crates/jamrs/src/app.rs) and how often
/// SQLite checks it (crates/jamrs-sqlite/src/store.rs).
const READ_BUDGET: Duration = Duration::from_millis(1);
const PROGRESS_STEPS: i32 = 1000;

/// [`READ_BUDGET`], or as jamrs, `JAMRS_BENCH_READ_BUDGET_MS` (bench/icount, under valgrind).
fn read_budget() -> Duration {
    static BUDGET: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        std::env::var("JAMRS_BENCH_READ_BUDGET_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(READ_BUDGET, Duration::from_millis)
    })
}

/// As jamrs, `JAMRS_BENCH_READS=readers`: every read on reader threads (bench/ab compares the
/// two read paths side by side).
fn reads_on_readers_only() -> bool {
    static READERS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *READERS.get_or_init(|| std::env::var("JAMRS_BENCH_READS").is_ok_and(|v| v == "readers"))
}

thread_local! {
    static HERE: RefCell<Option<Connection>> = const { RefCell::new(None) };
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static TRIPPED: Cell<bool> = const { Cell::new(false) };
}

fn past_deadline() -> bool {
    let past = DEADLINE.get().is_some_and(|d| Instant::now() >= d);
    if past {
        TRIPPED.set(true);
    }
    past
}

fn no_lock_wait(_attempts: i32) -> bool {
    TRIPPED.set(true);
    false
}

/// Runs `job` on this thread's read-only connection within [`READ_BUDGET`]; `None` if it was
/// interrupted (it then runs on a reader).
fn read_here<T>(
    path: &Path,
    job: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> Option<rusqlite::Result<T>> {
    HERE.with(|here| {
        let mut here = here.borrow_mut();
        if here.is_none() {
            let mut conn = open(path, true).expect("cannot open the database");
            conn.progress_handler(PROGRESS_STEPS, Some(past_deadline))
                .expect("progress handler");
            conn.busy_handler(Some(no_lock_wait)).expect("busy handler");
            *here = Some(conn);
        }
        let conn = here.as_mut()?;
        TRIPPED.set(false);
        DEADLINE.set(Some(Instant::now() + read_budget()));
        let result = job(conn);
        DEADLINE.set(None);
        (!TRIPPED.get()).then_some(result)
    })
}

/// Which of jamrs's statements an open runs.
#[derive(Clone)]
enum Read {
    Page,
    PageTotal,
    Count,
    Expanded,
    Search(String),
}

/// `%text%` for jamrs's case-insensitive LIKE: `\`, `%` and `_` escaped, then folded.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out.to_lowercase()
}

async fn open_notes(State(db): State<Arc<Db>>, body: Bytes) -> Response {
    let req: OpenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e.to_string()),
    };
    if req.order.iter().any(|(f, desc)| f != "id" || *desc) {
        return bad_request("the ceiling only sorts by id, ascending".into());
    }
    let read = if req.funcs.as_ref().is_some_and(|f| !f.is_empty()) {
        Read::Count
    } else if let Some((field, op, text)) = req.filters.first() {
        if req.filters.len() > 1 || field != "title" || op != "contains" {
            return bad_request("the ceiling only searches titles (contains)".into());
        }
        Read::Search(contains_pattern(text))
    } else if req.expanded {
        Read::Expanded
    } else if req.total {
        Read::PageTotal
    } else {
        Read::Page
    };
    let tenant = req.tenant.unwrap_or(db.tenant);
    let limit = match req.limit {
        Some(0) | None => 1000,
        Some(n) => n.min(1000),
    } as i64;
    let offset = req.offset.unwrap_or(0) as i64;
    let fields: &[&str] = match read {
        Read::Count => &["id"],
        Read::Expanded => &EXPANDED_FIELDS,
        _ => &PAGE_FIELDS,
    };
    let width = fields.len();
    let job = move |conn: &mut Connection| -> rusqlite::Result<Vec<Vec<Value>>> {
        use rusqlite::types::Value as V;
        let (sql, params) = match &read {
            Read::Count => {
                let mut stmt = conn.prepare_cached(COUNT_SQL)?;
                let n: i64 = stmt.query_row([tenant], |r| r.get(0))?;
                return Ok(vec![vec![Value::Int(n)]]);
            }
            Read::Page => (PAGE_SQL, vec![tenant.into(), limit.into(), offset.into()]),
            Read::PageTotal => (
                PAGE_TOTAL_SQL,
                vec![tenant.into(), tenant.into(), limit.into(), offset.into()],
            ),
            Read::Expanded => (
                EXPANDED_SQL,
                vec![tenant.into(), limit.into(), offset.into()],
            ),
            Read::Search(pattern) => (
                SEARCH_SQL,
                vec![
                    V::from(tenant),
                    V::Text(pattern.clone()),
                    limit.into(),
                    offset.into(),
                ],
            ),
        };
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        // The page with its total: the count first in every row (as jamrs's engine takes it
        // out, so does this).
        let skip = usize::from(matches!(read, Read::PageTotal));
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width + skip);
            for i in 0..width + skip {
                values.push(value(row.get_ref(i)?));
            }
            out.push(values);
        }
        Ok(out)
    };
    let here = if reads_on_readers_only() {
        None
    } else {
        read_here(&db.path, job.clone())
    };
    let rows = match here {
        Some(done) => done.map_err(|e| error(&e.to_string())),
        None => run(&db.readers, job).await,
    };
    let mut rows = match rows {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let total = req.total.then(|| match rows.first() {
        Some(r) => match r[0] {
            Value::Int(n) => n,
            _ => 0,
        },
        None => 0,
    });
    if req.total {
        for r in &mut rows {
            r.remove(0);
        }
    }
    match serde_json::to_vec(&OpenReply {
        fields,
        rows: &rows,
        total,
    }) {
        Ok(body) => json(body),
        Err(e) => error(&e.to_string()),
    }
}

#[derive(Deserialize)]
struct ApplyRequest {
    changes: Vec<ChangeRequest>,
    #[serde(default)]
    tenant: Option<i64>,
}

#[derive(Deserialize)]
struct ChangeRequest {
    op: String,
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    values: Map<String, Json>,
    #[serde(default)]
    details: Map<String, Json>,
}

/// A change as the writer runs it.
enum Write {
    /// A note (title, body and its three lookups) and its checklist rows (text, done).
    Insert {
        note: [SqlValue; 5],
        details: Vec<(SqlValue, bool)>,
    },
    Update {
        id: i64,
        title: SqlValue,
    },
}

type SqlValue = rusqlite::types::Value;

fn bind_text(v: Option<&Json>) -> SqlValue {
    match v {
        Some(Json::String(s)) => SqlValue::Text(s.clone()),
        _ => SqlValue::Null,
    }
}

fn bind_int(v: Option<&Json>) -> SqlValue {
    match v.and_then(Json::as_i64) {
        Some(i) => SqlValue::Integer(i),
        None => SqlValue::Null,
    }
}

fn to_json(v: &SqlValue) -> Json {
    match v {
        SqlValue::Integer(i) => json!(i),
        SqlValue::Real(f) => json!(f),
        SqlValue::Text(t) => json!(t),
        SqlValue::Null | SqlValue::Blob(_) => Json::Null,
    }
}

fn parse_change(c: &ChangeRequest) -> Result<Write, String> {
    match c.op.as_str() {
        "insert" => {
            let v = &c.values;
            let mut details = Vec::new();
            for (name, list) in &c.details {
                let Some(list) = list.as_array().filter(|_| name == "checklist") else {
                    return Err(format!("the ceiling has no detail {name:?}"));
                };
                for d in list {
                    let values = d.get("values");
                    let text = bind_text(values.and_then(|v| v.get("text")));
                    let done = values
                        .and_then(|v| v.get("done"))
                        .and_then(Json::as_bool)
                        .unwrap_or(false);
                    details.push((text, done));
                }
            }
            Ok(Write::Insert {
                note: [
                    bind_text(v.get("title")),
                    bind_text(v.get("body")),
                    bind_int(v.get("category")),
                    bind_int(v.get("project")),
                    bind_int(v.get("status")),
                ],
                details,
            })
        }
        "update" => match (c.id, c.values.get("title")) {
            (Some(id), Some(Json::String(t))) if c.values.len() == 1 => Ok(Write::Update {
                id,
                title: SqlValue::Text(t.clone()),
            }),
            _ => Err("the ceiling only updates a title".into()),
        },
        other => Err(format!("the ceiling does not {other:?}")),
    }
}

/// Runs one change on the writer's connection with jamrs's statements, and returns its result
/// as jamrs's apply reply shows it.
fn run_change(conn: &Connection, change: Write, tenant: i64) -> rusqlite::Result<Json> {
    match change {
        Write::Insert { note, details } => {
            let [title, body, category, project, status] = note;
            conn.prepare_cached(INSERT_SQL)?.execute(rusqlite::params![
                title, body, tenant, category, project, status, 0
            ])?;
            let id = conn.last_insert_rowid();
            let mut lines = Vec::with_capacity(details.len());
            for (text, done) in details {
                conn.prepare_cached(DETAIL_INSERT_SQL)?
                    .execute(rusqlite::params![id, text, i64::from(done), tenant, 0])?;
                let line = conn.last_insert_rowid();
                lines.push(json!({"op": "insert", "id": line, "values": {
                    "id": line, "note": id, "text": to_json(&text), "done": done,
                    "user_id": tenant}}));
            }
            let mut out = json!({"op": "insert", "id": id, "values": {
                "id": id, "title": to_json(&title), "body": to_json(&body), "user_id": tenant,
                "category": to_json(&category), "project": to_json(&project),
                "status": to_json(&status)}});
            if !lines.is_empty() {
                out["details"] = json!({ "checklist": lines });
            }
            Ok(out)
        }
        Write::Update { id, title } => {
            let stored: Vec<SqlValue> = conn
                .prepare_cached(SELECT_ROW_SQL)?
                .query_row(rusqlite::params![id, tenant], |r| {
                    (0..8).map(|i| r.get::<_, SqlValue>(i)).collect()
                })?;
            let changed = conn
                .prepare_cached(UPDATE_SQL)?
                .execute(rusqlite::params![title, id, tenant])?;
            if changed != 1 {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            let mut values = Map::new();
            for (name, v) in PAGE_FIELDS.iter().zip(&stored) {
                values.insert((*name).into(), to_json(v));
            }
            values.insert("title".into(), to_json(&title));
            Ok(json!({"op": "update", "id": id, "values": values}))
        }
    }
}

async fn apply_notes(State(db): State<Arc<Db>>, body: Bytes) -> Response {
    let req: ApplyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e.to_string()),
    };
    let tenant = req.tenant.unwrap_or(db.tenant);
    let mut changes = Vec::with_capacity(req.changes.len());
    for c in &req.changes {
        match parse_change(c) {
            Ok(w) => changes.push(w),
            Err(e) => return bad_request(e),
        }
    }
    let done = write(&db.writer, move |conn| {
        changes
            .into_iter()
            .map(|c| run_change(conn, c, tenant))
            .collect::<rusqlite::Result<Vec<Json>>>()
    })
    .await;
    let done = match done {
        Ok(d) => d,
        Err(resp) => return resp,
    };
    match serde_json::to_vec(&json!({ "changes": done })) {
        Ok(body) => json(body),
        Err(e) => error(&e.to_string()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--print-sql") {
        print_sql();
        return;
    }
    if args.len() < 3 {
        eprintln!("usage: jamrs-bench-ceiling DB ADDR [--tenant N] | --print-sql");
        std::process::exit(2);
    }
    let path = PathBuf::from(&args[1]);
    let addr = args[2].clone();
    let tenant = args
        .iter()
        .position(|a| a == "--tenant")
        .and_then(|i| args.get(i + 1))
        .map_or(1, |t| t.parse().expect("--tenant takes a number"));
    // As jamrs: one reader per core, at least 2 and at most 8.
    let readers = thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let (writer, writer_rx) = unbounded::<WriteJob>();
    spawn_writer(
        open(&path, false).expect("cannot open the database"),
        writer_rx,
    );
    let (reader_tx, reader_rx) = unbounded::<Job>();
    for i in 0..readers {
        spawn(
            format!("ceiling-reader-{i}"),
            open(&path, true).expect("cannot open the database"),
            reader_rx.clone(),
        );
    }
    let db = Arc::new(Db {
        path: path.clone(),
        readers: reader_tx,
        writer,
        tenant,
    });
    let app = Router::new()
        .route("/api/items/notes/open", post(open_notes))
        .route("/api/items/notes/apply", post(apply_notes))
        .with_state(db);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start tokio");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .expect("cannot listen");
        println!("ceiling: serving {} on {addr}", path.display());
        axum::serve(listener, app).await.expect("server failed");
    });
}
