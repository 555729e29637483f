//! The temporary allowlist of clients that passed tests (postscreen's
//! `postscreen_cache_map`), one expiry time per test, persisted as text.
//!
//! File format (`screen/cache` on the mail disk), one client per line:
//!
//! ```text
//! unimail-screen-cache 1
//! 192.0.2.7 pregreet=1795000000 dnsbl=1794920000 dnswl=1794920000
//! 2001:db8::25 pregreet=1795000000
//! ```
//!
//! Times are UNIX seconds at which the pass expires. Lines are written
//! oldest first so that a reload evicts in the same order.

use alloc::string::String;
use core::fmt::Write;
use core::net::IpAddr;

use crate::bounded::BoundedMap;
use crate::reply::{canonical_ip, Test};
use crate::text::{lines, parse_u64, LoadError};

const HEADER: &str = "unimail-screen-cache 1";

/// Per-client pass expiry times (UNIX seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Entry {
    tests: [Option<u64>; 5],
    /// The client's DNSBL score was at or below the allowlist threshold
    /// (a DNSWL listing): it skips the other tests and greylisting.
    dnswl: Option<u64>,
}

impl Entry {
    fn is_empty(&self, now: u64) -> bool {
        self.tests.iter().chain(core::iter::once(&self.dnswl)).all(|e| e.is_none_or(|t| t <= now))
    }

    fn drop_expired(&mut self, now: u64) {
        for e in self.tests.iter_mut().chain(core::iter::once(&mut self.dnswl)) {
            if e.is_some_and(|t| t <= now) {
                *e = None;
            }
        }
    }
}

/// Clients that passed, bounded (the entry written longest ago is evicted).
#[derive(Clone, Debug)]
pub struct PassCache {
    map: BoundedMap<IpAddr, Entry>,
}

impl Default for PassCache {
    fn default() -> Self {
        PassCache::new(PassCache::DEFAULT_CAPACITY)
    }
}

impl PassCache {
    /// Default number of clients remembered (about 200 bytes of heap each
    /// with the map's overhead: some 4 MB when full).
    pub const DEFAULT_CAPACITY: usize = 20_000;

    /// An empty cache holding at most `capacity` clients.
    pub fn new(capacity: usize) -> Self {
        PassCache { map: BoundedMap::new(capacity) }
    }

    /// Number of clients remembered (some may have expired passes only).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// Whether `ip` passed `test` and the pass has not expired at `now`.
    pub fn passed(&self, ip: IpAddr, test: Test, now: u64) -> bool {
        self.map.get(&canonical_ip(ip)).and_then(|e| e.tests[test.index()]).is_some_and(|t| t > now)
    }

    /// Whether `ip` was DNSWL-allowlisted and that has not expired.
    pub fn dnswl(&self, ip: IpAddr, now: u64) -> bool {
        self.map.get(&canonical_ip(ip)).and_then(|e| e.dnswl).is_some_and(|t| t > now)
    }

    /// Remember that `ip` passed `test` at `now`, for `ttl` seconds.
    pub fn record_pass(&mut self, ip: IpAddr, test: Test, now: u64, ttl: u64) {
        self.update(ip, now, |e| e.tests[test.index()] = Some(now.saturating_add(ttl)));
    }

    /// Remember that `ip` was DNSWL-allowlisted, for `ttl` seconds.
    pub fn record_dnswl(&mut self, ip: IpAddr, now: u64, ttl: u64) {
        self.update(ip, now, |e| e.dnswl = Some(now.saturating_add(ttl)));
    }

    /// Forget `ip` (e.g. it later failed a test).
    pub fn forget(&mut self, ip: IpAddr) {
        self.map.remove(&canonical_ip(ip));
    }

    fn update(&mut self, ip: IpAddr, now: u64, f: impl FnOnce(&mut Entry)) {
        let ip = canonical_ip(ip);
        let mut e = self.map.get(&ip).copied().unwrap_or_default();
        e.drop_expired(now);
        f(&mut e);
        self.map.insert(ip, e);
    }

    /// Drop every expired pass and every client left with none.
    pub fn expire(&mut self, now: u64) {
        self.map.retain(|_, e| !e.is_empty(now));
    }

    /// The file contents: unexpired entries, oldest first.
    pub fn save(&self, now: u64) -> String {
        let mut s = String::new();
        s.push_str(HEADER);
        s.push('\n');
        for (ip, e) in self.map.iter_oldest_first() {
            if e.is_empty(now) {
                continue;
            }
            let _ = write!(s, "{ip}");
            for t in Test::ALL {
                if let Some(x) = e.tests[t.index()].filter(|x| *x > now) {
                    let _ = write!(s, " {}={x}", t.as_str());
                }
            }
            if let Some(x) = e.dnswl.filter(|x| *x > now) {
                let _ = write!(s, " dnswl={x}");
            }
            s.push('\n');
        }
        s
    }

    /// Parse a saved file; expired passes are dropped, clients beyond
    /// `capacity` evict the oldest. Any malformed line refuses the file.
    pub fn load(input: &[u8], now: u64, capacity: usize) -> Result<PassCache, LoadError> {
        let mut c = PassCache::new(capacity);
        for l in lines(input, HEADER)? {
            let (n, l) = l?;
            let err = |reason| LoadError { line: n, reason };
            let mut words = l.split(' ');
            let ip: IpAddr = words.next().unwrap_or("").parse().map_err(|_| err("not an IP address"))?;
            let mut e = Entry::default();
            for w in words {
                let (k, v) = w.split_once('=').ok_or(err("expected test=time"))?;
                let v = parse_u64(v).ok_or(err("time is not a number"))?;
                let slot = match Test::ALL.iter().find(|t| t.as_str() == k) {
                    Some(t) => &mut e.tests[t.index()],
                    None if k == "dnswl" => &mut e.dnswl,
                    None => return Err(err("unknown test name")),
                };
                if slot.is_some() {
                    return Err(err("test named twice"));
                }
                *slot = Some(v);
            }
            e.drop_expired(now);
            if !e.is_empty(now) {
                c.map.insert(canonical_ip(ip), e);
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn pass_and_expire() {
        let mut c = PassCache::new(10);
        c.record_pass(ip("192.0.2.1"), Test::Pregreet, 100, 50);
        assert!(c.passed(ip("::ffff:192.0.2.1"), Test::Pregreet, 149));
        assert!(!c.passed(ip("192.0.2.1"), Test::Pregreet, 150));
        assert!(!c.passed(ip("192.0.2.1"), Test::Dnsbl, 120));
        c.record_dnswl(ip("192.0.2.1"), 100, 10);
        assert!(c.dnswl(ip("192.0.2.1"), 105));
        c.expire(149);
        assert_eq!(c.len(), 1);
        c.expire(150);
        assert!(c.is_empty());
    }
}
