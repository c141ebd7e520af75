//! `POST /api/items/{item}/apply`: one delta, one transaction.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jamrs_core::Task;
use jamrs_core::delta::{ApplyParams, Change};
use jamrs_store::{ChangeResult, Engine, auth, store};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::AppState;
use crate::error::{ApiError, JsonBody, PathParams};
use crate::session::{self, SessionToken};
use crate::wire::NamedRow;

pub async fn post(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(item): PathParams<String>,
    JsonBody(body): JsonBody<ApplyParams>,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let now = session::now();
    // Session check, typing and the changes run in one job on the writer, in one transaction.
    let results = store::write(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, token.as_deref(), now)?;
        if who.needs_touch
            && let Some(token) = &token
        {
            auth::touch(conn, token, now)?;
        }
        let item = session::item(&task, &item)?;
        let access = who.caller.access(&task);
        let changes = Change::resolve_all(&task, item, &body.changes, access)?;
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        engine.apply(conn, item, changes, body.params, body.expanded)
    })
    .await?;
    let reply = ApplyReply {
        task: &state.task,
        results: &results,
    };
    // Room for a few records' values, rather than grown from empty as they are written.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, &reply)
        .map_err(|e| jamrs_core::Error::internal(format!("cannot encode results: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `{"changes": [{"op", "id", "values", "details": {name: [...]}}]}`.
struct ApplyReply<'a> {
    task: &'a Task,
    results: &'a [ChangeResult],
}

impl Serialize for ApplyReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("changes", &ResultList(self.task, self.results))?;
        map.end()
    }
}

struct ResultList<'a>(&'a Task, &'a [ChangeResult]);

impl Serialize for ResultList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.1.len()))?;
        for r in self.1 {
            seq.serialize_element(&ResultJson(self.0, r))?;
        }
        seq.end()
    }
}

struct ResultJson<'a>(&'a Task, &'a ChangeResult);

impl Serialize for ResultJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (task, r) = (self.0, self.1);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("op", r.op.name())?;
        map.serialize_entry("id", &r.id)?;
        if !r.row.is_empty() {
            map.serialize_entry("values", &NamedRow(&r.row))?;
        }
        if !r.details.is_empty() {
            map.serialize_entry("details", &DetailsJson(task, &r.details))?;
        }
        map.end()
    }
}

struct DetailsJson<'a>(&'a Task, &'a [(jamrs_core::ItemId, Vec<ChangeResult>)]);

impl Serialize for DetailsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.1.len()))?;
        for (item, results) in self.1 {
            map.serialize_entry(
                self.0.item(*item).name.as_str(),
                &ResultList(self.0, results),
            )?;
        }
        map.end()
    }
}
