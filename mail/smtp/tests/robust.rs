//! Robustness: random sessions assembled from SMTP-ish tokens and random
//! octets. The state machine must never panic, every output line must be a
//! well-formed reply, chunks stay bounded, and any fragmentation gives the
//! same transcript.
mod common;
use common::*;
use mail_smtp::*;

const TOKENS: &[&[u8]] = &[
    b"EHLO c\r\n",
    b"HELO c\r\n",
    b"MAIL FROM:<a@b.c>\r\n",
    b"MAIL FROM:<> SIZE=100\r\n",
    b"RCPT TO:<x@y.z>\r\n",
    b"RCPT TO:<unknown@y.z>\r\n",
    b"DATA\r\n",
    b"BDAT 5\r\n",
    b"BDAT 0 LAST\r\n",
    b"BDAT 3 LAST\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"VRFY x\r\n",
    b"HELP\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH LOGIN\r\n",
    b"AGFsaWNlAHNlY3JldA==\r\n",
    b"*\r\n",
    b".\r\n",
    b"\r\n.\r\n",
    b"..\r\n",
    b"\n.\n",
    b"\r.\n",
    b"\r",
    b"\n",
    b".",
    b"\r\n",
    b"text ",
    b"\xc3\xa9\xff\x00",
    b"RCPT TO:<\"q x\"@[IPv6:::1]>\r\n",
    b"MAIL FROM:<j\xc3\xb6@x.y> SMTPUTF8\r\n",
    b"QUIT\r\n",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn well_formed(out: &[u8]) {
    let text = out;
    let mut start = 0;
    while start < text.len() {
        let end = text[start..].windows(2).position(|w| w == b"\r\n").expect("unterminated reply line") + start;
        let line = &text[start..end];
        assert!(line.len() >= 4, "short reply line {:?}", String::from_utf8_lossy(line));
        assert!(
            line[..3].iter().all(u8::is_ascii_digit) && (line[3] == b' ' || line[3] == b'-'),
            "bad reply line {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(!line.iter().any(|&b| b == b'\r' || b == b'\n'));
        start = end + 2;
    }
}

#[test]
fn random_sessions() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..1000 {
        let mut input = Vec::new();
        let n = 5 + rng.next() % 40;
        for _ in 0..n {
            if rng.next().is_multiple_of(8) {
                let len = rng.next() % 20;
                input.extend((0..len).map(|_| rng.next() as u8));
            } else {
                input.extend_from_slice(TOKENS[(rng.next() % TOKENS.len() as u64) as usize]);
            }
        }
        let mut c = cfg();
        c.starttls = round % 3 == 0;
        c.auth = AuthPolicy::Always;
        c.data_chunk = 1 + (rng.next() % 64) as usize;
        c.max_message_size = 50 + rng.next() % 200;
        c.max_recipients = 1 + (rng.next() % 3) as usize;
        c.max_errors = 5 + (rng.next() % 50) as u32;
        c.bare_endings = if round % 2 == 0 { BareEndings::Reject } else { BareEndings::Normalize };
        let chunk_cap = c.data_chunk + 3;
        let t = run_all_splits(&c, &Policy::default(), &input);
        well_formed(&t.out);
        assert!(t.max_chunk <= chunk_cap);
        for (env, body) in t.messages() {
            assert!(!env.recipients.is_empty());
            assert!(body.len() as u64 <= c.max_message_size);
            assert_eq!(env.size, body.len() as u64);
        }
    }
}
