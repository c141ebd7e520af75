//! The starter projects `jamrs new` copies. They are the folders under `examples/`, embedded in
//! the binary, so `jamrs new` needs nothing but itself (a test checks they stay identical).

use std::fs;
use std::io;
use std::path::Path;

/// Template names accepted by `jamrs new --template`.
pub const NAMES: [&str; 2] = ["notes", "demo"];

/// (path relative to the project folder, contents): bytes, since report templates are ODS files.
type Files = &'static [(&'static str, &'static [u8])];

macro_rules! files {
    ($dir:literal: $($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../examples/", $dir, "/", $path)).as_slice())),*]
    };
}

const NOTES: Files = files!("notes":
    "jamrs.toml",
    "items/categories.toml",
    "items/checklist.toml",
    "items/notes.toml",
);

const DEMO: Files = files!("demo":
    "jamrs.toml",
    "items/albums.toml",
    "items/artists.toml",
    "items/customers.toml",
    "items/genres.toml",
    "items/invoice_table.toml",
    "items/invoices.toml",
    "items/tracks.toml",
    "items/invoices.py",
    "client/invoices.js",
    "client/invoice_table.js",
    "client/tracks.js",
    "reports/invoice.toml",
    "reports/invoice.py",
    "reports/invoice.ods",
    "templates/invoice.fods",
    "templates/README.md",
);

/// The files of a template, relative to the project folder.
pub fn files(name: &str) -> Option<Files> {
    match name {
        "notes" => Some(NOTES),
        "demo" => Some(DEMO),
        _ => None,
    }
}

/// Creates a project in `dir` (which must not exist, or be empty) from template `name`.
pub fn create(dir: &Path, name: &str) -> io::Result<()> {
    let files = files(name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "there is no template \"{name}\" (one of: {})",
                NAMES.join(", ")
            ),
        )
    })?;
    if dir.exists() && fs::read_dir(dir)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not empty", dir.display()),
        ));
    }
    for (path, text) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(target, text)?;
    }
    Ok(())
}

/// Writes `[database] url` into a new project's `jamrs.toml` (`jamrs new --database-url`), in
/// the canonical layout.
pub fn use_database_url(dir: &Path, url: &str) -> io::Result<()> {
    let mut files = jamrs_core::project::ProjectFiles::read(dir)
        .map_err(|e| io::Error::other(e.to_string()))?;
    files
        .task
        .database
        .get_or_insert(jamrs_core::project::DatabaseFile {
            path: None,
            url: None,
            managed: None,
        })
        .url = Some(url.to_string());
    files.save(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of each example folder is embedded, and nothing else.
    #[test]
    fn templates_are_the_example_folders() {
        for name in NAMES {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples")
                .join(name);
            let mut on_disk = Vec::new();
            let mut stack = vec![root.clone()];
            while let Some(d) = stack.pop() {
                for e in fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        if p.file_name().is_some_and(|n| n != "data") {
                            stack.push(p);
                        }
                    } else {
                        on_disk.push(
                            p.strip_prefix(&root)
                                .unwrap()
                                .to_string_lossy()
                                .into_owned(),
                        );
                    }
                }
            }
            on_disk.sort();
            let mut embedded: Vec<String> = files(name)
                .unwrap()
                .iter()
                .map(|(p, _)| p.to_string())
                .collect();
            embedded.sort();
            assert_eq!(
                on_disk, embedded,
                "examples/{name} and the embedded template differ"
            );
        }
    }

    #[test]
    fn new_refuses_a_non_empty_folder_and_unknown_templates() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), "").unwrap();
        assert!(create(dir.path(), "notes").is_err());
        assert!(create(&dir.path().join("new"), "nope").is_err());
        create(&dir.path().join("new"), "notes").unwrap();
        assert!(dir.path().join("new/items/notes.toml").is_file());
    }
}
