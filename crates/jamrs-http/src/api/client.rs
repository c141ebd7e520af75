//! `GET /api/client/{module}`: a client module (`client/task.js`, `client/<item>.js`) as the web
//! UI imports it: an ES module from this origin (so the page's CSP, `default-src 'self'`, lets it
//! run, and no string is ever `eval`ed).
//!
//! Jam.py's client modules are scripts of top-level functions (`function on_field_changed(field)
//! {…}`) that Jam.py binds to their item. The author's text is served inside one function, so
//! each module keeps its own scope, and that function returns the module's top-level functions:
//!
//! ```js
//! export default function (task) {<the author's text, its lines unmoved>
//! ;return {"on_field_changed": typeof on_field_changed === "function" ? on_field_changed : undefined};}
//! ```
//!
//! A top-level function is one whose `function` keyword starts a line (as Jam.py's editor writes
//! them); `typeof` makes a name that is not one harmless. The module of an item is served only to
//! a session whose role may view the item: client code is convenience, the server enforces
//! everything it could bypass.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jamrs_core::project::{TASK_CLIENT_MODULE, read_client_module};
use jamrs_core::{Error, Task};
use jamrs_store::{auth, store};

use crate::AppState;
use crate::error::{ApiError, PathParams};
use crate::session::{self, SessionToken};

pub async fn get(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(module): PathParams<String>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    let now = session::now();
    let job_token = token.clone();
    let who = store::read(&*state.store, move |conn| {
        auth::authenticate(conn, &task, job_token.as_deref(), now)
    })
    .await?;
    if let (true, Some(token)) = (who.needs_touch, token) {
        session::touch_later(&*state.store, token, now);
    }
    let task = &state.task;
    let name = module
        .strip_suffix(".js")
        .ok_or_else(|| not_found(&module))?;
    if name != TASK_CLIENT_MODULE {
        let item = task.item_by_name(name).ok_or_else(|| not_found(&module))?;
        if !who.caller.access(task).privileges(item.id).view {
            return Err(
                Error::forbidden(format!("your role may not view \"{}\"", item.name)).into(),
            );
        }
    }
    let text = read(task, name).await?.ok_or_else(|| not_found(&module))?;
    let body = wrap(&text);
    let etag = format!("\"{:016x}\"", crate::ui::digest(body.as_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    // Per session (a role decides who gets it), and checked again at every page load.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if crate::ui::if_none_match(&request, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    Ok((headers, body).into_response())
}

fn not_found(module: &str) -> ApiError {
    Error::not_found(format!("there is no client module \"{module}\"")).into()
}

/// The module's text, read off the async runtime.
async fn read(task: &std::sync::Arc<Task>, name: &str) -> Result<Option<String>, ApiError> {
    let task = task.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || read_client_module(&task, &name))
        .await
        .map_err(|e| Error::internal(format!("reading a client module: {e}")))?
        .map_err(|e| Error::internal(format!("reading a client module: {e}")).into())
}

/// The author's text as an ES module whose default export binds it (see the module's docs).
pub fn wrap(text: &str) -> String {
    let names = top_level_functions(text);
    let mut out = String::with_capacity(text.len() + 64 + names.len() * 64);
    out.push_str("export default function (task) {");
    out.push_str(text);
    out.push_str("\n;return {");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!(
            "\"{name}\": typeof {name} === \"function\" ? {name} : undefined"
        ));
    }
    out.push_str("};}\n");
    out
}

/// Names of the functions declared where a line starts (`function f(`, `async function f(`),
/// each once, in order.
pub fn top_level_functions(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let rest = line.strip_prefix("async ").map_or(line, str::trim_start);
        let Some(rest) = rest.strip_prefix("function") else {
            continue;
        };
        let rest = rest.trim_start_matches([' ', '\t', '*']);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        let starts_well = name.chars().next().is_some_and(|c| !c.is_ascii_digit());
        if starts_well && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_functions_are_those_that_start_a_line() {
        let text = "function on_field_changed(field) {\n  function inner() {}\n}\nasync function load(){}\n// function commented() {}\nfunction  $x (){}\nfunction on_field_changed() {}\nfunction 9bad() {}\nvar f = function () {};\n";
        assert_eq!(
            top_level_functions(text),
            ["on_field_changed", "load", "$x"]
        );
    }

    #[test]
    fn the_wrapper_keeps_the_authors_line_numbers() {
        let text = "function on_page_loaded(task) {\n  throw new Error('x');\n}";
        let out = wrap(text);
        let line_of = |s: &str, needle: &str| s.lines().position(|l| l.contains(needle)).unwrap();
        assert_eq!(line_of(&out, "throw"), line_of(text, "throw"));
        assert!(out.starts_with("export default function (task) {function on_page_loaded"));
        assert!(out.ends_with(
            "\n;return {\"on_page_loaded\": typeof on_page_loaded === \"function\" ? on_page_loaded : undefined};}\n"
        ));
    }
}
