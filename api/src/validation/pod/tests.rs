use super::*;
use crate::validation::test_support::{Edit, check_cases, from_json, messages, with};
use serde_json::json;

const LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and \
                         must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex \
                         used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [{
                "name": "web", "image": "registry.example/web:1.0",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "env": [{"name": "MODE", "value": "prod"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
                        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
                "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "cfg", "mountPath": "/cfg"}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "128Mi"}},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                "readinessProbe": {"tcpSocket": {"port": 8080}},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File",
            }],
            "initContainers": [{"name": "init", "image": "registry.example/init:1.0"},
                               {"name": "sidecar", "image": "registry.example/side:1.0", "restartPolicy": "Always",
                                "readinessProbe": {"exec": {"command": ["true"]}}}],
            "volumes": [{"name": "data", "emptyDir": {}},
                        {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420,
                                                      "items": [{"key": "a", "path": "a.conf"}]}},
                        {"name": "sec", "secret": {"secretName": "creds"}}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
                            {"operator": "Exists"}],
            "nodeSelector": {"kubernetes.io/os": "wasi"},
        },
    })
}

fn check_pod(value: &Value) -> Vec<String> {
    messages(&from_json::<Pod>(value.clone()).validate())
}

#[test]
fn valid_pod_has_no_errors() {
    assert_eq!(check_pod(&pod()), Vec::<String>::new());
    let minimal = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    assert_eq!(check_pod(&minimal), Vec::<String>::new());
}

#[test]
fn broken_pods_report_kubernetes_errors() {
    let base = pod();
    let c0 = "spec.containers[0]";
    let cases: Vec<(Vec<Edit>, Vec<String>)> = vec![
        (vec![("/spec/containers", json!([]))], vec!["spec.containers: Required value".into()]),
        (vec![("/spec/containers/0/name", json!("Web"))], vec![format!("{c0}.name: Invalid value: \"Web\": {LABEL_ERR}")]),
        (vec![("/spec/containers/0/name", json!(""))], vec![format!("{c0}.name: Required value")]),
        (vec![("/spec/containers/0/name", json!("init"))], vec!["spec.initContainers[0].name: Duplicate value: \"init\"".into()]),
        (vec![("/spec/containers/0/image", json!(""))], vec![format!("{c0}.image: Required value")]),
        (vec![("/spec/containers/0/image", json!(" web "))], vec![format!("{c0}.image: Invalid value: \" web \": must not have leading or trailing whitespace")]),
        (vec![("/spec/containers/0/ports/0/containerPort", json!(70000))], vec![format!("{c0}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive")]),
        (vec![("/spec/containers/0/ports/0/containerPort", json!(0))], vec![format!("{c0}.ports[0].containerPort: Required value")]),
        (vec![("/spec/containers/0/ports/0/protocol", json!("HTTP"))], vec![format!("{c0}.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"")]),
        (vec![("/spec/containers/0/ports/0/hostPort", json!(-1))], vec![format!("{c0}.ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive")]),
        (vec![("/spec/containers/0/ports/0/name", json!("HTTP_PORT"))], vec![
            format!("{c0}.ports[0].name: Invalid value: \"HTTP_PORT\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
            format!("{c0}.ports[0].name: Invalid value: \"HTTP_PORT\": must contain at least one letter (a-z)"),
        ]),
        (vec![("/spec/containers/0/env/0/name", json!("A=B"))], vec![format!("{c0}.env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='")]),
        (vec![("/spec/containers/0/env/0/name", json!(""))], vec![format!("{c0}.env[0].name: Required value")]),
        (vec![("/spec/containers/0/env/1/value", json!("x"))], vec![format!("{c0}.env[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty")]),
        (vec![("/spec/containers/0/env/1/valueFrom", json!({}))], vec![format!("{c0}.env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")]),
        (vec![("/spec/containers/0/env/1/valueFrom/fieldRef/fieldPath", json!("spec.restartPolicy"))], vec![format!("{c0}.env[1].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.restartPolicy\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"")]),
        (vec![("/spec/containers/0/env/1/valueFrom/fieldRef/fieldPath", json!("spec.bogus"))], vec![format!("{c0}.env[1].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.bogus\": error converting fieldPath: field label not supported: spec.bogus")]),
        (vec![("/spec/containers/0/env/1/valueFrom/fieldRef/fieldPath", json!("metadata.labels['app']"))], vec![]),
        (vec![("/spec/containers/0/env/1/valueFrom/fieldRef/apiVersion", json!("v2"))], vec![format!("{c0}.env[1].valueFrom.fieldRef.fieldPath: Invalid value: \"metadata.name\": error converting fieldPath: unsupported pod version: v2")]),
        (vec![("/spec/containers/0/env/2/valueFrom/resourceFieldRef/resource", json!("limits.gpu"))], vec![format!("{c0}.env[2].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", \"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"")]),
        (vec![("/spec/containers/0/env/3/valueFrom/secretKeyRef/key", json!(""))], vec![format!("{c0}.env[3].valueFrom.secretKeyRef.key: Required value")]),
        (vec![("/spec/containers/0/envFrom/0", json!({}))], vec![format!("{c0}.envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`")]),
        (vec![("/spec/containers/0/volumeMounts/0/name", json!("missing"))], vec![format!("{c0}.volumeMounts[0].name: Not found: \"missing\"")]),
        (vec![("/spec/containers/0/volumeMounts/1/mountPath", json!("/data"))], vec![format!("{c0}.volumeMounts[1].mountPath: Invalid value: \"/data\": must be unique")]),
        (vec![("/spec/containers/0/volumeMounts/0/subPath", json!("../etc"))], vec![format!("{c0}.volumeMounts.subPath: Invalid value: \"../etc\": must not contain '..'")]),
        (vec![("/spec/containers/0/imagePullPolicy", json!("Sometimes"))], vec![format!("{c0}.imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"")]),
        (vec![("/spec/containers/0/terminationMessagePolicy", json!("Stdout"))], vec![format!("{c0}.terminationMessagePolicy: Unsupported value: \"Stdout\": supported values: \"File\", \"FallbackToLogsOnError\"")]),
        (vec![("/spec/containers/0/resources/requests/cpu", json!("2"))], vec![format!("{c0}.resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1")]),
        (vec![("/spec/containers/0/resources/limits/memory", json!("lots"))], vec![format!("{c0}.resources.limits[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]),
        (vec![("/spec/containers/0/livenessProbe", json!({}))], vec![format!("{c0}.livenessProbe: Required value: must specify a handler type")]),
        (vec![("/spec/containers/0/livenessProbe/exec", json!({"command": ["x"]}))], vec![format!("{c0}.livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type")]),
        (vec![("/spec/containers/0/livenessProbe/successThreshold", json!(2))], vec![format!("{c0}.livenessProbe.successThreshold: Invalid value: 2: must be 1")]),
        (vec![("/spec/containers/0/livenessProbe/periodSeconds", json!(-1))], vec![format!("{c0}.livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0")]),
        (vec![("/spec/containers/0/livenessProbe/httpGet/port", json!(0))], vec![format!("{c0}.livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive")]),
        (vec![("/spec/containers/0/livenessProbe/httpGet/scheme", json!("FTP"))], vec![format!("{c0}.livenessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"")]),
        (vec![("/spec/containers/0/readinessProbe/terminationGracePeriodSeconds", json!(5))], vec![format!("{c0}.readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes")]),
        (vec![("/spec/containers/0/lifecycle/preStop/sleep/seconds", json!(60))], vec![format!("{c0}.lifecycle.preStop.sleep: Invalid value: 60: must be greater than 0 and less than terminationGracePeriodSeconds (30)")]),
        (vec![("/spec/containers/0/restartPolicy", json!("Always"))], vec![format!("{c0}.restartPolicy: Forbidden: may not be set for non-init containers")]),
        (vec![("/spec/initContainers/0/restartPolicy", json!("Never"))], vec!["spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"".into()]),
        (vec![("/spec/initContainers/0/livenessProbe", json!({"exec": {"command": ["x"]}}))], vec!["spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always".into()]),
        (vec![("/spec/initContainers/1/name", json!("init"))], vec!["spec.initContainers[1].name: Duplicate value: \"init\"".into()]),
        (vec![("/spec/volumes/1/name", json!("data"))], vec![
            "spec.volumes[1].name: Duplicate value: \"data\"".into(),
            format!("{c0}.volumeMounts[1].name: Not found: \"cfg\""),
        ]),
        (vec![("/spec/volumes/0/name", json!("Data"))], vec![
            format!("spec.volumes[0].name: Invalid value: \"Data\": {LABEL_ERR}"),
            format!("{c0}.volumeMounts[0].name: Not found: \"data\""),
        ]),
        (vec![("/spec/volumes/0", json!({"name": "data"}))], vec![
            "spec.volumes[0]: Required value: must specify a volume type".into(),
            format!("{c0}.volumeMounts[0].name: Not found: \"data\""),
        ]),
        (vec![("/spec/volumes/0/configMap", json!({"name": "x"}))], vec![
            "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type".into(),
            format!("{c0}.volumeMounts[0].name: Not found: \"data\""),
        ]),
        (vec![("/spec/volumes/1/configMap/defaultMode", json!(1000))], vec![
            "spec.volumes[1].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive".into(),
            format!("{c0}.volumeMounts[1].name: Not found: \"cfg\""),
        ]),
        (vec![("/spec/volumes/1/configMap/items/0/path", json!("../a"))], vec![
            "spec.volumes[1].configMap.items[0].path: Invalid value: \"../a\": must not contain '..'".into(),
            format!("{c0}.volumeMounts[1].name: Not found: \"cfg\""),
        ]),
        (vec![("/spec/volumes/2/secret/secretName", json!(""))], vec!["spec.volumes[2].secret.secretName: Required value".into()]),
        (vec![("/spec/restartPolicy", json!("Sometimes"))], vec!["spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".into()]),
        (vec![("/spec/dnsPolicy", json!("Google"))], vec!["spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"".into()]),
        (vec![("/spec/dnsPolicy", json!("None"))], vec!["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None".into()]),
        (vec![("/spec/terminationGracePeriodSeconds", json!(-5))], vec![
            "spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0".into(),
            format!("{c0}.lifecycle.preStop.sleep: Invalid value: 5: must be greater than 0 and less than terminationGracePeriodSeconds (-5)"),
        ]),
        (vec![("/spec/activeDeadlineSeconds", json!(0))], vec!["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive".into()]),
        (vec![("/spec/nodeName", json!("Node_1"))], vec!["spec.nodeName: Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into()]),
        (vec![("/spec/nodeSelector", json!({"zone": "a b"}))], vec!["spec.nodeSelector: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".into()]),
        (vec![("/spec/tolerations/1", json!({"operator": "Equal", "value": "x"}))], vec!["spec.tolerations[1].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"".into()]),
        (vec![("/spec/tolerations/0/effect", json!("Never"))], vec!["spec.tolerations[0].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"".into()]),
        (vec![("/spec/tolerations/0/tolerationSeconds", json!(10))], vec!["spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set".into()]),
        (vec![("/spec/tolerations/0/operator", json!("Like"))], vec!["spec.tolerations[0].operator: Unsupported value: \"Like\": supported values: \"Equal\", \"Exists\"".into()]),
        (vec![("/spec/tolerations/1/value", json!("v"))], vec!["spec.tolerations[1].operator: Invalid value: {\"Effect\":\"\",\"Key\":\"\",\"Operator\":\"Exists\",\"TolerationSeconds\":null,\"Value\":\"v\"}: value must be empty when `operator` is 'Exists'".into()]),
        (vec![("/spec/ephemeralContainers", json!([{"name": "debug", "image": "busybox"}]))], vec!["spec.ephemeralContainers: Forbidden: cannot be set on create".into()]),
        (vec![("/spec/nodeName", json!("n1")), ("/spec/schedulingGates", json!([{"name": "example.com/wait"}]))], vec!["spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared".into()]),
        (vec![("/spec/securityContext", json!({"runAsUser": -1}))], vec!["spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive".into()]),
        (vec![("/spec/hostNetwork", json!(true))], vec![]),
        (vec![("/spec/hostNetwork", json!(true)), ("/spec/containers/0/ports/0/hostPort", json!(9090))], vec![format!("{c0}.ports[0].hostPort: Invalid value: 9090: must match `containerPort` when `hostNetwork` is true")]),
        (vec![("/spec/containers/0/ports/0/hostPort", json!(80)), ("/spec/containers/0/ports/1", json!({"containerPort": 81, "hostPort": 80}))], vec![format!("{c0}.ports[1].hostPort: Duplicate value: \"TCP//80\"")]),
        (vec![("/metadata/name", json!("Web"))], vec!["metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into()]),
        (vec![("/metadata/namespace", Value::Null)], vec!["metadata.namespace: Required value".into()]),
    ];
    check_cases(cases, |edits| check_pod(&with(&base, edits)));
}

#[test]
fn templates_skip_pod_only_rules_and_report_template_paths() {
    let template: PodTemplateSpec = from_json(json!({
        "metadata": {"labels": {"app": "-bad"}},
        "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": " padded ", "ports": [{"containerPort": 80}]}],
                 "ephemeralContainers": [{"name": "e", "image": "i"}]},
    }));
    let errs = messages(&validate_pod_template_spec(&template, &FieldPath::new("spec").child("template")));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs[0].starts_with("spec.template.labels: Invalid value: \"-bad\": a valid label must be"));
    assert_eq!(
        errs[1],
        "spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"
    );
}

fn update(old: &Value, new: &Value) -> Vec<String> {
    let old: Pod = from_json(old.clone());
    let new: Pod = from_json(new.clone());
    messages(&new.validate_update(&old))
}

#[test]
fn pod_updates_may_change_images_deadline_and_add_tolerations() {
    let old = pod();
    let new = with(
        &old,
        &[
            ("/spec/containers/0/image", json!("registry.example/web:2.0")),
            ("/spec/initContainers/0/image", json!("registry.example/init:2.0")),
            ("/spec/activeDeadlineSeconds", json!(60)),
            ("/spec/tolerations/2", json!({"key": "extra", "operator": "Exists"})),
            ("/metadata/labels/tier", json!("frontend")),
        ],
    );
    assert_eq!(update(&old, &new), Vec::<String>::new());
}

#[test]
fn pod_update_rejections() {
    let old = with(&pod(), &[("/spec/activeDeadlineSeconds", json!(60))]);
    let changed = with(&old, &[("/spec/restartPolicy", json!("Never"))]);
    let errs = update(&old, &changed);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,\
             `spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to \
             existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was \
             previously negative)\n"
        ),
        "{}",
        errs[0]
    );
    assert!(
        errs[0].contains("- \trestartPolicy: \"Always\",\n+ \trestartPolicy: \"Never\",\n"),
        "{}",
        errs[0]
    );

    let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
        (
            vec![("/spec/containers/1", json!({"name": "more", "image": "i"}))],
            vec!["spec.containers: Forbidden: pod updates may not add or remove containers"],
        ),
        (
            vec![("/spec/activeDeadlineSeconds", json!(120))],
            vec![
                "spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value",
            ],
        ),
        (
            vec![("/spec/activeDeadlineSeconds", json!(-1))],
            vec![
                "spec.activeDeadlineSeconds: Invalid value: -1: must be between 1 and 2147483647, inclusive",
                "spec.activeDeadlineSeconds: Invalid value: -1: must be between 0 and 2147483647, inclusive",
            ],
        ),
        (
            vec![("/spec/tolerations/0/value", json!("db"))],
            vec![
                "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds",
            ],
        ),
        (
            vec![("/spec/schedulingGates", json!([{"name": "example.com/new"}]))],
            vec![
                "spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/new'",
            ],
        ),
        (
            vec![("/metadata/name", json!("other"))],
            vec!["metadata.name: Invalid value: \"other\": field is immutable"],
        ),
    ];
    check_cases(cases, |edits| {
        let errs = update(&old, &with(&old, edits));
        errs.into_iter().filter(|e| !e.starts_with("spec: Forbidden")).collect::<Vec<_>>()
    });
    let removed = with(&old, &[("/spec/activeDeadlineSeconds", Value::Null)]);
    assert_eq!(
        update(&old, &removed)[0],
        "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"
    );
}

#[test]
fn volumes_sources_are_checked() {
    let base = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "image": "i"}], "volumes": [{"name": "v", "emptyDir": {}}]}});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"name": "v", "hostPath": {"path": ""}}),
            vec!["spec.volumes[0].hostPath.path: Required value"],
        ),
        (
            json!({"name": "v", "persistentVolumeClaim": {"claimName": ""}}),
            vec!["spec.volumes[0].persistentVolumeClaim.claimName: Required value"],
        ),
        (
            json!({"name": "v", "emptyDir": {"sizeLimit": "-1Gi"}}),
            vec![
                "spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
            ],
        ),
        (
            json!({"name": "v", "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]}}),
            vec![],
        ),
        (
            json!({"name": "v", "downwardAPI": {"items": [{"path": "l"}]}}),
            vec![
                "spec.volumes[0].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required",
            ],
        ),
        (
            json!({"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 60}}]}}),
            vec![
                "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
            ],
        ),
        (
            json!({"name": "v", "emptyDir": {}, "downwardAPI": {}}),
            vec!["spec.volumes[0].downwarAPI: Forbidden: may not specify more than 1 volume type"],
        ),
    ];
    check_cases(cases, |volume| check_pod(&with(&base, &[("/spec/volumes/0", volume.clone())])));
}

#[test]
fn dns_config_and_topology_spread() {
    let base = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let cases: Vec<(Vec<Edit>, Vec<&str>)> = vec![
        (
            vec![("/spec/dnsPolicy", json!("None")), ("/spec/dnsConfig", json!({}))],
            vec![
                "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
            ],
        ),
        (
            vec![("/spec/dnsConfig", json!({"nameservers": ["1.1.1.1", "x"]}))],
            vec![
                "spec.dnsConfig.nameservers[1]: Invalid value: \"x\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ],
        ),
        (vec![("/spec/dnsConfig", json!({"searches": ["svc.cluster.local."]}))], vec![]),
        (
            vec![(
                "/spec/topologySpreadConstraints",
                json!([{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]),
            )],
            vec!["spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"],
        ),
        (
            vec![(
                "/spec/topologySpreadConstraints",
                json!([{"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": "Maybe"}]),
            )],
            vec![
                "spec.topologySpreadConstraints[0].topologyKey: Required value: can not be empty",
                "spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"Maybe\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
            ],
        ),
        (
            vec![("/spec/schedulingGates", json!([{"name": "a"}, {"name": "a"}]))],
            vec!["spec.schedulingGates[1]: Duplicate value: \"a\""],
        ),
        (
            vec![(
                "/spec/securityContext",
                json!({"sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}, {"name": "Bad!", "value": "1"}]}),
            )],
            vec![
                "spec.securityContext.sysctls[1].name: Invalid value: \"Bad!\": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ],
        ),
        (
            vec![("/spec/priorityClassName", json!("High"))],
            vec![
                "spec.priorityClassName: Invalid value: \"High\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ],
        ),
        (
            vec![("/spec/preemptionPolicy", json!("Always"))],
            vec![
                "spec.preemptionPolicy: Unsupported value: \"Always\": supported values: \"PreemptLowerPriority\", \"Never\"",
            ],
        ),
    ];
    check_cases(cases, |edits| check_pod(&with(&base, edits)));
}

#[test]
fn nothing_a_client_sends_panics() {
    // Odd but decodable shapes must produce errors, never panics.
    let weird = json!({
        "metadata": {"name": "é-", "generateName": "é-", "namespace": "ü"},
        "spec": {"containers": [{"name": "", "image": "", "env": [{"name": "", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['"}}}],
                                 "resources": {"limits": {"cpu": "1e999999999999"}, "requests": {"cpu": "-0.0000000000001"}},
                                 "volumeMounts": [{"name": "", "mountPath": "", "subPathExpr": "..", "subPath": "/"}]}],
                 "volumes": [{"name": ""}], "activeDeadlineSeconds": i64::MAX, "terminationGracePeriodSeconds": i64::MIN,
                 "tolerations": [{"tolerationSeconds": 1}], "dnsConfig": {"searches": ["", "."]}},
    });
    assert!(!check_pod(&weird).is_empty());
    let empty: Pod = from_json(json!({}));
    assert!(!empty.validate().is_empty());
    assert!(!empty.validate_update(&empty).is_empty());
}

#[test]
fn a_malformed_egress_allow_list_is_refused() {
    let key = crate::egress::ALLOWED_HOSTS_ANNOTATION;
    let bad =
        with(&pod(), &[("/metadata/annotations", json!({key: "https://api.example.com, db.example.com"}))]);
    assert_eq!(
        check_pod(&bad),
        [format!(
            "metadata.annotations[{key}]: Invalid value: \"https://api.example.com, db.example.com\": annotation \
             {key}: \"db.example.com\": expected scheme://host[:port], e.g. https://example.com"
        )]
    );
    let good =
        with(&pod(), &[("/metadata/annotations", json!({key: "https://api.example.com tcp://db:5432"}))]);
    assert_eq!(check_pod(&good), Vec::<String>::new());
    let template: PodTemplateSpec = from_json(json!({
        "metadata": {"annotations": {key: "ftp://x:21"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }));
    let errs = messages(&validate_pod_template_spec(&template, &FieldPath::new("spec").child("template")));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].starts_with(&format!("spec.template.annotations[{key}]: Invalid value")), "{errs:?}");
}
