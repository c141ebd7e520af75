//! `jamrs_fold(x)`, the SQL function case-insensitive searches compare with: text lower-cased
//! as Rust's `str::to_lowercase` does (Unicode, "Ä" → "ä"), numbers as their text, anything
//! else NULL.
//!
//! A search runs it on every row it reads (a `contains` filter reads all the tenant's rows to
//! fill a page), so it does no work it can skip and allocates nothing in the common cases:
//! text that is already lower case is handed back to SQLite as it came (`SqlFnArg`), and short
//! text (ASCII, or numbers) is folded into a buffer on the stack. Only text that changes and is
//! long or not ASCII takes a `String`, as before.

use std::fmt::Write as _;

use rusqlite::ToSql;
use rusqlite::functions::{Context, SqlFnArg};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// Text up to this many bytes is folded on the stack.
const SHORT: usize = 192;

/// What `jamrs_fold` gives back to SQLite.
pub(crate) enum Folded {
    /// The argument is its own folding (lower-case text): SQLite returns it as it is.
    Same(SqlFnArg),
    /// Folded text (or a number's text) that fits on the stack.
    Short {
        len: u8,
        bytes: [u8; SHORT],
    },
    Long(String),
    Null,
}

impl ToSql for Folded {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Folded::Same(arg) => return arg.to_sql(),
            Folded::Short { len, bytes } => {
                ToSqlOutput::Borrowed(ValueRef::Text(&bytes[..*len as usize]))
            }
            Folded::Long(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Folded::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// The function's body.
pub(crate) fn jamrs_fold(ctx: &Context<'_>) -> Folded {
    match ctx.get_raw(0) {
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => match fold(s) {
                Fold::Same => Folded::Same(ctx.get_arg(0)),
                Fold::Short(short) => short.done(),
                Fold::Long(s) => Folded::Long(s),
            },
            Err(_) => Folded::Long(String::from_utf8_lossy(t).to_lowercase()),
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
    Long(String),
}

/// Folds `s` as `s.to_lowercase()` would, without allocating unless the result differs from
/// `s` and is long or not ASCII.
pub(crate) fn fold(s: &str) -> Fold {
    // The first character that lower-casing changes; none, and the text is its own folding.
    let Some(first) = s.char_indices().find_map(|(i, c)| changes(c).then_some(i)) else {
        return Fold::Same;
    };
    if s.len() <= SHORT && s.is_ascii() {
        let mut short = ShortText::new();
        short.bytes[..s.len()].copy_from_slice(s.as_bytes());
        short.bytes[first..s.len()].make_ascii_lowercase();
        short.len = s.len();
        return Fold::Short(short);
    }
    // Not ASCII: `str::to_lowercase` also knows the final sigma ("Σ" at a word's end is "ς").
    Fold::Long(s.to_lowercase())
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
        return short.done();
    }
    Folded::Long(args.to_string())
}

/// Text of at most [`SHORT`] bytes, on the stack.
pub(crate) struct ShortText {
    len: usize,
    bytes: [u8; SHORT],
}

impl ShortText {
    fn new() -> ShortText {
        ShortText {
            len: 0,
            bytes: [0; SHORT],
        }
    }

    #[cfg(test)]
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn done(self) -> Folded {
        Folded::Short {
            // SHORT < 256.
            len: self.len as u8,
            bytes: self.bytes,
        }
    }
}

impl std::fmt::Write for ShortText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > SHORT {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn folded(s: &str) -> Option<String> {
        match fold(s) {
            Fold::Same => None,
            Fold::Short(t) => Some(t.as_str().to_string()),
            Fold::Long(t) => Some(t),
        }
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
    fn short_ascii_is_folded_on_the_stack() {
        assert!(matches!(fold("Note 0001234"), Fold::Short(_)));
        assert!(matches!(fold(&"A".repeat(SHORT)), Fold::Short(_)));
        assert!(matches!(fold(&"A".repeat(SHORT + 1)), Fold::Long(_)));
        assert!(matches!(fold("Äb"), Fold::Long(_)));
    }
}
