//! Outbound mail for the appliance, sans-IO: the durable queue on the mail
//! disk ([`queue`]), retry timing and per-domain concurrency
//! ([`schedule`]), MX target selection ([`mx`]), one SMTP delivery attempt
//! ([`delivery`]) and bounce messages ([`dsn`]).
//!
//! The kernel glue owns sockets, TLS, DNS, clocks and randomness and
//! passes their results in. Its loop, in outline:
//!
//! ```text
//! boot:    (q, report) = Queue::open(fs, "/queue", limits, now)      // repairs, loads index
//! accept:  id = q.enqueue(fs, sender, rcpts, msg, now, rand)?  then send 250
//! timer:   for e in q.due(now):                 (sleep until q.next_wakeup())
//!            for (domain, idx) in e.due_by_domain(now):
//!              limiter.try_acquire(domain) else skip
//!              hosts   = mx::hosts(domain, MX answer, &[our hostname], rand)   // Err: record for all idx
//!              targets = mx::targets(&hosts, families we have a source for, AAAA/A lookups)
//!              for t in targets (bind the source address of t's family):
//!                report = Delivery::new(cfg, &t.host, attempt) driven over the socket
//!                         (or Delivery::connect_failed(..) when connect fails)
//!                if !report.try_next_host { break }
//!              q.record_results(fs, id, &report.results, now, &schedule)
//!              limiter.release(domain)
//!            fails = entry.unreported_failures(); warn = entry.delay_warning_due(..)
//!            if any: dsn::build(recipients_from_entry(..)) -> q.enqueue(fs, "", [dsn.recipient], ..)
//!                    q.mark_notified(fs, id, &fails, !warn.is_empty(), now)
//!            q.remove(fs, id, false, now)       // only when every recipient is final and reported
//! ```
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod delivery;
pub mod dsn;
pub mod mx;
pub mod queue;
pub mod schedule;
