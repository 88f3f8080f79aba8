//! Writes lines to stdout as fast as it can, forever.

use std::io::Write;

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let line = "x".repeat(200);
    let mut n: u64 = 0;
    loop {
        if writeln!(out, "{n} {line}").is_err() {
            return;
        }
        n += 1;
    }
}
