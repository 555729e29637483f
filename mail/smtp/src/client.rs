//! The SMTP client session (RFC 5321 sender side) as a sans-IO state
//! machine, for the outbound queue: greeting, EHLO (HELO fallback),
//! STARTTLS (RFC 3207), one or more transactions with PIPELINING
//! (RFC 2920) when offered, DATA with dot-stuffing, QUIT.
//!
//! Driving it mirrors the server: `feed` received bytes (returns how many
//! were used), send `output()`, handle `poll_event()`. Message content is
//! streamed with `write_content` after `ClientEvent::SendContent`.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::reply::{Reply, ReplyError, ReplyParser};

/// STARTTLS use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Never (tests, or TLS already running underneath).
    Disabled,
    /// Use when offered, continue in clear otherwise (opportunistic, RFC 3207).
    Opportunistic,
    /// Fail the session if TLS is not offered or fails (MTA-STS / DANE).
    Required,
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Our EHLO name.
    pub helo: String,
    pub tls: TlsMode,
    /// Longest reply line accepted (RFC 5321 says 512; be generous).
    pub max_reply_line: usize,
    /// Most lines in one reply.
    pub max_reply_lines: usize,
    /// Credentials for a submission relay (AUTH PLAIN, RFC 4954 / RFC 4616).
    /// They are only ever sent over TLS.
    pub auth: Option<(String, String)>,
}

impl ClientConfig {
    pub fn new(helo: &str) -> Self {
        ClientConfig {
            helo: String::from(helo),
            tls: TlsMode::Opportunistic,
            max_reply_line: 2048,
            max_reply_lines: 100,
            auth: None,
        }
    }
}

/// Extensions the server offered in its EHLO reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    pub pipelining: bool,
    /// RFC 1870 SIZE limit (None: not offered or no number; Some(0): no limit).
    pub size: Option<u64>,
    pub eightbitmime: bool,
    pub smtputf8: bool,
    pub starttls: bool,
    pub chunking: bool,
    pub enhanced_status_codes: bool,
    /// RFC 4954: AUTH PLAIN offered.
    pub auth_plain: bool,
}

impl Extensions {
    fn parse(text: &str) -> Self {
        let mut e = Extensions::default();
        // RFC 5321 4.1.1.1: first line is the domain, then one keyword per line.
        for line in text.split('\n').skip(1) {
            let mut words = line.split(' ');
            let kw = words.next().unwrap_or("");
            match kw.to_ascii_uppercase().as_str() {
                "PIPELINING" => e.pipelining = true,
                "SIZE" => e.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => e.eightbitmime = true,
                "SMTPUTF8" => e.smtputf8 = true,
                "STARTTLS" => e.starttls = true,
                "CHUNKING" => e.chunking = true,
                "ENHANCEDSTATUSCODES" => e.enhanced_status_codes = true,
                "AUTH" => e.auth_plain = words.any(|m| m.eq_ignore_ascii_case("PLAIN")),
                _ => {}
            }
        }
        e
    }
}

/// One message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Sender address without brackets; empty for the null sender `<>`.
    pub sender: String,
    /// Recipient addresses without brackets.
    pub recipients: Vec<String>,
    /// Content size, announced with SIZE= when the server offers SIZE.
    pub size: Option<u64>,
    /// Content has 8-bit octets (needs 8BITMIME, RFC 6152).
    pub eight_bit: bool,
    /// Addresses or headers need SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
}

/// Why `send` refused a job before talking to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobError {
    /// Not in the ready state (no session, or a transaction is running).
    NotReady,
    /// No recipients, or an address contains CR, LF, `<` or `>`.
    BadJob,
    /// Larger than the server's SIZE (RFC 1870: a permanent 5.3.4 failure).
    TooBig,
    /// 8-bit content but no 8BITMIME (convert or bounce, RFC 6152 3).
    Needs8BitMime,
    /// SMTPUTF8 needed but not offered (RFC 6531 3.2: bounce, 5.6.7).
    NeedsSmtpUtf8,
}

/// The server's answers for one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub mail: Reply,
    /// One entry per job recipient (None: RCPT not sent).
    pub rcpts: Vec<Option<Reply>>,
    /// The final reply after the content (or the DATA refusal).
    pub data: Option<Reply>,
}

/// Per-recipient result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RcptStatus {
    Delivered(Reply),
    TempFail(Reply),
    PermFail(Reply),
}

impl Outcome {
    /// The deciding reply for recipient `i`: its RCPT refusal, else the
    /// MAIL refusal, else the final DATA reply.
    pub fn status(&self, i: usize) -> RcptStatus {
        let pick = |r: &Reply| {
            if r.is_positive() {
                RcptStatus::Delivered(r.clone())
            } else if r.code >= 500 {
                RcptStatus::PermFail(r.clone())
            } else {
                RcptStatus::TempFail(r.clone())
            }
        };
        let tempfail = || RcptStatus::TempFail(Reply::plain(451, "no reply"));
        if !self.mail.is_positive() {
            return pick(&self.mail);
        }
        match self.rcpts.get(i).cloned().flatten() {
            Some(r) if !r.is_positive() => pick(&r),
            Some(_) => match &self.data {
                Some(d) if d.code == 354 => tempfail(),
                Some(d) => pick(d),
                None => tempfail(),
            },
            None => tempfail(),
        }
    }
}

/// Why a session ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    Greeting(Reply),
    Ehlo(Reply),
    /// TLS required but not offered / refused.
    TlsUnavailable(Option<Reply>),
    /// Unparseable or over-long reply.
    Protocol(ReplyError),
    /// A reply nobody asked for, or `421` (service closing).
    Unexpected(Reply),
    /// The caller's timer fired.
    Timeout,
    /// AUTH configured but impossible (no TLS or no PLAIN) or refused.
    Auth(Option<Reply>),
}

/// What the client tells its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// Request: run the TLS handshake, then call `tls_established`.
    StartTls,
    /// The session is ready for `send` (or `quit`).
    Ready(Extensions),
    /// Request: stream the content with `write_content`, then `end_content`.
    SendContent,
    /// A transaction finished (any result); the session is ready again.
    Done(Outcome),
    /// The session failed; `Closed` follows.
    Failed(SessionError),
    /// Close the connection (after sending the remaining output).
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt(usize),
    Data,
    DataEnd,
    Rset,
    Quit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Handshake,
    TlsWait,
    Ready,
    Txn,
    Content,
    Closing,
    Closed,
}

#[derive(Clone, Debug)]
struct Txn {
    job: Job,
    pipelined: bool,
    mail: Option<Reply>,
    rcpts: Vec<Option<Reply>>,
    data: Option<Reply>,
}

/// One SMTP client session.
pub struct Client {
    cfg: ClientConfig,
    st: St,
    parser: ReplyParser,
    expect: VecDeque<Expect>,
    out: Vec<u8>,
    events: VecDeque<ClientEvent>,
    ext: Extensions,
    tls: bool,
    txn: Option<Txn>,
    /// Dot-stuffing state: at the start of a content line.
    line_start: bool,
    /// Last content octet was CR (waiting to see LF).
    pending_cr: bool,
}

impl Client {
    /// A new session on a fresh connection (waiting for the greeting).
    pub fn new(cfg: ClientConfig) -> Self {
        let parser = ReplyParser::new(cfg.max_reply_line, cfg.max_reply_lines);
        let mut expect = VecDeque::new();
        expect.push_back(Expect::Greeting);
        Client {
            cfg,
            st: St::Handshake,
            parser,
            expect,
            out: Vec::new(),
            events: VecDeque::new(),
            ext: Extensions::default(),
            tls: false,
            txn: None,
            line_start: true,
            pending_cr: false,
        }
    }

    pub fn output(&self) -> &[u8] {
        &self.out
    }
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
    pub fn is_closed(&self) -> bool {
        self.st == St::Closed
    }
    /// TLS is active on this session.
    pub fn tls_active(&self) -> bool {
        self.tls
    }

    fn cmd(&mut self, line: &str, e: Expect) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.expect.push_back(e);
    }

    fn fail(&mut self, e: SessionError, send_quit: bool) {
        self.finish_txn_with(None);
        self.events.push_back(ClientEvent::Failed(e));
        self.expect.clear();
        if send_quit {
            // RFC 5321 3.8: end politely when the server is still talking.
            self.cmd("QUIT", Expect::Quit);
            self.st = St::Closing;
        } else {
            self.close();
        }
    }

    fn close(&mut self) {
        if self.st != St::Closed {
            self.st = St::Closed;
            self.events.push_back(ClientEvent::Closed);
        }
    }

    /// Feed received bytes; returns how many were used.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        let mut used = 0;
        while used < input.len() {
            if matches!(self.st, St::Closed | St::TlsWait) {
                // RFC 3207 5 (client side): anything after the 220 to
                // STARTTLS and before the handshake is an injection.
                return input.len();
            }
            let (n, r) = self.parser.feed(&input[used..]);
            used += n;
            match r {
                None => {}
                Some(Err(e)) => self.fail(SessionError::Protocol(e), false),
                Some(Ok(reply)) => self.on_reply(reply),
            }
        }
        used
    }

    /// The caller's timer fired.
    pub fn timeout(&mut self) {
        if self.st != St::Closed {
            self.fail(SessionError::Timeout, false);
        }
    }

    fn on_reply(&mut self, r: Reply) {
        let Some(e) = self.expect.pop_front() else {
            return self.fail(SessionError::Unexpected(r), false);
        };
        if r.code == 421 && e != Expect::Quit {
            // RFC 5321 3.8: the server is closing the channel; it is the
            // answer for everything still outstanding.
            self.finish_txn_with(Some(r.clone()));
            return self.fail(SessionError::Unexpected(r), false);
        }
        match e {
            Expect::Greeting => {
                if r.code == 220 {
                    let l = format!("EHLO {}", self.cfg.helo);
                    self.cmd(&l, Expect::Ehlo);
                } else {
                    self.fail(SessionError::Greeting(r), true);
                }
            }
            Expect::Ehlo => {
                if r.code == 250 {
                    self.ext = Extensions::parse(&r.text);
                    self.after_ehlo();
                } else if r.code >= 500 && self.cfg.tls != TlsMode::Required {
                    // RFC 5321 3.2: fall back to HELO.
                    let l = format!("HELO {}", self.cfg.helo);
                    self.cmd(&l, Expect::Helo);
                } else {
                    self.fail(SessionError::Ehlo(r), true);
                }
            }
            Expect::Helo => {
                if r.code == 250 {
                    self.ext = Extensions::default();
                    self.ready();
                } else {
                    self.fail(SessionError::Ehlo(r), true);
                }
            }
            Expect::StartTls => {
                if r.code == 220 {
                    self.st = St::TlsWait;
                    self.events.push_back(ClientEvent::StartTls);
                } else if self.cfg.tls == TlsMode::Required {
                    self.fail(SessionError::TlsUnavailable(Some(r)), true);
                } else {
                    self.ready();
                }
            }
            Expect::Auth => {
                if r.code == 235 {
                    self.ready();
                } else {
                    self.fail(SessionError::Auth(Some(r)), true);
                }
            }
            Expect::Mail => {
                let ok = r.is_positive();
                let txn = self.txn.as_mut().expect("MAIL reply without transaction");
                txn.mail = Some(r);
                if !txn.pipelined {
                    if ok {
                        let l = format!("RCPT TO:<{}>", txn.job.recipients[0]);
                        self.cmd(&l, Expect::Rcpt(0));
                    } else {
                        self.cmd("RSET", Expect::Rset);
                    }
                }
            }
            Expect::Rcpt(i) => {
                let txn = self.txn.as_mut().expect("RCPT reply without transaction");
                txn.rcpts[i] = Some(r);
                if !txn.pipelined {
                    if i + 1 < txn.job.recipients.len() {
                        let l = format!("RCPT TO:<{}>", txn.job.recipients[i + 1]);
                        self.cmd(&l, Expect::Rcpt(i + 1));
                    } else if txn.rcpts.iter().flatten().any(|r| r.is_positive()) {
                        self.cmd("DATA", Expect::Data);
                    } else {
                        self.cmd("RSET", Expect::Rset);
                    }
                }
            }
            Expect::Data => {
                let txn = self.txn.as_mut().expect("DATA reply without transaction");
                let go = r.code == 354;
                let usable = txn.mail.as_ref().is_some_and(|m| m.is_positive())
                    && txn.rcpts.iter().flatten().any(|r| r.is_positive());
                txn.data = Some(r);
                if go && usable {
                    self.st = St::Content;
                    self.line_start = true;
                    self.pending_cr = false;
                    self.events.push_back(ClientEvent::SendContent);
                } else if go {
                    // RFC 2920 3.1: 354 although no recipient was accepted:
                    // send an empty message end; its reply is ignored.
                    self.out.extend_from_slice(b".\r\n");
                    self.expect.push_back(Expect::DataEnd);
                    if let Some(t) = self.txn.as_mut() {
                        t.data = Some(Reply::plain(554, "no valid recipients"));
                    }
                } else {
                    self.finish_txn();
                }
            }
            Expect::DataEnd => {
                if let Some(t) = self.txn.as_mut() {
                    if t.data.as_ref().is_some_and(|d| d.code == 354) {
                        t.data = Some(r);
                    }
                }
                self.finish_txn();
            }
            Expect::Rset => self.finish_txn(),
            Expect::Quit => self.close(),
        }
    }

    fn after_ehlo(&mut self) {
        if !self.tls && self.cfg.tls != TlsMode::Disabled && self.ext.starttls {
            self.cmd("STARTTLS", Expect::StartTls);
        } else if !self.tls && self.cfg.tls == TlsMode::Required {
            self.fail(SessionError::TlsUnavailable(None), true);
        } else if let Some((user, pass)) = self.cfg.auth.clone() {
            // Never send a password in clear text.
            if !self.tls || !self.ext.auth_plain {
                return self.fail(SessionError::Auth(None), true);
            }
            let mut raw = Vec::with_capacity(user.len() * 2 + pass.len() + 2);
            raw.push(0);
            raw.extend_from_slice(user.as_bytes());
            raw.push(0);
            raw.extend_from_slice(pass.as_bytes());
            let b64 = String::from_utf8(crate::base64::encode(&raw)).unwrap_or_default();
            // RFC 4954 4: initial response on the AUTH line.
            let l = format!("AUTH PLAIN {}", b64);
            self.cmd(&l, Expect::Auth);
        } else {
            self.ready();
        }
    }

    fn ready(&mut self) {
        self.st = St::Ready;
        self.events.push_back(ClientEvent::Ready(self.ext.clone()));
    }

    fn finish_txn(&mut self) {
        if let Some(t) = self.txn.take() {
            let mail = t.mail.unwrap_or_else(|| Reply::plain(451, "no reply"));
            self.events.push_back(ClientEvent::Done(Outcome { mail, rcpts: t.rcpts, data: t.data }));
        }
        if self.st == St::Txn || self.st == St::Content {
            self.st = St::Ready;
        }
    }

    /// End a running transaction with `r` (or a local temp failure) as the
    /// missing replies, when the session dies.
    fn finish_txn_with(&mut self, r: Option<Reply>) {
        if let Some(mut t) = self.txn.take() {
            let r = r.unwrap_or_else(|| Reply::plain(451, "session failed"));
            let mail = t.mail.take().unwrap_or_else(|| r.clone());
            for x in t.rcpts.iter_mut().filter(|x| x.is_none()) {
                *x = Some(r.clone());
            }
            let data = match t.data.take() {
                Some(d) if d.code != 354 => Some(d),
                _ => Some(r.clone()),
            };
            self.events.push_back(ClientEvent::Done(Outcome { mail, rcpts: t.rcpts, data }));
        }
    }

    /// The TLS handshake succeeded: RFC 3207 4.2, forget everything and
    /// send EHLO again.
    pub fn tls_established(&mut self) {
        if self.st != St::TlsWait {
            return;
        }
        self.tls = true;
        self.ext = Extensions::default();
        self.parser = ReplyParser::new(self.cfg.max_reply_line, self.cfg.max_reply_lines);
        self.st = St::Handshake;
        let l = format!("EHLO {}", self.cfg.helo);
        self.cmd(&l, Expect::Ehlo);
    }

    /// The TLS handshake failed: the connection is unusable.
    pub fn tls_failed(&mut self) {
        if self.st == St::TlsWait {
            self.fail(SessionError::TlsUnavailable(None), false);
        }
    }

    /// Start a transaction (after `Ready` or `Done`).
    pub fn send(&mut self, job: Job) -> Result<(), JobError> {
        if self.st != St::Ready {
            return Err(JobError::NotReady);
        }
        let bad = |a: &str| a.bytes().any(|b| b < 0x20 || b == b'<' || b == b'>' || b == 0x7f);
        if job.recipients.is_empty() || bad(&job.sender) || job.recipients.iter().any(|r| bad(r) || r.is_empty()) {
            return Err(JobError::BadJob);
        }
        if let (Some(limit), Some(size)) = (self.ext.size, job.size) {
            if limit > 0 && size > limit {
                return Err(JobError::TooBig);
            }
        }
        if job.eight_bit && !self.ext.eightbitmime {
            return Err(JobError::Needs8BitMime);
        }
        if job.smtputf8 && !self.ext.smtputf8 {
            return Err(JobError::NeedsSmtpUtf8);
        }
        let mut mail = format!("MAIL FROM:<{}>", job.sender);
        if let (Some(_), Some(size)) = (self.ext.size, job.size) {
            mail.push_str(&format!(" SIZE={}", size));
        }
        if job.eight_bit {
            mail.push_str(" BODY=8BITMIME");
        }
        if job.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        let pipelined = self.ext.pipelining;
        self.cmd(&mail, Expect::Mail);
        if pipelined {
            // RFC 2920 3.1: MAIL, RCPT... and DATA in one group.
            for (i, r) in job.recipients.iter().enumerate() {
                let l = format!("RCPT TO:<{}>", r);
                self.cmd(&l, Expect::Rcpt(i));
            }
            self.cmd("DATA", Expect::Data);
        }
        let n = job.recipients.len();
        self.txn = Some(Txn { job, pipelined, mail: None, rcpts: alloc::vec![None; n], data: None });
        self.st = St::Txn;
        Ok(())
    }

    /// Append message content: RFC 5321 4.5.2 dot-stuffing, and every line
    /// ending becomes CR LF (a bare CR or LF is never sent: smuggling).
    pub fn write_content(&mut self, data: &[u8]) {
        if self.st != St::Content {
            return;
        }
        for &b in data {
            if self.pending_cr {
                self.pending_cr = false;
                self.out.extend_from_slice(b"\r\n");
                self.line_start = true;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => {
                    self.out.extend_from_slice(b"\r\n");
                    self.line_start = true;
                }
                _ => {
                    if self.line_start && b == b'.' {
                        self.out.push(b'.');
                    }
                    self.out.push(b);
                    self.line_start = false;
                }
            }
        }
    }

    /// All content written: send the end-of-data sequence.
    pub fn end_content(&mut self) {
        if self.st != St::Content {
            return;
        }
        if self.pending_cr || !self.line_start {
            self.out.extend_from_slice(b"\r\n");
        }
        self.pending_cr = false;
        self.out.extend_from_slice(b".\r\n");
        self.expect.push_back(Expect::DataEnd);
        self.st = St::Txn;
    }

    /// Say goodbye (when ready).
    pub fn quit(&mut self) {
        if self.st == St::Ready {
            self.cmd("QUIT", Expect::Quit);
            self.st = St::Closing;
        }
    }
}
