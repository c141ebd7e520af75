//! File and image fields: upload (multipart, streamed, checked by content and size, for a
//! user who may edit the record), saving the upload's name in a record, download only through
//! a record the caller can open (another tenant's file is a 404 with its exact name), clearing
//! and replacing, cleanup of removed records' files (soft delete keeps them), and several
//! instances on one database seeing the same files (the database store).

#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, PASSWORD, TestServer, assert_error, error_fields, ok};
use serde_json::{Value, json};

const TASK: &str = r#"name = "album"

[tenancy]
column = "user_id"
STORE

[[groups]]
name = "main"
items = ["people", "docs"]

[[groups]]
name = "details"
visible = false
items = ["tickets"]

[[roles]]
id = 1
name = "admin"
all_tenants = true
default = ["view", "create", "edit", "delete"]

[[roles]]
id = 2
name = "user"
default = ["view", "create", "edit", "delete"]
fields = { "people.secret_doc" = "prohibited" }

[[roles]]
id = 3
name = "reader"
default = ["view"]
"#;

const PEOPLE: &str = r#"details = ["tickets"]

[[fields]]
name = "name"
type = "text"
size = 50

[[fields]]
name = "photo"
type = "image"
image = { view_width = 40, view_height = 40, edit_width = 200, edit_height = 160 }

[[fields]]
name = "cv"
type = "file"
accept = ".pdf, .txt"
max_size = 2000

[[fields]]
name = "secret_doc"
type = "file"

[[fields]]
name = "user_id"
type = "integer"
"#;

const DOCS: &str = r#"soft_delete = true

[[fields]]
name = "title"
type = "text"
size = 50

[[fields]]
name = "attachment"
type = "file"

[[fields]]
name = "user_id"
type = "integer"
"#;

const TICKETS: &str = r#"master_field = "person"

[[fields]]
name = "person"
type = "integer"

[[fields]]
name = "scan"
type = "file"

[[fields]]
name = "user_id"
type = "integer"
"#;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x56, 0xc7, 0x2f, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

struct World {
    server: TestServer,
    alice: Client,
    bob: Client,
    carol: Client,
}

fn world(store: &str) -> World {
    let store = match store {
        "database" => "\n[files]\nstore = \"database\"\n",
        _ => "\n[files]\nfolder = \"uploads\"\n",
    };
    let task = TASK.replace("STORE", store);
    let server = TestServer::from_files(&[
        ("jamrs.toml", &task),
        ("items/people.toml", PEOPLE),
        ("items/docs.toml", DOCS),
        ("items/tickets.toml", TICKETS),
    ]);
    server.add_user("alice", "user", None);
    server.add_user("bob", "user", None);
    server.add_user("carol", "reader", None);
    World {
        alice: server.login("alice", PASSWORD),
        bob: server.login("bob", PASSWORD),
        carol: server.login("carol", PASSWORD),
        server,
    }
}

fn upload(c: &Client, item: &str, field: &str, file_name: &str, bytes: &[u8]) -> (u16, Value) {
    c.post_multipart(
        &format!("/api/items/{item}/upload/{field}"),
        "file",
        file_name,
        bytes,
    )
}

/// Uploads and returns the value to save.
fn uploaded(c: &Client, item: &str, field: &str, file_name: &str, bytes: &[u8]) -> String {
    let (status, body) = upload(c, item, field, file_name, bytes);
    assert_eq!(status, 200, "{body}");
    body["file"]["value"].as_str().unwrap().to_string()
}

fn insert(c: &Client, item: &str, values: Value) -> i64 {
    let body = ok(c.apply(
        item,
        &json!({"changes": [{"op": "insert", "values": values}]}),
    ));
    body["changes"][0]["id"].as_i64().unwrap()
}

fn name_of(value: &str) -> &str {
    value.split('?').next().unwrap()
}

fn download(
    c: &Client,
    item: &str,
    field: &str,
    value: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    c.get_bytes(
        &format!("/api/items/{item}/files/{field}/{}", name_of(value)),
        &[],
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn upload_save_download(store: &str) {
    let w = world(store);
    let photo = uploaded(&w.alice, "people", "photo", "me.png", PNG);
    assert_eq!(photo.len(), 43, "an image's value is the stored name");
    let cv = uploaded(&w.alice, "people", "cv", "cv.pdf", PDF);
    assert_eq!(cv, format!("{}?cv.pdf", name_of(&cv)));
    // Before a record holds it, the uploader can fetch it (a form shows a fresh image).
    assert_eq!(download(&w.alice, "people", "photo", &photo).2, PNG);
    let ann = insert(
        &w.alice,
        "people",
        json!({"name": "Ann", "photo": name_of(&photo), "cv": cv}),
    );
    let row = ok(w.alice.open("people", &json!({"fields": ["photo", "cv"]})));
    assert_eq!(row["rows"][0], json!([photo, cv]));
    let (status, headers, body) = download(&w.alice, "people", "photo", &photo);
    assert_eq!((status, body.as_slice()), (200, PNG));
    assert_eq!(header(&headers, "content-type"), Some("image/png"));
    assert!(
        header(&headers, "content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    let (status, headers, body) = download(&w.alice, "people", "cv", &cv);
    assert_eq!((status, body.as_slice()), (200, PDF));
    assert_eq!(header(&headers, "content-type"), Some("application/pdf"));
    assert!(
        header(&headers, "content-disposition")
            .unwrap()
            .starts_with("attachment; filename=\"cv.pdf\""),
        "{headers:?}"
    );
    // The browser's copy is asked about each time.
    let etag = header(&headers, "etag").unwrap().to_string();
    let (status, _, _) = w.alice.get_bytes(
        &format!("/api/items/people/files/cv/{}", name_of(&cv)),
        &[("if-none-match", &etag)],
    );
    assert_eq!(status, 304);
    // A reader of the same tenant? carol is her own tenant: she cannot reach Ann's photo.
    assert_eq!(download(&w.carol, "people", "photo", &photo).0, 404);
    let _ = ann;
}

#[test]
fn an_upload_is_saved_in_a_record_and_downloaded_folder() {
    upload_save_download("folder");
}

#[test]
fn an_upload_is_saved_in_a_record_and_downloaded_database() {
    upload_save_download("database");
}

/// Another tenant's file is a 404 even with its exact name, saved or not; a prohibited field's
/// file is a 404; a name that is not one of jamrs's is a 404; without a session, a 401.
#[test]
fn files_are_reached_only_through_records_the_caller_can_open() {
    let w = world("folder");
    let photo = uploaded(&w.alice, "people", "photo", "me.png", PNG);
    assert_eq!(
        download(&w.bob, "people", "photo", &photo).0,
        404,
        "unsaved"
    );
    insert(&w.alice, "people", json!({"name": "Ann", "photo": photo}));
    assert_eq!(download(&w.bob, "people", "photo", &photo).0, 404, "saved");
    // Through another field or item with the same name: 404.
    assert_eq!(download(&w.alice, "people", "cv", &photo).0, 404);
    assert_eq!(download(&w.alice, "docs", "attachment", &photo).0, 404);
    let admin = w.server.client();
    let secret = uploaded(&admin, "people", "secret_doc", "s.txt", b"top secret");
    let id = ok(admin.apply(
        "people",
        &json!({"changes": [{"op": "insert", "values": {"name": "A", "secret_doc": secret}}]}),
    ))["changes"][0]["id"]
        .as_i64()
        .unwrap();
    // Alice's record (the tenant column is the server's: moved here by hand).
    w.server.db_execute(&format!(
        "UPDATE people SET user_id = {} WHERE id = {id}",
        w.server.user_id("alice")
    ));
    assert_eq!(download(&w.alice, "people", "photo", &photo).0, 200);
    assert_eq!(
        download(&w.alice, "people", "secret_doc", &secret).0,
        404,
        "prohibited"
    );
    assert_eq!(download(&admin, "people", "secret_doc", &secret).0, 200);
    for bad in [
        "../../jamrs.toml",
        "..%2F..%2Fjamrs.toml",
        "x",
        &"A".repeat(43),
    ] {
        assert_eq!(
            w.alice
                .get_bytes(&format!("/api/items/people/files/photo/{bad}"), &[])
                .0,
            404,
            "{bad}"
        );
    }
    assert_eq!(
        download(&w.server.anonymous(), "people", "photo", &photo).0,
        401
    );
}

/// Saving a name: only an upload of this field by this user in this tenant, held by no other
/// record; anything else is a 422 on the field, and nothing changes.
#[test]
fn a_record_takes_only_its_users_upload_for_that_field() {
    let w = world("folder");
    let bobs = uploaded(&w.bob, "people", "photo", "b.png", PNG);
    let mine_cv = uploaded(&w.alice, "people", "cv", "c.txt", b"plain text");
    let used = uploaded(&w.alice, "people", "photo", "a.png", PNG);
    insert(&w.alice, "people", json!({"name": "first", "photo": used}));
    let before = w.server.db_snapshot();
    for photo in [
        json!(bobs),
        json!(mine_cv),
        json!(used),
        json!("../../etc/passwd"),
        json!("A".repeat(43)),
    ] {
        let reply = w.alice.apply(
            "people",
            &json!({"changes": [{"op": "insert", "values": {"name": "x", "photo": photo}}]}),
        );
        let err = assert_error(&reply, 422, "validation");
        assert_eq!(error_fields(&err), ["changes[0].photo"], "{photo}");
        assert_eq!(w.server.db_snapshot(), before);
    }
}

/// What an upload may be: content the field accepts (by its bytes, not its name), at most its
/// max_size, one part named file, not empty; the role may create or edit and write the field.
#[test]
fn uploads_are_checked() {
    let w = world("folder");
    let files_before = w.server.db_int("SELECT COUNT(*) FROM jamrs_files");
    // A PDF named .png, an SVG, text into an image field: refused by content.
    for (name, bytes) in [
        ("x.png", PDF),
        (
            "x.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".as_slice(),
        ),
        ("x.png", b"just text".as_slice()),
    ] {
        let err = assert_error(
            &upload(&w.alice, "people", "photo", name, bytes),
            415,
            "bad_request",
        );
        assert_eq!(error_fields(&err), ["file"]);
    }
    // cv takes .pdf and .txt: a PNG named cv.pdf and a PDF named cv.exe are refused.
    assert_error(
        &upload(&w.alice, "people", "cv", "cv.pdf", PNG),
        415,
        "bad_request",
    );
    assert_error(
        &upload(&w.alice, "people", "cv", "cv.exe", PDF),
        415,
        "bad_request",
    );
    uploaded(&w.alice, "people", "cv", "CV.PDF", PDF);
    // Larger than max_size (2000 bytes).
    let big = vec![b'a'; 2001];
    let err = assert_error(
        &upload(&w.alice, "people", "cv", "big.txt", &big),
        413,
        "bad_request",
    );
    assert!(
        err["message"].as_str().unwrap().contains("2000 bytes"),
        "{err}"
    );
    assert_error(
        &upload(&w.alice, "people", "cv", "empty.txt", b""),
        400,
        "bad_request",
    );
    assert_error(
        &w.alice
            .post_multipart("/api/items/people/upload/cv", "other", "a.txt", b"x"),
        400,
        "bad_request",
    );
    assert_error(
        &w.alice.post_json("/api/items/people/upload/cv", &json!({})),
        415,
        "bad_request",
    );
    // Who and where: a reader may not; a field that is not a file, a prohibited one, an
    // unknown item; another tenant's record; no session.
    assert_error(
        &upload(&w.carol, "people", "cv", "a.txt", b"x"),
        403,
        "forbidden",
    );
    assert_error(
        &upload(&w.alice, "people", "name", "a.txt", b"x"),
        404,
        "not_found",
    );
    assert_error(
        &upload(&w.alice, "people", "secret_doc", "a.txt", b"x"),
        404,
        "not_found",
    );
    assert_error(
        &upload(&w.alice, "nope", "cv", "a.txt", b"x"),
        404,
        "not_found",
    );
    let bobs = insert(&w.bob, "people", json!({"name": "Bo"}));
    assert_error(
        &w.alice.post_multipart(
            &format!("/api/items/people/upload/cv?id={bobs}"),
            "file",
            "a.txt",
            b"x",
        ),
        404,
        "not_found",
    );
    assert_error(
        &w.alice
            .post_multipart("/api/items/people/upload/cv?id=x", "file", "a.txt", b"x"),
        400,
        "bad_request",
    );
    assert_error(
        &upload(&w.server.anonymous(), "people", "cv", "a.txt", b"x"),
        401,
        "unauthorized",
    );
    assert_eq!(
        w.server.db_int("SELECT COUNT(*) FROM jamrs_files"),
        files_before + 1,
        "only the good upload left a row"
    );
    let mine = insert(&w.alice, "people", json!({"name": "Ann"}));
    ok(w.alice.post_multipart(
        &format!("/api/items/people/upload/cv?id={mine}"),
        "file",
        "a.txt",
        b"x",
    ));
}

/// Replacing or clearing a file removes the old one (its row at once; a folder's file when the
/// sweeper next runs: here, when another instance starts); deleting a record removes its
/// files and its details' files; a soft-deleted record keeps them.
#[test]
fn replaced_cleared_and_deleted_files_are_removed() {
    let w = world("folder");
    let folder = w.server.project().join("uploads");
    let first = uploaded(&w.alice, "people", "photo", "1.png", PNG);
    let ann = insert(&w.alice, "people", json!({"name": "Ann", "photo": first}));
    let second = uploaded(&w.alice, "people", "photo", "2.png", PNG);
    ok(w.alice.apply(
        "people",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"photo": second}}]}),
    ));
    assert_eq!(download(&w.alice, "people", "photo", &first).0, 404);
    assert_eq!(download(&w.alice, "people", "photo", &second).0, 200);
    // Saving the same value again keeps the file.
    ok(w.alice.apply(
        "people",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"photo": second, "name": "Ann B"}}]}),
    ));
    assert_eq!(download(&w.alice, "people", "photo", &second).0, 200);
    ok(w.alice.apply(
        "people",
        &json!({"changes": [{"op": "update", "id": ann, "values": {"photo": null}}]}),
    ));
    assert_eq!(download(&w.alice, "people", "photo", &second).0, 404);

    let scan = uploaded(&w.alice, "tickets", "scan", "t.txt", b"ticket");
    let cv = uploaded(&w.alice, "people", "cv", "cv.txt", b"cv");
    let bo = ok(w.alice.apply(
        "people",
        &json!({"changes": [{"op": "insert", "values": {"name": "Bo", "cv": cv},
            "details": {"tickets": [{"op": "insert", "values": {"scan": scan}}]}}]}),
    ))["changes"][0]["id"]
        .as_i64()
        .unwrap();
    let ticket = w.server.db_int("SELECT id FROM tickets");
    assert_eq!(
        w.alice
            .get_bytes(
                &format!("/api/items/tickets/files/scan/{}", name_of(&scan)),
                &[]
            )
            .2,
        b"ticket"
    );
    ok(w.alice
        .apply("people", &json!({"changes": [{"op": "delete", "id": bo}]})));
    assert_eq!(
        w.server
            .db_int("SELECT COUNT(*) FROM jamrs_files WHERE record_id IS NOT NULL"),
        0,
        "the person's and the ticket {ticket}'s files are gone"
    );

    let doc_file = uploaded(&w.alice, "docs", "attachment", "d.txt", b"doc");
    let doc = insert(
        &w.alice,
        "docs",
        json!({"title": "kept", "attachment": doc_file}),
    );
    ok(w.alice
        .apply("docs", &json!({"changes": [{"op": "delete", "id": doc}]})));
    assert_eq!(
        w.server.db_int(&format!(
            "SELECT COUNT(*) FROM jamrs_files WHERE record_id = {doc} AND item = 'docs'"
        )),
        1,
        "soft delete keeps the file"
    );
    // The folder still has the removed files until a sweep; another instance sweeps at start.
    let on_disk = || std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(on_disk(), 5);
    let other = w.server.another_instance();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while on_disk() != 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(on_disk(), 1, "only the soft-deleted doc's file is left");
    drop(other);
}

/// Several instances on one database see the same files with the database store: a file
/// uploaded through one is saved and downloaded through the other.
#[test]
fn instances_on_one_database_share_the_database_store() {
    let w = world("database");
    let other = w.server.another_instance();
    let alice_there = other.client(&w.alice);
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let admin = w.server.client();
    let value = uploaded(&admin, "people", "secret_doc", "blob.bin", &big);
    let id = ok(other.client(&admin).apply(
        "people",
        &json!({"changes": [{"op": "insert", "values": {"name": "x", "secret_doc": value}}]}),
    ));
    assert_eq!(id["changes"][0]["values"]["secret_doc"], json!(value));
    let (status, headers, body) = other.client(&admin).get_bytes(
        &format!("/api/items/people/files/secret_doc/{}", name_of(&value)),
        &[],
    );
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/octet-stream")
    );
    assert!(body == big, "{} bytes back", body.len());
    assert!(w.server.db_int("SELECT COUNT(*) FROM jamrs_file_chunks") >= 4);
    let photo = uploaded(&alice_there, "people", "photo", "p.png", PNG);
    insert(&w.alice, "people", json!({"name": "Ann", "photo": photo}));
    assert_eq!(download(&w.alice, "people", "photo", &photo).2, PNG);
    assert!(
        !w.server.project().join("files").exists(),
        "no folder for the database store"
    );
}

/// `[files]` and the field settings are checked when the project loads.
#[test]
fn file_settings_are_checked_at_load() {
    for (task_extra, field, expected) in [
        (
            "",
            "accept = \".exe\"",
            "cannot tell this type by its content",
        ),
        ("", "accept = \"application/pdf\"", "is not image/*"),
        (
            "",
            "max_size = 20000000",
            "max_size must be between 1 and the project's files.max_size",
        ),
        (
            "\n[files]\nfolder = \"../outside\"\n",
            "",
            "is not a folder inside the project",
        ),
        ("\n[files]\nstore = \"s3\"\n", "", "files.store: \"s3\""),
        (
            "\n[files]\nmax_size = 0\n",
            "",
            "files.max_size must be between",
        ),
    ] {
        let task = TASK.replace("STORE", task_extra);
        let people = if field.starts_with("max_size") {
            PEOPLE.replace("max_size = 2000", field)
        } else if field.is_empty() {
            PEOPLE.to_string()
        } else {
            PEOPLE.replace("accept = \".pdf, .txt\"", field)
        };
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in [
            ("jamrs.toml", task.as_str()),
            ("items/people.toml", people.as_str()),
            ("items/docs.toml", DOCS),
            ("items/tickets.toml", TICKETS),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let err = jamrs_core::project::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}
