//! Prints `tick <n> <unix millis>` every 100 ms, so a test can measure how late its timers fire.

fn main() {
    let count: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(u64::MAX);
    let start = std::time::Instant::now();
    for n in 0..count {
        let due = start + std::time::Duration::from_millis(100 * n);
        if let Some(wait) = due.checked_duration_since(std::time::Instant::now()) {
            std::thread::sleep(wait);
        }
        println!("tick {n} {}", guests::now_millis());
    }
}
