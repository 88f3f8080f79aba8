//! Services route to pods on every node: a NodePort reaches every ready replica across two node agents, keeps a
//! client on one replica with `sessionAffinity: ClientIP`, stops sending to a pod that left the Service, and
//! answers 503 on an HTTP port with no ready endpoint.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use tests::{PATIENCE, eventually, merge};

use super::serving::request;
use super::{Cluster, TARGETS, guest, phase, wait_pod};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_ports_reach_every_ready_replica_on_every_node() {
    let cluster = Cluster::start(2, |_| {}).await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let pods = cluster.pods();
    for i in 0..3 {
        let pod = json!({"metadata": {"name": format!("web-{i}"), "labels": {"app": "web"}},
            "spec": {"nodeName": format!("node-{}", i % 2), "containers": [{"name": "web",
                "image": guest(TARGETS[1], "http_hello"), "ports": [{"name": "http", "containerPort": 8080}]}]}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    }
    for i in 0..3 {
        wait_pod(&pods, &format!("web-{i}"), 60, |p| phase(p) == "Running").await;
    }
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
    let service: Service =
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    let node_port = service.spec.unwrap().ports.unwrap()[0].node_port.unwrap();
    let node_ip = cluster.pod_cidrs[0].hosts().next().unwrap();
    let front = format!("{node_ip}:{node_port}");

    let all: BTreeSet<String> = (0..3).map(|i| format!("web-{i}")).collect();
    eventually("requests through the node port to reach all three replicas", PATIENCE, async || {
        let mut seen = BTreeSet::new();
        for _ in 0..30 {
            if let Ok((200, body)) = try_request(&front, "/?whoami").await {
                seen.insert(String::from_utf8_lossy(&body).trim().to_owned());
            }
        }
        seen == all
    })
    .await;

    let metrics = cluster.agent_get(0, "/metrics").await;
    assert!(
        metrics
            .contains("wharf_service_connections_total{service=\"default/web:http\",outcome=\"forwarded\"}"),
        "{metrics}"
    );
    // Node 0 runs web-0 and web-2: the Service's requests are counted where its endpoints served them.
    assert!(
        metrics.contains(
            "wharf_service_http_requests_total{namespace=\"default\",service=\"web\",code=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "wharf_service_http_request_duration_seconds_count{namespace=\"default\",service=\"web\"}"
        ),
        "{metrics}"
    );

    // A pod relabelled out of the selector gets no more traffic.
    merge(&pods, "web-2", json!({"metadata": {"labels": {"app": "retired"}}})).await.unwrap();
    eventually("web-2 to leave the rotation", PATIENCE, async || {
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            if let Ok((200, body)) = try_request(&front, "/?whoami").await {
                seen.insert(String::from_utf8_lossy(&body).trim().to_owned());
            }
        }
        !seen.contains("web-2") && seen.len() == 2
    })
    .await;

    // Client affinity: one client, one replica.
    merge(&services, "web", json!({"spec": {"sessionAffinity": "ClientIP"}})).await.unwrap();
    eventually("a client to stick to one replica", PATIENCE, async || {
        let mut seen = BTreeSet::new();
        for _ in 0..10 {
            if let Ok((200, body)) = try_request(&front, "/?whoami").await {
                seen.insert(String::from_utf8_lossy(&body).trim().to_owned());
            }
        }
        seen.len() == 1
    })
    .await;

    // No ready endpoint: 503 at once.
    merge(&services, "web", json!({"spec": {"selector": {"app": "nobody"}}})).await.unwrap();
    eventually("the node port to answer 503", PATIENCE, async || {
        matches!(try_request(&front, "/").await, Ok((503, _)))
    })
    .await;
    controllers.shutdown().await;
}

/// [`request`], but a refused or reset connection is an error rather than a failed test (the proxy may not
/// listen yet).
pub(super) async fn try_request(addr: &str, path: &str) -> Result<(u16, Vec<u8>), ()> {
    let addr = addr.to_owned();
    let path = path.to_owned();
    tokio::spawn(async move { request(&addr, "GET", &path, b"").await }).await.map_err(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guests_reach_services_by_every_name_over_http() {
    let cluster = Cluster::start(2, |_| {}).await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let pods = cluster.pods();
    for (i, (name, app)) in [("web-0", "web"), ("web-1", "web"), ("caller", "caller")].iter().enumerate() {
        let pod = json!({"metadata": {"name": name, "labels": {"app": app}},
            "spec": {"nodeName": format!("node-{}", i % 2), "containers": [{"name": "web",
                "image": guest(TARGETS[1], "http_hello"), "ports": [{"name": "http", "containerPort": 8080}]}]}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    }
    let caller = wait_pod(&pods, "caller", 60, |p| phase(p) == "Running").await;
    let caller = format!("{}:8080", caller.status.unwrap().pod_ip.unwrap());
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    for (name, selector) in [("web", "web"), ("empty", "nobody")] {
        let service = json!({"metadata": {"name": name}, "spec": {"selector": {"app": selector},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    }
    let cluster_ip = services.get("web").await.unwrap().spec.unwrap().cluster_ip.unwrap();

    let replicas: BTreeSet<String> = ["web-0", "web-1"].map(String::from).into();
    for name in
        ["web", "web.default", "web.default.svc", "web.default.svc.cluster.local", cluster_ip.as_str()]
    {
        eventually(&format!("{name} to reach both replicas"), PATIENCE, async || {
            let mut seen = BTreeSet::new();
            for _ in 0..8 {
                let (status, body) = request(&caller, "GET", &format!("/?fetch={name}"), b"").await;
                let body = String::from_utf8_lossy(&body).trim().to_owned();
                if let (200, Some(replica)) = (status, body.strip_prefix("upstream 200: ")) {
                    seen.insert(replica.to_owned());
                }
            }
            seen == replicas
        })
        .await;
    }
    let (_, body) = request(&caller, "GET", "/?fetch=empty", b"").await;
    assert!(
        String::from_utf8_lossy(&body).contains("ConnectionRefused"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    controllers.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn load_balancers_listen_on_their_port_at_every_node_and_report_it() {
    let cluster = Cluster::start(2, |_| {}).await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let pods = cluster.pods();
    let pod = json!({"metadata": {"name": "web-0", "labels": {"app": "web"}}, "spec": {"nodeName": "node-1",
        "containers": [{"name": "web", "image": guest(TARGETS[1], "http_hello"),
            "ports": [{"name": "http", "containerPort": 8080}]}]}});
    pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    wait_pod(&pods, "web-0", 60, |p| phase(p) == "Running").await;
    let node_ips: Vec<String> =
        cluster.pod_cidrs.iter().map(|c| c.hosts().next().unwrap().to_string()).collect();
    // Any port works: the node addresses are this test's own.
    let port = 18080;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": port, "targetPort": "http"}]}});
    services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();

    let ingress = eventually("the ingress to list both nodes", PATIENCE, async || {
        let service = services.get_status("web").await.unwrap();
        let ingress = service.status?.load_balancer?.ingress?;
        let ips: Vec<String> = ingress.into_iter().filter_map(|i| i.ip).collect();
        (ips.len() == 2).then_some(ips)
    })
    .await;
    let mut expected = node_ips.clone();
    expected.sort();
    assert_eq!(ingress, expected);
    for ip in &node_ips {
        let front = format!("{ip}:{port}");
        eventually(&format!("{front} to answer"), PATIENCE, async || {
            matches!(try_request(&front, "/?whoami").await, Ok((200, _)))
        })
        .await;
    }
    let listed = cluster.server.kubectl().ok(&["get", "svc", "web", "--no-headers"]).await;
    assert!(listed.contains("LoadBalancer") && listed.contains(&expected[0]), "{listed}");
    controllers.shutdown().await;
}

#[tokio::test]
async fn kubectl_exposes_a_deployment_and_shows_addresses() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let scheduler = scheduler::Service::start(client.clone(), scheduler::Options::default());
    let controllers = controllers::Controllers::start(client.clone());
    let kubectl = cluster.server.kubectl();
    let image = guest(TARGETS[1], "http_hello");
    kubectl
        .ok(&["create", "deployment", "web", &format!("--image={image}"), "--port=8080", "--replicas=2"])
        .await;
    kubectl.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]).await;
    kubectl.ok(&["expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=NodePort"]).await;
    let wide = kubectl.ok(&["get", "pods", "-o", "wide", "--no-headers"]).await;
    let range = cluster.pod_cidrs[0];
    let ips: Vec<&str> = wide.lines().filter_map(|l| l.split_whitespace().nth(5)).collect();
    assert_eq!(ips.len(), 2, "{wide}");
    assert!(
        ips.iter().all(|ip| ip.parse().is_ok_and(|ip: std::net::Ipv4Addr| range.contains(&ip))),
        "{wide}"
    );
    let slices = eventually("the endpoints to list both pods", PATIENCE, async || {
        let out = kubectl
            .ok(&["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "--no-headers"])
            .await;
        ips.iter().all(|ip| out.contains(ip)).then_some(out)
    })
    .await;
    assert!(slices.contains("IPv4") && slices.contains("8080"), "{slices}");
    let described = kubectl.ok(&["describe", "service", "web"]).await;
    assert!(
        described.contains("Type:") && described.contains("NodePort") && described.contains(":8080"),
        "{described}"
    );
    let listed = kubectl.ok(&["get", "svc", "web", "--no-headers"]).await;
    assert!(listed.contains("NodePort") && listed.contains("80:3"), "{listed}");
    controllers.shutdown().await;
    scheduler.shutdown().await;
}

#[tokio::test]
async fn a_tcp_guest_is_reachable_through_a_node_port() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Node ports listen where --node-port-address says: here the last address of the node's range.
    let cluster = Cluster::start(1, |c| {
        c.node_port_address = c.pod_cidr.and_then(|r| r.hosts().last()).map(Into::into);
    })
    .await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let pod = json!({"metadata": {"name": "echo", "labels": {"app": "echo"}},
        "spec": {"nodeName": "node-0", "containers": [{"name": "echo", "image": guest(TARGETS[1], "echo"),
            "args": ["$(POD_IP):7000"], "ports": [{"name": "echo", "containerPort": 7000}],
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}]}});
    let pods = cluster.pods();
    pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    wait_pod(&pods, "echo", 60, |p| phase(p) == "Running").await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "echo"}, "spec": {"type": "NodePort", "selector": {"app": "echo"},
        "ports": [{"name": "echo", "port": 7000, "targetPort": "echo"}]}});
    let service: Service =
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    let listen = cluster.pod_cidrs[0].hosts().last().unwrap();
    let front = format!("{listen}:{}", service.spec.unwrap().ports.unwrap()[0].node_port.unwrap());
    let echoed = eventually("the echo through the node port", PATIENCE, async || {
        let mut stream = tokio::net::TcpStream::connect(&front).await.ok()?;
        stream.write_all(b"hello wharf").await.ok()?;
        let mut answer = [0u8; 11];
        tokio::time::timeout(std::time::Duration::from_secs(2), stream.read_exact(&mut answer))
            .await
            .ok()?
            .ok()?;
        Some(answer)
    })
    .await;
    assert_eq!(&echoed, b"hello wharf");
    controllers.shutdown().await;
}

#[tokio::test]
async fn a_service_without_selector_reaches_the_server_its_endpoint_slice_names() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    // An "external database": a plain server on loopback, outside the cluster.
    let outside = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outside_port = outside.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = outside.accept().await {
            let _ = stream.write_all(b"outside says hi").await;
        }
    });
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "db"}, "spec": {"type": "NodePort",
        "ports": [{"name": "db", "port": 5432}]}});
    let service: Service =
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    let slices: Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
        Api::namespaced(client.clone(), "default");
    let slice = json!({"metadata": {"name": "db-1", "labels": {"kubernetes.io/service-name": "db"}},
        "addressType": "IPv4", "ports": [{"name": "db", "port": outside_port}],
        "endpoints": [{"addresses": ["127.0.0.1"]}]});
    slices.create(&PostParams::default(), &serde_json::from_value(slice).unwrap()).await.unwrap();
    let node_ip = cluster.pod_cidrs[0].hosts().next().unwrap();
    let front = format!("{node_ip}:{}", service.spec.unwrap().ports.unwrap()[0].node_port.unwrap());
    let answer = eventually("the outside server through the node port", PATIENCE, async || {
        let mut stream = tokio::net::TcpStream::connect(&front).await.ok()?;
        let mut answer = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(2), stream.read_to_end(&mut answer))
            .await
            .ok()?
            .ok()?;
        (!answer.is_empty()).then_some(answer)
    })
    .await;
    assert_eq!(answer, b"outside says hi");
}
