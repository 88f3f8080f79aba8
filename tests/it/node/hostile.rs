//! Hostile guests are contained: file-system escapes, read-only mounts, another pod's files, sockets, a memory
//! bomb, an infinite loop (time-sliced, and throttled to its CPU limit), a stack overflow, a trap and a stdout
//! flood.

use std::time::Duration;

use kube::api::DeleteParams;
use serde_json::json;
use tests::{PATIENCE, eventually};

use super::{Cluster, TARGETS, guest, phase, terminated, wait_pod};

#[tokio::test]
async fn node_fs_escapes_are_denied() {
    let outside = tempfile::tempdir().unwrap();
    let allowed = tempfile::tempdir().unwrap();
    let data = allowed.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::symlink(outside.path(), data.join("escape")).unwrap();
    std::fs::write(outside.path().join("passwd"), "outside").unwrap();
    let root = allowed.path().to_path_buf();
    let cluster = Cluster::start(1, move |c| c.host_path_roots = vec![root.clone()]).await;
    // A victim pod with a secret in its emptyDir.
    cluster.create_pod("victim", "node-0", json!({
        "volumes": [{"name": "v", "emptyDir": {}}],
        "containers": [{"name": "main", "image": guest(TARGETS[0], "hello"), "args": ["write:/v/secret.txt:hidden", "forever"],
            "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]
    })).await;
    let victim = wait_pod(&cluster.pods(), "victim", 60, |p| phase(p) == "Running").await;
    let victim_dir = cluster.data_dir(0).join("pods").join(victim.metadata.uid.unwrap()).join("volumes/v");
    for (i, target) in TARGETS.iter().enumerate() {
        let name = format!("probe-{i}");
        cluster.create_pod(&name, "node-0", json!({
            "restartPolicy": "Never",
            "volumes": [{"name": "rw", "hostPath": {"path": data.display().to_string()}},
                        {"name": "ro", "emptyDir": {}}],
            "initContainers": [{"name": "seed", "image": guest(target, "hello"), "args": ["write:/ro/keep.txt:x"],
                "volumeMounts": [{"name": "ro", "mountPath": "/ro"}]}],
            "containers": [{"name": "main", "image": guest(target, "fsprobe"),
                "args": ["/data", "/ro", victim_dir.display().to_string()],
                "volumeMounts": [{"name": "rw", "mountPath": "/data"}, {"name": "ro", "mountPath": "/ro", "readOnly": true}]}]
        })).await;
        wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Succeeded").await;
        let logs = cluster.logs(0, &name, "main", "").await;
        assert!(logs.contains("probe done"), "{logs}");
        assert!(logs.contains("writable: ok"), "{logs}");
        assert!(!logs.contains("ESCAPED"), "{target}: {logs}");
        for probe in [
            "dotdot",
            "absolute",
            "other-pod",
            "other-pod-dotdot",
            "host-symlink",
            "readonly-write",
            "readonly-remove",
        ] {
            assert!(logs.contains(&format!("{probe}: denied")), "{target} {probe}: {logs}");
        }
    }
}

#[tokio::test]
async fn node_sockets_are_denied_without_permission() {
    let cluster = Cluster::start(1, |_| {}).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    for (i, t) in TARGETS.iter().enumerate() {
        let name = format!("sock-{i}");
        cluster
            .create_pod(
                &name,
                "node-0",
                json!({
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": guest(t, "socket"), "args": [target]}]
                }),
            )
            .await;
        wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Succeeded").await;
        let logs = cluster.logs(0, &name, "main", "").await;
        assert!(logs.contains("socket done"), "{logs}");
        assert!(!logs.contains("OPENED"), "{t}: {logs}");
    }
}

#[tokio::test]
async fn node_guests_listen_only_at_their_address_on_declared_ports() {
    let cluster = Cluster::start(1, |_| {}).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let pod = json!({"metadata": {"name": "listener", "annotations": {"wharf.dev/allowed-hosts": format!("tcp://{target}")}},
        "spec": {"nodeName": "node-0", "restartPolicy": "Never", "containers": [{"name": "main",
            "image": guest(TARGETS[1], "socket"),
            "args": [target, "0.0.0.0:7000", "$(POD_IP):7000", "0.0.0.0:7001", "127.0.0.1:7000", "$(POD_IP):0"],
            "ports": [{"containerPort": 7000}],
            "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}]}});
    cluster.pods().create(&Default::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    let api = cluster.pods();
    let pod = wait_pod(&api, "listener", 60, |p| phase(p) == "Succeeded").await;
    let ip = pod.status.unwrap().pod_ip.unwrap();
    let logs = cluster.logs(0, "listener", "main", "").await;
    // The pod may connect out, and listen on its declared port at its own address: the unspecified address is its
    // own address, not the node's every address.
    for expected in [
        "connect: OPENED".to_owned(),
        format!("listen 0.0.0.0:7000: OPENED {ip}:7000"),
        format!("listen {ip}:7000: OPENED {ip}:7000"),
        "listen 0.0.0.0:7001: denied".to_owned(),
        "listen 127.0.0.1:7000: denied".to_owned(),
        format!("listen {ip}:0: denied"),
    ] {
        assert!(logs.contains(&expected), "{expected} missing from:\n{logs}");
    }
}

#[tokio::test]
async fn node_memory_bomb_is_oom_killed() {
    let cluster = Cluster::start(1, |_| {}).await;
    for (i, t) in TARGETS.iter().enumerate() {
        let name = format!("bomb-{i}");
        cluster.create_pod(&name, "node-0", json!({
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": guest(t, "membomb"), "resources": {"limits": {"memory": "64Mi"}}}]
        })).await;
        let pod = wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Failed").await;
        assert_eq!(terminated(&pod), Some((137, "OOMKilled".into())));

        // Growth past the limit is refused rather than fatal: a guest that handles the failure keeps running
        // (ARCHITECTURE.md, "Memory limits").
        let name = format!("graceful-{i}");
        cluster
            .create_pod(
                &name,
                "node-0",
                json!({
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": guest(t, "membomb"), "args": ["graceful"],
                                    "resources": {"limits": {"memory": "64Mi"}}}]
                }),
            )
            .await;
        let pod = wait_pod(&cluster.pods(), &name, 60, |p| matches!(phase(p), "Succeeded" | "Failed")).await;
        let logs = cluster.logs(0, &name, "main", "").await;
        assert_eq!(terminated(&pod), Some((0, "Completed".into())), "{t}: {logs}");
        let refused_at: u32 = logs
            .lines()
            .find_map(|l| l.strip_prefix("refused after ")?.strip_suffix(" MiB")?.parse().ok())
            .unwrap_or_else(|| panic!("{t}: no refusal reported: {logs}"));
        assert!((32..64).contains(&refused_at), "{t}: refused after {refused_at} MiB of a 64Mi limit");
        assert!(logs.contains("recovered"), "{t}: {logs}");
    }
    // The node is unaffected: a normal pod still runs.
    cluster.create_pod("after", "node-0", json!({
        "restartPolicy": "Never", "containers": [{"name": "main", "image": guest(TARGETS[0], "hello")}]
    })).await;
    wait_pod(&cluster.pods(), "after", 60, |p| phase(p) == "Succeeded").await;
}

#[tokio::test]
async fn node_traps_and_stack_overflows_end_as_errors() {
    let cluster = Cluster::start(1, |_| {}).await;
    for (i, t) in TARGETS.iter().enumerate() {
        for program in ["trap", "stackoverflow"] {
            let name = format!("{program}-{i}");
            cluster
                .create_pod(
                    &name,
                    "node-0",
                    json!({
                        "restartPolicy": "Never", "containers": [{"name": "main", "image": guest(t, program)}]
                    }),
                )
                .await;
            let pod = wait_pod(&cluster.pods(), &name, 60, |p| phase(p) == "Failed").await;
            assert_eq!(terminated(&pod), Some((134, "Error".into())), "{program} on {t}");
        }
    }
}

#[tokio::test]
async fn node_spinning_guest_does_not_delay_timers_and_deletes_promptly() {
    let cluster = Cluster::start(1, |_| {}).await;
    for (i, target) in TARGETS.iter().enumerate() {
        cluster
            .create_pod(
                &format!("spin-{i}"),
                "node-0",
                json!({
                    "containers": [{"name": "main", "image": guest(target, "spin")}]
                }),
            )
            .await;
    }
    cluster
        .create_pod(
            "ticker",
            "node-0",
            json!({
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": guest(TARGETS[0], "ticker"), "args": ["30"]}]
            }),
        )
        .await;
    wait_pod(&cluster.pods(), "ticker", 60, |p| phase(p) == "Succeeded").await;
    let logs = cluster.logs(0, "ticker", "main", "").await;
    let stamps: Vec<i64> =
        logs.lines().filter_map(|l| l.strip_prefix("tick ")?.split(' ').nth(1)?.parse().ok()).collect();
    assert_eq!(stamps.len(), 30, "{logs}");
    let worst = stamps.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    // Ticks are 100 ms apart; CI machines are small and shared, so allow a lot.
    assert!(worst < 1000, "a spinning pod delayed another pod's timer by {worst} ms");
    for i in 0..2 {
        let name = format!("spin-{i}");
        cluster
            .pods()
            .delete(&name, &DeleteParams { grace_period_seconds: Some(1), ..Default::default() })
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for i in 0..2 {
        while cluster.pods().get_opt(&format!("spin-{i}")).await.unwrap().is_some() {
            assert!(tokio::time::Instant::now() < deadline, "spinning pod not removed promptly");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn node_cpu_limit_throttles_a_spinning_guest() {
    let cluster = Cluster::start(1, |_| {}).await;
    let names = ["throttled-0", "throttled-1"];
    for (name, target) in names.iter().zip(TARGETS) {
        cluster
            .create_pod(
                name,
                "node-0",
                json!({
                    "containers": [{"name": "main", "image": guest(target, "spin"),
                        "resources": {"limits": {"cpu": "100m"}}}]
                }),
            )
            .await;
    }
    for name in names {
        wait_pod(&cluster.pods(), name, 60, |p| phase(p) == "Running").await;
    }
    // Past start-up: instantiation counts as the guest's own time.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (before, started) = (cpu_nanos(&cluster, &names).await, tokio::time::Instant::now());
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (after, wall) = (cpu_nanos(&cluster, &names).await, started.elapsed());
    for (i, name) in names.iter().enumerate() {
        let cores = after[i].saturating_sub(before[i]) as f64 / wall.as_nanos() as f64;
        // The quota is a tenth of a core; a busy machine only lowers it. One core would mean no throttling.
        assert!(cores > 0.0 && cores < 0.3, "{name} used {cores:.3} cores over {wall:?}");
    }
}

/// The cumulative CPU time of each of `pods`, from the agent's kubelet summary.
async fn cpu_nanos(cluster: &Cluster, pods: &[&str]) -> Vec<u64> {
    let summary: serde_json::Value =
        serde_json::from_str(&cluster.agent_get(0, "/stats/summary").await).unwrap();
    let listed = summary["pods"].as_array().cloned().unwrap_or_default();
    pods.iter()
        .map(|name| {
            let pod = listed.iter().find(|p| p["podRef"]["name"] == *name);
            let nanos = pod.and_then(|p| p["cpu"]["usageCoreNanoSeconds"].as_u64());
            nanos.unwrap_or_else(|| panic!("{name} missing from the summary: {summary}"))
        })
        .collect()
}

#[tokio::test]
async fn node_stdout_flood_uses_bounded_disk() {
    let cluster = Cluster::start(1, |c| c.log_limits.max_file_bytes = 256 << 10).await;
    cluster
        .create_pod(
            "flood",
            "node-0",
            json!({
                "containers": [{"name": "main", "image": guest(TARGETS[1], "flood")}]
            }),
        )
        .await;
    wait_pod(&cluster.pods(), "flood", 60, |p| phase(p) == "Running").await;
    // Each line is its number and 200 bytes: wait until the guest has written eight times the limit.
    let limit = 256u64 << 10;
    let written = eventually("the guest to write far more than the limit", PATIENCE, async || {
        let tail = cluster.logs(0, "flood", "main", "tailLines=2").await;
        let last: u64 = tail.lines().next()?.split(' ').next()?.parse().ok()?;
        let written = last * 200;
        (written > 8 * limit).then_some(written)
    })
    .await;
    let used = du(&cluster.data_dir(0).join("logs"));
    assert!(used <= 2 * limit + 4096, "logs use {used} bytes after the guest wrote {written}");
    let tail = cluster.logs(0, "flood", "main", "tailLines=2").await;
    assert_eq!(tail.lines().count(), 2, "{tail}");
}

fn du(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| {
            let meta = e.metadata().unwrap();
            if meta.is_dir() { du(&e.path()) } else { meta.len() }
        })
        .sum()
}
