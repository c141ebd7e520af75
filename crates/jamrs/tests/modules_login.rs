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

const EVENTS: &str = r#"[[fields]]
name = "title"
type = "text"
size = 100
"#;

const AUDIT: &str = r#"[[fields]]
name = "what"
type = "text"
size = 200
"#;

/// Members log in with a club code instead of a jamrs user; every logout is written down.
const TASK_PY: &str = r#"
def on_login(task, form_data, info):
    if form_data['login'].startswith('member-') and form_data['password'] == 'club-code-2026':
        number = int(form_data['login'][len('member-'):])
        return {'user_id': 10000 + number, 'user_name': 'Member %d' % number,
                'role_name': 'member', 'tenant_id': 7}
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
    audit.what.value = 'logout %s' % info['user_info']['user_id']
    audit.post()
    audit.apply()
"#;

fn club() -> TestServer {
    TestServer::from_files(&[
        ("jamrs.toml", TASK_TOML),
        ("task.py", TASK_PY),
        ("items/events.toml", EVENTS),
        ("items/audit.toml", AUDIT),
    ])
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
        vec![vec![rusqlite::types::Value::Text("logout 10007".into())]]
    );
    assert_error(&member.get("/api/task"), 401, "unauthorized");
}
