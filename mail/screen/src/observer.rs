//! postscreen's after-220 ("deep protocol") tests, observed while the real
//! SMTP session runs.
//!
//! postscreen runs these in its own small SMTP engine and, because it
//! cannot hand a live connection to smtpd, answers a client that passes
//! them with `450 4.3.2` so it comes back. Here the observer watches the
//! real session instead, so a passing client is never deferred (a
//! deliberate deviation: one fewer delay for good senders).

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::config::Policy;
use crate::reply::{self, Action, ScreenReply, Test};
use crate::PassCache;

const DEEP: [Test; 3] = [Test::Pipelining, Test::NonSmtp, Test::BareNewline];

/// A failed after-220 test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which test.
    pub test: Test,
    /// The configured action: `Ignore` (log only), `Enforce` (answer each
    /// RCPT TO with `reply`), `Drop` (send `reply` and close).
    pub action: Action,
    /// The 550 or 521 reply.
    pub reply: ScreenReply,
}

/// Watches the command lines of one SMTP session.
#[derive(Clone, Debug)]
pub struct ProtocolObserver {
    ip: IpAddr,
    active: [bool; 3],
    actions: [Action; 3],
    forbidden: Vec<String>,
    failed: [bool; 3],
    enforce: Option<ScreenReply>,
    saw_rcpt: bool,
}

impl ProtocolObserver {
    /// Observe the tests marked in `active` (pipelining, non-SMTP, bare
    /// newline). Usually made by [`crate::Screen::observer`].
    pub fn new(policy: &Policy, ip: IpAddr, active: [bool; 3]) -> Self {
        let cfg = &policy.screen;
        ProtocolObserver {
            ip,
            active,
            actions: [cfg.pipelining.action, cfg.non_smtp.action, cfg.bare_newline.action],
            forbidden: cfg.forbidden_commands.clone(),
            failed: [false; 3],
            enforce: None,
            saw_rcpt: false,
        }
    }

    /// One command line as received, with its line ending (`\r\n`, or a
    /// bare `\n`), `more_buffered`: whether more client bytes were already
    /// received behind it (before our reply was sent), and whether the
    /// client has seen PIPELINING in our EHLO reply. Do not feed message
    /// content (DATA lines, BDAT chunks). Each test reports at most once.
    pub fn observe(&mut self, line: &[u8], more_buffered: bool, pipelining_advertised: bool) -> Option<Violation> {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let bare_lf = line.ends_with(b"\n") && !body.ends_with(b"\r");
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let verb_end = body.iter().position(|b| *b == b' ').unwrap_or(body.len());
        let verb = &body[..verb_end];
        if verb.eq_ignore_ascii_case(b"RCPT") {
            self.saw_rcpt = true;
        }
        // Non-SMTP first: an HTTP request is the most telling finding.
        if !body.is_empty() && self.is_non_smtp(verb) {
            if let Some(v) = self.fail(Test::NonSmtp) {
                return Some(v);
            }
        }
        if more_buffered && must_be_last(verb, pipelining_advertised) {
            if let Some(v) = self.fail(Test::Pipelining) {
                return Some(v);
            }
        }
        // RFC 5321 2.3.8: lines end in CRLF; a bare LF is a sloppy or
        // hand-written client (and the root of SMTP smuggling).
        if bare_lf {
            if let Some(v) = self.fail(Test::BareNewline) {
                return Some(v);
            }
        }
        None
    }

    fn is_non_smtp(&self, verb: &[u8]) -> bool {
        // Postfix 3.9 `/^[^A-Z]/ Bogus`: SMTP verbs are letters; a TLS
        // ClientHello or binary junk is not.
        if !verb.first().is_some_and(|b| b.is_ascii_alphabetic()) {
            return true;
        }
        // HTTP header lines (`Host:`, `User-Agent:`) after a proxied request.
        if verb.ends_with(b":") {
            return true;
        }
        self.forbidden.iter().any(|f| f.as_bytes().eq_ignore_ascii_case(verb))
    }

    fn fail(&mut self, test: Test) -> Option<Violation> {
        let i = DEEP.iter().position(|t| *t == test)?;
        if !self.active[i] || self.failed[i] {
            return None;
        }
        self.failed[i] = true;
        let action = self.actions[i];
        let reply = reply::refusal(action, test, self.ip, None);
        if action == Action::Enforce && self.enforce.is_none() {
            self.enforce = Some(reply.clone());
        }
        Some(Violation { test, action, reply })
    }

    /// The 550 reply every further RCPT TO must get, once a test with
    /// `enforce` failed.
    pub fn enforce_reply(&self) -> Option<&ScreenReply> {
        self.enforce.as_ref()
    }

    /// Whether the client has passed: it reached RCPT TO (as postscreen
    /// decides) with no active test failed.
    pub fn passed(&self) -> bool {
        self.saw_rcpt && !self.failed.iter().zip(self.active).any(|(f, a)| *f && a)
    }

    /// At the end of the session: remember each active test the client
    /// passed (it reached RCPT TO without failing it), at `now` UNIX seconds.
    pub fn record_passes(&self, policy: &Policy, cache: &mut PassCache, now: u64) {
        if !self.saw_rcpt {
            return;
        }
        for (i, t) in DEEP.iter().enumerate() {
            if self.active[i] && !self.failed[i] {
                cache.record_pass(self.ip, *t, now, policy.screen.ttl.of(*t));
            }
        }
    }
}

/// RFC 2920 3.1: without PIPELINING every command waits for its reply;
/// with it, EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP still end a group,
/// and RFC 3207 4 (STARTTLS) and RFC 5321 4.1.1.1 (HELO) likewise. BDAT
/// carries its chunk right behind it (RFC 3030 2), so it is exempt.
fn must_be_last(verb: &[u8], pipelining_advertised: bool) -> bool {
    if verb.eq_ignore_ascii_case(b"BDAT") {
        return false;
    }
    if !pipelining_advertised {
        return true;
    }
    const LAST: [&[u8]; 9] = [b"EHLO", b"HELO", b"DATA", b"VRFY", b"EXPN", b"TURN", b"QUIT", b"NOOP", b"STARTTLS"];
    LAST.iter().any(|v| v.eq_ignore_ascii_case(verb))
}
