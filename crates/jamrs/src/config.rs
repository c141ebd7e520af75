//! Configuration in two stages: the project's `jamrs.toml`, overridden by environment
//! variables (`JAMRS_<SECTION>_<KEY>`), overridden by command-line flags, is checked by the
//! project loader like any other project setting; what comes out is the resolved `Task`
//! settings plus the few run options that are not project settings.

use std::path::{Path, PathBuf};

use jamrs_core::Task;
use jamrs_core::project::{DatabaseFile, ProjectError, ProjectFiles, ServerFile};

/// The environment variables jamrs reads, and the setting each overrides.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("JAMRS_SERVER_BIND", "server.bind"),
    ("JAMRS_SERVER_MAX_BODY_BYTES", "server.max_body_bytes"),
    ("JAMRS_DATABASE_PATH", "database.path"),
    ("JAMRS_DATABASE_URL", "database.url"),
    ("JAMRS_MAX_LIMIT", "max_limit"),
    ("JAMRS_REPORTS_SOFFICE", "reports.soffice"),
];

/// Overrides given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bind: Option<String>,
    /// `--database-url`: a PostgreSQL database instead of the project's SQLite file.
    pub database_url: Option<String>,
}

/// Reads the project, applies environment and command-line overrides, and validates it all.
pub fn load_project(
    dir: &Path,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Task, ProjectError> {
    let mut files = ProjectFiles::read(dir)?;
    let mut errors = Vec::new();
    let t = &mut files.task;
    for (var, _) in ENV_VARS {
        let Some(value) = env(var) else { continue };
        match *var {
            "JAMRS_SERVER_BIND" => server(t).bind = Some(value),
            "JAMRS_SERVER_MAX_BODY_BYTES" => match value.parse() {
                Ok(n) => server(t).max_body_bytes = Some(n),
                Err(_) => errors.push(format!("{var}: \"{value}\" is not a number of bytes")),
            },
            "JAMRS_DATABASE_PATH" => database(t).path = Some(value),
            "JAMRS_DATABASE_URL" => database(t).url = Some(value),
            "JAMRS_MAX_LIMIT" => match value.parse() {
                Ok(n) => t.max_limit = Some(n),
                Err(_) => errors.push(format!("{var}: \"{value}\" is not a number")),
            },
            "JAMRS_REPORTS_SOFFICE" => t.reports.get_or_insert_default().soffice = Some(value),
            _ => {}
        }
    }
    if let Some(bind) = &overrides.bind {
        server(t).bind = Some(bind.clone());
    }
    if let Some(url) = &overrides.database_url {
        database(t).url = Some(url.clone());
    }
    if !errors.is_empty() {
        return Err(ProjectError { errors });
    }
    files.resolve(dir)
}

fn database(t: &mut jamrs_core::project::TaskFile) -> &mut DatabaseFile {
    t.database.get_or_insert(DatabaseFile {
        path: None,
        url: None,
        managed: None,
    })
}

fn server(t: &mut jamrs_core::project::TaskFile) -> &mut ServerFile {
    t.server.get_or_insert(ServerFile {
        bind: None,
        max_body_bytes: None,
        secure_cookies: None,
        trusted_proxies: Vec::new(),
    })
}

/// The SQLite file of a project: `database.path`, relative to the project folder.
pub fn database_path(task: &Task) -> PathBuf {
    let p = Path::new(&task.settings.database.path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        task.dir.join(p)
    }
}

/// Reads the process environment.
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("jamrs.toml"),
            "name = \"t\"\nsafe_mode = false\n[server]\nbind = \"127.0.0.1:1000\"\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let dir = project();
        let env = |v: &str| match v {
            "JAMRS_SERVER_BIND" => Some("127.0.0.1:2000".to_string()),
            "JAMRS_DATABASE_PATH" => Some("/tmp/x.sqlite".to_string()),
            _ => None,
        };
        let task = load_project(dir.path(), &Overrides::default(), &env).unwrap();
        assert_eq!(task.settings.server.bind, "127.0.0.1:2000");
        assert_eq!(database_path(&task), PathBuf::from("/tmp/x.sqlite"));
        let flags = Overrides {
            bind: Some("127.0.0.1:3000".into()),
            database_url: None,
        };
        let task = load_project(dir.path(), &flags, &env).unwrap();
        assert_eq!(task.settings.server.bind, "127.0.0.1:3000");
    }

    #[test]
    fn a_database_url_comes_from_the_file_the_environment_or_a_flag() {
        let dir = project();
        let task = load_project(dir.path(), &Overrides::default(), &|_| None).unwrap();
        assert_eq!(task.settings.database.url, None);
        let env = |v: &str| {
            (v == "JAMRS_DATABASE_URL").then(|| "postgres://a@127.0.0.1:5432/env".to_string())
        };
        let task = load_project(dir.path(), &Overrides::default(), &env).unwrap();
        assert_eq!(
            task.settings.database.url.as_deref(),
            Some("postgres://a@127.0.0.1:5432/env")
        );
        let flags = Overrides {
            bind: None,
            database_url: Some("postgresql://b@127.0.0.1/flag".into()),
        };
        let task = load_project(dir.path(), &flags, &env).unwrap();
        assert_eq!(
            task.settings.database.url.as_deref(),
            Some("postgresql://b@127.0.0.1/flag")
        );
        let flags = Overrides {
            bind: None,
            database_url: Some("mysql://c@127.0.0.1/x".into()),
        };
        let err = load_project(dir.path(), &flags, &|_| None).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
    }

    #[test]
    fn bad_overrides_are_reported() {
        let dir = project();
        let env = |v: &str| (v == "JAMRS_MAX_LIMIT").then(|| "lots".to_string());
        let err = load_project(dir.path(), &Overrides::default(), &env).unwrap_err();
        assert!(err.to_string().contains("JAMRS_MAX_LIMIT"), "{err}");
        let flags = Overrides {
            bind: Some("nowhere".into()),
            database_url: None,
        };
        let err = load_project(dir.path(), &flags, &|_| None).unwrap_err();
        assert!(err.to_string().contains("server.bind"), "{err}");
    }
}
