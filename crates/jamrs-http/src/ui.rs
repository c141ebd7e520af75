//! The web UI: the files under `ui/` at the repository root, embedded in the binary.
//!
//! `/` answers `index.html` with the task's caption (escaped) and the asset prefix filled in.
//! The other files are served at `/ui/<hash>/<file>`, where `<hash>` is a digest of every
//! embedded file: any change to the UI changes every asset URL, so browsers may cache assets
//! forever (`immutable`) while the page itself is revalidated on each load (`no-cache` with an
//! ETag). Responses are gzip-compressed when the browser accepts it.
//!
//! Only the entries of [`FILES`] are served: a request selects an entry of this table by its
//! exact name and never reaches the file system, so no path can lead outside it.

use std::sync::LazyLock;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::compression::CompressionLayer;

use crate::AppState;

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../ui/", $path)))),*]
    };
}

/// `(path under ui/, contents)` of every file of the UI.
const FILES: &[(&str, &[u8])] = files!(
    "index.html",
    "style.css",
    "icon.svg",
    "app.js",
    "api.js",
    "meta.js",
    "format.js",
    "dom.js",
    "icons.js",
    "dialog.js",
    "login.js",
    "grid.js",
    "view.js",
    "filters.js",
    "form.js",
    "inputs.js",
    "lookup.js",
    "details.js",
    "client.js",
    "history.js",
    "lock.js",
    "files.js",
    "reports.css",
    "jobs.js",
    "reports.js",
    "export.js",
);

/// The page's template; the other files are assets.
const INDEX: &str = "index.html";

/// The UI's responses are gzip-compressed for browsers that accept it. (Its routes, the page
/// at `/` and the assets under `/ui/<hash>/`, are in the route table, `crate::ROUTES`.)
pub(crate) fn compression() -> CompressionLayer {
    CompressionLayer::new().gzip(true)
}

/// The content types of the UI's assets (what `/ui/<hash>/<file>` may answer).
pub fn asset_types() -> Vec<&'static str> {
    let mut types: Vec<&str> = FILES
        .iter()
        .filter(|(p, _)| *p != INDEX)
        .map(|(p, _)| content_type(p))
        .collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// A digest of every embedded file, as 16 hex digits: the assets' URL prefix.
pub fn hash() -> &'static str {
    static HASH: LazyLock<String> = LazyLock::new(|| {
        let mut h = Fnv::default();
        for (path, bytes) in FILES {
            h.write(path.as_bytes());
            h.write(&[0]);
            h.write(bytes);
            h.write(&[0]);
        }
        format!("{:016x}", h.0)
    });
    &HASH
}

pub(crate) async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page(&state.task.caption, &headers)
}

/// A path that cannot be decoded names no file: 404 like any other.
pub(crate) async fn asset(path: Result<Path<(String, String)>, PathRejection>) -> Response {
    match path {
        Ok(Path((hash, path))) => file_response(&hash, &path),
        Err(_) => file_response("", ""),
    }
}

/// A 64-bit digest of `bytes` (FNV-1a), for ETags.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.write(bytes);
    h.0
}

/// `index.html` for a task captioned `caption`, or 304 when the browser has this very page.
fn page(caption: &str, request: &HeaderMap) -> Response {
    let html = render_index(caption);
    let mut digest = Fnv::default();
    digest.write(html.as_bytes());
    let etag = format!("\"{:016x}\"", digest.0);
    let cache = [
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (header::ETAG, etag.clone()),
    ];
    if if_none_match(request, &etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// Fills the page template: `{{caption}}` (HTML-escaped) and `{{base}}` (the asset prefix).
fn render_index(caption: &str) -> String {
    let template = FILES
        .iter()
        .find(|(p, _)| *p == INDEX)
        .map(|(_, b)| String::from_utf8_lossy(b))
        .unwrap_or_default();
    template
        .replace("{{base}}", &format!("/ui/{}", hash()))
        .replace("{{caption}}", &escape_html(caption))
}

/// Whether `If-None-Match` names `etag` (or is `*`).
pub(crate) fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// An asset, cached for a year: its URL changes whenever its contents (or any other file) do.
/// Another hash, the page's template and names outside the table are 404 in the API's shape.
fn file_response(hash_part: &str, path: &str) -> Response {
    let found = FILES
        .iter()
        .find(|(p, _)| *p == path && *p != INDEX)
        .filter(|_| hash_part == hash());
    let Some((path, bytes)) = found else {
        let mut r = crate::error::ApiError::from(jamrs_core::Error::not_found("no such file"))
            .into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    };
    (
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        *bytes,
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 64-bit FNV-1a: small, stable across Rust versions and builds (std's hasher is neither
/// promised to be), and enough to tell versions of the UI apart.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ui_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui")
    }

    /// Every file of `ui/` is embedded, and nothing else.
    #[test]
    fn the_table_is_the_ui_folder() {
        let root = ui_dir();
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    on_disk.push(
                        p.strip_prefix(&root)
                            .unwrap()
                            .to_string_lossy()
                            .replace('\\', "/"),
                    );
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "ui/ and the embedded table differ");
        for (path, _) in FILES {
            assert_ne!(
                content_type(path),
                "application/octet-stream",
                "{path} has no content type"
            );
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn the_page_escapes_the_caption_and_points_at_hashed_assets() {
        let html = render_index("<b>Shop</b> & \"Co\"");
        assert!(
            html.contains("<title>&lt;b&gt;Shop&lt;/b&gt; &amp; &quot;Co&quot;</title>"),
            "{html}"
        );
        assert!(html.contains(&format!("/ui/{}/app.js", hash())), "{html}");
        assert!(!html.contains("{{"), "a placeholder is left: {html}");
        assert!(
            !html.contains("style=") && !html.contains("<script>"),
            "inline code would break the CSP: {html}"
        );
    }

    #[test]
    fn the_page_is_revalidated_by_etag() {
        let r = page("Shop", &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = r.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, etag.clone());
        let r = page("Shop", &h);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[header::ETAG], etag);
        // Another caption is another page.
        assert_eq!(page("Shop 2", &h).status(), StatusCode::OK);
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("W/\"0\", *"),
        );
        assert_eq!(page("Shop", &h).status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn assets_are_immutable_under_the_current_hash_only() {
        let r = file_response(hash(), "app.js");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        for (h, path) in [
            ("0000000000000000", "app.js"),
            (hash(), "index.html"),
            (hash(), "nope.js"),
            (hash(), "../Cargo.toml"),
            (hash(), "../../crates/jamrs-http/src/ui.rs"),
            (hash(), "/etc/passwd"),
            (hash(), "./app.js"),
            (hash(), "APP.JS"),
            (hash(), ""),
        ] {
            let r = file_response(h, path);
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{h}/{path}");
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        }
    }

    #[test]
    fn the_hash_is_stable_hex() {
        assert_eq!(hash().len(), 16);
        assert!(hash().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hash(), hash());
    }
}
