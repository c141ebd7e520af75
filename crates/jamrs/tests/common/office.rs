//! The office: a project for history, record locking and delete integrity, under built-in
//! tenancy by `user_id`.
//!
//! `customers` (history, edit lock, a field `secret` prohibited for the role `user`) are looked
//! up by `invoices` (`on_delete` left at restrict; soft delete; history; a detail `lines` with
//! history and a lookup to `products`), by `notes` (`set_null`, history) and by `visits`
//! (`cascade`, history, with a detail `stops`). `products` are shared by every tenant and
//! looked up by lines (restrict). `contacts` has no history and points at customers with
//! `set_null` as well. The role `reader` views everything but notes.

use serde_json::{Value, json};

use super::{Client, PASSWORD, TestServer};

pub const TASK: &str = r#"name = "office"

[tenancy]
column = "user_id"

[[groups]]
name = "catalogs"
items = ["customers", "products", "contacts"]

[[groups]]
name = "journals"
items = ["invoices", "notes", "visits"]

[[groups]]
name = "details"
visible = false
items = ["lines", "stops"]

[[roles]]
id = 1
name = "admin"
all_tenants = true
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "user"
default = ["view", "create", "edit", "delete"]
fields = { "customers.secret" = "prohibited" }

[[roles]]
id = 3
name = "reader"
default = ["view"]
items = { notes = [] }
"#;

pub const CUSTOMERS: &str = r#"keep_history = true
edit_lock = true

[[fields]]
name = "name"
type = "text"
size = 100
required = true

[[fields]]
name = "secret"
type = "text"
size = 100

[[fields]]
name = "user_id"
type = "integer"
"#;

pub const PRODUCTS: &str = r#"[[fields]]
name = "name"
type = "text"
size = 100
"#;

pub const CONTACTS: &str = r#"[[fields]]
name = "name"
type = "text"
size = 100

[[fields]]
name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }
on_delete = "set_null"

[[fields]]
name = "user_id"
type = "integer"
"#;

pub const INVOICES: &str = r#"soft_delete = true
keep_history = true
edit_lock = true
details = ["lines"]

[[fields]]
name = "number"
type = "text"
size = 20

[[fields]]
name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }

[[fields]]
name = "user_id"
type = "integer"
"#;

pub const LINES: &str = r#"soft_delete = true
keep_history = true
master_field = "invoice"

[[fields]]
name = "invoice"
type = "integer"

[[fields]]
name = "product"
type = "integer"
lookup = { item = "products", field = "name" }

[[fields]]
name = "qty"
type = "integer"

[[fields]]
name = "user_id"
type = "integer"
"#;

pub const NOTES: &str = r#"keep_history = true

[[fields]]
name = "text"
type = "text"
size = 100

[[fields]]
name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }
on_delete = "set_null"

[[fields]]
name = "user_id"
type = "integer"
"#;

pub const VISITS: &str = r#"keep_history = true
details = ["stops"]

[[fields]]
name = "place"
type = "text"
size = 100

[[fields]]
name = "customer"
type = "integer"
lookup = { item = "customers", field = "name" }
on_delete = "cascade"

[[fields]]
name = "user_id"
type = "integer"
"#;

pub const STOPS: &str = r#"keep_history = true
master_field = "visit"

[[fields]]
name = "visit"
type = "integer"

[[fields]]
name = "what"
type = "text"
size = 100

[[fields]]
name = "user_id"
type = "integer"
"#;

/// The office's files, with `replace` swapping whole files (`("items/notes.toml", …)`).
pub fn files<'a>(replace: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut files = vec![
        ("jamrs.toml", TASK),
        ("items/customers.toml", CUSTOMERS),
        ("items/products.toml", PRODUCTS),
        ("items/contacts.toml", CONTACTS),
        ("items/invoices.toml", INVOICES),
        ("items/lines.toml", LINES),
        ("items/notes.toml", NOTES),
        ("items/visits.toml", VISITS),
        ("items/stops.toml", STOPS),
    ];
    for (path, text) in replace {
        match files.iter_mut().find(|(p, _)| p == path) {
            Some(slot) => slot.1 = text,
            None => files.push((path, text)),
        }
    }
    files
}

/// The office with two users of the role `user` (alice and bob, each their own tenant) and
/// a reader (carol).
pub struct Office {
    pub server: TestServer,
    pub admin: Client,
    pub alice: Client,
    pub bob: Client,
    pub carol: Client,
}

impl Office {
    pub fn new() -> Office {
        Office::with(&[])
    }

    pub fn with(replace: &[(&str, &str)]) -> Office {
        let server = TestServer::from_files(&files(replace));
        server.add_user("alice", "user", None);
        server.add_user("bob", "user", None);
        server.add_user("carol", "reader", None);
        Office {
            admin: server.client(),
            alice: server.login("alice", PASSWORD),
            bob: server.login("bob", PASSWORD),
            carol: server.login("carol", PASSWORD),
            server,
        }
    }

    /// Inserts one record and returns its id.
    pub fn insert(&self, c: &Client, item: &str, values: Value) -> i64 {
        let (status, body) = c.apply(
            item,
            &json!({"changes": [{"op": "insert", "values": values}]}),
        );
        assert_eq!(status, 200, "insert into {item}: {body}");
        body["changes"][0]["id"].as_i64().unwrap()
    }

    /// Inserts a master with detail rows and returns the master's id.
    pub fn insert_with(&self, c: &Client, item: &str, values: Value, details: Value) -> i64 {
        let (status, body) = c.apply(
            item,
            &json!({"changes": [{"op": "insert", "values": values, "details": details}]}),
        );
        assert_eq!(status, 200, "insert into {item}: {body}");
        body["changes"][0]["id"].as_i64().unwrap()
    }

    /// `SELECT COUNT(*) FROM <table> WHERE <cond>`.
    pub fn count(&self, table: &str, cond: &str) -> i64 {
        self.server
            .db_int(&format!("SELECT COUNT(*) FROM {table} WHERE {cond}"))
    }
}
