//! Response encoding: plain objects and lists as JSON, or server-side Tables when the client asks for them.

use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{bytes_response, header_str};
use crate::error::{ApiError, Result};
use crate::printers;
use crate::protobuf;
use crate::registry::{ListPage, ResourceType};
use crate::store::StoredObject;

/// What `rows[].object` of a Table carries (`?includeObject=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

/// The representation a response uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The object or list itself.
    Json,
    /// A `meta.k8s.io/v1` Table.
    Table(IncludeObject),
    /// Only the metadata, as `meta.k8s.io/v1` PartialObjectMetadata (lists: PartialObjectMetadataList), for
    /// clients that read nothing else (garbage collectors, metadata informers).
    Metadata,
    /// Kubernetes protobuf, for a client that accepts nothing else (single objects only).
    Protobuf,
}

impl Format {
    /// Chooses from the `Accept` header and `includeObject`.
    pub fn negotiate(headers: &HeaderMap, include: Option<&str>) -> Result<Self> {
        let accept = header_str(headers, header::ACCEPT);
        let wants_table = accept.split(',').any(|part| {
            let params: Vec<&str> = part.split(';').map(str::trim).collect();
            params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
        });
        let wants_metadata = accept.split(',').any(|part| {
            let params: Vec<&str> = part.split(';').map(str::trim).collect();
            params.first() == Some(&"application/json")
                && (params.contains(&"as=PartialObjectMetadata")
                    || params.contains(&"as=PartialObjectMetadataList"))
                && params.contains(&"g=meta.k8s.io")
        });
        if wants_metadata && !wants_table {
            return Ok(Format::Metadata);
        }
        if wants_table {
            let include = match include {
                Some("None") => IncludeObject::None,
                Some("Object") => IncludeObject::Object,
                _ => IncludeObject::Metadata,
            };
            return Ok(Format::Table(include));
        }
        let acceptable = accept.trim().is_empty()
            || accept.split(',').any(|part| {
                let media = part.split(';').next().unwrap_or_default().trim();
                matches!(media, "application/json" | "*/*" | "application/*" | "application/yaml")
            });
        if acceptable {
            Ok(Format::Json)
        } else if accept
            .split(',')
            .any(|part| part.split(';').next().unwrap_or_default().trim() == protobuf::MEDIA_TYPE)
        {
            Ok(Format::Protobuf)
        } else {
            Err(ApiError::not_acceptable(accept))
        }
    }
}

/// One object as a response.
pub fn object(
    code: u16,
    rt: &ResourceType,
    object: &StoredObject,
    format: Format,
    warnings: &[String],
) -> Response {
    let mut response = match format {
        Format::Json => bytes_response(code, object.json.clone()),
        Format::Protobuf => match protobuf::encode(&object.value()) {
            Ok(bytes) => {
                let code = axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::OK);
                (code, [(header::CONTENT_TYPE, protobuf::MEDIA_TYPE)], bytes).into_response()
            }
            Err(e) => ApiError::not_acceptable(&format!("{} (as protobuf: {e})", protobuf::MEDIA_TYPE))
                .into_response(),
        },
        Format::Table(include) => {
            let value = object.value();
            let rv = object.rv;
            super::json_response(code, &table_of(rt, std::slice::from_ref(&value), include, rv, None))
        }
        Format::Metadata => bytes_response(code, partial_metadata_json(object)),
    };
    add_warnings(&mut response, warnings);
    response
}

/// A list page as a response. Plain lists are assembled from the stored bytes without re-parsing.
pub fn list(rt: &ResourceType, page: &ListPage, format: Format) -> Response {
    match format {
        Format::Protobuf => ApiError::not_acceptable(&format!(
            "{} (lists and watches are served as application/json)",
            protobuf::MEDIA_TYPE
        ))
        .into_response(),
        Format::Metadata => {
            let head = format!(
                r#"{{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},"items":["#,
                list_metadata(page)
            );
            let mut body = head.into_bytes();
            for (i, item) in page.items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&partial_metadata_json(item));
            }
            body.extend_from_slice(b"]}");
            bytes_response(200, body)
        }
        Format::Json => {
            let metadata = list_metadata(page);
            let head = format!(
                r#"{{"kind":"{}List","apiVersion":"{}","metadata":{},"items":["#,
                rt.kind,
                rt.api_version(),
                metadata
            );
            let mut body = Vec::with_capacity(
                head.len() + page.items.iter().map(|i| i.json.len() + 1).sum::<usize>() + 2,
            );
            body.extend_from_slice(head.as_bytes());
            for (i, item) in page.items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&item.json);
            }
            body.extend_from_slice(b"]}");
            bytes_response(200, body)
        }
        Format::Table(include) => {
            let values: Vec<Value> = page.items.iter().map(|i| i.value()).collect();
            super::json_response(
                200,
                &table_of(rt, &values, include, page.rv, page.continue_token.as_deref()),
            )
        }
    }
}

/// `metadata` of a list page: its resource version and where the next page starts.
fn list_metadata(page: &ListPage) -> Value {
    let mut metadata = json!({"resourceVersion": page.rv.to_string()});
    if let Some(token) = &page.continue_token {
        metadata["continue"] = json!(token);
    }
    if let Some(remaining) = page.remaining {
        metadata["remainingItemCount"] = json!(remaining);
    }
    metadata
}

/// A stored object reduced to its metadata, as `meta.k8s.io/v1` PartialObjectMetadata JSON. The metadata's bytes
/// are copied as they are: the rest of the object is skipped over, never built into a tree.
pub fn partial_metadata_json(object: &StoredObject) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct MetadataOnly<'a> {
        #[serde(borrow)]
        metadata: Option<&'a serde_json::value::RawValue>,
    }
    let metadata = serde_json::from_slice::<MetadataOnly<'_>>(&object.json)
        .ok()
        .and_then(|o| o.metadata)
        .map_or("{}", |m| m.get());
    format!(r#"{{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{metadata}}}"#)
        .into_bytes()
}

/// An object reduced to its metadata, as `meta.k8s.io/v1` PartialObjectMetadata.
pub fn partial_metadata(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
           "metadata": object.get("metadata").cloned().unwrap_or_default()})
}

/// A Table of objects of one kind.
pub fn table_of(
    rt: &ResourceType,
    objects: &[Value],
    include: IncludeObject,
    rv: u64,
    continue_token: Option<&str>,
) -> Value {
    let now = jiff::Timestamp::now();
    let columns: Vec<Value> = printers::columns(rt.plural).iter().map(printers::Column::to_json).collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({"cells": printers::cells(rt.plural, object, now)});
            if let Some(conditions) = printers::row_conditions(rt.plural, object) {
                row["conditions"] = conditions;
            }
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => row["object"] = partial_metadata(object),
                IncludeObject::Object => row["object"] = object.clone(),
            }
            row
        })
        .collect();
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": columns, "rows": rows})
}

/// Adds `Warning: 299 - "..."` headers, as Kubernetes reports dropped unknown fields.
pub fn add_warnings(response: &mut Response, warnings: &[String]) {
    for warning in warnings {
        let text = format!("299 - \"{}\"", warning.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(value) = text.parse() {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

/// A `Status` with `status: Success`.
pub fn success(code: u16, rt: &ResourceType, name: &str) -> Response {
    let details = json!({"name": name, "group": rt.group, "kind": rt.plural});
    super::bytes_response(code, crate::error::encode_status("Success", "", "", Some(&details), code))
        .into_response()
}
