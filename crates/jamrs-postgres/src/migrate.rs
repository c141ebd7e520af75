//! Schema introspection and migration on PostgreSQL.
//!
//! [`plan`] reads what the database's current schema has ([`introspect`], from `pg_catalog`),
//! asks `jamrs_store::schema::plan` what to change, and renders every change as SQL; [`apply`]
//! runs exactly that SQL. PostgreSQL's DDL is transactional and its ALTER TABLE can change a
//! column's type, NOT NULL, default and key in place, so nothing is rebuilt and copied as on
//! SQLite (`jamrs-sqlite/src/migrate.rs`).
//!
//! Several instances may start at once on one database: [`locked`] runs a migration in one
//! transaction that first takes the advisory lock [`LOCK`], so one migrates while the others
//! wait, and each plans only once it holds the lock (the next finds nothing left to do).
//!
//! Names read back from the catalog are quoted with doubled `"`, so any name is safe; names
//! from the metadata are `Ident`s.

use jamrs_core::{Error, Result, Task};
use jamrs_store::schema::{
    self, ActualColumn, ActualIndex, ActualIndexColumn, ActualSchema, ActualTable, ColumnShape,
    DesiredSchema, REGISTRY_TABLE, SchemaChange, TypeClass, is_system_table, type_class,
};
use postgres::{Client, Transaction};

use crate::conn::map_err;
use crate::dialect::PgDialect;

/// The advisory lock every migration of jamrs holds ("jamrs" in ASCII): two instances that
/// start at once never migrate at the same time.
pub const LOCK: i64 = 0x6a_616d_7273;

/// Runs `f` in one transaction that holds the migration lock, and commits what it did (or
/// nothing, if it fails).
pub fn locked<T>(
    client: &mut Client,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let mut tx = client.transaction().map_err(map_err)?;
    // DDL must not be cut short by the serving timeout, and the lock waits for as long as
    // another instance migrates.
    tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")
        .map_err(map_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .map_err(map_err)?;
    let out = f(&mut tx)?;
    tx.commit().map_err(map_err)?;
    Ok(out)
}

/// Runs `f` in a transaction that is rolled back (`check`, `migrate --dry-run`).
pub fn read<T>(
    client: &mut Client,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let mut tx = client.transaction().map_err(map_err)?;
    let out = f(&mut tx)?;
    tx.rollback().map_err(map_err)?;
    Ok(out)
}

/// A planned migration: the changes, the SQL that makes them, and what they would destroy.
#[derive(Debug, Clone)]
pub struct Plan {
    desired: DesiredSchema,
    changes: Vec<SchemaChange>,
    /// Row-level security to make or remove, one line each (see [`POLICY`]).
    row_security: Vec<String>,
    statements: Vec<String>,
    risks: Vec<String>,
    problems: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.row_security.is_empty()
    }

    pub fn changes(&self) -> &[SchemaChange] {
        &self.changes
    }

    /// The row-level security the migration makes or removes ("row-level security on notes
    /// by user_id"), besides [`Plan::changes`].
    pub fn row_security(&self) -> &[String] {
        &self.row_security
    }

    pub fn is_destructive(&self) -> bool {
        self.changes.iter().any(SchemaChange::is_destructive)
    }

    /// What the tables of unmanaged items lack (see the SQLite backend's `Plan::problems`).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    pub fn risks(&self) -> &[String] {
        &self.risks
    }

    pub fn statements(&self) -> &[String] {
        &self.statements
    }

    /// The whole migration as a SQL script, lock and transaction included (for `--dry-run`).
    pub fn sql(&self) -> String {
        if self.statements.is_empty() {
            return String::new();
        }
        let mut out = format!("BEGIN;\nSELECT pg_advisory_xact_lock({LOCK});\n");
        for s in &self.statements {
            out.push_str(s);
            out.push_str(";\n");
        }
        out.push_str("COMMIT;\n");
        out
    }
}

/// Plans the migration that brings the current schema to what `task` asks for. Reads only.
pub fn plan(tx: &mut Transaction<'_>, task: &Task) -> Result<Plan> {
    let desired = schema::desired(task, &PgDialect);
    let actual = introspect(tx)?;
    let changes = schema::plan(&desired, &actual);
    let (before, after, row_security) = plan_row_security(tx, task, &changes)?;
    let mut statements = before;
    statements.extend(render(&actual, &changes));
    statements.extend(after);
    let risks = risks(tx, &changes)?;
    let problems = schema::unmanaged_problems(&desired, &actual);
    Ok(Plan {
        desired,
        changes,
        row_security,
        statements,
        risks,
        problems,
    })
}

/// The policy jamrs makes on every table `[tenancy]` covers (a managed item with a tenant
/// column): rows are visible and writable only when their tenant column holds the tenant the
/// transaction set (`Conn::scope`: `jamrs.tenant`), or when it set every tenant
/// (`jamrs.tenant_all = on`); with nothing set, no row. `FORCE` holds the tables' owner to it
/// too; only a superuser or a `BYPASSRLS` role passes it (README: the roles to create). Its
/// comment (`jamrs:1:<column>`) says which column it was made for, so introspection compares it
/// without parsing the expression. The settings are read in sub-selects: evaluated once per
/// statement, not per row.
pub const POLICY: &str = "jamrs_tenant";

fn policy_marker(column: &str) -> String {
    format!("jamrs:1:{column}")
}

fn create_policy(table: &str, column: &str) -> Vec<String> {
    let t = quote(table);
    let cond = format!(
        "{} = (SELECT NULLIF(current_setting('jamrs.tenant', true), '')::bigint) \
         OR (SELECT current_setting('jamrs.tenant_all', true)) = 'on'",
        quote(column)
    );
    vec![
        format!("DROP POLICY IF EXISTS {POLICY} ON {t}"),
        format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"),
        format!("ALTER TABLE {t} FORCE ROW LEVEL SECURITY"),
        format!("CREATE POLICY {POLICY} ON {t} USING ({cond}) WITH CHECK ({cond})"),
        format!(
            "COMMENT ON POLICY {POLICY} ON {t} IS {}",
            literal(&policy_marker(column))
        ),
    ]
}

/// Row-level security to change: statements before the schema changes (policies dropped so a
/// column they name can change), statements after them (policies made), and one line per
/// table whose row security changes.
fn plan_row_security(
    tx: &mut Transaction<'_>,
    task: &Task,
    changes: &[SchemaChange],
) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let covered: Vec<(String, String)> = task
        .items
        .iter()
        .filter(|i| i.managed)
        .filter_map(|i| {
            let column = i.field(i.tenant_field?).column.as_ref()?;
            Some((i.table.to_string(), column.to_string()))
        })
        .collect();
    // table → (enabled and forced, the jamrs policy's marker)
    let actual: std::collections::BTreeMap<String, (bool, Option<String>)> = tx
        .query(
            &format!(
                "SELECT c.relname::text, c.relrowsecurity AND c.relforcerowsecurity,
                        obj_description(p.oid, 'pg_policy')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = '{POLICY}'
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
            ),
            &[],
        )
        .map_err(map_err)?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let touched = |table: &str| {
        changes.iter().any(|c| match c {
            SchemaChange::RenameTable { from, to } => {
                from.as_str() == table || to.as_str() == table
            }
            SchemaChange::AddColumn { table: t, .. }
            | SchemaChange::RenameColumn { table: t, .. }
            | SchemaChange::ChangeColumn { table: t, .. }
            | SchemaChange::DropColumn { table: t, .. } => t.as_str() == table,
            _ => false,
        })
    };
    let (mut before, mut after, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    for (table, column) in &covered {
        let current = actual.get(table);
        let made = current.is_some_and(|(on, marker)| {
            *on && marker.as_deref() == Some(policy_marker(column).as_str())
        });
        if !made {
            lines.push(format!("row-level security on {table} by {column}"));
        }
        if !made || touched(table) {
            if current.is_some_and(|(_, m)| m.is_some()) {
                before.push(format!(
                    "DROP POLICY IF EXISTS {POLICY} ON {}",
                    quote(table)
                ));
            }
            after.extend(create_policy(table, column));
        }
    }
    for (table, (_, marker)) in &actual {
        let ours = marker.as_deref().is_some_and(|m| m.starts_with("jamrs:"));
        if ours && !covered.iter().any(|(t, _)| t == table) {
            lines.push(format!(
                "no row-level security on {table} (no longer covered)"
            ));
            let t = quote(table);
            before.push(format!("DROP POLICY IF EXISTS {POLICY} ON {t}"));
            before.push(format!("ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY"));
            before.push(format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"));
        }
    }
    Ok((before, after, lines))
}

/// Runs `plan` inside `tx` (which [`locked`] opened, so nothing else migrates meanwhile).
/// Refuses a destructive plan unless `allow_destructive`; checks before the caller commits
/// that the database now matches the metadata.
pub fn apply(tx: &mut Transaction<'_>, plan: &Plan, allow_destructive: bool) -> Result<()> {
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
    for statement in &plan.statements {
        tx.batch_execute(statement).map_err(|e| {
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
    let left = schema::plan(&plan.desired, &introspect(tx)?);
    if !left.is_empty() {
        let left: Vec<String> = left.iter().map(ToString::to_string).collect();
        return Err(Error::internal(format!(
            "after migrating, the database still differs from the metadata ({}); nothing was changed",
            left.join("; ")
        )));
    }
    Ok(())
}

/// Reads the tables (of the current schema), columns and indexes. PostgreSQL compares quoted
/// names exactly, so names are reported as they are. `jamrs_` tables are left out; the
/// registry is read into `registered`.
pub fn introspect(tx: &mut Transaction<'_>) -> Result<ActualSchema> {
    let mut schema = ActualSchema::default();
    let tables = tx
        .query(
            "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')",
            &[],
        )
        .map_err(map_err)?;
    for row in tables {
        let oid: u32 = row.get(0);
        let name: String = row.get(1);
        if name == REGISTRY_TABLE {
            schema.registry_exists = true;
        } else if !is_system_table(&name) {
            let table = read_table(tx, oid, name.clone())?;
            schema.tables.insert(name, table);
        }
    }
    if schema.registry_exists {
        let rows = tx
            .query(&format!("SELECT name FROM {}", quote(REGISTRY_TABLE)), &[])
            .map_err(map_err)?;
        schema.registered = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    }
    Ok(schema)
}

fn read_table(tx: &mut Transaction<'_>, oid: u32, name: String) -> Result<ActualTable> {
    let columns = tx
        .query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_get_expr(d.adbin, d.adrelid),
                    EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid
                            AND i.indisprimary AND a.attnum = ANY (i.indkey))
             FROM pg_attribute a
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(map_err)?
        .iter()
        .map(|r| ActualColumn {
            name: r.get(0),
            shape: ColumnShape {
                sql_type: r.get(1),
                not_null: r.get(2),
                default: r.get(3),
                primary_key: r.get(4),
            },
        })
        .collect();
    // Indexes made with CREATE INDEX: those behind a constraint (PRIMARY KEY, UNIQUE) come
    // and go with it.
    let rows = tx
        .query(
            "SELECT ic.relname, i.indisunique, i.indpred IS NOT NULL, a.attname,
                    (i.indoption[k.n - 1] & 1) = 1
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = $1 AND NOT i.indisprimary AND k.n <= i.indnkeyatts
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
             ORDER BY ic.relname, k.n",
            &[&oid],
        )
        .map_err(map_err)?;
    let mut indexes: Vec<ActualIndex> = Vec::new();
    for r in rows {
        let index: String = r.get(0);
        let column = ActualIndexColumn {
            name: r.get(3),
            desc: r.get(4),
        };
        match indexes.last_mut() {
            Some(last) if last.name == index => last.columns.push(column),
            _ => indexes.push(ActualIndex {
                name: index,
                columns: vec![column],
                unique: r.get(1),
                partial: r.get(2),
            }),
        }
    }
    Ok(ActualTable {
        name,
        columns,
        indexes,
    })
}

/// A quoted identifier; doubling `"` is the escape, so any name is safe.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL for `changes`, in the order `schema::plan` lists them (index drops, table drops,
/// renames, new tables, column changes, new indexes).
fn render(actual: &ActualSchema, changes: &[SchemaChange]) -> Vec<String> {
    let dialect = &PgDialect;
    let registry = quote(REGISTRY_TABLE);
    let mut out = Vec::new();
    let mut registry_made = actual.registry_exists;
    for change in changes {
        match change {
            SchemaChange::DropIndex { index, .. } => {
                out.push(format!("DROP INDEX {}", quote(index)))
            }
            SchemaChange::DropTable { table } => {
                out.push(format!("DROP TABLE {}", quote(table)));
                out.push(format!(
                    "DELETE FROM {registry} WHERE name = {}",
                    literal(table)
                ));
            }
            SchemaChange::RenameTable { from, to } => {
                out.push(format!(
                    "ALTER TABLE {} RENAME TO {}",
                    quote(from.as_str()),
                    quote(to.as_str())
                ));
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
            SchemaChange::CreateTable(table) => {
                if !registry_made {
                    out.push(format!(
                        "CREATE TABLE {registry} (\n  name text PRIMARY KEY\n)"
                    ));
                    registry_made = true;
                }
                let columns: Vec<String> = table
                    .columns
                    .iter()
                    .map(|c| {
                        let mut def = String::from("  ");
                        schema::push_column_def(dialect, &mut def, c);
                        def
                    })
                    .collect();
                out.push(format!(
                    "CREATE TABLE {} (\n{}\n)",
                    quote(table.name.as_str()),
                    columns.join(",\n")
                ));
                if !actual.registered.contains(table.name.as_str()) {
                    out.push(format!(
                        "INSERT INTO {registry} (name) VALUES ({})",
                        literal(table.name.as_str())
                    ));
                }
            }
            SchemaChange::RenameColumn { table, from, to } => out.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                quote(table.as_str()),
                quote(from.as_str()),
                quote(to.as_str())
            )),
            SchemaChange::AddColumn { table, column } => {
                let mut sql = format!("ALTER TABLE {} ADD COLUMN ", quote(table.as_str()));
                schema::push_column_def(dialect, &mut sql, column);
                out.push(sql);
            }
            SchemaChange::ChangeColumn {
                table,
                column,
                from,
                to,
            } => change_column(table.as_str(), column.as_str(), from, to, &mut out),
            SchemaChange::DropColumn { table, column } => out.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                quote(table.as_str()),
                quote(column)
            )),
            SchemaChange::CreateIndex { table, index } => {
                out.push(schema::create_index_sql(dialect, table, index));
            }
        }
    }
    out
}

/// ALTERs that change one column in place: its key, type, default and NOT NULL.
fn change_column(
    table: &str,
    column: &str,
    from: &ColumnShape,
    to: &ColumnShape,
    out: &mut Vec<String>,
) {
    let t = quote(table);
    let c = quote(column);
    if from.primary_key && !to.primary_key {
        out.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {}",
            quote(&format!("{table}_pkey"))
        ));
        out.push(format!(
            "ALTER TABLE {t} ALTER COLUMN {c} DROP IDENTITY IF EXISTS"
        ));
    }
    if !from.sql_type.eq_ignore_ascii_case(&to.sql_type) {
        out.push(format!(
            "ALTER TABLE {t} ALTER COLUMN {c} TYPE {} USING {}",
            to.sql_type,
            converted(column, from, to)
        ));
    }
    if to.primary_key {
        if !from.primary_key {
            // Rows without a value get the next numbers, as SQLite numbers them.
            out.push(format!(
                "ALTER TABLE {t} ALTER COLUMN {c} ADD GENERATED BY DEFAULT AS IDENTITY"
            ));
            out.push(format!("UPDATE {t} SET {c} = DEFAULT WHERE {c} IS NULL"));
            out.push(format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), COALESCE((SELECT max({c}) FROM {t}), 0) + 1, false)",
                literal(&t),
                literal(column)
            ));
            out.push(format!("ALTER TABLE {t} ADD PRIMARY KEY ({c})"));
        }
        return;
    }
    if from.default != to.default {
        match &to.default {
            Some(d) => out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {d}")),
            None => out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")),
        }
    }
    if to.not_null && (!from.not_null || from.primary_key) {
        if let Some(d) = &to.default {
            out.push(format!("UPDATE {t} SET {c} = {d} WHERE {c} IS NULL"));
        }
        out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"));
    } else if !to.not_null && from.not_null {
        out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL"));
    }
}

/// The expression that reads `column` (of shape `from`) as a value of type `to`: exactly, or
/// NULL when it does not convert exactly (`'12abc'` and 2.5 do not become 12 and 2), as on
/// SQLite.
fn converted(column: &str, from: &ColumnShape, to: &ColumnShape) -> String {
    let col = quote(column);
    let ty = &to.sql_type;
    let is_date = |t: &str| t == "date" || t.starts_with("timestamp");
    match (type_class(&from.sql_type), type_class(ty)) {
        (_, TypeClass::Text) => format!("CAST({col} AS {ty})"),
        (TypeClass::Integer, TypeClass::Real | TypeClass::Integer)
        | (TypeClass::Real, TypeClass::Real) => format!("CAST({col} AS {ty})"),
        (TypeClass::Real, TypeClass::Integer) => {
            format!("CASE WHEN {col} = trunc({col}) THEN CAST({col} AS {ty}) END")
        }
        (TypeClass::Text, TypeClass::Integer) => {
            format!("CASE WHEN {col} ~ '^\\s*[+-]?[0-9]{{1,18}}\\s*$' THEN CAST({col} AS {ty}) END")
        }
        (TypeClass::Text, TypeClass::Real) => format!(
            "CASE WHEN {col} ~ '^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{{1,3}})?\\s*$' THEN CAST({col} AS {ty}) END"
        ),
        (TypeClass::Text, _) if is_date(ty) => format!(
            "CASE WHEN {col} ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T][0-2][0-9]:[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?)?$' THEN CAST({col} AS {ty}) END"
        ),
        _ if is_date(&from.sql_type) && is_date(ty) => format!("CAST({col} AS {ty})"),
        _ => "NULL".to_string(),
    }
}

/// What each destructive change would cost on the data as it is now.
fn risks(tx: &mut Transaction<'_>, changes: &[SchemaChange]) -> Result<Vec<String>> {
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
    let mut count =
        |sql: String| -> Result<i64> { Ok(tx.query_one(&sql, &[]).map_err(map_err)?.get(0)) };
    let mut out = Vec::new();
    for change in changes.iter().filter(|c| c.is_destructive()) {
        let detail = match change {
            SchemaChange::DropTable { table } => counted(
                count(format!("SELECT count(*) FROM {}", quote(table)))?,
                "row",
                "rows",
            ),
            SchemaChange::DropColumn { table, column } => counted(
                count(format!(
                    "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                    quote(&old_table(table.as_str())),
                    quote(column)
                ))?,
                "value",
                "values",
            ),
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

fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

// ---------------------------------------------------------------------------------------------
// Citus: on paper (`jamrs migrate --dry-run --citus`)

/// The DDL a Citus cluster needs for `task`, printed for an operator and never run by jamrs
/// (Citus cannot be installed where jamrs is built and tested, so this is not kept green by a
/// test against Citus; docs/scaling.md). Each table `[tenancy]` covers is distributed by its
/// tenant column, with a primary key that includes it (Citus requires that of a distributed
/// table's unique keys; the key column stays globally unique, so the engine still addresses a
/// row by its key and tenant) and colocated with the first, so lookups, details and calculated
/// fields between covered items join on one node; every other item's table is a reference
/// table (a copy on every node); jamrs's system tables stay local on the coordinator.
pub fn citus_sql(task: &Task) -> Result<String> {
    let Some(tenancy) = &task.settings.tenancy else {
        return Err(Error::bad_request(
            "Citus distributes tables by the tenant column: the project needs [tenancy]",
        ));
    };
    let dialect = &PgDialect;
    let desired = schema::desired(task, dialect);
    let mut out = String::new();
    out.push_str(&format!(
        "-- Citus DDL for {} (jamrs migrate --dry-run --citus): review it, then run it on the\n\
         -- coordinator of an empty database. Tables [tenancy] covers are distributed by \"{}\";\n\
         -- the others are reference tables; jamrs_* system tables stay local (run `jamrs migrate`\n\
         -- first with a URL of the coordinator, then this).\n\
         -- The serving role: ALTER ROLE jamrs SET citus.propagate_set_commands = 'local';\n\
         -- so the tenant each transaction sets reaches the workers' row-level security.\n\
         BEGIN;\n",
        task.name, tenancy.column
    ));
    let mut colocate: Option<String> = None;
    let covered = |name: &str| {
        task.items
            .iter()
            .find(|i| i.table.as_str() == name)
            .and_then(|i| i.tenant_field.map(|f| (i, f)))
    };
    // Reference tables first: distributed tables look them up.
    let mut tables: Vec<&schema::TableDef> = desired.tables.iter().filter(|t| t.managed).collect();
    tables.sort_by_key(|t| covered(t.name.as_str()).is_some());
    for table in tables {
        let name = table.name.as_str();
        let t = quote(name);
        match covered(name) {
            None => {
                let mut columns = Vec::new();
                for c in &table.columns {
                    let mut def = String::from("  ");
                    schema::push_column_def(dialect, &mut def, c);
                    columns.push(def);
                }
                out.push_str(&format!(
                    "CREATE TABLE {t} (\n{}\n);\n",
                    columns.join(",\n")
                ));
                for ix in &table.indexes {
                    out.push_str(&schema::create_index_sql(dialect, &table.name, ix));
                    out.push_str(";\n");
                }
                out.push_str(&format!(
                    "SELECT create_reference_table({});\n",
                    literal(&t)
                ));
            }
            Some((item, tenant)) => {
                let tenant_col = item
                    .field(tenant)
                    .column
                    .as_ref()
                    .map_or("", |c| c.as_str());
                let mut columns = Vec::new();
                let mut key = String::new();
                for c in &table.columns {
                    let mut def = format!("  {} ", quote(c.name.as_str()));
                    if c.shape.primary_key {
                        key = c.name.to_string();
                        def.push_str("bigint GENERATED BY DEFAULT AS IDENTITY");
                    } else {
                        def.push_str(&c.shape.sql_type);
                        // A row without a tenant could be on no shard: the engine refuses such
                        // an insert, and the database does too.
                        if c.shape.not_null || c.name.as_str() == tenant_col {
                            def.push_str(" NOT NULL");
                        }
                        if let Some(d) = &c.shape.default {
                            def.push_str(&format!(" DEFAULT {d}"));
                        }
                    }
                    columns.push(def);
                }
                columns.push(format!(
                    "  PRIMARY KEY ({}, {})",
                    quote(tenant_col),
                    quote(&key)
                ));
                out.push_str(&format!(
                    "CREATE TABLE {t} (\n{}\n);\n",
                    columns.join(",\n")
                ));
                for ix in &table.indexes {
                    out.push_str(&schema::create_index_sql(dialect, &table.name, ix));
                    out.push_str(";\n");
                }
                let with = colocate.clone().unwrap_or_else(|| "default".to_string());
                out.push_str(&format!(
                    "SELECT create_distributed_table({}, {}, colocate_with => {});\n",
                    literal(&t),
                    literal(tenant_col),
                    literal(&with)
                ));
                colocate.get_or_insert_with(|| t.clone());
                for s in create_policy(name, tenant_col).iter().skip(1) {
                    out.push_str(s);
                    out.push_str(";\n");
                }
            }
        }
    }
    out.push_str("COMMIT;\n");
    Ok(out)
}
