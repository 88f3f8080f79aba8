//! The scheduler placing pods on real node agents: bin-packing by what the agents report as allocatable, and the
//! placed guests actually running there.

use kube::api::PostParams;
use serde_json::json;

use super::{Cluster, guest, phase, wait_pod};

#[tokio::test(flavor = "multi_thread")]
async fn node_scheduler_packs_pods_onto_real_agents() {
    let cluster = Cluster::start(2, |config| {
        config.cpu_millis = Some(1000);
        config.memory_bytes = Some(1 << 30);
    })
    .await;
    let scheduler = scheduler::Service::start(cluster.server.client(), scheduler::Options::default());
    let pods = cluster.pods();
    let image = guest("wasm32-wasip1", "hello");
    let mut placed = Vec::new();
    for i in 0..4 {
        let name = format!("packed-{i}");
        let pod = serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"containers": [{
            "name": "main", "image": image, "args": ["forever"],
            "resources": {"requests": {"cpu": "300m", "memory": "16Mi"}}}]}}))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        // One at a time, so each decision sees the previous placement.
        let running = wait_pod(&pods, &name, 60, |p| phase(p) == "Running").await;
        placed.push(running.spec.unwrap().node_name.unwrap());
    }
    // Most-allocated packing fills one node (3 × 300m of 1000m) before it opens the other.
    assert_eq!(placed[..3], [placed[0].clone(), placed[0].clone(), placed[0].clone()], "{placed:?}");
    assert_ne!(placed[3], placed[0], "{placed:?}");
    scheduler.shutdown().await;
}
