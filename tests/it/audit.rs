//! The audit log: one audit.k8s.io/v1 Event line per request with verb, object, code, source and times; levels
//! from an audit Policy; never a Secret's value; rotated at its size.

use std::path::Path;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use tests::{PATIENCE, TestServer, eventually};

fn events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("each line is one JSON event")).collect()
}

/// Waits until the log holds an event for `verb` on `resource` named `name`, and returns it.
async fn event_for(path: &Path, verb: &str, resource: &str, name: Option<&str>) -> Value {
    eventually(&format!("an audit event for {verb} {resource}"), PATIENCE, async || {
        events(path).into_iter().find(|e| {
            e["verb"] == verb
                && e["objectRef"]["resource"] == resource
                && e["objectRef"]["name"].as_str() == name
        })
    })
    .await
}

#[tokio::test]
async fn every_request_is_audited_without_secret_values() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.log");
    let server = TestServer::start_with(|c| c.audit = Some(apiserver::AuditConfig::new(&log))).await;
    let client = server.client();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let map = json!({"metadata": {"name": "settings"}, "data": {"mode": "fast"}});
    maps.create(&PostParams::default(), &serde_json::from_value(map).unwrap()).await.unwrap();
    maps.get("settings").await.unwrap();
    maps.list(&ListParams::default()).await.unwrap();
    assert!(maps.get("missing").await.is_err());
    maps.delete("settings", &DeleteParams::default()).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let secret = json!({"metadata": {"name": "db"}, "stringData": {"password": "audit-never-sees-this"}});
    secrets.create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.unwrap();
    secrets.get("db").await.unwrap();
    let forbidden: Api<Secret> = Api::namespaced(server.client_as("mallory", &["interns"]), "default");
    assert!(forbidden.get("db").await.is_err());
    let request = http::Request::get("/api/v1/namespaces/default/configmaps?limit=7")
        .header("Impersonate-User", "carol")
        .body(Vec::new())
        .unwrap();
    // carol may not list ConfigMaps; the admin acting as her is refused as she would be.
    assert!(server.client().request_text(request).await.is_err());
    let nobody: Api<Secret> = Api::namespaced(server.anonymous_client(), "default");
    assert!(nobody.list(&ListParams::default()).await.is_err());

    let created = event_for(&log, "create", "configmaps", None).await;
    assert_eq!(created["apiVersion"], "audit.k8s.io/v1");
    assert_eq!(created["kind"], "Event");
    assert_eq!(created["level"], "Metadata");
    assert_eq!(created["stage"], "ResponseComplete");
    assert_eq!(created["objectRef"]["namespace"], "default");
    assert_eq!(created["responseStatus"]["code"], 201);
    assert_eq!(created["user"]["username"], "wharf-admin");
    assert_eq!(created["user"]["groups"], json!(["system:masters", "system:authenticated"]));
    assert_eq!(created["sourceIPs"], json!(["127.0.0.1"]));
    assert!(created["requestReceivedTimestamp"].is_string() && created["stageTimestamp"].is_string());
    assert!(created["auditID"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(event_for(&log, "get", "configmaps", Some("settings")).await["responseStatus"]["code"], 200);
    assert_eq!(event_for(&log, "get", "configmaps", Some("missing")).await["responseStatus"]["code"], 404);
    event_for(&log, "list", "configmaps", None).await;
    event_for(&log, "delete", "configmaps", Some("settings")).await;
    event_for(&log, "get", "secrets", Some("db")).await;
    let find = async |what: &str, wanted: fn(&Value) -> bool| {
        eventually(what, PATIENCE, async || events(&log).into_iter().find(wanted)).await
    };
    let mallory = find("the refused request", |e| e["user"]["username"] == "mallory").await;
    assert_eq!(
        (mallory["verb"].as_str(), mallory["responseStatus"]["code"].as_u64()),
        (Some("get"), Some(403))
    );
    assert_eq!(mallory["user"]["groups"], json!(["interns", "system:authenticated"]));
    let impersonated =
        find("the impersonated request", |e| e["impersonatedUser"]["username"] == "carol").await;
    assert_eq!(
        (impersonated["user"]["username"].as_str(), impersonated["responseStatus"]["code"].as_u64()),
        (Some("wharf-admin"), Some(403))
    );
    let unauthenticated = find("the unauthenticated request", |e| e["responseStatus"]["code"] == 401).await;
    assert_eq!(
        (unauthenticated["verb"].as_str(), unauthenticated["user"]["username"].as_str()),
        (Some("list"), Some(""))
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("audit-never-sees-this") && !text.contains("YXVkaXQtbmV2ZXItc2Vlcy10aGlz"));
}

#[tokio::test]
async fn a_policy_sets_levels_and_the_log_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let (log, policy) = (dir.path().join("audit.log"), dir.path().join("policy.yaml"));
    std::fs::write(
        &policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verbs: [get, list, watch]\n- level: \
         None\n  nonResourceURLs: [\"/healthz*\", \"/version\"]\n- level: Metadata\n  resources:\n  - group: \"\"\n    \
         resources: [configmaps]\n",
    )
    .unwrap();
    let server = TestServer::start_with(|c| {
        let mut audit = apiserver::AuditConfig::new(&log);
        audit.policy = Some(policy.clone());
        audit.max_size_bytes = 4096;
        audit.max_backups = 2;
        c.audit = Some(audit);
    })
    .await;
    let maps: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    for i in 0..20 {
        let map = json!({"metadata": {"name": format!("m-{i}")}});
        maps.create(&PostParams::default(), &serde_json::from_value(map).unwrap()).await.unwrap();
        maps.get(&format!("m-{i}")).await.unwrap();
    }
    eventually("the log to rotate", PATIENCE, async || dir.path().join("audit.log.1").exists()).await;
    let mut all = events(&log);
    all.extend(events(&dir.path().join("audit.log.1")));
    assert!(!all.is_empty());
    assert!(all.iter().all(|e| e["verb"] == "create"), "reads are not audited under this policy");
    assert!(!dir.path().join("audit.log.3").exists(), "two backups at most");
    // A policy file that cannot be read is refused in one line.
    let refused = apiserver::Server::start({
        let mut config = apiserver::ServerConfig::new(([127, 0, 0, 1], 0).into(), dir.path().join("other"));
        let mut audit = apiserver::AuditConfig::new(dir.path().join("other.log"));
        audit.policy = Some(dir.path().join("no-such-policy.yaml"));
        config.audit = Some(audit);
        config
    })
    .await;
    let error = refused.err().expect("a missing policy file is refused").to_string();
    assert!(error.starts_with("audit: cannot read") && !error.contains('\n'), "{error}");
}
