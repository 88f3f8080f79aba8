//! Label selectors: the `?labelSelector=` string form and `metav1.LabelSelector`, parsed and matched as
//! Kubernetes' `k8s.io/apimachinery/pkg/labels` does.
//!
//! String grammar (whitespace allowed around tokens):
//!
//! ```text
//! selector    ::= "" | requirement ( "," requirement )*
//! requirement ::= "!" KEY | KEY | KEY ( "=" | "==" | "!=" | ">" | "<" ) VALUE | KEY ( "in" | "notin" ) "(" VALUES ")"
//! ```
//!
//! `in`/`notin` are keywords only where an operator is expected, so `in in (in)` is a valid selector.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use k8s_openapi::api::core::v1::NodeSelectorRequirement;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;

use super::SelectorError;
use crate::validation::names;

/// How a [`Requirement`] compares a label with its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// The label is present and its value is one of the values (`k in (a,b)`, `matchExpressions` `In`).
    In,
    /// The label is absent or its value is none of the values (`k notin (a,b)`, `NotIn`).
    NotIn,
    /// The label is present with exactly the value (`k=v`; also every `matchLabels` entry).
    Equals,
    /// Same as [`Operator::Equals`], written `k==v`; kept apart only so that printing preserves it.
    DoubleEquals,
    /// The label is absent or has another value (`k!=v`).
    NotEquals,
    /// The label is present, whatever its value (`k`, `Exists`).
    Exists,
    /// The label is absent (`!k`, `DoesNotExist`).
    DoesNotExist,
    /// The label is present and, as an integer, greater than the value (`k>3`, node affinity `Gt`).
    GreaterThan,
    /// The label is present and, as an integer, less than the value (`k<3`, node affinity `Lt`).
    LessThan,
}

impl Operator {
    /// The operator as Kubernetes' `selection.Operator` spells it (`in`, `notin`, `=`, `==`, `!=`, `exists`,
    /// `!`, `gt`, `lt`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::NotIn => "notin",
            Self::Equals => "=",
            Self::DoubleEquals => "==",
            Self::NotEquals => "!=",
            Self::Exists => "exists",
            Self::DoesNotExist => "!",
            Self::GreaterThan => "gt",
            Self::LessThan => "lt",
        }
    }

    /// The operator of a `metav1.LabelSelectorRequirement`: `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub fn from_label_selector_operator(operator: &str) -> Result<Self, SelectorError> {
        match operator {
            "In" => Ok(Self::In),
            "NotIn" => Ok(Self::NotIn),
            "Exists" => Ok(Self::Exists),
            "DoesNotExist" => Ok(Self::DoesNotExist),
            _ => Err(SelectorError::InvalidOperator {
                operator: operator.to_owned(),
                context: "label selector",
            }),
        }
    }

    /// The operator of a `NodeSelectorRequirement` (node affinity): the label selector ones plus `Gt`
    /// and `Lt`.
    pub fn from_node_selector_operator(operator: &str) -> Result<Self, SelectorError> {
        match operator {
            "In" => Ok(Self::In),
            "NotIn" => Ok(Self::NotIn),
            "Exists" => Ok(Self::Exists),
            "DoesNotExist" => Ok(Self::DoesNotExist),
            "Gt" => Ok(Self::GreaterThan),
            "Lt" => Ok(Self::LessThan),
            _ => Err(SelectorError::InvalidOperator {
                operator: operator.to_owned(),
                context: "node selector",
            }),
        }
    }
}

/// One condition on one label, validated on construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    /// Sorted and without duplicates, so that matching can binary-search and printing is canonical.
    values: Vec<String>,
}

impl Requirement {
    /// A requirement on `key`, checked as Kubernetes' `NewRequirement` does: the key must be a qualified name,
    /// every value valid label syntax, `In`/`NotIn` need at least one value, the equality operators exactly
    /// one, `Gt`/`Lt` exactly one integer, and `Exists`/`DoesNotExist` none. Values are sorted and deduplicated.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        mut values: Vec<String>,
    ) -> Result<Self, SelectorError> {
        let key = key.into();
        validate_key(&key)?;
        let values_error = |reason| Err(SelectorError::InvalidValues { key: key.clone(), reason });
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return values_error("for 'in', 'notin' operators, values set can't be empty");
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
                return values_error("exact-match compatibility requires one single value");
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return values_error("values set must be empty for exists and does not exist");
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    return values_error("for 'Gt', 'Lt' operators, exactly one value is required");
                }
                if values.iter().any(|v| v.parse::<i64>().is_err()) {
                    return values_error("for 'Gt', 'Lt' operators, the value must be an integer");
                }
            }
            _ => {}
        }
        for value in &values {
            validate_value(&key, value)?;
        }
        values.sort();
        values.dedup();
        Ok(Self { key, operator, values })
    }

    /// A node affinity requirement (`nodeSelectorTerms[].matchExpressions[]`).
    ///
    /// Kubernetes treats a node selector term without any expressions (and without `matchFields`) as
    /// matching no node, unlike an empty label selector; callers combining requirements into a
    /// [`LabelSelector`] must handle that case themselves.
    pub fn from_node_selector_requirement(
        requirement: &NodeSelectorRequirement,
    ) -> Result<Self, SelectorError> {
        let operator = Operator::from_node_selector_operator(&requirement.operator)?;
        Self::new(requirement.key.clone(), operator, requirement.values.clone().unwrap_or_default())
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and without duplicates (empty for `Exists`/`DoesNotExist`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfy this requirement, as Kubernetes' `Requirement.Matches`: `!=` and `notin`
    /// match an absent label, `Gt`/`Lt` never match a label that is absent or not an integer.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let label = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                label.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => label.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(actual) = label.and_then(|v| v.parse::<i64>().ok()) else { return false };
                let Some(bound) = self.values.first().and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { actual > bound } else { actual < bound }
            }
        }
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.binary_search_by(|v| v.as_str().cmp(value)).is_ok()
    }
}

impl fmt::Display for Requirement {
    /// The string form Kubernetes prints (`!k`, `k`, `k=v`, `k in (a,b)`, `k>3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.join(",");
        let key = &self.key;
        match self.operator {
            Operator::Exists => write!(f, "{key}"),
            Operator::DoesNotExist => write!(f, "!{key}"),
            Operator::In => write!(f, "{key} in ({values})"),
            Operator::NotIn => write!(f, "{key} notin ({values})"),
            Operator::Equals => write!(f, "{key}={values}"),
            Operator::DoubleEquals => write!(f, "{key}=={values}"),
            Operator::NotEquals => write!(f, "{key}!={values}"),
            Operator::GreaterThan => write!(f, "{key}>{values}"),
            Operator::LessThan => write!(f, "{key}<{values}"),
        }
    }
}

/// A set of label requirements that must all hold, or the selector that matches nothing.
///
/// Kubernetes distinguishes two selectors that look alike:
/// - a present but empty `metav1.LabelSelector` (`selector: {}`) or an empty string matches **every** object
///   ([`LabelSelector::everything`], [`is_empty`](Self::is_empty) is true);
/// - a missing `metav1.LabelSelector` (`None`) matches **no** object in the controllers
///   ([`LabelSelector::nothing`]; use [`from_k8s_optional`](Self::from_k8s_optional) to get this right).
///
/// The nothing selector has no string form: it prints as the empty string, as in Kubernetes, which parses back
/// to the everything selector. Do not round-trip it through a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LabelSelector {
    /// Sorted by key (stable), as Kubernetes sorts them.
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every label set.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The selector that matches no label set (what a missing `metav1.LabelSelector` means).
    pub fn nothing() -> Self {
        Self { requirements: Vec::new(), nothing: true }
    }

    /// A selector of all `requirements`, sorted by key.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self { requirements, nothing: false }
    }

    /// Parses the string form of `?labelSelector=`; the empty string matches everything.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser { items: lex(selector), position: 0 };
        Ok(Self::from_requirements(parser.parse()?))
    }

    /// Converts a present `metav1.LabelSelector`, as Kubernetes' `LabelSelectorAsSelector`: every
    /// `matchLabels` entry is an `=` requirement, and `matchExpressions` take `In`, `NotIn`, `Exists` or
    /// `DoesNotExist`. With neither, the selector matches everything.
    pub fn from_k8s(selector: &metav1::LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::new(key.clone(), Operator::Equals, vec![value.clone()])?);
        }
        for expression in selector.match_expressions.iter().flatten() {
            let operator = Operator::from_label_selector_operator(&expression.operator)?;
            let values = expression.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(expression.key.clone(), operator, values)?);
        }
        Ok(Self::from_requirements(requirements))
    }

    /// Converts an optional `metav1.LabelSelector` field: `None` matches nothing (as Kubernetes' controllers
    /// treat a missing selector), `Some` goes through [`from_k8s`](Self::from_k8s).
    pub fn from_k8s_optional(selector: Option<&metav1::LabelSelector>) -> Result<Self, SelectorError> {
        selector.map_or_else(|| Ok(Self::nothing()), Self::from_k8s)
    }

    /// A selector requiring every label of `labels` (a Service's `spec.selector`, a `nodeSelector`). An empty
    /// map matches everything; whether that is wanted is the caller's decision.
    pub fn from_match_labels(labels: &BTreeMap<String, String>) -> Result<Self, SelectorError> {
        let requirements = labels
            .iter()
            .map(|(key, value)| Requirement::new(key.clone(), Operator::Equals, vec![value.clone()]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_requirements(requirements))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Like [`matches`](Self::matches) for objects whose `metadata.labels` may be absent (treated as empty).
    pub fn matches_optional(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
        self.matches(labels.unwrap_or(&NO_LABELS))
    }

    /// Whether the selector matches everything (no requirements). False for [`LabelSelector::nothing`].
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is the selector that matches nothing.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The single value `key` must have, if the first requirement on `key` is `=`, `==` or a one-value `in`
    /// (Kubernetes' `RequiresExactMatch`); lets a caller narrow a lookup.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let requirement = self.requirements.iter().find(|r| r.key == key)?;
        match (requirement.operator, requirement.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for LabelSelector {
    /// The canonical string form: requirements sorted by key, joined by `,`; it parses back to an equal
    /// selector (except for [`LabelSelector::nothing`], which prints as the empty string).
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

/// Validates a label key as Kubernetes' `IsQualifiedName`, with its wording.
fn validate_key(key: &str) -> Result<(), SelectorError> {
    let problems = names::is_qualified_name(key);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SelectorError::InvalidKey { key: key.to_owned(), reason: problems.join("; ") })
    }
}

/// Validates a label value as Kubernetes' `IsValidLabelValue`, with its wording.
fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    let problems = names::is_label_value(value);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SelectorError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: problems.join("; "),
        })
    }
}

/// A lexical token of the label selector string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// A token with the text it was read from.
#[derive(Debug, Clone, Copy)]
struct Item<'a> {
    token: Token,
    literal: &'a str,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The token a special character starts, or `None` for identifier characters.
fn special_token(b: u8) -> Option<Token> {
    Some(match b {
        b'=' => Token::Equals,
        b'!' => Token::DoesNotExist,
        b'(' => Token::OpenPar,
        b')' => Token::ClosedPar,
        b',' => Token::Comma,
        b'>' => Token::GreaterThan,
        b'<' => Token::LessThan,
        _ => return None,
    })
}

/// Splits the selector into tokens, always ending with [`Token::EndOfString`]. Identifiers run until
/// whitespace or a special character; specials take the longest match (`==`, `!=`, else one character).
fn lex(input: &str) -> Vec<Item<'_>> {
    let bytes = input.as_bytes();
    let mut items = Vec::new();
    let mut position = 0;
    loop {
        while bytes.get(position).copied().is_some_and(is_whitespace) {
            position += 1;
        }
        let Some(&byte) = bytes.get(position) else {
            items.push(Item { token: Token::EndOfString, literal: "" });
            return items;
        };
        let start = position;
        let token = if let Some(single) = special_token(byte) {
            let pair = input.get(start..start + 2);
            let (token, length) = match pair {
                Some("==") => (Token::DoubleEquals, 2),
                Some("!=") => (Token::NotEquals, 2),
                _ => (single, 1),
            };
            position += length;
            token
        } else {
            while bytes.get(position).is_some_and(|&b| !is_whitespace(b) && special_token(b).is_none()) {
                position += 1;
            }
            // Stops only at ASCII bytes or the end, so the slice is on character boundaries.
            match input.get(start..position) {
                Some("in") => Token::In,
                Some("notin") => Token::NotIn,
                _ => Token::Identifier,
            }
        };
        items.push(Item { token, literal: input.get(start..position).unwrap_or_default() });
    }
}

/// Whether `in`/`notin` are operators (after a key) or plain identifiers (keys and values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

/// A recursive-descent parser mirroring Kubernetes' so that errors name the same tokens.
struct Parser<'a> {
    items: Vec<Item<'a>>,
    position: usize,
}

fn unexpected(found: &str, expected: &'static str) -> SelectorError {
    SelectorError::Unexpected { found: found.to_owned(), expected }
}

impl<'a> Parser<'a> {
    fn lookahead(&self, context: Context) -> (Token, &'a str) {
        let item = self.items.get(self.position).or(self.items.last());
        let (token, literal) = item.map_or((Token::EndOfString, ""), |i| (i.token, i.literal));
        match token {
            Token::In | Token::NotIn if context == Context::Values => (Token::Identifier, literal),
            _ => (token, literal),
        }
    }

    /// Like `lookahead`, then moves past the token; never past the final end-of-string.
    fn consume(&mut self, context: Context) -> (Token, &'a str) {
        let current = self.lookahead(context);
        if self.position + 1 < self.items.len() {
            self.position += 1;
        }
        current
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement =
                        self.parse_requirement().map_err(|e| SelectorError::Requirement(Box::new(e)))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(unexpected(literal, "identifier after ','"));
                            }
                        }
                        _ => return Err(unexpected(literal, "',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => return Err(unexpected(literal, "!, identifier, or 'end of string'")),
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, operator) = self.parse_key_and_infer_operator()?;
        if let Some(operator @ (Operator::Exists | Operator::DoesNotExist)) = operator {
            return Requirement::new(key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, operator, values)
    }

    /// Reads `[!]key`; a key followed by `,` or the end is an `Exists` requirement.
    fn parse_key_and_infer_operator(&mut self) -> Result<(&'a str, Option<Operator>), SelectorError> {
        let mut operator = None;
        let (mut token, mut literal) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(unexpected(literal, "identifier"));
        }
        validate_key(literal)?;
        let (next, _) = self.lookahead(Context::Values);
        if operator.is_none() && matches!(next, Token::EndOfString | Token::Comma) {
            operator = Some(Operator::Exists);
        }
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, SelectorError> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(unexpected(literal, "in, notin, =, ==, !=, gt, lt")),
        })
    }

    /// Reads `( values )`; `()` is the single empty value, as in Kubernetes.
    fn parse_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(unexpected(literal, "'('"));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let (token, literal) = self.consume(Context::Values);
                if token != Token::ClosedPar {
                    return Err(unexpected(literal, "')'"));
                }
                Ok(values.into_iter().collect())
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(unexpected(literal, "',', ')' or identifier")),
        }
    }

    /// Reads a comma-separated list up to (not including) `)`; empty entries are the empty value.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let mut values = BTreeSet::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(literal.to_owned());
                    let (next, literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => {}
                        Token::ClosedPar => return Ok(values),
                        _ => return Err(unexpected(literal, "',' or ')'")),
                    }
                }
                Token::Comma => {
                    // `(,a)`, `(a,)` and `(a,,b)` all contain the empty value.
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    match self.lookahead(Context::Values).0 {
                        Token::ClosedPar => {
                            values.insert(String::new());
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.consume(Context::Values);
                            values.insert(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(unexpected(literal, "',', or identifier")),
            }
        }
    }

    /// Reads the value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end is the empty value.
    fn parse_exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        let (token, _) = self.lookahead(Context::Values);
        if matches!(token, Token::EndOfString | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(vec![literal.to_owned()])
        } else {
            Err(unexpected(literal, "identifier"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|&v| v.to_owned()).collect()
    }

    #[test]
    fn parses_valid_selectors_to_canonical_form() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("   ", ""),
            ("x=a", "x=a"),
            ("x==a", "x==a"),
            ("x!=a", "x!=a"),
            ("x", "x"),
            ("!x", "!x"),
            ("x=", "x="),
            ("x==", "x=="),
            ("x!=", "x!="),
            ("x>1", "x>1"),
            ("x<10", "x<10"),
            ("x > 1", "x>1"),
            (" x = a , y != b ", "x=a,y!=b"),
            ("\tx\n=\ra", "x=a"),
            ("b=1,a=2", "a=2,b=1"),
            ("x in (b,a,a)", "x in (a,b)"),
            ("x in(a)", "x in (a)"),
            ("x notin (a)", "x notin (a)"),
            ("x in ( a , b )", "x in (a,b)"),
            ("x in ()", "x in ()"),
            ("x in (,a)", "x in (,a)"),
            ("x in (a,)", "x in (,a)"),
            ("x in (a,,b)", "x in (,a,b)"),
            ("x notin (,)", "x notin ()"),
            ("in in (in,notin)", "in in (in,notin)"),
            ("notin notin (in)", "notin notin (in)"),
            ("x=in", "x=in"),
            ("example.com/app=web", "example.com/app=web"),
            ("a.b-c/d_e.f-G=x_Y.z-1", "a.b-c/d_e.f-G=x_Y.z-1"),
            ("!x,y", "!x,y"),
            ("x=a,x!=b", "x=a,x!=b"),
            ("z in (1,2),w notin (3),v,!u,t>5,s=x", "s=x,t>5,!u,v,w notin (3),z in (1,2)"),
            ("x>007", "x>007"),
        ];
        for &(input, canonical) in cases {
            assert_eq!(parse(input).to_string(), canonical, "{input:?}");
        }
    }

    #[test]
    fn canonical_form_round_trips() {
        let inputs = [
            "",
            "x=a",
            "x==a,y",
            "!a,b!=c,d in (e,f),g notin (h),i>1,j<2",
            "x in (,a)",
            "x in ()",
            "x=",
            "in in (in)",
            "b=1,a=2,a!=3",
            "example.com/app=web",
        ];
        for input in inputs {
            let selector = parse(input);
            let printed = selector.to_string();
            let reparsed = parse(&printed);
            assert_eq!(reparsed, selector, "{input:?} -> {printed:?}");
            assert_eq!(reparsed.to_string(), printed, "{input:?}");
        }
    }

    #[test]
    fn reports_syntax_errors_as_kubernetes() {
        let cases: &[(&str, &str)] = &[
            ("x=a,", "found '', expected: identifier after ','"),
            ("x,,y", "found ',', expected: identifier after ','"),
            ("x,=", "found '=', expected: identifier after ','"),
            (",x", "found ',', expected: !, identifier, or 'end of string'"),
            ("=a", "found '=', expected: !, identifier, or 'end of string'"),
            ("(", "found '(', expected: !, identifier, or 'end of string'"),
            ("x=a y", "found 'y', expected: ',' or 'end of string'"),
            ("!x=a", "found '=', expected: ',' or 'end of string'"),
            ("!x in (a)", "found 'in', expected: ',' or 'end of string'"),
            ("x===a", "unable to parse requirement: found '=', expected: identifier"),
            ("x=(a)", "unable to parse requirement: found '(', expected: identifier"),
            ("x<=1", "unable to parse requirement: found '=', expected: identifier"),
            ("!", "unable to parse requirement: found '', expected: identifier"),
            ("!!x", "unable to parse requirement: found '!', expected: identifier"),
            ("!(", "unable to parse requirement: found '(', expected: identifier"),
            ("x (a)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
            ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
            ("x !", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
            ("x in a", "unable to parse requirement: found 'a', expected: '('"),
            ("x in", "unable to parse requirement: found '', expected: '('"),
            ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
            ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
            ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
            ("x in ((a))", "unable to parse requirement: found '(', expected: ',', ')' or identifier"),
            ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
            ("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier"),
        ];
        for &(input, message) in cases {
            let error = LabelSelector::parse(input).err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(message), "{input:?}");
        }
    }

    #[test]
    fn validates_keys_values_and_operator_arity() {
        let long_name = "a".repeat(64);
        let long_prefix = format!("{}.com/x", "a".repeat(250));
        let cases: Vec<(String, &str)> = vec![
            ("x$=a".to_owned(), "invalid label key \"x$\": name part must consist of alphanumeric"),
            ("-x=a".to_owned(), "invalid label key \"-x\": name part must consist"),
            ("x.=a".to_owned(), "invalid label key \"x.\": name part must consist"),
            ("a/b/c=d".to_owned(), "invalid label key \"a/b/c\": a valid label key must consist"),
            (
                "Example.com/x=a".to_owned(),
                "invalid label key \"Example.com/x\": prefix part a lowercase RFC 1123",
            ),
            ("a..b/x".to_owned(), "invalid label key \"a..b/x\": prefix part a lowercase RFC 1123"),
            ("/x".to_owned(), "invalid label key \"/x\": prefix part must be non-empty"),
            (
                "x/".to_owned(),
                "invalid label key \"x/\": name part must be non-empty; name part must consist",
            ),
            (format!("{long_name}=a"), "name part must be no more than 63 bytes"),
            (long_prefix.clone(), "prefix part must be no more than 253 bytes"),
            (
                "x=a$".to_owned(),
                "invalid label value \"a$\" for key \"x\": a valid label must be an empty string",
            ),
            ("x in (a,-b)".to_owned(), "invalid label value \"-b\" for key \"x\""),
            (format!("x={long_name}"), "must be no more than 63 bytes"),
            ("x=é".to_owned(), "invalid label value \"é\" for key \"x\""),
            ("é".to_owned(), "invalid label key \"é\""),
            (
                "x>a".to_owned(),
                "invalid values for key \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
            ("x>".to_owned(), "for 'Gt', 'Lt' operators, the value must be an integer"),
            ("x<99999999999999999999".to_owned(), "the value must be an integer"),
        ];
        for (input, fragment) in &cases {
            let error = LabelSelector::parse(input).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.starts_with("unable to parse requirement: "), "{input:?}: {error}");
            assert!(error.contains(fragment), "{input:?}: {error}");
        }
        // The 253-character prefix limit is exact.
        let prefix = format!("{}.com", "a".repeat(249));
        assert_eq!(prefix.len(), 253);
        assert!(LabelSelector::parse(&format!("{prefix}/x")).is_ok());
        assert!(LabelSelector::parse(&format!("x={}", "a".repeat(63))).is_ok());
    }

    #[test]
    fn requirement_constructor_checks_operator_arity() {
        let cases: &[(Operator, &[&str], Option<&str>)] = &[
            (Operator::In, &[], Some("for 'in', 'notin' operators, values set can't be empty")),
            (Operator::NotIn, &[], Some("for 'in', 'notin' operators, values set can't be empty")),
            (Operator::In, &["a", "b"], None),
            (Operator::Equals, &[], Some("exact-match compatibility requires one single value")),
            (Operator::NotEquals, &["a", "b"], Some("exact-match compatibility requires one single value")),
            (Operator::DoubleEquals, &["a"], None),
            (Operator::Exists, &["a"], Some("values set must be empty for exists and does not exist")),
            (Operator::DoesNotExist, &[], None),
            (
                Operator::GreaterThan,
                &["1", "2"],
                Some("for 'Gt', 'Lt' operators, exactly one value is required"),
            ),
            (Operator::LessThan, &[], Some("for 'Gt', 'Lt' operators, exactly one value is required")),
            (Operator::LessThan, &["1.5"], Some("for 'Gt', 'Lt' operators, the value must be an integer")),
            (Operator::GreaterThan, &["12"], None),
        ];
        for &(operator, values, reason) in cases {
            let result = Requirement::new("k", operator, strings(values));
            let expected = reason.map(|reason| SelectorError::InvalidValues { key: "k".to_owned(), reason });
            assert_eq!(result.err(), expected, "{operator:?} {values:?}");
        }
        let requirement = Requirement::new("k", Operator::In, strings(&["b", "a", "b"]));
        assert_eq!(requirement.as_ref().map(Requirement::values), Ok(&strings(&["a", "b"])[..]));
        assert_eq!(requirement.as_ref().map(Requirement::key), Ok("k"));
        assert_eq!(requirement.map(|r| r.operator()), Ok(Operator::In));
    }

    #[test]
    fn matches_as_kubernetes() {
        let set = labels(&[("app", "web"), ("tier", "front"), ("n", "5"), ("empty", ""), ("neg", "-3")]);
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("missing=x", false),
            ("app in (db,web)", true),
            ("app in (db)", false),
            ("app notin (web)", false),
            ("app notin (db)", true),
            ("missing notin (a)", true),
            ("missing in (a)", false),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("n>4", true),
            ("n>5", false),
            ("n<6", true),
            ("n<5", false),
            ("neg<0", true),
            ("app>1", false),
            ("app<1", false),
            ("missing>1", false),
            ("missing<1", false),
            ("empty=", true),
            ("empty", true),
            ("missing=", false),
            ("empty in ()", true),
            ("app in ()", false),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("app=web,!missing,tier in (front),n>1", true),
        ];
        for &(input, expected) in cases {
            assert_eq!(parse(input).matches(&set), expected, "{input:?}");
        }
        assert!(parse("").matches(&BTreeMap::new()));
        assert!(parse("!x").matches_optional(None));
        assert!(!parse("x").matches_optional(None));
        assert!(parse("x").matches_optional(Some(&labels(&[("x", "")]))));
    }

    #[test]
    fn everything_and_nothing() {
        let everything = LabelSelector::everything();
        assert!(everything.is_empty());
        assert!(!everything.is_nothing());
        assert!(everything.matches(&labels(&[("a", "b")])));
        assert_eq!(everything, parse(""));

        let nothing = LabelSelector::nothing();
        assert!(!nothing.is_empty());
        assert!(nothing.is_nothing());
        assert!(!nothing.matches(&BTreeMap::new()));
        assert!(!nothing.matches(&labels(&[("a", "b")])));
        assert_eq!(nothing.to_string(), "");
        assert!(nothing.requirements().is_empty());

        assert!(!parse("a").is_empty());
    }

    /// `matchLabels` entries.
    type Labels<'a> = &'a [(&'a str, &'a str)];
    /// `matchExpressions` entries: key, operator, values.
    type Expressions<'a> = &'a [(&'a str, &'a str, Option<&'a [&'a str]>)];

    fn k8s_selector(
        match_labels: Option<Labels<'_>>,
        expressions: Option<Expressions<'_>>,
    ) -> metav1::LabelSelector {
        metav1::LabelSelector {
            match_labels: match_labels.map(labels),
            match_expressions: expressions.map(|list| {
                list.iter()
                    .map(|&(key, operator, values)| metav1::LabelSelectorRequirement {
                        key: key.to_owned(),
                        operator: operator.to_owned(),
                        values: values.map(strings),
                    })
                    .collect()
            }),
        }
    }

    #[test]
    fn converts_kubernetes_label_selectors() {
        let cases: &[(Option<Labels<'_>>, Option<Expressions<'_>>, &str)] = &[
            (None, None, ""),
            (Some(&[]), Some(&[]), ""),
            (Some(&[("app", "web")]), None, "app=web"),
            (Some(&[("b", "1"), ("a", "")]), None, "a=,b=1"),
            (
                Some(&[("app", "web")]),
                Some(&[
                    ("tier", "In", Some(&["b", "a"])),
                    ("env", "NotIn", Some(&["prod"])),
                    ("team", "Exists", None),
                    ("legacy", "DoesNotExist", Some(&[])),
                ]),
                "app=web,env notin (prod),!legacy,team,tier in (a,b)",
            ),
        ];
        for &(match_labels, expressions, canonical) in cases {
            let selector = LabelSelector::from_k8s(&k8s_selector(match_labels, expressions));
            let printed = selector.as_ref().map(ToString::to_string).map_err(ToString::to_string);
            assert_eq!(printed.as_deref(), Ok(canonical), "{match_labels:?} {expressions:?}");
            assert_eq!(selector.map(|s| s.is_empty()), Ok(canonical.is_empty()));
        }

        let selector = LabelSelector::from_k8s(&k8s_selector(
            Some(&[("app", "web")]),
            Some(&[("tier", "In", Some(&["front", "back"])), ("legacy", "DoesNotExist", None)]),
        ));
        let selector = selector.unwrap_or_else(|e| panic!("{e}"));
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "back")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "back"), ("legacy", "1")])));
        assert!(!selector.matches(&labels(&[("app", "web")])));
    }

    #[test]
    fn rejects_invalid_kubernetes_label_selectors() {
        let cases: &[(Option<Labels<'_>>, Expressions<'_>, &str)] = &[
            (None, &[("x", "In", None)], "invalid values for key \"x\": for 'in', 'notin' operators"),
            (None, &[("x", "NotIn", Some(&[]))], "values set can't be empty"),
            (
                None,
                &[("x", "Exists", Some(&["a"]))],
                "values set must be empty for exists and does not exist",
            ),
            (None, &[("x", "DoesNotExist", Some(&["a"]))], "values set must be empty"),
            (None, &[("x", "Gt", Some(&["1"]))], "\"Gt\" is not a valid label selector operator"),
            (None, &[("x", "in", Some(&["a"]))], "\"in\" is not a valid label selector operator"),
            (None, &[("x", "", None)], "\"\" is not a valid label selector operator"),
            (None, &[("x y", "Exists", None)], "invalid label key \"x y\""),
            (None, &[("x", "In", Some(&["a b"]))], "invalid label value \"a b\" for key \"x\""),
            (Some(&[("bad key", "a")]), &[], "invalid label key \"bad key\""),
            (Some(&[("x", "bad value")]), &[], "invalid label value \"bad value\" for key \"x\""),
        ];
        for &(match_labels, expressions, fragment) in cases {
            let error = LabelSelector::from_k8s(&k8s_selector(match_labels, Some(expressions)))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(fragment), "{expressions:?}: {error}");
        }
    }

    #[test]
    fn missing_kubernetes_selector_matches_nothing() {
        let missing = LabelSelector::from_k8s_optional(None);
        assert_eq!(missing, Ok(LabelSelector::nothing()));
        let present = LabelSelector::from_k8s_optional(Some(&metav1::LabelSelector::default()));
        assert_eq!(present, Ok(LabelSelector::everything()));
    }

    #[test]
    fn builds_selectors_from_maps_and_requirements() {
        let selector = LabelSelector::from_match_labels(&labels(&[("app", "web"), ("tier", "front")]));
        assert_eq!(selector.as_ref().map(ToString::to_string), Ok("app=web,tier=front".to_owned()));
        assert_eq!(LabelSelector::from_match_labels(&BTreeMap::new()), Ok(LabelSelector::everything()));
        assert!(LabelSelector::from_match_labels(&labels(&[("a", "b c")])).is_err());

        let requirements = [("z", Operator::Exists, &[][..]), ("a", Operator::In, &["1"][..])]
            .iter()
            .map(|&(key, operator, values)| Requirement::new(key, operator, strings(values)))
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(LabelSelector::from_requirements(requirements).to_string(), "a in (1),z");
    }

    #[test]
    fn finds_exact_matches() {
        let selector = parse("app=web,one in (x),many in (x,y),not!=a,eq==b");
        assert_eq!(selector.requires_exact_match("app"), Some("web"));
        assert_eq!(selector.requires_exact_match("one"), Some("x"));
        assert_eq!(selector.requires_exact_match("eq"), Some("b"));
        assert_eq!(selector.requires_exact_match("many"), None);
        assert_eq!(selector.requires_exact_match("not"), None);
        assert_eq!(selector.requires_exact_match("missing"), None);
    }

    #[test]
    fn converts_node_selector_requirements() {
        let node = |key: &str, operator: &str, values: Option<&[&str]>| NodeSelectorRequirement {
            key: key.to_owned(),
            operator: operator.to_owned(),
            values: values.map(strings),
        };
        let node_labels = labels(&[("kubernetes.io/os", "linux"), ("cores", "8")]);
        let cases: &[(NodeSelectorRequirement, bool)] = &[
            (node("kubernetes.io/os", "In", Some(&["linux", "wasi"])), true),
            (node("kubernetes.io/os", "NotIn", Some(&["linux"])), false),
            (node("gpu", "DoesNotExist", None), true),
            (node("cores", "Exists", None), true),
            (node("cores", "Gt", Some(&["4"])), true),
            (node("cores", "Lt", Some(&["4"])), false),
            (node("gpu", "Lt", Some(&["4"])), false),
        ];
        for (requirement, expected) in cases {
            let converted = Requirement::from_node_selector_requirement(requirement);
            assert_eq!(converted.map(|r| r.matches(&node_labels)), Ok(*expected), "{requirement:?}");
        }
        let errors: &[(NodeSelectorRequirement, &str)] = &[
            (node("x", "Foo", None), "\"Foo\" is not a valid node selector operator"),
            (node("x", "Gt", Some(&["a"])), "the value must be an integer"),
            (node("x", "Gt", None), "exactly one value is required"),
            (node("x", "In", None), "values set can't be empty"),
        ];
        for (requirement, fragment) in errors {
            let error = Requirement::from_node_selector_requirement(requirement)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(fragment), "{requirement:?}: {error}");
        }
    }

    #[test]
    fn operator_names() {
        let names: Vec<&str> = [
            Operator::In,
            Operator::NotIn,
            Operator::Equals,
            Operator::DoubleEquals,
            Operator::NotEquals,
            Operator::Exists,
            Operator::DoesNotExist,
            Operator::GreaterThan,
            Operator::LessThan,
        ]
        .into_iter()
        .map(Operator::as_str)
        .collect();
        assert_eq!(names, ["in", "notin", "=", "==", "!=", "exists", "!", "gt", "lt"]);
        assert_eq!(Operator::from_label_selector_operator("NotIn"), Ok(Operator::NotIn));
        assert_eq!(Operator::from_node_selector_operator("Lt"), Ok(Operator::LessThan));
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "\0",
            "é=ü",
            "x in (é)",
            "((((",
            "))))",
            "!!!!",
            "=====",
            ",,,,",
            "x in (,,,,)",
            "x=\u{301}",
            "a\u{a0}=b",
            "x in (a,b",
            "x notin",
            "!x y",
            "x<",
            "x>>1",
            "x!=!=",
            "in",
            "notin",
            "in in",
            "x in in",
        ];
        for input in inputs {
            let _ = LabelSelector::parse(input);
        }
        assert_eq!(parse("in").to_string(), "in");
        // Kubernetes accepts `(,)` and `(a,,b)` but not a run of commas with nothing after it.
        assert_eq!(parse("x notin (,)").to_string(), "x notin ()");
        assert!(LabelSelector::parse("x in (,,)").is_err());
    }
}
