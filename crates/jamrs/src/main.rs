//! The `jamrs` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jamrs::app::{self, RunOptions};
use jamrs::config::{self, Overrides};
use jamrs::{migrate, templates};

#[derive(Parser)]
#[command(
    name = "jamrs",
    version,
    about = "A server for Jam.py-style database web applications",
    long_about = "jamrs serves an application described as metadata (a task of items with fields, \
                  filters, lookups and details) as a JSON API, on an embedded SQLite database.\n\n\
                  Start with `jamrs new myapp` and `jamrs run myapp`.\n\n\
                  Settings in jamrs.toml can be overridden by the environment variables \
                  JAMRS_SERVER_BIND, JAMRS_SERVER_MAX_BODY_BYTES, JAMRS_DATABASE_PATH and \
                  JAMRS_MAX_LIMIT. Logging follows RUST_LOG (default: info)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    },
    /// Validate a project and list the schema changes its database needs
    Check {
        /// The project folder
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Bring the database schema in line with the metadata
    Migrate {
        /// The project folder
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print the SQL without running it
        #[arg(long)]
        dry_run: bool,
        /// Also apply changes that drop or retype columns or tables
        #[arg(long)]
        allow_destructive: bool,
    },
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
    match cli.command {
        Command::New { dir, template } => {
            templates::create(&dir, &template).map_err(|e| e.to_string())?;
            println!("Created {} from the {template} template.", dir.display());
            println!("Run it with:  jamrs run {}", dir.display());
            Ok(())
        }
        Command::Check { dir } => {
            let task = load(&dir, &Overrides::default())?;
            let report = migrate::check(&task).map_err(|e| e.message)?;
            print!("{report}");
            Ok(())
        }
        Command::Migrate {
            dir,
            dry_run,
            allow_destructive,
        } => {
            let task = load(&dir, &Overrides::default())?;
            let report =
                migrate::migrate(&task, dry_run, allow_destructive).map_err(|e| e.message)?;
            print!("{report}");
            Ok(())
        }
        Command::Run {
            dir,
            bind,
            allow_destructive,
        } => {
            let task = load(&dir, &Overrides { bind })?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(async move {
                let caption = task.caption.clone();
                let server = app::start(task, &RunOptions { allow_destructive })
                    .await
                    .map_err(|e| e.message)?;
                println!(
                    "jamrs: serving \"{caption}\" at {}/ (database {}). Press Ctrl-C to stop.",
                    server.url(),
                    server.database.display()
                );
                server
                    .run_until_signal()
                    .await
                    .map_err(|e| format!("server error: {e}"))
            })
        }
    }
}
