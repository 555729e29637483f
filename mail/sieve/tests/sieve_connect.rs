//! ManageSieve against a real client: Debian's `sieve-connect` talks to our
//! [`Session`] over a loopback TCP socket (cleartext, PLAIN allowed by
//! config: TLS is the kernel's job, covered by the unit tests' STARTTLS
//! dialogue). The client uploads, lists, activates, downloads, checks,
//! deactivates and deletes scripts; the store it writes to is checked.
//!
//! Installed by tests/setup.sh; skipped loudly without it unless CI is set.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

use mail_sieve::managesieve::{Config, Event, QuotaKind, Reply, Request, Session};

#[derive(Default)]
struct Store {
    scripts: BTreeMap<String, String>,
    active: Option<String>,
}

impl Store {
    fn answer(&mut self, r: Request) -> Reply {
        match r {
            Request::Authenticate { user, password, .. } => {
                if user == "bob" && password == "s3cret" {
                    Reply::AuthOk
                } else {
                    Reply::AuthFailed
                }
            }
            Request::ListScripts => Reply::Scripts(
                self.scripts.keys().map(|k| (k.clone(), self.active.as_deref() == Some(k.as_str()))).collect(),
            ),
            Request::GetScript { name } => {
                self.scripts.get(&name).map_or(Reply::NotFound, |s| Reply::Script(s.clone()))
            }
            Request::PutScript { name, content } => {
                if self.scripts.len() >= 10 && !self.scripts.contains_key(&name) {
                    return Reply::Quota(QuotaKind::MaxScripts);
                }
                self.scripts.insert(name, content);
                Reply::Done
            }
            Request::DeleteScript { name } => {
                if self.active.as_deref() == Some(name.as_str()) {
                    Reply::Active
                } else if self.scripts.remove(&name).is_some() {
                    Reply::Done
                } else {
                    Reply::NotFound
                }
            }
            Request::RenameScript { old, new } => match self.scripts.remove(&old) {
                Some(s) => {
                    self.scripts.insert(new, s);
                    Reply::Done
                }
                None => Reply::NotFound,
            },
            Request::SetActive { name: None } => {
                self.active = None;
                Reply::Done
            }
            Request::SetActive { name: Some(n) } => {
                if self.scripts.contains_key(&n) {
                    self.active = Some(n);
                    Reply::Done
                } else {
                    Reply::NotFound
                }
            }
            Request::HaveSpace { .. } => Reply::Done,
        }
    }
}

/// Serves one connection with a Session until the client leaves.
fn serve(mut sock: TcpStream, store: Arc<Mutex<Store>>) {
    let cfg = Config { tls_available: false, allow_plain_without_tls: true, ..Config::default() };
    let mut s = Session::new(cfg, false);
    let mut buf = [0u8; 4096];
    loop {
        while let Some(e) = s.poll() {
            match e {
                Event::Write(b) => {
                    if sock.write_all(&b).is_err() {
                        return;
                    }
                }
                Event::Request(r) => {
                    let a = store.lock().unwrap().answer(r);
                    s.reply(a);
                }
                Event::StartTls => panic!("STARTTLS was not offered"),
                Event::Close => return,
            }
        }
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => s.feed(&buf[..n]),
        }
    }
}

fn have_tool() -> bool {
    Command::new("sieve-connect").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

fn client(port: u16, args: &[&str]) -> (bool, String) {
    let mut c = Command::new("sieve-connect")
        .args(["--server", "127.0.0.1", "--port", &port.to_string(), "--user", "bob", "--passwordfd", "0"])
        .args(["--notlsverify", "--clearchan", "--authmech", "PLAIN"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sieve-connect");
    c.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let o = c.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.success(), text)
}

#[test]
fn sieve_connect_dialogue() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    if !have_tool() {
        let _ = Command::new("sh").arg(dir.join("setup.sh")).status();
    }
    if !have_tool() {
        if std::env::var_os("CI").is_some() {
            panic!("sieve-connect is missing and CI is set: run mail/sieve/tests/setup.sh");
        }
        eprintln!("\n\n*** SKIPPING the sieve-connect test: sieve-connect not installed ***\n\n");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = Arc::new(Mutex::new(Store::default()));
    let st = store.clone();
    thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let st = st.clone();
            thread::spawn(move || serve(sock, st));
        }
    });

    let tmp = std::env::temp_dir().join(format!("sieve-connect-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let good = tmp.join("good.sieve");
    let script = "require [\"fileinto\", \"mailbox\"];\r\nif header :contains \"X-Spam\" \"Yes\" {\r\n  fileinto :create \"Junk\";\r\n  stop;\r\n}\r\n";
    std::fs::write(&good, script).unwrap();
    let bad = tmp.join("bad.sieve");
    std::fs::write(&bad, "require \"fileinto\";\nif true {\n  frobnicate;\n}\n").unwrap();
    let good_s = good.to_str().unwrap();
    let bad_s = bad.to_str().unwrap();

    let (ok, out) = client(port, &["--upload", "--localsieve", good_s, "--remotesieve", "spam"]);
    assert!(ok, "upload failed: {out}");
    assert_eq!(store.lock().unwrap().scripts.get("spam").map(String::as_str), Some(script));

    let (ok, out) = client(port, &["--upload", "--localsieve", bad_s, "--remotesieve", "bad"]);
    assert!(!ok, "a bad script must be refused: {out}");
    assert!(out.contains("line 3:3"), "error names the position: {out}");
    assert!(!store.lock().unwrap().scripts.contains_key("bad"));

    let (ok, out) = client(port, &["--checkscript", "--localsieve", bad_s]);
    assert!(!ok || out.contains("line 3:3"), "{out}");

    let (ok, out) = client(port, &["--activate", "--remotesieve", "spam"]);
    assert!(ok, "{out}");
    assert_eq!(store.lock().unwrap().active.as_deref(), Some("spam"));

    let (ok, out) = client(port, &["--list"]);
    assert!(ok, "{out}");
    assert!(out.contains("spam"), "{out}");

    let down = tmp.join("down.sieve");
    let (ok, out) = client(port, &["--download", "--remotesieve", "spam", "--localsieve", down.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(std::fs::read_to_string(&down).unwrap(), script);

    let (ok, out) = client(port, &["--delete", "--remotesieve", "spam"]);
    assert!(!ok, "the active script cannot be deleted: {out}");

    let (ok, out) = client(port, &["--deactivate"]);
    assert!(ok, "{out}");
    assert_eq!(store.lock().unwrap().active, None);
    let (ok, out) = client(port, &["--delete", "--remotesieve", "spam"]);
    assert!(ok, "{out}");
    assert!(store.lock().unwrap().scripts.is_empty());

    // Wrong password.
    let mut c = Command::new("sieve-connect")
        .args(["--server", "127.0.0.1", "--port", &port.to_string(), "--user", "bob", "--passwordfd", "0"])
        .args(["--notlsverify", "--clearchan", "--authmech", "PLAIN", "--list"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"wrong\n").unwrap();
    assert!(!c.wait_with_output().unwrap().status.success());
    let _ = std::fs::remove_dir_all(&tmp);
}
