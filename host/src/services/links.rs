//! The Service environment variables the kubelet gives every container (`enableServiceLinks`, on by default):
//! `<NAME>_SERVICE_HOST` and `<NAME>_SERVICE_PORT[_<PORT>]`, and the Docker-link style `<NAME>_PORT...` ones, for
//! each Service of the pod's namespace that has a cluster IP. Pure.

use k8s_openapi::api::core::v1::Service;

/// The variables for `services` (those of one namespace), sorted by Service name.
pub fn service_links<'a>(services: impl IntoIterator<Item = &'a Service>) -> Vec<(String, String)> {
    let mut services: Vec<&Service> = services
        .into_iter()
        .filter(|s| {
            let ip = s.spec.as_ref().and_then(|spec| spec.cluster_ip.as_deref()).unwrap_or_default();
            !ip.is_empty() && ip != "None"
        })
        .collect();
    services.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut env = Vec::new();
    for service in services {
        let Some(spec) = service.spec.as_ref() else { continue };
        let ip = spec.cluster_ip.clone().unwrap_or_default();
        let name = env_name(service.metadata.name.as_deref().unwrap_or_default());
        let ports = spec.ports.as_deref().unwrap_or_default();
        env.push((format!("{name}_SERVICE_HOST"), ip.clone()));
        if let Some(first) = ports.first() {
            env.push((format!("{name}_SERVICE_PORT"), first.port.to_string()));
        }
        for port in ports {
            if let Some(port_name) = port.name.as_deref().filter(|n| !n.is_empty()) {
                env.push((format!("{name}_SERVICE_PORT_{}", env_name(port_name)), port.port.to_string()));
            }
        }
        if let Some(first) = ports.first() {
            let protocol = first.protocol.as_deref().unwrap_or("TCP").to_lowercase();
            env.push((format!("{name}_PORT"), format!("{protocol}://{ip}:{}", first.port)));
        }
        for port in ports {
            let protocol = port.protocol.as_deref().unwrap_or("TCP");
            let prefix = format!("{name}_PORT_{}_{}", port.port, protocol.to_uppercase());
            let lower = protocol.to_lowercase();
            env.push((prefix.clone(), format!("{lower}://{ip}:{}", port.port)));
            env.push((format!("{prefix}_PROTO"), lower));
            env.push((format!("{prefix}_PORT"), port.port.to_string()));
            env.push((format!("{prefix}_ADDR"), ip.clone()));
        }
    }
    env
}

/// A name as an environment variable name: upper case, `-` as `_`.
fn env_name(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn variables_follow_the_kubelet() {
        let web: Service = serde_json::from_value(json!({"metadata": {"name": "my-web"}, "spec": {
            "clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}}))
        .unwrap();
        let headless: Service =
            serde_json::from_value(json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None"}}))
                .unwrap();
        let env = service_links([&web, &headless]);
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MY_WEB_SERVICE_HOST"), Some("10.96.0.10"));
        assert_eq!(get("MY_WEB_SERVICE_PORT"), Some("80"));
        assert_eq!(get("MY_WEB_SERVICE_PORT_HTTP"), Some("80"));
        assert_eq!(get("MY_WEB_PORT"), Some("tcp://10.96.0.10:80"));
        assert_eq!(get("MY_WEB_PORT_53_UDP"), Some("udp://10.96.0.10:53"));
        assert_eq!(get("MY_WEB_PORT_53_UDP_PROTO"), Some("udp"));
        assert_eq!(get("MY_WEB_PORT_80_TCP_ADDR"), Some("10.96.0.10"));
        assert!(get("DB_SERVICE_HOST").is_none(), "headless Services get no variables");
    }
}
