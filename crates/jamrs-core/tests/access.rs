//! Roles: what `Access::for_role` makes of a role's privileges and field restrictions (Jam.py's
//! rule that a field is prohibited when anything it shows is, followed through lookup chains,
//! master fields and calculated fields, across items, to a fixpoint), and every `[[roles]]`
//! mistake `project::load` rejects.

use std::fs;

use jamrs_core::access::{Access, Privileges};
use jamrs_core::model::Task;
use jamrs_core::project;
use tempfile::TempDir;

/// Items (file name → text) chosen so that every way of showing another field occurs:
///
/// - `artists.name` ← `albums.artist` (lookup) ← `tracks.album_artist` (2 levels) ←
///   `lines.track_artist` (3 levels, also a master field of `lines.track`);
/// - `albums.label` ← `tracks.album_label` (master field of `tracks.album`);
/// - `lines.amount` ← `orders.total` (calc); `lines.order_id` is the link of both calcs and
///   itself looks up `orders.note`, a chain that runs back into the master;
/// - `aa.via_zz` → `zz.via_mm` → `mm.secret`: `aa` is resolved before `zz` is marked, so only a
///   second round finds it.
const ITEMS: &[(&str, &str)] = &[
    (
        "artists",
        r#"
[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "country"
type = "text"
size = 50
"#,
    ),
    (
        "albums",
        r#"
[[fields]]
name = "title"
type = "text"
size = 50

[[fields]]
name = "artist"
type = "integer"
lookup = { item = "artists", field = "name" }

[[fields]]
name = "label"
type = "text"
size = 50
"#,
    ),
    (
        "tracks",
        r#"
[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "album"
type = "integer"
lookup = { item = "albums", field = "title" }

[[fields]]
name = "album_artist"
type = "integer"
lookup = { item = "albums", field = "artist", field1 = "name" }

[[fields]]
name = "album_label"
type = "integer"
lookup = { item = "albums", field = "label" }
master_field = "album"
"#,
    ),
    (
        "orders",
        r#"
details = ["lines"]

[[fields]]
name = "note"
type = "text"
size = 50

[[fields]]
name = "total"
type = "float"
calc = { item = "lines", field = "amount", link = "order_id", op = "sum" }

[[fields]]
name = "line_count"
type = "integer"
calc = { item = "lines", field = "id", link = "order_id", op = "count" }
"#,
    ),
    (
        "lines",
        r#"
master_field = "order_id"

[[fields]]
name = "order_id"
type = "integer"
lookup = { item = "orders", field = "note" }

[[fields]]
name = "track"
type = "integer"
lookup = { item = "tracks", field = "name" }

[[fields]]
name = "track_artist"
type = "integer"
lookup = { item = "tracks", field = "album", field1 = "artist", field2 = "name" }
master_field = "track"

[[fields]]
name = "amount"
type = "float"
"#,
    ),
    (
        "aa",
        r#"
[[fields]]
name = "via_zz"
type = "integer"
lookup = { item = "zz", field = "via_mm" }
"#,
    ),
    (
        "mm",
        r#"
[[fields]]
name = "secret"
type = "text"
size = 50
"#,
    ),
    (
        "zz",
        r#"
[[fields]]
name = "via_mm"
type = "integer"
lookup = { item = "mm", field = "secret" }
"#,
    ),
];

const GROUP: &str = "[[groups]]\nname = \"all\"\nitems = [\"artists\", \"albums\", \"tracks\", \"orders\", \"lines\", \"aa\", \"mm\", \"zz\"]\n";

/// A project folder with `task` as `jamrs.toml` and [`ITEMS`].
fn write(task: &str) -> TempDir {
    let dir = TempDir::new().expect("a temporary folder");
    fs::create_dir(dir.path().join("items")).expect("a writable folder");
    fs::write(dir.path().join("jamrs.toml"), task).expect("a writable folder");
    for (name, text) in ITEMS {
        fs::write(dir.path().join(format!("items/{name}.toml")), text).expect("a writable folder");
    }
    dir
}

/// The project with these `[[roles]]` entries (TOML text after the groups).
fn task_with_roles(roles: &str) -> Task {
    let dir = write(&format!("name = \"t\"\n{GROUP}{roles}"));
    project::load(dir.path()).unwrap_or_else(|e| panic!("the project does not load:\n{e}"))
}

/// The errors of loading a project whose `jamrs.toml` is `head` + groups + `roles`.
fn errors(head: &str, roles: &str) -> Vec<String> {
    let dir = write(&format!("name = \"t\"\n{head}{GROUP}{roles}"));
    match project::load(dir.path()) {
        Ok(_) => panic!("the project loaded, but its roles are wrong"),
        Err(e) => e.errors,
    }
}

/// A role `r` (id 1) with all privileges and these field rules, and its access.
fn access_with_fields(fields: &str) -> (Task, Access) {
    let task = task_with_roles(&format!(
        "[[roles]]\nid = 1\nname = \"r\"\ndefault = [\"view\", \"create\", \"edit\", \"delete\"]\nfields = {{ {fields} }}\n"
    ));
    let access = Access::for_role(&task, 0);
    (task, access)
}

/// Every `item.field` the access prohibits, sorted.
fn prohibited(task: &Task, access: &Access) -> Vec<String> {
    let mut out = Vec::new();
    for item in &task.items {
        for f in &item.fields {
            if access.is_prohibited(item.id, f.id) {
                out.push(format!("{}.{}", item.name, f.name));
            }
        }
    }
    out.sort();
    out
}

fn read_only(task: &Task, access: &Access) -> Vec<String> {
    let mut out = Vec::new();
    for item in &task.items {
        for f in &item.fields {
            if access.is_read_only(item.id, f.id) {
                out.push(format!("{}.{}", item.name, f.name));
            }
        }
    }
    out.sort();
    out
}

fn privileges(task: &Task, access: &Access, item: &str) -> Privileges {
    access.privileges(task.item_by_name(item).expect("an item").id)
}

// ---------------------------------------------------------------------------------------------
// Access::for_role

#[test]
fn nothing_restricted_means_nothing_prohibited() {
    let (task, access) = access_with_fields("");
    assert!(prohibited(&task, &access).is_empty());
    assert!(read_only(&task, &access).is_empty());
    assert_eq!(access.role, Some(0));
    let free = Access::unrestricted(&task);
    assert_eq!(free.role, None);
    for item in &task.items {
        assert_eq!(free.privileges(item.id), Privileges::ALL);
    }
}

#[test]
fn a_prohibited_field_prohibits_every_lookup_that_shows_it_at_any_level() {
    let (task, access) = access_with_fields(r#""artists.name" = "prohibited""#);
    assert_eq!(
        prohibited(&task, &access),
        [
            "albums.artist",       // shows artists.name
            "artists.name",        // itself
            "lines.track_artist",  // tracks → albums → artists.name, 3 levels
            "tracks.album_artist", // albums → artists.name, 2 levels
        ]
    );
}

#[test]
fn a_prohibited_lookup_field_prohibits_chains_through_it_and_its_master_fields() {
    let (task, access) = access_with_fields(r#""tracks.album" = "prohibited""#);
    assert_eq!(
        prohibited(&task, &access),
        [
            "lines.track_artist", // its chain steps through tracks.album
            "tracks.album",
            "tracks.album_label", // master field tracks.album
        ]
    );
    // The key of the chain's first item is not a step that shows anything of tracks.album.
    assert!(
        !access.is_prohibited(
            task.item_by_name("lines").unwrap().id,
            task.item_by_name("lines")
                .unwrap()
                .field_by_name("track")
                .unwrap()
                .id
        )
    );
}

#[test]
fn a_prohibited_lookup_text_prohibits_the_master_field_fields_showing_it() {
    let (task, access) = access_with_fields(r#""albums.label" = "prohibited""#);
    assert_eq!(
        prohibited(&task, &access),
        ["albums.label", "tracks.album_label"]
    );
}

#[test]
fn a_prohibited_aggregated_field_or_link_prohibits_the_calculated_field() {
    let (task, access) = access_with_fields(r#""lines.amount" = "prohibited""#);
    assert_eq!(
        prohibited(&task, &access),
        ["lines.amount", "orders.total"],
        "the count over lines.id stays"
    );
    // Prohibiting orders.note prohibits lines.order_id (its lookup text), which is the link of
    // both calculated fields of orders: the chain runs from orders back into orders.
    let (task, access) = access_with_fields(r#""orders.note" = "prohibited""#);
    assert_eq!(
        prohibited(&task, &access),
        [
            "lines.order_id",
            "orders.line_count",
            "orders.note",
            "orders.total"
        ]
    );
}

#[test]
fn chains_across_items_are_followed_to_a_fixpoint() {
    // `aa` comes first in the task, so one pass over the items marks zz.via_mm but not yet
    // aa.via_zz.
    let (task, access) = access_with_fields(r#""mm.secret" = "prohibited""#);
    let names: Vec<&str> = task.items.iter().map(|i| i.name.as_str()).collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("aa") < pos("zz"), "{names:?}");
    assert_eq!(
        prohibited(&task, &access),
        ["aa.via_zz", "mm.secret", "zz.via_mm"]
    );
}

#[test]
fn several_rules_combine_and_read_only_does_not_spread() {
    let (task, access) = access_with_fields(
        r#""artists.name" = "read_only", "albums.label" = "read_only", "lines.amount" = "prohibited", "orders.note" = "read_only""#,
    );
    assert_eq!(
        read_only(&task, &access),
        ["albums.label", "artists.name", "orders.note"],
        "read-only stays on the fields named"
    );
    assert_eq!(prohibited(&task, &access), ["lines.amount", "orders.total"]);
}

#[test]
fn the_primary_key_may_be_read_only() {
    let (task, access) = access_with_fields(r#""artists.id" = "read_only""#);
    assert_eq!(read_only(&task, &access), ["artists.id"]);
    assert!(prohibited(&task, &access).is_empty());
}

#[test]
fn item_privileges_replace_the_default() {
    let task = task_with_roles(
        r#"
[[roles]]
id = 7
name = "clerk"
default = ["view", "edit"]
items = { orders = ["view", "create", "edit", "delete"], lines = [], artists = ["delete"] }

[[roles]]
id = 8
name = "nobody"
"#,
    );
    let clerk = Access::for_role(&task, 0);
    let p = |view, create, edit, delete| Privileges {
        view,
        create,
        edit,
        delete,
    };
    assert_eq!(
        privileges(&task, &clerk, "albums"),
        p(true, false, true, false)
    );
    assert_eq!(privileges(&task, &clerk, "orders"), Privileges::ALL);
    assert_eq!(privileges(&task, &clerk, "lines"), Privileges::NONE);
    assert_eq!(
        privileges(&task, &clerk, "artists"),
        p(false, false, false, true)
    );
    let nobody = Access::for_role(&task, 1);
    for item in &task.items {
        assert_eq!(
            nobody.privileges(item.id),
            Privileges::NONE,
            "{}",
            item.name
        );
    }
    // The accesses the task keeps are these.
    assert_eq!(task.accesses.len(), 2);
    assert_eq!(
        task.access(Some(0)).privileges(task.items[0].id),
        clerk.privileges(task.items[0].id)
    );
    assert_eq!(task.role_index(8), Some(1));
    assert_eq!(task.roles[0].caption, "Clerk");
}

#[test]
fn privilege_names_are_jampy_words() {
    assert_eq!(
        Privileges::from_names(&["view", "delete"]),
        Ok(Privileges {
            view: true,
            create: false,
            edit: false,
            delete: true
        })
    );
    assert_eq!(Privileges::from_names::<&str>(&[]), Ok(Privileges::NONE));
    let err = Privileges::from_names(&["view", "read"]).unwrap_err();
    assert!(
        err.contains("\"read\"") && err.contains("view, create, edit, delete"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// What loading rejects

#[track_caller]
fn assert_errors(errors: &[String], expected: &[&str]) {
    for needle in expected {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("jamrs.toml: ") && e.contains(needle)),
            "no error saying {needle:?}; got {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
}

const OK_ROLE: &str = "[[roles]]\nid = 1\nname = \"admin\"\ndefault = [\"view\"]\n";

#[test]
fn unknown_items_fields_privileges_and_rules_are_named() {
    let errs = errors(
        "",
        r#"
[[roles]]
id = 1
name = "r"
default = ["view", "read"]
items = { nope = ["view"], albums = ["view", "write"] }
fields = { "gone.name" = "prohibited", "albums.nope" = "read_only", "albums.title" = "hidden", "albums" = "prohibited" }
"#,
    );
    assert_errors(
        &errs,
        &[
            "role \"r\": default: \"read\" is not a privilege",
            "role \"r\": items: there is no item \"nope\"",
            "role \"r\": items.albums: \"write\" is not a privilege",
            "role \"r\": fields: there is no item \"gone\"",
            "role \"r\": fields: item \"albums\" has no field \"nope\"",
            "role \"r\": fields.\"albums.title\": \"hidden\" is not prohibited or read_only",
            "role \"r\": fields: \"albums\" is not item.field",
        ],
    );
}

#[test]
fn the_soft_delete_flag_is_not_a_field_roles_can_name() {
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("items")).unwrap();
    fs::write(
        dir.path().join("jamrs.toml"),
        "name = \"t\"\n[[groups]]\nname = \"g\"\nitems = [\"a\"]\n[[roles]]\nid = 1\nname = \"r\"\nfields = { \"a.deleted\" = \"prohibited\" }\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("items/a.toml"),
        "soft_delete = true\n[[fields]]\nname = \"n\"\ntype = \"integer\"\n",
    )
    .unwrap();
    let errs = project::load(dir.path()).unwrap_err().errors;
    assert_errors(
        &errs,
        &["role \"r\": fields: item \"a\" has no field \"deleted\""],
    );
}

#[test]
fn role_ids_and_names_are_unique_and_names_are_identifiers() {
    let errs = errors(
        "",
        &format!(
            "{OK_ROLE}[[roles]]\nid = 1\nname = \"other\"\n[[roles]]\nid = 2\nname = \"admin\"\n[[roles]]\nid = 3\nname = \"no good\"\n"
        ),
    );
    assert_errors(
        &errs,
        &[
            "role \"other\": id 1 is used by another role",
            "role \"admin\": defined twice",
            "role name: ",
        ],
    );
}

#[test]
fn the_primary_key_cannot_be_prohibited() {
    let errs = errors(
        "",
        "[[roles]]\nid = 1\nname = \"r\"\nfields = { \"albums.id\" = \"prohibited\" }\n",
    );
    assert_errors(
        &errs,
        &["role \"r\": fields: the primary key \"albums.id\" cannot be prohibited"],
    );
}

#[test]
fn safe_mode_needs_roles() {
    let errs = errors("", "");
    assert_errors(
        &errs,
        &["safe_mode is on (the default) but no [[roles]] are defined"],
    );
    let errs = errors("safe_mode = true\n", "");
    assert_errors(&errs, &["no [[roles]] are defined"]);
    // Without safe mode, no roles is fine: nothing is restricted.
    let dir = write(&format!("name = \"t\"\nsafe_mode = false\n{GROUP}"));
    let task = project::load(dir.path()).unwrap();
    assert!(task.roles.is_empty() && task.settings.anonymous_role.is_none());
    assert!(!task.settings.safe_mode);
}

#[test]
fn anonymous_role_needs_safe_mode_off_and_an_existing_role() {
    let errs = errors("anonymous_role = \"admin\"\n", OK_ROLE);
    assert_errors(
        &errs,
        &["anonymous_role applies only when safe_mode = false"],
    );
    let errs = errors("safe_mode = false\nanonymous_role = \"guest\"\n", OK_ROLE);
    assert_errors(
        &errs,
        &["anonymous_role \"guest\" is not one of the [[roles]]"],
    );
    let dir = write(&format!(
        "name = \"t\"\nsafe_mode = false\nanonymous_role = \"guest\"\n{GROUP}{OK_ROLE}[[roles]]\nid = 5\nname = \"guest\"\n"
    ));
    let task = project::load(dir.path()).unwrap();
    assert_eq!(task.settings.anonymous_role, Some(1));
    assert_eq!(
        task.access(task.settings.anonymous_role).role,
        Some(1),
        "anonymous requests get the guest's access"
    );
}

#[test]
fn session_and_login_settings_are_checked() {
    let errs = errors(
        "session_timeout = 59\n[login]\nmax_failures = 0\n[server]\ntrusted_proxies = [\"10.0.0.1\", \"proxy.local\"]\n",
        OK_ROLE,
    );
    assert_errors(
        &errs,
        &[
            "session_timeout must be at least 60 seconds",
            "login: max_failures, max_failures_per_address and window_seconds must be at least 1",
            "server.trusted_proxies: \"proxy.local\" is not an IP address",
        ],
    );
    let dir = write(&format!("name = \"t\"\n{GROUP}{OK_ROLE}"));
    let s = project::load(dir.path()).unwrap().settings;
    assert!(s.safe_mode, "safe mode is on by default");
    assert_eq!(s.session_timeout, 8 * 3600);
    assert_eq!(
        (
            s.login.max_failures,
            s.login.max_failures_per_address,
            s.login.window_seconds
        ),
        (5, 20, 900)
    );
    assert!(!s.server.secure_cookies && s.server.trusted_proxies.is_empty());
}
