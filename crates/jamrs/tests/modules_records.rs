//! The Jam.py server API of file fields, record versions and history in Python handlers: a file
//! field's `value` is its stored name, `display_text` the name a person gave it, `file_path`
//! where it is on disk; `record_version` is an ordinary field of the delta and of datasets (its
//! `old_value` is the stored version); `item.history(rec_id)` reads a record's history as the
//! request's caller may see it.

#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, TestServer, ok};
use serde_json::{Value, json};

const TASK: &str = r#"name = "mods"

[[groups]]
name = "main"
items = ["people"]

[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "user"
default = ["view", "create", "edit", "delete"]
fields = { "people.secret" = "prohibited" }
"#;

const PEOPLE: &str = r#"keep_history = true
edit_lock = true
callable = ["describe", "seen"]

[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "secret"
type = "text"
size = 50

[[fields]]
name = "cv"
type = "file"
"#;

const PEOPLE_PY: &str = r#"
SEEN = []

def on_before_apply_record(item, delta, params, connection):
    if delta.rec_modified():
        SEEN.append({
            'version': delta.record_version.value,
            'old_version': delta.record_version.old_value,
            'cv': delta.cv.value,
            'cv_name': delta.cv.display_text,
        })

def seen(item):
    return SEEN

def describe(item, id):
    p = item.copy()
    p.set_where(id=id)
    p.open()
    return {
        'cv': p.cv.value,
        'cv_name': p.cv.display_text,
        'cv_path': p.cv.file_path,
        'version': p.record_version.value,
        'history': item.history(id),
        'keep_history': item.keep_history,
        'edit_lock': item.edit_lock,
    }
"#;

#[test]
fn file_fields_versions_and_history_in_python() {
    let server = TestServer::from_files(&[
        ("jamrs.toml", TASK),
        ("items/people.toml", PEOPLE),
        ("items/people.py", PEOPLE_PY),
    ]);
    server.add_user("alice", "user", None);
    let alice = server.login("alice", PASSWORD);
    let (status, body) = alice.post_multipart(
        "/api/items/people/upload/cv",
        "file",
        "My CV.txt",
        b"curriculum",
    );
    assert_eq!(status, 200, "{body}");
    let value = body["file"]["value"].as_str().unwrap().to_string();
    let name = body["file"]["name"].as_str().unwrap().to_string();
    let id = ok(alice.apply(
        "people",
        &json!({"changes": [{"op": "insert", "values": {"name": "Ann", "cv": value}}]}),
    ))["changes"][0]["id"]
        .as_i64()
        .unwrap();
    ok(alice.apply(
        "people",
        &json!({"changes": [{"op": "update", "id": id, "values": {"name": "Anne", "record_version": 1}}]}),
    ));
    // The administrator changes the field alice's role may not see.
    ok(server.client().apply(
        "people",
        &json!({"changes": [{"op": "update", "id": id, "values": {"secret": "s3cret"}}]}),
    ));
    let seen = ok(alice.post_json("/api/items/people/call/seen", &json!({})))["result"].clone();
    assert_eq!(
        seen,
        json!([
            {"version": 1, "old_version": 1, "cv": name, "cv_name": "My CV.txt"},
            {"version": 2, "old_version": 2, "cv": name, "cv_name": "My CV.txt"}
        ])
    );
    let d =
        ok(alice.post_json("/api/items/people/call/describe", &json!({"args": [id]})))["result"]
            .clone();
    assert_eq!(d["cv"], json!(name));
    assert_eq!(d["cv_name"], json!("My CV.txt"));
    let path = d["cv_path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"curriculum");
    assert!(path.starts_with(server.project().join("files").to_str().unwrap()));
    assert_eq!(d["version"], json!(3));
    assert_eq!(
        (d["keep_history"].clone(), d["edit_lock"].clone()),
        (json!(true), json!(true))
    );
    let history = d["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    // The caller's rights hold in server code's history too: no prohibited field.
    assert_eq!(history[0]["changes"], json!([]));
    assert!(!Value::Array(history.clone()).to_string().contains("s3cret"));
    assert_eq!(history[1]["operation"], json!(2));
    assert_eq!(history[1]["item_rec_id"], json!(id));
    assert_eq!(history[1]["user"], json!("alice"));
    assert_eq!(history[1]["changes"], json!([["name", "Ann", "Anne"]]));
}
