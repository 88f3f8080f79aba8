//! `wctl token create`: a bootstrap token for joining nodes (`wctl node --token`), as `kubeadm token create`
//! makes one: a Secret `kube-system/bootstrap-token-<id>` that authenticates as `system:bootstrap:<id>` in
//! `system:bootstrappers` until it expires.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

/// Arguments of `wctl token create`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// Kubeconfig of a user who may create Secrets in kube-system [default: $KUBECONFIG or ~/.kube/config].
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// How long the token works, such as 30m, 24h or 7d.
    #[arg(long, default_value = "24h", value_parser = parse_ttl)]
    ttl: Duration,
}

pub async fn create(args: TokenArgs) -> anyhow::Result<()> {
    let client = match &args.kubeconfig {
        Some(path) => super::client_from_kubeconfig(path).await?,
        None => kube::Client::try_default().await.context("cannot find a kubeconfig; pass --kubeconfig")?,
    };
    let (id, secret) = (random(6), random(16));
    let expiration = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::try_from(args.ttl)?)
        .context("--ttl is too long")?;
    let object: Secret = serde_json::from_value(json!({
        "metadata": {"name": format!("bootstrap-token-{id}"), "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "stringData": {"token-id": id, "token-secret": secret, "usage-bootstrap-authentication": "true",
                       "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                       "description": "made by wctl token create"},
    }))?;
    let secrets: Api<Secret> = Api::namespaced(client, "kube-system");
    secrets.create(&PostParams::default(), &object).await.map_err(|e| match e {
        kube::Error::Api(status) => anyhow::anyhow!("cannot create the token: {}", status.message),
        other => anyhow::anyhow!("cannot create the token: {other}"),
    })?;
    println!("{id}.{secret}");
    Ok(())
}

/// `len` characters of `[a-z0-9]`, as bootstrap tokens are made of.
fn random(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut byte = [0u8; 1];
        if ring::rand::SecureRandom::fill(&rng, &mut byte).is_err() {
            continue;
        }
        // 252 = 7 × 36: rejecting the rest keeps every character equally likely.
        if byte[0] < 252 {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    out
}

/// `30m`, `24h`, `7d` (or `90s`).
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as 30m, 24h or 7d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{text:?}: use s, m, h or d")),
    };
    if seconds == 0 {
        return Err("--ttl must be longer than zero".into());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_kubeadm_shape_and_ttls_parse() {
        let id = random(6);
        assert!(id.len() == 6 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_ttl("0h").is_err() && parse_ttl("soon").is_err() && parse_ttl("3w").is_err());
    }
}
