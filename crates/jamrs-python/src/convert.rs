//! Values between Rust and Python: JSON (params, server-function arguments and results) and
//! field values (typed by the field, as Jam.py's `field.value`).

use jamrs_core::{FieldType, Value, values};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

/// How deep a value may nest, lists and dicts counted: as deep as a client's JSON may be
/// (serde_json's parser stops at 128 levels). A list that contains itself is infinitely deep,
/// so this bound also stops cycles, before they overflow the thread's stack.
pub const MAX_DEPTH: usize = 128;

/// How large a value may be, as the length of its JSON text (counted as it is made): 32 MiB.
/// A list that holds the same string many times is small in Python and huge as JSON.
pub const MAX_JSON_BYTES: usize = 32 << 20;

/// What a conversion may still spend. One budget can span several conversions (the rows an
/// `on_open` answers with), so that their sum is bounded too.
pub struct Budget {
    bytes_left: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bytes_left: MAX_JSON_BYTES,
        }
    }
}

impl Budget {
    /// Spends `bytes`, or fails once the budget is gone.
    pub fn spend(&mut self, bytes: usize) -> PyResult<()> {
        match self.bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.bytes_left = left;
                Ok(())
            }
            None => Err(PyValueError::new_err(format!(
                "a value larger than {} MiB as JSON cannot be sent or stored",
                MAX_JSON_BYTES >> 20
            ))),
        }
    }
}

fn too_deep() -> PyErr {
    PyValueError::new_err(format!(
        "a value nested deeper than {MAX_DEPTH} levels (or a list or dict that contains itself) cannot be sent or stored"
    ))
}

/// JSON → Python (dicts, lists, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    json_to_py_at(py, v, 0)
}

fn json_to_py_at<'py>(py: Python<'py>, v: &Json, depth: usize) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any(),
            None => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(a) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            let list = PyList::empty(py);
            for x in a {
                list.append(json_to_py_at(py, x, depth + 1)?)?;
            }
            list.into_any()
        }
        Json::Object(o) => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            map_to_py_at(py, o, depth)?.into_any()
        }
    })
}

pub fn map_to_py<'py>(py: Python<'py>, o: &Map<String, Json>) -> PyResult<Bound<'py, PyDict>> {
    map_to_py_at(py, o, 0)
}

fn map_to_py_at<'py>(
    py: Python<'py>,
    o: &Map<String, Json>,
    depth: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, x) in o {
        d.set_item(k, json_to_py_at(py, x, depth + 1)?)?;
    }
    Ok(d)
}

/// Python → JSON. Dates and datetimes become ISO strings, tuples lists; anything else is a
/// TypeError naming its type. Bounded: at most [`MAX_DEPTH`] levels and [`MAX_JSON_BYTES`], so
/// a list that contains itself or a huge result fails with a ValueError instead of
/// overflowing the stack or the memory.
pub fn py_to_json(v: &Bound<'_, PyAny>) -> PyResult<Json> {
    py_to_json_within(v, &mut Budget::default())
}

/// [`py_to_json`] spending from `budget`.
pub fn py_to_json_within(v: &Bound<'_, PyAny>, budget: &mut Budget) -> PyResult<Json> {
    py_to_json_at(v, 0, budget)
}

fn py_to_json_at(v: &Bound<'_, PyAny>, depth: usize, budget: &mut Budget) -> PyResult<Json> {
    if v.is_none() {
        budget.spend(4)?;
        return Ok(Json::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        budget.spend(5)?;
        return Ok(Json::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        budget.spend(20)?;
        return match v.extract::<i64>() {
            Ok(i) => Ok(Json::from(i)),
            Err(_) => Err(PyValueError::new_err("an integer out of the 64-bit range")),
        };
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        budget.spend(24)?;
        return Number::from_f64(f.value())
            .map(Json::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity cannot be sent as JSON"));
    }
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_str()?;
        budget.spend(s.len() + 2)?;
        return Ok(Json::String(s.to_string()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        budget.spend(2)?;
        let mut m = Map::new();
        // A private copy: converting a value may run Python code (a date's `isoformat`),
        // which could change the dict under the iterator (and PyO3's iterator panics then).
        for (k, x) in d.copy()?.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("dictionary keys sent as JSON must be strings"))?
                .to_str()?
                .to_string();
            budget.spend(key.len() + 4)?;
            m.insert(key, py_to_json_at(&x, depth + 1, budget)?);
        }
        return Ok(Json::Object(m));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        budget.spend(2)?;
        let mut out = Vec::new();
        for x in v.try_iter()? {
            budget.spend(1)?;
            out.push(py_to_json_at(&x?, depth + 1, budget)?);
        }
        return Ok(Json::Array(out));
    }
    // datetime.date / datetime.datetime
    if v.hasattr("isoformat")? {
        let iso: String = v.call_method0("isoformat")?.extract()?;
        budget.spend(iso.len() + 2)?;
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
    py_to_value_within(v, t, &mut Budget::default())
}

/// [`py_to_value`] spending from `budget`.
pub fn py_to_value_within(
    v: &Bound<'_, PyAny>,
    t: FieldType,
    budget: &mut Budget,
) -> PyResult<Value> {
    // A `datetime` for a date field is its date, as in Jam.py (its documentation sets a date
    // field to `datetime.datetime.now()`).
    let json = if t == FieldType::Date && v.hasattr("date")? && v.hasattr("hour")? {
        py_to_json_within(&v.call_method0("date")?, budget)?
    } else {
        py_to_json_within(v, budget)?
    };
    values::from_json(t, &json).map_err(PyValueError::new_err)
}

/// Python → a value to bind in raw SQL (None, bool, int, float, str; dates as ISO text),
/// spending from `budget` (shared by a statement's parameters).
pub fn py_to_any_value_within(v: &Bound<'_, PyAny>, budget: &mut Budget) -> PyResult<Value> {
    Ok(match py_to_json_within(v, budget)? {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        Json::Array(_) | Json::Object(_) => {
            return Err(PyTypeError::new_err(
                "a list or dict cannot be bound as an SQL parameter",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval<'py>(py: Python<'py>, code: &str) -> Bound<'py, PyAny> {
        let globals = PyDict::new(py);
        let code = std::ffi::CString::new(code).unwrap();
        py.run(&code, Some(&globals), None).unwrap();
        globals.get_item("x").unwrap().unwrap()
    }

    fn message(e: &PyErr, py: Python<'_>) -> String {
        e.value(py).to_string()
    }

    #[test]
    fn a_value_that_contains_itself_is_refused_not_followed() {
        Python::attach(|py| {
            for code in [
                "x = []\nx.append(x)",
                "x = {}\nx['me'] = x",
                "x = []\nx.append({'a': (1, x)})",
            ] {
                let e = py_to_json(&eval(py, code)).unwrap_err();
                assert!(message(&e, py).contains("contains itself"), "{code}: {e}");
            }
        });
    }

    #[test]
    fn nesting_is_bounded_both_ways() {
        Python::attach(|py| {
            // As deep as a client's JSON may be: accepted, and back.
            let mut ok = json!(1);
            for _ in 0..MAX_DEPTH {
                ok = json!([ok]);
            }
            let back = py_to_json(&json_to_py(py, &ok).unwrap()).unwrap();
            assert_eq!(back, ok);
            // One level more, or 10,000: refused.
            let deeper = json!([ok]);
            assert!(json_to_py(py, &deeper).is_err());
            let x = eval(py, "x = []\nfor _ in range(10000):\n    x = [x]");
            let e = py_to_json(&x).unwrap_err();
            assert!(message(&e, py).contains("deeper than 128"), "{e}");
            let x = eval(py, "x = {}\nfor _ in range(10000):\n    x = {'a': x}");
            assert!(py_to_value(&x, FieldType::Text).is_err());
        });
    }

    #[test]
    fn size_is_bounded_and_a_budget_spans_several_values() {
        Python::attach(|py| {
            let huge = eval(py, "x = ['x' * 1000000] * 100");
            let e = py_to_json(&huge).unwrap_err();
            assert!(message(&e, py).contains("larger than 32 MiB"), "{e}");
            let many = eval(py, "import itertools\nx = itertools.repeat('abc')");
            // An endless iterator is not a list: refused by type, without iterating.
            assert!(py_to_json(&many).is_err());
            let row = eval(py, "x = 'y' * (1 << 20)");
            let mut budget = Budget::default();
            let mut fitted = 0;
            while py_to_value_within(&row, FieldType::Text, &mut budget).is_ok() {
                fitted += 1;
            }
            assert_eq!(
                fitted, 31,
                "32 MiB holds 31 values of 1 MiB and their quotes"
            );
        });
    }

    #[test]
    fn a_dict_changed_while_it_is_converted_is_read_as_it_was() {
        Python::attach(|py| {
            let x = eval(
                py,
                "class D:\n    def isoformat(self):\n        x.clear()\n        return '2020-01-01'\nx = {'a': D(), 'b': D()}",
            );
            assert_eq!(
                py_to_json(&x).unwrap(),
                json!({"a": "2020-01-01", "b": "2020-01-01"})
            );
        });
    }
}
