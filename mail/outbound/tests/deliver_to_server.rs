//! Delivery attempts against the workspace's own SMTP server state machine,
//! in memory, whole chunks and byte at a time; then the whole flow the
//! kernel runs: queue -> MX -> delivery -> record -> DSN -> remove.

use mail_outbound::delivery::{has_8bit, Attempt, Delivery, DeliveryConfig, DeliveryEvent, Report};
use mail_outbound::dsn;
use mail_outbound::queue::{AttemptResult, Limits, Queue, RcptState};
use mail_outbound::schedule::Schedule;
use mail_smtp::{Config, Event, Reply, Server};

const MSG: &[u8] = b"From: a@ex.test\r\nTo: ok@far.test\r\nSubject: t\r\n\r\n.leading dot\r\nline\r\n";

struct Sink {
    /// Content received per transaction.
    got: Vec<Vec<u8>>,
    cur: Vec<u8>,
    final_reply: Reply,
}

/// Recipient policy of the fake peer: local part decides.
fn rcpt_reply(addr: &str) -> Reply {
    if addr.starts_with("bad") {
        Reply::new(550, mail_smtp::Enhanced(5, 1, 1), "no such user")
    } else if addr.starts_with("later") {
        Reply::new(451, mail_smtp::Enhanced(4, 7, 1), "greylisted")
    } else {
        Reply::rcpt_ok()
    }
}

/// Runs one attempt to completion. `chunk` bytes move per step.
fn run(cfg: Config, attempt: Attempt, content: &[u8], chunk: usize, final_reply: Reply) -> (Report, Sink) {
    let mut server = Server::new(cfg);
    let mut d = Delivery::new(&DeliveryConfig::new("mx.ex.test"), "mx.far.test", attempt);
    let mut sink = Sink { got: vec![], cur: vec![], final_reply };
    let mut report = None;
    for _ in 0..100_000 {
        // server -> client
        let out = server.output().to_vec();
        let n = out.len().min(chunk);
        if n > 0 {
            let used = d.feed(&out[..n]);
            server.consume_output(used);
        }
        // client -> server
        let out = d.output().to_vec();
        let n = out.len().min(chunk);
        if n > 0 {
            let used = server.feed(&out[..n]);
            d.consume_output(used);
        }
        while let Some(ev) = server.poll_event() {
            match ev {
                Event::CheckRecipient(m) => server.answer_recipient(rcpt_reply(&m.to_string())).unwrap(),
                Event::MessageStart => sink.cur.clear(),
                Event::Data(b) => sink.cur.extend_from_slice(&b),
                Event::MessageComplete(_) => {
                    sink.got.push(std::mem::take(&mut sink.cur));
                    server.answer_message(sink.final_reply.clone()).unwrap();
                }
                _ => {}
            }
        }
        while let Some(ev) = d.poll() {
            match ev {
                DeliveryEvent::SendContent => {
                    for c in content.chunks(7) {
                        d.write_content(c);
                    }
                    d.end_content();
                }
                DeliveryEvent::StartTls => panic!("no TLS offered"),
                DeliveryEvent::Finished(r) => report = Some(r),
            }
        }
        if report.is_some() && d.output().is_empty() && server.output().is_empty() {
            break;
        }
    }
    (report.expect("attempt never finished"), sink)
}

fn attempt(rcpts: &[&str]) -> Attempt {
    Attempt {
        sender: "a@ex.test".into(),
        recipients: rcpts.iter().enumerate().map(|(i, r)| (i, r.to_string())).collect(),
        size: MSG.len() as u64,
        eight_bit: has_8bit(MSG),
        smtputf8: false,
    }
}

#[test]
fn per_recipient_results_whole_and_bytewise() {
    for chunk in [1usize, 3, 4096] {
        let (rep, sink) = run(
            Config::new("mx.far.test"),
            attempt(&["ok@far.test", "bad@far.test", "later@far.test"]),
            MSG,
            chunk,
            Reply::queued("Q1"),
        );
        assert_eq!(sink.got, vec![MSG.to_vec()], "chunk {chunk}");
        assert!(!rep.try_next_host);
        assert_eq!(rep.host, "mx.far.test");
        assert!(matches!(&rep.results[0], (0, AttemptResult::Delivered(t)) if t.starts_with("250 ")));
        assert_eq!(rep.results[1], (1, AttemptResult::PermFail("550 5.1.1 no such user".into())));
        assert_eq!(rep.results[2], (2, AttemptResult::TempFail("451 4.7.1 greylisted".into())));
    }
}

#[test]
fn final_data_reply_applies_to_accepted_recipients() {
    let (rep, _) = run(
        Config::new("mx.far.test"),
        attempt(&["ok@far.test", "ok2@far.test", "bad@far.test"]),
        MSG,
        4096,
        Reply::new(552, mail_smtp::Enhanced(5, 2, 2), "mailbox full"),
    );
    assert!(matches!(&rep.results[0].1, AttemptResult::PermFail(t) if t.starts_with("552 5.2.2")));
    assert!(matches!(&rep.results[1].1, AttemptResult::PermFail(t) if t.starts_with("552 5.2.2")));
    assert!(matches!(&rep.results[2].1, AttemptResult::PermFail(t) if t.starts_with("550 5.1.1")));
    let (rep, _) = run(
        Config::new("mx"),
        attempt(&["ok@far.test"]),
        MSG,
        4096,
        Reply::new(451, mail_smtp::Enhanced(4, 3, 0), "disk full"),
    );
    assert!(matches!(&rep.results[0].1, AttemptResult::TempFail(t) if t.starts_with("451 4.3.0")));
}

#[test]
fn too_big_for_the_peer_fails_permanently() {
    let mut cfg = Config::new("mx.far.test");
    cfg.max_message_size = 10;
    let (rep, sink) = run(cfg, attempt(&["ok@far.test"]), MSG, 4096, Reply::queued("x"));
    assert!(sink.got.is_empty());
    assert!(matches!(&rep.results[0].1, AttemptResult::PermFail(t) if t.starts_with("552 5.3.4")));
}

#[test]
fn eight_bit_content_is_sent_with_body_8bitmime() {
    let msg = "Subject: caf\u{e9}\r\n\r\ncr\u{e8}me br\u{fb}l\u{e9}e\r\n".as_bytes();
    let mut a = attempt(&["ok@far.test"]);
    a.eight_bit = has_8bit(msg);
    a.size = msg.len() as u64;
    assert!(a.eight_bit);
    let (rep, sink) = run(Config::new("mx"), a, msg, 5, Reply::queued("x"));
    assert_eq!(sink.got, vec![msg.to_vec()]);
    assert!(matches!(rep.results[0].1, AttemptResult::Delivered(_)));
}

#[test]
fn host_failures_defer_and_move_on() {
    let cfg = DeliveryConfig::new("mx.ex.test");
    let rep =
        Delivery::connect_failed(&cfg, "mx1.far.test", attempt(&["a@far.test", "b@far.test"]), "connection refused");
    assert!(rep.try_next_host);
    assert_eq!(rep.results.len(), 2);
    assert!(rep.results.iter().all(|(_, r)| matches!(r, AttemptResult::TempFail(t) if t.starts_with("451 4.4.1"))));

    // 554 greeting: QUIT, defer, next host.
    let mut d = Delivery::new(&cfg, "mx1.far.test", attempt(&["a@far.test"]));
    d.feed(b"554 5.7.1 go away\r\n");
    let Some(DeliveryEvent::Finished(rep)) = d.poll() else { panic!() };
    assert!(rep.try_next_host);
    assert!(matches!(&rep.results[0].1, AttemptResult::TempFail(t) if t.contains("554 5.7.1 go away")));
    assert_eq!(d.output(), b"QUIT\r\n");

    // Timeout in the middle of the transaction.
    let mut d = Delivery::new(&cfg, "mx1.far.test", attempt(&["a@far.test"]));
    d.feed(b"220 hi\r\n");
    d.feed(b"250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(d.poll(), None);
    assert!(d.output().starts_with(b"EHLO mx.ex.test\r\nMAIL FROM:<a@ex.test>"));
    d.timeout();
    let Some(DeliveryEvent::Finished(rep)) = d.poll() else { panic!() };
    assert!(rep.try_next_host);
    assert!(matches!(rep.results[0].1, AttemptResult::TempFail(_)));
    assert!(d.is_finished());
    assert_eq!(d.poll(), None);

    // 421 mid-session.
    let mut d = Delivery::new(&cfg, "mx1.far.test", attempt(&["a@far.test"]));
    d.feed(b"220 hi\r\n250 mx\r\n");
    assert_eq!(d.poll(), None);
    d.feed(b"421 4.3.2 shutting down\r\n");
    let Some(DeliveryEvent::Finished(rep)) = d.poll() else { panic!() };
    assert!(rep.try_next_host);
    assert!(matches!(&rep.results[0].1, AttemptResult::TempFail(t) if t.starts_with("421 4.3.2")), "{rep:?}");
}

#[test]
fn whole_flow_queue_delivery_dsn() {
    use disk::{format as mkfs, Ext2, FormatOptions, RamDevice};
    let mut dev = RamDevice::new(16 * 2048);
    mkfs(&mut dev, &FormatOptions::default()).unwrap();
    let mut fs = Ext2::mount(dev).unwrap();
    let sched = Schedule::default();
    let t0 = 1_800_000_000u64;
    let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), t0).unwrap();
    let id = q.enqueue(&mut fs, "a@ex.test", &["ok@far.test", "bad@far.test", "later@far.test"], MSG, t0, 7).unwrap();

    let mut now = t0;
    let mut rounds = 0;
    while let Some(e) = q.due(now).first().map(|e| (*e).clone()) {
        rounds += 1;
        let due = e.due_recipients(now);
        let msg = q.read_message(&mut fs, &e.id).unwrap();
        let a = Attempt {
            sender: e.sender.clone(),
            recipients: due.iter().map(|&i| (i, e.recipients[i].address.clone())).collect(),
            size: e.size,
            eight_bit: has_8bit(&msg),
            smtputf8: false,
        };
        // The greylisting peer accepts "later" from the third round on.
        let cfg = Config::new("mx.far.test");
        let (mut rep, _) = run(cfg, a, &msg, 4096, Reply::queued("Z"));
        if rounds >= 3 {
            for (_, r) in rep.results.iter_mut() {
                if matches!(r, AttemptResult::TempFail(_)) {
                    *r = AttemptResult::Delivered("250 2.0.0 ok".into());
                }
            }
        }
        let entry = q.record_results(&mut fs, &e.id, &rep.results, now, &sched).unwrap().clone();
        // Bounce the permanent failures once.
        let fails = entry.unreported_failures();
        if !fails.is_empty() {
            let rcpts: Vec<dsn::DsnRecipient> = fails
                .iter()
                .map(|&i| {
                    let RcptState::Failed { reply, at, .. } = &entry.recipients[i].state else { unreachable!() };
                    dsn::DsnRecipient {
                        address: entry.recipients[i].address.clone(),
                        action: dsn::Action::Failed,
                        status: dsn::status_from_reply(reply),
                        remote_mta: Some(rep.host.clone()),
                        diagnostic: Some(reply.clone()),
                        last_attempt: Some(*at),
                        will_retry_until: None,
                    }
                })
                .collect();
            let headers = q.read_headers(&mut fs, &id, 64 * 1024).unwrap();
            let d = dsn::build(&dsn::DsnInput {
                hostname: "mx.ex.test",
                original_sender: &entry.sender,
                queue_id: &entry.id,
                arrival: entry.arrival,
                now,
                nonce: 99,
                recipients: &rcpts,
                original_headers: &headers,
            })
            .unwrap();
            let bounce = q.enqueue(&mut fs, "", &[d.recipient.as_str()], &d.message, now, 8).unwrap();
            q.mark_notified(&mut fs, &entry.id, &fails, false, now).unwrap();
            // The bounce itself fails: no DSN for a DSN.
            let b =
                q.record_result(&mut fs, &bounce, 0, AttemptResult::PermFail("550 no".into()), now, &sched).unwrap();
            assert!(b.is_done() && b.unreported_failures().is_empty());
            assert!(q.remove(&mut fs, &bounce, false, now).unwrap());
        }
        if q.get(&e.id).unwrap().is_done() {
            assert!(q.remove(&mut fs, &e.id, false, now).unwrap());
        }
        now = q.next_wakeup().unwrap_or(now);
        assert!(rounds < 10);
    }
    assert_eq!(rounds, 3);
    assert!(q.is_empty());
    assert_eq!(now, t0 + 300 + 600);
}

#[test]
fn utf8_envelope_uses_smtputf8() {
    use mail_outbound::delivery::needs_smtputf8;
    assert!(needs_smtputf8("j\u{f6}rg@ex.test", &["a@b"]));
    assert!(needs_smtputf8("", &["a@b", "\u{5c0f}@\u{4f8b}.test"]));
    assert!(!needs_smtputf8("a@b", &["c@d"]));
    let mut a = attempt(&["\u{fc}ser@far.test"]);
    a.smtputf8 = true;
    let (rep, sink) = run(Config::new("mx"), a, MSG, 4096, Reply::queued("u"));
    assert!(matches!(rep.results[0].1, AttemptResult::Delivered(_)), "{rep:?}");
    assert_eq!(sink.got.len(), 1);
}
