//! Grid export over real HTTP on `examples/reports`: the rows an open finds (filters, search,
//! order, every page), only the fields the caller may see, lookup texts, to CSV and XLSX;
//! tenancy and privileges; formulas defused; many rows across pages; cancelling.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::jobs::{done, export, file, wait};
use common::{Client, PASSWORD, TestServer, assert_error, error_fields, ok};
use serde_json::json;

fn shop() -> (TestServer, Client) {
    let server = TestServer::example("reports");
    server.add_user("ann", "clerk", None);
    server.add_user("bob", "clerk", None);
    server.add_user("guest", "guest", None);
    let admin = server.client();
    (server, admin)
}

fn customers(c: &Client, rows: &[(&str, &str)]) -> Vec<i64> {
    let changes: Vec<_> = rows
        .iter()
        .map(
            |(name, country)| json!({"op": "insert", "values": {"name": name, "country": country}}),
        )
        .collect();
    let r = ok(c.apply("customers", &json!({"changes": changes})));
    r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

fn csv(c: &Client, server: &TestServer, item: &str, open: serde_json::Value) -> String {
    let job = done(c, export(c, item, "csv", open));
    let text = String::from_utf8(file(c, &server.url, &job)).unwrap();
    text.strip_prefix('\u{feff}').unwrap().to_string()
}

#[test]
fn a_csv_export_has_the_grids_rows_in_its_order_with_lookup_texts() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let ids = customers(
        &ann,
        &[
            ("Zeta", "France"),
            ("Alpha, Inc.", "Spain"),
            ("Mid \"Q\"", "France"),
        ],
    );
    for (customer, date, paid) in [
        (ids[0], "2024-01-02", false),
        (ids[1], "2024-02-03", true),
        (ids[2], "2024-03-04", false),
    ] {
        ok(ann.apply(
            "invoices",
            &json!({"changes": [{"op": "insert", "values": {"customer": customer, "invoice_date": date, "paid": paid},
                    "details": {"invoice_lines": [{"op": "insert", "values": {"item": "Tea", "quantity": 2, "price": 1.5}}]}}]}),
        ));
    }
    // The grid: unpaid invoices, newest first, with the customer's name.
    let text = csv(
        &ann,
        &server,
        "invoices",
        json!({"fields": ["customer", "invoice_date", "paid", "total"], "filters": [["paid", "eq", false]],
               "order": ["-invoice_date"], "expanded": true, "limit": 1, "offset": 1}),
    );
    assert_eq!(
        text,
        "Customer,Date,Paid,Total\r\n\"Mid \"\"Q\"\"\",2024-03-04,false,3.0\r\nZeta,2024-01-02,false,3.0\r\n"
    );
    // Search and a lookup-text order; every visible field by default.
    let text = csv(
        &ann,
        &server,
        "customers",
        json!({"search": ["country", "fra"], "order": ["name"]}),
    );
    assert_eq!(
        text,
        "Name,Country\r\n\"Mid \"\"Q\"\"\",France\r\nZeta,France\r\n"
    );
    // A detail's rows, under one master.
    let invoice = common::ids(&ann, "invoices", json!({}))[0];
    let text = csv(
        &ann,
        &server,
        "invoice_lines",
        json!({"master": {"item": "invoices", "id": invoice}, "fields": ["item", "quantity", "amount"]}),
    );
    assert_eq!(text, "Item,Quantity,Amount\r\nTea,2,3.0\r\n");
}

#[test]
fn exports_keep_tenants_apart_and_leave_out_what_the_role_may_not_see() {
    let (server, admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let bob = server.login("bob", PASSWORD);
    let guest = server.login("guest", PASSWORD);
    customers(&ann, &[("Ann's", "France")]);
    customers(&bob, &[("Bob's", "France")]);
    ok(admin.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": common::ids(&admin, "customers", json!({"order": ["name"]}))[0],
                "values": {"phone": "555-0100"}}]}),
    ));
    assert_eq!(
        csv(&ann, &server, "customers", json!({})),
        "Name,Country\r\nAnn's,France\r\n"
    );
    assert_eq!(
        csv(&bob, &server, "customers", json!({})),
        "Name,Country\r\nBob's,France\r\n"
    );
    // The administrator sees every tenant's rows, and the phone (visible to the role) when
    // asked for.
    assert_eq!(
        csv(
            &admin,
            &server,
            "customers",
            json!({"fields": ["name", "phone"], "order": ["name"]})
        ),
        "Name,Phone\r\nAnn's,555-0100\r\nBob's,\r\n"
    );
    // A clerk may not export the phone, filter on it or order by it.
    for open in [
        json!({"fields": ["name", "phone"]}),
        json!({"filters": [["phone", "eq", "555-0100"]]}),
        json!({"order": ["phone"]}),
    ] {
        assert_error(&export(&ann, "customers", "csv", open), 403, "forbidden");
    }
    // A role without view on the item exports nothing; nor does a caller without a session.
    assert_error(
        &export(&guest, "invoices", "csv", json!({})),
        403,
        "forbidden",
    );
    assert_error(
        &export(&server.anonymous(), "customers", "csv", json!({})),
        401,
        "unauthorized",
    );
    assert_error(&export(&ann, "nope", "csv", json!({})), 404, "not_found");
    let err = assert_error(
        &export(&ann, "customers", "pdf", json!({})),
        400,
        "bad_request",
    );
    assert_eq!(error_fields(&err), ["format"]);
    assert_error(
        &export(&ann, "customers", "csv", json!({"funcs": {"id": "count"}})),
        400,
        "bad_request",
    );
    assert_error(
        &export(&ann, "customers", "csv", json!({"fields": ["nope"]})),
        400,
        "bad_request",
    );
    // A detail without its master, or under another tenant's master.
    assert_error(
        &export(&ann, "invoice_lines", "csv", json!({})),
        400,
        "bad_request",
    );
}

#[test]
fn text_that_looks_like_a_formula_stays_text() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    customers(
        &ann,
        &[
            ("=HYPERLINK(\"http://evil.example\")", "+1"),
            ("@SUM(A1)", "-2"),
        ],
    );
    let text = csv(&ann, &server, "customers", json!({"order": ["name"]}));
    assert_eq!(
        text,
        "Name,Country\r\n\"'=HYPERLINK(\"\"http://evil.example\"\")\",\"'+1\"\r\n\"'@SUM(A1)\",\"'-2\"\r\n"
    );
    let job = done(
        &ann,
        export(&ann, "customers", "xlsx", json!({"order": ["name"]})),
    );
    assert_eq!(job["file_name"], "customers.xlsx");
    let sheet = sheet_xml(&file(&ann, &server.url, &job));
    assert!(!sheet.contains("<f>"), "{sheet}");
    assert!(
        sheet.contains("<t>=HYPERLINK(\"http://evil.example\")</t>"),
        "{sheet}"
    );
}

fn sheet_xml(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    sheet
}

/// Adds `n` customers for user `owner` straight into the database (fast).
fn many_customers(server: &TestServer, owner: i64, n: u64) {
    // c0000001, c0000002, …: SQLite's printf, PostgreSQL's lpad.
    let name = if common::on_postgres() {
        "'c' || lpad(CAST(i AS text), 7, '0')"
    } else {
        "printf('c%07d', i)"
    };
    server.db_execute(&format!(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n})
         INSERT INTO customers (name, country, user_id) SELECT {name}, CASE i % 3 WHEN 0 THEN 'France' ELSE 'Spain' END, {owner} FROM k"
    ));
}

#[test]
fn many_rows_export_completely_across_pages_in_order() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let bob = server.user_id("bob");
    many_customers(&server, server.user_id("ann"), 120_000);
    many_customers(&server, bob, 1_000);
    let job = done(
        &ann,
        export(
            &ann,
            "customers",
            "csv",
            json!({"order": ["-name"], "filters": [["country", "eq", "Spain"]]}),
        ),
    );
    assert_eq!(job["total"], 80_000);
    assert_eq!(job["done"], 80_000);
    let text = String::from_utf8(file(&ann, &server.url, &job)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 80_001);
    assert_eq!(lines[1], "c0119999,Spain");
    assert_eq!(lines[80_000], "c0000001,Spain");
    // In order, each row once (the key pages neither repeat nor skip rows).
    let names: Vec<&str> = lines[1..].iter().map(|l| &l[..8]).collect();
    assert!(names.windows(2).all(|w| w[0] > w[1]));
    // XLSX: typed cells, the same rows.
    let job = done(
        &ann,
        export(
            &ann,
            "customers",
            "xlsx",
            json!({"fields": ["id", "name"], "filters": [["name", "le", "c0002000"]]}),
        ),
    );
    let sheet = sheet_xml(&file(&ann, &server.url, &job));
    assert_eq!(sheet.matches("<row ").count(), 2_001);
}

#[test]
fn a_running_export_can_be_cancelled_and_never_blocks_other_requests() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    many_customers(&server, server.user_id("ann"), 150_000);
    // Cancelled at once: it stops, and makes no file.
    let started = export(&ann, "customers", "xlsx", json!({"order": ["-name"]}));
    assert_eq!(started.0, 202, "{}", started.1);
    let id = started.1["id"].as_str().unwrap();
    ok(ann.post_json(&format!("/api/jobs/{id}/cancel"), &json!({})));
    let ended = wait(&ann, &started.1);
    assert_eq!(ended["state"], "cancelled", "{ended}");
    assert!(ended["done"].as_u64().unwrap() < 150_000, "{ended}");
    assert_error(&ann.get(&format!("/api/jobs/{id}/file")), 409, "conflict");
    // While another runs, requests are answered at once.
    let running = export(&ann, "customers", "xlsx", json!({"order": ["-name"]}));
    assert_eq!(running.0, 202, "{}", running.1);
    let t = Instant::now();
    let mut during = 0;
    while ok(ann.get(&format!("/api/jobs/{}", running.1["id"].as_str().unwrap())))["state"]
        != "done"
    {
        let one = Instant::now();
        ok(ann.open("customers", &json!({"limit": 10})));
        assert!(
            one.elapsed() < Duration::from_secs(2),
            "an open waited {:?}",
            one.elapsed()
        );
        during += 1;
        assert!(t.elapsed() < Duration::from_secs(120));
    }
    assert!(
        during > 0,
        "the export finished before any request could be made"
    );
}
