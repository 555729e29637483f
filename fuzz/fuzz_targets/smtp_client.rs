//! SMTP client side: the reply parser (`ReplyParser`) and the client
//! session (`Client`) fed arbitrary server bytes while it tries to send
//! messages (EHLO, STARTTLS, AUTH, pipelined MAIL/RCPT/DATA, content).
#![no_main]
use fuzz_common::{fragments, Reader};
use libfuzzer_sys::fuzz_target;
use mail_smtp::client::{Client, ClientConfig, ClientEvent, Job, TlsMode};
use mail_smtp::ReplyParser;

fn job(n: u8) -> Job {
    Job {
        sender: if n & 1 == 0 { "a@example.org".into() } else { String::new() },
        recipients: (0..1 + (n >> 1 & 3)).map(|i| format!("r{i}@example.net")).collect(),
        size: if n & 8 != 0 { Some(1000) } else { None },
        eight_bit: n & 16 != 0,
        smtputf8: n & 32 != 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let (flags, split) = (r.byte(), r.byte());
    let input = r.rest();

    // The reply parser alone, with small limits.
    let mut p = ReplyParser::new(64 + (flags as usize & 63), 1 + (flags as usize >> 6) * 4);
    for piece in fragments(input, split) {
        let mut rest = piece;
        while !rest.is_empty() {
            let (n, reply) = p.feed(rest);
            assert!(n <= rest.len());
            if let Some(Ok(rep)) = reply {
                assert!((200..600).contains(&rep.code));
                let _ = rep.to_bytes();
            }
            if n == 0 {
                break;
            }
            rest = &rest[n..];
        }
    }

    // The client session.
    let mut cfg = ClientConfig::new("mx.example.org");
    cfg.tls = match flags & 3 {
        0 => TlsMode::Disabled,
        1 => TlsMode::Opportunistic,
        _ => TlsMode::Required,
    };
    cfg.max_reply_line = 128;
    cfg.max_reply_lines = 8;
    if flags & 4 != 0 {
        cfg.auth = Some(("user".into(), "pass".into()));
    }
    let mut c = Client::new(cfg);
    let mut jobs = 0u8;
    for piece in fragments(input, split) {
        let mut rest = piece;
        let mut rounds = 0;
        loop {
            let n = c.feed(rest);
            assert!(n <= rest.len());
            rest = &rest[n..];
            while let Some(ev) = c.poll_event() {
                match ev {
                    ClientEvent::StartTls => {
                        if flags & 8 != 0 {
                            c.tls_established()
                        } else {
                            c.tls_failed()
                        }
                    }
                    ClientEvent::Ready(_) | ClientEvent::Done(_) => {
                        jobs += 1;
                        if jobs > 3 {
                            c.quit();
                        } else {
                            let _ = c.send(job(flags.rotate_left(u32::from(jobs))));
                        }
                    }
                    ClientEvent::SendContent => {
                        c.write_content(b"Subject: x\r\n\r\n.line\r\nbare\nend");
                        c.end_content();
                    }
                    ClientEvent::Failed(_) | ClientEvent::Closed => {}
                }
            }
            c.take_output();
            rounds += 1;
            if rest.is_empty() || c.is_closed() || rounds > 10_000 {
                break;
            }
        }
    }
    c.timeout();
    while c.poll_event().is_some() {}
});
