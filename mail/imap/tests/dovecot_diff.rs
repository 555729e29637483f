//! Differential test against Dovecot (Debian `dovecot-imapd`), an
//! independent IMAP server: the same messages are APPENDed to both, then
//! ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE, body sections and SEARCH
//! results are compared after parsing both responses into trees.
//! Dovecot's `imap` binary runs in PREAUTH mode over a pipe, as an
//! unprivileged user. Skipped loudly if Dovecot is absent and CI is unset.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;
use dovecot::{parse, show, Tok};

use std::path::Path;

use mail_imap::{Config, MemStore, Session};

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
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.starts_with("* SEARCH"))
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map_or(false, |e| e == "eml"))
        .collect();
    v.sort();
    let mut out: Vec<(String, Vec<u8>)> = v
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.push(("MSG1".into(), common::MSG1.to_vec()));
    out.push(("MSG2".into(), common::MSG2.to_vec()));
    out
}

const FETCH_ITEMS: &str = "(RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] \
BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[2.1] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[3] \
BODY.PEEK[HEADER.FIELDS (From Subject X-Missing)] BODY.PEEK[HEADER.FIELDS.NOT (From Subject)] \
BODY.PEEK[]<5.20> BODY.PEEK[1]<0.4>)";

/// In a FETCH of their own: Dovecot refuses BINARY of undecodable parts
/// with a tagged NO [PARSE], which would end the whole FETCH.
const BINARY_ITEMS: &str = "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[3])";

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
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "49-junk-addresses.eml",
        "ENVELOPE",
        "unparsable address junk: mail-mime salvages addresses, Dovecot emits MISSING_MAILBOX/MISSING_DOMAIN",
    ),
    ("18-bad-base64.eml", "UID", "BINARY of invalid base64: Dovecot fails with NO [PARSE], we decode leniently"),
    (
        "28-deep-nesting.eml",
        "BODY[1]",
        "inner close-delimiter right before the outer delimiter: RFC 2046 5.1.1 gives that CRLF to the outer \
         delimiter (mail-mime), Dovecot to the nested multipart",
    ),
    ("28-deep-nesting.eml", "BINARY[1]", "as BODY[1]"),
    (
        "05-mixed-alt-attachments.eml",
        "BINARY[1]",
        "BINARY of a multipart: Dovecot decodes the nested parts and rewrites their CTE to binary; we send the raw body",
    ),
    ("05-mixed-alt-attachments.eml", "BINARY.SIZE[1]", "as BINARY[1]"),
    ("28-deep-nesting.eml", "BINARY.SIZE[1]", "as BODY[1]"),
    ("50-rfc822-base64.eml", "BODYSTRUCTURE", "base64 message/rfc822 (forbidden by RFC 2046 5.2.1): size as BODY[1] of 28"),
    ("50-rfc822-base64.eml", "BODY", "as BODYSTRUCTURE"),
    ("50-rfc822-base64.eml", "BODY[2]", "as BODYSTRUCTURE"),
    ("50-rfc822-base64.eml", "BODY[2.1]", "Dovecot parses the base64 text as a header; we do not parse it"),
    ("50-rfc822-base64.eml", "BODY[2.HEADER]", "as BODY[2.1]"),
];

fn script(msgs: &[(String, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let mut append = Vec::new();
    for (i, (_, m)) in msgs.iter().enumerate() {
        append.extend_from_slice(format!("A{} APPEND INBOX {{{}+}}\r\n", i, m.len()).as_bytes());
        append.extend_from_slice(m);
        append.extend_from_slice(b"\r\n");
    }
    let mut q = Vec::new();
    q.extend_from_slice(b"S SELECT INBOX\r\n");
    for i in 1..=msgs.len() {
        q.extend_from_slice(format!("F{} FETCH {} {}\r\n", i, i, FETCH_ITEMS).as_bytes());
        q.extend_from_slice(format!("G{} FETCH {} {}\r\n", i, i, BINARY_ITEMS).as_bytes());
    }
    for (i, s) in SEARCHES.iter().enumerate() {
        q.extend_from_slice(format!("Q{} SEARCH {}\r\n", i, s).as_bytes());
    }
    q.extend_from_slice(b"Z LOGOUT\r\n");
    (append, q)
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
    if !dovecot::available("dovecot differential test") {
        return;
    }
    compare("fetch", corpus(), true);
}

/// The 54-message corpus of the sibling crate mail-mime (real-world
/// shapes: RFC 2231, encoded words, broken boundaries, bare LF, ...).
#[test]
fn mail_mime_corpus_fetch_matches_dovecot() {
    if !dovecot::available("dovecot differential test (mail-mime corpus)") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mime/tests/corpus");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("\n!!! SKIPPING: {} not found !!!\n", dir.display());
        return;
    };
    let mut v: Vec<_> = rd.map(|e| e.unwrap().path()).filter(|p| p.extension().map_or(false, |e| e == "eml")).collect();
    v.sort();
    // IMAP speaks CRLF: the messages are stored as a client would APPEND them.
    let msgs = v
        .into_iter()
        .map(|p| {
            let raw = std::fs::read(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), mail_imap::mime::to_crlf(&raw).into_owned())
        })
        .collect();
    compare("mime-corpus", msgs, true);
}

/// `name` keeps the Dovecot directories of tests running in parallel apart.
fn compare(name: &str, msgs: Vec<(String, Vec<u8>)>, with_search: bool) {
    let (append, queries) = script(&msgs);
    let theirs = dovecot::run(name, &append, &queries);
    let ours = run_ours(&append, &queries);
    let merge = |v: Vec<(u32, Vec<(String, Tok)>)>| {
        let mut m: std::collections::BTreeMap<u32, Vec<(String, Tok)>> = Default::default();
        for (seq, items) in v {
            m.entry(seq).or_default().extend(items);
        }
        m.into_iter().collect::<Vec<_>>()
    };
    let tf = merge(fetches(&theirs));
    let of = merge(fetches(&ours));
    assert_eq!(
        tf.len(),
        msgs.len(),
        "dovecot output ({} vs {}):\n{}",
        tf.len(),
        of.len(),
        String::from_utf8_lossy(&theirs[theirs.len().saturating_sub(3000)..])
    );
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
        if with_search && ts.get(i) != os.get(i) {
            diffs.push(format!("SEARCH {}: dovecot {:?} ours {:?}", q, ts.get(i), os.get(i)));
        }
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
