//! After-220 tests: pipelining, non-SMTP commands, bare newlines.

mod common;

use common::*;
use mail_screen::{Action, Load, PassCache, Policy, ProtocolObserver, Screen, Test, Verdict};

fn policy() -> Policy {
    let mut p = seed_policy();
    p.screen.pipelining.enabled = true;
    p.screen.non_smtp.enabled = true;
    p.screen.bare_newline.enabled = true;
    p
}

fn observer(p: &Policy) -> ProtocolObserver {
    ProtocolObserver::new(p, ip("192.0.2.50"), [true; 3])
}

#[test]
fn pipelining_without_the_extension() {
    let p = policy();
    let mut o = observer(&p);
    assert_eq!(o.observe(b"EHLO client.example\r\n", false, false), None);
    let v = o.observe(b"MAIL FROM:<a@b.example>\r\n", true, false).expect("pipelined without PIPELINING");
    assert_eq!(v.test, Test::Pipelining);
    assert_eq!(v.action, Action::Enforce);
    assert_eq!(v.reply.code, 550);
    assert!(v.reply.text.contains("pipelining"));
    assert_eq!(o.enforce_reply(), Some(&v.reply));
    // Reported once.
    assert_eq!(o.observe(b"RCPT TO:<c@d.example>\r\n", true, false), None);
    assert!(!o.passed());
}

#[test]
fn pipelining_with_the_extension() {
    let p = policy();
    let mut o = observer(&p);
    assert_eq!(o.observe(b"EHLO client.example\r\n", false, false), None);
    assert_eq!(o.observe(b"MAIL FROM:<a@b.example>\r\n", true, true), None);
    assert_eq!(o.observe(b"RCPT TO:<c@d.example>\r\n", true, true), None);
    assert_eq!(o.observe(b"BDAT 100 LAST\r\n", true, true), None, "BDAT carries its chunk");
    assert_eq!(o.observe(b"rset\r\n", true, true), None);
    assert!(o.passed());
    // RFC 2920 3.1: DATA ends a group.
    let v = o.observe(b"DATA\r\n", true, true).unwrap();
    assert_eq!(v.test, Test::Pipelining);
    assert!(!o.passed());
    for verb in ["EHLO x", "HELO x", "QUIT", "NOOP", "STARTTLS", "VRFY x", "EXPN x", "TURN"] {
        let mut o = observer(&p);
        let line = format!("{verb}\r\n");
        assert!(o.observe(line.as_bytes(), true, true).is_some(), "{verb}");
        let mut o = observer(&p);
        assert!(o.observe(line.as_bytes(), false, true).is_none(), "{verb}");
    }
}

#[test]
fn non_smtp_commands_dropped() {
    let p = policy();
    for line in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"POST /cgi-bin/x HTTP/1.0\r\n",
        b"CONNECT 10.0.0.1:25 HTTP/1.0\r\n",
        b"get /\r\n",
        b"Host: mx.example.org\r\n",
        b"User-Agent: curl/8.0\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",
        b"E\xffHLO x\r\n",
        b"1234\r\n",
    ] {
        let mut o = observer(&p);
        let v = o.observe(line, false, false).unwrap_or_else(|| panic!("{line:?}"));
        assert_eq!(v.test, Test::NonSmtp);
        assert_eq!(v.action, Action::Drop);
        assert_eq!(v.reply.code, 521);
        assert!(v.reply.closes());
    }
    let mut o = observer(&p);
    for line in [&b"EHLO get.example\r\n"[..], b"MAIL FROM:<get@example.org>\r\n", b"\r\n", b"XCLIENT x\r\n"] {
        assert_eq!(o.observe(line, false, true), None, "{line:?}");
    }
}

#[test]
fn custom_forbidden_commands() {
    let mut p = policy();
    p.screen.forbidden_commands = vec!["XFORWARD".into()];
    let mut o = observer(&p);
    assert_eq!(o.observe(b"GET /\r\n", false, false), None, "no longer forbidden");
    assert_eq!(o.observe(b"xforward NAME=x\r\n", false, false).unwrap().test, Test::NonSmtp);
}

#[test]
fn bare_newline() {
    let p = policy();
    let mut o = observer(&p);
    assert_eq!(o.observe(b"EHLO x\r\n", false, false), None);
    let v = o.observe(b"MAIL FROM:<a@b>\n", false, false).unwrap();
    assert_eq!(v.test, Test::BareNewline);
    assert_eq!(v.action, Action::Ignore);
    assert_eq!(o.enforce_reply(), None, "ignore does not enforce");
    // Still fails the test: not recorded as passed.
    o.observe(b"RCPT TO:<c@d>\r\n", false, false);
    assert!(!o.passed());
    let mut cache = PassCache::default();
    o.record_passes(&p, &mut cache, 1000);
    assert!(cache.passed(ip("192.0.2.50"), Test::Pipelining, 1001));
    assert!(!cache.passed(ip("192.0.2.50"), Test::BareNewline, 1001));
}

#[test]
fn inactive_tests_do_not_fire() {
    let p = policy();
    let mut o = ProtocolObserver::new(&p, ip("192.0.2.51"), [false, true, false]);
    assert_eq!(o.observe(b"MAIL FROM:<a@b>\n", true, false), None);
    assert!(o.observe(b"GET /\n", true, false).is_some());
}

#[test]
fn clean_session_is_cached_and_skips_the_tests_next_time() {
    let p = policy();
    let mut cache = PassCache::default();
    let t0 = 1_795_000_000_000u64;
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.52"), t0, Load::default());
    answer_all(&mut s, &p, &[], t0);
    s.tick(&p, t0 + 6000);
    assert_eq!(s.verdict(), Some(&Verdict::Pass));
    s.record_passes(&p, &mut cache);
    let mut o = s.observer(&p).expect("deep tests enabled");
    for (l, more) in [(&b"EHLO x\r\n"[..], false), (b"MAIL FROM:<a@b>\r\n", true), (b"RCPT TO:<c@d>\r\n", false)] {
        assert_eq!(o.observe(l, more, true), None);
    }
    assert!(o.passed());
    o.record_passes(&p, &mut cache, t0 / 1000 + 10);
    let s2 = Screen::connect(&p, &cache, ip("192.0.2.52"), t0 + 20_000, Load::default());
    assert!(s2.cache_hit());
    assert!(s2.observer(&p).is_none(), "all deep tests cached");
    // A session that never reached RCPT TO proves nothing.
    let mut o = observer(&p);
    o.observe(b"EHLO x\r\n", false, false);
    let mut c2 = PassCache::default();
    o.record_passes(&p, &mut c2, 5);
    assert!(c2.is_empty());
}

#[test]
fn disabled_tests_give_no_observer() {
    let p = seed_policy();
    let cache = PassCache::default();
    let t0 = 1_795_000_000_000u64;
    let mut s = Screen::connect(&p, &cache, ip("192.0.2.53"), t0, Load::default());
    s.tick(&p, t0 + 6000);
    assert!(s.observer(&p).is_none());
}

/// Feed `chunks` to a fresh observer with all tests active; collect the
/// violations as (test, action).
fn stream(p: &Policy, chunks: &[&[u8]]) -> (ProtocolObserver, Vec<(Test, Action)>) {
    let mut o = observer(p);
    let mut found = Vec::new();
    for c in chunks {
        found.extend(o.feed(c).into_iter().map(|v| (v.test, v.action)));
    }
    (o, found)
}

#[test]
fn stream_clean_pipelined_session() {
    let p = policy();
    let chunks: &[&[u8]] = &[
        b"EHLO client.example\r\n",
        b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\n",
        // Content is not checked: HTTP-looking lines, bare LF, dots.
        b"Subject: hi\r\n\r\nGET / HTTP/1.0\r\nbare\n..stuffed\r\n",
        b".\r\nQUIT\r\n",
    ];
    let (o, found) = stream(&p, chunks);
    assert_eq!(found, []);
    assert!(o.passed());
    // The same bytes one at a time: nothing is ever "buffered behind".
    let all: Vec<u8> = chunks.concat();
    let bytes: Vec<&[u8]> = all.chunks(1).collect();
    let (o, found) = stream(&p, &bytes);
    assert_eq!(found, []);
    assert!(o.passed());
}

#[test]
fn stream_bots() {
    let p = policy();
    let pipe = (Test::Pipelining, Action::Enforce);
    let non = (Test::NonSmtp, Action::Drop);
    let bare = (Test::BareNewline, Action::Ignore);
    type Case<'a> = (&'a [&'a [u8]], &'a [(Test, Action)]);
    let cases: &[Case] = &[
        // RFC 2920 3.1: EHLO ends a group.
        (&[b"EHLO x\r\nMAIL FROM:<a@b>\r\n"], &[pipe]),
        // HELO: no PIPELINING was offered.
        (&[b"HELO x\r\n", b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"], &[pipe]),
        // DATA with the message behind it, not waiting for 354.
        (&[b"EHLO x\r\n", b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n"], &[pipe]),
        // STARTTLS forgets the EHLO (RFC 3207 4.2).
        (&[b"EHLO x\r\n", b"STARTTLS\r\n", b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"], &[pipe]),
        // An HTTP proxy request: the worst first.
        (&[b"GET / HTTP/1.0\r\nHost: mx\r\n\r\n"], &[non, pipe]),
        (&[b"EHLO x\r\n", b"MAIL FROM:<a@b>\n"], &[bare]),
        // Long lines are judged by their start.
        (&[&[b"POST /".as_slice(), &[b'x'; 300], b"\r\n"].concat()], &[non]),
    ];
    for (chunks, want) in cases {
        let (_, found) = stream(&p, chunks);
        assert_eq!(&found, want, "{chunks:?}");
    }
}

#[test]
fn stream_skips_bdat_chunks_and_sasl_responses() {
    let p = policy();
    let (o, found) = stream(
        &p,
        &[
            b"EHLO x\r\n",
            b"AUTH PLAIN\r\n",
            b"0GFsaWNl/+==\r\n",
            b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 7 LAST\r\nGET /\r\n",
            b"BDAT 3\r\n1\n",
            b"2",
            b"QUIT\r\n",
        ],
    );
    assert_eq!(found, []);
    assert!(o.passed());
    // A DATA content end with a bare LF dot line also returns to commands.
    let (_, found) = stream(&p, &[b"EHLO x\r\n", b"DATA\r\n", b"x\n.\n", b"GET /\r\n"]);
    assert_eq!(found, [(Test::NonSmtp, Action::Drop)]);
}

#[test]
fn stream_without_pipelining_offered() {
    let p = policy();
    let mut o = observer(&p).without_pipelining();
    assert_eq!(o.feed(b"EHLO x\r\n"), []);
    let v = o.feed(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].test, Test::Pipelining);
    // BDAT still carries its chunk.
    let mut o = observer(&p).without_pipelining();
    assert_eq!(o.feed(b"BDAT 2 LAST\r\nhi"), []);
}
