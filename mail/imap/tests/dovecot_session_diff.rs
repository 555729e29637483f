//! Session-level differential test against Dovecot: one scripted session
//! (APPEND, CREATE, LIST, STATUS, SELECT, STORE, FETCH FLAGS, SEARCH and
//! ESEARCH, COPY, MOVE, EXPUNGE, UID EXPUNGE, SEARCHRES, CLOSE, EXAMINE,
//! RENAME, DELETE, SUBSCRIBE, LSUB, error cases) runs against Dovecot's
//! `imap` and against ours; the responses to each command are normalised
//! (human text, UIDVALIDITY values, flag order, EXPUNGE numbering style)
//! and compared.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;

use std::collections::BTreeMap;

use dovecot::{parse, show, Tok};
use mail_imap::{Config, MemStore, Session};

/// Commands whose responses legitimately differ: (tag, reason).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    ("B3", "CREATE Work/Sub creates Work too (RFC 3501 6.3.3 SHOULD); Dovecot's Maildir++ shows it \\Noselect"),
    ("B4", "same as B3"),
    ("E2", "same as B3"),
    ("D3", "STORE in an EXAMINEd mailbox: we answer NO [READ-ONLY], Dovecot OK without effect"),
    ("F3b", "SEARCH CHARSET: Dovecot converts any iconv charset; we know UTF-8, US-ASCII, Latin-1/9, Windows-1252"),
];

/// FLAGS / PERMANENTFLAGS without keywords: Dovecot lists the keywords
/// registered in the mailbox, we list those in use.
fn system_flags(t: &Tok) -> Tok {
    match t {
        Tok::List(v) => {
            Tok::List(v.iter().filter(|f| matches!(f, Tok::Str(s) if s.starts_with(b"\\"))).cloned().collect())
        }
        o => o.clone(),
    }
}

fn sorted_flags(t: &Tok) -> Tok {
    match t {
        Tok::List(v) => {
            let mut v: Vec<Tok> = v.iter().map(sorted_flags).collect();
            v.sort_by_key(show);
            Tok::List(v)
        }
        o => o.clone(),
    }
}

/// FETCH data with FLAGS lists sorted and MODSEQ dropped.
fn norm_fetch(b: &[u8]) -> String {
    let mut i = 0;
    let Tok::List(items) = parse(b, &mut i) else { return String::from_utf8_lossy(b).into() };
    let mut m = BTreeMap::new();
    for pair in items.chunks(2) {
        if let [Tok::Str(k), v] = pair {
            let k = String::from_utf8_lossy(k).to_ascii_uppercase();
            if k == "MODSEQ" {
                continue;
            }
            let v = if k == "FLAGS" { sorted_flags(v) } else { v.clone() };
            m.insert(k, show(&v));
        }
    }
    format!("{:?}", m)
}

fn mask_numbers_after(s: &str, key: &str) -> String {
    // "UIDVALIDITY 123" -> "UIDVALIDITY n"
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find(key) {
        out.push_str(&rest[..p + key.len()]);
        rest = &rest[p + key.len()..];
        let d = rest.trim_start_matches(' ');
        let skip = rest.len() - d.len();
        let n = d.chars().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            out.push_str(&rest[..skip]);
            out.push('n');
            rest = &d[n..];
        }
    }
    out.push_str(rest);
    out
}

/// `[CODE args]` of a status response, normalised; None without a code.
fn code_of(line: &str) -> Option<String> {
    let s = line.find('[')?;
    let e = line[s..].find(']')? + s;
    let mut c = line[s + 1..e].to_string();
    for k in ["UIDVALIDITY", "APPENDUID", "COPYUID", "HIGHESTMODSEQ"] {
        c = mask_numbers_after(&c, k);
    }
    if c.starts_with("PERMANENTFLAGS") || c.starts_with("CAPABILITY") {
        let mut words: Vec<&str> = c.split(' ').collect();
        words.sort();
        c = words.join(" ");
    }
    Some(c)
}

/// Responses per tag: status, code, and normalised untagged data.
fn transcript(out: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut res = BTreeMap::new();
    let mut cur: Vec<String> = Vec::new();
    let mut expunges: Vec<u32> = Vec::new();
    let flush_expunges = |cur: &mut Vec<String>, ex: &mut Vec<u32>| {
        if ex.is_empty() {
            return;
        }
        // Convert a run of EXPUNGEs (either numbering style) to the set of
        // original sequence numbers.
        let mut alive: Vec<u32> = (1..=200).collect();
        let mut gone = Vec::new();
        for &n in ex.iter() {
            gone.push(alive.remove(n as usize - 1));
        }
        gone.sort();
        cur.push(format!("EXPUNGED {:?}", gone));
        ex.clear();
    };
    let mut i = 0;
    while i < out.len() {
        let end = out[i..].iter().position(|&c| c == b'\n').map_or(out.len(), |p| i + p);
        let line = String::from_utf8_lossy(&out[i..end]).trim_end().to_string();
        let mut next = end + 1;
        if let Some(rest) = line.strip_prefix("* ") {
            let mut words = rest.splitn(3, ' ');
            let (w1, w2) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            if w2 == "EXPUNGE" {
                expunges.push(w1.parse().unwrap());
                i = next;
                continue;
            }
            flush_expunges(&mut cur, &mut expunges);
            if w2 == "FETCH" {
                let p = i + 2 + w1.len() + 7;
                let mut j = p;
                let _ = parse(out, &mut j);
                cur.push(format!("{} FETCH {}", w1, norm_fetch(&out[p..j])));
                next = j + out[j..].iter().position(|&c| c == b'\n').unwrap_or(0) + 1;
            } else if w1 == "OK" || w1 == "NO" || w1 == "BAD" {
                if let Some(c) = code_of(&line) {
                    if c.contains("PERMANENTFLAGS") {
                        let p = line.find("PERMANENTFLAGS").unwrap() + 15;
                        let mut j = i + p;
                        cur.push(format!(
                            "OK [PERMANENTFLAGS {}]",
                            show(&sorted_flags(&system_flags(&parse(out, &mut j))))
                        ));
                    } else {
                        cur.push(format!("{} [{}]", w1, c));
                    }
                }
            } else if w1 == "FLAGS" {
                let mut j = i + 8;
                cur.push(format!("FLAGS {}", show(&sorted_flags(&system_flags(&parse(out, &mut j))))));
            } else if w1 == "LIST" || w1 == "LSUB" {
                let mut j = i + 2 + w1.len() + 1;
                let attrs = sorted_flags(&parse(out, &mut j));
                let delim = parse(out, &mut j);
                let name = parse(out, &mut j);
                cur.push(format!("{} {} {} {}", w1, show(&attrs), show(&delim), show(&name)));
                next = j + out[j..].iter().position(|&c| c == b'\n').unwrap_or(0) + 1;
            } else if w1 == "STATUS" {
                cur.push(
                    mask_numbers_after(&line, "UIDVALIDITY").replace("* STATUS \"", "* STATUS ").replace("\" (", " ("),
                );
            } else if matches!(w1, "CAPABILITY" | "ID" | "BYE" | "PREAUTH" | "ENABLED") {
            } else {
                cur.push(rest.to_string());
            }
        } else if let Some((tag, rest)) = line.split_once(' ') {
            flush_expunges(&mut cur, &mut expunges);
            let status = rest.split(' ').next().unwrap_or("").to_string();
            let mut v = std::mem::take(&mut cur);
            // LIST order is not significant.
            v.sort_by_key(|l| if l.starts_with("LIST ") || l.starts_with("LSUB ") { l.clone() } else { String::new() });
            // Error codes vary between servers (RFC 5530 is optional);
            // TRYCREATE matters to clients and is compared.
            let code = code_of(rest).filter(|c| status == "OK" || c.starts_with("TRYCREATE"));
            v.push(format!("{} {}", status, code.map(|c| format!("[{}]", c)).unwrap_or_default()));
            res.insert(tag.to_string(), v);
        }
        i = next;
    }
    res
}

fn script() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut a = Vec::new();
    let msgs: [(&str, &[u8]); 4] = [
        ("(\\Seen)", common::MSG1),
        ("", common::MSG2),
        ("(\\Flagged $Work)", b"Subject: third\r\nFrom: x@example.org\r\n\r\nthree\r\n"),
        ("", b"Subject: fourth\r\n\r\nfour\r\n"),
    ];
    for (i, (flags, m)) in msgs.iter().enumerate() {
        let flags = if flags.is_empty() { String::new() } else { format!("{} ", flags) };
        a.extend_from_slice(format!("A{} APPEND INBOX {}{{{}+}}\r\n", i, flags, m.len()).as_bytes());
        a.extend_from_slice(m);
        a.extend_from_slice(b"\r\n");
    }
    let q = "B1 CREATE Archive\r\nB2 CREATE Work/Sub\r\nB3 LIST \"\" *\r\nB4 LIST \"\" %\r\nB5 STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n\
B6 LIST \"\" \"\"\r\nB7 CREATE Archive\r\nB8 DELETE INBOX\r\n\
C01 SELECT INBOX\r\nC02 FETCH 1:* (FLAGS)\r\nC03 STORE 2 +FLAGS (\\Answered)\r\nC04 STORE 1:2 -FLAGS.SILENT (\\Seen)\r\n\
C05 UID STORE 3 FLAGS (\\Deleted $Other)\r\nC06 FETCH 1:* (UID FLAGS RFC822.SIZE)\r\nC07 SEARCH UNSEEN\r\nC08 SEARCH DELETED\r\n\
C09 UID SEARCH NOT DELETED\r\nC10 SEARCH RETURN (MIN MAX COUNT) ALL\r\nC11 COPY 1:2 Archive\r\nC12 UID MOVE 4 Archive\r\n\
C13 EXPUNGE\r\nC14 FETCH 1:* (UID FLAGS)\r\nC15 SEARCH RETURN (SAVE) ALL\r\nC16 FETCH $ (UID)\r\nC17 STORE 1 +FLAGS (\\Deleted)\r\n\
C18 UID EXPUNGE 1\r\nC19 STORE 1 FLAGS (\\Deleted)\r\nC20 CLOSE\r\n\
D1 EXAMINE Archive\r\nD2 FETCH 1:* (UID FLAGS)\r\nD3 STORE 1 +FLAGS (\\Seen)\r\nD4 UNSELECT\r\n\
E1 RENAME Work Job\r\nE2 LIST \"\" *\r\nE3 DELETE Job/Sub\r\nE4 SUBSCRIBE Archive\r\nE5 LSUB \"\" *\r\nE6 STATUS Archive (MESSAGES UIDNEXT UNSEEN)\r\n\
E7 SELECT Nope\r\nE8 APPEND Nope {1+}\r\nx\r\nE9 COPY 1 Archive\r\nE10 FETCH 1 FLAGS\r\n\
F1 SELECT Archive\r\nF2 FETCH 9 FLAGS\r\nF3 SEARCH CHARSET ISO-8859-1 SUBJECT third\r\nF3b SEARCH CHARSET KOI8-R ALL\r\nF4 UID FETCH 99 FLAGS\r\nF5 STORE 1,2 +FLAGS.SILENT (\\Deleted)\r\n\
F6 UID EXPUNGE 1:*\r\nF7 FETCH 1 FLAGS\r\nZ LOGOUT\r\n";
    // One command per element (E8's literal stays with its line).
    let mut cmds: Vec<Vec<u8>> = Vec::new();
    for line in q.split_inclusive("\r\n") {
        if line == "x\r\n" {
            cmds.last_mut().unwrap().extend_from_slice(line.as_bytes());
        } else {
            cmds.push(line.as_bytes().to_vec());
        }
    }
    (a, cmds)
}

#[test]
fn session_transcript_matches_dovecot() {
    if !dovecot::available("dovecot session differential test") {
        return;
    }
    let (append, queries) = script();
    let theirs = dovecot::run_serial("session", &append, &queries);
    let mut st = MemStore::new();
    // Dovecot has no special-use folders configured here.
    let mut s = Session::new_preauth(Config { special_use: Vec::new(), ..Config::default() }, "bob");
    common::drive(&mut s, &mut st, &append, usize::MAX);
    let ours = common::drive(&mut s, &mut st, &queries.concat(), usize::MAX).bytes;
    let (t, o) = (transcript(&theirs), transcript(&ours));
    let mut diffs = Vec::new();
    for (tag, tv) in &t {
        if KNOWN_DIFFERENCES.iter().any(|(k, _)| k == tag) {
            continue;
        }
        match o.get(tag) {
            None => diffs.push(format!("{}: no response from us", tag)),
            Some(ov) if ov != tv => diffs.push(format!("{}:\n  dovecot: {:?}\n  ours:    {:?}", tag, tv, ov)),
            _ => {}
        }
    }
    assert!(t.len() > 40, "dovecot transcript too short:\n{}", String::from_utf8_lossy(&theirs));
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
