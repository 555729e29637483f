//! Power cut at every device write during a sequence of IMAP store
//! operations (keyword STORE, EXPUNGE with its uidlist rewrite, MOVE,
//! COPY, APPEND, RENAME, \Recent claim). The image as it stood at that
//! write is mounted unrepaired, and:
//! - every folder the interrupted operation did not touch is exactly as
//!   after the last acknowledged operation (UIDs, flags, bodies);
//! - no acknowledged message is lost anywhere (a cut MOVE may leave a
//!   copy in both folders, never in neither);
//! - no folder's UIDNEXT went backwards (UIDs are never reused);
//! - no folder's HIGHESTMODSEQ and no message's MODSEQ went backwards
//!   (RFC 7162: an acknowledged mod-sequence is never lost);
//! - listing twice gives the same answer.

mod common;
use common::*;
use disk::block::DevError;
use disk::{BlockDevice, Ext2, RamDevice};
use mail_imap::{Flags, Store, SystemFlag};
use mail_store::MaildirStore;
use std::collections::BTreeMap;

struct Recorder {
    dev: RamDevice,
    log: Vec<Option<(u64, Vec<u8>)>>,
}

impl BlockDevice for Recorder {
    fn capacity(&self) -> u64 {
        self.dev.capacity()
    }
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError> {
        self.dev.read_blocks(lba, buf)
    }
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError> {
        self.log.push(Some((lba, buf.to_vec())));
        self.dev.write_blocks(lba, buf)
    }
    fn flush(&mut self) -> Result<(), DevError> {
        self.log.push(None);
        Ok(())
    }
}

/// folder -> (uid -> (body, flags)), folder -> UIDNEXT (with the
/// subscriptions as a pseudo-folder).
type State = (BTreeMap<String, BTreeMap<u32, (Vec<u8>, String)>>, BTreeMap<String, u32>);

fn state(st: &mut dyn Store) -> State {
    let mut msgs = BTreeMap::new();
    let mut next = BTreeMap::new();
    for f in st.list_folders().unwrap() {
        let (_, l) = st.list_messages(&f).unwrap_or_else(|e| panic!("{f}: {e:?}"));
        let mut m = BTreeMap::new();
        for x in l {
            let mut fl = String::new();
            x.flags.write_list(&mut fl, false);
            m.insert(x.uid, (st.read_message(&f, x.uid).unwrap(), fl));
        }
        next.insert(f.clone(), st.folder_status(&f).unwrap().uid_next);
        msgs.insert(f, m);
    }
    let subs = st
        .subscriptions()
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, n)| (i as u32, (n.into_bytes(), String::new())))
        .collect();
    msgs.insert("<subscriptions>".into(), subs);
    (msgs, next)
}

/// folder -> (HIGHESTMODSEQ, uid -> MODSEQ).
type Modseqs = BTreeMap<String, (u64, BTreeMap<u32, u64>)>;

fn modseqs(st: &mut dyn Store) -> Modseqs {
    let mut out = BTreeMap::new();
    for f in st.list_folders().unwrap() {
        let (_, l) = st.list_messages(&f).unwrap();
        let h = st.folder_status(&f).unwrap().highest_modseq;
        out.insert(f, (h, l.iter().map(|m| (m.uid, m.modseq)).collect()));
    }
    out
}

fn body(i: u32) -> Vec<u8> {
    format!("Subject: message {i}\r\n\r\n{}\r\n", format!("line {i} ").repeat(40)).into_bytes()
}

#[test]
fn power_cut_at_every_write() {
    let mut dev = RamDevice::new(8 * 2048);
    disk::format(&mut dev, &disk::FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    let mut fs = Ext2::mount(Recorder { dev, log: Vec::new() }).unwrap();
    let mut md = maildir();
    let now = T0 + 50;
    for i in 1..=6 {
        md.deliver(&mut fs, USER, "INBOX", &body(i), now).unwrap();
    }
    {
        let mut st = MaildirStore::new(&mut fs, &mut md, USER, now);
        st.create_folder("Archive").unwrap();
        st.set_flags("INBOX", 5, &Flags::new().with(SystemFlag::Seen)).unwrap();
    }
    let base = fs.device().dev.as_bytes().to_vec();
    fs.device().log.clear();

    let seen_work = {
        let mut f = Flags::new().with(SystemFlag::Seen);
        f.add_keyword("Work");
        f
    };
    type Op<'x> = (&'x [&'x str], Box<dyn Fn(&mut dyn Store) + 'x>);
    let ops: Vec<Op> = vec![
        (&["INBOX"], Box::new(|s| s.set_flags("INBOX", 1, &seen_work).unwrap())),
        (&["INBOX"], Box::new(|s| s.expunge("INBOX", &[2]).unwrap())),
        (
            &["INBOX", "Archive"],
            Box::new(|s| assert_eq!(s.move_messages("INBOX", &[3, 4], "Archive").unwrap().1, [1, 2])),
        ),
        (&["INBOX", "Archive"], Box::new(|s| assert_eq!(s.copy("Archive", &[1], "INBOX").unwrap().1, [7]))),
        (
            &["INBOX"],
            Box::new(|s| assert_eq!(s.append("INBOX", &seen_work, Some(1_600_000_000), &body(8)).unwrap().1, 8)),
        ),
        // The highest UID: the uidlist's header must keep N past it.
        (&["INBOX"], Box::new(|s| s.expunge("INBOX", &[8]).unwrap())),
        (&["INBOX"], Box::new(|s| assert_eq!(s.claim_recent("INBOX").unwrap(), [6, 7]))),
        (&["Archive", "Old"], Box::new(|s| s.rename_folder("Archive", "Old").unwrap())),
        (&["INBOX", "Old"], Box::new(|s| s.move_messages("Old", &[1], "INBOX").map(|_| ()).unwrap())),
        (&["<subscriptions>"], Box::new(|s| s.set_subscribed("Old", true).unwrap())),
        (&["<subscriptions>"], Box::new(|s| s.set_subscribed("INBOX", true).unwrap())),
        (&["<subscriptions>"], Box::new(|s| s.set_subscribed("Old", false).unwrap())),
    ];
    // Acknowledged states: before any op, then after each.
    let mut acked: Vec<(usize, State)> = Vec::new();
    let mut acked_ms: Vec<Modseqs> = Vec::new();
    {
        let mut st = MaildirStore::new(&mut fs, &mut md, USER, now);
        acked_ms.push(modseqs(&mut st));
        acked.push((0, state(&mut st)));
    }
    for (_, op) in &ops {
        let mut st = MaildirStore::new(&mut fs, &mut md, USER, now);
        op(&mut st);
        let s = state(&mut st);
        acked_ms.push(modseqs(&mut st));
        drop(st);
        acked.push((fs.device().log.len(), s));
    }
    // The sequence did move mod-sequences (flag changes, expunges).
    assert!(acked_ms.last().unwrap()["INBOX"].0 > acked_ms[0]["INBOX"].0 + 2, "{:?}", acked_ms.last());
    let log = std::mem::take(&mut fs.device().log);
    let writes = log.iter().filter(|o| o.is_some()).count();
    assert!(writes > 50, "{writes}");

    let mut image = base.clone();
    for (p, entry) in log.iter().enumerate() {
        if let Some((lba, data)) = entry {
            let o = *lba as usize * 512;
            image[o..o + data.len()].copy_from_slice(data);
        } else {
            continue;
        }
        // Crash right after write p. Ops with end <= p+1 are acknowledged.
        let done = acked.iter().rposition(|(end, _)| *end <= p + 1).unwrap();
        let (_, want) = &acked[done];
        let touched: &[&str] = if done < ops.len() { ops[done].0 } else { &[] };
        let mut fs = Ext2::mount(RamDevice::from_vec(image.clone())).unwrap();
        let mut md = maildir();
        let mut st = MaildirStore::new(&mut fs, &mut md, USER, now + 10);
        let got = state(&mut st);
        assert_eq!(state(&mut st), got, "write {p}: listing is not stable");
        let got_ms = modseqs(&mut st);
        for (f, (h, per)) in &acked_ms[done] {
            let Some((gh, gper)) = got_ms.get(f) else { continue };
            assert!(gh >= h, "write {p} (op {done}): {f} HIGHESTMODSEQ went back from {h} to {gh}");
            for (uid, m) in per {
                if let Some(g) = gper.get(uid) {
                    assert!(g >= m, "write {p} (op {done}): {f} UID {uid} MODSEQ went back from {m} to {g}");
                }
            }
        }
        for (f, msgs) in &want.0 {
            if touched.contains(&f.as_str()) {
                continue;
            }
            assert_eq!(got.0.get(f), Some(msgs), "write {p} (during op {done}): untouched {f} changed");
        }
        for (f, n) in &want.1 {
            if let Some(g) = got.1.get(f) {
                assert!(g >= n, "write {p} (op {done}): {f} UIDNEXT went back from {n} to {g}");
            }
        }
        let all: Vec<&Vec<u8>> = got.0.values().flat_map(|m| m.values().map(|(b, _)| b)).collect();
        for msgs in want.0.values() {
            for (b, _) in msgs.values() {
                // The in-flight op may be an expunge of exactly this one.
                let expunged_now =
                    done < ops.len() && !acked[done + 1].1 .0.values().any(|m| m.values().any(|(x, _)| x == b));
                assert!(expunged_now || all.contains(&b), "write {p} (op {done}): acknowledged message lost");
            }
        }
    }
}
