//! `POST /ext/<path>`: `on_ext_request(task, path, params)` of the task module, for other
//! systems (webhooks). Served only on the paths listed in `ext_paths`; there is no session
//! (`item.session` is `None`), so the handler must check whatever the caller sends.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use jamrs_core::Error;
use jamrs_store::{Engine, TaskEvent, store};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, PathParams, RawBody, is_json_type};

pub async fn post(
    State(state): State<AppState>,
    PathParams(path): PathParams<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let path = format!("/{path}");
    if !state.task.settings.ext_paths.contains(&path) {
        return Err(Error::not_found("no such endpoint").into());
    }
    if !is_json_type(&headers) && !body.is_empty() {
        return Err(ApiError {
            error: Error::bad_request("the body must be JSON with Content-Type: application/json"),
            status: Some(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE),
        });
    }
    let params: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))?
    };
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let events = state.events.clone();
    let result = store::write(&*state.store, move |conn| {
        let engine = Engine::for_server(&task, &*hooks);
        events.task_event(&engine, conn, TaskEvent::ExtRequest, &[json!(path), params])
    })
    .await?;
    match result {
        Some(v) => Ok(Json(json!({ "result": v }))),
        None => Err(Error::not_found("the task module has no on_ext_request").into()),
    }
}
