//! Schema planning: the tables, columns and indexes the metadata asks for ([`DesiredSchema`]),
//! what a database has ([`ActualSchema`], filled by a backend's introspection), and the changes
//! that turn one into the other ([`plan`]).
//!
//! Dialect-neutral: this module compares names and declared types and never talks to a
//! database. Each backend introspects its database into an [`ActualSchema`] and renders the
//! planned [`SchemaChange`]s as its own SQL (SQLite: `jamrs_sqlite::migrate`).
//!
//! The rules the plan follows:
//! - an item's table is created when missing, or renamed from its `rename_from` table when
//!   that exists and the new name does not;
//! - a field's column is added when missing, or renamed from its `rename_from` column when
//!   that exists and the new name does not (when both exist, or the old name is still in
//!   use, nothing is renamed and the old table or column is like any other the metadata no
//!   longer has);
//! - a column whose declared type, primary-key flag, NOT NULL or default differs is changed;
//! - a column the metadata no longer has is dropped;
//! - an index is created when missing or different, and dropped when the metadata no longer
//!   has it (only on tables of items);
//! - a table is dropped only when jamrs created it (it is listed in [`REGISTRY_TABLE`]) and no
//!   item has it any more. Tables whose names start with `jamrs_` or `sqlite_` are never
//!   touched: `Ident::parse` keeps item tables out of those prefixes;
//! - the table of an item that is not managed (`managed = false`: a table jamrs did not make,
//!   such as an imported Jam.py one) is never created, changed, indexed or dropped; it is only
//!   checked ([`unmanaged_problems`]): the table and the columns the item uses must exist,
//!   and columns the item does not know are left alone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use jamrs_core::model::Task;
use jamrs_core::{FieldType, Ident};

use crate::dialect::Dialect;

/// The table where jamrs records the names of the tables it created, so a migration only ever
/// drops tables that jamrs made (never one that a person or another program put in the file).
pub const REGISTRY_TABLE: &str = "jamrs_tables";

/// Table name prefixes that belong to jamrs itself and to the database engine.
const SYSTEM_PREFIXES: [&str; 2] = ["jamrs_", "sqlite_"];

/// True for tables that are never an item's table and never planned for.
pub fn is_system_table(name: &str) -> bool {
    SYSTEM_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The schema the metadata asks for: one table per item, in item order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSchema {
    pub tables: Vec<TableDef>,
}

/// An item's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: Ident,
    /// The item the table belongs to, for messages.
    pub item: Ident,
    /// The table's previous name (the item's `rename_from`).
    pub rename_from: Option<Ident>,
    /// The stored fields' columns, in field order.
    pub columns: Vec<ColumnDef>,
    pub indexes: Vec<IndexDef>,
    /// False for a table jamrs did not make (the item's `managed = false`): never changed.
    pub managed: bool,
}

/// A stored field's column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: Ident,
    pub shape: ColumnShape,
    /// The column's previous name (the field's `rename_from`).
    pub rename_from: Option<Ident>,
}

/// What a migration compares and changes about a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnShape {
    /// The declared type as [`Dialect::column_type`] writes it; for the primary key too,
    /// whose full definition comes from [`Dialect::primary_key_type`].
    pub sql_type: String,
    pub primary_key: bool,
    pub not_null: bool,
    /// The default as SQL text (`0`). Only text written by this module or read back from the
    /// database's catalog, never user input.
    pub default: Option<String>,
}

impl ColumnShape {
    /// True when an existing column of shape `actual` already is what `self` asks for.
    ///
    /// Declared types compare case-insensitively (SQL type names are). NOT NULL and the
    /// default are not compared on the primary key: databases report them differently for
    /// it (SQLite says an `INTEGER PRIMARY KEY` is nullable, PostgreSQL that it is not).
    pub fn is_satisfied_by(&self, actual: &ColumnShape) -> bool {
        if !self.sql_type.eq_ignore_ascii_case(actual.sql_type.trim())
            || self.primary_key != actual.primary_key
        {
            return false;
        }
        self.primary_key || (self.not_null == actual.not_null && self.default == actual.default)
    }
}

impl fmt::Display for ColumnShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ty = if self.sql_type.is_empty() {
            "(no type)"
        } else {
            &self.sql_type
        };
        f.write_str(ty)?;
        if self.primary_key {
            f.write_str(" PRIMARY KEY")?;
        }
        if self.not_null {
            f.write_str(" NOT NULL")?;
        }
        if let Some(d) = &self.default {
            write!(f, " DEFAULT {d}")?;
        }
        Ok(())
    }
}

/// An index the metadata asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: Ident,
    pub columns: Vec<IndexColumn>,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn {
    pub column: Ident,
    pub desc: bool,
}

/// What a database has, as a backend's introspection reports it.
///
/// Names are given as the database compares them: SQLite compares identifiers without regard
/// to ASCII case, so its introspection reports them in lower case, the case of every `Ident`.
/// Tables whose names start with `jamrs_` or `sqlite_` are left out (the registry is read into
/// `registered`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActualSchema {
    pub tables: BTreeMap<String, ActualTable>,
    /// True when the database has the [`REGISTRY_TABLE`].
    pub registry_exists: bool,
    /// The tables the registry says jamrs created.
    pub registered: BTreeSet<String>,
    /// True when the database compares names without regard to ASCII case and reports them
    /// in lower case (SQLite): the metadata's names are then compared in lower case too, so
    /// a column `TITLE` is the column `title`.
    pub fold_case: bool,
}

impl ActualSchema {
    /// `name` as this database compares it.
    pub fn key<'a>(&self, name: &'a str) -> std::borrow::Cow<'a, str> {
        if self.fold_case && name.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(name.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(name)
        }
    }

    /// The table named `name` (as the metadata spells it).
    pub fn table(&self, name: &str) -> Option<&ActualTable> {
        self.tables.get(&*self.key(name))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualTable {
    pub name: String,
    /// In the table's column order.
    pub columns: Vec<ActualColumn>,
    /// Indexes created with CREATE INDEX, sorted by name. The database's own indexes for
    /// UNIQUE and PRIMARY KEY constraints are left out: they come and go with the table.
    pub indexes: Vec<ActualIndex>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualColumn {
    pub name: String,
    pub shape: ColumnShape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualIndex {
    pub name: String,
    /// Key columns in order; `name` is `None` for an expression.
    pub columns: Vec<ActualIndexColumn>,
    pub unique: bool,
    /// True for an index with a WHERE clause. jamrs never makes one, so it never matches an
    /// index of the metadata.
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualIndexColumn {
    pub name: Option<String>,
    pub desc: bool,
}

/// One step of a migration. [`plan`] lists them in the order a backend applies them: index
/// drops, table drops, table renames, new tables, column changes table by table (renames,
/// additions, changes, drops), new indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaChange {
    CreateTable(TableDef),
    RenameTable {
        from: Ident,
        to: Ident,
    },
    AddColumn {
        table: Ident,
        column: ColumnDef,
    },
    RenameColumn {
        table: Ident,
        from: Ident,
        to: Ident,
    },
    /// `table` and `column` are the new names (after any renames of this migration).
    ChangeColumn {
        table: Ident,
        column: Ident,
        from: ColumnShape,
        to: ColumnShape,
    },
    DropColumn {
        table: Ident,
        /// As the database names it.
        column: String,
    },
    CreateIndex {
        table: Ident,
        index: IndexDef,
    },
    DropIndex {
        /// The item's table the index is on (its new name, if the table is renamed).
        table: Ident,
        /// As the database names it.
        index: String,
    },
    DropTable {
        /// As the database names it.
        table: String,
    },
}

impl SchemaChange {
    /// True when applying the change can lose data: dropping a table or a column, changing a
    /// column's type in a way not every value survives, or moving the primary key.
    pub fn is_destructive(&self) -> bool {
        match self {
            SchemaChange::DropTable { .. } | SchemaChange::DropColumn { .. } => true,
            SchemaChange::ChangeColumn { from, to, .. } => {
                from.primary_key != to.primary_key
                    || conversion_can_lose_data(&from.sql_type, &to.sql_type)
            }
            _ => false,
        }
    }
}

/// The human description `jamrs check` and `jamrs migrate` show.
impl fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaChange::CreateTable(t) => write!(
                f,
                "create table {} for item {} ({} columns)",
                t.name,
                t.item,
                t.columns.len()
            ),
            SchemaChange::RenameTable { from, to } => write!(f, "rename table {from} to {to}"),
            SchemaChange::AddColumn { table, column } => {
                write!(f, "add column {table}.{} {}", column.name, column.shape)
            }
            SchemaChange::RenameColumn { table, from, to } => {
                write!(f, "rename column {table}.{from} to {to}")
            }
            SchemaChange::ChangeColumn {
                table,
                column,
                from,
                to,
            } => {
                write!(f, "change column {table}.{column} from {from} to {to}")?;
                if conversion_can_lose_data(&from.sql_type, &to.sql_type) {
                    f.write_str(" (values that do not convert become NULL)")?;
                }
                if from.primary_key != to.primary_key {
                    f.write_str(" (the primary key moves)")?;
                }
                if to.not_null
                    && !from.not_null
                    && let Some(d) = &to.default
                {
                    write!(f, " (NULLs become {d})")?;
                }
                Ok(())
            }
            SchemaChange::DropColumn { table, column } => {
                write!(f, "drop column {table}.{column} (its values are lost)")
            }
            SchemaChange::CreateIndex { table, index } => {
                let unique = if index.unique { "unique " } else { "" };
                let cols: Vec<String> = index
                    .columns
                    .iter()
                    .map(|c| {
                        if c.desc {
                            format!("{} DESC", c.column)
                        } else {
                            c.column.to_string()
                        }
                    })
                    .collect();
                write!(
                    f,
                    "create {unique}index {} on {table} ({})",
                    index.name,
                    cols.join(", ")
                )
            }
            SchemaChange::DropIndex { table, index } => {
                write!(f, "drop index {index} on {table}")
            }
            SchemaChange::DropTable { table } => {
                write!(f, "drop table {table} (all its rows are lost)")
            }
        }
    }
}

/// The broad kind of a declared type, by SQLite's affinity rules (which also sort PostgreSQL
/// and MariaDB type names sensibly: `bigint`, `double precision`, `varchar(30)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    Integer,
    Real,
    Text,
    /// BLOB, NUMERIC, DECIMAL, dates, no type at all: no conversion is assumed safe.
    Other,
}

/// Classifies a declared type (SQLite's "Determination Of Column Affinity", in its order).
pub fn type_class(sql_type: &str) -> TypeClass {
    let t = sql_type.to_ascii_uppercase();
    if t.contains("INT") {
        TypeClass::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        TypeClass::Text
    } else if t.contains("BLOB") || t.trim().is_empty() {
        TypeClass::Other
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        TypeClass::Real
    } else {
        TypeClass::Other
    }
}

/// True when converting a column from `from` to `to` can lose or alter values.
///
/// Integer to real counts as safe: it is exact up to 2^53, and someone who turns an integer
/// field into a float one asks for floating point. Numbers to text keep their digits. Text
/// to a number, real to integer and anything from an unknown type can lose values.
pub fn conversion_can_lose_data(from: &str, to: &str) -> bool {
    if from.trim().eq_ignore_ascii_case(to.trim()) {
        return false;
    }
    !matches!(
        (type_class(from), type_class(to)),
        (TypeClass::Integer, TypeClass::Integer)
            | (TypeClass::Real, TypeClass::Real)
            | (TypeClass::Text, TypeClass::Text)
            | (TypeClass::Integer, TypeClass::Real)
            | (TypeClass::Integer | TypeClass::Real, TypeClass::Text)
    )
}

/// The schema `task` asks for, with the types of `dialect`.
pub fn desired(task: &Task, dialect: &dyn Dialect) -> DesiredSchema {
    let tables = task
        .items
        .iter()
        .map(|item| {
            let columns = item
                .stored_fields()
                .filter_map(|field| {
                    let name = field.column.clone()?;
                    let primary_key = field.id == item.primary_key;
                    // The soft-delete flag is filtered on by every query, so it must never be
                    // NULL; rows inserted by other programs get 0, "not deleted".
                    let deleted = item.deleted_flag == Some(field.id);
                    let sql_type = if primary_key {
                        dialect.column_type(FieldType::Integer)
                    } else {
                        dialect.column_type(field.field_type)
                    };
                    Some(ColumnDef {
                        name,
                        shape: ColumnShape {
                            sql_type: sql_type.to_string(),
                            primary_key,
                            not_null: deleted && !primary_key,
                            default: (deleted && !primary_key).then(|| "0".to_string()),
                        },
                        rename_from: field.rename_from.clone(),
                    })
                })
                .collect();
            let deleted_column = item.deleted_flag.and_then(|d| item.field(d).column.clone());
            let indexes = item
                .indexes
                .iter()
                .map(|ix| {
                    let mut columns: Vec<IndexColumn> = ix
                        .fields
                        .iter()
                        .filter_map(|o| {
                            Some(IndexColumn {
                                column: item.field(o.field).column.clone()?,
                                desc: o.desc,
                            })
                        })
                        .collect();
                    // Every query of a soft-delete item tests the flag: carry it in the item's
                    // plain indexes, so that counting or paging a tenant's rows reads the
                    // index alone instead of every row of the tenant (bench/README.md, scale).
                    // Not in unique ones: it would change what they refuse.
                    if let Some(flag) = &deleted_column
                        && !ix.unique
                        && !columns.iter().any(|c| c.column == *flag)
                    {
                        columns.push(IndexColumn {
                            column: flag.clone(),
                            desc: false,
                        });
                    }
                    IndexDef {
                        name: ix.name.clone(),
                        columns,
                        unique: ix.unique,
                    }
                })
                .collect();
            TableDef {
                name: item.table.clone(),
                item: item.name.clone(),
                rename_from: item.rename_from.clone(),
                columns,
                indexes,
                managed: item.managed,
            }
        })
        .collect();
    DesiredSchema { tables }
}

/// Appends a column definition: `"name" TYPE [NOT NULL] [DEFAULT d]`, or the dialect's
/// primary-key definition.
pub fn push_column_def(dialect: &dyn Dialect, out: &mut String, column: &ColumnDef) {
    dialect.push_ident(out, column.name.as_str());
    out.push(' ');
    if column.shape.primary_key {
        out.push_str(dialect.primary_key_type());
        return;
    }
    out.push_str(&column.shape.sql_type);
    if column.shape.not_null {
        out.push_str(" NOT NULL");
    }
    if let Some(d) = &column.shape.default {
        out.push_str(" DEFAULT ");
        out.push_str(d);
    }
}

/// `CREATE [UNIQUE] INDEX "name" ON "table" ("a", "b" DESC)`.
pub fn create_index_sql(dialect: &dyn Dialect, table: &Ident, index: &IndexDef) -> String {
    let mut out = String::from(if index.unique {
        "CREATE UNIQUE INDEX "
    } else {
        "CREATE INDEX "
    });
    dialect.push_ident(&mut out, index.name.as_str());
    out.push_str(" ON ");
    dialect.push_ident(&mut out, table.as_str());
    out.push_str(" (");
    for (i, c) in index.columns.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        dialect.push_ident(&mut out, c.column.as_str());
        if c.desc {
            out.push_str(" DESC");
        }
    }
    out.push(')');
    out
}

/// The changes that turn `actual` into `desired`, in the order to apply them (see
/// [`SchemaChange`]). Empty when the database already matches.
pub fn plan(desired: &DesiredSchema, actual: &ActualSchema) -> Vec<SchemaChange> {
    let mut drop_indexes = Vec::new();
    let mut rename_tables = Vec::new();
    let mut create_tables = Vec::new();
    let mut column_changes = Vec::new();
    let mut create_indexes = Vec::new();

    let desired_names: HashSet<String> = desired
        .tables
        .iter()
        .map(|t| actual.key(t.name.as_str()).into_owned())
        .collect();
    // Actual tables that belong to an item (under its name or the name it is renamed from).
    let mut claimed: HashSet<&str> = HashSet::new();
    for table in &desired.tables {
        if !table.managed {
            // Never changed; `unmanaged_problems` checks it. Its table is not free to drop.
            if let Some(a) = actual.table(table.name.as_str()) {
                claimed.insert(a.name.as_str());
            }
            continue;
        }
        let existing = match actual.table(table.name.as_str()) {
            Some(a) => Some(a),
            None => table
                .rename_from
                .as_ref()
                .filter(|from| {
                    // A name that another item uses, or that an earlier item already took
                    // over, is not free to be renamed away.
                    !desired_names.contains(&*actual.key(from.as_str()))
                        && !claimed.contains(&*actual.key(from.as_str()))
                })
                .and_then(|from| {
                    let a = actual.table(from.as_str())?;
                    rename_tables.push(SchemaChange::RenameTable {
                        from: from.clone(),
                        to: table.name.clone(),
                    });
                    Some(a)
                }),
        };
        match existing {
            Some(a) => {
                claimed.insert(a.name.as_str());
                plan_table(
                    table,
                    a,
                    actual,
                    &mut column_changes,
                    &mut drop_indexes,
                    &mut create_indexes,
                );
            }
            None => {
                create_tables.push(SchemaChange::CreateTable(table.clone()));
                for index in &table.indexes {
                    create_indexes.push(SchemaChange::CreateIndex {
                        table: table.name.clone(),
                        index: index.clone(),
                    });
                }
            }
        }
    }

    // Only tables jamrs created are ever dropped; anything else in the file is left alone.
    let drop_tables = actual
        .tables
        .keys()
        .filter(|name| {
            !claimed.contains(name.as_str())
                && !desired_names.contains(name.as_str())
                && !is_system_table(name)
                && actual.registered.contains(name.as_str())
        })
        .map(|name| SchemaChange::DropTable {
            table: name.clone(),
        });

    let mut changes = drop_indexes;
    changes.extend(drop_tables);
    changes.extend(rename_tables);
    changes.extend(create_tables);
    changes.extend(column_changes);
    changes.extend(create_indexes);
    changes
}

/// Column and index changes for an item table that exists (possibly under its old name).
fn plan_table(
    table: &TableDef,
    actual: &ActualTable,
    schema: &ActualSchema,
    column_changes: &mut Vec<SchemaChange>,
    drop_indexes: &mut Vec<SchemaChange>,
    create_indexes: &mut Vec<SchemaChange>,
) {
    let actual_cols: HashMap<&str, &ActualColumn> = actual
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let desired_cols: HashSet<String> = table
        .columns
        .iter()
        .map(|c| schema.key(c.name.as_str()).into_owned())
        .collect();

    // Which actual column each desired column continues, and which actual columns are taken.
    let mut source: HashMap<&str, &ActualColumn> = HashMap::new();
    let mut taken: HashSet<&str> = HashSet::new();
    for c in &table.columns {
        if let Some(a) = actual_cols.get(&*schema.key(c.name.as_str())) {
            source.insert(c.name.as_str(), a);
            taken.insert(a.name.as_str());
        }
    }
    // Old name → new name, to read the actual indexes through the renames.
    let mut renamed: HashMap<&str, String> = HashMap::new();
    let mut renames = Vec::new();
    for c in &table.columns {
        if source.contains_key(c.name.as_str()) {
            continue;
        }
        let Some(from) = &c.rename_from else {
            continue;
        };
        // Renaming away a name the metadata still uses would break that field.
        let from_key = schema.key(from.as_str());
        if desired_cols.contains(&*from_key) || taken.contains(&*from_key) {
            continue;
        }
        if let Some(a) = actual_cols.get(&*from_key) {
            renames.push(SchemaChange::RenameColumn {
                table: table.name.clone(),
                from: from.clone(),
                to: c.name.clone(),
            });
            source.insert(c.name.as_str(), a);
            taken.insert(a.name.as_str());
            renamed.insert(a.name.as_str(), schema.key(c.name.as_str()).into_owned());
        }
    }

    let mut adds = Vec::new();
    let mut alters = Vec::new();
    for c in &table.columns {
        match source.get(c.name.as_str()) {
            None => adds.push(SchemaChange::AddColumn {
                table: table.name.clone(),
                column: c.clone(),
            }),
            Some(a) if !c.shape.is_satisfied_by(&a.shape) => {
                alters.push(SchemaChange::ChangeColumn {
                    table: table.name.clone(),
                    column: c.name.clone(),
                    from: a.shape.clone(),
                    to: c.shape.clone(),
                })
            }
            Some(_) => {}
        }
    }
    let drops = actual
        .columns
        .iter()
        .filter(|a| !taken.contains(a.name.as_str()))
        .map(|a| SchemaChange::DropColumn {
            table: table.name.clone(),
            column: a.name.clone(),
        });
    column_changes.extend(renames);
    column_changes.extend(adds);
    column_changes.extend(alters);
    column_changes.extend(drops);

    let mut kept: HashSet<&str> = HashSet::new();
    for a in &actual.indexes {
        let wanted = table
            .indexes
            .iter()
            .find(|d| schema.key(d.name.as_str()) == a.name)
            .is_some_and(|d| index_matches(d, a, &renamed, schema));
        if wanted {
            kept.insert(a.name.as_str());
        } else {
            drop_indexes.push(SchemaChange::DropIndex {
                table: table.name.clone(),
                index: a.name.clone(),
            });
        }
    }
    for d in &table.indexes {
        if !kept.contains(&*schema.key(d.name.as_str())) {
            create_indexes.push(SchemaChange::CreateIndex {
                table: table.name.clone(),
                index: d.clone(),
            });
        }
    }
}

/// True when the actual index is the desired one, reading its columns through `renamed`.
fn index_matches(
    desired: &IndexDef,
    actual: &ActualIndex,
    renamed: &HashMap<&str, String>,
    schema: &ActualSchema,
) -> bool {
    !actual.partial
        && desired.unique == actual.unique
        && desired.columns.len() == actual.columns.len()
        && desired.columns.iter().zip(&actual.columns).all(|(d, a)| {
            let name = a
                .name
                .as_deref()
                .map(|n| renamed.get(n).map_or(n, String::as_str));
            name == Some(&*schema.key(d.column.as_str())) && d.desc == a.desc
        })
}

/// What is wrong with the tables of unmanaged items (`managed = false`), which a migration
/// never changes: a missing table, or a missing column the item uses. One line per problem,
/// naming the item; empty when every such table has what its item needs. Columns the item
/// does not know, types and indexes are not checked: the table is the database owner's.
pub fn unmanaged_problems(desired: &DesiredSchema, actual: &ActualSchema) -> Vec<String> {
    let mut out = Vec::new();
    for table in desired.tables.iter().filter(|t| !t.managed) {
        let Some(a) = actual.table(table.name.as_str()) else {
            out.push(format!(
                "item {}: its table {} does not exist (the item is not managed, so jamrs does not create it)",
                table.item, table.name
            ));
            continue;
        };
        // A table without a key of its own is served by SQLite's implicit `rowid`
        // (`primary_key = "rowid"`), which no column list shows. PostgreSQL has no stable row
        // identity to serve it by (a `ctid` moves with every update).
        let rowid = |c: &ColumnDef| {
            c.shape.primary_key
                && c.name.as_str().eq_ignore_ascii_case("rowid")
                && !a
                    .columns
                    .iter()
                    .any(|x| x.name.eq_ignore_ascii_case("rowid"))
        };
        if !actual.fold_case && table.columns.iter().any(rowid) {
            out.push(format!(
                "item {}: its key is \"rowid\", SQLite's own row number, and PostgreSQL has none: give table {} a primary key column and name it in primary_key",
                table.item, table.name
            ));
            continue;
        }
        let missing: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| {
                let key = actual.key(c.name.as_str());
                !a.columns.iter().any(|x| x.name == *key) && !rowid(c)
            })
            .map(|c| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "item {}: table {} has no column {} (the item is not managed, so jamrs does not add it; set the field's db_field to the column's name, or remove the field)",
                table.item,
                table.name,
                missing.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jamrs_core::project::{FieldFile, GroupFile, IndexFile, ItemFile, ProjectFiles, TaskFile};

    use super::*;

    /// A dialect with SQLite's types, so tests here need no backend.
    struct TestDialect;

    impl Dialect for TestDialect {
        fn name(&self) -> &'static str {
            "test"
        }
        fn push_placeholder(&self, out: &mut String, _n: usize) {
            out.push('?');
        }
        fn ilike(&self) -> [&'static str; 3] {
            ["", " LIKE ", ""]
        }
        fn distinct(&self) -> [&'static str; 3] {
            ["", " IS NOT ", ""]
        }
        fn column_type(&self, t: FieldType) -> &'static str {
            match t {
                FieldType::Integer | FieldType::Boolean => "INTEGER",
                FieldType::Float | FieldType::Currency => "REAL",
                _ => "TEXT",
            }
        }
        fn primary_key_type(&self) -> &'static str {
            "INTEGER PRIMARY KEY"
        }
    }

    fn text_field(name: &str) -> FieldFile {
        let mut f = FieldFile::new(name, "text");
        f.size = Some(50);
        f
    }

    fn task(items: Vec<(&str, ItemFile)>) -> Task {
        let files = ProjectFiles {
            task: TaskFile {
                name: "t".into(),
                safe_mode: Some(false),
                groups: vec![GroupFile {
                    name: "main".into(),
                    caption: None,
                    visible: None,
                    items: items.iter().map(|(n, _)| n.to_string()).collect(),
                }],
                ..TaskFile::default()
            },
            items: items.into_iter().map(|(n, f)| (n.to_string(), f)).collect(),
        };
        files
            .resolve(Path::new("/nonexistent"))
            .expect("test project resolves")
    }

    fn notes() -> ItemFile {
        ItemFile {
            soft_delete: Some(true),
            fields: vec![text_field("title"), FieldFile::new("n", "integer")],
            indexes: vec![IndexFile {
                name: None,
                fields: vec!["title".into(), "-n".into()],
                unique: Some(true),
            }],
            ..ItemFile::default()
        }
    }

    /// What a database made exactly from `desired` would report.
    fn as_actual(desired: &DesiredSchema) -> ActualSchema {
        let mut actual = ActualSchema {
            registry_exists: true,
            ..ActualSchema::default()
        };
        for t in &desired.tables {
            actual.registered.insert(t.name.to_string());
            actual.tables.insert(
                t.name.to_string(),
                ActualTable {
                    name: t.name.to_string(),
                    columns: t
                        .columns
                        .iter()
                        .map(|c| ActualColumn {
                            name: c.name.to_string(),
                            shape: c.shape.clone(),
                        })
                        .collect(),
                    indexes: t
                        .indexes
                        .iter()
                        .map(|i| ActualIndex {
                            name: i.name.to_string(),
                            columns: i
                                .columns
                                .iter()
                                .map(|c| ActualIndexColumn {
                                    name: Some(c.column.to_string()),
                                    desc: c.desc,
                                })
                                .collect(),
                            unique: i.unique,
                            partial: false,
                        })
                        .collect(),
                },
            );
        }
        actual
    }

    fn described(changes: &[SchemaChange]) -> Vec<String> {
        changes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn desired_schema_follows_the_metadata() {
        let d = desired(&task(vec![("notes", notes())]), &TestDialect);
        let t = &d.tables[0];
        assert_eq!(t.name.as_str(), "notes");
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.shape))
            .collect();
        assert_eq!(
            cols,
            [
                "id INTEGER PRIMARY KEY",
                "title TEXT",
                "n INTEGER",
                "deleted INTEGER NOT NULL DEFAULT 0"
            ]
        );
        assert_eq!(
            create_index_sql(&TestDialect, &t.name, &t.indexes[0]),
            r#"CREATE UNIQUE INDEX "notes_title_n_idx" ON "notes" ("title", "n" DESC)"#
        );
        let mut def = String::new();
        push_column_def(&TestDialect, &mut def, &t.columns[3]);
        assert_eq!(def, r#""deleted" INTEGER NOT NULL DEFAULT 0"#);
    }

    #[test]
    fn plain_indexes_of_soft_delete_items_carry_the_flag() {
        let mut notes = notes();
        notes.indexes.push(IndexFile {
            name: None,
            fields: vec!["n".into()],
            unique: None,
        });
        notes.indexes.push(IndexFile {
            name: Some("by_n_flag".into()),
            fields: vec!["deleted".into(), "n".into()],
            unique: None,
        });
        let mut plain = notes.clone();
        plain.soft_delete = Some(false);
        plain.indexes.pop();
        let d = desired(
            &task(vec![("notes", notes), ("plain", plain)]),
            &TestDialect,
        );
        let sql: Vec<String> = d
            .tables
            .iter()
            .flat_map(|t| {
                t.indexes
                    .iter()
                    .map(|ix| create_index_sql(&TestDialect, &t.name, ix))
            })
            .collect();
        assert_eq!(
            sql,
            [
                // Unique: as declared.
                r#"CREATE UNIQUE INDEX "notes_title_n_idx" ON "notes" ("title", "n" DESC)"#,
                r#"CREATE INDEX "notes_n_idx" ON "notes" ("n", "deleted")"#,
                // The flag already in it: as declared.
                r#"CREATE INDEX "by_n_flag" ON "notes" ("deleted", "n")"#,
                // No soft delete: as declared.
                r#"CREATE UNIQUE INDEX "plain_title_n_idx" ON "plain" ("title", "n" DESC)"#,
                r#"CREATE INDEX "plain_n_idx" ON "plain" ("n")"#,
            ]
        );
    }

    #[test]
    fn empty_database_gets_tables_then_indexes() {
        let d = desired(&task(vec![("notes", notes())]), &TestDialect);
        let changes = plan(&d, &ActualSchema::default());
        assert_eq!(
            described(&changes),
            [
                "create table notes for item notes (4 columns)",
                "create unique index notes_title_n_idx on notes (title, n DESC)"
            ]
        );
        assert!(!changes.iter().any(SchemaChange::is_destructive));
    }

    #[test]
    fn matching_database_needs_nothing() {
        let d = desired(&task(vec![("notes", notes())]), &TestDialect);
        assert_eq!(plan(&d, &as_actual(&d)), []);
    }

    #[test]
    fn type_names_compare_without_case_and_pk_ignores_not_null() {
        let d = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut a = as_actual(&d);
        let t = a.tables.get_mut("notes").expect("table");
        t.columns[1].shape.sql_type = "text".into();
        // PostgreSQL reports a primary key as NOT NULL; that is no difference.
        t.columns[0].shape.not_null = true;
        assert_eq!(plan(&d, &a), []);
    }

    #[test]
    fn new_and_removed_fields_add_and_drop_columns() {
        let old = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut item = notes();
        item.fields.retain(|f| f.name != "n");
        item.fields.push(text_field("body"));
        item.indexes.clear();
        let new = desired(&task(vec![("notes", item)]), &TestDialect);
        let changes = plan(&new, &as_actual(&old));
        assert_eq!(
            described(&changes),
            [
                "drop index notes_title_n_idx on notes",
                "add column notes.body TEXT",
                "drop column notes.n (its values are lost)"
            ]
        );
        let destructive: Vec<bool> = changes.iter().map(SchemaChange::is_destructive).collect();
        assert_eq!(destructive, [false, false, true]);
    }

    #[test]
    fn rename_from_renames_instead_of_drop_and_add() {
        let old = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut item = notes();
        item.table = Some("memos".into());
        item.rename_from = Some("notes".into());
        item.fields[0] = text_field("heading");
        item.fields[0].rename_from = Some("title".into());
        item.indexes[0].name = Some("notes_title_n_idx".into());
        item.indexes[0].fields[0] = "heading".into();
        let new = desired(&task(vec![("notes", item)]), &TestDialect);
        let changes = plan(&new, &as_actual(&old));
        // The index follows the renamed column, so it is kept.
        assert_eq!(
            described(&changes),
            [
                "rename table notes to memos",
                "rename column memos.title to heading"
            ]
        );
    }

    #[test]
    fn rename_from_is_ignored_when_both_names_exist() {
        let old = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut item = notes();
        item.fields.push(text_field("title2"));
        item.fields[2].rename_from = Some("title".into());
        let new = desired(&task(vec![("notes", item)]), &TestDialect);
        // "title" is still a field, so it cannot be renamed away: title2 is a new column.
        assert_eq!(
            described(&plan(&new, &as_actual(&old))),
            ["add column notes.title2 TEXT"]
        );
    }

    #[test]
    fn type_changes_say_whether_they_lose_data() {
        let old = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut item = notes();
        item.fields[0] = FieldFile::new("title", "integer");
        item.fields[1] = FieldFile::new("n", "float");
        let new = desired(&task(vec![("notes", item)]), &TestDialect);
        let changes = plan(&new, &as_actual(&old));
        assert_eq!(
            described(&changes),
            [
                "change column notes.title from TEXT to INTEGER (values that do not convert become NULL)",
                "change column notes.n from INTEGER to REAL"
            ]
        );
        let destructive: Vec<bool> = changes.iter().map(SchemaChange::is_destructive).collect();
        assert_eq!(destructive, [true, false]);
    }

    #[test]
    fn soft_delete_on_an_existing_column_makes_it_not_null() {
        let mut plain = notes();
        plain.soft_delete = None;
        plain.fields.push(FieldFile::new("deleted", "boolean"));
        let old = desired(&task(vec![("notes", plain)]), &TestDialect);
        let new = desired(&task(vec![("notes", notes())]), &TestDialect);
        let changes = plan(&new, &as_actual(&old));
        assert_eq!(
            described(&changes),
            [
                "change column notes.deleted from INTEGER to INTEGER NOT NULL DEFAULT 0 (NULLs become 0)"
            ]
        );
        assert!(!changes[0].is_destructive());
    }

    #[test]
    fn changed_and_foreign_indexes_are_replaced() {
        let d = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut a = as_actual(&d);
        let t = a.tables.get_mut("notes").expect("table");
        t.indexes[0].unique = false;
        t.indexes.push(ActualIndex {
            name: "by_hand".into(),
            columns: vec![ActualIndexColumn {
                name: None,
                desc: false,
            }],
            unique: false,
            partial: false,
        });
        assert_eq!(
            described(&plan(&d, &a)),
            [
                "drop index notes_title_n_idx on notes",
                "drop index by_hand on notes",
                "create unique index notes_title_n_idx on notes (title, n DESC)"
            ]
        );
    }

    #[test]
    fn only_registered_tables_are_dropped() {
        let d = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut a = as_actual(&d);
        let other = a.tables["notes"].clone();
        for name in ["old_stuff", "not_ours"] {
            let mut t = other.clone();
            t.name = name.into();
            a.tables.insert(name.into(), t);
        }
        a.registered.insert("old_stuff".into());
        let changes = plan(&d, &a);
        assert_eq!(
            described(&changes),
            ["drop table old_stuff (all its rows are lost)"]
        );
        assert!(changes[0].is_destructive());
    }

    #[test]
    fn a_new_primary_key_column_is_destructive() {
        let old = desired(&task(vec![("notes", notes())]), &TestDialect);
        let mut item = notes();
        item.primary_key = Some("n".into());
        let new = desired(&task(vec![("notes", item)]), &TestDialect);
        let changes = plan(&new, &as_actual(&old));
        assert_eq!(
            described(&changes),
            [
                "change column notes.n from INTEGER to INTEGER PRIMARY KEY (the primary key moves)",
                "drop column notes.id (its values are lost)"
            ]
        );
        assert!(changes.iter().all(SchemaChange::is_destructive));
    }

    #[test]
    fn type_classes_follow_affinity_rules() {
        assert_eq!(type_class("BIGINT"), TypeClass::Integer);
        assert_eq!(type_class("varchar(30)"), TypeClass::Text);
        assert_eq!(type_class("double precision"), TypeClass::Real);
        assert_eq!(type_class("NUMERIC(12,2)"), TypeClass::Other);
        assert_eq!(type_class(""), TypeClass::Other);
        assert!(!conversion_can_lose_data("VARCHAR(30)", "TEXT"));
        assert!(!conversion_can_lose_data("REAL", "TEXT"));
        assert!(conversion_can_lose_data("REAL", "INTEGER"));
        assert!(conversion_can_lose_data("NUMERIC", "REAL"));
        assert!(conversion_can_lose_data("BLOB", "TEXT"));
    }

    #[test]
    fn system_tables_are_never_dropped() {
        let mut a = ActualSchema::default();
        a.registered.insert("jamrs_sessions".into());
        a.tables.insert(
            "jamrs_sessions".into(),
            ActualTable {
                name: "jamrs_sessions".into(),
                columns: Vec::new(),
                indexes: Vec::new(),
            },
        );
        assert_eq!(plan(&DesiredSchema { tables: Vec::new() }, &a), []);
        assert!(is_system_table("sqlite_sequence"));
        assert!(!is_system_table("notes"));
    }
}
