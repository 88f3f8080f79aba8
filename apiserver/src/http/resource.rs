//! Requests on collections, objects and subresources: decode, call the registry, encode.

use axum::body::Body;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::Value;

use super::output::{self, Format};
use super::path::Target;
use super::query::Query;
use super::{AppState, header_str, read_body, watch};
use crate::auth::{UserInfo, csr, escalation, node, reviews};
use crate::error::{ApiError, Result};
use crate::patch::{self, PatchKind};
use crate::protobuf;
use crate::registry::{
    DeleteOptions, Deleted, ListPage, ResourceType, ScaleChange, Subresource, WriteOptions,
};

/// Body media types accepted for create and update.
const BODY_TYPES: &[&str] = &["application/json", "application/yaml", protobuf::MEDIA_TYPE];

pub async fn handle(
    state: &AppState,
    user: &UserInfo,
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
            super::logs::serve(registry, &state.agents, rt, ns, name, query).await
        }
        (Method::POST, None, None) if !rt.stored => {
            let review = decode_body(headers, body, rt, target.sub).await?;
            Ok(super::json_response(201, &reviews::answer(&state.security, rt, ns, user, review)?))
        }
        (Method::POST, Some(name), Some(Subresource::Token)) => {
            let request = decode_body(headers, body, rt, target.sub).await?;
            let answer = state.security.tokens.issue(registry, ns.unwrap_or_default(), name, &request)?;
            Ok(super::json_response(201, &answer))
        }
        (_, _, _) if !rt.stored => {
            Err(ApiError::method_not_allowed(&format!("{} only accepts create", rt.qualified_plural())))
        }
        (Method::POST, None, None) => {
            let options = query.write_options()?;
            let object = decode_body(headers, body, rt, target.sub).await?;
            node::admit_create(user, rt.kind, &object)?;
            let mut object = object;
            if rt.kind == "CertificateSigningRequest" {
                csr::stamp_requester(&mut object, user);
            }
            if is_rbac(rt) {
                // Checked on the object as admission leaves it, before anything is stored.
                let dry = WriteOptions { dry_run: true, ..options.clone() };
                let admitted = registry.create(rt, ns, object.clone(), &dry).await?.object.value();
                escalation::check(
                    &state.security.authz,
                    registry,
                    user,
                    rt,
                    ns.unwrap_or_default(),
                    &admitted,
                )?;
            }
            let written = registry.create(rt, ns, object, &options).await?;
            Ok(output::object(201, rt, &written.object, format()?, &written.warnings))
        }
        (Method::POST, Some(name), Some(Subresource::Eviction)) => {
            let eviction = decode_body(headers, body, rt, target.sub).await?;
            let options: DeleteOptions = match eviction.get("deleteOptions") {
                Some(o) if !o.is_null() => serde_json::from_value(o.clone()).map_err(|e| {
                    ApiError::bad_request(format!("the eviction's deleteOptions are not valid: {e}"))
                })?,
                _ => DeleteOptions::default(),
            };
            registry.evict(rt, ns.unwrap_or_default(), name, &options).await?;
            Ok(output::success(201, rt, name))
        }
        (
            Method::GET | Method::POST,
            Some(name),
            Some(sub @ (Subresource::Exec | Subresource::Attach | Subresource::PortForward)),
        ) => {
            registry.get(rt, ns, name)?;
            let what = if sub == Subresource::PortForward {
                "it has no ports to forward to: reach it through a Service (ClusterIP or NodePort)"
            } else {
                "it has no shell or terminal to exec into or attach to: read its output with `kubectl logs`, or reach \
                 it through a Service"
            };
            Err(ApiError::bad_request(format!("pod \"{name}\" runs WebAssembly; {what}")))
        }
        (Method::POST, Some(name), Some(Subresource::Binding)) => {
            let binding = decode_body(headers, body, rt, target.sub).await?;
            registry.bind(rt, ns, name, &binding).await?;
            Ok(output::success(201, rt, name))
        }
        (Method::PUT, Some(name), Some(Subresource::Scale)) => {
            let options = query.write_options()?;
            let scale = decode_body(headers, body, rt, target.sub).await?;
            Ok(super::json_response(
                200,
                &registry.write_scale(rt, ns, name, ScaleChange::Replace(scale), &options).await?,
            ))
        }
        (
            Method::PUT,
            Some(name),
            sub @ (None | Some(Subresource::Status | Subresource::Finalize | Subresource::Approval)),
        ) => {
            let options = query.write_options()?;
            let object = decode_body(headers, body, rt, target.sub).await?;
            if is_rbac(rt) {
                escalation::check(
                    &state.security.authz,
                    registry,
                    user,
                    rt,
                    ns.unwrap_or_default(),
                    &object,
                )?;
            }
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
            if is_rbac(rt) {
                let dry = WriteOptions { dry_run: true, ..options.clone() };
                let result = registry.patch(rt, ns, name, sub, kind, patch.clone(), &dry).await?;
                let object = result.object.value();
                escalation::check(
                    &state.security.authz,
                    registry,
                    user,
                    rt,
                    ns.unwrap_or_default(),
                    &object,
                )?;
            }
            let written = registry.patch(rt, ns, name, sub, kind, patch, &options).await?;
            let code = if written.created { 201 } else { 200 };
            Ok(output::object(code, rt, &written.object, format()?, &written.warnings))
        }
        (Method::DELETE, Some(name), None) => {
            let options = delete_options(query, headers, body, rt).await?;
            match registry.delete(rt, ns, name, &options).await? {
                Deleted::Gone(w) | Deleted::Terminating(w) => {
                    Ok(output::object(200, rt, &w.object, format()?, &[]))
                }
            }
        }
        (Method::DELETE, None, None) => {
            let list = query.list_options(rt)?;
            let options = delete_options(query, headers, body, rt).await?;
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

/// Whether writes of the kind are checked for escalation.
fn is_rbac(rt: &ResourceType) -> bool {
    rt.group == "rbac.authorization.k8s.io"
}

/// Decodes a create or update body: JSON, YAML, or Kubernetes protobuf (which kubectl's typed verbs send),
/// turned into the same JSON object. A protobuf body must hold the kind of `rt`, or of its subresource `sub`
/// (`Scale`, `Binding`, `Eviction`): the bytes mean nothing as another message.
async fn decode_body(
    headers: &HeaderMap,
    body: Body,
    rt: &ResourceType,
    sub: Option<Subresource>,
) -> Result<Value> {
    let bytes = read_body(body).await?;
    let value: Value = match media_type(headers) {
        "" | "application/json" => serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?,
        "application/yaml" => serde_yaml::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid YAML: {e}")))?,
        protobuf::MEDIA_TYPE => {
            let (group, version, kind) = sub.map_or((rt.group, rt.version, rt.kind), |s| s.response_kind(rt));
            let api_version =
                if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
            protobuf::decode(&bytes, protobuf::Expected { kind, api_versions: &[&api_version] })
                .map_err(protobuf_error)?
        }
        other => return Err(ApiError::unsupported_media_type(other, BODY_TYPES)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    Ok(value)
}

/// The media type of the body, without parameters.
fn media_type(headers: &HeaderMap) -> &str {
    header_str(headers, header::CONTENT_TYPE).split(';').next().unwrap_or_default().trim()
}

/// A protobuf decoding failure as the client sees it.
fn protobuf_error(error: protobuf::Error) -> ApiError {
    match error {
        protobuf::Error::Malformed(message) => ApiError::bad_request(message),
        protobuf::Error::Unsupported(message) => {
            ApiError { code: 415, reason: "UnsupportedMediaType", message, details: None }
        }
    }
}

/// `DeleteOptions` from the body (which may be empty; JSON or protobuf) and the query string, the query winning.
async fn delete_options(
    query: &Query,
    headers: &HeaderMap,
    body: Body,
    rt: &ResourceType,
) -> Result<DeleteOptions> {
    let bytes = read_body(body).await?;
    let mut options: DeleteOptions = if bytes.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else if media_type(headers) == protobuf::MEDIA_TYPE {
        // Clients name DeleteOptions in the resource's group version, in meta.k8s.io/v1, or in v1.
        let api_version = rt.api_version();
        let api_versions = [api_version.as_str(), "meta.k8s.io/v1", "v1"];
        let value = protobuf::decode(
            &bytes,
            protobuf::Expected { kind: "DeleteOptions", api_versions: &api_versions },
        )
        .map_err(protobuf_error)?;
        serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request(format!("the DeleteOptions body is not valid: {e}")))?
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
