//! RBAC with Kubernetes' semantics, seen through kubectl: a ServiceAccount bound to `view`, `kubectl auth can-i`
//! and `whoami`, and escalation prevention.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};
use tests::{Kubectl, TestServer};

/// kubectl's answer to `auth can-i` and whether it exited 0.
async fn can_i(kubectl: &Kubectl, args: &[&str]) -> (String, bool) {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    let out = kubectl.run(&all).await;
    (String::from_utf8_lossy(&out.stdout).trim().to_owned(), out.status.success())
}

#[tokio::test]
async fn a_service_account_bound_to_view_reads_its_namespace_and_nothing_else() {
    let server = TestServer::start().await;
    let admin = server.kubectl();
    for ns in ["dev", "prod"] {
        admin.ok(&["create", "namespace", ns]).await;
        admin.ok(&["-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast"]).await;
    }
    admin.ok(&["-n", "dev", "create", "secret", "generic", "db", "--from-literal=password=hunter2"]).await;
    admin.ok(&["-n", "dev", "create", "serviceaccount", "reader"]).await;
    admin
        .ok(&[
            "-n",
            "dev",
            "create",
            "rolebinding",
            "reader-view",
            "--clusterrole=view",
            "--serviceaccount=dev:reader",
        ])
        .await;
    let token = admin.ok(&["-n", "dev", "create", "token", "reader"]).await.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    let reader = Kubectl::new(&server.kubeconfig_with_token(&token));
    assert!(reader.ok(&["-n", "dev", "get", "configmaps"]).await.contains("settings"));
    reader.ok(&["-n", "dev", "get", "pods"]).await;
    let refused = reader.fails(&["-n", "dev", "create", "configmap", "new", "--from-literal=a=b"]).await;
    assert!(
        refused.contains(
            "configmaps is forbidden: User \"system:serviceaccount:dev:reader\" cannot create resource \
             \"configmaps\" in API group \"\" in the namespace \"dev\""
        ),
        "{refused}"
    );
    let secret = reader.fails(&["-n", "dev", "get", "secret", "db"]).await;
    assert!(secret.contains("secrets \"db\" is forbidden") && !secret.contains("hunter2"), "{secret}");
    let other = reader.fails(&["-n", "prod", "get", "configmaps"]).await;
    assert!(other.contains("in the namespace \"prod\""), "{other}");

    assert_eq!(can_i(&reader, &["list", "pods", "-n", "dev"]).await, ("yes".into(), true));
    assert_eq!(can_i(&reader, &["get", "configmaps/settings", "-n", "dev"]).await, ("yes".into(), true));
    assert_eq!(can_i(&reader, &["create", "configmaps", "-n", "dev"]).await, ("no".into(), false));
    assert_eq!(can_i(&reader, &["get", "secrets", "-n", "dev"]).await, ("no".into(), false));
    assert_eq!(can_i(&reader, &["list", "pods", "-n", "prod"]).await, ("no".into(), false));
    assert_eq!(can_i(&admin, &["delete", "nodes", "--all-namespaces"]).await, ("yes".into(), true));

    // The admin asks on the account's behalf (impersonation); someone without the right to impersonate cannot.
    let as_reader = "--as=system:serviceaccount:dev:reader";
    assert_eq!(can_i(&admin, &["list", "pods", "-n", "dev", as_reader]).await, ("yes".into(), true));
    assert_eq!(can_i(&admin, &["get", "secrets", "-n", "dev", as_reader]).await, ("no".into(), false));
    let stranger = Kubectl::new(&server.kubeconfig_as("stranger", &[]));
    let refused = stranger.fails(&["-n", "dev", "get", "configmaps", as_reader]).await;
    assert!(refused.contains("Forbidden"), "{refused}");
    let request = http::Request::get("/api/v1/namespaces/dev/configmaps")
        .header("Impersonate-User", "system:serviceaccount:dev:reader")
        .body(Vec::new())
        .unwrap();
    let kube::Error::Api(status) = server.client_as("stranger", &[]).request_text(request).await.unwrap_err()
    else {
        panic!("an API error")
    };
    assert_eq!(status.code, 403);
    assert!(
        status.message.contains("User \"stranger\" cannot impersonate resource \"serviceaccounts\""),
        "{}",
        status.message
    );

    let listed = reader.ok(&["auth", "can-i", "--list", "-n", "dev"]).await;
    let configmaps = listed.lines().find(|l| l.starts_with("configmaps ")).unwrap_or_default();
    assert!(configmaps.contains("[get list watch]"), "{listed}");
    assert!(!listed.lines().any(|l| l.starts_with("secrets ")), "{listed}");

    let whoami: Value = serde_json::from_str(&reader.ok(&["auth", "whoami", "-o", "json"]).await).unwrap();
    assert_eq!(whoami["status"]["userInfo"]["username"], "system:serviceaccount:dev:reader");
    let groups = whoami["status"]["userInfo"]["groups"].as_array().unwrap();
    for group in ["system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated"] {
        assert!(groups.contains(&json!(group)), "{groups:?}");
    }

    // kube-rs sees the same answers.
    let maps: Api<ConfigMap> = Api::namespaced(server.client_with_token(&token), "dev");
    assert_eq!(maps.list(&ListParams::default()).await.unwrap().items.len(), 1);
    let map: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    let kube::Error::Api(status) = maps.create(&PostParams::default(), &map).await.unwrap_err() else {
        panic!("an API error")
    };
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
}

#[tokio::test]
async fn nobody_grants_a_permission_they_do_not_hold() {
    let server = TestServer::start().await;
    let admin = server.kubectl();
    admin.ok(&["create", "namespace", "team"]).await;
    admin
        .ok(&["-n", "team", "create", "rolebinding", "lead-view", "--clusterrole=view", "--user=lead"])
        .await;
    admin
        .ok(&[
            "-n",
            "team",
            "create",
            "role",
            "binder",
            "--verb=create,get,list",
            "--resource=rolebindings,roles",
        ])
        .await;
    admin.ok(&["-n", "team", "create", "rolebinding", "lead-binder", "--role=binder", "--user=lead"]).await;

    let lead = Kubectl::new(&server.kubeconfig_as("lead", &[]));
    let escalation = lead
        .fails(&["-n", "team", "create", "rolebinding", "grab", "--clusterrole=cluster-admin", "--user=lead"])
        .await;
    assert!(
        escalation.contains("is attempting to grant RBAC permissions not currently held"),
        "{escalation}"
    );
    let edit = lead
        .fails(&["-n", "team", "create", "rolebinding", "more", "--clusterrole=edit", "--user=lead"])
        .await;
    assert!(edit.contains("\"more\" is forbidden"), "{edit}");
    let secrets =
        lead.fails(&["-n", "team", "create", "role", "peek", "--verb=get", "--resource=secrets"]).await;
    assert!(secrets.contains("not currently held") && secrets.contains("secrets"), "{secrets}");

    // What the lead holds, it may pass on.
    lead.ok(&["-n", "team", "create", "rolebinding", "intern-view", "--clusterrole=view", "--user=intern"])
        .await;
    lead.ok(&["-n", "team", "create", "role", "look", "--verb=get,list", "--resource=configmaps"]).await;
    let intern = Kubectl::new(&server.kubeconfig_as("intern", &[]));
    assert_eq!(can_i(&intern, &["list", "configmaps", "-n", "team"]).await, ("yes".into(), true));
    assert_eq!(can_i(&intern, &["list", "configmaps", "-n", "default"]).await, ("no".into(), false));
    let bindings = admin.ok(&["-n", "team", "get", "rolebindings"]).await;
    assert!(!bindings.contains("grab") && !bindings.contains("more"), "{bindings}");
}

#[tokio::test]
async fn default_roles_aggregate_and_reviews_answer_for_others() {
    let server = TestServer::start().await;
    let admin = server.kubectl();
    let view: Value =
        serde_json::from_str(&admin.ok(&["get", "clusterrole", "view", "-o", "json"]).await).unwrap();
    let rules = view["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["resources"].as_array().unwrap().contains(&json!("pods"))), "{rules:?}");
    assert!(
        !rules.iter().any(|r| r["resources"].as_array().unwrap().contains(&json!("secrets"))),
        "{rules:?}"
    );

    // A new role labelled to aggregate into view extends it (and so edit and admin).
    admin.ok(&["create", "clusterrole", "nodes-view", "--verb=get,list", "--resource=nodes"]).await;
    admin
        .ok(&["label", "clusterrole", "nodes-view", "rbac.authorization.k8s.io/aggregate-to-view=true"])
        .await;
    tests::eventually("view to aggregate the new role", tests::PATIENCE, async || {
        let admin_role = admin.ok(&["get", "clusterrole", "admin", "-o", "json"]).await;
        let admin_role: Value = serde_json::from_str(&admin_role).unwrap();
        admin_role["rules"].as_array().unwrap().iter().any(|r| r["resources"] == json!(["nodes"]))
    })
    .await;

    // SubjectAccessReview: asking about someone else.
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                        "spec": {"user": "someone", "groups": ["system:masters"],
                                 "resourceAttributes": {"verb": "delete", "resource": "nodes"}}});
    let path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    let (code, answer) =
        tests::raw(&server.client(), "POST", path, "application/json", review.to_string()).await;
    assert_eq!((code, &answer["status"]["allowed"]), (201, &json!(true)), "{answer}");
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                        "spec": {"user": "someone", "nonResourceAttributes": {"verb": "get", "path": "/metrics"}}});
    let (_, answer) =
        tests::raw(&server.client(), "POST", path, "application/json", review.to_string()).await;
    assert_eq!(answer["status"]["allowed"], json!(false), "{answer}");
    // Nobody else may ask: SubjectAccessReview needs its own permission.
    let (code, _) =
        tests::raw(&server.client_as("someone", &[]), "POST", path, "application/json", review.to_string())
            .await;
    assert_eq!(code, 403);
}
