//! Tries to open network sockets and prints what happened: `<what>: denied <error>` or `<what>: OPENED`.
//!
//! Usage: `socket <host:port to connect to>`.

fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:80".to_owned());
    match std::net::TcpStream::connect(&target) {
        Ok(_) => println!("connect: OPENED"),
        Err(e) => println!("connect: denied {e}"),
    }
    match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(_) => println!("listen: OPENED"),
        Err(e) => println!("listen: denied {e}"),
    }
    match std::net::UdpSocket::bind("127.0.0.1:0") {
        Ok(_) => println!("udp: OPENED"),
        Err(e) => println!("udp: denied {e}"),
    }
    println!("socket done");
}
