//! Runs Python's imaplib (an independent client) against the session over
//! a real TCP socket. Needs python3; skipped loudly if it is missing and
//! CI is not set, fails under CI=true.

mod common;
#[path = "common/tcp.rs"]
mod tcp;

use std::process::Command;

fn have_python() -> bool {
    Command::new("python3").arg("--version").output().map_or(false, |o| o.status.success())
}

#[test]
fn python_imaplib_against_tcp_adapter() {
    if !have_python() {
        if std::env::var("CI").map_or(false, |v| !v.is_empty() && v != "false" && v != "0") {
            panic!("python3 is required under CI (run mail/imap/tests/setup.sh)");
        }
        eprintln!("\n!!! SKIPPING python_imaplib_against_tcp_adapter: python3 not found !!!\n");
        return;
    }
    let mut store = mail_imap::MemStore::new();
    store.deliver("INBOX", common::MSG1);
    let port = tcp::spawn_server("127.0.0.1:0", tcp::Shared::new(store));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/imaplib_client.py");
    let out = Command::new("timeout").args(["60", "python3", script, &port.to_string()]).output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "imaplib client failed:\n{}\n{}", stdout, stderr);
    assert!(stdout.contains("all checks passed"), "{}", stdout);
}
