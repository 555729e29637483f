//! The typed aggregate report: RFC 7489 appendix C (the XML schema) read
//! from an [`Element`] tree.
//!
//! Reading is strict where the summary depends on a value (`source_ip`,
//! `count`, `date_range`, `org_name`, `report_id`, the policy domain) and
//! lenient elsewhere: real reporters send values outside the schema's
//! enumerations (e.g. `softfail` in a DKIM result, empty `<sp/>`), which are
//! kept as [`AuthResult::Other`] rather than failing the whole report.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use crate::xml::Element;

/// A report the XML parsed into but the schema does not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// Element path, e.g. `feedback/record[3]/row/count`.
    pub path: String,
    pub what: &'static str,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.what)
    }
}

/// RFC 7489 appendix C `DispositionType` (`none`, `quarantine`, `reject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Disposition {
    None,
    Quarantine,
    Reject,
}

impl Disposition {
    fn parse(s: &str) -> Option<Disposition> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "" => Some(Disposition::None),
            "quarantine" => Some(Disposition::Quarantine),
            "reject" => Some(Disposition::Reject),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

/// `DKIMResultType` and `SPFResultType` (RFC 7489 appendix C, RFC 8601 2.7).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthResult {
    None,
    Pass,
    Fail,
    SoftFail,
    Neutral,
    Policy,
    TempError,
    PermError,
    /// Outside the schema, kept as sent (lowercased).
    Other(String),
}

impl AuthResult {
    fn parse(s: &str) -> AuthResult {
        let l = s.trim().to_ascii_lowercase();
        match l.as_str() {
            "none" | "" => AuthResult::None,
            "pass" => AuthResult::Pass,
            "fail" | "hardfail" => AuthResult::Fail,
            "softfail" => AuthResult::SoftFail,
            "neutral" => AuthResult::Neutral,
            "policy" => AuthResult::Policy,
            "temperror" => AuthResult::TempError,
            "permerror" => AuthResult::PermError,
            _ => AuthResult::Other(l),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            AuthResult::None => "none",
            AuthResult::Pass => "pass",
            AuthResult::Fail => "fail",
            AuthResult::SoftFail => "softfail",
            AuthResult::Neutral => "neutral",
            AuthResult::Policy => "policy",
            AuthResult::TempError => "temperror",
            AuthResult::PermError => "permerror",
            AuthResult::Other(s) => s,
        }
    }
    pub fn is_pass(&self) -> bool {
        *self == AuthResult::Pass
    }
}

/// `<policy_published>`: what the reporter found in the domain's DMARC record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyPublished {
    pub domain: String,
    /// `r` or `s` (RFC 7489 6.3 adkim/aspf); relaxed when absent.
    pub adkim_strict: bool,
    pub aspf_strict: bool,
    pub p: Disposition,
    pub sp: Option<Disposition>,
    pub pct: u8,
}

/// `<reason>` in `<policy_evaluated>`: why the disposition differs from the
/// policy (`forwarded`, `sampled_out`, `trusted_forwarder`, `mailing_list`,
/// `local_policy`, `other`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub kind: String,
    pub comment: Option<String>,
}

/// One `<dkim>` of `<auth_results>`: a signature as the receiver verified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimAuth {
    pub domain: String,
    pub selector: Option<String>,
    pub result: AuthResult,
}

/// One `<spf>` of `<auth_results>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfAuth {
    pub domain: String,
    /// `mfrom` or `helo`.
    pub scope: Option<String>,
    pub result: AuthResult,
}

/// One `<record>`: messages from one source with one outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub source_ip: IpAddr,
    pub count: u64,
    pub disposition: Disposition,
    /// `policy_evaluated`: DMARC's aligned DKIM and SPF verdicts.
    pub dkim_aligned: bool,
    pub spf_aligned: bool,
    pub reasons: Vec<Reason>,
    pub header_from: String,
    pub envelope_from: Option<String>,
    pub envelope_to: Option<String>,
    pub dkim: Vec<DkimAuth>,
    pub spf: Vec<SpfAuth>,
}

/// A whole aggregate report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub org_name: String,
    pub email: Option<String>,
    pub report_id: String,
    /// Seconds since the epoch, UTC.
    pub begin: u64,
    pub end: u64,
    pub policy: PolicyPublished,
    pub records: Vec<Record>,
    /// `<error>` lines of `<report_metadata>`.
    pub errors: Vec<String>,
}

/// Upper bound on records in one report (checked while reading).
pub const MAX_RECORDS: usize = 200_000;

struct Path<'a> {
    parts: [&'a str; 4],
    index: Option<usize>,
    n: usize,
}

fn err(path: &[&str], index: Option<usize>, what: &'static str) -> SchemaError {
    let mut s = String::new();
    for (i, p) in path.iter().enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(p);
        if i == 1 {
            if let Some(n) = index {
                s.push_str(&alloc::format!("[{}]", n + 1));
            }
        }
    }
    SchemaError { path: s, what }
}

impl<'a> Path<'a> {
    fn new(a: &'a str) -> Path<'a> {
        Path { parts: [a, "", "", ""], index: None, n: 1 }
    }
    fn with(&self, p: &'a str) -> Path<'a> {
        let mut q = Path { parts: self.parts, index: self.index, n: self.n };
        if q.n < 4 {
            q.parts[q.n] = p;
            q.n += 1;
        }
        q
    }
    fn err(&self, what: &'static str) -> SchemaError {
        err(&self.parts[..self.n], self.index, what)
    }
}

fn need<'e>(e: &'e Element, name: &'static str, at: &Path) -> Result<&'e Element, SchemaError> {
    e.child(name).ok_or_else(|| at.with(name).err("missing"))
}

fn need_text(e: &Element, name: &'static str, at: &Path) -> Result<String, SchemaError> {
    let t = need(e, name, at)?.text.trim();
    if t.is_empty() {
        return Err(at.with(name).err("empty"));
    }
    Ok(t.to_string())
}

fn opt_text(e: &Element, name: &str) -> Option<String> {
    e.text_of(name).filter(|t| !t.is_empty()).map(|t| t.to_string())
}

impl Report {
    /// Read the report from the parsed `<feedback>` document.
    pub fn from_xml(root: &Element) -> Result<Report, SchemaError> {
        let at = Path::new("feedback");
        if root.name != "feedback" {
            return Err(SchemaError { path: root.name.clone(), what: "root element is not <feedback>" });
        }
        let meta = need(root, "report_metadata", &at)?;
        let mat = at.with("report_metadata");
        let range = need(meta, "date_range", &mat)?;
        let rat = mat.with("date_range");
        let time = |n: &'static str| -> Result<u64, SchemaError> {
            need_text(range, n, &rat)?.parse().map_err(|_| rat.with(n).err("not a number of seconds"))
        };
        let (begin, end) = (time("begin")?, time("end")?);
        let pol = need(root, "policy_published", &at)?;
        let pat = at.with("policy_published");
        let disp = |n: &'static str| -> Result<Option<Disposition>, SchemaError> {
            match pol.text_of(n) {
                None | Some("") => Ok(None),
                Some(t) => {
                    Disposition::parse(t).map(Some).ok_or_else(|| pat.with(n).err("not none, quarantine or reject"))
                }
            }
        };
        let strict = |n: &str| pol.text_of(n).is_some_and(|t| t.eq_ignore_ascii_case("s"));
        let policy = PolicyPublished {
            domain: need_text(pol, "domain", &pat)?.to_ascii_lowercase(),
            adkim_strict: strict("adkim"),
            aspf_strict: strict("aspf"),
            p: disp("p")?.unwrap_or(Disposition::None),
            sp: disp("sp")?,
            pct: match pol.text_of("pct") {
                None | Some("") => 100,
                Some(t) => {
                    t.parse::<u8>().ok().filter(|&p| p <= 100).ok_or_else(|| pat.with("pct").err("not 0 to 100"))?
                }
            },
        };
        let mut records = Vec::new();
        for (i, r) in root.all("record").enumerate() {
            if i >= MAX_RECORDS {
                return Err(at.with("record").err("too many records"));
            }
            let mut at = at.with("record");
            at.index = Some(i);
            records.push(record(r, &at)?);
        }
        Ok(Report {
            org_name: need_text(meta, "org_name", &mat)?,
            email: opt_text(meta, "email"),
            report_id: need_text(meta, "report_id", &mat)?,
            begin,
            end,
            policy,
            records,
            errors: meta.all("error").map(|e| e.text.trim().to_string()).collect(),
        })
    }
}

fn record(r: &Element, at: &Path) -> Result<Record, SchemaError> {
    let row = need(r, "row", at)?;
    let row_at = at.with("row");
    let ip = need_text(row, "source_ip", &row_at)?;
    let source_ip = ip.parse().map_err(|_| row_at.with("source_ip").err("not an IP address"))?;
    let count = need_text(row, "count", &row_at)?.parse().map_err(|_| row_at.with("count").err("not a number"))?;
    let pe = need(row, "policy_evaluated", &row_at)?;
    let pe_at = row_at.with("policy_evaluated");
    let disposition = match pe.text_of("disposition") {
        None => Disposition::None,
        Some(t) => {
            Disposition::parse(t).ok_or_else(|| pe_at.with("disposition").err("not none, quarantine or reject"))?
        }
    };
    let pass = |n: &str| pe.text_of(n).is_some_and(|t| t.eq_ignore_ascii_case("pass"));
    let reasons = pe
        .all("reason")
        .map(|x| Reason { kind: x.text_of("type").unwrap_or("").to_ascii_lowercase(), comment: opt_text(x, "comment") })
        .collect();
    let ids = need(r, "identifiers", at)?;
    let ids_at = at.with("identifiers");
    let auth = r.child("auth_results");
    let dkim = auth
        .into_iter()
        .flat_map(|a| a.all("dkim"))
        .map(|d| DkimAuth {
            domain: d.text_of("domain").unwrap_or("").to_ascii_lowercase(),
            selector: opt_text(d, "selector"),
            result: AuthResult::parse(d.text_of("result").unwrap_or("")),
        })
        .collect();
    let spf = auth
        .into_iter()
        .flat_map(|a| a.all("spf"))
        .map(|d| SpfAuth {
            domain: d.text_of("domain").unwrap_or("").to_ascii_lowercase(),
            scope: opt_text(d, "scope"),
            result: AuthResult::parse(d.text_of("result").unwrap_or("")),
        })
        .collect();
    Ok(Record {
        source_ip,
        count,
        disposition,
        dkim_aligned: pass("dkim"),
        spf_aligned: pass("spf"),
        reasons,
        header_from: need_text(ids, "header_from", &ids_at)?.to_ascii_lowercase(),
        envelope_from: opt_text(ids, "envelope_from").map(|s| s.to_ascii_lowercase()),
        envelope_to: opt_text(ids, "envelope_to").map(|s| s.to_ascii_lowercase()),
        dkim,
        spf,
    })
}
