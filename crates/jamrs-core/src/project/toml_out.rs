//! The canonical TOML writer for project files.
//!
//! Layout: plain keys first, then `[table]` sections, then `[[array]]` entries; anything nested
//! inside those is written inline (`lookup = { item = "a", field = "b" }`). Key order is the
//! struct's field order. The output of `write` parses back to the same value, and writing
//! that value again gives the same text.

use std::fmt::Write;

use serde::Serialize;
use toml::value::Datetime;
use toml::{Table, Value};

/// The key of the one-entry table serde uses to carry a TOML date or time.
const DATETIME_KEY: &str = "$__toml_private_datetime";

/// Serializes `value` in canonical layout.
pub fn write<T: Serialize>(value: &T) -> Result<String, String> {
    let table = restore_datetimes(Table::try_from(value).map_err(|e| e.to_string())?);
    let mut out = String::new();
    for (key, v) in &table {
        if !is_section(v) && !is_array_of_tables(v) {
            line(&mut out, key, v);
        }
    }
    for (key, v) in &table {
        if let Value::Table(inner) = v {
            section_break(&mut out);
            let _ = writeln!(out, "[{}]", key_text(key));
            for (k, v) in inner {
                line(&mut out, k, v);
            }
        }
    }
    for (key, v) in &table {
        if let (true, Value::Array(entries)) = (is_array_of_tables(v), v) {
            for entry in entries {
                section_break(&mut out);
                let _ = writeln!(out, "[[{}]]", key_text(key));
                if let Value::Table(inner) = entry {
                    for (k, v) in inner {
                        line(&mut out, k, v);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `Table::try_from` leaves a date or time (`default_value = 2024-01-31`) as serde's private
/// one-entry table, which would be written as `{ "$__toml_private_datetime" = … }`; turn it back
/// into the literal it was read from.
fn restore_datetimes(table: Table) -> Table {
    table
        .into_iter()
        .map(|(k, v)| (k, restore_datetime(v)))
        .collect()
}

fn restore_datetime(v: Value) -> Value {
    match v {
        Value::Table(t) => match datetime_of(&t) {
            Some(d) => Value::Datetime(d),
            None => Value::Table(restore_datetimes(t)),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(restore_datetime).collect()),
        other => other,
    }
}

fn datetime_of(t: &Table) -> Option<Datetime> {
    match (t.len(), t.get(DATETIME_KEY)) {
        (1, Some(Value::String(s))) => s.parse().ok(),
        _ => None,
    }
}

fn is_section(v: &Value) -> bool {
    matches!(v, Value::Table(_))
}

fn is_array_of_tables(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty() && a.iter().all(|e| matches!(e, Value::Table(_))))
}

fn section_break(out: &mut String) {
    if !out.is_empty() {
        out.push('\n');
    }
}

fn line(out: &mut String, key: &str, v: &Value) {
    let _ = writeln!(out, "{} = {}", key_text(key), inline(v));
}

fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        inline(&Value::String(key.to_string()))
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Table(t) => {
            if t.is_empty() {
                return "{}".into();
            }
            let parts: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", key_text(k), inline(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_tables_are_inline_and_output_is_stable() {
        let text = r#"
name = "x"
list = [[1, "a b"], [2, "c\"d"]]
[[fields]]
name = "f"
lookup = { item = "i", field = "g" }
[server]
bind = "127.0.0.1:1"
"#;
        let table: Table = toml::from_str(text).unwrap();
        let once = write(&table).unwrap();
        let again = write(&toml::from_str::<Table>(&once).unwrap()).unwrap();
        assert_eq!(once, again);
        assert!(
            once.contains("lookup = { item = \"i\", field = \"g\" }"),
            "{once}"
        );
        assert!(once.starts_with("name = \"x\"\n"), "{once}");
        assert_eq!(toml::from_str::<Table>(&once).unwrap(), table);
    }

    #[test]
    fn dates_and_times_are_written_as_toml_literals() {
        #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Field {
            name: String,
            default_value: Value,
            lookup: Table,
        }
        let text = "name = \"d\"\ndefault_value = 2024-01-31\n\n[lookup]\nat = 2024-01-31T10:11:12Z\nlist = [10:11:12]\n";
        let field: Field = toml::from_str(text).unwrap();
        let out = write(&field).unwrap();
        assert_eq!(out, text);
        assert_eq!(toml::from_str::<Field>(&out).unwrap(), field);
    }
}
