//! Filter statistics like `rspamc stat`: messages scanned, per-action
//! counts and percentages, virus hits, Bayes learning; as console text and
//! as Prometheus text exposition lines (`unimail_filter_...`).

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use crate::verdict::{Action, Learn, Verdict};

/// Counters since boot (the kernel may persist and restore them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub scanned: u64,
    /// Indexed by `Action as usize` (no action .. reject).
    pub actions: [u64; 6],
    pub virus_hits: u64,
    pub scan_incomplete: u64,
    /// Messages where Bayes voted / abstained.
    pub bayes_voted: u64,
    pub bayes_no_vote: u64,
    /// Learn operations done since boot, by origin.
    pub autolearn_spam: u64,
    pub autolearn_ham: u64,
    pub manual_learn_spam: u64,
    pub manual_learn_ham: u64,
    /// Messages in the token store (set from `Store::learned()`).
    pub bayes_learned_spam: u64,
    pub bayes_learned_ham: u64,
    pub bayes_tokens: u64,
}

/// `n / total` as a percentage with two decimals, integer math only.
fn percent(n: u64, total: u64) -> String {
    if total == 0 {
        return String::from("0.00");
    }
    let bp = (u128::from(n) * 10_000 + u128::from(total) / 2) / u128::from(total);
    format!("{}.{:02}", bp / 100, bp % 100)
}

impl Stats {
    /// Counts one filtered message.
    pub fn record(&mut self, v: &Verdict, bayes_voted: bool) {
        self.scanned += 1;
        self.actions[v.action.index()] += 1;
        if v.virus.is_some() {
            self.virus_hits += 1;
        }
        if v.symbols.iter().any(|s| s.name == "CLAM_SCAN_INCOMPLETE") {
            self.scan_incomplete += 1;
        }
        if bayes_voted {
            self.bayes_voted += 1;
        } else {
            self.bayes_no_vote += 1;
        }
    }

    /// Counts a learn operation (`auto`: from the filter's verdict, else
    /// IMAP Junk moves or an admin).
    pub fn record_learn(&mut self, class: Learn, auto: bool) {
        match (class, auto) {
            (Learn::Spam, true) => self.autolearn_spam += 1,
            (Learn::Ham, true) => self.autolearn_ham += 1,
            (Learn::Spam, false) => self.manual_learn_spam += 1,
            (Learn::Ham, false) => self.manual_learn_ham += 1,
        }
    }

    /// Token store figures, copied in before printing.
    pub fn set_bayes_store(&mut self, learned_spam: u64, learned_ham: u64, tokens: u64) {
        self.bayes_learned_spam = learned_spam;
        self.bayes_learned_ham = learned_ham;
        self.bayes_tokens = tokens;
    }

    pub fn count(&self, a: Action) -> u64 {
        self.actions[a.index()]
    }

    /// Console text in the shape of `rspamc stat`.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Messages scanned: {}", self.scanned);
        for a in Action::ALL {
            let n = self.count(a);
            let _ = writeln!(s, "Messages with action {}: {}, {}%", a.name(), n, percent(n, self.scanned));
        }
        let spam = self.count(Action::Reject)
            + self.count(Action::SoftReject)
            + self.count(Action::RewriteSubject)
            + self.count(Action::AddHeader);
        let _ = writeln!(s, "Messages treated as spam: {}, {}%", spam, percent(spam, self.scanned));
        let ham = self.scanned - spam.min(self.scanned);
        let _ = writeln!(s, "Messages treated as ham: {}, {}%", ham, percent(ham, self.scanned));
        let _ = writeln!(s, "Virus found: {}", self.virus_hits);
        let _ = writeln!(s, "Scans incomplete: {}", self.scan_incomplete);
        let learned = self.autolearn_spam + self.autolearn_ham + self.manual_learn_spam + self.manual_learn_ham;
        let _ = writeln!(
            s,
            "Messages learned: {} (auto spam {}, auto ham {}, spam {}, ham {})",
            learned, self.autolearn_spam, self.autolearn_ham, self.manual_learn_spam, self.manual_learn_ham
        );
        let _ = writeln!(
            s,
            "Statfile: BAYES_SPAM learned: {}; BAYES_HAM learned: {}; tokens: {}",
            self.bayes_learned_spam, self.bayes_learned_ham, self.bayes_tokens
        );
        let _ = writeln!(s, "Bayes voted: {}, no vote: {}", self.bayes_voted, self.bayes_no_vote);
        s
    }

    /// Prometheus text exposition format (version 0.0.4) lines.
    pub fn prometheus(&self) -> String {
        let mut s = String::new();
        let counter = |s: &mut String, name: &str, help: &str, kind: &str| {
            let _ = writeln!(s, "# HELP unimail_filter_{name} {help}");
            let _ = writeln!(s, "# TYPE unimail_filter_{name} {kind}");
        };
        counter(&mut s, "messages_scanned_total", "Messages scanned by the content filter.", "counter");
        let _ = writeln!(s, "unimail_filter_messages_scanned_total {}", self.scanned);
        counter(&mut s, "actions_total", "Messages per filter action.", "counter");
        for a in Action::ALL {
            let _ = writeln!(s, "unimail_filter_actions_total{{action=\"{}\"}} {}", a.label(), self.count(a));
        }
        counter(&mut s, "virus_hits_total", "Messages with a virus signature hit.", "counter");
        let _ = writeln!(s, "unimail_filter_virus_hits_total {}", self.virus_hits);
        counter(&mut s, "scan_incomplete_total", "Antivirus scans cut short by limits.", "counter");
        let _ = writeln!(s, "unimail_filter_scan_incomplete_total {}", self.scan_incomplete);
        counter(&mut s, "bayes_votes_total", "Messages where the Bayes classifier voted or not.", "counter");
        let _ = writeln!(s, "unimail_filter_bayes_votes_total{{voted=\"yes\"}} {}", self.bayes_voted);
        let _ = writeln!(s, "unimail_filter_bayes_votes_total{{voted=\"no\"}} {}", self.bayes_no_vote);
        counter(&mut s, "learn_total", "Bayes learn operations since boot.", "counter");
        for (class, origin, n) in [
            ("spam", "auto", self.autolearn_spam),
            ("ham", "auto", self.autolearn_ham),
            ("spam", "user", self.manual_learn_spam),
            ("ham", "user", self.manual_learn_ham),
        ] {
            let _ = writeln!(s, "unimail_filter_learn_total{{class=\"{class}\",origin=\"{origin}\"}} {n}");
        }
        counter(&mut s, "bayes_learned_messages", "Messages in the Bayes token store.", "gauge");
        let _ = writeln!(s, "unimail_filter_bayes_learned_messages{{class=\"spam\"}} {}", self.bayes_learned_spam);
        let _ = writeln!(s, "unimail_filter_bayes_learned_messages{{class=\"ham\"}} {}", self.bayes_learned_ham);
        counter(&mut s, "bayes_tokens", "Tokens in the Bayes token store.", "gauge");
        let _ = writeln!(s, "unimail_filter_bayes_tokens {}", self.bayes_tokens);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, Inputs, Policy, Symbol};
    use alloc::vec;
    use mail_config::{FilterThresholds, Score};

    #[test]
    fn counts_text_and_prometheus() {
        let t = FilterThresholds::default();
        let p = Policy::default();
        let mut st = Stats::default();
        for score in [0, 0, 700, 1600] {
            let v = evaluate(&Inputs { extra: vec![Symbol::new("T", score)], ..Inputs::default() }, &t, &p);
            st.record(&v, score != 0);
        }
        let v = evaluate(&Inputs { virus: Some("Eicar"), ..Inputs::default() }, &t, &p);
        st.record(&v, false);
        st.record_learn(Learn::Spam, true);
        st.record_learn(Learn::Ham, false);
        st.set_bayes_store(201, 300, 12345);
        assert_eq!(st.scanned, 5);
        assert_eq!(st.count(Action::Reject), 2);
        let text = st.text();
        assert!(text.contains("Messages scanned: 5\n"), "{text}");
        assert!(text.contains("Messages with action reject: 2, 40.00%\n"));
        assert!(text.contains("Messages with action add header: 1, 20.00%\n"));
        assert!(text.contains("Messages with action no action: 2, 40.00%\n"));
        assert!(text.contains("Virus found: 1\n"));
        assert!(text.contains("Messages learned: 2 (auto spam 1, auto ham 0, spam 0, ham 1)\n"));
        assert!(text.contains("BAYES_SPAM learned: 201; BAYES_HAM learned: 300; tokens: 12345"));
        let prom = st.prometheus();
        assert!(prom.contains("\nunimail_filter_messages_scanned_total 5\n"));
        assert!(prom.contains("\nunimail_filter_actions_total{action=\"reject\"} 2\n"));
        assert!(prom.contains("\nunimail_filter_virus_hits_total 1\n"));
        assert!(prom.contains("unimail_filter_learn_total{class=\"ham\",origin=\"user\"} 1\n"));
        assert!(prom.contains("# TYPE unimail_filter_bayes_tokens gauge\n"));
        // Every non-comment line is `name{labels} value`.
        for l in prom.lines().filter(|l| !l.starts_with('#')) {
            let (name, val) = l.rsplit_once(' ').unwrap();
            assert!(name.starts_with("unimail_filter_"));
            val.parse::<u64>().unwrap();
        }
        let _ = Score(0);
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(0, 0), "0.00");
        assert_eq!(percent(1, 3), "33.33");
        assert_eq!(percent(2, 3), "66.67");
        assert_eq!(percent(3, 3), "100.00");
        assert_eq!(Stats::default().text().lines().count(), 14);
    }
}
