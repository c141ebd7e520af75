//! The shape of the route table ([`crate::ROUTES`]): what one entry says about an endpoint.
//!
//! One entry is one operation (a method on a path). The router is built from the table
//! ([`router`]) and so is the OpenAPI document (`api::openapi`): a route cannot be served and
//! left undocumented, or documented and not served. What the document says beyond the table
//! (schemas, per-item paths) is keyed by the entry's `operation_id`.

use axum::Router;
use axum::routing::MethodRouter;

use crate::AppState;

/// One operation of the server.
pub struct Route {
    pub method: Method,
    /// The path as the router matches it: `{name}` is one segment, `{*name}` the rest of the
    /// path. [`Route::openapi_path`] is the same path in OpenAPI's syntax.
    pub path: &'static str,
    /// Unique in the table; the document's `operationId` (per-item operations add `:<item>`).
    pub operation_id: &'static str,
    pub summary: &'static str,
    /// The document's tag (its group in generated clients and viewers).
    pub tag: &'static str,
    pub session: Session,
    /// The JSON request body, by its schema's name under `components/schemas`.
    pub body: Option<&'static str>,
    pub reply: Reply,
    /// Every failure status the handler can answer, each with the error contract's body
    /// (`401` is left out of the document of a project without safe mode, where no request
    /// needs a session).
    pub errors: &'static [u16],
    /// The handler (with the layers it alone needs).
    pub serve: fn() -> MethodRouter<AppState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// The name in an OpenAPI path item (`get`, `post`).
    pub fn openapi(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }

    /// The name on the wire (`GET`, `POST`).
    pub fn http(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// What an operation does with the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Not read (login, `/ext`, the web UI's files).
    Unused,
    /// Used when there is one, never required (logout, the OpenAPI document).
    Optional,
    /// Required in safe mode (401 without a live session); without safe mode a request without
    /// one acts as the anonymous role.
    Required,
}

/// The answer of an operation that succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// 200 with a JSON body of this schema (by name under `components/schemas`).
    Json(&'static str),
    /// 202 with a JSON body of this schema: the work goes on after the answer (a job).
    Accepted(&'static str),
    /// 200 with a file to save (a report, an export), of the job's type.
    JobFile,
    /// 204 without a body.
    NoContent,
    /// 200 with the web UI's page (HTML), or 304 when `If-None-Match` names it.
    Page,
    /// 200 with one of the web UI's files.
    Asset,
    /// 200 with JavaScript (a client module), or 304 when `If-None-Match` names it.
    Script,
    /// 200 with an uploaded file (its type told by its content), or 304 when `If-None-Match`
    /// names it.
    File,
}

impl Route {
    /// The path in OpenAPI's syntax: `{*rest}` becomes `{rest}`.
    pub fn openapi_path(&self) -> String {
        self.path.replace("{*", "{")
    }

    /// The names of the path's parameters, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|s| s.trim_start_matches('*'))
            .collect()
    }
}

/// The router of every route in `routes`. Paths with several methods get one method router
/// (axum merges them); a method twice on one path is a programming error and panics at start.
pub fn router(routes: &[Route]) -> Router<AppState> {
    routes.iter().fold(Router::new(), |r, route| {
        r.route(route.path, (route.serve)())
    })
}
