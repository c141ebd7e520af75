//! Printing a report: the template's package copied, its `content.xml` written band by band.
//!
//! `content.xml` is streamed into the zip as it is printed, so a report of many bands takes
//! memory for one band at a time, not for the whole document.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::cell::Cell;
use crate::template::Template;
use crate::{Error, Result, io};

/// The largest `content.xml` a report may print: past it the report fails (a report is a
/// document for people; bigger data is an export's job).
pub const MAX_REPORT_BYTES: u64 = 1 << 30;

/// Printed text is handed to the zip in pieces of about this size.
const CHUNK: usize = 64 << 10;

const SPREADSHEET: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// Prints a template's `content.xml` into `W`, band by band.
pub struct Printer<W: Write> {
    template: Arc<Template>,
    out: W,
    /// Columns to collapse (1 for A), until the first band is printed.
    hidden: Vec<u32>,
    started: bool,
    buf: String,
    written: u64,
    bands: u64,
    limit: u64,
}

impl<W: Write> Printer<W> {
    pub fn new(template: Arc<Template>, out: W) -> Printer<W> {
        Printer {
            template,
            out,
            hidden: Vec::new(),
            started: false,
            buf: String::new(),
            written: 0,
            bands: 0,
            limit: MAX_REPORT_BYTES,
        }
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Jam.py's `hide_columns`: collapses these columns (1 for A). Only before the first band
    /// is printed.
    pub fn hide_columns(&mut self, columns: &[u32]) -> Result<()> {
        if self.started {
            return Err(Error::Report(
                "hide_columns must be called before the first print_band (in on_before_generate or on_parsed)"
                    .into(),
            ));
        }
        self.hidden.extend_from_slice(columns);
        Ok(())
    }

    /// Prints band `name`, asking `value` for each of its placeholders (`None`: no value, the
    /// placeholder stays as written).
    pub fn print_band(
        &mut self,
        name: &str,
        value: &mut dyn FnMut(&str) -> Result<Option<Cell>>,
    ) -> Result<()> {
        let template = self.template.clone();
        let band = template.band(name)?;
        let mut values = Vec::with_capacity(band.placeholders().len());
        for p in band.placeholders() {
            values.push(value(p)?);
        }
        self.start();
        band.render(&values, &mut self.buf);
        self.bands += 1;
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Bands printed so far.
    pub fn bands_printed(&self) -> u64 {
        self.bands
    }

    fn start(&mut self) {
        if !self.started {
            self.started = true;
            let template = self.template.clone();
            self.buf.push_str(&template.head);
            self.buf.push_str(&template.columns_xml(&self.hidden));
            self.buf.push_str(&template.middle);
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.written += self.buf.len() as u64;
        if self.written > self.limit {
            return Err(Error::Report(format!(
                "the report is larger than {} MiB; print less (or export the rows instead)",
                self.limit >> 20
            )));
        }
        self.out.write_all(self.buf.as_bytes()).map_err(io)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes the rest of the document; returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.start();
        let template = self.template.clone();
        self.buf.push_str(&template.tail);
        self.flush()?;
        Ok(self.out)
    }
}

/// A report being printed into an `.ods` file: the template's package with the printed
/// `content.xml` streamed into it.
pub struct OdsWriter {
    printer: Printer<ZipWriter<BufWriter<File>>>,
}

impl OdsWriter {
    /// Starts `out`: every part of the template's package but its content (a spreadsheet
    /// template, `.ots`, becomes a spreadsheet).
    pub fn create(template_path: &Path, template: Arc<Template>, out: &Path) -> Result<OdsWriter> {
        let source = File::open(template_path).map_err(|e| {
            Error::Template(format!("cannot open {}: {e}", template_path.display()))
        })?;
        let mut archive = ZipArchive::new(source)
            .map_err(|e| Error::Template(format!("{}: {e}", template_path.display())))?;
        let file = File::create(out).map_err(io)?;
        let mut zip = ZipWriter::new(BufWriter::new(file));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        // ODF: `mimetype` comes first, uncompressed.
        zip.start_file("mimetype", stored).map_err(io)?;
        zip.write_all(SPREADSHEET.as_bytes()).map_err(io)?;
        for i in 0..archive.len() {
            let name = archive
                .by_index_raw(i)
                .map_err(io)?
                .name()
                .map_err(io)?
                .to_string();
            match name.as_str() {
                "mimetype" | "content.xml" => {}
                "META-INF/manifest.xml" => {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut archive.by_index(i).map_err(io)?, &mut text)
                        .map_err(io)?;
                    zip.start_file(name, deflated).map_err(io)?;
                    zip.write_all(
                        text.replace(&format!("{SPREADSHEET}-template"), SPREADSHEET)
                            .as_bytes(),
                    )
                    .map_err(io)?;
                }
                _ => zip
                    .raw_copy_file(archive.by_index_raw(i).map_err(io)?)
                    .map_err(io)?,
            }
        }
        zip.start_file("content.xml", deflated).map_err(io)?;
        Ok(OdsWriter {
            printer: Printer::new(template, zip),
        })
    }

    /// A lower size limit than [`MAX_REPORT_BYTES`] (for tests).
    pub fn with_limit(mut self, bytes: u64) -> OdsWriter {
        self.printer.limit = bytes;
        self
    }

    pub fn template(&self) -> &Template {
        self.printer.template()
    }

    /// See [`Printer::hide_columns`].
    pub fn hide_columns(&mut self, columns: &[u32]) -> Result<()> {
        self.printer.hide_columns(columns)
    }

    /// See [`Printer::print_band`].
    pub fn print_band(
        &mut self,
        name: &str,
        value: &mut dyn FnMut(&str) -> Result<Option<Cell>>,
    ) -> Result<()> {
        self.printer.print_band(name, value)
    }

    pub fn bands_printed(&self) -> u64 {
        self.printer.bands_printed()
    }

    /// Writes the rest of the document and closes the file.
    pub fn finish(self) -> Result<()> {
        let zip = self.printer.finish()?;
        let mut out = zip.finish().map_err(io)?;
        out.flush().map_err(io)?;
        Ok(())
    }
}

/// A column by letters (`"A"`, `"AB"`) or number (1 for A), as Jam.py's `hide_columns` takes
/// it.
pub fn column_number(name: &str) -> Result<u32> {
    let bad = || Error::Report(format!("\"{name}\" is not a column (A, B, …, or 1, 2, …)"));
    if let Ok(n) = name.parse::<u32>() {
        return if n >= 1 { Ok(n) } else { Err(bad()) };
    }
    if name.is_empty() || name.len() > 3 || !name.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    Ok(name
        .to_ascii_uppercase()
        .bytes()
        .fold(0u32, |n, b| n * 26 + u32::from(b - b'A' + 1)))
}
