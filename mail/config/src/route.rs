//! Recipient routing: aliases, catch-alls, `+detail` sub-addressing, and
//! which addresses a user may submit as.
//!
//! Lookup order for `local+detail@domain` (the order Postfix uses for
//! virtual alias maps with a recipient delimiter):
//! 1. the full address, as an alias or a user;
//! 2. the address without `+detail`, as an alias or a user; the detail
//!    becomes the folder hint (RFC 5233 3) and propagates to local alias
//!    targets that have no detail of their own;
//! 3. the domain's catch-all (`@domain`);
//! 4. otherwise the recipient is unknown.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::addr::Address;
use crate::model::{AliasSource, Config, SendAs, User};
use crate::parse::MAX_ALIAS_DEPTH;

/// Most delivery targets one recipient may expand to.
pub const MAX_TARGETS: usize = 1000;
/// Most expansion steps for one recipient (bounds work on diamond-shaped
/// alias graphs, where dedupe alone does not).
pub const MAX_STEPS: usize = 10_000;

/// Verified against for unknown logins (its password is irrelevant).
const DUMMY_HASH: &str =
    "{SHA512-CRYPT}$6$saltsaltsalt1234$CkUSZ4d2PqSbS9gP0mhZGsO5bjwKTAA7Gr3WufFOKRTKUwrPyTakQjpP2HOjVosoaRmRoPp3ccLZNtHjzoeqb0";

/// Where one copy of a message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A local mailbox. `folder` is the `+detail` of the address, a hint
    /// for delivery (Sieve's `:detail`, RFC 5233; or a folder of that name
    /// if it exists).
    LocalUser { user: Address, folder: Option<String> },
    /// An external address (forwarding; SRS applies).
    External(Address),
}

/// Why a recipient cannot be routed, with the SMTP reply it maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// Not a `local@domain` address the router understands
    /// (501 5.1.3, RFC 3463 X.1.3).
    BadAddress,
    /// The domain is not local: relaying, allowed only to authenticated
    /// senders (otherwise 550 5.7.1, RFC 5321 3.6.2, RFC 3463 X.7.1).
    NotLocal,
    /// Local domain, no such user, alias or catch-all (550 5.1.1).
    Unknown,
    /// An alias expansion came back to an address already on its path
    /// (554 5.4.6, RFC 3463 X.4.6). The parser rejects such configs, so
    /// this is defence in depth.
    Loop,
    /// Alias nesting deeper than [`MAX_ALIAS_DEPTH`] (554 5.4.6).
    TooDeep,
    /// More than [`MAX_TARGETS`] targets or [`MAX_STEPS`] steps (452 4.5.3).
    TooMany,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::BadAddress => "bad recipient address syntax",
            RouteError::NotLocal => "relay access denied",
            RouteError::Unknown => "no such user here",
            RouteError::Loop => "alias loop",
            RouteError::TooDeep => "alias nesting too deep",
            RouteError::TooMany => "alias expands to too many recipients",
        })
    }
}

/// What an address names, before alias expansion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    User(usize),
    Alias(usize),
}

impl Config {
    fn norm_local(&self, local: &str) -> String {
        if self.addressing.case_sensitive_local_parts {
            local.to_string()
        } else {
            local.to_ascii_lowercase()
        }
    }

    /// The lookup key of an address: local part folded per config, domain
    /// lowercase.
    pub(crate) fn key_of(&self, a: &Address) -> String {
        let mut k = self.norm_local(a.local());
        k.push('@');
        k.push_str(a.domain());
        k
    }

    /// Whether `domain` is one of ours (case-insensitive).
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// `(base, detail)` split at the first detail separator, if any, with a
    /// non-empty base.
    fn split_detail<'s>(&self, local: &'s str) -> Option<(&'s str, &'s str)> {
        let i = local.find(|c| self.addressing.detail_separators.contains(&c))?;
        if i == 0 {
            return None;
        }
        Some((&local[..i], &local[i + 1..]))
    }

    fn lookup_exact(&self, a: &Address) -> Option<Lookup> {
        let k = self.key_of(a);
        if let Some(&i) = self.alias_index.get(&k) {
            return Some(Lookup::Alias(i));
        }
        self.user_index.get(&k).map(|&i| Lookup::User(i))
    }

    /// Steps 1 and 2 of the lookup order (no catch-all).
    pub(crate) fn lookup_exact_or_base(&self, a: &Address) -> Option<Lookup> {
        self.lookup_exact(a).or_else(|| {
            let (base, _) = self.split_detail(a.local())?;
            self.lookup_exact(&Address::from_parts(base, a.domain()))
        })
    }

    /// The user who logs in as `login` (an address; case rules as for mail).
    pub fn user(&self, login: &str) -> Option<&User> {
        let a = Address::parse(login).ok()?;
        self.user_index.get(&self.key_of(&a)).map(|&i| &self.users[i])
    }

    /// Check a login: the user if `login` exists and `password` matches
    /// its hash. For an unknown login a SHA512-CRYPT hash is still computed,
    /// so the answer's timing does not tell unknown users from wrong
    /// passwords (as closely as one default-cost hash can). The caller
    /// counts failures against `limits.auth_failures`.
    pub fn authenticate(&self, login: &str, password: &[u8]) -> Option<&User> {
        use crate::password::{HashLimits, PasswordHash, Verdict};
        match self.user(login) {
            Some(u) => (u.password.verify(password) == Verdict::Match).then_some(u),
            None => {
                if let Ok(h) = PasswordHash::parse(DUMMY_HASH, &HashLimits::default()) {
                    let _ = h.verify(password);
                }
                None
            }
        }
    }

    /// Expand one envelope recipient into delivery targets: one per local
    /// user (deduplicated; the first folder hint wins) and one per external
    /// address. A bare `postmaster` is accepted as postmaster at the first
    /// local domain (RFC 5321 4.5.1).
    pub fn resolve(&self, recipient: &str) -> Result<Vec<Target>, RouteError> {
        let addr = if recipient.eq_ignore_ascii_case("postmaster") {
            let d = self.domains.first().ok_or(RouteError::Unknown)?;
            Address::from_parts("postmaster", d)
        } else {
            Address::parse(recipient).map_err(|_| RouteError::BadAddress)?
        };
        if !self.is_local_domain(addr.domain()) {
            return Err(RouteError::NotLocal);
        }
        let mut x = Expansion { cfg: self, out: Vec::new(), seen: BTreeSet::new(), steps: 0 };
        let mut path = Vec::new();
        x.expand(&addr, None, &mut path)?;
        if x.out.is_empty() {
            return Err(RouteError::Unknown);
        }
        Ok(x.out)
    }

    /// Whether the authenticated `login` may use `address` as envelope
    /// sender / From on submission: its own address (with any `+detail`),
    /// its `send_as` entries, and aliases (not catch-alls) that deliver to it.
    pub fn may_send_as(&self, login: &str, address: &str) -> bool {
        let Some(user) = self.user(login) else { return false };
        let Ok(a) = Address::parse(address) else { return false };
        let ukey = self.key_of(&user.address);
        let key = self.key_of(&a);
        if key == ukey {
            return true;
        }
        if let Some((base, _)) = self.split_detail(a.local()) {
            if self.key_of(&Address::from_parts(base, a.domain())) == ukey {
                return true;
            }
        }
        for s in &user.send_as {
            match s {
                SendAs::Address(x) if self.key_of(x) == key => return true,
                SendAs::Domain(d) if d == a.domain() => return true,
                _ => {}
            }
        }
        if let Some(Lookup::Alias(i)) = self.lookup_exact_or_base(&a) {
            if let AliasSource::Address(src) = &self.aliases[i].source {
                if let Ok(targets) = self.resolve(&src.to_string()) {
                    return targets
                        .iter()
                        .any(|t| matches!(t, Target::LocalUser { user: u, .. } if self.key_of(u) == ukey));
                }
            }
        }
        false
    }
}

struct Expansion<'c> {
    cfg: &'c Config,
    out: Vec<Target>,
    /// Keys of targets already in `out`.
    seen: BTreeSet<String>,
    steps: usize,
}

impl Expansion<'_> {
    fn expand(&mut self, a: &Address, inherited: Option<&str>, path: &mut Vec<String>) -> Result<(), RouteError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(RouteError::TooMany);
        }
        let cfg = self.cfg;
        if !cfg.is_local_domain(a.domain()) {
            // Forwarding: the address is used as written (no detail added).
            return self.push(cfg.key_of(a), Target::External(a.clone()));
        }
        let key = cfg.key_of(a);
        if path.contains(&key) {
            return Err(RouteError::Loop);
        }
        if path.len() > MAX_ALIAS_DEPTH {
            return Err(RouteError::TooDeep);
        }
        // 1. exact
        if let Some(l) = cfg.lookup_exact(a) {
            return self.found(l, key, inherited, path);
        }
        // 2. without +detail
        if let Some((base, detail)) = cfg.split_detail(a.local()) {
            let b = Address::from_parts(base, a.domain());
            if let Some(l) = cfg.lookup_exact(&b) {
                let detail = if detail.is_empty() { None } else { Some(detail) };
                return self.found(l, key, detail.or(inherited), path);
            }
        }
        // 3. catch-all
        if let Some(&i) = cfg.catchall_index.get(a.domain()) {
            path.push(key);
            for t in &cfg.aliases[i].targets {
                self.expand(t, None, path)?;
            }
            path.pop();
            return Ok(());
        }
        Err(RouteError::Unknown)
    }

    fn found(
        &mut self,
        l: Lookup,
        key: String,
        detail: Option<&str>,
        path: &mut Vec<String>,
    ) -> Result<(), RouteError> {
        let cfg = self.cfg;
        match l {
            Lookup::User(i) => {
                let u = &cfg.users[i].address;
                let t = Target::LocalUser { user: u.clone(), folder: detail.map(String::from) };
                self.push(cfg.key_of(u), t)
            }
            Lookup::Alias(i) => {
                path.push(key);
                for t in &cfg.aliases[i].targets {
                    self.expand(t, detail, path)?;
                }
                path.pop();
                Ok(())
            }
        }
    }

    fn push(&mut self, key: String, t: Target) -> Result<(), RouteError> {
        if self.seen.contains(&key) {
            return Ok(());
        }
        if self.out.len() >= MAX_TARGETS {
            return Err(RouteError::TooMany);
        }
        self.seen.insert(key);
        self.out.push(t);
        Ok(())
    }
}
