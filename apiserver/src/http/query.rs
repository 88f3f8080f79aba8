//! Query parameters of API requests.

use std::collections::HashMap;

use crate::error::{ApiError, Result};
use crate::registry::{FieldValidation, ListOptions, ResourceType, WriteOptions, check_field_selector};

/// The decoded query string (`+` as space, last value wins, `?` alone and `?&a=b` tolerated).
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Self(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    /// A non-negative integer parameter.
    pub fn number(&self, name: &str) -> Result<Option<u64>> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a non-negative integer, not {v:?}"))
                })
            })
            .transpose()
    }

    /// A signed integer parameter.
    pub fn signed(&self, name: &str) -> Result<Option<i64>> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse().map_err(|_| ApiError::bad_request(format!("{name} must be an integer, not {v:?}")))
            })
            .transpose()
    }

    /// Selectors and paging for list, watch and deletecollection.
    pub fn list_options(&self, rt: &ResourceType) -> Result<ListOptions> {
        let labels =
            match self.get("labelSelector").filter(|s| !s.trim().is_empty()) {
                Some(s) => Some(api::selector::LabelSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse labelSelector {s:?}: {e}"))
                })?),
                None => None,
            };
        let fields = match self.get("fieldSelector").filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                let selector = api::selector::FieldSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse fieldSelector {s:?}: {e}"))
                })?;
                check_field_selector(rt, &selector)?;
                Some(selector)
            }
            None => None,
        };
        Ok(ListOptions {
            labels,
            fields,
            limit: self.number("limit")?.map(|l| l as usize),
            continue_token: self.get("continue").filter(|c| !c.is_empty()).map(str::to_owned),
        })
    }

    /// `dryRun` and `fieldValidation`.
    pub fn write_options(&self) -> Result<WriteOptions> {
        let dry_run = match self.get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unsupported dryRun value {other:?}: the only value is \"All\""
                )));
            }
        };
        let field_validation = match self.get("fieldValidation") {
            None | Some("" | "Warn") => FieldValidation::Warn,
            Some("Ignore") => FieldValidation::Ignore,
            Some("Strict") => FieldValidation::Strict,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid fieldValidation {other:?}: use \"Ignore\", \"Warn\" or \"Strict\""
                )));
            }
        };
        Ok(WriteOptions { dry_run, field_validation })
    }
}
