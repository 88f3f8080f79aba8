//! Allocates and touches memory in 1 MiB steps until the host refuses to grow it.

fn main() {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let chunk = vec![7u8; 1 << 20];
        chunks.push(chunk);
        if chunks.len() % 16 == 0 {
            println!("allocated {} MiB", chunks.len());
        }
    }
}
