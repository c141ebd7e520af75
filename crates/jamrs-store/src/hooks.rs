//! The scripting seam: where server modules (Python, in `jamrs-python`) plug into open and
//! apply. The engine calls these at Jam.py's event points, in Jam.py's order; every method has
//! a default that does nothing, so the engine runs the same without scripts. Each method gets
//! the [`Engine`] of the request (task, caller, rights) so a handler can call back into it
//! (`item.apply_delta`, server-side datasets) on the same connection.
//!
//! Firing order and transaction caveats:
//! - open: `on_open` (may change the params, as Jam.py handlers append to
//!   `params['__filters']`, or answer the open itself) → `before_open` (may change the params
//!   again; `false` skips the query and answers no rows) → the params are checked and the query
//!   runs → `after_open` (may change the rows). Opens run on a reader connection, outside any
//!   transaction.
//! - apply: the stored rows of every update and delete are read first (so `old_value` comes
//!   from the database), then `on_apply` (may change the delta, or answer the apply itself),
//!   then per record, for the top item and every detail level: `before_apply_record` (`false`
//!   skips the record and its details) → the statement → `after_apply_record`. All of it runs
//!   inside the apply's transaction; an error from any hook rolls everything back.

use jamrs_core::Result;
use jamrs_core::model::{Item, Report};
use jamrs_core::query::OpenParams;
use serde_json::{Map, Value as Json};

use crate::conn::Conn;
use crate::engine::{ApplyResult, Delta, Engine, OpenResult, Record};

/// What a task's `on_login` answered.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginAnswer {
    /// A `user_info` dict, as JSON (checked by `auth::custom_user_info`).
    Accepted(Map<String, Json>),
    /// A false value: the login is refused.
    Refused,
    /// Something that cannot be a `user_info` (not a dict, or a value JSON cannot hold): a
    /// mistake in the module, with what is wrong.
    Invalid(String),
}

pub trait Hooks: Send + Sync {
    fn on_open(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _item: &Item,
        _params: &mut OpenParams,
    ) -> Result<Option<OpenResult>> {
        Ok(None)
    }

    fn before_open(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _item: &Item,
        _params: &mut OpenParams,
    ) -> Result<bool> {
        Ok(true)
    }

    fn after_open(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _item: &Item,
        _params: &OpenParams,
        _result: &mut OpenResult,
    ) -> Result<()> {
        Ok(())
    }

    fn on_apply(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _item: &Item,
        _delta: &mut Delta,
    ) -> Result<Option<ApplyResult>> {
        Ok(None)
    }

    fn before_apply_record(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _item: &Item,
        _record: &mut Record,
        _params: &Map<String, Json>,
    ) -> Result<bool> {
        Ok(true)
    }

    fn after_apply_record(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _item: &Item,
        _record: &Record,
        _params: &Map<String, Json>,
    ) -> Result<()> {
        Ok(())
    }
}

/// Task events outside open and apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    /// `on_created(task)`: once the project is loaded (no session).
    Created,
    /// `on_logout(task, info)`.
    Logout,
    /// `on_ext_request(task, path, params)`: `POST /ext/<path>` on a path the task opts into.
    ExtRequest,
}

/// The events that are not about open or apply; the HTTP layer calls them on a database
/// thread. Defaults: no module, nothing to do.
pub trait Events: Send + Sync {
    /// Runs server function `name` of `item`'s module with JSON `args`; the caller has checked
    /// that the item lists it as callable and that the role may view the item.
    fn call_function(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        item: &Item,
        name: &str,
        _args: &[Json],
    ) -> Result<Json> {
        Err(jamrs_core::Error::not_found(format!(
            "\"{}\" has no server module with a function \"{name}\"",
            item.name
        )))
    }

    /// `on_login(task, form_data, info)`: `None` when the task has no such handler (the
    /// built-in login applies); otherwise what the handler answered. `Err` is an exception it
    /// raised (a refusal, as in Jam.py).
    fn on_login(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _form_data: &Map<String, Json>,
        _info: &Map<String, Json>,
    ) -> Option<Result<LoginAnswer>> {
        None
    }

    /// Runs a report's server module for the caller `engine` is made for: Jam.py's
    /// `on_before_generate`, `on_parsed`, `on_generate` (which prints bands into
    /// `run.printer`) and `on_after_generate`. Default (no module): nothing is printed, as in
    /// Jam.py for a report without `on_generate`.
    fn generate_report(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _report: &Report,
        _run: &mut crate::report::ReportRun<'_>,
    ) -> Result<()> {
        Ok(())
    }

    /// Runs a task event; `None` when the task does not handle it.
    fn task_event(
        &self,
        _engine: &Engine,
        _conn: &mut dyn Conn,
        _event: TaskEvent,
        _args: &[Json],
    ) -> Result<Option<Json>> {
        Ok(None)
    }
}

/// No server modules.
pub struct NoHooks;

impl Hooks for NoHooks {}

impl Events for NoHooks {}
