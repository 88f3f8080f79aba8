//! Egress outside the cluster: a pod reaches only the authorities its `wharf.dev/allowed-hosts` annotation names,
//! by scheme, host and port, at addresses the host resolved and the NetworkPolicies allow; hostile guests try
//! another name for an allowed address, a forged `Host` header, the node's own endpoint, a name that rebinds to a
//! denied address, and datagrams to where they may not send.

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tests::{PATIENCE, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use super::serving::request;
use super::{Cluster, TARGETS, guest, phase, wait_pod};

/// An HTTP server outside the cluster that answers every request with the `Host` header it got, and counts them.
struct Outside {
    addr: SocketAddr,
    served: tokio::sync::watch::Receiver<usize>,
}

impl Outside {
    fn serve(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let (count, served) = tokio::sync::watch::channel(0);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.send_modify(|n| *n += 1);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.is_ok_and(|n| n == 1) {
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    let host =
                        head.lines().find_map(|l| l.strip_prefix("host: ")).unwrap_or("none").to_owned();
                    let body = format!("host={host}");
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { addr, served }
    }

    fn served(&self) -> usize {
        *self.served.borrow()
    }
}

/// Two listeners on one port number, at 127.0.0.1 and 127.0.0.2: the same service by two addresses.
async fn twin_listeners() -> (TcpListener, TcpListener) {
    loop {
        let second = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = second.local_addr().unwrap().port();
        if let Ok(first) = TcpListener::bind(("127.0.0.1", port)).await {
            return (first, second);
        }
    }
}

/// The cross-node test's HTTP pod (labelled `app: NAME`, on node-0), with `allowed` as its allowed hosts.
fn http_pod(name: &str, allowed: Option<&str>) -> k8s_openapi::api::core::v1::Pod {
    let mut pod = super::crossnode::http_pod(name, name, "node-0");
    if let Some(allowed) = allowed {
        let annotations = pod.metadata.annotations.get_or_insert_default();
        annotations.insert("wharf.dev/allowed-hosts".to_owned(), allowed.to_owned());
    }
    pod
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn egress_outside_the_cluster_follows_the_allowed_hosts() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let (first, second) = twin_listeners().await;
    let (outside, twin) = (Outside::serve(first), Outside::serve(second));
    let port = outside.addr.port();
    let pods = cluster.pods();
    for (name, allowed) in [
        ("closed", None),
        ("open", Some(format!("http://localhost:{port}"))),
        ("rebind", Some(format!("http://*:{port}"))),
    ] {
        pods.create(&PostParams::default(), &http_pod(name, allowed.as_deref())).await.unwrap();
    }
    let mut at = std::collections::BTreeMap::new();
    for name in ["closed", "open", "rebind"] {
        let running = wait_pod(&pods, name, 60, |p| phase(p) == "Running").await;
        at.insert(name, format!("{}:8080", running.status.unwrap().pod_ip.unwrap()));
    }
    let ask = async |pod: &str, query: String| {
        let (_, body) = request(&at[pod], "GET", &format!("/?{query}"), b"").await;
        String::from_utf8_lossy(&body).trim().to_owned()
    };

    // The allowed authority, exactly: by the name the entry gives, with the Host header that names it.
    assert_eq!(
        ask("open", format!("fetch=localhost:{port}")).await,
        format!("upstream 200: host=localhost:{port}")
    );
    let denied = "fetch failed: ErrorCode::HttpRequestDenied";
    let before = outside.served();
    for (pod, query) in [
        ("closed", format!("fetch=localhost:{port}")),
        // Another name for the same address, another port, another scheme.
        ("open", format!("fetch=127.0.0.1:{port}")),
        ("open", format!("fetch=localhost:{}", port.wrapping_add(1))),
        ("open", format!("fetchs=localhost:{port}")),
        // The node's own endpoint is outside the cluster too.
        ("open", format!("fetch={}", cluster.agents[0].1.log_addr())),
    ] {
        assert_eq!(ask(pod, query.clone()).await, denied, "{pod}: {query}");
    }
    // A forged Host header never leaves the guest; sockets need an entry of their own.
    let forged = ask("open", format!("host=evil.example&fetch=localhost:{port}")).await;
    assert!(forged.starts_with("fetch failed: Host header: HeaderError::Forbidden"), "{forged}");
    let tcp = ask("open", format!("tcp=localhost:{port}")).await;
    assert!(tcp.starts_with("tcp failed: connect"), "{tcp}");
    assert_eq!(outside.served(), before, "no refused request reached the server");

    // A name that first resolves to an allowed address and then to one the policies deny: every request is
    // judged by the address the host resolved and connects to.
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let ext =
        json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "127.0.0.1"}});
    services.create(&PostParams::default(), &serde_json::from_value(ext).unwrap()).await.unwrap();
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), "default");
    let fence = json!({"metadata": {"name": "fence"}, "spec": {"podSelector": {"matchLabels": {"app": "rebind"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "127.0.0.0/8", "except": ["127.0.0.2/32"]}}]}]}});
    policies.create(&PostParams::default(), &serde_json::from_value(fence).unwrap()).await.unwrap();
    let via_ext = format!("fetch=ext:{port}");
    eventually("the rebinding pod to reach the first address", PATIENCE, async || {
        ask("rebind", via_ext.clone()).await == format!("upstream 200: host=ext:{port}")
    })
    .await;
    let rebound = json!({"spec": {"externalName": "127.0.0.2"}});
    services.patch("ext", &PatchParams::default(), &Patch::Merge(&rebound)).await.unwrap();
    eventually("the rebound name to be refused", PATIENCE, async || {
        ask("rebind", via_ext.clone()).await == "fetch failed: ErrorCode::DestinationIpProhibited"
    })
    .await;
    assert_eq!(
        ask("rebind", format!("fetch=127.0.0.2:{port}")).await,
        "fetch failed: ErrorCode::DestinationIpProhibited"
    );
    assert_eq!(twin.served(), 0, "the denied address was never connected to");

    // Refusals are counted and shown on the pod.
    let metrics = cluster.agent_get(0, "/metrics").await;
    assert!(
        metrics.contains("wharf_egress_denied_total{namespace=\"default\",pod=\"closed\"} 1"),
        "{metrics}"
    );
    let kubectl = cluster.server.kubectl();
    eventually("the refusal to show in the pod's events", PATIENCE, async || {
        let described = kubectl.ok(&["describe", "pod", "closed"]).await;
        described.contains("EgressDenied") && described.contains("is not in the pod's allowed hosts")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn datagrams_go_only_where_the_allow_list_and_the_policies_let_them() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = receiver.local_addr().unwrap();
    let policies: Api<NetworkPolicy> = Api::namespaced(client, "default");
    let fence = json!({"metadata": {"name": "no-loopback"}, "spec": {"podSelector": {"matchLabels": {"app": "fenced"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["127.0.0.1/32"]}}]}]}});
    policies.create(&PostParams::default(), &serde_json::from_value(fence).unwrap()).await.unwrap();
    let allowed = format!("udp://{target}");
    for (name, annotations) in [
        ("closed", json!({})),
        ("fenced", json!({"wharf.dev/allowed-hosts": allowed})),
        ("open", json!({"wharf.dev/allowed-hosts": allowed})),
    ] {
        let pod = json!({"metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
            "spec": {"nodeName": "node-0", "restartPolicy": "Never", "containers": [{"name": "main",
                "image": guest(TARGETS[1], "socket"), "args": [target.to_string()]}]}});
        cluster.pods().create(&PostParams::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
        wait_pod(&cluster.pods(), name, 60, |p| phase(p) == "Succeeded").await;
        let logs = cluster.logs(0, name, "main", "").await;
        let sent = logs.contains("udp send: OPENED");
        assert_eq!(sent, name == "open", "{name}: {logs}");
        assert!(logs.contains("connect: denied"), "{name} has no TCP entry: {logs}");
    }
    let mut datagram = [0u8; 16];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), receiver.recv_from(&mut datagram))
        .await
        .expect("the allowed datagram arrives")
        .unwrap();
    assert_eq!(&datagram[..n], b"ping");
    let another = tokio::time::timeout(Duration::from_millis(300), receiver.recv_from(&mut datagram)).await;
    assert!(another.is_err(), "only the allowed pod's datagram arrived");
}

/// A database stand-in on a loopback address that serves only connections from `trusted`: each connection gets
/// `welcome` or `go away`, and the source address it came from. An HTTP request gets the same as its body.
async fn guarded_database(at: &str, trusted: std::net::IpAddr) -> SocketAddr {
    let listener = TcpListener::bind((at, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, peer)) = listener.accept().await {
            tokio::spawn(async move {
                let verdict = if peer.ip() == trusted { "welcome" } else { "go away" };
                let mut first = [0u8; 4];
                let _ = stream.read_exact(&mut first).await;
                let answer = if &first == b"GET " {
                    let body = format!("{verdict} {}", peer.ip());
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    format!("{verdict} {}\n", peer.ip())
                };
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_namespace_egress_address_reaches_the_guarded_database_from_every_node() {
    let mut cluster = Cluster::start(3, |_| {}).await;
    let client = cluster.server.client();
    let mut options = controllers::Options::default();
    options.node_lifecycle.grace = Duration::from_secs(3);
    options.node_lifecycle.eviction = Duration::from_secs(300);
    options.node_lifecycle.period = Duration::from_millis(250);
    let controllers = controllers::Controllers::start_with(client.clone(), options);
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    for (name, _) in &cluster.agents {
        let label = json!({"metadata": {"labels": {"wharf.dev/egress-assignable": ""}}});
        nodes.patch(name, &PatchParams::default(), &Patch::Merge(&label)).await.unwrap();
    }
    let egress_ip: std::net::IpAddr = "127.0.0.50".parse().unwrap();
    let database = guarded_database("127.0.0.77", egress_ip).await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for (name, annotations) in
        [("payments", json!({"wharf.dev/egress-ip": egress_ip.to_string()})), ("shop", json!({}))]
    {
        let namespace = json!({"metadata": {"name": name, "annotations": annotations}});
        namespaces.create(&PostParams::default(), &serde_json::from_value(namespace).unwrap()).await.unwrap();
    }
    let config: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let protected =
        json!({"metadata": {"name": "wharf-egress"}, "data": {"protected-cidrs": "127.0.0.77/32"}});
    config.create(&PostParams::default(), &serde_json::from_value(protected).unwrap()).await.unwrap();

    // The database is on both namespaces' allow-lists; only the egress address gets past its guard.
    let allowed = format!("tcp://{database} http://{database}");
    let mut at = std::collections::BTreeMap::new();
    for (namespace, node) in [("payments", 0), ("payments", 1), ("payments", 2), ("shop", 0)] {
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), namespace);
        let mut pod = http_pod(&format!("app-{node}"), Some(&allowed));
        pod.spec.as_mut().unwrap().node_name = Some(format!("node-{node}"));
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let running = wait_pod(&pods, &format!("app-{node}"), 60, |p| phase(p) == "Running").await;
        at.insert((namespace, node), format!("{}:8080", running.status.unwrap().pod_ip.unwrap()));
    }
    let ask = async |pod: (&str, usize), query: String| {
        let (_, body) = request(&at[&pod], "GET", &format!("/?{query}"), b"").await;
        String::from_utf8_lossy(&body).trim().to_owned()
    };
    let welcome = format!("echoed: welcome {egress_ip}");
    for node in 0..3 {
        eventually(&format!("payments on node-{node} to reach the database"), PATIENCE, async || {
            ask(("payments", node), format!("tcp={database}")).await == welcome
        })
        .await;
        let fetched = ask(("payments", node), format!("fetch={database}")).await;
        assert_eq!(fetched, format!("upstream 200: welcome {egress_ip}"), "over wasi:http from node-{node}");
    }
    let refused = ask(("shop", 0), format!("tcp={database}")).await;
    assert!(refused.starts_with("tcp failed: connect") && refused.contains("ermission denied"), "{refused}");
    assert_eq!(
        ask(("shop", 0), format!("fetch={database}")).await,
        "fetch failed: ErrorCode::DestinationIpProhibited"
    );
    let kubectl = cluster.server.kubectl();
    eventually("the refusal to show in the pod's events", PATIENCE, async || {
        let described = kubectl.ok(&["describe", "pod", "app-0", "-n", "shop"]).await;
        described.contains("EgressDenied") && described.contains("protected network 127.0.0.77/32")
    })
    .await;

    // The node holding the address is lost: another takes it over, and the namespace gets in again from the nodes
    // that are left.
    let mut holder = None;
    for (i, (name, _)) in cluster.agents.iter().enumerate() {
        let metrics = cluster.agent_get(i, "/metrics").await;
        if metrics.contains(&format!("wharf_egress_connections_total{{address=\"{egress_ip}\"}}")) {
            assert!(holder.is_none(), "one node holds the address");
            holder = Some((i, name.clone()));
        }
    }
    let (victim, victim_name) = holder.expect("a node holds the egress address");
    let (_, agent) = cluster.agents.remove(victim);
    agent.shutdown().await;
    for node in (0..3).filter(|n| format!("node-{n}") != victim_name) {
        eventually(
            &format!("payments on node-{node} to get in again"),
            Duration::from_secs(30),
            async || ask(("payments", node), format!("tcp={database}")).await == welcome,
        )
        .await;
    }
    controllers.shutdown().await;
}
