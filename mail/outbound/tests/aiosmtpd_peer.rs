//! A delivery attempt over a real TCP socket to Python's aiosmtpd (an
//! independent SMTP server): per-recipient replies, dot-stuffing and the
//! content as received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use mail_outbound::delivery::{has_8bit, Attempt, Delivery, DeliveryConfig, DeliveryEvent};
use mail_outbound::queue::AttemptResult;

const SERVER: &str = r#"
import sys, time, os
from aiosmtpd.controller import Controller
out = sys.argv[1]
class H:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('bad'):
            return '550 5.1.1 no such user here'
        if address.startswith('later'):
            return '451 4.7.1 try again later'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'
    async def handle_DATA(self, server, session, envelope):
        with open(out, 'wb') as f:
            f.write(('%s|%s\n' % (envelope.mail_from, ','.join(envelope.rcpt_tos))).encode())
            f.write(envelope.original_content)
        return '250 2.0.0 queued as PY1'
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
c = Controller(H(), hostname='127.0.0.1', port=port)
c.start()
print(port, flush=True)
sys.stdin.read()
c.stop()
"#;

fn tool_present() -> bool {
    let ok =
        Command::new("python3").args(["-c", "import aiosmtpd"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") {
            panic!("python3 with aiosmtpd is required under CI (run mail/outbound/tests/setup.sh)");
        }
        eprintln!("!!! SKIPPING aiosmtpd test: python3 aiosmtpd not installed (mail/outbound/tests/setup.sh) !!!");
    }
    ok
}

#[test]
fn deliver_to_aiosmtpd() {
    if !tool_present() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("mail-outbound-aiosmtpd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("got.eml");
    let mut py = Command::new("python3")
        .arg("-c")
        .arg(SERVER)
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(py.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().expect("port from aiosmtpd");

    let msg = b"From: a@ex.test\r\nTo: ok@far.test\r\nSubject: t\r\n\r\n.dot line\r\n..two\r\nend\r\n";
    let attempt = Attempt {
        sender: "a@ex.test".into(),
        recipients: vec![(0, "ok@far.test".into()), (1, "bad@far.test".into()), (2, "later@far.test".into())],
        size: msg.len() as u64,
        eight_bit: has_8bit(msg),
        smtputf8: false,
    };
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut d = Delivery::new(&DeliveryConfig::new("mx.ex.test"), "127.0.0.1", attempt);
    let mut report = None;
    let mut buf = [0u8; 4096];
    loop {
        while let Some(ev) = d.poll() {
            match ev {
                DeliveryEvent::SendContent => {
                    d.write_content(msg);
                    d.end_content();
                }
                DeliveryEvent::StartTls => panic!("aiosmtpd offered STARTTLS without a certificate?"),
                DeliveryEvent::Finished(r) => report = Some(r),
            }
        }
        let o = d.take_output();
        if !o.is_empty() {
            sock.write_all(&o).unwrap();
        }
        if report.is_some() {
            break;
        }
        let n = match sock.read(&mut buf) {
            Ok(n) => n,
            Err(e) => panic!("read: {e}"),
        };
        if n == 0 {
            d.connection_lost();
            continue;
        }
        let mut used = 0;
        while used < n {
            used += d.feed(&buf[used..n]);
        }
    }
    // Let the QUIT reach the server, then stop it.
    let mut rest = Vec::new();
    let _ = sock.read_to_end(&mut rest);
    drop(py.stdin.take());
    let _ = py.wait();
    let rep = report.unwrap();
    assert!(!rep.try_next_host);
    assert_eq!(rep.results[0], (0, AttemptResult::Delivered("250 2.0.0 queued as PY1".into())));
    assert_eq!(rep.results[1], (1, AttemptResult::PermFail("550 5.1.1 no such user here".into())));
    assert_eq!(rep.results[2], (2, AttemptResult::TempFail("451 4.7.1 try again later".into())));
    let got = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut expect = b"a@ex.test|ok@far.test\n".to_vec();
    expect.extend_from_slice(msg);
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expect));
}
