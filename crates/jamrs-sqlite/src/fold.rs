//! `jamrs_fold(x)`, the SQL function case-insensitive searches compare with: text lower-cased
//! as Rust's `str::to_lowercase` does (Unicode, "Ä" → "ä"), numbers as their text, anything
//! else NULL.
//!
//! A search runs it on every row it reads (a `contains` filter reads all the tenant's rows to
//! fill a page), so it does no work it can skip and allocates nothing in the common cases:
//! text that is already lower case is handed back to SQLite as it came (`SqlFnArg`); ASCII
//! text is checked and folded byte by byte, with no UTF-8 decoding, and when short, into a
//! buffer on the stack, as are numbers. Only text that changes and is long or not ASCII takes
//! a heap buffer, as every call did before. (The buffer is small on purpose: the value is moved
//! a few times on its way back to SQLite, and a large one costs more to move than to allocate.)

use std::fmt::Write as _;

use rusqlite::ToSql;
use rusqlite::functions::{Context, SqlFnArg};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// Text up to this many bytes is folded on the stack.
const SHORT: usize = 48;

/// What `jamrs_fold` gives back to SQLite.
pub(crate) enum Folded {
    /// The argument is its own folding (lower-case text): SQLite returns it as it is.
    Same(SqlFnArg),
    /// Folded text (or a number's text) that fits on the stack.
    Short(ShortText),
    /// Folded text (UTF-8).
    Long(Vec<u8>),
    Null,
}

impl ToSql for Folded {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Folded::Same(arg) => return arg.to_sql(),
            Folded::Short(short) => ToSqlOutput::Borrowed(ValueRef::Text(short.bytes())),
            Folded::Long(s) => ToSqlOutput::Borrowed(ValueRef::Text(s)),
            Folded::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// The function's body.
pub(crate) fn jamrs_fold(ctx: &Context<'_>) -> Folded {
    match ctx.get_raw(0) {
        ValueRef::Text(t) => match fold(t) {
            Fold::Same => Folded::Same(ctx.get_arg(0)),
            Fold::Short(short) => Folded::Short(short),
            Fold::Long(s) => Folded::Long(s),
        },
        ValueRef::Integer(i) => number(format_args!("{i}")),
        // `{:?}` keeps the decimal point (1.0, not 1), as SQLite's own text form does.
        ValueRef::Real(r) => number(format_args!("{r:?}")),
        ValueRef::Null | ValueRef::Blob(_) => Folded::Null,
    }
}

/// How a text folds.
pub(crate) enum Fold {
    /// It is already lower case.
    Same,
    Short(ShortText),
    Long(Vec<u8>),
}

/// Folds the text `t` (UTF-8, as SQLite hands it over; anything else is read as
/// `String::from_utf8_lossy` reads it) as `str::to_lowercase` would.
pub(crate) fn fold(t: &[u8]) -> Fold {
    if t.is_ascii() {
        // The first upper-case letter; none, and the text is its own folding.
        let Some(first) = t.iter().position(u8::is_ascii_uppercase) else {
            return Fold::Same;
        };
        if t.len() <= SHORT {
            let mut short = ShortText::new();
            short.bytes[..t.len()].copy_from_slice(t);
            short.bytes[first..t.len()].make_ascii_lowercase();
            short.len = t.len() as u8;
            return Fold::Short(short);
        }
        let mut out = t.to_vec();
        out[first..].make_ascii_lowercase();
        return Fold::Long(out);
    }
    match std::str::from_utf8(t) {
        Ok(s) if !s.chars().any(changes) => Fold::Same,
        // `str::to_lowercase` also knows the final sigma ("Σ" at a word's end is "ς").
        Ok(s) => Fold::Long(s.to_lowercase().into_bytes()),
        Err(_) => Fold::Long(String::from_utf8_lossy(t).to_lowercase().into_bytes()),
    }
}

/// Whether lower-casing changes `c`.
fn changes(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    let mut lower = c.to_lowercase();
    !(lower.len() == 1 && lower.next() == Some(c))
}

/// A number's text, on the stack when it fits (it always does for SQLite's integers and reals).
fn number(args: std::fmt::Arguments<'_>) -> Folded {
    let mut short = ShortText::new();
    if short.write_fmt(args).is_ok() {
        return Folded::Short(short);
    }
    Folded::Long(args.to_string().into_bytes())
}

/// Text of at most [`SHORT`] bytes, on the stack.
pub(crate) struct ShortText {
    len: u8,
    bytes: [u8; SHORT],
}

impl ShortText {
    fn new() -> ShortText {
        ShortText {
            len: 0,
            bytes: [0; SHORT],
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Write for ShortText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let len = usize::from(self.len);
        let end = len + s.len();
        if end > SHORT {
            return Err(std::fmt::Error);
        }
        self.bytes[len..end].copy_from_slice(s.as_bytes());
        // SHORT < 256.
        self.len = end as u8;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn folded(s: &str) -> Option<String> {
        let bytes = match fold(s.as_bytes()) {
            Fold::Same => return None,
            Fold::Short(t) => t.bytes().to_vec(),
            Fold::Long(t) => t,
        };
        Some(String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn text_that_is_already_folded_is_handed_back() {
        for s in [
            "",
            "note 0001234",
            "ärger über straße",
            "ὀδυσσεύς",
            "日本語",
            "12.5 €",
        ] {
            assert_eq!(folded(s), None, "{s:?}");
        }
    }

    #[test]
    fn folds_as_to_lowercase_does() {
        let cases = [
            "Note 0001234",
            "ÄRGER Über STRASSE",
            "ΟΔΥΣΣΕΥΣ", // the final sigma: ...ς
            "İstanbul", // dotted capital I: two chars in lower case
            "ǅemal",    // a title-case letter
            "Ａｂｃ",   // full-width letters
            "ÆØÅ and ÞÐ",
            "a long title that is ASCII but longer than the buffer on the stack, so it takes the heap path instead of the stack one: ABCDEFGHIJKLMNOPQRSTUVWXYZ, ABCDEFGHIJKLMNOPQRSTUVWXYZ!",
        ];
        for s in cases {
            assert_eq!(
                folded(s).as_deref(),
                Some(s.to_lowercase().as_str()),
                "{s:?}"
            );
        }
        assert_eq!(folded("ΟΔΥΣΣΕΥΣ").as_deref(), Some("οδυσσευς"));
        assert_eq!(folded("ÄRGER").as_deref(), Some("ärger"));
    }

    #[test]
    fn invalid_utf8_is_read_as_from_utf8_lossy_reads_it() {
        let t = b"AB\xffC";
        let Fold::Long(out) = fold(t) else {
            panic!("not folded")
        };
        assert_eq!(out, "ab\u{fffd}c".as_bytes());
    }

    #[test]
    fn short_ascii_is_folded_on_the_stack() {
        assert!(matches!(fold(b"Note 0001234"), Fold::Short(_)));
        assert!(matches!(fold("A".repeat(SHORT).as_bytes()), Fold::Short(_)));
        assert!(matches!(
            fold("A".repeat(SHORT + 1).as_bytes()),
            Fold::Long(_)
        ));
        assert!(matches!(fold("Äb".as_bytes()), Fold::Long(_)));
        assert!(matches!(fold("äb".as_bytes()), Fold::Same));
        assert!(matches!(fold("a".repeat(SHORT * 4).as_bytes()), Fold::Same));
    }
}
