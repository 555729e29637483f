//! Power cuts at every block write: the device log of an operation is
//! replayed up to each write, the image mounted and the queue opened (with
//! its boot repair). Before the operation returns either state may
//! survive, never a mix; once it has returned the new state must.

use std::cell::RefCell;
use std::rc::Rc;

use disk::{format as mkfs, BlockDevice, DevError, Ext2, FormatOptions, RamDevice};
use mail_outbound::queue::{AttemptResult, Limits, Queue, RcptState};
use mail_outbound::schedule::Schedule;

const T0: u64 = 1_800_000_000;

#[derive(Clone)]
enum Op {
    Write(u64, Vec<u8>),
    Flush,
}

/// A RamDevice that logs every write and flush.
struct Rec {
    dev: RamDevice,
    log: Rc<RefCell<Vec<Op>>>,
}

impl BlockDevice for Rec {
    fn capacity(&self) -> u64 {
        self.dev.capacity()
    }
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError> {
        self.dev.read_blocks(lba, buf)
    }
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError> {
        self.log.borrow_mut().push(Op::Write(lba, buf.to_vec()));
        self.dev.write_blocks(lba, buf)
    }
    fn flush(&mut self) -> Result<(), DevError> {
        self.log.borrow_mut().push(Op::Flush);
        self.dev.flush()
    }
}

fn replay(base: &[u8], log: &[Op], upto: usize) -> Ext2<RamDevice> {
    let mut img = base.to_vec();
    for op in &log[..upto] {
        if let Op::Write(lba, data) = op {
            let at = *lba as usize * 512;
            img[at..at + data.len()].copy_from_slice(data);
        }
    }
    Ext2::mount(RamDevice::from_vec(img)).expect("crashed image mounts")
}

/// Every crash image of `log`: each prefix in order, and, because a
/// device may reorder writes between flushes, each prefix of every
/// flush epoch applied in reverse order on top of the epochs before it.
/// Yields (images, whether the op had returned by then).
fn crash_images(base: &[u8], log: &[Op], acked: usize) -> Vec<(Vec<u8>, bool, String)> {
    let mut out = Vec::new();
    let apply = |img: &mut Vec<u8>, op: &Op| {
        if let Op::Write(lba, data) = op {
            let at = *lba as usize * 512;
            img[at..at + data.len()].copy_from_slice(data);
        }
    };
    let mut img = base.to_vec();
    let mut epoch_start = 0;
    for k in 0..=log.len() {
        out.push((img.clone(), k >= acked, format!("in-order prefix {k}")));
        if k == log.len() {
            break;
        }
        if matches!(log[k], Op::Flush) {
            epoch_start = k + 1;
        } else {
            // Reverse-order prefixes of the epoch ending here.
            let end = log[k..].iter().position(|o| matches!(o, Op::Flush)).map(|p| k + p).unwrap_or(log.len());
            if k == epoch_start && end - epoch_start > 1 {
                let mut r = img.clone();
                for j in (epoch_start + 1..end).rev() {
                    apply(&mut r, &log[j]);
                    out.push((r.clone(), false, format!("reversed epoch {epoch_start}..{end} from {j}")));
                }
            }
        }
        apply(&mut img, &log[k]);
    }
    out
}

fn base_image(setup: impl FnOnce(&mut Ext2<RamDevice>, &mut Queue)) -> Vec<u8> {
    let mut dev = RamDevice::new(16 * 2048);
    mkfs(&mut dev, &FormatOptions::default()).unwrap();
    let mut fs = Ext2::mount(dev).unwrap();
    let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
    setup(&mut fs, &mut q);
    fs.unmount().unwrap().into_vec()
}

/// Runs `op` on a logged device; returns the log and its length when `op` returned.
fn logged(base: &[u8], op: impl FnOnce(&mut Ext2<Rec>, &mut Queue)) -> (Vec<Op>, usize) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut fs = Ext2::mount(Rec { dev: RamDevice::from_vec(base.to_vec()), log: log.clone() }).unwrap();
    let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
    log.borrow_mut().clear();
    op(&mut fs, &mut q);
    let acked = log.borrow().len();
    drop(fs); // no unmount: the power is cut
    let v = log.borrow().clone();
    (v, acked)
}

fn msg() -> Vec<u8> {
    // Large enough to span several blocks.
    let mut m = b"From: a@ex.test\r\nSubject: big\r\n\r\n".to_vec();
    for i in 0..400 {
        m.extend_from_slice(format!("line {i} of the body, padded to be long enough\r\n").as_bytes());
    }
    m
}

#[test]
fn enqueue_is_all_or_nothing_and_durable_on_return() {
    let base = base_image(|_, _| {});
    let m = msg();
    let mut id = String::new();
    let (log, acked) = logged(&base, |fs, q| {
        id = q.enqueue(fs, "a@ex.test", &["b@far.test"], &m, T0, 5).unwrap();
    });
    assert!(log.len() > 4);
    let (mut seen_absent, mut seen_present) = (false, false);
    for k in 0..=log.len() {
        let mut fs = replay(&base, &log, k);
        let (q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        match q.get(&id) {
            Some(e) => {
                seen_present = true;
                assert_eq!(q.read_message(&mut fs, &id).unwrap(), m, "crash after write {k}");
                assert_eq!(e.recipients[0].state, RcptState::Pending);
            }
            None => {
                seen_absent = true;
                assert!(k < acked, "acknowledged entry lost after write {k} of {}", log.len());
            }
        }
        // The repair leaves no stray message files.
        let mut names = Vec::new();
        fs.read_dir("/queue", &mut |e: disk::DirEntry<'_>| {
            names.push(String::from_utf8_lossy(e.name).into_owned());
            true
        })
        .unwrap();
        assert!(names.iter().all(|n| n.ends_with(".env") || n.ends_with(".msg")), "{names:?}");
        assert_eq!(names.len(), if q.get(&id).is_some() { 2 } else { 0 }, "{names:?}");
    }
    assert!(seen_absent && seen_present);
    let images = crash_images(&base, &log, acked);
    assert!(images.len() > log.len() + 1, "no reordered images");
    for (img, acked, what) in images {
        let mut fs = Ext2::mount(RamDevice::from_vec(img)).expect("mounts");
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert!(rep.damaged.is_empty(), "{what}: {rep:?}");
        match q.get(&id) {
            Some(_) => assert_eq!(q.read_message(&mut fs, &id).unwrap(), m, "{what}"),
            None => assert!(!acked, "{what}: acknowledged entry lost"),
        }
    }
}

#[test]
fn state_update_and_remove_are_atomic() {
    let m = msg();
    let mut id = String::new();
    let base = base_image(|fs, q| {
        id = q.enqueue(fs, "a@ex.test", &["b@far.test", "c@far.test"], &m, T0, 5).unwrap();
    });
    let s = Schedule::default();
    let (log, acked) = logged(&base, |fs, q| {
        q.record_results(
            fs,
            &id,
            &[(0, AttemptResult::Delivered("250 ok".into())), (1, AttemptResult::TempFail("451 later".into()))],
            T0 + 10,
            &s,
        )
        .unwrap();
    });
    for k in 0..=log.len() {
        let mut fs = replay(&base, &log, k);
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert!(rep.damaged.is_empty(), "{rep:?}");
        let e = q.get(&id).expect("entry survives");
        let new = matches!(e.recipients[0].state, RcptState::Delivered { .. });
        if new {
            assert!(matches!(e.recipients[1].state, RcptState::Deferred { attempts: 1, next, .. } if next == T0 + 310));
        } else {
            assert_eq!(e.recipients[1].state, RcptState::Pending);
            assert!(k < acked, "update lost after write {k}");
        }
    }
    for (img, acked, what) in crash_images(&base, &log, acked) {
        let mut fs = Ext2::mount(RamDevice::from_vec(img)).expect("mounts");
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert!(rep.damaged.is_empty(), "{what}: {rep:?}");
        let e = q.get(&id).unwrap_or_else(|| panic!("{what}: entry lost"));
        assert_eq!(q.read_message(&mut fs, &id).unwrap(), m, "{what}");
        let new = matches!(e.recipients[0].state, RcptState::Delivered { .. });
        assert!(new || !acked, "{what}: update lost");
        if !new {
            assert_eq!(e.recipients[1].state, RcptState::Pending, "{what}");
        }
    }
    // Removal: present or gone, never half (a leftover message is repaired away).
    let (log, acked) = logged(&base, |fs, q| {
        assert!(q.remove(fs, &id, true, T0).unwrap());
    });
    for k in 0..=log.len() {
        let mut fs = replay(&base, &log, k);
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        let ops: Vec<String> = log
            .iter()
            .map(|o| match o {
                Op::Write(l, d) => format!("W{l}+{}", d.len() / 512),
                Op::Flush => "F".into(),
            })
            .collect();
        assert!(rep.damaged.is_empty(), "crash after {k} of {ops:?}: {rep:?}");
        if let Some(_e) = q.get(&id) {
            assert!(k < acked);
            assert_eq!(q.read_message(&mut fs, &id).unwrap(), m);
        }
    }
    for (img, acked, what) in crash_images(&base, &log, acked) {
        let mut fs = Ext2::mount(RamDevice::from_vec(img)).expect("mounts");
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert!(rep.damaged.is_empty(), "{what}: {rep:?}");
        if q.get(&id).is_some() {
            assert!(!acked, "{what}");
            assert_eq!(q.read_message(&mut fs, &id).unwrap(), m, "{what}");
        }
    }
}
