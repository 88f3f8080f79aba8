//! The decoder against independent references: `k8s-pb`'s prost types (tags and wire types), `k8s-openapi`'s
//! serde types (JSON names and shapes), and bodies captured from kubectl 1.37.

use k8s_pb::api::{apps, autoscaling, batch, coordination, core, discovery, networking, policy, scheduling};
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::schema::{Label, Message, Object, Type, Wrapper};
use super::{Error, Expected, decode, encode, messages};
use crate::registry::KINDS;

/// A value for every field of a message and of the messages it holds, none of them Go's zero value.
fn populated(message: &'static Message, counter: &mut i64, depth: usize) -> Map<String, Value> {
    let mut object = Map::new();
    for field in message.fields {
        if field.json.is_empty() {
            if let Type::Message(inner) = field.ty {
                object.extend(populated(inner, counter, depth + 1));
            }
            continue;
        }
        let value = match field.label {
            Label::Single => sample(field.ty, counter, depth),
            Label::Repeated => json!([sample(field.ty, counter, depth)]),
            Label::Map => json!({"key": sample(field.ty, counter, depth)}),
        };
        object.insert(field.json.to_owned(), value);
    }
    object
}

fn sample(ty: Type, counter: &mut i64, depth: usize) -> Value {
    *counter += 1;
    match ty {
        Type::String => json!(format!("s{counter}")),
        Type::Bytes => json!(super::wrappers::base64(format!("b{counter}").as_bytes())),
        Type::Bool => json!(true),
        Type::Int32 | Type::Int64 => json!(*counter),
        Type::Double => json!(f64::from(*counter as i32) + 0.5),
        Type::Message(inner) => {
            assert!(depth < 32, "{} nests too deeply", inner.name);
            Value::Object(populated(inner, counter, depth + 1))
        }
        Type::Wrapper(Wrapper::Time) => json!("2024-01-02T03:04:05Z"),
        Type::Wrapper(Wrapper::MicroTime) => json!("2024-01-02T03:04:05.123456Z"),
        Type::Wrapper(Wrapper::Duration) => json!("1m30s"),
        Type::Wrapper(Wrapper::Quantity) => json!(format!("{counter}m")),
        // Both forms of IntOrString, in turn.
        Type::Wrapper(Wrapper::IntOrString) if *counter % 2 == 0 => json!(*counter),
        Type::Wrapper(Wrapper::IntOrString) => json!(format!("port{counter}")),
        Type::Wrapper(Wrapper::RawExtension) => json!({"apiVersion": "v1", "kind": "List", "n": *counter}),
        Type::Wrapper(Wrapper::FieldsV1) => json!({"f:metadata": {"f:labels": {}}}),
        Type::Wrapper(Wrapper::ExtraValue) => json!(["a", format!("n{}", *counter)]),
    }
}

/// The object as the k8s-openapi type of its kind decodes and re-encodes it.
fn normalized(object: &Object, value: Value) -> Value {
    fn typed<T: DeserializeOwned + Serialize>(value: Value) -> Value {
        serde_json::to_value(serde_json::from_value::<T>(value).expect("k8s-openapi decodes it"))
            .expect("k8s-openapi encodes it")
    }
    use k8s_openapi::api as o;
    if let Some(rt) = KINDS.iter().find(|k| k.api_version() == object.api_version && k.kind == object.kind) {
        return rt.typed.normalize(value).expect("k8s-openapi decodes it");
    }
    match (object.api_version, object.kind) {
        ("autoscaling/v1", "Scale") => typed::<o::autoscaling::v1::Scale>(value),
        ("v1", "Binding") => typed::<o::core::v1::Binding>(value),
        ("authentication.k8s.io/v1", "TokenRequest") => typed::<o::authentication::v1::TokenRequest>(value),
        ("policy/v1", "Eviction") => typed::<o::policy::v1::Eviction>(value),
        ("meta.k8s.io/v1", "DeleteOptions") => {
            typed::<k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions>(value)
        }
        (api_version, kind) => panic!("add the k8s-openapi type of {api_version} {kind} to this test"),
    }
}

/// The message decoded by prost into the k8s-pb type of its kind, and encoded again by prost.
fn through_prost(object: &Object, raw: &[u8]) -> Vec<u8> {
    fn again<T: prost::Message + Default>(raw: &[u8]) -> Vec<u8> {
        T::decode(raw).expect("prost decodes the encoder's bytes").encode_to_vec()
    }
    match (object.api_version, object.kind) {
        ("v1", "Namespace") => again::<core::v1::Namespace>(raw),
        ("v1", "Pod") => again::<core::v1::Pod>(raw),
        ("v1", "Binding") => again::<core::v1::Binding>(raw),
        ("v1", "Service") => again::<core::v1::Service>(raw),
        ("v1", "ConfigMap") => again::<core::v1::ConfigMap>(raw),
        ("v1", "Secret") => again::<core::v1::Secret>(raw),
        ("v1", "ServiceAccount") => again::<core::v1::ServiceAccount>(raw),
        ("v1", "Node") => again::<core::v1::Node>(raw),
        ("v1", "Event") => again::<core::v1::Event>(raw),
        ("apps/v1", "Deployment") => again::<apps::v1::Deployment>(raw),
        ("apps/v1", "ReplicaSet") => again::<apps::v1::ReplicaSet>(raw),
        ("apps/v1", "DaemonSet") => again::<apps::v1::DaemonSet>(raw),
        ("autoscaling/v1", "Scale") => again::<autoscaling::v1::Scale>(raw),
        ("batch/v1", "Job") => again::<batch::v1::Job>(raw),
        ("networking.k8s.io/v1", "NetworkPolicy") => again::<networking::v1::NetworkPolicy>(raw),
        ("coordination.k8s.io/v1", "Lease") => again::<coordination::v1::Lease>(raw),
        ("discovery.k8s.io/v1", "EndpointSlice") => again::<discovery::v1::EndpointSlice>(raw),
        ("scheduling.k8s.io/v1", "PriorityClass") => again::<scheduling::v1::PriorityClass>(raw),
        ("policy/v1", "PodDisruptionBudget") => again::<policy::v1::PodDisruptionBudget>(raw),
        ("policy/v1", "Eviction") => again::<policy::v1::Eviction>(raw),
        ("meta.k8s.io/v1", "DeleteOptions") => again::<meta::DeleteOptions>(raw),
        ("rbac.authorization.k8s.io/v1", "Role") => again::<k8s_pb::api::rbac::v1::Role>(raw),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => again::<k8s_pb::api::rbac::v1::ClusterRole>(raw),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => again::<k8s_pb::api::rbac::v1::RoleBinding>(raw),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            again::<k8s_pb::api::rbac::v1::ClusterRoleBinding>(raw)
        }
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            again::<k8s_pb::api::authorization::v1::SelfSubjectAccessReview>(raw)
        }
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => {
            again::<k8s_pb::api::authorization::v1::SelfSubjectRulesReview>(raw)
        }
        ("authorization.k8s.io/v1", "SubjectAccessReview") => {
            again::<k8s_pb::api::authorization::v1::SubjectAccessReview>(raw)
        }
        ("authorization.k8s.io/v1", "LocalSubjectAccessReview") => {
            again::<k8s_pb::api::authorization::v1::LocalSubjectAccessReview>(raw)
        }
        ("authentication.k8s.io/v1", "SelfSubjectReview") => {
            again::<k8s_pb::api::authentication::v1::SelfSubjectReview>(raw)
        }
        ("authentication.k8s.io/v1", "TokenReview") => {
            again::<k8s_pb::api::authentication::v1::TokenReview>(raw)
        }
        ("authentication.k8s.io/v1", "TokenRequest") => {
            again::<k8s_pb::api::authentication::v1::TokenRequest>(raw)
        }
        ("certificates.k8s.io/v1", "CertificateSigningRequest") => {
            again::<k8s_pb::api::certificates::v1::CertificateSigningRequest>(raw)
        }
        (api_version, kind) => panic!("add the k8s-pb type of {api_version} {kind} to this test"),
    }
}

/// A Kubernetes protobuf body around a message, as client-go writes it.
fn body(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta { api_version: Some(api_version.into()), kind: Some(kind.into()) }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    [b"k8s\0".as_slice(), &unknown.encode_to_vec()].concat()
}

fn decode_as(api_version: &str, kind: &str, bytes: &[u8]) -> Result<Value, Error> {
    decode(bytes, Expected { kind, api_versions: &[api_version] })
}

/// Every field of every kind served: JSON → our encoder → prost (k8s-pb) → our decoder gives the JSON back,
/// and k8s-openapi's typed normalisation keeps every field, so the JSON names and shapes are the real ones.
#[test]
fn every_field_of_every_kind_round_trips() {
    for object in messages::OBJECTS {
        let mut counter = 0;
        let mut value = populated(object.message, &mut counter, 0);
        value.insert("apiVersion".into(), json!(object.api_version));
        value.insert("kind".into(), json!(object.kind));
        let value = Value::Object(value);
        let what = format!("{} {}", object.api_version, object.kind);
        assert_eq!(normalized(object, value.clone()), value, "{what}: k8s-openapi drops or changes fields");

        let encoded = encode(&value).expect("encodes");
        let envelope = Unknown::decode(&encoded[4..]).expect("prost decodes the envelope");
        let type_meta = envelope.type_meta.clone().unwrap_or_default();
        assert_eq!(
            (type_meta.api_version.as_deref(), type_meta.kind.as_deref()),
            (Some(object.api_version), Some(object.kind))
        );
        let raw = through_prost(object, &envelope.raw.unwrap_or_default());
        let decoded = decode_as(object.api_version, object.kind, &body(object.api_version, object.kind, raw));
        assert_eq!(decoded.as_ref(), Ok(&value), "{what}");
    }
}

#[test]
fn every_body_the_server_takes_has_a_schema() {
    for rt in KINDS {
        assert!(super::object(&rt.api_version(), rt.kind).is_some(), "{} {}", rt.api_version(), rt.kind);
        for sub in rt.subresources.iter().filter(|s| super::generate::takes_a_body(**s)) {
            let (group, version, kind) = sub.response_kind(rt);
            let api_version =
                if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
            assert!(super::object(&api_version, kind).is_some(), "{api_version} {kind}");
        }
    }
    assert!(super::object("meta.k8s.io/v1", "DeleteOptions").is_some());
}

/// `kubectl create configmap x --from-literal=a=b`, as kubectl 1.37 sent it.
const KUBECTL_CONFIGMAP: &str = "\
    6b3873000a0f0a0276311209436f6e6669674d6170121b0a110a017812001a0022002a0032003800420012060a01611201621a002200";

/// `kubectl create deployment web --image=/opt/web.wasm --replicas=2`, as kubectl 1.37 sent it.
const KUBECTL_DEPLOYMENT: &str = "\
    6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bd010a1f0a0377656212001a0022002a003200380042005a0a0a03\
    6170701203776562128b010802120c0a0a0a0361707012037765621a710a1c0a0012001a0022002a003200380042005a0a0a0361707012\
    03776562125112330a0e7765622d7761736d2d3974716a6c120d2f6f70742f7765622e7761736d2a0042006a0072008001008801009001\
    00a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a\
    002200";

fn unhex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

/// What kubectl's bodies decode to is what `kubectl create ... --dry-run=client -o json` prints: Go writes
/// every plain field even when empty, and those zeros must vanish again.
#[test]
fn kubectl_bodies_decode_to_kubectl_json() {
    let configmap = decode_as("v1", "ConfigMap", &unhex(KUBECTL_CONFIGMAP)).unwrap();
    assert_eq!(
        configmap,
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}, "data": {"a": "b"}})
    );
    let deployment = decode_as("apps/v1", "Deployment", &unhex(KUBECTL_DEPLOYMENT)).unwrap();
    assert_eq!(
        deployment,
        json!({"kind": "Deployment", "apiVersion": "apps/v1",
               "metadata": {"name": "web", "labels": {"app": "web"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "web-wasm-9tqjl", "image": "/opt/web.wasm",
                                                              "resources": {}}]}},
                        "strategy": {}},
               "status": {}})
    );
}

/// Go's zero-value rules, with bodies built by prost from k8s-pb types (independent of our encoder): a
/// present zero is kept for pointer fields and dropped for plain `omitempty` fields; absent is omitted.
#[test]
fn zero_values_follow_go() {
    let deployment = apps::v1::Deployment {
        metadata: Some(meta::ObjectMeta {
            name: Some("web".into()),
            namespace: Some(String::new()),
            uid: Some(String::new()),
            generation: Some(0),
            creation_timestamp: Some(meta::Time::default()),
            deletion_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        spec: Some(apps::v1::DeploymentSpec {
            replicas: Some(0),
            min_ready_seconds: Some(0),
            paused: Some(false),
            strategy: Some(apps::v1::DeploymentStrategy {
                r#type: Some(String::new()),
                rolling_update: None,
            }),
            template: Some(core::v1::PodTemplateSpec {
                metadata: None,
                spec: Some(core::v1::PodSpec {
                    containers: vec![core::v1::Container {
                        name: Some("web".into()),
                        image: Some(String::new()),
                        stdin: Some(false),
                        ports: vec![core::v1::ContainerPort {
                            container_port: Some(0),
                            host_port: Some(0),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    host_network: Some(false),
                    termination_grace_period_seconds: Some(0),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let decoded =
        decode_as("apps/v1", "Deployment", &body("apps/v1", "Deployment", deployment.encode_to_vec()));
    assert_eq!(
        decoded.unwrap(),
        // `paused`, `minReadySeconds`, `image`, `stdin`, `hostNetwork`, `hostPort`, `namespace`, `uid` and
        // `generation` are plain Go values: their zeros are unset. The pointers keep theirs.
        json!({"kind": "Deployment", "apiVersion": "apps/v1",
               "metadata": {"name": "web", "deletionGracePeriodSeconds": 0},
               "spec": {"replicas": 0, "strategy": {},
                        "template": {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 0}]}],
                                              "terminationGracePeriodSeconds": 0}}}})
    );
}

/// Maps of strings, bytes and quantities, lists, `IntOrString`, `MicroTime` and `optional` scalars in real
/// objects, built by prost.
#[test]
fn maps_lists_and_wrappers_in_objects() {
    let secret = core::v1::Secret {
        metadata: Some(meta::ObjectMeta { name: Some("s".into()), ..Default::default() }),
        data: [("bin".to_owned(), vec![0, 255, 1]), ("empty".to_owned(), vec![])].into(),
        string_data: [("k".to_owned(), "v".to_owned())].into(),
        r#type: Some("Opaque".into()),
        immutable: Some(false),
    };
    assert_eq!(
        decode_as("v1", "Secret", &body("v1", "Secret", secret.encode_to_vec())).unwrap(),
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"},
               "data": {"bin": "AP8B", "empty": ""}, "stringData": {"k": "v"}, "type": "Opaque",
               "immutable": false})
    );

    let quantity = |s: &str| Quantity { string: Some(s.into()) };
    let pod = core::v1::Pod {
        metadata: Some(meta::ObjectMeta { name: Some("p".into()), ..Default::default() }),
        spec: Some(core::v1::PodSpec {
            containers: vec![core::v1::Container {
                name: Some("c".into()),
                args: vec!["a".into(), String::new(), "c".into()],
                resources: Some(core::v1::ResourceRequirements {
                    limits: [("cpu".to_owned(), quantity("500m")), ("memory".to_owned(), quantity("1Gi"))]
                        .into(),
                    ..Default::default()
                }),
                liveness_probe: Some(core::v1::Probe {
                    handler: Some(core::v1::ProbeHandler {
                        http_get: Some(core::v1::HttpGetAction {
                            port: Some(IntOrString {
                                r#type: Some(1),
                                int_val: Some(0),
                                str_val: Some("http".into()),
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            security_context: Some(core::v1::PodSecurityContext {
                supplemental_groups: vec![1, 2],
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: Some(core::v1::PodStatus {
            start_time: Some(meta::Time { seconds: Some(1_700_000_000), nanos: Some(5) }),
            ..Default::default()
        }),
    };
    assert_eq!(
        decode_as("v1", "Pod", &body("v1", "Pod", pod.encode_to_vec())).unwrap(),
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "args": ["a", "", "c"],
                                        "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                                        "livenessProbe": {"httpGet": {"port": "http"}}}],
                        "securityContext": {"supplementalGroups": [1, 2]}},
               "status": {"startTime": "2023-11-14T22:13:20Z"}})
    );

    let lease = coordination::v1::Lease {
        metadata: Some(meta::ObjectMeta { name: Some("l".into()), ..Default::default() }),
        spec: Some(coordination::v1::LeaseSpec {
            holder_identity: Some("node-1".into()),
            lease_duration_seconds: Some(0),
            renew_time: Some(meta::MicroTime { seconds: Some(1_700_000_000), nanos: Some(123_456_789) }),
            ..Default::default()
        }),
    };
    assert_eq!(
        decode_as(
            "coordination.k8s.io/v1",
            "Lease",
            &body("coordination.k8s.io/v1", "Lease", lease.encode_to_vec())
        )
        .unwrap(),
        json!({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {"name": "l"},
               "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 0,
                        "renewTime": "2023-11-14T22:13:20.123456Z"}})
    );
}

#[test]
fn the_envelope_is_checked() {
    let configmap = unhex(KUBECTL_CONFIGMAP);
    let malformed = |result: Result<Value, Error>, what: &str| match result {
        Err(Error::Malformed(message)) => assert!(message.contains(what), "{message}"),
        other => panic!("expected a malformed-body error about {what:?}, got {other:?}"),
    };
    malformed(decode_as("v1", "ConfigMap", b""), "magic");
    malformed(decode_as("v1", "ConfigMap", &[b"k8x\0", &configmap[4..]].concat()), "magic");
    malformed(decode_as("v1", "ConfigMap", br#"{"kind":"ConfigMap"}"#), "magic");
    malformed(
        decode_as("v1", "Secret", &configmap),
        "holds a v1 ConfigMap, but this URL expects a v1 Secret",
    );
    malformed(decode_as("apps/v1", "ConfigMap", &configmap), "expects a apps/v1 ConfigMap");
    malformed(decode_as("v1", "ConfigMap", &configmap[..20]), "claims");
    // A known field with the wrong wire type, and a string that is not UTF-8.
    malformed(
        decode_as("v1", "ConfigMap", &body("v1", "ConfigMap", vec![0x08, 1])),
        "metadata: expected a message",
    );
    malformed(
        decode_as("v1", "ConfigMap", &body("v1", "ConfigMap", vec![0x0a, 3, 0x0a, 1, 0xff])),
        "metadata.name",
    );
    // A body that names no kind is taken as the URL's, as kube-apiserver does.
    let unnamed =
        [b"k8s\0".as_slice(), &Unknown { raw: Some(vec![]), ..Default::default() }.encode_to_vec()].concat();
    assert_eq!(decode_as("v1", "ConfigMap", &unnamed), Ok(json!({"kind": "ConfigMap", "apiVersion": "v1"})));
    let gzip = Unknown { content_encoding: Some("gzip".into()), ..Default::default() };
    assert!(matches!(
        decode_as("v1", "ConfigMap", &[b"k8s\0".as_slice(), &gzip.encode_to_vec()].concat()),
        Err(Error::Unsupported(_))
    ));
    let options = ["apps/v1", "meta.k8s.io/v1", "v1"];
    let delete = body(
        "v1",
        "DeleteOptions",
        meta::DeleteOptions { grace_period_seconds: Some(0), ..Default::default() }.encode_to_vec(),
    );
    assert_eq!(
        decode(&delete, Expected { kind: "DeleteOptions", api_versions: &options }),
        Ok(json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}))
    );
}

/// Nothing a client sends makes the decoder panic: every prefix, every single-bit flip and random bytes.
#[test]
fn mangled_bodies_never_panic() {
    let deployment = unhex(KUBECTL_DEPLOYMENT);
    for len in 0..deployment.len() {
        let _ = decode_as("apps/v1", "Deployment", &deployment[..len]);
    }
    // Cut inside the typed message: an error, not a partial object.
    assert!(decode_as("apps/v1", "Deployment", &deployment[..100]).is_err());
    for i in 0..deployment.len() {
        for bit in 0..8 {
            let mut flipped = deployment.clone();
            flipped[i] ^= 1 << bit;
            let _ = decode_as("apps/v1", "Deployment", &flipped);
        }
    }
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..2000 {
        let len = round % 200;
        let raw: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let _ = decode_as("v1", "Pod", &body("v1", "Pod", raw));
    }
}
