//! Schema introspection and migration on SQLite.
//!
//! [`plan`] reads what the file has ([`introspect`]), asks `jamrs_store::schema::plan` what to
//! change, and renders every change as SQL; [`apply`] runs exactly that SQL in one
//! transaction, so `jamrs migrate --dry-run` prints what a migration will run.
//!
//! Tables are created `STRICT`, so every value keeps its column's type. SQLite's ALTER TABLE
//! adds and renames columns and renames tables; everything else (a type, NOT NULL or primary
//! key change, dropping a column) rebuilds the table the way SQLite's documentation describes:
//! create the new table under a temporary name, copy the rows (converting where the type
//! changes), drop the old table, rename the new one, recreate its indexes.
//!
//! Names read back from the database's catalog (a column or index to drop) may be anything
//! SQLite allows, so they are quoted with SQLite's escape (doubled `"`); names from the
//! metadata are `Ident`s, for which that quoting is the same as `Dialect::push_ident`.

use std::collections::HashSet;

use jamrs_core::{Error, Result, Task};
use jamrs_store::Dialect;
use jamrs_store::schema::{
    self, ActualColumn, ActualIndex, ActualIndexColumn, ActualSchema, ActualTable, ColumnShape,
    DesiredSchema, REGISTRY_TABLE, SchemaChange, TableDef, TypeClass, is_system_table, type_class,
};
use rusqlite::{Connection, TransactionBehavior};

use crate::conn::map_err;
use crate::dialect::SqliteDialect;

/// Prefix of the temporary table a rebuild copies into. `jamrs_` names can never be item
/// tables, so it cannot collide with one.
const REBUILD_PREFIX: &str = "jamrs_new_";

/// A planned migration: the changes, the SQL that makes them, and what they would destroy.
#[derive(Debug, Clone)]
pub struct Plan {
    desired: DesiredSchema,
    /// The schema the plan was made for; `apply` refuses to run on any other.
    actual: ActualSchema,
    changes: Vec<SchemaChange>,
    statements: Vec<String>,
    risks: Vec<String>,
    /// What the tables of unmanaged items lack (`schema::unmanaged_problems`).
    problems: Vec<String>,
}

impl Plan {
    /// True when the database already matches the metadata.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes, in the order they are applied (each has a human `Display`).
    pub fn changes(&self) -> &[SchemaChange] {
        &self.changes
    }

    /// True when some change can lose data (see `SchemaChange::is_destructive`).
    pub fn is_destructive(&self) -> bool {
        self.changes.iter().any(SchemaChange::is_destructive)
    }

    /// What the tables of unmanaged items (which a migration never changes) lack: a missing
    /// table or column, one line each. Serving such an item would fail on every request, so
    /// `jamrs run` refuses to start and `jamrs check` lists them.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// One line per destructive change, with what it would cost on the data as it is now
    /// ("drop column notes.body (its values are lost): 3 values").
    pub fn risks(&self) -> &[String] {
        &self.risks
    }

    /// The statements `apply` runs, in order, without terminating semicolons.
    pub fn statements(&self) -> &[String] {
        &self.statements
    }

    /// The whole migration as a SQL script, transaction included (for `--dry-run`). Empty
    /// when there is nothing to do.
    pub fn sql(&self) -> String {
        if self.statements.is_empty() {
            return String::new();
        }
        let mut out = String::from("BEGIN IMMEDIATE;\n");
        for s in &self.statements {
            out.push_str(s);
            out.push_str(";\n");
        }
        out.push_str("COMMIT;\n");
        out
    }
}

/// Plans the migration that brings the database on `conn` to the schema `task` asks for.
/// Reads only.
pub fn plan(conn: &Connection, task: &Task) -> Result<Plan> {
    let desired = schema::desired(task, &SqliteDialect);
    let actual = introspect(conn)?;
    let changes = schema::plan(&desired, &actual);
    let statements = render(&desired, &actual, &changes);
    let risks = risks(conn, &changes)?;
    let problems = schema::unmanaged_problems(&desired, &actual);
    Ok(Plan {
        desired,
        actual,
        changes,
        statements,
        risks,
        problems,
    })
}

/// Runs `plan` in one transaction: all of it or, on any error, none of it.
///
/// Refuses a destructive plan unless `allow_destructive`, and refuses a plan made for a schema
/// that has changed since. Before committing it checks that the database now matches the
/// metadata, so a migration never half-succeeds silently.
pub fn apply(conn: &mut Connection, plan: &Plan, allow_destructive: bool) -> Result<()> {
    if plan.is_empty() {
        return Ok(());
    }
    if plan.is_destructive() && !allow_destructive {
        return Err(Error::conflict(format!(
            "the migration can lose data: {}; pass --allow-destructive to apply it anyway \
             (back up the database first), or --dry-run to see its SQL",
            plan.risks.join("; ")
        )));
    }
    // A rebuild drops and recreates tables; with foreign keys enforced SQLite would act on
    // references from other tables. jamrs declares none and `conn::open` already turns them
    // off; this covers other connections. The pragma is ignored inside a transaction, so it
    // goes first.
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(map_err)?;
    // IMMEDIATE takes the write lock before the check below, so nothing can change the
    // schema between the check and the changes.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    if introspect(&tx)? != plan.actual {
        return Err(Error::conflict(
            "the database schema changed after the migration was planned; plan it again",
        ));
    }
    for statement in &plan.statements {
        tx.execute_batch(statement).map_err(|e| {
            let e = map_err(e);
            Error::new(
                e.kind,
                format!(
                    "the migration failed at `{}`: {}; nothing was changed",
                    statement.lines().next().unwrap_or_default(),
                    e.message
                ),
            )
        })?;
    }
    let left = schema::plan(&plan.desired, &introspect(&tx)?);
    if !left.is_empty() {
        let left: Vec<String> = left.iter().map(ToString::to_string).collect();
        return Err(Error::internal(format!(
            "after migrating, the database still differs from the metadata ({}); nothing was changed",
            left.join("; ")
        )));
    }
    tx.commit().map_err(map_err)
}

/// Reads the tables, columns and indexes of the `main` database.
///
/// SQLite compares identifiers without regard to ASCII case, so names are reported in lower
/// case, the case of every `Ident`. Views, virtual tables, `sqlite_` and `jamrs_` tables are
/// left out; the registry is read into `registered`.
pub fn introspect(conn: &Connection) -> Result<ActualSchema> {
    let mut schema = ActualSchema {
        fold_case: true,
        ..ActualSchema::default()
    };
    let tables: Vec<(String, String)> = query(
        conn,
        "SELECT name, type FROM pragma_table_list WHERE schema = 'main'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (name, kind) in tables {
        let lower = name.to_ascii_lowercase();
        if kind != "table" {
            continue;
        }
        if lower == REGISTRY_TABLE {
            schema.registry_exists = true;
        } else if !is_system_table(&lower) {
            let table = read_table(conn, &name, lower.clone())?;
            schema.tables.insert(lower, table);
        }
    }
    if schema.registry_exists {
        let sql = format!("SELECT name FROM {}", quote(REGISTRY_TABLE));
        let names: Vec<String> = query(conn, &sql, [], |r| r.get(0))?;
        schema.registered = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    }
    Ok(schema)
}

fn read_table(conn: &Connection, name: &str, lower: String) -> Result<ActualTable> {
    let columns = query(
        conn,
        r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_xinfo(?1, 'main')"#,
        [name],
        |r| {
            Ok(ActualColumn {
                name: r.get::<_, String>(0)?.to_ascii_lowercase(),
                shape: ColumnShape {
                    sql_type: r.get(1)?,
                    not_null: r.get::<_, i64>(2)? != 0,
                    default: r.get(3)?,
                    primary_key: r.get::<_, i64>(4)? > 0,
                },
            })
        },
    )?;
    let listed: Vec<(String, bool, String, bool)> = query(
        conn,
        r#"SELECT name, "unique", origin, partial FROM pragma_index_list(?1, 'main')"#,
        [name],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut indexes = Vec::new();
    for (index, unique, origin, partial) in listed {
        // "c" is CREATE INDEX; "u" and "pk" are SQLite's autoindexes for constraints, which
        // belong to the table definition and cannot be dropped on their own.
        if origin != "c" {
            continue;
        }
        let columns = query(
            conn,
            r#"SELECT name, "desc" FROM pragma_index_xinfo(?1, 'main') WHERE key = 1 ORDER BY seqno"#,
            [&index],
            |r| {
                Ok(ActualIndexColumn {
                    name: r
                        .get::<_, Option<String>>(0)?
                        .map(|n| n.to_ascii_lowercase()),
                    desc: r.get(1)?,
                })
            },
        )?;
        indexes.push(ActualIndex {
            name: index.to_ascii_lowercase(),
            columns,
            unique,
            partial,
        });
    }
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ActualTable {
        name: lower,
        columns,
        indexes,
    })
}

fn query<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(sql).map_err(map_err)?;
    let rows = stmt.query_map(params, row).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<T>>>().map_err(map_err)
}

/// A quoted identifier; doubling `"` is SQLite's escape, so any name is safe.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal; doubling `'` is SQL's escape.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL for `changes`, in phases: index drops, table drops, table renames, new tables, then
/// table by table the column renames, additions and (for changes ALTER TABLE cannot make) one
/// rebuild, and last the new indexes.
fn render(desired: &DesiredSchema, actual: &ActualSchema, changes: &[SchemaChange]) -> Vec<String> {
    let dialect = &SqliteDialect;
    let registry = quote(REGISTRY_TABLE);
    let mut out = Vec::new();

    for change in changes {
        if let SchemaChange::DropIndex { index, .. } = change {
            out.push(format!("DROP INDEX {}", quote(index)));
        }
    }
    for change in changes {
        if let SchemaChange::DropTable { table } = change {
            out.push(format!("DROP TABLE {}", quote(table)));
            out.push(format!(
                "DELETE FROM {registry} WHERE name = {}",
                literal(table)
            ));
        }
    }
    for change in changes {
        if let SchemaChange::RenameTable { from, to } = change {
            out.push(format!(
                "ALTER TABLE {} RENAME TO {}",
                quote(from.as_str()),
                quote(to.as_str())
            ));
            // The registry follows a table jamrs made; a table it adopted stays unlisted. An
            // entry for a table that no longer exists (dropped by hand) must not make the
            // update collide, nor make jamrs think it created the table now under that name.
            let entry =
                |name: &str| format!("DELETE FROM {registry} WHERE name = {}", literal(name));
            match (
                actual.registered.contains(from.as_str()),
                actual.registered.contains(to.as_str()),
            ) {
                (true, false) => out.push(format!(
                    "UPDATE {registry} SET name = {} WHERE name = {}",
                    literal(to.as_str()),
                    literal(from.as_str())
                )),
                (true, true) => out.push(entry(from.as_str())),
                (false, true) => out.push(entry(to.as_str())),
                (false, false) => {}
            }
        }
    }
    let creates = changes
        .iter()
        .any(|c| matches!(c, SchemaChange::CreateTable(_)));
    if creates && !actual.registry_exists {
        out.push(format!(
            "CREATE TABLE {registry} (\n  name TEXT PRIMARY KEY NOT NULL\n) STRICT"
        ));
    }
    for change in changes {
        if let SchemaChange::CreateTable(table) = change {
            out.push(create_table_sql(dialect, table, table.name.as_str()));
            // Already listed when jamrs made a table of that name that was dropped by hand.
            if !actual.registered.contains(table.name.as_str()) {
                out.push(format!(
                    "INSERT INTO {registry} (name) VALUES ({})",
                    literal(table.name.as_str())
                ));
            }
        }
    }

    for table in &desired.tables {
        render_columns(dialect, table, changes, &mut out);
    }

    for change in changes {
        if let SchemaChange::CreateIndex { table, index } = change {
            out.push(schema::create_index_sql(dialect, table, index));
        }
    }
    out
}

/// Column changes of one existing table.
fn render_columns(
    dialect: &dyn Dialect,
    table: &TableDef,
    changes: &[SchemaChange],
    out: &mut Vec<String>,
) {
    let name = quote(table.name.as_str());
    let mut added: HashSet<&str> = HashSet::new();
    let mut rebuild = false;
    for change in changes {
        match change {
            SchemaChange::RenameColumn { table: t, from, to } if *t == table.name => {
                out.push(format!(
                    "ALTER TABLE {name} RENAME COLUMN {} TO {}",
                    quote(from.as_str()),
                    quote(to.as_str())
                ));
            }
            SchemaChange::AddColumn { table: t, column } if *t == table.name => {
                added.insert(column.name.as_str());
                // ALTER TABLE cannot add a PRIMARY KEY column.
                rebuild |= column.shape.primary_key;
            }
            SchemaChange::ChangeColumn { table: t, .. }
            | SchemaChange::DropColumn { table: t, .. }
                if *t == table.name =>
            {
                rebuild = true;
            }
            _ => {}
        }
    }
    if !rebuild {
        for column in table
            .columns
            .iter()
            .filter(|c| added.contains(c.name.as_str()))
        {
            let mut sql = format!("ALTER TABLE {name} ADD COLUMN ");
            schema::push_column_def(dialect, &mut sql, column);
            out.push(sql);
        }
        return;
    }

    // The rebuild makes the whole table as the metadata has it, added columns included (they
    // start out NULL or at their default), so those are not copied.
    let temp = format!("{REBUILD_PREFIX}{}", table.name);
    out.push(create_table_sql(dialect, table, &temp));
    let mut targets = Vec::new();
    let mut sources = Vec::new();
    for column in table
        .columns
        .iter()
        .filter(|c| !added.contains(c.name.as_str()))
    {
        targets.push(quote(column.name.as_str()));
        let change = changes.iter().find_map(|c| match c {
            SchemaChange::ChangeColumn {
                table: t,
                column: col,
                from,
                to,
            } if *t == table.name && *col == column.name => Some((from, to)),
            _ => None,
        });
        sources.push(match change {
            Some((from, to)) => converted(column.name.as_str(), from, to),
            None => quote(column.name.as_str()),
        });
    }
    if !targets.is_empty() {
        out.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {name}",
            quote(&temp),
            targets.join(", "),
            sources.join(", ")
        ));
    }
    out.push(format!("DROP TABLE {name}"));
    out.push(format!("ALTER TABLE {} RENAME TO {name}", quote(&temp)));
    // DROP TABLE took the indexes along; put back those the plan does not create anyway.
    for index in &table.indexes {
        let planned = changes.iter().any(|c| {
            matches!(c, SchemaChange::CreateIndex { table: t, index: i }
                if *t == table.name && i.name == index.name)
        });
        if !planned {
            out.push(schema::create_index_sql(dialect, &table.name, index));
        }
    }
}

/// `CREATE TABLE "name" (...) STRICT` for `table`'s columns.
fn create_table_sql(dialect: &dyn Dialect, table: &TableDef, name: &str) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut def = String::from("  ");
            schema::push_column_def(dialect, &mut def, c);
            def
        })
        .collect();
    format!(
        "CREATE TABLE {} (\n{}\n) STRICT",
        quote(name),
        columns.join(",\n")
    )
}

/// The expression that reads `column` (of shape `from`) as a value for shape `to`.
///
/// Conversions that cannot lose anything use CAST. The others keep a value only when it
/// converts exactly, and give NULL otherwise: `'12'` becomes 12, but `'12abc'` and 2.5 do not
/// become 12 and 2 (a bare CAST would make them so, and `'abc'` 0). The value is read as
/// NUMERIC first so `'1e3'` counts as 1000; the comparison applies numeric affinity to the
/// stored value, so text that is not a number never equals the result.
fn converted(column: &str, from: &ColumnShape, to: &ColumnShape) -> String {
    let col = quote(column);
    let mut expr = if from.sql_type.trim().eq_ignore_ascii_case(&to.sql_type) {
        col
    } else {
        match (type_class(&from.sql_type), type_class(&to.sql_type)) {
            (_, TypeClass::Text) => format!("CAST({col} AS TEXT)"),
            (TypeClass::Integer, TypeClass::Real) => format!("CAST({col} AS REAL)"),
            (a, b) if a == b => col,
            _ => {
                let value = format!("CAST(CAST({col} AS NUMERIC) AS {})", to.sql_type);
                format!("CASE WHEN {value} = {col} THEN {value} END")
            }
        }
    };
    if to.not_null
        && !to.primary_key
        && let Some(default) = &to.default
    {
        expr = format!("COALESCE({expr}, {default})");
    }
    expr
}

/// What each destructive change would cost on the data as it is now.
fn risks(conn: &Connection, changes: &[SchemaChange]) -> Result<Vec<String>> {
    // The counts read the tables before this migration's renames.
    let old_table = |table: &str| -> String {
        changes
            .iter()
            .find_map(|c| match c {
                SchemaChange::RenameTable { from, to } if to.as_str() == table => {
                    Some(from.to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| table.to_string())
    };
    let old_column = |table: &str, column: &str| -> String {
        changes
            .iter()
            .find_map(|c| match c {
                SchemaChange::RenameColumn { table: t, from, to }
                    if t.as_str() == table && to.as_str() == column =>
                {
                    Some(from.to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| column.to_string())
    };
    let count =
        |sql: String| -> Result<i64> { conn.query_row(&sql, [], |r| r.get(0)).map_err(map_err) };

    let mut out = Vec::new();
    for change in changes.iter().filter(|c| c.is_destructive()) {
        let detail = match change {
            SchemaChange::DropTable { table } => {
                let n = count(format!("SELECT count(*) FROM {}", quote(table)))?;
                counted(n, "row", "rows")
            }
            SchemaChange::DropColumn { table, column } => {
                let n = count(format!(
                    "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                    quote(&old_table(table.as_str())),
                    quote(column)
                ))?;
                counted(n, "value", "values")
            }
            SchemaChange::ChangeColumn {
                table,
                column,
                from,
                to,
            } => {
                let col = old_column(table.as_str(), column.as_str());
                let tbl = quote(&old_table(table.as_str()));
                if schema::conversion_can_lose_data(&from.sql_type, &to.sql_type) {
                    let total = count(format!(
                        "SELECT count(*) FROM {tbl} WHERE {} IS NOT NULL",
                        quote(&col)
                    ))?;
                    let lost = count(format!(
                        "SELECT count(*) FROM {tbl} WHERE {} IS NOT NULL AND {} IS NULL",
                        quote(&col),
                        converted(&col, from, to)
                    ))?;
                    format!(
                        "{lost} of {} do not convert",
                        counted(total, "value", "values")
                    )
                } else if to.primary_key {
                    // SQLite numbers rows whose new key is NULL; duplicates stop the migration.
                    let empty = count(format!(
                        "SELECT count(*) FROM {tbl} WHERE {} IS NULL",
                        quote(&col)
                    ))?;
                    if empty == 1 {
                        "1 row without a value gets a new number".to_string()
                    } else {
                        format!("{empty} rows without a value get a new number")
                    }
                } else {
                    "it keeps its values".to_string()
                }
            }
            _ => continue,
        };
        out.push(format!("{change}: {detail}"));
    }
    Ok(out)
}

/// "1 row", "3 rows".
fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
