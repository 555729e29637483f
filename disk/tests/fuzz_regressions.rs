//! Inputs found by the cargo-fuzz targets in fuzz/ (saved under
//! fuzz/regressions/<target>/): each once broke a promise of the crate.

use disk::maildir::{Limits, Maildir};
use disk::{format, Ext2, FileSystem, FormatOptions, RamDevice};

const ROOT: &str = "/mail/bob/Maildir";

fn fs() -> Ext2<RamDevice> {
    let mut dev = RamDevice::new(2048);
    format(&mut dev, &FormatOptions { block_size: 1024, ..Default::default() }).unwrap();
    Ext2::mount(dev).unwrap()
}

/// maildir: a damaged uidlist naming UID 2 twice (for two files) made
/// `list` return two messages with one UID, which IMAP cannot represent.
/// UIDs in the list only ever increase; a line that goes back is damage
/// and its file gets a fresh UID.
#[test]
fn uidlist_with_a_repeated_uid_still_gives_unique_uids() {
    let mut fs = fs();
    let md = Maildir::new("/mail", "mx", 1, Limits::default());
    md.create_user(&mut fs, "bob", 7, 0).unwrap();
    fs.write_file(&format!("{ROOT}/dovecot-uidlist"), b"3 V7 N3\n1 :a.mx\n2 :b.mx\n2 :c.mx\n1 :d.mx\n", 0).unwrap();
    for n in ["new/a.mx", "cur/b.mx:2,S", "cur/c.mx:2,", "cur/d.mx:2,"] {
        fs.write_file(&format!("{ROOT}/{n}"), b"Subject: x\r\n\r\n", 0).unwrap();
    }
    let list = md.list(&mut fs, "bob", "INBOX", 10).unwrap();
    let mut uids: Vec<u32> = list.iter().map(|m| m.uid).collect();
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), 4, "{list:?}");
    // The lines that were in order keep their UIDs.
    let uid_of = |b: &str| list.iter().find(|m| m.base() == b).unwrap().uid;
    assert_eq!((uid_of("a.mx"), uid_of("b.mx")), (1, 2));
    assert!(uid_of("c.mx") >= 3 && uid_of("d.mx") >= 3);
    // Stable on the next listing, and a delivery gets a UID of its own.
    let again = md.list(&mut fs, "bob", "INBOX", 11).unwrap();
    assert_eq!(again.iter().map(|m| m.uid).collect::<Vec<_>>(), list.iter().map(|m| m.uid).collect::<Vec<_>>());
    let mut md = md;
    let d = md.deliver(&mut fs, "bob", "INBOX", b"Subject: y\r\n\r\n", 12).unwrap();
    assert!(list.iter().all(|m| m.uid != d.uid));
}
