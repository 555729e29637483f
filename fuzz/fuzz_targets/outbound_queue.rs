//! The outbound queue's on-disk state (mail-outbound `queue`): an `.env`
//! file and a message with arbitrary contents are put in /queue of an
//! in-memory ext2 filesystem beside valid entries and strays, the queue is
//! opened (boot repair + parse), and every entry goes through its life:
//! due recipients by domain, results recorded, delay warnings, DSN built
//! from the stored message's header, notifications marked, removal. The
//! queue must then open again with the same entries.
//!
//! Input: `<env file> \0 <message>`.
#![no_main]
use fuzz_common::{prepared_fs, Reader};
use libfuzzer_sys::fuzz_target;
use mail_outbound::dsn::{self, DsnInput};
use mail_outbound::queue::{AttemptResult, Limits, Queue};
use mail_outbound::schedule::Schedule;

const GOOD: &[u8] = b"unimail-queue 1\nsender a@example.org\narrival 1700000000\nsize 20\nwarned 0\n\
rcpt P 0 0 0 b@example.net\t\nrcpt T 2 1700000600 0 c@example.com\t451 4.0.0 later\n";

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let env = r.until(b"\0");
    let msg = r.rest();
    // The entries that do not depend on the input, made once per process.
    let mut fs = prepared_fs("queue", |fs| {
        fs.mkdir("/queue", 0).unwrap();
        for (name, body) in [
            ("65000000.2.abd.env", GOOD),
            ("65000000.2.abd.msg", b"Subject: x\r\n\r\nbody\r\n"),
            ("65000000.3.abe.msg", b"never acknowledged"),
            ("65000000.5.ab0.gone", b""),
        ] {
            fs.write_file(&format!("/queue/{name}"), body, 0).unwrap();
        }
    });
    let now = 1_700_001_000u64;
    let mut put = |name: &str, body: &[u8]| {
        fs.write_file(&format!("/queue/{name}"), body, 0).unwrap();
    };
    put("65000000.1.abc.env", env);
    put("65000000.1.abc.msg", msg);
    put("65000000.4.abf.env.tmp", env);
    put("65000000.6.AB1.env", env);
    put("65000000.6.AB1.msg", msg);
    let limits = Limits { max_entries: 8, max_recipients: 16, max_address: 128, max_reply: 128, ..Limits::default() };
    let schedule = Schedule::default();
    let (mut q, report) = Queue::open(&mut fs, "/queue", limits, now).expect("open");
    assert!(report.entries <= limits.max_entries);
    let ids: Vec<String> = q.entries().map(|e| e.id.clone()).collect();
    for id in &ids {
        let e = q.get(id).unwrap().clone();
        assert!(e.recipients.len() <= limits.max_recipients);
        let _ = (e.next_attempt(), e.is_done(), e.delay_warning_due(&schedule, now));
        let mut results = Vec::new();
        for (domain, idx) in e.due_by_domain(now + 10_000_000) {
            for i in idx {
                results.push((
                    i,
                    match (domain.len() + i) % 3 {
                        0 => AttemptResult::Delivered("250 ok".into()),
                        1 => AttemptResult::TempFail("451 4.7.1 \x01greylisted\r\n".into()),
                        _ => AttemptResult::PermFail(format!("550 5.1.1 {domain} says no")),
                    },
                ));
            }
        }
        let Ok(e) = q.record_results(&mut fs, id, &results, now, &schedule).cloned() else { continue };
        let fails = e.unreported_failures();
        let warn = e.delay_warning_due(&schedule, now);
        let idx: Vec<usize> = fails.iter().chain(warn.iter()).copied().collect();
        let rcpts = dsn::recipients_from_entry(&e, &idx, Some("mx.example.net"), &schedule);
        let headers = q.read_headers(&mut fs, id, 16 * 1024).unwrap_or_default();
        let _ = q.read_message(&mut fs, id);
        let _ = dsn::build(&DsnInput {
            hostname: "mx.example.org",
            original_sender: &e.sender,
            queue_id: id,
            arrival: e.arrival,
            now,
            nonce: 42,
            recipients: &rcpts,
            original_headers: dsn::header_block(&headers),
        });
        let _ = q.mark_notified(&mut fs, id, &fails, !warn.is_empty(), now);
        let _ = q.remove(&mut fs, id, false, now);
    }
    let left = q.len();
    let (q2, _) = Queue::open(&mut fs, "/queue", limits, now).expect("reopen");
    assert_eq!(q2.len(), left, "the queue lost or gained entries across a reopen");
});
