//! The SMTP server session (RFC 5321) as a sans-IO state machine.
//!
//! # Driving it
//!
//! ```text
//! let mut s = Server::new(config);          // the 220 greeting is queued
//! loop {
//!     send(s.output()); s.consume_output(n);  // or s.take_output()
//!     let used = s.feed(&received);           // consumes a prefix
//!     received.drain(..used);                 // keep the rest for later
//!     while let Some(ev) = s.poll_event() { /* answer requests */ }
//!     if s.is_closed() && s.output().is_empty() { close }
//! }
//! ```
//!
//! `feed` stops consuming (returns less than the input length) while a
//! request is unanswered, while a data chunk has not been taken with
//! `poll_event`, or while more than `Config::max_output` reply bytes wait to
//! be sent (backpressure against clients that pipeline without reading).
//! The caller keeps the unconsumed bytes and feeds them again later. Because
//! every byte goes through the same per-byte logic, any fragmentation of the
//! input gives the same replies, events and content.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use alloc::{format, vec};

use crate::address::{self, AddressError, Mailbox, ReversePath};
use crate::base64;
use crate::command::{self, Command};
use crate::data::{BareEndings, DataScanner};
use crate::reply::{Enhanced, Reply};

/// VRFY behaviour (RFC 5321 3.5.3 / 7.3: VRFY may be disabled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrfyPolicy {
    /// `252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery`
    Ambiguous,
    /// `502 5.5.1 VRFY command is disabled`
    Disabled,
}

/// When AUTH is offered (RFC 4954 4, RFC 8314 advice: not in clear text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No AUTH at all (port 25).
    Disabled,
    /// Only after STARTTLS or on implicit TLS.
    TlsOnly,
    /// Also in clear text (tests, or a trusted local network).
    Always,
}

/// Every limit and switch of a session.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our host name for the greeting, EHLO and 421 replies.
    pub hostname: String,
    /// Text after `220 <hostname> ` in the greeting.
    pub banner: String,
    /// RFC 1870 SIZE: the largest message accepted, in octets.
    pub max_message_size: u64,
    /// RFC 5321 4.5.3.1.8: at least 100 must be accepted.
    pub max_recipients: usize,
    /// RFC 5321 4.5.3.1.4: command line including CR LF (512).
    pub max_command_line: usize,
    /// RFC 4954 4: AUTH lines may be longer (12288 suggested).
    pub max_auth_line: usize,
    /// Text line limit in DATA (RFC 5321 4.5.3.1.6: 1000 including CR LF).
    /// `None` accepts any length: lines are streamed, never buffered, so a
    /// 1 MB line costs no memory, and real mail often breaks this limit.
    pub max_data_line: Option<usize>,
    /// Commands per session before `421 4.7.0`.
    pub max_commands: u32,
    /// Error replies per session before `421 4.7.0` and close.
    pub max_errors: u32,
    /// Bare CR / bare LF in DATA (smuggling defence).
    pub bare_endings: BareEndings,
    /// VRFY answer.
    pub vrfy: VrfyPolicy,
    /// STARTTLS can be offered (a certificate is configured).
    pub starttls: bool,
    /// Mail transactions require TLS first (`530 5.7.0`).
    pub require_tls: bool,
    /// AUTH availability.
    pub auth: AuthPolicy,
    /// Mail transactions require AUTH first (submission, `530 5.7.0`).
    pub require_auth: bool,
    /// Ask the caller about each MAIL FROM (`Event::CheckSender`).
    pub check_sender: bool,
    /// Size of the content chunks handed out in `Event::Data`.
    pub data_chunk: usize,
    /// Reply bytes waiting to be sent above which input is not consumed.
    pub max_output: usize,
}

impl Config {
    /// Defaults for an MX on port 25 (Postfix-like numbers).
    pub fn new(hostname: &str) -> Self {
        Config {
            hostname: String::from(hostname),
            banner: String::from("ESMTP"),
            max_message_size: 10_240_000,
            max_recipients: 100,
            max_command_line: 512,
            max_auth_line: 12288,
            max_data_line: None,
            max_commands: 10_000,
            max_errors: 20,
            bare_endings: BareEndings::Reject,
            vrfy: VrfyPolicy::Disabled,
            starttls: false,
            require_tls: false,
            auth: AuthPolicy::Disabled,
            require_auth: false,
            check_sender: false,
            data_chunk: 16 * 1024,
            max_output: 64 * 1024,
        }
    }
}

/// Negotiated TLS parameters, reported by the caller after the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// e.g. `TLSv1.3`
    pub version: String,
    /// e.g. `TLS_AES_256_GCM_SHA384`
    pub cipher: String,
}

/// RFC 6152 / RFC 1652 BODY parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    /// Not given (treated as 7BIT, but 8-bit data is accepted as Postfix does).
    Unspecified,
    SevenBit,
    EightBitMime,
}

/// The envelope of one mail transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub sender: ReversePath,
    /// Accepted recipients, in order.
    pub recipients: Vec<Mailbox>,
    pub body: BodyType,
    /// RFC 6531 SMTPUTF8 was given on MAIL.
    pub smtputf8: bool,
    /// RFC 1870 SIZE= value, if given.
    pub declared_size: Option<u64>,
    /// Content octets received (after dot-unstuffing; BDAT: raw).
    pub size: u64,
    /// BDAT (RFC 3030) rather than DATA carried the content.
    pub chunking: bool,
}

/// Session facts the delivery code needs beside the envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    /// HELO/EHLO argument.
    pub helo: String,
    /// EHLO (true) or HELO (false).
    pub esmtp: bool,
    pub tls: Option<TlsInfo>,
    pub auth_user: Option<String>,
}

/// Why a message was refused by the state machine itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortReason {
    /// More than `max_message_size` octets.
    TooBig,
    /// Bare CR or LF under `BareEndings::Reject`.
    BareLineEnding,
    /// A DATA line longer than `max_data_line`.
    LineTooLong,
    /// The session ended (timeout, error limit) during the content.
    SessionEnded,
    /// RSET, QUIT or EHLO between BDAT chunks.
    Reset,
}

/// A SASL credential check request (RFC 4954).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthRequest {
    /// `PLAIN` or `LOGIN`
    pub mechanism: &'static str,
    /// PLAIN authorization identity (empty when absent).
    pub authzid: String,
    pub username: String,
    pub password: String,
}

/// The caller's verdict on credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthAnswer {
    /// `235 2.7.0`; the string is the authenticated identity.
    Success(String),
    /// `535 5.7.8`
    Invalid,
    /// `454 4.7.0` (e.g. the password store is unavailable).
    TempFail,
}

/// What the state machine tells the caller. Variants marked "request" block
/// the session until the matching `answer_*` / `tls_established` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// HELO/EHLO accepted (informational).
    Helo { name: String, esmtp: bool },
    /// Request: decide on this sender (only with `Config::check_sender`);
    /// answer with `answer_sender`.
    CheckSender { sender: ReversePath, smtputf8: bool, declared_size: Option<u64> },
    /// Request: decide on this recipient; answer with `answer_recipient`.
    /// The current sender is available from `Server::envelope()`.
    CheckRecipient(Mailbox),
    /// DATA got 354 or the first BDAT began: open a spool file.
    MessageStart,
    /// The next piece of content (dot-unstuffed, in order).
    Data(Vec<u8>),
    /// Request: all content has been delivered through `Data`; make it
    /// durable and answer with `answer_message` (e.g. `Reply::queued`).
    MessageComplete(Envelope),
    /// The state machine refused the message itself (reply already queued):
    /// discard what `Data` delivered.
    MessageAborted(AbortReason),
    /// Request: the `220 2.0.0` reply is in the output; send it in clear,
    /// then run the TLS handshake and call `tls_established`. Plaintext
    /// bytes received meanwhile must not be fed (they are discarded anyway).
    StartTls,
    /// Request: check these credentials; answer with `answer_auth`.
    Authenticate(AuthRequest),
    /// Send the remaining output, then close the connection.
    Close,
}

/// Returned when an answer does not match the pending request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotPending;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    Sender,
    Recipient(Mailbox),
    Message,
    Auth,
    Tls,
}

#[derive(Clone, Debug)]
enum Phase {
    Command,
    /// Waiting for a base64 SASL response line (RFC 4954 4).
    AuthLine(AuthStep),
    Data(DataScanner),
    Bdat {
        remaining: u64,
        last: bool,
        error: Option<Reply>,
    },
    /// After STARTTLS until `tls_established`: input is discarded.
    TlsWait,
    Closed,
}

#[derive(Clone, Debug)]
enum AuthStep {
    Plain,
    LoginUser,
    LoginPass(String),
}

#[derive(Clone, Debug)]
struct Transaction {
    env: Envelope,
    rejected_rcpts: u32,
    bdat_started: bool,
    doomed: Option<AbortReason>,
}

/// One SMTP server session.
pub struct Server {
    cfg: Config,
    phase: Phase,
    pending: Option<Pending>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    data_events: usize,
    line: Vec<u8>,
    line_overflow: bool,
    chunk: Vec<u8>,
    helo: Option<(String, bool)>,
    tls: Option<TlsInfo>,
    auth_user: Option<String>,
    tx: Option<Transaction>,
    /// A MAIL waiting for `answer_sender`.
    proposed: Option<Envelope>,
    commands: u32,
    errors: u32,
}

const E_OK: Enhanced = Enhanced(2, 0, 0);
const E_SEQ: Enhanced = Enhanced(5, 5, 1);
const E_SYNTAX: Enhanced = Enhanced(5, 5, 4);

impl Server {
    /// A session on a plain connection; queues the `220` greeting.
    pub fn new(cfg: Config) -> Self {
        Self::with_tls(cfg, None)
    }

    /// A session on an implicit-TLS connection (RFC 8314 port 465) when
    /// `tls` is `Some`.
    pub fn with_tls(cfg: Config, tls: Option<TlsInfo>) -> Self {
        let mut s = Server {
            phase: Phase::Command,
            pending: None,
            out: Vec::new(),
            events: VecDeque::new(),
            data_events: 0,
            line: Vec::new(),
            line_overflow: false,
            chunk: Vec::new(),
            helo: None,
            tls,
            auth_user: None,
            tx: None,
            proposed: None,
            commands: 0,
            errors: 0,
            cfg,
        };
        // RFC 5321 4.2 / RFC 2034 3: the greeting has no enhanced code.
        let g = Reply::plain(220, format!("{} {}", s.cfg.hostname, s.cfg.banner));
        g.write_to(&mut s.out);
        s
    }

    // ----- output and events -------------------------------------------

    /// Reply bytes waiting to be sent.
    pub fn output(&self) -> &[u8] {
        &self.out
    }
    /// Mark `n` output bytes as sent.
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }
    /// Take all waiting output.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }
    /// Next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.events.pop_front()?;
        if matches!(ev, Event::Data(_)) {
            self.data_events -= 1;
        }
        Some(ev)
    }
    /// The session is over (after QUIT, a fatal error or a timeout).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }
    /// A request is waiting for the caller's answer.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }
    /// The current transaction's envelope (sender, recipients so far).
    pub fn envelope(&self) -> Option<&Envelope> {
        self.tx.as_ref().map(|t| &t.env)
    }
    /// HELO name, TLS and AUTH state, for trace headers and policy.
    pub fn facts(&self) -> SessionFacts {
        SessionFacts {
            helo: self.helo.as_ref().map(|h| h.0.clone()).unwrap_or_default(),
            esmtp: self.helo.as_ref().is_some_and(|h| h.1),
            tls: self.tls.clone(),
            auth_user: self.auth_user.clone(),
        }
    }

    fn reply(&mut self, r: Reply) {
        r.write_to(&mut self.out);
    }

    /// Write an error reply that counts toward `max_errors`.
    fn error(&mut self, r: Reply) {
        self.reply(r);
        self.errors += 1;
        if self.errors >= self.cfg.max_errors && !self.is_closed() {
            let t = format!("{} Error: too many errors", self.cfg.hostname);
            self.close_with(Reply::new(421, Enhanced(4, 7, 0), t));
        }
    }

    fn close_with(&mut self, r: Reply) {
        self.reply(r);
        self.abort_content(AbortReason::SessionEnded);
        if self.pending == Some(Pending::Message) {
            // The final reply will never be sent, so the client will retry:
            // the caller should drop its copy rather than deliver twice.
            self.events.push_back(Event::MessageAborted(AbortReason::SessionEnded));
        }
        self.phase = Phase::Closed;
        self.pending = None;
        self.events.push_back(Event::Close);
    }

    fn abort_content(&mut self, why: AbortReason) {
        // A message has started (MessageStart was emitted) only in DATA or
        // once a BDAT chunk was accepted.
        if matches!(self.phase, Phase::Data(_)) || self.tx.as_ref().is_some_and(|t| t.bdat_started) {
            self.chunk = Vec::new();
            self.events.push_back(Event::MessageAborted(why));
            self.tx = None;
        }
    }

    /// End the transaction (RSET, QUIT, EHLO, ...). If BDAT chunks were
    /// already handed out, tell the caller to discard them.
    fn reset_tx(&mut self) {
        if let Some(tx) = self.tx.take() {
            if tx.bdat_started {
                self.chunk = Vec::new();
                self.events.push_back(Event::MessageAborted(AbortReason::Reset));
            }
        }
    }

    fn blocked(&self) -> bool {
        self.pending.is_some() || self.data_events > 0 || self.out.len() > self.cfg.max_output
    }

    // ----- caller inputs ---------------------------------------------------

    /// The caller's idle timer fired: `421 4.4.2` and close.
    pub fn timeout(&mut self) {
        if self.is_closed() {
            return;
        }
        let t = format!("{} Error: timeout exceeded", self.cfg.hostname);
        self.close_with(Reply::new(421, Enhanced(4, 4, 2), t));
    }

    /// Close with `421 4.3.2` (e.g. the server is shutting down).
    pub fn shutdown(&mut self) {
        if !self.is_closed() {
            let t = format!("{} Service shutting down, closing transmission channel", self.cfg.hostname);
            self.close_with(Reply::new(421, Enhanced(4, 3, 2), t));
        }
    }

    /// Refuse the connection instead of greeting it (RFC 5321 3.1: a
    /// server may answer 554, or 421 when it cannot serve now, in place
    /// of the 220). Before any command the waiting greeting is replaced;
    /// later it is the same as closing with `r`.
    pub fn refuse(&mut self, r: Reply) {
        if self.is_closed() {
            return;
        }
        if self.commands == 0 && self.helo.is_none() {
            self.out.clear();
        }
        self.close_with(r);
    }

    /// Feed received bytes; returns how many were consumed.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        let mut used = 0;
        loop {
            match self.phase {
                // RFC 3207 4.2 / 5: nothing sent before the TLS handshake
                // may be acted on (STARTTLS command injection).
                Phase::Closed | Phase::TlsWait => return input.len(),
                _ => {}
            }
            if used >= input.len() || self.blocked() {
                return used;
            }
            let rest = &input[used..];
            used += match self.phase {
                Phase::Command | Phase::AuthLine(_) => self.feed_line(rest),
                Phase::Data(_) => self.feed_data(rest),
                Phase::Bdat { .. } => self.feed_bdat(rest),
                Phase::TlsWait | Phase::Closed => unreachable!(),
            };
        }
    }

    fn line_limit(&self) -> usize {
        let auth = matches!(self.phase, Phase::AuthLine(_))
            || (self.line.len() >= 5 && self.line[..5].eq_ignore_ascii_case(b"AUTH "));
        let limit = if auth { self.cfg.max_auth_line } else { self.cfg.max_command_line };
        limit.saturating_sub(2)
    }

    fn feed_line(&mut self, input: &[u8]) -> usize {
        let (part, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(p) => (&input[..p], true),
            None => (input, false),
        };
        if !self.line_overflow {
            // Append in two steps so the AUTH prefix can raise the limit.
            let head = part.len().min(5usize.saturating_sub(self.line.len()));
            self.line.extend_from_slice(&part[..head]);
            let tail = &part[head..];
            // +1: a CR before the LF is not part of the limit.
            if self.line.len() + tail.len() > self.line_limit() + 1 {
                self.line_overflow = true;
                self.line = Vec::new();
            } else {
                self.line.extend_from_slice(tail);
            }
        }
        if complete {
            let limit = self.line_limit();
            let mut line = core::mem::take(&mut self.line);
            let overflow = core::mem::replace(&mut self.line_overflow, false);
            let crlf = line.last() == Some(&b'\r');
            if crlf {
                line.pop();
            }
            if overflow || line.len() > limit {
                // RFC 5321 4.5.3.1.4 / 4.2.2: 500 line too long.
                if matches!(self.phase, Phase::AuthLine(_)) {
                    self.phase = Phase::Command;
                }
                self.count_command();
                if !self.is_closed() {
                    self.error(Reply::new(500, Enhanced(5, 5, 2), "Error: line too long"));
                }
            } else if (!crlf && self.cfg.bare_endings == BareEndings::Reject) || line.contains(&b'\r') {
                if matches!(self.phase, Phase::AuthLine(_)) {
                    self.phase = Phase::Command;
                }
                self.error(Reply::new(500, Enhanced(5, 5, 2), "Error: bare <CR> or <LF> received"));
            } else if let Phase::AuthLine(step) = core::mem::replace(&mut self.phase, Phase::Command) {
                self.auth_line(step, &line);
            } else {
                self.count_command();
                if !self.is_closed() {
                    self.command(&line);
                }
            }
            // Keep a small allocation for the next line.
            line.clear();
            if line.capacity() <= 1024 {
                self.line = line;
            }
            part.len() + 1
        } else {
            part.len()
        }
    }

    fn count_command(&mut self) {
        self.commands += 1;
        if self.commands > self.cfg.max_commands {
            let t = format!("{} Error: too many commands", self.cfg.hostname);
            self.close_with(Reply::new(421, Enhanced(4, 7, 0), t));
        }
    }

    // ----- commands ------------------------------------------------------

    fn command(&mut self, line: &[u8]) {
        match command::parse(line) {
            Command::Helo(arg) => self.helo(arg, false),
            Command::Ehlo(arg) => self.helo(arg, true),
            Command::Mail(arg) => self.mail(arg),
            Command::Rcpt(arg) => self.rcpt(arg),
            Command::Data(arg) => self.data(arg),
            Command::Bdat(arg) => self.bdat(arg),
            Command::Rset(arg) => {
                if !arg.is_empty() {
                    return self.error(Reply::new(501, E_SYNTAX, "Syntax: RSET"));
                }
                // RFC 5321 4.1.1.5
                self.reset_tx();
                self.reply(Reply::new(250, E_OK, "Ok"));
            }
            Command::Noop => self.reply(Reply::new(250, E_OK, "Ok")),
            Command::Quit(arg) => {
                if !arg.is_empty() {
                    return self.error(Reply::new(501, E_SYNTAX, "Syntax: QUIT"));
                }
                // RFC 5321 4.1.1.10
                self.reset_tx();
                self.reply(Reply::new(221, E_OK, "Bye"));
                self.phase = Phase::Closed;
                self.events.push_back(Event::Close);
            }
            Command::Vrfy(arg) => {
                if arg.is_empty() {
                    return self.error(Reply::new(501, E_SYNTAX, "Syntax: VRFY address"));
                }
                // RFC 5321 3.5.3: 252 when we will not verify.
                match self.cfg.vrfy {
                    VrfyPolicy::Ambiguous => self.reply(Reply::new(
                        252,
                        Enhanced(2, 5, 2),
                        "Cannot VRFY user, but will accept message and attempt delivery",
                    )),
                    VrfyPolicy::Disabled => self.error(Reply::new(502, E_SEQ, "VRFY command is disabled")),
                }
            }
            Command::Expn => self.error(Reply::new(502, E_SEQ, "EXPN command is disabled")),
            Command::Help => self.reply(Reply::new(
                214,
                E_OK,
                "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
            )),
            Command::StartTls(arg) => self.starttls(arg),
            Command::Auth(arg) => self.auth(arg),
            Command::NotImplemented => self.error(Reply::new(502, E_SEQ, "Error: command not implemented")),
            Command::BadSyntax => {
                self.error(Reply::new(501, E_SYNTAX, "Syntax: MAIL FROM:<address> / RCPT TO:<address>"))
            }
            Command::Unknown => self.error(Reply::new(500, E_SEQ, "Error: command not recognized")),
        }
    }

    fn helo(&mut self, arg: &[u8], esmtp: bool) {
        let verb = if esmtp { "EHLO" } else { "HELO" };
        // RFC 5321 4.1.1.1: a domain or address literal. Accept any printable
        // token (real clients send bad names); policy is the caller's job.
        let ok = !arg.is_empty() && arg.iter().all(|&b| b > 0x20 && b != 0x7f);
        let name = match core::str::from_utf8(arg) {
            Ok(n) if ok => String::from(n),
            _ => {
                // RFC 2034 3: no enhanced code on HELO/EHLO replies.
                return self.error(Reply::plain(501, format!("Syntax: {} hostname", verb)));
            }
        };
        // RFC 5321 4.1.4: EHLO/HELO resets any transaction.
        self.reset_tx();
        self.helo = Some((name.clone(), esmtp));
        self.events.push_back(Event::Helo { name, esmtp });
        if !esmtp {
            return self.reply(Reply::plain(250, self.cfg.hostname.clone()));
        }
        let mut text = self.cfg.hostname.clone();
        // RFC 2920
        text.push_str("\nPIPELINING");
        // RFC 1870
        text.push_str(&format!("\nSIZE {}", self.cfg.max_message_size));
        // RFC 3207: only before TLS is active.
        if self.cfg.starttls && self.tls.is_none() {
            text.push_str("\nSTARTTLS");
        }
        // RFC 4954
        if self.auth_allowed() && self.auth_user.is_none() {
            text.push_str("\nAUTH PLAIN LOGIN");
        }
        // RFC 2034, RFC 6152, RFC 6531, RFC 3030
        text.push_str("\nENHANCEDSTATUSCODES\n8BITMIME\nSMTPUTF8\nCHUNKING");
        self.reply(Reply::plain(250, text));
    }

    fn auth_allowed(&self) -> bool {
        match self.cfg.auth {
            AuthPolicy::Disabled => false,
            AuthPolicy::TlsOnly => self.tls.is_some(),
            AuthPolicy::Always => true,
        }
    }

    /// Common checks before MAIL.
    fn mail_gate(&mut self) -> bool {
        if self.helo.is_none() {
            self.error(Reply::new(503, E_SEQ, "Error: send HELO/EHLO first"));
        } else if self.tx.is_some() {
            self.error(Reply::new(503, E_SEQ, "Error: nested MAIL command"));
        } else if self.cfg.require_tls && self.tls.is_none() {
            self.error(Reply::new(530, Enhanced(5, 7, 0), "Must issue a STARTTLS command first"));
        } else if self.cfg.require_auth && self.auth_user.is_none() {
            self.error(Reply::new(530, Enhanced(5, 7, 0), "Authentication required"));
        } else {
            return true;
        }
        false
    }

    fn mail(&mut self, arg: &[u8]) {
        if !self.mail_gate() {
            return;
        }
        let bad_sender = |t: &'static str| Reply::new(501, Enhanced(5, 1, 7), t);
        let Some((path, params)) = command::split_path(arg) else {
            return self.error(bad_sender("Bad sender address syntax"));
        };
        let esmtp = self.helo.as_ref().is_some_and(|h| h.1);
        let Some(params) = command::parse_params(params, 10) else {
            return self.error(Reply::new(501, E_SYNTAX, "Bad MAIL parameter syntax"));
        };
        if !esmtp && !params.is_empty() {
            // RFC 5321 4.1.1.11: parameters only after EHLO.
            return self.error(Reply::new(555, E_SYNTAX, "MAIL parameters need EHLO"));
        }
        let mut env = Envelope {
            sender: ReversePath::Null,
            recipients: Vec::new(),
            body: BodyType::Unspecified,
            smtputf8: false,
            declared_size: None,
            size: 0,
            chunking: false,
        };
        let mut seen: Vec<&str> = Vec::new();
        for p in &params {
            if seen.contains(&p.keyword.as_str()) {
                return self.error(Reply::new(501, E_SYNTAX, "Duplicate MAIL parameter"));
            }
            seen.push(&p.keyword);
            match (p.keyword.as_str(), p.value.as_deref()) {
                // RFC 1870 6
                ("SIZE", Some(v)) if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) => {
                    let n = v.bytes().fold(0u64, |a, b| a.saturating_mul(10).saturating_add((b - b'0') as u64));
                    if n > self.cfg.max_message_size {
                        return self.error(Reply::new(
                            552,
                            Enhanced(5, 3, 4),
                            "Message size exceeds fixed maximum message size",
                        ));
                    }
                    env.declared_size = Some(n);
                }
                // RFC 6152 / RFC 1652
                ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => env.body = BodyType::EightBitMime,
                ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => env.body = BodyType::SevenBit,
                // RFC 6531 3.4
                ("SMTPUTF8", None) => env.smtputf8 = true,
                // RFC 4954 5: the server MAY ignore AUTH= (we do).
                ("AUTH", Some(_)) => {}
                ("SIZE" | "BODY" | "SMTPUTF8" | "AUTH", _) => {
                    return self.error(Reply::new(501, E_SYNTAX, format!("Bad {} parameter value", p.keyword)));
                }
                _ => {
                    // RFC 5321 4.1.1.11: 555 for unrecognised parameters.
                    return self.error(Reply::new(555, E_SYNTAX, format!("Unsupported option: {}", p.keyword)));
                }
            }
        }
        env.sender = match address::parse_reverse_path(path, env.smtputf8) {
            Ok(s) => s,
            Err(e) => return self.address_error(e, true),
        };
        if self.cfg.check_sender {
            self.events.push_back(Event::CheckSender {
                sender: env.sender.clone(),
                smtputf8: env.smtputf8,
                declared_size: env.declared_size,
            });
            self.proposed = Some(env);
            self.pending = Some(Pending::Sender);
        } else {
            self.start_tx(env);
            self.reply(Reply::sender_ok());
        }
    }

    fn start_tx(&mut self, env: Envelope) {
        self.tx = Some(Transaction { env, rejected_rcpts: 0, bdat_started: false, doomed: None });
    }

    fn address_error(&mut self, e: AddressError, sender: bool) {
        let detail = if sender { 7 } else { 3 };
        let who = if sender { "sender" } else { "recipient" };
        let r = match e {
            AddressError::Syntax => Reply::new(501, Enhanced(5, 1, detail), format!("Bad {} address syntax", who)),
            AddressError::TooLong => Reply::new(501, Enhanced(5, 1, detail), format!("Bad {} address: too long", who)),
            // RFC 6531 3.7.4.1
            AddressError::Utf8NotAllowed => Reply::new(
                553,
                Enhanced(5, 6, 7),
                format!("Non-ASCII addresses not permitted for that {} without SMTPUTF8", who),
            ),
        };
        self.error(r);
    }

    fn rcpt(&mut self, arg: &[u8]) {
        let (utf8, count, bdat) = match &self.tx {
            None => return self.error(Reply::new(503, E_SEQ, "Error: need MAIL command")),
            Some(t) => (t.env.smtputf8, t.env.recipients.len(), t.bdat_started),
        };
        if bdat {
            return self.error(Reply::new(503, E_SEQ, "Error: RCPT after BDAT"));
        }
        let Some((path, params)) = command::split_path(arg) else {
            return self.error(Reply::new(501, Enhanced(5, 1, 3), "Bad recipient address syntax"));
        };
        let Some(params) = command::parse_params(params, 10) else {
            return self.error(Reply::new(501, E_SYNTAX, "Bad RCPT parameter syntax"));
        };
        if let Some(p) = params.first() {
            return self.error(Reply::new(555, E_SYNTAX, format!("Unsupported option: {}", p.keyword)));
        }
        let mailbox = match address::parse_forward_path(path, utf8) {
            Ok(m) => m,
            Err(e) => return self.address_error(e, false),
        };
        if count >= self.cfg.max_recipients {
            // RFC 5321 4.5.3.1.10: 452 for too many recipients; not an error
            // of the client, so it does not count toward max_errors.
            return self.reply(Reply::new(452, Enhanced(4, 5, 3), "Error: too many recipients"));
        }
        self.events.push_back(Event::CheckRecipient(mailbox.clone()));
        self.pending = Some(Pending::Recipient(mailbox));
    }

    /// Why DATA/BDAT cannot start now, if so.
    fn content_gate(&self) -> Option<Reply> {
        match &self.tx {
            None if self.helo.is_none() => Some(Reply::new(503, E_SEQ, "Error: send HELO/EHLO first")),
            None => Some(Reply::new(503, E_SEQ, "Error: need MAIL command")),
            // RFC 5321 3.3: 554 when every RCPT was rejected, else 503.
            Some(t) if t.env.recipients.is_empty() && t.rejected_rcpts > 0 => {
                Some(Reply::new(554, E_SEQ, "Error: no valid recipients"))
            }
            Some(t) if t.env.recipients.is_empty() => Some(Reply::new(503, E_SEQ, "Error: need RCPT command")),
            Some(_) => None,
        }
    }

    fn data(&mut self, arg: &[u8]) {
        if !arg.is_empty() {
            return self.error(Reply::new(501, E_SYNTAX, "Syntax: DATA"));
        }
        if let Some(r) = self.content_gate() {
            return self.error(r);
        }
        if self.tx.as_ref().is_some_and(|t| t.bdat_started) {
            // RFC 3030 2: DATA and BDAT cannot be mixed in one transaction.
            return self.error(Reply::new(503, E_SEQ, "Error: DATA after BDAT"));
        }
        // RFC 2034 3: 3xx replies carry no enhanced code.
        self.reply(Reply::plain(354, "End data with <CR><LF>.<CR><LF>"));
        self.events.push_back(Event::MessageStart);
        self.chunk = Vec::with_capacity(self.cfg.data_chunk + DataScanner::MAX_EXPANSION);
        self.phase = Phase::Data(DataScanner::new(self.cfg.bare_endings));
    }

    /// Hand the buffered content out. After the `last` chunk no buffer is
    /// kept, so idle sessions hold no chunk memory.
    fn flush_chunk(&mut self, last: bool) {
        if !self.chunk.is_empty() {
            let next =
                if last { Vec::new() } else { Vec::with_capacity(self.cfg.data_chunk + DataScanner::MAX_EXPANSION) };
            let c = core::mem::replace(&mut self.chunk, next);
            self.events.push_back(Event::Data(c));
            self.data_events += 1;
        } else if last {
            self.chunk = Vec::new();
        }
    }

    fn feed_data(&mut self, input: &[u8]) -> usize {
        let Phase::Data(scanner) = &mut self.phase else { unreachable!() };
        // Never let the chunk grow past data_chunk + MAX_EXPANSION.
        let room = self.cfg.data_chunk.saturating_sub(self.chunk.len()) / DataScanner::MAX_EXPANSION;
        let take = input.len().min(room.max(1));
        let (used, end) = scanner.scan(&input[..take], &mut self.chunk);
        let (size, bare, longest) = (scanner.size, scanner.bare_seen, scanner.longest_line());
        let tx = self.tx.as_mut().expect("DATA without transaction");
        let reason = if size > self.cfg.max_message_size {
            Some(AbortReason::TooBig)
        } else if bare && self.cfg.bare_endings == BareEndings::Reject {
            Some(AbortReason::BareLineEnding)
        } else if self.cfg.max_data_line.is_some_and(|m| longest > m.saturating_sub(2)) {
            Some(AbortReason::LineTooLong)
        } else {
            None
        };
        // Latch the first problem (stop handing content out), but at the end
        // decide the reason from the whole content: all three measures only
        // grow, so the reply no longer depends on how the input was split
        // (found by fuzz/smtp_server).
        if tx.doomed.is_none() || end {
            tx.doomed = reason.or(tx.doomed);
        }
        tx.env.size = size;
        if tx.doomed.is_some() {
            // Keep reading to the end of data, but hand nothing more out.
            self.chunk.clear();
        }
        if end {
            self.phase = Phase::Command;
            self.end_of_content();
        } else if self.chunk.len() >= self.cfg.data_chunk {
            self.flush_chunk(false);
        }
        used
    }

    /// All content is in: hand the envelope to the caller or refuse.
    fn end_of_content(&mut self) {
        let tx = self.tx.as_ref().expect("content without transaction");
        match tx.doomed {
            Some(why) => {
                self.chunk = Vec::new();
                self.tx = None;
                self.events.push_back(Event::MessageAborted(why));
                let r = match why {
                    // RFC 1870 6.2 / RFC 3463 5.3.4
                    AbortReason::TooBig => Reply::new(552, Enhanced(5, 3, 4), "Error: message file too big"),
                    AbortReason::BareLineEnding => Reply::new(
                        550,
                        Enhanced(5, 5, 2),
                        "Error: bare <CR> or <LF> in message content; lines must end with <CR><LF>",
                    ),
                    AbortReason::LineTooLong => Reply::new(
                        550,
                        Enhanced(5, 5, 2),
                        format!("Error: message line longer than {} octets", self.cfg.max_data_line.unwrap_or(0)),
                    ),
                    AbortReason::SessionEnded | AbortReason::Reset => {
                        Reply::new(451, Enhanced(4, 3, 0), "Error: aborted")
                    }
                };
                self.error(r);
            }
            None => {
                let env = tx.env.clone();
                self.flush_chunk(true);
                self.events.push_back(Event::MessageComplete(env));
                self.pending = Some(Pending::Message);
            }
        }
    }

    fn bdat(&mut self, arg: &[u8]) {
        // RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]
        let mut parts = arg.split(|&b| b == b' ');
        let size = parts.next().unwrap_or(b"");
        let last = match parts.next() {
            None => false,
            Some(m) if m.eq_ignore_ascii_case(b"LAST") => true,
            Some(_) => return self.error(Reply::new(501, E_SYNTAX, "Syntax: BDAT size [LAST]")),
        };
        if parts.next().is_some() || size.is_empty() || size.len() > 20 || !size.iter().all(|b| b.is_ascii_digit()) {
            // The chunk size is unknown, so its bytes cannot be skipped.
            return self.error(Reply::new(501, E_SYNTAX, "Syntax: BDAT size [LAST]"));
        }
        let n = size.iter().fold(0u64, |a, b| a.saturating_mul(10).saturating_add((b - b'0') as u64));
        // RFC 3030 2: even a refused chunk's octets MUST be read and discarded.
        let error = self.content_gate();
        if error.is_none() {
            let max = self.cfg.max_message_size;
            let tx = self.tx.as_mut().unwrap();
            if !tx.bdat_started {
                tx.bdat_started = true;
                tx.env.chunking = true;
                self.events.push_back(Event::MessageStart);
                self.chunk = Vec::with_capacity(self.cfg.data_chunk);
            }
            if tx.doomed.is_none() && tx.env.size.saturating_add(n) > max {
                tx.doomed = Some(AbortReason::TooBig);
                self.chunk = Vec::new();
            }
        }
        self.phase = Phase::Bdat { remaining: n, last, error };
        if n == 0 {
            self.end_bdat();
        }
    }

    fn feed_bdat(&mut self, input: &[u8]) -> usize {
        let Phase::Bdat { remaining, error, .. } = &mut self.phase else { unreachable!() };
        let room = self.cfg.data_chunk.saturating_sub(self.chunk.len()).max(1);
        let take = (input.len() as u64).min(*remaining).min(room as u64) as usize;
        *remaining -= take as u64;
        let done = *remaining == 0;
        if error.is_none() {
            let tx = self.tx.as_mut().unwrap();
            tx.env.size += take as u64;
            if tx.doomed.is_none() {
                self.chunk.extend_from_slice(&input[..take]);
            }
        }
        if done {
            self.end_bdat();
        } else if self.chunk.len() >= self.cfg.data_chunk {
            self.flush_chunk(false);
        }
        take
    }

    fn end_bdat(&mut self) {
        let Phase::Bdat { last, error, .. } = core::mem::replace(&mut self.phase, Phase::Command) else {
            unreachable!()
        };
        if let Some(r) = error {
            return self.error(r);
        }
        let tx = self.tx.as_ref().unwrap();
        if last || tx.doomed.is_some() {
            // RFC 3030 2: a failed chunk fails the transaction; later BDATs
            // then get 503 (no transaction) and are skipped.
            self.end_of_content();
        } else {
            let t = format!("Ok: {} octets received", tx.env.size);
            self.reply(Reply::new(250, E_OK, t));
        }
    }

    // ----- STARTTLS and AUTH -----------------------------------------------

    fn starttls(&mut self, arg: &[u8]) {
        if !self.cfg.starttls {
            return self.error(Reply::new(502, E_SEQ, "Error: command not implemented"));
        }
        if !arg.is_empty() {
            return self.error(Reply::new(501, E_SYNTAX, "Syntax: STARTTLS"));
        }
        if self.tls.is_some() {
            return self.error(Reply::new(503, E_SEQ, "Error: TLS already active"));
        }
        if self.tx.is_some() {
            return self.error(Reply::new(503, E_SEQ, "Error: MAIL transaction in progress"));
        }
        // RFC 3207 4
        self.reply(Reply::new(220, E_OK, "Ready to start TLS"));
        self.events.push_back(Event::StartTls);
        self.pending = Some(Pending::Tls);
        self.phase = Phase::TlsWait;
    }

    /// The TLS handshake finished: RFC 3207 4.2 resets the session to the
    /// state after the greeting (EHLO required again, no transaction, no
    /// AUTH). No new greeting is sent.
    pub fn tls_established(&mut self, info: TlsInfo) -> Result<(), NotPending> {
        if self.pending != Some(Pending::Tls) {
            return Err(NotPending);
        }
        self.pending = None;
        self.tls = Some(info);
        self.helo = None;
        self.tx = None;
        self.auth_user = None;
        self.line.clear();
        self.line_overflow = false;
        self.phase = Phase::Command;
        Ok(())
    }

    fn auth(&mut self, arg: &[u8]) {
        if self.cfg.auth == AuthPolicy::Disabled {
            return self.error(Reply::new(503, E_SEQ, "Error: authentication not enabled"));
        }
        if !self.auth_allowed() {
            // RFC 4954 6
            return self.error(Reply::new(
                538,
                Enhanced(5, 7, 11),
                "Encryption required for requested authentication mechanism",
            ));
        }
        if !self.helo.as_ref().is_some_and(|h| h.1) {
            return self.error(Reply::new(503, E_SEQ, "Error: send EHLO first"));
        }
        if self.auth_user.is_some() {
            return self.error(Reply::new(503, E_SEQ, "Error: already authenticated"));
        }
        if self.tx.is_some() {
            return self.error(Reply::new(503, E_SEQ, "Error: MAIL transaction in progress"));
        }
        let mut parts = arg.splitn(2, |&b| b == b' ');
        let mech = parts.next().unwrap_or(b"");
        let initial = parts.next().map(command::trim);
        if mech.eq_ignore_ascii_case(b"PLAIN") {
            match initial {
                Some(ir) => self.auth_line(AuthStep::Plain, ir),
                None => {
                    self.reply(Reply::plain(334, ""));
                    self.phase = Phase::AuthLine(AuthStep::Plain);
                }
            }
        } else if mech.eq_ignore_ascii_case(b"LOGIN") {
            match initial {
                Some(ir) => self.auth_line(AuthStep::LoginUser, ir),
                None => {
                    self.reply(Reply::plain(334, "VXNlcm5hbWU6"));
                    self.phase = Phase::AuthLine(AuthStep::LoginUser);
                }
            }
        } else if mech.is_empty() {
            self.error(Reply::new(501, E_SYNTAX, "Syntax: AUTH mechanism"))
        } else {
            self.error(Reply::new(504, E_SYNTAX, "Unsupported authentication mechanism"))
        }
    }

    /// One client SASL response (RFC 4954 4).
    fn auth_line(&mut self, step: AuthStep, line: &[u8]) {
        if line == b"*" {
            return self.error(Reply::new(501, Enhanced(5, 7, 0), "Authentication aborted"));
        }
        // RFC 4954 4: "=" is an empty initial response.
        let decoded = if line == b"=" { Some(Vec::new()) } else { base64::decode(line) };
        let Some(decoded) = decoded.and_then(|d| String::from_utf8(d).ok()) else {
            return self.error(Reply::new(501, Enhanced(5, 5, 2), "Cannot decode response"));
        };
        let req = match step {
            AuthStep::Plain => {
                // RFC 4616 2: [authzid] NUL authcid NUL passwd
                let mut f = decoded.split('\0');
                match (f.next(), f.next(), f.next(), f.next()) {
                    (Some(z), Some(u), Some(p), None) if !u.is_empty() => AuthRequest {
                        mechanism: "PLAIN",
                        authzid: String::from(z),
                        username: String::from(u),
                        password: String::from(p),
                    },
                    _ => return self.error(Reply::new(501, Enhanced(5, 5, 2), "Invalid PLAIN response")),
                }
            }
            AuthStep::LoginUser => {
                self.reply(Reply::plain(334, "UGFzc3dvcmQ6"));
                self.phase = Phase::AuthLine(AuthStep::LoginPass(decoded));
                return;
            }
            AuthStep::LoginPass(user) => {
                AuthRequest { mechanism: "LOGIN", authzid: String::new(), username: user, password: decoded }
            }
        };
        self.events.push_back(Event::Authenticate(req));
        self.pending = Some(Pending::Auth);
    }

    // ----- answers -----------------------------------------------------------

    /// Answer `Event::CheckSender`: a 2xx reply starts the transaction.
    pub fn answer_sender(&mut self, reply: Reply) -> Result<(), NotPending> {
        if self.pending != Some(Pending::Sender) {
            return Err(NotPending);
        }
        self.pending = None;
        let env = self.proposed.take().ok_or(NotPending)?;
        if reply.is_positive() {
            self.start_tx(env);
            self.reply(reply);
        } else {
            self.error(reply);
        }
        Ok(())
    }

    /// Answer `Event::CheckRecipient`: a 2xx reply accepts the recipient
    /// (`Reply::rcpt_ok()`), anything else refuses it with that reply.
    pub fn answer_recipient(&mut self, reply: Reply) -> Result<(), NotPending> {
        let Some(Pending::Recipient(m)) = self.pending.take() else {
            return Err(NotPending);
        };
        let tx = self.tx.as_mut().ok_or(NotPending)?;
        if reply.is_positive() {
            tx.env.recipients.push(m);
            self.reply(reply);
        } else {
            tx.rejected_rcpts += 1;
            self.error(reply);
        }
        Ok(())
    }

    /// Answer `Event::MessageComplete` with the final reply (e.g.
    /// `250 2.0.0 Ok: queued as X` once the message is durable,
    /// `452 4.3.1` on a full disk, `554 5.4.6` on a mail loop). The
    /// transaction ends whatever the code.
    pub fn answer_message(&mut self, reply: Reply) -> Result<(), NotPending> {
        if self.pending != Some(Pending::Message) {
            return Err(NotPending);
        }
        self.pending = None;
        self.tx = None;
        self.reply(reply);
        Ok(())
    }

    /// Answer `Event::Authenticate`.
    pub fn answer_auth(&mut self, answer: AuthAnswer) -> Result<(), NotPending> {
        if self.pending != Some(Pending::Auth) {
            return Err(NotPending);
        }
        self.pending = None;
        match answer {
            AuthAnswer::Success(user) => {
                self.auth_user = Some(user);
                self.reply(Reply::new(235, Enhanced(2, 7, 0), "Authentication successful"));
            }
            AuthAnswer::Invalid => self.error(Reply::new(535, Enhanced(5, 7, 8), "Authentication credentials invalid")),
            AuthAnswer::TempFail => self.reply(Reply::new(454, Enhanced(4, 7, 0), "Temporary authentication failure")),
        }
        Ok(())
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Server>();
    let _ = vec![0u8];
}
