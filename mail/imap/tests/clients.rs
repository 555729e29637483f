//! Realistic client sequences: what Thunderbird and mbsync send.

mod common;
use common::*;
use mail_imap::{Config, MemStore, Session, Store, SystemFlag};

#[test]
fn thunderbird_like_session() {
    let mut st = store_with_messages();
    let mut s = Session::new(tls_config());
    let out = run(&mut s, &mut st, "1 capability\r\n");
    assert!(out.contains("1 OK"));
    let out = run(&mut s, &mut st, "2 ID (\"name\" \"Thunderbird\" \"version\" \"128.3.0\")\r\n");
    assert!(out.contains("* ID (") && out.contains("2 OK"));
    let out = run(&mut s, &mut st, "3 authenticate PLAIN\r\n");
    assert_eq!(out, "+ \r\n");
    let out = run(&mut s, &mut st, "AGJvYgBzZWNyZXQ=\r\n");
    assert!(out.contains("3 OK [CAPABILITY"), "{}", out);
    let out = run(&mut s, &mut st, "4 namespace\r\n5 enable UTF8=ACCEPT\r\n");
    assert!(out.contains("5 OK"));
    let out = run(&mut s, &mut st, "6 list (subscribed) \"\" \"*\" return (special-use)\r\n");
    assert!(out.contains("\\Subscribed") && out.contains("\\Trash") && out.contains("6 OK"), "{}", out);
    let out = run(&mut s, &mut st, "7 list \"\" \"INBOX\"\r\n");
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" \"INBOX\""), "{}", out);
    let out = run(&mut s, &mut st, "8 select \"INBOX\" (CONDSTORE)\r\n");
    assert!(
        out.contains("* 3 EXISTS") && out.contains("HIGHESTMODSEQ") && out.contains("8 OK [READ-WRITE]"),
        "{}",
        out
    );
    let out = run(&mut s, &mut st, "9 UID fetch 1:* (FLAGS)\r\n");
    assert_eq!(out.matches(" FETCH (UID ").count(), 3, "{}", out);
    let out = run(
        &mut s,
        &mut st,
        "10 UID fetch 1:3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
    );
    assert!(out.contains("Subject: Report attached\r\n"), "{}", out);
    assert!(out.contains("10 OK"));
    let out = run(&mut s, &mut st, "11 UID fetch 2 (UID RFC822.SIZE BODY.PEEK[])\r\n");
    assert!(out.contains(&format!("BODY[] {{{}}}\r\n", MSG2.len())));
    assert!(!st.list_messages("INBOX").unwrap().1[1].flags.has(SystemFlag::Seen));
    // Thunderbird idles, a message arrives, it fetches it.
    let out = run(&mut s, &mut st, "12 IDLE\r\n");
    assert_eq!(out, "+ idling\r\n");
    st.deliver("INBOX", MSG1);
    s.mailbox_changed();
    let out = run(&mut s, &mut st, "");
    assert!(out.contains("* 4 EXISTS"));
    let out = run(&mut s, &mut st, "DONE\r\n13 UID fetch 4:* (FLAGS)\r\n");
    assert!(out.contains("12 OK") && out.contains("* 4 FETCH (UID 4 FLAGS (\\Recent) MODSEQ ("), "{}", out);
    let out = run(&mut s, &mut st, "14 uid store 2 +Flags (\\Seen)\r\n");
    assert!(out.contains("* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent)"), "{}", out);
    let out = run(&mut s, &mut st, "15 uid move 2 \"Trash\"\r\n");
    assert!(out.contains("* OK [COPYUID ") && out.contains("* 2 EXPUNGE") && out.contains("15 OK"), "{}", out);
    let sent = "From: bob@example.com\r\nTo: alice@example.org\r\nSubject: re\r\n\r\nthanks\r\n";
    let out = run(&mut s, &mut st, &format!("16 append \"Sent\" (\\Seen) {{{}}}\r\n", sent.len()));
    assert_eq!(out, "+ Ready for literal data\r\n");
    let out = run(&mut s, &mut st, &format!("{}\r\n", sent));
    assert!(out.contains("16 OK [APPENDUID "), "{}", out);
    assert_eq!(st.read_message("Sent", 1).unwrap(), sent.as_bytes());
    let r = drive(&mut s, &mut st, b"17 logout\r\n", usize::MAX);
    assert!(r.closed && r.out.contains("* BYE"));
}

#[test]
fn mbsync_like_pipelined_session() {
    let mut st = store_with_messages();
    let mut s = Session::new(tls_config());
    // mbsync pipelines after login and uses LITERAL+ for APPEND.
    let msg = "From: me@example.com\r\nSubject: local\r\nX-TUID: abc123\r\n\r\nlocal draft\r\n";
    let script = format!(
        "1 CAPABILITY\r\n2 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n3 LIST \"\" \"*\"\r\n4 SELECT \"INBOX\"\r\n\
5 UID FETCH 1:1000000000 (UID FLAGS)\r\n6 UID FETCH 1,3 (BODY.PEEK[])\r\n\
7 APPEND \"INBOX\" (\\Seen) {{{}+}}\r\n{}\r\n\
8 UID FETCH 4:1000000000 (UID BODY.PEEK[HEADER.FIELDS (X-TUID)])\r\n\
9 UID STORE 1 +FLAGS.SILENT (\\Deleted)\r\n10 UID STORE 3 +FLAGS.SILENT (\\Flagged)\r\n11 UID EXPUNGE 1\r\n\
12 LOGOUT\r\n",
        msg.len(),
        msg
    );
    let r = drive(&mut s, &mut st, script.as_bytes(), usize::MAX);
    let out = r.out;
    assert!(r.closed);
    for t in 1..=12 {
        assert!(out.contains(&format!("\r\n{} OK", t)), "tag {} in {}", t, out);
    }
    assert!(!out.contains("+ Ready"), "LITERAL+ needs no continuation: {}", out);
    assert!(out.contains(&format!("BODY[] {{{}}}", MSG1.len())));
    assert!(out.contains("BODY[HEADER.FIELDS (X-TUID)] {18}\r\nX-TUID: abc123\r\n\r\n"), "{}", out);
    // The APPEND to the selected mailbox shows up as EXISTS.
    assert!(out.contains("* 4 EXISTS"));
    assert!(out.contains("* 1 EXPUNGE\r\n* 3 RECENT\r\n11 OK"), "{}", out);
    let (_, list) = st.list_messages("INBOX").unwrap();
    assert_eq!(list.iter().map(|m| m.uid).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(list[1].flags.has(SystemFlag::Flagged));
}

#[test]
fn mbsync_pipeline_fed_byte_by_byte_gives_same_output() {
    let script = b"1 LOGIN bob secret\r\n2 SELECT INBOX\r\n3 UID FETCH 1:* (UID FLAGS)\r\n4 APPEND INBOX {5+}\r\nhello\r\n5 UID SEARCH UNSEEN\r\n6 LOGOUT\r\n";
    let go = |chunk| {
        let mut st = store_with_messages();
        let mut s = Session::new(tls_config());
        drive(&mut s, &mut st, script, chunk).out
    };
    let whole = go(usize::MAX);
    assert!(whole.contains("* SEARCH 1 2 3 4"), "{}", whole);
    assert_eq!(go(1), whole);
}

#[test]
fn two_clients_one_mailbox_roundtrip() {
    // Thunderbird idles while mbsync deletes and appends.
    let mut st = store_with_messages();
    let mut tb = selected(&mut st);
    let mut mb = selected(&mut st);
    run(&mut tb, &mut st, "i IDLE\r\n");
    run(
        &mut mb,
        &mut st,
        "a UID STORE 1 +FLAGS.SILENT (\\Deleted)\r\nb UID EXPUNGE 1\r\nc APPEND INBOX {5+}\r\nhello\r\n",
    );
    tb.mailbox_changed();
    let out = run(&mut tb, &mut st, "");
    assert_eq!(lines(&out), ["* 1 EXPUNGE", "* 3 EXISTS", "* 2 RECENT"]);
    let out = run(&mut tb, &mut st, "DONE\r\nf FETCH 1:* (UID)\r\n");
    assert!(out.contains("* 1 FETCH (UID 2)") && out.contains("* 3 FETCH (UID 4)"), "{}", out);
}

#[test]
fn neomutt_like_header_cache_fetch() {
    let mut st = store_with_messages();
    let mut s = Session::new(Config { tls_active: true, ..Config::default() });
    run(&mut s, &mut st, "a0 LOGIN bob secret\r\n");
    let out = run(&mut s, &mut st, "a1 EXAMINE INBOX\r\na2 FETCH 1:3 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST X-LABEL)])\r\n");
    assert!(out.contains("a2 OK"), "{}", out);
    assert_eq!(out.matches("INTERNALDATE").count(), 3);
    let out = run(&mut s, &mut st, "a3 FETCH 2 BODY.PEEK[2]\r\n");
    assert!(out.contains("BODY[2] {24}\r\nJVBERi0xLjQKJcOkw7zDtsOf)"), "{}", out);
    let _ = MemStore::new();
}
