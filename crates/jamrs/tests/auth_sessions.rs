//! Logging in and staying logged in, over real HTTP on a real SQLite file: what login answers
//! and sets, logout and a replayed cookie, expiry and its sliding, disabled users, changed
//! passwords and vanished roles, login throttling (per login, per address, under parallel
//! attempts, X-Forwarded-For only from trusted proxies), form-encoded posts, and who an
//! anonymous request is with and without safe mode (reference §5.1–5.5, §7.10).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Client, PASSWORD, Reply, TestServer, assert_error, ok};
use serde_json::{Value, json};

const NOTES: &str = r#"
[[fields]]
name = "title"
type = "text"
size = 50

[[fields]]
name = "secret"
type = "text"
size = 50
"#;

const ROLES: &str = r#"
[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "user"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 3
name = "guest"
default = ["view"]
items = { drafts = [] }
fields = { "notes.secret" = "prohibited" }
"#;

/// A project with `notes` and `drafts`, the roles above, and `settings` (top-level keys and
/// tables such as `[login]`) in `jamrs.toml`.
fn server(settings: &str) -> TestServer {
    let task = format!(
        "name = \"s\"\n{settings}\n[[groups]]\nname = \"g\"\nitems = [\"notes\", \"drafts\"]\n{ROLES}"
    );
    TestServer::from_files(&[
        ("jamrs.toml", &task),
        ("items/notes.toml", NOTES),
        ("items/drafts.toml", NOTES),
    ])
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The session cookie's `name=value` of a login reply.
fn cookie_of(r: &Reply) -> Option<String> {
    r.header("set-cookie")
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// The three requests a session is for: metadata, an open and an apply.
fn task_open_apply(c: &Client) -> [(u16, Value); 3] {
    [
        c.get("/api/task"),
        c.open("notes", &json!({})),
        c.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "x"}}]}),
        ),
    ]
}

/// Each of the three is 401 in the error contract, and the database did not change.
#[track_caller]
fn refused_everywhere(server: &TestServer, c: &Client) -> Vec<String> {
    let before = server.db_snapshot();
    let mut messages = Vec::new();
    for reply in task_open_apply(c) {
        let err = assert_error(&reply, 401, "unauthorized");
        messages.push(err["message"].as_str().unwrap().to_string());
    }
    assert_eq!(
        server.db_snapshot(),
        before,
        "a refused request changed data"
    );
    messages
}

#[track_caller]
fn works(c: &Client) {
    for (status, body) in task_open_apply(c) {
        assert_eq!(status, 200, "{body}");
    }
}

fn sessions(server: &TestServer) -> i64 {
    server.db_int("SELECT COUNT(*) FROM jamrs_sessions")
}

/// Waits until `f` holds (a write the server queues after answering).
#[track_caller]
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(20), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// Login and the cookie

#[test]
fn login_returns_the_user_and_a_cookie_that_holds_no_user_data() {
    let server = server("");
    server.add_user("alice", "user", Some(7));
    let user_id = server.db_int("SELECT id FROM jamrs_users WHERE login = 'alice'");
    // Logins are compared without case and surrounding spaces.
    let r = server.try_login(" Alice ", PASSWORD, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"user": {"user_id": user_id, "user_name": "alice", "role_id": 2,
                        "role_name": "user", "tenant_id": 7, "login": "alice"}})
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let set = r.header("set-cookie").unwrap();
    let attrs: Vec<&str> = set.split(';').map(str::trim).collect();
    let (name, token) = attrs[0].split_once('=').unwrap();
    assert_eq!(name, "jamrs_session");
    assert_eq!(
        attrs[1..].to_vec(),
        ["Path=/", "HttpOnly", "SameSite=Lax"],
        "not Secure unless server.secure_cookies: {set}"
    );
    // 32 random bytes, nothing else: no login, id or role, signed or not.
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(
        !token.contains("alice") && !token.contains("user"),
        "{token}"
    );
    // The database keeps a hash of the token, never the token.
    let stored = server.db_query("SELECT token_hash, user_id, address FROM jamrs_sessions");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        !format!("{stored:?}").contains(token),
        "the token is stored as is"
    );
    assert_eq!(
        stored[0][1..],
        [
            rusqlite::types::Value::Integer(user_id),
            rusqlite::types::Value::Text("127.0.0.1".into())
        ]
    );

    // The cookie is the session: /api/task tells who it is.
    let c = Client::with_cookie(&server.url, cookie_of(&r));
    let task = ok(c.get("/api/task"));
    assert_eq!(task["user"], r.body["user"]);
}

#[test]
fn the_cookie_is_secure_when_the_project_says_so() {
    let server = server("[server]\nsecure_cookies = true\n");
    server.add_user("alice", "user", None);
    let r = server.try_login("alice", PASSWORD, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap();
    let attrs: Vec<&str> = set.split(';').map(str::trim).collect();
    assert_eq!(
        attrs[1..].to_vec(),
        ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"],
        "{set}"
    );
    let c = Client::with_cookie(&server.url, cookie_of(&r));
    let out = c.send("POST", "/api/logout", None, &[]);
    assert_eq!(out.status, 204);
    let cleared = out.header("set-cookie").unwrap();
    for attr in [
        "jamrs_session=;",
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=0",
        "Secure",
    ] {
        assert!(cleared.contains(attr), "{attr} in {cleared}");
    }
}

/// Reference §5.2: no oracle telling which logins exist or are disabled.
#[test]
fn an_unknown_login_a_wrong_password_and_a_disabled_user_get_the_same_401() {
    let server = server("");
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    jamrs::users::set_active(&server.task(), "bob", false).unwrap();
    let before = sessions(&server);
    let replies = [
        server.try_login("nobody", PASSWORD, &[]),
        server.try_login("alice", "wrong-password", &[]),
        server.try_login("bob", PASSWORD, &[]),
        server.try_login("", "", &[]),
    ];
    for r in &replies {
        assert_error(&(r.status, r.body.clone()), 401, "unauthorized");
        assert_eq!(r.body, replies[0].body);
        assert!(r.header("set-cookie").is_none(), "{:?}", r.headers);
    }
    assert_eq!(
        replies[0].body["error"]["message"],
        "wrong login or password"
    );
    assert_eq!(sessions(&server), before, "no session for a failed login");
}

// ---------------------------------------------------------------------------------------------
// Ending sessions

#[test]
fn logout_revokes_the_session_and_a_replayed_cookie_is_refused() {
    let server = server("");
    server.add_user("alice", "user", None);
    let first = server.login("alice", PASSWORD);
    let second = server.login("alice", PASSWORD);
    works(&first);
    let before = sessions(&server);

    let out = first.send("POST", "/api/logout", None, &[]);
    assert_eq!((out.status, &out.body), (204, &Value::Null));
    let cleared = out.header("set-cookie").unwrap();
    assert!(
        cleared.starts_with("jamrs_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(sessions(&server), before - 1, "the row is gone");

    // The same cookie, sent again as an attacker who copied it would.
    let replay = Client::with_cookie(&server.url, first.cookie.clone());
    let messages = refused_everywhere(&server, &replay);
    assert!(messages[0].contains("log in again"), "{messages:?}");
    // The user's other session is untouched.
    works(&second);
    // A second logout with the dead cookie changes nothing.
    assert_eq!(replay.send("POST", "/api/logout", None, &[]).status, 204);
    assert_eq!(sessions(&server), before - 1);
}

#[test]
fn a_session_expires_after_the_timeout_without_requests() {
    let server = server("session_timeout = 60\n");
    server.add_user("alice", "user", None);
    let first = server.login("alice", PASSWORD);
    let second = server.login("alice", PASSWORD);
    works(&first);
    // The first session has gone 61 s without a request; the second 50 s. (A session row is
    // found by the hash of its cookie's token, as the server finds it.)
    let age = |client: &Client, seconds: i64| {
        let cookie = client.cookie.as_deref().unwrap();
        let token = cookie.split_once('=').unwrap().1;
        let changed = server.db_execute(&format!(
            "UPDATE jamrs_sessions SET last_seen = {} WHERE token_hash = '{}'",
            now() - seconds,
            jamrs_store::auth::token_hash(token)
        ));
        assert_eq!(changed, 1);
    };
    age(&first, 61);
    age(&second, 50);
    let messages = refused_everywhere(&server, &first);
    assert!(messages[0].contains("expired"), "{messages:?}");
    assert_eq!(second.get("/api/task").0, 200, "just inside the timeout");
}

/// Every request slides the expiry, including `GET /api/task`, and often enough that a session
/// in use every few seconds never expires, even with the shortest timeout.
#[test]
fn requests_slide_the_expiry() {
    let server = server("session_timeout = 60\n");
    server.add_user("alice", "user", None);
    let c = server.login("alice", PASSWORD);
    let alice = "user_id = (SELECT id FROM jamrs_users WHERE login = 'alice')";
    let last_seen = || {
        server.db_int(&format!(
            "SELECT last_seen FROM jamrs_sessions WHERE {alice}"
        ))
    };
    let requests: [(&str, &dyn Fn() -> u16); 3] = [
        ("GET /api/task", &|| c.get("/api/task").0),
        ("open", &|| c.open("notes", &json!({})).0),
        ("apply", &|| c.apply("notes", &json!({"changes": []})).0),
    ];
    for (what, request) in requests {
        // 45 s ago: alive, but only 15 s left unless this request slides it.
        server.db_execute(&format!(
            "UPDATE jamrs_sessions SET last_seen = {} WHERE {alice}",
            now() - 45
        ));
        assert_eq!(request(), 200, "{what}");
        eventually(&format!("{what} slides the expiry"), || {
            last_seen() >= now() - 5
        });
    }
}

#[test]
fn disabling_a_user_ends_their_sessions_and_login() {
    let server = server("");
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    let alice = server.login("alice", PASSWORD);
    let bob = server.login("bob", PASSWORD);
    works(&alice);

    jamrs::users::set_active(&server.task(), "alice", false).unwrap();
    refused_everywhere(&server, &alice);
    let r = server.try_login("alice", PASSWORD, &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    works(&bob);

    // Enabled again: a new login works, the old session stays dead.
    jamrs::users::set_active(&server.task(), "alice", true).unwrap();
    works(&server.login("alice", PASSWORD));
    refused_everywhere(&server, &alice);

    // A user made inactive behind the server's back (no revocation) is refused as well.
    let again = server.login("alice", PASSWORD);
    server.db_execute("UPDATE jamrs_users SET active = 0 WHERE login = 'alice'");
    refused_everywhere(&server, &again);
}

#[test]
fn a_new_password_ends_the_users_sessions() {
    let server = server("");
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    let sessions_of_alice = [
        server.login("alice", PASSWORD),
        server.login("alice", PASSWORD),
    ];
    let bob = server.login("bob", PASSWORD);
    jamrs::users::passwd(&server.task(), "alice", Some("a-new-password".into())).unwrap();
    for s in &sessions_of_alice {
        refused_everywhere(&server, s);
    }
    assert_eq!(server.try_login("alice", PASSWORD, &[]).status, 401);
    works(&server.login("alice", "a-new-password"));
    works(&bob);
    works(&server.client());
}

#[test]
fn a_session_whose_role_vanished_is_refused() {
    let server = server("");
    server.add_user("alice", "user", None);
    let c = server.login("alice", PASSWORD);
    works(&c);
    // The role with id 2 is no longer in the metadata for this user (as when a role is removed
    // from jamrs.toml while users still have it).
    server.db_execute("UPDATE jamrs_users SET role_id = 99 WHERE login = 'alice'");
    let messages = refused_everywhere(&server, &c);
    assert!(messages[0].contains("role"), "{messages:?}");
    let r = server.try_login("alice", PASSWORD, &[]);
    assert_error(&(r.status, r.body.clone()), 401, "unauthorized");
    assert_eq!(
        r.body,
        server.try_login("nobody", PASSWORD, &[]).body,
        "the same answer as any failed login"
    );
}

// ---------------------------------------------------------------------------------------------
// Throttling

/// Settled failures of `key` (attempts still being checked are not failures).
fn failures(server: &TestServer, key: &str) -> i64 {
    server.db_int(&format!(
        "SELECT COUNT(*) FROM jamrs_login_failures WHERE key = '{key}' AND pending = 0"
    ))
}

#[track_caller]
fn assert_throttled(r: &Reply, window: &str) {
    assert_error(&(r.status, r.body.clone()), 429, "too_many_requests");
    assert_eq!(r.header("retry-after"), Some(window), "{:?}", r.headers);
    assert!(r.header("set-cookie").is_none());
}

#[test]
fn failed_logins_are_throttled_per_login_and_per_address() {
    let server =
        server("[login]\nmax_failures = 3\nmax_failures_per_address = 5\nwindow_seconds = 600\n");
    for u in ["alice", "bob", "carol"] {
        server.add_user(u, "user", None);
    }
    for _ in 0..3 {
        assert_eq!(server.try_login("alice", "wrong-password", &[]).status, 401);
    }
    assert_eq!(failures(&server, "login:alice"), 3);
    let before = sessions(&server);
    // Now even the right password is refused, without being checked, until the window ends.
    let r = server.try_login("alice", PASSWORD, &[]);
    assert_throttled(&r, "600");
    let r = server.try_login("ALICE", PASSWORD, &[]);
    assert_throttled(&r, "600");
    assert_eq!(sessions(&server), before);
    assert_eq!(
        failures(&server, "login:alice"),
        3,
        "a refused attempt is not counted"
    );

    // Another login from the same address still works: 3 of the address's 5.
    server.login("bob", PASSWORD);
    assert_eq!(failures(&server, "address:127.0.0.1"), 3);
    for _ in 0..2 {
        assert_eq!(server.try_login("carol", "wrong-password", &[]).status, 401);
    }
    // The address has had 5: everyone from it waits, whatever the login.
    assert_throttled(&server.try_login("bob", PASSWORD, &[]), "600");
    assert_throttled(&server.try_login("dave", "x", &[]), "600");

    // Failures older than the window no longer count.
    server.db_execute(&format!(
        "UPDATE jamrs_login_failures SET at = {}",
        now() - 601
    ));
    server.login("alice", PASSWORD);
    server.login("bob", PASSWORD);
}

#[test]
fn a_successful_login_clears_the_logins_failures() {
    let server = server("[login]\nmax_failures = 3\nmax_failures_per_address = 50\n");
    server.add_user("alice", "user", None);
    for _ in 0..2 {
        assert_eq!(server.try_login("alice", "wrong-password", &[]).status, 401);
    }
    server.login("alice", PASSWORD);
    assert_eq!(failures(&server, "login:alice"), 0);
    assert_eq!(
        failures(&server, "address:127.0.0.1"),
        2,
        "the address keeps its failures; a success does not count against it"
    );
    for _ in 0..3 {
        assert_eq!(server.try_login("alice", "wrong-password", &[]).status, 401);
    }
    assert_throttled(&server.try_login("alice", PASSWORD, &[]), "900");
}

/// Attempts sent at once cannot all pass the check before any of them is counted.
#[test]
fn parallel_attempts_are_throttled_too() {
    let server = server("[login]\nmax_failures = 3\nmax_failures_per_address = 100\n");
    server.add_user("alice", "user", None);
    let n = 16;
    let barrier = Barrier::new(n);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    server.try_login("alice", "wrong-password", &[]).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, throttled),
        (3, n - 3),
        "only max_failures passwords are tried: {statuses:?}"
    );
    assert_eq!(failures(&server, "login:alice"), 3);
}

/// Issue 12 §5: eight correct logins of one user sent at once, with a limit of five failures:
/// an attempt is not a failure before its password is found wrong, so all eight succeed
/// (attempts past the limit wait for those in flight instead of being refused).
#[test]
fn correct_logins_sent_at_once_all_succeed() {
    let server = server("[login]\nmax_failures = 5\nmax_failures_per_address = 5\n");
    server.add_user("alice", "user", None);
    let n = 8;
    let barrier = Barrier::new(n);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    server.try_login("alice", PASSWORD, &[]).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; n]);
    assert_eq!(failures(&server, "login:alice"), 0);
    assert_eq!(failures(&server, "address:127.0.0.1"), 0);
    assert_eq!(
        server.db_int("SELECT COUNT(*) FROM jamrs_login_failures"),
        0,
        "no attempt is left in flight"
    );
}

/// Right and wrong passwords at once: the wrong ones are held to the limit, the right ones
/// are not refused while places remain.
#[test]
fn parallel_right_and_wrong_logins_keep_the_limit_exactly() {
    let server = server("[login]\nmax_failures = 3\nmax_failures_per_address = 100\n");
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    let n = 12;
    let barrier = Barrier::new(2 * n);
    let (wrong, right): (Vec<u16>, Vec<u16>) = std::thread::scope(|s| {
        let wrong: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    server.try_login("alice", "wrong-password", &[]).status
                })
            })
            .collect();
        let right: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    server.try_login("bob", PASSWORD, &[]).status
                })
            })
            .collect();
        (
            wrong.into_iter().map(|h| h.join().unwrap()).collect(),
            right.into_iter().map(|h| h.join().unwrap()).collect(),
        )
    });
    let mut wrong = wrong;
    wrong.sort_unstable();
    assert_eq!(wrong, [[401; 3].as_slice(), &[429; 9]].concat());
    assert_eq!(right, vec![200; n]);
    assert_eq!(failures(&server, "login:alice"), 3);
}

#[test]
fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let settings = "[login]\nmax_failures = 100\nmax_failures_per_address = 2\n";
    // Not trusted: the header is the client's to invent, so the socket's address counts.
    let direct = server(settings);
    for (i, xff) in ["203.0.113.1", "203.0.113.2"].iter().enumerate() {
        let r = direct.try_login(&format!("u{i}"), "x", &[("x-forwarded-for", xff)]);
        assert_eq!(r.status, 401);
    }
    assert_eq!(failures(&direct, "address:127.0.0.1"), 2);
    assert_eq!(
        direct.db_int("SELECT COUNT(*) FROM jamrs_login_failures WHERE key LIKE 'address:203.%'"),
        0
    );
    let r = direct.try_login("u9", "x", &[("x-forwarded-for", "198.51.100.7")]);
    assert_throttled(&r, "900");

    // Behind a trusted proxy (the test connects from 127.0.0.1): the client it forwards for.
    let proxied = server(&format!(
        "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n{settings}"
    ));
    proxied.add_user("alice", "user", None);
    for i in 0..2 {
        let r = proxied.try_login(&format!("u{i}"), "x", &[("x-forwarded-for", "203.0.113.1")]);
        assert_eq!(r.status, 401);
    }
    assert_eq!(failures(&proxied, "address:203.0.113.1"), 2);
    assert_eq!(failures(&proxied, "address:127.0.0.1"), 0);
    let blocked = proxied.try_login("alice", PASSWORD, &[("x-forwarded-for", "203.0.113.1")]);
    assert_throttled(&blocked, "900");
    // Another client behind the same proxy is not held up; its session records its address.
    let r = proxied.try_login(
        "alice",
        PASSWORD,
        &[("x-forwarded-for", "203.0.113.1, 198.51.100.7")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let addresses = proxied.db_query(
        "SELECT s.address FROM jamrs_sessions s JOIN jamrs_users u ON u.id = s.user_id WHERE u.login = 'alice'",
    );
    assert_eq!(
        addresses,
        [[rusqlite::types::Value::Text("198.51.100.7".into())]]
    );
}

// ---------------------------------------------------------------------------------------------
// Bodies a browser form could send

/// An HTML form on another site can post form encodings and text/plain without a preflight;
/// none of them reaches login, open or apply.
#[test]
fn form_encoded_and_text_posts_are_415() {
    let server = server("");
    server.add_user("alice", "user", None);
    let c = server.login("alice", PASSWORD);
    let before = server.db_snapshot();
    let form = format!("login=alice&password={PASSWORD}");
    let json_text = format!("{{\"login\": \"alice\", \"password\": \"{PASSWORD}\"}}");
    for (ct, body) in [
        ("application/x-www-form-urlencoded", form.as_str()),
        ("multipart/form-data; boundary=x", "--x\r\n\r\n--x--"),
        ("text/plain", json_text.as_str()),
    ] {
        let anon = Client::new(&server.url);
        let r = anon.post_raw("/api/login", ct, body.as_bytes());
        assert_error(&r, 415, "bad_request");
        for path in ["/api/items/notes/open", "/api/items/notes/apply"] {
            let body = r#"{"changes": [{"op": "insert", "values": {"title": "csrf"}}]}"#;
            assert_error(&c.post_raw(path, ct, body.as_bytes()), 415, "bad_request");
        }
    }
    assert_eq!(
        server.db_snapshot(),
        before,
        "no session, no counted failure, no row"
    );
}

// ---------------------------------------------------------------------------------------------
// Anonymous requests

fn index_page(server: &TestServer) -> String {
    let r = server.anonymous().send("GET", "/", None, &[]);
    assert_eq!(r.status, 200);
    r.body.as_str().unwrap().to_string()
}

/// Safe mode is on by default: every endpoint but login answers 401 without a live session.
#[test]
fn with_safe_mode_every_endpoint_but_login_needs_a_session() {
    let server = server("");
    let fake = format!("jamrs_session={}", "A".repeat(43));
    for cookie in [None, Some("jamrs_session=garbage".to_string()), Some(fake)] {
        let c = Client::with_cookie(&server.url, cookie);
        let messages = refused_everywhere(&server, &c);
        assert!(!messages[0].is_empty());
        assert_error(&c.open("nope", &json!({})), 401, "unauthorized");
    }
    // The page at `/` is served to anyone, so it names no item.
    let page = index_page(&server);
    assert!(
        !page.contains("notes") && !page.contains("drafts"),
        "{page}"
    );
    // Login itself is open, and the task says safe mode is on.
    let task = ok(server.client().get("/api/task"));
    assert_eq!(task["safe_mode"], true);
}

#[test]
fn without_safe_mode_and_anonymous_role_anonymous_requests_are_unrestricted() {
    let server = server("safe_mode = false\n");
    server.add_user("gina", "guest", None);
    let anon = server.anonymous();
    let task = ok(anon.get("/api/task"));
    assert_eq!(task["user"], Value::Null);
    assert_eq!(task["safe_mode"], false);
    for item in ["notes", "drafts"] {
        assert_eq!(
            task["privileges"][item],
            json!({"can_view": true, "can_create": true, "can_edit": true, "can_delete": true})
        );
    }
    // The page at `/` is the web UI, the same for everyone: the menu comes from `/api/task`.
    let page = index_page(&server);
    assert!(
        !page.contains("notes") && !page.contains("drafts"),
        "{page}"
    );
    let id = common::insert(&anon, "notes", &[json!({"title": "t", "secret": "s"})])[0];
    let rows = ok(anon.open("notes", &json!({"fields": ["id", "secret"]})));
    assert_eq!(rows["rows"], json!([[id, "s"]]));

    // A user who logs in gets their role, safe mode or not.
    let gina = server.login("gina", PASSWORD);
    let task = ok(gina.get("/api/task"));
    assert_eq!(task["user"]["role_name"], "guest");
    let err = assert_error(
        &gina.open("notes", &json!({"fields": ["secret"]})),
        403,
        "forbidden",
    );
    assert_eq!(common::error_fields(&err), ["fields[0]"]);
    // Once that session ends, the same cookie is an anonymous request again.
    assert_eq!(gina.send("POST", "/api/logout", None, &[]).status, 204);
    assert_eq!(ok(gina.get("/api/task"))["user"], Value::Null);
}

#[test]
fn without_safe_mode_anonymous_requests_get_the_anonymous_role() {
    let server = server("safe_mode = false\nanonymous_role = \"guest\"\n");
    server.add_user("alice", "user", None);
    let alice = server.login("alice", PASSWORD);
    common::insert(&alice, "notes", &[json!({"title": "t", "secret": "s"})]);

    let anon = server.anonymous();
    let task = ok(anon.get("/api/task"));
    assert_eq!(task["user"], Value::Null);
    assert_eq!(
        task["privileges"],
        json!({"notes": {"can_view": true, "can_create": false, "can_edit": false, "can_delete": false}}),
        "drafts, which the guest cannot view, is left out"
    );
    let fields: Vec<&str> = task["items"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "title"]);

    let page = index_page(&server);
    assert!(
        !page.contains("notes") && !page.contains("drafts"),
        "{page}"
    );
    let rows = ok(anon.open("notes", &json!({})));
    assert_eq!(rows["fields"], json!(["id", "title"]));
    assert!(!rows.to_string().contains("\"s\""), "{rows}");
    assert_error(&anon.open("drafts", &json!({})), 403, "forbidden");
    let before = server.db_snapshot();
    let err = assert_error(
        &anon.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "spam"}}]}),
        ),
        403,
        "forbidden",
    );
    assert_eq!(common::error_fields(&err), ["changes[0]"]);
    assert_eq!(server.db_snapshot(), before);

    // A dead cookie does not lock anyone out without safe mode: it is simply anonymous.
    let stale = Client::with_cookie(
        &server.url,
        Some(format!("jamrs_session={}", "B".repeat(43))),
    );
    assert_eq!(ok(stale.get("/api/task"))["user"], Value::Null);
    assert_error(&stale.open("drafts", &json!({})), 403, "forbidden");
    // The logged-in user keeps their own role.
    assert_eq!(ok(alice.open("drafts", &json!({})))["rows"], json!([]));
}

/// Sessions idle past the timeout are deleted from the table at the next login.
#[test]
fn expired_sessions_are_deleted_at_the_next_login() {
    let server = TestServer::template("notes");
    let _old = server.client();
    server.db_execute("UPDATE jamrs_sessions SET last_seen = last_seen - 100000");
    assert_eq!(server.db_int("SELECT COUNT(*) FROM jamrs_sessions"), 1);
    let _new = server.client();
    assert_eq!(
        server.db_int("SELECT COUNT(*) FROM jamrs_sessions"),
        1,
        "only the new one"
    );
}
