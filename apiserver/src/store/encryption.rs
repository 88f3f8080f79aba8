//! Encryption at rest, configured as kube-apiserver's `--encryption-provider-config` is: an
//! `apiserver.config.k8s.io/v1` `EncryptionConfiguration` names, per resource, providers in order. The first
//! provider encrypts what is written; every listed one decrypts what is read, so a key is rotated by putting a
//! new one first, rewriting the objects (`kubectl get secrets -A -o json | kubectl replace -f -`) and then
//! removing the old one. Providers: `aesgcm` (AES-GCM with 16- or 32-byte keys) and `identity` (plain).
//!
//! A sealed value is `k8s:enc:aesgcm:v1:<key name>:` followed by a random 12-byte nonce and the ciphertext with
//! its tag, Kubernetes' layout; the object's store key is the authenticated data, so a sealed value copied to
//! another key does not open. Only the file is sealed: the server's memory holds objects as it serves them.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use ring::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::Key;

const AESGCM_PREFIX: &str = "k8s:enc:aesgcm:v1:";

/// The resources' providers, as configured.
pub struct Encryption {
    rules: Vec<Rule>,
    random: SystemRandom,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key names only: secrets never reach a log.
        let writers: Vec<(&[String], Option<&str>)> = self
            .rules
            .iter()
            .map(|r| (r.prefixes.as_slice(), r.writer.as_ref().map(|(name, _)| name.as_str())))
            .collect();
        f.debug_struct("Encryption").field("writers", &writers).finish_non_exhaustive()
    }
}

/// The providers of some resources.
struct Rule {
    /// Store key prefixes (`secrets/`, `apps/deployments/`).
    prefixes: Vec<String>,
    /// The key that seals writes: `None` writes plain (`identity` first).
    writer: Option<(String, LessSafeKey)>,
    /// Every `aesgcm` key, by name.
    readers: HashMap<String, LessSafeKey>,
    /// Whether plain values may be read (`identity` is listed).
    plain: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    api_version: String,
    kind: String,
    resources: Vec<ResourceConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceConfig {
    resources: Vec<String>,
    providers: Vec<Provider>,
}

/// One provider: exactly one of its fields is set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Provider {
    aesgcm: Option<Keys>,
    identity: Option<serde_yaml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    keys: Vec<KeyConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    name: String,
    secret: String,
}

impl Encryption {
    /// The configuration in `yaml`.
    pub fn parse(yaml: &str) -> Result<Self, String> {
        let config: Config = serde_yaml::from_str(yaml)
            .map_err(|e| format!("{e} (providers supported: aesgcm and identity)"))?;
        if config.api_version != "apiserver.config.k8s.io/v1" || config.kind != "EncryptionConfiguration" {
            return Err(format!(
                "expected apiVersion apiserver.config.k8s.io/v1, kind EncryptionConfiguration, got {} {}",
                config.api_version, config.kind
            ));
        }
        let mut rules = Vec::new();
        for resource in config.resources {
            let mut rule = Rule { prefixes: Vec::new(), writer: None, readers: HashMap::new(), plain: false };
            for name in &resource.resources {
                rule.prefixes.push(prefix(name)?);
            }
            for (i, provider) in resource.providers.into_iter().enumerate() {
                match (provider.aesgcm, provider.identity) {
                    (None, Some(_)) => rule.plain = true,
                    (Some(Keys { keys }), None) => {
                        for (j, key) in keys.into_iter().enumerate() {
                            if key.name.is_empty() || key.name.contains(':') {
                                return Err(format!(
                                    "key name {:?} must be non-empty and without ':'",
                                    key.name
                                ));
                            }
                            if rule.readers.contains_key(&key.name) {
                                return Err(format!("key name {:?} is listed twice", key.name));
                            }
                            let sealing = aead_key(&key)?;
                            if i == 0 && j == 0 {
                                rule.writer = Some((key.name.clone(), aead_key(&key)?));
                            }
                            rule.readers.insert(key.name, sealing);
                        }
                    }
                    _ => return Err(format!("provider {i} must be exactly one of aesgcm and identity")),
                }
            }
            rules.push(rule);
        }
        Ok(Self { rules, random: SystemRandom::new() })
    }

    /// A configuration with one fresh random 32-byte key for Secrets (and plain reads of what was stored before),
    /// as YAML.
    pub fn generate() -> Result<String, String> {
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| "the system has no randomness to make a key".to_owned())?;
        let secret = base64::engine::general_purpose::STANDARD.encode(secret);
        Ok(format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: \
             [secrets]\n    providers:\n      - aesgcm:\n          keys:\n            - name: key1\n              \
             secret: {secret}\n      - identity: {{}}\n"
        ))
    }

    /// Reads the configuration at `path`; when `create` and it does not exist, writes a generated one there first,
    /// readable by its owner only.
    pub fn load(path: &Path, create: bool) -> Result<Self, String> {
        let shown = path.display();
        if create && !path.exists() {
            write_private(path, &Self::generate()?).map_err(|e| format!("cannot write {shown}: {e}"))?;
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        Self::parse(&text).map_err(|e| format!("{shown}: {e}"))
    }

    fn rule(&self, key: &Key) -> Option<&Rule> {
        self.rules.iter().find(|r| r.prefixes.iter().any(|p| key.as_str().starts_with(p.as_str())))
    }

    /// What to store for `json` at `key`.
    pub fn seal(&self, key: &Key, json: &[u8]) -> Result<Vec<u8>, String> {
        let Some((name, sealing)) = self.rule(key).and_then(|r| r.writer.as_ref()) else {
            return Ok(json.to_vec());
        };
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| "the system has no randomness for a nonce".to_owned())?;
        let mut sealed = json.to_vec();
        sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(key.as_str()),
                &mut sealed,
            )
            .map_err(|_| format!("cannot encrypt {}", key.as_str()))?;
        let mut out = Vec::with_capacity(AESGCM_PREFIX.len() + name.len() + 1 + NONCE_LEN + sealed.len());
        out.extend_from_slice(AESGCM_PREFIX.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Whether `stored` at `key` is in a form this configuration would not write now.
    pub fn stale(&self, key: &Key, stored: &[u8]) -> bool {
        match self.rule(key).and_then(|r| r.writer.as_ref()) {
            Some((name, _)) => !stored.starts_with(format!("{AESGCM_PREFIX}{name}:").as_bytes()),
            None => stored.starts_with(AESGCM_PREFIX.as_bytes()),
        }
    }

    /// The object JSON stored as `stored` at `key`; an error says which key cannot open it.
    pub fn open(&self, key: &Key, stored: &[u8]) -> Result<Vec<u8>, String> {
        let rule = self.rule(key);
        let Some(rest) = stored.strip_prefix(AESGCM_PREFIX.as_bytes()) else {
            return match rule {
                Some(rule) if !rule.plain => Err(format!(
                    "{} is stored unencrypted, and the configuration lists no identity provider to read it",
                    key.as_str()
                )),
                _ => Ok(stored.to_vec()),
            };
        };
        let colon = rest
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| format!("{} is sealed badly", key.as_str()))?;
        let name = String::from_utf8_lossy(&rest[..colon]).into_owned();
        let sealing = rule.and_then(|r| r.readers.get(&name)).ok_or_else(|| {
            format!("{} is encrypted with key {name:?}, which the configuration does not list", key.as_str())
        })?;
        let rest = &rest[colon + 1..];
        if rest.len() < NONCE_LEN {
            return Err(format!("{} is sealed badly", key.as_str()));
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| format!("{} is sealed badly", key.as_str()))?;
        let mut buffer = sealed.to_vec();
        let plain = sealing.open_in_place(nonce, Aad::from(key.as_str()), &mut buffer).map_err(|_| {
            format!(
                "{} does not decrypt with key {name:?}: the key's secret is not the one that wrote it",
                key.as_str()
            )
        })?;
        Ok(plain.to_vec())
    }
}

/// The store key prefix of a resource as the configuration names it: `secrets`, `deployments.apps`.
fn prefix(resource: &str) -> Result<String, String> {
    match resource.split_once('.') {
        _ if resource.contains('*') => Err(format!("resource {resource:?}: wildcards are not supported")),
        None => Ok(format!("{resource}/")),
        Some((name, group)) => Ok(format!("{group}/{name}/")),
    }
}

fn aead_key(key: &KeyConfig) -> Result<LessSafeKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.secret.trim())
        .map_err(|_| format!("key {:?}: its secret is not base64", key.name))?;
    let algorithm = match bytes.len() {
        16 => &AES_128_GCM,
        32 => &AES_256_GCM,
        n => return Err(format!("key {:?}: an aesgcm secret is 16 or 32 bytes, not {n}", key.name)),
    };
    let unbound =
        UnboundKey::new(algorithm, &bytes).map_err(|_| format!("key {:?} is unusable", key.name))?;
    Ok(LessSafeKey::new(unbound))
}

/// Writes `text` to a new file at `path` that only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    #[cfg(not(unix))]
    pki::warn_not_owner_only();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(keys: &[(&str, &str)], identity_first: bool) -> Encryption {
        let keys: Vec<String> = keys
            .iter()
            .map(|(name, secret)| format!("            - name: {name}\n              secret: {secret}\n"))
            .collect();
        let keys = keys.concat();
        let aesgcm = format!("      - aesgcm:\n          keys:\n{keys}");
        let identity = "      - identity: {}\n";
        let providers =
            if identity_first { format!("{identity}{aesgcm}") } else { format!("{aesgcm}{identity}") };
        let yaml = format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: \
             [secrets]\n    providers:\n{providers}"
        );
        Encryption::parse(&yaml).unwrap()
    }

    const ONE: &str = "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="; // 32 × '1'
    const TWO: &str = "MjIyMjIyMjIyMjIyMjIyMg=="; // 16 × '2'

    #[test]
    fn secrets_are_sealed_and_open_only_where_they_were_written() {
        let encryption = config(&[("one", ONE)], false);
        let key = Key::new("secrets", "default", "db");
        let sealed = encryption.seal(&key, br#"{"data":{"password":"c2VjcmV0"}}"#).unwrap();
        assert!(sealed.starts_with(b"k8s:enc:aesgcm:v1:one:"));
        assert!(!sealed.windows(8).any(|w| w == b"c2VjcmV0"), "the value is not in the sealed bytes");
        assert_eq!(encryption.open(&key, &sealed).unwrap(), br#"{"data":{"password":"c2VjcmV0"}}"#);
        let elsewhere = Key::new("secrets", "default", "other");
        assert!(encryption.open(&elsewhere, &sealed).unwrap_err().contains("does not decrypt"));
        // Other resources stay plain; plain Secrets from before are read (identity is listed).
        let pod = Key::new("pods", "default", "web");
        assert_eq!(encryption.seal(&pod, b"{}").unwrap(), b"{}");
        assert_eq!(encryption.open(&key, b"{}").unwrap(), b"{}");
    }

    #[test]
    fn keys_rotate_by_order() {
        let key = Key::new("secrets", "default", "db");
        let old = config(&[("one", ONE)], false);
        let sealed_by_old = old.seal(&key, b"{}").unwrap();
        let rotated = config(&[("two", TWO), ("one", ONE)], false);
        assert_eq!(rotated.open(&key, &sealed_by_old).unwrap(), b"{}", "the old key still reads");
        assert!(rotated.stale(&key, &sealed_by_old) && !old.stale(&key, &sealed_by_old));
        assert!(old.stale(&key, b"{}"), "a plain Secret is rewritten sealed");
        assert!(
            rotated.seal(&key, b"{}").unwrap().starts_with(b"k8s:enc:aesgcm:v1:two:"),
            "the new one writes"
        );
        let without_old = config(&[("two", TWO)], false);
        let error = without_old.open(&key, &sealed_by_old).unwrap_err();
        assert!(error.contains(r#"key "one", which the configuration does not list"#), "{error}");
        let wrong_secret = config(&[("one", TWO)], false);
        assert!(wrong_secret.open(&key, &sealed_by_old).unwrap_err().contains("not the one that wrote it"));
        assert_eq!(
            config(&[("one", ONE)], true).seal(&key, b"{}").unwrap(),
            b"{}",
            "identity first writes plain"
        );
    }

    #[test]
    fn bad_configurations_say_why() {
        for (yaml, expected) in [
            (
                "apiVersion: v1\nkind: ConfigMap\nresources: []",
                "expected apiVersion apiserver.config.k8s.io/v1",
            ),
            (
                "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: \
                 [secrets]\n  providers:\n  - kms: {}",
                "providers supported: aesgcm and identity",
            ),
            (
                "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: \
                 [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: k\n        secret: c2hvcnQ=",
                "16 or 32 bytes, not 5",
            ),
        ] {
            let error = Encryption::parse(yaml).err().unwrap();
            assert!(error.contains(expected), "{error}");
        }
        let key =
            |name: &str| format!("      - name: {name}\n        secret: {}\n", "MjIyMjIyMjIyMjIyMjIyMg==");
        let head = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: \
                    [secrets]\n  providers:\n  - aesgcm:\n      keys:\n";
        let twice = format!("{head}{}{}", key("k"), key("k"));
        assert!(Encryption::parse(&twice).err().unwrap().contains("listed twice"));
        let colon = format!("{head}{}", key("a:b"));
        assert!(Encryption::parse(&colon).err().unwrap().contains("without ':'"));
        assert!(Encryption::parse(&Encryption::generate().unwrap()).is_ok());
    }
}
