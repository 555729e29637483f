//! Counters for `rspamc stat`-like summaries and Prometheus metrics.
//!
//! Plain numbers: the kernel owns one [`Stats`] and records each finished
//! screen, each after-220 violation and each greylist answer.

use alloc::string::String;
use core::fmt::Write;

use crate::greylist::{Answer, PassReason};
use crate::observer::Violation;
use crate::reply::{Action, Test};
use crate::screen::{AccessHit, Screen, TestState, Verdict};

const ACTIONS: [Action; 3] = [Action::Ignore, Action::Enforce, Action::Drop];

/// Screen and greylist counters since boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections screened.
    pub connections: u64,
    /// Verdicts: pass, enforce, drop, tempfail.
    pub passed: u64,
    /// See `passed`.
    pub enforced: u64,
    /// See `passed`.
    pub dropped: u64,
    /// See `passed`.
    pub tempfailed: u64,
    /// Clients that skipped the tests thanks to the pass cache.
    pub cache_hits: u64,
    /// Permanent allow-list hits.
    pub access_allowed: u64,
    /// Permanent deny-list hits.
    pub access_denied: u64,
    /// Clients allow-listed by their DNSWL score.
    pub dnswl: u64,
    /// Clients that hung up before the verdict.
    pub hangups: u64,
    /// Test failures by test ([`Test::ALL`] order) and action (ignore,
    /// enforce, drop).
    pub failures: [[u64; 3]; 5],
    /// Greylist: recipients deferred (new triplet / retried too early).
    pub greylist_deferred_new: u64,
    /// See `greylist_deferred_new`.
    pub greylist_deferred: u64,
    /// Greylist: recipients accepted after a retry / as known triplets.
    pub greylist_passed_retry: u64,
    /// See `greylist_passed_retry`.
    pub greylist_passed_known: u64,
    /// Greylist: accepted because the client network is auto-allowed.
    pub greylist_auto_allowed: u64,
    /// Greylist: skipped (authenticated / allow-listed / disabled).
    pub greylist_skipped: u64,
}

fn action_index(a: Action) -> usize {
    ACTIONS.iter().position(|x| *x == a).unwrap_or(0)
}

impl Stats {
    /// Count a screen once it has its verdict.
    pub fn record_screen(&mut self, s: &Screen) {
        let Some(v) = s.verdict() else { return };
        self.connections += 1;
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Enforce(_) => self.enforced += 1,
            Verdict::Drop(_) => self.dropped += 1,
            Verdict::TempFail(_) => self.tempfailed += 1,
        }
        match s.access() {
            Some(AccessHit::Allow(_)) => self.access_allowed += 1,
            Some(AccessHit::Deny(_)) => self.access_denied += 1,
            None => {}
        }
        if s.cache_hit() {
            self.cache_hits += 1;
        }
        if s.allowlisted() && s.access().is_none() {
            self.dnswl += 1;
        }
        for (t, st) in [(Test::Pregreet, s.pregreet()), (Test::Dnsbl, s.dnsbl())] {
            if let TestState::Failed(a) = st {
                self.failures[t.index()][action_index(a)] += 1;
            }
        }
    }

    /// Count a client that closed before the verdict.
    pub fn record_hangup(&mut self) {
        self.connections += 1;
        self.hangups += 1;
    }

    /// Count an after-220 test failure.
    pub fn record_violation(&mut self, v: &Violation) {
        self.failures[v.test.index()][action_index(v.action)] += 1;
    }

    /// Count a greylist answer.
    pub fn record_greylist(&mut self, a: &Answer) {
        match a {
            Answer::DeferNew(_) => self.greylist_deferred_new += 1,
            Answer::Defer(_) => self.greylist_deferred += 1,
            Answer::Pass(PassReason::Retried) => self.greylist_passed_retry += 1,
            Answer::Pass(PassReason::Known) => self.greylist_passed_known += 1,
            Answer::Pass(PassReason::AutoAllowed) => self.greylist_auto_allowed += 1,
            Answer::Pass(PassReason::Skipped | PassReason::Disabled) => self.greylist_skipped += 1,
        }
    }

    /// Append Prometheus text-format lines (exposition format 0.0.4).
    pub fn write_prometheus(&self, out: &mut String) {
        let mut counter = |name: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP unimail_{name} {help}\n# TYPE unimail_{name} counter");
            for (labels, v) in rows {
                if labels.is_empty() {
                    let _ = writeln!(out, "unimail_{name} {v}");
                } else {
                    let _ = writeln!(out, "unimail_{name}{{{labels}}} {v}");
                }
            }
        };
        counter("screen_connections_total", "Connections screened.", &[("", self.connections)]);
        counter(
            "screen_verdicts_total",
            "Screen verdicts.",
            &[
                ("verdict=\"pass\"", self.passed),
                ("verdict=\"enforce\"", self.enforced),
                ("verdict=\"drop\"", self.dropped),
                ("verdict=\"tempfail\"", self.tempfailed),
                ("verdict=\"hangup\"", self.hangups),
            ],
        );
        counter("screen_cache_hits_total", "Clients passed from the cache.", &[("", self.cache_hits)]);
        counter(
            "screen_access_total",
            "Permanent access list hits.",
            &[("list=\"allow\"", self.access_allowed), ("list=\"deny\"", self.access_denied)],
        );
        counter("screen_dnswl_total", "Clients allow-listed by DNSWL score.", &[("", self.dnswl)]);
        let mut labels: [[String; 3]; 5] = Default::default();
        for t in Test::ALL {
            for a in ACTIONS {
                labels[t.index()][action_index(a)] =
                    alloc::format!("test=\"{}\",action=\"{}\"", t.as_str(), a.as_str());
            }
        }
        let mut rows = alloc::vec::Vec::new();
        for t in Test::ALL {
            for a in ACTIONS {
                rows.push((labels[t.index()][action_index(a)].as_str(), self.failures[t.index()][action_index(a)]));
            }
        }
        counter("screen_test_failures_total", "Screen test failures by test and action.", &rows);
        counter(
            "greylist_total",
            "Greylist answers per recipient.",
            &[
                ("result=\"deferred_new\"", self.greylist_deferred_new),
                ("result=\"deferred\"", self.greylist_deferred),
                ("result=\"passed_retry\"", self.greylist_passed_retry),
                ("result=\"passed_known\"", self.greylist_passed_known),
                ("result=\"auto_allowed\"", self.greylist_auto_allowed),
                ("result=\"skipped\"", self.greylist_skipped),
            ],
        );
    }

    /// Append a short human-readable summary (serial console).
    pub fn write_summary(&self, out: &mut String) {
        // Tenths of a percent, in integers (no floating point in the image).
        let pct = |n: u64| n.saturating_mul(1000).checked_div(self.connections).unwrap_or(0);
        let _ = writeln!(out, "Screen: {} connections", self.connections);
        for (name, n) in [
            ("passed", self.passed),
            ("enforced", self.enforced),
            ("dropped", self.dropped),
            ("tempfailed", self.tempfailed),
            ("hung up", self.hangups),
        ] {
            let p = pct(n);
            let _ = writeln!(out, "  {name:<10} {n:>8} ({}.{}%)", p / 10, p % 10);
        }
        let _ = writeln!(
            out,
            "  cache hits {}, allow list {}, deny list {}, DNSWL {}",
            self.cache_hits, self.access_allowed, self.access_denied, self.dnswl
        );
        for t in Test::ALL {
            let f = &self.failures[t.index()];
            if f.iter().any(|n| *n > 0) {
                let _ = writeln!(out, "  {:<12} failed: ignore {} enforce {} drop {}", t.as_str(), f[0], f[1], f[2]);
            }
        }
        let _ = writeln!(
            out,
            "Greylist: deferred {} (new {}), passed {} (retry {}, known {}), auto-allowed {}, skipped {}",
            self.greylist_deferred + self.greylist_deferred_new,
            self.greylist_deferred_new,
            self.greylist_passed_retry + self.greylist_passed_known,
            self.greylist_passed_retry,
            self.greylist_passed_known,
            self.greylist_auto_allowed,
            self.greylist_skipped
        );
    }
}
