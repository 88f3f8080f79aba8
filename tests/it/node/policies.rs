//! NetworkPolicies on guests' connections: a policy added at run time restricts a pod's egress to what it
//! allows, over `wasi:http` and `wasi:sockets` TCP, on the same node and across nodes; removing it opens the way
//! again; an ingress policy isolates its pods from callers it does not name.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tests::{PATIENCE, eventually};

use super::crossnode::http_pod;
use super::serving::request;
use super::{Cluster, phase, wait_pod};

fn policy(name: &str, spec: Value) -> NetworkPolicy {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn policies_decide_which_connections_guests_may_open() {
    let cluster = Cluster::start(2, |_| {}).await;
    let client = cluster.server.client();
    let controllers = controllers::Controllers::start(client.clone());
    let pods = cluster.pods();
    for (name, app, node) in [
        ("caller", "caller", "node-0"),
        ("web", "web", "node-1"),
        ("db", "db", "node-0"),
        ("other", "other", "node-1"),
    ] {
        pods.create(&PostParams::default(), &http_pod(name, app, node)).await.unwrap();
    }
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    for name in ["web", "db"] {
        let service = json!({"metadata": {"name": name}, "spec": {"selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
        services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    }
    let mut addrs = std::collections::BTreeMap::new();
    for name in ["caller", "web", "db", "other"] {
        let running = wait_pod(&pods, name, 60, |p| phase(p) == "Running").await;
        addrs.insert(name, running.status.unwrap().pod_ip.unwrap());
    }
    let caller = format!("{}:8080", addrs["caller"]);
    let reaches = async |path: String| {
        let (_, body) = request(&caller, "GET", &path, b"").await;
        let body = String::from_utf8_lossy(&body).into_owned();
        body.starts_with("upstream 200") || body.starts_with("echoed")
    };
    for target in ["web", "db"] {
        eventually(&format!("the caller to reach {target}"), PATIENCE, async || {
            reaches(format!("/?fetch={target}")).await
        })
        .await;
    }

    // Egress of the caller only to the db, on its HTTP port.
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), "default");
    let egress = policy(
        "caller-out",
        json!({"podSelector": {"matchLabels": {"app": "caller"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": "http"}]}]}),
    );
    policies.create(&PostParams::default(), &egress).await.unwrap();
    eventually("the policy to stop the caller reaching web", PATIENCE, async || {
        !reaches("/?fetch=web".to_owned()).await
    })
    .await;
    let (_, body) = request(&caller, "GET", "/?fetch=web", b"").await;
    assert!(
        String::from_utf8_lossy(&body).contains("ConnectionRefused"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // By Service name or straight at a pod's address, over HTTP or TCP: the same verdict.
    let web_ip = &addrs["web"];
    assert!(!reaches(format!("/?fetch={web_ip}:8080")).await, "web by its pod address");
    assert!(!reaches(format!("/?tcp={web_ip}:8080")).await, "web over TCP");
    assert!(reaches("/?fetch=db".to_owned()).await, "the db stays allowed");
    assert!(reaches(format!("/?fetch={}:8080", addrs["db"])).await, "the db by its address too");
    // Refusals are counted and shown on the pod, and kubectl describes the policy.
    let metrics = cluster.agent_get(0, "/metrics").await;
    let line = "wharf_network_policy_denied_total{namespace=\"default\",pod=\"caller\",policy=\"default/caller-out\",direction=\"Egress\"}";
    assert!(metrics.contains(line), "{metrics}");
    let kubectl = cluster.server.kubectl();
    eventually("the refusal to show in the pod's events", PATIENCE, async || {
        let described = kubectl.ok(&["describe", "pod", "caller"]).await;
        described.contains("NetworkPolicyDenied") && described.contains("allows no egress to")
    })
    .await;
    let described = kubectl.ok(&["describe", "networkpolicy", "caller-out"]).await;
    assert!(described.contains("app=caller") && described.contains("Allowing egress traffic"), "{described}");

    // Ingress: only callers labelled app=caller may reach `other`; the web pod (no egress policy) may not.
    policies.delete("caller-out", &DeleteParams::default()).await.unwrap();
    eventually("the caller to reach web again", PATIENCE, async || reaches("/?fetch=web".to_owned()).await)
        .await;
    let front = json!({"metadata": {"name": "other"}, "spec": {"type": "NodePort", "selector": {"app": "other"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
    let front: Service =
        services.create(&PostParams::default(), &serde_json::from_value(front).unwrap()).await.unwrap();
    let node_ip = cluster.pod_cidrs[0].hosts().next().unwrap();
    let front = format!("{node_ip}:{}", front.spec.unwrap().ports.unwrap()[0].node_port.unwrap());
    eventually("the node port to reach other", PATIENCE, async || {
        matches!(super::routing::try_request(&front, "/").await, Ok((200, _)))
    })
    .await;
    let ingress = policy(
        "other-in",
        json!({"podSelector": {"matchLabels": {"app": "other"}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "caller"}}}]}]}),
    );
    policies.create(&PostParams::default(), &ingress).await.unwrap();
    let other = format!("/?fetch={}:8080", addrs["other"]);
    let from_web = format!("{}:8080", addrs["web"]);
    eventually("the ingress policy to keep web out of other", PATIENCE, async || {
        let (_, body) = request(&from_web, "GET", &other, b"").await;
        String::from_utf8_lossy(&body).contains("fetch failed")
    })
    .await;
    assert!(reaches(other.clone()).await, "the caller is let in");
    // The node's address is outside the cluster: no way around the policy through a node port.
    for from in [&from_web, &caller] {
        let (_, body) = request(from, "GET", &format!("/?fetch={front}"), b"").await;
        assert!(String::from_utf8_lossy(&body).contains("fetch failed"), "{from} through {front}");
    }
    // The destination's agent judges what other agents forward to its pods by the address they name. Only
    // nodes may open tunnels, over TLS with their certificates.
    let agent = cluster.agents[1].1.log_addr();
    let tunnel_as = async |source: &str, user: &str, groups: &[&str]| {
        let mut stream = cluster.agent_connection(1, user, groups).await;
        let head = format!(
            "GET /forward/{}/8080 HTTP/1.1\r\nHost: {agent}\r\nConnection: Upgrade\r\nUpgrade: wharf-forward\r\n\
             Wharf-Source: {source}\r\n\r\n",
            addrs["other"]
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 512];
        let n = tokio::io::AsyncReadExt::read(&mut stream, &mut answer).await.unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    };
    let tunnel = async |source: &str| tunnel_as(source, "system:node:node-0", &["system:nodes"]).await;
    let admin = tunnel_as(&addrs["caller"], "wharf-admin", &["system:masters"]).await;
    assert!(
        admin.starts_with("HTTP/1.1 403") && admin.contains("only for members of system:nodes"),
        "{admin}"
    );
    let mut plain = tokio::net::TcpStream::connect(agent).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut plain, b"GET /metrics HTTP/1.0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut plain, &mut answer).await;
    assert!(!String::from_utf8_lossy(&answer).contains("HTTP/1."), "plain HTTP is not served");
    let refused = tunnel(&addrs["web"]).await;
    assert!(
        refused.starts_with("HTTP/1.1 403") && refused.contains("NetworkPolicy default/other-in"),
        "{refused}"
    );
    assert!(
        tunnel(&addrs["caller"]).await.starts_with("HTTP/1.1 101"),
        "the caller's address is let through"
    );
    // From outside the cluster, through the node port: not a caller, so not let in.
    eventually("the node port to stop reaching other", PATIENCE, async || {
        super::routing::try_request(&front, "/").await.is_err()
    })
    .await;
    let metrics = cluster.agent_get(0, "/metrics").await;
    assert!(metrics.contains("outcome=\"denied\"}"), "{metrics}");
    controllers.shutdown().await;
}

/// One guest's attempt: over `wasi:http` or `wasi:sockets` TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Http,
    Tcp,
}

/// Whether the guest serving at `client` reaches `server` (a pod's `ip:port`) over `over`: an HTTP server answers
/// a TCP `ping` with a 400, which is an answer too.
async fn reaches(client: &str, server: &str, over: Over) -> bool {
    let query = match over {
        Over::Http => format!("/?fetch={server}"),
        Over::Tcp => format!("/?tcp={server}"),
    };
    let (_, body) = request(client, "GET", &query, b"").await;
    let body = String::from_utf8_lossy(&body);
    body.starts_with("upstream 200") || body.starts_with("echoed: HTTP/1.1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_policy_matrix_holds_on_three_nodes_for_http_and_tcp() {
    let cluster = Cluster::start(3, |_| {}).await;
    let client = cluster.server.client();
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for (name, team) in [("alpha", "a"), ("beta", "b")] {
        let namespace = json!({"metadata": {"name": name, "labels": {"team": team}}});
        namespaces.create(&PostParams::default(), &serde_json::from_value(namespace).unwrap()).await.unwrap();
    }
    // Clients on every node, one of them in the other namespace; servers on the first and the last node.
    let layout = [
        ("alpha", "client-0", "client", 0),
        ("alpha", "client-1", "client", 1),
        ("beta", "client-2", "client", 2),
        ("alpha", "web-0", "web", 0),
        ("alpha", "web-2", "web", 2),
    ];
    let mut at = std::collections::BTreeMap::new();
    for (namespace, name, app, node) in layout {
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), namespace);
        let mut pod = http_pod(name, app, &format!("node-{node}"));
        pod.metadata.namespace = Some(namespace.to_owned());
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let running = wait_pod(&pods, name, 60, |p| phase(p) == "Running").await;
        at.insert(name, format!("{}:8080", running.status.unwrap().pod_ip.unwrap()));
    }
    let clients = ["client-0", "client-1", "client-2"];
    let servers = ["web-0", "web-2"];
    // Waits until every client reaches exactly the servers `allowed` says, over both HTTP and TCP.
    let holds = async |what: &str, allowed: &dyn Fn(&str, &str) -> bool| {
        eventually(what, PATIENCE, async || {
            for client in clients {
                for server in servers {
                    for over in [Over::Http, Over::Tcp] {
                        if reaches(&at[client], &at[server], over).await != allowed(client, server) {
                            return false;
                        }
                    }
                }
            }
            true
        })
        .await;
    };
    holds("without policies, everyone to reach everyone", &|_, _| true).await;

    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), "alpha");
    let web = json!({"matchLabels": {"app": "web"}});
    // Ingress from the same namespace's clients, on the named port.
    policies
        .create(
            &PostParams::default(),
            &policy(
                "web-in",
                json!({"podSelector": web, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                    "ports": [{"port": "http"}]}]}),
            ),
        )
        .await
        .unwrap();
    holds("only alpha's clients to reach web", &|client, _| client != "client-2").await;

    // A named port the servers do not have admits no one.
    let closed =
        json!({"spec": {"ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": "admin"}]}]}});
    policies.patch("web-in", &PatchParams::default(), &Patch::Merge(&closed)).await.unwrap();
    holds("a port the servers do not name to keep everyone out", &|_, _| false).await;

    // Another namespace by its labels; then that namespace and a pod label together.
    let beta =
        json!({"spec": {"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]}});
    policies.patch("web-in", &PatchParams::default(), &Patch::Merge(&beta)).await.unwrap();
    holds("only beta's client to reach web", &|client, _| client == "client-2").await;
    let both = json!({"spec": {"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}},
        "podSelector": {"matchLabels": {"app": "other"}}}]}]}});
    policies.patch("web-in", &PatchParams::default(), &Patch::Merge(&both)).await.unwrap();
    holds("a namespace and pod selector no client matches to keep everyone out", &|_, _| false).await;
    policies.delete("web-in", &DeleteParams::default()).await.unwrap();
    holds("removing the ingress policy to let everyone in again", &|_, _| true).await;

    // Egress of alpha's clients to the pod ranges, except web-2's address.
    let web_2 = at["web-2"].split(':').next().unwrap().to_owned();
    let egress = policy(
        "clients-out",
        json!({"podSelector": {"matchLabels": {"app": "client"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "127.96.0.0/11", "except": [format!("{web_2}/32")]}}]}]}),
    );
    policies.create(&PostParams::default(), &egress).await.unwrap();
    holds("alpha's clients to reach all but web-2", &|client, server| {
        client == "client-2" || server != "web-2"
    })
    .await;
    policies.delete("clients-out", &DeleteParams::default()).await.unwrap();
    holds("removing the egress policy to let everyone out again", &|_, _| true).await;
}
