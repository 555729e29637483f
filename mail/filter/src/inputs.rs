//! What the other checks found, as plain values, and the weight of each
//! result. Weights default to rspamd's stock scores for the same symbols.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use mail_config::Score;

/// RFC 7208 2.6 results of the SPF check (mail-authn's result, mapped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpfResult {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    #[default]
    None,
    TempError,
    PermError,
}

/// RFC 6376 / RFC 8601 2.7.1 DKIM result for the message (pass if any
/// signature verified).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DkimResult {
    Pass,
    Fail,
    #[default]
    None,
    TempError,
    PermError,
}

/// RFC 7489 6.3 `p=` of the author domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

/// RFC 7489 result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DmarcResult {
    Pass,
    /// Not aligned; the policy the domain published (after `pct`).
    Fail(DmarcPolicy),
    #[default]
    None,
    TempError,
    PermError,
}

/// One named symbol and its score (hundredths); `detail` is shown in
/// brackets in `X-Spam-Symbols` (e.g. the Bayes probability).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: Cow<'static, str>,
    pub score: i32,
    pub detail: Option<String>,
}

impl Symbol {
    pub fn new(name: &'static str, score: i32) -> Symbol {
        Symbol { name: Cow::Borrowed(name), score, detail: None }
    }
}

/// Results handed to [`crate::evaluate`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs<'a> {
    pub spf: SpfResult,
    pub dkim: DkimResult,
    pub dmarc: DmarcResult,
    /// Malware name when the antivirus found one.
    pub virus: Option<&'a str>,
    /// The scanner hit a limit (mail-antivirus `Verdict::Incomplete`).
    pub scan_incomplete: bool,
    /// Bayes spam probability; `None` when the classifier did not vote.
    pub bayes: Option<f64>,
    /// The screen's DNSBL / reputation score, hundredths (weights already
    /// applied; DNSWL makes it negative).
    pub screen_score: i32,
    /// Further symbols from the caller (added as they are).
    pub extra: Vec<Symbol>,
}

/// Scores per result, in hundredths. A 0 weight still lists the symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights {
    pub spf_pass: i32,
    pub spf_fail: i32,
    pub spf_softfail: i32,
    pub spf_neutral: i32,
    pub spf_error: i32,
    pub dkim_pass: i32,
    pub dkim_fail: i32,
    pub dkim_error: i32,
    pub dmarc_pass: i32,
    pub dmarc_reject: i32,
    pub dmarc_quarantine: i32,
    pub dmarc_none: i32,
    pub dmarc_error: i32,
    /// BAYES_SPAM at probability 1 (rspamd: 5.1).
    pub bayes_spam: i32,
    /// BAYES_HAM at probability 0 (rspamd: -3.0).
    pub bayes_ham: i32,
    pub scan_incomplete: i32,
}

impl Default for Weights {
    /// rspamd's stock scores: R_SPF_ALLOW -0.2, R_SPF_FAIL 1.0,
    /// R_SPF_SOFTFAIL 0, R_SPF_NEUTRAL 0, R_DKIM_ALLOW -0.2, R_DKIM_REJECT
    /// 1.0, DMARC_POLICY_ALLOW -0.5, DMARC_POLICY_REJECT 2.0,
    /// DMARC_POLICY_QUARANTINE 1.5, DMARC_POLICY_SOFTFAIL 0.1, BAYES_SPAM
    /// 5.1, BAYES_HAM -3.0.
    fn default() -> Self {
        Weights {
            spf_pass: -20,
            spf_fail: 100,
            spf_softfail: 0,
            spf_neutral: 0,
            spf_error: 0,
            dkim_pass: -20,
            dkim_fail: 100,
            dkim_error: 0,
            dmarc_pass: -50,
            dmarc_reject: 200,
            dmarc_quarantine: 150,
            dmarc_none: 10,
            dmarc_error: 0,
            bayes_spam: 510,
            bayes_ham: -300,
            scan_incomplete: 0,
        }
    }
}

impl Inputs<'_> {
    /// The symbols these results produce, rspamd's names.
    pub fn symbols(&self, w: &Weights) -> Vec<Symbol> {
        let mut out = Vec::new();
        let spf = match self.spf {
            SpfResult::Pass => Some(("R_SPF_ALLOW", w.spf_pass)),
            SpfResult::Fail => Some(("R_SPF_FAIL", w.spf_fail)),
            SpfResult::SoftFail => Some(("R_SPF_SOFTFAIL", w.spf_softfail)),
            SpfResult::Neutral => Some(("R_SPF_NEUTRAL", w.spf_neutral)),
            SpfResult::None => Some(("R_SPF_NA", 0)),
            SpfResult::TempError => Some(("R_SPF_DNSFAIL", w.spf_error)),
            SpfResult::PermError => Some(("R_SPF_PERMFAIL", w.spf_error)),
        };
        let dkim = match self.dkim {
            DkimResult::Pass => Some(("R_DKIM_ALLOW", w.dkim_pass)),
            DkimResult::Fail => Some(("R_DKIM_REJECT", w.dkim_fail)),
            DkimResult::None => Some(("R_DKIM_NA", 0)),
            DkimResult::TempError => Some(("R_DKIM_TEMPFAIL", w.dkim_error)),
            DkimResult::PermError => Some(("R_DKIM_PERMFAIL", w.dkim_error)),
        };
        let dmarc = match self.dmarc {
            DmarcResult::Pass => Some(("DMARC_POLICY_ALLOW", w.dmarc_pass)),
            DmarcResult::Fail(DmarcPolicy::Reject) => Some(("DMARC_POLICY_REJECT", w.dmarc_reject)),
            DmarcResult::Fail(DmarcPolicy::Quarantine) => Some(("DMARC_POLICY_QUARANTINE", w.dmarc_quarantine)),
            DmarcResult::Fail(DmarcPolicy::None) => Some(("DMARC_POLICY_SOFTFAIL", w.dmarc_none)),
            DmarcResult::None => Some(("DMARC_NA", 0)),
            DmarcResult::TempError => Some(("DMARC_DNSFAIL", w.dmarc_error)),
            DmarcResult::PermError => Some(("DMARC_BAD_POLICY", w.dmarc_error)),
        };
        for (name, score) in [spf, dkim, dmarc].into_iter().flatten() {
            out.push(Symbol::new(name, score));
        }
        if let Some(p) = self.bayes {
            if let Some(s) = bayes_symbol(p, w) {
                out.push(s);
            }
        }
        if let Some(v) = self.virus {
            let mut s = Symbol::new("CLAM_VIRUS", 0);
            s.detail = Some(sanitize(v));
            out.push(s);
        }
        if self.scan_incomplete {
            out.push(Symbol::new("CLAM_SCAN_INCOMPLETE", w.scan_incomplete));
        }
        if self.screen_score != 0 {
            out.push(Symbol::new(if self.screen_score > 0 { "RBL_SCORE" } else { "RWL_SCORE" }, self.screen_score));
        }
        out.extend(self.extra.iter().cloned());
        out
    }
}

/// rspamd's Bayes symbol: nothing within 0.05 of 0.5; above, BAYES_SPAM
/// with its weight scaled by p; below, BAYES_HAM scaled by 1 - p (rspamd
/// inserts the symbol with that probability as its dynamic multiplier).
pub fn bayes_symbol(p: f64, w: &Weights) -> Option<Symbol> {
    if !(0.0..=1.0).contains(&p) || (p - 0.5).abs() <= 0.05 {
        return None;
    }
    let (name, weight, conf) =
        if p > 0.5 { ("BAYES_SPAM", w.bayes_spam, p) } else { ("BAYES_HAM", w.bayes_ham, 1.0 - p) };
    let score = (f64::from(weight) * conf + if weight >= 0 { 0.5 } else { -0.5 }) as i32;
    let pct = (conf * 10000.0 + 0.5) as u32;
    Some(Symbol { name: Cow::Borrowed(name), score, detail: Some(alloc::format!("{}.{:02}%", pct / 100, pct % 100)) })
}

/// Printable ASCII only, bounded: names from signature files end up in
/// SMTP replies and headers.
pub fn sanitize(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic() && *c != '(' && *c != ')').take(128).collect()
}

/// Display helper for hundredths.
pub fn score(h: i32) -> Score {
    Score(h)
}
