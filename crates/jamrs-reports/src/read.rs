//! Reading a printed sheet back, cell by cell: what a spreadsheet shows and what it computes
//! with. For checking reports (tests, and a quick look at what a report printed).

use std::io::Read;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::{Error, Result, io};

/// One cell as a spreadsheet reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SheetCell {
    /// `office:value-type` (`string`, `float`, `date`, `boolean`, …), if any.
    pub value_type: Option<String>,
    /// The typed value (`office:value`, `office:date-value`, `office:boolean-value`).
    pub value: Option<String>,
    /// The shown text; paragraphs and line breaks as `\n`.
    pub text: String,
    /// A formula, if the cell has one.
    pub formula: Option<String>,
}

/// Rows past this many repeats (LibreOffice's filler to the sheet's end) are not expanded.
const MAX_REPEAT: usize = 1000;

/// The cells of the first sheet of the `.ods` file at `path`, row by row.
pub fn cells(path: &Path) -> Result<Vec<Vec<SheetCell>>> {
    let file = std::fs::File::open(path).map_err(io)?;
    let mut zip = zip::ZipArchive::new(file).map_err(io)?;
    let mut content = String::new();
    zip.by_name("content.xml")
        .map_err(io)?
        .read_to_string(&mut content)
        .map_err(io)?;
    cells_of(&content)
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The cells of the first sheet of a `content.xml`.
pub fn cells_of(content: &str) -> Result<Vec<Vec<SheetCell>>> {
    let mut reader = Reader::from_str(content);
    let mut rows: Vec<Vec<SheetCell>> = Vec::new();
    let mut row: Option<(Vec<SheetCell>, usize)> = None;
    let mut cell: Option<(SheetCell, usize)> = None;
    let mut in_sheet = false;
    let mut paragraphs = 0;
    let mut in_annotation = 0;
    let bad = |e: quick_xml::Error| Error::Template(format!("not well-formed XML: {e}"));
    loop {
        let event = reader.read_event().map_err(bad)?;
        match event {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                b"table:table" if !in_sheet => in_sheet = true,
                b"table:table-row" if in_sheet => {
                    let n = attr(&e, "table:number-rows-repeated")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1usize);
                    row = Some((Vec::new(), n));
                }
                b"table:table-cell" | b"table:covered-table-cell" if row.is_some() => {
                    let n = attr(&e, "table:number-columns-repeated")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1usize);
                    cell = Some((start_cell(&e), n));
                    paragraphs = 0;
                }
                b"office:annotation" => in_annotation += 1,
                b"text:p" if cell.is_some() && in_annotation == 0 => {
                    if let Some((c, _)) = cell.as_mut()
                        && paragraphs > 0
                    {
                        c.text.push('\n');
                    }
                    paragraphs += 1;
                }
                _ => {}
            },
            Event::Empty(e) => match e.name().as_ref() {
                b"table:table-row" if in_sheet => {
                    let n = attr(&e, "table:number-rows-repeated")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1usize);
                    for _ in 0..n.min(MAX_REPEAT) {
                        rows.push(Vec::new());
                    }
                }
                b"table:table-cell" | b"table:covered-table-cell" => {
                    if let Some((r, _)) = row.as_mut() {
                        let n = attr(&e, "table:number-columns-repeated")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1usize);
                        let c = start_cell(&e);
                        for _ in 0..n.min(MAX_REPEAT) {
                            r.push(c.clone());
                        }
                    }
                }
                b"text:s" if in_annotation == 0 => {
                    if let Some((c, _)) = cell.as_mut() {
                        let n = attr(&e, "text:c")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1usize);
                        c.text.push_str(&" ".repeat(n.min(MAX_REPEAT)));
                    }
                }
                b"text:tab" if in_annotation == 0 => {
                    if let Some((c, _)) = cell.as_mut() {
                        c.text.push('\t');
                    }
                }
                b"text:line-break" if in_annotation == 0 => {
                    if let Some((c, _)) = cell.as_mut() {
                        c.text.push('\n');
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_annotation == 0 => {
                if let Some((c, _)) = cell.as_mut() {
                    c.text
                        .push_str(&t.decode().map_err(|e| Error::Template(e.to_string()))?);
                }
            }
            Event::GeneralRef(r) if in_annotation == 0 => {
                if let Some((c, _)) = cell.as_mut() {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    let text = r
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(String::from)
                        .or_else(|| {
                            quick_xml::escape::resolve_predefined_entity(&name).map(String::from)
                        })
                        .unwrap_or_default();
                    c.text.push_str(&text);
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"office:annotation" => in_annotation -= 1,
                b"table:table-cell" | b"table:covered-table-cell" => {
                    if let (Some((c, n)), Some((r, _))) = (cell.take(), row.as_mut()) {
                        for _ in 0..n.min(MAX_REPEAT) {
                            r.push(c.clone());
                        }
                    }
                }
                b"table:table-row" => {
                    if let Some((r, n)) = row.take() {
                        for _ in 0..n.min(MAX_REPEAT) {
                            rows.push(r.clone());
                        }
                    }
                }
                b"table:table" => break,
                _ => {}
            },
            _ => {}
        }
    }
    // Trailing empty cells and rows say nothing.
    for r in &mut rows {
        while r.last().is_some_and(|c| *c == SheetCell::default()) {
            r.pop();
        }
    }
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    Ok(rows)
}

fn start_cell(e: &BytesStart<'_>) -> SheetCell {
    SheetCell {
        value_type: attr(e, "office:value-type"),
        value: attr(e, "office:value")
            .or_else(|| attr(e, "office:date-value"))
            .or_else(|| attr(e, "office:boolean-value"))
            .or_else(|| attr(e, "office:time-value")),
        text: String::new(),
        formula: attr(e, "table:formula"),
    }
}
