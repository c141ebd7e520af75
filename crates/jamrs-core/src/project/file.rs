//! The project files as written on disk: plain serde structs, no resolution.
//!
//! `Option` fields are left out when saving, so a file keeps only what its author wrote and
//! load → save gives the same text for files in canonical form (see `toml_out`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `jamrs.toml`: task settings, groups and lookup lists.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_limit: Option<u64>,
    /// The most records one apply may change, detail records included (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_apply_records: Option<u64>,
    /// Login required for every endpoint but login (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_mode: Option<bool>,
    /// Sliding session timeout in seconds (default 28800, eight hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout: Option<u64>,
    /// With safe_mode off: the role anonymous requests get (none: no restrictions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_role: Option<String>,
    /// Seconds a server-module handler may run before it is stopped (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_timeout: Option<f64>,
    /// Allow `task.execute` / `task.select` in server modules: raw SQL that no privilege or
    /// tenancy rule checks (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_sql: Option<bool>,
    /// Paths under `/ext` that `on_ext_request` of `task.py` answers (e.g. `"/hooks/github"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginFile>,
    /// Built-in multi-tenancy: which column keeps each user's (or organisation's) rows apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenancy: Option<TenancyFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerFile>,
    /// Where uploaded files are kept (`[files]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<FilesFile>,
    /// How reports and exports run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<ReportsFile>,
    /// Menu groups; a group's `items` may name items and reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookup_lists: Vec<LookupListFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleFile>,
}

/// Login throttling: failed attempts allowed within a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFile {
    /// Failures per login name within the window (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
    /// Failures per client address within the window (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures_per_address: Option<u32>,
    /// The window in seconds (default 900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<u64>,
}

/// `[tenancy]`: the engine keeps rows apart by one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenancyFile {
    /// The tenant column: a field name that covered items have (e.g. `user_id`, `tenant_id`).
    pub column: String,
    /// What fills it: `"user_id"` (per-user data) or `"tenant_id"` (users of an organisation).
    /// Default: the column's name, when it is one of those two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The items it covers. Default: every item that has the column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
}

/// `[[roles]]`: privileges per item and restrictions per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFile {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// With `[tenancy]`: this role sees and changes every tenant's rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_tenants: Option<bool>,
    /// Privileges on every item not listed in `items`: any of view, create, edit, delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default: Vec<String>,
    /// `{item = ["view", …]}`: privileges on one item, replacing `default`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<String, Vec<String>>,
    /// `{"item.field" = "prohibited" | "read_only"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A PostgreSQL server's database (`postgres://user@host:port/database`) instead of the
    /// SQLite file `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whether jamrs creates and migrates the items' tables (default true). `false` for a
    /// database jamrs did not make (an imported Jam.py one): `migrate` never changes those
    /// tables, and `run` only checks that the columns the items use are there. An item's own
    /// `managed` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    /// Mark the session cookie Secure (serve over HTTPS, or behind a proxy that does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_cookies: Option<bool>,
    /// Proxies whose X-Forwarded-For is believed; otherwise the client address is the socket's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
}

/// `[files]`: where uploads of file and image fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesFile {
    /// `"folder"` (the default: a folder of the project) or `"database"` (a system table of
    /// chunks, which every server process on the database sees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// With the folder store: the folder, relative to the project (default `files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The largest file any field takes, in bytes (default 10485760, 10 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
}

/// `[reports]`: how reports and exports run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsFile {
    /// Seconds one report (its module and its conversion) or export may run (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Reports and exports that run at once; more wait in line (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// LibreOffice conversions that run at once (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converters: Option<u32>,
    /// The LibreOffice program (default: `soffice` on the PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soffice: Option<String>,
    /// Minutes a finished report or export can be downloaded (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_minutes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(default)]
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupListFile {
    pub name: String,
    pub values: Vec<(i64, String)>,
}

/// `items/<name>.toml`: one item. The item's name is the file's stem.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Jam.py-style numeric ID; needed when a detail links with `master_id`/`master_rec_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename_from: Option<String>,
    /// Whether jamrs creates and migrates this item's table (default: `[database] managed`,
    /// else true). An unmanaged table is never changed; its columns are only checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_flag: Option<String>,
    /// Detail link, new style: the field holding the master's primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_field: Option<String>,
    /// Detail link, old style: the field holding the master item's `id` …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_id: Option<String>,
    /// … and the field holding the master row's primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_rec_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// Functions of the item's server module that clients may call
    /// (`POST /api/items/<item>/call/<function>`); no other function is reachable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callable: Vec<String>,
    /// Reports the item's view form offers (Jam.py's reports of an item).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<String>,
    /// Field names, `-name` for descending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_order: Vec<String>,
    /// Jam.py's "Summary fields": the fields the view's totals row shows (a sum for a number, a
    /// count of records for anything else). Unset: the currency fields; `[]`: no totals row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexFile>,
    // History and record locking.
    /// Jam.py's "History": record every insert, update and delete of a row (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_history: Option<bool>,
    /// Jam.py's "Edit lock": rows carry a record version, and a change that names an older
    /// one is refused (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_lock: Option<bool>,
    /// With `edit_lock`: the record version field (default `record_version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_version: Option<String>,
    // Form layouts (`crate::layout`): written after the item's lists, as `[view]` and `[edit]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<crate::layout::ViewFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<crate::layout::EditFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldFile {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typeahead: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<LookupFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calc: Option<CalcFile>,
    // Delete integrity.
    /// For a lookup field: what deleting the row it points at does, `"restrict"` (the
    /// default: the delete is refused), `"set_null"` or `"cascade"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    // File and image fields.
    /// Jam.py's Accept string: `image/*`, `audio/*`, `video/*`, `text/*` or `.ext` entries,
    /// comma-separated; checked against the file's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<String>,
    /// The largest file this field takes, in bytes (default: the project's `[files] max_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// An image field's thumbnail sizes in pixels (Jam.py's image options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageFile>,
}

/// `image = { view_width = 48, view_height = 48, edit_width = 240, edit_height = 240 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_height: Option<u32>,
}

impl FieldFile {
    pub fn new(name: &str, field_type: &str) -> Self {
        FieldFile {
            name: name.into(),
            field_type: field_type.into(),
            size: None,
            caption: None,
            db_field: None,
            rename_from: None,
            required: None,
            read_only: None,
            visible: None,
            default_value: None,
            alignment: None,
            help: None,
            placeholder: None,
            typeahead: None,
            lookup: None,
            lookup_values: None,
            master_field: None,
            calc: None,
            on_delete: None,
            accept: None,
            max_size: None,
            image: None,
        }
    }
}

/// `lookup = { item = "albums", field = "artist", field1 = "name" }`: up to three levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupFile {
    pub item: String,
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field2: Option<String>,
}

/// `calc = { item = "invoice_lines", field = "quantity", link = "track", op = "sum" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalcFile {
    pub item: String,
    pub field: String,
    pub link: String,
    pub op: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterFile {
    pub name: String,
    pub field: String,
    /// A `FILTER_*` name (`"ge"`, `"contains_l"`) or Jam.py number (5, 27).
    #[serde(rename = "type")]
    pub filter_type: FilterTypeFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_select_all: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterTypeFile {
    Number(i64),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Field names, `-name` for descending.
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<bool>,
}

/// `reports/<name>.toml`: a report item. The report's name is the file's stem; its template is
/// `reports/<name>.ods` unless `template` names another file in `reports/`, and its server
/// module is `reports/<name>.py`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The template's file name in `reports/` (default `<name>.ods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Listed in its group's menu (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// The formats callers may choose, the default first (default: pdf, ods, xlsx, xls, html).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ReportParamFile>,
}

/// A report parameter, written as an item field is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParamFile {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Shown in the parameter form (default true); a hidden one is set by the caller (the
    /// view form passes the current record's key to a parameter named `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typeahead: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<LookupFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_values: Option<String>,
    /// A lookup parameter that takes a list of keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_select: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_select_all: Option<bool>,
}
