//! The system tables on SQLite: users, sessions, login failures and the sessions' change counter
//! (see `jamrs_store::auth`),
//! record history (`jamrs_store::history`), uploaded files (`jamrs_store::files`).
//!
//! Their version is kept in `PRAGMA user_version`, so an upgrade of jamrs can add steps here
//! without touching item tables.

use jamrs_core::Result;
use rusqlite::{Connection, TransactionBehavior};

use crate::conn::map_err;

/// Each step brings the system tables from version `i` to `i + 1`.
const STEPS: &[&str] = &[
    "
CREATE TABLE IF NOT EXISTS jamrs_users (
  id INTEGER PRIMARY KEY,
  login TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role_id INTEGER NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  tenant_id INTEGER,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS jamrs_sessions (
  token_hash TEXT PRIMARY KEY NOT NULL,
  user_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  address TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS jamrs_sessions_user ON jamrs_sessions (user_id);
CREATE TABLE IF NOT EXISTS jamrs_login_failures (
  key TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS jamrs_login_failures_key ON jamrs_login_failures (key, at);
",
    "
-- Sessions of users a task's on_login accepted keep the user_info it returned.
ALTER TABLE jamrs_sessions ADD COLUMN user_info TEXT;
",
    "
-- A login attempt is recorded while its password is checked (pending = 1, under a random
-- attempt id) and settled after: a failure (pending = 0) or removed. So parallel attempts are
-- counted without counting correct ones as failures.
ALTER TABLE jamrs_login_failures ADD COLUMN attempt TEXT;
ALTER TABLE jamrs_login_failures ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS jamrs_login_failures_attempt ON jamrs_login_failures (attempt);
",
    "
-- Record history (items with keep_history; jamrs_store::history): one row per inserted,
-- changed or deleted record, written in the transaction of the change. operation is Jam.py's
-- (1 insert, 2 update, 3 delete); changes is JSON [[field, old, new], ...]; tenant is the
-- row's tenant column as JSON text (items [tenancy] covers); at is UTC.
CREATE TABLE IF NOT EXISTS jamrs_history (
  id INTEGER PRIMARY KEY,
  item TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  operation INTEGER NOT NULL,
  changes TEXT NOT NULL,
  user_id INTEGER,
  user_name TEXT,
  tenant TEXT,
  at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS jamrs_history_record ON jamrs_history (item, record_id, id);
CREATE INDEX IF NOT EXISTS jamrs_history_item ON jamrs_history (item, tenant, id);
",
    "
-- Uploads of file and image fields (jamrs_store::files): one row per file, named by a random
-- token; record_id is NULL until a saved record holds it (unattached uploads are swept after a
-- day). tenant and user_id are the uploader's (tenant as JSON text, as in jamrs_history). With
-- the database store the content is in jamrs_file_chunks (base64 text, portable SQL); with the
-- folder store it is a file named like the row.
CREATE TABLE IF NOT EXISTS jamrs_files (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  item TEXT NOT NULL,
  field TEXT NOT NULL,
  record_id INTEGER,
  tenant TEXT,
  user_id INTEGER,
  original TEXT NOT NULL,
  type TEXT NOT NULL,
  size INTEGER NOT NULL,
  store TEXT NOT NULL,
  created INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS jamrs_files_record ON jamrs_files (item, record_id);
CREATE TABLE IF NOT EXISTS jamrs_file_chunks (
  file_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (file_id, seq)
) STRICT;
",
    "
-- A counter that every change to a session (but a later last-seen time) or to a user raises, made
-- by triggers so that no writer can forget it: processes keep the sessions they checked and
-- read this one integer per request instead of the session's rows while it stays the same
-- (jamrs_store::auth::SessionCache).
CREATE TABLE IF NOT EXISTS jamrs_auth_epoch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO jamrs_auth_epoch (id, epoch) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS jamrs_sessions_deleted AFTER DELETE ON jamrs_sessions
BEGIN UPDATE jamrs_auth_epoch SET epoch = epoch + 1 WHERE id = 1; END;
-- Any change but a later last-seen time (the touch every request may make).
CREATE TRIGGER IF NOT EXISTS jamrs_sessions_changed AFTER UPDATE ON jamrs_sessions
WHEN NOT (NEW.last_seen >= OLD.last_seen AND NEW.token_hash IS OLD.token_hash
  AND NEW.user_id IS OLD.user_id AND NEW.created_at IS OLD.created_at
  AND NEW.address IS OLD.address AND NEW.user_info IS OLD.user_info)
BEGIN UPDATE jamrs_auth_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS jamrs_users_changed AFTER UPDATE ON jamrs_users
BEGIN UPDATE jamrs_auth_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS jamrs_users_deleted AFTER DELETE ON jamrs_users
BEGIN UPDATE jamrs_auth_epoch SET epoch = epoch + 1 WHERE id = 1; END;
",
];

/// The SQL that `ensure` would run on this database (for `jamrs migrate --dry-run`).
pub fn pending_sql(conn: &Connection) -> Result<String> {
    let version = version(conn)?;
    Ok(STEPS
        .iter()
        .skip(version)
        .map(|s| s.trim())
        .collect::<Vec<_>>()
        .join("\n"))
}

fn version(conn: &Connection) -> Result<usize> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(map_err)?;
    Ok(usize::try_from(v).unwrap_or(0))
}

/// Creates or upgrades the system tables; returns whether anything changed.
pub fn ensure(conn: &mut Connection) -> Result<bool> {
    if version(conn)? >= STEPS.len() {
        return Ok(false);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    // Read again under the write lock: another process may have just done it.
    let from = version(&tx)?;
    for step in STEPS.iter().skip(from) {
        tx.execute_batch(step).map_err(map_err)?;
    }
    tx.pragma_update(None, "user_version", STEPS.len() as i64)
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(from < STEPS.len())
}
