//! The per-connection screen: postscreen's before-220 tests.
//!
//! Order of checks on connect (postscreen(8) "THE TRIAGE PROCESS"):
//! permanent access list, connection limits, temporary allowlist (the pass
//! cache), then the pre-greet test and the DNSBL queries in parallel. The
//! pre-greet test sends the first line of a multi-line greeting
//! (`220-host ESMTP`, RFC 5321 4.2.1) and waits: a real MTA waits for the
//! final `220 ` line (RFC 5321 4.3.1, 3.1: the client waits for the
//! greeting), a spambot that talks first gives itself away.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;

use mail_config::{Access, Cidr};

use crate::config::Policy;
use crate::dnsbl::{self, DnsAnswer, DnsQuery, Score};
use crate::reply::{self, canonical_ip, Action, ScreenReply, Test};
use crate::PassCache;

/// What happens to the connection once the screen is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the connection to the SMTP session; the greeting is complete
    /// (the session must not send its own).
    Pass,
    /// Hand over, but answer every RCPT TO with this 550 reply (postscreen
    /// `enforce`): the sender's log names the failed test.
    Enforce(ScreenReply),
    /// The 521 reply is in the output; send it, then close.
    Drop(ScreenReply),
    /// The 421 reply is in the output; send it, then close.
    TempFail(ScreenReply),
}

/// The state of one test on one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestState {
    /// Not run: disabled, cached pass, or the client is allow-listed.
    Skipped,
    /// Running.
    Pending,
    /// Passed on this connection.
    Passed,
    /// Failed; the configured action was taken.
    Failed(Action),
}

impl core::fmt::Display for TestState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TestState::Skipped => f.write_str("skipped"),
            TestState::Pending => f.write_str("pending"),
            TestState::Passed => f.write_str("passed"),
            TestState::Failed(a) => write!(f, "failed/{a}"),
        }
    }
}

/// Why the access list decided (for logs and statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessHit {
    /// On the permanent allow list.
    Allow(Cidr),
    /// On the permanent deny list.
    Deny(Cidr),
}

/// How busy the listener is, counted by the kernel including this
/// connection. Zero means "not counted" and never refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    /// Open connections from this client address.
    pub from_client: u32,
    /// Open connections being screened or served on this listener.
    pub total: u32,
}

/// postscreen's access list semantics with two lists: the most specific
/// matching block wins; on a tie the deny list wins.
pub fn check_access(access: &Access, ip: IpAddr) -> Option<AccessHit> {
    let best = |list: &[Cidr]| list.iter().filter(|c| c.contains(ip)).max_by_key(|c| c.prefix()).copied();
    match (best(&access.allow), best(&access.deny)) {
        (Some(a), Some(d)) if a.prefix() > d.prefix() => Some(AccessHit::Allow(a)),
        (_, Some(d)) => Some(AccessHit::Deny(d)),
        (Some(a), None) => Some(AccessHit::Allow(a)),
        (None, None) => None,
    }
}

/// One connection's screen. Create with [`Screen::connect`], send
/// [`Screen::output`] and the [`Screen::queries`], then feed client bytes,
/// DNS answers and timer ticks until [`Screen::verdict`] is `Some`.
#[derive(Clone, Debug)]
pub struct Screen {
    ip: IpAddr,
    started_ms: u64,
    /// End of the pre-greet window (while the test is pending).
    pregreet_end_ms: u64,
    /// Latest time to wait for DNSBL answers.
    dnsbl_deadline_ms: u64,
    concluded_ms: Option<u64>,
    out: Vec<u8>,
    queries: Vec<DnsQuery>,
    answers: Vec<Option<DnsAnswer>>,
    pregreet: TestState,
    dnsbl: TestState,
    score: Score,
    early: Vec<u8>,
    access: Option<AccessHit>,
    cache_hit: bool,
    dnswl: bool,
    deep: [bool; 3],
    verdict: Option<Verdict>,
}

impl Screen {
    /// A new connection from `ip` at `now_ms` (UNIX time in milliseconds:
    /// the pass cache stores it across reboots).
    pub fn connect(policy: &Policy, cache: &PassCache, ip: IpAddr, now_ms: u64, load: Load) -> Screen {
        let ip = canonical_ip(ip);
        let cfg = &policy.screen;
        let now_s = now_ms / 1000;
        let mut s = Screen {
            ip,
            started_ms: now_ms,
            pregreet_end_ms: now_ms,
            dnsbl_deadline_ms: now_ms,
            concluded_ms: None,
            out: Vec::new(),
            queries: Vec::new(),
            answers: Vec::new(),
            pregreet: TestState::Skipped,
            dnsbl: TestState::Skipped,
            score: Score::default(),
            early: Vec::new(),
            access: None,
            cache_hit: false,
            dnswl: false,
            deep: [false; 3],
            verdict: None,
        };
        // The access lists come first: a denied client is refused and an
        // allowed one let in whatever else holds.
        s.access = check_access(&policy.access, ip);
        match s.access {
            Some(AccessHit::Deny(_)) => {
                s.finish(now_ms, Verdict::Drop(reply::denied(ip)));
                return s;
            }
            Some(AccessHit::Allow(_)) => {
                // Permanently allowed: no tests at all, no connection limit.
                s.greet_final(cfg);
                s.finish(now_ms, Verdict::Pass);
                return s;
            }
            None => {}
        }
        if cfg.total_connection_limit > 0 && load.total > cfg.total_connection_limit {
            s.finish(now_ms, Verdict::TempFail(reply::all_ports_busy()));
            return s;
        }
        if cfg.client_connection_limit > 0 && load.from_client > cfg.client_connection_limit {
            s.finish(now_ms, Verdict::TempFail(reply::too_many_from_client(ip)));
            return s;
        }
        for (i, t) in [Test::Pipelining, Test::NonSmtp, Test::BareNewline].into_iter().enumerate() {
            s.deep[i] = cfg.deep(t).is_some_and(|d| d.enabled) && !cache.passed(ip, t, now_s);
        }
        if cache.dnswl(ip, now_s) {
            // A DNSWL-allowlisted client skips every test until it expires.
            s.dnswl = true;
            s.cache_hit = true;
            s.deep = [false; 3];
            s.greet_final(cfg);
            s.finish(now_ms, Verdict::Pass);
            return s;
        }
        // A zero wait turns the pre-greet test off.
        let pregreet_cached = cfg.greet_wait_ms == 0 || cache.passed(ip, Test::Pregreet, now_s);
        let dnsbl_cached = policy.dnsbl.sites.is_empty() || cache.passed(ip, Test::Dnsbl, now_s);
        if pregreet_cached && dnsbl_cached {
            s.cache_hit = true;
            s.greet_final(cfg);
            s.finish(now_ms, Verdict::Pass);
            return s;
        }
        if !dnsbl_cached {
            s.queries = dnsbl::queries(ip, &policy.dnsbl.sites);
            s.answers = alloc::vec![None; s.queries.len()];
            s.dnsbl = TestState::Pending;
        }
        let mut dnsbl_budget = cfg.dnsbl_timeout_ms;
        if !pregreet_cached {
            // RFC 5321 4.2.1: the first line of a multi-line reply.
            s.out.extend_from_slice(format!("220-{} {}\r\n", cfg.hostname, cfg.banner).as_bytes());
            s.pregreet = TestState::Pending;
            s.pregreet_end_ms = now_ms.saturating_add(cfg.greet_wait_ms);
            dnsbl_budget = dnsbl_budget.max(cfg.greet_wait_ms);
        }
        s.dnsbl_deadline_ms = now_ms.saturating_add(dnsbl_budget);
        s.try_conclude(policy, now_ms);
        s
    }

    /// Bytes to send to the client (the greeting lines, or a refusal).
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Take the bytes to send.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// The DNSBL/DNSWL queries to send now, all in parallel (A records).
    pub fn queries(&self) -> &[DnsQuery] {
        &self.queries
    }

    /// When to call [`Screen::tick`] next (UNIX ms): the end of the
    /// pre-greet window, then the DNSBL deadline; `None` once decided.
    pub fn deadline_ms(&self) -> Option<u64> {
        self.verdict.as_ref().map_or(
            Some(if self.pregreet == TestState::Pending { self.pregreet_end_ms } else { self.dnsbl_deadline_ms }),
            |_| None,
        )
    }

    /// The decision, once made.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    /// The client address (IPv4-mapped IPv6 shown as IPv4).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Client bytes received: during the pre-greet wait this is the
    /// pre-greet test failing. The bytes are kept (bounded) and handed to
    /// the SMTP session by [`Screen::take_early_input`], so with `ignore`
    /// or `enforce` nothing the client said is lost. Returns false, taking
    /// nothing, once the verdict is in: those bytes belong to the SMTP
    /// session (or to nobody after a refusal).
    pub fn feed(&mut self, policy: &Policy, input: &[u8], now_ms: u64) -> bool {
        if self.verdict.is_some() {
            return false;
        }
        if input.is_empty() {
            return true;
        }
        let cfg = &policy.screen;
        let talked_first = self.pregreet == TestState::Pending;
        if talked_first {
            let action = cfg.pregreet_action;
            self.pregreet = TestState::Failed(action);
            if action == Action::Drop {
                self.drop_for(Test::Pregreet, None, now_ms);
                return true;
            }
        }
        if self.early.len() + input.len() > cfg.max_early_bytes {
            // Kilobytes before the greeting is not an SMTP client.
            self.pregreet = TestState::Failed(Action::Drop);
            self.drop_for(Test::Pregreet, None, now_ms);
            return true;
        }
        self.early.extend_from_slice(input);
        if talked_first {
            // postscreen: the test is over, and so is the wait once the
            // lists have answered.
            self.try_conclude(policy, now_ms);
        }
        true
    }

    /// The client's bytes received before the verdict, to feed to the SMTP
    /// session first.
    pub fn take_early_input(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.early)
    }

    /// The answer to query `id` (from [`Screen::queries`]). Unknown ids and
    /// repeated answers are ignored.
    pub fn answer(&mut self, policy: &Policy, id: usize, answer: DnsAnswer, now_ms: u64) {
        if self.verdict.is_some() {
            return;
        }
        match self.answers.get_mut(id) {
            Some(slot @ None) => *slot = Some(answer),
            _ => return,
        }
        if self.answers.iter().all(Option::is_some) {
            self.rescore(policy);
            // postscreen_dnsbl_allowlist_threshold: an allowlisted client
            // skips the rest of the pre-greet wait.
            if policy.dnsbl.allowlist_threshold.is_some_and(|a| self.score.total <= a) {
                if self.pregreet == TestState::Pending {
                    // Cut short, so not a pass to remember.
                    self.pregreet = TestState::Skipped;
                }
                self.conclude(policy, now_ms);
                return;
            }
        }
        self.try_conclude(policy, now_ms);
    }

    /// Timer: the pre-greet window ends (a quiet client passed it), then
    /// the DNSBL deadline; answers still pending then count as not listed
    /// (postscreen does the same when its budget runs out).
    pub fn tick(&mut self, policy: &Policy, now_ms: u64) {
        if self.verdict.is_some() {
            return;
        }
        if self.pregreet == TestState::Pending && now_ms >= self.pregreet_end_ms {
            self.pregreet = TestState::Passed;
        }
        self.try_conclude(policy, now_ms);
    }

    /// Decide once the pre-greet test is over and the lists have answered
    /// or run out of time.
    fn try_conclude(&mut self, policy: &Policy, now_ms: u64) {
        let dns_done = self.answers.iter().all(Option::is_some) || now_ms >= self.dnsbl_deadline_ms;
        if self.verdict.is_none() && self.pregreet != TestState::Pending && dns_done {
            self.conclude(policy, now_ms);
        }
    }

    fn rescore(&mut self, policy: &Policy) {
        let (queries, answers) = (&self.queries, &self.answers);
        self.score = dnsbl::score(&policy.dnsbl.sites, |zone| {
            queries.iter().position(|q| q.zone.eq_ignore_ascii_case(zone)).and_then(|i| answers[i].as_ref())
        });
    }

    fn conclude(&mut self, policy: &Policy, now_ms: u64) {
        let cfg = &policy.screen;
        if self.pregreet == TestState::Pending {
            self.pregreet = TestState::Passed;
        }
        let mut enforce = None;
        if let TestState::Failed(Action::Enforce) = self.pregreet {
            enforce = Some(reply::refusal(Action::Enforce, Test::Pregreet, self.ip, None));
        }
        if self.dnsbl == TestState::Pending {
            self.rescore(policy);
            if self.score.total >= policy.dnsbl.threshold {
                let action = cfg.dnsbl_action;
                self.dnsbl = TestState::Failed(action);
                let site = self.score.top_site.clone();
                match action {
                    Action::Drop => {
                        self.drop_for(Test::Dnsbl, site.as_deref(), now_ms);
                        return;
                    }
                    Action::Enforce if enforce.is_none() => {
                        enforce = Some(reply::refusal(Action::Enforce, Test::Dnsbl, self.ip, site.as_deref()))
                    }
                    _ => {}
                }
            } else {
                self.dnsbl = TestState::Passed;
                if policy.dnsbl.allowlist_threshold.is_some_and(|a| self.score.total <= a) {
                    // Skips the after-220 tests and greylisting too.
                    self.dnswl = true;
                    self.deep = [false; 3];
                }
            }
        }
        self.greet_final(cfg);
        self.finish(now_ms, enforce.map_or(Verdict::Pass, Verdict::Enforce));
    }

    fn drop_for(&mut self, test: Test, site: Option<&str>, now_ms: u64) {
        let r = reply::refusal(Action::Drop, test, self.ip, site);
        self.early.clear();
        self.finish(now_ms, Verdict::Drop(r));
    }

    fn greet_final(&mut self, cfg: &crate::ScreenConfig) {
        self.out.extend_from_slice(format!("220 {} {}\r\n", cfg.hostname, cfg.banner).as_bytes());
    }

    fn finish(&mut self, now_ms: u64, v: Verdict) {
        if let Verdict::Drop(r) | Verdict::TempFail(r) = &v {
            self.out.extend_from_slice(r.to_line().as_bytes());
            self.early.clear();
        }
        self.concluded_ms = Some(now_ms);
        self.verdict = Some(v);
    }

    /// Write the tests this connection passed into the cache (call once
    /// the verdict is in). Failed and ignored tests are not recorded, so
    /// they run again next time, as in postscreen. DNSBL passes are only
    /// recorded when every list answered.
    pub fn record_passes(&self, policy: &Policy, cache: &mut PassCache) {
        let Some(at) = self.concluded_ms else { return };
        let now = at / 1000;
        let ttl = &policy.screen.ttl;
        if self.pregreet == TestState::Passed {
            cache.record_pass(self.ip, Test::Pregreet, now, ttl.pregreet);
        }
        if self.dnsbl == TestState::Passed && self.answers.iter().all(Option::is_some) {
            cache.record_pass(self.ip, Test::Dnsbl, now, ttl.dnsbl);
            if self.dnswl {
                cache.record_dnswl(self.ip, now, ttl.dnsbl);
            }
        }
    }

    /// The after-220 tests to run in the SMTP session (`None` if none:
    /// disabled, cached, or allow-listed).
    pub fn observer(&self, policy: &Policy) -> Option<crate::ProtocolObserver> {
        if !matches!(self.verdict, Some(Verdict::Pass | Verdict::Enforce(_))) || self.deep == [false; 3] {
            return None;
        }
        Some(crate::ProtocolObserver::new(policy, self.ip, self.deep))
    }

    /// Whether the client skips greylisting: permanent allow list or a
    /// DNSWL score at or below the allowlist threshold.
    pub fn allowlisted(&self) -> bool {
        matches!(self.access, Some(AccessHit::Allow(_))) || self.dnswl
    }

    /// The access-list decision, if any.
    pub fn access(&self) -> Option<AccessHit> {
        self.access
    }

    /// Whether the pass cache let the client skip the tests.
    pub fn cache_hit(&self) -> bool {
        self.cache_hit
    }

    /// The pre-greet test's state.
    pub fn pregreet(&self) -> TestState {
        self.pregreet
    }

    /// The DNSBL test's state.
    pub fn dnsbl(&self) -> TestState {
        self.dnsbl
    }

    /// The combined DNSBL score (as of the last answer or the verdict).
    pub fn score(&self) -> &Score {
        &self.score
    }

    /// One log line in the spirit of postscreen's (`PASS NEW`, `PASS OLD`,
    /// `ALLOWLISTED`, `DENYLISTED`, `PREGREET`, `DNSBL rank`), with every
    /// test's state; empty until the verdict is in.
    pub fn log_line(&self) -> String {
        let Some(v) = &self.verdict else { return String::new() };
        let ip = self.ip;
        let head = match (v, self.access) {
            (_, Some(AccessHit::Allow(c))) => format!("ALLOWLISTED [{ip}] by {c}"),
            (_, Some(AccessHit::Deny(c))) => format!("DENYLISTED [{ip}] by {c}"),
            (Verdict::TempFail(r), _) => format!("TEMPFAIL [{ip}] {}", r.text),
            (_, _) if self.cache_hit => format!("PASS OLD [{ip}]"),
            (Verdict::Pass, _) => format!("PASS NEW [{ip}]"),
            (Verdict::Enforce(_), _) => format!("ENFORCE [{ip}]"),
            (Verdict::Drop(_), _) => format!("DROP [{ip}]"),
        };
        let mut line = format!("{head} pregreet={} dnsbl={}", self.pregreet, self.dnsbl);
        if self.dnsbl != TestState::Skipped {
            let _ = write!(line, " rank={}", self.score.total);
            if let Some(site) = &self.score.top_site {
                let _ = write!(line, " listed_by={site}");
            }
        }
        if self.dnswl {
            line.push_str(" dnswl");
        }
        if !self.early.is_empty() {
            let _ = write!(line, " early_bytes={}", self.early.len());
        }
        if let Some(ms) = self.elapsed_ms() {
            let _ = write!(line, " after {ms} ms");
        }
        line
    }

    /// Milliseconds from connect to verdict (for logs), once decided.
    pub fn elapsed_ms(&self) -> Option<u64> {
        self.concluded_ms.map(|c| c.saturating_sub(self.started_ms))
    }
}
