//! Schema introspection and migration on SQLite.
