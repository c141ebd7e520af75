//! Server-side datasets: `task.<item>.copy()`, `set_where(field__op=…)`, `set_fields`,
//! `set_order_by`, `open()`, iteration, `append` / `edit` / `post` / `delete`, `apply()`.
//!
//! A dataset runs on the connection of the handler it is used in (so inside `on_apply` it sees
//! and joins the apply's transaction). As in Jam.py, a server-side open is not checked against
//! the caller's privileges unless `open(safe=True)`; with `handlers=True` (the default of
//! `copy()`) the item's open and apply events fire for it.

use std::sync::Arc;

use jamrs_core::delta::Change;
use jamrs_core::query::{OpenParams, OpenQuery};
use jamrs_core::{Error, FieldId, FilterOp, ItemId, Key, Task, Value};
use jamrs_store::builder::{Column, ColumnKind};
use jamrs_store::engine::OpenResult;
use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use serde_json::{Map, Value as Json};

use crate::context;
use crate::convert::{map_to_py, py_to_json};
use crate::objects::delta::{Owner, PyField};
use crate::objects::error::to_py_err;
use crate::objects::item::PyItem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Browse,
    Edit,
    Insert,
}

#[pyclass(name = "Dataset", module = "jamrs")]
pub struct PyDataset {
    task: Arc<Task>,
    item: ItemId,
    handlers: bool,
    /// Sees every tenant's rows (`copy(unscoped=True)`): for server code outside a request,
    /// such as `on_created`, that must work across tenants.
    unscoped: bool,
    fields: Vec<String>,
    filters: Vec<Json>,
    order: Vec<Json>,
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
    rec_no: usize,
    active: bool,
    state: State,
    /// The row before `edit()`, for `cancel()`.
    snapshot: Option<Vec<Value>>,
    /// Fields set since `edit()` / `append()`.
    touched: Vec<FieldId>,
    /// Posted changes waiting for `apply()`, with the row an insert belongs to.
    changes: Vec<(Change, Option<usize>)>,
    /// The rows of an open being answered (`on_after_open`'s dataset): changed in place, never
    /// saved, so posting records nothing (its columns need not include the key).
    rows_only: bool,
}

/// `item.apply_delta(delta, params, connection)`: Jam.py's default processing of the delta, for
/// an `on_apply` that wraps it.
pub fn apply_delta(
    item: &PyItem,
    py: Python<'_>,
    delta: Bound<'_, PyAny>,
) -> PyResult<super::PyApplyResult> {
    let frame = context::current()
        .ok_or_else(|| PyRuntimeError::new_err("apply_delta works only inside on_apply"))?;
    let pydelta = delta
        .cast::<super::PyDelta>()
        .map_err(|_| PyValueError::new_err("apply_delta takes the delta on_apply received"))?;
    if frame.applied.get() {
        return Err(PyRuntimeError::new_err(
            "apply_delta has already saved this delta",
        ));
    }
    let busy = |_| PyRuntimeError::new_err("apply_delta is already running for this delta");
    let mut rust = frame
        .delta
        .try_borrow_mut()
        .map_err(busy)?
        .take()
        .ok_or_else(|| PyRuntimeError::new_err("apply_delta works only inside on_apply"))?;
    if !pydelta.try_borrow().is_ok_and(|d| d.item == rust.item) {
        frame.delta.try_borrow_mut().map_err(busy)?.replace(rust);
        return Err(PyValueError::new_err(
            "apply_delta takes the delta of its own item",
        ));
    }
    let written = super::delta::write_back(py, &pydelta.clone().unbind(), &mut rust.records);
    let result = match written {
        Ok(()) => {
            let hooks = frame.hooks(true);
            let access = item.task.access(frame.role_access);
            let engine = frame.engine(&hooks, access);
            frame
                .with_conn(|c| engine.apply_delta(c, &mut rust))
                .map_err(to_py_err)
        }
        Err(e) => Err(e),
    };
    let keys = match &result {
        Ok(_) => super::delta::read_keys(py, &pydelta.clone().unbind(), &rust.records),
        Err(_) => Ok(()),
    };
    frame.delta.try_borrow_mut().map_err(busy)?.replace(rust);
    frame.applied.set(true);
    let result = result?;
    keys?;
    Ok(super::PyApplyResult {
        result: std::sync::Mutex::new(Some(result)),
    })
}

impl PyDataset {
    pub fn new(task: &Arc<Task>, item: ItemId, handlers: bool, unscoped: bool) -> PyDataset {
        PyDataset {
            task: task.clone(),
            item,
            handlers,
            unscoped,
            fields: Vec::new(),
            filters: Vec::new(),
            order: Vec::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            rec_no: 0,
            active: false,
            state: State::Browse,
            snapshot: None,
            touched: Vec::new(),
            changes: Vec::new(),
            rows_only: false,
        }
    }

    /// The column holding `field`'s value: stored, calculated (expanded opens) or aggregated
    /// (`funcs`, `summary`); lookup texts are read with `lookup_text`.
    fn column(&self, field: FieldId) -> PyResult<usize> {
        self.columns
            .iter()
            .position(|c| c.field == field && c.kind != ColumnKind::LookupText)
            .ok_or_else(|| {
                PyRuntimeError::new_err(format!(
                    "field \"{}\" is not among the dataset's fields (open it first, or add it with set_fields)",
                    self.task.item(self.item).field(field).name
                ))
            })
    }

    /// The current row's value of `field`.
    pub fn value(&self, field: FieldId) -> PyResult<Value> {
        let c = self.column(field)?;
        self.rows
            .get(self.rec_no)
            .and_then(|r| r.get(c))
            .cloned()
            .ok_or_else(|| PyRuntimeError::new_err("the dataset has no current record"))
    }

    /// The current row's lookup text of `field` (an `expanded` open), or `None`.
    pub fn lookup_text(&self, field: FieldId) -> Option<Value> {
        let c = self
            .columns
            .iter()
            .position(|c| c.field == field && c.kind == ColumnKind::LookupText)?;
        self.rows.get(self.rec_no).and_then(|r| r.get(c)).cloned()
    }

    /// Sets `field` in the current row (Jam.py puts the dataset in edit mode for it).
    pub fn set_value(&mut self, field: FieldId, value: Value) -> PyResult<()> {
        if self.state == State::Browse {
            self.start_edit()?;
        }
        let c = self.column(field)?;
        let cell = self
            .rows
            .get_mut(self.rec_no)
            .and_then(|r| r.get_mut(c))
            .ok_or_else(|| PyRuntimeError::new_err("the dataset has no current record"))?;
        *cell = value;
        if !self.touched.contains(&field) {
            self.touched.push(field);
        }
        Ok(())
    }

    fn start_edit(&mut self) -> PyResult<()> {
        let row = self
            .rows
            .get(self.rec_no)
            .ok_or_else(|| PyRuntimeError::new_err("edit: the dataset has no current record"))?;
        self.snapshot = Some(row.clone());
        self.state = State::Edit;
        self.touched.clear();
        Ok(())
    }

    /// Leaves edit or insert mode before the current record changes, as a Delphi-style
    /// dataset does: a record with values set is posted; one without any is left as it was
    /// (an appended record is dropped). So the record being edited is always the current one,
    /// and `post`, `cancel` and `delete` work on the record they were meant for.
    fn check_browse(&mut self) -> PyResult<()> {
        match self.state {
            State::Browse => Ok(()),
            State::Insert | State::Edit if self.touched.is_empty() => {
                self.cancel_record();
                Ok(())
            }
            State::Insert | State::Edit => self.post_record(),
        }
    }

    /// Moves to record `n` (a position past the end is `eof()`).
    fn move_to(&mut self, n: usize) -> PyResult<()> {
        self.check_browse()?;
        self.rec_no = n.min(self.rows.len());
        Ok(())
    }

    fn post_record(&mut self) -> PyResult<()> {
        if self.rows_only {
            self.state = State::Browse;
            self.snapshot = None;
            self.touched.clear();
            return Ok(());
        }
        let values: Vec<(FieldId, Value)> = self
            .touched
            .iter()
            .map(|f| Ok((*f, self.value(*f)?)))
            .collect::<PyResult<_>>()?;
        match self.state {
            State::Insert => self.changes.push((
                Change::Insert {
                    values,
                    details: Vec::new(),
                },
                Some(self.rec_no),
            )),
            State::Edit if !values.is_empty() => {
                let id = self.key()?;
                self.changes.push((
                    Change::Update {
                        id,
                        values,
                        details: Vec::new(),
                    },
                    // The row, for the record version `apply` writes back (edit_lock).
                    Some(self.rec_no),
                ));
            }
            State::Edit | State::Browse => {}
        }
        self.state = State::Browse;
        self.snapshot = None;
        self.touched.clear();
        Ok(())
    }

    fn cancel_record(&mut self) {
        match self.state {
            State::Insert => {
                if self.rec_no < self.rows.len() {
                    self.rows.remove(self.rec_no);
                }
                self.rec_no = self.rec_no.min(self.rows.len().saturating_sub(1));
            }
            State::Edit => {
                if let (Some(s), Some(row)) = (self.snapshot.take(), self.rows.get_mut(self.rec_no))
                {
                    *row = s;
                }
            }
            State::Browse => {}
        }
        self.state = State::Browse;
        self.snapshot = None;
        self.touched.clear();
    }

    fn key(&self) -> PyResult<Key> {
        let item = self.task.item(self.item);
        Key::of_item(item, &self.value(item.primary_key)?)
            .ok_or_else(|| PyRuntimeError::new_err("the record has no key yet (apply it first)"))
    }

    /// The rows for `columns` (after `on_after_open` changed them).
    pub fn rows_for(&self, columns: &[Column]) -> Vec<Vec<Value>> {
        if self.columns == columns {
            return self.rows.clone();
        }
        Vec::new()
    }

    fn open_params(&self) -> OpenParams {
        let mut fields = self.fields.clone();
        let item = self.task.item(self.item);
        let pk = item.pk().name.to_string();
        if !fields.is_empty() && !fields.contains(&pk) {
            // Edits and deletes need the key.
            fields.insert(0, pk);
        }
        OpenParams {
            fields: (!fields.is_empty()).then_some(fields),
            filters: self.filters.clone(),
            order: self.order.clone(),
            unlimited: true,
            ..OpenParams::default()
        }
    }
}

/// Names from `*args`, or from one list argument.
fn names(args: &Bound<'_, PyTuple>) -> PyResult<Vec<String>> {
    let items: Vec<Bound<'_, PyAny>> = match args.len() {
        1 if args.get_item(0)?.cast::<PyList>().is_ok()
            || args.get_item(0)?.cast::<PyTuple>().is_ok() =>
        {
            args.get_item(0)?.try_iter()?.collect::<PyResult<_>>()?
        }
        _ => args.iter().collect(),
    };
    items.iter().map(|x| x.extract::<String>()).collect()
}

/// `set_where(title__contains='x', id=5)` → filters `[field, op, value]`.
fn where_filters(item: &jamrs_core::model::Item, d: &Bound<'_, PyDict>) -> PyResult<Vec<Json>> {
    let mut out = Vec::new();
    // A private copy: converting a value may run the module's code, which could change `d`.
    for (k, v) in d.copy()?.iter() {
        let key: String = k.extract()?;
        let (field, op) = match key.split_once("__") {
            Some((f, op)) => {
                let (op, lookup) = FilterOp::from_name(op).ok_or_else(|| {
                    PyValueError::new_err(format!("set_where: \"{op}\" is not a filter (eq, ne, lt, le, gt, ge, in, not_in, range, isnull, exact, contains, startwith, endwith, contains_all)"))
                })?;
                (
                    f.to_string(),
                    format!("{}{}", op.name(), if lookup { "_l" } else { "" }),
                )
            }
            None => (key.clone(), "eq".to_string()),
        };
        if item.field_by_name(&field).is_none() {
            return Err(PyValueError::new_err(format!(
                "set_where: \"{}\" has no field \"{field}\"",
                item.name
            )));
        }
        out.push(Json::Array(vec![
            Json::String(field),
            Json::String(op),
            py_to_json(&v)?,
        ]));
    }
    Ok(out)
}

/// A detail's rows are read per master row: `set_where(<link field>=<master key>)` (and, for
/// `master_id` links, `master_id=<master item id>` to name one of several masters) becomes the
/// open's `master`.
fn master_from_where(
    task: &Task,
    item: &jamrs_core::model::Item,
    filters: &mut Vec<Json>,
) -> PyResult<Json> {
    use jamrs_core::model::MasterLink;
    let mut take = |field: FieldId| -> Option<i64> {
        let name = item.field(field).name.as_str();
        let i = filters.iter().position(|f| {
            f.get(0).and_then(Json::as_str) == Some(name)
                && f.get(1).and_then(Json::as_str) == Some("eq")
                && f.get(2).is_some_and(Json::is_i64)
        })?;
        filters.remove(i).get(2).and_then(Json::as_i64)
    };
    let (rec_field, found) = match item.master_link {
        Some(MasterLink::MasterField(f)) => (f, take(f).map(|id| (None, id))),
        Some(MasterLink::MasterIdRecId {
            master_id,
            master_rec_id,
        }) => {
            let number = take(master_id);
            (master_rec_id, take(master_rec_id).map(|id| (number, id)))
        }
        None => return Ok(Json::Null),
    };
    let Some((number, id)) = found else {
        return Err(PyValueError::new_err(format!(
            "\"{}\" is a detail: open the rows of one master with set_where({}=<the master's key>)",
            item.name,
            item.field(rec_field).name
        )));
    };
    let master = number.and_then(|n| {
        item.masters
            .iter()
            .map(|m| task.item(*m))
            .find(|m| m.number == Some(n))
    });
    Ok(match master {
        Some(m) => serde_json::json!({"item": m.name.as_str(), "id": id}),
        None => Json::from(id),
    })
}

fn order_entries(names: Vec<String>) -> Vec<Json> {
    names
        .into_iter()
        .map(|n| match n.strip_prefix('-') {
            Some(bare) => Json::Array(vec![Json::String(bare.into()), Json::Bool(true)]),
            None => Json::Array(vec![Json::String(n), Json::Bool(false)]),
        })
        .collect()
}

#[pymethods]
impl PyDataset {
    #[getter]
    fn item_name(&self) -> String {
        self.task.item(self.item).name.to_string()
    }

    #[pyo3(signature = (filters = true, details = true, handlers = true, unscoped = None))]
    fn copy(
        &self,
        filters: bool,
        details: bool,
        handlers: bool,
        unscoped: Option<bool>,
    ) -> PyDataset {
        let _ = (filters, details);
        PyDataset::new(
            &self.task,
            self.item,
            handlers,
            unscoped.unwrap_or(self.unscoped),
        )
    }

    /// `set_where(field=value, field__op=value)` or `set_where({...})`; replaces earlier ones.
    #[pyo3(signature = (*args, **kwargs))]
    fn set_where(
        &mut self,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let py = args.py();
        let d = PyDict::new(py);
        for a in args.iter() {
            d.update(a.cast::<PyDict>()?.as_mapping())?;
        }
        if let Some(k) = kwargs {
            d.update(k.as_mapping())?;
        }
        self.filters = where_filters(self.task.item(self.item), &d)?;
        Ok(())
    }

    #[pyo3(signature = (*args))]
    fn set_fields(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.fields = names(args)?;
        Ok(())
    }

    /// `set_order_by('-date', 'name')`: a leading `-` is descending.
    #[pyo3(signature = (*args))]
    fn set_order_by(&mut self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.order = order_entries(names(args)?);
        Ok(())
    }

    /// Jam.py's `open()`; `where`, `fields` and `order_by` replace what the `set_*` calls set.
    #[pyo3(signature = (options = None, expanded = None, fields = None, r#where = None, order_by = None,
                        open_empty = false, params = None, offset = None, limit = None, funcs = None,
                        group_by = None, safe = false, connection = None))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        slf: Bound<'_, Self>,
        options: Option<Bound<'_, PyDict>>,
        expanded: Option<bool>,
        fields: Option<Vec<String>>,
        r#where: Option<Bound<'_, PyDict>>,
        order_by: Option<Vec<String>>,
        open_empty: bool,
        params: Option<Bound<'_, PyDict>>,
        offset: Option<u64>,
        limit: Option<u64>,
        funcs: Option<Bound<'_, PyDict>>,
        group_by: Option<Vec<String>>,
        safe: bool,
        connection: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = (options, connection);
        let (task, item_id, handlers, unscoped, mut p) = {
            let mut this = slf.try_borrow_mut()?;
            if let Some(f) = fields {
                this.fields = f;
            }
            if let Some(w) = &r#where {
                this.filters = where_filters(this.task.item(this.item), w)?;
            }
            if let Some(o) = order_by {
                this.order = order_entries(o);
            }
            (
                this.task.clone(),
                this.item,
                this.handlers,
                this.unscoped,
                this.open_params(),
            )
        };
        p.expanded = expanded.unwrap_or(false);
        p.offset = offset;
        p.limit = limit;
        if let Some(f) = funcs {
            match py_to_json(f.as_any())? {
                Json::Object(m) => p.funcs = Some(m),
                _ => return Err(PyValueError::new_err("funcs is a dict {field: function}")),
            }
        }
        p.group_by = group_by.unwrap_or_default();
        if let Some(params) = params {
            match py_to_json(params.as_any())? {
                Json::Object(m) => p.params = m,
                _ => return Err(PyValueError::new_err("params is a dict")),
            }
        }
        if task.item(item_id).is_detail() && p.master.is_none() {
            p.master = Some(master_from_where(
                &task,
                task.item(item_id),
                &mut p.filters,
            )?);
        }
        let frame = context::current().ok_or_else(|| {
            PyRuntimeError::new_err("datasets can be opened only while a handler runs")
        })?;
        let hooks = frame.hooks(handlers);
        let access = if safe {
            task.access(frame.caller().role)
        } else {
            &task.unrestricted
        };
        let mut engine = frame.engine(&hooks, access);
        if unscoped {
            engine = engine.unscoped();
        }
        let item = task.item(item_id);
        let back = frame.caller().tenant(&task);
        let result = frame
            .with_conn(|c| {
                if open_empty {
                    let q = OpenQuery::resolve(&task, item, &p, access)?;
                    return Ok(OpenResult {
                        columns: jamrs_store::builder::columns(&task, &q),
                        rows: Vec::new(),
                        total: None,
                    });
                }
                if unscoped {
                    return jamrs_store::conn::widened(c, &back, |c| engine.open(c, item, p));
                }
                engine.open(c, item, p)
            })
            .map_err(to_py_err)?;
        let mut this = slf.try_borrow_mut()?;
        this.columns = result.columns;
        this.rows = result.rows;
        this.rec_no = 0;
        this.active = true;
        this.state = State::Browse;
        this.changes.clear();
        Ok(())
    }

    #[getter]
    fn active(&self) -> bool {
        self.active
    }

    #[getter]
    fn rec_count(&self) -> usize {
        self.rows.len()
    }

    fn record_count(&self) -> usize {
        self.rows.len()
    }

    #[getter]
    fn get_rec_no(&self) -> usize {
        self.rec_no
    }

    #[setter]
    fn set_rec_no(&mut self, n: usize) -> PyResult<()> {
        if n >= self.rows.len() && !self.rows.is_empty() {
            return Err(PyValueError::new_err("rec_no out of range"));
        }
        self.move_to(n)
    }

    fn first(&mut self) -> PyResult<()> {
        self.move_to(0)
    }

    fn last(&mut self) -> PyResult<()> {
        // Leave edit mode first: dropping an appended record changes which record is last.
        self.check_browse()?;
        self.move_to(self.rows.len().saturating_sub(1))
    }

    fn next(&mut self) -> PyResult<()> {
        self.check_browse()?;
        self.move_to(self.rec_no.saturating_add(1))
    }

    fn prior(&mut self) -> PyResult<()> {
        self.check_browse()?;
        self.move_to(self.rec_no.saturating_sub(1))
    }

    fn eof(&self) -> bool {
        self.rec_no >= self.rows.len()
    }

    fn bof(&self) -> bool {
        self.rec_no == 0
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }

    /// `for r in dataset:` positions the dataset on each record and yields it.
    fn __iter__(slf: PyRef<'_, Self>) -> DatasetIter {
        DatasetIter {
            dataset: slf.into(),
            next: 0,
        }
    }

    fn field_by_name(slf: Bound<'_, Self>, name: &str) -> PyResult<Option<PyField>> {
        let this = slf.try_borrow()?;
        let item = this.task.item(this.item);
        Ok(item
            .public_fields()
            .find(|f| f.name.as_str() == name)
            .map(|f| PyField {
                owner: Owner::Dataset(slf.clone().unbind()),
                task: this.task.clone(),
                item: this.item,
                field: f.id,
            }))
    }

    /// `dataset.<field>`.
    fn __getattr__(slf: Bound<'_, Self>, name: &str) -> PyResult<PyField> {
        let item_name = {
            let this = slf.try_borrow()?;
            this.task.item(this.item).name.to_string()
        };
        PyDataset::field_by_name(slf, name)?.ok_or_else(|| {
            PyAttributeError::new_err(format!("\"{item_name}\" has no field \"{name}\""))
        })
    }

    /// Adds an empty record at the end and makes it current.
    fn append(&mut self) -> PyResult<()> {
        if !self.active {
            return Err(PyRuntimeError::new_err(
                "append: open the dataset first (open_empty=True opens it without rows)",
            ));
        }
        self.check_browse()?;
        self.rows.push(vec![Value::Null; self.columns.len()]);
        self.rec_no = self.rows.len() - 1;
        self.state = State::Insert;
        self.touched.clear();
        Ok(())
    }

    fn insert(&mut self) -> PyResult<()> {
        self.append()
    }

    fn edit(&mut self) -> PyResult<()> {
        if self.state == State::Browse {
            self.start_edit()?;
        }
        Ok(())
    }

    /// Keeps the record's changes for `apply()`.
    fn post(&mut self) -> PyResult<()> {
        self.post_record()
    }

    fn cancel(&mut self) {
        self.cancel_record();
    }

    /// Deletes the current record (saved by `apply()`). A record being appended is only
    /// dropped; edits not posted go with the record.
    fn delete(&mut self) -> PyResult<()> {
        match self.state {
            State::Insert => {
                self.cancel_record();
                return Ok(());
            }
            State::Edit => self.cancel_record(),
            State::Browse => {}
        }
        let id = self.key()?;
        self.changes.push((
            Change::Delete {
                id,
                values: Vec::new(),
            },
            None,
        ));
        if self.rec_no < self.rows.len() {
            self.rows.remove(self.rec_no);
        }
        if self.rec_no >= self.rows.len() {
            self.rec_no = self.rows.len().saturating_sub(1);
        }
        Ok(())
    }

    /// Saves the posted changes, in the running handler's transaction. The dataset is not
    /// borrowed while the apply runs, so the handlers it fires may read it. For a client's
    /// request the rows written and their lookup values must be ones the client could open,
    /// unless `unchecked=True`.
    #[pyo3(signature = (connection = None, params = None, safe = false, unchecked = false))]
    fn apply(
        slf: Bound<'_, Self>,
        connection: Option<Bound<'_, PyAny>>,
        params: Option<Bound<'_, PyDict>>,
        safe: bool,
        unchecked: bool,
    ) -> PyResult<()> {
        let _ = connection;
        let user_params: Map<String, Json> = match params {
            Some(p) => match py_to_json(p.as_any())? {
                Json::Object(m) => m,
                _ => Map::new(),
            },
            None => Map::new(),
        };
        let (frame, task, item_id, handlers, unscoped, changes, rows, columns) = {
            let mut this = slf.try_borrow_mut()?;
            if this.rows_only {
                return Err(PyRuntimeError::new_err(
                    "this dataset holds the rows of the open being answered: change them in place; to save changes, use a dataset of item.copy()",
                ));
            }
            if this.state != State::Browse {
                this.post_record()?;
            }
            if this.changes.is_empty() {
                return Ok(());
            }
            let frame = context::current().ok_or_else(|| {
                PyRuntimeError::new_err("datasets can be applied only while a handler runs")
            })?;
            if frame.read_only {
                return Err(PyRuntimeError::new_err(
                    "changes can be saved only where a write transaction runs: on_apply, the apply record events and server functions, not while opening",
                ));
            }
            let task = this.task.clone();
            let access = if safe {
                task.access(frame.caller().role)
            } else {
                &task.unrestricted
            };
            if safe {
                check_rights(task.item(this.item), access, &this.changes).map_err(to_py_err)?;
            }
            let (changes, rows): (Vec<Change>, Vec<Option<usize>>) = this.changes.drain(..).unzip();
            (
                frame,
                task,
                this.item,
                this.handlers,
                this.unscoped,
                changes,
                rows,
                this.columns.clone(),
            )
        };
        let hooks = frame.hooks(handlers);
        let access = if safe {
            task.access(frame.caller().role)
        } else {
            &task.unrestricted
        };
        let mut engine = frame.engine(&hooks, access);
        if unscoped {
            engine = engine.unscoped();
        }
        if unchecked {
            engine = engine.unchecked();
        }
        let item = task.item(item_id);
        let back = frame.caller().tenant(&task);
        let result = frame
            .with_conn(|c| {
                if unscoped {
                    return jamrs_store::conn::widened(c, &back, |c| {
                        engine.apply(c, item, changes, user_params, false)
                    });
                }
                engine.apply(c, item, changes, user_params, false)
            })
            .map_err(to_py_err)?;
        // New keys into the inserted rows (unless the dataset was opened again meanwhile).
        let pk = item.primary_key;
        let mut this = slf.try_borrow_mut()?;
        if this.columns == columns
            && let Some(c) = columns
                .iter()
                .position(|c| c.field == pk && c.kind == ColumnKind::Value)
        {
            // With edit_lock, the version each saved row has now, so a later edit of the same
            // row names it (`d.record_version.value`).
            let version = item.record_version.and_then(|v| {
                columns
                    .iter()
                    .position(|c| c.field == v && c.kind == ColumnKind::Value)
                    .map(|col| (col, item.field(v).name.as_str()))
            });
            for (r, row) in result.iter().zip(rows) {
                let Some(i) = row else { continue };
                if let Some(id) = &r.id
                    && let Some(cell) = this.rows.get_mut(i).and_then(|row| row.get_mut(c))
                {
                    *cell = id.to_value();
                }
                if let Some((col, name)) = version
                    && let Some((_, v)) = r.row.iter().find(|(n, _)| n == name)
                    && let Some(cell) = this.rows.get_mut(i).and_then(|row| row.get_mut(col))
                {
                    *cell = v.clone();
                }
            }
        }
        Ok(())
    }

    /// The rows as a list of dicts (for returning from server functions).
    fn to_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for row in &self.rows {
            let m: Map<String, Json> = self
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.name.clone(), v.to_json()))
                .collect();
            out.append(map_to_py(py, &m)?)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Dataset {} ({} rows)>",
            self.task.item(self.item).name,
            self.rows.len()
        )
    }
}

/// `apply(safe=True)`: the caller's role must have the privilege of every change (create,
/// edit, delete) and may not write fields that are prohibited or read-only for it, as a
/// client's apply is checked.
fn check_rights(
    item: &jamrs_core::model::Item,
    access: &jamrs_core::Access,
    changes: &[(Change, Option<usize>)],
) -> Result<(), Error> {
    let p = access.privileges(item.id);
    for (c, _) in changes {
        let (allowed, what, values) = match c {
            Change::Insert { values, .. } => (p.create, "create", values.as_slice()),
            Change::Update { values, .. } => (p.edit, "edit", values.as_slice()),
            Change::Delete { .. } => (p.delete, "delete", &[][..]),
        };
        if !allowed {
            return Err(Error::forbidden(format!(
                "your role may not {what} records of \"{}\"",
                item.name
            )));
        }
        for (f, _) in values {
            if access.is_prohibited(item.id, *f) || access.is_read_only(item.id, *f) {
                let name = &item.field(*f).name;
                return Err(Error::forbidden(format!(
                    "{}.{name}: your role may not write this field",
                    item.name
                ))
                .with_field(name.as_str()));
            }
        }
    }
    Ok(())
}

#[pyclass]
pub struct DatasetIter {
    dataset: Py<PyDataset>,
    next: usize,
}

#[pymethods]
impl DatasetIter {
    /// Moves the dataset to the next record (posting the record being edited, as `next()`).
    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyDataset>> {
        let mut d = self.dataset.bind(py).try_borrow_mut()?;
        d.check_browse()?;
        if self.next >= d.rows.len() {
            return Err(PyStopIteration::new_err(()));
        }
        d.rec_no = self.next;
        self.next += 1;
        drop(d);
        Ok(self.dataset.clone_ref(py))
    }
}

/// A dataset holding an open's result (for `on_after_open`).
pub fn from_result(
    py: Python<'_>,
    task: &Arc<Task>,
    item: ItemId,
    r: &OpenResult,
) -> PyResult<Py<PyDataset>> {
    let mut d = PyDataset::new(task, item, false, false);
    d.columns = r.columns.clone();
    d.rows = r.rows.clone();
    d.active = true;
    d.rows_only = true;
    Py::new(py, d)
}
