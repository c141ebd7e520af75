//! Users, sessions and login throttling, stored in the database's system tables
//! (`jamrs_users`, `jamrs_sessions`, `jamrs_login_failures`; each backend creates them).
//!
//! Sessions are rows, not signed cookies: the cookie carries a random token, the table its
//! hash. So a session can be revoked (logout, disabling a user, a new password), and every
//! server process that shares the database accepts it. Passwords are argon2id hashes.
//!
//! This module writes SQL only for those system tables; item SQL stays in `builder`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use blake2::{Blake2s256, Digest};
use jamrs_core::session::{Caller, UserInfo};
use jamrs_core::{Error, FieldType, Result, Task, Value};

use crate::conn::Conn;
use crate::sql::{Sql, SqlWriter};

pub const USERS: &str = "jamrs_users";
pub const SESSIONS: &str = "jamrs_sessions";
pub const LOGIN_FAILURES: &str = "jamrs_login_failures";
/// One row, one counter: every change to a session (but a later last-seen time) or to a user
/// raises it, by triggers (each backend creates them with the tables), whoever makes the
/// change: this process, another one, or SQL typed by hand.
pub const AUTH_EPOCH: &str = "jamrs_auth_epoch";

/// A session's last-seen time is written at most this often (seconds), so reads stay reads.
pub const TOUCH_INTERVAL: i64 = 60;

/// How old a session's last-seen time may get before a request writes it again: at most
/// [`TOUCH_INTERVAL`], and at most a quarter of the timeout. (With the interval equal to the
/// timeout, a session used every few seconds would still expire one timeout after it was
/// last written.)
pub fn touch_interval(session_timeout: u64) -> i64 {
    TOUCH_INTERVAL.min(i64::try_from(session_timeout / 4).unwrap_or(i64::MAX))
}

/// Builds a statement over system tables: `?` in `text` become the dialect's placeholders.
pub(crate) fn sql(conn: &dyn Conn, text: &str, params: Vec<Value>) -> Sql {
    let mut w = SqlWriter::new(conn.dialect());
    let mut params = params.into_iter();
    let mut parts = text.split('?').peekable();
    while let Some(part) = parts.next() {
        w.push(part);
        if parts.peek().is_some() {
            w.param(params.next().unwrap_or(Value::Null));
        }
    }
    w.finish()
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Fills `buf` from the operating system's random source.
fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::internal(format!("no random source: {e}")))
}

/// A new session token: 32 random bytes, URL-safe base64 without padding.
pub fn new_token() -> Result<String> {
    let mut buf = [0u8; 32];
    random_bytes(&mut buf)?;
    Ok(base64url(&buf))
}

/// What the database stores for a token: its BLAKE2s-256 hash, hex. A stolen database copy
/// gives no usable cookies.
pub fn token_hash(token: &str) -> String {
    hex(&Blake2s256::digest(token.as_bytes()))
}

/// Lowercase hex of `bytes` (every request hashes its session token: no `format!` per byte).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// A password for people to type once: 16 characters from an alphabet without look-alikes.
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 16];
    random_bytes(&mut buf)?;
    // 256 is not a multiple of 56; reject the top values so every character is equally likely.
    let mut out = String::with_capacity(16);
    let mut extra = [0u8; 1];
    for mut b in buf {
        while usize::from(b) >= 256 - 256 % ALPHABET.len() {
            random_bytes(&mut extra)?;
            b = extra[0];
        }
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
    }
    Ok(out)
}

fn base64url(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(T[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// An argon2id hash (PHC string) of `password`. Slow on purpose (~20 ms): call it off the
/// async runtime.
pub fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("cannot hash a password: {e}")))
}

/// Checks `password` against a stored hash, in constant time. A stored value that is not a
/// hash (a user imported without a password, [`NO_PASSWORD`]) never matches, and takes as long
/// as a wrong password, so it does not tell that the login exists.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => {
            if let Ok(h) = PasswordHash::new(dummy_hash()) {
                let _ = Argon2::default().verify_password(password.as_bytes(), &h);
            }
            false
        }
    }
}

/// The stored "hash" of a user who has no password yet (imported from Jam.py, whose plain-text
/// passwords are not carried): no password matches it; `jamrs user passwd` sets one.
pub const NO_PASSWORD: &str = "!no password yet: set one with jamrs user passwd";

/// A hash to verify against when the login does not exist, so an unknown login takes as long
/// as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("jamrs: no such user").unwrap_or_else(|_| {
            // Without a random salt source, use a fixed, well-formed hash of the same cost.
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$3uY4Jm7Bq9O5mC8sM3K0x3vQ1Hn0x7wE1t2uJ6nQv2I"
                .to_string()
        })
    })
}

/// Checks a password against the rules for new passwords.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(Error::bad_field(
            "password",
            "a password needs at least 8 characters",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Users

/// A row of `jamrs_users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role_id: i64,
    pub active: bool,
    pub tenant_id: Option<i64>,
    pub password_hash: String,
}

const USER_COLUMNS: &str = "id, login, name, role_id, active, tenant_id, password_hash";
const USER_TYPES: [FieldType; 7] = [
    FieldType::Integer,
    FieldType::Text,
    FieldType::Text,
    FieldType::Integer,
    FieldType::Boolean,
    FieldType::Integer,
    FieldType::Text,
];

fn user_from(row: &[Value]) -> User {
    User {
        id: row[0].as_i64().unwrap_or(0),
        login: text(&row[1]),
        name: text(&row[2]),
        role_id: row[3].as_i64().unwrap_or(0),
        active: row[4] == Value::Bool(true),
        tenant_id: row[5].as_i64(),
        password_hash: text(&row[6]),
    }
}

/// Logins are compared without regard to case and surrounding spaces.
pub fn normalize_login(login: &str) -> String {
    login.trim().to_lowercase()
}

pub fn find_user(conn: &mut dyn Conn, login: &str) -> Result<Option<User>> {
    let q = sql(
        conn,
        &format!("SELECT {USER_COLUMNS} FROM {USERS} WHERE login = ?"),
        vec![Value::Text(normalize_login(login))],
    );
    Ok(conn.query(&q, &USER_TYPES)?.first().map(|r| user_from(r)))
}

pub fn list_users(conn: &mut dyn Conn) -> Result<Vec<User>> {
    let q = sql(
        conn,
        &format!("SELECT {USER_COLUMNS} FROM {USERS} ORDER BY login"),
        vec![],
    );
    Ok(conn
        .query(&q, &USER_TYPES)?
        .iter()
        .map(|r| user_from(r))
        .collect())
}

/// A user to add.
pub struct NewUserRow<'a> {
    pub login: &'a str,
    pub name: &'a str,
    /// The role's name.
    pub role: &'a str,
    pub tenant_id: Option<i64>,
    pub password_hash: &'a str,
    /// The user's id when it must be kept (a user imported from Jam.py, whose id server code
    /// and data hold); `None` numbers the user.
    pub id: Option<i64>,
    pub active: bool,
}

/// Adds a user; the login must be new and the role must exist in the task.
pub fn add_user(conn: &mut dyn Conn, task: &Task, user: &NewUserRow, now: i64) -> Result<i64> {
    let NewUserRow {
        login,
        name,
        role,
        tenant_id,
        password_hash,
        id,
        active,
    } = *user;
    let login = normalize_login(login);
    if login.is_empty() || login.chars().any(char::is_whitespace) || login.len() > 100 {
        return Err(Error::bad_field(
            "login",
            "a login is 1 to 100 characters without spaces",
        ));
    }
    let role = task
        .role_by_name(role)
        .map(|i| &task.roles[i])
        .ok_or_else(|| {
            let names: Vec<&str> = task.roles.iter().map(|r| r.name.as_str()).collect();
            Error::bad_field(
                "role",
                format!("there is no role \"{role}\" (roles: {})", names.join(", ")),
            )
        })?;
    if find_user(conn, &login)?.is_some() {
        return Err(Error::conflict(format!("the login \"{login}\" is taken")));
    }
    let name = if name.trim().is_empty() {
        &login
    } else {
        name.trim()
    };
    // The id column is named only when the id is given: a database that numbers rows with an
    // identity column (PostgreSQL) refuses an explicit NULL there.
    let (id_column, id_value) = match id {
        Some(id) => ("id, ", vec![Value::Int(id)]),
        None => ("", Vec::new()),
    };
    let mut text = format!(
        "INSERT INTO {USERS} ({id_column}login, name, role_id, active, tenant_id, password_hash, created_at) VALUES ({}?, ?, ?, ?, ?, ?, ?)",
        if id.is_some() { "?, " } else { "" }
    );
    if let Some(ret) = conn.dialect().insert_returning("id") {
        text.push_str(&ret);
    }
    let q = sql(
        conn,
        &text,
        id_value
            .into_iter()
            .chain([
                Value::Text(login.clone()),
                Value::Text(name.to_string()),
                Value::Int(role.id),
                Value::Bool(active),
                tenant_id.map_or(Value::Null, Value::Int),
                Value::Text(password_hash.to_string()),
                Value::Int(now),
            ])
            .collect(),
    );
    conn.insert(&q)
}

fn require_user(conn: &mut dyn Conn, login: &str) -> Result<User> {
    find_user(conn, login)?
        .ok_or_else(|| Error::not_found(format!("there is no user \"{}\"", normalize_login(login))))
}

/// Sets a new password and ends the user's sessions.
pub fn set_password(conn: &mut dyn Conn, login: &str, password_hash: &str) -> Result<()> {
    let user = require_user(conn, login)?;
    let q = sql(
        conn,
        &format!("UPDATE {USERS} SET password_hash = ? WHERE id = ?"),
        vec![Value::Text(password_hash.to_string()), Value::Int(user.id)],
    );
    conn.execute(&q)?;
    revoke_user(conn, user.id)
}

/// Enables or disables a user; disabling ends their sessions.
pub fn set_active(conn: &mut dyn Conn, login: &str, active: bool) -> Result<()> {
    let user = require_user(conn, login)?;
    let q = sql(
        conn,
        &format!("UPDATE {USERS} SET active = ? WHERE id = ?"),
        vec![Value::Bool(active), Value::Int(user.id)],
    );
    conn.execute(&q)?;
    if !active {
        revoke_user(conn, user.id)?;
    }
    Ok(())
}

/// The `user_info` of a user, if their role still exists.
pub fn user_info(task: &Task, user: &User) -> Option<(UserInfo, usize)> {
    let role = task.role_index(user.role_id)?;
    Some((
        UserInfo {
            user_id: user.id,
            login: user.login.clone(),
            user_name: user.name.clone(),
            role_id: user.role_id,
            role_name: task.roles[role].name.to_string(),
            tenant_id: user.tenant_id,
            extra: serde_json::Map::new(),
        },
        role,
    ))
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// Starts a session for `user_id`; returns the token for the cookie.
pub fn create_session(
    conn: &mut dyn Conn,
    user_id: i64,
    now: i64,
    address: &str,
) -> Result<String> {
    let token = new_token()?;
    let q = sql(
        conn,
        &format!(
            "INSERT INTO {SESSIONS} (token_hash, user_id, created_at, last_seen, address) VALUES (?, ?, ?, ?, ?)"
        ),
        vec![
            Value::Text(token_hash(&token)),
            Value::Int(user_id),
            Value::Int(now),
            Value::Int(now),
            Value::Text(address.to_string()),
        ],
    );
    conn.execute(&q)?;
    Ok(token)
}

/// Deletes sessions idle for longer than `timeout` seconds (they can no longer be used; this
/// only keeps the table small). Run on each login.
pub fn delete_expired(conn: &mut dyn Conn, now: i64, timeout: i64) -> Result<u64> {
    // Logins at once (on several writers or instances) would delete the same rows, each
    // holding some while it waits for the others': one at a time.
    conn.lock_key(SESSIONS_CLEANUP)?;
    let q = sql(
        conn,
        &format!("DELETE FROM {SESSIONS} WHERE last_seen < ?"),
        vec![Value::Int(now - timeout)],
    );
    conn.execute(&q)
}

/// The keys of `user_info` jamrs reads itself; `on_login` may return any others.
const USER_INFO_KEYS: [&str; 6] = [
    "user_id",
    "login",
    "user_name",
    "role_id",
    "role_name",
    "tenant_id",
];

/// The most the other keys of a custom `user_info` may take, as JSON: the session row carries
/// them and every request of the session reads them back.
pub const MAX_USER_INFO_EXTRA_BYTES: usize = 16 * 1024;

/// The `user_info` a custom `on_login` returned, checked: `user_id` (an integer), a role that
/// exists (`role_id`, or `role_name`), and optionally `user_name`, `login`, `tenant_id`; any
/// other keys are kept as they are (`UserInfo::extra`), up to [`MAX_USER_INFO_EXTRA_BYTES`].
pub fn custom_user_info(
    task: &Task,
    m: &serde_json::Map<String, serde_json::Value>,
) -> Result<(UserInfo, usize)> {
    let bad = |msg: &str| {
        Error::new(
            jamrs_core::Kind::Module,
            format!("on_login returned a user_info without {msg}"),
        )
    };
    let user_id = m
        .get("user_id")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| bad("an integer user_id"))?;
    let role = match (
        m.get("role_id").and_then(serde_json::Value::as_i64),
        m.get("role_name").and_then(serde_json::Value::as_str),
    ) {
        (Some(id), _) => task.role_index(id),
        (None, Some(name)) => task.role_by_name(name),
        (None, None) => None,
    }
    .ok_or_else(|| bad("a role_id (or role_name) of one of the project's roles"))?;
    let text = |k: &str| {
        m.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let login = text("login").unwrap_or_else(|| user_id.to_string());
    let extra: serde_json::Map<String, serde_json::Value> = m
        .iter()
        .filter(|(k, _)| !USER_INFO_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let size = serde_json::to_string(&extra).map_or(usize::MAX, |t| t.len());
    if size > MAX_USER_INFO_EXTRA_BYTES {
        return Err(Error::new(
            jamrs_core::Kind::Module,
            format!(
                "on_login returned a user_info whose other keys take {size} bytes as JSON; a session keeps at most {MAX_USER_INFO_EXTRA_BYTES} (keep large data in a table and its key in user_info)"
            ),
        ));
    }
    Ok((
        UserInfo {
            user_id,
            user_name: text("user_name").unwrap_or_else(|| login.clone()),
            login,
            role_id: task.roles[role].id,
            role_name: task.roles[role].name.to_string(),
            tenant_id: m.get("tenant_id").and_then(serde_json::Value::as_i64),
            extra,
        },
        role,
    ))
}

/// Starts a session for a user a custom `on_login` accepted (the user need not be in
/// `jamrs_users`); the session keeps their `user_info`.
pub fn create_custom_session(
    conn: &mut dyn Conn,
    info: &UserInfo,
    now: i64,
    address: &str,
) -> Result<String> {
    let token = new_token()?;
    let mut json = info.extra.clone();
    for (k, v) in [
        ("user_id", serde_json::json!(info.user_id)),
        ("login", serde_json::json!(info.login)),
        ("user_name", serde_json::json!(info.user_name)),
        ("role_id", serde_json::json!(info.role_id)),
        ("tenant_id", serde_json::json!(info.tenant_id)),
    ] {
        json.insert(k.to_string(), v);
    }
    let json = serde_json::Value::Object(json);
    let q = sql(
        conn,
        &format!(
            "INSERT INTO {SESSIONS} (token_hash, user_id, created_at, last_seen, address, user_info) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        vec![
            Value::Text(token_hash(&token)),
            Value::Int(info.user_id),
            Value::Int(now),
            Value::Int(now),
            Value::Text(address.to_string()),
            Value::Text(json.to_string()),
        ],
    );
    conn.execute(&q)?;
    Ok(token)
}

/// Ends one session.
pub fn revoke(conn: &mut dyn Conn, token: &str) -> Result<()> {
    let q = sql(
        conn,
        &format!("DELETE FROM {SESSIONS} WHERE token_hash = ?"),
        vec![Value::Text(token_hash(token))],
    );
    conn.execute(&q).map(|_| ())
}

/// Ends every session of a user.
pub fn revoke_user(conn: &mut dyn Conn, user_id: i64) -> Result<()> {
    let q = sql(
        conn,
        &format!("DELETE FROM {SESSIONS} WHERE user_id = ?"),
        vec![Value::Int(user_id)],
    );
    conn.execute(&q).map(|_| ())
}

/// Slides a session's expiry.
pub fn touch(conn: &mut dyn Conn, token: &str, now: i64) -> Result<()> {
    let q = sql(
        conn,
        &format!("UPDATE {SESSIONS} SET last_seen = ? WHERE token_hash = ?"),
        vec![Value::Int(now), Value::Text(token_hash(token))],
    );
    conn.execute(&q).map(|_| ())
}

/// The outcome of checking a request's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub caller: Caller,
    /// The session's last-seen time is old enough to be written again.
    pub needs_touch: bool,
}

/// Sessions already checked by this process, per database (a store's connections share one).
///
/// Checking a session was a third of a small open's work beyond its own query: hashing the
/// token and a SELECT over two tables. A request now reads one integer instead, the
/// [`AUTH_EPOCH`] counter: while it is unchanged, no session and no user has changed, so a
/// session checked before is as it was. A logout, a disabled user or a new password raises it,
/// in any process that shares the database, and the next request of every session reads its
/// rows again. The counter is read before the session's rows and in the same database, so an
/// entry is never newer than its counter. An entry is used only while the session's last-seen
/// time needs no touch, so expiry and the sliding window work as without it.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<TokenKey, CachedSession>>,
}

/// A session token as the cache's key: compared in constant time (a lookup must not tell, by
/// how long it takes, how much of a guess matches a live token).
#[derive(Clone, Copy)]
struct TokenKey([u8; TOKEN_LEN]);

/// A session token's length: 32 random bytes in URL-safe base64 (the cookie takes no other).
const TOKEN_LEN: usize = 43;

impl TokenKey {
    fn of(token: &str) -> Option<TokenKey> {
        token.as_bytes().try_into().ok().map(TokenKey)
    }
}

impl PartialEq for TokenKey {
    fn eq(&self, other: &TokenKey) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
    }
}

impl Eq for TokenKey {}

// Equal keys have equal bytes, so hashing the bytes agrees with `eq`.
impl std::hash::Hash for TokenKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

struct CachedSession {
    epoch: i64,
    /// The task the role was resolved against (a store serves one).
    task: usize,
    last_seen: i64,
    caller: Caller,
}

/// Entries past this many (one per live session of the process) empty the cache.
const SESSION_CACHE_MAX: usize = 10_000;

impl SessionCache {
    fn get(&self, token: &str, epoch: i64, task: usize) -> Option<(i64, Caller)> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(&TokenKey::of(token)?)?;
        (e.epoch == epoch && e.task == task).then(|| (e.last_seen, e.caller.clone()))
    }

    fn put(&self, token: &str, entry: CachedSession) {
        let Some(key) = TokenKey::of(token) else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= SESSION_CACHE_MAX {
                entries.clear();
            }
            entries.insert(key, entry);
        }
    }
}

/// The [`AUTH_EPOCH`] counter; `None` if it cannot be read (a database without it).
fn auth_epoch(conn: &mut dyn Conn) -> Option<i64> {
    // Named with the tables it stands for, so that a database without them fails here too
    // (and the request as it did without the cache), not only on the rows.
    static EPOCH_QUERY: OnceLock<Sql> = OnceLock::new();
    let q = EPOCH_QUERY.get_or_init(|| Sql {
        text: format!(
            "SELECT a.epoch FROM {AUTH_EPOCH} AS a WHERE a.id = 1 AND NOT EXISTS (SELECT 1 FROM {SESSIONS}, {USERS} WHERE 0)"
        ),
        params: Vec::new(),
    });
    conn.query(q, &[FieldType::Integer])
        .ok()?
        .first()?
        .first()?
        .as_i64()
}

/// Who sends a request with session token `token` (from the cookie) at time `now`.
///
/// With safe mode, a request needs a live session of an active user whose role exists;
/// anything else is `unauthorized`. Without safe mode, a request without a (valid) session is
/// anonymous and gets the anonymous role.
pub fn authenticate(
    conn: &mut dyn Conn,
    task: &Task,
    token: Option<&str>,
    now: i64,
) -> Result<Authenticated> {
    let who = checked(conn, task, token, now)?;
    scoped(conn, task, who)
}

/// The request's transaction reaches the rows of the session's tenant alone, whatever SQL runs
/// in it (`Conn::scope`): the database's wall comes from the session, not from the engine. Set
/// on every path, the session cache's included.
fn scoped(conn: &mut dyn Conn, task: &Task, who: Authenticated) -> Result<Authenticated> {
    conn.scope(&who.caller.tenant(task))?;
    Ok(who)
}

/// [`authenticate`] before the scope: from the session cache when it may answer, from the
/// session's rows otherwise.
fn checked(
    conn: &mut dyn Conn,
    task: &Task,
    token: Option<&str>,
    now: i64,
) -> Result<Authenticated> {
    let Some(token) = token else {
        return session_rows(conn, task, None, now).map(|(a, _)| a);
    };
    let touch = touch_interval(task.settings.session_timeout);
    let task_id = std::ptr::from_ref(task) as usize;
    // Read before the rows (see `SessionCache`).
    let epoch = match conn.session_cache() {
        Some(_) => auth_epoch(conn),
        None => None,
    };
    if let (Some(cache), Some(epoch)) = (conn.session_cache(), epoch)
        && let Some((last_seen, caller)) = cache.get(token, epoch, task_id)
        && now - last_seen < touch
        && now >= last_seen
    {
        return Ok(Authenticated {
            caller,
            needs_touch: false,
        });
    }
    let (found, last_seen) = session_rows(conn, task, Some(token), now)?;
    if let (Some(cache), Some(epoch), Some(last_seen)) = (conn.session_cache(), epoch, last_seen)
        && found.caller.user.is_some()
    {
        cache.put(
            token,
            CachedSession {
                epoch,
                task: task_id,
                last_seen,
                caller: found.caller.clone(),
            },
        );
    }
    Ok(found)
}

/// [`authenticate`] from the session's rows, with the session's last-seen time when it is a
/// live session of a user.
fn session_rows(
    conn: &mut dyn Conn,
    task: &Task,
    token: Option<&str>,
    now: i64,
) -> Result<(Authenticated, Option<i64>)> {
    let anonymous = || Authenticated {
        caller: Caller {
            user: None,
            role: task.settings.anonymous_role,
        },
        needs_touch: false,
    };
    let Some(token) = token else {
        if task.settings.safe_mode {
            return Err(Error::unauthorized("log in first"));
        }
        return Ok((anonymous(), None));
    };
    // Every request runs this; build its text once.
    static SESSION_QUERY: OnceLock<String> = OnceLock::new();
    let text = SESSION_QUERY.get_or_init(|| {
        format!(
            "SELECT s.last_seen, s.user_info, u.{} FROM {SESSIONS} s LEFT JOIN {USERS} u ON u.id = s.user_id WHERE s.token_hash = ?",
            USER_COLUMNS.replace(", ", ", u.")
        )
    });
    let q = sql(conn, text, vec![Value::Text(token_hash(token))]);
    let mut types = vec![FieldType::Integer, FieldType::Text];
    types.extend(USER_TYPES);
    let rows = conn.query(&q, &types)?;
    let alive = |last_seen: i64| now - last_seen <= task.settings.session_timeout as i64;
    // A session of a built-in login names a user row; one of a custom `on_login` carries the
    // user_info the handler returned.
    let found = rows.first().and_then(|r| {
        let last_seen = r[0].as_i64().filter(|l| alive(*l))?;
        match &r[1] {
            Value::Text(json) => Some((last_seen, Err(json.clone()))),
            _ if r[2].is_null() => None,
            _ => {
                let user = user_from(&r[2..]);
                user.active.then_some((last_seen, Ok(user)))
            }
        }
    });
    let Some((last_seen, user)) = found else {
        if task.settings.safe_mode {
            return Err(Error::new(
                jamrs_core::Kind::Unauthorized,
                "the session has expired or was ended; log in again",
            ));
        }
        return Ok((anonymous(), None));
    };
    let resolved = match &user {
        Ok(user) => user_info(task, user).ok_or(user.role_id),
        Err(json) => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(json).unwrap_or_default();
            custom_user_info(task, &map).map_err(|_| {
                map.get("role_id")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0)
            })
        }
    };
    let (info, role) = resolved.map_err(|role_id| {
        Error::unauthorized(format!(
            "your role (id {role_id}) no longer exists; ask an administrator"
        ))
    })?;
    Ok((
        Authenticated {
            caller: Caller {
                user: Some(info),
                role: Some(role),
            },
            needs_touch: now - last_seen >= touch_interval(task.settings.session_timeout),
        },
        Some(last_seen),
    ))
}

// ---------------------------------------------------------------------------------------------
// Login throttling

/// The throttling key of a login name.
pub fn login_key(login: &str) -> String {
    format!("login:{}", normalize_login(login))
}

/// The throttling key of a client address.
pub fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// `Conn::lock_key` names of the cleanups every login runs (see `delete_expired`); the `jamrs:`
/// prefix keeps them apart from throttling keys, which are `login:` and `address:`.
const SESSIONS_CLEANUP: &str = "jamrs:sessions-cleanup";
const FAILURES_CLEANUP: &str = "jamrs:login-failures-cleanup";

/// How long an attempt whose password is being checked holds its place in the count: long
/// past any check, so that only a process that died mid-check leaves one behind, and then not
/// for long.
pub const ATTEMPT_TTL: i64 = 60;

/// What [`reserve_attempt`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// A key has reached its limit of failed logins in the window: refuse (429).
    Throttled,
    /// Failed logins and attempts still being checked together fill a key's limit: wait until
    /// one of those checks ends, then ask again. Counting the attempts in flight keeps parallel
    /// guesses (to this process or another on the same database) within the limit; waiting
    /// instead of refusing lets correct logins sent at once all succeed.
    Busy,
    /// The attempt holds a place under every key until [`attempt_failed`] or
    /// [`attempt_succeeded`] settles it (or [`ATTEMPT_TTL`] passes).
    Reserved(String),
}

/// Checks the limits of `keys` (`limits[i]` failures allowed for `keys[i]` within `window`
/// seconds) and, if they allow one more attempt, records it as in flight. Run it in a write
/// transaction, so that two attempts cannot both take the last place.
pub fn reserve_attempt(
    conn: &mut dyn Conn,
    keys: &[String],
    limits: &[u64],
    now: i64,
    window: i64,
) -> Result<Gate> {
    // Several writers (connections of a pool, instances of jamrs) may run this at once: each
    // key is held until the transaction ends, so the counts below and the reservation after
    // them are one step. Taken in one order, so two attempts cannot wait for each other.
    let mut held: Vec<&String> = keys.iter().collect();
    held.sort();
    held.dedup();
    for key in held {
        conn.lock_key(key)?;
    }
    let mut busy = false;
    for (key, &limit) in keys.iter().zip(limits) {
        // Failures and attempts in flight are counted by one statement, so they are counted in
        // one state of the database: an attempt that turns from in flight to failed meanwhile
        // (`attempt_failed`, in another writer's transaction) is counted once, never zero
        // times.
        let q = sql(
            conn,
            &format!(
                "SELECT SUM(CASE WHEN pending = 0 AND at > ? THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN pending = 1 AND at > ? THEN 1 ELSE 0 END) \
                 FROM {LOGIN_FAILURES} WHERE key = ?"
            ),
            vec![
                Value::Int(now - window),
                Value::Int(now - ATTEMPT_TTL),
                Value::Text(key.clone()),
            ],
        );
        let row = conn.query(&q, &[FieldType::Integer, FieldType::Integer])?;
        let counted = |i: usize| -> u64 {
            row.first().and_then(|r| r[i].as_i64()).unwrap_or(0).max(0) as u64
        };
        let (failed, in_flight) = (counted(0), counted(1));
        if failed >= limit {
            return Ok(Gate::Throttled);
        }
        busy |= failed + in_flight >= limit;
    }
    if busy {
        return Ok(Gate::Busy);
    }
    // Every attempt removes every key's old rows: one at a time (see `delete_expired`), after
    // the keys (the one order all of this module's locks are taken in).
    conn.lock_key(FAILURES_CLEANUP)?;
    let q = sql(
        conn,
        &format!("DELETE FROM {LOGIN_FAILURES} WHERE at <= ?"),
        vec![Value::Int(now - window.max(ATTEMPT_TTL))],
    );
    conn.execute(&q)?;
    let attempt = new_token()?;
    for key in keys {
        let q = sql(
            conn,
            &format!(
                "INSERT INTO {LOGIN_FAILURES} (key, at, attempt, pending) VALUES (?, ?, ?, 1)"
            ),
            vec![
                Value::Text(key.clone()),
                Value::Int(now),
                Value::Text(attempt.clone()),
            ],
        );
        conn.execute(&q)?;
    }
    Ok(Gate::Reserved(attempt))
}

/// The attempt's password was wrong (or the login was refused): it counts as a failure under
/// every key, from now.
pub fn attempt_failed(conn: &mut dyn Conn, attempt: &str, now: i64) -> Result<()> {
    let q = sql(
        conn,
        &format!("UPDATE {LOGIN_FAILURES} SET pending = 0, at = ? WHERE attempt = ?"),
        vec![Value::Int(now), Value::Text(attempt.to_string())],
    );
    conn.execute(&q).map(|_| ())
}

/// The attempt succeeded: it counts for nothing, and the login's earlier failures are forgotten
/// (the address's stay: one correct password does not clear a spray of guesses at others).
pub fn attempt_succeeded(conn: &mut dyn Conn, attempt: &str, login_key: &str) -> Result<()> {
    // The login's rows are removed by each of its correct logins: held as in `reserve_attempt`.
    conn.lock_key(login_key)?;
    let q = sql(
        conn,
        &format!("DELETE FROM {LOGIN_FAILURES} WHERE attempt = ?"),
        vec![Value::Text(attempt.to_string())],
    );
    conn.execute(&q)?;
    clear_failures(conn, login_key)
}

/// Forgets the failures of a key (after a successful login).
pub fn clear_failures(conn: &mut dyn Conn, key: &str) -> Result<()> {
    let q = sql(
        conn,
        &format!("DELETE FROM {LOGIN_FAILURES} WHERE key = ?"),
        vec![Value::Text(key.to_string())],
    );
    conn.execute(&q).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cache_keys_tokens_of_the_cookies_length_only() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), TOKEN_LEN);
        let key = TokenKey::of(&token).unwrap();
        assert!(key == TokenKey::of(&token.clone()).unwrap());
        let mut other = token.clone().into_bytes();
        other[TOKEN_LEN - 1] ^= 1;
        assert!(key != TokenKey::of(std::str::from_utf8(&other).unwrap()).unwrap());
        assert!(TokenKey::of(&token[1..]).is_none());
        assert!(TokenKey::of(&format!("{token}x")).is_none());
    }

    #[test]
    fn sessions_are_touched_often_enough_for_their_timeout() {
        assert_eq!(touch_interval(8 * 3600), TOUCH_INTERVAL);
        assert_eq!(touch_interval(240), TOUCH_INTERVAL);
        assert_eq!(touch_interval(60), 15);
    }

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
        // The stored hashes of existing sessions keep matching: BLAKE2s-256 of "abc".
        assert_eq!(
            token_hash("abc"),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
        );
    }

    #[test]
    fn base64url_matches_the_standard_alphabet() {
        assert_eq!(base64url(b"Man"), "TWFu");
        assert_eq!(base64url(b"Ma"), "TWE");
        assert_eq!(base64url(b"M"), "TQ");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("jamrs: no such user", "garbage"));
        assert!(PasswordHash::new(dummy_hash()).is_ok());
    }

    #[test]
    fn generated_passwords_are_typeable() {
        let p = generate_password().unwrap();
        assert_eq!(p.chars().count(), 16);
        assert!(
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"lIO01".contains(c))
        );
        assert!(check_new_password(&p).is_ok());
        assert!(check_new_password("short").is_err());
    }
}
