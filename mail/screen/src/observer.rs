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

/// Bytes of a line kept for analysis (the verb and a little more); the
/// rest is counted, not stored.
const HEAD: usize = 64;

/// Where the client byte stream is, as far as [`ProtocolObserver::feed`]
/// can tell without seeing the server's replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Command lines.
    Command,
    /// After `DATA`: message content up to the `.` line (RFC 5321 4.1.1.4).
    Data,
    /// After `BDAT n`: n bytes of content (RFC 3030 2).
    Bdat(u64),
    /// After `AUTH`: SASL response lines (RFC 4954 4), not commands.
    Auth,
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
    // Stream state for `feed`.
    phase: Phase,
    head: Vec<u8>,
    line_len: usize,
    last_byte: Option<u8>,
    ehlo_seen: bool,
    pipelining_offered: bool,
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
            phase: Phase::Command,
            head: Vec::new(),
            line_len: 0,
            last_byte: None,
            ehlo_seen: false,
            pipelining_offered: true,
        }
    }

    /// For a server that does not offer PIPELINING (postscreen's own
    /// engine does not): then [`ProtocolObserver::feed`] counts any
    /// command with bytes behind it as pipelined.
    pub fn without_pipelining(mut self) -> Self {
        self.pipelining_offered = false;
        self
    }

    /// Bytes as read from the client, one read at a time (including the
    /// screen's early input first). Splits command lines itself, skips
    /// message content (DATA up to `.`, BDAT chunks) and SASL responses,
    /// and counts a command as pipelined when more bytes follow it in the
    /// same read. PIPELINING counts as advertised after EHLO (our server
    /// always offers it) until STARTTLS (RFC 3207 4.2). Returns the tests
    /// failed in this chunk, most severe action first.
    ///
    /// Limitation: without the server's replies a refused DATA looks
    /// accepted, so the commands after it are taken for content (missed
    /// findings, never false ones).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Violation> {
        let mut found = Vec::new();
        let mut i = 0;
        while i < chunk.len() {
            if let Phase::Bdat(n) = self.phase {
                let take = n.min((chunk.len() - i) as u64);
                i += take as usize;
                self.phase = if n == take { Phase::Command } else { Phase::Bdat(n - take) };
                continue;
            }
            let rest = &chunk[i..];
            let (part, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(p) => (&rest[..p], true),
                None => (rest, false),
            };
            self.push(part);
            i += part.len();
            if complete {
                i += 1;
                let crlf = self.last_byte == Some(b'\r');
                self.line_done(crlf, i < chunk.len(), &mut found);
            }
        }
        found.sort_by_key(|v| core::cmp::Reverse(v.action));
        found
    }

    fn push(&mut self, part: &[u8]) {
        let room = HEAD.saturating_sub(self.head.len()).min(part.len());
        self.head.extend_from_slice(&part[..room]);
        self.line_len = self.line_len.saturating_add(part.len());
        if let Some(b) = part.last() {
            self.last_byte = Some(*b);
        }
    }

    fn line_done(&mut self, crlf: bool, more: bool, found: &mut Vec<Violation>) {
        let mut head = core::mem::take(&mut self.head);
        let len = core::mem::take(&mut self.line_len);
        self.last_byte = None;
        // The CR is part of the ending, not the text.
        let text_len = if crlf { len - 1 } else { len };
        head.truncate(text_len.min(HEAD));
        match self.phase {
            Phase::Data => {
                // RFC 5321 4.1.1.4: the content ends with a line of one dot.
                if text_len == 1 && head == b"." {
                    self.phase = Phase::Command;
                }
            }
            Phase::Auth if !head.is_empty() && !head.contains(&b' ') => {}
            Phase::Command | Phase::Auth | Phase::Bdat(_) => {
                self.phase = Phase::Command;
                let mut line = head;
                line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                let pipelining = self.ehlo_seen && self.pipelining_offered;
                if let Some(v) = self.observe(&line, more, pipelining) {
                    found.push(v);
                }
                line.truncate(line.len() - if crlf { 2 } else { 1 });
                self.track(&line, text_len);
            }
        }
        self.head = Vec::new();
    }

    /// Follow the session's phase from a command line (without ending).
    fn track(&mut self, line: &[u8], text_len: usize) {
        let mut words = line.split(|b| *b == b' ').filter(|w| !w.is_empty());
        let verb = words.next().unwrap_or(b"");
        let is = |v: &[u8]| verb.eq_ignore_ascii_case(v);
        if is(b"EHLO") {
            self.ehlo_seen = true;
        } else if is(b"HELO") || is(b"STARTTLS") {
            self.ehlo_seen = false;
        } else if is(b"DATA") && text_len == 4 {
            self.phase = Phase::Data;
        } else if is(b"AUTH") {
            self.phase = Phase::Auth;
        } else if is(b"BDAT") {
            let n = words.next().and_then(|w| core::str::from_utf8(w).ok()).and_then(crate::text::parse_u64);
            if let Some(n) = n.filter(|n| *n > 0) {
                self.phase = Phase::Bdat(n);
            }
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
        // postscreen: a command word that is not UTF-8 is not SMTP.
        if core::str::from_utf8(verb).is_err() {
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
