//! The `/api` area: one file per endpoint.

mod apply;
mod call;
pub mod ext;
mod login;
mod open;
pub mod openapi;
mod task;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/task", get(task::get))
        .route("/items/{item}/open", post(open::post))
        .route("/items/{item}/apply", post(apply::post))
        .route("/items/{item}/call/{function}", post(call::post))
        .route("/openapi.json", get(openapi::get))
}
