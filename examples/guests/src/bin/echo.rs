//! A TCP echo server (WASIp2 sockets): listens on its argument (`ADDRESS:PORT`, e.g. `$(POD_IP):7000`) and sends
//! every connection's bytes back, one connection after another.

use std::io::{Read, Write};

fn main() {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let listener = match std::net::TcpListener::bind(&address) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {address}: {e}");
            std::process::exit(1);
        }
    };
    println!("echoing on {address}");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut buffer = [0u8; 16 << 10];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if stream.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            }
        }
    }
}
