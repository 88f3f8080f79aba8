//! Panics (a trap under `panic = "abort"`), or with `unreachable` executes the wasm `unreachable` instruction.

fn main() {
    println!("about to fail");
    if std::env::args().any(|a| a == "unreachable") {
        std::process::abort();
    }
    let v: Vec<u32> = Vec::new();
    let i = std::hint::black_box(3);
    println!("{}", v[i]);
}
