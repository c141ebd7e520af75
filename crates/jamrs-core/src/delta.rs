//! Apply requests: the delta as it arrives ([`ApplyParams`]) and the typed change-set the engine
//! runs ([`Change`]).
//!
//! [`Change::resolve_all`] types every value for its field, rejects unknown and read-only
//! fields, requires an integer key for updates and deletes, and drops what the server owns: a
//! client's primary key on insert and the detail link (the engine sets it from the master).
//! Required fields and text sizes are checked by the engine after defaults and handlers ran.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::error::{Error, FieldError, Result};
use crate::model::{FieldId, Item, ItemId, Task};
use crate::query::public_field;
use crate::types::Value;
use crate::values;

/// The body of an apply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyParams {
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

    /// Types a whole delta for `item`. Field errors are collected, named by their path
    /// (`changes[0].title`, `changes[0].lines[2].quantity`).
    pub fn resolve_all(task: &Task, item: &Item, changes: &[ChangeParams]) -> Result<Vec<Change>> {
        let mut errors = Vec::new();
        let out = resolve_list(task, item, changes, "changes", &mut errors)?;
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(Error::validation(errors))
        }
    }
}

fn resolve_list(
    task: &Task,
    item: &Item,
    changes: &[ChangeParams],
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<Change>> {
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| resolve_one(task, item, c, &format!("{at}[{i}]"), errors))
        .collect()
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

fn resolve_one(
    task: &Task,
    item: &Item,
    c: &ChangeParams,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Change> {
    match c.op.as_str() {
        "insert" => Ok(Change::Insert {
            values: resolve_values(item, &c.values, None, at, errors)?,
            details: resolve_details(task, item, &c.details, at, errors)?,
        }),
        "update" => {
            let id = key(&c.id, at)?;
            Ok(Change::Update {
                id,
                values: resolve_values(item, &c.values, Some(id), at, errors)?,
                details: resolve_details(task, item, &c.details, at, errors)?,
            })
        }
        "delete" => {
            let id = key(&c.id, at)?;
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

fn resolve_values(
    item: &Item,
    raw: &Map<String, Json>,
    update_id: Option<i64>,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<(FieldId, Value)>> {
    let mut out = Vec::with_capacity(raw.len());
    for (name, v) in raw {
        let field = public_field(item, name, &format!("{at}.values"))?;
        let path = format!("{at}.{name}");
        if field.id == item.primary_key {
            // A client key on insert is ignored; on update it must agree with `id`.
            match update_id {
                Some(id) if v.as_i64() != Some(id) && !v.is_null() => {
                    errors.push(FieldError {
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
            errors.push(FieldError {
                field: path,
                message: "is read-only".into(),
            });
            continue;
        }
        match values::from_json(field.field_type, v) {
            Ok(value) => out.push((field.id, value)),
            Err(message) => errors.push(FieldError {
                field: path,
                message,
            }),
        }
    }
    Ok(out)
}

fn resolve_details(
    task: &Task,
    item: &Item,
    raw: &Map<String, Json>,
    at: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<DetailChanges>> {
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
        let changes: Vec<ChangeParams> = serde_json::from_value(list.clone()).map_err(|e| {
            Error::bad_field(
                format!("{at}.{name}"),
                format!("a list of changes was expected: {e}"),
            )
        })?;
        out.push(DetailChanges {
            item: detail.id,
            changes: resolve_list(task, detail, &changes, &format!("{at}.{name}"), errors)?,
        });
    }
    Ok(out)
}
