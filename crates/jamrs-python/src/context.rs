//! What a running handler works with: the request's caller, and the request's connection,
//! lent to Python for the length of the handler call.
//!
//! The engine owns the connection and passes it to hooks as `&mut dyn Conn`, which Python
//! objects cannot hold. So a hook lends it (`Conn::lend`) into a [`Frame`] on a thread-local
//! stack, runs the handler, and takes it back. Objects that need the database (datasets,
//! `apply_delta`, `task.execute`) find the frame of the handler they run in. A frame outlives
//! nothing: once the handler returns the connection is gone from it, so an object stashed
//! away by a module cannot reach the database later.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use jamrs_core::session::Caller;
use jamrs_core::{Access, Error, Result};
use jamrs_store::engine::{Delta, Scope};
use jamrs_store::{Conn, Engine};

use crate::{PythonHooks, Runtime};

type Slot = Arc<Mutex<Option<Box<dyn Conn + Send>>>>;

pub struct Frame {
    pub rt: Arc<Runtime>,
    /// The request's caller, whose rows it sees and how far what the handler's datasets write
    /// is checked (from the engine of the request the handler runs in).
    pub scope: Scope,
    /// The request's hooks with every module's handlers: the reach rule reads their `on_open`
    /// also for datasets made with `handlers=False`.
    pub reach_hooks: PythonHooks,
    /// False for handlers that run outside a client's request (`on_created`, `/ext`): their
    /// `item.session` is `None`.
    pub in_request: bool,
    /// The rights of the request (for `apply_delta`'s results); datasets are unrestricted.
    pub role_access: Option<usize>,
    pub read_only: bool,
    conn: Slot,
    /// The delta of the `on_apply` that is running, for `item.apply_delta`.
    pub delta: RefCell<Option<Delta>>,
    /// Set once `item.apply_delta` has saved the delta: it must not be saved twice.
    pub applied: Cell<bool>,
    /// `item.session` once made: the same dict for the whole handler, as in Jam.py (and the
    /// recipe's handlers read it twice each).
    pub session: RefCell<Option<pyo3::Py<pyo3::types::PyDict>>>,
}

thread_local! {
    static FRAMES: RefCell<Vec<Rc<Frame>>> = const { RefCell::new(Vec::new()) };
}

/// The innermost running handler's frame, if a handler is running on this thread.
pub fn current() -> Option<Rc<Frame>> {
    FRAMES.with(|f| f.borrow().last().cloned())
}

/// Runs `f` with `conn` lent into a new frame; takes the connection back afterwards, whatever
/// `f` did.
pub fn with_frame<R>(
    rt: &Arc<Runtime>,
    engine: &Engine,
    conn: &mut dyn Conn,
    in_request: bool,
    delta: Option<Delta>,
    f: impl FnOnce(&Rc<Frame>) -> R,
) -> Result<(R, Option<Delta>)> {
    let lent = conn.lend()?;
    let frame = Rc::new(Frame {
        rt: rt.clone(),
        scope: engine.scope(),
        reach_hooks: PythonHooks {
            rt: rt.clone(),
            item_handlers: true,
        },
        in_request,
        role_access: engine.access().role,
        read_only: lent.read_only(),
        conn: Arc::new(Mutex::new(Some(lent))),
        delta: RefCell::new(delta),
        applied: Cell::new(false),
        session: RefCell::new(None),
    });
    FRAMES.with(|f| f.borrow_mut().push(frame.clone()));
    let out = f(&frame);
    FRAMES.with(|f| f.borrow_mut().pop());
    let back = frame.conn.lock().map(|mut s| s.take()).ok().flatten();
    match back {
        Some(c) => conn.restore(c),
        None => return Err(Error::internal("a server module kept the connection")),
    }
    let delta = frame.delta.borrow_mut().take();
    Ok((out, delta))
}

impl Frame {
    /// Runs `f` on the frame's connection. Re-entrant: nested handlers lend it on.
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<R>) -> Result<R> {
        let mut boxed = self
            .conn
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| {
                Error::internal(
                    "the database connection is not available here (it is busy, or the handler has ended)",
                )
            })?;
        let out = f(&mut *boxed);
        if let Ok(mut s) = self.conn.lock() {
            *s = Some(boxed);
        }
        out
    }

    /// The caller of the request the handler runs for.
    pub fn caller(&self) -> &Caller {
        self.scope.caller()
    }

    /// An engine for this frame with the rights `access`: the request's caller and tenant; what
    /// it opens is not held to the reach rule, what it writes is when the request is a
    /// client's (`Engine::unchecked` for a write that asks not to be).
    pub fn engine<'a>(&'a self, hooks: &'a PythonHooks, access: &'a Access) -> Engine<'a> {
        Engine::for_server_code(&self.rt.task, hooks, &self.reach_hooks, &self.scope, access)
    }

    /// The hooks to hand to nested engine calls; without `item_handlers` only the task
    /// module's handlers run (Jam.py's `copy(handlers=False)`).
    pub fn hooks(&self, item_handlers: bool) -> PythonHooks {
        PythonHooks {
            rt: self.rt.clone(),
            item_handlers,
        }
    }
}
