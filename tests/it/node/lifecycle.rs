//! Pods through their life: registration, both wasm targets, exit codes, restarts with backoff, init containers,
//! environment, volumes, images, graceful deletion, agent restart, three nodes.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use super::{Cluster, TARGETS, guest, phase, terminated, wait_pod, waiting};

#[tokio::test]
async fn node_registers_with_capacity_labels_and_lease() {
    let cluster = Cluster::start(1, |c| c.cpu_millis = Some(3000)).await;
    let nodes: Api<Node> = Api::all(cluster.server.client());
    let node = nodes.get("node-0").await.unwrap();
    let labels = node.metadata.labels.unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], "node-0");
    assert!(labels.contains_key("kubernetes.io/os") && labels.contains_key("kubernetes.io/arch"));
    let status = node.status.unwrap();
    let capacity = status.capacity.unwrap();
    assert_eq!(capacity["cpu"].0, "3");
    assert_eq!(capacity["pods"].0, "110");
    assert!(status.allocatable.unwrap().contains_key("memory"));
    let port = status.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port;
    assert_eq!(port, i32::from(cluster.agents[0].1.log_addr().port()));
    assert!(status.conditions.unwrap().iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let leases: Api<Lease> = Api::namespaced(cluster.server.client(), "kube-node-lease");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while leases.get_opt("node-0").await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn node_runs_both_targets_with_env_and_logs() {
    let cluster = Cluster::start(1, |_| {}).await;
    let client = cluster.server.client();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "settings"}, "data": {"color": "blue", "size": "9"}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "creds"}, "stringData": {"token": "s3cret"}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    // A Service that exists before the pods: its variables are in their environment.
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client.clone(), "default");
    let service = json!({"metadata": {"name": "back-end"}, "spec": {"clusterIP": "10.96.8.8",
        "ports": [{"name": "http", "port": 80}]}});
    services.create(&PostParams::default(), &serde_json::from_value(service).unwrap()).await.unwrap();
    tests::eventually("the node to see the Service", tests::PATIENCE, async || {
        cluster.agents[0].1.knows_service("default", "back-end")
    })
    .await;
    for (i, target) in TARGETS.iter().enumerate() {
        let name = format!("hello-{i}");
        cluster.create_pod(&name, "node-0", json!({
            "restartPolicy": "Never",
            "containers": [{
                "name": "main",
                "image": guest(target, "hello"),
                "args": ["first", "$(GREETING)-x", "cwd"],
                "workingDir": "/",
                "env": [
                    {"name": "GREETING", "value": "hi"},
                    {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                    {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
                ],
                "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}]
            }]
        })).await;
        let pod = wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Succeeded").await;
        assert_eq!(terminated(&pod), Some((0, "Completed".into())));
        let status = pod.status.unwrap();
        let node_ip = cluster.pod_cidrs[0].hosts().next().unwrap().to_string();
        assert_eq!(status.host_ip.as_deref(), Some(node_ip.as_str()));
        let pod_ip = status.pod_ip.clone().unwrap_or_default();
        let range = cluster.pod_cidrs[0];
        assert!(
            pod_ip.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| range.contains(&ip)),
            "{pod_ip} outside {range}"
        );
        assert!(status.start_time.is_some());
        let logs = cluster.logs(0, &name, "main", "").await;
        for expected in [
            "args: hello first hi-x cwd",
            "env COLOR=blue",
            "env TOKEN=s3cret",
            &format!("env MY_NAME={name}"),
            "env MY_NODE=node-0",
            &format!("env HOSTNAME={name}"),
            "env BACK_END_SERVICE_HOST=10.96.8.8",
            "env BACK_END_SERVICE_PORT_HTTP=80",
            "env BACK_END_PORT=tcp://10.96.8.8:80",
            &format!("env MY_IP={pod_ip}"),
            "env CM_size=9",
            "cwd: ok /",
        ] {
            assert!(logs.contains(expected), "{target}: {expected:?} missing from:\n{logs}");
        }
        assert!(!logs.contains("env PATH="), "no ambient environment: {logs}");
        let timestamps = cluster.logs(0, &name, "main", "timestamps=true&tailLines=1").await;
        assert_eq!(timestamps.lines().count(), 1, "{timestamps}");
        assert!(timestamps.starts_with("20"), "{timestamps}");
    }
}

#[tokio::test]
async fn node_reports_exit_codes_and_restarts_with_backoff() {
    let cluster = Cluster::start(1, |c| {
        c.backoff.initial = Duration::from_millis(500);
        c.backoff.max = Duration::from_secs(2);
    })
    .await;
    cluster
        .create_pod(
            "fails",
            "node-0",
            json!({
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": guest(TARGETS[0], "hello"), "args": ["exit:3"]}]
            }),
        )
        .await;
    let pod = wait_pod(&cluster.pods(), "fails", 60, |p| phase(p) == "Failed").await;
    assert_eq!(terminated(&pod), Some((3, "Error".into())));

    cluster
        .create_pod(
            "crashloop",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": guest(TARGETS[1], "hello"), "args": ["exit:1"]}]
            }),
        )
        .await;
    let pod = wait_pod(&cluster.pods(), "crashloop", 60, |p| {
        p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).is_some_and(|c| c[0].restart_count >= 3)
    })
    .await;
    assert_eq!(phase(&pod), "Running");
    let status = &pod.status.unwrap().container_statuses.unwrap()[0];
    let last = status.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(last.exit_code, 1);
    wait_pod(&cluster.pods(), "crashloop", 30, |p| waiting(p).as_deref() == Some("CrashLoopBackOff")).await;
}

#[tokio::test]
async fn node_runs_init_containers_and_shares_empty_dir() {
    let cluster = Cluster::start(1, |_| {}).await;
    let hello = guest(TARGETS[0], "hello");
    let hello2 = guest(TARGETS[1], "hello");
    cluster
        .create_pod(
            "shared",
            "node-0",
            json!({
                "restartPolicy": "Never",
                "volumes": [{"name": "work", "emptyDir": {}}],
                "initContainers": [
                    {"name": "one", "image": hello, "args": ["write:/work/a.txt:from-init"],
                     "volumeMounts": [{"name": "work", "mountPath": "/work"}]},
                    {"name": "two", "image": hello2, "args": ["append:/work/a.txt:second"],
                     "volumeMounts": [{"name": "work", "mountPath": "/work"}]}
                ],
                "containers": [
                    {"name": "reader", "image": hello, "args": ["cat:/w/a.txt", "write:/w/b.txt:x"],
                     "volumeMounts": [{"name": "work", "mountPath": "/w", "readOnly": true}]}
                ]
            }),
        )
        .await;
    let pod = wait_pod(&cluster.pods(), "shared", 60, |p| phase(p) == "Succeeded").await;
    let status = pod.status.unwrap();
    assert_eq!(status.init_container_statuses.unwrap().len(), 2);
    assert!(status.conditions.unwrap().iter().any(|c| c.type_ == "Initialized" && c.status == "True"));
    let logs = cluster.logs(0, "shared", "reader", "").await;
    assert!(logs.contains("cat /w/a.txt: ok from-init\nsecond"), "{logs}");
    assert!(logs.contains("write /w/b.txt: err"), "read-only mount refuses writes: {logs}");
}

#[tokio::test]
async fn node_mounts_config_maps_and_host_paths() {
    let allowed = tempfile::tempdir().unwrap();
    std::fs::write(allowed.path().join("hello.txt"), "from the host").unwrap();
    let root = allowed.path().to_path_buf();
    let cluster = Cluster::start(1, move |c| c.host_path_roots = vec![root.clone()]).await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.server.client(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "files"}, "data": {"a": "alpha", "b": "beta"}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let hello = guest(TARGETS[1], "hello");
    cluster.create_pod("vols", "node-0", json!({
        "volumes": [
            {"name": "cm", "configMap": {"name": "files", "items": [{"key": "a", "path": "renamed"}]}},
            {"name": "host", "hostPath": {"path": allowed.path().display().to_string()}}
        ],
        "containers": [{"name": "main", "image": hello,
            "args": ["ls:/cfg", "cat:/cfg/renamed", "write:/cfg/new:x", "cat:/host/hello.txt", "sleep:3000", "cat:/cfg/renamed", "forever"],
            "volumeMounts": [{"name": "cm", "mountPath": "/cfg"}, {"name": "host", "mountPath": "/host"}]}]
    })).await;
    wait_pod(&cluster.pods(), "vols", 60, |p| phase(p) == "Running").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    tests::merge(&cms, "files", json!({"data": {"a": "changed"}})).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let logs = loop {
        let logs = cluster.logs(0, "vols", "main", "").await;
        if logs.matches("cat /cfg/renamed").count() >= 2 || tokio::time::Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(logs.contains("ls /cfg: ok renamed"), "{logs}");
    assert!(logs.contains("cat /cfg/renamed: ok alpha"), "{logs}");
    assert!(logs.contains("write /cfg/new: err"), "{logs}");
    assert!(logs.contains("cat /host/hello.txt: ok from the host"), "{logs}");
    assert!(logs.contains("cat /cfg/renamed: ok changed"), "the volume follows its ConfigMap: {logs}");

    cluster
        .create_pod(
            "denied",
            "node-0",
            json!({
                "volumes": [{"name": "etc", "hostPath": {"path": "/etc"}}],
                "containers": [{"name": "main", "image": guest(TARGETS[0], "hello"),
                    "volumeMounts": [{"name": "etc", "mountPath": "/etc"}]}]
            }),
        )
        .await;
    let pod = wait_pod(&cluster.pods(), "denied", 30, |p| phase(p) == "Failed").await;
    let status = pod.status.unwrap();
    assert_eq!(status.reason.as_deref(), Some("HostPathNotAllowed"));
    assert!(status.message.unwrap().contains("/etc"));
}

#[tokio::test]
async fn node_reports_image_failures() {
    let cluster = Cluster::start(1, |c| c.backoff.initial = Duration::from_millis(300)).await;
    let hello = guest(TARGETS[0], "hello");
    cluster
        .create_pod(
            "missing",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": "/no/such/module.wasm"}]
            }),
        )
        .await;
    cluster
        .create_pod(
            "pinned",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": format!("{hello}@sha256:{}", "0".repeat(64))}]
            }),
        )
        .await;
    let not_wasm = cluster.data_dir(0).join("script.wasm");
    std::fs::write(&not_wasm, "#!/bin/sh\necho no\n").unwrap();
    cluster
        .create_pod(
            "notwasm",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": format!("file://{}", not_wasm.display())}]
            }),
        )
        .await;
    wait_pod(&cluster.pods(), "missing", 30, |p| waiting(p).as_deref() == Some("ImagePullBackOff")).await;
    wait_pod(&cluster.pods(), "pinned", 30, |p| waiting(p).as_deref() == Some("ErrImageDigestMismatch"))
        .await;
    wait_pod(&cluster.pods(), "notwasm", 30, |p| waiting(p).as_deref() == Some("InvalidImage")).await;
}

#[tokio::test]
async fn node_deletes_gracefully_and_takes_pods_back_after_restart() {
    let mut cluster = Cluster::start(1, |_| {}).await;
    let hello = guest(TARGETS[0], "hello");
    cluster
        .create_pod(
            "keeper",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": hello, "args": ["forever"],
                                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
                "volumes": [{"name": "scratch", "emptyDir": {}}]
            }),
        )
        .await;
    wait_pod(&cluster.pods(), "keeper", 60, |p| phase(p) == "Running").await;

    let (_, agent) = cluster.agents.pop().unwrap();
    agent.shutdown().await;
    let mut config = host::NodeConfig::new("node-0", cluster.data_dir(0));
    config.heartbeat = Duration::from_secs(1);
    let agent = host::Agent::start(cluster.server.client(), config).await.unwrap();
    cluster.agents.push(("node-0".into(), agent));
    let pod = wait_pod(&cluster.pods(), "keeper", 60, |p| {
        p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).is_some_and(|c| {
            c[0].restart_count == 1 && c[0].state.as_ref().is_some_and(|s| s.running.is_some())
        })
    })
    .await;
    let uid = pod.metadata.uid.clone().unwrap();
    assert!(cluster.data_dir(0).join("pods").join(&uid).exists(), "the emptyDir survives the restart");

    let started = tokio::time::Instant::now();
    cluster
        .pods()
        .delete("keeper", &DeleteParams { grace_period_seconds: Some(5), ..Default::default() })
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while cluster.pods().get_opt("keeper").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "pod not removed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!cluster.data_dir(0).join("pods").join(&uid).exists(), "pod directory removed");
}

#[tokio::test]
async fn node_three_agents_share_one_server() {
    let cluster = Cluster::start(3, |_| {}).await;
    let nodes: Api<Node> = Api::all(cluster.server.client());
    assert_eq!(nodes.list(&Default::default()).await.unwrap().items.len(), 3);
    let hello = guest(TARGETS[1], "hello");
    for i in 0..3 {
        cluster
            .create_pod(
                &format!("p{i}"),
                &format!("node-{i}"),
                json!({
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": hello,
                        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]
                }),
            )
            .await;
    }
    let mut ips = std::collections::HashSet::new();
    for i in 0..3 {
        let pod = wait_pod(&cluster.pods(), &format!("p{i}"), 60, |p| phase(p) == "Succeeded").await;
        ips.insert(pod.status.unwrap().pod_ip.unwrap());
        let logs = cluster.logs(i, &format!("p{i}"), "main", "").await;
        assert!(logs.contains(&format!("env NODE=node-{i}")), "{logs}");
    }
    assert_eq!(ips.len(), 3, "per-node pod ranges");
}
