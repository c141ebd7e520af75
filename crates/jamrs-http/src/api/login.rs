//! `POST /api/login` and `POST /api/logout`.
//!
//! Login answers the same 401 for an unknown login, a wrong password and a disabled user, and
//! spends the same argon2 time on each. Failures are counted per login and per client address
//! in the database (so every server process sees them) and refused with 429 past the limit.
//! An attempt holds a place in the count while its password is checked (`auth::Gate`): it
//! becomes a failure only once the password is found wrong, and attempts that would pass the
//! limit if they all failed wait for those in flight instead of being refused. Password
//! hashing runs at most [`hashing_slots`] at a time: each argon2 check takes 19 MiB.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jamrs_core::session::UserInfo;
use jamrs_core::{Error, Kind};
use jamrs_store::{Engine, LoginAnswer, TaskEvent, auth, store};
use serde::Deserialize;
use serde_json::{Value, json};

use super::task::{module_user_json, user_json};
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
    let window = settings.window_seconds as i64;
    let keys = [
        auth::login_key(&req.login),
        auth::address_key(&address.to_string()),
    ];

    // The check and the reservation are one write transaction, so attempts sent at once, to
    // this process or to another on the same database, cannot all take the last place.
    let limits = [
        u64::from(settings.max_failures),
        u64::from(settings.max_failures_per_address),
    ];
    let waited_since = std::time::Instant::now();
    let (attempt_id, user) = loop {
        let (keys, login_name, now) = (keys.clone(), req.login.clone(), session::now());
        let gate = store::write(&*state.store, move |conn| {
            let gate = auth::reserve_attempt(conn, &keys, &limits, now, window)?;
            let user = match gate {
                auth::Gate::Reserved(_) => Some(auth::find_user(conn, &login_name)?),
                _ => None,
            };
            Ok((gate, user))
        })
        .await?;
        match gate {
            (auth::Gate::Reserved(id), Some(user)) => break (id, user),
            (auth::Gate::Busy, _) if waited_since.elapsed() < MAX_WAIT => {
                tokio::time::sleep(WAIT_STEP).await;
            }
            _ => return Ok(too_many(settings.window_seconds)),
        }
    };
    // A task module's on_login(task, form_data, info) replaces the built-in check. It runs in a
    // transaction of its own, so whatever it wrote before refusing by raising is undone.
    let attempt = {
        {
            let (hooks, events, task2) = (state.hooks.clone(), state.events.clone(), task.clone());
            let form = json!({"login": req.login, "password": req.password});
            let info = json!({"ip": address.to_string()});
            let custom = store::write(&*state.store, move |conn| {
                let engine = Engine::for_server(&task2, &*hooks);
                let (Value::Object(form), Value::Object(info)) = (form, info) else {
                    return Err(Error::internal("login form is not an object"));
                };
                // An answer that cannot be a user_info is a mistake in the module, told to the
                // caller as module_error; a raise is a refusal, told as a wrong password. Both
                // undo what the handler wrote.
                match events.on_login(&engine, conn, &form, &info) {
                    None => Ok(None),
                    Some(Ok(LoginAnswer::Accepted(map))) => {
                        match auth::custom_user_info(&task2, &map) {
                            Ok((user, _)) => Ok(Some(Attempt::Custom(user))),
                            Err(e) => Err(Error::new(Kind::Module, e.message)),
                        }
                    }
                    Some(Ok(LoginAnswer::Invalid(why))) => Err(Error::new(Kind::Module, why)),
                    Some(Ok(LoginAnswer::Refused)) => Ok(Some(Attempt::Refused)),
                    Some(Err(e)) => Err(Error::new(Kind::Unauthorized, e.message)),
                }
            })
            .await;
            match custom {
                Ok(None) => Attempt::Builtin(user),
                Ok(Some(a)) => a,
                Err(e) if e.kind == Kind::Module => {
                    tracing::warn!(error = %e.message, "on_login answered what cannot be a user_info");
                    Attempt::Invalid(e)
                }
                Err(e) => {
                    tracing::info!(error = %e.message, "on_login refused a login by raising");
                    Attempt::Refused
                }
            }
        }
    };
    let user = match attempt {
        Attempt::Builtin(user) => user,
        Attempt::Custom(info) => {
            return start_session(&state, info, attempt_id, keys, address, true).await;
        }
        Attempt::Refused => return failed(&state, attempt_id).await,
        Attempt::Invalid(e) => {
            // Counted as a failed login (it is one), then the module's mistake is told.
            let _ = failed(&state, attempt_id).await;
            return Err(e.into());
        }
    };

    // argon2 takes tens of milliseconds and 19 MiB: off the async runtime, a few at a time,
    // and also for unknown logins so the answer takes as long either way.
    let hash = user.as_ref().map_or_else(
        || auth::dummy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let password = req.password;
    let matches = {
        let _slot = hashing_slots()
            .acquire()
            .await
            .map_err(|e| Error::internal(format!("password check failed: {e}")))?;
        tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
            .await
            .map_err(|e| Error::internal(format!("password check failed: {e}")))?
    };
    let accepted = user
        .filter(|u| matches && u.active)
        .and_then(|u| auth::user_info(&task, &u).map(|(info, _)| info));

    let Some(info) = accepted else {
        return failed(&state, attempt_id).await;
    };
    start_session(&state, info, attempt_id, keys, address, false).await
}

/// How long a login waits for attempts in flight before it is refused with 429, and how often
/// it asks again meanwhile. A password check takes tens of milliseconds, so a wait is short
/// unless something holds attempts far longer than a check.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(15);

/// Password checks that may run at once: one per core. Each argon2 check holds 19 MiB, so 24
/// logins at once took 324 MB without this bound; more in parallel than cores gains nothing.
pub fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// 429 with `Retry-After`: the window, after which the failures are forgotten.
fn too_many(window_seconds: u64) -> Response {
    let mut r = ApiError::from(Error::new(
        jamrs_core::Kind::TooManyRequests,
        "too many failed logins; try again later",
    ))
    .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(window_seconds),
    );
    r
}

/// Settles a refused attempt as a failure and answers 401, the same for every cause.
async fn failed(state: &AppState, attempt: String) -> Result<Response, ApiError> {
    let now = session::now();
    store::write(&*state.store, move |conn| {
        auth::attempt_failed(conn, &attempt, now)
    })
    .await?;
    Err(Error::unauthorized("wrong login or password").into())
}

/// How a login attempt went before the password check.
enum Attempt {
    /// The built-in login: the user row, if the login exists.
    Builtin(Option<auth::User>),
    /// The task's on_login accepted it with this user_info.
    Custom(UserInfo),
    /// The task's on_login refused it.
    Refused,
    /// The task's on_login answered what cannot be a user_info (`module_error`).
    Invalid(Error),
}

/// Creates the session of an accepted login and answers with its cookie.
async fn start_session(
    state: &AppState,
    info: UserInfo,
    attempt: String,
    keys: [String; 2],
    address: std::net::IpAddr,
    custom: bool,
) -> Result<Response, ApiError> {
    let [login_key, _] = keys;
    let now = session::now();
    let timeout = state.task.settings.session_timeout as i64;
    let session_info = info.clone();
    let token = store::write(&*state.store, move |conn| {
        auth::delete_expired(conn, now, timeout)?;
        auth::attempt_succeeded(conn, &attempt, &login_key)?;
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
                let info = json!({ "user_info": module_user_json(user) });
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
