//! Apply requests: the delta as it arrives ([`ApplyParams`]) and the typed change-set the engine
//! runs ([`Change`]).
//!
//! [`Change::resolve_all`] types every value for its field, rejects unknown and read-only
//! fields, requires the record's key for updates and deletes (an integer, or a text for an item
//! keyed by text), and drops what the server owns: a client's integer primary key on insert and
//! the detail link (the engine sets it from the master). The text key of a new record is the
//! client's: it is kept, and the engine requires it.
//! Required fields and text sizes are checked by the engine after defaults and handlers ran.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::access::Access;
use crate::error::{Error, FieldError, Result};
use crate::key::Key;
use crate::model::{FieldId, Item, ItemId, Task};
use crate::params::{or_default, whole_number};
use crate::query::public_field_at;
use crate::types::Value;
use crate::values;

/// The body of an apply. `params` and `expanded` are optional, and `null` is the same as
/// leaving them out (see [`crate::params`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyParams {
    #[serde(deserialize_with = "change_list")]
    pub changes: Vec<ChangeParams>,
    /// User params, passed to server module handlers.
    #[serde(default, deserialize_with = "or_default")]
    pub params: Map<String, Json>,
    /// Return the final rows with lookup texts and calculated fields.
    #[serde(default, deserialize_with = "or_default")]
    pub expanded: bool,
}

/// One change on the wire: `{"op", "id", "values", "details"}`, every member but `op`
/// optional (`null` is the same as leaving it out).
#[derive(Debug, Clone)]
pub struct ChangeParams {
    /// `"insert"`, `"update"` or `"delete"`.
    pub op: String,
    pub id: Option<Json>,
    pub values: Map<String, Json>,
    /// `{detail_name: [changes]}`.
    pub details: Map<String, Json>,
}

impl<'de> Deserialize<'de> for ChangeParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        ChangeParams::from_json(Json::deserialize(d)?).map_err(D::Error::custom)
    }
}

impl ChangeParams {
    /// Reads one change. Its members are moved out of `v`, not walked into, so how deep the
    /// values inside nest costs nothing here. (A derived `Deserialize` would also accept a
    /// change written as a list of values by position, which the API does not promise.)
    pub fn from_json(v: Json) -> std::result::Result<Self, String> {
        let op = change_ref(&v)?.op.to_string();
        let Json::Object(mut o) = v else {
            return Err(NOT_A_CHANGE.into());
        };
        let mut object = |key: &str| match o.remove(key) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        };
        let (values, details) = (object("values"), object("details"));
        Ok(ChangeParams {
            op,
            id: o.remove("id").filter(|id| !id.is_null()),
            values,
            details,
        })
    }

    fn as_ref(&self) -> ChangeRef<'_> {
        ChangeRef {
            op: &self.op,
            id: self.id.as_ref(),
            values: Some(&self.values),
            details: Some(&self.details),
        }
    }
}

const NOT_A_CHANGE: &str = "a change is an object {\"op\", \"id\", \"values\", \"details\"}";

/// A change read in place, for the detail lists inside a change (which stay JSON until the
/// resolver reaches them).
struct ChangeRef<'a> {
    op: &'a str,
    id: Option<&'a Json>,
    values: Option<&'a Map<String, Json>>,
    details: Option<&'a Map<String, Json>>,
}

/// Checks the shape of one change: an object with a text `op` and, if present and not null,
/// an object of `values` and an object of `details`, and nothing else.
fn change_ref(v: &Json) -> std::result::Result<ChangeRef<'_>, String> {
    let Json::Object(o) = v else {
        return Err(NOT_A_CHANGE.into());
    };
    let mut c = ChangeRef {
        op: "",
        id: None,
        values: None,
        details: None,
    };
    let mut op = None;
    fn object<'v>(
        key: &str,
        v: &'v Json,
    ) -> std::result::Result<Option<&'v Map<String, Json>>, String> {
        match v {
            Json::Object(m) => Ok(Some(m)),
            Json::Null => Ok(None),
            other => Err(format!(
                "{key} must be an object, not {}",
                crate::values::describe(other)
            )),
        }
    }
    for (key, v) in o {
        match key.as_str() {
            "op" => op = Some(v),
            "id" => c.id = Some(v).filter(|id| !id.is_null()),
            "values" => c.values = object(key, v)?,
            "details" => c.details = object(key, v)?,
            other => {
                return Err(format!(
                    "unknown member \"{}\" (a change has op, id, values and details)",
                    other.chars().take(40).collect::<String>()
                ));
            }
        }
    }
    c.op = match op {
        Some(Json::String(s)) => s,
        None | Some(Json::Null) => {
            return Err("a change needs an op: insert, update or delete".into());
        }
        Some(other) => {
            return Err(format!(
                "op must be insert, update or delete, not {}",
                crate::values::describe(other)
            ));
        }
    };
    Ok(c)
}

/// A list of changes, each a JSON object.
fn change_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ChangeParams>, D::Error> {
    use serde::de::Error as _;
    Vec::<Json>::deserialize(d)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| ChangeParams::from_json(v).map_err(|e| format!("change {i}: {e}")))
        .collect::<std::result::Result<_, _>>()
        .map_err(D::Error::custom)
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
        id: Key,
        values: Vec<(FieldId, Value)>,
        details: Vec<DetailChanges>,
    },
    /// `values` holds at most the record version of an item with `edit_lock` (the version
    /// the client last saw).
    Delete {
        id: Key,
        values: Vec<(FieldId, Value)>,
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
            records: 0,
            changed: HashMap::new(),
        };
        r.count(changes.len(), "changes")?;
        let out = changes
            .iter()
            .enumerate()
            .map(|(i, c)| r.one(item, &c.as_ref(), &indexed("changes", i)))
            .collect::<Result<Vec<_>>>()?;
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

fn key(item: &Item, raw: Option<&Json>, at: &str) -> Result<Key> {
    match raw {
        Some(v) => Key::from_json(item, v).map_err(|e| Error::bad_field(format!("{at}.id"), e)),
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
    /// Records counted so far, at every level.
    records: usize,
    /// The stored records an update or delete names, with the change that names them.
    changed: HashMap<(ItemId, Key), String>,
}

impl Resolver<'_> {
    /// Counts `n` more records, refusing the apply past `max_apply_records` before they are
    /// read.
    fn count(&mut self, n: usize, at: &str) -> Result<()> {
        let max = self.task.settings.max_apply_records;
        self.records = self.records.saturating_add(n);
        if self.records > max {
            return Err(Error::bad_field(
                at,
                format!(
                    "an apply may change at most {max} records, detail records included (max_apply_records)"
                ),
            ));
        }
        Ok(())
    }

    /// A stored record is changed once per apply: a second update or delete of it would meet
    /// the row the first one left (or no row at all).
    fn once(&mut self, item: &Item, id: &Key, at: &str) -> Result<()> {
        if let Some(first) = self.changed.insert((item.id, id.clone()), at.to_string()) {
            return Err(Error::bad_request(format!(
                "{first} and {at} both change {} {id}: an apply changes a record once",
                item.name
            ))
            .with_field(&first)
            .with_field(at));
        }
        Ok(())
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

    fn one(&mut self, item: &Item, c: &ChangeRef<'_>, at: &str) -> Result<Change> {
        let p = self.access.privileges(item.id);
        let empty = Map::new();
        let values = c.values.unwrap_or(&empty);
        let details = c.details.unwrap_or(&empty);
        match c.op {
            "insert" => {
                self.require(item, p.create, "create", at)?;
                Ok(Change::Insert {
                    values: self.values(item, values, None, at)?,
                    details: self.details(item, details, at)?,
                })
            }
            "update" => {
                let id = key(item, c.id, at)?;
                self.once(item, &id, at)?;
                // An update that only carries detail changes leaves the record as it is.
                if values.is_empty() {
                    self.require(item, p.view || p.edit, "view", at)?;
                } else {
                    self.require(item, p.edit, "edit", at)?;
                }
                Ok(Change::Update {
                    values: self.values(item, values, Some(&id), at)?,
                    id,
                    details: self.details(item, details, at)?,
                })
            }
            "delete" => {
                let id = key(item, c.id, at)?;
                self.once(item, &id, at)?;
                self.require(item, p.delete, "delete", at)?;
                let version_only = values.keys().all(|name| {
                    item.record_version
                        .is_some_and(|v| item.field(v).name.as_str() == name)
                });
                if !version_only || !details.is_empty() {
                    return Err(Error::bad_field(
                        at,
                        "a delete takes only an id (and, for an item with edit_lock, the record_version it last saw): deleting a record deletes its details",
                    ));
                }
                Ok(Change::Delete {
                    values: self.values(item, values, Some(&id), at)?,
                    id,
                })
            }
            other => Err(Error::bad_field(
                format!("{at}.op"),
                format!(
                    "{} is not insert, update or delete",
                    crate::values::describe(&Json::String(other.to_string()))
                ),
            )),
        }
    }

    fn values(
        &mut self,
        item: &Item,
        raw: &Map<String, Json>,
        update_id: Option<&Key>,
        at: &str,
    ) -> Result<Vec<(FieldId, Value)>> {
        let mut out = Vec::with_capacity(raw.len());
        for (name, v) in raw {
            // The field's path, for an error only.
            let path = || format!("{at}.{name}");
            let field = public_field_at(item, name, path, self.access)?;
            if field.id == item.primary_key {
                // A client's integer key on insert is ignored, a text key is the new record's
                // (the engine requires it); on update it must agree with `id`.
                match update_id {
                    Some(id)
                        if Key::from_json(item, v).ok().as_ref() != Some(id) && !v.is_null() =>
                    {
                        self.invalid.push(FieldError {
                            field: path(),
                            message: "the primary key cannot be changed".into(),
                        });
                    }
                    None if item.text_key() => match values::from_json(field.field_type, v) {
                        Ok(value) => out.push((field.id, value)),
                        Err(message) => self.invalid.push(FieldError {
                            field: path(),
                            message,
                        }),
                    },
                    _ => {}
                }
                continue;
            }
            if Some(field.id) == item.record_version {
                // Not written: the version the client last saw, which the engine compares
                // with the stored one (edit_lock).
                match v {
                    Json::Null => out.push((field.id, Value::Null)),
                    v => match whole_number(v) {
                        Ok(n) => out.push((field.id, Value::Int(n))),
                        Err(e) => self.invalid.push(FieldError {
                            field: path(),
                            message: format!("the record version must be an integer: {e}"),
                        }),
                    },
                }
                continue;
            }
            if item.is_server_set(field.id) {
                // The detail link is set from the master by the server.
                continue;
            }
            if field.read_only {
                self.invalid.push(FieldError {
                    field: path(),
                    message: "is read-only".into(),
                });
                continue;
            }
            if self.access.is_read_only(item.id, field.id) {
                self.forbidden.push(FieldError {
                    field: path(),
                    message: "is read-only for your role".into(),
                });
                continue;
            }
            match values::from_json(field.field_type, v) {
                Ok(value) => out.push((field.id, value)),
                Err(message) => self.invalid.push(FieldError {
                    field: path(),
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
            if list.is_null() {
                continue;
            }
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
            let at = format!("{at}.{name}");
            self.count(list.len(), &at)?;
            let mut changes = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                let at = indexed(&at, i);
                let c = change_ref(c).map_err(|e| Error::bad_field(&at, e))?;
                changes.push(self.one(detail, &c, &at)?);
            }
            out.push(DetailChanges {
                item: detail.id,
                changes,
            });
        }
        Ok(out)
    }
}

/// `at[i]`, a record's path: made for every record of a delta, so without `format!`.
fn indexed(at: &str, i: usize) -> String {
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(at.len() + 2 + digits.len() - start);
    out.push_str(at);
    out.push('[');
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
    out.push(']');
    out
}

#[cfg(test)]
mod indexed_tests {
    #[test]
    fn record_paths() {
        assert_eq!(super::indexed("changes", 0), "changes[0]");
        assert_eq!(
            super::indexed("changes[3].details.lines", 1234),
            "changes[3].details.lines[1234]"
        );
        assert_eq!(
            super::indexed("x", usize::MAX),
            format!("x[{}]", usize::MAX)
        );
    }
}
