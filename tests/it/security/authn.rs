//! Authentication over TLS: nobody gets in without credentials; client certificates, the token file,
//! ServiceAccount tokens (bound, expiring, verifiable with the published key) and bootstrap tokens do.

use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use tests::{Kubectl, PATIENCE, TestServer, eventually, raw};

fn object<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// Who the server takes the client for (SelfSubjectReview, as `kubectl auth whoami` asks).
async fn whoami(client: &kube::Client) -> (u16, Value) {
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let path = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    let (code, body) = raw(client, "POST", path, "application/json", review.to_string()).await;
    (code, body["status"]["userInfo"].clone())
}

#[tokio::test]
async fn requests_without_valid_credentials_get_401() {
    let server = TestServer::start().await;
    let pods: Api<Pod> = Api::namespaced(server.anonymous_client(), "default");
    let kube::Error::Api(status) = pods.list(&ListParams::default()).await.unwrap_err() else { panic!() };
    assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
    let (code, _) = whoami(&server.client_with_token("not-a-token")).await;
    assert_eq!(code, 401);
    let nobody = Kubectl::new(&server.kubeconfig_with_token("not-a-token"));
    let refused = nobody.fails(&["get", "pods"]).await;
    assert!(refused.contains("the server has asked for the client to provide credentials"), "{refused}");
    // Probes need no credentials.
    let (code, _) = raw(&server.anonymous_client(), "GET", "/readyz", "application/json", "").await;
    assert_eq!(code, 200);
    let (code, who) = whoami(&server.client()).await;
    assert_eq!((code, who["username"].as_str()), (201, Some("wharf-admin")));
}

#[tokio::test]
async fn anonymous_requests_are_served_as_system_anonymous_only_when_enabled() {
    let server = TestServer::start_with(|c| c.authentication.anonymous = true).await;
    // Anonymous requests are authenticated, then authorised like any other: RBAC grants them nothing.
    let pods: Api<Pod> = Api::namespaced(server.anonymous_client(), "default");
    let kube::Error::Api(status) = pods.list(&ListParams::default()).await.unwrap_err() else { panic!() };
    assert_eq!(status.code, 403);
    assert!(status.message.contains("User \"system:anonymous\" cannot list"), "{}", status.message);
    let (code, _) = whoami(&server.anonymous_client()).await;
    assert_eq!(code, 403);
}

#[tokio::test]
async fn client_certificates_and_the_token_file_name_users_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.csv");
    std::fs::write(&tokens, "s3cret-token,carol,u-100,\"ops,oncall\"\n").unwrap();
    let server = TestServer::start_with(|c| c.authentication.token_auth_file = Some(tokens.clone())).await;
    let (_, carol) = whoami(&server.client_with_token("s3cret-token")).await;
    assert_eq!((&carol["username"], &carol["uid"]), (&json!("carol"), &json!("u-100")));
    assert_eq!(carol["groups"], json!(["ops", "oncall", "system:authenticated"]));
    let (_, dave) = whoami(&server.client_as("dave", &["dev", "qa"])).await;
    assert_eq!(
        (&dave["username"], &dave["groups"]),
        (&json!("dave"), &json!(["dev", "qa", "system:authenticated"]))
    );
}

#[tokio::test]
async fn service_account_tokens_are_bound_expiring_and_verifiable() {
    let server = TestServer::start().await;
    let admin = server.client();
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), "default");
    let account = accounts
        .create(&PostParams::default(), &object(json!({"metadata": {"name": "builder"}})))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    let pod = json!({"metadata": {"name": "job"}, "spec": {"serviceAccountName": "builder",
                     "containers": [{"name": "c", "image": "app.wasm"}]}});
    let pod = pods.create(&PostParams::default(), &object(pod)).await.unwrap();
    let path = "/api/v1/namespaces/default/serviceaccounts/builder/token";
    let request = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600,
                 "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "job", "uid": pod.metadata.uid}}});
    let (code, answer) = raw(&admin, "POST", path, "application/json", request.to_string()).await;
    assert_eq!(code, 201, "{answer}");
    let token = answer["status"]["token"].as_str().unwrap().to_owned();
    assert!(answer["status"]["expirationTimestamp"].is_string());

    let (code, who) = whoami(&server.client_with_token(&token)).await;
    assert_eq!((code, &who["username"]), (201, &json!("system:serviceaccount:default:builder")));
    assert_eq!(who["uid"], json!(account.metadata.uid));
    assert_eq!(who["extra"]["authentication.kubernetes.io/pod-name"], json!(["job"]));

    // The issuer's key is published, and the token names it.
    let (_, discovery) = raw(&admin, "GET", "/.well-known/openid-configuration", "", "").await;
    assert_eq!(discovery["issuer"], "https://kubernetes.default.svc.cluster.local");
    let (_, jwks) = raw(&admin, "GET", "/openid/v1/jwks", "", "").await;
    let header: Value = {
        use base64::Engine as _;
        let part = token.split('.').next().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap())
            .unwrap()
    };
    assert_eq!((&header["alg"], &jwks["keys"][0]["kid"]), (&json!("ES256"), &header["kid"]));
    assert_eq!((&jwks["keys"][0]["kty"], &jwks["keys"][0]["crv"]), (&json!("EC"), &json!("P-256")));

    // Too short a life is refused; a token outlives nothing it is bound to.
    let short = json!({"spec": {"expirationSeconds": 60}});
    let (code, refused) = raw(&admin, "POST", path, "application/json", short.to_string()).await;
    assert_eq!((code, &refused["reason"]), (422, &json!("Invalid")), "{refused}");
    pods.delete("job", &DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() })
        .await
        .unwrap();
    eventually("the bound token to stop working", PATIENCE, async || {
        whoami(&server.client_with_token(&token)).await.0 == 401
    })
    .await;
}

#[tokio::test]
async fn bootstrap_tokens_authenticate_until_they_expire() {
    let server = TestServer::start().await;
    let secrets: Api<Secret> = Api::namespaced(server.client(), "kube-system");
    let bootstrap = |id: &str, expiration: &str| {
        object::<Secret>(json!({"metadata": {"name": format!("bootstrap-token-{id}")},
            "type": "bootstrap.kubernetes.io/token",
            "stringData": {"token-id": id, "token-secret": "0123456789abcdef", "expiration": expiration,
                           "usage-bootstrap-authentication": "true",
                           "auth-extra-groups": "system:bootstrappers:workers"}}))
    };
    secrets.create(&PostParams::default(), &bootstrap("abcdef", "2999-01-01T00:00:00Z")).await.unwrap();
    secrets.create(&PostParams::default(), &bootstrap("oldone", "2000-01-01T00:00:00Z")).await.unwrap();
    let (code, who) = whoami(&server.client_with_token("abcdef.0123456789abcdef")).await;
    assert_eq!((code, &who["username"]), (201, &json!("system:bootstrap:abcdef")));
    assert_eq!(
        who["groups"],
        json!(["system:bootstrappers", "system:bootstrappers:workers", "system:authenticated"])
    );
    assert_eq!(whoami(&server.client_with_token("abcdef.0123456789abcdee")).await.0, 401);
    assert_eq!(whoami(&server.client_with_token("oldone.0123456789abcdef")).await.0, 401);
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = apiserver::ServerConfig::new(([0, 0, 0, 0], 0).into(), dir.path());
    config.plain_http = true;
    let Err(error) = apiserver::Server::start(config).await else {
        panic!("plain HTTP on 0.0.0.0 must fail")
    };
    assert!(error.to_string().contains("plain HTTP is refused on 0.0.0.0:0"), "{error}");
    // On loopback it serves, and the kubeconfig carries a token instead of a certificate.
    let server = TestServer::start_with(|c| c.plain_http = true).await;
    assert!(server.url().starts_with("http://"));
    let (code, who) = whoami(&server.client()).await;
    assert_eq!((code, &who["username"]), (201, &json!("wharf-admin")));
    assert_eq!(whoami(&server.anonymous_client()).await.0, 401);
}

#[tokio::test]
async fn user_supplied_serving_certificates_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let ca = pki::Ca::generate("corporate-ca").unwrap();
    let issued = ca
        .issue_serving(
            "api.corp",
            &[pki::San::Ip([127, 0, 0, 1].into())],
            std::time::Duration::from_secs(3600),
        )
        .unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, format!("{}{}", issued.cert_pem, ca.cert_pem())).unwrap();
    std::fs::write(&key, &issued.key_pem).unwrap();
    let server = TestServer::start_with(|c| {
        c.tls.cert_file = Some(cert.clone());
        c.tls.key_file = Some(key.clone());
    })
    .await;
    // The kubeconfig trusts the chain's CA; clients still authenticate with the cluster's certificates.
    let (code, who) = whoami(&server.client()).await;
    assert_eq!((code, &who["username"]), (201, &json!("wharf-admin")));
    server.kubectl().ok(&["get", "namespaces"]).await;
}
