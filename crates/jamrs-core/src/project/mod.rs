//! The project on disk: reading, validating and writing it.
//!
//! ```text
//! myapp/
//!   jamrs.toml        task settings, groups, lookup lists
//!   task.py           the task's server module (optional)
//!   items/
//!     notes.toml      one item: fields, filters, details, indexes
//!     notes.py        the item's server module (optional)
//!   reports/
//!     invoice.toml    one report: caption, params, formats
//!     invoice.ods     its template
//!     invoice.py      its server module (on_generate, …)
//!   data/             the SQLite database (by default)
//! ```
//!
//! `load` reads and validates; every problem found is reported at once, each naming its file.
//! `ProjectFiles::save` writes the canonical form, so load → save round-trips.

pub mod file;
mod layout;
mod reports;
mod resolve;
pub mod toml_out;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

pub use file::*;

use crate::model::Task;

/// The task file's name inside a project folder.
pub const TASK_FILE: &str = "jamrs.toml";
/// The folder holding item files and item modules.
pub const ITEMS_DIR: &str = "items";
/// The task's server module.
pub const TASK_MODULE: &str = "task.py";
/// The folder of client modules: `task.js` and `<item>.js`, JavaScript the web UI runs.
pub const CLIENT_DIR: &str = "client";
/// The task's client module's name (`client/task.js`); no item may be called so.
pub const TASK_CLIENT_MODULE: &str = "task";
/// The folder holding report files, templates and report modules.
pub const REPORTS_DIR: &str = "reports";

/// Everything wrong with a project, one line per problem, each naming its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectError {
    pub errors: Vec<String>,
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.errors.join("\n"))
    }
}

impl std::error::Error for ProjectError {}

impl ProjectError {
    fn one(msg: String) -> Self {
        ProjectError { errors: vec![msg] }
    }
}

/// The files of a project, parsed but not resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFiles {
    pub task: TaskFile,
    /// `(item name, item file)`, sorted by name.
    pub items: Vec<(String, ItemFile)>,
}

impl ProjectFiles {
    /// Reads `jamrs.toml` and `items/*.toml` from `dir`.
    pub fn read(dir: &Path) -> Result<ProjectFiles, ProjectError> {
        let task_path = dir.join(TASK_FILE);
        let task_text = fs::read_to_string(&task_path).map_err(|e| {
            ProjectError::one(format!(
                "{}: cannot read: {e} (is {} a jamrs project?)",
                task_path.display(),
                dir.display()
            ))
        })?;
        let mut errors = Vec::new();
        let task = match toml::from_str::<TaskFile>(&task_text) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(format!("{TASK_FILE}: {}", one_line(&e.to_string())));
                None
            }
        };
        let mut items = Vec::new();
        let items_dir = dir.join(ITEMS_DIR);
        let mut names: Vec<(PathBuf, String)> = Vec::new();
        let mut modules: Vec<String> = Vec::new();
        if items_dir.is_dir() {
            let entries = fs::read_dir(&items_dir).map_err(|e| {
                ProjectError::one(format!("{}: cannot list: {e}", items_dir.display()))
            })?;
            for entry in entries {
                let path = match entry {
                    Ok(e) => e.path(),
                    Err(e) => {
                        errors.push(format!("{ITEMS_DIR}: cannot list: {e}"));
                        continue;
                    }
                };
                let (Some(stem), Some(ext)) = (
                    path.file_stem().and_then(|s| s.to_str()),
                    path.extension().and_then(|s| s.to_str()),
                ) else {
                    continue;
                };
                match ext {
                    "toml" => names.push((path.clone(), stem.to_string())),
                    "py" => modules.push(stem.to_string()),
                    _ => {}
                }
            }
        }
        names.sort_by(|a, b| a.1.cmp(&b.1));
        for module in &modules {
            if !names.iter().any(|(_, n)| n == module) {
                errors.push(format!(
                    "{ITEMS_DIR}/{module}.py: a server module without an item: there is no {ITEMS_DIR}/{module}.toml"
                ));
            }
        }
        for (path, name) in names {
            let rel = format!("{ITEMS_DIR}/{name}.toml");
            match fs::read_to_string(&path) {
                Ok(text) => match toml::from_str::<ItemFile>(&text) {
                    Ok(item) => items.push((name, item)),
                    Err(e) => errors.push(format!("{rel}: {}", one_line(&e.to_string()))),
                },
                Err(e) => errors.push(format!("{rel}: cannot read: {e}")),
            }
        }
        match (task, errors.is_empty()) {
            (Some(task), true) => Ok(ProjectFiles { task, items }),
            _ => Err(ProjectError { errors }),
        }
    }

    /// Writes `jamrs.toml` and one file per item into `dir` (creating `dir/items`).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        fs::create_dir_all(dir.join(ITEMS_DIR))?;
        fs::write(dir.join(TASK_FILE), self.task_text()?)?;
        for (name, item) in &self.items {
            fs::write(
                dir.join(ITEMS_DIR).join(format!("{name}.toml")),
                Self::item_text(item)?,
            )?;
        }
        Ok(())
    }

    /// The canonical text of `jamrs.toml`.
    pub fn task_text(&self) -> std::io::Result<String> {
        toml_out::write(&self.task).map_err(std::io::Error::other)
    }

    /// The canonical text of an item file.
    pub fn item_text(item: &ItemFile) -> std::io::Result<String> {
        toml_out::write(item).map_err(std::io::Error::other)
    }

    /// The canonical text of a report file (`reports/<name>.toml`).
    pub fn report_text(report: &ReportFile) -> std::io::Result<String> {
        toml_out::write(report).map_err(std::io::Error::other)
    }

    /// Resolves names and checks every rule of the format.
    pub fn resolve(&self, dir: &Path) -> Result<Task, ProjectError> {
        resolve::resolve(self, dir)
    }
}

/// Reads and validates the project in `dir`.
pub fn load(dir: &Path) -> Result<Task, ProjectError> {
    ProjectFiles::read(dir)?.resolve(dir)
}

/// The client modules in `dir/client/`: `task.js` and `<item>.js` of existing items, by name.
/// Any other `.js` file there is an error (a renamed or deleted item, almost always).
fn client_modules(
    dir: &Path,
    items: &std::collections::HashMap<String, crate::model::ItemId>,
    err: &mut dyn FnMut(&str, String),
) -> Vec<String> {
    let folder = dir.join(CLIENT_DIR);
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(&folder) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("js") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let rel = format!("{CLIENT_DIR}/{stem}.js");
        if items.contains_key(stem) && stem == TASK_CLIENT_MODULE {
            err(
                &rel,
                format!(
                    "an item may not be named \"{TASK_CLIENT_MODULE}\": client/task.js is the task's module"
                ),
            );
        } else if stem == TASK_CLIENT_MODULE || items.contains_key(stem) {
            out.push(stem.to_string());
        } else {
            err(
                &rel,
                format!(
                    "a client module without an item: there is no {ITEMS_DIR}/{stem}.toml (the task's module is client/task.js)"
                ),
            );
        }
    }
    out.sort();
    out
}

/// The text of client module `name` (one of `Task::client_modules`), read now, so an author's
/// edit shows at the next page load.
pub fn read_client_module(task: &Task, name: &str) -> std::io::Result<Option<String>> {
    if !task.client_modules.iter().any(|m| m == name) {
        return Ok(None);
    }
    match fs::read_to_string(task.dir.join(CLIENT_DIR).join(format!("{name}.js"))) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// TOML errors span several lines with a caret; keep the first lines that say what and where.
fn one_line(msg: &str) -> String {
    msg.lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.chars().all(|c| c == '|' || c == '^' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(" ")
}
