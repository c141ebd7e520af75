//! `[tenancy]` in the project format: what loading makes of it.
#![allow(clippy::unwrap_used)]

use std::fs;

use jamrs_core::project;

fn load(task: &str, items: &[(&str, &str)]) -> Result<jamrs_core::Task, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("items")).unwrap();
    fs::write(dir.path().join("jamrs.toml"), task).unwrap();
    for (name, text) in items {
        fs::write(dir.path().join(format!("items/{name}.toml")), text).unwrap();
    }
    project::load(dir.path()).map_err(|e| e.errors)
}

const TASK: &str = "name = \"t\"\nsafe_mode = false\n\n[tenancy]\ncolumn = \"user_id\"\n\n[[groups]]\nname = \"g\"\nitems = [\"notes\", \"tags\"]\n";
const NOTES: &str = "soft_delete = true\n\n[[fields]]\nname = \"title\"\ntype = \"text\"\nsize = 50\n\n[[fields]]\nname = \"user_id\"\ntype = \"integer\"\n";
const TAGS: &str = "[[fields]]\nname = \"name\"\ntype = \"text\"\nsize = 50\n";

#[test]
fn covered_items_get_an_index_leading_with_the_tenant_column() {
    let task = load(TASK, &[("notes", NOTES), ("tags", TAGS)]).unwrap();
    let notes = task.item_by_name("notes").unwrap();
    let tenant = notes.tenant_field.unwrap();
    let ix: Vec<_> = notes
        .indexes
        .iter()
        .filter(|i| i.name.as_str() == "notes_tenant_idx")
        .collect();
    assert_eq!(ix.len(), 1, "{:?}", notes.indexes);
    let fields: Vec<_> = ix[0].fields.iter().map(|o| o.field).collect();
    assert_eq!(fields, vec![tenant, notes.deleted_flag.unwrap()]);
    assert!(
        notes.field(tenant).read_only,
        "clients never write the tenant column"
    );
    assert!(notes.is_server_set(tenant));
    // Items without the column are not covered and get nothing.
    let tags = task.item_by_name("tags").unwrap();
    assert!(tags.tenant_field.is_none() && tags.indexes.is_empty());
}

#[test]
fn an_index_the_item_declares_on_the_tenant_column_is_kept_instead() {
    let notes = format!("{NOTES}\n[[indexes]]\nfields = [\"user_id\", \"-title\"]\n");
    let task = load(TASK, &[("notes", &notes), ("tags", TAGS)]).unwrap();
    let names: Vec<_> = task
        .item_by_name("notes")
        .unwrap()
        .indexes
        .iter()
        .map(|i| i.name.to_string())
        .collect();
    assert_eq!(names, vec!["notes_user_id_title_idx"]);
}
