//! Session dialogues modelled on the RFC 3501 / RFC 9051 examples, run
//! against MemStore.

mod common;
use common::*;
use mail_imap::{Config, MemStore, Session, Store};

#[test]
fn greeting_and_capabilities_cleartext() {
    let mut st = MemStore::new();
    let mut s = Session::new(Config::default());
    let out = run(&mut s, &mut st, "a CAPABILITY\r\n");
    assert!(out.starts_with("* OK [CAPABILITY IMAP4rev1 "), "{}", out);
    assert!(out.contains("STARTTLS") && out.contains("LOGINDISABLED") && !out.contains("AUTH=PLAIN"));
    assert!(out.contains("* CAPABILITY IMAP4rev1 IMAP4rev2"));
    assert!(out.ends_with("a OK CAPABILITY completed\r\n"));
}

#[test]
fn login_refused_before_tls_then_allowed_after_starttls() {
    let mut st = MemStore::new();
    let mut s = Session::new(Config::default());
    let out = run(&mut s, &mut st, "a LOGIN bob secret\r\n");
    assert!(out.contains("a NO [PRIVACYREQUIRED]"), "{}", out);
    let out = run(&mut s, &mut st, "b AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n");
    assert!(out.contains("b NO [PRIVACYREQUIRED]"), "{}", out);
    let r = drive(&mut s, &mut st, b"c STARTTLS\r\n", usize::MAX);
    assert!(r.starttls && r.out.contains("c OK Begin TLS"));
    let out = run(&mut s, &mut st, "d CAPABILITY\r\n");
    assert!(out.contains("AUTH=PLAIN") && !out.contains("STARTTLS") && !out.contains("LOGINDISABLED"), "{}", out);
    let out = run(&mut s, &mut st, "e LOGIN bob secret\r\n");
    assert!(out.contains("e OK [CAPABILITY IMAP4rev1") && out.contains("Logged in"), "{}", out);
    let out = run(&mut s, &mut st, "f STARTTLS\r\n");
    assert!(out.contains("f BAD"), "{}", out);
}

#[test]
fn starttls_discards_pipelined_cleartext() {
    // RFC 3501 6.2.1 / CVE-2011-0411 style command injection.
    let mut st = MemStore::new();
    let mut s = Session::new(Config::default());
    let r = drive(&mut s, &mut st, b"a STARTTLS\r\nb LOGIN bob secret\r\n", usize::MAX);
    assert!(r.starttls);
    assert!(!r.out.contains("b "), "{}", r.out);
    let out = run(&mut s, &mut st, "c NOOP\r\n");
    assert!(out.contains("c OK") && s.user().is_none());
}

#[test]
fn implicit_tls_port_993() {
    let mut st = MemStore::new();
    let mut s = Session::new(tls_config());
    let out = run(&mut s, &mut st, "a CAPABILITY\r\n");
    assert!(out.contains("AUTH=PLAIN") && !out.contains("STARTTLS") && !out.contains("LOGINDISABLED"));
}

#[test]
fn login_failures_counted_then_bye() {
    let mut st = MemStore::new();
    let mut s = Session::new(tls_config());
    let r = drive(&mut s, &mut st, b"a LOGIN bob x\r\nb LOGIN bob y\r\nc LOGIN bob z\r\nd NOOP\r\n", usize::MAX);
    assert!(r.out.contains("a NO [AUTHENTICATIONFAILED]"));
    assert!(r.out.contains("c NO [AUTHENTICATIONFAILED]"));
    assert!(r.out.contains("* BYE"));
    assert!(r.closed && !r.out.contains("d OK"));
}

#[test]
fn authenticate_plain_continuation_and_cancel() {
    let mut st = MemStore::new();
    let mut s = Session::new(tls_config());
    let out = run(&mut s, &mut st, "a AUTHENTICATE PLAIN\r\n");
    assert!(out.ends_with("+ \r\n"), "{}", out);
    let out = run(&mut s, &mut st, "*\r\n");
    assert!(out.contains("a BAD Authentication cancelled"));
    let out = run(&mut s, &mut st, "b AUTHENTICATE PLAIN\r\n!!!\r\n");
    assert!(out.contains("b BAD Invalid base64"), "{}", out);
    // authzid "", authcid "bob", password "secret".
    let out = run(&mut s, &mut st, "c AUTHENTICATE PLAIN\r\nAGJvYgBzZWNyZXQ=\r\n");
    assert!(out.contains("c OK [CAPABILITY"), "{}", out);
    assert_eq!(s.user(), Some("bob"));
}

#[test]
fn authenticate_sasl_ir_and_unknown_mechanism() {
    let mut st = MemStore::new();
    let mut s = Session::new(tls_config());
    let out = run(&mut s, &mut st, "a AUTHENTICATE CRAM-MD5\r\n");
    assert!(out.contains("a NO"), "{}", out);
    let out = run(&mut s, &mut st, "b AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=\r\n");
    assert!(out.contains("b OK"), "{}", out);
    let out = run(&mut s, &mut st, "c LOGIN bob secret\r\n");
    assert!(out.contains("c BAD"));
}

#[test]
fn auth_waits_for_verdict_and_applies_backpressure() {
    use mail_imap::{Action, AuthResult};
    let mut st = MemStore::new();
    let mut s = Session::new(tls_config());
    s.take_output();
    s.feed(b"a LOGIN bob secret\r\nb SELECT INBOX\r\n");
    match s.process(&mut st) {
        Action::Authenticate { user, password, authzid } => {
            assert_eq!((user.as_str(), password.as_slice(), authzid), ("bob", &b"secret"[..], None));
        }
        o => panic!("{:?}", o),
    }
    // Still waiting: the pipelined SELECT is not run yet.
    assert_eq!(s.process(&mut st), Action::Wait);
    assert!(s.take_output().is_empty());
    s.auth_result(AuthResult::Ok);
    assert_eq!(s.process(&mut st), Action::Wait);
    let out = String::from_utf8(s.take_output()).unwrap();
    let l = lines(&out);
    assert!(l[0].starts_with("a OK"), "{}", out);
    assert!(out.contains("b OK [READ-WRITE]"));
}

#[test]
fn commands_need_the_right_state() {
    let mut st = MemStore::new();
    let mut s = Session::new(tls_config());
    let out = run(&mut s, &mut st, "a SELECT INBOX\r\nb FETCH 1 FLAGS\r\nc LIST \"\" *\r\n");
    assert!(out.contains("a BAD") && out.contains("b BAD") && out.contains("c BAD"));
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "d FETCH 1 FLAGS\r\ne EXPUNGE\r\nf CHECK\r\ng CLOSE\r\n");
    for t in ["d", "e", "f", "g"] {
        assert!(out.contains(&format!("{} BAD No mailbox selected", t)), "{}", out);
    }
}

#[test]
fn special_use_folders_created_at_first_login() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let mut f = st.list_folders().unwrap();
    f.sort();
    assert_eq!(f, ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]);
    let out = run(&mut s, &mut st, "a LIST \"\" *\r\n");
    assert!(out.contains("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\""), "{}", out);
    assert!(out.contains("* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\""));
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" \"INBOX\""));
    let out = run(&mut s, &mut st, "b LIST (SPECIAL-USE) \"\" *\r\n");
    assert_eq!(lines(&out).len(), 6, "{}", out);
    let out = run(&mut s, &mut st, "c LSUB \"\" *\r\n");
    assert!(out.contains("* LSUB () \"/\" \"Trash\""), "{}", out);
}

#[test]
fn select_response_rfc3501_example_shape() {
    let mut st = store_with_messages();
    st.set_flags("INBOX", 1, &mail_imap::Flags::new().with(mail_imap::SystemFlag::Seen)).unwrap();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "A142 SELECT INBOX\r\n");
    let l = lines(&out);
    assert_eq!(l[0], "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
    assert!(l[1].starts_with("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]"));
    assert_eq!(l[2], "* 3 EXISTS");
    assert_eq!(l[3], "* 3 RECENT");
    assert_eq!(l[4], "* OK [UNSEEN 2] First unseen");
    assert!(l[5].starts_with("* OK [UIDVALIDITY "));
    assert_eq!(l[6], "* OK [UIDNEXT 4] Predicted next UID");
    assert_eq!(l[7], "A142 OK [READ-WRITE] SELECT completed");
    // A second session does not see them as recent any more.
    let mut s2 = logged_in(&mut st);
    let out = run(&mut s2, &mut st, "B SELECT INBOX\r\n");
    assert!(out.contains("* 0 RECENT"), "{}", out);
}

#[test]
fn examine_is_read_only_and_failed_select_deselects() {
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    let out = run(
        &mut s,
        &mut st,
        "a EXAMINE INBOX\r\nb STORE 1 +FLAGS (\\Deleted)\r\nc FETCH 1 BODY[]\r\nd FETCH 1 FLAGS\r\n",
    );
    assert!(out.contains("a OK [READ-ONLY]"));
    assert!(out.contains("* OK [PERMANENTFLAGS ()]"));
    assert!(out.contains("b NO [READ-ONLY]"));
    // BODY[] in EXAMINE does not set \Seen; \Recent is shown, not taken.
    assert!(out.contains("* 1 FETCH (FLAGS (\\Recent))"), "{}", out);
    let out = run(&mut s, &mut st, "e SELECT Nope\r\nf FETCH 1 FLAGS\r\n");
    assert!(out.contains("e NO [NONEXISTENT]") && out.contains("f BAD No mailbox selected"), "{}", out);
}

#[test]
fn create_delete_rename_hierarchy() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let out = run(
        &mut s,
        &mut st,
        "a CREATE owatagusiam/\r\nb CREATE owatagusiam/blurdybloop\r\nc CREATE Work/Projects/X\r\n",
    );
    assert!(out.contains("a OK") && out.contains("b OK") && out.contains("c OK"), "{}", out);
    let f = st.list_folders().unwrap();
    assert!(f.contains(&"Work".to_string()) && f.contains(&"Work/Projects".to_string()));
    let out = run(
        &mut s,
        &mut st,
        "d CREATE INBOX\r\ne CREATE Work\r\nf DELETE INBOX\r\ng DELETE nothere\r\nh CREATE a//b\r\n",
    );
    assert!(
        out.contains("d NO")
            && out.contains("e NO [ALREADYEXISTS]")
            && out.contains("f NO")
            && out.contains("g NO [NONEXISTENT]")
            && out.contains("h NO"),
        "{}",
        out
    );
    let out = run(&mut s, &mut st, "i RENAME Work Job\r\nj LIST \"\" Job*\r\n");
    assert!(out.contains("i OK"));
    assert!(out.contains("\"Job/Projects/X\""), "{}", out);
    let out = run(&mut s, &mut st, "k RENAME Job Job/Sub\r\nl RENAME Job Trash\r\n");
    assert!(out.contains("k NO") && out.contains("l NO [ALREADYEXISTS]"), "{}", out);
}

#[test]
fn rename_inbox_moves_messages() {
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    let out = run(
        &mut s,
        &mut st,
        "a RENAME INBOX \"Old Mail\"\r\nb STATUS INBOX (MESSAGES)\r\nc STATUS \"Old Mail\" (MESSAGES)\r\n",
    );
    assert!(out.contains("* STATUS \"INBOX\" (MESSAGES 0)"), "{}", out);
    assert!(out.contains("* STATUS \"Old Mail\" (MESSAGES 3)"), "{}", out);
}

#[test]
fn list_patterns_and_delimiter() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    run(&mut s, &mut st, "a CREATE Lists/rust/announce\r\nb CREATE Lists/debian\r\n");
    let out = run(&mut s, &mut st, "c LIST \"\" \"\"\r\n");
    assert!(out.contains("* LIST (\\Noselect) \"/\" \"\""));
    let out = run(&mut s, &mut st, "d LIST \"\" %\r\n");
    assert!(out.contains("\"Lists\"") && !out.contains("\"Lists/debian\""), "{}", out);
    assert!(out.contains("* LIST (\\HasChildren) \"/\" \"Lists\""), "{}", out);
    let out = run(&mut s, &mut st, "e LIST Lists/ %\r\n");
    assert!(out.contains("\"Lists/rust\"") && out.contains("\"Lists/debian\"") && !out.contains("announce"), "{}", out);
    let out = run(&mut s, &mut st, "f LIST \"\" *announce\r\n");
    assert_eq!(lines(&out).len(), 2, "{}", out);
    let out = run(&mut s, &mut st, "g LIST \"\" inbox\r\n");
    assert!(out.contains("\"INBOX\""), "{}", out);
    // A parent known only through a child shows as \Noselect.
    st.create_folder("Only/Child").unwrap();
    let out = run(&mut s, &mut st, "h LIST \"\" Only\r\n");
    assert!(out.contains("* LIST (\\Noselect \\HasChildren) \"/\" \"Only\""), "{}", out);
    // Pathological wildcard patterns finish.
    let out = run(&mut s, &mut st, &format!("i LIST \"\" \"{}x\"\r\n", "*%".repeat(200)));
    assert!(out.contains("i OK"));
}

#[test]
fn list_extended_subscribed_and_status() {
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a SUBSCRIBE INBOX\r\nb SUBSCRIBE gone\r\n");
    assert!(out.contains("a OK") && out.contains("b NO"), "{}", out);
    st.set_subscribed("gone", true).unwrap();
    let out = run(&mut s, &mut st, "c LIST (SUBSCRIBED) \"\" * RETURN (STATUS (MESSAGES UNSEEN))\r\n");
    assert!(out.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\""), "{}", out);
    assert!(out.contains("* STATUS \"INBOX\" (MESSAGES 3 UNSEEN 3)"), "{}", out);
    assert!(out.contains("* LIST (\\NonExistent \\HasNoChildren \\Subscribed) \"/\" \"gone\""), "{}", out);
    let out = run(&mut s, &mut st, "d UNSUBSCRIBE INBOX\r\ne LSUB \"\" INBOX\r\n");
    assert!(!out.contains("* LSUB"), "{}", out);
}

#[test]
fn namespace_status_id() {
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a NAMESPACE\r\nb STATUS INBOX (MESSAGES UIDNEXT UNSEEN SIZE DELETED RECENT)\r\nc ID (\"name\" \"test\")\r\nd STATUS nope (MESSAGES)\r\n");
    assert!(out.contains("* NAMESPACE ((\"\" \"/\")) NIL NIL"));
    let size: usize = MSG1.len() + MSG2.len() + MSG3.len() + MSG3.iter().filter(|&&c| c == b'\n').count();
    // Delivered, never selected: all three still count as \Recent.
    assert!(
        out.contains(&format!("* STATUS \"INBOX\" (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 3 SIZE {} DELETED 0)", size)),
        "{}",
        out
    );
    assert!(out.contains("* ID (\"name\" \"unimail\")"));
    assert!(out.contains("d NO [NONEXISTENT]"));
}

#[test]
fn append_with_literal_continuation_and_appenduid() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let msg = "Subject: hi\r\n\r\nbody\r\n";
    let out = run(&mut s, &mut st, &format!("A003 APPEND saved-messages (\\Seen) {{{}}}\r\n", msg.len()));
    // Synchronizing literal: the continuation comes before the data.
    assert_eq!(out, "+ Ready for literal data\r\n");
    let out = run(&mut s, &mut st, &format!("{}\r\n", msg));
    assert!(out.contains("A003 NO [TRYCREATE]"), "{}", out);
    let out = run(
        &mut s,
        &mut st,
        &format!("A004 APPEND INBOX (\\Seen $Work) \"05-Jan-2024 10:00:00 +0100\" {{{}+}}\r\n{}\r\n", msg.len(), msg),
    );
    assert!(!out.contains("+ Ready"));
    let (validity, list) = st.list_messages("INBOX").unwrap();
    assert!(out.contains(&format!("A004 OK [APPENDUID {} 1] APPEND completed", validity)), "{}", out);
    assert_eq!(list[0].internal_date, 1704445200);
    assert!(list[0].flags.has(mail_imap::SystemFlag::Seen) && list[0].flags.has_keyword("$work"));
    assert_eq!(st.read_message("INBOX", 1).unwrap(), msg.as_bytes());
}

#[test]
fn append_too_big_is_refused_before_allocation() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    // 2 GB synchronizing literal: tagged NO, no continuation, session goes on.
    let out = run(&mut s, &mut st, "a APPEND INBOX {2147483648}\r\n");
    assert_eq!(out, "a NO [TOOBIG] Message too big\r\n");
    let out = run(&mut s, &mut st, "b NOOP\r\n");
    assert!(out.contains("b OK"));
    // Non-synchronizing: RFC 7888 4 tagged BAD, then BYE and close.
    let r = drive(&mut s, &mut st, b"c APPEND INBOX {2147483648+}\r\nxxxx", usize::MAX);
    assert!(r.out.contains("c BAD [TOOBIG]") && r.out.contains("* BYE") && r.closed, "{}", r.out);
}

#[test]
fn line_too_long_says_bye() {
    let mut st = MemStore::new();
    let cfg = mail_imap::Config { limits: mail_imap::Limits { max_line: 100, ..Default::default() }, ..tls_config() };
    let mut s = Session::new(cfg);
    let r = drive(&mut s, &mut st, format!("a LOGIN {}\r\n", "x".repeat(500)).as_bytes(), 7);
    assert!(r.out.contains("* BYE [TOOBIG]") && r.closed);
}

#[test]
fn fetch_basic_items() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)\r\n");
    assert!(
        out.starts_with(&format!(
            "* 1 FETCH (FLAGS (\\Recent) INTERNALDATE \"14-Nov-2023 22:13:21 +0000\" RFC822.SIZE {} UID 1)",
            MSG1.len()
        )),
        "{}",
        out
    );
    let out = run(&mut s, &mut st, "b FETCH 1 ENVELOPE\r\n");
    assert!(out.contains(
        "ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"afternoon meeting\" ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL \"<B27397-0100000@Blurdybloop.example>\")"
    ), "{}", out);
    let out = run(&mut s, &mut st, "c FETCH 1 BODY\r\n");
    assert!(out.contains("BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 55 1)"), "{}", out);
}

#[test]
fn fetch_bodystructure_multipart() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 2 BODYSTRUCTURE\r\n");
    assert!(out.contains("BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 42 0 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"report.pdf\") NIL NIL \"BASE64\" 24 NIL (\"ATTACHMENT\" (\"FILENAME\" \"report.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)"), "{}", out);
    let out = run(&mut s, &mut st, "b FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[1])\r\n");
    assert!(out.contains("BODY[1] {42}\r\nPlease find the report attached. Caf=C3=A9"), "{}", out);
    assert!(out.contains("BODY[2.MIME] {"), "{}", out);
    assert!(out.contains("BINARY[2] {18}\r\n%PDF-1.4\n%"), "{}", out);
    assert!(out.contains("BINARY.SIZE[1] 38"), "{}", out);
}

#[test]
fn fetch_sections_partial_and_header_fields() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 BODY.PEEK[HEADER.FIELDS (subject FROM)]\r\n");
    assert!(out.contains("BODY[HEADER.FIELDS (subject FROM)] {78}\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\n)"), "{}", out);
    let out = run(
        &mut s,
        &mut st,
        "b FETCH 1 BODY.PEEK[]<0.4>\r\nc FETCH 1 BODY.PEEK[TEXT]<6.3>\r\nd FETCH 1 BODY.PEEK[]<100000.10>\r\n",
    );
    assert!(out.contains("BODY[]<0> {4}\r\nDate)"), "{}", out);
    assert!(out.contains("BODY[TEXT]<6> {3}\r\nJoe)"), "{}", out);
    assert!(out.contains("BODY[]<100000> {0}\r\n)"), "{}", out);
    let out = run(
        &mut s,
        &mut st,
        "e FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Date From Subject To Message-Id MIME-Version)]\r\n",
    );
    assert!(out.contains("{46}\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n)"), "{}", out);
    // Bare-LF files are served with CRLF.
    let out = run(&mut s, &mut st, "f FETCH 3 (RFC822.SIZE BODY.PEEK[TEXT])\r\n");
    let size = MSG3.len() + MSG3.iter().filter(|&&c| c == b'\n').count();
    assert!(out.contains(&format!("RFC822.SIZE {} BODY[TEXT] {{20}}\r\nline one\r\nline two\r\n)", size)), "{}", out);
}

#[test]
fn fetch_body_sets_seen_but_peek_does_not() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 BODY.PEEK[]\r\n");
    assert!(!out.contains("\\Seen"));
    let out = run(&mut s, &mut st, "b FETCH 1 BODY[TEXT]\r\n");
    assert!(out.contains("FLAGS (\\Seen \\Recent)"), "{}", out);
    let out = run(&mut s, &mut st, "c FETCH 2 RFC822\r\nd FETCH 2 RFC822\r\n");
    assert_eq!(out.matches("FLAGS").count(), 1, "{}", out);
    let (_, l) = st.list_messages("INBOX").unwrap();
    assert!(l[0].flags.has(mail_imap::SystemFlag::Seen) && l[1].flags.has(mail_imap::SystemFlag::Seen));
    assert!(!l[2].flags.has(mail_imap::SystemFlag::Seen));
}

#[test]
fn fetch_sequence_errors_and_star() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(
        &mut s,
        &mut st,
        "a FETCH 4 FLAGS\r\nb FETCH * UID\r\nc UID FETCH 99 FLAGS\r\nd UID FETCH 3:* UID\r\ne UID FETCH 10:* UID\r\n",
    );
    assert!(out.contains("a BAD"), "{}", out);
    assert!(out.contains("* 3 FETCH (UID 3)"));
    assert!(out.contains("c OK"));
    // RFC 3501 6.4.8: 10:* includes the highest UID even if below 10.
    assert_eq!(out.matches("* 3 FETCH (UID 3)").count(), 3, "{}", out);
}

#[test]
fn store_flags_variants() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "A003 STORE 2:3 +FLAGS (\\Deleted)\r\n");
    assert!(
        out.contains("* 2 FETCH (FLAGS (\\Deleted \\Recent))")
            && out.contains("* 3 FETCH (FLAGS (\\Deleted \\Recent))"),
        "{}",
        out
    );
    let out =
        run(&mut s, &mut st, "b STORE 2 -FLAGS.SILENT (\\Deleted)\r\nc UID STORE 1 FLAGS (\\Flagged $Label1)\r\n");
    assert!(!out.contains("* 2 FETCH"), "{}", out);
    assert!(out.contains("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent $Label1))"), "{}", out);
    let (_, l) = st.list_messages("INBOX").unwrap();
    assert!(!l[1].flags.has(mail_imap::SystemFlag::Deleted));
    assert!(l[2].flags.has(mail_imap::SystemFlag::Deleted));
    assert!(l[0].flags.has_keyword("$Label1"));
}

#[test]
fn expunge_and_uid_expunge() {
    let mut st = store_with_messages();
    st.deliver("INBOX", MSG1);
    let mut s = selected(&mut st);
    run(&mut s, &mut st, "a STORE 1:4 +FLAGS.SILENT (\\Deleted)\r\n");
    let out = run(&mut s, &mut st, "b UID EXPUNGE 2:3\r\n");
    assert_eq!(lines(&out), ["* 3 EXPUNGE", "* 2 EXPUNGE", "* 2 RECENT", "b OK EXPUNGE completed"]);
    let out = run(&mut s, &mut st, "c EXPUNGE\r\n");
    assert_eq!(lines(&out), ["* 2 EXPUNGE", "* 1 EXPUNGE", "* 0 RECENT", "c OK EXPUNGE completed"]);
    assert_eq!(st.list_messages("INBOX").unwrap().1.len(), 0);
}

#[test]
fn close_expunges_silently_unselect_does_not() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    run(&mut s, &mut st, "a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    let out = run(&mut s, &mut st, "b UNSELECT\r\n");
    assert_eq!(lines(&out), ["b OK UNSELECT completed"]);
    assert_eq!(st.list_messages("INBOX").unwrap().1.len(), 3);
    run(&mut s, &mut st, "c SELECT INBOX\r\n");
    let out = run(&mut s, &mut st, "d CLOSE\r\n");
    assert_eq!(lines(&out), ["d OK CLOSE completed"]);
    assert_eq!(st.list_messages("INBOX").unwrap().1.len(), 2);
    assert!(s.selected().is_none());
}

#[test]
fn search_keys_against_messages() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    run(&mut s, &mut st, "x STORE 1 +FLAGS.SILENT (\\Seen \\Answered)\r\n");
    let q = |s: &mut Session, st: &mut MemStore, k: &str| -> String {
        let out = run(s, st, &format!("t SEARCH {}\r\n", k));
        let line = lines(&out)
            .into_iter()
            .find(|l| l.starts_with("* SEARCH"))
            .unwrap_or_else(|| panic!("{}", out))
            .to_string();
        line
    };
    assert_eq!(q(&mut s, &mut st, "ALL"), "* SEARCH 1 2 3");
    assert_eq!(q(&mut s, &mut st, "SEEN"), "* SEARCH 1");
    assert_eq!(q(&mut s, &mut st, "UNSEEN"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "ANSWERED"), "* SEARCH 1");
    assert_eq!(q(&mut s, &mut st, "FROM alice"), "* SEARCH 2");
    assert_eq!(q(&mut s, &mut st, "TO bob"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "CC dave"), "* SEARCH 2");
    assert_eq!(q(&mut s, &mut st, "SUBJECT MEETING"), "* SEARCH 1");
    assert_eq!(q(&mut s, &mut st, "BODY \"line two\""), "* SEARCH 3");
    assert_eq!(q(&mut s, &mut st, "TEXT report"), "* SEARCH 2");
    assert_eq!(q(&mut s, &mut st, "HEADER X-Spam yes"), "* SEARCH 3");
    assert_eq!(q(&mut s, &mut st, "HEADER X-Spam \"\""), "* SEARCH 3");
    assert_eq!(q(&mut s, &mut st, "OR FROM alice SUBJECT digest"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "NOT (FROM alice SEEN)"), "* SEARCH 1 2 3");
    assert_eq!(q(&mut s, &mut st, "NOT (OR FROM alice SEEN)"), "* SEARCH 3");
    assert_eq!(q(&mut s, &mut st, "SENTBEFORE 1-Jan-2000"), "* SEARCH 1");
    assert_eq!(q(&mut s, &mut st, "SENTON 2-Mar-2022"), "* SEARCH 3");
    assert_eq!(q(&mut s, &mut st, "SENTSINCE 1-Mar-2022"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "SINCE 1-Jan-2023 BEFORE 1-Jan-2030"), "* SEARCH 1 2 3");
    assert_eq!(q(&mut s, &mut st, "ON 14-Nov-2023"), "* SEARCH 1 2 3");
    assert_eq!(q(&mut s, &mut st, "LARGER 400"), "* SEARCH 2");
    assert_eq!(q(&mut s, &mut st, "SMALLER 200"), "* SEARCH 3");
    assert_eq!(q(&mut s, &mut st, "2:*"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "UID 1,3"), "* SEARCH 1 3");
    assert_eq!(q(&mut s, &mut st, "NEW"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "OLD"), "* SEARCH");
    assert_eq!(q(&mut s, &mut st, "RECENT UNANSWERED UNDELETED UNDRAFT UNFLAGGED"), "* SEARCH 2 3");
    assert_eq!(q(&mut s, &mut st, "KEYWORD $x"), "* SEARCH");
    assert_eq!(q(&mut s, &mut st, "UNKEYWORD $x DRAFT"), "* SEARCH");
    assert_eq!(q(&mut s, &mut st, "CHARSET UTF-8 FROM {5}\r\nALICE"), "* SEARCH 2");
    let out = run(&mut s, &mut st, "u SEARCH CHARSET KOI8-R ALL\r\n");
    assert!(out.contains("u NO [BADCHARSET (UTF-8 US-ASCII"), "{}", out);
    // A Latin-1 search string is converted: "Caf\xe9" finds the UTF-8 "Café".
    let r = drive(&mut s, &mut st, b"w SEARCH CHARSET ISO-8859-1 BODY {4}\r\nCaf\xe9\r\n", usize::MAX);
    assert!(r.out.contains("* SEARCH 2\r\nw OK"), "{}", r.out);
    let out = run(&mut s, &mut st, "v UID SEARCH SUBJECT report\r\n");
    assert!(out.contains("* SEARCH 2\r\n"));
}

#[test]
fn esearch_return_and_searchres() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a UID SEARCH RETURN (MIN MAX COUNT ALL) ALL\r\n");
    assert!(out.contains("* ESEARCH (TAG \"a\") UID MIN 1 MAX 3 ALL 1:3 COUNT 3"), "{}", out);
    let out = run(&mut s, &mut st, "b SEARCH RETURN (SAVE) FROM alice\r\nc FETCH $ (UID)\r\nd UID SEARCH UID $\r\n");
    assert!(!out.contains("* ESEARCH"), "{}", out);
    assert!(out.contains("* 2 FETCH (UID 2)"), "{}", out);
    assert!(out.contains("* SEARCH 2\r\n"), "{}", out);
    let out = run(&mut s, &mut st, "e SEARCH RETURN (COUNT) SUBJECT nothing\r\n");
    assert!(out.contains("* ESEARCH (TAG \"e\") COUNT 0"), "{}", out);
}

#[test]
fn copy_and_move_with_copyuid() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let (tv, _) = st.list_messages("Trash").unwrap();
    let out = run(&mut s, &mut st, "a COPY 2:3 Trash\r\n");
    assert!(out.contains(&format!("a OK [COPYUID {} 2:3 1:2] COPY completed", tv)), "{}", out);
    let out = run(&mut s, &mut st, "b UID MOVE 1,3 Archive\r\n");
    let (av, _) = st.list_messages("Archive").unwrap();
    assert_eq!(
        lines(&out),
        [
            format!("* OK [COPYUID {} 1,3 1:2] Moved", av).as_str(),
            "* 3 EXPUNGE",
            "* 1 EXPUNGE",
            "* 1 RECENT",
            "b OK MOVE completed"
        ]
    );
    let out = run(&mut s, &mut st, "c FETCH 1 UID\r\nd COPY 1 Nope\r\ne MOVE 1 Nope\r\n");
    assert!(out.contains("* 1 FETCH (UID 2)"));
    assert!(out.contains("d NO [TRYCREATE]") && out.contains("e NO [TRYCREATE]"));
    assert_eq!(st.list_messages("Archive").unwrap().1.len(), 2);
}

#[test]
fn idle_reports_new_mail_and_flag_changes() {
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a IDLE\r\n");
    assert_eq!(out, "+ idling\r\n");
    assert!(s.is_idle());
    // A delivery arrives; the kernel tells the session.
    st.deliver("INBOX", MSG1);
    s.mailbox_changed();
    let out = run(&mut s, &mut st, "");
    assert_eq!(lines(&out), ["* 4 EXISTS", "* 4 RECENT"]);
    // Another session flags message 1.
    st.set_flags("INBOX", 1, &mail_imap::Flags::new().with(mail_imap::SystemFlag::Flagged)).unwrap();
    s.mailbox_changed();
    let out = run(&mut s, &mut st, "");
    assert_eq!(lines(&out), ["* 1 FETCH (FLAGS (\\Flagged \\Recent))"]);
    let out = run(&mut s, &mut st, "DONE\r\n");
    assert_eq!(lines(&out), ["a OK IDLE terminated"]);
    let out = run(&mut s, &mut st, "b IDLE\r\nnope\r\n");
    assert!(out.contains("b BAD"));
}

#[test]
fn concurrent_sessions_see_each_others_changes() {
    let mut st = store_with_messages();
    let mut a = selected(&mut st);
    let mut b = selected(&mut st);
    run(&mut a, &mut st, "1 STORE 2 +FLAGS (\\Deleted)\r\n");
    let out = run(&mut b, &mut st, "2 NOOP\r\n");
    // Unsolicited updates carry no UID (as Dovecot).
    assert!(out.contains("* 2 FETCH (FLAGS (\\Deleted))"), "{}", out);
    run(&mut a, &mut st, "3 EXPUNGE\r\n");
    // RFC 3501 7.4.1: not during FETCH ...
    let out = run(&mut b, &mut st, "4 FETCH 1:* UID\r\n");
    assert!(!out.contains("EXPUNGE"), "{}", out);
    // The expunged message may still be reported from the snapshot
    // (RFC 3501 7.4.1 allows it); the others certainly are.
    assert!(out.contains("* 1 FETCH (UID 1)") && out.contains("* 3 FETCH (UID 3)"), "{}", out);
    // ... but on the next NOOP, with the old numbering.
    let out = run(&mut b, &mut st, "5 NOOP\r\n");
    assert_eq!(lines(&out), ["* 2 EXPUNGE", "5 OK NOOP completed"]);
    // New mail appears as EXISTS after the command that noticed it (the
    // command itself works on the snapshot the client knows, as Dovecot).
    st.deliver("INBOX", MSG3);
    // The kernel tells every session after a delivery; without that,
    // FETCH/STORE/SEARCH keep working on the snapshot (no re-listing).
    let out = run(&mut b, &mut st, "6a UID FETCH 1:* FLAGS\r\n");
    assert!(!out.contains("EXISTS"), "{}", out);
    b.mailbox_changed();
    let out = run(&mut b, &mut st, "6 UID FETCH 1:* FLAGS\r\n");
    assert!(!out.contains("UID 4") && out.contains("* 3 EXISTS\r\n* 1 RECENT\r\n6 OK"), "{}", out);
    let out = run(&mut b, &mut st, "7 UID FETCH 4 FLAGS\r\n");
    assert!(out.contains("* 3 FETCH (UID 4 FLAGS (\\Recent))"), "{}", out);
}

#[test]
fn selected_mailbox_deleted_elsewhere() {
    let mut st = store_with_messages();
    st.create_folder("Tmp").unwrap();
    let mut a = logged_in(&mut st);
    run(&mut a, &mut st, "1 SELECT Tmp\r\n");
    st.delete_folder("Tmp").unwrap();
    let r = drive(&mut a, &mut st, b"2 NOOP\r\n", usize::MAX);
    assert!(r.out.contains("* BYE") && r.closed, "{}", r.out);
}

#[test]
fn enable_imap4rev2_changes_responses() {
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a ENABLE IMAP4rev2 UTF8=ACCEPT XYZ\r\n");
    assert!(out.contains("* ENABLED IMAP4rev2 UTF8=ACCEPT\r\n"), "{}", out);
    let out = run(&mut s, &mut st, "b SELECT INBOX\r\n");
    assert!(!out.contains("RECENT") && !out.contains("UNSEEN"), "{}", out);
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" \"INBOX\""), "{}", out);
    let out = run(&mut s, &mut st, "e FETCH 1 FLAGS\r\n");
    assert!(out.contains("* 1 FETCH (FLAGS ())"), "no \\Recent in rev2: {}", out);
    let out = run(&mut s, &mut st, "c SEARCH FROM alice\r\n");
    assert!(out.contains("* ESEARCH (TAG \"c\") ALL 2"), "{}", out);
    let out = run(&mut s, &mut st, "d ENABLE IMAP4rev2\r\n");
    assert!(out.contains("* ENABLED\r\n"));
    // Mailbox names are UTF-8 in IMAP4rev2.
    let out = run(&mut s, &mut st, "e CREATE {9}\r\nEntwürfe\r\nf LIST \"\" Entw*\r\n");
    assert!(out.contains("e OK") && out.contains("{9}\r\nEntwürfe"), "{}", out);
}

#[test]
fn modified_utf7_and_utf8_accept_names() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a CREATE \"Entw&APw-rfe\"\r\nb LIST \"\" Entw*\r\n");
    assert!(st.list_folders().unwrap().contains(&"Entwürfe".to_string()));
    assert!(out.contains("\"Entw&APw-rfe\""), "{}", out);
    run(&mut s, &mut st, "c ENABLE UTF8=ACCEPT\r\n");
    let out = run(&mut s, &mut st, "d LIST \"\" Entw*\r\ne SELECT {9}\r\nEntwürfe\r\n");
    assert!(out.contains("{9}\r\nEntwürfe"), "{}", out);
    assert!(out.contains("e OK [READ-WRITE]"), "{}", out);
}

#[test]
fn condstore_modseq() {
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a SELECT INBOX (CONDSTORE)\r\n");
    assert!(out.contains("* OK [HIGHESTMODSEQ "), "{}", out);
    let ms: u64 = out.split("HIGHESTMODSEQ ").nth(1).unwrap().split(']').next().unwrap().parse().unwrap();
    let out = run(&mut s, &mut st, "b FETCH 1 (MODSEQ)\r\n");
    assert!(out.contains("* 1 FETCH (MODSEQ ("), "{}", out);
    let out = run(&mut s, &mut st, &format!("c STORE 1 (UNCHANGEDSINCE {}) +FLAGS (\\Seen)\r\n", ms));
    assert!(out.contains("c OK") && !out.contains("MODIFIED"), "{}", out);
    let out = run(&mut s, &mut st, &format!("d STORE 1 (UNCHANGEDSINCE {}) +FLAGS (\\Flagged)\r\n", ms));
    assert!(out.contains("d OK [MODIFIED 1]"), "{}", out);
    let out = run(&mut s, &mut st, &format!("e FETCH 1:* (FLAGS) (CHANGEDSINCE {})\r\n", ms));
    assert_eq!(out.matches("FETCH (").count(), 1, "{}", out);
    // RFC 7162 3.1.5: SEARCH MODSEQ answers with the highest MODSEQ of
    // the matches, in SEARCH and in ESEARCH; none when nothing matched.
    let m1: u64 = out.split("MODSEQ (").nth(1).unwrap().split(')').next().unwrap().parse().unwrap();
    let out = run(&mut s, &mut st, &format!("f SEARCH MODSEQ {}\r\n", ms + 1));
    assert!(out.contains(&format!("* SEARCH 1 (MODSEQ {})\r\n", m1)), "{}", out);
    let out = run(&mut s, &mut st, &format!("g UID SEARCH RETURN (ALL) MODSEQ {}\r\n", ms + 1));
    assert!(out.contains(&format!("* ESEARCH (TAG \"g\") UID ALL 1 MODSEQ {}\r\n", m1)), "{}", out);
    let out = run(&mut s, &mut st, &format!("h SEARCH MODSEQ {}\r\n", m1 + 1));
    assert!(out.contains("* SEARCH\r\n"), "{}", out);
}

#[test]
fn logout_from_any_state() {
    let mut st = MemStore::new();
    let mut s = Session::new(Config::default());
    let r = drive(&mut s, &mut st, b"A023 LOGOUT\r\nA024 NOOP\r\n", usize::MAX);
    assert!(r.closed);
    assert!(r.out.ends_with("* BYE Logging out\r\nA023 OK LOGOUT completed\r\n"), "{}", r.out);
}

#[test]
fn syntax_errors_are_tagged_bad_and_session_continues() {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let out = run(&mut s, &mut st, "a SELECT\r\nb FROB\r\n\r\nc NOOP\r\n");
    assert!(
        out.contains("a BAD") && out.contains("b BAD Unknown command") && out.contains("* BAD") && out.contains("c OK"),
        "{}",
        out
    );
}

#[test]
fn whole_dialogue_is_fragmentation_independent() {
    let script = b"1 CAPABILITY\r\n2 LOGIN {3}\r\nbob {6}\r\nsecret\r\n3 SELECT INBOX\r\n\
4 FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (From)])\r\n\
5 APPEND INBOX (\\Seen) {18}\r\nSubject: x\r\n\r\nbody\r\n\
6 UID SEARCH OR SUBJECT x FROM alice\r\n7 IDLE\r\nDONE\r\n8 STORE 1 +FLAGS (\\Deleted)\r\n9 EXPUNGE\r\n10 LOGOUT\r\n";
    let go = |chunk: usize| {
        let mut st = store_with_messages();
        let mut s = Session::new(Config { allow_plaintext_auth: true, ..Config::default() });
        drive(&mut s, &mut st, script, chunk)
    };
    let whole = go(usize::MAX);
    assert!(whole.closed && whole.out.contains("10 OK LOGOUT"), "{}", whole.out);
    assert!(whole.out.contains("5 OK [APPENDUID"));
    for chunk in [1, 2, 3, 10, 17] {
        assert_eq!(go(chunk).out, whole.out, "chunk {}", chunk);
    }
}

#[test]
fn binary_fetch_of_base64_part_with_nul_uses_literal8() {
    let mut st = MemStore::new();
    st.deliver("INBOX", b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n");
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 BINARY.PEEK[1]\r\n");
    assert!(out.contains("BINARY[1] ~{3}\r\n\0\x01\x02)"), "{:?}", out);
}

#[test]
fn preauth_session() {
    let mut st = MemStore::new();
    let mut s = Session::new_preauth(Config::default(), "bob");
    let out = run(&mut s, &mut st, "a SELECT INBOX\r\n");
    assert!(out.starts_with("* PREAUTH [CAPABILITY"));
    assert!(out.contains("a OK [READ-WRITE]"));
}

#[test]
fn two_sessions_do_not_undo_each_others_flag_changes() {
    // imaptest `store`: +FLAGS in one session, -FLAGS of another flag in a
    // session whose snapshot predates it: both changes stay.
    let mut st = store_with_messages();
    let mut a = selected(&mut st);
    let mut b = selected(&mut st);
    run(&mut a, &mut st, "1 STORE 1 FLAGS (\\Seen)\r\n");
    b.mailbox_changed();
    run(&mut b, &mut st, "2 NOOP\r\n");
    run(&mut a, &mut st, "3 STORE 1 +FLAGS (\\Answered)\r\n");
    b.mailbox_changed(); // as the kernel does after a's write
    let out = run(&mut b, &mut st, "4 STORE 1 -FLAGS (\\Seen)\r\n");
    assert!(out.contains("* 1 FETCH (FLAGS (\\Answered))\r\n4 OK"), "{}", out);
    a.mailbox_changed();
    let out = run(&mut a, &mut st, "5 FETCH 1 FLAGS\r\n");
    assert!(out.contains("* 1 FETCH (FLAGS (\\Answered \\Recent))"), "{}", out);
}

#[test]
fn fetch_modseq_enables_condstore_with_highestmodseq() {
    // RFC 7162 3.1 (imaptest `esearch-condstore`): the first CONDSTORE-
    // enabling command on a selected mailbox reports HIGHESTMODSEQ; STORE
    // responses then carry MODSEQ.
    let mut st = store_with_messages();
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1 (MODSEQ)\r\n");
    assert!(out.starts_with("* OK [HIGHESTMODSEQ ") && out.contains("* 1 FETCH (MODSEQ ("), "{}", out);
    let out = run(&mut s, &mut st, "b STORE 1 +FLAGS (\\Seen)\r\n");
    assert!(out.contains("* 1 FETCH (FLAGS (\\Seen \\Recent) MODSEQ ("), "{}", out);
    let out = run(&mut s, &mut st, "c FETCH 1 (MODSEQ)\r\n");
    assert!(!out.contains("HIGHESTMODSEQ"), "{}", out);
}

#[test]
fn esearch_modseq_is_of_the_messages_returned() {
    // RFC 7162 3.1.5 (imaptest `esearch-condstore`): with only MIN and/or
    // MAX, MODSEQ is the highest of those messages, else of all matches.
    let mut st = store_with_messages();
    let mut s = logged_in(&mut st);
    run(&mut s, &mut st, "a SELECT INBOX (CONDSTORE)\r\n");
    let mut ms = [0u64; 4];
    for q in [1, 3, 2] {
        let out = run(&mut s, &mut st, &format!("s STORE {} +FLAGS (\\Seen)\r\n", q));
        ms[q] = out.split("MODSEQ (").nth(1).unwrap().split(')').next().unwrap().parse().unwrap();
    }
    assert!(ms[1] < ms[3] && ms[3] < ms[2]);
    for (ret, want, m) in
        [("MIN", "MIN 1", ms[1]), ("MAX", "MAX 3", ms[3]), ("MIN MAX", "MIN 1 MAX 3", ms[3]), ("ALL", "ALL 1:3", ms[2])]
    {
        let out = run(&mut s, &mut st, &format!("e SEARCH RETURN ({}) MODSEQ 1\r\n", ret));
        assert!(out.contains(&format!("* ESEARCH (TAG \"e\") {} MODSEQ {}\r\n", want, m)), "{}", out);
    }
}
