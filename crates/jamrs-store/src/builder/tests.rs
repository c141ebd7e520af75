//! Unit tests of the query builder.
