//! Directories (linear format) and the path-based API.
//!
//! An entry is `inode u32, rec_len u16, name_len u8, file_type u8, name`,
//! 4-byte aligned; the entries of a block tile it exactly. Every field is
//! checked before use.

use alloc::vec::Vec;

use super::cache::Class;
use super::dindex;
use super::layout::*;
use super::{Ext2, FileType, FsError, Metadata, LINK_MAX};
use crate::block::BlockDevice;

/// One name in a directory, as given to `read_dir` callbacks.
#[derive(Debug, Clone, Copy)]
pub struct DirEntry<'a> {
    /// Raw name bytes (ext2 names are bytes; ours are ASCII).
    pub name: &'a [u8],
    pub ino: u32,
    pub kind: FileType,
}

impl DirEntry<'_> {
    /// The name as UTF-8, if it is.
    pub fn name_str(&self) -> Option<&str> {
        core::str::from_utf8(self.name).ok()
    }
}

const MAX_PATH: usize = 4096;

fn rec_size(name_len: usize) -> usize {
    (8 + name_len + 3) & !3
}

/// Parses the entry at `pos`: (inode, rec_len, name_len, file_type).
fn entry_at(b: &[u8], pos: usize) -> Result<(u32, usize, usize, u8), FsError> {
    if pos + 8 > b.len() {
        return Err(FsError::Corrupt("directory entry header past block end"));
    }
    let ino = le32(b, pos);
    let rec = le16(b, pos + 4) as usize;
    let nl = b[pos + 6] as usize;
    if rec < 8 || rec % 4 != 0 || pos + rec > b.len() || (ino != 0 && 8 + nl > rec) {
        return Err(FsError::Corrupt("bad directory entry length"));
    }
    Ok((ino, rec, nl, b[pos + 7]))
}

fn put_entry(b: &mut [u8], pos: usize, ino: u32, rec: usize, name: &[u8], ft: u8) {
    put32(b, pos, ino);
    put16(b, pos + 4, rec as u16);
    b[pos + 6] = name.len() as u8;
    b[pos + 7] = ft;
    b[pos + 8..pos + 8 + name.len()].copy_from_slice(name);
    // Keep the padding clean (not required, but tidy for debugfs dumps).
    let end = (pos + rec_size(name.len())).min(pos + rec);
    b[pos + 8 + name.len()..end].iter_mut().for_each(|x| *x = 0);
}

fn kind_of(ft: u8) -> FileType {
    match ft {
        FT_REG => FileType::File,
        FT_DIR => FileType::Dir,
        FT_LNK => FileType::Symlink,
        _ => FileType::Other,
    }
}

fn check_name(name: &[u8]) -> Result<(), FsError> {
    if name.is_empty() || name.len() > 255 || name == b"." || name == b".." || name.contains(&0) || name.contains(&b'/')
    {
        return Err(FsError::InvalidName);
    }
    Ok(())
}

/// Where a name was found.
struct Found {
    ino: u32,
    lblk: u64,
    phys: u32,
    pos: usize,
    prev: Option<usize>,
    hash: u32,
}

/// Finds `name` in one directory block: (inode, pos, previous entry pos).
fn find_in_block(b: &[u8], name: &[u8]) -> Result<Option<(u32, usize, Option<usize>)>, FsError> {
    let mut pos = 0;
    let mut prev = None;
    while pos < b.len() {
        let (ino, rec, nl, _) = entry_at(b, pos)?;
        if ino != 0 && nl == name.len() && &b[pos + 8..pos + 8 + nl] == name {
            return Ok(Some((ino, pos, prev)));
        }
        prev = Some(pos);
        pos += rec;
    }
    Ok(None)
}

/// First slot in a block for an entry of `need` bytes.
fn slot_in_block(b: &[u8], need: usize) -> Result<Option<(bool, usize)>, FsError> {
    let mut pos = 0;
    while pos < b.len() {
        let (e, rec, nl, _) = entry_at(b, pos)?;
        if e == 0 && rec >= need {
            return Ok(Some((true, pos)));
        } else if e != 0 && rec >= rec_size(nl) + need {
            return Ok(Some((false, pos)));
        }
        pos += rec;
    }
    Ok(None)
}

/// Largest entry a block could still take (see [`slot_in_block`]).
fn block_gap(b: &[u8]) -> Result<u16, FsError> {
    let mut pos = 0;
    let mut gap = 0;
    while pos < b.len() {
        let (e, rec, nl, _) = entry_at(b, pos)?;
        let g = if e == 0 { rec } else { rec - rec_size(nl).min(rec) };
        gap = gap.max(g);
        pos += rec;
    }
    Ok(gap as u16)
}

impl<D: BlockDevice> Ext2<D> {
    fn dir_blocks(&self, dir: &Inode) -> Result<u64, FsError> {
        let bs = self.sb.block_size as u64;
        if dir.size % bs != 0 {
            return Err(FsError::Corrupt("directory size not a block multiple"));
        }
        // Directories have no holes: the size must match the allocated
        // blocks, and no directory is larger than the filesystem. A hostile
        // inode can claim any block count, so the second bound is what
        // keeps a scan to the disk's size.
        let n = dir.size / bs;
        if n > (dir.blocks512 as u64) / (bs / 512) {
            return Err(FsError::Corrupt("directory larger than its blocks"));
        }
        if n > self.sb.blocks_count as u64 {
            return Err(FsError::Corrupt("directory larger than the filesystem"));
        }
        Ok(n)
    }

    /// Physical block of directory block `l`. Directories have no holes
    /// (ext2 never makes them and e2fsck repairs them), so a hole is
    /// damage: skipping it instead would let a damaged inode whose
    /// indirect blocks are zeros make every lookup walk millions of
    /// empty logical blocks.
    fn dir_block(&mut self, dir: &Inode, l: u64) -> Result<u32, FsError> {
        match self.bmap(dir, l)? {
            0 => Err(FsError::Corrupt("hole in a directory")),
            p => Ok(p),
        }
    }

    /// True when `dir` has an in-memory index (built now if it is large).
    fn indexed(&mut self, dir_ino: u32, dir: &Inode) -> Result<bool, FsError> {
        if !self.dindex.enabled() {
            return Ok(false);
        }
        if self.dindex.has(dir_ino) {
            return Ok(true);
        }
        let n = self.dir_blocks(dir)?;
        if n < dindex::MIN_BLOCKS || n > u32::MAX as u64 {
            return Ok(false);
        }
        let mut idx = dindex::DirIndex::new();
        for l in 0..n {
            let p = self.dir_block(dir, l)?;
            let b = self.cache.get(p as u64)?;
            let mut pos = 0;
            while pos < b.len() {
                let (e, rec, nl, _) = entry_at(b, pos)?;
                if e != 0 {
                    idx.add(dindex::hash(&b[pos + 8..pos + 8 + nl]), l as u32);
                }
                pos += rec;
            }
            idx.push_gap(block_gap(b)?);
        }
        self.dindex.install(dir_ino, idx);
        Ok(self.dindex.has(dir_ino))
    }

    /// Finds `name` in directory `dir` (indexed or linear).
    fn dir_find(&mut self, dir_ino: u32, dir: &Inode, name: &[u8]) -> Result<Option<Found>, FsError> {
        let hash = dindex::hash(name);
        if self.indexed(dir_ino, dir)? {
            for l in self.dindex.candidates(dir_ino, hash) {
                let p = self.dir_block(dir, l as u64)?;
                if let Some((ino, pos, prev)) = find_in_block(self.cache.get(p as u64)?, name)? {
                    return Ok(Some(Found { ino, lblk: l as u64, phys: p, pos, prev, hash }));
                }
            }
            return Ok(None);
        }
        let n = self.dir_blocks(dir)?;
        for l in 0..n {
            let p = self.dir_block(dir, l)?;
            if let Some((ino, pos, prev)) = find_in_block(self.cache.get(p as u64)?, name)? {
                return Ok(Some(Found { ino, lblk: l, phys: p, pos, prev, hash }));
            }
        }
        Ok(None)
    }

    /// Adds `name -> ino`; fails with `Exists` if the name is present.
    /// Reuses the first gap large enough before growing the directory.
    fn dir_insert(&mut self, dir_ino: u32, name: &[u8], ino: u32, ft: u8, now: u32) -> Result<(), FsError> {
        let r = self.dir_insert_inner(dir_ino, name, ino, ft, now);
        if r.is_err() {
            self.dindex.drop_dir(dir_ino);
        }
        r
    }

    fn dir_insert_inner(&mut self, dir_ino: u32, name: &[u8], ino: u32, ft: u8, now: u32) -> Result<(), FsError> {
        check_name(name)?;
        let mut dir = self.read_inode(dir_ino)?;
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        let need = rec_size(name.len());
        let n = self.dir_blocks(&dir)?;
        // (logical block, physical block, reuse?, pos)
        let mut slot: Option<(u64, u32, bool, usize)> = None;
        if self.indexed(dir_ino, &dir)? {
            if self.dir_find(dir_ino, &dir, name)?.is_some() {
                return Err(FsError::Exists);
            }
            if let Some(l) = self.dindex.first_gap(dir_ino, need) {
                let p = self.dir_block(&dir, l as u64)?;
                match slot_in_block(self.cache.get(p as u64)?, need)? {
                    Some((reuse, pos)) => slot = Some((l as u64, p, reuse, pos)),
                    None => return Err(FsError::Corrupt("directory index out of step")),
                }
            }
        } else {
            for l in 0..n {
                let p = self.dir_block(&dir, l)?;
                let b = self.cache.get(p as u64)?;
                if find_in_block(b, name)?.is_some() {
                    return Err(FsError::Exists);
                }
                if slot.is_none() {
                    if let Some((reuse, pos)) = slot_in_block(b, need)? {
                        slot = Some((l, p, reuse, pos));
                    }
                }
            }
        }
        let bs = self.sb.block_size;
        let (lblk, p) = match slot {
            Some((l, p, reuse, pos)) => {
                let b = self.cache.get_mut(p as u64, Class::Dir)?;
                let rec = le16(b, pos + 4) as usize;
                if reuse {
                    put_entry(b, pos, ino, rec, name, ft);
                } else {
                    let keep = rec_size(b[pos + 6] as usize);
                    put16(b, pos + 4, keep as u16);
                    put_entry(b, pos + keep, ino, rec - keep, name, ft);
                }
                (l, p)
            }
            None => {
                if dir.size + bs as u64 > u32::MAX as u64 {
                    return Err(FsError::TooBig);
                }
                let goal = match n {
                    0 => self.inode_group_goal(dir_ino),
                    _ => self.bmap(&dir, n - 1)? + 1,
                };
                let (p, _) = self.bmap_alloc(&mut dir, n, goal)?;
                let b = self.cache.zeroed(p as u64)?;
                put_entry(b, 0, ino, bs, name, ft);
                dir.size += bs as u64;
                (n, p)
            }
        };
        self.dindex.add_name(dir_ino, dindex::hash(name), lblk as u32);
        let gap = block_gap(self.cache.get(p as u64)?)?;
        self.dindex.set_gap(dir_ino, lblk as u32, gap);
        // Linear entries invalidate any on-disk hash index: drop the flag (legal).
        dir.flags &= !EXT2_INDEX_FL;
        dir.mtime = now;
        dir.ctime = now;
        self.write_inode(dir_ino, &dir)
    }

    /// Removes the entry found earlier (merging it into its predecessor).
    fn dir_remove(&mut self, dir_ino: u32, f: &Found, now: u32) -> Result<(), FsError> {
        let b = self.cache.get_mut(f.phys as u64, Class::Dir)?;
        let rec = le16(b, f.pos + 4) as usize;
        match f.prev {
            Some(pp) => {
                let prec = le16(b, pp + 4) as usize;
                put16(b, pp + 4, (prec + rec) as u16);
            }
            None => put32(b, f.pos, 0),
        }
        self.dindex.remove_name(dir_ino, f.hash, f.lblk as u32);
        match block_gap(self.cache.get(f.phys as u64)?) {
            Ok(gap) => self.dindex.set_gap(dir_ino, f.lblk as u32, gap),
            Err(_) => self.dindex.drop_dir(dir_ino),
        }
        let mut dir = self.read_inode(dir_ino)?;
        dir.flags &= !EXT2_INDEX_FL;
        dir.mtime = now;
        dir.ctime = now;
        self.write_inode(dir_ino, &dir)
    }

    /// Points an existing entry at another inode (rename over a target:
    /// one directory-entry update).
    fn dir_retarget(&mut self, dir_ino: u32, f: &Found, ino: u32, ft: u8, now: u32) -> Result<(), FsError> {
        let b = self.cache.get_mut(f.phys as u64, Class::Dir)?;
        put32(b, f.pos, ino);
        b[f.pos + 7] = ft;
        let mut dir = self.read_inode(dir_ino)?;
        dir.flags &= !EXT2_INDEX_FL;
        dir.mtime = now;
        dir.ctime = now;
        self.write_inode(dir_ino, &dir)
    }

    fn dir_is_empty(&mut self, dir: &Inode) -> Result<bool, FsError> {
        let n = self.dir_blocks(dir)?;
        for l in 0..n {
            let p = self.dir_block(dir, l)?;
            let b = self.cache.get(p as u64)?;
            let mut pos = 0;
            while pos < b.len() {
                let (e, rec, nl, _) = entry_at(b, pos)?;
                let name = &b[pos + 8..pos + 8 + nl.min(rec - 8)];
                if e != 0 && name != b"." && name != b".." {
                    return Ok(false);
                }
                pos += rec;
            }
        }
        Ok(true)
    }

    // ---- paths ----------------------------------------------------------

    fn components(path: &str) -> Result<impl Iterator<Item = &[u8]>, FsError> {
        if path.len() > MAX_PATH {
            return Err(FsError::InvalidName);
        }
        Ok(path.split('/').filter(|c| !c.is_empty()).map(|c| c.as_bytes()))
    }

    fn lookup_in(&mut self, dir_ino: u32, name: &[u8]) -> Result<u32, FsError> {
        let dir = self.read_inode(dir_ino)?;
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        match self.dir_find(dir_ino, &dir, name)? {
            Some(f) => {
                self.inode_loc(f.ino)?;
                Ok(f.ino)
            }
            None => Err(FsError::NotFound),
        }
    }

    /// Inode number of `path` (absolute, `/`-separated; symlinks are not
    /// followed).
    pub fn lookup(&mut self, path: &str) -> Result<u32, FsError> {
        let mut ino = ROOT_INO;
        for c in Self::components(path)? {
            if c.len() > 255 {
                return Err(FsError::InvalidName);
            }
            ino = self.lookup_in(ino, c)?;
        }
        Ok(ino)
    }

    /// Splits `path` into (parent inode, last name).
    fn parent_of<'p>(&mut self, path: &'p str) -> Result<(u32, &'p [u8]), FsError> {
        let trimmed = path.trim_end_matches('/');
        let (dir, name) = match trimmed.rfind('/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => ("", trimmed),
        };
        check_name(name.as_bytes())?;
        let d = self.lookup(dir)?;
        Ok((d, name.as_bytes()))
    }

    /// Metadata of `path`.
    pub fn stat(&mut self, path: &str) -> Result<Metadata, FsError> {
        let ino = self.lookup(path)?;
        self.stat_ino(ino)
    }

    /// Creates an empty regular file; `Exists` if the name is taken.
    pub fn create(&mut self, path: &str, now: u32) -> Result<u32, FsError> {
        self.bound_pending()?;
        let (parent, name) = self.parent_of(path)?;
        let pi = self.read_inode(parent)?;
        if !pi.is_dir() {
            return Err(FsError::NotDir);
        }
        if self.dir_find(parent, &pi, name)?.is_some() {
            return Err(FsError::Exists);
        }
        let ino = self.alloc_inode(false, parent)?;
        let mut inode = self.new_inode(ino, S_IFREG | (self.opts.file_perm & 0o7777), now)?;
        inode.links = 1;
        self.write_inode(ino, &inode)?;
        if let Err(e) = self.dir_insert(parent, name, ino, FT_REG, now) {
            self.release_inode(ino, inode, now)?;
            return Err(e);
        }
        Ok(ino)
    }

    /// Creates (or replaces the contents of) `path` with `data`.
    pub fn write_file(&mut self, path: &str, data: &[u8], now: u32) -> Result<u32, FsError> {
        let ino = match self.lookup(path) {
            Ok(ino) => {
                self.truncate(ino, 0, now)?;
                ino
            }
            Err(FsError::NotFound) => self.create(path, now)?,
            Err(e) => return Err(e),
        };
        self.write_at(ino, 0, data, now)?;
        Ok(ino)
    }

    /// Reads a whole file, refusing files larger than `limit` bytes.
    pub fn read_file(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, FsError> {
        let ino = self.lookup(path)?;
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        if inode.size > limit as u64 {
            return Err(FsError::TooBig);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(inode.size as usize).map_err(|_| FsError::TooBig)?;
        v.resize(inode.size as usize, 0);
        let n = self.read_inode_at(&inode, 0, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// Sets the modification time of `path`.
    pub fn set_mtime(&mut self, path: &str, mtime: u32) -> Result<(), FsError> {
        let ino = self.lookup(path)?;
        self.set_mtime_ino(ino, mtime)
    }

    /// Creates a directory with `.` and `..`.
    pub fn mkdir(&mut self, path: &str, now: u32) -> Result<u32, FsError> {
        self.bound_pending()?;
        let (parent, name) = self.parent_of(path)?;
        let mut pi = self.read_inode(parent)?;
        if !pi.is_dir() {
            return Err(FsError::NotDir);
        }
        if self.dir_find(parent, &pi, name)?.is_some() {
            return Err(FsError::Exists);
        }
        if pi.links >= LINK_MAX {
            return Err(FsError::TooManyLinks);
        }
        let ino = self.alloc_inode(true, parent)?;
        let mut inode = self.new_inode(ino, S_IFDIR | (self.opts.dir_perm & 0o7777), now)?;
        inode.links = 2;
        let goal = self.inode_group_goal(ino);
        let (p, _) = match self.bmap_alloc(&mut inode, 0, goal) {
            Ok(x) => x,
            Err(e) => {
                self.write_inode(ino, &inode)?;
                self.release_inode(ino, inode, now)?;
                return Err(e);
            }
        };
        let bs = self.sb.block_size;
        let b = self.cache.zeroed(p as u64)?;
        put_entry(b, 0, ino, 12, b".", FT_DIR);
        put_entry(b, 12, parent, bs - 12, b"..", FT_DIR);
        inode.size = bs as u64;
        self.write_inode(ino, &inode)?;
        if let Err(e) = self.dir_insert(parent, name, ino, FT_DIR, now) {
            self.release_inode(ino, inode, now)?;
            return Err(e);
        }
        pi = self.read_inode(parent)?;
        pi.links += 1;
        self.write_inode(parent, &pi)?;
        Ok(ino)
    }

    /// Adds the name `new` for the existing regular file `existing` (a hard
    /// link). With [`Ext2::remove_alias`] it makes a crash-safe move: link,
    /// flush, remove the old name. At every point in between both names are
    /// valid and the link count matches, so `e2fsck` finds nothing to fix.
    pub fn link(&mut self, existing: &str, new: &str, now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let ino = self.lookup(existing)?;
        let mut inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        if inode.links == 0 {
            return Err(FsError::NotFound);
        }
        if inode.links >= LINK_MAX {
            return Err(FsError::TooManyLinks);
        }
        let (parent, name) = self.parent_of(new)?;
        let ft = inode.file_type();
        self.dir_insert(parent, name, ino, ft, now)?;
        inode.links += 1;
        inode.ctime = now;
        self.write_inode(ino, &inode)
    }

    /// Removes the name `path` of a file that has another name: like
    /// `unlink`, but the link count never drops below 1 and the inode is
    /// never freed. Also repairs the crash leftover of a move (two names,
    /// link count 1).
    pub fn remove_alias(&mut self, path: &str, now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let (parent, name) = self.parent_of(path)?;
        let pi = self.read_inode(parent)?;
        if !pi.is_dir() {
            return Err(FsError::NotDir);
        }
        let f = self.dir_find(parent, &pi, name)?.ok_or(FsError::NotFound)?;
        let mut inode = self.read_inode(f.ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        self.dir_remove(parent, &f, now)?;
        if inode.links > 1 {
            inode.links -= 1;
            inode.ctime = now;
            self.write_inode(f.ino, &inode)?;
        }
        Ok(())
    }

    /// Removes a name that is not a directory; frees the inode at 0 links.
    pub fn unlink(&mut self, path: &str, now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let (parent, name) = self.parent_of(path)?;
        let pi = self.read_inode(parent)?;
        if !pi.is_dir() {
            return Err(FsError::NotDir);
        }
        let f = self.dir_find(parent, &pi, name)?.ok_or(FsError::NotFound)?;
        let mut inode = self.read_inode(f.ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        self.dir_remove(parent, &f, now)?;
        self.drop_link(f.ino, &mut inode, now)
    }

    /// Queues the replaced inode of a rename for [`Ext2::flush`].
    fn defer_drop(&mut self, ino: u32, now: u32, dir: bool) -> Result<(), FsError> {
        self.pending_drops.try_reserve(1).map_err(|_| FsError::NoSpace)?;
        self.pending_drops.push((ino, now, dir));
        // Write-backs from now on (evictions too) put the inodes first.
        self.cache.set_dir_barrier(true);
        if dir {
            // No longer reachable by name: forget its index now.
            self.dindex.drop_dir(ino);
        }
        Ok(())
    }

    pub(super) fn drop_link(&mut self, ino: u32, inode: &mut Inode, now: u32) -> Result<(), FsError> {
        if inode.links == 0 || inode.mode == 0 {
            // A name left pointing at a deleted inode (a crash between the
            // inode and the directory write): drop the name, and release the
            // inode's bitmap bit if it is still set.
            return self.free_inode_if_set(ino, inode.is_dir());
        }
        if inode.links <= 1 {
            self.release_inode(ino, inode.clone(), now)
        } else {
            inode.links -= 1;
            inode.ctime = now;
            self.write_inode(ino, inode)
        }
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, path: &str, now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let (parent, name) = self.parent_of(path)?;
        let pi = self.read_inode(parent)?;
        if !pi.is_dir() {
            return Err(FsError::NotDir);
        }
        let f = self.dir_find(parent, &pi, name)?.ok_or(FsError::NotFound)?;
        let inode = self.read_inode(f.ino)?;
        if !inode.is_dir() {
            return Err(FsError::NotDir);
        }
        if !self.dir_is_empty(&inode)? {
            return Err(FsError::NotEmpty);
        }
        self.dir_remove(parent, &f, now)?;
        self.release_inode(f.ino, inode, now)?;
        let mut pi = self.read_inode(parent)?;
        pi.links = pi.links.saturating_sub(1).max(2);
        self.write_inode(parent, &pi)
    }

    /// Renames `from` to `to`. An existing target (a file, or an empty
    /// directory when moving a directory) is replaced by rewriting its one
    /// directory entry, so a reader sees either the old or the new file.
    pub fn rename(&mut self, from: &str, to: &str, now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let (sp, sname) = self.parent_of(from)?;
        let (dp, dname) = self.parent_of(to)?;
        let spi = self.read_inode(sp)?;
        if !spi.is_dir() {
            return Err(FsError::NotDir);
        }
        let sf = self.dir_find(sp, &spi, sname)?.ok_or(FsError::NotFound)?;
        let src = self.read_inode(sf.ino)?;
        let moving_dir = src.is_dir();
        let dpi = self.read_inode(dp)?;
        if !dpi.is_dir() {
            return Err(FsError::NotDir);
        }
        if moving_dir && sp != dp {
            // Refuse to move a directory below itself: walk up from dp.
            let mut cur = dp;
            let mut steps = 0;
            while cur != ROOT_INO {
                if cur == sf.ino {
                    return Err(FsError::InvalidArgument);
                }
                cur = self.lookup_in(cur, b"..")?;
                steps += 1;
                if steps > 4096 {
                    return Err(FsError::Corrupt("directory loop"));
                }
            }
            if dpi.links >= LINK_MAX {
                return Err(FsError::TooManyLinks);
            }
        }
        let ft = src.file_type();
        match self.dir_find(dp, &dpi, dname)? {
            Some(df) => {
                if df.ino == sf.ino {
                    return Ok(());
                }
                let mut target = self.read_inode(df.ino)?;
                if moving_dir {
                    if !target.is_dir() {
                        return Err(FsError::NotDir);
                    }
                    if !self.dir_is_empty(&target)? {
                        return Err(FsError::NotEmpty);
                    }
                } else if target.is_dir() {
                    return Err(FsError::IsDir);
                }
                self.dir_retarget(dp, &df, sf.ino, ft, now)?;
                // The source entry may have moved if it shares the block; find again.
                let spi = self.read_inode(sp)?;
                let sf2 = self.dir_find(sp, &spi, sname)?.ok_or(FsError::Corrupt("source vanished"))?;
                self.dir_remove(sp, &sf2, now)?;
                // The replaced inode is dropped by the next flush, after
                // the directory block naming the new one is on disk: until
                // then a crash must find the old file complete.
                if target.is_dir() {
                    self.defer_drop(df.ino, now, true)?;
                    // The replaced directory's ".." link to dp is gone.
                    let mut d = self.read_inode(dp)?;
                    d.links = d.links.saturating_sub(1).max(2);
                    self.write_inode(dp, &d)?;
                } else if target.links == 0 || target.mode == 0 {
                    // Already deleted (a name left by a crash).
                    self.drop_link(df.ino, &mut target, now)?;
                } else {
                    self.defer_drop(df.ino, now, false)?;
                }
            }
            None => {
                self.dir_insert(dp, dname, sf.ino, ft, now)?;
                let spi = self.read_inode(sp)?;
                let sf2 = self.dir_find(sp, &spi, sname)?.ok_or(FsError::Corrupt("source vanished"))?;
                self.dir_remove(sp, &sf2, now)?;
            }
        }
        if moving_dir && sp != dp {
            // Repoint "..", move the parent link.
            let moved = self.read_inode(sf.ino)?;
            let dotdot = self.dir_find(sf.ino, &moved, b"..")?.ok_or(FsError::Corrupt("directory without .."))?;
            let b = self.cache.get_mut(dotdot.phys as u64, Class::Dir)?;
            put32(b, dotdot.pos, dp);
            let mut s = self.read_inode(sp)?;
            s.links = s.links.saturating_sub(1).max(2);
            self.write_inode(sp, &s)?;
            let mut d = self.read_inode(dp)?;
            d.links += 1;
            self.write_inode(dp, &d)?;
        }
        let mut s = self.read_inode(sf.ino)?;
        s.ctime = now;
        self.write_inode(sf.ino, &s)
    }

    /// Calls `f` for every entry of directory `path` except `.` and `..`,
    /// in on-disk order, until `f` returns false.
    pub fn read_dir(&mut self, path: &str, mut f: impl FnMut(DirEntry<'_>) -> bool) -> Result<(), FsError> {
        let ino = self.lookup(path)?;
        let dir = self.read_inode(ino)?;
        if !dir.is_dir() {
            return Err(FsError::NotDir);
        }
        let n = self.dir_blocks(&dir)?;
        let max_ino = self.sb.inodes_count;
        for l in 0..n {
            let p = self.dir_block(&dir, l)?;
            let b = self.cache.get(p as u64)?;
            let mut pos = 0;
            while pos < b.len() {
                let (e, rec, nl, ft) = entry_at(b, pos)?;
                if e != 0 {
                    if e > max_ino {
                        return Err(FsError::Corrupt("directory entry inode out of range"));
                    }
                    let name = &b[pos + 8..pos + 8 + nl];
                    if name != b"." && name != b".." && !f(DirEntry { name, ino: e, kind: kind_of(ft) }) {
                        return Ok(());
                    }
                }
                pos += rec;
            }
        }
        Ok(())
    }
}
