//! The query builder: the only code that writes SQL for items.
//!
//! Architecture invariants kept here:
//! - identifiers come only from the checked metadata (`Ident`), aliases only from this module;
//! - every value from a request, a module or the metadata is a bound parameter (IN lists,
//!   keys, LIMIT and OFFSET included); the only literals are this module's own constants
//!   (`0`/`1` of the soft-delete flag, `1=0`, `1=1`);
//! - every statement that reads or changes an item's rows takes its row predicate (soft-delete
//!   flag, detail link, tenant) from [`scope`], so no path can forget it;
//! - every IN list of keys the engine builds is a [`Keys`], which only [`Keys::chunks`] makes:
//!   at most [`KEYS_PER_STATEMENT`] keys per statement, however many rows a request names;
//! - the rows a calculated field aggregates are held to the filters [`CalcFilters`] carries
//!   (what the aggregated item's `on_open` adds for the session), as well as to the scope.

mod scope;
mod select;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scope;

pub use scope::{KEYS_PER_STATEMENT, Keys, Link, RowScope, Under};
pub use select::{
    CalcFilters, Column, ColumnKind, Select, calculated_items, calculated_items_in, columns,
    key_in, select,
};
pub use write::{
    Where, count_rows, delete_row, delete_rows, delete_under, insert, key_taken, lookup_exists,
    select_keys, select_rows, select_stored, set_null, update,
};
