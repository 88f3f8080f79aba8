//! Reading a container's log back with the options of `pods/{name}/log`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The options of a log request, as the kubelet's `containerLogs` endpoint takes them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogOptions {
    /// Keep streaming new lines.
    #[serde(default)]
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// Prefix every line with its RFC 3339 timestamp.
    #[serde(default)]
    pub timestamps: bool,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// The previous run of the container instead of the current one.
    #[serde(default)]
    pub previous: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// When it was written.
    pub time: Option<jiff::Timestamp>,
    /// Its text, without the newline.
    pub text: String,
    /// Whether it ends a line (`F`), or is a part of a longer one (`P`).
    pub full: bool,
}

/// Parses one CRI-format record.
pub fn parse(record: &str) -> Line {
    let mut parts = record.splitn(4, ' ');
    let time = parts.next().and_then(|t| t.parse().ok());
    let _stream = parts.next();
    let full = parts.next() != Some("P");
    Line { time, text: parts.next().unwrap_or_default().to_owned(), full }
}

/// Formats a line for the client.
pub fn format(line: &Line, timestamps: bool, out: &mut String) {
    if timestamps && let Some(time) = line.time {
        let _ = write!(out, "{time:.9} ");
    }
    out.push_str(&line.text);
    if line.full {
        out.push('\n');
    }
}

/// The run files of a container of the pod whose logs are in `pod_dir`, by restart number, oldest first. A run
/// whose current file was just rotated away (only `<run>.log.1` exists until the next line) still counts.
pub fn runs(pod_dir: &Path, container: &str) -> Vec<(u32, PathBuf)> {
    let mut runs: Vec<(u32, PathBuf)> = std::fs::read_dir(pod_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".log.1").or_else(|| name.strip_suffix(".log"))?;
            let (owner, n) = stem.rsplit_once('_')?;
            (owner == container).then_some(())?;
            Some((n.parse().ok()?, pod_dir.join(format!("{stem}.log"))))
        })
        .collect();
    runs.sort();
    runs.dedup();
    runs
}

/// The file of the run asked for (current, or the one before with `previous`).
pub fn pick(pod_dir: &Path, container: &str, previous: bool) -> Option<PathBuf> {
    let runs = runs(pod_dir, container);
    let index = runs.len().checked_sub(if previous { 2 } else { 1 })?;
    runs.into_iter().nth(index).map(|(_, p)| p)
}

/// Reads the whole log of a run (its rotated part first), applying `tailLines`, `sinceSeconds`, `timestamps` and
/// `limitBytes`. Returns the text and how many bytes of the current file it has read (where following starts).
pub fn read(file: &Path, options: &LogOptions) -> (String, u64) {
    let mut rotated = file.as_os_str().to_owned();
    rotated.push(".1");
    let old = std::fs::read_to_string(PathBuf::from(rotated)).unwrap_or_default();
    let current = std::fs::read_to_string(file).unwrap_or_default();
    let since = options.since_seconds.map(|s| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s));
    let mut lines: Vec<Line> = old
        .lines()
        .chain(current.lines())
        .map(parse)
        .filter(|l| since.is_none_or(|since| l.time.is_none_or(|t| t >= since)))
        .collect();
    if let Some(tail) = options.tail_lines {
        let keep = usize::try_from(tail.max(0)).unwrap_or(usize::MAX);
        lines.drain(..lines.len().saturating_sub(keep));
    }
    let mut out = String::new();
    for line in &lines {
        format(line, options.timestamps, &mut out);
    }
    if let Some(limit) = options.limit_bytes {
        truncate(&mut out, usize::try_from(limit.max(0)).unwrap_or(usize::MAX));
    }
    (out, current.len() as u64)
}

/// Cuts a string to at most `limit` bytes, on a character boundary.
pub fn truncate(text: &mut String, limit: usize) {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_records() {
        let line = parse("2024-01-02T03:04:05.000000001Z stdout F hello world");
        assert_eq!(line.text, "hello world");
        assert!(line.full);
        let mut out = String::new();
        format(&line, true, &mut out);
        assert_eq!(out, "2024-01-02T03:04:05.000000001Z hello world\n");
        let part = parse("2024-01-02T03:04:05Z stderr P abc");
        assert!(!part.full);
    }

    #[test]
    fn reads_with_options() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path();
        std::fs::write(c.join("c_0.log"), "2024-01-01T00:00:00Z stdout F old\n").unwrap();
        std::fs::write(c.join("c_1.log.1"), "2024-01-01T00:00:00Z stdout F a\n").unwrap();
        std::fs::write(
            c.join("c_1.log"),
            "2024-01-01T00:00:01Z stdout F b\n2024-01-01T00:00:02Z stderr F c\n",
        )
        .unwrap();
        // Another container's runs are not this one's.
        std::fs::write(c.join("c-side_7.log"), "2024-01-01T00:00:03Z stdout F other\n").unwrap();
        let current = pick(c, "c", false).unwrap();
        assert_eq!(read(&current, &LogOptions::default()).0, "a\nb\nc\n");
        let tail = LogOptions { tail_lines: Some(1), ..LogOptions::default() };
        assert_eq!(read(&current, &tail).0, "c\n");
        let limited = LogOptions { limit_bytes: Some(3), ..LogOptions::default() };
        assert_eq!(read(&current, &limited).0, "a\nb");
        assert_eq!(read(&pick(c, "c", true).unwrap(), &LogOptions::default()).0, "old\n");
        assert_eq!(runs(c, "c-side").len(), 1);
        // Between a rotation and the next line only the rotated part of the current run exists.
        std::fs::remove_file(c.join("c_1.log")).unwrap();
        assert_eq!(pick(c, "c", false), Some(c.join("c_1.log")));
        assert_eq!(read(&pick(c, "c", false).unwrap(), &LogOptions::default()).0, "a\n");
    }
}
