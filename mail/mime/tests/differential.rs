//! Differential test against Stalwart's `mail-parser` (an independent,
//! std-only implementation used here as a dev-dependency only): for every
//! message in `tests/corpus/`, subject, From/To, Date, the part tree and the
//! decoded text bodies must agree, except for the deliberate differences
//! listed in `KNOWN_DIFFERENCES` with the reason for each.

use std::fs;
use std::path::PathBuf;

use mail_mime::{Address, Body, Message};
use mail_parser::{MessageParser, MimeHeaders, PartType};

/// (file, field, why we differ on purpose).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    ("11-subject-multi-words.eml", "subject",
     "a UTF-8 character split across two adjacent encoded words: we join the octets of same-charset words before decoding; mail-parser decodes each word alone and yields U+FFFD"),
    ("15-quoted-names.eml", "from",
     "a comment after the angle address is not part of the display name (RFC 5322 3.4); mail-parser appends it"),
    ("18-bad-base64.eml", "texts",
     "RFC 2045 6.8: characters outside the base64 alphabet are ignored, so we decode the rest; mail-parser gives up and returns the raw encoded text"),
    ("22-8bit-latin1-headers.eml", "subject",
     "raw 8-bit header text that is not UTF-8 is read as Windows-1252 (what such mail means in practice); mail-parser substitutes U+FFFD"),
    ("22-8bit-latin1-headers.eml", "from", "same as the subject of this message"),
    ("38-header-only.eml", "subject",
     "RFC 5322 3.5: the body is optional, so a message with no empty line is all header; mail-parser finds no header fields"),
    ("39-folded-subject.eml", "subject",
     "RFC 5322 2.2.3: unfolding removes only the line breaks and keeps the whitespace as written; mail-parser collapses runs of whitespace into one space"),
    ("40-many-recipients.eml", "to",
     "RFC 5322 4.4: the obsolete source route is ignored (IMAP ENVELOPE adl is NIL); mail-parser keeps it in the address"),
    ("40-many-recipients.eml", "cc",
     "a quoted local part (RFC 5322 3.4.1 \"quoted local\"@example.com) is a local part; mail-parser takes it for a display name"),
    ("45-unknown-charset-word.eml", "subject",
     "RFC 2047 6.2: an encoded word in an unknown charset is shown raw; mail-parser decodes the octets anyway"),
    ("49-junk-addresses.eml", "from",
     "lenient: words separated by spaces before a bare addr-spec are a display name; mail-parser keeps them in the address"),
    ("49-junk-addresses.eml", "to",
     "a lone word (\"postmaster\") or unterminated quoted string is an address without domain for us (IMAP ENVELOPE host NIL); mail-parser makes it a name without address"),
    ("50-rfc822-base64.eml", "tree",
     "RFC 2046 5.2.1 allows only 7bit/8bit/binary for message/rfc822; we keep a base64 one as a leaf (its bytes cannot be served as ranges), callers may parse decoded_body() themselves; mail-parser decodes and parses it"),
    ("50-rfc822-base64.eml", "texts", "follows from the tree difference above"),
];

#[derive(Debug, PartialEq)]
enum Content {
    Text(String),
    Bytes(Vec<u8>),
}

type Leaf = (String, Option<String>, Content);

#[derive(Debug, Default, PartialEq)]
struct Summary {
    subject: Option<String>,
    from: Vec<(Option<String>, String)>,
    to: Vec<(Option<String>, String)>,
    date: Option<(i64, i32)>,
    tree: String,
    cc: Vec<(Option<String>, String)>,
    /// Leaves in order: content type, file name, decoded content.
    texts: Vec<Leaf>,
}

fn ours(raw: &[u8]) -> Summary {
    let m = Message::parse(raw);
    let addrs = |v: Vec<Address>| {
        v.iter().filter_map(|a| a.mailbox()).map(|mb| (mb.name.clone(), mb.addr())).collect::<Vec<_>>()
    };
    let mut s = Summary {
        subject: m.subject(),
        from: addrs(m.from()),
        to: addrs(m.to()),
        cc: addrs(m.addresses("cc")),
        date: m.date().map(|d| (d.timestamp, i32::from(d.offset_minutes))),
        ..Summary::default()
    };
    s.tree = our_tree(&m, 0, &mut s.texts);
    s
}

fn our_tree(m: &Message<'_>, idx: usize, texts: &mut Vec<Leaf>) -> String {
    let p = &m.parts[idx];
    let ct = format!("{}/{}", p.content_type.main, p.content_type.sub);
    match &p.kind {
        Body::Multipart { children, .. } => {
            let inner: Vec<String> = children.iter().map(|&c| our_tree(m, c, texts)).collect();
            format!("{ct}[{}]", inner.join(","))
        }
        Body::Message { child } => format!("{ct}{{{}}}", our_tree(m, *child, texts)),
        Body::Leaf => {
            let content = match m.text(idx) {
                Some(t) => Content::Text(t),
                None => Content::Bytes(m.decoded_body(idx)),
            };
            texts.push((ct.clone(), p.filename().map(str::to_string), content));
            ct
        }
    }
}

fn theirs(raw: &[u8]) -> Summary {
    let Some(m) = MessageParser::default().parse(raw) else { return Summary::default() };
    let addrs = |a: Option<&mail_parser::Address<'_>>| {
        a.map(|a| {
            a.iter()
                .map(|x| (x.name.as_ref().map(|n| n.to_string()), x.address.as_deref().unwrap_or("").to_string()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    };
    let mut s = Summary {
        subject: m.subject().map(str::to_string),
        from: addrs(m.from()),
        to: addrs(m.to()),
        cc: addrs(m.cc()),
        date: m.date().map(|d| {
            let off = (i32::from(d.tz_hour) * 60 + i32::from(d.tz_minute)) * if d.tz_before_gmt { -1 } else { 1 };
            (d.to_timestamp(), off)
        }),
        ..Summary::default()
    };
    s.tree = their_tree(&m, 0, false, &mut s.texts);
    s
}

fn their_tree(m: &mail_parser::Message<'_>, id: usize, in_digest: bool, texts: &mut Vec<Leaf>) -> String {
    let p = &m.parts[id];
    let ct = match p.content_type() {
        Some(ct) => format!("{}/{}", ct.ctype().to_ascii_lowercase(), ct.subtype().unwrap_or("").to_ascii_lowercase()),
        None if in_digest || matches!(p.body, PartType::Message(_)) => "message/rfc822".to_string(),
        None => "text/plain".to_string(),
    };
    match &p.body {
        PartType::Multipart(children) => {
            let digest = ct == "multipart/digest";
            let inner: Vec<String> = children.iter().map(|&c| their_tree(m, c as usize, digest, texts)).collect();
            format!("{ct}[{}]", inner.join(","))
        }
        PartType::Message(inner) => format!("{ct}{{{}}}", their_tree(inner, 0, false, texts)),
        PartType::Text(t) | PartType::Html(t) => {
            texts.push((ct.clone(), p.attachment_name().map(str::to_string), Content::Text(t.to_string())));
            ct
        }
        PartType::Binary(b) | PartType::InlineBinary(b) => {
            texts.push((ct.clone(), p.attachment_name().map(str::to_string), Content::Bytes(b.to_vec())));
            ct
        }
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap())).collect()
}

fn known(file: &str, field: &str) -> bool {
    KNOWN_DIFFERENCES.iter().any(|(f, k, _)| *f == file && *k == field)
}

#[test]
fn differential_against_mail_parser() {
    let corpus = corpus();
    assert!(corpus.len() >= 40, "corpus has {} messages", corpus.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, raw) in &corpus {
        let (a, b) = (ours(raw), theirs(raw));
        let mut check = |field: &str, x: String, y: String| {
            compared += 1;
            if x != y && !known(name, field) {
                failures.push(format!("{name} {field}:\n   ours:   {x}\n   theirs: {y}"));
            }
        };
        check("subject", format!("{:?}", a.subject), format!("{:?}", b.subject));
        check("from", format!("{:?}", a.from), format!("{:?}", b.from));
        check("to", format!("{:?}", a.to), format!("{:?}", b.to));
        check("cc", format!("{:?}", a.cc), format!("{:?}", b.cc));
        check("date", format!("{:?}", a.date), format!("{:?}", b.date));
        check("tree", a.tree.clone(), b.tree.clone());
        check("texts", format!("{:?}", a.texts), format!("{:?}", b.texts));
    }
    println!("{} messages, {} comparisons, {} known differences", corpus.len(), compared, KNOWN_DIFFERENCES.len());
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}

/// Exploration aid, not a check: mutates the corpus lightly and prints where
/// the part trees or texts of the two parsers diverge. Run with
/// `cargo test -p mail-mime --test differential -- --ignored --nocapture`.
#[test]
#[ignore]
fn explore_mutated_differences() {
    let corpus = corpus();
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const TOKS: &[&[u8]] = &[b"\r\n", b"\n", b"--", b":", b"\r\n\r\n", b" ", b"=", b"\""];
    let mut shown = 0;
    for round in 0..20 {
        for (name, raw) in &corpus {
            let mut m = raw.clone();
            let pos = (next() as usize) % (m.len() + 1);
            if next() % 2 == 0 {
                let t = TOKS[(next() as usize) % TOKS.len()];
                m.splice(pos..pos, t.iter().copied());
            } else {
                let end = (pos + (next() as usize) % 8).min(m.len());
                m.drain(pos..end);
            }
            let (a, b) = (ours(&m), theirs(&m));
            if (a.tree != b.tree || a.texts != b.texts) && shown < 25 {
                shown += 1;
                println!("round {round} {name} at {pos}:\n  ours   {}\n  theirs {}", a.tree, b.tree);
                if a.tree == b.tree {
                    println!("  texts ours   {:?}\n  texts theirs {:?}", a.texts, b.texts);
                }
            }
        }
    }
}
