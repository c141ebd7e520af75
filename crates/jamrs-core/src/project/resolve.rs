//! From parsed files to a checked [`Task`]. Every rule of the project format lives here, and
//! every violation is reported with the file it is in.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::file::*;
use super::{ITEMS_DIR, ProjectError, ProjectFiles, REPORTS_DIR, TASK_FILE, TASK_MODULE};
use crate::access::{Access, FieldRule, Privileges, Role};
use crate::ident::Ident;
use crate::model::*;
use crate::types::{Agg, Align, FieldType, FilterOp, Value};
use crate::values;

const DEFAULT_MAX_LIMIT: u64 = 1000;
/// A page larger than this is an export, not a page; it would be held in memory whole.
const MAX_MAX_LIMIT: u64 = 1_000_000;
const DEFAULT_MAX_APPLY_RECORDS: u64 = 10_000;
/// One apply is one transaction on the one writer: every other write waits for it.
const MAX_MAX_APPLY_RECORDS: u64 = 100_000;
/// SQLite's longest text or blob is a billion bytes, and a body is held in memory whole.
const MAX_MAX_BODY: usize = 1 << 30;
/// A year: sessions and the login-failure window are measured in seconds on an `i64` clock.
const MAX_SECONDS: u64 = 366 * 24 * 3600;
const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_MAX_BODY: usize = 1 << 20;
const DEFAULT_SESSION_TIMEOUT: u64 = 8 * 3600;
/// Stands for a primary key whose declaration failed (an error is already reported).
const NO_FIELD: FieldId = FieldId(u32::MAX);
/// Fields of one item: an open shows at most two columns per field (its value and a lookup
/// text), and SQLite returns at most 2000 columns.
pub const MAX_FIELDS: usize = 1000;
/// Lookup joins of one item's open (every lookup text at once): SQLite joins at most 64 tables,
/// the item's own among them.
pub const MAX_LOOKUP_JOINS: usize = 63;
/// Levels of details under a master (a master, its details, theirs, …): every walk over a
/// delta or a delete's cascade goes as deep.
pub const MAX_DETAIL_LEVELS: usize = 8;

pub(super) struct Errors(Vec<String>);

impl Errors {
    pub(super) fn push(&mut self, file: &str, msg: impl AsRef<str>) {
        self.0.push(format!("{file}: {}", msg.as_ref()));
    }
}

/// `user_id` → `User id`.
pub(crate) fn default_caption(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(super) fn resolve(files: &ProjectFiles, dir: &Path) -> Result<Task, ProjectError> {
    let mut errs = Errors(Vec::new());
    let tf = &files.task;

    let task_name = Ident::parse(&tf.name).unwrap_or_else(|e| {
        errs.push(TASK_FILE, format!("name: {e}"));
        Ident::parse("invalid").expect("a valid literal")
    });
    let settings = resolve_settings(tf, &mut errs);
    let lookup_lists = resolve_lookup_lists(tf, &mut errs);

    let default_managed = tf.database.as_ref().and_then(|d| d.managed).unwrap_or(true);
    // Pass 1: names, tables and field skeletons, so references can be resolved in pass 2.
    let mut item_index: HashMap<String, ItemId> = HashMap::new();
    let mut items: Vec<Item> = Vec::new();
    for (name, file) in &files.items {
        let path = format!("{ITEMS_DIR}/{name}.toml");
        let item_name = match Ident::parse(name) {
            Ok(n) => n,
            Err(e) => {
                errs.push(&path, format!("the file name is the item's name: {e}"));
                continue;
            }
        };
        let id = ItemId(items.len() as u32);
        item_index.insert(name.clone(), id);
        items.push(item_skeleton(
            id,
            item_name,
            file,
            &path,
            dir,
            default_managed,
            &mut errs,
        ));
    }

    let mut tables: HashMap<String, String> = HashMap::new();
    for item in &items {
        // SQLite compares table names without regard to ASCII case: `Orders` is `orders`.
        if let Some(other) = tables.insert(
            item.table.as_str().to_ascii_lowercase(),
            item.name.to_string(),
        ) {
            errs.push(
                &item_path(item),
                format!(
                    "table \"{}\" is already used by item \"{other}\"; each item needs its own table",
                    item.table
                ),
            );
        }
    }

    let report_files = super::reports::read(dir, &mut errs);
    let report_index = super::reports::index(&report_files, &item_index, &mut errs);
    let (groups, report_groups) =
        resolve_groups(tf, &item_index, &report_index, &mut items, &mut errs);

    // Pass 2: everything that refers to other fields or items.
    let ctx = Ctx {
        files,
        max_file_size: settings.files.max_size,
        item_index: &item_index,
        skeletons: &items,
        lookup_lists: &lookup_lists,
    };
    let mut resolved: Vec<Item> = Vec::with_capacity(items.len());
    for item in &items {
        resolved.push(ctx.resolve_item(item.clone(), ctx.item_file(item.id), &mut errs));
    }
    link_details(&ctx, &mut resolved, &mut errs);
    // Layouts name details, so they come after the links.
    for i in 0..resolved.len() {
        let path = item_path(&resolved[i]);
        let layout = super::layout::resolve(
            &resolved[i],
            &resolved,
            ctx.item_file(resolved[i].id),
            &mut |msg| errs.push(&path, msg),
        );
        resolved[i].layout = layout;
    }
    link_referrers(&mut resolved);
    check_numbers(&resolved, &mut errs);
    let reports = super::reports::resolve(
        dir,
        &report_files,
        &report_index,
        &report_groups,
        &ctx,
        &mut errs,
    );
    for item in &mut resolved {
        for name in &ctx.item_file(item.id).reports {
            match report_index.get(name) {
                Some(r) if !item.reports.contains(r) => item.reports.push(*r),
                Some(_) => errs.push(
                    &item_path(item),
                    format!("reports: \"{name}\" is listed twice"),
                ),
                None => errs.push(
                    &item_path(item),
                    format!("reports: there is no report \"{name}\" ({REPORTS_DIR}/{name}.toml)"),
                ),
            }
        }
    }
    let roles = resolve_roles(tf, &resolved, &item_index, &report_index, &mut errs);
    let mut settings = settings;
    settings.tenancy = resolve_tenancy(tf, &mut resolved, &item_index, &mut errs);
    add_calc_link_indexes(&mut resolved, &mut errs);
    // After tenancy and calculated fields, which may add indexes.
    check_index_names(&resolved, &mut errs);
    // After links and tenancy, which give fields the roles the server fills.
    check_roles(&resolved, &lookup_lists, &mut errs);
    if settings.tenancy.is_none() && roles.iter().any(|r| r.all_tenants) {
        errs.push(
            TASK_FILE,
            "a role has all_tenants, but there is no [tenancy]",
        );
    }
    settings.anonymous_role = match &tf.anonymous_role {
        Some(name) => {
            if settings.safe_mode {
                errs.push(
                    TASK_FILE,
                    "anonymous_role applies only when safe_mode = false",
                );
            }
            let found = roles.iter().position(|r| r.name.as_str() == name);
            if found.is_none() {
                errs.push(
                    TASK_FILE,
                    format!("anonymous_role \"{name}\" is not one of the [[roles]]"),
                );
            }
            found
        }
        None => None,
    };
    if settings.safe_mode && roles.is_empty() {
        errs.push(
            TASK_FILE,
            "safe_mode is on (the default) but no [[roles]] are defined, so no user could do anything; add roles, or set safe_mode = false",
        );
    }

    let module = dir.join(TASK_MODULE);
    let client_modules =
        super::client_modules(dir, &item_index, &mut |file, msg| errs.push(file, msg));
    if !errs.0.is_empty() {
        return Err(ProjectError { errors: errs.0 });
    }
    let unrestricted = Access::for_items(&resolved).with_reports(reports.len());
    let mut task = Task {
        name: task_name,
        caption: tf
            .caption
            .clone()
            .unwrap_or_else(|| default_caption(&tf.name)),
        settings,
        groups,
        items: resolved,
        reports,
        lookup_lists,
        roles,
        accesses: Vec::new(),
        unrestricted,
        dir: dir.to_path_buf(),
        module: module.is_file().then_some(module),
        client_modules,
        item_index,
        report_index,
    };
    task.accesses = (0..task.roles.len())
        .map(|i| Access::for_role(&task, i))
        .collect();
    Ok(task)
}

fn item_path(item: &Item) -> String {
    format!("{ITEMS_DIR}/{}.toml", item.name)
}

fn resolve_settings(tf: &TaskFile, errs: &mut Errors) -> Settings {
    let max_limit = tf.max_limit.unwrap_or(DEFAULT_MAX_LIMIT);
    if max_limit == 0 {
        errs.push(TASK_FILE, "max_limit must be at least 1");
    } else if max_limit > MAX_MAX_LIMIT {
        errs.push(
            TASK_FILE,
            format!("max_limit must be at most {MAX_MAX_LIMIT}"),
        );
    }
    let max_apply_records = tf.max_apply_records.unwrap_or(DEFAULT_MAX_APPLY_RECORDS);
    if !(1..=MAX_MAX_APPLY_RECORDS).contains(&max_apply_records) {
        errs.push(
            TASK_FILE,
            format!("max_apply_records must be between 1 and {MAX_MAX_APPLY_RECORDS}"),
        );
    }
    let db_path = tf
        .database
        .as_ref()
        .and_then(|d| d.path.clone())
        .unwrap_or_else(|| format!("data/{}.sqlite", tf.name));
    if db_path.trim().is_empty() || db_path.contains('\0') {
        // SQLite opens an empty name as a temporary database, lost when it closes.
        errs.push(
            TASK_FILE,
            "database.path must name a file (it is empty or holds a NUL character)",
        );
    }
    let db_url = tf
        .database
        .as_ref()
        .and_then(|d| d.url.clone())
        .filter(|u| !u.trim().is_empty());
    if let Some(url) = &db_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        // Only the scheme: the URL's host, user and database are checked when connecting.
        errs.push(
            TASK_FILE,
            "database.url must be a PostgreSQL URL (postgres://user@host:port/database); leave it out to use the SQLite file database.path",
        );
    }
    let server = tf.server.as_ref();
    let bind = server
        .and_then(|s| s.bind.clone())
        .unwrap_or_else(|| DEFAULT_BIND.to_string());
    if bind.parse::<std::net::SocketAddr>().is_err() {
        errs.push(
            TASK_FILE,
            format!("server.bind: \"{bind}\" is not an address such as 127.0.0.1:8080"),
        );
    }
    let max_body_bytes = server
        .and_then(|s| s.max_body_bytes)
        .unwrap_or(DEFAULT_MAX_BODY);
    if max_body_bytes < 1024 {
        errs.push(TASK_FILE, "server.max_body_bytes must be at least 1024");
    } else if max_body_bytes > MAX_MAX_BODY {
        errs.push(
            TASK_FILE,
            format!("server.max_body_bytes must be at most {MAX_MAX_BODY} (1 GiB)"),
        );
    }
    let mut trusted_proxies = Vec::new();
    for p in server
        .map(|s| s.trusted_proxies.as_slice())
        .unwrap_or_default()
    {
        match p.parse::<std::net::IpAddr>() {
            Ok(ip) => trusted_proxies.push(ip),
            Err(_) => errs.push(
                TASK_FILE,
                format!("server.trusted_proxies: \"{p}\" is not an IP address"),
            ),
        }
    }
    let login = tf.login.as_ref();
    let login = LoginSettings {
        max_failures: login.and_then(|l| l.max_failures).unwrap_or(5),
        max_failures_per_address: login.and_then(|l| l.max_failures_per_address).unwrap_or(20),
        window_seconds: login.and_then(|l| l.window_seconds).unwrap_or(900),
    };
    if login.max_failures == 0 || login.max_failures_per_address == 0 || login.window_seconds == 0 {
        errs.push(
            TASK_FILE,
            "login: max_failures, max_failures_per_address and window_seconds must be at least 1",
        );
    }
    if login.window_seconds > MAX_SECONDS {
        errs.push(
            TASK_FILE,
            format!("login.window_seconds must be at most {MAX_SECONDS} (a year)"),
        );
    }
    let session_timeout = tf.session_timeout.unwrap_or(DEFAULT_SESSION_TIMEOUT);
    if session_timeout < 60 {
        errs.push(TASK_FILE, "session_timeout must be at least 60 seconds");
    } else if session_timeout > MAX_SECONDS {
        errs.push(
            TASK_FILE,
            format!("session_timeout must be at most {MAX_SECONDS} seconds (a year)"),
        );
    }
    let module_timeout = match tf.module_timeout.unwrap_or(10.0) {
        // `contains` is false for NaN, so NaN and the infinities are refused here too.
        t if (0.01..=3600.0).contains(&t) => std::time::Duration::from_secs_f64(t),
        t => {
            errs.push(
                TASK_FILE,
                format!("module_timeout must be between 0.01 and 3600 seconds, not {t}"),
            );
            std::time::Duration::from_secs(10)
        }
    };
    let mut ext_paths = Vec::new();
    for p in &tf.ext_paths {
        let ok = p.starts_with('/')
            && p.len() > 1
            && p[1..].split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if ok {
            ext_paths.push(p.clone());
        } else {
            errs.push(
                TASK_FILE,
                format!("ext_paths: \"{p}\" is not a path such as \"/hooks/github\" (segments of letters, digits, - _ .)"),
            );
        }
    }
    let files = resolve_files(tf, errs);
    let reports = resolve_report_settings(tf, errs);
    Settings {
        files,
        reports,
        language: tf.language.clone().unwrap_or_else(|| "en".into()),
        module_timeout,
        ext_paths,
        raw_sql: tf.raw_sql.unwrap_or(false),
        tenancy: None,
        safe_mode: tf.safe_mode.unwrap_or(true),
        session_timeout,
        anonymous_role: None,
        login,
        max_limit,
        max_apply_records: usize::try_from(max_apply_records).unwrap_or(usize::MAX),
        database: DatabaseSettings {
            path: db_path,
            url: db_url,
        },
        server: ServerSettings {
            bind,
            max_body_bytes,
            secure_cookies: server.and_then(|s| s.secure_cookies).unwrap_or(false),
            trusted_proxies,
        },
    }
}

/// `[files]`: the store and the largest file.
fn resolve_files(tf: &TaskFile, errs: &mut Errors) -> crate::files::FilesSettings {
    use crate::files::{DEFAULT_FOLDER, DEFAULT_MAX_SIZE, FileStore, FilesSettings, MAX_MAX_SIZE};
    let Some(f) = &tf.files else {
        return FilesSettings::default();
    };
    let max_size = f.max_size.unwrap_or(DEFAULT_MAX_SIZE);
    if !(1..=MAX_MAX_SIZE).contains(&max_size) {
        errs.push(
            TASK_FILE,
            format!("files.max_size must be between 1 and {MAX_MAX_SIZE} bytes (1 GiB)"),
        );
    }
    let folder = f.folder.clone().unwrap_or_else(|| DEFAULT_FOLDER.into());
    // A plain relative folder inside the project: never the project itself, a parent, an
    // absolute path or a hidden one.
    let folder_ok = !folder.is_empty()
        && !folder.starts_with('/')
        && folder.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if !folder_ok {
        errs.push(
            TASK_FILE,
            format!("files.folder: \"{folder}\" is not a folder inside the project such as \"files\" or \"data/files\""),
        );
    }
    let store = match f.store.as_deref().unwrap_or("folder") {
        "folder" => FileStore::Folder(folder),
        "database" => {
            if f.folder.is_some() {
                errs.push(TASK_FILE, "files.folder applies only to store = \"folder\"");
            }
            FileStore::Database
        }
        other => {
            errs.push(
                TASK_FILE,
                format!("files.store: \"{other}\" is not \"folder\" or \"database\""),
            );
            FileStore::Folder(folder)
        }
    };
    FilesSettings { store, max_size }
}

fn resolve_report_settings(tf: &TaskFile, errs: &mut Errors) -> ReportSettings {
    let r = tf.reports.clone().unwrap_or_default();
    let timeout = match r.timeout.unwrap_or(300.0) {
        t if (1.0..=86_400.0).contains(&t) => std::time::Duration::from_secs_f64(t),
        t => {
            errs.push(
                TASK_FILE,
                format!("reports.timeout must be between 1 and 86400 seconds, not {t}"),
            );
            std::time::Duration::from_secs(300)
        }
    };
    let count = |key: &str, v: Option<u32>, default: u32, errs: &mut Errors| -> usize {
        let v = v.unwrap_or(default);
        if !(1..=64).contains(&v) {
            errs.push(TASK_FILE, format!("reports.{key} must be between 1 and 64"));
        }
        v.clamp(1, 64) as usize
    };
    let concurrency = count("concurrency", r.concurrency, 2, errs);
    let converters = count("converters", r.converters, 1, errs);
    let keep_minutes = r.keep_minutes.unwrap_or(60);
    if !(1..=7 * 24 * 60).contains(&keep_minutes) {
        errs.push(
            TASK_FILE,
            "reports.keep_minutes must be between 1 and 10080 (a week)",
        );
    }
    if r.soffice.as_deref().is_some_and(|s| s.trim().is_empty()) {
        errs.push(
            TASK_FILE,
            "reports.soffice must name the LibreOffice program",
        );
    }
    ReportSettings {
        timeout,
        concurrency,
        converters,
        soffice: r.soffice.map(std::path::PathBuf::from),
        keep: std::time::Duration::from_secs(keep_minutes.clamp(1, 7 * 24 * 60) * 60),
    }
}

fn resolve_lookup_lists(tf: &TaskFile, errs: &mut Errors) -> Vec<LookupList> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for list in &tf.lookup_lists {
        if !seen.insert(list.name.clone()) {
            errs.push(
                TASK_FILE,
                format!("lookup list \"{}\" is defined twice", list.name),
            );
        }
        if list.values.is_empty() {
            errs.push(
                TASK_FILE,
                format!("lookup list \"{}\" has no values", list.name),
            );
        }
        let mut values = HashSet::new();
        for (v, _) in &list.values {
            if !values.insert(*v) {
                errs.push(
                    TASK_FILE,
                    format!("lookup list \"{}\": value {v} appears twice", list.name),
                );
            }
        }
        out.push(LookupList {
            name: list.name.clone(),
            values: list.values.clone(),
        });
    }
    out
}

/// The groups, and the group of each report a group lists (a group's `items` may name items
/// and reports; Jam.py keeps reports in a Reports group).
fn resolve_groups(
    tf: &TaskFile,
    item_index: &HashMap<String, ItemId>,
    report_index: &HashMap<String, ReportId>,
    items: &mut [Item],
    errs: &mut Errors,
) -> (Vec<Group>, HashMap<ReportId, usize>) {
    let mut groups = Vec::new();
    let mut placed: HashMap<ItemId, String> = HashMap::new();
    let mut placed_reports: HashMap<ReportId, usize> = HashMap::new();
    let mut names = HashSet::new();
    for (gi, g) in tf.groups.iter().enumerate() {
        let name = match Ident::parse(&g.name) {
            Ok(n) => n,
            Err(e) => {
                errs.push(TASK_FILE, format!("group name: {e}"));
                continue;
            }
        };
        if !names.insert(g.name.clone()) {
            errs.push(TASK_FILE, format!("group \"{}\" is defined twice", g.name));
        }
        let mut members = Vec::new();
        let mut reports = Vec::new();
        for item_name in &g.items {
            if let Some(r) = report_index.get(item_name) {
                if let Some(other) = placed_reports.insert(*r, groups.len()) {
                    let other = tf.groups.get(other).map_or("?", |o| o.name.as_str());
                    errs.push(
                        TASK_FILE,
                        format!("report \"{item_name}\" is in groups \"{other}\" and \"{}\"; a report belongs to one group", g.name),
                    );
                }
                reports.push(*r);
                continue;
            }
            match item_index.get(item_name) {
                Some(id) => {
                    if let Some(other) = placed.insert(*id, g.name.clone()) {
                        errs.push(
                            TASK_FILE,
                            format!("item \"{item_name}\" is in groups \"{other}\" and \"{}\"; an item belongs to one group", g.name),
                        );
                    }
                    items[id.0 as usize].group = gi;
                    members.push(*id);
                }
                None => errs.push(
                    TASK_FILE,
                    format!(
                        "group \"{}\" lists item \"{item_name}\", but there is no {ITEMS_DIR}/{item_name}.toml or {REPORTS_DIR}/{item_name}.toml",
                        g.name
                    ),
                ),
            }
        }
        groups.push(Group {
            name,
            caption: g
                .caption
                .clone()
                .unwrap_or_else(|| default_caption(&g.name)),
            visible: g.visible.unwrap_or(true),
            items: members,
            reports,
        });
    }
    for item in items.iter() {
        if !placed.contains_key(&item.id) {
            errs.push(
                TASK_FILE,
                format!(
                    "item \"{}\" is in no group: add it to the items of a [[groups]] entry",
                    item.name
                ),
            );
        }
    }
    (groups, placed_reports)
}

pub(super) fn blank_field(id: FieldId, name: Ident, field_type: FieldType) -> Field {
    Field {
        id,
        caption: default_caption(name.as_str()),
        column: Some(name.clone()),
        name,
        field_type,
        size: None,
        required: false,
        read_only: false,
        visible: true,
        default_value: None,
        alignment: None,
        help: None,
        placeholder: None,
        typeahead: false,
        lookup: None,
        lookup_values: None,
        master_field: None,
        calc: None,
        system: None,
        rename_from: None,
        on_delete: OnDelete::Restrict,
        file: None,
    }
}

/// Pass 1 for one item: names, table, field list (with the implicit system fields).
fn item_skeleton(
    id: ItemId,
    name: Ident,
    file: &ItemFile,
    path: &str,
    dir: &Path,
    default_managed: bool,
    errs: &mut Errors,
) -> Item {
    let table = match &file.table {
        Some(t) => Ident::parse_sql_name(t).unwrap_or_else(|e| {
            errs.push(path, format!("table: {e}"));
            name.clone()
        }),
        None => name.clone(),
    };
    let mut fields: Vec<Field> = Vec::new();
    let mut field_index: HashMap<String, FieldId> = HashMap::new();
    let mut columns: HashMap<String, String> = HashMap::new();

    let pk_name = file.primary_key.clone().unwrap_or_else(|| "id".into());
    let declared = |n: &str| file.fields.iter().any(|f| f.name == n);
    let mut add = |fields: &mut Vec<Field>, field: Field, errs: &mut Errors| {
        let fname = field.name.to_string();
        if field_index.contains_key(&fname) {
            errs.push(path, format!("field \"{fname}\" is defined twice"));
            return;
        }
        if let Some(col) = &field.column
            && let Some(other) = columns.insert(col.as_str().to_ascii_lowercase(), fname.clone())
        {
            errs.push(
                path,
                format!("field \"{fname}\": column \"{col}\" is already used by field \"{other}\""),
            );
        }
        field_index.insert(fname, field.id);
        fields.push(field);
    };
    let next_id = |fields: &Vec<Field>| FieldId(fields.len() as u32);

    if !declared(&pk_name) {
        match Ident::parse(&pk_name) {
            Ok(n) => {
                let mut f = blank_field(next_id(&fields), n, FieldType::Integer);
                f.caption = "ID".into();
                f.visible = false;
                add(&mut fields, f, errs);
            }
            Err(e) => errs.push(path, format!("primary_key: {e}")),
        }
    }
    for ff in &file.fields {
        let fname = match Ident::parse(&ff.name) {
            Ok(n) => n,
            Err(e) => {
                errs.push(path, format!("field name: {e}"));
                continue;
            }
        };
        let ferr = |errs: &mut Errors, msg: String| {
            errs.push(path, format!("field \"{}\": {msg}", ff.name))
        };
        let Some(field_type) = FieldType::from_name(&ff.field_type) else {
            let names: Vec<&str> = FieldType::ALL.iter().map(|t| t.name()).collect();
            ferr(
                errs,
                format!(
                    "unknown type \"{}\" (one of: {})",
                    ff.field_type,
                    names.join(", ")
                ),
            );
            continue;
        };
        let mut f = blank_field(next_id(&fields), fname, field_type);
        if let Some(c) = &ff.caption {
            f.caption = c.clone();
        }
        if ff.master_field.is_some() || ff.calc.is_some() {
            if ff.db_field.is_some() {
                ferr(
                    errs,
                    "db_field cannot be set on a field with master_field or calc: it has no column of its own".into(),
                );
            }
            f.column = None;
        } else if let Some(col) = &ff.db_field {
            match Ident::parse_sql_name(col) {
                Ok(c) => f.column = Some(c),
                Err(e) => ferr(errs, format!("db_field: {e}")),
            }
        }
        if let Some(r) = &ff.rename_from {
            match Ident::parse_sql_name(r) {
                Ok(c) => f.rename_from = Some(c),
                Err(e) => ferr(errs, format!("rename_from: {e}")),
            }
        }
        add(&mut fields, f, errs);
    }
    let mut system_field =
        |fields: &mut Vec<Field>, fname: &str, t: FieldType, role: &str, errs: &mut Errors| {
            if declared(fname) || fields.iter().any(|f| f.name.as_str() == fname) {
                return;
            }
            match Ident::parse(fname) {
                Ok(n) => {
                    let mut f = blank_field(next_id(fields), n, t);
                    f.visible = false;
                    add(fields, f, errs);
                }
                Err(e) => errs.push(path, format!("{role}: {e}")),
            }
        };
    let soft_delete = file.soft_delete.unwrap_or(false);
    let deleted_name = file
        .deleted_flag
        .clone()
        .unwrap_or_else(|| "deleted".into());
    if file.deleted_flag.is_some() && !soft_delete {
        errs.push(path, "deleted_flag is set but soft_delete is not true");
    }
    if let Some(mid) = &file.master_id {
        system_field(&mut fields, mid, FieldType::Integer, "master_id", errs);
    }
    if let Some(mrid) = &file.master_rec_id {
        system_field(&mut fields, mrid, FieldType::Integer, "master_rec_id", errs);
    }
    if soft_delete {
        system_field(
            &mut fields,
            &deleted_name,
            FieldType::Boolean,
            "deleted_flag",
            errs,
        );
    }
    let edit_lock = file.edit_lock.unwrap_or(false);
    let version_name = file
        .record_version
        .clone()
        .unwrap_or_else(|| "record_version".into());
    if file.record_version.is_some() && !edit_lock {
        errs.push(path, "record_version is set but edit_lock is not true");
    }
    if edit_lock {
        system_field(
            &mut fields,
            &version_name,
            FieldType::Integer,
            "record_version",
            errs,
        );
    }

    // Missing only when its declaration failed, which is already reported; `resolve_item`
    // skips the key's checks then.
    let pk = field_index.get(&pk_name).copied().unwrap_or(NO_FIELD);
    let deleted_flag = if soft_delete {
        field_index.get(&deleted_name).copied()
    } else {
        None
    };
    let record_version = if edit_lock {
        field_index.get(&version_name).copied()
    } else {
        None
    };
    let module = dir.join(ITEMS_DIR).join(format!("{name}.py"));
    let name_str = name.to_string();
    let rename_from = file
        .rename_from
        .as_ref()
        .and_then(|r| match Ident::parse_sql_name(r) {
            Ok(i) => Some(i),
            Err(e) => {
                errs.push(path, format!("rename_from: {e}"));
                None
            }
        });
    Item {
        id,
        caption: file
            .caption
            .clone()
            .unwrap_or_else(|| default_caption(name.as_str())),
        name,
        table,
        number: file.id,
        managed: file.managed.unwrap_or(default_managed),
        group: 0,
        visible: file.visible.unwrap_or(true),
        fields,
        primary_key: pk,
        deleted_flag,
        master_link: None,
        tenant_field: None,
        masters: Vec::new(),
        details: Vec::new(),
        callable: Vec::new(),
        reports: Vec::new(),
        filters: Vec::new(),
        default_order: Vec::new(),
        summary_fields: None,
        layout: Default::default(),
        indexes: Vec::new(),
        rename_from,
        file: Path::new(ITEMS_DIR).join(format!("{}.toml", name_str)),
        module: module.is_file().then_some(module),
        keep_history: file.keep_history.unwrap_or(false),
        record_version,
        referrers: Vec::new(),
        field_index,
    }
}

pub(super) struct Ctx<'a> {
    files: &'a ProjectFiles,
    /// `[files] max_size`: no field takes more.
    max_file_size: u64,
    item_index: &'a HashMap<String, ItemId>,
    skeletons: &'a [Item],
    pub(super) lookup_lists: &'a [LookupList],
}

impl Ctx<'_> {
    fn item_file(&self, id: ItemId) -> &ItemFile {
        let name = self.skeletons[id.0 as usize].name.as_str();
        &self
            .files
            .items
            .iter()
            .find(|(n, _)| n == name)
            .expect("every skeleton comes from a file")
            .1
    }

    fn field_file(&self, item: ItemId, field: &str) -> Option<&FieldFile> {
        self.item_file(item).fields.iter().find(|f| f.name == field)
    }

    fn skeleton(&self, id: ItemId) -> &Item {
        &self.skeletons[id.0 as usize]
    }

    /// Resolves one level of a lookup: `field` in `item`.
    fn step(&self, item: ItemId, field: &str) -> Result<LookupStep, String> {
        let target = self.skeleton(item);
        match target.field_index.get(field) {
            // Skeletons carry no `system` marks yet; the deleted flag is known by its id.
            Some(f) if target.deleted_flag == Some(*f) => Err(format!(
                "field \"{field}\" of item \"{}\" is its soft-delete flag and cannot be shown",
                target.name
            )),
            Some(f) if target.field(*f).column.is_none() => Err(format!(
                "field \"{field}\" of item \"{}\" has no column of its own (calculated or master_field), so a lookup cannot show it",
                target.name
            )),
            Some(f) => Ok(LookupStep { item, field: *f }),
            None => Err(format!("item \"{}\" has no field \"{field}\"", target.name)),
        }
    }

    /// Where the lookup field `field` of `item` points (from its file), for multi-level chains.
    fn lookup_target(&self, item: ItemId, field: &str) -> Result<ItemId, String> {
        let ff = self.field_file(item, field).ok_or_else(|| {
            format!(
                "field \"{field}\" of item \"{}\" is not a lookup field",
                self.skeleton(item).name
            )
        })?;
        let lk = ff.lookup.as_ref().ok_or_else(|| {
            format!(
                "field \"{field}\" of item \"{}\" is not a lookup field, so the chain cannot continue",
                self.skeleton(item).name
            )
        })?;
        self.item_index
            .get(&lk.item)
            .copied()
            .ok_or_else(|| format!("item \"{}\" does not exist", lk.item))
    }

    pub(super) fn resolve_lookup(&self, lk: &LookupFile) -> Result<Lookup, String> {
        let first = *self
            .item_index
            .get(&lk.item)
            .ok_or_else(|| format!("lookup item \"{}\" does not exist", lk.item))?;
        if lk.field1.is_none() && lk.field2.is_some() {
            return Err("field2 needs field1".into());
        }
        let mut steps = vec![self.step(first, &lk.field)?];
        let mut prev = (first, lk.field.as_str());
        for next in [&lk.field1, &lk.field2].into_iter().flatten() {
            let target = self.lookup_target(prev.0, prev.1)?;
            steps.push(self.step(target, next)?);
            prev = (target, next.as_str());
        }
        Ok(Lookup { steps })
    }

    fn resolve_item(&self, mut item: Item, file: &ItemFile, errs: &mut Errors) -> Item {
        let path = item_path(&item);

        // Primary key and soft delete flag.
        let pk = item.primary_key;
        if pk != NO_FIELD {
            let pk_name = item.field(pk).name.clone();
            match item.field(pk).field_type {
                FieldType::Integer => {}
                FieldType::Text => {
                    // A text key is the client's, on a table jamrs did not create; what keeps
                    // rows by integer keys cannot follow it (see docs/project-format.md).
                    if item.managed {
                        errs.push(&path, format!("primary key \"{pk_name}\" is a text field: jamrs creates tables with integer keys, so a text key is for a table it did not create; set managed = false (or make the key an integer field)"));
                    }
                    if item.keep_history {
                        errs.push(&path, format!("keep_history records rows by integer keys, and this item is keyed by the text field \"{pk_name}\": remove keep_history"));
                    }
                    if let Some(f) = item
                        .fields
                        .iter()
                        .find(|f| matches!(f.field_type, FieldType::File | FieldType::Image))
                    {
                        errs.push(&path, format!("field \"{}\": uploads are attached to records by integer keys, and this item is keyed by the text field \"{pk_name}\": file and image fields need an integer key", f.name));
                    }
                }
                _ => errs.push(
                    &path,
                    format!("primary key \"{pk_name}\" must be an integer field (or a text field, for a table jamrs did not create)"),
                ),
            }
            if item.field(pk).column.is_none() {
                errs.push(&path, "the primary key needs a column of its own");
            }
            item.fields[pk.0 as usize].system = Some(SystemField::PrimaryKey);
            item.fields[pk.0 as usize].read_only = true;
        }
        if let Some(d) = item.deleted_flag {
            if !matches!(
                item.field(d).field_type,
                FieldType::Boolean | FieldType::Integer
            ) {
                errs.push(
                    &path,
                    format!(
                        "deleted flag \"{}\" must be a boolean field",
                        item.field(d).name
                    ),
                );
            }
            item.fields[d.0 as usize].system = Some(SystemField::Deleted);
        }
        if let Some(v) = item.record_version {
            let f = item.field(v);
            if f.field_type != FieldType::Integer || f.column.is_none() {
                errs.push(
                    &path,
                    format!(
                        "record version \"{}\" must be a stored integer field",
                        f.name
                    ),
                );
            }
            if Some(v) == item.deleted_flag || v == item.primary_key {
                errs.push(
                    &path,
                    "record_version cannot be the primary key or the soft-delete flag",
                );
            }
            item.fields[v.0 as usize].system = Some(SystemField::RecordVersion);
            item.fields[v.0 as usize].read_only = true;
        }

        // Field attributes.
        let declared: Vec<(FieldId, &FieldFile)> = file
            .fields
            .iter()
            .filter_map(|ff| item.field_index.get(&ff.name).map(|id| (*id, ff)))
            .collect();
        for (fid, ff) in &declared {
            let ferr = |errs: &mut Errors, msg: String| {
                errs.push(&path, format!("field \"{}\": {msg}", ff.name))
            };
            let mut f = item.field(*fid).clone();
            f.required = ff.required.unwrap_or(false);
            f.read_only = f.read_only || ff.read_only.unwrap_or(false);
            f.visible = ff.visible.unwrap_or(f.visible);
            f.typeahead = ff.typeahead.unwrap_or(false);
            f.help = ff.help.clone();
            f.placeholder = ff.placeholder.clone();
            match (f.field_type, ff.size) {
                (FieldType::Text, Some(0)) => ferr(errs, "size must be at least 1".into()),
                (FieldType::Text, Some(s)) => f.size = Some(s),
                (FieldType::Text, None) => ferr(
                    errs,
                    "text fields need a size (the maximum number of characters)".into(),
                ),
                (_, Some(_)) => ferr(errs, "size applies only to text fields".into()),
                (_, None) => {}
            }
            if let Some(a) = &ff.alignment {
                match Align::from_name(a) {
                    Some(al) => f.alignment = Some(al),
                    None => ferr(
                        errs,
                        format!("alignment \"{a}\" is not left, center or right"),
                    ),
                }
            }
            if let Some(lk) = &ff.lookup {
                match self.resolve_lookup(lk) {
                    Ok(l) => f.lookup = Some(l),
                    Err(e) => ferr(errs, format!("lookup: {e}")),
                }
                let text_target = self
                    .item_index
                    .get(&lk.item)
                    .is_some_and(|t| self.skeleton(*t).text_key());
                if text_target {
                    if f.field_type != FieldType::Text {
                        ferr(
                            errs,
                            format!(
                                "item \"{}\" is keyed by text, so a lookup field to it stores text keys: its type must be text",
                                lk.item
                            ),
                        );
                    }
                } else if !matches!(f.field_type, FieldType::Integer | FieldType::Keys) {
                    ferr(errs, "a lookup field stores primary keys, so its type must be integer (or keys for a list of them)".into());
                }
            }
            if let Some(name) = &ff.on_delete {
                match OnDelete::from_name(name) {
                    Some(o) => f.on_delete = o,
                    None => ferr(
                        errs,
                        format!("on_delete \"{name}\" is not restrict, set_null or cascade"),
                    ),
                }
                if ff.lookup.is_none()
                    || !matches!(f.field_type, FieldType::Integer | FieldType::Text)
                    || ff.master_field.is_some()
                {
                    ferr(errs, "on_delete applies to an integer lookup field (a text one, to an item keyed by text) with a column of its own (the rows it points at are the ones deleted)".into());
                }
                if f.on_delete == OnDelete::SetNull && f.required {
                    ferr(
                        errs,
                        "on_delete = \"set_null\" would empty a required field".into(),
                    );
                }
            }
            self.resolve_file_settings(&mut f, ff, &ferr, errs);
            if let Some(list) = &ff.lookup_values {
                match self.lookup_lists.iter().position(|l| &l.name == list) {
                    Some(i) => f.lookup_values = Some(i),
                    None => ferr(
                        errs,
                        format!("lookup list \"{list}\" is not defined in {TASK_FILE}"),
                    ),
                }
                if f.field_type != FieldType::Integer {
                    ferr(
                        errs,
                        "a field with lookup_values must be an integer field".into(),
                    );
                }
                if ff.lookup.is_some() {
                    ferr(
                        errs,
                        "a field cannot have both lookup and lookup_values".into(),
                    );
                }
            }
            if let Some(calc) = &ff.calc {
                match self.resolve_calc(item.id, calc) {
                    Ok(c) => {
                        if matches!(c.op, Agg::Sum | Agg::Avg) && !f.field_type.is_numeric() {
                            ferr(
                                errs,
                                format!("calc: {} needs a numeric field type", c.op.name()),
                            );
                        }
                        f.calc = Some(c);
                        f.read_only = true;
                    }
                    Err(e) => ferr(errs, format!("calc: {e}")),
                }
                if ff.lookup.is_some() || ff.master_field.is_some() {
                    ferr(errs, "a calculated field cannot also be a lookup".into());
                }
            }
            if let Some(m) = &ff.master_field {
                match item.field_index.get(m).copied() {
                    Some(mid) if mid == *fid => {
                        ferr(errs, "master_field cannot name the field itself".into())
                    }
                    Some(mid) => {
                        let mf = item.field(mid);
                        let master_file = file.fields.iter().find(|x| &x.name == m);
                        let master_lookup = master_file.and_then(|x| x.lookup.as_ref());
                        match (master_lookup, &ff.lookup) {
                            (None, _) => ferr(errs, format!("master_field \"{m}\" is not a lookup field")),
                            (_, None) => ferr(errs, "a field with master_field also needs a lookup (the column of the master's lookup item to show)".into()),
                            (Some(ml), Some(l)) if ml.item != l.item => ferr(errs, format!("lookup item \"{}\" differs from master field \"{m}\"'s lookup item \"{}\"", l.item, ml.item)),
                            _ => {}
                        }
                        if master_file.is_some_and(|x| x.master_field.is_some()) {
                            ferr(
                                errs,
                                format!("master_field \"{m}\" has a master_field itself"),
                            );
                        }
                        if mf.field_type != f.field_type {
                            ferr(
                                errs,
                                format!("type must match master field \"{m}\" ({})", mf.field_type),
                            );
                        }
                        f.master_field = Some(mid);
                        f.read_only = true;
                    }
                    None => ferr(
                        errs,
                        format!("master_field \"{m}\" is not a field of this item"),
                    ),
                }
            }
            if (f.calc.is_some() || ff.master_field.is_some()) && f.required {
                ferr(
                    errs,
                    "a calculated or master_field field cannot be required".into(),
                );
            }
            if let Some(dv) = &ff.default_value {
                match default_value(f.field_type, f.size, dv) {
                    Ok(v) => f.default_value = Some(v),
                    Err(e) => ferr(errs, format!("default_value: {e}")),
                }
            }
            if f.system.is_some() && (f.required || f.default_value.is_some()) {
                ferr(
                    errs,
                    "a system field cannot be required or have a default value".into(),
                );
            }
            item.fields[fid.0 as usize] = f;
        }

        // Server functions clients may call.
        for name in &file.callable {
            match Ident::parse(name) {
                Ok(n) if n.as_str().starts_with("on_") => errs.push(
                    &path,
                    format!("callable: \"{name}\" is an event handler name; handlers cannot be called by clients"),
                ),
                Ok(n) if item.callable.contains(&n) => {
                    errs.push(&path, format!("callable: \"{name}\" is listed twice"))
                }
                Ok(n) => item.callable.push(n),
                Err(e) => errs.push(&path, format!("callable: {e}")),
            }
        }
        if !file.callable.is_empty() && item.module.is_none() {
            errs.push(
                &path,
                format!(
                    "callable functions need a server module, {ITEMS_DIR}/{}.py",
                    item.name
                ),
            );
        }

        // Filters.
        let mut filter_names = HashSet::new();
        for ff in &file.filters {
            let fail = |errs: &mut Errors, msg: String| {
                errs.push(&path, format!("filter \"{}\": {msg}", ff.name))
            };
            let Ok(name) = Ident::parse(&ff.name).map_err(|e| fail(errs, e)) else {
                continue;
            };
            if !filter_names.insert(ff.name.clone()) {
                fail(errs, "defined twice".into());
            }
            let Some(field) = item
                .field_by_name(&ff.field)
                .filter(|f| f.system != Some(SystemField::Deleted))
            else {
                fail(
                    errs,
                    format!("field \"{}\" is not a field of this item", ff.field),
                );
                continue;
            };
            let parsed = match &ff.filter_type {
                FilterTypeFile::Number(n) => FilterOp::from_number(*n),
                FilterTypeFile::Name(s) => FilterOp::from_name(s),
            };
            let Some((op, on_lookup)) = parsed else {
                let written = match &ff.filter_type {
                    FilterTypeFile::Number(n) => n.to_string(),
                    FilterTypeFile::Name(s) => format!("\"{s}\""),
                };
                fail(
                    errs,
                    format!(
                        "type {written} is not a filter type (a FILTER_* name such as \"ge\" or a number 1–30)"
                    ),
                );
                continue;
            };
            if on_lookup && field.lookup.is_none() {
                fail(
                    errs,
                    format!(
                        "type {}_l applies to lookup fields; \"{}\" is not one",
                        op.name(),
                        ff.field
                    ),
                );
            }
            item.filters.push(Filter {
                name,
                caption: ff
                    .caption
                    .clone()
                    .unwrap_or_else(|| default_caption(&ff.name)),
                field: field.id,
                op,
                on_lookup,
                visible: ff.visible.unwrap_or(true),
                multi_select_all: ff.multi_select_all.unwrap_or(false),
                help: ff.help.clone(),
                placeholder: ff.placeholder.clone(),
            });
        }

        // Default order and indexes.
        for spec in &file.default_order {
            match order_spec(&item, spec, false) {
                Ok(o) => item.default_order.push(o),
                Err(e) => errs.push(&path, format!("default_order: {e}")),
            }
        }
        if let Some(names) = &file.summary_fields {
            let mut fields = Vec::new();
            for name in names {
                match item
                    .field_by_name(name)
                    .filter(|f| f.system != Some(SystemField::Deleted))
                {
                    Some(f) => fields.push(f.id),
                    None => errs.push(
                        &path,
                        format!("summary_fields: \"{name}\" is not a field of this item"),
                    ),
                }
            }
            item.summary_fields = Some(fields);
        }
        for (i, ix) in file.indexes.iter().enumerate() {
            let mut fields = Vec::new();
            for spec in &ix.fields {
                match order_spec(&item, spec, true) {
                    Ok(o) => fields.push(o),
                    Err(e) => errs.push(&path, format!("index {}: {e}", i + 1)),
                }
            }
            if ix.fields.is_empty() {
                errs.push(&path, format!("index {}: needs at least one field", i + 1));
            }
            let name = match &ix.name {
                Some(n) => Ident::parse_sql_name(n)
                    .map_err(|e| errs.push(&path, format!("index {}: name: {e}", i + 1)))
                    .ok(),
                None => {
                    let cols: Vec<String> = fields
                        .iter()
                        .map(|o| item.field(o.field).name.to_string())
                        .collect();
                    let generated = format!("{}_{}_idx", item.table, cols.join("_"));
                    Ident::parse_sql_name(&generated)
                        .map_err(|e| {
                            errs.push(
                                &path,
                                format!(
                                    "index {}: the generated name {e}; give the index a name",
                                    i + 1
                                ),
                            )
                        })
                        .ok()
                }
            };
            if let Some(name) = name {
                item.indexes.push(Index {
                    name,
                    fields,
                    unique: ix.unique.unwrap_or(false),
                });
            }
        }
        item
    }

    /// A file or image field's `accept`, `max_size` and `image` sizes (refused on other types).
    fn resolve_file_settings(
        &self,
        f: &mut Field,
        ff: &FieldFile,
        ferr: &dyn Fn(&mut Errors, String),
        errs: &mut Errors,
    ) {
        use crate::files::{FileSettings, ImageSize, parse_accept};
        let is_file = matches!(f.field_type, FieldType::File | FieldType::Image);
        if !is_file {
            if ff.accept.is_some() || ff.max_size.is_some() || ff.image.is_some() {
                ferr(
                    errs,
                    "accept, max_size and image apply only to file and image fields".into(),
                );
            }
            return;
        }
        let accept = match ff.accept.as_deref().map(parse_accept) {
            None => Vec::new(),
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                ferr(errs, format!("accept: {e}"));
                Vec::new()
            }
        };
        let max_size = ff.max_size.unwrap_or(self.max_file_size);
        if max_size == 0 || max_size > self.max_file_size {
            ferr(
                errs,
                format!(
                    "max_size must be between 1 and the project's files.max_size ({} bytes)",
                    self.max_file_size
                ),
            );
        }
        if ff.default_value.is_some() {
            ferr(
                errs,
                "a file or image field has no default value (its value names an upload)".into(),
            );
        }
        if ff.image.is_some() && f.field_type != FieldType::Image {
            ferr(errs, "image sizes apply only to image fields".into());
        }
        let image = ff.image.as_ref().map_or(ImageSize::default(), |i| {
            for v in [i.view_width, i.view_height, i.edit_width, i.edit_height]
                .into_iter()
                .flatten()
            {
                if !(1..=4000).contains(&v) {
                    ferr(errs, "image sizes must be between 1 and 4000 pixels".into());
                    break;
                }
            }
            ImageSize {
                view_width: i.view_width,
                view_height: i.view_height,
                edit_width: i.edit_width,
                edit_height: i.edit_height,
            }
        });
        f.file = Some(FileSettings {
            accept,
            max_size,
            image,
        });
    }

    fn resolve_calc(&self, owner: ItemId, calc: &CalcFile) -> Result<Calc, String> {
        let item = *self
            .item_index
            .get(&calc.item)
            .ok_or_else(|| format!("item \"{}\" does not exist", calc.item))?;
        let target = self.skeleton(item);
        let field = *target
            .field_index
            .get(&calc.field)
            .ok_or_else(|| format!("item \"{}\" has no field \"{}\"", calc.item, calc.field))?;
        let link = *target
            .field_index
            .get(&calc.link)
            .ok_or_else(|| format!("item \"{}\" has no field \"{}\"", calc.item, calc.link))?;
        if target.field(field).column.is_none() {
            return Err(format!(
                "field \"{}\" of \"{}\" has no column to aggregate",
                calc.field, calc.item
            ));
        }
        let link_field = target.field(link);
        let key_type = if self.skeleton(owner).text_key() {
            FieldType::Text
        } else {
            FieldType::Integer
        };
        if link_field.column.is_none() || link_field.field_type != key_type {
            return Err(format!(
                "link \"{}\" of \"{}\" must be a stored {key_type} field holding \"{}\" keys",
                calc.link,
                calc.item,
                self.skeleton(owner).name
            ));
        }
        let owner_name = self.skeleton(owner).name.as_str();
        if let Some(lk) = self
            .field_file(item, &calc.link)
            .and_then(|f| f.lookup.as_ref())
            && lk.item != owner_name
        {
            return Err(format!(
                "link \"{}\" of \"{}\" looks up \"{}\", not \"{owner_name}\"",
                calc.link, calc.item, lk.item
            ));
        }
        let op = Agg::from_name(&calc.op)
            .ok_or_else(|| format!("op \"{}\" is not one of count, sum, min, max, avg", calc.op))?;
        let aggregated = target.field(field).field_type;
        if matches!(op, Agg::Sum | Agg::Avg) && !aggregated.is_numeric() {
            return Err(format!(
                "{} needs a numeric field to aggregate; \"{}\" of \"{}\" is {aggregated}",
                op.name(),
                calc.field,
                calc.item
            ));
        }
        Ok(Calc {
            item,
            field,
            link,
            op,
        })
    }
}

/// `"name"` or `"-name"` (descending); index fields must be stored.
fn order_spec(item: &Item, spec: &str, stored: bool) -> Result<Order, String> {
    let (name, desc) = match spec.strip_prefix('-') {
        Some(n) => (n, true),
        None => (
            spec.strip_suffix(" desc").unwrap_or(spec),
            spec.ends_with(" desc"),
        ),
    };
    let field = item
        .field_by_name(name)
        .filter(|f| f.system != Some(SystemField::Deleted) || stored)
        .ok_or_else(|| format!("\"{name}\" is not a field of this item"))?;
    if stored && field.column.is_none() {
        return Err(format!(
            "\"{name}\" has no column of its own, so it cannot be indexed"
        ));
    }
    Ok(Order {
        field: field.id,
        desc,
    })
}

pub(super) fn default_value(
    t: FieldType,
    size: Option<u32>,
    v: &toml::Value,
) -> Result<DefaultValue, String> {
    if let toml::Value::String(s) = v {
        match (t, s.as_str()) {
            (FieldType::Date, "today") => return Ok(DefaultValue::Today),
            (FieldType::DateTime, "now") => return Ok(DefaultValue::Now),
            _ => {}
        }
    }
    if let toml::Value::Float(f) = v
        && !f.is_finite()
    {
        // JSON has no NaN or infinity: it would become null, no default at all.
        return Err(format!("{f} is not a number a field can hold"));
    }
    // A TOML date or time literal (`default_value = 2024-01-31`) is read as its text.
    let json = match v {
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        _ => serde_json::to_value(v).map_err(|e| e.to_string())?,
    };
    let value = values::from_json(t, &json)?;
    if let (Some(max), Value::Text(s)) = (size, &value)
        && s.chars().count() > max as usize
    {
        return Err(format!("longer than the field's size {max}"));
    }
    Ok(DefaultValue::Value(value))
}

/// Links masters and details, checking both link styles.
fn link_details(ctx: &Ctx, items: &mut [Item], errs: &mut Errors) {
    // The link each item declares for itself.
    for item in items.iter_mut() {
        let file = ctx.item_file(item.id);
        let path = item_path(item);
        let link = match (&file.master_field, &file.master_id, &file.master_rec_id) {
            (None, None, None) => None,
            (Some(mf), None, None) => match item.field_index.get(mf) {
                Some(f) => {
                    let field = item.field(*f);
                    // Integer or text: which one the master's key is is checked once the
                    // masters are known.
                    if !matches!(field.field_type, FieldType::Integer | FieldType::Text)
                        || field.column.is_none()
                        || field.system.is_some()
                    {
                        errs.push(
                            &path,
                            format!("master_field \"{mf}\" must be a stored integer field (a text field for a master keyed by text)"),
                        );
                    }
                    Some(MasterLink::MasterField(*f))
                }
                None => {
                    errs.push(
                        &path,
                        format!("master_field \"{mf}\" is not a field of this item"),
                    );
                    None
                }
            },
            (None, Some(mid), Some(mrid)) => {
                let a = item.field_index.get(mid).copied();
                let b = item.field_index.get(mrid).copied();
                match (a, b) {
                    (Some(a), Some(b)) if a != b => {
                        for f in [a, b] {
                            let field = item.field(f);
                            if field.system.is_some() {
                                errs.push(
                                    &path,
                                    format!(
                                        "link field \"{}\" cannot be the primary key or the soft-delete flag",
                                        field.name
                                    ),
                                );
                            } else if field.field_type != FieldType::Integer
                                || field.column.is_none()
                            {
                                errs.push(
                                    &path,
                                    format!(
                                        "link field \"{}\" must be a stored integer field",
                                        field.name
                                    ),
                                );
                            }
                        }
                        item.fields[a.0 as usize].system = Some(SystemField::MasterId);
                        item.fields[b.0 as usize].system = Some(SystemField::MasterRecId);
                        Some(MasterLink::MasterIdRecId {
                            master_id: a,
                            master_rec_id: b,
                        })
                    }
                    _ => {
                        errs.push(
                            &path,
                            "master_id and master_rec_id must name two different fields",
                        );
                        None
                    }
                }
            }
            _ => {
                errs.push(
                    &path,
                    "a detail links either by master_field, or by both master_id and master_rec_id",
                );
                None
            }
        };
        if let Some(link) = link {
            for f in link.fields() {
                item.fields[f.0 as usize].read_only = true;
            }
        }
        item.master_link = link;
    }
    // Masters list their details.
    for i in 0..items.len() {
        let file = ctx.item_file(items[i].id);
        let path = item_path(&items[i]);
        let mut seen = HashSet::new();
        for d in &file.details {
            if !seen.insert(d.clone()) {
                errs.push(&path, format!("detail \"{d}\" is listed twice"));
                continue;
            }
            let Some(did) = ctx.item_index.get(d).copied() else {
                errs.push(
                    &path,
                    format!("detail \"{d}\" does not exist (no {ITEMS_DIR}/{d}.toml)"),
                );
                continue;
            };
            if did == items[i].id {
                errs.push(&path, "an item cannot be its own detail");
                continue;
            }
            if items[i].field_index.contains_key(d) {
                errs.push(&path, format!("detail \"{d}\" has the name of a field of this item; rename one (server modules reach both as d.{d})"));
            }
            match items[did.0 as usize].master_link {
                None => errs.push(&path, format!("detail \"{d}\" has no master link: set master_field (or master_id and master_rec_id) in {ITEMS_DIR}/{d}.toml")),
                Some(MasterLink::MasterIdRecId { .. }) if items[i].text_key() => errs.push(&path, format!("detail \"{d}\" links by master_id and master_rec_id, which hold integer keys, and this item is keyed by text: link it by master_field (a text field holding this item's key)")),
                Some(MasterLink::MasterIdRecId { .. }) if items[i].number.is_none() => errs.push(&path, format!("detail \"{d}\" links by master_id, so this item needs a numeric id (id = …)")),
                Some(MasterLink::MasterField(f)) => {
                    let link_field = items[did.0 as usize].field(f);
                    let key_type = if items[i].text_key() {
                        FieldType::Text
                    } else {
                        FieldType::Integer
                    };
                    if matches!(link_field.field_type, FieldType::Integer | FieldType::Text)
                        && link_field.field_type != key_type
                    {
                        errs.push(&path, format!("detail \"{d}\": its master field \"{}\" is {}, and this item's key is {key_type}: they must be of one type", link_field.name, link_field.field_type));
                    }
                    if let Some(l) = &link_field.lookup
                        && l.item() != items[i].id
                    {
                        errs.push(&path, format!("detail \"{d}\": its master field \"{}\" looks up another item", link_field.name));
                    }
                }
                _ => {}
            }
            items[i].details.push(did);
            items[did.0 as usize].masters.push(items[i].id);
        }
    }
    for item in items.iter() {
        let path = item_path(item);
        match (item.master_link, item.masters.len()) {
            (Some(_), 0) => errs.push(&path, "this item links to a master, but no item lists it in details"),
            (Some(MasterLink::MasterField(_)), n) if n > 1 => errs.push(&path, "a detail linked by master_field belongs to one master; use master_id and master_rec_id to share it"),
            _ => {}
        }
    }
    // No cycles: a detail cannot be (indirectly) its own master.
    for item in items.iter() {
        let mut stack = item.details.clone();
        let mut seen = HashSet::new();
        while let Some(d) = stack.pop() {
            if d == item.id {
                errs.push(&item_path(item), "details form a cycle back to this item");
                break;
            }
            if seen.insert(d) {
                stack.extend(items[d.0 as usize].details.iter().copied());
            }
        }
    }
}

/// Lists, on every item, the lookup fields that hold keys of its rows ([`Item::referrers`]):
/// integer lookups with a column of their own, except a detail's link to its master (a
/// delete cascades to details anyway).
fn link_referrers(items: &mut [Item]) {
    let mut found: Vec<(ItemId, Referrer)> = Vec::new();
    for item in items.iter() {
        let link = item.master_link.map(MasterLink::fields).unwrap_or_default();
        for f in &item.fields {
            let Some(lookup) = &f.lookup else { continue };
            if !matches!(f.field_type, FieldType::Integer | FieldType::Text)
                || f.column.is_none()
                || link.contains(&f.id)
            {
                continue;
            }
            found.push((
                lookup.item(),
                Referrer {
                    item: item.id,
                    field: f.id,
                    on_delete: f.on_delete,
                },
            ));
        }
    }
    for (target, r) in found {
        items[target.0 as usize].referrers.push(r);
    }
}

fn check_numbers(items: &[Item], errs: &mut Errors) {
    let mut seen: HashMap<i64, &str> = HashMap::new();
    for item in items {
        if let Some(n) = item.number
            && let Some(other) = seen.insert(n, item.name.as_str())
        {
            errs.push(
                &item_path(item),
                format!("id {n} is also the id of item \"{other}\""),
            );
        }
    }
}

fn resolve_roles(
    tf: &TaskFile,
    items: &[Item],
    item_index: &HashMap<String, ItemId>,
    report_index: &HashMap<String, ReportId>,
    errs: &mut Errors,
) -> Vec<Role> {
    let mut roles = Vec::new();
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    for rf in &tf.roles {
        let fail = |errs: &mut Errors, msg: String| {
            errs.push(TASK_FILE, format!("role \"{}\": {msg}", rf.name))
        };
        let name = match Ident::parse(&rf.name) {
            Ok(n) => n,
            Err(e) => {
                errs.push(TASK_FILE, format!("role name: {e}"));
                continue;
            }
        };
        if !ids.insert(rf.id) {
            fail(errs, format!("id {} is used by another role", rf.id));
        }
        if !names.insert(rf.name.clone()) {
            fail(errs, "defined twice".into());
        }
        let default = Privileges::from_names(&rf.default).unwrap_or_else(|e| {
            fail(errs, format!("default: {e}"));
            Privileges::NONE
        });
        let mut role_items = Vec::new();
        let mut role_reports = Vec::new();
        for (item_name, privs) in &rf.items {
            if let Some(r) = report_index.get(item_name) {
                // A report is printed or not: Jam.py's can_view of a report.
                match Privileges::from_names(privs) {
                    Ok(p)
                        if p == Privileges::NONE
                            || p == (Privileges {
                                view: true,
                                ..Privileges::NONE
                            }) =>
                    {
                        role_reports.push((*r, p.view))
                    }
                    Ok(_) => fail(
                        errs,
                        format!(
                            "items.{item_name}: \"{item_name}\" is a report; its only privilege is view (print it)"
                        ),
                    ),
                    Err(e) => fail(errs, format!("items.{item_name}: {e}")),
                }
                continue;
            }
            let Some(id) = item_index.get(item_name) else {
                fail(
                    errs,
                    format!("items: there is no item \"{item_name}\" (nor a report)"),
                );
                continue;
            };
            match Privileges::from_names(privs) {
                Ok(p) => role_items.push((*id, p)),
                Err(e) => fail(errs, format!("items.{item_name}: {e}")),
            }
        }
        let mut fields = Vec::new();
        for (path, rule) in &rf.fields {
            let Some((item_name, field_name)) = path.split_once('.') else {
                fail(errs, format!("fields: \"{path}\" is not item.field"));
                continue;
            };
            let Some(item) = item_index.get(item_name).map(|i| &items[i.0 as usize]) else {
                fail(errs, format!("fields: there is no item \"{item_name}\""));
                continue;
            };
            let Some(field) = item
                .field_by_name(field_name)
                .filter(|f| f.system != Some(SystemField::Deleted))
            else {
                fail(
                    errs,
                    format!("fields: item \"{item_name}\" has no field \"{field_name}\""),
                );
                continue;
            };
            let rule = match rule.as_str() {
                "prohibited" => FieldRule::Prohibited,
                "read_only" => FieldRule::ReadOnly,
                other => {
                    fail(
                        errs,
                        format!("fields.\"{path}\": \"{other}\" is not prohibited or read_only"),
                    );
                    continue;
                }
            };
            if field.id == item.primary_key && rule == FieldRule::Prohibited {
                fail(
                    errs,
                    format!(
                        "fields: the primary key \"{path}\" cannot be prohibited (rows could not be told apart); prohibit the item instead"
                    ),
                );
                continue;
            }
            fields.push((item.id, field.id, rule));
        }
        roles.push(Role {
            id: rf.id,
            all_tenants: rf.all_tenants.unwrap_or(false),
            name,
            caption: rf
                .caption
                .clone()
                .unwrap_or_else(|| default_caption(&rf.name)),
            default,
            items: role_items,
            fields,
            reports: role_reports,
        });
    }
    roles
}

fn resolve_tenancy(
    tf: &TaskFile,
    items: &mut [Item],
    item_index: &HashMap<String, ItemId>,
    errs: &mut Errors,
) -> Option<Tenancy> {
    let t = tf.tenancy.as_ref()?;
    let column = match Ident::parse(&t.column) {
        Ok(c) => c,
        Err(e) => {
            errs.push(TASK_FILE, format!("tenancy.column: {e}"));
            return None;
        }
    };
    let source = match t.value.as_deref().unwrap_or(column.as_str()) {
        "user_id" => TenantSource::UserId,
        "tenant_id" => TenantSource::TenantId,
        other => {
            errs.push(
                TASK_FILE,
                format!("tenancy.value: \"{other}\" is not user_id or tenant_id (name which part of the session's user_info fills the column)"),
            );
            return None;
        }
    };
    let mut listed: Vec<ItemId> = if t.items.is_empty() {
        items
            .iter()
            .filter(|i| i.field_by_name(column.as_str()).is_some())
            .map(|i| i.id)
            .collect()
    } else {
        let mut ids = Vec::new();
        for name in &t.items {
            match item_index.get(name) {
                Some(id) => ids.push(*id),
                None => errs.push(
                    TASK_FILE,
                    format!("tenancy.items: there is no item \"{name}\""),
                ),
            }
        }
        ids
    };
    if listed.is_empty() {
        errs.push(
            TASK_FILE,
            format!("tenancy: no item has a field \"{column}\", so nothing would be kept apart"),
        );
    }
    // The details of a covered item are covered too. Their rows belong to the master's tenant,
    // but other items reach them without the master: a lookup to a detail row shows its text,
    // and a calculated field of another item (Jam.py demo's tracks_sold over invoice lines)
    // aggregates them. Only a tenant column of their own keeps those paths apart.
    let mut detail_of: HashMap<ItemId, ItemId> = HashMap::new();
    let mut next = 0;
    while next < listed.len() {
        let master = listed[next];
        for d in items[master.0 as usize].details.clone() {
            if !listed.contains(&d) {
                listed.push(d);
                detail_of.insert(d, master);
            }
        }
        next += 1;
    }
    for id in listed {
        let master = detail_of.get(&id).map(|m| items[m.0 as usize].name.clone());
        let item = &mut items[id.0 as usize];
        let path = item_path(item);
        match item.field_by_name(column.as_str()) {
            Some(f)
                if f.field_type == FieldType::Integer
                    && f.column.is_some()
                    && f.system.is_none() =>
            {
                let fid = f.id;
                item.tenant_field = Some(fid);
                // The server fills it; clients never write it.
                item.fields[fid.0 as usize].read_only = true;
                // A unique index across tenants would let one tenant's value block another's,
                // and tell them it exists.
                for ix in item.indexes.iter().filter(|ix| ix.unique) {
                    if !ix.fields.iter().any(|o| o.field == fid) {
                        errs.push(
                            &path,
                            format!(
                                "the unique index \"{}\" does not include the tenant column \"{column}\": one tenant's value would block another's and tell them it exists; add \"{column}\" to its fields",
                                ix.name
                            ),
                        );
                    }
                }
                // Every statement on the item filters by the tenant (and the soft-delete flag):
                // give it an index that leads with them, unless the item declares one.
                if !item
                    .indexes
                    .iter()
                    .any(|ix| ix.fields.first().is_some_and(|o| o.field == fid))
                {
                    let mut fields = vec![Order { field: fid, desc: false }];
                    if let Some(d) = item.deleted_flag {
                        fields.push(Order { field: d, desc: false });
                    }
                    match Ident::parse_sql_name(&format!("{}_tenant_idx", item.table)) {
                        Ok(name) => item.indexes.push(Index {
                            name,
                            fields,
                            unique: false,
                        }),
                        Err(e) => errs.push(&path, format!("the tenant index name {e}; declare an index on \"{column}\" yourself")),
                    }
                }
            }
            Some(_) => errs.push(
                &path,
                format!("the tenant column \"{column}\" must be a stored integer field"),
            ),
            None => match master {
                Some(m) => errs.push(
                    &path,
                    format!(
                        "tenancy covers \"{m}\", so its detail needs the tenant column \"{column}\" too (other items reach detail rows through lookups and calculated fields, not only through their master)"
                    ),
                ),
                None => errs.push(
                    &path,
                    format!("tenancy covers this item, but it has no field \"{column}\""),
                ),
            },
        }
    }
    Some(Tenancy { column, source })
}

/// A calculated field is a correlated sub-select run once per row of every page that shows it:
/// `(SELECT SUM(c.amount) FROM lines AS c WHERE c.link = t.id AND <flag, tenant>)`. Without an
/// index that begins with the link, each run reads the whole table, or with tenancy all of the
/// tenant's rows (through the tenant index). So every item a calculated field aggregates gets
/// an index on the link, unless it declares one that begins with it (`<table>_<link>_calc_idx`;
/// the schema adds the soft-delete flag, as to every plain index).
fn add_calc_link_indexes(items: &mut [Item], errs: &mut Errors) {
    let mut links: Vec<(ItemId, FieldId)> = Vec::new();
    for item in items.iter() {
        for f in &item.fields {
            if let Some(c) = &f.calc
                && !links.contains(&(c.item, c.link))
            {
                links.push((c.item, c.link));
            }
        }
    }
    for (id, link) in links {
        let item = &mut items[id.0 as usize];
        if item
            .indexes
            .iter()
            .any(|ix| ix.fields.first().is_some_and(|o| o.field == link))
        {
            continue;
        }
        let Some(column) = item.field(link).column.clone() else {
            continue;
        };
        match Ident::parse_sql_name(&format!("{}_{}_calc_idx", item.table, column)) {
            Ok(name) => item.indexes.push(Index {
                name,
                fields: vec![Order {
                    field: link,
                    desc: false,
                }],
                unique: false,
            }),
            Err(e) => {
                let path = item_path(item);
                errs.push(
                    &path,
                    format!(
                        "the index for calculated fields' link \"{}\": its name {e}; declare an index that begins with \"{}\" yourself",
                        item.field(link).name,
                        item.field(link).name
                    ),
                )
            }
        }
    }
}

fn check_index_names(items: &[Item], errs: &mut Errors) {
    // Tables and indexes share one namespace in SQLite and PostgreSQL;
    // SQLite compares them without regard to ASCII case.
    let mut seen: HashMap<String, &str> = HashMap::new();
    for item in items {
        seen.insert(item.table.as_str().to_ascii_lowercase(), item.name.as_str());
    }
    for item in items {
        for ix in &item.indexes {
            if let Some(other) =
                seen.insert(ix.name.as_str().to_ascii_lowercase(), item.name.as_str())
            {
                errs.push(
                    &item_path(item),
                    format!(
                        "index name \"{}\" is also used in item \"{other}\"",
                        ix.name
                    ),
                );
            }
        }
    }
}

/// What each field does, checked once every role is known (key, soft-delete flag, detail
/// link, tenant column, lookup, calculated): combinations that would fail or be ignored on
/// every request are refused here, naming the file and the field. Also the item-wide bounds
/// the query builder relies on (fields, lookup joins).
fn check_roles(items: &[Item], lookup_lists: &[LookupList], errs: &mut Errors) {
    for item in items {
        let path = item_path(item);
        let ferr = |errs: &mut Errors, f: &Field, msg: &str| {
            errs.push(&path, format!("field \"{}\": {msg}", f.name))
        };
        if let Some(d) = item.deleted_flag {
            let flag = item.field(d);
            if d == item.primary_key {
                ferr(errs, flag, "the soft-delete flag cannot be the primary key");
            } else if flag.column.is_none() {
                // Every statement on the item compares the flag's column; a delete sets it.
                ferr(
                    errs,
                    flag,
                    "the soft-delete flag needs a column of its own (it cannot be calculated or a master_field field)",
                );
            } else if flag.lookup.is_some() || flag.lookup_values.is_some() {
                ferr(errs, flag, "the soft-delete flag cannot be a lookup field");
            }
        }
        for f in &item.fields {
            let Some(dv) = &f.default_value else {
                continue;
            };
            if f.column.is_none() {
                ferr(
                    errs,
                    f,
                    "default_value needs a column of its own (a calculated or master_field field has none)",
                );
            } else if item.is_server_set(f.id) {
                ferr(
                    errs,
                    f,
                    "the server sets this field (primary key, soft-delete flag, detail link or tenant column), so it cannot have a default_value",
                );
            } else if let (Some(list), DefaultValue::Value(Value::Int(v))) = (f.lookup_values, dv)
                && !lookup_lists[list].values.iter().any(|(x, _)| x == v)
            {
                ferr(
                    errs,
                    f,
                    &format!(
                        "default_value {v} is not a value of lookup list \"{}\"",
                        lookup_lists[list].name
                    ),
                );
            }
        }
        if let (Some(t), Some(link)) = (item.tenant_field, item.master_link)
            && link.fields().contains(&t)
        {
            ferr(
                errs,
                item.field(t),
                "the tenant column cannot also be the detail link to the master",
            );
        }
        if item.fields.len() > MAX_FIELDS {
            errs.push(
                &path,
                format!(
                    "{} fields; an item has at most {MAX_FIELDS}",
                    item.fields.len()
                ),
            );
        }
        let joins = lookup_joins(item);
        if joins > MAX_LOOKUP_JOINS {
            errs.push(
                &path,
                format!(
                    "showing every lookup text takes {joins} joins (a join per lookup item and level, shared by fields on the same path); an item may need at most {MAX_LOOKUP_JOINS}"
                ),
            );
        }
    }
    for item in items {
        // Breadth first, a level at a time: ends after MAX_DETAIL_LEVELS + 1 levels even where
        // details form a cycle (reported in `link_details`).
        let mut level = item.details.clone();
        let mut depth = 0;
        while !level.is_empty() && depth <= MAX_DETAIL_LEVELS {
            depth += 1;
            level = level
                .iter()
                .flat_map(|d| items[d.0 as usize].details.iter().copied())
                .collect();
        }
        if depth > MAX_DETAIL_LEVELS && item.masters.is_empty() {
            errs.push(
                &item_path(item),
                format!(
                    "details nest more than {MAX_DETAIL_LEVELS} levels below this item (its details, theirs, …)"
                ),
            );
        }
    }
}

/// The joins an expanded open of `item` makes to show every lookup text: one per lookup item
/// and level, shared by fields that reach it from the same column along the same path (the
/// query builder joins the same way).
fn lookup_joins(item: &Item) -> usize {
    let mut joins: HashSet<(String, Vec<LookupStep>, ItemId)> = HashSet::new();
    for f in &item.fields {
        let (Some(lookup), Some(column)) = (&f.lookup, item.value_column(f)) else {
            continue;
        };
        if f.field_type == FieldType::Keys {
            continue;
        }
        for (k, step) in lookup.steps.iter().enumerate() {
            joins.insert((column.to_string(), lookup.steps[..k].to_vec(), step.item));
        }
    }
    joins.len()
}
