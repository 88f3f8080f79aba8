//! Requests on collections, objects and subresources: decode, call the registry, encode.

use axum::body::Body;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::Value;

use super::output::{self, Format};
use super::path::Target;
use super::query::Query;
use super::{AppState, header_str, read_body, watch};
use crate::error::{ApiError, Result};
use crate::patch::{self, PatchKind};
use crate::registry::{DeleteOptions, Deleted, ListPage, ScaleChange, Subresource, WriteOptions};

/// Body media types accepted for create and update.
const BODY_TYPES: &[&str] = &["application/json", "application/yaml"];

pub async fn handle(
    state: &AppState,
    method: Method,
    target: Target,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let registry = &state.registry;
    let rt = target.rt;
    let ns = target.namespace.as_deref();
    let format = || Format::negotiate(headers, query.get("includeObject"));
    match (method, target.name.as_deref(), target.sub) {
        (Method::GET, None, None) if query.flag("watch") => watch::serve(state, rt, ns, query, format()?),
        (Method::GET, None, None) => {
            let options = query.list_options(rt)?;
            Ok(output::list(rt, &registry.list(rt, ns, &options)?, format()?))
        }
        (Method::GET, Some(name), None | Some(Subresource::Status)) => {
            let object = registry.get(rt, ns, name)?;
            Ok(output::object(200, rt, &object, format()?, &[]))
        }
        (Method::GET, Some(name), Some(Subresource::Scale)) => {
            Ok(super::json_response(200, &registry.get_scale(rt, ns, name)?))
        }
        (Method::GET, Some(name), Some(Subresource::Log)) => {
            let pod = registry.get(rt, ns, name)?.value();
            match pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                None => Err(ApiError::bad_request(format!("pod \"{name}\" does not have a host assigned"))),
                Some(node) => Err(ApiError {
                    code: 503,
                    reason: "ServiceUnavailable",
                    message: format!(
                        "the logs of pod \"{name}\" are kept by the node agent of node \"{node}\", which does not serve them"
                    ),
                    details: None,
                }),
            }
        }
        (Method::POST, None, None) => {
            let options = query.write_options()?;
            let object = decode_body(headers, body).await?;
            let written = registry.create(rt, ns, object, &options).await?;
            Ok(output::object(201, rt, &written.object, format()?, &written.warnings))
        }
        (Method::POST, Some(name), Some(Subresource::Binding)) => {
            let binding = decode_body(headers, body).await?;
            registry.bind(rt, ns, name, &binding).await?;
            Ok(output::success(201, rt, name))
        }
        (Method::PUT, Some(name), Some(Subresource::Scale)) => {
            let options = query.write_options()?;
            let scale = decode_body(headers, body).await?;
            Ok(super::json_response(
                200,
                &registry.write_scale(rt, ns, name, ScaleChange::Replace(scale), &options).await?,
            ))
        }
        (Method::PUT, Some(name), sub @ (None | Some(Subresource::Status | Subresource::Finalize))) => {
            let options = query.write_options()?;
            let object = decode_body(headers, body).await?;
            let written = registry.update(rt, ns, name, sub, object, &options).await?;
            Ok(output::object(200, rt, &written.object, format()?, &written.warnings))
        }
        (Method::PATCH, Some(name), sub @ (None | Some(Subresource::Status | Subresource::Scale))) => {
            let content_type = header_str(headers, header::CONTENT_TYPE);
            let kind = PatchKind::from_content_type(content_type)
                .ok_or_else(|| ApiError::unsupported_media_type(content_type, patch::CONTENT_TYPES))?;
            let options = query.write_options()?;
            let patch = kind.parse(&read_body(body).await?)?;
            if sub == Some(Subresource::Scale) {
                let scale =
                    registry.write_scale(rt, ns, name, ScaleChange::Patch(kind, patch), &options).await?;
                return Ok(super::json_response(200, &scale));
            }
            let written = registry.patch(rt, ns, name, sub, kind, patch, &options).await?;
            let code = if written.created { 201 } else { 200 };
            Ok(output::object(code, rt, &written.object, format()?, &written.warnings))
        }
        (Method::DELETE, Some(name), None) => {
            let options = delete_options(query, body).await?;
            match registry.delete(rt, ns, name, &options).await? {
                Deleted::Gone(w) | Deleted::Terminating(w) => {
                    Ok(output::object(200, rt, &w.object, format()?, &[]))
                }
            }
        }
        (Method::DELETE, None, None) => {
            let list = query.list_options(rt)?;
            let options = delete_options(query, body).await?;
            let done = registry.delete_collection(rt, ns, &list, &options).await?;
            let rv = registry.store().read(|s| s.rv);
            let page = ListPage {
                items: done.into_iter().map(|w| w.object).collect(),
                rv,
                continue_token: None,
                remaining: None,
            };
            Ok(output::list(rt, &page, Format::Json))
        }
        (method, _, sub) => Err(ApiError::method_not_allowed(&format!(
            "{method} on {}{}",
            rt.qualified_plural(),
            sub.map(|s| format!("/{}", s.name())).unwrap_or_default()
        ))),
    }
}

/// Decodes a create or update body: JSON, or YAML.
async fn decode_body(headers: &HeaderMap, body: Body) -> Result<Value> {
    let content_type = header_str(headers, header::CONTENT_TYPE);
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let bytes = read_body(body).await?;
    let value: Value = match media {
        "" | "application/json" => serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?,
        "application/yaml" => serde_yaml::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid YAML: {e}")))?,
        other => return Err(ApiError::unsupported_media_type(other, BODY_TYPES)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    Ok(value)
}

/// `DeleteOptions` from the body (which may be empty) and the query string, the query winning.
async fn delete_options(query: &Query, body: Body) -> Result<DeleteOptions> {
    let bytes = read_body(body).await?;
    let mut options: DeleteOptions = if bytes.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the DeleteOptions body is not valid: {e}")))?
    };
    if let Some(policy) = query.get("propagationPolicy").filter(|p| !p.is_empty()) {
        options.propagation_policy =
            Some(serde_json::from_value(Value::String(policy.to_owned())).map_err(|_| {
                ApiError::bad_request(format!(
                    "unsupported propagationPolicy {policy:?}: use Background, Foreground or Orphan"
                ))
            })?);
    }
    if let Some(grace) = query.signed("gracePeriodSeconds")? {
        options.grace_period_seconds = Some(grace);
    }
    if query.get("orphanDependents").is_some() {
        options.orphan_dependents = Some(query.flag("orphanDependents"));
    }
    let write: WriteOptions = query.write_options()?;
    if write.dry_run {
        options.dry_run = vec!["All".into()];
    }
    Ok(options)
}
