//! Trusted modules: `wctl keygen`, `wctl sign`, `wctl verify`, and the node flags that require them (see
//! `host::trust`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use sha2::{Digest, Sha256};

/// The flags of a node agent about trusted modules.
#[derive(Args, Debug, Clone)]
pub struct TrustFlags {
    /// Public key (from `wctl keygen`) whose signatures this node trusts (repeatable).
    #[arg(long = "trusted-key", value_name = "FILE")]
    trusted_keys: Vec<PathBuf>,
    /// Run only modules pinned by digest or signed by a trusted key (a namespace labelled
    /// `wharf.dev/trusted-modules=required` asks the same of its pods on any node).
    #[arg(long)]
    require_trusted_modules: bool,
}

impl TrustFlags {
    /// The node's trust.
    pub fn trust(&self) -> anyhow::Result<host::trust::Trust> {
        if self.require_trusted_modules && self.trusted_keys.is_empty() {
            tracing::warn!(
                "--require-trusted-modules without --trusted-key: only modules pinned by digest run"
            );
        }
        host::trust::Trust::load(&self.trusted_keys, self.require_trusted_modules).map_err(anyhow::Error::msg)
    }
}

/// `wctl keygen NAME`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Writes the private key to NAME.key (readable by its owner only) and the public key to NAME.pub.
    name: PathBuf,
}

/// `wctl sign --key NAME.key MODULE`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The private key from `wctl keygen`.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The module; its signature goes to MODULE.sig and to standard output (for the pod annotation
    /// `wharf.dev/signature.<container>`).
    module: PathBuf,
}

/// `wctl verify --key NAME.pub MODULE`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A trusted public key.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The signature file [default: MODULE.sig].
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// The module.
    module: PathBuf,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn digest_of(module: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(module).with_context(|| format!("cannot read {}", module.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let (private, public) = host::trust::generate().map_err(anyhow::Error::msg)?;
    let (key, public_file) = (with_suffix(&args.name, ".key"), with_suffix(&args.name, ".pub"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    #[cfg(not(unix))]
    pki::warn_not_owner_only();
    options
        .open(&key)
        .and_then(|mut f| f.write_all(format!("{private}\n").as_bytes()))
        .with_context(|| format!("cannot write {} (it must not exist yet)", key.display()))?;
    std::fs::write(&public_file, format!("{public}\n"))
        .with_context(|| format!("cannot write {}", public_file.display()))?;
    println!("private key {}, public key {}", key.display(), public_file.display());
    Ok(())
}

pub fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let key =
        std::fs::read_to_string(&args.key).with_context(|| format!("cannot read {}", args.key.display()))?;
    let signature = host::trust::sign(&key, &digest_of(&args.module)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.key.display()))?;
    let file = with_suffix(&args.module, ".sig");
    std::fs::write(&file, format!("{signature}\n"))
        .with_context(|| format!("cannot write {}", file.display()))?;
    println!("{signature}");
    Ok(())
}

pub fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let trust = host::trust::Trust::load(&[&args.key], true).map_err(anyhow::Error::msg)?;
    let file = args.signature.clone().unwrap_or_else(|| with_suffix(&args.module, ".sig"));
    let signature =
        std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let digest = digest_of(&args.module)?;
    if let Err(why) = trust.judge(true, false, &digest, Some(&signature)) {
        bail!("{why}");
    }
    println!("{}: signature verified (sha256:{digest})", args.module.display());
    Ok(())
}
