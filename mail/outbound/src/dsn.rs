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
    m.push_str(&format!("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n"));
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
