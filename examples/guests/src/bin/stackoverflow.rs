//! Recurses without bound until the wasm stack overflows.

fn depth(n: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(n % 256) as usize] = n as u8;
    let mut next = *pad;
    std::hint::black_box(&mut next);
    depth(n + 1, &mut next) + u64::from(next[0])
}

fn main() {
    println!("recursing");
    let mut pad = [0u8; 256];
    println!("{}", depth(0, &mut pad));
}
