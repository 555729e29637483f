//! The screen's knobs that the shared config model does not have yet.
//!
//! Defaults are postscreen's (Postfix 3.7 `postconf -d`), so an operator's
//! `main.cf` values carry over one to one; the lead maps a `[screen]`
//! section onto these.

use alloc::string::String;
use alloc::vec::Vec;

use mail_config::{Access, Config, Dnsbl, ScreenAction};

use crate::reply::{Action, Test};

/// One after-220 ("deep protocol") test: whether it runs and what a
/// failure does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeepTest {
    /// postscreen's `*_enable` (default `no` for all three).
    pub enabled: bool,
    /// postscreen's `*_action`.
    pub action: Action,
}

/// How long a passed test is remembered, in seconds (postscreen's `*_ttl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttls {
    /// `postscreen_greet_ttl` = 1d.
    pub pregreet: u64,
    /// `postscreen_dnsbl_max_ttl` = 1h (we do not read the DNS TTL; see
    /// the crate docs).
    pub dnsbl: u64,
    /// `postscreen_pipelining_ttl` = 30d.
    pub pipelining: u64,
    /// `postscreen_non_smtp_command_ttl` = 30d.
    pub non_smtp: u64,
    /// `postscreen_bare_newline_ttl` = 30d.
    pub bare_newline: u64,
}

impl Default for Ttls {
    fn default() -> Self {
        Ttls { pregreet: 86400, dnsbl: 3600, pipelining: 30 * 86400, non_smtp: 30 * 86400, bare_newline: 30 * 86400 }
    }
}

impl Ttls {
    /// The TTL of one test.
    pub fn of(&self, t: Test) -> u64 {
        match t {
            Test::Pregreet => self.pregreet,
            Test::Dnsbl => self.dnsbl,
            Test::Pipelining => self.pipelining,
            Test::NonSmtp => self.non_smtp,
            Test::BareNewline => self.bare_newline,
        }
    }
}

/// `[screen]` knobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenConfig {
    /// Host name in the greeting (`$myhostname`).
    pub hostname: String,
    /// Text after the host name in the greeting (`ESMTP`).
    pub banner: String,
    /// `postscreen_greet_wait` = 6s, in milliseconds: how long the
    /// `220-` continuation line stands before the final `220 ` line.
    /// Zero turns the pre-greet test off.
    pub greet_wait_ms: u64,
    /// `postscreen_greet_action` = ignore.
    pub pregreet_action: Action,
    /// `postscreen_dnsbl_action` = ignore.
    pub dnsbl_action: Action,
    /// How long DNSBL answers are awaited, in milliseconds from connect,
    /// when the pre-greet wait is shorter (or not run): the final greeting
    /// waits for the end of the pre-greet window and then for all answers
    /// or this deadline, whichever is first. The default equals the greet
    /// wait, which is postscreen's behaviour (its greet wait is the DNSBL
    /// budget).
    pub dnsbl_timeout_ms: u64,
    /// `postscreen_pipelining_enable` = no, `_action` = enforce.
    pub pipelining: DeepTest,
    /// `postscreen_non_smtp_command_enable` = no, `_action` = drop.
    pub non_smtp: DeepTest,
    /// `postscreen_bare_newline_enable` = no, `_action` = ignore.
    pub bare_newline: DeepTest,
    /// `postscreen_forbidden_commands` = `CONNECT GET POST` (compared
    /// case-insensitively with the first word). Besides these, a first
    /// word ending in `:` (an HTTP header such as `Host:`) and a line not
    /// starting with a letter (Postfix 3.9's `/^[^A-Z]/ Bogus`) count as
    /// non-SMTP.
    pub forbidden_commands: Vec<String>,
    /// Cache TTLs per test.
    pub ttl: Ttls,
    /// Most bytes a pre-greet talker may send before it is dropped with
    /// 521 whatever the action (they are kept to hand to the SMTP session).
    pub max_early_bytes: usize,
    /// `postscreen_client_connection_count_limit` = 50 (0 = off); clients
    /// on the allow list are exempt.
    pub client_connection_limit: u32,
    /// `postscreen_pre_queue_limit` = 100 (0 = off); clients on the allow
    /// list are exempt.
    pub total_connection_limit: u32,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        ScreenConfig {
            hostname: String::from("localhost"),
            banner: String::from("ESMTP"),
            greet_wait_ms: 6000,
            pregreet_action: Action::Ignore,
            dnsbl_action: Action::Ignore,
            dnsbl_timeout_ms: 6000,
            pipelining: DeepTest { enabled: false, action: Action::Enforce },
            non_smtp: DeepTest { enabled: false, action: Action::Drop },
            bare_newline: DeepTest { enabled: false, action: Action::Ignore },
            forbidden_commands: ["CONNECT", "GET", "POST"].iter().map(|s| String::from(*s)).collect(),
            ttl: Ttls::default(),
            max_early_bytes: 4096,
            client_connection_limit: 50,
            total_connection_limit: 100,
        }
    }
}

impl ScreenConfig {
    /// The deep test settings for one test (`None` for the pre-220 tests).
    pub fn deep(&self, t: Test) -> Option<DeepTest> {
        match t {
            Test::Pipelining => Some(self.pipelining),
            Test::NonSmtp => Some(self.non_smtp),
            Test::BareNewline => Some(self.bare_newline),
            Test::Pregreet | Test::Dnsbl => None,
        }
    }
}

/// Everything a [`crate::Screen`] consults: built once from the config
/// ([`Policy::from_config`]), shared by every connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The knobs above.
    pub screen: ScreenConfig,
    /// `[dnsbl]`: sites, threshold, allowlist threshold.
    pub dnsbl: Dnsbl,
    /// `[access]`: permanent allow/deny lists.
    pub access: Access,
}

impl From<ScreenAction> for Action {
    fn from(a: ScreenAction) -> Action {
        match a {
            ScreenAction::Ignore => Action::Ignore,
            ScreenAction::Enforce => Action::Enforce,
            ScreenAction::Drop => Action::Drop,
        }
    }
}

fn millis(d: core::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Policy {
    /// The policy the config file describes: `[screen]` (waits, actions,
    /// TTLs; the after-220 tests run with their configured actions),
    /// `[dnsbl]` and `[access]`; other knobs keep postscreen's defaults.
    /// Whether to screen at all (`[screen] enabled`) is the caller's check.
    pub fn from_config(cfg: &Config) -> Policy {
        let sc = &cfg.screen;
        let deep = |action: ScreenAction| DeepTest { enabled: true, action: action.into() };
        let screen = ScreenConfig {
            hostname: cfg.hostname.clone(),
            greet_wait_ms: millis(sc.pregreet_wait),
            pregreet_action: sc.pregreet_action.into(),
            dnsbl_action: sc.dnsbl_action.into(),
            dnsbl_timeout_ms: millis(sc.dnsbl_wait),
            pipelining: deep(sc.pipelining_action),
            non_smtp: deep(sc.non_smtp_action),
            bare_newline: deep(sc.bare_newline_action),
            ttl: Ttls { pregreet: sc.pass_ttl.as_secs(), dnsbl: sc.dnsbl_ttl.as_secs(), ..Ttls::default() },
            ..ScreenConfig::default()
        };
        Policy { screen, dnsbl: cfg.dnsbl.clone(), access: cfg.access.clone() }
    }
}
