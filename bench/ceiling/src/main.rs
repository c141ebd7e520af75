//! The benchmark's ceiling: what this machine can do for jamrs's requests with nothing but
//! axum, rusqlite and the same SQL (and jamrs's allocator, mimalloc).
//!
//! It answers the benchmark's three requests on jamrs's paths, with jamrs's JSON shapes:
//!
//! - `POST /api/items/notes/open` `{"limit", "offset"}`: a page of one tenant's notes;
//! - the same with `"funcs"` (and `"summary"`): the tenant's row count;
//! - `POST /api/items/notes/apply` `{"changes": [{"op": "insert", "values": {...}}]}`: one row.
//!
//! The SQL is the text jamrs's builder writes for these requests (crates/jamrs-store/src/builder,
//! soft-delete flag and tenant predicate included), and the database runs as jamrs runs it:
//! one writer thread with the only read-write connection that runs the applies queued together
//! in one `BEGIN IMMEDIATE … COMMIT`, each in a savepoint when there are several (as
//! crates/jamrs-sqlite/src/writer.rs does, 64 at most, none started past 2 ms), reads on a read-only connection of the request's own thread, bounded to 1 ms by a
//! progress handler and run again on reader threads when interrupted (as
//! crates/jamrs-sqlite/src/store.rs does), the same connection settings (WAL,
//! synchronous=NORMAL, the query-planner stability guarantee, cached statements).
//! There is no session, no metadata, no privilege or tenancy rule: the tenant is the request's
//! `"tenant"` or the command line's `--tenant`.
//!
//! Usage: `jamrs-bench-ceiling DB ADDR [--tenant N]`.

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
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use tokio::sync::oneshot;

/// The allocator jamrs ships with (`crates/jamrs/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// jamrs's SQL for a page of a covered item with a soft-delete flag (builder/select.rs).
const PAGE_SQL: &str = "SELECT t.\"id\", t.\"title\", t.\"body\", t.\"user_id\" FROM \"notes\" AS t \
     WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"user_id\" = ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?";
/// jamrs's SQL for `{"fields": ["id"], "funcs": {"id": "count"}, "summary": true}`.
const COUNT_SQL: &str =
    "SELECT COUNT(*) FROM \"notes\" AS t WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"user_id\" = ?";
/// jamrs's INSERT (builder/write.rs): every stored field but the key, the flag cleared.
const INSERT_SQL: &str =
    "INSERT INTO \"notes\" (\"title\", \"body\", \"user_id\", \"deleted\") VALUES (?, ?, ?, ?)";

const PAGE_FIELDS: [&str; 4] = ["id", "title", "body", "user_id"];

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

/// The connection settings of crates/jamrs-sqlite/src/conn.rs that matter for speed.
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
    funcs: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    #[allow(dead_code)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    summary: bool,
    #[serde(default)]
    tenant: Option<i64>,
}

struct OpenReply<'a> {
    fields: &'a [&'a str],
    rows: &'a [Vec<Value>],
}

impl Serialize for OpenReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("fields", self.fields)?;
        map.serialize_entry("rows", &Rows(self.rows))?;
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
        DEADLINE.set(Some(Instant::now() + READ_BUDGET));
        let result = job(conn);
        DEADLINE.set(None);
        (!TRIPPED.get()).then_some(result)
    })
}

async fn open_notes(State(db): State<Arc<Db>>, body: Bytes) -> Response {
    let req: OpenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e.to_string()),
    };
    let tenant = req.tenant.unwrap_or(db.tenant);
    let count = req.funcs.as_ref().is_some_and(|f| !f.is_empty());
    let limit = match req.limit {
        Some(0) | None => 1000,
        Some(n) => n.min(1000),
    } as i64;
    let offset = req.offset.unwrap_or(0) as i64;
    let job = move |conn: &mut Connection| -> rusqlite::Result<Vec<Vec<Value>>> {
        if count {
            let mut stmt = conn.prepare_cached(COUNT_SQL)?;
            let n: i64 = stmt.query_row([tenant], |r| r.get(0))?;
            Ok(vec![vec![Value::Int(n)]])
        } else {
            let mut stmt = conn.prepare_cached(PAGE_SQL)?;
            let mut rows = stmt.query(rusqlite::params![tenant, limit, offset])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(4);
                for i in 0..4 {
                    values.push(value(row.get_ref(i)?));
                }
                out.push(values);
            }
            Ok(out)
        }
    };
    let rows = match read_here(&db.path, job) {
        Some(done) => done.map_err(|e| error(&e.to_string())),
        None => run(&db.readers, job).await,
    };
    let rows = match rows {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let fields: &[&str] = if count { &["id"] } else { &PAGE_FIELDS };
    match serde_json::to_vec(&OpenReply {
        fields,
        rows: &rows,
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
    values: serde_json::Map<String, serde_json::Value>,
}

struct Inserted {
    id: i64,
    title: Value,
    body: Value,
    user_id: i64,
}

fn text(v: Option<&serde_json::Value>) -> Value {
    match v {
        Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

async fn apply_notes(State(db): State<Arc<Db>>, body: Bytes) -> Response {
    let req: ApplyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e.to_string()),
    };
    let tenant = req.tenant.unwrap_or(db.tenant);
    let mut rows = Vec::new();
    for c in &req.changes {
        if c.op != "insert" {
            return bad_request(format!("the ceiling only inserts, not {:?}", c.op));
        }
        rows.push((text(c.values.get("title")), text(c.values.get("body"))));
    }
    let done = write(&db.writer, move |conn| {
        let mut out = Vec::with_capacity(rows.len());
        for (title, body) in rows {
            let mut stmt = conn.prepare_cached(INSERT_SQL)?;
            let bind = |v: &Value| match v {
                Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
                _ => rusqlite::types::Value::Null,
            };
            stmt.execute(rusqlite::params![bind(&title), bind(&body), tenant, 0])?;
            out.push(Inserted {
                id: conn.last_insert_rowid(),
                title,
                body,
                user_id: tenant,
            });
        }
        Ok(out)
    })
    .await;
    let done = match done {
        Ok(d) => d,
        Err(resp) => return resp,
    };
    // {"changes": [{"op": "insert", "id": 1, "values": {"id", "title", "body", "user_id"}}]}
    let changes: Vec<serde_json::Value> = done
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "op": "insert",
                "id": r.id,
                "values": {"id": r.id, "title": r.title, "body": r.body, "user_id": r.user_id},
            })
        })
        .collect();
    match serde_json::to_vec(&serde_json::json!({ "changes": changes })) {
        Ok(body) => json(body),
        Err(e) => error(&e.to_string()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: jamrs-bench-ceiling DB ADDR [--tenant N]");
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
