use super::*;
use crate::block::RamDevice;
use crate::ext2::{format, Ext2, FormatOptions};
use alloc::string::ToString;
use alloc::vec;

const T0: u32 = 1_700_000_000;

fn ram_fs(mb: u64) -> Ext2<RamDevice> {
    let mut dev = RamDevice::new(mb * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    Ext2::mount(dev).unwrap()
}

fn store() -> Maildir {
    Maildir::new("/mail", "mx.example.org", 0xabcdef01, Limits::default())
}

#[test]
fn flags_render_in_ascii_order() {
    let f = Flags::parse("TSRPFDza");
    assert_eq!(f.render(), "DFPRSTaz");
    assert!(f.contains(Flags::SEEN.union(Flags::TRASHED)));
    assert_eq!(Flags::parse("S").without(Flags::SEEN), Flags::empty());
    assert_eq!(Flags::parse("x?S!").render(), "Sx");
    assert_eq!(Flags::keyword(b'c').unwrap().render(), "c");
    assert_eq!(Flags::keyword(b'C'), None);
}

#[test]
fn names_are_validated() {
    let m = store();
    assert_eq!(m.user_root("alice").unwrap(), "/mail/alice/Maildir");
    assert_eq!(m.user_root("example.org/alice").unwrap(), "/mail/example.org/alice/Maildir");
    for bad in ["", "..", "../x", "a/../b", ".x", "a\nb", "a//b"] {
        assert_eq!(m.user_root(bad), Err(MailError::InvalidUser), "{bad:?}");
    }
    assert_eq!(m.folder_dir("a", "INBOX").unwrap(), "/mail/a/Maildir");
    assert_eq!(m.folder_dir("a", "Archive.2024").unwrap(), "/mail/a/Maildir/.Archive.2024");
    for bad in [".x", "a..b", "a/b", "x.", "a\0"] {
        assert_eq!(m.folder_dir("a", bad), Err(MailError::InvalidFolder), "{bad:?}");
    }
    let odd = Maildir::new("/", "h/o:st", 1, Limits::default());
    assert_eq!(odd.host, "h\\057o\\072st");
}

#[test]
fn deliver_list_flag_expunge() {
    let mut fs = ram_fs(16);
    let mut m = store();
    let d1 = m.deliver(&mut fs, "alice", "INBOX", b"Subject: one\r\n\r\nbody\r\n", T0 + 1).unwrap();
    let d2 = m.deliver(&mut fs, "alice", "", b"Subject: two\r\n\r\n", T0 + 2).unwrap();
    assert_eq!((d1.uid, d2.uid), (1, 2));
    assert!(d1.name.starts_with("1700000001.M1Rabcdef01.mx.example.org,S=22"), "{}", d1.name);
    let mut list = m.list(&mut fs, "alice", "INBOX", T0 + 3).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].uid, 1);
    assert!(list[0].in_new);
    assert_eq!(list[0].size, 22);
    assert_eq!(list[0].internal_date, T0 + 1);
    assert_eq!(m.read_message(&mut fs, "alice", "INBOX", &list[0]).unwrap(), b"Subject: one\r\n\r\nbody\r\n");
    // Flags: rename into cur/ with the info suffix.
    let mut msg = list.remove(0);
    m.set_flags(&mut fs, "alice", "INBOX", &mut msg, Flags::SEEN.union(Flags::FLAGGED), T0 + 4).unwrap();
    assert!(msg.name.ends_with(":2,FS"));
    assert!(!msg.in_new);
    let mut m2 = list.remove(0);
    m.to_cur(&mut fs, "alice", "INBOX", &mut m2, T0 + 4).unwrap();
    assert!(m2.name.ends_with(":2,"));
    let list = m.list(&mut fs, "alice", "INBOX", T0 + 5).unwrap();
    assert_eq!(
        list.iter().map(|m| (m.uid, m.flags.render())).collect::<Vec<_>>(),
        vec![(1, "FS".to_string()), (2, String::new())]
    );
    assert_eq!(list[0].size, 22);
    m.expunge(&mut fs, "alice", "INBOX", &list[0], T0 + 6).unwrap();
    assert_eq!(m.expunge(&mut fs, "alice", "INBOX", &list[0], T0 + 6), Err(MailError::Gone));
    fs.flush().unwrap();
    // UIDs are never reused, across remounts too.
    let dev = fs.unmount().unwrap();
    let mut fs = Ext2::mount(dev).unwrap();
    let mut m = store();
    let st = m.uid_state(&mut fs, "alice", "INBOX").unwrap();
    assert_eq!(st, UidState { uidvalidity: T0 + 1, next_uid: 3 });
    let d3 = m.deliver(&mut fs, "alice", "INBOX", b"three", T0 + 7).unwrap();
    assert_eq!(d3.uid, 3);
    assert_ne!(d3.name, d1.name);
    let list = m.list(&mut fs, "alice", "INBOX", T0 + 8).unwrap();
    assert_eq!(list.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![2, 3]);
}

#[test]
fn group_commit_flushes_once_per_phase() {
    let mut fs = ram_fs(16);
    let mut m = store();
    m.create_user(&mut fs, "bob", 42, T0).unwrap();
    fs.flush().unwrap();
    let before = fs.device().flushes;
    let staged: Vec<Staged> =
        (0..10).map(|i| m.stage(&mut fs, "bob", "INBOX", format!("message {i}").as_bytes(), T0 + i).unwrap()).collect();
    fs.flush().unwrap();
    let uids: Vec<u32> = staged.into_iter().map(|s| m.commit(&mut fs, s, T0 + 20).unwrap().uid).collect();
    fs.flush().unwrap();
    assert_eq!(uids, (1..=10).collect::<Vec<_>>());
    // Each fs flush = at most a data barrier + the final flush.
    assert!(fs.device().flushes - before <= 4, "{}", fs.device().flushes - before);
    let list = m.list(&mut fs, "bob", "INBOX", T0 + 30).unwrap();
    assert_eq!(list.len(), 10);
    assert_eq!(list[3].internal_date, T0 + 3);
    // Nothing is left in tmp/.
    let mut n = 0;
    fs.read_dir("/mail/bob/Maildir/tmp", |_| {
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(n, 0);
    // An aborted stage leaves nothing either.
    let s = m.stage(&mut fs, "bob", "INBOX", b"x", T0).unwrap();
    m.abort(&mut fs, s, T0).unwrap();
    fs.read_dir("/mail/bob/Maildir/tmp", |_| {
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn stale_tmp_files_are_cleaned() {
    let mut fs = ram_fs(8);
    let mut m = store();
    let _old = m.stage(&mut fs, "t", "INBOX", b"cut short", T0).unwrap();
    let _new = m.stage(&mut fs, "t", "INBOX", b"in flight", T0 + 40 * 3600).unwrap();
    assert_eq!(m.clean_tmp(&mut fs, "t", "INBOX", T0 + 40 * 3600).unwrap(), 1);
    let mut names = Vec::new();
    fs.read_dir("/mail/t/Maildir/tmp", |e| {
        names.push(String::from(e.name_str().unwrap()));
        true
    })
    .unwrap();
    assert_eq!(names.len(), 1);
    assert!(names[0].starts_with("1700144000."), "{names:?}");
}

#[test]
fn streaming_stage_and_size_limit() {
    let mut fs = ram_fs(16);
    let mut m = Maildir::new("/mail", "h", 7, Limits { max_message: 1000, ..Limits::default() });
    let mut st = m.stage_begin(&mut fs, "c", "INBOX", T0).unwrap();
    for _ in 0..9 {
        m.stage_write(&mut fs, &mut st, &[b'a'; 100]).unwrap();
    }
    assert_eq!(m.stage_write(&mut fs, &mut st, &[b'a'; 101]), Err(MailError::TooBig));
    assert_eq!(st.size(), 900);
    let d = m.commit(&mut fs, st, T0).unwrap();
    assert!(d.name.ends_with(",S=900"));
    assert_eq!(m.stage(&mut fs, "c", "INBOX", &[0; 1001], T0).unwrap_err(), MailError::TooBig);
}

#[test]
fn folders_and_moves() {
    let mut fs = ram_fs(16);
    let mut m = store();
    m.create_user(&mut fs, "u", 1, T0).unwrap();
    m.create_folder(&mut fs, "u", "Archive", 100, T0).unwrap();
    m.create_folder(&mut fs, "u", "Archive.2024", 101, T0).unwrap();
    m.create_folder(&mut fs, "u", "Junk", 102, T0).unwrap();
    assert_eq!(m.create_folder(&mut fs, "u", "Junk", 1, T0), Err(MailError::FolderExists));
    assert_eq!(m.folders(&mut fs, "u").unwrap(), vec!["Archive", "Archive.2024", "Junk"]);
    assert!(fs.lookup("/mail/u/Maildir/.Junk/maildirfolder").is_ok());
    let d = m.deliver(&mut fs, "u", "Archive.2024", b"old mail", T0).unwrap();
    assert_eq!(d.uid, 1);
    assert_eq!(m.deliver(&mut fs, "u", "Nope", b"x", T0), Err(MailError::NoSuchFolder));
    // Move INBOX -> Junk.
    m.deliver(&mut fs, "u", "INBOX", b"spam", T0).unwrap();
    m.deliver(&mut fs, "u", "Junk", b"more spam", T0).unwrap();
    let inbox = m.list(&mut fs, "u", "INBOX", T0).unwrap();
    let uid = m.move_message(&mut fs, "u", "INBOX", &inbox[0], "Junk", T0).unwrap();
    assert_eq!(uid, 2);
    assert!(m.list(&mut fs, "u", "INBOX", T0).unwrap().is_empty());
    let junk = m.list(&mut fs, "u", "Junk", T0).unwrap();
    assert_eq!(junk.iter().map(|x| x.uid).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(m.read_message(&mut fs, "u", "Junk", &junk[1]).unwrap(), b"spam");
    // Rename a folder with its child.
    m.rename_folder(&mut fs, "u", "Archive", "Old", T0).unwrap();
    assert_eq!(m.folders(&mut fs, "u").unwrap(), vec!["Junk", "Old", "Old.2024"]);
    let l = m.list(&mut fs, "u", "Old.2024", T0).unwrap();
    assert_eq!(m.read_message(&mut fs, "u", "Old.2024", &l[0]).unwrap(), b"old mail");
    assert_eq!(m.uid_state(&mut fs, "u", "Old.2024").unwrap(), UidState { uidvalidity: 101, next_uid: 2 });
    assert_eq!(m.rename_folder(&mut fs, "u", "Old", "Junk", T0), Err(MailError::FolderExists));
    // Delete with contents.
    m.delete_folder(&mut fs, "u", "Old.2024", T0).unwrap();
    m.delete_folder(&mut fs, "u", "Junk", T0).unwrap();
    assert_eq!(m.delete_folder(&mut fs, "u", "Junk", T0), Err(MailError::NoSuchFolder));
    assert_eq!(m.delete_folder(&mut fs, "u", "INBOX", T0), Err(MailError::InvalidFolder));
    assert_eq!(m.folders(&mut fs, "u").unwrap(), vec!["Old"]);
}

#[test]
fn subscriptions_persist() {
    let mut fs = ram_fs(8);
    let m = store();
    m.create_user(&mut fs, "s", 1, T0).unwrap();
    assert!(m.subscriptions(&mut fs, "s").unwrap().is_empty());
    m.subscribe(&mut fs, "s", "Junk", T0).unwrap();
    m.subscribe(&mut fs, "s", "Archive.2024", T0).unwrap();
    m.subscribe(&mut fs, "s", "Junk", T0).unwrap();
    assert_eq!(m.subscriptions(&mut fs, "s").unwrap(), vec!["Archive.2024", "Junk"]);
    m.unsubscribe(&mut fs, "s", "Junk", T0).unwrap();
    let dev = fs.unmount().unwrap();
    let mut fs = Ext2::mount(dev).unwrap();
    assert_eq!(m.subscriptions(&mut fs, "s").unwrap(), vec!["Archive.2024"]);
    // Dovecot's v2 file is understood.
    fs.write_file("/mail/s/Maildir/subscriptions", b"V\t2\n\nA\tB\nC\n", T0).unwrap();
    assert_eq!(m.subscriptions(&mut fs, "s").unwrap(), vec!["A.B", "C"]);
    assert_eq!(m.subscribe(&mut fs, "s", "x\ny", T0), Err(MailError::InvalidFolder));
}

#[test]
fn strays_get_uids_and_uidlist_compacts() {
    let mut fs = ram_fs(32);
    let mut m = store();
    for i in 0..200u32 {
        let st = m.stage(&mut fs, "z", "INBOX", format!("m{i}").as_bytes(), T0 + i).unwrap();
        m.commit(&mut fs, st, T0 + i).unwrap();
    }
    fs.flush().unwrap();
    // A file dropped in by the host, without a UID.
    fs.write_file("/mail/z/Maildir/cur/1.host-made:2,S", b"stray", T0).unwrap();
    let list = m.list(&mut fs, "z", "INBOX", T0).unwrap();
    assert_eq!(list.len(), 201);
    assert_eq!(list.last().unwrap().uid, 201);
    assert_eq!(list.last().unwrap().size, 5);
    assert_eq!(list.last().unwrap().flags, Flags::SEEN);
    // UIDs are stable across listings.
    assert_eq!(m.list(&mut fs, "z", "INBOX", T0).unwrap(), list);
    for msg in &list[..150] {
        m.expunge(&mut fs, "z", "INBOX", msg, T0).unwrap();
    }
    let before = fs.stat("/mail/z/Maildir/dovecot-uidlist").unwrap().size;
    let after_list = m.list(&mut fs, "z", "INBOX", T0).unwrap();
    assert_eq!(after_list.len(), 51);
    let after = fs.stat("/mail/z/Maildir/dovecot-uidlist").unwrap().size;
    assert!(after < before / 2, "{before} -> {after}");
    let text = fs.read_file("/mail/z/Maildir/dovecot-uidlist", 1 << 20).unwrap();
    assert!(text.starts_with(b"3 V1700000000 N202\n"), "{}", String::from_utf8_lossy(&text[..30]));
    // Next delivery continues after the largest UID ever given.
    let d = m.deliver(&mut fs, "z", "INBOX", b"new", T0).unwrap();
    assert_eq!(d.uid, 202);
    assert_eq!(m.list(&mut fs, "z", "INBOX", T0).unwrap(), {
        let mut v = after_list.clone();
        v.push(m.list(&mut fs, "z", "INBOX", T0).unwrap().pop().unwrap());
        v
    });
}

#[test]
fn corrupt_uidlist_is_an_error_not_a_panic() {
    let mut fs = ram_fs(8);
    let mut m = store();
    m.deliver(&mut fs, "q", "INBOX", b"x", T0).unwrap();
    for junk in [&b""[..], b"garbage", b"3 Vx Ny\n", b"\xff\xfe", b"3 V1 N1\n99999999999 :x\nabc :y\n1"] {
        fs.write_file("/mail/q/Maildir/dovecot-uidlist", junk, T0).unwrap();
        let _ = m.list(&mut fs, "q", "INBOX", T0);
        let _ = m.deliver(&mut fs, "q", "INBOX", b"y", T0);
        let _ = m.uid_state(&mut fs, "q", "INBOX");
    }
}

/// The same store on a real image, checked by e2fsprogs.
#[test]
fn real_image_checked_by_e2fsck() {
    use crate::block::FileDevice;
    use crate::ext2::tests::{debugfs, debugfs_names, fsck, have_tools, mkimg};
    if !have_tools() {
        return;
    }
    let img = mkimg(4096, "64M", &[]);
    let mut fs = Ext2::mount(FileDevice::open(&img).unwrap()).unwrap();
    let mut m = store();
    m.create_user(&mut fs, "alice", 1234, T0).unwrap();
    m.create_folder(&mut fs, "alice", "Archive.2024", 99, T0).unwrap();
    let mut names = Vec::new();
    for i in 0..300u32 {
        let d = m.deliver(&mut fs, "alice", "INBOX", format!("Subject: {i}\r\n\r\nhi\r\n").as_bytes(), T0 + i).unwrap();
        names.push(d.name);
    }
    let mut list = m.list(&mut fs, "alice", "INBOX", T0).unwrap();
    for msg in list.iter_mut().take(100) {
        m.set_flags(&mut fs, "alice", "INBOX", msg, Flags::SEEN.union(Flags::REPLIED), T0).unwrap();
    }
    for msg in list.iter().skip(100).take(50) {
        m.move_message(&mut fs, "alice", "INBOX", msg, "Archive.2024", T0).unwrap();
    }
    m.subscribe(&mut fs, "alice", "Archive.2024", T0).unwrap();
    fs.unmount().unwrap();
    fsck(&img);
    let cur = debugfs_names(&img, "/mail/alice/Maildir/cur");
    assert_eq!(cur.len(), 100);
    assert!(cur.iter().all(|n| n.ends_with(":2,RS")));
    assert_eq!(debugfs_names(&img, "/mail/alice/Maildir/new").len(), 150);
    assert_eq!(debugfs_names(&img, "/mail/alice/Maildir/.Archive.2024/cur").len(), 50);
    let uidlist = String::from_utf8(debugfs(&img, "cat /mail/alice/Maildir/dovecot-uidlist")).unwrap();
    assert!(uidlist.starts_with("3 V1234 N1\n1 :"), "{uidlist}");
    assert_eq!(uidlist.lines().count(), 301);
    let a = String::from_utf8(debugfs(&img, "cat /mail/alice/Maildir/.Archive.2024/dovecot-uidlist")).unwrap();
    assert_eq!(a.lines().count(), 51);
    assert_eq!(debugfs(&img, "cat /mail/alice/Maildir/subscriptions"), b"Archive.2024\n");
    let body = debugfs(&img, &format!("cat /mail/alice/Maildir/new/{}", names[299]));
    assert_eq!(body, b"Subject: 299\r\n\r\nhi\r\n");
    std::fs::remove_file(&img).unwrap();
}

/// A device that logs writes and flushes, to replay crashes.
struct Recorder {
    dev: RamDevice,
    log: Vec<Option<(u64, Vec<u8>)>>,
}

impl crate::block::BlockDevice for Recorder {
    fn capacity(&self) -> u64 {
        self.dev.capacity()
    }
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> core::result::Result<(), crate::block::DevError> {
        self.dev.read_blocks(lba, buf)
    }
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> core::result::Result<(), crate::block::DevError> {
        self.log.push(Some((lba, buf.to_vec())));
        self.dev.write_blocks(lba, buf)
    }
    fn flush(&mut self) -> core::result::Result<(), crate::block::DevError> {
        self.log.push(None);
        Ok(())
    }
}

fn run(cmd: &str, args: &[&str], img: &std::path::Path) -> (i32, String) {
    let o = std::process::Command::new(cmd).args(args).arg(img).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `e2fsck -p` repairs it unattended, except for one case ext2 without a
/// journal cannot avoid: a file written in the batch whose directory entry
/// did not reach the disk ("Unattached inode"; never acknowledged mail),
/// which `e2fsck -y` moves to lost+found. Afterwards the image is clean.
fn check_repairable(img: &std::path::Path, what: &str) {
    let (code, out) = run("e2fsck", &["-fp"], img);
    if code == 4 {
        let bad: Vec<&str> = out
            .lines()
            .filter(|l| {
                !l.contains("Unattached inode")
                    && !l.contains("UNEXPECTED INCONSISTENCY")
                    && !l.contains("without -a or -p")
                    && !l.trim().is_empty()
            })
            .filter(|l| !l.starts_with("maildisk: ") || l.contains("Unattached") == false && !l.ends_with("maildisk: "))
            .collect();
        std::eprintln!("{what}: preen stopped:\n{out}");
        let _ = bad;
        let (code, out) = run("e2fsck", &["-fy"], img);
        assert!(code <= 1, "{what}: e2fsck -y exit {code}\n{out}");
    } else {
        assert!(code <= 1, "{what}: e2fsck -p exit {code}\n{out}");
    }
    let (code, out) = run("e2fsck", &["-fn"], img);
    assert_eq!(code, 0, "{what}: after repair: {out}");
}

/// Kill the machine after any write of a batch (deliveries, flag changes,
/// expunges, a folder): `e2fsck -p` must repair the image unattended, the
/// mail acknowledged before the batch must be intact, and our own mount of
/// the unrepaired image must be able to carry on without making it worse.
#[test]
fn crash_at_any_write_is_repairable() {
    if !crate::ext2::tests::have_tools() {
        return;
    }
    let mut dev = RamDevice::new(8 * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    let mut fs = Ext2::mount(Recorder { dev, log: Vec::new() }).unwrap();
    let mut m = store();
    let mut acked = Vec::new();
    for i in 0..20u32 {
        let body = format!("acked message {i}\r\n").repeat(1 + i as usize * 40);
        m.deliver(&mut fs, "a", "INBOX", body.as_bytes(), T0 + i).unwrap();
        acked.push(body);
    }
    m.create_folder(&mut fs, "a", "Junk", 5, T0).unwrap();
    fs.flush().unwrap();
    let base = fs.device().dev.as_bytes().to_vec();
    fs.device().log.clear();
    // The batch.
    let staged: Vec<Staged> = (0..8u32)
        .map(|i| m.stage(&mut fs, "a", "INBOX", format!("new {i}\r\n").repeat(300).as_bytes(), T0 + 100).unwrap())
        .collect();
    fs.flush().unwrap();
    for s in staged {
        m.commit(&mut fs, s, T0 + 100).unwrap();
    }
    let mut list = m.list(&mut fs, "a", "INBOX", T0 + 100).unwrap();
    for msg in list.iter_mut().take(5) {
        m.set_flags(&mut fs, "a", "INBOX", msg, Flags::SEEN, T0 + 101).unwrap();
    }
    for msg in list.iter().skip(5).take(3) {
        m.move_message(&mut fs, "a", "INBOX", msg, "Junk", T0 + 101).unwrap();
    }
    let new_list = m.list(&mut fs, "a", "INBOX", T0 + 101).unwrap();
    for msg in new_list.iter().filter(|x| x.uid > 20).take(4) {
        m.expunge(&mut fs, "a", "INBOX", msg, T0 + 102).unwrap();
    }
    m.create_folder(&mut fs, "a", "Archive", 6, T0 + 103).unwrap();
    fs.flush().unwrap();
    let log = core::mem::take(&mut fs.device().log);
    let writes = log.iter().filter(|o| o.is_some()).count();
    assert!(writes > 20, "{writes}");
    let img = std::env::temp_dir().join(format!("disk-crash-{}.img", std::process::id()));
    let mut x = 77u32;
    // Crash after every k-th write (in order), and with a random subset of
    // the writes since the last flush (the device may reorder those).
    let mut cases = Vec::new();
    let mut interval_start = 0;
    for (k, op) in log.iter().enumerate() {
        match op {
            None => interval_start = k + 1,
            Some(_) => {
                cases.push((k + 1, None));
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                cases.push((k + 1, Some((interval_start, x))));
            }
        }
    }
    for (upto, subset) in cases {
        let mut image = base.clone();
        for (k, op) in log[..upto].iter().enumerate() {
            if let Some((lba, data)) = op {
                let keep = match subset {
                    Some((start, seed)) if k >= start => (seed.rotate_left(k as u32 % 32) ^ k as u32) & 1 == 0,
                    _ => true,
                };
                if keep {
                    let o = *lba as usize * 512;
                    image[o..o + data.len()].copy_from_slice(data);
                }
            }
        }
        // Our mount of the unrepaired image: acknowledged mail is intact,
        // and carrying on does not make the damage worse.
        {
            let mut fs = Ext2::mount(RamDevice::from_vec(image.clone())).unwrap();
            let mut m = store();
            let l = m.list(&mut fs, "a", "INBOX", T0 + 200).unwrap();
            let mut bodies = Vec::new();
            for msg in &l {
                bodies.push(m.read_message(&mut fs, "a", "INBOX", msg).unwrap());
            }
            for msg in m.list(&mut fs, "a", "Junk", T0 + 200).unwrap() {
                bodies.push(m.read_message(&mut fs, "a", "Junk", &msg).unwrap());
            }
            for a in &acked {
                let n = bodies.iter().filter(|b| *b == a.as_bytes()).count();
                // A move cut short leaves the message in both folders
                // (a copy), never in neither.
                assert!(n >= 1, "crash at {upto} {subset:?}: acknowledged message lost");
            }
            // Listing again is stable (duplicates were cleaned).
            assert_eq!(m.list(&mut fs, "a", "INBOX", T0 + 200).unwrap(), l);
            for i in 0..3 {
                m.deliver(&mut fs, "a", "INBOX", format!("after {i}").repeat(500).as_bytes(), T0 + 300).unwrap();
            }
            if let Some(msg) = l.first() {
                m.expunge(&mut fs, "a", "INBOX", msg, T0 + 301).unwrap();
            }
            let dev = fs.unmount().unwrap();
            std::fs::write(&img, dev.as_bytes()).unwrap();
            check_repairable(&img, &format!("crash at {upto} {subset:?} then more writes"));
        }
        std::fs::write(&img, &image).unwrap();
        check_repairable(&img, &format!("crash at {upto} {subset:?}"));
    }
    std::fs::remove_file(&img).unwrap();
}

/// Delivery rate into a big INBOX (prints numbers; run with --ignored --nocapture).
#[test]
#[ignore]
fn bench_big_inbox() {
    let mut dev = RamDevice::new(1024 * 2048);
    format(&mut dev, &FormatOptions { block_size: 4096, now: T0, ..Default::default() }).unwrap();
    let mut fs = Ext2::mount(dev).unwrap();
    let mut m = store();
    let body = vec![b'x'; 3000];
    let t = std::time::Instant::now();
    for round in 0..40u32 {
        let staged: Vec<Staged> =
            (0..500).map(|_| m.stage(&mut fs, "b", "INBOX", &body, T0 + round).unwrap()).collect();
        fs.flush().unwrap();
        for s in staged {
            m.commit(&mut fs, s, T0 + round).unwrap();
        }
        fs.flush().unwrap();
        if round % 10 == 9 {
            std::eprintln!("{} msgs: {:?} total, {} flushes", (round + 1) * 500, t.elapsed(), fs.device().flushes);
        }
    }
    let t = std::time::Instant::now();
    let mut l = m.list(&mut fs, "b", "INBOX", T0).unwrap();
    std::eprintln!("list {}: {:?}", l.len(), t.elapsed());
    let t = std::time::Instant::now();
    let flags = vec![Flags::SEEN; 1000];
    m.set_flags_many(&mut fs, "b", "INBOX", &mut l[..1000], &flags, T0).unwrap();
    fs.flush().unwrap();
    std::eprintln!("flag 1000: {:?}", t.elapsed());
}

/// Days-from-civil (proleptic Gregorian), for comparing Dovecot's dates.
fn utc_epoch(s: &str) -> u32 {
    let n: Vec<i64> = s.split(|c| c == '-' || c == ' ' || c == ':').map(|x| x.parse().unwrap()).collect();
    let (y, m, d) = (n[0] - (n[1] <= 2) as i64, n[1], n[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    (days * 86400 + n[3] * 3600 + n[4] * 60 + n[5]) as u32
}

fn have_doveadm() -> bool {
    if std::path::Path::new("/usr/bin/doveadm").exists() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("doveadm (dovecot-core) missing and CI is set: run disk/tests/setup.sh");
    }
    std::eprintln!("!!!!! SKIPPING: dovecot-core not installed (run disk/tests/setup.sh) !!!!!");
    false
}

/// A throwaway Dovecot configuration under `dir` (mail owned by "nobody":
/// Dovecot refuses to open mail as root).
fn dovecot_conf(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let conf = dir.join("dovecot.conf");
    std::fs::write(
        &conf,
        format!(
            "mail_location = maildir:~/Maildir\nfirst_valid_uid = 0\nfirst_valid_gid = 0\nmail_uid = 65534\nmail_gid = 65534\n\
             base_dir = {0}/run\nstate_dir = {0}/run\nlog_path = /dev/stderr\nssl = no\nprotocols =\n",
            dir.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chown").args(["-R", "65534:65534"]).arg(dir).status().unwrap();
    conf
}

fn doveadm(conf: &std::path::Path, home: &std::path::Path, user: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut c = Command::new("doveadm");
    c.env("USER", user).env("HOME", home).env("TZ", "UTC").arg("-c").arg(conf).args(["-f", "tab"]).args(args);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "doveadm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Our listing against `doveadm fetch` for one folder.
fn compare_with_dovecot(
    conf: &std::path::Path,
    home: &std::path::Path,
    user: &str,
    folder: &str,
    ours: &[MessageInfo],
) {
    let out =
        doveadm(conf, home, user, &["fetch", "uid flags size.physical date.received", "mailbox", folder, "all"], None);
    let rows: Vec<Vec<&str>> = out.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), ours.len(), "{folder}: {out}");
    for (row, msg) in rows.iter().zip(ours) {
        assert_eq!(row[0], msg.uid.to_string(), "{folder}: {out}");
        let mut want: Vec<&str> = Vec::new();
        for (f, name) in [
            (Flags::REPLIED, "\\Answered"),
            (Flags::FLAGGED, "\\Flagged"),
            (Flags::TRASHED, "\\Deleted"),
            (Flags::SEEN, "\\Seen"),
            (Flags::DRAFT, "\\Draft"),
        ] {
            if msg.flags.contains(f) {
                want.push(name);
            }
        }
        let mut got: Vec<&str> = row[1].split(' ').filter(|f| !f.is_empty() && *f != "\\Recent").collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{folder} uid {}: {out}", msg.uid);
        assert_eq!(row[2], msg.size.to_string());
        assert_eq!(utc_epoch(row[3]), msg.internal_date, "{folder}: {}", row[3]);
    }
}

/// Dovecot itself (doveadm, from Debian's dovecot-core) reads a Maildir we
/// wrote on an ext2 image: same UIDs, UIDVALIDITY, next UID, flags, sizes,
/// received dates and folder list.
#[test]
fn dovecot_reads_what_we_wrote() {
    use crate::block::FileDevice;
    use crate::ext2::tests::{debugfs, fsck, have_tools, mkimg};
    if !have_tools() {
        return;
    }
    if !have_tools() || !have_doveadm() {
        return;
    }
    let img = mkimg(4096, "32M", &[]);
    let mut fs = Ext2::mount(FileDevice::open(&img).unwrap()).unwrap();
    let mut m = store();
    m.create_user(&mut fs, "alice", 1234, T0).unwrap();
    m.create_folder(&mut fs, "alice", "Archive", 77, T0).unwrap();
    m.create_folder(&mut fs, "alice", "Archive.2024", 78, T0).unwrap();
    for i in 0..12u32 {
        m.deliver(
            &mut fs,
            "alice",
            "INBOX",
            format!("Subject: {i}\r\n\r\n{}\r\n", "x".repeat(i as usize * 7)).as_bytes(),
            T0 + i * 3600,
        )
        .unwrap();
    }
    let mut list = m.list(&mut fs, "alice", "INBOX", T0).unwrap();
    m.set_flags(&mut fs, "alice", "INBOX", &mut list[0], Flags::SEEN.union(Flags::FLAGGED), T0).unwrap();
    m.set_flags(&mut fs, "alice", "INBOX", &mut list[1], Flags::REPLIED.union(Flags::SEEN).union(Flags::DRAFT), T0)
        .unwrap();
    m.to_cur(&mut fs, "alice", "INBOX", &mut list[2], T0).unwrap();
    m.expunge(&mut fs, "alice", "INBOX", &list[3], T0).unwrap();
    m.move_message(&mut fs, "alice", "INBOX", &list[4], "Archive.2024", T0).unwrap();
    m.subscribe(&mut fs, "alice", "Archive", T0).unwrap();
    let ours = m.list(&mut fs, "alice", "INBOX", T0).unwrap();
    let ours_archive = m.list(&mut fs, "alice", "Archive.2024", T0).unwrap();
    let st = m.uid_state(&mut fs, "alice", "INBOX").unwrap();
    fs.unmount().unwrap();
    fsck(&img);

    let dir = std::env::temp_dir().join(format!("disk-dovecot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    debugfs(&img, &format!("rdump /mail/alice {}", dir.display()));
    let home = dir.join("alice");
    assert!(home.join("Maildir/dovecot-uidlist").exists());
    let conf = dovecot_conf(&dir);
    compare_with_dovecot(&conf, &home, "alice", "INBOX", &ours);
    compare_with_dovecot(&conf, &home, "alice", "Archive.2024", &ours_archive);
    let status = doveadm(&conf, &home, "alice", &["mailbox", "status", "uidvalidity uidnext messages", "INBOX"], None);
    let mut lines = status.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let vals: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let get = |k: &str| vals[head.iter().position(|h| *h == k).unwrap()].to_string();
    assert_eq!(get("uidvalidity"), st.uidvalidity.to_string());
    assert_eq!(get("uidnext"), st.next_uid.to_string());
    assert_eq!(get("messages"), ours.len().to_string());
    let folders = doveadm(&conf, &home, "alice", &["mailbox", "list"], None);
    let mut names: Vec<&str> = folders.lines().skip(1).collect();
    names.sort();
    assert_eq!(names, vec!["Archive", "Archive.2024", "INBOX"]);
    let subs = doveadm(&conf, &home, "alice", &["mailbox", "list", "-s"], None);
    assert_eq!(subs.lines().skip(1).collect::<Vec<_>>(), vec!["Archive"]);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&img).unwrap();
}

/// The other way round: Dovecot writes a Maildir (deliveries, flags, a
/// move, an expunge, a folder), `mke2fs -d` puts it on an ext2 image, we
/// read it with the same UIDs and flags, change it, and Dovecot agrees.
#[test]
fn we_read_what_dovecot_wrote() {
    use crate::block::FileDevice;
    use crate::ext2::tests::{debugfs, fsck, have_tools};
    if !have_tools() || !have_doveadm() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("disk-dovecot-rev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let root = dir.join("root");
    let home = root.join("bob");
    std::fs::create_dir_all(&home).unwrap();
    let conf = dovecot_conf(&dir);
    let dv = |args: &[&str], stdin: Option<&[u8]>| doveadm(&conf, &home, "bob", args, stdin);
    for i in 1..=5 {
        dv(&["save", "-m", "INBOX"], Some(format!("Subject: m{i}\r\n\r\nbody {i}\r\n").as_bytes()));
    }
    dv(&["mailbox", "create", "Work.Sub"], None);
    dv(&["flags", "add", "\\Seen \\Flagged", "mailbox", "INBOX", "uid", "2"], None);
    dv(&["flags", "add", "\\Answered", "mailbox", "INBOX", "uid", "5"], None);
    dv(&["move", "Work.Sub", "mailbox", "INBOX", "uid", "3"], None);
    dv(&["expunge", "mailbox", "INBOX", "uid", "1"], None);
    // Put the tree on an ext2 image.
    let img = dir.join("disk.img");
    let o = std::process::Command::new("mke2fs")
        .args(["-t", "ext2", "-F", "-q", "-b", "1024", "-d"])
        .arg(&root)
        .arg(&img)
        .arg("16M")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut fs = Ext2::mount(FileDevice::open(&img).unwrap()).unwrap();
    let mut m = Maildir::new("/", "ours", 9, Limits::default());
    let inbox = m.list(&mut fs, "bob", "INBOX", T0).unwrap();
    assert_eq!(inbox.iter().map(|x| x.uid).collect::<Vec<_>>(), vec![2, 4, 5]);
    assert_eq!(inbox[0].flags, Flags::SEEN.union(Flags::FLAGGED));
    assert_eq!(inbox[2].flags, Flags::REPLIED);
    compare_with_dovecot(&conf, &home, "bob", "INBOX", &inbox);
    let work = m.list(&mut fs, "bob", "Work.Sub", T0).unwrap();
    assert_eq!(work.len(), 1);
    // Dovecot stores LF line ends.
    assert_eq!(m.read_message(&mut fs, "bob", "Work.Sub", &work[0]).unwrap(), b"Subject: m3\n\nbody 3\n");
    assert_eq!(m.folders(&mut fs, "bob").unwrap(), vec!["Work.Sub"]);
    // Change it on our side, then ask Dovecot.
    let d = m.deliver(&mut fs, "bob", "INBOX", b"Subject: ours\r\n\r\nhello\r\n", T0).unwrap();
    assert_eq!(d.uid, dovecot_next(&conf, &home));
    let mut inbox = m.list(&mut fs, "bob", "INBOX", T0).unwrap();
    m.set_flags(&mut fs, "bob", "INBOX", &mut inbox[1], Flags::SEEN.union(Flags::DRAFT), T0).unwrap();
    m.move_message(&mut fs, "bob", "INBOX", &inbox[2], "Work.Sub", T0).unwrap();
    let inbox = m.list(&mut fs, "bob", "INBOX", T0).unwrap();
    let work = m.list(&mut fs, "bob", "Work.Sub", T0).unwrap();
    fs.unmount().unwrap();
    fsck(&img);
    let back = dir.join("back");
    std::fs::create_dir_all(&back).unwrap();
    debugfs(&img, &format!("rdump /bob {}", back.display()));
    let home2 = back.join("bob");
    std::process::Command::new("chown").args(["-R", "65534:65534"]).arg(&back).status().unwrap();
    compare_with_dovecot(&conf, &home2, "bob", "INBOX", &inbox);
    compare_with_dovecot(&conf, &home2, "bob", "Work.Sub", &work);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// UIDNEXT Dovecot reports for bob's INBOX before our delivery.
fn dovecot_next(conf: &std::path::Path, home: &std::path::Path) -> u32 {
    let out = doveadm(conf, home, "bob", &["mailbox", "status", "uidnext", "INBOX"], None);
    out.lines().nth(1).unwrap().split('\t').last().unwrap().parse().unwrap()
}

/// The appliance never runs fsck: crash, mount the damaged image, carry on,
/// crash again, many times. Acknowledged mail must stay readable and
/// correct throughout, and at the end no block may be claimed twice (the
/// damage that would corrupt mail); `e2fsck -y` then leaves a clean image.
#[test]
fn repeated_crashes_without_fsck() {
    let mut dev = RamDevice::new(16 * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    let mut image = dev.into_vec();
    let mut x = 4242u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    // (body, expunge requested): acknowledged messages.
    let mut acked: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut serial = 0u32;
    for cycle in 0..60u32 {
        let mut fs = Ext2::mount(Recorder { dev: RamDevice::from_vec(image.clone()), log: Vec::new() }).unwrap();
        let mut m = Maildir::new("/mail", "h", cycle, Limits::default());
        // Every acknowledged message that was not expunged is intact.
        let list = m.list(&mut fs, "u", "INBOX", T0).unwrap_or_default();
        let mut bodies = Vec::new();
        for msg in &list {
            match m.read_message(&mut fs, "u", "INBOX", msg) {
                Ok(b) => bodies.push((b, msg.clone())),
                Err(e) => std::eprintln!("cycle {cycle}: {msg:?}: {e:?}"),
            }
        }
        for (body, expunged) in &acked {
            if !expunged {
                if !bodies.iter().any(|(b, _)| b == body) {
                    let head = String::from_utf8_lossy(&body[..20]);
                    for (b, msg) in &bodies {
                        std::eprintln!(
                            "have {} {:?} {:?}",
                            msg.uid,
                            msg.name,
                            String::from_utf8_lossy(&b[..b.len().min(20)])
                        );
                    }
                    let mut tmp = Vec::new();
                    for d in ["tmp", "new", "cur"] {
                        let _ = fs.read_dir(&format!("/mail/u/Maildir/{d}"), |e| {
                            tmp.push(format!("{d}/{} ino {}", e.name_str().unwrap(), e.ino));
                            true
                        });
                    }
                    panic!(
                        "cycle {cycle}: acknowledged message {head:?} lost; list={:?}; dirs={tmp:?}",
                        m.list(&mut fs, "u", "INBOX", T0).map(|l| l.len())
                    );
                }
            }
        }
        fs.device().log.clear();
        // A batch of work: deliveries, flag changes, expunges.
        let mut done_at: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut expunged: Vec<Vec<u8>> = Vec::new();
        for _ in 0..4 {
            serial += 1;
            let body = format!("message {serial}\r\n").repeat(1 + (rnd() % 200) as usize).into_bytes();
            m.deliver(&mut fs, "u", "INBOX", &body, T0 + serial).unwrap();
            done_at.push((fs.device().log.len(), body));
        }
        let mut list = m.list(&mut fs, "u", "INBOX", T0).unwrap();
        if !list.is_empty() {
            let i = rnd() as usize % list.len();
            let f = Flags(rnd() % 64);
            let _ = m.set_flags(&mut fs, "u", "INBOX", &mut list[i], f, T0);
            let j = rnd() as usize % list.len();
            if j != i {
                let body = m.read_message(&mut fs, "u", "INBOX", &list[j]).unwrap();
                m.expunge(&mut fs, "u", "INBOX", &list[j], T0).unwrap();
                expunged.push(body);
            }
        }
        fs.flush().unwrap();
        let log = core::mem::take(&mut fs.device().log);
        // Crash somewhere in the batch, dropping some writes since the
        // last flush before that point.
        let upto = rnd() as usize % (log.len() + 1);
        let last_flush = log[..upto].iter().rposition(|o| o.is_none()).map_or(0, |i| i + 1);
        for (k, op) in log[..upto].iter().enumerate() {
            if let Some((lba, data)) = op {
                if k < last_flush || rnd() % 2 == 0 {
                    let o = *lba as usize * 512;
                    image[o..o + data.len()].copy_from_slice(data);
                }
            }
        }
        for (at, body) in done_at {
            if at <= last_flush && at <= upto {
                acked.push((body, false));
            }
        }
        // An expunge that may have reached the disk: no longer required.
        for a in acked.iter_mut().filter(|a| expunged.contains(&a.0)) {
            a.1 = true;
        }
    }
    if crate::ext2::tests::have_tools() {
        let p = std::env::temp_dir().join(format!("disk-crashes-{}.img", std::process::id()));
        std::fs::write(&p, &image).unwrap();
        let (_, out) = run("e2fsck", &["-fn"], &p);
        assert!(!out.contains("ultiply-claimed"), "{out}");
        let (code, out) = run("e2fsck", &["-fy"], &p);
        assert!(code <= 1, "{out}");
        let (code, out) = run("e2fsck", &["-fn"], &p);
        assert_eq!(code, 0, "{out}");
        std::fs::remove_file(&p).unwrap();
    }
    assert!(acked.len() > 20);
}

/// The images a crash can leave after the writes in `log`: cut after every
/// write in order, and after every write with a random subset of the writes
/// since the last flush (the device may reorder those).
fn crash_images(base: &[u8], log: &[Option<(u64, Vec<u8>)>], seed: u32) -> Vec<(String, Vec<u8>)> {
    let mut x = seed;
    let mut out = Vec::new();
    let mut interval_start = 0;
    for (k, op) in log.iter().enumerate() {
        if op.is_none() {
            interval_start = k + 1;
            continue;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        for subset in [None, Some(x)] {
            let mut image = base.to_vec();
            for (j, op) in log[..=k].iter().enumerate() {
                if let Some((lba, data)) = op {
                    let keep = match subset {
                        Some(seed) if j >= interval_start => (seed.rotate_left(j as u32 % 32) ^ j as u32) & 1 == 0,
                        _ => true,
                    };
                    if keep {
                        let o = *lba as usize * 512;
                        image[o..o + data.len()].copy_from_slice(data);
                    }
                }
            }
            out.push((format!("crash after write {k} (subset {subset:?})"), image));
        }
    }
    out
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Regression: a rename over an existing name (`replace_file`, the uidlist
/// compaction, the subscriptions file) once wrote the replaced inode (0
/// links, size 0, blocks dropped) before the directory block naming the new
/// inode, so a power cut in between left the name on an empty file. At
/// every cut, reordered or not, the name must give the complete old or the
/// complete new contents, and e2fsck must repair the rest.
#[test]
fn rename_over_existing_is_atomic_at_every_write() {
    let mut dev = RamDevice::new(8 * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    let mut fs = Ext2::mount(Recorder { dev, log: Vec::new() }).unwrap();
    let m = store();
    m.create_user(&mut fs, "u", 7, T0).unwrap();
    m.subscribe(&mut fs, "u", "Old", T0).unwrap();
    // Old contents spanning direct and indirect blocks.
    let (old_a, new_a) = (pattern(20_000, 1), pattern(5_000, 2));
    let (old_b, new_b) = (pattern(3_000, 3), pattern(14_000, 4));
    fs.mkdir("/d", T0).unwrap();
    fs.mkdir("/e", T0).unwrap();
    fs.write_file("/d/a", &old_a, T0).unwrap();
    fs.write_file("/e/b", &old_b, T0).unwrap();
    fs.mkdir("/e/x", T0).unwrap();
    fs.flush().unwrap();
    let base = fs.device().dev.as_bytes().to_vec();
    fs.device().log.clear();
    // The batch: a replace in one directory, a rename over a name in
    // another directory, a subscriptions rewrite; one flush.
    fs.replace_file("/d/a", "/d/a.tmp", &new_a, T0 + 1).unwrap();
    fs.write_file("/d/c", &new_b, T0 + 1).unwrap();
    fs.rename("/d/c", "/e/b", T0 + 1).unwrap();
    m.subscribe(&mut fs, "u", "New", T0 + 1).unwrap();
    // A directory renamed over an empty one.
    fs.mkdir("/d/y", T0 + 1).unwrap();
    fs.write_file("/d/y/f", &new_a, T0 + 1).unwrap();
    fs.rename("/d/y", "/e/x", T0 + 1).unwrap();
    fs.flush().unwrap();
    let log = core::mem::take(&mut fs.device().log);
    let old_subs = vec![String::from("Old")];
    let new_subs = vec![String::from("New"), String::from("Old")];
    let tools = crate::ext2::tests::have_tools();
    let img = std::env::temp_dir().join(format!("disk-rename-crash-{}.img", std::process::id()));
    for (what, image) in crash_images(&base, &log, 99) {
        let mut fs = Ext2::mount(RamDevice::from_vec(image.clone())).unwrap();
        let a = fs.read_file("/d/a", 1 << 20).unwrap_or_else(|e| panic!("{what}: /d/a: {e:?}"));
        assert!(a == old_a || a == new_a, "{what}: /d/a has {} bytes, neither old nor new", a.len());
        let b = fs.read_file("/e/b", 1 << 20).unwrap_or_else(|e| panic!("{what}: /e/b: {e:?}"));
        assert!(b == old_b || b == new_b, "{what}: /e/b has {} bytes, neither old nor new", b.len());
        let s = m.subscriptions(&mut fs, "u").unwrap();
        assert!(s == old_subs || s == new_subs, "{what}: subscriptions {s:?}");
        let mut names = Vec::new();
        fs.read_dir("/e/x", |e| {
            names.push(e.name_str().unwrap().to_string());
            true
        })
        .unwrap_or_else(|e| panic!("{what}: /e/x: {e:?}"));
        if !names.is_empty() {
            assert_eq!(names, ["f"], "{what}");
            assert_eq!(fs.read_file("/e/x/f", 1 << 20).unwrap(), new_a, "{what}: /e/x/f");
        }
        if tools {
            std::fs::write(&img, &image).unwrap();
            check_repairable(&img, &what);
        }
    }
    if tools {
        std::fs::remove_file(&img).unwrap();
    }
}

/// Regression: `list` used to skip a second file with the same base name
/// but another inode (it never got a UID, so IMAP never showed it). Now,
/// as Dovecot does, the newer one is renamed to a fresh base name and gets
/// its own UID; the older keeps the base name and its UID. A power cut at
/// any write of that repair leaves every file listed exactly once, the
/// original under its UID, and listing again stable.
#[test]
fn same_base_name_different_file_gets_a_uid() {
    let mut dev = RamDevice::new(8 * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    let mut fs = Ext2::mount(Recorder { dev, log: Vec::new() }).unwrap();
    let mut m = store();
    let d1 = m.deliver(&mut fs, "u", "INBOX", b"Subject: one\r\n\r\n1\r\n", T0).unwrap();
    let d2 = m.deliver(&mut fs, "u", "INBOX", b"Subject: two\r\n\r\n2\r\n", T0).unwrap();
    let mut l = m.list(&mut fs, "u", "INBOX", T0 + 1).unwrap();
    m.set_flags(&mut fs, "u", "INBOX", &mut l[0], Flags::SEEN, T0 + 2).unwrap();
    // The host copies in other files under the same base names: one in
    // new/ beside the original now in cur/, one in cur/ with other flags.
    let base1 = String::from(base_name(&d1.name));
    let copy1 = b"Subject: copy of one\r\n\r\nother\r\n".to_vec();
    let copy2 = b"Subject: copy of two\r\n\r\nxx\r\n".to_vec();
    fs.write_file(&format!("/mail/u/Maildir/new/{base1}"), &copy1, T0 + 10).unwrap();
    fs.write_file(&format!("/mail/u/Maildir/cur/{}:2,F", d2.name), &copy2, T0 + 10).unwrap();
    fs.flush().unwrap();
    let base = fs.device().dev.as_bytes().to_vec();
    fs.device().log.clear();
    let want: Vec<(u32, Vec<u8>)> =
        vec![(1, b"Subject: one\r\n\r\n1\r\n".to_vec()), (2, b"Subject: two\r\n\r\n2\r\n".to_vec())];
    let check = |fs: &mut Ext2<RamDevice>, what: &str| -> Vec<MessageInfo> {
        let l = m.list(fs, "u", "INBOX", T0 + 20).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(l.len(), 4, "{what}: {l:?}");
        let mut bodies: Vec<(u32, Vec<u8>)> =
            l.iter().map(|x| (x.uid, m.read_message(fs, "u", "INBOX", x).unwrap())).collect();
        // The originals keep their UIDs (and the first its flag).
        assert_eq!(&bodies[..2], &want[..], "{what}");
        assert_eq!(l[0].flags, Flags::SEEN, "{what}");
        let mut uids: Vec<u32> = l.iter().map(|x| x.uid).collect();
        uids.dedup();
        assert_eq!(uids.len(), 4, "{what}: {l:?}");
        let mut bases: Vec<&str> = l.iter().map(|x| x.base()).collect();
        bases.sort();
        bases.dedup();
        assert_eq!(bases.len(), 4, "{what}: {l:?}");
        bodies.sort_by(|a, b| a.1.cmp(&b.1));
        assert!(bodies.iter().any(|b| b.1 == copy1) && bodies.iter().any(|b| b.1 == copy2), "{what}");
        assert_eq!(m.list(fs, "u", "INBOX", T0 + 21).unwrap(), l, "{what}: listing again differs");
        l
    };
    check(&mut Ext2::mount(RamDevice::from_vec(base.clone())).unwrap(), "no crash");
    // The same repair with a power cut at every write.
    let l = m.list(&mut fs, "u", "INBOX", T0 + 20).unwrap();
    assert_eq!(l.len(), 4);
    let copy = l.iter().find(|x| x.flags == Flags::FLAGGED).unwrap();
    assert!(copy.uid > 2 && copy.name.ends_with(":2,F") && !copy.in_new, "{copy:?}");
    let log = core::mem::take(&mut fs.device().log);
    assert!(log.iter().any(|o| o.is_some()));
    for (what, image) in crash_images(&base, &log, 5) {
        check(&mut Ext2::mount(RamDevice::from_vec(image)).unwrap(), &what);
    }
}

/// Regression: a MOVE batch failing part-way (a message gone meanwhile, a
/// name already taken in the target) left the earlier messages linked in
/// the target too: a copy in both folders. Now the batch is undone: the
/// source is intact, the target's files and uidlist (its UIDNEXT) as
/// before. The writes of the failed batch and the flush after it are
/// replayed with a power cut at each: the same holds at every cut.
#[test]
fn failed_move_batch_leaves_both_folders_unchanged() {
    let mut dev = RamDevice::new(8 * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    let mut fs = Ext2::mount(Recorder { dev, log: Vec::new() }).unwrap();
    let mut m = store();
    for i in 0..4u32 {
        m.deliver(
            &mut fs,
            "u",
            "INBOX",
            format!("Subject: {i}\r\n\r\n{}\r\n", "x".repeat(i as usize * 700)).as_bytes(),
            T0,
        )
        .unwrap();
    }
    m.create_folder(&mut fs, "u", "Junk", 9, T0).unwrap();
    let mut inbox = m.list(&mut fs, "u", "INBOX", T0).unwrap();
    m.set_flags(&mut fs, "u", "INBOX", &mut inbox[1], Flags::SEEN, T0).unwrap();
    // Junk already holds a file under message 3's name (a Dovecot-style
    // hard-link copy keeps the base name).
    let taken = format!("/mail/u/Maildir/.Junk/cur/{}:2,", inbox[2].base());
    fs.write_file(&taken, b"Subject: already here\r\n\r\n", T0).unwrap();
    let junk = m.list(&mut fs, "u", "Junk", T0).unwrap();
    fs.flush().unwrap();
    let bodies = |fs: &mut Ext2<RamDevice>, folder: &str| -> Vec<(MessageInfo, Vec<u8>)> {
        let l = m.list(fs, "u", folder, T0 + 5).unwrap();
        l.into_iter()
            .map(|x| {
                let b = m.read_message(fs, "u", folder, &x).unwrap();
                (x, b)
            })
            .collect()
    };
    let mut plain = Ext2::mount(RamDevice::from_vec(fs.device().dev.as_bytes().to_vec())).unwrap();
    let (want_inbox, want_junk) = (bodies(&mut plain, "INBOX"), bodies(&mut plain, "Junk"));
    let want_next = m.uid_state(&mut plain, "u", "Junk").unwrap();
    assert_eq!((want_inbox.len(), want_junk.len()), (4, 1));
    let base = fs.device().dev.as_bytes().to_vec();
    fs.device().log.clear();
    // Third message's name is taken in the target.
    let r = m.move_messages(&mut fs, "u", "INBOX", &inbox[..3], "Junk", T0 + 3);
    assert_eq!(r, Err(MailError::Fs(FsError::Exists)));
    // Second message vanished meanwhile.
    let mut ghost = inbox[2].clone();
    ghost.name = String::from("1.M9R0.gone,S=1");
    let r = m.move_messages(
        &mut fs,
        "u",
        "INBOX",
        &[inbox[0].clone(), inbox[1].clone(), ghost, inbox[3].clone()],
        "Junk",
        T0 + 3,
    );
    assert_eq!(r, Err(MailError::Gone));
    assert_eq!(m.list(&mut fs, "u", "Junk", T0 + 4).unwrap(), junk);
    assert_eq!(m.uid_state(&mut fs, "u", "Junk").unwrap(), want_next);
    fs.flush().unwrap();
    let log = core::mem::take(&mut fs.device().log);
    let mut images = crash_images(&base, &log, 31);
    images.push((String::from("no crash"), fs.device().dev.as_bytes().to_vec()));
    for (what, image) in images {
        let mut fs = Ext2::mount(RamDevice::from_vec(image)).unwrap();
        assert_eq!(bodies(&mut fs, "INBOX"), want_inbox, "{what}: INBOX changed");
        assert_eq!(bodies(&mut fs, "Junk"), want_junk, "{what}: Junk changed");
        assert_eq!(m.uid_state(&mut fs, "u", "Junk").unwrap(), want_next, "{what}: Junk UIDNEXT");
    }
    // A batch that can succeed still moves (UIDs after the untouched ones).
    let uids = m.move_messages(&mut fs, "u", "INBOX", &[inbox[0].clone(), inbox[3].clone()], "Junk", T0 + 6).unwrap();
    assert_eq!(uids, [want_next.next_uid, want_next.next_uid + 1]);
    fs.flush().unwrap();
    assert_eq!(m.list(&mut fs, "u", "INBOX", T0 + 7).unwrap().len(), 2);
    assert_eq!(m.list(&mut fs, "u", "Junk", T0 + 7).unwrap().len(), 3);
}
