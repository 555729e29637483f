//! In-memory indexes of large directories (not stored on disk).
//!
//! ext2 directories are linear lists; a Maildir `new/` or `cur/` of tens of
//! thousands of names would make every create or rename scan all of it.
//! For directories of [`MIN_BLOCKS`] blocks or more we keep, per
//! directory, a map from a name hash to the blocks holding names with that
//! hash, and each block's largest free gap. Lookups read only candidate
//! blocks (and compare the real names); inserts go to the first block with
//! a gap large enough, exactly the slot a linear scan would pick. The total
//! number of indexed names is bounded; the least recently used directory
//! index is dropped first, and lookups fall back to the linear scan.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Directories smaller than this are scanned linearly.
pub const MIN_BLOCKS: u64 = 4;

pub fn hash(name: &[u8]) -> u32 {
    // FNV-1a.
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

pub struct DirIndex {
    /// (name hash, logical block) -> number of names.
    names: BTreeMap<(u32, u32), u16>,
    /// Largest gap a new entry could use, per logical block.
    gaps: Vec<u16>,
    count: usize,
    stamp: u64,
}

impl DirIndex {
    pub fn new() -> Self {
        DirIndex { names: BTreeMap::new(), gaps: Vec::new(), count: 0, stamp: 0 }
    }
    pub fn add(&mut self, h: u32, lblk: u32) {
        *self.names.entry((h, lblk)).or_insert(0) += 1;
        self.count += 1;
    }
    pub fn push_gap(&mut self, gap: u16) {
        self.gaps.push(gap);
    }
}

pub struct DirIndexes {
    dirs: BTreeMap<u32, DirIndex>,
    entries: usize,
    cap: usize,
    tick: u64,
}

impl DirIndexes {
    pub fn new(cap: usize) -> Self {
        DirIndexes { dirs: BTreeMap::new(), entries: 0, cap, tick: 0 }
    }

    pub fn enabled(&self) -> bool {
        self.cap > 0
    }

    pub fn has(&mut self, ino: u32) -> bool {
        self.tick += 1;
        let t = self.tick;
        match self.dirs.get_mut(&ino) {
            Some(d) => {
                d.stamp = t;
                true
            }
            None => false,
        }
    }

    /// Installs a freshly built index, evicting others to stay in bounds.
    pub fn install(&mut self, ino: u32, mut idx: DirIndex) {
        if idx.count > self.cap {
            return;
        }
        while self.entries + idx.count > self.cap {
            let Some((&victim, _)) = self.dirs.iter().min_by_key(|(_, d)| d.stamp) else { break };
            self.drop_dir(victim);
        }
        self.tick += 1;
        idx.stamp = self.tick;
        self.entries += idx.count;
        self.dirs.insert(ino, idx);
    }

    pub fn drop_dir(&mut self, ino: u32) {
        if let Some(d) = self.dirs.remove(&ino) {
            self.entries -= d.count;
        }
    }

    /// Logical blocks that may hold a name with hash `h`.
    pub fn candidates(&self, ino: u32, h: u32) -> Vec<u32> {
        match self.dirs.get(&ino) {
            Some(d) => d.names.range((h, 0)..=(h, u32::MAX)).map(|(&(_, l), _)| l).collect(),
            None => Vec::new(),
        }
    }

    /// First logical block with a gap of at least `need` bytes.
    pub fn first_gap(&self, ino: u32, need: usize) -> Option<u32> {
        let d = self.dirs.get(&ino)?;
        d.gaps.iter().position(|&g| g as usize >= need).map(|i| i as u32)
    }

    pub fn add_name(&mut self, ino: u32, h: u32, lblk: u32) {
        if let Some(d) = self.dirs.get_mut(&ino) {
            d.add(h, lblk);
            self.entries += 1;
            if self.entries > self.cap {
                self.drop_dir(ino);
            }
        }
    }

    pub fn remove_name(&mut self, ino: u32, h: u32, lblk: u32) {
        if let Some(d) = self.dirs.get_mut(&ino) {
            if let Some(c) = d.names.get_mut(&(h, lblk)) {
                *c -= 1;
                if *c == 0 {
                    d.names.remove(&(h, lblk));
                }
                d.count -= 1;
                self.entries -= 1;
            } else {
                // Out of step: forget this index, the linear scan is right.
                self.drop_dir(ino);
            }
        }
    }

    pub fn set_gap(&mut self, ino: u32, lblk: u32, gap: u16) {
        if let Some(d) = self.dirs.get_mut(&ino) {
            let i = lblk as usize;
            if i < d.gaps.len() {
                d.gaps[i] = gap;
            } else if i == d.gaps.len() {
                d.gaps.push(gap);
            } else {
                self.drop_dir(ino);
            }
        }
    }
}
