//! Test actions and the SMTP replies the screen and the greylist give.
//!
//! The crate does not depend on the SMTP crate: a reply is a code, an
//! RFC 3463 enhanced status and a text, which the kernel turns into the SMTP
//! session's own reply type (or writes with [`ScreenReply::to_line`]).

use alloc::format;
use alloc::string::String;
use core::fmt;
use core::net::IpAddr;

/// What to do when a client fails a test (postscreen's `*_action`
/// parameters: `ignore`, `enforce`, `drop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Count and log the failure, then treat the client as if it passed
    /// (but do not remember it as passed).
    Ignore,
    /// Let the client continue into the SMTP session, but answer every
    /// RCPT TO with a 550 naming the test, so the sender's software logs why.
    Enforce,
    /// Reply 521 and close the connection at once.
    Drop,
}

impl Action {
    /// Parse postscreen's spelling.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "ignore" => Some(Action::Ignore),
            "enforce" => Some(Action::Enforce),
            "drop" => Some(Action::Drop),
            _ => None,
        }
    }

    /// postscreen's spelling, used in logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ignore => "ignore",
            Action::Enforce => "enforce",
            Action::Drop => "drop",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tests the screen runs, for replies, cache entries and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Test {
    /// Client talked before the greeting was complete.
    Pregreet,
    /// Combined DNSBL/DNSWL score reached the threshold.
    Dnsbl,
    /// Commands sent without waiting for replies where not allowed.
    Pipelining,
    /// An HTTP request or other non-SMTP command.
    NonSmtp,
    /// A command line ended in LF without CR.
    BareNewline,
}

impl Test {
    /// All tests, in the order metrics print them.
    pub const ALL: [Test; 5] = [Test::Pregreet, Test::Dnsbl, Test::Pipelining, Test::NonSmtp, Test::BareNewline];

    /// Label used in metrics, cache files and replies.
    pub fn as_str(self) -> &'static str {
        match self {
            Test::Pregreet => "pregreet",
            Test::Dnsbl => "dnsbl",
            Test::Pipelining => "pipelining",
            Test::NonSmtp => "non_smtp",
            Test::BareNewline => "bare_newline",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An SMTP reply: code, RFC 3463 enhanced status code, text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenReply {
    /// Three-digit reply code (RFC 5321 4.2).
    pub code: u16,
    /// Enhanced status code class.subject.detail (RFC 3463).
    pub enhanced: (u8, u16, u16),
    /// Human-readable text (ASCII, no CR/LF).
    pub text: String,
}

impl ScreenReply {
    fn new(code: u16, enhanced: (u8, u16, u16), text: String) -> Self {
        ScreenReply { code, enhanced, text }
    }

    /// The single-line reply with CRLF (RFC 5321 4.2.1, RFC 2034 enhanced code).
    pub fn to_line(&self) -> String {
        let (a, b, c) = self.enhanced;
        format!("{} {}.{}.{} {}\r\n", self.code, a, b, c, self.text)
    }

    /// Whether the client should close (a 421 or 521 reply).
    pub fn closes(&self) -> bool {
        self.code == 421 || self.code == 521
    }
}

/// Why a client was refused, naming the test (postscreen names the DNSBL
/// site; for protocol tests we name the test so the sender's log is useful).
pub fn refusal(action: Action, test: Test, ip: IpAddr, site: Option<&str>) -> ScreenReply {
    let ip = display_ip(ip);
    let text = match (test, site) {
        // postscreen: "Service unavailable; client [ip] blocked using <site>".
        (Test::Dnsbl, Some(site)) => format!("Service unavailable; client [{ip}] blocked using {site}"),
        (Test::Dnsbl, None) => format!("Service unavailable; client [{ip}] blocked using DNSBL"),
        (Test::Pregreet, _) => format!("Protocol error; client [{ip}] talked before the greeting (pregreet test)"),
        (Test::Pipelining, _) => format!("Protocol error; client [{ip}] pipelined commands (pipelining test)"),
        (Test::NonSmtp, _) => format!("Protocol error; client [{ip}] sent a non-SMTP command (non_smtp test)"),
        (Test::BareNewline, _) => format!("Protocol error; client [{ip}] sent a bare newline (bare_newline test)"),
    };
    match action {
        // RFC 7504: 521 means "this host does not accept mail" and closes.
        Action::Drop => ScreenReply::new(521, (5, 7, 1), text),
        _ => ScreenReply::new(550, (5, 7, 1), text),
    }
}

/// A client on the permanent deny list.
pub fn denied(ip: IpAddr) -> ScreenReply {
    ScreenReply::new(521, (5, 7, 1), format!("Service unavailable; client [{}] is on the deny list", display_ip(ip)))
}

/// Too many connections from one client (postscreen's
/// `postscreen_client_connection_count_limit`).
pub fn too_many_from_client(ip: IpAddr) -> ScreenReply {
    ScreenReply::new(421, (4, 7, 0), format!("Error: too many connections from [{}]", display_ip(ip)))
}

/// Too many connections in total (postscreen's `postscreen_pre_queue_limit`).
pub fn all_ports_busy() -> ScreenReply {
    ScreenReply::new(421, (4, 3, 2), String::from("All server ports are busy"))
}

/// RFC 6647 2.1: a temporary failure for a greylisted triplet; the text
/// says when a retry will be accepted.
pub fn greylisted(seconds_left: u64) -> ScreenReply {
    ScreenReply::new(450, (4, 7, 1), format!("greylisted, try again in {seconds_left} s"))
}

/// An IPv4-mapped IPv6 address shown as the IPv4 address it carries.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn display_ip(ip: IpAddr) -> IpAddr {
    canonical_ip(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let ip: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        let r = refusal(Action::Drop, Test::Dnsbl, ip, Some("zen.spamhaus.org"));
        assert_eq!(r.to_line(), "521 5.7.1 Service unavailable; client [192.0.2.9] blocked using zen.spamhaus.org\r\n");
        assert!(r.closes());
        let e = refusal(Action::Enforce, Test::Pipelining, ip, None);
        assert_eq!(e.code, 550);
        assert!(e.text.contains("pipelining"));
        assert!(!e.closes());
        assert_eq!(greylisted(42).to_line(), "450 4.7.1 greylisted, try again in 42 s\r\n");
        assert_eq!(all_ports_busy().to_line(), "421 4.3.2 All server ports are busy\r\n");
        assert!(too_many_from_client(ip).closes());
        assert_eq!(Action::parse("enforce"), Some(Action::Enforce));
        assert_eq!(Action::parse("x"), None);
    }
}
