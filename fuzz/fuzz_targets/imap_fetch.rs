//! An arbitrary message delivered to the IMAP store and rendered by every
//! FETCH item and SEARCH key that reads it (BODYSTRUCTURE, ENVELOPE,
//! BODY[n.MIME], BINARY, HEADER.FIELDS, TEXT search), plus mail-imap's
//! MIME helpers on the same bytes.
#![no_main]
use fuzz_common::imap::drive;
use libfuzzer_sys::fuzz_target;
use mail_imap::command::{Section, SectionText};
use mail_imap::{mime, Config, MemStore, Session};

const SCRIPT: &[u8] = b"s SELECT INBOX\r\n\
f1 FETCH 1 (FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY)\r\n\
f2 FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To Subject Content-Type)] BODY.PEEK[TEXT]<0.200>)\r\n\
f3 FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.1.HEADER] BODY.PEEK[1.TEXT] BODY.PEEK[3.2])\r\n\
f4 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[2.1]<5.50> BINARY.SIZE[2])\r\n\
f5 FETCH 1 (RFC822.HEADER BODY.PEEK[HEADER.FIELDS.NOT (Received)] RFC822.TEXT)\r\n\
q1 SEARCH TEXT \"caf\xc3\xa9\" OR BODY hello SUBJECT report\r\n\
q2 SEARCH FROM alice TO bob HEADER Content-Type multipart SENTSINCE 1-Jan-2000 LARGER 5\r\n\
l LOGOUT\r\n";

fuzz_target!(|data: &[u8]| {
    let mut st = MemStore::new();
    st.deliver("INBOX", data);
    let mut s = Session::new_preauth(Config { max_output: 1 << 20, ..Config::default() }, "bob");
    let out = drive(&mut s, &mut st, &[SCRIPT]);
    assert!(out.windows(6).any(|w| w == b"f1 OK "), "FETCH failed:\n{}", String::from_utf8_lossy(&out));

    let tree = mime::parse(data);
    for path in [vec![], vec![1], vec![2], vec![1, 1], vec![2, 3], vec![3, 1, 2]] {
        let _ = mime::binary(&tree, &path);
        for text in [
            None,
            Some(SectionText::Header),
            Some(SectionText::Text),
            Some(SectionText::Mime),
            Some(SectionText::HeaderFields(vec!["from".into(), "subject".into()])),
        ] {
            let _ = mime::section_bytes(&tree, &Section { part: path.clone(), text });
        }
    }
    let _ = mime::body_matches(&tree, b"x");
    let _ = mime::text_search(&tree, "\u{e9}t\u{e9}".as_bytes());
    let _ = mime::to_crlf(data);
});
