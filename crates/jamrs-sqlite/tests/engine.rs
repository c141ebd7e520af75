//! The engine on a real SQLite file: open with every param kind, lookups, calculated fields,
//! soft delete and detail links, and apply with nested details in one transaction.
//!
//! Tables are created here from the model's stored fields (not by the migrations), so these
//! tests depend only on the engine, the builder and the SQLite connection.

// The fixture helpers live outside `#[test]` functions, where clippy's allow-unwrap-in-tests does
// not reach; a setup that fails should fail the test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use jamrs_core::delta::{Change, ChangeParams};
use jamrs_core::query::OpenParams;
use jamrs_core::{Error, Kind, Task, Value};
use jamrs_sqlite::conn::open;
use jamrs_sqlite::{SqliteConn, SqliteDialect, SqliteStore};
use jamrs_store::engine::Op;
use jamrs_store::store::{self, in_transaction};
use jamrs_store::{ChangeResult, Conn, Dialect, Engine, NoHooks, OpenResult, Sql};
use rusqlite::types::Value as Raw;
use serde_json::{Value as Json, json};
use tempfile::TempDir;

const TASK_TOML: &str = r#"
name = "shop"
safe_mode = false
max_limit = 50

[[groups]]
name = "catalogs"
items = ["albums", "allocations", "artists", "customers", "invoices", "lines", "notes", "tracks"]

[[lookup_lists]]
name = "status"
values = [[1, "Open"], [2, "Closed"]]
"#;

const ITEMS: [(&str, &str); 8] = [
    (
        "artists",
        r#"
soft_delete = true
[[fields]]
name = "name"
type = "text"
size = 50
required = true
"#,
    ),
    (
        "albums",
        r#"
soft_delete = true
[[fields]]
name = "title"
type = "text"
size = 100
[[fields]]
name = "artist"
type = "integer"
lookup = { item = "artists", field = "name" }
"#,
    ),
    (
        "tracks",
        r#"
soft_delete = true
[[fields]]
name = "name"
type = "text"
size = 100
[[fields]]
name = "album"
type = "integer"
lookup = { item = "albums", field = "title" }
[[fields]]
name = "artist"
type = "integer"
master_field = "album"
lookup = { item = "albums", field = "artist", field1 = "name" }
[[fields]]
name = "price"
type = "float"
[[fields]]
name = "status"
type = "integer"
lookup_values = "status"
[[fields]]
name = "sold"
type = "integer"
calc = { item = "lines", field = "quantity", link = "track", op = "sum" }
"#,
    ),
    (
        "customers",
        r#"
id = 20
details = ["notes"]
[[fields]]
name = "lastname"
type = "text"
size = 50
required = true
"#,
    ),
    (
        "invoices",
        r#"
id = 10
soft_delete = true
details = ["lines", "notes"]
default_order = ["-invoice_date"]
[[fields]]
name = "customer"
type = "integer"
required = true
lookup = { item = "customers", field = "lastname" }
[[fields]]
name = "invoice_date"
type = "date"
default_value = "today"
[[fields]]
name = "paid"
type = "boolean"
default_value = false
[[fields]]
name = "comment"
type = "text"
size = 10
[[fields]]
name = "total"
type = "float"
[[fields]]
name = "quantity"
type = "integer"
calc = { item = "lines", field = "quantity", link = "invoice", op = "sum" }
[[fields]]
name = "status"
type = "integer"
lookup_values = "status"
default_value = 1
"#,
    ),
    (
        "lines",
        r#"
soft_delete = true
master_field = "invoice"
details = ["allocations"]
[[fields]]
name = "invoice"
type = "integer"
[[fields]]
name = "track"
type = "integer"
lookup = { item = "tracks", field = "album", field1 = "artist", field2 = "name" }
[[fields]]
name = "quantity"
type = "integer"
required = true
[[fields]]
name = "price"
type = "float"
default_value = 1.5
"#,
    ),
    (
        "allocations",
        r#"
master_field = "line"
[[fields]]
name = "line"
type = "integer"
[[fields]]
name = "amount"
type = "integer"
"#,
    ),
    (
        "notes",
        r#"
master_id = "owner_type"
master_rec_id = "owner_id"
[[fields]]
name = "text"
type = "text"
size = 100
required = true
"#,
    ),
];

/// Rows every test starts with. Rows with `deleted = 1` are soft-deleted.
const SEED: &str = r#"
INSERT INTO artists (id, name, deleted) VALUES
  (1, 'Queen', 0), (2, 'ABBA', 0), (3, 'Ärger Band', 0), (4, 'Gone Artist', 1);
INSERT INTO albums (id, title, artist, deleted) VALUES
  (1, 'Night at the Opera', 1, 0), (2, 'Arrival', 2, 0), (3, 'Lost Album', 1, 1);
INSERT INTO tracks (id, name, album, price, status, deleted) VALUES
  (1, 'Bohemian Rhapsody', 1, 1.0, 1, 0),
  (2, 'Dancing Queen', 2, 0.99, 2, 0),
  (3, 'Ärger', 2, 2.5, NULL, 0),
  (4, 'Hidden Queen', 1, 5.0, 1, 1);
INSERT INTO customers (id, lastname) VALUES (1, 'Smith'), (2, 'Jones');
INSERT INTO invoices (id, customer, invoice_date, paid, comment, total, status, deleted) VALUES
  (1, 1, '2024-01-10', 0, NULL, 10.0, 1, 0),
  (2, 2, '2024-02-01', 1, 'paid', 20.0, 2, 0),
  (3, 1, '2024-03-01', 0, NULL, 100.0, 1, 1);
INSERT INTO lines (id, invoice, track, quantity, price, deleted) VALUES
  (1, 1, 1, 2, 1.0, 0), (2, 1, 2, 3, 1.0, 0), (3, 2, 1, 5, 1.0, 0), (4, 1, 3, 7, 1.0, 1),
  (5, 3, 1, 1, 1.0, 1);
INSERT INTO allocations (id, line, amount) VALUES (1, 1, 10), (2, 1, 20), (3, 3, 30);
INSERT INTO notes (id, owner_type, owner_id, text) VALUES
  (1, 10, 1, 'invoice 1'), (2, 20, 1, 'customer 1'), (3, 10, 2, 'invoice 2');
"#;

fn write_project(dir: &Path) -> Task {
    std::fs::write(dir.join("jamrs.toml"), TASK_TOML).unwrap();
    std::fs::create_dir_all(dir.join("items")).unwrap();
    for (name, text) in ITEMS {
        std::fs::write(dir.join("items").join(format!("{name}.toml")), text).unwrap();
    }
    jamrs_core::project::load(dir).unwrap_or_else(|e| panic!("test project: {e}"))
}

/// CREATE TABLE for every item from its stored fields; the deleted flag defaults to 0 so the
/// seed can leave it out.
fn create_tables(conn: &rusqlite::Connection, task: &Task) {
    let d = SqliteDialect;
    for item in &task.items {
        let mut cols = Vec::new();
        for f in item.stored_fields() {
            let mut col = String::new();
            d.push_ident(&mut col, f.column.as_ref().unwrap().as_str());
            if f.id == item.primary_key {
                col = format!("{col} {}", d.primary_key_type());
            } else if Some(f.id) == item.deleted_flag {
                col = format!("{col} {} NOT NULL DEFAULT 0", d.column_type(f.field_type));
            } else {
                col = format!("{col} {}", d.column_type(f.field_type));
            }
            cols.push(col);
        }
        let mut sql = String::from("CREATE TABLE ");
        d.push_ident(&mut sql, item.table.as_str());
        sql.push_str(&format!(" ({})", cols.join(", ")));
        conn.execute_batch(&sql).unwrap();
    }
}

struct Db {
    dir: TempDir,
    task: Task,
    conn: SqliteConn,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let task = write_project(dir.path());
        let conn = open(&dir.path().join("shop.sqlite"), false).unwrap();
        create_tables(&conn, &task);
        conn.execute_batch(SEED).unwrap();
        Db {
            dir,
            task,
            conn: SqliteConn::new(conn),
        }
    }

    fn open(&mut self, item: &str, params: Json) -> Result<OpenResult, Error> {
        let item = self.task.item_by_name(item).unwrap();
        let params: OpenParams = serde_json::from_value(params).unwrap();
        let engine = Engine::for_server(&self.task, &NoHooks);
        engine.open(&mut self.conn, item, params)
    }

    /// The keys of an open's rows, in order.
    fn ids(&mut self, item: &str, params: Json) -> Vec<i64> {
        let mut params = params;
        params["fields"] = json!(["id"]);
        let r = self
            .open(item, params.clone())
            .unwrap_or_else(|e| panic!("open {item} {params}: {e} {:?}", e.fields));
        r.rows.iter().map(|row| row[0].as_i64().unwrap()).collect()
    }

    fn apply(&mut self, item: &str, changes: Json) -> Result<Vec<ChangeResult>, Error> {
        self.apply_with(item, changes, false)
    }

    fn apply_with(
        &mut self,
        item: &str,
        changes: Json,
        expanded: bool,
    ) -> Result<Vec<ChangeResult>, Error> {
        let Db { task, conn, .. } = self;
        let item = task.item_by_name(item).unwrap();
        let params: Vec<ChangeParams> = serde_json::from_value(changes).unwrap();
        let engine = Engine::for_server(task, &NoHooks);
        in_transaction(conn, |c| {
            let changes = Change::resolve_all(task, item, &params, &task.unrestricted)?;
            engine.apply(c, item, changes, Default::default(), expanded)
        })
    }

    /// Every row of a table, as stored.
    fn table(&self, table: &str) -> Vec<Vec<Raw>> {
        let mut stmt = self
            .conn
            .get()
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
            .unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |row| (0..n).map(|i| row.get::<_, Raw>(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Every table, to check that a failed apply left the database as it was.
    fn snapshot(&self) -> Vec<(String, Vec<Vec<Raw>>)> {
        self.task
            .items
            .iter()
            .map(|i| (i.table.to_string(), self.table(i.table.as_str())))
            .collect()
    }

    /// Counts rows matching a condition written by the test.
    fn count(&self, table: &str, condition: &str) -> i64 {
        self.conn
            .get()
            .query_row(
                &format!("SELECT COUNT(*) FROM \"{table}\" WHERE {condition}"),
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Runs `changes`, expects it to fail with `kind`, and checks nothing changed.
    fn apply_fails(&mut self, item: &str, changes: Json, kind: Kind) -> Error {
        let before = self.snapshot();
        let e = self
            .apply(item, changes.clone())
            .expect_err(&format!("{changes} should fail"));
        assert_eq!(e.kind, kind, "{e} {:?}", e.fields);
        assert_eq!(
            self.snapshot(),
            before,
            "a failed apply changed the database"
        );
        assert!(
            self.conn.raw().is_autocommit(),
            "the transaction is still open"
        );
        e
    }
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// A result row's value by column name.
fn get<'a>(row: &'a [(String, Value)], name: &str) -> &'a Value {
    &row.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no column {name} in {row:?}"))
        .1
}

fn field_paths(e: &Error) -> Vec<&str> {
    e.fields.iter().map(|f| f.field.as_str()).collect()
}

fn raw_int(i: i64) -> Raw {
    Raw::Integer(i)
}

// ---------------------------------------------------------------------------------------------
// open

#[test]
fn open_returns_live_rows_with_their_stored_values() {
    let mut db = Db::new();
    let r = db.open("tracks", json!({})).unwrap();
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "album", "price", "status"]);
    assert_eq!(
        r.rows,
        [
            vec![
                int(1),
                text("Bohemian Rhapsody"),
                int(1),
                Value::Float(1.0),
                int(1)
            ],
            vec![
                int(2),
                text("Dancing Queen"),
                int(2),
                Value::Float(0.99),
                int(2)
            ],
            vec![
                int(3),
                text("Ärger"),
                int(2),
                Value::Float(2.5),
                Value::Null
            ],
        ]
    );
    let r = db
        .open(
            "invoices",
            json!({"fields": ["id", "paid", "invoice_date"]}),
        )
        .unwrap();
    // Booleans come back as booleans; the default order is -invoice_date.
    assert_eq!(
        r.rows,
        [
            vec![int(2), Value::Bool(true), text("2024-02-01")],
            vec![int(1), Value::Bool(false), text("2024-01-10")],
        ]
    );
}

#[test]
fn open_with_every_filter_type() {
    let mut db = Db::new();
    let cases: Vec<(Json, Vec<i64>)> = vec![
        (json!(["price", 1, 1.0]), vec![1]),
        (json!(["status", "ne", 1]), vec![2, 3]),
        (json!(["price", "lt", 1.0]), vec![2]),
        (json!(["price", "le", 1.0]), vec![1, 2]),
        (json!(["price", "gt", 1.0]), vec![3]),
        (json!(["price", "ge", 1.0]), vec![1, 3]),
        (json!(["id", "in", [1, 3, 4, 99]]), vec![1, 3]),
        (json!(["id", "not_in", [1]]), vec![2, 3]),
        (json!(["id", "in", []]), vec![]),
        (json!(["id", "not_in", []]), vec![1, 2, 3]),
        (json!(["price", "range", [0.5, 1.0]]), vec![1, 2]),
        (json!(["status", "isnull", true]), vec![3]),
        (json!(["status", "isnull", false]), vec![1, 2]),
        (json!(["name", "exact", "Dancing Queen"]), vec![2]),
        (json!(["name", "contains", "QUEEN"]), vec![2]),
        (json!(["name", "startwith", "bo"]), vec![1]),
        (json!(["name", "endwith", "SODY"]), vec![1]),
        (json!(["name", "contains_all", "queen  dancing"]), vec![2]),
        (json!(["name", "contains_all", "queen bohemian"]), vec![]),
        (json!(["name", "contains", "%"]), vec![]),
        (json!(["name", "contains", "_"]), vec![]),
        // Lookup texts: album → albums.title, artist → albums.artist → artists.name.
        (json!(["album", "eq_l", "Arrival"]), vec![2, 3]),
        (json!(["album", 12, "opera"]), vec![1]),
        (json!(["album", "in_l", ["Arrival", "Nothing"]]), vec![2, 3]),
        (json!(["album", "range_l", ["A", "B"]]), vec![2, 3]),
        (json!(["artist", "contains_l", "QUE"]), vec![1]),
        (json!(["artist", "startwith", "ab"]), vec![2, 3]),
        (json!(["artist", "eq", 2]), vec![2, 3]),
        // A lookup list's texts: 1 Open, 2 Closed.
        (json!(["status", "contains", "clo"]), vec![2]),
        // The calculated field: track 1 sold 2 + 5 (the deleted line 4 does not count).
        (json!(["sold", "gt", 5]), vec![1]),
        (json!(["sold", "eq", 0]), vec![3]),
        (
            json!([[["price", "gt", 2]], [["name", "contains", "queen"]]]),
            vec![2, 3],
        ),
        (json!(["name", "in", ["0) OR 1=1 --"]]), vec![]),
        (json!(["name", "eq", "x' OR '1'='1"]), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            db.ids("tracks", json!({"filters": [filter]})),
            expected,
            "{filter}"
        );
    }
    // Several filters are AND-ed.
    assert_eq!(
        db.ids(
            "tracks",
            json!({"filters": [["album", 1, 2], ["price", "gt", 1]]})
        ),
        [3]
    );
}

#[test]
fn open_with_dates_and_booleans() {
    let mut db = Db::new();
    let cases: Vec<(Json, Vec<i64>)> = vec![
        (
            json!(["invoice_date", "range", ["2024-01-01", "2024-01-31"]]),
            vec![1],
        ),
        (json!(["invoice_date", "ge", "2024-02-01"]), vec![2]),
        (json!(["paid", "eq", true]), vec![2]),
        (json!(["paid", "eq", 0]), vec![1]),
        (json!(["customer", "eq_l", "Smith"]), vec![1]),
        (json!(["comment", "isnull", true]), vec![1]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            db.ids("invoices", json!({"filters": [filter]})),
            expected,
            "{filter}"
        );
    }
}

#[test]
fn open_order_paging_and_search() {
    let mut db = Db::new();
    assert_eq!(
        db.ids("tracks", json!({"order": [["price", true]]})),
        [3, 1, 2]
    );
    assert_eq!(db.ids("tracks", json!({"order": ["-id"]})), [3, 2, 1]);
    // By the lookup text when expanded (Arrival < Night…), by the key otherwise.
    assert_eq!(
        db.ids("tracks", json!({"order": ["album"], "expanded": true})),
        [2, 3, 1]
    );
    assert_eq!(db.ids("tracks", json!({"order": ["-album"]})), [2, 3, 1]);
    assert_eq!(
        db.ids("tracks", json!({"order": ["-album"], "expanded": true})),
        [1, 2, 3]
    );
    assert_eq!(db.ids("tracks", json!({"limit": 1, "offset": 1})), [2]);
    assert_eq!(db.ids("tracks", json!({"limit": 2, "offset": 2})), [3]);
    assert_eq!(
        db.ids(
            "tracks",
            json!({"search": {"field": "name", "text": "rhap"}})
        ),
        [1]
    );
    assert_eq!(
        db.ids("tracks", json!({"search": ["album", "arr"]})),
        [2, 3]
    );
    let e = db.open("tracks", json!({"limit": 51})).unwrap_err();
    assert_eq!(e.kind, Kind::BadRequest);
}

#[test]
fn open_with_funcs_summary_and_group_by() {
    let mut db = Db::new();
    let r = db
        .open(
            "invoices",
            json!({"fields": ["id", "total", "invoice_date"], "summary": true,
                   "funcs": {"total": "sum", "invoice_date": "max"}}),
        )
        .unwrap();
    // The soft-deleted invoice 3 (total 100) does not count.
    assert_eq!(
        r.rows,
        [vec![int(2), Value::Float(30.0), text("2024-02-01")]]
    );
    let r = db
        .open(
            "invoices",
            json!({"fields": ["customer", "total"], "funcs": {"total": "sum"},
                   "group_by": ["customer"], "expanded": true, "order": ["customer"]}),
        )
        .unwrap();
    assert_eq!(
        r.rows,
        [
            vec![int(2), Value::Float(20.0), text("Jones")],
            vec![int(1), Value::Float(10.0), text("Smith")],
        ]
    );
    let r = db
        .open(
            "tracks",
            json!({"fields": ["album", "id"], "funcs": {"id": "count"}, "group_by": ["album"],
                   "order": ["album"]}),
        )
        .unwrap();
    assert_eq!(r.rows, [vec![int(1), int(1)], vec![int(2), int(2)]]);
}

#[test]
fn lookup_texts_of_three_levels_and_calculated_fields() {
    let mut db = Db::new();
    let r = db.open("tracks", json!({"expanded": true})).unwrap();
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "name",
            "album",
            "price",
            "status",
            "sold",
            "album.text",
            "artist.text"
        ]
    );
    let texts: Vec<&[Value]> = r.rows.iter().map(|row| &row[5..]).collect();
    assert_eq!(
        texts,
        [
            &[int(7), text("Night at the Opera"), text("Queen")][..],
            &[int(3), text("Arrival"), text("ABBA")][..],
            &[int(0), text("Arrival"), text("ABBA")][..],
        ]
    );
    let r = db
        .open(
            "lines",
            json!({"fields": ["id", "track"], "expanded": true, "master": 1}),
        )
        .unwrap();
    assert_eq!(r.columns[2].name, "track.text");
    assert_eq!(
        r.rows,
        [
            vec![int(1), int(1), text("Queen")],
            vec![int(2), int(2), text("ABBA")],
        ]
    );
    let r = db
        .open(
            "invoices",
            json!({"fields": ["id", "quantity"], "expanded": true, "order": ["id"]}),
        )
        .unwrap();
    assert_eq!(r.rows, [vec![int(1), int(5)], vec![int(2), int(5)]]);
}

#[test]
fn soft_deleted_rows_are_never_visible() {
    let mut db = Db::new();
    assert_eq!(db.ids("artists", json!({})), [1, 2, 3]);
    for filter in [
        json!(["id", "eq", 4]),
        json!(["id", "in", [4]]),
        json!(["name", "contains", "gone"]),
        json!(["id", "isnull", false]),
        json!([[["id", "eq", 4]], [["id", "ne", 4]]]),
    ] {
        assert!(
            !db.ids("artists", json!({"filters": [filter]})).contains(&4),
            "{filter}"
        );
    }
    assert_eq!(
        db.ids(
            "tracks",
            json!({"filters": [["name", "contains", "hidden"]]})
        ),
        [0i64; 0]
    );
    // No client name reaches the flag.
    let e = db
        .open("artists", json!({"filters": [["deleted", "eq", 1]]}))
        .unwrap_err();
    assert_eq!(e.kind, Kind::BadRequest);
    let e = db
        .open("artists", json!({"fields": ["deleted"]}))
        .unwrap_err();
    assert_eq!(e.kind, Kind::BadRequest);
    // Details of a live master skip deleted rows; a deleted master's details are not reachable.
    assert_eq!(db.ids("lines", json!({"master": 1})), [1, 2]);
    let e = db.open("lines", json!({"master": 3})).unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
}

#[test]
fn detail_open_needs_an_existing_master() {
    let mut db = Db::new();
    let e = db.open("lines", json!({})).unwrap_err();
    assert_eq!(
        (e.kind, field_paths(&e)),
        (Kind::BadRequest, vec!["master"])
    );
    let e = db.open("lines", json!({"master": 99})).unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
    assert_eq!(db.ids("lines", json!({"master": 2})), [3]);
    // master_id / master_rec_id: the same key 1 means a different row per master item.
    assert_eq!(
        db.ids("notes", json!({"master": {"item": "invoices", "id": 1}})),
        [1]
    );
    assert_eq!(
        db.ids("notes", json!({"master": {"item": "customers", "id": 1}})),
        [2]
    );
    assert_eq!(
        db.ids("notes", json!({"master": {"item": "customers", "id": 2}})),
        [0i64; 0]
    );
    let e = db.open("notes", json!({"master": 1})).unwrap_err();
    assert_eq!(e.kind, Kind::BadRequest);
    let e = db
        .open("notes", json!({"master": {"item": "invoices", "id": 3}}))
        .unwrap_err();
    assert_eq!(e.kind, Kind::NotFound);
}

#[test]
fn case_insensitive_search_folds_non_ascii_text() {
    let mut db = Db::new();
    // SQLite's own LIKE folds ASCII only; jamrs_fold makes "ä" find "Ärger".
    assert_eq!(
        db.ids("artists", json!({"filters": [["name", "contains", "ä"]]})),
        [3]
    );
    assert_eq!(
        db.ids("artists", json!({"filters": [["name", "startwith", "äR"]]})),
        [3]
    );
    assert_eq!(
        db.ids("tracks", json!({"filters": [["name", "eq", "ärger"]]})),
        [0i64; 0]
    );
    assert_eq!(
        db.ids(
            "tracks",
            json!({"filters": [["name", "contains", "ÄRGER"]]})
        ),
        [3]
    );
    assert_eq!(
        db.ids(
            "lines",
            json!({"master": 1, "filters": [["track", "contains", "abb"]]})
        ),
        [2]
    );
}

// ---------------------------------------------------------------------------------------------
// apply

#[test]
fn insert_with_nested_details_in_one_apply() {
    let mut db = Db::new();
    let results = db
        .apply(
            "invoices",
            json!([
                {"op": "insert", "values": {"customer": 2, "comment": "new", "total": 3.5},
                 "details": {
                    "lines": [
                        {"op": "insert", "values": {"track": 1, "quantity": 4},
                         "details": {"allocations": [
                            {"op": "insert", "values": {"amount": 7}},
                            {"op": "insert", "values": {"amount": 8}}
                         ]}},
                        {"op": "insert", "values": {"track": 2, "quantity": 1, "price": 0.5}}
                    ],
                    "notes": [{"op": "insert", "values": {"text": "hello"}}]
                 }},
                {"op": "insert", "values": {"customer": 1, "invoice_date": "2023-12-31", "paid": true,
                                             "status": 2}}
            ]),
        )
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!((results[0].op, results[0].int_id()), (Op::Insert, Some(4)));
    assert_eq!((results[1].op, results[1].int_id()), (Op::Insert, Some(5)));
    let today = jamrs_core::values::today();
    assert_eq!(
        results[0].row,
        [
            ("id".to_string(), int(4)),
            ("customer".to_string(), int(2)),
            ("invoice_date".to_string(), text(&today)),
            ("paid".to_string(), Value::Bool(false)),
            ("comment".to_string(), text("new")),
            ("total".to_string(), Value::Float(3.5)),
            ("status".to_string(), int(1)),
        ]
    );
    let lines_id = db.task.item_by_name("lines").unwrap().id;
    let notes_id = db.task.item_by_name("notes").unwrap().id;
    let detail_ids: Vec<(jamrs_core::ItemId, Vec<Option<i64>>)> = results[0]
        .details
        .iter()
        .map(|(item, rs)| (*item, rs.iter().map(|r| r.int_id()).collect()))
        .collect();
    assert_eq!(
        detail_ids,
        [
            (lines_id, vec![Some(6), Some(7)]),
            (notes_id, vec![Some(4)])
        ]
    );
    let line = &results[0].details[0].1[0];
    assert_eq!(get(&line.row, "invoice"), &int(4));
    assert_eq!(get(&line.row, "price"), &Value::Float(1.5), "the default");
    let allocations: Vec<Option<i64>> = line.details[0].1.iter().map(|r| r.int_id()).collect();
    assert_eq!(allocations, [Some(4), Some(5)]);

    assert_eq!(
        db.table("invoices")[3..],
        [
            vec![
                raw_int(4),
                raw_int(2),
                Raw::Text(today.clone()),
                raw_int(0),
                Raw::Text("new".into()),
                Raw::Real(3.5),
                raw_int(1),
                raw_int(0)
            ],
            vec![
                raw_int(5),
                raw_int(1),
                Raw::Text("2023-12-31".into()),
                raw_int(1),
                Raw::Null,
                Raw::Null,
                raw_int(2),
                raw_int(0)
            ],
        ]
    );
    assert_eq!(
        db.table("lines")[5..],
        [
            vec![
                raw_int(6),
                raw_int(4),
                raw_int(1),
                raw_int(4),
                Raw::Real(1.5),
                raw_int(0)
            ],
            vec![
                raw_int(7),
                raw_int(4),
                raw_int(2),
                raw_int(1),
                Raw::Real(0.5),
                raw_int(0)
            ],
        ]
    );
    assert_eq!(
        db.table("allocations")[3..],
        [
            vec![raw_int(4), raw_int(6), raw_int(7)],
            vec![raw_int(5), raw_int(6), raw_int(8)],
        ]
    );
    assert_eq!(
        db.table("notes")[3..],
        [vec![
            raw_int(4),
            Raw::Text("hello".into()),
            raw_int(10),
            raw_int(4)
        ]]
    );
    assert_eq!(db.ids("lines", json!({"master": 4})), [6, 7]);
}

#[test]
fn a_failing_detail_rolls_back_the_master_insert() {
    let mut db = Db::new();
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "insert", "values": {"customer": 1},
        "details": {"lines": [
            {"op": "insert", "values": {"track": 1, "quantity": 1}},
            {"op": "insert", "values": {"track": 1}}
        ]}}]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[0].lines[1].quantity"]);
    assert_eq!(db.count("invoices", "1=1"), 3);
}

#[test]
fn validation_errors_name_the_field_path() {
    let mut db = Db::new();
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "insert", "values": {"comment": "longer than ten", "status": 9}}]),
        Kind::Validation,
    );
    assert_eq!(
        field_paths(&e),
        [
            "changes[0].customer",
            "changes[0].comment",
            "changes[0].status"
        ]
    );
    // A lookup must point at a live row of its item.
    for customer in [99, 3] {
        let e = db.apply_fails(
            "invoices",
            json!([{"op": "insert", "values": {"customer": customer}}]),
            Kind::Validation,
        );
        assert_eq!(field_paths(&e), ["changes[0].customer"]);
    }
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "update", "id": 2, "details": {"lines": [
            {"op": "update", "id": 3, "values": {"quantity": 2}},
            {"op": "insert", "values": {"quantity": 1, "track": 4}}
        ]}}]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[0].lines[1].track"]);
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "update", "id": 1, "details": {"lines": [
            {"op": "update", "id": 2, "values": {"quantity": null}}
        ]}}]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[0].lines[0].quantity"]);
    // Type errors are found before anything runs, with the same paths.
    let err = db.apply_fails(
        "invoices",
        json!([{"op": "insert", "values": {"customer": 1}, "details": {"lines": [
            {"op": "insert", "values": {"quantity": "two"}},
            {"op": "insert", "values": {"quantity": 1}, "details": {"allocations": [
                {"op": "insert", "values": {"amount": 1.5}}
            ]}}
        ]}}]),
        Kind::Validation,
    );
    assert_eq!(
        field_paths(&err),
        [
            "changes[0].lines[0].quantity",
            "changes[0].lines[1].allocations[0].amount"
        ]
    );
    let e = db.apply_fails(
        "artists",
        json!([{"op": "insert", "values": {"name": ""}}]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[0].name"]);
}

#[test]
fn update_changes_only_the_given_fields() {
    let mut db = Db::new();
    let r = db
        .apply(
            "invoices",
            json!([{"op": "update", "id": 1, "values": {"comment": "fixed", "paid": true},
                    "details": {"lines": [{"op": "update", "id": 2, "values": {"quantity": 9}}]}}]),
        )
        .unwrap();
    assert_eq!((r[0].op, r[0].int_id()), (Op::Update, Some(1)));
    assert_eq!(get(&r[0].row, "comment"), &text("fixed"));
    assert_eq!(get(&r[0].row, "customer"), &int(1), "the stored value");
    assert!(r[0].row.iter().all(|(n, _)| n != "deleted"));
    assert_eq!(
        db.table("invoices")[0],
        [
            raw_int(1),
            raw_int(1),
            Raw::Text("2024-01-10".into()),
            raw_int(1),
            Raw::Text("fixed".into()),
            Raw::Real(10.0),
            raw_int(1),
            raw_int(0)
        ]
    );
    assert_eq!(
        db.count("lines", "id = 2 AND quantity = 9 AND invoice = 1"),
        1
    );
}

#[test]
fn an_update_checks_only_what_it_changes() {
    let mut db = Db::new();
    // Track 2 is deleted after line 2 was written. A client that sends the whole record (as
    // Jam.py's does) can still change the quantity, but cannot point a line at the track.
    db.conn
        .raw()
        .execute_batch("UPDATE tracks SET deleted = 1 WHERE id = 2")
        .unwrap();
    db.apply(
        "invoices",
        json!([{"op": "update", "id": 1, "details": {"lines": [
            {"op": "update", "id": 2, "values": {"invoice": 1, "track": 2, "quantity": 4, "price": 1.0}}
        ]}}]),
    )
    .unwrap();
    assert_eq!(
        db.count("lines", "id = 2 AND track = 2 AND quantity = 4"),
        1
    );
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "update", "id": 1, "details": {"lines": [
            {"op": "update", "id": 1, "values": {"track": 2}}
        ]}}]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[0].lines[0].track"]);
}

#[test]
fn aggregates_over_a_calculated_field() {
    let mut db = Db::new();
    let r = db
        .open(
            "invoices",
            json!({"fields": ["quantity", "total"], "funcs": {"quantity": "sum", "total": "max"}}),
        )
        .unwrap();
    assert_eq!(r.rows, [vec![int(10), Value::Float(20.0)]]);
}

#[test]
fn soft_delete_cascades_to_details() {
    let mut db = Db::new();
    let r = db
        .apply("invoices", json!([{"op": "delete", "id": 1}]))
        .unwrap();
    assert_eq!(
        (r[0].op, r[0].int_id(), r[0].row.is_empty()),
        (Op::Delete, Some(1), true)
    );
    // The invoice and its lines are flagged; allocations and notes have no flag and go.
    assert_eq!(db.count("invoices", "deleted = 1"), 2);
    assert_eq!(db.count("invoices", "id = 1 AND deleted = 1"), 1);
    assert_eq!(db.count("lines", "invoice = 1 AND deleted = 0"), 0);
    assert_eq!(db.count("lines", "invoice = 1"), 3);
    assert_eq!(db.count("lines", "id = 3 AND deleted = 0"), 1);
    assert_eq!(
        db.table("allocations"),
        [vec![raw_int(3), raw_int(3), raw_int(30)]]
    );
    let notes: Vec<Raw> = db
        .table("notes")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(notes, [raw_int(2), raw_int(3)]);
    assert_eq!(db.ids("invoices", json!({})), [2]);
}

#[test]
fn hard_delete_cascades_by_master_id_and_rec_id() {
    let mut db = Db::new();
    // Customer 1's live invoice moves to customer 2 first: a customer an invoice refers to is
    // not deleted (delete integrity).
    db.apply(
        "invoices",
        json!([{"op": "update", "id": 1, "values": {"customer": 2}}]),
    )
    .unwrap();
    db.apply("customers", json!([{"op": "delete", "id": 1}]))
        .unwrap();
    assert_eq!(db.count("customers", "1=1"), 1);
    // Only the note of customer 1 goes; invoice 1's note has the same owner_id.
    let notes: Vec<Raw> = db
        .table("notes")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(notes, [raw_int(1), raw_int(3)]);
}

#[test]
fn deleting_a_detail_row_deletes_its_details() {
    let mut db = Db::new();
    db.apply(
        "invoices",
        json!([{"op": "update", "id": 1, "details": {"lines": [{"op": "delete", "id": 1}]}}]),
    )
    .unwrap();
    assert_eq!(db.count("lines", "id = 1 AND deleted = 1"), 1);
    assert_eq!(db.count("lines", "id = 2 AND deleted = 0"), 1);
    assert_eq!(db.count("allocations", "line = 1"), 0);
    assert_eq!(db.count("allocations", "1=1"), 1);
    assert_eq!(db.count("invoices", "id = 1 AND deleted = 0"), 1);
}

#[test]
fn the_server_sets_the_detail_link() {
    let mut db = Db::new();
    let r = db
        .apply(
            "invoices",
            json!([{"op": "update", "id": 2, "details": {
                "lines": [
                    {"op": "insert", "values": {"invoice": 1, "quantity": 1}},
                    {"op": "update", "id": 3, "values": {"invoice": 1, "quantity": 6}}
                ],
                "notes": [{"op": "insert", "values": {"owner_type": 20, "owner_id": 1, "text": "t"}}]
            }}]),
        )
        .unwrap();
    let line_id = r[0].details[0].1[0].int_id().unwrap();
    assert_eq!(
        db.count("lines", &format!("id = {line_id} AND invoice = 2")),
        1
    );
    assert_eq!(
        db.count("lines", "id = 3 AND invoice = 2 AND quantity = 6"),
        1
    );
    let note_id = r[0].details[1].1[0].int_id().unwrap();
    assert_eq!(
        db.count(
            "notes",
            &format!("id = {note_id} AND owner_type = 10 AND owner_id = 2")
        ),
        1
    );
}

#[test]
fn a_detail_of_another_master_cannot_be_changed() {
    let mut db = Db::new();
    // Line 1 belongs to invoice 1; reaching it through invoice 2 fails and changes nothing.
    for change in [
        json!({"op": "update", "id": 1, "values": {"quantity": 99}}),
        json!({"op": "delete", "id": 1}),
    ] {
        let e = db.apply_fails(
            "invoices",
            json!([{"op": "update", "id": 2, "values": {"comment": "x"},
                    "details": {"lines": [change]}}]),
            Kind::NotFound,
        );
        assert_eq!(field_paths(&e), ["changes[0].lines[0]"]);
    }
    // The same for master_id/master_rec_id: note 2 belongs to customer 1, not invoice 1.
    db.apply_fails(
        "invoices",
        json!([{"op": "update", "id": 1, "details": {"notes": [{"op": "delete", "id": 2}]}}]),
        Kind::NotFound,
    );
    // And a deleted master's details stay where they are.
    db.apply_fails(
        "invoices",
        json!([{"op": "update", "id": 3, "details": {"lines": [{"op": "delete", "id": 5}]}}]),
        Kind::NotFound,
    );
}

#[test]
fn missing_or_deleted_rows_are_not_found() {
    let mut db = Db::new();
    for (op, id) in [("update", 99), ("update", 4), ("delete", 99), ("delete", 4)] {
        let change = if op == "update" {
            json!({"op": op, "id": id, "values": {"name": "x"}})
        } else {
            json!({"op": op, "id": id})
        };
        let e = db.apply_fails(
            "artists",
            json!([{"op": "insert", "values": {"name": "New"}}, change]),
            Kind::NotFound,
        );
        assert_eq!(field_paths(&e), ["changes[1]"], "{op} {id}");
    }
    // The deleted flag is not a field a client can set to undelete a row.
    db.apply_fails(
        "artists",
        json!([{"op": "update", "id": 4, "values": {"deleted": false}}]),
        Kind::BadRequest,
    );
    // A key that is not an integer never reaches SQL.
    db.apply_fails(
        "artists",
        json!([{"op": "update", "id": "1 OR 1=1", "values": {"name": "x"}}]),
        Kind::BadRequest,
    );
}

#[test]
fn a_later_failure_rolls_back_earlier_changes() {
    let mut db = Db::new();
    // Artist 3 has no albums: one an album refers to is not deleted (delete integrity).
    let e = db.apply_fails(
        "artists",
        json!([
            {"op": "update", "id": 1, "values": {"name": "Renamed"}},
            {"op": "delete", "id": 3},
            {"op": "insert", "values": {"name": "Fine"}},
            {"op": "insert", "values": {}}
        ]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[3].name"]);
    // The same delta without the bad change goes through.
    let r = db
        .apply(
            "artists",
            json!([
                {"op": "update", "id": 1, "values": {"name": "Renamed"}},
                {"op": "delete", "id": 3},
                {"op": "insert", "values": {"name": "Fine"}}
            ]),
        )
        .unwrap();
    let summary: Vec<(Op, Option<i64>)> = r.iter().map(|r| (r.op, r.int_id())).collect();
    assert_eq!(
        summary,
        [
            (Op::Update, Some(1)),
            (Op::Delete, Some(3)),
            (Op::Insert, Some(5))
        ]
    );
    assert_eq!(db.ids("artists", json!({})), [1, 2, 5]);
}

#[test]
fn a_client_key_on_insert_is_ignored_and_keys_cannot_change() {
    let mut db = Db::new();
    let r = db
        .apply(
            "artists",
            json!([{"op": "insert", "values": {"id": 1, "name": "Copy"}}]),
        )
        .unwrap();
    assert_eq!(r[0].int_id(), Some(5));
    assert_eq!(get(&r[0].row, "id"), &int(5));
    assert_eq!(db.count("artists", "id = 1 AND name = 'Queen'"), 1);
    let e = db.apply_fails(
        "artists",
        json!([{"op": "update", "id": 1, "values": {"id": 2, "name": "x"}}]),
        Kind::Validation,
    );
    assert_eq!(field_paths(&e), ["changes[0].id"]);
    // Repeating the record's own key is harmless.
    db.apply(
        "artists",
        json!([{"op": "update", "id": 1, "values": {"id": 1, "name": "Same"}}]),
    )
    .unwrap();
    assert_eq!(db.count("artists", "id = 1 AND name = 'Same'"), 1);
}

#[test]
fn results_are_one_to_one_in_request_order() {
    let mut db = Db::new();
    let r = db
        .apply(
            "artists",
            json!([
                {"op": "insert", "values": {"name": "A"}},
                {"op": "delete", "id": 3},
                {"op": "insert", "values": {"name": "B"}},
                {"op": "update", "id": 1, "values": {"name": "Q"}},
                {"op": "insert", "values": {"name": "C"}}
            ]),
        )
        .unwrap();
    let summary: Vec<(Op, Option<i64>)> = r.iter().map(|r| (r.op, r.int_id())).collect();
    assert_eq!(
        summary,
        [
            (Op::Insert, Some(5)),
            (Op::Delete, Some(3)),
            (Op::Insert, Some(6)),
            (Op::Update, Some(1)),
            (Op::Insert, Some(7)),
        ]
    );
    let names: Vec<&Value> = [0, 2, 4].iter().map(|i| get(&r[*i].row, "name")).collect();
    assert_eq!(names, [&text("A"), &text("B"), &text("C")]);
}

#[test]
fn expanded_apply_results() {
    let mut db = Db::new();
    let r = db
        .apply_with(
            "invoices",
            json!([
                {"op": "insert", "values": {"customer": 2},
                 "details": {"lines": [{"op": "insert", "values": {"track": 2, "quantity": 4}}]}},
                {"op": "update", "id": 1, "values": {"total": 12.0}},
                {"op": "delete", "id": 2}
            ]),
            true,
        )
        .unwrap();
    assert_eq!(get(&r[0].row, "customer.text"), &text("Jones"));
    assert_eq!(get(&r[0].row, "quantity"), &int(4), "the calculated field");
    let line = &r[0].details[0].1[0].row;
    assert_eq!(get(line, "track.text"), &text("ABBA"));
    assert_eq!(get(line, "invoice"), &int(4));
    assert_eq!(get(&r[1].row, "customer.text"), &text("Smith"));
    assert_eq!(get(&r[1].row, "quantity"), &int(5));
    assert_eq!(get(&r[1].row, "total"), &Value::Float(12.0));
    assert!(r[2].row.is_empty());
}

#[test]
fn a_detail_is_changed_only_through_its_master() {
    let mut db = Db::new();
    // Applied directly, a detail would have no master to link to or to check against.
    for change in [
        json!({"op": "insert", "values": {"quantity": 1}}),
        json!({"op": "update", "id": 1, "values": {"quantity": 50}}),
        json!({"op": "delete", "id": 1}),
    ] {
        db.apply_fails("lines", json!([change]), Kind::BadRequest);
    }
}

#[test]
fn a_new_record_has_no_stored_details_at_any_depth() {
    let mut db = Db::new();
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "insert", "values": {"customer": 1}, "details": {"lines": [
            {"op": "update", "id": 1, "values": {"quantity": 1}}
        ]}}]),
        Kind::BadRequest,
    );
    assert_eq!(field_paths(&e), ["changes[0].lines[0]"]);
    let e = db.apply_fails(
        "invoices",
        json!([{"op": "insert", "values": {"customer": 1}, "details": {"lines": [
            {"op": "insert", "values": {"quantity": 1}, "details": {"allocations": [
                {"op": "update", "id": 1, "values": {"amount": 0}},
            ]}}
        ]}}]),
        Kind::BadRequest,
    );
    assert_eq!(field_paths(&e), ["changes[0].lines[0].allocations[0]"]);
}

// ---------------------------------------------------------------------------------------------
// The store: one writer thread, reader threads

fn artist_names(r: &OpenResult) -> Vec<Value> {
    r.rows.iter().map(|row| row[1].clone()).collect()
}

fn store_apply(
    task: &Arc<Task>,
    changes: Json,
) -> impl FnOnce(&mut dyn Conn) -> Result<Vec<ChangeResult>, Error> + Send + 'static {
    let task = Arc::clone(task);
    move |conn| {
        let item = task.item_by_name("artists").unwrap();
        let params: Vec<ChangeParams> = serde_json::from_value(changes).unwrap();
        let changes = Change::resolve_all(&task, item, &params, &task.unrestricted)?;
        Engine::for_server(&task, &NoHooks).apply(conn, item, changes, Default::default(), false)
    }
}

fn store_open(
    task: &Arc<Task>,
) -> impl FnOnce(&mut dyn Conn) -> Result<OpenResult, Error> + Clone + Send + 'static {
    let task = Arc::clone(task);
    move |conn| {
        let item = task.item_by_name("artists").unwrap();
        Engine::for_server(&task, &NoHooks).open(conn, item, OpenParams::default())
    }
}

#[tokio::test]
async fn store_reads_and_writes_on_its_threads() {
    let db = Db::new();
    let task = Arc::new(db.task.clone());
    let path = db.dir.path().join("shop.sqlite");
    let store = Arc::new(SqliteStore::open(&path, 2).unwrap());

    let r = store::write(
        &*store,
        store_apply(&task, json!([{"op": "insert", "values": {"name": "Blur"}}])),
    )
    .await
    .unwrap();
    assert_eq!(r[0].int_id(), Some(5));
    let r = store::read(&*store, store_open(&task)).await.unwrap();
    assert_eq!(
        artist_names(&r),
        [
            text("Queen"),
            text("ABBA"),
            text("Ärger Band"),
            text("Blur")
        ]
    );

    // A failing write rolls back everything it did, also what ran before the failure.
    let e = store::write(
        &*store,
        store_apply(
            &task,
            json!([{"op": "update", "id": 1, "values": {"name": "Renamed"}},
                   {"op": "insert", "values": {"name": null}}]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, Kind::Validation);
    let e = store::write(&*store, |conn: &mut dyn Conn| {
        conn.execute(&Sql {
            text: "DELETE FROM artists".into(),
            params: vec![],
        })?;
        Err::<(), _>(Error::conflict("changed my mind"))
    })
    .await
    .unwrap_err();
    assert_eq!(e.kind, Kind::Conflict);
    let r = store::read(&*store, store_open(&task)).await.unwrap();
    assert_eq!(
        artist_names(&r),
        [
            text("Queen"),
            text("ABBA"),
            text("Ärger Band"),
            text("Blur")
        ]
    );

    // Readers run side by side, fold non-ASCII text, and cannot write.
    let reads: Vec<_> = (0..8)
        .map(|_| {
            let (store, job) = (Arc::clone(&store), store_open(&task));
            tokio::spawn(async move { store::read(&*store, job).await })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.unwrap().unwrap().rows.len(), 4);
    }
    let found = store::read(&*store, {
        let task = Arc::clone(&task);
        move |conn| {
            let item = task.item_by_name("artists").unwrap();
            let params: OpenParams =
                serde_json::from_value(json!({"filters": [["name", "contains", "ä"]]})).unwrap();
            Engine::for_server(&task, &NoHooks).open(conn, item, params)
        }
    })
    .await
    .unwrap();
    assert_eq!(artist_names(&found), [text("Ärger Band")]);
    let e = store::read(&*store, |conn: &mut dyn Conn| {
        conn.execute(&Sql {
            text: "DELETE FROM artists".into(),
            params: vec![],
        })
    })
    .await
    .unwrap_err();
    assert_eq!(e.kind, Kind::Internal);
    assert_eq!(db.count("artists", "1=1"), 5);
}

/// How many times a read job ran, and its answer (the number of rows its SQL counted).
fn counting_read(
    runs: &Arc<std::sync::atomic::AtomicUsize>,
    sql: &'static str,
) -> impl FnOnce(&mut dyn Conn) -> Result<i64, Error> + Clone + Send + 'static {
    let runs = Arc::clone(runs);
    move |conn| {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let rows = conn.query_any(&Sql {
            text: sql.into(),
            params: vec![],
        })?;
        Ok(rows[0][0].as_i64().unwrap())
    }
}

#[tokio::test]
async fn reads_on_the_callers_thread_stay_read_only_and_move_to_a_reader_when_long() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    let db = Db::new();
    let task = Arc::new(db.task.clone());
    let path = db.dir.path().join("shop.sqlite");
    let store = Arc::new(
        SqliteStore::open(&path, 2)
            .unwrap()
            .read_on_caller(Duration::from_millis(1)),
    );

    // A short read runs once, on this thread, and sees what the writer committed.
    store::write(
        &*store,
        store_apply(&task, json!([{"op": "insert", "values": {"name": "Blur"}}])),
    )
    .await
    .unwrap();
    let r = store::read(&*store, store_open(&task)).await.unwrap();
    assert_eq!(r.rows.len(), 4);
    let runs = Arc::new(AtomicUsize::new(0));
    let n = store::read(
        &*store,
        counting_read(&runs, "SELECT COUNT(*) FROM artists"),
    )
    .await
    .unwrap();
    assert_eq!((n, runs.load(Ordering::SeqCst)), (5, 1));

    // A read that runs past the bound is interrupted and runs again, to its end, on a reader.
    let runs = Arc::new(AtomicUsize::new(0));
    let long = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) \
                SELECT COUNT(*) FROM n";
    let n = store::read(&*store, counting_read(&runs, long))
        .await
        .unwrap();
    assert_eq!((n, runs.load(Ordering::SeqCst)), (3_000_000, 2));

    // The caller's connection is read-only too, and still answers after the interrupted read.
    let e = store::read(&*store, |conn: &mut dyn Conn| {
        conn.execute(&Sql {
            text: "DELETE FROM artists".into(),
            params: vec![],
        })
    })
    .await
    .unwrap_err();
    assert_eq!(e.kind, Kind::Internal);
    let runs = Arc::new(AtomicUsize::new(0));
    let n = store::read(
        &*store,
        counting_read(&runs, "SELECT COUNT(*) FROM artists"),
    )
    .await
    .unwrap();
    assert_eq!((n, runs.load(Ordering::SeqCst)), (5, 1));
    assert_eq!(db.count("artists", "1=1"), 5);

    // A read cannot open a transaction (it would keep its snapshot on the connection), on this
    // thread or on a reader; neither can a write body end the store's.
    let on_readers = Arc::new(SqliteStore::open(&path, 2).unwrap());
    for s in [&store, &on_readers] {
        let e = store::read(&**s, |conn: &mut dyn Conn| {
            conn.execute(&Sql {
                text: "BEGIN".into(),
                params: vec![],
            })
        })
        .await
        .unwrap_err();
        assert!(e.message.contains("may not begin"), "{e}");
    }
    let e = store::write(&*store, |conn: &mut dyn Conn| {
        conn.execute(&Sql {
            text: "COMMIT".into(),
            params: vec![],
        })
    })
    .await
    .unwrap_err();
    assert!(e.message.contains("may not begin"), "{e}");
}

/// A statement that ran past the bound on the caller's thread by its own work is not started
/// there again for a while: the next read that runs it goes to a reader at once, instead of
/// running on the caller's thread for the bound's length first. (A bound of 20 ms, so that
/// the statement's time there is its work, whatever else runs on the machine.)
#[tokio::test]
async fn a_statement_too_long_for_the_callers_thread_goes_to_a_reader_at_once_next_time() {
    use std::sync::Mutex;
    use std::time::Duration;
    let db = Db::new();
    let path = db.dir.path().join("shop.sqlite");
    let store = SqliteStore::open(&path, 2)
        .unwrap()
        .read_on_caller(Duration::from_millis(20));
    let caller = std::thread::current().id();
    // The errors the statement met on the caller's thread, read after read.
    let here = Arc::new(Mutex::new(Vec::<String>::new()));
    let job = |sql: &'static str| {
        let here = Arc::clone(&here);
        move |conn: &mut dyn Conn| {
            let rows = conn.query(
                &Sql {
                    text: sql.into(),
                    params: vec![],
                },
                &[jamrs_core::FieldType::Integer],
            );
            if std::thread::current().id() == caller {
                here.lock().unwrap().push(match &rows {
                    Ok(_) => "ran".into(),
                    Err(e) => e.message.clone(),
                });
            }
            Ok(rows?[0][0].as_i64())
        }
    };
    let long = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
                SELECT COUNT(*) FROM n";
    for _ in 0..2 {
        let n = store::read(&store, job(long)).await.unwrap();
        assert_eq!(n, Some(1_000_000));
    }
    // A short statement still runs on the caller's thread.
    let n = store::read(&store, job("SELECT COUNT(*) FROM artists"))
        .await
        .unwrap();
    assert_eq!(n, Some(4));
    let here = here.lock().unwrap();
    assert_eq!(here.len(), 3, "{here:?}");
    assert!(here[0].contains("interrupt"), "first: {}", here[0]);
    assert!(
        here[1].contains("too long for the request's thread"),
        "second: {}",
        here[1]
    );
    assert_eq!(here[2], "ran");
}

/// A read on the caller's thread runs in one read transaction: its statements (the session check
/// and the open) see one state of the database, even if a write commits between them, and the
/// snapshot ends with the job (the next read sees the write).
#[tokio::test]
async fn a_read_on_the_callers_thread_sees_one_snapshot() {
    use std::time::Duration;
    let db = Db::new();
    let path = db.dir.path().join("shop.sqlite");
    let store = SqliteStore::open(&path, 2)
        .unwrap()
        .read_on_caller(Duration::from_secs(10));
    let count = Sql {
        text: "SELECT COUNT(*) FROM artists".into(),
        params: vec![],
    };
    let writer = path.clone();
    let (before, after) = store::read(&store, move |conn: &mut dyn Conn| {
        let before = conn.query_any(&count)?[0][0].as_i64();
        // Another connection commits a row while the job runs.
        jamrs_sqlite::store::with_connection(&writer, |c| {
            c.raw()
                .execute("INSERT INTO artists (name) VALUES ('Pulp')", [])
                .map_err(jamrs_sqlite::conn::map_err)
        })?;
        let after = conn.query_any(&count)?[0][0].as_i64();
        Ok((before, after))
    })
    .await
    .unwrap();
    assert_eq!(before, Some(4));
    assert_eq!(after, before, "the second statement saw a later state");
    let next = store::read(&store, |conn: &mut dyn Conn| {
        Ok(conn.query_any(&Sql {
            text: "SELECT COUNT(*) FROM artists".into(),
            params: vec![],
        })?[0][0]
            .as_i64())
    })
    .await
    .unwrap();
    assert_eq!(next, Some(5));
}

/// A write body that inserts an artist named `name`, then fails (`fail`), panics (`panic`) or
/// succeeds.
fn insert_then(
    name: String,
    outcome: &'static str,
) -> impl FnOnce(&mut dyn Conn) -> Result<i64, Error> + Send + 'static {
    move |conn| {
        let id = conn.insert(&Sql {
            text: "INSERT INTO artists (name, deleted) VALUES (?, 0)".into(),
            params: vec![Value::Text(name)],
        })?;
        match outcome {
            "fail" => Err(Error::conflict("changed my mind")),
            "panic" => panic!("a body that panics"),
            _ => Ok(id),
        }
    }
}

#[tokio::test]
async fn writes_queued_together_commit_together_and_fail_alone() {
    let db = Db::new();
    let path = db.dir.path().join("shop.sqlite");
    let store = Arc::new(SqliteStore::open(&path, 2).unwrap());

    // Hold the writer until 30 writes are queued, so that they share one transaction.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let holder = tokio::spawn({
        let store = Arc::clone(&store);
        async move {
            store::write(&*store, move |_conn: &mut dyn Conn| {
                held.recv().unwrap();
                Ok(())
            })
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let commits_before = store.commits();
    let outcomes: Vec<&'static str> = (0..30)
        .map(|i| match i % 10 {
            3 | 7 => "fail",
            5 if i == 15 => "panic",
            _ => "ok",
        })
        .collect();
    let writes: Vec<_> = outcomes
        .iter()
        .enumerate()
        .map(|(i, outcome)| {
            let store = Arc::clone(&store);
            let body = insert_then(format!("Batch {i}"), outcome);
            tokio::spawn(async move { store::write(&*store, body).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();

    let mut ids = Vec::new();
    for (w, outcome) in writes.into_iter().zip(&outcomes) {
        let answer = w.await.unwrap();
        match *outcome {
            "ok" => ids.push(answer.unwrap()),
            "fail" => assert_eq!(answer.unwrap_err().kind, Kind::Conflict),
            _ => assert_eq!(answer.unwrap_err().kind, Kind::Internal),
        }
    }
    // Every write that succeeded is there, under the id it was answered with; nothing of a
    // failed or panicked one is.
    assert_eq!(ids.len(), 23);
    assert_eq!(db.count("artists", "name LIKE 'Batch %'"), 23);
    for (i, outcome) in outcomes.iter().enumerate() {
        let expected = i64::from(*outcome == "ok");
        assert_eq!(
            db.count("artists", &format!("name = 'Batch {i}'")),
            expected,
            "{i}"
        );
    }
    // One transaction for the holder and one (or, past its time bound, a few) for the 30.
    let commits = store.commits() - commits_before;
    assert!((2..=6).contains(&commits), "{commits} commits");
    let listed: i64 = db.count(
        "artists",
        &format!(
            "id IN ({})",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        ),
    );
    assert_eq!(listed, 23);

    // The writer goes on serving after the batch, alone.
    let id = store::write(&*store, insert_then("After".into(), "ok"))
        .await
        .unwrap();
    assert_eq!(
        db.count("artists", &format!("id = {id} AND name = 'After'")),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// The engine's own key lists, and the rows calculated fields aggregate.

/// Hooks whose `on_open` adds a filter to the opens of some items, as the seed's recipe adds
/// `user_id = me`, and remembers which items it ran for.
struct OnOpenFilters {
    filters: Vec<(&'static str, Json)>,
    calls: std::sync::Mutex<Vec<String>>,
}

impl OnOpenFilters {
    fn new(filters: Vec<(&'static str, Json)>) -> OnOpenFilters {
        OnOpenFilters {
            filters,
            calls: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The items `on_open` ran for since the last call.
    fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl jamrs_store::Hooks for OnOpenFilters {
    fn on_open(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        item: &jamrs_core::model::Item,
        params: &mut OpenParams,
    ) -> Result<Option<OpenResult>, Error> {
        self.calls.lock().unwrap().push(item.name.to_string());
        for (name, filter) in &self.filters {
            if *name == item.name.as_str() {
                params.filters.push(filter.clone());
            }
        }
        Ok(None)
    }
}

/// A client with no session on this project without safe mode (no restrictions).
static ANONYMOUS: jamrs_core::session::Caller = jamrs_core::session::Caller {
    user: None,
    role: None,
};

/// Rule: every IN list of keys the engine builds is cut to `KEYS_PER_STATEMENT`, so a request
/// that names more rows than the database binds values in one statement still works: the
/// expanded results of an apply, the reach check of the rows it wrote, the stored rows read
/// before updates, and a cascade under many detail rows. The connection's limit is lowered to
/// 999 (SQLite's before 3.32) to show it.
#[test]
fn the_engines_key_lists_stay_under_the_bound_variable_limit() {
    use rusqlite::limits::Limit;
    const LIMIT: i32 = 999;
    const N: usize = 1200;
    let mut db = Db::new();
    db.conn
        .get()
        .set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, LIMIT)
        .unwrap();
    let too_many = vec!["?"; LIMIT as usize + 1].join(", ");
    assert!(
        db.conn
            .get()
            .prepare(&format!("SELECT 1 WHERE 1 IN ({too_many})"))
            .is_err(),
        "the lowered limit holds"
    );
    let hooks = OnOpenFilters::new(vec![("artists", json!(["name", "ne", "nobody"]))]);
    let Db { task, conn, .. } = &mut db;
    let artists = task.item_by_name("artists").unwrap();
    let engine = Engine::for_client(task, &hooks, &ANONYMOUS);
    let apply = |conn: &mut SqliteConn, changes: Json, expanded: bool| {
        let params: Vec<ChangeParams> = serde_json::from_value(changes).unwrap();
        in_transaction(conn, |c| {
            let changes = Change::resolve_all(task, artists, &params, &task.unrestricted)?;
            engine.apply(c, artists, changes, Default::default(), expanded)
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    // N inserts, expanded and checked for reach.
    let inserts: Vec<Json> = (0..N)
        .map(|i| json!({"op": "insert", "values": {"name": format!("artist {i}")}}))
        .collect();
    let results = apply(conn, Json::Array(inserts), true);
    assert_eq!(results.len(), N);
    assert!(results.iter().all(|r| !r.row.is_empty()));
    // N updates: their stored rows are read, then checked.
    let updates: Vec<Json> = results
        .iter()
        .map(|r| json!({"op": "update", "id": r.id, "values": {"name": "renamed"}}))
        .collect();
    let results = apply(conn, Json::Array(updates), true);
    assert!(
        results
            .iter()
            .all(|r| r.row[1] == ("name".into(), text("renamed")))
    );
    drop(engine);

    // A cascade under N detail rows that have details of their own.
    let mut batch =
        String::from("INSERT INTO invoices (id, customer, deleted) VALUES (50, 1, 0);\n");
    for i in 0..N {
        batch.push_str(&format!(
            "INSERT INTO lines (id, invoice, quantity, deleted) VALUES ({}, 50, 1, 0);\n\
             INSERT INTO allocations (line, amount) VALUES ({}, 1);\n",
            1000 + i,
            1000 + i
        ));
    }
    db.conn.get().execute_batch(&batch).unwrap();
    db.apply("invoices", json!([{"op": "delete", "id": 50}]))
        .unwrap();
    assert_eq!(db.count("lines", "invoice = 50 AND deleted = 0"), 0);
    assert_eq!(db.count("allocations", "line >= 1000"), 0);
    // The seed's other rows are untouched.
    assert_eq!(db.count("allocations", "line < 1000"), 3);
}

/// Rule: a calculated field aggregates only the rows the session could open: its sub-select
/// carries the filters the aggregated item's `on_open` adds, and those of the masters a
/// detail row is reached through. Rule: this costs nothing for an open that reads no
/// calculated field — no `on_open` runs for other items.
#[test]
fn calculated_fields_aggregate_what_on_open_allows_and_cost_nothing_otherwise() {
    let mut db = Db::new();
    let Db { task, conn, .. } = &mut db;
    let tracks = task.item_by_name("tracks").unwrap();
    let open = |hooks: &OnOpenFilters, conn: &mut SqliteConn, params: Json| {
        let engine = Engine::for_client(task, hooks, &ANONYMOUS);
        let params: OpenParams = serde_json::from_value(params).unwrap();
        let rows = engine
            .open(conn, tracks, params)
            .unwrap_or_else(|e| panic!("{e}"))
            .rows;
        (rows, hooks.take_calls())
    };
    let sold = json!({"fields": ["id", "sold"], "expanded": true, "filters": [["id", "le", 3]]});
    // Without filters: lines 1 (track 1, 2), 2 (track 2, 3) and 3 (track 1, 5).
    let none = OnOpenFilters::new(vec![]);
    let (rows, calls) = open(&none, conn, sold.clone());
    assert_eq!(rows, [[int(1), int(7)], [int(2), int(3)], [int(3), int(0)]]);
    assert_eq!(calls, ["tracks", "lines", "invoices"]);
    // Filters of the lines themselves.
    let small = OnOpenFilters::new(vec![("lines", json!(["quantity", "lt", 5]))]);
    let (rows, _) = open(&small, conn, sold.clone());
    assert_eq!(rows, [[int(1), int(2)], [int(2), int(3)], [int(3), int(0)]]);
    // Filters of their master: invoice 2 (line 3) is paid.
    let unpaid = OnOpenFilters::new(vec![("invoices", json!(["paid", "eq", false]))]);
    let (rows, _) = open(&unpaid, conn, sold.clone());
    assert_eq!(rows, [[int(1), int(2)], [int(2), int(3)], [int(3), int(0)]]);
    // Filters and order on the total use the same rows.
    let (rows, calls) = open(
        &unpaid,
        conn,
        json!({"fields": ["id"], "filters": [["sold", "gt", 2]], "order": [["sold", true]]}),
    );
    assert_eq!(rows, [[int(2)]]);
    assert_eq!(calls, ["tracks", "lines", "invoices"]);
    // An open that reads no calculated field runs no on_open but its own.
    for params in [
        json!({"fields": ["id", "name"]}),
        json!({}),
        json!({"fields": ["id", "album"], "expanded": true}),
        json!({"fields": ["id"], "funcs": {"id": "count"}}),
    ] {
        let (_, calls) = open(&unpaid, conn, params.clone());
        assert_eq!(calls, ["tracks"], "{params}");
    }
}
