//! Summaries of aggregate reports: per reporting org and per source IP,
//! with every record classified so forwarding stands out from spoofing.
//!
//! # The classification rule (per record)
//!
//! 1. **aligned-pass**: the reporter's `policy_evaluated` says DKIM or SPF
//!    passed *and aligned* (RFC 7489 3.1): DMARC passed. Your own servers,
//!    and relays that keep your signature intact, land here.
//! 2. **forwarded**: DMARC failed, but the record shows the mail once was
//!    yours or went through a relay that vouches for it, i.e. any of:
//!    * a `<reason>` of type `forwarded`, `trusted_forwarder` or
//!      `mailing_list`, or `local_policy` whose comment mentions `arc=pass`
//!      (receivers overriding DMARC on an ARC chain, RFC 8617);
//!    * a DKIM signature of *another* domain passed (unaligned: a mailing
//!      list or forwarder re-signed the message after changing it; SPF
//!      then fails or passes only for the relay's own domain);
//!    * a DKIM signature *of the header-From domain* is present but fails:
//!      the message was signed by you and broken in transit (a list adding
//!      a footer or a subject tag), the Yahoo-style case where the relay
//!      fails both SPF and DKIM.
//!    * (a DKIM signature of the header-From domain passes but the
//!      reporter found it unaligned under `adkim=s`: grouped here too, so
//!      your own mail never shows as spoofing).
//! 3. **spoofing**: everything else: SPF and DKIM both fail or are absent
//!    and no signature of yours was seen. Someone else uses your domain.
//!
//! Alignment of a DKIM domain with the header-From domain is relaxed
//! (RFC 7489 3.1.1) approximated without a public-suffix list: one is the
//! other or a subdomain of it.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::net::IpAddr;

use crate::report::{AuthResult, Disposition, Record, Report};

/// The three groups of the summary, in the order they are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    AlignedPass,
    Forwarded,
    Spoofing,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::AlignedPass => "aligned-pass",
            Class::Forwarded => "forwarded",
            Class::Spoofing => "spoofing",
        }
    }
    pub const ALL: [Class; 3] = [Class::AlignedPass, Class::Forwarded, Class::Spoofing];
}

/// `a` is `b` or a subdomain of it, or the other way round.
fn relaxed_aligned(a: &str, b: &str) -> bool {
    let sub = |x: &str, y: &str| {
        x == y || (x.len() > y.len() && x.ends_with(y) && x.as_bytes()[x.len() - y.len() - 1] == b'.')
    };
    !a.is_empty() && !b.is_empty() && (sub(a, b) || sub(b, a))
}

/// The class of one record and a short reason (see the module docs).
pub fn classify(r: &Record) -> (Class, &'static str) {
    if r.dkim_aligned {
        return (Class::AlignedPass, "DKIM aligned pass");
    }
    if r.spf_aligned {
        return (Class::AlignedPass, "SPF aligned pass");
    }
    for reason in &r.reasons {
        match reason.kind.as_str() {
            "forwarded" => return (Class::Forwarded, "reported as forwarded"),
            "trusted_forwarder" => return (Class::Forwarded, "reported as trusted forwarder"),
            "mailing_list" => return (Class::Forwarded, "reported as mailing list"),
            "local_policy"
                if reason.comment.as_deref().is_some_and(|c| c.to_ascii_lowercase().contains("arc=pass")) =>
            {
                return (Class::Forwarded, "ARC pass (local policy override)")
            }
            _ => {}
        }
    }
    let own = |d: &str| relaxed_aligned(d, &r.header_from);
    if r.dkim.iter().any(|d| d.result.is_pass() && !own(&d.domain)) {
        return (Class::Forwarded, "SPF fails, unaligned DKIM passes (relay re-signed)");
    }
    if r.dkim.iter().any(|d| own(&d.domain) && d.result.is_pass()) {
        // Yours but not aligned under adkim=s (a subdomain signed): not
        // spoofing, though not forwarding either; grouped with what is yours.
        return (Class::Forwarded, "DKIM of your domain passes but not strictly aligned");
    }
    if r.dkim.iter().any(|d| own(&d.domain) && d.result != AuthResult::None) {
        return (Class::Forwarded, "own DKIM signature broken in transit");
    }
    (Class::Spoofing, "SPF and DKIM fail, no signature of yours")
}

/// One row: one reporting org, one source address, one class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRow {
    pub org: String,
    pub source_ip: IpAddr,
    pub class: Class,
    /// Why the first record of the row got its class.
    pub why: &'static str,
    pub messages: u64,
    /// Messages whose DKIM / SPF passed aligned (policy_evaluated).
    pub dkim_aligned: u64,
    pub spf_aligned: u64,
    /// Messages with at least one passing DKIM signature / SPF check (any domain).
    pub dkim_pass: u64,
    pub spf_pass: u64,
    /// Messages per applied disposition: none, quarantine, reject.
    pub disposition: [u64; 3],
    /// Header-From domains, DKIM `d=` and SPF domains seen (a few each).
    pub header_from: Vec<String>,
    pub dkim_domains: Vec<String>,
    pub spf_domains: Vec<String>,
    /// The PTR name, filled in by a caller that has a resolver.
    pub reverse: Option<String>,
}

/// One report's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportInfo {
    pub org: String,
    pub report_id: String,
    pub domain: String,
    pub begin: u64,
    pub end: u64,
    pub policy: Disposition,
    pub records: usize,
    pub messages: u64,
    pub errors: Vec<String>,
}

/// Summary of one or several reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub reports: Vec<ReportInfo>,
    /// Sorted by class, then messages (most first), org and address.
    pub rows: Vec<SourceRow>,
}

/// Domains kept per row and column.
const MAX_DOMAINS: usize = 4;

fn note(v: &mut Vec<String>, d: &str) {
    if !d.is_empty() && v.len() < MAX_DOMAINS && !v.iter().any(|x| x == d) {
        v.push(d.to_string());
    }
}

impl Summary {
    pub fn new() -> Summary {
        Summary::default()
    }

    pub fn from_reports(reports: &[Report]) -> Summary {
        let mut s = Summary::new();
        for r in reports {
            s.add(r);
        }
        s
    }

    /// Add one report's records.
    pub fn add(&mut self, rep: &Report) {
        let mut index: BTreeMap<(String, IpAddr, Class), usize> =
            self.rows.iter().enumerate().map(|(i, r)| ((r.org.clone(), r.source_ip, r.class), i)).collect();
        for rec in &rep.records {
            let (class, why) = classify(rec);
            let key = (rep.org_name.clone(), rec.source_ip, class);
            let i = *index.entry(key).or_insert_with(|| {
                self.rows.push(SourceRow {
                    org: rep.org_name.clone(),
                    source_ip: rec.source_ip,
                    class,
                    why,
                    messages: 0,
                    dkim_aligned: 0,
                    spf_aligned: 0,
                    dkim_pass: 0,
                    spf_pass: 0,
                    disposition: [0; 3],
                    header_from: Vec::new(),
                    dkim_domains: Vec::new(),
                    spf_domains: Vec::new(),
                    reverse: None,
                });
                self.rows.len() - 1
            });
            let row = &mut self.rows[i];
            let n = rec.count;
            row.messages = row.messages.saturating_add(n);
            let add = |x: &mut u64, yes: bool| *x = x.saturating_add(if yes { n } else { 0 });
            add(&mut row.dkim_aligned, rec.dkim_aligned);
            add(&mut row.spf_aligned, rec.spf_aligned);
            add(&mut row.dkim_pass, rec.dkim.iter().any(|d| d.result.is_pass()));
            add(&mut row.spf_pass, rec.spf.iter().any(|d| d.result.is_pass()));
            add(&mut row.disposition[rec.disposition as usize], true);
            note(&mut row.header_from, &rec.header_from);
            for d in &rec.dkim {
                note(&mut row.dkim_domains, &format!("{}={}", d.domain, d.result.as_str()));
            }
            for d in &rec.spf {
                note(&mut row.spf_domains, &format!("{}={}", d.domain, d.result.as_str()));
            }
        }
        self.reports.push(ReportInfo {
            org: rep.org_name.clone(),
            report_id: rep.report_id.clone(),
            domain: rep.policy.domain.clone(),
            begin: rep.begin,
            end: rep.end,
            policy: rep.policy.p,
            records: rep.records.len(),
            messages: rep.records.iter().fold(0u64, |a, r| a.saturating_add(r.count)),
            errors: rep.errors.clone(),
        });
        self.rows.sort_by(|a, b| {
            (a.class, b.messages, &a.org, a.source_ip).cmp(&(b.class, a.messages, &b.org, b.source_ip))
        });
    }

    /// Messages per class, in [`Class::ALL`] order.
    pub fn totals(&self) -> [u64; 3] {
        let mut t = [0u64; 3];
        for r in &self.rows {
            t[r.class as usize] = t[r.class as usize].saturating_add(r.messages);
        }
        t
    }

    /// Rows that failed DMARC (the ones worth a reverse lookup).
    pub fn failing(&mut self) -> impl Iterator<Item = &mut SourceRow> {
        self.rows.iter_mut().filter(|r| r.class != Class::AlignedPass)
    }

    /// The text table `unimail dmarc-report` prints.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "{} report{}", self.reports.len(), if self.reports.len() == 1 { "" } else { "s" });
        for r in &self.reports {
            let _ = writeln!(
                o,
                "  {}  id {}  domain {}  {} .. {}  p={}  {} records, {} messages",
                r.org,
                r.report_id,
                r.domain,
                datetime(r.begin),
                datetime(r.end),
                r.policy.as_str(),
                r.records,
                r.messages
            );
            for e in &r.errors {
                let _ = writeln!(o, "    reporter error: {e}");
            }
        }
        let totals = self.totals();
        for class in Class::ALL {
            let rows: Vec<&SourceRow> = self.rows.iter().filter(|r| r.class == class).collect();
            let _ =
                writeln!(o, "\n{}: {} messages from {} sources", class.as_str(), totals[class as usize], rows.len());
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                o,
                "  {:<20} {:<39} {:>7} {:>11} {:>11} {:>11}  DETAILS",
                "ORG", "SOURCE", "MSGS", "DKIM al/ok", "SPF al/ok", "none/q/rej"
            );
            for r in rows {
                let _ = writeln!(
                    o,
                    "  {:<20} {:<39} {:>7} {:>11} {:>11} {:>11}  from {}; dkim {}; spf {}; {}{}",
                    r.org,
                    r.source_ip,
                    r.messages,
                    format!("{}/{}", r.dkim_aligned, r.dkim_pass),
                    format!("{}/{}", r.spf_aligned, r.spf_pass),
                    format!("{}/{}/{}", r.disposition[0], r.disposition[1], r.disposition[2]),
                    list(&r.header_from),
                    list(&r.dkim_domains),
                    list(&r.spf_domains),
                    r.why,
                    r.reverse.as_deref().map(|n| format!("; reverse {n}")).unwrap_or_default()
                );
            }
        }
        o
    }

    /// The same as JSON (one object; numbers as numbers, times as epoch
    /// seconds and RFC 3339 text).
    pub fn to_json(&self) -> String {
        let mut o = String::from("{\"reports\":[");
        for (i, r) in self.reports.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "{{\"org\":{},\"report_id\":{},\"domain\":{},\"begin\":{},\"end\":{},\"begin_utc\":\"{}\",\"end_utc\":\"{}\",\"policy\":\"{}\",\"records\":{},\"messages\":{},\"errors\":{}}}",
                js(&r.org),
                js(&r.report_id),
                js(&r.domain),
                r.begin,
                r.end,
                rfc3339(r.begin),
                rfc3339(r.end),
                r.policy.as_str(),
                r.records,
                r.messages,
                js_list(&r.errors)
            );
        }
        let t = self.totals();
        let _ = write!(
            o,
            "],\"totals\":{{\"aligned-pass\":{},\"forwarded\":{},\"spoofing\":{}}},\"sources\":[",
            t[0], t[1], t[2]
        );
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "{{\"org\":{},\"source_ip\":\"{}\",\"class\":\"{}\",\"why\":{},\"messages\":{},\"dkim_aligned\":{},\"dkim_pass\":{},\"spf_aligned\":{},\"spf_pass\":{},\"disposition\":{{\"none\":{},\"quarantine\":{},\"reject\":{}}},\"header_from\":{},\"dkim\":{},\"spf\":{},\"reverse\":{}}}",
                js(&r.org),
                r.source_ip,
                r.class.as_str(),
                js(r.why),
                r.messages,
                r.dkim_aligned,
                r.dkim_pass,
                r.spf_aligned,
                r.spf_pass,
                r.disposition[0],
                r.disposition[1],
                r.disposition[2],
                js_list(&r.header_from),
                js_list(&r.dkim_domains),
                js_list(&r.spf_domains),
                r.reverse.as_deref().map(js).unwrap_or_else(|| "null".into())
            );
        }
        o.push_str("]}");
        o
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

/// A JSON string (RFC 8259 7).
fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn js_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| js(s)).collect();
    format!("[{}]", items.join(","))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn parts(t: u64) -> (i64, u32, u32, u64, u64) {
    let t = t.min(i64::MAX as u64 / 2);
    let (y, m, d) = civil((t / 86_400) as i64);
    (y, m, d, t % 86_400 / 3600, t % 3600 / 60)
}

/// `YYYY-MM-DD HH:MM` UTC.
pub fn datetime(t: u64) -> String {
    let (y, m, d, h, mi) = parts(t);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}")
}

fn rfc3339(t: u64) -> String {
    let (y, m, d, h, mi) = parts(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{:02}Z", t % 60)
}

/// Statistics the image keeps for mail arriving at the `rua` address
/// (issue 9 item 6), printed as Prometheus text exposition lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub reports: u64,
    pub report_errors: u64,
    /// Messages reported, per [`Class`].
    pub messages: [u64; 3],
    /// Messages per applied disposition (none, quarantine, reject).
    pub disposition: [u64; 3],
}

impl Counters {
    /// Count a summary (of one message's reports).
    pub fn add(&mut self, s: &Summary) {
        self.reports = self.reports.saturating_add(s.reports.len() as u64);
        for r in &s.rows {
            let c = r.class as usize;
            self.messages[c] = self.messages[c].saturating_add(r.messages);
            for (d, n) in self.disposition.iter_mut().zip(r.disposition) {
                *d = d.saturating_add(n);
            }
        }
    }
    /// Count a report that could not be read.
    pub fn add_error(&mut self) {
        self.report_errors = self.report_errors.saturating_add(1);
    }
    /// Prometheus text format 0.0.4 lines, metric names prefixed `unimail_dmarc_`.
    pub fn prometheus(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP unimail_dmarc_reports_total DMARC aggregate reports received and read.");
        let _ = writeln!(out, "# TYPE unimail_dmarc_reports_total counter");
        let _ = writeln!(out, "unimail_dmarc_reports_total {}", self.reports);
        let _ = writeln!(out, "# HELP unimail_dmarc_report_errors_total DMARC report messages that could not be read.");
        let _ = writeln!(out, "# TYPE unimail_dmarc_report_errors_total counter");
        let _ = writeln!(out, "unimail_dmarc_report_errors_total {}", self.report_errors);
        let _ = writeln!(out, "# HELP unimail_dmarc_messages_total Messages counted in DMARC reports, by class.");
        let _ = writeln!(out, "# TYPE unimail_dmarc_messages_total counter");
        for c in Class::ALL {
            let name = c.as_str().replace('-', "_");
            let _ = writeln!(out, "unimail_dmarc_messages_total{{class=\"{name}\"}} {}", self.messages[c as usize]);
        }
        let _ =
            writeln!(out, "# HELP unimail_dmarc_disposition_total Messages in DMARC reports, by applied disposition.");
        let _ = writeln!(out, "# TYPE unimail_dmarc_disposition_total counter");
        for (i, d) in [Disposition::None, Disposition::Quarantine, Disposition::Reject].iter().enumerate() {
            let _ = writeln!(
                out,
                "unimail_dmarc_disposition_total{{disposition=\"{}\"}} {}",
                d.as_str(),
                self.disposition[i]
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(datetime(0), "1970-01-01 00:00");
        assert_eq!(rfc3339(1_335_571_200), "2012-04-28T00:00:00Z");
        assert_eq!(datetime(1_795_305_599), "2026-11-21 23:59");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn alignment() {
        assert!(relaxed_aligned("example.org", "example.org"));
        assert!(relaxed_aligned("mail.example.org", "example.org"));
        assert!(relaxed_aligned("example.org", "news.example.org"));
        assert!(!relaxed_aligned("badexample.org", "example.org"));
        assert!(!relaxed_aligned("", "example.org"));
    }

    #[test]
    fn json_strings() {
        assert_eq!(js("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;
    use crate::report::{DkimAuth, Reason, SpfAuth};

    fn rec(dkim: &[(&str, AuthResult)], spf: AuthResult, reasons: &[(&str, &str)]) -> Record {
        Record {
            source_ip: "192.0.2.1".parse().unwrap(),
            count: 1,
            disposition: Disposition::None,
            dkim_aligned: false,
            spf_aligned: false,
            reasons: reasons
                .iter()
                .map(|(k, c)| Reason { kind: k.to_string(), comment: Some(c.to_string()) })
                .collect(),
            header_from: "example.org".into(),
            envelope_from: None,
            envelope_to: None,
            dkim: dkim
                .iter()
                .map(|(d, r)| DkimAuth { domain: d.to_string(), selector: None, result: r.clone() })
                .collect(),
            spf: alloc::vec![SpfAuth { domain: "example.org".into(), scope: None, result: spf }],
        }
    }

    #[test]
    fn the_rule() {
        use AuthResult::*;
        let mut r = rec(&[], Fail, &[]);
        assert_eq!(classify(&r).0, Class::Spoofing);
        r.spf_aligned = true;
        assert_eq!(classify(&r), (Class::AlignedPass, "SPF aligned pass"));
        let r = rec(&[("lists.example.net", Pass)], Fail, &[]);
        assert_eq!(classify(&r).1, "SPF fails, unaligned DKIM passes (relay re-signed)");
        let r = rec(&[("mail.example.org", Pass)], Fail, &[]);
        assert_eq!(classify(&r).1, "DKIM of your domain passes but not strictly aligned");
        let r = rec(&[("example.org", PermError)], Fail, &[]);
        assert_eq!(classify(&r).1, "own DKIM signature broken in transit");
        let r = rec(&[("evil.example", Fail), ("badexample.org", Fail)], SoftFail, &[]);
        assert_eq!(classify(&r).0, Class::Spoofing);
        let r = rec(&[], Fail, &[("mailing_list", "")]);
        assert_eq!(classify(&r).1, "reported as mailing list");
        let r = rec(&[], Fail, &[("local_policy", "ARC=pass")]);
        assert_eq!(classify(&r).0, Class::Forwarded);
        let r = rec(&[], Fail, &[("local_policy", "sampled")]);
        assert_eq!(classify(&r).0, Class::Spoofing);
    }
}
