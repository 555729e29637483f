//! No input from a simple mutation generator may make the parser panic or
//! produce inconsistent ranges: the corpus messages are mutated with a
//! deterministic PRNG (seeded, so failures reproduce) and every accessor is
//! exercised on the result, with default and with tight limits.

use std::fs;
use std::path::PathBuf;

use mail_mime::{
    decode_text, parse_address_list, parse_date, Body, ContentType, Disposition, Limits, Message, Section,
};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that steer mutations towards the parser's interesting paths.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b":",
    b"--",
    b"--b\r\n",
    b"=?",
    b"?=",
    b"=?utf-8?q?",
    b"=?utf-8?b?",
    b"=?iso-8859-1?q?=E9?=",
    b"\"",
    b"(",
    b")",
    b"<",
    b">",
    b"@",
    b",",
    b";",
    b"\\",
    b"=",
    b"=\r\n",
    b"Content-Type: multipart/mixed; boundary=b\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"; filename*0*=utf-8''%E2%82",
    b"; name*1=\"x\"",
    b"\t",
    b" ",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"Date: 31 Dec 99 23:59:60 -2359\r\n",
    b"From: g:a@b;\r\n",
];

fn mutate(rng: &mut Rng, input: &[u8], all: &[Vec<u8>]) -> Vec<u8> {
    let mut m = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let pos = rng.below(m.len() + 1);
        match rng.below(8) {
            0 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                m.splice(pos..pos, t.iter().copied());
            }
            2 if !m.is_empty() => {
                let end = (pos + rng.below(64)).min(m.len());
                m.drain(pos.min(end)..end);
            }
            3 if !m.is_empty() => {
                // Duplicate a slice (repeats boundaries, headers).
                let a = rng.below(m.len());
                let b = (a + rng.below(256)).min(m.len());
                let chunk = m[a..b].to_vec();
                m.splice(pos..pos, chunk);
            }
            4 => m.truncate(pos),
            5 => {
                // Splice in a piece of another corpus message.
                let o = &all[rng.below(all.len())];
                let a = rng.below(o.len());
                let b = (a + rng.below(512)).min(o.len());
                m.splice(pos..pos, o[a..b].iter().copied());
            }
            6 => {
                // Swap all CRLF for LF or back.
                if rng.below(2) == 0 {
                    m = String::from_utf8_lossy(&m).replace("\r\n", "\n").into_bytes();
                } else {
                    m = String::from_utf8_lossy(&m).replace('\n', "\r\n").into_bytes();
                }
            }
            _ => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let n = rng.below(40);
                for _ in 0..n {
                    m.splice(pos..pos, t.iter().copied());
                }
            }
        }
    }
    m
}

/// Runs every accessor and checks structural invariants.
fn exercise(raw: &[u8], limits: &Limits) {
    let m = Message::parse_with(raw, limits);
    assert!(!m.parts.is_empty());
    assert!(m.parts.len() <= limits.max_parts.max(1));
    let len = raw.len();
    for (i, p) in m.parts.iter().enumerate() {
        assert!(p.header.range.start <= p.header.range.end && p.header.range.end <= len);
        assert!(p.body.start <= p.body.end && p.body.end <= len);
        assert_eq!(p.header.range.end, p.body.start);
        assert!(p.depth <= limits.max_depth + 1);
        for f in &p.header.fields {
            assert!(f.range.start >= p.header.range.start && f.range.end <= p.header.range.end);
            let _ = (f.text(), f.unfolded());
        }
        if let Some(parent) = p.parent {
            assert!(parent < i);
            let pp = &m.parts[parent];
            assert!(p.range().start >= pp.body.start && p.range().end <= pp.body.end);
        }
        if let Body::Multipart { children, preamble, epilogue } = &p.kind {
            assert!(!children.is_empty());
            assert!(preamble.start <= preamble.end && epilogue.start <= epilogue.end && epilogue.end <= len);
            let mut last = p.body.start;
            for &c in children {
                assert!(m.parts[c].range().start >= last);
                last = m.parts[c].range().end;
            }
        }
        let _ = (m.text(i), m.decoded_body(i), m.body_raw(i), m.envelope(i));
        let _ = (p.content_id(), p.description(), p.encoding_name(), p.md5(), p.languages(), p.location());
        let _ = (p.is_attachment(), p.filename(), p.charset(), p.lines, p.size());
        let path = m.section_path(i);
        if !(p.is_message && p.is_multipart()) {
            // A numbered entity resolves back to itself.
            assert_eq!(m.resolve(&path), Some(i), "path {path:?}");
        }
        for spec in [Section::Full, Section::Header, Section::Text, Section::Mime] {
            if let Some(r) = m.section(&path, spec) {
                assert!(r.start <= r.end && r.end <= len);
            }
        }
        let _ = m.header_fields(&path, &[b"subject", b"from"], false);
        let _ = m.header_fields(&path, &[b"subject"], true);
    }
    let _ = (m.subject(), m.date(), m.from(), m.to(), m.addresses("cc"), m.body_parts(false), m.body_parts(true));
    // The stand-alone parsers on the raw header values.
    for f in &m.header().fields {
        let _ = parse_address_list(f.value, limits.max_addresses);
        let _ = parse_date(f.value);
        let _ = ContentType::parse(f.value, limits.max_params);
        let _ = Disposition::parse(f.value, limits.max_params);
        let _ = decode_text(f.value);
        if let Some(d) = parse_date(f.value) {
            let _ = (d.to_rfc5322(), d.to_imap());
            assert_eq!(mail_mime::parse_imap_date_time(d.to_imap().as_bytes()), Some(d));
        }
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|p| fs::read(p).unwrap()).collect()
}

#[test]
fn mutated_corpus_never_panics() {
    let all = corpus();
    assert!(!all.is_empty());
    let tight = Limits {
        max_header_fields: 5,
        max_header_bytes: 200,
        max_depth: 2,
        max_parts: 4,
        max_params: 2,
        max_addresses: 2,
    };
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut cases = 0;
    for round in 0..70 {
        for (i, msg) in all.iter().enumerate() {
            let input = mutate(&mut rng, msg, &all);
            let limits = if (round + i) % 4 == 0 { tight.clone() } else { Limits::default() };
            let r = std::panic::catch_unwind(|| exercise(&input, &limits));
            if r.is_err() {
                let path = std::env::temp_dir().join("mail-mime-crash.eml");
                let _ = fs::write(&path, &input);
                panic!("case {cases} (round {round}, message {i}) failed; input saved to {}", path.display());
            }
            cases += 1;
        }
    }
    println!("{cases} mutated inputs parsed");
    assert!(cases >= 3000);
}

#[test]
fn unmutated_corpus_invariants() {
    for msg in corpus() {
        exercise(&msg, &Limits::default());
    }
}

#[test]
fn degenerate_inputs() {
    for raw in [
        &b""[..],
        b"\n",
        b"\r\n",
        b"\r",
        b":",
        b"a",
        b"\n\n\n",
        b"From \n",
        b"-- \n",
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b--",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b",
        b"Content-Type: message/rfc822\r\n\r\n",
    ] {
        exercise(raw, &Limits::default());
    }
}
