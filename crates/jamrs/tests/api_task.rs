//! `GET /api/task` and what every response carries (security headers, request id, the error
//! contract for unknown routes and methods), over real HTTP. The OpenAPI document and the route
//! table: `api_contract.rs`.

// Helpers outside `#[test]` functions unwrap too: a fixture that is not as expected fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, assert_error, ok};
use serde_json::{Value, json};

fn item<'a>(task: &'a Value, name: &str) -> &'a Value {
    task["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no item {name}"))
}

fn field<'a>(item: &'a Value, name: &str) -> &'a Value {
    item["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name} in {}", item["name"]))
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn task_of_notes_has_items_fields_filters_and_details() {
    let server = TestServer::template("notes");
    let task = ok(server.client().get("/api/task"));
    assert_eq!(task["task"]["name"], "notes");
    assert_eq!(task["task"]["max_limit"], 1000);
    assert_eq!(
        names(&task["groups"], "name"),
        ["catalogs", "journals", "details"]
    );
    assert_eq!(task["groups"][2]["visible"], false);
    assert_eq!(task["groups"][2]["items"], json!(["checklist"]));

    let notes = item(&task, "notes");
    assert_eq!(
        names(&notes["fields"], "name"),
        [
            "id", "title", "body", "category", "created", "pinned", "user_id"
        ]
    );
    assert_eq!(notes["primary_key"], "id");
    assert_eq!(notes["soft_delete"], true);
    assert_eq!(notes["details"], json!(["checklist"]));
    assert_eq!(
        notes["default_order"],
        json!([["pinned", true], ["created", true], ["title", false]])
    );
    let title = field(notes, "title");
    assert_eq!(title["type"], "text");
    assert_eq!(title["size"], 200);
    assert_eq!(title["required"], true);
    assert_eq!(title["placeholder"], "What is this note about?");
    assert_eq!(field(notes, "created")["default_value"], "today");
    assert_eq!(
        field(notes, "category")["lookup"],
        json!({"item": "categories", "field": "name", "path": ["name"]})
    );
    assert_eq!(
        names(&notes["filters"], "name"),
        ["title", "category", "created_from", "created_to", "pinned"]
    );
    let category = &notes["filters"][1];
    assert_eq!(
        (&category["type"], &category["number"]),
        (&json!("in"), &json!(7))
    );
    assert_eq!(category["multi_select_all"], true);

    let checklist = item(&task, "checklist");
    assert_eq!(checklist["masters"], json!(["notes"]));
    assert_eq!(checklist["master_link"], json!(["note"]));
    assert_eq!(field(checklist, "note")["server_set"], true);
    assert_eq!(field(checklist, "done")["default_value"], false);
}

#[test]
fn task_of_demo_has_lookups_master_fields_calc_and_lookup_lists() {
    let server = TestServer::template("demo");
    let task = ok(server.client().get("/api/task"));
    assert_eq!(
        task["lookup_lists"],
        json!([{"name": "media_types", "values": [[1, "MPEG audio file"], [2, "Protected AAC audio file"],
            [3, "Protected MPEG-4 video file"], [4, "Purchased AAC audio file"], [5, "AAC audio file"]]}])
    );
    let tracks = item(&task, "tracks");
    assert_eq!(field(tracks, "media_type")["lookup_values"], "media_types");
    assert_eq!(
        field(tracks, "tracks_sold")["calc"],
        json!({"item": "invoice_table", "field": "quantity", "link": "track", "op": "sum"})
    );
    let artist_filter = &tracks["filters"][1];
    assert_eq!(
        (&artist_filter["type"], &artist_filter["number"]),
        (&json!("contains_l"), &json!(27))
    );
    let lines = item(&task, "invoice_table");
    assert_eq!(lines["master_link"], json!(["master_id", "master_rec_id"]));
    let artist = field(lines, "artist");
    assert_eq!(artist["master_field"], "track");
    assert_eq!(artist["read_only"], true);
    assert_eq!(
        artist["lookup"],
        json!({"item": "tracks", "field": "name", "path": ["album", "artist", "name"]})
    );
    let invoices = item(&task, "invoices");
    assert_eq!(field(invoices, "billing_city")["master_field"], "customer");
    assert_eq!(field(invoices, "taxrate")["default_value"], 5.0);
    assert_eq!(
        field(invoices, "customer")["help"],
        "The customer who is billed; the billing address is taken from the customer."
    );
}

/// The soft-delete flag, table and column names stay on the server.
#[test]
fn task_shows_no_deleted_flag_and_no_table_names() {
    for template in ["notes", "demo"] {
        let server = TestServer::template(template);
        let task = ok(server.client().get("/api/task"));
        for item in task["items"].as_array().unwrap() {
            let fields = names(&item["fields"], "name");
            assert!(!fields.contains(&"deleted".to_string()), "{fields:?}");
            assert!(item.get("table").is_none(), "{item}");
            for f in item["fields"].as_array().unwrap() {
                assert!(
                    f.get("db_field").is_none() && f.get("column").is_none(),
                    "{f}"
                );
            }
        }
        let text = task.to_string();
        assert!(!text.contains("demo_"), "a table name leaks: {text}");
        assert!(!text.contains("\"deleted\""), "{text}");
    }
}

#[test]
fn unknown_routes_and_items_are_404_in_the_contract() {
    let server = TestServer::template("notes");
    let c = server.client();
    for path in [
        "/api/nope",
        "/nope",
        "/api/items/notes",
        "/api/items/notes/open/x",
    ] {
        assert_error(&c.get(path), 404, "not_found");
    }
    assert_error(&c.post_json("/api/nope", &json!({})), 404, "not_found");
    let err = assert_error(&c.open("nope", &json!({})), 404, "not_found");
    assert!(err["message"].as_str().unwrap().contains("nope"), "{err}");
    assert_error(&c.apply("nope", &json!({"changes": []})), 404, "not_found");
}

/// A known route with the wrong method: 405, and still the error contract.
#[test]
fn a_wrong_method_is_405_in_the_contract() {
    let server = TestServer::template("notes");
    let c = server.client();
    for (method, path) in [
        ("GET", "/api/items/notes/open"),
        ("GET", "/api/items/notes/apply"),
        ("POST", "/api/task"),
        ("DELETE", "/api/openapi.json"),
    ] {
        let r = c.send(method, path, None, &[]);
        assert_error(&(r.status, r.body.clone()), 405, "bad_request");
        assert!(
            r.header("allow").is_some(),
            "{method} {path}: {:?}",
            r.headers
        );
    }
}

#[test]
fn every_response_has_security_headers_and_a_request_id() {
    let server = TestServer::template("notes");
    let c = server.client();
    let json_ct = Some("application/json");
    let requests: [(&str, &str, Option<&str>, &[u8]); 6] = [
        ("GET", "/", None, b""),
        ("GET", "/api/task", None, b""),
        ("GET", "/nope", None, b""),
        ("POST", "/api/items/notes/open", json_ct, b"{}"),
        ("POST", "/api/items/notes/open", json_ct, b"{"),
        ("POST", "/api/items/notes/open", Some("text/plain"), b"{}"),
    ];
    let mut seen = Vec::new();
    for (method, path, ct, body) in requests {
        let r = c.send(method, path, ct, body);
        let what = format!("{method} {path} → {}", r.status);
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        let id = r.header("x-request-id").unwrap_or("");
        assert!(!id.is_empty(), "{what}");
        assert!(!seen.contains(&id.to_string()), "request ids repeat: {id}");
        seen.push(id.to_string());
    }
    // A request id the client sends comes back.
    let r = c.send_with(
        "GET",
        "/api/task",
        None,
        &[],
        &[("x-request-id", "abc-123")],
    );
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
}

/// Issue 12 §10: a client's `X-Request-Id` is echoed and logged only when it is a short token
/// of safe characters; otherwise the server makes its own.
#[test]
fn only_a_short_safe_request_id_from_the_client_is_kept() {
    let server = TestServer::template("notes");
    let c = server.client();
    let long = "a".repeat(65);
    for bad in ["abc 123", "<script>", "id\"; DROP", long.as_str(), ""] {
        let r = c.send_with("GET", "/api/task", None, &[], &[("x-request-id", bad)]);
        assert_eq!(r.status, 200);
        let id = r.header("x-request-id").unwrap_or("");
        assert!(!id.is_empty() && id != bad, "{bad:?} came back as {id:?}");
        assert!(
            id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)),
            "{id:?}"
        );
    }
    let ok = "req-2026.12.04:abc_1";
    let r = c.send_with("GET", "/api/task", None, &[], &[("x-request-id", ok)]);
    assert_eq!(r.header("x-request-id"), Some(ok));
}

#[test]
fn the_index_page_escapes_the_caption() {
    let server = TestServer::from_files(&[
        (
            "jamrs.toml",
            "name = \"t\"\ncaption = \"<script>x</script>\"\nsafe_mode = false\n[[groups]]\nname = \"g\"\nitems = [\"a\"]\n",
        ),
        (
            "items/a.toml",
            "[[fields]]\nname = \"n\"\ntype = \"integer\"\n",
        ),
    ]);
    let r = server.client().send("GET", "/", None, &[]);
    assert_eq!(r.status, 200);
    let html = r.body.as_str().unwrap();
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
}
