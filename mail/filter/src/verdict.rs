//! From symbols to an action and what to do with the message.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use mail_config::{FilterThresholds, Score};
use mail_mime::Message;

use crate::inputs::{sanitize, Inputs, Symbol, Weights};

/// rspamd's actions, least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    NoAction,
    /// Defer unless the greylist already knows the triplet (the caller
    /// asks its greylist store; rspamd's greylist module does the same).
    Greylist,
    AddHeader,
    RewriteSubject,
    /// 451 4.7.1.
    SoftReject,
    /// 554 5.7.1.
    Reject,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Reject,
        Action::SoftReject,
        Action::RewriteSubject,
        Action::AddHeader,
        Action::Greylist,
        Action::NoAction,
    ];

    /// rspamd's name (`X-Spam-Action`, `rspamc stat`).
    pub fn name(self) -> &'static str {
        match self {
            Action::NoAction => "no action",
            Action::Greylist => "greylist",
            Action::AddHeader => "add header",
            Action::RewriteSubject => "rewrite subject",
            Action::SoftReject => "soft reject",
            Action::Reject => "reject",
        }
    }

    /// Name usable as a Prometheus label value.
    pub fn label(self) -> &'static str {
        match self {
            Action::NoAction => "no_action",
            Action::Greylist => "greylist",
            Action::AddHeader => "add_header",
            Action::RewriteSubject => "rewrite_subject",
            Action::SoftReject => "soft_reject",
            Action::Reject => "reject",
        }
    }

    /// Is the message marked as spam (`X-Spam: Yes`)?
    pub fn is_spam(self) -> bool {
        self >= Action::AddHeader
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// When to learn a message without being told (rspamd's `autolearn`).
#[derive(Clone, Debug, PartialEq)]
pub struct AutoLearn {
    /// Learn as spam at or above this score, counted without the Bayes
    /// symbols (so the classifier does not teach itself); `None`: never.
    pub spam_at: Option<Score>,
    /// Learn as ham at or below this score (also without Bayes); `None`:
    /// never.
    pub ham_at: Option<Score>,
    /// Skip when Bayes already says the same with at least this confidence
    /// (rspamd's default learn condition uses 0.95): learning what is
    /// already known only inflates counts.
    pub skip_confident: f64,
}

impl Default for AutoLearn {
    fn default() -> Self {
        // The `[bayes]` defaults of mail-config.
        AutoLearn { spam_at: Some(Score(1200)), ham_at: Some(Score(-200)), skip_confident: 0.95 }
    }
}

/// Filter policy beyond the config's thresholds.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub weights: Weights,
    /// Greylist action threshold (rspamd's `greylist = 4`); not in the
    /// config file yet, so a separate knob. `None` disables it.
    pub greylist: Option<Score>,
    pub autolearn: AutoLearn,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { weights: Weights::default(), greylist: Some(Score(400)), autolearn: AutoLearn::default() }
    }
}

/// An SMTP reply to send instead of 250 after DATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    /// RFC 3463 enhanced status code.
    pub enhanced: &'static str,
    pub text: String,
}

impl SmtpReply {
    /// The reply line with CRLF (RFC 5321 4.2, RFC 2034 enhanced code).
    pub fn line(&self) -> String {
        format!("{} {} {}\r\n", self.code, self.enhanced, self.text)
    }
}

/// Which class to auto-learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learn {
    Spam,
    Ham,
}

/// The filter's decision for one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Sum of the symbol scores.
    pub score: Score,
    /// Symbols, highest score first.
    pub symbols: Vec<Symbol>,
    pub action: Action,
    /// Set for reject and soft reject (and a virus): send this instead of
    /// 250 and do not deliver.
    pub smtp_reply: Option<SmtpReply>,
    pub virus: Option<String>,
    /// Auto-learn the message as this class (after delivery).
    pub learn: Option<Learn>,
}

/// Decides the action. A virus forces reject whatever the score (rspamd's
/// antivirus `action = "reject"`).
pub fn evaluate(inputs: &Inputs<'_>, thresholds: &FilterThresholds, policy: &Policy) -> Verdict {
    let mut symbols = inputs.symbols(&policy.weights);
    symbols.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    let total = symbols.iter().fold(0i32, |a, s| a.saturating_add(s.score));
    let score = Score(total);
    let reached = |t: Option<Score>| t.is_some_and(|t| score >= t);
    let mut action = if reached(thresholds.reject) {
        Action::Reject
    } else if reached(thresholds.soft_reject) {
        Action::SoftReject
    } else if reached(thresholds.rewrite_subject) {
        Action::RewriteSubject
    } else if reached(thresholds.add_header) {
        Action::AddHeader
    } else if reached(policy.greylist) {
        Action::Greylist
    } else {
        Action::NoAction
    };
    let virus = inputs.virus.map(sanitize);
    let smtp_reply = if let Some(v) = &virus {
        action = Action::Reject;
        // RFC 3463 5.7.1: delivery not authorized, message refused.
        Some(SmtpReply { code: 554, enhanced: "5.7.1", text: format!("Message rejected: virus found: {v}") })
    } else {
        match action {
            Action::Reject => {
                Some(SmtpReply { code: 554, enhanced: "5.7.1", text: format!("Spam message rejected (score {score})") })
            }
            // RFC 3463 4.7.1: temporary refusal; the sender retries.
            Action::SoftReject => Some(SmtpReply { code: 451, enhanced: "4.7.1", text: "Try again later".into() }),
            _ => None,
        }
    };
    let learn = if virus.is_some() || inputs.scan_incomplete {
        None
    } else {
        let bayes_part: i32 = symbols.iter().filter(|s| s.name.starts_with("BAYES_")).map(|s| s.score).sum();
        autolearn(Score(total.saturating_sub(bayes_part)), inputs.bayes, &policy.autolearn)
    };
    Verdict { score, symbols, action, smtp_reply, virus, learn }
}

fn autolearn(score: Score, bayes: Option<f64>, a: &AutoLearn) -> Option<Learn> {
    if a.spam_at.is_some_and(|s| score >= s) {
        return match bayes {
            Some(p) if p >= a.skip_confident => None,
            _ => Some(Learn::Spam),
        };
    }
    if a.ham_at.is_some_and(|h| score <= h) {
        return match bayes {
            Some(p) if 1.0 - p >= a.skip_confident => None,
            _ => Some(Learn::Ham),
        };
    }
    None
}

/// Header fields this filter writes; copies already in an incoming message
/// are removed so a sender cannot pre-set them (the Sieve script trusts
/// `X-Spam`).
pub const OWN_HEADERS: [&str; 4] = ["X-Spam", "X-Spam-Score", "X-Spam-Action", "X-Spam-Symbols"];

/// Longest header line we write before folding (RFC 5322 2.1.1: 78).
const FOLD_AT: usize = 78;

impl Verdict {
    /// Should the message be delivered (possibly after greylisting)?
    pub fn deliver(&self) -> bool {
        self.smtp_reply.is_none()
    }

    /// `BAYES_SPAM(5.05)[99.00%], R_SPF_FAIL(1.00)`.
    pub fn symbols_text(&self) -> String {
        let mut s = String::new();
        for (i, sym) in self.symbols.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!("{}({})", sym.name, Score(sym.score)));
            if let Some(d) = &sym.detail {
                s.push_str(&format!("[{d}]"));
            }
        }
        s
    }

    /// The fields to prepend, in order: `X-Spam: Yes` (only when the action
    /// marks spam), `X-Spam-Score`, `X-Spam-Action`, `X-Spam-Symbols`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if self.action.is_spam() {
            h.push(("X-Spam", String::from("Yes")));
        }
        h.push(("X-Spam-Score", format!("{}", self.score)));
        h.push(("X-Spam-Action", String::from(self.action.name())));
        h.push(("X-Spam-Symbols", self.symbols_text()));
        h
    }

    /// The header block to prepend (CRLF line ends, long fields folded at
    /// the `, ` separators so that unfolding restores them, RFC 5322 2.2.3).
    pub fn header_block(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.headers() {
            let mut line_len = name.len() + 2;
            out.push_str(name);
            out.push_str(": ");
            for (i, part) in value.split(", ").enumerate() {
                if i > 0 {
                    if line_len + 2 + part.len() > FOLD_AT {
                        out.push_str(",\r\n ");
                        line_len = 1;
                    } else {
                        out.push_str(", ");
                        line_len += 2;
                    }
                }
                out.push_str(part);
                line_len += part.len();
            }
            out.push_str("\r\n");
        }
        out
    }

    /// The message as it is to be delivered: our header block first, our
    /// field names removed from the sender's header, and for rewrite
    /// subject the prefix put before the Subject (raw value kept, so
    /// encoded words stay valid; a missing Subject gets one).
    pub fn apply_to(&self, raw: &[u8], thresholds: &FilterThresholds) -> Vec<u8> {
        let m = Message::parse(raw);
        let h = m.header();
        let mut out = Vec::with_capacity(raw.len() + 512);
        out.extend_from_slice(self.header_block().as_bytes());
        let rewrite = self.action == Action::RewriteSubject;
        let prefix = sanitize_prefix(&thresholds.subject_prefix);
        let mut pos = h.range.start;
        let mut saw_subject = false;
        for f in &h.fields {
            out.extend_from_slice(&raw[pos..f.range.start]);
            pos = f.range.end;
            if OWN_HEADERS.iter().any(|n| f.is(n)) {
                continue;
            }
            if rewrite && f.is("subject") && !saw_subject {
                saw_subject = true;
                let old = f.unfolded();
                if old.starts_with(prefix.as_bytes()) {
                    out.extend_from_slice(&raw[f.range.clone()]);
                } else {
                    out.extend_from_slice(b"Subject: ");
                    out.extend_from_slice(prefix.as_bytes());
                    out.push(b' ');
                    out.extend_from_slice(&old);
                    out.extend_from_slice(b"\r\n");
                }
                continue;
            }
            out.extend_from_slice(&raw[f.range.clone()]);
        }
        if rewrite && !saw_subject {
            out.extend_from_slice(b"Subject: ");
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&raw[pos.min(raw.len())..]);
        out
    }
}

fn sanitize_prefix(p: &str) -> String {
    p.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{DkimResult, DmarcPolicy, DmarcResult, SpfResult};
    use alloc::vec;

    fn th() -> FilterThresholds {
        FilterThresholds {
            add_header: Some(Score(600)),
            rewrite_subject: Some(Score(800)),
            soft_reject: Some(Score(1000)),
            reject: Some(Score(1500)),
            subject_prefix: "[SPAM]".into(),
        }
    }

    fn with_extra(score: i32) -> Inputs<'static> {
        Inputs { extra: vec![Symbol::new("TEST", score)], ..Inputs::default() }
    }

    #[test]
    fn action_thresholds_in_rspamd_order() {
        let p = Policy::default();
        for (score, want) in [
            (-500, Action::NoAction),
            (399, Action::NoAction),
            (400, Action::Greylist),
            (600, Action::AddHeader),
            (799, Action::AddHeader),
            (800, Action::RewriteSubject),
            (1000, Action::SoftReject),
            (1500, Action::Reject),
            (i32::MAX, Action::Reject),
        ] {
            assert_eq!(evaluate(&with_extra(score), &th(), &p).action, want, "{score}");
        }
        // Disabled actions are skipped; all disabled: always no action.
        let t = FilterThresholds { soft_reject: None, rewrite_subject: None, ..th() };
        assert_eq!(evaluate(&with_extra(1200), &t, &p).action, Action::AddHeader);
        let t = FilterThresholds { add_header: None, rewrite_subject: None, soft_reject: None, reject: None, ..th() };
        let p0 = Policy { greylist: None, ..Policy::default() };
        assert_eq!(evaluate(&with_extra(100_000), &t, &p0).action, Action::NoAction);
    }

    #[test]
    fn replies() {
        let p = Policy::default();
        let v = evaluate(&with_extra(1600), &th(), &p);
        assert_eq!(v.smtp_reply.unwrap().line(), "554 5.7.1 Spam message rejected (score 16.00)\r\n");
        let v = evaluate(&with_extra(1100), &th(), &p);
        assert_eq!(v.smtp_reply.as_ref().unwrap().line(), "451 4.7.1 Try again later\r\n");
        assert!(!v.deliver());
        let v = evaluate(&with_extra(700), &th(), &p);
        assert!(v.smtp_reply.is_none() && v.deliver());
        // A virus rejects even with a negative score and names the virus.
        let i = Inputs { virus: Some("Unimail.Test.EICAR\r\nX: y"), spf: SpfResult::Pass, ..Inputs::default() };
        let v = evaluate(&i, &th(), &p);
        assert_eq!(v.action, Action::Reject);
        assert_eq!(v.smtp_reply.unwrap().line(), "554 5.7.1 Message rejected: virus found: Unimail.Test.EICARX:y\r\n");
        assert_eq!(v.learn, None);
    }

    #[test]
    fn auth_and_bayes_symbols() {
        let i = Inputs {
            spf: SpfResult::Fail,
            dkim: DkimResult::Fail,
            dmarc: DmarcResult::Fail(DmarcPolicy::Reject),
            bayes: Some(1.0),
            screen_score: 300,
            ..Inputs::default()
        };
        let v = evaluate(&i, &th(), &Policy::default());
        // 1.00 + 1.00 + 2.00 + 5.10 + 3.00
        assert_eq!(v.score, Score(1210));
        assert_eq!(v.action, Action::SoftReject);
        assert_eq!(v.symbols[0].name, "BAYES_SPAM");
        assert_eq!(
            v.symbols_text(),
            "BAYES_SPAM(5.10)[100.00%], RBL_SCORE(3.00), DMARC_POLICY_REJECT(2.00), R_DKIM_REJECT(1.00), R_SPF_FAIL(1.00)"
        );
        let i = Inputs {
            spf: SpfResult::Pass,
            dkim: DkimResult::Pass,
            dmarc: DmarcResult::Pass,
            bayes: Some(0.1),
            ..Inputs::default()
        };
        let v = evaluate(&i, &th(), &Policy::default());
        // -0.20 - 0.20 - 0.50 - 3.00 * 0.9
        assert_eq!(v.score, Score(-360));
        assert_eq!(v.action, Action::NoAction);
        // Bayes near 0.5 gives no symbol.
        let i = Inputs { bayes: Some(0.53), ..Inputs::default() };
        let v = evaluate(&i, &th(), &Policy::default());
        assert!(v.symbols.iter().all(|s| !s.name.starts_with("BAYES")));
        assert_eq!(v.score, Score(0));
    }

    #[test]
    fn autolearn_extremes() {
        let p = Policy::default();
        assert_eq!(evaluate(&with_extra(1200), &th(), &p).learn, Some(Learn::Spam));
        assert_eq!(evaluate(&with_extra(1199), &th(), &p).learn, None);
        assert_eq!(evaluate(&with_extra(-200), &th(), &p).learn, Some(Learn::Ham));
        assert_eq!(evaluate(&with_extra(-199), &th(), &p).learn, None);
        assert_eq!(evaluate(&with_extra(0), &th(), &p).learn, None);
        // The Bayes symbol does not count: 9.00 + BAYES_SPAM 4.59 is not 12.
        let i = Inputs { bayes: Some(0.9), extra: vec![Symbol::new("T", 900)], ..Inputs::default() };
        let v = evaluate(&i, &th(), &p);
        assert_eq!(v.score, Score(1359));
        assert_eq!(v.learn, None);
        // Already confidently classified: skip.
        let i = Inputs { bayes: Some(0.99), extra: vec![Symbol::new("T", 1500)], ..Inputs::default() };
        assert_eq!(evaluate(&i, &th(), &p).learn, None);
        let i = Inputs { bayes: Some(0.01), extra: vec![Symbol::new("T", -500)], ..Inputs::default() };
        assert_eq!(evaluate(&i, &th(), &p).learn, None);
        let i = Inputs { scan_incomplete: true, extra: vec![Symbol::new("T", 2000)], ..Inputs::default() };
        assert_eq!(evaluate(&i, &th(), &p).learn, None);
    }

    #[test]
    fn headers_and_rewrite() {
        let raw = b"X-Spam: No\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  deals\r\nx-spam-score: -99\r\nFrom: a@b\r\n\r\nbody\r\n";
        let v = evaluate(&with_extra(850), &th(), &Policy::default());
        assert_eq!(v.action, Action::RewriteSubject);
        let out = v.apply_to(raw, &th());
        let s = core::str::from_utf8(&out).unwrap();
        assert_eq!(
            s,
            "X-Spam: Yes\r\nX-Spam-Score: 8.50\r\nX-Spam-Action: rewrite subject\r\n\
             X-Spam-Symbols: TEST(8.50), DMARC_NA(0.00), R_DKIM_NA(0.00), R_SPF_NA(0.00)\r\n\
             Subject: [SPAM] =?utf-8?q?caf=C3=A9?=  deals\r\nFrom: a@b\r\n\r\nbody\r\n"
        );
        let m = Message::parse(&out);
        assert_eq!(m.subject().as_deref(), Some("[SPAM] café  deals"));
        // Ham: no X-Spam, subject untouched, no subject added.
        let v = evaluate(&with_extra(0), &th(), &Policy::default());
        let out = v.apply_to(b"From: a@b\n\nbody\n", &th());
        assert!(out.starts_with(b"X-Spam-Score: 0.00\r\nX-Spam-Action: no action\r\n"));
        assert!(out.ends_with(b"From: a@b\n\nbody\n"));
        // Rewrite without a Subject adds one; an existing prefix is not doubled.
        let v = evaluate(&with_extra(900), &th(), &Policy::default());
        let out = v.apply_to(b"From: a@b\r\n\r\nx\r\n", &th());
        assert_eq!(Message::parse(&out).subject().as_deref(), Some("[SPAM]"));
        let out = v.apply_to(b"Subject: [SPAM] again\r\n\r\nx\r\n", &th());
        assert_eq!(Message::parse(&out).subject().as_deref(), Some("[SPAM] again"));
    }

    #[test]
    fn folding() {
        let extra = (0..20).map(|i| Symbol { name: format!("SYMBOL_NUMBER_{i}").into(), score: 10, detail: None });
        let v = evaluate(&Inputs { extra: extra.collect(), ..Inputs::default() }, &th(), &Policy::default());
        let block = v.header_block();
        assert!(block.lines().all(|l| l.len() <= FOLD_AT));
        assert!(block.contains(",\r\n SYMBOL"));
        let m = Message::parse(block.as_bytes());
        assert_eq!(m.header().text("x-spam-symbols").unwrap(), v.symbols_text());
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use crate::inputs::Inputs;

    #[test]
    fn apply_to_arbitrary_messages() {
        let mut x = 5u64;
        let frags: [&[u8]; 8] =
            [b"Subject: a\r\n", b"X-Spam: No\r\n", b"\r\n", b"\n", b" folded\r\n", b"From: x\r\n", b"\xff", b"body"];
        let t = FilterThresholds { rewrite_subject: Some(Score(0)), ..FilterThresholds::default() };
        for _ in 0..2000 {
            let mut m = Vec::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                m.extend_from_slice(frags[(x % 8) as usize]);
            }
            let v = evaluate(&Inputs::default(), &t, &Policy::default());
            let out = v.apply_to(&m, &t);
            assert!(out.starts_with(b"X-Spam: Yes\r\n"));
            // Our header appears exactly once: incoming copies are removed.
            let parsed = Message::parse(&out);
            assert_eq!(parsed.header().get_all("x-spam").count(), 1, "{:?}", String::from_utf8_lossy(&m));
        }
    }
}
