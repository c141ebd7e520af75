//! jamrs, the program: command line, configuration and wiring of the crates.
//!
//! Owns what is specific to running a project: reading flags and environment, starting the
//! server, the `new`, `check` and `migrate` commands and the project templates. The logic
//! lives in the library crates; this one only connects them.

pub mod app;
pub mod config;
pub mod database;
pub mod demo_data;
pub mod migrate;
pub mod templates;
pub mod users;
