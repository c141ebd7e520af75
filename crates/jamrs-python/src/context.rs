//! What a running handler works with: the request's caller, and the request's connection,
//! lent to Python for the length of the handler call.
//!
//! The engine owns the connection and passes it to hooks as `&mut dyn Conn`, which Python
//! objects cannot hold. So a hook lends it (`Conn::lend`) into a [`Frame`] on a thread-local
//! stack, runs the handler, and takes it back, however the call ends (a panic included: the
//! lend is a guard that gives the connection back on drop). Objects that need the database (datasets,
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
    FRAMES
        .try_with(|f| f.try_borrow().ok().and_then(|f| f.last().cloned()))
        .ok()
        .flatten()
}

/// The one place a connection is lent to Python and taken back. Dropping it pops the frame
/// and restores the connection, so they come back however the handler call ends: returning,
/// raising, or unwinding from a panic inside a method Python called. Otherwise a panic would
/// leave the connection lent for good: every later job of the thread would fail, and on the
/// writer the open transaction would lock out every other process.
struct Lent<'c> {
    conn: &'c mut dyn Conn,
    frame: Rc<Frame>,
    /// Whether the connection came back (set by the first `give_back`).
    returned: Option<bool>,
}

impl Lent<'_> {
    fn give_back(&mut self) -> bool {
        if let Some(done) = self.returned {
            return done;
        }
        let _ = FRAMES.try_with(|f| {
            if let Ok(mut f) = f.try_borrow_mut()
                && let Some(at) = f.iter().rposition(|x| Rc::ptr_eq(x, &self.frame))
            {
                // Frames above this one belong to calls that have ended with it.
                f.truncate(at);
            }
        });
        let back = match self.frame.conn.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let done = match back {
            Some(c) => {
                self.conn.restore(c);
                true
            }
            None => {
                tracing::error!("the connection lent to a server module did not come back");
                false
            }
        };
        self.returned = Some(done);
        done
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// Runs `f` with `conn` lent into a new frame; takes the connection back afterwards, whatever
/// `f` did (a panic included: see [`Lent`]).
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
    let mut guard = Lent {
        conn,
        frame: frame.clone(),
        returned: None,
    };
    FRAMES.with(|f| f.borrow_mut().push(frame.clone()));
    let out = f(&frame);
    if !guard.give_back() {
        return Err(Error::internal("a server module kept the connection"));
    }
    let delta = frame.delta.try_borrow_mut().ok().and_then(|mut d| d.take());
    Ok((out, delta))
}

/// The connection taken out of a frame's slot by [`Frame::with_conn`]; dropping it puts it back,
/// so a panic in the work done with it does not lose (close) the connection.
struct Taken<'f> {
    slot: &'f Slot,
    conn: Option<Box<dyn Conn + Send>>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            match self.slot.lock() {
                Ok(mut s) => *s = Some(c),
                Err(poisoned) => *poisoned.into_inner() = Some(c),
            }
        }
    }
}

impl Frame {
    /// Runs `f` on the frame's connection. Re-entrant: nested handlers lend it on.
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<R>) -> Result<R> {
        let conn = match self.conn.lock() {
            Ok(mut s) => s.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let mut taken = Taken {
            slot: &self.conn,
            conn: Some(conn.ok_or_else(|| {
                Error::internal(
                    "the database connection is not available here (it is busy, or the handler has ended)",
                )
            })?),
        };
        match taken.conn.as_deref_mut() {
            Some(c) => f(c),
            None => Err(Error::internal(
                "the database connection is not available here",
            )),
        }
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

/// At most this much stack between the outermost call into server code on a thread and a
/// nested one. Handlers nest through the engine (an `on_open` that opens a dataset runs
/// `on_open` again; `display_text` runs `on_field_get_text`, which may read `display_text`),
/// and each level holds Rust frames that Python's recursion limit does not count: a handler
/// that opens its own item would otherwise overflow the database thread's stack and abort the
/// process. Python's own recursion, which Python limits, needs the rest of the stack (the
/// database threads have 8 MiB: `jamrs-sqlite/src/store.rs`).
const MAX_NESTED_STACK: usize = 1 << 20;

/// At most this many nested calls into server code on a thread (a bound that does not depend
/// on the build's frame sizes).
const MAX_NESTED_CALLS: u32 = 64;

thread_local! {
    /// The stack position of the outermost running call into server code, and how many calls
    /// are running.
    static NESTING: Cell<(usize, u32)> = const { Cell::new((0, 0)) };
}

/// One running call into server code; dropping it (however the call ends) leaves the level.
pub struct Nested(());

/// Enters a call into server code, or refuses it when calls nest too deeply (a `module_error`:
/// the module's code calls itself without end).
pub fn nest() -> Result<Nested> {
    let here = stack_position();
    let (base, calls) = NESTING.get();
    if calls == 0 {
        NESTING.set((here, 1));
        return Ok(Nested(()));
    }
    if calls >= MAX_NESTED_CALLS || base.abs_diff(here) > MAX_NESTED_STACK {
        return Err(Error::new(
            jamrs_core::Kind::Module,
            format!(
                "server code nested {calls} handler calls deep and was stopped (a handler that opens its own item, or an on_field_get_text that reads display_text, calls itself without end)"
            ),
        ));
    }
    NESTING.set((base, calls + 1));
    Ok(Nested(()))
}

impl Drop for Nested {
    fn drop(&mut self) {
        let (base, calls) = NESTING.get();
        NESTING.set((base, calls.saturating_sub(1)));
    }
}

/// Where this thread's stack is now (the address of a local; the stack grows down on every
/// platform jamrs builds for, and only distances are used).
#[inline(never)]
fn stack_position() -> usize {
    let here = 0u8;
    std::hint::black_box(&here) as *const u8 as usize
}
