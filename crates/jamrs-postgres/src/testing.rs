//! A database of its own for each test (used by this crate's tests and by the binary's HTTP
//! tests on PostgreSQL).
//!
//! The server is `JAMRS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`, the
//! CI machine's: a superuser with trust authentication). Each [`TestDatabase`] creates
//! `jamrs_t_<pid>_<n>` and drops it when dropped. The database is owned by the role
//! [`SERVING_ROLE`] (made here: no superuser, no `BYPASSRLS`), and [`TestDatabase::url`] connects
//! as it, so row-level security holds the tests' servers as it holds a real deployment's; the
//! tests look behind the server's back with [`TestDatabase::admin_url`] (the superuser). When the server cannot be reached the test
//! fails with a message that says so, unless `JAMRS_SKIP_POSTGRES=1`, which skips it with a
//! loud line on stderr (never silently).

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};

/// The default test server (127.0.0.1, not localhost: the server's trust rule is for IPv4).
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The test server's URL (without a database).
pub fn server_url() -> String {
    std::env::var("JAMRS_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// True when PostgreSQL tests are to be skipped (`JAMRS_SKIP_POSTGRES=1`).
pub fn skipping() -> bool {
    std::env::var("JAMRS_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

fn url_of(db: &str) -> String {
    format!("{}/{db}", server_url())
}

fn admin() -> Result<Client, String> {
    let url = url_of("postgres");
    Client::connect(&url, NoTls).map_err(|e| {
        format!(
            "PostgreSQL is not reachable at {} ({}): start it (CI's machine runs it on \
             127.0.0.1:5432, user postgres, trust), set JAMRS_TEST_POSTGRES_URL, or set \
             JAMRS_SKIP_POSTGRES=1 to skip the PostgreSQL tests",
            crate::conn::redact(&url),
            crate::conn::describe(&e)
        )
    })
}

/// The role the tests' servers connect as: it owns their databases, and is neither a
/// superuser nor exempt from row-level security. The server must let it connect without a
/// password (trust, as CI's machine does).
pub const SERVING_ROLE: &str = "jamrs_test";

/// `url` with its user (and password) replaced by `role`.
pub fn as_role(url: &str, role: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}@{host}")
}

/// Makes the serving role once (several test processes may race: "already exists" is fine).
fn ensure_serving_role(admin: &mut Client) {
    let exists = |admin: &mut Client| {
        admin
            .query_one(
                "SELECT count(*) FROM pg_roles WHERE rolname = $1",
                &[&SERVING_ROLE],
            )
            .map(|r| r.get::<_, i64>(0) > 0)
            .unwrap_or(false)
    };
    if exists(admin) {
        return;
    }
    if let Err(e) = admin.batch_execute(&format!(
        "CREATE ROLE {SERVING_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
    )) && !exists(admin)
    {
        panic!(
            "cannot create the test role {SERVING_ROLE}: {}",
            crate::conn::describe(&e)
        );
    }
}

/// A fresh, empty database, dropped with this value.
pub struct TestDatabase {
    pub name: String,
    /// The database as [`SERVING_ROLE`], its owner (what a test's server uses).
    pub url: String,
    /// The database as the test server's superuser (to look and write behind the server's
    /// back, past row-level security).
    pub admin_url: String,
}

impl TestDatabase {
    /// Creates the database; `None` (after a loud line) when PostgreSQL tests are skipped.
    ///
    /// # Panics
    /// When PostgreSQL cannot be reached and the tests are not skipped: a test that needs it
    /// must not pass without it.
    pub fn create() -> Option<TestDatabase> {
        if skipping() {
            // Written to the process's stderr itself, past the test harness's capture, so the
            // skip shows in every run.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!! SKIPPED: a PostgreSQL test did not run (JAMRS_SKIP_POSTGRES=1) !!!!!\n"
            );
            return None;
        }
        let mut admin = admin().unwrap_or_else(|e| panic!("{e}"));
        ensure_serving_role(&mut admin);
        let name = format!(
            "jamrs_t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // One statement per call: several in one are one transaction, which these refuse.
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {SERVING_ROLE}"))
            .unwrap_or_else(|e| {
                panic!(
                    "cannot create the test database {name}: {}",
                    crate::conn::describe(&e)
                )
            });
        let admin_url = url_of(&name);
        let url = as_role(&admin_url, SERVING_ROLE);
        Some(TestDatabase {
            name,
            url,
            admin_url,
        })
    }

    /// A plain client on the database as the superuser (for a test to look behind the
    /// server's back).
    ///
    /// # Panics
    /// When it cannot connect.
    pub fn client(&self) -> Client {
        Client::connect(&self.admin_url, NoTls).unwrap_or_else(|e| {
            panic!(
                "cannot connect to {}: {}",
                self.name,
                crate::conn::describe(&e)
            )
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = admin() {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_takes_another_role() {
        assert_eq!(
            as_role("postgres://postgres:pw@127.0.0.1:5432/db", "r"),
            "postgres://r@127.0.0.1:5432/db"
        );
        assert_eq!(
            as_role("postgres://127.0.0.1/db", "r"),
            "postgres://r@127.0.0.1/db"
        );
    }
}
