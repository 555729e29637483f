//! RFC 7162 CONDSTORE on the Maildir store: MODSEQs from `unimail-modseq`
//! through mail-imap's session, kept across a remount, raised for changes
//! the log did not see (deliveries, a rename by another program, a record
//! lost in a power cut), and HIGHESTMODSEQ growing on expunge.

mod common;
use common::*;
use disk::FileSystem;
use mail_imap::{Config, Session, Store};

fn cs_session<D: disk::BlockDevice>(env: &mut Env<D>) -> Session {
    let mut s = Session::new(Config { tls_active: true, condstore: true, ..Config::default() });
    let out = run(&mut s, env, "L LOGIN bob secret\r\n");
    assert!(out.contains("L OK") && out.contains("CONDSTORE"), "{out}");
    s
}

fn num_after(out: &str, key: &str) -> u64 {
    let i = out.find(key).unwrap_or_else(|| panic!("no {key} in {out}")) + key.len();
    out[i..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().unwrap()
}

/// MODSEQ of message `seq` from a FETCH response.
fn modseq_of(out: &str, seq: u32) -> u64 {
    let l = out.lines().find(|l| l.starts_with(&format!("* {seq} FETCH ("))).unwrap_or_else(|| panic!("{out}"));
    num_after(l, "MODSEQ (")
}

#[test]
fn modseqs_through_the_session_and_a_remount() {
    let mut env = ram_env(16);
    for m in [MSG1, MSG2, MSG1] {
        env.deliver(m);
    }
    let mut s = cs_session(&mut env);
    let out = run(&mut s, &mut env, "a SELECT INBOX (CONDSTORE)\r\n");
    let h0 = num_after(&out, "[HIGHESTMODSEQ ");
    assert!(h0 >= 1, "{out}");
    // Deliveries had no record: all three were recorded at one value.
    assert!(env.cat("unimail-modseq").lines().count() >= 3);
    let out = run(&mut s, &mut env, "b FETCH 1:* (MODSEQ)\r\n");
    assert!((1..=3).all(|q| modseq_of(&out, q) <= h0), "{out}");

    // STORE raises the message's MODSEQ above HIGHESTMODSEQ and reports it.
    let out = run(&mut s, &mut env, "c STORE 2 +FLAGS (\\Flagged)\r\n");
    let m2 = modseq_of(&out, 2);
    assert!(m2 > h0, "{out}");
    let out = run(&mut s, &mut env, "d STATUS INBOX (HIGHESTMODSEQ)\r\n");
    assert_eq!(num_after(&out, "HIGHESTMODSEQ "), m2, "{out}");

    // CHANGEDSINCE returns only message 2; SEARCH MODSEQ finds it.
    let out = run(&mut s, &mut env, &format!("e FETCH 1:* (FLAGS) (CHANGEDSINCE {h0})\r\n"));
    assert!(out.contains("* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (") && !out.contains("* 1 FETCH"), "{out}");
    let out = run(&mut s, &mut env, &format!("f SEARCH MODSEQ {m2}\r\n"));
    assert!(out.contains(&format!("* SEARCH 2 (MODSEQ {m2})")), "{out}");

    // UNCHANGEDSINCE below the message's MODSEQ fails for it (MODIFIED).
    let out = run(&mut s, &mut env, &format!("g STORE 1:2 (UNCHANGEDSINCE {h0}) +FLAGS (\\Seen)\r\n"));
    assert!(out.contains("g OK [MODIFIED 2]"), "{out}");
    assert_eq!(env.flags_of("", 1).unwrap(), "2,S");
    assert_eq!(env.flags_of("", 2).unwrap(), "2,F");
    let out = run(&mut s, &mut env, "h FETCH 1:3 (MODSEQ)\r\n");
    let before: Vec<u64> = (1..=3).map(|q| modseq_of(&out, q)).collect();

    // After a reboot: the same values.
    let _ = run(&mut s, &mut env, "z LOGOUT\r\n");
    env = env.remount();
    let mut s = cs_session(&mut env);
    let out = run(&mut s, &mut env, "a SELECT INBOX (CONDSTORE)\r\nb FETCH 1:3 (MODSEQ)\r\n");
    let h1 = num_after(&out, "[HIGHESTMODSEQ ");
    assert_eq!((1..=3).map(|q| modseq_of(&out, q)).collect::<Vec<_>>(), before, "{out}");
    assert_eq!(h1, *before.iter().max().unwrap());

    // EXPUNGE: HIGHESTMODSEQ still grows.
    let out = run(&mut s, &mut env, "c STORE 3 +FLAGS.SILENT (\\Deleted)\r\nd EXPUNGE\r\n");
    assert!(out.contains("* 3 EXPUNGE"), "{out}");
    let out = run(&mut s, &mut env, "e STATUS INBOX (HIGHESTMODSEQ)\r\n");
    let h2 = num_after(&out, "HIGHESTMODSEQ ");
    assert!(h2 > h1 + 1, "{out}");

    // A flag change behind our back (Dovecot, the host) gets a new MODSEQ.
    let (_, list) = env.store().list_messages("INBOX").unwrap();
    let m1 = list[0].modseq;
    let name = env.ls("cur").into_iter().find(|n| n.ends_with(":2,S")).unwrap();
    let to = name.replace(":2,S", ":2,RS");
    env.fs.rename(&format!("{ROOT}/cur/{name}"), &format!("{ROOT}/cur/{to}"), T0).unwrap();
    env.fs.flush().unwrap();
    let (_, list) = env.store().list_messages("INBOX").unwrap();
    assert!(list[0].modseq > h2 && list[0].modseq > m1, "{:?}", list[0]);
    assert_eq!(env.store().folder_status("INBOX").unwrap().highest_modseq, list[0].modseq);
    // ... and a delivery too.
    env.deliver(MSG2);
    let (_, list) = env.store().list_messages("INBOX").unwrap();
    assert!(list[2].modseq > list[0].modseq);
}

#[test]
fn a_lost_record_never_lowers_a_modseq() {
    // The rename of a STORE reached the disk but its log line did not
    // (power cut before the flush): the message must still count as
    // changed after everything that was acknowledged.
    let mut env = ram_env(16);
    env.deliver(MSG1);
    env.deliver(MSG2);
    let mut s = cs_session(&mut env);
    let out = run(&mut s, &mut env, "a SELECT INBOX (CONDSTORE)\r\nb STORE 1 +FLAGS (\\Seen)\r\n");
    let acked = modseq_of(&out, 1);
    let log = env.cat("unimail-modseq");
    // Drop the last record and change the flags as the lost STORE would have.
    let kept: String =
        log.lines().filter(|l| !l.starts_with("1 ") || !l.ends_with(":S")).map(|l| format!("{l}\n")).collect();
    assert!(kept.len() < log.len());
    let ino = env.fs.lookup(&format!("{ROOT}/unimail-modseq")).unwrap();
    env.fs.truncate(ino, 0, T0).unwrap();
    env.fs.write_at(ino, 0, kept.as_bytes(), T0).unwrap();
    let name = env.ls("cur").into_iter().find(|n| n.ends_with(":2,S")).unwrap();
    env.fs.rename(&format!("{ROOT}/cur/{name}"), &format!("{ROOT}/cur/{}", name.replace(":2,S", ":2,FS")), T0).unwrap();
    env.fs.flush().unwrap();
    let (_, list) = env.store().list_messages("INBOX").unwrap();
    assert!(list[0].modseq >= acked, "{:?} vs {acked}", list[0]);
    assert!(env.store().folder_status("INBOX").unwrap().highest_modseq >= acked);
}

#[test]
fn the_log_is_compacted() {
    let mut env = ram_env(16);
    env.deliver(MSG1);
    let mut s = cs_session(&mut env);
    run(&mut s, &mut env, "a SELECT INBOX (CONDSTORE)\r\n");
    let mut input = String::new();
    for i in 0..1100 {
        input.push_str(&format!("s{i} STORE 1 {}FLAGS.SILENT (\\Seen)\r\n", if i % 2 == 0 { "+" } else { "-" }));
    }
    run(&mut s, &mut env, &input);
    let out = run(&mut s, &mut env, "f FETCH 1 (MODSEQ)\r\nn NOOP\r\n");
    let m = modseq_of(&out, 1);
    let log = env.cat("unimail-modseq");
    assert!(log.lines().count() < 1100, "{} lines", log.lines().count());
    assert!(m > 1100);
    // The compacted file keeps the value.
    env = env.remount();
    let (_, list) = env.store().list_messages("INBOX").unwrap();
    assert_eq!(list[0].modseq, m);
}
