use super::*;
use serde_json::{Value, json};

const NOW: &str = "2026-01-01T00:10:00Z";

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (into, from) => *into = from,
    }
}

/// A DaemonSet at generation 2 selecting `app=agent` on `role=worker` nodes, adjusted by `extra`.
fn set(extra: Value) -> DaemonSet {
    let mut value = json!({
        "metadata": {"name": "agent", "namespace": "d", "uid": "ds-uid", "generation": 2},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"nodeSelector": {"role": "worker"}, "containers": [{"name": "main"}]}}},
    });
    merge(&mut value, extra);
    serde_json::from_value(value).unwrap()
}

/// A node with `labels` and `taints` (key:effect).
fn node(name: &str, labels: Value, taints: &[&str]) -> Arc<Node> {
    let taints: Vec<Value> = taints
        .iter()
        .map(|t| {
            let (key, effect) = t.split_once(':').unwrap();
            json!({"key": key, "effect": effect})
        })
        .collect();
    Arc::new(
        serde_json::from_value(
            json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}),
        )
        .unwrap(),
    )
}

fn worker(name: &str) -> Arc<Node> {
    node(name, json!({"role": "worker"}), &[])
}

/// A pod of the set on `node`: `state` is Ready, Running (not ready), Failed or Terminating; `generation`
/// is the template generation it was made from.
fn pod(name: &str, node: &str, state: &str, generation: i64) -> Arc<Pod> {
    let ready = state == "Ready";
    let phase = match state {
        "Failed" => "Failed",
        _ => "Running",
    };
    let mut value = json!({
        "metadata": {"name": name, "namespace": "d", "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"app": "agent", "pod-template-generation": generation.to_string()},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                          "uid": "ds-uid", "controller": true}]},
        "spec": {"containers": [{"name": "main"}], "nodeName": node},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                                   "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    });
    if state == "Terminating" {
        merge(&mut value, json!({"metadata": {"deletionTimestamp": NOW}}));
    }
    Arc::new(serde_json::from_value(value).unwrap())
}

/// A table row: its name, what varies (nodes or DaemonSet), the pods, the nodes to create a pod on and the
/// pods to delete.
type Case<T> = (&'static str, T, Vec<Arc<Pod>>, &'static [&'static str], &'static [&'static str]);

fn run(set: &DaemonSet, nodes: &[Arc<Node>], pods: &[Arc<Pod>]) -> Plan {
    plan(Input { set, nodes, pods, manage: true, now: NOW.parse().unwrap() }).unwrap()
}

#[test]
fn eligibility_follows_selector_affinity_and_taints() {
    let spec = |extra: Value| -> PodSpec {
        let mut value = json!({"containers": [{"name": "main"}]});
        merge(&mut value, extra);
        serde_json::from_value(value).unwrap()
    };
    let affinity = |term: Value| {
        json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [term]}}}})
    };
    let tolerate = |key: &str, effect: &str| json!({"tolerations": [{"key": key, "operator": "Exists", "effect": effect}]});
    let both = Eligibility { should_run: true, may_continue: true };
    let neither = Eligibility { should_run: false, may_continue: false };
    let stays = Eligibility { should_run: false, may_continue: true };
    let cases = vec![
        ("no constraints", spec(json!({})), node("n1", json!({}), &[]), both),
        ("selector matches", spec(json!({"nodeSelector": {"role": "worker"}})), worker("n1"), both),
        ("selector differs", spec(json!({"nodeSelector": {"role": "gpu"}})), worker("n1"), neither),
        (
            "affinity expression",
            spec(affinity(
                json!({"matchExpressions": [{"key": "role", "operator": "In", "values": ["worker"]}]}),
            )),
            worker("n1"),
            both,
        ),
        (
            "affinity expression fails",
            spec(affinity(json!({"matchExpressions": [{"key": "role", "operator": "DoesNotExist"}]}))),
            worker("n1"),
            neither,
        ),
        (
            "matchFields names the node",
            spec(affinity(
                json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}),
            )),
            worker("n1"),
            both,
        ),
        (
            "matchFields names another",
            spec(affinity(
                json!({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}),
            )),
            worker("n1"),
            neither,
        ),
        ("empty term matches nothing", spec(affinity(json!({}))), worker("n1"), neither),
        ("NoSchedule taint", spec(json!({})), node("n1", json!({}), &["dedicated:NoSchedule"]), stays),
        ("NoExecute taint", spec(json!({})), node("n1", json!({}), &["dedicated:NoExecute"]), neither),
        (
            "PreferNoSchedule is ignored",
            spec(json!({})),
            node("n1", json!({}), &["x:PreferNoSchedule"]),
            both,
        ),
        (
            "tolerated taint",
            spec(tolerate("dedicated", "NoExecute")),
            node("n1", json!({}), &["dedicated:NoExecute"]),
            both,
        ),
        (
            "toleration for another effect",
            spec(tolerate("dedicated", "NoSchedule")),
            node("n1", json!({}), &["dedicated:NoExecute"]),
            neither,
        ),
        (
            "automatic tolerations",
            spec(json!({})),
            node(
                "n1",
                json!({}),
                &["node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule"],
            ),
            both,
        ),
    ];
    for (name, spec, node, expected) in cases {
        assert_eq!(eligibility(&spec, &node).unwrap(), expected, "{name}");
    }
}

#[test]
fn pods_follow_eligible_nodes() {
    let s = set(json!({}));
    let gpu = node("gpu", json!({"role": "gpu"}), &[]);
    let cordon = node("cordon", json!({"role": "worker"}), &["dedicated:NoSchedule"]);
    let evict = node("evict", json!({"role": "worker"}), &["dedicated:NoExecute"]);
    let cases: Vec<Case<Vec<Arc<Node>>>> = vec![
        ("one pod per worker", vec![worker("a"), worker("b"), gpu.clone()], vec![], &["a", "b"], &[]),
        (
            "a node that has one gets none",
            vec![worker("a"), worker("b")],
            vec![pod("p-a", "a", "Ready", 2)],
            &["b"],
            &[],
        ),
        ("a node no longer matching loses it", vec![gpu], vec![pod("p", "gpu", "Ready", 2)], &[], &["p"]),
        ("a vanished node loses it", vec![], vec![pod("p", "gone", "Ready", 2)], &[], &["p"]),
        ("a NoSchedule taint keeps it", vec![cordon.clone()], vec![pod("p", "cordon", "Ready", 2)], &[], &[]),
        ("a NoSchedule taint gets none", vec![cordon], vec![], &[], &[]),
        ("a NoExecute taint removes it", vec![evict], vec![pod("p", "evict", "Ready", 2)], &[], &["p"]),
        (
            "duplicates: the oldest stays",
            vec![worker("a")],
            vec![pod("p1", "a", "Ready", 2), {
                let mut newer = (*pod("p2", "a", "Ready", 2)).clone();
                newer.metadata.creation_timestamp =
                    Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(NOW.parse().unwrap()));
                Arc::new(newer)
            }],
            &[],
            &["p2"],
        ),
        ("a failed pod is deleted", vec![worker("a")], vec![pod("p", "a", "Failed", 2)], &[], &["p"]),
        (
            "a terminating pod holds the node",
            vec![worker("a")],
            vec![pod("p", "a", "Terminating", 2)],
            &[],
            &[],
        ),
    ];
    for (name, nodes, pods, create, delete) in cases {
        let plan = run(&s, &nodes, &pods);
        assert_eq!(plan.create, create, "{name}: create");
        assert_eq!(plan.delete, delete, "{name}: delete");
    }
}

#[test]
fn nothing_is_written_while_expectations_are_pending() {
    let s = set(json!({}));
    let plan =
        plan(Input { set: &s, nodes: &[worker("a")], pods: &[], manage: false, now: NOW.parse().unwrap() })
            .unwrap();
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.status.desired_number_scheduled, 1);
}

#[test]
fn orphans_are_adopted_and_strays_released() {
    let s = set(json!({}));
    let mut orphan = (*pod("orphan", "a", "Ready", 2)).clone();
    orphan.metadata.owner_references = None;
    let mut stray = (*pod("stray", "b", "Ready", 2)).clone();
    stray.metadata.labels = Some([("app".to_owned(), "other".to_owned())].into());
    let plan = run(&s, &[worker("a"), worker("b")], &[Arc::new(orphan), Arc::new(stray)]);
    assert_eq!(
        (plan.adopt, plan.release, plan.create),
        (vec!["orphan".to_owned()], vec!["stray".to_owned()], vec!["b".to_owned()])
    );
}

#[test]
fn rolling_update_replaces_max_unavailable_nodes_at_a_time() {
    let nodes: Vec<Arc<Node>> = ["a", "b", "c", "d"].into_iter().map(worker).collect();
    let old = |states: [&str; 4]| -> Vec<Arc<Pod>> {
        ["a", "b", "c", "d"].iter().zip(states).map(|(n, s)| pod(&format!("p-{n}"), n, s, 1)).collect()
    };
    let rolling = |max: Value| {
        set(
            json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max}}}}),
        )
    };
    let cases: Vec<Case<DaemonSet>> = vec![
        ("default: one at a time", set(json!({})), old(["Ready"; 4]), &[], &["p-a"]),
        ("maxUnavailable 2", rolling(json!(2)), old(["Ready"; 4]), &[], &["p-a", "p-b"]),
        ("maxUnavailable 50%", rolling(json!("50%")), old(["Ready"; 4]), &[], &["p-a", "p-b"]),
        ("a percentage rounds up", rolling(json!("10%")), old(["Ready"; 4]), &[], &["p-a"]),
        (
            "a missing pod uses the budget",
            set(json!({})),
            old(["Ready"; 4]).into_iter().skip(1).collect(),
            &["a"],
            &[],
        ),
        (
            "a new pod not ready yet uses the budget",
            set(json!({})),
            vec![pod("n-a", "a", "Running", 2), pod("p-b", "b", "Ready", 1), pod("p-c", "c", "Ready", 1)],
            &["d"],
            &[],
        ),
        (
            "a terminating pod uses the budget",
            set(json!({})),
            old(["Terminating", "Ready", "Ready", "Ready"]),
            &[],
            &[],
        ),
        (
            "unavailable old pods go without budget",
            set(json!({})),
            old(["Running", "Running", "Ready", "Ready"]),
            &[],
            &["p-a", "p-b"],
        ),
        (
            "new ready pods free the budget",
            set(json!({})),
            vec![
                pod("n-a", "a", "Ready", 2),
                pod("p-b", "b", "Ready", 1),
                pod("p-c", "c", "Ready", 1),
                pod("n-d", "d", "Ready", 2),
            ],
            &[],
            &["p-b"],
        ),
        (
            "OnDelete replaces nothing",
            set(json!({"spec": {"updateStrategy": {"type": "OnDelete"}}})),
            old(["Ready"; 4]),
            &[],
            &[],
        ),
        (
            "OnDelete recreates a deleted pod",
            set(json!({"spec": {"updateStrategy": {"type": "OnDelete"}}})),
            old(["Ready"; 4]).into_iter().skip(1).collect(),
            &["a"],
            &[],
        ),
    ];
    for (name, s, pods, create, delete) in cases {
        let plan = run(&s, &nodes, &pods);
        assert_eq!(plan.create, create, "{name}: create");
        assert_eq!(plan.delete, delete, "{name}: delete");
    }
}

#[test]
fn an_invalid_max_unavailable_is_an_error() {
    let s = set(json!({"spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": "lots"}}}}));
    let result = plan(Input { set: &s, nodes: &[], pods: &[], manage: true, now: NOW.parse().unwrap() });
    assert!(matches!(result, Err(PlanError::MaxUnavailable(_))));
}

#[test]
fn status_counts_nodes_by_their_oldest_pod() {
    let s = set(json!({"spec": {"minReadySeconds": 3600}}));
    let nodes =
        vec![worker("a"), worker("b"), worker("c"), worker("d"), node("gpu", json!({"role": "gpu"}), &[])];
    let pods = vec![
        pod("p-a", "a", "Ready", 2),
        pod("p-b", "b", "Running", 2),
        pod("p-c", "c", "Ready", 1),
        pod("p-gpu", "gpu", "Ready", 2),
    ];
    let status = |s: &DaemonSet| serde_json::to_value(run(s, &nodes, &pods).status).unwrap();
    // Ready since 00:00, ten minutes before now: not available with minReadySeconds of an hour.
    assert_eq!(
        status(&s),
        json!({"desiredNumberScheduled": 4, "currentNumberScheduled": 3, "numberReady": 2, "numberAvailable": 0,
               "numberUnavailable": 4, "updatedNumberScheduled": 2, "numberMisscheduled": 1, "observedGeneration": 2})
    );
    let plan = run(&s, &nodes, &pods);
    assert_eq!(plan.recheck_after, Some(Duration::from_secs(50 * 60)));
    assert_eq!(
        status(&set(json!({}))),
        json!({"desiredNumberScheduled": 4, "currentNumberScheduled": 3, "numberReady": 2, "numberAvailable": 2,
               "numberUnavailable": 2, "updatedNumberScheduled": 2, "numberMisscheduled": 1, "observedGeneration": 2})
    );
}
