//! Delivery status notifications (RFC 3464) in a multipart/report
//! (RFC 6522) container: a human-readable part, the machine-readable
//! message/delivery-status part, and the original headers as
//! text/rfc822-headers.
//!
//! Never addressed to the null sender: a bounce of a bounce is backscatter
//! (RFC 5321 6.1, RFC 3464 2 "MUST NOT be sent ... null return address").

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What happened to a recipient (RFC 3464 2.3.3 `Action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
}

/// One recipient's block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsnRecipient {
    pub address: String,
    pub action: Action,
    /// RFC 3463 status `class.subject.detail`, e.g. "5.1.1".
    pub status: String,
    /// The host that answered (RFC 3464 2.3.5), `dns;` type.
    pub remote_mta: Option<String>,
    /// The remote SMTP reply (RFC 3464 2.3.6), `smtp;` type.
    pub diagnostic: Option<String>,
    /// RFC 3464 2.3.7 Last-Attempt-Date.
    pub last_attempt: Option<u64>,
    /// RFC 3464 2.3.8 Will-Retry-Until (delayed only).
    pub will_retry_until: Option<u64>,
}

/// Everything the report needs.
#[derive(Clone, Debug)]
pub struct DsnInput<'a> {
    /// Our host name (Reporting-MTA, From MAILER-DAEMON@...).
    pub hostname: &'a str,
    /// The original envelope sender: the report goes there.
    pub original_sender: &'a str,
    /// The queue id (X-Postfix-Queue-ID's equivalent, RFC 3464 2.2.2 Original-Envelope-Id is the client's, not ours).
    pub queue_id: &'a str,
    pub arrival: u64,
    pub now: u64,
    /// Unique token for Message-ID and the MIME boundary (caller random).
    pub nonce: u64,
    pub recipients: &'a [DsnRecipient],
    /// Original header block (see [`header_block`]); sent as-is.
    pub original_headers: &'a [u8],
}

/// A finished DSN and its envelope (MAIL FROM:<> RCPT TO:<sender>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dsn {
    pub recipient: String,
    pub message: Vec<u8>,
}

/// The header block of a message: up to (not including) the empty line, or
/// the whole input cut at its last line end when no empty line is seen.
pub fn header_block(msg: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < msg.len() {
        let end = match msg[i..].iter().position(|&b| b == b'\n') {
            Some(p) => i + p + 1,
            None => return &msg[..i],
        };
        let line = &msg[i..end];
        if line == b"\r\n" || line == b"\n" {
            return &msg[..i];
        }
        i = end;
    }
    &msg[..i]
}

/// RFC 5322 3.3 date-time in UTC, e.g. `Sun, 22 Nov 2026 07:40:00 +0000`.
pub fn rfc5322_date(t: u64) -> String {
    let days = (t / 86400) as i64;
    let secs = t % 86400;
    // Civil from days (H. Hinnant's algorithm, public domain description).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WD[(days.rem_euclid(7)) as usize],
        d,
        MO[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A header field value with controls removed (no header injection).
fn safe(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// RFC 3464 2.3.2: `rfc822;` addresses are ASCII; RFC 6533 `utf-8;` for
/// the rest (we keep the part type message/delivery-status; see RFCS.md).
fn addr_type(a: &str) -> &'static str {
    if a.is_ascii() {
        "rfc822"
    } else {
        "utf-8"
    }
}

/// Builds the DSN, or None when the original sender is null (no bounce of
/// a bounce) or there is nothing to report.
pub fn build(input: &DsnInput<'_>) -> Option<Dsn> {
    if input.original_sender.is_empty() || input.recipients.is_empty() {
        return None;
    }
    let host = safe(input.hostname);
    let boundary = format!("=_{:016x}/{}", input.nonce, host);
    let failed = input.recipients.iter().any(|r| r.action == Action::Failed);
    let subject = if failed { "Undelivered Mail Returned to Sender" } else { "Delayed Mail (still being retried)" };
    let mut m = String::new();
    m.push_str(&format!("From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n"));
    m.push_str(&format!("To: <{}>\r\n", safe(input.original_sender)));
    m.push_str(&format!("Subject: {subject}\r\n"));
    m.push_str(&format!("Date: {}\r\n", rfc5322_date(input.now)));
    m.push_str(&format!("Message-ID: <{:016x}.dsn.{}@{host}>\r\n", input.nonce, safe(input.queue_id)));
    // RFC 3834 5: automatic responses are marked so no one answers them.
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    // RFC 6522 3: multipart/report with report-type.
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n"
    ));
    m.push_str("\r\nThis is a MIME-encapsulated delivery status notification.\r\n");

    // Part 1: for humans.
    m.push_str(&format!("\r\n--{boundary}\r\n"));
    m.push_str("Content-Description: Notification\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    m.push_str(&format!("This is the mail system at host {host}.\r\n\r\n"));
    if failed {
        m.push_str("Your message could not be delivered to one or more recipients.\r\nIt is attached below (headers only).\r\n\r\n");
    } else {
        m.push_str("Your message has not been delivered yet to one or more recipients.\r\nThe mail system will keep trying; you do not need to send it again.\r\n\r\n");
    }
    for r in input.recipients {
        let what = match r.action {
            Action::Failed => "delivery failed",
            Action::Delayed => "delivery delayed",
        };
        m.push_str(&format!("<{}>: {what}", safe(&r.address)));
        if let Some(mta) = &r.remote_mta {
            m.push_str(&format!(", host {} said:", safe(mta)));
        }
        m.push_str("\r\n");
        if let Some(d) = &r.diagnostic {
            m.push_str(&format!("    {}\r\n", safe(d)));
        }
    }

    // Part 2: RFC 3464 2.1 message/delivery-status: per-message fields, then
    // one block per recipient, each block separated by an empty line.
    m.push_str(&format!("\r\n--{boundary}\r\n"));
    m.push_str("Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n");
    m.push_str(&format!("Reporting-MTA: dns; {host}\r\n"));
    m.push_str(&format!("X-Queue-ID: {}\r\n", safe(input.queue_id)));
    m.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(input.arrival)));
    for r in input.recipients {
        m.push_str("\r\n");
        let a = safe(&r.address);
        m.push_str(&format!("Final-Recipient: {}; {a}\r\n", addr_type(&a)));
        m.push_str(&format!(
            "Action: {}\r\n",
            match r.action {
                Action::Failed => "failed",
                Action::Delayed => "delayed",
            }
        ));
        m.push_str(&format!("Status: {}\r\n", status_or_default(&r.status, r.action)));
        if let Some(mta) = &r.remote_mta {
            m.push_str(&format!("Remote-MTA: dns; {}\r\n", safe(mta)));
        }
        if let Some(d) = &r.diagnostic {
            m.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", safe(d)));
        }
        if let Some(t) = r.last_attempt {
            m.push_str(&format!("Last-Attempt-Date: {}\r\n", rfc5322_date(t)));
        }
        if let (Action::Delayed, Some(t)) = (r.action, r.will_retry_until) {
            m.push_str(&format!("Will-Retry-Until: {}\r\n", rfc5322_date(t)));
        }
    }

    // Part 3: RFC 6522 / RFC 3462 text/rfc822-headers.
    m.push_str(&format!("\r\n--{boundary}\r\n"));
    m.push_str("Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    let mut out = m.into_bytes();
    let h = header_block(input.original_headers);
    out.extend_from_slice(h);
    if !h.is_empty() && !h.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Some(Dsn { recipient: String::from(input.original_sender), message: out })
}

/// The DSN blocks for recipients `idx` of a queue entry: failed ones
/// (Action: failed) and deferred ones (Action: delayed, with
/// Will-Retry-Until from the schedule); `remote_mta` is the last host
/// talked to, when known.
pub fn recipients_from_entry(
    e: &crate::queue::Entry,
    idx: &[usize],
    remote_mta: Option<&str>,
    schedule: &crate::schedule::Schedule,
) -> Vec<DsnRecipient> {
    use crate::queue::RcptState;
    let mut v = Vec::new();
    for &i in idx {
        let Some(r) = e.recipients.get(i) else { continue };
        let (action, reply, at) = match &r.state {
            RcptState::Failed { reply, at, .. } => (Action::Failed, reply, Some(*at)),
            RcptState::Deferred { reply, .. } => (Action::Delayed, reply, None),
            _ => continue,
        };
        let status = if reply.contains("retry time expired") {
            // RFC 3463 3.5: delivery time expired.
            String::from("4.4.7")
        } else if reply.is_empty() {
            String::new()
        } else {
            status_from_reply(reply)
        };
        v.push(DsnRecipient {
            address: r.address.clone(),
            action,
            status: if action == Action::Failed && status.starts_with('4') && status != "4.4.7" {
                String::from("5") + &status[1..]
            } else {
                status
            },
            remote_mta: remote_mta.map(String::from),
            diagnostic: if reply.is_empty() { None } else { Some(reply.clone()) },
            last_attempt: at,
            will_retry_until: (action == Action::Delayed).then(|| e.arrival.saturating_add(schedule.give_up)),
        });
    }
    v
}

/// RFC 3463 3.1: a syntactically valid status, else a generic one
/// (5.0.0 for failures, 4.0.0 for delays).
fn status_or_default(s: &str, a: Action) -> String {
    let parts: Vec<&str> = s.split('.').collect();
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..].iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        String::from(s)
    } else if a == Action::Failed {
        String::from("5.0.0")
    } else {
        String::from("4.0.0")
    }
}

/// The status code for a reply text such as `550 5.1.1 no such user`:
/// the enhanced code if present, else derived from the basic code.
pub fn status_from_reply(reply: &str) -> String {
    let mut w = reply.split_ascii_whitespace();
    let code = w.next().unwrap_or("");
    let enh = w.next().unwrap_or("");
    if status_or_default(enh, Action::Failed) == enh {
        return String::from(enh);
    }
    match code.as_bytes().first() {
        Some(b'2') => String::from("2.0.0"),
        Some(b'4') => String::from("4.0.0"),
        _ => String::from("5.0.0"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use mail_mime::{Body, Message};

    pub(crate) const ORIG: &[u8] = b"From: Alice <alice@ex.test>\r\nTo: bob@far.test\r\nSubject: lunch\r\nMessage-ID: <1@ex.test>\r\n\r\nsecret body\r\n";

    pub(crate) fn sample(sender: &str) -> Option<Dsn> {
        let rcpts = [
            DsnRecipient {
                address: "bob@far.test".into(),
                action: Action::Failed,
                status: status_from_reply("550 5.1.1 no such user"),
                remote_mta: Some("mx.far.test".into()),
                diagnostic: Some("550 5.1.1 no such user".into()),
                last_attempt: Some(1_800_000_100),
                will_retry_until: None,
            },
            DsnRecipient {
                address: "carol@slow.test".into(),
                action: Action::Delayed,
                status: status_from_reply("451 greylisted"),
                remote_mta: None,
                diagnostic: Some("451 greylisted".into()),
                last_attempt: Some(1_800_000_100),
                will_retry_until: Some(1_800_432_000),
            },
        ];
        build(&DsnInput {
            hostname: "mx.ex.test",
            original_sender: sender,
            queue_id: "6b49d200.0.1",
            arrival: 1_800_000_000,
            now: 1_800_000_200,
            nonce: 0x1234,
            recipients: &rcpts,
            original_headers: header_block(ORIG),
        })
    }

    #[test]
    fn never_to_null_sender() {
        assert_eq!(sample(""), None);
        assert!(build(&DsnInput {
            hostname: "h",
            original_sender: "a@b",
            queue_id: "q",
            arrival: 0,
            now: 0,
            nonce: 0,
            recipients: &[],
            original_headers: b""
        })
        .is_none());
    }

    #[test]
    fn parses_as_multipart_report() {
        let d = sample("alice@ex.test").unwrap();
        assert_eq!(d.recipient, "alice@ex.test");
        let m = Message::parse(&d.message);
        let root = m.root();
        assert!(root.content_type.is("multipart", "report"));
        assert_eq!(root.content_type.params.get("report-type"), Some("delivery-status"));
        assert_eq!(m.header().text("From").unwrap(), "Mail Delivery System <MAILER-DAEMON@mx.ex.test>");
        assert_eq!(m.header().text("Auto-Submitted").unwrap(), "auto-replied");
        assert_eq!(m.header().text("To").unwrap(), "<alice@ex.test>");
        let Body::Multipart { children, .. } = &root.kind else { panic!("not multipart") };
        assert_eq!(children.len(), 3);
        let p = |i: usize| &m.parts[children[i]];
        assert!(p(0).content_type.is("text", "plain"));
        assert!(p(1).content_type.is("message", "delivery-status"));
        assert!(p(2).content_type.is("text", "rfc822-headers"));
        let status = core::str::from_utf8(m.body_raw(children[1])).unwrap();
        let blocks: Vec<&str> = status.trim_end().split("\r\n\r\n").collect();
        assert_eq!(blocks.len(), 3, "{status}");
        assert!(blocks[0].starts_with("Reporting-MTA: dns; mx.ex.test\r\n"));
        assert!(blocks[0].contains("Arrival-Date: Fri, 15 Jan 2027 08:00:00 +0000"));
        assert!(blocks[1].contains("Final-Recipient: rfc822; bob@far.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
        assert!(blocks[1].contains("Remote-MTA: dns; mx.far.test\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user"));
        assert!(blocks[2].contains("Action: delayed\r\nStatus: 4.0.0\r\n"));
        assert!(blocks[2].contains("Will-Retry-Until: "));
        let headers = m.body_raw(children[2]);
        assert!(headers.starts_with(b"From: Alice <alice@ex.test>\r\n"));
        assert!(!headers.windows(6).any(|w| w == b"secret"), "body must not be attached");
        let text = m.text(children[0]).unwrap();
        assert!(text.contains("<bob@far.test>: delivery failed, host mx.far.test said:"));
    }

    #[test]
    fn blocks_from_queue_entry() {
        use crate::queue::{Entry, RcptState, Recipient};
        let e = Entry {
            id: "1.0.1".into(),
            sender: "a@ex.test".into(),
            arrival: 1000,
            size: 1,
            warned: false,
            recipients: vec![
                Recipient {
                    address: "a@x".into(),
                    state: RcptState::Failed { at: 5, reply: "550 5.1.1 unknown".into(), notified: false },
                },
                Recipient {
                    address: "b@x".into(),
                    state: RcptState::Failed {
                        at: 6,
                        reply: "retry time expired; last error: 451 4.7.1 grey".into(),
                        notified: false,
                    },
                },
                Recipient {
                    address: "c@x".into(),
                    state: RcptState::Deferred { attempts: 2, next: 9, reply: "421 busy".into() },
                },
                Recipient { address: "d@x".into(), state: RcptState::Delivered { reply: "250".into() } },
            ],
        };
        let s = crate::schedule::Schedule::default();
        let r = recipients_from_entry(&e, &[0, 1, 2, 3, 9], Some("mx.x"), &s);
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].action, r[0].status.as_str(), r[0].last_attempt), (Action::Failed, "5.1.1", Some(5)));
        assert_eq!((r[1].action, r[1].status.as_str()), (Action::Failed, "4.4.7"));
        assert_eq!(
            (r[2].action, r[2].status.as_str(), r[2].will_retry_until),
            (Action::Delayed, "4.0.0", Some(1000 + 5 * 86400))
        );
        assert_eq!(r[2].remote_mta.as_deref(), Some("mx.x"));
    }

    #[test]
    fn no_header_injection() {
        let r = [DsnRecipient {
            address: "x@y\r\nBcc: evil@z".into(),
            action: Action::Failed,
            status: "9.9".into(),
            remote_mta: None,
            diagnostic: Some("550 a\r\n\r\nFinal-Recipient: rfc822; forged".into()),
            last_attempt: None,
            will_retry_until: None,
        }];
        let d = build(&DsnInput {
            hostname: "h",
            original_sender: "a@b\r\nX: y",
            queue_id: "q",
            arrival: 0,
            now: 0,
            nonce: 0,
            recipients: &r,
            original_headers: b"Subject: s\r\n",
        })
        .unwrap();
        let s = String::from_utf8(d.message).unwrap();
        assert!(
            !s.contains("\r\nBcc:") && !s.contains("\r\nX: y") && !s.contains("\r\nFinal-Recipient: rfc822; forged")
        );
        assert!(s.contains("Status: 5.0.0\r\n"));
    }

    #[test]
    fn dates_and_statuses() {
        assert_eq!(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_800_000_000), "Fri, 15 Jan 2027 08:00:00 +0000");
        // Cross-check with mail-mime's parser.
        for t in [0u64, 86_399, 951_782_400, 1_800_000_000, 4_102_444_800] {
            assert_eq!(mail_mime::parse_date(rfc5322_date(t).as_bytes()).unwrap().timestamp, t as i64);
        }
        assert_eq!(status_from_reply("550 5.7.1 spam"), "5.7.1");
        assert_eq!(status_from_reply("554 rejected"), "5.0.0");
        assert_eq!(status_from_reply("421 4.4.2 timeout"), "4.4.2");
        assert_eq!(status_from_reply("450 busy"), "4.0.0");
        assert_eq!(status_from_reply(""), "5.0.0");
        assert_eq!(header_block(b"A: b\r\n\r\nbody"), b"A: b\r\n");
        assert_eq!(header_block(b"A: b\r\nC: d"), b"A: b\r\n");
        assert_eq!(header_block(b"\r\nbody"), b"");
        let _ = vec![0u8; 0];
        let _ = "x".to_string();
    }
}
