//! The scripting seam: where server modules (Python, in `jamrs-python`) plug into open and
//! apply. The engine calls these at Jam.py's event points, in Jam.py's order; every method
//! has a default that does nothing, so the engine runs the same without scripts.
//!
//! Firing order and transaction caveats:
//! - `on_open` runs before the params are checked; it may change them (as Jam.py handlers
//!   append to `params['__filters']`) or answer the open itself. It runs on the reader
//!   connection, outside any transaction.
//! - `on_apply` runs inside the apply transaction after the stored rows of every update and
//!   delete were read (so `old_value` comes from the database); it may change the delta or
//!   answer the apply itself. An error rolls everything back.
//! - `before_apply_record` / `after_apply_record` run per record, inside the transaction,
//!   for the top item and every detail level; `false` from `before_apply_record` skips the
//!   record and its details.

use jamrs_core::Result;
use jamrs_core::model::Item;
use jamrs_core::query::OpenParams;

use crate::conn::Conn;
use crate::engine::{ApplyResult, Delta, OpenResult, Record};

pub trait Hooks: Send + Sync {
    fn on_open(
        &self,
        _conn: &mut dyn Conn,
        _item: &Item,
        _params: &mut OpenParams,
    ) -> Result<Option<OpenResult>> {
        Ok(None)
    }

    fn on_apply(
        &self,
        _conn: &mut dyn Conn,
        _item: &Item,
        _delta: &mut Delta,
    ) -> Result<Option<ApplyResult>> {
        Ok(None)
    }

    fn before_apply_record(
        &self,
        _conn: &mut dyn Conn,
        _item: &Item,
        _record: &mut Record,
    ) -> Result<bool> {
        Ok(true)
    }

    fn after_apply_record(
        &self,
        _conn: &mut dyn Conn,
        _item: &Item,
        _record: &Record,
    ) -> Result<()> {
        Ok(())
    }
}

/// No server modules.
pub struct NoHooks;

impl Hooks for NoHooks {}
