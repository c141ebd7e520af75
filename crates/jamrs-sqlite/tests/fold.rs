//! `jamrs_fold`, the SQL function case-insensitive searches use, as SQLite runs it on a
//! connection jamrs opens (crates/jamrs-sqlite/src/fold.rs has the unit tests of its folding).

#![allow(clippy::unwrap_used)]

use jamrs_sqlite::conn::open;
use rusqlite::types::Value as V;

#[test]
fn the_sql_function_folds_text_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let conn = open(&dir.path().join("fold.sqlite"), false).unwrap();
    let fold_sql = |v: V| -> Option<String> {
        conn.query_row("SELECT jamrs_fold(?1)", [v], |r| r.get(0))
            .unwrap()
    };
    for s in [
        "Ärger",
        "ärger",
        "ΟΔΥΣΣΕΥΣ",
        "İstanbul",
        "Note 0001234",
        "note 0001234",
        "",
        &"Long ASCII TEXT ".repeat(20),
        &"ärger ".repeat(50),
    ] {
        assert_eq!(
            fold_sql(V::Text(s.to_string())).as_deref(),
            Some(s.to_lowercase().as_str()),
            "{s:?}"
        );
    }
    assert_eq!(fold_sql(V::Integer(-42)).as_deref(), Some("-42"));
    assert_eq!(fold_sql(V::Real(1.0)).as_deref(), Some("1.0"));
    assert_eq!(fold_sql(V::Real(2.5e-7)).as_deref(), Some("2.5e-7"));
    assert_eq!(fold_sql(V::Null), None);
    assert_eq!(fold_sql(V::Blob(vec![0x41])), None);
    // What searches do with it: "ä" finds "Ärger", "NOTE" finds "Note".
    let found: i64 = conn
        .query_row(
            "SELECT (jamrs_fold('Ärger') LIKE '%ä%') + (jamrs_fold('Note 1') LIKE 'note%')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 2);
}
