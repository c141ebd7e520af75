//! Jam.py reports (SYS_ITEMS type 13) as jamrs report items: `reports/<name>.toml` (caption,
//! visibility, the template's file name and the params of SYS_REPORT_PARAMS, written as
//! docs/reports.md §3 defines them), the template copied beside it and the module carried
//! verbatim as `reports/<name>.py`. A report whose template jamrs cannot print (missing, or not
//! a LibreOffice spreadsheet) is left out, its module and template carried to
//! `jampy/left_out/reports/`.

use jamrs_core::project::{ReportFile, ReportParamFile};
use serde_json::Value as J;

use crate::convert::{Ctx, Extra, TYPES, lookup_chain};
use crate::meta::{Row, RowExt};
use crate::names::Names;

/// A report that came over.
pub(crate) struct ReportBuild {
    pub(crate) jp_id: i64,
    pub(crate) name: String,
    pub(crate) object: String,
    pub(crate) file: ReportFile,
    pub(crate) module: Option<String>,
}

/// Every format a report is printed in, Jam.py's default first.
const REPORT_FORMATS_ODS_FIRST: [&str; 5] = ["ods", "pdf", "xlsx", "xls", "html"];

/// The types a report param may have (docs/reports.md §3): Jam.py's 1–7.
const PARAM_TYPES: usize = 7;

/// Converts the report `row`, named `name` (unique among items and reports). Its template is
/// copied and its module written through `extra`; `None` when it is left out.
pub(crate) fn report(
    ctx: &mut Ctx,
    row: &Row,
    name: String,
    extra: &mut Extra,
) -> Option<ReportBuild> {
    let jp = row.text("F_ITEM_NAME").unwrap_or("report");
    let id = row.int("ID").unwrap_or(0);
    let object = format!("report {name} (Jam.py \"{jp}\", ID {id})");
    if name != jp {
        ctx.renamed.push((jp.to_string(), name.clone()));
        ctx.report.approximated(
            &object,
            format!("renamed {jp} → {name} (jamrs names are lower-case identifiers)"),
        );
    }
    let module = row
        .text("F_SERVER_MODULE")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string);
    if let Some(code) = row
        .text("F_WEB_CLIENT_MODULE")
        .filter(|c| !c.trim().is_empty())
    {
        extra
            .texts
            .push((format!("jampy/client/reports/{name}.js"), code.to_string()));
        ctx.report.converted(
            &object,
            format!(
                "client module → jampy/client/reports/{name}.js (kept for the client-modules work)"
            ),
        );
    }
    let template = row.text("F_VIEW_TEMPLATE").map(str::trim);
    let ext = template
        .and_then(|t| t.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    // A file of the project's reports/ folder, never a path out of it.
    let plain = |t: &str| {
        !t.starts_with('.') && !t.contains(['/', '\\', ':']) && !t.chars().any(char::is_control)
    };
    let problem = match (template, ext.as_deref()) {
        (None, _) => Some("it names no template".to_string()),
        (Some(t), _) if !plain(t) => {
            Some(format!("its template {t:?} is not a file name in reports/"))
        }
        (Some(t), Some("ods" | "ots")) if !(ctx.has_file)(&format!("reports/{t}")) => Some(
            format!("its template reports/{t} is not in the Jam.py project"),
        ),
        (Some(_), Some("ods" | "ots")) => None,
        (Some(t), _) => Some(format!(
            "its template {t} is not a LibreOffice spreadsheet (.ods, .ots), the only kind jamrs prints: save it as .ods in LibreOffice Calc and add reports/{name}.toml by hand"
        )),
    };
    if let Some(why) = problem {
        if let Some(code) = &module {
            extra
                .texts
                .push((format!("jampy/left_out/reports/{name}.py"), code.clone()));
        }
        if let Some(t) = template.filter(|t| plain(t) && (ctx.has_file)(&format!("reports/{t}"))) {
            extra.copies.push((
                format!("reports/{t}"),
                format!("jampy/left_out/reports/{t}"),
            ));
        }
        ctx.report.left_out(
            &object,
            format!("the whole report: {why}; its module and template (if any) are in jampy/left_out/reports/"),
        );
        return None;
    }
    let (template, ext) = (template?, ext?);
    extra.copies.push((
        format!("reports/{template}"),
        format!("reports/{name}.{ext}"),
    ));
    ctx.report.converted(
        &object,
        format!("template reports/{template} → reports/{name}.{ext}"),
    );
    if let Some(code) = &module {
        extra
            .texts
            .push((format!("reports/{name}.py"), code.clone()));
        ctx.report
            .converted(&object, format!("server module → reports/{name}.py"));
    }
    let mut file = ReportFile {
        caption: row.text("F_NAME").map(str::to_string),
        template: (ext != "ods").then(|| format!("{name}.{ext}")),
        visible: (row.int("F_VISIBLE") == Some(0)).then_some(false),
        // Jam.py prints to ODS unless the client asks for another extension: ODS stays the
        // default (and needs no LibreOffice on the server).
        formats: REPORT_FORMATS_ODS_FIRST.map(str::to_string).to_vec(),
        ..ReportFile::default()
    };
    let mut rows: Vec<&Row> = ctx
        .meta
        .rows("SYS_REPORT_PARAMS")
        .iter()
        .filter(|p| p.int("OWNER_REC_ID") == Some(id))
        .collect();
    rows.sort_by_key(|p| (p.int("F_INDEX").unwrap_or(0), p.int("ID").unwrap_or(0)));
    let mut names = Names::default();
    for p in rows {
        if let Some(param) = param(ctx, &object, p, &mut names) {
            file.params.push(param);
        }
    }
    ctx.report.converted(
        &object,
        format!(
            "reports/{name}.toml: caption, visibility, {} params",
            file.params.len()
        ),
    );
    Some(ReportBuild {
        jp_id: id,
        name,
        object,
        file,
        module,
    })
}

/// One row of SYS_REPORT_PARAMS as a report param; `None` (reported) when jamrs has no such
/// param.
fn param(ctx: &mut Ctx, object: &str, p: &Row, names: &mut Names) -> Option<ReportParamFile> {
    let jp = p.text("F_PARAM_NAME").unwrap_or("param");
    let name = names.unique(jp);
    if name != jp {
        ctx.renamed.push((jp.to_string(), name.clone()));
        ctx.report.approximated(
            object,
            format!("param {jp} renamed {name} (a lower-case identifier)"),
        );
    }
    let dt = p.int("F_DATA_TYPE").unwrap_or(0);
    let Some(type_name) = usize::try_from(dt - 1)
        .ok()
        .filter(|i| *i < PARAM_TYPES)
        .and_then(|i| TYPES.get(i))
    else {
        ctx.report.left_out(
            object,
            format!("param {jp}: data type {dt} (a report param is text, integer, float, currency, date, datetime or boolean)"),
        );
        return None;
    };
    let mut out = ReportParamFile {
        name: name.clone(),
        field_type: type_name.to_string(),
        size: None,
        caption: p.text("F_NAME").map(str::to_string),
        required: p.flag("F_REQUIRED").then_some(true),
        visible: (p.int("F_VISIBLE") == Some(0)).then_some(false),
        default_value: None,
        alignment: match p.int("F_ALIGNMENT") {
            Some(1) => Some("left".into()),
            Some(2) => Some("center".into()),
            Some(3) => Some("right".into()),
            _ => None,
        },
        help: p.text("F_HELP").map(str::to_string),
        placeholder: p.text("F_PLACEHOLDER").map(str::to_string),
        typeahead: p.flag("F_ENABLE_TYPEHEAD").then_some(true),
        lookup: None,
        lookup_values: None,
        multi_select: None,
        multi_select_all: None,
    };
    if *type_name == "text" {
        out.size = p
            .int("F_SIZE")
            .filter(|s| *s > 0)
            .and_then(|s| u32::try_from(s).ok());
    }
    if let Some(target) = p.id("F_OBJECT") {
        match lookup_chain(ctx, target, p) {
            Ok(l) if dt == 2 => out.lookup = Some(l),
            Ok(_) => {
                ctx.report.left_out(
                    object,
                    format!(
                        "param {jp}: its lookup (a {type_name} param; jamrs looks up integer keys)"
                    ),
                );
            }
            Err(e) => ctx
                .report
                .left_out(object, format!("param {jp}: its lookup: {e}")),
        }
    }
    if let Some(list) = p.id("F_LOOKUP_VALUES") {
        match ctx.lookup_lists.get(&list) {
            Some(l) if dt == 2 => out.lookup_values = Some(l.clone()),
            _ => ctx.report.left_out(
                object,
                format!(
                    "param {jp}: its lookup list {list} (missing, or the param is not an integer)"
                ),
            ),
        }
    }
    if p.flag("F_MULTI_SELECT") {
        if out.lookup.is_some() || out.lookup_values.is_some() {
            out.multi_select = Some(true);
            out.multi_select_all = p.flag("F_MULTI_SELECT_ALL").then_some(true);
        } else {
            ctx.report.left_out(
                object,
                format!("param {jp}: multiple selection (it has no lookup that came over)"),
            );
        }
    }
    if p.id("F_MASTER_FIELD").is_some() {
        ctx.report.left_out(
            object,
            format!("param {jp}: its master field (a report param shows its own lookup only)"),
        );
    }
    if out.lookup.is_some() && out.lookup_values.is_some() {
        out.lookup_values = None;
        ctx.report.left_out(
            object,
            format!("param {jp}: its lookup list (it also has a lookup, which jamrs keeps)"),
        );
    }
    Some(out)
}

/// The reports each item's view offers: `F_INFO`'s `reports` (`[[report ID], …]`), those that
/// came over.
pub(crate) fn item_reports(ctx: &mut Ctx, rows: &[Row]) {
    for i in 0..ctx.items.len() {
        let jp_id = ctx.items[i].jp_id;
        let info = rows
            .iter()
            .find(|r| r.int("ID") == Some(jp_id))
            .and_then(|r| r.text("F_INFO"))
            .and_then(|t| t.strip_prefix("json"))
            .and_then(|t| serde_json::from_str::<J>(t).ok());
        let Some(list) = info
            .as_ref()
            .and_then(|i| i.get("reports"))
            .and_then(J::as_array)
        else {
            continue;
        };
        let mut names = Vec::new();
        for entry in list {
            let rid = entry.as_i64().or_else(|| entry.get(0).and_then(J::as_i64));
            match rid.and_then(|r| ctx.reports.iter().find(|b| b.jp_id == r)) {
                Some(b) if !names.contains(&b.name) => names.push(b.name.clone()),
                Some(_) => {}
                None => {
                    let object = ctx.items[i].object.clone();
                    ctx.report.left_out(
                        &object,
                        format!(
                            "its view's report {} (it did not come over)",
                            rid.unwrap_or(0)
                        ),
                    );
                }
            }
        }
        if !names.is_empty() {
            let object = ctx.items[i].object.clone();
            ctx.report
                .converted(&object, format!("view reports: {}", names.join(", ")));
            ctx.items[i].file.reports = names;
        }
    }
}
