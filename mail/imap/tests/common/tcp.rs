//! Host-only TCP adapter: serves a shared MemStore over a real socket,
//! one thread per connection, so that real clients (Python imaplib,
//! mbsync, Thunderbird) can talk to the sans-IO session. Cleartext only;
//! user bob, password secret.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_imap::{Action, AuthResult, Config, MemStore, Session};

/// Shared state: the store and a change counter that wakes idlers.
#[derive(Clone)]
pub struct Shared {
    pub store: Arc<Mutex<MemStore>>,
    pub generation: Arc<AtomicU64>,
}

impl Shared {
    pub fn new(store: MemStore) -> Self {
        Shared { store: Arc::new(Mutex::new(store)), generation: Arc::new(AtomicU64::new(0)) }
    }
}

/// Binds `addr` and serves connections in background threads; returns
/// the bound port.
pub fn spawn_server(addr: &str, shared: Shared) -> u16 {
    let listener = TcpListener::bind(addr).expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || serve(conn, shared));
        }
    });
    port
}

fn config() -> Config {
    Config {
        allow_plaintext_auth: true,
        starttls_available: false,
        hostname: "test.example".into(),
        condstore: true,
        ..Config::default()
    }
}

pub fn serve(mut conn: TcpStream, shared: Shared) {
    let mut session = Session::new(config());
    conn.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut seen = shared.generation.load(Ordering::SeqCst);
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        // Process whatever is buffered, then write the output.
        let mut close = false;
        loop {
            let n = session.feed(&pending);
            pending.drain(..n);
            let action = {
                let mut store = shared.store.lock().unwrap();
                session.process(&mut *store)
            };
            match action {
                Action::Authenticate { user, password, .. } => {
                    let ok = user == "bob" && password == b"secret";
                    session.auth_result(if ok { AuthResult::Ok } else { AuthResult::Failed });
                }
                Action::Write => {
                    let out = session.take_output();
                    if conn.write_all(&out).is_err() {
                        return;
                    }
                }
                Action::Wait if !pending.is_empty() => continue,
                Action::Wait => break,
                Action::StartTls => unreachable!("STARTTLS is not offered"),
                Action::Close => {
                    close = true;
                    break;
                }
            }
        }
        let out = session.take_output();
        if !out.is_empty() {
            if conn.write_all(&out).is_err() {
                return;
            }
            // Anything written may follow a change; wake the others.
            seen = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        }
        if close {
            let _ = conn.shutdown(std::net::Shutdown::Both);
            return;
        }
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                let g = shared.generation.load(Ordering::SeqCst);
                if g != seen {
                    seen = g;
                    session.mailbox_changed();
                }
            }
            Err(_) => return,
        }
    }
}
