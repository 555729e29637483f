//! One delivery attempt: one message, its recipients for one destination,
//! to one MX host, driving the SMTP client state machine
//! ([`mail_smtp::client`]) and turning its replies into queue results.
//!
//! RFC 5321 per-recipient mapping: 2xx delivered, 4xx deferred, 5xx
//! failed; a connection that cannot be made or dies, a refused greeting or
//! EHLO, or a timeout defers every recipient and sets
//! [`Report::try_next_host`] so the caller moves on to the next MX target
//! (RFC 5321 5.1: "try the next MX"). The caller owns the socket (and TLS)
//! and shuttles bytes: `feed` what arrives, send `output()`, react to
//! [`DeliveryEvent`]s.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mail_smtp::client::{Client, ClientConfig, ClientEvent, Job, JobError, RcptStatus, SessionError, TlsMode};
use mail_smtp::Reply;

use crate::queue::AttemptResult;

/// Settings of the sending side.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// EHLO name: the configured host name (its A/AAAA must match our
    /// pinned source address for SPF/FCrDNS).
    pub helo: String,
    pub tls: TlsMode,
    /// RFC 6152 3: a server without 8BITMIME should not get 8-bit
    /// content; like Postfix we send it as-is by default (almost every
    /// server copes) rather than bounce. `false` fails it with 5.6.3.
    pub send_8bit_without_8bitmime: bool,
}

impl DeliveryConfig {
    pub fn new(helo: &str) -> Self {
        DeliveryConfig { helo: helo.to_string(), tls: TlsMode::Opportunistic, send_8bit_without_8bitmime: true }
    }
}

/// The message for this attempt.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Envelope sender ("" for `<>`).
    pub sender: String,
    /// (queue recipient index, address) for the recipients on this host.
    pub recipients: Vec<(usize, String)>,
    pub size: u64,
    /// The content has octets >= 0x80 ([`has_8bit`]).
    pub eight_bit: bool,
    /// Non-ASCII addresses (RFC 6531).
    pub smtputf8: bool,
}

/// True when the message has any octet >= 0x80 (needs 8BITMIME).
pub fn has_8bit(msg: &[u8]) -> bool {
    msg.iter().any(|&b| b >= 0x80)
}

/// True when the envelope needs SMTPUTF8 (RFC 6531: a non-ASCII address).
pub fn needs_smtputf8(sender: &str, recipients: &[&str]) -> bool {
    !sender.is_ascii() || recipients.iter().any(|r| !r.is_ascii())
}

/// What the attempt produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// One result per recipient of the attempt (queue indexes).
    pub results: Vec<(usize, AttemptResult)>,
    /// The host talked to (for the DSN's Remote-MTA).
    pub host: String,
    /// STARTTLS was in force for the transaction.
    pub tls: bool,
    /// The host itself failed (no connection, greeting, EHLO, timeout,
    /// TLS required but missing): try the next MX target before
    /// recording the deferrals.
    pub try_next_host: bool,
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// Send the pending output, then run the TLS handshake and call
    /// `tls_established` or `tls_failed`.
    StartTls,
    /// Stream the message with `write_content`, then `end_content`.
    SendContent,
    /// Done: record `Report::results` in the queue, send the remaining
    /// output (QUIT) and close the connection.
    Finished(Report),
}

/// The attempt's state machine.
pub struct Delivery {
    client: Client,
    cfg: DeliveryConfig,
    attempt: Attempt,
    host: String,
    started: bool,
    finished: bool,
    events: VecDeque<ClientEvent>,
}

/// The reply as one line, e.g. `550 5.1.1 no such user`.
pub fn reply_text(r: &Reply) -> String {
    let text = r.text.trim_end_matches('\n').replace('\n', " / ");
    match r.enhanced {
        Some(mail_smtp::Enhanced(a, b, c)) => format!("{} {}.{}.{} {}", r.code, a, b, c, text),
        None => format!("{} {}", r.code, text),
    }
}

impl Delivery {
    /// A new attempt on a freshly connected socket to `host`.
    pub fn new(cfg: &DeliveryConfig, host: &str, attempt: Attempt) -> Self {
        let mut cc = ClientConfig::new(&cfg.helo);
        cc.tls = cfg.tls;
        Delivery {
            client: Client::new(cc),
            cfg: cfg.clone(),
            attempt,
            host: host.to_string(),
            started: false,
            finished: false,
            events: VecDeque::new(),
        }
    }

    /// The attempt could not even connect (refused, unreachable, no route
    /// from our pinned source address): everything is deferred and the
    /// next host should be tried.
    pub fn connect_failed(cfg: &DeliveryConfig, host: &str, attempt: Attempt, why: &str) -> Report {
        let mut d = Delivery::new(cfg, host, attempt);
        d.fail_all(&format!("451 4.4.1 connect to {host} failed: {why}"), true)
    }

    pub fn feed(&mut self, input: &[u8]) -> usize {
        self.client.feed(input)
    }
    pub fn output(&self) -> &[u8] {
        self.client.output()
    }
    pub fn consume_output(&mut self, n: usize) {
        self.client.consume_output(n)
    }
    pub fn take_output(&mut self) -> Vec<u8> {
        self.client.take_output()
    }
    pub fn tls_established(&mut self) {
        self.client.tls_established()
    }
    pub fn tls_failed(&mut self) {
        self.client.tls_failed()
    }
    pub fn write_content(&mut self, data: &[u8]) {
        self.client.write_content(data)
    }
    pub fn end_content(&mut self) {
        self.client.end_content()
    }
    /// The caller's inactivity timer fired (RFC 5321 4.5.3.2 timeouts).
    pub fn timeout(&mut self) {
        self.client.timeout()
    }
    /// The peer closed the connection or the socket failed.
    pub fn connection_lost(&mut self) {
        self.client.timeout();
    }
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn fail_all(&mut self, reply: &str, try_next: bool) -> Report {
        self.finished = true;
        Report {
            results: self
                .attempt
                .recipients
                .iter()
                .map(|(i, _)| (*i, AttemptResult::TempFail(reply.to_string())))
                .collect(),
            host: self.host.clone(),
            tls: self.client.tls_active(),
            try_next_host: try_next,
        }
    }

    fn all(&mut self, res: AttemptResult) -> Report {
        self.finished = true;
        let results = self.attempt.recipients.iter().map(|(i, _)| (*i, res.clone())).collect();
        self.client.quit();
        Report { results, host: self.host.clone(), tls: self.client.tls_active(), try_next_host: false }
    }

    fn start(&mut self) -> Option<DeliveryEvent> {
        self.started = true;
        let mut job = Job {
            sender: self.attempt.sender.clone(),
            recipients: self.attempt.recipients.iter().map(|(_, a)| a.clone()).collect(),
            size: Some(self.attempt.size),
            eight_bit: self.attempt.eight_bit,
            smtputf8: self.attempt.smtputf8,
        };
        let mut r = self.client.send(job.clone());
        if r == Err(JobError::Needs8BitMime) && self.cfg.send_8bit_without_8bitmime {
            job.eight_bit = false;
            r = self.client.send(job);
        }
        let fail = |t: &str| AttemptResult::PermFail(t.to_string());
        let rep = match r {
            Ok(()) => return None,
            // RFC 1870 6: over the server's fixed limit is permanent.
            Err(JobError::TooBig) => self.all(fail("552 5.3.4 message size exceeds the remote host's limit")),
            Err(JobError::Needs8BitMime) => {
                self.all(fail("554 5.6.3 remote host does not accept 8-bit content (no 8BITMIME)"))
            }
            // RFC 6531 3.2: no SMTPUTF8 at the server: bounce with 5.6.7.
            Err(JobError::NeedsSmtpUtf8) => self.all(fail("553 5.6.7 remote host does not support SMTPUTF8")),
            Err(JobError::BadJob) => self.all(fail("501 5.1.3 bad address syntax")),
            Err(JobError::NotReady) => self.all(AttemptResult::TempFail("451 4.3.0 internal state error".to_string())),
        };
        Some(DeliveryEvent::Finished(rep))
    }

    /// The next thing the caller must do, if any.
    pub fn poll(&mut self) -> Option<DeliveryEvent> {
        while let Some(e) = self.client.poll_event() {
            self.events.push_back(e);
        }
        while let Some(e) = self.events.pop_front() {
            if self.finished {
                continue;
            }
            match e {
                ClientEvent::StartTls => return Some(DeliveryEvent::StartTls),
                ClientEvent::SendContent => return Some(DeliveryEvent::SendContent),
                ClientEvent::Ready(_) if !self.started => {
                    if let Some(ev) = self.start() {
                        return Some(ev);
                    }
                }
                ClientEvent::Ready(_) => {}
                ClientEvent::Done(outcome) => {
                    // A Failed right behind Done means the session died
                    // mid-transaction: the missing replies are local 451s.
                    let died = self.events.iter().any(|e| matches!(e, ClientEvent::Failed(_)));
                    self.finished = true;
                    let results: Vec<(usize, AttemptResult)> = self
                        .attempt
                        .recipients
                        .iter()
                        .enumerate()
                        .map(|(k, (i, _))| {
                            let r = match outcome.status(k) {
                                RcptStatus::Delivered(r) => AttemptResult::Delivered(reply_text(&r)),
                                RcptStatus::TempFail(r) => AttemptResult::TempFail(reply_text(&r)),
                                RcptStatus::PermFail(r) => AttemptResult::PermFail(reply_text(&r)),
                            };
                            (*i, r)
                        })
                        .collect();
                    let all_temp = results.iter().all(|(_, r)| matches!(r, AttemptResult::TempFail(_)));
                    self.client.quit();
                    return Some(DeliveryEvent::Finished(Report {
                        results,
                        host: self.host.clone(),
                        tls: self.client.tls_active(),
                        try_next_host: died && all_temp,
                    }));
                }
                ClientEvent::Failed(err) => {
                    let text = match err {
                        SessionError::Greeting(r) | SessionError::Ehlo(r) | SessionError::Unexpected(r) => {
                            format!("451 4.4.2 {} said: {}", self.host, reply_text(&r))
                        }
                        SessionError::TlsUnavailable(_) => {
                            format!("451 4.7.5 {}: TLS required but unavailable", self.host)
                        }
                        SessionError::Protocol(e) => format!("451 4.5.0 {}: protocol error ({e:?})", self.host),
                        SessionError::Timeout => format!("451 4.4.2 {}: connection timed out or lost", self.host),
                        SessionError::Auth(_) => format!("451 4.7.0 {}: authentication failed", self.host),
                    };
                    return Some(DeliveryEvent::Finished(self.fail_all(&text, true)));
                }
                ClientEvent::Closed => {
                    let text = format!("451 4.4.2 {}: connection closed", self.host);
                    return Some(DeliveryEvent::Finished(self.fail_all(&text, true)));
                }
            }
        }
        None
    }
}
