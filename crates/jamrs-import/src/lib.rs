//! `jamrs import`: a Jam.py project (v5 or v7, its folder with `admin.sqlite`, or a Builder
//! export `.zip`) as a new jamrs project, and `jamrs import-table`: an existing table as an item.
//!
//! The import reads Jam.py's metadata (never writing to it, nor to the data database), converts
//! what jamrs can express, writes the project with jamrs-core's file structs and canonical TOML
//! writer (so it round-trips), and reports per Jam.py object what was converted, approximated
//! and left out (`IMPORT.md`). One bad object never stops it: the object is reported and left
//! out; if the loader still refuses an item, that item is left out with the loader's reason.
//! The data stays where it is (`[database] path`, `managed = false`), or is copied
//! (`--copy-data`). Users are written to `jampy/users.json` (no plain-text password ever) and
//! become jamrs users the first time a jamrs command opens the project's database
//! (`users::pending` and `users::read`).
//!
//! This crate knows Jam.py's metadata tables; it knows no HTTP and runs no Python.

mod convert;
mod data;
mod meta;
mod names;
mod prune;
mod report;
mod reports;
pub mod table;
pub mod users;
mod zip;

use std::fs;
use std::path::{Path, PathBuf};

use jamrs_core::project::{self, DatabaseFile, ProjectFiles};

pub use data::LONG_COPY_ROWS;
pub use report::Report;

use crate::meta::{Meta, RowExt};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Copy the data database into the new project (`data/<file>`) instead of using it where
    /// it is.
    pub copy_data: bool,
    /// Carry Jam.py's passwords (plain text in SYS_USERS) as argon2id hashes jamrs verifies,
    /// instead of leaving the users without a usable password.
    pub carry_passwords: bool,
}

/// Where the Jam.py project comes from.
enum Source {
    Folder(PathBuf),
    Zip(Vec<zip::Entry>),
}

/// Imports `source` (a Jam.py project folder, its `admin.sqlite`, or a Builder export `.zip`)
/// into the new folder `dest`. `progress` is told about long steps only, a line at a time: a
/// copy of the data of [`LONG_COPY_ROWS`] rows or more (where it is, every tenth of the rows),
/// the hashing of passwords. Returns the report (also written to `dest/IMPORT.md`). Refuses a
/// `dest` that exists.
pub fn import(
    source: &Path,
    dest: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, String> {
    if dest.exists() {
        return Err(format!(
            "{} exists; jamrs import writes a new folder and never overwrites one",
            dest.display()
        ));
    }
    let src = if source.is_dir() {
        Source::Folder(source.to_path_buf())
    } else if source
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        let bytes =
            fs::read(source).map_err(|e| format!("{}: cannot read: {e}", source.display()))?;
        Source::Zip(zip::entries(&bytes).map_err(|e| format!("{}: {e}", source.display()))?)
    } else if source.file_name().is_some_and(|n| n == "admin.sqlite") {
        Source::Folder(source.parent().unwrap_or(Path::new(".")).to_path_buf())
    } else {
        return Err(format!(
            "{}: not a Jam.py project folder, admin.sqlite or Builder export .zip",
            source.display()
        ));
    };
    let meta = match &src {
        Source::Folder(dir) => {
            let admin = dir.join("admin.sqlite");
            if !admin.is_file() {
                return Err(format!(
                    "{}: no admin.sqlite; is it a Jam.py project folder?",
                    dir.display()
                ));
            }
            Meta::from_sqlite(&admin)?
        }
        Source::Zip(entries) => {
            let dat = entries
                .iter()
                .find(|e| e.name == "task.dat")
                .ok_or_else(|| {
                    format!("{}: no task.dat; is it a Builder export?", source.display())
                })?;
            Meta::from_task_dat(&dat.data)?
        }
    };
    let params = meta.one("SYS_PARAMS");
    let v7 = params
        .and_then(|p| p.int("F_UPGRADED_TO"))
        .is_some_and(|v| v >= 7);
    let mut report = Report {
        source: source.display().to_string(),
        version: format!(
            "{}, {} layout",
            params
                .and_then(|p| p.text("F_JAM_VERSION"))
                .unwrap_or("of unknown version"),
            if v7 { "v7" } else { "v5" }
        ),
        ..Report::default()
    };

    // The data database: only a SQLite one can be served where it is.
    let tasks = meta.one("SYS_TASKS");
    let mut data_path = None;
    let db_object = "data database";
    match (&src, tasks.and_then(|t| t.int("F_DB_TYPE"))) {
        (Source::Zip(_), _) => report.left_out(
            db_object,
            "the data: a Builder export holds none (and no users); jamrs creates the tables, empty",
        ),
        (Source::Folder(dir), Some(1)) => match tasks.and_then(|t| t.text("F_ALIAS")) {
            Some(alias) => {
                let p = if Path::new(alias).is_absolute() {
                    PathBuf::from(alias)
                } else {
                    dir.join(alias)
                };
                if p.is_file() {
                    data_path = Some(p);
                } else {
                    report.left_out(
                        db_object,
                        format!("the data: the database {} does not exist; jamrs creates the tables, empty", p.display()),
                    );
                }
            }
            None => report.left_out(db_object, "the data: SYS_TASKS names no database file"),
        },
        (Source::Folder(_), t) => report.left_out(
            db_object,
            format!(
                "the data: the database is not SQLite (Jam.py database type {}); jamrs serves SQLite, so it creates the tables, empty: move the data over by hand",
                t.unwrap_or(0)
            ),
        ),
    }
    let data = match &data_path {
        Some(p) => Some(data::DataDb::read(p)?),
        None => None,
    };

    let mut extra = convert::Extra::default();
    let source_dir = match &src {
        Source::Folder(d) => Some(d.as_path()),
        Source::Zip(_) => None,
    };
    let has_file = |path: &str| match &src {
        Source::Folder(d) => d.join(path).is_file(),
        Source::Zip(entries) => entries.iter().any(|e| e.name == path),
    };
    let mut files = convert::convert(
        &meta,
        source_dir,
        &has_file,
        data.as_ref(),
        &mut report,
        &mut extra,
    )?;

    // Stage the project next to `dest` and move it there at the end, so a failed import leaves
    // nothing behind.
    let staging = staging_dir(dest)?;
    let result = (|| -> Result<Report, String> {
        fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = name;
        // [database]: the data where it is, or its copy; tables not managed by jamrs.
        if let Some(p) = &data_path {
            let path = if opts.copy_data {
                let file = p
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "data.sqlite".into());
                let target = staging.join("data").join(&file);
                fs::create_dir_all(staging.join("data")).map_err(|e| e.to_string())?;
                data::copy(p, &target, progress)?;
                report.converted(
                    db_object,
                    format!("copied to data/{file} (--copy-data); the original is untouched"),
                );
                format!("data/{file}")
            } else {
                let abs = fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                report.converted(
                    db_object,
                    format!(
                        "used where it is ({}); the import did not change it",
                        abs.display()
                    ),
                );
                abs.display().to_string()
            };
            files.task.database = Some(DatabaseFile {
                path: Some(path),
                url: None,
                managed: Some(false),
            });
            report.converted(
                db_object,
                "[database] managed = false: jamrs never creates, alters or drops these tables; it checks that the columns the items use exist",
            );
        }
        write_all(&staging, &files, &extra, &src, &mut report)?;
        // The safety net: whatever the loader still refuses is left out, item by item and
        // report by report.
        let mut reports: Vec<String> = extra.reports.iter().map(|(n, _)| n.clone()).collect();
        for _ in 0..files.items.len() + reports.len() + 1 {
            match project::load(&staging) {
                Ok(_) => break,
                Err(e) => {
                    let bad = prune::items_in_errors(&e.errors, &files);
                    let bad_reports = prune::reports_in_errors(&e.errors, &reports);
                    if bad.is_empty() && bad_reports.is_empty() {
                        return Err(format!(
                            "the converted project does not load (a bug of jamrs import):\n{e}"
                        ));
                    }
                    for (item, why) in bad {
                        let object = format!("item {item}");
                        report.left_out(
                            &object,
                            format!("the whole item: the loader refuses it: {why}"),
                        );
                        prune::remove_item(&mut files, &item, &reports);
                        let _ = fs::remove_file(staging.join("items").join(format!("{item}.py")));
                        let _ = fs::remove_file(staging.join("items").join(format!("{item}.toml")));
                    }
                    for (name, why) in bad_reports {
                        report.left_out(
                            &format!("report {name}"),
                            format!("the whole report: the loader refuses it: {why}"),
                        );
                        reports.retain(|r| r != &name);
                        let folder = staging.join("reports");
                        for ext in ["toml", "py", "ods", "ots"] {
                            let _ = fs::remove_file(folder.join(format!("{name}.{ext}")));
                        }
                    }
                    prune::prune(&mut files, &reports);
                    files
                        .save(&staging)
                        .map_err(|e| format!("{}: {e}", staging.display()))?;
                }
            }
        }
        users::write(
            &staging,
            &extra.users,
            opts.carry_passwords,
            &mut report,
            progress,
        )?;
        fs::write(staging.join("IMPORT.md"), report.markdown())
            .map_err(|e| format!("IMPORT.md: {e}"))?;
        Ok(report.clone())
    })();
    match result {
        Ok(report) => {
            fs::rename(&staging, dest)
                .map_err(|e| format!("moving {} to {}: {e}", staging.display(), dest.display()))?;
            Ok(report)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// A new folder beside `dest` to build the project in.
fn staging_dir(dest: &Path) -> Result<PathBuf, String> {
    let name = dest
        .file_name()
        .ok_or_else(|| format!("{}: not a folder name", dest.display()))?
        .to_string_lossy();
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!("{}: no such folder", parent.display()));
    }
    Ok(parent.join(format!(".{name}.importing-{}", std::process::id())))
}

/// Writes the project files, modules, client code, layouts and copied templates.
fn write_all(
    dir: &Path,
    files: &ProjectFiles,
    extra: &convert::Extra,
    src: &Source,
    report: &mut Report,
) -> Result<(), String> {
    files
        .save(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    if !extra.reports.is_empty() {
        let folder = dir.join("reports");
        fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        for (name, file) in &extra.reports {
            let path = folder.join(format!("{name}.toml"));
            let text =
                ProjectFiles::report_text(file).map_err(|e| format!("{}: {e}", path.display()))?;
            fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    for (rel, text) in &extra.texts {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut copies = extra.copies.clone();
    for page in ["index.html", "templates.html"] {
        copies.push((page.to_string(), format!("jampy/{page}")));
    }
    for (from, to) in copies {
        let to_path = dir.join(&to);
        if let Some(parent) = to_path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let copied = match src {
            Source::Folder(d) if from.ends_with(".html") && !d.join(&from).is_file() => continue,
            Source::Folder(d) => fs::copy(d.join(&from), &to_path).map(|_| ()),
            Source::Zip(entries) => match entries.iter().find(|e| e.name == from) {
                Some(e) => fs::write(&to_path, &e.data),
                None if from.ends_with(".html") => continue,
                None => Err(std::io::Error::other("it is not in the export")),
            },
        };
        if let Err(e) = copied {
            report.left_out(
                &format!("file {from}"),
                format!("it could not be copied to {to}: {e}"),
            );
        }
    }
    Ok(())
}
