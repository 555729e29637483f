//! Command-level dialogues: RFC 5321 Appendix D scenarios, every command,
//! sequence and syntax errors, limits.
mod common;
use common::*;
use mail_smtp::*;

fn policy_green_unknown() -> Policy {
    Policy {
        rcpt: |m| {
            if m.local.eq_ignore_ascii_case("green") {
                Reply::new(550, Enhanced(5, 1, 1), "No such user here")
            } else {
                Reply::rcpt_ok()
            }
        },
        ..Policy::default()
    }
}

#[test]
fn greeting_has_no_enhanced_code() {
    let t = run(&cfg(), b"");
    assert_eq!(t.out_str(), "220 mx.example.org ESMTP\r\n");
}

#[test]
fn appendix_d1_typical_transaction() {
    let input = b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\n\
RCPT TO:<Brown@foo.com>\r\nDATA\r\nBlah blah blah...\r\n...etc. etc. etc.\r\n.\r\nQUIT\r\n";
    let t = run_all_splits(&cfg(), &policy_green_unknown(), input);
    assert_eq!(t.codes(), vec![250, 250, 250, 550, 250, 354, 250, 221]);
    let msgs = t.messages();
    assert_eq!(msgs.len(), 1);
    let (env, body) = &msgs[0];
    assert_eq!(format!("{}", env.sender), "Smith@bar.com");
    let rcpts: Vec<String> = env.recipients.iter().map(|r| r.to_string()).collect();
    assert_eq!(rcpts, ["Jones@foo.com", "Brown@foo.com"]);
    // RFC 5321 4.5.2: "..etc" loses its first dot.
    assert_eq!(body, b"Blah blah blah...\r\n..etc. etc. etc.\r\n");
    assert!(t.closed);
    assert_eq!(t.recs.last(), Some(&Rec::Close));
}

#[test]
fn appendix_d2_aborted_transaction() {
    let input = b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\nRSET\r\nQUIT\r\n";
    let t = run_all_splits(&cfg(), &policy_green_unknown(), input);
    assert_eq!(t.codes(), vec![250, 250, 250, 550, 250, 221]);
    assert!(t.messages().is_empty());
}

#[test]
fn appendix_d3_source_route_ignored() {
    let input = b"EHLO foo.com\r\nMAIL FROM:<JQP@bar.com>\r\nRCPT TO:<@foo.com:Jones@XYZ.COM>\r\nDATA\r\nx\r\n.\r\n";
    let t = run_all_splits(&cfg(), &Policy::default(), input);
    assert_eq!(t.codes(), vec![250, 250, 250, 354, 250]);
    assert_eq!(t.messages()[0].0.recipients[0].to_string(), "Jones@XYZ.COM");
}

#[test]
fn appendix_d4_vrfy_and_send() {
    let t = run(&cfg(), b"HELO foo.com\r\nVRFY Crispin\r\nSEND FROM:<x@y.z>\r\n");
    assert_eq!(t.lines()[1], "502 5.5.1 VRFY command is disabled");
    assert_eq!(t.lines()[2], "502 5.5.1 Error: command not implemented");
    let mut c = cfg();
    c.vrfy = VrfyPolicy::Ambiguous;
    let t = run(&c, b"VRFY Crispin\r\nVRFY\r\n");
    assert!(t.lines()[0].starts_with("252 2.5.2 "));
    assert!(t.lines()[1].starts_with("501 5.5.4 "));
}

#[test]
fn ehlo_advertises_extensions() {
    let t = run(&cfg(), b"EHLO client.example\r\n");
    assert_eq!(
        t.lines(),
        [
            "250-mx.example.org",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-ENHANCEDSTATUSCODES",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250 CHUNKING"
        ]
    );
    assert_eq!(t.recs, [Rec::Helo("client.example".into(), true)]);
}

#[test]
fn ehlo_with_starttls_and_auth() {
    let mut c = cfg();
    c.starttls = true;
    c.auth = AuthPolicy::Always;
    let t = run(&c, b"EHLO client.example\r\n");
    assert!(t.has_line("250-STARTTLS"));
    assert!(t.has_line("250-AUTH PLAIN LOGIN"));
    c.auth = AuthPolicy::TlsOnly;
    let t = run(&c, b"EHLO client.example\r\n");
    assert!(!t.out_str().contains("AUTH"), "AUTH must not be offered in clear text");
}

#[test]
fn helo_is_plain_smtp() {
    let t = run(&cfg(), b"HELO client\r\nMAIL FROM:<a@b.c> SIZE=10\r\nMAIL FROM:<a@b.c>\r\n");
    assert_eq!(t.lines()[0], "250 mx.example.org");
    assert!(t.lines()[1].starts_with("555 5.5.4 "));
    assert_eq!(t.lines()[2], "250 2.1.0 Ok");
}

#[test]
fn helo_syntax() {
    let t = run(&cfg(), b"EHLO\r\nHELO \r\nEHLO a\x01b\r\n");
    assert_eq!(t.lines(), ["501 Syntax: EHLO hostname", "501 Syntax: HELO hostname", "501 Syntax: EHLO hostname"]);
}

#[test]
fn mail_before_helo_is_bad_sequence() {
    let t = run(&cfg(), b"MAIL FROM:<a@b.c>\r\nRCPT TO:<a@b.c>\r\nDATA\r\n");
    assert_eq!(t.lines()[0], "503 5.5.1 Error: send HELO/EHLO first");
    assert_eq!(t.lines()[1], "503 5.5.1 Error: need MAIL command");
    assert_eq!(t.lines()[2], "503 5.5.1 Error: send HELO/EHLO first");
}

#[test]
fn nested_mail_and_data_without_rcpt() {
    let t = run(&cfg(), b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\n");
    assert_eq!(t.codes()[1..], [250, 503, 503]);
    assert!(t.has_line("503 5.5.1 Error: nested MAIL command"));
    assert!(t.has_line("503 5.5.1 Error: need RCPT command"));
}

#[test]
fn data_with_all_recipients_rejected_is_554() {
    let t = run(&cfg(), b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<unknown@x.org>\r\nDATA\r\n");
    assert_eq!(t.codes()[1..], [250, 550, 554]);
    assert!(t.has_line("554 5.5.1 Error: no valid recipients"));
}

#[test]
fn null_sender_and_postmaster() {
    let t = run_all_splits(
        &cfg(),
        &Policy::default(),
        b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nhi\r\n.\r\n",
    );
    assert_eq!(t.codes()[1..], [250, 250, 354, 250]);
    let (env, _) = &t.messages()[0];
    assert_eq!(env.sender, ReversePath::Null);
    assert_eq!(env.recipients[0].host, None);
}

#[test]
fn bad_sender_address_is_501_5_1_7() {
    for a in ["MAIL FROM:a@b.c", "MAIL FROM:<a@@b.c>", "MAIL FROM:<a@b.c", "MAIL FROM:<a b@c.d>"] {
        let t = run(&cfg(), format!("EHLO c\r\n{}\r\n", a).as_bytes());
        assert!(t.lines().last().unwrap().starts_with("501 5.1.7 "), "{}: {:?}", a, t.lines());
    }
}

#[test]
fn bad_recipient_address_is_501_5_1_3() {
    for a in ["RCPT TO:a@b.c", "RCPT TO:<a@b..c>", "RCPT TO:<>", "RCPT TO:<@x:>"] {
        let t = run(&cfg(), format!("EHLO c\r\nMAIL FROM:<>\r\n{}\r\n", a).as_bytes());
        assert!(t.lines().last().unwrap().starts_with("501 5.1.3 "), "{}: {:?}", a, t.lines());
    }
}

#[test]
fn mail_rcpt_missing_colon_is_syntax() {
    let t = run(&cfg(), b"HELO c\r\nMAIL <a@b.c>\r\nMAIL FROM <a@b.c>\r\n");
    assert!(t.lines()[1].starts_with("501 5.5.4 "));
    assert!(t.lines()[2].starts_with("501 5.5.4 "));
}

#[test]
fn address_literals() {
    let input = b"EHLO [192.0.2.1]\r\nMAIL FROM:<a@[192.0.2.1]>\r\nRCPT TO:<b@[IPv6:2001:db8::1]>\r\nRCPT TO:<c@[999.0.0.1]>\r\n";
    let t = run(&cfg(), input);
    assert_eq!(t.codes()[1..], [250, 250, 501]);
}

#[test]
fn quoted_local_part() {
    let t = run(&cfg(), b"EHLO c\r\nMAIL FROM:<\"a b>c\"@x.org>\r\nRCPT TO:<\"d\\\"e\"@y.org>\r\n");
    assert_eq!(t.codes()[1..], [250, 250]);
}

#[test]
fn mail_parameters() {
    let input = b"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME AUTH=<>\r\nRSET\r\n\
MAIL FROM:<a@b.c> BODY=BINARYMIME\r\nMAIL FROM:<a@b.c> RET=HDRS\r\nMAIL FROM:<a@b.c> SIZE=abc\r\n\
MAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\nMAIL FROM:<a@b.c> BODY=7bit SMTPUTF8\r\n";
    let t = run(&cfg(), input);
    assert_eq!(t.codes()[1..], [250, 250, 501, 555, 501, 501, 250]);
    assert!(t.has_line("555 5.5.4 Unsupported option: RET"));
}

#[test]
fn rcpt_parameters_unsupported() {
    let t = run(&cfg(), b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z> NOTIFY=NEVER\r\n");
    assert!(t.has_line("555 5.5.4 Unsupported option: NOTIFY"));
}

#[test]
fn size_announced_over_limit_is_552() {
    let mut c = cfg();
    c.max_message_size = 1000;
    let t = run(&c, b"EHLO c\r\nMAIL FROM:<a@b.c> SIZE=1001\r\nMAIL FROM:<a@b.c> SIZE=1000\r\nRSET\r\nMAIL FROM:<a@b.c> SIZE=99999999999999999999\r\n");
    assert_eq!(t.codes()[1..], [552, 250, 250, 552]);
    assert!(t.has_line("552 5.3.4 Message size exceeds fixed maximum message size"));
}

#[test]
fn smtputf8_addresses() {
    let input = "EHLO c\r\nMAIL FROM:<jöran@exämple.org>\r\nMAIL FROM:<jöran@exämple.org> SMTPUTF8\r\nRCPT TO:<用户@例子.广告>\r\nDATA\r\nSubject: ü\r\n.\r\n";
    let t = run_all_splits(&cfg(), &Policy::default(), input.as_bytes());
    assert_eq!(t.codes()[1..], [553, 250, 250, 354, 250]);
    assert!(t.has_line("553 5.6.7 "));
    let (env, body) = &t.messages()[0];
    assert!(env.smtputf8);
    assert_eq!(env.recipients[0].to_string(), "用户@例子.广告");
    assert_eq!(body, "Subject: ü\r\n".as_bytes());
}

#[test]
fn utf8_recipient_without_smtputf8_is_553() {
    let t = run(&cfg(), "HELO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<用户@例子.广告>\r\n".as_bytes());
    assert!(t.lines()[2].starts_with("553 5.6.7 "));
}

#[test]
fn rset_noop_help_quit() {
    let t = run(&cfg(), b"NOOP\r\nnoop anything\r\nHELP\r\nRSET\r\nRSET x\r\nQUIT now\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(t.codes(), [250, 250, 214, 250, 501, 501, 221]);
    assert!(t.has_line("214 2.0.0 "));
    assert!(t.has_line("221 2.0.0 Bye"));
    assert!(t.closed);
}

#[test]
fn rset_clears_transaction() {
    let t = run(&cfg(), b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nRSET\r\nDATA\r\nRCPT TO:<x@y.z>\r\n");
    assert_eq!(t.codes()[1..], [250, 250, 250, 503, 503]);
}

#[test]
fn ehlo_resets_transaction() {
    let t = run(&cfg(), b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nEHLO d\r\nRCPT TO:<x@y.z>\r\n");
    assert_eq!(*t.codes().last().unwrap(), 503);
}

#[test]
fn unknown_command_is_500_5_5_1() {
    let t = run(&cfg(), b"FOO bar\r\n\r\nEXPN list\r\n");
    assert_eq!(
        t.lines(),
        [
            "500 5.5.1 Error: command not recognized",
            "500 5.5.1 Error: command not recognized",
            "502 5.5.1 EXPN command is disabled"
        ]
    );
}

#[test]
fn command_line_too_long_is_500_5_5_2() {
    let mut line = b"NOOP ".to_vec();
    line.resize(510, b'x');
    line.extend_from_slice(b"\r\n");
    let mut input = line.clone(); // exactly 512 with CRLF: fine
    input.extend_from_slice(b"NOOP ");
    input.extend_from_slice(&vec![b'y'; 600]);
    input.extend_from_slice(b"\r\nNOOP\r\n");
    let t = run_all_splits(&cfg(), &Policy::default(), &input);
    assert_eq!(t.lines(), ["250 2.0.0 Ok", "500 5.5.2 Error: line too long", "250 2.0.0 Ok"]);
}

#[test]
fn huge_command_line_does_not_allocate_it() {
    let mut input = b"EHLO ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 1 << 20));
    input.extend_from_slice(b"\r\nQUIT\r\n");
    let mut h = Harness::new(cfg(), Policy::default());
    h.feed(&input);
    assert_eq!(h.t.lines(), ["500 5.5.2 Error: line too long", "221 2.0.0 Bye"]);
}

#[test]
fn too_many_recipients_is_452_4_5_3() {
    let mut c = cfg();
    c.max_recipients = 3;
    let mut input = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n".to_vec();
    for i in 0..5 {
        input.extend_from_slice(format!("RCPT TO:<r{}@x.org>\r\n", i).as_bytes());
    }
    input.extend_from_slice(b"DATA\r\nbody\r\n.\r\n");
    let t = run_all_splits(&c, &Policy::default(), &input);
    assert_eq!(t.codes()[1..], [250, 250, 250, 250, 452, 452, 354, 250]);
    assert!(t.has_line("452 4.5.3 Error: too many recipients"));
    assert_eq!(t.messages()[0].0.recipients.len(), 3);
}

#[test]
fn error_limit_disconnects_with_421() {
    let mut c = cfg();
    c.max_errors = 3;
    let t = run(&c, b"X\r\nY\r\nZ\r\nNOOP\r\n");
    assert_eq!(t.codes(), [500, 500, 500, 421]);
    assert!(t.has_line("421 4.7.0 mx.example.org Error: too many errors"));
    assert!(t.closed);
}

#[test]
fn command_limit_disconnects_with_421() {
    let mut c = cfg();
    c.max_commands = 3;
    let t = run(&c, b"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
    assert_eq!(t.codes(), [250, 250, 250, 421]);
    assert!(t.has_line("421 4.7.0 mx.example.org Error: too many commands"));
}

#[test]
fn timeout_is_421_4_4_2() {
    let mut h = Harness::new(cfg(), Policy::default());
    h.feed(b"EHLO c\r\n");
    h.s.timeout();
    h.feed(b"");
    assert_eq!(h.t.lines().last().unwrap(), "421 4.4.2 mx.example.org Error: timeout exceeded");
    assert!(h.t.closed && h.s.is_closed());
    // Nothing after close is processed.
    h.feed(b"NOOP\r\n");
    assert_eq!(h.s.feed(b"NOOP\r\n"), 6);
    assert!(h.s.output().is_empty());
}

#[test]
fn timeout_during_data_aborts_message() {
    let mut h = Harness::new(cfg(), Policy::default());
    h.feed(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\npartial");
    h.s.timeout();
    h.feed(b"");
    assert!(
        h.t.recs.contains(&Rec::Aborted(AbortReason::SessionEnded, b"partial".to_vec()))
            || h.t.recs.iter().any(|r| matches!(r, Rec::Aborted(AbortReason::SessionEnded, _)))
    );
    assert_eq!(h.t.codes().last(), Some(&421));
}

#[test]
fn recipient_check_can_be_answered_later() {
    let mut s = Server::new(cfg());
    s.take_output();
    let input = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<w@y.z>\r\n";
    let n = s.feed(input);
    // Stopped right after the first RCPT line: the rest is not consumed.
    assert_eq!(&input[n..], b"RCPT TO:<w@y.z>\r\n");
    assert!(s.is_waiting());
    assert_eq!(s.feed(&input[n..]), 0);
    let evs: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(matches!(evs.last(), Some(Event::CheckRecipient(m)) if m.to_string() == "x@y.z"));
    assert_eq!(s.envelope().unwrap().sender.to_string(), "a@b.c");
    assert_eq!(s.answer_message(Reply::queued("x")), Err(NotPending));
    s.answer_recipient(Reply::new(450, Enhanced(4, 2, 0), "Greylisted, try later")).unwrap();
    assert_eq!(s.answer_recipient(Reply::rcpt_ok()), Err(NotPending));
    assert_eq!(s.feed(&input[n..]), 17);
    // Answering does not require polling the event first.
    s.answer_recipient(Reply::rcpt_ok()).unwrap();
    let out = String::from_utf8(s.take_output()).unwrap();
    assert!(out.ends_with("250 2.1.0 Ok\r\n450 4.2.0 Greylisted, try later\r\n250 2.1.5 Ok\r\n"), "{}", out);
    assert_eq!(s.envelope().unwrap().recipients.len(), 1);
}

#[test]
fn sender_check_when_configured() {
    let mut c = cfg();
    c.check_sender = true;
    let p = Policy {
        sender: |s| {
            if s.to_string().starts_with("spam") {
                Reply::new(550, Enhanced(5, 7, 1), "Sender rejected")
            } else {
                Reply::sender_ok()
            }
        },
        ..Policy::default()
    };
    let t = run_all_splits(
        &c,
        &p,
        b"EHLO c\r\nMAIL FROM:<spam@x.org>\r\nRCPT TO:<a@b.c>\r\nMAIL FROM:<ok@x.org>\r\nRCPT TO:<a@b.c>\r\n",
    );
    assert_eq!(t.codes()[1..], [550, 503, 250, 250]);
    assert!(!t.recs.contains(&Rec::Sender(ReversePath::Null)));
}

#[test]
fn require_tls_and_auth_gate_mail() {
    let mut c = cfg();
    c.require_tls = true;
    let t = run(&c, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
    assert!(t.has_line("530 5.7.0 Must issue a STARTTLS command first"));
    let mut c = cfg();
    c.require_auth = true;
    c.auth = AuthPolicy::Always;
    let t = run(&c, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
    assert!(t.has_line("530 5.7.0 Authentication required"));
}

#[test]
fn every_error_reply_has_enhanced_code() {
    let input = b"FOO\r\nMAIL FROM:<a@b.c>\r\nEHLO c\r\nMAIL FROM:<>\r\nRCPT TO:bad\r\nRCPT TO:<unknown@x.org>\r\nDATA x\r\nBDAT x\r\nSTARTTLS\r\nAUTH PLAIN\r\nVRFY x\r\nRSET\r\nQUIT\r\n";
    let mut c = cfg();
    c.max_errors = 100;
    let t = run(&c, input);
    for l in t.lines() {
        if l.starts_with("250-") || l == "250 CHUNKING" {
            continue;
        }
        let b = l.as_bytes();
        assert!(b[4].is_ascii_digit() && b[5] == b'.' && b[4] == b[0], "no matching enhanced code: {}", l);
    }
}

#[test]
fn reply_backpressure_stops_consuming() {
    let mut c = cfg();
    c.max_output = 100;
    let mut s = Server::new(c);
    let input = b"NOOP\r\n".repeat(100);
    let n = s.feed(&input);
    assert!(n < input.len());
    assert!(s.output().len() <= 100 + 20);
    s.take_output();
    let m = s.feed(&input[n..]);
    assert!(m > 0);
}

#[test]
fn bare_lf_command_lines() {
    let t = run(&cfg(), b"NOOP\nNOOP\r\n");
    assert_eq!(t.lines(), ["500 5.5.2 Error: bare <CR> or <LF> received", "250 2.0.0 Ok"]);
    let mut c = cfg();
    c.bare_endings = BareEndings::Normalize;
    let t = run(&c, b"NOOP\nNOOP\r\nNO\rOP\r\n");
    assert_eq!(t.codes(), [250, 250, 500]);
}

#[test]
fn pipelined_batch_in_one_feed_gives_replies_in_order() {
    let input = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nRCPT TO:<unknown1@y.z>\r\nRCPT TO:<z@y.z>\r\nDATA\r\nSubject: t\r\n\r\nhello\r\n.\r\nMAIL FROM:<b@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n";
    let t = run_all_splits(&cfg(), &Policy::default(), input);
    assert_eq!(t.codes()[1..], [250, 250, 550, 250, 354, 250, 250, 250, 354, 250, 221]);
    let m = t.messages();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].1, b"Subject: t\r\n\r\nhello\r\n");
    assert_eq!(m[1].1, b"second\r\n");
    assert_eq!(m[1].0.sender.to_string(), "b@b.c");
}

#[test]
fn final_reply_chosen_by_caller() {
    let p = Policy {
        message: |e, d| {
            if d.windows(9).any(|w| w == b"Received:") && e.recipients.len() == 1 {
                Reply::new(554, Enhanced(5, 4, 6), "Mail loop detected")
            } else {
                Reply::new(452, Enhanced(4, 3, 1), "Insufficient system storage")
            }
        },
        ..Policy::default()
    };
    let t = run_all_splits(&cfg(), &p, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nReceived: x\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nhi\r\n.\r\n");
    assert!(t.has_line("554 5.4.6 Mail loop detected"));
    assert!(t.has_line("452 4.3.1 Insufficient system storage"));
}

#[test]
fn caller_reply_text_cannot_inject_lines() {
    let p = Policy { rcpt: |_| Reply::new(550, Enhanced(5, 1, 1), "no\r\n250 ok"), ..Policy::default() };
    let t = run_with(&cfg(), &p, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n");
    // A "\n" in text is a multi-line reply with the same code, never a new code.
    assert!(t.out_str().ends_with("550-5.1.1 no \r\n550 5.1.1 250 ok\r\n"), "{}", t.out_str());
}

#[test]
fn timeout_while_message_pending_aborts() {
    let mut s = Server::new(cfg());
    let input = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n";
    let mut off = 0;
    while off < input.len() {
        off += s.feed(&input[off..]);
        while let Some(ev) = s.poll_event() {
            if matches!(ev, Event::CheckRecipient(_)) {
                s.answer_recipient(Reply::rcpt_ok()).unwrap();
            }
        }
    }
    s.feed(b"DATA\r\nhello\r\n.\r\n");
    let evs: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(matches!(evs.last(), Some(Event::MessageComplete(_))));
    s.timeout();
    let evs: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(evs, [Event::MessageAborted(AbortReason::SessionEnded), Event::Close]);
    assert_eq!(s.answer_message(Reply::queued("late")), Err(NotPending));
    assert!(String::from_utf8(s.take_output())
        .unwrap()
        .ends_with("421 4.4.2 mx.example.org Error: timeout exceeded\r\n"));
}

#[test]
fn timeout_in_refused_bdat_chunk_has_no_abort_event() {
    let mut h = Harness::new(cfg(), Policy::default());
    h.feed(b"EHLO c\r\nBDAT 100\r\nabc");
    h.s.timeout();
    h.feed(b"");
    assert!(!h.t.recs.iter().any(|r| matches!(r, Rec::Aborted(..))));
    assert!(h.t.closed);
}

#[test]
fn shutdown_is_421_4_3_2() {
    let mut h = Harness::new(cfg(), Policy::default());
    h.s.shutdown();
    h.feed(b"");
    assert!(h.t.lines()[0].starts_with("421 4.3.2 mx.example.org "));
}

#[test]
fn refuse_replaces_the_greeting() {
    let mut s = Server::new(cfg());
    s.refuse(Reply::new(421, Enhanced(4, 7, 0), "Too many connections from your address"));
    let out = String::from_utf8(s.take_output()).unwrap();
    assert_eq!(out, "421 4.7.0 Too many connections from your address\r\n");
    assert!(s.is_closed());
    assert_eq!(s.feed(b"EHLO c\r\n"), 8);
    assert!(s.take_output().is_empty());
}

#[test]
fn refuse_after_commands_keeps_earlier_replies() {
    let mut s = Server::new(cfg());
    s.feed(b"EHLO c\r\n");
    s.refuse(Reply::new(521, Enhanced(5, 7, 1), "Go away"));
    let out = String::from_utf8(s.take_output()).unwrap();
    assert!(out.starts_with("220 ") && out.contains("\r\n250 ") && out.ends_with("521 5.7.1 Go away\r\n"), "{out}");
}
