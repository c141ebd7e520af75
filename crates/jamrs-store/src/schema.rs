//! Schema planning: the tables, columns and indexes the metadata asks for, compared with what a database has.
