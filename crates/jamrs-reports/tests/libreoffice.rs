//! Converting a printed report with LibreOffice, checked in the PDF's text (`pdftotext`).
//!
//! Needs `soffice` (Debian: libreoffice-calc) and `pdftotext` (poppler-utils); `./dev setup`
//! and CI install them. Without them this test fails and says so, unless
//! `JAMRS_SKIP_LIBREOFFICE_TESTS=1` skips it on purpose.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use jamrs_reports::{Cell, Converter, Format, OdsWriter, Template};

/// Whether the LibreOffice tests can run here; panics with what to install otherwise.
fn libreoffice_here() -> bool {
    let missing: Vec<&str> = ["soffice", "pdftotext"]
        .into_iter()
        .filter(|p| {
            !std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("JAMRS_SKIP_LIBREOFFICE_TESTS").as_deref() == Ok("1") {
        eprintln!(
            "*** LibreOffice tests SKIPPED (JAMRS_SKIP_LIBREOFFICE_TESTS=1): PDF conversion is NOT tested ***"
        );
        return false;
    }
    panic!(
        "the PDF conversion test needs {} (apt-get install libreoffice-calc poppler-utils, or ./dev setup); set JAMRS_SKIP_LIBREOFFICE_TESTS=1 to skip it on purpose",
        missing.join(" and ")
    );
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invoice.ods")
}

#[test]
fn a_printed_report_converts_to_pdf_with_its_number_formats() {
    if !libreoffice_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ods = dir.path().join("invoice.ods");
    let template = Arc::new(Template::load(&fixture()).unwrap());
    let mut w = OdsWriter::create(&fixture(), template, &ods).unwrap();
    let values = |pairs: Vec<(&'static str, Cell)>| {
        move |name: &str| -> jamrs_reports::Result<Option<Cell>> {
            Ok(pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone()))
        }
    };
    w.print_band(
        "title",
        &mut values(vec![
            ("number", Cell::Int(42)),
            ("date", Cell::Date("2024-05-01".into())),
            ("customer", Cell::Text("Ann <&> Bob".into())),
        ]),
    )
    .unwrap();
    for (item, q, price) in [("Tea", 2, 4.5), ("Cups", 6, 1.25)] {
        w.print_band(
            "detail",
            &mut values(vec![
                ("item", Cell::Text(item.into())),
                ("quantity", Cell::Int(q)),
                ("price", Cell::Float(price)),
                ("amount", Cell::Float(price * q as f64)),
            ]),
        )
        .unwrap();
    }
    w.print_band(
        "summary",
        &mut values(vec![
            ("total", Cell::Float(1234.5)),
            ("user", Cell::Text("=1+1".into())),
        ]),
    )
    .unwrap();
    w.finish().unwrap();
    let converter = Converter::new(None, 1, Duration::from_secs(120)).unwrap();
    let pdf = converter.convert(&ods, Format::Pdf, dir.path()).unwrap();
    assert_eq!(pdf, dir.path().join("invoice.pdf"));
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    // The amounts have the template's number format (two decimals, grouping): they are numbers.
    for expected in [
        "Invoice 42 Date: 2024-05-01",
        "Customer: Ann <&> Bob",
        "Item Quantity Price Amount",
        "Tea 2 4.50 9.00",
        "Cups 6 1.25 7.50",
        "Total 1,234.50",
        "Printed by =1+1 on %(date)s",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected:?} not in {lines:#?}"
        );
    }
    // XLSX through the same pool.
    let xlsx = converter.convert(&ods, Format::Xlsx, dir.path()).unwrap();
    assert!(std::fs::metadata(&xlsx).unwrap().len() > 1000);
}
