//! Reports and exports run as jobs, off the request threads: a request checks what it can at
//! once (session, privileges, params: a bad one is a 4xx right away), queues the work on the
//! store's job threads (`Store::submit_job`: a few at a time, each with a read-only
//! connection of its own, so a large report never holds a thread or a connection that other
//! requests need) and answers 202 with the job. The client follows its progress
//! (`GET /api/jobs/{id}`) and downloads the file (`GET /api/jobs/{id}/file`) or cancels it.
//!
//! A job belongs to the session that started it: another session (another user's, or the same
//! user's elsewhere) gets a 404 for it. Files live in a private temporary folder, one folder
//! per job, and are deleted `[reports] keep_minutes` after the job ends (and when the server
//! stops).

pub mod export;
pub mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jamrs_core::model::ReportSettings;
use jamrs_core::{Error, Kind, Result};
use jamrs_reports::{Converter, Template};
use jamrs_store::Conn;
use serde_json::{Value as Json, json};

/// Jobs one session may have queued or running at once.
pub const MAX_JOBS_PER_SESSION: usize = 4;
/// Jobs queued or running in the whole server.
pub const MAX_JOBS: usize = 64;
/// Finished jobs remembered (oldest forgotten first, their files deleted).
const MAX_FINISHED: usize = 1000;

/// What a job makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Report(String),
    Export(String),
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Queued = 0,
    /// Reading rows, or running the report's module.
    Running = 1,
    /// LibreOffice converts the report.
    Converting = 2,
    Done = 3,
    Failed = 4,
    Cancelled = 5,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            1 => Phase::Running,
            2 => Phase::Converting,
            3 => Phase::Done,
            4 => Phase::Failed,
            5 => Phase::Cancelled,
            _ => Phase::Queued,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Converting => "converting",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Cancelled => "cancelled",
        }
    }

    fn finished(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed | Phase::Cancelled)
    }
}

/// What a running job reports, and how it learns it must stop.
#[derive(Debug)]
pub struct Progress {
    phase: AtomicU8,
    /// Bands printed, or rows written.
    pub done: AtomicU64,
    /// Rows to write (an export, once counted); 0 while unknown.
    pub total: AtomicU64,
    cancelled: AtomicBool,
    /// When the job started running (time waiting in line does not count).
    started: OnceLock<Instant>,
    timeout: Duration,
}

impl Progress {
    fn new(timeout: Duration) -> Progress {
        Progress {
            phase: AtomicU8::new(Phase::Queued as u8),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            started: OnceLock::new(),
            timeout,
        }
    }

    fn start(&self) {
        let _ = self.started.set(Instant::now());
        self.set_phase(Phase::Running);
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u8, Ordering::Release);
    }

    /// An error once the job was cancelled or ran past its time: work checks it as it goes.
    pub fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Acquire) {
            return Err(Error::conflict("the job was cancelled"));
        }
        if self.remaining().is_zero() {
            return Err(Error::new(
                Kind::Module,
                format!(
                    "the job ran longer than {} s ([reports] timeout) and was stopped",
                    self.timeout.as_secs()
                ),
            ));
        }
        Ok(())
    }

    /// Time left before the job's deadline (all of it while it waits in line).
    pub fn remaining(&self) -> Duration {
        match self.started.get() {
            Some(s) => self.timeout.saturating_sub(s.elapsed()),
            None => self.timeout,
        }
    }
}

/// The file a finished job made.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: PathBuf,
    /// The name the download is saved as.
    pub file_name: String,
    pub content_type: &'static str,
}

/// One job.
pub struct Job {
    pub id: String,
    owner: String,
    pub kind: JobKind,
    pub progress: Progress,
    outcome: Mutex<Option<std::result::Result<Output, Error>>>,
    finished: Mutex<Option<Instant>>,
    /// The job's own folder.
    pub dir: PathBuf,
}

impl Job {
    /// The job as the API shows it.
    pub fn json(&self) -> Json {
        let phase = self.progress.phase();
        let total = self.progress.total.load(Ordering::Relaxed);
        let mut out = json!({
            "id": self.id,
            "kind": match &self.kind { JobKind::Report(_) => "report", JobKind::Export(_) => "export" },
            "name": match &self.kind { JobKind::Report(n) | JobKind::Export(n) => n },
            "state": phase.name(),
            "done": self.progress.done.load(Ordering::Relaxed),
            "total": if total > 0 || phase == Phase::Done { Some(total) } else { None },
        });
        if let Ok(outcome) = self.outcome.lock() {
            match outcome.as_ref() {
                Some(Ok(o)) => {
                    out["file_name"] = json!(o.file_name);
                    out["size"] = json!(std::fs::metadata(&o.path).map_or(0, |m| m.len()));
                }
                Some(Err(e)) => {
                    let message = if e.kind == Kind::Internal {
                        "internal error; the server log has the details".to_string()
                    } else {
                        e.message.clone()
                    };
                    let mut err = json!({"code": e.kind.code(), "message": message});
                    if !e.fields.is_empty() && e.kind != Kind::Internal {
                        err["fields"] = e
                            .fields
                            .iter()
                            .map(|f| json!({"field": f.field, "message": f.message}))
                            .collect();
                    }
                    out["error"] = err;
                }
                None => {}
            }
        }
        out
    }

    /// The finished job's file, if it made one.
    pub fn output(&self) -> Option<Output> {
        self.outcome
            .lock()
            .ok()
            .and_then(|o| o.as_ref().and_then(|r| r.as_ref().ok().cloned()))
    }

    fn finish(&self, result: Result<Output>) {
        let phase = match &result {
            Ok(_) => Phase::Done,
            Err(_) if self.progress.cancelled.load(Ordering::Acquire) => Phase::Cancelled,
            Err(_) => Phase::Failed,
        };
        if let Err(e) = &result {
            if e.kind == Kind::Internal {
                tracing::error!(job = %self.id, error = %e.message, "a job failed");
            } else {
                tracing::debug!(job = %self.id, error = %e.message, "a job failed");
            }
        }
        if let Ok(mut o) = self.outcome.lock() {
            *o = Some(result);
        }
        if let Ok(mut f) = self.finished.lock() {
            *f = Some(Instant::now());
        }
        self.progress.set_phase(phase);
    }

    /// Asks the job to stop; it stops at its next check.
    pub fn cancel(&self) {
        if !self.progress.phase().finished() {
            self.progress.cancelled.store(true, Ordering::Release);
        }
    }
}

/// A parsed template, with its file's modification time when it was read.
type Parsed = (Option<std::time::SystemTime>, Arc<Template>);

/// The server's jobs.
pub struct Jobs {
    table: Mutex<HashMap<String, Arc<Job>>>,
    settings: ReportSettings,
    /// The private folder of every job's files, made at the first job.
    folder: OnceLock<std::result::Result<tempfile::TempDir, String>>,
    converter: OnceLock<std::result::Result<Converter, String>>,
    templates: Mutex<HashMap<PathBuf, Parsed>>,
}

impl Jobs {
    pub fn new(settings: ReportSettings) -> Jobs {
        Jobs {
            table: Mutex::new(HashMap::new()),
            settings,
            folder: OnceLock::new(),
            converter: OnceLock::new(),
            templates: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &ReportSettings {
        &self.settings
    }

    fn folder(&self) -> Result<&Path> {
        self.folder
            .get_or_init(|| {
                tempfile::Builder::new()
                    .prefix("jamrs-jobs-")
                    .tempdir()
                    .map_err(|e| format!("cannot create the folder for reports and exports: {e}"))
            })
            .as_ref()
            .map(|d| d.path())
            .map_err(|e| Error::internal(e.clone()))
    }

    /// The LibreOffice pool, made at the first conversion.
    pub fn converter(&self) -> Result<&Converter> {
        self.converter
            .get_or_init(|| {
                Converter::new(
                    self.settings.soffice.clone(),
                    self.settings.converters,
                    self.settings.timeout,
                )
                .map_err(|e| e.message().to_string())
            })
            .as_ref()
            .map_err(|e| Error::internal(e.clone()))
    }

    /// A report's template, parsed once and again when its file changes.
    pub fn template(&self, path: &Path) -> Result<Arc<Template>> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if let Ok(cache) = self.templates.lock()
            && let Some((when, t)) = cache.get(path)
            && *when == modified
        {
            return Ok(t.clone());
        }
        let t = Arc::new(Template::load(path).map_err(|e| {
            Error::new(
                Kind::Module,
                format!("the report's template: {}", e.message()),
            )
        })?);
        if let Ok(mut cache) = self.templates.lock() {
            cache.insert(path.to_path_buf(), (modified, t.clone()));
        }
        Ok(t)
    }

    /// The owner key of a session token (no token: the anonymous callers of a project without
    /// safe mode).
    pub fn owner(token: Option<&str>) -> String {
        token.map(jamrs_store::auth::token_hash).unwrap_or_default()
    }

    /// Registers a new job for `owner`, within the limits (429 past them).
    pub fn create(&self, owner: String, kind: JobKind) -> Result<Arc<Job>> {
        self.sweep();
        let folder = self.folder()?.to_path_buf();
        let mut table = self
            .table
            .lock()
            .map_err(|_| Error::internal("the job table is poisoned"))?;
        let active = |j: &&Arc<Job>| !j.progress.phase().finished();
        if table
            .values()
            .filter(active)
            .filter(|j| j.owner == owner)
            .count()
            >= MAX_JOBS_PER_SESSION
        {
            return Err(Error::new(
                Kind::TooManyRequests,
                format!(
                    "you have {MAX_JOBS_PER_SESSION} reports or exports running; wait for one to finish"
                ),
            ));
        }
        if table.values().filter(active).count() >= MAX_JOBS {
            return Err(Error::new(
                Kind::TooManyRequests,
                "the server is busy with reports and exports; try again in a moment",
            ));
        }
        let id = jamrs_store::auth::new_token()?;
        let dir = folder.join(&id);
        std::fs::create_dir(&dir)
            .map_err(|e| Error::internal(format!("cannot create a job folder: {e}")))?;
        let job = Arc::new(Job {
            id: id.clone(),
            owner,
            kind,
            progress: Progress::new(self.settings.timeout),
            outcome: Mutex::new(None),
            finished: Mutex::new(None),
            dir,
        });
        table.insert(id, job.clone());
        Ok(job)
    }

    /// The job `id` of `owner`; any other session's (or an unknown id) is not found.
    pub fn get(&self, id: &str, owner: &str) -> Result<Arc<Job>> {
        self.sweep();
        self.table
            .lock()
            .ok()
            .and_then(|t| t.get(id).cloned())
            .filter(|j| j.owner == owner)
            .ok_or_else(|| Error::not_found("there is no such job (it may have expired)"))
    }

    /// Forgets jobs whose files have been kept long enough, and deletes their files.
    fn sweep(&self) {
        let Ok(mut table) = self.table.lock() else {
            return;
        };
        let keep = self.settings.keep;
        let finished_at = |j: &Job| j.finished.lock().ok().and_then(|f| *f);
        let mut expired: Vec<String> = table
            .values()
            .filter(|j| finished_at(j).is_some_and(|t| t.elapsed() >= keep))
            .map(|j| j.id.clone())
            .collect();
        let mut finished: Vec<(Instant, String)> = table
            .values()
            .filter_map(|j| finished_at(j).map(|t| (t, j.id.clone())))
            .collect();
        if finished.len() > MAX_FINISHED {
            finished.sort();
            expired.extend(
                finished
                    .into_iter()
                    .take(table.len().saturating_sub(MAX_FINISHED))
                    .map(|(_, id)| id),
            );
        }
        for id in expired {
            if let Some(j) = table.remove(&id) {
                let _ = std::fs::remove_dir_all(&j.dir);
            }
        }
    }

    /// Queues `work` for `job` on the store's job threads; the job ends with its outcome
    /// (also when the work panics: the job fails and the thread goes on). Its transaction
    /// reaches the rows of `tenant`, the session's (`Conn::scope`), as the request's would.
    pub fn submit(
        &self,
        store: &dyn jamrs_store::Store,
        job: Arc<Job>,
        tenant: jamrs_core::session::Tenant,
        work: impl FnOnce(&mut dyn Conn, &Arc<Job>) -> Result<Output> + Send + 'static,
    ) -> Result<()> {
        let queued = job.clone();
        let submitted = store.submit_job(Box::new(move |conn| {
            let result = match job.progress.check().and_then(|()| conn.scope(&tenant)) {
                Err(e) => Err(e),
                Ok(()) => {
                    job.progress.start();
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn, &job)))
                        .unwrap_or_else(|_| Err(Error::internal("the job panicked")))
                }
            };
            job.finish(result);
        }));
        if let Err(e) = submitted {
            queued.finish(Err(e.clone()));
            return Err(e);
        }
        Ok(())
    }
}

/// A file name for a download: the report's or item's name and the extension.
pub fn file_name(stem: &str, ext: &str) -> String {
    let clean: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .collect();
    format!("{}.{ext}", if clean.is_empty() { "export" } else { &clean })
}

/// A job refused: its error, with `Retry-After` when the limits are full (429).
pub fn refused(e: Error) -> axum::response::Response {
    use axum::response::IntoResponse;
    let busy = e.kind == Kind::TooManyRequests;
    let mut r = crate::error::ApiError::from(e).into_response();
    if busy {
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
    }
    r
}
