//! A scriptable echo: prints its arguments and environment, then runs each argument as a step.
//!
//! Steps: `sleep:MS`, `exit:CODE`, `cat:PATH`, `write:PATH:TEXT`, `append:PATH:TEXT`, `fill:PATH:BYTES` (write
//! that many bytes), `ls:PATH`, `cwd`, `forever` (sleep forever), `stderr:TEXT`, `eof` (read stdin to its end: the
//! node's termination notice). Anything else is printed as is.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("args: {}", args.join(" "));
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    for (k, v) in &env {
        println!("env {k}={v}");
    }
    for arg in args.iter().skip(1) {
        step(arg);
        let _ = std::io::stdout().flush();
    }
}

fn step(arg: &str) {
    let (op, rest) = arg.split_once(':').unwrap_or((arg, ""));
    match op {
        "sleep" => std::thread::sleep(std::time::Duration::from_millis(rest.parse().unwrap_or(0))),
        "exit" => std::process::exit(rest.parse().unwrap_or(1)),
        "forever" => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        "cat" => match std::fs::read_to_string(rest) {
            Ok(text) => println!("cat {rest}: ok {}", text.trim_end()),
            Err(e) => println!("cat {rest}: err {e}"),
        },
        "write" | "append" => {
            let (path, text) = rest.split_once(':').unwrap_or((rest, ""));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(op == "append")
                .truncate(op == "write")
                .open(path);
            match file.and_then(|mut f| writeln!(f, "{text}")) {
                Ok(()) => println!("{op} {path}: ok"),
                Err(e) => println!("{op} {path}: err {e}"),
            }
        }
        "fill" => {
            let (path, bytes) = rest.split_once(':').unwrap_or((rest, "0"));
            match fill(path, bytes.parse().unwrap_or(0)) {
                Ok(()) => println!("fill {path}: ok"),
                Err(e) => println!("fill {path}: err {e}"),
            }
        }
        "ls" => match std::fs::read_dir(rest) {
            Ok(entries) => {
                let mut names: Vec<String> =
                    entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
                names.sort();
                println!("ls {rest}: ok {}", names.join(","));
            }
            Err(e) => println!("ls {rest}: err {e}"),
        },
        "cwd" => match std::env::current_dir() {
            Ok(dir) => println!("cwd: ok {}", dir.display()),
            Err(e) => println!("cwd: err {e}"),
        },
        "stderr" => eprintln!("{rest}"),
        "eof" => {
            let mut input = Vec::new();
            match std::io::Read::read_to_end(&mut std::io::stdin(), &mut input) {
                Ok(n) => println!("stdin: eof after {n} bytes"),
                Err(e) => println!("stdin: err {e}"),
            }
        }
        _ => println!("{arg}"),
    }
}

/// Writes `bytes` bytes to `path` in chunks, so that a large file never sits in the guest's memory.
fn fill(path: &str, bytes: u64) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let chunk = [b'x'; 64 << 10];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}
