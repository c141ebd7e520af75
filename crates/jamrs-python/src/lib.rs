//! jamrs-python: server modules in Python with Jam.py's server API.
//!
//! Owns the embedded CPython (PyO3): loading `task.py` and `items/<name>.py`, dispatching
//! Jam.py's events in Jam.py's order (task handler first; a non-None result skips the item's
//! handler and the default processing), the Python objects of the server API (`item`, `task`,
//! the delta, datasets, `task.consts`), and stopping handlers that run too long.
//!
//! It plugs into the engine as [`PythonHooks`] (a `jamrs_store::Hooks`); the HTTP layer calls
//! [`Runtime`] for the events that are not about open or apply (login, logout, `/ext`, server
//! functions). Requests for items without handlers never take the interpreter lock: which
//! events a module handles is known on the Rust side.
//!
//! Must not know: HTTP, SQL text, a database driver.

mod context;
pub mod convert;
mod modules;
pub mod objects;
mod params;
mod report;
#[cfg(test)]
mod tests;
mod watchdog;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jamrs_core::model::Item;
use jamrs_core::query::{OpenParams, OpenQuery};
use jamrs_core::{Error, ItemId, Kind, Result, Task};
use jamrs_store::engine::{ApplyResult, Delta, Engine, OpenResult, Record};
use jamrs_store::{Conn, Hooks, LoginAnswer, builder};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyTuple};
use serde_json::{Map, Value as Json};

pub use modules::Event;
use modules::{Module, Owner};
use objects::{PyConnection, PyItem, PyTask};

/// How server modules run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A handler running longer than this is interrupted.
    pub timeout: Duration,
    /// Development mode: changed modules are reloaded without a restart.
    pub reload: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(10),
            reload: false,
        }
    }
}

/// A module slot: loaded, or (after a failed reload in development mode) broken.
enum Slot {
    Loaded(Module),
    Broken(Error),
}

struct Modules {
    task: Option<Slot>,
    items: Vec<Option<Slot>>,
    /// Report modules (`reports/<name>.py`), by `ReportId`.
    reports: Vec<Option<Slot>>,
}

/// The interpreter with the project's modules.
pub struct Runtime {
    pub task: Arc<Task>,
    task_object: Py<PyTask>,
    modules: RwLock<Modules>,
    watchdog: watchdog::Watchdog,
    options: Options,
    last_check: Mutex<Instant>,
}

/// The engine hooks that run server modules.
#[derive(Clone)]
pub struct PythonHooks {
    pub rt: Arc<Runtime>,
    /// Run the item modules' handlers, not only the task module's (false for datasets made
    /// with `copy(handlers=False)`).
    pub item_handlers: bool,
}

impl PythonHooks {
    pub fn new(rt: Arc<Runtime>) -> PythonHooks {
        PythonHooks {
            rt,
            item_handlers: true,
        }
    }

    fn item_scope(&self, item: ItemId) -> Option<ItemId> {
        self.item_handlers.then_some(item)
    }
}

/// Runs a database thread's loop with one Python thread state kept for the thread's life, so
/// each handler call only takes the interpreter lock instead of creating and tearing down a
/// thread state (which cost more than the handler itself). Pass it to the store's thread
/// wrapper when the project has modules.
pub fn keep_thread_state(run: Box<dyn FnOnce() + Send>) {
    Python::attach(|py| py.detach(run));
}

/// True when the project has any server module (so the interpreter is worth starting).
pub fn has_modules(task: &Task) -> bool {
    task.module_files().next().is_some()
}

impl Runtime {
    /// Starts the interpreter and loads every module. Any module that does not load stops the
    /// start, with every such error listed (file, line and reason).
    pub fn load(task: Arc<Task>, options: Options) -> Result<Arc<Runtime>> {
        Python::attach(|py| {
            let task_object = Py::new(py, PyTask { task: task.clone() })
                .map_err(|e| Error::internal(format!("cannot create the task object: {e}")))?;
            let mut errors = Vec::new();
            let mut load = |owner: Owner, path: &PathBuf| -> Option<Slot> {
                match modules::load(py, &task, task_object.bind(py).as_any(), owner, path) {
                    Ok(m) => Some(Slot::Loaded(m)),
                    Err(e) => {
                        errors.push(e.message);
                        None
                    }
                }
            };
            let task_module = task.module.as_ref().and_then(|p| load(Owner::Task, p));
            let items: Vec<Option<Slot>> = task
                .items
                .iter()
                .map(|i| i.module.as_ref().and_then(|p| load(Owner::Item(i.id), p)))
                .collect();
            let reports: Vec<Option<Slot>> = task
                .reports
                .iter()
                .map(|r| r.module.as_ref().and_then(|p| load(Owner::Report(r.id), p)))
                .collect();
            for (item, slot) in task.items.iter().zip(&items) {
                if let Some(Slot::Loaded(m)) = slot {
                    for name in &item.callable {
                        if m.function(py, name.as_str()).is_none() {
                            errors.push(format!(
                                "items/{}.py: callable function \"{name}\" is not defined in the module",
                                item.name
                            ));
                        }
                    }
                }
            }
            if !errors.is_empty() {
                return Err(Error::new(
                    Kind::Module,
                    format!("server modules do not load: {}", errors.join("; ")),
                ));
            }
            Ok(Arc::new(Runtime {
                task: task.clone(),
                task_object,
                modules: RwLock::new(Modules {
                    task: task_module,
                    items,
                    reports,
                }),
                watchdog: watchdog::Watchdog::start(),
                options,
                last_check: Mutex::new(Instant::now()),
            }))
        })
    }

    /// In development mode, reloads modules whose files changed (checked at most twice a
    /// second). A module that no longer loads makes its item answer with the error until it
    /// is fixed; the rest keep working.
    fn reload_changed(&self) {
        if !self.options.reload {
            return;
        }
        {
            let Ok(mut last) = self.last_check.lock() else {
                return;
            };
            if last.elapsed() < Duration::from_millis(500) {
                return;
            }
            *last = Instant::now();
        }
        let stale = |slot: &Option<Slot>, path: &Option<PathBuf>| -> bool {
            match (slot, path) {
                (Some(Slot::Loaded(m)), Some(p)) => modules::modified(p) != m.modified,
                (Some(Slot::Broken(_)), Some(_)) => true,
                (None, Some(p)) => p.is_file(),
                _ => false,
            }
        };
        let (task_stale, items_stale, reports_stale): (bool, Vec<usize>, Vec<usize>) = {
            let Ok(m) = self.modules.read() else { return };
            (
                stale(&m.task, &self.task.module),
                (0..self.task.items.len())
                    .filter(|i| stale(&m.items[*i], &self.task.items[*i].module))
                    .collect(),
                (0..self.task.reports.len())
                    .filter(|i| stale(&m.reports[*i], &self.task.reports[*i].module))
                    .collect(),
            )
        };
        if !task_stale && items_stale.is_empty() && reports_stale.is_empty() {
            return;
        }
        Python::attach(|py| {
            let task_object = self.task_object.bind(py).as_any().clone();
            let load = |owner: Owner, path: &PathBuf| -> Slot {
                match modules::load(py, &self.task, &task_object, owner, path) {
                    Ok(m) => {
                        tracing::info!(module = %path.display(), "reloaded");
                        Slot::Loaded(m)
                    }
                    Err(e) => {
                        tracing::error!(error = %e.message, "a server module does not load");
                        Slot::Broken(e)
                    }
                }
            };
            let Ok(mut m) = self.modules.write() else {
                return;
            };
            if task_stale && let Some(p) = &self.task.module {
                m.task = Some(load(Owner::Task, p));
            }
            for i in items_stale {
                if let Some(p) = &self.task.items[i].module {
                    m.items[i] = Some(load(Owner::Item(ItemId(i as u32)), p));
                }
            }
            for i in reports_stale {
                if let Some(p) = &self.task.reports[i].module {
                    m.reports[i] = Some(load(Owner::Report(jamrs_core::ReportId(i as u32)), p));
                }
            }
        });
    }

    /// Whether the task's or the item's module handles `e` (without the interpreter lock). A
    /// broken module counts, so its error is reported.
    pub fn handles(&self, item: Option<ItemId>, e: Event) -> bool {
        self.reload_changed();
        let Ok(m) = self.modules.read() else {
            return false;
        };
        let has = |slot: &Option<Slot>| match slot {
            Some(Slot::Loaded(module)) => module.has(e),
            Some(Slot::Broken(_)) => true,
            None => false,
        };
        has(&m.task) || item.is_some_and(|i| has(&m.items[i.0 as usize]))
    }

    /// The handlers of `e`, task first: (handler, is the task's).
    fn handlers(
        &self,
        py: Python<'_>,
        item: Option<ItemId>,
        e: Event,
    ) -> Result<Vec<(Py<PyAny>, bool)>> {
        let m = self
            .modules
            .read()
            .map_err(|_| Error::internal("the module table is poisoned"))?;
        let mut out = Vec::new();
        let mut take = |slot: &Option<Slot>, is_task: bool| -> Result<()> {
            match slot {
                Some(Slot::Loaded(module)) => {
                    if let Some(h) = module.handler(e) {
                        out.push((h.clone_ref(py), is_task));
                    }
                    Ok(())
                }
                Some(Slot::Broken(err)) => Err(err.clone()),
                None => Ok(()),
            }
        };
        take(&m.task, true)?;
        if let Some(i) = item {
            take(&m.items[i.0 as usize], false)?;
        }
        Ok(out)
    }

    /// Runs `f` with the interpreter lock, for one request. A panic inside it (in a method
    /// Python called, say) fails that request with `module_error` and goes no further: the
    /// connection lent to Python has come back on the way out (`context::with_frame`), and the
    /// store rolls back what the request did, so the thread serves the next request as if
    /// nothing happened. Under a handler (a dataset's events) the panic goes on unwinding to
    /// the outermost call, so that no handler can catch it with `except Exception:` (PyO3
    /// raises it in Python as a `BaseException`) and carry on after a half-done operation.
    fn attach<T>(&self, f: impl FnOnce(Python<'_>) -> Result<T>) -> Result<T> {
        Python::attach(|py| {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))) {
                Ok(r) => r,
                Err(panic) if context::current().is_some() => std::panic::resume_unwind(panic),
                Err(panic) => Err(panicked(panic.as_ref())),
            }
        })
    }

    /// Runs server code (`body`: a handler call, or reading what a handler returned, which may
    /// run Python too) under the watchdog, as one more level of nested calls into server code
    /// (`context::nest`).
    fn guarded<T>(&self, py: Python<'_>, body: impl FnOnce() -> Result<T>) -> Result<T> {
        let timeout = self.options.timeout;
        self.guarded_for(py, timeout, body, || {
            format!(
                "a server module ran longer than {} s and was stopped",
                timeout.as_secs_f64()
            )
        })
    }

    /// [`Runtime::guarded`] with its own time limit (a report's, which is longer), and what
    /// to say when it is reached.
    fn guarded_for<T>(
        &self,
        py: Python<'_>,
        timeout: Duration,
        body: impl FnOnce() -> Result<T>,
        stopped_message: impl FnOnce() -> String,
    ) -> Result<T> {
        let _level = context::nest()?;
        let (r, stopped) = self.watchdog.guard(py, timeout, body);
        match r {
            Err(_) if stopped => Err(Error::new(Kind::Module, stopped_message())),
            r => r,
        }
    }

    /// Calls a handler under the watchdog; exceptions become errors ([`Runtime::error_of`]).
    fn call<'py>(
        &self,
        py: Python<'py>,
        f: &Py<PyAny>,
        args: Bound<'py, PyTuple>,
    ) -> Result<Bound<'py, PyAny>> {
        self.guarded(py, || {
            f.bind(py).call1(args).map_err(|e| self.error_of(py, &e))
        })
    }

    /// The error a Python exception fails its request with. An engine error that left the
    /// handler uncaught is that very error, with its kind (`objects::error`); any other
    /// exception is the module's own: `module_error` with its message, as in Jam.py.
    fn error_of(&self, py: Python<'_>, e: &PyErr) -> Error {
        let traceback = e
            .traceback(py)
            .and_then(|t| t.format().ok())
            .unwrap_or_default();
        if let Some(error) = objects::error::engine_error(py, e) {
            tracing::warn!(code = error.kind.code(), error = %error.message, traceback = %traceback, "a server module let an error of jamrs through");
            return error;
        }
        let message = e.value(py).to_string();
        tracing::warn!(error = %message, traceback = %traceback, "a server module raised");
        Error::new(
            Kind::Module,
            if message.is_empty() {
                e.get_type(py)
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "error".into())
            } else {
                bounded_message(message)
            },
        )
    }

    fn item_object(&self, py: Python<'_>, item: ItemId) -> Result<Py<PyItem>> {
        Py::new(py, PyItem::new(&self.task, item)).map_err(|e| py_internal(py, &e))
    }

    /// A module-level function of the task's module (`item` None) or of an item's module, for
    /// `task.<function>` and `task.<item>.<function>`.
    pub(crate) fn module_function(
        &self,
        py: Python<'_>,
        item: Option<ItemId>,
        name: &str,
    ) -> Option<Py<PyAny>> {
        let m = self.modules.read().ok()?;
        let slot = match item {
            Some(i) => m.items.get(i.0 as usize)?,
            None => &m.task,
        };
        match slot {
            Some(Slot::Loaded(module)) => module.function(py, name).map(Bound::unbind),
            _ => None,
        }
    }

    /// `on_field_get_text(field)` of an item's (or the task's) module, if there is one.
    pub fn field_get_text(
        &self,
        py: Python<'_>,
        item: ItemId,
        field: &Bound<'_, objects::PyField>,
    ) -> PyResult<Option<String>> {
        let handlers = self
            .handlers(py, Some(item), Event::OnFieldGetText)
            .map_err(objects::to_py_err)?;
        for (h, _) in handlers.iter().rev() {
            let args = (field,).into_pyobject(py)?;
            let r = self.call(py, h, args).map_err(objects::to_py_err)?;
            if !r.is_none() {
                return Ok(Some(r.str()?.to_string()));
            }
        }
        Ok(None)
    }
}

/// Jam.py's `__client_request`: true for an open a client sent, false for one a handler made
/// (a server-side dataset), which runs while that handler's frame is on this thread.
fn client_request() -> bool {
    context::current().is_none()
}

/// At most this many characters of an exception's message reach a client (the log has the
/// whole message): a module may raise with a message of any size.
const MAX_MESSAGE_CHARS: usize = 2000;

fn bounded_message(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// The error of a request in which jamrs itself panicked under a handler: logged with the
/// panic's message, answered without it.
fn panicked(panic: &(dyn std::any::Any + Send)) -> Error {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    tracing::error!(panic = %what, "jamrs panicked under a server module; the request fails alone");
    Error::new(
        Kind::Module,
        "the server module's request failed inside jamrs (a bug, logged on the server); nothing it did was saved",
    )
}

fn py_internal(py: Python<'_>, e: &PyErr) -> Error {
    Error::internal(format!("python: {}", e.value(py)))
}

/// Rows returned by an `on_open` that answered the open itself: `rows` or Jam.py's
/// `[rows, error]`.
fn answered_rows(
    py: Python<'_>,
    task: &Task,
    item: &Item,
    engine: &Engine,
    params: &OpenParams,
    r: &Bound<'_, PyAny>,
) -> Result<OpenResult> {
    let bad = || {
        Error::new(
            Kind::Module,
            "on_open returned something other than None, a list of rows, or [rows, error]",
        )
    };
    let mut rows_obj = r.clone();
    if let Ok(pair) = r
        .cast::<PyList>()
        .map(|l| l.as_any().clone())
        .or_else(|_| r.cast::<PyTuple>().map(|t| t.as_any().clone()))
        && pair.len().unwrap_or(0) == 2
        && let Ok(second) = pair.get_item(1)
        && (second.is_none() || second.extract::<String>().is_ok())
    {
        let err: Option<String> = second.extract().ok();
        if let Some(err) = err.filter(|e| !e.is_empty()) {
            return Err(Error::new(Kind::Module, err));
        }
        rows_obj = pair.get_item(0).map_err(|_| bad())?;
    }
    let q = OpenQuery::resolve(task, item, params, engine.access())?;
    let columns = builder::columns(task, &q);
    let mut rows = Vec::new();
    // One budget for the whole answer: rows from an endless iterator end with an error.
    let mut budget = convert::Budget::default();
    for row in rows_obj.try_iter().map_err(|_| bad())? {
        let row = row.map_err(|_| bad())?;
        let mut values = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            let v = row.get_item(i).map_err(|_| bad())?;
            values.push(
                convert::py_to_value_within(&v, col.value_type, &mut budget).map_err(|e| {
                    Error::new(
                        Kind::Module,
                        bounded_message(format!("on_open row: {}", e.value(py))),
                    )
                })?,
            );
        }
        rows.push(values);
    }
    // The handler's rows are the whole answer: asked for a total, it is their number.
    let total = params.total.then_some(rows.len() as u64);
    Ok(OpenResult {
        columns,
        rows,
        total,
    })
}

impl Hooks for PythonHooks {
    fn on_open(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        params: &mut OpenParams,
    ) -> Result<Option<OpenResult>> {
        let rt = &self.rt;
        // Every open runs this hook first: a client's params are checked before any handler
        // sees them.
        if engine.reach() == jamrs_store::engine::Reach::Client {
            params::check_client_keys(&params.params)?;
        }
        if !rt.handles(self.item_scope(item.id), Event::OnOpen) {
            return Ok(None);
        }
        rt.attach(|py| {
            let handlers = rt.handlers(py, self.item_scope(item.id), Event::OnOpen)?;
            let pyitem = rt.item_object(py, item.id)?;
            let dict =
                params::to_py(py, params, client_request()).map_err(|e| py_internal(py, &e))?;
            let (answer, _) = context::with_frame(rt, engine, conn, true, None, |_| {
                for (h, _) in &handlers {
                    let r = rt.call(
                        py,
                        h,
                        (pyitem.clone_ref(py), dict.clone())
                            .into_pyobject(py)
                            .map_err(|e| py_internal(py, &e))?,
                    )?;
                    if !r.is_none() {
                        return Ok(Some(r.unbind()));
                    }
                }
                Ok(None)
            })?;
            let answer: Option<Py<PyAny>> = answer?;
            // A server-side dataset's open is not paged; the dict does not carry that.
            // Not Jam.py's: handlers neither see nor change them.
            let (unlimited, total) = (params.unlimited, params.total);
            *params = rt.guarded(py, || {
                params::from_py(&dict).map_err(|e| rt.error_of(py, &e))
            })?;
            params.unlimited = unlimited;
            params.total = total;
            match answer {
                Some(r) => rt
                    .guarded(py, || {
                        answered_rows(py, &rt.task, item, engine, params, r.bind(py))
                    })
                    .map(Some),
                None => Ok(None),
            }
        })
    }

    fn before_open(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        params: &mut OpenParams,
    ) -> Result<bool> {
        let rt = &self.rt;
        if !rt.handles(self.item_scope(item.id), Event::OnBeforeOpen) {
            return Ok(true);
        }
        rt.attach(|py| {
            let handlers = rt.handlers(py, self.item_scope(item.id), Event::OnBeforeOpen)?;
            let pyitem = rt.item_object(py, item.id)?;
            let dict =
                params::to_py(py, params, client_request()).map_err(|e| py_internal(py, &e))?;
            let query = query_object(py, &dict).map_err(|e| py_internal(py, &e))?;
            let (run, _) = context::with_frame(rt, engine, conn, true, None, |_| {
                for (h, _) in &handlers {
                    let args = (
                        pyitem.clone_ref(py),
                        query.clone(),
                        dict.clone(),
                        PyConnection,
                    )
                        .into_pyobject(py)
                        .map_err(|e| py_internal(py, &e))?;
                    let r = rt.call(py, h, args)?;
                    if r.cast::<PyBool>().is_ok_and(|b| !b.is_true()) {
                        return Ok(false);
                    }
                }
                Ok(true)
            })?;
            let run: bool = run?;
            // The query object carries the open options; the dict carries the user params.
            // A server-side dataset's open is not paged; the dict does not carry that.
            let (unlimited, total) = (params.unlimited, params.total);
            *params = rt.guarded(py, || {
                merge_query(&query, &dict)
                    .and_then(|merged| params::from_py(&merged))
                    .map_err(|e| rt.error_of(py, &e))
            })?;
            params.unlimited = unlimited;
            params.total = total;
            Ok(run)
        })
    }

    fn after_open(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        params: &OpenParams,
        result: &mut OpenResult,
    ) -> Result<()> {
        let rt = &self.rt;
        if !rt.handles(self.item_scope(item.id), Event::OnAfterOpen) {
            return Ok(());
        }
        rt.attach(|py| {
            let handlers = rt.handlers(py, self.item_scope(item.id), Event::OnAfterOpen)?;
            // Jam.py: the item's handler, or the task's when the item has none.
            let Some((h, _)) = handlers.last() else {
                return Ok(());
            };
            let pyitem = rt.item_object(py, item.id)?;
            let dict =
                params::to_py(py, params, client_request()).map_err(|e| py_internal(py, &e))?;
            let query = query_object(py, &dict).map_err(|e| py_internal(py, &e))?;
            let dataset = objects::dataset::from_result(py, &rt.task, item.id, result)
                .map_err(|e| py_internal(py, &e))?;
            let (r, _) = context::with_frame(rt, engine, conn, true, None, |_| {
                let args = (
                    pyitem.clone_ref(py),
                    query,
                    dict,
                    PyConnection,
                    dataset.clone_ref(py),
                )
                    .into_pyobject(py)
                    .map_err(|e| py_internal(py, &e))?;
                rt.call(py, h, args).map(|_| ())
            })?;
            r?;
            result.rows = dataset
                .bind(py)
                .try_borrow()
                .map_err(|e| py_internal(py, &e.into()))?
                .rows_for(&result.columns);
            Ok(())
        })
    }

    fn on_apply(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        delta: &mut Delta,
    ) -> Result<Option<ApplyResult>> {
        let rt = &self.rt;
        // Every apply runs this hook first (the record events get the same params).
        if engine.reach() == jamrs_store::engine::Reach::Client {
            params::check_client_keys(&delta.params)?;
        }
        if !rt.handles(self.item_scope(item.id), Event::OnApply) {
            return Ok(None);
        }
        rt.attach(|py| {
            let handlers = rt.handlers(py, self.item_scope(item.id), Event::OnApply)?;
            let pyitem = rt.item_object(py, item.id)?;
            let pydelta = objects::delta::to_py(py, &rt.task, item.id, &delta.records)
                .map_err(|e| py_internal(py, &e))?;
            let params = convert::map_to_py(py, &delta.params).map_err(|e| py_internal(py, &e))?;
            let lent = std::mem::replace(
                delta,
                Delta {
                    item: item.id,
                    records: Vec::new(),
                    params: Map::new(),
                },
            );
            let (answer, back) = context::with_frame(
                rt,
                engine,
                conn,
                true,
                Some(lent),
                |frame| {
                    for (h, _) in &handlers {
                        let args = (
                            pyitem.clone_ref(py),
                            pydelta.clone_ref(py),
                            params.clone(),
                            PyConnection,
                        )
                            .into_pyobject(py)
                            .map_err(|e| py_internal(py, &e))?;
                        let r = rt.call(py, h, args)?;
                        if r.is_none() {
                            if frame.applied.get() {
                                // The default processing would save the delta a second time.
                                return Err(Error::new(
                                    Kind::Module,
                                    "on_apply saved the delta with item.apply_delta but returned None; return what apply_delta returned",
                                ));
                            }
                            continue;
                        }
                        return match objects::delta::result_of(&r) {
                            Some(result) => Ok(Some(result)),
                            None => Err(Error::new(
                                Kind::Module,
                                "on_apply must return None or what item.apply_delta(delta, params, connection) returned",
                            )),
                        };
                    }
                    Ok(None)
                },
            )?;
            if let Some(d) = back {
                *delta = d;
            }
            objects::delta::write_back(py, &pydelta, &mut delta.records)
                .map_err(|e| py_internal(py, &e))?;
            answer
        })
    }

    fn before_apply_record(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        record: &mut Record,
        params: &Map<String, Json>,
    ) -> Result<bool> {
        self.record_event(
            engine,
            conn,
            item,
            record,
            params,
            Event::OnBeforeApplyRecord,
        )
    }

    fn after_apply_record(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        record: &Record,
        params: &Map<String, Json>,
    ) -> Result<()> {
        let mut copy = record.clone();
        self.record_event(
            engine,
            conn,
            item,
            &mut copy,
            params,
            Event::OnAfterApplyRecord,
        )
        .map(|_| ())
    }
}

impl jamrs_store::Events for PythonHooks {
    fn call_function(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        name: &str,
        args: &[Json],
    ) -> Result<Json> {
        self.rt.call_function(engine, conn, item.id, name, args)
    }

    fn on_login(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        form_data: &Map<String, Json>,
        info: &Map<String, Json>,
    ) -> Option<Result<LoginAnswer>> {
        self.rt.on_login(engine, conn, form_data, info)
    }

    fn generate_report(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        report: &jamrs_core::model::Report,
        run: &mut jamrs_store::report::ReportRun<'_>,
    ) -> Result<()> {
        self.rt.generate_report(engine, conn, report, run)
    }

    fn task_event(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        event: jamrs_store::TaskEvent,
        args: &[Json],
    ) -> Result<Option<Json>> {
        let e = match event {
            jamrs_store::TaskEvent::Created => Event::OnCreated,
            jamrs_store::TaskEvent::Logout => Event::OnLogout,
            jamrs_store::TaskEvent::ExtRequest => Event::OnExtRequest,
        };
        self.rt.task_event(engine, conn, e, args)
    }
}

impl PythonHooks {
    fn record_event(
        &self,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: &Item,
        record: &mut Record,
        params: &Map<String, Json>,
        event: Event,
    ) -> Result<bool> {
        let rt = &self.rt;
        if !rt.handles(self.item_scope(item.id), event) {
            return Ok(true);
        }
        rt.attach(|py| {
            let handlers = rt.handlers(py, self.item_scope(item.id), event)?;
            let pyitem = rt.item_object(py, item.id)?;
            let pyrec = objects::delta::record_to_py(py, &rt.task, item.id, record)
                .map_err(|e| py_internal(py, &e))?;
            let params = convert::map_to_py(py, params).map_err(|e| py_internal(py, &e))?;
            let (go, _) = context::with_frame(rt, engine, conn, true, None, |_| {
                for (h, _) in &handlers {
                    let args = (
                        pyitem.clone_ref(py),
                        pyrec.clone_ref(py),
                        params.clone(),
                        PyConnection,
                    )
                        .into_pyobject(py)
                        .map_err(|e| py_internal(py, &e))?;
                    let r = rt.call(py, h, args)?;
                    // Only the before-event can skip a record; the after-event's result is
                    // ignored, so the item's handler runs whatever the task's returned.
                    if event == Event::OnBeforeApplyRecord
                        && r.cast::<PyBool>().is_ok_and(|b| !b.is_true())
                    {
                        return Ok(false);
                    }
                }
                Ok(true)
            })?;
            objects::delta::write_back_record(py, &pyrec, record)
                .map_err(|e| py_internal(py, &e))?;
            go
        })
    }
}

/// Jam.py's `query` of `on_before_open`: the open options as attributes (`query.filters`, …).
fn query_object<'py>(py: Python<'py>, dict: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    for (k, v) in dict.iter() {
        if let Ok(name) = k.extract::<String>()
            && let Some(bare) = name.strip_prefix("__")
        {
            kwargs.set_item(bare, v)?;
        }
    }
    py.import("types")?
        .getattr("SimpleNamespace")?
        .call((), Some(&kwargs))
}

/// The params after `on_before_open`: the options from `query`, the user's keys from `dict`.
fn merge_query<'py>(
    query: &Bound<'py, PyAny>,
    dict: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let out = dict.copy()?;
    let vars = query.getattr("__dict__")?;
    for (k, v) in vars.cast::<PyDict>()?.iter() {
        let name: String = k.extract()?;
        out.set_item(format!("__{name}"), v)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Events outside open and apply, called by the HTTP layer on a database thread.

impl Runtime {
    /// Calls a server function of `item`'s module with JSON `args` (the item comes first, as in
    /// Jam.py). The caller has checked that the metadata lists it as callable and that the role
    /// may view the item.
    fn call_function(
        self: &Arc<Self>,
        engine: &Engine,
        conn: &mut dyn Conn,
        item: ItemId,
        name: &str,
        args: &[Json],
    ) -> Result<Json> {
        self.reload_changed();
        self.attach(|py| {
            let f = {
                let m = self
                    .modules
                    .read()
                    .map_err(|_| Error::internal("the module table is poisoned"))?;
                match &m.items[item.0 as usize] {
                    Some(Slot::Loaded(module)) => module.function(py, name).map(|f| f.unbind()),
                    Some(Slot::Broken(e)) => return Err(e.clone()),
                    None => None,
                }
            };
            let f = f.ok_or_else(|| {
                Error::not_found(format!(
                    "the module of \"{}\" has no function \"{name}\"",
                    self.task.item(item).name
                ))
            })?;
            let pyitem = self.item_object(py, item)?;
            let mut call_args: Vec<Bound<'_, PyAny>> = vec![pyitem.into_bound(py).into_any()];
            for a in args {
                call_args.push(convert::json_to_py(py, a).map_err(|e| py_internal(py, &e))?);
            }
            let tuple = PyTuple::new(py, call_args).map_err(|e| py_internal(py, &e))?;
            let (r, _) = context::with_frame(self, engine, conn, true, None, |_| {
                let r = self.call(py, &f, tuple)?;
                self.guarded(py, || {
                    convert::py_to_json(&r).map_err(|e| {
                        Error::new(
                            Kind::Module,
                            bounded_message(format!("the result of {name}: {}", e.value(py))),
                        )
                    })
                })
            })?;
            r
        })
    }

    /// `on_login(task, form_data, info)` of the task module, if it has one: `Some(user_info)`
    /// when the handler accepts the login, `None` when it refuses; the outer `None` means the
    /// task has no `on_login` and the built-in login applies.
    fn on_login(
        self: &Arc<Self>,
        engine: &Engine,
        conn: &mut dyn Conn,
        form_data: &Map<String, Json>,
        info: &Map<String, Json>,
    ) -> Option<Result<LoginAnswer>> {
        if !self.handles(None, Event::OnLogin) {
            return None;
        }
        Some(self.attach(|py| {
            let handlers = self.handlers(py, None, Event::OnLogin)?;
            let Some((h, _)) = handlers.first() else {
                return Ok(LoginAnswer::Refused);
            };
            let form = convert::map_to_py(py, form_data).map_err(|e| py_internal(py, &e))?;
            let info = convert::map_to_py(py, info).map_err(|e| py_internal(py, &e))?;
            let task = self.task_object.clone_ref(py);
            let (r, _) = context::with_frame(self, engine, conn, false, None, |_| {
                let args = (task, form, info)
                    .into_pyobject(py)
                    .map_err(|e| py_internal(py, &e))?;
                let r = self.call(py, h, args)?;
                self.guarded(py, || {
                    if !r.is_truthy().unwrap_or(false) {
                        return Ok(LoginAnswer::Refused);
                    }
                    if !r.is_instance_of::<PyDict>() {
                        return Ok(LoginAnswer::Invalid(
                            "on_login must return a user_info dict, or a false value to refuse"
                                .into(),
                        ));
                    }
                    // The session keeps user_info as JSON, so every value must be one JSON
                    // can hold.
                    Ok(match convert::py_to_json(&r) {
                        Ok(Json::Object(m)) => LoginAnswer::Accepted(m),
                        Ok(_) => LoginAnswer::Invalid(
                            "on_login must return a user_info dict, or a false value to refuse"
                                .into(),
                        ),
                        Err(e) => LoginAnswer::Invalid(format!(
                            "on_login returned a user_info the session cannot keep: {} (its values must be str, int, float, bool, None, dates, or lists and dicts of them with str keys)",
                            e.value(py)
                        )),
                    })
                })
            })?;
            r
        }))
    }

    /// Calls a task event that takes `(task, *args)`, if the task module handles it.
    fn task_event(
        self: &Arc<Self>,
        engine: &Engine,
        conn: &mut dyn Conn,
        event: Event,
        args: &[Json],
    ) -> Result<Option<Json>> {
        if !self.handles(None, event) {
            return Ok(None);
        }
        self.attach(|py| {
            let handlers = self.handlers(py, None, event)?;
            let Some((h, _)) = handlers.first() else {
                return Ok(None);
            };
            let mut call_args: Vec<Bound<'_, PyAny>> =
                vec![self.task_object.clone_ref(py).into_bound(py).into_any()];
            for a in args {
                call_args.push(convert::json_to_py(py, a).map_err(|e| py_internal(py, &e))?);
            }
            let tuple = PyTuple::new(py, call_args).map_err(|e| py_internal(py, &e))?;
            let (r, _) = context::with_frame(self, engine, conn, false, None, |_| {
                let r = self.call(py, h, tuple)?;
                self.guarded(py, || {
                    convert::py_to_json(&r).map_err(|e| {
                        Error::new(
                            Kind::Module,
                            bounded_message(format!(
                                "the result of {}: {}",
                                event.name(),
                                e.value(py)
                            )),
                        )
                    })
                })
            })?;
            r.map(Some)
        })
    }
}
