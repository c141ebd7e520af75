//! Converting JSON values into typed [`Value`]s for a field type, and the date helpers.
//!
//! This is the one place that decides what a valid value of each type is. Everything a client or
//! a project file supplies for a field passes through [`from_json`].

use std::time::{SystemTime, UNIX_EPOCH};

use crate::types::{FieldType, Value};

/// Checks and converts `v` for a field of type `t`. The error says what was expected.
pub fn from_json(t: FieldType, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    if v.is_null() {
        return Ok(Value::Null);
    }
    match t {
        FieldType::Text | FieldType::LongText | FieldType::File | FieldType::Image => match v {
            J::String(s) => Ok(Value::Text(s.clone())),
            _ => Err(format!("expected a string, got {}", kind(v))),
        },
        FieldType::Keys => match v {
            J::String(s) => parse_keys(s).map(Value::Text),
            J::Array(a) => {
                let mut ids = Vec::with_capacity(a.len());
                for x in a {
                    ids.push(
                        x.as_i64()
                            .ok_or_else(|| {
                                format!("expected a list of integer keys, found {}", kind(x))
                            })?
                            .to_string(),
                    );
                }
                Ok(Value::Text(ids.join(";")))
            }
            _ => Err(format!(
                "expected keys as \"1;5;9\" or [1, 5, 9], got {}",
                kind(v)
            )),
        },
        FieldType::Integer => match v.as_i64() {
            Some(i) if v.is_i64() || v.is_u64() => Ok(Value::Int(i)),
            _ => Err(format!("expected an integer, got {}", kind(v))),
        },
        FieldType::Float | FieldType::Currency => match v.as_f64() {
            Some(f) if v.is_number() && f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!("expected a number, got {}", kind(v))),
        },
        FieldType::Boolean => match v {
            J::Bool(b) => Ok(Value::Bool(*b)),
            J::Number(n) if n.as_i64() == Some(0) => Ok(Value::Bool(false)),
            J::Number(n) if n.as_i64() == Some(1) => Ok(Value::Bool(true)),
            _ => Err(format!("expected true or false, got {}", kind(v))),
        },
        FieldType::Date => match v {
            J::String(s) => parse_date(s)
                .map(Value::Text)
                .ok_or_else(|| format!("\"{}\" is not a date (YYYY-MM-DD)", shorten(s))),
            _ => Err(format!(
                "expected a date string YYYY-MM-DD, got {}",
                kind(v)
            )),
        },
        FieldType::DateTime => match v {
            J::String(s) => parse_datetime(s).map(Value::Text).ok_or_else(|| {
                format!(
                    "\"{}\" is not a date and time (YYYY-MM-DD HH:MM:SS)",
                    shorten(s)
                )
            }),
            _ => Err(format!("expected a date and time string, got {}", kind(v))),
        },
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_f64() => "a decimal number",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A short description of a JSON value for an error message: a scalar as written (cut to 40
/// characters), a list or an object by its kind. Never walks into a value, so a message cannot
/// grow with the input or recurse through its nesting.
pub fn describe(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null | J::Bool(_) | J::Number(_) => v.to_string(),
        J::String(s) => format!("\"{}\"", shorten(s)),
        J::Array(_) | J::Object(_) => kind(v).to_string(),
    }
}

/// True when `v` nests lists and objects deeper than `max` levels (a scalar is level 0,
/// `[1]` level 1). Walks with a stack of its own, so any depth is measured without recursion.
pub fn nests_deeper_than(v: &serde_json::Value, max: usize) -> bool {
    use serde_json::Value as J;
    let mut stack: Vec<(&J, usize)> = vec![(v, 0)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &J>> = match v {
            J::Array(a) => Box::new(a.iter()),
            J::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if depth + 1 > max {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

fn parse_keys(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    let mut out = Vec::new();
    for part in s.split(';') {
        let id: i64 = part
            .trim()
            .parse()
            .map_err(|_| format!("\"{}\" is not a list of keys such as \"1;5;9\"", shorten(s)))?;
        out.push(id.to_string());
    }
    Ok(out.join(";"))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

/// `YYYY-MM-DD` → the same, if it is a real calendar date.
pub fn parse_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| s.to_string())
}

/// `YYYY-MM-DD[ T]HH:MM[:SS[.fff]]` or a date alone → `YYYY-MM-DD HH:MM:SS`.
pub fn parse_datetime(s: &str) -> Option<String> {
    if s.len() == 10 {
        return parse_date(s).map(|d| format!("{d} 00:00:00"));
    }
    if s.len() < 16 || !s.is_char_boundary(10) {
        return None;
    }
    let date = parse_date(&s[..10])?;
    let sep = s.as_bytes()[10];
    if sep != b' ' && sep != b'T' {
        return None;
    }
    let time = s[11..].trim_end_matches('Z');
    let time = time.split('.').next()?;
    let parts: Vec<&str> = time.split(':').collect();
    let (h, mi, sec) = match parts.as_slice() {
        [h, m] => (digits(h)?, digits(m)?, 0),
        [h, m, s] => (digits(h)?, digits(m)?, digits(s)?),
        _ => return None,
    };
    if parts.iter().any(|p| p.len() != 2) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    Some(format!("{date} {h:02}:{mi:02}:{sec:02}"))
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let (y, m, d) = civil_from_days(now_secs().div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The current date and time (UTC) as `YYYY-MM-DD HH:MM:SS`.
pub fn now() -> String {
    datetime_text(now_secs())
}

/// `secs` since the epoch (UTC) as `YYYY-MM-DD HH:MM:SS`, digit by digit: every history entry
/// is stamped with it, and `format!` with padding cost more than the rest of the entry's
/// Rust code.
fn datetime_text(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            t / 3600,
            t / 60 % 60,
            t % 60
        );
    }
    let mut out = String::with_capacity(19);
    let mut two = |n: i64, sep: Option<char>| {
        // 0..=99 here: months, days, hours, minutes, seconds, and the halves of the year.
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
        if let Some(c) = sep {
            out.push(c);
        }
    };
    two(y / 100, None);
    two(y % 100, Some('-'));
    two(i64::from(m), Some('-'));
    two(i64::from(d), Some(' '));
    two(t / 3600, Some(':'));
    two(t / 60 % 60, Some(':'));
    two(t % 60, None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetime_text_is_utc_with_zero_padding() {
        assert_eq!(datetime_text(0), "1970-01-01 00:00:00");
        assert_eq!(datetime_text(951_782_400 + 3_723), "2000-02-29 01:02:03");
        assert_eq!(datetime_text(1_764_892_799), "2025-12-04 23:59:59");
        assert_eq!(datetime_text(253_402_300_799), "9999-12-31 23:59:59");
        assert_eq!(datetime_text(-1), "1969-12-31 23:59:59");
        let now = now();
        assert_eq!(now.len(), 19, "{now}");
    }

    #[test]
    fn descriptions_stay_short_and_do_not_walk_into_values() {
        assert_eq!(describe(&json!(5.5)), "5.5");
        assert_eq!(
            describe(&json!("x".repeat(100))),
            format!("\"{}…\"", "x".repeat(40))
        );
        assert_eq!(describe(&json!([[1, 2], 3])), "a list");
        assert_eq!(describe(&json!({"a": [1]})), "an object");
    }

    #[test]
    fn nesting_is_measured_without_recursion() {
        assert!(!nests_deeper_than(&json!(1), 0));
        assert!(nests_deeper_than(&json!([]), 0));
        assert!(!nests_deeper_than(&json!([[1], {"a": [2]}]), 3));
        assert!(nests_deeper_than(&json!([[1], {"a": [[2]]}]), 3));
        // Deeper than any recursive walk could go on a thread's stack.
        let mut deep = json!(1);
        for _ in 0..200_000 {
            deep = serde_json::Value::Array(vec![deep]);
        }
        assert!(nests_deeper_than(&deep, 128));
        // Dropping it would recurse as deep: take it apart level by level.
        while let serde_json::Value::Array(mut a) = deep {
            deep = a.pop().unwrap_or_default();
        }
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(from_json(FieldType::Integer, &json!(5)), Ok(Value::Int(5)));
        assert!(from_json(FieldType::Integer, &json!("5")).is_err());
        assert!(from_json(FieldType::Integer, &json!("0 OR 1=1")).is_err());
        assert!(from_json(FieldType::Integer, &json!(1.5)).is_err());
        assert!(from_json(FieldType::Integer, &json!([1])).is_err());
    }

    #[test]
    fn dates_are_real_calendar_dates() {
        assert_eq!(parse_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("2023-1-01"), None);
        assert_eq!(parse_date("2023-01-01'--"), None);
        assert_eq!(
            parse_datetime("2024-05-06T07:08:09.123Z").as_deref(),
            Some("2024-05-06 07:08:09")
        );
        assert_eq!(
            parse_datetime("2024-05-06 07:08").as_deref(),
            Some("2024-05-06 07:08:00")
        );
        assert_eq!(
            parse_datetime("2024-05-06").as_deref(),
            Some("2024-05-06 00:00:00")
        );
        assert_eq!(parse_datetime("2024-05-06 25:00"), None);
    }

    #[test]
    fn keys_and_booleans() {
        assert_eq!(
            from_json(FieldType::Keys, &json!([1, 5])),
            Ok(Value::Text("1;5".into()))
        );
        assert_eq!(
            from_json(FieldType::Keys, &json!("1; 5")),
            Ok(Value::Text("1;5".into()))
        );
        assert!(from_json(FieldType::Keys, &json!("1;x")).is_err());
        assert_eq!(
            from_json(FieldType::Boolean, &json!(1)),
            Ok(Value::Bool(true))
        );
        assert!(from_json(FieldType::Boolean, &json!(2)).is_err());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert!(parse_date(&today()).is_some());
        assert!(parse_datetime(&now()).is_some());
    }
}
