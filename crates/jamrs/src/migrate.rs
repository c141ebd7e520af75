//! The `check` and `migrate` commands, and the migration `jamrs run` makes at start.

use std::fmt::Write;
use std::path::Path;

use jamrs_core::{Error, Task};
use jamrs_sqlite::{conn, migrate, system};

use crate::config::database_path;

/// Brings the schema in line before serving: additive changes always, destructive ones only
/// when allowed.
pub fn at_start(task: &Task, db: &Path, allow_destructive: bool) -> Result<(), Error> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut c = conn::open(db, false)?;
    if system::ensure(&mut c)? {
        tracing::info!("created the system tables (users, sessions)");
    }
    let plan = migrate::plan(&c, task)?;
    refuse_problems(&plan)?;
    if plan.is_empty() {
        return Ok(());
    }
    if plan.is_destructive() && !allow_destructive {
        return Err(Error::conflict(format!(
            "the database needs changes that can lose data: {}. Review them with `jamrs migrate --dry-run`, \
             then apply them with `jamrs migrate --allow-destructive` (or `jamrs run --allow-destructive`)",
            plan.risks().join("; ")
        )));
    }
    migrate::apply(&mut c, &plan, allow_destructive)?;
    for change in plan.changes() {
        tracing::info!(%change, "migrated");
    }
    Ok(())
}

/// The tables of unmanaged items lack what their items use: every request on them would fail.
fn refuse_problems(plan: &migrate::Plan) -> Result<(), Error> {
    if plan.problems().is_empty() {
        return Ok(());
    }
    Err(Error::conflict(format!(
        "the database does not have what the metadata uses: {}",
        plan.problems().join("; ")
    )))
}

/// Plans against the project's database, or against an empty one if it does not exist yet
/// (so `check` never creates a file); also returns the SQL the system tables still need.
fn plan_with_system(task: &Task) -> Result<(migrate::Plan, String), Error> {
    let db = database_path(task);
    let path = if db.exists() { db } else { ":memory:".into() };
    let c = conn::open(&path, false)?;
    Ok((migrate::plan(&c, task)?, system::pending_sql(&c)?))
}

/// `jamrs check`: the project is valid (or the caller already reported why not); list what the
/// database needs.
pub fn check(task: &Task) -> Result<String, Error> {
    let (plan, system_sql) = plan_with_system(task)?;
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
    let db = database_path(task);
    if !system_sql.is_empty() {
        let _ = writeln!(
            out,
            "The system tables (users, sessions) are not created yet; `jamrs run` or `jamrs migrate` creates them."
        );
    }
    if !plan.problems().is_empty() && db.exists() {
        let _ = writeln!(
            out,
            "Tables of items that are not managed lack what the items use (`jamrs run` refuses to start until they are fixed):"
        );
        for p in plan.problems() {
            let _ = writeln!(out, "  ! {p}");
        }
    }
    if plan.is_empty() {
        let _ = writeln!(out, "Database {}: up to date.", db.display());
        return Ok(out);
    }
    let state = if db.exists() {
        ""
    } else {
        " (not created yet)"
    };
    let _ = writeln!(
        out,
        "Database {}{state}: {} pending change(s):",
        db.display(),
        plan.changes().len()
    );
    for change in plan.changes() {
        let mark = if change.is_destructive() { "!" } else { "-" };
        let _ = writeln!(out, "  {mark} {change}");
    }
    if plan.is_destructive() {
        let _ = writeln!(
            out,
            "Changes marked ! can lose data: {}.\n`jamrs run` applies the others by itself; these need `jamrs migrate --allow-destructive`.",
            plan.risks().join("; ")
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
    let db = database_path(task);
    if dry_run {
        let (plan, system_sql) = plan_with_system(task)?;
        if plan.is_empty() && system_sql.is_empty() {
            return Ok(format!("-- {}: up to date, nothing to do\n", db.display()));
        }
        let mut out = format!("-- {}: {} change(s)\n", db.display(), plan.changes().len());
        for change in plan.changes() {
            let _ = writeln!(out, "--   {change}");
        }
        if !system_sql.is_empty() {
            let _ = writeln!(
                out,
                "-- the system tables (users, sessions, login failures):\n{system_sql}"
            );
        }
        out.push_str(&plan.sql());
        return Ok(out);
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut c = conn::open(&db, false)?;
    let created_system = system::ensure(&mut c)?;
    let plan = migrate::plan(&c, task)?;
    refuse_problems(&plan)?;
    if plan.is_empty() {
        let note = if created_system {
            " (created the system tables)"
        } else {
            ""
        };
        return Ok(format!(
            "{}: up to date, nothing to do{note}.\n",
            db.display()
        ));
    }
    migrate::apply(&mut c, &plan, allow_destructive)?;
    let mut out = format!(
        "{}: applied {} change(s):\n",
        db.display(),
        plan.changes().len()
    );
    for change in plan.changes() {
        let _ = writeln!(out, "  {change}");
    }
    Ok(out)
}
