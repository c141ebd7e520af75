//! Open params as Jam.py handlers see them: a dict with `__fields`, `__filters`, `__order`,
//! `__limit`, `__offset`, `__expanded`, `__funcs`, `__summary`, `__group_by`, `__master`,
//! `__search`, `__client_request`, and the user's own keys beside them. Whatever a handler
//! leaves in the dict is what the engine then checks and runs.
//!
//! The `__` keys are the server's. A client's `params` (of an open or an apply) may hold any
//! other key; one that begins with `__` is refused ([`check_client_keys`]), so a client can
//! neither set nor shadow what the server tells a handler (`__client_request` above all).

use jamrs_core::query::OpenParams;
use jamrs_core::{Error, Result};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value as Json};

use crate::convert::{json_to_py, map_to_py, py_to_json};

/// Refuses a client's `params` with a key that begins with `__` (400, naming the key): those
/// keys are the server's.
pub fn check_client_keys(params: &Map<String, Json>) -> Result<()> {
    match params.keys().find(|k| k.starts_with("__")) {
        Some(key) => Err(Error::bad_field(
            format!("params.{key}"),
            format!(
                "params[\"{key}\"]: keys that begin with \"__\" are the server's (use the open request's own fields, such as \"limit\", or a key of your own)"
            ),
        )),
        None => Ok(()),
    }
}

/// The params as the dict a handler gets (every `on_open` call makes one, so it is built
/// directly, with interned keys; the tests check it against the JSON form). The user's keys go
/// in first, so the server's `__` keys win even over one that slipped past
/// [`check_client_keys`] (a server-side dataset's `params`).
pub fn to_py<'py>(
    py: Python<'py>,
    p: &OpenParams,
    client_request: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in &p.params {
        d.set_item(k, json_to_py(py, v)?)?;
    }
    let list = |items: &[Json]| -> PyResult<Bound<'py, PyList>> {
        let l = PyList::empty(py);
        for x in items {
            l.append(json_to_py(py, x)?)?;
        }
        Ok(l)
    };
    let fields: &[String] = p.fields.as_deref().unwrap_or_default();
    d.set_item(intern!(py, "__fields"), PyList::new(py, fields)?)?;
    d.set_item(intern!(py, "__filters"), list(&p.filters)?)?;
    d.set_item(intern!(py, "__order"), list(&p.order)?)?;
    d.set_item(intern!(py, "__limit"), p.limit.unwrap_or(0))?;
    d.set_item(intern!(py, "__offset"), p.offset.unwrap_or(0))?;
    d.set_item(intern!(py, "__expanded"), p.expanded)?;
    match &p.funcs {
        Some(f) => d.set_item(intern!(py, "__funcs"), map_to_py(py, f)?)?,
        None => d.set_item(intern!(py, "__funcs"), py.None())?,
    }
    d.set_item(intern!(py, "__summary"), p.summary)?;
    d.set_item(intern!(py, "__group_by"), PyList::new(py, &p.group_by)?)?;
    let or_none = |v: &Option<Json>| match v {
        Some(v) => json_to_py(py, v),
        None => Ok(py.None().into_bound(py)),
    };
    d.set_item(intern!(py, "__master"), or_none(&p.master)?)?;
    d.set_item(intern!(py, "__search"), or_none(&p.search)?)?;
    d.set_item(intern!(py, "__client_request"), client_request)?;
    Ok(d)
}

fn bad(key: &str, what: &str) -> PyErr {
    PyValueError::new_err(format!("params['{key}'] must be {what}"))
}

/// Reads the params back after a handler.
pub fn from_py(d: &Bound<'_, PyDict>) -> PyResult<OpenParams> {
    let Json::Object(m) = py_to_json(d.as_any())? else {
        return Err(PyValueError::new_err("params must stay a dict"));
    };
    from_json(m)
}

pub fn from_json(m: Map<String, Json>) -> PyResult<OpenParams> {
    let mut p = OpenParams::default();
    for (k, v) in m {
        match k.as_str() {
            "__fields" => match v {
                Json::Null => {}
                Json::Array(a) if a.is_empty() => {}
                Json::Array(a) => {
                    p.fields = Some(
                        a.into_iter()
                            .map(|x| match x {
                                Json::String(s) => Ok(s),
                                _ => Err(bad(&k, "a list of field names")),
                            })
                            .collect::<PyResult<_>>()?,
                    )
                }
                _ => return Err(bad(&k, "a list of field names")),
            },
            "__filters" => match v {
                Json::Null => {}
                Json::Array(a) => p.filters = a,
                _ => return Err(bad(&k, "a list of filters")),
            },
            "__order" => match v {
                Json::Null => {}
                Json::Array(a) => p.order = a,
                _ => return Err(bad(&k, "a list")),
            },
            "__limit" => p.limit = non_negative(&k, &v)?,
            "__offset" => p.offset = non_negative(&k, &v)?,
            "__expanded" => p.expanded = truthy(&v),
            "__summary" => p.summary = truthy(&v),
            "__funcs" => match v {
                Json::Null => {}
                Json::Object(o) if o.is_empty() => {}
                Json::Object(o) => p.funcs = Some(o),
                _ => return Err(bad(&k, "a dict {field: function}")),
            },
            "__group_by" => match v {
                Json::Null => {}
                Json::Array(a) => {
                    p.group_by = a
                        .into_iter()
                        .map(|x| match x {
                            Json::String(s) => Ok(s),
                            _ => Err(bad(&k, "a list of field names")),
                        })
                        .collect::<PyResult<_>>()?
                }
                _ => return Err(bad(&k, "a list of field names")),
            },
            "__master" => p.master = (!v.is_null()).then_some(v),
            "__search" => p.search = (!v.is_null()).then_some(v),
            // Informational (Jam.py's): nothing to read back.
            "__client_request" | "__open_empty" => {}
            other if other.starts_with("__") => {
                return Err(PyValueError::new_err(format!(
                    "params['{other}'] is not an open parameter"
                )));
            }
            _ => {
                p.params.insert(k, v);
            }
        }
    }
    Ok(p)
}

fn non_negative(key: &str, v: &Json) -> PyResult<Option<u64>> {
    match v {
        Json::Null => Ok(None),
        Json::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(key, "a whole number, 0 or more")),
        _ => Err(bad(key, "a whole number, 0 or more")),
    }
}

fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The handler's dict as JSON: what [`to_py`] must make.
    fn to_json(p: &OpenParams, client_request: bool) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert(
            "__fields".into(),
            json!(p.fields.clone().unwrap_or_default()),
        );
        m.insert("__filters".into(), Json::Array(p.filters.clone()));
        m.insert("__order".into(), Json::Array(p.order.clone()));
        m.insert("__limit".into(), json!(p.limit.unwrap_or(0)));
        m.insert("__offset".into(), json!(p.offset.unwrap_or(0)));
        m.insert("__expanded".into(), json!(p.expanded));
        m.insert(
            "__funcs".into(),
            p.funcs.clone().map_or(Json::Null, Json::Object),
        );
        m.insert("__summary".into(), json!(p.summary));
        m.insert("__group_by".into(), json!(p.group_by));
        m.insert("__master".into(), p.master.clone().unwrap_or(Json::Null));
        m.insert("__search".into(), p.search.clone().unwrap_or(Json::Null));
        m.insert("__client_request".into(), json!(client_request));
        for (k, v) in &p.params {
            m.insert(k.clone(), v.clone());
        }
        m
    }

    #[test]
    fn params_round_trip_through_the_jampy_shape() {
        let p: OpenParams = serde_json::from_value(json!({
            "fields": ["a", "b"], "filters": [["a", 1, 2]], "order": [["a", true]],
            "limit": 10, "offset": 5, "expanded": true, "funcs": {"a": "sum"}, "summary": true,
            "group_by": ["b"], "master": 3, "search": ["a", "x"], "params": {"mine": 1}
        }))
        .unwrap();
        let back = from_json(to_json(&p, true)).unwrap();
        assert_eq!(format!("{back:?}"), format!("{p:?}"));
        assert!(from_json(json!({"__nope": 1}).as_object().unwrap().clone()).is_err());
        assert!(from_json(json!({"__limit": -1}).as_object().unwrap().clone()).is_err());
    }

    #[test]
    fn the_handlers_dict_holds_what_the_jampy_shape_does() {
        let full: OpenParams = serde_json::from_value(json!({
            "fields": ["a", "b"], "filters": [["a", 1, 2.5], ["b", 3, null]], "order": [["a", true]],
            "limit": 10, "offset": 5, "expanded": true, "funcs": {"a": "sum"}, "summary": true,
            "group_by": ["b"], "master": {"id": 3}, "search": ["a", "x"], "params": {"mine": [1, "two"]}
        }))
        .unwrap();
        for (p, client) in [(full, true), (OpenParams::default(), false)] {
            let made =
                Python::attach(|py| py_to_json(to_py(py, &p, client).unwrap().as_any())).unwrap();
            assert_eq!(made, Json::Object(to_json(&p, client)));
        }
    }

    #[test]
    fn a_client_cannot_set_server_params() {
        let sent = |params: Json| -> OpenParams {
            serde_json::from_value(json!({ "params": params })).unwrap()
        };
        let forged = sent(json!({"mine": 1, "__client_request": false}));
        let err = check_client_keys(&forged.params).unwrap_err();
        assert_eq!(err.kind, jamrs_core::Kind::BadRequest);
        assert_eq!(err.fields[0].field, "params.__client_request");
        assert!(check_client_keys(&sent(json!({"mine": 1, "_x": 2})).params).is_ok());
        // Had one slipped past (a server-side dataset's params), the server's value wins.
        let made =
            Python::attach(|py| py_to_json(to_py(py, &forged, true).unwrap().as_any())).unwrap();
        assert_eq!(made["__client_request"], json!(true));
        assert_eq!(made["mine"], json!(1));
    }
}
