//! `POST /api/items/{item}/call/{function}`: a server function of the item's module.
//!
//! Only functions the item lists in `callable`, only for a role that may view the item; the
//! function runs on the writer, in one transaction (it may change data through datasets).

use axum::Json;
use axum::extract::State;
use jamrs_core::Error;
use jamrs_store::{Engine, auth, store};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, JsonBody, PathParams};
use crate::session::{self, SessionToken};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// Positional arguments after the item (Jam.py: `item.server('f', [args])`).
    #[serde(default)]
    args: Vec<Value>,
}

pub async fn post(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams((item, function)): PathParams<(String, String)>,
    JsonBody(req): JsonBody<CallRequest>,
) -> Result<Json<Value>, ApiError> {
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let events = state.events.clone();
    let now = session::now();
    let result = store::write(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, token.as_deref(), now)?;
        if who.needs_touch
            && let Some(token) = &token
        {
            auth::touch(conn, token, now)?;
        }
        let item = session::item(&task, &item)?;
        let access = who.caller.access(&task);
        if !access.privileges(item.id).view {
            return Err(Error::forbidden(format!(
                "your role may not view \"{}\"",
                item.name
            )));
        }
        if !item.callable.iter().any(|c| c.as_str() == function) {
            return Err(Error::not_found(format!(
                "\"{function}\" is not a callable function of \"{}\" (see `callable` in its item file)",
                item.name
            )));
        }
        // The function runs for the client: what it writes is held to the client's reach.
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        events.call_function(&engine, conn, item, &function, &req.args)
    })
    .await?;
    Ok(Json(json!({ "result": result })))
}
