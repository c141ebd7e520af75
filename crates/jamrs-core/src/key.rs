//! A record's key: the value of an item's primary key, an integer or a text.
//!
//! Items jamrs creates are keyed by integers the database numbers. A table jamrs did not
//! create (an imported Jam.py table, `managed = false`) may be keyed by a text the client
//! chooses (`countries(code TEXT PRIMARY KEY)`). The key is a small enum rather than a text
//! path beside the integer one: every place that names a record (a change, a detail's master,
//! the IN lists the engine builds, the rows it reads back) handles both the same way, and an
//! integer key stays an `i64` inside it, with nothing allocated for it.

use std::fmt;

use serde_json::Value as Json;

use crate::model::Item;
use crate::params::whole_number;
use crate::types::{FieldType, Value};

/// The key of one record of an item: [`Key::Int`] for an integer primary key, [`Key::Text`]
/// for a text one ([`Item::text_key`]).
/// Serialized as the JSON number or string it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(untagged)]
pub enum Key {
    Int(i64),
    Text(String),
}

impl Key {
    /// The key a stored value holds: an integer, or a text (empty text is no key).
    pub fn from_value(v: &Value) -> Option<Key> {
        match v {
            Value::Int(i) => Some(Key::Int(*i)),
            Value::Text(s) if !s.is_empty() => Some(Key::Text(s.clone())),
            _ => None,
        }
    }

    /// The key a stored value holds, if it is of `item`'s key type.
    pub fn of_item(item: &Item, v: &Value) -> Option<Key> {
        match (item.text_key(), v) {
            (false, Value::Int(i)) => Some(Key::Int(*i)),
            (true, Value::Text(s)) if !s.is_empty() => Some(Key::Text(s.clone())),
            _ => None,
        }
    }

    /// Reads a key a client or a module sends for a record of `item`: a whole number for an
    /// integer key, a non-empty text for a text key.
    pub fn from_json(item: &Item, v: &Json) -> Result<Key, String> {
        if item.text_key() {
            match v {
                Json::String(s) if !s.is_empty() => Ok(Key::Text(s.clone())),
                Json::String(_) => Err("the key must be a non-empty text".into()),
                other => Err(format!(
                    "the key must be a text, not {}",
                    crate::values::describe(other)
                )),
            }
        } else {
            whole_number(v)
                .map(Key::Int)
                .map_err(|e| format!("the key must be an integer: {e}"))
        }
    }

    /// The bound value.
    pub fn to_value(&self) -> Value {
        match self {
            Key::Int(i) => Value::Int(*i),
            Key::Text(s) => Value::Text(s.clone()),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Key::Int(i) => (*i).into(),
            Key::Text(s) => s.clone().into(),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Key::Int(i) => Some(*i),
            Key::Text(_) => None,
        }
    }

    /// The field type a value of this key has.
    pub fn field_type(&self) -> FieldType {
        match self {
            Key::Int(_) => FieldType::Integer,
            Key::Text(_) => FieldType::Text,
        }
    }
}

impl From<i64> for Key {
    fn from(i: i64) -> Key {
        Key::Int(i)
    }
}

/// An integer as it is; a text quoted, so `countries "FR"` reads as a key.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(i) => write!(f, "{i}"),
            Key::Text(s) => write!(f, "{s:?}"),
        }
    }
}

impl PartialEq<i64> for Key {
    fn eq(&self, other: &i64) -> bool {
        *self == Key::Int(*other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_and_bound() {
        assert_eq!(Key::Int(5).to_string(), "5");
        assert_eq!(Key::Text("FR".into()).to_string(), "\"FR\"");
        assert_eq!(
            Key::Text("a\"b".into()).to_value(),
            Value::Text("a\"b".into())
        );
        assert_eq!(Key::from_value(&Value::Text(String::new())), None);
        assert_eq!(Key::from_value(&Value::Null), None);
        assert_eq!(Key::from_value(&Value::Int(3)), Some(Key::Int(3)));
    }
}
