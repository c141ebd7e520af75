//! Roles over real HTTP: each privilege flag denies exactly its operation, at the top level and
//! per detail level; details need view on the detail and on its master; a prohibited field
//! (and every field that shows it through a lookup chain, a master field or a calculated
//! field) is refused in every open parameter and every apply path and never appears in a
//! reply; a read-only field is refused on write, never silently dropped; `GET /api/task`
//! shows each role only what it may see (reference §5.3, §5.4, §7.9).

#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, PASSWORD, TestServer, apply_ids, assert_error, error_fields, ids, ok};
use serde_json::{Value, json};

const TASK: &str = r#"name = "shop"

[[groups]]
name = "catalogs"
items = ["artists", "albums", "tracks", "customers"]

[[groups]]
name = "journals"
items = ["orders"]

[[groups]]
name = "details"
visible = false
items = ["lines"]

[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "clerk"
default = ["view", "create", "edit", "delete"]
fields = { "artists.name" = "prohibited", "customers.email" = "prohibited", "lines.cost" = "prohibited", "orders.note" = "read_only", "lines.discount" = "read_only" }

[[roles]]
id = 3
name = "no_view"
default = ["create", "edit", "delete"]

[[roles]]
id = 4
name = "no_create"
default = ["view", "edit", "delete"]

[[roles]]
id = 5
name = "no_edit"
default = ["view", "create", "delete"]

[[roles]]
id = 6
name = "no_delete"
default = ["view", "create", "edit"]

[[roles]]
id = 7
name = "lines_only"
default = ["view", "create", "edit", "delete"]
items = { orders = [] }

[[roles]]
id = 8
name = "orders_only"
default = ["view", "create", "edit", "delete"]
items = { lines = [] }
"#;

const ARTISTS: &str = r#"
[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "country"
type = "text"
size = 50
"#;

const ALBUMS: &str = r#"
[[fields]]
name = "title"
type = "text"
size = 50

[[fields]]
name = "artist"
type = "integer"
lookup = { item = "artists", field = "name" }
"#;

const TRACKS: &str = r#"
[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "album"
type = "integer"
lookup = { item = "albums", field = "title" }

[[fields]]
name = "artist"
type = "integer"
lookup = { item = "albums", field = "artist", field1 = "name" }
"#;

const CUSTOMERS: &str = r#"
default_order = ["email", "name"]

[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "email"
type = "text"
size = 50
default_value = "none@secret.example"

[[fields]]
name = "city"
type = "text"
size = 50

[[filters]]
name = "email"
field = "email"
type = "contains"

[[filters]]
name = "city"
field = "city"
type = "eq"
"#;

const ORDERS: &str = r#"
details = ["lines"]

[[fields]]
name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }

[[fields]]
name = "customer_email"
type = "integer"
lookup = { item = "customers", field = "email" }
master_field = "customer"

[[fields]]
name = "note"
type = "text"
size = 100

[[fields]]
name = "total"
type = "float"
calc = { item = "lines", field = "amount", link = "order_id", op = "sum" }

[[fields]]
name = "cost_total"
type = "float"
calc = { item = "lines", field = "cost", link = "order_id", op = "sum" }
"#;

const LINES: &str = r#"
master_field = "order_id"
summary_fields = ["qty", "amount", "cost"]

[[fields]]
name = "order_id"
type = "integer"

[[fields]]
name = "track"
type = "integer"
lookup = { item = "tracks", field = "name" }

[[fields]]
name = "track_artist"
type = "integer"
lookup = { item = "tracks", field = "album", field1 = "artist", field2 = "name" }
master_field = "track"

[[fields]]
name = "qty"
type = "integer"

[[fields]]
name = "amount"
type = "float"

[[fields]]
name = "cost"
type = "float"
default_value = 1.125

[[fields]]
name = "discount"
type = "float"

[view]
fields = ["track", "track_artist", "qty", "amount", "cost"]
widths = { cost = 80, qty = 60 }
sort_fields = ["track", "cost"]

[edit]
tabs = [{ caption = "Line", bands = [{ columns = 2, fields = ["track", "track_artist", "qty", "cost"] }] }]
"#;

/// What the clerk must never see: artist names, e-mail addresses, line costs and their sums.
const SECRETS: [&str; 6] = [
    "Secret Artist",
    "secret.example",
    "7.25",
    "3.5",
    "10.75",
    "1.125",
];

/// The shop with its data, and an admin client.
///
/// Artists 1 "Secret Artist A", 2 "Secret Artist B"; albums 1 "Album One" (artist 1), 2
/// "Album Two" (artist 2); tracks 1 "Track One" (album 1), 2 "Track Two" (album 2);
/// customers 1 Zed (a@secret.example, Oslo), 2 Amy (c@…, Rome), 3 Bob (b@…, Oslo); order 1
/// of Zed, note "first", with lines 1 (track 1, qty 2, amount 10, cost 7.25) and 2 (track 2,
/// qty 1, amount 5, cost 3.5); order 2 of Amy, note "second", with line 3 (track 1, amount
/// 4, cost 2.75, discount 0.5).
fn shop() -> (TestServer, Client) {
    let server = TestServer::from_files(&[
        ("jamrs.toml", TASK),
        ("items/artists.toml", ARTISTS),
        ("items/albums.toml", ALBUMS),
        ("items/tracks.toml", TRACKS),
        ("items/customers.toml", CUSTOMERS),
        ("items/orders.toml", ORDERS),
        ("items/lines.toml", LINES),
    ]);
    let admin = server.client();
    common::insert(
        &admin,
        "artists",
        &[
            json!({"name": "Secret Artist A", "country": "NZ"}),
            json!({"name": "Secret Artist B", "country": "SE"}),
        ],
    );
    common::insert(
        &admin,
        "albums",
        &[
            json!({"title": "Album One", "artist": 1}),
            json!({"title": "Album Two", "artist": 2}),
        ],
    );
    common::insert(
        &admin,
        "tracks",
        &[
            json!({"name": "Track One", "album": 1, "artist": 1}),
            json!({"name": "Track Two", "album": 2, "artist": 2}),
        ],
    );
    common::insert(
        &admin,
        "customers",
        &[
            json!({"name": "Zed", "email": "a@secret.example", "city": "Oslo"}),
            json!({"name": "Amy", "email": "c@secret.example", "city": "Rome"}),
            json!({"name": "Bob", "email": "b@secret.example", "city": "Oslo"}),
        ],
    );
    let line = |track: i64, qty: i64, amount: f64, cost: f64, discount: Value| {
        json!({"op": "insert", "values": {"track": track, "qty": qty, "amount": amount,
               "cost": cost, "discount": discount}})
    };
    apply_ids(
        &admin,
        "orders",
        json!([
            {"op": "insert", "values": {"customer": 1, "note": "first"}, "details": {"lines": [
                line(1, 2, 10.0, 7.25, Value::Null), line(2, 1, 5.0, 3.5, Value::Null)]}},
            {"op": "insert", "values": {"customer": 2, "note": "second"}, "details": {"lines": [
                line(1, 1, 4.0, 2.75, json!(0.5))]}},
        ]),
    );
    (server, admin)
}

/// Logs in a new user with `role`.
fn as_role(server: &TestServer, role: &str) -> Client {
    server.add_user(role, role, None);
    server.login(role, PASSWORD)
}

#[track_caller]
fn assert_no_secrets(what: &str, body: &Value) {
    let text = body.to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

fn item<'a>(task: &'a Value, name: &str) -> Option<&'a Value> {
    task["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
}

// ---------------------------------------------------------------------------------------------
// Item privileges

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Open,
    Insert,
    Update,
    Delete,
}

/// Tries `op` on `artists` (a top-level item) and on `lines` (a detail, through order 1);
/// returns both replies.
fn attempt(c: &Client, admin: &Client, op: Op) -> [(u16, Value); 2] {
    // Rows made for this attempt, so every attempt finds what it needs.
    let artist = common::insert(admin, "artists", &[json!({"name": "Extra"})])[0];
    let reply = ok(admin.apply(
        "orders",
        &json!({"changes": [{"op": "update", "id": 1, "details": {"lines": [
            {"op": "insert", "values": {"track": 1, "qty": 1, "amount": 1}}]}}]}),
    ));
    let line = reply["changes"][0]["details"]["lines"][0]["id"]
        .as_i64()
        .unwrap();
    let through_order = |change: Value| {
        c.apply(
            "orders",
            &json!({"changes": [{"op": "update", "id": 1, "details": {"lines": [change]}}]}),
        )
    };
    match op {
        Op::Open => [
            c.open("artists", &json!({})),
            c.open("lines", &json!({"master": 1})),
        ],
        Op::Insert => [
            c.apply(
                "artists",
                &json!({"changes": [{"op": "insert", "values": {"name": "New"}}]}),
            ),
            through_order(json!({"op": "insert", "values": {"track": 2, "qty": 9}})),
        ],
        Op::Update => [
            c.apply(
                "artists",
                &json!({"changes": [{"op": "update", "id": artist, "values": {"country": "FR"}}]}),
            ),
            through_order(json!({"op": "update", "id": line, "values": {"qty": 9}})),
        ],
        Op::Delete => [
            c.apply(
                "artists",
                &json!({"changes": [{"op": "delete", "id": artist}]}),
            ),
            through_order(json!({"op": "delete", "id": line})),
        ],
    }
}

/// Reference §5.3: view, create, edit and delete each deny exactly their operation, at the top
/// level and per detail level, and a refused apply changes nothing.
#[test]
fn each_privilege_flag_denies_exactly_its_operation() {
    let (server, admin) = shop();
    let ops = [Op::Open, Op::Insert, Op::Update, Op::Delete];
    for (role, denied) in [
        ("no_view", Op::Open),
        ("no_create", Op::Insert),
        ("no_edit", Op::Update),
        ("no_delete", Op::Delete),
        ("admin", Op::Open),
    ] {
        let c = if role == "admin" {
            server.client()
        } else {
            as_role(&server, role)
        };
        for op in ops {
            let replies = attempt(&c, &admin, op);
            for (level, reply) in ["artists", "lines"].iter().zip(&replies) {
                let what = format!("{role} {op:?} on {level}");
                if role != "admin" && op == denied {
                    let err = assert_error(reply, 403, "forbidden");
                    let expected = match (op, *level) {
                        (Op::Open, _) => vec![],
                        (_, "artists") => vec!["changes[0]".to_string()],
                        _ => vec!["changes[0].lines[0]".to_string()],
                    };
                    assert_eq!(error_fields(&err), expected, "{what}: {err}");
                    let verb = match op {
                        Op::Open => "view",
                        Op::Insert => "create",
                        Op::Update => "edit",
                        Op::Delete => "delete",
                    };
                    let message = err["message"].as_str().unwrap();
                    assert!(message.contains(verb), "{what}: {message}");
                } else {
                    assert_eq!(reply.0, 200, "{what}: {}", reply.1);
                }
            }
        }
    }
}

/// The same, with the database compared around each refused change.
#[test]
fn a_refused_change_changes_nothing() {
    let (server, admin) = shop();
    for (role, op) in [
        ("no_create", Op::Insert),
        ("no_edit", Op::Update),
        ("no_delete", Op::Delete),
    ] {
        let c = as_role(&server, role);
        let artist = common::insert(&admin, "artists", &[json!({"name": "Kept"})])[0];
        let before = server.db_snapshot();
        let change = match op {
            Op::Insert => json!({"op": "insert", "values": {"name": "New"}}),
            Op::Update => json!({"op": "update", "id": artist, "values": {"name": "Changed"}}),
            _ => json!({"op": "delete", "id": artist}),
        };
        // An allowed change first: it must be rolled back with the refused one.
        let allowed = match op {
            Op::Insert => json!({"op": "update", "id": 1, "values": {"country": "AU"}}),
            _ => json!({"op": "insert", "values": {"name": "Also new"}}),
        };
        let reply = c.apply("artists", &json!({"changes": [allowed, change]}));
        let err = assert_error(&reply, 403, "forbidden");
        assert_eq!(error_fields(&err), ["changes[1]"], "{role}");
        assert_eq!(server.db_snapshot(), before, "{role}");
    }
}

#[test]
fn task_gives_each_role_its_privileges() {
    let (server, _admin) = shop();
    let flags = |view, create, edit, delete| json!({"can_view": view, "can_create": create, "can_edit": edit, "can_delete": delete});
    for (role, expected) in [
        ("no_create", flags(true, false, true, true)),
        ("no_edit", flags(true, true, false, true)),
        ("no_delete", flags(true, true, true, false)),
    ] {
        let task = ok(as_role(&server, role).get("/api/task"));
        assert_eq!(task["user"]["role_name"], role);
        for item in [
            "artists",
            "albums",
            "tracks",
            "customers",
            "orders",
            "lines",
        ] {
            assert_eq!(task["privileges"][item], expected, "{role} {item}");
        }
        assert_eq!(task["items"].as_array().unwrap().len(), 6);
    }
    // An item the role cannot view is not in the task at all.
    let task = ok(as_role(&server, "no_view").get("/api/task"));
    assert_eq!(task["privileges"], json!({}));
    assert_eq!(task["items"], json!([]));
    for g in task["groups"].as_array().unwrap() {
        assert_eq!(g["items"], json!([]), "{g}");
    }
    assert_no_secrets("the task of no_view", &task);
    assert!(!task.to_string().contains("customer_email"), "{task}");
}

/// A role that may change but not view an item gets no values back from apply: an update
/// with any value would otherwise read the whole row.
#[test]
fn apply_gives_a_role_without_view_no_values() {
    let (server, admin) = shop();
    let c = as_role(&server, "no_view");
    for expanded in [false, true] {
        let reply = ok(c.apply(
            "customers",
            &json!({"expanded": expanded, "changes": [
                {"op": "update", "id": 1, "values": {"city": "Bergen"}},
                {"op": "insert", "values": {"name": "New"}}]}),
        ));
        let changes = reply["changes"].as_array().unwrap();
        assert_eq!(changes[0], json!({"op": "update", "id": 1}), "{reply}");
        assert_eq!(changes[1]["op"], "insert");
        assert!(changes[1]["id"].is_i64());
        assert_eq!(changes[1].as_object().unwrap().len(), 2, "{reply}");
        assert_no_secrets("apply of no_view", &reply);
        let reply = ok(c.apply(
            "orders",
            &json!({"expanded": expanded, "changes": [
                {"op": "update", "id": 1, "values": {"note": "seen?"}, "details": {"lines": [
                    {"op": "update", "id": 1, "values": {"qty": 3}}]}}]}),
        ));
        assert_eq!(
            reply["changes"][0],
            json!({"op": "update", "id": 1, "details": {"lines": [{"op": "update", "id": 1}]}}),
        );
    }
    // The changes were made.
    let city = ok(admin.open(
        "customers",
        &json!({"fields": ["city"], "filters": [["id", "eq", 1]]}),
    ));
    assert_eq!(city["rows"], json!([["Bergen"]]));
}

/// Reference §7.6: a detail's rows need view on the detail and on its master.
#[test]
fn details_need_view_on_the_detail_and_on_its_master() {
    let (server, _admin) = shop();
    let lines_only = as_role(&server, "lines_only");
    let err = assert_error(
        &lines_only.open("lines", &json!({"master": {"item": "orders", "id": 1}})),
        403,
        "forbidden",
    );
    assert!(
        err["message"].as_str().unwrap().contains("\"orders\""),
        "{err}"
    );
    assert_error(&lines_only.open("orders", &json!({})), 403, "forbidden");
    let before = server.db_snapshot();
    let err = assert_error(
        &lines_only.apply(
            "orders",
            &json!({"changes": [{"op": "update", "id": 1, "details": {"lines": [
                {"op": "update", "id": 1, "values": {"qty": 7}}]}}]}),
        ),
        403,
        "forbidden",
    );
    assert_eq!(error_fields(&err), ["changes[0]"]);
    // Nor can the detail be changed on its own.
    assert_error(
        &lines_only.apply(
            "lines",
            &json!({"changes": [{"op": "update", "id": 1, "values": {"qty": 7}}]}),
        ),
        400,
        "bad_request",
    );
    assert_eq!(server.db_snapshot(), before);
    let task = ok(lines_only.get("/api/task"));
    assert!(item(&task, "orders").is_none());
    assert_eq!(item(&task, "lines").unwrap()["masters"], json!([]));

    let orders_only = as_role(&server, "orders_only");
    let before = server.db_snapshot();
    assert_error(
        &orders_only.open("lines", &json!({"master": 1})),
        403,
        "forbidden",
    );
    assert_eq!(ids(&orders_only, "orders", json!({})), [1, 2]);
    let err = assert_error(
        &orders_only.apply(
            "orders",
            &json!({"changes": [{"op": "insert", "values": {"customer": 1}, "details": {"lines": [
                {"op": "insert", "values": {"track": 1}}]}}]}),
        ),
        403,
        "forbidden",
    );
    assert_eq!(error_fields(&err), ["changes[0].lines[0]"]);
    assert_eq!(server.db_snapshot(), before);
    let task = ok(orders_only.get("/api/task"));
    assert!(item(&task, "lines").is_none());
    assert_eq!(item(&task, "orders").unwrap()["details"], json!([]));
    // With expanded, the calculated total over lines is still the order's own field.
    let rows = ok(orders_only.open(
        "orders",
        &json!({"expanded": true, "fields": ["id", "total"], "order": ["id"]}),
    ));
    assert_eq!(rows["rows"], json!([[1, 15.0], [2, 4.0]]));
}

// ---------------------------------------------------------------------------------------------
// Prohibited fields in open params

/// Each case: item, open params, and the place the 403 names. Every case is a valid request
/// for the admin (checked), so only the restriction can refuse it.
fn open_cases() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        // customers.email itself, in every parameter.
        (
            "customers",
            json!({"fields": ["name", "email"]}),
            "fields[1]",
        ),
        (
            "customers",
            json!({"filters": [["email", "eq", "x"]]}),
            "filters[0]",
        ),
        (
            "customers",
            json!({"filters": [["email", "isnull", true]]}),
            "filters[0]",
        ),
        (
            "customers",
            json!({"filters": [["name", "eq", "x"], [[["city", "eq", "Oslo"]], [["email", "contains", "a"]]]]}),
            "filters[1][1][0]",
        ),
        ("customers", json!({"order": [["email", true]]}), "order[0]"),
        (
            "customers",
            json!({"order": ["name", "-email"]}),
            "order[1]",
        ),
        (
            "customers",
            json!({"fields": ["city"], "group_by": ["city", "email"]}),
            "group_by[1]",
        ),
        (
            "customers",
            json!({"fields": ["id"], "funcs": {"id": "count", "email": "max"}}),
            "funcs.email",
        ),
        (
            "customers",
            json!({"search": {"field": "email", "text": "secret"}}),
            "search",
        ),
        (
            "customers",
            json!({"search": ["email", "secret"]}),
            "search",
        ),
        (
            "customers",
            json!({"summary": true, "fields": ["id", "email"], "funcs": {"email": "count"}}),
            "fields[1]",
        ),
        // orders.customer_email: a master field showing customers.email.
        (
            "orders",
            json!({"fields": ["customer_email"], "expanded": true}),
            "fields[0]",
        ),
        (
            "orders",
            json!({"filters": [["customer_email", "contains", "secret"]]}),
            "filters[0]",
        ),
        (
            "orders",
            json!({"filters": [["customer_email", "eq", 1]]}),
            "filters[0]",
        ),
        (
            "orders",
            json!({"order": [["customer_email", false]], "expanded": true}),
            "order[0]",
        ),
        (
            "orders",
            json!({"search": ["customer_email", "secret"]}),
            "search",
        ),
        // orders.cost_total: a calculated field over lines.cost.
        (
            "orders",
            json!({"fields": ["id", "cost_total"], "expanded": true}),
            "fields[1]",
        ),
        (
            "orders",
            json!({"order": [["cost_total", true]], "expanded": true}),
            "order[0]",
        ),
        (
            "orders",
            json!({"filters": [["cost_total", "gt", 1]], "expanded": true}),
            "filters[0]",
        ),
        // albums.artist: a lookup showing artists.name.
        (
            "albums",
            json!({"fields": ["title", "artist"]}),
            "fields[1]",
        ),
        (
            "albums",
            json!({"filters": [["artist", "eq", 1]]}),
            "filters[0]",
        ),
        (
            "albums",
            json!({"filters": [["artist", "contains", "Secret"]]}),
            "filters[0]",
        ),
        (
            "albums",
            json!({"filters": [["artist", "in_l", ["x"]]]}),
            "filters[0]",
        ),
        (
            "albums",
            json!({"order": [["artist", false]], "expanded": true}),
            "order[0]",
        ),
        (
            "albums",
            json!({"fields": ["title"], "group_by": ["title", "artist"]}),
            "group_by[1]",
        ),
        (
            "albums",
            json!({"fields": ["id"], "funcs": {"id": "count", "artist": "count"}}),
            "funcs.artist",
        ),
        // tracks.artist: two levels down to artists.name.
        (
            "tracks",
            json!({"fields": ["artist"], "expanded": true}),
            "fields[0]",
        ),
        (
            "tracks",
            json!({"search": {"field": "artist", "text": "Secret"}}),
            "search",
        ),
        (
            "tracks",
            json!({"order": ["-artist"], "expanded": true}),
            "order[0]",
        ),
        // lines: cost itself, and track_artist three levels down.
        (
            "lines",
            json!({"master": 1, "fields": ["cost"]}),
            "fields[0]",
        ),
        (
            "lines",
            json!({"master": 1, "filters": [["cost", "gt", 0]]}),
            "filters[0]",
        ),
        (
            "lines",
            json!({"master": 1, "fields": ["id"], "funcs": {"id": "count", "cost": "sum"}}),
            "funcs.cost",
        ),
        (
            "lines",
            json!({"master": 1, "fields": ["track_artist"], "expanded": true}),
            "fields[0]",
        ),
        (
            "lines",
            json!({"master": 1, "filters": [["track_artist", "contains", "Secret"]]}),
            "filters[0]",
        ),
        // artists.name itself.
        ("artists", json!({"fields": ["name"]}), "fields[0]"),
        ("artists", json!({"search": ["name", "Secret"]}), "search"),
    ]
}

#[test]
fn prohibited_fields_are_refused_in_every_open_param() {
    let (server, admin) = shop();
    let clerk = as_role(&server, "clerk");
    for (item, params, at) in open_cases() {
        let what = format!("{item} {params}");
        assert_eq!(admin.open(item, &params).0, 200, "the admin may: {what}");
        let err = assert_error(&clerk.open(item, &params), 403, "forbidden");
        assert_eq!(error_fields(&err), [at], "{what}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains("may not use field"), "{what}: {message}");
        assert_no_secrets(&what, &err);
    }
}

/// Read-only is about writing: a read-only field is shown and usable in every open param.
#[test]
fn read_only_fields_can_be_read_and_queried() {
    let (server, _admin) = shop();
    let clerk = as_role(&server, "clerk");
    let rows = ok(clerk.open(
        "orders",
        &json!({"fields": ["id", "note"], "filters": [["note", "contains", "s"]],
                "order": [["note", true]], "search": ["note", "first"]}),
    ));
    assert_eq!(rows["rows"], json!([[1, "first"]]));
    let grouped = ok(clerk.open(
        "lines",
        &json!({"master": 2, "fields": ["discount"], "group_by": ["discount"],
                "funcs": {"discount": "max"}}),
    ));
    assert_eq!(grouped["rows"], json!([[0.5]]));
}

/// Reference §5.4 and §7.9: what a clerk opens, however it asks, holds no prohibited value;
/// the admin's replies to the same requests do (so the check can fail).
#[test]
fn prohibited_values_never_leak_into_open_replies() {
    let (server, admin) = shop();
    let clerk = as_role(&server, "clerk");
    let requests = [
        ("customers", json!({})),
        ("customers", json!({"expanded": true})),
        ("customers", json!({"filters": [["city", "eq", "Oslo"]]})),
        ("orders", json!({"expanded": true})),
        (
            "orders",
            json!({"expanded": true, "fields": ["id", "customer", "total"]}),
        ),
        (
            "orders",
            json!({"expanded": true, "filters": [["customer", "contains", "e"]]}),
        ),
        ("albums", json!({"expanded": true})),
        ("tracks", json!({"expanded": true})),
        ("lines", json!({"master": 1, "expanded": true})),
        (
            "lines",
            json!({"master": 2, "expanded": true, "group_by": ["track"], "fields": ["track", "amount"], "funcs": {"amount": "sum"}}),
        ),
        ("artists", json!({"expanded": true})),
    ];
    let mut admin_saw = String::new();
    for (item, params) in &requests {
        let what = format!("{item} {params}");
        let reply = ok(clerk.open(item, params));
        assert_no_secrets(&what, &reply);
        admin_saw.push_str(&ok(admin.open(item, params)).to_string());
    }
    for secret in SECRETS {
        if secret != "1.125" && secret != "10.75" {
            assert!(admin_saw.contains(secret), "the admin sees {secret}");
        }
    }

    // The columns the clerk gets.
    let fields = |item: &str, params: Value| ok(clerk.open(item, &params))["fields"].clone();
    assert_eq!(
        fields("customers", json!({})),
        json!(["id", "name", "city"])
    );
    assert_eq!(
        fields("orders", json!({"expanded": true})),
        json!(["id", "customer", "note", "total", "customer.text"])
    );
    assert_eq!(
        fields("albums", json!({"expanded": true})),
        json!(["id", "title"])
    );
    assert_eq!(
        fields("tracks", json!({"expanded": true})),
        json!(["id", "name", "album", "album.text"])
    );
    assert_eq!(
        fields("lines", json!({"master": 1, "expanded": true})),
        json!([
            "id",
            "order_id",
            "track",
            "qty",
            "amount",
            "discount",
            "track.text"
        ])
    );
    assert_eq!(fields("artists", json!({})), json!(["id", "country"]));
}

/// An item's default order on a prohibited field would sort by it: an oracle for its values.
#[test]
fn the_default_order_skips_prohibited_fields() {
    let (server, admin) = shop();
    let clerk = as_role(&server, "clerk");
    let order = |c: &Client| common::ints(&ok(c.open("customers", &json!({}))), "id");
    assert_eq!(order(&admin), [1, 3, 2], "by email: a@, b@, c@");
    assert_eq!(order(&clerk), [2, 3, 1], "by name only: Amy, Bob, Zed");
}

// ---------------------------------------------------------------------------------------------
// Prohibited and read-only fields in apply

/// Each case: item, changes, the fields the 403 names. The admin may make each change.
fn apply_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let line = |change: Value| json!([{"op": "update", "id": 1, "details": {"lines": [change]}}]);
    vec![
        // Prohibited.
        (
            "customers",
            json!([{"op": "insert", "values": {"name": "N", "email": "x@y"}}]),
            vec!["changes[0].email"],
        ),
        (
            "customers",
            json!([{"op": "update", "id": 1, "values": {"email": "x@y"}}]),
            vec!["changes[0].email"],
        ),
        (
            "customers",
            json!([{"op": "update", "id": 1, "values": {"email": null}}]),
            vec!["changes[0].email"],
        ),
        (
            "albums",
            json!([{"op": "update", "id": 1, "values": {"artist": 2}}]),
            vec!["changes[0].artist"],
        ),
        (
            "tracks",
            json!([{"op": "insert", "values": {"name": "T", "artist": 1}}]),
            vec!["changes[0].artist"],
        ),
        (
            "artists",
            json!([{"op": "update", "id": 1, "values": {"country": "X", "name": "Y"}}]),
            vec!["changes[0].name"],
        ),
        (
            "orders",
            line(json!({"op": "insert", "values": {"track": 1, "qty": 1, "cost": 9}})),
            vec!["changes[0].lines[0].cost"],
        ),
        (
            "orders",
            line(json!({"op": "update", "id": 2, "values": {"cost": 0}})),
            vec!["changes[0].lines[0].cost"],
        ),
        // Read-only: refused, never silently dropped.
        (
            "orders",
            json!([{"op": "insert", "values": {"customer": 1, "note": "x"}}]),
            vec!["changes[0].note"],
        ),
        (
            "orders",
            json!([{"op": "update", "id": 1, "values": {"note": "x"}}]),
            vec!["changes[0].note"],
        ),
        (
            "orders",
            line(json!({"op": "update", "id": 1, "values": {"qty": 5, "discount": 0.1}})),
            vec!["changes[0].lines[0].discount"],
        ),
        (
            "orders",
            json!([{"op": "insert", "values": {"customer": 2}, "details": {"lines": [
                {"op": "insert", "values": {"track": 1}},
                {"op": "insert", "values": {"track": 2, "discount": 1}}]}}]),
            vec!["changes[0].lines[1].discount"],
        ),
        // Several at once, after a change that alone would be allowed.
        (
            "orders",
            json!([{"op": "update", "id": 2, "values": {"customer": 3}},
                   {"op": "update", "id": 1, "values": {"note": "x"}},
                   {"op": "insert", "values": {"customer": 1, "note": "y"}}]),
            vec!["changes[1].note", "changes[2].note"],
        ),
    ]
}

#[test]
fn prohibited_and_read_only_fields_are_refused_on_every_apply_path() {
    let (server, admin) = shop();
    let clerk = as_role(&server, "clerk");
    for (item, changes, fields) in apply_cases() {
        let what = format!("{item} {changes}");
        let before = server.db_snapshot();
        let delta = json!({ "changes": changes });
        let err = assert_error(&clerk.apply(item, &delta), 403, "forbidden");
        assert_eq!(error_fields(&err), fields, "{what}: {err}");
        let message = err["message"].as_str().unwrap();
        match fields.as_slice() {
            [one] => {
                let name = one.rsplit('.').next().unwrap();
                assert!(message.contains(name), "{what}: {message}");
            }
            many => assert!(
                message.contains(&format!("{} fields", many.len())),
                "{what}: {message}"
            ),
        }
        assert_eq!(server.db_snapshot(), before, "{what} changed data");
        assert_no_secrets(&what, &err);
        // The refusal is the role's: the admin's same change goes through.
        assert_eq!(admin.apply(item, &delta).0, 200, "{what}");
    }
}

#[test]
fn a_role_that_may_not_see_a_field_leaves_it_as_it_is() {
    let (server, _admin) = shop();
    let clerk = as_role(&server, "clerk");
    let email = |id: i64| {
        server.db_query(&format!("SELECT email FROM customers WHERE id = {id}"))[0][0].clone()
    };
    // Jam.py's client sends the whole record back: here that is every field the clerk sees.
    ok(clerk.apply(
        "customers",
        &json!({"changes": [{"op": "update", "id": 1, "values": {"id": 1, "name": "Zed Z", "city": "Oslo"}}]}),
    ));
    assert_eq!(
        email(1),
        rusqlite::types::Value::Text("a@secret.example".into())
    );
    // An insert gets the field's default, which the reply leaves out.
    let reply = ok(clerk.apply(
        "customers",
        &json!({"changes": [{"op": "insert", "values": {"name": "New"}}]}),
    ));
    let values = reply["changes"][0]["values"].as_object().unwrap();
    let mut keys: Vec<&String> = values.keys().collect();
    keys.sort();
    assert_eq!(keys, ["city", "id", "name"], "{reply}");
    let id = reply["changes"][0]["id"].as_i64().unwrap();
    assert_eq!(
        email(id),
        rusqlite::types::Value::Text("none@secret.example".into())
    );
}

/// What apply returns, expanded or not and at every detail level, leaves out prohibited
/// fields and everything that shows them.
#[test]
fn apply_results_leave_out_prohibited_fields() {
    let (server, _admin) = shop();
    let clerk = as_role(&server, "clerk");
    for expanded in [false, true] {
        let reply = ok(clerk.apply(
            "orders",
            &json!({"expanded": expanded, "changes": [
                {"op": "insert", "values": {"customer": 1}, "details": {"lines": [
                    {"op": "insert", "values": {"track": 1, "qty": 1, "amount": 2}}]}},
                {"op": "update", "id": 1, "values": {"customer": 2}, "details": {"lines": [
                    {"op": "update", "id": 1, "values": {"qty": 4}}]}}]}),
        ));
        assert_no_secrets("apply", &reply);
        for change in reply["changes"].as_array().unwrap() {
            let mut keys: Vec<&String> = change["values"].as_object().unwrap().keys().collect();
            keys.sort();
            let expected: &[&str] = if expanded {
                &["customer", "customer.text", "id", "note", "total"]
            } else {
                &["customer", "id", "note"]
            };
            assert_eq!(keys, expected, "{reply}");
            let line = &change["details"]["lines"][0]["values"];
            let mut keys: Vec<&String> = line.as_object().unwrap().keys().collect();
            keys.sort();
            let expected: &[&str] = if expanded {
                &[
                    "amount",
                    "discount",
                    "id",
                    "order_id",
                    "qty",
                    "track",
                    "track.text",
                ]
            } else {
                &["amount", "discount", "id", "order_id", "qty", "track"]
            };
            assert_eq!(keys, expected, "{reply}");
        }
    }
    let albums = ok(clerk.apply(
        "albums",
        &json!({"expanded": true, "changes": [{"op": "update", "id": 1, "values": {"title": "Renamed"}}]}),
    ));
    assert_eq!(
        albums["changes"][0]["values"],
        json!({"id": 1, "title": "Renamed"})
    );
}

// ---------------------------------------------------------------------------------------------
// GET /api/task

#[test]
fn task_leaves_out_prohibited_fields_and_marks_read_only_ones() {
    let (server, admin) = shop();
    let clerk = as_role(&server, "clerk");
    let task = ok(clerk.get("/api/task"));
    assert_no_secrets("task", &task);
    let user_id = server.db_int("SELECT id FROM jamrs_users WHERE login = 'clerk'");
    assert_eq!(
        task["user"],
        json!({"user_id": user_id, "user_name": "clerk", "role_id": 2, "role_name": "clerk",
               "tenant_id": null, "login": "clerk"})
    );
    let fields = |name: &str| names(&item(&task, name).unwrap()["fields"]);
    assert_eq!(fields("artists"), ["id", "country"]);
    assert_eq!(fields("albums"), ["id", "title"]);
    assert_eq!(fields("tracks"), ["id", "name", "album"]);
    assert_eq!(fields("customers"), ["id", "name", "city"]);
    assert_eq!(fields("orders"), ["id", "customer", "note", "total"]);
    assert_eq!(
        fields("lines"),
        ["id", "order_id", "track", "qty", "amount", "discount"]
    );
    let customers = item(&task, "customers").unwrap();
    assert_eq!(names(&customers["filters"]), ["city"]);
    assert_eq!(customers["default_order"], json!([["name", false]]));
    // The totals row: what the author chose, without a prohibited field; null when unchosen.
    assert_eq!(customers["summary_fields"], Value::Null);
    assert_eq!(
        item(&task, "lines").unwrap()["summary_fields"],
        json!(["qty", "amount"])
    );
    // Form layouts name no prohibited field either (the artist, the cost).
    let lines = item(&task, "lines").unwrap();
    assert_eq!(
        lines["view"],
        json!({"fields": ["track", "qty", "amount"], "widths": {"qty": 60},
               "sort_fields": ["track"], "search_field": null, "width": null})
    );
    assert_eq!(
        lines["edit"]["tabs"],
        json!([{"caption": "Line", "bands": [{"caption": null, "columns": 2, "fields": ["track", "qty"]}]}])
    );
    let admin_task = ok(admin.get("/api/task"));
    assert_eq!(
        item(&admin_task, "lines").unwrap()["view"]["fields"],
        json!(["track", "track_artist", "qty", "amount", "cost"])
    );
    let read_only = |task: &Value, it: &str, field: &str| {
        item(task, it).unwrap()["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == field)
            .unwrap()["read_only"]
            .clone()
    };
    assert_eq!(read_only(&task, "orders", "note"), true);
    assert_eq!(read_only(&task, "lines", "discount"), true);
    assert_eq!(read_only(&task, "lines", "qty"), false);

    // The admin's task has all of it (so the checks above can fail).
    let full = ok(admin.get("/api/task"));
    assert_eq!(read_only(&full, "orders", "note"), false);
    assert_eq!(
        names(&item(&full, "orders").unwrap()["fields"]),
        [
            "id",
            "customer",
            "customer_email",
            "note",
            "total",
            "cost_total"
        ]
    );
    assert_eq!(
        names(&item(&full, "customers").unwrap()["filters"]),
        ["email", "city"]
    );
    assert!(full.to_string().contains("\"artist\""));
}
