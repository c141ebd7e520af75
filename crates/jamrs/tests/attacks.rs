//! The security baseline over real HTTP (product spec §7, reference §7.10–7.12), attacked as an
//! anonymous client, a second logged-in user, and a page in the user's browser would: paths
//! that try to reach project and database files, oversized requests and limits, login
//! throttling and `X-Forwarded-For`, forged cookies, form posts that ride on the user's
//! cookie, the page at `/`, and the security headers on every kind of answer. The attacks on
//! other users' rows are in `attacks_tenancy.rs`, `attacks_details.rs` and
//! `attacks_modules.rs`.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::tenancy::{Setup, World, seed, shop_files};
use common::{Client, PASSWORD, Reply, TestServer, assert_error, ok};
use serde_json::{Value, json};

/// A request sent byte for byte (no client normalizes its path); returns the status and the
/// whole answer as text.
fn raw(server: &TestServer, request_line: &str) -> (u16, String) {
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{request_line}\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn start(setup: Setup, extra: &str) -> TestServer {
    let files = shop_files(setup, extra, &[]);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    TestServer::from_files(&refs)
}

/// The security headers every answer carries.
#[track_caller]
fn assert_headers(reply: &Reply, what: &str) {
    let csp = reply.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{what}: CSP {csp:?}"
    );
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

// ---------------------------------------------------------------------------------------------
// Files.

/// No path reaches the project's files or its database: plain, `..`, percent-encoded `..` and
/// `/`, backslashes, double slashes, under `/api`, `/ext` and the UI's asset prefix.
#[test]
fn no_path_reaches_project_or_database_files() {
    let w = World::new(Setup::Builtin);
    seed(&w);
    let project = w.server.project();
    let task_toml = std::fs::read_to_string(project.join("jamrs.toml")).unwrap();
    // Markers of each file that must never be served, and of the system's.
    let secrets = [
        "[[roles]]",
        "[[fields]]",
        "soft_delete",
        "SQLite format 3",
        "root:",
        "[core]",
        "alice: note",
        "argon2id",
    ];
    assert!(task_toml.contains("[[roles]]"));
    let page = w.server.anonymous().send("GET", "/", None, &[]);
    let mut prefixes = vec![
        "/static".to_string(),
        "/ui/x".to_string(),
        "/jam".to_string(),
    ];
    // The UI's assets live under `/ui/<hash>/`, named in the page.
    if let Value::String(html) = &page.body
        && let Some(at) = html.find("/ui/")
    {
        let hash: String = html[at + 4..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let prefix = format!("/ui/{hash}");
        // The prefix is right: the UI's own files are served under it.
        let (status, _) = raw(&w.server, &format!("GET {prefix}/app.js HTTP/1.1"));
        assert_eq!(status, 200, "{prefix}/app.js");
        prefixes.push(prefix);
    }
    let mut paths: Vec<String> = [
        "/jamrs.toml",
        "/items/notes.toml",
        "/items/notes.py",
        "/task.py",
        "/data/shop.sqlite",
        "/data/shop.sqlite-wal",
        "/shop.sqlite",
        "/project/jamrs.toml",
        "/../jamrs.toml",
        "/%2e%2e/jamrs.toml",
        "/..%2fjamrs.toml",
        "/%2e%2e%2fjamrs.toml",
        "/.%2e/jamrs.toml",
        "/%252e%252e/jamrs.toml",
        "/..%5cjamrs.toml",
        "/%5c..%5cjamrs.toml",
        "//etc/passwd",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/.git/config",
        "/api/../jamrs.toml",
        "/api/%2e%2e/jamrs.toml",
        "/api/items/..%2f..%2fjamrs.toml/open",
        "/ext/../data/shop.sqlite",
        "/jam/js/jam.js",
        "/admin.sqlite",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    for prefix in &prefixes {
        for rest in [
            "/../jamrs.toml",
            "/../../jamrs.toml",
            "/%2e%2e/%2e%2e/jamrs.toml",
            "/..%2f..%2fjamrs.toml",
            "/%2e%2e%2f%2e%2e%2fdata%2fshop.sqlite",
            "/app.js/../../../jamrs.toml",
            "/....//....//jamrs.toml",
            "/..%00/jamrs.toml",
            "/items/notes.toml",
            "/data/shop.sqlite",
        ] {
            paths.push(format!("{prefix}{rest}"));
        }
    }
    for path in &paths {
        for method in ["GET", "HEAD", "POST"] {
            let (status, text) = raw(&w.server, &format!("{method} {path} HTTP/1.1"));
            assert!(
                (400..500).contains(&status),
                "{method} {path}: status {status}\n{text}"
            );
            for s in secrets {
                assert!(!text.contains(s), "{method} {path} serves {s:?}:\n{text}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes and limits.

#[test]
fn oversized_requests_are_413_and_change_nothing() {
    let w = World::on(
        Setup::Builtin,
        start(Setup::Builtin, "[server]\nmax_body_bytes = 2048\n"),
    );
    seed(&w);
    let big = "alice: ".to_string() + &"x".repeat(4096);
    let before = w.server.db_snapshot();
    for (path, body) in [
        (
            "/api/items/notes/open",
            json!({"filters": [["title", "eq", big]]}),
        ),
        (
            "/api/items/notes/apply",
            json!({"changes": [{"op": "insert", "values": {"title": big}}]}),
        ),
        ("/api/login", json!({"login": "alice", "password": big})),
        ("/api/items/notes/call/x", json!({"args": [big]})),
    ] {
        let reply = w.alice().post_json(path, &body);
        assert_error(&reply, 413, "bad_request");
    }
    assert_eq!(w.server.db_snapshot(), before);
    // Just under the limit is fine.
    ok(w.alice().open(
        "notes",
        &json!({"filters": [["title", "eq", "x".repeat(1500)]]}),
    ));
}

#[test]
fn limits_over_the_maximum_are_400() {
    let w = World::on(Setup::Builtin, start(Setup::Builtin, "max_limit = 3\n"));
    let data = seed(&w);
    common::insert(
        w.alice(),
        "notes",
        &[json!({"title": "alice: 3"}), json!({"title": "alice: 4"})],
    );
    let count = |params: Value| {
        ok(w.alice().open("notes", &params))["rows"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(json!({})), 3);
    assert_eq!(count(json!({"limit": 0})), 3);
    assert_eq!(count(json!({"limit": 3})), 3);
    for params in [
        json!({"limit": 4}),
        json!({"limit": u64::MAX}),
        json!({"limit": -1}),
        json!({"limit": "3"}),
    ] {
        assert_error(&w.alice().open("notes", &params), 400, "bad_request");
    }
    assert_error(
        &w.alice()
            .open("lines", &json!({"master": data[0].notes[0], "limit": 1000})),
        400,
        "bad_request",
    );
    let many: Vec<i64> = (0..10_001).collect();
    assert_error(
        &w.alice()
            .open("notes", &json!({"filters": [["id", "in", many]]})),
        400,
        "bad_request",
    );
}

// ---------------------------------------------------------------------------------------------
// Logins, addresses and cookies.

/// Failed logins are throttled per login and per address (429 with `Retry-After`, the right
/// password included), and without trusted proxies `X-Forwarded-For` changes neither the
/// address that is counted nor the one a session records — nor anything else (reference
/// §7.10: Jam.py wrote it into SQL).
#[test]
fn logins_are_throttled_and_x_forwarded_for_is_ignored() {
    let w = World::on(
        Setup::Builtin,
        start(
            Setup::Builtin,
            "[login]\nmax_failures = 3\nmax_failures_per_address = 6\n",
        ),
    );
    let users_before = w.server.db_query("SELECT * FROM jamrs_users ORDER BY id");
    let forged = [("x-forwarded-for", "9.9.9.9'--")];
    assert_eq!(w.server.try_login("alice", PASSWORD, &forged).status, 200);
    assert_eq!(
        w.server
            .db_query("SELECT DISTINCT address FROM jamrs_sessions"),
        w.server.db_query("VALUES ('127.0.0.1')")
    );
    assert_eq!(
        w.server.db_query("SELECT * FROM jamrs_users ORDER BY id"),
        users_before
    );
    // Per login: three failures, then even the right password waits.
    for i in 0..3 {
        let xff = format!("10.0.0.{i}");
        let r = w
            .server
            .try_login("bob", "wrong", &[("x-forwarded-for", &xff)]);
        assert_eq!(r.status, 401, "{:?}", r.body);
    }
    for xff in ["10.0.0.9", "1.2.3.4"] {
        let r = w
            .server
            .try_login("bob", PASSWORD, &[("x-forwarded-for", xff)]);
        assert_eq!(r.status, 429, "{:?}", r.body);
        assert_eq!(r.header("retry-after"), Some("900"));
        assert_headers(&r, "429");
    }
    // Per address: failures of other logins fill the address's budget, whatever the header
    // says, and then carol's right password waits too.
    for (login, xff) in [
        ("carol", "5.5.5.5"),
        ("nobody", "6.6.6.6"),
        ("ghost", "7.7.7.7"),
    ] {
        let r = w
            .server
            .try_login(login, "wrong", &[("x-forwarded-for", xff)]);
        assert_eq!(r.status, 401, "{login}: {:?}", r.body);
    }
    let r = w
        .server
        .try_login("carol", PASSWORD, &[("x-forwarded-for", "8.8.8.8")]);
    assert_eq!(r.status, 429, "{:?}", r.body);
    // A failed login does not echo what was sent.
    let r = w.server.try_login("<script>alert(1)</script>", "x", &[]);
    assert!(!r.body.to_string().contains("<script>"), "{:?}", r.body);
}

/// Cookies that are not a live session of this server are refused: made up, of another
/// project, the hash the database keeps, under another name, or plain user data (reference
/// §7.10: Jam.py's cookies could be minted, and replayed into the builder).
#[test]
fn forged_cookies_are_refused() {
    let w = World::new(Setup::Builtin);
    let data = seed(&w);
    let other = start(Setup::Builtin, "");
    other.add_user("alice", "user", None);
    let elsewhere = other.login("alice", PASSWORD).cookie.unwrap();
    let hash: String = match &w
        .server
        .db_query("SELECT token_hash FROM jamrs_sessions LIMIT 1")[0][0]
    {
        rusqlite::types::Value::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(hash.len(), 64);
    let token = w.alice().cookie.clone().unwrap();
    let value = token.split_once('=').unwrap().1.to_string();
    let forged = [
        elsewhere,
        format!("jamrs_session={}", "A".repeat(43)),
        format!("jamrs_session={hash}"),
        format!("jamrs_session={}", &hash[..43]),
        format!("session={value}"),
        format!("jamrs_session_8080={value}"),
        format!("admin_session_8080={value}"),
        format!("jamrs_session={value}x"),
        format!("jamrs_session={}", &value[..42]),
        "user_id=1; role_id=1; admin=1".to_string(),
        format!("jamrs_session={}'--", "a".repeat(40)),
    ];
    let before = w.server.db_snapshot();
    for cookie in forged {
        let c = Client::with_cookie(&w.server.url, Some(cookie.clone()));
        assert_error(&c.get("/api/task"), 401, "unauthorized");
        assert_error(&c.open("notes", &json!({})), 401, "unauthorized");
        assert_error(
            &c.apply(
                "notes",
                &json!({"changes": [{"op": "delete", "id": data[0].notes[0]}]}),
            ),
            401,
            "unauthorized",
        );
        assert_error(
            &c.post_json("/api/items/notes/call/x", &json!({})),
            401,
            "unauthorized",
        );
    }
    assert_eq!(w.server.db_snapshot(), before);
    // The real one works, and the database holds no password and no token in clear.
    ok(w.alice().open("notes", &json!({})));
    for row in w.server.db_query("SELECT password_hash FROM jamrs_users") {
        let rusqlite::types::Value::Text(h) = &row[0] else {
            panic!("{row:?}")
        };
        assert!(h.starts_with("$argon2id$") && !h.contains(PASSWORD), "{h}");
    }
    assert!(
        w.server
            .db_query("SELECT token_hash FROM jamrs_sessions")
            .iter()
            .all(|r| r[0] != rusqlite::types::Value::Text(value.clone()))
    );
}

/// A page in the user's browser can make it send the cookie with a form post, but the API
/// takes JSON only (a cross-site form cannot send `application/json` without CORS, which
/// jamrs does not allow): 415, nothing changes.
#[test]
fn form_posts_riding_on_the_cookie_change_nothing() {
    let w = World::new(Setup::Builtin);
    let data = seed(&w);
    let before = w.server.db_snapshot();
    let body = format!(
        "{{\"changes\": [{{\"op\": \"delete\", \"id\": {}}}]}}",
        data[0].notes[0]
    );
    for ct in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let reply = w
            .alice()
            .post_raw("/api/items/notes/apply", ct, body.as_bytes());
        assert_error(&reply, 415, "bad_request");
    }
    assert_eq!(w.server.db_snapshot(), before);
    // The cookie itself: not readable by scripts, not sent with other sites' form posts.
    let set_cookie = w.server.try_login("alice", PASSWORD, &[]);
    let set_cookie = set_cookie.header("set-cookie").unwrap_or("");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
}

// ---------------------------------------------------------------------------------------------
// The page and the headers.

/// The page the server renders at `/` escapes what the project names (reference §7.10: Jam.py
/// reflected input into pages).
#[test]
fn the_page_at_root_escapes_html() {
    let server = TestServer::from_files(&[
        (
            "jamrs.toml",
            r#"name = "xss"
caption = "<script>alert('task')</script> & \"co\""
safe_mode = false

[[groups]]
name = "g"
caption = "<b onmouseover=alert(1)>group</b>"
items = ["notes"]
"#,
        ),
        (
            "items/notes.toml",
            "caption = \"<img src=x onerror=alert(1)>\"\n\n[[fields]]\nname = \"title\"\ntype = \"text\"\nsize = 10\n",
        ),
    ]);
    let reply = server.anonymous().send("GET", "/", None, &[]);
    assert_eq!(reply.status, 200);
    assert_headers(&reply, "/");
    let Value::String(html) = &reply.body else {
        panic!("{:?}", reply.body)
    };
    for raw in ["<script>alert", "<img src=x", "<b onmouseover"] {
        assert!(!html.contains(raw), "{raw} in {html}");
    }
    assert!(html.contains("&lt;script&gt;alert("), "{html}");
}

/// Every kind of answer carries the security headers, errors included.
#[test]
fn every_answer_carries_the_security_headers() {
    let server = start(
        Setup::Builtin,
        "[server]\nmax_body_bytes = 2048\n[login]\nmax_failures = 1\n",
    );
    server.add_user("alice", "user", None);
    let alice = server.login("alice", PASSWORD);
    let anonymous = server.anonymous();
    let json = Some("application/json");
    let big = serde_json::to_vec(&json!({"fields": ["x".repeat(4096)]})).unwrap();
    let mut replies = vec![
        ("page", anonymous.send("GET", "/", None, &[])),
        (
            "openapi",
            anonymous.send("GET", "/api/openapi.json", None, &[]),
        ),
        ("401", anonymous.send("GET", "/api/task", None, &[])),
        ("200 task", alice.send("GET", "/api/task", None, &[])),
        (
            "200 open",
            alice.send("POST", "/api/items/notes/open", json, b"{}"),
        ),
        (
            "400",
            alice.send("POST", "/api/items/notes/open", json, b"{"),
        ),
        (
            "404 item",
            alice.send("POST", "/api/items/nope/open", json, b"{}"),
        ),
        (
            "404 route",
            anonymous.send("GET", "/nope/../../jamrs.toml", None, &[]),
        ),
        ("405", alice.send("GET", "/api/items/notes/open", None, &[])),
        (
            "413",
            alice.send("POST", "/api/items/notes/open", json, &big),
        ),
        (
            "415",
            alice.send("POST", "/api/items/notes/open", Some("text/plain"), b"{}"),
        ),
        (
            "422",
            alice.send(
                "POST",
                "/api/items/notes/apply",
                json,
                br#"{"changes": [{"op": "insert", "values": {}}]}"#,
            ),
        ),
        (
            "403",
            alice.send(
                "POST",
                "/api/items/notes/open",
                json,
                br#"{"fields": ["secret"]}"#,
            ),
        ),
        ("ext 404", anonymous.send("POST", "/ext/nope", json, b"{}")),
    ];
    server.try_login("alice", "wrong", &[]);
    replies.push(("429", server.try_login("alice", "wrong", &[])));
    replies.push(("logout", alice.send("POST", "/api/logout", json, b"{}")));
    let statuses: Vec<u16> = replies.iter().map(|(_, r)| r.status).collect();
    for (what, reply) in &replies {
        assert_headers(reply, what);
    }
    for s in [200, 204, 400, 401, 403, 404, 405, 413, 415, 422, 429] {
        assert!(statuses.contains(&s), "no {s} among {statuses:?}");
    }
}
