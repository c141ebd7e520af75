//! The demo template (`jamrs new --template demo`): its made-up data, the same every time, and
//! its trusted totals — a client that skips the client modules cannot store a wrong total.

// Helpers outside `#[test]` functions unwrap too: a fixture that is not as expected fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, assert_error, ok};
use serde_json::{Value, json};

fn rows(v: &Value) -> Vec<serde_json::Map<String, Value>> {
    let fields: Vec<String> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            fields
                .iter()
                .cloned()
                .zip(r.as_array().unwrap().iter().cloned())
                .collect()
        })
        .collect()
}

#[test]
fn the_demo_has_a_music_store_to_browse() {
    let server = TestServer::demo_with_data();
    let count = |table: &str| server.db_int(&format!("SELECT count(*) FROM {table}"));
    assert_eq!(count("demo_genres"), 25);
    assert_eq!(count("demo_artists"), 120);
    assert_eq!(count("demo_customers"), 60);
    assert_eq!(count("demo_invoices"), 420);
    assert!(count("demo_albums") > 200, "{}", count("demo_albums"));
    assert!(count("demo_tracks") > 2000, "{}", count("demo_tracks"));
    assert!(count("demo_invoice_table") > 2000);
    // Every line is priced by the rule of the server module: amount = quantity × unit price,
    // tax at the invoice's rate, total = amount + tax (in cents).
    assert_eq!(
        server.db_int(
            "SELECT count(*) FROM demo_invoice_table l JOIN demo_invoices i ON i.id = l.master_rec_id
             WHERE round(l.quantity * l.unitprice, 2) <> l.amount
                OR round(l.amount * i.taxrate / 100 + 1e-9, 2) <> l.tax
                OR round(l.amount + l.tax, 2) <> l.total"
        ),
        0
    );
    // The same data on every run: a checksum of what was made.
    let again = TestServer::demo_with_data();
    let digest =
        "SELECT group_concat(name, '|') FROM (SELECT name FROM demo_tracks ORDER BY id LIMIT 50)";
    assert_eq!(
        server.db_query(digest),
        again.db_query(digest),
        "the demo's data differs between two runs"
    );
    // The invoice's totals are calculated over its lines.
    let c = server.client();
    let invoice = ok(c.open(
        "invoices",
        &json!({"expanded": true, "fields": ["id", "subtotal", "tax", "total"], "order": [["id", false]], "limit": 1}),
    ));
    let first = &rows(&invoice)[0];
    let id = first["id"].as_i64().unwrap();
    let sums = server.db_query(&format!(
        "SELECT round(sum(amount), 2), round(sum(tax), 2), round(sum(total), 2) FROM demo_invoice_table WHERE master_rec_id = {id} AND deleted = 0"
    ));
    let as_f = |v: &Value| v.as_f64().unwrap();
    let money = |x: f64| (x * 100.0).round() as i64;
    let real = |v: &rusqlite::types::Value| match v {
        rusqlite::types::Value::Real(x) => *x,
        rusqlite::types::Value::Integer(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    };
    assert_eq!(
        (
            money(as_f(&first["subtotal"])),
            money(as_f(&first["tax"])),
            money(as_f(&first["total"]))
        ),
        (
            money(real(&sums[0][0])),
            money(real(&sums[0][1])),
            money(real(&sums[0][2]))
        )
    );
}

#[test]
fn a_client_without_the_modules_cannot_store_a_wrong_total() {
    let server = TestServer::demo_with_data();
    let c = server.client();
    // A line sent without its amount, tax and total (read-only for clients) gets them from the
    // server module; the invoice's totals follow.
    let answer = ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "insert", "values": {"customer": 1, "invoice_date": "2026-01-02", "taxrate": 10.0},
            "details": {"invoice_table": [
                {"op": "insert", "values": {"track": 1, "quantity": 3, "unitprice": 0.99}},
                {"op": "insert", "values": {"track": 2, "quantity": 1, "unitprice": 1.5}}
            ]}}], "expanded": true}),
    ));
    let id = answer["changes"][0]["id"].as_i64().unwrap();
    let invoice = |c: &common::Client| {
        rows(&ok(c.open(
            "invoices",
            &json!({"expanded": true, "fields": ["subtotal", "tax", "total"], "filters": [["id", "eq", id]]}),
        )))[0]
            .clone()
    };
    // In cents: a calculated sum of currency values is a float sum (4.470000000000001).
    let cents = |v: &Value| (v.as_f64().unwrap() * 100.0).round() as i64;
    let totals = |got: &serde_json::Map<String, Value>| {
        (
            cents(&got["subtotal"]),
            cents(&got["tax"]),
            cents(&got["total"]),
        )
    };
    assert_eq!(totals(&invoice(&c)), (447, 45, 492));
    // A client may not write the line's money at all.
    assert_error(
        &c.apply(
            "invoices",
            &json!({"changes": [{"op": "update", "id": id, "details": {"invoice_table": [
                {"op": "insert", "values": {"track": 3, "quantity": 1, "unitprice": 1.0, "total": 0.01}}]}}]}),
        ),
        422,
        "validation",
    );
    // A new tax rate alone would leave the lines' taxes at the old one: refused.
    let refused = c.apply(
        "invoices",
        &json!({"changes": [{"op": "update", "id": id, "values": {"taxrate": 20.0}}]}),
    );
    assert_error(&refused, 400, "module_error");
    assert_eq!(totals(&invoice(&c)), (447, 45, 492));
    // With every line saved again (as the client module does), the lines follow the new rate.
    let lines = rows(&ok(c.open(
        "invoice_table",
        &json!({"master": {"item": "invoices", "id": id}, "fields": ["id", "quantity"]}),
    )));
    let changes: Vec<Value> = lines
        .iter()
        .map(|l| json!({"op": "update", "id": l["id"], "values": {"quantity": l["quantity"]}}))
        .collect();
    ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "update", "id": id, "values": {"taxrate": 20.0}, "details": {"invoice_table": changes}}]}),
    ));
    assert_eq!(totals(&invoice(&c)), (447, 89, 536));
}

/// The demo prints an invoice as Jam.py's demo does (Reports, and the Invoices view's Reports
/// menu): the customer's billing address, one row per line with its track and album, and the
/// invoice's subtotal, tax and total — the trusted ones the server computed.
#[test]
fn the_demo_prints_an_invoice_with_its_lines_and_totals() {
    use common::jobs::{done, download, ods_cells, print};
    let server = TestServer::demo_with_data();
    let c = server.client();
    let answer = ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "insert", "values": {"customer": 1, "invoice_date": "2026-01-02", "taxrate": 10.0},
            "details": {"invoice_table": [
                {"op": "insert", "values": {"track": 1, "quantity": 3, "unitprice": 0.99}},
                {"op": "insert", "values": {"track": 2, "quantity": 1, "unitprice": 1.5}}
            ]}}]}),
    ));
    let id = answer["changes"][0]["id"].as_i64().unwrap();
    // The view form offers the report.
    let task = ok(c.get("/api/task"));
    let invoices = task["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "invoices")
        .unwrap();
    assert_eq!(invoices["reports"], json!(["invoice"]), "{invoices}");

    let job = done(&c, print(&c, "invoice", json!({"id": id}), "ods"));
    // title, two lines, summary.
    assert_eq!(job["done"], 4, "{job}");
    let (status, _, bytes) = download(&c, &server.url, job["id"].as_str().unwrap());
    assert_eq!(status, 200);
    let rows: Vec<Vec<String>> = ods_cells(&bytes)
        .into_iter()
        .map(|r| r.into_iter().map(|c| c.text).collect())
        .collect();
    // The last row showing `text` (the column heads show "Tax" and "Total" too).
    let row_with = |text: &str| {
        rows.iter()
            .rev()
            .find(|r| r.iter().any(|c| c == text))
            .unwrap_or_else(|| panic!("no row shows {text:?}: {rows:?}"))
            .clone()
    };
    let db_text = |sql: &str| match server.db_query(sql).as_slice() {
        [row] => match &row[0] {
            rusqlite::types::Value::Text(t) => t.clone(),
            other => panic!("{sql}: {other:?} is not a text"),
        },
        rows => panic!("{sql}: {rows:?} is not one row"),
    };
    let name = db_text("SELECT firstname || ' ' || lastname FROM demo_customers WHERE id = 1");
    let city = db_text("SELECT city FROM demo_customers WHERE id = 1");
    assert_eq!(row_with(&format!("Invoice {id}"))[6], "2026-01-02");
    assert_eq!(row_with("Bill to:")[2], name);
    assert!(
        rows.iter().any(|r| r.iter().any(|c| c.starts_with(&city))),
        "{rows:?}"
    );
    // Money cells hold numbers (the template shows two decimals): compared in cents.
    let cents =
        |t: &str| (t.parse::<f64>().unwrap_or_else(|_| panic!("{t:?}")) * 100.0).round() as i64;
    for (track, quantity, money) in [(1, "3", [99, 297, 30, 327]), (2, "1", [150, 150, 15, 165])] {
        let title = db_text(&format!("SELECT name FROM demo_tracks WHERE id = {track}"));
        let album = db_text(&format!(
            "SELECT a.title FROM demo_albums a JOIN demo_tracks t ON t.album = a.id WHERE t.id = {track}"
        ));
        let line = row_with(&title);
        assert_eq!(line[2..4], [album, quantity.to_string()], "{line:?}");
        let got: Vec<i64> = line[4..8].iter().map(|t| cents(t)).collect();
        assert_eq!(got, money, "{line:?}");
    }
    assert_eq!(cents(&row_with("Subtotal")[7]), 447);
    assert_eq!(cents(&row_with("Tax")[7]), 45);
    assert_eq!(cents(&row_with("Total")[7]), 492);
    // A user of the other role prints it too; a guest session cannot (no session at all).
    let anonymous = server.anonymous();
    let (status, _) = print(&anonymous, "invoice", json!({"id": id}), "ods");
    assert_eq!(status, 401);
}
