//! Delivery-side header work: the trace block prepended to each delivered
//! copy (`Return-Path`, `Delivered-To`, `Received`, RFC 5321 4.4) and hop
//! counting for loop detection (RFC 5321 6.3).
//!
//! Everything is computed from values passed in (queue id, unix time), so
//! the output is reproducible in tests.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;

use crate::address::{Mailbox, ReversePath};
use crate::reply::{Enhanced, Reply};
use crate::server::TlsInfo;

/// Postfix's `hopcount_limit` default: more `Received:` headers than this
/// means a mail loop (RFC 5321 6.3).
pub const DEFAULT_MAX_HOPS: usize = 50;

/// Everything a `Received:` header says about how a message arrived.
#[derive(Clone, Debug)]
pub struct TraceInfo<'a> {
    pub sender: &'a ReversePath,
    pub client_ip: IpAddr,
    /// Verified reverse DNS name of the client, if any ("unknown" otherwise).
    pub client_rdns: Option<&'a str>,
    /// HELO/EHLO argument as the client sent it.
    pub helo: &'a str,
    /// EHLO (true) or HELO (false).
    pub esmtp: bool,
    pub tls: Option<&'a TlsInfo>,
    pub auth_user: Option<&'a str>,
    /// RFC 6531 SMTPUTF8 transaction.
    pub smtputf8: bool,
    /// Our host name (the `by` clause).
    pub our_host: &'a str,
    /// Queue id (the `id` clause).
    pub queue_id: &'a str,
    /// Arrival time, seconds since 1970-01-01T00:00:00Z.
    pub unix_time: i64,
}

/// The `with` protocol name: RFC 3848 (ESMTP, ESMTPA, ESMTPS, ESMTPSA) and
/// RFC 6531 3.7.3 (UTF8SMTP, UTF8SMTPA, UTF8SMTPS, UTF8SMTPSA).
pub fn protocol(esmtp: bool, tls: bool, auth: bool, utf8: bool) -> &'static str {
    match (esmtp, utf8, tls, auth) {
        (false, _, _, _) => "SMTP",
        (true, false, false, false) => "ESMTP",
        (true, false, true, false) => "ESMTPS",
        (true, false, false, true) => "ESMTPA",
        (true, false, true, true) => "ESMTPSA",
        (true, true, false, false) => "UTF8SMTP",
        (true, true, true, false) => "UTF8SMTPS",
        (true, true, false, true) => "UTF8SMTPA",
        (true, true, true, true) => "UTF8SMTPSA",
    }
}

/// Client-controlled text in a header: keep printable characters that
/// cannot end a comment or the clause list, replace the rest with `?`.
fn clean(s: &str, utf8: bool, out: &mut String) {
    if s.is_empty() {
        out.push_str("unknown");
    }
    for c in s.chars().take(255) {
        let ok = match c {
            '(' | ')' | ';' | '\\' | '"' => false,
            c if c.is_ascii() => c.is_ascii_graphic(),
            _ => utf8 && !c.is_control(),
        };
        out.push(if ok { c } else { '?' });
    }
}

fn address_literal(ip: IpAddr, out: &mut String) {
    // RFC 5321 4.1.3
    let _ = match ip {
        IpAddr::V4(a) => write!(out, "[{}]", a),
        IpAddr::V6(a) => write!(out, "[IPv6:{}]", a),
    };
}

/// `Received:` header (folded, ending in CR LF). `rcpt` adds the `for`
/// clause; pass it for per-recipient copies only (privacy: one recipient
/// must not learn the others).
///
/// RFC 5321 4.4: `from <helo> (<rdns> [<ip>]) by <host> with <proto> id <id>
/// for <rcpt>; <date>`; TLS details go in a comment as Postfix does.
pub fn received_header(t: &TraceInfo<'_>, rcpt: Option<&Mailbox>) -> String {
    let mut h = String::with_capacity(256);
    h.push_str("Received: from ");
    clean(t.helo, t.smtputf8, &mut h);
    h.push_str(" (");
    clean(t.client_rdns.unwrap_or("unknown"), false, &mut h);
    h.push(' ');
    address_literal(t.client_ip, &mut h);
    h.push_str(")\r\n");
    if let Some(tls) = t.tls {
        h.push_str("\t(using ");
        clean(&tls.version, false, &mut h);
        h.push_str(" with cipher ");
        clean(&tls.cipher, false, &mut h);
        h.push_str(")\r\n");
    }
    h.push_str("\tby ");
    clean(t.our_host, false, &mut h);
    h.push_str(" with ");
    h.push_str(protocol(t.esmtp, t.tls.is_some(), t.auth_user.is_some(), t.smtputf8));
    h.push_str(" id ");
    clean(t.queue_id, false, &mut h);
    if let Some(r) = rcpt {
        h.push_str("\r\n\tfor <");
        let _ = write!(h, "{}", r);
        h.push('>');
    }
    h.push_str("; ");
    rfc5322_date(t.unix_time, &mut h);
    h.push_str("\r\n");
    h
}

/// `Return-Path: <sender>` (RFC 5321 4.4: added at final delivery).
pub fn return_path(sender: &ReversePath) -> String {
    let mut s = String::from("Return-Path: <");
    let _ = write!(s, "{}", sender);
    s.push_str(">\r\n");
    s
}

/// `Delivered-To: rcpt` (the de facto loop-detection header).
pub fn delivered_to(rcpt: &Mailbox) -> String {
    let mut s = String::from("Delivered-To: ");
    let _ = write!(s, "{}", rcpt);
    s.push_str("\r\n");
    s
}

/// The whole block to prepend to the copy delivered to `rcpt`.
pub fn trace_block(t: &TraceInfo<'_>, rcpt: &Mailbox) -> String {
    let mut s = return_path(t.sender);
    s.push_str(&delivered_to(rcpt));
    s.push_str(&received_header(t, Some(rcpt)));
    s
}

/// The reply for a detected loop.
pub fn loop_reply() -> Reply {
    Reply::new(554, Enhanced(5, 4, 6), "Error: too many hops (mail forwarding loop)")
}

// ----- dates ---------------------------------------------------------------

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) in the proleptic
/// Gregorian calendar. Works in 400-year eras of 146097 days that start on
/// March 1st, so the leap day is the last day of each era-year.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
                                     // Year of era: remove the leap days of 4-, 100- and 400-year cycles.
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year
    let mp = (5 * doy + 2) / 153; // month index from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// RFC 5322 3.3 date-time in UTC: `Sun, 22 Nov 2026 06:18:19 +0000`.
pub fn rfc5322_date(unix: i64, out: &mut String) {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let wd = DAYS[days.rem_euclid(7) as usize];
    let _ = write!(
        out,
        "{}, {} {} {:04} {:02}:{:02}:{:02} +0000",
        wd,
        d,
        MONTHS[m as usize - 1],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

// ----- hop counting ----------------------------------------------------------

/// Most `Delivered-To:` values remembered, and their longest length.
const MAX_DELIVERED_TO: usize = 16;
const MAX_DELIVERED_TO_LEN: usize = 320;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HopState {
    /// At the start of a header line (after LF).
    LineStart,
    /// Matching a field name; `n` octets of it stored in `name`.
    Name,
    /// In a value we want (Delivered-To), collecting.
    Collect,
    /// Skipping the rest of a line.
    Skip,
    /// Saw CR at line start: blank line if LF follows.
    BlankCr,
    /// Header section over.
    Done,
}

/// Streams message content (as `Event::Data` delivers it) and counts
/// `Received:` fields in the header section, remembering the first
/// `Delivered-To:` values (bounded) so the caller can spot a forwarding
/// loop. State is O(1) apart from the bounded remembered values.
#[derive(Clone, Debug)]
pub struct HopCounter {
    state: HopState,
    name: [u8; 16],
    name_len: usize,
    value: Vec<u8>,
    /// `Received:` fields seen so far.
    pub received: usize,
    /// `Delivered-To:` values seen (trimmed), at most 16.
    pub delivered_to: Vec<String>,
}

impl Default for HopCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl HopCounter {
    pub fn new() -> Self {
        HopCounter {
            state: HopState::LineStart,
            name: [0; 16],
            name_len: 0,
            value: Vec::new(),
            received: 0,
            delivered_to: Vec::new(),
        }
    }

    /// The header section has ended (later input is ignored).
    pub fn header_done(&self) -> bool {
        self.state == HopState::Done
    }

    /// More hops than `limit`?
    pub fn is_loop(&self, limit: usize) -> bool {
        self.received > limit
    }

    /// True if a `Delivered-To:` equal (case-insensitively) to `addr` was seen.
    pub fn delivered_to_seen(&self, addr: &str) -> bool {
        self.delivered_to.iter().any(|d| d.eq_ignore_ascii_case(addr))
    }

    fn end_name(&mut self) {
        let name = &self.name[..self.name_len];
        let trimmed_len = name.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |p| p + 1);
        let name = &name[..trimmed_len];
        if name.eq_ignore_ascii_case(b"received") {
            self.received += 1;
            self.state = HopState::Skip;
        } else if name.eq_ignore_ascii_case(b"delivered-to") && self.delivered_to.len() < MAX_DELIVERED_TO {
            self.value.clear();
            self.state = HopState::Collect;
        } else {
            self.state = HopState::Skip;
        }
    }

    fn finish_value(&mut self) {
        if self.state == HopState::Collect {
            let v = core::mem::take(&mut self.value);
            if let Ok(s) = core::str::from_utf8(&v) {
                self.delivered_to.push(String::from(s.trim()));
            }
        }
    }

    /// Feed the next piece of content.
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            match self.state {
                HopState::Done => return,
                HopState::LineStart => match b {
                    b'\r' => self.state = HopState::BlankCr,
                    b'\n' => self.state = HopState::Done,
                    // A continuation line belongs to the previous field.
                    b' ' | b'\t' => self.state = HopState::Skip,
                    _ => {
                        self.name[0] = b;
                        self.name_len = 1;
                        self.state = HopState::Name;
                    }
                },
                HopState::BlankCr => {
                    self.state = if b == b'\n' { HopState::Done } else { HopState::Skip };
                }
                HopState::Name => match b {
                    b':' => self.end_name(),
                    b'\n' => self.state = HopState::LineStart,
                    _ if self.name_len < self.name.len() => {
                        self.name[self.name_len] = b;
                        self.name_len += 1;
                    }
                    _ => self.state = HopState::Skip,
                },
                HopState::Collect => match b {
                    b'\n' => {
                        self.finish_value();
                        self.state = HopState::LineStart;
                    }
                    b'\r' => {}
                    _ if self.value.len() < MAX_DELIVERED_TO_LEN => self.value.push(b),
                    _ => {
                        self.value.clear();
                        self.state = HopState::Skip;
                    }
                },
                HopState::Skip => {
                    if b == b'\n' {
                        self.state = HopState::LineStart;
                    }
                }
            }
        }
    }
}

/// Count `Received:` fields in a complete header block.
pub fn count_received(headers: &[u8]) -> usize {
    let mut c = HopCounter::new();
    c.feed(headers);
    c.received
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{parse_forward_path, parse_reverse_path};
    use alloc::string::ToString;

    fn date(t: i64) -> String {
        let mut s = String::new();
        rfc5322_date(t, &mut s);
        s
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(civil_from_days(47_482), (2100, 1, 1));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28)); // 2100 is not leap
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
    }

    #[test]
    fn civil_dates_match_day_by_day_walk() {
        // Independent check: walk day by day with the leap-year rule.
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..200_000i64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {}", days);
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn rfc5322_dates() {
        assert_eq!(date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(date(1_795_328_299), "Sun, 22 Nov 2026 06:18:19 +0000");
        assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
    }

    fn info<'a>(sender: &'a ReversePath, tls: Option<&'a TlsInfo>, auth: Option<&'a str>) -> TraceInfo<'a> {
        TraceInfo {
            sender,
            client_ip: "192.0.2.7".parse().unwrap(),
            client_rdns: Some("mail.example.net"),
            helo: "mail.example.net",
            esmtp: true,
            tls,
            auth_user: auth,
            smtputf8: false,
            our_host: "mx.example.org",
            queue_id: "4F2A1B",
            unix_time: 1_795_328_299,
        }
    }

    #[test]
    fn received_plain_and_tls() {
        let s = parse_reverse_path(b"<a@example.net>", false).unwrap();
        let r = parse_forward_path(b"<bob@example.org>", false).unwrap();
        let h = received_header(&info(&s, None, None), Some(&r));
        assert_eq!(
            h,
            "Received: from mail.example.net (mail.example.net [192.0.2.7])\r\n\tby mx.example.org with ESMTP id 4F2A1B\r\n\tfor <bob@example.org>; Sun, 22 Nov 2026 06:18:19 +0000\r\n"
        );
        let tls = TlsInfo { version: "TLSv1.3".into(), cipher: "TLS_AES_128_GCM_SHA256".into() };
        let h = received_header(&info(&s, Some(&tls), Some("alice")), None);
        assert!(h.contains("\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n"));
        assert!(h.contains(" with ESMTPSA id 4F2A1B; Sun,"));
    }

    #[test]
    fn received_ipv6_unknown_rdns_and_hostile_helo() {
        let s = ReversePath::Null;
        let mut i = info(&s, None, None);
        i.client_ip = "2001:db8::25".parse().unwrap();
        i.client_rdns = None;
        i.helo = "evil) (x; \u{7f}";
        i.esmtp = false;
        let h = received_header(&i, None);
        assert!(h.starts_with("Received: from evil???x??? (unknown [IPv6:2001:db8::25])\r\n"), "{}", h);
        assert!(h.contains(" with SMTP id "));
    }

    #[test]
    fn protocol_names() {
        assert_eq!(protocol(true, true, true, true), "UTF8SMTPSA");
        assert_eq!(protocol(true, true, false, false), "ESMTPS");
        assert_eq!(protocol(true, false, true, false), "ESMTPA");
        assert_eq!(protocol(false, true, true, true), "SMTP");
    }

    #[test]
    fn trace_block_order() {
        let s = parse_reverse_path(b"<a@example.net>", false).unwrap();
        let r = parse_forward_path(b"<bob@example.org>", false).unwrap();
        let b = trace_block(&info(&s, None, None), &r);
        assert!(b.starts_with("Return-Path: <a@example.net>\r\nDelivered-To: bob@example.org\r\nReceived: from "));
        assert_eq!(return_path(&ReversePath::Null), "Return-Path: <>\r\n");
        // Our own block counts as one hop.
        assert_eq!(count_received(b.as_bytes()), 1);
    }

    #[test]
    fn hop_counting() {
        let h = b"Received: a\r\n\tfolded Received: no\r\nreceived :b\r\nX-Received: c\r\nRECEIVED: d\r\n\r\nReceived: body\r\n";
        assert_eq!(count_received(h), 3);
        // Streaming byte by byte gives the same count.
        let mut c = HopCounter::new();
        for b in h.iter() {
            c.feed(core::slice::from_ref(b));
        }
        assert_eq!(c.received, 3);
        assert!(c.header_done());
        assert!(!c.is_loop(DEFAULT_MAX_HOPS));
        let many: String = (0..51).map(|_| "Received: x\r\n").collect();
        let mut c = HopCounter::new();
        c.feed(many.as_bytes());
        assert!(c.is_loop(DEFAULT_MAX_HOPS));
        assert_eq!(loop_reply().to_bytes(), b"554 5.4.6 Error: too many hops (mail forwarding loop)\r\n");
    }

    #[test]
    fn delivered_to_loop() {
        let mut c = HopCounter::new();
        c.feed(b"Delivered-To: bob@example.org\r\nSubject: x\r\n\r\n");
        assert!(c.delivered_to_seen("BOB@example.org"));
        assert!(!c.delivered_to_seen("carol@example.org"));
        assert_eq!(c.delivered_to, ["bob@example.org".to_string()]);
    }
}
