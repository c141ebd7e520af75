//! Interrupting a handler that runs too long.
//!
//! CPython has no sandbox, so a `while True: pass` must be stopped from outside: a watchdog
//! thread raises [`ModuleTimeout`] in the handler's thread with `PyThreadState_SetAsyncExc` once
//! its deadline passes, and again every 100 ms until the handler returns. It derives from
//! `BaseException`, as `KeyboardInterrupt` does, so the usual `except Exception:` does not
//! swallow it. The exception surfaces at the handler's next bytecode, unwinds it (`finally`
//! blocks run), and the request fails as `module_error`; the server keeps serving.
//!
//! The watchdog polls a small table of running handlers (every 25 ms); a handler registers and
//! deregisters itself with two short lock operations and no wake-up, so a handler call costs
//! nearly nothing extra. The watchdog takes the interpreter lock before it re-checks and signals
//! a handler, and the handler's thread holds the interpreter lock whenever it registers or
//! deregisters: so a handler that has returned is never signalled, and a signal that arrived
//! too late to be seen is cleared before the thread runs Python for anyone else.

use std::collections::HashMap;
use std::os::raw::c_long;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

pyo3::create_exception!(
    jamrs,
    ModuleTimeout,
    pyo3::exceptions::PyBaseException,
    "Raised inside a handler that ran longer than module_timeout (not an Exception, so that \
     `except Exception:` does not swallow it)."
);

/// How often a handler past its deadline is signalled again.
const RESIGNAL: Duration = Duration::from_millis(100);

/// How often the watchdog looks at the running handlers.
const POLL: Duration = Duration::from_millis(25);

/// One running outermost handler call.
#[derive(Clone, Copy)]
struct Running {
    /// Distinguishes this call from a later call on the same thread.
    call: u64,
    /// When to signal it (first the deadline, then every `RESIGNAL`).
    due: Instant,
    signalled: bool,
}

/// Python thread ident → its running call. The lock is never held while waiting for the
/// interpreter lock.
type Table = Mutex<HashMap<c_long, Running>>;

pub struct Watchdog {
    table: Arc<Table>,
}

thread_local! {
    static IDENT: std::cell::Cell<Option<c_long>> = const { std::cell::Cell::new(None) };
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    static CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// This thread's Python ident (`threading.get_ident()`), which `SetAsyncExc` targets.
fn ident(py: Python<'_>) -> PyResult<c_long> {
    if let Some(i) = IDENT.with(|c| c.get()) {
        return Ok(i);
    }
    let raw: u64 = py
        .import("threading")?
        .call_method0("get_ident")?
        .extract()?;
    // CPython keeps the ident as an unsigned long and takes it back as a long.
    let i = raw as c_long;
    IDENT.with(|c| c.set(Some(i)));
    Ok(i)
}

impl Watchdog {
    pub fn start() -> Watchdog {
        let table: Arc<Table> = Arc::default();
        let shared = table.clone();
        let spawned = std::thread::Builder::new()
            .name("jamrs-python-watchdog".into())
            .spawn(move || watch(&shared));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the server-module watchdog; long handlers will not be stopped");
        }
        Watchdog { table }
    }

    /// Runs `f` (a handler call, with the interpreter lock held: `py`) with a deadline `limit`
    /// away. Nested calls keep the outermost deadline. Returns `f`'s result and whether the
    /// watchdog stopped it. The call is deregistered however `f` ends, a panic included
    /// ([`Watched`]).
    pub fn guard<R>(&self, py: Python<'_>, limit: Duration, f: impl FnOnce() -> R) -> (R, bool) {
        let mut watched = self.watch(py, limit);
        let out = f();
        (out, watched.end())
    }

    fn watch<'w, 'py>(&'w self, py: Python<'py>, limit: Duration) -> Watched<'w, 'py> {
        let depth = DEPTH.with(|d| {
            let v = d.get();
            d.set(v + 1);
            v
        });
        let id = if depth == 0 { ident(py).ok() } else { None };
        let call = CALLS.with(|c| {
            let v = c.get().wrapping_add(1);
            c.set(v);
            v
        });
        if let Some(id) = id {
            lock(&self.table).insert(
                id,
                Running {
                    call,
                    due: Instant::now() + limit,
                    signalled: false,
                },
            );
        }
        Watched {
            table: &self.table,
            py,
            id,
            depth,
            stopped: None,
        }
    }
}

/// A registered handler call. Ending it (or dropping it, when a panic unwinds the call)
/// deregisters the call, clears a signal that came too late, and restores the nesting depth:
/// otherwise the thread's next handler would be interrupted by a stale deadline or never
/// watched at all.
struct Watched<'w, 'py> {
    table: &'w Table,
    py: Python<'py>,
    id: Option<c_long>,
    depth: u32,
    /// Set once ended: whether the watchdog had signalled the call.
    stopped: Option<bool>,
}

impl Watched<'_, '_> {
    fn end(&mut self) -> bool {
        if let Some(stopped) = self.stopped {
            return stopped;
        }
        let stopped = match self.id {
            Some(id) => lock(self.table).remove(&id).is_some_and(|r| r.signalled),
            None => false,
        };
        if let (Some(id), true) = (self.id, stopped) {
            clear_pending(self.py, id);
        }
        DEPTH.with(|d| d.set(self.depth));
        self.stopped = Some(stopped);
        stopped
    }
}

impl Drop for Watched<'_, '_> {
    fn drop(&mut self) {
        self.end();
    }
}

/// The table, even if a thread panicked while holding it (its entries stay valid: each is
/// written whole).
fn lock(table: &Table) -> std::sync::MutexGuard<'_, HashMap<c_long, Running>> {
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn watch(table: &Arc<Table>) {
    loop {
        std::thread::sleep(POLL);
        let now = Instant::now();
        let due: Vec<(c_long, u64)> = lock(table)
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(id, r)| (*id, r.call))
            .collect();
        for (id, call) in due {
            // With the interpreter lock held, the handler's thread cannot register or
            // deregister; re-check that the same call is still running, then signal it.
            Python::attach(|py| {
                let mut t = lock(table);
                if let Some(r) = t.get_mut(&id).filter(|r| r.call == call) {
                    raise_timeout(py, id);
                    r.signalled = true;
                    // A handler that catches the exception anyway (a bare `except:`) and
                    // carries on is signalled again until it returns.
                    r.due = Instant::now() + RESIGNAL;
                }
            });
        }
    }
}

#[allow(unsafe_code)]
fn raise_timeout(py: Python<'_>, id: c_long) {
    let exc = py.get_type::<ModuleTimeout>();
    // SAFETY: called with the GIL held (`py`); `exc` is a live type object for the whole call;
    // `id` names a thread that is inside a registered handler call (we hold the GIL and the
    // table lock, so it cannot have left it), and SetAsyncExc only flags that thread's state.
    unsafe {
        pyo3::ffi::PyThreadState_SetAsyncExc(id, exc.as_ptr());
    }
}

#[allow(unsafe_code)]
fn clear_pending(_py: Python<'_>, id: c_long) {
    // SAFETY: the GIL is held (`_py`); a NULL exception clears a pending asynchronous exception
    // of thread `id` (this thread), so it cannot fire in the next handler it runs.
    unsafe {
        pyo3::ffi::PyThreadState_SetAsyncExc(id, std::ptr::null_mut());
    }
}
