//! Allocates and touches memory in 1 MiB steps until the host refuses to grow it.
//!
//! By default it allocates infallibly, so the refusal aborts it (the pod ends OOMKilled). With the argument
//! `graceful` it asks with `try_reserve`, reports the refusal, frees what it holds and exits 0: a guest that
//! handles an allocation failure keeps running.

fn main() {
    let graceful = std::env::args().any(|a| a == "graceful");
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = Vec::new();
        if graceful && chunk.try_reserve_exact(1 << 20).is_err() {
            println!("refused after {} MiB", chunks.len());
            drop(chunks);
            println!("recovered");
            return;
        }
        chunk.resize(1 << 20, 7u8);
        chunks.push(chunk);
        if chunks.len() % 16 == 0 {
            println!("allocated {} MiB", chunks.len());
        }
    }
}
