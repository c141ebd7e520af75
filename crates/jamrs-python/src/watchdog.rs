//! Interrupting a handler that runs too long.
//!
//! CPython has no sandbox, so a `while True: pass` must be stopped from outside: a watchdog
//! thread raises [`ModuleTimeout`] in the handler's thread with `PyThreadState_SetAsyncExc` once
//! its deadline passes, and again every 100 ms until the handler returns. It derives from
//! `BaseException`, as `KeyboardInterrupt` does, so the usual `except Exception:` does not
//! swallow it. The exception surfaces at the handler's next bytecode, unwinds it (`finally`
//! blocks run), and the request fails as `module_error`; the server keeps serving. The
//! registration and the signal share one lock, so a handler that has returned is never
//! signalled, and a signal that arrived too late to be seen is cleared before the thread runs
//! Python for anyone else.

use std::collections::HashMap;
use std::os::raw::c_long;
use std::sync::{Arc, Condvar, Mutex};
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

#[derive(Default)]
struct Calls {
    /// Python thread ident → (deadline or next signal, signalled).
    running: HashMap<c_long, (Instant, bool)>,
}

pub struct Watchdog {
    calls: Arc<(Mutex<Calls>, Condvar)>,
}

thread_local! {
    static IDENT: std::cell::Cell<Option<c_long>> = const { std::cell::Cell::new(None) };
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
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
        let calls: Arc<(Mutex<Calls>, Condvar)> = Arc::default();
        let shared = calls.clone();
        let spawned = std::thread::Builder::new()
            .name("jamrs-python-watchdog".into())
            .spawn(move || watch(&shared));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the server-module watchdog; long handlers will not be stopped");
        }
        Watchdog { calls }
    }

    /// Runs `f` (a handler call) with a deadline `limit` away. Nested calls keep the outermost
    /// deadline. Returns `f`'s result and whether the watchdog stopped it.
    pub fn guard<R>(&self, py: Python<'_>, limit: Duration, f: impl FnOnce() -> R) -> (R, bool) {
        let depth = DEPTH.with(|d| {
            let v = d.get();
            d.set(v + 1);
            v
        });
        let id = if depth == 0 { ident(py).ok() } else { None };
        // The registry lock is only ever taken without the GIL: the watchdog holds it while it
        // waits for the GIL, so taking it with the GIL held could deadlock.
        let calls = &self.calls;
        if let Some(id) = id {
            py.detach(|| {
                if let Ok(mut c) = calls.0.lock() {
                    c.running.insert(id, (Instant::now() + limit, false));
                    calls.1.notify_one();
                }
            });
        }
        let out = f();
        let stopped = match id {
            Some(id) => py.detach(|| {
                calls
                    .0
                    .lock()
                    .ok()
                    .and_then(|mut c| c.running.remove(&id))
                    .is_some_and(|(_, signalled)| signalled)
            }),
            None => false,
        };
        if let (Some(id), true) = (id, stopped) {
            clear_pending(id);
        }
        DEPTH.with(|d| d.set(depth));
        (out, stopped)
    }
}

fn watch(calls: &Arc<(Mutex<Calls>, Condvar)>) {
    let (lock, wake) = &**calls;
    let Ok(mut c) = lock.lock() else { return };
    loop {
        let now = Instant::now();
        let due: Vec<c_long> = c
            .running
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            // Taking the GIL here waits for the handler's thread to yield it, which CPython
            // makes every switch interval (5 ms). The lock is held meanwhile, so the handler
            // cannot deregister in between.
            Python::attach(|py| raise_timeout(py, id));
            if let Some(entry) = c.running.get_mut(&id) {
                entry.1 = true;
                // A handler that catches the exception anyway (a bare `except:`) and carries
                // on is signalled again until it returns.
                entry.0 = Instant::now() + RESIGNAL;
            }
        }
        let next = c.running.values().map(|(d, _)| *d).min();
        let wait = next.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        c = match wake.wait_timeout(c, wait) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
    }
}

#[allow(unsafe_code)]
fn raise_timeout(py: Python<'_>, id: c_long) {
    let exc = py.get_type::<ModuleTimeout>();
    // SAFETY: called with the GIL held (`py`); `exc` is a live type object for the whole call;
    // `id` names a thread that is inside a registered handler call (we hold the registry lock,
    // so it cannot have left it), and SetAsyncExc only flags that thread's state.
    unsafe {
        pyo3::ffi::PyThreadState_SetAsyncExc(id, exc.as_ptr());
    }
}

#[allow(unsafe_code)]
fn clear_pending(id: c_long) {
    Python::attach(|_py| {
        // SAFETY: the GIL is held; a NULL exception clears a pending asynchronous exception of
        // thread `id` (this thread), so it cannot fire in the next handler it runs.
        unsafe {
            pyo3::ffi::PyThreadState_SetAsyncExc(id, std::ptr::null_mut());
        }
    });
}
