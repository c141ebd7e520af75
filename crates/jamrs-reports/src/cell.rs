//! The values a report's band or an export's row puts into a cell.

/// One cell's value. A number stays a number in the document (so a template's number format,
/// a currency for example, applies to it) and text stays text: nothing a value holds becomes a
/// formula or markup.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value: an empty cell.
    Empty,
    Text(String),
    Int(i64),
    /// A finite float (a NaN or an infinity is written as an empty cell).
    Float(f64),
    Bool(bool),
    /// A calendar date, `YYYY-MM-DD`.
    Date(String),
    /// A date and time, `YYYY-MM-DDTHH:MM:SS` (fractions of seconds allowed).
    DateTime(String),
}

impl Cell {
    /// The text a cell shows when a value is written inside other text, or into a CSV file.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) if f.is_finite() => float_text(*f),
            Cell::Float(_) => String::new(),
            Cell::Bool(true) => "True".into(),
            Cell::Bool(false) => "False".into(),
            Cell::Date(d) | Cell::DateTime(d) => d.clone(),
        }
    }
}

/// A float as Python prints it (`12.5`, `3.0`), so a report shows what Jam.py's `str(value)`
/// showed.
pub fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// `YYYY-MM-DD`, with a real month and day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|i| b[*i].is_ascii_digit())
        && (1..=12).contains(&num(&b[5..7]))
        && (1..=31).contains(&num(&b[8..10]))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]` (a space instead of the `T` is accepted too).
pub fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && is_date(&s[..10])
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':'
        && [11, 12, 14, 15, 17, 18]
            .iter()
            .all(|i| b[*i].is_ascii_digit())
        && num(&b[11..13]) < 24
        && num(&b[14..16]) < 60
        && num(&b[17..19]) < 60
        && (b.len() == 19
            || (b[19] == b'.' && b.len() > 20 && b[20..].iter().all(u8::is_ascii_digit)))
}

fn num(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_show_as_python_prints_them() {
        assert_eq!(Cell::Float(12.5).display(), "12.5");
        assert_eq!(Cell::Float(3.0).display(), "3.0");
        assert_eq!(Cell::Int(-7).display(), "-7");
        assert_eq!(Cell::Float(f64::NAN).display(), "");
    }

    #[test]
    fn dates_are_checked() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-1-01"));
        assert!(is_datetime("2024-02-29T23:59:59"));
        assert!(is_datetime("2024-02-29 23:59:59.125"));
        assert!(!is_datetime("2024-02-29T24:00:00"));
        assert!(!is_datetime("2024-02-29T23:59:59."));
    }
}
