//! jamrs-core: the domain of a jamrs application.
//!
//! Owns the application model ([`model::Task`] and its items, fields, filters, details), the
//! project files that describe it ([`project`]), the typed requests the engine executes
//! ([`query::OpenQuery`], [`delta::Change`]) and the one [`Error`] type.
//!
//! Must not know: HTTP (status codes, wire envelopes), SQL text, database drivers, Python.

pub mod access;
pub mod delta;
pub mod error;
pub mod files;
pub mod ident;
pub mod jampy;
pub mod key;
pub mod layout;
pub mod model;
pub mod params;
pub mod project;
pub mod query;
pub mod report;
pub mod session;
pub mod types;
pub mod values;

pub use access::{Access, Privileges};
pub use error::{Error, FieldError, Kind, Result};
pub use ident::Ident;
pub use key::Key;
pub use model::{FieldId, ItemId, ReportId, Task};
pub use types::{Agg, FieldType, FilterOp, Value};
