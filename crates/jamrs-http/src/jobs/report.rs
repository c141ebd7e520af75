//! Printing a report on a job thread: the report's module prints the template's bands into
//! an `.ods` file with the caller's session, then LibreOffice converts it when another format
//! was asked for.

use std::sync::{Arc, Mutex};

use jamrs_core::report::ParamValue;
use jamrs_core::session::Caller;
use jamrs_core::{Error, Kind, ReportId, Result, Value};
use jamrs_reports::{Cell, Format, OdsWriter, Template, column_number};
use jamrs_store::report::{ReportPrinter, ReportRun};
use jamrs_store::{Conn, Engine};

use super::{Job, Output, Phase, file_name};
use crate::AppState;

/// A report error as the API reports it: the template's or the module's fault is the
/// module's (`module_error`); LibreOffice's answer is the caller's to read; a disk failure is
/// internal.
pub fn error(e: jamrs_reports::Error) -> Error {
    match e {
        jamrs_reports::Error::Template(m) => {
            Error::new(Kind::Module, format!("the report's template: {m}"))
        }
        jamrs_reports::Error::Report(m) => Error::new(Kind::Module, m),
        jamrs_reports::Error::Convert(m) => Error::bad_request(m),
        jamrs_reports::Error::Io(m) => Error::internal(format!("writing a report: {m}")),
    }
}

fn cell(v: Value) -> Cell {
    match v {
        Value::Null => Cell::Empty,
        Value::Int(i) => Cell::Int(i),
        Value::Float(f) => Cell::Float(f),
        Value::Text(t) => Cell::Text(t),
        Value::Bool(b) => Cell::Bool(b),
    }
}

/// The printer the report's module holds: the `.ods` being written, and the job, whose
/// progress it counts and whose cancellation or deadline stops the next band.
#[derive(Clone)]
struct JobPrinter(Arc<Mutex<Printing>>);

struct Printing {
    writer: Option<OdsWriter>,
    job: Arc<Job>,
}

impl JobPrinter {
    fn with<T>(&self, f: impl FnOnce(&mut OdsWriter, &Job) -> Result<T>) -> Result<T> {
        let mut p = self
            .0
            .lock()
            .map_err(|_| Error::internal("the report's printer is poisoned"))?;
        let Printing { writer, job } = &mut *p;
        match writer.as_mut() {
            Some(w) => f(w, job),
            None => Err(Error::internal("the report is already finished")),
        }
    }

    fn take(&self) -> Option<OdsWriter> {
        self.0.lock().ok().and_then(|mut p| p.writer.take())
    }
}

impl ReportPrinter for JobPrinter {
    fn print_band(
        &mut self,
        band: &str,
        value: &mut dyn FnMut(&str) -> Result<Option<Value>>,
    ) -> Result<()> {
        self.with(|w, job| {
            job.progress.check()?;
            // The caller's error (a value Python refused) is kept and returned as itself.
            let mut failed: Option<Error> = None;
            let printed = w.print_band(band, &mut |name| match value(name) {
                Ok(v) => Ok(v.map(cell)),
                Err(e) => {
                    failed = Some(e);
                    Err(jamrs_reports::Error::Report("a value failed".into()))
                }
            });
            match (printed, failed) {
                (Err(_), Some(e)) => Err(e),
                (Err(e), None) => Err(error(e)),
                (Ok(()), _) => {
                    job.progress
                        .done
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Ok(())
                }
            }
        })
    }

    fn hide_columns(&mut self, columns: &[String]) -> Result<()> {
        let mut numbers = Vec::with_capacity(columns.len());
        for c in columns {
            numbers.push(column_number(c).map_err(error)?);
        }
        self.with(|w, _| w.hide_columns(&numbers).map_err(error))
    }

    fn bands(&self) -> Vec<String> {
        self.with(|w, _| {
            Ok(w.template()
                .bands()
                .iter()
                .map(|b| b.name.clone())
                .collect())
        })
        .unwrap_or_default()
    }
}

/// What a report job needs, checked by the request that queued it.
pub struct ReportWork {
    pub state: AppState,
    pub caller: Caller,
    pub report: ReportId,
    pub params: Vec<ParamValue>,
    pub format: Format,
    pub template: Arc<Template>,
}

/// Runs the report on a job thread's connection (in the read transaction the store runs every
/// job in: the module's datasets see one state of the database).
pub fn run(conn: &mut dyn Conn, job: &Arc<Job>, work: ReportWork) -> Result<Output> {
    let state = &work.state;
    let task = &state.task;
    let report = task.report(work.report);
    let ods = job.dir.join(file_name(report.name.as_str(), "ods"));
    let writer = OdsWriter::create(&report.template, work.template.clone(), &ods).map_err(error)?;
    let printer = JobPrinter(Arc::new(Mutex::new(Printing {
        writer: Some(writer),
        job: job.clone(),
    })));
    let engine = Engine::for_client(task, &*state.hooks, &work.caller);
    let mut run = ReportRun {
        params: &work.params,
        format: work.format.name(),
        printer: Some(Box::new(printer.clone())),
        timeout: job.progress.remaining(),
    };
    let generated = state
        .events
        .generate_report(&engine, conn, report, &mut run);
    drop(run);
    generated?;
    job.progress.check()?;
    let writer = printer
        .take()
        .ok_or_else(|| Error::internal("the report's file was lost"))?;
    writer.finish().map_err(error)?;
    let path = if work.format.needs_conversion() {
        job.progress.set_phase(Phase::Converting);
        let converted = state
            .jobs()
            .converter()?
            .convert(&ods, work.format, &job.dir)
            .map_err(error)?;
        let _ = std::fs::remove_file(&ods);
        converted
    } else {
        ods
    };
    Ok(Output {
        path,
        file_name: file_name(report.name.as_str(), work.format.name()),
        content_type: work.format.content_type(),
    })
}
