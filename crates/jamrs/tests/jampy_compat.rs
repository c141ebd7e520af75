//! Server modules written for Jam.py: what jamrs provides of its API beyond datasets
//! (`task.item_by_ID`, `item.ID`, `task.execute_select`), and what it does not
//! (`jam.db.db_modules`, `task.connect()`), which stops the start with the file, the line and
//! what to use instead.

#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, ok};
use jamrs::app::RunOptions;
use serde_json::json;

const TASK: &str = r#"
name = "compat"
safe_mode = false
raw_sql = true

[[groups]]
name = "journals"
items = ["notes"]
"#;

const NOTES: &str = r#"
id = 7
callable = ["find"]

[[fields]]
name = "title"
type = "text"
size = 100
"#;

#[test]
fn item_by_id_and_execute_select_work_as_in_jampy() {
    let module = r#"
def find(item, n):
    other = item.task.item_by_ID(n)
    rows = item.task.execute_select('SELECT count(*) FROM notes')
    return [other.item_name if other else None, item.ID, rows[0][0], item.task.item_by_ID(999)]
"#;
    let server = TestServer::from_files(&[
        ("jamrs.toml", TASK),
        ("items/notes.toml", NOTES),
        ("items/notes.py", module),
    ]);
    let c = server.client();
    ok(c.apply(
        "notes",
        &json!({"changes": [{"op": "insert", "values": {"title": "a"}}]}),
    ));
    let reply = ok(c.post_json("/api/items/notes/call/find", &json!({"args": [7]})));
    assert_eq!(reply["result"], json!(["notes", 7, 1, null]));
}

#[test]
fn jampy_only_api_stops_the_start_naming_file_line_and_what_to_use() {
    for (module, line, advice) in [
        (
            "import json\nfrom jam.db.db_modules import SQLITE\n",
            2,
            "task.execute",
        ),
        (
            "def on_open(item, params):\n    # a comment: task.connect()\n    con = item.task.connect()\n",
            3,
            "task.select(sql, params)",
        ),
    ] {
        let err = TestServer::try_from_files_with(
            &[
                ("jamrs.toml", TASK),
                (
                    "items/notes.toml",
                    NOTES.replace("callable = [\"find\"]\n", "").as_str(),
                ),
                ("items/notes.py", module),
            ],
            &RunOptions::default(),
        )
        .err()
        .expect("the start is refused");
        assert!(
            err.contains(&format!(
                "items/notes.py, line {line}: jamrs does not provide"
            )) && err.contains(advice),
            "{err}"
        );
    }
}
