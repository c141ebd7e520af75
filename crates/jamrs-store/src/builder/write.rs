//! Statements for apply: INSERT, UPDATE, soft and hard DELETE, and the reads apply needs
//! (the stored row before a change, detail keys for cascades, lookup targets).

use jamrs_core::model::{FieldId, Item};
use jamrs_core::{Key, Value};

use super::scope::{Keys, Link, RowScope, Under, push_in};
use crate::dialect::{Dialect, RowLock};
use crate::sql::{Sql, SqlWriter};
use jamrs_core::session::Tenant;

fn pk_col(item: &Item) -> &jamrs_core::Ident {
    item.pk()
        .column
        .as_ref()
        .expect("the primary key is a stored field")
}

fn scope<'a>(item: &'a Item, under: Option<Under<'a>>, tenant: &'a Tenant) -> RowScope<'a> {
    RowScope {
        item,
        alias: None,
        under,
        tenant,
    }
}

/// `WHERE "pk" <IN keys> AND <scope>`, or `WHERE 1=1 AND <scope>` without keys.
fn push_where(
    w: &mut SqlWriter,
    item: &Item,
    keys: Option<Keys>,
    under: Option<Under>,
    tenant: &Tenant,
) {
    w.push(" WHERE ");
    match keys {
        Some(keys) => {
            w.ident(pk_col(item));
            push_in(w, keys);
        }
        None => {
            w.push("1=1");
        }
    }
    scope(item, under, tenant).push_and(w);
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

/// UPDATE of one live row (key, soft-delete flag and detail link in the WHERE). With
/// `version`, the row's record version must still be that value (an edit lock's guard).
pub fn update(
    d: &dyn Dialect,
    item: &Item,
    id: &Key,
    values: &[(FieldId, Value)],
    link: Option<Link>,
    tenant: &Tenant,
    version: Option<&Value>,
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
    push_where(
        &mut w,
        item,
        Some(Keys::one(id)),
        link.as_ref().map(Under::link),
        tenant,
    );
    if let (Some(v), Some(col)) = (
        version,
        item.record_version
            .and_then(|f| item.field(f).column.as_ref()),
    ) {
        w.push(" AND ").ident(col);
        match v {
            Value::Null => {
                w.push(" IS NULL");
            }
            v => {
                w.push(" = ").param(v.clone());
            }
        }
    }
    w.finish()
}

/// `UPDATE … SET <flag> = 1` (soft delete) or `DELETE FROM …`, as the item keeps rows.
fn push_delete(w: &mut SqlWriter, item: &Item, soft: bool) {
    if soft {
        let flag = item
            .deleted_flag
            .and_then(|f| item.field(f).column.as_ref())
            .expect("soft delete needs a deleted flag");
        w.push("UPDATE ")
            .ident(&item.table)
            .push(" SET ")
            .ident(flag)
            .push(" = 1");
    } else {
        w.push("DELETE FROM ").ident(&item.table);
    }
}

/// Deletes one live row (within `link`): sets its soft-delete flag when `soft`, else removes
/// it.
pub fn delete_row(
    d: &dyn Dialect,
    item: &Item,
    id: &Key,
    link: Option<Link>,
    tenant: &Tenant,
    soft: bool,
) -> Sql {
    let mut w = SqlWriter::new(d);
    push_delete(&mut w, item, soft);
    push_where(
        &mut w,
        item,
        Some(Keys::one(id)),
        link.as_ref().map(Under::link),
        tenant,
    );
    w.finish()
}

/// Deletes every live detail row of the master rows `under` (a cascade): sets their
/// soft-delete flag when `soft`, else removes them.
pub fn delete_under(
    d: &dyn Dialect,
    item: &Item,
    under: Under,
    tenant: &Tenant,
    soft: bool,
) -> Sql {
    let mut w = SqlWriter::new(d);
    push_delete(&mut w, item, soft);
    push_where(&mut w, item, None, Some(under), tenant);
    w.finish()
}

/// Reads the stored rows `ids` (live, within `link`). Columns are `item.stored_fields()` in
/// order (the key among them). `lock` holds them for the transaction (see
/// [`Dialect::row_lock`]).
pub fn select_rows(
    d: &dyn Dialect,
    item: &Item,
    ids: Keys,
    link: Option<Link>,
    tenant: &Tenant,
    lock: RowLock,
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
    push_where(
        &mut w,
        item,
        Some(ids),
        link.as_ref().map(Under::link),
        tenant,
    );
    w.push(d.row_lock(lock));
    w.finish()
}

/// The keys of the live detail rows of the master rows `under`.
pub fn select_keys(d: &dyn Dialect, item: &Item, under: Under, tenant: &Tenant) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT ")
        .ident(pk_col(item))
        .push(" FROM ")
        .ident(&item.table);
    push_where(&mut w, item, None, Some(under), tenant);
    w.finish()
}

/// `SELECT 1` if the live row `id` of a lookup item exists; `lock` holds it for the
/// transaction (see [`Dialect::row_lock`]).
pub fn lookup_exists(
    d: &dyn Dialect,
    item: &Item,
    id: &Key,
    tenant: &Tenant,
    lock: RowLock,
) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT 1 FROM ").ident(&item.table);
    push_where(&mut w, item, Some(Keys::one(id)), None, tenant);
    w.push(d.row_lock(lock));
    w.finish()
}

/// `SELECT 1` if any row of `item` holds the key `id`, whatever its soft-delete flag and
/// tenant: the one statement without a row scope, because a key is unique in the table (the
/// text key a new record names must be free in every scope, or its INSERT would collide).
pub fn key_taken(d: &dyn Dialect, item: &Item, id: &Key) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT 1 FROM ")
        .ident(&item.table)
        .push(" WHERE ")
        .ident(pk_col(item));
    push_in(&mut w, Keys::one(id));
    w.finish()
}

// ---------------------------------------------------------------------------------------------
// Delete integrity: the rows whose lookup field points at deleted rows.

/// Rows named by the keys one column holds: the primary key, or a lookup field that points at
/// rows being deleted.
#[derive(Debug, Clone, Copy)]
pub struct Where<'a> {
    pub field: FieldId,
    pub keys: Keys<'a>,
}

fn push_where_field(w: &mut SqlWriter, item: &Item, rows: Where, tenant: &Tenant) {
    w.push(" WHERE ");
    match &item.field(rows.field).column {
        Some(c) => {
            w.ident(c);
            push_in(w, rows.keys);
        }
        // Only stored fields are named; no row matches otherwise.
        None => {
            w.push("1=0");
        }
    }
    scope(item, None, tenant).push_and(w);
}

/// The stored rows (columns as in [`select_rows`]) of `item` that `rows` names, live and in
/// the tenant's scope; or, with `under`, the live detail rows of those master rows.
pub fn select_stored(
    d: &dyn Dialect,
    item: &Item,
    rows: Option<Where>,
    under: Option<Under>,
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
    match rows {
        Some(rows) => push_where_field(&mut w, item, rows, tenant),
        None => push_where(&mut w, item, None, under, tenant),
    }
    w.finish()
}

/// `SELECT COUNT(*)` of the live rows of `item` that `rows` names, in the tenant's scope.
pub fn count_rows(d: &dyn Dialect, item: &Item, rows: Where, tenant: &Tenant) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("SELECT COUNT(*) FROM ").ident(&item.table);
    push_where_field(&mut w, item, rows, tenant);
    w.finish()
}

/// Empties the lookup field `field` of the live rows `rows` names (and raises their record
/// version, for an item with `edit_lock`).
pub fn set_null(d: &dyn Dialect, item: &Item, field: FieldId, rows: Where, tenant: &Tenant) -> Sql {
    let mut w = SqlWriter::new(d);
    w.push("UPDATE ").ident(&item.table).push(" SET ");
    match &item.field(field).column {
        Some(c) => {
            w.ident(c).push(" = NULL");
        }
        None => {
            w.ident(pk_col(item)).push(" = ").ident(pk_col(item));
        }
    }
    if let Some(v) = item
        .record_version
        .and_then(|f| item.field(f).column.as_ref())
    {
        w.push(", ")
            .ident(v)
            .push(" = COALESCE(")
            .ident(v)
            .push(", 0) + 1");
    }
    push_where_field(&mut w, item, rows, tenant);
    w.finish()
}

/// Deletes the live rows `rows` names (a cascade over references): sets their soft-delete
/// flag when `soft`, else removes them.
pub fn delete_rows(d: &dyn Dialect, item: &Item, rows: Where, tenant: &Tenant, soft: bool) -> Sql {
    let mut w = SqlWriter::new(d);
    push_delete(&mut w, item, soft);
    push_where_field(&mut w, item, rows, tenant);
    w.finish()
}
