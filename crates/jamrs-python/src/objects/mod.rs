//! The Python objects of Jam.py's server API.

pub mod dataset;
pub mod delta;
pub mod error;
pub mod item;
pub mod report;

pub use delta::{PyApplyResult, PyDelta, PyField, PyRecord};
pub use error::{EngineError, to_py_err};
pub use item::{AbortException, PyConnection, PyConsts, PyFieldDef, PyItem, PyTask};
