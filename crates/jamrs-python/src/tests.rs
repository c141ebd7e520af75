//! The runtime over a real SQLite file, without HTTP: what happens to the connection lent to
//! Python, and to the thread's handler state, when jamrs itself panics under a handler.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use jamrs_core::{Kind, Task};
use jamrs_sqlite::SqliteConn;
use jamrs_store::{Conn, Engine, Events, Sql};
use pyo3::prelude::*;

use super::*;

/// A method Python can call that panics: what a bug in any of jamrs' methods would do.
#[pyclass]
struct Bomb;

#[pymethods]
impl Bomb {
    fn explode(&self) {
        panic!("a bug in a method Python calls");
    }
}

const AUDIT_PY: &str = r#"
def write_then_explode(item):
    audit = item.copy()
    audit.open(open_empty=True)
    audit.append()
    audit.what.value = 'before the panic'
    audit.post()
    audit.apply()
    jamrs_test_bomb.explode()

def count(item):
    audit = item.copy()
    audit.open()
    return audit.rec_count

def forever(item):
    while True:
        pass

def on_open(item, params):
    if params.get('explode'):
        jamrs_test_bomb.explode()

def catch_a_nested_panic(item):
    audit = item.copy()
    try:
        audit.open(params={'explode': True})
    except Exception:
        return 'caught'
"#;

fn project(dir: &std::path::Path) -> Arc<Task> {
    let files = [
        (
            "jamrs.toml",
            "name = \"t\"\nsafe_mode = false\n[[groups]]\nname = \"g\"\nitems = [\"audit\"]\n",
        ),
        (
            "items/audit.toml",
            "callable = [\"write_then_explode\", \"count\", \"forever\", \"catch_a_nested_panic\"]\n[[fields]]\nname = \"what\"\ntype = \"text\"\nsize = 100\n",
        ),
        ("items/audit.py", AUDIT_PY),
    ];
    for (path, text) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    Arc::new(jamrs_core::project::load(dir).unwrap())
}

fn count(conn: &mut SqliteConn) -> jamrs_core::Value {
    let sql = Sql {
        text: "SELECT COUNT(*) FROM audit".into(),
        params: Vec::new(),
    };
    conn.query_any(&sql).unwrap().remove(0).remove(0)
}

#[test]
fn a_panic_in_a_python_callable_method_returns_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let task = project(dir.path());
    let db = dir.path().join("t.sqlite");
    let mut c = jamrs_sqlite::conn::open(&db, false).unwrap();
    let plan = jamrs_sqlite::migrate::plan(&c, &task).unwrap();
    jamrs_sqlite::migrate::apply(&mut c, &plan, false).unwrap();
    drop(c);
    Python::attach(|py| {
        let bomb = Py::new(py, Bomb).unwrap();
        py.import("builtins")
            .unwrap()
            .setattr("jamrs_test_bomb", bomb)
            .unwrap();
    });
    let options = Options {
        timeout: Duration::from_millis(300),
        reload: false,
    };
    let rt = Runtime::load(task.clone(), options).unwrap();
    let hooks = PythonHooks::new(rt);
    let engine = Engine::for_server(&task, &hooks);
    let audit = task.item_by_name("audit").unwrap();
    jamrs_sqlite::store::with_connection(&db, |conn| {
        // As the writer runs a request: in a transaction, which the panic must not keep.
        conn.begin()?;
        let err = hooks
            .call_function(&engine, conn, audit, "write_then_explode", &[])
            .unwrap_err();
        assert_eq!(err.kind, Kind::Module);
        assert!(!err.message.contains("a bug in"), "{}", err.message);
        // The connection came back: it sees the row written before the panic, and the store
        // can roll the request back.
        assert_eq!(count(conn), jamrs_core::Value::Int(1));
        conn.rollback()?;
        assert!(conn.outside_transaction());
        assert_eq!(count(conn), jamrs_core::Value::Int(0));
        // The frame is gone, and the thread's next handler is watched as before.
        assert!(context::current().is_none());
        assert_eq!(
            hooks.call_function(&engine, conn, audit, "count", &[])?,
            serde_json::json!(0)
        );
        let stopped = hooks
            .call_function(&engine, conn, audit, "forever", &[])
            .unwrap_err();
        assert!(
            stopped.message.contains("ran longer"),
            "{}",
            stopped.message
        );
        // A panic under a nested handler (a dataset's `on_open`) is not an exception the
        // outer handler can catch and carry on after: it fails the whole request.
        let err = hooks
            .call_function(&engine, conn, audit, "catch_a_nested_panic", &[])
            .unwrap_err();
        assert_eq!(err.kind, Kind::Module);
        assert!(context::current().is_none());
        assert_eq!(
            hooks.call_function(&engine, conn, audit, "count", &[])?,
            serde_json::json!(0)
        );
        conn.rollback()?;
        Ok(())
    })
    .unwrap();
}
