//! SQLite's dialect.

use jamrs_core::FieldType;
use jamrs_store::Dialect;

/// The case-folding function registered on every connection (named in `ilike` below) (see `conn::open`):
/// SQLite's own `lower()` and `LIKE` fold ASCII only, so "Ärger" would not match "ä".
pub const FOLD_FN: &str = "jamrs_fold";

pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn push_placeholder(&self, out: &mut String, _n: usize) {
        out.push('?');
    }

    fn ilike(&self) -> [&'static str; 3] {
        ["jamrs_fold(", ") LIKE ", " ESCAPE '\\'"]
    }

    fn like_value(&self, pattern: &str) -> String {
        pattern.to_lowercase()
    }

    fn distinct(&self) -> [&'static str; 3] {
        ["", " IS NOT ", ""]
    }

    fn column_type(&self, t: FieldType) -> &'static str {
        match t {
            FieldType::Integer | FieldType::Boolean => "INTEGER",
            FieldType::Float | FieldType::Currency => "REAL",
            FieldType::Text
            | FieldType::LongText
            | FieldType::Date
            | FieldType::DateTime
            | FieldType::Keys
            | FieldType::File
            | FieldType::Image => "TEXT",
        }
    }

    fn primary_key_type(&self) -> &'static str {
        "INTEGER PRIMARY KEY"
    }
}
