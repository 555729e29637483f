//! Deterministic mutation tests: mutated scripts never panic the compiler
//! or the evaluator, random input never panics the ManageSieve session, and
//! every limit error leaves a usable answer.

use std::fs;
use std::path::Path;

use mail_sieve::managesieve::{Config, Event, Reply, Request, Session};
use mail_sieve::simple::SimpleMessage;
use mail_sieve::{compile, evaluate, Environment, ExtSet, MimeMessage, RunLimits};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

struct Env;
impl Environment for Env {
    fn envelope_from(&self) -> &str {
        "alice@example.org"
    }
    fn envelope_to(&self) -> &str {
        "bob@example.com"
    }
    fn mailbox_exists(&mut self, _: &str) -> bool {
        true
    }
    fn vacation_sent_recently(&mut self, _: &str, _: &str, _: u32) -> bool {
        false
    }
}

const SPECIAL: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b";",
    b",",
    b":",
    b"*",
    b"?",
    b"\\",
    b"${",
    b"${1}",
    b"text:\n",
    b"\n.\n",
    b"/*",
    b"*/",
    b"#",
    b"99999999999G",
    b":matches",
    b":count \"gt\"",
    b"\xc3",
    b"\0",
];

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut v = src.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(4) {
            0 if at < v.len() => {
                v.remove(at);
            }
            1 => {
                let s = SPECIAL[rng.below(SPECIAL.len())];
                v.splice(at..at, s.iter().copied());
            }
            2 if at < v.len() => v[at] = rng.next() as u8,
            _ => {
                let len = rng.below(20).min(v.len() - at.min(v.len()));
                let piece: Vec<u8> = v[at..at + len].to_vec();
                v.splice(at..at, piece);
            }
        }
    }
    v
}

#[test]
fn mutated_scripts_never_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut scripts = Vec::new();
    for e in fs::read_dir(corpus.join("scripts")).unwrap() {
        scripts.push(fs::read(e.unwrap().path()).unwrap());
    }
    let mut msgs = Vec::new();
    for e in fs::read_dir(corpus.join("messages")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "eml") {
            msgs.push(fs::read(p).unwrap());
        }
    }
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let (mut ok, mut bad) = (0, 0);
    for s in &scripts {
        for _ in 0..150 {
            let m = mutate(&mut rng, s);
            let Ok(text) = String::from_utf8(m) else { continue };
            match compile(&text, ExtSet::all()) {
                Err(e) => {
                    assert!(e.line >= 1 && e.col >= 1);
                    bad += 1;
                }
                Ok(script) => {
                    ok += 1;
                    let raw = &msgs[rng.below(msgs.len())];
                    let o = evaluate(&script, &MimeMessage::parse(raw), &mut Env, &RunLimits::default());
                    assert!(!o.actions.is_empty(), "an outcome always stores or discards something");
                    let o = evaluate(
                        &script,
                        &SimpleMessage::parse(&String::from_utf8_lossy(raw)),
                        &mut Env,
                        &RunLimits::default(),
                    );
                    assert!(!o.actions.is_empty());
                }
            }
        }
    }
    eprintln!("mutated scripts: {ok} compiled, {bad} rejected");
    assert!(ok > 100 && bad > 100);
}

#[test]
fn match_work_is_bounded() {
    let body = format!("From: a@b.org\r\n\r\n{}\r\n", "a".repeat(200_000));
    let key = "*".to_string() + &"a".repeat(2000) + "b";
    let script = format!("require \"body\"; if body :raw :matches \"{key}\" {{ discard; }}");
    let s = compile(&script, ExtSet::all()).unwrap();
    let o = evaluate(&s, &MimeMessage::parse(body.as_bytes()), &mut Env, &RunLimits::default());
    assert!(o.error.as_deref().unwrap().contains("match work"));
    assert_eq!(o.actions, vec![mail_sieve::Action::Keep { flags: vec![] }]);
    // :contains is linear and allowed.
    let script = format!("require \"body\"; if body :raw :contains \"{}b\" {{ discard; }}", "a".repeat(2000));
    let s = compile(&script, ExtSet::all()).unwrap();
    let o = evaluate(&s, &MimeMessage::parse(body.as_bytes()), &mut Env, &RunLimits::default());
    assert_eq!(o.error, None);
}

#[test]
fn managesieve_random_input_never_panics() {
    let mut rng = Rng(0x1234_5678_9abc_def0);
    let pieces: &[&[u8]] = &[
        b"AUTHENTICATE \"PLAIN\" \"AGJvYgBzZWNyZXQ=\"\r\n",
        b"AUTHENTICATE \"PLAIN\"\r\n",
        b"PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n",
        b"PUTSCRIPT \"a\" {999999999}\r\n",
        b"LISTSCRIPTS\r\n",
        b"GETSCRIPT \"a\"\r\n",
        b"SETACTIVE \"\"\r\n",
        b"\r\n",
        b"\"",
        b"{",
        b"{3+}\r\n",
        b"NOOP \"x\"\r\n",
        b"STARTTLS\r\n",
        b"HAVESPACE \"a\" 10\r\n",
        b"RENAMESCRIPT \"a\" \"b\"\r\n",
        b"DELETESCRIPT \"b\"\r\n",
        b"CAPABILITY\r\n",
        b"UNAUTHENTICATE\r\n",
        b"\xff\xfe",
        b"\"*\"\r\n",
        b"CHECKSCRIPT {3}\r\nif\r\n",
    ];
    for round in 0..300 {
        let cfg = Config {
            allow_plain_without_tls: round % 2 == 0,
            max_line: 100,
            max_script_size: 1000,
            ..Config::default()
        };
        let mut s = Session::new(cfg, round % 3 == 0);
        for _ in 0..40 {
            let mut data = pieces[rng.below(pieces.len())].to_vec();
            if rng.below(4) == 0 {
                let at = rng.below(data.len());
                data[at] = rng.next() as u8;
            }
            // Random fragmentation.
            let mut rest = &data[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len());
                s.feed(&rest[..n]);
                rest = &rest[n..];
                while let Some(e) = s.poll() {
                    match e {
                        Event::Request(r) => s.reply(match r {
                            Request::Authenticate { .. } => Reply::AuthOk,
                            Request::ListScripts => Reply::Scripts(vec![("a".into(), true)]),
                            Request::GetScript { .. } => Reply::Script("keep;".into()),
                            _ => Reply::Done,
                        }),
                        Event::StartTls => s.tls_established(),
                        Event::Write(_) | Event::Close => {}
                    }
                }
            }
            if s.is_closed() {
                break;
            }
        }
    }
}
