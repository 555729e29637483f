//! The Maildir store's on-disk text (disk::maildir and mail-store): the
//! INBOX `dovecot-uidlist`, `dovecot-keywords`, `subscriptions`,
//! `dovecot-uidvalidity` and message file names (flags `:2,`, sizes `,S=`
//! `,W=`, folders `.A.B`) come from the input and are read through the
//! disk-level API and then through an IMAP session on `MaildirStore`
//! (SELECT, FETCH, STORE, COPY, MOVE, EXPUNGE, LIST, STATUS, APPEND).
//!
//! Input: `uidlist \0 keywords \0 subscriptions \0 uidvalidity \0
//! file names (one per line: new/N, cur/N, .F/cur/N) \0 IMAP commands`.
#![no_main]
use disk::maildir::{Flags, Limits, Maildir};
use fuzz_common::imap::{drive, MSG2};
use fuzz_common::{prepared_fs, Reader};
use libfuzzer_sys::fuzz_target;
use mail_imap::{Config, Session};
use mail_store::MaildirStore;

const ROOT: &str = "/mail/bob/Maildir";
const NOW: u32 = 1_700_000_100;
const LIMITS: Limits = Limits { max_messages: 64, max_folders: 16, max_index_bytes: 4096, max_message: 1 << 20 };

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let uidlist = r.until(b"\0");
    let keywords = r.until(b"\0");
    let subscriptions = r.until(b"\0");
    let uidvalidity = r.until(b"\0");
    let names = r.until(b"\0");
    let commands = r.rest();
    let now = NOW;
    let mut md = Maildir::new("/mail", "mx.example.org", 7, LIMITS);
    let mut fs = prepared_fs("maildir", |fs| {
        let md = Maildir::new("/mail", "mx.example.org", 7, LIMITS);
        md.create_user(fs, "bob", 1, NOW).unwrap();
        md.create_folder(fs, "bob", "Sent", 2, NOW).unwrap();
    });
    let limits = LIMITS;
    for (file, body) in [
        ("dovecot-uidlist", uidlist),
        ("dovecot-keywords", keywords),
        ("subscriptions", subscriptions),
        ("dovecot-uidvalidity", uidvalidity),
    ] {
        if !body.is_empty() {
            fs.write_file(&format!("{ROOT}/{file}"), body, now).unwrap();
        }
    }
    for (i, name) in String::from_utf8_lossy(names).lines().take(16).enumerate() {
        let path = format!("{ROOT}/{name}");
        let _ = fs.write_file(&path, &MSG2[..MSG2.len() - i % 5], now);
    }

    // The disk-level API.
    let _ = md.folders(&mut fs, "bob");
    let _ = md.subscriptions(&mut fs, "bob");
    let _ = md.uid_state(&mut fs, "bob", "INBOX");
    if let Ok(mut list) = md.list(&mut fs, "bob", "INBOX", now) {
        assert!(list.len() <= limits.max_messages);
        let mut uids: Vec<u32> = list.iter().map(|m| m.uid).collect();
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), list.len(), "two messages with one UID");
        if let Some(m) = list.first_mut() {
            let _ = md.read_message(&mut fs, "bob", "INBOX", m);
            let _ = md.set_flags(&mut fs, "bob", "INBOX", m, Flags::parse("FRSa"), now);
            let _ = md.to_cur(&mut fs, "bob", "INBOX", m, now);
        }
        if let Some(m) = list.get(1) {
            let _ = md.move_message(&mut fs, "bob", "INBOX", m, "Sent", now);
        }
        if let Some(m) = list.get(2) {
            let _ = md.expunge(&mut fs, "bob", "INBOX", m, now);
        }
    }
    let _ = md.deliver(&mut fs, "bob", "INBOX", MSG2, now + 1);
    let _ = md.clean_tmp(&mut fs, "bob", "INBOX", now);

    // And through IMAP.
    let mut st = MaildirStore::new(&mut fs, &mut md, "bob", now + 2);
    let mut s = Session::new_preauth(Config { condstore: false, ..Config::default() }, "bob");
    drive(&mut s, &mut st, &[commands]);
});
