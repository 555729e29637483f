//! Deterministic mutation fuzzing: hostile or broken input must never
//! panic the parser, the session or the MIME code, and limits hold.

mod common;
use common::*;
use mail_imap::command::SectionText;
use mail_imap::{mime, parse_command, Config, Session};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODYSTRUCTURE ENVELOPE)\r\n",
    "b UID SEARCH CHARSET UTF-8 OR (FROM \"x\" TO y) NOT HEADER Subject {3}\r\nabc SINCE 1-Jan-2020\r\n",
    "c STORE 1,2:3 +FLAGS.SILENT (\\Seen $Junk)\r\n",
    "d APPEND INBOX (\\Seen) \"01-Jan-2024 00:00:00 +0000\" {11}\r\nSubject: x\r\n\r\n",
    "e LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES))\r\n",
    "f UID MOVE 1:* Trash\r\n",
    "g FETCH 2 (BINARY.PEEK[1]<0.10> BINARY.SIZE[2] BODY[2.MIME] BODY[1.TEXT])\r\n",
    "h SEARCH RETURN (MIN MAX SAVE) UID 1:* LARGER 10\r\n",
    "i STATUS INBOX (MESSAGES UIDNEXT SIZE)\r\n",
    "j RENAME \"a&AOk-\" b\r\n",
    "k IDLE\r\nDONE\r\n",
    "l EXPUNGE\r\n",
];

fn mutate(rng: &mut Rng, s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    for _ in 0..1 + rng.below(4) {
        if v.is_empty() {
            break;
        }
        let i = rng.below(v.len());
        match rng.below(6) {
            0 => v[i] = rng.next() as u8,
            1 => {
                v.remove(i);
            }
            2 => {
                let alphabet = b"(){}[]<>\"\\*%$:,. \r\n+~0123456789";
                v.insert(i, alphabet[rng.below(alphabet.len())])
            }
            3 => v.truncate(i),
            4 => {
                let j = rng.below(v.len());
                let (a, b) = (i.min(j), i.max(j));
                let dup = v[a..b].to_vec();
                v.splice(b..b, dup);
            }
            _ => v.splice(i..i, b"{99999999999}\r\n".iter().copied()).for_each(drop),
        }
    }
    v
}

#[test]
fn parser_never_panics_on_mutations() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for _ in 0..20000 {
        let seed = SEEDS[rng.below(SEEDS.len())].as_bytes();
        let m = mutate(&mut rng, seed);
        let _ = parse_command(&m);
    }
}

#[test]
fn session_survives_mutated_streams() {
    let mut rng = Rng(12345);
    for round in 0..300 {
        let mut st = store_with_messages();
        let mut s = selected(&mut st);
        let mut stream = Vec::new();
        for _ in 0..8 {
            let seed = SEEDS[rng.below(SEEDS.len())].as_bytes();
            if rng.below(3) == 0 {
                stream.extend(mutate(&mut rng, seed));
            } else {
                stream.extend_from_slice(seed);
            }
        }
        let chunk = 1 + rng.below(40);
        let r = drive(&mut s, &mut st, &stream, chunk);
        // Output is always whole lines (or literal data) and never huge.
        assert!(r.out.len() < 1 << 20, "round {}", round);
    }
}

#[test]
fn mime_never_panics_on_mutated_messages() {
    let mut rng = Rng(777);
    let bases: [&[u8]; 3] = [MSG1, MSG2, MSG3];
    for _ in 0..3000 {
        let base = bases[rng.below(3)];
        let m = mutate(&mut rng, base);
        let tree = mime::parse(&m);
        for path in [vec![], vec![1], vec![2], vec![1, 1], vec![2, 3]] {
            let _ = mime::binary(&tree, &path);
            for text in [
                None,
                Some(SectionText::Header),
                Some(SectionText::Text),
                Some(SectionText::Mime),
                Some(SectionText::HeaderFields(vec!["from".into()])),
            ] {
                let sec = mail_imap::command::Section { part: path.clone(), text };
                let _ = mime::section_bytes(&tree, &sec);
            }
        }
        let _ = mime::body_matches(&tree, b"x");
        let _ = mime::text_search(&tree, "é".as_bytes());
    }
}

#[test]
fn nested_multipart_bomb_is_bounded() {
    // 10,000 nested multiparts: the depth cap keeps parsing shallow.
    let mut msg = Vec::new();
    for i in 0..10_000 {
        msg.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=b{}\r\n\r\n--b{}\r\n", i, i).as_bytes());
    }
    let tree = mime::parse(&msg);
    let depth = tree.parts.iter().map(|p| p.depth).max().unwrap();
    assert!(depth <= 20, "{}", depth);
    // And the session can render its BODYSTRUCTURE.
    let mut st = mail_imap::MemStore::new();
    st.deliver("INBOX", &msg);
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 BODYSTRUCTURE\r\n");
    assert!(out.contains("a OK"));
}

#[test]
fn many_parts_are_capped() {
    let mut msg = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n".to_vec();
    for _ in 0..5000 {
        msg.extend_from_slice(b"--x\r\n\r\nhi\r\n");
    }
    msg.extend_from_slice(b"--x--\r\n");
    let tree = mime::parse(&msg);
    assert!(tree.parts.len() <= 1000 && tree.root().children().len() < 1000);
}

#[test]
fn slow_loris_input_is_bounded_by_max_input() {
    let mut st = mail_imap::MemStore::new();
    let cfg = Config { max_input: 1000, ..tls_config() };
    let mut s = Session::new(cfg);
    s.feed(b"a LOGIN bob secret\r\n");
    // Authentication pending: the session stops taking input at the cap.
    let _ = s.process(&mut st);
    let big = vec![b'x'; 5000];
    let n = s.feed(&big);
    assert!(n <= 1000, "{}", n);
}
