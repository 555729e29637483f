//! DATA and BDAT content: dot-unstuffing, SMTP smuggling, size and line
//! limits, chunking, 8-bit data, all checked over many fragmentations.
mod common;
use common::*;
use mail_smtp::*;

const HEAD: &[u8] = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\n";

fn with_head(rest: &[u8]) -> Vec<u8> {
    let mut v = HEAD.to_vec();
    v.extend_from_slice(rest);
    v
}

fn all(c: &Config, rest: &[u8]) -> Transcript {
    run_all_splits(c, &Policy::default(), &with_head(rest))
}

#[test]
fn data_354_has_no_enhanced_code() {
    let t = all(&cfg(), b"DATA\r\n.\r\n");
    assert!(t.has_line("354 End data with <CR><LF>.<CR><LF>"));
    assert!(t.has_line("250 2.0.0 Ok: queued as Q1"));
}

#[test]
fn empty_message_dot_at_start() {
    // `.\r\n` right after DATA ends an empty message (the CRLF of the DATA
    // line is the first half of the end sequence).
    let t = all(&cfg(), b"DATA\r\n.\r\nNOOP\r\n");
    assert_eq!(t.codes()[3..], [354, 250, 250]);
    assert_eq!(t.messages()[0].1, b"");
}

#[test]
fn dot_unstuffing() {
    let t = all(&cfg(), b"DATA\r\n..\r\n...\r\n.x\r\n..y\r\nz.\r\n .\r\n.\r\n");
    assert_eq!(t.messages()[0].1, b".\r\n..\r\nx\r\n.y\r\nz.\r\n .\r\n");
}

#[test]
fn commands_inside_data_are_content() {
    let t = all(&cfg(), b"DATA\r\nRSET\r\nQUIT\r\nMAIL FROM:<e@f.g>\r\n.\r\n");
    assert_eq!(t.codes()[3..], [354, 250]);
    assert_eq!(t.messages()[0].1, b"RSET\r\nQUIT\r\nMAIL FROM:<e@f.g>\r\n");
    assert!(!t.closed);
}

#[test]
fn eight_bit_and_binary_octets_pass_through() {
    let mut body: Vec<u8> = (0u8..=255).filter(|&b| b != b'\r' && b != b'\n').collect();
    body.extend_from_slice(b"\r\n");
    let mut input = b"DATA\r\n".to_vec();
    input.extend_from_slice(&body);
    input.extend_from_slice(b".\r\n");
    let t = all(&cfg(), &input);
    assert_eq!(t.messages()[0].1, body);
    assert_eq!(t.messages()[0].0.size, body.len() as u64);
}

/// A smuggling payload: a fake end-of-data followed by a second transaction.
fn smuggle(end: &[u8]) -> Vec<u8> {
    let mut v = b"DATA\r\nSubject: legit\r\n\r\nhello".to_vec();
    v.extend_from_slice(end);
    v.extend_from_slice(b"MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@y.z>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n");
    v
}

#[test]
fn smuggling_sequences_rejected() {
    for end in [&b"\n.\n"[..], b"\r.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\n.\r\n\r\n"] {
        let t = all(&cfg(), &smuggle(end));
        // One DATA, ended only at the real CRLF.CRLF, refused as a whole;
        // the smuggled MAIL/RCPT/DATA never ran as commands.
        assert_eq!(t.codes()[3..], [354, 550, 221], "{:?}", end);
        assert!(t.has_line("550 5.5.2 Error: bare <CR> or <LF> in message content"));
        assert!(t.messages().is_empty());
        assert!(
            matches!(
                &t.recs[..],
                [Rec::Helo(..), Rec::Rcpt(_), Rec::Aborted(AbortReason::BareLineEnding, _), Rec::Close]
            ),
            "{:?}",
            t.recs
        );
    }
}

#[test]
fn smuggling_sequences_normalised_stay_one_message() {
    let mut c = cfg();
    c.bare_endings = BareEndings::Normalize;
    for end in [&b"\n.\n"[..], b"\r.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"] {
        let t = all(&c, &smuggle(end));
        assert_eq!(t.codes()[3..], [354, 250, 221], "{:?}", end);
        let m = t.messages();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0.sender.to_string(), "a@b.c");
        let body = &m[0].1;
        // The smuggled commands are content of the one message, every line
        // ending is CR LF.
        assert!(body
            .windows(24)
            .any(|w| w == b"MAIL FROM:<admin@bank.e"[..].iter().chain(b"x").copied().collect::<Vec<u8>>().as_slice()));
        for (i, &b) in body.iter().enumerate() {
            if b == b'\n' {
                assert_eq!(body[i - 1], b'\r');
            }
            if b == b'\r' {
                assert_eq!(body[i + 1], b'\n');
            }
        }
    }
}

#[test]
fn real_end_after_bare_lf_content_with_normalize() {
    let mut c = cfg();
    c.bare_endings = BareEndings::Normalize;
    let t = all(&c, b"DATA\r\na\nb\r\n.\r\n");
    assert_eq!(t.messages()[0].1, b"a\r\nb\r\n");
}

#[test]
fn dot_line_at_start_then_more_is_commands() {
    // `.\r\n` at the start ends the message; what follows is commands again.
    let t = all(&cfg(), b"DATA\r\n.\r\nMAIL FROM:<z@z.z>\r\nQUIT\r\n");
    assert_eq!(t.codes()[3..], [354, 250, 250, 221]);
}

#[test]
fn message_too_big_read_to_end_then_552() {
    let mut c = cfg();
    c.max_message_size = 100;
    c.data_chunk = 16;
    let mut input = b"DATA\r\n".to_vec();
    for _ in 0..20 {
        input.extend_from_slice(b"0123456789\r\n");
    }
    input.extend_from_slice(b".\r\nNOOP\r\n");
    let t = all(&c, &input);
    assert_eq!(t.codes()[3..], [354, 552, 250]);
    assert!(t.has_line("552 5.3.4 Error: message file too big"));
    assert!(t.messages().is_empty());
    assert!(t.recs.iter().any(|r| matches!(r, Rec::Aborted(AbortReason::TooBig, d) if d.len() <= 100)));
}

#[test]
fn message_exactly_at_limit_accepted() {
    let mut c = cfg();
    c.max_message_size = 12;
    let t = all(&c, b"DATA\r\n0123456789\r\n.\r\n");
    assert_eq!(t.codes()[3..], [354, 250]);
    let t = all(&c, b"DATA\r\n0123456789X\r\n.\r\n");
    assert_eq!(t.codes()[3..], [354, 552]);
}

#[test]
fn one_megabyte_line_streams_in_bounded_chunks() {
    let mut c = cfg();
    c.data_chunk = 4096;
    let mut input = with_head(b"DATA\r\n");
    input.extend(std::iter::repeat_n(b'x', 1 << 20));
    input.extend_from_slice(b"\r\n.\r\n");
    let t = run_split(&c, &Policy::default(), &input, &mut || 1500);
    assert_eq!(t.codes()[3..], [354, 250]);
    assert_eq!(t.messages()[0].1.len(), (1 << 20) + 2);
    assert!(t.max_chunk <= 4096 + 3, "chunk {}", t.max_chunk);
}

#[test]
fn data_line_limit_when_configured() {
    let mut c = cfg();
    c.max_data_line = Some(1000);
    let mut ok = b"DATA\r\n".to_vec();
    ok.extend(std::iter::repeat_n(b'a', 998));
    ok.extend_from_slice(b"\r\n.\r\n");
    assert_eq!(all(&c, &ok).codes()[3..], [354, 250]);
    let mut long = b"DATA\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'a', 999));
    long.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
    let t = all(&c, &long);
    assert_eq!(t.codes()[3..], [354, 550, 250]);
    assert!(t.has_line("550 5.5.2 Error: message line longer than 1000 octets"));
}

#[test]
fn chunks_are_bounded_and_ordered() {
    let mut c = cfg();
    c.data_chunk = 10;
    let mut body = Vec::new();
    for i in 0..50 {
        body.extend_from_slice(format!("line {}\r\n", i).as_bytes());
    }
    let mut input = b"DATA\r\n".to_vec();
    input.extend_from_slice(&body);
    input.extend_from_slice(b".\r\n");
    let mut h = Harness::new(c, Policy::default());
    h.feed(&with_head(&input));
    assert_eq!(h.t.messages()[0].1, body);
    assert!(h.t.max_chunk <= 13);
}

#[test]
fn second_message_after_rejected_one() {
    let t = all(&cfg(), b"DATA\r\nbad\nline\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\ngood\r\n.\r\n");
    assert_eq!(t.codes()[3..], [354, 550, 250, 250, 354, 250]);
    assert_eq!(t.messages().len(), 1);
    assert_eq!(t.messages()[0].1, b"good\r\n");
}

#[test]
fn data_with_argument_is_syntax_error() {
    let t = all(&cfg(), b"DATA now\r\n");
    assert!(t.has_line("501 5.5.4 Syntax: DATA"));
}

// ----- BDAT (RFC 3030) -----------------------------------------------------

#[test]
fn bdat_single_last_chunk() {
    let t = all(&cfg(), b"BDAT 12 LAST\r\nHello\r\n.\r\n\n\rQUIT\r\n");
    assert_eq!(t.codes()[3..], [250, 221]);
    let (env, body) = &t.messages()[0];
    // BDAT content is taken verbatim: no unstuffing, no end-of-data search.
    assert_eq!(body, b"Hello\r\n.\r\n\n\r");
    assert!(env.chunking);
    assert_eq!(env.size, 12);
}

#[test]
fn bdat_multiple_chunks() {
    let t = all(&cfg(), b"BDAT 5\r\nHelloBDAT 8\r\n, world BDAT 3 LAST\r\n!\r\nQUIT\r\n");
    assert_eq!(t.codes()[3..], [250, 250, 250, 221]);
    assert!(t.has_line("250 2.0.0 Ok: 5 octets received"));
    assert!(t.has_line("250 2.0.0 Ok: 13 octets received"));
    assert_eq!(t.messages()[0].1, b"Hello, world !\r\n");
}

#[test]
fn bdat_zero_last() {
    let t = all(&cfg(), b"BDAT 4\r\nabcdBDAT 0 LAST\r\n");
    assert_eq!(t.codes()[3..], [250, 250]);
    assert_eq!(t.messages()[0].1, b"abcd");
    let t = all(&cfg(), b"BDAT 0 LAST\r\n");
    assert_eq!(t.messages()[0].1, b"");
    let t = all(&cfg(), b"BDAT 0\r\nBDAT 0 last\r\n");
    assert_eq!(t.codes()[3..], [250, 250]);
}

#[test]
fn bdat_without_transaction_consumes_chunk() {
    let t = run_all_splits(&cfg(), &Policy::default(), b"EHLO c\r\nBDAT 10\r\nQUIT\r\nXXXXNOOP\r\n");
    // The 10 octets "QUIT\r\nXXXX" are skipped, then NOOP runs.
    assert_eq!(t.codes()[1..], [503, 250]);
    assert!(t.has_line("503 5.5.1 Error: need MAIL command"));
}

#[test]
fn bdat_without_valid_recipients() {
    let t = run_all_splits(
        &cfg(),
        &Policy::default(),
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<unknown@x.y>\r\nBDAT 3 LAST\r\nabcNOOP\r\n",
    );
    assert_eq!(t.codes()[1..], [250, 550, 554, 250]);
}

#[test]
fn bdat_then_data_is_503() {
    let t = all(&cfg(), b"BDAT 3\r\nabcDATA\r\nBDAT 0 LAST\r\n");
    assert_eq!(t.codes()[3..], [250, 503, 250]);
    assert!(t.has_line("503 5.5.1 Error: DATA after BDAT"));
    assert_eq!(t.messages()[0].1, b"abc");
}

#[test]
fn rcpt_after_bdat_is_503() {
    let t = all(&cfg(), b"BDAT 3\r\nabcRCPT TO:<q@y.z>\r\nBDAT 0 LAST\r\n");
    assert_eq!(t.codes()[3..], [250, 503, 250]);
}

#[test]
fn data_error_then_bdat() {
    // A failed DATA (bad sequence) does not disturb a following BDAT.
    let t = run_all_splits(
        &cfg(),
        &Policy::default(),
        b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nDATA\r\nRCPT TO:<x@y.z>\r\nBDAT 2 LAST\r\nokQUIT\r\n",
    );
    assert_eq!(t.codes()[1..], [250, 503, 250, 250, 221]);
    assert_eq!(t.messages()[0].1, b"ok");
}

#[test]
fn bdat_syntax_errors() {
    let t = all(&cfg(), b"BDAT\r\nBDAT x\r\nBDAT 5 FIRST\r\nBDAT -1\r\nBDAT 1 LAST extra\r\nNOOP\r\n");
    assert_eq!(t.codes()[3..], [501, 501, 501, 501, 501, 250]);
}

#[test]
fn bdat_over_size_limit_fails_and_later_chunks_get_503() {
    let mut c = cfg();
    c.max_message_size = 10;
    let t = all(&c, b"BDAT 6\r\n123456BDAT 6\r\n789012BDAT 2 LAST\r\nabNOOP\r\n");
    assert_eq!(t.codes()[3..], [250, 552, 503, 250]);
    assert!(t.has_line("552 5.3.4 "));
    assert!(t.messages().is_empty());
    assert!(t.recs.iter().any(|r| matches!(r, Rec::Aborted(AbortReason::TooBig, _))));
}

#[test]
fn bdat_large_chunk_bounded_buffers() {
    let mut c = cfg();
    c.data_chunk = 1000;
    let mut input = with_head(b"BDAT 100000 LAST\r\n");
    input.extend((0..100000u32).map(|i| (i % 251) as u8));
    let t = run_split(&c, &Policy::default(), &input, &mut || 1460);
    assert_eq!(t.messages()[0].1.len(), 100000);
    assert!(t.max_chunk <= 1000);
}

#[test]
fn bdat_partial_chunk_waits() {
    let mut h = Harness::new(cfg(), Policy::default());
    h.feed(&with_head(b"BDAT 10 LAST\r\nabc"));
    assert!(h.t.messages().is_empty());
    assert_eq!(h.t.codes().len(), 3);
    h.feed(b"defghij");
    assert_eq!(h.t.messages()[0].1, b"abcdefghij");
}

#[test]
fn bdat_and_data_pipelined_mix() {
    let input = b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 5 LAST\r\nfirstMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nsecond\r\n.\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 5\r\nthirdBDAT 0 LAST\r\nQUIT\r\n";
    let t = run_all_splits(&cfg(), &Policy::default(), input);
    let bodies: Vec<Vec<u8>> = t.messages().into_iter().map(|m| m.1).collect();
    assert_eq!(bodies, [b"first".to_vec(), b"second\r\n".to_vec(), b"third".to_vec()]);
    assert_eq!(t.codes()[1..], [250, 250, 250, 250, 250, 354, 250, 250, 250, 250, 250, 221]);
}

#[test]
fn bdat_bare_lf_allowed() {
    let t = all(&cfg(), b"BDAT 4 LAST\r\na\nb\n");
    assert_eq!(t.messages()[0].1, b"a\nb\n");
}

#[test]
fn fragmentation_property_over_many_sessions() {
    // Many random-ish sessions, each checked for split-equivalence.
    let pieces: [&[u8]; 8] = [
        b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nabc\r\n..dot\r\n.\r\n",
        b"MAIL FROM:<a@b.c>\r\nRCPT TO:<unknown@y.z>\r\nDATA\r\n",
        b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nBDAT 3 LAST\r\n\r\n.",
        b"RSET\r\nNOOP\r\n",
        b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\r\nDATA\r\nbare\nlf\r\n.\r\n",
        b"VRFY x\r\nHELP\r\n",
        b"MAIL FROM:<a@b.c> SIZE=5\r\nRCPT TO:<x@y.z>\r\nBDAT 2\r\nxyBDAT 1 LAST\r\nz",
        b"EHLO again\r\n",
    ];
    let mut x = 12345u64;
    for _ in 0..30 {
        let mut input = b"EHLO c\r\n".to_vec();
        for _ in 0..6 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            input.extend_from_slice(pieces[(x >> 33) as usize % pieces.len()]);
        }
        input.extend_from_slice(b"QUIT\r\n");
        let mut c = cfg();
        c.data_chunk = 7;
        c.max_errors = 1000;
        let t = run_all_splits(&c, &Policy::default(), &input);
        assert!(t.closed);
    }
}

#[test]
fn rset_between_bdat_chunks_aborts_message() {
    for mid in [&b"RSET\r\n"[..], b"EHLO d\r\n", b"QUIT\r\n"] {
        let mut rest = b"BDAT 3\r\nabc".to_vec();
        rest.extend_from_slice(mid);
        rest.extend_from_slice(b"BDAT 2 LAST\r\nde");
        let t = all(&cfg(), &rest);
        assert!(t.messages().is_empty());
        assert!(t.recs.iter().any(|r| matches!(r, Rec::Aborted(AbortReason::Reset, _))), "{:?}", t.recs);
    }
}

#[test]
fn starttls_refused_inside_transaction() {
    let mut c = cfg();
    c.starttls = true;
    let t = all(&c, b"STARTTLS\r\n");
    assert!(t.has_line("503 5.5.1 Error: MAIL transaction in progress"));
}

#[test]
fn loop_detection_with_hop_counter() {
    use mail_smtp::delivery::{loop_reply, HopCounter, DEFAULT_MAX_HOPS};
    let p = Policy {
        message: |_, data| {
            let mut c = HopCounter::new();
            for piece in data.chunks(5) {
                c.feed(piece);
            }
            if c.is_loop(DEFAULT_MAX_HOPS) {
                loop_reply()
            } else {
                Reply::queued("Q1")
            }
        },
        ..Policy::default()
    };
    let mk = |hops: usize| {
        let mut v = b"DATA\r\n".to_vec();
        for i in 0..hops {
            v.extend_from_slice(
                format!("Received: from h{} by h{}; Sun, 22 Nov 2026 06:00:00 +0000\r\n", i, i + 1).as_bytes(),
            );
        }
        v.extend_from_slice(b"Subject: x\r\n\r\nReceived: in body\r\n.\r\n");
        v
    };
    let t = run_all_splits(&cfg(), &p, &with_head(&mk(50)));
    assert!(t.has_line("250 2.0.0 Ok: queued as Q1"));
    let t = run_all_splits(&cfg(), &p, &with_head(&mk(51)));
    assert!(t.has_line("554 5.4.6 Error: too many hops"));
}
