//! `POST /api/reports/{report}/print`: print a report (Jam.py's print) — a job that makes the
//! file. The session, the role's right to print the report, the format and the params (their
//! types, the required ones, and that every lookup param names a row the caller may open) are
//! checked here, before anything is queued; the module runs on a job thread
//! (`crate::jobs::report`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jamrs_core::model::{Report, Task};
use jamrs_core::params::or_default;
use jamrs_core::report::resolve_params;
use jamrs_core::session::Caller;
use jamrs_core::{Access, Error};
use jamrs_reports::Format;
use jamrs_store::report::check_lookup_params;
use jamrs_store::{Engine, auth, store};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::error::{ApiError, JsonBody, PathParams};
use crate::jobs::report::{ReportWork, run};
use crate::jobs::{JobKind, Jobs};
use crate::session::{self, SessionToken};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintRequest {
    /// `{param: value}`; a multi-select param takes a list.
    #[serde(default, deserialize_with = "or_default")]
    params: Map<String, Json>,
    /// One of the report's formats (default: its first).
    #[serde(default)]
    format: Option<String>,
}

/// A report by name, for a caller who may print it.
pub fn report<'t>(task: &'t Task, access: &Access, name: &str) -> Result<&'t Report, Error> {
    let report = task
        .report_by_name(name)
        .ok_or_else(|| Error::not_found(format!("there is no report \"{name}\"")))?;
    if !access.can_print(report.id) {
        return Err(Error::forbidden(format!(
            "your role may not print \"{name}\""
        )));
    }
    Ok(report)
}

pub async fn print(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(name): PathParams<String>,
    JsonBody(req): JsonBody<PrintRequest>,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let now = session::now();
    let job_token = token.clone();
    let checked_name = name.clone();
    let sent = req.params.clone();
    // Who asks, whether they may print it, and their params, checked as they would open them.
    let (caller, params, touch) = store::read(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, job_token.as_deref(), now)?;
        let report = report(&task, who.caller.access(&task), &checked_name)?;
        let mut params = resolve_params(&task, report, &sent)?;
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        check_lookup_params(&engine, conn, report, &mut params)?;
        Ok((who.caller, params, who.needs_touch))
    })
    .await?;
    if let (true, Some(token)) = (touch, token.clone()) {
        session::touch_later(&*state.store, token, now);
    }
    let report = state
        .task
        .report_by_name(&name)
        .ok_or_else(|| Error::not_found(format!("there is no report \"{name}\"")))?;
    let format = match &req.format {
        None => report.formats.first().map_or("ods", String::as_str),
        Some(f) if report.formats.contains(f) => f.as_str(),
        Some(f) => {
            return Err(Error::bad_field(
                "format",
                format!(
                    "report \"{name}\" is not printed as \"{f}\" (its formats: {})",
                    report.formats.join(", ")
                ),
            )
            .into());
        }
    };
    let format = Format::parse(format)
        .ok_or_else(|| Error::internal(format!("report format {format} has no writer")))?;
    if format.needs_conversion() {
        // Say now that the server cannot convert, not after the report ran.
        state
            .jobs()
            .converter()?
            .program()
            .map_err(|e| Error::bad_field("format", e.message()))?;
    }
    let template = state.jobs().template(&report.template)?;
    let job = state
        .jobs()
        .create(Jobs::owner(token.as_deref()), JobKind::Report(name));
    let job = match job {
        Ok(j) => j,
        Err(e) => return Ok(crate::jobs::refused(e)),
    };
    let work = ReportWork {
        state: state.clone(),
        caller,
        report: report.id,
        params,
        format,
        template,
    };
    let tenant = work.caller.tenant(&state.task);
    state
        .jobs()
        .submit(&*state.store, job.clone(), tenant, move |conn, job| {
            run(conn, job, work)
        })?;
    Ok((StatusCode::ACCEPTED, axum::Json(job.json())).into_response())
}

/// The reports `caller` may print, as `/api/task` lists them (with their params, as fields).
pub fn describe(task: &Task, caller: &Caller) -> Json {
    let access = caller.access(task);
    task.reports
        .iter()
        .filter(|r| access.can_print(r.id))
        .map(|r| {
            json!({
                "name": r.name.as_str(),
                "caption": r.caption,
                "visible": r.visible,
                "formats": r.formats,
                "params": r.params.iter().map(|p| {
                    let mut f = crate::api::task::param_field(task, &p.field);
                    f["multi_select"] = json!(p.multi_select);
                    f["multi_select_all"] = json!(p.multi_select_all);
                    f
                }).collect::<Vec<_>>(),
            })
        })
        .collect()
}
