//! Concurrent sessions compared with Dovecot: two Dovecot `imap`
//! processes share one Maildir, two of our sessions share one MemStore;
//! the same interleaved commands run on both, and the untagged updates
//! each session receives (flag changes, EXPUNGE, EXISTS/RECENT, during
//! FETCH vs NOOP, in IDLE) are compared.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;

use mail_imap::{Config, MemStore, Session};

/// Normalises one command's output: drops human text, masks UIDVALIDITY,
/// keeps response order.
fn norm(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            let l = l.trim_end();
            if let Some((tag, rest)) = l.split_once(' ') {
                if tag != "*" && tag != "+" {
                    // Tagged: status and code only.
                    let status = rest.split(' ').next().unwrap_or("");
                    let code =
                        rest.find('[').and_then(|s| rest[s..].find(']').map(|e| &rest[s..s + e + 1])).unwrap_or("");
                    let code =
                        if code.starts_with("[APPENDUID") || code.starts_with("[COPYUID") { "[UIDPLUS]" } else { code };
                    return format!("{} {}", status, if status == "OK" { code } else { "" }).trim_end().to_string();
                }
                if tag == "+" {
                    return "+".to_string();
                }
                if rest.starts_with("OK [COPYUID") {
                    return "OK [COPYUID n ...]".into();
                }
                if rest.starts_with("OK [") {
                    let e = rest.find(']').unwrap();
                    let code = &rest[..e + 1];
                    if code.starts_with("OK [UIDVALIDITY") {
                        return "OK [UIDVALIDITY n]".into();
                    }
                    return code.to_string();
                }
            }
            l.to_string()
        })
        .collect()
}

/// (tag + space, reason).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "b3 ",
    "FETCH of a message another session expunged: Dovecot answers from its index \
     (with the newer flags), we skip it; RFC 3501 7.4.1 allows both",
)];

const STEPS: &[(usize, &str)] = &[
    (0, "a1 SELECT INBOX\r\n"),
    (1, "b1 SELECT INBOX\r\n"),
    (0, "a2 STORE 1 +FLAGS (\\Flagged)\r\n"),
    (1, "b2 NOOP\r\n"),
    (0, "a3 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n"),
    (0, "a4 EXPUNGE\r\n"),
    (1, "b3 FETCH 1:* (FLAGS)\r\n"),
    (1, "b4 NOOP\r\n"),
    (0, "a5 APPEND INBOX {20+}\r\nSubject: new\r\n\r\nnew\r\n"),
    (1, "b5 UID FETCH 1:* (FLAGS)\r\n"),
    (0, "a6 NOOP\r\n"),
    (1, "b6 STORE 1 -FLAGS (\\Flagged)\r\n"),
    (0, "a7 UID SEARCH FLAGGED\r\n"),
    (0, "a8 NOOP\r\n"),
    (1, "b7 UID MOVE 1 INBOX\r\n"),
    (0, "a9 NOOP\r\n"),
    (0, "a10 LOGOUT\r\n"),
    (1, "b8 LOGOUT\r\n"),
];

#[test]
fn concurrent_updates_match_dovecot() {
    if !dovecot::available("dovecot concurrent differential test") {
        return;
    }
    let msgs: [&[u8]; 3] = [common::MSG1, common::MSG2, b"Subject: third\r\n\r\nthree\r\n"];
    // Dovecot.
    let dir = dovecot::Dir::new("concurrent");
    let mut theirs: Vec<Vec<String>> = Vec::new();
    {
        let mut p = [dovecot::Proc::spawn(&dir), dovecot::Proc::spawn(&dir)];
        for (i, m) in msgs.iter().enumerate() {
            let mut c = format!("p{} APPEND INBOX {{{}+}}\r\n", i, m.len()).into_bytes();
            c.extend_from_slice(m);
            c.extend_from_slice(b"\r\n");
            p[0].cmd(&c);
        }
        for (who, c) in STEPS {
            theirs.push(norm(&p[*who].cmd(c.as_bytes())));
        }
    }
    // Ours.
    let mut st = MemStore::new();
    let cfg = Config { special_use: Vec::new(), ..Config::default() };
    let mut s = [Session::new_preauth(cfg.clone(), "bob"), Session::new_preauth(cfg, "bob")];
    for m in s.iter_mut() {
        m.take_output();
    }
    for (i, m) in msgs.iter().enumerate() {
        let mut c = format!("p{} APPEND INBOX {{{}+}}\r\n", i, m.len()).into_bytes();
        c.extend_from_slice(m);
        c.extend_from_slice(b"\r\n");
        common::drive(&mut s[0], &mut st, &c, usize::MAX);
    }
    let mut ours: Vec<Vec<String>> = Vec::new();
    for (who, c) in STEPS {
        ours.push(norm(&common::drive(&mut s[*who], &mut st, c.as_bytes(), usize::MAX).bytes));
        // As the kernel does after a command that wrote: the other session
        // looks again (FETCH/STORE/SEARCH only re-list when told).
        s[1 - *who].mailbox_changed();
    }
    let mut diffs = Vec::new();
    for (i, (t, o)) in theirs.iter().zip(ours.iter()).enumerate() {
        if KNOWN_DIFFERENCES.iter().any(|(tag, _)| STEPS[i].1.starts_with(tag)) {
            continue;
        }
        if t != o {
            diffs.push(format!("{}:\n  dovecot: {:?}\n  ours:    {:?}", STEPS[i].1.trim_end(), t, o));
        }
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
