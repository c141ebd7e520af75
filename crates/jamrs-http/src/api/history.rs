//! `POST /api/items/{item}/history`: the history of a record (`id`) or of an item with
//! `keep_history` (Jam.py's history view), newest first: who changed what, when, with old and
//! new values. The engine decides what the session may see (`Engine::history`).

use axum::Json;
use axum::extract::State;
use jamrs_core::params::count;
use jamrs_store::history::Entry;
use jamrs_store::{Engine, auth, store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, JsonBody, PathParams};
use crate::session::{self, SessionToken};

/// `{"id"?, "limit"?, "offset"?}`; `null` is the same as leaving a member out.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// The record; absent for the item's history.
    #[serde(default, deserialize_with = "key")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "count")]
    limit: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    offset: Option<u64>,
}

fn key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error as _;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => jamrs_core::params::whole_number(&v)
            .map(Some)
            .map_err(|e| D::Error::custom(format!("id: {e}"))),
    }
}

#[derive(Serialize)]
pub struct HistoryReply {
    history: Vec<EntryReply>,
}

#[derive(Serialize)]
struct EntryReply {
    id: i64,
    record_id: i64,
    operation: &'static str,
    user_id: Option<i64>,
    user_name: Option<String>,
    at: String,
    changes: Vec<ChangeReply>,
}

#[derive(Serialize)]
struct ChangeReply {
    field: String,
    old: Value,
    new: Value,
}

impl From<Entry> for EntryReply {
    fn from(e: Entry) -> Self {
        EntryReply {
            id: e.id,
            record_id: e.record_id,
            operation: e.operation.name(),
            user_id: e.user_id,
            user_name: e.user_name,
            at: e.at,
            changes: e
                .changes
                .into_iter()
                .map(|c| ChangeReply {
                    field: c.field,
                    old: c.old,
                    new: c.new,
                })
                .collect(),
        }
    }
}

pub async fn post(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(item): PathParams<String>,
    JsonBody(req): JsonBody<HistoryRequest>,
) -> Result<Json<HistoryReply>, ApiError> {
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let now = session::now();
    let job_token = token.clone();
    let (entries, touch) = store::read(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, job_token.as_deref(), now)?;
        let item = session::item(&task, &item)?;
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        let entries = engine.history(conn, item, req.id, req.limit, req.offset.unwrap_or(0))?;
        Ok((entries, who.needs_touch))
    })
    .await?;
    if let (true, Some(token)) = (touch, token) {
        session::touch_later(&*state.store, token, now);
    }
    Ok(Json(HistoryReply {
        history: entries.into_iter().map(EntryReply::from).collect(),
    }))
}
