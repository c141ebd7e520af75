//! The `/api` area: one file per endpoint.

mod apply;
mod open;
pub mod openapi;
mod task;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::error::ApiError;
use jamrs_core::{Error, ItemId, Task};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/task", get(task::get))
        .route("/items/{item}/open", post(open::post))
        .route("/items/{item}/apply", post(apply::post))
        .route("/openapi.json", get(openapi::get))
}

/// The item named in the path, or 404.
fn item_id(task: &Task, name: &str) -> Result<ItemId, ApiError> {
    task.item_by_name(name)
        .map(|i| i.id)
        .ok_or_else(|| Error::not_found(format!("there is no item \"{name}\"")).into())
}
