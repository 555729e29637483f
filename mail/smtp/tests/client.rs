//! The client state machine against scripted servers and against our own
//! server state machine (in memory, both directions fragmented).
use mail_smtp::client::*;
use mail_smtp::*;

fn job(rcpts: &[&str]) -> Job {
    Job {
        sender: "a@example.net".into(),
        recipients: rcpts.iter().map(|s| s.to_string()).collect(),
        size: Some(10),
        eight_bit: false,
        smtputf8: false,
    }
}

/// Connect a Client and a Server in memory. `content` is sent for each
/// SendContent. Returns client events, delivered messages (server side).
fn pair(
    scfg: Config,
    ccfg: ClientConfig,
    jobs: Vec<Job>,
    content: &[u8],
    split: usize,
) -> (Vec<ClientEvent>, Vec<(Envelope, Vec<u8>)>) {
    let mut s = Server::new(scfg);
    let mut c = Client::new(ccfg);
    let mut s2c: Vec<u8> = Vec::new();
    let mut c2s: Vec<u8> = Vec::new();
    let mut cevents = Vec::new();
    let mut delivered = Vec::new();
    let mut cur = Vec::new();
    let mut jobs = jobs.into_iter();
    for _ in 0..100_000 {
        s2c.extend(s.take_output());
        c2s.extend(c.take_output());
        let mut progress = false;
        // Client side: deliver at most `split` bytes at a time.
        if !s2c.is_empty() {
            let n = s2c.len().min(split);
            let used = c.feed(&s2c[..n]);
            s2c.drain(..used);
            progress |= used > 0;
        }
        while let Some(ev) = c.poll_event() {
            progress = true;
            match &ev {
                ClientEvent::Ready(_) | ClientEvent::Done(_) => match jobs.next() {
                    Some(j) => c.send(j).unwrap(),
                    None => c.quit(),
                },
                ClientEvent::SendContent => {
                    for piece in content.chunks(7) {
                        c.write_content(piece);
                    }
                    c.end_content();
                }
                ClientEvent::StartTls => {
                    // Pretend the handshake: both sides switch.
                    s.tls_established(TlsInfo { version: "TLSv1.3".into(), cipher: "X".into() }).unwrap();
                    c.tls_established();
                }
                _ => {}
            }
            cevents.push(ev);
        }
        if !c2s.is_empty() {
            let n = c2s.len().min(split);
            let used = s.feed(&c2s[..n]);
            c2s.drain(..used);
            progress |= used > 0;
        }
        while let Some(ev) = s.poll_event() {
            progress = true;
            match ev {
                Event::CheckRecipient(m) => {
                    let r = if m.local.starts_with("unknown") { Reply::user_unknown() } else { Reply::rcpt_ok() };
                    s.answer_recipient(r).unwrap();
                }
                Event::MessageStart => cur.clear(),
                Event::Data(d) => cur.extend_from_slice(&d),
                Event::MessageComplete(env) => {
                    delivered.push((env, std::mem::take(&mut cur)));
                    s.answer_message(Reply::queued("Q")).unwrap();
                }
                Event::Authenticate(a) => {
                    let ok = a.username == "alice" && a.password == "secret";
                    s.answer_auth(if ok { AuthAnswer::Success(a.username) } else { AuthAnswer::Invalid }).unwrap();
                }
                _ => {}
            }
        }
        if c.is_closed() && s.is_closed() && s2c.is_empty() {
            return (cevents, delivered);
        }
        if !progress && s.output().is_empty() && c.output().is_empty() && s2c.is_empty() && c2s.is_empty() {
            panic!("deadlock; client events {:?}", cevents);
        }
    }
    panic!("no end");
}

fn outcomes(evs: &[ClientEvent]) -> Vec<Outcome> {
    evs.iter().filter_map(|e| if let ClientEvent::Done(o) = e { Some(o.clone()) } else { None }).collect()
}

#[test]
fn client_to_server_pipelined_with_starttls() {
    let mut scfg = Config::new("mx.example.org");
    scfg.starttls = true;
    for split in [1, 5, 100_000] {
        let content = b"Subject: hi\r\n\r\n.dot line\r\nbare\nlf\r\nlast";
        let (evs, msgs) = pair(
            scfg.clone(),
            ClientConfig::new("out.example.net"),
            vec![job(&["x@example.org", "unknown@example.org", "y@example.org"]), job(&["z@example.org"])],
            content,
            split,
        );
        assert!(evs.contains(&ClientEvent::StartTls));
        let o = outcomes(&evs);
        assert_eq!(o.len(), 2);
        assert!(matches!(o[0].status(0), RcptStatus::Delivered(_)));
        assert!(matches!(o[0].status(1), RcptStatus::PermFail(ref r) if r.code == 550));
        assert!(matches!(o[0].status(2), RcptStatus::Delivered(_)));
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].0.recipients.len(), 2);
        // The server sees the client's dot-stuffing undone and CR LF endings.
        assert_eq!(msgs[0].1, b"Subject: hi\r\n\r\n.dot line\r\nbare\r\nlf\r\nlast\r\n");
        assert_eq!(msgs[0].0.declared_size, Some(10));
        assert_eq!(evs.last(), Some(&ClientEvent::Closed));
    }
}

#[test]
fn client_content_roundtrip_property() {
    let mut x = 99u64;
    for _ in 0..200 {
        let mut content = Vec::new();
        for _ in 0..(x % 60) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            content.push(b".\r\nab\xff"[(x % 6) as usize]);
        }
        let (_, msgs) = pair(Config::new("mx"), ClientConfig::new("c"), vec![job(&["r@x.y"])], &content, 3);
        // Expected: every bare CR / LF became CR LF; a final CR LF added.
        let mut expect = Vec::new();
        let mut i = 0;
        while i < content.len() {
            match content[i] {
                b'\r' if content.get(i + 1) == Some(&b'\n') => {
                    expect.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => expect.extend_from_slice(b"\r\n"),
                b => expect.push(b),
            }
            i += 1;
        }
        if !expect.is_empty() && !expect.ends_with(b"\r\n") {
            expect.extend_from_slice(b"\r\n");
        }
        assert_eq!(msgs.len(), 1, "{:?}", content);
        assert_eq!(msgs[0].1, expect, "content {:?}", content);
    }
}

#[test]
fn all_recipients_rejected_pipelined() {
    let (evs, msgs) =
        pair(Config::new("mx"), ClientConfig::new("c"), vec![job(&["unknown1@x.y", "unknown2@x.y"])], b"x", 100);
    assert!(msgs.is_empty());
    let o = outcomes(&evs);
    assert!(matches!(o[0].status(0), RcptStatus::PermFail(_)));
    assert_eq!(o[0].data.as_ref().unwrap().code, 554);
    assert!(!evs.contains(&ClientEvent::SendContent));
}

/// Run the client against a scripted server: `script` is a list of
/// (server bytes to deliver, expected client output so far).
fn scripted(
    cfg: ClientConfig,
    steps: &[(&[u8], &str)],
    mut on_event: impl FnMut(&mut Client, &ClientEvent),
) -> Vec<ClientEvent> {
    let mut c = Client::new(cfg);
    let mut evs = Vec::new();
    for (input, expect_out) in steps {
        let n = c.feed(input);
        assert_eq!(n, input.len());
        while let Some(ev) = c.poll_event() {
            on_event(&mut c, &ev);
            evs.push(ev);
        }
        let out = String::from_utf8(c.take_output()).unwrap();
        assert_eq!(out, *expect_out, "after server sent {:?}", String::from_utf8_lossy(input));
    }
    evs
}

#[test]
fn no_pipelining_one_command_at_a_time_and_helo_fallback() {
    let evs = scripted(
        ClientConfig::new("c.example"),
        &[
            (b"220 old.example\r\n", "EHLO c.example\r\n"),
            (b"502 unknown command\r\n", "HELO c.example\r\n"),
            (b"250 old.example\r\n", "MAIL FROM:<a@example.net>\r\n"),
            (b"250 ok\r\n", "RCPT TO:<x@y.z>\r\n"),
            (b"550 no\r\n", "RCPT TO:<w@y.z>\r\n"),
            (b"250 ok\r\n", "DATA\r\n"),
            (b"354 go\r\n", "a\r\n..b\r\n.\r\n"),
            (b"250 queued\r\n", "QUIT\r\n"),
            (b"221 bye\r\n", ""),
        ],
        |c, ev| match ev {
            ClientEvent::Ready(e) => {
                assert_eq!(*e, Extensions::default());
                let mut j = job(&["x@y.z", "w@y.z"]);
                j.size = None;
                c.send(j).unwrap();
            }
            ClientEvent::SendContent => {
                c.write_content(b"a\n.b");
                c.end_content();
            }
            ClientEvent::Done(_) => c.quit(),
            _ => {}
        },
    );
    let o = outcomes(&evs);
    assert!(matches!(o[0].status(0), RcptStatus::PermFail(_)));
    assert!(matches!(o[0].status(1), RcptStatus::Delivered(_)));
    assert_eq!(evs.last(), Some(&ClientEvent::Closed));
}

#[test]
fn mail_refused_without_pipelining_sends_rset() {
    let evs = scripted(
        ClientConfig::new("c"),
        &[
            (b"220 x\r\n", "EHLO c\r\n"),
            (b"250 x\r\n", "MAIL FROM:<a@example.net>\r\n"),
            (b"451 4.7.1 greylisted\r\n", "RSET\r\n"),
            (b"250 ok\r\n", ""),
        ],
        |c, ev| {
            if let ClientEvent::Ready(_) = ev {
                c.send(job(&["x@y.z"])).unwrap();
            }
        },
    );
    let o = outcomes(&evs);
    assert!(matches!(o[0].status(0), RcptStatus::TempFail(ref r) if r.enhanced == Some(Enhanced(4, 7, 1))));
}

#[test]
fn starttls_response_injection_discarded() {
    // The server (or a MITM) appends a fake reply after 220 in clear text:
    // it must not be taken as the answer to the EHLO sent after TLS.
    let evs = scripted(
        ClientConfig::new("c"),
        &[
            (b"220 x\r\n", "EHLO c\r\n"),
            (b"250-x\r\n250 STARTTLS\r\n", "STARTTLS\r\n"),
            (b"220 go\r\n250-evil\r\n250 PIPELINING\r\n", "EHLO c\r\n"),
            (b"250-x\r\n250 SIZE 5\r\n", ""),
        ],
        |c, ev| {
            if let ClientEvent::StartTls = ev {
                // Extra injected bytes arrive before the handshake.
                assert_eq!(c.feed(b"250 injected\r\n"), 14);
                c.tls_established();
            }
        },
    );
    assert!(c_ready_with(&evs, |e| e.size == Some(5) && !e.pipelining));
}

fn c_ready_with(evs: &[ClientEvent], f: impl Fn(&Extensions) -> bool) -> bool {
    evs.iter().any(|e| matches!(e, ClientEvent::Ready(x) if f(x)))
}

#[test]
fn tls_required_but_not_offered() {
    let mut cfg = ClientConfig::new("c");
    cfg.tls = TlsMode::Required;
    let evs = scripted(
        cfg,
        &[(b"220 x\r\n", "EHLO c\r\n"), (b"250-x\r\n250 PIPELINING\r\n", "QUIT\r\n"), (b"221 bye\r\n", "")],
        |_, _| {},
    );
    assert_eq!(evs, [ClientEvent::Failed(SessionError::TlsUnavailable(None)), ClientEvent::Closed]);
}

#[test]
fn greeting_refused_and_421_mid_transaction() {
    let evs = scripted(ClientConfig::new("c"), &[(b"554 go away\r\n", "QUIT\r\n"), (b"221 bye\r\n", "")], |_, _| {});
    assert!(matches!(&evs[0], ClientEvent::Failed(SessionError::Greeting(r)) if r.code == 554));
    let evs = scripted(
        ClientConfig::new("c"),
        &[
            (b"220 x\r\n", "EHLO c\r\n"),
            (b"250-x\r\n250 PIPELINING\r\n", "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@y.z>\r\nDATA\r\n"),
            (b"250 ok\r\n421 4.3.2 shutting down\r\n", ""),
        ],
        |c, ev| {
            if let ClientEvent::Ready(_) = ev {
                c.send(job(&["x@y.z"])).unwrap();
            }
        },
    );
    let o = outcomes(&evs);
    assert!(matches!(o[0].status(0), RcptStatus::TempFail(ref r) if r.code == 421));
    assert_eq!(evs.last(), Some(&ClientEvent::Closed));
}

#[test]
fn job_checks_against_extensions() {
    let mut checked = false;
    scripted(ClientConfig::new("c"), &[(b"220 x\r\n", "EHLO c\r\n"), (b"250-x\r\n250 SIZE 100\r\n", "")], |c, ev| {
        if let ClientEvent::Ready(_) = ev {
            let mut j = job(&["x@y.z"]);
            j.size = Some(101);
            assert_eq!(c.send(j.clone()), Err(JobError::TooBig));
            j.size = Some(1);
            j.eight_bit = true;
            assert_eq!(c.send(j.clone()), Err(JobError::Needs8BitMime));
            j.eight_bit = false;
            j.smtputf8 = true;
            assert_eq!(c.send(j.clone()), Err(JobError::NeedsSmtpUtf8));
            assert_eq!(c.send(job(&[])), Err(JobError::BadJob));
            assert_eq!(c.send(job(&["x@y.z>\r\nRSET"])), Err(JobError::BadJob));
            checked = true;
        }
    });
    assert!(checked);
}

#[test]
fn garbage_reply_fails_session() {
    let evs = scripted(ClientConfig::new("c"), &[(b"HTTP/1.1 400 Bad\r\n", "")], |_, _| {});
    assert_eq!(evs, [ClientEvent::Failed(SessionError::Protocol(ReplyError::Syntax)), ClientEvent::Closed]);
    let evs = scripted(
        ClientConfig::new("c"),
        &[(b"220 x\r\n", "EHLO c\r\n"), (b"250 x\r\n250 unexpected\r\n", "")],
        |_, _| {},
    );
    assert!(matches!(evs.last(), Some(ClientEvent::Closed)));
    assert!(evs.iter().any(|e| matches!(e, ClientEvent::Failed(SessionError::Unexpected(_)))));
}

#[test]
fn utf8_and_8bit_parameters() {
    scripted(
        ClientConfig::new("c"),
        &[
            (b"220 x\r\n", "EHLO c\r\n"),
            (
                b"250-x\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n",
                "MAIL FROM:<j\u{f6}@x.y> SIZE=10 BODY=8BITMIME SMTPUTF8\r\n",
            ),
        ],
        |c, ev| {
            if let ClientEvent::Ready(e) = ev {
                assert_eq!(e.size, Some(0));
                let mut j = job(&["r@x.y"]);
                j.sender = "jö@x.y".into();
                j.eight_bit = true;
                j.smtputf8 = true;
                c.send(j).unwrap();
            }
        },
    );
}

#[test]
fn client_auth_plain_after_tls_against_server() {
    let mut scfg = Config::new("smarthost.example");
    scfg.starttls = true;
    scfg.auth = AuthPolicy::TlsOnly;
    scfg.require_auth = true;
    let mut ccfg = ClientConfig::new("home.example");
    ccfg.auth = Some(("alice".into(), "secret".into()));
    let (evs, msgs) = pair(scfg.clone(), ccfg.clone(), vec![job(&["x@example.org"])], b"hi", 4);
    assert!(evs.iter().any(|e| matches!(e, ClientEvent::Ready(x) if x.auth_plain)));
    assert_eq!(msgs.len(), 1);
    ccfg.auth = Some(("alice".into(), "wrong".into()));
    let (evs, msgs) = pair(scfg, ccfg, vec![job(&["x@example.org"])], b"hi", 4);
    assert!(msgs.is_empty());
    assert!(evs.iter().any(|e| matches!(e, ClientEvent::Failed(SessionError::Auth(Some(r))) if r.code == 535)));
}

#[test]
fn client_never_sends_password_in_clear() {
    let mut cfg = ClientConfig::new("c");
    cfg.tls = TlsMode::Disabled;
    cfg.auth = Some(("alice".into(), "secret".into()));
    let evs =
        scripted(cfg, &[(b"220 x\r\n", "EHLO c\r\n"), (b"250-x\r\n250 AUTH PLAIN LOGIN\r\n", "QUIT\r\n")], |_, _| {});
    assert_eq!(evs[0], ClientEvent::Failed(SessionError::Auth(None)));
}
