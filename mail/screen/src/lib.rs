//! Connection screening before SMTP (postscreen-like pre-greet, DNSBL/DNSWL
//! scoring, access lists, pass cache) and greylisting (RFC 6647), sans-IO,
//! no_std.
//!
//! Nothing here reads a clock, a socket or a disk: the kernel passes the
//! time in (`now_ms`: UNIX milliseconds for the screen, `now`: UNIX seconds
//! for the stores), sends the DNS queries, and stores the text the caches
//! save.
//!
//! # Call sequence (port 25 listener)
//!
//! ```text
//! boot: policy = Policy::from_config(&cfg) (skip the screen if !cfg.screen.enabled);
//!   cache = PassCache::load(bytes of screen/cache, now_s, PassCache::DEFAULT_CAPACITY);
//!   greylist = Greylist::load(cfg.greylist, bytes of screen/greylist, now_s,
//!     Greylist::DEFAULT_TRIPLETS, Greylist::DEFAULT_CLIENTS) (LoadError: log, start empty)
//! accept(ip) on port 25:
//!   let mut s = Screen::connect(&policy, &cache, ip, now_ms, Load::default())
//!     (or Load { from_client, total } to let the screen answer 421 for limits);
//!   send s.take_output()                       // "220-host ESMTP\r\n", or a full greeting, or 421/521
//!   for q in s.queries(): send A query q.name  // all at once
//!   loop until s.verdict().is_some():
//!     client bytes  -> s.feed(&policy, bytes, now_ms); send s.take_output()
//!                      (false: the verdict is already in, the bytes go to SMTP)
//!     DNS answer    -> s.answer(&policy, q.id, DnsAnswer::{Listed(v4s)|NotListed|Failed}, now_ms)
//!     timer at s.deadline_ms() -> s.tick(&policy, now_ms)
//!     client closed -> stats.record_hangup(); stop
//!   send s.take_output(); s.record_passes(&policy, &mut cache); stats.record_screen(&s)
//!   match verdict:
//!     Drop(_) | TempFail(_) -> close after sending
//!     Pass | Enforce(r) -> start the SMTP session, discard its own 220 greeting
//!       (the screen sent it), feed it s.take_early_input() first;
//!       Enforce: answer every RCPT TO with r (550 5.7.1)
//!       observer = s.observer(&policy) (None: nothing to watch); feed it the
//!         early input, then every chunk read from the client, before the SMTP
//!         session sees it: for v in observer.feed(chunk): stats.record_violation(&v);
//!         Drop -> send v.reply.to_line() and close; Enforce -> 550 every later
//!         RCPT TO (observer.enforce_reply()); Ignore -> log only.
//!         (observer.observe(line, more_buffered, pipelining) is the per-line form.)
//!       at RCPT TO: greylist.check(&Request { ip, sender, recipient,
//!         authenticated, allowlisted: s.allowlisted() }, now_s);
//!         stats.record_greylist(&a); a.reply() -> Some(450 4.7.1) to refuse
//!       at session end: observer.record_passes(&policy, &mut cache, now_s)
//! periodically: cache.expire(now_s), greylist.expire(now_s); save both with
//!   save(now_s) to screen/cache and screen/greylist; at boot load(...) and
//!   on LoadError log it and start empty.
//! ```
//!
//! # Where this follows postscreen, and where it deviates
//!
//! Followed: the `220-` teaser and the greet wait; a client that talks
//! first fails at once (`drop`: 521 right away; otherwise the wait ends as
//! soon as the DNSBL answers are in); a quiet client waits the full greet
//! wait even when the lists answered early; a score below the threshold
//! passes, at or above fails; pending lists count as not listed when the
//! time is up; `ignore`d failures are not cached, so the test repeats;
//! a DNSBL refusal names the list (`Service unavailable; client [ip]
//! blocked using <list>`); a refusal after the teaser is a `521` line
//! ending the half-sent greeting, as postscreen sends it.
//!
//! - After-220 tests run inside the real SMTP session (the observer), so a
//!   client that passes them is not told `450 4.3.2` to come back.
//! - The DNSBL pass is cached for a fixed TTL (`postscreen_dnsbl_max_ttl`),
//!   not the DNS reply's TTL, and only when every list answered.
//! - Access lists: the most specific block of allow/deny wins (deny on a
//!   tie), instead of a first-match ordered `postscreen_access_list`.
//! - A DNSWL-allowlisted client (score at or below the allowlist threshold)
//!   ends the pre-greet wait only once every list answered.
//! - The DNSBL budget is the longer of the greet wait and
//!   `dnsbl_timeout_ms` (`[screen] dnsbl_wait`); postscreen's is its greet
//!   wait (the default here). A zero greet wait turns the pre-greet test
//!   off, as `[screen] pregreet_wait = 0` documents.
//! - After EHLO our SMTP server offers PIPELINING, so the observer flags
//!   only what RFC 2920 3.1 forbids even then (a command that must end a
//!   group, such as EHLO or DATA, with more bytes behind it); postscreen's
//!   engine offers no PIPELINING and flags any command with bytes behind
//!   it, which [`ProtocolObserver::without_pipelining`] reproduces.
//! - Protocol-test refusals are `550`/`521 5.7.1` naming the test, not
//!   postscreen's bare `5.5.1 Protocol error`.
//! - The optional connection limits ([`Load`]) are checked after the
//!   access lists: allow-listed clients are exempt from both.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod bounded;
pub mod cache;
pub mod config;
pub mod dnsbl;
pub mod greylist;
pub mod observer;
pub mod reply;
pub mod screen;
pub mod stats;
pub mod text;

pub use cache::PassCache;
pub use config::{DeepTest, Policy, ScreenConfig, Ttls};
pub use dnsbl::{queries, query_name, score, DnsAnswer, DnsQuery, Score};
pub use greylist::{
    Answer as GreylistAnswer, ClientNet, Greylist, GreylistConfig, PassReason, Request as GreylistRequest,
};
pub use observer::{ProtocolObserver, Violation};
pub use reply::{Action, ScreenReply, Test};
pub use screen::{check_access, AccessHit, Load, Screen, TestState, Verdict};
pub use stats::Stats;
pub use text::LoadError;
