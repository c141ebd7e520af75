//! The worlds the tenancy attacks run in: the same users and data kept apart by the seed's
//! recipe alone, by built-in `[tenancy]` alone, by both, and by organisation (`tenant_id`).
//!
//! The shop: `categories` (shared by everyone, with calculated fields over the notes and the
//! lines that use them, as Jam.py demo's `tracks_sold` sums invoice lines), `contacts` and
//! `notes` (each user's own, with a tenant column; contacts have a unique index on email and
//! tenant), and `lines`, a detail of notes (with the tenant column under built-in tenancy,
//! without it under the recipe alone). Notes look up categories and contacts (and show the
//! contact's email through a master field); lines look up contacts and categories.
//! `notes.secret` is prohibited for the role `user`.
//!
//! Every text a user's data holds carries the user's login (`"alice: note 1"`), so a reply can
//! be searched for another user's text.

use serde_json::{Value, json};

use super::{Client, PASSWORD, Snapshot, TestServer, assert_error, insert};

/// How a world keeps users' rows apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// `examples/seed_item` unchanged: the seed's first block as `items/notes.py`.
    SeedItem,
    /// `examples/seed_task` unchanged: the seed's second block as `task.py`.
    SeedTask,
    /// The shop with the seed's `task.py` (from `examples/seed_task`) and no `[tenancy]`.
    Recipe,
    /// The shop with `[tenancy] column = "user_id"` and no Python.
    Builtin,
    /// The shop with the seed's `task.py` and `[tenancy] column = "user_id"`.
    Both,
    /// The shop with `[tenancy] column = "tenant_id"`: alice and carol are organisation 101,
    /// bob is organisation 202.
    Org,
}

impl Setup {
    /// The seed's recipe alone keeps rows apart (no `[tenancy]`).
    pub fn recipe_alone(self) -> bool {
        matches!(self, Setup::SeedItem | Setup::SeedTask | Setup::Recipe)
    }

    /// The project has `[tenancy]`.
    pub fn builtin(self) -> bool {
        !self.recipe_alone()
    }

    /// The shop's items (details, calculated fields, a prohibited field) are there.
    pub fn shop(self) -> bool {
        !matches!(self, Setup::SeedItem | Setup::SeedTask)
    }

    /// The project has `contacts`, a per-user item that notes look up.
    pub fn has_contacts(self) -> bool {
        self != Setup::SeedItem
    }

    /// The tenant column.
    pub fn column(self) -> &'static str {
        if self == Setup::Org {
            "tenant_id"
        } else {
            "user_id"
        }
    }
}

/// The seed's task module, as `examples/seed_task` has it (`seed_recipe.rs` checks it is the
/// seed's text byte for byte).
pub fn seed_task_py() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed_task/task.py");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shop's `jamrs.toml` (`extra` goes after the top-level keys: settings such as
/// `raw_sql = true`).
pub fn shop_task(setup: Setup, extra: &str) -> String {
    let tenancy = if setup.builtin() {
        format!("[tenancy]\ncolumn = \"{}\"\n", setup.column())
    } else {
        String::new()
    };
    let all_tenants = if setup.builtin() {
        "all_tenants = true\n"
    } else {
        ""
    };
    format!(
        r#"name = "shop"
safe_mode = true
{extra}

{tenancy}
[[groups]]
name = "catalogs"
items = ["categories", "contacts"]

[[groups]]
name = "journals"
items = ["notes"]

[[groups]]
name = "details"
visible = false
items = ["lines"]

[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]
{all_tenants}
[[roles]]
id = 2
name = "user"
default = ["view", "create", "edit", "delete"]
fields = {{ "notes.secret" = "prohibited" }}
"#
    )
}

const CATEGORIES: &str = r#"soft_delete = true
default_order = ["name"]

[[fields]]
name = "name"
type = "text"
size = 100
required = true

[[fields]]
name = "notes_amount"
type = "float"
calc = { item = "notes", field = "amount", link = "category", op = "sum" }

[[fields]]
name = "notes_count"
type = "integer"
calc = { item = "notes", field = "id", link = "category", op = "count" }

[[fields]]
name = "lines_qty"
type = "integer"
calc = { item = "lines", field = "qty", link = "category", op = "sum" }
"#;

fn contacts(column: &str) -> String {
    format!(
        r#"soft_delete = true
default_order = ["name"]

[[fields]]
name = "name"
type = "text"
size = 100
required = true

[[fields]]
name = "email"
type = "text"
size = 100

[[fields]]
name = "{column}"
type = "integer"
visible = false

[[indexes]]
fields = ["email", "{column}"]
unique = true
"#
    )
}

fn notes(column: &str) -> String {
    format!(
        r#"soft_delete = true
default_order = ["id"]
details = ["lines"]

[[fields]]
name = "title"
type = "text"
size = 200
required = true

[[fields]]
name = "amount"
type = "float"

[[fields]]
name = "category"
type = "integer"
lookup = {{ item = "categories", field = "name" }}

[[fields]]
name = "contact"
type = "integer"
lookup = {{ item = "contacts", field = "name" }}

[[fields]]
name = "contact_email"
type = "integer"
lookup = {{ item = "contacts", field = "email" }}
master_field = "contact"

[[fields]]
name = "secret"
type = "text"
size = 100

[[fields]]
name = "{column}"
type = "integer"
visible = false

[[fields]]
name = "lines_qty"
type = "integer"
calc = {{ item = "lines", field = "qty", link = "note", op = "sum" }}

[[indexes]]
fields = ["{column}"]
"#
    )
}

/// Lines: with built-in tenancy they have the tenant column (a detail of a covered item must);
/// with the recipe alone they have none, as Jam.py's recipe expects of details.
fn lines(setup: Setup) -> String {
    let tenant = if setup.builtin() {
        format!(
            "\n[[fields]]\nname = \"{}\"\ntype = \"integer\"\nvisible = false\n",
            setup.column()
        )
    } else {
        String::new()
    };
    format!(
        r#"master_field = "note"
default_order = ["id"]

[[fields]]
name = "note"
type = "integer"
lookup = {{ item = "notes", field = "title" }}

[[fields]]
name = "text"
type = "text"
size = 100

[[fields]]
name = "qty"
type = "integer"

[[fields]]
name = "contact"
type = "integer"
lookup = {{ item = "contacts", field = "name" }}

[[fields]]
name = "category"
type = "integer"
lookup = {{ item = "categories", field = "name" }}
{tenant}"#
    )
}

/// The shop's files for `setup` (`extra` as in [`shop_task`]; `modules` are added, e.g.
/// `("items/notes.py", …)`).
pub fn shop_files(setup: Setup, extra: &str, modules: &[(&str, &str)]) -> Vec<(String, String)> {
    assert!(setup.shop(), "{setup:?} is an example, not the shop");
    let column = setup.column();
    let mut files = vec![
        ("jamrs.toml".to_string(), shop_task(setup, extra)),
        ("items/categories.toml".to_string(), CATEGORIES.to_string()),
        ("items/contacts.toml".to_string(), contacts(column)),
        ("items/notes.toml".to_string(), notes(column)),
        ("items/lines.toml".to_string(), lines(setup)),
    ];
    if matches!(setup, Setup::Recipe | Setup::Both) {
        files.push(("task.py".to_string(), seed_task_py()));
    }
    for (path, text) in modules {
        files.push((path.to_string(), text.to_string()));
    }
    files
}

/// A server on the shop's files.
pub fn shop_server(setup: Setup, extra: &str, modules: &[(&str, &str)]) -> TestServer {
    let files = shop_files(setup, extra, modules);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    TestServer::from_files(&refs)
}

/// The users of a world.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];

/// A running world: the administrator and three users of role `user`, logged in.
pub struct World {
    pub setup: Setup,
    pub server: TestServer,
    pub admin: Client,
    /// alice, bob, carol (in [`USERS`] order).
    pub users: Vec<Client>,
    /// Each user's id (`jamrs_users.id`).
    pub ids: Vec<i64>,
}

impl World {
    /// A world on `setup`'s project with no data but two shared categories, Work (1) and
    /// Home (2).
    pub fn new(setup: Setup) -> World {
        let server = match setup {
            Setup::SeedItem => TestServer::example("seed_item"),
            Setup::SeedTask => TestServer::example("seed_task"),
            _ => shop_server(setup, "", &[]),
        };
        Self::on(setup, server)
    }

    /// A world on a server already started (the shop with extra modules, say).
    pub fn on(setup: Setup, server: TestServer) -> World {
        for login in USERS {
            server.add_user(login, "user", Self::org(setup, login));
        }
        let admin = server.client();
        let users = USERS.iter().map(|l| server.login(l, PASSWORD)).collect();
        let ids = USERS.iter().map(|l| server.user_id(l)).collect();
        let w = World {
            setup,
            server,
            admin,
            users,
            ids,
        };
        assert_eq!(
            insert(
                &w.admin,
                "categories",
                &[json!({"name": "Work"}), json!({"name": "Home"})]
            ),
            [1, 2]
        );
        w
    }

    /// The organisation of a user under tenancy by `tenant_id`.
    pub fn org(setup: Setup, login: &str) -> Option<i64> {
        (setup == Setup::Org).then(|| if login == "bob" { 202 } else { 101 })
    }

    pub fn alice(&self) -> &Client {
        &self.users[0]
    }

    pub fn bob(&self) -> &Client {
        &self.users[1]
    }

    pub fn carol(&self) -> &Client {
        &self.users[2]
    }

    /// The tenant value of user `i` (what the tenant column of their rows holds).
    pub fn tenant(&self, i: usize) -> i64 {
        Self::org(self.setup, USERS[i]).unwrap_or(self.ids[i])
    }

    /// Whether users `i` and `j` share rows (the same user, or one organisation).
    pub fn same_tenant(&self, i: usize, j: usize) -> bool {
        self.tenant(i) == self.tenant(j)
    }

    /// The tenant column of each stored row of `table` (soft-deleted rows included), by id.
    pub fn owners(&self, table: &str) -> Vec<(i64, Option<i64>)> {
        let column = self.setup.column();
        self.server
            .db_query(&format!("SELECT id, {column} FROM {table} ORDER BY id"))
            .into_iter()
            .map(|r| match (&r[0], &r[1]) {
                (rusqlite::types::Value::Integer(id), rusqlite::types::Value::Integer(t)) => {
                    (*id, Some(*t))
                }
                (rusqlite::types::Value::Integer(id), rusqlite::types::Value::Null) => (*id, None),
                other => panic!("{table}: {other:?}"),
            })
            .collect()
    }
}

/// What [`seed`] made for one user.
#[derive(Debug, Clone, Default)]
pub struct Own {
    pub contacts: Vec<i64>,
    pub notes: Vec<i64>,
    /// The lines of each note, in `notes` order (empty without the shop).
    pub lines: Vec<Vec<i64>>,
}

/// Data for alice (user 0) and bob (user 1): each has two contacts (`"<login>: contact 1"`,
/// with an email `<login>-1@example.com`) and two notes (`"<login>: note 1"`, amounts 1 and 2
/// for alice, 10 and 20 for bob; the first in Work, the second in Home; the first looks up the
/// user's first contact), each note with two lines in the shop (quantities 1 and 2 for alice,
/// 10 and 20 for bob; the first line in Work and looking up the user's first contact, the
/// second in Home).
pub fn seed(w: &World) -> Vec<Own> {
    let mut out = Vec::new();
    for (i, c) in w.users.iter().take(2).enumerate() {
        let login = USERS[i];
        let scale = if i == 0 { 1.0 } else { 10.0 };
        let mut own = Own::default();
        if w.setup.has_contacts() {
            own.contacts = insert(
                c,
                "contacts",
                &[
                    json!({"name": format!("{login}: contact 1"), "email": format!("{login}-1@example.com")}),
                    json!({"name": format!("{login}: contact 2"), "email": format!("{login}-2@example.com")}),
                ],
            );
        }
        let note = |n: usize| {
            let mut values = json!({
                "title": format!("{login}: note {n}"),
                "amount": scale * n as f64,
                "category": n,
            });
            if n == 1 && w.setup.has_contacts() {
                values["contact"] = json!(own.contacts[0]);
            }
            let mut change = json!({"op": "insert", "values": values});
            if w.setup.shop() {
                change["details"] = json!({"lines": [
                    {"op": "insert", "values": {"text": format!("{login}: line {n}.1"), "qty": scale as i64, "contact": own.contacts[0], "category": 1}},
                    {"op": "insert", "values": {"text": format!("{login}: line {n}.2"), "qty": 2 * scale as i64, "category": 2}},
                ]});
            }
            change
        };
        let reply = super::ok(c.apply(
            "notes",
            &json!({"changes": [note(1), note(2)], "expanded": false}),
        ));
        for change in reply["changes"].as_array().unwrap() {
            own.notes.push(change["id"].as_i64().unwrap());
            let lines = change["details"]["lines"]
                .as_array()
                .map(|l| l.iter().map(|r| r["id"].as_i64().unwrap()).collect())
                .unwrap_or_default();
            own.lines.push(lines);
        }
        out.push(own);
    }
    out
}

/// Every string in a JSON value, nested ones included.
pub fn strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.iter().for_each(|(k, x)| {
                out.push(k.clone());
                walk(x, out)
            }),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// Whether `s` is a text of user `login`'s data (`"bob: note 1"`, `bob-1@example.com`).
pub fn is_text_of(s: &str, login: &str) -> bool {
    s.strip_prefix(login)
        .is_some_and(|rest| rest.starts_with(": ") || rest.starts_with('-'))
}

/// Panics if `reply` shows any text of another tenant than user `me`'s (texts carry their
/// owner's login: `"bob: note 1"`, `bob-1@example.com`).
#[track_caller]
pub fn assert_only_own_texts(w: &World, me: usize, reply: &Value, what: &str) {
    for s in strings(reply) {
        for (j, other) in USERS.iter().enumerate() {
            if !w.same_tenant(me, j) {
                assert!(
                    !is_text_of(&s, other),
                    "{what}: {} sees {other}'s text {s:?} in {reply}",
                    USERS[me]
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals.

/// The seed recipe's messages.
pub const CHANGE: &str = "You are not allowed to change record.";
pub const DELETE: &str = "You are not allowed to delete record.";

/// Asserts `reply` is the error `status`/`code` and the database is still `before`; returns
/// the error object.
#[track_caller]
pub fn unchanged(
    w: &World,
    before: &Snapshot,
    reply: (u16, Value),
    status: u16,
    code: &str,
) -> Value {
    let err = assert_error(&reply, status, code);
    assert_eq!(&w.server.db_snapshot(), before, "the database changed");
    err
}

/// Sends `request` and asserts it is refused with `status`/`code` and changes nothing.
#[track_caller]
pub fn refused_with(
    w: &World,
    request: impl FnOnce() -> (u16, Value),
    status: u16,
    code: &str,
) -> Value {
    let before = w.server.db_snapshot();
    let reply = request();
    unchanged(w, &before, reply, status, code)
}

/// Asserts that `changes` to another user's rows of `item` are refused and change nothing.
/// The recipe refuses them with its message (`old_value` is read from the database, not sent
/// by the client); built-in tenancy does not find the row at all.
#[track_caller]
pub fn refused(w: &World, c: &Client, item: &str, changes: Value, recipe_message: &str) {
    let before = w.server.db_snapshot();
    let reply = c.apply(item, &json!({ "changes": changes }));
    if w.setup.recipe_alone() {
        let err = unchanged(w, &before, reply, 400, "module_error");
        assert_eq!(err["message"], json!(recipe_message), "{changes}");
    } else {
        unchanged(w, &before, reply, 404, "not_found");
    }
}

/// Runs a scenario `fn(Setup)` on each listed setup as a test of its own:
/// `in_setups! { scenario: test_name => Builtin, other_name => Org; }`.
#[allow(unused_macros)]
macro_rules! in_setups {
    ($($scenario:ident: $($test:ident => $setup:ident),+;)+) => {
        $($(
            #[test]
            fn $test() {
                $scenario(common::tenancy::Setup::$setup);
            }
        )+)+
    };
}
#[allow(unused_imports)]
pub(crate) use in_setups;
