//! Report items: `reports/<name>.toml` (caption, params, formats), the template beside it and
//! the report's server module. Read here, checked with the rest of the project.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::file::{ReportFile, ReportParamFile};
use super::resolve::{Ctx, Errors, blank_field, default_caption, default_value};
use super::{ITEMS_DIR, REPORTS_DIR, one_line};
use crate::ident::Ident;
use crate::model::{FieldId, ItemId, REPORT_FORMATS, Report, ReportId, ReportParam};
use crate::types::{Align, FieldType};

/// Parameters of one report: a form, not a table.
const MAX_PARAMS: usize = 100;

/// Reads `reports/*.toml` (sorted by name). A module or a report file that cannot be read is an
/// error in `errs`; templates are checked when the reports are resolved.
pub(super) fn read(dir: &Path, errs: &mut Errors) -> Vec<(String, ReportFile)> {
    let folder = dir.join(REPORTS_DIR);
    if !folder.is_dir() {
        return Vec::new();
    }
    let entries = match fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) => {
            errs.push(REPORTS_DIR, format!("cannot list: {e}"));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    let mut modules = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        match ext {
            "toml" => names.push(stem.to_string()),
            "py" => modules.push(stem.to_string()),
            _ => {}
        }
    }
    names.sort();
    for m in &modules {
        if !names.contains(m) {
            errs.push(
                &format!("{REPORTS_DIR}/{m}.py"),
                format!("a report module without a report: there is no {REPORTS_DIR}/{m}.toml"),
            );
        }
    }
    let mut out = Vec::new();
    for name in names {
        let rel = format!("{REPORTS_DIR}/{name}.toml");
        match fs::read_to_string(folder.join(format!("{name}.toml"))) {
            Ok(text) => match toml::from_str::<ReportFile>(&text) {
                Ok(file) => out.push((name, file)),
                Err(e) => errs.push(&rel, one_line(&e.to_string())),
            },
            Err(e) => errs.push(&rel, format!("cannot read: {e}")),
        }
    }
    out
}

/// Names and ids, before anything refers to them: a report's name must not be an item's (both
/// are `task.<name>` in server code, and roles name both).
pub(super) fn index(
    files: &[(String, ReportFile)],
    item_index: &HashMap<String, ItemId>,
    errs: &mut Errors,
) -> HashMap<String, ReportId> {
    let mut index = HashMap::new();
    for (name, _) in files {
        let path = format!("{REPORTS_DIR}/{name}.toml");
        if let Err(e) = Ident::parse(name) {
            errs.push(&path, format!("the file name is the report's name: {e}"));
            continue;
        }
        if item_index.contains_key(name) {
            errs.push(
                &path,
                format!("there is also an item \"{name}\" ({ITEMS_DIR}/{name}.toml); reports and items need different names"),
            );
            continue;
        }
        index.insert(name.clone(), ReportId(index.len() as u32));
    }
    index
}

/// The resolved reports, in `index` order.
pub(super) fn resolve(
    dir: &Path,
    files: &[(String, ReportFile)],
    index: &HashMap<String, ReportId>,
    groups: &HashMap<ReportId, usize>,
    ctx: &Ctx<'_>,
    errs: &mut Errors,
) -> Vec<Report> {
    let mut reports: Vec<Report> = Vec::with_capacity(index.len());
    for (name, file) in files {
        let Some(id) = index.get(name).copied() else {
            continue;
        };
        let path = format!("{REPORTS_DIR}/{name}.toml");
        let folder = dir.join(REPORTS_DIR);
        let template_name = file
            .template
            .clone()
            .unwrap_or_else(|| format!("{name}.ods"));
        let plain = !template_name.is_empty()
            && !template_name.starts_with('.')
            && template_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let template = folder.join(&template_name);
        if !plain {
            errs.push(
                &path,
                format!("template \"{template_name}\" must be a file name in {REPORTS_DIR}/ (letters, digits, - _ .)"),
            );
        } else if !(template_name.ends_with(".ods") || template_name.ends_with(".ots")) {
            errs.push(
                &path,
                format!(
                    "template \"{template_name}\" must be a LibreOffice spreadsheet (.ods or .ots)"
                ),
            );
        } else if !template.is_file() {
            errs.push(
                &path,
                format!("the template {REPORTS_DIR}/{template_name} does not exist"),
            );
        }
        let mut formats = Vec::new();
        for f in &file.formats {
            if !REPORT_FORMATS.contains(&f.as_str()) {
                errs.push(
                    &path,
                    format!(
                        "formats: \"{f}\" is not a format a report is printed in (one of: {})",
                        REPORT_FORMATS.join(", ")
                    ),
                );
            } else if formats.contains(f) {
                errs.push(&path, format!("formats: \"{f}\" is listed twice"));
            } else {
                formats.push(f.clone());
            }
        }
        if file.formats.is_empty() {
            formats = REPORT_FORMATS.iter().map(|f| f.to_string()).collect();
        }
        if file.params.len() > MAX_PARAMS {
            errs.push(
                &path,
                format!(
                    "{} params; a report has at most {MAX_PARAMS}",
                    file.params.len()
                ),
            );
        }
        let mut params: Vec<ReportParam> = Vec::new();
        for pf in &file.params {
            if let Some(p) = param(ctx, &path, pf, params.len(), errs) {
                if params.iter().any(|q| q.field.name == p.field.name) {
                    errs.push(&path, format!("param \"{}\" is defined twice", pf.name));
                    continue;
                }
                params.push(p);
            }
        }
        let module = folder.join(format!("{name}.py"));
        reports.push(Report {
            id,
            name: Ident::parse(name)
                .unwrap_or_else(|_| Ident::parse("invalid").expect("a valid literal")),
            caption: file
                .caption
                .clone()
                .unwrap_or_else(|| default_caption(name)),
            visible: file.visible.unwrap_or(true),
            group: groups.get(&id).copied(),
            template,
            module: module.is_file().then_some(module),
            params,
            formats,
            file: folder.join(format!("{name}.toml")),
        });
    }
    reports
}

/// One parameter, checked as an item field is (type, size, lookup, lookup list, default).
fn param(
    ctx: &Ctx<'_>,
    path: &str,
    pf: &ReportParamFile,
    at: usize,
    errs: &mut Errors,
) -> Option<ReportParam> {
    let fail =
        |errs: &mut Errors, msg: String| errs.push(path, format!("param \"{}\": {msg}", pf.name));
    let name = match Ident::parse(&pf.name) {
        Ok(n) => n,
        Err(e) => {
            errs.push(path, format!("param name: {e}"));
            return None;
        }
    };
    let Some(field_type) = FieldType::from_name(&pf.field_type) else {
        let names: Vec<&str> = PARAM_TYPES.iter().map(|t| t.name()).collect();
        fail(
            errs,
            format!(
                "unknown type \"{}\" (one of: {})",
                pf.field_type,
                names.join(", ")
            ),
        );
        return None;
    };
    if !PARAM_TYPES.contains(&field_type) {
        fail(
            errs,
            format!("a report param cannot be of type {}", field_type.name()),
        );
        return None;
    }
    let mut f = blank_field(FieldId(at as u32), name, field_type);
    f.column = None;
    if let Some(c) = &pf.caption {
        f.caption = c.clone();
    }
    f.required = pf.required.unwrap_or(false);
    f.visible = pf.visible.unwrap_or(true);
    f.typeahead = pf.typeahead.unwrap_or(false);
    f.help = pf.help.clone();
    f.placeholder = pf.placeholder.clone();
    match (field_type, pf.size) {
        (FieldType::Text, Some(0)) => fail(errs, "size must be at least 1".into()),
        (FieldType::Text, size) => f.size = Some(size.unwrap_or(1000)),
        (_, Some(_)) => fail(errs, "size applies only to text params".into()),
        (_, None) => {}
    }
    if let Some(a) = &pf.alignment {
        match Align::from_name(a) {
            Some(al) => f.alignment = Some(al),
            None => fail(
                errs,
                format!("alignment \"{a}\" is not left, center or right"),
            ),
        }
    }
    if let Some(lk) = &pf.lookup {
        match ctx.resolve_lookup(lk) {
            Ok(l) => f.lookup = Some(l),
            Err(e) => fail(errs, format!("lookup: {e}")),
        }
        if field_type != FieldType::Integer {
            fail(
                errs,
                "a lookup param holds primary keys, so its type must be integer".into(),
            );
        }
    }
    if let Some(list) = &pf.lookup_values {
        match ctx.lookup_lists.iter().position(|l| &l.name == list) {
            Some(i) => f.lookup_values = Some(i),
            None => fail(
                errs,
                format!("lookup list \"{list}\" is not defined in jamrs.toml"),
            ),
        }
        if field_type != FieldType::Integer {
            fail(errs, "a param with lookup_values must be an integer".into());
        }
        if pf.lookup.is_some() {
            fail(
                errs,
                "a param cannot have both lookup and lookup_values".into(),
            );
        }
    }
    let multi_select = pf.multi_select.unwrap_or(false);
    if multi_select && f.lookup.is_none() && f.lookup_values.is_none() {
        fail(
            errs,
            "multi_select needs a lookup or lookup_values (it picks several of them)".into(),
        );
    }
    if pf.multi_select_all.is_some() && !multi_select {
        fail(errs, "multi_select_all needs multi_select".into());
    }
    if let Some(dv) = &pf.default_value {
        if multi_select {
            fail(errs, "a multi_select param has no default_value".into());
        } else {
            match default_value(field_type, f.size, dv) {
                Ok(v) => f.default_value = Some(v),
                Err(e) => fail(errs, format!("default_value: {e}")),
            }
        }
    }
    Some(ReportParam {
        field: f,
        multi_select,
        multi_select_all: pf.multi_select_all.unwrap_or(false),
    })
}

/// The types a report param may have (a form input each; no files, images or long text).
pub const PARAM_TYPES: [FieldType; 7] = [
    FieldType::Text,
    FieldType::Integer,
    FieldType::Float,
    FieldType::Currency,
    FieldType::Date,
    FieldType::DateTime,
    FieldType::Boolean,
];
