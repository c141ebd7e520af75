//! Open filters over real HTTP on the demo: every filter type by number and by name (1–15 and
//! the lookup-text variants 16–30), lookup lists, master fields, three-level lookups, OR
//! groups, and injection attempts through filter values. Data: `common::seed_demo`.

mod common;

use common::{assert_error, demo, error_fields, ids};
use serde_json::{Value, json};

/// Runs `[field, op, value]` on tracks with `op` as Jam.py's number and as its name, with and
/// without `expanded`, and expects the same ids each time.
#[track_caller]
fn check(c: &common::Client, item: &str, cases: &[(&str, i64, &str, Value, &[i64])]) {
    for (field, number, name, value, expected) in cases {
        for op in [json!(number), json!(name), json!(name.to_uppercase())] {
            for expanded in [false, true] {
                let params = json!({"filters": [[field, op, value]], "expanded": expanded});
                let got = ids(c, item, params);
                assert_eq!(
                    got, *expected,
                    "{item}: [{field}, {op}, {value}] expanded={expanded}"
                );
            }
        }
    }
}

#[test]
fn filter_types_1_to_15() {
    let (_server, c) = demo();
    // milliseconds: 1→205662, 2→342562, 3→230619, 4→252051, 5→null; 6 (deleted)→321828.
    let cases: &[(&str, i64, &str, Value, &[i64])] = &[
        ("milliseconds", 1, "eq", json!(230619), &[3]),
        ("milliseconds", 2, "ne", json!(230619), &[1, 2, 4, 5]),
        ("milliseconds", 3, "lt", json!(240000), &[1, 3]),
        ("milliseconds", 4, "le", json!(230619), &[1, 3]),
        ("milliseconds", 5, "gt", json!(252051), &[2]),
        ("milliseconds", 6, "ge", json!(252051), &[2, 4]),
        (
            "milliseconds",
            7,
            "in",
            json!([205662, 342562, 321828]),
            &[1, 2],
        ),
        ("milliseconds", 8, "not_in", json!([205662]), &[2, 3, 4]),
        ("milliseconds", 9, "range", json!([230000, 260000]), &[3, 4]),
        ("milliseconds", 10, "isnull", json!(true), &[5]),
        ("milliseconds", 10, "isnull", json!(false), &[1, 2, 3, 4]),
        ("name", 11, "exact", json!("Fast As a Shark"), &[3]),
        ("name", 12, "contains", json!("THE"), &[1, 2]),
        ("name", 13, "startwith", json!("re"), &[4]),
        ("name", 14, "endwith", json!("water"), &[5]),
        (
            "composer",
            15,
            "contains_all",
            json!("kaufman baltes"),
            &[3, 4],
        ),
        ("composer", 15, "contains_all", json!("young tyler"), &[]),
        ("unitprice", 5, "gt", json!(1), &[5]),
        ("genre", 7, "in", json!([2, 3]), &[2, 3, 5]),
    ];
    check(&c, "tracks", cases);
    // Dates and booleans (invoice 3, the paid one, is deleted).
    let cases: &[(&str, i64, &str, Value, &[i64])] = &[
        ("invoice_date", 6, "ge", json!("2021-01-15"), &[2]),
        (
            "invoice_date",
            9,
            "range",
            json!(["2021-01-01", "2021-01-31"]),
            &[1],
        ),
        ("paid", 1, "eq", json!(false), &[1, 2]),
        ("paid", 1, "eq", json!(true), &[]),
    ];
    check(&c, "invoices", cases);
}

#[test]
fn lookup_filter_types_16_to_30_compare_the_lookup_text() {
    let (_server, c) = demo();
    // Album titles: 1 For Those About To Rock, 2 Balls to the Wall, 3 Restless and Wild
    // (tracks 3, 4), 4 Big Ones (track 5).
    let cases: &[(&str, i64, &str, Value, &[i64])] = &[
        ("album", 16, "eq_l", json!("Big Ones"), &[5]),
        ("album", 17, "ne_l", json!("Big Ones"), &[1, 2, 3, 4]),
        ("album", 18, "lt_l", json!("C"), &[2, 5]),
        ("album", 19, "le_l", json!("Balls to the Wall"), &[2]),
        ("album", 20, "gt_l", json!("Q"), &[3, 4]),
        (
            "album",
            21,
            "ge_l",
            json!("For Those About To Rock"),
            &[1, 3, 4],
        ),
        (
            "album",
            22,
            "in_l",
            json!(["Big Ones", "Balls to the Wall"]),
            &[2, 5],
        ),
        (
            "album",
            23,
            "not_in_l",
            json!(["Restless and Wild"]),
            &[1, 2, 5],
        ),
        ("album", 24, "range_l", json!(["B", "C"]), &[2, 5]),
        ("genre", 25, "isnull_l", json!(true), &[4]),
        ("genre", 25, "isnull_l", json!(false), &[1, 2, 3, 5]),
        ("album", 26, "exact_l", json!("Big Ones"), &[5]),
        ("album", 27, "contains_l", json!("WALL"), &[2]),
        ("album", 28, "startwith_l", json!("rest"), &[3, 4]),
        ("album", 29, "endwith_l", json!("rock"), &[1]),
        ("album", 30, "contains_all_l", json!("to rock"), &[1]),
        // A LIKE type on a lookup field searches its text, as in Jam.py.
        ("album", 12, "contains", json!("wall"), &[2]),
        // A master field: its value is its lookup field's (the album), its text two levels away.
        ("artist", 27, "contains_l", json!("acc"), &[2, 3, 4]),
        ("artist", 16, "eq_l", json!("AC/DC"), &[1]),
        ("artist", 1, "eq", json!(3), &[3, 4]),
        // A lookup list: LIKE types match the texts of the list's values (2, 4, 5 are AAC).
        ("media_type", 12, "contains", json!("aac"), &[2, 3, 4]),
        ("media_type", 13, "startwith", json!("mpeg"), &[1, 5]),
        ("media_type", 1, "eq", json!(2), &[2, 3]),
    ];
    check(&c, "tracks", cases);
}

#[test]
fn three_level_lookup_filters_on_detail_rows() {
    let (_server, c) = demo();
    // Invoice 2 has lines 3 (track 3, Accept) and 4 (track 5, Aerosmith).
    for (filter, expected) in [
        (json!(["artist", "contains_l", "aero"]), vec![4]),
        (json!(["artist", 29, "CEPT"]), vec![3]),
        (json!(["album", "eq_l", "Big Ones"]), vec![4]),
        (json!(["track", "startwith", "fast"]), vec![3]),
    ] {
        let got = ids(
            &c,
            "invoice_table",
            json!({"master": {"item": "invoices", "id": 2}, "filters": [filter]}),
        );
        assert_eq!(got, expected, "{filter}");
    }
}

#[test]
fn or_groups() {
    let (_server, c) = demo();
    for (filters, expected) in [
        // (name contains wall) OR (milliseconds = 230619)
        (
            json!([[
                [["name", "contains", "wall"]],
                [["milliseconds", 1, 230619]]
            ]]),
            vec![2, 3],
        ),
        // (album = 3 AND milliseconds > 240000) OR genre = 3
        (
            json!([[
                [["album", 1, 3], ["milliseconds", "gt", 240000]],
                [["genre", 1, 3]]
            ]]),
            vec![4, 5],
        ),
        // (album = 3 OR album = 4) AND unitprice < 1
        (
            json!([
                [[["album", 1, 3]], [["album", 1, 4]]],
                ["unitprice", "lt", 1]
            ]),
            vec![3, 4],
        ),
        // Nested: name contains shark OR (genre = 1 OR album text ends with ones)
        (
            json!([[
                [["name", 12, "shark"]],
                [[[["genre", 1, 1]], [["album", 29, "ones"]]]]
            ]]),
            vec![1, 3, 5],
        ),
        // The client's 4th marker element means nothing to the server.
        (json!([["name", "contains", "wall", -1]]), vec![2]),
    ] {
        assert_eq!(
            ids(&c, "tracks", json!({"filters": filters})),
            expected,
            "{filters}"
        );
    }
}

/// Reference §7.1: the IN-list injection that returned every row in Jam.py.
#[test]
fn injection_through_filter_values_is_harmless() {
    let (server, c) = demo();
    let before = server.db_snapshot();
    for filter in [
        json!(["name", 7, ["0) OR 1=1 --"]]),
        json!(["name", "not_in", ["0) OR 1=1 --"]]),
        json!(["album", 22, ["0) OR 1=1 --"]]),
        json!(["name", "eq", "x' OR '1'='1"]),
        json!(["name", "contains", "%"]),
        json!(["name", "contains", "_"]),
        json!(["name", "startwith", "' OR 1=1 --"]),
        json!(["name", "contains_all", "%' OR 1=1 -- x"]),
    ] {
        let got = ids(&c, "tracks", json!({"filters": [filter]}));
        let all = filter[1] == "not_in";
        assert_eq!(
            got,
            if all { vec![1, 2, 3, 4, 5] } else { vec![] },
            "{filter}"
        );
    }
    // Where the value must be an integer, the injection is a type error.
    for filter in [
        json!(["album", 7, ["0) OR 1=1 --"]]),
        json!(["id", "eq", "0 OR 1=1"]),
    ] {
        let err = assert_error(
            &c.open("tracks", &json!({"filters": [filter]})),
            400,
            "bad_request",
        );
        assert_eq!(error_fields(&err), ["filters[0]"], "{filter}");
    }
    assert_eq!(server.db_snapshot(), before);
}
