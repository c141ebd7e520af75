//! jamrs-http: the JSON API over HTTP, and the web UI's embedded files.
//!
//! The only crate that knows status codes, headers and wire shapes. Handlers check the
//! request, hand the work to the engine on a database thread (`jamrs_store::store::{read,
//! write}`) and write the answer; they contain no SQL and no metadata rules.
//!
//! Must not know: SQL, a database driver, Python, the project's files.

pub mod api;
pub mod error;
pub mod files;
mod front;
pub mod jobs;
pub mod routes;
pub mod session;
pub mod ui;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::{get, post};
use jamrs_core::Task;
use jamrs_store::{Events, Hooks, Store};
use routes::Method::{Get, Post};
use routes::{Reply, Route, Session};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The services every handler uses.
pub struct Services {
    pub task: Arc<Task>,
    pub store: Arc<dyn Store>,
    pub hooks: Arc<dyn Hooks>,
    /// Server-module events outside open and apply (login, logout, `/ext`, server functions).
    pub events: Arc<dyn Events>,
}

/// The router's state: the [`Services`] behind one `Arc`, since axum clones the state for
/// every request (one reference count to change instead of four), and the server's reports
/// and exports ([`jobs::Jobs`]).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    services: Services,
    jobs: jobs::Jobs,
}

impl AppState {
    pub fn new(services: Services) -> AppState {
        let jobs = jobs::Jobs::new(services.task.settings.reports.clone());
        AppState(Arc::new(Shared { services, jobs }))
    }

    /// The reports and exports running and finished.
    pub fn jobs(&self) -> &jobs::Jobs {
        &self.0.jobs
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0.services
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route of the server, on one screen. The router serves exactly these
/// ([`routes::router`]) and `/api/openapi.json` documents exactly these (`api::openapi`), each
/// with the failure statuses listed here.
pub const ROUTES: &[Route] = &[
    Route {
        method: Post,
        path: "/api/login",
        operation_id: "login",
        summary: "Log in: a session cookie and the user's info",
        tag: "session",
        session: Session::Unused,
        body: Some("LoginRequest"),
        reply: Reply::Json("LoginReply"),
        errors: &[400, 401, 413, 415, 429, 500],
        serve: || post(api::login::login),
    },
    Route {
        method: Post,
        path: "/api/logout",
        operation_id: "logout",
        summary: "End the session (the cookie stops working everywhere)",
        tag: "session",
        session: Session::Optional,
        body: None,
        reply: Reply::NoContent,
        errors: &[500],
        serve: || post(api::login::logout),
    },
    Route {
        method: Get,
        path: "/api/task",
        operation_id: "task",
        summary: "The metadata this session may see",
        tag: "metadata",
        session: Session::Required,
        body: None,
        reply: Reply::Json("Task"),
        errors: &[401, 500],
        serve: || get(api::task::get),
    },
    Route {
        method: Get,
        path: "/api/openapi.json",
        operation_id: "openapi",
        summary: "This document: for a session, with the paths and schemas of each item its role may see",
        tag: "metadata",
        session: Session::Optional,
        body: None,
        reply: Reply::Json("OpenApi"),
        errors: &[500],
        serve: || get(api::openapi::get),
    },
    Route {
        method: Post,
        path: "/api/items/{item}/open",
        operation_id: "open",
        summary: "Rows of an item (Jam.py open)",
        tag: "items",
        session: Session::Required,
        body: Some("OpenParams"),
        reply: Reply::Json("OpenReply"),
        errors: &[400, 401, 403, 404, 413, 415, 500],
        serve: || post(api::open::post),
    },
    Route {
        method: Post,
        path: "/api/items/{item}/apply",
        operation_id: "apply",
        summary: "Save changes in one transaction (Jam.py apply)",
        tag: "items",
        session: Session::Required,
        body: Some("ApplyParams"),
        reply: Reply::Json("ApplyReply"),
        errors: &[400, 401, 403, 404, 409, 413, 415, 422, 500],
        serve: || post(api::apply::post),
    },
    Route {
        method: Post,
        path: "/api/items/{item}/call/{function}",
        operation_id: "call",
        summary: "Run a server function the item lists in `callable`",
        tag: "items",
        session: Session::Required,
        body: Some("CallRequest"),
        reply: Reply::Json("CallReply"),
        errors: &[400, 401, 403, 404, 413, 415, 500],
        serve: || post(api::call::post),
    },
    Route {
        method: Get,
        path: "/api/client/{module}",
        operation_id: "client_module",
        summary: "A client module (client/task.js, client/<item>.js) as an ES module, for a role that may view its item",
        tag: "web UI",
        session: Session::Required,
        body: None,
        reply: Reply::Script,
        errors: &[401, 403, 404, 500],
        serve: || get(api::client::get),
    },
    Route {
        method: Post,
        path: "/api/items/{item}/upload/{field}",
        operation_id: "upload",
        summary: "Upload a file for a file or image field (multipart, the part `file`); an apply then puts the answer's value in a record",
        tag: "files",
        session: Session::Required,
        body: Some("UploadRequest"),
        reply: Reply::Json("UploadReply"),
        errors: &[400, 401, 403, 404, 413, 415, 500],
        // The field's max_size is the limit, enforced while the file streams in.
        serve: || post(api::upload::post).layer(DefaultBodyLimit::disable()),
    },
    Route {
        method: Get,
        path: "/api/items/{item}/files/{field}/{name}",
        operation_id: "download",
        summary: "The content of an upload, through a record the session can open (or, unsaved, to its uploader)",
        tag: "files",
        session: Session::Required,
        body: None,
        reply: Reply::File,
        errors: &[401, 404, 500],
        serve: || get(api::download::get),
    },
    Route {
        method: Post,
        path: "/api/items/{item}/history",
        operation_id: "history",
        summary: "The history of a record, or of an item with keep_history (newest first)",
        tag: "items",
        session: Session::Required,
        body: Some("HistoryRequest"),
        reply: Reply::Json("HistoryReply"),
        errors: &[400, 401, 403, 404, 413, 415, 500],
        serve: || post(api::history::post),
    },
    Route {
        method: Post,
        path: "/api/items/{item}/export",
        operation_id: "export",
        summary: "Export the rows an open finds (every page) to CSV or XLSX: a job that makes the file",
        tag: "items",
        session: Session::Required,
        body: Some("ExportRequest"),
        reply: Reply::Accepted("Job"),
        errors: &[400, 401, 403, 404, 413, 415, 429, 500],
        serve: || post(api::export::post),
    },
    Route {
        method: Post,
        path: "/api/reports/{report}/print",
        operation_id: "print",
        summary: "Print a report (Jam.py print): a job that makes the file",
        tag: "reports",
        session: Session::Required,
        body: Some("PrintRequest"),
        reply: Reply::Accepted("Job"),
        errors: &[400, 401, 403, 404, 413, 415, 422, 429, 500],
        serve: || post(api::reports::print),
    },
    Route {
        method: Get,
        path: "/api/jobs/{job}",
        operation_id: "job",
        summary: "A report's or export's progress",
        tag: "reports",
        session: Session::Required,
        body: None,
        reply: Reply::Json("Job"),
        errors: &[401, 404, 500],
        serve: || get(api::jobs::get),
    },
    Route {
        method: Get,
        path: "/api/jobs/{job}/file",
        operation_id: "job_file",
        summary: "The file a finished report or export made",
        tag: "reports",
        session: Session::Required,
        body: None,
        reply: Reply::JobFile,
        errors: &[401, 404, 409, 500],
        serve: || get(api::jobs::file),
    },
    Route {
        method: Post,
        path: "/api/jobs/{job}/cancel",
        operation_id: "cancel_job",
        summary: "Stop a report or export",
        tag: "reports",
        session: Session::Required,
        body: None,
        reply: Reply::Json("Job"),
        errors: &[401, 404, 500],
        serve: || post(api::jobs::cancel),
    },
    Route {
        method: Post,
        path: "/ext/{*path}",
        operation_id: "ext",
        summary: "The task module's on_ext_request, on the paths listed in `ext_paths` (no session)",
        tag: "modules",
        session: Session::Unused,
        body: Some("ExtRequest"),
        reply: Reply::Json("CallReply"),
        errors: &[400, 404, 413, 415, 500],
        serve: || post(api::ext::post),
    },
    Route {
        method: Get,
        path: "/",
        operation_id: "ui_page",
        summary: "The web UI's page",
        tag: "web UI",
        session: Session::Unused,
        body: None,
        reply: Reply::Page,
        errors: &[],
        serve: || get(ui::index).layer(ui::compression()),
    },
    Route {
        method: Get,
        path: "/ui/{hash}/{*path}",
        operation_id: "ui_asset",
        summary: "A file of the web UI (cached for a year: its URL changes with the UI)",
        tag: "web UI",
        session: Session::Unused,
        body: None,
        reply: Reply::Asset,
        errors: &[404],
        serve: || get(ui::asset).layer(ui::compression()),
    },
];

/// The server: every route of [`ROUTES`], the error contract's fallbacks and the middleware.
///
/// The middleware wraps the routed app once, from outside, rather than through
/// `Router::layer`, which wraps every route's handler in each layer, each as a boxed service
/// that is cloned for every request: with this stack that was 50-odd allocations and about a
/// tenth of the instructions of a small open (bench/README.md, "Instructions per request").
pub fn router(state: AppState) -> Router {
    let max_body = state.task.settings.server.max_body_bytes;
    let app = routes::router(ROUTES)
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::no_method)
        .with_state(state);
    let middleware = tower::ServiceBuilder::new()
        .layer(front::FrontLayer::new(RequestIds::default()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                })
                // One line per request only at debug level (RUST_LOG=tower_http=debug): at info it
                // cost about a sixth of the throughput of a small open. Failures (5xx) are
                // logged at error by the layer, inside the request's span with its id.
                .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
        )
        .layer(DefaultBodyLimit::max(max_body));
    Router::new().fallback_service(middleware.service(app))
}

/// A client's `X-Request-Id` is echoed and logged, so only a short token of safe characters is
/// kept (at most 64 of `A-Z a-z 0-9 - _ . :`); anything else, or several of them, is dropped and
/// the server makes its own id.
fn safe_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

/// Request ids: a random prefix per process and a counter (`3f9a1c0e-17`). Unique across the
/// processes sharing a database, without a trip to the kernel's random source per request.
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        let mut bytes = [0u8; 4];
        if getrandom::fill(&mut bytes).is_err() {
            // Fall back to the time: ids are for logs, not for security.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            bytes = t.to_le_bytes();
        }
        RequestIds {
            prefix: jamrs_store::auth::hex(&bytes).into(),
            next: Arc::default(),
        }
    }
}

impl RequestIds {
    fn next(&self) -> Option<HeaderValue> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // `{prefix}-{n}`, without `format!` (one per request).
        let mut digits = [0u8; 20];
        let (mut rest, mut start) = (n, digits.len());
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let mut id = Vec::with_capacity(self.prefix.len() + 1 + digits.len() - start);
        id.extend_from_slice(self.prefix.as_bytes());
        id.push(b'-');
        id.extend_from_slice(&digits[start..]);
        HeaderValue::from_bytes(&id).ok()
    }
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Uploads no record took, and folder files whose record is gone, are swept while it runs.
    let sweeper = files::spawn_sweeper(state.clone());
    let app = router(state);
    // The peer address feeds login throttling (see `session::ClientAddress`).
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    served
}

/// How long the server waits for requests in flight when asked to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
