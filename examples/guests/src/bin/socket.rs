//! Tries to open network sockets and prints what happened: `<what>: denied <error>` or `<what>: OPENED`.
//!
//! Usage: `socket <host:port to connect to> [<address:port to listen on>...]` (listening on `127.0.0.1:0` when
//! none is given); each listener prints `listen <address>: OPENED <where it listens>` or `listen <address>:
//! denied <error>`. Last it sends one UDP datagram, `ping`, to the same host and port: `udp send: OPENED` or
//! `udp send: denied <error>`.

fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:80".to_owned());
    match std::net::TcpStream::connect(&target) {
        Ok(_) => println!("connect: OPENED"),
        Err(e) => println!("connect: denied {e}"),
    }
    let mut listens: Vec<String> = std::env::args().skip(2).collect();
    if listens.is_empty() {
        listens.push("127.0.0.1:0".to_owned());
    }
    for address in listens {
        match std::net::TcpListener::bind(&address) {
            Ok(listener) => {
                let at = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
                println!("listen {address}: OPENED {at}");
            }
            Err(e) => println!("listen {address}: denied {e}"),
        }
    }
    match std::net::UdpSocket::bind("127.0.0.1:0") {
        Ok(_) => println!("udp: OPENED"),
        Err(e) => println!("udp: denied {e}"),
    }
    let sent = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|socket| socket.send_to(b"ping", &target));
    match sent {
        Ok(_) => println!("udp send: OPENED"),
        Err(e) => println!("udp send: denied {e}"),
    }
    println!("socket done");
}
