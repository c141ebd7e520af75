//! `jamrs-bench-sql PROJECT USER_ID ROLE < requests.json`: the SQL statements jamrs runs for
//! each of `bench/run`'s requests, as JSON `{"name": ["statement", ...], ...}` on stdout.
//!
//! `bench/run` compares them with the statements the ceiling runs (`jamrs-bench-ceiling
//! --print-sql`), so that the ceiling keeps running jamrs's SQL while the query builder changes.
//!
//! `requests.json` is a list of `{"name", "item", "kind": "open" | "apply", "body"}`, the bodies
//! the benchmark sends. Each one runs through the engine as the HTTP layer runs it for a client
//! of a project without server modules (`Engine { hooks: NoHooks, client: true }`, an apply
//! followed by `check_reach`), for user `USER_ID` of role `ROLE`, on the project's own database.
//! Every apply runs in a transaction that is rolled back: the database is left as it was. The
//! session check is not part of the output (the ceiling has no sessions).

use std::any::Any;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jamrs_core::delta::{ApplyParams, Change};
use jamrs_core::query::OpenParams;
use jamrs_core::session::{Caller, UserInfo};
use jamrs_core::{FieldType, Result, Task, Value};
use jamrs_sqlite::SqliteConn;
use jamrs_store::{Conn, Dialect, Engine, NoHooks, Sql};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

#[derive(Deserialize)]
struct Request {
    name: String,
    item: String,
    kind: String,
    body: Json,
}

/// A connection that notes the text of every statement it runs.
struct Logged {
    inner: SqliteConn,
    statements: Vec<String>,
}

impl Logged {
    fn note(&mut self, sql: &Sql) {
        self.statements.push(sql.text.clone());
    }
}

impl Conn for Logged {
    fn dialect(&self) -> &dyn Dialect {
        self.inner.dialect()
    }
    fn query(&mut self, sql: &Sql, types: &[FieldType]) -> Result<Vec<Vec<Value>>> {
        self.note(sql);
        self.inner.query(sql, types)
    }
    fn query_any(&mut self, sql: &Sql) -> Result<Vec<Vec<Value>>> {
        self.note(sql);
        self.inner.query_any(sql)
    }
    fn execute(&mut self, sql: &Sql) -> Result<u64> {
        self.note(sql);
        self.inner.execute(sql)
    }
    fn insert(&mut self, sql: &Sql) -> Result<i64> {
        self.note(sql);
        self.inner.insert(sql)
    }
    fn begin(&mut self) -> Result<()> {
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<()> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<()> {
        self.inner.rollback()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
    fn lend(&mut self) -> Result<Box<dyn Conn + Send>> {
        self.inner.lend()
    }
    fn restore(&mut self, lent: Box<dyn Conn + Send>) {
        self.inner.restore(lent)
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        Box::new(self.inner).into_any()
    }
}

fn database_path(task: &Task) -> PathBuf {
    let p = Path::new(&task.settings.database.path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        task.dir.join(p)
    }
}

fn run(
    project: &Path,
    user_id: i64,
    role: &str,
    requests: Vec<Request>,
) -> std::result::Result<Map<String, Json>, String> {
    let task = jamrs_core::project::load(project)
        .map_err(|e| format!("the project does not load: {e}"))?;
    let role_index = task
        .role_by_name(role)
        .ok_or_else(|| format!("the project has no role {role:?}"))?;
    let caller = Caller {
        user: Some(UserInfo {
            user_id,
            login: format!("user{user_id}"),
            user_name: format!("User {user_id}"),
            role_id: task.roles[role_index].id,
            role_name: role.into(),
            tenant_id: None,
            extra: Default::default(),
        }),
        role: Some(role_index),
    };
    let db = jamrs_sqlite::conn::open(&database_path(&task), false).map_err(|e| e.to_string())?;
    let mut conn = Logged {
        inner: SqliteConn::new(db),
        statements: Vec::new(),
    };
    let access = caller.access(&task);
    let engine = Engine::for_client(&task, &NoHooks, &caller);
    let mut out = Map::new();
    for r in requests {
        let item = task
            .item_by_name(&r.item)
            .ok_or_else(|| format!("{}: no item {:?}", r.name, r.item))?;
        conn.statements.clear();
        match r.kind.as_str() {
            "open" => {
                let params: OpenParams =
                    serde_json::from_value(r.body).map_err(|e| format!("{}: {e}", r.name))?;
                engine
                    .open(&mut conn, item, params)
                    .map_err(|e| format!("{}: {e}", r.name))?;
            }
            "apply" => {
                let body: ApplyParams =
                    serde_json::from_value(r.body).map_err(|e| format!("{}: {e}", r.name))?;
                conn.begin().map_err(|e| e.to_string())?;
                // The apply checks what it wrote against the reach rule itself.
                let done =
                    Change::resolve_all(&task, item, &body.changes, access).and_then(|changes| {
                        engine.apply(&mut conn, item, changes, body.params, body.expanded)
                    });
                conn.rollback().map_err(|e| e.to_string())?;
                done.map_err(|e| format!("{}: {e}", r.name))?;
            }
            other => return Err(format!("{}: unknown kind {other:?}", r.name)),
        }
        out.insert(r.name, Json::from(std::mem::take(&mut conn.statements)));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(project), Some(user_id), Some(role)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: jamrs-bench-sql PROJECT USER_ID ROLE < requests.json");
        return ExitCode::from(2);
    };
    let Ok(user_id) = user_id.parse::<i64>() else {
        eprintln!("jamrs-bench-sql: USER_ID must be a number, not {user_id:?}");
        return ExitCode::from(2);
    };
    let mut input = String::new();
    let requests = std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            serde_json::from_str::<Vec<Request>>(&input).map_err(|e| format!("requests: {e}"))
        });
    match requests.and_then(|r| run(Path::new(project), user_id, role, r)) {
        Ok(out) => {
            println!("{}", Json::Object(out));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jamrs-bench-sql: {e}");
            ExitCode::FAILURE
        }
    }
}
