//! Trusted modules: a node (`--require-trusted-modules`), or a namespace labelled [`REQUIRE_LABEL`]`: required`,
//! runs only modules that are pinned by digest in the pod (`image: ...@sha256:<hex>`) or signed by one of the
//! node's trusted keys. A signature is ed25519 over [`signed_message`] of the module's SHA-256 digest, in base64,
//! found in the pod annotation [`SIGNATURE_ANNOTATION`]`<container>`, or published beside the module: the file
//! `<module>.sig` next to one on the node's disk, or `<url>.sig` for a downloaded one. Keys are files of one base64 line: the 32-byte public key (`.pub`), or the PKCS#8
//! document of the private key (`.key`, for `wctl sign`). The check runs after the module is read and before it is
//! compiled, so no code of a refused module runs.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

/// The pod annotation prefix of a container's module signature: `wharf.dev/signature.<container>`.
pub const SIGNATURE_ANNOTATION: &str = "wharf.dev/signature.";
/// The namespace label that requires trusted modules in it (value `required`).
pub const REQUIRE_LABEL: &str = "wharf.dev/trusted-modules";

/// What is signed for a module: its digest, with the scheme's name, so a signature means nothing elsewhere.
pub fn signed_message(digest: &str) -> String {
    format!("wharf-module-signature-v1 sha256:{}", digest.to_ascii_lowercase())
}

/// A node's trusted keys and whether it requires trusted modules everywhere.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    keys: Vec<Vec<u8>>,
    /// Whether every pod's modules must be trusted, whatever its namespace says.
    pub required: bool,
}

impl Trust {
    /// The public keys in `files`.
    pub fn load(files: &[impl AsRef<Path>], required: bool) -> Result<Self, String> {
        let mut keys = Vec::new();
        for file in files {
            let file = file.as_ref();
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let key = BASE64.decode(text.trim()).ok().filter(|k| k.len() == 32).ok_or_else(|| {
                format!("{} is not an ed25519 public key (one base64 line of 32 bytes)", file.display())
            })?;
            keys.push(key);
        }
        Ok(Self { keys, required })
    }

    /// Whether a module with `digest` may run: always when nothing requires trust; else when the pod pinned it,
    /// or `signature` (base64) verifies with a trusted key. A refusal says what is missing.
    pub fn judge(
        &self,
        required: bool,
        pinned: bool,
        digest: &str,
        signature: Option<&str>,
    ) -> Result<(), String> {
        if !(required || self.required) || pinned {
            return Ok(());
        }
        let Some(signature) = signature else {
            return Err(format!(
                "module sha256:{digest} is neither pinned by digest nor signed, and this node runs only trusted \
                 modules"
            ));
        };
        let bytes =
            BASE64.decode(signature.trim()).map_err(|_| "the module's signature is not base64".to_owned())?;
        let message = signed_message(digest);
        if self
            .keys
            .iter()
            .any(|key| UnparsedPublicKey::new(&ED25519, key).verify(message.as_bytes(), &bytes).is_ok())
        {
            return Ok(());
        }
        Err(format!(
            "the signature of module sha256:{digest} does not verify with any of the node's trusted keys"
        ))
    }
}

/// A new key pair: the private key's PKCS#8 document and the public key, both in base64.
pub fn generate() -> Result<(String, String), String> {
    let document =
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| "no randomness for a key")?;
    let pair = Ed25519KeyPair::from_pkcs8(document.as_ref()).map_err(|_| "the new key is unusable")?;
    Ok((BASE64.encode(document.as_ref()), BASE64.encode(pair.public_key().as_ref())))
}

/// The signature (base64) of the module with `digest` by the private key `pkcs8` (base64, as [`generate`] gives).
pub fn sign(pkcs8: &str, digest: &str) -> Result<String, String> {
    let document = BASE64.decode(pkcs8.trim()).map_err(|_| "the private key is not base64".to_owned())?;
    let pair = Ed25519KeyPair::from_pkcs8(&document)
        .map_err(|_| "not an ed25519 private key (PKCS#8)".to_owned())?;
    Ok(BASE64.encode(pair.sign(signed_message(digest).as_bytes()).as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust_of(public: &str, required: bool) -> Trust {
        Trust { keys: vec![BASE64.decode(public).unwrap()], required }
    }

    #[test]
    fn only_pinned_or_signed_modules_run_where_trust_is_required() {
        let (private, public) = generate().unwrap();
        let (_, stranger) = generate().unwrap();
        let digest = "ab".repeat(32);
        let signature = sign(&private, &digest).unwrap();
        let node = trust_of(&public, true);
        assert!(node.judge(false, false, &digest, Some(&signature)).is_ok());
        assert!(node.judge(false, true, &digest, None).is_ok(), "pinned by digest");
        assert!(
            node.judge(false, false, &digest, None)
                .unwrap_err()
                .contains("neither pinned by digest nor signed")
        );
        let other_module = "cd".repeat(32);
        assert!(
            node.judge(false, false, &other_module, Some(&signature))
                .unwrap_err()
                .contains("does not verify")
        );
        assert!(
            trust_of(&stranger, true).judge(false, false, &digest, Some(&signature)).is_err(),
            "an untrusted key"
        );
        // A namespace may require trust on a node that does not.
        let relaxed = trust_of(&public, false);
        assert!(relaxed.judge(false, false, &digest, None).is_ok());
        assert!(relaxed.judge(true, false, &digest, None).is_err());
    }
}
