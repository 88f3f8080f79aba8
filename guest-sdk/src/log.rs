//! Structured logs: one JSON object per line on stderr, `{"level":"info","msg":"...",<fields>}`.
//!
//! The node keeps a container's stdout and stderr as its log (`kubectl logs`, `--timestamps` for when each line
//! was written), so a line carries no time of its own. `LOG_LEVEL` (`debug`, `info`, `warn` or `error`; `info`
//! when unset or unknown) sets the least severe level written. Fields are `name = value` pairs whose values
//! are anything [`serde::Serialize`]:
//!
//! ```
//! use guest_sdk::log;
//!
//! let path = "/notes/groceries";
//! log::info!("stored a note", path = path, bytes = 42);
//! log::warn!("slow upstream", millis = 1200, upstream = "http://backend");
//! assert_eq!(
//!     log::line(log::Level::Info, "stored a note", &[("path", serde_json::json!(path))]),
//!     r#"{"level":"info","msg":"stored a note","path":"/notes/groceries"}"#,
//! );
//! ```

use std::io::Write as _;
use std::sync::OnceLock;

use serde_json::Value;

/// How severe a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the guest handled.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    /// The level's name as written in the `level` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Self::Debug),
            "info" => Some(Self::Info),
            "warn" | "warning" => Some(Self::Warn),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// Whether lines of `level` are written, as `LOG_LEVEL` says (read once).
pub fn enabled(level: Level) -> bool {
    static THRESHOLD: OnceLock<Level> = OnceLock::new();
    let threshold = THRESHOLD.get_or_init(|| {
        std::env::var("LOG_LEVEL").ok().and_then(|l| Level::from_name(&l)).unwrap_or(Level::Info)
    });
    level >= *threshold
}

/// The line for a message and its fields, without the line break. Fields named `level` or `msg` are written
/// too (JSON readers keep the last of duplicate keys): the macros cannot stop a caller from using those names,
/// and dropping data silently would be worse.
pub fn line(level: Level, msg: &str, fields: &[(&str, Value)]) -> String {
    let mut out = format!(r#"{{"level":"{}","msg":{}"#, level.as_str(), Value::from(msg));
    for (name, value) in fields {
        out.push(',');
        out.push_str(&Value::from(*name).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// Writes one line to stderr if `level` is enabled; the macros call this.
pub fn emit(level: Level, msg: &str, fields: &[(&str, Value)]) {
    if !enabled(level) {
        return;
    }
    let mut text = line(level, msg, fields);
    text.push('\n');
    // One write per line, so that lines from concurrent writers never interleave; a closed stderr has nowhere to
    // report to.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// A field's value as JSON; the macros call this. A value that cannot be serialised (a map with non-string
/// keys) is written as its error message rather than lost.
pub fn value<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| Value::String(format!("<unserialisable: {e}>")))
}

/// Logs at `debug`: `debug!("message", field = value, ...)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __log_debug {
    ($msg:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::log::emit($crate::log::Level::Debug, &$msg, &[$((stringify!($name), $crate::log::value(&$value))),*])
    };
}

/// Logs at `info`: `info!("message", field = value, ...)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __log_info {
    ($msg:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::log::emit($crate::log::Level::Info, &$msg, &[$((stringify!($name), $crate::log::value(&$value))),*])
    };
}

/// Logs at `warn`: `warn!("message", field = value, ...)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __log_warn {
    ($msg:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::log::emit($crate::log::Level::Warn, &$msg, &[$((stringify!($name), $crate::log::value(&$value))),*])
    };
}

/// Logs at `error`: `error!("message", field = value, ...)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __log_error {
    ($msg:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::log::emit($crate::log::Level::Error, &$msg, &[$((stringify!($name), $crate::log::value(&$value))),*])
    };
}

#[doc(inline)]
pub use crate::__log_debug as debug;
#[doc(inline)]
pub use crate::__log_error as error;
#[doc(inline)]
pub use crate::__log_info as info;
#[doc(inline)]
pub use crate::__log_warn as warn;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_are_json_objects_with_level_message_and_fields_in_order() {
        let text =
            line(Level::Warn, "quote \" and\nnewline", &[("b", json!(2)), ("a", json!({"x": [1, null]}))]);
        assert_eq!(text, r#"{"level":"warn","msg":"quote \" and\nnewline","b":2,"a":{"x":[1,null]}}"#);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["msg"], "quote \" and\nnewline");
    }

    #[test]
    fn levels_parse_leniently_and_order_by_severity() {
        assert_eq!(Level::from_name(" WARNING "), Some(Level::Warn));
        assert_eq!(Level::from_name("verbose"), None);
        assert!(Level::Error > Level::Warn && Level::Warn > Level::Info && Level::Info > Level::Debug);
    }

    #[test]
    fn the_macros_take_any_serialisable_values() {
        let path = String::from("/a");
        crate::log::info!("served", path = path, status = 200u16, tags = ["x", "y"]);
        crate::log::debug!(format!("computed {}", 1));
        assert_eq!(value(&[1, 2]), json!([1, 2]));
    }
}
