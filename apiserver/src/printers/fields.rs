//! Reading the stored JSON and formatting cells the way Kubernetes' printers do.
//!
//! Every accessor tolerates a missing or mistyped field, yielding the Go zero value, which is what
//! Kubernetes' printers see for an unset field.

use api::selector::LabelSelector;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde::Deserialize as _;
use serde_json::Value;

/// The value at `pointer` (a JSON pointer such as `/status/phase`), treating `null` as absent.
pub(super) fn field<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    value.pointer(pointer).filter(|v| !v.is_null())
}

pub(super) fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn int(value: &Value, pointer: &str) -> i64 {
    value.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub(super) fn flag(value: &Value, pointer: &str) -> bool {
    value.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

pub(super) fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value.pointer(pointer).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub(super) fn strings<'a>(value: &'a Value, pointer: &str) -> impl Iterator<Item = &'a str> {
    list(value, pointer).iter().filter_map(Value::as_str)
}

pub(super) fn map_len(value: &Value, pointer: &str) -> usize {
    value.pointer(pointer).and_then(Value::as_object).map_or(0, serde_json::Map::len)
}

pub(super) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn name(object: &Value) -> &str {
    text(object, "/metadata/name")
}

pub(super) fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub(super) fn or_none(s: &str) -> &str {
    non_empty(s).unwrap_or("<none>")
}

/// A `metav1.Time` or `MicroTime`; `None` when unset, unparsable or Go's zero time.
pub(super) fn timestamp(value: &Value, pointer: &str) -> Option<Timestamp> {
    /// 0001-01-01T00:00:00Z, Go's zero `time.Time`, which `metav1.Time.IsZero` treats as unset.
    const GO_ZERO_SECOND: i64 = -62_135_596_800;
    let parsed: Timestamp = value.pointer(pointer)?.as_str()?.parse().ok()?;
    (parsed.as_second() != GO_ZERO_SECOND || parsed.subsec_nanosecond() != 0).then_some(parsed)
}

/// `translateTimestampSince`: the age of `time`, or `<unknown>` when it is unset.
pub(super) fn age(time: Option<Timestamp>, now: Timestamp) -> String {
    time.map_or_else(|| "<unknown>".to_owned(), |time| human_duration(now.duration_since(time)))
}

/// The `Age` cell.
pub(super) fn created(object: &Value, now: Timestamp) -> String {
    age(timestamp(object, "/metadata/creationTimestamp"), now)
}

/// Kubernetes' `duration.HumanDuration`: about two significant figures (`45s`, `3m20s`, `5h`, `2d3h`).
///
/// Up to a second of clock skew prints `0s`; more than that in the future prints `<invalid>`.
#[must_use]
pub fn human_duration(duration: SignedDuration) -> String {
    // Go's time.Duration is an i64 of nanoseconds and saturates; the arithmetic below is Go's.
    let saturated = if duration.is_negative() { i64::MIN } else { i64::MAX };
    let nanos = i64::try_from(duration.as_nanos()).unwrap_or(saturated);
    let seconds = nanos / 1_000_000_000;
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

/// At most this many addresses or ports are listed before ` + N more...`.
const LIST_LIMIT: usize = 3;

/// `listWithMoreString`: the first three items, then ` + N more...`; `<unset>` when there are none.
pub(super) fn list_with_more(items: impl Iterator<Item = String>) -> String {
    let mut shown = Vec::new();
    let mut total = 0;
    for item in items {
        if shown.len() < LIST_LIMIT {
            shown.push(item);
        }
        total += 1;
    }
    let joined = shown.join(",");
    if total > LIST_LIMIT {
        format!("{joined} + {} more...", total - LIST_LIMIT)
    } else if joined.is_empty() {
        "<unset>".to_owned()
    } else {
        joined
    }
}

/// `labels.FormatLabels`: `key=value` pairs in sorted order, or `<none>`.
pub(super) fn format_labels(labels: Option<&Value>) -> String {
    let mut pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or("")))
        .collect();
    // Go sorts the joined pairs, not the keys: `a.b=1` sorts before `a=2`.
    pairs.sort_unstable();
    if pairs.is_empty() { "<none>".to_owned() } else { pairs.join(",") }
}

/// `metav1.LabelSelectorAsSelector(..).String()`: requirements sorted by key, such as
/// `app=web,!legacy,tier in (a,b)`; an absent or empty selector is the empty string. `None` when Kubernetes
/// refuses the selector: a mistyped field, a bad operator, key or value.
pub(super) fn selector_string(selector: Option<&Value>) -> Option<String> {
    let selector = selector.map(metav1::LabelSelector::deserialize).transpose().ok()?;
    LabelSelector::from_k8s_optional(selector.as_ref()).ok().map(|selector| selector.to_string())
}

/// `metav1.FormatLabelSelector`: like [`selector_string`], with `<none>` and `<error>` placeholders.
pub(super) fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Some(rendered) if rendered.is_empty() => "<none>".to_owned(),
        Some(rendered) => rendered,
        None => "<error>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::printers::tests::now;

    #[test]
    fn human_duration_matches_go_at_every_boundary() {
        let cases: &[(i64, &str)] = &[
            (-3, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (200, "3m20s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (8 * 3600 - 1, "7h59m"),
            (8 * 3600, "8h"),
            (5 * 3600 * 9, "45h"),
            (48 * 3600 - 1, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400 - 1, "7d23h"),
            (8 * 86400, "8d"),
            (730 * 86400 - 1, "729d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400 - 1, "7y364d"),
            (8 * 365 * 86400, "8y"),
            (3 * 365 * 86400 * 100, "292y"), // Go's Duration saturates near 292 years.
        ];
        for &(seconds, expected) in cases {
            assert_eq!(human_duration(SignedDuration::from_secs(seconds)), expected, "{seconds}s");
        }
        // Sub-second skew: Go truncates toward zero before comparing.
        assert_eq!(human_duration(SignedDuration::from_millis(-1999)), "0s");
        assert_eq!(human_duration(SignedDuration::from_millis(-2000)), "<invalid>");
        assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
    }

    #[test]
    fn age_is_unknown_without_a_creation_timestamp() {
        let cases = [
            json!({ "metadata": { "name": "a" } }),
            json!({ "metadata": { "name": "a", "creationTimestamp": null } }),
            json!({ "metadata": { "name": "a", "creationTimestamp": "0001-01-01T00:00:00Z" } }),
            json!({ "metadata": { "name": "a", "creationTimestamp": "yesterday" } }),
        ];
        for object in &cases {
            assert_eq!(created(object, now()), "<unknown>", "{object}");
        }
        let fractional = json!({ "metadata": { "creationTimestamp": "2026-01-10T11:59:14.5Z" } });
        assert_eq!(created(&fractional, now()), "45s");
    }

    #[test]
    fn label_selectors_print_like_kubernetes() {
        let cases: &[(Value, &str, &str)] = &[
            (json!(null), "", "<none>"),
            (json!({}), "", "<none>"),
            (json!({ "matchLabels": {}, "matchExpressions": [] }), "", "<none>"),
            (
                json!({ "matchLabels": { "tier": "front", "app": "web" } }),
                "app=web,tier=front",
                "app=web,tier=front",
            ),
            (
                json!({
                    "matchLabels": { "zone": "a" },
                    "matchExpressions": [
                        { "key": "tier", "operator": "In", "values": ["b", "a"] },
                        { "key": "env", "operator": "NotIn", "values": ["dev"] },
                        { "key": "legacy", "operator": "DoesNotExist" },
                        { "key": "app", "operator": "Exists", "values": [] },
                    ],
                }),
                "app,env notin (dev),!legacy,tier in (a,b),zone=a",
                "app,env notin (dev),!legacy,tier in (a,b),zone=a",
            ),
            (
                json!({
                    "matchLabels": { "app": "x" },
                    "matchExpressions": [{ "key": "app", "operator": "Exists" }],
                }),
                "app=x,app",
                "app=x,app",
            ),
            (
                json!({ "matchLabels": { "example.com/app": "web" } }),
                "example.com/app=web",
                "example.com/app=web",
            ),
            (
                json!({ "matchLabels": { "a1.b-2.c/x": "A-b_c.d", "k8s.io/a-b": "" } }),
                "a1.b-2.c/x=A-b_c.d,k8s.io/a-b=",
                "a1.b-2.c/x=A-b_c.d,k8s.io/a-b=",
            ),
        ];
        for (selector, raw, formatted) in cases {
            let selector = Some(selector).filter(|s| !s.is_null());
            assert_eq!(selector_string(selector).as_deref(), Some(*raw), "{selector:?}");
            assert_eq!(format_label_selector(selector), *formatted, "{selector:?}");
        }
        let invalid = [
            json!({ "matchExpressions": [{ "key": "app", "operator": "Gt", "values": ["1"] }] }),
            json!({ "matchExpressions": [{ "key": "app", "operator": "In", "values": [] }] }),
            json!({ "matchExpressions": [{ "key": "app", "operator": "Exists", "values": ["x"] }] }),
            json!({ "matchExpressions": [{ "key": "", "operator": "Exists" }] }),
            json!({ "matchLabels": { "app": "bad value" } }),
            json!({ "matchLabels": { "Example.com/app": "web" } }),
            json!({ "matchLabels": { "a/b/c": "web" } }),
            json!({ "matchLabels": { "/app": "web" } }),
            json!({ "matchLabels": { "example.com/": "web" } }),
            json!({ "matchLabels": { "a..b/app": "web" } }),
            json!({ "matchLabels": { "-a.com/app": "web" } }),
            json!({ "matchLabels": { "app": "-a" } }),
            json!({ "matchLabels": { "app": "x".repeat(64) } }),
            json!({ "matchLabels": { "app": "ä" } }),
            json!({ "matchLabels": { "app": 3 } }),
            json!({ "matchLabels": ["app"] }),
        ];
        for selector in &invalid {
            assert_eq!(selector_string(Some(selector)), None, "{selector}");
            assert_eq!(format_label_selector(Some(selector)), "<error>", "{selector}");
        }
    }

    #[test]
    fn label_maps_sort_by_the_joined_pair() {
        assert_eq!(format_labels(Some(&json!({ "a": "2", "a.b": "1" }))), "a.b=1,a=2");
        assert_eq!(format_labels(Some(&json!({}))), "<none>");
        assert_eq!(format_labels(None), "<none>");
    }
}
