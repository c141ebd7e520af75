//! jamrs-micro: the fixture the micro-benchmarks share (see `bench/README.md`, "Micro-benchmarks").
//!
//! A project like the server benchmark's (`bench/run`): a `notes` catalog (title, body,
//! user_id, soft delete, index on (user_id, deleted)) with built-in tenancy on `user_id`, plus a
//! `categories` catalog that notes look up. The caller is a user of a role with every right, as
//! the HTTP layer would authenticate them. The database, when a bench needs one, is a SQLite
//! file opened and migrated as the server does it.
//!
//! Setup failures panic: a benchmark that cannot set up has nothing to measure.

use std::path::Path;

use jamrs_core::Task;
use jamrs_core::model::Item;
use jamrs_core::session::{Caller, UserInfo};
use jamrs_sqlite::SqliteConn;
use tempfile::TempDir;

const TASK_TOML: &str = r#"
name = "bench"
safe_mode = true

[tenancy]
column = "user_id"

[[groups]]
name = "catalogs"
items = ["categories", "notes"]

[[roles]]
id = 1
name = "users"
default = ["view", "create", "edit", "delete"]
"#;

const CATEGORIES_TOML: &str = r#"
soft_delete = true

[[fields]]
name = "name"
type = "text"
size = 100
required = true
"#;

const NOTES_TOML: &str = r#"
soft_delete = true

[[fields]]
name = "title"
type = "text"
size = 200
required = true

[[fields]]
name = "body"
type = "longtext"

[[fields]]
name = "user_id"
type = "integer"
visible = false

[[fields]]
name = "category"
type = "integer"
lookup = { item = "categories", field = "name" }

[[indexes]]
fields = ["user_id", "deleted"]
"#;

/// Notes in a fresh database, alternately user 1's and user 2's (as `bench/run` seeds them).
pub const SEED_NOTES: i64 = 10_000;
/// Categories in a fresh database, ids 1..=CATEGORIES.
pub const CATEGORIES: i64 = 10;
/// The benchmarks' caller: user 1 (so the tenant predicate is `user_id = 1`).
pub const USER_ID: i64 = 1;

/// The project on disk and its loaded task. The directory also holds the database, if any.
pub struct Project {
    pub dir: TempDir,
    pub task: Task,
    pub caller: Caller,
}

impl Project {
    /// Writes the project files to a new temporary directory and loads them as the server does.
    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("temporary directory");
        write(dir.path(), "jamrs.toml", TASK_TOML);
        write(dir.path(), "items/categories.toml", CATEGORIES_TOML);
        write(dir.path(), "items/notes.toml", NOTES_TOML);
        let task = jamrs_core::project::load(dir.path())
            .unwrap_or_else(|e| panic!("the benchmark project does not load: {e}"));
        let role = task.role_by_name("users").expect("role users");
        let caller = Caller {
            user: Some(UserInfo {
                user_id: USER_ID,
                login: "user1".into(),
                user_name: "User 1".into(),
                role_id: 1,
                role_name: "users".into(),
                tenant_id: None,
                extra: Default::default(),
            }),
            role: Some(role),
        };
        Project { dir, task, caller }
    }

    pub fn notes(&self) -> &Item {
        self.task.item_by_name("notes").expect("item notes")
    }

    /// Creates `bench.sqlite` in the project directory with the writer connection's settings
    /// (`jamrs_sqlite::conn::open`: WAL, synchronous=NORMAL, …), migrates it to the task's
    /// schema and seeds it. Returns the writer connection.
    pub fn database(&self) -> SqliteConn {
        let path = self.dir.path().join("bench.sqlite");
        let mut conn = jamrs_sqlite::conn::open(&path, false).expect("open the database");
        let plan = jamrs_sqlite::migrate::plan(&conn, &self.task).expect("plan the migration");
        jamrs_sqlite::migrate::apply(&mut conn, &plan, false).expect("migrate");
        seed(&conn);
        SqliteConn::new(conn)
    }
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("project directory");
    }
    std::fs::write(&path, text).expect("project file");
}

/// Categories 1..=CATEGORIES and SEED_NOTES notes, titles and bodies as in `bench/run`.
fn seed(conn: &rusqlite::Connection) {
    conn.execute_batch(&format!(
        r#"
        BEGIN;
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {CATEGORIES})
        INSERT INTO categories (id, name, deleted)
        SELECT i, printf('Category %d', i), 0 FROM c;
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {SEED_NOTES})
        INSERT INTO notes (id, title, body, user_id, category, deleted)
        SELECT i, printf('Note %07d', i),
               printf('Body of note %d. ', i) || substr('{LOREM}', 1, 40 + i % 80),
               2 - i % 2, 1 + i % {CATEGORIES}, 0
        FROM c;
        COMMIT;
        "#
    ))
    .expect("seed the database");
}

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
                     incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis";

/// Removes the notes a benchmark added (ids past the seed), so that a table which grows with
/// every measured insert stays near its seeded size, then checkpoints the WAL, so that the
/// pages the DELETE wrote are not copied back during the next measured writes (which still pay
/// for the automatic checkpoints of their own pages, as the server's writes do).
pub fn trim_notes(conn: &mut SqliteConn) {
    let conn = conn.raw();
    conn.execute("DELETE FROM notes WHERE id > ?1", [SEED_NOTES])
        .expect("trim the notes");
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .expect("checkpoint");
}
