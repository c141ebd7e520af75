//! Values to and from PostgreSQL's binary format.
//!
//! The server infers each parameter's type from the statement, and the client must send that
//! type: an `Int` goes into a `bigint`, an `integer` (a boolean column), a `double precision`
//! or a `numeric` (a `SUM` compared in a filter), a `Text` into `text`, `date` or `timestamp`.
//! So binding is directed by the parameter's type ([`Bind`]), and a value that does not fit it
//! is an error, never a silent change. Reading ([`Cell`]) turns each column's type into the
//! engine's [`Value`]: dates and timestamps come back as the ISO text jamrs uses everywhere.

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use jamrs_core::{FieldType, Value};
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn StdError + Sync + Send>;

/// Days from 0000-03-01 based civil days to 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// PostgreSQL counts dates from 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `YYYY-MM-DD` → days since 2000-01-01.
fn date_days(s: &str) -> Option<i32> {
    let d = jamrs_core::values::parse_date(s)?;
    let (y, m, day) = (
        d[0..4].parse().ok()?,
        d[5..7].parse().ok()?,
        d[8..10].parse().ok()?,
    );
    i32::try_from(days_from_civil(y, m, day) - PG_EPOCH_DAYS).ok()
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (or `T`, or a date alone) → microseconds since 2000-01-01.
fn timestamp_micros(s: &str) -> Option<i64> {
    let whole = jamrs_core::values::parse_datetime(s)?;
    let days = i64::from(date_days(&whole[..10])?);
    let h: i64 = whole[11..13].parse().ok()?;
    let mi: i64 = whole[14..16].parse().ok()?;
    let sec: i64 = whole[17..19].parse().ok()?;
    // Fractions of a second, which parse_datetime drops, are kept when given.
    let mut micros = 0;
    if s.len() > 19 && s.as_bytes()[19] == b'.' {
        let frac: String = s[20..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(6)
            .collect();
        if !frac.is_empty() {
            micros = format!("{frac:0<6}").parse().ok()?;
        }
    }
    Some(days * MICROS_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1_000_000 + micros)
}

fn date_text(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days) + PG_EPOCH_DAYS);
    format!("{y:04}-{m:02}-{d:02}")
}

fn timestamp_text(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days + PG_EPOCH_DAYS);
    let secs = rest / 1_000_000;
    let frac = rest % 1_000_000;
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    } else {
        let f = format!("{frac:06}");
        format!(
            "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{}",
            f.trim_end_matches('0')
        )
    }
}

// ---------------------------------------------------------------------------------------------
// numeric: sign, weight and base-10000 digits.

const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// A decimal text (`-12.5`, `3`) in numeric's binary form.
fn encode_numeric(text: &str, out: &mut BytesMut) -> Option<()> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let dscale = u16::try_from(frac.len()).ok()?;
    let int = int.trim_start_matches('0');
    // Left-pad the integer part and right-pad the fraction to whole groups of four digits.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let all: String = "0".repeat(int_pad) + int + frac + &"0".repeat(frac_pad);
    let mut groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).ok()?.parse().ok())
        .collect::<Option<_>>()?;
    let mut weight = i32::try_from((int.len() + int_pad) / 4).ok()? - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(i16::try_from(groups.len()).ok()?);
    out.put_i16(i16::try_from(weight).ok()?);
    out.put_u16(if neg && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        0
    });
    out.put_u16(dscale);
    for g in groups {
        out.put_i16(g);
    }
    Some(())
}

/// numeric's binary form as a decimal text; `None` for NaN.
fn decode_numeric(raw: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<i16> {
        Some(i16::from_be_bytes([*raw.get(i * 2)?, *raw.get(i * 2 + 1)?]))
    };
    let ndigits = usize::try_from(word(0)?).ok()?;
    let weight = i32::from(word(1)?);
    let sign = u16::from_be_bytes([raw[4], raw[5]]);
    let dscale = usize::from(u16::from_be_bytes([*raw.get(6)?, *raw.get(7)?]));
    if sign == NUMERIC_NAN {
        return None;
    }
    let digit = |i: i32| -> i16 {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < ndigits)
            .and_then(|i| word(4 + i))
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == NUMERIC_NEG {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                out.push_str(&digit(i).to_string());
            } else {
                out.push_str(&format!("{:04}", digit(i)));
            }
        }
    }
    if dscale > 0 {
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        frac.truncate(dscale);
        out.push('.');
        out.push_str(&frac);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Binding

/// A [`Value`] bound as the parameter's type asks (see the module's doc).
#[derive(Debug)]
pub struct Bind<'a>(pub &'a Value);

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

fn refuse(v: &Value, ty: &Type) -> BoxError {
    let kind = match v {
        Value::Null => "null",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Text(_) => "a text",
        Value::Bool(_) => "a boolean",
    };
    format!("{kind} cannot be bound to a parameter of type {ty}").into()
}

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let v = self.0;
        let bad = || refuse(v, ty);
        match v {
            Value::Null => return Ok(IsNull::Yes),
            Value::Int(i) => int_to_sql(*i, ty, out).ok_or_else(bad)?,
            Value::Bool(b) if *ty == Type::BOOL => out.put_u8(u8::from(*b)),
            Value::Bool(b) if is_text(ty) => out.put_slice(if *b { b"1" } else { b"0" }),
            Value::Bool(b) => int_to_sql(i64::from(*b), ty, out).ok_or_else(bad)?,
            Value::Float(f) => match *ty {
                Type::FLOAT8 => out.put_f64(*f),
                Type::FLOAT4 => out.put_f32(*f as f32),
                Type::NUMERIC if f.is_finite() => {
                    encode_numeric(&f.to_string(), out).ok_or_else(bad)?;
                }
                Type::INT8 | Type::INT4 | Type::INT2 if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    int_to_sql(*f as i64, ty, out).ok_or_else(bad)?;
                }
                _ if is_text(ty) => out.put_slice(format!("{f:?}").as_bytes()),
                _ => return Err(bad()),
            },
            Value::Text(s) => match *ty {
                _ if is_text(ty) => out.put_slice(s.as_bytes()),
                Type::JSON => out.put_slice(s.as_bytes()),
                Type::JSONB => {
                    out.put_u8(1);
                    out.put_slice(s.as_bytes());
                }
                Type::DATE => out.put_i32(
                    date_days(s)
                        .ok_or_else(|| format!("\"{}\" is not a date (YYYY-MM-DD)", short(s)))?,
                ),
                Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                    out.put_i64(timestamp_micros(s).ok_or_else(|| {
                        format!(
                            "\"{}\" is not a date and time (YYYY-MM-DD HH:MM:SS)",
                            short(s)
                        )
                    })?);
                }
                Type::INT8 | Type::INT4 | Type::INT2 => {
                    let i: i64 = s.trim().parse().map_err(|_| bad())?;
                    int_to_sql(i, ty, out).ok_or_else(bad)?;
                }
                Type::FLOAT8 | Type::FLOAT4 | Type::NUMERIC => {
                    let f: f64 = s.trim().parse().map_err(|_| bad())?;
                    Bind(&Value::Float(f)).to_sql(ty, out)?;
                }
                _ => return Err(bad()),
            },
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn int_to_sql(i: i64, ty: &Type, out: &mut BytesMut) -> Option<()> {
    match *ty {
        Type::INT8 => out.put_i64(i),
        Type::INT4 => out.put_i32(i32::try_from(i).ok()?),
        Type::INT2 => out.put_i16(i16::try_from(i).ok()?),
        Type::OID => out.put_u32(u32::try_from(i).ok()?),
        Type::FLOAT8 => out.put_f64(i as f64),
        Type::FLOAT4 => out.put_f32(i as f32),
        Type::BOOL => out.put_u8(u8::from(i != 0)),
        Type::NUMERIC => encode_numeric(&i.to_string(), out)?,
        _ if is_text(ty) => out.put_slice(i.to_string().as_bytes()),
        _ => return None,
    }
    Some(())
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

// ---------------------------------------------------------------------------------------------
// Reading

/// One column's value as the database holds it.
pub struct Cell(pub Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Cell, BoxError> {
        let be = |n: usize| -> Result<&[u8], BoxError> {
            raw.get(..n)
                .ok_or_else(|| format!("a {ty} value is too short").into())
        };
        Ok(Cell(match *ty {
            Type::BOOL => Value::Bool(be(1)?[0] != 0),
            Type::INT2 => Value::Int(i64::from(i16::from_be_bytes(be(2)?.try_into()?))),
            Type::INT4 => Value::Int(i64::from(i32::from_be_bytes(be(4)?.try_into()?))),
            Type::INT8 => Value::Int(i64::from_be_bytes(be(8)?.try_into()?)),
            Type::OID => Value::Int(i64::from(u32::from_be_bytes(be(4)?.try_into()?))),
            Type::FLOAT4 => Value::Float(f64::from(f32::from_be_bytes(be(4)?.try_into()?))),
            Type::FLOAT8 => Value::Float(f64::from_be_bytes(be(8)?.try_into()?)),
            Type::NUMERIC => match decode_numeric(raw) {
                None => Value::Float(f64::NAN),
                Some(text) if !text.contains('.') => match text.parse::<i64>() {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::Float(text.parse()?),
                },
                Some(text) => Value::Float(text.parse()?),
            },
            Type::DATE => Value::Text(date_text(i32::from_be_bytes(be(4)?.try_into()?))),
            // The session's time zone is UTC (conn::configure), so a timestamptz reads as UTC.
            Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                Value::Text(timestamp_text(i64::from_be_bytes(be(8)?.try_into()?)))
            }
            Type::JSONB => {
                Value::Text(String::from_utf8_lossy(raw.get(1..).unwrap_or_default()).into_owned())
            }
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
                Value::Text(match std::str::from_utf8(raw) {
                    Ok(t) => t.to_owned(),
                    Err(_) => String::from_utf8_lossy(raw).into_owned(),
                })
            }
            _ => {
                return Err(format!(
                    "a column of type {ty} cannot be read by jamrs (cast it, e.g. CAST(x AS TEXT))"
                )
                .into());
            }
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Cell, BoxError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A value read for a column of the engine's type `t`, as the SQLite backend gives it
/// (`jamrs-sqlite/src/conn.rs` `decode`): integers are booleans for a boolean field and
/// numbers for a float one; a boolean read for an integer is 0 or 1.
pub fn as_field(v: Value, t: FieldType) -> Value {
    match (v, t) {
        (Value::Int(i), FieldType::Boolean) => Value::Bool(i != 0),
        (Value::Int(i), FieldType::Float | FieldType::Currency) => Value::Float(i as f64),
        (Value::Bool(b), FieldType::Integer) => Value::Int(i64::from(b)),
        (v, _) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for d in [
            "2000-01-01",
            "1999-12-31",
            "2024-02-29",
            "1900-03-01",
            "2100-12-31",
        ] {
            assert_eq!(date_text(date_days(d).unwrap()), d);
        }
        assert_eq!(date_days("2000-01-02"), Some(1));
        assert_eq!(date_days("2024-02-30"), None);
        assert_eq!(
            timestamp_text(timestamp_micros("2024-05-06 07:08:09").unwrap()),
            "2024-05-06 07:08:09"
        );
        assert_eq!(
            timestamp_text(timestamp_micros("1970-01-01T00:00:00.25").unwrap()),
            "1970-01-01 00:00:00.25"
        );
        assert_eq!(timestamp_micros("2000-01-01 00:00:01"), Some(1_000_000));
    }

    #[test]
    fn numerics_round_trip() {
        for n in [
            "0",
            "1",
            "-1",
            "12345",
            "10000",
            "123456789.5",
            "0.0001",
            "-0.25",
            "99999999.99999",
        ] {
            let mut out = BytesMut::new();
            encode_numeric(n, &mut out).unwrap();
            let back = decode_numeric(&out).unwrap();
            assert_eq!(
                back.parse::<f64>().unwrap(),
                n.parse::<f64>().unwrap(),
                "{n} → {back}"
            );
        }
        let mut out = BytesMut::new();
        assert!(encode_numeric("1e5", &mut out).is_none());
    }
}
