use super::*;
use serde_json::{Value, json};

const NOW: &str = "2026-01-01T00:10:00Z";

fn at(offset_secs: i64) -> Timestamp {
    NOW.parse::<Timestamp>().unwrap().checked_add(SignedDuration::from_secs(offset_secs)).unwrap()
}

fn node(name: &str, ready: &str, taints: Value) -> Arc<Node> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "resourceVersion": "7", "creationTimestamp": at(-3600).to_string()},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }))
        .unwrap(),
    )
}

fn taint(key: &str, effect: &str, added: Option<i64>) -> Value {
    json!({"key": key, "effect": effect, "timeAdded": added.map(|s| at(s).to_string())})
}

fn pod(name: &str, node: &str, extra: Value) -> Arc<Pod> {
    let mut value = json!({
        "metadata": {"name": name, "namespace": "d", "uid": format!("{name}-uid")},
        "spec": {"nodeName": node, "containers": []},
        "status": {"phase": "Running"},
    });
    if let (Value::Object(into), Value::Object(from)) = (&mut value, extra) {
        for (k, v) in from {
            match (into.get_mut(&k), v) {
                (Some(Value::Object(a)), Value::Object(b)) => a.extend(b),
                (_, v) => {
                    into.insert(k, v);
                }
            }
        }
    }
    Arc::new(serde_json::from_value(value).unwrap())
}

fn tolerating(name: &str, node: &str, key: &str, seconds: Option<i64>) -> Arc<Pod> {
    pod(
        name,
        node,
        json!({"spec": {"nodeName": node, "containers": [], "tolerations": [
        {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}]}}),
    )
}

/// A case: name, the node, its last heartbeat (seconds from now), the pods, the expected summary.
type Case = (&'static str, Arc<Node>, i64, Vec<Arc<Pod>>, Value);

/// What a plan did, in a form the table compares.
fn summary(plan: &Plan) -> Value {
    json!({
        "nodes": plan.nodes.iter().map(|u| json!({
            "name": u.name,
            "unknown": u.mark_unknown,
            "taints": u.taints.as_ref().map(|t| t.iter()
                .map(|t| format!("{}:{}{}", t.key, t.effect,
                    t.time_added.as_ref().map(|a| format!("@{}", a.0.duration_since(at(0)).as_secs())).unwrap_or_default()))
                .collect::<Vec<_>>()),
        })).collect::<Vec<_>>(),
        "evict": plan.evict.iter().map(|e| format!("{}{}", e.name, if e.force { " (force)" } else { "" })).collect::<Vec<_>>(),
        "next": plan.next_eviction.map(|d| d.as_secs()),
    })
}

#[test]
fn nodes_that_stop_reporting_are_tainted_and_emptied() {
    let config = Config {
        grace: Duration::from_secs(20),
        eviction: Duration::from_secs(30),
        period: Duration::from_secs(1),
    };
    let unreachable =
        json!([taint(UNREACHABLE, "NoSchedule", None), taint(UNREACHABLE, "NoExecute", Some(-31))]);
    let cases: Vec<Case> = vec![
        (
            "a node that reports is left alone",
            node("n", "True", json!(null)),
            -5,
            vec![pod("a", "n", json!({}))],
            json!({"nodes": [], "evict": [], "next": null}),
        ),
        (
            "silent past the grace period: Unknown and unreachable",
            node("n", "True", json!([taint("dedicated", "NoSchedule", None)])),
            -21,
            vec![
                pod("a", "n", json!({})),
                tolerating("b", "n", UNREACHABLE, Some(10)),
                tolerating("c", "n", "", None),
            ],
            json!({"nodes": [{"name": "n", "unknown": true, "taints": [
                      "dedicated:NoSchedule", "node.kubernetes.io/unreachable:NoSchedule",
                      "node.kubernetes.io/unreachable:NoExecute@0"]}],
                   "evict": [], "next": 10}),
        ),
        (
            "pods go once their toleration or the default runs out, at once",
            node("n", "Unknown", unreachable.clone()),
            -60,
            vec![
                pod("a", "n", json!({})),
                tolerating("b", "n", UNREACHABLE, Some(10)),
                tolerating("c", "n", UNREACHABLE, Some(40)),
                pod("d", "n", json!({"metadata": {"deletionTimestamp": at(-5).to_string()}})),
                pod("e", "n", json!({"status": {"phase": "Succeeded"}})),
                tolerating("f", "n", "node.kubernetes.io/not-ready", Some(1)),
                pod("g", "other", json!({})),
            ],
            json!({"nodes": [], "evict": ["a (force)", "b (force)", "d (force)", "f (force)"], "next": 9}),
        ),
        (
            "a node reporting not ready gets the not-ready taints; its pods go gracefully",
            node(
                "n",
                "False",
                json!([taint(NOT_READY, "NoSchedule", None), taint(NOT_READY, "NoExecute", Some(-31))]),
            ),
            -1,
            vec![
                pod("a", "n", json!({})),
                pod("d", "n", json!({"metadata": {"deletionTimestamp": at(-5).to_string()}})),
            ],
            json!({"nodes": [], "evict": ["a"], "next": null}),
        ),
        (
            "a node that turns not ready swaps unreachable for not-ready",
            node("n", "False", unreachable.clone()),
            -1,
            vec![],
            json!({"nodes": [{"name": "n", "unknown": false, "taints": [
                      "node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute@0"]}],
                   "evict": [], "next": null}),
        ),
        (
            "a node that comes back loses the taints and keeps its pods",
            node(
                "n",
                "True",
                json!([
                    taint("dedicated", "NoSchedule", None),
                    taint(UNREACHABLE, "NoSchedule", None),
                    taint(UNREACHABLE, "NoExecute", Some(-31))
                ]),
            ),
            -1,
            vec![pod("a", "n", json!({}))],
            json!({"nodes": [{"name": "n", "unknown": false, "taints": ["dedicated:NoSchedule"]}],
                   "evict": [], "next": null}),
        ),
    ];
    for (name, node, heartbeat, pods, expected) in cases {
        let heartbeats = BTreeMap::from([("n".to_owned(), at(heartbeat))]);
        let plan = plan(Input { nodes: &[node], heartbeats: &heartbeats, pods: &pods, now: at(0), config });
        assert_eq!(summary(&plan), expected, "{name}");
    }
}

#[test]
fn tolerations_match_as_kubernetes_matches_them() {
    let unreachable: Taint = serde_json::from_value(taint(UNREACHABLE, "NoExecute", Some(0))).unwrap();
    let toleration = |v: Value| -> Toleration { serde_json::from_value(v).unwrap() };
    let cases = [
        (json!({"operator": "Exists"}), true),
        (json!({"key": UNREACHABLE, "operator": "Exists"}), true),
        (json!({"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}), false),
        (json!({"key": UNREACHABLE}), true),
        (json!({"key": UNREACHABLE, "value": "x"}), false),
        (json!({"key": NOT_READY, "operator": "Exists"}), false),
    ];
    for (t, expected) in cases {
        assert_eq!(tolerates(&toleration(t.clone()), &unreachable), expected, "{t}");
    }
}
