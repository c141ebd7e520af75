//! `POST /api/items/{item}/open`: rows of an item, as Jam.py's open.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jamrs_core::query::OpenParams;
use jamrs_store::{Engine, auth, store};
use serde::Serialize;

use crate::AppState;
use crate::error::{ApiError, JsonBody, PathParams};
use crate::session::{self, SessionToken};
use crate::wire::Rows;

#[derive(Serialize)]
struct OpenReply<'a> {
    fields: Vec<&'a str>,
    rows: Rows<'a>,
    /// With `total: true`: how many rows the filters select, whatever the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
}

pub async fn post(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(item): PathParams<String>,
    JsonBody(params): JsonBody<OpenParams>,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let now = session::now();
    let job_token = token.clone();
    // The session is checked on the same reader connection, in the same job, as the open.
    let (result, touch) = store::read(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, job_token.as_deref(), now)?;
        let item = session::item(&task, &item)?;
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        Ok((engine.open(conn, item, params)?, who.needs_touch))
    })
    .await?;
    if let (true, Some(token)) = (touch, token) {
        session::touch_later(&*state.store, token, now);
    }
    let reply = OpenReply {
        fields: result.columns.iter().map(|c| c.name.as_str()).collect(),
        rows: Rows(&result.rows),
        total: result.total,
    };
    // Sized for the rows up front, rather than grown (and copied) as they are written.
    let cells: usize = result.rows.iter().map(Vec::len).sum();
    let mut body = Vec::with_capacity(64 + 32 * (reply.fields.len() + cells));
    serde_json::to_writer(&mut body, &reply)
        .map_err(|e| jamrs_core::Error::internal(format!("cannot encode rows: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
