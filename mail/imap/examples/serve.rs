//! Serves an in-memory mailbox over cleartext IMAP for manual testing
//! with real clients: `cargo run -p mail-imap --example serve [addr]`
//! (default 127.0.0.1:1143; user bob, password secret).

#[path = "../tests/common/tcp.rs"]
mod tcp;

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:1143".into());
    let mut store = mail_imap::MemStore::new();
    store.deliver(
        "INBOX",
        b"From: demo@example.org\r\nTo: bob@example.org\r\nSubject: Welcome\r\n\r\nHello from mail-imap.\r\n",
    );
    let port = tcp::spawn_server(&addr, tcp::Shared::new(store));
    eprintln!("serving IMAP on port {} (bob/secret)", port);
    loop {
        std::thread::park();
    }
}
