//! Jam.py's users (SYS_USERS) carried to jamrs: written by the import to `jampy/users.json`
//! (login, name, role, Jam.py's user ID, and, only with `--passwords`, an argon2id hash of the
//! password, never the plain text), and taken from there into the project's database the first
//! time a jamrs command opens it (the `jamrs` binary reads [`pending`] where it creates the system
//! tables), so the import itself writes nothing to a database it does not own.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::convert::JampyUser;
use crate::report::Report;

/// Where the import leaves the users, inside the new project.
pub const USERS_FILE: &str = "jampy/users.json";

/// A user to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedUser {
    /// Jam.py's SYS_USERS.ID, kept: it is the `user_id` server code and data hold.
    pub id: i64,
    pub login: String,
    pub name: String,
    /// The jamrs role's name.
    pub role: String,
    pub active: bool,
    /// An argon2id hash jamrs verifies; `None`: no usable password until `jamrs user passwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

/// Writes the users file and reports who needs a password.
pub fn write(
    dir: &Path,
    users: &[JampyUser],
    carry_passwords: bool,
    report: &mut Report,
    progress: &mut dyn FnMut(&str),
) -> Result<(), String> {
    if users.is_empty() {
        return Ok(());
    }
    if carry_passwords {
        progress(&format!("hashing {} passwords…", users.len()));
    }
    let mut out = Vec::new();
    let mut without = Vec::new();
    for u in users {
        let object = format!("user {} (ID {})", u.login, u.id);
        let password_hash = match (&u.password, carry_passwords) {
            (Some(p), true) if !p.is_empty() => {
                Some(jamrs_store::auth::hash_password(p).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        if password_hash.is_some() {
            report.converted(
                &object,
                format!(
                    "login, name, role {}, ID; the password as an argon2id hash (--passwords)",
                    u.role
                ),
            );
        } else {
            without.push(u.login.clone());
            report.converted(&object, format!("login, name, role {}, ID", u.role));
            report.left_out(
                &object,
                "the password (Jam.py keeps it in plain text; it is not carried without --passwords)",
            );
        }
        out.push(ImportedUser {
            id: u.id,
            login: u.login.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            active: u.active,
            password_hash,
        });
    }
    let path = dir.join(USERS_FILE);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    report.next_steps.push(format!(
        "The {} users come over the first time a jamrs command opens the database (`jamrs run`, `jamrs user …`); until then they wait in {USERS_FILE}.",
        out.len()
    ));
    if !without.is_empty() {
        report.next_steps.push(format!(
            "These users have no password yet; give each one with `jamrs user passwd LOGIN --dir <project>`: {}",
            without.join(", ")
        ));
    }
    Ok(())
}

/// The users file of the project in `dir`, if the import left one.
pub fn pending(dir: &Path) -> Option<PathBuf> {
    let p = dir.join(USERS_FILE);
    p.is_file().then_some(p)
}

/// Reads the users the import left in `dir`.
pub fn read(path: &Path) -> Result<Vec<ImportedUser>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
