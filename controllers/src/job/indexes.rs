//! Completion indexes of an Indexed Job: the index a pod carries, and `status.completedIndexes` in
//! Kubernetes' compressed form (`"0-3,5,7-8"`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

/// The annotation (and, since Kubernetes 1.28, label) holding a pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable a pod's containers read their index from.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The completion index of a pod, when it carries a valid one below `completions`.
pub fn of(pod: &Pod, completions: i32) -> Option<i32> {
    let meta = &pod.metadata;
    let text = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(COMPLETION_INDEX))
        .or_else(|| meta.labels.as_ref().and_then(|l| l.get(COMPLETION_INDEX)))?;
    let index: i32 = text.parse().ok()?;
    (0..completions).contains(&index).then_some(index)
}

/// Parses `status.completedIndexes`, keeping the indexes below `completions`. Malformed parts are skipped:
/// the field is the controller's own output, and a damaged one should cost a rerun, not a stuck Job.
pub fn parse(text: &str, completions: i32) -> BTreeSet<i32> {
    let mut set = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (Ok(first), Ok(last)) = (first.parse::<i32>(), last.parse::<i32>()) else { continue };
        set.extend((first.max(0)..=last.min(completions - 1)).filter(|i| *i >= first));
    }
    set
}

/// Formats indexes as Kubernetes does: ascending, consecutive runs of more than one as `first-last`.
pub fn format(indexes: &BTreeSet<i32>) -> String {
    let mut parts = Vec::new();
    let mut iter = indexes.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last += 1;
            iter.next();
        }
        parts.push(if first == last { first.to_string() } else { format!("{first}-{last}") });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_ranges() {
        let cases: [(&[i32], &str); 5] = [
            (&[], ""),
            (&[0], "0"),
            (&[0, 1], "0-1"),
            (&[0, 1, 2, 3, 5, 7, 8], "0-3,5,7-8"),
            (&[4, 9], "4,9"),
        ];
        for (indexes, text) in cases {
            let set: BTreeSet<i32> = indexes.iter().copied().collect();
            assert_eq!(format(&set), text);
            assert_eq!(parse(text, 10), set, "{text}");
        }
    }

    #[test]
    fn parse_drops_what_is_out_of_range_or_malformed() {
        let expected: BTreeSet<i32> = [1, 2, 3, 4].into();
        assert_eq!(parse("1-3,x,4,7-9,5-x", 5), expected);
        assert_eq!(parse("3-1", 5), BTreeSet::new());
    }
}
