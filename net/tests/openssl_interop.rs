//! Interop with an independent TLS implementation: OpenSSL's s_client and
//! s_server talk to our sans-IO TlsSession over a loopback std TCP socket.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use net::tls::*;
use rustls::pki_types::UnixTime;

#[derive(Debug)]
struct SysTime;
impl rustls::time_provider::TimeProvider for SysTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::now())
    }
}

fn have_openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("openssl is required under CI (run net/tests/setup.sh)");
        }
        eprintln!("!!!!! SKIPPING openssl interop test: openssl not installed (net/tests/setup.sh installs it) !!!!!");
    }
    ok
}

/// Drive a session over a blocking socket until `done`.
fn drive(sess: &mut TlsSession, sock: &mut TcpStream, mut done: impl FnMut(&mut TlsSession) -> bool) {
    sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..400 {
        let out = sess.pending_tls().to_vec();
        if !out.is_empty() {
            sock.write_all(&out).unwrap();
            sess.consume_tls(out.len());
        }
        if done(sess) {
            return;
        }
        match sock.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let mut off = 0;
                while off < n {
                    off += sess.feed(&buf[off..n]).expect("tls error");
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("interop timed out");
}

fn cert(dir: &std::path::Path) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["mx.example.org".to_string()]).unwrap();
    let (c, k) = (ck.cert.pem(), ck.key_pair.serialize_pem());
    std::fs::write(dir.join("cert.pem"), &c).unwrap();
    std::fs::write(dir.join("key.pem"), &k).unwrap();
    (c, k)
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("net-interop-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn openssl_s_client_against_our_server() {
    if !have_openssl() {
        return;
    }
    let dir = tmpdir("srv");
    let (c, k) = cert(&dir);
    let mut r = SniResolver::new();
    r.add(
        "mx.example.org",
        certified_key(&provider(), certs_from_pem(c.as_bytes()).unwrap(), key_from_pem(k.as_bytes()).unwrap()).unwrap(),
    );
    let cfg = server_config(Arc::new(r), Arc::new(SysTime)).unwrap();
    for version in ["-tls1_3", "-tls1_2"] {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut child = Command::new("timeout")
            .args([
                "20",
                "openssl",
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-servername",
                "mx.example.org",
                "-quiet",
                version,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (mut sock, _) = l.accept().unwrap();
        let mut sess = TlsSession::server(cfg.clone(), TlsLimits::default()).unwrap();
        drive(&mut sess, &mut sock, |s| !s.is_handshaking());
        assert_eq!(sess.sni(), Some("mx.example.org"));
        child.stdin.as_mut().unwrap().write_all(b"ping from openssl\n").unwrap();
        let mut got = Vec::new();
        drive(&mut sess, &mut sock, |s| {
            let mut b = [0u8; 256];
            let n = s.read(&mut b);
            got.extend_from_slice(&b[..n]);
            got.ends_with(b"\n")
        });
        assert_eq!(got, b"ping from openssl\n", "{version}");
        sess.write(b"pong from rustls\n").unwrap();
        sess.close().unwrap();
        let out = sess.pending_tls().to_vec();
        sock.write_all(&out).unwrap();
        drop(child.stdin.take());
        let mut stdout = String::new();
        child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        let _ = child.wait();
        assert!(stdout.contains("pong from rustls"), "{version}: s_client printed {stdout:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn our_client_against_openssl_s_server() {
    if !have_openssl() {
        return;
    }
    let dir = tmpdir("cli");
    cert(&dir);
    // Find a free port, then let s_server bind it.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new("timeout")
        .args(["20", "openssl", "s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .args(["-quiet", "-naccept", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sock = None;
    for _ in 0..100 {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            sock = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut sock = sock.expect("s_server did not start");
    let ccfg = client_config(ClientVerify::Opportunistic, Arc::new(SysTime)).unwrap();
    let mut sess = TlsSession::client(ccfg, "mx.example.org", TlsLimits::default()).unwrap();
    drive(&mut sess, &mut sock, |s| !s.is_handshaking());
    sess.write(b"hello from rustls\n").unwrap();
    child.stdin.as_mut().unwrap().write_all(b"hello from openssl\n").unwrap();
    child.stdin.as_mut().unwrap().flush().unwrap();
    let mut got = Vec::new();
    drive(&mut sess, &mut sock, |s| {
        let mut b = [0u8; 256];
        let n = s.read(&mut b);
        got.extend_from_slice(&b[..n]);
        got.ends_with(b"\n")
    });
    assert_eq!(got, b"hello from openssl\n");
    sess.close().unwrap();
    let out = sess.pending_tls().to_vec();
    let _ = sock.write_all(&out);
    drop(sock);
    let mut stdout = String::new();
    let mut so = child.stdout.take().unwrap();
    // s_server -naccept 1 exits once the connection is closed (or `timeout` ends it).
    let _ = so.read_to_string(&mut stdout);
    let _ = child.wait();
    assert!(stdout.contains("hello from rustls"), "s_server printed {stdout:?}");
    let _ = std::fs::remove_dir_all(dir);
}
