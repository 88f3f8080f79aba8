//! Throughput and packing quality of the placement core.
//!
//! `cargo bench -p scheduler` prints:
//! - decisions per second (schedule, then assume the pod onto the chosen node) on clusters of 100, 1,000 and
//!   5,000 nodes that are about 40% full, with realistic labels, a few taints and cordoned nodes, and pods with
//!   requests, some with node selectors, tolerations and preferred node affinity; then the same with 2% of the
//!   pods carrying required pod anti-affinity;
//! - packing quality: a few thousand pods of mixed sizes placed one by one on identical nodes, adding a node
//!   only when a pod fits nowhere, as nodes used ÷ the lower bound (the most of ⌈total CPU ÷ node CPU⌉,
//!   ⌈total memory ÷ node memory⌉ and ⌈pods ÷ pods per node⌉), for a service-like mix and for a mix where CPU
//!   and memory bind equally, with most-allocated (the default) and least-allocated for comparison.
//!
//! Timing is plain `std::time::Instant`; each figure is the best of a few rounds so that a busy machine
//! distorts it less.

use std::hint::black_box;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use scheduler::{Config, PodInfo, Scheduler, Snapshot, Strategy};
use serde_json::{Value, json};

/// `SplitMix64`: a small deterministic generator, so every run measures the same workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// An index into `weights`, chosen in proportion to them.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

fn from_json<T: k8s_openapi::serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("bad fixture: {e}"))
}

const ZONES: [&str; 3] = ["eu-1a", "eu-1b", "eu-1c"];
const POOLS: [&str; 3] = ["general", "edge", "batch"];

/// A node like a real one: well-known labels, a pool, sizes that vary, a taint on some.
fn realistic_node(i: usize, rng: &mut Rng) -> Node {
    let name = format!("node-{i:05}");
    let (cpu, memory) = [("4", "16Gi"), ("8", "32Gi"), ("16", "64Gi")][rng.weighted(&[2, 5, 3])];
    let pool = POOLS[rng.weighted(&[6, 3, 1])];
    let mut taints = Vec::new();
    if pool == "batch" {
        taints.push(json!({"key": "dedicated", "value": "batch", "effect": "NoSchedule"}));
    }
    if i % 25 == 7 {
        taints.push(json!({"key": "wharf.dev/spot", "effect": "PreferNoSchedule"}));
    }
    if i % 100 == 3 {
        taints.push(json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}));
    }
    from_json(json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": if i.is_multiple_of(4) { "arm64" } else { "amd64" },
            "topology.kubernetes.io/region": "eu-1",
            "topology.kubernetes.io/zone": ZONES[i % ZONES.len()],
            "node.kubernetes.io/instance-type": format!("edge-{cpu}x{memory}"),
            "wharf.dev/pool": pool,
            "disk": if rng.below(2) == 0 { "ssd" } else { "hdd" },
        }},
        "spec": {"taints": taints, "unschedulable": i % 200 == 11},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }))
}

/// A pod of one of a few shapes; `anti_affinity` adds required hostname anti-affinity to its app.
fn realistic_pod(i: usize, rng: &mut Rng, anti_affinity: bool) -> Pod {
    const SHAPES: [(&str, &str, &str, u32); 6] = [
        ("web", "250m", "256Mi", 30),
        ("api", "500m", "1Gi", 25),
        ("worker", "1", "2Gi", 15),
        ("cache", "250m", "3Gi", 10),
        ("sidecar-heavy", "100m", "128Mi", 15),
        ("batch", "2", "4Gi", 5),
    ];
    let shape = rng.weighted(&SHAPES.map(|s| s.3));
    let (app, cpu, memory, _) = SHAPES[shape];
    let mut spec = json!({
        "containers": [{"name": "main", "image": "file:///apps/app.wasm",
                        "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
    });
    match rng.below(20) {
        0..=2 => spec["nodeSelector"] = json!({"topology.kubernetes.io/zone": ZONES[rng.below(ZONES.len())]}),
        3 => spec["nodeSelector"] = json!({"wharf.dev/pool": "edge", "kubernetes.io/arch": "arm64"}),
        4 => {
            spec["affinity"] = json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 20, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}});
        }
        _ => {}
    }
    if app == "batch" {
        spec["tolerations"] =
            json!([{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]);
    }
    if anti_affinity {
        spec["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": format!("{app}-{}", i % 50)}}}]}});
    }
    let namespace = ["default", "shop", "ops"][i % 3];
    from_json(json!({
        "metadata": {"name": format!("{app}-{i}"), "namespace": namespace,
                     "uid": format!("uid-{i}"), "labels": {"app": format!("{app}-{}", i % 50), "tier": app},
                     "creationTimestamp": "2025-01-01T00:00:00Z"},
        "spec": spec,
    }))
}

/// A cluster of `nodes` realistic nodes, filled to about 40% of its CPU.
fn realistic_cluster(nodes: usize, rng: &mut Rng) -> Snapshot {
    let mut snapshot = Snapshot::new();
    for i in 0..nodes {
        snapshot.upsert_node(&realistic_node(i, rng));
    }
    let names: Vec<String> = snapshot.node_names().map(str::to_owned).collect();
    let mut i = 0;
    for name in &names {
        let Some(usage) = snapshot.node(name) else { continue };
        let target = usage.allocatable.milli_cpu * 2 / 5;
        while snapshot.node(name).is_some_and(|u| u.requested.milli_cpu < target) {
            let mut pod = realistic_pod(1_000_000 + i, rng, false);
            i += 1;
            if let Some(spec) = pod.spec.as_mut() {
                spec.node_name = Some(name.clone());
            }
            snapshot.upsert_pod(&pod);
        }
    }
    snapshot
}

/// Decisions per second: schedule and assume each of `pods`, `rounds` times (forgetting the assumed pods in
/// between, untimed), keeping the best round.
fn decisions_per_second(snapshot: &mut Snapshot, pods: &[PodInfo], rounds: usize) -> (f64, usize) {
    let scheduler = Scheduler::default();
    let mut best = Duration::MAX;
    let mut placed = 0;
    for _ in 0..rounds {
        let mut assumed = Vec::with_capacity(pods.len());
        let start = Instant::now();
        for pod in pods {
            if let Ok(node) = scheduler.schedule(snapshot, black_box(pod)) {
                snapshot.assume(pod, &node).unwrap_or_else(|e| panic!("{e}"));
                assumed.push(pod.key());
            }
        }
        best = best.min(start.elapsed());
        placed = assumed.len();
        for key in assumed {
            snapshot.forget(key);
        }
    }
    (pods.len() as f64 / best.as_secs_f64(), placed)
}

fn bench_decisions(anti_affinity_percent: usize) {
    for (nodes, decisions, rounds) in [(100, 200, 20), (1_000, 2_000, 5), (5_000, 2_000, 3)] {
        let mut rng = Rng(42);
        let mut snapshot = realistic_cluster(nodes, &mut rng);
        let pods: Vec<PodInfo> = (0..decisions)
            .map(|i| {
                let anti_affinity = rng.below(100) < anti_affinity_percent;
                PodInfo::from_pod(&realistic_pod(i, &mut rng, anti_affinity))
            })
            .collect();
        let existing = snapshot.pod_count();
        let (rate, placed) = decisions_per_second(&mut snapshot, &pods, rounds);
        println!(
            "  {nodes:>5} nodes, {existing:>6} pods running: {rate:>9.0} decisions/s ({:>7.1} µs each), \
             {placed}/{decisions} placed",
            1e6 / rate
        );
    }
}

/// A pod shape of a packing workload: (CPU millicores, memory MiB, weight).
type Shape = (i64, i64, u32);

/// Service-like pods: mostly small, a few large; CPU binds first on an 8 CPU / 32Gi node.
const SERVICE_MIX: [Shape; 8] = [
    (100, 128, 20),
    (250, 256, 20),
    (500, 512, 15),
    (500, 2048, 10),
    (1000, 1024, 12),
    (1000, 4096, 8),
    (2000, 2048, 8),
    (1500, 6144, 7),
];

/// CPU-heavy and memory-heavy pods mixed so that CPU and memory bind about equally on an 8 CPU / 32Gi node:
/// the hard case, where leftovers in one resource strand the other.
const BALANCED_MIX: [Shape; 10] = [
    (100, 256, 15),
    (250, 512, 15),
    (500, 1024, 10),
    (250, 4096, 14),
    (500, 6144, 12),
    (1000, 8192, 8),
    (1000, 512, 10),
    (2000, 1024, 8),
    (1500, 2048, 6),
    (500, 2048, 12),
];

/// Places `count` pods drawn from `shapes` one at a time onto identical 8 CPU / 32Gi / 110-pod nodes, adding a
/// node only when a pod fits nowhere. Returns the nodes used and the lower bound.
fn pack(config: Config, shapes: &[Shape], count: usize, seed: u64) -> (usize, usize) {
    const NODE_MILLI_CPU: i64 = 8_000;
    const NODE_MIB: i64 = 32 * 1024;
    const NODE_PODS: i64 = 110;
    let scheduler = Scheduler::new(config);
    let weights: Vec<u32> = shapes.iter().map(|s| s.2).collect();
    let mut rng = Rng(seed);
    let mut snapshot = Snapshot::new();
    let (mut total_cpu, mut total_mib) = (0, 0);
    for i in 0..count {
        let (cpu, mib, _) = shapes[rng.weighted(&weights)];
        total_cpu += cpu;
        total_mib += mib;
        let pod = PodInfo::from_pod(&from_json(json!({
            "metadata": {"name": format!("p{i}"), "namespace": "default", "uid": format!("p{i}")},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": format!("{cpu}m"), "memory": format!("{mib}Mi")}}}]},
        })));
        let node = scheduler.schedule(&snapshot, &pod).unwrap_or_else(|_| {
            let name = format!("node-{:05}", snapshot.node_count());
            snapshot.upsert_node(&from_json(json!({
                "metadata": {"name": name},
                "status": {"allocatable": {"cpu": format!("{NODE_MILLI_CPU}m"), "memory": format!("{NODE_MIB}Mi"),
                                           "pods": NODE_PODS.to_string()},
                           "conditions": [{"type": "Ready", "status": "True"}]},
            })));
            scheduler.schedule(&snapshot, &pod).unwrap_or_else(|e| panic!("a new node must fit: {e}"))
        });
        snapshot.assume(&pod, &node).unwrap_or_else(|e| panic!("{e}"));
    }
    let ceil = |total: i64, size: i64| (total + size - 1) / size;
    let lower =
        ceil(total_cpu, NODE_MILLI_CPU).max(ceil(total_mib, NODE_MIB)).max(ceil(count as i64, NODE_PODS));
    (snapshot.node_count(), usize::try_from(lower).unwrap_or(usize::MAX))
}

fn bench_packing() {
    const SEEDS: u64 = 5;
    let spread = Config { strategy: Strategy::LeastAllocated, ..Config::default() };
    for (workload, shapes) in
        [("service mix", &SERVICE_MIX[..]), ("balanced CPU/memory mix", &BALANCED_MIX[..])]
    {
        for count in [1_000, 3_000] {
            let mut results = Vec::new();
            for (label, config) in
                [("most-allocated (default)", Config::default()), ("least-allocated", spread)]
            {
                let ratios: Vec<f64> = (1..=SEEDS)
                    .map(|seed| {
                        let (used, lower) = pack(config, shapes, count, seed);
                        used as f64 / lower as f64
                    })
                    .collect();
                let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
                let worst = ratios.iter().copied().fold(0.0, f64::max);
                results.push(format!("{label} {mean:.3} mean, {worst:.3} worst"));
            }
            println!("  {workload}, {count} pods: {}", results.join("; "));
        }
    }
}

fn main() {
    println!("placement decisions (schedule + assume), most-allocated, clusters about 40% full:");
    bench_decisions(0);
    println!("the same with 2% of the pods carrying required hostname pod anti-affinity:");
    bench_decisions(2);
    println!(
        "packing onto identical 8 CPU / 32Gi nodes added on demand, nodes used / lower bound over 5 seeds:"
    );
    bench_packing();
}
