use super::*;
use crate::validation::test_support::{Edit, check_cases, from_json, messages, with};
use serde_json::{Value, json};

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "frontend"}},
                "spec": {"containers": [{"name": "web", "image": "web.wasm"}]},
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "minReadySeconds": 0,
        },
    })
}

fn replica_set() -> Value {
    json!({
        "metadata": {"name": "web-5d8f", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web.wasm"}]}}},
    })
}

fn daemon_set() -> Value {
    json!({
        "metadata": {"name": "agent", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "agent", "image": "agent.wasm"}]}},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                 "revisionHistoryLimit": 10},
    })
}

#[test]
fn valid_workloads() {
    assert_eq!(messages(&from_json::<Deployment>(deployment()).validate()), Vec::<String>::new());
    assert_eq!(messages(&from_json::<ReplicaSet>(replica_set()).validate()), Vec::<String>::new());
    assert_eq!(messages(&from_json::<DaemonSet>(daemon_set()).validate()), Vec::<String>::new());
    let recreate = with(&deployment(), &[("/spec/strategy", json!({"type": "Recreate"}))]);
    assert_eq!(messages(&from_json::<Deployment>(recreate).validate()), Vec::<String>::new());
    let expressions = with(
        &deployment(),
        &[(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]}]}),
        )],
    );
    assert_eq!(messages(&from_json::<Deployment>(expressions).validate()), Vec::<String>::new());
}

#[test]
fn broken_deployments() {
    let base = deployment();
    let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
        (
            vec![("/spec/replicas", json!(-1))],
            vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/selector", Value::Null)],
            vec![
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"web\",\"tier\":\"frontend\"}: `selector` does not match template `labels`",
            ],
        ),
        (
            vec![("/spec/selector", json!({"matchLabels": {}}))],
            vec!["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
        ),
        (
            vec![("/spec/selector/matchLabels/app", json!("db"))],
            vec![
                "spec.template.metadata.labels: Invalid value: {\"app\":\"web\",\"tier\":\"frontend\"}: `selector` does not match template `labels`",
            ],
        ),
        (
            vec![("/spec/template/metadata/labels", Value::Null)],
            vec![
                "spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`",
            ],
        ),
        (
            vec![
                ("/spec/selector/matchLabels/app", json!("-bad")),
                ("/spec/template/metadata/labels/app", json!("-bad")),
            ],
            vec![
                "spec.selector.matchLabels: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                "spec.template.labels: Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ],
        ),
        (
            vec![("/spec/template/spec/restartPolicy", json!("Never"))],
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ],
        ),
        (
            vec![("/spec/template/spec/activeDeadlineSeconds", json!(10))],
            vec![
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
            ],
        ),
        (
            vec![("/spec/template/spec/containers/0/image", json!(""))],
            vec!["spec.template.spec.containers[0].image: Required value"],
        ),
        (
            vec![("/spec/strategy/type", json!("BlueGreen"))],
            vec![
                "spec.strategy: Unsupported value: {\"RollingUpdate\":{\"MaxSurge\":\"25%\",\"MaxUnavailable\":\"25%\"},\"Type\":\"BlueGreen\"}: supported values: \"Recreate\", \"RollingUpdate\"",
            ],
        ),
        (
            vec![("/spec/strategy/type", json!("Recreate"))],
            vec![
                "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
            ],
        ),
        (
            vec![("/spec/strategy/rollingUpdate", json!({"maxSurge": 0, "maxUnavailable": 0}))],
            vec![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
            ],
        ),
        (
            vec![("/spec/strategy/rollingUpdate", json!({"maxSurge": "0%", "maxUnavailable": "0%"}))],
            vec![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0",
            ],
        ),
        (
            vec![("/spec/strategy/rollingUpdate/maxUnavailable", json!("110%"))],
            vec![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"110%\": must not be greater than 100%",
            ],
        ),
        (
            vec![("/spec/strategy/rollingUpdate/maxSurge", json!("lots"))],
            vec![
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            ],
        ),
        (
            vec![("/spec/strategy/rollingUpdate/maxSurge", json!(-1))],
            vec![
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0",
            ],
        ),
        (
            vec![("/spec/revisionHistoryLimit", json!(-1))],
            vec!["spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/minReadySeconds", json!(-1))],
            vec!["spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/minReadySeconds", json!(600))],
            vec!["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"],
        ),
        (
            vec![("/spec/progressDeadlineSeconds", json!(-1))],
            vec![
                "spec.progressDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.progressDeadlineSeconds: Invalid value: -1: must be greater than minReadySeconds",
            ],
        ),
        (
            vec![("/metadata/name", json!("Web"))],
            vec![
                "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ],
        ),
    ];
    check_cases(cases, |edits| messages(&from_json::<Deployment>(with(&base, edits)).validate()));
}

#[test]
fn workload_selectors_are_immutable() {
    let old: Deployment = from_json(deployment());
    let scaled: Deployment = from_json(with(
        &deployment(),
        &[("/spec/replicas", json!(5)), ("/spec/template/spec/containers/0/image", json!("web2.wasm"))],
    ));
    assert!(scaled.validate_update(&old).is_empty());
    let reselected: Deployment =
        from_json(with(&deployment(), &[("/spec/selector/matchLabels/tier", json!("frontend"))]));
    assert_eq!(
        messages(&reselected.validate_update(&old)),
        vec![
            "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"frontend\"}}: field is immutable"
        ]
    );
    let stored_replicas: ReplicaSet = from_json(replica_set());
    let changed_replicas: ReplicaSet = from_json(with(
        &replica_set(),
        &[
            ("/spec/selector/matchLabels/app", json!("api")),
            ("/spec/template/metadata/labels/app", json!("api")),
        ],
    ));
    assert_eq!(
        messages(&changed_replicas.validate_update(&stored_replicas)),
        vec!["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"api\"}}: field is immutable"]
    );
    let stored_daemons: DaemonSet = from_json(daemon_set());
    let changed_daemons: DaemonSet = from_json(with(
        &daemon_set(),
        &[("/spec/selector/matchLabels/app", json!("x")), ("/spec/template/metadata/labels/app", json!("x"))],
    ));
    assert_eq!(
        messages(&changed_daemons.validate_update(&stored_daemons)),
        vec!["spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"x\"}}: field is immutable"]
    );
}

#[test]
fn broken_replica_sets() {
    let base = replica_set();
    let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
        (
            vec![("/spec/replicas", json!(-2))],
            vec!["spec.replicas: Invalid value: -2: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/minReadySeconds", json!(-2))],
            vec!["spec.minReadySeconds: Invalid value: -2: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/selector", json!({"matchLabels": {}}))],
            vec!["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
        ),
        (
            vec![("/spec/template", Value::Null)],
            vec![
                "spec.template.metadata.labels: Invalid value: null: `selector` does not match template `labels`",
                "spec.template.spec.containers: Required value",
            ],
        ),
        (
            vec![("/spec/template/spec/restartPolicy", json!("OnFailure"))],
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            ],
        ),
    ];
    check_cases(cases, |edits| messages(&from_json::<ReplicaSet>(with(&base, edits)).validate()));
}

#[test]
fn broken_daemon_sets() {
    let base = daemon_set();
    let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
        (
            vec![("/spec/selector", Value::Null)],
            vec![
                "spec.template.metadata.labels: Invalid value: {\"app\":\"agent\"}: `selector` does not match template `labels`",
            ],
        ),
        (
            vec![("/spec/selector", json!({"matchExpressions": []}))],
            vec!["spec.selector: Invalid value: {}: empty selector is invalid for daemonset"],
        ),
        (
            vec![("/spec/template/metadata/labels/app", json!("other"))],
            vec![
                "spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`",
            ],
        ),
        (
            vec![("/spec/template/spec/restartPolicy", json!("Never"))],
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ],
        ),
        (
            vec![("/spec/template/spec/activeDeadlineSeconds", json!(5))],
            vec![
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported",
            ],
        ),
        (
            vec![("/spec/updateStrategy/rollingUpdate", json!({"maxUnavailable": 1, "maxSurge": 1}))],
            vec![
                "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero",
            ],
        ),
        (
            vec![("/spec/updateStrategy/rollingUpdate", json!({"maxUnavailable": 0, "maxSurge": 0}))],
            vec![
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
            ],
        ),
        (
            vec![("/spec/updateStrategy/rollingUpdate", json!({"maxUnavailable": "200%"}))],
            vec![
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"200%\": must not be greater than 100%",
            ],
        ),
        (
            vec![("/spec/updateStrategy", json!({"type": "Surge"}))],
            vec![
                "spec.updateStrategy: Unsupported value: {\"RollingUpdate\":null,\"Type\":\"Surge\"}: supported values: \"RollingUpdate\", \"OnDelete\"",
            ],
        ),
        (vec![("/spec/updateStrategy", json!({"type": "OnDelete"}))], vec![]),
        (
            vec![("/spec/revisionHistoryLimit", json!(-1))],
            vec!["spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/minReadySeconds", json!(-1))],
            vec!["spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"],
        ),
    ];
    check_cases(cases, |edits| messages(&from_json::<DaemonSet>(with(&base, edits)).validate()));
}

#[test]
fn pod_disruption_budgets() {
    let base = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}});
    let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
        (vec![], vec![]),
        (vec![("/spec/minAvailable", json!("50%"))], vec![]),
        (
            vec![("/spec/maxUnavailable", json!(1))],
            vec![
                "spec: Invalid value: {\"MaxUnavailable\":1,\"MinAvailable\":2,\"Selector\":{\"matchLabels\":{\"app\":\"web\"}},\"UnhealthyPodEvictionPolicy\":null}: minAvailable and maxUnavailable cannot be both set",
            ],
        ),
        (
            vec![("/spec/minAvailable", json!(-1))],
            vec!["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"],
        ),
        (
            vec![("/spec/minAvailable", json!("150%"))],
            vec!["spec.minAvailable: Invalid value: \"150%\": must not be greater than 100%"],
        ),
        (
            vec![("/spec/minAvailable", Value::Null), ("/spec/maxUnavailable", json!("half"))],
            vec![
                "spec.maxUnavailable: Invalid value: \"half\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            ],
        ),
        (
            vec![("/spec/unhealthyPodEvictionPolicy", json!("Never"))],
            vec![
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
            ],
        ),
        (
            vec![(
                "/spec/selector/matchExpressions",
                json!([{"key": "a", "operator": "Exists", "values": ["x"]}]),
            )],
            vec![
                "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ],
        ),
    ];
    check_cases(cases, |edits| messages(&from_json::<PodDisruptionBudget>(with(&base, edits)).validate()));
    let old: PodDisruptionBudget = from_json(base.clone());
    let reselected: PodDisruptionBudget =
        from_json(with(&base, &[("/spec/selector/matchLabels/app", json!("api"))]));
    assert!(reselected.validate_update(&old).is_empty());
}

#[test]
fn int_or_percent_helpers() {
    assert_eq!(int_or_percent_value(&IntOrString::String("25%".into())), 25);
    assert_eq!(int_or_percent_value(&IntOrString::Int(3)), 3);
    assert_eq!(int_or_percent_value(&IntOrString::String("7".into())), 7);
    assert_eq!(int_or_percent_value(&IntOrString::String("x".into())), 0);
}
