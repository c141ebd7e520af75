//! `GET /api/items/{item}/files/{field}/{name}`: the content of an upload, streamed.
//!
//! A file is reachable only through a record the caller can open, whose field (one the role is
//! not prohibited from) names it; or, before any record names it, by the user who uploaded it
//! (in the same tenant). Everything else, another tenant's file with its exact name included,
//! is the same 404. Images a browser shows are served inline; everything else as a download,
//! with the type told by the content at upload, `nosniff`, and a sandboxing CSP.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jamrs_core::files::{IMAGE_EXTS, stored_name};
use jamrs_core::session::Tenant;
use jamrs_core::{Error, FieldType};
use jamrs_store::files::{self as stored, tenant_text};
use jamrs_store::{Engine, auth, store};
use tokio_util::io::ReaderStream;

use crate::AppState;
use crate::error::{ApiError, PathParams};
use crate::session::{self, SessionToken};

/// The MIME type content sniffing gives an image of extension `ext`.
fn image_mime(ext: &str) -> &'static str {
    match ext {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "ico" => "image/vnd.microsoft.icon",
        "avif" => "image/avif",
        _ => "",
    }
}

/// `attachment; filename*=UTF-8''…` (RFC 6266 / 5987), with a plain ASCII fallback.
fn disposition(inline: bool, original: &str) -> String {
    let mut encoded = String::new();
    for b in original.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let ascii: String = original
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn get(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams((item, field, name)): PathParams<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let now = session::now();
    let file = store::read(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, token.as_deref(), now)?;
        let item = session::item(&task, &item)?;
        let missing = || Error::not_found("there is no such file");
        let f = item
            .field_by_name(&field)
            .filter(|f| matches!(f.field_type, FieldType::File | FieldType::Image))
            .ok_or_else(missing)?;
        let access = who.caller.access(&task);
        if access.is_prohibited(item.id, f.id) || stored_name(&name) != Some(name.as_str()) {
            return Err(missing());
        }
        let Some(file) = stored::find(conn, &name)? else {
            return Err(missing());
        };
        if file.item != item.name.as_str() || file.field != f.name.as_str() {
            return Err(missing());
        }
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        match file.record_id {
            Some(id) => {
                let Some(row) = engine.can_open_record(conn, item, id)? else {
                    return Err(missing());
                };
                let holds = match &row[f.id.0 as usize] {
                    jamrs_core::Value::Text(v) => stored_name(v) == Some(name.as_str()),
                    _ => false,
                };
                if !holds {
                    return Err(missing());
                }
            }
            None => {
                // Not saved in a record yet: only for the user who uploaded it.
                let same_user = match (&who.caller.user, file.user_id) {
                    (Some(u), Some(by)) => u.user_id == by,
                    (None, None) => true,
                    _ => false,
                };
                let same_tenant = match engine.tenant() {
                    Tenant::Only(t) => file.tenant.as_deref() == Some(tenant_text(t).as_str()),
                    Tenant::Nobody => item.tenant_field.is_none(),
                    Tenant::All => true,
                };
                if !same_user
                    || !same_tenant
                    || !access.privileges(item.id).view && !access.privileges(item.id).create
                {
                    return Err(missing());
                }
            }
        }
        Ok(file)
    })
    .await?;

    let etag = format!("\"{}\"", file.name);
    let mut out = HeaderMap::new();
    let put = |h: &mut HeaderMap, k: header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    put(&mut out, header::ETAG, &etag);
    // The browser may keep it, and must ask each time whether the caller still may.
    put(&mut out, header::CACHE_CONTROL, "private, no-cache");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    // Only the raster images an image field takes are shown in the page; the rest downloads.
    let inline = IMAGE_EXTS.iter().any(|ext| file.mime == image_mime(ext));
    put(&mut out, header::CONTENT_TYPE, &file.mime);
    put(&mut out, header::CONTENT_LENGTH, &file.size.to_string());
    put(
        &mut out,
        header::CONTENT_DISPOSITION,
        &disposition(inline, &file.original),
    );
    put(
        &mut out,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    );
    let reader = crate::files::open(&state, &file).await?;
    Ok((out, Body::from_stream(ReaderStream::new(reader))).into_response())
}
