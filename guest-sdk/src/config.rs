//! Configuration from the pod spec: environment variables and files of mounted volumes.
//!
//! Kubernetes hands a container its configuration in two ways, and Wharf does both: variables (`env` values,
//! `configMapKeyRef`, `secretKeyRef`, `fieldRef`, whole ConfigMaps and Secrets with `envFrom`), fixed when the
//! container starts; and files, one per key, in `configMap` and `secret` volumes, which the node rewrites when the
//! object changes, so a guest that reads them again sees the new values without a restart.
//!
//! Errors name the variable or file that is missing or malformed but never its value, which may be a secret.
//!
//! ```no_run
//! use guest_sdk::config;
//!
//! # fn main() -> Result<(), config::Error> {
//! let queue = config::var("QUEUE")?;                       // required
//! let batch: u32 = config::parse_or("BATCH_SIZE", 10)?;    // optional, typed
//! let token = config::secret_file("/etc/worker/credentials/token")?;
//! let settings = config::dir("/etc/worker/config")?;       // every key of a mounted ConfigMap
//! # let _ = (queue, batch, token, settings);
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why a setting could not be read.
#[derive(Debug)]
pub enum Error {
    /// A required variable is not set.
    Missing {
        /// The variable's name.
        name: String,
    },
    /// A variable or file is set but is not valid UTF-8, or does not parse as the type asked for.
    Invalid {
        /// The variable's name or the file's path.
        name: String,
        /// The type that was expected.
        expected: &'static str,
    },
    /// A file could not be read.
    Unreadable {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { name } => write!(f, "environment variable {name} is not set"),
            Self::Invalid { name, expected } => write!(f, "{name} is not a valid {expected}"),
            Self::Unreadable { path, .. } => write!(f, "cannot read {}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unreadable { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A required environment variable.
pub fn var(name: &str) -> Result<String, Error> {
    optional(name)?.ok_or_else(|| Error::Missing { name: name.to_owned() })
}

/// An environment variable, or `default` when it is not set (a value that is not UTF-8 is an error).
pub fn var_or(name: &str, default: &str) -> Result<String, Error> {
    Ok(optional(name)?.unwrap_or_else(|| default.to_owned()))
}

/// A required environment variable parsed as `T` (a number, a bool, a duration in your own unit...).
pub fn parse<T: FromStr>(name: &str) -> Result<T, Error> {
    parse_value(name, &var(name)?)
}

/// An environment variable parsed as `T`, or `default` when it is not set. A variable that is set but does not
/// parse is an error rather than the default, so that a typo in a manifest is noticed.
pub fn parse_or<T: FromStr>(name: &str, default: T) -> Result<T, Error> {
    optional(name)?.map_or(Ok(default), |value| parse_value(name, &value))
}

/// A required environment variable holding a secret (from a Secret's `secretKeyRef` or `envFrom`).
pub fn secret_var(name: &str) -> Result<Secret, Error> {
    var(name).map(Secret)
}

/// The contents of a file, such as one key of a mounted ConfigMap, without a final line break: values written
/// from files (`kubectl create configmap --from-file`) often end with one that is not part of the value.
pub fn file(path: impl AsRef<Path>) -> Result<String, Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Unreadable { path: path.to_owned(), source })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Invalid { name: path.display().to_string(), expected: "UTF-8 text" })?;
    Ok(without_final_line_break(text))
}

/// A secret from a file, such as one key of a mounted Secret.
pub fn secret_file(path: impl AsRef<Path>) -> Result<Secret, Error> {
    file(path).map(Secret)
}

/// Every key of a mounted `configMap` or `secret` volume: the directory's files by name, each read as
/// [`file()`] does. Hidden files (the node's temporary files while it refreshes a volume) and directories are
/// left out.
pub fn dir(path: impl AsRef<Path>) -> Result<BTreeMap<String, String>, Error> {
    let path = path.as_ref();
    let unreadable = |source| Error::Unreadable { path: path.to_owned(), source };
    let mut keys = BTreeMap::new();
    for entry in std::fs::read_dir(path).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if name.starts_with('.') || !entry.file_type().map_err(unreadable)?.is_file() {
            continue;
        }
        keys.insert(name, file(entry.path())?);
    }
    Ok(keys)
}

/// A value that must not be shown: its `Debug` and `Display` print `<redacted>`, so logging a struct that holds
/// one, or formatting it by mistake, does not leak it. [`expose`](Self::expose) gives the value to the code that
/// needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn optional(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::Invalid { name: name.to_owned(), expected: "UTF-8 text" })
        }
    }
}

fn parse_value<T: FromStr>(name: &str, value: &str) -> Result<T, Error> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::Invalid { name: name.to_owned(), expected: short_type_name::<T>() })
}

/// `u32` rather than `core::primitive::u32`, `Duration` rather than `core::time::Duration`.
fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

fn without_final_line_break(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_setting_but_not_its_value() {
        let invalid = parse_value::<u32>("BATCH_SIZE", "s3cret").unwrap_err();
        assert_eq!(invalid.to_string(), "BATCH_SIZE is not a valid u32");
        let missing = var("GUEST_SDK_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(missing.to_string(), "environment variable GUEST_SDK_TEST_SURELY_UNSET is not set");
        assert_eq!(parse_or("GUEST_SDK_TEST_SURELY_UNSET", 7u32).unwrap(), 7);
    }

    #[test]
    fn secrets_are_redacted_when_formatted() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "<redacted> Secret(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn mounted_volumes_read_as_keys_without_final_line_breaks() {
        let dir = std::env::temp_dir().join(format!("guest-sdk-config-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nested")).unwrap();
        std::fs::write(dir.join("greeting"), "hello\n").unwrap();
        std::fs::write(dir.join("windows"), "crlf\r\n").unwrap();
        std::fs::write(dir.join("two-lines"), "a\nb\n\n").unwrap();
        std::fs::write(dir.join(".greeting.tmp"), "half-written").unwrap();
        let keys = super::dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let expected: BTreeMap<String, String> =
            [("greeting", "hello"), ("two-lines", "a\nb\n"), ("windows", "crlf")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(keys, expected);
    }
}
