//! A worker configured by a ConfigMap and a Secret: it takes batches from its queue until its pod is deleted,
//! then finishes the batch in hand and exits 0 within the grace period.
//!
//! The ConfigMap arrives as environment variables (`envFrom`): `QUEUE` (required), `BATCH_SIZE` (10) and
//! `INTERVAL_MS` (2000). The Secret is mounted as files: `username` and `token` under `CREDENTIALS_DIR`
//! (`/etc/worker/credentials`). The worker logs who it works as and a fingerprint of the token, never the
//! token itself. (The queue is simulated: each batch is `BATCH_SIZE` items of work.)

use std::process::ExitCode;
use std::time::Duration;

use guest_sdk::config::{self, Secret};
use guest_sdk::{log, shutdown};

/// What the worker is told by its configuration.
struct Settings {
    queue: String,
    batch_size: u32,
    interval: Duration,
    username: String,
    token: Secret,
}

fn main() -> ExitCode {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(e) => {
            log::error!("cannot start: bad configuration", error = e.to_string());
            return ExitCode::FAILURE;
        }
    };
    log::info!(
        "worker started",
        queue = settings.queue,
        batch_size = settings.batch_size,
        user = settings.username,
        token_fingerprint = fingerprint(&settings.token)
    );
    let mut batches = 0u64;
    while !shutdown::requested() {
        batches += 1;
        log::info!("processed a batch", queue = settings.queue, batch = batches, items = settings.batch_size);
        shutdown::sleep(settings.interval);
    }
    log::info!("termination notice: stopping", batches = batches);
    ExitCode::SUCCESS
}

fn settings() -> Result<Settings, config::Error> {
    let credentials = config::var_or("CREDENTIALS_DIR", "/etc/worker/credentials")?;
    Ok(Settings {
        queue: config::var("QUEUE")?,
        batch_size: config::parse_or("BATCH_SIZE", 10)?,
        interval: Duration::from_millis(config::parse_or("INTERVAL_MS", 2000)?),
        username: config::file(format!("{credentials}/username"))?,
        token: config::secret_file(format!("{credentials}/token"))?,
    })
}

/// The first 8 hex digits of the token's FNV-1a hash: enough to tell which token a worker holds (compare with
/// `printf %s "$TOKEN" | ...` of the same hash), too little to recover it.
fn fingerprint(token: &Secret) -> String {
    let hash = token.expose().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{:08x}", hash >> 32)
}
