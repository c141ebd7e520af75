//! SQLite's dialect.

use jamrs_core::FieldType;
use jamrs_store::Dialect;

/// The name of the case-folding function registered on every connection (see `conn::open`):
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

    fn push_ilike(&self, out: &mut String, expr: &str, param: &str) {
        out.push_str(FOLD_FN);
        out.push('(');
        out.push_str(expr);
        out.push_str(") LIKE ");
        out.push_str(param);
        out.push_str(" ESCAPE '\\'");
    }

    fn like_value(&self, pattern: &str) -> String {
        pattern.to_lowercase()
    }

    fn push_distinct(&self, out: &mut String, expr: &str, param: &str) {
        out.push_str(expr);
        out.push_str(" IS NOT ");
        out.push_str(param);
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
