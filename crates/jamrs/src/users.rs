//! `jamrs user add|passwd|list|disable|enable`, and the first administrator of `jamrs new`.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use jamrs_core::{Error, Task};
use jamrs_store::auth;

use crate::database::Database;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The password to set: the one given (checked), or a new generated one.
fn password_or_generated(given: Option<String>) -> Result<(String, bool), Error> {
    match given {
        Some(p) => {
            auth::check_new_password(&p)?;
            Ok((p, false))
        }
        None => Ok((auth::generate_password()?, true)),
    }
}

/// Runs `f` on the project's database, creating its system tables first if needed, and adding
/// the users `jamrs import` left in the project (`jampy/users.json`) the first time.
fn with_users<T: Send>(
    task: &Task,
    f: impl FnOnce(&mut dyn jamrs_store::Conn) -> Result<T, Error> + Send,
) -> Result<T, Error> {
    let imported = jamrs_import::users::pending(&task.dir);
    let out = Database::of(task).transaction(|conn| {
        if let Some(path) = &imported {
            add_imported(task, conn, path)?;
        }
        f(conn)
    })?;
    if let Some(path) = imported {
        // Taken: the users are in the database now.
        std::fs::remove_file(&path)
            .map_err(|e| Error::internal(format!("cannot remove {}: {e}", path.display())))?;
    }
    Ok(out)
}

/// Adds the users of an import, keeping their Jam.py IDs (what `user_id` columns and server
/// code hold); a login that exists already is left as it is.
fn add_imported(
    task: &Task,
    conn: &mut dyn jamrs_store::Conn,
    path: &std::path::Path,
) -> Result<(), Error> {
    let users = jamrs_import::users::read(path).map_err(Error::internal)?;
    for u in &users {
        if auth::find_user(conn, &u.login)?.is_some() {
            continue;
        }
        let row = |id| auth::NewUserRow {
            login: &u.login,
            name: &u.name,
            role: &u.role,
            tenant_id: None,
            password_hash: u.password_hash.as_deref().unwrap_or(auth::NO_PASSWORD),
            id,
            active: u.active,
        };
        // An ID jamrs already gave another user: the imported user gets a new one.
        if auth::add_user(conn, task, &row(Some(u.id)), now()).is_err() {
            auth::add_user(conn, task, &row(None), now())?;
            tracing::warn!(login = %u.login, id = u.id, "the imported user's Jam.py ID is taken; it got a new one");
        }
    }
    tracing::info!(users = users.len(), "added the users imported from Jam.py");
    Ok(())
}

/// What the user commands print.
pub struct Outcome {
    pub message: String,
    /// A generated password, to be shown once.
    pub password: Option<String>,
}

pub struct NewUser<'a> {
    pub login: &'a str,
    pub role: &'a str,
    pub name: &'a str,
    pub tenant_id: Option<i64>,
    pub password: Option<String>,
}

pub fn add(task: &Task, user: NewUser) -> Result<Outcome, Error> {
    let (password, generated) = password_or_generated(user.password)?;
    let hash = auth::hash_password(&password)?;
    let login = auth::normalize_login(user.login);
    with_users(task, |conn| {
        auth::add_user(
            conn,
            task,
            &auth::NewUserRow {
                login: &login,
                name: user.name,
                role: user.role,
                tenant_id: user.tenant_id,
                password_hash: &hash,
                id: None,
                active: true,
            },
            now(),
        )
    })?;
    Ok(Outcome {
        message: format!("Added user \"{login}\" with role \"{}\".", user.role),
        password: generated.then_some(password),
    })
}

pub fn passwd(task: &Task, login: &str, password: Option<String>) -> Result<Outcome, Error> {
    let (password, generated) = password_or_generated(password)?;
    let hash = auth::hash_password(&password)?;
    with_users(task, |conn| auth::set_password(conn, login, &hash))?;
    Ok(Outcome {
        message: format!(
            "Changed the password of \"{}\"; their sessions have ended.",
            auth::normalize_login(login)
        ),
        password: generated.then_some(password),
    })
}

pub fn set_active(task: &Task, login: &str, active: bool) -> Result<Outcome, Error> {
    with_users(task, |conn| auth::set_active(conn, login, active))?;
    let login = auth::normalize_login(login);
    Ok(Outcome {
        message: if active {
            format!("Enabled \"{login}\".")
        } else {
            format!("Disabled \"{login}\"; their sessions have ended.")
        },
        password: None,
    })
}

pub fn list(task: &Task) -> Result<String, Error> {
    let users = with_users(task, auth::list_users)?;
    if users.is_empty() {
        return Ok("No users yet: add one with `jamrs user add LOGIN --role ROLE`.\n".into());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<24} {:<16} {:<8} tenant",
        "login", "name", "role", "active"
    );
    for u in users {
        let role = task.role_index(u.role_id).map_or_else(
            || format!("(missing id {})", u.role_id),
            |i| task.roles[i].name.to_string(),
        );
        let tenant = u
            .tenant_id
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        let _ = writeln!(
            out,
            "{:<24} {:<24} {:<16} {:<8} {tenant}",
            u.login,
            u.name,
            role,
            if u.active { "yes" } else { "no" }
        );
    }
    Ok(out)
}

/// With safe mode and no users yet, adds the administrator `admin` and returns the generated
/// password, so a project can be used the moment it runs (`jamrs new` does the same).
pub fn ensure_first_user(task: &Task) -> Result<Option<String>, Error> {
    if !task.settings.safe_mode || !with_users(task, auth::list_users)?.is_empty() {
        return Ok(None);
    }
    let Some(role) = first_admin_role(task) else {
        return Ok(None);
    };
    let outcome = add(
        task,
        NewUser {
            login: "admin",
            role,
            name: "Administrator",
            tenant_id: None,
            password: None,
        },
    )?;
    Ok(outcome.password)
}

/// The role a new project's first user gets: `admin` if there is one, else the first role.
pub fn first_admin_role(task: &Task) -> Option<&str> {
    task.role_by_name("admin")
        .or(if task.roles.is_empty() { None } else { Some(0) })
        .map(|i| task.roles[i].name.as_str())
}
