//! The resolved application model: a [`Task`] of groups, items and fields, with every name
//! reference turned into an index and every rule of the project format already checked.
//!
//! Built only by `project::load` (or `Task::from_files`); immutable afterwards and shared as
//! `Arc<Task>`. Code that holds a `Task` may rely on: names are valid identifiers, lookups
//! point at existing items and fields (at most 3 levels), details have a link, calculated
//! fields aggregate over an item that links back, indexes name stored columns.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::access::{Access, Role};
use crate::ident::Ident;
use crate::types::{Agg, Align, FieldType, FilterOp, Value};

/// Index of an item in `Task::items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u32);

/// Index of a report in `Task::reports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportId(pub u32);

/// Index of a field in `Item::fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// The application.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: Ident,
    pub caption: String,
    pub settings: Settings,
    pub groups: Vec<Group>,
    pub items: Vec<Item>,
    /// Report items (`reports/<name>.toml`): Jam.py's reports, printed from a template.
    pub reports: Vec<Report>,
    pub lookup_lists: Vec<LookupList>,
    pub roles: Vec<Role>,
    /// The effective rights of each role, by index into `roles`.
    pub accesses: Vec<Access>,
    /// No restrictions: for server-side code, and anonymous requests without safe mode or an
    /// anonymous role.
    pub unrestricted: Access,
    /// The project folder.
    pub dir: PathBuf,
    /// `task.py`, if the project has one (server modules plug in here).
    pub module: Option<PathBuf>,
    /// The client modules found at load (`client/task.js` as `"task"`, `client/<item>.js` as the
    /// item's name), sorted. Their text is read when served (`project::read_client_module`).
    pub client_modules: Vec<String>,
    pub(crate) item_index: HashMap<String, ItemId>,
    pub(crate) report_index: HashMap<String, ReportId>,
}

/// Task-wide settings from `jamrs.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub language: String,
    /// Login required for every endpoint but login.
    pub safe_mode: bool,
    /// Sliding session timeout in seconds.
    pub session_timeout: u64,
    /// With safe mode off, the role (index into `Task::roles`) anonymous requests get.
    pub anonymous_role: Option<usize>,
    pub login: LoginSettings,
    /// How long a server-module handler may run before it is stopped.
    pub module_timeout: std::time::Duration,
    /// Built-in multi-tenancy, if the project uses it.
    pub tenancy: Option<Tenancy>,
    /// Server modules may run raw SQL (`task.execute`, `task.select`).
    pub raw_sql: bool,
    /// Paths under `/ext` that the task module's `on_ext_request` answers.
    pub ext_paths: Vec<String>,
    /// The largest `limit` an open may ask for; also the limit of an open that gives none.
    pub max_limit: u64,
    /// The most records one apply may change, detail records included.
    pub max_apply_records: usize,
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    /// Where uploaded files are kept, and the largest one (`[files]`).
    pub files: crate::files::FilesSettings,
    pub reports: ReportSettings,
}

/// `[reports]`: how reports and exports run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    /// How long one report (its server module and its conversion) or export may run.
    pub timeout: std::time::Duration,
    /// Reports and exports that run at once; more wait in line.
    pub concurrency: usize,
    /// LibreOffice conversions that run at once.
    pub converters: usize,
    /// The LibreOffice program; `None`: `soffice` on the `PATH`.
    pub soffice: Option<PathBuf>,
    /// How long a finished report or export stays available for download.
    pub keep: std::time::Duration,
}

/// Built-in multi-tenancy: covered items keep a tenant column that the engine fills on insert
/// and adds to every statement's WHERE (and to lookup joins and calculated sub-selects).
#[derive(Debug, Clone, PartialEq)]
pub struct Tenancy {
    /// The column's field name (each covered item's `tenant_field` has it).
    pub column: Ident,
    /// What fills the column.
    pub source: TenantSource,
}

/// Which part of the session's `user_info` is the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// `user_info['user_id']`: each user's own rows.
    UserId,
    /// `user_info['tenant_id']`: the rows of the user's organisation.
    TenantId,
}

impl TenantSource {
    pub fn name(self) -> &'static str {
        match self {
            TenantSource::UserId => "user_id",
            TenantSource::TenantId => "tenant_id",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoginSettings {
    pub max_failures: u32,
    pub max_failures_per_address: u32,
    pub window_seconds: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSettings {
    /// SQLite file, relative to the project folder (used when `url` is `None`).
    pub path: String,
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`), instead of the SQLite file.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub bind: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// A menu group (Jam.py's catalogs, journals, …).
#[derive(Debug, Clone)]
pub struct Group {
    pub name: Ident,
    pub caption: String,
    pub visible: bool,
    pub items: Vec<ItemId>,
    /// Reports the group's menu lists (Jam.py's Reports group).
    pub reports: Vec<ReportId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LookupList {
    pub name: String,
    pub values: Vec<(i64, String)>,
}

/// A dataset backed by a table.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: ItemId,
    pub name: Ident,
    pub caption: String,
    pub table: Ident,
    /// Jam.py-style numeric ID, stored in `master_id` columns of details that link that way.
    pub number: Option<i64>,
    /// jamrs creates and migrates the table. An unmanaged table (one jamrs did not make) is
    /// never changed: a migration only checks that the columns the item uses exist.
    pub managed: bool,
    pub group: usize,
    pub visible: bool,
    pub fields: Vec<Field>,
    pub primary_key: FieldId,
    /// The soft-delete flag, if the item has soft delete. Never exposed to clients.
    pub deleted_flag: Option<FieldId>,
    /// Set when this item is a detail: how its rows link to a master row.
    pub master_link: Option<MasterLink>,
    /// With `[tenancy]`, the tenant column of a covered item.
    pub tenant_field: Option<FieldId>,
    /// Items that list this item among their details.
    pub masters: Vec<ItemId>,
    pub details: Vec<ItemId>,
    /// Server-module functions clients may call.
    pub callable: Vec<Ident>,
    /// Reports the view form offers for this item (Jam.py's item reports).
    pub reports: Vec<ReportId>,
    pub filters: Vec<Filter>,
    pub default_order: Vec<Order>,
    /// The fields the view's totals row shows (`summary_fields`), when the author chose them.
    pub summary_fields: Option<Vec<FieldId>>,
    pub indexes: Vec<Index>,
    /// The author's form layouts (`[view]`, `[edit]`); defaults where absent.
    pub layout: crate::layout::Layout,
    /// Previous table name, so a migration can rename instead of drop-and-create.
    pub rename_from: Option<Ident>,
    /// The item's file, for error messages.
    pub file: PathBuf,
    /// The item's server module (`<name>.py` beside the item file), if present.
    pub module: Option<PathBuf>,
    // History, record locking and delete integrity.
    /// `keep_history`: every insert, update and delete of a row is recorded in the history
    /// table, in the transaction of the change.
    pub keep_history: bool,
    /// With `edit_lock`: the record version field (Jam.py's `record_version`), which every
    /// update raises; a change that names an older version is refused.
    pub record_version: Option<FieldId>,
    /// Lookup fields of other items (and of this one) that hold keys of this item's rows, with
    /// what deleting such a row does to them. Detail links are not among them: a delete
    /// cascades to its details anyway.
    pub referrers: Vec<Referrer>,
    pub(crate) field_index: HashMap<String, FieldId>,
}

/// A lookup field that points at rows of an item ([`Item::referrers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Referrer {
    pub item: ItemId,
    pub field: FieldId,
    pub on_delete: OnDelete,
}

/// What deleting a row does to the rows whose lookup field points at it (`on_delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDelete {
    /// The delete is refused while live rows point at it (the default).
    #[default]
    Restrict,
    /// The lookup field of those rows is emptied.
    SetNull,
    /// Those rows are deleted too (with their details and their own referrers).
    Cascade,
}

impl OnDelete {
    pub const ALL: [OnDelete; 3] = [OnDelete::Restrict, OnDelete::SetNull, OnDelete::Cascade];

    pub fn name(self) -> &'static str {
        match self {
            OnDelete::Restrict => "restrict",
            OnDelete::SetNull => "set_null",
            OnDelete::Cascade => "cascade",
        }
    }

    pub fn from_name(name: &str) -> Option<OnDelete> {
        OnDelete::ALL.into_iter().find(|o| o.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterLink {
    /// New style: one field of the detail holds the master's primary key.
    MasterField(FieldId),
    /// Old style: `master_id` holds the master item's number, `master_rec_id` its primary key.
    MasterIdRecId {
        master_id: FieldId,
        master_rec_id: FieldId,
    },
}

impl MasterLink {
    /// The detail fields the link occupies.
    pub fn fields(self) -> Vec<FieldId> {
        match self {
            MasterLink::MasterField(f) => vec![f],
            MasterLink::MasterIdRecId {
                master_id,
                master_rec_id,
            } => vec![master_id, master_rec_id],
        }
    }
}

/// Fields the system maintains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemField {
    PrimaryKey,
    Deleted,
    MasterId,
    MasterRecId,
    /// The record version of an item with `edit_lock`.
    RecordVersion,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: FieldId,
    pub name: Ident,
    pub caption: String,
    pub field_type: FieldType,
    /// Maximum length for text fields.
    pub size: Option<u32>,
    /// The column holding this field's value; `None` for calculated fields and for fields with a
    /// `master_field` (they show another column of their master field's lookup row).
    pub column: Option<Ident>,
    pub required: bool,
    pub read_only: bool,
    pub visible: bool,
    pub default_value: Option<DefaultValue>,
    pub alignment: Option<Align>,
    pub help: Option<String>,
    pub placeholder: Option<String>,
    pub typeahead: bool,
    pub lookup: Option<Lookup>,
    /// Index into `Task::lookup_lists`.
    pub lookup_values: Option<usize>,
    pub master_field: Option<FieldId>,
    pub calc: Option<Calc>,
    pub system: Option<SystemField>,
    /// Previous column name, so a migration renames instead of drop-and-add.
    pub rename_from: Option<Ident>,
    /// For a lookup field: what deleting the row it points at does (`on_delete`).
    pub on_delete: OnDelete,
    /// For a file or image field: what it accepts, its size limit and thumbnail sizes.
    pub file: Option<crate::files::FileSettings>,
}

impl Field {
    /// True when the field has a column of its own in the item's table.
    pub fn is_stored(&self) -> bool {
        self.column.is_some()
    }
}

/// A lookup: the field stores a primary key of `steps[0].item`; the text shown comes from the
/// last step (each further step follows a lookup field of the previous item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub steps: Vec<LookupStep>,
}

impl Lookup {
    pub fn item(&self) -> ItemId {
        self.steps[0].item
    }

    pub fn text_step(&self) -> LookupStep {
        self.steps[self.steps.len() - 1]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LookupStep {
    pub item: ItemId,
    pub field: FieldId,
}

/// A calculated field: `op(item.field)` over the rows of `item` whose `link` is this row's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calc {
    pub item: ItemId,
    pub field: FieldId,
    pub link: FieldId,
    pub op: Agg,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Value(Value),
    /// The current date (date fields) — Jam.py's "current date".
    Today,
    /// The current date and time (datetime fields).
    Now,
}

/// A report item: a template, parameters, and a server module that prints the template's
/// bands (`on_generate`).
#[derive(Debug, Clone)]
pub struct Report {
    pub id: ReportId,
    pub name: Ident,
    pub caption: String,
    /// Shown in its group's menu.
    pub visible: bool,
    /// The group whose menu lists the report, if any.
    pub group: Option<usize>,
    /// The template (`.ods` or `.ots`), under `reports/`.
    pub template: PathBuf,
    /// The report's server module (`reports/<name>.py`), if present.
    pub module: Option<PathBuf>,
    pub params: Vec<ReportParam>,
    /// The formats a caller may ask for, the default first (names of [`REPORT_FORMATS`]).
    pub formats: Vec<String>,
    /// The report's file, for error messages.
    pub file: PathBuf,
}

/// The formats a report can be printed in: the template's own, and LibreOffice's conversions.
pub const REPORT_FORMATS: [&str; 5] = ["pdf", "ods", "xlsx", "xls", "html"];

/// A report parameter: a field of the parameter form.
#[derive(Debug, Clone)]
pub struct ReportParam {
    /// The parameter as a field (type, caption, required, lookup, lookup list, …).
    pub field: Field,
    /// A lookup parameter that takes a list of keys.
    pub multi_select: bool,
    /// With `multi_select`: the form offers "select all".
    pub multi_select_all: bool,
}

impl Report {
    pub fn param_by_name(&self, name: &str) -> Option<&ReportParam> {
        self.params.iter().find(|p| p.field.name.as_str() == name)
    }
}

/// A named filter shown in the filter form.
#[derive(Debug, Clone)]
pub struct Filter {
    pub name: Ident,
    pub caption: String,
    pub field: FieldId,
    pub op: FilterOp,
    pub on_lookup: bool,
    pub visible: bool,
    pub multi_select_all: bool,
    pub help: Option<String>,
    pub placeholder: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub field: FieldId,
    pub desc: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: Ident,
    pub fields: Vec<Order>,
    pub unique: bool,
}

impl Task {
    /// The project's server modules (`task.py`, then the items' `.py` files), as found on disk.
    pub fn module_files(&self) -> impl Iterator<Item = &std::path::Path> {
        self.module
            .iter()
            .chain(self.items.iter().filter_map(|i| i.module.as_ref()))
            .chain(self.reports.iter().filter_map(|r| r.module.as_ref()))
            .map(PathBuf::as_path)
    }

    pub fn report(&self, id: ReportId) -> &Report {
        &self.reports[id.0 as usize]
    }

    pub fn report_by_name(&self, name: &str) -> Option<&Report> {
        self.report_index.get(name).map(|id| self.report(*id))
    }

    pub fn item(&self, id: ItemId) -> &Item {
        &self.items[id.0 as usize]
    }

    pub fn item_by_name(&self, name: &str) -> Option<&Item> {
        self.item_index.get(name).map(|id| self.item(*id))
    }

    /// The index of the role with Jam.py id `id`.
    pub fn role_index(&self, id: i64) -> Option<usize> {
        self.roles.iter().position(|r| r.id == id)
    }

    pub fn role_by_name(&self, name: &str) -> Option<usize> {
        self.roles.iter().position(|r| r.name.as_str() == name)
    }

    /// The rights of a role, or no restrictions for `None`.
    pub fn access(&self, role: Option<usize>) -> &Access {
        match role {
            Some(i) => &self.accesses[i],
            None => &self.unrestricted,
        }
    }

    /// The text of a lookup's last step.
    pub fn lookup_text_field(&self, lookup: &Lookup) -> &Field {
        let step = lookup.text_step();
        self.item(step.item).field(step.field)
    }
}

impl Item {
    pub fn field(&self, id: FieldId) -> &Field {
        &self.fields[id.0 as usize]
    }

    pub fn field_by_name(&self, name: &str) -> Option<&Field> {
        self.field_index.get(name).map(|id| self.field(*id))
    }

    pub fn pk(&self) -> &Field {
        self.field(self.primary_key)
    }

    /// True when the primary key is a text field (a table jamrs did not create, keyed by a
    /// text the client chooses); its records' keys are [`crate::Key::Text`].
    pub fn text_key(&self) -> bool {
        self.fields
            .get(self.primary_key.0 as usize)
            .is_some_and(|f| f.field_type == FieldType::Text)
    }

    pub fn is_detail(&self) -> bool {
        self.master_link.is_some()
    }

    /// Fields a client may see and name: everything but the soft-delete flag.
    pub fn public_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields
            .iter()
            .filter(|f| f.system != Some(SystemField::Deleted))
    }

    /// The column that holds a field's value: its own, or its master field's.
    pub fn value_column<'a>(&'a self, field: &'a Field) -> Option<&'a Ident> {
        match field.master_field {
            Some(m) => self.field(m).column.as_ref(),
            None => field.column.as_ref(),
        }
    }

    /// Fields stored in the table, in field order.
    pub fn stored_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.is_stored())
    }

    /// True when `field` is set by the server alone (primary key, deleted flag, master link,
    /// tenant column).
    pub fn is_server_set(&self, field: FieldId) -> bool {
        self.field(field).system.is_some()
            || self.tenant_field == Some(field)
            || self
                .master_link
                .is_some_and(|link| link.fields().contains(&field))
    }
}
