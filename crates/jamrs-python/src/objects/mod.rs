//! The Python objects of Jam.py's server API.

pub mod dataset;
pub mod delta;
pub mod item;

pub use delta::{PyApplyResult, PyDelta, PyField, PyRecord};
pub use item::{AbortException, PyConnection, PyConsts, PyFieldDef, PyItem, PyTask};
