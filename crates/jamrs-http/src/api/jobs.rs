//! A report's or export's job: `GET /api/jobs/{job}` (its progress), `GET
//! /api/jobs/{job}/file` (the file it made, streamed from disk), `POST
//! /api/jobs/{job}/cancel`. Only the session that started a job sees it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jamrs_core::Error;
use jamrs_store::{auth, store};

use crate::AppState;
use crate::error::{ApiError, PathParams};
use crate::jobs::{Job, Jobs, Phase};
use crate::session::{self, SessionToken};

/// The job `id`, for the live session that started it.
async fn job(state: &AppState, token: Option<String>, id: &str) -> Result<Arc<Job>, ApiError> {
    let task = state.task.clone();
    let now = session::now();
    let job_token = token.clone();
    let who = store::read(&*state.store, move |conn| {
        auth::authenticate(conn, &task, job_token.as_deref(), now)
    })
    .await?;
    if let (true, Some(token)) = (who.needs_touch, token.clone()) {
        session::touch_later(&*state.store, token, now);
    }
    Ok(state.jobs().get(id, &Jobs::owner(token.as_deref()))?)
}

pub async fn get(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    Ok(axum::Json(job(&state, token, &id).await?.json()))
}

pub async fn cancel(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(id): PathParams<String>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let job = job(&state, token, &id).await?;
    job.cancel();
    Ok(axum::Json(job.json()))
}

/// The file, read from disk in pieces on a blocking thread (a large export is never held in
/// memory whole).
pub async fn file(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let job = job(&state, token, &id).await?;
    let Some(output) = job.output().filter(|_| job.progress.phase() == Phase::Done) else {
        return Err(Error::conflict(match job.progress.phase() {
            Phase::Failed | Phase::Cancelled => "the job made no file (it failed or was cancelled)",
            _ => "the job has not finished yet",
        })
        .into());
    };
    let file = std::fs::File::open(&output.path)
        .map_err(|e| Error::internal(format!("cannot open a job's file: {e}")))?;
    let size = file
        .metadata()
        .map_err(|e| Error::internal(format!("cannot read a job's file: {e}")))?
        .len();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = file;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let disposition = format!("attachment; filename=\"{}\"", output.file_name);
    let mut response = Body::from_stream(Chunks(rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(output.content_type),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// The pieces of a file, as the body's stream.
struct Chunks(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
