//! The delta of an apply, as `on_apply` and the record events see it: `for d in delta`,
//! `d.rec_inserted()`, `d.edit()`, `d.<field>.value`, `d.<field>.old_value`, `d.post()`,
//! `d.<detail>`. The records are copied into Python objects before a handler runs and the
//! values it set are copied back after it; `old_value` is what the database held, read inside
//! the apply's transaction before any handler ran.

use std::sync::{Arc, Mutex};

use jamrs_core::{FieldId, FieldType, ItemId, Key, Task, Value};
use jamrs_store::engine::{ApplyResult, DetailRecords, Op, Record};
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;

use crate::convert::{py_to_value, value_to_py};
use crate::objects::dataset::PyDataset;

/// One record of a delta.
#[pyclass(name = "DeltaRecord", module = "jamrs")]
pub struct PyRecord {
    pub task: Arc<Task>,
    pub item: ItemId,
    pub op: Op,
    pub id: Option<Key>,
    /// The row as it will be saved: the stored row with the new values over it.
    pub values: Vec<Value>,
    /// Fields a handler set.
    pub set: Vec<bool>,
    pub old: Option<Vec<Value>>,
    pub details: Vec<(ItemId, Py<PyDelta>)>,
}

/// The records of one item in a delta; iterating it positions it on each record, as in Jam.py,
/// so `delta.<field>` and `d.<field>` both read the current record.
#[pyclass(name = "Delta", module = "jamrs")]
pub struct PyDelta {
    pub task: Arc<Task>,
    pub item: ItemId,
    pub records: Vec<Py<PyRecord>>,
    pub current: usize,
}

/// `d.<field>`: a field of a delta record or of a dataset's current row.
#[pyclass(name = "Field", module = "jamrs")]
pub struct PyField {
    pub owner: Owner,
    pub task: Arc<Task>,
    pub item: ItemId,
    pub field: FieldId,
}

pub enum Owner {
    Record(Py<PyRecord>),
    Dataset(Py<PyDataset>),
}

/// What `item.apply_delta` returns and `on_apply` may return.
#[pyclass(name = "ApplyResult", module = "jamrs")]
pub struct PyApplyResult {
    pub result: Mutex<Option<ApplyResult>>,
}

impl PyRecord {
    fn field_id(&self, name: &str) -> Option<FieldId> {
        self.task
            .item(self.item)
            .public_fields()
            .find(|f| f.name.as_str() == name)
            .map(|f| f.id)
    }
}

#[pymethods]
impl PyRecord {
    fn rec_inserted(&self) -> bool {
        self.op == Op::Insert
    }

    /// True for an update (Jam.py: also for a record whose details alone changed).
    fn rec_modified(&self) -> bool {
        self.op == Op::Update
    }

    fn rec_deleted(&self) -> bool {
        self.op == Op::Delete
    }

    /// Jam.py puts the record in edit mode before values change; here values can always be
    /// set, so `edit`, `post` and `cancel` only keep Jam.py code working.
    fn edit(&self) {}

    fn post(&self) {}

    fn cancel(&self) {}

    #[getter]
    fn item_name(&self) -> String {
        self.task.item(self.item).name.to_string()
    }

    /// The record's key (`None` for an insert until it is saved).
    #[getter]
    fn rec_id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.id
            .as_ref()
            .map(|id| crate::convert::value_to_py(py, &id.to_value(), id.field_type(), true))
            .transpose()
    }

    fn __getattr__(slf: Bound<'_, Self>, name: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.try_borrow()?;
        if let Some(f) = this.field_id(name) {
            let field = PyField {
                owner: Owner::Record(slf.clone().unbind()),
                task: this.task.clone(),
                item: this.item,
                field: f,
            };
            return Ok(Py::new(py, field)?.into_any());
        }
        for (d, delta) in &this.details {
            if this.task.item(*d).name.as_str() == name {
                return Ok(delta.clone_ref(py).into_any());
            }
        }
        Err(PyAttributeError::new_err(format!(
            "\"{}\" has no field or detail \"{name}\"",
            this.task.item(this.item).name
        )))
    }
}

impl PyDelta {
    fn record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyRecord>> {
        self.records
            .get(self.current)
            .map(|r| r.bind(py).clone())
            .ok_or_else(|| PyRuntimeError::new_err("the delta has no current record"))
    }
}

#[pymethods]
impl PyDelta {
    fn __iter__(slf: PyRef<'_, Self>) -> DeltaIter {
        DeltaIter {
            delta: slf.into(),
            next: 0,
        }
    }

    fn __len__(&self) -> usize {
        self.records.len()
    }

    #[getter]
    fn rec_count(&self) -> usize {
        self.records.len()
    }

    #[getter]
    fn item_name(&self) -> String {
        self.task.item(self.item).name.to_string()
    }

    fn rec_inserted(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.record(py)?.try_borrow()?.rec_inserted())
    }

    fn rec_modified(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.record(py)?.try_borrow()?.rec_modified())
    }

    fn rec_deleted(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.record(py)?.try_borrow()?.rec_deleted())
    }

    fn edit(&self) {}

    fn post(&self) {}

    fn cancel(&self) {}

    /// `delta.<field>` / `delta.<detail>`: of the current record.
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        PyRecord::__getattr__(self.record(py)?, name)
    }
}

#[pyclass]
pub struct DeltaIter {
    delta: Py<PyDelta>,
    next: usize,
}

#[pymethods]
impl DeltaIter {
    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyRecord>> {
        let mut d = self.delta.bind(py).try_borrow_mut()?;
        match d.records.get(self.next) {
            Some(r) => {
                let r = r.clone_ref(py);
                d.current = self.next;
                self.next += 1;
                Ok(r)
            }
            None => Err(PyStopIteration::new_err(())),
        }
    }
}

/// Reads `owner`'s value of `field`: (current value, value before the change).
fn read(py: Python<'_>, owner: &Owner, field: FieldId) -> PyResult<(Value, Value)> {
    match owner {
        Owner::Record(r) => {
            let r = r.bind(py).try_borrow()?;
            let i = field.0 as usize;
            let v = r.values.get(i).cloned().unwrap_or(Value::Null);
            let old = match &r.old {
                Some(old) => old.get(i).cloned().unwrap_or(Value::Null),
                // Jam.py: an inserted record's old value is its value.
                None => v.clone(),
            };
            Ok((v, old))
        }
        Owner::Dataset(d) => {
            let v = d.bind(py).try_borrow()?.value(field)?;
            Ok((v.clone(), v))
        }
    }
}

#[pymethods]
impl PyField {
    #[getter]
    fn field_name(&self) -> String {
        self.task.item(self.item).field(self.field).name.to_string()
    }

    #[getter]
    fn field_caption(&self) -> String {
        self.task.item(self.item).field(self.field).caption.clone()
    }

    #[getter]
    fn data_type(&self) -> u8 {
        self.task
            .item(self.item)
            .field(self.field)
            .field_type
            .jampy_code()
    }

    /// The value, with NULL as the type's empty value (0, '', False) as in Jam.py. A file
    /// field's value is its stored name (the part before `?`), as Jam.py's.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (v, _) = read(py, &self.owner, self.field)?;
        value_to_py(py, &file_part(v, self.t(), false), self.t(), false)
    }

    /// For a file or image field: where its file is on disk (the folder store), as Jam.py's
    /// `file_path`; `''` without a value, `None` with the database store (no file on disk).
    #[getter]
    fn file_path<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if !matches!(self.t(), FieldType::File | FieldType::Image) {
            return Ok(py.None().into_bound(py));
        }
        let (v, _) = read(py, &self.owner, self.field)?;
        let name = match &v {
            Value::Text(s) => jamrs_core::files::stored_name(s).map(str::to_string),
            _ => None,
        };
        match (&self.task.settings.files.store, name) {
            (_, None) => Ok("".into_pyobject(py)?.into_any()),
            (jamrs_core::files::FileStore::Folder(folder), Some(name)) => Ok(self
                .task
                .dir
                .join(folder)
                .join(name)
                .to_string_lossy()
                .into_owned()
                .into_pyobject(py)?
                .into_any()),
            (jamrs_core::files::FileStore::Database, Some(_)) => Ok(py.None().into_bound(py)),
        }
    }

    #[setter]
    fn set_value(&self, py: Python<'_>, v: Bound<'_, PyAny>) -> PyResult<()> {
        let value = py_to_value(&v, self.t())?;
        match &self.owner {
            Owner::Record(r) => {
                let mut r = r.bind(py).try_borrow_mut()?;
                let r = &mut *r;
                let i = self.field.0 as usize;
                match (r.values.get_mut(i), r.set.get_mut(i)) {
                    (Some(v), Some(set)) => {
                        *v = value;
                        *set = true;
                        Ok(())
                    }
                    _ => Err(PyRuntimeError::new_err("the record has no such field")),
                }
            }
            Owner::Dataset(d) => d.bind(py).try_borrow_mut()?.set_value(self.field, value),
        }
    }

    /// The value with NULL as `None`.
    #[getter]
    fn raw_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (v, _) = read(py, &self.owner, self.field)?;
        value_to_py(py, &v, self.t(), true)
    }

    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.raw_value(py)
    }

    /// For a delta record, the value stored in the database before this apply.
    #[getter]
    fn old_value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (_, old) = read(py, &self.owner, self.field)?;
        value_to_py(py, &old, self.t(), false)
    }

    /// The lookup field's text: for a dataset opened with `expanded=True`, the text it shows;
    /// otherwise `None`.
    #[getter]
    fn lookup_text<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.owner {
            Owner::Dataset(d) => match d.bind(py).try_borrow()?.lookup_text(self.field) {
                Some(v) => value_to_py(py, &v, FieldType::Text, true),
                None => Ok(py.None().into_bound(py)),
            },
            Owner::Record(_) => Ok(py.None().into_bound(py)),
        }
    }

    /// The record or dataset the field belongs to (Jam.py's `field.owner`), so
    /// `on_field_get_text` can read the other fields: `field.owner.firstname.value`.
    #[getter]
    fn owner(&self, py: Python<'_>) -> Py<PyAny> {
        match &self.owner {
            Owner::Record(r) => r.clone_ref(py).into_any(),
            Owner::Dataset(d) => d.clone_ref(py).into_any(),
        }
    }

    #[getter]
    fn text(&self, py: Python<'_>) -> PyResult<String> {
        let (v, _) = read(py, &self.owner, self.field)?;
        Ok(match file_part(v, self.t(), false) {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(s) => s,
            Value::Bool(b) => if b { "true" } else { "false" }.into(),
        })
    }

    /// The text shown for the value: `on_field_get_text(field)` of the item's module if it
    /// has one, otherwise `text`.
    #[getter]
    fn display_text(slf: Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let item = slf.try_borrow()?.item;
        if let Some(rt) = crate::context::current().map(|f| f.rt.clone())
            && let Some(text) = rt.field_get_text(py, item, &slf)?
        {
            return Ok(text);
        }
        let this = slf.try_borrow()?;
        if this.t() == FieldType::File {
            // A file shows the name a person gave it (Jam.py's `get_file_name`).
            let (v, _) = read(py, &this.owner, this.field)?;
            if let Value::Text(s) = file_part(v, FieldType::File, true) {
                return Ok(s);
            }
            return Ok(String::new());
        }
        this.text(py)
    }
}

/// A file field's value `"<name>?<original>"`: the name (`original` false) or the original
/// name; other values as they are.
fn file_part(v: Value, t: FieldType, original: bool) -> Value {
    match (t, v) {
        (FieldType::File, Value::Text(s)) => Value::Text(match s.split_once('?') {
            Some((name, orig)) => if original { orig } else { name }.to_string(),
            None => s,
        }),
        (_, v) => v,
    }
}

impl PyField {
    fn t(&self) -> FieldType {
        self.task.item(self.item).field(self.field).field_type
    }
}

#[pymethods]
impl PyApplyResult {
    fn __repr__(&self) -> String {
        "<ApplyResult>".into()
    }
}

/// Copies a delta into Python objects.
pub fn to_py(
    py: Python<'_>,
    task: &Arc<Task>,
    item: ItemId,
    records: &[Record],
) -> PyResult<Py<PyDelta>> {
    let model = task.item(item);
    let mut out = Vec::with_capacity(records.len());
    for rec in records {
        let mut values = rec
            .old
            .clone()
            .unwrap_or_else(|| vec![Value::Null; model.fields.len()]);
        for (f, v) in &rec.values {
            if let Some(slot) = values.get_mut(f.0 as usize) {
                *slot = v.clone();
            }
        }
        // An insert has its key once saved (`on_after_apply_record`).
        if let Some(id) = &rec.id
            && let Some(slot) = values.get_mut(model.primary_key.0 as usize)
        {
            *slot = id.to_value();
        }
        let details = rec
            .details
            .iter()
            .map(|d| Ok((d.item, to_py(py, task, d.item, &d.records)?)))
            .collect::<PyResult<Vec<_>>>()?;
        out.push(Py::new(
            py,
            PyRecord {
                task: task.clone(),
                item,
                op: rec.op,
                id: rec.id.clone(),
                set: vec![false; values.len()],
                values,
                old: rec.old.clone(),
                details,
            },
        )?);
    }
    Py::new(
        py,
        PyDelta {
            task: task.clone(),
            item,
            records: out,
            current: 0,
        },
    )
}

/// Copies the values a handler set back into the delta.
pub fn write_back(py: Python<'_>, delta: &Py<PyDelta>, records: &mut [Record]) -> PyResult<()> {
    let d = delta.bind(py).try_borrow()?;
    for (rec, pyrec) in records.iter_mut().zip(&d.records) {
        write_back_record(py, pyrec, rec)?;
    }
    Ok(())
}

pub fn write_back_record(py: Python<'_>, pyrec: &Py<PyRecord>, rec: &mut Record) -> PyResult<()> {
    let r = pyrec.bind(py).try_borrow()?;
    for (i, (set, value)) in r.set.iter().zip(&r.values).enumerate() {
        if *set {
            rec.set(FieldId(i as u32), value.clone());
        }
    }
    for (DetailRecords { records, .. }, (_, pydelta)) in rec.details.iter_mut().zip(&r.details) {
        write_back(py, pydelta, records)?;
    }
    Ok(())
}

/// After `item.apply_delta`: the keys the records got (new ones for inserts, at every detail
/// level) into the Python delta, so `d.id.value` reads them, as in Jam.py.
pub fn read_keys(py: Python<'_>, delta: &Py<PyDelta>, records: &[Record]) -> PyResult<()> {
    let d = delta.bind(py).try_borrow()?;
    for (rec, pyrec) in records.iter().zip(&d.records) {
        let mut r = pyrec.bind(py).try_borrow_mut()?;
        if let Some(id) = &rec.id {
            let pk = r.task.item(r.item).primary_key.0 as usize;
            r.id = Some(id.clone());
            if let Some(slot) = r.values.get_mut(pk) {
                *slot = id.to_value();
            }
        }
        for (DetailRecords { records, .. }, (_, pydelta)) in rec.details.iter().zip(&r.details) {
            read_keys(py, pydelta, records)?;
        }
    }
    Ok(())
}

/// Wraps one record (for `on_before_apply_record` / `on_after_apply_record`).
pub fn record_to_py(
    py: Python<'_>,
    task: &Arc<Task>,
    item: ItemId,
    rec: &Record,
) -> PyResult<Py<PyRecord>> {
    let delta = to_py(py, task, item, std::slice::from_ref(rec))?;
    let d = delta.bind(py).try_borrow()?;
    d.records
        .first()
        .map(|r| r.clone_ref(py))
        .ok_or_else(|| PyRuntimeError::new_err("the record was not copied"))
}

/// The result inside a `PyApplyResult` (what `item.apply_delta` returned), taken out.
pub fn result_of(v: &Bound<'_, PyAny>) -> Option<ApplyResult> {
    let r = v.cast::<PyApplyResult>().ok()?;
    let r = r.try_borrow().ok()?;
    r.result.lock().ok().and_then(|mut slot| slot.take())
}
