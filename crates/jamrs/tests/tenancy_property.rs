//! The tenancy invariant as a property, over real HTTP: whatever three users send — opens with
//! filters, lookup-text filters, search, order, funcs, group_by, summaries and `expanded`,
//! detail opens with any master, and applies that insert, update and delete notes with their
//! lines, contacts, lookups to any id (other users' included) and a tenant column of their
//! choosing — no answer carries another tenant's row or lookup text, no total counts another
//! tenant's amounts, no other tenant's row in the database changes, and no lookup value that
//! points at another tenant's row is written.
//!
//! The world is the shop of `common::tenancy` with three users, reset to the same data before
//! each case. Texts carry their owner's login (`"bob: note 1"`), and amounts and quantities
//! their owner's scale (alice's are 1–9, bob's thousands, carol's millions), so a reply can be
//! read for anything of another user's. Each step is checked against the database as it was
//! before the step (`db_query`), and a failure prints the whole sequence (shrunk) and the step.
//!
//! Three worlds: built-in tenancy, the seed's recipe (`task.py` of `examples/seed_task`) with
//! built-in tenancy, and the recipe alone. With the recipe alone the engine holds lookup values,
//! detail opens' masters, the tenant column of written rows and the rows calculated fields
//! aggregate to the filters the recipe's `on_open` adds, so every step names any row there too.
//!
//! A failing case is saved in `tests/tenancy_property.proptest-regressions` (its seed, and the
//! shrunk steps as a comment), which the repository keeps: every run replays the saved cases
//! before new ones, so a failure seen once is reproduced by `cargo test`, and stays a
//! regression case once fixed.

#![allow(clippy::unwrap_used)]

mod common;

use std::fmt;

use common::tenancy::{Setup, USERS, World, is_text_of, shop_server, strings};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Steps.

/// A reference to a row by key: any key 1–9 (other users' rows, missing rows and rows added
/// during the case included), or one of the acting user's own two rows of the start data.
#[derive(Clone, Copy)]
enum Key {
    Any(i64),
    Own(i64),
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Any(k) => write!(f, "{k}"),
            Key::Own(k) => write!(f, "own#{k}"),
        }
    }
}

/// JSON params, printed as JSON in a failing sequence.
#[derive(Clone)]
struct Params(Value);

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone)]
enum Detail {
    Insert { qty: i64, contact: Key },
    Update { line: i64, qty: i64 },
    Delete { line: i64 },
}

#[derive(Debug, Clone)]
enum Step {
    /// An open of `item` (`{master}` in the params stands for a note key).
    Open {
        user: usize,
        item: &'static str,
        params: Params,
        master: Option<Key>,
    },
    InsertNote {
        user: usize,
        amount: i64,
        category: i64,
        contact: Key,
        tenant: Option<i64>,
        lines: Vec<Detail>,
    },
    UpdateNote {
        user: usize,
        note: Key,
        amount: Option<i64>,
        contact: Option<Key>,
        tenant: Option<i64>,
        lines: Vec<Detail>,
    },
    DeleteNote {
        user: usize,
        note: Key,
    },
    InsertContact {
        user: usize,
        tenant: Option<i64>,
    },
    UpdateContact {
        user: usize,
        contact: Key,
        tenant: Option<i64>,
    },
    DeleteContact {
        user: usize,
        contact: Key,
    },
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![(1i64..=9).prop_map(Key::Any), (0i64..2).prop_map(Key::Own)]
}

fn digit() -> impl Strategy<Value = i64> {
    1i64..=9
}

/// A user id to write into the tenant column (1 is the administrator, 2–4 the users).
fn tenant() -> impl Strategy<Value = Option<i64>> {
    proptest::option::of(1i64..=5)
}

fn word() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["alice", "bob", "carol", ":", "contact 1", "note", "1"])
}

fn note_filter() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(1i64..=12, 0..4).prop_map(|ids| json!(["id", "in", ids])),
        (1i64..=12).prop_map(|id| json!(["id", "eq", id])),
        (1i64..=9).prop_map(|c| json!(["contact", "eq", c])),
        (
            prop::sample::select(vec![
                "contains",
                "contains_l",
                "eq_l",
                "startwith_l",
                "contains_all"
            ]),
            word()
        )
            .prop_map(|(op, w)| json!(["contact", op, w])),
        word().prop_map(|w| json!(["title", "contains", w])),
        (1i64..=5).prop_map(|u| json!(["user_id", "eq", u])),
        (1i64..=5).prop_map(|u| json!([[["id", "ge", 0]], [["user_id", "eq", u]]])),
        (0i64..=10_000).prop_map(|n| json!(["amount", "gt", n])),
        Just(json!(["contact", "isnull_l", false])),
    ]
}

fn notes_open() -> impl Strategy<Value = Value> {
    let rows = (
        proptest::option::of(prop::sample::select(vec![
            json!(["id", "title", "contact"]),
            json!(["id", "amount", "category", "contact_email"]),
            json!(["id", "title", "lines_qty", "user_id"]),
        ])),
        prop::collection::vec(note_filter(), 0..3),
        any::<bool>(),
        proptest::option::of(prop::sample::select(vec![
            "contact", "-title", "amount", "category",
        ])),
        proptest::option::of((prop::sample::select(vec!["title", "contact"]), word())),
    )
        .prop_map(|(fields, filters, expanded, order, search)| {
            let mut p = json!({"filters": filters, "expanded": expanded});
            if let Some(f) = fields {
                p["fields"] = f;
            }
            if let Some(o) = order {
                p["order"] = json!([o]);
            }
            if let Some((f, w)) = search {
                p["search"] = json!([f, w]);
            }
            p
        });
    let groups = (
        prop::sample::select(vec!["category", "contact", "user_id"]),
        prop::collection::vec(note_filter(), 0..2),
        any::<bool>(),
    )
        .prop_map(|(g, filters, expanded)| {
            json!({"fields": [g, "id", "amount"], "funcs": {"id": "count", "amount": "sum"},
                   "group_by": [g], "filters": filters, "expanded": expanded, "order": [g]})
        });
    let totals = prop::collection::vec(note_filter(), 0..2).prop_map(|filters| {
        json!({"fields": ["id", "amount"], "funcs": {"id": "count", "amount": "sum"}, "filters": filters})
    });
    let summary = prop::collection::vec(note_filter(), 0..2).prop_map(|filters| {
        json!({"summary": true, "fields": ["id", "amount"], "funcs": {"amount": "max"}, "filters": filters})
    });
    prop_oneof![4 => rows, 2 => groups, 1 => totals, 1 => summary]
}

fn open() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..3usize, notes_open()).prop_map(|(user, params)| Step::Open {
            user, item: "notes", params: Params(params), master: None
        }),
        2 => (0..3usize, word(), any::<bool>()).prop_map(|(user, w, by_id)| Step::Open {
            user,
            item: "contacts",
            params: Params(if by_id {
                json!({"filters": [["id", "in", [1, 2, 3, 4, 5, 6, 7, 8, 9]]]})
            } else {
                json!({"search": ["name", w], "fields": ["id", "name", "email"]})
            }),
            master: None,
        }),
        2 => (0..3usize, key(), any::<bool>(), any::<bool>()).prop_map(|(user, m, expanded, agg)| {
            let params = if agg {
                json!({"fields": ["id", "qty"], "funcs": {"id": "count", "qty": "sum"}})
            } else {
                json!({"expanded": expanded})
            };
            Step::Open { user, item: "lines", params: Params(params), master: Some(m) }
        }),
        1 => (0..3usize, proptest::option::of(0i64..=100)).prop_map(|(user, gt)| {
            let mut params = json!({"expanded": true,
                "fields": ["id", "name", "notes_amount", "notes_count", "lines_qty"]});
            if let Some(n) = gt {
                params["filters"] = json!([["notes_amount", "gt", n]]);
            }
            Step::Open { user, item: "categories", params: Params(params), master: None }
        }),
    ]
}

fn detail() -> impl Strategy<Value = Detail> {
    prop_oneof![
        (digit(), key()).prop_map(|(qty, contact)| Detail::Insert { qty, contact }),
        (1i64..=16, digit()).prop_map(|(line, qty)| Detail::Update { line, qty }),
        (1i64..=16).prop_map(|line| Detail::Delete { line }),
    ]
}

fn apply() -> impl Strategy<Value = Step> {
    let lines = || prop::collection::vec(detail(), 0..3);
    // A new note has no stored lines to change: only inserts under it.
    let new_lines = || {
        prop::collection::vec(
            (digit(), key()).prop_map(|(qty, contact)| Detail::Insert { qty, contact }),
            0..3,
        )
    };
    prop_oneof![
        (0..3usize, digit(), 1i64..=3, key(), tenant(), new_lines()).prop_map(
            |(user, amount, category, contact, tenant, lines)| Step::InsertNote {
                user,
                amount,
                category,
                contact,
                tenant,
                lines
            }
        ),
        (
            0..3usize,
            key(),
            proptest::option::of(digit()),
            proptest::option::of(key()),
            tenant(),
            lines()
        )
            .prop_map(
                |(user, note, amount, contact, tenant, lines)| Step::UpdateNote {
                    user,
                    note,
                    amount,
                    contact,
                    tenant,
                    lines
                }
            ),
        (0..3usize, key()).prop_map(|(user, note)| Step::DeleteNote { user, note }),
        (0..3usize, tenant()).prop_map(|(user, tenant)| Step::InsertContact { user, tenant }),
        (0..3usize, key(), tenant()).prop_map(|(user, contact, tenant)| Step::UpdateContact {
            user,
            contact,
            tenant
        }),
        (0..3usize, key()).prop_map(|(user, contact)| Step::DeleteContact { user, contact }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(prop_oneof![open(), apply()], 12)
}

// ---------------------------------------------------------------------------------------------
// Running a case.

struct Case<'a> {
    w: &'a World,
}

/// Each user's rows: notes, contacts, and the lines of their notes (and, under built-in
/// tenancy, lines stamped with them).
type Rows = Vec<Vec<Vec<Sql>>>;

impl Case<'_> {
    /// The start data: for user u (0–2), contacts 2u+1 and 2u+2, notes 2u+1 and 2u+2 (the
    /// first looks up the user's first contact, in Work; the second in Home), and lines
    /// 4u+1…4u+4, two per note.
    ///
    /// Under built-in tenancy, rows no client could write are planted as well, as data from
    /// before tenancy was turned on might be: each user's second note looks up the next
    /// user's first contact, and has a line (13+u) that belongs to the next user, with their
    /// text and quantity. Every expanded open and every total then passes another tenant's
    /// row that it must not show or count, and every cascade one it must not delete.
    fn reset(&self) {
        let w = self.w;
        let tenant_column = |v: i64| {
            if w.setup.builtin() {
                format!(", {v}")
            } else {
                String::new()
            }
        };
        let lines_tenant = if w.setup.builtin() { ", user_id" } else { "" };
        let mut sql = String::from("DELETE FROM lines; DELETE FROM notes; DELETE FROM contacts;\n");
        for (u, login) in USERS.iter().enumerate() {
            let id = w.ids[u];
            let scale = scale(u);
            let (c1, c2) = (2 * u + 1, 2 * u + 2);
            sql += &format!(
                "INSERT INTO contacts (id, name, email, user_id, deleted) VALUES \
                 ({c1}, '{login}: contact 1', '{login}-1@example.com', {id}, 0), \
                 ({c2}, '{login}: contact 2', '{login}-2@example.com', {id}, 0);\n"
            );
            sql += &format!(
                "INSERT INTO notes (id, title, amount, category, contact, user_id, deleted) VALUES \
                 ({c1}, '{login}: note 1', {}, 1, {c1}, {id}, 0), \
                 ({c2}, '{login}: note 2', {}, 2, NULL, {id}, 0);\n",
                scale,
                2 * scale
            );
            for (n, note) in [c1, c2].iter().enumerate() {
                let first = 4 * u + 2 * n + 1;
                sql += &format!(
                    "INSERT INTO lines (id, note, text, qty, contact, category{lines_tenant}) VALUES \
                     ({first}, {note}, '{login}: line {first}', {scale}, {c1}, 1{}), \
                     ({}, {note}, '{login}: line {}', {}, NULL, 2{});\n",
                    tenant_column(id),
                    first + 1,
                    first + 1,
                    2 * scale,
                    tenant_column(id),
                );
            }
        }
        if w.setup.builtin() {
            for u in 0..USERS.len() {
                let next = (u + 1) % USERS.len();
                let (login, id) = (USERS[next], w.ids[next]);
                sql += &format!(
                    "UPDATE notes SET contact = {} WHERE id = {};\n\
                     INSERT INTO lines (id, note, text, qty, contact, category, user_id) VALUES \
                     ({}, {}, '{login}: planted line', {}, {}, 1, {id});\n",
                    2 * next + 1,
                    2 * u + 2,
                    13 + u,
                    2 * u + 2,
                    5 * scale(next),
                    2 * next + 1,
                );
            }
        }
        w.server.db_batch(&sql);
    }

    /// The rows of user `u` in the database now.
    fn rows_of(&self, u: usize) -> Rows {
        let id = self.w.ids[u];
        let stamped = if self.w.setup.builtin() {
            format!(" OR l.user_id = {id}")
        } else {
            String::new()
        };
        let db = &self.w.server;
        vec![
            db.db_query(&format!(
                "SELECT * FROM notes WHERE user_id = {id} ORDER BY id"
            )),
            db.db_query(&format!(
                "SELECT * FROM contacts WHERE user_id = {id} ORDER BY id"
            )),
            db.db_query(&format!(
                "SELECT l.* FROM lines l LEFT JOIN notes n ON n.id = l.note \
                 WHERE n.user_id = {id}{stamped} ORDER BY l.id"
            )),
        ]
    }

    /// The rows of user `u` that look up a contact of another user: (table, key, contact).
    fn foreign_references(&self, u: usize) -> Vec<Vec<Sql>> {
        let id = self.w.ids[u];
        self.w.server.db_query(&format!(
            "SELECT 'notes', n.id, n.contact FROM notes n JOIN contacts c ON c.id = n.contact \
             WHERE n.user_id = {id} AND c.user_id IS DISTINCT FROM {id} \
             UNION ALL SELECT 'lines', l.id, l.contact FROM lines l \
             JOIN notes n ON n.id = l.note JOIN contacts c ON c.id = l.contact \
             WHERE n.user_id = {id} AND c.user_id IS DISTINCT FROM {id} ORDER BY 1, 2"
        ))
    }

    /// The user id that owns row `id` of `table` (for lines: of its note), if any.
    fn owner(&self, table: &str, id: i64) -> Option<i64> {
        let sql = match table {
            "lines" => format!(
                "SELECT n.user_id FROM lines l JOIN notes n ON n.id = l.note WHERE l.id = {id}"
            ),
            _ => format!("SELECT user_id FROM {table} WHERE id = {id}"),
        };
        match self.w.server.db_query(&sql).first().map(|r| &r[0]) {
            Some(Sql::Integer(u)) => Some(*u),
            _ => None,
        }
    }

    /// The key of a row (to change, to look up, as a master), as the acting user sends it.
    fn key(&self, k: Key, user: usize) -> i64 {
        match k {
            Key::Own(i) => 2 * user as i64 + 1 + i,
            Key::Any(i) => i,
        }
    }

    fn lines(&self, lines: &[Detail], user: usize) -> Value {
        let login = USERS[user];
        lines
            .iter()
            .map(|d| match d {
                Detail::Insert { qty, contact } => json!({"op": "insert", "values": {
                    "text": format!("{login}: new line"),
                    "qty": qty * scale(user),
                    "contact": self.key(*contact, user),
                    "category": 1,
                }}),
                Detail::Update { line, qty } => {
                    json!({"op": "update", "id": line, "values": {"qty": qty * scale(user)}})
                }
                Detail::Delete { line } => json!({"op": "delete", "id": line}),
            })
            .collect()
    }

    /// The request of a step: (user, path, body); `None` when the world leaves it out.
    fn request(&self, step: &Step) -> Option<(usize, String, Value)> {
        let open = |item: &str| format!("/api/items/{item}/open");
        let apply = |item: &str| format!("/api/items/{item}/apply");
        let changes = |c: Value| json!({ "changes": [c], "expanded": true });
        Some(match step {
            Step::Open {
                user,
                item,
                params,
                master,
            } => {
                let mut params = params.0.clone();
                if let Some(m) = master {
                    params["master"] = json!(self.key(*m, *user));
                }
                (*user, open(item), params)
            }
            Step::InsertNote {
                user,
                amount,
                category,
                contact,
                tenant,
                lines,
            } => {
                let mut values = json!({
                    "title": format!("{}: new note", USERS[*user]),
                    "amount": amount * scale(*user),
                    "category": category,
                    "contact": self.key(*contact, *user),
                });
                // On insert the column is stamped, with the recipe too.
                if let Some(t) = tenant {
                    values["user_id"] = json!(t);
                }
                let c = json!({"op": "insert", "values": values,
                               "details": {"lines": self.lines(lines, *user)}});
                (*user, apply("notes"), changes(c))
            }
            Step::UpdateNote {
                user,
                note,
                amount,
                contact,
                tenant,
                lines,
            } => {
                let mut values = json!({});
                if let Some(a) = amount {
                    values["amount"] = json!(a * scale(*user));
                }
                if let Some(c) = contact {
                    values["contact"] = json!(self.key(*c, *user));
                }
                if let Some(t) = *tenant {
                    values["user_id"] = json!(t);
                }
                let c = json!({"op": "update", "id": self.key(*note, *user), "values": values,
                               "details": {"lines": self.lines(lines, *user)}});
                (*user, apply("notes"), changes(c))
            }
            Step::DeleteNote { user, note } => (
                *user,
                apply("notes"),
                changes(json!({"op": "delete", "id": self.key(*note, *user)})),
            ),
            Step::InsertContact { user, tenant } => {
                let login = USERS[*user];
                let mut values = json!({"name": format!("{login}: new contact"), "email": format!("{login}-new@example.com")});
                if let Some(t) = tenant {
                    values["user_id"] = json!(t);
                }
                (
                    *user,
                    apply("contacts"),
                    changes(json!({"op": "insert", "values": values})),
                )
            }
            Step::UpdateContact {
                user,
                contact,
                tenant,
            } => {
                let login = USERS[*user];
                let mut values = json!({"email": format!("{login}-changed@example.com")});
                if let Some(t) = *tenant {
                    values["user_id"] = json!(t);
                }
                (
                    *user,
                    apply("contacts"),
                    changes(
                        json!({"op": "update", "id": self.key(*contact, *user), "values": values}),
                    ),
                )
            }
            Step::DeleteContact { user, contact } => (
                *user,
                apply("contacts"),
                changes(json!({"op": "delete", "id": self.key(*contact, *user)})),
            ),
        })
    }

    /// Checks one answer of user `me`: no other tenant's text, no other tenant's amount in a
    /// total, and (for rows of notes, contacts and lines, opened or saved) only the user's own
    /// keys.
    fn check_reply(
        &self,
        me: usize,
        path: &str,
        request: &Value,
        body: &Value,
    ) -> Result<(), String> {
        for s in strings(body) {
            for (j, other) in USERS.iter().enumerate() {
                if j != me && is_text_of(&s, other) {
                    return Err(format!("{other}'s text {s:?}"));
                }
            }
        }
        // Amounts and quantities are scaled by their owner: 1–9 for alice, thousands for
        // bob, millions for carol. A sum, minimum or maximum of one's own has no other digits.
        let own_only = |v: &Value| -> bool {
            let Some(x) = v.as_f64() else { return true };
            let x = x.round() as i64;
            let unit = scale(me);
            x % unit == 0 && x / unit < 1000
        };
        let items = path.trim_start_matches("/api/items/");
        let item = items.split('/').next().unwrap_or("");
        let rows: Vec<(Vec<String>, Vec<Value>)> = if path.ends_with("/open") {
            let fields: Vec<String> = body["fields"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| f.as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            body["rows"]
                .as_array()
                .map(|rs| {
                    rs.iter()
                        .map(|r| (fields.clone(), r.as_array().cloned().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            let mut out = Vec::new();
            fn collect(v: &Value, out: &mut Vec<(Vec<String>, Vec<Value>)>) {
                for c in v.as_array().into_iter().flatten() {
                    if let Some(values) = c["values"].as_object() {
                        out.push((
                            values.keys().cloned().collect(),
                            values.values().cloned().collect(),
                        ));
                    }
                    for d in c["details"]
                        .as_object()
                        .into_iter()
                        .flat_map(|d| d.values())
                    {
                        collect(d, out);
                    }
                }
            }
            collect(&body["changes"], &mut out);
            out
        };
        let aggregate = ["funcs", "group_by", "summary"]
            .iter()
            .any(|k| request.get(k).is_some());
        for (fields, row) in &rows {
            for (name, v) in fields.iter().zip(row) {
                if ["amount", "notes_amount", "lines_qty", "qty"].contains(&name.as_str())
                    && !own_only(v)
                {
                    return Err(format!("{name} = {v} counts another tenant's amounts"));
                }
            }
        }
        // Keys of rows: plain opens and apply results of the user's own items.
        let plain = path.ends_with("/open") && !aggregate;
        if (plain || path.ends_with("/apply")) && ["notes", "contacts", "lines"].contains(&item) {
            for (fields, row) in &rows {
                let Some(id) = fields
                    .iter()
                    .position(|f| f == "id")
                    .and_then(|i| row[i].as_i64())
                else {
                    continue;
                };
                let table = if path.ends_with("/apply") && fields.contains(&"qty".to_string()) {
                    "lines"
                } else if path.ends_with("/apply") && fields.contains(&"email".to_string()) {
                    "contacts"
                } else {
                    item
                };
                // Rows that come back are the user's own: found by the open, or saved by the
                // apply (an insert stamped with the user, an update of their own row).
                let owner = self.owner(table, id);
                if owner != Some(self.w.ids[me]) {
                    return Err(format!("{table} {id} belongs to user id {owner:?}"));
                }
            }
        }
        Ok(())
    }

    fn run(&self, steps: &[Step]) -> Result<(), TestCaseError> {
        self.reset();
        for (n, step) in steps.iter().enumerate() {
            let Some((user, path, body)) = self.request(step) else {
                continue;
            };
            let before: Vec<Rows> = (0..USERS.len()).map(|u| self.rows_of(u)).collect();
            let references = self.foreign_references(user);
            let (status, reply) = self.w.users[user].post_json(&path, &body);
            let at = format!(
                "step {n} ({step:?}): {} POST {path} {body} → {status}",
                USERS[user]
            );
            if status == 500 {
                return Err(TestCaseError::fail(format!("{at}: {reply}")));
            }
            if status == 200 {
                self.check_reply(user, &path, &body, &reply)
                    .map_err(|e| TestCaseError::fail(format!("{at}: {e}\n{reply}")))?;
            } else {
                // Errors may name keys and fields, never another tenant's data.
                self.check_reply(user, "/error", &body, &reply)
                    .map_err(|e| TestCaseError::fail(format!("{at}: {e}\n{reply}")))?;
            }
            // A lookup value that points at another tenant's row is never written (the planted
            // ones may only go).
            let now = self.foreign_references(user);
            if let Some(new) = now.iter().find(|r| !references.contains(r)) {
                return Err(TestCaseError::fail(format!(
                    "{at}: {} now looks up another tenant's contact: {new:?}",
                    USERS[user]
                )));
            }
            for (u, rows) in before.iter().enumerate() {
                if u != user && *rows != self.rows_of(u) {
                    return Err(TestCaseError::fail(format!(
                        "{at}: {}'s rows changed\nbefore: {rows:?}\nafter: {:?}",
                        USERS[u],
                        self.rows_of(u)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The factor of user `u`'s amounts and quantities.
fn scale(u: usize) -> i64 {
    1000i64.pow(u as u32)
}

/// Where failing cases are kept (the steps do not depend on the world, so the three share it).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/tenancy_property.proptest-regressions"
);

fn property(setup: Setup) {
    let w = World::on(setup, shop_server(setup, "", &[]));
    let case = Case { w: &w };
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        max_shrink_iters: 256,
        ..Config::default()
    });
    if let Err(e) = runner.run(&steps(), |steps| case.run(&steps)) {
        panic!("{setup:?}: {e}");
    }
}

#[test]
fn no_step_reaches_another_tenant_with_builtin_tenancy() {
    property(Setup::Builtin);
}

#[test]
fn no_step_reaches_another_tenant_with_the_recipe_and_builtin_tenancy() {
    property(Setup::Both);
}

#[test]
fn no_step_reaches_another_tenant_with_the_recipe_alone() {
    property(Setup::Recipe);
}
