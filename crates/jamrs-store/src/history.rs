//! Record history (Jam.py's `keep_history`), stored in the system table `jamrs_history`.
//!
//! The engine writes one entry per inserted, changed or deleted row of an item with
//! `keep_history`, in the transaction of the change (so an apply that fails leaves no entry,
//! and one that succeeds cannot lose its entries): who, when, which record, and each changed
//! field with its old and new value. Jam.py keeps the operation numbers (1 insert, 2 update,
//! 3 delete).
//!
//! Reading checks nothing: the caller ([`crate::engine::Engine::history`]) decides which
//! entries and fields a session may see. This module writes SQL only for its system table,
//! portable SQL with the dialect's placeholders (as `auth`).

use jamrs_core::session::UserInfo;
use jamrs_core::{FieldType, Result, Value};
use serde_json::Value as Json;

use crate::auth::sql;
use crate::conn::Conn;

pub const HISTORY: &str = "jamrs_history";

/// What happened to a record, with Jam.py's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert = 1,
    Update = 2,
    Delete = 3,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }

    fn from_code(code: i64) -> Option<Operation> {
        match code {
            1 => Some(Operation::Insert),
            2 => Some(Operation::Update),
            3 => Some(Operation::Delete),
            _ => None,
        }
    }
}

/// One field of an entry: its name, the value before and the value after.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub old: Json,
    pub new: Json,
}

/// An entry to write.
pub struct NewEntry<'a> {
    pub item: &'a str,
    pub record_id: i64,
    pub operation: Operation,
    pub changes: Vec<FieldChange>,
    /// Who made the change (`None` for server code without a session).
    pub user: Option<&'a UserInfo>,
    /// The row's tenant column, for an item `[tenancy]` covers.
    pub tenant: Option<&'a Value>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub item: String,
    pub record_id: i64,
    pub operation: Operation,
    pub changes: Vec<FieldChange>,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
}

/// The tenant column's value as the history table keeps it (text, so any key type fits).
fn tenant_text(v: &Value) -> Value {
    Value::Text(v.to_json().to_string())
}

/// Writes one entry (one INSERT, nothing read). Run it in the transaction of the change it
/// records.
pub fn record(conn: &mut dyn Conn, e: &NewEntry) -> Result<()> {
    // `[[field, old, new], ...]`, written from the entry as it is (no copies of the values).
    let changes: Vec<(&str, &Json, &Json)> = e
        .changes
        .iter()
        .map(|c| (c.field.as_str(), &c.old, &c.new))
        .collect();
    let changes = serde_json::to_string(&changes)
        .map_err(|err| jamrs_core::Error::internal(format!("cannot encode history: {err}")))?;
    let s = sql(
        conn,
        "INSERT INTO jamrs_history (item, record_id, operation, changes, user_id, user_name, tenant, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            Value::Text(e.item.to_string()),
            Value::Int(e.record_id),
            Value::Int(e.operation as i64),
            Value::Text(changes),
            e.user.map_or(Value::Null, |u| Value::Int(u.user_id)),
            e.user
                .map_or(Value::Null, |u| Value::Text(u.user_name.clone())),
            e.tenant.map_or(Value::Null, tenant_text),
            Value::Text(jamrs_core::values::now()),
        ],
    );
    conn.execute(&s)?;
    Ok(())
}

/// Which entries to read.
pub struct Query<'a> {
    pub item: &'a str,
    /// One record's entries, or the item's.
    pub record_id: Option<i64>,
    /// Only entries of rows of this tenant (`None`: every tenant's).
    pub tenant: Option<&'a Value>,
    pub limit: u64,
    pub offset: u64,
}

/// Entries, newest first.
pub fn read(conn: &mut dyn Conn, q: &Query) -> Result<Vec<Entry>> {
    let mut text = String::from(
        "SELECT id, item, record_id, operation, changes, user_id, user_name, at FROM jamrs_history WHERE item = ?",
    );
    let mut params = vec![Value::Text(q.item.to_string())];
    if let Some(id) = q.record_id {
        text.push_str(" AND record_id = ?");
        params.push(Value::Int(id));
    }
    if let Some(t) = q.tenant {
        text.push_str(" AND tenant = ?");
        params.push(tenant_text(t));
    }
    text.push_str(" ORDER BY id DESC LIMIT ? OFFSET ?");
    params.push(Value::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    params.push(Value::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
    let s = sql(conn, &text, params);
    let types = [
        FieldType::Integer,
        FieldType::Text,
        FieldType::Integer,
        FieldType::Integer,
        FieldType::Text,
        FieldType::Integer,
        FieldType::Text,
        FieldType::Text,
    ];
    let rows = conn.query(&s, &types)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let text_of = |v: &Value| match v {
            Value::Text(s) => s.clone(),
            _ => String::new(),
        };
        let Some(operation) = row[3].as_i64().and_then(Operation::from_code) else {
            continue;
        };
        let changes = serde_json::from_str::<Vec<(String, Json, Json)>>(&text_of(&row[4]))
            .unwrap_or_default()
            .into_iter()
            .map(|(field, old, new)| FieldChange { field, old, new })
            .collect();
        out.push(Entry {
            id: row[0].as_i64().unwrap_or(0),
            item: text_of(&row[1]),
            record_id: row[2].as_i64().unwrap_or(0),
            operation,
            changes,
            user_id: row[5].as_i64(),
            user_name: match &row[6] {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            },
            at: text_of(&row[7]),
        });
    }
    Ok(out)
}

/// The most entries one history request returns (Jam.py's history view shows the last 100).
pub const DEFAULT_LIMIT: u64 = 100;

impl crate::engine::Engine<'_> {
    /// A record's history (`record_id`), or the item's, newest first, as this session may see
    /// it: the role must view the item; only entries of rows of the session's tenant; a
    /// record's history only when the record is one the session could open now (a deleted
    /// record's only when the item's `on_open` filters nothing for the session, since nobody
    /// can tell then whose it was); the item's history only for records the session could
    /// open now under such filters; and no change of a field the role is prohibited from (nor
    /// of a field the item no longer has).
    pub fn history(
        &self,
        conn: &mut dyn Conn,
        item: &jamrs_core::model::Item,
        record_id: Option<i64>,
        limit: Option<u64>,
        offset: u64,
    ) -> Result<Vec<Entry>> {
        use jamrs_core::Error;
        use jamrs_core::session::Tenant;
        if !self.access().privileges(item.id).view {
            return Err(Error::forbidden(format!(
                "your role may not view \"{}\"",
                item.name
            )));
        }
        if !item.keep_history {
            return Err(Error::bad_request(format!(
                "\"{}\" keeps no history (keep_history = true in its item file)",
                item.name
            )));
        }
        self.require_tenant(item)?;
        let limit = limit
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(self.task().settings.max_limit);
        // Entries of an item `[tenancy]` covers carry their row's tenant; a shared item's
        // carry none and are everyone's.
        let tenant = match self.tenant() {
            Tenant::Only(v) if item.tenant_field.is_some() => Some(v),
            _ => None,
        };
        let reach = if self.reach() == crate::engine::Reach::Off {
            None
        } else {
            self.reach_query(conn, item, None)?
        };
        let mut live = false;
        if let Some(id) = record_id {
            let key = jamrs_core::Key::Int(id);
            let sql = crate::builder::lookup_exists(
                conn.dialect(),
                item,
                &key,
                self.tenant(),
                crate::dialect::RowLock::None,
            );
            live = !conn.query(&sql, &[FieldType::Integer])?.is_empty();
            let hidden = match &reach {
                Some(q) => {
                    !live
                        || !self
                            .reachable_ids(conn, item, q, std::slice::from_ref(&key))?
                            .contains(&key)
                }
                None => false,
            };
            if hidden {
                return Err(Error::not_found(format!(
                    "{} {id} does not exist",
                    item.name
                )));
            }
        }
        let mut entries = read(
            conn,
            &Query {
                item: item.name.as_str(),
                record_id,
                tenant,
                limit,
                offset,
            },
        )?;
        if record_id.is_none()
            && let Some(q) = &reach
        {
            let mut ids: Vec<jamrs_core::Key> = entries
                .iter()
                .map(|e| jamrs_core::Key::Int(e.record_id))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let seen = self.reachable_ids(conn, item, q, &ids)?;
            entries.retain(|e| seen.contains(&jamrs_core::Key::Int(e.record_id)));
        }
        if record_id.is_some() {
            // A key the database hands out again after a delete starts a new record: its
            // history ends (going back) at its insert.
            if let Some(born) = entries
                .iter()
                .position(|e| e.operation == Operation::Insert)
            {
                entries.truncate(born + 1);
            }
        }
        if let Some(id) = record_id
            && !live
            && entries.is_empty()
        {
            return Err(Error::not_found(format!(
                "{} {id} does not exist",
                item.name
            )));
        }
        for e in &mut entries {
            e.changes.retain(|c| {
                item.field_by_name(&c.field)
                    .is_some_and(|f| !self.access().is_prohibited(item.id, f.id))
            });
        }
        Ok(entries)
    }
}
