//! DMARC, RFC 7489: policy discovery (sans-IO), identifier alignment,
//! result and disposition.

mod from;
pub mod psl;
pub mod record;

use crate::dkim::{DkimResult, DkimStatus};
use crate::dns::{DnsAnswer, DnsQuery, DnsType};
use crate::spf::SpfResult;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
pub use from::{from_domain, FromError};
pub use psl::organizational_domain;
pub use record::{Alignment, DmarcRecord, Policy};

/// RFC 7489 / RFC 8601 dmarc= result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcResult {
    None,
    Pass,
    Fail,
    TempError,
    PermError,
}

impl DmarcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            DmarcResult::None => "none",
            DmarcResult::Pass => "pass",
            DmarcResult::Fail => "fail",
            DmarcResult::TempError => "temperror",
            DmarcResult::PermError => "permerror",
        }
    }
}

/// What the receiver should do with the message (RFC 7489 6.6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    None,
    Quarantine,
    Reject,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

/// The evaluation's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcOutcome {
    pub result: DmarcResult,
    /// RFC5322.From domain (lower case).
    pub from_domain: String,
    pub org_domain: String,
    /// The record found, and the domain it was found at.
    pub record: Option<DmarcRecord>,
    pub record_domain: Option<String>,
    /// The policy in force: p=, or sp= when the record came from the
    /// organizational domain for a subdomain.
    pub policy: Option<Policy>,
    pub disposition: Disposition,
    /// pct= sampling left the message out (a lower policy was applied).
    pub sampled_out: bool,
    pub spf_aligned: bool,
    pub dkim_aligned: bool,
}

/// The authenticated identifiers DMARC looks at.
#[derive(Clone, Debug)]
pub struct Inputs<'a> {
    /// RFC5322.From domain.
    pub from_domain: &'a str,
    /// SPF result and the domain it was evaluated for (MAIL FROM domain,
    /// or HELO when MAIL FROM was null).
    pub spf: Option<(SpfResult, &'a str)>,
    pub dkim: &'a [DkimResult],
    /// A uniformly random number from the caller, for pct= sampling.
    pub random: u32,
}

/// RFC 7489 3.1: do two domains align?
pub fn aligned(a: &str, b: &str, mode: Alignment) -> bool {
    let a = a.strip_suffix('.').unwrap_or(a);
    let b = b.strip_suffix('.').unwrap_or(b);
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    mode == Alignment::Relaxed && organizational_domain(a) == organizational_domain(b)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    From,
    Org,
    Done,
}

/// DMARC evaluation in progress.
#[derive(Clone, Debug)]
pub struct DmarcSession {
    from: String,
    org: String,
    spf: Option<(SpfResult, String)>,
    dkim: Vec<(String, bool)>,
    random: u32,
    stage: Stage,
    pending: Option<DnsQuery>,
    outcome: Option<DmarcOutcome>,
}

/// What the session wants next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DmarcStep {
    Query(DnsQuery),
    Done(DmarcOutcome),
}

/// Start a DMARC evaluation (RFC 7489 6.6).
pub fn evaluate(inputs: &Inputs<'_>) -> DmarcSession {
    let from = String::from(inputs.from_domain.strip_suffix('.').unwrap_or(inputs.from_domain)).to_ascii_lowercase();
    let org = organizational_domain(&from);
    DmarcSession {
        spf: inputs.spf.map(|(r, d)| (r, String::from(d))),
        dkim: inputs.dkim.iter().map(|r| (r.domain.clone(), r.status == DkimStatus::Pass)).collect(),
        random: inputs.random,
        stage: Stage::From,
        pending: None,
        outcome: None,
        from,
        org,
    }
}

impl DmarcSession {
    pub fn poll(&mut self) -> DmarcStep {
        if let Some(o) = &self.outcome {
            return DmarcStep::Done(o.clone());
        }
        if let Some(q) = &self.pending {
            return DmarcStep::Query(q.clone());
        }
        if self.from.is_empty() || !self.from.contains('.') {
            // No usable RFC5322.From domain: nothing to evaluate.
            return self.finish(DmarcResult::PermError, None, None);
        }
        let target = match self.stage {
            Stage::From => &self.from,
            _ => &self.org,
        };
        let q = DnsQuery { name: format!("_dmarc.{target}"), qtype: DnsType::Txt };
        self.pending = Some(q.clone());
        DmarcStep::Query(q)
    }

    /// Answer the query last returned by [`poll`](Self::poll).
    pub fn answer(&mut self, ans: DnsAnswer) {
        if self.pending.take().is_none() || self.outcome.is_some() {
            return;
        }
        if let DnsAnswer::TempFail = ans {
            self.finish(DmarcResult::TempError, None, None);
            return;
        }
        // RFC 7489 6.6.3: exactly one record starting with v=DMARC1.
        let recs: Vec<&[u8]> = ans.txt().into_iter().filter(|t| record::is_dmarc(t)).collect();
        let parsed = if recs.len() == 1 { record::parse(recs[0]).ok() } else { None };
        match (parsed, self.stage) {
            (Some(r), Stage::From) => {
                let d = self.from.clone();
                self.decide(r, d, false);
            }
            (Some(r), _) => {
                let d = self.org.clone();
                self.decide(r, d, true);
            }
            (None, Stage::From) if self.org != self.from => self.stage = Stage::Org,
            (None, _) => {
                self.finish(DmarcResult::None, None, None);
            }
        }
    }

    fn decide(&mut self, r: DmarcRecord, at: String, from_org: bool) {
        let spf_aligned = matches!(&self.spf, Some((SpfResult::Pass, d)) if aligned(d, &self.from, r.aspf));
        let dkim_aligned = self.dkim.iter().any(|(d, pass)| *pass && aligned(d, &self.from, r.adkim));
        let policy = if from_org { r.sp.unwrap_or(r.p) } else { r.p };
        let pass = spf_aligned || dkim_aligned;
        let mut out = DmarcOutcome {
            result: if pass { DmarcResult::Pass } else { DmarcResult::Fail },
            from_domain: self.from.clone(),
            org_domain: self.org.clone(),
            record: None,
            record_domain: Some(at),
            policy: Some(policy),
            disposition: Disposition::None,
            sampled_out: false,
            spf_aligned,
            dkim_aligned,
        };
        if !pass {
            // RFC 7489 6.6.4: pct= sampling; messages left out get the next
            // less strict policy.
            let selected = (self.random % 100) < u32::from(r.pct);
            out.sampled_out = !selected;
            out.disposition = match (policy, selected) {
                (Policy::Reject, true) => Disposition::Reject,
                (Policy::Reject, false) | (Policy::Quarantine, true) => Disposition::Quarantine,
                _ => Disposition::None,
            };
        }
        out.record = Some(r);
        self.stage = Stage::Done;
        self.outcome = Some(out);
    }

    fn finish(&mut self, result: DmarcResult, record: Option<DmarcRecord>, at: Option<String>) -> DmarcStep {
        let o = DmarcOutcome {
            result,
            from_domain: self.from.clone(),
            org_domain: self.org.clone(),
            record,
            record_domain: at,
            policy: None,
            disposition: Disposition::None,
            sampled_out: false,
            spf_aligned: false,
            dkim_aligned: false,
        };
        self.stage = Stage::Done;
        self.outcome = Some(o.clone());
        DmarcStep::Done(o)
    }
}

#[cfg(test)]
mod tests;
