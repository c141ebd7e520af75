//! Reports over real HTTP on `examples/reports` (the worked example of docs/reports.md): an
//! invoice with bands, a param and its lines printed to ODS and read back cell by cell; the
//! same as PDF read back with pdftotext; tenancy and privileges inside and around reports;
//! params checked; values that try to inject markup or formulas.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::jobs::{done, download, file, libreoffice_here, ods_cells, print};
use common::{Client, PASSWORD, TestServer, assert_error, error_fields, ok};
use jamrs_reports::read::SheetCell;
use serde_json::{Value, json};

/// The shop, with two clerks (each their own rows), a guest, and the administrator.
fn shop() -> (TestServer, Client) {
    let server = TestServer::example("reports");
    server.add_user("ann", "clerk", None);
    server.add_user("bob", "clerk", None);
    server.add_user("guest", "guest", None);
    let admin = server.client();
    (server, admin)
}

/// A customer and an invoice with `lines` (item, quantity, price) for `c`; the invoice's key.
fn invoice(c: &Client, customer: &str, country: &str, lines: &[(&str, i64, f64)]) -> i64 {
    let r = ok(c.apply(
        "customers",
        &json!({"changes": [{"op": "insert", "values": {"name": customer, "country": country}}]}),
    ));
    let customer = r["changes"][0]["id"].as_i64().unwrap();
    let details: Vec<Value> = lines
        .iter()
        .map(|(item, q, p)| json!({"op": "insert", "values": {"item": item, "quantity": q, "price": p}}))
        .collect();
    let r = ok(c.apply(
        "invoices",
        &json!({"changes": [{"op": "insert", "values": {"customer": customer, "invoice_date": "2024-05-01"},
                "details": {"invoice_lines": details}}]}),
    ));
    r["changes"][0]["id"].as_i64().unwrap()
}

fn text(t: &str) -> SheetCell {
    SheetCell {
        value_type: Some("string".into()),
        value: None,
        text: t.into(),
        formula: None,
    }
}

fn number(v: &str, shown: &str) -> SheetCell {
    SheetCell {
        value_type: Some("float".into()),
        value: Some(v.into()),
        text: shown.into(),
        formula: None,
    }
}

fn blank() -> SheetCell {
    SheetCell::default()
}

#[test]
fn an_invoice_prints_its_bands_param_and_lines_cell_by_cell() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let id = invoice(
        &ann,
        "Ann's Café",
        "France",
        &[("Tea", 2, 4.5), ("Cups", 6, 1.25), ("Pot", 1, 20.0)],
    );
    let job = done(&ann, print(&ann, "invoice", json!({"id": id}), "ods"));
    assert_eq!(job["kind"], "report");
    assert_eq!(job["name"], "invoice");
    assert_eq!(job["file_name"], "invoice.ods");
    // One band per print_band call: title, three lines, summary.
    assert_eq!(job["done"], 5);
    let (status, headers, bytes) = download(&ann, &server.url, job["id"].as_str().unwrap());
    assert_eq!(status, 200);
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("content-type"),
        Some("application/vnd.oasis.opendocument.spreadsheet")
    );
    assert_eq!(
        header("content-disposition"),
        Some("attachment; filename=\"invoice.ods\"")
    );
    let got = ods_cells(&bytes);
    let expected = vec![
        // title: five rows (the band name in column A is gone).
        vec![
            blank(),
            text(&format!("Invoice {id}")),
            blank(),
            text("Date:"),
            text("2024-05-01"),
        ],
        vec![blank(), text("Customer:"), text("Ann's Café")],
        vec![blank(), text("Country:"), text("France")],
        vec![],
        vec![
            blank(),
            text("Item"),
            text("Quantity"),
            text("Price"),
            text("Amount"),
        ],
        // detail, once per line: numbers stay numbers (the template formats the money).
        vec![
            blank(),
            text("Tea"),
            number("2", "2"),
            number("4.5", "4.5"),
            number("9", "9.0"),
        ],
        vec![
            blank(),
            text("Cups"),
            number("6", "6"),
            number("1.25", "1.25"),
            number("7.5", "7.5"),
        ],
        vec![
            blank(),
            text("Pot"),
            number("1", "1"),
            number("20", "20.0"),
            number("20", "20.0"),
        ],
        // summary: two rows.
        vec![
            blank(),
            text("Total"),
            blank(),
            blank(),
            number("36.5", "36.5"),
        ],
        vec![blank(), text("Printed by ann")],
    ];
    assert_eq!(got, expected);
}

#[test]
fn a_pdf_report_has_the_printed_text_on_its_page() {
    if !libreoffice_here() {
        return;
    }
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let id = invoice(
        &ann,
        "Ann & Co <Ltd>",
        "France",
        &[("Tea", 2, 4.5), ("Kettle", 1, 1234.5)],
    );
    let job = done(&ann, print(&ann, "invoice", json!({"id": id}), "pdf"));
    assert_eq!(job["file_name"], "invoice.pdf");
    let bytes = file(&ann, &server.url, &job);
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("invoice.pdf");
    std::fs::write(&pdf, &bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    for expected in [
        format!("Invoice {id} Date: 2024-05-01"),
        "Customer: Ann & Co <Ltd>".to_string(),
        "Country: France".to_string(),
        "Item Quantity Price Amount".to_string(),
        "Tea 2 4.50 9.00".to_string(),
        "Kettle 1 1,234.50 1,234.50".to_string(),
        "Total 1,243.50".to_string(),
        "Printed by ann".to_string(),
    ] {
        assert!(lines.contains(&expected), "{expected:?} not in {lines:#?}");
    }
    // XLSX through LibreOffice too.
    let job = done(&ann, print(&ann, "invoice", json!({"id": id}), "xlsx"));
    assert_eq!(job["file_name"], "invoice.xlsx");
    assert!(file(&ann, &server.url, &job).starts_with(b"PK"));
}

#[test]
fn reports_see_only_the_callers_tenant() {
    let (server, admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let bob = server.login("bob", PASSWORD);
    let anns = invoice(&ann, "Ann's customer", "France", &[("Tea", 1, 1.0)]);
    invoice(&bob, "Bob's customer", "France", &[("Coffee", 1, 2.0)]);

    // Bob cannot print Ann's invoice: to him it does not exist (the param is checked as he
    // would open it), and nothing is queued.
    let err = assert_error(
        &print(&bob, "invoice", json!({"id": anns}), "ods"),
        422,
        "validation",
    );
    assert_eq!(error_fields(&err), ["params.id"]);
    assert!(
        err["message"].as_str().unwrap().contains("does not exist"),
        "{err}"
    );

    // The customer list a clerk prints has their customers only; the administrator's, all.
    let names = |c: &Client, params: Value| -> Vec<String> {
        let job = done(c, print(c, "customer_list", params, "ods"));
        let cells = ods_cells(&file(c, &server.url, &job));
        cells
            .iter()
            .skip(3)
            .filter(|r| r.len() > 2 && r[1].value_type.as_deref() == Some("float"))
            .map(|r| r[2].text.clone())
            .collect()
    };
    assert_eq!(names(&ann, json!({})), ["Ann's customer"]);
    assert_eq!(
        names(&bob, json!({"country": "France"})),
        ["Bob's customer"]
    );
    assert_eq!(
        names(&admin, json!({})),
        ["Ann's customer", "Bob's customer"]
    );
    // A multi-select param that names another tenant's customer is refused.
    let anns_customer = common::ids(&ann, "customers", json!({}))[0];
    let err = assert_error(
        &print(
            &bob,
            "customer_list",
            json!({"customers": [anns_customer]}),
            "ods",
        ),
        422,
        "validation",
    );
    assert_eq!(error_fields(&err), ["params.customers"]);
    assert_eq!(
        names(&ann, json!({"customers": [anns_customer]})),
        ["Ann's customer"]
    );
}

#[test]
fn only_roles_that_may_print_a_report_see_it_or_print_it() {
    let (server, admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let guest = server.login("guest", PASSWORD);
    let reports = |c: &Client| -> Vec<String> {
        let task = ok(c.get("/api/task"));
        task["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(reports(&admin), ["customer_list", "invoice", "sales"]);
    assert_eq!(reports(&ann), ["customer_list", "invoice"]);
    assert!(reports(&guest).is_empty());
    let task = ok(ann.get("/api/task"));
    let group = task["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "reports")
        .unwrap();
    assert_eq!(group["reports"], json!(["invoice", "customer_list"]));
    let invoices = task["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "invoices")
        .unwrap();
    assert_eq!(invoices["reports"], json!(["invoice"]));
    let invoice = task["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "invoice")
        .unwrap();
    assert_eq!(invoice["formats"], json!(["pdf", "ods", "xlsx"]));
    assert_eq!(invoice["params"][0]["name"], "id");
    assert_eq!(invoice["params"][0]["lookup"]["item"], "invoices");
    assert!(
        ok(guest.get("/api/task"))
            .to_string()
            .find("sales")
            .is_none()
    );

    assert_error(
        &print(&ann, "sales", json!({"date_from": "2024-01-01"}), "ods"),
        403,
        "forbidden",
    );
    assert_error(
        &print(&guest, "customer_list", json!({}), "ods"),
        403,
        "forbidden",
    );
    assert_error(&print(&ann, "nope", json!({}), "ods"), 404, "not_found");
    assert_error(
        &server
            .anonymous()
            .post_json("/api/reports/invoice/print", &json!({})),
        401,
        "unauthorized",
    );

    // A job belongs to the session that started it.
    let job = done(&admin, print(&admin, "customer_list", json!({}), "ods"));
    let id = job["id"].as_str().unwrap();
    let other_admin = server.client();
    for c in [&ann, &other_admin] {
        assert_error(&c.get(&format!("/api/jobs/{id}")), 404, "not_found");
        assert_error(
            &c.post_json(&format!("/api/jobs/{id}/cancel"), &json!({})),
            404,
            "not_found",
        );
        assert_eq!(download(c, &server.url, id).0, 404);
    }
    assert_error(&admin.get("/api/jobs/nope"), 404, "not_found");
    assert_eq!(download(&server.anonymous(), &server.url, id).0, 401);
}

#[test]
fn params_are_checked_before_anything_runs() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    let err = assert_error(
        &print(&ann, "invoice", json!({"id": 1, "nope": 2}), "ods"),
        400,
        "bad_request",
    );
    assert_eq!(error_fields(&err), ["params.nope"]);
    let err = assert_error(&print(&ann, "invoice", json!({}), "ods"), 422, "validation");
    assert_eq!(error_fields(&err), ["params.id"]);
    let err = assert_error(
        &print(&ann, "invoice", json!({"id": "one"}), "ods"),
        422,
        "validation",
    );
    assert_eq!(error_fields(&err), ["params.id"]);
    let err = assert_error(
        &print(&ann, "customer_list", json!({"customers": 5}), "ods"),
        422,
        "validation",
    );
    assert_eq!(error_fields(&err), ["params.customers"]);
    let err = assert_error(
        &print(&ann, "customer_list", json!({}), "docx"),
        400,
        "bad_request",
    );
    assert_eq!(error_fields(&err), ["format"]);
    let err = assert_error(
        &ann.post_json(
            "/api/reports/invoice/print",
            &json!({"params": {}, "extra": 1}),
        ),
        400,
        "bad_request",
    );
    assert!(err["message"].as_str().unwrap().contains("extra"), "{err}");
    // The date param's default (today) applies; its required partner must be sent.
    let admin = server.client();
    let err = assert_error(&print(&admin, "sales", json!({}), "ods"), 422, "validation");
    assert_eq!(error_fields(&err), ["params.date_from"]);
    done(
        &admin,
        print(&admin, "sales", json!({"date_from": "2024-01-01"}), "ods"),
    );
}

#[test]
fn values_cannot_inject_markup_or_formulas_into_a_report() {
    let (server, _admin) = shop();
    let ann = server.login("ann", PASSWORD);
    for attack in [
        "</text:p></table:table-cell><table:table-cell table:formula=\"of:=1+1\"><text:p>x",
        "=HYPERLINK(\"http://evil.example/\";\"click\")",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "]]><![CDATA[<script>alert(1)</script>",
        "%(total)s and %(user)s",
    ] {
        let id = invoice(&ann, attack, attack, &[(attack, 1, 1.0)]);
        let job = done(&ann, print(&ann, "invoice", json!({"id": id}), "ods"));
        let cells = ods_cells(&file(&ann, &server.url, &job));
        assert_eq!(cells[1][2], text(attack), "{attack}");
        assert_eq!(cells[2][2], text(attack), "{attack}");
        assert_eq!(cells[5][1], text(attack), "{attack}");
        assert!(
            cells.iter().flatten().all(|c| c.formula.is_none()),
            "{attack}: {cells:?}"
        );
        assert_eq!(cells.len(), 8, "{attack}");
    }
}
