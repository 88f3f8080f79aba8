use super::*;
use serde_json::{Value, json};

fn now() -> Timestamp {
    "2026-01-01T01:00:00Z".parse().unwrap()
}

fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}})
}

fn deployment(replicas: i32, image: &str, extra: Value) -> Deployment {
    let mut value = json!({
        "metadata": {"name": "web", "namespace": "d", "uid": "d-uid", "generation": 2,
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template(image),
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
        "status": {"observedGeneration": 2},
    });
    merge(&mut value, extra);
    serde_json::from_value(value).unwrap()
}

/// A ReplicaSet of `d` for `image` at `revision`, `size` replicas of which `available` are available.
fn replica_set(d: &Deployment, image: &str, revision: i64, size: i32, available: i32) -> Arc<ReplicaSet> {
    let t: PodTemplateSpec = serde_json::from_value(template(image)).unwrap();
    let hash = hash::pod_template_hash(&t, None);
    let desired = d.spec.replicas.unwrap_or(1);
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": format!("web-{hash}"), "namespace": "d", "uid": format!("uid-{hash}"),
                         "generation": 1, "resourceVersion": "5",
                         "creationTimestamp": format!("2026-01-01T00:00:{:02}Z", revision),
                         "annotations": {"deployment.kubernetes.io/revision": revision.to_string(),
                                         "deployment.kubernetes.io/desired-replicas": desired.to_string()},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": "d-uid", "controller": true}]},
            "spec": {"replicas": size, "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
                     "template": t},
            "status": {"replicas": size, "readyReplicas": available, "availableReplicas": available,
                       "observedGeneration": 1},
        }))
        .unwrap(),
    )
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn step(d: &Deployment, sets: &[Arc<ReplicaSet>]) -> Plan {
    plan(Input { deployment: d, replica_sets: sets, old_pods_running: false, now: now() }).unwrap()
}

fn sizes(plan: &Plan) -> Vec<(String, i32)> {
    plan.updates.iter().filter_map(|u| u.replicas.map(|r| (u.name.clone(), r))).collect()
}

fn progressing(plan: &Plan) -> (String, String) {
    let c = condition(plan.status.conditions.as_deref().unwrap_or_default(), "Progressing").unwrap();
    (c.status.clone().unwrap(), c.reason.clone().unwrap())
}

#[test]
fn a_new_deployment_gets_its_first_replica_set() {
    let d = deployment(10, "/a.wasm", json!({}));
    let plan = step(&d, &[]);
    let rs = plan.create.clone().expect("a replica set");
    let hash = hash::pod_template_hash(&d.spec.template, None);
    assert_eq!(rs.metadata.name.as_deref(), Some(format!("web-{hash}").as_str()));
    assert_eq!(rs.spec.replicas, Some(10));
    assert_eq!(rs.spec.selector.match_labels.as_ref().unwrap()["pod-template-hash"], hash);
    assert_eq!(
        rs.spec.template.as_ref().unwrap().metadata.as_ref().unwrap().labels.as_ref().unwrap()["pod-template-hash"],
        hash
    );
    let owner = &rs.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.uid.as_str(), owner.controller, owner.block_owner_deletion),
        ("d-uid", Some(true), Some(true))
    );
    let annotations = rs.metadata.annotations.unwrap();
    assert_eq!(annotations[revision::REVISION], "1");
    assert_eq!(
        (annotations[revision::DESIRED_REPLICAS].as_str(), annotations[revision::MAX_REPLICAS].as_str()),
        ("10", "13")
    );
    assert_eq!(plan.revision, None, "the deployment already says revision 1");
    assert_eq!(progressing(&plan), ("True".into(), "NewReplicaSetCreated".into()));
    assert_eq!(plan.notes[0].message, format!("Scaled up replica set web-{hash} from 0 to 10"));
}

#[test]
fn a_rolling_update_surges_then_scales_old_down_within_bounds() {
    let d = deployment(10, "/b.wasm", json!({}));
    let old = replica_set(&d, "/a.wasm", 1, 10, 10);
    let first = step(&d, std::slice::from_ref(&old));
    let created = first.create.clone().expect("new replica set");
    assert_eq!(created.spec.replicas, Some(3), "maxSurge 25% of 10 rounds up to 3");
    assert_eq!(created.metadata.annotations.as_ref().unwrap()[revision::REVISION], "2");
    assert_eq!(first.revision.as_deref(), Some("2"));
    // 13 pods, at least 8 must stay available, the 3 new ones are not: 2 old ones may go at once.
    assert_eq!(sizes(&first), [(name(&old.metadata).to_owned(), 8)]);

    // Once the 3 new pods are available, the new set grows to the surge limit again (8 + 5 = 13).
    let old = replica_set(&d, "/a.wasm", 1, 8, 8);
    let new = replica_set(&d, "/b.wasm", 2, 3, 3);
    let second = step(&d, &[old.clone(), new.clone()]);
    assert_eq!(sizes(&second), [(name(&new.metadata).to_owned(), 5)]);
    assert!(second.create.is_none());
}

#[test]
fn a_status_not_yet_caught_up_with_a_scale_down_is_not_counted_twice() {
    // 6 replicas, at least 5 available. The old set was just scaled from 6 to 5, but its status still counts 6
    // available pods; 2 of the 3 new pods are available. Only 7 pods really are, so 2 old ones may go, not 3.
    let d = deployment(6, "/b.wasm", json!({}));
    let old = replica_set(&d, "/a.wasm", 1, 5, 6);
    let new = replica_set(&d, "/b.wasm", 2, 3, 2);
    let plan = step(&d, &[old.clone(), new]);
    assert_eq!(sizes(&plan), [(name(&old.metadata).to_owned(), 3)]);
}

/// Runs a whole rollout against an idealised cluster (every pod starts and becomes available one step after
/// its ReplicaSet asks for it) and checks the promise at every step.
#[test]
fn a_rolling_update_of_twenty_never_drops_below_the_promise() {
    let cases = [
        (json!("25%"), json!("25%")),
        (json!(0), json!(1)),
        (json!(3), json!(0)),
        (json!("50%"), json!("10%")),
    ];
    for (surge, unavailable) in cases {
        let strategy = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}});
        let d = deployment(20, "/b.wasm", strategy);
        let min_available = 20 - bounds(&d).unwrap().unavailable;
        let mut sets: Vec<ReplicaSet> = vec![(*replica_set(&d, "/a.wasm", 1, 20, 20)).clone()];
        let mut done = false;
        for round in 0..100 {
            let observed: Vec<Arc<ReplicaSet>> = sets.iter().cloned().map(Arc::new).collect();
            let mut d = d.clone();
            let plan = step(&d, &observed);
            if let Some(mut rs) = plan.create {
                rs.metadata.uid = Some(format!("uid-{round}"));
                rs.metadata.creation_timestamp = Some(Time(now()));
                sets.push(rs);
            }
            for update in &plan.updates {
                let rs = sets
                    .iter_mut()
                    .find(|rs| rs.metadata.name.as_deref() == Some(update.name.as_str()))
                    .unwrap();
                if let Some(r) = update.replicas {
                    rs.spec.replicas = Some(r);
                }
                if let Some(a) = &update.annotations {
                    rs.metadata.annotations = Some(a.clone());
                }
            }
            // Scale-downs take effect at once; new pods become available one round later.
            for rs in &mut sets {
                let size = replicas(rs);
                let status = rs.status.get_or_insert_with(Default::default);
                let before = status.available_replicas.unwrap_or(0);
                status.available_replicas = Some(before.min(size));
                status.replicas = size;
            }
            let available: i32 = sets.iter().map(available).sum();
            assert!(
                available >= min_available,
                "{surge}/{unavailable}: {available} < {min_available} in round {round}"
            );
            for rs in &mut sets {
                let size = replicas(rs);
                rs.status.get_or_insert_with(Default::default).available_replicas = Some(size);
            }
            d.status = Some(plan.status);
            let new_done = sets.iter().any(|rs| {
                replicas(rs) == 20
                    && rs
                        .spec
                        .template
                        .as_ref()
                        .is_some_and(|t| hash::equal_ignoring_hash(t, &d.spec.template))
            });
            let old_gone = sets.iter().filter(|rs| replicas(rs) > 0).count() == 1;
            if new_done && old_gone {
                done = true;
                break;
            }
        }
        assert!(done, "{surge}/{unavailable}: the rollout finishes");
    }
}

#[test]
fn undo_reuses_the_old_replica_set_with_a_new_revision() {
    let d = deployment(
        3,
        "/a.wasm",
        json!({"metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}}}),
    );
    let first = replica_set(&d, "/a.wasm", 1, 0, 0);
    let second = replica_set(&d, "/b.wasm", 2, 3, 3);
    let plan = step(&d, &[first.clone(), second]);
    assert!(plan.create.is_none(), "the revision 1 replica set is reused");
    let update = plan.updates.iter().find(|u| u.name == name(&first.metadata)).unwrap();
    let annotations = update.annotations.as_ref().unwrap();
    assert_eq!(
        (annotations[revision::REVISION].as_str(), annotations[revision::REVISION_HISTORY].as_str()),
        ("3", "1")
    );
    assert_eq!(update.replicas, Some(1), "maxSurge 25% of 3 rounds up to 1");
    assert_eq!(plan.revision.as_deref(), Some("3"));
}

#[test]
fn paused_deployments_do_not_roll_out_but_still_scale() {
    let d = deployment(5, "/b.wasm", json!({"spec": {"paused": true}}));
    let old = replica_set(&d, "/a.wasm", 1, 3, 3);
    let plan = step(&d, std::slice::from_ref(&old));
    assert!(plan.create.is_none());
    assert_eq!(sizes(&plan), [(name(&old.metadata).to_owned(), 5)]);
    assert_eq!(progressing(&plan), ("Unknown".into(), "DeploymentPaused".into()));
}

#[test]
fn scaling_a_settled_deployment_resizes_its_replica_set() {
    let d = deployment(5, "/a.wasm", json!({}));
    let mut rs = (*replica_set(&deployment(3, "/a.wasm", json!({})), "/a.wasm", 1, 3, 3)).clone();
    rs.metadata.name = Some("web-x".into());
    let plan = step(&d, &[Arc::new(rs)]);
    assert_eq!(sizes(&plan), [("web-x".to_owned(), 5)]);
    assert_eq!(plan.notes[0].message, "Scaled up replica set web-x from 3 to 5");
}

#[test]
fn recreate_stops_everything_before_starting_the_new_version() {
    let d =
        deployment(4, "/b.wasm", json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": null}}}));
    let old = replica_set(&d, "/a.wasm", 1, 4, 4);
    let first = step(&d, std::slice::from_ref(&old));
    assert_eq!((first.create.is_none(), sizes(&first)), (true, vec![(name(&old.metadata).to_owned(), 0)]));
    let stopped = replica_set(&d, "/a.wasm", 1, 0, 0);
    let running = plan(Input {
        deployment: &d,
        replica_sets: std::slice::from_ref(&stopped),
        old_pods_running: true,
        now: now(),
    })
    .unwrap();
    assert!(running.create.is_none(), "waits for old pods to stop");
    let go = step(&d, &[stopped]);
    assert_eq!(go.create.and_then(|rs| rs.spec.replicas), Some(4));
}

#[test]
fn conditions_follow_the_rollout() {
    let d = deployment(
        3,
        "/a.wasm",
        json!({"status": {"replicas": 3, "updatedReplicas": 3, "conditions": [
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
         "lastUpdateTime": "2026-01-01T00:59:00Z", "lastTransitionTime": "2026-01-01T00:59:00Z"}]}}),
    );
    let done = step(&d, &[replica_set(&d, "/a.wasm", 1, 3, 3)]);
    assert_eq!(progressing(&done), ("True".into(), "NewReplicaSetAvailable".into()));
    let available = condition(done.status.conditions.as_deref().unwrap(), "Available").unwrap();
    assert_eq!(available.reason.as_deref(), Some("MinimumReplicasAvailable"));
    assert_eq!((done.status.updated_replicas, done.status.available_replicas), (Some(3), Some(3)));
    assert_eq!(done.requeue_after, None);

    let waiting = step(&d, &[replica_set(&d, "/a.wasm", 1, 3, 0)]);
    assert_eq!(progressing(&waiting), ("True".into(), "ReplicaSetUpdated".into()));
    assert_eq!(waiting.requeue_after, Some(Duration::from_secs(541)), "deadline 600 s after 00:59:00");

    let stale = deployment(
        3,
        "/a.wasm",
        json!({"status": {"replicas": 3, "updatedReplicas": 3, "conditions": [
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
         "lastUpdateTime": "2026-01-01T00:40:00Z", "lastTransitionTime": "2026-01-01T00:40:00Z"}]}}),
    );
    let timed_out = step(&stale, &[replica_set(&stale, "/a.wasm", 1, 3, 0)]);
    assert_eq!(progressing(&timed_out), ("False".into(), "ProgressDeadlineExceeded".into()));
}

#[test]
fn history_beyond_the_limit_is_deleted_oldest_revision_first() {
    let d = deployment(
        2,
        "/d.wasm",
        json!({"spec": {"revisionHistoryLimit": 1},
        "status": {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}}),
    );
    let sets = [
        replica_set(&d, "/a.wasm", 1, 0, 0),
        replica_set(&d, "/b.wasm", 2, 0, 0),
        replica_set(&d, "/c.wasm", 3, 0, 0),
        replica_set(&d, "/d.wasm", 4, 2, 2),
    ];
    let plan = step(&d, &sets);
    let deleted: Vec<_> = plan.delete.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(deleted, [name(&sets[0].metadata).to_owned(), name(&sets[1].metadata).to_owned()]);
}

#[test]
fn fenceposts_match_kubernetes() {
    let cases = [
        (10, json!("25%"), json!("25%"), (3, 2)),
        (1, json!("25%"), json!("25%"), (1, 0)),
        (3, json!(0), json!(0), (0, 1)),
        (2, json!(1), json!(5), (1, 2)),
    ];
    for (replicas, surge, unavailable, expected) in cases {
        let d = deployment(
            replicas,
            "/a.wasm",
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}}),
        );
        let b = bounds(&d).unwrap();
        assert_eq!((b.surge, b.unavailable), expected, "{replicas}");
    }
}
