//! STARTTLS (RFC 3207) including command injection, and AUTH (RFC 4954).
mod common;
use common::*;
use mail_smtp::*;

fn tls_cfg() -> Config {
    let mut c = cfg();
    c.starttls = true;
    c.auth = AuthPolicy::TlsOnly;
    c
}

/// Feed `plain` (in `split`-sized pieces) up to the TLS switch, then
/// `secure` after the handshake.
fn run_tls(c: &Config, plain: &[u8], secure: &[u8], split: usize) -> Transcript {
    let mut h = Harness::new(c.clone(), Policy::default());
    for piece in plain.chunks(split) {
        h.feed(piece);
    }
    assert!(h.tls_requested, "no StartTls event");
    h.tls_done();
    for piece in secure.chunks(split) {
        h.feed(piece);
    }
    h.t
}

#[test]
fn starttls_resets_and_requires_ehlo() {
    for split in [1, 3, 1000] {
        let t = run_tls(
            &tls_cfg(),
            b"EHLO c\r\nSTARTTLS\r\n",
            b"MAIL FROM:<a@b.c>\r\nEHLO c\r\nMAIL FROM:<a@b.c>\r\n",
            split,
        );
        let l = t.lines();
        assert!(l.contains(&"220 2.0.0 Ready to start TLS".to_string()));
        assert_eq!(t.codes()[1..], [220, 503, 250, 250]);
        // After TLS: no STARTTLS offered again, AUTH now offered.
        let after: Vec<&String> = l.iter().skip_while(|x| !x.starts_with("503")).collect();
        assert!(!after.iter().any(|x| x.contains("STARTTLS")));
        assert!(after.iter().any(|x| x.contains("AUTH PLAIN LOGIN")));
    }
}

#[test]
fn starttls_injection_discarded() {
    // Classic CVE-2011-0411 style: commands pipelined after STARTTLS in the
    // same plaintext packet must never be executed after the handshake.
    for split in [1, 2, 7, 1000] {
        let t = run_tls(
            &tls_cfg(),
            b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.org>\r\nRCPT TO:<v@y.z>\r\n",
            b"EHLO c\r\nRCPT TO:<v@y.z>\r\nQUIT\r\n",
            split,
        );
        assert_eq!(t.codes()[1..], [220, 250, 503, 221], "split {}", split);
        assert!(!t.recs.iter().any(|r| matches!(r, Rec::Rcpt(_))));
    }
}

#[test]
fn starttls_discards_partial_line_and_waits() {
    let mut h = Harness::new(tls_cfg(), Policy::default());
    h.feed(b"EHLO c\r\nSTARTTLS\r\nNOO");
    assert!(h.s.is_waiting());
    assert_eq!(h.s.feed(b"P\r\nNOOP\r\n"), 9);
    assert!(h.s.output().is_empty());
    h.tls_done();
    h.feed(b"NOOP\r\n");
    assert_eq!(h.t.lines().last().unwrap(), "250 2.0.0 Ok");
    assert_eq!(h.t.codes()[1..], [220, 250]);
}

#[test]
fn starttls_errors() {
    // Not configured
    let t = run(&cfg(), b"EHLO c\r\nSTARTTLS\r\n");
    assert!(t.has_line("502 5.5.1 "));
    // With argument
    let t = run(&tls_cfg(), b"EHLO c\r\nSTARTTLS now\r\n");
    assert!(t.has_line("501 5.5.4 Syntax: STARTTLS"));
    // Twice
    let t = run_tls(&tls_cfg(), b"STARTTLS\r\n", b"EHLO c\r\nSTARTTLS\r\n", 100);
    assert!(t.has_line("503 5.5.1 Error: TLS already active"));
}

#[test]
fn tls_established_without_request_is_refused() {
    let mut s = Server::new(tls_cfg());
    assert_eq!(s.tls_established(TlsInfo { version: "x".into(), cipher: "y".into() }), Err(NotPending));
}

#[test]
fn starttls_allowed_before_ehlo_and_facts_report_tls() {
    let mut h = Harness::new(tls_cfg(), Policy::default());
    h.feed(b"STARTTLS\r\n");
    h.tls_done();
    h.feed(b"EHLO client.example\r\n");
    let f = h.s.facts();
    assert_eq!(f.helo, "client.example");
    assert!(f.esmtp);
    assert_eq!(f.tls.unwrap().version, "TLSv1.3");
}

fn auth_session(c: &Config, cmds: &[u8]) -> Transcript {
    let mut h = Harness::new(c.clone(), Policy::default());
    h.feed(b"STARTTLS\r\n");
    h.tls_done();
    let mut input = b"EHLO c\r\n".to_vec();
    input.extend_from_slice(cmds);
    h.feed(&input);
    h.t
}

fn b64(s: &[u8]) -> String {
    String::from_utf8(mail_smtp::base64::encode(s)).unwrap()
}

#[test]
fn auth_plain_initial_response() {
    let cmd = format!("AUTH PLAIN {}\r\nMAIL FROM:<alice@x.org>\r\n", b64(b"\0alice\0secret"));
    let t = auth_session(&tls_cfg(), cmd.as_bytes());
    assert!(t.has_line("235 2.7.0 Authentication successful"));
    assert!(t.recs.iter().any(
        |r| matches!(r, Rec::Auth(a) if a.mechanism == "PLAIN" && a.username == "alice" && a.password == "secret")
    ));
    assert_eq!(*t.codes().last().unwrap(), 250);
}

#[test]
fn auth_plain_challenge_and_failure() {
    let cmd = format!("AUTH PLAIN\r\n{}\r\nAUTH PLAIN =\r\n", b64(b"admin\0alice\0wrong"));
    let t = auth_session(&tls_cfg(), cmd.as_bytes());
    assert!(t.has_line("334 "));
    assert!(t.has_line("535 5.7.8 Authentication credentials invalid"));
    assert!(t.recs.iter().any(|r| matches!(r, Rec::Auth(a) if a.authzid == "admin")));
    // "=" is an empty response: not a valid PLAIN message.
    assert!(t.has_line("501 5.5.2 Invalid PLAIN response"));
}

#[test]
fn auth_login_dialogue() {
    let cmd = format!("AUTH LOGIN\r\n{}\r\n{}\r\nAUTH LOGIN\r\n", b64(b"alice"), b64(b"secret"));
    let t = auth_session(&tls_cfg(), cmd.as_bytes());
    assert!(t.has_line("334 VXNlcm5hbWU6"));
    assert!(t.has_line("334 UGFzc3dvcmQ6"));
    assert!(t.has_line("235 2.7.0 "));
    assert!(t.has_line("503 5.5.1 Error: already authenticated"));
    let cmd = format!("AUTH LOGIN {}\r\n{}\r\n", b64(b"alice"), b64(b"secret"));
    let t = auth_session(&tls_cfg(), cmd.as_bytes());
    assert!(t.has_line("235 2.7.0 "));
}

#[test]
fn auth_cancel_and_bad_base64() {
    let t = auth_session(&tls_cfg(), b"AUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n!!!!\r\nNOOP\r\n");
    assert!(t.has_line("501 5.7.0 Authentication aborted"));
    assert!(t.has_line("501 5.5.2 Cannot decode response"));
    assert_eq!(*t.codes().last().unwrap(), 250);
}

#[test]
fn auth_requires_tls_by_default() {
    let t = run(&tls_cfg(), b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(t.has_line("538 5.7.11 Encryption required"));
    assert!(!t.recs.iter().any(|r| matches!(r, Rec::Auth(_))));
    let t = run(&cfg(), b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(t.has_line("503 5.5.1 Error: authentication not enabled"));
    let mut c = cfg();
    c.auth = AuthPolicy::Always;
    let t = run(&c, b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(t.has_line("235 2.7.0 "));
}

#[test]
fn auth_sequence_errors() {
    let t =
        auth_session(&tls_cfg(), b"AUTH CRAM-MD5\r\nAUTH\r\nMAIL FROM:<a@b.c>\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(t.has_line("504 5.5.4 Unsupported authentication mechanism"));
    assert!(t.has_line("501 5.5.4 Syntax: AUTH mechanism"));
    assert!(t.has_line("503 5.5.1 Error: MAIL transaction in progress"));
    let mut c = cfg();
    c.auth = AuthPolicy::Always;
    let t = run(&c, b"HELO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(t.has_line("503 5.5.1 Error: send EHLO first"));
}

#[test]
fn auth_long_line_limit() {
    let mut c = tls_cfg();
    c.max_auth_line = 100;
    let long = format!("AUTH PLAIN {}\r\n", "A".repeat(200));
    let t = auth_session(&c, long.as_bytes());
    assert!(t.has_line("500 5.5.2 Error: line too long"));
    // A 600-octet AUTH line is fine with the default 12288 limit even though
    // commands are limited to 512.
    let pw = "p".repeat(440);
    let cmd = format!("AUTH PLAIN {}\r\n", b64(format!("\0alice\0{}", pw).as_bytes()));
    assert!(cmd.len() > 512);
    let t = auth_session(&tls_cfg(), cmd.as_bytes());
    assert!(t.has_line("535 5.7.8 "));
}

#[test]
fn auth_temp_fail_and_auth_user_in_facts() {
    let mut c = tls_cfg();
    c.require_auth = true;
    let mut h = Harness::new(c, Policy { auth: |_| AuthAnswer::TempFail, ..Policy::default() });
    h.feed(b"STARTTLS\r\n");
    h.tls_done();
    h.feed(b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.c>\r\n");
    assert!(h.t.has_line("454 4.7.0 Temporary authentication failure"));
    assert!(h.t.has_line("530 5.7.0 Authentication required"));
    h.policy.auth = auth_default;
    h.feed(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.c>\r\n");
    assert_eq!(h.s.facts().auth_user.as_deref(), Some("alice"));
    assert_eq!(*h.t.codes().last().unwrap(), 250);
}

#[test]
fn auth_pipelined_fragmentation_equivalence() {
    let mut c = cfg();
    c.auth = AuthPolicy::Always;
    let input = format!(
        "EHLO c\r\nAUTH LOGIN\r\n{}\r\n{}\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
        b64(b"alice"),
        b64(b"secret")
    );
    let t = run_all_splits(&c, &Policy::default(), input.as_bytes());
    assert_eq!(t.messages().len(), 1);
}
