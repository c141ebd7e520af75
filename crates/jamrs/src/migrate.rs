//! The `check` and `migrate` commands, and the migration `jamrs run` makes at start, on the
//! project's SQLite file or PostgreSQL database.

use std::fmt::Write;

use jamrs_core::{Error, Task};
use jamrs_store::schema::SchemaChange;

use crate::database::Database;

/// What the commands show of a backend's planned migration.
struct Planned {
    changes: Vec<SchemaChange>,
    /// Row-level security to make or remove (PostgreSQL), one line each.
    row_security: Vec<String>,
    risks: Vec<String>,
    problems: Vec<String>,
    sql: String,
}

impl Planned {
    fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.row_security.is_empty()
    }

    /// Every change, one line each (`!` marks those that can lose data).
    fn lines(&self) -> Vec<(bool, String)> {
        self.changes
            .iter()
            .map(|c| (c.is_destructive(), c.to_string()))
            .chain(self.row_security.iter().map(|l| (false, l.clone())))
            .collect()
    }

    fn is_destructive(&self) -> bool {
        self.changes.iter().any(SchemaChange::is_destructive)
    }
}

macro_rules! planned {
    ($plan:expr) => {
        planned!($plan, Vec::new())
    };
    ($plan:expr, $row_security:expr) => {{
        let p = $plan;
        Planned {
            row_security: $row_security,
            changes: p.changes().to_vec(),
            risks: p.risks().to_vec(),
            problems: p.problems().to_vec(),
            sql: p.sql(),
        }
    }};
}

/// Brings the schema in line before serving: additive changes always, destructive ones only
/// when allowed. On PostgreSQL it holds the migration lock, so instances that start together
/// migrate one after the other (the later ones find nothing to do).
pub fn at_start(task: &Task, allow_destructive: bool) -> Result<(), Error> {
    match Database::of(task) {
        Database::Sqlite(db) => {
            use jamrs_sqlite::{conn, migrate, system};
            if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::internal(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let mut c = conn::open(&db, false)?;
            if system::ensure(&mut c)? {
                tracing::info!("created the system tables (users, sessions)");
            }
            let plan = migrate::plan(&c, task)?;
            let shown = planned!(&plan);
            if !start_allows(&shown, allow_destructive)? {
                return Ok(());
            }
            migrate::apply(&mut c, &plan, allow_destructive)?;
            log_changes(&shown);
            Ok(())
        }
        Database::Postgres(url) => {
            use jamrs_postgres::{conn, migrate, store, system};
            store::off_runtime(|| {
                let mut client = conn::connect(&url)?;
                if let Some(ctype) = conn::check_ctype(&mut client)? {
                    tracing::warn!(
                        ctype,
                        "the database's character type folds ASCII letters only: searches will not match \"Ä\" with \"ä\" (create the database with a UTF-8 LC_CTYPE)"
                    );
                }
                migrate::locked(&mut client, |tx| {
                    if system::ensure(tx)? {
                        tracing::info!("created the system tables (users, sessions)");
                    }
                    let plan = migrate::plan(tx, task)?;
                    let shown = planned!(&plan, plan.row_security().to_vec());
                    if !start_allows(&shown, allow_destructive)? {
                        return Ok(());
                    }
                    migrate::apply(tx, &plan, allow_destructive)?;
                    log_changes(&shown);
                    Ok(())
                })
            })
        }
    }
}

/// Whether the start should apply `plan`: not when empty; an error when unmanaged tables lack
/// what their items use, or the plan would lose data and that is not allowed.
fn start_allows(plan: &Planned, allow_destructive: bool) -> Result<bool, Error> {
    refuse_problems(plan)?;
    if plan.is_empty() {
        return Ok(false);
    }
    if plan.is_destructive() && !allow_destructive {
        return Err(Error::conflict(format!(
            "the database needs changes that can lose data: {}. Review them with `jamrs migrate --dry-run`, \
             then apply them with `jamrs migrate --allow-destructive` (or `jamrs run --allow-destructive`)",
            plan.risks.join("; ")
        )));
    }
    Ok(true)
}

fn log_changes(plan: &Planned) {
    for (_, change) in plan.lines() {
        tracing::info!(%change, "migrated");
    }
}

/// The tables of unmanaged items lack what their items use: every request on them would fail.
fn refuse_problems(plan: &Planned) -> Result<(), Error> {
    if plan.problems.is_empty() {
        return Ok(());
    }
    Err(Error::conflict(format!(
        "the database does not have what the metadata uses: {}",
        plan.problems.join("; ")
    )))
}

/// Plans against the project's database (for SQLite, against an empty one if the file does not
/// exist yet, so `check` never creates a file); also returns the SQL the system tables still
/// need, and whether the database exists.
fn plan_with_system(task: &Task) -> Result<(Planned, String, bool), Error> {
    match Database::of(task) {
        Database::Sqlite(db) => {
            use jamrs_sqlite::{conn, migrate, system};
            let exists = db.exists();
            let path = if exists { db } else { ":memory:".into() };
            let c = conn::open(&path, false)?;
            Ok((
                planned!(&migrate::plan(&c, task)?),
                system::pending_sql(&c)?,
                exists,
            ))
        }
        Database::Postgres(url) => {
            use jamrs_postgres::{conn, migrate, store, system};
            store::off_runtime(|| {
                let mut client = conn::connect(&url)?;
                migrate::read(&mut client, |tx| {
                    let plan = migrate::plan(tx, task)?;
                    let plan = planned!(&plan, plan.row_security().to_vec());
                    Ok((plan, system::pending_sql(tx)?, true))
                })
            })
        }
    }
}

/// `jamrs check`: the project is valid (or the caller already reported why not); list what the
/// database needs.
pub fn check(task: &Task) -> Result<String, Error> {
    let (plan, system_sql, exists) = plan_with_system(task)?;
    let mut out = String::new();
    let fields: usize = task.items.iter().map(|i| i.fields.len()).sum();
    let reports = match task.reports.len() {
        0 => String::new(),
        1 => ", 1 report".to_string(),
        n => format!(", {n} reports"),
    };
    let _ = writeln!(
        out,
        "{}: valid ({} items, {} fields, {} groups{reports}).",
        task.name,
        task.items.len(),
        fields,
        task.groups.len()
    );
    let db = Database::of(task).describe();
    if !system_sql.is_empty() {
        let _ = writeln!(
            out,
            "The system tables (users, sessions) are not created yet; `jamrs run` or `jamrs migrate` creates them."
        );
    }
    if !plan.problems.is_empty() && exists {
        let _ = writeln!(
            out,
            "Tables of items that are not managed lack what the items use (`jamrs run` refuses to start until they are fixed):"
        );
        for p in &plan.problems {
            let _ = writeln!(out, "  ! {p}");
        }
    }
    if plan.is_empty() {
        let _ = writeln!(out, "Database {db}: up to date.");
        return Ok(out);
    }
    let state = if exists { "" } else { " (not created yet)" };
    let lines = plan.lines();
    let _ = writeln!(
        out,
        "Database {db}{state}: {} pending change(s):",
        lines.len()
    );
    for (destructive, change) in lines {
        let mark = if destructive { "!" } else { "-" };
        let _ = writeln!(out, "  {mark} {change}");
    }
    if plan.is_destructive() {
        let _ = writeln!(
            out,
            "Changes marked ! can lose data: {}.\n`jamrs run` applies the others by itself; these need `jamrs migrate --allow-destructive`.",
            plan.risks.join("; ")
        );
    } else {
        let _ = writeln!(
            out,
            "`jamrs run` applies them at start, or run `jamrs migrate`."
        );
    }
    Ok(out)
}

/// `jamrs migrate [--dry-run] [--allow-destructive]`.
pub fn migrate(task: &Task, dry_run: bool, allow_destructive: bool) -> Result<String, Error> {
    let database = Database::of(task);
    let db = database.describe();
    if dry_run {
        let (plan, system_sql, _) = plan_with_system(task)?;
        if plan.is_empty() && system_sql.is_empty() {
            return Ok(format!("-- {db}: up to date, nothing to do\n"));
        }
        let lines = plan.lines();
        let mut out = format!("-- {db}: {} change(s)\n", lines.len());
        for (_, change) in lines {
            let _ = writeln!(out, "--   {change}");
        }
        if !system_sql.is_empty() {
            let _ = writeln!(
                out,
                "-- the system tables (users, sessions, login failures):\n{system_sql}"
            );
        }
        out.push_str(&plan.sql);
        return Ok(out);
    }
    let (created_system, plan) = match database {
        Database::Sqlite(path) => {
            use jamrs_sqlite::{conn, migrate, system};
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::internal(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let mut c = conn::open(&path, false)?;
            let created_system = system::ensure(&mut c)?;
            let plan = migrate::plan(&c, task)?;
            let shown = planned!(&plan);
            refuse_problems(&shown)?;
            migrate::apply(&mut c, &plan, allow_destructive)?;
            (created_system, shown)
        }
        Database::Postgres(url) => {
            use jamrs_postgres::{conn, migrate, store, system};
            store::off_runtime(|| {
                let mut client = conn::connect(&url)?;
                migrate::locked(&mut client, |tx| {
                    let created_system = system::ensure(tx)?;
                    let plan = migrate::plan(tx, task)?;
                    let shown = planned!(&plan, plan.row_security().to_vec());
                    refuse_problems(&shown)?;
                    migrate::apply(tx, &plan, allow_destructive)?;
                    Ok((created_system, shown))
                })
            })?
        }
    };
    if plan.is_empty() {
        let note = if created_system {
            " (created the system tables)"
        } else {
            ""
        };
        return Ok(format!("{db}: up to date, nothing to do{note}.\n"));
    }
    let lines = plan.lines();
    let mut out = format!("{db}: applied {} change(s):\n", lines.len());
    for (_, change) in lines {
        let _ = writeln!(out, "  {change}");
    }
    Ok(out)
}
