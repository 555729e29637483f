//! Differential test against Dovecot (Debian `dovecot-imapd`), an
//! independent IMAP server: the same messages are APPENDed to both, then
//! ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE, body sections and SEARCH
//! results are compared after parsing both responses into trees.
//! Dovecot's `imap` binary runs in PREAUTH mode over a pipe, as an
//! unprivileged user. Skipped loudly if Dovecot is absent and CI is unset.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use mail_imap::{Config, MemStore, Session};

const DOVECOT_IMAP: &str = "/usr/lib/dovecot/imap";

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Nil,
    Str(Vec<u8>),
    List(Vec<Tok>),
}

/// Parses IMAP response data (atoms, quoted strings, literals, lists).
fn parse(b: &[u8], i: &mut usize) -> Tok {
    while b[*i] == b' ' {
        *i += 1;
    }
    match b[*i] {
        b'(' => {
            *i += 1;
            let mut v = Vec::new();
            loop {
                while b[*i] == b' ' {
                    *i += 1;
                }
                if b[*i] == b')' {
                    *i += 1;
                    return Tok::List(v);
                }
                v.push(parse(b, i));
            }
        }
        b'"' => {
            *i += 1;
            let mut s = Vec::new();
            while b[*i] != b'"' {
                if b[*i] == b'\\' {
                    *i += 1;
                }
                s.push(b[*i]);
                *i += 1;
            }
            *i += 1;
            Tok::Str(s)
        }
        b'{' | b'~' => {
            if b[*i] == b'~' {
                *i += 1;
            }
            let close = *i + b[*i..].iter().position(|&c| c == b'}').unwrap();
            let n: usize = std::str::from_utf8(&b[*i + 1..close]).unwrap().parse().unwrap();
            *i = close + 3;
            let s = b[*i..*i + n].to_vec();
            *i += n;
            Tok::Str(s)
        }
        _ => {
            let s = *i;
            // Atoms; section names like BODY[HEADER.FIELDS (A B)]<0> are one token.
            let mut depth = 0;
            while *i < b.len() {
                let c = b[*i];
                if c == b'[' {
                    depth += 1;
                } else if c == b']' {
                    depth -= 1;
                } else if depth == 0 && (c == b' ' || c == b')' || c == b'(' || c == b'\r') {
                    break;
                }
                *i += 1;
            }
            let a = b[s..*i].to_vec();
            if a.eq_ignore_ascii_case(b"NIL") {
                Tok::Nil
            } else {
                Tok::Str(a)
            }
        }
    }
}

/// Lower-cases every string (BODYSTRUCTURE type names and parameter
/// names are case-insensitive; Dovecot lower-cases, we upper-case).
fn fold(t: &Tok) -> Tok {
    match t {
        Tok::Nil => Tok::Nil,
        Tok::Str(s) => Tok::Str(s.to_ascii_lowercase()),
        Tok::List(v) => Tok::List(v.iter().map(fold).collect()),
    }
}

/// Splits raw output into FETCH item maps keyed by sequence number.
fn fetches(out: &[u8]) -> Vec<(u32, Vec<(String, Tok)>)> {
    let mut res = Vec::new();
    let mut i = 0;
    while i < out.len() {
        let line_end = out[i..].iter().position(|&c| c == b'\n').map_or(out.len(), |p| i + p);
        let line = &out[i..line_end];
        if line.starts_with(b"* ") && line.windows(7).any(|w| w == b" FETCH ") {
            let p = i + line.windows(7).position(|w| w == b" FETCH ").unwrap();
            let seq: u32 = std::str::from_utf8(&out[i + 2..p]).unwrap().parse().unwrap();
            let mut j = p + 7;
            let Tok::List(items) = parse(out, &mut j) else { panic!() };
            let mut map = Vec::new();
            for pair in items.chunks(2) {
                if let [Tok::Str(k), v] = pair {
                    map.push((String::from_utf8_lossy(k).to_ascii_uppercase(), v.clone()));
                }
            }
            res.push((seq, map));
            // Continue after the parsed response.
            i = j;
            while i < out.len() && out[i] != b'\n' {
                i += 1;
            }
            i += 1;
        } else {
            i = line_end + 1;
        }
    }
    res
}

fn search_lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out).lines().filter(|l| l.starts_with("* SEARCH")).map(|l| l.trim_end().to_string()).collect()
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map_or(false, |e| e == "eml"))
        .collect();
    v.sort();
    let mut out: Vec<(String, Vec<u8>)> =
        v.into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect();
    out.push(("MSG1".into(), common::MSG1.to_vec()));
    out.push(("MSG2".into(), common::MSG2.to_vec()));
    out
}

const FETCH_ITEMS: &str = "(RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] \
BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[2.1] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[3] \
BODY.PEEK[HEADER.FIELDS (From Subject X-Missing)] BODY.PEEK[HEADER.FIELDS.NOT (From Subject)] \
BODY.PEEK[]<5.20> BODY.PEEK[1]<0.4> BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[3])";

const SEARCHES: &[&str] = &[
    "ALL",
    "FROM example.org",
    "TO b@y.example",
    "CC route",
    "SUBJECT inner",
    "SUBJECT \"folded subject\"",
    "HEADER Message-ID mixed",
    "HEADER X-Other \"\"",
    "BODY \"see below\"",
    "TEXT html",
    "NOT TEXT html",
    "OR SUBJECT qp SUBJECT digest",
    "LARGER 500",
    "SMALLER 200",
    "SENTBEFORE 1-Jan-2020",
    "SENTSINCE 1-Jan-2024",
    "SENTON 1-Jan-2024",
    "SENTON 7-Feb-1994",
    "SENTON 8-Feb-1994",
    "SENTSINCE 8-Feb-1994 SENTBEFORE 1-Jan-2000",
    "CHARSET UTF-8 SUBJECT {7}\r\nGrüße",
    "CHARSET UTF-8 BODY {5}\r\nKäse",
    "CHARSET UTF-8 TEXT {5}\r\nkÄSE",
    "BODY R3L832",
    "SUBJECT =?UTF-8?B?",
    "FROM \"Doe, Jane\"",
    "BODY \"K\"",
    "SUBJECT \"8-bit\"",
    "1:3,7",
    "UID 2:4",
];

/// Deliberate or known differences: (message, item, reason).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "01-addresses.eml",
    "ENVELOPE",
    "obsolete source routes (<@route:addr>, RFC 5322 4.4): mail-mime does not keep the ADL, Dovecot does",
)];

fn script(msgs: &[(String, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let mut append = Vec::new();
    for (i, (_, m)) in msgs.iter().enumerate() {
        append.extend_from_slice(format!("A{} APPEND INBOX {{{}+}}\r\n", i, m.len()).as_bytes());
        append.extend_from_slice(m);
        append.extend_from_slice(b"\r\n");
    }
    let mut q = Vec::new();
    q.extend_from_slice(b"S SELECT INBOX\r\n");
    q.extend_from_slice(format!("F FETCH 1:* {}\r\n", FETCH_ITEMS).as_bytes());
    for (i, s) in SEARCHES.iter().enumerate() {
        q.extend_from_slice(format!("Q{} SEARCH {}\r\n", i, s).as_bytes());
    }
    q.extend_from_slice(b"Z LOGOUT\r\n");
    (append, q)
}

fn run_dovecot(append: &[u8], queries: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("mail-imap-dovecot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join("Maildir").join(sub)).unwrap();
    }
    let conf = dir.join("dovecot.conf");
    std::fs::write(&conf, format!("mail_location = maildir:{}/Maildir\nlog_path = {}/log\n", dir.display(), dir.display())).unwrap();
    let root = Command::new("id").arg("-u").output().map_or(false, |o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if root {
        // Dovecot refuses mail access as root: run as nobody.
        Command::new("chown").args(["-R", "65534:65534", dir.to_str().unwrap()]).status().unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", DOVECOT_IMAP]);
        c
    } else {
        Command::new(DOVECOT_IMAP)
    };
    let mut child = cmd
        .args(["-c", conf.to_str().unwrap()])
        .env_clear()
        .env("MAIL", format!("maildir:{}/Maildir", dir.display()))
        .env("HOME", &dir)
        .env("USER", "bob")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn dovecot imap");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Wait for each APPEND's completion before sending the queries, so
    // that Dovecot has assigned UIDs in order.
    stdin.write_all(append).unwrap();
    stdin.flush().unwrap();
    let n = append.windows(8).filter(|w| w.starts_with(b" APPEND ")).count();
    let mut done = 0;
    let mut line = Vec::new();
    while done < n {
        line.clear();
        stdout.read_until(b'\n', &mut line).unwrap();
        assert!(!line.is_empty(), "dovecot exited early");
        if line.starts_with(b"A") && line.windows(4).any(|w| w == b" OK ") {
            done += 1;
        }
    }
    stdin.write_all(queries).unwrap();
    drop(stdin);
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn run_ours(append: &[u8], queries: &[u8]) -> Vec<u8> {
    let mut st = MemStore::new();
    let mut s = Session::new_preauth(Config { create_special_use: false, ..Config::default() }, "bob");
    let mut all = append.to_vec();
    all.extend_from_slice(queries);
    common::drive(&mut s, &mut st, &all, usize::MAX).bytes
}

#[test]
fn envelope_bodystructure_sections_and_search_match_dovecot() {
    if !Path::new(DOVECOT_IMAP).exists() {
        if std::env::var("CI").map_or(false, |v| !v.is_empty() && v != "false" && v != "0") {
            panic!("Dovecot is required under CI (run mail/imap/tests/setup.sh)");
        }
        eprintln!("\n!!! SKIPPING dovecot differential test: {} not found !!!\n", DOVECOT_IMAP);
        return;
    }
    let msgs = corpus();
    let (append, queries) = script(&msgs);
    let theirs = run_dovecot(&append, &queries);
    let ours = run_ours(&append, &queries);
    let tf = fetches(&theirs);
    let of = fetches(&ours);
    assert_eq!(tf.len(), msgs.len(), "dovecot output:\n{}", String::from_utf8_lossy(&theirs));
    assert_eq!(of.len(), msgs.len(), "our output:\n{}", String::from_utf8_lossy(&ours));
    let mut diffs = Vec::new();
    for ((seq, t), (_, o)) in tf.iter().zip(of.iter()) {
        let name = &msgs[*seq as usize - 1].0;
        for (k, tv) in t {
            if KNOWN_DIFFERENCES.iter().any(|(n, i, _)| n == name && i == k) {
                continue;
            }
            let Some((_, ov)) = o.iter().find(|(ok, _)| ok == k) else {
                diffs.push(format!("{} {}: missing in ours", name, k));
                continue;
            };
            let same = if k == "BODYSTRUCTURE" || k == "BODY" { fold(tv) == fold(ov) } else { tv == ov };
            if !same {
                diffs.push(format!("{} {}:\n  dovecot: {:?}\n  ours:    {:?}", name, k, show(tv), show(ov)));
            }
        }
    }
    let (ts, os) = (search_lines(&theirs), search_lines(&ours));
    for (i, q) in SEARCHES.iter().enumerate() {
        if ts.get(i) != os.get(i) {
            diffs.push(format!("SEARCH {}: dovecot {:?} ours {:?}", q, ts.get(i), os.get(i)));
        }
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Nil => "NIL".into(),
        Tok::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
        Tok::List(v) => format!("({})", v.iter().map(show).collect::<Vec<_>>().join(" ")),
    }
}
