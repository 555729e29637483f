//! Greylisting (RFC 6647): refuse the first delivery attempt of an unknown
//! (client network, sender, recipient) triplet with a 4xx, accept a retry
//! that comes after the delay and within the retry window. Timings and
//! auto-allow follow postgrey.
//!
//! File format (`screen/greylist` on the mail disk):
//!
//! ```text
//! unimail-greylist 1
//! t 192.0.2.0/24 <first-seen> <last-seen> <0|1 passed> <sender> <recipient>
//! c 192.0.2.0/24 <passes> <last-seen>
//! ```
//!
//! Times are UNIX seconds. Addresses are lower-cased; bytes that are
//! spaces, controls, `%`, `<` or `>` are written `%XX`, and the null
//! sender is `<>`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::IpAddr;

use mail_config::Cidr;

use crate::bounded::BoundedMap;
use crate::reply::{self, canonical_ip, ScreenReply};
use crate::text::{lines, parse_u64, LoadError};

pub use mail_config::Greylist as GreylistConfig;

const HEADER: &str = "unimail-greylist 1";

/// Only one pass per client network and hour counts towards auto-allow
/// (postgrey's rule).
pub const AUTO_ALLOW_INTERVAL: u64 = 3600;

/// Longest address kept in a triplet (RFC 5321 4.5.3.1.3: a path is at most
/// 256 octets); longer ones are cut at a character boundary.
pub const MAX_ADDRESS: usize = 320;

/// The client network of a triplet: IPv4 /24, IPv6 /64 (RFC 6647 4.2.1:
/// senders retry from other hosts of the same network; postgrey's
/// `--lookup-by-subnet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientNet(IpAddr);

impl ClientNet {
    /// The /24 or /64 holding `ip` (IPv4-mapped IPv6 as IPv4).
    pub fn of(ip: IpAddr) -> ClientNet {
        ClientNet(match canonical_ip(ip) {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & 0xffff_ff00).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & !((1u128 << 64) - 1)).into()),
        })
    }

    fn prefix(&self) -> u8 {
        if self.0.is_ipv4() {
            24
        } else {
            64
        }
    }

    fn parse(s: &str) -> Option<ClientNet> {
        let c = Cidr::parse(s).ok()?;
        let n = ClientNet::of(c.addr());
        (n.0 == c.addr() && n.prefix() == c.prefix()).then_some(n)
    }
}

impl core::fmt::Display for ClientNet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.0, self.prefix())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Triplet {
    net: ClientNet,
    sender: String,
    recipient: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TripletState {
    first: u64,
    last: u64,
    passed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ClientState {
    passes: u32,
    last: u64,
}

/// One RCPT TO to judge.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The client address.
    pub ip: IpAddr,
    /// MAIL FROM address without angle brackets (empty for `<>`).
    pub sender: &'a str,
    /// RCPT TO address without angle brackets.
    pub recipient: &'a str,
    /// The client authenticated (SASL): never greylisted.
    pub authenticated: bool,
    /// The client is allow-listed (access list or DNSWL): never greylisted.
    pub allowlisted: bool,
}

/// Why a recipient was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassReason {
    /// Greylisting is off.
    Disabled,
    /// Authenticated or allow-listed client.
    Skipped,
    /// The client network passed enough triplets.
    AutoAllowed,
    /// A retry after the delay, within the retry window: the triplet passes
    /// from now on.
    Retried,
    /// A triplet that passed before and has not expired.
    Known,
}

/// The greylist's answer for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Accept the recipient.
    Pass(PassReason),
    /// Refuse with 450 (RFC 6647 2.1: a temporary failure); a retry is
    /// accepted after this many seconds.
    Defer(u64),
    /// A new triplet: refused like `Defer`, counted separately.
    DeferNew(u64),
}

impl Answer {
    /// The 450 reply to give, if deferred.
    pub fn reply(&self) -> Option<ScreenReply> {
        match self {
            Answer::Defer(s) | Answer::DeferNew(s) => Some(reply::greylisted(*s)),
            Answer::Pass(_) => None,
        }
    }
}

/// The greylist store, bounded.
#[derive(Clone, Debug)]
pub struct Greylist {
    cfg: GreylistConfig,
    triplets: BoundedMap<Triplet, TripletState>,
    clients: BoundedMap<ClientNet, ClientState>,
}

/// postgrey's sender substitutions, so that per-message sender variants
/// map to one triplet: a BATV tag (`prvs=tag=user@`, or the swapped form
/// some senders use) is removed, a `+extension` is cut, and every number
/// standing alone in the local part (VERP: `bounce-12345-...`) becomes `#`.
/// Then lower-case and bound the length.
fn normalise_sender(s: &str) -> String {
    let Some((user, domain)) = s.split_once('@') else { return bound(s.to_ascii_lowercase()) };
    let user = strip_batv(user);
    let user = user.split_once('+').map_or(user, |(u, _)| u);
    let mut out = hash_numbers(user);
    out.push('@');
    out.push_str(domain);
    bound(out.to_ascii_lowercase())
}

/// BATV (`prvs=<tag>=<local>`): the tag is 10 characters of key number,
/// day and hash; pick the part that is not a tag (the second one when in
/// doubt, the standard's order).
fn strip_batv(user: &str) -> &str {
    let Some(rest) = user.strip_prefix("prvs=") else { return user };
    let Some((a, b)) = rest.split_once('=') else { return user };
    if b.is_empty() || b.contains('=') {
        return user;
    }
    let tag = |s: &str| s.len() >= 10 && s.bytes().take(10).all(|c| c.is_ascii_digit() || c.is_ascii_lowercase());
    if tag(b) && !tag(a) {
        a
    } else {
        b
    }
}

/// Replace each run of digits with word boundaries on both sides (ASCII
/// letters, digits and `_` are word characters) by `#`.
fn hash_numbers(s: &str) -> String {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !word(b[i - 1])) {
            let end = b[i..].iter().position(|c| !c.is_ascii_digit()).map_or(b.len(), |n| i + n);
            if end == b.len() || !word(b[end]) {
                out.push('#');
                i = end;
                continue;
            }
        }
        // Copy one character (the string may hold UTF-8).
        let n = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + n]);
        i += n;
    }
    out
}

fn bound(mut s: String) -> String {
    if s.len() > MAX_ADDRESS {
        let mut n = MAX_ADDRESS;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    s
}

impl Greylist {
    /// Default bounds: triplets and client networks remembered (a triplet
    /// costs about 200 bytes of heap with typical addresses, so the
    /// defaults stay near 5 MB; unpassed triplets leave after the retry
    /// window, so bots that never retry do not pile up for long).
    pub const DEFAULT_TRIPLETS: usize = 20_000;
    /// See [`Greylist::DEFAULT_TRIPLETS`].
    pub const DEFAULT_CLIENTS: usize = 10_000;

    /// An empty greylist.
    pub fn new(cfg: GreylistConfig, max_triplets: usize, max_clients: usize) -> Self {
        Greylist { cfg, triplets: BoundedMap::new(max_triplets), clients: BoundedMap::new(max_clients) }
    }

    /// Number of triplets remembered.
    pub fn triplets(&self) -> usize {
        self.triplets.len()
    }

    /// Number of client networks with passes remembered.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Judge one recipient at `now` (UNIX seconds).
    pub fn check(&mut self, req: &Request<'_>, now: u64) -> Answer {
        let cfg = self.cfg;
        if !cfg.enabled {
            return Answer::Pass(PassReason::Disabled);
        }
        // RFC 6647 5: greylisting only makes sense for unauthenticated
        // strangers.
        if req.authenticated || req.allowlisted {
            return Answer::Pass(PassReason::Skipped);
        }
        let (delay, window, expiry) = (cfg.delay.as_secs(), cfg.retry_window.as_secs(), cfg.expiry.as_secs());
        let net = ClientNet::of(req.ip);
        if cfg.auto_allow > 0 {
            if let Some(c) = self.clients.get(&net).copied() {
                if c.passes >= cfg.auto_allow && now.saturating_sub(c.last) <= expiry {
                    self.clients.insert(net, ClientState { passes: c.passes, last: now });
                    return Answer::Pass(PassReason::AutoAllowed);
                }
            }
        }
        let key =
            Triplet { net, sender: normalise_sender(req.sender), recipient: bound(req.recipient.to_ascii_lowercase()) };
        let fresh = TripletState { first: now, last: now, passed: false };
        match self.triplets.get(&key).copied() {
            None => {
                self.triplets.insert(key, fresh);
                Answer::DeferNew(delay)
            }
            Some(t) if t.passed => {
                if now.saturating_sub(t.last) > expiry {
                    self.triplets.insert(key, fresh);
                    return Answer::DeferNew(delay);
                }
                self.triplets.insert(key, TripletState { last: now, ..t });
                Answer::Pass(PassReason::Known)
            }
            Some(t) if t.first > now => {
                // The clock went back (RTC set): start over from now, as
                // postgrey does, instead of deferring until the old time.
                self.triplets.insert(key, fresh);
                Answer::DeferNew(delay)
            }
            Some(t) => {
                let elapsed = now.saturating_sub(t.first);
                if elapsed < delay {
                    return Answer::Defer(delay - elapsed);
                }
                if elapsed > window {
                    // Too late: the retry is treated as a first attempt.
                    self.triplets.insert(key, fresh);
                    return Answer::DeferNew(delay);
                }
                self.triplets.insert(key, TripletState { first: t.first, last: now, passed: true });
                self.count_pass(net, now);
                Answer::Pass(PassReason::Retried)
            }
        }
    }

    /// postgrey's client auto-whitelist: a triplet that passed greylisting
    /// counts for its client, at most once an hour (so that one message to
    /// many recipients, or a burst, counts once).
    fn count_pass(&mut self, net: ClientNet, now: u64) {
        let expiry = self.cfg.expiry.as_secs();
        let passes = match self.clients.get(&net).copied() {
            Some(c) if now.saturating_sub(c.last) > expiry => 1,
            Some(c) if now < c.last.saturating_add(AUTO_ALLOW_INTERVAL) => return,
            Some(c) => c.passes.saturating_add(1),
            None => 1,
        };
        self.clients.insert(net, ClientState { passes, last: now });
    }

    /// Forget everything that no longer matters at `now`.
    pub fn expire(&mut self, now: u64) {
        let cfg = self.cfg;
        self.triplets.retain(|_, t| keep_triplet(&cfg, t, now));
        self.clients.retain(|_, c| now.saturating_sub(c.last) <= cfg.expiry.as_secs());
    }

    /// The file contents, oldest entries first, expired ones left out.
    pub fn save(&self, now: u64) -> String {
        let mut s = String::from(HEADER);
        s.push('\n');
        for (k, t) in self.triplets.iter_oldest_first() {
            if keep_triplet(&self.cfg, t, now) {
                let _ = write!(s, "t {} {} {} {} ", k.net, t.first, t.last, t.passed as u8);
                encode(&mut s, &k.sender);
                s.push(' ');
                encode(&mut s, &k.recipient);
                s.push('\n');
            }
        }
        for (n, c) in self.clients.iter_oldest_first() {
            if now.saturating_sub(c.last) <= self.cfg.expiry.as_secs() {
                let _ = writeln!(s, "c {n} {} {}", c.passes, c.last);
            }
        }
        s
    }

    /// Parse a saved file with the current timings; expired entries are
    /// dropped. Any malformed line refuses the whole file.
    pub fn load(
        cfg: GreylistConfig,
        input: &[u8],
        now: u64,
        max_triplets: usize,
        max_clients: usize,
    ) -> Result<Greylist, LoadError> {
        let mut g = Greylist::new(cfg, max_triplets, max_clients);
        for l in lines(input, HEADER)? {
            let (n, l) = l?;
            let err = |reason| LoadError { line: n, reason };
            let w: Vec<&str> = l.split(' ').collect();
            let net = |s: &str| ClientNet::parse(s).ok_or(err("not a /24 or /64 network"));
            let num = |s: &str| parse_u64(s).ok_or(err("not a number"));
            match w.as_slice() {
                ["t", nw, first, last, passed, sender, rcpt] => {
                    let passed = match *passed {
                        "0" => false,
                        "1" => true,
                        _ => return Err(err("passed flag is not 0 or 1")),
                    };
                    let t = TripletState { first: num(first)?, last: num(last)?, passed };
                    let sender = decode(sender).ok_or(err("bad %-escape in sender"))?;
                    let recipient = decode(rcpt).ok_or(err("bad %-escape in recipient"))?;
                    if sender.len() > MAX_ADDRESS || recipient.len() > MAX_ADDRESS {
                        return Err(err("address too long"));
                    }
                    if keep_triplet(&cfg, &t, now) {
                        g.triplets.insert(Triplet { net: net(nw)?, sender, recipient }, t);
                    }
                }
                ["c", nw, passes, last] => {
                    let passes = u32::try_from(num(passes)?).map_err(|_| err("pass count too large"))?;
                    let c = ClientState { passes, last: num(last)? };
                    if now.saturating_sub(c.last) <= cfg.expiry.as_secs() {
                        g.clients.insert(net(nw)?, c);
                    }
                }
                _ => return Err(err("expected 't net first last passed sender recipient' or 'c net passes last'")),
            }
        }
        Ok(g)
    }
}

fn keep_triplet(cfg: &GreylistConfig, t: &TripletState, now: u64) -> bool {
    if t.passed {
        now.saturating_sub(t.last) <= cfg.expiry.as_secs()
    } else {
        now.saturating_sub(t.first) <= cfg.retry_window.as_secs()
    }
}

fn encode(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("<>");
        return;
    }
    for c in s.chars() {
        if c.is_ascii_control() || c == ' ' || c == '%' || c == '<' || c == '>' {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

fn decode(s: &str) -> Option<String> {
    if s == "<>" {
        return Some(String::new());
    }
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = core::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok().filter(|_| h.bytes().all(|c| c.is_ascii_hexdigit()))?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        let n = ClientNet::of("192.0.2.77".parse().unwrap());
        assert_eq!(alloc::format!("{n}"), "192.0.2.0/24");
        assert_eq!(ClientNet::of("::ffff:192.0.2.1".parse().unwrap()), n);
        let n6 = ClientNet::of("2001:db8:1:2:3:4:5:6".parse().unwrap());
        assert_eq!(alloc::format!("{n6}"), "2001:db8:1:2::/64");
        assert_eq!(ClientNet::parse("2001:db8:1:2::/64"), Some(n6));
        assert_eq!(ClientNet::parse("192.0.2.0/25"), None);
        assert_eq!(ClientNet::parse("192.0.2.1/24"), None);
    }

    #[test]
    fn escapes() {
        for s in ["", "a b%c<d>@x", "\"quoted local\"@example.org", "jörg@example.org"] {
            let mut e = String::new();
            encode(&mut e, s);
            assert!(!e.contains(' '), "{e}");
            assert_eq!(decode(&e).as_deref(), Some(s));
        }
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%+1"), None);
        assert_eq!(decode(""), None);
        assert_eq!(normalise_sender("prvs=0123abcdef=Bob@Example.ORG"), "bob@example.org");
        assert_eq!(normalise_sender("prvs=bob=0123abcdef@example.org"), "bob@example.org");
        assert_eq!(normalise_sender("prvs=x"), "prvs=x");
        assert_eq!(normalise_sender("prvs=a=b=c@x"), "prvs=a=b=c@x");
        assert_eq!(normalise_sender("list+bounces-77@lists.example"), "list@lists.example");
        assert_eq!(normalise_sender("bounce-123-4x5-6@v.example"), "bounce-#-4x5-#@v.example");
        assert_eq!(normalise_sender("42@n.example"), "#@n.example");
        assert_eq!(normalise_sender("a_1.2b@n.example"), "a_1.2b@n.example");
        // Non-ASCII letters are not word characters (postgrey reads bytes).
        assert_eq!(normalise_sender("é1-2@n.example"), "é#-#@n.example");
        assert_eq!(normalise_sender(""), "");
        assert_eq!(bound("é".repeat(200)).len(), 320);
    }
}
