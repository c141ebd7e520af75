//! The cache of checked sessions (`jamrs_store::auth::SessionCache`) never answers for a
//! session or user that changed: a logout, a disabled user or a new password made by another
//! process (another store on the same file), or by SQL typed by hand, ends the session for the
//! next request of a process that had it cached. Real SQLite files, two stores as two
//! processes would have them.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use jamrs_core::project::ProjectFiles;
use jamrs_core::{Kind, Task};
use jamrs_sqlite::{SqliteStore, system};
use jamrs_store::auth::{self, Authenticated, NewUserRow};
use jamrs_store::store::{read, write};

const TASK: &str = r#"
name = "app"
safe_mode = true
session_timeout = 3600

[[groups]]
name = "main"
items = ["notes"]

[[roles]]
id = 1
name = "users"
default = ["view"]
"#;

const NOTES: &str = r#"
[[fields]]
name = "title"
type = "text"
size = 50
"#;

fn task(dir: &Path) -> Arc<Task> {
    let files = ProjectFiles {
        task: toml::from_str(TASK).unwrap(),
        items: vec![("notes".to_string(), toml::from_str(NOTES).unwrap())],
    };
    Arc::new(files.resolve(dir).unwrap())
}

const NOW: i64 = 1_000_000;

/// A database with the system tables, users alice and bob, and a session for each.
fn setup(db: &Path, task: &Task) -> (String, String) {
    let mut c = jamrs_sqlite::conn::open(db, false).unwrap();
    system::ensure(&mut c).unwrap();
    let mut conn = jamrs_sqlite::SqliteConn::new(c);
    let mut tokens = Vec::new();
    for login in ["alice", "bob"] {
        let id = auth::add_user(
            &mut conn,
            task,
            &NewUserRow {
                login,
                name: login,
                role: "users",
                tenant_id: None,
                password_hash: "not a hash",
                id: None,
                active: true,
            },
            NOW,
        )
        .unwrap();
        tokens.push(auth::create_session(&mut conn, id, NOW, "127.0.0.1").unwrap());
    }
    (tokens.remove(0), tokens.remove(0))
}

async fn check(
    store: &SqliteStore,
    task: &Arc<Task>,
    token: &str,
    now: i64,
) -> jamrs_core::Result<Authenticated> {
    let (task, token) = (Arc::clone(task), token.to_string());
    read(store, move |conn| {
        auth::authenticate(conn, &task, Some(&token), now)
    })
    .await
}

async fn login_of(store: &SqliteStore, task: &Arc<Task>, token: &str, now: i64) -> String {
    check(store, task, token, now)
        .await
        .unwrap()
        .caller
        .user
        .unwrap()
        .login
}

fn refused(r: jamrs_core::Result<Authenticated>) {
    match r {
        Err(e) => assert_eq!(e.kind, Kind::Unauthorized, "{e}"),
        Ok(a) => panic!("the session is still accepted: {a:?}"),
    }
}

#[tokio::test]
async fn changes_by_another_process_or_by_hand_end_cached_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let task = task(dir.path());
    let (alice, bob) = setup(&db, &task);
    // Two processes: `a` serves requests (reads on its own thread, as the server does), `b`
    // makes the changes.
    let a = SqliteStore::open(&db, 1)
        .unwrap()
        .read_on_caller(std::time::Duration::from_millis(50));
    let b = SqliteStore::open(&db, 1).unwrap();
    for now in [NOW, NOW + 1, NOW + 2] {
        assert_eq!(login_of(&a, &task, &alice, now).await, "alice");
        assert_eq!(login_of(&a, &task, &bob, now).await, "bob");
    }

    // A logout in the other process.
    let t = alice.clone();
    write(&b, move |conn| auth::revoke(conn, &t)).await.unwrap();
    refused(check(&a, &task, &alice, NOW + 3).await);
    assert_eq!(login_of(&a, &task, &bob, NOW + 3).await, "bob");

    // A disabled user (which also ends their sessions).
    write(&b, |conn| auth::set_active(conn, "bob", false))
        .await
        .unwrap();
    refused(check(&a, &task, &bob, NOW + 4).await);
    write(&b, |conn| auth::set_active(conn, "bob", true))
        .await
        .unwrap();
    refused(check(&a, &task, &bob, NOW + 5).await);
    let bob = write(&b, |conn| {
        let id = auth::find_user(conn, "bob")?.map_or(0, |u| u.id);
        auth::create_session(conn, id, NOW + 5, "127.0.0.1")
    })
    .await
    .unwrap();
    assert_eq!(login_of(&a, &task, &bob, NOW + 5).await, "bob");
    assert_eq!(login_of(&a, &task, &bob, NOW + 6).await, "bob");

    // SQL typed by hand, on a connection of its own.
    let hand = rusqlite::Connection::open(&db).unwrap();
    hand.execute("UPDATE jamrs_users SET active = 0 WHERE login = 'bob'", [])
        .unwrap();
    refused(check(&a, &task, &bob, NOW + 7).await);
    hand.execute("UPDATE jamrs_users SET active = 1 WHERE login = 'bob'", [])
        .unwrap();
    assert_eq!(login_of(&a, &task, &bob, NOW + 8).await, "bob");
    assert_eq!(login_of(&a, &task, &bob, NOW + 9).await, "bob");
    // A last-seen time moved back (a later one is the touch, which changes nothing cached).
    hand.execute("UPDATE jamrs_sessions SET last_seen = last_seen + 5", [])
        .unwrap();
    assert_eq!(login_of(&a, &task, &bob, NOW + 10).await, "bob");
    hand.execute("UPDATE jamrs_sessions SET last_seen = 0", [])
        .unwrap();
    refused(check(&a, &task, &bob, NOW + 11).await);
    hand.execute("DELETE FROM jamrs_sessions", []).unwrap();
    refused(check(&a, &task, &bob, NOW + 12).await);
}

#[tokio::test]
async fn cached_sessions_expire_and_get_touched_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let task = task(dir.path());
    let (alice, _) = setup(&db, &task);
    let a = SqliteStore::open(&db, 1)
        .unwrap()
        .read_on_caller(std::time::Duration::from_millis(50));
    let touch = auth::touch_interval(task.settings.session_timeout);
    let first = check(&a, &task, &alice, NOW).await.unwrap();
    assert!(!first.needs_touch);
    // From the cache, until the last-seen time is old enough to be written again; then the
    // rows say so.
    assert!(
        !check(&a, &task, &alice, NOW + touch - 1)
            .await
            .unwrap()
            .needs_touch
    );
    assert!(
        check(&a, &task, &alice, NOW + touch)
            .await
            .unwrap()
            .needs_touch
    );
    // Past the timeout without a touch the session is over, cached or not.
    let timeout = i64::try_from(task.settings.session_timeout).unwrap();
    refused(check(&a, &task, &alice, NOW + timeout + 1).await);
}
