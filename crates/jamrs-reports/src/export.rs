//! Rows out to a spreadsheet: CSV (RFC 4180) and XLSX, one row at a time, in bounded memory.
//!
//! Neither format lets a value become a formula: XLSX cells are typed (text is written as a
//! string cell, never parsed), and in CSV, which a spreadsheet parses, text that starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice for CSV
//! injection); numbers are written as numbers.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};

use crate::cell::{Cell, float_text, is_date, is_datetime};
use crate::{Error, Result, io};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Csv, ExportFormat::Xlsx];

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    pub fn parse(name: &str) -> Option<ExportFormat> {
        ExportFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// The most data rows a file of this format holds (XLSX: a sheet's 1,048,576 rows, one of
    /// them the header).
    pub fn max_rows(self) -> u64 {
        match self {
            ExportFormat::Csv => u64::MAX,
            ExportFormat::Xlsx => 1_048_575,
        }
    }
}

/// Where rows go.
pub trait RowWriter {
    /// The column titles; called once, first.
    fn header(&mut self, titles: &[String]) -> Result<()>;
    fn row(&mut self, cells: &[Cell]) -> Result<()>;
    /// Completes the file.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A writer of `format` into the file `path` (temporary files of an XLSX go to `tmp`).
pub fn writer(format: ExportFormat, path: &Path, tmp: &Path) -> Result<Box<dyn RowWriter>> {
    Ok(match format {
        ExportFormat::Csv => Box::new(CsvWriter::create(path)?),
        ExportFormat::Xlsx => Box::new(XlsxWriter::create(path, tmp)?),
    })
}

/// CSV: UTF-8 with a byte-order mark (so spreadsheets read it as UTF-8), comma-separated,
/// CRLF line ends, fields quoted when they need it.
pub struct CsvWriter {
    out: BufWriter<File>,
    line: String,
}

impl CsvWriter {
    pub fn create(path: &Path) -> Result<CsvWriter> {
        let mut out = BufWriter::with_capacity(64 << 10, File::create(path).map_err(io)?);
        out.write_all("\u{feff}".as_bytes()).map_err(io)?;
        Ok(CsvWriter {
            out,
            line: String::new(),
        })
    }

    fn write_line(&mut self) -> Result<()> {
        self.line.push_str("\r\n");
        self.out.write_all(self.line.as_bytes()).map_err(io)?;
        self.line.clear();
        Ok(())
    }
}

/// Appends one CSV field.
pub fn push_csv_field(line: &mut String, cell: &Cell) {
    match cell {
        Cell::Empty => {}
        Cell::Int(i) => line.push_str(&i.to_string()),
        Cell::Float(f) if f.is_finite() => line.push_str(&float_text(*f)),
        Cell::Float(_) => {}
        Cell::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
        Cell::Date(d) | Cell::DateTime(d) => line.push_str(d),
        Cell::Text(t) => push_csv_text(line, t),
    }
}

fn push_csv_text(line: &mut String, text: &str) {
    let guard = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = guard
        || text.chars().any(|c| matches!(c, ',' | '"' | '\n' | '\r'))
        || text.starts_with(' ')
        || text.ends_with(' ');
    if quote {
        line.push('"');
    }
    if guard {
        line.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    if quote {
        line.push('"');
    }
}

impl RowWriter for CsvWriter {
    fn header(&mut self, titles: &[String]) -> Result<()> {
        let cells: Vec<Cell> = titles.iter().map(|t| Cell::Text(t.clone())).collect();
        self.row(&cells)
    }

    fn row(&mut self, cells: &[Cell]) -> Result<()> {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            push_csv_field(&mut self.line, c);
        }
        self.write_line()
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.out.flush().map_err(io)
    }
}

/// The most characters Excel keeps in a cell.
const XLSX_MAX_TEXT: usize = 32_767;

/// XLSX in rust_xlsxwriter's constant-memory mode: each row goes to a temporary file as it
/// is written, and the workbook is zipped at the end.
pub struct XlsxWriter {
    workbook: Workbook,
    path: PathBuf,
    row: u32,
    header: XlsxFormat,
    date: XlsxFormat,
    datetime: XlsxFormat,
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Io(format!("cannot write the XLSX file: {e}"))
}

impl XlsxWriter {
    pub fn create(path: &Path, tmp: &Path) -> Result<XlsxWriter> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(tmp).map_err(xlsx_err)?;
        workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_err)?;
        Ok(XlsxWriter {
            workbook,
            path: path.to_path_buf(),
            row: 0,
            header: XlsxFormat::new().set_bold(),
            date: XlsxFormat::new().set_num_format("yyyy-mm-dd"),
            datetime: XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        })
    }
}

impl RowWriter for XlsxWriter {
    fn header(&mut self, titles: &[String]) -> Result<()> {
        let format = self.header.clone();
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_err)?;
        for (col, t) in titles.iter().enumerate() {
            sheet
                .write_string_with_format(self.row, col as u16, clip(t), &format)
                .map_err(xlsx_err)?;
        }
        self.row += 1;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<()> {
        if u64::from(self.row) > ExportFormat::Xlsx.max_rows() {
            return Err(Error::Report(format!(
                "an XLSX sheet holds at most {} rows; export CSV, or fewer rows",
                ExportFormat::Xlsx.max_rows()
            )));
        }
        let (date, datetime) = (self.date.clone(), self.datetime.clone());
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_err)?;
        let row = self.row;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(t) => {
                    sheet.write_string(row, col, clip(t)).map_err(xlsx_err)?;
                }
                Cell::Int(i) => {
                    sheet.write_number(row, col, *i as f64).map_err(xlsx_err)?;
                }
                Cell::Float(f) if f.is_finite() => {
                    sheet.write_number(row, col, *f).map_err(xlsx_err)?;
                }
                Cell::Float(_) => {}
                Cell::Bool(b) => {
                    sheet.write_boolean(row, col, *b).map_err(xlsx_err)?;
                }
                Cell::Date(d) | Cell::DateTime(d) => {
                    let format = if matches!(cell, Cell::Date(_)) {
                        &date
                    } else {
                        &datetime
                    };
                    match excel_datetime(d) {
                        Some(dt) => sheet
                            .write_datetime_with_format(row, col, &dt, format)
                            .map_err(xlsx_err)?,
                        None => sheet.write_string(row, col, clip(d)).map_err(xlsx_err)?,
                    };
                }
            }
        }
        self.row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let path = self.path.clone();
        self.workbook.save(&path).map_err(xlsx_err)
    }
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(XLSX_MAX_TEXT) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// A date (`YYYY-MM-DD`) or date and time as Excel's serial date; `None` for a value Excel
/// cannot hold (before 1900), which is then written as text.
fn excel_datetime(text: &str) -> Option<ExcelDateTime> {
    if !(is_date(text) || is_datetime(text)) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    let year = n(0..4)?;
    if year < 1900 {
        return None;
    }
    let date = ExcelDateTime::from_ymd(year as u16, n(5..7)? as u8, n(8..10)? as u8).ok()?;
    if text.len() == 10 {
        return Some(date);
    }
    let seconds = text
        .get(17..)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    date.and_hms(n(11..13)? as u16, n(14..16)? as u8, seconds)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(cells: &[Cell]) -> String {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_csv_field(&mut line, c);
        }
        line
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(
            csv(&[
                Cell::Text("plain".into()),
                Cell::Text("a,b".into()),
                Cell::Text("say \"hi\"".into()),
                Cell::Text("two\nlines".into()),
            ]),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\""
        );
        assert_eq!(
            csv(&[
                Cell::Text("=HYPERLINK(\"http://x\")".into()),
                Cell::Text("+1".into()),
                Cell::Text("-1".into()),
                Cell::Text("@SUM(A1)".into()),
                Cell::Text("\tx".into()),
            ]),
            "\"'=HYPERLINK(\"\"http://x\"\")\",\"'+1\",\"'-1\",\"'@SUM(A1)\",\"'\tx\""
        );
        assert_eq!(
            csv(&[
                Cell::Int(-5),
                Cell::Float(2.5),
                Cell::Bool(true),
                Cell::Empty,
                Cell::Date("2024-01-02".into())
            ]),
            "-5,2.5,true,,2024-01-02"
        );
    }

    #[test]
    fn dates_become_excel_dates() {
        assert!(excel_datetime("2024-02-29").is_some());
        assert!(excel_datetime("2024-02-29T10:11:12.5").is_some());
        assert!(excel_datetime("1899-12-31").is_none());
        assert!(excel_datetime("nonsense").is_none());
    }
}
