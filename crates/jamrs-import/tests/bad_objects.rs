//! An import never fails on one bad object: it reports it, leaves it out (with what refers to
//! it) and goes on. The Jam.py metadata here is written by the test (the columns Jam.py's
//! admin.sqlite has, as far as these objects need them); real Jam.py projects are imported in
//! crates/jamrs/tests/jampy_import.rs.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use rusqlite::Connection;

const ADMIN: &str = r#"
CREATE TABLE SYS_ITEMS (ID INTEGER PRIMARY KEY, DELETED INTEGER, PARENT INTEGER, TYPE_ID INTEGER,
  TABLE_ID INTEGER, F_NAME TEXT, F_ITEM_NAME TEXT, F_TABLE_NAME TEXT, F_VIEW_TEMPLATE TEXT,
  F_VISIBLE INTEGER, F_SERVER_MODULE TEXT, F_WEB_CLIENT_MODULE TEXT, F_INFO TEXT, F_SOFT_DELETE INTEGER,
  F_INDEX INTEGER, F_VIRTUAL_TABLE INTEGER, F_PRIMARY_KEY INTEGER, F_DELETED_FLAG INTEGER,
  F_MASTER_ID INTEGER, F_MASTER_REC_ID INTEGER, F_KEEP_HISTORY INTEGER, F_EDIT_LOCK INTEGER);
CREATE TABLE SYS_FIELDS (ID INTEGER PRIMARY KEY, DELETED INTEGER, OWNER_REC_ID INTEGER,
  F_NAME TEXT, F_FIELD_NAME TEXT, F_DB_FIELD_NAME TEXT, F_DATA_TYPE INTEGER, F_SIZE INTEGER,
  F_OBJECT INTEGER, F_OBJECT_FIELD INTEGER, F_REQUIRED INTEGER);
CREATE TABLE SYS_PARAMS (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_SAFE_MODE INTEGER,
  F_UPGRADED_TO INTEGER, F_JAM_VERSION TEXT);
CREATE TABLE SYS_TASKS (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_DB_TYPE INTEGER, F_ALIAS TEXT);
CREATE TABLE SYS_ROLES (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_NAME TEXT);
CREATE TABLE SYS_USERS (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_NAME TEXT, F_LOGIN TEXT,
  F_PASSWORD TEXT, F_ROLE INTEGER, F_ADMIN INTEGER, F_ACTIVE INTEGER);
INSERT INTO SYS_PARAMS VALUES (1, 0, 0, 7, '7.0.120');
INSERT INTO SYS_TASKS VALUES (1, 0, 1, 'data.sqlite');
INSERT INTO SYS_ROLES VALUES (3, 0, 'Clerks');
INSERT INTO SYS_USERS VALUES (5, 0, 'Ann', 'ann', 'plain-secret', 3, 0, NULL);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME) VALUES (1, 0, -1, 5, 'Shop', 'shop');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VISIBLE) VALUES (2, 0, 1, 6, 'Catalogs', 'catalogs', 1);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_TABLE_NAME, F_VISIBLE,
  F_PRIMARY_KEY, F_SERVER_MODULE) VALUES (10, 0, 2, 10, 'Good', 'goodItem', 'GOOD', 1, 100,
  'from jam.db.db_modules import SQLITE' || char(10) || 'def on_open(item, params):' || char(10) || '    pass' || char(10));
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_TABLE_NAME, F_VISIBLE,
  F_PRIMARY_KEY, F_MASTER_ID, F_MASTER_REC_ID) VALUES (11, 0, 2, 10, 'Gone', 'gone', 'GONE', 1, 110, 111, 112);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_TABLE_NAME, F_VISIBLE,
  F_PRIMARY_KEY) VALUES (12, 0, 2, 10, 'Text key', 'textkey', 'TEXTKEY', 1, 120);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, TABLE_ID, F_ITEM_NAME) VALUES (14, 0, 10, 14, 11, 'gone');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VIEW_TEMPLATE) VALUES (15, 0, 2, 13, 'Sales', 'sales', 'sales.ods');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_TABLE_NAME) VALUES (16, 1, 2, 10, 'Deleted', 'deleted_item', 'NOPE');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VIEW_TEMPLATE) VALUES (17, 0, 2, 13, 'Escape', 'escape', '../data.ods');
INSERT INTO SYS_FIELDS VALUES (100, 0, 10, 'ID', 'id', 'ID', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (101, 0, 10, 'Name', 'fullName', 'NAME', 1, 10, NULL, NULL, 1);
INSERT INTO SYS_FIELDS VALUES (102, 0, 10, 'Ref', 'ref', 'REF', 2, NULL, 11, 110, 0);
INSERT INTO SYS_FIELDS VALUES (103, 0, 10, 'Missing', 'missing', 'MISSING', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (110, 0, 11, 'ID', 'id', 'ID', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (111, 0, 11, 'M', 'master_id', 'MASTER_ID', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (112, 0, 11, 'R', 'master_rec_id', 'MASTER_REC_ID', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (120, 0, 12, 'GUID', 'guid', 'GUID', 1, 36, NULL, NULL, 0);
"#;

fn jampy_project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    Connection::open(dir.join("admin.sqlite"))
        .unwrap()
        .execute_batch(ADMIN)
        .unwrap();
    Connection::open(dir.join("data.sqlite"))
        .unwrap()
        .execute_batch(
            r#"CREATE TABLE "GOOD" ("ID" INTEGER PRIMARY KEY, "NAME" TEXT, "REF" INTEGER, "EXTRA" BLOB);
               CREATE TABLE "TEXTKEY" ("GUID" TEXT PRIMARY KEY);
               INSERT INTO "GOOD" VALUES (1, 'a', NULL, NULL);"#,
        )
        .unwrap();
}

#[test]
fn bad_objects_are_reported_and_left_out_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let data_before = std::fs::read(source.join("data.sqlite")).unwrap();
    let admin_before = std::fs::read(source.join("admin.sqlite")).unwrap();
    let dest = dir.path().join("new");
    let report = jamrs_import::import(&source, &dest, &Default::default(), &mut |_| {}).unwrap();
    let md = std::fs::read_to_string(dest.join("IMPORT.md")).unwrap();
    for needle in [
        "its table GONE is not in the data database",
        "field missing: its column MISSING is not in table GOOD",
        "field ref: its lookup",
        "items/good_item.py, line 1: jamrs does not provide Jam.py's database layer",
        "the whole report: its template reports/sales.ods is not in the Jam.py project",
        "its template \"../data.ods\" is not a file name in reports/",
        "renamed goodItem → good_item",
        "field fullName renamed full_name",
        "the password (Jam.py keeps it in plain text",
        "detail gone",
        "keyed by the text field guid (primary_key): a new record must give its key",
    ] {
        assert!(md.contains(needle), "IMPORT.md lacks {needle:?}:\n{md}");
    }
    assert!(report.summary().contains("left out"));
    // Nothing of Jam.py's was changed, and no plain-text password was written anywhere.
    assert_eq!(
        std::fs::read(source.join("data.sqlite")).unwrap(),
        data_before
    );
    assert_eq!(
        std::fs::read(source.join("admin.sqlite")).unwrap(),
        admin_before
    );
    let users = std::fs::read_to_string(dest.join("jampy/users.json")).unwrap();
    assert!(
        users.contains("\"ann\"") && !users.contains("plain-secret"),
        "{users}"
    );
    // What came over loads, and its table is served as it is.
    let task = jamrs_core::project::load(&dest).unwrap_or_else(|e| panic!("{e}\n{md}"));
    let names: Vec<&str> = task.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["good_item", "textkey"]);
    // A text primary key comes over (issue 15 §3): the item is keyed by it.
    let textkey = task.item_by_name("textkey").unwrap();
    assert!(textkey.text_key() && !textkey.managed);
    assert_eq!(textkey.pk().name.as_str(), "guid");
    let good = task.item_by_name("good_item").unwrap();
    assert!(!good.managed);
    assert_eq!(good.number, Some(10));
    assert_eq!(good.table.as_str(), "GOOD");
    assert!(good.field_by_name("ref").unwrap().lookup.is_none());
    assert_eq!(task.roles[0].id, 3);
    // The module is carried verbatim (jamrs run refuses it until it is changed).
    let module = std::fs::read_to_string(dest.join("items/good_item.py")).unwrap();
    assert!(module.starts_with("from jam.db.db_modules import SQLITE"));
}

#[test]
fn an_existing_folder_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let dest = dir.path().join("taken");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep.txt"), "mine").unwrap();
    let err = jamrs_import::import(&source, &dest, &Default::default(), &mut |_| {}).unwrap_err();
    assert!(err.contains("never overwrites"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dest.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
}

#[test]
fn copy_data_copies_and_passwords_become_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let dest = dir.path().join("new");
    jamrs_import::import(
        &source,
        &dest,
        &jamrs_import::Options {
            copy_data: true,
            carry_passwords: true,
        },
        &mut |_| {},
    )
    .unwrap();
    let task = jamrs_core::project::load(&dest).unwrap();
    assert_eq!(task.settings.database.path, "data/data.sqlite");
    let copied = Connection::open(dest.join("data/data.sqlite")).unwrap();
    let name: String = copied
        .query_row(r#"SELECT "NAME" FROM "GOOD" WHERE "ID" = 1"#, [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(name, "a");
    let users: Vec<jamrs_import::users::ImportedUser> =
        jamrs_import::users::read(&dest.join(jamrs_import::users::USERS_FILE)).unwrap();
    let hash = users[0].password_hash.as_deref().unwrap();
    assert!(jamrs_store::auth::verify_password("plain-secret", hash));
    assert!(!hash.contains("plain-secret"));
}

#[test]
fn import_table_describes_an_existing_table() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let (item, notes) = jamrs_import::table::describe(&source.join("data.sqlite"), "good").unwrap();
    assert_eq!(item.table.as_deref(), Some("GOOD"));
    assert_eq!(item.managed, Some(false));
    assert_eq!(item.primary_key.as_deref(), Some("id"));
    let fields: Vec<(&str, &str, Option<&str>)> = item
        .fields
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.field_type.as_str(),
                f.db_field.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("id", "integer", Some("ID")),
            ("name", "text", Some("NAME")),
            ("ref", "integer", Some("REF"))
        ]
    );
    assert!(notes.iter().any(|n| n.contains("EXTRA")), "{notes:?}");
    assert!(
        jamrs_import::table::describe(&source.join("data.sqlite"), "nope")
            .unwrap_err()
            .contains("there is no table nope")
    );
}

/// Metadata with the settings that map to jamrs keys: a v7 field marked "check before deleting"
/// (older v7 databases have the column in SYS_FIELDS), an item with history and an edit lock
/// naming its record version field, and reports: one with a template and params of every kind
/// the import handles, one whose template is a `.xls`.
const SETTINGS: &str = r#"
CREATE TABLE SYS_ITEMS (ID INTEGER PRIMARY KEY, DELETED INTEGER, PARENT INTEGER, TYPE_ID INTEGER,
  TABLE_ID INTEGER, F_NAME TEXT, F_ITEM_NAME TEXT, F_TABLE_NAME TEXT, F_VIEW_TEMPLATE TEXT,
  F_VISIBLE INTEGER, F_SERVER_MODULE TEXT, F_INFO TEXT, F_PRIMARY_KEY INTEGER,
  F_KEEP_HISTORY INTEGER, F_EDIT_LOCK INTEGER, F_RECORD_VERSION INTEGER);
CREATE TABLE SYS_FIELDS (ID INTEGER PRIMARY KEY, DELETED INTEGER, OWNER_REC_ID INTEGER,
  F_NAME TEXT, F_FIELD_NAME TEXT, F_DB_FIELD_NAME TEXT, F_DATA_TYPE INTEGER, F_SIZE INTEGER,
  F_OBJECT INTEGER, F_OBJECT_FIELD INTEGER, F_CHECK_BEFORE_DELETING INTEGER);
CREATE TABLE SYS_REPORT_PARAMS (ID INTEGER PRIMARY KEY, DELETED INTEGER, OWNER_REC_ID INTEGER,
  F_INDEX INTEGER, F_NAME TEXT, F_PARAM_NAME TEXT, F_DATA_TYPE INTEGER, F_SIZE INTEGER,
  F_OBJECT INTEGER, F_OBJECT_FIELD INTEGER, F_REQUIRED INTEGER, F_VISIBLE INTEGER,
  F_LOOKUP_VALUES INTEGER, F_MULTI_SELECT INTEGER);
CREATE TABLE SYS_LOOKUP_LISTS (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_NAME TEXT,
  F_LOOKUP_VALUES_TEXT TEXT);
CREATE TABLE SYS_PARAMS (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_SAFE_MODE INTEGER,
  F_UPGRADED_TO INTEGER);
CREATE TABLE SYS_TASKS (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_DB_TYPE INTEGER, F_ALIAS TEXT);
CREATE TABLE SYS_ROLES (ID INTEGER PRIMARY KEY, DELETED INTEGER, F_NAME TEXT);
CREATE TABLE SYS_PRIVILEGES (ID INTEGER PRIMARY KEY, DELETED INTEGER, OWNER_REC_ID INTEGER,
  ITEM_ID INTEGER, F_CAN_VIEW INTEGER, F_CAN_CREATE INTEGER, F_CAN_EDIT INTEGER, F_CAN_DELETE INTEGER);
INSERT INTO SYS_PARAMS VALUES (1, 0, 1, 7);
INSERT INTO SYS_TASKS VALUES (1, 0, 1, 'data.sqlite');
INSERT INTO SYS_ROLES VALUES (1, 0, 'Clerks');
INSERT INTO SYS_LOOKUP_LISTS VALUES (1, 0, 'Colours', '[[1, "Red"], [2, "Blue"]]');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME) VALUES (1, 0, -1, 5, 'Shop', 'shop');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VISIBLE) VALUES (2, 0, 1, 6, 'Catalogs', 'catalogs', 1);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VISIBLE) VALUES (3, 0, 1, 9, 'Reports', 'reports', 1);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_TABLE_NAME, F_VISIBLE,
  F_PRIMARY_KEY, F_INFO) VALUES (10, 0, 2, 10, 'Kinds', 'kinds', 'KINDS', 1, 100, 'json{"reports": [[20], [21]]}');
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_TABLE_NAME, F_VISIBLE,
  F_PRIMARY_KEY, F_KEEP_HISTORY, F_EDIT_LOCK, F_RECORD_VERSION) VALUES (11, 0, 2, 10, 'Things', 'things', 'THINGS', 1, 110, 1, 1, 113);
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VIEW_TEMPLATE, F_VISIBLE,
  F_SERVER_MODULE) VALUES (20, 0, 3, 13, 'Kind list', 'kindList', 'kinds.ods', 0,
  'def on_generate(report):' || char(10) || '    report.print_band(''title'', {})' || char(10));
INSERT INTO SYS_ITEMS (ID, DELETED, PARENT, TYPE_ID, F_NAME, F_ITEM_NAME, F_VIEW_TEMPLATE, F_VISIBLE,
  F_SERVER_MODULE) VALUES (21, 0, 3, 13, 'Old', 'old', 'old.xls', 1, 'def on_generate(report):' || char(10) || '    pass' || char(10));
INSERT INTO SYS_FIELDS VALUES (100, 0, 10, 'ID', 'id', 'ID', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (101, 0, 10, 'Name', 'name', 'NAME', 1, 20, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (110, 0, 11, 'ID', 'id', 'ID', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_FIELDS VALUES (111, 0, 11, 'Kind', 'kind', 'KIND', 2, NULL, 10, 101, 1);
INSERT INTO SYS_FIELDS VALUES (112, 0, 11, 'Other kind', 'other_kind', 'OTHER_KIND', 2, NULL, 10, 101, 0);
INSERT INTO SYS_FIELDS VALUES (113, 0, 11, 'Version', 'version', 'VERSION', 2, NULL, NULL, NULL, 0);
INSERT INTO SYS_REPORT_PARAMS VALUES (1, 0, 20, 0, 'Kinds', 'kindIds', 2, NULL, 10, 101, 1, 1, NULL, 1);
INSERT INTO SYS_REPORT_PARAMS VALUES (2, 0, 20, 1, 'Title', 'title', 1, 40, NULL, NULL, 0, 0, NULL, 0);
INSERT INTO SYS_REPORT_PARAMS VALUES (3, 0, 20, 2, 'Colour', 'colour', 2, NULL, NULL, NULL, 0, 1, 1, 0);
INSERT INTO SYS_REPORT_PARAMS VALUES (4, 0, 20, 3, 'Picture', 'picture', 11, NULL, NULL, NULL, 0, 1, NULL, 0);
INSERT INTO SYS_PRIVILEGES VALUES (1, 0, 1, 10, 1, 1, 1, 1);
INSERT INTO SYS_PRIVILEGES VALUES (2, 0, 1, 11, 1, 1, 1, 1);
INSERT INTO SYS_PRIVILEGES VALUES (3, 0, 1, 20, 0, 0, 0, 0);
"#;

/// A spreadsheet template of one band (`title`), as LibreOffice lays out an `.ods`.
fn ods(path: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("content.xml", stored).unwrap();
    zip.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="S"><table:table-row><table:table-cell office:value-type="string"><text:p>title</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
    )
    .unwrap();
    zip.finish().unwrap();
}

#[test]
fn history_edit_lock_check_before_deleting_and_reports_map_to_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    std::fs::create_dir_all(source.join("reports")).unwrap();
    Connection::open(source.join("admin.sqlite"))
        .unwrap()
        .execute_batch(SETTINGS)
        .unwrap();
    Connection::open(source.join("data.sqlite"))
        .unwrap()
        .execute_batch(
            r#"CREATE TABLE "KINDS" ("ID" INTEGER PRIMARY KEY, "NAME" TEXT);
               CREATE TABLE "THINGS" ("ID" INTEGER PRIMARY KEY, "KIND" INTEGER, "OTHER_KIND" INTEGER, "VERSION" INTEGER);"#,
        )
        .unwrap();
    ods(&source.join("reports/kinds.ods"));
    std::fs::write(
        source.join("reports/old.xls"),
        b"not a spreadsheet jamrs prints",
    )
    .unwrap();
    let dest = dir.path().join("new");
    jamrs_import::import(&source, &dest, &Default::default(), &mut |_| {}).unwrap();
    let md = std::fs::read_to_string(dest.join("IMPORT.md")).unwrap();
    let task = jamrs_core::project::load(&dest).unwrap_or_else(|e| panic!("{e}\n{md}"));

    let things = task.item_by_name("things").unwrap();
    assert!(things.keep_history, "{md}");
    let version = things.record_version.expect("an edit lock");
    assert_eq!(things.field(version).name.as_str(), "version");
    let file = std::fs::read_to_string(dest.join("items/things.toml")).unwrap();
    assert!(file.contains("keep_history = true"), "{file}");
    assert!(file.contains("edit_lock = true"), "{file}");
    assert!(file.contains("record_version = \"version\""), "{file}");
    // Check before deleting: written out on the field that has it; the other lookup gets
    // jamrs's default, and the report says Jam.py did not check it.
    let kind = file.find("name = \"kind\"").unwrap();
    let other = file.find("name = \"other_kind\"").unwrap();
    assert!(
        file[kind..other].contains("on_delete = \"restrict\""),
        "{file}"
    );
    assert!(!file[other..].contains("on_delete"), "{file}");
    assert!(md.contains("field kind: check before deleting"), "{md}");
    assert!(
        md.contains(
            "refuses that delete (on_delete = \"restrict\", the default) for things.other_kind"
        ),
        "{md}"
    );
    // Jam.py's project has no history item: said so.
    assert!(md.contains("Jam.py kept no history of it"), "{md}");

    // The report: its file, template and module; its params as jamrs has them.
    let report = task
        .reports
        .iter()
        .find(|r| r.name.as_str() == "kind_list")
        .unwrap_or_else(|| panic!("{md}"));
    assert_eq!(report.caption, "Kind list");
    assert!(!report.visible);
    assert!(report.template.ends_with("reports/kind_list.ods"));
    assert!(report.module.is_some());
    let params: Vec<&str> = report
        .params
        .iter()
        .map(|p| p.field.name.as_str())
        .collect();
    assert_eq!(params, ["kind_ids", "title", "colour"], "{md}");
    assert!(report.params[0].multi_select && report.params[0].field.lookup.is_some());
    assert!(report.params[0].field.required);
    assert!(!report.params[1].field.visible);
    assert!(report.params[2].field.lookup_values.is_some());
    assert!(md.contains("param picture: data type 11"), "{md}");
    let toml = std::fs::read_to_string(dest.join("reports/kind_list.toml")).unwrap();
    assert_eq!(
        jamrs_core::project::ProjectFiles::report_text(&toml::from_str(&toml).unwrap()).unwrap(),
        toml,
        "reports/kind_list.toml is not in canonical form"
    );
    // The item's view offers it; the role's "no view" row is kept.
    assert_eq!(task.item_by_name("kinds").unwrap().reports.len(), 1, "{md}");
    let jamrs_toml = std::fs::read_to_string(dest.join("jamrs.toml")).unwrap();
    assert!(jamrs_toml.contains("kind_list = []"), "{jamrs_toml}");
    assert!(
        jamrs_toml.contains("items = [\"kind_list\"]"),
        "{jamrs_toml}"
    );
    // A report jamrs cannot print is left out, its module and template kept aside.
    assert!(
        md.contains("its template old.xls is not a LibreOffice spreadsheet"),
        "{md}"
    );
    assert!(!dest.join("reports/old.toml").exists());
    assert!(!dest.join("reports/old.py").exists());
    assert!(dest.join("jampy/left_out/reports/old.py").is_file());
    assert!(dest.join("jampy/left_out/reports/old.xls").is_file());
    assert!(
        md.contains("its view's report 21 (it did not come over)"),
        "{md}"
    );
}

/// The schema, the pragmas a copy keeps and every row (with its rowid) of `db`, as text.
fn dump(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut out: Vec<String> = ["user_version", "application_id", "page_size", "auto_vacuum"]
        .iter()
        .map(|p| {
            let v: i64 = conn
                .query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
                .unwrap();
            format!("{p} = {v}")
        })
        .collect();
    let schema: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, name, sql) in schema {
        out.push(format!("{kind} {name} {sql:?}"));
        if kind != "table" || name.starts_with("fts_") {
            continue;
        }
        let mut stmt = conn
            .prepare(&format!(
                "SELECT _rowid_, * FROM \"{name}\" ORDER BY _rowid_"
            ))
            .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{name}\"")))
            .unwrap();
        let n = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            format!("{:?}", String::from_utf8_lossy(t))
                        }
                        v => format!("{v:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", "))
            })
            .unwrap()
            .map(|r| format!("{name}: {}", r.unwrap()))
            .collect();
        out.extend(rows);
    }
    out
}

/// `copy` holds what `source` holds (the first difference, if not).
fn assert_same(copy: &[String], source: &[String]) {
    if copy == source {
        return;
    }
    let only_copy: Vec<&String> = copy.iter().filter(|l| !source.contains(l)).collect();
    let only_source: Vec<&String> = source.iter().filter(|l| !copy.contains(l)).collect();
    assert!(
        copy == source,
        "the copy differs: only in the copy {:?}, only in the source {:?}",
        &only_copy[..only_copy.len().min(5)],
        &only_source[..only_source.len().min(5)]
    );
}

/// `jamrs import --copy-data` of `source` into a new folder: what `progress` was told, and the
/// copied database.
fn copy_of(source: &Path, dest: &Path) -> (Vec<String>, std::path::PathBuf) {
    let mut lines = Vec::new();
    jamrs_import::import(
        source,
        dest,
        &jamrs_import::Options {
            copy_data: true,
            carry_passwords: false,
        },
        &mut |l| lines.push(l.to_string()),
    )
    .unwrap();
    (lines, dest.join("data/data.sqlite"))
}

#[test]
fn the_data_copy_keeps_every_row_rowid_and_schema_object_and_tells_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let data = source.join("data.sqlite");
    let conn = Connection::open(&data).unwrap();
    conn.execute_batch(
        r#"
        PRAGMA user_version = 7; PRAGMA application_id = 42;
        CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
        INSERT INTO seq (v) VALUES ('a'), ('b'), ('c'); DELETE FROM seq WHERE id = 3;
        CREATE TABLE gaps (v BLOB, n REAL);
        INSERT INTO gaps (rowid, v, n) VALUES (-5, x'00ff', 1.5), (7, NULL, NULL), (1000000, x'', 2e300);
        CREATE TABLE odd ("rowid" TEXT, "we""ird" INTEGER);
        INSERT INTO odd (_rowid_, "rowid", "we""ird") VALUES (9, 'x', 1), (3, 'y', 2);
        CREATE TABLE wr (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
        INSERT INTO wr VALUES ('b', 2), ('a', 1);
        CREATE TABLE big (id INTEGER PRIMARY KEY, title TEXT, amount REAL);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
          INSERT INTO big SELECT i * 2, 'row ' || i, i / 3.0 FROM n;
        CREATE INDEX big_title ON big (title);
        CREATE UNIQUE INDEX wr_v ON wr (v);
        CREATE VIEW big_view AS SELECT id, title FROM big WHERE id < 100;
        CREATE TRIGGER seq_touch AFTER INSERT ON seq BEGIN UPDATE gaps SET n = 0 WHERE rowid = 7; END;
        ANALYZE;
        PRAGMA journal_mode = WAL;
        "#,
    )
    .unwrap();
    // Rows still in the write-ahead log (the connection stays open, no checkpoint) come along.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0; INSERT INTO seq (v) VALUES ('in the log');")
        .unwrap();
    let before = dump(&data);

    let (lines, copy) = copy_of(&source, &dir.path().join("new"));
    assert_same(&dump(&copy), &before);
    assert!(before.iter().any(|l| l.contains("in the log")));
    assert!(before.iter().any(|l| l.starts_with("table sqlite_stat1")));
    // The source is as it was: the import opened it read-only.
    assert_same(&dump(&data), &before);
    drop(conn);

    // 25,011 rows: a long copy. It says what it copies, the table that holds a tenth of the
    // rows or more before it starts on it, how far it is after a table that completes a tenth,
    // and that it is done.
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let size = &lines[0][lines[0].find(" (").unwrap()..];
    assert!(size.ends_with(" MB)…"), "{lines:#?}");
    assert_eq!(
        lines,
        [
            format!("copying the data: 25,011 rows in 7 tables{size}"),
            "copying the data: table big (25,000 rows)…".to_string(),
            "copying the data: 25,011 of 25,011 rows, table big copied".to_string(),
            "copied the data: 25,011 rows in 7 tables".to_string(),
        ]
    );
}

#[test]
fn a_short_copy_says_nothing_and_one_it_cannot_do_table_by_table_is_copied_whole() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let data = source.join("data.sqlite");
    let (lines, copy) = copy_of(&source, &dir.path().join("short"));
    assert_eq!(lines, Vec::<String>::new());
    assert_same(&dump(&copy), &dump(&data));

    // A generated column and a full-text index: copied whole (VACUUM INTO), without progress
    // lines even when long.
    Connection::open(&data)
        .unwrap()
        .execute_batch(
            r#"
            CREATE TABLE gen (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
              INSERT INTO gen (a) SELECT i FROM n;
            CREATE VIRTUAL TABLE fts_notes USING fts5(body);
            INSERT INTO fts_notes (body) VALUES ('hello world');
            "#,
        )
        .unwrap();
    let (lines, copy) = copy_of(&source, &dir.path().join("whole"));
    assert_eq!(lines, Vec::<String>::new());
    assert_same(&dump(&copy), &dump(&data));
    let found: i64 = Connection::open(&copy)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM fts_notes WHERE fts_notes MATCH 'hello'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 1);
}

/// Issue 15 §3: `jamrs import-table` keys a table by its text primary key, and a table
/// without any key by SQLite's rowid.
#[test]
fn import_table_describes_text_keyed_and_keyless_tables() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("jampy");
    jampy_project(&source);
    let data = source.join("data.sqlite");
    Connection::open(&data)
        .unwrap()
        .execute_batch(r#"CREATE TABLE "LOG" ("AT" TEXT, "WHAT" TEXT);"#)
        .unwrap();
    let (item, notes) = jamrs_import::table::describe(&data, "textkey").unwrap();
    assert_eq!(item.primary_key.as_deref(), Some("guid"));
    assert!(
        notes.iter().any(|n| n.contains("text primary key")),
        "{notes:?}"
    );
    let (item, notes) = jamrs_import::table::describe(&data, "log").unwrap();
    assert_eq!(item.primary_key.as_deref(), Some("rowid"));
    assert!(notes.iter().any(|n| n.contains("rowid")), "{notes:?}");
    assert!(!item.fields.iter().any(|f| f.name == "rowid"));
}
