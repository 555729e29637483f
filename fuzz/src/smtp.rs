//! SMTP server driver: feeds fragments, answers every request at once and
//! records a transcript (output bytes plus the events, data merged per
//! message) so that runs with different fragmentation can be compared.

use mail_smtp::*;

#[derive(Debug, PartialEq, Eq, Default)]
pub struct Transcript {
    pub out: Vec<u8>,
    pub events: Vec<String>,
    pub max_chunk: usize,
}

fn answer(s: &mut Server, ev: &Event, body: &[u8]) {
    let r = match ev {
        Event::CheckSender { sender, .. } => {
            let bad = matches!(sender, ReversePath::Mailbox(m) if m.local.starts_with('x'));
            s.answer_sender(if bad { Reply::user_unknown() } else { Reply::sender_ok() })
        }
        Event::CheckRecipient(m) => {
            s.answer_recipient(if m.local.starts_with("unknown") { Reply::user_unknown() } else { Reply::rcpt_ok() })
        }
        Event::MessageComplete(_) => {
            s.answer_message(if body.len() % 7 == 3 { Reply::plain(451, "try later") } else { Reply::queued("Q1") })
        }
        Event::Authenticate(a) => s.answer_auth(if a.username == "alice" && a.password == "secret" {
            AuthAnswer::Success(a.username.clone())
        } else {
            AuthAnswer::Invalid
        }),
        _ => return,
    };
    r.expect("an answer to the request just polled is always pending");
}

/// Runs `pieces` through a fresh server. With `finish_tls`, a STARTTLS
/// request is completed after the feed that produced it (the rest of that
/// piece was discarded by the server, as the kernel's would be).
pub fn run(cfg: &Config, pieces: &[&[u8]], finish_tls: bool) -> Transcript {
    let mut s = Server::new(cfg.clone());
    let mut t = Transcript::default();
    let mut body = Vec::new();
    let mut tls_pending = false;
    for piece in pieces.iter().copied().chain(core::iter::once(&b""[..])) {
        let mut rest = piece;
        let mut stuck = 0;
        loop {
            if tls_pending && finish_tls {
                s.tls_established(TlsInfo { version: "TLSv1.3".into(), cipher: "X".into() }).unwrap();
                tls_pending = false;
            }
            let n = s.feed(rest);
            rest = &rest[n..];
            let mut progressed = n > 0;
            while let Some(ev) = s.poll_event() {
                progressed = true;
                match &ev {
                    Event::MessageStart => body.clear(),
                    Event::Data(d) => {
                        t.max_chunk = t.max_chunk.max(d.len());
                        body.extend_from_slice(d);
                        continue;
                    }
                    Event::StartTls => tls_pending = true,
                    _ => {}
                }
                let rec = match &ev {
                    Event::MessageComplete(e) => format!("{e:?} {body:?}"),
                    Event::MessageAborted(r) => format!("aborted {r:?} {body:?}"),
                    other => format!("{other:?}"),
                };
                t.events.push(rec);
                answer(&mut s, &ev, &body);
            }
            t.out.extend(s.take_output());
            if rest.is_empty() {
                break;
            }
            if !progressed && !(tls_pending && finish_tls) {
                stuck += 1;
                assert!(stuck < 3, "server consumes nothing and asks for nothing");
            }
        }
    }
    if !s.is_closed() {
        s.timeout();
        while s.poll_event().is_some() {}
        t.out.extend(s.take_output());
    }
    t
}

/// RFC 5321 4.2: every output line is `3DIGIT (SP / "-") text CRLF`.
pub fn assert_well_formed(out: &[u8]) {
    let mut rest = out;
    while !rest.is_empty() {
        let end = rest.windows(2).position(|w| w == b"\r\n").expect("unterminated reply line");
        let line = &rest[..end];
        assert!(line.len() >= 4, "short reply line {:?}", String::from_utf8_lossy(line));
        assert!(line[..3].iter().all(u8::is_ascii_digit) && (line[3] == b' ' || line[3] == b'-'));
        assert!(!line.iter().any(|&b| b == b'\r' || b == b'\n'));
        rest = &rest[end + 2..];
    }
}
