//! Sessions are rows in the database, not process memory: two real `jamrs run` processes on
//! one project folder (one SQLite file) accept each other's sessions, see each other's logouts
//! and the CLI's revocations, and count failed logins together. A restart with a role removed
//! from the metadata refuses that role's sessions.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Client, assert_error, ok};
use jamrs_postgres::testing::TestDatabase;
use serde_json::json;

const PASSWORD: &str = "process-password-1";

const ROLES: &str = r#"
[[roles]]
id = 1
name = "admin"
default = ["view", "create", "edit", "delete"]
"#;

const CLERK: &str = r#"
[[roles]]
id = 2
name = "clerk"
default = ["view", "create", "edit"]
"#;

/// The project's settings; on PostgreSQL (`JAMRS_TEST_BACKEND=postgres`) with the URL of the
/// test's own database, so both processes share it as they share the SQLite file otherwise.
fn task_file(roles: &str, pg: Option<&TestDatabase>) -> String {
    let database = pg.map_or(String::new(), |d| {
        format!("\n[database]\nurl = \"{}\"\n", d.url)
    });
    format!(
        "name = \"two\"\n{database}\n[login]\nmax_failures = 3\nmax_failures_per_address = 100\n\n[[groups]]\nname = \"g\"\nitems = [\"notes\"]\n{roles}"
    )
}

/// The binary with no `JAMRS_*` or `RUST_LOG` from the developer's environment.
fn jamrs() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jamrs"));
    for (var, _) in jamrs::config::ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `jamrs user add LOGIN --role ROLE --password-stdin`.
fn add_user(dir: &Path, login: &str, role: &str) {
    let mut child = jamrs()
        .args([
            "user",
            "add",
            login,
            "--role",
            role,
            "--password-stdin",
            "--dir",
            path(dir),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add {login}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `jamrs ARGS` and asserts it succeeds.
fn cli(args: &[&str]) {
    let out = jamrs().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "jamrs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `jamrs run` process serving `dir` on a free port; killed on drop.
struct Running {
    child: Child,
    url: String,
}

impl Running {
    fn start(dir: &Path) -> Running {
        let child = jamrs()
            .args(["run", path(dir), "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut running = Running {
            child,
            url: String::new(),
        };
        let out = running.child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        running.url = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("jamrs run prints the URL it serves");
            if let Some(w) = line
                .split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
            {
                break w.trim_end_matches('/').to_string();
            }
            assert!(
                !line.contains("Password"),
                "the project has users: no new administrator ({line})"
            );
        };
        running
    }

    fn client(&self, cookie: Option<String>) -> Client {
        Client::with_cookie(&self.url, cookie)
    }

    fn try_login(&self, login: &str, password: &str) -> common::Reply {
        self.client(None).send(
            "POST",
            "/api/login",
            Some("application/json"),
            &serde_json::to_vec(&json!({"login": login, "password": password})).unwrap(),
        )
    }

    /// Logs in and returns the cookie.
    fn login(&self, login: &str) -> Option<String> {
        let r = self.try_login(login, PASSWORD);
        assert_eq!(
            r.status, 200,
            "login as {login} at {}: {}",
            self.url, r.body
        );
        r.header("set-cookie")
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn project() -> (tempfile::TempDir, Option<TestDatabase>) {
    let pg = common::on_postgres().then(|| {
        TestDatabase::create().expect("JAMRS_TEST_BACKEND=postgres with JAMRS_SKIP_POSTGRES=1")
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join("items")).unwrap();
    std::fs::write(
        dir.join("jamrs.toml"),
        task_file(&format!("{ROLES}{CLERK}"), pg.as_ref()),
    )
    .unwrap();
    std::fs::write(
        dir.join("items/notes.toml"),
        "[[fields]]\nname = \"title\"\ntype = \"text\"\nsize = 50\n",
    )
    .unwrap();
    for (login, role) in [("alice", "clerk"), ("bob", "clerk"), ("root", "admin")] {
        add_user(&dir, login, role);
    }
    (tmp, pg)
}

#[test]
fn two_processes_share_sessions_logouts_and_revocations() {
    let (tmp, _pg) = project();
    let dir = tmp.path().join("p");
    let a = Running::start(&dir);
    let b = Running::start(&dir);
    assert_ne!(a.url, b.url);

    // Logged in on A, the cookie works on B: for reading and for writing.
    let first = a.login("alice");
    let on_b = b.client(first.clone());
    let task = ok(on_b.get("/api/task"));
    assert_eq!(task["user"]["login"], "alice");
    assert_eq!(task["user"]["role_name"], "clerk");
    let id = common::insert(&on_b, "notes", &[json!({"title": "from b"})])[0];
    let on_a = a.client(first.clone());
    let rows = ok(on_a.open("notes", &json!({"fields": ["id", "title"]})));
    assert_eq!(rows["rows"], json!([[id, "from b"]]));

    // Logged out on B, the cookie is refused on A at once; another session of alice lives on.
    let second = b.login("alice");
    assert_eq!(on_b.send("POST", "/api/logout", None, &[]).status, 204);
    assert_error(&on_a.get("/api/task"), 401, "unauthorized");
    assert_error(
        &on_a.apply(
            "notes",
            &json!({"changes": [{"op": "insert", "values": {"title": "replayed"}}]}),
        ),
        401,
        "unauthorized",
    );
    for server in [&a, &b] {
        assert_eq!(
            ok(server.client(second.clone()).get("/api/task"))["user"]["login"],
            "alice"
        );
    }

    // The CLI, a third process, disables alice: both servers refuse her session.
    cli(&["user", "disable", "alice", "--dir", path(&dir)]);
    for server in [&a, &b] {
        assert_error(
            &server.client(second.clone()).get("/api/task"),
            401,
            "unauthorized",
        );
        assert_eq!(server.try_login("alice", PASSWORD).status, 401);
    }
    // And a new password for bob ends his sessions on both.
    let bobs = a.login("bob");
    assert_eq!(b.client(bobs.clone()).get("/api/task").0, 200);
    let mut passwd = jamrs()
        .args([
            "user",
            "passwd",
            "bob",
            "--password-stdin",
            "--dir",
            path(&dir),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(passwd.stdin.take().unwrap(), "another-password").unwrap();
    assert!(passwd.wait().unwrap().success());
    for server in [&a, &b] {
        assert_error(
            &server.client(bobs.clone()).get("/api/task"),
            401,
            "unauthorized",
        );
    }
    assert_eq!(b.try_login("bob", "another-password").status, 200);
}

#[test]
fn failed_logins_are_counted_across_processes() {
    let (tmp, _pg) = project();
    let dir = tmp.path().join("p");
    let a = Running::start(&dir);
    let b = Running::start(&dir);
    // max_failures = 3, spread over both servers.
    assert_eq!(a.try_login("bob", "wrong-1").status, 401);
    assert_eq!(b.try_login("bob", "wrong-2").status, 401);
    assert_eq!(a.try_login("bob", "wrong-3").status, 401);
    for server in [&a, &b] {
        let r = server.try_login("bob", PASSWORD);
        assert_error(&(r.status, r.body.clone()), 429, "too_many_requests");
        assert_eq!(r.header("retry-after"), Some("900"));
    }
    // Other logins are not held up.
    b.login("alice");
    a.login("root");

    // Parallel attempts at both servers at once still try no more than the limit.
    let barrier = std::sync::Barrier::new(12);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let server = if i % 2 == 0 { &a } else { &b };
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    server.try_login("root", "wrong").status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        9,
        "{statuses:?}"
    );
}

/// A role removed from `jamrs.toml` while users still have it: after a restart their sessions
/// and logins are refused, and nobody else's are.
#[test]
fn a_restart_without_a_role_refuses_its_sessions() {
    let (tmp, pg) = project();
    let dir = tmp.path().join("p");
    let (alice, root) = {
        let a = Running::start(&dir);
        (a.login("alice"), a.login("root"))
    };
    std::fs::write(dir.join("jamrs.toml"), task_file(ROLES, pg.as_ref())).unwrap();
    let a = Running::start(&dir);
    let err = assert_error(&a.client(alice).get("/api/task"), 401, "unauthorized");
    assert!(err["message"].as_str().unwrap().contains("role"), "{err}");
    let r = a.try_login("alice", PASSWORD);
    assert_eq!(r.status, 401);
    assert_eq!(r.body, a.try_login("nobody", PASSWORD).body);
    assert_eq!(ok(a.client(root).get("/api/task"))["user"]["login"], "root");
}
