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
use jamrs_core::session::UserInfo;
use jamrs_store::{Engine, TaskEvent, auth, store};
use serde::Deserialize;
use serde_json::{Value, json};

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
    // A task module's on_login(task, form_data, info) replaces the built-in check. It runs in a
    // transaction of its own, so whatever it wrote before refusing by raising is undone.
    let attempt = match attempt {
        None => None,
        Some(user) => {
            let (hooks, events, task2) = (state.hooks.clone(), state.events.clone(), task.clone());
            let form = json!({"login": req.login, "password": req.password});
            let info = json!({"ip": address.to_string()});
            let custom = store::write(&*state.store, move |conn| {
                let engine = Engine::for_server(&task2, &*hooks);
                let (Value::Object(form), Value::Object(info)) = (form, info) else {
                    return Err(Error::internal("login form is not an object"));
                };
                match events.on_login(&engine, conn, &form, &info) {
                    None => Ok(None),
                    Some(Ok(Some(map))) => {
                        let (user, _) = auth::custom_user_info(&task2, &map)?;
                        Ok(Some(Attempt::Custom(user)))
                    }
                    Some(Ok(None)) => Ok(Some(Attempt::Refused)),
                    Some(Err(e)) => Err(e),
                }
            })
            .await;
            match custom {
                Ok(None) => Some(Attempt::Builtin(user)),
                Ok(Some(a)) => Some(a),
                Err(e) => {
                    tracing::info!(error = %e.message, "on_login refused a login by raising");
                    Some(Attempt::Refused)
                }
            }
        }
    };
    let attempt = match attempt {
        Some(Attempt::Builtin(user)) => Some(user),
        Some(Attempt::Custom(info)) => {
            return start_session(&state, info, keys, address, now, true).await;
        }
        Some(Attempt::Refused) => {
            return Err(Error::unauthorized("wrong login or password").into());
        }
        None => None,
    };
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
    start_session(&state, info, keys, address, now, false).await
}

/// How a login attempt went before the password check.
enum Attempt {
    /// The built-in login: the user row, if the login exists.
    Builtin(Option<auth::User>),
    /// The task's on_login accepted it with this user_info.
    Custom(UserInfo),
    /// The task's on_login refused it.
    Refused,
}

/// Creates the session of an accepted login and answers with its cookie.
async fn start_session(
    state: &AppState,
    info: UserInfo,
    keys: [String; 2],
    address: std::net::IpAddr,
    now: i64,
    custom: bool,
) -> Result<Response, ApiError> {
    let [login_key, address_key] = keys;
    let timeout = state.task.settings.session_timeout as i64;
    let session_info = info.clone();
    let token = store::write(&*state.store, move |conn| {
        auth::delete_expired(conn, now, timeout)?;
        auth::clear_failures(conn, &login_key)?;
        auth::forget_failure(conn, &address_key, now)?;
        if custom {
            auth::create_custom_session(conn, &session_info, now, &address.to_string())
        } else {
            auth::create_session(conn, session_info.user_id, now, &address.to_string())
        }
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
        let (task, hooks, events) = (
            state.task.clone(),
            state.hooks.clone(),
            state.events.clone(),
        );
        let now = session::now();
        // on_logout(task, info) of the task module, for a session that is still live, in a
        // transaction of its own (a failing handler is undone and logged); then the session
        // ends whatever the handler did.
        let logout_token = token.clone();
        let done = store::write(&*state.store, move |conn| {
            if let Ok(who) = auth::authenticate(conn, &task, Some(&logout_token), now)
                && let Some(user) = &who.caller.user
            {
                let engine = Engine::for_client(&task, &*hooks, &who.caller);
                let info = json!({ "user_info": user_json(user) });
                events.task_event(&engine, conn, TaskEvent::Logout, &[info])?;
            }
            Ok(())
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(error = %e.message, "on_logout failed");
        }
        store::write(&*state.store, move |conn| auth::revoke(conn, &token)).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state.task));
    Ok(r)
}
