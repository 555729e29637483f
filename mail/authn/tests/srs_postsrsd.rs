//! SRS against the real postsrsd (Debian package postsrsd, 1.x): we start
//! the daemon on loopback ports with a secret file and talk to its Postfix
//! TCP lookup tables. postsrsd reads the clock itself, so the tests compare
//! addresses only when both sides produced the same day stamp, and check
//! reversal both ways (valid for 21 days, whatever the day).

mod common;
use mail_authn::srs::{Srs, SrsError};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DOMAIN: &str = "fwd.example.org";
const SECRET: &str = "postsrsd-interop-secret";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Daemon {
    child: Child,
    fwd: u16,
    rev: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn postsrsd_path() -> Option<String> {
    ["/usr/sbin/postsrsd", "/usr/bin/postsrsd"].iter().find(|p| std::path::Path::new(p).exists()).map(|p| p.to_string())
}

fn start() -> Option<Daemon> {
    let bin = postsrsd_path()?;
    let dir = std::env::temp_dir().join(format!("authn-postsrsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let (fwd, rev) = (free_port(), free_port());
    let child = Command::new(bin)
        .arg(format!("-s{}", secret.display()))
        .arg(format!("-d{DOMAIN}"))
        .arg(format!("-f{fwd}"))
        .arg(format!("-r{rev}"))
        .arg("-l127.0.0.1")
        .arg("-4")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let d = Daemon { child, fwd, rev };
    // Wait for the listeners (readiness, not a timing assertion).
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", fwd)).is_ok() && TcpStream::connect(("127.0.0.1", rev)).is_ok() {
            return Some(d);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("postsrsd did not start listening");
}

/// Postfix tcp_table: "get <key>\n" -> "200 <value>\n" | "500 ..." | "400 ...".
fn get(port: u16, key: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let enc: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"@.-_=+".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    s.write_all(format!("get {enc}\n").as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    let line = line.trim_end();
    match line.strip_prefix("200 ") {
        Some(v) => Ok(decode(v)),
        None => Err(line.to_string()),
    }
}

fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn matches_postsrsd() {
    if postsrsd_path().is_none() {
        common::run_setup();
    }
    let Some(d) = start() else {
        common::missing("postsrsd (Debian package postsrsd)");
        return;
    };
    let ours = Srs::new(DOMAIN, SECRET.as_bytes());
    let senders = ["alice@example.com", "Bob.Smith@Example.COM", "list-bounces+x@lists.example.net"];
    let mut checks = 0;
    for s in senders {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let theirs = get(d.fwd, s).expect("postsrsd forward");
        let mine = ours.forward(s, now).unwrap();
        // Same day stamp => byte-identical address.
        let tt = |a: &str| a.split('=').nth(2).map(String::from);
        if tt(&theirs) == tt(&mine) {
            assert_eq!(mine, theirs, "forward of {s}");
            checks += 1;
        }
        // Each reverses the other's.
        assert_eq!(ours.reverse(&theirs, now).unwrap().to_ascii_lowercase(), s.to_ascii_lowercase());
        assert_eq!(get(d.rev, &mine).unwrap().to_ascii_lowercase(), s.to_ascii_lowercase());
        checks += 2;
        // A forged hash is refused by both.
        let mut forged = mine.clone().into_bytes();
        forged[5] = if forged[5].eq_ignore_ascii_case(&b'q') { b'z' } else { b'q' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(get(d.rev, &forged).is_err(), "postsrsd accepted {forged}");
        assert!(matches!(ours.reverse(&forged, now), Err(SrsError::BadHash) | Err(SrsError::Malformed)));
        checks += 2;
    }
    // SRS1: an SRS0 address from another forwarder.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let foreign = Srs::new("other.example", b"other").forward("carol@example.com", now).unwrap();
    let theirs = get(d.fwd, &foreign).unwrap();
    assert_eq!(ours.forward(&foreign, now).unwrap(), theirs);
    assert_eq!(ours.reverse(&theirs, now).unwrap(), foreign);
    assert_eq!(get(d.rev, &theirs).unwrap(), foreign);
    checks += 3;
    // Expired: an address stamped 30 days ago is refused by both.
    let old = ours.forward("alice@example.com", now - 30 * 86_400).unwrap();
    assert_eq!(ours.reverse(&old, now), Err(SrsError::Expired));
    assert!(get(d.rev, &old).is_err());
    checks += 2;
    eprintln!("postsrsd interop: {checks} passed, 0 failed");
}
