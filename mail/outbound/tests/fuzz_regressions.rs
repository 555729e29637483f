//! Inputs the `outbound_queue` fuzz target (fuzz/) once failed on, replayed
//! through the same steps: every entry the queue holds after recording
//! attempt results must be there again when the queue is reopened.

use disk::{format as mkfs, Ext2, FileSystem, FormatOptions, MountOptions, RamDevice};
use mail_outbound::queue::{AttemptResult, Limits, Queue};
use mail_outbound::schedule::Schedule;

fn reopen_keeps_entries(env: &[u8]) {
    reopen_keeps_entries_with(env, 16, "greylisted");
}

/// Opens a queue holding `env`, records one attempt for every recipient
/// (delivered, deferred with `reply`, or failed, by position), and checks
/// that reopening finds the same entries.
fn reopen_keeps_entries_with(env: &[u8], max_recipients: usize, reply: &str) {
    let mut dev = RamDevice::new(2048);
    mkfs(&mut dev, &FormatOptions { block_size: 1024, bytes_per_inode: 4096, ..FormatOptions::default() }).unwrap();
    let mut fs = Ext2::mount_with(dev, MountOptions::default()).unwrap();
    fs.mkdir("/queue", 0).unwrap();
    fs.write_file("/queue/65000000.1.abc.env", env, 0).unwrap();
    fs.write_file("/queue/65000000.1.abc.msg", b"Subject: x\r\n\r\nbody\r\n", 0).unwrap();
    let now = 1_700_001_000u64;
    let limits = Limits { max_entries: 8, max_recipients, max_address: 128, max_reply: 128, ..Limits::default() };
    let schedule = Schedule::default();
    let (mut q, _) = Queue::open(&mut fs, "/queue", limits, now).unwrap();
    let ids: Vec<String> = q.entries().map(|e| e.id.clone()).collect();
    for id in &ids {
        let e = q.get(id).unwrap().clone();
        let mut results = Vec::new();
        for (domain, idx) in e.due_by_domain(now + 10_000_000) {
            for i in idx {
                results.push((
                    i,
                    match (domain.len() + i) % 3 {
                        0 => AttemptResult::Delivered("250 ok".into()),
                        1 => AttemptResult::TempFail(format!("451 4.7.1 \x01{reply}\r\n")),
                        _ => AttemptResult::PermFail(format!("550 5.1.1 {domain} says no")),
                    },
                ));
            }
        }
        let _ = q.record_results(&mut fs, id, &results, now, &schedule);
    }
    let kept: Vec<String> = q.entries().map(|e| e.id.clone()).collect();
    assert!(!kept.is_empty() || max_recipients == 16, "the entry was not loaded at all");
    let (q2, report) = Queue::open(&mut fs, "/queue", limits, now).unwrap();
    let again: Vec<String> = q2.entries().map(|e| e.id.clone()).collect();
    assert_eq!(again, kept, "reopen: {report:?}");
}

#[test]
fn reopen_keeps_an_entry_with_many_long_recipients() {
    reopen_keeps_entries(include_bytes!("../../../fuzz/regressions/outbound_queue/reopen-loses-entry"));
}

/// The read limit used to leave 64 bytes for the header lines, too few
/// for a long sender: an entry at the address and reply limits was
/// written after a failed attempt and then refused as damaged at boot.
#[test]
fn reopen_keeps_an_entry_at_every_limit() {
    // A 13-byte domain: the attempt result is a deferral with the long reply.
    let addr = |c: char| format!("{}@example.co.uk", c.to_string().repeat(128 - 14));
    let env = format!(
        "unimail-queue 1\nsender {}\narrival 1700000000\nsize 20\nwarned 0\nrcpt P 0 0 0 {}\t\n",
        addr('s'),
        addr('r')
    );
    assert_eq!(addr('s').len(), 128);
    reopen_keeps_entries_with(env.as_bytes(), 1, &"4".repeat(400));
}
