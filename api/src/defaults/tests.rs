use super::*;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::validation::Validate;

fn decode<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test manifest must decode")
}

fn defaulted<T: DeserializeOwned + Serialize + ApplyDefaults>(value: Value) -> Value {
    let mut object: T = decode(value);
    object.apply_defaults();
    serde_json::to_value(&object).expect("encodes")
}

/// Defaulting twice equals defaulting once, and the defaulted object still decodes.
fn assert_idempotent<T: DeserializeOwned + Serialize + ApplyDefaults + PartialEq + std::fmt::Debug>(
    value: Value,
) {
    let mut once: T = decode(value);
    once.apply_defaults();
    let mut twice: T = decode(serde_json::to_value(&once).expect("encodes"));
    twice.apply_defaults();
    assert_eq!(once, twice);
}

fn container_defaults(name: &str, image: &str, pull: &str) -> Value {
    json!({"name": name, "image": image, "imagePullPolicy": pull,
           "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
}

fn pod_spec_defaults(containers: Value) -> Value {
    json!({"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
           "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30, "securityContext": {}})
}

#[test]
fn pod_defaults() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                     "spec": {"containers": [{"name": "web", "image": "web.wasm"}]}});
    let mut spec = pod_spec_defaults(json!([container_defaults("web", "web.wasm", "Always")]));
    spec["enableServiceLinks"] = json!(true);
    assert_eq!(
        defaulted::<Pod>(pod),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
               "spec": spec, "status": {"phase": "Pending", "qosClass": "BestEffort"}})
    );
}

#[test]
fn container_and_volume_defaults() {
    let pod = json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {
        "containers": [{"name": "c", "image": "oci.example/app:1.2",
                        "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                        "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                        "livenessProbe": {"httpGet": {"port": 80}},
                        "readinessProbe": {"exec": {"command": ["ok"]}, "periodSeconds": 5},
                        "lifecycle": {"postStart": {"httpGet": {"port": 80}}},
                        "resources": {"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "500m"}}}],
        "initContainers": [{"name": "init", "image": "init@sha256:0123"}],
        "ephemeralContainers": [{"name": "debug", "image": "busybox:latest"}],
        "volumes": [{"name": "scratch"},
                    {"name": "cfg", "configMap": {"name": "settings"}},
                    {"name": "sec", "secret": {"secretName": "creds", "defaultMode": 256}},
                    {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                    {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
                    {"name": "host", "hostPath": {"path": "/tmp"}}],
    }});
    let out = defaulted::<Pod>(pod);
    let spec = &out["spec"];
    let c = &spec["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}])
    );
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"],
        json!({"apiVersion": "v1", "fieldPath": "metadata.name"})
    );
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
               "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
    assert_eq!(c["lifecycle"]["postStart"]["httpGet"], json!({"path": "/", "port": 80, "scheme": "HTTP"}));
    // Requests default from limits on Pods only, keeping the explicit ones.
    assert_eq!(c["resources"]["requests"], json!({"cpu": "500m", "memory": "64Mi"}));
    assert_eq!(spec["initContainers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(spec["ephemeralContainers"][0]["imagePullPolicy"], "Always");
    assert_eq!(spec["ephemeralContainers"][0]["terminationMessagePolicy"], "File");
    let volumes = &spec["volumes"];
    assert_eq!(volumes[0], json!({"name": "scratch", "emptyDir": {}}));
    assert_eq!(volumes[1]["configMap"]["defaultMode"], 420);
    assert_eq!(volumes[2]["secret"]["defaultMode"], 256);
    assert_eq!(volumes[3]["downwardAPI"]["defaultMode"], 420);
    assert_eq!(volumes[3]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        volumes[4]["projected"],
        json!({"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]})
    );
    assert_eq!(volumes[5]["hostPath"], json!({"path": "/tmp", "type": ""}));
    assert_eq!(out["status"]["qosClass"], "Burstable");
}

#[test]
fn qos_classes() {
    let qos = |resources: Value| {
        let pod = json!({"metadata": {"name": "p", "namespace": "d"},
                         "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}});
        defaulted::<Pod>(pod)["status"]["qosClass"].clone()
    };
    assert_eq!(qos(json!({})), "BestEffort");
    assert_eq!(qos(json!({"limits": {"cpu": "1", "memory": "1Gi"}})), "Guaranteed");
    assert_eq!(
        qos(
            json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}})
        ),
        "Guaranteed"
    );
    assert_eq!(
        qos(json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}})),
        "Burstable"
    );
    assert_eq!(qos(json!({"requests": {"memory": "1Gi"}})), "Burstable");
    assert_eq!(qos(json!({"limits": {"cpu": "1"}})), "Burstable");
    assert_eq!(
        qos(json!({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "1"}})),
        "BestEffort"
    );
}

#[test]
fn host_network_pods_default_host_ports() {
    let pod = json!({"metadata": {"name": "p", "namespace": "d"},
                     "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}]}});
    assert_eq!(defaulted::<Pod>(pod)["spec"]["containers"][0]["ports"][0]["hostPort"], 8080);
    // Templates do not get host ports defaulted.
    let deployment = json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}]}}}});
    assert_eq!(
        defaulted::<Deployment>(deployment)["spec"]["template"]["spec"]["containers"][0]["ports"][0],
        json!({"containerPort": 8080, "protocol": "TCP"})
    );
}

#[test]
fn deployment_defaults() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web.wasm"}]}}}});
    assert_eq!(
        defaulted::<Deployment>(deployment),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": pod_spec_defaults(json!([container_defaults("web", "web.wasm", "Always")]))}}})
    );
    let recreate = json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"strategy": {"type": "Recreate"}, "selector": {},
        "template": {"spec": {"containers": []}}}});
    assert_eq!(defaulted::<Deployment>(recreate)["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn deployment_and_replica_set_templates_default_identically() {
    let template = json!({"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "web.wasm:v1", "ports": [{"containerPort": 80}],
                                                   "readinessProbe": {"httpGet": {"port": 80}}}],
                                   "volumes": [{"name": "v", "configMap": {"name": "c"}}]}});
    let deployment = defaulted::<Deployment>(json!({"metadata": {"name": "web", "namespace": "d"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template.clone()}}));
    let replica_set = defaulted::<ReplicaSet>(json!({"metadata": {"name": "web-1", "namespace": "d"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": deployment["spec"]["template"].clone()}}));
    assert_eq!(deployment["spec"]["template"], replica_set["spec"]["template"]);
    let raw_replica_set = defaulted::<ReplicaSet>(json!({"metadata": {"name": "web-1", "namespace": "d"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}));
    assert_eq!(deployment["spec"]["template"], raw_replica_set["spec"]["template"]);
    assert_eq!(raw_replica_set["spec"]["replicas"], 1);
    assert!(deployment["spec"]["template"]["spec"].get("enableServiceLinks").is_none());
}

#[test]
fn daemon_set_defaults() {
    let ds = defaulted::<DaemonSet>(json!({"metadata": {"name": "agent", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}}}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(ds["spec"]["template"]["spec"]["restartPolicy"], "Always");
    let on_delete =
        defaulted::<DaemonSet>(json!({"metadata": {"name": "a", "namespace": "n"}, "spec": {"selector": {},
        "updateStrategy": {"type": "OnDelete"}, "template": {}}}));
    assert_eq!(on_delete["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
}

#[test]
fn job_defaults() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "pi.wasm"}]}}}});
    let mut spec = pod_spec_defaults(json!([container_defaults("pi", "pi.wasm", "Always")]));
    spec["restartPolicy"] = json!("Never");
    assert_eq!(
        defaulted::<Job>(job),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
               "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                        "suspend": false, "manualSelector": false, "podReplacementPolicy": "TerminatingOrFailed",
                        "template": {"spec": spec}}})
    );
    let parallel = defaulted::<Job>(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"parallelism": 4, "template": {}}}),
    );
    assert_eq!(parallel["spec"]["parallelism"], 4);
    assert!(parallel["spec"].get("completions").is_none());
    let completions = defaulted::<Job>(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"completions": 4, "template": {}}}),
    );
    assert_eq!(completions["spec"]["parallelism"], 1);
    let per_index = defaulted::<Job>(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 2, "template": {}}}),
    );
    assert_eq!(per_index["spec"]["backoffLimit"], i32::MAX);
    let failure_policy = defaulted::<Job>(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"template": {},
        "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
    );
    assert_eq!(failure_policy["spec"]["podReplacementPolicy"], "Failed");
    assert_eq!(
        failure_policy["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
        "True"
    );
}

#[test]
fn job_selector_generation() {
    let uid = "5c3b2a19-0000-4000-8000-00000000000a";
    let job = json!({"metadata": {"name": "pi", "namespace": "default", "uid": uid},
        "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "pi.wasm"}]}}}});
    let out = defaulted::<Job>(job.clone());
    assert_eq!(out["spec"]["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}));
    assert_eq!(
        out["spec"]["template"]["metadata"]["labels"],
        json!({"app": "pi", "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
               "controller-uid": uid, "job-name": "pi"})
    );
    // The Job's own labels come from the template as the client wrote it.
    assert_eq!(out["metadata"]["labels"], json!({"app": "pi"}));
    assert!(decode::<Job>(out).validate().is_empty());
    // Without template labels, the Job ends up with the generated ones, as it does in Kubernetes.
    let bare = defaulted::<Job>(json!({"metadata": {"name": "pi", "namespace": "d", "uid": uid},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "pi.wasm"}]}}}}));
    assert_eq!(bare["metadata"]["labels"]["batch.kubernetes.io/job-name"], "pi");
    assert!(decode::<Job>(bare).validate().is_empty());
    // Manual selectors are left alone.
    let manual = defaulted::<Job>(json!({"metadata": {"name": "pi", "namespace": "d", "uid": uid},
        "spec": {"manualSelector": true, "selector": {"matchLabels": {"app": "pi"}}, "template": {"metadata": {"labels": {"app": "pi"}}}}}));
    assert_eq!(manual["spec"]["selector"], json!({"matchLabels": {"app": "pi"}}));
    assert_eq!(manual["spec"]["template"]["metadata"]["labels"], json!({"app": "pi"}));
    // Without a uid there is nothing to generate.
    let no_uid =
        defaulted::<Job>(json!({"metadata": {"name": "pi", "namespace": "d"}, "spec": {"template": {}}}));
    assert!(no_uid["spec"].get("selector").is_none());
}

#[test]
fn service_defaults() {
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}]}});
    assert_eq!(
        defaulted::<Service>(svc),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
               "spec": {"selector": {"app": "web"}, "type": "ClusterIP", "sessionAffinity": "None",
                        "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "SingleStack",
                        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                                  {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"}]},
               "status": {"loadBalancer": {}}})
    );
    let lb = defaulted::<Service>(
        json!({"metadata": {"name": "lb", "namespace": "d"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "targetPort": 0}],
        "sessionAffinity": "ClientIP"}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(lb["spec"]["ports"][0]["targetPort"], 443);
    assert_eq!(lb["spec"]["sessionAffinityConfig"], json!({"clientIP": {"timeoutSeconds": 10800}}));
    let external = defaulted::<Service>(
        json!({"metadata": {"name": "db", "namespace": "d"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
    );
    assert!(external["spec"].get("ipFamilyPolicy").is_none());
    assert!(external["spec"].get("internalTrafficPolicy").is_none());
    let none_affinity = defaulted::<Service>(
        json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}}}),
    );
    assert!(none_affinity["spec"].get("sessionAffinityConfig").is_none());
    let external_ips = defaulted::<Service>(
        json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"externalIPs": ["203.0.113.7"]}}),
    );
    assert_eq!(external_ips["spec"]["externalTrafficPolicy"], "Cluster");
}

#[test]
fn service_updates_keep_allocations_and_drop_stale_fields() {
    let stored: Service = decode(json!({"metadata": {"name": "web", "namespace": "d"}, "spec": {
        "type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
        "externalTrafficPolicy": "Cluster", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080}]}}));
    // A replace with the original manifest keeps the cluster IP and node port.
    let mut replaced: Service = decode(
        json!({"metadata": {"name": "web", "namespace": "d"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
    );
    replaced.apply_defaults();
    replaced.prepare_update(&stored);
    let spec = replaced.spec.as_ref().expect("test data");
    assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.10"));
    assert_eq!(spec.cluster_ips.as_deref(), Some(&["10.96.0.10".to_owned()][..]));
    assert_eq!(spec.ip_families.as_deref(), Some(&["IPv4".to_owned()][..]));
    assert_eq!(spec.ports.as_ref().expect("test data")[0].node_port, Some(30080));
    assert!(replaced.validate_update(&stored).is_empty(), "{:?}", replaced.validate_update(&stored));
    // Switching to ExternalName drops what only cluster-IP types use.
    let mut external: Service = decode(serde_json::to_value(&stored).expect("test data"));
    external.spec.as_mut().expect("test data").type_ = Some("ExternalName".into());
    external.spec.as_mut().expect("test data").external_name = Some("db.example.com".into());
    external.apply_defaults();
    external.prepare_update(&stored);
    let spec = external.spec.as_ref().expect("test data");
    assert_eq!(
        (
            spec.cluster_ip.as_ref(),
            spec.cluster_ips.as_ref(),
            spec.ip_families.as_ref(),
            spec.ip_family_policy.as_ref()
        ),
        (None, None, None, None)
    );
    assert_eq!(spec.ports.as_ref().expect("test data")[0].node_port, None);
    assert_eq!(spec.external_traffic_policy, None);
    assert!(external.validate_update(&stored).is_empty(), "{:?}", external.validate_update(&stored));
    // Switching to ClusterIP drops the unchanged node port and traffic policy.
    let mut cluster_ip: Service = decode(serde_json::to_value(&stored).expect("test data"));
    cluster_ip.spec.as_mut().expect("test data").type_ = Some("ClusterIP".into());
    cluster_ip.apply_defaults();
    cluster_ip.prepare_update(&stored);
    assert!(cluster_ip.validate_update(&stored).is_empty(), "{:?}", cluster_ip.validate_update(&stored));
}

#[test]
fn namespace_defaults() {
    assert_eq!(
        defaulted::<Namespace>(json!({"metadata": {"name": "team-a"}})),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
               "status": {"phase": "Active"}})
    );
    let relabelled = defaulted::<Namespace>(
        json!({"metadata": {"name": "b", "labels": {"kubernetes.io/metadata.name": "a", "x": "y"}}, "status": {"phase": "Terminating"}}),
    );
    assert_eq!(relabelled["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "b", "x": "y"}));
    assert_eq!(relabelled["status"]["phase"], "Terminating");
    let unnamed = defaulted::<Namespace>(json!({"metadata": {"generateName": "ns-"}}));
    assert!(unnamed["metadata"].get("labels").is_none());
}

#[test]
fn secret_defaults_and_string_data() {
    let out = defaulted::<Secret>(json!({"metadata": {"name": "s", "namespace": "d"},
        "data": {"a": "b2xk", "b": "Yg=="}, "stringData": {"a": "new", "c": "see"}}));
    assert_eq!(
        out,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"}, "type": "Opaque",
               "data": {"a": "bmV3", "b": "Yg==", "c": "c2Vl"}})
    );
    let mut secret: Secret =
        decode(json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}, "type": "kubernetes.io/tls"}));
    fold_string_data(&mut secret);
    assert_eq!(secret.string_data, None);
    assert_eq!(secret.data.as_ref().and_then(|d| d.get("k")).map(|v| v.0.as_slice()), Some(&b"v"[..]));
    secret.apply_defaults();
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let mut empty: Secret = decode(json!({"metadata": {"name": "s"}, "stringData": {}}));
    fold_string_data(&mut empty);
    assert_eq!((empty.string_data, empty.data), (None, None));
}

#[test]
fn other_kind_defaults() {
    let policy = defaulted::<NetworkPolicy>(json!({"metadata": {"name": "p", "namespace": "d"},
        "spec": {"ingress": [{"ports": [{"port": 80}]}], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}}));
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(policy["spec"]["podSelector"], json!({}));
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");
    assert_eq!(policy["spec"]["egress"][0]["ports"][0]["protocol"], "UDP");
    let ingress_only = defaulted::<NetworkPolicy>(json!({"metadata": {"name": "p", "namespace": "d"}}));
    assert_eq!(ingress_only["spec"], json!({"podSelector": {}, "policyTypes": ["Ingress"]}));
    let slice = defaulted::<EndpointSlice>(
        json!({"metadata": {"name": "s", "namespace": "d"}, "addressType": "IPv4", "endpoints": [], "ports": [{"port": 80}]}),
    );
    assert_eq!(slice["ports"], json!([{"name": "", "port": 80, "protocol": "TCP"}]));
    let class = defaulted::<PriorityClass>(json!({"metadata": {"name": "high"}, "value": 1000}));
    assert_eq!(class["preemptionPolicy"], "PreemptLowerPriority");
    let node = defaulted::<Node>(json!({"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "4"}}}));
    assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));
    let bare_node = defaulted::<Node>(json!({"metadata": {"name": "n"}}));
    assert!(bare_node.get("status").is_none());
    // Kinds without defaults come back unchanged.
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"}, "data": {"k": "v"}});
    assert_eq!(defaulted::<ConfigMap>(config_map.clone()), config_map);
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "d"}, "spec": {"minAvailable": 1}});
    assert_eq!(defaulted::<PodDisruptionBudget>(pdb.clone()), pdb);
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "d"}});
    assert_eq!(defaulted::<ServiceAccount>(account.clone()), account);
}

#[test]
fn defaulting_is_idempotent_for_every_kind() {
    let uid = "5c3b2a19-0000-4000-8000-00000000000a";
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web.wasm",
        "ports": [{"containerPort": 80}], "livenessProbe": {"httpGet": {"port": 80}},
        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"cpu": "1"}}}], "volumes": [{"name": "v"}, {"name": "c", "configMap": {"name": "c"}}]}});
    assert_idempotent::<Pod>(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": template["spec"].clone()}),
    );
    assert_idempotent::<Pod>(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 1}]}]}}),
    );
    assert_idempotent::<Deployment>(
        json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template.clone()}}),
    );
    assert_idempotent::<ReplicaSet>(
        json!({"metadata": {"name": "r", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template.clone()}}),
    );
    assert_idempotent::<ReplicaSet>(
        json!({"metadata": {"name": "r", "namespace": "n"}, "spec": {"selector": {}}}),
    );
    assert_idempotent::<DaemonSet>(
        json!({"metadata": {"name": "ds", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template.clone()}}),
    );
    assert_idempotent::<Job>(
        json!({"metadata": {"name": "j", "namespace": "n", "uid": uid}, "spec": {"template": template.clone()}}),
    );
    assert_idempotent::<Job>(
        json!({"metadata": {"name": "j", "namespace": "n", "uid": uid}, "spec": {"template": {"spec": {"containers": []}}}}),
    );
    assert_idempotent::<Job>(json!({"metadata": {"name": "j", "namespace": "n"}}));
    assert_idempotent::<Service>(
        json!({"metadata": {"name": "s", "namespace": "n"}, "spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}}),
    );
    assert_idempotent::<Service>(json!({"metadata": {"name": "s", "namespace": "n"}}));
    assert_idempotent::<Namespace>(json!({"metadata": {"name": "team"}}));
    assert_idempotent::<Secret>(
        json!({"metadata": {"name": "s", "namespace": "n"}, "stringData": {"a": "b"}}),
    );
    assert_idempotent::<ConfigMap>(json!({"metadata": {"name": "c", "namespace": "n"}, "data": {"a": "b"}}));
    assert_idempotent::<Node>(json!({"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "1"}}}));
    assert_idempotent::<Event>(
        json!({"metadata": {"name": "e", "namespace": "n"}, "involvedObject": {"kind": "Pod", "name": "p"}}),
    );
    assert_idempotent::<ServiceAccount>(json!({"metadata": {"name": "sa", "namespace": "n"}}));
    assert_idempotent::<NetworkPolicy>(
        json!({"metadata": {"name": "np", "namespace": "n"}, "spec": {"egress": [{}]}}),
    );
    assert_idempotent::<Lease>(
        json!({"metadata": {"name": "l", "namespace": "n"}, "spec": {"holderIdentity": "x"}}),
    );
    assert_idempotent::<EndpointSlice>(
        json!({"metadata": {"name": "es", "namespace": "n"}, "addressType": "IPv4", "endpoints": [], "ports": [{"port": 1}]}),
    );
    assert_idempotent::<PriorityClass>(json!({"metadata": {"name": "pc"}, "value": 1}));
    assert_idempotent::<PodDisruptionBudget>(
        json!({"metadata": {"name": "pdb", "namespace": "n"}, "spec": {"maxUnavailable": "10%"}}),
    );
}

#[test]
fn defaulted_manifests_validate() {
    let uid = "5c3b2a19-0000-4000-8000-00000000000a";
    let mut pod: Pod = decode(
        json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c", "image": "c.wasm"}]}}),
    );
    pod.apply_defaults();
    assert!(pod.validate().is_empty());
    let mut deployment: Deployment = decode(
        json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web.wasm"}]}}}}),
    );
    deployment.apply_defaults();
    assert!(deployment.validate().is_empty());
    let mut job: Job = decode(json!({"metadata": {"name": "j", "namespace": "n", "uid": uid},
        "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "j", "image": "j.wasm"}]}}}}));
    job.apply_defaults();
    assert!(job.validate().is_empty(), "{:?}", job.validate());
    let mut service: Service = decode(
        json!({"metadata": {"name": "s", "namespace": "n"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}),
    );
    service.apply_defaults();
    assert!(service.validate().is_empty());
}

/// Defaults, validates and validates an update of `value` as `T`, which must not panic.
fn exercise<T>(value: Value)
where
    T: DeserializeOwned + Serialize + ApplyDefaults + Validate + Clone,
{
    let raw: T = decode(value);
    let _ = raw.validate();
    let mut defaulted = raw.clone();
    defaulted.apply_defaults();
    let _ = defaulted.validate();
    let mut updated = defaulted.clone();
    updated.apply_defaults();
    updated.prepare_update(&raw);
    let _ = updated.validate_update(&raw);
    let _ = raw.validate_update(&defaulted);
}

#[test]
fn empty_and_odd_objects_never_panic() {
    let odd_meta = json!({"name": "é-", "generateName": "-", "namespace": "", "labels": {"": ""}, "annotations": {"/": ""},
                          "finalizers": ["", "/", "a/b/c"], "ownerReferences": [{"apiVersion": "/", "kind": "", "name": "", "uid": ""}],
                          "generation": -1});
    macro_rules! every_kind {
        ($($kind:ty),* $(,)?) => {$(
            exercise::<$kind>(json!({}));
            exercise::<$kind>(json!({"metadata": odd_meta.clone()}));
        )*};
    }
    every_kind!(
        Pod,
        Service,
        ConfigMap,
        Secret,
        Namespace,
        Node,
        Event,
        ServiceAccount,
        Deployment,
        ReplicaSet,
        DaemonSet,
        Job,
        NetworkPolicy,
        Lease,
        EndpointSlice,
        PriorityClass,
        PodDisruptionBudget,
    );
    exercise::<Service>(
        json!({"spec": {"type": "", "clusterIP": "None", "clusterIPs": ["None", "::1", "x", "1.1.1.1"],
        "ports": [{"port": -1, "nodePort": -5, "targetPort": ""}, {"port": 0, "targetPort": "x".repeat(300)}],
        "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": i32::MIN}},
        "externalTrafficPolicy": "", "loadBalancerSourceRanges": ["::/200", "1.2.3.4/-1", ""], "ipFamilies": ["", ""]}}),
    );
    exercise::<Deployment>(
        json!({"spec": {"replicas": i32::MIN, "minReadySeconds": i32::MAX, "progressDeadlineSeconds": i32::MIN,
        "strategy": {"type": "", "rollingUpdate": {"maxSurge": "%", "maxUnavailable": "99999999999999999999%"}},
        "selector": {"matchExpressions": [{"key": "", "operator": ""}]}, "template": {"spec": {"containers": [{"name": ""}]}}}}),
    );
    exercise::<DaemonSet>(
        json!({"spec": {"updateStrategy": {"rollingUpdate": {"maxSurge": "-1%", "maxUnavailable": ""}}}}),
    );
    exercise::<Job>(
        json!({"metadata": {"uid": "u"}, "spec": {"completionMode": "Indexed", "completions": i32::MAX,
        "parallelism": -1, "backoffLimitPerIndex": -1, "maxFailedIndexes": i32::MAX, "template": {}}}),
    );
    exercise::<Node>(
        json!({"spec": {"podCIDRs": ["", "1.2.3.4/33", "::/0", "::/0"], "taints": [{"key": "", "effect": ""}, {"key": "", "effect": ""}]},
        "status": {"capacity": {"cpu": "-1e999", "": "."}, "addresses": [{"type": "a", "address": "b"}, {"type": "a", "address": "b"}]}}),
    );
    exercise::<Secret>(
        json!({"type": "kubernetes.io/dockercfg", "data": {".dockercfg": "AA=="}, "stringData": {"": ""}}),
    );
    exercise::<EndpointSlice>(
        json!({"addressType": "FQDN", "endpoints": [{"addresses": ["", ".", "a..b", "-a.b"]}], "ports": [{"name": ""}, {"name": ""}]}),
    );
    exercise::<NetworkPolicy>(
        json!({"spec": {"ingress": [{"from": [{"ipBlock": {"cidr": "::/0", "except": ["", "::/0"]}}],
        "ports": [{"port": "", "endPort": i32::MIN}]}], "policyTypes": ["", "", "", ""]}}),
    );
    exercise::<Event>(
        json!({"eventTime": "2024-01-01T00:00:00.000000Z", "reportingComponent": "/", "involvedObject": {}}),
    );
}
