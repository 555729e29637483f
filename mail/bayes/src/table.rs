//! The token table: a sorted vector of (hash, counts), 16 bytes a token,
//! with a small ordered map in front for tokens added since the last
//! merge. Existing tokens are updated in place; new ones collect in the
//! map and are merged into the vector (in place, from the back) once
//! there are [`DELTA_MAX`] of them. That keeps memory near the serialised
//! size, which matters with a fixed heap (a `BTreeMap` of the same tokens
//! costs two to three times as much).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::store::Counts;

/// New tokens held before a merge.
pub const DELTA_MAX: usize = 8192;

#[derive(Clone, Debug, Default)]
pub struct Table {
    base: Vec<(u64, Counts)>,
    delta: BTreeMap<u64, Counts>,
    /// Entries of `base` whose counts dropped to zero (removed at merge).
    base_zeros: usize,
}

fn is_zero(c: &Counts) -> bool {
    c.spam == 0 && c.ham == 0
}

impl Table {
    /// From entries already sorted strictly ascending with nonzero counts.
    pub fn from_sorted(base: Vec<(u64, Counts)>) -> Table {
        Table { base, delta: BTreeMap::new(), base_zeros: 0 }
    }

    pub fn len(&self) -> usize {
        self.base.len() - self.base_zeros + self.delta.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position of `h` in `base`. Token hashes are uniform, so the first
    /// probe is interpolated and the answer is usually a few entries away:
    /// an exponential search from there touches far fewer cache lines than
    /// a binary search over the whole table.
    fn find(&self, h: u64) -> Result<usize, usize> {
        let b = &self.base;
        let n = b.len();
        if n == 0 {
            return Err(0);
        }
        let guess = ((u128::from(h) * n as u128) >> 64) as usize;
        let (mut lo, mut hi);
        if b[guess].0 <= h {
            // Bracket upwards: lo has key <= h.
            lo = guess;
            let mut step = 1;
            loop {
                let next = lo + step;
                if next >= n {
                    hi = n;
                    break;
                }
                if b[next].0 > h {
                    hi = next;
                    break;
                }
                lo = next;
                step *= 2;
            }
        } else {
            // Bracket downwards: hi has key > h.
            hi = guess;
            let mut step = 1;
            loop {
                if step > hi {
                    lo = 0;
                    break;
                }
                let next = hi - step;
                if b[next].0 <= h {
                    lo = next;
                    break;
                }
                hi = next;
                step *= 2;
            }
        }
        b[lo..hi].binary_search_by_key(&h, |e| e.0).map(|i| lo + i).map_err(|i| lo + i)
    }

    pub fn get(&self, h: u64) -> Option<Counts> {
        if let Ok(i) = self.find(h) {
            let c = self.base[i].1;
            return (!is_zero(&c)).then_some(c);
        }
        self.delta.get(&h).copied()
    }

    /// Applies `f` to the token's counts (created at zero if absent);
    /// tokens left at zero are removed.
    pub fn update(&mut self, h: u64, f: impl FnOnce(&mut Counts)) {
        if let Ok(i) = self.find(h) {
            let c = &mut self.base[i].1;
            let was_zero = is_zero(c);
            f(c);
            match (was_zero, is_zero(c)) {
                (false, true) => self.base_zeros += 1,
                (true, false) => self.base_zeros -= 1,
                _ => {}
            }
            return;
        }
        let c = self.delta.entry(h).or_default();
        f(c);
        if is_zero(c) {
            self.delta.remove(&h);
        } else if self.delta.len() >= DELTA_MAX {
            self.merge();
        }
    }

    /// Folds the new tokens into the vector and drops zeroed entries.
    pub fn merge(&mut self) {
        if self.base_zeros > 0 {
            self.base.retain(|e| !is_zero(&e.1));
            self.base_zeros = 0;
        }
        if self.delta.is_empty() {
            return;
        }
        let old = self.base.len();
        let add = self.delta.len();
        self.base.reserve_exact(add);
        self.base.resize(old + add, (0, Counts::default()));
        // Merge from the back so nothing is overwritten before it is moved.
        let delta = core::mem::take(&mut self.delta);
        let mut d = delta.into_iter().rev().peekable();
        let (mut i, mut w) = (old, old + add);
        while w > 0 && d.peek().is_some() {
            w -= 1;
            let take_delta = match (i.checked_sub(1).map(|j| self.base[j].0), d.peek()) {
                (Some(b), Some(&(k, _))) => k > b,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if take_delta {
                let (k, c) = d.next().unwrap_or_default();
                self.base[w] = (k, c);
            } else {
                i -= 1;
                self.base[w] = self.base[i];
            }
        }
    }

    /// Keeps only tokens for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Counts) -> bool) {
        self.merge();
        self.base.retain(|e| keep(&e.1));
    }

    /// All tokens ascending (merges first).
    pub fn entries(&mut self) -> &[(u64, Counts)] {
        self.merge();
        &self.base
    }

    /// All tokens ascending without merging (for `&self` callers).
    pub fn iter(&self) -> impl Iterator<Item = (u64, Counts)> + '_ {
        let mut b = self.base.iter().copied().filter(|e| !is_zero(&e.1)).peekable();
        let mut d = self.delta.iter().map(|(k, c)| (*k, *c)).peekable();
        core::iter::from_fn(move || match (b.peek(), d.peek()) {
            (Some(x), Some(y)) => {
                if x.0 < y.0 {
                    b.next()
                } else {
                    d.next()
                }
            }
            (Some(_), None) => b.next(),
            (None, Some(_)) => d.next(),
            (None, None) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(c: &mut Counts) {
        c.spam += 1;
    }
    fn dec(c: &mut Counts) {
        c.spam = c.spam.saturating_sub(1);
    }

    #[test]
    fn matches_a_btreemap_model() {
        let mut t = Table::default();
        let mut model: BTreeMap<u64, u32> = BTreeMap::new();
        let mut x = 99u64;
        for step in 0..60_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let h = x % 20_000;
            if step % 3 == 2 {
                t.update(h, dec);
                if let Some(v) = model.get_mut(&h) {
                    *v -= 1;
                    if *v == 0 {
                        model.remove(&h);
                    }
                }
            } else {
                t.update(h, inc);
                *model.entry(h).or_default() += 1;
            }
            if step % 9_999 == 0 {
                assert_eq!(t.len(), model.len());
            }
        }
        assert_eq!(t.len(), model.len());
        let via_iter: Vec<(u64, u32)> = t.iter().map(|(k, c)| (k, c.spam)).collect();
        let want: Vec<(u64, u32)> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(via_iter, want);
        for (k, v) in &model {
            assert_eq!(t.get(*k).unwrap().spam, *v);
        }
        assert_eq!(t.get(123_456), None);
        // find agrees with a binary search for present and absent keys,
        // including both ends and skewed (non-uniform) keys.
        t.merge();
        for h in (0..25_000u64).chain([u64::MAX, u64::MAX - 1]) {
            assert_eq!(t.find(h), t.base.binary_search_by_key(&h, |e| e.0), "{h}");
        }
        let mut u = Table::from_sorted((0..1000u64).map(|i| (i * i, Counts { spam: 1, ham: 0 })).collect());
        for h in [0, 1, 4, 5, 998_001, 998_002, u64::MAX] {
            assert_eq!(u.find(h), u.base.binary_search_by_key(&h, |e| e.0), "{h}");
        }
        u.update(u64::MAX, inc);
        assert_eq!(u.get(u64::MAX).map(|c| c.spam), Some(1));
        let merged: Vec<(u64, u32)> = t.entries().iter().map(|(k, c)| (*k, c.spam)).collect();
        assert_eq!(merged, want);
        t.retain(|c| c.spam > 1);
        assert_eq!(t.len(), model.values().filter(|v| **v > 1).count());
    }
}
