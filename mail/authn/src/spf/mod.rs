//! SPF, RFC 7208: check_host() as a sans-IO session.
//!
//! ```text
//! let mut s = spf::check_host(ip, "example.com", "user@example.com", "mx.example.com");
//! loop {
//!     match s.poll() {
//!         SpfStep::Query(q) => s.answer(resolve(&q)),
//!         SpfStep::Done(outcome) => break outcome,
//!     }
//! }
//! ```

mod eval;
pub mod record;

use crate::dns::{DnsAnswer, DnsQuery};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;
pub use eval::{MAX_DNS_MECHANISMS, MAX_NAMES, MAX_QUERIES, MAX_VOID_LOOKUPS};

/// RFC 7208 2.6: the results of check_host().
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

impl SpfResult {
    /// The lower-case name used in Received-SPF and Authentication-Results.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The end of an evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfOutcome {
    pub result: SpfResult,
    /// RFC 7208 6.2: the expanded exp= text, for "fail" only, when the
    /// domain published one.
    pub explanation: Option<String>,
    /// Why permerror/temperror happened (for logs and header comments).
    pub problem: Option<&'static str>,
    /// The domain check_host() was run on (for Authentication-Results).
    pub domain: String,
}

impl SpfOutcome {
    /// RFC 7208 9.1: a Received-SPF header field (ending in CRLF).
    pub fn received_spf(&self, ip: IpAddr, mail_from: &str, helo: &str, receiver: &str) -> String {
        let identity = if mail_from.is_empty() { "helo" } else { "mailfrom" };
        let envelope = if mail_from.is_empty() { helo } else { mail_from };
        let mut comment = alloc::format!("{receiver}: domain of {} ", self.domain);
        comment.push_str(match self.result {
            SpfResult::Pass => "designates",
            SpfResult::Fail => "does not designate",
            SpfResult::SoftFail => "discourages use of",
            SpfResult::Neutral | SpfResult::None => "does not say whether it designates",
            SpfResult::TempError | SpfResult::PermError => "could not be checked for",
        });
        comment.push_str(&alloc::format!(" {ip} as permitted sender"));
        let clean =
            |s: &str| -> String { s.chars().filter(|c| !matches!(c, '(' | ')' | '\\' | ';' | '\r' | '\n')).collect() };
        alloc::format!(
            "Received-SPF: {} ({}) receiver={}; client-ip={}; envelope-from=\"{}\"; helo={}; identity={}\r\n",
            self.result,
            clean(&comment),
            clean(receiver),
            ip,
            clean(envelope).replace('"', ""),
            clean(helo).replace(' ', ""),
            identity
        )
    }
}

/// What the session wants next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpfStep {
    /// Resolve this and call [`SpfSession::answer`].
    Query(DnsQuery),
    Done(SpfOutcome),
}

/// One check_host() evaluation in progress.
#[derive(Clone, Debug)]
pub struct SpfSession {
    ip: IpAddr,
    domain: String,
    sender: String,
    local_len: usize,
    helo: String,
    receiver: String,
    timestamp: u64,
    cache: Vec<(DnsQuery, DnsAnswer)>,
    pending: Option<DnsQuery>,
    done: Option<SpfOutcome>,
}

/// Start check_host(ip, domain, sender) (RFC 7208 4). `sender` is the
/// MAIL FROM address (or `postmaster@<helo>` for the HELO identity); an
/// empty local-part becomes "postmaster" (RFC 7208 4.3). `helo` feeds the
/// "h" macro.
pub fn check_host(ip: IpAddr, domain: &str, sender: &str, helo: &str) -> SpfSession {
    // RFC 7208 5: an IPv4-mapped IPv6 address is evaluated as IPv4.
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    };
    let (local, sdom) = match sender.rfind('@') {
        Some(at) => (&sender[..at], &sender[at + 1..]),
        None => ("", sender),
    };
    let local = if local.is_empty() { "postmaster" } else { local };
    let mut full = String::from(local);
    full.push('@');
    full.push_str(sdom);
    SpfSession {
        ip,
        domain: String::from(domain.strip_suffix('.').unwrap_or(domain)),
        sender: full,
        local_len: local.len(),
        helo: String::from(helo),
        receiver: String::from("unknown"),
        timestamp: 0,
        cache: Vec::new(),
        pending: None,
        done: None,
    }
}

/// check_host() for the MAIL FROM identity, or for the HELO identity when
/// the reverse-path is null (RFC 7208 2.4).
pub fn check_mail_from(ip: IpAddr, mail_from: &str, helo: &str) -> SpfSession {
    if mail_from.is_empty() {
        let mut s = String::from("postmaster@");
        s.push_str(helo);
        return check_host(ip, helo, &s, helo);
    }
    let domain = mail_from.rsplit_once('@').map(|(_, d)| d).unwrap_or(mail_from);
    check_host(ip, domain, mail_from, helo)
}

impl SpfSession {
    /// The "r" macro: the receiving host's domain (default "unknown").
    pub fn set_receiver(&mut self, r: &str) {
        self.receiver = String::from(r);
    }

    /// The "t" macro: seconds since the epoch, supplied by the caller.
    pub fn set_timestamp(&mut self, t: u64) {
        self.timestamp = t;
    }

    /// Run the evaluation as far as the answers received so far allow.
    pub fn poll(&mut self) -> SpfStep {
        if let Some(d) = &self.done {
            return SpfStep::Done(d.clone());
        }
        if let Some(q) = &self.pending {
            return SpfStep::Query(q.clone());
        }
        let (local, sdom) = {
            let at = self.local_len;
            (&self.sender[..at], &self.sender[at + 1..])
        };
        let mut ctx = eval::Ctx {
            ip: self.ip,
            sender: &self.sender,
            local,
            sender_domain: sdom,
            helo: &self.helo,
            receiver: &self.receiver,
            timestamp: self.timestamp,
            cache: &self.cache,
            lookups: 0,
            voids: 0,
        };
        // RFC 7208 4.3: malformed domains (and domain literals) give "none".
        let r =
            if !eval::valid_domain(&self.domain) { Ok((SpfResult::None, None)) } else { ctx.check_host(&self.domain) };
        let outcome = match r {
            Ok((result, explanation)) => SpfOutcome { result, explanation, problem: None, domain: self.domain.clone() },
            Err(eval::Abort::Need(q)) => {
                if self.cache.len() >= MAX_QUERIES {
                    SpfOutcome {
                        result: SpfResult::PermError,
                        explanation: None,
                        problem: Some("too many DNS queries"),
                        domain: self.domain.clone(),
                    }
                } else {
                    self.pending = Some(q.clone());
                    return SpfStep::Query(q);
                }
            }
            Err(eval::Abort::Perm(p)) => SpfOutcome {
                result: SpfResult::PermError,
                explanation: None,
                problem: Some(p),
                domain: self.domain.clone(),
            },
            Err(eval::Abort::Temp(p)) => SpfOutcome {
                result: SpfResult::TempError,
                explanation: None,
                problem: Some(p),
                domain: self.domain.clone(),
            },
        };
        self.done = Some(outcome.clone());
        SpfStep::Done(outcome)
    }

    /// Answer the query last returned by [`poll`](Self::poll).
    pub fn answer(&mut self, answer: DnsAnswer) {
        if let Some(q) = self.pending.take() {
            self.cache.push((q, answer));
        }
    }

    /// The query waiting for an answer, if any.
    pub fn pending(&self) -> Option<&DnsQuery> {
        self.pending.as_ref()
    }
}

#[cfg(test)]
mod tests;
