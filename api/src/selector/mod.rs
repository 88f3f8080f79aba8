//! Label and field selectors, with the semantics of Kubernetes' `k8s.io/apimachinery/pkg/labels` and
//! `pkg/fields`.
//!
//! - [`LabelSelector`] parses the `?labelSelector=` string form (`app=web,tier in (a,b),!legacy`) and converts
//!   `metav1.LabelSelector` (`matchLabels`/`matchExpressions`). Its [`Requirement`] is also the building block
//!   of node affinity (`NodeSelectorRequirement`, with the extra `Gt`/`Lt` operators).
//! - [`FieldSelector`] parses the `?fieldSelector=` string form (`metadata.name=x,spec.nodeName!=`). Which
//!   field names a kind supports is the API server's decision, made from [`FieldSelector::requirements`].
//!
//! Both print a canonical string form that parses back to an equal selector.

mod field;
mod label;

pub use field::{FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};

/// Why a selector or requirement is invalid. Messages follow Kubernetes' wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A token that does not fit the label selector grammar at that point.
    #[error("found '{found}', expected: {expected}")]
    Unexpected {
        /// The token found (empty at the end of the string).
        found: String,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// A requirement of a label selector string could not be parsed; wraps the reason.
    #[error("unable to parse requirement: {0}")]
    Requirement(Box<SelectorError>),
    /// A label key that is not a valid qualified name.
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A label value that is not valid label syntax.
    #[error("invalid label value {value:?} for key {key:?}: {reason}")]
    InvalidValue {
        /// The key the value belongs to.
        key: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value list that does not suit the operator (empty for `In`, present for `Exists`, ...).
    #[error("invalid values for key {key:?}: {reason}")]
    InvalidValues {
        /// The key of the requirement.
        key: String,
        /// What is wrong with the values.
        reason: &'static str,
    },
    /// An operator name that `matchExpressions` (or node affinity) does not know.
    #[error("{operator:?} is not a valid {context} operator")]
    InvalidOperator {
        /// The operator as given.
        operator: String,
        /// `label selector` or `node selector`.
        context: &'static str,
    },
    /// A field selector term without a recognised operator (`=`, `==`, `!=`).
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidFieldTerm {
        /// The whole selector.
        selector: String,
        /// The term that failed.
        term: String,
    },
    /// A backslash in a field selector value that does not escape `\`, `,` or `=`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscape(String),
    /// A `,` or `=` in a field selector value that is not escaped.
    #[error("invalid field selector: unescaped character in value: '{0}'")]
    UnescapedCharacter(char),
}
