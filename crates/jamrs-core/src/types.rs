//! Field types, values, filter operators and aggregate functions, with Jam.py's numbers and names.

use std::fmt;

/// A field's data type. The numbers are Jam.py's (`Consts` TEXT = 1 … IMAGE = 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    Text,
    Integer,
    Float,
    Currency,
    Date,
    DateTime,
    Boolean,
    LongText,
    Keys,
    File,
    Image,
}

impl FieldType {
    pub const ALL: [FieldType; 11] = [
        FieldType::Text,
        FieldType::Integer,
        FieldType::Float,
        FieldType::Currency,
        FieldType::Date,
        FieldType::DateTime,
        FieldType::Boolean,
        FieldType::LongText,
        FieldType::Keys,
        FieldType::File,
        FieldType::Image,
    ];

    /// The name used in project files and the API.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Currency => "currency",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Boolean => "boolean",
            FieldType::LongText => "longtext",
            FieldType::Keys => "keys",
            FieldType::File => "file",
            FieldType::Image => "image",
        }
    }

    /// Jam.py's numeric type code.
    pub fn jampy_code(self) -> u8 {
        match self {
            FieldType::Text => 1,
            FieldType::Integer => 2,
            FieldType::Float => 3,
            FieldType::Currency => 4,
            FieldType::Date => 5,
            FieldType::DateTime => 6,
            FieldType::Boolean => 7,
            FieldType::LongText => 8,
            FieldType::Keys => 9,
            FieldType::File => 10,
            FieldType::Image => 11,
        }
    }

    pub fn from_name(name: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Types whose values are strings (LIKE filters and the text size apply to them).
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::LongText
                | FieldType::Keys
                | FieldType::File
                | FieldType::Image
        )
    }

    /// Types that can be summed and averaged.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Integer | FieldType::Float | FieldType::Currency
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value as it is stored and bound. Dates and datetimes are canonical text
/// (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`), booleans are `Bool` (stored as 0/1 where the database
/// has no boolean type).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The JSON form the API returns.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => s.clone().into(),
            Value::Bool(b) => (*b).into(),
        }
    }
}

/// Aggregate functions allowed in `funcs` and calculated fields. Nothing else reaches SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

impl Agg {
    pub const ALL: [Agg; 5] = [Agg::Count, Agg::Sum, Agg::Min, Agg::Max, Agg::Avg];

    pub fn name(self) -> &'static str {
        match self {
            Agg::Count => "count",
            Agg::Sum => "sum",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Avg => "avg",
        }
    }

    /// Accepts the name in any case, as Jam.py upper-cases it.
    pub fn from_name(name: &str) -> Option<Agg> {
        Agg::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    pub fn sql(self) -> &'static str {
        match self {
            Agg::Count => "COUNT",
            Agg::Sum => "SUM",
            Agg::Min => "MIN",
            Agg::Max => "MAX",
            Agg::Avg => "AVG",
        }
    }
}

/// Jam.py's 15 filter types. The lookup variants 16–30 are the same operators applied to the
/// lookup text column; they are represented as `(FilterOp, on_lookup = true)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Range,
    IsNull,
    Exact,
    Contains,
    StartWith,
    EndWith,
    ContainsAll,
}

impl FilterOp {
    pub const ALL: [FilterOp; 15] = [
        FilterOp::Eq,
        FilterOp::Ne,
        FilterOp::Lt,
        FilterOp::Le,
        FilterOp::Gt,
        FilterOp::Ge,
        FilterOp::In,
        FilterOp::NotIn,
        FilterOp::Range,
        FilterOp::IsNull,
        FilterOp::Exact,
        FilterOp::Contains,
        FilterOp::StartWith,
        FilterOp::EndWith,
        FilterOp::ContainsAll,
    ];

    /// Jam.py's number, 1–15 (add 15 for the lookup variant).
    pub fn number(self) -> u8 {
        FilterOp::ALL
            .iter()
            .position(|op| *op == self)
            .map_or(0, |i| i as u8 + 1)
    }

    /// Jam.py's suffix name (`FILTER_STR`), as in `set_where(title__contains=…)`.
    pub fn name(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::Ne => "ne",
            FilterOp::Lt => "lt",
            FilterOp::Le => "le",
            FilterOp::Gt => "gt",
            FilterOp::Ge => "ge",
            FilterOp::In => "in",
            FilterOp::NotIn => "not_in",
            FilterOp::Range => "range",
            FilterOp::IsNull => "isnull",
            FilterOp::Exact => "exact",
            FilterOp::Contains => "contains",
            FilterOp::StartWith => "startwith",
            FilterOp::EndWith => "endwith",
            FilterOp::ContainsAll => "contains_all",
        }
    }

    /// The `FILTER_*` constant name Jam.py modules use.
    pub fn const_name(self) -> String {
        format!("FILTER_{}", self.name().to_ascii_uppercase())
    }

    /// Parses a Jam.py number (1–30) into the operator and whether it is a lookup variant.
    pub fn from_number(n: i64) -> Option<(FilterOp, bool)> {
        match n {
            1..=15 => Some((FilterOp::ALL[(n - 1) as usize], false)),
            16..=30 => Some((FilterOp::ALL[(n - 16) as usize], true)),
            _ => None,
        }
    }

    /// Parses a name (`eq`, `contains`, … or `eq_l`, `contains_l` for lookup variants).
    pub fn from_name(name: &str) -> Option<(FilterOp, bool)> {
        let lower = name.to_ascii_lowercase();
        let (base, lookup) = match lower.strip_suffix("_l") {
            Some(base) => (base, true),
            None => (lower.as_str(), false),
        };
        FilterOp::ALL
            .into_iter()
            .find(|op| op.name() == base)
            .map(|op| (op, lookup))
    }

    /// Operators that compare text with LIKE.
    pub fn is_like(self) -> bool {
        matches!(
            self,
            FilterOp::Contains | FilterOp::StartWith | FilterOp::EndWith | FilterOp::ContainsAll
        )
    }
}

/// How a field's values are aligned in grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

impl Align {
    pub fn name(self) -> &'static str {
        match self {
            Align::Left => "left",
            Align::Center => "center",
            Align::Right => "right",
        }
    }

    pub fn from_name(name: &str) -> Option<Align> {
        [Align::Left, Align::Center, Align::Right]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_numbers_and_names_round_trip() {
        for (i, op) in FilterOp::ALL.into_iter().enumerate() {
            let n = i as i64 + 1;
            assert_eq!(op.number() as i64, n);
            assert_eq!(FilterOp::from_number(n), Some((op, false)));
            assert_eq!(FilterOp::from_number(n + 15), Some((op, true)));
            assert_eq!(FilterOp::from_name(op.name()), Some((op, false)));
            assert_eq!(
                FilterOp::from_name(&format!("{}_l", op.name())),
                Some((op, true))
            );
        }
        assert_eq!(FilterOp::from_number(0), None);
        assert_eq!(FilterOp::from_number(31), None);
        assert_eq!(FilterOp::from_name("like"), None);
        assert_eq!(FilterOp::ContainsAll.const_name(), "FILTER_CONTAINS_ALL");
    }

    #[test]
    fn aggregates_are_a_closed_set() {
        assert_eq!(Agg::from_name("SUM"), Some(Agg::Sum));
        assert_eq!(Agg::from_name("(SELECT 1) +"), None);
        assert_eq!(Agg::from_name("group_concat"), None);
    }

    #[test]
    fn field_type_codes_match_jampy() {
        for (i, t) in FieldType::ALL.into_iter().enumerate() {
            assert_eq!(t.jampy_code() as usize, i + 1);
            assert_eq!(FieldType::from_name(t.name()), Some(t));
        }
    }
}
