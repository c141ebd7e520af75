//! `GET /api/openapi.json`: the API contract, built from the route table the router is built
//! from (`crate::ROUTES`), so the document lists exactly the operations the server serves, each
//! with exactly the statuses its handler can answer.
//!
//! Two forms:
//! - the generic document ([`document`]): templated paths (`/api/items/{item}/open`) and
//!   generic schemas, naming nothing of the project. Served to a caller without a session in
//!   safe mode (which describes it: a session is required).
//! - a project's document for a role ([`document_for`]): each item the role may view gets its
//!   own paths (`/api/items/notes/open`, `…/apply`, `…/call/<function>`) with schemas generated
//!   from the metadata (`items.rs`), and each `ext_paths` entry its `/ext/…` path. Served to a
//!   session (for its role), and without safe mode also to anonymous callers (for the
//!   anonymous role). Items the role cannot view and fields it is prohibited from are never
//!   named.

mod items;
mod schemas;

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jamrs_core::session::Caller;
use jamrs_core::{Kind, Task};
use jamrs_store::{auth, store};
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{Reply, Route, Session};
use crate::session::{self, COOKIE, SessionToken};

pub async fn get(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    if token.is_none() && task.settings.safe_mode {
        return Ok(json_reply(GENERIC.clone()));
    }
    let now = session::now();
    let job_token = token.clone();
    let who = store::read(&*state.store, move |conn| {
        auth::authenticate(conn, &task, job_token.as_deref(), now)
    })
    .await;
    match who {
        Ok(who) => {
            if let (true, Some(token)) = (who.needs_touch, token) {
                session::touch_later(&*state.store, token, now);
            }
            let body = serde_json::to_vec(&document_for(&state.task, &who.caller))
                .map_err(|e| jamrs_core::Error::internal(format!("cannot encode: {e}")))?;
            Ok(json_reply(body))
        }
        // An ended session sees what no session sees: the document never needs one.
        Err(e) if e.kind == Kind::Unauthorized => Ok(json_reply(GENERIC.clone())),
        Err(e) => Err(e.into()),
    }
}

fn json_reply(body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            // Per session: not for shared caches.
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        body,
    )
        .into_response()
}

static GENERIC: LazyLock<Vec<u8>> =
    LazyLock::new(|| serde_json::to_vec(&document()).unwrap_or_default());

/// The generic document: every route of the table with templated paths, as a safe-mode server
/// answers them; no project data.
pub fn document() -> Json {
    let mut paths = Map::new();
    for route in crate::ROUTES {
        let op = operation(route, &Doc::Generic, route.operation_id.to_string());
        add(&mut paths, route.openapi_path(), route, op);
    }
    wrap(
        paths,
        schemas::common(),
        "The generic document: item paths are templated. Log in and fetch it again for the paths and schemas of each item your role may see.",
    )
}

/// The document of `task` for `caller`'s role: per-item paths and schemas for what the role
/// may view.
pub fn document_for(task: &Task, caller: &Caller) -> Json {
    let access = caller.access(task);
    let doc = Doc::Project { task };
    let mut paths = Map::new();
    for route in crate::ROUTES {
        let params = route.path_params();
        if params.contains(&"item") {
            for item in items::visible(task, access) {
                // A detail's rows change only through its master's apply: its own answers 400.
                if route.operation_id == "apply" && item.is_detail() {
                    continue;
                }
                // Only items with keep_history have a history; the others' answers 400.
                if route.operation_id == "history" && !item.keep_history {
                    continue;
                }
                let base = route.path.replace("{item}", item.name.as_str());
                if params.contains(&"field") {
                    // A path per file or image field the role may see.
                    for f in items::file_fields(item, access) {
                        let path = base.replace("{field}", f.name.as_str());
                        let id = format!("{}:{}.{}", route.operation_id, item.name, f.name);
                        let op = operation(route, &doc.with_item(item), id);
                        add(&mut paths, path, route, op);
                    }
                } else if params.contains(&"function") {
                    for f in &item.callable {
                        let path = base.replace("{function}", f.as_str());
                        let id = format!("{}:{}.{}", route.operation_id, item.name, f);
                        let op = operation(route, &doc.with_item(item), id);
                        add(&mut paths, path, route, op);
                    }
                } else {
                    let id = format!("{}:{}", route.operation_id, item.name);
                    let op = operation(route, &doc.with_item(item), id);
                    add(&mut paths, base, route, op);
                }
            }
        } else if params.contains(&"report") {
            // Only the reports the role may print are named.
            for report in task.reports.iter().filter(|r| access.can_print(r.id)) {
                let path = route.path.replace("{report}", report.name.as_str());
                let id = format!("{}:{}", route.operation_id, report.name);
                let mut op = operation(route, &doc, id);
                op["description"] = json!(format!("{}: {}", report.name, report.caption));
                add(&mut paths, path, route, op);
            }
        } else if route.operation_id == "ext" {
            for p in &task.settings.ext_paths {
                let path = format!("/ext{p}");
                let op = operation(route, &doc, format!("ext:{p}"));
                add(&mut paths, path, route, op);
            }
        } else {
            let op = operation(route, &doc, route.operation_id.to_string());
            add(&mut paths, route.openapi_path(), route, op);
        }
    }
    let mut components = schemas::common();
    for item in items::visible(task, access) {
        items::schemas(task, item, access, &mut components);
    }
    let whom = match caller.role {
        Some(r) => format!("role \"{}\"", task.roles[r].name),
        None if caller.user.is_some() => "a session without role restrictions".to_string(),
        None => "callers without a session".to_string(),
    };
    let mut out = wrap(
        paths,
        components,
        &format!(
            "The document of project \"{}\" for {whom}: the items it may view, with their fields.",
            task.name
        ),
    );
    out["info"]["title"] = json!(format!("{} (jamrs API)", task.caption));
    out
}

/// Which document is being built.
#[derive(Clone, Copy)]
enum Doc<'a> {
    Generic,
    Project {
        task: &'a Task,
    },
    Item {
        task: &'a Task,
        item: &'a jamrs_core::model::Item,
    },
}

impl<'a> Doc<'a> {
    fn with_item(&self, item: &'a jamrs_core::model::Item) -> Doc<'a> {
        match *self {
            Doc::Project { task } | Doc::Item { task, .. } => Doc::Item { task, item },
            Doc::Generic => Doc::Generic,
        }
    }

    fn safe_mode(&self) -> bool {
        match self {
            Doc::Generic => true,
            Doc::Project { task } | Doc::Item { task, .. } => task.settings.safe_mode,
        }
    }

    /// The schema `name`, for the item of a per-item operation.
    fn schema(&self, name: &str) -> Json {
        match self {
            Doc::Item { item, .. }
                if ["OpenParams", "OpenReply", "ApplyParams", "ApplyReply"].contains(&name) =>
            {
                schemas::schema_ref(&items::name(item, name))
            }
            _ => schemas::schema_ref(name),
        }
    }
}

fn add(paths: &mut Map<String, Json>, path: String, route: &Route, op: Json) {
    let entry = paths.entry(path).or_insert_with(|| json!({}));
    entry[route.method.openapi()] = op;
}

fn wrap(paths: Map<String, Json>, schemas: Map<String, Json>, description: &str) -> Json {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "jamrs API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("JSON API of a jamrs application. Names follow Jam.py: open params are Jam.py's `__` params without the underscores; filter types are Jam.py's FILTER_* numbers (1–30) or names. Every failure is a status with {{\"error\": {{\"code\", \"message\", \"fields\"?}}}}. {description}"),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses(),
            "securitySchemes": {"session": {
                "type": "apiKey",
                "in": "cookie",
                "name": COOKIE,
                "description": "The session cookie POST /api/login sets (HttpOnly): a random token. With safe mode (the default) every operation but login, logout, /ext and this document needs it.",
            }},
        },
        "tags": [
            {"name": "session", "description": "Log in and out"},
            {"name": "metadata", "description": "What the session may see"},
            {"name": "items", "description": "Rows: open, apply, server functions"},
            {"name": "modules", "description": "Endpoints the task module answers"},
            {"name": "reports", "description": "Reports and the jobs that make reports and exports"},
            {"name": "web UI", "description": "The web UI's page and files (not JSON)"},
        ],
    })
}

/// What each failure status means, under `components/responses/<status>`.
fn error_responses() -> Json {
    let mut out = Map::new();
    for (code, what) in [
        (
            400,
            "Malformed request: not JSON, wrong shape, unknown field or filter type, limit over the maximum; or a server module refused it (code module_error)",
        ),
        (401, "No live session (log in first)"),
        (
            403,
            "The role may not do this, or may not use a field named",
        ),
        (404, "No such item, record, master row, function or path"),
        (
            409,
            "The change collides with stored data (a unique index); or the job has no file (yet)",
        ),
        (413, "The body is larger than the server accepts"),
        (415, "The body is not Content-Type: application/json"),
        (422, "Values failed validation; `fields` names each one"),
        (
            429,
            "Too many failed logins for this login or address (Retry-After says when to try again); or too many reports and exports at once",
        ),
        (500, "Internal error (details only in the server log)"),
    ] {
        let mut r = json!({
            "description": what,
            "content": {"application/json": {"schema": schemas::schema_ref("Error")}},
        });
        if code == 429 {
            r["headers"] = json!({"Retry-After": {"required": true, "description": "Seconds to wait", "schema": {"type": "integer"}}});
        }
        out.insert(code.to_string(), r);
    }
    Json::Object(out)
}

fn operation(route: &Route, doc: &Doc, operation_id: String) -> Json {
    let mut op = json!({
        "operationId": operation_id,
        "summary": route.summary,
        "tags": [route.tag],
    });
    let mut responses = Map::new();
    for code in route.errors {
        // Without safe mode no request needs a session, and none is refused for lacking one.
        if *code == 401 && route.session == Session::Required && !doc.safe_mode() {
            continue;
        }
        responses.insert(
            code.to_string(),
            json!({"$ref": format!("#/components/responses/{code}")}),
        );
    }
    match route.reply {
        Reply::Json(schema) => {
            let mut ok = json!({"description": "OK", "content": {"application/json": {"schema": doc.schema(schema)}}});
            if route.operation_id == "login" {
                ok["headers"] = json!({"Set-Cookie": {"required": true, "description": "jamrs_session=<token>; Path=/; HttpOnly; SameSite=Lax (Secure when configured)", "schema": {"type": "string"}}});
            }
            responses.insert("200".into(), ok);
        }
        Reply::Accepted(schema) => {
            responses.insert(
                "202".into(),
                json!({"description": "Queued: follow the job at GET /api/jobs/{id}, download its file at GET /api/jobs/{id}/file", "content": {"application/json": {"schema": doc.schema(schema)}}}),
            );
        }
        Reply::JobFile => {
            let content: Map<String, Json> = jamrs_reports::Format::ALL
                .iter()
                .map(|f| f.content_type())
                .chain(
                    jamrs_reports::export::ExportFormat::ALL
                        .iter()
                        .map(|f| f.content_type()),
                )
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|t| {
                    (
                        t.to_string(),
                        json!({"schema": {"type": "string", "format": "binary"}}),
                    )
                })
                .collect();
            let mut ok = json!({"description": "The file (Content-Disposition: attachment, with its name)", "content": content});
            ok["headers"] = json!({"Content-Disposition": {"required": true, "description": "attachment; filename=\"<name>.<ext>\"", "schema": {"type": "string"}}});
            responses.insert("200".into(), ok);
        }
        Reply::NoContent => {
            let mut done = json!({"description": "Done"});
            if route.operation_id == "logout" {
                done["description"] =
                    json!("The session is revoked on the server; the cookie is cleared");
                done["headers"] = json!({"Set-Cookie": {"required": true, "description": "Clears jamrs_session", "schema": {"type": "string"}}});
            }
            responses.insert("204".into(), done);
        }
        Reply::Page => {
            responses.insert(
                "200".into(),
                json!({"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}),
            );
            responses.insert(
                "304".into(),
                json!({"description": "The browser has this very page (If-None-Match)"}),
            );
            op["parameters"] = json!([{"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"}, "description": "The page's ETag from an earlier answer"}]);
        }
        Reply::Script => {
            responses.insert(
                "200".into(),
                json!({"description": "The module", "content": {"text/javascript": {"schema": {"type": "string"}}}}),
            );
            responses.insert(
                "304".into(),
                json!({"description": "The browser has this very module (If-None-Match)"}),
            );
        }
        Reply::File => {
            responses.insert(
                "200".into(),
                json!({"description": "The file: images a browser shows inline, anything else as a download", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}),
            );
            responses.insert(
                "304".into(),
                json!({"description": "The browser has this very file (If-None-Match)"}),
            );
        }
        Reply::Asset => {
            let content: Map<String, Json> = crate::ui::asset_types()
                .into_iter()
                .map(|t| (t.to_string(), json!({"schema": {"type": "string"}})))
                .collect();
            responses.insert(
                "200".into(),
                json!({"description": "The file", "content": content}),
            );
        }
    }
    op["responses"] = Json::Object(responses);
    op["security"] = match route.session {
        Session::Unused => json!([]),
        Session::Required if doc.safe_mode() => json!([{"session": []}]),
        Session::Required | Session::Optional => json!([{}, {"session": []}]),
    };
    if let Some(body) = route.body {
        let optional = route.operation_id == "ext";
        let media = if route.operation_id == "upload" {
            "multipart/form-data"
        } else {
            "application/json"
        };
        op["requestBody"] = json!({
            "required": !optional,
            "content": {media: {"schema": doc.schema(body)}},
        });
    }
    let templated: Vec<Json> = route
        .path_params()
        .into_iter()
        // A project's document names items, functions and ext paths in its paths.
        .filter(|p| {
            matches!(doc, Doc::Generic)
                || !(matches!(*p, "item" | "function" | "field" | "report")
                    || route.operation_id == "ext")
        })
        .map(|p| path_param(route, p))
        .collect();
    if !templated.is_empty() {
        op["parameters"] = Json::Array(templated);
    }
    if let Doc::Item { item, .. } = doc {
        op["description"] = json!(format!("{}: {}", item.name, item.caption));
    }
    op
}

fn path_param(route: &Route, name: &str) -> Json {
    let description = match (route.operation_id, name) {
        (_, "item") => "The item's name",
        (_, "function") => "A function the item lists in `callable`",
        (_, "field") => "A file or image field of the item",
        ("download", "name") => "The upload's name: the part of the field's value before `?`",
        (_, "report") => "The report's name",
        (_, "job") => "The job's id, as printing or exporting answered it",
        ("ext", "path") => "A path listed in the project's `ext_paths`, without its leading /",
        (_, "hash") => "The UI's version, as the page's links carry it",
        (_, "path") => "The file's name",
        (_, "module") => "`task.js`, or `<item>.js` of an item the role may view",
        _ => "",
    };
    let mut p = json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "description": description});
    if name == "hash" {
        p["example"] = json!(crate::ui::hash());
    }
    p
}
