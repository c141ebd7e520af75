//! The `jamrs` command as a user runs it: the real binary, real project folders, a real
//! SQLite file and, for `run`, a real server on loopback.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

/// The binary with no `JAMRS_*` or `RUST_LOG` from the developer's environment.
fn jamrs() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jamrs"));
    for (var, _) in jamrs::config::ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

fn run(args: &[&str]) -> Output {
    jamrs().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Succeeds, and returns stdout.
#[track_caller]
/// The password `jamrs new` printed for the first user.
fn new_password(out: &str) -> String {
    out.lines()
        .find_map(|l| l.split_once("Password: ").map(|(_, p)| p))
        .unwrap_or_else(|| panic!("no password in {out}"))
        .trim()
        .to_string()
}

fn success(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "jamrs {args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Fails with a non-zero code and one line `jamrs: …` on stderr; returns that line.
#[track_caller]
fn failure(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        !o.status.success(),
        "jamrs {args:?} succeeded: {}",
        stdout(&o)
    );
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line of reason: {err}");
    assert!(lines[0].starts_with("jamrs: "), "{err}");
    lines[0].to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn columns(db: &Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_command_has_help() {
    let top = success(&["--help"]);
    for cmd in ["new", "run", "check", "migrate"] {
        assert!(top.contains(cmd), "{top}");
        let help = success(&[cmd, "--help"]);
        assert!(help.contains(&format!("Usage: jamrs {cmd}")), "{help}");
    }
    assert!(success(&["migrate", "--help"]).contains("--dry-run"));
    assert!(success(&["migrate", "--help"]).contains("--allow-destructive"));
    assert!(success(&["run", "--help"]).contains("--bind"));
    assert!(success(&["new", "--help"]).contains("--template"));
    assert!(!run(&["nonsense"]).status.success());
}

#[test]
fn new_creates_a_project_and_refuses_a_non_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes");
    let out = success(&["new", path(&notes)]);
    assert!(out.contains("jamrs run"), "{out}");
    // The first administrator, with a generated password shown once, and a working database.
    let password = new_password(&out);
    assert_eq!(password.len(), 16, "{out}");
    assert!(notes.join("data/notes.sqlite").is_file());
    let users = success(&["user", "list", "--dir", path(&notes)]);
    assert!(users.contains("admin") && users.contains("yes"), "{users}");
    for file in [
        "jamrs.toml",
        "items/notes.toml",
        "items/checklist.toml",
        "items/categories.toml",
    ] {
        assert!(notes.join(file).is_file(), "{file}");
    }
    let demo = tmp.path().join("demo");
    success(&["new", path(&demo), "--template", "demo"]);
    assert!(demo.join("items/invoice_table.toml").is_file());

    let line = failure(&["new", path(&notes)]);
    assert!(line.contains("not empty"), "{line}");
    let o = run(&["new", path(&tmp.path().join("x")), "--template", "nope"]);
    assert!(!o.status.success());
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn check_lists_pending_changes_and_names_a_broken_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    success(&["new", path(&dir)]);
    let out = success(&["check", path(&dir)]);
    assert!(out.contains("up to date"), "`new` migrated: {out}");
    // A project checked out without its data folder.
    std::fs::remove_dir_all(dir.join("data")).unwrap();
    let out = success(&["check", path(&dir)]);
    assert!(out.contains("notes: valid (3 items"), "{out}");
    assert!(out.contains("not created yet"), "{out}");
    assert!(out.contains("create table notes"), "{out}");
    assert!(!dir.join("data").exists(), "check creates nothing");

    let item = dir.join("items/notes.toml");
    let text = std::fs::read_to_string(&item).unwrap();
    std::fs::write(
        &item,
        text.replacen("required = true", "requried = true", 1),
    )
    .unwrap();
    let line = failure(&["check", path(&dir)]);
    assert!(line.contains("items/notes.toml"), "{line}");
    assert!(line.contains("requried"), "{line}");
    let line = failure(&["check", path(&tmp.path().join("nothing"))]);
    assert!(line.contains("jamrs.toml"), "{line}");
}

#[test]
fn migrate_dry_run_applies_nothing_then_migrate_applies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    success(&["new", path(&dir), "--template", "demo"]);
    std::fs::remove_dir_all(dir.join("data")).unwrap();
    let sql = success(&["migrate", "--dry-run", path(&dir)]);
    assert!(sql.contains("jamrs_users"), "the system tables: {sql}");
    assert!(sql.contains("CREATE TABLE \"demo_tracks\""), "{sql}");
    assert!(sql.contains("COMMIT;"), "{sql}");
    let db = dir.join("data/demo.sqlite");
    assert!(!db.exists(), "a dry run creates nothing");

    let out = success(&["migrate", path(&dir)]);
    assert!(out.contains("applied"), "{out}");
    assert!(columns(&db, "demo_tracks").contains(&"milliseconds".to_string()));
    assert!(success(&["check", path(&dir)]).contains("up to date"));
    assert!(success(&["migrate", path(&dir)]).contains("nothing to do"));
    assert!(success(&["migrate", "--dry-run", path(&dir)]).contains("nothing to do"));
}

/// Dropping a column loses data: `run` and `migrate` refuse until told.
#[test]
fn destructive_changes_need_allow_destructive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    success(&["new", path(&dir)]);
    success(&["migrate", path(&dir)]);
    let db = dir.join("data/notes.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO notes (title, body, created, pinned) VALUES ('kept', 'lost', '2024-01-01', 0)",
            [],
        )
        .unwrap();
    let item = dir.join("items/notes.toml");
    let text = std::fs::read_to_string(&item).unwrap();
    let without = text.replace(
        "[[fields]]\nname = \"body\"\ntype = \"longtext\"\ncaption = \"Text\"\n\n",
        "",
    );
    assert_ne!(text, without, "the test removes the body field");
    std::fs::write(&item, without).unwrap();

    let out = success(&["check", path(&dir)]);
    assert!(out.contains("! drop column notes.body"), "{out}");
    for args in [
        vec!["migrate", path(&dir)],
        vec!["run", path(&dir), "--bind", "127.0.0.1:0"],
    ] {
        let line = failure(&args);
        assert!(line.contains("--allow-destructive"), "{line}");
        assert!(columns(&db, "notes").contains(&"body".to_string()));
    }
    let sql = success(&["migrate", "--dry-run", path(&dir)]);
    assert!(sql.contains("DROP TABLE \"notes\""), "{sql}");
    assert!(columns(&db, "notes").contains(&"body".to_string()));

    let out = success(&["migrate", "--allow-destructive", path(&dir)]);
    assert!(out.contains("drop column notes.body"), "{out}");
    assert!(!columns(&db, "notes").contains(&"body".to_string()));
    let titles: Vec<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT title FROM notes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(titles, ["kept"]);
    assert!(success(&["check", path(&dir)]).contains("up to date"));
}

/// A `jamrs run` child process, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Waits for the process to end by itself, up to `limit`.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Starts `jamrs run DIR` on a free port; returns the process, the URL it printed and the line.
fn start_run(dir: &Path) -> (Running, String, String) {
    let child = jamrs()
        .args(["run", path(dir), "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let out = server.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("jamrs run prints a line when it serves");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (server, url, line)
}

/// `jamrs run` prints the URL it serves (the real port, when asked for port 0) and answers
/// there; SIGTERM stops it cleanly.
#[test]
fn run_serves_the_project_at_the_printed_url() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let password = new_password(&success(&["new", path(&dir)]));
    let (mut server, url, line) = start_run(&dir);
    assert!(!url.ends_with(":0"), "the real port is printed: {line}");
    assert!(dir.join("data/notes.sqlite").is_file(), "run migrated");

    let mut c = common::Client::new(&url);
    assert_eq!(c.get("/api/task").0, 401, "safe mode: log in first");
    let r = c.send(
        "POST",
        "/api/login",
        Some("application/json"),
        &serde_json::to_vec(&json!({"login": "admin", "password": password})).unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    c.cookie = r
        .header("set-cookie")
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    let (status, task) = c.get("/api/task");
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["task"]["name"], "notes");
    let (status, body) = c.open("notes", &json!({}));
    assert_eq!((status, &body["rows"]), (200, &json!([])));

    #[cfg(unix)]
    {
        let pid = server.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = server
            .wait_for_exit(Duration::from_secs(30))
            .expect("jamrs run stops on SIGTERM");
        assert!(status.success(), "{status}");
    }
}

/// A project run for the first time without users (as `jamrs run examples/notes` in the
/// README) gets its administrator, whose password is printed once; the next run prints none.
#[test]
fn the_first_run_of_a_project_without_users_creates_the_administrator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    jamrs::templates::create(&dir, "notes").unwrap();
    for first in [true, false] {
        let child = jamrs()
            .args(["run", path(&dir), "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Running(child);
        let out = server.0.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The password (first run only) comes before the line with the URL.
        let mut before = Vec::new();
        let url = loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).unwrap();
            if let Some(w) = line
                .split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
            {
                break w.trim_end_matches('/').to_string();
            }
            before.push(line);
        };
        if first {
            let password = new_password(&before.join("\n"));
            let c = common::Client::new(&url);
            let body = json!({"login": "admin", "password": password});
            assert_eq!(c.post_json("/api/login", &body).0, 200);
        } else {
            assert!(before.is_empty(), "no new password: {before:?}");
        }
        drop(server);
    }
    let users = success(&["user", "list", "--dir", path(&dir)]);
    assert_eq!(users.lines().count(), 2, "{users}");
}

/// Issue 12 §5: 24 logins at once took the server from 25 MB to 324 MB, each argon2 check
/// holding 19 MiB. Password checks now run a few at a time (one per core), so the peak stays
/// near the idle size, and every one of the logins still succeeds.
#[cfg(target_os = "linux")]
#[test]
fn logins_sent_at_once_keep_the_servers_memory_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let password = new_password(&success(&["new", path(&dir)]));
    let (server, url, _) = start_run(&dir);
    let n = 24;
    let barrier = std::sync::Barrier::new(n);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let c = common::Client::new(&url);
                    let body = serde_json::to_vec(&json!({"login": "admin", "password": password}))
                        .unwrap();
                    barrier.wait();
                    c.send("POST", "/api/login", Some("application/json"), &body)
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; n]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.0.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get()) as u64;
    // The idle server, plus one 19 MiB argon2 block per core, plus room for the rest.
    let bound_kb = 80 * 1024 + cores * 20 * 1024;
    assert!(
        peak_kb < bound_kb,
        "peak RSS {} MB with {n} logins at once (bound {} MB)",
        peak_kb / 1024,
        bound_kb / 1024
    );
}
