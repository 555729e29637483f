//! From sections to a validated [`Config`]: every value parsed, every
//! cross-reference checked, and every problem reported (not just the first).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use crate::addr::{parse_domain, Address};
use crate::error::{Error, ErrorKind};
use crate::model::*;
use crate::net::{Cidr, DnsblSite};
use crate::password::{HashLimits, PasswordHash};
use crate::route::Lookup;
use crate::syntax::{self, Entry, Section};

/// Name used in messages for the main file.
pub const CONFIG_FILE: &str = "unimail.conf";
/// Alias expansion depth limit, at parse time and when routing.
pub const MAX_ALIAS_DEPTH: usize = 10;
/// Targets on one alias line.
pub const MAX_ALIAS_TARGETS: usize = 1000;
/// Entries in one list value (`domains`, `allow`, `send_as`, …) across
/// repeated keys.
pub const MAX_LIST_LEN: usize = 10_000;
/// DNSBL/DNSWL sites (each costs a DNS query per connection).
pub const MAX_DNSBL_SITES: usize = 32;
/// Most signature files `[antivirus] signatures` may name.
pub const MAX_SIGNATURE_FILES: usize = 64;

/// How the parser asks whether a referenced file exists. The kernel answers
/// from the config disk; the image tool from a host directory.
pub trait Files {
    /// Whether `path` (relative, `/`-separated, already checked for `..`)
    /// exists and is a regular file.
    fn exists(&self, path: &str) -> bool;
}

impl<F: Fn(&str) -> bool> Files for F {
    fn exists(&self, path: &str) -> bool {
        self(path)
    }
}

/// Parse `unimail.conf` text.
pub fn parse(text: &str, files: &dyn Files) -> Result<Config, Vec<Error>> {
    parse_named(CONFIG_FILE, text, files)
}

/// Parse config text, naming it `file` in errors.
pub fn parse_named(file: &str, text: &str, files: &dyn Files) -> Result<Config, Vec<Error>> {
    let mut p = Parser { file, files, errors: Vec::new() };
    let sections = syntax::split(file, text, &mut p.errors);
    let cfg = p.build(&sections);
    if p.errors.is_empty() {
        Ok(cfg)
    } else {
        // Stable sort: whole-file problems first, then by line.
        p.errors.sort_by_key(|e| e.line.unwrap_or(0));
        Err(p.errors)
    }
}

struct Parser<'a> {
    file: &'a str,
    files: &'a dyn Files,
    errors: Vec<Error>,
}

const SINGLETONS: &[&str] = &[
    "server",
    "addressing",
    "limits",
    "listeners",
    "aliases",
    "dnsbl",
    "access",
    "greylist",
    "queue",
    "filter",
    "screen",
    "antivirus",
    "bayes",
    "stats",
    "sieve",
    "srs",
];

impl<'a> Parser<'a> {
    fn err(&mut self, line: u32, kind: ErrorKind) {
        self.errors.push(Error::new(self.file, Some(line), kind));
    }

    fn bad(&mut self, e: &Entry, expected: &'static str) {
        self.err(e.line, ErrorKind::BadValue { key: e.key.clone(), value: e.value.clone(), expected });
    }

    /// Entries of `sec` whose keys are in `known`, lowercased; reports
    /// unknown keys and duplicates (keys in `repeatable` may repeat and
    /// their values accumulate).
    fn entries<'s>(&mut self, sec: &'s Section, known: &[&str], repeatable: &[&str]) -> Vec<(String, &'s Entry)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for e in &sec.entries {
            let k = e.key.to_ascii_lowercase();
            if !known.contains(&k.as_str()) {
                self.err(e.line, ErrorKind::UnknownKey { section: sec.name.clone(), key: e.key.clone() });
                continue;
            }
            if !repeatable.contains(&k.as_str()) && !seen.insert(k.clone()) {
                self.err(e.line, ErrorKind::DuplicateKey(e.key.clone()));
                continue;
            }
            out.push((k, e));
        }
        out
    }

    fn build(&mut self, sections: &[Section]) -> Config {
        // Sort sections by kind, reporting unknown and duplicate ones.
        let mut single: BTreeMap<&str, &Section> = BTreeMap::new();
        let mut users = Vec::new();
        let mut dkims = Vec::new();
        let mut tlss = Vec::new();
        for s in sections {
            if s.name.is_empty() {
                continue; // bad header, already reported
            }
            if let Some(name) = SINGLETONS.iter().find(|n| **n == s.name) {
                if s.arg.is_some() {
                    self.err(
                        s.line,
                        ErrorKind::SectionArgument { section: s.name.clone(), problem: "takes no argument" },
                    );
                }
                if single.insert(name, s).is_some() {
                    self.err(s.line, ErrorKind::DuplicateSection(s.name.clone()));
                }
                continue;
            }
            match s.name.as_str() {
                "user" => users.push(s),
                "dkim" => dkims.push(s),
                "tls" => tlss.push(s),
                _ => self.err(s.line, ErrorKind::UnknownSection(s.name.clone())),
            }
        }

        let mut cfg = Config {
            hostname: String::new(),
            domains: Vec::new(),
            log_level: LogLevel::Info,
            allow_weak_passwords: false,
            addressing: Addressing::default(),
            users: Vec::new(),
            aliases: Vec::new(),
            listeners: Listeners::default(),
            limits: Limits::default(),
            dnsbl: Dnsbl::default(),
            access: Access::default(),
            greylist: Greylist::default(),
            queue: QueueSettings::default(),
            filter: FilterThresholds::default(),
            screen: Screen::default(),
            antivirus: Antivirus::default(),
            bayes: Bayes::default(),
            stats: Stats::default(),
            dkim: Vec::new(),
            tls: Tls::default(),
            sieve: SieveSettings::default(),
            srs: None,
            hash_limits: HashLimits::default(),
            user_index: BTreeMap::new(),
            alias_index: BTreeMap::new(),
            catchall_index: BTreeMap::new(),
        };

        // Order matters: domains, case rules and hash limits are needed to
        // check users and aliases.
        match single.get("server") {
            Some(s) => self.server(s, &mut cfg),
            None => {
                self.errors.push(Error::new(
                    self.file,
                    None,
                    ErrorKind::MissingKey { section: "server".into(), key: "hostname" },
                ));
                self.errors.push(Error::new(
                    self.file,
                    None,
                    ErrorKind::MissingKey { section: "server".into(), key: "domains" },
                ));
            }
        }
        if let Some(s) = single.get("addressing") {
            self.addressing(s, &mut cfg);
        }
        if let Some(s) = single.get("limits") {
            self.limits(s, &mut cfg);
        }
        if let Some(s) = single.get("listeners") {
            self.listeners(s, &mut cfg);
        }
        for s in users {
            self.user(s, &mut cfg);
        }
        if let Some(s) = single.get("aliases") {
            self.aliases(s, &mut cfg);
        }
        if let Some(s) = single.get("dnsbl") {
            self.dnsbl(s, &mut cfg);
        }
        if let Some(s) = single.get("access") {
            self.access(s, &mut cfg);
        }
        if let Some(s) = single.get("queue") {
            self.queue(s, &mut cfg);
        }
        if let Some(s) = single.get("greylist") {
            self.greylist(s, &mut cfg);
        }
        if let Some(s) = single.get("filter") {
            self.filter(s, &mut cfg);
        }
        if let Some(s) = single.get("screen") {
            self.screen(s, &mut cfg);
        }
        if let Some(s) = single.get("antivirus") {
            self.antivirus(s, &mut cfg);
        }
        if let Some(s) = single.get("bayes") {
            self.bayes(s, &mut cfg);
        }
        if let Some(s) = single.get("stats") {
            self.stats(s, &mut cfg);
        }
        for s in dkims {
            self.dkim(s, &mut cfg);
        }
        for s in tlss {
            self.tls(s, &mut cfg);
        }
        if let Some(s) = single.get("sieve") {
            self.sieve(s, &mut cfg);
        }
        if let Some(s) = single.get("srs") {
            self.srs(s, &mut cfg);
        }
        self.check_aliases(&cfg);
        cfg
    }

    // -- [server] ----------------------------------------------------------

    fn server(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["hostname", "domains", "log_level", "allow_weak_passwords"];
        let mut have_host = false;
        let mut have_domains = false;
        for (k, e) in self.entries(sec, &keys, &["domains"]) {
            match k.as_str() {
                "hostname" => {
                    have_host = true;
                    match parse_domain(&e.value) {
                        Ok(h) => cfg.hostname = h,
                        Err(p) => self.err(e.line, ErrorKind::BadValue { key: k, value: e.value.clone(), expected: p }),
                    }
                }
                "domains" => {
                    have_domains = true;
                    for d in self.list(e) {
                        match parse_domain(d) {
                            Ok(d) if !cfg.domains.contains(&d) => cfg.domains.push(d),
                            Ok(_) => {}
                            Err(p) => self.err(e.line, ErrorKind::BadAddress { value: d.to_string(), problem: p }),
                        }
                    }
                }
                "log_level" => match e.value.to_ascii_lowercase().as_str() {
                    "error" => cfg.log_level = LogLevel::Error,
                    "warn" => cfg.log_level = LogLevel::Warn,
                    "info" => cfg.log_level = LogLevel::Info,
                    "debug" => cfg.log_level = LogLevel::Debug,
                    "trace" => cfg.log_level = LogLevel::Trace,
                    _ => self.bad(e, "error, warn, info, debug or trace"),
                },
                "allow_weak_passwords" => {
                    if let Some(b) = self.boolean(e) {
                        cfg.allow_weak_passwords = b;
                    }
                }
                _ => unreachable!(),
            }
        }
        if !have_host {
            self.err(sec.line, ErrorKind::MissingKey { section: "server".into(), key: "hostname" });
        }
        if !have_domains {
            self.err(sec.line, ErrorKind::MissingKey { section: "server".into(), key: "domains" });
        }
    }

    // -- [addressing] --------------------------------------------------------

    fn addressing(&mut self, sec: &Section, cfg: &mut Config) {
        for (k, e) in self.entries(sec, &["detail_separator", "case_sensitive_local_parts"], &[]) {
            match k.as_str() {
                "detail_separator" => {
                    let v = e.value.as_str();
                    if v.eq_ignore_ascii_case("none") || v.eq_ignore_ascii_case("off") {
                        cfg.addressing.detail_separators.clear();
                    } else if !v.is_empty() && v.len() <= 8 && v.bytes().all(|c| b"+-_=~!%&*^|$".contains(&c)) {
                        cfg.addressing.detail_separators = v.chars().collect();
                    } else {
                        self.bad(e, "'none' or up to 8 of the characters + - _ = ~ ! % & * ^ | $");
                    }
                }
                "case_sensitive_local_parts" => {
                    if let Some(b) = self.boolean(e) {
                        cfg.addressing.case_sensitive_local_parts = b;
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    // -- [limits] ----------------------------------------------------------

    fn limits(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = [
            "message_size",
            "recipients",
            "line_length",
            "connections",
            "connections_per_ip",
            "errors",
            "auth_failures",
            "smtp_idle_timeout",
            "imap_idle_timeout",
            "password_max_memory",
        ];
        let l = &mut cfg.limits;
        let mut per_ip_line = None;
        for (k, e) in self.entries(sec, &keys, &[]) {
            match k.as_str() {
                "message_size" => {
                    if let Some(v) = self.size(e, 1024, 1 << 30) {
                        l.message_size = v;
                    }
                }
                "recipients" => {
                    if let Some(v) = self.number(e, 1, 100_000) {
                        l.recipients = v;
                    }
                }
                "line_length" => {
                    if let Some(v) = self.number(e, 1000, 65536) {
                        l.line_length = v;
                    }
                }
                "connections" => {
                    if let Some(v) = self.number(e, 1, 100_000) {
                        l.connections = v;
                    }
                }
                "connections_per_ip" => {
                    if let Some(v) = self.number(e, 1, 100_000) {
                        l.connections_per_ip = v;
                        per_ip_line = Some(e.line);
                    }
                }
                "errors" => {
                    if let Some(v) = self.number(e, 1, 1000) {
                        l.errors = v;
                    }
                }
                "auth_failures" => {
                    if let Some(v) = self.number(e, 1, 100) {
                        l.auth_failures = v;
                    }
                }
                "smtp_idle_timeout" => {
                    if let Some(v) = self.duration(e, 10, 86400) {
                        l.smtp_idle_timeout = v;
                    }
                }
                "imap_idle_timeout" => {
                    if let Some(v) = self.duration(e, 10, 86400) {
                        l.imap_idle_timeout = v;
                    }
                }
                "password_max_memory" => {
                    if let Some(v) = self.size(e, 64 * 1024, 1 << 30) {
                        cfg.hash_limits.argon2_max_memory_kib = (v / 1024) as u32;
                    }
                }
                _ => unreachable!(),
            }
        }
        if let Some(line) = per_ip_line {
            if l.connections_per_ip > l.connections {
                self.err(line, ErrorKind::Conflict("connections_per_ip is larger than connections".into()));
            }
        }
    }

    // -- [listeners] -------------------------------------------------------

    fn listeners(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["smtp", "submission", "submissions", "imap", "imaps", "managesieve"];
        let mut used: BTreeMap<u16, String> = BTreeMap::new();
        let mut l = Listeners::default();
        let defaults = Listeners::default();
        let mut lines = BTreeMap::new();
        for (k, e) in self.entries(sec, &keys, &[]) {
            let (slot, default) = match k.as_str() {
                "smtp" => (&mut l.smtp, defaults.smtp),
                "submission" => (&mut l.submission, defaults.submission),
                "submissions" => (&mut l.submissions, defaults.submissions),
                "imap" => (&mut l.imap, defaults.imap),
                "imaps" => (&mut l.imaps, defaults.imaps),
                "managesieve" => (&mut l.managesieve, defaults.managesieve),
                _ => unreachable!(),
            };
            let v = e.value.to_ascii_lowercase();
            *slot = match v.as_str() {
                "on" | "yes" | "true" => default,
                "off" | "no" | "false" => None,
                _ => match v.parse::<u16>() {
                    Ok(p) if p > 0 && v.bytes().all(|c| c.is_ascii_digit()) => Some(p),
                    _ => {
                        self.bad(e, "on, off, or a TCP port 1..65535");
                        continue;
                    }
                },
            };
            lines.insert(k, e.line);
        }
        let all = [
            ("smtp", l.smtp),
            ("submission", l.submission),
            ("submissions", l.submissions),
            ("imap", l.imap),
            ("imaps", l.imaps),
            ("managesieve", l.managesieve),
        ];
        for (name, port) in all {
            if let Some(p) = port {
                if let Some(other) = used.insert(p, name.to_string()) {
                    let line = lines.get(name).or_else(|| lines.get(other.as_str())).copied().unwrap_or(sec.line);
                    self.err(line, ErrorKind::Conflict(format!("{} and {} both use port {}", other, name, p)));
                }
            }
        }
        cfg.listeners = l;
    }

    // -- [user ADDRESS] ------------------------------------------------------

    fn user(&mut self, sec: &Section, cfg: &mut Config) {
        let Some(arg) = &sec.arg else {
            self.err(
                sec.line,
                ErrorKind::SectionArgument { section: "user".into(), problem: "needs an address: [user name@domain]" },
            );
            return;
        };
        let address = match Address::parse(arg) {
            Ok(a) => Some(a),
            Err(p) => {
                self.err(sec.line, ErrorKind::BadAddress { value: arg.clone(), problem: p });
                None
            }
        };
        let mut password = None;
        let mut quota = None;
        let mut send_as = Vec::new();
        for (k, e) in self.entries(sec, &["password", "quota", "send_as"], &["send_as"]) {
            match k.as_str() {
                "password" => match PasswordHash::parse(&e.value, &cfg.hash_limits) {
                    Ok(h) if h.is_weak() && !cfg.allow_weak_passwords => {
                        self.err(e.line, ErrorKind::WeakPasswordHash(h.scheme().name()))
                    }
                    Ok(h) => password = Some(h),
                    Err(he) => self.err(e.line, ErrorKind::BadPasswordHash(he)),
                },
                "quota" => {
                    let v = e.value.to_ascii_lowercase();
                    if v == "unlimited" || v == "off" || v == "none" {
                        quota = None;
                    } else if let Some(q) = self.size(e, 1024 * 1024, u64::MAX) {
                        quota = Some(q);
                    }
                }
                "send_as" => {
                    for item in self.list(e) {
                        if let Some(d) = item.strip_prefix('@') {
                            match parse_domain(d) {
                                Ok(d) => send_as.push(SendAs::Domain(d)),
                                Err(p) => self.err(e.line, ErrorKind::BadAddress { value: item.into(), problem: p }),
                            }
                        } else {
                            match Address::parse(item) {
                                Ok(a) => send_as.push(SendAs::Address(a)),
                                Err(p) => self.err(e.line, ErrorKind::BadAddress { value: item.into(), problem: p }),
                            }
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        let Some(address) = address else { return };
        if !cfg.domains.is_empty() && !cfg.domains.iter().any(|d| d == address.domain()) {
            self.err(sec.line, ErrorKind::NotLocalDomain(address.to_string()));
        }
        let Some(password) = password else {
            if !sec.entries.iter().any(|e| e.key.eq_ignore_ascii_case("password")) {
                self.err(sec.line, ErrorKind::MissingKey { section: format!("user {}", address), key: "password" });
            }
            return;
        };
        let key = cfg.key_of(&address);
        if cfg.user_index.contains_key(&key) {
            self.err(sec.line, ErrorKind::DuplicateUser(address.to_string()));
            return;
        }
        cfg.user_index.insert(key, cfg.users.len());
        cfg.users.push(User { address, password, quota, send_as, line: sec.line });
    }

    // -- [aliases] ---------------------------------------------------------

    fn aliases(&mut self, sec: &Section, cfg: &mut Config) {
        for e in &sec.entries {
            let source = if let Some(d) = e.key.strip_prefix('@') {
                match parse_domain(d) {
                    Ok(d) => AliasSource::CatchAll(d),
                    Err(p) => {
                        self.err(e.line, ErrorKind::BadAddress { value: e.key.clone(), problem: p });
                        continue;
                    }
                }
            } else {
                match Address::parse(&e.key) {
                    Ok(a) => AliasSource::Address(a),
                    Err(p) => {
                        self.err(e.line, ErrorKind::BadAddress { value: e.key.clone(), problem: p });
                        continue;
                    }
                }
            };
            let domain = match &source {
                AliasSource::Address(a) => a.domain().to_string(),
                AliasSource::CatchAll(d) => d.clone(),
            };
            let mut ok = true;
            if !cfg.domains.is_empty() && !cfg.domains.contains(&domain) {
                self.err(e.line, ErrorKind::NotLocalDomain(source.to_string()));
                ok = false;
            }
            let mut targets = Vec::new();
            let items = self.list(e);
            if items.is_empty() {
                self.bad(e, "one or more addresses");
                ok = false;
            }
            if items.len() > MAX_ALIAS_TARGETS {
                self.bad(e, "at most 1000 addresses");
                ok = false;
            }
            for item in items {
                match Address::parse(item) {
                    Ok(a) if !targets.contains(&a) => targets.push(a),
                    Ok(_) => {}
                    Err(p) => {
                        self.err(e.line, ErrorKind::BadAddress { value: item.into(), problem: p });
                        ok = false;
                    }
                }
            }
            let (index_is_catchall, key) = match &source {
                AliasSource::Address(a) => (false, cfg.key_of(a)),
                AliasSource::CatchAll(d) => (true, d.clone()),
            };
            let index = if index_is_catchall { &cfg.catchall_index } else { &cfg.alias_index };
            if index.contains_key(&key) {
                self.err(e.line, ErrorKind::DuplicateAlias(source.to_string()));
                continue;
            }
            if !index_is_catchall && cfg.user_index.contains_key(&key) {
                self.err(e.line, ErrorKind::AliasShadowsUser(source.to_string()));
                continue;
            }
            if !ok {
                continue;
            }
            let i = cfg.aliases.len();
            if index_is_catchall {
                cfg.catchall_index.insert(key, i);
            } else {
                cfg.alias_index.insert(key, i);
            }
            cfg.aliases.push(Alias { source, targets, line: e.line });
        }
    }

    /// Every local target must name a user or an alias (after removing a
    /// `+detail`), and no expansion may loop or nest too deep.
    fn check_aliases(&mut self, cfg: &Config) {
        for alias in &cfg.aliases {
            for t in &alias.targets {
                if cfg.is_local_domain(t.domain()) && cfg.lookup_exact_or_base(t).is_none() {
                    self.err(
                        alias.line,
                        ErrorKind::AliasUnknownLocal { alias: alias.source.to_string(), target: t.to_string() },
                    );
                }
            }
        }
        for (i, alias) in cfg.aliases.iter().enumerate() {
            let mut path = Vec::new();
            if let Some(kind) = self.walk(cfg, i, &mut path) {
                self.err(alias.line, kind);
            }
        }
    }

    /// Depth-first walk from alias `i`; returns the first loop or depth
    /// problem found.
    fn walk(&self, cfg: &Config, i: usize, path: &mut Vec<usize>) -> Option<ErrorKind> {
        if let Some(pos) = path.iter().position(|&p| p == i) {
            let mut chain: Vec<String> = path[pos..].iter().map(|&p| cfg.aliases[p].source.to_string()).collect();
            chain.push(cfg.aliases[i].source.to_string());
            return Some(ErrorKind::AliasLoop(chain.join(" -> ")));
        }
        if path.len() >= MAX_ALIAS_DEPTH {
            return Some(ErrorKind::AliasTooDeep {
                alias: cfg.aliases[path[0]].source.to_string(),
                limit: MAX_ALIAS_DEPTH,
            });
        }
        path.push(i);
        for t in &cfg.aliases[i].targets {
            if let Some(Lookup::Alias(j)) = cfg.lookup_exact_or_base(t) {
                if let Some(k) = self.walk(cfg, j, path) {
                    return Some(k);
                }
            }
        }
        path.pop();
        None
    }

    // -- [dnsbl] / [access] --------------------------------------------------

    fn dnsbl(&mut self, sec: &Section, cfg: &mut Config) {
        for (k, e) in self.entries(sec, &["sites", "threshold", "allowlist_threshold"], &["sites"]) {
            match k.as_str() {
                "sites" => {
                    for item in self.list(e) {
                        match DnsblSite::parse(item) {
                            Ok(s) if cfg.dnsbl.sites.len() < MAX_DNSBL_SITES => cfg.dnsbl.sites.push(s),
                            Ok(_) => self.bad(e, "at most 32 sites"),
                            Err(p) => self
                                .err(e.line, ErrorKind::BadValue { key: k.clone(), value: item.into(), expected: p }),
                        }
                    }
                }
                "threshold" => {
                    if let Some(v) = self.int(e) {
                        cfg.dnsbl.threshold = v;
                    }
                }
                "allowlist_threshold" => {
                    if e.value.eq_ignore_ascii_case("off") {
                        cfg.dnsbl.allowlist_threshold = None;
                    } else if let Some(v) = self.int(e) {
                        cfg.dnsbl.allowlist_threshold = Some(v);
                    }
                }
                _ => unreachable!(),
            }
        }
        if let Some(a) = cfg.dnsbl.allowlist_threshold {
            if a >= cfg.dnsbl.threshold {
                self.err(sec.line, ErrorKind::Conflict("allowlist_threshold must be below threshold".into()));
            }
        }
    }

    fn access(&mut self, sec: &Section, cfg: &mut Config) {
        for (k, e) in self.entries(sec, &["allow", "deny"], &["allow", "deny"]) {
            for item in self.list(e) {
                match Cidr::parse(item) {
                    Ok(c) => {
                        let list = if k == "allow" { &mut cfg.access.allow } else { &mut cfg.access.deny };
                        if list.len() >= MAX_LIST_LEN {
                            self.bad(e, "at most 10000 entries");
                            break;
                        }
                        list.push(c);
                    }
                    Err(p) => self.err(e.line, ErrorKind::BadCidr { value: item.into(), problem: p }),
                }
            }
        }
    }

    // -- [greylist] / [filter] ---------------------------------------------

    fn greylist(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["enabled", "delay", "retry_window", "expiry", "auto_allow"];
        let g = &mut cfg.greylist;
        for (k, e) in self.entries(sec, &keys, &[]) {
            match k.as_str() {
                "enabled" => {
                    if let Some(b) = self.boolean(e) {
                        g.enabled = b;
                    }
                }
                "delay" => {
                    if let Some(d) = self.duration(e, 0, 86400) {
                        g.delay = d;
                    }
                }
                "retry_window" => {
                    if let Some(d) = self.duration(e, 60, 30 * 86400) {
                        g.retry_window = d;
                    }
                }
                "expiry" => {
                    if let Some(d) = self.duration(e, 3600, 400 * 86400) {
                        g.expiry = d;
                    }
                }
                "auto_allow" => {
                    if let Some(n) = self.number(e, 0, 1000) {
                        g.auto_allow = n;
                    }
                }
                _ => unreachable!(),
            }
        }
        if g.delay >= g.retry_window {
            self.err(sec.line, ErrorKind::Conflict("greylist delay must be shorter than retry_window".into()));
        }
    }

    // -- [screen] / [antivirus] / [bayes] / [stats] -------------------------

    fn screen_action(&mut self, e: &Entry) -> Option<ScreenAction> {
        match e.value.to_ascii_lowercase().as_str() {
            "ignore" => Some(ScreenAction::Ignore),
            "enforce" => Some(ScreenAction::Enforce),
            "drop" => Some(ScreenAction::Drop),
            _ => {
                self.bad(e, "ignore, enforce or drop");
                None
            }
        }
    }

    fn screen(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = [
            "enabled",
            "pregreet_wait",
            "dnsbl_wait",
            "pregreet_action",
            "dnsbl_action",
            "pipelining_action",
            "non_smtp_action",
            "bare_newline_action",
            "pass_ttl",
            "dnsbl_ttl",
        ];
        for (k, e) in self.entries(sec, &keys, &[]) {
            let action_slot = match k.as_str() {
                "enabled" => {
                    if let Some(b) = self.boolean(e) {
                        cfg.screen.enabled = b;
                    }
                    continue;
                }
                "pregreet_wait" | "dnsbl_wait" => {
                    if let Some(d) = self.duration(e, 0, 60) {
                        if k == "pregreet_wait" {
                            cfg.screen.pregreet_wait = d;
                        } else {
                            cfg.screen.dnsbl_wait = d;
                        }
                    }
                    continue;
                }
                "pass_ttl" | "dnsbl_ttl" => {
                    if let Some(d) = self.duration(e, 0, 400 * 86400) {
                        if k == "pass_ttl" {
                            cfg.screen.pass_ttl = d;
                        } else {
                            cfg.screen.dnsbl_ttl = d;
                        }
                    }
                    continue;
                }
                "pregreet_action" => &mut cfg.screen.pregreet_action,
                "dnsbl_action" => &mut cfg.screen.dnsbl_action,
                "pipelining_action" => &mut cfg.screen.pipelining_action,
                "non_smtp_action" => &mut cfg.screen.non_smtp_action,
                "bare_newline_action" => &mut cfg.screen.bare_newline_action,
                _ => unreachable!(),
            };
            if let Some(v) = self.screen_action(e) {
                *action_slot = v;
            }
        }
    }

    fn antivirus(&mut self, sec: &Section, cfg: &mut Config) {
        let mut sigs = Vec::new();
        let mut named = false;
        for (k, e) in self.entries(sec, &["enabled", "signatures"], &["signatures"]) {
            match k.as_str() {
                "enabled" => {
                    if let Some(b) = self.boolean(e) {
                        cfg.antivirus.enabled = b;
                    }
                }
                "signatures" => {
                    named = true;
                    for item in self.list(e) {
                        let one = Entry { key: e.key.clone(), value: item.into(), line: e.line };
                        if let Some(f) = self.file_ref(&one, &[Builtin::Signatures]) {
                            if sigs.len() >= MAX_SIGNATURE_FILES {
                                self.bad(e, "at most 64 signature files");
                                break;
                            }
                            if let FileRef::Path(p) = &f {
                                const KINDS: [&str; 8] =
                                    [".hdb", ".hsb", ".ndb", ".ldb", ".hdu", ".hsu", ".ndu", ".ldu"];
                                if !KINDS.iter().any(|x| p.ends_with(x)) {
                                    self.bad(&one, "a .hdb, .hsb, .ndb or .ldb file (or .hdu/.hsu/.ndu/.ldu), or builtin:signatures");
                                    continue;
                                }
                            }
                            sigs.push(f);
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        if named {
            cfg.antivirus.signatures = sigs;
        }
    }

    fn bayes(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["enabled", "min_learned", "autolearn_spam", "autolearn_ham"];
        for (k, e) in self.entries(sec, &keys, &[]) {
            match k.as_str() {
                "enabled" => {
                    if let Some(b) = self.boolean(e) {
                        cfg.bayes.enabled = b;
                    }
                }
                "min_learned" => {
                    if let Some(n) = self.number(e, 1, 1_000_000) {
                        cfg.bayes.min_learned = n;
                    }
                }
                "autolearn_spam" | "autolearn_ham" => {
                    let v =
                        if e.value.eq_ignore_ascii_case("off") { Some(None) } else { parse_score(&e.value).map(Some) };
                    match v {
                        Some(v) if k == "autolearn_spam" => cfg.bayes.autolearn_spam = v,
                        Some(v) => cfg.bayes.autolearn_ham = v,
                        None => self.bad(e, "a score like 12 or -2.5, or off"),
                    }
                }
                _ => unreachable!(),
            }
        }
        if let (Some(s), Some(h)) = (cfg.bayes.autolearn_spam, cfg.bayes.autolearn_ham) {
            if h >= s {
                self.err(
                    sec.line,
                    ErrorKind::Conflict(format!("autolearn_ham ({}) must be below autolearn_spam ({})", h, s)),
                );
            }
        }
    }

    fn stats(&mut self, sec: &Section, cfg: &mut Config) {
        for (k, e) in self.entries(sec, &["listen", "users", "dmarc_reports"], &[]) {
            match k.as_str() {
                "listen" => match e.value.parse::<core::net::SocketAddr>() {
                    Ok(a) if a.port() != 0 => cfg.stats.listen = Some(a),
                    _ => self.bad(e, "ADDRESS:PORT, e.g. 192.0.2.10:9100 or [2001:db8::10]:9100"),
                },
                "users" => {
                    for item in self.list(e) {
                        match cfg.user(item) {
                            Some(u) => cfg.stats.users.push(u.address.to_string()),
                            None => self.bad(e, "logins of users defined in this file"),
                        }
                    }
                }
                "dmarc_reports" => match Address::parse(&e.value) {
                    Ok(a) => {
                        if cfg.resolve(&a.to_string()).is_err() {
                            self.bad(e, "a local address that receives mail (a user or an alias)");
                        } else {
                            cfg.stats.dmarc_reports = Some(a.to_string());
                        }
                    }
                    Err(p) => self.err(e.line, ErrorKind::BadAddress { value: e.value.clone(), problem: p }),
                },
                _ => unreachable!(),
            }
        }
        if cfg.stats.listen.is_some() && cfg.stats.users.is_empty() {
            self.err(sec.line, ErrorKind::Conflict("[stats] listen needs users allowed to read it".into()));
        }
    }

    fn queue(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["retry_initial", "retry_max", "give_up"];
        let q = &mut cfg.queue;
        for (k, e) in self.entries(sec, &keys, &[]) {
            match k.as_str() {
                "retry_initial" => {
                    if let Some(d) = self.duration(e, 1, 86400) {
                        q.retry_initial = d;
                    }
                }
                "retry_max" => {
                    if let Some(d) = self.duration(e, 1, 7 * 86400) {
                        q.retry_max = d;
                    }
                }
                "give_up" => {
                    if let Some(d) = self.duration(e, 60, 30 * 86400) {
                        q.give_up = d;
                    }
                }
                _ => unreachable!(),
            }
        }
        if q.retry_initial > q.retry_max {
            self.err(sec.line, ErrorKind::Conflict("queue retry_initial must not exceed retry_max".into()));
        }
    }

    fn filter(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["add_header", "rewrite_subject", "soft_reject", "reject", "subject_prefix"];
        let f = &mut cfg.filter;
        for (k, e) in self.entries(sec, &keys, &[]) {
            let slot = match k.as_str() {
                "add_header" => &mut f.add_header,
                "rewrite_subject" => &mut f.rewrite_subject,
                "soft_reject" => &mut f.soft_reject,
                "reject" => &mut f.reject,
                "subject_prefix" => {
                    if e.value.is_empty() || e.value.len() > 64 || e.value.chars().any(|c| c.is_control()) {
                        self.bad(e, "1-64 printable characters");
                    } else {
                        f.subject_prefix = e.value.clone();
                    }
                    continue;
                }
                _ => unreachable!(),
            };
            if e.value.eq_ignore_ascii_case("off") {
                *slot = None;
            } else {
                match parse_score(&e.value) {
                    Some(s) => *slot = Some(s),
                    None => {
                        let (key, value) = (e.key.clone(), e.value.clone());
                        self.err(e.line, ErrorKind::BadValue { key, value, expected: "a score like 6 or 7.5, or off" });
                    }
                }
            }
        }
        let order = [
            ("add_header", f.add_header),
            ("rewrite_subject", f.rewrite_subject),
            ("soft_reject", f.soft_reject),
            ("reject", f.reject),
        ];
        let mut prev: Option<(&str, Score)> = None;
        for (name, v) in order {
            if let Some(v) = v {
                if let Some((pn, pv)) = prev {
                    if v < pv {
                        self.err(sec.line, ErrorKind::Conflict(format!("{} ({}) is below {} ({})", name, v, pn, pv)));
                    }
                }
                prev = Some((name, v));
            }
        }
    }

    // -- [dkim DOMAIN] / [tls NAME] / [sieve] / [srs] ----------------------

    fn dkim(&mut self, sec: &Section, cfg: &mut Config) {
        let domain = match &sec.arg {
            None => {
                self.err(
                    sec.line,
                    ErrorKind::SectionArgument {
                        section: "dkim".into(),
                        problem: "needs a domain: [dkim example.org]",
                    },
                );
                None
            }
            Some(a) => match parse_domain(a) {
                Ok(d) => Some(d),
                Err(p) => {
                    self.err(sec.line, ErrorKind::BadAddress { value: a.clone(), problem: p });
                    None
                }
            },
        };
        let (mut selector, mut algorithm, mut key) = (None, Some(DkimAlgorithm::RsaSha256), None);
        for (k, e) in self.entries(sec, &["selector", "algorithm", "key"], &[]) {
            match k.as_str() {
                "selector" => {
                    // RFC 6376 3.1: selector is sub-domain syntax.
                    match parse_domain(&e.value) {
                        Ok(s) => selector = Some(s),
                        Err(_) => self.bad(e, "a DNS label such as mail2026"),
                    }
                }
                "algorithm" => {
                    algorithm = match e.value.to_ascii_lowercase().as_str() {
                        "rsa-sha256" => Some(DkimAlgorithm::RsaSha256),
                        "ed25519-sha256" => Some(DkimAlgorithm::Ed25519Sha256),
                        _ => {
                            self.bad(e, "rsa-sha256 or ed25519-sha256");
                            None
                        }
                    }
                }
                "key" => key = self.file_ref(e, &[Builtin::DkimKey]),
                _ => unreachable!(),
            }
        }
        let has = |k: &str| sec.entries.iter().any(|e| e.key.eq_ignore_ascii_case(k));
        for req in ["selector", "key"] {
            if !has(req) {
                self.err(
                    sec.line,
                    ErrorKind::MissingKey {
                        section: "dkim".into(),
                        key: if req == "key" { "key" } else { "selector" },
                    },
                );
            }
        }
        if let (Some(domain), Some(selector), Some(algorithm), Some(key)) = (domain, selector, algorithm, key) {
            if cfg.dkim.iter().any(|d| d.domain == domain && d.selector == selector) {
                self.err(sec.line, ErrorKind::DuplicateSection(format!("dkim {} selector {}", domain, selector)));
                return;
            }
            cfg.dkim.push(DkimKey { domain, selector, algorithm, key });
        }
    }

    fn tls(&mut self, sec: &Section, cfg: &mut Config) {
        let name = match &sec.arg {
            None => None,
            Some(a) => {
                let (wild, rest) = match a.strip_prefix("*.") {
                    Some(r) => (true, r),
                    None => (false, a.as_str()),
                };
                match parse_domain(rest) {
                    Ok(d) => Some(if wild { format!("*.{}", d) } else { d }),
                    Err(p) => {
                        self.err(sec.line, ErrorKind::BadAddress { value: a.clone(), problem: p });
                        return;
                    }
                }
            }
        };
        let (mut cert, mut key) = (None, None);
        for (k, e) in self.entries(sec, &["cert", "key"], &[]) {
            match k.as_str() {
                "cert" => cert = self.file_ref(e, &[Builtin::SelfSignedCert]).map(|f| (f, e.line)),
                "key" => key = self.file_ref(e, &[Builtin::SelfSignedKey]).map(|f| (f, e.line)),
                _ => unreachable!(),
            }
        }
        let has = |k: &str| sec.entries.iter().any(|e| e.key.eq_ignore_ascii_case(k));
        let title = match &name {
            Some(n) => format!("tls {}", n),
            None => "tls".to_string(),
        };
        if !has("cert") {
            self.err(sec.line, ErrorKind::MissingKey { section: title.clone(), key: "cert" });
        }
        if !has("key") {
            self.err(sec.line, ErrorKind::MissingKey { section: title.clone(), key: "key" });
        }
        let (Some((cert, cl)), Some((key, _))) = (cert, key) else { return };
        let builtin_cert = cert == FileRef::Builtin(Builtin::SelfSignedCert);
        let builtin_key = key == FileRef::Builtin(Builtin::SelfSignedKey);
        if builtin_cert != builtin_key {
            self.err(
                cl,
                ErrorKind::Conflict("builtin:self-signed-cert and builtin:self-signed-key go together".into()),
            );
            return;
        }
        let pair = CertPair { cert, key };
        match name {
            None => {
                if cfg.tls.default.is_some() {
                    self.err(sec.line, ErrorKind::DuplicateSection(title));
                } else {
                    cfg.tls.default = Some(pair);
                }
            }
            Some(n) => {
                if cfg.tls.sni.iter().any(|(m, _)| *m == n) {
                    self.err(sec.line, ErrorKind::DuplicateSection(title));
                } else {
                    cfg.tls.sni.push((n, pair));
                }
            }
        }
    }

    fn sieve(&mut self, sec: &Section, cfg: &mut Config) {
        let keys = ["system_before", "max_script_size", "max_scripts", "max_redirects"];
        for (k, e) in self.entries(sec, &keys, &[]) {
            match k.as_str() {
                "system_before" => cfg.sieve.system_before = self.file_ref(e, &[Builtin::DefaultSieve]),
                "max_script_size" => {
                    if let Some(v) = self.size(e, 1024, 1 << 20) {
                        cfg.sieve.max_script_size = v as u32;
                    }
                }
                "max_scripts" => {
                    if let Some(v) = self.number(e, 1, 1000) {
                        cfg.sieve.max_scripts = v;
                    }
                }
                "max_redirects" => {
                    if let Some(v) = self.number(e, 0, 100) {
                        cfg.sieve.max_redirects = v;
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    fn srs(&mut self, sec: &Section, cfg: &mut Config) {
        let (mut domain, mut secret) = (None, None);
        for (k, e) in self.entries(sec, &["domain", "secret"], &[]) {
            match k.as_str() {
                "domain" => match parse_domain(&e.value) {
                    Ok(d) => domain = Some(d),
                    Err(p) => self.err(e.line, ErrorKind::BadAddress { value: e.value.clone(), problem: p }),
                },
                "secret" => secret = self.file_ref(e, &[]),
                _ => unreachable!(),
            }
        }
        let has = |k: &str| sec.entries.iter().any(|e| e.key.eq_ignore_ascii_case(k));
        if !has("domain") {
            self.err(sec.line, ErrorKind::MissingKey { section: "srs".into(), key: "domain" });
        }
        if !has("secret") {
            self.err(sec.line, ErrorKind::MissingKey { section: "srs".into(), key: "secret" });
        }
        if let (Some(domain), Some(secret)) = (domain, secret) {
            cfg.srs = Some(Srs { domain, secret });
        }
    }

    // -- value parsers ---------------------------------------------------------

    fn list<'e>(&mut self, e: &'e Entry) -> Vec<&'e str> {
        let items: Vec<&str> =
            e.value.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|s| !s.is_empty()).collect();
        if items.len() > MAX_LIST_LEN {
            self.bad(e, "at most 10000 list items");
            return Vec::new();
        }
        items
    }

    fn boolean(&mut self, e: &Entry) -> Option<bool> {
        match e.value.to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" => Some(true),
            "no" | "off" | "false" => Some(false),
            _ => {
                self.bad(e, "yes or no");
                None
            }
        }
    }

    fn number(&mut self, e: &Entry, min: u32, max: u32) -> Option<u32> {
        match parse_u64(&e.value) {
            Some(v) if v >= min as u64 && v <= max as u64 => Some(v as u32),
            _ => {
                self.bad(e, "a whole number within the allowed range (see CONFIG.md)");
                None
            }
        }
    }

    fn int(&mut self, e: &Entry) -> Option<i32> {
        match e.value.parse::<i32>() {
            Ok(v) if (-10_000..=10_000).contains(&v) => Some(v),
            _ => {
                self.bad(e, "a whole number -10000..10000");
                None
            }
        }
    }

    fn size(&mut self, e: &Entry, min: u64, max: u64) -> Option<u64> {
        match parse_size(&e.value) {
            Some(v) if v >= min && v <= max => Some(v),
            _ => {
                self.bad(e, "a size like 512K, 25M or 1G within the allowed range");
                None
            }
        }
    }

    fn duration(&mut self, e: &Entry, min_s: u64, max_s: u64) -> Option<Duration> {
        match parse_duration(&e.value) {
            Some(d) if d.as_secs() >= min_s && d.as_secs() <= max_s => Some(d),
            _ => {
                self.bad(e, "a duration like 30s, 5m, 2h or 35d within the allowed range");
                None
            }
        }
    }

    /// A file reference: `builtin:NAME` (only the names in `builtins`) or a
    /// relative path on the config disk, which must exist.
    fn file_ref(&mut self, e: &Entry, builtins: &[Builtin]) -> Option<FileRef> {
        if let Some(name) = e.value.strip_prefix("builtin:") {
            return match builtins.iter().find(|b| b.name() == name) {
                Some(b) => Some(FileRef::Builtin(*b)),
                None => {
                    self.bad(e, "a file path, or a builtin: name valid for this key (see CONFIG.md)");
                    None
                }
            };
        }
        match check_path(&e.value) {
            Err(p) => {
                self.bad(e, p);
                None
            }
            Ok(()) => {
                if !self.files.exists(&e.value) {
                    self.err(e.line, ErrorKind::MissingFile(e.value.clone()));
                    None
                } else {
                    Some(FileRef::Path(e.value.clone()))
                }
            }
        }
    }
}

/// Paths are relative to the config disk's root, `/`-separated, made of
/// `A-Za-z0-9._-` components, none of them `.` or `..`.
fn check_path(p: &str) -> Result<(), &'static str> {
    if p.is_empty() || p.len() > 255 {
        return Err("a relative path of 1-255 characters");
    }
    for c in p.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return Err("a relative path without empty, '.' or '..' components");
        }
        if !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
            return Err("a path made of letters, digits, '.', '_', '-' and '/'");
        }
    }
    Ok(())
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `123`, `512K`, `25M`, `1G`, `1T` (binary multiples; a trailing `B` or
/// `iB` is allowed).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let t = lower.strip_suffix("ib").or_else(|| lower.strip_suffix('b')).unwrap_or(&lower);
    let (num, mul) = match t.as_bytes().last()? {
        b'k' => (&t[..t.len() - 1], 1u64 << 10),
        b'm' => (&t[..t.len() - 1], 1 << 20),
        b'g' => (&t[..t.len() - 1], 1 << 30),
        b't' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    parse_u64(num)?.checked_mul(mul)
}

/// `90` (seconds), `30s`, `5m`, `2h`, `35d`, `1w`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mul) = match s.as_bytes().last()? {
        b's' => (&s[..s.len() - 1], 1u64),
        b'm' => (&s[..s.len() - 1], 60),
        b'h' => (&s[..s.len() - 1], 3600),
        b'd' => (&s[..s.len() - 1], 86400),
        b'w' => (&s[..s.len() - 1], 7 * 86400),
        _ => (s.as_str(), 1),
    };
    Some(Duration::from_secs(parse_u64(num)?.checked_mul(mul)?))
}

/// `6`, `7.5`, `-2.25` → hundredths.
pub fn parse_score(s: &str) -> Option<Score> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if frac.len() > 2 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let i = parse_u64(int)?;
    if i > 100_000 {
        return None;
    }
    let mut f = if frac.is_empty() { 0 } else { parse_u64(frac)? };
    if frac.len() == 1 {
        f *= 10;
    }
    let v = (i * 100 + f) as i32;
    Some(Score(if neg { -v } else { v }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_scores() {
        assert_eq!(parse_size("25M"), Some(25 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999T"), None);
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("35d"), Some(Duration::from_secs(35 * 86400)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_score("6"), Some(Score(600)));
        assert_eq!(parse_score("7.5"), Some(Score(750)));
        assert_eq!(parse_score("-2.25"), Some(Score(-225)));
        assert_eq!(parse_score("1.234"), None);
        assert_eq!(parse_score("abc"), None);
        assert_eq!(alloc::string::ToString::to_string(&Score(-225)), "-2.25");
    }

    #[test]
    fn paths() {
        assert!(check_path("tls/mail.example.org.crt").is_ok());
        for p in ["", "/etc/passwd", "../x", "a//b", "a/./b", "a b", "a/"] {
            assert!(check_path(p).is_err(), "{p}");
        }
    }
}
