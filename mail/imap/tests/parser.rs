//! Parser tests: every grammar corner of RFC 3501 / RFC 9051 commands,
//! and framing equivalence for any fragmentation of the input.

use mail_imap::command::*;
use mail_imap::framer::{Frame, Framer, Limits};
use mail_imap::parse_command;
use mail_imap::types::{SeqRange, SeqSet, STAR};

fn p(s: &str) -> CommandBody {
    match parse_command(s.as_bytes()) {
        Ok(c) => c.body,
        Err(e) => panic!("{:?} for {:?}", e, s),
    }
}
fn err(s: &str) -> (String, &'static str) {
    let e = parse_command(s.as_bytes()).expect_err(s);
    (e.tag, e.msg)
}
fn r(lo: u32, hi: u32) -> SeqRange {
    SeqRange { lo, hi }
}

#[test]
fn tags_and_case() {
    let c = parse_command(b"a.1_x noop\r\n").unwrap();
    assert_eq!(c.tag, "a.1_x");
    assert_eq!(c.body, CommandBody::Noop);
    assert_eq!(p("A CaPaBiLiTy\r\n"), CommandBody::Capability);
    // '+' is not allowed in a tag; neither is '*' or '('.
    assert_eq!(err("a+ NOOP\r\n").0, "*");
    assert_eq!(err("* NOOP\r\n").0, "*");
    assert_eq!(err("\r\n").0, "*");
    // ']' is an ASTRING-CHAR and allowed in tags.
    assert_eq!(parse_command(b"a] NOOP\r\n").unwrap().tag, "a]");
}

#[test]
fn unknown_and_trailing_garbage() {
    assert_eq!(err("t1 FROB\r\n"), ("t1".into(), "Unknown command"));
    assert_eq!(err("t2 NOOP extra\r\n").1, "Unexpected extra arguments");
    assert_eq!(err("t3 LOGIN onlyuser\r\n").0, "t3");
}

#[test]
fn login_atoms_quoted_literals() {
    assert_eq!(p("a LOGIN bob secret\r\n"), CommandBody::Login { user: b"bob".to_vec(), password: b"secret".to_vec() });
    assert_eq!(
        p("a LOGIN \"b\\\"o\\\\b\" \"p w\"\r\n"),
        CommandBody::Login { user: b"b\"o\\b".to_vec(), password: b"p w".to_vec() }
    );
    assert_eq!(
        p("a LOGIN {3}\r\nbob {6+}\r\nsec\r\nt\r\n"),
        CommandBody::Login { user: b"bob".to_vec(), password: b"sec\r\nt".to_vec() }
    );
    // Bad escape and unterminated strings.
    assert!(parse_command(b"a LOGIN \"b\\o\" x\r\n").is_err());
    assert!(parse_command(b"a LOGIN \"bob x\r\n").is_err());
    // Empty quoted string is a valid astring.
    assert_eq!(p("a LOGIN \"\" \"\"\r\n"), CommandBody::Login { user: vec![], password: vec![] });
    // A zero-length literal.
    assert_eq!(p("a LOGIN {0}\r\n {0}\r\n\r\n"), CommandBody::Login { user: vec![], password: vec![] });
}

#[test]
fn authenticate_with_and_without_ir() {
    assert_eq!(p("a AUTHENTICATE plain\r\n"), CommandBody::Authenticate { mechanism: "PLAIN".into(), initial: None });
    assert_eq!(
        p("a AUTHENTICATE PLAIN AGJvYgBz\r\n"),
        CommandBody::Authenticate { mechanism: "PLAIN".into(), initial: Some(b"AGJvYgBz".to_vec()) }
    );
    assert_eq!(
        p("a AUTHENTICATE PLAIN =\r\n"),
        CommandBody::Authenticate { mechanism: "PLAIN".into(), initial: Some(b"=".to_vec()) }
    );
}

#[test]
fn sequence_sets() {
    let f = |s: &str| match p(&format!("a FETCH {} FLAGS\r\n", s)) {
        CommandBody::Fetch { set, .. } => set,
        _ => unreachable!(),
    };
    assert_eq!(f("1"), SeqSet::Ranges(vec![r(1, 1)]));
    assert_eq!(f("1:*"), SeqSet::Ranges(vec![r(1, STAR)]));
    assert_eq!(f("*"), SeqSet::Ranges(vec![r(STAR, STAR)]));
    assert_eq!(f("2,4:7,9,12:*"), SeqSet::Ranges(vec![r(2, 2), r(4, 7), r(9, 9), r(12, STAR)]));
    assert_eq!(f("*:4"), SeqSet::Ranges(vec![r(STAR, 4)]));
    assert_eq!(f("$"), SeqSet::Saved);
    assert!(parse_command(b"a FETCH 0 FLAGS\r\n").is_err());
    assert!(parse_command(b"a FETCH 1, FLAGS\r\n").is_err());
    assert!(parse_command(b"a FETCH 1:0 FLAGS\r\n").is_err());
    assert!(parse_command(b"a FETCH 99999999999 FLAGS\r\n").is_err());
}

#[test]
fn fetch_macros_and_attributes() {
    use FetchAttr::*;
    let items = |s: &str| match p(&format!("a FETCH 1 {}\r\n", s)) {
        CommandBody::Fetch { items, .. } => items,
        _ => unreachable!(),
    };
    assert_eq!(items("ALL"), vec![Flags, InternalDate, Rfc822Size, Envelope]);
    assert_eq!(items("fast"), vec![Flags, InternalDate, Rfc822Size]);
    assert_eq!(items("FULL"), vec![Flags, InternalDate, Rfc822Size, Envelope, Body]);
    assert_eq!(
        items("(UID RFC822.SIZE FLAGS BODYSTRUCTURE ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT BODY)"),
        vec![Uid, Rfc822Size, Flags, BodyStructure, Envelope, InternalDate, Rfc822, Rfc822Header, Rfc822Text, Body]
    );
    assert!(parse_command(b"a FETCH 1 (ALL)\r\n").is_err());
    assert!(parse_command(b"a FETCH 1 (FLAGS\r\n").is_err());
    assert!(parse_command(b"a FETCH 1 BOGUS\r\n").is_err());
}

#[test]
fn body_sections_and_partials() {
    let one = |s: &str| match p(&format!("a FETCH 1 {}\r\n", s)) {
        CommandBody::Fetch { mut items, .. } => items.remove(0),
        _ => unreachable!(),
    };
    assert_eq!(one("BODY[]"), FetchAttr::Section { peek: false, section: Section::default(), partial: None });
    assert_eq!(
        one("BODY.PEEK[]<0.100>"),
        FetchAttr::Section { peek: true, section: Section::default(), partial: Some((0, 100)) }
    );
    assert_eq!(
        one("BODY[1.2.3]"),
        FetchAttr::Section { peek: false, section: Section { part: vec![1, 2, 3], text: None }, partial: None }
    );
    assert_eq!(
        one("body[header.fields (From To \"Message-ID\")]"),
        FetchAttr::Section {
            peek: false,
            section: Section {
                part: vec![],
                text: Some(SectionText::HeaderFields(vec!["From".into(), "To".into(), "Message-ID".into()]))
            },
            partial: None
        }
    );
    assert_eq!(
        one("BODY.PEEK[HEADER.FIELDS.NOT (Received)]"),
        FetchAttr::Section {
            peek: true,
            section: Section { part: vec![], text: Some(SectionText::HeaderFieldsNot(vec!["Received".into()])) },
            partial: None
        }
    );
    assert_eq!(
        one("BODY[2.MIME]"),
        FetchAttr::Section {
            peek: false,
            section: Section { part: vec![2], text: Some(SectionText::Mime) },
            partial: None
        }
    );
    assert_eq!(
        one("BODY[4.2.TEXT]<10.5>"),
        FetchAttr::Section {
            peek: false,
            section: Section { part: vec![4, 2], text: Some(SectionText::Text) },
            partial: Some((10, 5))
        }
    );
    assert_eq!(
        one("BODY[HEADER]"),
        FetchAttr::Section {
            peek: false,
            section: Section { part: vec![], text: Some(SectionText::Header) },
            partial: None
        }
    );
    // MIME needs a part number; part numbers are non-zero; partial length non-zero.
    for bad in [
        "BODY[MIME]",
        "BODY[0]",
        "BODY[1.]",
        "BODY[]<0.0>",
        "BODY[]<5>",
        "BODY[HEADER.FIELDS ()]",
        "BODY[1TEXT]",
        "BODY[XYZ]",
    ] {
        assert!(parse_command(format!("a FETCH 1 {}\r\n", bad).as_bytes()).is_err(), "{}", bad);
    }
}

#[test]
fn binary_items() {
    let one = |s: &str| match p(&format!("a FETCH 1 {}\r\n", s)) {
        CommandBody::Fetch { mut items, .. } => items.remove(0),
        _ => unreachable!(),
    };
    assert_eq!(one("BINARY[1]"), FetchAttr::Binary { peek: false, part: vec![1], partial: None });
    assert_eq!(
        one("BINARY.PEEK[1.2]<0.10>"),
        FetchAttr::Binary { peek: true, part: vec![1, 2], partial: Some((0, 10)) }
    );
    assert_eq!(one("BINARY.SIZE[2]"), FetchAttr::BinarySize(vec![2]));
}

#[test]
fn uid_commands_and_changedsince() {
    match p("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n") {
        CommandBody::Fetch { uid: true, changed_since: Some(12345), .. } => {}
        o => panic!("{:?}", o),
    }
    assert!(matches!(p("a uid copy 1:3 Trash\r\n"), CommandBody::Copy { uid: true, .. }));
    assert!(matches!(p("a UID MOVE 4 \"Junk\"\r\n"), CommandBody::Move { uid: true, .. }));
    assert!(matches!(p("a UID EXPUNGE 3:5\r\n"), CommandBody::Expunge { uids: Some(_) }));
    assert!(matches!(p("a UID SEARCH ALL\r\n"), CommandBody::Search(SearchCommand { uid: true, .. })));
    assert!(parse_command(b"a UID NOOP\r\n").is_err());
    assert!(parse_command(b"a UID EXPUNGE\r\n").is_err());
}

#[test]
fn store_variants() {
    let st = |s: &str| match p(s) {
        CommandBody::Store(s) => s,
        _ => unreachable!(),
    };
    let s = st("a STORE 2:4 +FLAGS (\\Deleted)\r\n");
    assert_eq!((s.mode, s.silent, s.flags.clone()), (StoreMode::Add, false, vec!["\\Deleted".to_string()]));
    let s = st("a STORE 1 -FLAGS.SILENT \\Seen $Junk\r\n");
    assert_eq!((s.mode, s.silent, s.flags.clone()), (StoreMode::Remove, true, vec!["\\Seen".into(), "$Junk".into()]));
    let s = st("a UID STORE 1 FLAGS ()\r\n");
    assert_eq!((s.uid, s.mode, s.flags.len()), (true, StoreMode::Replace, 0));
    let s = st("a STORE 1 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Flagged)\r\n");
    assert_eq!(s.unchanged_since, Some(7));
    assert!(parse_command(b"a STORE 1 +FLAG (\\Seen)\r\n").is_err());
    assert!(parse_command(b"a STORE 1 +FLAGS (\\*)\r\n").is_err());
}

#[test]
fn search_all_rfc3501_keys() {
    let k = |s: &str| match p(&format!("a SEARCH {}\r\n", s)) {
        CommandBody::Search(s) => s.key,
        _ => unreachable!(),
    };
    use SearchKey::*;
    let d1 = 0; // 1-Jan-1970
    let cases: Vec<(&str, SearchKey)> = vec![
        ("ALL", All),
        ("ANSWERED", Answered),
        ("BCC x", Bcc(b"x".to_vec())),
        ("BEFORE 1-Jan-1970", Before(d1)),
        ("BODY \"hello world\"", Body(b"hello world".to_vec())),
        ("CC {3}\r\nabc", Cc(b"abc".to_vec())),
        ("DELETED", Deleted),
        ("DRAFT", Draft),
        ("FLAGGED", Flagged),
        ("FROM smith", From(b"smith".to_vec())),
        ("HEADER X-Spam yes", Header("X-Spam".into(), b"yes".to_vec())),
        ("HEADER Message-ID \"\"", Header("Message-ID".into(), vec![])),
        ("KEYWORD $Junk", Keyword("$Junk".into())),
        ("LARGER 1000", Larger(1000)),
        ("NEW", New),
        ("NOT SEEN", Not(Box::new(Seen))),
        ("OLD", Old),
        ("ON \"02-Jan-1970\"", On(1)),
        ("OR SEEN FLAGGED", Or(Box::new(Seen), Box::new(Flagged))),
        ("RECENT", Recent),
        ("SEEN", Seen),
        ("SENTBEFORE 1-Feb-1970", SentBefore(31)),
        ("SENTON 1-Jan-1970", SentOn(0)),
        ("SENTSINCE 1-Jan-1970", SentSince(0)),
        ("SINCE 1-Jan-1970", Since(0)),
        ("SMALLER 10", Smaller(10)),
        ("SUBJECT hi", Subject(b"hi".to_vec())),
        ("TEXT hi", Text(b"hi".to_vec())),
        ("TO bob", To(b"bob".to_vec())),
        ("UID 1:*", Uid(mail_imap::SeqSet::Ranges(vec![r(1, STAR)]))),
        ("UNANSWERED", Unanswered),
        ("UNDELETED", Undeleted),
        ("UNDRAFT", Undraft),
        ("UNFLAGGED", Unflagged),
        ("UNKEYWORD foo", Unkeyword("foo".into())),
        ("UNSEEN", Unseen),
        ("2:4", SeqSet(mail_imap::SeqSet::Ranges(vec![r(2, 4)]))),
        ("$", SeqSet(mail_imap::SeqSet::Saved)),
        ("MODSEQ 5", ModSeq(5)),
    ];
    for (src, want) in cases {
        assert_eq!(k(src), want, "{}", src);
    }
}

#[test]
fn search_nesting_charset_and_return() {
    use SearchKey::*;
    match p("a SEARCH CHARSET UTF-8 (OR FROM a (TO b SUBJECT c)) NOT (DELETED) SINCE 1-Jan-1970\r\n") {
        CommandBody::Search(s) => {
            assert_eq!(s.charset.as_deref(), Some("UTF-8"));
            assert_eq!(
                s.key,
                And(vec![
                    Or(Box::new(From(b"a".to_vec())), Box::new(And(vec![To(b"b".to_vec()), Subject(b"c".to_vec())]))),
                    Not(Box::new(Deleted)),
                    Since(0)
                ])
            );
        }
        o => panic!("{:?}", o),
    }
    match p("a SEARCH RETURN (MIN COUNT) UNSEEN\r\n") {
        CommandBody::Search(s) => {
            let r = s.ret.unwrap();
            assert!(r.min && r.count && !r.all && !r.max);
        }
        o => panic!("{:?}", o),
    }
    match p("a SEARCH RETURN () ALL\r\n") {
        CommandBody::Search(s) => assert!(s.ret.unwrap().all),
        o => panic!("{:?}", o),
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("a SEARCH {}ALL\r\n", "NOT ".repeat(5000));
    assert!(parse_command(deep.as_bytes()).is_err());
    let parens = format!("a SEARCH {}ALL{}\r\n", "(".repeat(100), ")".repeat(100));
    assert!(parse_command(parens.as_bytes()).is_err());
    for bad in [
        "a SEARCH\r\n",
        "a SEARCH BEFORE 32-Jan-2000\r\n",
        "a SEARCH OR SEEN\r\n",
        "a SEARCH FOO\r\n",
        "a SEARCH (SEEN\r\n",
        "a SEARCH LARGER x\r\n",
    ] {
        assert!(parse_command(bad.as_bytes()).is_err(), "{}", bad);
    }
}

#[test]
fn list_variants() {
    match p("a LIST \"\" *\r\n") {
        CommandBody::List(l) => assert_eq!((l.reference, l.patterns, l.extended), (vec![], vec![b"*".to_vec()], false)),
        o => panic!("{:?}", o),
    }
    match p("a LIST \"\" %/foo%\r\n") {
        CommandBody::List(l) => assert_eq!(l.patterns, vec![b"%/foo%".to_vec()]),
        o => panic!("{:?}", o),
    }
    match p("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent*\") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n") {
        CommandBody::List(l) => {
            assert!(l.extended && l.select_subscribed && l.recursive_match && l.return_children && l.return_special_use);
            assert_eq!(l.patterns.len(), 2);
            assert_eq!(l.return_status, Some(vec![StatusItem::Messages, StatusItem::Unseen]));
        }
        o => panic!("{:?}", o),
    }
    assert!(matches!(p("a LSUB \"\" \"*\"\r\n"), CommandBody::Lsub { .. }));
    assert!(parse_command(b"a LIST \"\"\r\n").is_err());
}

#[test]
fn mailbox_commands() {
    assert_eq!(
        p("a SELECT inbox\r\n"),
        CommandBody::Select { mailbox: b"inbox".to_vec(), read_only: false, condstore: false }
    );
    assert_eq!(
        p("a EXAMINE \"a b\" (CONDSTORE)\r\n"),
        CommandBody::Select { mailbox: b"a b".to_vec(), read_only: true, condstore: true }
    );
    assert_eq!(p("a CREATE \"Foo/Bar\"\r\n"), CommandBody::Create(b"Foo/Bar".to_vec()));
    assert_eq!(p("a CREATE Foo (USE (\\Sent))\r\n"), CommandBody::Create(b"Foo".to_vec()));
    assert_eq!(p("a DELETE Foo\r\n"), CommandBody::Delete(b"Foo".to_vec()));
    assert_eq!(p("a RENAME a b\r\n"), CommandBody::Rename { from: b"a".to_vec(), to: b"b".to_vec() });
    assert_eq!(p("a SUBSCRIBE x\r\n"), CommandBody::Subscribe(b"x".to_vec()));
    assert_eq!(p("a UNSUBSCRIBE x\r\n"), CommandBody::Unsubscribe(b"x".to_vec()));
    assert_eq!(
        p("a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE DELETED)\r\n"),
        CommandBody::Status {
            mailbox: b"INBOX".to_vec(),
            items: vec![
                StatusItem::Messages,
                StatusItem::Recent,
                StatusItem::UidNext,
                StatusItem::UidValidity,
                StatusItem::Unseen,
                StatusItem::Size,
                StatusItem::Deleted
            ]
        }
    );
    assert!(parse_command(b"a STATUS INBOX ()\r\n").is_err());
    assert!(parse_command(b"a SELECT\r\n").is_err());
    for s in ["NAMESPACE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "IDLE", "STARTTLS", "LOGOUT"] {
        assert!(parse_command(format!("t {}\r\n", s).as_bytes()).is_ok(), "{}", s);
    }
}

#[test]
fn append_forms() {
    assert_eq!(
        p("a APPEND saved-messages (\\Seen) {5}\r\nhello\r\n"),
        CommandBody::Append {
            mailbox: b"saved-messages".to_vec(),
            flags: vec!["\\Seen".into()],
            date: None,
            message: b"hello".to_vec()
        }
    );
    match p("a APPEND INBOX \" 7-Feb-1994 21:52:25 -0800\" {2+}\r\nhi\r\n") {
        CommandBody::Append { date: Some(d), flags, .. } => {
            assert_eq!(d, 760686745);
            assert!(flags.is_empty());
        }
        o => panic!("{:?}", o),
    }
    match p("a APPEND INBOX () \"07-Feb-1994 21:52:25 +0000\" ~{3}\r\na\0b\r\n") {
        CommandBody::Append { message, .. } => assert_eq!(message, b"a\0b"),
        o => panic!("{:?}", o),
    }
    match p("a APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n") {
        CommandBody::Append { message, .. } => assert_eq!(message, b"abc"),
        o => panic!("{:?}", o),
    }
    assert!(parse_command(b"a APPEND INBOX UTF8 (~{3+}\r\nabc\r\n").is_err());
    assert!(parse_command(b"a APPEND INBOX \"bad date\" {1}\r\nx\r\n").is_err());
    assert!(parse_command(b"a APPEND INBOX hello\r\n").is_err());
}

#[test]
fn enable_and_id() {
    assert_eq!(
        p("a ENABLE IMAP4rev2 utf8=accept\r\n"),
        CommandBody::Enable(vec!["IMAP4REV2".into(), "UTF8=ACCEPT".into()])
    );
    assert_eq!(p("a ID NIL\r\n"), CommandBody::Id(None));
    assert_eq!(
        p("a ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n"),
        CommandBody::Id(Some(vec![("name".into(), Some("Thunderbird".into())), ("version".into(), None)]))
    );
    assert!(parse_command(b"a ENABLE\r\n").is_err());
}

// ---- framing ----------------------------------------------------------

fn frames(input: &[u8], chunk: usize, limits: Limits) -> Vec<Frame> {
    let mut f = Framer::new(limits);
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        let mut p = piece;
        while !p.is_empty() {
            let (n, fr) = f.push(p);
            p = &p[n..];
            out.extend(fr);
        }
    }
    out
}

#[test]
fn byte_at_a_time_equivalence_over_a_session_script() {
    let script: &[u8] = b"1 CAPABILITY\r\n2 LOGIN {3}\r\nbob {6+}\r\nsecret\r\n3 SELECT \"INBOX\"\r\n\
4 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)])\r\n\
5 APPEND INBOX (\\Seen) {12}\r\nSubject: x\r\n\r\n6 SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\xc3\xa9t\xc3\r\n7 LOGOUT\n";
    let whole = frames(script, script.len(), Limits::default());
    assert_eq!(whole.iter().filter(|f| matches!(f, Frame::Command(_))).count(), 7);
    for chunk in [1, 2, 3, 5, 7, 13, 64] {
        assert_eq!(frames(script, chunk, Limits::default()), whole, "chunk {}", chunk);
    }
    // Every framed command parses (the SEARCH literal is raw bytes).
    for f in &whole {
        if let Frame::Command(c) = f {
            parse_command(c).unwrap_or_else(|e| panic!("{:?} {:?}", e, String::from_utf8_lossy(c)));
        }
    }
}

#[test]
fn literal_limits_per_command_kind() {
    let lim = Limits { max_literal: 10, max_append: 100, max_command: 1000, max_line: 200 };
    assert_eq!(
        frames(b"a LOGIN {11}\r\n", 1, lim),
        vec![Frame::LiteralTooBig { tag: "a".into(), non_sync: false, append: false }]
    );
    assert_eq!(frames(b"a APPEND INBOX {50}\r\n", 1, lim), vec![Frame::Continue]);
    assert_eq!(
        frames(b"b APPEND INBOX {101+}\r\n", 1, lim),
        vec![Frame::LiteralTooBig { tag: "b".into(), non_sync: true, append: true }]
    );
    // A 2 GB announcement is refused from the header alone.
    assert_eq!(
        frames(b"c APPEND INBOX (\\Seen) {2147483648}\r\n", 3, Limits::default()),
        vec![Frame::LiteralTooBig { tag: "c".into(), non_sync: false, append: true }]
    );
}

#[test]
fn many_small_literals_hit_the_command_limit() {
    let lim = Limits { max_literal: 10, max_append: 100, max_command: 35, max_line: 200 };
    let input = b"a LOGIN {10}\r\n0123456789 {10}\r\n0123456789\r\n";
    let fr = frames(input, 1, lim);
    assert_eq!(fr[0], Frame::Continue);
    assert!(matches!(fr[1], Frame::LiteralTooBig { .. }), "{:?}", fr);
}
