//! Statements for apply: INSERT, UPDATE, soft and hard DELETE, and the reads apply needs
//! (the stored row before a change, detail keys for cascades, lookup targets).

use jamrs_core::Value;
use jamrs_core::model::{FieldId, Item};

use super::scope::{Link, RowScope};
use crate::dialect::Dialect;
use crate::sql::{Sql, SqlWriter};
use jamrs_core::session::Tenant;

fn pk_col(item: &Item) -> &jamrs_core::Ident {
    item.pk()
        .column
        .as_ref()
        .expect("the primary key is a stored field")
}

fn scope<'a>(item: &'a Item, link: Option<Link>, tenant: &'a Tenant) -> RowScope<'a> {
    RowScope {
        item,
        alias: None,
        link,
        tenant,
    }
}

/// `WHERE "pk" = ? AND <scope>`, or `WHERE 1=1 AND <scope>` without a key.
fn push_where(
    w: &mut SqlWriter,
    item: &Item,
    id: Option<i64>,
    link: Option<Link>,
    tenant: &Tenant,
) {
    w.push(" WHERE ");
    match id {
        Some(id) => {
            w.ident(pk_col(item)).push(" = ").param(Value::Int(id));
        }
        None => {
            w.push("1=1");
        }
    }
    scope(item, link, tenant).push_and(w);
}

/// INSERT of stored field values; the database numbers the key.
pub fn insert(d: &dyn Dialect, item: &Item, values: &[(FieldId, Value)]) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("INSERT INTO ").ident(&item.table);
    let cols: Vec<_> = values
        .iter()
        .filter_map(|(f, v)| item.field(*f).column.as_ref().map(|c| (c, v)))
        .collect();
    if cols.is_empty() {
        w.push(" DEFAULT VALUES");
    } else {
        w.push(" (");
        for (i, (c, _)) in cols.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.ident(c);
        }
        w.push(") VALUES (");
        for (i, (_, v)) in cols.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.param((*v).clone());
        }
        w.push(")");
    }
    if let Some(ret) = d.insert_returning(pk_col(item).as_str()) {
        w.push(&ret);
    }
    w.finish()
}

/// UPDATE of one live row (key, soft-delete flag and detail link in the WHERE).
pub fn update(
    d: &dyn Dialect,
    item: &Item,
    id: i64,
    values: &[(FieldId, Value)],
    link: Option<Link>,
    tenant: &Tenant,
) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("UPDATE ").ident(&item.table).push(" SET ");
    let mut first = true;
    for (f, v) in values {
        if let Some(c) = &item.field(*f).column {
            if !first {
                w.push(", ");
            }
            first = false;
            w.ident(c).push(" = ").param(v.clone());
        }
    }
    push_where(&mut w, item, Some(id), link, tenant);
    w.finish()
}

/// Sets the soft-delete flag of one live row (`id`), or of every live detail row of a master
/// (`id = None`, `link` set).
pub fn soft_delete_rows(
    d: &dyn Dialect,
    item: &Item,
    id: Option<i64>,
    link: Option<Link>,
    tenant: &Tenant,
) -> Sql {
    let flag = item
        .deleted_flag
        .and_then(|f| item.field(f).column.as_ref())
        .expect("soft delete needs a deleted flag");
    let mut w = SqlWriter::new(d);
    w.push("UPDATE ")
        .ident(&item.table)
        .push(" SET ")
        .ident(flag)
        .push(" = 1");
    push_where(&mut w, item, id, link, tenant);
    w.finish()
}

/// Deletes one row (`id`), or every detail row of a master (`id = None`, `link` set).
pub fn delete_rows(
    d: &dyn Dialect,
    item: &Item,
    id: Option<i64>,
    link: Option<Link>,
    tenant: &Tenant,
) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("DELETE FROM ").ident(&item.table);
    push_where(&mut w, item, id, link, tenant);
    w.finish()
}

/// Reads the stored row `id` (live, within `link`). Columns are `item.stored_fields()` in order.
pub fn select_row(
    d: &dyn Dialect,
    item: &Item,
    id: i64,
    link: Option<Link>,
    tenant: &Tenant,
) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT ");
    for (i, f) in item.stored_fields().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        if let Some(c) = &f.column {
            w.ident(c);
        }
    }
    w.push(" FROM ").ident(&item.table);
    push_where(&mut w, item, Some(id), link, tenant);
    w.finish()
}

/// The keys of a master's live detail rows.
pub fn select_keys(d: &dyn Dialect, item: &Item, link: Link, tenant: &Tenant) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT ")
        .ident(pk_col(item))
        .push(" FROM ")
        .ident(&item.table);
    push_where(&mut w, item, None, Some(link), tenant);
    w.finish()
}

/// `SELECT 1` if the live row `id` of a lookup item exists.
pub fn lookup_exists(d: &dyn Dialect, item: &Item, id: i64, tenant: &Tenant) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT 1 FROM ").ident(&item.table);
    push_where(&mut w, item, Some(id), None, tenant);
    w.finish()
}
