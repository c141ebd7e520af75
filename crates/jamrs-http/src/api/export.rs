//! `POST /api/items/{item}/export`: the rows an open finds (the grid's filters, search and
//! order; every page) to CSV or XLSX — a job that makes the file. The session, the role's view
//! privilege and the open params (fields the role may see, filters, order) are checked here;
//! the rows are read and written on a job thread (`crate::jobs::export`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jamrs_core::query::{OpenParams, OpenQuery};
use jamrs_core::{Error, FieldId};
use jamrs_reports::export::ExportFormat;
use jamrs_store::{auth, store};
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, JsonBody, PathParams};
use crate::jobs::export::{ExportWork, run};
use crate::jobs::{JobKind, Jobs};
use crate::session::{self, SessionToken};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `csv` or `xlsx`.
    format: String,
    /// The grid's open params: `fields` (the columns, in order; default every visible field),
    /// `filters`, `search`, `order`, `master`, `params`. `limit` and `offset` are ignored:
    /// every row is exported.
    #[serde(default)]
    open: Option<OpenParams>,
}

pub async fn post(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(name): PathParams<String>,
    JsonBody(req): JsonBody<ExportRequest>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(&req.format).ok_or_else(|| {
        Error::bad_field(
            "format",
            format!("\"{}\" is not an export format (csv or xlsx)", req.format),
        )
    })?;
    let mut params = req.open.unwrap_or_default();
    if params.funcs.is_some() || params.summary || !params.group_by.is_empty() {
        return Err(Error::bad_request(
            "an export writes rows: funcs, summary and group_by are not for it",
        )
        .into());
    }
    params.limit = None;
    params.offset = None;
    let task = state.task.clone();
    let now = session::now();
    let job_token = token.clone();
    let checked = params.clone();
    let (caller, item, fields, touch) = store::read(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, job_token.as_deref(), now)?;
        let item = session::item(&task, &name)?;
        let access = who.caller.access(&task);
        if !access.privileges(item.id).view {
            return Err(Error::forbidden(format!(
                "your role may not view \"{}\"",
                item.name
            )));
        }
        // Fields the role may not see, unknown names, bad filters: refused now, as an open.
        let q = OpenQuery::resolve(&task, item, &checked, access)?;
        let fields: Vec<FieldId> = if checked.fields.as_ref().is_some_and(|f| !f.is_empty()) {
            q.fields
        } else {
            item.public_fields()
                .filter(|f| f.visible && !access.is_prohibited(item.id, f.id))
                .map(|f| f.id)
                .collect()
        };
        Ok((who.caller, item.id, fields, who.needs_touch))
    })
    .await?;
    if let (true, Some(token)) = (touch, token.clone()) {
        session::touch_later(&*state.store, token, now);
    }
    let job = state.jobs().create(
        Jobs::owner(token.as_deref()),
        JobKind::Export(state.task.item(item).name.to_string()),
    );
    let job = match job {
        Ok(j) => j,
        Err(e) => return Ok(crate::jobs::refused(e)),
    };
    let work = ExportWork {
        state: state.clone(),
        caller,
        item,
        params,
        fields,
        format,
    };
    let tenant = work.caller.tenant(&state.task);
    state
        .jobs()
        .submit(&*state.store, job.clone(), tenant, move |conn, job| {
            run(conn, job, work)
        })?;
    Ok((StatusCode::ACCEPTED, axum::Json(job.json())).into_response())
}
