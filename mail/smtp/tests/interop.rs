//! Interoperability with an independent client: Python's `smtplib` talks to
//! the state machine over a real TCP socket (driven by a small std loop, the
//! same way the kernel drives it). Needs `python3`; skipped loudly when it is
//! missing unless `CI` is set (then the test fails).
use mail_smtp::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

fn tool_available(tool: &str, arg: &str) -> bool {
    match Command::new(tool).arg(arg).output() {
        Ok(o) if o.status.success() => true,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("{} is required for the interop tests (CI is set)", tool);
            }
            eprintln!("\n*** SKIPPING interop test: {} not found (run mail/smtp/tests/setup.sh) ***\n", tool);
            false
        }
    }
}

type Delivered = Vec<(Envelope, Vec<u8>, SessionFacts)>;

/// One connection driven to the end; returns the accepted messages.
fn serve(listener: TcpListener) -> Delivered {
    let (mut sock, _) = listener.accept().unwrap();
    let mut cfg = Config::new("mx.example.org");
    cfg.auth = AuthPolicy::Always;
    cfg.max_message_size = 100_000;
    cfg.data_chunk = 512;
    let mut s = Server::new(cfg);
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1460];
    let mut cur = Vec::new();
    let mut done = Vec::new();
    let mut progressed = true;
    loop {
        let out = s.take_output();
        sock.write_all(&out).unwrap();
        if s.is_closed() {
            break;
        }
        if pending.is_empty() || !progressed {
            let n = sock.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            pending.extend_from_slice(&buf[..n]);
        }
        progressed = false;
        loop {
            let used = s.feed(&pending);
            pending.drain(..used);
            let mut any = used > 0;
            while let Some(ev) = s.poll_event() {
                any = true;
                match ev {
                    Event::CheckRecipient(m) => {
                        let r = if m.local == "unknown" { Reply::user_unknown() } else { Reply::rcpt_ok() };
                        s.answer_recipient(r).unwrap();
                    }
                    Event::MessageStart => cur.clear(),
                    Event::Data(d) => cur.extend_from_slice(&d),
                    Event::MessageComplete(env) => {
                        done.push((env, std::mem::take(&mut cur), s.facts()));
                        s.answer_message(Reply::queued(&format!("Q{}", done.len()))).unwrap();
                    }
                    Event::Authenticate(a) => {
                        let ok = a.username == "alice" && a.password == "secret";
                        s.answer_auth(if ok { AuthAnswer::Success(a.username) } else { AuthAnswer::Invalid }).unwrap();
                    }
                    _ => {}
                }
            }
            progressed |= any;
            if !any {
                break;
            }
        }
    }
    done
}

#[test]
fn python_smtplib_client() {
    if !tool_available("python3", "--version") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve(listener));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtplib_client.py");
    let out = Command::new("python3").arg(script).arg(port.to_string()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "smtplib failed: {}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    let msgs = server.join().unwrap();

    // What the client saw.
    for needle in [
        "\"ehlo\": 250",
        "\"8bitmime\"",
        "\"chunking\"",
        "\"pipelining\"",
        "\"smtputf8\"",
        "\"enhancedstatuscodes\"",
        "\"size\": \"100000\"",
        "\"login\": 235",
        "\"refused1\": {\"unknown@example.org\": [550, \"5.1.1 Recipient address rejected: User unknown\"]}",
        "\"refused2\": {}",
        "\"big\": [552, \"5.3.4 Message size exceeds fixed maximum message size\"]",
        "\"bare\": [550, \"5.5.2 Error: bare <CR> or <LF> in message content; lines must end with <CR><LF>\"]",
        "\"norcpt\": {\"unknown@example.org\": [550,",
        "\"vrfy\": 502",
        "\"noop\": 250",
        "\"quit\": 221",
    ] {
        assert!(stdout.contains(needle), "missing {} in {}", needle, stdout);
    }

    // What the server delivered: smtplib's dot-stuffing undone exactly.
    assert_eq!(msgs.len(), 2, "{:?}", msgs);
    let (env, body, facts) = &msgs[0];
    assert_eq!(
        body.as_slice(),
        &b"Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n8bit \xc3\xa9\xff\r\nlast line without newline\r\n"[..]
    );
    assert_eq!(env.recipients.len(), 1);
    assert_eq!(env.declared_size, Some(body.len() as u64 - 2));
    assert_eq!(facts.helo, "client.example");
    assert_eq!(facts.auth_user.as_deref(), Some("alice"));
    let (env, body, _) = &msgs[1];
    assert!(env.smtputf8);
    assert_eq!(env.body, BodyType::EightBitMime);
    assert_eq!(env.sender.to_string(), "jörg@exämple.net");
    assert_eq!(body.as_slice(), "Subject: ünïcødé\r\n\r\nHallo Jörg\r\n".as_bytes());
}

#[test]
fn swaks_pipelined_client() {
    if !tool_available("swaks", "--version") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve(listener));
    let body = "Subject: swaks\n\n.starts with a dot\n..two\n.\nend";
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", port), "--pipeline", "--helo", "swaks.example"])
        .args(["--from", "a@example.net", "--to", "bob@example.org,carol@example.org"])
        .args(["--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret"])
        .args(["--data", body, "--timeout", "20"])
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "swaks failed:\n{}\n{}", transcript, String::from_utf8_lossy(&out.stderr));
    let msgs = server.join().unwrap();
    assert!(transcript.contains("250 2.0.0 Ok: queued as Q1"), "{}", transcript);
    assert!(transcript.contains("235 2.7.0 Authentication successful"), "{}", transcript);
    assert_eq!(msgs.len(), 1);
    let (env, body, facts) = &msgs[0];
    assert_eq!(env.recipients.len(), 2);
    assert_eq!(body.as_slice(), &b"Subject: swaks\r\n\r\n.starts with a dot\r\n..two\r\n.\r\nend\r\n"[..]);
    assert_eq!(facts.helo, "swaks.example");
}

#[test]
fn client_against_aiosmtpd() {
    use mail_smtp::client::*;
    use std::io::BufRead;
    use std::process::Stdio;
    let have = Command::new("python3").args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
    if !have {
        if std::env::var_os("CI").is_some() {
            panic!("python3 module aiosmtpd is required (CI is set): run mail/smtp/tests/setup.sh");
        }
        eprintln!("\n*** SKIPPING aiosmtpd interop test: aiosmtpd not installed (run mail/smtp/tests/setup.sh) ***\n");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/aiosmtpd_server.py");
    let mut child = Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port: u16 = first.strip_prefix("PORT ").unwrap().parse().unwrap();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();

    let content: &[u8] =
        b"Subject: from the unimail client\r\n\r\n.leading dot\r\n..two\r\nbare LF\n8bit \xc3\xa9\r\n.";
    let mut c = Client::new(ClientConfig { tls: TlsMode::Disabled, ..ClientConfig::new("client.example") });
    let mut jobs = vec![
        Job {
            sender: "jörg@example.net".into(),
            recipients: vec!["bob@example.org".into(), "unknown@example.org".into(), "carol@example.org".into()],
            size: Some(content.len() as u64),
            eight_bit: true,
            smtputf8: true,
        },
        Job {
            sender: "".into(),
            recipients: vec!["unknown2@example.org".into()],
            size: None,
            eight_bit: false,
            smtputf8: false,
        },
    ]
    .into_iter();
    let mut outcomes = Vec::new();
    let mut ready_ext = None;
    let mut handle = |c: &mut Client| {
        while let Some(ev) = c.poll_event() {
            match ev {
                ClientEvent::Ready(e) => {
                    ready_ext = Some(e);
                    c.send(jobs.next().unwrap()).unwrap();
                }
                ClientEvent::Done(o) => {
                    outcomes.push(o);
                    match jobs.next() {
                        Some(j) => c.send(j).unwrap(),
                        None => c.quit(),
                    }
                }
                ClientEvent::SendContent => {
                    c.write_content(content);
                    c.end_content();
                }
                ClientEvent::Failed(e) => panic!("session failed: {:?}", e),
                _ => {}
            }
        }
    };
    let mut buf = [0u8; 1024];
    loop {
        handle(&mut c);
        sock.write_all(&c.take_output()).unwrap();
        if c.is_closed() {
            break;
        }
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "server closed early");
        let mut off = 0;
        while off < n {
            off += c.feed(&buf[off..n]);
            handle(&mut c);
        }
    }
    drop(child.stdin.take());
    let received: Vec<String> = lines.map(|l| l.unwrap()).collect();
    child.wait().unwrap();

    let ext = ready_ext.unwrap();
    assert!(ext.eightbitmime && ext.smtputf8 && !ext.pipelining, "{:?}", ext);
    assert_eq!(outcomes.len(), 2);
    assert!(matches!(outcomes[0].status(0), RcptStatus::Delivered(_)));
    assert!(matches!(outcomes[0].status(1), RcptStatus::PermFail(ref r) if r.enhanced == Some(Enhanced(5, 1, 1))));
    assert!(matches!(outcomes[0].status(2), RcptStatus::Delivered(ref r) if r.text == "OK queued"));
    assert!(matches!(outcomes[1].status(0), RcptStatus::PermFail(_)));
    assert_eq!(received.len(), 1, "{:?}", received);
    let m = &received[0];
    assert!(m.contains("\"from\": \"j\\u00f6rg@example.net\""), "{}", m);
    assert!(m.contains("\"to\": [\"bob@example.org\", \"carol@example.org\"]"), "{}", m);
    assert!(m.contains("BODY=8BITMIME") && m.contains("SMTPUTF8"), "{}", m);
    // aiosmtpd's unstuffed content: our stuffing undone, bare LF sent as CR LF.
    let expect = b"Subject: from the unimail client\r\n\r\n.leading dot\r\n..two\r\nbare LF\r\n8bit \xc3\xa9\r\n.\r\n";
    let b64 = m.split("\"content\": \"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(mail_smtp::base64::decode(b64.as_bytes()).unwrap(), expect);
}
