//! Report items in the project format: `reports/<name>.toml` with params (lookups included),
//! the template beside it, menu groups that list reports, items that offer them, roles that
//! may print them, the `[reports]` settings; and every rule, refused at load with its file.

#![allow(clippy::unwrap_used)]

use std::fs;

use jamrs_core::model::REPORT_FORMATS;
use jamrs_core::project::{self, ProjectFiles, ReportFile};
use jamrs_core::{FieldType, Task};
use tempfile::TempDir;

const TASK: &str = r#"
name = "shop"
[[roles]]
id = 1
name = "clerk"
default = ["view"]
items = { invoice = ["view"], yearly = [] }

[[roles]]
id = 2
name = "guest"
items = { customers = ["view"] }

[[groups]]
name = "journals"
items = ["customers", "invoices"]

[[groups]]
name = "reports"
caption = "Reports"
items = ["invoice", "yearly"]
"#;

const CUSTOMERS: &str = r#"
fields = [{ name = "name", type = "text", size = 100 }]
"#;

const INVOICES: &str = r#"
reports = ["invoice"]
fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "name" } },
  { name = "total", type = "currency" },
]
"#;

const INVOICE: &str = r#"
caption = "Invoice"
formats = ["pdf", "ods"]

[[params]]
name = "id"
type = "integer"
visible = false
required = true
lookup = { item = "invoices", field = "customer", field1 = "name" }
"#;

const YEARLY: &str = r#"
template = "shared.ots"

[[params]]
name = "year"
type = "integer"
default_value = 2024

[[params]]
name = "customers"
type = "integer"
multi_select = true
lookup = { item = "customers", field = "name" }
"#;

/// A project with `reports` (name, toml) whose templates exist, and `extra` files.
fn project(task: &str, reports: &[(&str, &str)], extra: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("items")).unwrap();
    fs::create_dir(dir.path().join("reports")).unwrap();
    fs::write(dir.path().join("jamrs.toml"), task).unwrap();
    fs::write(dir.path().join("items/customers.toml"), CUSTOMERS).unwrap();
    fs::write(dir.path().join("items/invoices.toml"), INVOICES).unwrap();
    for (name, text) in reports {
        fs::write(dir.path().join(format!("reports/{name}.toml")), text).unwrap();
        fs::write(
            dir.path().join(format!("reports/{name}.ods")),
            b"not checked at load",
        )
        .unwrap();
    }
    fs::write(dir.path().join("reports/shared.ots"), b"x").unwrap();
    for (path, text) in extra {
        fs::write(dir.path().join(path), text).unwrap();
    }
    dir
}

fn load(task: &str, reports: &[(&str, &str)], extra: &[(&str, &str)]) -> (TempDir, Task) {
    let dir = project(task, reports, extra);
    let task = project::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    (dir, task)
}

fn errors(task: &str, reports: &[(&str, &str)], extra: &[(&str, &str)]) -> Vec<String> {
    let dir = project(task, reports, extra);
    match project::load(dir.path()) {
        Ok(_) => panic!("the project loaded, but it breaks a rule"),
        Err(e) => e.errors,
    }
}

#[track_caller]
fn assert_error(errors: &[String], file: &str, needle: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{file}: ")) && e.contains(needle)),
        "expected an error in {file} saying {needle:?}; got {errors:#?}"
    );
}

#[test]
fn reports_load_with_params_groups_items_and_roles() {
    let (dir, task) = load(
        TASK,
        &[("invoice", INVOICE), ("yearly", YEARLY)],
        &[("reports/invoice.py", "def on_generate(report):\n    pass\n")],
    );
    let invoice = task.report_by_name("invoice").unwrap();
    assert_eq!(invoice.caption, "Invoice");
    assert_eq!(invoice.formats, ["pdf", "ods"]);
    assert_eq!(invoice.template, dir.path().join("reports/invoice.ods"));
    assert_eq!(invoice.module, Some(dir.path().join("reports/invoice.py")));
    let id = &invoice.params[0];
    assert!(id.field.required && !id.field.visible);
    // The lookup follows two levels: the invoice's customer's name.
    let lookup = id.field.lookup.as_ref().unwrap();
    assert_eq!(lookup.steps.len(), 2);
    assert_eq!(task.lookup_text_field(lookup).name.as_str(), "name");

    let yearly = task.report_by_name("yearly").unwrap();
    assert_eq!(yearly.caption, "Yearly");
    assert_eq!(yearly.template, dir.path().join("reports/shared.ots"));
    assert_eq!(yearly.module, None);
    assert_eq!(yearly.formats, REPORT_FORMATS);
    assert!(yearly.params[1].multi_select);
    assert_eq!(yearly.params[0].field.field_type, FieldType::Integer);

    // The Reports group lists both; the invoices item offers the invoice.
    let group = &task.groups[1];
    assert_eq!(group.reports, [invoice.id, yearly.id]);
    assert!(group.items.is_empty());
    assert_eq!(invoice.group, Some(1));
    assert_eq!(task.item_by_name("invoices").unwrap().reports, [invoice.id]);

    // Server modules of reports count as the project's modules.
    assert!(
        task.module_files()
            .any(|p| p.ends_with("reports/invoice.py"))
    );

    // clerk: the invoice by name, not the yearly report; guest: nothing by default.
    let clerk = &task.accesses[task.role_by_name("clerk").unwrap()];
    assert!(clerk.can_print(invoice.id) && !clerk.can_print(yearly.id));
    let guest = &task.accesses[task.role_by_name("guest").unwrap()];
    assert!(!guest.can_print(invoice.id) && !guest.can_print(yearly.id));
    assert!(task.unrestricted.can_print(yearly.id));

    assert_eq!(task.settings.reports.concurrency, 2);
    assert_eq!(task.settings.reports.converters, 1);
    assert_eq!(task.settings.reports.timeout.as_secs(), 300);
    assert_eq!(task.settings.reports.keep.as_secs(), 3600);
}

#[test]
fn report_files_round_trip_in_canonical_form() {
    let file: ReportFile = toml::from_str(YEARLY).unwrap();
    let text = ProjectFiles::report_text(&file).unwrap();
    assert_eq!(toml::from_str::<ReportFile>(&text).unwrap(), file);
    assert_eq!(
        ProjectFiles::report_text(&toml::from_str(&text).unwrap()).unwrap(),
        text
    );
    assert!(text.contains("[[params]]"), "{text}");
}

#[test]
fn report_settings_are_read_and_checked() {
    let task = format!(
        "{TASK}\n[reports]\ntimeout = 60\nconcurrency = 4\nconverters = 2\nsoffice = \"/opt/lo/soffice\"\nkeep_minutes = 5\n"
    );
    let (_dir, t) = load(&task, &[("invoice", INVOICE), ("yearly", YEARLY)], &[]);
    let r = &t.settings.reports;
    assert_eq!(
        (
            r.timeout.as_secs(),
            r.concurrency,
            r.converters,
            r.keep.as_secs()
        ),
        (60, 4, 2, 300)
    );
    assert_eq!(
        r.soffice.as_deref(),
        Some(std::path::Path::new("/opt/lo/soffice"))
    );
    for (setting, needle) in [
        ("timeout = 0", "reports.timeout must be between 1 and 86400"),
        (
            "timeout = nan",
            "reports.timeout must be between 1 and 86400",
        ),
        (
            "concurrency = 0",
            "reports.concurrency must be between 1 and 64",
        ),
        (
            "converters = 100",
            "reports.converters must be between 1 and 64",
        ),
        (
            "keep_minutes = 0",
            "reports.keep_minutes must be between 1 and 10080",
        ),
        (
            "soffice = \" \"",
            "reports.soffice must name the LibreOffice program",
        ),
        ("unknown = 1", "unknown field `unknown`"),
    ] {
        let task = format!("{TASK}\n[reports]\n{setting}\n");
        let errs = errors(&task, &[("invoice", INVOICE), ("yearly", YEARLY)], &[]);
        assert_error(&errs, "jamrs.toml", needle);
    }
}

#[test]
fn every_rule_of_a_report_is_checked_at_load() {
    let good = [("invoice", INVOICE), ("yearly", YEARLY)];
    let with = |name: &'static str, text: &'static str| {
        let mut r = good.to_vec();
        r.retain(|(n, _)| *n != name);
        r.push((name, text));
        r
    };
    for (report, text, needle) in [
        (
            "invoice",
            "formats = [\"docx\"]",
            "formats: \"docx\" is not a format",
        ),
        (
            "invoice",
            "formats = [\"pdf\", \"pdf\"]",
            "formats: \"pdf\" is listed twice",
        ),
        (
            "invoice",
            "template = \"../x.ods\"",
            "must be a file name in reports/",
        ),
        (
            "invoice",
            "template = \"invoice.xlsx\"",
            "must be a LibreOffice spreadsheet",
        ),
        (
            "invoice",
            "template = \"missing.ods\"",
            "the template reports/missing.ods does not exist",
        ),
        ("invoice", "caption = 1", "invalid type"),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"image\"",
            "a report param cannot be of type image",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"money\"",
            "unknown type \"money\"",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"text\"\nlookup = { item = \"nowhere\", field = \"name\" }",
            "lookup item \"nowhere\" does not exist",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"integer\"\nlookup = { item = \"customers\", field = \"nope\" }",
            "item \"customers\" has no field \"nope\"",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"integer\"\nlookup_values = \"nope\"",
            "lookup list \"nope\" is not defined",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"integer\"\nmulti_select = true",
            "multi_select needs a lookup",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"date\"\ndefault_value = \"someday\"",
            "default_value",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"integer\"\n[[params]]\nname = \"a\"\ntype = \"integer\"",
            "param \"a\" is defined twice",
        ),
        (
            "invoice",
            "[[params]]\nname = \"A-b\"\ntype = \"integer\"",
            "param name",
        ),
        (
            "invoice",
            "[[params]]\nname = \"a\"\ntype = \"integer\"\nsize = 3",
            "size applies only to text params",
        ),
    ] {
        let errs = errors(TASK, &with(report, text), &[]);
        assert_error(&errs, &format!("reports/{report}.toml"), needle);
    }
    // A module without its report; a report named as an item.
    let errs = errors(TASK, &good, &[("reports/ghost.py", "")]);
    assert_error(
        &errs,
        "reports/ghost.py",
        "a report module without a report",
    );
    let errs = errors(TASK, &with("customers", ""), &[]);
    assert_error(
        &errs,
        "reports/customers.toml",
        "there is also an item \"customers\"",
    );
    // Groups, items and roles that name reports wrongly.
    let twice = TASK.replace(
        "items = [\"customers\", \"invoices\"]",
        "items = [\"customers\", \"invoices\", \"invoice\"]",
    );
    assert_error(
        &errors(&twice, &good, &[]),
        "jamrs.toml",
        "report \"invoice\" is in groups \"journals\" and \"reports\"",
    );
    let unknown = TASK.replace(
        "items = [\"invoice\", \"yearly\"]",
        "items = [\"invoice\", \"yearly\", \"monthly\"]",
    );
    assert_error(
        &errors(&unknown, &good, &[]),
        "jamrs.toml",
        "no items/monthly.toml or reports/monthly.toml",
    );
    let edit = TASK.replace("invoice = [\"view\"]", "invoice = [\"view\", \"edit\"]");
    assert_error(
        &errors(&edit, &good, &[]),
        "jamrs.toml",
        "its only privilege is view",
    );
    let dir = project(TASK, &good, &[]);
    fs::write(
        dir.path().join("items/invoices.toml"),
        INVOICES.replace("reports = [\"invoice\"]", "reports = [\"monthly\"]"),
    )
    .unwrap();
    let errs = project::load(dir.path()).unwrap_err().errors;
    assert_error(
        &errs,
        "items/invoices.toml",
        "reports: there is no report \"monthly\"",
    );
}

#[test]
fn a_project_without_reports_has_none() {
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("items")).unwrap();
    fs::write(
        dir.path().join("jamrs.toml"),
        "name = \"t\"\nsafe_mode = false\n[[groups]]\nname = \"g\"\nitems = [\"customers\"]\n",
    )
    .unwrap();
    fs::write(dir.path().join("items/customers.toml"), CUSTOMERS).unwrap();
    let task = project::load(dir.path()).unwrap();
    assert!(task.reports.is_empty());
    assert!(task.groups[0].reports.is_empty());
}

#[test]
fn params_are_checked_typed_and_defaulted() {
    use jamrs_core::Value;
    use jamrs_core::report::{ParamData, resolve_params};
    use serde_json::json;
    let task_text = format!(
        "{TASK}\n[[lookup_lists]]\nname = \"kinds\"\nvalues = [[1, \"Retail\"], [2, \"Trade\"]]\n"
    );
    let extra = r#"
[[params]]
name = "kind"
type = "integer"
lookup_values = "kinds"

[[params]]
name = "note"
type = "text"
size = 5

[[params]]
name = "from"
type = "date"
default_value = "today"
"#;
    let yearly = format!("{YEARLY}{extra}");
    let (_dir, task) = load(
        &task_text,
        &[("invoice", INVOICE), ("yearly", &yearly)],
        &[],
    );
    let yearly = task.report_by_name("yearly").unwrap();
    let invoice = task.report_by_name("invoice").unwrap();
    let map = |v: serde_json::Value| v.as_object().unwrap().clone();

    let got = resolve_params(
        &task,
        yearly,
        &map(json!({"customers": [3, 3, 4], "kind": 2})),
    )
    .unwrap();
    assert_eq!(got[0].data, ParamData::One(Value::Int(2024)));
    assert_eq!(
        got[1].data,
        ParamData::Many(vec![Value::Int(3), Value::Int(4)])
    );
    assert_eq!(got[2].data, ParamData::One(Value::Int(2)));
    assert_eq!(got[2].texts, vec![Some("Trade".to_string())]);
    assert_eq!(got[3].data, ParamData::One(Value::Null));
    assert!(matches!(&got[4].data, ParamData::One(Value::Text(d)) if d.len() == 10));

    // Every param at fault, by name.
    let err = resolve_params(
        &task,
        yearly,
        &map(json!({"year": "2024", "customers": 3, "kind": 9, "note": "too long"})),
    )
    .unwrap_err();
    assert_eq!(err.kind, jamrs_core::Kind::Validation);
    let fields: Vec<&str> = err.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "params.year",
            "params.customers",
            "params.kind",
            "params.note"
        ],
        "{err:?}"
    );
    // Unknown params are refused; required ones must be there.
    let err = resolve_params(&task, yearly, &map(json!({"yaer": 1}))).unwrap_err();
    assert_eq!(err.fields[0].field, "params.yaer");
    assert!(
        err.message.contains("has no param \"yaer\""),
        "{}",
        err.message
    );
    let err = resolve_params(&task, invoice, &map(json!({"id": null}))).unwrap_err();
    assert_eq!(err.fields[0].field, "params.id");
    assert!(err.message.contains("required"), "{}", err.message);
    let err = resolve_params(&task, yearly, &map(json!({"customers": [1, null]}))).unwrap_err();
    assert_eq!(err.fields[0].field, "params.customers");
}
