//! The whole content filter behind one value the kernel keeps: antivirus
//! database, Bayes store, policy and statistics. Per message the kernel
//! calls [`Engine::check`] after DATA and before replying, and
//! [`Engine::learn`] when IMAP moves a message into or out of Junk; after
//! either it saves [`Engine::take_bayes_snapshot`] to `bayes/tokens` when
//! there is one.

use alloc::string::String;
use alloc::vec::Vec;

use mail_antivirus::{Database, ScanLimits, Verdict as AvVerdict};
use mail_bayes::{message_key, tokenize, Class, Classification, LearnOutcome, Store, TokenLimits};
use mail_config::FilterThresholds;

use crate::inputs::{DkimResult, DmarcResult, Inputs, SpfResult, Symbol};
use crate::stats::Stats;
use crate::verdict::{evaluate, Learn, Policy, Verdict};

/// Sender-authentication results for one message (mapped by the caller
/// from mail-authn).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Auth {
    pub spf: SpfResult,
    pub dkim: DkimResult,
    pub dmarc: DmarcResult,
}

/// Filter state for the whole server.
#[derive(Debug)]
pub struct Engine {
    pub av: Database,
    pub bayes: Store,
    pub policy: Policy,
    pub stats: Stats,
    pub scan_limits: ScanLimits,
    pub token_limits: TokenLimits,
    /// `[bayes] enabled`: when false nothing is classified or learned.
    pub bayes_enabled: bool,
}

/// What [`Engine::check`] found, beyond the verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub verdict: Verdict,
    /// Bayes spam probability, if it voted.
    pub bayes: Option<f64>,
    /// The auto-learn done (the store is then dirty).
    pub learned: Option<(Learn, LearnOutcome)>,
}

impl Engine {
    pub fn new(av: Database, bayes: Store, policy: Policy) -> Engine {
        let mut e = Engine {
            av,
            bayes,
            policy,
            stats: Stats::default(),
            scan_limits: ScanLimits::default(),
            token_limits: TokenLimits::default(),
            bayes_enabled: true,
        };
        e.sync_store_stats();
        e
    }

    fn sync_store_stats(&mut self) {
        let (s, h) = self.bayes.learned();
        self.stats.set_bayes_store(s, h, self.bayes.token_count() as u64);
    }

    /// Runs antivirus and Bayes on a received message, sums the symbols
    /// with the caller's results, counts it, and auto-learns when the
    /// verdict says so. `screen_score`: the DNSBL/screen score in
    /// hundredths; `extra`: further symbols (e.g. from greylisting).
    pub fn check(
        &mut self,
        raw: &[u8],
        auth: Auth,
        screen_score: i32,
        extra: Vec<Symbol>,
        thresholds: &FilterThresholds,
    ) -> Checked {
        let av = self.av.scan_message(raw, &self.scan_limits);
        let virus: Option<String> = av.virus().map(String::from);
        let tokens = if self.bayes_enabled { tokenize(raw, &self.token_limits) } else { Default::default() };
        let bayes = match self.bayes.classify(&tokens) {
            Classification::Probability { spam, .. } if self.bayes_enabled => Some(spam),
            _ => None,
        };
        let inputs = Inputs {
            spf: auth.spf,
            dkim: auth.dkim,
            dmarc: auth.dmarc,
            virus: virus.as_deref(),
            scan_incomplete: av == AvVerdict::Incomplete,
            bayes,
            screen_score,
            extra,
        };
        let verdict = evaluate(&inputs, thresholds, &self.policy);
        self.stats.record(&verdict, bayes.is_some());
        let learned = verdict.learn.filter(|_| self.bayes_enabled).map(|l| {
            let outcome = self.bayes.learn(&tokens, class(l), Some(message_key(raw)));
            if outcome != LearnOutcome::AlreadyLearned {
                self.stats.record_learn(l, true);
            }
            (l, outcome)
        });
        self.sync_store_stats();
        Checked { verdict, bayes, learned }
    }

    /// Learns a message on the user's word: IMAP move into Junk is
    /// `Learn::Spam`, out of Junk `Learn::Ham` (RFC 6785 IMAPSieve
    /// behaviour). A message learned before as the other class is moved.
    /// `None` when Bayes is disabled.
    pub fn learn(&mut self, raw: &[u8], as_class: Learn) -> Option<LearnOutcome> {
        if !self.bayes_enabled {
            return None;
        }
        let tokens = tokenize(raw, &self.token_limits);
        let outcome = self.bayes.learn(&tokens, class(as_class), Some(message_key(raw)));
        if outcome != LearnOutcome::AlreadyLearned {
            self.stats.record_learn(as_class, false);
        }
        self.sync_store_stats();
        Some(outcome)
    }

    /// The serialised token store when it changed since the last call:
    /// write it to `bayes/tokens` (mail_bayes::TOKENS_PATH). Marks the
    /// store clean, so call it when you are about to write.
    pub fn take_bayes_snapshot(&mut self) -> Option<Vec<u8>> {
        if !self.bayes.is_dirty() {
            return None;
        }
        let bytes = self.bayes.to_bytes();
        self.bayes.saved();
        Some(bytes)
    }
}

fn class(l: Learn) -> Class {
    match l {
        Learn::Spam => Class::Spam,
        Learn::Ham => Class::Ham,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Action;
    use alloc::{format, vec};
    use mail_antivirus::{default_database, EICAR};
    use mail_bayes::BayesConfig;
    use mail_config::Score;

    fn engine() -> Engine {
        let cfg = BayesConfig { min_learned: 3, min_tokens: 3, ..BayesConfig::default() };
        Engine::new(default_database(), Store::new(cfg), Policy::default())
    }

    const SPAM: &[&str] = &[
        "cheap pills pharmacy discount viagra online now",
        "viagra pills cheap no prescription pharmacy",
        "pharmacy online cheap viagra discount best pills",
    ];
    const HAM: &[&str] = &[
        "meeting tomorrow about the project budget review",
        "the project review meeting moved to friday",
        "budget numbers for the review meeting attached",
    ];

    fn mail(subject: &str, body: &str) -> Vec<u8> {
        format!("From: x@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\n{body}\r\n").into_bytes()
    }

    #[test]
    fn virus_is_rejected_and_counted() {
        let mut e = engine();
        let c = e.check(EICAR, Auth::default(), 0, Vec::new(), &FilterThresholds::default());
        assert_eq!(c.verdict.action, Action::Reject);
        assert_eq!(
            c.verdict.smtp_reply.unwrap().line(),
            "554 5.7.1 Message rejected: virus found: Unimail.Test.EICAR.HDB\r\n"
        );
        assert_eq!(e.stats.virus_hits, 1);
        assert_eq!(e.stats.count(Action::Reject), 1);
    }

    #[test]
    fn learn_then_classify_and_snapshot() {
        let mut e = engine();
        assert!(e.take_bayes_snapshot().is_none());
        for (i, b) in SPAM.iter().enumerate() {
            assert_eq!(e.learn(&mail(&alloc::format!("s{i}"), b), Learn::Spam), Some(LearnOutcome::Learned));
        }
        for (i, b) in HAM.iter().enumerate() {
            e.learn(&mail(&alloc::format!("h{i}"), b), Learn::Ham);
        }
        assert_eq!(e.stats.manual_learn_spam, 3);
        assert_eq!(e.stats.bayes_learned_ham, 3);
        // Moving s0 out of Junk relearns it as ham.
        assert_eq!(e.learn(&mail("s0", SPAM[0]), Learn::Ham), Some(LearnOutcome::Relearned));
        assert_eq!(e.learn(&mail("s0", SPAM[0]), Learn::Spam), Some(LearnOutcome::Relearned));
        let snap = e.take_bayes_snapshot().unwrap();
        assert!(e.take_bayes_snapshot().is_none());
        let restored = Store::from_bytes(&snap, e.bayes.config().clone()).unwrap();
        assert_eq!(restored.learned(), (3, 3));

        let t = FilterThresholds::default();
        let c = e.check(&mail("new", "cheap viagra pills from our pharmacy"), Auth::default(), 0, Vec::new(), &t);
        assert!(c.bayes.unwrap() > 0.9, "{:?}", c.bayes);
        assert!(c.verdict.symbols.iter().any(|s| s.name == "BAYES_SPAM"));
        // Disabled: no vote, no learning.
        e.bayes_enabled = false;
        let c = e.check(&mail("new3", "cheap viagra pills from our pharmacy"), Auth::default(), 0, Vec::new(), &t);
        assert_eq!(c.bayes, None);
        assert_eq!(e.learn(&mail("x", "y"), Learn::Spam), None);
        e.bayes_enabled = true;
        let c = e.check(&mail("new2", "project meeting budget review"), Auth::default(), 0, Vec::new(), &t);
        assert!(c.bayes.unwrap() < 0.1);
        assert_eq!(c.verdict.action, Action::NoAction);
        assert_eq!(e.stats.scanned, 3);
    }

    #[test]
    fn autolearn_on_extreme_score() {
        let mut e = engine();
        let t = FilterThresholds::default();
        let spammy = vec![Symbol::new("TEST_SPAM", 2000)];
        let c = e.check(&mail("a", "buy things"), Auth::default(), 0, spammy, &t);
        assert_eq!(c.verdict.action, Action::Reject);
        assert_eq!(c.learned, Some((Learn::Spam, LearnOutcome::Learned)));
        assert_eq!(e.stats.autolearn_spam, 1);
        // The user moves the delivered copy (our headers prepended, no
        // Message-ID) out of Junk: the auto-learned message is moved to ham,
        // not counted twice.
        let raw = b"Subject: a\r\n\r\nbuy things\r\n";
        let c = e.check(raw, Auth::default(), 0, vec![Symbol::new("TEST_SPAM", 2000)], &t);
        let delivered = c.verdict.apply_to(raw, &t);
        assert_eq!(e.learn(&delivered, Learn::Ham), Some(LearnOutcome::Relearned));
        assert_eq!(e.bayes.learned(), (1, 1));
        assert!(e.take_bayes_snapshot().is_some());
        // Good authentication and a DNSWL bonus: learned as ham.
        let auth = Auth { spf: SpfResult::Pass, dkim: DkimResult::Pass, dmarc: DmarcResult::Pass };
        let c = e.check(&mail("b", "hello there"), auth, -200, Vec::new(), &t);
        assert_eq!(c.verdict.score, Score(-290));
        assert_eq!(c.learned, Some((Learn::Ham, LearnOutcome::Learned)));
    }
}
