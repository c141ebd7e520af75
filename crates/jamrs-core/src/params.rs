//! How the optional members of a request body are read, the same way for every request
//! ([`crate::query::OpenParams`], [`crate::delta::ApplyParams`] and its changes):
//!
//! - `null` is the same as leaving the member out (`"filters": null` is no filters,
//!   `"expanded": null` is false);
//! - an integer member (`limit`, `offset`, a key) takes any JSON number that is a whole number,
//!   `5.0` as well as `5`, as JSON Schema's `integer` does; `5.5`, a negative count or text is
//!   refused with a message naming what was expected.

use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;

/// `null` or absent → `T::default()`.
pub fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An optional count (`limit`, `offset`): absent, `null`, or a whole number ≥ 0.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error as _;
    match Option::<Json>::deserialize(d)? {
        None | Some(Json::Null) => Ok(None),
        Some(v) => match whole_number(&v) {
            Ok(n) => u64::try_from(n)
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected a count of 0 or more, got {n}"))),
            Err(e) => Err(D::Error::custom(e)),
        },
    }
}

/// A whole number from a JSON number (`5` or `5.0`); the error says what was there instead.
pub fn whole_number(v: &Json) -> Result<i64, String> {
    let Json::Number(n) = v else {
        return Err(format!(
            "expected a whole number, got {}",
            crate::values::describe(v)
        ));
    };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    // Floats within ±2^63 that have no fraction convert exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) => Ok(f as i64),
        Some(f) if f.fract() == 0.0 || n.is_u64() => {
            Err(format!("{n} is too large for a whole number"))
        }
        _ => Err(format!("expected a whole number, got {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(whole_number(&json!(5)), Ok(5));
        assert_eq!(whole_number(&json!(788887.0)), Ok(788_887));
        assert_eq!(whole_number(&json!(-3.0)), Ok(-3));
        assert_eq!(whole_number(&json!(i64::MIN)), Ok(i64::MIN));
        assert!(whole_number(&json!(5.5)).unwrap_err().contains("5.5"));
        assert!(
            whole_number(&json!(1e300))
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            whole_number(&json!(u64::MAX))
                .unwrap_err()
                .contains("too large")
        );
        assert!(whole_number(&json!("5")).unwrap_err().contains("got \"5\""));
        assert!(whole_number(&json!(null)).is_err());
    }
}
