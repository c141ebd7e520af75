//! The project format end to end: the shipped examples load and round-trip, and every rule
//! that loading checks is rejected with an error naming the file and the problem.

use std::fs;
use std::path::{Path, PathBuf};

use jamrs_core::model::{DefaultValue, MasterLink, SystemField, Task};
use jamrs_core::project::{self, ProjectFiles};
use jamrs_core::{FieldType, FilterOp, Value};
use tempfile::TempDir;

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Every project under `examples/` (so a new example cannot skip these checks) and the
/// every-key fixture.
fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(repo_path("../../examples"))
        .expect("the examples folder")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.join(project::TASK_FILE).is_file())
        .collect();
    out.sort();
    assert!(out.len() >= 5, "the examples folder lost projects: {out:?}");
    out.push(repo_path("tests/fixtures/every_key"));
    out
}

fn load_ok(dir: &Path) -> Task {
    project::load(dir).unwrap_or_else(|e| panic!("{} does not load:\n{e}", dir.display()))
}

/// The project files of `dir` (`jamrs.toml` and `items/*.toml`), relative, sorted.
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from(project::TASK_FILE)];
    let mut items: Vec<PathBuf> = fs::read_dir(dir.join(project::ITEMS_DIR))
        .expect("an items folder")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_name().map(|n| Path::new(project::ITEMS_DIR).join(n)))
        .collect();
    items.sort();
    out.extend(items);
    out
}

// ---------------------------------------------------------------------------------------------
// The examples and the every-key fixture.

#[test]
fn examples_load() {
    for dir in examples() {
        load_ok(&dir);
    }
}

#[test]
fn load_then_save_gives_the_same_bytes() {
    for dir in examples() {
        let files = ProjectFiles::read(&dir).unwrap();
        let out = TempDir::new().unwrap();
        files.save(out.path()).unwrap();
        let written = toml_files(out.path());
        assert_eq!(written, toml_files(&dir), "{}", dir.display());
        for rel in written {
            let original = fs::read_to_string(dir.join(&rel)).unwrap();
            let saved = fs::read_to_string(out.path().join(&rel)).unwrap();
            assert_eq!(
                saved,
                original,
                "{} is not in canonical form",
                dir.join(&rel).display()
            );
        }
    }
}

#[test]
fn read_save_read_gives_the_same_files() {
    for dir in examples() {
        let files = ProjectFiles::read(&dir).unwrap();
        let out = TempDir::new().unwrap();
        files.save(out.path()).unwrap();
        assert_eq!(
            ProjectFiles::read(out.path()).unwrap(),
            files,
            "{}",
            dir.display()
        );
    }
}

#[test]
fn a_hand_written_file_is_saved_in_canonical_form() {
    // Comments, sections before keys' natural order, array-of-tables style for a lookup:
    // all legal TOML that save rewrites once, after which the text is stable.
    let dir = write_project(
        &task_with_group(&["a", "b"]),
        &[
            (
                "a",
                "# a comment\n[[fields]]\nname = \"n\"\nsize = 5\ntype = \"text\"\n",
            ),
            (
                "b",
                "default_order = [\"-x\"]\ncaption = \"B\"\n\n[[fields]]\ntype = \"integer\"\nname = \"x\"\n[fields.lookup]\nfield = \"n\"\nitem = \"a\"\n",
            ),
        ],
    );
    let files = ProjectFiles::read(dir.path()).unwrap();
    load_ok(dir.path());
    let b = ProjectFiles::item_text(&files.items[1].1).unwrap();
    assert_eq!(
        b,
        "caption = \"B\"\ndefault_order = [\"-x\"]\n\n[[fields]]\nname = \"x\"\ntype = \"integer\"\nlookup = { item = \"a\", field = \"n\" }\n"
    );
    let out = TempDir::new().unwrap();
    files.save(out.path()).unwrap();
    let again = ProjectFiles::read(out.path()).unwrap();
    assert_eq!(again, files);
    assert_eq!(ProjectFiles::item_text(&again.items[1].1).unwrap(), b);
}

#[test]
fn notes_starter_has_a_lookup_a_detail_and_defaults() {
    let task = load_ok(&repo_path("../../examples/notes"));
    assert_eq!(task.settings.database.path, "data/notes.sqlite");
    let notes = task.item_by_name("notes").unwrap();
    let checklist = task.item_by_name("checklist").unwrap();
    let categories = task.item_by_name("categories").unwrap();
    assert_eq!(notes.details, vec![checklist.id]);
    assert_eq!(checklist.masters, vec![notes.id]);
    let note = checklist.field_by_name("note").unwrap();
    assert_eq!(
        checklist.master_link,
        Some(MasterLink::MasterField(note.id))
    );
    assert!(note.read_only, "the link is set by the server");
    let category = notes.field_by_name("category").unwrap();
    let lookup = category.lookup.as_ref().unwrap();
    assert_eq!(lookup.item(), categories.id);
    assert_eq!(task.lookup_text_field(lookup).name.as_str(), "name");
    let title = notes.field_by_name("title").unwrap();
    assert_eq!((title.size, title.required), (Some(200), true));
    assert_eq!(
        notes.field_by_name("created").unwrap().default_value,
        Some(DefaultValue::Today)
    );
    assert_eq!(
        notes.field_by_name("pinned").unwrap().default_value,
        Some(DefaultValue::Value(Value::Bool(false)))
    );
    // Implicit system fields: the primary key and the soft-delete flag.
    assert_eq!(notes.pk().name.as_str(), "id");
    assert_eq!(notes.pk().system, Some(SystemField::PrimaryKey));
    let deleted = notes.field(notes.deleted_flag.unwrap());
    assert_eq!(
        (deleted.name.as_str(), deleted.field_type),
        ("deleted", FieldType::Boolean)
    );
    assert!(notes.public_fields().all(|f| f.name.as_str() != "deleted"));
    // Every item sits in exactly one group, details in an invisible one.
    let details = task
        .groups
        .iter()
        .find(|g| g.name.as_str() == "details")
        .unwrap();
    assert!(!details.visible);
    assert_eq!(details.items, vec![checklist.id]);
    assert!(
        task.module.is_none(),
        "the starter has no server module yet"
    );
    // The names docs/project-format.md §9 promises.
    let index_names: Vec<&str> = [categories, notes, checklist]
        .iter()
        .flat_map(|i| i.indexes.iter().map(|x| x.name.as_str()))
        .collect();
    assert_eq!(
        index_names,
        [
            "categories_user_id_name_idx",
            "notes_user_id_created_idx",
            "notes_category_idx",
            "checklist_note_idx",
            "checklist_tenant_idx"
        ]
    );
    // Each user sees only their own rows: tenancy covers all three items, and only the
    // administrator sees every user's.
    let tenancy = task.settings.tenancy.as_ref().unwrap();
    assert_eq!(tenancy.column.as_str(), "user_id");
    for item in [categories, notes, checklist] {
        assert!(item.tenant_field.is_some(), "{} is not covered", item.name);
    }
    let all: Vec<&str> = task
        .roles
        .iter()
        .filter(|r| r.all_tenants)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(all, ["admin"]);
}

#[test]
fn the_worked_example_in_the_docs_is_the_notes_starter() {
    let doc = fs::read_to_string(repo_path("../../docs/project-format.md")).unwrap();
    let (_, worked) = doc.split_once("## 9. Worked example").unwrap();
    let dir = repo_path("../../examples/notes");
    for rel in toml_files(&dir) {
        let rel = rel.to_str().unwrap().replace('\\', "/");
        let heading = format!("`{rel}`:\n\n```toml\n");
        let start = worked
            .find(&heading)
            .unwrap_or_else(|| panic!("§9 does not show {rel}"))
            + heading.len();
        let block = &worked[start..start + worked[start..].find("```").unwrap()];
        assert_eq!(
            block,
            fs::read_to_string(dir.join(&rel)).unwrap(),
            "docs/project-format.md §9 shows a different {rel}"
        );
    }
}

#[test]
fn demo_resolves_jampy_concepts() {
    let task = load_ok(&repo_path("../../examples/demo"));
    let item = |n: &str| task.item_by_name(n).unwrap();
    let (tracks, albums, artists) = (item("tracks"), item("albums"), item("artists"));
    let (invoices, lines, customers) = (item("invoices"), item("invoice_table"), item("customers"));

    // tracks.artist: shows albums.artist → artists.name through the album field.
    let artist = tracks.field_by_name("artist").unwrap();
    let album = tracks.field_by_name("album").unwrap();
    assert_eq!(artist.master_field, Some(album.id));
    assert_eq!(artist.column, None);
    assert_eq!(
        tracks.value_column(artist).map(|c| c.as_str()),
        Some("album")
    );
    let steps = &artist.lookup.as_ref().unwrap().steps;
    assert_eq!(
        steps.iter().map(|s| s.item).collect::<Vec<_>>(),
        vec![albums.id, artists.id]
    );

    // invoice_table.artist: three levels, tracks.album → albums.artist → artists.name.
    let artist3 = lines.field_by_name("artist").unwrap();
    let steps = &artist3.lookup.as_ref().unwrap().steps;
    assert_eq!(
        steps.iter().map(|s| s.item).collect::<Vec<_>>(),
        vec![tracks.id, albums.id, artists.id]
    );
    assert_eq!(
        task.lookup_text_field(artist3.lookup.as_ref().unwrap())
            .name
            .as_str(),
        "name"
    );

    // The old link style: invoice_table has implicit master_id / master_rec_id; invoices an id.
    let Some(MasterLink::MasterIdRecId {
        master_id,
        master_rec_id,
    }) = lines.master_link
    else {
        panic!("invoice_table links by master_id and master_rec_id");
    };
    assert_eq!(lines.field(master_id).system, Some(SystemField::MasterId));
    assert_eq!(lines.field(master_rec_id).name.as_str(), "master_rec_id");
    assert!(lines.is_server_set(master_id) && lines.is_server_set(master_rec_id));
    assert_eq!(invoices.number, Some(38));
    assert_eq!(invoices.details, vec![lines.id]);

    // Master-field fields of invoices show customer columns.
    let customer = invoices.field_by_name("customer").unwrap();
    for name in ["firstname", "billing_city", "billing_postal_code"] {
        let f = invoices.field_by_name(name).unwrap();
        assert_eq!(f.master_field, Some(customer.id), "{name}");
        assert_eq!(f.lookup.as_ref().unwrap().item(), customers.id, "{name}");
        assert!(f.read_only, "{name}");
    }

    // The lookup list, the calculated field, the filters, the indexes, the orders.
    let media = tracks.field_by_name("media_type").unwrap();
    let list = &task.lookup_lists[media.lookup_values.unwrap()];
    assert_eq!(list.name, "media_types");
    assert_eq!(list.values[0], (1, "MPEG audio file".to_string()));
    let sold = tracks.field_by_name("tracks_sold").unwrap();
    let calc = sold.calc.unwrap();
    assert_eq!(calc.item, lines.id);
    assert_eq!(lines.field(calc.field).name.as_str(), "quantity");
    assert_eq!(lines.field(calc.link).name.as_str(), "track");
    assert!(sold.read_only && sold.column.is_none());
    let ops: Vec<(&str, FilterOp, bool)> = invoices
        .filters
        .iter()
        .map(|f| (f.name.as_str(), f.op, f.multi_select_all))
        .collect();
    assert_eq!(
        ops[..3],
        [
            ("invoicedate1", FilterOp::Ge, false),
            ("invoicedate2", FilterOp::Le, false),
            ("customer", FilterOp::In, true),
        ]
    );
    let artist_filter = tracks
        .filters
        .iter()
        .find(|f| f.name.as_str() == "artist")
        .unwrap();
    assert_eq!(
        (artist_filter.op, artist_filter.on_lookup),
        (FilterOp::Contains, true)
    );
    let by_number = tracks
        .filters
        .iter()
        .find(|f| f.name.as_str() == "media_type")
        .unwrap();
    assert_eq!(by_number.op, FilterOp::Eq);
    let idx = &invoices.indexes[0];
    assert_eq!(idx.name.as_str(), "demo_invoices_idx");
    assert!(idx.fields[0].desc);
    assert_eq!(
        invoices.indexes[1].name.as_str(),
        "demo_invoices_customer_idx"
    );
    assert!(item("genres").indexes[0].unique);
    assert!(invoices.default_order[0].desc);
    assert_eq!(artists.default_order.len(), 1);
    // Soft delete on every item but customers, as in Jam.py's demo.
    assert!(customers.deleted_flag.is_none());
    assert!(
        task.items
            .iter()
            .filter(|i| i.name.as_str() != "customers")
            .all(|i| i.deleted_flag.is_some())
    );
    assert_eq!(customers.table.as_str(), "demo_customers");
}

#[test]
fn every_key_fixture_resolves_each_key() {
    let task = load_ok(&repo_path("tests/fixtures/every_key"));
    {
        use jamrs_core::layout::{Band, EditLayout, Tab, ViewLayout};
        let orders = task.item_by_name("orders").unwrap();
        let id = |n: &str| orders.field_by_name(n).unwrap().id;
        assert_eq!(
            orders.layout.view,
            Some(ViewLayout {
                fields: Some(vec![id("date"), id("person"), id("total")]),
                widths: vec![(id("person"), 220), (id("total"), 90)],
                sort_fields: Some(vec![id("date"), id("person")]),
                search_field: Some(id("person")),
                width: Some(900),
            })
        );
        assert_eq!(
            orders.layout.edit,
            Some(EditLayout {
                tabs: Some(vec![
                    Tab {
                        caption: Some("Order".into()),
                        bands: vec![Band {
                            caption: None,
                            columns: 2,
                            fields: vec![id("person"), id("date")]
                        }],
                    },
                    Tab {
                        caption: Some("More".into()),
                        bands: vec![Band {
                            caption: Some("Country".into()),
                            columns: 1,
                            fields: vec![id("person_country"), id("total")],
                        }],
                    },
                ]),
                details: Some(vec![task.item_by_name("order_lines").unwrap().id]),
                width: Some(1000),
                modal: false,
            })
        );
        // Items without a layout keep the defaults.
        assert_eq!(
            task.item_by_name("people").unwrap().layout,
            Default::default()
        );
    }
    assert_eq!(task.caption, "Every key");
    assert_eq!(task.settings.language, "de");
    assert_eq!(task.settings.max_limit, 500);
    assert_eq!(task.settings.max_apply_records, 200);
    assert_eq!(task.settings.database.path, "db/every.sqlite");
    assert_eq!(task.settings.server.bind, "0.0.0.0:9000");
    assert_eq!(task.settings.server.max_body_bytes, 2048);
    let journals = task
        .groups
        .iter()
        .find(|g| g.name.as_str() == "journals")
        .unwrap();
    assert_eq!(
        journals.caption, "Journals",
        "default caption from the name"
    );

    let people = task.item_by_name("people").unwrap();
    assert_eq!(people.table.as_str(), "persons");
    assert_eq!(
        people.rename_from.as_ref().map(|r| r.as_str()),
        Some("people_old")
    );
    assert!(!people.visible);
    assert_eq!(people.pk().name.as_str(), "person_id");
    assert_eq!(people.pk().caption, "Number");
    assert_eq!(
        people.field(people.deleted_flag.unwrap()).name.as_str(),
        "removed"
    );
    let name = people.field_by_name("name").unwrap();
    assert_eq!(name.column.as_ref().map(|c| c.as_str()), Some("full_name"));
    assert_eq!(name.rename_from.as_ref().map(|c| c.as_str()), Some("title"));
    assert_eq!(name.help.as_deref(), Some("First and last name"));
    assert_eq!(name.placeholder.as_deref(), Some("Ada Lovelace"));
    assert_eq!(name.alignment.map(|a| a.name()), Some("left"));
    assert!(name.required && name.typeahead);
    let born = people.field_by_name("born").unwrap();
    assert_eq!(born.default_value, Some(DefaultValue::Now));
    let since = people.field_by_name("member_since").unwrap();
    assert_eq!(
        since.default_value,
        Some(DefaultValue::Value(Value::Text("2024-01-31".into()))),
        "a TOML date literal is a date default"
    );
    let rating = people.field_by_name("rating").unwrap();
    assert_eq!(
        rating.default_value,
        Some(DefaultValue::Value(Value::Float(2.5)))
    );
    let friends = people.field_by_name("friends").unwrap();
    assert_eq!(friends.field_type, FieldType::Keys);
    assert_eq!(friends.lookup.as_ref().unwrap().item(), people.id);
    assert_eq!(people.default_order.len(), 2);
    assert!(
        people.default_order.iter().all(|o| o.desc),
        "-born and \"name desc\""
    );
    let filter = &people.filters[0];
    assert_eq!(filter.help.as_deref(), Some("Part of the name"));
    assert!(!filter.visible);
    let by_number = &people.filters[1];
    assert_eq!(
        (by_number.op, by_number.on_lookup),
        (FilterOp::In, true),
        "22 is in on the lookup text"
    );

    let lines = task.item_by_name("order_lines").unwrap();
    let rec = lines.field_by_name("master_rec_id").unwrap();
    assert_eq!(
        rec.caption, "Order",
        "a declared link field keeps its attributes"
    );
    assert_eq!(rec.system, Some(SystemField::MasterRecId));
    let notes = task.item_by_name("notes").unwrap();
    let orders = task.item_by_name("orders").unwrap();
    assert_eq!(orders.details, vec![lines.id, notes.id]);
}

// ---------------------------------------------------------------------------------------------
// Helpers for projects that break one rule.

fn task_with_group(items: &[&str]) -> String {
    let list: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        "name = \"t\"\n\n[[groups]]\nname = \"all\"\nitems = [{}]\n",
        list.join(", ")
    )
}

/// Rule tests run without safe mode (which needs roles) unless the test is about it: the line
/// goes right after the first, before any table.
fn without_safe_mode(task: &str) -> String {
    if task.contains("safe_mode") || task.contains("[[roles]]") {
        return task.to_string();
    }
    match task.split_once('\n') {
        Some((first, rest)) => format!("{first}\nsafe_mode = false\n{rest}"),
        None => format!("{task}\nsafe_mode = false\n"),
    }
}

fn write_project(task: &str, items: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().expect("a temporary folder");
    let write = |rel: &str, text: &str| {
        fs::write(dir.path().join(rel), text).expect("a writable temporary folder")
    };
    fs::create_dir(dir.path().join("items")).expect("a writable temporary folder");
    write("jamrs.toml", &without_safe_mode(task));
    for (name, text) in items {
        write(&format!("items/{name}.toml"), text);
    }
    dir
}

fn errors_of(dir: &TempDir) -> Vec<String> {
    match project::load(dir.path()) {
        Ok(_) => panic!("the project loaded, but it breaks a rule"),
        Err(e) => e.errors,
    }
}

/// Loads items (all in one group) and returns the errors.
fn item_errors(items: &[(&str, &str)]) -> Vec<String> {
    let names: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
    errors_of(&write_project(&task_with_group(&names), items))
}

/// Exactly one error, in `file`, containing `needle`.
#[track_caller]
fn assert_one(errors: &[String], file: &str, needle: &str) {
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    assert_has(errors, file, needle);
}

#[track_caller]
fn assert_has(errors: &[String], file: &str, needle: &str) {
    let prefix = format!("{file}: ");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&prefix) && e.contains(needle)),
        "no error in {file} saying {needle:?}; got {errors:#?}"
    );
}

/// A test whose items (all in one group) break exactly one rule.
macro_rules! rejects {
    ($test:ident, [$($name:literal => $text:expr),+ $(,)?], $file:literal, $needle:literal) => {
        #[test]
        fn $test() {
            assert_one(&item_errors(&[$(($name, $text)),+]), $file, $needle);
        }
    };
}

const CATEGORIES: &str = r#"fields = [{ name = "name", type = "text", size = 50 }]"#;

#[test]
fn a_minimal_project_loads_with_defaults() {
    let dir = write_project(
        &task_with_group(&["categories"]),
        &[("categories", CATEGORIES)],
    );
    let task = load_ok(dir.path());
    assert_eq!(task.caption, "T");
    assert_eq!(task.settings.language, "en");
    assert_eq!(task.settings.max_limit, 1000);
    assert_eq!(task.settings.database.path, "data/t.sqlite");
    assert_eq!(task.settings.server.bind, "127.0.0.1:8080");
    assert_eq!(task.settings.server.max_body_bytes, 1 << 20);
    let item = task.item_by_name("categories").unwrap();
    assert_eq!(
        (item.caption.as_str(), item.table.as_str()),
        ("Categories", "categories")
    );
    assert!(item.visible && item.deleted_flag.is_none() && item.module.is_none());
    let names: Vec<&str> = item.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["id", "name"]);
    assert!(!item.pk().visible && item.pk().read_only);
    let name = item.field_by_name("name").unwrap();
    assert_eq!(name.caption, "Name");
    assert!(name.visible && !name.required && !name.read_only);
}

// ---------------------------------------------------------------------------------------------
// Files: syntax, unknown keys, stray modules, all errors at once.

#[test]
fn toml_syntax_error_names_the_file() {
    let dir = write_project(&task_with_group(&["a"]), &[("a", "caption = \"unclosed\n")]);
    let errors = errors_of(&dir);
    assert_one(&errors, "items/a.toml", "line 1");
    assert!(!errors[0].contains('\n'), "one line per problem");
}

#[test]
fn unknown_keys_are_rejected() {
    let errors = item_errors(&[(
        "a",
        r#"fields = [{ name = "n", type = "text", size = 5, colour = "red" }]"#,
    )]);
    assert_one(&errors, "items/a.toml", "colour");
    let dir = write_project("name = \"t\"\ntheme = 3\n", &[]);
    assert_one(&errors_of(&dir), "jamrs.toml", "theme");
}

#[test]
fn a_module_without_an_item_is_rejected() {
    let dir = write_project(&task_with_group(&["a"]), &[("a", CATEGORIES)]);
    fs::write(dir.path().join("items/a.py"), "").unwrap();
    fs::write(
        dir.path().join("items/x.py"),
        "def on_open(item, params):\n    pass\n",
    )
    .unwrap();
    assert_one(&errors_of(&dir), "items/x.py", "no items/x.toml");
    fs::remove_file(dir.path().join("items/x.py")).unwrap();
    let task = load_ok(dir.path());
    assert!(task.item_by_name("a").unwrap().module.is_some());
}

#[test]
fn a_client_module_without_an_item_is_rejected() {
    let dir = write_project(&task_with_group(&["a"]), &[("a", "")]);
    fs::create_dir(dir.path().join("client")).unwrap();
    fs::write(
        dir.path().join("client/a.js"),
        "function on_view_form_created(item) {}",
    )
    .unwrap();
    fs::write(dir.path().join("client/task.js"), "").unwrap();
    fs::write(dir.path().join("client/notes.txt"), "not a module").unwrap();
    let task = load_ok(dir.path());
    assert_eq!(task.client_modules, ["a", "task"]);
    assert_eq!(
        project::read_client_module(&task, "a").unwrap().as_deref(),
        Some("function on_view_form_created(item) {}")
    );
    assert_eq!(project::read_client_module(&task, "b").unwrap(), None);
    fs::write(dir.path().join("client/gone.js"), "").unwrap();
    assert_one(
        &errors_of(&dir),
        "client/gone.js",
        "a client module without an item: there is no items/gone.toml",
    );
}

#[test]
fn a_folder_without_jamrs_toml_is_not_a_project() {
    let dir = TempDir::new().unwrap();
    let errors = project::load(dir.path()).unwrap_err().errors;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("jamrs.toml") && errors[0].contains("a jamrs project?"),
        "{errors:?}"
    );
}

#[test]
fn problems_in_two_files_are_reported_together() {
    let dir = write_project(
        "name = \"t\"\n\n[server]\nbind = \"localhost\"\n\n[[groups]]\nname = \"g\"\nitems = [\"a\", \"b\"]\n",
        &[
            ("a", r#"fields = [{ name = "n", type = "int" }]"#),
            ("b", r#"fields = [{ name = "n", type = "text" }]"#),
        ],
    );
    let errors = errors_of(&dir);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_has(&errors, "jamrs.toml", "server.bind: \"localhost\"");
    assert_has(&errors, "items/a.toml", "unknown type \"int\"");
    assert_has(&errors, "items/b.toml", "need a size");
}

#[test]
fn syntax_errors_in_two_files_are_reported_together() {
    let dir = write_project(
        "name = \"t\"\nmax_limit = \"many\"\n",
        &[("a", "[[fields]\n")],
    );
    let errors = errors_of(&dir);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_has(&errors, "jamrs.toml", "max_limit");
    assert_has(&errors, "items/a.toml", "line 1");
}

// ---------------------------------------------------------------------------------------------
// Task settings, groups and lookup lists.

#[test]
fn task_settings_are_checked() {
    let dir = write_project(
        "name = \"Task\"\nmax_limit = 0\n\n[server]\nmax_body_bytes = 10\n",
        &[],
    );
    let errors = errors_of(&dir);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_has(&errors, "jamrs.toml", "name: \"Task\" is not a valid name");
    assert_has(&errors, "jamrs.toml", "max_limit must be at least 1");
    assert_has(
        &errors,
        "jamrs.toml",
        "max_body_bytes must be at least 1024",
    );
}

#[test]
fn an_item_in_no_group_is_rejected() {
    let dir = write_project(&task_with_group(&[]), &[("a", CATEGORIES)]);
    assert_one(&errors_of(&dir), "jamrs.toml", "item \"a\" is in no group");
}

#[test]
fn an_item_in_two_groups_is_rejected() {
    let task = "name = \"t\"\n\n[[groups]]\nname = \"g1\"\nitems = [\"a\"]\n\n[[groups]]\nname = \"g2\"\nitems = [\"a\"]\n";
    let dir = write_project(task, &[("a", CATEGORIES)]);
    assert_one(
        &errors_of(&dir),
        "jamrs.toml",
        "item \"a\" is in groups \"g1\" and \"g2\"",
    );
}

#[test]
fn a_group_listing_a_missing_item_is_rejected() {
    let dir = write_project(&task_with_group(&["a", "zz"]), &[("a", CATEGORIES)]);
    assert_one(
        &errors_of(&dir),
        "jamrs.toml",
        "group \"all\" lists item \"zz\", but there is no items/zz.toml",
    );
}

#[test]
fn group_names_are_checked() {
    let task = "name = \"t\"\n\n[[groups]]\nname = \"g\"\nitems = [\"a\"]\n\n[[groups]]\nname = \"g\"\nitems = []\n\n[[groups]]\nname = \"Bad Group\"\nitems = []\n";
    let errors = errors_of(&write_project(task, &[("a", CATEGORIES)]));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_has(&errors, "jamrs.toml", "group \"g\" is defined twice");
    assert_has(
        &errors,
        "jamrs.toml",
        "group name: \"Bad Group\" is not a valid name",
    );
}

#[test]
fn lookup_lists_are_checked() {
    let task = format!(
        "{}\n[[lookup_lists]]\nname = \"l\"\nvalues = [[1, \"a\"], [1, \"b\"]]\n\n[[lookup_lists]]\nname = \"l\"\nvalues = []\n",
        task_with_group(&["a"])
    );
    let errors = errors_of(&write_project(&task, &[("a", CATEGORIES)]));
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_has(
        &errors,
        "jamrs.toml",
        "lookup list \"l\": value 1 appears twice",
    );
    assert_has(&errors, "jamrs.toml", "lookup list \"l\" is defined twice");
    assert_has(&errors, "jamrs.toml", "lookup list \"l\" has no values");
}

// ---------------------------------------------------------------------------------------------
// Names and tables.

#[test]
fn an_invalid_item_file_name_is_rejected() {
    let dir = write_project(
        &task_with_group(&["a"]),
        &[("a", CATEGORIES), ("Bad", CATEGORIES)],
    );
    assert_one(
        &errors_of(&dir),
        "items/Bad.toml",
        "the file name is the item's name: \"Bad\" is not a valid name",
    );
}

rejects!(
    invalid_field_name,
    [
        "a" => r#"fields = [{ name = "First Name", type = "integer" }]"#,
    ],
    "items/a.toml",
    "field name: \"First Name\" is not a valid name"
);
rejects!(
    reserved_table_name,
    [
        "a" => r#"table = "sqlite_x""#,
    ],
    "items/a.toml",
    "table: \"sqlite_x\" is reserved"
);
rejects!(
    invalid_db_field,
    [
        "a" => r#"fields = [{ name = "n", type = "integer", db_field = "N-1" }]"#,
    ],
    "items/a.toml",
    "field \"n\": db_field: \"N-1\" is not a valid table or column name"
);
rejects!(
    invalid_rename_from,
    [
        "a" => r#"rename_from = "old-a""#,
    ],
    "items/a.toml",
    "rename_from: \"old-a\" is not a valid table or column name"
);
rejects!(
    invalid_field_rename_from,
    [
        "a" => r#"fields = [{ name = "n", type = "integer", rename_from = "1n" }]"#,
    ],
    "items/a.toml",
    "field \"n\": rename_from: \"1n\""
);
rejects!(
    invalid_filter_name,
    [
        "a" => r#"
fields = [{ name = "n", type = "integer" }]
filters = [{ name = "By N", field = "n", type = "eq" }]"#,
    ],
    "items/a.toml",
    "filter \"By N\": \"By N\" is not a valid name"
);
rejects!(
    invalid_index_name,
    [
        "a" => r#"
fields = [{ name = "n", type = "integer" }]
indexes = [{ name = "N IDX", fields = ["n"] }]"#,
    ],
    "items/a.toml",
    "index 1: name: \"N IDX\""
);
rejects!(
    generated_index_name_too_long,
    [
        "a" => r#"
table = "a_very_long_table_name_that_goes_on_and_on"
fields = [{ name = "a_rather_long_column_name", type = "integer" }]
indexes = [{ fields = ["a_rather_long_column_name"] }]"#,
    ],
    "items/a.toml",
    "give the index a name"
);

rejects!(
    duplicate_table,
    [
        "a" => CATEGORIES,
        "b" => r#"table = "a""#,
    ],
    "items/b.toml",
    "table \"a\" is already used by item \"a\""
);

// ---------------------------------------------------------------------------------------------
// Fields.

rejects!(
    unknown_field_type,
    [
        "a" => r#"fields = [{ name = "n", type = "varchar", size = 5 }]"#,
    ],
    "items/a.toml",
    "field \"n\": unknown type \"varchar\" (one of: text, integer"
);
rejects!(
    text_without_size,
    [
        "a" => r#"fields = [{ name = "n", type = "text" }]"#,
    ],
    "items/a.toml",
    "field \"n\": text fields need a size"
);
rejects!(
    text_with_size_zero,
    [
        "a" => r#"fields = [{ name = "n", type = "text", size = 0 }]"#,
    ],
    "items/a.toml",
    "field \"n\": size must be at least 1"
);
rejects!(
    size_on_a_non_text_field,
    [
        "a" => r#"fields = [{ name = "n", type = "longtext", size = 5 }]"#,
    ],
    "items/a.toml",
    "field \"n\": size applies only to text fields"
);
rejects!(
    duplicate_field,
    [
        "a" => r#"fields = [{ name = "n", type = "integer" }, { name = "n", type = "float" }]"#,
    ],
    "items/a.toml",
    "field \"n\" is defined twice"
);
rejects!(
    duplicate_column,
    [
        "a" => r#"fields = [{ name = "n", type = "integer" }, { name = "m", type = "integer", db_field = "n" }]"#,
    ],
    "items/a.toml",
    "field \"m\": column \"n\" is already used by field \"n\""
);
rejects!(
    column_of_the_implicit_key,
    [
        "a" => r#"fields = [{ name = "m", type = "integer", db_field = "id" }]"#,
    ],
    "items/a.toml",
    "column \"id\" is already used by field \"id\""
);
rejects!(
    bad_alignment,
    [
        "a" => r#"fields = [{ name = "n", type = "integer", alignment = "middle" }]"#,
    ],
    "items/a.toml",
    "field \"n\": alignment \"middle\" is not left, center or right"
);

rejects!(
    default_value_of_the_wrong_type,
    [
        "a" => r#"fields = [{ name = "n", type = "integer", default_value = "5" }]"#,
    ],
    "items/a.toml",
    "field \"n\": default_value: expected an integer, got a string"
);
rejects!(
    default_value_not_a_date,
    [
        "a" => r#"fields = [{ name = "d", type = "date", default_value = "2023-02-29" }]"#,
    ],
    "items/a.toml",
    "field \"d\": default_value: \"2023-02-29\" is not a date"
);
rejects!(
    default_value_now_on_a_date,
    [
        "a" => r#"fields = [{ name = "d", type = "date", default_value = "now" }]"#,
    ],
    "items/a.toml",
    "field \"d\": default_value: \"now\" is not a date"
);
rejects!(
    default_value_time_on_a_date,
    [
        "a" => r#"fields = [{ name = "d", type = "date", default_value = 2024-01-31T10:00:00 }]"#,
    ],
    "items/a.toml",
    "field \"d\": default_value: \"2024-01-31T10:00:00\" is not a date"
);
rejects!(
    default_value_longer_than_size,
    [
        "a" => r#"fields = [{ name = "n", type = "text", size = 3, default_value = "abcd" }]"#,
    ],
    "items/a.toml",
    "field \"n\": default_value: longer than the field's size 3"
);
rejects!(
    default_value_boolean,
    [
        "a" => r#"fields = [{ name = "b", type = "boolean", default_value = "yes" }]"#,
    ],
    "items/a.toml",
    "field \"b\": default_value: expected true or false"
);

#[test]
fn typed_default_values_are_accepted() {
    let dir = write_project(
        &task_with_group(&["a"]),
        &[(
            "a",
            r#"fields = [
  { name = "d", type = "date", default_value = 2024-02-29 },
  { name = "t", type = "datetime", default_value = 2024-02-29T10:11:12 },
  { name = "f", type = "float", default_value = 5 },
  { name = "k", type = "keys", default_value = [1, 2] },
]"#,
        )],
    );
    let task = load_ok(dir.path());
    let a = task.item_by_name("a").unwrap();
    let dv = |n: &str| a.field_by_name(n).unwrap().default_value.clone();
    let text = |s: &str| Some(DefaultValue::Value(Value::Text(s.into())));
    assert_eq!(dv("d"), text("2024-02-29"));
    assert_eq!(dv("t"), text("2024-02-29 10:11:12"));
    assert_eq!(dv("f"), Some(DefaultValue::Value(Value::Float(5.0))));
    assert_eq!(dv("k"), text("1;2"));
}

// ---------------------------------------------------------------------------------------------
// Primary key and soft delete.

rejects!(
    primary_key_not_integer_or_text,
    [
        "a" => r#"
primary_key = "code"
fields = [{ name = "code", type = "float" }]"#,
    ],
    "items/a.toml",
    "primary key \"code\" must be an integer field (or a text field, for a table jamrs did not create)"
);
rejects!(
    text_primary_key_on_a_managed_table,
    [
        "a" => r#"
primary_key = "code"
fields = [{ name = "code", type = "text", size = 10 }]"#,
    ],
    "items/a.toml",
    "primary key \"code\" is a text field: jamrs creates tables with integer keys, so a text key is for a table it did not create; set managed = false (or make the key an integer field)"
);
rejects!(
    text_primary_key_with_history,
    [
        "a" => r#"
managed = false
keep_history = true
primary_key = "code"
fields = [{ name = "code", type = "text", size = 10 }]"#,
    ],
    "items/a.toml",
    "keep_history records rows by integer keys, and this item is keyed by the text field \"code\": remove keep_history"
);
rejects!(
    text_primary_key_with_files,
    [
        "a" => r#"
managed = false
primary_key = "code"
fields = [{ name = "code", type = "text", size = 10 }, { name = "scan", type = "file" }]"#,
    ],
    "items/a.toml",
    "field \"scan\": uploads are attached to records by integer keys, and this item is keyed by the text field \"code\": file and image fields need an integer key"
);
const COUNTRIES: &str = r#"
managed = false
primary_key = "code"
fields = [{ name = "code", type = "text", size = 2 }, { name = "name", type = "text", size = 50 }]"#;
rejects!(
    lookup_to_a_text_key_must_be_text,
    [
        "countries" => COUNTRIES,
        "cities" => r#"
fields = [{ name = "country", type = "integer", lookup = { item = "countries", field = "name" } }]"#,
    ],
    "items/cities.toml",
    "field \"country\": item \"countries\" is keyed by text, so a lookup field to it stores text keys: its type must be text"
);
rejects!(
    old_style_detail_of_a_text_key,
    [
        "countries" => r#"
managed = false
id = 5
primary_key = "code"
details = ["notes"]
fields = [{ name = "code", type = "text", size = 2 }]"#,
        "notes" => r#"
master_id = "master_id"
master_rec_id = "master_rec_id"
fields = [{ name = "text", type = "text", size = 50 }]"#,
    ],
    "items/countries.toml",
    "detail \"notes\" links by master_id and master_rec_id, which hold integer keys, and this item is keyed by text: link it by master_field (a text field holding this item's key)"
);
rejects!(
    master_field_type_differs_from_the_master_key,
    [
        "countries" => r#"
managed = false
primary_key = "code"
details = ["regions"]
fields = [{ name = "code", type = "text", size = 2 }]"#,
        "regions" => r#"
master_field = "country"
fields = [{ name = "country", type = "integer" }]"#,
    ],
    "items/countries.toml",
    "detail \"regions\": its master field \"country\" is integer, and this item's key is text: they must be of one type"
);

#[test]
fn text_keys_load_for_unmanaged_tables() {
    let dir = write_project(
        &task_with_group(&["countries", "cities", "regions"]),
        &[
            (
                "countries",
                r#"
managed = false
primary_key = "code"
details = ["regions"]
fields = [{ name = "code", type = "text", size = 2 }, { name = "name", type = "text", size = 50 }]"#,
            ),
            (
                "cities",
                r#"
fields = [{ name = "country", type = "text", size = 2, lookup = { item = "countries", field = "name" }, on_delete = "cascade" }]"#,
            ),
            (
                "regions",
                r#"
master_field = "country"
fields = [{ name = "country", type = "text", size = 2 }, { name = "name", type = "text", size = 50 }]"#,
            ),
        ],
    );
    let task = load_ok(dir.path());
    let countries = task.item_by_name("countries").unwrap();
    assert!(countries.text_key());
    assert_eq!(countries.pk().name.as_str(), "code");
    assert_eq!(countries.referrers.len(), 1);
    assert!(!task.item_by_name("cities").unwrap().text_key());
}
rejects!(
    invalid_primary_key_name,
    [
        "a" => r#"primary_key = "Key""#,
    ],
    "items/a.toml",
    "primary_key: \"Key\" is not a valid name"
);
rejects!(
    primary_key_field_with_a_bad_type,
    [
        "a" => r#"fields = [{ name = "id", type = "serial" }]"#,
    ],
    "items/a.toml",
    "field \"id\": unknown type \"serial\""
);
rejects!(
    primary_key_required,
    [
        "a" => r#"fields = [{ name = "id", type = "integer", required = true }]"#,
    ],
    "items/a.toml",
    "field \"id\": a system field cannot be required or have a default value"
);
rejects!(
    deleted_flag_without_soft_delete,
    [
        "a" => r#"deleted_flag = "gone""#,
    ],
    "items/a.toml",
    "deleted_flag is set but soft_delete is not true"
);
rejects!(
    deleted_flag_of_a_text_type,
    [
        "a" => r#"
soft_delete = true
fields = [{ name = "deleted", type = "text", size = 1 }]"#,
    ],
    "items/a.toml",
    "deleted flag \"deleted\" must be a boolean field"
);

// ---------------------------------------------------------------------------------------------
// Lookups.

rejects!(
    lookup_item_missing,
    [
        "a" => r#"fields = [{ name = "c", type = "integer", lookup = { item = "nope", field = "name" } }]"#,
    ],
    "items/a.toml",
    "field \"c\": lookup: lookup item \"nope\" does not exist"
);
rejects!(
    lookup_field_missing,
    [
        "a" => r#"fields = [{ name = "c", type = "integer", lookup = { item = "categories", field = "title" } }]"#,
        "categories" => CATEGORIES,
    ],
    "items/a.toml",
    "field \"c\": lookup: item \"categories\" has no field \"title\""
);
rejects!(
    lookup_chain_through_a_non_lookup_field,
    [
        "a" => r#"fields = [{ name = "c", type = "integer", lookup = { item = "categories", field = "name", field1 = "name" } }]"#,
        "categories" => CATEGORIES,
    ],
    "items/a.toml",
    "field \"c\": lookup: field \"name\" of item \"categories\" is not a lookup field, so the chain cannot continue"
);
rejects!(
    lookup_field2_without_field1,
    [
        "a" => r#"fields = [{ name = "c", type = "integer", lookup = { item = "categories", field = "name", field2 = "name" } }]"#,
        "categories" => CATEGORIES,
    ],
    "items/a.toml",
    "field \"c\": lookup: field2 needs field1"
);
rejects!(
    lookup_of_a_text_field,
    [
        "a" => r#"fields = [{ name = "c", type = "text", size = 9, lookup = { item = "categories", field = "name" } }]"#,
        "categories" => CATEGORIES,
    ],
    "items/a.toml",
    "field \"c\": a lookup field stores primary keys"
);
rejects!(
    lookup_shows_the_deleted_flag,
    [
        "a" => r#"fields = [{ name = "c", type = "integer", lookup = { item = "b", field = "deleted" } }]"#,
        "b" => "soft_delete = true",
    ],
    "items/a.toml",
    "field \"deleted\" of item \"b\" is its soft-delete flag"
);
rejects!(
    lookup_shows_a_field_without_column,
    [
        "a" => r#"fields = [{ name = "c", type = "integer", lookup = { item = "a", field = "n" } }, { name = "n", type = "integer", calc = { item = "a", field = "id", link = "c", op = "count" } }]"#,
    ],
    "items/a.toml",
    "field \"n\" of item \"a\" has no column of its own"
);

#[test]
fn lookups_chain_up_to_three_levels() {
    let dir = write_project(
        &task_with_group(&["a", "b", "c", "d"]),
        &[
            (
                "a",
                r#"fields = [{ name = "name", type = "text", size = 9 }]"#,
            ),
            (
                "b",
                r#"fields = [{ name = "a", type = "integer", lookup = { item = "a", field = "name" } }]"#,
            ),
            (
                "c",
                r#"fields = [{ name = "b", type = "integer", lookup = { item = "b", field = "a", field1 = "name" } }]"#,
            ),
            (
                "d",
                r#"fields = [{ name = "c", type = "integer", lookup = { item = "c", field = "b", field1 = "a", field2 = "name" } }]"#,
            ),
        ],
    );
    let task = load_ok(dir.path());
    let lookup = task
        .item_by_name("d")
        .unwrap()
        .field_by_name("c")
        .unwrap()
        .lookup
        .clone()
        .unwrap();
    let names: Vec<&str> = lookup
        .steps
        .iter()
        .map(|s| task.item(s.item).name.as_str())
        .collect();
    assert_eq!(names, ["c", "b", "a"]);
}

rejects!(
    lookup_values_list_missing,
    [
        "a" => r#"fields = [{ name = "m", type = "integer", lookup_values = "media" }]"#,
    ],
    "items/a.toml",
    "field \"m\": lookup list \"media\" is not defined in jamrs.toml"
);

#[test]
fn lookup_values_rules() {
    let task = format!(
        "{}\n[[lookup_lists]]\nname = \"media\"\nvalues = [[1, \"MP3\"]]\n",
        task_with_group(&["a", "categories"])
    );
    let items = [
        (
            "a",
            r#"fields = [
  { name = "m", type = "text", size = 3, lookup_values = "media" },
  { name = "n", type = "integer", lookup_values = "media", lookup = { item = "categories", field = "name" } },
  { name = "ok", type = "integer", lookup_values = "media" },
]"#,
        ),
        ("categories", CATEGORIES),
    ];
    let errors = errors_of(&write_project(&task, &items));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_has(
        &errors,
        "items/a.toml",
        "field \"m\": a field with lookup_values must be an integer field",
    );
    assert_has(
        &errors,
        "items/a.toml",
        "field \"n\": a field cannot have both lookup and lookup_values",
    );
}

// ---------------------------------------------------------------------------------------------
// Master fields (a field showing another column of a lookup field's row).

const INVOICE_CUSTOMERS: &str = r#"fields = [{ name = "lastname", type = "text", size = 20 }, { name = "city", type = "text", size = 20 }]"#;

rejects!(
    master_field_is_not_a_field,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "city", type = "integer", master_field = "customer", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": master_field \"customer\" is not a field of this item"
);
rejects!(
    master_field_is_not_a_lookup,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer" },
  { name = "city", type = "integer", master_field = "customer", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": master_field \"customer\" is not a lookup field"
);
rejects!(
    master_field_without_lookup,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "lastname" } },
  { name = "city", type = "integer", master_field = "customer" },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": a field with master_field also needs a lookup"
);
rejects!(
    master_field_lookup_item_differs,
    [
        "customers" => INVOICE_CUSTOMERS,
        "other" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "lastname" } },
  { name = "city", type = "integer", master_field = "customer", lookup = { item = "other", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": lookup item \"other\" differs from master field \"customer\"'s lookup item \"customers\""
);
rejects!(
    master_field_type_differs,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "lastname" } },
  { name = "city", type = "keys", master_field = "customer", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": type must match master field \"customer\" (integer)"
);
rejects!(
    master_field_names_itself,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "city", type = "integer", master_field = "city", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": master_field cannot name the field itself"
);
rejects!(
    master_field_chained,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "lastname" } },
  { name = "city", type = "integer", master_field = "customer", lookup = { item = "customers", field = "city" } },
  { name = "city2", type = "integer", master_field = "city", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city2\": master_field \"city\" has a master_field itself"
);
rejects!(
    master_field_required,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "lastname" } },
  { name = "city", type = "integer", required = true, master_field = "customer", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": a calculated or master_field field cannot be required"
);
rejects!(
    master_field_with_db_field,
    [
        "customers" => INVOICE_CUSTOMERS,
        "invoices" => r#"fields = [
  { name = "customer", type = "integer", lookup = { item = "customers", field = "lastname" } },
  { name = "city", type = "integer", db_field = "city", master_field = "customer", lookup = { item = "customers", field = "city" } },
]"#,
    ],
    "items/invoices.toml",
    "field \"city\": db_field cannot be set on a field with master_field or calc"
);

// ---------------------------------------------------------------------------------------------
// Calculated fields.

const TRACKS: &str = r#"fields = [{ name = "name", type = "text", size = 20 }, { name = "sold", type = "integer", calc = { item = "lines", field = "quantity", link = "track", op = "sum" } }]"#;
const LINES: &str = r#"fields = [
  { name = "track", type = "integer", lookup = { item = "tracks", field = "name" } },
  { name = "quantity", type = "integer" },
  { name = "note", type = "text", size = 10 },
  { name = "code", type = "text", size = 10 },
]"#;

#[test]
fn a_calculated_field_resolves() {
    let dir = write_project(
        &task_with_group(&["lines", "tracks"]),
        &[("tracks", TRACKS), ("lines", LINES)],
    );
    let task = load_ok(dir.path());
    let sold = task
        .item_by_name("tracks")
        .unwrap()
        .field_by_name("sold")
        .unwrap();
    assert!(sold.read_only && !sold.is_stored());
}

rejects!(
    calc_item_missing,
    [
        "tracks" => &TRACKS.replace("\"lines\"", "\"sales\""),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: item \"sales\" does not exist"
);
rejects!(
    calc_field_missing,
    [
        "tracks" => &TRACKS.replace("\"quantity\"", "\"qty\""),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: item \"lines\" has no field \"qty\""
);
rejects!(
    calc_link_missing,
    [
        "tracks" => &TRACKS.replace("\"track\"", "\"song\""),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: item \"lines\" has no field \"song\""
);
rejects!(
    calc_link_not_integer,
    [
        "tracks" => &TRACKS.replace("link = \"track\"", "link = \"code\""),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: link \"code\" of \"lines\" must be a stored integer field"
);
rejects!(
    calc_link_looks_up_another_item,
    [
        "tracks" => TRACKS,
        "other" => CATEGORIES,
        "lines" => &LINES.replace("item = \"tracks\", field = \"name\"", "item = \"other\", field = \"name\""),
    ],
    "items/tracks.toml",
    "field \"sold\": calc: link \"track\" of \"lines\" looks up \"other\", not \"tracks\""
);
rejects!(
    calc_bad_op,
    [
        "tracks" => &TRACKS.replace("\"sum\"", "\"median\""),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: op \"median\" is not one of count, sum, min, max, avg"
);
rejects!(
    calc_sum_into_a_text_field,
    [
        "tracks" => &TRACKS.replace("{ name = \"sold\", type = \"integer\"", "{ name = \"sold\", type = \"text\", size = 9"),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: sum needs a numeric field type"
);
rejects!(
    calc_sum_of_a_text_field,
    [
        "tracks" => &TRACKS.replace("\"quantity\"", "\"note\""),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: sum needs a numeric field to aggregate; \"note\" of \"lines\" is text"
);
rejects!(
    calc_and_lookup,
    [
        "tracks" => &TRACKS.replace("op = \"sum\" }", "op = \"sum\" }, lookup = { item = \"lines\", field = \"quantity\" }"),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": a calculated field cannot also be a lookup"
);
rejects!(
    calc_required,
    [
        "tracks" => &TRACKS.replace("type = \"integer\", calc", "type = \"integer\", required = true, calc"),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "field \"sold\": a calculated or master_field field cannot be required"
);
rejects!(
    calc_of_a_field_without_column,
    [
        "tracks" => &TRACKS.replace("\"quantity\"", "\"name\""),
        "lines" => r#"fields = [
  { name = "track", type = "integer", lookup = { item = "tracks", field = "name" } },
  { name = "name", type = "integer", master_field = "track", lookup = { item = "tracks", field = "name" } },
]"#,
    ],
    "items/tracks.toml",
    "field \"sold\": calc: field \"name\" of \"lines\" has no column to aggregate"
);

// ---------------------------------------------------------------------------------------------
// Filters, default order, indexes.

const WITH_FILTERS: &str = r#"
soft_delete = true
fields = [{ name = "n", type = "integer" }, { name = "c", type = "integer", lookup = { item = "b", field = "name" } }]
"#;

fn with_filter(filter: &str) -> String {
    format!("{WITH_FILTERS}filters = [{filter}]\n")
}

rejects!(
    filter_on_an_unknown_field,
    [
        "a" => &with_filter(r#"{ name = "f", field = "x", type = "eq" }"#),
        "b" => CATEGORIES,
    ],
    "items/a.toml",
    "filter \"f\": field \"x\" is not a field of this item"
);
rejects!(
    filter_on_the_deleted_flag,
    [
        "a" => &with_filter(r#"{ name = "f", field = "deleted", type = "eq" }"#),
        "b" => CATEGORIES,
    ],
    "items/a.toml",
    "filter \"f\": field \"deleted\" is not a field of this item"
);
rejects!(
    filter_type_unknown_name,
    [
        "a" => &with_filter(r#"{ name = "f", field = "n", type = "like" }"#),
        "b" => CATEGORIES,
    ],
    "items/a.toml",
    "filter \"f\": type \"like\" is not a filter type"
);
rejects!(
    filter_type_number_out_of_range,
    [
        "a" => &with_filter(r#"{ name = "f", field = "n", type = 31 }"#),
        "b" => CATEGORIES,
    ],
    "items/a.toml",
    "filter \"f\": type 31 is not a filter type"
);
rejects!(
    filter_lookup_variant_on_a_plain_field,
    [
        "a" => &with_filter(r#"{ name = "f", field = "n", type = "eq_l" }"#),
        "b" => CATEGORIES,
    ],
    "items/a.toml",
    "filter \"f\": type eq_l applies to lookup fields; \"n\" is not one"
);
rejects!(
    duplicate_filter,
    [
        "a" => &with_filter(r#"{ name = "f", field = "n", type = "eq" }, { name = "f", field = "c", type = 22 }"#),
        "b" => CATEGORIES,
    ],
    "items/a.toml",
    "filter \"f\": defined twice"
);

rejects!(
    default_order_unknown_field,
    [
        "a" => r#"default_order = ["-date"]"#,
    ],
    "items/a.toml",
    "default_order: \"date\" is not a field of this item"
);
rejects!(
    default_order_on_the_deleted_flag,
    [
        "a" => "soft_delete = true\ndefault_order = [\"deleted\"]",
    ],
    "items/a.toml",
    "default_order: \"deleted\" is not a field of this item"
);
rejects!(
    summary_fields_unknown_field,
    [
        "a" => r#"summary_fields = ["id", "total"]"#,
    ],
    "items/a.toml",
    "summary_fields: \"total\" is not a field of this item"
);
rejects!(
    layout_view_names_an_unknown_field,
    ["a" => "[view]\nfields = [\"id\", \"total\"]"],
    "items/a.toml",
    "view.fields: \"total\" is not a field of this item"
);
rejects!(
    layout_view_names_the_deleted_flag,
    ["a" => "soft_delete = true\n[view]\nfields = [\"deleted\"]"],
    "items/a.toml",
    "view.fields: \"deleted\" is not a field of this item"
);
rejects!(
    layout_view_names_a_field_twice,
    ["a" => "[view]\nfields = [\"id\", \"id\"]"],
    "items/a.toml",
    "view.fields: \"id\" is named twice"
);
rejects!(
    layout_sort_field_must_be_a_column,
    ["a" => "fields = [{ name = \"n\", type = \"text\", size = 9 }]\n[view]\nfields = [\"n\"]\nsort_fields = [\"id\"]"],
    "items/a.toml",
    "view.sort_fields: \"id\" is not one of view.fields"
);
rejects!(
    layout_width_out_of_range,
    ["a" => "[view]\nwidths = { id = 5 }"],
    "items/a.toml",
    "view.widths.id: 5 is not a width in pixels"
);
rejects!(
    layout_search_field_must_be_searchable,
    ["a" => "[view]\nsearch_field = \"id\""],
    "items/a.toml",
    "view.search_field: \"id\" cannot be searched"
);
rejects!(
    layout_edit_field_in_two_bands,
    ["a" => "[edit]\ntabs = [{ caption = \"A\", bands = [{ fields = [\"id\"] }] }, { caption = \"B\", bands = [{ fields = [\"id\"] }] }]"],
    "items/a.toml",
    "edit.tabs[1].bands[0].fields: \"id\" is named twice"
);
rejects!(
    layout_edit_fields_and_tabs_together,
    ["a" => "[edit]\nfields = [\"id\"]\ntabs = [{ bands = [{ fields = [] }] }]"],
    "items/a.toml",
    "edit: give either fields (one band) or tabs, not both"
);
rejects!(
    layout_edit_band_columns,
    ["a" => "[edit]\nfields = [\"id\"]\ncolumns = 9"],
    "items/a.toml",
    "edit.columns: 9 columns; a band has 1 to 6"
);
rejects!(
    layout_several_tabs_need_captions,
    ["a" => "[edit]\ntabs = [{ bands = [{ fields = [] }] }, { caption = \"B\", bands = [{ fields = [] }] }]"],
    "items/a.toml",
    "edit.tabs: with several tabs, each needs a caption"
);
rejects!(
    layout_edit_detail_must_be_a_detail,
    ["a" => "[edit]\ndetails = [\"b\"]", "b" => ""],
    "items/a.toml",
    "edit.details: \"b\" is not one of this item's details"
);
rejects!(
    layout_unknown_key,
    ["a" => "[view]\ncolumns = [\"id\"]"],
    "items/a.toml",
    "unknown field `columns`"
);
rejects!(
    index_without_fields,
    [
        "a" => r#"indexes = [{ name = "a_idx", fields = [] }]"#,
    ],
    "items/a.toml",
    "index 1: needs at least one field"
);
rejects!(
    index_on_an_unknown_field,
    [
        "a" => r#"indexes = [{ fields = ["x"] }]"#,
    ],
    "items/a.toml",
    "index 1: \"x\" is not a field of this item"
);
rejects!(
    index_on_a_calculated_field,
    [
        "tracks" => &format!("{TRACKS}\nindexes = [{{ fields = [\"sold\"] }}]"),
        "lines" => LINES,
    ],
    "items/tracks.toml",
    "index 1: \"sold\" has no column of its own, so it cannot be indexed"
);
rejects!(
    duplicate_index_in_one_item,
    [
        "a" => r#"
fields = [{ name = "n", type = "integer" }]
indexes = [{ fields = ["n"] }, { fields = ["n"], unique = true }]"#,
    ],
    "items/a.toml",
    "index name \"a_n_idx\" is also used in item \"a\""
);
rejects!(
    duplicate_index_across_items,
    [
        "a" => r#"indexes = [{ name = "by_id", fields = ["id"] }]"#,
        "b" => r#"indexes = [{ name = "by_id", fields = ["-id"] }]"#,
    ],
    "items/b.toml",
    "index name \"by_id\" is also used in item \"a\""
);

// ---------------------------------------------------------------------------------------------
// Details.

const MASTER: &str = r#"details = ["lines"]"#;
const LINKED_LINES: &str = r#"
master_field = "master"
fields = [{ name = "master", type = "integer", lookup = { item = "master", field = "id" } }]"#;

#[test]
fn a_detail_links_to_its_master() {
    let dir = write_project(
        &task_with_group(&["lines", "master"]),
        &[("master", MASTER), ("lines", LINKED_LINES)],
    );
    let task = load_ok(dir.path());
    let lines = task.item_by_name("lines").unwrap();
    assert!(lines.is_detail());
    assert!(lines.field_by_name("master").unwrap().read_only);
}

rejects!(
    detail_missing,
    [
        "master" => MASTER,
    ],
    "items/master.toml",
    "detail \"lines\" does not exist (no items/lines.toml)"
);
rejects!(
    detail_without_a_link,
    [
        "master" => MASTER,
        "lines" => CATEGORIES,
    ],
    "items/master.toml",
    "detail \"lines\" has no master link: set master_field (or master_id and master_rec_id) in items/lines.toml"
);
rejects!(
    detail_listed_twice,
    [
        "master" => r#"details = ["lines", "lines"]"#,
        "lines" => LINKED_LINES,
    ],
    "items/master.toml",
    "detail \"lines\" is listed twice"
);
rejects!(
    item_is_its_own_detail,
    [
        "master" => r#"details = ["master"]"#,
    ],
    "items/master.toml",
    "an item cannot be its own detail"
);
rejects!(
    detail_named_like_a_field,
    [
        "master" => r#"
details = ["lines"]
fields = [{ name = "lines", type = "integer" }]"#,
        "lines" => LINKED_LINES,
    ],
    "items/master.toml",
    "detail \"lines\" has the name of a field of this item"
);
rejects!(
    detail_linked_but_not_listed,
    [
        "master" => CATEGORIES,
        "lines" => LINKED_LINES,
    ],
    "items/lines.toml",
    "this item links to a master, but no item lists it in details"
);
rejects!(
    detail_master_field_missing,
    [
        "lines" => r#"master_field = "owner""#,
    ],
    "items/lines.toml",
    "master_field \"owner\" is not a field of this item"
);
rejects!(
    detail_master_field_not_integer,
    [
        "master" => MASTER,
        "lines" => r#"
master_field = "master"
fields = [{ name = "master", type = "text", size = 9 }]"#,
    ],
    "items/master.toml",
    "detail \"lines\": its master field \"master\" is text, and this item's key is integer: they must be of one type"
);
rejects!(
    detail_master_field_is_the_key,
    [
        "master" => MASTER,
        "lines" => r#"master_field = "id""#,
    ],
    "items/lines.toml",
    "master_field \"id\" must be a stored integer field"
);
rejects!(
    detail_master_field_looks_up_another_item,
    [
        "master" => MASTER,
        "other" => CATEGORIES,
        "lines" => r#"
master_field = "master"
fields = [{ name = "master", type = "integer", lookup = { item = "other", field = "name" } }]"#,
    ],
    "items/master.toml",
    "detail \"lines\": its master field \"master\" looks up another item"
);
rejects!(
    detail_with_both_link_styles,
    [
        "lines" => r#"
master_field = "master"
master_id = "master_id"
master_rec_id = "master_rec_id"
fields = [{ name = "master", type = "integer" }]"#,
    ],
    "items/lines.toml",
    "a detail links either by master_field, or by both master_id and master_rec_id"
);
rejects!(
    detail_with_master_id_only,
    [
        "lines" => r#"master_id = "master_id""#,
    ],
    "items/lines.toml",
    "a detail links either by master_field, or by both master_id and master_rec_id"
);
rejects!(
    detail_master_id_equals_master_rec_id,
    [
        "lines" => r#"
master_id = "link"
master_rec_id = "link""#,
    ],
    "items/lines.toml",
    "master_id and master_rec_id must name two different fields"
);
rejects!(
    detail_master_rec_id_is_the_key,
    [
        "master" => r#"id = 1
details = ["lines"]"#,
        "lines" => r#"
master_id = "master_id"
master_rec_id = "id""#,
    ],
    "items/lines.toml",
    "link field \"id\" cannot be the primary key or the soft-delete flag"
);
rejects!(
    detail_master_id_not_integer,
    [
        "master" => r#"id = 1
details = ["lines"]"#,
        "lines" => r#"
master_id = "master_id"
master_rec_id = "master_rec_id"
fields = [{ name = "master_id", type = "text", size = 5 }]"#,
    ],
    "items/lines.toml",
    "link field \"master_id\" must be a stored integer field"
);
rejects!(
    master_id_detail_whose_master_has_no_id,
    [
        "master" => MASTER,
        "lines" => r#"
master_id = "master_id"
master_rec_id = "master_rec_id""#,
    ],
    "items/master.toml",
    "detail \"lines\" links by master_id, so this item needs a numeric id (id = …)"
);
rejects!(
    master_field_detail_with_two_masters,
    [
        "a" => MASTER,
        "b" => MASTER,
        "lines" => r#"
master_field = "master"
fields = [{ name = "master", type = "integer" }]"#,
    ],
    "items/lines.toml",
    "a detail linked by master_field belongs to one master"
);
rejects!(
    duplicate_item_id,
    [
        "a" => "id = 7",
        "b" => "id = 7",
    ],
    "items/b.toml",
    "id 7 is also the id of item \"a\""
);

#[test]
fn a_master_id_detail_may_serve_two_masters() {
    let lines = "master_id = \"master_id\"\nmaster_rec_id = \"master_rec_id\"\n";
    let dir = write_project(
        &task_with_group(&["a", "b", "lines"]),
        &[
            ("a", "id = 1\ndetails = [\"lines\"]"),
            ("b", "id = 2\ndetails = [\"lines\"]"),
            ("lines", lines),
        ],
    );
    let task = load_ok(dir.path());
    assert_eq!(task.item_by_name("lines").unwrap().masters.len(), 2);
}

#[test]
fn a_detail_cycle_is_rejected() {
    let a = r#"
details = ["b"]
master_field = "parent"
fields = [{ name = "parent", type = "integer", lookup = { item = "b", field = "id" } }]"#;
    let b = r#"
details = ["a"]
master_field = "parent"
fields = [{ name = "parent", type = "integer", lookup = { item = "a", field = "id" } }]"#;
    let errors = item_errors(&[("a", a), ("b", b)]);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_has(
        &errors,
        "items/a.toml",
        "details form a cycle back to this item",
    );
    assert_has(
        &errors,
        "items/b.toml",
        "details form a cycle back to this item",
    );
}
