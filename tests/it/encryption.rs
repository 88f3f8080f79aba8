//! Secrets at rest: encrypted in the store file with AES-GCM under the data directory's generated key (or a
//! configured `EncryptionConfiguration`), readable again after a restart, refused in one line with the wrong key
//! without harm to the store, and rotated by putting a new key first and rewriting the Secrets with kubectl.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

use tests::{Kubectl, PATIENCE, eventually};

const VALUE: &str = "wharf-at-rest-7f3a9c";

/// Starts a server in `dir` (with `config` as its encryption configuration, or the directory's own), waiting for
/// the previous one's file lock to go; an error is the server's one-line reason.
async fn start_in(dir: &Path, config: Option<&Path>) -> Result<apiserver::Server, String> {
    eventually("the store to be released", PATIENCE, async || {
        let mut server = apiserver::ServerConfig::new(([127, 0, 0, 1], 0).into(), dir);
        server.encryption_config = config.map(Path::to_path_buf);
        match apiserver::Server::start(server).await {
            Ok(server) => Some(Ok(server)),
            Err(e) if e.to_string().contains("in use by another Wharf server") => None,
            Err(e) => Some(Err(e.to_string())),
        }
    })
    .await
}

fn secrets(server: &apiserver::Server) -> Api<Secret> {
    let client = tests::admin_client(server);
    Api::namespaced(client, "default")
}

async fn password(server: &apiserver::Server) -> String {
    let secret = secrets(server).get("db").await.unwrap();
    String::from_utf8(secret.data.unwrap()["password"].0.clone()).unwrap()
}

fn store_file(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("wharf.redb")).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn key_config(keys: &[(&str, [u8; 32])]) -> String {
    use std::fmt::Write as _;
    let mut entries = String::new();
    for (name, secret) in keys {
        let secret = BASE64.encode(secret);
        let _ = write!(entries, "            - name: {name}\n              secret: {secret}\n");
    }
    let keys = entries;
    format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    \
         providers:\n      - aesgcm:\n          keys:\n{keys}"
    )
}

#[tokio::test]
async fn secrets_are_encrypted_at_rest_and_keys_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path(), None).await.unwrap();
    let secret = json!({"metadata": {"name": "db"}, "stringData": {"password": VALUE}});
    secrets(&server).create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.unwrap();
    let generated = dir.path().join("encryption-config.yaml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&generated).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");
    }
    server.shutdown().await;

    // Nothing of the value is in the file, in plain or in base64.
    let file = store_file(dir.path());
    let encoded = BASE64.encode(VALUE);
    assert!(!contains(&file, VALUE.as_bytes()) && !contains(&file, encoded.as_bytes()));
    assert!(contains(&file, b"k8s:enc:aesgcm:v1:key1:"));

    let server = start_in(dir.path(), None).await.unwrap();
    assert_eq!(password(&server).await, VALUE, "the restarted server reads it");
    let version = secrets(&server).get("db").await.unwrap().metadata.resource_version;
    server.shutdown().await;

    // Another key of the same name: refused in one line, and the store is left as it was.
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(&wrong, key_config(&[("key1", [7; 32])])).unwrap();
    let refused = start_in(dir.path(), Some(&wrong)).await.err().expect("the wrong key is refused");
    assert!(!refused.contains('\n'), "{refused}");
    assert!(refused.contains("secrets/default/db does not decrypt with key \"key1\""), "{refused}");
    let server = start_in(dir.path(), None).await.unwrap();
    assert_eq!(password(&server).await, VALUE);
    assert_eq!(
        secrets(&server).get("db").await.unwrap().metadata.resource_version,
        version,
        "nothing changed"
    );
    server.shutdown().await;

    // Rotation: a new key first and the old one after it; rewriting the Secrets re-encrypts them with the new
    // key, after which the old key can go.
    let old = std::fs::read_to_string(&generated).unwrap();
    let old_secret = old.lines().find_map(|l| l.trim().strip_prefix("secret: ")).unwrap().to_owned();
    let rotated = dir.path().join("rotated.yaml");
    let both = key_config(&[("key2", [9; 32])])
        + &format!("            - name: key1\n              secret: {old_secret}\n");
    std::fs::write(&rotated, both).unwrap();
    let server = start_in(dir.path(), Some(&rotated)).await.unwrap();
    assert_eq!(password(&server).await, VALUE, "the old key still reads");
    let kubeconfig = dir.path().join("kubeconfig");
    let kubectl = Kubectl::new(&kubeconfig);
    let all = kubectl.ok(&["get", "secrets", "-A", "-o", "json"]).await;
    let listed = dir.path().join("secrets.json");
    std::fs::write(&listed, all).unwrap();
    // kubectl validates a List client-side against /openapi/v2, which Wharf does not serve.
    kubectl.ok(&["replace", "--validate=false", "-f", listed.to_str().unwrap()]).await;
    server.shutdown().await;
    let only_new = dir.path().join("only-new.yaml");
    std::fs::write(&only_new, key_config(&[("key2", [9; 32])])).unwrap();
    let server = start_in(dir.path(), Some(&only_new)).await.unwrap();
    assert_eq!(password(&server).await, VALUE, "every Secret was rewritten with the new key");
    server.shutdown().await;
}
