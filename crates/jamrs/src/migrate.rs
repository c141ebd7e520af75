//! The `check` and `migrate` commands, and the migration `jamrs run` makes at start.

use std::fmt::Write;
use std::path::Path;

use jamrs_core::{Error, Task};
use jamrs_sqlite::{conn, migrate};

use crate::config::database_path;

/// Brings the schema in line before serving: additive changes always, destructive ones only
/// when allowed.
pub fn at_start(task: &Task, db: &Path, allow_destructive: bool) -> Result<(), Error> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut c = conn::open(db, false)?;
    let plan = migrate::plan(&c, task)?;
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

/// Plans against the project's database, or against an empty one if it does not exist yet
/// (so `check` never creates a file).
fn plan(task: &Task) -> Result<migrate::Plan, Error> {
    let db = database_path(task);
    let path = if db.exists() { db } else { ":memory:".into() };
    let c = conn::open(&path, false)?;
    migrate::plan(&c, task)
}

/// `jamrs check`: the project is valid (or the caller already reported why not); list what the
/// database needs.
pub fn check(task: &Task) -> Result<String, Error> {
    let plan = plan(task)?;
    let mut out = String::new();
    let fields: usize = task.items.iter().map(|i| i.fields.len()).sum();
    let _ = writeln!(
        out,
        "{}: valid ({} items, {} fields, {} groups).",
        task.name,
        task.items.len(),
        fields,
        task.groups.len()
    );
    let db = database_path(task);
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
        let plan = plan(task)?;
        if plan.is_empty() {
            return Ok(format!("-- {}: up to date, nothing to do\n", db.display()));
        }
        let mut out = format!("-- {}: {} change(s)\n", db.display(), plan.changes().len());
        for change in plan.changes() {
            let _ = writeln!(out, "--   {change}");
        }
        out.push_str(&plan.sql());
        return Ok(out);
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut c = conn::open(&db, false)?;
    let plan = migrate::plan(&c, task)?;
    if plan.is_empty() {
        return Ok(format!("{}: up to date, nothing to do.\n", db.display()));
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
