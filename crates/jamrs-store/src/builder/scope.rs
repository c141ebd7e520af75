//! Row predicates that every statement on an item carries.

use jamrs_core::Value;
use jamrs_core::model::{Item, MasterLink};
use jamrs_core::session::Tenant;

use crate::sql::SqlWriter;

/// The values of a detail link: which master row the detail rows belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The master item's number (for `master_id` links).
    pub master_number: Option<i64>,
    /// The master row's key.
    pub master_id: i64,
}

/// Which rows of an item a statement may see or touch.
#[derive(Debug, Clone, Copy)]
pub struct RowScope<'a> {
    pub item: &'a Item,
    /// The table alias the predicate refers to (`None` when the statement has no alias).
    pub alias: Option<&'a str>,
    /// Restrict to the detail rows of one master row.
    pub link: Option<Link>,
    /// Restrict a covered item to one tenant's rows.
    pub tenant: &'a Tenant,
}

impl RowScope<'_> {
    /// Appends ` AND …` for the soft-delete flag, the detail link and the tenant; the caller
    /// has already written a `WHERE` with at least one condition.
    pub fn push_and(&self, w: &mut SqlWriter) {
        let item = self.item;
        let col = |w: &mut SqlWriter, c: &jamrs_core::Ident| match self.alias {
            Some(a) => {
                w.column(a, c);
            }
            None => {
                w.ident(c);
            }
        };
        if let Some(flag) = item
            .deleted_flag
            .and_then(|f| item.field(f).column.as_ref())
        {
            w.push(" AND ");
            col(w, flag);
            w.push(" = 0");
        }
        if let (Some(link), Some(master_link)) = (self.link, item.master_link) {
            match master_link {
                MasterLink::MasterField(f) => {
                    if let Some(c) = &item.field(f).column {
                        w.push(" AND ");
                        col(w, c);
                        w.push(" = ");
                        w.param(Value::Int(link.master_id));
                    }
                }
                MasterLink::MasterIdRecId {
                    master_id,
                    master_rec_id,
                } => {
                    if let Some(c) = &item.field(master_id).column {
                        w.push(" AND ");
                        col(w, c);
                        w.push(" = ");
                        w.param(link.master_number.map_or(Value::Null, Value::Int));
                    }
                    if let Some(c) = &item.field(master_rec_id).column {
                        w.push(" AND ");
                        col(w, c);
                        w.push(" = ");
                        w.param(Value::Int(link.master_id));
                    }
                }
            }
        }
        push_tenant(w, item, self.alias, self.tenant);
    }
}

/// Appends ` AND <alias>.<tenant column> = ?` for an item `[tenancy]` covers (` AND 1=0` for
/// nobody); nothing for other items or for a caller who sees every tenant. Used in WHERE
/// clauses and in the ON clause of lookup joins.
pub fn push_tenant(w: &mut SqlWriter, item: &Item, alias: Option<&str>, tenant: &Tenant) {
    let Some(col) = item
        .tenant_field
        .and_then(|f| item.field(f).column.as_ref())
    else {
        return;
    };
    match tenant {
        Tenant::All => {}
        Tenant::Only(v) => {
            w.push(" AND ");
            match alias {
                Some(a) => {
                    w.column(a, col);
                }
                None => {
                    w.ident(col);
                }
            }
            w.push(" = ").param(v.clone());
        }
        Tenant::Nobody => {
            w.push(" AND 1=0");
        }
    }
}
