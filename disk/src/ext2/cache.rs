//! A bounded write-back cache of filesystem blocks.
//!
//! Every dirty block carries a [`Class`]; [`Cache::write_back`] writes the
//! classes in ascending order, with a device flush (a barrier) after file
//! data, fresh blocks and allocation bitmaps, so no metadata that points at
//! a block reaches the disk before the block and its bitmap bit. ext2 has no
//! journal: a crash in the metadata step can still leave a stale link count,
//! a leaked block or inode, or a file without a name, which `e2fsck`
//! repairs; it never leaves a pointer to unwritten or free space.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::FsError;
use crate::block::{BlockDevice, SECTOR_SIZE};

/// Write-back order of a dirty block (lowest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// File contents.
    Data = 0,
    /// Block and inode bitmaps: marked used before anything points at them.
    Bitmap = 1,
    /// Indirect block maps.
    Indirect = 2,
    /// Inode tables.
    Inode = 3,
    /// Directory blocks (names pointing at inodes).
    Dir = 4,
    /// Group descriptors and the superblock (summary counts).
    Super = 5,
}

struct Entry {
    buf: Vec<u8>,
    dirty: Option<Class>,
    stamp: u64,
}

pub struct Cache<D> {
    dev: D,
    bs: usize,
    map: BTreeMap<u64, Entry>,
    cap: usize,
    tick: u64,
    /// Also put a barrier before the directory blocks (see
    /// [`Cache::set_dir_barrier`]).
    dir_barrier: bool,
}

impl<D: BlockDevice> Cache<D> {
    pub fn new(dev: D, bs: usize, cap: usize) -> Self {
        Cache { dev, bs, map: BTreeMap::new(), cap: cap.max(16), tick: 0, dir_barrier: false }
    }

    pub fn device(&mut self) -> &mut D {
        &mut self.dev
    }

    pub fn into_device(self) -> D {
        self.dev
    }

    fn lba(&self, blk: u64) -> u64 {
        blk * (self.bs / SECTOR_SIZE) as u64
    }

    fn make_room(&mut self) -> Result<(), FsError> {
        if self.map.len() < self.cap {
            return Ok(());
        }
        let mut clean: Vec<(u64, u64)> =
            self.map.iter().filter(|(_, e)| e.dirty.is_none()).map(|(k, e)| (e.stamp, *k)).collect();
        if clean.len() < self.cap / 4 {
            // Mostly dirty: write everything back in order, then evict.
            self.write_back()?;
            clean = self.map.iter().map(|(k, e)| (e.stamp, *k)).collect();
        }
        clean.sort_unstable();
        let n = (self.cap / 4).max(1).min(clean.len());
        for (_, k) in &clean[..n] {
            self.map.remove(k);
        }
        Ok(())
    }

    fn load(&mut self, blk: u64, read: bool) -> Result<&mut Entry, FsError> {
        self.tick += 1;
        if !self.map.contains_key(&blk) {
            self.make_room()?;
            let mut buf = vec![0u8; self.bs];
            if read {
                let lba = self.lba(blk);
                self.dev.read_blocks(lba, &mut buf)?;
            }
            self.map.insert(blk, Entry { buf, dirty: None, stamp: 0 });
        }
        let tick = self.tick;
        let e = self.map.get_mut(&blk).expect("just inserted");
        e.stamp = tick;
        Ok(e)
    }

    /// Reads a block (through the cache).
    pub fn get(&mut self, blk: u64) -> Result<&[u8], FsError> {
        Ok(&self.load(blk, true)?.buf)
    }

    /// Reads a block for modification; it is written back in `class` order.
    /// A block keeps the earliest class it was dirtied with since its last
    /// write: a fresh block (see [`Cache::zeroed`]) stays early.
    pub fn get_mut(&mut self, blk: u64, class: Class) -> Result<&mut [u8], FsError> {
        let e = self.load(blk, true)?;
        e.dirty = Some(match e.dirty {
            Some(c) if c < class => c,
            _ => class,
        });
        Ok(&mut e.buf)
    }

    /// A freshly allocated block (or a whole-block overwrite of file data):
    /// zeroed, never read from the device. Nothing on disk points at a
    /// fresh block yet, so it is written with the file data, before the
    /// metadata that will point at it.
    pub fn zeroed(&mut self, blk: u64) -> Result<&mut [u8], FsError> {
        let e = self.load(blk, false)?;
        e.buf.iter_mut().for_each(|b| *b = 0);
        e.dirty = Some(Class::Data);
        Ok(&mut e.buf)
    }

    /// Drops a freed block from the cache (its contents no longer matter).
    pub fn forget(&mut self, blk: u64) {
        self.map.remove(&blk);
    }

    /// While set, every write-back adds a device flush between the inode
    /// tables (and everything before them) and the directory blocks. A
    /// rename over an existing name needs it: the directory block that
    /// names the new inode must not reach the disk before that inode, even
    /// on a device that reorders writes between flushes.
    pub fn set_dir_barrier(&mut self, on: bool) {
        self.dir_barrier = on;
    }

    /// Writes every dirty block in two steps separated by a device flush:
    /// first file data, fresh blocks and bitmaps (allocations only: frees
    /// are applied later by the filesystem), then everything that points at
    /// them. Whatever subset of either step reaches the disk before a crash,
    /// no on-disk pointer names a block that is unwritten or marked free.
    pub fn write_back(&mut self) -> Result<(), FsError> {
        let mut order: Vec<(Class, u64)> = self.map.iter().filter_map(|(k, e)| e.dirty.map(|c| (c, *k))).collect();
        if order.is_empty() {
            return Ok(());
        }
        order.sort_unstable();
        let mut barrier_done = order[0].0 > Class::Bitmap;
        let mut dir_barrier_done = !self.dir_barrier;
        let mut wrote = false;
        for (class, blk) in order {
            if !barrier_done && class > Class::Bitmap {
                self.dev.flush()?;
                barrier_done = true;
                wrote = false;
            }
            if !dir_barrier_done && class >= Class::Dir {
                if wrote {
                    self.dev.flush()?;
                }
                dir_barrier_done = true;
            }
            wrote = true;
            let lba = self.lba(blk);
            let e = self.map.get_mut(&blk).expect("listed");
            self.dev.write_blocks(lba, &e.buf)?;
            e.dirty = None;
        }
        Ok(())
    }

    pub fn has_dirty(&self) -> bool {
        self.map.values().any(|e| e.dirty.is_some())
    }

    /// Writes every dirty block, then flushes the device.
    pub fn flush(&mut self) -> Result<(), FsError> {
        self.write_back()?;
        self.dev.flush()?;
        Ok(())
    }
}
