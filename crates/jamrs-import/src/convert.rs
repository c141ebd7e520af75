//! Jam.py metadata → jamrs project files, in two passes: first the items and their fields
//! (deciding what comes over: an item needs a table in the data database and an integer key, a
//! field a column), then everything that refers to other items and fields (lookups, master
//! fields, calculated fields, details, filters, indexes, order, privileges), which only ever
//! points at what pass one kept. Every decision is written to the report.

use std::collections::{BTreeMap, HashMap, HashSet};

use jamrs_core::Ident;
use jamrs_core::project::*;
use serde_json::Value as J;

use crate::data::DataDb;
use crate::meta::{Meta, Row, RowExt};
use crate::names::{Names, ident};
use crate::report::Report;

// SYS_ITEMS.TYPE_ID (Jam.py's `Consts`, the same in v5 and v7).
const TASK_TYPE: i64 = 5;
const GROUP_TYPES: [i64; 4] = [6, 7, 8, 9];
const DETAILS_GROUP_TYPE: i64 = 8;
const ITEM_TYPE: i64 = 10;
const TABLE_TYPE: i64 = 12;
const REPORT_TYPE: i64 = 13;
const DETAIL_TYPE: i64 = 14;

/// Jam.py's data types by number, as jamrs type names.
pub(crate) const TYPES: [&str; 11] = [
    "text", "integer", "float", "currency", "date", "datetime", "boolean", "longtext", "keys",
    "file", "image",
];

/// What the import writes besides the project's TOML files.
#[derive(Debug, Default)]
pub struct Extra {
    /// `(path in the new project, text)`: modules, client code, layouts, notes.
    pub texts: Vec<(String, String)>,
    /// `(file in the Jam.py project, path in the new project)`: templates to copy.
    pub copies: Vec<(String, String)>,
    pub users: Vec<JampyUser>,
    /// `reports/<name>.toml` files.
    pub reports: Vec<(String, ReportFile)>,
}

/// A user of SYS_USERS.
#[derive(Debug, Clone)]
pub struct JampyUser {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    /// Jam.py keeps it in plain text (v5 and v7 alike).
    pub password: Option<String>,
}

/// One item being built.
pub(crate) struct ItemBuild {
    pub(crate) jp_id: i64,
    pub(crate) name: String,
    pub(crate) object: String,
    pub(crate) group: usize,
    pub(crate) file: ItemFile,
    /// Jam.py field ID → the jamrs field's name (fields that came over).
    pub(crate) fields: HashMap<i64, String>,
    /// jamrs field name → Jam.py data type.
    pub(crate) types: HashMap<String, i64>,
    /// Fields Jam.py marks "check before deleting" (`F_CHECK_BEFORE_DELETING`).
    pub(crate) checked: HashSet<String>,
    /// The item's server module, carried verbatim.
    pub(crate) module: Option<String>,
}

pub(crate) struct Ctx<'a> {
    pub(crate) meta: &'a Meta,
    /// The Jam.py project folder (none for a Builder export).
    pub(crate) source_dir: Option<&'a std::path::Path>,
    pub(crate) data: Option<&'a DataDb>,
    pub(crate) report: &'a mut Report,
    pub(crate) items: Vec<ItemBuild>,
    /// Jam.py item ID (items, prototypes and detail rows) → index into `items`.
    pub(crate) by_jp_id: HashMap<i64, usize>,
    /// Every live SYS_FIELDS row by ID.
    pub(crate) field_rows: HashMap<i64, &'a Row>,
    pub(crate) lookup_lists: HashMap<i64, String>,
    /// Names in code that changed: (Jam.py name, jamrs name).
    pub(crate) renamed: Vec<(String, String)>,
    /// Reports that came over (`crate::reports`).
    pub(crate) reports: Vec<crate::reports::ReportBuild>,
    /// Whether a file exists in the Jam.py project (a folder, or a Builder export's entries),
    /// by its path there (`reports/x.ods`).
    pub(crate) has_file: &'a dyn Fn(&str) -> bool,
}

fn item_object(row: &Row, name: &str) -> String {
    format!(
        "item {name} (Jam.py \"{}\", ID {})",
        row.text("F_ITEM_NAME").unwrap_or(""),
        row.int("ID").unwrap_or(0)
    )
}

/// Builds the project. `data` is the data database, when it could be opened (its tables and
/// columns decide what comes over).
pub fn convert(
    meta: &Meta,
    source_dir: Option<&std::path::Path>,
    has_file: &dyn Fn(&str) -> bool,
    data: Option<&DataDb>,
    report: &mut Report,
    extra: &mut Extra,
) -> Result<ProjectFiles, String> {
    let items_rows = meta.rows("SYS_ITEMS");
    let task_row = items_rows
        .iter()
        .find(|r| r.int("TYPE_ID") == Some(TASK_TYPE))
        .ok_or("SYS_ITEMS has no task (TYPE_ID 5): the project was never set up in the Builder")?;
    let task_id = task_row.int("ID").unwrap_or(1);
    let v7 = meta
        .one("SYS_PARAMS")
        .and_then(|p| p.int("F_UPGRADED_TO"))
        .is_some_and(|v| v >= 7);
    let mut ctx = Ctx {
        meta,
        source_dir,
        data,
        report,
        items: Vec::new(),
        by_jp_id: HashMap::new(),
        field_rows: meta
            .rows("SYS_FIELDS")
            .iter()
            .filter_map(|r| Some((r.int("ID")?, r)))
            .collect(),
        lookup_lists: HashMap::new(),
        renamed: Vec::new(),
        reports: Vec::new(),
        has_file,
    };
    let mut task = task_settings(&mut ctx, task_row);
    task.lookup_lists = lookup_lists(&mut ctx);

    // Groups, in menu order, and their items.
    let mut groups: Vec<&Row> = items_rows
        .iter()
        .filter(|r| {
            r.int("PARENT") == Some(task_id) && GROUP_TYPES.contains(&r.int("TYPE_ID").unwrap_or(0))
        })
        .collect();
    groups.sort_by_key(|r| (r.int("F_INDEX").unwrap_or(0), r.int("ID").unwrap_or(0)));
    let mut group_names = Names::default();
    let mut item_names = Names::default();
    let mut report_rows: Vec<(&Row, usize, String)> = Vec::new();
    for g in &groups {
        let gid = g.int("ID").unwrap_or(0);
        let g_name = group_names.unique(g.text("F_ITEM_NAME").unwrap_or("group"));
        let g_object = format!(
            "group {g_name} (Jam.py \"{}\", ID {gid})",
            g.text("F_ITEM_NAME").unwrap_or("")
        );
        if let Some(code) = g.text("F_SERVER_MODULE").filter(|c| !c.trim().is_empty()) {
            let path = format!("jampy/groups/{g_name}.py");
            extra.texts.push((path.clone(), code.to_string()));
            ctx.report.left_out(
                &g_object,
                format!("its server module (carried to {path}): jamrs runs task.py and item modules, not group modules; move what it does into the items' modules"),
            );
        }
        if let Some(code) = g
            .text("F_WEB_CLIENT_MODULE")
            .filter(|c| !c.trim().is_empty())
        {
            extra
                .texts
                .push((format!("jampy/client/groups/{g_name}.js"), code.to_string()));
        }
        let gi = task.groups.len();
        task.groups.push(GroupFile {
            name: g_name.clone(),
            caption: g.text("F_NAME").map(str::to_string),
            visible: Some(g.flag("F_VISIBLE") && g.int("TYPE_ID") != Some(DETAILS_GROUP_TYPE)),
            items: Vec::new(),
        });
        ctx.report
            .converted(&g_object, "menu group (caption, order, visibility)");
        let mut members: Vec<&Row> = items_rows
            .iter()
            .filter(|r| r.int("PARENT") == Some(gid))
            .collect();
        members.sort_by_key(|r| (r.int("F_INDEX").unwrap_or(0), r.int("ID").unwrap_or(0)));
        for row in members {
            match row.int("TYPE_ID").unwrap_or(0) {
                ITEM_TYPE | TABLE_TYPE => {
                    item_pass_one(&mut ctx, row, g, gi, v7, &mut item_names, extra);
                }
                REPORT_TYPE => report_rows.push((
                    row,
                    gi,
                    item_names.unique(row.text("F_ITEM_NAME").unwrap_or("report")),
                )),
                _ => {}
            }
        }
    }
    for b in &ctx.items {
        task.groups[b.group].items.push(b.name.clone());
    }

    // Pass two: references.
    for i in 0..ctx.items.len() {
        item_pass_two(&mut ctx, i);
    }
    details(&mut ctx, items_rows, extra);
    delete_integrity_note(&mut ctx, &task, task_row);
    for (row, gi, name) in report_rows {
        if let Some(r) = crate::reports::report(&mut ctx, row, name, extra) {
            task.groups[gi].items.push(r.name.clone());
            ctx.reports.push(r);
        }
    }
    crate::reports::item_reports(&mut ctx, items_rows);
    roles(&mut ctx, &mut task, extra);
    modules(&mut ctx, task_row, &mut task, extra);
    for r in &ctx.reports {
        extra.reports.push((r.name.clone(), r.file.clone()));
    }

    let mut files = ProjectFiles {
        task,
        items: ctx
            .items
            .iter()
            .map(|b| (b.name.clone(), b.file.clone()))
            .collect(),
    };
    files.items.sort_by(|a, b| a.0.cmp(&b.0));
    for b in &ctx.items {
        if let Some(code) = &b.module {
            extra
                .texts
                .push((format!("items/{}.py", b.name), code.clone()));
        }
    }
    Ok(files)
}

fn task_settings(ctx: &mut Ctx, task_row: &Row) -> TaskFile {
    let object = format!(
        "task {} (Jam.py \"{}\")",
        ident(task_row.text("F_ITEM_NAME").unwrap_or("app")),
        task_row.text("F_ITEM_NAME").unwrap_or("")
    );
    let jp_name = task_row.text("F_ITEM_NAME").unwrap_or("app");
    let mut task = TaskFile {
        name: ident(jp_name),
        caption: task_row.text("F_NAME").map(str::to_string),
        ..TaskFile::default()
    };
    if task.name != jp_name {
        ctx.renamed.push((jp_name.to_string(), task.name.clone()));
    }
    ctx.report.converted(&object, "name and caption");
    let params = ctx.meta.one("SYS_PARAMS");
    let safe = params.is_some_and(|p| p.flag("F_SAFE_MODE"));
    task.safe_mode = Some(safe);
    ctx.report.converted(
        &object,
        format!("safe mode ({})", if safe { "on" } else { "off" }),
    );
    if let Some(p) = params {
        match p.int("F_TIMEOUT") {
            Some(t) if (60..=366 * 24 * 3600).contains(&t) => {
                task.session_timeout = Some(t as u64);
                ctx.report.converted(&object, format!("session timeout ({t} s)"));
            }
            Some(t) if t > 0 => ctx.report.approximated(
                &object,
                format!("session timeout {t} s is outside jamrs's 60 s … a year; the default (8 hours) is used"),
            ),
            _ => {}
        }
        if p.text("F_SECRET_KEY").is_some() {
            ctx.report.left_out(
                &object,
                "the secret key (never copied: jamrs sessions are rows with random tokens, not signed cookies)",
            );
        }
        for (col, what) in [
            ("F_THEME", "theme"),
            ("F_SMALL_FONT", "small font"),
            ("F_FULL_WIDTH", "full width"),
            ("F_FORMS_IN_TABS", "forms in tabs"),
            ("F_MAX_CONTENT_LENGTH", "maximum upload size"),
            ("F_UPLOAD_FILE_EXT", "upload file extensions"),
        ] {
            if p.int(col).is_some_and(|v| v != 0)
                || p.text(col).is_some_and(|t| t.parse::<i64>().is_err())
            {
                ctx.report.left_out(
                    &object,
                    format!("the {what} setting (no jamrs setting yet)"),
                );
            }
        }
        if let Some(lang) = p.int("F_LANGUAGE") {
            match ctx.source_dir.and_then(|d| crate::data::language(d, lang)) {
                Some(code) => {
                    ctx.report
                        .converted(&object, format!("language ({code})"));
                    task.language = Some(code);
                }
                None => ctx.report.approximated(
                    &object,
                    format!("language {lang} could not be read from langs.sqlite; jamrs's default (en) is used"),
                ),
            }
        }
        if let Some(id) = p.id("F_HISTORY_ITEM") {
            ctx.report.approximated(
                &object,
                format!("the history item (Jam.py item ID {id}): jamrs records the history of items with keep_history in its own table jamrs_history (POST /api/items/<item>/history, item.history()); what Jam.py recorded stays in the history item's table"),
            );
        }
        if let Some(id) = p.id("F_LOCK_ITEM") {
            ctx.report.approximated(
                &object,
                format!("the lock item (Jam.py item ID {id}): jamrs locks records of items with edit_lock by their record version, not with a locks table"),
            );
        }
    }
    task
}

fn lookup_lists(ctx: &mut Ctx) -> Vec<LookupListFile> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for r in ctx.meta.rows("SYS_LOOKUP_LISTS") {
        let id = r.int("ID").unwrap_or(0);
        let raw = r.text("F_NAME").unwrap_or("list");
        let mut name = raw.to_string();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{raw} {n}");
            n += 1;
        }
        let object = format!("lookup list \"{name}\" (ID {id})");
        let values: Option<Vec<(i64, String)>> = r
            .text("F_LOOKUP_VALUES_TEXT")
            .and_then(|t| serde_json::from_str::<Vec<(J, J)>>(t).ok())
            .map(|pairs| {
                pairs
                    .into_iter()
                    .filter_map(|(v, t)| {
                        let v = v.as_i64().or_else(|| v.as_str()?.parse().ok())?;
                        Some((v, t.as_str().map_or_else(|| t.to_string(), str::to_string)))
                    })
                    .collect()
            });
        match values {
            Some(mut v) if !v.is_empty() => {
                let mut seen = HashSet::new();
                v.retain(|(k, _)| seen.insert(*k));
                ctx.lookup_lists.insert(id, name.clone());
                ctx.report.converted(&object, format!("{} values", v.len()));
                out.push(LookupListFile { name, values: v });
            }
            _ => ctx.report.left_out(
                &object,
                "it has no values (or they are not [[number, text], …])",
            ),
        }
    }
    out
}

/// The fields an item owns: in v5 its group's common fields and then its own; in v7 its own.
fn field_rows<'a>(ctx: &Ctx<'a>, item: &Row, group: &Row, v7: bool) -> Vec<&'a Row> {
    let own = item.int("ID");
    let parent = group.int("ID");
    let all = ctx.meta.rows("SYS_FIELDS");
    let mut rows: Vec<&Row> = if v7 {
        Vec::new()
    } else {
        all.iter()
            .filter(|f| f.int("OWNER_REC_ID") == parent)
            .collect()
    };
    rows.extend(all.iter().filter(|f| f.int("OWNER_REC_ID") == own));
    rows
}

fn item_pass_one(
    ctx: &mut Ctx,
    row: &Row,
    group: &Row,
    gi: usize,
    v7: bool,
    names: &mut Names,
    extra: &mut Extra,
) {
    let jp_id = row.int("ID").unwrap_or(0);
    let jp_name = row.text("F_ITEM_NAME").unwrap_or("item");
    let name = names.unique(jp_name);
    let object = item_object(row, &name);
    if name != jp_name {
        ctx.renamed.push((jp_name.to_string(), name.clone()));
        ctx.report.approximated(
            &object,
            format!("renamed {jp_name} → {name} (jamrs names are lower-case identifiers; code that spells the old name must follow)"),
        );
    }
    let info = row.text("F_INFO").unwrap_or_default();
    if !info.is_empty() {
        let (path, text) = match info.strip_prefix("json") {
            Some(json) => (format!("jampy/forms/{name}.json"), json.to_string()),
            None => (format!("jampy/forms/{name}.pickle"), info.to_string()),
        };
        extra.texts.push((path.clone(), text));
        ctx.report.converted(
            &object,
            format!("its form layouts, carried raw to {path} for the layout conversion"),
        );
    }
    if let Some(code) = row
        .text("F_WEB_CLIENT_MODULE")
        .filter(|c| !c.trim().is_empty())
    {
        extra
            .texts
            .push((format!("client/{name}.js"), code.to_string()));
        ctx.report
            .converted(&object, format!("client module → client/{name}.js"));
    }
    let module = row
        .text("F_SERVER_MODULE")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string);
    let leave_out = |ctx: &mut Ctx, extra: &mut Extra, why: String| {
        if let Some(code) = &module {
            extra
                .texts
                .push((format!("jampy/left_out/{name}.py"), code.clone()));
        }
        ctx.report.left_out(&object, why);
    };
    if row.flag("F_VIRTUAL_TABLE") {
        leave_out(
            ctx,
            extra,
            "the whole item: it is virtual (no table), and a jamrs item is a table; its server module, if any, is in jampy/left_out/".into(),
        );
        return;
    }
    let Some(table) = row.text("F_TABLE_NAME") else {
        leave_out(ctx, extra, "the whole item: it names no table".into());
        return;
    };
    if let Err(e) = Ident::parse_sql_name(table) {
        leave_out(ctx, extra, format!("the whole item: its table name {e}"));
        return;
    }
    let columns = match ctx.data {
        Some(d) => match d.columns(table) {
            Some(c) => Some(c),
            None => {
                leave_out(
                    ctx,
                    extra,
                    format!("the whole item: its table {table} is not in the data database"),
                );
                return;
            }
        },
        None => None,
    };

    let rows = field_rows(ctx, row, group, v7);
    let pk_id = row.id("F_PRIMARY_KEY");
    let deleted_id = row.id("F_DELETED_FLAG");
    let system: HashSet<i64> = [
        "F_PRIMARY_KEY",
        "F_DELETED_FLAG",
        "F_MASTER_ID",
        "F_MASTER_REC_ID",
        "F_RECORD_VERSION",
    ]
    .iter()
    .filter_map(|c| row.id(c))
    .collect();
    let Some(pk_row) = pk_id.and_then(|id| rows.iter().find(|f| f.int("ID") == Some(id))) else {
        let system_item = ctx.meta.one("SYS_PARAMS").and_then(|p| {
            [("F_HISTORY_ITEM", "history"), ("F_LOCK_ITEM", "lock")]
                .into_iter()
                .find(|(c, _)| p.id(c) == Some(jp_id))
        });
        let why = match system_item {
            Some((_, kind)) => format!(
                "the whole item: it is Jam.py's {kind} item, a table without a primary key, which jamrs cannot serve (its rows stay in {table}); jamrs keeps {kind} per item (keep_history, edit_lock)"
            ),
            None => "the whole item: it has no primary key field".into(),
        };
        leave_out(ctx, extra, why);
        return;
    };
    // Integer (2) and text (1) keys are served; a text key is the client's to give.
    let text_key = pk_row.int("F_DATA_TYPE") == Some(1);
    let pk_name = pk_row.text("F_FIELD_NAME").unwrap_or("?").to_string();
    if pk_row.int("F_DATA_TYPE") != Some(2) && !text_key {
        leave_out(
            ctx,
            extra,
            format!(
                "the whole item: its primary key {} is neither an integer nor a text (data type {}); jamrs serves integer and text keys",
                pk_row.text("F_FIELD_NAME").unwrap_or("?"),
                pk_row.int("F_DATA_TYPE").unwrap_or(0)
            ),
        );
        return;
    }

    let mut fnames = Names::default();
    let mut file = ItemFile {
        caption: row.text("F_NAME").map(str::to_string),
        id: Some(jp_id),
        table: Some(table.to_string()),
        visible: Some(row.flag("F_VISIBLE")),
        ..ItemFile::default()
    };
    let mut fields = HashMap::new();
    let mut types = HashMap::new();
    let mut checked = HashSet::new();
    for f in rows {
        let fid = f.int("ID").unwrap_or(0);
        let jp_field = f.text("F_FIELD_NAME").unwrap_or("field");
        let fname = fnames.unique(jp_field);
        if fname != jp_field {
            ctx.renamed.push((jp_field.to_string(), fname.clone()));
            ctx.report.approximated(
                &object,
                format!("field {jp_field} renamed {fname} (a lower-case identifier)"),
            );
        }
        let dt = f.int("F_DATA_TYPE").unwrap_or(0);
        let Some(type_name) = usize::try_from(dt - 1).ok().and_then(|i| TYPES.get(i)) else {
            ctx.report.left_out(
                &object,
                format!("field {jp_field}: data type {dt} is not one of Jam.py's 1–11"),
            );
            continue;
        };
        if text_key && matches!(*type_name, "file" | "image") {
            ctx.report.left_out(
                &object,
                format!("field {jp_field}: jamrs attaches uploads to records by integer keys, and this item is keyed by text (its column stays in {table})"),
            );
            continue;
        }
        let mut ff = FieldFile::new(&fname, type_name);
        ff.caption = f.text("F_NAME").map(str::to_string);
        let has_column = f.id("F_MASTER_FIELD").is_none() && f.id("F_CALC_ITEM").is_none();
        if has_column {
            let Some(col) = f.text("F_DB_FIELD_NAME") else {
                ctx.report
                    .left_out(&object, format!("field {jp_field}: it names no column"));
                continue;
            };
            if let Err(e) = Ident::parse_sql_name(col) {
                ctx.report
                    .left_out(&object, format!("field {jp_field}: its column name {e}"));
                continue;
            }
            let stored = columns
                .as_ref()
                .map(|cols| cols.iter().find(|c| c.eq_ignore_ascii_case(col)));
            match stored {
                Some(None) => {
                    ctx.report.left_out(
                        &object,
                        format!("field {jp_field}: its column {col} is not in table {table}"),
                    );
                    continue;
                }
                // The database's own spelling, which PostgreSQL would compare exactly.
                Some(Some(actual)) if actual != &fname => ff.db_field = Some(actual.clone()),
                None if col != fname => ff.db_field = Some(col.to_string()),
                _ => {}
            }
        }
        if *type_name == "text" {
            match f.int("F_SIZE").filter(|s| *s > 0) {
                Some(s) => ff.size = u32::try_from(s).ok(),
                None => {
                    ff.size = Some(255);
                    ctx.report.approximated(
                        &object,
                        format!("field {jp_field}: a text field without a size gets size 255 (jamrs needs one)"),
                    );
                }
            }
        }
        if f.flag("F_REQUIRED") && Some(fid) != pk_id && !system.contains(&fid) {
            ff.required = Some(true);
        }
        if f.flag("F_READ_ONLY") {
            ff.read_only = Some(true);
        }
        if system.contains(&fid) {
            ff.visible = Some(false);
        }
        ff.alignment = match f.int("F_ALIGNMENT") {
            Some(1) => Some("left".into()),
            Some(2) => Some("center".into()),
            Some(3) => Some("right".into()),
            _ => None,
        };
        ff.help = f.text("F_HELP").map(str::to_string);
        ff.placeholder = f.text("F_PLACEHOLDER").map(str::to_string);
        if f.flag("F_ENABLE_TYPEHEAD") {
            ff.typeahead = Some(true);
        }
        if let Some(dv) = f.text("F_DEFAULT_VALUE")
            && Some(fid) != pk_id
            && !system.contains(&fid)
            && has_column
        {
            match default_value(type_name, dv) {
                Some(v) => ff.default_value = Some(v),
                None => ctx.report.left_out(
                    &object,
                    format!("field {jp_field}: default value \"{dv}\" is not one jamrs can read for a {type_name} field"),
                ),
            }
        }
        for (col, what) in [
            ("F_MULTI_SELECT", "multiple selection"),
            ("F_MASK", "input mask"),
            ("F_TEXTAREA", "text area"),
            ("F_DO_NOT_SANITIZE", "do not sanitize"),
            ("F_DEFAULT_LOOKUP_VALUE", "default lookup value"),
        ] {
            if f.int(col).is_some_and(|v| v != 0)
                || f.text(col).is_some_and(|t| t.parse::<i64>().is_err())
            {
                ctx.report.left_out(
                    &object,
                    format!("field {jp_field}: the {what} setting (no jamrs key yet)"),
                );
            }
        }
        if f.flag("F_CHECK_BEFORE_DELETING") {
            checked.insert(fname.clone());
        }
        types.insert(fname.clone(), dt);
        fields.insert(fid, fname.clone());
        file.fields.push(ff);
    }
    let pk = fields.get(&pk_id.unwrap_or(0)).cloned();
    let Some(pk) = pk else {
        leave_out(
            ctx,
            extra,
            "the whole item: its primary key's column is missing".into(),
        );
        return;
    };
    file.primary_key = Some(pk);
    match (
        row.flag("F_SOFT_DELETE"),
        deleted_id.and_then(|d| fields.get(&d)),
    ) {
        (true, Some(flag)) => {
            file.soft_delete = Some(true);
            file.deleted_flag = Some(flag.clone());
            ctx.report
                .converted(&object, format!("soft delete (flag {flag})"));
        }
        (true, None) => ctx.report.approximated(
            &object,
            "soft delete without a deleted-flag column: rows are deleted for good",
        ),
        _ => {}
    }
    history_and_lock(ctx, row, &object, &mut file, &fields);
    if text_key {
        ctx.report.converted(
            &object,
            format!(
                "keyed by the text field {pk_name} (primary_key): a new record must give its key"
            ),
        );
    }
    if text_key && file.keep_history.take().is_some() {
        ctx.report.left_out(
            &object,
            "history: jamrs records history by integer keys, and this item is keyed by text",
        );
    }
    ctx.report.converted(
        &object,
        format!(
            "table {table} ({} fields), caption, visibility, ID {jp_id}",
            file.fields.len()
        ),
    );
    ctx.by_jp_id.insert(jp_id, ctx.items.len());
    ctx.items.push(ItemBuild {
        jp_id,
        name,
        object,
        group: gi,
        file,
        fields,
        types,
        checked,
        module,
    });
}

/// Jam.py deletes a row whatever looks it up (only its "check before deleting" field setting
/// says otherwise, and Jam.py 5.4 and 7.0 do not act on it); jamrs refuses such a delete unless
/// the lookup field says `on_delete = "set_null"` or `"cascade"`. Said once, when lookups came
/// over.
fn delete_integrity_note(ctx: &mut Ctx, task: &TaskFile, task_row: &Row) {
    let unchecked: Vec<String> = ctx
        .items
        .iter()
        .flat_map(|b| {
            b.file
                .fields
                .iter()
                .filter(|f| f.lookup.is_some() && f.master_field.is_none() && f.on_delete.is_none())
                .filter(|f| f.field_type == "integer")
                .map(move |f| format!("{}.{}", b.name, f.name))
        })
        .collect();
    if unchecked.is_empty() {
        return;
    }
    let object = format!(
        "task {} (Jam.py \"{}\")",
        task.name,
        task_row.text("F_ITEM_NAME").unwrap_or("")
    );
    ctx.report.approximated(
        &object,
        format!(
            "delete integrity: Jam.py deletes a row that lookups point at (they keep a key to nothing); jamrs refuses that delete (on_delete = \"restrict\", the default) for {}. Set on_delete = \"set_null\" or \"cascade\" on a lookup field to allow it",
            unchecked.join(", ")
        ),
    );
}

/// Jam.py's History (`F_KEEP_HISTORY`) and Edit lock (`F_EDIT_LOCK` with its record version
/// field `F_RECORD_VERSION`) as `keep_history` and `edit_lock` / `record_version`.
fn history_and_lock(
    ctx: &mut Ctx,
    row: &Row,
    object: &str,
    file: &mut ItemFile,
    fields: &HashMap<i64, String>,
) {
    if row.flag("F_KEEP_HISTORY") {
        file.keep_history = Some(true);
        ctx.report
            .converted(object, "history (keep_history = true)");
        let history_item = ctx
            .meta
            .one("SYS_PARAMS")
            .and_then(|p| p.id("F_HISTORY_ITEM"));
        if history_item.is_none() {
            ctx.report.approximated(
                object,
                "Jam.py kept no history of it (the project has no history item); jamrs records its changes from now on",
            );
        }
    }
    if !row.flag("F_EDIT_LOCK") {
        return;
    }
    match row.id("F_RECORD_VERSION").and_then(|v| fields.get(&v)) {
        Some(v) => {
            file.edit_lock = Some(true);
            if v != "record_version" {
                file.record_version = Some(v.clone());
            }
            if let Some(ff) = file.fields.iter_mut().find(|f| &f.name == v) {
                // The server sets it: 1 on insert, raised by every update.
                ff.read_only = None;
                ff.required = None;
                ff.default_value = None;
            }
            ctx.report.converted(
                object,
                format!("edit lock (edit_lock = true, record version {v})"),
            );
        }
        // Tables jamrs creates (no data database): it adds the record version field itself.
        None if ctx.data.is_none() && !file.fields.iter().any(|f| f.name == "record_version") => {
            file.edit_lock = Some(true);
            ctx.report.converted(
                object,
                "edit lock (edit_lock = true; jamrs adds the record version field record_version)",
            );
        }
        None => ctx.report.left_out(
            object,
            format!(
                "the edit lock: Jam.py names no record version field for it (Jam.py 5 locks without one), and jamrs's edit lock needs an integer record version column, which the import does not add to {}: add one, declare it as a field and set edit_lock = true and record_version = \"<field>\"",
                file.table.as_deref().unwrap_or("its table")
            ),
        ),
    }
}

/// Jam.py's default-value text as a TOML value of the field's type.
fn default_value(type_name: &str, text: &str) -> Option<toml::Value> {
    let t = text.trim();
    Some(match type_name {
        "date" if t.eq_ignore_ascii_case("current date") => toml::Value::String("today".into()),
        "datetime" if t.eq_ignore_ascii_case("current datetime") => {
            toml::Value::String("now".into())
        }
        "boolean" => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => toml::Value::Boolean(true),
            "false" | "0" => toml::Value::Boolean(false),
            _ => return None,
        },
        "integer" => toml::Value::Integer(t.parse().ok()?),
        "float" | "currency" => {
            toml::Value::Float(t.parse::<f64>().ok().filter(|f| f.is_finite())?)
        }
        "text" | "longtext" | "date" | "datetime" => toml::Value::String(t.to_string()),
        _ => return None,
    })
}

/// The jamrs name of Jam.py field `fid` in the item with Jam.py ID `item`.
fn field_of(ctx: &Ctx, item: i64, fid: i64) -> Option<(usize, String)> {
    let i = *ctx.by_jp_id.get(&item)?;
    Some((i, ctx.items[i].fields.get(&fid)?.clone()))
}

fn item_pass_two(ctx: &mut Ctx, i: usize) {
    let object = ctx.items[i].object.clone();
    let jp_id = ctx.items[i].jp_id;
    let ids: Vec<(i64, String)> = ctx.items[i]
        .fields
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    let mut drop: HashSet<String> = HashSet::new();
    // Lookups, lookup lists, calculated fields, master fields.
    for (fid, fname) in &ids {
        let Some(f) = ctx.field_rows.get(fid).copied() else {
            continue;
        };
        let dt = ctx.items[i].types.get(fname).copied().unwrap_or(0);
        let mut lookup = None;
        if let Some(target) = f.id("F_OBJECT") {
            match lookup_chain(ctx, target, f) {
                Ok(l) if dt == 2 || dt == 9 => lookup = Some(l),
                Ok(_) => ctx.report.left_out(
                    &object,
                    format!("field {fname}: its lookup (to a text key, type {dt}); jamrs looks up integer keys only for now"),
                ),
                Err(e) => ctx.report.left_out(&object, format!("field {fname}: its lookup: {e}")),
            }
        }
        let calc = match (
            f.id("F_CALC_ITEM"),
            f.id("F_CALC_FIELD"),
            f.id("F_CALC_LOOKUP_FIELD"),
        ) {
            (Some(ci), Some(cf), Some(cl)) => {
                let op = match f.int("F_CALC_OP") {
                    Some(1) => Some("sum"),
                    Some(2) => Some("avg"),
                    Some(3) => Some("count"),
                    Some(4) => Some("min"),
                    Some(5) => Some("max"),
                    _ => None,
                };
                match (field_of(ctx, ci, cf), field_of(ctx, ci, cl), op) {
                    (Some((t, field)), Some((_, link)), Some(op)) => Some(CalcFile {
                        item: ctx.items[t].name.clone(),
                        field,
                        link,
                        op: op.into(),
                    }),
                    _ => {
                        ctx.report.left_out(
                            &object,
                            format!("calculated field {fname}: the item or fields it aggregates did not come over (or its operation is unknown)"),
                        );
                        drop.insert(fname.clone());
                        None
                    }
                }
            }
            _ => None,
        };
        let master_field = f
            .id("F_MASTER_FIELD")
            .map(|m| ctx.items[i].fields.get(&m).cloned());
        // Jam.py's "check before deleting": a row this field points at cannot be deleted.
        // It is jamrs's default for a lookup with a column; written out so it is seen.
        let restrict = ctx.items[i].checked.contains(fname)
            && lookup.is_some()
            && dt == 2
            && f.id("F_MASTER_FIELD").is_none();
        if restrict {
            ctx.report.converted(
                &object,
                format!("field {fname}: check before deleting (on_delete = \"restrict\")"),
            );
        }
        let b = &mut ctx.items[i];
        let Some(ff) = b.file.fields.iter_mut().find(|x| &x.name == fname) else {
            continue;
        };
        if restrict {
            ff.on_delete = Some("restrict".into());
        }
        ff.lookup = lookup;
        if let Some(c) = calc {
            ff.calc = Some(c);
            ff.read_only = None;
        }
        match master_field {
            Some(Some(m)) if ff.lookup.is_some() => {
                ff.master_field = Some(m);
                ff.read_only = None;
            }
            Some(_) => {
                drop.insert(fname.clone());
                ctx.report.left_out(
                    &object,
                    format!("field {fname}: it shows another field of its master field's lookup, which did not come over"),
                );
            }
            None => {}
        }
        if let Some(list) = f.id("F_LOOKUP_VALUES") {
            match ctx.lookup_lists.get(&list) {
                Some(name) if dt == 2 => {
                    let b = &mut ctx.items[i];
                    if let Some(ff) = b.file.fields.iter_mut().find(|x| &x.name == fname) {
                        ff.lookup_values = Some(name.clone());
                    }
                }
                _ => ctx.report.left_out(
                    &object,
                    format!("field {fname}: its lookup list {list} (missing, or the field is not an integer)"),
                ),
            }
        }
    }
    // A master-field field needs its master's lookup; one whose master lost it goes too.
    loop {
        let b = &ctx.items[i];
        let lost: Vec<String> = b
            .file
            .fields
            .iter()
            .filter(|f| {
                f.master_field.as_ref().is_some_and(|m| {
                    drop.contains(m)
                        || !b
                            .file
                            .fields
                            .iter()
                            .any(|x| &x.name == m && x.lookup.is_some())
                })
            })
            .map(|f| f.name.clone())
            .filter(|n| !drop.contains(n))
            .collect();
        if lost.is_empty() {
            break;
        }
        drop.extend(lost);
    }
    let b = &mut ctx.items[i];
    b.file.fields.retain(|f| !drop.contains(&f.name));
    b.fields.retain(|_, n| !drop.contains(n));

    // Filters: the item's and its group's (Jam.py applies a group's filters to its items).
    let group_id = ctx
        .meta
        .rows("SYS_ITEMS")
        .iter()
        .find(|r| r.int("ID") == Some(jp_id))
        .and_then(|r| r.int("PARENT"));
    let mut filters: Vec<&Row> = ctx
        .meta
        .rows("SYS_FILTERS")
        .iter()
        .filter(|r| {
            let o = r.int("OWNER_REC_ID");
            o == Some(jp_id) || (o.is_some() && o == group_id)
        })
        .collect();
    filters.sort_by_key(|r| (r.int("F_INDEX").unwrap_or(0), r.int("ID").unwrap_or(0)));
    let mut fnames = Names::default();
    let mut out = Vec::new();
    for r in filters {
        let jp = r.text("F_FILTER_NAME").unwrap_or("filter");
        let field = r
            .id("F_FIELD")
            .and_then(|f| ctx.items[i].fields.get(&f).cloned());
        let deleted = ctx.items[i].file.deleted_flag.clone();
        match (field, r.int("F_TYPE")) {
            (Some(field), Some(t)) if Some(&field) != deleted.as_ref() && (1..=30).contains(&t) => {
                let is_lookup = ctx.items[i]
                    .file
                    .fields
                    .iter()
                    .any(|f| f.name == field && f.lookup.is_some());
                if t > 15 && !is_lookup {
                    ctx.report.left_out(
                        &object,
                        format!(
                            "filter {jp}: a *_l filter on a field whose lookup did not come over"
                        ),
                    );
                    continue;
                }
                out.push(FilterFile {
                    name: fnames.unique(jp),
                    field,
                    filter_type: FilterTypeFile::Number(t),
                    caption: r.text("F_NAME").map(str::to_string),
                    visible: Some(r.flag("F_VISIBLE")),
                    multi_select_all: r.flag("F_MULTI_SELECT_ALL").then_some(true),
                    help: r.text("F_HELP").map(str::to_string),
                    placeholder: r.text("F_PLACEHOLDER").map(str::to_string),
                });
            }
            _ => ctx.report.left_out(
                &object,
                format!("filter {jp}: its field did not come over, or its type is unknown"),
            ),
        }
    }
    if !out.is_empty() {
        ctx.report
            .converted(&object, format!("{} filters", out.len()));
    }
    ctx.items[i].file.filters = out;

    // Indexes.
    let mut indexes = Vec::new();
    for r in ctx
        .meta
        .rows("SYS_INDICES")
        .iter()
        .filter(|r| r.int("OWNER_REC_ID") == Some(jp_id))
    {
        let jp = r.text("F_INDEX_NAME").unwrap_or("index");
        if r.flag("F_FOREIGN_INDEX") {
            ctx.report.left_out(
                &object,
                format!("foreign key {jp}: jamrs declares no foreign keys (the engine checks lookup values itself)"),
            );
            continue;
        }
        let list: Option<Vec<(J, J)>> = r
            .text("F_FIELDS_LIST")
            .and_then(|t| serde_json::from_str(t).ok());
        let fields: Option<Vec<String>> = list.and_then(|l| {
            l.iter()
                .map(|(id, desc)| {
                    let name = ctx.items[i].fields.get(&id.as_i64()?)?.clone();
                    let desc = desc
                        .as_bool()
                        .unwrap_or(desc.as_i64().is_some_and(|d| d != 0));
                    Some(if desc { format!("-{name}") } else { name })
                })
                .collect()
        });
        match fields {
            Some(f) if !f.is_empty() => indexes.push(IndexFile {
                name: Ident::parse_sql_name(jp).ok().map(|_| jp.to_string()),
                fields: f,
                unique: r.flag("F_UNIQUE_INDEX").then_some(true),
            }),
            _ => ctx.report.left_out(
                &object,
                format!("index {jp}: a field of it did not come over"),
            ),
        }
    }
    if !indexes.is_empty() {
        ctx.report
            .converted(&object, format!("{} indexes", indexes.len()));
    }
    ctx.items[i].file.indexes = indexes;

    // Default order, from the layout's "order".
    let info = ctx
        .meta
        .rows("SYS_ITEMS")
        .iter()
        .find(|r| r.int("ID") == Some(jp_id))
        .and_then(|r| r.text("F_INFO"))
        .and_then(|t| t.strip_prefix("json"))
        .and_then(|t| serde_json::from_str::<J>(t).ok());
    if let Some(order) = info
        .as_ref()
        .and_then(|i| i.get("order"))
        .and_then(J::as_array)
    {
        let mut out = Vec::new();
        for o in order {
            let id = o.get(0).and_then(J::as_i64);
            let desc = o.get(1).is_some_and(|d| {
                d.as_bool().unwrap_or(false) || d.as_i64().is_some_and(|d| d != 0)
            });
            match id.and_then(|id| ctx.items[i].fields.get(&id)) {
                Some(n) if Some(n) != ctx.items[i].file.deleted_flag.as_ref() => {
                    out.push(if desc { format!("-{n}") } else { n.clone() })
                }
                _ => ctx
                    .report
                    .left_out(&object, "a default-order field that did not come over"),
            }
        }
        if !out.is_empty() {
            ctx.report
                .converted(&object, format!("default order ({})", out.join(", ")));
        }
        ctx.items[i].file.default_order = out;
    }
}

/// `F_OBJECT`, `F_OBJECT_FIELD` (1, 2) of a lookup field as a jamrs lookup, each level in the
/// item the previous level's field looks up.
pub(crate) fn lookup_chain(ctx: &Ctx, target: i64, f: &Row) -> Result<LookupFile, String> {
    let mut item = target;
    let mut names = Vec::new();
    for col in ["F_OBJECT_FIELD", "F_OBJECT_FIELD1", "F_OBJECT_FIELD2"] {
        let Some(fid) = f.id(col) else {
            break;
        };
        let (i, name) = field_of(ctx, item, fid).ok_or_else(|| {
            format!("the item it looks up (Jam.py ID {item}) or its field {fid} did not come over")
        })?;
        names.push((i, name));
        // The next level is in the item this level's field looks up.
        if let Some(next) = ctx.field_rows.get(&fid).and_then(|r| r.id("F_OBJECT")) {
            item = next;
        }
    }
    let Some((first, field)) = names.first().cloned() else {
        return Err("it names no field to show".into());
    };
    Ok(LookupFile {
        item: ctx.items[first].name.clone(),
        field,
        field1: names.get(1).map(|n| n.1.clone()),
        field2: names.get(2).map(|n| n.1.clone()),
    })
}

/// Detail links (SYS_ITEMS rows of type 14: PARENT the master, TABLE_ID the prototype).
fn details(ctx: &mut Ctx, rows: &[Row], extra: &mut Extra) {
    let mut linked: HashMap<usize, usize> = HashMap::new();
    let mut links: Vec<&Row> = rows
        .iter()
        .filter(|r| r.int("TYPE_ID") == Some(DETAIL_TYPE))
        .collect();
    links.sort_by_key(|r| (r.int("F_INDEX").unwrap_or(0), r.int("ID").unwrap_or(0)));
    for d in links {
        let jp = d.text("F_ITEM_NAME").unwrap_or("detail");
        let master = d.int("PARENT").and_then(|p| ctx.by_jp_id.get(&p).copied());
        let proto = d
            .int("TABLE_ID")
            .and_then(|p| ctx.by_jp_id.get(&p).copied());
        let (Some(m), Some(p)) = (master, proto) else {
            let object = format!("detail {jp} (Jam.py ID {})", d.int("ID").unwrap_or(0));
            ctx.report.left_out(
                &object,
                "the link: its master or its detail item did not come over",
            );
            continue;
        };
        let object = ctx.items[m].object.clone();
        let proto_row = rows
            .iter()
            .find(|r| r.int("ID") == Some(ctx.items[p].jp_id));
        // The link: v7's master_field on the detail row, else the prototype's MASTER_ID and
        // MASTER_REC_ID fields (or MASTER_REC_ID alone).
        let field = |id: Option<i64>| id.and_then(|f| ctx.items[p].fields.get(&f).cloned());
        let by_field = field(d.id("F_MASTER_FIELD"));
        let mid = field(proto_row.and_then(|r| r.id("F_MASTER_ID")));
        let mrid = field(proto_row.and_then(|r| r.id("F_MASTER_REC_ID")));
        let (style, mf, ids) = match (by_field, mid, mrid) {
            (Some(f), _, _) => ("master_field", Some(f), None),
            (None, Some(a), Some(b)) => ("master_id + master_rec_id", None, Some((a, b))),
            (None, None, Some(b)) => ("master_rec_id only (as master_field)", Some(b), None),
            _ => {
                ctx.report.left_out(
                    &object,
                    format!("detail {jp}: no link fields (master_field, or master_id and master_rec_id) came over"),
                );
                continue;
            }
        };
        let pname = ctx.items[p].name.clone();
        if ctx.items[m].file.fields.iter().any(|f| f.name == pname) {
            ctx.report.left_out(
                &object,
                format!("detail {jp}: the master has a field of the same name {pname}"),
            );
            continue;
        }
        let pf = &ctx.items[p].file;
        let conflict = match (&mf, &ids) {
            (Some(f), _) => {
                pf.master_id.is_some()
                    || pf.master_field.as_ref().is_some_and(|x| x != f)
                    || linked.get(&p).is_some_and(|x| *x != m)
            }
            (_, Some((a, b))) => {
                pf.master_field.is_some()
                    || pf.master_id.as_ref().is_some_and(|x| x != a)
                    || pf.master_rec_id.as_ref().is_some_and(|x| x != b)
            }
            _ => false,
        };
        if conflict {
            ctx.report.left_out(
                &object,
                format!("detail {jp}: {pname} is already a detail of another master by another link (a jamrs item has one link)"),
            );
            continue;
        }
        let pf = &mut ctx.items[p].file;
        match (mf, ids) {
            (Some(f), _) => {
                pf.master_field = Some(f.clone());
                for x in pf.fields.iter_mut().filter(|x| x.name == f) {
                    x.visible = Some(false);
                }
            }
            (_, Some((a, b))) => {
                pf.master_id = Some(a);
                pf.master_rec_id = Some(b);
            }
            _ => {}
        }
        linked.insert(p, m);
        if !ctx.items[m].file.details.contains(&pname) {
            ctx.items[m].file.details.push(pname.clone());
        }
        if let Some(code) = d.text("F_SERVER_MODULE").filter(|c| !c.trim().is_empty()) {
            extra.texts.push((
                format!("jampy/details/{}.{pname}.py", ctx.items[m].name),
                code.to_string(),
            ));
            ctx.report.left_out(
                &object,
                format!("detail {jp}: its own server module (carried to jampy/details/{}.{pname}.py); the item module items/{pname}.py is the one that runs", ctx.items[m].name),
            );
        }
        ctx.report
            .converted(&object, format!("detail {pname} ({style})"));
        if jp != pname {
            ctx.report.approximated(
                &object,
                format!(
                    "detail {jp} is reached as {pname} (a jamrs detail is named after its item)"
                ),
            );
        }
        // A Jam.py detail row's own ID also names the detail in server code (item_by_ID).
        let did = d.int("ID").unwrap_or(0);
        ctx.by_jp_id.entry(did).or_insert(p);
    }
}

fn roles(ctx: &mut Ctx, task: &mut TaskFile, extra: &mut Extra) {
    let mut names = Names::default();
    let mut by_id: HashMap<i64, String> = HashMap::new();
    for r in ctx.meta.rows("SYS_ROLES") {
        let id = r.int("ID").unwrap_or(0);
        let caption = r.text("F_NAME").unwrap_or("role");
        let name = names.unique(caption);
        let object = format!("role {name} (Jam.py \"{caption}\", ID {id})");
        let mut items: BTreeMap<String, Vec<String>> = ctx
            .items
            .iter()
            .map(|b| (b.name.clone(), Vec::new()))
            .collect();
        let mut seen: HashMap<usize, Vec<String>> = HashMap::new();
        for p in ctx
            .meta
            .rows("SYS_PRIVILEGES")
            .iter()
            .filter(|p| p.int("OWNER_REC_ID") == Some(id))
        {
            let Some(i) = p.int("ITEM_ID").and_then(|x| ctx.by_jp_id.get(&x).copied()) else {
                continue;
            };
            let privs: Vec<String> = [
                ("F_CAN_VIEW", "view"),
                ("F_CAN_CREATE", "create"),
                ("F_CAN_EDIT", "edit"),
                ("F_CAN_DELETE", "delete"),
            ]
            .iter()
            .filter(|(c, _)| p.flag(c))
            .map(|(_, n)| n.to_string())
            .collect();
            let name = ctx.items[i].name.clone();
            if let Some(before) = seen.get(&i)
                && before != &privs
            {
                // A detail under two masters: one set of rights, the wider.
                let mut union = before.clone();
                union.extend(privs.iter().cloned());
                union.sort();
                union.dedup();
                ctx.report.approximated(
                    &object,
                    format!(
                        "{name}: different rights under different masters; it gets the wider ({})",
                        union.join(", ")
                    ),
                );
                items.insert(name, union.clone());
                seen.insert(i, union);
                continue;
            }
            seen.insert(i, privs.clone());
            items.insert(name, privs);
        }
        // Reports: `view` is a report's only right (Jam.py's can_view of a report).
        for r in &ctx.reports {
            let view = ctx.meta.rows("SYS_PRIVILEGES").iter().any(|p| {
                p.int("OWNER_REC_ID") == Some(id)
                    && p.int("ITEM_ID") == Some(r.jp_id)
                    && p.flag("F_CAN_VIEW")
            });
            items.insert(
                r.name.clone(),
                if view {
                    vec!["view".into()]
                } else {
                    Vec::new()
                },
            );
        }
        let mut fields = BTreeMap::new();
        for fp in ctx
            .meta
            .rows("SYS_FIELD_PRIVILEGES")
            .iter()
            .filter(|p| p.int("OWNER_REC_ID") == Some(id))
        {
            let found = fp
                .int("ITEM")
                .zip(fp.int("FIELD"))
                .and_then(|(item, field)| field_of(ctx, item, field));
            let Some((i, fname)) = found else {
                ctx.report.left_out(
                    &object,
                    "a field privilege on an item or field that did not come over",
                );
                continue;
            };
            let b = &ctx.items[i];
            let rule = if fp.flag("F_PROHIBITED") {
                if b.file.primary_key.as_ref() == Some(&fname) {
                    ctx.report.left_out(&object, format!("{}.{fname} prohibited: jamrs cannot prohibit a primary key (deny the item instead)", b.name));
                    continue;
                }
                "prohibited"
            } else if fp.flag("F_READ_ONLY") {
                "read_only"
            } else {
                continue;
            };
            fields.insert(format!("{}.{fname}", b.name), rule.to_string());
        }
        ctx.report.converted(
            &object,
            format!(
                "item privileges ({} items and reports; no row means no rights, as in Jam.py){}",
                items.len(),
                if fields.is_empty() {
                    String::new()
                } else {
                    format!(", {} field privileges", fields.len())
                }
            ),
        );
        by_id.insert(id, name.clone());
        task.roles.push(RoleFile {
            id,
            name: name.clone(),
            caption: Some(caption.to_string()),
            all_tenants: None,
            default: Vec::new(),
            items,
            fields,
        });
    }
    for u in ctx.meta.rows("SYS_USERS") {
        let login = u.text("F_LOGIN").unwrap_or_default().trim().to_string();
        let object = format!("user {login} (ID {})", u.int("ID").unwrap_or(0));
        let Some(role) = u.int("F_ROLE").and_then(|r| by_id.get(&r)) else {
            ctx.report
                .left_out(&object, "the user: their role did not come over");
            continue;
        };
        if login.is_empty() || login.chars().any(char::is_whitespace) || login.len() > 100 {
            ctx.report.left_out(
                &object,
                "the user: jamrs logins are 1 to 100 characters without spaces",
            );
            continue;
        }
        if u.flag("F_ADMIN") {
            ctx.report.left_out(
                &object,
                "Builder access (jamrs has no Builder; the project is files)",
            );
        }
        extra.users.push(JampyUser {
            id: u.int("ID").unwrap_or(0),
            login,
            name: u.text("F_NAME").unwrap_or_default().to_string(),
            role: role.clone(),
            // F_ACTIVE is left NULL by the Builder for active users.
            active: u.get("F_ACTIVE").is_none_or(|v| v.is_null()) || u.flag("F_ACTIVE"),
            password: u.text("F_PASSWORD").map(str::to_string),
        });
    }
}

/// Python's standard library modules a Jam.py module commonly imports; anything else must be
/// installed where jamrs's Python finds it.
const STDLIB: [&str; 40] = [
    "os",
    "sys",
    "re",
    "json",
    "datetime",
    "time",
    "math",
    "decimal",
    "random",
    "string",
    "collections",
    "itertools",
    "functools",
    "hashlib",
    "hmac",
    "base64",
    "uuid",
    "csv",
    "io",
    "smtplib",
    "email",
    "urllib",
    "http",
    "logging",
    "traceback",
    "threading",
    "calendar",
    "locale",
    "shutil",
    "tempfile",
    "zipfile",
    "subprocess",
    "pathlib",
    "copy",
    "operator",
    "textwrap",
    "secrets",
    "sqlite3",
    "typing",
    "mimetypes",
];

/// Server modules: the task's as `task.py`, items' as `items/<name>.py` (written by the
/// caller), checked for what jamrs lacks; their module-level functions become `callable`.
fn modules(ctx: &mut Ctx, task_row: &Row, task: &mut TaskFile, extra: &mut Extra) {
    let task_object = format!(
        "task {} (Jam.py \"{}\")",
        task.name,
        task_row.text("F_ITEM_NAME").unwrap_or("")
    );
    let mut codes: Vec<(String, String, String)> = Vec::new();
    if let Some(code) = task_row
        .text("F_SERVER_MODULE")
        .filter(|c| !c.trim().is_empty())
    {
        extra.texts.push(("task.py".into(), code.to_string()));
        ctx.report
            .converted(&task_object, "server module → task.py");
        codes.push((task_object.clone(), "task.py".into(), code.to_string()));
    }
    if let Some(code) = task_row
        .text("F_WEB_CLIENT_MODULE")
        .filter(|c| !c.trim().is_empty())
    {
        extra
            .texts
            .push(("client/task.js".into(), code.to_string()));
        ctx.report
            .converted(&task_object, "client module → client/task.js");
    }
    for b in &mut ctx.items {
        let Some(code) = &b.module else {
            continue;
        };
        let functions: Vec<String> = code
            .lines()
            .filter_map(|l| l.strip_prefix("def "))
            .filter_map(|l| l.split('(').next())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.starts_with("on_") && !n.starts_with('_') && Ident::parse(n).is_ok())
            .collect();
        if !functions.is_empty() {
            ctx.report.approximated(
                &b.object,
                format!("module functions clients could call in Jam.py stay callable: {} (remove from callable those clients need not call)", functions.join(", ")),
            );
            b.file.callable = functions;
        }
        ctx.report
            .converted(&b.object, format!("server module → items/{}.py", b.name));
        codes.push((
            b.object.clone(),
            format!("items/{}.py", b.name),
            code.clone(),
        ));
    }
    for r in &ctx.reports {
        if let Some(code) = &r.module {
            codes.push((
                r.object.clone(),
                format!("reports/{}.py", r.name),
                code.clone(),
            ));
        }
    }
    let mut raw_sql = false;
    let mut packages: Vec<String> = Vec::new();
    for (object, path, code) in &codes {
        for u in jamrs_core::jampy::unsupported(code) {
            ctx.report.left_out(
                object,
                format!("{path}, line {}: jamrs does not provide {}; use {} (jamrs run stops on this line until it is changed)", u.line, u.what, u.instead),
            );
        }
        if ["task.execute", "execute_select", "task.select("]
            .iter()
            .any(|p| code.contains(p))
        {
            raw_sql = true;
        }
        for line in code.lines() {
            let l = line.trim_start();
            let module = l
                .strip_prefix("import ")
                .or_else(|| l.strip_prefix("from "))
                .and_then(|r| r.split([' ', '.', ',']).next())
                .unwrap_or_default();
            if !module.is_empty()
                && module != "jam"
                && !STDLIB.contains(&module)
                && !packages.iter().any(|p| p == module)
            {
                packages.push(module.to_string());
            }
        }
        for (old, new) in &ctx.renamed {
            if old != new && code.contains(old.as_str()) {
                ctx.report.approximated(
                    object,
                    format!("{path} mentions {old}, which is {new} in jamrs: check those lines"),
                );
            }
        }
    }
    if raw_sql {
        task.raw_sql = Some(true);
        ctx.report.approximated(
            &task_object,
            "server modules run SQL strings (task.execute / execute_select), so raw_sql = true: that SQL is not checked against privileges",
        );
    }
    for p in packages {
        ctx.report.next_steps.push(format!(
            "The server modules import `{p}`: install it where jamrs's Python finds it (or remove the import)."
        ));
    }
}
