//! CSV and XLSX export files, read back.

#![allow(clippy::unwrap_used)]

use std::io::Read;

use jamrs_reports::Cell;
use jamrs_reports::export::{ExportFormat, writer};

fn rows() -> Vec<Vec<Cell>> {
    vec![
        vec![
            Cell::Int(1),
            Cell::Text("Tea, green".into()),
            Cell::Float(4.5),
            Cell::Bool(true),
            Cell::Date("2024-05-01".into()),
        ],
        vec![
            Cell::Int(2),
            Cell::Text("=HYPERLINK(\"http://evil.example\",\"x\")".into()),
            Cell::Float(-1.25),
            Cell::Empty,
            Cell::DateTime("2024-05-01T10:30:00".into()),
        ],
    ]
}

fn titles() -> Vec<String> {
    ["Id", "Name", "Price", "Paid", "Date"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn csv_is_rfc_4180_with_formulas_defused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    let mut w = writer(ExportFormat::Csv, &path, dir.path()).unwrap();
    w.header(&titles()).unwrap();
    for r in rows() {
        w.row(&r).unwrap();
    }
    w.finish().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "\u{feff}Id,Name,Price,Paid,Date\r\n1,\"Tea, green\",4.5,true,2024-05-01\r\n2,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",-1.25,,2024-05-01T10:30:00\r\n"
    );
}

#[test]
fn xlsx_cells_are_typed_and_never_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.xlsx");
    let mut w = writer(ExportFormat::Xlsx, &path, dir.path()).unwrap();
    w.header(&titles()).unwrap();
    for r in rows() {
        w.row(&r).unwrap();
    }
    w.finish().unwrap();
    let mut sheet = String::new();
    zip::ZipArchive::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    assert!(!sheet.contains("<f>"), "{sheet}");
    assert_eq!(sheet.matches("<row ").count(), 3, "{sheet}");
    // The formula text is a string cell.
    assert!(
        sheet.contains("t=\"inlineStr\"><is><t>=HYPERLINK(\"http://evil.example\",\"x\")</t>"),
        "{sheet}"
    );
    // Numbers, a boolean, dates as Excel serials.
    assert!(
        sheet.contains("<v>4.5</v>") && sheet.contains("<v>-1.25</v>"),
        "{sheet}"
    );
    assert!(sheet.contains("t=\"b\""), "{sheet}");
    assert!(sheet.contains("<v>45413</v>"), "{sheet}");
    assert!(sheet.contains("<v>45413.4375</v>"), "{sheet}");
    // Temporary files are gone once the workbook is saved.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("x.xlsx")]);
}
