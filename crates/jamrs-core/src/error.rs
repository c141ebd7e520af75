//! The one error type the engine reports to its callers.
//!
//! Every failure a client can cause is an [`Error`] with a [`Kind`] that maps 1:1 to the
//! `code` of the HTTP error contract (`bad_request`, `validation`, …). The HTTP crate owns the
//! mapping to status codes; nothing below it knows about HTTP.

use std::fmt;

/// What went wrong, in the vocabulary of the API's error contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed: unknown field, wrong shape, unknown filter op, limit too big.
    BadRequest,
    /// No valid session.
    Unauthorized,
    /// The session's role may not do this.
    Forbidden,
    /// The item, record or function does not exist (or is not visible).
    NotFound,
    /// The change collides with the stored data (e.g. the row changed or vanished meanwhile).
    Conflict,
    /// Values failed validation; `fields` says which.
    Validation,
    /// A server module raised an exception or called `item.abort`.
    Module,
    /// Too many attempts (login throttling); try again later.
    TooManyRequests,
    /// A bug or an infrastructure failure. The message is logged, never shown to clients.
    Internal,
}

impl Kind {
    /// The `code` string of the error contract.
    pub fn code(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad_request",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not_found",
            Kind::Conflict => "conflict",
            Kind::Validation => "validation",
            Kind::Module => "module_error",
            Kind::TooManyRequests => "too_many_requests",
            Kind::Internal => "internal",
        }
    }
}

/// A message about one field, so a UI can show it beside its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name; for detail rows `detail_name[index].field`.
    pub field: String,
    pub message: String,
}

/// An error with a kind, a human message and, for validation, the fields at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub fields: Vec<FieldError>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }

    /// A bad request that is about one named field (or parameter).
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Error {
            kind: Kind::BadRequest,
            fields: vec![FieldError {
                field: field.into(),
                message: message.clone(),
            }],
            message,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, message)
    }

    /// A validation error listing every field at fault.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Error {
            kind: Kind::Validation,
            message,
            fields,
        }
    }

    /// Names the place in the request the error is about.
    pub fn with_field(mut self, field: &str) -> Self {
        self.fields.push(FieldError {
            field: field.to_string(),
            message: self.message.clone(),
        });
        self
    }

    /// Prefix every field name with `prefix` (used when an error bubbles out of a detail row).
    pub fn within(mut self, prefix: &str) -> Self {
        for f in &mut self.fields {
            f.field = format!("{prefix}.{}", f.field);
        }
        if !self.fields.is_empty() && self.kind == Kind::Validation {
            self.message = format!("{prefix}: {}", self.message);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for Error {}
