//! Retry timing and per-destination concurrency.
//!
//! RFC 5321 4.5.4.1 asks for a retry interval of at least 30 minutes and a
//! give-up time of at least 4-5 days; we start lower (5 minutes, because
//! greylisting peers usually accept the second try) and double up to a cap.

use alloc::collections::BTreeMap;
use alloc::string::String;

/// Back-off settings (seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Delay after the first temporary failure.
    pub initial: u64,
    /// Longest delay between two attempts.
    pub cap: u64,
    /// Age after which a still-deferred recipient fails for good
    /// (RFC 5321 4.5.4.1: "at least 4-5 days").
    pub give_up: u64,
    /// Age after which a "delayed" DSN is sent once (None: never).
    pub warn_after: Option<u64>,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { initial: 5 * 60, cap: 4 * 3600, give_up: 5 * 86400, warn_after: Some(4 * 3600) }
    }
}

/// What to do after a temporary failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Try again at this time.
    At(u64),
    /// The message is too old: fail permanently (RFC 3463 4.4.7).
    GiveUp,
}

impl Schedule {
    /// Delay after the `attempts`-th failed attempt (1-based): initial,
    /// doubled each time, capped.
    pub fn delay(&self, attempts: u32) -> u64 {
        let shift = attempts.saturating_sub(1).min(40);
        self.initial.saturating_mul(1u64 << shift).min(self.cap).max(1)
    }

    /// The decision after the `attempts`-th temporary failure at `now` of a
    /// message that arrived at `arrival`.
    pub fn after_tempfail(&self, arrival: u64, attempts: u32, now: u64) -> Retry {
        if now.saturating_sub(arrival) >= self.give_up {
            return Retry::GiveUp;
        }
        let next = now.saturating_add(self.delay(attempts));
        // One last try at the give-up time rather than silently past it.
        Retry::At(next.min(arrival.saturating_add(self.give_up)).max(now + 1))
    }

    /// True once a delay warning is due for a message of this age.
    pub fn warn_due(&self, arrival: u64, now: u64) -> bool {
        matches!(self.warn_after, Some(w) if now.saturating_sub(arrival) >= w)
    }
}

/// Counts open connections per destination domain and refuses more than
/// `max_per_domain` (be a good neighbour; also bounds our own sockets).
#[derive(Debug)]
pub struct DomainLimiter {
    max_per_domain: u32,
    max_total: u32,
    total: u32,
    open: BTreeMap<String, u32>,
}

impl DomainLimiter {
    pub fn new(max_per_domain: u32, max_total: u32) -> Self {
        DomainLimiter { max_per_domain, max_total, total: 0, open: BTreeMap::new() }
    }

    /// Takes a slot for `domain` (case-insensitive) if one is free.
    pub fn try_acquire(&mut self, domain: &str) -> bool {
        if self.total >= self.max_total {
            return false;
        }
        let key = domain.to_ascii_lowercase();
        let n = self.open.entry(key).or_insert(0);
        if *n >= self.max_per_domain {
            return false;
        }
        *n += 1;
        self.total += 1;
        true
    }

    /// Gives back a slot taken by `try_acquire`.
    pub fn release(&mut self, domain: &str) {
        let key = domain.to_ascii_lowercase();
        if let Some(n) = self.open.get_mut(&key) {
            *n -= 1;
            self.total -= 1;
            if *n == 0 {
                self.open.remove(&key);
            }
        }
    }

    /// Open connections to `domain`.
    pub fn in_use(&self, domain: &str) -> u32 {
        self.open.get(&domain.to_ascii_lowercase()).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_to_cap() {
        let s = Schedule::default();
        let d: alloc::vec::Vec<u64> = (1..=8).map(|a| s.delay(a)).collect();
        assert_eq!(d, [300, 600, 1200, 2400, 4800, 9600, 14400, 14400]);
        assert_eq!(s.delay(0), 300);
        assert_eq!(s.delay(1000), 14400);
    }

    #[test]
    fn give_up_after_five_days() {
        let s = Schedule::default();
        assert_eq!(s.after_tempfail(1000, 1, 1000), Retry::At(1300));
        // Near the limit the next try is clamped to the give-up time.
        let arr = 0;
        let now = 5 * 86400 - 100;
        assert_eq!(s.after_tempfail(arr, 20, now), Retry::At(5 * 86400));
        assert_eq!(s.after_tempfail(arr, 21, 5 * 86400), Retry::GiveUp);
        let custom = Schedule { initial: 60, cap: 120, give_up: 600, warn_after: None };
        assert_eq!(custom.after_tempfail(0, 3, 100), Retry::At(220));
        assert_eq!(custom.after_tempfail(0, 3, 600), Retry::GiveUp);
        assert!(!custom.warn_due(0, 10_000));
        assert!(s.warn_due(0, 4 * 3600));
        assert!(!s.warn_due(0, 4 * 3600 - 1));
    }

    #[test]
    fn limiter() {
        let mut l = DomainLimiter::new(2, 3);
        assert!(l.try_acquire("a.example"));
        assert!(l.try_acquire("A.EXAMPLE"));
        assert!(!l.try_acquire("a.example"));
        assert!(l.try_acquire("b.example"));
        assert!(!l.try_acquire("c.example")); // total cap
        l.release("a.example");
        assert_eq!(l.in_use("a.example"), 1);
        assert!(l.try_acquire("c.example"));
        l.release("nothing.example"); // harmless
        assert_eq!(l.in_use("c.example"), 1);
    }
}
