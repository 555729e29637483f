//! More session corners: nested messages, quotas, state transitions.

mod common;
use common::*;
use mail_imap::{MemStore, Session, Store};

const NESTED: &[u8] = b"From: a@example.org\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n\
--OUT\r\nContent-Type: text/plain\r\n\r\nsee below\r\n\
--OUT\r\nContent-Type: message/rfc822\r\n\r\n\
From: b@example.org\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=IN\r\n\r\n\
--IN\r\nContent-Type: text/plain\r\n\r\nplain\r\n--IN\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--IN--\r\n\
\r\n--OUT--\r\n";

#[test]
fn nested_message_rfc822_structure_and_sections() {
    let mut st = MemStore::new();
    st.deliver("INBOX", NESTED);
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 BODYSTRUCTURE\r\n");
    assert!(out.contains("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" "), "{}", out);
    assert!(
        out.contains("(\"NIL\" NIL \"b\" \"example.org\")") || out.contains("((NIL NIL \"b\" \"example.org\"))"),
        "{}",
        out
    );
    assert!(out.contains("\"ALTERNATIVE\""), "{}", out);
    let out = run(&mut s, &mut st, "b FETCH 1 (BODY.PEEK[2.1] BODY.PEEK[2.2] BODY.PEEK[2.HEADER.FIELDS (Subject)] BODY.PEEK[2.TEXT]<0.4> BODY.PEEK[1] BODY.PEEK[9])\r\n");
    assert!(out.contains("BODY[2.1] {5}\r\nplain"), "{}", out);
    assert!(out.contains("BODY[2.2] {11}\r\n<p>html</p>"), "{}", out);
    assert!(out.contains("BODY[2.HEADER.FIELDS (Subject)] {18}\r\nSubject: inner\r\n\r\n"), "{}", out);
    assert!(out.contains("BODY[2.TEXT]<0> {4}\r\n--IN"), "{}", out);
    assert!(out.contains("BODY[1] {9}\r\nsee below"), "{}", out);
    assert!(out.contains("BODY[9] {0}\r\n"), "{}", out);
}

#[test]
fn single_part_message_part_one_is_the_body() {
    let mut st = MemStore::new();
    st.deliver("INBOX", MSG1);
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 (BODY.PEEK[1] RFC822.HEADER)\r\nb FETCH 1 RFC822.TEXT\r\n");
    assert!(out.contains("BODY[1] {55}\r\nHello Joe"), "{}", out);
    assert!(out.contains("RFC822.HEADER {"), "{}", out);
    assert!(out.contains("RFC822.TEXT {55}\r\nHello Joe") && out.contains("\\Seen"), "{}", out);
}

#[test]
fn multipart_without_boundary_and_digest_defaults() {
    let mut st = MemStore::new();
    st.deliver("INBOX", b"Content-Type: multipart/mixed\r\n\r\nno boundary here\r\n");
    st.deliver(
        "INBOX",
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n--d--\r\n",
    );
    st.deliver("INBOX", b"no header at all, no blank line");
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1:3 BODYSTRUCTURE\r\n");
    // As Dovecot: a multipart without boundary holds one empty text part.
    assert!(out.contains("* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) \"MIXED\""), "{}", out);
    assert!(out.contains("* 2 FETCH (BODYSTRUCTURE ((\"MESSAGE\" \"RFC822\""), "{}", out);
    assert!(out.contains("\"DIGEST\""), "{}", out);
    assert!(
        out.to_ascii_uppercase()
            .contains("* 3 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"),
        "{}",
        out
    );
    let out = run(&mut s, &mut st, "b FETCH 3 (ENVELOPE BODY.PEEK[HEADER])\r\n");
    assert!(out.contains("ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"), "{}", out);
}

#[test]
fn envelope_groups_and_odd_addresses() {
    let mut st = MemStore::new();
    st.deliver(
        "INBOX",
        b"From: \"Smith, J. \\\"Q\\\"\" <j@x.example>\r\nTo: friends: a@x.example, B <b@y.example>;, undisclosed\r\nCc: <@route.example:c@z.example>\r\nSubject: caf\xc3\xa9\r\n\r\nx",
    );
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 ENVELOPE\r\n");
    assert!(out.contains("((\"Smith, J. \\\"Q\\\"\" NIL \"j\" \"x.example\"))"), "{}", out);
    assert!(out.contains("((NIL NIL \"friends\" NIL)(NIL NIL \"a\" \"x.example\")(\"B\" NIL \"b\" \"y.example\")(NIL NIL NIL NIL)(NIL NIL \"undisclosed\" \"MISSING_DOMAIN\"))"), "{}", out);
    // The obsolete source route is the adl (RFC 3501 7.4.2), as Dovecot.
    assert!(out.contains("((NIL \"@route.example\" \"c\" \"z.example\"))"), "{}", out);
    // 8-bit subject goes out as a literal.
    assert!(out.contains("{5}\r\ncaf\u{e9}"), "{}", out);
}

#[test]
fn append_over_quota_and_to_selected_mailbox() {
    let mut st = MemStore::new();
    st.quota = Some(100);
    let mut s = selected(&mut st);
    let big = "x".repeat(200);
    let out = run(&mut s, &mut st, &format!("a APPEND INBOX {{{}+}}\r\n{}\r\n", big.len(), big));
    assert!(out.contains("a NO [OVERQUOTA]"), "{}", out);
    let out = run(&mut s, &mut st, "b APPEND INBOX {2+}\r\nhi\r\n");
    assert!(out.contains("* 1 EXISTS") && out.contains("* 1 RECENT") && out.contains("b OK [APPENDUID"), "{}", out);
}

/// Fuzzing (imap_session): `COPY 1:* INBOX` repeated doubled the folder
/// each time; the store's quota now stops a copy too, with OVERQUOTA.
#[test]
fn copy_into_itself_stops_at_quota() {
    let mut st = MemStore::new();
    st.quota = Some(100);
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a APPEND INBOX {22+}\r\nSubject: x\r\n\r\nbody..\r\n\r\n");
    assert!(out.contains("a OK"), "{}", out);
    let out = run(&mut s, &mut st, &"c COPY 1:* INBOX\r\n".repeat(4));
    assert!(out.contains("c OK [COPYUID") && out.contains("c NO [OVERQUOTA]"), "{}", out);
    assert_eq!(st.list_messages("INBOX").unwrap().1.len(), 4, "22 bytes, doubled while under 100");
}

/// fuzz/regressions/imap_session/empty-append-copy-oom (an OOM after
/// 8.8 M executions of imap_session): empty APPENDs cost no quota, so
/// `COPY 1:* INBOX` repeated doubled them into millions. An empty message
/// is refused (as Dovecot does), and the store can count each message as
/// at least one disk block.
#[test]
fn empty_append_is_refused_and_tiny_copies_stop_at_quota() {
    let mut st = MemStore::new();
    st.quota = Some(10 * 1024);
    st.min_message_cost = 1024;
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a APPEND INBOX {0+}\r\n\r\n");
    assert!(out.contains("a NO [CANNOT]"), "{}", out);
    let out = run(&mut s, &mut st, "b APPEND Nowhere {0+}\r\n\r\n");
    assert!(out.contains("b NO [TRYCREATE]"), "{}", out);
    let out = run(&mut s, &mut st, "c APPEND INBOX {1+}\r\nx\r\n");
    assert!(out.contains("c OK [APPENDUID"), "{}", out);
    let out = run(&mut s, &mut st, &"d COPY 1:* INBOX\r\n".repeat(8));
    assert!(out.contains("d OK [COPYUID") && out.contains("d NO [OVERQUOTA]"), "{}", out);
    assert_eq!(st.list_messages("INBOX").unwrap().1.len(), 8, "1 KiB each, doubled while under 10 KiB");
}

#[test]
fn select_while_selected_and_delete_selected() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a SELECT Trash\r\n");
    assert!(out.starts_with("* OK [CLOSED]"), "{}", out);
    assert_eq!(s.selected(), Some("Trash"));
    let out = run(&mut s, &mut st, "b DELETE Trash\r\nc FETCH 1 FLAGS\r\n");
    assert!(out.contains("* OK [CLOSED]") && out.contains("b OK") && out.contains("c BAD"), "{}", out);
}

#[test]
fn idle_without_selected_mailbox_and_shutdown() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a IDLE\r\n");
    assert_eq!(out, "+ idling\r\n");
    s.mailbox_changed();
    assert_eq!(run(&mut s, &mut st, ""), "");
    s.shutdown("Server shutting down");
    let r = drive(&mut s, &mut st, b"", 1);
    assert!(r.closed && r.out.contains("* BYE Server shutting down"), "{}", r.out);
}

#[test]
fn enable_before_login_is_bad_and_status_highestmodseq() {
    let mut st = store_with_messages();
    let mut s = Session::new(tls_config());
    let out = run(&mut s, &mut st, "a ENABLE CONDSTORE\r\n");
    assert!(out.contains("a BAD"));
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "b STATUS INBOX (HIGHESTMODSEQ)\r\n");
    assert!(out.contains("* STATUS \"INBOX\" (HIGHESTMODSEQ "), "{}", out);
}

#[test]
fn list_with_reference_and_inbox_children() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    run(&mut s, &mut st, "a CREATE INBOX/Receipts\r\nb CREATE inbox/Old\r\n");
    let f = st.list_folders().unwrap();
    assert!(f.contains(&"INBOX/Receipts".to_string()) && f.contains(&"INBOX/Old".to_string()), "{:?}", f);
    let out = run(&mut s, &mut st, "c LIST \"\" INBOX\r\nd LIST inbox/ %\r\n");
    assert!(out.contains("* LIST (\\HasChildren) \"/\" \"INBOX\""), "{}", out);
    assert!(out.contains("\"INBOX/Receipts\"") && out.contains("\"INBOX/Old\""), "{}", out);
}

#[test]
fn store_on_message_expunged_elsewhere_is_skipped() {
    let mut st = store_with_messages();
    let mut a = selected(&mut st);
    st.expunge("INBOX", &[2]).unwrap();
    let out = run(&mut a, &mut st, "s STORE 1:3 +FLAGS (\\Flagged)\r\n");
    // Message 2 is gone: no FETCH for it, no EXPUNGE during STORE.
    assert!(out.contains("* 1 FETCH") && out.contains("* 3 FETCH") && !out.contains("* 2 FETCH"), "{}", out);
    assert!(!out.contains("EXPUNGE"), "{}", out);
    let out = run(&mut a, &mut st, "n NOOP\r\n");
    assert!(out.contains("* 2 EXPUNGE"), "{}", out);
}

#[test]
fn copy_preserves_flags_and_date() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    run(&mut s, &mut st, "a STORE 1 +FLAGS.SILENT (\\Answered $Work)\r\nb COPY 1 Archive\r\n");
    let (_, src) = st.list_messages("INBOX").unwrap();
    let (_, dst) = st.list_messages("Archive").unwrap();
    assert_eq!(dst[0].flags, src[0].flags);
    assert_eq!(dst[0].internal_date, src[0].internal_date);
    assert_eq!(st.read_message("Archive", 1).unwrap(), MSG1);
}

#[test]
fn keyword_limit_and_star_on_empty_mailbox() {
    let mut st = MemStore::new();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH * FLAGS\r\nb FETCH 1:* FLAGS\r\nc UID FETCH 1:* FLAGS\r\nd SEARCH 1:*\r\n");
    assert!(
        out.contains("a BAD") && out.contains("b BAD") && out.contains("c OK") && out.contains("* SEARCH\r\nd OK"),
        "{}",
        out
    );
    let kws: Vec<String> = (0..27).map(|i| format!("k{}", i)).collect();
    let out = run(&mut s, &mut st, &format!("e APPEND INBOX ({}) {{1+}}\r\nx\r\n", kws.join(" ")));
    assert!(out.contains("e NO [LIMIT]"), "{}", out);
    run(&mut s, &mut st, "f APPEND INBOX {1+}\r\nx\r\n");
    let out = run(&mut s, &mut st, &format!("g STORE 1 +FLAGS ({})\r\n", kws[..26].join(" ")));
    assert!(out.contains("g OK"), "{}", out);
    let out = run(&mut s, &mut st, "h STORE 1 +FLAGS (one-more)\r\n");
    assert!(out.contains("h NO [LIMIT]"), "{}", out);
}

#[test]
fn utf8_append_after_enable() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let msg = "Subject: Grüße\r\n\r\nhi\r\n";
    let out = run(
        &mut s,
        &mut st,
        &format!("a ENABLE UTF8=ACCEPT\r\nb APPEND INBOX UTF8 (~{{{}+}}\r\n{})\r\n", msg.len(), msg),
    );
    assert!(out.contains("b OK [APPENDUID"), "{}", out);
    assert_eq!(st.read_message("INBOX", 1).unwrap(), msg.as_bytes());
}

#[test]
fn big_fetch_is_produced_in_bounded_batches() {
    use mail_imap::{Action, Config};
    let mut st = MemStore::new();
    let body = "x".repeat(10_000);
    for i in 0..50 {
        st.deliver("INBOX", format!("Subject: m{}\r\n\r\n{}\r\n", i, body).as_bytes());
    }
    let mut s = Session::new(Config { max_output: 32 * 1024, ..tls_config() });
    run(&mut s, &mut st, "a LOGIN bob secret\r\nb SELECT INBOX\r\n");
    s.feed(b"c FETCH 1:* BODY.PEEK[]\r\nd NOOP\r\n");
    let mut all = Vec::new();
    let mut writes = 0;
    loop {
        match s.process(&mut st) {
            Action::Write => {
                let chunk = s.take_output();
                // Never more than the mark plus one message response.
                assert!(chunk.len() < 32 * 1024 + 11_000, "{}", chunk.len());
                all.extend(chunk);
                writes += 1;
            }
            Action::Wait => break,
            a => panic!("{:?}", a),
        }
    }
    all.extend(s.take_output());
    let out = String::from_utf8(all).unwrap();
    assert!(writes >= 10, "{}", writes);
    assert_eq!(out.matches(" FETCH (BODY[] {").count(), 50);
    assert!(out.contains("c OK FETCH completed\r\nd OK NOOP completed"), "{}", &out[out.len() - 200..]);
}

#[test]
fn condstore_only_when_the_store_supports_it() {
    let mut st = store_with_messages();
    let mut s = Session::new(mail_imap::Config { tls_active: true, ..Default::default() });
    let out = run(&mut s, &mut st, "a LOGIN bob secret\r\nb ENABLE CONDSTORE\r\nc SELECT INBOX (CONDSTORE)\r\nd SELECT INBOX\r\ne FETCH 1 (FLAGS) (CHANGEDSINCE 1)\r\nf STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)\r\n");
    let caps = out.lines().find(|l| l.starts_with("a OK [CAPABILITY")).unwrap();
    assert!(!caps.contains("CONDSTORE"), "{}", caps);
    assert!(
        out.contains("* ENABLED\r\n")
            && out.contains("c BAD")
            && out.contains("d OK")
            && out.contains("e BAD")
            && out.contains("f BAD"),
        "{}",
        out
    );
    assert!(!out.contains("HIGHESTMODSEQ"), "{}", out);
}

#[test]
fn list_extended_recursivematch_childinfo() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    run(&mut s, &mut st, "a CREATE Foo/Bar\r\nb SUBSCRIBE Foo/Bar\r\n");
    // RFC 5258 5 example shape: Foo is not subscribed, its child is.
    let out = run(&mut s, &mut st, "c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\n");
    assert!(out.contains("* LIST (\\HasChildren) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"), "{}", out);
    let out = run(&mut s, &mut st, "d LIST (SUBSCRIBED) \"\" %\r\n");
    assert!(!out.contains("\"Foo\""), "{}", out);
    let out = run(&mut s, &mut st, "e LIST (RECURSIVEMATCH) \"\" %\r\n");
    assert!(out.contains("e BAD"), "{}", out);
}

#[test]
fn envelope_empty_sender_and_reply_to_take_from() {
    // RFC 3501 7.4.2 (imaptest `fetch-envelope`): absent or empty Sender
    // and Reply-To are the From member.
    let mut st = MemStore::new();
    st.deliver("INBOX", b"Date: Thu, 15 Feb 2007 01:02:03 +0200\r\nFrom: user@domain (Real Name)\r\nSender: \r\nReply-To: \r\n\r\nbody\r\n");
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 ENVELOPE\r\n");
    let who = "((\"Real Name\" NIL \"user\" \"domain\"))";
    assert!(out.contains(&format!("NIL {who} {who} {who} NIL NIL NIL NIL NIL)")), "{}", out);
}

#[test]
fn uid_4294967295_is_a_number_not_star() {
    // imaptest `search-sets`: above the last UID, n:4294967295 is empty
    // while n:* still names the last message (RFC 3501 9).
    let mut st = MemStore::new();
    for _ in 0..3 {
        st.deliver("INBOX", b"Subject: x\r\n\r\ny\r\n");
    }
    let mut s = selected(&mut st);
    let out =
        run(&mut s, &mut st, "a UID SEARCH UID 4:4294967295\r\nb UID SEARCH UID 4:*\r\nc UID FETCH 4294967295 UID\r\n");
    assert!(out.contains("* SEARCH\r\na OK") && out.contains("* SEARCH 3\r\nb OK"), "{}", out);
    assert!(!out.contains("FETCH (UID"), "{}", out);
}
