//! Field selectors: the `?fieldSelector=` string form, parsed and matched as Kubernetes' `pkg/fields` does.
//!
//! A selector is comma-separated terms `field=value`, `field==value` or `field!=value`. In values, `\,`, `\=`
//! and `\\` stand for `,`, `=` and `\`; an unescaped `,` ends the term and an unescaped `=` is an error. Field
//! names are taken literally up to the first operator, and nothing is trimmed (`a = b` compares field `a `
//! with ` b`), as in Kubernetes. Which field names a kind supports is for the caller to check.

use std::fmt;
use std::str::FromStr;

use super::SelectorError;

/// How a [`FieldRequirement`] compares a field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldOperator {
    /// The field equals the value (`=` or `==`).
    Equals,
    /// The field differs from the value (`!=`).
    NotEquals,
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldRequirement {
    /// The field path, such as `metadata.name` or `spec.nodeName`.
    pub field: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The value, unescaped.
    pub value: String,
}

impl FieldRequirement {
    /// A requirement comparing `field` with `value` (unescaped).
    pub fn new(field: impl Into<String>, operator: FieldOperator, value: impl Into<String>) -> Self {
        Self { field: field.into(), operator, value: value.into() }
    }

    /// Whether a field whose value is `actual` satisfies this requirement.
    pub fn matches(&self, actual: &str) -> bool {
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    /// `field=value` or `field!=value`, with the value escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{operator}{}", self.field, escape_value(&self.value))
    }
}

/// A set of field requirements that must all hold; empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldSelector {
    /// Sorted, so that equal selectors compare and print alike.
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// A selector of all `requirements`.
    pub fn from_requirements(mut requirements: Vec<FieldRequirement>) -> Self {
        requirements.sort();
        Self { requirements }
    }

    /// Parses the string form of `?fieldSelector=`; the empty string (and empty terms) match everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for term in split_terms(selector) {
            if term.is_empty() {
                continue;
            }
            let Some((field, operator, raw_value)) = split_term(term) else {
                return Err(SelectorError::InvalidFieldTerm {
                    selector: selector.to_owned(),
                    term: term.to_owned(),
                });
            };
            requirements.push(FieldRequirement::new(field, operator, unescape_value(raw_value)?));
        }
        Ok(Self::from_requirements(requirements))
    }

    /// Whether the object satisfies every requirement. `get` returns a field's value by path; a field it
    /// does not know is treated as the empty string, as Kubernetes does.
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| r.matches(&get(&r.field).unwrap_or_default()))
    }

    /// Whether the selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, so that the server can reject field names a kind does not support.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The value `field` must equal, if some requirement demands equality on it (Kubernetes'
    /// `RequiresExactMatch`); lets a caller narrow a lookup, e.g. on `metadata.name`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }
}

impl FromStr for FieldSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for FieldSelector {
    /// The canonical string form: sorted terms joined by `,`, `==` written as `=`, values escaped. It parses
    /// back to an equal selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// Splits on commas that are not escaped; escapes stay in the terms.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in selector.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(selector.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    terms.push(selector.get(start..).unwrap_or_default());
    terms
}

/// Splits a term at the first operator; `!=` and `==` are tried before `=` at each position.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    term.char_indices().find_map(|(i, _)| {
        let (field, rest) = term.split_at(i);
        if let Some(value) = rest.strip_prefix("!=") {
            Some((field, FieldOperator::NotEquals, value))
        } else if let Some(value) = rest.strip_prefix("==").or_else(|| rest.strip_prefix('=')) {
            Some((field, FieldOperator::Equals, value))
        } else {
            None
        }
    })
}

/// Undoes [`escape_value`]; any other escape, a trailing backslash, or a bare `,` or `=` is an error.
fn unescape_value(raw: &str) -> Result<String, SelectorError> {
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('\\' | ',' | '=')) => value.push(escaped),
                Some(other) => return Err(SelectorError::InvalidEscape(format!("\\{other}"))),
                None => return Err(SelectorError::InvalidEscape("\\".to_owned())),
            },
            ',' | '=' => return Err(SelectorError::UnescapedCharacter(c)),
            _ => value.push(c),
        }
    }
    Ok(value)
}

/// Escapes `\`, `,` and `=` in a value so that it survives the string form.
fn escape_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(s: &str) -> FieldSelector {
        FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    #[test]
    fn parses_valid_selectors() {
        // (input, expected requirements, canonical form)
        type Case<'a> = (&'a str, &'a [(&'a str, FieldOperator, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            ("", &[], ""),
            (",", &[], ""),
            ("metadata.name=foo", &[("metadata.name", FieldOperator::Equals, "foo")], "metadata.name=foo"),
            ("metadata.name==foo", &[("metadata.name", FieldOperator::Equals, "foo")], "metadata.name=foo"),
            ("spec.nodeName!=", &[("spec.nodeName", FieldOperator::NotEquals, "")], "spec.nodeName!="),
            ("a=", &[("a", FieldOperator::Equals, "")], "a="),
            ("=x", &[("", FieldOperator::Equals, "x")], "=x"),
            ("b=1,a=2", &[("a", FieldOperator::Equals, "2"), ("b", FieldOperator::Equals, "1")], "a=2,b=1"),
            (
                ",a=b,,c!=d,",
                &[("a", FieldOperator::Equals, "b"), ("c", FieldOperator::NotEquals, "d")],
                "a=b,c!=d",
            ),
            (r"a=b\,c", &[("a", FieldOperator::Equals, "b,c")], r"a=b\,c"),
            (r"a=b\=c", &[("a", FieldOperator::Equals, "b=c")], r"a=b\=c"),
            (r"a=b\\c", &[("a", FieldOperator::Equals, r"b\c")], r"a=b\\c"),
            (r"a=\\", &[("a", FieldOperator::Equals, "\\")], r"a=\\"),
            ("a b=c d", &[("a b", FieldOperator::Equals, "c d")], "a b=c d"),
            ("a!b=c", &[("a!b", FieldOperator::Equals, "c")], "a!b=c"),
            (r"a\=b", &[(r"a\", FieldOperator::Equals, "b")], r"a\=b"),
            ("é=ü", &[("é", FieldOperator::Equals, "ü")], "é=ü"),
        ];
        for &(input, expected, canonical) in cases {
            let selector = parse(input);
            let expected: Vec<FieldRequirement> =
                expected.iter().map(|&(f, op, v)| FieldRequirement::new(f, op, v)).collect();
            assert_eq!(selector.requirements(), expected.as_slice(), "{input:?}");
            assert_eq!(selector.to_string(), canonical, "{input:?}");
            assert_eq!(parse(canonical), selector, "{input:?} round trip");
            assert_eq!(selector.is_empty(), expected.is_empty(), "{input:?}");
        }
    }

    #[test]
    fn rejects_invalid_selectors() {
        let cases: &[(&str, &str)] = &[
            ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
            ("a=b,cd", "invalid selector: 'a=b,cd'; can't understand 'cd'"),
            ("a=b=c", "invalid field selector: unescaped character in value: '='"),
            ("a!==b", "invalid field selector: unescaped character in value: '='"),
            (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
            ("a=b\\", r"invalid field selector: invalid escape sequence: \"),
            (r"a=b\\,c", "invalid selector: 'a=b\\\\,c'; can't understand 'c'"),
            ("a=b\\é", "invalid field selector: invalid escape sequence: \\é"),
        ];
        for &(input, message) in cases {
            let error = FieldSelector::parse(input).err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(message), "{input:?}");
        }
    }

    #[test]
    fn matches_treating_missing_fields_as_empty() {
        let fields: BTreeMap<&str, &str> =
            [("metadata.name", "foo"), ("spec.nodeName", ""), ("status.phase", "a,b=c")]
                .into_iter()
                .collect();
        let get = |path: &str| fields.get(path).map(|v| (*v).to_owned());
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("metadata.name=foo", true),
            ("metadata.name==foo", true),
            ("metadata.name=bar", false),
            ("metadata.name!=foo", false),
            ("metadata.name!=bar", true),
            ("spec.nodeName=", true),
            ("spec.nodeName!=", false),
            ("missing=", true),
            ("missing!=", false),
            ("missing=x", false),
            ("missing!=x", true),
            (r"status.phase=a\,b\=c", true),
            ("metadata.name=foo,spec.nodeName=", true),
            ("metadata.name=foo,spec.nodeName!=", false),
        ];
        for &(input, expected) in cases {
            assert_eq!(parse(input).matches(get), expected, "{input:?}");
        }
    }

    #[test]
    fn finds_exact_matches() {
        let selector = parse("metadata.name=foo,spec.nodeName!=,metadata.namespace==ns");
        assert_eq!(selector.requires_exact_match("metadata.name"), Some("foo"));
        assert_eq!(selector.requires_exact_match("metadata.namespace"), Some("ns"));
        assert_eq!(selector.requires_exact_match("spec.nodeName"), None);
        assert_eq!(selector.requires_exact_match("missing"), None);
    }

    #[test]
    fn built_selectors_escape_and_round_trip() {
        let selector = FieldSelector::from_requirements(vec![
            FieldRequirement::new("spec.nodeName", FieldOperator::NotEquals, ""),
            FieldRequirement::new("metadata.name", FieldOperator::Equals, r"a,b=c\d"),
        ]);
        let printed = selector.to_string();
        assert_eq!(printed, r"metadata.name=a\,b\=c\\d,spec.nodeName!=");
        assert_eq!(printed.parse::<FieldSelector>(), Ok(selector));
        assert_eq!(FieldSelector::everything(), parse(""));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for input in
            ["\\", "\\\\", "=", "!", "!=", "==", "===", "é", ",\\,", "a=\u{301}", "\u{301}=\\\u{301}"]
        {
            let _ = FieldSelector::parse(input);
        }
        assert_eq!(parse("=").requirements(), &[FieldRequirement::new("", FieldOperator::Equals, "")]);
        assert_eq!(parse("!=").requirements(), &[FieldRequirement::new("", FieldOperator::NotEquals, "")]);
    }
}
