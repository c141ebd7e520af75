//! The `/api` and `/ext` endpoints: one file per endpoint. Their routes are in the route table
//! (`crate::ROUTES`), which the router and the OpenAPI document are both built from.

pub(crate) mod apply;
pub(crate) mod call;
pub mod client;
pub(crate) mod download;
pub(crate) mod export;
pub(crate) mod ext;
pub(crate) mod history;
pub(crate) mod jobs;
pub(crate) mod login;
pub(crate) mod open;
pub mod openapi;
pub(crate) mod reports;
pub(crate) mod task;
pub(crate) mod upload;
