//! `wctl keygen`, `wctl sign` and `wctl verify`: a module signed with a new key verifies with its public key and
//! not with another's; a changed module no longer verifies; bad input is one line and a non-zero exit.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

fn wctl(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wctl")).args(args).current_dir(dir).output().unwrap()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn modules_are_signed_and_verified_with_ed25519_keys() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path();
    std::fs::write(at.join("app.wasm"), b"\0asm\x01\0\0\0").unwrap();
    assert!(wctl(at, &["keygen", "ci"]).status.success());
    assert!(wctl(at, &["keygen", "other"]).status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(at.join("ci.key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let signed = wctl(at, &["sign", "--key", "ci.key", "app.wasm"]);
    assert!(signed.status.success(), "{signed:?}");
    let printed = String::from_utf8_lossy(&signed.stdout).trim().to_owned();
    assert_eq!(std::fs::read_to_string(at.join("app.wasm.sig")).unwrap().trim(), printed);
    let verified = wctl(at, &["verify", "--key", "ci.pub", "app.wasm"]);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("signature verified"), "{verified:?}");

    assert!(failed(&wctl(at, &["verify", "--key", "other.pub", "app.wasm"])).contains("does not verify"));
    std::fs::write(at.join("app.wasm"), b"\0asm\x01\0\0\0\0").unwrap();
    assert!(failed(&wctl(at, &["verify", "--key", "ci.pub", "app.wasm"])).contains("does not verify"));
    assert!(failed(&wctl(at, &["keygen", "ci"])).contains("must not exist yet"));
    assert!(
        failed(&wctl(at, &["sign", "--key", "ci.pub", "app.wasm"])).contains("not an ed25519 private key")
    );
    assert!(
        failed(&wctl(at, &["verify", "--key", "ci.key", "app.wasm"])).contains("not an ed25519 public key")
    );
    assert!(
        failed(&wctl(at, &["sign", "--key", "ci.key", "missing.wasm"])).contains("cannot read missing.wasm")
    );
}
