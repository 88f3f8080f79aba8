//! Service addresses: cluster IPs from the service CIDR and node ports from their range.
//!
//! Each address a Service holds is backed by a record in the store, made with a create that fails when the
//! record exists: of two Services asking for one address at once, exactly one gets it, whichever API server
//! serves them (Kubernetes' `IPAddress` objects and allocator bitmaps do the same job). A Service's records are
//! made before it is written and removed after it is deleted or no longer holds them; [`Registry::repair_allocations`]
//! at start-up removes records a crash left behind and makes those that are missing.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use api::validation::{FieldError, FieldPath};
use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::kinds::{self, ResourceType};
use super::{Registry, object};
use crate::error::{ApiError, Result};
use crate::store::{Key, Selectable, Write, WriteError};

/// Where Services get their addresses (kube-apiserver's `--service-cluster-ip-range` and
/// `--service-node-port-range`).
#[derive(Debug, Clone)]
pub struct ServiceNetwork {
    /// Cluster IPs are taken from here. The first address is the `kubernetes` Service's, as in Kubernetes.
    pub cluster_ip_range: Ipv4Net,
    /// Node ports are taken from here.
    pub node_ports: RangeInclusive<u16>,
}

impl Default for ServiceNetwork {
    fn default() -> Self {
        Self {
            cluster_ip_range: Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
            node_ports: 30000..=32767,
        }
    }
}

/// Storage prefixes of the allocation records; no API kind is served from them.
const CLUSTER_IPS: &str = "wharf.dev/serviceips";
const NODE_PORTS: &str = "wharf.dev/servicenodeports";

/// The addresses one Service holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Holdings {
    ips: BTreeSet<Ipv4Addr>,
    ports: BTreeSet<u16>,
}

impl Holdings {
    /// What `service` (stored JSON) holds: its IPv4 cluster IPs and node ports.
    pub fn of(service: &Value) -> Self {
        let spec = service.get("spec");
        let ips = spec
            .and_then(|s| s.get("clusterIPs"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(spec.and_then(|s| s.get("clusterIP")))
            .filter_map(|ip| ip.as_str()?.parse().ok())
            .collect();
        let ports = spec
            .and_then(|s| s.get("ports"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| u16::try_from(p.get("nodePort")?.as_i64()?).ok())
            .filter(|p| *p != 0)
            .collect();
        Self { ips, ports }
    }

    /// The record keys of these holdings.
    fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        let ips = self.ips.iter().map(|ip| Key::new(CLUSTER_IPS, "", &ip.to_string()));
        ips.chain(self.ports.iter().map(|port| Key::new(NODE_PORTS, "", &port.to_string())))
    }

    /// What `self` holds that `other` does not.
    fn without(&self, other: &Self) -> Self {
        Self {
            ips: self.ips.difference(&other.ips).copied().collect(),
            ports: self.ports.difference(&other.ports).copied().collect(),
        }
    }
}

/// The records a write made, to be removed again when the write fails.
#[derive(Debug, Default)]
#[must_use = "claims must be kept on success or released on failure"]
pub struct Claims(Vec<Key>);

/// One Service's claims in the making.
struct Request {
    held_before: Holdings,
    record: Value,
    dry_run: bool,
    claims: Claims,
    errors: Vec<FieldError>,
}

/// A stored record: its key and the Service holding it.
type Record = (Key, String);

/// Who holds a record: `namespace/name` of the Service.
fn holder(service: &Value) -> String {
    format!("{}/{}", object::meta_str(service, "namespace").unwrap_or_default(), object::name(service))
}

fn services() -> Result<&'static ResourceType> {
    kinds::by_plural("", "v1", "services").ok_or_else(|| ApiError::internal("no services kind"))
}

fn service_type(spec: &Value) -> &str {
    spec.get("type").and_then(Value::as_str).unwrap_or("ClusterIP")
}

fn needs_node_ports(spec: &Value) -> bool {
    match service_type(spec) {
        "NodePort" => true,
        "LoadBalancer" => spec.get("allocateLoadBalancerNodePorts").and_then(Value::as_bool) != Some(false),
        _ => false,
    }
}

impl Registry {
    /// Gives `service` the cluster IP and node ports it needs and does not have, and claims every address it
    /// holds that `old` (the version it replaces) did not. A chosen address that another Service holds, or that
    /// is outside its range, is a 422; nothing stays claimed after an error. With `dry_run` nothing is claimed.
    pub(super) async fn claim_service_addresses(
        &self,
        old: Option<&Value>,
        service: &mut Value,
        dry_run: bool,
    ) -> Result<Claims> {
        let mut request = Request {
            held_before: old.map(Holdings::of).unwrap_or_default(),
            record: json!({"metadata": {"name": ""}, "holder": holder(service)}),
            dry_run,
            claims: Claims::default(),
            errors: Vec::new(),
        };
        let name = object::name(service).to_owned();
        let outcome = self.fill_and_claim(&mut request, service).await;
        let Request { claims, errors, .. } = request;
        let error = match outcome {
            Err(error) => error,
            Ok(()) if errors.is_empty() => return Ok(claims),
            Ok(()) => ApiError::invalid(services()?, &name, &errors),
        };
        self.release(claims).await;
        Err(error)
    }

    async fn fill_and_claim(&self, request: &mut Request, service: &mut Value) -> Result<()> {
        let Some(spec) = service.get_mut("spec").filter(|s| s.is_object()) else { return Ok(()) };
        if service_type(spec) != "ExternalName" {
            let chosen = spec.get("clusterIP").and_then(Value::as_str).filter(|ip| !ip.is_empty());
            match chosen {
                Some("None") => {}
                Some(ip) => {
                    let ip = ip.to_owned();
                    self.claim_chosen_ip(request, &ip).await?;
                }
                None => {
                    let ip = self.claim_free_ip(request).await?;
                    spec["clusterIP"] = json!(ip);
                    spec["clusterIPs"] = json!([ip]);
                }
            }
        }
        if needs_node_ports(spec) {
            for (i, port) in
                spec.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten().enumerate()
            {
                match port.get("nodePort").and_then(Value::as_i64).filter(|p| *p != 0) {
                    Some(wanted) => self.claim_chosen_port(request, i, wanted).await?,
                    None => port["nodePort"] = json!(self.claim_free_port(request).await?),
                }
            }
        }
        Ok(())
    }

    async fn claim_chosen_ip(&self, request: &mut Request, ip: &str) -> Result<()> {
        let path = FieldPath::new("spec").child("clusterIPs").index(0);
        let range = self.services.cluster_ip_range;
        match ip.parse::<Ipv4Addr>() {
            Ok(parsed) if request.held_before.ips.contains(&parsed) => Ok(()),
            Ok(parsed) if usable(range, parsed) => match self.claim(CLUSTER_IPS, ip, request).await {
                Err(WriteError::AlreadyExists) => {
                    let why = format!("failed to allocate IP {ip}: provided IP is already allocated");
                    request.errors.push(FieldError::invalid(&path, [ip], why));
                    Ok(())
                }
                claimed => claimed.map_err(ApiError::unavailable),
            },
            _ => {
                let why = format!(
                    "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of \
                     valid IPs is {range}"
                );
                request.errors.push(FieldError::invalid(&path, [ip], why));
                Ok(())
            }
        }
    }

    async fn claim_chosen_port(&self, request: &mut Request, index: usize, wanted: i64) -> Result<()> {
        let path = FieldPath::new("spec").child("ports").index(index).child("nodePort");
        let range = &self.services.node_ports;
        match u16::try_from(wanted) {
            Ok(port) if request.held_before.ports.contains(&port) => Ok(()),
            Ok(port) if range.contains(&port) => {
                match self.claim(NODE_PORTS, &port.to_string(), request).await {
                    Err(WriteError::AlreadyExists) => {
                        request.errors.push(FieldError::invalid(
                            &path,
                            wanted,
                            "provided port is already allocated",
                        ));
                        Ok(())
                    }
                    claimed => claimed.map_err(ApiError::unavailable),
                }
            }
            _ => {
                let why = format!(
                    "provided port is not in the valid range. The range of valid ports is {}-{}",
                    range.start(),
                    range.end()
                );
                request.errors.push(FieldError::invalid(&path, wanted, why));
                Ok(())
            }
        }
    }

    /// The first free cluster IP after the `kubernetes` Service's.
    async fn claim_free_ip(&self, request: &mut Request) -> Result<String> {
        let candidates = self.services.cluster_ip_range.hosts().skip(1).map(|ip| ip.to_string());
        self.claim_free(CLUSTER_IPS, candidates, request)
            .await?
            .ok_or_else(|| ApiError::internal("failed to allocate a serviceIP: range is full"))
    }

    async fn claim_free_port(&self, request: &mut Request) -> Result<u16> {
        let candidates = self.services.node_ports.clone().map(|p| p.to_string());
        let port = self.claim_free(NODE_PORTS, candidates, request).await?;
        port.and_then(|p| p.parse().ok())
            .ok_or_else(|| ApiError::internal("failed to allocate a nodePort: range is full"))
    }

    /// Releases what `old` held and `new` (its successor; `None` when deleted) does not.
    pub(super) async fn release_service_addresses(&self, old: &Value, new: Option<&Value>) {
        let kept = new.map(Holdings::of).unwrap_or_default();
        for key in Holdings::of(old).without(&kept).keys() {
            self.remove_record(key).await;
        }
    }

    /// Removes the records of a write that did not happen.
    pub(super) async fn release(&self, claims: Claims) {
        for key in claims.0 {
            self.remove_record(key).await;
        }
    }

    async fn remove_record(&self, key: Key) {
        match self.store.write(Write::Delete { key: key.clone(), expected_rv: None }).await {
            Ok(_) | Err(WriteError::NotFound) => {}
            // Left for the start-up repair; the address stays taken until then.
            Err(error) => tracing::warn!(key = key.as_str(), %error, "could not release a Service address"),
        }
    }

    /// Makes the record of `value` for the request's Service (on a dry run, only checks it is free).
    async fn claim(&self, prefix: &str, value: &str, request: &mut Request) -> Result<(), WriteError> {
        let key = Key::new(prefix, "", value);
        if request.dry_run {
            return if self.store.get(&key).is_some() { Err(WriteError::AlreadyExists) } else { Ok(()) };
        }
        let mut object = request.record.clone();
        object["metadata"]["name"] = json!(value);
        self.store.write(Write::Create { key: key.clone(), object, select: Selectable::default() }).await?;
        request.claims.0.push(key);
        Ok(())
    }

    /// Claims the first free value of `candidates`: one a concurrent create took meanwhile is skipped.
    async fn claim_free(
        &self,
        prefix: &str,
        candidates: impl Iterator<Item = String>,
        request: &mut Request,
    ) -> Result<Option<String>> {
        for value in candidates {
            if self.store.get(&Key::new(prefix, "", &value)).is_some() {
                continue;
            }
            match self.claim(prefix, &value, request).await {
                Ok(()) => return Ok(Some(value)),
                Err(WriteError::AlreadyExists) => {}
                Err(e) => return Err(ApiError::unavailable(e)),
            }
        }
        Ok(None)
    }

    /// Makes the records every stored Service should have and removes those no Service holds (left by a crash
    /// between a record and its Service's write, or written by a version without records).
    pub async fn repair_allocations(&self) -> Result<()> {
        let rt = services()?;
        let (held, records): (Vec<Record>, Vec<Record>) = self.store.read(|state| {
            let held = state
                .range(&Key::prefix(rt.storage, None), None)
                .flat_map(|(_, svc)| {
                    let svc = svc.value();
                    let who = holder(&svc);
                    Holdings::of(&svc).keys().map(|k| (k, who.clone())).collect::<Vec<_>>()
                })
                .collect();
            let prefixes = [Key::prefix(CLUSTER_IPS, None), Key::prefix(NODE_PORTS, None)];
            let records = prefixes
                .iter()
                .flat_map(|prefix| state.range(prefix, None))
                .map(|(k, r)| {
                    (
                        k.clone(),
                        r.value().get("holder").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            (held, records)
        });
        let wanted: BTreeSet<&Record> = held.iter().collect();
        let present: BTreeSet<&Record> = records.iter().collect();
        for stale in present.difference(&wanted) {
            self.remove_record(stale.0.clone()).await;
        }
        for (key, who) in wanted.difference(&present) {
            let name = key.as_str().rsplit('/').next().unwrap_or_default();
            let object = json!({"metadata": {"name": name}, "holder": who});
            match self
                .store
                .write(Write::Create { key: key.clone(), object, select: Selectable::default() })
                .await
            {
                // Another Service holds it too (data from before records): the first keeps it.
                Ok(_) | Err(WriteError::AlreadyExists) => {}
                Err(e) => return Err(ApiError::unavailable(e)),
            }
        }
        Ok(())
    }
}

/// A host address of `range` other than its first, which is the `kubernetes` Service's.
fn usable(range: Ipv4Net, ip: Ipv4Addr) -> bool {
    range.contains(&ip) && ip != range.network() && ip != range.broadcast()
}
