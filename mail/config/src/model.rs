//! The validated configuration. Every field has been checked by
//! [`crate::parse`]; the kernel and the protocol crates read it as is.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::addr::Address;
use crate::net::{Cidr, DnsblSite};
use crate::password::{HashLimits, PasswordHash};

/// The whole appliance configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The mail name: SMTP banner and EHLO name, certificate default.
    pub hostname: String,
    /// Local domains (lowercase). Mail to other domains is relayed only for
    /// authenticated senders.
    pub domains: Vec<String>,
    pub log_level: LogLevel,
    /// Whether `{PLAIN}` and unsalted hashes were allowed (tests only).
    pub allow_weak_passwords: bool,
    pub addressing: Addressing,
    /// Users in file order.
    pub users: Vec<User>,
    /// Aliases (including catch-alls) in file order.
    pub aliases: Vec<Alias>,
    pub listeners: Listeners,
    pub limits: Limits,
    pub dnsbl: Dnsbl,
    pub access: Access,
    pub greylist: Greylist,
    pub queue: QueueSettings,
    pub filter: FilterThresholds,
    pub screen: Screen,
    pub antivirus: Antivirus,
    pub bayes: Bayes,
    pub stats: Stats,
    pub dkim: Vec<DkimKey>,
    pub tls: Tls,
    pub sieve: SieveSettings,
    pub srs: Option<Srs>,
    /// Bounds applied to the users' password hashes (from `[limits]`).
    pub hash_limits: HashLimits,
    // Lookup indexes built by the parser; keys are normalised addresses.
    pub(crate) user_index: BTreeMap<String, usize>,
    pub(crate) alias_index: BTreeMap<String, usize>,
    pub(crate) catchall_index: BTreeMap<String, usize>,
}

impl Config {
    /// Every config-disk path the config names (certificates, keys, the
    /// Sieve script, the SRS secret), in file order, without duplicates:
    /// what the kernel loads at boot and the image tool copies to the disk.
    pub fn referenced_files(&self) -> Vec<&str> {
        let mut refs: Vec<&FileRef> = Vec::new();
        refs.extend(self.dkim.iter().map(|d| &d.key));
        if let Some(c) = &self.tls.default {
            refs.extend([&c.cert, &c.key]);
        }
        for (_, c) in &self.tls.sni {
            refs.extend([&c.cert, &c.key]);
        }
        refs.extend(self.sieve.system_before.iter());
        refs.extend(self.srs.iter().map(|s| &s.secret));
        refs.extend(self.antivirus.signatures.iter());
        let mut out: Vec<&str> = Vec::new();
        for f in refs {
            if let FileRef::Path(p) = f {
                if !out.contains(&p.as_str()) {
                    out.push(p.as_str());
                }
            }
        }
        out
    }
}

/// `log_level` in `[server]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// `[addressing]`: sub-addressing and case rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addressing {
    /// Characters that start a `+detail` (RFC 5233 sub-addressing); empty
    /// disables it. Like Postfix's `recipient_delimiter`, the first
    /// occurrence of any of them splits the local part.
    pub detail_separators: Vec<char>,
    /// Whether `Alice@` and `alice@` are different mailboxes. RFC 5321 2.4
    /// lets the receiving host decide; the default is case-insensitive.
    pub case_sensitive_local_parts: bool,
}

impl Default for Addressing {
    fn default() -> Self {
        Addressing { detail_separators: alloc::vec!['+'], case_sensitive_local_parts: false }
    }
}

/// One `[user ADDRESS]` section.
#[derive(Clone, Debug)]
pub struct User {
    /// The login name and the primary address.
    pub address: Address,
    pub password: PasswordHash,
    /// Mailbox size limit in bytes; `None` is unlimited.
    pub quota: Option<u64>,
    /// Extra envelope/From addresses this user may submit as; an entry with
    /// an empty local part (`@example.org`) allows the whole domain.
    pub send_as: Vec<SendAs>,
    /// Line of the section header, for messages.
    pub line: u32,
}

/// An entry of a user's `send_as` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendAs {
    Address(Address),
    /// `@domain`: any address in the domain.
    Domain(String),
}

/// One line of `[aliases]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    pub source: AliasSource,
    /// Local users, other aliases, or external addresses.
    pub targets: Vec<Address>,
    pub line: u32,
}

/// The left-hand side of an alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AliasSource {
    Address(Address),
    /// `@domain`: catch-all for addresses with no user or alias.
    CatchAll(String),
}

impl fmt::Display for AliasSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliasSource::Address(a) => write!(f, "{}", a),
            AliasSource::CatchAll(d) => write!(f, "@{}", d),
        }
    }
}

/// `[listeners]`: which services listen, on which TCP port. `None` is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listeners {
    /// SMTP from other servers (MX), default 25.
    pub smtp: Option<u16>,
    /// Submission with STARTTLS, default 587 (RFC 6409 3.1).
    pub submission: Option<u16>,
    /// Submission over implicit TLS, default 465 (RFC 8314 3.3).
    pub submissions: Option<u16>,
    /// IMAP with STARTTLS, default 143 (RFC 9051).
    pub imap: Option<u16>,
    /// IMAP over implicit TLS, default 993 (RFC 8314 3.3).
    pub imaps: Option<u16>,
    /// ManageSieve, default 4190 (RFC 5804 1.8).
    pub managesieve: Option<u16>,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners {
            smtp: Some(25),
            submission: Some(587),
            submissions: Some(465),
            imap: Some(143),
            imaps: Some(993),
            managesieve: Some(4190),
        }
    }
}

/// `[limits]`. Every buffer and count in the appliance is bounded by one of
/// these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted, bytes (advertised as SIZE, RFC 1870).
    pub message_size: u64,
    /// Recipients per message (RFC 5321 4.5.3.1.8: at least 100).
    pub recipients: u32,
    /// Longest text line in octets including CRLF (RFC 5321 4.5.3.1.6: 1000).
    pub line_length: u32,
    /// Simultaneous connections, all services.
    pub connections: u32,
    /// Simultaneous connections from one client address.
    pub connections_per_ip: u32,
    /// Protocol errors before a session is closed.
    pub errors: u32,
    /// Failed authentications before a session is closed.
    pub auth_failures: u32,
    /// SMTP idle timeout (RFC 5321 4.5.3.2.7: server timeout 5 minutes).
    pub smtp_idle_timeout: Duration,
    /// IMAP idle timeout (RFC 9051 5.4: autologout at least 30 minutes).
    pub imap_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_size: 25 * 1024 * 1024,
            recipients: 100,
            line_length: 1000,
            connections: 100,
            connections_per_ip: 10,
            errors: 10,
            auth_failures: 3,
            smtp_idle_timeout: Duration::from_secs(300),
            imap_idle_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// `[dnsbl]`: postscreen-style weighted DNS lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dnsbl {
    pub sites: Vec<DnsblSite>,
    /// A client whose summed weight reaches this is refused.
    pub threshold: i32,
    /// A client whose summed weight is at or below this skips greylisting
    /// and the other tests; `None` is off.
    pub allowlist_threshold: Option<i32>,
}

impl Default for Dnsbl {
    fn default() -> Self {
        Dnsbl { sites: Vec::new(), threshold: 1, allowlist_threshold: None }
    }
}

/// `[access]`: client address lists, checked before everything else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Always accepted: no DNSBL, no greylisting.
    pub allow: Vec<Cidr>,
    /// Always refused.
    pub deny: Vec<Cidr>,
}

/// `[greylist]`: timings in the spirit of postgrey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Greylist {
    pub enabled: bool,
    /// A retry earlier than this after the first attempt is refused again.
    pub delay: Duration,
    /// A retry later than this after the first attempt starts over.
    pub retry_window: Duration,
    /// How long a passed triplet is remembered after its last use.
    pub expiry: Duration,
    /// After this many passed triplets a client address skips greylisting;
    /// 0 is off.
    pub auto_allow: u32,
}

impl Default for Greylist {
    fn default() -> Self {
        Greylist {
            enabled: true,
            delay: Duration::from_secs(300),
            retry_window: Duration::from_secs(2 * 86400),
            expiry: Duration::from_secs(35 * 86400),
            auto_allow: 5,
        }
    }
}

/// What the screen does when a client fails one of its tests (postscreen's
/// `*_action` parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScreenAction {
    /// Log the failure and carry on as if the test passed.
    Ignore,
    /// Let the session go on but answer every RCPT TO with 550 5.7.1, so the
    /// client's log shows why (postscreen's `enforce`).
    Enforce,
    /// Answer 521 5.7.1 and close the connection at once.
    Drop,
}

impl ScreenAction {
    /// The config spelling.
    pub fn name(self) -> &'static str {
        match self {
            ScreenAction::Ignore => "ignore",
            ScreenAction::Enforce => "enforce",
            ScreenAction::Drop => "drop",
        }
    }
}

/// `[screen]`: postscreen-style tests on port 25 before (pre-greet,
/// DNSBL) and during (pipelining, non-SMTP commands, bare newlines) the
/// SMTP session. Submission ports are never screened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    pub enabled: bool,
    /// How long the `220-` greeting is held before the final `220 `; a client
    /// that talks in this window is an early talker. Zero disables the
    /// pre-greet test (DNSBL lookups then get `dnsbl_wait`).
    pub pregreet_wait: Duration,
    /// How long DNSBL answers are awaited when the pre-greet wait is shorter.
    pub dnsbl_wait: Duration,
    pub pregreet_action: ScreenAction,
    pub dnsbl_action: ScreenAction,
    pub pipelining_action: ScreenAction,
    pub non_smtp_action: ScreenAction,
    pub bare_newline_action: ScreenAction,
    /// How long a client that passed the pre-greet test is remembered.
    pub pass_ttl: Duration,
    /// How long a DNSBL pass is remembered (lists change faster).
    pub dnsbl_ttl: Duration,
}

impl Default for Screen {
    fn default() -> Self {
        Screen {
            enabled: true,
            pregreet_wait: Duration::from_secs(6),
            dnsbl_wait: Duration::from_secs(3),
            pregreet_action: ScreenAction::Enforce,
            dnsbl_action: ScreenAction::Enforce,
            pipelining_action: ScreenAction::Enforce,
            non_smtp_action: ScreenAction::Drop,
            bare_newline_action: ScreenAction::Ignore,
            pass_ttl: Duration::from_secs(86400),
            dnsbl_ttl: Duration::from_secs(3600),
        }
    }
}

/// `[antivirus]`: ClamAV-format signature files scanned over every message
/// received on port 25 and on submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Antivirus {
    pub enabled: bool,
    /// Signature files (`.hdb`, `.hsb`, `.ndb`) on the config disk, or
    /// `builtin:signatures` (the project's own set, EICAR included).
    pub signatures: Vec<FileRef>,
}

impl Default for Antivirus {
    fn default() -> Self {
        Antivirus { enabled: true, signatures: alloc::vec![FileRef::Builtin(Builtin::Signatures)] }
    }
}

/// `[bayes]`: the statistical classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bayes {
    pub enabled: bool,
    /// Messages of each class that must be learned before it votes.
    pub min_learned: u32,
    /// A message scoring at least this (without the Bayes symbols) is learned
    /// as spam automatically; `None` is off.
    pub autolearn_spam: Option<Score>,
    /// A message scoring at most this is learned as ham; `None` is off.
    pub autolearn_ham: Option<Score>,
}

impl Default for Bayes {
    fn default() -> Self {
        Bayes { enabled: true, min_learned: 200, autolearn_spam: Some(Score(1200)), autolearn_ham: Some(Score(-200)) }
    }
}

/// `[stats]`: the metrics endpoint and DMARC report reading.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `ADDRESS:PORT` (or `[V6]:PORT`) for the HTTP metrics endpoint (Prometheus
    /// text format at `/metrics`); `None` is off.
    pub listen: Option<core::net::SocketAddr>,
    /// Configured users allowed to read it with HTTP Basic authentication.
    pub users: Vec<String>,
    /// Local address whose mail is read as DMARC aggregate reports
    /// (the `rua=` of the published DMARC record).
    pub dmarc_reports: Option<String>,
}

/// A filter score in hundredths of a point (`6.5` is 650), so that scores
/// compare exactly without floating point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Score(pub i32);

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{}{}.{:02}", sign, a / 100, a % 100)
    }
}

/// `[filter]`: actions by total spam score (rspamd's action thresholds).
/// `None` disables an action. When set they are non-decreasing in the order
/// add_header <= rewrite_subject <= soft_reject <= reject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterThresholds {
    pub add_header: Option<Score>,
    pub rewrite_subject: Option<Score>,
    pub soft_reject: Option<Score>,
    pub reject: Option<Score>,
    /// Prefix added to the Subject by `rewrite_subject`.
    pub subject_prefix: String,
}

impl Default for FilterThresholds {
    fn default() -> Self {
        FilterThresholds {
            add_header: Some(Score(600)),
            rewrite_subject: None,
            soft_reject: None,
            reject: Some(Score(1500)),
            subject_prefix: String::from("[SPAM]"),
        }
    }
}

/// A file named by the config: a path on the config disk, or one the kernel
/// provides itself (`builtin:NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRef {
    /// Relative path on the config disk (`tls/mail.crt`).
    Path(String),
    Builtin(Builtin),
}

/// Files the kernel generates or embeds rather than reading from disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `builtin:self-signed-cert`: certificate generated at boot for the
    /// hostname (and all SNI names without their own certificate).
    SelfSignedCert,
    /// `builtin:self-signed-key`: its private key.
    SelfSignedKey,
    /// `builtin:dkim-key`: a DKIM key generated at boot for this entry's
    /// algorithm; the kernel prints the DNS record to publish.
    DkimKey,
    /// `builtin:default-sieve`: [`crate::DEFAULT_SYSTEM_SIEVE`].
    DefaultSieve,
    /// `builtin:signatures`: the project's own antivirus signatures.
    Signatures,
}

impl Builtin {
    /// The name after `builtin:`.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::SelfSignedCert => "self-signed-cert",
            Builtin::SelfSignedKey => "self-signed-key",
            Builtin::DkimKey => "dkim-key",
            Builtin::DefaultSieve => "default-sieve",
            Builtin::Signatures => "signatures",
        }
    }
}

/// DKIM signing algorithm (RFC 6376 3.3, RFC 8463).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkimAlgorithm {
    RsaSha256,
    Ed25519Sha256,
}

/// One `[dkim DOMAIN]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKey {
    /// `d=`: the signing domain.
    pub domain: String,
    /// `s=`: the selector (a DNS label).
    pub selector: String,
    pub algorithm: DkimAlgorithm,
    /// PEM private key (PKCS#8) or `builtin:dkim-key`.
    pub key: FileRef,
}

/// A certificate chain and its private key (PEM files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPair {
    pub cert: FileRef,
    pub key: FileRef,
}

/// `[tls]` (default) and `[tls NAME]` (per SNI name, `*.domain` allowed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// Used when no SNI entry matches. `None`: the kernel generates a
    /// self-signed certificate for the hostname.
    pub default: Option<CertPair>,
    /// SNI name (lowercase) → certificate, in file order.
    pub sni: Vec<(String, CertPair)>,
}

impl Tls {
    /// The certificate for an SNI name: exact match, then a `*.` wildcard
    /// for one leftmost label (RFC 6125 6.4.3), then the default.
    pub fn select(&self, sni: Option<&str>) -> Option<&CertPair> {
        if let Some(name) = sni {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some((_, c)) = self.sni.iter().find(|(n, _)| *n == name) {
                return Some(c);
            }
            if let Some((_, parent)) = name.split_once('.') {
                if let Some((_, c)) = self.sni.iter().find(|(n, _)| n.strip_prefix("*.") == Some(parent)) {
                    return Some(c);
                }
            }
        }
        self.default.as_ref()
    }
}

/// `[sieve]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveSettings {
    /// Script run before each user's own (Pigeonhole's `sieve_before`).
    pub system_before: Option<FileRef>,
    /// Largest script a user may upload with ManageSieve, bytes.
    pub max_script_size: u32,
    /// Scripts per user.
    pub max_scripts: u32,
    /// Redirects one script run may make (RFC 5228 4.2 leaves the limit to
    /// the implementation).
    pub max_redirects: u32,
}

impl Default for SieveSettings {
    fn default() -> Self {
        SieveSettings { system_before: None, max_script_size: 64 * 1024, max_scripts: 16, max_redirects: 4 }
    }
}

/// `[srs]`: Sender Rewriting Scheme for forwarded mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Srs {
    /// Domain used in rewritten senders (`SRS0=…@domain`).
    pub domain: String,
    /// File holding the HMAC secret.
    pub secret: FileRef,
}

/// `[queue]`: retry timing of the outbound queue (RFC 5321 4.5.4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// Delay after the first temporary failure (doubles each attempt).
    pub retry_initial: Duration,
    /// Longest delay between two attempts.
    pub retry_max: Duration,
    /// Age after which a still-deferred recipient fails for good.
    pub give_up: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            retry_initial: Duration::from_secs(300),
            retry_max: Duration::from_secs(4 * 3600),
            give_up: Duration::from_secs(5 * 86400),
        }
    }
}
