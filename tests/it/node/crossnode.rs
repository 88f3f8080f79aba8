//! Routing over a real link: three node agents, one of them in its own network namespace behind a veth pair
//! (198.51.100.0/24, a documentation range), so that its pods' loopback addresses are unreachable from the other
//! two and every request between them must be forwarded by the owning node's agent. Node ports and load
//! balancers reach every replica from every node, and guests reach each other across the link by every Service
//! name form and the cluster IP, over `wasi:http` and over `wasi:sockets` TCP, and a rolling restart on the far
//! side of the link drops no request.
//!
//! Making the namespace needs root (CI runs as root); elsewhere the test says so and passes without running.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use host::{Agent, NodeConfig};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use tests::{PATIENCE, TestServer, eventually};
use tokio::process::{Child, Command};

use super::{TARGETS, fresh_pod_cidr, guest, phase, wait_pod};

/// The network namespace and the veth pair's two ends.
const NETNS: &str = "wharf-it";
const HOST_END: &str = "wharf-it0";
const NETNS_END: &str = "wharf-it1";
/// The host's end carries the API server and the two local nodes' addresses; the namespace's end the third's.
const HOST_IPS: [&str; 2] = ["198.51.100.1", "198.51.100.3"];
const NETNS_IP: &str = "198.51.100.2";

/// The environment variable that tells [`agent_in_network_namespace`] what to run.
const CHILD_CONFIG: &str = "WHARF_IT_NETNS_AGENT";

/// The namespace and the link, removed on drop.
struct Link;

impl Link {
    fn create() -> Self {
        Self::remove();
        let steps: [&[&str]; 8] = [
            &["netns", "add", NETNS],
            &["link", "add", HOST_END, "type", "veth", "peer", "name", NETNS_END],
            &["link", "set", NETNS_END, "netns", NETNS],
            &["addr", "add", &format!("{}/24", HOST_IPS[0]), "dev", HOST_END],
            &["addr", "add", &format!("{}/24", HOST_IPS[1]), "dev", HOST_END],
            &["link", "set", HOST_END, "up"],
            &["-n", NETNS, "addr", "add", &format!("{NETNS_IP}/24"), "dev", NETNS_END],
            &["-n", NETNS, "link", "set", NETNS_END, "up"],
        ];
        for step in steps.iter().chain([&["-n", NETNS, "link", "set", "lo", "up"][..]].iter()) {
            let out = std::process::Command::new("ip").args(*step).output().expect("ip runs (iproute2)");
            assert!(out.status.success(), "ip {step:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Self
    }

    fn remove() {
        for step in [&["netns", "del", NETNS][..], &["link", "del", HOST_END]] {
            let _ = std::process::Command::new("ip").args(step).output();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        Self::remove();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

/// The third node: this test binary again, run inside the namespace, running [`agent_in_network_namespace`].
fn start_netns_agent(server: &TestServer, dir: &std::path::Path) -> Child {
    let config = json!({"kubeconfig": server.server.kubeconfig(), "data_dir": dir,
        "pod_cidr": fresh_pod_cidr().to_string(), "node_ip": NETNS_IP});
    Command::new("ip")
        .args(["netns", "exec", NETNS])
        .arg(std::env::current_exe().expect("the test binary"))
        .args(["node::crossnode::agent_in_network_namespace", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_CONFIG, config.to_string())
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the namespaced agent starts")
}

/// Runs node-2's agent for [`routes_cross_a_real_link_between_nodes`], inside its network namespace, until its
/// stdin closes. Run by that test only (ignored otherwise; without its configuration it does nothing).
#[tokio::test]
#[ignore = "the node agent inside the cross-node test's network namespace"]
async fn agent_in_network_namespace() {
    use tokio::io::AsyncReadExt;
    let Ok(config) = std::env::var(CHILD_CONFIG) else { return };
    let config: Value = serde_json::from_str(&config).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(config["kubeconfig"].as_str().unwrap()).unwrap();
    let client_config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    let client = kube::Client::try_from(client_config).unwrap();
    let mut node = NodeConfig::new("node-2", config["data_dir"].as_str().unwrap());
    node.heartbeat = Duration::from_secs(1);
    node.pod_cidr = Some(config["pod_cidr"].as_str().unwrap().parse().unwrap());
    node.node_ip = config["node_ip"].as_str().unwrap().parse().unwrap();
    node.log_listen = std::net::SocketAddr::new(node.node_ip, 0);
    let agent = Agent::start(client, node).await.expect("the namespaced agent starts");
    let mut rest = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut rest).await;
    agent.shutdown().await;
}

/// A pod of the `wasi:http` hello component, labelled `app`, on `node`.
pub(super) fn http_pod(name: &str, app: &str, node: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": guest(TARGETS[1], "http_hello"),
            "ports": [{"name": "http", "containerPort": 8080}]}]}}))
    .unwrap()
}

fn echo_pod(name: &str, node: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": "echo"}},
        "spec": {"nodeName": node, "containers": [{"name": "echo", "image": guest(TARGETS[1], "echo"),
            "args": ["$(POD_IP):7000"], "ports": [{"name": "echo", "containerPort": 7000}],
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}]}}))
    .unwrap()
}

/// The bodies of up to `tries` GETs of `path` from `addr` that answered 200.
async fn answers(addr: &str, path: &str, tries: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..tries {
        if let Ok(Ok((200, body))) =
            tokio::time::timeout(Duration::from_secs(5), super::routing::try_request(addr, path)).await
        {
            seen.insert(String::from_utf8_lossy(&body).trim().to_owned());
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routes_cross_a_real_link_between_nodes() {
    if !is_root() {
        eprintln!("skipped: making a network namespace needs root");
        return;
    }
    let _link = Link::create();
    let server =
        TestServer::start_with(|c| c.listen = (HOST_IPS[0].parse::<std::net::IpAddr>().unwrap(), 0).into())
            .await;
    let client = server.client();
    let mut agents = Vec::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, ip) in HOST_IPS.iter().enumerate() {
        let mut config = NodeConfig::new(format!("node-{i}"), dirs[i].path());
        config.heartbeat = Duration::from_secs(1);
        config.pod_cidr = Some(fresh_pod_cidr());
        config.node_ip = ip.parse().unwrap();
        config.log_listen = std::net::SocketAddr::new(config.node_ip, 0);
        agents.push(Agent::start(client.clone(), config).await.expect("agent starts"));
    }
    let mut netns_agent = start_netns_agent(&server, dirs[2].path());
    let controllers = controllers::Controllers::start(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for (i, node) in ["node-0", "node-1", "node-2"].iter().enumerate() {
        pods.create(&PostParams::default(), &http_pod(&format!("web-{i}"), "web", node)).await.unwrap();
    }
    for (name, node) in [("caller-0", "node-0"), ("caller-2", "node-2")] {
        pods.create(&PostParams::default(), &http_pod(name, name, node)).await.unwrap();
    }
    for (name, node) in [("echo-0", "node-0"), ("echo-2", "node-2")] {
        pods.create(&PostParams::default(), &echo_pod(name, node)).await.unwrap();
    }
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let specs = [
        json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort", "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        json!({"metadata": {"name": "front"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 18081, "targetPort": "http"}]}}),
        json!({"metadata": {"name": "echo"}, "spec": {"selector": {"app": "echo"},
            "ports": [{"name": "echo", "port": 7000, "targetPort": "echo"}]}}),
        // The test asks each caller through a node port of its own.
        json!({"metadata": {"name": "caller-0"}, "spec": {"type": "NodePort", "selector": {"app": "caller-0"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        json!({"metadata": {"name": "caller-2"}, "spec": {"type": "NodePort", "selector": {"app": "caller-2"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
    ];
    for spec in specs {
        services.create(&PostParams::default(), &serde_json::from_value(spec).unwrap()).await.unwrap();
    }
    for name in ["web-0", "web-1", "web-2", "caller-0", "caller-2", "echo-0", "echo-2"] {
        wait_pod(&pods, name, 90, |p| phase(p) == "Running").await;
    }
    let node_port = services.get("web").await.unwrap().spec.unwrap().ports.unwrap()[0].node_port.unwrap();
    let node_ips = [HOST_IPS[0], HOST_IPS[1], NETNS_IP];
    let replicas: BTreeSet<String> = (0..3).map(|i| format!("web-{i}")).collect();

    // From outside, through every node's node port and load balancer: all three replicas, wherever they run.
    for ip in node_ips {
        for front in [format!("{ip}:{node_port}"), format!("{ip}:18081")] {
            eventually(&format!("{front} to reach every replica"), PATIENCE, async || {
                answers(&front, "/?whoami", 24).await == replicas
            })
            .await;
        }
    }

    // Guest to guest, both ways over the link, by every name and the cluster IP.
    let web_ip = services.get("web").await.unwrap().spec.unwrap().cluster_ip.unwrap();
    let echo_ip = services.get("echo").await.unwrap().spec.unwrap().cluster_ip.unwrap();
    for caller in ["caller-0", "caller-2"] {
        let port = services.get(caller).await.unwrap().spec.unwrap().ports.unwrap()[0].node_port.unwrap();
        // caller-2 is reached across the link too: the node port is node-1's.
        let caller = format!("{}:{port}", HOST_IPS[1]);
        let caller = caller.as_str();
        for name in
            ["web", "web.default", "web.default.svc", "web.default.svc.cluster.local", web_ip.as_str()]
        {
            let path = format!("/?fetch={name}");
            eventually(&format!("{caller} to reach every replica at {name}"), PATIENCE, async || {
                let seen = answers(caller, &path, 24).await;
                let reached: BTreeSet<String> =
                    seen.iter().filter_map(|b| b.strip_prefix("upstream 200: ").map(str::to_owned)).collect();
                reached == replicas
            })
            .await;
        }
        for name in
            ["echo", "echo.default", "echo.default.svc", "echo.default.svc.cluster.local", echo_ip.as_str()]
        {
            let path = format!("/?tcp={name}:7000");
            eventually(&format!("{caller} to reach the echo at {name} over TCP"), PATIENCE, async || {
                answers(caller, &path, 4).await.contains("echoed: ping")
            })
            .await;
        }
    }

    // A rolling restart of a Deployment on the namespaced node, served from the other side of the link: no
    // request fails while its pods drain there.
    let scheduler = scheduler::Service::start(client.clone(), scheduler::Options::default());
    let kubectl = server.kubectl();
    let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "roll", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "roll"}},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": {"app": "roll"}}, "spec": {"terminationGracePeriodSeconds": 10,
                "nodeSelector": {"kubernetes.io/hostname": "node-2"},
                "containers": [{"name": "web", "image": guest(TARGETS[1], "http_hello"),
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}}]}}}});
    let file = kubectl.write("roll.yaml", &manifest.to_string());
    kubectl.ok(&["apply", "-f", &file]).await;
    kubectl.ok(&["rollout", "status", "deployment/roll", "--timeout=90s"]).await;
    let roll = json!({"metadata": {"name": "roll"}, "spec": {"type": "NodePort", "selector": {"app": "roll"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
    let roll: Service =
        services.create(&PostParams::default(), &serde_json::from_value(roll).unwrap()).await.unwrap();
    let front = format!("{}:{}", HOST_IPS[0], roll.spec.unwrap().ports.unwrap()[0].node_port.unwrap());
    eventually("the rolled Service to answer across the link", PATIENCE, async || {
        !answers(&front, "/", 1).await.is_empty()
    })
    .await;
    let (sent, failed) = super::rollout::failures_during(&front, async {
        kubectl.ok(&["rollout", "restart", "deployment/roll"]).await;
        kubectl.ok(&["rollout", "status", "deployment/roll", "--timeout=90s"]).await;
    })
    .await;
    assert!(sent > 20, "only {sent} requests were sent during the rollout");
    assert_eq!(failed, 0, "{failed} of {sent} requests failed during the rollout");
    scheduler.shutdown().await;

    drop(netns_agent.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(30), netns_agent.wait()).await;
    controllers.shutdown().await;
    for agent in agents {
        agent.shutdown().await;
    }
}
