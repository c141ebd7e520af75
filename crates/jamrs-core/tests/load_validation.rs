//! Settings and field roles that used to load and then fail on every request (or panic the
//! loader) are refused at load, with a message naming the file and the field (issue 13).
//! One test per class: numbers out of range, the soft-delete flag, default values, the tenant
//! column, and the item-wide bounds the query builder relies on.

use std::fs;

use jamrs_core::project;
use tempfile::TempDir;

/// A project of `items` (all in one group, without safe mode) under `settings` (lines of
/// `jamrs.toml` before any table).
fn project(settings: &str, items: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().expect("a temporary folder");
    fs::create_dir(dir.path().join("items")).expect("a writable temporary folder");
    let names: Vec<String> = items.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    fs::write(
        dir.path().join("jamrs.toml"),
        format!(
            "name = \"t\"\nsafe_mode = false\n{settings}\n[[groups]]\nname = \"all\"\nitems = [{}]\n",
            names.join(", ")
        ),
    )
    .expect("a writable temporary folder");
    for (name, text) in items {
        fs::write(dir.path().join(format!("items/{name}.toml")), text)
            .expect("a writable temporary folder");
    }
    dir
}

/// The errors of a project that must not load.
fn errors(settings: &str, items: &[(&str, &str)]) -> Vec<String> {
    match project::load(project(settings, items).path()) {
        Ok(_) => panic!("the project loaded, but it breaks a rule"),
        Err(e) => e.errors,
    }
}

#[track_caller]
fn assert_one(errors: &[String], file: &str, needle: &str) {
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let prefix = format!("{file}: ");
    assert!(
        errors[0].starts_with(&prefix) && errors[0].contains(needle),
        "expected an error in {file} saying {needle:?}; got {errors:#?}"
    );
}

const PLAIN: &str = "fields = [{ name = \"title\", type = \"text\", size = 50 }]\n";

#[test]
fn settings_must_be_numbers_in_range() {
    // `module_timeout = nan` panicked the loader (Duration::from_secs_f64 of NaN).
    for (setting, needle) in [
        (
            "module_timeout = nan",
            "module_timeout must be between 0.01 and 3600 seconds, not NaN",
        ),
        (
            "module_timeout = inf",
            "module_timeout must be between 0.01 and 3600 seconds, not inf",
        ),
        (
            "module_timeout = -1.0",
            "module_timeout must be between 0.01 and 3600 seconds",
        ),
        ("max_limit = 1000001", "max_limit must be at most 1000000"),
        (
            "max_apply_records = 0",
            "max_apply_records must be between 1 and 100000",
        ),
        (
            "max_apply_records = 100001",
            "max_apply_records must be between 1 and 100000",
        ),
        (
            "session_timeout = 31622401",
            "session_timeout must be at most 31622400 seconds",
        ),
        (
            "[login]\nwindow_seconds = 31622401",
            "login.window_seconds must be at most 31622400",
        ),
        (
            "[server]\nmax_body_bytes = 1073741825",
            "server.max_body_bytes must be at most 1073741824",
        ),
        ("[database]\npath = \"\"", "database.path must name a file"),
        (
            "[database]\npath = \"a\\u0000b\"",
            "database.path must name a file",
        ),
    ] {
        assert_one(&errors(setting, &[("notes", PLAIN)]), "jamrs.toml", needle);
    }
    let dir = project(
        "module_timeout = 0.5\nmax_apply_records = 20\nmax_limit = 1000000",
        &[("notes", PLAIN)],
    );
    let task = project::load(dir.path()).unwrap();
    assert_eq!(task.settings.max_apply_records, 20);
    assert_eq!(task.settings.max_limit, 1_000_000);
    let dir = project("", &[("notes", PLAIN)]);
    let task = project::load(dir.path()).unwrap();
    assert_eq!(task.settings.max_apply_records, 10_000, "the default");
}

/// Issue 13: a soft-delete flag declared as a calculated or master_field field loaded, and then
/// every delete panicked (the flag had no column to set).
#[test]
fn the_soft_delete_flag_is_a_stored_plain_field() {
    let with_flag = |flag: &str| {
        format!(
            "soft_delete = true\ndetails = [\"lines\"]\n\n[[fields]]\nname = \"title\"\ntype = \"text\"\nsize = 50\n\n[[fields]]\nname = \"category\"\ntype = \"integer\"\nlookup = {{ item = \"categories\", field = \"name\" }}\n\n{flag}"
        )
    };
    let lines = "master_field = \"note\"\n\n[[fields]]\nname = \"note\"\ntype = \"integer\"\n\n[[fields]]\nname = \"qty\"\ntype = \"integer\"\n";
    let categories = "fields = [{ name = \"name\", type = \"text\", size = 50 }]\n";
    for (flag, needle) in [
        (
            "[[fields]]\nname = \"deleted\"\ntype = \"integer\"\ncalc = { item = \"lines\", field = \"qty\", link = \"note\", op = \"count\" }\n",
            "field \"deleted\": the soft-delete flag needs a column of its own",
        ),
        (
            "[[fields]]\nname = \"deleted\"\ntype = \"integer\"\nmaster_field = \"category\"\nlookup = { item = \"categories\", field = \"name\" }\n",
            "field \"deleted\": the soft-delete flag needs a column of its own",
        ),
        (
            "[[fields]]\nname = \"deleted\"\ntype = \"integer\"\nlookup = { item = \"categories\", field = \"name\" }\n",
            "field \"deleted\": the soft-delete flag cannot be a lookup field",
        ),
    ] {
        let errs = errors(
            "",
            &[
                ("notes", &with_flag(flag)),
                ("lines", lines),
                ("categories", categories),
            ],
        );
        assert_one(&errs, "items/notes.toml", needle);
    }
    let errs = errors(
        "",
        &[("notes", "soft_delete = true\ndeleted_flag = \"id\"\n")],
    );
    assert_one(
        &errs,
        "items/notes.toml",
        "field \"id\": the soft-delete flag cannot be the primary key",
    );
}

#[test]
fn a_default_value_is_one_the_field_can_take() {
    let categories = (
        "categories",
        "fields = [{ name = \"name\", type = \"text\", size = 50 }]\n",
    );
    let lines_of = |extra: &str| {
        format!(
            "master_field = \"note\"\n\n[[fields]]\nname = \"note\"\ntype = \"integer\"\n{extra}\n[[fields]]\nname = \"qty\"\ntype = \"integer\"\n"
        )
    };
    let notes_with = |field: &str| {
        format!(
            "details = [\"lines\"]\n\n[[fields]]\nname = \"category\"\ntype = \"integer\"\nlookup = {{ item = \"categories\", field = \"name\" }}\n\n{field}"
        )
    };
    let plain_lines = lines_of("");
    for (field, needle) in [
        (
            "[[fields]]\nname = \"total\"\ntype = \"integer\"\ndefault_value = 1\ncalc = { item = \"lines\", field = \"qty\", link = \"note\", op = \"sum\" }\n",
            "field \"total\": default_value needs a column of its own",
        ),
        (
            "[[fields]]\nname = \"category_name\"\ntype = \"integer\"\ndefault_value = 1\nmaster_field = \"category\"\nlookup = { item = \"categories\", field = \"name\" }\n",
            "field \"category_name\": default_value needs a column of its own",
        ),
        (
            "[[fields]]\nname = \"amount\"\ntype = \"float\"\ndefault_value = nan\n",
            "field \"amount\": default_value: NaN is not a number a field can hold",
        ),
        (
            "[[fields]]\nname = \"count\"\ntype = \"integer\"\ndefault_value = inf\n",
            "field \"count\": default_value: inf is not a number a field can hold",
        ),
    ] {
        let errs = errors(
            "",
            &[
                ("notes", &notes_with(field)),
                ("lines", &plain_lines),
                categories,
            ],
        );
        assert_one(&errs, "items/notes.toml", needle);
    }
    // The detail link is set from the master: a default would never apply.
    let errs = errors(
        "",
        &[
            ("notes", &notes_with("")),
            ("lines", &lines_of("default_value = 1\n")),
            categories,
        ],
    );
    assert_one(
        &errs,
        "items/lines.toml",
        "field \"note\": the server sets this field",
    );
    // Nor would a default on the tenant column.
    let errs = errors(
        "[tenancy]\ncolumn = \"user_id\"",
        &[(
            "notes",
            "[[fields]]\nname = \"user_id\"\ntype = \"integer\"\ndefault_value = 7\n",
        )],
    );
    assert_one(
        &errs,
        "items/notes.toml",
        "field \"user_id\": the server sets this field",
    );
    // A lookup list's field shows texts for the list's values only.
    let errs = errors(
        "[[lookup_lists]]\nname = \"sizes\"\nvalues = [[1, \"S\"], [2, \"M\"]]",
        &[(
            "notes",
            "[[fields]]\nname = \"size\"\ntype = \"integer\"\nlookup_values = \"sizes\"\ndefault_value = 3\n",
        )],
    );
    assert_one(
        &errs,
        "items/notes.toml",
        "field \"size\": default_value 3 is not a value of lookup list \"sizes\"",
    );
}

#[test]
fn the_tenant_column_is_not_the_detail_link() {
    let errs = errors(
        "[tenancy]\ncolumn = \"user_id\"",
        &[
            (
                "notes",
                "details = [\"lines\"]\n\n[[fields]]\nname = \"user_id\"\ntype = \"integer\"\n",
            ),
            (
                "lines",
                "master_field = \"user_id\"\n\n[[fields]]\nname = \"user_id\"\ntype = \"integer\"\n",
            ),
        ],
    );
    assert_one(
        &errs,
        "items/lines.toml",
        "field \"user_id\": the tenant column cannot also be the detail link",
    );
}

#[test]
fn an_item_has_at_most_1000_fields() {
    let fields = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[fields]]\nname = \"f{i}\"\ntype = \"integer\"\n\n"))
            .collect()
    };
    // With its key, 999 declared fields are 1000.
    project::load(project("", &[("wide", &fields(999))]).path()).unwrap();
    let errs = errors("", &[("wide", &fields(1000))]);
    assert_one(
        &errs,
        "items/wide.toml",
        "1001 fields; an item has at most 1000",
    );
}

/// SQLite joins at most 64 tables: an item whose lookup texts need more could never be opened
/// expanded.
#[test]
fn an_item_needs_at_most_63_lookup_joins() {
    let target = (
        "target",
        "fields = [{ name = \"name\", type = \"text\", size = 50 }]\n",
    );
    let lookups = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "[[fields]]\nname = \"l{i}\"\ntype = \"integer\"\nlookup = {{ item = \"target\", field = \"name\" }}\n\n"
                )
            })
            .collect()
    };
    // Fields that show another column of the same lookup share its join.
    let shared = format!(
        "{}[[fields]]\nname = \"l0_again\"\ntype = \"integer\"\nmaster_field = \"l0\"\nlookup = {{ item = \"target\", field = \"name\" }}\n",
        lookups(63)
    );
    project::load(project("", &[("wide", &shared), target]).path()).unwrap();
    let errs = errors("", &[("wide", &lookups(64)), target]);
    assert_one(
        &errs,
        "items/wide.toml",
        "showing every lookup text takes 64 joins",
    );
}

#[test]
fn details_nest_at_most_8_levels() {
    let chain = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let mut text = String::new();
                if i > 0 {
                    text.push_str("master_field = \"up\"\n");
                }
                if i + 1 < n {
                    text.push_str(&format!("details = [\"level{}\"]\n", i + 1));
                }
                if i > 0 {
                    text.push_str("\n[[fields]]\nname = \"up\"\ntype = \"integer\"\n");
                }
                (format!("level{i}"), text)
            })
            .collect()
    };
    let nine = chain(9);
    let refs: Vec<(&str, &str)> = nine.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    project::load(project("", &refs).path()).unwrap();
    let ten = chain(10);
    let refs: Vec<(&str, &str)> = ten.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_one(
        &errors("", &refs),
        "items/level0.toml",
        "details nest more than 8 levels below this item",
    );
}

#[test]
fn table_column_and_index_names_keep_their_case_but_names_do_not() {
    // A database jamrs did not make names its tables and columns in any case (Jam.py:
    // `DEMO_CUSTOMERS`, `Order_ID`); those names are kept exactly, for PostgreSQL compares
    // quoted names with their case.
    let dir = project(
        "[database]\nmanaged = false",
        &[(
            "orders",
            "table = \"Orders\"\nprimary_key = \"order_id\"\n[[fields]]\nname = \"order_id\"\ntype = \"integer\"\ndb_field = \"Order_ID\"\n[[indexes]]\nname = \"Orders_By_Id\"\nfields = [\"order_id\"]\n",
        )],
    );
    let task = project::load(dir.path()).expect("loads");
    let item = task.item_by_name("orders").expect("the item");
    assert_eq!(item.table.as_str(), "Orders");
    assert!(!item.managed);
    assert_eq!(
        item.pk().column.as_ref().map(|c| c.as_str()),
        Some("Order_ID")
    );
    assert_eq!(item.indexes[0].name.as_str(), "Orders_By_Id");
    // Names of jamrs's own things stay lower case.
    assert_one(
        &errors(
            "",
            &[(
                "orders",
                "fields = [{ name = \"Total\", type = \"integer\" }]\n",
            )],
        ),
        "items/orders.toml",
        "\"Total\" is not a valid name",
    );
    // Reserved prefixes in any case: SQLite reads JAMRS_USERS as jamrs_users.
    assert_one(
        &errors("", &[("orders", "table = \"JAMRS_USERS\"\n")]),
        "items/orders.toml",
        "is reserved",
    );
    // Two columns that differ only in case are one column to SQLite.
    assert_one(
        &errors(
            "",
            &[(
                "orders",
                "fields = [{ name = \"a\", type = \"integer\", db_field = \"X\" }, { name = \"b\", type = \"integer\", db_field = \"x\" }]\n",
            )],
        ),
        "items/orders.toml",
        "column \"x\" is already used by field \"a\"",
    );
    // And two tables.
    let e = errors("", &[("a", "table = \"T\"\n"), ("b", "table = \"t\"\n")]);
    assert!(
        e.iter().any(|m| m.contains("is already used by item")),
        "{e:?}"
    );
}
