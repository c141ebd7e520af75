//! `report`: the object a report's handlers receive (`on_before_generate(report)`, …), with
//! Jam.py's API: `report.print_band(band, dict)`, `report.hide_columns(columns)`, the params
//! as attributes (`report.date_from.value`, `report.customer.lookup_text`) and in
//! `report.params`, `report.ext`, `report.task`, `report.session`.
//!
//! The report prints into the run's printer only while its run lasts: the printer is taken
//! back when the handlers return, so a report object a module kept prints nothing later.

use std::sync::{Arc, Mutex};

use jamrs_core::model::{Report, ReportParam};
use jamrs_core::report::{ParamData, ParamValue};
use jamrs_core::{ReportId, Task, Value};
use jamrs_store::report::ReportPrinter;
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::convert::value_to_py;
use crate::objects::error::to_py_err;
use crate::objects::item::{PyTask, session_dict};

type Printer = Box<dyn ReportPrinter + Send>;

#[pyclass(name = "Report", frozen, module = "jamrs")]
pub struct PyReport {
    task: Arc<Task>,
    report: ReportId,
    params: Vec<Py<PyParam>>,
    ext: String,
    printer: Mutex<Option<Printer>>,
}

impl PyReport {
    pub fn new(
        py: Python<'_>,
        task: &Arc<Task>,
        report: ReportId,
        values: &[ParamValue],
        format: &str,
        printer: Printer,
    ) -> PyResult<PyReport> {
        let model = task.report(report);
        let mut params = Vec::with_capacity(model.params.len());
        for (i, value) in values.iter().enumerate() {
            params.push(Py::new(
                py,
                PyParam {
                    task: task.clone(),
                    report,
                    index: i,
                    value: value.clone(),
                },
            )?);
        }
        Ok(PyReport {
            task: task.clone(),
            report,
            params,
            ext: format!(".{format}"),
            printer: Mutex::new(Some(printer)),
        })
    }

    fn model(&self) -> &Report {
        self.task.report(self.report)
    }

    /// Takes the printer back at the end of the run.
    pub fn take_printer(&self) -> Option<Printer> {
        match self.printer.lock() {
            Ok(mut p) => p.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    fn with_printer<T>(&self, f: impl FnOnce(&mut Printer) -> PyResult<T>) -> PyResult<T> {
        // Not `lock`: a value's `__str__` that prints a band while a band is being printed
        // would wait for itself for ever.
        let mut slot = self.printer.try_lock().map_err(|e| match e {
            std::sync::TryLockError::WouldBlock => PyRuntimeError::new_err(
                "the report is printing a band: print_band cannot be called from a value being printed",
            ),
            std::sync::TryLockError::Poisoned(_) => PyRuntimeError::new_err("the report is broken"),
        })?;
        match slot.as_mut() {
            Some(p) => f(p),
            None => Err(PyRuntimeError::new_err(
                "this report has ended: it prints only while its handlers run",
            )),
        }
    }
}

/// A band value from Python: `None` prints an empty cell; numbers stay numbers; a date or a
/// time prints as its text; anything else is refused (as Jam.py refuses it).
fn cell_value(band: &str, name: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        return v.extract::<i64>().map(Value::Int).map_err(|_| {
            PyValueError::new_err(format!(
                "print_band(\"{band}\"): {name} is an integer too large for a cell"
            ))
        });
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::Text(s.to_str()?.to_string()));
    }
    let py = v.py();
    let datetime = py.import("datetime")?;
    for kind in ["datetime", "date", "time"] {
        if v.is_instance(&datetime.getattr(kind)?)? {
            return Ok(Value::Text(v.str()?.to_string()));
        }
    }
    if v.is_instance(&py.import("decimal")?.getattr("Decimal")?)? {
        return Ok(Value::Float(v.extract::<f64>()?));
    }
    if v.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "print_band(\"{band}\"): {name} is a dict; images in cells are not supported by jamrs"
        )));
    }
    let kind = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Err(PyTypeError::new_err(format!(
        "print_band(\"{band}\"): {name} is a {kind}; a cell takes str, int, float, bool, None, a date or a time"
    )))
}

#[pymethods]
impl PyReport {
    #[getter]
    fn item_name(&self) -> &str {
        self.model().name.as_str()
    }

    #[getter]
    fn item_caption(&self) -> &str {
        &self.model().caption
    }

    #[getter]
    fn task(&self) -> PyTask {
        PyTask {
            task: self.task.clone(),
        }
    }

    /// The extension of the format asked for: `.pdf`, `.ods`, …
    #[getter]
    fn ext(&self) -> &str {
        &self.ext
    }

    #[getter]
    fn params(&self, py: Python<'_>) -> Vec<Py<PyParam>> {
        self.params.iter().map(|p| p.clone_ref(py)).collect()
    }

    fn param_by_name(&self, py: Python<'_>, name: &str) -> Option<Py<PyParam>> {
        let i = self
            .model()
            .params
            .iter()
            .position(|p| p.field.name.as_str() == name)?;
        self.params.get(i).map(|p| p.clone_ref(py))
    }

    /// The session of the caller who prints the report (`{"user_info": {...}}`).
    #[getter]
    fn session<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        session_dict(py, &self.task)
    }

    #[getter]
    fn user_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match session_dict(py, &self.task)? {
            Some(s) => s.get_item("user_info"),
            None => Ok(None),
        }
    }

    /// The template's band names.
    #[getter]
    fn bands(&self) -> PyResult<Vec<String>> {
        self.with_printer(|p| Ok(p.bands()))
    }

    /// Prints a band of the template, filling its `%(name)s` cells from `values` (a dict,
    /// `locals()` as Jam.py's examples pass it; other keys are ignored).
    #[pyo3(signature = (band, values = None))]
    fn print_band(&self, band: &str, values: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let values = match values.filter(|v| !v.is_none()) {
            Some(v) => Some(v.cast_into::<PyDict>().map_err(|_| {
                PyTypeError::new_err("print_band(band, values): values must be a dict")
            })?),
            None => None,
        };
        self.with_printer(|p| {
            // A Python error while reading a value is kept here and raised as itself.
            let mut raised: Option<PyErr> = None;
            let result = p.print_band(band, &mut |name| {
                let Some(dict) = &values else { return Ok(None) };
                let v = match dict.get_item(name) {
                    Ok(Some(v)) => v,
                    Ok(None) => return Ok(None),
                    Err(e) => {
                        raised = Some(e);
                        return Err(jamrs_core::Error::new(jamrs_core::Kind::Module, "raised"));
                    }
                };
                match cell_value(band, name, &v) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => {
                        raised = Some(e);
                        Err(jamrs_core::Error::new(jamrs_core::Kind::Module, "raised"))
                    }
                }
            });
            match (result, raised) {
                (Err(_), Some(e)) => Err(e),
                (Err(e), None) => Err(to_py_err(e)),
                (Ok(()), _) => Ok(()),
            }
        })
    }

    /// Collapses columns of the printed sheet (`["B", "D"]` or `[2, 4]`); call it before the
    /// first `print_band` (in `on_before_generate` or `on_parsed`).
    fn hide_columns(&self, columns: Bound<'_, PyAny>) -> PyResult<()> {
        let mut names = Vec::new();
        for c in columns.try_iter()? {
            let c = c?;
            names.push(match c.extract::<i64>() {
                Ok(n) => n.to_string(),
                Err(_) => c.extract::<String>().map_err(|_| {
                    PyTypeError::new_err("hide_columns takes column letters or numbers")
                })?,
            });
            if names.len() > 16_384 {
                return Err(PyValueError::new_err("hide_columns: too many columns"));
            }
        }
        self.with_printer(|p| p.hide_columns(&names).map_err(to_py_err))
    }

    /// `report.<param_name>`: a param.
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyParam>> {
        self.param_by_name(py, name).ok_or_else(|| {
            PyAttributeError::new_err(format!(
                "report \"{}\" has no attribute or param \"{name}\"",
                self.model().name
            ))
        })
    }

    fn __repr__(&self) -> String {
        format!("<Report {}>", self.model().name)
    }
}

/// A report param (`report.<name>`): Jam.py's param field.
#[pyclass(name = "Param", frozen, module = "jamrs")]
pub struct PyParam {
    task: Arc<Task>,
    report: ReportId,
    index: usize,
    value: ParamValue,
}

impl PyParam {
    fn model(&self) -> &ReportParam {
        &self.task.report(self.report).params[self.index]
    }

    fn text_of(&self, i: usize, v: &Value) -> String {
        if let Some(Some(t)) = self.value.texts.get(i) {
            return t.clone();
        }
        match v {
            Value::Null => String::new(),
            Value::Text(t) => t.clone(),
            Value::Int(n) => n.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        }
    }
}

#[pymethods]
impl PyParam {
    #[getter]
    fn param_name(&self) -> &str {
        self.model().field.name.as_str()
    }

    #[getter]
    fn field_name(&self) -> &str {
        self.param_name()
    }

    #[getter]
    fn param_caption(&self) -> &str {
        &self.model().field.caption
    }

    #[getter]
    fn field_caption(&self) -> &str {
        self.param_caption()
    }

    #[getter]
    fn data_type(&self) -> u8 {
        self.model().field.field_type.jampy_code()
    }

    #[getter]
    fn required(&self) -> bool {
        self.model().field.required
    }

    #[getter]
    fn multi_select(&self) -> bool {
        self.model().multi_select
    }

    /// The value: a number, text (dates as `YYYY-MM-DD`), a boolean, `None`; a list of them
    /// for a multi-select param.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = self.model().field.field_type;
        match &self.value.data {
            ParamData::One(v) => value_to_py(py, v, t, true),
            ParamData::Many(vs) => {
                let list = PyList::empty(py);
                for v in vs {
                    list.append(value_to_py(py, v, t, true)?)?;
                }
                Ok(list.into_any())
            }
        }
    }

    /// Jam.py's `data`: the value as sent.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.value(py)
    }

    /// A lookup param's key (keys), as Jam.py's `lookup_value`.
    #[getter]
    fn lookup_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.value(py)
    }

    /// The text a lookup (or lookup list) shows for the value; for a multi-select param, the
    /// texts joined with ", ". `None` for a param without a lookup.
    #[getter]
    fn lookup_text(&self) -> Option<String> {
        let f = &self.model().field;
        if f.lookup.is_none() && f.lookup_values.is_none() {
            return None;
        }
        Some(self.display_text())
    }

    /// The value as text: a lookup's text, a lookup list's text, or the value itself.
    #[getter]
    fn display_text(&self) -> String {
        match &self.value.data {
            ParamData::One(v) => self.text_of(0, v),
            ParamData::Many(vs) => vs
                .iter()
                .enumerate()
                .map(|(i, v)| self.text_of(i, v))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    #[getter]
    fn text(&self) -> String {
        self.display_text()
    }

    fn __repr__(&self) -> String {
        format!("<Param {}>", self.model().field.name)
    }
}
