//! Serving tables jamrs did not create: upper- and mixed-case table and column names, no
//! soft-delete column, columns the metadata does not know, details linked by Jam.py's
//! `MASTER_ID`/`MASTER_REC_ID` columns; items marked `managed = false` (or a project whose
//! `[database] managed = false`) are never migrated, only checked.
//!
//! The tables are made by SQL written here, as Jam.py's SQLite module makes them (not STRICT,
//! upper-case names), so the tests need nothing but SQLite.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use jamrs_core::delta::{Change, ChangeParams};
use jamrs_core::project::ProjectFiles;
use jamrs_core::query::OpenParams;
use jamrs_core::{Task, Value};
use jamrs_sqlite::SqliteConn;
use jamrs_sqlite::conn::open;
use jamrs_sqlite::migrate;
use jamrs_store::store::in_transaction;
use jamrs_store::{Engine, NoHooks};
use rusqlite::Connection;
use serde_json::{Value as Json, json};

/// As Jam.py v7 creates them for a task `demo`: `DEMO_CUSTOMERS` with upper-case columns, a
/// soft-delete column named `DELETED`; `Orders`, a table made by hand with mixed-case columns,
/// no soft delete and a column the metadata does not know; `DEMO_LINES`, a detail prototype
/// table with `MASTER_ID`/`MASTER_REC_ID`.
const JAMPY_SQL: &str = r#"
CREATE TABLE "DEMO_CUSTOMERS" ("ID" INTEGER PRIMARY KEY, "DELETED" INTEGER, "NAME" TEXT, "CITY" TEXT);
CREATE TABLE "Orders" ("Order_ID" INTEGER PRIMARY KEY, "Customer" INTEGER, "Total" REAL, "Note" TEXT, "legacy_blob" BLOB);
CREATE TABLE "DEMO_LINES" ("ID" INTEGER PRIMARY KEY, "DELETED" INTEGER, "MASTER_ID" INTEGER, "MASTER_REC_ID" INTEGER, "QTY" INTEGER);
INSERT INTO "DEMO_CUSTOMERS" VALUES (1, 0, 'Ann', 'Oslo'), (2, 1, 'Gone', 'Rome'), (3, 0, 'Bob', 'Lima');
INSERT INTO "Orders" VALUES (10, 1, 9.5, 'first', x'00'), (11, 3, 2.0, NULL, NULL);
INSERT INTO "DEMO_LINES" VALUES (1, 0, 7, 10, 2), (2, 0, 7, 10, 3), (3, 0, 7, 11, 1), (4, 1, 7, 10, 99);
"#;

const TASK: &str = r#"
name = "demo"
safe_mode = false

[database]
path = "demo.sqlite"
managed = false

[[groups]]
name = "catalogs"
items = ["customers", "orders", "lines"]
"#;

const CUSTOMERS: &str = r#"
table = "DEMO_CUSTOMERS"
soft_delete = true
deleted_flag = "deleted"

[[fields]]
name = "id"
type = "integer"
db_field = "ID"

[[fields]]
name = "deleted"
type = "integer"
db_field = "DELETED"

[[fields]]
name = "name"
type = "text"
size = 50
db_field = "NAME"

[[fields]]
name = "city"
type = "text"
size = 50
db_field = "CITY"
"#;

const ORDERS: &str = r#"
id = 7
table = "Orders"
primary_key = "order_id"
details = ["lines"]

[[fields]]
name = "order_id"
type = "integer"
db_field = "Order_ID"

[[fields]]
name = "customer"
type = "integer"
db_field = "Customer"
lookup = { item = "customers", field = "name" }

[[fields]]
name = "city"
type = "integer"
master_field = "customer"
lookup = { item = "customers", field = "city" }

[[fields]]
name = "total"
type = "currency"
db_field = "Total"

[[fields]]
name = "note"
type = "text"
size = 100
db_field = "Note"

[[fields]]
name = "qty_total"
type = "integer"
calc = { item = "lines", field = "qty", link = "master_rec_id", op = "sum" }
"#;

const LINES: &str = r#"
table = "DEMO_LINES"
soft_delete = true
master_id = "master_id"
master_rec_id = "master_rec_id"

[[fields]]
name = "id"
type = "integer"
db_field = "ID"

[[fields]]
name = "deleted"
type = "integer"
db_field = "DELETED"

[[fields]]
name = "master_id"
type = "integer"
db_field = "MASTER_ID"

[[fields]]
name = "master_rec_id"
type = "integer"
db_field = "MASTER_REC_ID"

[[fields]]
name = "qty"
type = "integer"
db_field = "QTY"
"#;

fn task_with(dir: &Path, task: &str, items: &[(&str, &str)]) -> Task {
    let files = ProjectFiles {
        task: toml::from_str(task).unwrap(),
        items: items
            .iter()
            .map(|(n, t)| (n.to_string(), toml::from_str(t).unwrap()))
            .collect(),
    };
    files.resolve(dir).unwrap_or_else(|e| panic!("{e}"))
}

struct Existing {
    _dir: tempfile::TempDir,
    task: Task,
    conn: SqliteConn,
}

impl Existing {
    fn new(task: &str) -> Existing {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch(JAMPY_SQL)
            .unwrap();
        let task = task_with(
            dir.path(),
            task,
            &[
                ("customers", CUSTOMERS),
                ("orders", ORDERS),
                ("lines", LINES),
            ],
        );
        let conn = SqliteConn::new(open(&path, false).unwrap());
        Existing {
            _dir: dir,
            task,
            conn,
        }
    }

    fn open(&mut self, item: &str, params: Json) -> Vec<Vec<Value>> {
        let item = self.task.item_by_name(item).unwrap();
        let params: OpenParams = serde_json::from_value(params).unwrap();
        Engine::for_server(&self.task, &NoHooks)
            .open(&mut self.conn, item, params)
            .unwrap_or_else(|e| panic!("{e}"))
            .rows
    }

    fn apply(&mut self, item: &str, changes: Json) {
        let Existing { task, conn, .. } = self;
        let item = task.item_by_name(item).unwrap();
        let params: Vec<ChangeParams> = serde_json::from_value(changes).unwrap();
        let engine = Engine::for_server(task, &NoHooks);
        in_transaction(conn, |c| {
            let changes = Change::resolve_all(task, item, &params, &task.unrestricted)?;
            engine.apply(c, item, changes, Default::default(), false)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn raw(&self, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = self.conn.get().prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn schema(&self) -> Vec<Vec<rusqlite::types::Value>> {
        self.raw("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
    }
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn unmanaged_tables_are_never_changed_by_a_migration() {
    let mut db = Existing::new(TASK);
    assert!(db.task.items.iter().all(|i| !i.managed));
    let before = db.schema();
    let plan = migrate::plan(db.conn.get(), &db.task).unwrap();
    // The managed project would retype, rebuild and drop the unknown `legacy_blob`; this one
    // changes nothing and finds nothing missing.
    assert!(plan.is_empty(), "{:?}", plan.changes());
    assert!(plan.problems().is_empty(), "{:?}", plan.problems());
    migrate::apply(db.conn.raw(), &plan, false).unwrap();
    assert_eq!(db.schema(), before);
}

#[test]
fn the_same_tables_managed_would_be_rebuilt() {
    // The guard of the test above: without `managed = false` the plan is not empty.
    let db = Existing::new(&TASK.replace("managed = false\n", ""));
    let plan = migrate::plan(db.conn.get(), &db.task).unwrap();
    assert!(!plan.is_empty());
    assert!(
        plan.is_destructive(),
        "drops legacy_blob: {:?}",
        plan.changes()
    );
}

#[test]
fn an_unmanaged_table_missing_a_column_or_absent_is_a_problem_not_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sqlite");
    Connection::open(&path)
        .unwrap()
        .execute_batch(JAMPY_SQL)
        .unwrap();
    let task = task_with(
        dir.path(),
        TASK,
        &[
            (
                "customers",
                &CUSTOMERS.replace("db_field = \"CITY\"", "db_field = \"TOWN\""),
            ),
            ("orders", ORDERS),
            ("lines", &LINES.replace("DEMO_LINES", "DEMO_GONE")),
        ],
    );
    let conn = open(&path, false).unwrap();
    let plan = migrate::plan(&conn, &task).unwrap();
    assert!(plan.is_empty(), "{:?}", plan.changes());
    let problems = plan.problems().join("\n");
    assert!(
        problems.contains("item customers: table DEMO_CUSTOMERS has no column TOWN"),
        "{problems}"
    );
    assert!(
        problems.contains("item lines: its table DEMO_GONE does not exist"),
        "{problems}"
    );
}

#[test]
fn an_item_overrides_the_project_default() {
    let dir = tempfile::tempdir().unwrap();
    let task = task_with(
        dir.path(),
        TASK,
        &[
            ("customers", CUSTOMERS),
            ("orders", &format!("managed = true\n{ORDERS}")),
            ("lines", LINES),
        ],
    );
    let managed: Vec<(&str, bool)> = task
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.managed))
        .collect();
    assert_eq!(
        managed,
        [("customers", false), ("orders", true), ("lines", false)]
    );
}

#[test]
fn open_reads_mixed_case_columns_lookups_master_fields_calcs_and_details() {
    let mut db = Existing::new(TASK);
    // A master_field field (city) has no value of its own: it is its lookup text alone.
    let rows = db.open(
        "orders",
        json!({"expanded": true, "fields": ["order_id", "customer", "city", "total", "note", "qty_total"], "order": ["order_id"]}),
    );
    assert_eq!(
        rows,
        [
            vec![
                int(10),
                int(1),
                Value::Float(9.5),
                text("first"),
                int(5),
                text("Ann"),
                text("Oslo")
            ],
            vec![
                int(11),
                int(3),
                Value::Float(2.0),
                Value::Null,
                int(1),
                text("Bob"),
                text("Lima")
            ],
        ]
    );
    // Soft-deleted customers stay hidden; the detail opens through its master.
    assert_eq!(
        db.open("customers", json!({"fields": ["name"], "order": ["id"]})),
        [vec![text("Ann")], vec![text("Bob")]]
    );
    assert_eq!(
        db.open(
            "lines",
            json!({"fields": ["qty"], "master": {"item": "orders", "id": 10}, "order": ["id"]})
        ),
        [vec![int(2)], vec![int(3)]]
    );
}

#[test]
fn apply_writes_the_existing_columns_and_deletes_without_a_soft_delete_column() {
    let mut db = Existing::new(TASK);
    db.apply(
        "orders",
        json!([{"op": "insert", "values": {"customer": 3, "total": 1.25, "note": "new"},
                "details": {"lines": [{"op": "insert", "values": {"qty": 4}}]}}]),
    );
    db.apply(
        "orders",
        json!([{"op": "update", "id": 10, "values": {"note": "changed"}}]),
    );
    db.apply("orders", json!([{"op": "delete", "id": 11}]));
    use rusqlite::types::Value as R;
    assert_eq!(
        db.raw(r#"SELECT "Order_ID", "Customer", "Total", "Note", "legacy_blob" FROM "Orders" ORDER BY 1"#),
        [
            vec![
                R::Integer(10),
                R::Integer(1),
                R::Real(9.5),
                R::Text("changed".into()),
                R::Blob(vec![0])
            ],
            vec![
                R::Integer(12),
                R::Integer(3),
                R::Real(1.25),
                R::Text("new".into()),
                R::Null
            ],
        ]
    );
    // The new detail row carries Jam.py's link: the master item's id and the master row's key;
    // the removed order's line is removed with it (its master has no soft delete).
    assert_eq!(
        db.raw(r#"SELECT "ID", "MASTER_ID", "MASTER_REC_ID", "QTY", "DELETED" FROM "DEMO_LINES" WHERE "ID" > 2 ORDER BY "ID""#),
        [
            vec![R::Integer(4), R::Integer(7), R::Integer(10), R::Integer(99), R::Integer(1)],
            vec![R::Integer(5), R::Integer(7), R::Integer(12), R::Integer(4), R::Integer(0)],
        ]
    );
}

#[test]
fn managed_mixed_case_names_match_the_database_without_regard_to_case() {
    // A managed item whose columns are spelled in upper case, over a table whose columns are
    // spelled in lower case: SQLite reads them as the same, so there is nothing to migrate.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sqlite");
    let task_toml = "name = \"demo\"\nsafe_mode = false\n[database]\npath = \"demo.sqlite\"\n[[groups]]\nname = \"g\"\nitems = [\"notes\"]\n";
    let item = "table = \"Notes\"\n[[fields]]\nname = \"id\"\ntype = \"integer\"\ndb_field = \"ID\"\n[[fields]]\nname = \"title\"\ntype = \"text\"\nsize = 10\ndb_field = \"TITLE\"\n[[indexes]]\nname = \"Notes_Title\"\nfields = [\"title\"]\n";
    let task = task_with(dir.path(), task_toml, &[("notes", item)]);
    let mut conn = open(&path, false).unwrap();
    let plan = migrate::plan(&conn, &task).unwrap();
    assert_eq!(plan.changes().len(), 2, "{:?}", plan.changes());
    migrate::apply(&mut conn, &plan, false).unwrap();
    // Created with the metadata's spelling.
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'Notes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("\"TITLE\""), "{sql}");
    let again = migrate::plan(&conn, &task).unwrap();
    assert!(again.is_empty(), "{:?}", again.changes());
    // The same metadata spelled in lower case finds the same table, columns and index.
    let lower = task_with(
        dir.path(),
        task_toml,
        &[(
            "notes",
            &item
                .replace("\"Notes\"", "\"notes\"")
                .replace("\"ID\"", "\"id\"")
                .replace("\"TITLE\"", "\"title\"")
                .replace("Notes_Title", "notes_title"),
        )],
    );
    let plan = migrate::plan(&conn, &lower).unwrap();
    assert!(plan.is_empty(), "{:?}", plan.changes());
}
