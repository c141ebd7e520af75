//! The harness of the API tests: a real server on loopback over a project in a temporary
//! folder with a real SQLite file, a small HTTP client, and a read-only view of the database so
//! a test can assert that a refused request changed nothing.
//!
//! Each test binary uses a part of it.
#![allow(dead_code)]
// Setup that fails should fail the test; these helpers sit outside `#[test]` functions, where
// clippy's allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

pub mod jobs;
pub mod office;
pub mod tenancy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jamrs::app::{self, RunOptions, Server};
use jamrs::config::{self, Overrides};
use jamrs_postgres::testing::TestDatabase;
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};
use tempfile::TempDir;

/// A jamrs server on `127.0.0.1:<free port>` over a project in a temporary folder. Stopped, and
/// the folder removed, on drop.
pub struct TestServer {
    pub url: String,
    /// The project's SQLite file (unused on PostgreSQL).
    pub database: PathBuf,
    /// On PostgreSQL (`JAMRS_TEST_BACKEND=postgres`): the test's own database, dropped after
    /// the server stops.
    pub postgres: Option<TestDatabase>,
    /// The database URL the project is loaded with (the PostgreSQL database's), if any.
    url_override: Option<String>,
    server: Option<Server>,
    runtime: tokio::runtime::Runtime,
    dir: TempDir,
    /// With safe mode: the administrator `client()` logs in as.
    admin: Option<(String, String)>,
}

/// The password the harness gives the users it creates.
pub const PASSWORD: &str = "test-password-1";

/// True when the suites run on PostgreSQL: `JAMRS_TEST_BACKEND=postgres` (`./dev test` runs
/// the HTTP suites a second time so). Each server then gets a database of its own on the test
/// server (`jamrs_postgres::testing`); one that cannot be reached fails the test.
pub fn on_postgres() -> bool {
    std::env::var("JAMRS_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// A database of its own for a server on PostgreSQL, `None` on SQLite.
fn postgres_database() -> Option<TestDatabase> {
    if !on_postgres() {
        return None;
    }
    Some(TestDatabase::create().unwrap_or_else(|| {
        panic!("JAMRS_TEST_BACKEND=postgres and JAMRS_SKIP_POSTGRES=1 contradict each other")
    }))
}

/// Loads the test project with no environment (a developer's JAMRS_* variables must not
/// change the tests), on `database` when given.
fn load_task(project: &Path, bind: Option<String>, url: Option<&str>) -> jamrs_core::Task {
    let overrides = Overrides {
        bind,
        database_url: url.map(str::to_string),
    };
    config::load_project(project, &overrides, &|_| None)
        .unwrap_or_else(|e| panic!("the test project does not load: {e}"))
}

impl TestServer {
    /// A project made by `jamrs new --template <name>`.
    pub fn template(name: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        jamrs::templates::create(&project, name).unwrap();
        Self::start(dir, &project)
    }

    /// `jamrs new --template demo`: the demo's files and its made-up data.
    pub fn demo_with_data() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        jamrs::templates::create(&project, "demo").unwrap();
        let postgres = postgres_database();
        let task = load_task(&project, None, postgres.as_ref().map(|d| d.url.as_str()));
        jamrs::migrate::at_start(&task, false).unwrap();
        jamrs::demo_data::seed(&task).unwrap();
        Self::try_start_on(dir, &project, &RunOptions::default(), true, postgres)
            .unwrap_or_else(|e| panic!("the test server does not start: {e}"))
    }

    /// A project from file contents: `("jamrs.toml", …)`, `("items/x.toml", …)`.
    pub fn from_files(files: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        for (path, text) in files {
            let target = project.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
        Self::start(dir, &project)
    }

    /// [`TestServer::from_files`] on a PostgreSQL database of its own, whatever
    /// `JAMRS_TEST_BACKEND` says; `None` (after a loud line) when `JAMRS_SKIP_POSTGRES=1`.
    #[allow(dead_code)]
    pub fn on_postgres_from_files(files: &[(&str, &str)]) -> Option<TestServer> {
        let postgres = TestDatabase::create()?;
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        for (path, text) in files {
            let target = project.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
        Some(
            Self::try_start_on(dir, &project, &RunOptions::default(), true, Some(postgres))
                .unwrap_or_else(|e| panic!("the test server does not start: {e}")),
        )
    }

    /// [`TestServer::from_files`] with files that are not text too (report templates).
    pub fn from_files_and_bytes(files: &[(&str, &str)], bytes: &[(&str, &[u8])]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        let all = files
            .iter()
            .map(|(p, t)| (*p, t.as_bytes()))
            .chain(bytes.iter().copied());
        for (path, content) in all {
            let target = project.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, content).unwrap();
        }
        Self::start(dir, &project)
    }

    /// A copy of the repository's `examples/<name>` (its `.py` modules included).
    pub fn example(name: &str) -> TestServer {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        assert!(source.is_dir(), "no example {}", source.display());
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        copy_dir(&source, &project);
        Self::start(dir, &project)
    }

    /// [`TestServer::from_files`] with run options (development mode, say).
    pub fn from_files_with(files: &[(&str, &str)], opts: &RunOptions) -> TestServer {
        Self::try_from_files_with(files, opts)
            .unwrap_or_else(|e| panic!("the test server does not start: {e}"))
    }

    /// Starts a server on a project from file contents, or says why it does not start.
    pub fn try_from_files_with(
        files: &[(&str, &str)],
        opts: &RunOptions,
    ) -> Result<TestServer, String> {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        for (path, text) in files {
            let target = project.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
        Self::try_start(dir, &project, opts)
    }

    fn start(dir: TempDir, project: &Path) -> TestServer {
        Self::try_start(dir, project, &RunOptions::default())
            .unwrap_or_else(|e| panic!("the test server does not start: {e}"))
    }

    /// Serves a project as it is (made by `jamrs import`, say), adding no administrator: log in
    /// as one of its own users.
    #[allow(dead_code)]
    pub fn existing(dir: TempDir, project: &Path) -> TestServer {
        Self::try_start_as(dir, project, &RunOptions::default(), false)
            .unwrap_or_else(|e| panic!("the test server does not start: {e}"))
    }

    /// Serves a project as it is, with an administrator added (a safe-mode project without
    /// users of its own, such as an import of a Builder export).
    #[allow(dead_code)]
    pub fn existing_with_admin(dir: TempDir, project: &Path) -> TestServer {
        Self::start(dir, project)
    }

    fn try_start(dir: TempDir, project: &Path, opts: &RunOptions) -> Result<TestServer, String> {
        Self::try_start_as(dir, project, opts, true)
    }

    fn try_start_as(
        dir: TempDir,
        project: &Path,
        opts: &RunOptions,
        with_admin: bool,
    ) -> Result<TestServer, String> {
        Self::try_start_on(dir, project, opts, with_admin, postgres_database())
    }

    fn try_start_on(
        dir: TempDir,
        project: &Path,
        opts: &RunOptions,
        with_admin: bool,
        postgres: Option<TestDatabase>,
    ) -> Result<TestServer, String> {
        Self::try_start_at(dir, project, opts, with_admin, postgres, None)
    }

    /// [`TestServer::from_files`] on the database `url` (a PostgreSQL database the test made,
    /// served as a role of its choosing), whatever `JAMRS_TEST_BACKEND` says.
    #[allow(dead_code)]
    pub fn from_files_at(files: &[(&str, &str)], url: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        for (path, text) in files {
            let target = project.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
        Self::try_start_at(dir, &project, &RunOptions::default(), true, None, Some(url))
            .unwrap_or_else(|e| panic!("the test server does not start: {e}"))
    }

    fn try_start_at(
        dir: TempDir,
        project: &Path,
        opts: &RunOptions,
        with_admin: bool,
        postgres: Option<TestDatabase>,
        url: Option<&str>,
    ) -> Result<TestServer, String> {
        let url = self_url(postgres.as_ref(), url);
        let task = load_task(project, Some("127.0.0.1:0".into()), url.as_deref());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // With safe mode every request needs a session: make an administrator to log in as.
        let admin = if task.settings.safe_mode && with_admin {
            jamrs::migrate::at_start(&task, false).unwrap();
            let role = jamrs::users::first_admin_role(&task)
                .expect("a safe-mode project has roles")
                .to_string();
            add_user(&task, "admin", &role, None);
            Some(("admin".to_string(), PASSWORD.to_string()))
        } else {
            None
        };
        let server = runtime
            .block_on(app::start(task, opts))
            .map_err(|e| e.to_string())?;
        Ok(TestServer {
            url: server.url(),
            database: server
                .database
                .sqlite_path()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            url_override: url,
            postgres,
            server: Some(server),
            runtime,
            dir,
            admin,
        })
    }

    /// The project as loaded now (for adding users).
    pub fn task(&self) -> jamrs_core::Task {
        load_task(&self.project(), None, self.url_override.as_deref())
    }

    /// Adds a user with the harness's password.
    pub fn add_user(&self, login: &str, role: &str, tenant: Option<i64>) {
        add_user(&self.task(), login, role, tenant);
    }

    /// The id of user `login` (what `item.session['user_info']['user_id']` holds for them).
    pub fn user_id(&self, login: &str) -> i64 {
        self.db_int(&format!(
            "SELECT id FROM jamrs_users WHERE login = '{}'",
            login.replace('\'', "''")
        ))
    }

    /// The project folder.
    pub fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    /// A client: logged in as the administrator when the project has safe mode, anonymous
    /// otherwise.
    pub fn client(&self) -> Client {
        match &self.admin {
            Some((login, password)) => self.login(login, password),
            None => self.anonymous(),
        }
    }

    /// A client without a session.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url)
    }

    /// A client logged in as `login`; panics if the login fails.
    pub fn login(&self, login: &str, password: &str) -> Client {
        let mut c = Client::new(&self.url);
        let r = c.send(
            "POST",
            "/api/login",
            Some("application/json"),
            &serde_json::to_vec(&json!({"login": login, "password": password})).unwrap(),
        );
        assert_eq!(r.status, 200, "login as {login}: {}", r.body);
        c.cookie = r
            .header("set-cookie")
            .and_then(|v| v.split(';').next())
            .map(str::to_string);
        assert!(c.cookie.is_some(), "a session cookie");
        c
    }

    /// Every row of every table (the `sqlite_` ones excepted), each table's rows sorted, read
    /// through a read-only connection of its own.
    pub fn db_snapshot(&self) -> Snapshot {
        if let Some(pg) = &self.postgres {
            let names = pg_query(
                pg,
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY 1",
            );
            let mut tables = BTreeMap::new();
            for row in names {
                let Sql::Text(name) = &row[0] else { continue };
                let mut rows = pg_query(pg, &format!("SELECT * FROM \"{name}\""));
                rows.sort_by_key(|r| format!("{r:?}"));
                tables.insert(name.clone(), rows);
            }
            return Snapshot(tables);
        }
        let conn = self.read_only();
        let mut names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        names.sort();
        let mut tables = BTreeMap::new();
        for name in names {
            let mut rows = query(&conn, &format!("SELECT * FROM \"{name}\""));
            rows.sort_by_key(|r| format!("{r:?}"));
            tables.insert(name, rows);
        }
        Snapshot(tables)
    }

    /// Rows of a query on the database, read-only (to look at what clients cannot see, such as
    /// the soft-delete flag).
    pub fn db_query(&self, sql: &str) -> Vec<Vec<Sql>> {
        if let Some(pg) = &self.postgres {
            return pg_query(pg, sql);
        }
        query(&self.read_only(), sql)
    }

    /// Runs a statement on the database behind the server's back (to age a session, say);
    /// returns the number of rows changed.
    pub fn db_execute(&self, sql: &str) -> usize {
        if let Some(pg) = &self.postgres {
            let sql = sql.to_string();
            let url = pg.admin_url.clone();
            return off_runtime(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let n = c
                    .execute(sql.as_str(), &[])
                    .unwrap_or_else(|e| panic!("{sql}: {}", jamrs_postgres::conn::describe(&e)));
                sync_identities(&mut c);
                n as usize
            });
        }
        let conn = rusqlite::Connection::open(&self.database).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute(sql, []).unwrap()
    }

    /// Runs several statements on the database behind the server's back (to plant rows a client
    /// could not write, or to reset a table between property-test cases).
    pub fn db_batch(&self, sql: &str) {
        if let Some(pg) = &self.postgres {
            let sql = sql.to_string();
            let url = pg.admin_url.clone();
            return off_runtime(move || {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                c.batch_execute(&sql)
                    .unwrap_or_else(|e| panic!("{sql}: {}", jamrs_postgres::conn::describe(&e)));
                sync_identities(&mut c);
            });
        }
        let conn = rusqlite::Connection::open(&self.database).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The one integer a query returns (`SELECT COUNT(*) …`).
    pub fn db_int(&self, sql: &str) -> i64 {
        match self.db_query(sql).as_slice() {
            [row] if row.len() == 1 => match row[0] {
                Sql::Integer(i) => i,
                ref other => panic!("{sql}: {other:?} is not an integer"),
            },
            rows => panic!("{sql}: {rows:?} is not one value"),
        }
    }

    /// A login attempt as it comes back, whatever the outcome.
    pub fn try_login(&self, login: &str, password: &str, extra: &[(&str, &str)]) -> Reply {
        Client::new(&self.url).send_with(
            "POST",
            "/api/login",
            Some("application/json"),
            &serde_json::to_vec(&json!({"login": login, "password": password})).unwrap(),
            extra,
        )
    }

    fn read_only(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            &self.database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .unwrap()
    }
}

/// Another jamrs server process's worth — its own store, threads and port — on the project
/// and database of a [`TestServer`] (several instances on one database). Stopped on drop.
pub struct Instance {
    pub url: String,
    server: Option<Server>,
    runtime: tokio::runtime::Runtime,
}

impl TestServer {
    /// Starts another instance on this server's project and database.
    pub fn another_instance(&self) -> Instance {
        let task = load_task(
            &self.project(),
            Some("127.0.0.1:0".into()),
            self.url_override.as_deref(),
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(app::start(task, &RunOptions::default()))
            .unwrap();
        Instance {
            url: server.url(),
            server: Some(server),
            runtime,
        }
    }
}

impl Instance {
    /// A client of this instance with `of`'s session (sessions are rows, so every instance
    /// accepts them).
    pub fn client(&self, of: &Client) -> Client {
        Client::with_cookie(&self.url, of.cookie.clone())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

/// Copies a folder recursively (the `data/` folder of a developer's run excepted).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "data" {
                copy_dir(&source, &target);
            }
        } else {
            std::fs::copy(&source, &target).unwrap();
        }
    }
}

fn add_user(task: &jamrs_core::Task, login: &str, role: &str, tenant: Option<i64>) {
    jamrs::users::add(
        task,
        jamrs::users::NewUser {
            login,
            role,
            name: "",
            tenant_id: tenant,
            password: Some(PASSWORD.to_string()),
        },
    )
    .unwrap_or_else(|e| panic!("cannot add user {login}: {e}"));
}

/// The URL a server is loaded with: the one given, else its test database's.
fn self_url(postgres: Option<&TestDatabase>, url: Option<&str>) -> Option<String> {
    url.map(str::to_string)
        .or_else(|| postgres.map(|d| d.url.clone()))
}

/// Runs `f` on a thread of its own: the synchronous PostgreSQL client may not run on a
/// runtime's thread, and a test may call the helpers from one.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

/// After rows were written behind the server's back with explicit keys: each identity column
/// numbers on from the largest key, as SQLite's rowid does (PostgreSQL's sequence would give
/// a planted key again).
fn sync_identities(c: &mut postgres::Client) {
    c.batch_execute(
        "DO $$ DECLARE r record; m bigint; cur bigint; BEGIN
         FOR r IN SELECT c.relname AS t, a.attname AS col,
                         pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_attribute a ON a.attrelid = c.oid
                  WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attidentity <> ''
         LOOP
           EXECUTE format('SELECT max(%I) FROM %I', r.col, r.t) INTO m;
           EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', r.seq) INTO cur;
           IF m IS NOT NULL AND m > cur THEN PERFORM setval(r.seq, m, true); END IF;
         END LOOP; END $$",
    )
    .unwrap();
}

/// Rows of a query on PostgreSQL, as rusqlite values (booleans as 0/1, dates as ISO text), so
/// the suites compare them as on SQLite.
fn pg_query(pg: &TestDatabase, sql: &str) -> Vec<Vec<Sql>> {
    use jamrs_store::Conn;
    let url = pg.admin_url.clone();
    off_runtime(move || {
        let mut conn = jamrs_postgres::PgConn::open(&url).unwrap();
        let rows = conn
            .query_any(&jamrs_store::Sql {
                text: sql.to_string(),
                params: vec![],
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| match v {
                        jamrs_core::Value::Null => Sql::Null,
                        jamrs_core::Value::Int(i) => Sql::Integer(i),
                        jamrs_core::Value::Bool(b) => Sql::Integer(i64::from(b)),
                        jamrs_core::Value::Float(f) => Sql::Real(f),
                        jamrs_core::Value::Text(t) => Sql::Text(t),
                    })
                    .collect()
            })
            .collect()
    })
}

fn query(conn: &rusqlite::Connection, sql: &str) -> Vec<Vec<Sql>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The whole database: table name → rows, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot(pub BTreeMap<String, Vec<Vec<Sql>>>);

impl Snapshot {
    pub fn rows(&self, table: &str) -> &[Vec<Sql>] {
        self.0
            .get(table)
            .unwrap_or_else(|| panic!("no table {table}"))
    }
}

/// An answer: status, headers (names lower-case) and body (JSON; `Null` when empty, a JSON
/// string holding the text when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP client for one session. [`Client::send`] is the one place every request passes
/// through, so the session cookie (login arrives with users) is added there.
pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// `name=value` sent as `Cookie` on every request.
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let config = ureq::Agent::config_builder()
            // 4xx and 5xx are answers to look at, not transport errors.
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent: ureq::Agent::new_with_config(config),
            cookie: None,
        }
    }

    /// A client that sends `cookie` (`name=value`) on every request.
    pub fn with_cookie(base: &str, cookie: Option<String>) -> Client {
        let mut c = Client::new(base);
        c.cookie = cookie;
        c
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.send("GET", path, None, &[]);
        (r.status, r.body)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        self.post_raw(path, "application/json", &bytes)
    }

    pub fn post_raw(&self, path: &str, content_type: &str, bytes: &[u8]) -> (u16, Value) {
        let r = self.send("POST", path, Some(content_type), bytes);
        (r.status, r.body)
    }

    /// `POST /api/items/{item}/open`.
    pub fn open(&self, item: &str, params: &Value) -> (u16, Value) {
        self.post_json(&format!("/api/items/{item}/open"), params)
    }

    /// `POST /api/items/{item}/apply`.
    pub fn apply(&self, item: &str, delta: &Value) -> (u16, Value) {
        self.post_json(&format!("/api/items/{item}/apply"), delta)
    }

    /// A GET whose body is kept as bytes: (status, headers, body).
    pub fn get_bytes(
        &self,
        path: &str,
        extra: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut req = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        for (name, value) in extra {
            req = req.header(*name, *value);
        }
        let mut resp = self
            .agent
            .run(req.body(()).unwrap())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_default();
        (status, headers, body)
    }

    /// `POST <path>` with a multipart body of one part `name` holding `bytes` as `file_name`.
    pub fn post_multipart(
        &self,
        path: &str,
        name: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> (u16, Value) {
        let boundary = "jamrs-test-boundary-7c1f";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.post_raw(
            path,
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
        )
    }

    /// Any request. `extra` headers are added after the session's.
    pub fn send(&self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
        self.send_with(method, path, content_type, body, &[])
    }

    pub fn send_with(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (name, value) in extra {
            req = req.header(*name, *value);
        }
        let result = if method == "GET" || method == "HEAD" {
            self.agent.run(req.body(()).unwrap())
        } else {
            self.agent.run(req.body(body.to_vec()).unwrap())
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// Asserts the error contract — `{"error": {"code", "message", "fields"?}}` and nothing else —
/// with `status` and `code`; returns the `error` object.
#[track_caller]
pub fn assert_error(reply: &(u16, Value), status: u16, code: &str) -> Value {
    let (got, body) = reply;
    assert_eq!(*got, status, "status; body: {body}");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("the body is not a JSON object: {body}"));
    assert_eq!(obj.len(), 1, "only `error` at the top: {body}");
    let err = obj
        .get("error")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("no error object: {body}"));
    assert_eq!(err.get("code"), Some(&json!(code)), "code: {body}");
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    assert!(!message.is_empty(), "a message: {body}");
    for key in err.keys() {
        assert!(
            ["code", "message", "fields"].contains(&key.as_str()),
            "unexpected key {key}: {body}"
        );
    }
    if let Some(fields) = err.get("fields") {
        let fields = fields
            .as_array()
            .unwrap_or_else(|| panic!("fields: {body}"));
        assert!(
            !fields.is_empty(),
            "fields, when present, name something: {body}"
        );
        for f in fields {
            assert!(f["field"].is_string() && f["message"].is_string(), "{body}");
        }
    }
    Value::Object(err.clone())
}

/// The `field` of each entry of an error's `fields`.
pub fn error_fields(err: &Value) -> Vec<String> {
    err["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 200 and returns the body.
#[track_caller]
pub fn ok(reply: (u16, Value)) -> Value {
    assert_eq!(reply.0, 200, "status; body: {}", reply.1);
    reply.1
}

/// The values of column `name` of an open reply.
#[track_caller]
pub fn column(open: &Value, name: &str) -> Vec<Value> {
    let fields = open["fields"].as_array().unwrap();
    let i = fields
        .iter()
        .position(|f| f == name)
        .unwrap_or_else(|| panic!("no column {name} in {open}"));
    open["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[i].clone())
        .collect()
}

/// The integers of column `name` of an open reply.
#[track_caller]
pub fn ints(open: &Value, name: &str) -> Vec<i64> {
    column(open, name)
        .iter()
        .map(|v| v.as_i64().unwrap_or_else(|| panic!("{v} in {open}")))
        .collect()
}

/// The ids of an open of `item` with `params` (plus `fields: ["id"]` unless given, ordered
/// by id unless an order is given), sorted.
#[track_caller]
pub fn ids(c: &Client, item: &str, mut params: Value) -> Vec<i64> {
    if params.get("fields").is_none() {
        params["fields"] = json!(["id"]);
    }
    let mut out = ints(&ok(c.open(item, &params)), "id");
    out.sort_unstable();
    out
}

/// Applies and returns the new id of each top-level change.
#[track_caller]
pub fn apply_ids(c: &Client, item: &str, changes: Value) -> Vec<i64> {
    let reply = ok(c.apply(item, &json!({ "changes": changes })));
    reply["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

/// Inserts rows of `item` with these values; returns their ids.
#[track_caller]
pub fn insert(c: &Client, item: &str, rows: &[Value]) -> Vec<i64> {
    let changes: Vec<Value> = rows
        .iter()
        .map(|v| json!({"op": "insert", "values": v}))
        .collect();
    apply_ids(c, item, Value::Array(changes))
}

/// The demo's data for the open tests. Ids are those of a fresh database, in insert order.
///
/// | track | name | album (artist) | media | genre | composer | ms | price |
/// |---|---|---|---|---|---|---|---|
/// | 1 | Put The Finger On You | 1 For Those About To Rock (AC/DC) | 1 | Rock | Angus Young, Malcolm Young | 205662 | 0.99 |
/// | 2 | Balls to the Wall | 2 Balls to the Wall (Accept) | 2 | Metal | — | 342562 | 0.99 |
/// | 3 | Fast As a Shark | 3 Restless and Wild (Accept) | 2 | Metal | F. Baltes, S. Kaufman | 230619 | 0.99 |
/// | 4 | Restless and Wild | 3 Restless and Wild (Accept) | 4 | — | F. Baltes, S. Kaufman | 252051 | 0.99 |
/// | 5 | Walk On Water | 4 Big Ones (Aerosmith) | 1 | Blues | Steven Tyler, Joe Perry | — | 1.99 |
/// | 6 | Love In An Elevator (soft-deleted) | 4 Big Ones (Aerosmith) | 5 | Rock | Steven Tyler, Joe Perry | 321828 | 1.99 |
///
/// Customers 1 Gonçalves (Luís, São José dos Campos, Brazil), 2 Köhler (Leonie, Stuttgart,
/// Germany), 3 Tremblay (François, Montréal, Canada). Invoices: 1 of customer 1 on
/// 2021-01-01 with lines (track 1 × 2, track 2 × 1); 2 of customer 2 on 2021-02-01 with lines
/// (track 3 × 1, track 5 × 4); 3 of customer 1 on 2021-03-01, paid, with line (track 1 × 3),
/// soft-deleted with its line.
#[rustfmt::skip]
pub fn seed_demo(c: &Client) {
    insert(c, "artists", &[json!({"name": "AC/DC"}), json!({"name": "Accept"}), json!({"name": "Aerosmith"})]);
    insert(c, "albums", &[
        json!({"title": "For Those About To Rock", "artist": 1}),
        json!({"title": "Balls to the Wall", "artist": 2}),
        json!({"title": "Restless and Wild", "artist": 2}),
        json!({"title": "Big Ones", "artist": 3}),
    ]);
    insert(c, "genres", &[json!({"name": "Rock"}), json!({"name": "Metal"}), json!({"name": "Blues"})]);
    let t = |name: &str, album: i64, media: i64, genre: Value, composer: Value, ms: Value| {
        let price = if album == 4 { 1.99 } else { 0.99 };
        json!({"name": name, "album": album, "media_type": media, "genre": genre,
               "composer": composer, "milliseconds": ms, "unitprice": price})
    };
    let (young, baltes, tyler) = (
        json!("Angus Young, Malcolm Young"),
        json!("F. Baltes, S. Kaufman"),
        json!("Steven Tyler, Joe Perry"),
    );
    let none = Value::Null;
    insert(c, "tracks", &[
        t("Put The Finger On You", 1, 1, json!(1), young,          json!(205662)),
        t("Balls to the Wall",     2, 2, json!(2), none.clone(),   json!(342562)),
        t("Fast As a Shark",       3, 2, json!(2), baltes.clone(), json!(230619)),
        t("Restless and Wild",     3, 4, none.clone(), baltes,     json!(252051)),
        t("Walk On Water",         4, 1, json!(3), tyler.clone(),  none),
        t("Love In An Elevator",   4, 5, json!(1), tyler,          json!(321828)),
    ]);
    insert(c, "customers", &[
        json!({"lastname": "Gonçalves", "firstname": "Luís", "city": "São José dos Campos", "country": "Brazil"}),
        json!({"lastname": "Köhler", "firstname": "Leonie", "city": "Stuttgart", "country": "Germany"}),
        json!({"lastname": "Tremblay", "firstname": "François", "city": "Montréal", "country": "Canada"}),
    ]);
    let line = |track: i64, quantity: i64, price: f64| {
        json!({"op": "insert", "values": {"track": track, "quantity": quantity, "unitprice": price}})
    };
    let invoice = |customer: i64, date: &str, paid: bool, lines: Vec<Value>| {
        json!({"op": "insert", "values": {"customer": customer, "invoice_date": date, "paid": paid},
               "details": {"invoice_table": lines}})
    };
    apply_ids(c, "invoices", json!([
        invoice(1, "2021-01-01", false, vec![line(1, 2, 0.99), line(2, 1, 0.99)]),
        invoice(2, "2021-02-01", false, vec![line(3, 1, 0.99), line(5, 4, 1.99)]),
        invoice(1, "2021-03-01", true, vec![line(1, 3, 0.99)]),
    ]));
    apply_ids(c, "invoices", json!([{"op": "delete", "id": 3}]));
    apply_ids(c, "tracks", json!([{"op": "delete", "id": 6}]));
}

/// A demo server with [`seed_demo`]'s data.
pub fn demo() -> (TestServer, Client) {
    let server = TestServer::template("demo");
    let c = server.client();
    seed_demo(&c);
    (server, c)
}
