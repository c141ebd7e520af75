//! `POST /api/items/{item}/upload/{field}[?id=<record>]`: a file for a file or image field
//! (multipart, the part `file`), streamed to a spool file and then to the store, never held
//! whole in memory. The answer names the upload; an apply then puts that name in a record's
//! field (`Engine::check_files` checks it is this user's upload for this field).
//!
//! Who may: a session whose role may create records of the item (or, with `id`, edit that
//! record, which it must be able to open), and may write the field. What: content the field
//! accepts (told by its bytes, not its name), at most the field's `max_size`.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::StatusCode;
use jamrs_core::files::{FileSettings, accepts, clean_file_name};
use jamrs_core::session::Tenant;
use jamrs_core::{Error, FieldType, Value};
use jamrs_store::files::{self as stored, NewFile};
use jamrs_store::{Engine, auth, store};
use serde::Serialize;

use crate::AppState;
use crate::error::{ApiError, PathParams};
use crate::files::{HEAD_BYTES, Spool, TextCheck, kind_of, spool_dir, store_name};
use crate::session::{self, SessionToken};

#[derive(Serialize)]
pub struct UploadReply {
    file: FileReply,
}

#[derive(Serialize)]
struct FileReply {
    /// The stored name (43 characters).
    name: String,
    /// What to put in the record's field.
    value: String,
    original: String,
    #[serde(rename = "type")]
    mime: String,
    size: u64,
}

/// What the checks before the body grant: who uploads, for what.
#[derive(Clone)]
struct Grant {
    item: String,
    field: String,
    image: bool,
    settings: FileSettings,
    user_id: Option<i64>,
    tenant: Option<Value>,
}

/// `id=<record>` of the query, if any.
fn record_id(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let mut id = None;
    for pair in q.split('&') {
        match pair.split_once('=') {
            Some(("id", v)) => {
                id = Some(v.parse::<i64>().map_err(|_| {
                    Error::bad_field(
                        "id",
                        format!(
                            "the record's id must be an integer, not \"{}\"",
                            v.chars().take(40).collect::<String>()
                        ),
                    )
                })?)
            }
            _ => {
                return Err(Error::bad_request(
                    "the only query parameter of an upload is id (the record it is for)",
                )
                .into());
            }
        }
    }
    Ok(id)
}

fn too_large(field: &str, max: u64) -> ApiError {
    ApiError {
        error: Error::bad_field(
            "file",
            format!("the file is larger than {max} bytes, the most field \"{field}\" takes"),
        ),
        status: Some(StatusCode::PAYLOAD_TOO_LARGE),
    }
}

pub async fn post(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams((item, field)): PathParams<(String, String)>,
    RawQuery(query): RawQuery,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<UploadReply>, ApiError> {
    let grant = match checks(&state, token, item, field, query.as_deref()).await {
        Ok(grant) => grant,
        Err(e) => {
            // Answered before the body is read: a client still sending it would see the
            // connection close rather than the answer, so a small rest is read first.
            if let Ok(mut m) = multipart {
                drain(&mut m, 1 << 20).await;
            }
            return Err(e);
        }
    };
    receive(&state, grant, multipart).await
}

/// Reads and drops up to `limit` bytes of the body.
async fn drain(m: &mut Multipart, limit: usize) {
    let mut seen = 0;
    while let Ok(Some(mut part)) = m.next_field().await {
        while let Ok(Some(chunk)) = part.chunk().await {
            seen += chunk.len();
            if seen > limit {
                return;
            }
        }
    }
}

/// Everything that does not need the body, checked before it is read.
async fn checks(
    state: &AppState,
    token: Option<String>,
    item: String,
    field: String,
    query: Option<&str>,
) -> Result<Grant, ApiError> {
    let id = record_id(query)?;
    let task = state.task.clone();
    let hooks = state.hooks.clone();
    let now = session::now();
    Ok(store::read(&*state.store, move |conn| {
        let who = auth::authenticate(conn, &task, token.as_deref(), now)?;
        let item = session::item(&task, &item)?;
        let f = item
            .field_by_name(&field)
            .filter(|f| matches!(f.field_type, FieldType::File | FieldType::Image))
            .ok_or_else(|| {
                Error::not_found(format!(
                    "\"{}\" has no file or image field \"{field}\"",
                    item.name
                ))
            })?;
        let access = who.caller.access(&task);
        if access.is_prohibited(item.id, f.id) {
            return Err(Error::not_found(format!(
                "\"{}\" has no file or image field \"{field}\"",
                item.name
            )));
        }
        let p = access.privileges(item.id);
        let engine = Engine::for_client(&task, &*hooks, &who.caller);
        engine.require_tenant(item)?;
        match id {
            Some(id) => {
                if !p.edit {
                    return Err(Error::forbidden(format!(
                        "your role may not edit records of \"{}\"",
                        item.name
                    )));
                }
                if engine.can_open_record(conn, item, id)?.is_none() {
                    return Err(
                        Error::not_found(format!("{} {id} does not exist", item.name))
                            .with_field("id"),
                    );
                }
            }
            None if !p.create && !p.edit => {
                return Err(Error::forbidden(format!(
                    "your role may not create or edit records of \"{}\"",
                    item.name
                )));
            }
            None => {}
        }
        if f.read_only || access.is_read_only(item.id, f.id) || item.is_server_set(f.id) {
            return Err(Error::forbidden(format!(
                "field \"{field}\" of \"{}\" is read-only",
                item.name
            ))
            .with_field(&field));
        }
        let tenant = match engine.tenant() {
            Tenant::Only(v) => Some(v.clone()),
            _ => who.caller.tenant_value(&task),
        };
        Ok(Grant {
            item: item.name.to_string(),
            field: f.name.to_string(),
            image: f.field_type == FieldType::Image,
            settings: f.file.clone().unwrap_or_else(|| FileSettings {
                accept: Vec::new(),
                max_size: task.settings.files.max_size,
                image: Default::default(),
            }),
            user_id: who.caller.user.as_ref().map(|u| u.user_id),
            tenant,
        })
    })
    .await?)
}

/// Streams the file in, checks it and stores it.
async fn receive(
    state: &AppState,
    grant: Grant,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<UploadReply>, ApiError> {
    let mut multipart = multipart.map_err(|e| ApiError {
        status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        error: Error::bad_request(format!(
            "an upload is multipart/form-data with the file in a part named \"file\" ({})",
            e.body_text()
        )),
    })?;
    let bad_body = |e: axum::extract::multipart::MultipartError| {
        Error::bad_request(format!("the upload could not be read: {}", e.body_text()))
    };
    let mut spooled = None;
    while let Some(mut part) = multipart.next_field().await.map_err(bad_body)? {
        if part.name() != Some("file") || spooled.is_some() {
            return Err(Error::bad_field(
                "file",
                "an upload has one part, named \"file\", holding the file",
            )
            .into());
        }
        let original = clean_file_name(part.file_name().unwrap_or(""));
        let mut spool = Spool::create(&spool_dir(state)).await?;
        let mut head = Vec::with_capacity(HEAD_BYTES);
        let mut text = TextCheck::default();
        let mut size: u64 = 0;
        while let Some(chunk) = part.chunk().await.map_err(bad_body)? {
            size += chunk.len() as u64;
            if size > grant.settings.max_size {
                return Err(too_large(&grant.field, grant.settings.max_size));
            }
            if head.len() < HEAD_BYTES {
                let take = (HEAD_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            text.feed(&chunk);
            spool.write(&chunk).await?;
        }
        spool.finish().await?;
        spooled = Some((spool, head, text.is_text(), size, original));
    }
    let Some((mut spool, head, is_text, size, original)) = spooled else {
        return Err(Error::bad_field("file", "the upload holds no part named \"file\"").into());
    };
    if size == 0 {
        return Err(Error::bad_field("file", "the file is empty").into());
    }
    let kind = kind_of(&head, is_text);
    if !accepts(grant.image, &grant.settings.accept, &kind, &original) {
        let wanted = if grant.image {
            "an image (JPEG, PNG, GIF, WebP, BMP, ICO or AVIF)".to_string()
        } else {
            "a file of the types it accepts".to_string()
        };
        return Err(ApiError {
            status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            error: Error::bad_field(
                "file",
                format!(
                    "field \"{}\" takes {wanted}; \"{original}\" is {} by its content",
                    grant.field,
                    if kind.ext == "bin" {
                        "of no type jamrs knows".to_string()
                    } else {
                        format!("{} ({})", kind.ext, kind.mime)
                    }
                ),
            ),
        });
    }

    let name = auth::new_token()?;
    let folder = crate::files::folder(state);
    let store_kind = store_name(state);
    let created = session::now();
    let (row_name, row_original, mime) = (name.clone(), original.clone(), kind.mime.clone());
    let spool_path = spool.path.clone();
    let g = grant.clone();
    let saved = store::write(&*state.store, move |conn| {
        let id = stored::insert(
            conn,
            &NewFile {
                name: &row_name,
                item: &g.item,
                field: &g.field,
                tenant: g.tenant.as_ref(),
                user_id: g.user_id,
                original: &row_original,
                mime: &mime,
                size: i64::try_from(size).unwrap_or(i64::MAX),
                store: store_kind,
                created,
            },
        )?;
        if store_kind == "database" {
            crate::files::put_chunks(conn, id, &spool_path)?;
        }
        Ok(())
    })
    .await;
    saved?;
    // The row first, then the file under its name: a named file without a row is one the
    // sweeper may remove at once (its upload failed, or its record let go of it).
    if let Some(dir) = &folder
        && let Err(e) = spool.keep_as(&dir.join(&name)).await
    {
        let gone = name.clone();
        let _ = store::write(&*state.store, move |conn| stored::remove(conn, &gone)).await;
        return Err(e.into());
    }
    let value = if grant.image {
        name.clone()
    } else {
        format!("{name}?{original}")
    };
    Ok(Json(UploadReply {
        file: FileReply {
            name,
            value,
            original,
            mime: kind.mime,
            size,
        },
    }))
}
