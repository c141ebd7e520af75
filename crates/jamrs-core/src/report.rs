//! A report's parameters as a caller sends them: checked and typed against the report's
//! params ([`resolve_params`]). Whether a lookup param names a row the caller may see is the
//! engine's question (`jamrs_store::report`).

use serde_json::{Map, Value as Json};

use crate::error::{Error, FieldError, Result};
use crate::model::{DefaultValue, Report, Task};
use crate::types::{FieldType, Value};
use crate::values;

/// The most keys a multi-select param may carry (each is checked against the lookup item).
pub const MAX_PARAM_KEYS: usize = 10_000;

/// The value of one param.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamData {
    One(Value),
    /// A multi-select param: the chosen keys (or lookup list values).
    Many(Vec<Value>),
}

/// A param's checked value, with the text a lookup or lookup list shows for it (one per value;
/// filled by the engine for lookups).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValue {
    pub data: ParamData,
    pub texts: Vec<Option<String>>,
}

/// Checks `sent` (`{name: value}`) against `report`'s params: unknown names are refused, a
/// missing or null value takes the param's default, required params must have a value, values
/// are typed for the param's type, lookup list values must be in the list. One entry per
/// param, in the report's order. Every param at fault is named (`params.<name>`).
pub fn resolve_params(
    task: &Task,
    report: &Report,
    sent: &Map<String, Json>,
) -> Result<Vec<ParamValue>> {
    for key in sent.keys() {
        if report.param_by_name(key).is_none() {
            let names: Vec<&str> = report
                .params
                .iter()
                .map(|p| p.field.name.as_str())
                .collect();
            return Err(Error::bad_field(
                format!("params.{key}"),
                format!(
                    "report \"{}\" has no param \"{key}\" (its params: {})",
                    report.name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
    }
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(report.params.len());
    for p in &report.params {
        let f = &p.field;
        let place = format!("params.{}", f.name);
        let mut fail = |msg: String| {
            errors.push(FieldError {
                field: place.clone(),
                message: msg,
            })
        };
        let sent = sent.get(f.name.as_str()).filter(|v| !v.is_null());
        let data = if p.multi_select {
            match sent {
                None => ParamData::Many(Vec::new()),
                Some(Json::Array(list)) if list.len() > MAX_PARAM_KEYS => {
                    fail(format!("at most {MAX_PARAM_KEYS} values"));
                    ParamData::Many(Vec::new())
                }
                Some(Json::Array(list)) => {
                    let mut values = Vec::with_capacity(list.len());
                    for v in list {
                        match values::from_json(f.field_type, v) {
                            Ok(Value::Null) => fail("a list of values cannot hold null".into()),
                            Ok(v) if !values.contains(&v) => values.push(v),
                            Ok(_) => {}
                            Err(e) => fail(e),
                        }
                    }
                    ParamData::Many(values)
                }
                Some(other) => {
                    fail(format!(
                        "expected a list of values, got {}",
                        values::describe(other)
                    ));
                    ParamData::Many(Vec::new())
                }
            }
        } else {
            let value = match sent {
                Some(v) => match values::from_json(f.field_type, v) {
                    Ok(v) => v,
                    Err(e) => {
                        fail(e);
                        out.push(ParamValue {
                            data: ParamData::One(Value::Null),
                            texts: Vec::new(),
                        });
                        continue;
                    }
                },
                None => match &f.default_value {
                    Some(DefaultValue::Value(v)) => v.clone(),
                    Some(DefaultValue::Today) => Value::Text(values::today()),
                    Some(DefaultValue::Now) => Value::Text(values::now()),
                    None => Value::Null,
                },
            };
            if let (Some(max), Value::Text(t)) = (f.size, &value)
                && f.field_type == FieldType::Text
                && t.chars().count() > max as usize
            {
                fail(format!("longer than {max} characters"));
            }
            ParamData::One(value)
        };
        let empty = match &data {
            ParamData::One(v) => *v == Value::Null,
            ParamData::Many(v) => v.is_empty(),
        };
        if f.required && empty {
            fail("a value is required".into());
        }
        let list = f.lookup_values.map(|i| &task.lookup_lists[i]);
        let mut texts = Vec::new();
        let each: Vec<&Value> = match &data {
            ParamData::One(Value::Null) => Vec::new(),
            ParamData::One(v) => vec![v],
            ParamData::Many(vs) => vs.iter().collect(),
        };
        for v in each {
            match (list, v) {
                (Some(list), Value::Int(i)) => match list.values.iter().find(|(x, _)| x == i) {
                    Some((_, text)) => texts.push(Some(text.clone())),
                    None => fail(format!(
                        "{i} is not a value of lookup list \"{}\"",
                        list.name
                    )),
                },
                _ => texts.push(None),
            }
        }
        out.push(ParamValue { data, texts });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::validation(errors))
    }
}
