//! A map with a fixed capacity that evicts the least recently written entry.
//!
//! Both the pass cache and the greylist are fed by the network: a botnet can
//! create entries as fast as it can connect. The heap is fixed, so the
//! stores keep at most `capacity` entries and forget the one written longest
//! ago (the oldest `seq`) to make room.

use alloc::collections::BTreeMap;

/// A `BTreeMap` plus a write-order index for eviction.
#[derive(Clone, Debug)]
pub(crate) struct BoundedMap<K: Ord + Clone, V> {
    map: BTreeMap<K, (V, u64)>,
    order: BTreeMap<u64, K>,
    seq: u64,
    capacity: usize,
}

impl<K: Ord + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        BoundedMap { map: BTreeMap::new(), order: BTreeMap::new(), seq: 0, capacity: capacity.max(1) }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(v, _)| v)
    }

    /// Insert or replace; the entry becomes the newest. Returns whether an
    /// older entry was evicted to make room.
    pub(crate) fn insert(&mut self, k: K, v: V) -> bool {
        self.seq += 1;
        let seq = self.seq;
        if let Some((_, old)) = self.map.insert(k.clone(), (v, seq)) {
            self.order.remove(&old);
            self.order.insert(seq, k);
            return false;
        }
        self.order.insert(seq, k);
        if self.map.len() > self.capacity {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.map.remove(&oldest);
                return true;
            }
        }
        false
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let (v, seq) = self.map.remove(k)?;
        self.order.remove(&seq);
        Some(v)
    }

    /// Drop every entry for which `keep` is false.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let order = &mut self.order;
        self.map.retain(|k, (v, seq)| {
            let ok = keep(k, v);
            if !ok {
                order.remove(seq);
            }
            ok
        });
    }

    /// Entries from the oldest write to the newest (the order `save` writes
    /// them, so that a reload evicts in the same order).
    pub(crate) fn iter_oldest_first(&self) -> impl Iterator<Item = (&K, &V)> {
        self.order.values().filter_map(move |k| self.map.get(k).map(|(v, _)| (k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_write() {
        let mut m = BoundedMap::new(2);
        assert!(!m.insert(1, 'a'));
        assert!(!m.insert(2, 'b'));
        assert!(!m.insert(1, 'A')); // rewrite makes 1 the newest
        assert!(m.insert(3, 'c')); // evicts 2
        assert_eq!(m.get(&2), None);
        assert_eq!(m.get(&1), Some(&'A'));
        let keys: alloc::vec::Vec<_> = m.iter_oldest_first().map(|(k, _)| *k).collect();
        assert_eq!(keys, [1, 3]);
        m.retain(|k, _| *k != 1);
        assert_eq!(m.len(), 1);
        assert_eq!(m.remove(&3), Some('c'));
        assert_eq!(m.len(), 0);
        assert_eq!(m.iter_oldest_first().count(), 0);
    }
}
