//! Unit tests of the query builder: exact SQL text and bound values for every open param, on a
//! `?` dialect and a numbered `$n` dialect, plus the checks `OpenQuery::resolve` makes first.

use std::path::Path;
use std::sync::OnceLock;

use jamrs_core::model::Item;
use jamrs_core::project::{ItemFile, ProjectFiles, TaskFile};
use jamrs_core::query::{OpenParams, OpenQuery};
use jamrs_core::session::Tenant;
use jamrs_core::{Error, FieldType, Kind, Task, Value};
use serde_json::{Value as Json, json};

use super::*;
use crate::dialect::{Dialect, RowLock};
use crate::sql::Sql;

/// `?` placeholders and a LOWER-based case-insensitive LIKE.
pub(super) struct Question;

impl Dialect for Question {
    fn name(&self) -> &'static str {
        "question"
    }
    fn push_placeholder(&self, out: &mut String, _n: usize) {
        out.push('?');
    }
    fn ilike(&self) -> [&'static str; 3] {
        ["LOWER(", ") LIKE ", " ESCAPE '\\'"]
    }
    fn like_value(&self, pattern: &str) -> String {
        pattern.to_lowercase()
    }
    fn distinct(&self) -> [&'static str; 3] {
        ["", " IS DISTINCT FROM ", ""]
    }
    fn column_type(&self, _t: FieldType) -> &'static str {
        "TEXT"
    }
    fn primary_key_type(&self) -> &'static str {
        "INTEGER PRIMARY KEY"
    }
}

/// Builder tests see every tenant (tenancy has its own tests).
static ALL: Tenant = Tenant::All;

/// Numbered placeholders, so the order of bound values is visible in the text.
struct Dollar;

impl Dialect for Dollar {
    fn name(&self) -> &'static str {
        "dollar"
    }
    fn push_placeholder(&self, out: &mut String, n: usize) {
        out.push_str(&format!("${n}"));
    }
    fn ilike(&self) -> [&'static str; 3] {
        ["", " ILIKE ", " ESCAPE '\\'"]
    }
    fn distinct(&self) -> [&'static str; 3] {
        ["", " IS DISTINCT FROM ", ""]
    }
    fn column_type(&self, _t: FieldType) -> &'static str {
        "TEXT"
    }
    fn primary_key_type(&self) -> &'static str {
        "SERIAL PRIMARY KEY"
    }
    fn insert_returning(&self, pk: &str) -> Option<String> {
        Some(format!(" RETURNING \"{pk}\""))
    }
}

/// The test application: a music shop with lookups of one, two and three levels, a calculated
/// field, both detail link styles and details of details.
fn task() -> &'static Task {
    static TASK: OnceLock<Task> = OnceLock::new();
    TASK.get_or_init(|| {
        let task: TaskFile = serde_json::from_value(json!({
            "name": "shop",
            "safe_mode": false,
            "max_limit": 100,
            "groups": [{"name": "catalogs", "items": [
                "albums", "allocations", "artists", "customers", "invoices", "lines", "notes",
                "tracks"
            ]}],
            "lookup_lists": [{"name": "status", "values": [[1, "Open"], [2, "Closed"], [3, "On hold"]]}]
        }))
        .unwrap();
        let items = [
            (
                "artists",
                json!({"soft_delete": true, "fields": [{"name": "name", "type": "text", "size": 50}]}),
            ),
            (
                "albums",
                json!({"soft_delete": true, "fields": [
                    {"name": "title", "type": "text", "size": 100},
                    {"name": "artist", "type": "integer", "lookup": {"item": "artists", "field": "name"}}
                ]}),
            ),
            (
                "tracks",
                json!({"soft_delete": true, "fields": [
                    {"name": "name", "type": "text", "size": 100},
                    {"name": "album", "type": "integer", "lookup": {"item": "albums", "field": "title"}},
                    {"name": "artist", "type": "integer", "master_field": "album",
                     "lookup": {"item": "albums", "field": "artist", "field1": "name"}},
                    {"name": "unitprice", "type": "float"},
                    {"name": "status", "type": "integer", "lookup_values": "status"},
                    {"name": "sold", "type": "integer",
                     "calc": {"item": "lines", "field": "quantity", "link": "track", "op": "sum"}},
                    {"name": "released", "type": "date"},
                    {"name": "active", "type": "boolean"}
                ]}),
            ),
            (
                "customers",
                json!({"id": 20, "details": ["notes"], "fields": [
                    {"name": "lastname", "type": "text", "size": 50},
                    {"name": "firstname", "type": "text", "size": 50}
                ]}),
            ),
            (
                "invoices",
                json!({"id": 10, "soft_delete": true, "details": ["lines", "notes"],
                       "default_order": ["-invoice_date"], "fields": [
                    {"name": "customer", "type": "integer", "lookup": {"item": "customers", "field": "lastname"}},
                    {"name": "firstname", "type": "integer", "master_field": "customer",
                     "lookup": {"item": "customers", "field": "firstname"}},
                    {"name": "invoice_date", "type": "date"},
                    {"name": "total", "type": "currency"},
                    {"name": "paid", "type": "boolean"},
                    {"name": "quantity", "type": "integer",
                     "calc": {"item": "lines", "field": "quantity", "link": "invoice", "op": "sum"}},
                    {"name": "comment", "type": "text", "size": 200}
                ]}),
            ),
            (
                "lines",
                json!({"soft_delete": true, "master_field": "invoice", "details": ["allocations"], "fields": [
                    {"name": "invoice", "type": "integer"},
                    {"name": "track", "type": "integer",
                     "lookup": {"item": "tracks", "field": "album", "field1": "artist", "field2": "name"}},
                    {"name": "quantity", "type": "integer"}
                ]}),
            ),
            (
                "allocations",
                json!({"master_field": "line", "fields": [
                    {"name": "line", "type": "integer"},
                    {"name": "amount", "type": "integer"}
                ]}),
            ),
            (
                "notes",
                json!({"master_id": "owner_type", "master_rec_id": "owner_id", "fields": [
                    {"name": "text", "type": "text", "size": 200}
                ]}),
            ),
        ];
        let mut items: Vec<(String, ItemFile)> = items
            .into_iter()
            .map(|(n, j)| (n.to_string(), serde_json::from_value(j).unwrap()))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        ProjectFiles { task, items }
            .resolve(Path::new("/nonexistent/jamrs-builder-tests"))
            .unwrap_or_else(|e| panic!("the test project is invalid:\n{e}"))
    })
}

fn item(name: &str) -> &'static Item {
    task().item_by_name(name).unwrap()
}

fn params(p: Json) -> OpenParams {
    serde_json::from_value(p).unwrap()
}

fn resolve(item_name: &str, p: Json) -> Result<OpenQuery, Error> {
    OpenQuery::resolve(task(), item(item_name), &params(p), &task().unrestricted)
}

fn query(item_name: &str, p: Json) -> OpenQuery {
    resolve(item_name, p).unwrap_or_else(|e| panic!("resolve failed: {e} {:?}", e.fields))
}

/// Every item `q`'s calculated fields reach (and their masters), held to no filters: what the
/// engine passes when no `on_open` adds any.
fn unfiltered(q: &OpenQuery) -> CalcFilters {
    let mut out = CalcFilters::new();
    let mut todo = calculated_items(task(), q);
    while let Some(id) = todo.pop() {
        if !out.contains(id) {
            out.insert(id, Vec::new());
            todo.extend(task().item(id).masters.iter().copied());
        }
    }
    out
}

/// The SELECT of `q` on dialect `d`, seeing every tenant, with no `on_open` filters.
fn select_all(d: &dyn Dialect, q: &OpenQuery) -> Select {
    select(d, task(), q, &ALL, &unfiltered(q))
}

/// The SELECT on the `?` dialect.
fn sql(item_name: &str, p: Json) -> Sql {
    select_all(&Question, &query(item_name, p)).sql
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The `WHERE` conditions of a one-filter open of `tracks` (after the soft-delete flag and
/// before the order), the joins before them, and the bound values without LIMIT and OFFSET.
fn track_filter(filter: Json) -> (String, String, Vec<Value>) {
    let s = sql("tracks", json!({"fields": ["id"], "filters": [filter]}));
    let head = "SELECT t.\"id\" FROM \"tracks\" AS t";
    let mid = " WHERE 1=1 AND t.\"deleted\" = 0 AND ";
    let tail = " ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?";
    assert!(s.text.starts_with(head), "{}", s.text);
    assert!(s.text.ends_with(tail), "{}", s.text);
    let at = s.text.find(mid).unwrap_or_else(|| panic!("{}", s.text));
    let joins = s.text[head.len()..at].to_string();
    let cond = s.text[at + mid.len()..s.text.len() - tail.len()].to_string();
    let n = s.params.len();
    assert_eq!(
        s.params[n - 2..],
        [int(100), int(0)],
        "limit and offset come last"
    );
    (joins, cond, s.params[..n - 2].to_vec())
}

fn bad(item_name: &str, p: Json, field: &str) -> Error {
    let e = resolve(item_name, p.clone()).expect_err(&format!("{p} should be rejected"));
    assert_eq!(e.kind, Kind::BadRequest, "{e}");
    assert_eq!(
        e.fields.first().map(|f| f.field.as_str()),
        Some(field),
        "{p}: {e}"
    );
    e
}

// ---------------------------------------------------------------------------------------------
// Filters 1–15

#[test]
fn comparison_filters() {
    let cases: [(i64, &str, &str); 6] = [
        (1, "eq", "t.\"unitprice\" = ?"),
        (2, "ne", "t.\"unitprice\" IS DISTINCT FROM ?"),
        (3, "lt", "t.\"unitprice\" < ?"),
        (4, "le", "t.\"unitprice\" <= ?"),
        (5, "gt", "t.\"unitprice\" > ?"),
        (6, "ge", "t.\"unitprice\" >= ?"),
    ];
    for (n, name, expected) in cases {
        for op in [json!(n), json!(name), json!(name.to_uppercase())] {
            let (joins, cond, p) = track_filter(json!(["unitprice", op, 2.5]));
            assert_eq!(joins, "");
            assert_eq!(cond, expected, "filter type {op}");
            assert_eq!(p, [Value::Float(2.5)]);
        }
    }
    let (_, cond, p) = track_filter(json!(["name", 11, "Help!"]));
    assert_eq!(cond, "t.\"name\" = ?");
    assert_eq!(p, [text("Help!")]);
    let (_, cond, _) = track_filter(json!(["name", "exact", "Help!"]));
    assert_eq!(cond, "t.\"name\" = ?");
}

#[test]
fn values_are_typed_for_the_column() {
    let (_, cond, p) = track_filter(json!(["released", "ge", "2024-02-29"]));
    assert_eq!(cond, "t.\"released\" >= ?");
    assert_eq!(p, [text("2024-02-29")]);
    let (_, _, p) = track_filter(json!(["active", 1, true]));
    assert_eq!(p, [Value::Bool(true)]);
    let (_, _, p) = track_filter(json!(["unitprice", 1, 3]));
    assert_eq!(p, [Value::Float(3.0)]);
    // The 4th element the Jam.py client adds is a marker without meaning for the server.
    let (_, cond, p) = track_filter(json!(["id", 1, 7, -2]));
    assert_eq!(cond, "t.\"id\" = ?");
    assert_eq!(p, [int(7)]);
}

#[test]
fn in_lists_are_bound_value_by_value() {
    let (_, cond, p) = track_filter(json!(["id", 7, [3, 1, 2]]));
    assert_eq!(cond, "t.\"id\" IN (?, ?, ?)");
    assert_eq!(p, [int(3), int(1), int(2)]);
    let (_, cond, p) = track_filter(json!(["id", "not_in", [4]]));
    assert_eq!(cond, "t.\"id\" NOT IN (?)");
    assert_eq!(p, [int(4)]);
}

#[test]
fn in_list_injection_stays_a_value() {
    // Reference §7.1: `["customer", 7, ["0) OR 1=1 --"]]` returned every row in Jam.py.
    let attack = "0) OR 1=1 --";
    let (_, cond, p) = track_filter(json!(["name", 7, [attack, "x"]]));
    assert_eq!(cond, "t.\"name\" IN (?, ?)");
    assert_eq!(p, [text(attack), text("x")]);
    let s = sql("tracks", json!({"filters": [["name", 8, [attack]]]}));
    assert!(!s.text.contains("OR 1=1"), "{}", s.text);
    assert_eq!(s.params[0], text(attack));
    // On an integer column the text is not even a value.
    bad(
        "tracks",
        json!({"filters": [["id", 7, [attack]]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["id", 7, [1, "2"]]]}),
        "filters[0]",
    );
}

#[test]
fn empty_in_lists() {
    let (_, cond, p) = track_filter(json!(["id", 7, []]));
    assert_eq!(cond, "1=0");
    assert!(p.is_empty());
    let (_, cond, p) = track_filter(json!(["id", 8, []]));
    assert_eq!(cond, "1=1");
    assert!(p.is_empty());
}

#[test]
fn range_and_isnull() {
    let (_, cond, p) = track_filter(json!(["released", 9, ["2024-01-01", "2024-12-31"]]));
    assert_eq!(cond, "t.\"released\" BETWEEN ? AND ?");
    assert_eq!(p, [text("2024-01-01"), text("2024-12-31")]);
    for (v, expected) in [
        (json!(true), "t.\"album\" IS NULL"),
        (json!(1), "t.\"album\" IS NULL"),
        (json!(false), "t.\"album\" IS NOT NULL"),
        (json!(0), "t.\"album\" IS NOT NULL"),
        (json!(null), "t.\"album\" IS NOT NULL"),
    ] {
        let (joins, cond, p) = track_filter(json!(["album", 10, v]));
        assert_eq!(
            (joins.as_str(), cond.as_str()),
            ("", expected),
            "isnull {v}"
        );
        assert!(p.is_empty());
    }
}

#[test]
fn like_filters_escape_wildcards() {
    let (_, cond, p) = track_filter(json!(["name", 12, "50%_Off\\"]));
    assert_eq!(cond, "LOWER(t.\"name\") LIKE ? ESCAPE '\\'");
    assert_eq!(p, [text("%50\\%\\_off\\\\%")]);
    let (_, cond, p) = track_filter(json!(["name", "startwith", "A_b"]));
    assert_eq!(cond, "LOWER(t.\"name\") LIKE ? ESCAPE '\\'");
    assert_eq!(p, [text("a\\_b%")]);
    let (_, cond, p) = track_filter(json!(["name", 14, "100%"]));
    assert_eq!(cond, "LOWER(t.\"name\") LIKE ? ESCAPE '\\'");
    assert_eq!(p, [text("%100\\%")]);
}

#[test]
fn contains_all_splits_words() {
    let (_, cond, p) = track_filter(json!(["name", 15, "  Let it\tBE "]));
    let one = "LOWER(t.\"name\") LIKE ? ESCAPE '\\'";
    assert_eq!(cond, format!("({one} AND {one} AND {one})"));
    assert_eq!(p, [text("%let%"), text("%it%"), text("%be%")]);
    let (_, cond, p) = track_filter(json!(["name", "contains_all", "   "]));
    assert_eq!(cond, "1=1");
    assert!(p.is_empty());
}

#[test]
fn like_filters_on_a_lookup_list_match_its_texts() {
    // status: 1 Open, 2 Closed, 3 On hold. The stored value is the number.
    let (joins, cond, p) = track_filter(json!(["status", 12, "O"]));
    assert_eq!(joins, "");
    assert_eq!(cond, "t.\"status\" IN (?, ?, ?)");
    assert_eq!(p, [int(1), int(2), int(3)]);
    let (_, cond, p) = track_filter(json!(["status", "startwith", "o"]));
    assert_eq!(cond, "t.\"status\" IN (?, ?)");
    assert_eq!(p, [int(1), int(3)]);
    let (_, cond, p) = track_filter(json!(["status", "contains", "zzz"]));
    assert_eq!(cond, "1=0");
    assert!(p.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Lookup filters 16–30

#[test]
fn lookup_filters_compare_the_lookup_text() {
    let join = " LEFT JOIN \"albums\" AS j1 ON t.\"album\" = j1.\"id\"";
    let like = "LOWER(j1.\"title\") LIKE ? ESCAPE '\\'";
    let cases: Vec<(i64, &str, Json, String, Vec<Value>)> = vec![
        (
            16,
            "eq_l",
            json!("Abbey Road"),
            "j1.\"title\" = ?".into(),
            vec![text("Abbey Road")],
        ),
        (
            17,
            "ne_l",
            json!("Abbey Road"),
            "j1.\"title\" IS DISTINCT FROM ?".into(),
            vec![text("Abbey Road")],
        ),
        (
            18,
            "lt_l",
            json!("M"),
            "j1.\"title\" < ?".into(),
            vec![text("M")],
        ),
        (
            19,
            "le_l",
            json!("M"),
            "j1.\"title\" <= ?".into(),
            vec![text("M")],
        ),
        (
            20,
            "gt_l",
            json!("M"),
            "j1.\"title\" > ?".into(),
            vec![text("M")],
        ),
        (
            21,
            "ge_l",
            json!("M"),
            "j1.\"title\" >= ?".into(),
            vec![text("M")],
        ),
        (
            22,
            "in_l",
            json!(["A", "B"]),
            "j1.\"title\" IN (?, ?)".into(),
            vec![text("A"), text("B")],
        ),
        (
            23,
            "not_in_l",
            json!(["A"]),
            "j1.\"title\" NOT IN (?)".into(),
            vec![text("A")],
        ),
        (
            24,
            "range_l",
            json!(["A", "M"]),
            "j1.\"title\" BETWEEN ? AND ?".into(),
            vec![text("A"), text("M")],
        ),
        (
            25,
            "isnull_l",
            json!(true),
            "j1.\"title\" IS NULL".into(),
            vec![],
        ),
        (
            26,
            "exact_l",
            json!("Help!"),
            "j1.\"title\" = ?".into(),
            vec![text("Help!")],
        ),
        (
            27,
            "contains_l",
            json!("Ro_d"),
            like.into(),
            vec![text("%ro\\_d%")],
        ),
        (
            28,
            "startwith_l",
            json!("Ab"),
            like.into(),
            vec![text("ab%")],
        ),
        (
            29,
            "endwith_l",
            json!("Road"),
            like.into(),
            vec![text("%road")],
        ),
        (
            30,
            "contains_all_l",
            json!("abbey road"),
            format!("({like} AND {like})"),
            vec![text("%abbey%"), text("%road%")],
        ),
    ];
    for (n, name, value, expected, expected_params) in cases {
        for op in [json!(n), json!(name)] {
            let (joins, cond, p) = track_filter(json!(["album", op, value]));
            assert_eq!(joins, join, "filter type {op}");
            assert_eq!(cond, expected, "filter type {op}");
            assert_eq!(p, expected_params, "filter type {op}");
        }
    }
}

#[test]
fn like_filters_on_lookup_fields_search_the_text() {
    // Jam.py does the same for 12–15 on a lookup field: the key is never LIKE-compared.
    let (joins, cond, p) = track_filter(json!(["album", 12, "Road"]));
    assert_eq!(
        joins,
        " LEFT JOIN \"albums\" AS j1 ON t.\"album\" = j1.\"id\""
    );
    assert_eq!(cond, "LOWER(j1.\"title\") LIKE ? ESCAPE '\\'");
    assert_eq!(p, [text("%road%")]);
    // Other types on a lookup field compare the stored key.
    let (joins, cond, p) = track_filter(json!(["album", 1, 4]));
    assert_eq!((joins.as_str(), cond.as_str()), ("", "t.\"album\" = ?"));
    assert_eq!(p, [int(4)]);
}

#[test]
fn lookup_filter_joins_every_level_without_expanded() {
    // The master-field `artist` shows albums.artist → artists.name (two levels).
    let (joins, cond, p) = track_filter(json!(["artist", "eq_l", "Queen"]));
    assert_eq!(
        joins,
        " LEFT JOIN \"albums\" AS j1 ON t.\"album\" = j1.\"id\" \
         LEFT JOIN \"artists\" AS j2 ON j1.\"artist\" = j2.\"id\""
    );
    assert_eq!(cond, "j2.\"name\" = ?");
    assert_eq!(p, [text("Queen")]);
    // A plain filter on a master-field field compares its master's column.
    let (joins, cond, p) = track_filter(json!(["artist", "eq", 3]));
    assert_eq!((joins.as_str(), cond.as_str()), ("", "t.\"album\" = ?"));
    assert_eq!(p, [int(3)]);
}

#[test]
fn lookup_filters_and_text_columns_share_joins() {
    let s = sql(
        "tracks",
        json!({"fields": ["id", "album", "artist"], "expanded": true,
               "filters": [["album", 27, "x"], ["artist", 16, "y"]]}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\", t.\"album\", j1.\"title\", j2.\"name\" FROM \"tracks\" AS t \
         LEFT JOIN \"albums\" AS j1 ON t.\"album\" = j1.\"id\" \
         LEFT JOIN \"artists\" AS j2 ON j1.\"artist\" = j2.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 AND LOWER(j1.\"title\") LIKE ? ESCAPE '\\' \
         AND j2.\"name\" = ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [text("%x%"), text("y"), int(100), int(0)]);
}

#[test]
fn lookup_types_apply_only_to_lookup_fields() {
    bad(
        "tracks",
        json!({"filters": [["name", 16, "x"]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", "contains_l", "x"]]}),
        "filters[0]",
    );
}

// ---------------------------------------------------------------------------------------------
// OR groups

#[test]
fn or_groups() {
    let (_, cond, p) = track_filter(json!([
        [["unitprice", 5, 1]],
        [["name", 12, "x"], ["id", 3, 9]]
    ]));
    assert_eq!(
        cond,
        "((t.\"unitprice\" > ?) OR (LOWER(t.\"name\") LIKE ? ESCAPE '\\' AND t.\"id\" < ?))"
    );
    assert_eq!(p, [Value::Float(1.0), text("%x%"), int(9)]);
}

#[test]
fn nested_or_groups() {
    let inner = json!([[["id", 1, 1]], [["id", 1, 2]]]);
    let (_, cond, p) = track_filter(json!([[inner], [["album", 10, true]]]));
    assert_eq!(
        cond,
        "((((t.\"id\" = ?) OR (t.\"id\" = ?))) OR (t.\"album\" IS NULL))"
    );
    assert_eq!(p, [int(1), int(2)]);
    // An OR group and plain filters are AND-ed, in request order.
    let s = sql(
        "tracks",
        json!({"fields": ["id"], "filters": [["id", 5, 0], [[["id", 1, 1]], [["id", 1, 2]]]]}),
    );
    assert!(
        s.text.contains(
            "WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"id\" > ? AND ((t.\"id\" = ?) OR (t.\"id\" = ?)) ORDER BY"
        ),
        "{}",
        s.text
    );
    assert_eq!(s.params, [int(0), int(1), int(2), int(100), int(0)]);
}

#[test]
fn lookup_filter_inside_an_or_group_is_joined() {
    let (joins, cond, _) = track_filter(json!([[["name", 1, "a"]], [["album", 16, "b"]]]));
    assert_eq!(
        joins,
        " LEFT JOIN \"albums\" AS j1 ON t.\"album\" = j1.\"id\""
    );
    assert_eq!(cond, "((t.\"name\" = ?) OR (j1.\"title\" = ?))");
}

// ---------------------------------------------------------------------------------------------
// Columns, joins, calculated fields

#[test]
fn plain_open_selects_stored_fields_in_request_order() {
    let s = sql(
        "tracks",
        json!({"fields": ["name", "id", "album", "artist", "sold"]}),
    );
    // Not expanded: the master-field and calculated fields have no column of their own.
    assert_eq!(
        s.text,
        "SELECT t.\"name\", t.\"id\", t.\"album\" FROM \"tracks\" AS t \
         WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(100), int(0)]);
}

#[test]
fn all_fields_but_the_deleted_flag() {
    let sel = select_all(&Question, &query("customers", json!({})));
    assert_eq!(
        sel.sql.text,
        "SELECT t.\"id\", t.\"lastname\", t.\"firstname\" FROM \"customers\" AS t \
         WHERE 1=1 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    let sel = select_all(&Question, &query("artists", json!({"fields": []})));
    assert_eq!(
        sel.sql.text,
        "SELECT t.\"id\", t.\"name\" FROM \"artists\" AS t \
         WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    let names: Vec<&str> = sel.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name"]);
}

#[test]
fn expanded_layout_is_values_then_calculated_then_lookup_texts() {
    let sel = select_all(
        &Question,
        &query(
            "invoices",
            json!({"fields": ["firstname", "id", "quantity", "customer", "total"], "expanded": true,
                   "order": ["id"]}),
        ),
    );
    assert_eq!(
        sel.sql.text,
        "SELECT t.\"id\", t.\"customer\", t.\"total\", \
         (SELECT COALESCE(SUM(c6.\"quantity\"), 0) FROM \"lines\" AS c6 \
         WHERE c6.\"invoice\" = t.\"id\" AND c6.\"deleted\" = 0), \
         j1.\"firstname\", j1.\"lastname\" FROM \"invoices\" AS t \
         LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    let layout: Vec<(&str, ColumnKind, FieldType)> = sel
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind, c.value_type))
        .collect();
    assert_eq!(
        layout,
        [
            ("id", ColumnKind::Value, FieldType::Integer),
            ("customer", ColumnKind::Value, FieldType::Integer),
            ("total", ColumnKind::Value, FieldType::Currency),
            ("quantity", ColumnKind::Calc, FieldType::Integer),
            ("firstname.text", ColumnKind::LookupText, FieldType::Text),
            ("customer.text", ColumnKind::LookupText, FieldType::Text),
        ]
    );
}

#[test]
fn three_level_lookup() {
    let sel = select_all(
        &Question,
        &query(
            "lines",
            json!({"fields": ["id", "track"], "expanded": true,
                   "master": {"item": "invoices", "id": 7}}),
        ),
    );
    assert_eq!(
        sel.sql.text,
        "SELECT t.\"id\", t.\"track\", j3.\"name\" FROM \"lines\" AS t \
         LEFT JOIN \"tracks\" AS j1 ON t.\"track\" = j1.\"id\" \
         LEFT JOIN \"albums\" AS j2 ON j1.\"album\" = j2.\"id\" \
         LEFT JOIN \"artists\" AS j3 ON j2.\"artist\" = j3.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"invoice\" = ? \
         ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(sel.sql.params, [int(7), int(100), int(0)]);
    assert_eq!(sel.columns[2].name, "track.text");
    assert_eq!(sel.columns[2].kind, ColumnKind::LookupText);
}

#[test]
fn lookup_levels_share_their_prefix_joins() {
    // albums.title (1 level) and albums.artist → artists.name (2 levels) start with the same
    // join; a three-level lookup from lines reaches the same tables under its own aliases.
    let sel = select_all(
        &Question,
        &query(
            "tracks",
            json!({"fields": ["artist", "album", "id"], "expanded": true, "order": ["id"]}),
        ),
    );
    assert_eq!(
        sel.sql.text,
        "SELECT t.\"album\", t.\"id\", j2.\"name\", j1.\"title\" FROM \"tracks\" AS t \
         LEFT JOIN \"albums\" AS j1 ON t.\"album\" = j1.\"id\" \
         LEFT JOIN \"artists\" AS j2 ON j1.\"artist\" = j2.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    let names: Vec<&str> = sel.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["album", "id", "artist.text", "album.text"]);
}

#[test]
fn calculated_field_in_filters_and_order() {
    let calc = "(SELECT COALESCE(SUM(c6.\"quantity\"), 0) FROM \"lines\" AS c6 \
                WHERE c6.\"track\" = t.\"id\" AND c6.\"deleted\" = 0)";
    let (_, cond, p) = track_filter(json!(["sold", 5, 10]));
    assert_eq!(cond, format!("{calc} > ?"));
    assert_eq!(p, [int(10)]);
    let s = sql("tracks", json!({"fields": ["id"], "order": ["-sold"]}));
    assert_eq!(
        s.text,
        format!(
            "SELECT t.\"id\" FROM \"tracks\" AS t WHERE 1=1 AND t.\"deleted\" = 0 \
             ORDER BY {calc} DESC, t.\"id\" ASC LIMIT ? OFFSET ?"
        )
    );
}

#[test]
fn an_open_needs_a_column_to_select() {
    // Calculated and master-field fields have no column of their own: without expanded there
    // would be nothing to SELECT.
    let e = bad("tracks", json!({"fields": ["sold", "artist"]}), "fields");
    assert!(e.message.contains("expanded"), "{e}");
    let sel = select_all(
        &Question,
        &query("tracks", json!({"fields": ["sold"], "expanded": true})),
    );
    assert_eq!(sel.columns.len(), 1);
    assert!(sel.sql.text.starts_with("SELECT (SELECT COALESCE("));
}

// ---------------------------------------------------------------------------------------------
// Soft delete and detail links

#[test]
fn the_deleted_flag_is_always_in_where_and_never_a_client_field() {
    let s = sql("artists", json!({"filters": [["name", 1, "x"]]}));
    assert!(
        s.text
            .contains("WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"name\" = ?"),
        "{}",
        s.text
    );
    bad(
        "artists",
        json!({"filters": [["deleted", 1, 1]]}),
        "filters[0]",
    );
    bad(
        "artists",
        json!({"filters": [["deleted", "isnull", false]]}),
        "filters[0]",
    );
    bad(
        "artists",
        json!({"filters": [[[["deleted", 1, 1]]]]}),
        "filters[0][0][0]",
    );
    bad("artists", json!({"fields": ["id", "deleted"]}), "fields[1]");
    bad("artists", json!({"order": ["deleted"]}), "order[0]");
    bad(
        "artists",
        json!({"group_by": ["deleted"], "summary": true}),
        "group_by[0]",
    );
    bad(
        "artists",
        json!({"funcs": {"deleted": "max"}}),
        "funcs.deleted",
    );
    bad("artists", json!({"search": ["deleted", "1"]}), "search");
}

#[test]
fn detail_open_by_master_field() {
    let s = sql(
        "lines",
        json!({"fields": ["id", "quantity"], "master": {"item": "invoices", "id": 42}}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\", t.\"quantity\" FROM \"lines\" AS t \
         WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"invoice\" = ? \
         ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(42), int(100), int(0)]);
    // The key alone names the one master.
    assert_eq!(
        sql("lines", json!({"fields": ["id", "quantity"], "master": 42})),
        s
    );
}

#[test]
fn detail_open_by_master_id_and_rec_id() {
    for (master, number) in [("invoices", 10), ("customers", 20)] {
        let s = sql(
            "notes",
            json!({"fields": ["id", "text"], "master": {"item": master, "id": 5},
                   "filters": [["text", 1, "x"]]}),
        );
        assert_eq!(
            s.text,
            "SELECT t.\"id\", t.\"text\" FROM \"notes\" AS t \
             WHERE 1=1 AND t.\"owner_type\" = ? AND t.\"owner_id\" = ? AND t.\"text\" = ? \
             ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
        );
        assert_eq!(s.params, [int(number), int(5), text("x"), int(100), int(0)]);
    }
}

// ---------------------------------------------------------------------------------------------
// Order, paging

#[test]
fn order_and_paging() {
    let s = sql(
        "invoices",
        json!({"fields": ["id"], "order": [["total", true], "-paid", ["invoice_date"]],
               "limit": 5, "offset": 10}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\" FROM \"invoices\" AS t WHERE 1=1 AND t.\"deleted\" = 0 \
         ORDER BY t.\"total\" DESC, t.\"paid\" DESC, t.\"invoice_date\" ASC, t.\"id\" ASC \
         LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(5), int(10)]);
    // Jam.py's [name, 1] means descending too.
    let s = sql(
        "invoices",
        json!({"fields": ["id"], "order": [["total", 1]]}),
    );
    assert!(
        s.text.contains("ORDER BY t.\"total\" DESC, t.\"id\" ASC"),
        "{}",
        s.text
    );
}

#[test]
fn default_order_applies_when_none_is_given() {
    let s = sql("invoices", json!({"fields": ["id"]}));
    assert!(
        s.text
            .ends_with("ORDER BY t.\"invoice_date\" DESC, t.\"id\" ASC LIMIT ? OFFSET ?"),
        "{}",
        s.text
    );
}

#[test]
fn ordering_by_the_key_needs_no_tiebreak() {
    let s = sql("invoices", json!({"fields": ["id"], "order": ["-id"]}));
    assert!(
        s.text.ends_with("ORDER BY t.\"id\" DESC LIMIT ? OFFSET ?"),
        "{}",
        s.text
    );
}

#[test]
fn order_by_lookup_text_only_when_expanded() {
    let s = sql(
        "invoices",
        json!({"fields": ["id"], "order": ["firstname"]}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\" FROM \"invoices\" AS t WHERE 1=1 AND t.\"deleted\" = 0 \
         ORDER BY t.\"customer\" ASC, t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    let s = sql(
        "invoices",
        json!({"fields": ["id"], "order": ["firstname", "-customer"], "expanded": true}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\" FROM \"invoices\" AS t \
         LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 \
         ORDER BY j1.\"firstname\" ASC, j1.\"lastname\" DESC, t.\"id\" ASC LIMIT ? OFFSET ?"
    );
}

#[test]
fn limit_defaults_to_the_maximum_and_is_bound() {
    for (limit, expected) in [
        (json!(null), 100),
        (json!(0), 100),
        (json!(1), 1),
        (json!(100), 100),
    ] {
        let s = sql("artists", json!({"limit": limit, "offset": 3}));
        assert_eq!(s.params, [int(expected), int(3)], "limit {limit}");
        assert!(s.text.ends_with("LIMIT ? OFFSET ?"));
    }
}

// ---------------------------------------------------------------------------------------------
// Aggregates

#[test]
fn summary_and_funcs() {
    let sel = select_all(
        &Question,
        &query(
            "invoices",
            json!({"fields": ["id", "total", "customer", "invoice_date"], "summary": true,
                   "funcs": {"total": "sum", "customer": "COUNT", "invoice_date": "max"},
                   "filters": [["paid", 1, false]]}),
        ),
    );
    // No GROUP BY: one row, so no order (the default order is dropped) and no paging.
    assert_eq!(
        sel.sql.text,
        "SELECT COUNT(*), SUM(t.\"total\"), COUNT(t.\"customer\"), MAX(t.\"invoice_date\") \
         FROM \"invoices\" AS t WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"paid\" = ?"
    );
    assert_eq!(sel.sql.params, [Value::Bool(false)]);
    let kinds: Vec<(ColumnKind, FieldType)> =
        sel.columns.iter().map(|c| (c.kind, c.value_type)).collect();
    assert_eq!(
        kinds,
        [
            (ColumnKind::Count, FieldType::Integer),
            (ColumnKind::Agg(jamrs_core::Agg::Sum), FieldType::Currency),
            (ColumnKind::Agg(jamrs_core::Agg::Count), FieldType::Integer),
            (ColumnKind::Agg(jamrs_core::Agg::Max), FieldType::Date),
        ]
    );
    let sel = select_all(
        &Question,
        &query(
            "tracks",
            json!({"fields": ["unitprice"], "funcs": {"unitprice": "avg"}}),
        ),
    );
    assert_eq!(
        sel.sql.text,
        "SELECT AVG(t.\"unitprice\") FROM \"tracks\" AS t WHERE 1=1 AND t.\"deleted\" = 0"
    );
    assert_eq!(sel.columns[0].value_type, FieldType::Float);
}

#[test]
fn group_by_with_lookup_text() {
    let sel = select_all(
        &Question,
        &query(
            "invoices",
            json!({"fields": ["customer", "total"], "funcs": {"total": "sum"},
                   "group_by": ["customer"], "expanded": true, "order": [["total", true]],
                   "limit": 10}),
        ),
    );
    assert_eq!(
        sel.sql.text,
        "SELECT t.\"customer\", SUM(t.\"total\"), j1.\"lastname\" FROM \"invoices\" AS t \
         LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 GROUP BY t.\"customer\", j1.\"lastname\" \
         ORDER BY SUM(t.\"total\") DESC LIMIT ? OFFSET ?"
    );
    assert_eq!(sel.sql.params, [int(10), int(0)]);
    let names: Vec<&str> = sel.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["customer", "total", "customer.text"]);
    // Ordering by a grouped lookup field uses its text when expanded.
    let s = sql(
        "invoices",
        json!({"fields": ["customer", "total"], "funcs": {"total": "sum"},
               "group_by": ["customer"], "expanded": true, "order": ["-customer"]}),
    );
    assert!(
        s.text.contains("ORDER BY j1.\"lastname\" DESC LIMIT"),
        "{}",
        s.text
    );
}

#[test]
fn group_by_a_lookup_field_that_is_not_selected() {
    // Regression: the join for a GROUP BY lookup text was only planned for selected fields,
    // so grouping by an unselected lookup field with expanded panicked in the builder.
    let sel = select_all(
        &Question,
        &query(
            "invoices",
            json!({"fields": ["total"], "funcs": {"total": "sum"}, "group_by": ["customer"],
                   "expanded": true}),
        ),
    );
    assert_eq!(
        sel.sql.text,
        "SELECT SUM(t.\"total\") FROM \"invoices\" AS t \
         LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 GROUP BY t.\"customer\", j1.\"lastname\" \
         LIMIT ? OFFSET ?"
    );
    assert_eq!(sel.columns.len(), 1);
}

#[test]
fn default_order_of_a_grouped_open() {
    // Regression: the default order (`-invoice_date`) was checked like a client's order, so
    // every grouped open of invoices that did not group by invoice_date was refused.
    let s = sql(
        "invoices",
        json!({"fields": ["customer", "total"], "funcs": {"total": "sum"}, "group_by": ["customer"]}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"customer\", SUM(t.\"total\") FROM \"invoices\" AS t \
         WHERE 1=1 AND t.\"deleted\" = 0 GROUP BY t.\"customer\" LIMIT ? OFFSET ?"
    );
    // When it names a grouped field, it still applies.
    let s = sql(
        "invoices",
        json!({"fields": ["invoice_date", "total"], "funcs": {"total": "sum"},
               "group_by": ["invoice_date"]}),
    );
    assert!(
        s.text.ends_with(
            "GROUP BY t.\"invoice_date\" ORDER BY t.\"invoice_date\" DESC LIMIT ? OFFSET ?"
        ),
        "{}",
        s.text
    );
}

#[test]
fn group_by_without_expanded() {
    let s = sql(
        "tracks",
        json!({"fields": ["album", "id"], "funcs": {"id": "count"}, "group_by": ["album"]}),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"album\", COUNT(t.\"id\") FROM \"tracks\" AS t \
         WHERE 1=1 AND t.\"deleted\" = 0 GROUP BY t.\"album\" LIMIT ? OFFSET ?"
    );
}

// ---------------------------------------------------------------------------------------------
// Numbered placeholders

#[test]
fn numbered_placeholders_follow_text_order() {
    let q = query(
        "lines",
        json!({"fields": ["id", "track"], "expanded": true, "master": 3,
               "filters": [["quantity", 9, [1, 5]], ["track", 30, "a b"],
                           [[["id", 2, 4]], [["id", 7, [8, 9]]]]],
               "limit": 20, "offset": 40}),
    );
    let s = select_all(&Dollar, &q).sql;
    assert_eq!(
        s.text,
        "SELECT t.\"id\", t.\"track\", j3.\"name\" FROM \"lines\" AS t \
         LEFT JOIN \"tracks\" AS j1 ON t.\"track\" = j1.\"id\" \
         LEFT JOIN \"albums\" AS j2 ON j1.\"album\" = j2.\"id\" \
         LEFT JOIN \"artists\" AS j3 ON j2.\"artist\" = j3.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"invoice\" = $1 \
         AND t.\"quantity\" BETWEEN $2 AND $3 \
         AND (j3.\"name\" ILIKE $4 ESCAPE '\\' AND j3.\"name\" ILIKE $5 ESCAPE '\\') \
         AND ((t.\"id\" IS DISTINCT FROM $6) OR (t.\"id\" IN ($7, $8))) \
         ORDER BY t.\"id\" ASC LIMIT $9 OFFSET $10"
    );
    // The `$n` dialect does not fold case: the pattern is passed as typed.
    assert_eq!(
        s.params,
        [
            int(3),
            int(1),
            int(5),
            text("%a%"),
            text("%b%"),
            int(4),
            int(8),
            int(9),
            int(20),
            int(40)
        ]
    );
}

#[test]
fn write_statements_number_their_values() {
    let lines = item("lines");
    let f = |n: &str| lines.field_by_name(n).unwrap().id;
    let link = Some(Link {
        master_number: None,
        master_id: &jamrs_core::Key::Int(7),
    });
    let s = update(
        &Dollar,
        lines,
        &jamrs_core::Key::Int(5),
        &[(f("quantity"), int(2)), (f("track"), int(9))],
        link,
        &ALL,
        None,
    );
    assert_eq!(
        s.text,
        "UPDATE \"lines\" SET \"quantity\" = $1, \"track\" = $2 \
         WHERE \"id\" = $3 AND \"deleted\" = 0 AND \"invoice\" = $4"
    );
    assert_eq!(s.params, [int(2), int(9), int(5), int(7)]);
    let s = insert(
        &Dollar,
        lines,
        &[(f("invoice"), int(7)), (f("quantity"), int(1))],
    );
    assert_eq!(
        s.text,
        "INSERT INTO \"lines\" (\"invoice\", \"quantity\") VALUES ($1, $2) RETURNING \"id\""
    );
    let notes = item("notes");
    let link = Some(Link {
        master_number: Some(10),
        master_id: &jamrs_core::Key::Int(3),
    });
    let under = link.as_ref().map(Under::link).unwrap();
    let s = delete_under(&Dollar, notes, under, &ALL, false);
    assert_eq!(
        s.text,
        "DELETE FROM \"notes\" WHERE 1=1 AND \"owner_type\" = $1 AND \"owner_id\" = $2"
    );
    assert_eq!(s.params, [int(10), int(3)]);
    let s = delete_row(&Question, lines, &jamrs_core::Key::Int(4), link, &ALL, true);
    assert_eq!(
        s.text,
        "UPDATE \"lines\" SET \"deleted\" = 1 WHERE \"id\" = ? AND \"deleted\" = 0 AND \"invoice\" = ?"
    );
    assert_eq!(s.params, [int(4), int(3)]);
    let s = select_rows(
        &Question,
        item("artists"),
        Keys::chunks(&[jamrs_core::Key::Int(8)]).next().unwrap(),
        None,
        &ALL,
        RowLock::None,
    );
    assert_eq!(
        s.text,
        "SELECT \"id\", \"name\", \"deleted\" FROM \"artists\" WHERE \"id\" = ? AND \"deleted\" = 0"
    );
    let s = select_keys(
        &Question,
        lines,
        Under::link(&Link {
            master_number: None,
            master_id: &jamrs_core::Key::Int(2),
        }),
        &ALL,
    );
    assert_eq!(
        s.text,
        "SELECT \"id\" FROM \"lines\" WHERE 1=1 AND \"deleted\" = 0 AND \"invoice\" = ?"
    );
    let s = lookup_exists(
        &Question,
        item("customers"),
        &jamrs_core::Key::Int(6),
        &ALL,
        RowLock::None,
    );
    assert_eq!(s.text, "SELECT 1 FROM \"customers\" WHERE \"id\" = ?");
    assert_eq!(s.params, [int(6)]);
}

// ---------------------------------------------------------------------------------------------
// What resolve refuses

#[test]
fn resolve_rejects_unknown_names_and_types() {
    bad("tracks", json!({"fields": ["id", "nope"]}), "fields[1]");
    bad("tracks", json!({"filters": [["nope", 1, 1]]}), "filters[0]");
    bad(
        "tracks",
        json!({"filters": [["id", 1, 1], ["name", 99, "x"]]}),
        "filters[1]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", 0, "x"]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", 31, "x"]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", -1, "x"]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", 1.5, "x"]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", "like", "x"]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["name", null, "x"]]}),
        "filters[0]",
    );
    bad("tracks", json!({"order": ["nope"]}), "order[0]");
    bad(
        "tracks",
        json!({"group_by": ["nope"], "summary": true}),
        "group_by[0]",
    );
    bad("tracks", json!({"funcs": {"nope": "sum"}}), "funcs.nope");
    bad(
        "tracks",
        json!({"search": {"field": "nope", "text": "x"}}),
        "search",
    );
    // Open params are a closed set: a misspelt key is an error, not silently ignored.
    assert!(serde_json::from_value::<OpenParams>(json!({"__filters": []})).is_err());
}

#[test]
fn resolve_rejects_limits_over_the_maximum() {
    let e = bad("tracks", json!({"limit": 101}), "limit");
    assert!(e.message.contains("100"), "{e}");
    assert!(resolve("tracks", json!({"limit": 100})).is_ok());
    assert!(serde_json::from_value::<OpenParams>(json!({"limit": -1})).is_err());
    assert!(serde_json::from_value::<OpenParams>(json!({"limit": "10; DROP"})).is_err());
}

#[test]
fn resolve_rejects_funcs_outside_the_whitelist() {
    // Reference §7.2: Jam.py placed the func name before `(` verbatim.
    for f in [
        "(SELECT 1)+",
        "(SELECT COUNT(*) FROM customers) +",
        "group_concat",
        "",
        "sum ",
    ] {
        bad(
            "invoices",
            json!({"fields": ["total"], "funcs": {"total": f}}),
            "funcs.total",
        );
    }
    bad(
        "invoices",
        json!({"fields": ["total"], "funcs": {"total": 1}}),
        "funcs.total",
    );
    bad(
        "invoices",
        json!({"fields": ["comment"], "funcs": {"comment": "sum"}}),
        "funcs.comment",
    );
    bad(
        "invoices",
        json!({"fields": ["comment"], "funcs": {"comment": "avg"}}),
        "funcs.comment",
    );
    bad(
        "invoices",
        json!({"fields": ["paid"], "funcs": {"paid": "sum"}}),
        "funcs.paid",
    );
    // A master-field field shows a text; aggregating it is meaningless.
    bad(
        "invoices",
        json!({"fields": ["firstname"], "funcs": {"firstname": "max"}}),
        "funcs.firstname",
    );
    assert!(
        resolve(
            "invoices",
            json!({"fields": ["comment"], "funcs": {"comment": "max"}})
        )
        .is_ok()
    );
}

#[test]
fn resolve_requires_grouped_or_aggregated_columns() {
    bad(
        "invoices",
        json!({"fields": ["id", "total"], "funcs": {"total": "sum"}}),
        "fields",
    );
    bad(
        "invoices",
        json!({"fields": ["customer", "total"], "funcs": {"total": "sum"}, "group_by": ["customer"],
               "order": ["paid"]}),
        "order",
    );
    bad(
        "invoices",
        json!({"fields": ["quantity"], "group_by": ["quantity"]}),
        "group_by[0]",
    );
}

#[test]
fn resolve_checks_the_master() {
    let e = bad("lines", json!({}), "master");
    assert!(e.message.contains("invoices"), "{e}");
    bad("lines", json!({"master": null}), "master");
    bad("tracks", json!({"master": 1}), "master");
    bad(
        "tracks",
        json!({"master": {"item": "albums", "id": 1}}),
        "master",
    );
    bad(
        "lines",
        json!({"master": {"item": "customers", "id": 1}}),
        "master.item",
    );
    bad(
        "lines",
        json!({"master": {"item": "nope", "id": 1}}),
        "master.item",
    );
    bad(
        "lines",
        json!({"master": {"item": "invoices", "id": "1"}}),
        "master.id",
    );
    bad(
        "lines",
        json!({"master": {"item": "invoices", "id": "1 OR 1=1"}}),
        "master.id",
    );
    bad(
        "lines",
        json!({"master": {"item": "invoices", "id": 1.5}}),
        "master.id",
    );
    bad(
        "lines",
        json!({"master": {"item": "invoices"}}),
        "master.id",
    );
    bad("lines", json!({"master": [1]}), "master.id");
    // Two masters: the client has to say which.
    bad("notes", json!({"master": 1}), "master.item");
    let q = query("notes", json!({"master": {"item": "customers", "id": 4}}));
    assert_eq!(
        q.master,
        Some(jamrs_core::query::MasterRef {
            item: item("customers").id,
            id: jamrs_core::Key::Int(4)
        })
    );
}

#[test]
fn resolve_limits_the_number_and_depth_of_filters() {
    let many: Vec<Json> = (0..501).map(|i| json!(["id", 1, i])).collect();
    let e = bad("tracks", json!({"filters": many}), "filters[500]");
    assert!(e.message.contains("more than 500 conditions"), "{e}");
    let enough: Vec<Json> = (0..500).map(|i| json!(["id", 1, i])).collect();
    assert!(resolve("tracks", json!({"filters": enough})).is_ok());
    // Members of OR groups count too, and so do empty ones (each is a condition, 1=1).
    let members: Vec<Json> = (0..550).map(|i| json!([["id", 1, i]])).collect();
    bad(
        "tracks",
        json!({"filters": [members]}),
        "filters[0][500][0]",
    );
    let empty: Vec<Json> = (0..501).map(|_| json!([])).collect();
    bad("tracks", json!({"filters": [empty]}), "filters[0][500]");
    let mut nested = json!(["id", 1, 1]);
    for _ in 0..4 {
        nested = json!([[nested]]);
    }
    assert!(resolve("tracks", json!({"filters": [nested.clone()]})).is_ok());
    let too_deep = json!([[nested]]);
    bad(
        "tracks",
        json!({"filters": [too_deep]}),
        "filters[0][0][0][0][0][0][0][0][0]",
    );
}

/// Issue 12: the budget belongs to the whole query. Words of contains_all and of a search are
/// conditions; values of every list, words and compared values count against one total; a
/// LIKE text is at most 10000 bytes.
#[test]
fn resolve_keeps_the_whole_query_within_its_budget() {
    let words = |n: usize| {
        (0..n)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        resolve(
            "tracks",
            json!({"filters": [["name", "contains_all", words(500)]]})
        )
        .is_ok()
    );
    bad(
        "tracks",
        json!({"filters": [["name", "contains_all", words(501)]]}),
        "filters[0]",
    );
    bad(
        "tracks",
        json!({"filters": [["id", 1, 1]], "search": ["name", words(500)]}),
        "search",
    );
    // Lists each under the total, together over it.
    let list = |n: i64| json!(["id", "in", (0..n).collect::<Vec<_>>()]);
    assert!(resolve("tracks", json!({"filters": [list(5000), list(5000)]})).is_ok());
    let e = bad(
        "tracks",
        json!({"filters": [list(5000), list(4999), ["name", "range", ["a", "b"]]]}),
        "filters[2]",
    );
    assert!(e.message.contains("more than 10000 values"), "{e}");
    bad("tracks", json!({"filters": [list(10_001)]}), "filters[0]");
    let long = "x".repeat(10_000);
    assert!(resolve("tracks", json!({"filters": [["name", "contains", long]]})).is_ok());
    let e = bad(
        "tracks",
        json!({"filters": [["name", "startwith", "x".repeat(10_001)]]}),
        "filters[0]",
    );
    assert!(e.message.contains("longer than 10000 bytes"), "{e}");
    bad(
        "tracks",
        json!({"search": {"field": "name", "text": "é".repeat(5001)}}),
        "search",
    );
}

/// Naming a field again in order or group_by changes nothing, so it adds nothing to the SQL.
#[test]
fn repeated_order_and_group_by_fields_are_written_once() {
    let q = query(
        "tracks",
        json!({"order": ["name", "-name", ["name", true], "id"]}),
    );
    assert_eq!(q.order.len(), 2);
    assert!(!q.order[0].desc, "the first mention wins");
    let group: Vec<&str> = vec!["customer"; 5000];
    let s = sql(
        "invoices",
        json!({"fields": ["customer", "total"], "funcs": {"total": "sum"}, "group_by": group,
               "expanded": true}),
    );
    assert!(
        s.text
            .contains("GROUP BY t.\"customer\", j1.\"lastname\" LIMIT"),
        "{}",
        s.text
    );
}

/// Issue 13 (fuzzer): a whole number written as a float is a whole number; null is absent.
#[test]
fn open_params_read_null_as_absent_and_whole_floats_as_integers() {
    let q = query("tracks", json!({"limit": 20.0, "offset": 788887.0}));
    assert_eq!((q.limit, q.offset), (20, 788_887));
    let absent = query("tracks", json!({}));
    let nulls = query(
        "tracks",
        json!({"fields": null, "filters": null, "order": null, "limit": null, "offset": null,
               "expanded": null, "funcs": null, "summary": null, "group_by": null,
               "master": null, "search": null, "params": null}),
    );
    assert_eq!(nulls, absent);
    for bad_count in [
        json!({"limit": 20.5}),
        json!({"offset": -1}),
        json!({"limit": "20"}),
    ] {
        let e = serde_json::from_value::<OpenParams>(bad_count.clone()).unwrap_err();
        assert!(
            e.to_string().contains("expected a whole number")
                || e.to_string().contains("expected a count"),
            "{bad_count}: {e}"
        );
    }
}

#[test]
fn resolve_rejects_bad_shapes() {
    let cases: Vec<(Json, &str)> = vec![
        (json!({"filters": ["id = 1"]}), "filters[0]"),
        (json!({"filters": [{"id": 1}]}), "filters[0]"),
        (json!({"filters": [["id", 1]]}), "filters[0]"),
        (json!({"filters": [["id", 1, 1, -1, 5]]}), "filters[0]"),
        (json!({"filters": [[1, 1, 1]]}), "filters[0]"),
        (json!({"filters": [["id", 1, null]]}), "filters[0]"),
        (json!({"filters": [["id", 1, "1"]]}), "filters[0]"),
        (json!({"filters": [["id", 1, [1]]]}), "filters[0]"),
        (json!({"filters": [["id", 7, 1]]}), "filters[0]"),
        (json!({"filters": [["id", 7, [1, null]]]}), "filters[0]"),
        (json!({"filters": [["id", 9, [1]]]}), "filters[0]"),
        (json!({"filters": [["id", 9, [1, 2, 3]]]}), "filters[0]"),
        (json!({"filters": [["id", 9, 1]]}), "filters[0]"),
        (json!({"filters": [["id", 10, {"a": 1}]]}), "filters[0]"),
        (json!({"filters": [["id", 10, [true]]]}), "filters[0]"),
        (json!({"filters": [["name", 12, ["x"]]]}), "filters[0]"),
        (json!({"filters": [["name", 15, null]]}), "filters[0]"),
        (
            json!({"filters": [["released", 1, "2024-02-30"]]}),
            "filters[0]",
        ),
        (
            json!({"filters": [["released", 1, "2024-01-01' OR 1=1"]]}),
            "filters[0]",
        ),
        (json!({"filters": [["active", 1, 2]]}), "filters[0]"),
        (json!({"filters": [[[["id", 1, 1]], "x"]]}), "filters[0][1]"),
        (
            json!({"filters": [[[["id", 1, 1]], [["nope", 1, 1]]]]}),
            "filters[0][1][0]",
        ),
        (json!({"order": [["id", "yes"]]}), "order[0]"),
        (json!({"order": [5]}), "order[0]"),
        (json!({"order": [[]]}), "order[0]"),
        (json!({"order": [["id", true, 1]]}), "order[0]"),
        (json!({"order": [{"id": true}]}), "order[0]"),
        (json!({"search": "abc"}), "search"),
        (
            json!({"search": {"field": "name", "text": ["a"]}}),
            "search",
        ),
    ];
    for (p, at) in cases {
        bad("tracks", p, at);
    }
}

#[test]
fn search_is_contains_all_on_one_field() {
    let q = query(
        "tracks",
        json!({"search": {"field": "album", "text": "abbey  road"}}),
    );
    let s = select_all(&Question, &q).sql;
    assert!(
        s.text.contains(
            "AND (LOWER(j1.\"title\") LIKE ? ESCAPE '\\' AND LOWER(j1.\"title\") LIKE ? ESCAPE '\\')"
        ),
        "{}",
        s.text
    );
    assert_eq!(s.params[..2], [text("%abbey%"), text("%road%")]);
    // Blank search text means no search.
    assert!(
        query("tracks", json!({"search": ["name", "  "]}))
            .filters
            .is_empty()
    );
}
