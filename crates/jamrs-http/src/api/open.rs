//! `POST /api/items/{item}/open`: rows of an item, as Jam.py's open.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jamrs_core::query::OpenParams;
use jamrs_store::{Engine, store};
use serde::Serialize;

use super::item_id;
use crate::AppState;
use crate::error::{ApiError, JsonBody};
use crate::wire::Rows;

#[derive(Serialize)]
struct OpenReply<'a> {
    fields: Vec<&'a str>,
    rows: Rows<'a>,
}

pub async fn post(
    State(state): State<AppState>,
    Path(item): Path<String>,
    JsonBody(params): JsonBody<OpenParams>,
) -> Result<Response, ApiError> {
    let id = item_id(&state.task, &item)?;
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let result = store::read(&*state.store, move |conn| {
        let engine = Engine {
            task: &task,
            hooks: &*hooks,
        };
        engine.open(conn, task.item(id), params)
    })
    .await?;
    let reply = OpenReply {
        fields: result.columns.iter().map(|c| c.name.as_str()).collect(),
        rows: Rows(&result.rows),
    };
    let body = serde_json::to_vec(&reply)
        .map_err(|e| jamrs_core::Error::internal(format!("cannot encode rows: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
