//! Migrations on real SQLite files: each test builds a project, migrates a fresh database,
//! changes the project and migrates again, checking the schema and that the data survives.

use std::path::{Path, PathBuf};

use jamrs_core::project::ProjectFiles;
use jamrs_core::{Kind, Task};
use jamrs_sqlite::conn::open;
use jamrs_sqlite::migrate::{self, Plan};
use rusqlite::Connection;
use rusqlite::types::Value;
use tempfile::TempDir;

/// A project folder and its database file.
struct Fixture {
    dir: TempDir,
    db: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("data.sqlite");
        Fixture { dir, db }
    }

    fn conn(&self) -> Connection {
        open(&self.db, false).expect("open database")
    }

    /// A task with one item per `(name, item TOML)`, all in one group.
    fn task(&self, items: &[(&str, &str)]) -> Task {
        task_in(self.dir.path(), items)
    }
}

fn task_in(dir: &Path, items: &[(&str, &str)]) -> Task {
    let names: Vec<String> = items.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let task = format!(
        "name = \"app\"\nsafe_mode = false\n[[groups]]\nname = \"main\"\nitems = [{}]\n",
        names.join(", ")
    );
    let files = ProjectFiles {
        task: toml::from_str(&task).expect("task file"),
        items: items
            .iter()
            .map(|(n, t)| (n.to_string(), toml::from_str(t).expect("item file")))
            .collect(),
    };
    files.resolve(dir).expect("project resolves")
}

/// Plans and applies; asserts the database then matches (a second plan is empty).
fn migrate(conn: &mut Connection, task: &Task, allow_destructive: bool) -> Plan {
    let plan = migrate::plan(conn, task).expect("plan");
    migrate::apply(conn, &plan, allow_destructive).expect("apply");
    let again = migrate::plan(conn, task).expect("plan again");
    assert!(
        again.is_empty(),
        "not idempotent: {:?}\n{}",
        again.changes(),
        again.sql()
    );
    plan
}

fn described(plan: &Plan) -> Vec<String> {
    plan.changes().iter().map(ToString::to_string).collect()
}

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).expect("prepare");
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

fn column_names(conn: &Connection, table: &str) -> Vec<String> {
    rows(
        conn,
        &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
    )
    .into_iter()
    .map(|r| match &r[0] {
        Value::Text(s) => s.clone(),
        other => panic!("column name {other:?}"),
    })
    .collect()
}

fn index_names(conn: &Connection, table: &str) -> Vec<String> {
    rows(
        conn,
        &format!("SELECT name FROM pragma_index_list('{table}') WHERE origin = 'c' ORDER BY name"),
    )
    .into_iter()
    .map(|r| match &r[0] {
        Value::Text(s) => s.clone(),
        other => panic!("index name {other:?}"),
    })
    .collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

const NOTES: &str = r#"
soft_delete = true

[[fields]]
name = "title"
type = "text"
size = 100

[[fields]]
name = "n"
type = "integer"

[[indexes]]
fields = ["title"]
unique = true
"#;

/// NOTES plus `extra` fields (TOML), without the index.
fn notes_with(extra: &str) -> String {
    format!(
        r#"
soft_delete = true

[[fields]]
name = "title"
type = "text"
size = 100

{extra}
"#
    )
}

#[test]
fn creates_from_scratch_and_then_has_nothing_to_do() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let task = fx.task(&[("notes", NOTES)]);
    let plan = migrate(&mut conn, &task, false);
    assert_eq!(
        described(&plan),
        [
            "create table notes for item notes (4 columns)",
            "create unique index notes_title_idx on notes (title)"
        ]
    );
    assert!(!plan.is_destructive());

    let sql = rows(&conn, "SELECT sql FROM sqlite_schema WHERE name = 'notes'");
    assert!(matches!(&sql[0][0], Value::Text(s) if s.ends_with("STRICT")));
    assert_eq!(
        column_names(&conn, "notes"),
        ["id", "title", "n", "deleted"]
    );
    assert_eq!(index_names(&conn, "notes"), ["notes_title_idx"]);
    assert_eq!(
        rows(&conn, "SELECT name FROM jamrs_tables"),
        [[text("notes")]]
    );

    // The soft-delete flag defaults to 0 for rows other programs insert.
    conn.execute("INSERT INTO notes (title) VALUES ('a')", [])
        .expect("insert");
    assert_eq!(
        rows(&conn, "SELECT id, deleted FROM notes"),
        [[Value::Integer(1), Value::Integer(0)]]
    );

    // A new connection on the same file sees the same: nothing to do.
    let again = migrate::plan(&fx.conn(), &task).expect("plan");
    assert!(again.is_empty());
    assert_eq!(again.sql(), "");
    migrate::apply(&mut conn, &again, false).expect("an empty plan applies");
}

#[test]
fn dry_run_prints_the_exact_sql() {
    let fx = Fixture::new();
    let conn = fx.conn();
    let plan = migrate::plan(&conn, &fx.task(&[("notes", NOTES)])).expect("plan");
    assert_eq!(
        plan.sql(),
        r#"BEGIN IMMEDIATE;
CREATE TABLE "jamrs_tables" (
  name TEXT PRIMARY KEY NOT NULL
) STRICT;
CREATE TABLE "notes" (
  "id" INTEGER PRIMARY KEY,
  "title" TEXT,
  "n" INTEGER,
  "deleted" INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO "jamrs_tables" (name) VALUES ('notes');
CREATE UNIQUE INDEX "notes_title_idx" ON "notes" ("title");
COMMIT;
"#
    );
    // Planning changed nothing.
    assert!(
        rows(&conn, "SELECT name FROM sqlite_schema").is_empty(),
        "plan must only read"
    );
}

#[test]
fn adding_a_field_adds_a_column_and_keeps_the_rows() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    migrate(&mut conn, &fx.task(&[("notes", NOTES)]), false);
    conn.execute("INSERT INTO notes (title, n) VALUES ('a', 1)", [])
        .expect("insert");

    let item = format!(
        "{NOTES}\n[[fields]]\nname = \"body\"\ntype = \"longtext\"\n\n[[fields]]\nname = \"done\"\ntype = \"boolean\"\n"
    );
    let plan = migrate(&mut conn, &fx.task(&[("notes", &item)]), false);
    assert_eq!(
        described(&plan),
        [
            "add column notes.body TEXT",
            "add column notes.done INTEGER"
        ]
    );
    assert_eq!(
        plan.statements(),
        [
            r#"ALTER TABLE "notes" ADD COLUMN "body" TEXT"#,
            r#"ALTER TABLE "notes" ADD COLUMN "done" INTEGER"#
        ]
    );
    assert_eq!(
        rows(&conn, "SELECT title, n, body, done FROM notes"),
        [[text("a"), Value::Integer(1), Value::Null, Value::Null]]
    );
}

#[test]
fn turning_on_soft_delete_adds_a_not_null_flag_set_to_0() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let plain = NOTES.replace("soft_delete = true", "");
    migrate(&mut conn, &fx.task(&[("notes", &plain)]), false);
    conn.execute("INSERT INTO notes (title) VALUES ('a'), ('b')", [])
        .expect("insert");
    let plan = migrate(&mut conn, &fx.task(&[("notes", NOTES)]), false);
    assert_eq!(
        plan.statements(),
        [r#"ALTER TABLE "notes" ADD COLUMN "deleted" INTEGER NOT NULL DEFAULT 0"#]
    );
    assert_eq!(
        rows(&conn, "SELECT deleted FROM notes"),
        [[Value::Integer(0)], [Value::Integer(0)]]
    );
}

#[test]
fn renaming_a_field_with_rename_from_keeps_its_data_and_index() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    migrate(&mut conn, &fx.task(&[("notes", NOTES)]), false);
    conn.execute("INSERT INTO notes (title, n) VALUES ('a', 1), ('b', 2)", [])
        .expect("insert");

    let item = NOTES
        .replace(
            "name = \"title\"",
            "name = \"heading\"\nrename_from = \"title\"",
        )
        .replace(
            "fields = [\"title\"]",
            "name = \"notes_title_idx\"\nfields = [\"heading\"]",
        );
    let plan = migrate(&mut conn, &fx.task(&[("notes", &item)]), false);
    assert_eq!(described(&plan), ["rename column notes.title to heading"]);
    assert_eq!(
        plan.statements(),
        [r#"ALTER TABLE "notes" RENAME COLUMN "title" TO "heading""#]
    );
    assert_eq!(
        rows(&conn, "SELECT heading, n FROM notes ORDER BY id"),
        [
            [text("a"), Value::Integer(1)],
            [text("b"), Value::Integer(2)]
        ]
    );
    // The unique index went along with the column.
    let dup = conn.execute("INSERT INTO notes (heading) VALUES ('a')", []);
    assert!(dup.is_err(), "the unique index still holds");

    // Once renamed, a leftover rename_from is harmless.
    assert!(
        migrate::plan(&conn, &fx.task(&[("notes", &item)]))
            .expect("plan")
            .is_empty()
    );
}

#[test]
fn text_to_integer_keeps_what_converts_and_needs_permission() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let before = notes_with(
        "[[fields]]\nname = \"qty\"\ntype = \"text\"\nsize = 20\n\n[[indexes]]\nfields = [\"title\"]",
    );
    migrate(&mut conn, &fx.task(&[("notes", &before)]), false);
    conn.execute(
        "INSERT INTO notes (title, qty) VALUES ('a', '12'), ('b', ' 7 '), ('c', 'abc'), ('d', NULL), ('e', '1e3'), ('f', '2.5')",
        [],
    )
    .expect("insert");

    let after = notes_with(
        "[[fields]]\nname = \"qty\"\ntype = \"integer\"\n\n[[indexes]]\nfields = [\"title\"]",
    );
    let task = fx.task(&[("notes", &after)]);
    let plan = migrate::plan(&conn, &task).expect("plan");
    assert_eq!(
        described(&plan),
        ["change column notes.qty from TEXT to INTEGER (values that do not convert become NULL)"]
    );
    assert!(plan.is_destructive());
    assert_eq!(
        plan.risks(),
        [
            "change column notes.qty from TEXT to INTEGER (values that do not convert become NULL): 2 of 5 values do not convert"
        ]
    );
    assert_eq!(
        plan.statements(),
        [
            "CREATE TABLE \"jamrs_new_notes\" (\n  \"id\" INTEGER PRIMARY KEY,\n  \"title\" TEXT,\n  \"qty\" INTEGER,\n  \"deleted\" INTEGER NOT NULL DEFAULT 0\n) STRICT",
            r#"INSERT INTO "jamrs_new_notes" ("id", "title", "qty", "deleted") SELECT "id", "title", CASE WHEN CAST(CAST("qty" AS NUMERIC) AS INTEGER) = "qty" THEN CAST(CAST("qty" AS NUMERIC) AS INTEGER) END, "deleted" FROM "notes""#,
            r#"DROP TABLE "notes""#,
            r#"ALTER TABLE "jamrs_new_notes" RENAME TO "notes""#,
            r#"CREATE INDEX "notes_title_idx" ON "notes" ("title", "deleted")"#,
        ]
    );

    let refused = migrate::apply(&mut conn, &plan, false).expect_err("refused");
    assert_eq!(refused.kind, Kind::Conflict);
    assert!(refused.message.contains("--allow-destructive"), "{refused}");
    assert!(refused.message.contains("notes.qty"), "{refused}");
    assert_eq!(
        rows(&conn, "SELECT typeof(qty) FROM notes WHERE title = 'a'"),
        [[text("text")]]
    );

    migrate::apply(&mut conn, &plan, true).expect("apply");
    assert!(migrate::plan(&conn, &task).expect("plan").is_empty());
    assert_eq!(
        rows(&conn, "SELECT id, title, qty FROM notes ORDER BY id"),
        [
            [Value::Integer(1), text("a"), Value::Integer(12)],
            [Value::Integer(2), text("b"), Value::Integer(7)],
            [Value::Integer(3), text("c"), Value::Null],
            [Value::Integer(4), text("d"), Value::Null],
            [Value::Integer(5), text("e"), Value::Integer(1000)],
            [Value::Integer(6), text("f"), Value::Null],
        ]
    );
    // The rebuilt table is STRICT again and kept its index.
    assert_eq!(index_names(&conn, "notes"), ["notes_title_idx"]);
    let bad = conn.execute("UPDATE notes SET qty = 'x'", []);
    assert!(bad.is_err(), "STRICT refuses text in an integer column");
    // New rows continue the numbering.
    conn.execute("INSERT INTO notes (title) VALUES ('g')", [])
        .expect("insert");
    assert_eq!(
        rows(&conn, "SELECT max(id) FROM notes"),
        [[Value::Integer(7)]]
    );
}

#[test]
fn integer_to_float_and_back_to_text_are_not_destructive() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let field = |t: &str| {
        let size = if t == "text" { "size = 10\n" } else { "" };
        notes_with(&format!("[[fields]]\nname = \"n\"\ntype = \"{t}\"\n{size}"))
    };
    migrate(&mut conn, &fx.task(&[("notes", &field("integer"))]), false);
    conn.execute(
        "INSERT INTO notes (title, n) VALUES ('a', 3), ('b', NULL)",
        [],
    )
    .expect("insert");

    let plan = migrate(&mut conn, &fx.task(&[("notes", &field("float"))]), false);
    assert_eq!(
        described(&plan),
        ["change column notes.n from INTEGER to REAL"]
    );
    assert_eq!(
        rows(&conn, "SELECT n, typeof(n) FROM notes ORDER BY id"),
        [
            [Value::Real(3.0), text("real")],
            [Value::Null, text("null")]
        ]
    );

    // A double that needs all 17 digits keeps them as text.
    conn.execute("UPDATE notes SET n = 0.1 + 0.2 WHERE title = 'b'", [])
        .expect("update");
    let plan = migrate(&mut conn, &fx.task(&[("notes", &field("text"))]), false);
    assert!(!plan.is_destructive());
    let got = rows(&conn, "SELECT n FROM notes ORDER BY id");
    assert_eq!(got[0], [text("3.0")]);
    match &got[1][0] {
        Value::Text(s) => assert_eq!(s.parse::<f64>().ok(), Some(0.1 + 0.2), "{s}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn float_to_integer_keeps_whole_numbers_only() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let field = |t: &str| notes_with(&format!("[[fields]]\nname = \"n\"\ntype = \"{t}\"\n"));
    migrate(&mut conn, &fx.task(&[("notes", &field("float"))]), false);
    conn.execute(
        "INSERT INTO notes (title, n) VALUES ('a', 3.0), ('b', 2.5), ('c', -4)",
        [],
    )
    .expect("insert");
    migrate(&mut conn, &fx.task(&[("notes", &field("integer"))]), true);
    assert_eq!(
        rows(&conn, "SELECT n FROM notes ORDER BY id"),
        [[Value::Integer(3)], [Value::Null], [Value::Integer(-4)]]
    );
}

#[test]
fn dropping_a_field_is_refused_without_permission_and_keeps_the_data() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let before = notes_with("[[fields]]\nname = \"body\"\ntype = \"longtext\"\n");
    migrate(&mut conn, &fx.task(&[("notes", &before)]), false);
    conn.execute(
        "INSERT INTO notes (title, body) VALUES ('a', 'x'), ('b', NULL), ('c', 'z')",
        [],
    )
    .expect("insert");

    let task = fx.task(&[("notes", &notes_with(""))]);
    let plan = migrate::plan(&conn, &task).expect("plan");
    assert_eq!(
        described(&plan),
        ["drop column notes.body (its values are lost)"]
    );
    assert_eq!(
        plan.risks(),
        ["drop column notes.body (its values are lost): 2 values"]
    );
    let refused = migrate::apply(&mut conn, &plan, false).expect_err("refused");
    assert_eq!(refused.kind, Kind::Conflict);
    assert_eq!(
        refused.message,
        "the migration can lose data: drop column notes.body (its values are lost): 2 values; \
         pass --allow-destructive to apply it anyway (back up the database first), or --dry-run \
         to see its SQL"
    );
    assert_eq!(
        rows(&conn, "SELECT body FROM notes ORDER BY id"),
        [[text("x")], [Value::Null], [text("z")]]
    );

    migrate::apply(&mut conn, &plan, true).expect("apply");
    assert!(migrate::plan(&conn, &task).expect("plan").is_empty());
    assert_eq!(column_names(&conn, "notes"), ["id", "title", "deleted"]);
    assert_eq!(
        rows(&conn, "SELECT id, title FROM notes ORDER BY id"),
        [
            [Value::Integer(1), text("a")],
            [Value::Integer(2), text("b")],
            [Value::Integer(3), text("c")]
        ]
    );
}

#[test]
fn indexes_are_created_changed_and_dropped() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let fields = "[[fields]]\nname = \"n\"\ntype = \"integer\"\n";
    migrate(
        &mut conn,
        &fx.task(&[("notes", &notes_with(fields))]),
        false,
    );
    conn.execute("INSERT INTO notes (title, n) VALUES ('a', 1), ('a', 2)", [])
        .expect("insert");

    let indexed = notes_with(&format!(
        "{fields}\n[[indexes]]\nname = \"by_n\"\nfields = [\"-n\", \"title\"]\n"
    ));
    let plan = migrate(&mut conn, &fx.task(&[("notes", &indexed)]), false);
    assert_eq!(
        plan.statements(),
        // The soft-delete flag is appended to a plain index (docs/project-format.md §6).
        [r#"CREATE INDEX "by_n" ON "notes" ("n" DESC, "title", "deleted")"#]
    );
    assert_eq!(index_names(&conn, "notes"), ["by_n"]);
    // An index made before the flag was appended is rebuilt with it; nothing else changes.
    conn.execute_batch(r#"DROP INDEX by_n; CREATE INDEX "by_n" ON "notes" ("n" DESC, "title")"#)
        .expect("old index");
    let plan = migrate(&mut conn, &fx.task(&[("notes", &indexed)]), false);
    assert_eq!(
        described(&plan),
        [
            "drop index by_n on notes",
            "create index by_n on notes (n DESC, title, deleted)"
        ]
    );
    assert_eq!(
        migrate(&mut conn, &fx.task(&[("notes", &indexed)]), false)
            .statements()
            .len(),
        0
    );

    // A unique index over duplicate values fails as a whole, naming the statement.
    let unique = indexed.replace("name = \"by_n\"", "name = \"by_n\"\nunique = true");
    let plan = migrate::plan(&conn, &fx.task(&[("notes", &unique)])).expect("plan");
    assert_eq!(
        described(&plan),
        [
            "drop index by_n on notes",
            "create unique index by_n on notes (n DESC, title)"
        ]
    );
    let unique_title = unique.replace("[\"-n\", \"title\"]", "[\"title\"]");
    let plan = migrate::plan(&conn, &fx.task(&[("notes", &unique_title)])).expect("plan");
    let failed = migrate::apply(&mut conn, &plan, false).expect_err("duplicates");
    assert_eq!(failed.kind, Kind::Conflict);
    assert!(
        failed
            .message
            .contains(r#"CREATE UNIQUE INDEX "by_n" ON "notes" ("title")"#),
        "{failed}"
    );
    assert!(failed.message.contains("nothing was changed"), "{failed}");
    assert_eq!(index_names(&conn, "notes"), ["by_n"], "rolled back");

    migrate(&mut conn, &fx.task(&[("notes", &unique)]), false);
    migrate(
        &mut conn,
        &fx.task(&[("notes", &notes_with(fields))]),
        false,
    );
    assert!(index_names(&conn, "notes").is_empty());
}

#[test]
fn indexes_made_by_hand_on_item_tables_are_dropped_others_left_alone() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let task = fx.task(&[("notes", NOTES)]);
    migrate(&mut conn, &task, false);
    conn.execute_batch(
        "CREATE INDEX by_hand ON notes (n);
         CREATE TABLE other (a TEXT UNIQUE);
         CREATE INDEX other_a ON other (a);",
    )
    .expect("setup");
    let plan = migrate(&mut conn, &task, false);
    assert_eq!(described(&plan), ["drop index by_hand on notes"]);
    assert_eq!(index_names(&conn, "other"), ["other_a"]);
}

#[test]
fn renaming_an_item_table_keeps_rows_indexes_and_registration() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    migrate(&mut conn, &fx.task(&[("notes", NOTES)]), false);
    conn.execute("INSERT INTO notes (title, n) VALUES ('a', 1)", [])
        .expect("insert");

    let item = format!(
        "table = \"memos\"\nrename_from = \"notes\"\n{}",
        NOTES.replace(
            "fields = [\"title\"]",
            "name = \"notes_title_idx\"\nfields = [\"title\"]"
        )
    );
    let plan = migrate(&mut conn, &fx.task(&[("notes", &item)]), false);
    assert_eq!(described(&plan), ["rename table notes to memos"]);
    assert_eq!(
        plan.statements(),
        [
            r#"ALTER TABLE "notes" RENAME TO "memos""#,
            r#"UPDATE "jamrs_tables" SET name = 'memos' WHERE name = 'notes'"#
        ]
    );
    assert_eq!(
        rows(&conn, "SELECT title, n FROM memos"),
        [[text("a"), Value::Integer(1)]]
    );
    assert_eq!(index_names(&conn, "memos"), ["notes_title_idx"]);
    assert_eq!(
        rows(&conn, "SELECT name FROM jamrs_tables"),
        [[text("memos")]]
    );
}

#[test]
fn only_tables_jamrs_created_are_dropped() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let two = fx.task(&[("notes", NOTES), ("tags", &notes_with(""))]);
    migrate(&mut conn, &two, false);
    conn.execute_batch(
        "INSERT INTO tags (title) VALUES ('t');
         CREATE TABLE mine (a TEXT);",
    )
    .expect("setup");

    let one = fx.task(&[("notes", NOTES)]);
    let plan = migrate::plan(&conn, &one).expect("plan");
    assert_eq!(
        described(&plan),
        ["drop table tags (all its rows are lost)"]
    );
    assert_eq!(
        plan.risks(),
        ["drop table tags (all its rows are lost): 1 row"]
    );
    assert_eq!(
        migrate::apply(&mut conn, &plan, false)
            .expect_err("refused")
            .kind,
        Kind::Conflict
    );
    migrate::apply(&mut conn, &plan, true).expect("apply");
    let tables = rows(
        &conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    );
    assert_eq!(
        tables,
        [[text("jamrs_tables")], [text("mine")], [text("notes")]]
    );
    assert_eq!(
        rows(&conn, "SELECT name FROM jamrs_tables"),
        [[text("notes")]]
    );
}

#[test]
fn an_existing_table_is_adopted_not_recreated_nor_dropped() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    // Made by another program, in another case: SQLite names ignore ASCII case.
    conn.execute_batch(
        "CREATE TABLE Notes (ID INTEGER PRIMARY KEY, Title TEXT, N INTEGER, Deleted INTEGER NOT NULL DEFAULT 0);
         CREATE UNIQUE INDEX notes_title_idx ON Notes (Title);
         INSERT INTO Notes (Title, N) VALUES ('a', 1);",
    )
    .expect("setup");
    let task = fx.task(&[("notes", NOTES)]);
    assert!(migrate::plan(&conn, &task).expect("plan").is_empty());

    // Once the item is gone the table stays: jamrs did not create it.
    let plan = migrate(&mut conn, &fx.task(&[("tags", &notes_with(""))]), false);
    assert_eq!(
        described(&plan),
        ["create table tags for item tags (3 columns)"]
    );
    assert_eq!(rows(&conn, "SELECT Title FROM Notes"), [[text("a")]]);
}

#[test]
fn a_stale_plan_is_refused() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let task = fx.task(&[("notes", NOTES)]);
    let plan = migrate::plan(&conn, &task).expect("plan");
    conn.execute_batch("CREATE TABLE surprise (a TEXT)")
        .expect("setup");
    let err = migrate::apply(&mut conn, &plan, false).expect_err("stale");
    assert_eq!(err.kind, Kind::Conflict);
    assert!(err.message.contains("plan it again"), "{err}");
    assert!(column_names(&conn, "notes").is_empty());
}

#[test]
fn several_changes_to_one_table_rebuild_it_once() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let before = notes_with(
        "[[fields]]\nname = \"a\"\ntype = \"integer\"\n\n[[fields]]\nname = \"b\"\ntype = \"text\"\nsize = 5\n\n[[fields]]\nname = \"c\"\ntype = \"integer\"\n\n[[indexes]]\nname = \"by_a\"\nfields = [\"a\"]\n",
    );
    migrate(&mut conn, &fx.task(&[("notes", &before)]), false);
    conn.execute(
        "INSERT INTO notes (title, a, b, c) VALUES ('x', 1, '2', 3)",
        [],
    )
    .expect("insert");

    // Rename a→aa, b text→integer, drop c, add d, keep the index on the renamed column.
    let after = notes_with(
        "[[fields]]\nname = \"aa\"\ntype = \"integer\"\nrename_from = \"a\"\n\n[[fields]]\nname = \"b\"\ntype = \"integer\"\n\n[[fields]]\nname = \"d\"\ntype = \"float\"\n\n[[indexes]]\nname = \"by_a\"\nfields = [\"aa\"]\n",
    );
    let plan = migrate(&mut conn, &fx.task(&[("notes", &after)]), true);
    assert_eq!(
        described(&plan),
        [
            "rename column notes.a to aa",
            "add column notes.d REAL",
            "change column notes.b from TEXT to INTEGER (values that do not convert become NULL)",
            "drop column notes.c (its values are lost)"
        ]
    );
    let creates = plan
        .statements()
        .iter()
        .filter(|s| s.starts_with("CREATE TABLE"))
        .count();
    assert_eq!(creates, 1);
    assert_eq!(
        column_names(&conn, "notes"),
        ["id", "title", "aa", "b", "d", "deleted"]
    );
    assert_eq!(
        rows(&conn, "SELECT title, aa, b, d, deleted FROM notes"),
        [[
            text("x"),
            Value::Integer(1),
            Value::Integer(2),
            Value::Null,
            Value::Integer(0)
        ]]
    );
    assert_eq!(index_names(&conn, "notes"), ["by_a"]);
}

#[test]
fn calculated_and_master_fields_have_no_column() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let artists = r#"
[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "album_count"
type = "integer"
calc = { item = "albums", field = "id", link = "artist", op = "count" }
"#;
    let albums = r#"
[[fields]]
name = "title"
type = "text"
size = 50

[[fields]]
name = "artist"
type = "integer"
lookup = { item = "artists", field = "name" }

[[fields]]
name = "artist_name"
type = "integer"
master_field = "artist"
lookup = { item = "artists", field = "name" }
"#;
    migrate(
        &mut conn,
        &fx.task(&[("albums", albums), ("artists", artists)]),
        false,
    );
    assert_eq!(column_names(&conn, "albums"), ["id", "title", "artist"]);
    assert_eq!(column_names(&conn, "artists"), ["id", "name"]);
}

#[test]
fn a_table_dropped_by_hand_is_made_again() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let task = fx.task(&[("notes", NOTES)]);
    migrate(&mut conn, &task, false);
    conn.execute_batch("DROP TABLE notes").expect("drop");
    // The registry still lists it; making it again must not trip over that entry.
    let plan = migrate(&mut conn, &task, false);
    assert_eq!(
        described(&plan),
        [
            "create table notes for item notes (4 columns)",
            "create unique index notes_title_idx on notes (title)"
        ]
    );
    assert_eq!(
        rows(&conn, "SELECT name FROM jamrs_tables"),
        [[text("notes")]]
    );
}

#[test]
fn moving_the_primary_key_rebuilds_the_table() {
    let fx = Fixture::new();
    let mut conn = fx.conn();
    let field = "[[fields]]\nname = \"code\"\ntype = \"integer\"\n";
    migrate(&mut conn, &fx.task(&[("notes", &notes_with(field))]), false);
    conn.execute(
        "INSERT INTO notes (title, code) VALUES ('a', 10), ('b', NULL)",
        [],
    )
    .expect("insert");

    let keyed = format!("primary_key = \"code\"\n{}", notes_with(field));
    let task = fx.task(&[("notes", &keyed)]);
    let plan = migrate::plan(&conn, &task).expect("plan");
    assert_eq!(
        plan.risks(),
        [
            "change column notes.code from INTEGER to INTEGER PRIMARY KEY (the primary key moves): 1 row without a value gets a new number",
            "drop column notes.id (its values are lost): 2 values"
        ]
    );
    migrate::apply(&mut conn, &plan, true).expect("apply");
    assert!(migrate::plan(&conn, &task).expect("plan").is_empty());
    assert_eq!(column_names(&conn, "notes"), ["title", "code", "deleted"]);
    assert_eq!(
        rows(&conn, "SELECT code, title FROM notes ORDER BY code"),
        [
            [Value::Integer(10), text("a")],
            [Value::Integer(11), text("b")]
        ]
    );
}
