//! jamrs-reports: the documents jamrs writes.
//!
//! - Jam.py's report templates: a LibreOffice spreadsheet (`.ods`) cut into bands by the names
//!   in column A, with `%(name)s` placeholders ([`Template`]), printed band by band into a new
//!   `.ods` ([`OdsWriter`]), with every value escaped and typed (a value never becomes markup
//!   or a formula).
//! - Converting a document with LibreOffice (`soffice --headless --convert-to`): a small pool
//!   of workers, each with a private profile, a timeout and the process group killed on it
//!   ([`Converter`]).
//! - Writing rows to CSV and XLSX in bounded memory ([`export`]).
//!
//! Must not know: HTTP, SQL, Python, the project's metadata. Values come in as [`Cell`]s.

mod cell;
pub mod convert;
pub mod export;
mod ods;
pub mod read;
mod template;
mod xml;

pub use cell::{Cell, float_text, is_date, is_datetime};
pub use convert::{Converter, Format};
pub use ods::{MAX_REPORT_BYTES, OdsWriter, Printer, column_number};
pub use template::{Band, Template};

/// What can go wrong writing a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template file is missing, not a spreadsheet, or not a template jamrs can print.
    #[error("{0}")]
    Template(String),
    /// The report's code asked for something the template cannot do (an unknown band, …).
    #[error("{0}")]
    Report(String),
    /// LibreOffice is not installed, failed, or took too long.
    #[error("{0}")]
    Convert(String),
    /// Writing the output failed (disk full, …).
    #[error("{0}")]
    Io(String),
}

impl Error {
    pub fn message(&self) -> &str {
        match self {
            Error::Template(m) | Error::Report(m) | Error::Convert(m) | Error::Io(m) => m,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io(e: impl std::fmt::Display) -> Error {
    Error::Io(e.to_string())
}
