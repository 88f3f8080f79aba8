//! The ingress a LoadBalancer Service reports. Pure.

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Node, Service};

/// Whether the built-in load balancer serves `service`.
pub fn served(service: &Service) -> bool {
    service
        .spec
        .as_ref()
        .is_some_and(|s| s.type_.as_deref() == Some("LoadBalancer") && s.load_balancer_class.is_none())
}

/// The ingress of a served Service: the InternalIP of every Ready node, sorted.
pub fn ingress<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Vec<LoadBalancerIngress> {
    let mut ips: Vec<String> = nodes
        .into_iter()
        .filter(|node| {
            let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .filter_map(|node| {
            let addresses = node.status.as_ref()?.addresses.as_ref()?;
            addresses.iter().find(|a| a.type_ == "InternalIP").map(|a| a.address.clone())
        })
        .collect();
    ips.sort();
    ips.dedup();
    ips.into_iter()
        .map(|ip| LoadBalancerIngress {
            ip: Some(ip),
            ip_mode: Some("VIP".to_owned()),
            ..LoadBalancerIngress::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(ip: &str, ready: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": ip}, "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": "n"}],
            "conditions": [{"type": "Ready", "status": ready}]}}))
        .unwrap()
    }

    #[test]
    fn ready_nodes_are_the_ingress() {
        let nodes = [node("127.0.0.3", "True"), node("127.0.0.2", "True"), node("127.0.0.4", "Unknown")];
        let ips: Vec<_> = ingress(&nodes).into_iter().map(|i| i.ip.unwrap()).collect();
        assert_eq!(ips, ["127.0.0.2", "127.0.0.3"]);
        let lb: Service = serde_json::from_value(json!({"spec": {"type": "LoadBalancer"}})).unwrap();
        let classed: Service =
            serde_json::from_value(json!({"spec": {"type": "LoadBalancer", "loadBalancerClass": "x/y"}}))
                .unwrap();
        let plain: Service = serde_json::from_value(json!({"spec": {"type": "NodePort"}})).unwrap();
        assert!(served(&lb) && !served(&classed) && !served(&plain));
    }
}
