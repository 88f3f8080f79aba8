//! The apimachinery types whose JSON form is not an object: their protobuf fields to and from JSON, exactly as
//! Go's `MarshalJSON` and protobuf `Unmarshal` methods of those types behave.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::schema::Wrapper;
use super::wire::{self, WireValue};

/// `0001-01-01T00:00:00Z`, Go's zero `time.Time`, which Go prints as `null`.
const GO_ZERO_TIME: i64 = -62_135_596_800;
/// `0000-01-01T00:00:00Z` and `9999-12-31T23:59:59Z`: Go refuses to print times outside these years.
const FIRST_SECOND: i64 = -62_167_219_200;
const LAST_SECOND: i64 = 253_402_300_799;

/// The JSON form of a wrapper message's bytes.
pub fn to_json(wrapper: Wrapper, bytes: &[u8]) -> Result<Value, String> {
    match wrapper {
        Wrapper::Time | Wrapper::MicroTime => {
            // Go decodes an empty message as the zero time, which prints as null.
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            let (mut seconds, mut nanos) = (0_i64, 0_i64);
            for field in wire::fields(bytes) {
                match field? {
                    (1, WireValue::Varint(v)) => seconds = v as i64,
                    (2, WireValue::Varint(v)) => nanos = i64::from(v as i32),
                    (1 | 2, other) => {
                        return Err(format!("a time field is {}, not a varint", other.describe()));
                    }
                    _ => {}
                }
            }
            // `Time` keeps whole seconds (its JSON form never had more); `MicroTime` keeps what `time.Unix`
            // makes of the nanoseconds, which it normalises into [0, 1e9).
            if wrapper == Wrapper::Time {
                nanos = 0;
            }
            seconds = seconds
                .checked_add(nanos.div_euclid(1_000_000_000))
                .ok_or_else(|| format!("the time {seconds}s is out of range"))?;
            nanos = nanos.rem_euclid(1_000_000_000);
            if seconds == GO_ZERO_TIME && nanos == 0 {
                return Ok(Value::Null);
            }
            format_time(seconds, (wrapper == Wrapper::MicroTime).then_some(nanos / 1000)).map(Value::String)
        }
        Wrapper::Duration => {
            let mut nanos = 0_i64;
            for field in wire::fields(bytes) {
                match field? {
                    (1, WireValue::Varint(v)) => nanos = v as i64,
                    (1, other) => return Err(format!("a duration is {}, not a varint", other.describe())),
                    _ => {}
                }
            }
            Ok(Value::String(go_duration(nanos)))
        }
        Wrapper::Quantity => {
            // A quantity with no string is Go's zero Quantity, which prints as "0".
            let mut quantity = "0".to_owned();
            for field in wire::fields(bytes) {
                match field? {
                    (1, WireValue::Bytes(b)) => utf8(b)?.clone_into(&mut quantity),
                    (1, other) => return Err(format!("a quantity is {}, not a string", other.describe())),
                    _ => {}
                }
            }
            Ok(Value::String(quantity))
        }
        Wrapper::IntOrString => {
            let (mut kind, mut int, mut string) = (0_i64, 0_i32, String::new());
            for field in wire::fields(bytes) {
                match field? {
                    (1, WireValue::Varint(v)) => kind = v as i64,
                    (2, WireValue::Varint(v)) => int = v as i32,
                    (3, WireValue::Bytes(b)) => utf8(b)?.clone_into(&mut string),
                    (1..=3, other) => {
                        return Err(format!("an IntOrString field is {}", other.describe()));
                    }
                    _ => {}
                }
            }
            match kind {
                0 => Ok(Value::from(int)),
                1 => Ok(Value::String(string)),
                other => Err(format!("IntOrString type {other} is neither 0 (int) nor 1 (string)")),
            }
        }
        Wrapper::RawExtension | Wrapper::FieldsV1 => {
            let mut raw: Option<&[u8]> = None;
            for field in wire::fields(bytes) {
                match field? {
                    (1, WireValue::Bytes(b)) => raw = Some(b),
                    (1, other) => return Err(format!("an embedded document is {}", other.describe())),
                    _ => {}
                }
            }
            match raw {
                // Go prints a missing (or empty) document as null.
                None | Some([]) => Ok(Value::Null),
                Some(raw) => serde_json::from_slice(raw)
                    .map_err(|e| format!("the embedded document is not valid JSON: {e}")),
            }
        }
        Wrapper::ExtraValue => {
            let mut items = Vec::new();
            for field in wire::fields(bytes) {
                match field? {
                    (1, WireValue::Bytes(b)) => items.push(Value::String(utf8(b)?.to_owned())),
                    (1, other) => {
                        return Err(format!("an ExtraValue item is {}, not a string", other.describe()));
                    }
                    _ => {}
                }
            }
            Ok(Value::Array(items))
        }
    }
}

/// The protobuf bytes of a wrapper message from its JSON form, written as Go writes them.
pub fn from_json(wrapper: Wrapper, value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match wrapper {
        Wrapper::Time | Wrapper::MicroTime => {
            let text = value.as_str().ok_or_else(|| format!("expected an RFC 3339 time, got {value}"))?;
            let time: jiff::Timestamp =
                text.parse().map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))?;
            let nanos = if wrapper == Wrapper::Time { 0 } else { time.subsec_nanosecond() / 1000 * 1000 };
            wire::put_varint(&mut out, 1, time.as_second() as u64);
            wire::put_varint(&mut out, 2, i64::from(nanos) as u64);
        }
        Wrapper::Duration => {
            let text = value.as_str().ok_or_else(|| format!("expected a duration string, got {value}"))?;
            wire::put_varint(&mut out, 1, parse_go_duration(text)? as u64);
        }
        Wrapper::Quantity => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => return Err(format!("expected a quantity, got {other}")),
            };
            wire::put_bytes(&mut out, 1, text.as_bytes());
        }
        Wrapper::IntOrString => {
            let (kind, int, string) = match value {
                Value::Number(n) => {
                    let int = n
                        .as_i64()
                        .and_then(|i| i32::try_from(i).ok())
                        .ok_or_else(|| format!("{n} is not a 32-bit integer"))?;
                    (0, int, "")
                }
                Value::String(s) => (1, 0, s.as_str()),
                other => return Err(format!("expected an integer or a string, got {other}")),
            };
            wire::put_varint(&mut out, 1, kind);
            wire::put_varint(&mut out, 2, i64::from(int) as u64);
            wire::put_bytes(&mut out, 3, string.as_bytes());
        }
        Wrapper::RawExtension | Wrapper::FieldsV1 => {
            wire::put_bytes(&mut out, 1, value.to_string().as_bytes());
        }
        Wrapper::ExtraValue => {
            for item in value.as_array().ok_or_else(|| format!("expected a list of strings, got {value}"))? {
                let item = item.as_str().ok_or_else(|| format!("expected a string, got {item}"))?;
                wire::put_bytes(&mut out, 1, item.as_bytes());
            }
        }
    }
    Ok(out)
}

/// Bytes that must be text: Kubernetes' JSON cannot carry anything else.
pub fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("a string is not valid UTF-8: {e}"))
}

/// Base64, as Go's `encoding/json` prints `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of a base64 JSON string.
pub fn unbase64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(text).map_err(|e| format!("{text:?} is not base64: {e}"))
}

/// `2006-01-02T15:04:05Z`, or with `.000000` microseconds: Go's RFC 3339 forms of `Time` and `MicroTime`.
fn format_time(seconds: i64, micros: Option<i64>) -> Result<String, String> {
    if !(FIRST_SECOND..=LAST_SECOND).contains(&seconds) {
        return Err(format!("the time {seconds}s since 1970 is outside the years 0 to 9999"));
    }
    let time = jiff::Timestamp::from_second(seconds).map_err(|e| e.to_string())?;
    let t = time.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let fraction = micros.map(|micros| format!(".{micros:06}")).unwrap_or_default();
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn go_duration(nanos: i64) -> String {
    /// `value / 10^digits`, and the fraction as `.5` without trailing zeros (nothing when it is zero).
    fn split(value: u64, digits: u32) -> (u64, String) {
        let scale = 10_u64.pow(digits);
        let fraction = value % scale;
        let text = if fraction == 0 {
            String::new()
        } else {
            format!(".{fraction:0width$}", width = digits as usize).trim_end_matches('0').to_owned()
        };
        (value / scale, text)
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let text = if u == 0 {
        "0s".to_owned()
    } else if u < 1_000_000_000 {
        let (unit, digits) = if u < 1_000 {
            ("ns", 0)
        } else if u < 1_000_000 {
            ("µs", 3)
        } else {
            ("ms", 6)
        };
        let (whole, fraction) = split(u, digits);
        format!("{whole}{fraction}{unit}")
    } else {
        let (seconds, fraction) = split(u, 9);
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        if h > 0 {
            format!("{h}h{m}m{s}{fraction}s")
        } else if m > 0 {
            format!("{m}m{s}{fraction}s")
        } else {
            format!("{s}{fraction}s")
        }
    };
    format!("{sign}{text}")
}

/// Go's `time.ParseDuration`: a sign, then numbers with units (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`).
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a Go duration");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad());
        }
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let mut value = whole.checked_mul(scale).ok_or_else(bad)?;
        if !fraction.is_empty() {
            let digits: u32 = fraction.len().try_into().map_err(|_| bad())?;
            let fraction: i128 = fraction.parse().map_err(|_| bad())?;
            value +=
                fraction.checked_mul(scale).ok_or_else(bad)? / 10_i128.checked_pow(digits).ok_or_else(bad)?;
        }
        total = total.checked_add(value).ok_or_else(bad)?;
        rest = tail;
    }
    let total = if negative { -total } else { total };
    i64::try_from(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A message from (tag, varint) and (tag, bytes) fields.
    fn msg(varints: &[(u32, i64)], strings: &[(u32, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(tag, v) in varints {
            wire::put_varint(&mut out, tag, v as u64);
        }
        for &(tag, s) in strings {
            wire::put_bytes(&mut out, tag, s.as_bytes());
        }
        out
    }

    #[test]
    fn every_wrapper_maps_to_its_json_form() {
        let cases: Vec<(Wrapper, Vec<u8>, Value)> = vec![
            // Time: whole seconds, UTC; empty and Go's zero time are null; nanoseconds are dropped.
            (Wrapper::Time, msg(&[(1, 1_700_000_000)], &[]), json!("2023-11-14T22:13:20Z")),
            (Wrapper::Time, msg(&[(1, 1_700_000_000), (2, 999_999_999)], &[]), json!("2023-11-14T22:13:20Z")),
            (Wrapper::Time, msg(&[(1, 0), (2, 0)], &[]), json!("1970-01-01T00:00:00Z")),
            (Wrapper::Time, msg(&[(1, -1)], &[]), json!("1969-12-31T23:59:59Z")),
            (Wrapper::Time, msg(&[(1, FIRST_SECOND)], &[]), json!("0000-01-01T00:00:00Z")),
            (Wrapper::Time, vec![], Value::Null),
            (Wrapper::Time, msg(&[(1, GO_ZERO_TIME)], &[]), Value::Null),
            // MicroTime: six digits, truncated; nanoseconds outside [0, 1e9) carry into the seconds.
            (
                Wrapper::MicroTime,
                msg(&[(1, 1_700_000_000), (2, 123_456_789)], &[]),
                json!("2023-11-14T22:13:20.123456Z"),
            ),
            (Wrapper::MicroTime, msg(&[(1, 1_700_000_000)], &[]), json!("2023-11-14T22:13:20.000000Z")),
            (
                Wrapper::MicroTime,
                msg(&[(1, 1_700_000_000), (2, -1_000)], &[]),
                json!("2023-11-14T22:13:19.999999Z"),
            ),
            (
                Wrapper::MicroTime,
                msg(&[(1, 1_700_000_000), (2, 1_500_000_000)], &[]),
                json!("2023-11-14T22:13:21.500000Z"),
            ),
            (Wrapper::MicroTime, vec![], Value::Null),
            // Duration: Go's String().
            (Wrapper::Duration, msg(&[(1, 0)], &[]), json!("0s")),
            (Wrapper::Duration, vec![], json!("0s")),
            (Wrapper::Duration, msg(&[(1, 1)], &[]), json!("1ns")),
            (Wrapper::Duration, msg(&[(1, 1_500)], &[]), json!("1.5µs")),
            (Wrapper::Duration, msg(&[(1, 100_000_000)], &[]), json!("100ms")),
            (Wrapper::Duration, msg(&[(1, 1_500_000_000)], &[]), json!("1.5s")),
            (Wrapper::Duration, msg(&[(1, 60_000_000_000)], &[]), json!("1m0s")),
            (Wrapper::Duration, msg(&[(1, 3_723_004_000_000)], &[]), json!("1h2m3.004s")),
            (Wrapper::Duration, msg(&[(1, -90_000_000_000)], &[]), json!("-1m30s")),
            (Wrapper::Duration, msg(&[(1, i64::MIN)], &[]), json!("-2562047h47m16.854775808s")),
            // Quantity: the string as written; Go's zero Quantity is "0".
            (Wrapper::Quantity, msg(&[], &[(1, "500m")]), json!("500m")),
            (Wrapper::Quantity, msg(&[], &[(1, "1Gi")]), json!("1Gi")),
            (Wrapper::Quantity, vec![], json!("0")),
            // IntOrString: the type picks the member.
            (Wrapper::IntOrString, msg(&[(1, 0), (2, 8080)], &[(3, "")]), json!(8080)),
            (Wrapper::IntOrString, msg(&[(1, 0), (2, -1)], &[]), json!(-1)),
            (Wrapper::IntOrString, msg(&[(1, 1), (2, 0)], &[(3, "25%")]), json!("25%")),
            (Wrapper::IntOrString, vec![], json!(0)),
            // RawExtension and FieldsV1: the embedded document; absent or empty is null.
            (Wrapper::RawExtension, msg(&[], &[(1, r#"{"a":[1,"b"]}"#)]), json!({"a": [1, "b"]})),
            (Wrapper::RawExtension, vec![], Value::Null),
            (Wrapper::RawExtension, msg(&[], &[(1, "")]), Value::Null),
            (Wrapper::FieldsV1, msg(&[], &[(1, r#"{"f:data":{".":{}}}"#)]), json!({"f:data": {".": {}}})),
            (Wrapper::FieldsV1, vec![], Value::Null),
        ];
        for (wrapper, bytes, expected) in cases {
            assert_eq!(to_json(wrapper, &bytes).as_ref(), Ok(&expected), "{wrapper:?} {bytes:?}");
            // And back: the JSON form encodes to bytes that decode to the same JSON form.
            if !expected.is_null() {
                let encoded = from_json(wrapper, &expected).unwrap();
                assert_eq!(to_json(wrapper, &encoded).as_ref(), Ok(&expected), "{wrapper:?} round trip");
            }
        }
    }

    #[test]
    fn malformed_wrappers_are_errors() {
        for (wrapper, bytes, what) in [
            (Wrapper::IntOrString, msg(&[(1, 2)], &[]), "neither 0 (int) nor 1 (string)"),
            (Wrapper::IntOrString, msg(&[], &[(2, "x")]), "IntOrString field"),
            (Wrapper::Time, msg(&[], &[(1, "x")]), "not a varint"),
            (Wrapper::Time, msg(&[(1, LAST_SECOND + 1)], &[]), "outside the years"),
            (Wrapper::Time, msg(&[(1, i64::MAX)], &[]), "outside the years"),
            (Wrapper::MicroTime, msg(&[(1, i64::MAX), (2, 1_999_999_999)], &[]), "out of range"),
            (Wrapper::Quantity, vec![0x0a, 1, 0xff], "UTF-8"),
            (Wrapper::Quantity, msg(&[(1, 5)], &[]), "not a string"),
            (Wrapper::RawExtension, msg(&[], &[(1, "{")]), "not valid JSON"),
            (Wrapper::FieldsV1, vec![0x0a, 9], "claims 9 bytes"),
            (Wrapper::Duration, msg(&[], &[(1, "1s")]), "not a varint"),
        ] {
            let error = to_json(wrapper, &bytes).unwrap_err();
            assert!(error.contains(what), "{wrapper:?}: {error}");
        }
    }

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        // (text, nanoseconds, whether Go prints the duration this way)
        for (text, nanos, canonical) in [
            ("0", 0, false),
            ("0s", 0, true),
            ("1ns", 1, true),
            ("1.5us", 1_500, false),
            ("1.5µs", 1_500, true),
            ("100ms", 100_000_000, true),
            ("1h2m3.004s", 3_723_004_000_000, true),
            ("-1m30s", -90_000_000_000, true),
            ("+.5s", 500_000_000, false),
            ("-2562047h47m16.854775808s", i64::MIN, true),
        ] {
            assert_eq!(parse_go_duration(text), Ok(nanos), "{text}");
            if canonical {
                assert_eq!(go_duration(nanos), text);
            }
        }
        for bad in ["", "1", "1x", "s", ".s", "1.5", "--1s", "9999999999999h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_encode_as_go_writes_them() {
        assert_eq!(
            from_json(Wrapper::Time, &json!("1970-01-01T00:00:01Z")).unwrap(),
            msg(&[(1, 1), (2, 0)], &[])
        );
        assert_eq!(
            from_json(Wrapper::MicroTime, &json!("1970-01-01T00:00:01.000002Z")).unwrap(),
            msg(&[(1, 1), (2, 2_000)], &[])
        );
        assert!(from_json(Wrapper::Time, &json!("yesterday")).is_err());
        assert_eq!(base64(b"\x00\xffab"), "AP9hYg==");
        assert_eq!(unbase64("AP9hYg==").unwrap(), b"\x00\xffab");
    }
}
