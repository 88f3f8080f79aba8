//! A per-node daemon, run by a DaemonSet: one pod on every node, each reporting the node it runs on
//! (`NODE_NAME`, from the downward API's `spec.nodeName`) every `INTERVAL_MS` (5000) until its pod is deleted.
//! A node that joins the cluster gets a reporter of its own, and one that leaves takes its reporter along.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use guest_sdk::{config, log, shutdown};

fn main() -> ExitCode {
    let settings = config::var("NODE_NAME").and_then(|node| {
        let interval = Duration::from_millis(config::parse_or("INTERVAL_MS", 5000)?);
        Ok((node, interval, config::var_or("HOSTNAME", "unknown")?))
    });
    let (node, interval, pod) = match settings {
        Ok(settings) => settings,
        Err(e) => {
            log::error!("cannot start: bad configuration", error = e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut reports = 0u64;
    while !shutdown::requested() {
        reports += 1;
        log::info!(
            "node report",
            node = node,
            pod = pod,
            report = reports,
            uptime_s = started.elapsed().as_secs()
        );
        shutdown::sleep(interval);
    }
    log::info!("termination notice: stopping", node = node, reports = reports);
    ExitCode::SUCCESS
}
