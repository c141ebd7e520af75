//! `on_login` and `on_logout` of the task module, over real HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, assert_error};
use serde_json::json;

const TASK_TOML: &str = r#"name = "club"
safe_mode = true

[[groups]]
name = "all"
items = ["events", "audit"]

[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "member"
default = ["view"]
"#;

const EVENTS: &str = r#"callable = ["whoami"]

[[fields]]
name = "title"
type = "text"
size = 100
"#;

const AUDIT: &str = r#"[[fields]]
name = "what"
type = "text"
size = 200
"#;

/// Members log in with a club code instead of a jamrs user, with their club's details in
/// `user_info` (Jam.py lets on_login return any keys); every logout is written down. The
/// `bad-…` logins return what a session cannot keep.
const TASK_PY: &str = r#"
import datetime

def on_login(task, form_data, info):
    if form_data['login'].startswith('bad-'):
        audit = task.audit.copy()
        audit.open(open_empty=True)
        audit.append()
        audit.what.value = 'written before a bad answer'
        audit.post()
        audit.apply()
        base = {'user_id': 1, 'role_name': 'member'}
        kind = form_data['login'][len('bad-'):]
        if kind == 'big':
            base['notes'] = 'x' * 20000
        elif kind == 'set':
            base['tags'] = {'a', 'b'}
        elif kind == 'object':
            base['task'] = task
        elif kind == 'text':
            return 'yes'
        elif kind == 'keys':
            base['map'] = {1: 'one'}
        return base
    if form_data['login'].startswith('member-') and form_data['password'] == 'club-code-2026':
        number = int(form_data['login'][len('member-'):])
        return {'user_id': 10000 + number, 'user_name': 'Member %d' % number,
                'role_name': 'member', 'tenant_id': 7,
                'club': 'Chess & Go', 'perms': ['read', 'print'],
                'prefs': {'theme': 'dark', 'rows': 25, 'ratio': 0.5, 'beta': None},
                'since': datetime.date(2020, 1, 2), 'board': True}
    if form_data['login'] == 'raise':
        audit = task.audit.copy()
        audit.open(open_empty=True)
        audit.append()
        audit.what.value = 'written before raising'
        audit.post()
        audit.apply()
        raise Exception('no such member')
    return None

def on_logout(task, info):
    audit = task.audit.copy()
    audit.open(open_empty=True)
    audit.append()
    audit.what.value = 'logout %s of %s' % (info['user_info']['user_id'], info['user_info']['club'])
    audit.post()
    audit.apply()
"#;

/// Reads the session's user_info back in a later request, three ways.
const EVENTS_PY: &str = r#"
def whoami(item):
    info = item.session['user_info']
    return {'info': info, 'via_user_info': item.user_info['club'],
            'via_task': item.task.session['user_info']['prefs']['theme']}
"#;

fn club() -> TestServer {
    TestServer::from_files(&[
        ("jamrs.toml", TASK_TOML),
        ("task.py", TASK_PY),
        ("items/events.toml", EVENTS),
        ("items/events.py", EVENTS_PY),
        ("items/audit.toml", AUDIT),
    ])
}

/// Logs in through on_login; the client with the session's cookie.
fn member_login(server: &TestServer, login: &str) -> common::Client {
    let c = server.anonymous();
    let body = json!({"login": login, "password": "club-code-2026"});
    let r = c.send(
        "POST",
        "/api/login",
        Some("application/json"),
        &serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    common::Client::with_cookie(&server.url, Some(cookie))
}

#[test]
fn extra_user_info_keys_of_on_login_stay_with_the_session_for_server_modules() {
    let server = club();
    let member = member_login(&server, "member-5");
    let (status, body) = member.post_json("/api/items/events/call/whoami", &json!({"args": []}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["info"],
        json!({"user_id": 10005, "login": "10005", "user_name": "Member 5", "role_id": 2,
               "role_name": "member", "tenant_id": 7, "club": "Chess & Go",
               "perms": ["read", "print"],
               "prefs": {"theme": "dark", "rows": 25, "ratio": 0.5, "beta": null},
               "since": "2020-01-02", "board": true})
    );
    assert_eq!(body["result"]["via_user_info"], "Chess & Go");
    assert_eq!(body["result"]["via_task"], "dark");
    // Clients never see them: the API's user is jamrs's keys only.
    let (status, task) = member.get("/api/task");
    assert_eq!(status, 200, "{task}");
    assert_eq!(
        task["user"],
        json!({"user_id": 10005, "login": "10005", "user_name": "Member 5",
               "role_id": 2, "role_name": "member", "tenant_id": 7})
    );
    // on_logout gets them too.
    assert_eq!(member.post_json("/api/logout", &json!({})).0, 204);
    assert_eq!(
        server.db_query("SELECT what FROM audit"),
        vec![vec![rusqlite::types::Value::Text(
            "logout 10005 of Chess & Go".into()
        )]]
    );
}

#[test]
fn a_user_info_a_session_cannot_keep_fails_the_login_with_module_error_and_no_change() {
    let server = club();
    let c = server.anonymous();
    for (login, says) in [
        ("bad-big", "a session keeps at most 16384"),
        (
            "bad-set",
            "the session cannot keep: a set cannot be sent as JSON",
        ),
        ("bad-object", "the session cannot keep"),
        ("bad-keys", "dictionary keys sent as JSON must be strings"),
        ("bad-text", "on_login must return a user_info dict"),
    ] {
        let r = c.post_json("/api/login", &json!({"login": login, "password": "x"}));
        assert_error(&r, 400, "module_error");
        let message = r.1["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{login}: {message}");
        assert!(r.1.get("user").is_none());
    }
    // What on_login wrote before its bad answer was undone, and no session was made.
    assert!(server.db_query("SELECT what FROM audit").is_empty());
    assert!(
        server
            .db_query("SELECT token_hash FROM jamrs_sessions")
            .is_empty()
    );
}

#[test]
fn on_login_replaces_the_built_in_login() {
    let server = club();
    let c = server.anonymous();
    let body = json!({"login": "member-42", "password": "club-code-2026"});
    let r = c.send(
        "POST",
        "/api/login",
        Some("application/json"),
        &serde_json::to_vec(&body).unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["user"],
        json!({"user_id": 10042, "login": "10042", "user_name": "Member 42",
               "role_id": 2, "role_name": "member", "tenant_id": 7})
    );
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let member = common::Client::with_cookie(&server.url, Some(cookie));
    // The session works and carries the member's role (view only).
    let (status, task) = member.get("/api/task");
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["user"]["user_id"], 10042);
    assert_eq!(member.open("events", &json!({})).0, 200);
    let refused = member.apply(
        "events",
        &json!({"changes": [{"op": "insert", "values": {"title": "x"}}]}),
    );
    assert_error(&refused, 403, "forbidden");

    // A wrong code, a refusal by raising, and the built-in users: all the same 401.
    for (login, password) in [
        ("member-42", "wrong"),
        ("raise", "x"),
        ("admin", common::PASSWORD),
    ] {
        let r = c.post_json("/api/login", &json!({"login": login, "password": password}));
        assert_error(&r, 401, "unauthorized");
    }
    // What on_login wrote before it raised was undone with it.
    assert!(server.db_query("SELECT what FROM audit").is_empty());
}

#[test]
fn on_logout_runs_with_the_session_then_the_session_ends() {
    let server = club();
    let c = server.anonymous();
    let r = c.send(
        "POST",
        "/api/login",
        Some("application/json"),
        &serde_json::to_vec(&json!({"login": "member-7", "password": "club-code-2026"})).unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let member = common::Client::with_cookie(&server.url, Some(cookie));
    assert_eq!(member.post_json("/api/logout", &json!({})).0, 204);
    assert_eq!(
        server.db_query("SELECT what FROM audit"),
        vec![vec![rusqlite::types::Value::Text(
            "logout 10007 of Chess & Go".into()
        )]]
    );
    assert_error(&member.get("/api/task"), 401, "unauthorized");
}
