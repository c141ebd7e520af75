//! Apply requests: the delta as it arrives ([`ApplyParams`]) and the typed change-set the engine
//! runs ([`Change`]).
//!
//! [`Change::resolve_all`] types every value for its field, rejects unknown and read-only
//! fields, requires an integer key for updates and deletes, and drops what the server owns: a
//! client's primary key on insert and the detail link (the engine sets it from the master).
//! Required fields and text sizes are checked by the engine after defaults and handlers ran.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::access::Access;
use crate::error::{Error, FieldError, Result};
use crate::model::{FieldId, Item, ItemId, Task};
use crate::query::public_field;
use crate::types::Value;
use crate::values;

/// The body of an apply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyParams {
    #[serde(deserialize_with = "change_list")]
    pub changes: Vec<ChangeParams>,
    /// User params, passed to server module handlers.
    #[serde(default)]
    pub params: Map<String, Json>,
    /// Return the final rows with lookup texts and calculated fields.
    #[serde(default)]
    pub expanded: bool,
}

/// One change on the wire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    /// `"insert"`, `"update"` or `"delete"`.
    pub op: String,
    #[serde(default)]
    pub id: Option<Json>,
    #[serde(default)]
    pub values: Map<String, Json>,
    /// `{detail_name: [changes]}`.
    #[serde(default)]
    pub details: Map<String, Json>,
}

/// A list of changes, each a JSON object. (A derived `Deserialize` would also accept a change
/// written as a list of values by position, which the API does not promise.)
fn change_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ChangeParams>, D::Error> {
    use serde::de::Error as _;
    let list = Vec::<Json>::deserialize(d)?;
    parse_changes(list).map_err(D::Error::custom)
}

fn parse_changes(list: Vec<Json>) -> std::result::Result<Vec<ChangeParams>, String> {
    list.into_iter()
        .enumerate()
        .map(|(i, v)| {
            if !v.is_object() {
                return Err(format!(
                    "change {i} is not an object {{\"op\", \"id\", \"values\", \"details\"}}"
                ));
            }
            serde_json::from_value(v).map_err(|e| format!("change {i}: {e}"))
        })
        .collect()
}

/// A typed change. Results come back 1:1 in the same order.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Insert {
        values: Vec<(FieldId, Value)>,
        details: Vec<DetailChanges>,
    },
    /// An update with no values only touches details (Jam.py's "details modified").
    Update {
        id: i64,
        values: Vec<(FieldId, Value)>,
        details: Vec<DetailChanges>,
    },
    Delete {
        id: i64,
    },
}

/// Changes to the rows of one detail under one master change.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailChanges {
    pub item: ItemId,
    pub changes: Vec<Change>,
}

impl Change {
    pub fn op_name(&self) -> &'static str {
        match self {
            Change::Insert { .. } => "insert",
            Change::Update { .. } => "update",
            Change::Delete { .. } => "delete",
        }
    }

    pub fn details(&self) -> &[DetailChanges] {
        match self {
            Change::Insert { details, .. } | Change::Update { details, .. } => details,
            Change::Delete { .. } => &[],
        }
    }

    /// Types a whole delta for `item` and checks it against the session's `access`: the role
    /// needs create, edit or delete on the item of every record at every detail level, and may
    /// not write a field that is read-only or prohibited for it. Field errors are collected,
    /// named by their path (`changes[0].title`, `changes[0].lines[2].quantity`); a field the
    /// role may not write makes the whole delta `forbidden`.
    pub fn resolve_all(
        task: &Task,
        item: &Item,
        changes: &[ChangeParams],
        access: &Access,
    ) -> Result<Vec<Change>> {
        let mut r = Resolver {
            task,
            access,
            invalid: Vec::new(),
            forbidden: Vec::new(),
        };
        let out = r.list(item, changes, "changes")?;
        if !r.forbidden.is_empty() {
            let mut e = Error::forbidden(match r.forbidden.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("{} fields may not be written by your role", many.len()),
            });
            e.fields = r.forbidden;
            return Err(e);
        }
        if r.invalid.is_empty() {
            Ok(out)
        } else {
            Err(Error::validation(r.invalid))
        }
    }
}

fn key(raw: &Option<Json>, at: &str) -> Result<i64> {
    match raw {
        Some(v) if v.is_i64() => v
            .as_i64()
            .ok_or_else(|| Error::bad_field(format!("{at}.id"), "the key must be an integer")),
        Some(v) => Err(Error::bad_field(
            format!("{at}.id"),
            format!("the key must be an integer, got {v}"),
        )),
        None => Err(Error::bad_field(
            format!("{at}.id"),
            "an update or delete needs the record's id",
        )),
    }
}

struct Resolver<'a> {
    task: &'a Task,
    access: &'a Access,
    /// Values that are not valid for their field.
    invalid: Vec<FieldError>,
    /// Fields the role may not write.
    forbidden: Vec<FieldError>,
}

impl Resolver<'_> {
    fn list(&mut self, item: &Item, changes: &[ChangeParams], at: &str) -> Result<Vec<Change>> {
        changes
            .iter()
            .enumerate()
            .map(|(i, c)| self.one(item, c, &format!("{at}[{i}]")))
            .collect()
    }

    fn require(&self, item: &Item, allowed: bool, what: &str, at: &str) -> Result<()> {
        if allowed {
            return Ok(());
        }
        Err(Error::forbidden(format!(
            "your role may not {what} records of \"{}\"",
            item.name
        ))
        .with_field(at))
    }

    fn one(&mut self, item: &Item, c: &ChangeParams, at: &str) -> Result<Change> {
        let p = self.access.privileges(item.id);
        match c.op.as_str() {
            "insert" => {
                self.require(item, p.create, "create", at)?;
                Ok(Change::Insert {
                    values: self.values(item, &c.values, None, at)?,
                    details: self.details(item, &c.details, at)?,
                })
            }
            "update" => {
                let id = key(&c.id, at)?;
                // An update that only carries detail changes leaves the record as it is.
                if c.values.is_empty() {
                    self.require(item, p.view || p.edit, "view", at)?;
                } else {
                    self.require(item, p.edit, "edit", at)?;
                }
                Ok(Change::Update {
                    id,
                    values: self.values(item, &c.values, Some(id), at)?,
                    details: self.details(item, &c.details, at)?,
                })
            }
            "delete" => {
                let id = key(&c.id, at)?;
                self.require(item, p.delete, "delete", at)?;
                if !c.values.is_empty() || !c.details.is_empty() {
                    return Err(Error::bad_field(
                        at,
                        "a delete takes only an id: deleting a record deletes its details",
                    ));
                }
                Ok(Change::Delete { id })
            }
            other => Err(Error::bad_field(
                format!("{at}.op"),
                format!("\"{other}\" is not insert, update or delete"),
            )),
        }
    }

    fn values(
        &mut self,
        item: &Item,
        raw: &Map<String, Json>,
        update_id: Option<i64>,
        at: &str,
    ) -> Result<Vec<(FieldId, Value)>> {
        let mut out = Vec::with_capacity(raw.len());
        for (name, v) in raw {
            let field = public_field(item, name, &format!("{at}.{name}"), self.access)?;
            let path = format!("{at}.{name}");
            if field.id == item.primary_key {
                // A client key on insert is ignored; on update it must agree with `id`.
                match update_id {
                    Some(id) if v.as_i64() != Some(id) && !v.is_null() => {
                        self.invalid.push(FieldError {
                            field: path,
                            message: "the primary key cannot be changed".into(),
                        });
                    }
                    _ => {}
                }
                continue;
            }
            if item.is_server_set(field.id) {
                // The detail link is set from the master by the server.
                continue;
            }
            if field.read_only {
                self.invalid.push(FieldError {
                    field: path,
                    message: "is read-only".into(),
                });
                continue;
            }
            if self.access.is_read_only(item.id, field.id) {
                self.forbidden.push(FieldError {
                    field: path,
                    message: "is read-only for your role".into(),
                });
                continue;
            }
            match values::from_json(field.field_type, v) {
                Ok(value) => out.push((field.id, value)),
                Err(message) => self.invalid.push(FieldError {
                    field: path,
                    message,
                }),
            }
        }
        Ok(out)
    }

    fn details(
        &mut self,
        item: &Item,
        raw: &Map<String, Json>,
        at: &str,
    ) -> Result<Vec<DetailChanges>> {
        let task = self.task;
        let mut out = Vec::with_capacity(raw.len());
        for (name, list) in raw {
            let Some(detail) = item
                .details
                .iter()
                .map(|d| task.item(*d))
                .find(|d| d.name.as_str() == name)
            else {
                return Err(Error::bad_field(
                    format!("{at}.details"),
                    format!("\"{name}\" is not a detail of \"{}\"", item.name),
                ));
            };
            let Json::Array(list) = list else {
                return Err(Error::bad_field(
                    format!("{at}.{name}"),
                    "a list of changes was expected",
                ));
            };
            let changes = parse_changes(list.clone())
                .map_err(|e| Error::bad_field(format!("{at}.{name}"), e))?;
            out.push(DetailChanges {
                item: detail.id,
                changes: self.list(detail, &changes, &format!("{at}.{name}"))?,
            });
        }
        Ok(out)
    }
}
