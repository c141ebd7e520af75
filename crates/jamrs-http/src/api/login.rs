//! `POST /api/login` and `POST /api/logout`.
//!
//! Login answers the same 401 for an unknown login, a wrong password and a disabled user, and
//! spends the same argon2 time on each. Failures are counted per login and per client address
//! in the database (so every server process sees them) and refused with 429 past the limit;
//! an attempt is counted before its password is checked, and uncounted if it succeeds.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jamrs_core::Error;
use jamrs_store::{auth, store};
use serde::Deserialize;
use serde_json::json;

use super::task::user_json;
use crate::AppState;
use crate::error::{ApiError, JsonBody};
use crate::session::{self, ClientAddress, SessionToken};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    login: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let task = state.task.clone();
    let settings = task.settings.login.clone();
    let now = session::now();
    let window = settings.window_seconds as i64;
    let keys = [
        auth::login_key(&req.login),
        auth::address_key(&address.to_string()),
    ];

    // The check and the count are one write transaction, and the attempt is counted as a
    // failure before its password is checked: attempts sent at once, to this process or to
    // another on the same database, cannot all pass a check that none of them is counted in
    // yet. A login that succeeds takes its count back below.
    let attempt_keys = keys.clone();
    let login_name = req.login.clone();
    let limits = (
        u64::from(settings.max_failures),
        u64::from(settings.max_failures_per_address),
    );
    let attempt = store::write(&*state.store, move |conn| {
        let since = now - window;
        if auth::failures(conn, &attempt_keys[0], since)? >= limits.0
            || auth::failures(conn, &attempt_keys[1], since)? >= limits.1
        {
            return Ok(None);
        }
        auth::record_failure(conn, &attempt_keys, now, window)?;
        Ok(Some(auth::find_user(conn, &login_name)?))
    })
    .await?;
    let Some(user) = attempt else {
        let mut r = ApiError::from(Error::new(
            jamrs_core::Kind::TooManyRequests,
            "too many failed logins; try again later",
        ))
        .into_response();
        r.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(settings.window_seconds),
        );
        return Ok(r);
    };

    // argon2 takes tens of milliseconds: off the async runtime, and also for unknown logins so
    // the answer takes as long either way.
    let hash = user.as_ref().map_or_else(
        || auth::dummy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let password = req.password;
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|e| Error::internal(format!("password check failed: {e}")))?;
    let accepted = user
        .filter(|u| matches && u.active)
        .and_then(|u| auth::user_info(&task, &u).map(|(info, _)| info));

    let Some(info) = accepted else {
        // Already counted.
        return Err(Error::unauthorized("wrong login or password").into());
    };

    let user_id = info.user_id;
    let [login_key, address_key] = keys;
    let timeout = state.task.settings.session_timeout as i64;
    let token = store::write(&*state.store, move |conn| {
        auth::delete_expired(conn, now, timeout)?;
        auth::clear_failures(conn, &login_key)?;
        auth::forget_failure(conn, &address_key, now)?;
        auth::create_session(conn, user_id, now, &address.to_string())
    })
    .await?;
    tracing::info!(login = %info.login, "logged in");
    let mut r = Json(json!({ "user": user_json(&info) })).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(&state.task, &token));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

pub async fn logout(
    State(state): State<AppState>,
    SessionToken(token): SessionToken,
) -> Result<Response, ApiError> {
    if let Some(token) = token {
        store::write(&*state.store, move |conn| auth::revoke(conn, &token)).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state.task));
    Ok(r)
}
