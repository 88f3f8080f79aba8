//! Tries to leave its sandbox and prints one line per attempt: `<name>: denied <error>` or `<name>: ESCAPED`.
//!
//! Usage: `fsprobe <writable dir> <read-only dir> <another pod's emptyDir path on the host>`.

use std::fs;
use std::io::Write;

fn report(name: &str, result: std::io::Result<String>) {
    match result {
        Ok(detail) => println!("{name}: ESCAPED {detail}"),
        Err(e) => println!("{name}: denied {e}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rw = args.get(1).map_or("/data", String::as_str);
    let ro = args.get(2).map_or("/config", String::as_str);
    let other = args.get(3).map_or("/tmp", String::as_str);

    report("dotdot", fs::read_to_string(format!("{rw}/../../../../etc/passwd")));
    report("absolute", fs::read_to_string("/etc/passwd"));
    report("other-pod", fs::read_to_string(format!("{other}/secret.txt")));
    report("other-pod-dotdot", fs::read_to_string(format!("{rw}/../../../../{other}/secret.txt")));
    // A symlink planted in the volume from outside (by the test, on the host), pointing out of it.
    report("host-symlink", fs::read_to_string(format!("{rw}/escape/passwd")));
    report(
        "readonly-write",
        fs::File::create(format!("{ro}/new.txt")).and_then(|mut f| f.write_all(b"x")).map(|()| String::new()),
    );
    report("readonly-remove", fs::read_dir(ro).and_then(|mut d| match d.next() {
        Some(Ok(entry)) => fs::remove_file(entry.path()).map(|()| entry.path().display().to_string()),
        _ => Err(std::io::Error::other("empty")),
    }));
    match fs::write(format!("{rw}/ok.txt"), b"fine") {
        Ok(()) => println!("writable: ok"),
        Err(e) => println!("writable: err {e}"),
    }
    println!("probe done");
}
