//! Cases from Dovecot's imaptest compliance scripts (`listext`,
//! `subscribe`, `append-binary`, `fetch-envelope`, `search-addresses`),
//! each checked against the RFC text it exercises.

mod common;
use common::*;
use mail_imap::MemStore;

fn listext_store() -> (mail_imap::Session, MemStore) {
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    let mut cmds = String::new();
    for (i, n) in
        ["t/", "t/test1", "t/test2/", "t/test2/test1", "t/test3", "t/test4/test5", "t/test4/test52", "t/test6"]
            .iter()
            .chain(["t/test7/test7", "t/test8/test8", "t/test8/test9"].iter())
            .enumerate()
    {
        cmds.push_str(&format!("c{i} CREATE {n}\r\n"));
    }
    for (i, n) in
        ["t/test1", "t/test2/test1", "t/test6", "t/test7/test7", "t/test8/test8", "t/test8/test9"].iter().enumerate()
    {
        cmds.push_str(&format!("s{i} SUBSCRIBE {n}\r\n"));
    }
    cmds.push_str("d DELETE t/test6\r\n");
    let out = run(&mut s, &mut st, &cmds);
    assert!(!out.contains(" NO ") && !out.contains(" BAD "), "{}", out);
    (s, st)
}

#[test]
fn list_subscribed_shows_deleted_subscribed_folder_as_nonexistent() {
    // RFC 5258 3.1 / 5.x: a subscribed name that no longer exists is
    // returned with \Subscribed and \NonExistent (which implies \Noselect,
    // so \Noselect itself is not sent).
    let (mut s, mut st) = listext_store();
    let out = run(&mut s, &mut st, "a LIST (SUBSCRIBED) \"\" t/*\r\n");
    let l = out.lines().find(|l| l.ends_with("\"t/test6\"")).unwrap_or_else(|| panic!("{}", out));
    assert!(l.contains("\\NonExistent") && l.contains("\\Subscribed") && !l.contains("\\Noselect"), "{}", out);
}

#[test]
fn recursivematch_childinfo_only_for_children_the_patterns_miss() {
    // RFC 5258 3 (RECURSIVEMATCH) and 4: CHILDINFO is returned for a
    // parent whose matching descendants are not themselves listed.
    let (mut s, mut st) = listext_store();
    let out = run(&mut s, &mut st, "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2 t/test2/test1)\r\n");
    assert!(!out.contains("\"t/test2\" (\"CHILDINFO\""), "{}", out);
    assert!(out.contains("\"t/test2/test1\""), "{}", out);
    let out = run(&mut s, &mut st, "b LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2)\r\n");
    assert!(out.contains("\"t/test2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"), "{}", out);
    let out = run(&mut s, &mut st, "c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t*test8\r\n");
    assert!(out.contains("\"t/test8\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"), "{}", out);
    assert!(out.contains("\"t/test8/test8\"") && !out.contains("test9"), "{}", out);
    let out = run(&mut s, &mut st, "d LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t*test7\r\n");
    assert!(!out.contains("\"t/test7\""), "{}", out);
    assert!(out.contains("\"t/test7/test7\""), "{}", out);
}

#[test]
fn lsub_percent_shows_noselect_parent_of_subscribed_child() {
    // RFC 3501 6.3.9: "if "foo/bar" is subscribed but "foo" is not, a "%"
    // wildcard to LSUB must return foo, not foo/bar", flagged \Noselect.
    let mut st = MemStore::new();
    let mut s = logged_in(&mut st);
    run(
        &mut s,
        &mut st,
        "a CREATE m/test\r\nb CREATE m/test2/test\r\nc CREATE m/test3/test3\r\n\
         d SUBSCRIBE m/test\r\ne SUBSCRIBE m/test2/test\r\nf SUBSCRIBE m/test3/test3\r\n",
    );
    let out = run(&mut s, &mut st, "g LSUB \"\" m/%\r\n");
    assert!(out.contains("* LSUB () \"/\" \"m/test\"\r\n"), "{}", out);
    assert!(out.contains("* LSUB (\\Noselect) \"/\" \"m/test2\"\r\n"), "{}", out);
    assert!(out.contains("* LSUB (\\Noselect) \"/\" \"m/test3\"\r\n"), "{}", out);
    assert!(!out.contains("m/test2/test\"") && !out.contains("m/test3/test3\""), "{}", out);
    let out = run(&mut s, &mut st, "h LSUB \"\" *test\r\n");
    assert!(out.contains("\"m/test\"\r\n") && out.contains("\"m/test2/test\"\r\n"), "{}", out);
    assert!(!out.contains("m/test3"), "{}", out);
}

#[test]
fn envelope_keeps_the_obsolete_source_route_as_adl() {
    // RFC 3501 7.4.2: addr-adl is the at-domain-list (source route);
    // RFC 5322 4.4 obs-angle-addr "<@route:user@domain>".
    let mut st = MemStore::new();
    st.deliver("INBOX", b"Date: Thu, 15 Feb 2007 01:02:03 +0200\r\nFrom: <@route:user@domain>\r\n\r\nbody\r\n");
    st.deliver("INBOX", b"From: Joe <@a.test,@b.test:joe@c.test>\r\n\r\nbody\r\n");
    let mut s = selected(&mut st);
    let out = run(&mut s, &mut st, "a FETCH 1:2 ENVELOPE\r\n");
    let r = "((NIL \"@route\" \"user\" \"domain\"))";
    assert!(out.contains(&format!("NIL {r} {r} {r} NIL NIL NIL NIL NIL)")), "{}", out);
    assert!(out.contains("((\"Joe\" \"@a.test,@b.test\" \"joe\" \"c.test\"))"), "{}", out);
}

#[test]
fn address_search_ignores_comments_inside_the_address() {
    // RFC 3501 6.4.4 FROM/TO/CC/BCC look at the addresses; RFC 5322 3.4.1
    // allows CFWS around "@", so "<user-from (comment)@ (comment)
    // domain.org>" is user-from@domain.org (imaptest search-addresses).
    let mut st = MemStore::new();
    st.deliver("INBOX", b"From: user-from@domain.org\r\n\r\nbody\r\n");
    st.deliver(
        "INBOX",
        b"From: <user-from (comment)@ (comment) domain.org>\r\nTo: <user-to@domain.org>\r\n\r\nbody3\r\n",
    );
    st.deliver("INBOX", b"From: user-from@domain.org (RealFrom)\r\n\r\nbody4\r\n");
    st.deliver("INBOX", b"From: other@domain.org\r\n\r\nbody5\r\n");
    let mut s = selected(&mut st);
    let out = run(
        &mut s,
        &mut st,
        "a SEARCH FROM user-from@domain.org\r\nb SEARCH FROM realfrom\r\nc SEARCH TO user-to@domain.org\r\nd SEARCH FROM comment\r\n",
    );
    assert!(out.contains("* SEARCH 1 2 3\r\na OK"), "{}", out);
    assert!(out.contains("* SEARCH 3\r\nb OK"), "{}", out);
    assert!(out.contains("* SEARCH 2\r\nc OK"), "{}", out);
    // The raw field text still matches as written.
    assert!(out.contains("* SEARCH 2\r\nd OK"), "{}", out);
}

#[test]
fn append_literal8_binary_part_is_stored_as_base64() {
    // RFC 3516 4.4 (APPEND with literal8) and RFC 9051 6.4.5: BINARY[1]
    // returns the octets as appended, while BODY[1] (a plain literal that
    // must not hold NUL) shows them base64-encoded, as Dovecot stores them.
    let body: &[u8] = b"\0-\xe4\n\r\n\n";
    let mut msg = b"From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: binary\r\n\r\n"
        .to_vec();
    msg.extend_from_slice(body);
    let mut input = format!("a APPEND INBOX ~{{{}+}}\r\n", msg.len()).into_bytes();
    input.extend_from_slice(&msg);
    input.extend_from_slice(b"\r\nb SELECT INBOX\r\nc FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME])\r\n");
    input.extend_from_slice(b"d FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n");
    for chunk in [usize::MAX, 1] {
        let mut st2 = MemStore::new();
        let mut s2 = logged_in(&mut st2);
        let r = drive(&mut s2, &mut st2, &input, chunk);
        assert!(r.out.contains("a OK"), "{}", r.out);
        let c = r.out.split("c OK").next().unwrap();
        assert!(c.contains("BODY[1] {14}\r\nAC3kCg0KCg==\r\n"), "{}", r.out);
        assert!(c.contains("Content-Transfer-Encoding: base64\r\n"), "{}", r.out);
        let mut want = b"* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] ~{7}\r\n".to_vec();
        want.extend_from_slice(body);
        assert!(r.bytes.windows(want.len()).any(|w| w == want), "{}", r.out);
        let before_d = r.bytes.windows(4).position(|w| w == b"c OK").unwrap();
        assert!(!r.bytes[..before_d].contains(&0), "NUL outside literal8: {}", r.out);
    }
}

#[test]
fn append_without_nul_is_stored_verbatim() {
    // Only a message that holds NUL octets is rewritten.
    let msg = b"Content-Transfer-Encoding: binary\r\n\r\n\xe4\xf6\r\n";
    assert!(mail_imap::mime::binary_to_base64(msg).is_none());
    let multi = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n\r\n\0x\r\n--b--\r\n";
    let out = mail_imap::mime::binary_to_base64(multi).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAHg=\r\n\r\n--b--\r\n"
    );
}
