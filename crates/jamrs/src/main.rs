//! The `jamrs` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jamrs::app::{self, RunOptions};
use jamrs::config::{self, Overrides};
use jamrs::users::{self, NewUser};
use jamrs::{migrate, templates};

/// mimalloc instead of the system's malloc: a request allocates many small values on a
/// database thread and frees them on a network thread, which glibc's allocator handles
/// slowly (its malloc and free were a fifth of the server's time in a profile of a small open).
/// `.cargo/config.toml` builds it without eager arena commits, which kept memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "jamrs",
    version,
    about = "A server for Jam.py-style database web applications",
    long_about = "jamrs serves an application described as metadata (a task of items with fields, \
                  filters, lookups and details) as a JSON API, on an embedded SQLite database.\n\n\
                  Start with `jamrs new myapp` and `jamrs run myapp`.\n\n\
                  Settings in jamrs.toml can be overridden by the environment variables \
                  JAMRS_SERVER_BIND, JAMRS_SERVER_MAX_BODY_BYTES, JAMRS_DATABASE_PATH, \
                  JAMRS_DATABASE_URL and JAMRS_MAX_LIMIT. Logging follows RUST_LOG (default: info)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Use this PostgreSQL database (postgres://user@host:port/database) instead of the
    /// project's SQLite file (overrides [database] url and JAMRS_DATABASE_URL)
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new project that runs at once
    New {
        /// The folder to create (must not exist or be empty)
        dir: PathBuf,
        /// Which starter to copy
        #[arg(long, default_value = "notes", value_parser = templates::NAMES)]
        template: String,
    },
    /// Serve a project: migrate its database, then answer HTTP
    Run {
        /// The project folder
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides server.bind)
        #[arg(long)]
        bind: Option<String>,
        /// Also apply schema changes that drop or retype columns or tables
        #[arg(long)]
        allow_destructive: bool,
        /// Development mode: reload server modules when their files change
        #[arg(long)]
        dev: bool,
    },
    /// Validate a project and list the schema changes its database needs
    Check {
        /// The project folder
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Manage the users who can log in
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Bring the database schema in line with the metadata
    Migrate {
        /// The project folder
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print the SQL without running it
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: print the DDL a Citus cluster needs (tables distributed by the
        /// tenant column), never run by jamrs (docs/scaling.md)
        #[arg(long, requires = "dry_run")]
        citus: bool,
        /// Also apply changes that drop or retype columns or tables
        #[arg(long)]
        allow_destructive: bool,
    },
    /// Make a jamrs project of a Jam.py project (v5 or v7), with a report (IMPORT.md)
    Import {
        /// The Jam.py project folder (with admin.sqlite), or a Builder export .zip
        source: PathBuf,
        /// The new project's folder (must not exist)
        dir: PathBuf,
        /// Copy the data database into the new project instead of serving it where it is
        #[arg(long)]
        copy_data: bool,
        /// Carry Jam.py's passwords (plain text in its admin.sqlite) as argon2id hashes;
        /// without it, imported users get a password with `jamrs user passwd`
        #[arg(long)]
        passwords: bool,
    },
    /// Describe an existing table as an item (not managed: served as it is, never migrated)
    ImportTable {
        /// The table's name (in any case)
        table: String,
        /// The SQLite file (default: the project's database)
        #[arg(long)]
        db: Option<PathBuf>,
        /// The item's name (default: the table's, as an identifier)
        #[arg(long)]
        name: Option<String>,
        /// Write items/<name>.toml into this project and add the item to its menu; without
        /// it, the item file is printed
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; prints a generated password unless --password-stdin is given
    Add {
        /// The login name (case-insensitive)
        login: String,
        /// The user's role (a role name from jamrs.toml)
        #[arg(long)]
        role: String,
        /// The name shown in the application (default: the login)
        #[arg(long, default_value = "")]
        name: String,
        /// The user's tenant (organisation) id, for tenancy by tenant_id
        #[arg(long)]
        tenant: Option<i64>,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
        /// The project folder
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Set a new password (generated unless --password-stdin); ends the user's sessions
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// List the users
    List {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Disable a user: they cannot log in, and their sessions end at once
    Disable {
        login: String,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Enable a disabled user again
    Enable {
        login: String,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

fn read_password(from_stdin: bool) -> Result<Option<String>, String> {
    if !from_stdin {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

fn print_outcome(o: users::Outcome) {
    println!("{}", o.message);
    if let Some(p) = o.password {
        println!("Password: {p}");
        println!("(shown once; keep it somewhere safe)");
    }
}

fn print_first_user(password: &str, dir: &std::path::Path) {
    println!("The first user is \"admin\". Password: {password}");
    println!(
        "(shown once; change it with `jamrs user passwd admin --dir {}`)",
        dir.display()
    );
}

fn user_command(command: UserCommand, overrides: &Overrides) -> Result<(), String> {
    let project = |dir: &std::path::Path| load(dir, overrides);
    match command {
        UserCommand::Add {
            login,
            role,
            name,
            tenant,
            password_stdin,
            dir,
        } => {
            let task = project(&dir)?;
            let password = read_password(password_stdin)?;
            let outcome = users::add(
                &task,
                NewUser {
                    login: &login,
                    role: &role,
                    name: &name,
                    tenant_id: tenant,
                    password,
                },
            )
            .map_err(|e| e.message)?;
            print_outcome(outcome);
        }
        UserCommand::Passwd {
            login,
            password_stdin,
            dir,
        } => {
            let task = project(&dir)?;
            let password = read_password(password_stdin)?;
            print_outcome(users::passwd(&task, &login, password).map_err(|e| e.message)?);
        }
        UserCommand::List { dir } => {
            let task = project(&dir)?;
            print!("{}", users::list(&task).map_err(|e| e.message)?);
        }
        UserCommand::Disable { login, dir } => {
            let task = project(&dir)?;
            print_outcome(users::set_active(&task, &login, false).map_err(|e| e.message)?);
        }
        UserCommand::Enable { login, dir } => {
            let task = project(&dir)?;
            print_outcome(users::set_active(&task, &login, true).map_err(|e| e.message)?);
        }
    }
    Ok(())
}

/// `jamrs import-table`: prints the item, or writes it into a project.
fn import_table(
    table: &str,
    db: Option<PathBuf>,
    name: Option<String>,
    dir: Option<PathBuf>,
) -> Result<(), String> {
    use jamrs_core::project::{GroupFile, ITEMS_DIR, ProjectFiles};
    let files = match &dir {
        Some(d) => Some(ProjectFiles::read(d).map_err(|e| e.to_string())?),
        None => None,
    };
    let db = match (db, &files, &dir) {
        (Some(db), _, _) => db,
        (None, Some(f), Some(d)) => {
            let p = f
                .task
                .database
                .as_ref()
                .and_then(|x| x.path.clone())
                .unwrap_or_else(|| format!("data/{}.sqlite", f.task.name));
            d.join(p)
        }
        _ => return Err("name the database with --db, or a project with --dir".into()),
    };
    let (item, notes) = jamrs_import::table::describe(&db, table)?;
    let name = name.unwrap_or_else(|| jamrs_import::table::item_name(table));
    jamrs_core::Ident::parse(&name).map_err(|e| format!("--name: {e}"))?;
    for n in &notes {
        eprintln!("jamrs import-table: {n}");
    }
    let text = ProjectFiles::item_text(&item).map_err(|e| e.to_string())?;
    let (Some(dir), Some(mut files)) = (dir, files) else {
        print!("{text}");
        return Ok(());
    };
    let path = dir.join(ITEMS_DIR).join(format!("{name}.toml"));
    if path.exists() || files.items.iter().any(|(n, _)| n == &name) {
        return Err(format!("{} exists; choose another --name", path.display()));
    }
    match files.task.groups.iter_mut().find(|g| g.name == "imported") {
        Some(g) => g.items.push(name.clone()),
        None => files.task.groups.push(GroupFile {
            name: "imported".into(),
            caption: Some("Imported".into()),
            visible: None,
            items: vec![name.clone()],
        }),
    }
    files.items.push((name.clone(), item));
    files
        .save(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    println!(
        "Wrote {} (managed = false: served as it is, never migrated) and added it to the group \"imported\" in jamrs.toml.",
        path.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Run { .. }) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal (they cost time and clutter log files).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("jamrs: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn load(dir: &std::path::Path, overrides: &Overrides) -> Result<jamrs_core::Task, String> {
    config::load_project(dir, overrides, &config::process_env).map_err(|e| {
        if e.errors.len() == 1 {
            format!("{} is not a valid project: {}", dir.display(), e.errors[0])
        } else {
            format!(
                "{} is not a valid project ({} problems):\n  {}",
                dir.display(),
                e.errors.len(),
                e.errors.join("\n  ")
            )
        }
    })
}

fn run(cli: Cli) -> Result<(), String> {
    let url = cli.database_url;
    let overrides = || Overrides {
        bind: None,
        database_url: url.clone(),
    };
    match cli.command {
        Command::New { dir, template } => {
            templates::create(&dir, &template).map_err(|e| e.to_string())?;
            if let Some(url) = &url {
                // The new project keeps its database: `jamrs run` needs no flag.
                templates::use_database_url(&dir, url).map_err(|e| e.to_string())?;
            }
            println!("Created {} from the {template} template.", dir.display());
            let task = load(&dir, &overrides())?;
            migrate::at_start(&task, false).map_err(|e| e.message)?;
            if template == "demo" {
                let rows = jamrs::demo_data::seed(&task).map_err(|e| e.message)?;
                println!("Filled the music store with {rows} rows of made-up data.");
            }
            if let Some(password) = users::ensure_first_user(&task).map_err(|e| e.message)? {
                print_first_user(&password, &dir);
            }
            println!("Run it with:  jamrs run {}", dir.display());
            Ok(())
        }
        Command::User { command } => user_command(command, &overrides()),
        Command::Import {
            source,
            dir,
            copy_data,
            passwords,
        } => {
            let report = jamrs_import::import(
                &source,
                &dir,
                &jamrs_import::Options {
                    copy_data,
                    carry_passwords: passwords,
                },
                &mut |line| eprintln!("jamrs import: {line}"),
            )?;
            print!("{}", report.summary());
            println!(
                "Created {} (report: {}). Check it with `jamrs check {0}`, serve it with `jamrs run {0}`.",
                dir.display(),
                dir.join("IMPORT.md").display()
            );
            Ok(())
        }
        Command::ImportTable {
            table,
            db,
            name,
            dir,
        } => import_table(&table, db, name, dir),
        Command::Check { dir } => {
            let task = load(&dir, &overrides())?;
            let report = migrate::check(&task).map_err(|e| e.message)?;
            print!("{report}");
            Ok(())
        }
        Command::Migrate {
            dir,
            dry_run,
            citus,
            allow_destructive,
        } => {
            let task = load(&dir, &overrides())?;
            if citus {
                let sql = jamrs_postgres::migrate::citus_sql(&task).map_err(|e| e.message)?;
                print!("{sql}");
                return Ok(());
            }
            let report =
                migrate::migrate(&task, dry_run, allow_destructive).map_err(|e| e.message)?;
            print!("{report}");
            Ok(())
        }
        Command::Run {
            dir,
            bind,
            allow_destructive,
            dev,
        } => {
            let task = load(
                &dir,
                &Overrides {
                    bind,
                    database_url: url.clone(),
                },
            )?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(async move {
                let caption = task.caption.clone();
                let first_user = task.clone();
                let server = app::start(
                    task,
                    &RunOptions {
                        allow_destructive,
                        dev,
                    },
                )
                .await
                .map_err(|e| e.message)?;
                // A project run for the first time (e.g. straight from git) gets its
                // administrator here, as `jamrs new` would have made it.
                if let Some(password) =
                    users::ensure_first_user(&first_user).map_err(|e| e.message)?
                {
                    print_first_user(&password, &dir);
                }
                println!(
                    "jamrs: serving \"{caption}\" at {}/ (database {}). Press Ctrl-C to stop.",
                    server.url(),
                    server.database.describe()
                );
                server
                    .run_until_signal()
                    .await
                    .map_err(|e| format!("server error: {e}"))
            })
        }
    }
}
