//! Loading server modules: `task.py` and `items/<name>.py`, compiled with the file's name (so
//! tracebacks and syntax errors point at it), with the global `task` set as Jam.py does.

use std::path::Path;
use std::time::SystemTime;

use jamrs_core::{Error, ItemId, ReportId, Task};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

/// The events a module may handle, by Jam.py's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    OnOpen,
    OnBeforeOpen,
    OnAfterOpen,
    OnApply,
    OnBeforeApplyRecord,
    OnAfterApplyRecord,
    OnLogin,
    OnLogout,
    OnCreated,
    OnExtRequest,
    OnFieldGetText,
}

impl Event {
    pub const ALL: [Event; 11] = [
        Event::OnOpen,
        Event::OnBeforeOpen,
        Event::OnAfterOpen,
        Event::OnApply,
        Event::OnBeforeApplyRecord,
        Event::OnAfterApplyRecord,
        Event::OnLogin,
        Event::OnLogout,
        Event::OnCreated,
        Event::OnExtRequest,
        Event::OnFieldGetText,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Event::OnOpen => "on_open",
            Event::OnBeforeOpen => "on_before_open",
            Event::OnAfterOpen => "on_after_open",
            Event::OnApply => "on_apply",
            Event::OnBeforeApplyRecord => "on_before_apply_record",
            Event::OnAfterApplyRecord => "on_after_apply_record",
            Event::OnLogin => "on_login",
            Event::OnLogout => "on_logout",
            Event::OnCreated => "on_created",
            Event::OnExtRequest => "on_ext_request",
            Event::OnFieldGetText => "on_field_get_text",
        }
    }

    fn index(self) -> usize {
        Event::ALL.iter().position(|e| *e == self).unwrap_or(0)
    }
}

/// A compiled module and the handlers it defines.
pub struct Module {
    pub modified: Option<SystemTime>,
    pub module: Py<PyModule>,
    handlers: [Option<Py<PyAny>>; 11],
}

impl Module {
    pub fn handler(&self, e: Event) -> Option<&Py<PyAny>> {
        self.handlers[e.index()].as_ref()
    }

    pub fn has(&self, e: Event) -> bool {
        self.handlers[e.index()].is_some()
    }

    /// A module-level function by name (for server functions).
    pub fn function<'py>(&self, py: Python<'py>, name: &str) -> Option<Bound<'py, PyAny>> {
        self.module
            .bind(py)
            .dict()
            .get_item(name)
            .ok()
            .flatten()
            .filter(|f| f.is_callable())
    }
}

/// What a module is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Task,
    Item(ItemId),
    Report(ReportId),
}

pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The line of the innermost traceback entry in `path`.
fn traceback_line(py: Python<'_>, e: &PyErr, path: &Path) -> Option<i64> {
    let file = path.display().to_string();
    let mut tb = e.traceback(py).map(|t| t.into_any());
    let mut line = None;
    while let Some(t) = tb.filter(|t| !t.is_none()) {
        let in_module = t
            .getattr("tb_frame")
            .and_then(|f| f.getattr("f_code"))
            .and_then(|c| c.getattr("co_filename"))
            .and_then(|n| n.extract::<String>())
            .is_ok_and(|n| n == file);
        if in_module {
            line = t.getattr("tb_lineno").ok().and_then(|l| l.extract().ok());
        }
        tb = t.getattr("tb_next").ok();
    }
    line
}

/// `items/notes.py, line 3: invalid syntax` from a Python error raised while loading.
fn load_error(py: Python<'_>, rel: &str, path: &Path, e: &PyErr) -> Error {
    let value = e.value(py);
    // A SyntaxError carries its line; any other error raised while the module's code runs is
    // placed by the innermost traceback entry in the module's own file.
    let line = value
        .getattr("lineno")
        .ok()
        .and_then(|l| l.extract::<i64>().ok())
        .or_else(|| traceback_line(py, e, path));
    let msg = value
        .getattr("msg")
        .ok()
        .and_then(|m| m.extract::<String>().ok())
        .unwrap_or_else(|| value.to_string());
    let kind = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Error::new(
        jamrs_core::Kind::Module,
        match line {
            Some(l) => format!("{rel}, line {l}: {kind}: {msg}"),
            None => format!("{rel}: {kind}: {msg}"),
        },
    )
}

/// Compiles and runs a module's code with `task` as a global.
pub fn load(
    py: Python<'_>,
    task: &Task,
    task_object: &Bound<'_, PyAny>,
    owner: Owner,
    path: &Path,
) -> Result<Module, Error> {
    let rel = path
        .strip_prefix(&task.dir)
        .unwrap_or(path)
        .display()
        .to_string();
    let source = std::fs::read_to_string(path)
        .map_err(|e| Error::internal(format!("cannot read {rel}: {e}")))?;
    // Jam.py API that jamrs lacks is refused here, by line, with what to use instead, rather
    // than failing later on a request (or at import, as an ImportError without advice).
    if let Some(u) = jamrs_core::jampy::unsupported(&source).first() {
        return Err(Error::new(
            jamrs_core::Kind::Module,
            format!(
                "{rel}, line {}: jamrs does not provide {}; use {}",
                u.line, u.what, u.instead
            ),
        ));
    }
    let name = match owner {
        Owner::Task => "jamrs_task".to_string(),
        Owner::Item(id) => format!("jamrs_item_{}", task.item(id).name),
        Owner::Report(id) => format!("jamrs_report_{}", task.report(id).name),
    };
    let module = PyModule::new(py, &name).map_err(|e| load_error(py, &rel, path, &e))?;
    let globals: Bound<'_, PyDict> = module.dict();
    let run = || -> PyResult<()> {
        globals.set_item("task", task_object)?;
        globals.set_item("__file__", path.display().to_string())?;
        let builtins = py.import("builtins")?;
        let code = builtins.getattr("compile")?.call1((
            source.as_str(),
            path.display().to_string(),
            "exec",
        ))?;
        builtins.getattr("exec")?.call1((code, &globals))?;
        Ok(())
    };
    run().map_err(|e| load_error(py, &rel, path, &e))?;
    let mut handlers: [Option<Py<PyAny>>; 11] = Default::default();
    for e in Event::ALL {
        if let Ok(Some(f)) = globals.get_item(e.name())
            && f.is_callable()
        {
            handlers[e.index()] = Some(f.unbind());
        }
    }
    Ok(Module {
        modified: modified(path),
        module: module.unbind(),
        handlers,
    })
}
