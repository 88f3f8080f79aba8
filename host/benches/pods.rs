//! Node-side pod costs, measured on the wasm runtime the agent uses (pooling allocator, epochs, the on-disk cache,
//! real sandboxes with log sinks): start latency with a cached module (store, WASI context, instantiation, and
//! the guest running to its first output), pods started per second, and resident memory per idle pod.
//!
//! Run: `cargo bench -p host --bench pods` (WHARF_BENCH_IDLE=1000,10000 sets the idle pod counts). Needs the
//! guests built (`cargo build --release --target wasm32-wasip1 --manifest-path examples/guests/Cargo.toml
//! --target-dir target/guests`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use host::logs::{LogLimits, LogSink};
use host::runtime::{Control, GuestSpec, Runtime, RuntimeConfig};
use host::sandbox::Sandbox;

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn sandbox(dir: &std::path::Path, n: usize, args: &[&str]) -> Sandbox {
    let (stdout, stderr) = LogSink::pair(&dir.join(format!("{n}/0.log")), LogLimits::default()).expect("log");
    Sandbox {
        argv: std::iter::once("hello").chain(args.iter().copied()).map(str::to_owned).collect(),
        env: Vec::new(),
        working_dir: None,
        mounts: Vec::new(),
        network: None,
        listening: Arc::default(),
        stdout,
        stderr,
    }
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = root.join("target/guests/wasm32-wasip1/release/hello.wasm");
    let bytes: Arc<[u8]> = std::fs::read(&wasm).expect("build the guests first (see the module docs)").into();
    let idle_counts: Vec<usize> = std::env::var("WHARF_BENCH_IDLE")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|n| n.parse().ok())
        .collect();
    let max = idle_counts.iter().copied().max().unwrap_or(1000).max(1000) as u32;
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let runtime = Runtime::new(&RuntimeConfig {
            cache_dir: dir.path().join("cache"),
            max_pods: max + 100,
            threads: 2,
        })
        .expect("runtime");
        println!("pooling allocator: {}", runtime.pooling());
        let program = runtime.load("bench", bytes.clone()).await.expect("compile");

        // Start latency: sequential pods that run to completion (hello prints its args and exits).
        let mut samples = Vec::new();
        for n in 0..2000 {
            let sb = sandbox(&dir.path().join("lat"), n, &[]);
            let t = Instant::now();
            let exit = runtime
                .run(
                    program.clone(),
                    GuestSpec {
                        wasi: sb.builder().expect("sandbox"),
                        memory_limit: None,
                        cpu: None,
                        usage: Arc::default(),
                        http: None,
                        network: None,
                    },
                    Arc::new(Control::new()),
                )
                .await;
            samples.push(t.elapsed());
            assert_eq!(exit.code, 0);
        }
        samples.sort();
        let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        println!("pod start+run (cached module, 2000 sequential): p50 {:?}  p99 {:?}", p(0.5), p(0.99));

        // Throughput: 4000 pods started concurrently.
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..4000 {
            let sb = sandbox(&dir.path().join("tp"), n, &[]);
            let (runtime, program) = (runtime.clone(), program.clone());
            tasks.spawn(async move {
                runtime
                    .run(
                        program,
                        GuestSpec {
                            wasi: sb.builder().expect("sandbox"),
                            memory_limit: None,
                            cpu: None,
                            usage: Arc::default(),
                            http: None,
                            network: None,
                        },
                        Arc::new(Control::new()),
                    )
                    .await
            });
        }
        while tasks.join_next().await.is_some() {}
        println!("pods started and completed per second: {:.0}", 4000.0 / t.elapsed().as_secs_f64());

        // Idle pods: guests that print and then sleep forever.
        for count in idle_counts {
            let before = rss_bytes();
            let mut controls = Vec::new();
            let mut tasks = tokio::task::JoinSet::new();
            for n in 0..count {
                let sb = sandbox(&dir.path().join(format!("idle{count}")), n, &["forever"]);
                let control = Arc::new(Control::new());
                controls.push(control.clone());
                let (runtime, program) = (runtime.clone(), program.clone());
                tasks.spawn(async move {
                    runtime
                        .run(
                            program,
                            GuestSpec {
                                wasi: sb.builder().expect("sandbox"),
                                memory_limit: None,
                                cpu: None,
                                usage: Arc::default(),
                                http: None,
                                network: None,
                            },
                            control,
                        )
                        .await
                });
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let after = rss_bytes();
            println!(
                "idle pods {count}: RSS +{} MiB, {:.1} KiB per idle pod",
                (after.saturating_sub(before)) >> 20,
                after.saturating_sub(before) as f64 / 1024.0 / count as f64
            );
            for c in &controls {
                c.kill();
            }
            while tasks.join_next().await.is_some() {}
        }
    });
}
