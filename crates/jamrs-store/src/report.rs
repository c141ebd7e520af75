//! Reports and exports on the engine's side: what a report's code prints into
//! ([`ReportPrinter`]), the lookup params of a report checked against what the caller may open
//! ([`check_lookup_params`]), and the value a row shows for a field ([`shown`]).

use jamrs_core::model::{Field, Item, Report};
use jamrs_core::query::OpenParams;
use jamrs_core::report::{ParamData, ParamValue};
use jamrs_core::{Error, FieldError, FieldType, Key, Result, Task, Value};
use serde_json::{Value as Json, json};

use crate::builder::{Column, ColumnKind};
use crate::conn::Conn;
use crate::engine::{Engine, OpenResult};

/// Where a report's server code prints: the template's bands (Jam.py's `report.print_band`
/// and `report.hide_columns`).
pub trait ReportPrinter {
    /// Prints band `band`, asking `value` for each of its placeholders: `Ok(None)` when the
    /// code gave no value (the placeholder stays as written), `Value::Null` for an empty cell.
    fn print_band(
        &mut self,
        band: &str,
        value: &mut dyn FnMut(&str) -> Result<Option<Value>>,
    ) -> Result<()>;

    /// Collapses columns, by letters (`"B"`) or number (`"2"`); only before the first band.
    fn hide_columns(&mut self, columns: &[String]) -> Result<()>;

    /// The template's band names, in order.
    fn bands(&self) -> Vec<String>;
}

/// One run of a report's server module: its checked params, the format asked for, where it
/// prints, and how long it may run.
pub struct ReportRun<'a> {
    /// One per param of the report, in order.
    pub params: &'a [ParamValue],
    /// The format the caller asked for (`report.ext` is `.` and this).
    pub format: &'a str,
    /// Where the module prints. Server code takes it while the module runs (its report object
    /// holds it) and puts it back after, so nothing can print once the run has ended.
    pub printer: Option<Box<dyn ReportPrinter + Send>>,
    /// How long the module's handlers may run, together.
    pub timeout: std::time::Duration,
}

/// The most keys of one lookup param checked in one open (the engine chunks its own lists; this
/// bounds the open's compared values).
const KEYS_PER_CHECK: usize = 5_000;

/// Every key a lookup param names must be a row of the lookup item that the caller could open
/// (their tenant, their role's view privilege, the filters `on_open` adds for them); the text
/// the lookup shows for it is filled in `texts`. A key the caller cannot open is refused as
/// missing, so a report cannot tell one tenant about another's rows.
pub fn check_lookup_params(
    engine: &Engine,
    conn: &mut dyn Conn,
    report: &Report,
    params: &mut [ParamValue],
) -> Result<()> {
    let task = engine.task();
    let mut errors = Vec::new();
    for (p, value) in report.params.iter().zip(params.iter_mut()) {
        let Some(lookup) = &p.field.lookup else {
            continue;
        };
        let item = task.item(lookup.item());
        let keys: Vec<Key> = match &value.data {
            ParamData::One(v) => match Key::of_item(item, v) {
                Some(k) => vec![k],
                None => continue,
            },
            ParamData::Many(vs) => vs.iter().filter_map(|v| Key::of_item(item, v)).collect(),
        };
        let shown = item.field(lookup.steps[0].field);
        let mut texts = std::collections::HashMap::new();
        for chunk in keys.chunks(KEYS_PER_CHECK) {
            let params = OpenParams {
                fields: Some(vec![item.pk().name.to_string(), shown.name.to_string()]),
                filters: vec![json!([item.pk().name.as_str(), "in", chunk])],
                expanded: true,
                limit: Some(chunk.len() as u64),
                ..OpenParams::default()
            };
            let rows = engine
                .open(conn, item, params)
                .map_err(|e| e.with_field(&format!("params.{}", p.field.name)))?;
            for row in &rows.rows {
                if let Some(k) = row.first().and_then(|v| Key::of_item(item, v)) {
                    texts.insert(k, shown_text(task, shown, &rows.columns, row));
                }
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in &keys {
            match texts.get(k) {
                Some(t) => out.push(t.clone()),
                None => errors.push(FieldError {
                    field: format!("params.{}", p.field.name),
                    message: format!("{} {k} does not exist", item.name),
                }),
            }
        }
        value.texts = out;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::validation(errors))
    }
}

/// The text a row shows for `field` (its lookup text, its lookup list's text, or its value),
/// from an expanded open's `columns`.
fn shown_text(task: &Task, field: &Field, columns: &[Column], row: &[Value]) -> Option<String> {
    match shown(task, field, columns, row) {
        Value::Null => None,
        Value::Text(t) => Some(t),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(if b { "True" } else { "False" }.into()),
    }
}

/// The value a row shows for `field` in an expanded open: a lookup field's text, a lookup
/// list field's text, a calculated field's total, or the stored value.
pub fn shown(task: &Task, field: &Field, columns: &[Column], row: &[Value]) -> Value {
    let find = |kind: fn(&ColumnKind) -> bool| {
        columns
            .iter()
            .position(|c| c.field == field.id && kind(&c.kind))
            .and_then(|i| row.get(i).cloned())
    };
    if field.lookup.is_some() {
        return find(|k| *k == ColumnKind::LookupText).unwrap_or(Value::Null);
    }
    let value = find(|k| matches!(k, ColumnKind::Value | ColumnKind::Calc)).unwrap_or(Value::Null);
    match (field.lookup_values, &value) {
        (Some(list), Value::Int(v)) => task.lookup_lists[list]
            .values
            .iter()
            .find(|(x, _)| x == v)
            .map_or(value.clone(), |(_, t)| Value::Text(t.clone())),
        _ => value,
    }
}

/// The type a field's shown value has (text for lookups and lookup lists).
pub fn shown_type(task: &Task, field: &Field) -> FieldType {
    match &field.lookup {
        Some(l) => task.lookup_text_field(l).field_type,
        None if field.lookup_values.is_some() => FieldType::Text,
        None => field.field_type,
    }
}

/// A page of the keys of the rows a client's open finds, in its order (the builder makes the
/// order total with the key, so pages neither repeat nor skip rows within one read
/// transaction).
pub fn open_keys(
    engine: &Engine,
    conn: &mut dyn Conn,
    item: &Item,
    mut params: OpenParams,
    offset: u64,
    limit: u64,
) -> Result<Vec<Key>> {
    // The client's filters, search and order (lookup texts order as the grid shows them, so
    // `expanded` stays as sent); one page of keys, however large `max_limit` is.
    params.fields = Some(vec![item.pk().name.to_string()]);
    params.funcs = None;
    params.summary = false;
    params.group_by = Vec::new();
    params.limit = Some(limit);
    params.offset = Some(offset);
    params.unlimited = true;
    let result: OpenResult = engine.open(conn, item, params)?;
    Ok(result
        .rows
        .iter()
        .filter_map(|r| r.first().and_then(|v| Key::of_item(item, v)))
        .collect())
}

/// JSON for a key list filter (for callers building opens by key).
pub fn keys_filter(item: &Item, keys: &[Key]) -> Json {
    json!([item.pk().name.as_str(), "in", keys])
}
