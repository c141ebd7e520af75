//! Running a report's server module: Jam.py's `on_before_generate(report)`,
//! `on_parsed(report)`, `on_generate(report)` and `on_after_generate(report)`, in that order,
//! with the caller's session (datasets the handlers open see the caller's tenant; what they
//! open with `safe=True` is held to the caller's role).
//!
//! The whole run is one call into server code under the watchdog with the report's own time
//! limit (`[reports] timeout`), not the handlers' `module_timeout`: a large report's
//! `on_generate` runs long by design.

use std::sync::Arc;

use jamrs_core::model::Report;
use jamrs_core::{Error, Result};
use jamrs_store::report::ReportRun;
use jamrs_store::{Conn, Engine};
use pyo3::prelude::*;

use crate::objects::report::PyReport;
use crate::{Runtime, Slot, context, py_internal};

/// The report events, in the order they run.
const EVENTS: [&str; 4] = [
    "on_before_generate",
    "on_parsed",
    "on_generate",
    "on_after_generate",
];

impl Runtime {
    pub(crate) fn generate_report(
        self: &Arc<Self>,
        engine: &Engine,
        conn: &mut dyn Conn,
        report: &Report,
        run: &mut ReportRun<'_>,
    ) -> Result<()> {
        self.reload_changed();
        self.attach(|py| {
            let handlers: Vec<Py<PyAny>> = {
                let m = self
                    .modules
                    .read()
                    .map_err(|_| Error::internal("the module table is poisoned"))?;
                match m.reports.get(report.id.0 as usize) {
                    Some(Some(Slot::Loaded(module))) => EVENTS
                        .iter()
                        .filter_map(|e| module.function(py, e).map(Bound::unbind))
                        .collect(),
                    Some(Some(Slot::Broken(e))) => return Err(e.clone()),
                    _ => Vec::new(),
                }
            };
            if handlers.is_empty() {
                return Ok(());
            }
            let printer = run
                .printer
                .take()
                .ok_or_else(|| Error::internal("the report's printer is missing"))?;
            let pyreport = Py::new(
                py,
                PyReport::new(py, &self.task, report.id, run.params, run.format, printer)
                    .map_err(|e| py_internal(py, &e))?,
            )
            .map_err(|e| py_internal(py, &e))?;
            let (result, _) = context::with_frame(self, engine, conn, true, None, |_| {
                self.guarded_for(
                    py,
                    run.timeout,
                    || {
                        for h in &handlers {
                            let args = (pyreport.clone_ref(py),)
                                .into_pyobject(py)
                                .map_err(|e| py_internal(py, &e))?;
                            h.bind(py).call1(args).map_err(|e| self.error_of(py, &e))?;
                        }
                        Ok(())
                    },
                    || {
                        format!(
                            "the report ran longer than {} s ([reports] timeout) and was stopped",
                            self.task.settings.reports.timeout.as_secs()
                        )
                    },
                )
            })?;
            // Back to the caller, whatever the handlers did: a report object a module kept
            // prints nothing later.
            run.printer = pyreport.get().take_printer();
            result
        })
    }
}
