//! `task`, `item`, field definitions, `task.consts`, the `connection` token and
//! `AbortException`.

use std::sync::Arc;

use jamrs_core::model::Field;
use jamrs_core::{FieldId, FieldType, FilterOp, ItemId, Task};
use pyo3::exceptions::{PyAttributeError, PyException};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::context;

pyo3::create_exception!(
    jamrs,
    AbortException,
    PyException,
    "Raised by item.abort(message): the request fails with the message."
);

/// The task (`item.task`, and the global `task` of every module).
#[pyclass(name = "Task", frozen, module = "jamrs")]
pub struct PyTask {
    pub task: Arc<Task>,
}

#[pymethods]
impl PyTask {
    #[getter]
    fn item_name(&self) -> &str {
        self.task.name.as_str()
    }

    /// `task.session`: the session of the request being served, as `item.session`.
    #[getter]
    fn session<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        session_dict(py, &self.task)
    }

    /// `task.user_info`, a shortcut for `task.session['user_info']`.
    #[getter]
    fn user_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match session_dict(py, &self.task)? {
            Some(s) => s.get_item("user_info"),
            None => Ok(None),
        }
    }

    #[getter]
    fn item_caption(&self) -> &str {
        &self.task.caption
    }

    #[getter]
    fn consts(&self) -> PyConsts {
        PyConsts
    }

    /// `task.lookup_lists`: `{name: [[value, text], …]}`.
    #[getter]
    fn lookup_lists<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for l in &self.task.lookup_lists {
            d.set_item(&l.name, l.values.clone())?;
        }
        Ok(d)
    }

    /// Runs raw SQL (`?` placeholders, `params` bound) in the handler's transaction. Nothing
    /// checks it against privileges or tenancy, so a project must allow it (`raw_sql = true`).
    /// Unlike Jam.py, an error raises instead of being returned as a string. `sql` may also be
    /// a list of statements or `(sql, params)` pairs.
    #[pyo3(signature = (sql, params = None, connection = None))]
    fn execute(
        &self,
        sql: Bound<'_, PyAny>,
        params: Option<Bound<'_, PyAny>>,
        connection: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let _ = connection;
        // One budget for the statements and their parameters: an endless iterator of them ends
        // with an error, not with the memory.
        let mut budget = crate::convert::Budget::default();
        let statements: Vec<(String, Option<Bound<'_, PyAny>>)> =
            if let Ok(text) = sql.extract::<String>() {
                vec![(text, params)]
            } else {
                let mut out = Vec::new();
                for s in sql.try_iter()? {
                    let s = s?;
                    if let Ok(text) = s.extract::<String>() {
                        budget.spend(text.len())?;
                        out.push((text, None));
                    } else {
                        let (text, p): (String, Bound<'_, PyAny>) = s.extract()?;
                        budget.spend(text.len())?;
                        out.push((text, Some(p)));
                    }
                }
                out
            };
        let frame = raw_frame(&self.task)?;
        for (text, p) in statements {
            let sql = raw_sql(text, p.as_ref(), &mut budget)?;
            frame
                .with_conn(|c| {
                    let sql = in_dialect(c, sql);
                    c.execute(&sql)
                })
                .map_err(super::to_py_err)?;
        }
        Ok(())
    }

    /// Runs a raw query (see `execute`) and returns its rows as lists.
    #[pyo3(signature = (sql, params = None, connection = None))]
    fn select<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        params: Option<Bound<'py, PyAny>>,
        connection: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let _ = connection;
        let frame = raw_frame(&self.task)?;
        let sql = raw_sql(sql, params.as_ref(), &mut crate::convert::Budget::default())?;
        let rows = frame
            .with_conn(|c| {
                let sql = in_dialect(c, sql);
                c.query_any(&sql)
            })
            .map_err(super::to_py_err)?;
        let out = PyList::empty(py);
        for row in rows {
            let r = PyList::empty(py);
            for v in &row {
                r.append(crate::convert::value_to_py(py, v, FieldType::Text, true)?)?;
            }
            out.append(r)?;
        }
        Ok(out)
    }

    /// `task.item_by_ID(id)`: the item with Jam.py's numeric ID (the item file's `id`, which
    /// `jamrs import` keeps), so server code that hard-codes IDs still finds its items.
    #[pyo3(name = "item_by_ID")]
    fn item_by_id(&self, id: i64) -> Option<PyItem> {
        self.task
            .items
            .iter()
            .find(|i| i.number == Some(id))
            .map(|i| PyItem {
                task: self.task.clone(),
                item: i.id,
            })
    }

    /// `task.execute_select(sql, params)`: Jam.py's name for `select`.
    #[pyo3(signature = (sql, params = None, connection = None))]
    fn execute_select<'py>(
        &self,
        py: Python<'py>,
        sql: String,
        params: Option<Bound<'py, PyAny>>,
        connection: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.select(py, sql, params, connection)
    }

    fn item_by_name(&self, name: &str) -> Option<PyItem> {
        self.task.item_by_name(name).map(|i| PyItem {
            task: self.task.clone(),
            item: i.id,
        })
    }

    /// `task.<item_name>`, or a function of the task's module (`task.<function>`, as in Jam.py).
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        if let Some(item) = self.item_by_name(name) {
            return Ok(Py::new(py, item)?.into_any());
        }
        module_function(py, None, name).ok_or_else(|| {
            PyAttributeError::new_err(format!(
                "the task has no item, attribute or task.py function \"{name}\""
            ))
        })
    }

    fn __repr__(&self) -> String {
        format!("<Task {}>", self.task.name)
    }
}

/// A tree item, as handlers receive it (`item`) and `task.<name>` gives it.
#[pyclass(name = "Item", frozen, module = "jamrs")]
pub struct PyItem {
    pub task: Arc<Task>,
    pub item: ItemId,
}

impl PyItem {
    pub fn new(task: &Arc<Task>, item: ItemId) -> PyItem {
        PyItem {
            task: task.clone(),
            item,
        }
    }

    fn model(&self) -> &jamrs_core::model::Item {
        self.task.item(self.item)
    }

    fn field_def(&self, f: &Field) -> PyFieldDef {
        PyFieldDef {
            task: self.task.clone(),
            item: self.item,
            field: f.id,
        }
    }
}

#[pymethods]
impl PyItem {
    #[getter]
    fn item_name(&self) -> &str {
        self.model().name.as_str()
    }

    #[getter]
    fn item_caption(&self) -> &str {
        &self.model().caption
    }

    /// `item.ID`: Jam.py's numeric item ID (the item file's `id`), or None.
    #[getter(ID)]
    fn number(&self) -> Option<i64> {
        self.model().number
    }

    #[getter]
    fn task(&self) -> PyTask {
        PyTask {
            task: self.task.clone(),
        }
    }

    /// The fields a client may name (the soft-delete flag stays on the server).
    #[getter]
    fn fields(&self) -> Vec<PyFieldDef> {
        self.model()
            .public_fields()
            .map(|f| self.field_def(f))
            .collect()
    }

    #[getter]
    fn details(&self) -> Vec<PyItem> {
        self.model()
            .details
            .iter()
            .map(|d| PyItem::new(&self.task, *d))
            .collect()
    }

    #[getter]
    fn soft_delete(&self) -> bool {
        self.model().deleted_flag.is_some()
    }

    /// `None` for an unknown name, so `if item.field_by_name('user_id'):` works.
    fn field_by_name(&self, name: &str) -> Option<PyFieldDef> {
        self.model()
            .public_fields()
            .find(|f| f.name.as_str() == name)
            .map(|f| self.field_def(f))
    }

    /// `item.session`: `{"user_info": {...}}` during a request, `None` outside one (for
    /// example in `on_created`).
    #[getter]
    fn session<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        session_dict(py, &self.task)
    }

    /// `item.user_info`, a shortcut for `item.session['user_info']`.
    #[getter]
    fn user_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match session_dict(py, &self.task)? {
            Some(s) => s.get_item("user_info"),
            None => Ok(None),
        }
    }

    /// Fails the request with `message` (Jam.py's `item.abort`).
    #[pyo3(signature = (message = None))]
    fn abort(&self, message: Option<String>) -> PyResult<()> {
        Err(AbortException::new_err(
            message.unwrap_or_else(|| "operation aborted".to_string()),
        ))
    }

    /// A dataset of this item for server-side work. It sees the request's tenant; with
    /// `unscoped=True` it sees every tenant's rows (server code outside a request must ask for
    /// that explicitly to touch an item `[tenancy]` covers).
    #[pyo3(signature = (filters = true, details = true, handlers = true, unscoped = false))]
    fn copy(
        &self,
        filters: bool,
        details: bool,
        handlers: bool,
        unscoped: bool,
    ) -> super::dataset::PyDataset {
        let _ = (filters, details);
        super::dataset::PyDataset::new(&self.task, self.item, handlers, unscoped)
    }

    /// Jam.py's default processing of a delta, for an `on_apply` that wraps it:
    /// `return item.apply_delta(delta, params, connection)`.
    #[pyo3(signature = (delta, params = None, connection = None))]
    fn apply_delta(
        &self,
        py: Python<'_>,
        delta: Bound<'_, PyAny>,
        params: Option<Bound<'_, PyAny>>,
        connection: Option<Bound<'_, PyAny>>,
    ) -> PyResult<super::PyApplyResult> {
        let _ = (params, connection);
        super::dataset::apply_delta(self, py, delta)
    }

    /// `keep_history`: changes of the item's records are recorded.
    #[getter]
    fn keep_history(&self) -> bool {
        self.model().keep_history
    }

    /// `edit_lock`: records carry a record version.
    #[getter]
    fn edit_lock(&self) -> bool {
        self.model().record_version.is_some()
    }

    /// The history of record `rec_id` (or of the item), newest first, as the request's caller
    /// may see it: Jam.py's history item rows as dicts (`item_rec_id`, `operation` 1 insert,
    /// 2 update, 3 delete, `changes` as `[[field, old, new], …]`, `user`, `user_id`, `date`).
    #[pyo3(signature = (rec_id = None, limit = 100))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        rec_id: Option<i64>,
        limit: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let frame = context::current().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err(
                "item.history works only inside a handler or server function",
            )
        })?;
        let hooks = frame.hooks(true);
        let access = self.task.access(frame.caller().role);
        let engine = frame.engine(&hooks, access);
        let item = self.model();
        let entries = frame
            .with_conn(|c| engine.history(c, item, rec_id, Some(limit), 0))
            .map_err(super::to_py_err)?;
        let out = PyList::empty(py);
        for e in entries {
            let changes: Vec<serde_json::Value> = e
                .changes
                .into_iter()
                .map(|c| serde_json::json!([c.field, c.old, c.new]))
                .collect();
            let row = serde_json::json!({
                "id": e.id,
                "item_name": e.item,
                "item_rec_id": e.record_id,
                "operation": e.operation as i64,
                "changes": changes,
                "user": e.user_name,
                "user_id": e.user_id,
                "date": e.at,
            });
            if let serde_json::Value::Object(m) = row {
                out.append(crate::convert::map_to_py(py, &m)?)?;
            }
        }
        Ok(out)
    }

    /// `item.<detail_name>`, or a function of the item's module (`task.<item>.<function>`, as
    /// in Jam.py).
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let item = self.model();
        if let Some(d) = item
            .details
            .iter()
            .find(|d| self.task.item(**d).name.as_str() == name)
        {
            return Ok(Py::new(py, PyItem::new(&self.task, *d))?.into_any());
        }
        module_function(py, Some(self.item), name).ok_or_else(|| {
            PyAttributeError::new_err(format!(
                "item \"{}\" has no attribute, detail or module function \"{name}\"",
                item.name
            ))
        })
    }

    fn __repr__(&self) -> String {
        format!("<Item {}>", self.model().name)
    }
}

/// A function of the task's module (`item` None) or of an item's, while a handler runs.
fn module_function(py: Python<'_>, item: Option<ItemId>, name: &str) -> Option<Py<PyAny>> {
    context::current().and_then(|f| f.rt.module_function(py, item, name))
}

fn raw_frame(task: &Task) -> PyResult<std::rc::Rc<context::Frame>> {
    if !task.settings.raw_sql {
        return Err(pyo3::exceptions::PyPermissionError::new_err(
            "task.execute and task.select run SQL that no privilege or tenancy rule checks; set raw_sql = true in jamrs.toml to allow them",
        ));
    }
    context::current().ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err("raw SQL can run only while a handler runs")
    })
}

/// A module's SQL (`?` placeholders on every backend) in the connection's placeholders.
fn in_dialect(c: &dyn jamrs_store::Conn, sql: jamrs_store::Sql) -> jamrs_store::Sql {
    jamrs_store::Sql {
        text: jamrs_store::sql::raw_placeholders(c.dialect(), &sql.text),
        params: sql.params,
    }
}

fn raw_sql(
    text: String,
    params: Option<&Bound<'_, PyAny>>,
    budget: &mut crate::convert::Budget,
) -> PyResult<jamrs_store::Sql> {
    let mut values = Vec::new();
    if let Some(p) = params.filter(|p| !p.is_none()) {
        for v in p.try_iter()? {
            values.push(crate::convert::py_to_any_value_within(&v?, budget)?);
        }
    }
    Ok(jamrs_store::Sql {
        text,
        params: values,
    })
}

pub(crate) fn session_dict<'py>(
    py: Python<'py>,
    task: &Task,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(frame) = context::current().filter(|f| f.in_request) else {
        return Ok(None);
    };
    if let Some(made) = frame
        .session
        .try_borrow()
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("item.session is being made"))?
        .as_ref()
    {
        return Ok(Some(made.bind(py).clone()));
    }
    let info = PyDict::new(py);
    match &frame.caller().user {
        Some(u) => {
            info.set_item("user_id", u.user_id)?;
            info.set_item("user_name", &u.user_name)?;
            info.set_item("login", &u.login)?;
            info.set_item("role_id", u.role_id)?;
            info.set_item("role_name", &u.role_name)?;
            info.set_item("tenant_id", u.tenant_id)?;
            // The other keys a custom on_login returned, as it returned them.
            for (k, v) in &u.extra {
                info.set_item(k, crate::convert::json_to_py(py, v)?)?;
            }
        }
        None => {
            // An anonymous request (no safe mode): Jam.py's empty user_info.
            let role = frame.caller().role.map(|r| &task.roles[r]);
            info.set_item("user_id", py.None())?;
            info.set_item("user_name", "")?;
            info.set_item("login", "")?;
            info.set_item("role_id", role.map(|r| r.id))?;
            info.set_item("role_name", role.map_or("", |r| r.name.as_str()))?;
            info.set_item("tenant_id", py.None())?;
        }
    }
    let session = PyDict::new(py);
    session.set_item("user_info", info)?;
    if let Ok(mut slot) = frame.session.try_borrow_mut() {
        *slot = Some(session.clone().unbind());
    }
    Ok(Some(session))
}

/// A field's definition (`item.field_by_name(...)`, `item.fields`).
#[pyclass(name = "FieldDef", frozen, module = "jamrs")]
pub struct PyFieldDef {
    pub task: Arc<Task>,
    pub item: ItemId,
    pub field: FieldId,
}

impl PyFieldDef {
    fn model(&self) -> &Field {
        self.task.item(self.item).field(self.field)
    }
}

#[pymethods]
impl PyFieldDef {
    #[getter]
    fn field_name(&self) -> &str {
        self.model().name.as_str()
    }

    #[getter]
    fn field_caption(&self) -> &str {
        &self.model().caption
    }

    /// Jam.py's type code (`task.consts.TEXT` … `IMAGE`).
    #[getter]
    fn data_type(&self) -> u8 {
        self.model().field_type.jampy_code()
    }

    /// The type's name (`"text"`, `"integer"`, …).
    #[getter]
    fn field_type(&self) -> &'static str {
        self.model().field_type.name()
    }

    #[getter]
    fn field_size(&self) -> Option<u32> {
        self.model().size
    }

    #[getter]
    fn required(&self) -> bool {
        self.model().required
    }

    #[getter]
    fn read_only(&self) -> bool {
        self.model().read_only
    }

    #[getter]
    fn lookup_item(&self) -> Option<PyItem> {
        self.model()
            .lookup
            .as_ref()
            .map(|l| PyItem::new(&self.task, l.item()))
    }

    #[getter]
    fn master_field(&self) -> Option<String> {
        let item = self.task.item(self.item);
        self.model()
            .master_field
            .map(|m| item.field(m).name.to_string())
    }

    fn __repr__(&self) -> String {
        format!("<Field {}>", self.model().name)
    }
}

/// The `connection` handlers receive. It stands for the request's transaction: datasets,
/// `apply_delta` and `task.execute` always use that transaction while the handler runs, so
/// passing it is optional in jamrs.
#[pyclass(name = "Connection", frozen, module = "jamrs")]
pub struct PyConnection;

/// `task.consts`: Jam.py's constants.
#[pyclass(name = "Consts", frozen, module = "jamrs")]
#[derive(Clone, Copy)]
pub struct PyConsts;

macro_rules! consts {
    ($($name:ident = $value:expr),* $(,)?) => {
        #[pymethods]
        impl PyConsts {
            $(
                #[classattr]
                #[allow(non_snake_case)]
                fn $name() -> i64 {
                    $value
                }
            )*
        }
    };
}

consts! {
    FILTER_EQ = FilterOp::Eq.number() as i64,
    FILTER_NE = FilterOp::Ne.number() as i64,
    FILTER_LT = FilterOp::Lt.number() as i64,
    FILTER_LE = FilterOp::Le.number() as i64,
    FILTER_GT = FilterOp::Gt.number() as i64,
    FILTER_GE = FilterOp::Ge.number() as i64,
    FILTER_IN = FilterOp::In.number() as i64,
    FILTER_NOT_IN = FilterOp::NotIn.number() as i64,
    FILTER_RANGE = FilterOp::Range.number() as i64,
    FILTER_ISNULL = FilterOp::IsNull.number() as i64,
    FILTER_EXACT = FilterOp::Exact.number() as i64,
    FILTER_CONTAINS = FilterOp::Contains.number() as i64,
    FILTER_STARTWITH = FilterOp::StartWith.number() as i64,
    FILTER_ENDWITH = FilterOp::EndWith.number() as i64,
    FILTER_CONTAINS_ALL = FilterOp::ContainsAll.number() as i64,
    FILTER_EQ_L = FilterOp::Eq.number() as i64 + 15,
    FILTER_NE_L = FilterOp::Ne.number() as i64 + 15,
    FILTER_LT_L = FilterOp::Lt.number() as i64 + 15,
    FILTER_LE_L = FilterOp::Le.number() as i64 + 15,
    FILTER_GT_L = FilterOp::Gt.number() as i64 + 15,
    FILTER_GE_L = FilterOp::Ge.number() as i64 + 15,
    FILTER_IN_L = FilterOp::In.number() as i64 + 15,
    FILTER_NOT_IN_L = FilterOp::NotIn.number() as i64 + 15,
    FILTER_RANGE_L = FilterOp::Range.number() as i64 + 15,
    FILTER_ISNULL_L = FilterOp::IsNull.number() as i64 + 15,
    FILTER_EXACT_L = FilterOp::Exact.number() as i64 + 15,
    FILTER_CONTAINS_L = FilterOp::Contains.number() as i64 + 15,
    FILTER_STARTWITH_L = FilterOp::StartWith.number() as i64 + 15,
    FILTER_ENDWITH_L = FilterOp::EndWith.number() as i64 + 15,
    FILTER_CONTAINS_ALL_L = FilterOp::ContainsAll.number() as i64 + 15,
    TEXT = FieldType::Text.jampy_code() as i64,
    INTEGER = FieldType::Integer.jampy_code() as i64,
    FLOAT = FieldType::Float.jampy_code() as i64,
    CURRENCY = FieldType::Currency.jampy_code() as i64,
    DATE = FieldType::Date.jampy_code() as i64,
    DATETIME = FieldType::DateTime.jampy_code() as i64,
    BOOLEAN = FieldType::Boolean.jampy_code() as i64,
    LONGTEXT = FieldType::LongText.jampy_code() as i64,
    KEYS = FieldType::Keys.jampy_code() as i64,
    FILE = FieldType::File.jampy_code() as i64,
    IMAGE = FieldType::Image.jampy_code() as i64,
    RECORD_INSERTED = 1,
    RECORD_MODIFIED = 2,
    RECORD_DELETED = 3,
    RECORD_DETAILS_MODIFIED = 4,
}

/// A list of the names in `task.consts` (for `dir()` and the docs' tests).
pub fn const_names(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let t = py.get_type::<PyConsts>();
    let names: Vec<String> = t
        .dir()?
        .iter()
        .filter_map(|n| n.extract::<String>().ok())
        .filter(|n| n.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .collect();
    PyList::new(py, names)
}
