//! Values between Rust and Python: JSON (params, server-function arguments and results) and
//! field values (typed by the field, as Jam.py's `field.value`).

use jamrs_core::{FieldType, Value, values};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

/// JSON → Python (dicts, lists, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(json_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Json::Object(o) => map_to_py(py, o)?.into_any(),
    })
}

pub fn map_to_py<'py>(py: Python<'py>, o: &Map<String, Json>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, x) in o {
        d.set_item(k, json_to_py(py, x)?)?;
    }
    Ok(d)
}

/// Python → JSON. Dates and datetimes become ISO strings, tuples lists; anything else is a
/// TypeError naming its type.
pub fn py_to_json(v: &Bound<'_, PyAny>) -> PyResult<Json> {
    if v.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        return match v.extract::<i64>() {
            Ok(i) => Ok(Json::from(i)),
            Err(_) => Err(PyValueError::new_err("an integer out of the 64-bit range")),
        };
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Json::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity cannot be sent as JSON"));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Json::String(s.to_str()?.to_string()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, x) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("dictionary keys sent as JSON must be strings"))?
                .to_str()?
                .to_string();
            m.insert(key, py_to_json(&x)?);
        }
        return Ok(Json::Object(m));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for x in v.try_iter()? {
            out.push(py_to_json(&x?)?);
        }
        return Ok(Json::Array(out));
    }
    // datetime.date / datetime.datetime
    if v.hasattr("isoformat")? {
        let iso: String = v.call_method0("isoformat")?.extract()?;
        return Ok(Json::String(iso.replacen('T', " ", 1)));
    }
    Err(PyTypeError::new_err(format!(
        "a {} cannot be sent as JSON",
        v.get_type().name()?
    )))
}

/// A stored value → Python, as `field.value` reads it. Jam.py turns NULL into the type's empty
/// value (0, '', False) for `value`; `raw` keeps None.
pub fn value_to_py<'py>(
    py: Python<'py>,
    v: &Value,
    t: FieldType,
    raw: bool,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null if raw => py.None().into_bound(py),
        Value::Null => match t {
            FieldType::Integer => 0i64.into_pyobject(py)?.into_any(),
            FieldType::Float | FieldType::Currency => 0f64.into_pyobject(py)?.into_any(),
            FieldType::Boolean => PyBool::new(py, false).to_owned().into_any(),
            FieldType::Date | FieldType::DateTime => py.None().into_bound(py),
            _ => PyString::new(py, "").into_any(),
        },
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => f.into_pyobject(py)?.into_any(),
        Value::Text(s) => PyString::new(py, s).into_any(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
    })
}

/// Python → a value for a field of type `t`, with the same checks as a client's value.
pub fn py_to_value(v: &Bound<'_, PyAny>, t: FieldType) -> PyResult<Value> {
    // A `datetime` for a date field is its date, as in Jam.py (its documentation sets a date
    // field to `datetime.datetime.now()`).
    let json = if t == FieldType::Date && v.hasattr("date")? && v.hasattr("hour")? {
        py_to_json(&v.call_method0("date")?)?
    } else {
        py_to_json(v)?
    };
    values::from_json(t, &json).map_err(PyValueError::new_err)
}

/// Python → a value to bind in raw SQL (None, bool, int, float, str; dates as ISO text).
pub fn py_to_any_value(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    Ok(match py_to_json(v)? {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        other => {
            return Err(PyTypeError::new_err(format!(
                "{other} cannot be bound as an SQL parameter"
            )));
        }
    })
}
