//! docs/reports.md quotes `examples/reports` (the worked example `reports.rs` runs): every file
//! it quotes whole is the example's file, every part it quotes (each paragraph) is in the file,
//! and the table that shows the invoice template is the template's first sheet.

#![allow(clippy::unwrap_used)]

use std::path::Path;

const DOC: &str = "docs/reports.md";

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The fenced code blocks of the document: (first line, the rest).
fn blocks(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```") || line.len() == 3 {
            continue;
        }
        let mut body: Vec<&str> = Vec::new();
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
            body.push(l);
        }
        if let Some((first, rest)) = body.split_first() {
            out.push((first.to_string(), rest.join("\n") + "\n"));
        }
    }
    out
}

#[test]
fn the_files_the_document_quotes_are_the_examples() {
    let doc = std::fs::read_to_string(root().join(DOC)).unwrap();
    let mut checked = 0;
    for (first, body) in blocks(&doc) {
        let Some(path) = first
            .strip_prefix("# examples/reports/")
            .map(|p| p.trim_end_matches(" (part)"))
        else {
            continue;
        };
        let file = std::fs::read_to_string(root().join("examples/reports").join(path))
            .unwrap_or_else(|e| panic!("{DOC} quotes examples/reports/{path}: {e}"));
        if first.ends_with(" (part)") {
            // Parts, each a paragraph of the file.
            for part in body.split("\n\n") {
                assert!(
                    file.contains(part.trim_end()),
                    "{DOC}: a part of examples/reports/{path} it quotes is not in the file:\n{part}"
                );
            }
        } else {
            assert_eq!(body, file, "{DOC} quotes examples/reports/{path}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} quoted files found in {DOC}");
}

#[test]
fn the_template_table_is_the_invoice_template() {
    let doc = std::fs::read_to_string(root().join(DOC)).unwrap();
    let start = doc.find("| | A | B | C | D | E |").unwrap();
    let table: Vec<Vec<String>> = doc[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .skip(1)
                .map(|c| c.trim().trim_matches('*').to_string())
                .collect()
        })
        .collect();
    let cells =
        jamrs_reports::read::cells(&root().join("examples/reports/reports/invoice.ods")).unwrap();
    let sheet: Vec<Vec<String>> = cells
        .iter()
        .map(|r| {
            let mut texts: Vec<String> = r.iter().map(|c| c.text.clone()).collect();
            texts.resize(5, String::new());
            texts
        })
        .collect();
    assert_eq!(table, sheet);
}
