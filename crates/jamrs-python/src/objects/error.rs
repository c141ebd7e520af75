//! jamrs errors in Python, and back.
//!
//! An error of the engine raised under a handler (a dataset's `open` or `apply`,
//! `apply_delta`, `task.execute`) becomes an [`EngineError`] holding the engine's [`Error`]. A
//! handler may catch it (it is a `RuntimeError`, with `code`, `message` and `fields`); if it
//! leaves the handler uncaught, the request fails with that very error: a 404 stays a 404, a
//! validation error keeps its fields, and an internal error stays internal (its text is logged,
//! never sent). An error of the module's own making (`item.abort`, a nested handler's
//! exception) is an `AbortException`, which fails the request as `module_error` with its
//! message, as in Jam.py.

use jamrs_core::{Error, Kind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::AbortException;

#[pyclass(extends = PyRuntimeError, frozen, name = "EngineError", module = "jamrs")]
pub struct EngineError {
    pub error: Error,
}

#[pymethods]
impl EngineError {
    /// The error's code in the API's contract: `not_found`, `forbidden`, `conflict`,
    /// `validation`, `bad_request`, `internal`, …
    #[getter]
    fn code(&self) -> &'static str {
        self.error.kind.code()
    }

    #[getter]
    fn message(&self) -> &str {
        &self.error.message
    }

    /// The fields at fault, as `(field, message)` pairs (validation errors).
    #[getter]
    fn fields(&self) -> Vec<(String, String)> {
        self.error
            .fields
            .iter()
            .map(|f| (f.field.clone(), f.message.clone()))
            .collect()
    }

    fn __str__(&self) -> &str {
        &self.error.message
    }

    fn __repr__(&self) -> String {
        format!(
            "EngineError({:?}, {:?})",
            self.error.kind.code(),
            self.error.message
        )
    }
}

/// An engine error raised in Python (see the module's doc).
pub fn to_py_err(e: Error) -> PyErr {
    if e.kind == Kind::Module {
        return AbortException::new_err(e.message);
    }
    Python::attach(|py| {
        let message = e.message.clone();
        match Bound::new(py, EngineError { error: e }) {
            Ok(obj) => match obj.setattr("args", (message,)) {
                Ok(()) => PyErr::from_value(obj.into_any()),
                Err(err) => err,
            },
            Err(err) => err,
        }
    })
}

/// The engine error an exception carries, if it is an [`EngineError`].
pub fn engine_error(py: Python<'_>, e: &PyErr) -> Option<Error> {
    e.value(py)
        .cast::<EngineError>()
        .ok()
        .map(|engine| engine.get().error.clone())
}
