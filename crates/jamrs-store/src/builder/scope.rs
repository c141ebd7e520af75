//! Row predicates that every statement on an item carries, and the key lists the engine binds.

use jamrs_core::model::{Item, MasterLink};
use jamrs_core::session::Tenant;
use jamrs_core::{Key, Value};

use crate::sql::SqlWriter;

/// The most keys one statement binds in an IN list the engine builds (the rows it expands,
/// checks, reads before a change or deletes in a cascade). Well under every database's limit
/// of bound values (SQLite's was 999 before 3.32, PostgreSQL's and MariaDB's are 65 535),
/// with room for the statement's other values (tenant, detail link, paging).
pub const KEYS_PER_STATEMENT: usize = 500;

/// A list of keys short enough for one statement. Only [`Keys::chunks`] (and [`Keys::one`])
/// make one, so every IN list the engine builds from keys is cut to [`KEYS_PER_STATEMENT`]
/// however many rows a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys<'a>(&'a [Key]);

impl<'a> Keys<'a> {
    /// `ids` in lists of at most [`KEYS_PER_STATEMENT`] (none for no ids).
    pub fn chunks(ids: &'a [Key]) -> impl Iterator<Item = Keys<'a>> + 'a {
        ids.chunks(KEYS_PER_STATEMENT).map(Keys)
    }

    /// A single key.
    pub fn one(id: &'a Key) -> Keys<'a> {
        Keys(std::slice::from_ref(id))
    }

    pub fn as_slice(&self) -> &'a [Key] {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The values of a detail link: which master row the detail rows belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    /// The master item's number (for `master_id` links).
    pub master_number: Option<i64>,
    /// The master row's key.
    pub master_id: &'a Key,
}

/// The master rows detail rows must belong to: one ([`Link`]), or a list of keys of one
/// master item (a cascade under many deleted rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Under<'a> {
    /// The master item's number (for `master_id` links).
    pub master_number: Option<i64>,
    pub master_ids: Keys<'a>,
}

impl<'a> Under<'a> {
    /// The rows of one master row.
    pub fn link(link: &Link<'a>) -> Under<'a> {
        Under {
            master_number: link.master_number,
            master_ids: Keys::one(link.master_id),
        }
    }
}

/// Which rows of an item a statement may see or touch.
#[derive(Debug, Clone, Copy)]
pub struct RowScope<'a> {
    pub item: &'a Item,
    /// The table alias the predicate refers to (`None` when the statement has no alias).
    pub alias: Option<&'a str>,
    /// Restrict to the detail rows of these master rows.
    pub under: Option<Under<'a>>,
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
        if let (Some(under), Some(master_link)) = (self.under, item.master_link) {
            let rec_field = match master_link {
                MasterLink::MasterField(f) => f,
                MasterLink::MasterIdRecId {
                    master_id,
                    master_rec_id,
                } => {
                    if let Some(c) = &item.field(master_id).column {
                        w.push(" AND ");
                        col(w, c);
                        w.push(" = ");
                        w.param(under.master_number.map_or(Value::Null, Value::Int));
                    }
                    master_rec_id
                }
            };
            if let Some(c) = &item.field(rec_field).column {
                w.push(" AND ");
                col(w, c);
                push_in(w, under.master_ids);
            }
        }
        push_tenant(w, item, self.alias, self.tenant);
    }
}

/// ` = ?` for one key, ` IN (?, …)` for several, `IS NULL AND 1=0` for none.
pub fn push_in(w: &mut SqlWriter, keys: Keys) {
    match keys.as_slice() {
        [] => {
            w.push(" IS NULL AND 1=0");
        }
        [one] => {
            w.push(" = ").param(one.to_value());
        }
        many => {
            w.push(" IN (");
            for (i, id) in many.iter().enumerate() {
                if i > 0 {
                    w.push(", ");
                }
                w.param(id.to_value());
            }
            w.push(")");
        }
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
