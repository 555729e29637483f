//! The kernel's call sequence, end to end on the host: screen, then a real
//! `mail-smtp` session with the observer watching and the greylist
//! answering RCPT TO, the pass cache carrying a client to its retry, and
//! the statistics. The lead can follow this when wiring port 25.

mod common;

use common::*;
use mail_screen::{
    Action, GreylistRequest, Load, PassCache, Policy, ProtocolObserver, Screen, ScreenReply, Stats, Verdict,
};
use mail_smtp::{Config, Enhanced, Event, Reply, Server};

fn reply(r: &ScreenReply) -> Reply {
    let (a, b, c) = r.enhanced;
    Reply::new(r.code, Enhanced(a, b, c), r.text.clone())
}

/// One port-25 connection as the kernel would run it; returns everything
/// the client received.
struct Conn {
    screen: Screen,
    smtp: Option<Server>,
    observer: Option<ProtocolObserver>,
    enforce: Option<ScreenReply>,
    seen: String,
    closed: bool,
}

impl Conn {
    fn open(p: &Policy, cache: &PassCache, addr: &str, now_ms: u64) -> Conn {
        let mut screen = Screen::connect(p, cache, ip(addr), now_ms, Load::default());
        let seen = String::from_utf8(screen.take_output()).unwrap();
        let mut c = Conn { screen, smtp: None, observer: None, enforce: None, seen, closed: false };
        c.after_verdict(p);
        c
    }

    /// Once the screen has decided: refuse, or start the SMTP session.
    fn after_verdict(&mut self, p: &Policy) {
        if self.smtp.is_some() || self.closed {
            return;
        }
        let Some(v) = self.screen.verdict().cloned() else { return };
        self.seen.push_str(&String::from_utf8(self.screen.take_output()).unwrap());
        match v {
            Verdict::Drop(_) | Verdict::TempFail(_) => self.closed = true,
            Verdict::Pass | Verdict::Enforce(_) => {
                if let Verdict::Enforce(r) = v {
                    self.enforce = Some(r);
                }
                let mut smtp = Server::new(Config::new("mx.example.org"));
                // The screen sent the greeting.
                let _ = smtp.take_output();
                self.smtp = Some(smtp);
                self.observer = self.screen.observer(p);
                let early = self.screen.take_early_input();
                if !early.is_empty() {
                    panic!("this test's clients wait for the greeting");
                }
            }
        }
    }

    fn tick(&mut self, p: &Policy, now_ms: u64) {
        self.screen.tick(p, now_ms);
        self.after_verdict(p);
    }

    /// Client bytes: to the screen before the verdict, else through the
    /// observer to the SMTP session, answering RCPT TO with the greylist.
    fn send(&mut self, p: &Policy, bytes: &[u8], grey: &mut mail_screen::Greylist, stats: &mut Stats, now_s: u64) {
        if self.closed {
            return;
        }
        if self.screen.feed(p, bytes, now_s * 1000) {
            self.after_verdict(p);
            return;
        }
        if let Some(o) = &mut self.observer {
            for v in o.feed(bytes) {
                stats.record_violation(&v);
                match v.action {
                    Action::Drop => {
                        self.seen.push_str(&v.reply.to_line());
                        self.closed = true;
                        return;
                    }
                    Action::Enforce => self.enforce = self.enforce.clone().or(Some(v.reply)),
                    Action::Ignore => {}
                }
            }
        }
        let allowlisted = self.screen.allowlisted();
        let ip = self.screen.ip();
        let smtp = self.smtp.as_mut().unwrap();
        let mut rest = bytes;
        loop {
            let used = smtp.feed(rest);
            rest = &rest[used..];
            let mut progressed = used > 0;
            while let Some(ev) = smtp.poll_event() {
                progressed = true;
                match ev {
                    Event::CheckRecipient(m) => {
                        let r = if let Some(e) = &self.enforce {
                            reply(e)
                        } else {
                            let sender = smtp.envelope().map(|e| e.sender.to_string()).unwrap_or_default();
                            let rcpt = m.to_string();
                            let req = GreylistRequest {
                                ip,
                                sender: &sender,
                                recipient: &rcpt,
                                authenticated: false,
                                allowlisted,
                            };
                            let a = grey.check(&req, now_s);
                            stats.record_greylist(&a);
                            a.reply().map_or_else(Reply::rcpt_ok, |r| reply(&r))
                        };
                        smtp.answer_recipient(r).unwrap();
                    }
                    Event::Close => self.closed = true,
                    _ => {}
                }
            }
            if !progressed || rest.is_empty() {
                break;
            }
        }
        self.seen.push_str(&String::from_utf8(smtp.take_output()).unwrap());
    }

    fn finish(self, p: &Policy, cache: &mut PassCache, stats: &mut Stats, now_s: u64) -> String {
        self.screen.record_passes(p, cache);
        if let Some(o) = &self.observer {
            o.record_passes(p, cache, now_s);
        }
        stats.record_screen(&self.screen);
        self.seen
    }
}

#[test]
fn kernel_call_sequence() {
    let mut p = seed_policy();
    p.screen.pipelining.enabled = true;
    p.screen.non_smtp.enabled = true;
    p.screen.dnsbl_action = Action::Enforce;
    let mut cache = PassCache::default();
    let mut grey = mail_screen::Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 5), 1000, 1000);
    let mut stats = Stats::default();
    let t0: u64 = 1_795_000_000; // seconds

    // 1. A good MTA, first time: waits for the greeting, is greylisted.
    let mut c = Conn::open(&p, &cache, "192.0.2.25", t0 * 1000);
    answer_all(&mut c.screen, &p, &[], t0 * 1000 + 50);
    c.tick(&p, t0 * 1000 + 6000);
    let t = t0 + 6;
    c.send(&p, b"EHLO mta.example.net\r\n", &mut grey, &mut stats, t);
    c.send(&p, b"MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\n", &mut grey, &mut stats, t);
    c.send(&p, b"QUIT\r\n", &mut grey, &mut stats, t);
    let seen = c.finish(&p, &mut cache, &mut stats, t);
    assert!(seen.starts_with("220-mx.example.org ESMTP\r\n220 mx.example.org ESMTP\r\n"), "{seen}");
    assert!(seen.contains("250-PIPELINING"), "{seen}");
    assert!(seen.contains("450 4.7.1 greylisted, try again in 300 s\r\n"), "{seen}");
    assert!(seen.contains("\r\n221 "), "{seen}");

    // 2. The retry ten minutes later comes from another host of its /24:
    // the pass cache is per address (so the pause again), the greylist per
    // network (so accepted).
    let t = t0 + 600;
    let mut c = Conn::open(&p, &cache, "192.0.2.26", t * 1000);
    assert!(c.screen.verdict().is_none());
    answer_all(&mut c.screen, &p, &[], t * 1000 + 50);
    c.tick(&p, t * 1000 + 6000);
    c.send(&p, b"EHLO mta2.example.net\r\n", &mut grey, &mut stats, t + 6);
    c.send(&p, b"MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\n", &mut grey, &mut stats, t + 6);
    let seen = c.finish(&p, &mut cache, &mut stats, t + 6);
    assert!(seen.contains("250 2.1.5"), "{seen}");

    // 3. The first host again: no pause (cached), no observer (its deep
    // tests passed), the triplet known.
    let mut c = Conn::open(&p, &cache, "192.0.2.25", t * 1000);
    assert_eq!(c.screen.verdict(), Some(&Verdict::Pass));
    assert!(c.observer.is_none(), "the deep tests passed last time");
    c.send(&p, b"EHLO mta.example.net\r\n", &mut grey, &mut stats, t);
    c.send(&p, b"MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\n", &mut grey, &mut stats, t);
    let seen = c.finish(&p, &mut cache, &mut stats, t);
    assert!(seen.starts_with("220 mx.example.org ESMTP\r\n"), "{seen}");
    assert!(seen.contains("250 2.1.5"), "{seen}");

    // 4. A listed client with `enforce`: let in, every RCPT TO refused.
    let mut c = Conn::open(&p, &cache, "203.0.113.9", t0 * 1000);
    answer_all(&mut c.screen, &p, &[("zen.spamhaus.org", &["127.0.0.4"])], t0 * 1000 + 10);
    c.tick(&p, t0 * 1000 + 6000);
    c.send(&p, b"EHLO bot\r\n", &mut grey, &mut stats, t0 + 6);
    c.send(&p, b"MAIL FROM:<x@spam.example>\r\nRCPT TO:<bob@example.org>\r\n", &mut grey, &mut stats, t0 + 6);
    let seen = c.finish(&p, &mut cache, &mut stats, t0 + 6);
    assert!(seen.contains("550 5.7.1 Service unavailable; client [203.0.113.9] blocked using zen.spamhaus.org\r\n"));

    // 5. An HTTP proxy probe after the greeting: dropped by the observer.
    let mut c = Conn::open(&p, &cache, "198.51.100.80", t0 * 1000);
    c.tick(&p, t0 * 1000 + 6000);
    c.send(&p, b"CONNECT 10.0.0.1:25 HTTP/1.0\r\n", &mut grey, &mut stats, t0 + 6);
    assert!(c.closed);
    let seen = c.finish(&p, &mut cache, &mut stats, t0 + 6);
    assert!(seen.ends_with("(non_smtp test)\r\n") && seen.contains("\r\n521 5.7.1 "), "{seen}");

    // 6. An early talker: dropped before any SMTP.
    let mut c = Conn::open(&p, &cache, "198.51.100.81", t0 * 1000);
    c.send(&p, b"EHLO rude\r\n", &mut grey, &mut stats, t0);
    assert!(c.closed);
    let seen = c.finish(&p, &mut cache, &mut stats, t0);
    assert!(seen.starts_with("220-") && seen.contains("\r\n521 5.7.1 "), "{seen}");

    let mut summary = String::new();
    stats.write_summary(&mut summary);
    eprintln!("{summary}");
    assert_eq!(stats.connections, 6);
    assert_eq!((stats.passed, stats.enforced, stats.dropped), (4, 1, 1));
    assert_eq!(stats.cache_hits, 1);
    assert_eq!((stats.greylist_deferred_new, stats.greylist_passed_retry, stats.greylist_passed_known), (1, 1, 1));
    assert_eq!(stats.failures[mail_screen::Test::NonSmtp as usize][2], 1);
}
