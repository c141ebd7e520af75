//! A calculated field is a correlated sub-select run for every row of a page: it must find the
//! rows it aggregates through an index on their link, also under tenancy, where the tenant
//! index is there to tempt the planner into reading all of the tenant's rows per master row.
//! The loader adds that index when the project declares none (`<table>_<link>_calc_idx`); these
//! tests migrate a real SQLite file, seed it, and read SQLite's plan of the engine's own
//! statement (EXPLAIN QUERY PLAN).

#![allow(clippy::unwrap_used)]

use std::any::Any;
use std::path::Path;

use jamrs_core::project::ProjectFiles;
use jamrs_core::query::OpenParams;
use jamrs_core::session::{Caller, UserInfo};
use jamrs_core::{FieldType, Result, Task, Value};
use jamrs_sqlite::SqliteConn;
use jamrs_sqlite::conn::open;
use jamrs_sqlite::migrate;
use jamrs_store::{Conn, Dialect, Engine, NoHooks, Sql};
use serde_json::json;

const TASK: &str = r#"
name = "shop"
safe_mode = false

[tenancy]
column = "user_id"

[[groups]]
name = "main"
items = ["invoices", "lines", "payments"]

[[roles]]
id = 1
name = "clerks"
default = ["view", "create", "edit", "delete"]
"#;

/// Invoices with two calculated fields: the sum of their lines (a detail linked by
/// `master_field`) and the sum of their payments (linked old style, by `master_id` and
/// `master_rec_id`, with the index Jam.py's demo declares, which begins with `master_id`).
const INVOICES: &str = r#"
id = 38
soft_delete = true
details = ["lines", "payments"]
[[fields]]
name = "number"
type = "integer"
[[fields]]
name = "user_id"
type = "integer"
[[fields]]
name = "subtotal"
type = "float"
calc = { item = "lines", field = "amount", link = "invoice", op = "sum" }
[[fields]]
name = "paid"
type = "float"
calc = { item = "payments", field = "amount", link = "master_rec_id", op = "sum" }
"#;

const LINES: &str = r#"
soft_delete = true
master_field = "invoice"
[[fields]]
name = "invoice"
type = "integer"
lookup = { item = "invoices", field = "number" }
[[fields]]
name = "amount"
type = "float"
[[fields]]
name = "user_id"
type = "integer"
"#;

const PAYMENTS: &str = r#"
soft_delete = true
master_id = "master_id"
master_rec_id = "master_rec_id"
[[fields]]
name = "amount"
type = "float"
[[fields]]
name = "user_id"
type = "integer"
[[indexes]]
fields = ["master_id", "master_rec_id"]
"#;

fn task(dir: &Path, lines: &str) -> Task {
    let files = ProjectFiles {
        task: toml::from_str(TASK).unwrap(),
        items: [
            ("invoices", INVOICES),
            ("lines", lines),
            ("payments", PAYMENTS),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), toml::from_str(t).unwrap()))
        .collect(),
    };
    files.resolve(dir).unwrap()
}

/// Migrates a new database for `task` and seeds 3 tenants × 300 invoices, each with 4 lines
/// and 2 payments, then runs ANALYZE as a long-lived database would have had it run.
fn seeded(dir: &Path, task: &Task) -> rusqlite::Connection {
    let mut conn = open(&dir.join("shop.sqlite"), false).unwrap();
    let plan = migrate::plan(&conn, task).unwrap();
    migrate::apply(&mut conn, &plan, false).unwrap();
    let tx = conn.transaction().unwrap();
    let mut line = 0;
    for i in 1..=900i64 {
        let tenant = 1 + i % 3;
        tx.execute(
            "INSERT INTO invoices (id, number, user_id, deleted) VALUES (?1, ?1, ?2, 0)",
            (i, tenant),
        )
        .unwrap();
        for k in 0..4 {
            line += 1;
            tx.execute(
                "INSERT INTO lines (id, invoice, amount, user_id, deleted) VALUES (?, ?, ?, ?, 0)",
                (line, i, 1.5 * f64::from(k), tenant),
            )
            .unwrap();
        }
        for k in 0..2 {
            tx.execute(
                "INSERT INTO payments (master_id, master_rec_id, amount, user_id, deleted) VALUES (38, ?, ?, ?, 0)",
                (i, 10.0 + f64::from(k), tenant),
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("ANALYZE").unwrap();
    conn
}

/// A connection that also keeps SQLite's plan of every SELECT it runs.
struct Planned {
    inner: SqliteConn,
    plans: Vec<(String, Vec<String>)>,
}

impl Conn for Planned {
    fn dialect(&self) -> &dyn Dialect {
        self.inner.dialect()
    }
    fn query(&mut self, sql: &Sql, types: &[FieldType]) -> Result<Vec<Vec<Value>>> {
        let explain = Sql {
            text: format!("EXPLAIN QUERY PLAN {}", sql.text),
            params: sql.params.clone(),
        };
        let plan = self.inner.query_any(&explain)?;
        // Rows of (id, parent, notused, detail).
        let details = plan
            .into_iter()
            .filter_map(|r| match r.get(3) {
                Some(Value::Text(t)) => Some(t.clone()),
                _ => None,
            })
            .collect();
        self.plans.push((sql.text.clone(), details));
        self.inner.query(sql, types)
    }
    fn query_any(&mut self, sql: &Sql) -> Result<Vec<Vec<Value>>> {
        self.inner.query_any(sql)
    }
    fn execute(&mut self, sql: &Sql) -> Result<u64> {
        self.inner.execute(sql)
    }
    fn insert(&mut self, sql: &Sql) -> Result<i64> {
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

fn tenant_caller(task: &Task, user_id: i64) -> Caller {
    let role = task.role_by_name("clerks").unwrap();
    Caller {
        user: Some(UserInfo {
            user_id,
            login: format!("user{user_id}"),
            user_name: format!("User {user_id}"),
            role_id: task.roles[role].id,
            role_name: "clerks".into(),
            tenant_id: None,
            extra: Default::default(),
        }),
        role: Some(role),
    }
}

/// The page's SELECT, SQLite's plan of it, and the page's rows.
fn open_page(conn: rusqlite::Connection, task: &Task) -> (String, Vec<String>, Vec<Vec<Value>>) {
    let mut planned = Planned {
        inner: SqliteConn::new(conn),
        plans: Vec::new(),
    };
    let caller = tenant_caller(task, 2);
    let engine = Engine::for_client(task, &NoHooks, &caller);
    let item = task.item_by_name("invoices").unwrap();
    // Calculated fields are read in an expanded open.
    let params: OpenParams = serde_json::from_value(json!({
        "fields": ["id", "number", "subtotal", "paid"],
        "expanded": true,
        "limit": 20,
        "offset": 40,
    }))
    .unwrap();
    let result = engine.open(&mut planned, item, params).unwrap();
    let (sql, plan) = planned
        .plans
        .into_iter()
        .find(|(sql, _)| sql.contains("FROM \"invoices\""))
        .unwrap();
    (sql, plan, result.rows)
}

/// `table`'s rows, read by a sub-select of `sql`, are found through an index on `link`: not
/// scanned, and not searched through another index (the tenant's) and then filtered.
fn found_by_link(sql: &str, plan: &[String], table: &str, link: &str) -> Result<(), String> {
    let from = format!("FROM \"{table}\" AS ");
    let at = sql
        .find(&from)
        .ok_or_else(|| format!("no sub-select over {table} in {sql}"))?;
    let alias: String = sql[at + from.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let lines: Vec<&String> = plan
        .iter()
        .filter(|l| l.split(' ').nth(1) == Some(alias.as_str()))
        .collect();
    if lines.is_empty() {
        return Err(format!("no plan line for {table} ({alias}): {plan:#?}"));
    }
    for l in lines {
        if !(l.starts_with(&format!("SEARCH {alias} USING")) && l.contains(&format!("({link}=?"))) {
            return Err(format!(
                "{table}'s rows are not found by an index on {link}: {l:?} in {plan:#?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn calculated_fields_find_their_rows_through_an_index_on_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let task = task(dir.path(), LINES);
    // The loader adds the indexes (the project declares none that begins with the link).
    let names = |item: &str| -> Vec<String> {
        let it = task.item_by_name(item).unwrap();
        it.indexes.iter().map(|ix| ix.name.to_string()).collect()
    };
    assert!(names("lines").contains(&"lines_invoice_calc_idx".to_string()));
    assert!(names("payments").contains(&"payments_master_rec_id_calc_idx".to_string()));
    let conn = seeded(dir.path(), &task);
    let (sql, plan, rows) = open_page(conn, &task);
    found_by_link(&sql, &plan, "lines", "invoice").unwrap();
    found_by_link(&sql, &plan, "payments", "master_rec_id").unwrap();
    // And the sums are right: 4 lines of 0, 1.5, 3, 4.5; 2 payments of 10 and 11.
    assert_eq!(rows.len(), 20);
    for r in &rows {
        assert_eq!(r[2], Value::Float(9.0), "{r:?}");
        assert_eq!(r[3], Value::Float(21.0), "{r:?}");
    }
    // Without the index the planner reads every line of the tenant per invoice (through the
    // tenant index), and the check above says so.
    let conn = open(&dir.path().join("shop.sqlite"), false).unwrap();
    conn.execute_batch("DROP INDEX lines_invoice_calc_idx; ANALYZE")
        .unwrap();
    let (sql, plan, _) = open_page(conn, &task);
    let err = found_by_link(&sql, &plan, "lines", "invoice").unwrap_err();
    assert!(err.contains("not found by an index on invoice"), "{err}");
}

#[test]
fn a_declared_index_on_the_link_is_used_and_none_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let declared = format!(
        "{LINES}[[indexes]]\nname = \"lines_by_invoice\"\nfields = [\"invoice\", \"amount\"]\n"
    );
    let task = task(dir.path(), &declared);
    let lines = task.item_by_name("lines").unwrap();
    let names: Vec<&str> = lines.indexes.iter().map(|ix| ix.name.as_str()).collect();
    assert!(names.contains(&"lines_by_invoice"), "{names:?}");
    assert!(!names.contains(&"lines_invoice_calc_idx"), "{names:?}");
    let conn = seeded(dir.path(), &task);
    let (sql, plan, _) = open_page(conn, &task);
    found_by_link(&sql, &plan, "lines", "invoice").unwrap();
}
