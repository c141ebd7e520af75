//! The error contract: every failure is a status and
//! `{"error": {"code", "message", "fields"?}}`.
//!
//! `ApiError` wraps the engine's [`jamrs_core::Error`]; [`ApiError::status`] is the one place
//! mapping error kinds to HTTP statuses. Internal errors are logged with their detail and
//! answered with a neutral message.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jamrs_core::{Error, Kind};
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub error: Error,
    /// Overrides the kind's status where HTTP has a more precise one (413, 415).
    pub status: Option<StatusCode>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or(match self.error.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Module => StatusCode::BAD_REQUEST,
            Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        })
    }

    fn with_status(error: Error, status: StatusCode) -> Self {
        ApiError {
            error,
            status: Some(status),
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError {
            error,
            status: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let e = &self.error;
        let message = if e.kind == Kind::Internal {
            tracing::error!(error = %e.message, "internal error");
            "internal error; the server log has the details".to_string()
        } else {
            tracing::debug!(code = e.kind.code(), message = %e.message, "request failed");
            e.message.clone()
        };
        let mut body = json!({"code": e.kind.code(), "message": message});
        if !e.fields.is_empty() && e.kind != Kind::Internal {
            body["fields"] = e
                .fields
                .iter()
                .map(|f| json!({"field": f.field, "message": f.message}))
                .collect();
        }
        (status, Json(json!({ "error": body }))).into_response()
    }
}

/// A JSON body, with every way of getting it wrong answered in the error contract.
/// Requiring `Content-Type: application/json` also means a cross-site HTML form cannot post
/// to the API (forms can only send form encodings and text/plain).
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::with_status(
                Error::bad_request(
                    "the request body must be JSON with Content-Type: application/json",
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ));
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        // Every body of this API is an object; serde alone would also take a list of values
        // by position.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::bad_request("the body must be a JSON object { … }").into());
        }
        // The plain parser first: axum's tracks the path to the field at fault, which costs
        // about half again as much, and is only needed for the message of a bad body.
        if let Ok(v) = serde_json::from_slice::<T>(&bytes) {
            return Ok(JsonBody(v));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// The request body's bytes, up to the server's limit: 413 past it, in the error contract.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    Error::bad_request(format!("cannot read the request body: {e}")).into()
                }
            })
    }
}

fn too_large() -> ApiError {
    ApiError::with_status(
        Error::bad_request("the request body is larger than the server accepts"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// Path parameters, with a path that cannot be decoded (bad percent-encoding, not UTF-8)
/// answered 400 in the error contract rather than axum's plain text.
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParams(v))
            .map_err(|e| Error::bad_request(format!("bad path: {}", e.body_text())).into())
    }
}

/// `application/json`, or a `+json` type, with any parameters (charset).
fn is_json(req: &Request) -> bool {
    is_json_type(req.headers())
}

/// Whether the headers say the body is JSON: `application/json` or an `application/…+json`.
pub fn is_json_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|m| {
            let ci =
                |part: Option<&str>, what: &str| part.is_some_and(|p| p.eq_ignore_ascii_case(what));
            ci(Some(m), "application/json")
                || (ci(m.get(..12), "application/")
                    && ci(m.len().checked_sub(5).and_then(|at| m.get(at..)), "+json"))
        })
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::with_status(
            Error::bad_request("the request body must be JSON with Content-Type: application/json"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        JsonRejection::JsonSyntaxError(e) => {
            Error::bad_request(format!("the body is not valid JSON: {}", source_text(&e))).into()
        }
        JsonRejection::JsonDataError(e) => {
            Error::bad_request(format!("the body has the wrong shape: {}", source_text(&e))).into()
        }
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Error::bad_request(format!("cannot read the request body: {e}")).into()
            }
        }
        other => Error::bad_request(other.body_text()).into(),
    }
}

/// serde's message without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    msg
}

/// 404 in the contract's shape, for unknown routes.
pub async fn no_route() -> Response {
    let mut r = ApiError::from(Error::not_found("no such endpoint")).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// 405 in the contract's shape, for a known route asked with a method it does not take.
pub async fn no_method() -> Response {
    ApiError::with_status(
        Error::bad_request("this endpoint does not take that method"),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .into_response()
}
