//! A report template: a spreadsheet (`.ods`) whose first sheet is cut into bands, as Jam.py
//! cuts it.
//!
//! A band starts at a row whose first cell (column A) holds text: that text is the band's name,
//! and the band runs to the row before the next named row. The last band ends before the rows
//! LibreOffice adds to fill the sheet (a row repeated more than 1000 times), or at the sheet's
//! last row. Rows above the first band are not printed, as in Jam.py. The name is removed from
//! the printed rows.
//!
//! A cell's text may hold placeholders, `%(name)s`, which `print_band` fills. A cell whose
//! whole text is one placeholder takes the value's type (a number stays a number, so the
//! cell's number format applies; a boolean a boolean; a date is written as its text); anywhere else a value is written as
//! escaped text. Values never reach an attribute, a formula or markup
//! ([`crate::xml::push_text`]). A placeholder without a value stays as it is, so a misspelt
//! name shows in the document (as in Jam.py).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::cell::Cell;
use crate::xml::{push_attr, push_text};
use crate::{Error, Result};

/// The largest `content.xml` a template may have (a template is a form, not a data file).
const MAX_TEMPLATE_CONTENT: u64 = 64 << 20;

/// A row repeated more times than this is LibreOffice's filler to the end of the sheet.
const FILLER_ROWS: u32 = 1000;

/// A parsed template. Cheap to share: reports print from it without changing it.
#[derive(Debug)]
pub struct Template {
    /// `content.xml` up to the sheet's first column.
    pub(crate) head: String,
    pub(crate) columns: Vec<ColumnPiece>,
    /// Between the columns and the first band: any markup but rows (row groups' tags).
    pub(crate) middle: String,
    pub(crate) bands: Vec<Band>,
    /// After the last band: filler rows, the end of the sheet, the other sheets.
    pub(crate) tail: String,
    by_name: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum ColumnPiece {
    Raw(String),
    /// A `table:table-column` element: its attributes but the repeat count, and the count.
    Column {
        attrs: Vec<(String, String)>,
        repeated: u32,
    },
}

/// One band of the template.
#[derive(Debug)]
pub struct Band {
    pub name: String,
    segments: Vec<Segment>,
    /// The names of the band's placeholders, each once.
    placeholders: Vec<String>,
}

#[derive(Debug)]
enum Segment {
    Raw(String),
    /// The start tag of a cell whose whole text is the placeholder `placeholder`: its value
    /// type is written from the value. `attrs` are the cell's attributes without its old type.
    TypedCell {
        attrs: String,
        placeholder: usize,
    },
    /// A placeholder in a cell's text; `literal` is written when no value is given.
    Value {
        placeholder: usize,
        literal: String,
    },
}

impl Band {
    /// The placeholder names the band prints (only these are looked up in a band's values).
    pub fn placeholders(&self) -> &[String] {
        &self.placeholders
    }

    /// Appends the band's XML with `values` (by placeholder index) to `out`.
    pub(crate) fn render(&self, values: &[Option<Cell>], out: &mut String) {
        for s in &self.segments {
            match s {
                Segment::Raw(text) => out.push_str(text),
                Segment::TypedCell { attrs, placeholder } => {
                    out.push_str("<table:table-cell");
                    out.push_str(attrs);
                    match values.get(*placeholder).and_then(Option::as_ref) {
                        Some(v) => type_attrs(v, out),
                        // The placeholder stays, as text.
                        None => type_attrs(&Cell::Text(String::new()), out),
                    }
                    out.push('>');
                }
                Segment::Value {
                    placeholder,
                    literal,
                } => match values.get(*placeholder).and_then(Option::as_ref) {
                    Some(v) => push_text(out, &v.display()),
                    None => out.push_str(literal),
                },
            }
        }
    }
}

/// The value-type attributes of a cell holding `v` (none for an empty value).
fn type_attrs(v: &Cell, out: &mut String) {
    let (kind, attr, value) = match v {
        Cell::Empty => return,
        Cell::Float(f) if !f.is_finite() => return,
        Cell::Text(_) => ("string", None, String::new()),
        Cell::Int(i) => ("float", Some("office:value"), i.to_string()),
        Cell::Float(f) => ("float", Some("office:value"), format!("{f}")),
        Cell::Bool(b) => ("boolean", Some("office:boolean-value"), b.to_string()),
        // A date cell shows in the cell style's date format, and a template cell seldom has
        // one (LibreOffice's default shows a time too): dates are written as their text, as
        // Jam.py's reports write `display_text`.
        Cell::Date(_) | Cell::DateTime(_) => ("string", None, String::new()),
    };
    out.push_str(" office:value-type=\"");
    out.push_str(kind);
    out.push('"');
    if let Some(attr) = attr {
        out.push(' ');
        out.push_str(attr);
        out.push_str("=\"");
        push_attr(out, &value);
        out.push('"');
    }
    out.push_str(" calcext:value-type=\"");
    out.push_str(kind);
    out.push('"');
}

impl Template {
    /// Reads and parses the template file (`.ods`, `.ots`).
    pub fn load(path: &Path) -> Result<Template> {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Template(format!("cannot open {}: {e}", path.display())))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| {
            Error::Template(format!(
                "{} is not a spreadsheet (.ods): {e}",
                path.display()
            ))
        })?;
        let entry = zip.by_name("content.xml").map_err(|_| {
            Error::Template(format!(
                "{} is not a spreadsheet (.ods): it has no content.xml",
                path.display()
            ))
        })?;
        if entry.size() > MAX_TEMPLATE_CONTENT {
            return Err(Error::Template(format!(
                "{}: content.xml is larger than {} MiB",
                path.display(),
                MAX_TEMPLATE_CONTENT >> 20
            )));
        }
        let mut content = String::new();
        entry
            .take(MAX_TEMPLATE_CONTENT)
            .read_to_string(&mut content)
            .map_err(|e| Error::Template(format!("{}: content.xml: {e}", path.display())))?;
        Template::parse(&content)
            .map_err(|e| Error::Template(format!("{}: {}", path.display(), e.message())))
    }

    /// Parses a template's `content.xml`.
    pub fn parse(content: &str) -> Result<Template> {
        let sheet = scan(content)?;
        let tagged: Vec<usize> = sheet
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.tag.is_some())
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = tagged.first() else {
            return Err(Error::Template(
                "the first sheet has no bands: write each band's name in column A of its first row"
                    .into(),
            ));
        };
        let last = *tagged.last().unwrap_or(&first);
        // The last band ends before LibreOffice's filler rows, or at the sheet's last row.
        let mut end_row = sheet.rows.len();
        for (i, r) in sheet.rows.iter().enumerate().skip(last + 1) {
            if r.repeated > FILLER_ROWS {
                end_row = i;
                break;
            }
        }
        let band_end = |k: usize| -> usize {
            match tagged.get(k + 1) {
                Some(next) => sheet.rows[*next].start,
                None => {
                    if end_row < sheet.rows.len() {
                        sheet.rows[end_row].start
                    } else {
                        sheet.rows[end_row - 1].end
                    }
                }
            }
        };
        let columns_start = sheet
            .columns
            .first()
            .map_or(sheet.rows[first].start, |c| c.start);
        let columns_end = sheet.columns.last().map_or(columns_start, |c| c.end);
        let head = content[..columns_start].to_string();
        let mut columns = Vec::new();
        let mut at = columns_start;
        for c in &sheet.columns {
            if c.start > at {
                columns.push(ColumnPiece::Raw(content[at..c.start].to_string()));
            }
            let mut attrs = c.attrs.clone();
            let repeated = take_attr(&mut attrs, "table:number-columns-repeated")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1u32)
                .max(1);
            columns.push(ColumnPiece::Column { attrs, repeated });
            at = c.end;
        }
        // Rows above the first band are not printed; markup around them (a row group's tags)
        // is kept so the document stays well formed.
        let mut middle = String::new();
        let mut at = columns_end;
        for r in sheet.rows.iter().take(first) {
            if r.start >= at {
                middle.push_str(&content[at..r.start]);
                at = r.end;
            }
        }
        if sheet.rows[first].start > at {
            middle.push_str(&content[at..sheet.rows[first].start]);
        }
        let mut bands = Vec::new();
        let mut by_name = HashMap::new();
        for (k, &row) in tagged.iter().enumerate() {
            let start = sheet.rows[row].start;
            let end = band_end(k);
            let name = sheet.rows[row].tag.clone().unwrap_or_default();
            check_balanced(&content[start..end], &name)?;
            let rows_end = tagged.get(k + 1).copied().unwrap_or(end_row);
            let band = build_band(content, &sheet.rows[row..rows_end], start, end, name)?;
            // As in Jam.py, a name used twice prints its last band.
            by_name.insert(band.name.clone(), bands.len());
            bands.push(band);
        }
        let tail_start = band_end(tagged.len() - 1);
        Ok(Template {
            head,
            columns,
            middle,
            bands,
            tail: content[tail_start..].to_string(),
            by_name,
        })
    }

    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    pub fn band(&self, name: &str) -> Result<&Band> {
        self.by_name
            .get(name)
            .map(|i| &self.bands[*i])
            .ok_or_else(|| {
                let names: Vec<&str> = self.bands.iter().map(|b| b.name.as_str()).collect();
                Error::Report(format!(
                    "the template has no band \"{name}\" (its bands: {})",
                    names.join(", ")
                ))
            })
    }

    /// The column markup, with the columns numbered in `hidden` (1 for A) collapsed.
    pub(crate) fn columns_xml(&self, hidden: &[u32]) -> String {
        let mut out = String::new();
        let mut number = 1u32;
        for piece in &self.columns {
            match piece {
                ColumnPiece::Raw(text) => out.push_str(text),
                ColumnPiece::Column { attrs, repeated } => {
                    // Split the run where hidden columns start and end.
                    let mut left = *repeated;
                    while left > 0 {
                        let hide = hidden.contains(&number);
                        let mut run = 1;
                        while run < left && hidden.contains(&(number + run)) == hide {
                            run += 1;
                        }
                        out.push_str("<table:table-column");
                        for (k, v) in attrs {
                            if hide && k == "table:visibility" {
                                continue;
                            }
                            push_pair(&mut out, k, v);
                        }
                        if run > 1 {
                            push_pair(&mut out, "table:number-columns-repeated", &run.to_string());
                        }
                        if hide {
                            push_pair(&mut out, "table:visibility", "collapse");
                        }
                        out.push_str("/>");
                        number += run;
                        left -= run;
                    }
                }
            }
        }
        out
    }
}

fn push_pair(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push_str("=\"");
    push_attr(out, value);
    out.push('"');
}

fn take_attr(attrs: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let at = attrs.iter().position(|(k, _)| k == key)?;
    Some(attrs.remove(at).1)
}

/// What the scan of `content.xml` found in the first sheet.
struct Sheet {
    columns: Vec<ColumnInfo>,
    rows: Vec<RowInfo>,
}

struct ColumnInfo {
    start: usize,
    end: usize,
    attrs: Vec<(String, String)>,
}

struct RowInfo {
    start: usize,
    end: usize,
    repeated: u32,
    /// The band name in the row's first cell.
    tag: Option<String>,
    cells: Vec<CellInfo>,
}

struct CellInfo {
    start: usize,
    /// End of the start tag (equal to `end` for an empty element).
    open_end: usize,
    end: usize,
    attrs: Vec<(String, String)>,
    /// Direct paragraphs of the cell (not those of a comment or a frame).
    paragraphs: usize,
    /// Text runs inside the cell's paragraphs, with whether they sit directly in the paragraph.
    texts: Vec<(usize, usize, bool)>,
    /// Anything but one direct text run in the paragraphs (spans, spaces, entity references).
    mixed: bool,
    first_paragraph_text: String,
}

fn attrs_of(e: &BytesStart<'_>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| Error::Template(format!("bad attribute: {e}")))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|e| Error::Template(format!("bad attribute value: {e}")))?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

/// Finds the first sheet's columns, rows, cells and text.
fn scan(content: &str) -> Result<Sheet> {
    let mut reader = Reader::from_str(content);
    reader.config_mut().check_end_names = true;
    // Element depth (the number of open elements).
    let mut depth = 0usize;
    // The depth inside the first sheet's table element, once found.
    let mut table: Option<usize> = None;
    let mut sheet = Sheet {
        columns: Vec::new(),
        rows: Vec::new(),
    };
    // The open row and cell, with the depth inside them.
    let mut row: Option<(RowInfo, usize)> = None;
    let mut cell: Option<(CellInfo, usize)> = None;
    // The depth inside the cell paragraph being read, if any.
    let mut paragraph: Option<usize> = None;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| Error::Template(format!("content.xml is not well-formed XML: {e}")))?;
        let end = reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::Start(e) if table.is_none() => {
                depth += 1;
                if e.name().as_ref() == b"table:table" {
                    table = Some(depth);
                }
            }
            Event::Empty(e) if table.is_none() => {
                if e.name().as_ref() == b"table:table" {
                    return Err(Error::Template("the first sheet is empty".into()));
                }
            }
            Event::End(_) if table.is_none() => depth -= 1,
            Event::Start(e) => {
                let name = e.name();
                let name = name.as_ref();
                depth += 1;
                if row.is_none() {
                    if name == b"table:table-row" {
                        row = Some((new_row(start, &e)?, depth));
                    }
                } else if cell.is_none() {
                    if row.as_ref().is_some_and(|(_, rd)| depth == rd + 1)
                        && (name == b"table:table-cell" || name == b"table:covered-table-cell")
                    {
                        cell = Some((new_cell(start, end, &e)?, depth));
                    }
                } else if let Some((c, cd)) = cell.as_mut() {
                    if paragraph.is_some() {
                        c.mixed = true;
                    } else if name == b"text:p" && depth == *cd + 1 {
                        c.paragraphs += 1;
                        paragraph = Some(depth);
                    }
                }
            }
            Event::Empty(e) => {
                let name = e.name();
                let name = name.as_ref();
                if row.is_none() {
                    if name == b"table:table-row" {
                        let mut r = new_row(start, &e)?;
                        r.end = end;
                        sheet.rows.push(r);
                    } else if name == b"table:table-column" {
                        sheet.columns.push(ColumnInfo {
                            start,
                            end,
                            attrs: attrs_of(&e)?,
                        });
                    }
                } else if cell.is_none() {
                    if let Some((r, rd)) = row.as_mut()
                        && depth == *rd
                        && (name == b"table:table-cell" || name == b"table:covered-table-cell")
                    {
                        r.cells.push(new_cell(start, end, &e)?);
                    }
                } else if let (Some((c, _)), Some(_)) = (cell.as_mut(), paragraph) {
                    c.mixed = true;
                }
            }
            Event::End(_) => {
                if paragraph == Some(depth) {
                    paragraph = None;
                } else if cell.as_ref().is_some_and(|(_, cd)| *cd == depth) {
                    if let (Some((mut c, _)), Some((r, _))) = (cell.take(), row.as_mut()) {
                        c.end = end;
                        r.cells.push(c);
                    }
                } else if row.as_ref().is_some_and(|(_, rd)| *rd == depth) {
                    if let Some((mut r, _)) = row.take() {
                        r.end = end;
                        sheet.rows.push(r);
                    }
                } else if table == Some(depth) {
                    break;
                }
                depth -= 1;
            }
            Event::Text(t) => {
                if let (Some((c, _)), Some(p)) = (cell.as_mut(), paragraph) {
                    let direct = depth == p;
                    c.texts.push((start, end, direct));
                    if c.paragraphs == 1 {
                        c.first_paragraph_text
                            .push_str(&String::from_utf8_lossy(t.as_ref()));
                    }
                    if !direct {
                        c.mixed = true;
                    }
                }
            }
            Event::GeneralRef(r) => {
                if let (Some((c, _)), Some(_)) = (cell.as_mut(), paragraph) {
                    c.mixed = true;
                    if c.paragraphs == 1 {
                        let text = r
                            .resolve_char_ref()
                            .ok()
                            .flatten()
                            .map(String::from)
                            .or_else(|| {
                                quick_xml::escape::resolve_predefined_entity(
                                    &String::from_utf8_lossy(r.as_ref()),
                                )
                                .map(String::from)
                            })
                            .unwrap_or_default();
                        c.first_paragraph_text.push_str(&text);
                    }
                }
            }
            _ => {
                if let (Some((c, _)), Some(_)) = (cell.as_mut(), paragraph) {
                    c.mixed = true;
                }
            }
        }
    }
    if table.is_none() {
        return Err(Error::Template("the document has no sheet".into()));
    }
    // The band name is the text of the row's first cell.
    for r in &mut sheet.rows {
        if let Some(first) = r.cells.first()
            && first.paragraphs > 0
        {
            let text = first.first_paragraph_text.trim();
            if !text.is_empty() {
                r.tag = Some(text.to_string());
            }
        }
    }
    Ok(sheet)
}

fn new_row(start: usize, e: &BytesStart<'_>) -> Result<RowInfo> {
    let repeated = attrs_of(e)?
        .into_iter()
        .find(|(k, _)| k == "table:number-rows-repeated")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    Ok(RowInfo {
        start,
        end: start,
        repeated,
        tag: None,
        cells: Vec::new(),
    })
}

fn new_cell(start: usize, open_end: usize, e: &BytesStart<'_>) -> Result<CellInfo> {
    Ok(CellInfo {
        start,
        open_end,
        end: open_end,
        attrs: attrs_of(e)?,
        paragraphs: 0,
        texts: Vec::new(),
        mixed: false,
        first_paragraph_text: String::new(),
    })
}

/// A band's rows must not cross a row group's boundary (header rows, grouped rows): its markup
/// is printed many times and must be whole.
fn check_balanced(xml: &str, band: &str) -> Result<()> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = false;
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(Error::Template(format!(
                    "band \"{band}\": its rows are not well-formed XML: {e}"
                )));
            }
        }
    }
    if depth != 0 {
        return Err(Error::Template(format!(
            "band \"{band}\": a row group (grouped rows, or rows repeated on each page) starts or ends between its rows and another band's; a group must lie inside one band, below the band's first row"
        )));
    }
    Ok(())
}

/// The attributes of a cell's start tag that describe its old value, which a printed value
/// replaces.
const VALUE_ATTRS: [&str; 9] = [
    "office:value-type",
    "calcext:value-type",
    "office:value",
    "office:string-value",
    "office:boolean-value",
    "office:date-value",
    "office:time-value",
    "office:currency",
    "table:formula",
];

fn kept_attrs(attrs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in attrs {
        if !VALUE_ATTRS.contains(&k.as_str()) {
            push_pair(&mut out, k, v);
        }
    }
    out
}

/// Where each `%(name)s` sits in a text run: (start, end, name), offsets in `text`.
fn find_placeholders(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = text[from..].find("%(") {
        let open = from + p;
        match text[open + 2..].find(")s") {
            Some(q) => {
                let name = &text[open + 2..open + 2 + q];
                // A `%(` inside the name starts the real placeholder later.
                if let Some(inner) = name.rfind("%(") {
                    from = open + 2 + inner;
                    continue;
                }
                out.push((open, open + 2 + q + 2, name.to_string()));
                from = open + 2 + q + 2;
            }
            None => break,
        }
    }
    out
}

enum Edit {
    /// Replace the range by this text.
    Replace(String),
    TypedCell(String, String),
    Value(String, String),
}

fn build_band(
    content: &str,
    rows: &[RowInfo],
    start: usize,
    end: usize,
    name: String,
) -> Result<Band> {
    let mut edits: Vec<(usize, usize, Edit)> = Vec::new();
    for (ri, row) in rows.iter().enumerate() {
        for (ci, cell) in row.cells.iter().enumerate() {
            if ri == 0 && ci == 0 {
                // The band's name: the cell prints empty.
                let mut empty = String::from(
                    if content[cell.start..].starts_with("<table:covered-table-cell") {
                        "<table:covered-table-cell"
                    } else {
                        "<table:table-cell"
                    },
                );
                empty.push_str(&kept_attrs(&cell.attrs));
                empty.push_str("/>");
                edits.push((cell.start, cell.end, Edit::Replace(empty)));
                continue;
            }
            let mut found = Vec::new();
            for &(ts, te, _) in &cell.texts {
                for (s, e, n) in find_placeholders(&content[ts..te]) {
                    found.push((ts + s, ts + e, n));
                }
            }
            if found.is_empty() {
                continue;
            }
            let sole = cell.paragraphs == 1
                && !cell.mixed
                && found.len() == 1
                && cell.texts.len() == 1
                && content[cell.texts[0].0..cell.texts[0].1].trim()
                    == format!("%({})s", found[0].2);
            let attrs = kept_attrs(&cell.attrs);
            if sole {
                edits.push((
                    cell.start,
                    cell.open_end,
                    Edit::TypedCell(attrs, found[0].2.clone()),
                ));
            } else {
                let mut tag = String::from("<table:table-cell");
                tag.push_str(&attrs);
                tag.push_str(" office:value-type=\"string\" calcext:value-type=\"string\">");
                edits.push((cell.start, cell.open_end, Edit::Replace(tag)));
            }
            for (s, e, n) in found {
                edits.push((s, e, Edit::Value(n, content[s..e].to_string())));
            }
        }
    }
    edits.sort_by_key(|e| e.0);
    let mut segments = Vec::new();
    let mut placeholders: Vec<String> = Vec::new();
    let index = |name: String, placeholders: &mut Vec<String>| -> usize {
        match placeholders.iter().position(|p| *p == name) {
            Some(i) => i,
            None => {
                placeholders.push(name);
                placeholders.len() - 1
            }
        }
    };
    let mut at = start;
    for (s, e, edit) in edits {
        if s < at || e > end {
            return Err(Error::Template(format!(
                "band \"{name}\": overlapping cells (a damaged sheet?)"
            )));
        }
        if s > at {
            segments.push(Segment::Raw(content[at..s].to_string()));
        }
        segments.push(match edit {
            Edit::Replace(text) => Segment::Raw(text),
            Edit::TypedCell(attrs, n) => Segment::TypedCell {
                attrs,
                placeholder: index(n, &mut placeholders),
            },
            Edit::Value(n, literal) => Segment::Value {
                placeholder: index(n, &mut placeholders),
                literal,
            },
        });
        at = e;
    }
    if end > at {
        segments.push(Segment::Raw(content[at..end].to_string()));
    }
    // Merge neighbouring raw text.
    let mut merged: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        match (merged.last_mut(), s) {
            (Some(Segment::Raw(prev)), Segment::Raw(next)) => prev.push_str(&next),
            (_, s) => merged.push(s),
        }
    }
    Ok(Band {
        name,
        segments: merged,
        placeholders,
    })
}
