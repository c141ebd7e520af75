//! Roles, privileges and field restrictions, and the effective [`Access`] of a session.
//!
//! A role grants per item `view`, `create`, `edit`, `delete` (a default for every item, and
//! per-item overrides) and restricts fields as `prohibited` or `read_only`. [`Access`] is what
//! every check consults; it is computed once per role when the project loads, with Jam.py's
//! rule that a field is prohibited when anything it shows is: the field itself, its master
//! field, any field along its lookup chain, or the aggregated field of a calculated field.

use crate::ident::Ident;
use crate::model::{FieldId, Item, ItemId, ReportId, Task};

/// What a role may do with an item (Jam.py's can_view / can_create / can_edit / can_delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Privileges {
    pub view: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
}

impl Privileges {
    pub const ALL: Privileges = Privileges {
        view: true,
        create: true,
        edit: true,
        delete: true,
    };
    pub const NONE: Privileges = Privileges {
        view: false,
        create: false,
        edit: false,
        delete: false,
    };

    /// The names used in project files.
    pub const NAMES: [&'static str; 4] = ["view", "create", "edit", "delete"];

    /// From a list such as `["view", "edit"]`; the error names the unknown word.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Privileges, String> {
        let mut p = Privileges::NONE;
        for n in names {
            match n.as_ref() {
                "view" => p.view = true,
                "create" => p.create = true,
                "edit" => p.edit = true,
                "delete" => p.delete = true,
                other => {
                    return Err(format!(
                        "\"{other}\" is not a privilege (one of: {})",
                        Self::NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(p)
    }
}

/// A field restriction of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// Never sent, never accepted, not usable in any open parameter.
    Prohibited,
    /// Sent, but a client write is rejected.
    ReadOnly,
}

#[derive(Debug, Clone)]
pub struct Role {
    /// Jam.py-style numeric id; `user_info['role_id']`.
    pub id: i64,
    pub name: Ident,
    pub caption: String,
    /// With tenancy: the role sees and changes every tenant's rows.
    pub all_tenants: bool,
    /// Privileges on items the role does not list.
    pub default: Privileges,
    pub items: Vec<(ItemId, Privileges)>,
    pub fields: Vec<(ItemId, FieldId, FieldRule)>,
    /// Reports the role names: whether it may print each (Jam.py's can_view of a report);
    /// other reports follow `default`'s view.
    pub reports: Vec<(ReportId, bool)>,
}

/// The effective rights of one role, or of nobody in particular (`unrestricted`).
#[derive(Debug, Clone)]
pub struct Access {
    /// Index into `Task::roles`; `None` when unrestricted.
    pub role: Option<usize>,
    items: Vec<Privileges>,
    prohibited: Vec<Vec<bool>>,
    read_only: Vec<Vec<bool>>,
    /// May print each report.
    reports: Vec<bool>,
}

impl Access {
    /// Everything allowed: for server-side code and projects without safe mode or roles.
    pub fn unrestricted(task: &Task) -> Access {
        Access::for_items(&task.items).with_reports(task.reports.len())
    }

    /// Everything allowed on these items.
    pub fn for_items(items: &[Item]) -> Access {
        Access {
            role: None,
            items: vec![Privileges::ALL; items.len()],
            prohibited: items.iter().map(|i| vec![false; i.fields.len()]).collect(),
            read_only: items.iter().map(|i| vec![false; i.fields.len()]).collect(),
            reports: Vec::new(),
        }
    }

    /// The same rights, printing any of `count` reports.
    pub fn with_reports(mut self, count: usize) -> Access {
        self.reports = vec![true; count];
        self
    }

    /// The rights of `task.roles[index]`.
    pub fn for_role(task: &Task, index: usize) -> Access {
        let role = &task.roles[index];
        let mut access = Access::unrestricted(task);
        access.role = Some(index);
        access.items = vec![role.default; task.items.len()];
        for (item, p) in &role.items {
            access.items[item.0 as usize] = *p;
        }
        access.reports = vec![role.default.view; task.reports.len()];
        for (report, view) in &role.reports {
            access.reports[report.0 as usize] = *view;
        }
        for (item, field, rule) in &role.fields {
            let (i, f) = (item.0 as usize, field.0 as usize);
            match rule {
                FieldRule::Prohibited => access.prohibited[i][f] = true,
                FieldRule::ReadOnly => access.read_only[i][f] = true,
            }
        }
        // A field is prohibited when anything it shows is; chains can depend on each other, so
        // repeat until nothing changes (each round marks at least one more field, or stops).
        loop {
            let mut changed = false;
            for item in &task.items {
                for field in &item.fields {
                    let (i, f) = (item.id.0 as usize, field.id.0 as usize);
                    if access.prohibited[i][f] {
                        continue;
                    }
                    let via_master = field
                        .master_field
                        .is_some_and(|m| access.prohibited[i][m.0 as usize]);
                    let via_lookup = field.lookup.as_ref().is_some_and(|l| {
                        l.steps
                            .iter()
                            .any(|s| access.prohibited[s.item.0 as usize][s.field.0 as usize])
                    });
                    let via_calc = field.calc.is_some_and(|c| {
                        let ci = c.item.0 as usize;
                        access.prohibited[ci][c.field.0 as usize]
                            || access.prohibited[ci][c.link.0 as usize]
                    });
                    if via_master || via_lookup || via_calc {
                        access.prohibited[i][f] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        access
    }

    /// Whether the role may print the report (Jam.py checks the report's can_view).
    pub fn can_print(&self, report: ReportId) -> bool {
        self.reports
            .get(report.0 as usize)
            .copied()
            .unwrap_or(false)
    }

    pub fn privileges(&self, item: ItemId) -> Privileges {
        self.items[item.0 as usize]
    }

    pub fn is_prohibited(&self, item: ItemId, field: FieldId) -> bool {
        self.prohibited[item.0 as usize][field.0 as usize]
    }

    pub fn is_read_only(&self, item: ItemId, field: FieldId) -> bool {
        self.read_only[item.0 as usize][field.0 as usize]
    }
}
