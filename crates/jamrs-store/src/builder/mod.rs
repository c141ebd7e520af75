//! The query builder: the only code that writes SQL for items.
//!
//! Architecture invariants kept here:
//! - identifiers come only from the checked metadata (`Ident`), aliases only from this module;
//! - every value from a request, a module or the metadata is a bound parameter (IN lists,
//!   keys, LIMIT and OFFSET included); the only literals are this module's own constants
//!   (`0`/`1` of the soft-delete flag, `1=0`, `1=1`);
//! - every statement that reads or changes an item's rows takes its row predicate (soft-delete
//!   flag, detail link) from [`scope`], so no path can forget it.

mod scope;
mod select;
mod write;

#[cfg(test)]
mod tests;

pub use scope::{Link, RowScope};
pub use select::{Column, ColumnKind, Select, select};
pub use write::{
    delete_rows, insert, lookup_exists, select_keys, select_row, soft_delete_rows, update,
};
