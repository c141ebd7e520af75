//! Unit tests of the row scope in SQL: the tenant predicate (built-in tenancy) in every
//! statement, lookup join and calculated sub-select, for one tenant, for nobody and for every
//! tenant; the `on_open` filters a calculated field's rows are held to ([`CalcFilters`]),
//! its detail's masters' included; and the key lists ([`Keys`]).

use std::path::Path;
use std::sync::OnceLock;

use jamrs_core::model::Item;
use jamrs_core::project::{ItemFile, ProjectFiles, TaskFile};
use jamrs_core::query::{Filter, OpenParams, OpenQuery};
use jamrs_core::session::Tenant;
use jamrs_core::{Task, Value};
use serde_json::{Value as Json, json};

use super::tests::Question;
use super::*;
use crate::dialect::RowLock;

/// A shop under `[tenancy] column = "tenant_id"`: customers, invoices and their lines and
/// notes are each tenant's; products are shared, and total the lines and notes that name them.
fn task() -> &'static Task {
    static TASK: OnceLock<Task> = OnceLock::new();
    TASK.get_or_init(|| {
        let task: TaskFile = serde_json::from_value(json!({
            "name": "shop",
            "safe_mode": false,
            "max_limit": 100,
            "tenancy": {"column": "tenant_id"},
            "groups": [{"name": "catalogs", "items": [
                "customers", "invoices", "lines", "notes", "products"
            ]}],
        }))
        .unwrap();
        let items = [
            (
                "customers",
                json!({"id": 20, "details": ["notes"], "fields": [
                    {"name": "name", "type": "text", "size": 50},
                    {"name": "tenant_id", "type": "integer"}
                ]}),
            ),
            (
                "invoices",
                json!({"id": 10, "soft_delete": true, "details": ["lines", "notes"], "fields": [
                    {"name": "customer", "type": "integer", "lookup": {"item": "customers", "field": "name"}},
                    {"name": "total", "type": "float"},
                    {"name": "quantity", "type": "integer",
                     "calc": {"item": "lines", "field": "quantity", "link": "invoice", "op": "sum"}},
                    {"name": "tenant_id", "type": "integer"}
                ]}),
            ),
            (
                "lines",
                json!({"soft_delete": true, "master_field": "invoice", "fields": [
                    {"name": "invoice", "type": "integer"},
                    {"name": "product", "type": "integer", "lookup": {"item": "products", "field": "name"}},
                    {"name": "quantity", "type": "integer"},
                    {"name": "tenant_id", "type": "integer"}
                ]}),
            ),
            (
                "notes",
                json!({"master_id": "owner_type", "master_rec_id": "owner_id", "fields": [
                    {"name": "text", "type": "text", "size": 200},
                    {"name": "product", "type": "integer"},
                    {"name": "tenant_id", "type": "integer"}
                ]}),
            ),
            (
                "products",
                json!({"soft_delete": true, "fields": [
                    {"name": "name", "type": "text", "size": 50},
                    {"name": "sold", "type": "integer",
                     "calc": {"item": "lines", "field": "quantity", "link": "product", "op": "sum"}},
                    {"name": "noted", "type": "integer",
                     "calc": {"item": "notes", "field": "id", "link": "product", "op": "count"}}
                ]}),
            ),
        ];
        let mut items: Vec<(String, ItemFile)> = items
            .into_iter()
            .map(|(n, j)| (n.to_string(), serde_json::from_value(j).unwrap()))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        ProjectFiles { task, items }
            .resolve(Path::new("/nonexistent/jamrs-builder-scope-tests"))
            .unwrap_or_else(|e| panic!("the test project is invalid:\n{e}"))
    })
}

fn item(name: &str) -> &'static Item {
    task().item_by_name(name).unwrap()
}

fn query(item_name: &str, p: Json) -> OpenQuery {
    let params: OpenParams = serde_json::from_value(p).unwrap();
    OpenQuery::resolve(task(), item(item_name), &params, &task().unrestricted)
        .unwrap_or_else(|e| panic!("resolve failed: {e}"))
}

/// Filters as an item's `on_open` would add them, typed against the item.
fn filters(item_name: &str, raw: Json) -> Vec<Filter> {
    let raw: Vec<Json> = serde_json::from_value(raw).unwrap();
    OpenQuery::resolve_filters(task(), item(item_name), &raw, &task().unrestricted).unwrap()
}

/// `calc` with no filters for every item `q`'s calculated fields reach (and their masters)
/// that it does not name yet: what the engine adds for items whose `on_open` adds none.
fn complete(q: &OpenQuery, mut calc: CalcFilters) -> CalcFilters {
    let mut todo = calculated_items(task(), q);
    let mut seen = Vec::new();
    while let Some(id) = todo.pop() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if !calc.contains(id) {
            calc.insert(id, Vec::new());
        }
        todo.extend(task().item(id).masters.iter().copied());
    }
    calc
}

fn sql(item_name: &str, p: Json, tenant: &Tenant, calc: CalcFilters) -> crate::sql::Sql {
    let q = query(item_name, p);
    let calc = complete(&q, calc);
    select(&Question, task(), &q, tenant, &calc).sql
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn seven() -> Tenant {
    Tenant::Only(int(7))
}

// ---------------------------------------------------------------------------------------------
// The tenant predicate.

/// Rule: under built-in tenancy every SELECT on a covered item carries the tenant, and so do
/// the lookup joins (another tenant's row shows no text) and the calculated sub-selects
/// (another tenant's rows count for nothing), with the tenant a bound value.
#[test]
fn an_open_carries_the_tenant_in_where_joins_and_sub_selects() {
    let s = sql(
        "invoices",
        json!({"fields": ["id", "customer", "quantity"], "expanded": true}),
        &seven(),
        CalcFilters::new(),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\", t.\"customer\", (SELECT COALESCE(SUM(c3.\"quantity\"), 0) FROM \"lines\" AS c3 \
         WHERE c3.\"invoice\" = t.\"id\" AND c3.\"deleted\" = 0 AND c3.\"tenant_id\" = ?), j1.\"name\" \
         FROM \"invoices\" AS t LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" AND j1.\"tenant_id\" = ? \
         WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"tenant_id\" = ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(7), int(7), int(7), int(100), int(0)]);
    // A shared item: its own rows are everyone's, the covered rows it totals are not.
    let s = sql(
        "products",
        json!({"fields": ["id", "sold"], "expanded": true}),
        &seven(),
        CalcFilters::new(),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\", (SELECT COALESCE(SUM(c2.\"quantity\"), 0) FROM \"lines\" AS c2 \
         WHERE c2.\"product\" = t.\"id\" AND c2.\"deleted\" = 0 AND c2.\"tenant_id\" = ?) \
         FROM \"products\" AS t WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(7), int(100), int(0)]);
    // A detail open: the link and the tenant.
    let s = sql(
        "lines",
        json!({"fields": ["id"], "master": {"item": "invoices", "id": 3}}),
        &seven(),
        CalcFilters::new(),
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\" FROM \"lines\" AS t WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"invoice\" = ? \
         AND t.\"tenant_id\" = ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(3), int(7), int(100), int(0)]);
}

/// Rule: a request that belongs to no tenant reads no covered row: every predicate is `1=0`
/// (the engine refuses such requests before; the SQL fails closed too). A caller who sees
/// every tenant gets no predicate at all.
#[test]
fn nobody_reads_no_covered_row_and_all_tenants_add_no_predicate() {
    let p = json!({"fields": ["id", "customer", "quantity"], "expanded": true});
    let s = sql("invoices", p.clone(), &Tenant::Nobody, CalcFilters::new());
    assert_eq!(
        s.text,
        "SELECT t.\"id\", t.\"customer\", (SELECT COALESCE(SUM(c3.\"quantity\"), 0) FROM \"lines\" AS c3 \
         WHERE c3.\"invoice\" = t.\"id\" AND c3.\"deleted\" = 0 AND 1=0), j1.\"name\" \
         FROM \"invoices\" AS t LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" AND 1=0 \
         WHERE 1=1 AND t.\"deleted\" = 0 AND 1=0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [int(100), int(0)]);
    let s = sql("invoices", p, &Tenant::All, CalcFilters::new());
    assert!(
        !s.text.contains("tenant_id") && !s.text.contains("1=0"),
        "{}",
        s.text
    );
}

/// Rule: every write and every read apply makes carries the tenant: UPDATE, soft and hard
/// DELETE (of one row and of a cascade), the stored rows read before a change, the keys of a
/// cascade, and the lookup target check.
#[test]
fn apply_statements_carry_the_tenant() {
    let tenant = seven();
    let lines = item("lines");
    let link = Link {
        master_number: Some(10),
        master_id: &jamrs_core::Key::Int(3),
    };
    let keys = vec![jamrs_core::Key::Int(4), jamrs_core::Key::Int(5)];
    let keys = Keys::chunks(&keys).next().unwrap();
    let cases = [
        (
            update(
                &Question,
                lines,
                &jamrs_core::Key::Int(4),
                &[(lines.field_by_name("quantity").unwrap().id, int(2))],
                Some(link),
                &tenant,
                None,
            ),
            "UPDATE \"lines\" SET \"quantity\" = ? WHERE \"id\" = ? AND \"deleted\" = 0 AND \"invoice\" = ? AND \"tenant_id\" = ?",
            vec![int(2), int(4), int(3), int(7)],
        ),
        (
            delete_row(
                &Question,
                lines,
                &jamrs_core::Key::Int(4),
                Some(link),
                &tenant,
                true,
            ),
            "UPDATE \"lines\" SET \"deleted\" = 1 WHERE \"id\" = ? AND \"deleted\" = 0 AND \"invoice\" = ? AND \"tenant_id\" = ?",
            vec![int(4), int(3), int(7)],
        ),
        (
            delete_row(
                &Question,
                item("customers"),
                &jamrs_core::Key::Int(4),
                None,
                &tenant,
                false,
            ),
            "DELETE FROM \"customers\" WHERE \"id\" = ? AND \"tenant_id\" = ?",
            vec![int(4), int(7)],
        ),
        (
            delete_under(
                &Question,
                item("notes"),
                Under {
                    master_number: Some(10),
                    master_ids: keys,
                },
                &tenant,
                false,
            ),
            "DELETE FROM \"notes\" WHERE 1=1 AND \"owner_type\" = ? AND \"owner_id\" IN (?, ?) AND \"tenant_id\" = ?",
            vec![int(10), int(4), int(5), int(7)],
        ),
        (
            select_rows(&Question, lines, keys, Some(link), &tenant, RowLock::None),
            "SELECT \"id\", \"invoice\", \"product\", \"quantity\", \"tenant_id\", \"deleted\" FROM \"lines\" \
             WHERE \"id\" IN (?, ?) AND \"deleted\" = 0 AND \"invoice\" = ? AND \"tenant_id\" = ?",
            vec![int(4), int(5), int(3), int(7)],
        ),
        (
            select_keys(
                &Question,
                lines,
                Under {
                    master_number: Some(10),
                    master_ids: keys,
                },
                &tenant,
            ),
            "SELECT \"id\" FROM \"lines\" WHERE 1=1 AND \"deleted\" = 0 AND \"invoice\" IN (?, ?) AND \"tenant_id\" = ?",
            vec![int(4), int(5), int(7)],
        ),
        (
            lookup_exists(
                &Question,
                item("customers"),
                &jamrs_core::Key::Int(9),
                &tenant,
                RowLock::None,
            ),
            "SELECT 1 FROM \"customers\" WHERE \"id\" = ? AND \"tenant_id\" = ?",
            vec![int(9), int(7)],
        ),
        (
            lookup_exists(
                &Question,
                item("customers"),
                &jamrs_core::Key::Int(9),
                &Tenant::Nobody,
                RowLock::None,
            ),
            "SELECT 1 FROM \"customers\" WHERE \"id\" = ? AND 1=0",
            vec![int(9)],
        ),
        (
            lookup_exists(
                &Question,
                item("products"),
                &jamrs_core::Key::Int(9),
                &tenant,
                RowLock::None,
            ),
            "SELECT 1 FROM \"products\" WHERE \"id\" = ? AND \"deleted\" = 0",
            vec![int(9)],
        ),
    ];
    for (s, text, params) in cases {
        assert_eq!(s.text, text);
        assert_eq!(s.params, params, "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// The rows calculated fields aggregate.

/// Rule: a calculated field's sub-select carries the filters the aggregated item's `on_open`
/// adds, and, for a detail, the keys of the master rows its master's filters allow; bound
/// values stay in text order.
#[test]
fn calculated_sub_selects_carry_the_on_open_filters_of_their_rows_and_masters() {
    let mut calc = CalcFilters::new();
    calc.insert(
        item("lines").id,
        filters("lines", json!([["quantity", "gt", 0]])),
    );
    calc.insert(
        item("invoices").id,
        filters("invoices", json!([["total", "ge", 5]])),
    );
    let s = sql(
        "products",
        json!({"fields": ["id", "sold"], "expanded": true, "filters": [["sold", "gt", 1]]}),
        &seven(),
        calc,
    );
    let sold = "(SELECT COALESCE(SUM(c2.\"quantity\"), 0) FROM \"lines\" AS c2 \
         WHERE c2.\"product\" = t.\"id\" AND c2.\"deleted\" = 0 AND c2.\"tenant_id\" = ? AND c2.\"quantity\" > ? \
         AND (c2.\"invoice\" IN (SELECT c2m0.\"id\" FROM \"invoices\" AS c2m0 \
         WHERE 1=1 AND c2m0.\"deleted\" = 0 AND c2m0.\"tenant_id\" = ? AND c2m0.\"total\" >= ?)))";
    assert_eq!(
        s.text,
        format!(
            "SELECT t.\"id\", {sold} FROM \"products\" AS t WHERE 1=1 AND t.\"deleted\" = 0 \
             AND {sold} > ? ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
        )
    );
    let once = [int(7), int(0), int(7), Value::Float(5.0)];
    let mut expected = once.to_vec();
    expected.extend(once);
    expected.extend([int(1), int(100), int(0)]);
    assert_eq!(s.params, expected);
}

/// A detail with several masters (`master_id`/`master_rec_id`) is held to each master's rows
/// by that master's number; a master without filters adds only its number.
#[test]
fn a_detail_of_several_masters_is_held_to_each_masters_rows() {
    let mut calc = CalcFilters::new();
    calc.insert(
        item("invoices").id,
        filters("invoices", json!([["total", "ge", 5]])),
    );
    let s = sql(
        "products",
        json!({"fields": ["id", "noted"], "expanded": true}),
        &Tenant::All,
        calc,
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\", (SELECT COALESCE(COUNT(c3.\"id\"), 0) FROM \"notes\" AS c3 \
         WHERE c3.\"product\" = t.\"id\" AND ((c3.\"owner_type\" = ?) OR (c3.\"owner_type\" = ? \
         AND c3.\"owner_id\" IN (SELECT c3m1.\"id\" FROM \"invoices\" AS c3m1 \
         WHERE 1=1 AND c3m1.\"deleted\" = 0 AND c3m1.\"total\" >= ?)))) \
         FROM \"products\" AS t WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    // Customers (20) first, then invoices (10) with the filter's value.
    assert_eq!(
        s.params,
        [int(20), int(10), Value::Float(5.0), int(100), int(0)]
    );
}

/// A lookup-text filter of the aggregated item joins inside the sub-select, under aliases of
/// its own.
#[test]
fn a_lookup_filter_of_the_aggregated_rows_joins_inside_the_sub_select() {
    let mut calc = CalcFilters::new();
    calc.insert(
        item("lines").id,
        filters("lines", json!([["product", "contains_l", "tea"]])),
    );
    let s = sql(
        "invoices",
        json!({"fields": ["id", "customer", "quantity"], "expanded": true}),
        &Tenant::All,
        calc,
    );
    assert_eq!(
        s.text,
        "SELECT t.\"id\", t.\"customer\", (SELECT COALESCE(SUM(c3.\"quantity\"), 0) FROM \"lines\" AS c3 \
         LEFT JOIN \"products\" AS c3j1 ON c3.\"product\" = c3j1.\"id\" \
         WHERE c3.\"invoice\" = t.\"id\" AND c3.\"deleted\" = 0 AND LOWER(c3j1.\"name\") LIKE ? ESCAPE '\\'), \
         j1.\"name\" FROM \"invoices\" AS t LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" \
         WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    assert_eq!(s.params, [Value::Text("%tea%".into()), int(100), int(0)]);
}

/// Rule: an item calculated fields reach that the engine gave no filters for aggregates
/// nothing (fail closed), rather than every row.
#[test]
fn a_calculated_field_without_its_filters_aggregates_nothing() {
    let q = query(
        "products",
        json!({"fields": ["id", "sold"], "expanded": true}),
    );
    let s = select(&Question, task(), &q, &Tenant::All, &CalcFilters::new()).sql;
    assert_eq!(
        s.text,
        "SELECT t.\"id\", (SELECT COALESCE(SUM(c2.\"quantity\"), 0) FROM \"lines\" AS c2 \
         WHERE c2.\"product\" = t.\"id\" AND c2.\"deleted\" = 0 AND 1=0) \
         FROM \"products\" AS t WHERE 1=1 AND t.\"deleted\" = 0 ORDER BY t.\"id\" ASC LIMIT ? OFFSET ?"
    );
    // Only the detail named, not its master: the master's rows allow nothing.
    let mut calc = CalcFilters::new();
    calc.insert(item("lines").id, Vec::new());
    let s = select(&Question, task(), &q, &Tenant::All, &calc).sql;
    assert!(
        s.text.contains("AND (c2.\"invoice\" IN (SELECT c2m0.\"id\" FROM \"invoices\" AS c2m0 WHERE 1=1 AND c2m0.\"deleted\" = 0 AND 1=0))"),
        "{}",
        s.text
    );
}

/// The items whose `on_open` the engine asks: only those an open's calculated fields read.
#[test]
fn calculated_items_are_those_the_open_reads() {
    let lines = item("lines").id;
    for (p, expected) in [
        (json!({"fields": ["id", "name"]}), vec![]),
        (json!({}), vec![]),
        (json!({"fields": ["id", "sold"]}), vec![]),
        (
            json!({"fields": ["id", "sold"], "expanded": true}),
            vec![lines],
        ),
        (
            json!({"fields": ["id"], "filters": [["sold", "gt", 1]]}),
            vec![lines],
        ),
        (json!({"fields": ["id"], "order": ["-sold"]}), vec![lines]),
        (
            json!({"fields": ["sold"], "funcs": {"sold": "sum"}}),
            vec![lines],
        ),
        (
            json!({"fields": ["id"], "filters": [[[["name", "eq", "x"]], [["noted", "gt", 0]]]]}),
            vec![item("notes").id],
        ),
    ] {
        assert_eq!(
            calculated_items(task(), &query("products", p.clone())),
            expected,
            "{p}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Key lists.

#[test]
fn key_lists_hold_at_most_keys_per_statement() {
    let ids: Vec<jamrs_core::Key> = (0..(2 * KEYS_PER_STATEMENT as i64 + 1))
        .map(jamrs_core::Key::Int)
        .collect();
    let lens: Vec<usize> = Keys::chunks(&ids).map(|k| k.len()).collect();
    assert_eq!(lens, [KEYS_PER_STATEMENT, KEYS_PER_STATEMENT, 1]);
    assert_eq!(Keys::chunks(&[]).count(), 0);
    let all: Vec<jamrs_core::Key> = Keys::chunks(&ids)
        .flat_map(|k| k.as_slice().to_vec())
        .collect();
    assert_eq!(all, ids);
}

/// Issue 19 §2: a page and its total in one statement (one snapshot): the total is a
/// sub-select in the first column with the page's filters, joins and tenant, and no page; its
/// bound values come first, as its text does.
#[test]
fn a_page_with_its_total_counts_the_same_rows_in_one_statement() {
    let s = sql(
        "invoices",
        json!({"fields": ["id", "customer"], "total": true, "limit": 20, "offset": 40,
               "filters": [["customer", "contains", "ab"]], "order": ["-id"]}),
        &seven(),
        CalcFilters::new(),
    );
    assert_eq!(
        s.text,
        "SELECT (SELECT COUNT(*) FROM \"invoices\" AS t LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" AND j1.\"tenant_id\" = ? \
         WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"tenant_id\" = ? AND LOWER(j1.\"name\") LIKE ? ESCAPE '\\'), \
         t.\"id\", t.\"customer\" \
         FROM \"invoices\" AS t LEFT JOIN \"customers\" AS j1 ON t.\"customer\" = j1.\"id\" AND j1.\"tenant_id\" = ? \
         WHERE 1=1 AND t.\"deleted\" = 0 AND t.\"tenant_id\" = ? AND LOWER(j1.\"name\") LIKE ? ESCAPE '\\' \
         ORDER BY t.\"id\" DESC LIMIT ? OFFSET ?"
    );
    let like = Value::Text("%ab%".into());
    assert_eq!(
        s.params,
        [
            int(7),
            int(7),
            like.clone(),
            int(7),
            int(7),
            like,
            int(20),
            int(40)
        ]
    );
}
