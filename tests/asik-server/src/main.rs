//! `asik-server [PORT]`: the SATUSEHAT test double on 127.0.0.1, until interrupted.
#![allow(clippy::print_stdout)]

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let server = asik_server::start_on(asik_server::Config::default(), port)?;
    println!("auth-url {}", server.auth_url());
    println!("base-url {}", server.base_url());
    println!(
        "client-id {} client-secret {}",
        asik_server::CLIENT_ID,
        asik_server::CLIENT_SECRET
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
