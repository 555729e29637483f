//! An ext2 (revision 1) filesystem: the mail disk any Linux host can read.
//!
//! Supported: the features `mke2fs -t ext2` turns on (filetype,
//! sparse_super, large_file, resize_inode, dir_index, ext_attr) with 1, 2 or
//! 4 KiB blocks. Directories are written linearly: a directory we modify has
//! its htree flag (`EXT2_INDEX_FL`) cleared, which the format allows (an
//! htree directory is also a valid linear one). Lookups are linear scans of
//! the directory blocks (fine for Maildir folders of tens of thousands of
//! names; the block cache keeps hot directories in memory); inserts reuse
//! the first gap large enough before growing the directory.
//!
//! Nothing here reads a clock: every mutating call takes `now`, a unix time.
//! Every value read from the disk is bounds-checked; a damaged image gives
//! [`FsError::Corrupt`], never a panic.

mod cache;
mod dindex;
mod dir;
mod format;
mod layout;

use alloc::vec::Vec;

use cache::Cache;
pub use cache::Class;
use layout::*;

use crate::block::{BlockDevice, DevError, SECTOR_SIZE};

pub use dir::DirEntry;
pub use format::{format, FormatOptions};

/// Everything that can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    /// The block device failed.
    Device(DevError),
    /// The image is damaged (the text says where).
    Corrupt(&'static str),
    /// The image uses something we do not implement.
    Unsupported(&'static str),
    NotFound,
    Exists,
    NotDir,
    IsDir,
    NotEmpty,
    /// No free block.
    NoSpace,
    /// No free inode.
    NoInodes,
    /// Empty, `.`/`..`, longer than 255 bytes, or contains `/` or NUL.
    InvalidName,
    /// A rename would move a directory into itself, or similar.
    InvalidArgument,
    /// Beyond the largest file the block map can address.
    TooBig,
    /// A directory would exceed the ext2 link limit.
    TooManyLinks,
    /// Mounted with `read_only`.
    ReadOnly,
}

impl core::fmt::Display for FsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FsError::Device(e) => write!(f, "device error: {e:?}"),
            FsError::Corrupt(w) => write!(f, "filesystem damaged: {w}"),
            FsError::Unsupported(w) => write!(f, "unsupported filesystem: {w}"),
            FsError::NotFound => f.write_str("not found"),
            FsError::Exists => f.write_str("already exists"),
            FsError::NotDir => f.write_str("not a directory"),
            FsError::IsDir => f.write_str("is a directory"),
            FsError::NotEmpty => f.write_str("directory not empty"),
            FsError::NoSpace => f.write_str("no space left"),
            FsError::NoInodes => f.write_str("no free inodes"),
            FsError::InvalidName => f.write_str("invalid name"),
            FsError::InvalidArgument => f.write_str("invalid argument"),
            FsError::TooBig => f.write_str("file too large"),
            FsError::TooManyLinks => f.write_str("too many links"),
            FsError::ReadOnly => f.write_str("read-only filesystem"),
        }
    }
}

impl From<DevError> for FsError {
    fn from(e: DevError) -> Self {
        FsError::Device(e)
    }
}

/// Kind of a directory entry or inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    File,
    Dir,
    Symlink,
    Other,
}

impl FileType {
    fn from_mode(mode: u16) -> FileType {
        match mode & S_IFMT {
            S_IFREG => FileType::File,
            S_IFDIR => FileType::Dir,
            S_IFLNK => FileType::Symlink,
            _ => FileType::Other,
        }
    }
}

/// What `stat` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    pub ino: u32,
    pub kind: FileType,
    pub size: u64,
    pub mtime: u32,
    pub ctime: u32,
    pub links: u16,
    /// Permission bits (`0o7777` part of `i_mode`).
    pub perm: u16,
}

/// Mount-time choices.
#[derive(Debug, Clone, Copy)]
pub struct MountOptions {
    /// Most blocks kept in the cache (bounded memory: `cache_blocks * block size`).
    pub cache_blocks: usize,
    /// Owner of the files and directories we create (the host's mail user).
    pub uid: u32,
    pub gid: u32,
    /// Permission bits of new files and directories.
    pub file_perm: u16,
    pub dir_perm: u16,
    /// Recompute free counts from the bitmaps at mount (reads every bitmap
    /// block once; repairs counts left stale by a crash).
    pub recount: bool,
    /// Refuse every change and never write (a config disk, an inspection).
    pub read_only: bool,
    /// Most directory names kept in the in-memory indexes of large
    /// directories (about 30 bytes each); 0 turns them off.
    pub dir_index_entries: usize,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            cache_blocks: 1024,
            uid: 0,
            gid: 0,
            file_perm: 0o600,
            dir_perm: 0o700,
            recount: true,
            read_only: false,
            dir_index_entries: 100_000,
        }
    }
}

/// Most deferred frees kept before a flush is forced (4 bytes each).
const MAX_PENDING: usize = 1 << 18;

/// ext2 limits a directory's link count (subdirectories + 2).
const LINK_MAX: u16 = 32000;

/// A mounted ext2 filesystem over a block device.
pub struct Ext2<D: BlockDevice> {
    cache: Cache<D>,
    sb: Super,
    groups: Vec<Group>,
    opts: MountOptions,
    reserved_gdt: u32,
    gdt_blocks: u32,
    meta_dirty: bool,
    /// Blocks and inodes freed since the last flush. Their bitmap bits stay
    /// set until the metadata that stopped referring to them is on disk (see
    /// [`Ext2::flush`]), so a crash can leak them but never hand them out
    /// twice.
    pending_blocks: Vec<u32>,
    pending_inodes: Vec<(u32, bool)>,
    /// Names replaced by a rename since the last flush: (inode, time, is a
    /// directory). The replaced inode keeps its link and its blocks until
    /// the directory block naming the new inode is on disk (see
    /// [`Ext2::flush`]); a crash before that leaves the old name on the
    /// complete old file.
    pending_drops: Vec<(u32, u32, bool)>,
    /// In-memory indexes of large directories.
    dindex: dindex::DirIndexes,
    /// `s_state` found at mount (bit 0: cleanly unmounted).
    mount_state: u16,
    /// We have written "not clean" into the superblock.
    marked_dirty: bool,
    /// Block addresses per indirect block.
    apb: u64,
}

impl<D: BlockDevice> Ext2<D> {
    /// Mounts `dev` with default options.
    pub fn mount(dev: D) -> Result<Self, FsError> {
        Self::mount_with(dev, MountOptions::default())
    }

    /// Reads and validates the superblock and group descriptors.
    pub fn mount_with(mut dev: D, opts: MountOptions) -> Result<Self, FsError> {
        let dev_bytes = dev.capacity().saturating_mul(SECTOR_SIZE as u64);
        let mut raw = [0u8; 1024];
        dev.read_blocks(2, &mut raw)?;
        let sb = Super::parse(&raw, dev_bytes)?;
        let reserved_gdt = le16(&raw, 206) as u32;
        let bs = sb.block_size;
        let gdt_blocks = (sb.groups as usize * GROUP_DESC_SIZE).div_ceil(bs) as u32;
        let mut cache = Cache::new(dev, bs, opts.cache_blocks);
        let gdt_start = sb.first_data_block + 1;
        if gdt_start as u64 + gdt_blocks as u64 + reserved_gdt as u64 > sb.blocks_count as u64 {
            return Err(FsError::Corrupt("group descriptors past end"));
        }
        let itb = sb.inode_table_blocks();
        let mut groups = Vec::new();
        groups.try_reserve_exact(sb.groups as usize).map_err(|_| FsError::Unsupported("too many groups"))?;
        for g in 0..sb.groups {
            let byte = g as usize * GROUP_DESC_SIZE;
            let b = cache.get((gdt_start as usize + byte / bs) as u64)?;
            let gd = Group::parse(&b[byte % bs..byte % bs + GROUP_DESC_SIZE]);
            let start = sb.first_data_block + g * sb.blocks_per_group;
            let end = start + sb.blocks_in_group(g);
            let inside = |b: u32, n: u32| b >= start && (b as u64 + n as u64) <= end as u64;
            if !inside(gd.block_bitmap, 1) || !inside(gd.inode_bitmap, 1) || !inside(gd.inode_table, itb) {
                return Err(FsError::Corrupt("group descriptor points outside its group"));
            }
            if gd.free_blocks as u32 > sb.blocks_in_group(g)
                || gd.free_inodes as u32 > sb.inodes_per_group
                || gd.used_dirs as u32 > sb.inodes_per_group
            {
                return Err(FsError::Corrupt("group descriptor counts"));
            }
            groups.push(gd);
        }
        let apb = (bs / 4) as u64;
        let mount_state = le16(&raw, 58);
        let mut fs = Ext2 {
            cache,
            sb,
            groups,
            opts,
            reserved_gdt,
            gdt_blocks,
            meta_dirty: false,
            apb,
            pending_blocks: Vec::new(),
            pending_inodes: Vec::new(),
            pending_drops: Vec::new(),
            mount_state,
            marked_dirty: false,
            dindex: dindex::DirIndexes::new(opts.dir_index_entries),
        };
        let root = fs.read_inode(ROOT_INO)?;
        if !root.is_dir() || root.links == 0 {
            return Err(FsError::Corrupt("root is not a directory"));
        }
        if opts.recount && !opts.read_only {
            fs.recount()?;
        }
        Ok(fs)
    }

    /// Recomputes the free counts from the bitmaps (they may lag after a
    /// crash; the bitmaps are authoritative).
    fn recount(&mut self) -> Result<(), FsError> {
        let (mut fb, mut fi) = (0u32, 0u32);
        for g in 0..self.sb.groups {
            let n = self.sb.blocks_in_group(g);
            let gd = self.groups[g as usize];
            let free_b = count_zero(self.cache.get(gd.block_bitmap as u64)?, n);
            let free_i = count_zero(self.cache.get(gd.inode_bitmap as u64)?, self.sb.inodes_per_group);
            if free_b != gd.free_blocks as u32 || free_i != gd.free_inodes as u32 {
                let gd = &mut self.groups[g as usize];
                gd.free_blocks = free_b as u16;
                gd.free_inodes = free_i as u16;
                self.meta_dirty = true;
            }
            fb += free_b;
            fi += free_i;
        }
        if fb != self.sb.free_blocks || fi != self.sb.free_inodes {
            self.sb.free_blocks = fb;
            self.sb.free_inodes = fi;
            self.meta_dirty = true;
        }
        Ok(())
    }

    /// Writes everything back and flushes the device (the durability
    /// point: data blocks first, a barrier, then metadata, then a flush).
    ///
    /// Three steps, each ended by a device flush: (1) file data, (2) all
    /// metadata (bitmaps with new allocations, indirect blocks, inodes,
    /// directories, descriptors and superblock), (3) only if something was
    /// freed: the bitmap bits of freed blocks and inodes. A crash at any
    /// point leaves at worst leaked blocks/inodes or a stale link count,
    /// which `e2fsck -p` repairs unattended, and never a block in use by two
    /// files.
    ///
    /// After a rename over an existing name, step (2) has a barrier between
    /// the inodes and the directory blocks, and the replaced inode is
    /// dropped only after it, in a step of its own: its link count, size
    /// and block map go to disk once no name can lead to it any more, and
    /// its blocks are freed in step (3) after that. So the name gives the
    /// old file or the new one at every point (DESIGN.md: rename is atomic).
    pub fn flush(&mut self) -> Result<(), FsError> {
        self.flush_with(true)
    }

    /// `drops`: also drop the inodes replaced by renames. False where a
    /// flush runs inside an operation (an allocation that needs freed
    /// space), which may hold a copy of one of those inodes.
    fn flush_with(&mut self, drops: bool) -> Result<(), FsError> {
        if self.opts.read_only {
            return Ok(());
        }
        if !self.marked_dirty && (self.meta_dirty || self.cache.has_dirty()) {
            // Like Linux: "not clean" while mounted with changes, so a host
            // fsck checks the disk after a crash.
            self.marked_dirty = true;
            self.meta_dirty = true;
        }
        self.sync_meta()?;
        self.cache.set_dir_barrier(!self.pending_drops.is_empty());
        self.cache.flush()?;
        if drops && !self.pending_drops.is_empty() {
            // The directory blocks naming the new inodes are on disk.
            self.cache.set_dir_barrier(false);
            for (ino, now, dir) in core::mem::take(&mut self.pending_drops) {
                let mut inode = self.read_inode(ino)?;
                if dir {
                    self.release_inode(ino, inode, now)?;
                } else {
                    self.drop_link(ino, &mut inode, now)?;
                }
            }
            // Block pointers and link counts on disk before the bitmap
            // bits of what they pointed at are cleared.
            self.sync_meta()?;
            self.cache.flush()?;
        }
        if !self.pending_blocks.is_empty() || !self.pending_inodes.is_empty() {
            self.apply_frees()?;
            self.sync_meta()?;
            self.cache.flush()?;
        }
        Ok(())
    }

    fn apply_frees(&mut self) -> Result<(), FsError> {
        let mut blocks = core::mem::take(&mut self.pending_blocks);
        blocks.sort_unstable();
        blocks.dedup();
        for b in blocks {
            let rel = b - self.sb.first_data_block;
            let g = rel / self.sb.blocks_per_group;
            let bit = rel % self.sb.blocks_per_group;
            let bm = self.groups[g as usize].block_bitmap as u64;
            let bits = self.cache.get_mut(bm, Class::Bitmap)?;
            let mask = 1u8 << (bit % 8);
            if bits[(bit / 8) as usize] & mask != 0 {
                bits[(bit / 8) as usize] &= !mask;
                let gd = &mut self.groups[g as usize];
                gd.free_blocks = gd.free_blocks.saturating_add(1);
                self.sb.free_blocks = self.sb.free_blocks.saturating_add(1);
            }
        }
        let mut inodes = core::mem::take(&mut self.pending_inodes);
        inodes.sort_unstable();
        inodes.dedup_by_key(|x| x.0);
        let ipg = self.sb.inodes_per_group;
        for (ino, dir) in inodes {
            let g = (ino - 1) / ipg;
            let bit = (ino - 1) % ipg;
            let bm = self.groups[g as usize].inode_bitmap as u64;
            let bits = self.cache.get_mut(bm, Class::Bitmap)?;
            let mask = 1u8 << (bit % 8);
            if bits[(bit / 8) as usize] & mask != 0 {
                bits[(bit / 8) as usize] &= !mask;
                let gd = &mut self.groups[g as usize];
                gd.free_inodes = gd.free_inodes.saturating_add(1);
                if dir {
                    gd.used_dirs = gd.used_dirs.saturating_sub(1);
                }
                self.sb.free_inodes = self.sb.free_inodes.saturating_add(1);
            }
        }
        self.meta_dirty = true;
        Ok(())
    }

    /// Bounds the memory held by deferred frees: called where no freed
    /// block can still be referenced from the cache (between operations).
    fn bound_pending(&mut self) -> Result<(), FsError> {
        if self.opts.read_only {
            return Err(FsError::ReadOnly);
        }
        if self.pending_blocks.len() + self.pending_inodes.len() + self.pending_drops.len() > MAX_PENDING {
            self.flush()?;
        }
        Ok(())
    }

    /// Flushes and hands the device back.
    pub fn unmount(mut self) -> Result<D, FsError> {
        if self.opts.read_only {
            return Ok(self.cache.into_device());
        }
        self.flush()?;
        if self.marked_dirty && self.mount_state & 1 != 0 {
            // Back to "clean" only if it was clean when we found it.
            self.marked_dirty = false;
            self.meta_dirty = true;
            self.sync_meta()?;
            self.cache.flush()?;
        }
        Ok(self.cache.into_device())
    }

    /// Access to the device (for example to count flushes in tests).
    pub fn device(&mut self) -> &mut D {
        self.cache.device()
    }

    pub fn block_size(&self) -> usize {
        self.sb.block_size
    }
    /// Free blocks (blocks freed since the last flush count after it).
    pub fn free_blocks(&self) -> u32 {
        self.sb.free_blocks
    }
    pub fn free_inodes(&self) -> u32 {
        self.sb.free_inodes
    }

    fn sync_meta(&mut self) -> Result<(), FsError> {
        if !self.meta_dirty {
            return Ok(());
        }
        let bs = self.sb.block_size;
        let gdt_start = (self.sb.first_data_block + 1) as usize;
        for (g, gd) in self.groups.iter().enumerate() {
            let byte = g * GROUP_DESC_SIZE;
            let b = self.cache.get_mut((gdt_start + byte / bs) as u64, Class::Super)?;
            gd.store(&mut b[byte % bs..byte % bs + GROUP_DESC_SIZE]);
        }
        let b = self.cache.get_mut((1024 / bs) as u64, Class::Super)?;
        let off = 1024 % bs;
        self.sb.store_counts(&mut b[off..off + 1024]);
        let state = if self.marked_dirty { self.mount_state & !1 } else { self.mount_state };
        put16(b, off + 58, state);
        self.meta_dirty = false;
        Ok(())
    }

    // ---- inodes -------------------------------------------------------

    fn inode_loc(&self, ino: u32) -> Result<(u64, usize), FsError> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(FsError::Corrupt("inode number out of range"));
        }
        let g = (ino - 1) / self.sb.inodes_per_group;
        let idx = ((ino - 1) % self.sb.inodes_per_group) as usize;
        let byte = idx * self.sb.inode_size;
        let bs = self.sb.block_size;
        Ok((self.groups[g as usize].inode_table as u64 + (byte / bs) as u64, byte % bs))
    }

    fn read_inode(&mut self, ino: u32) -> Result<Inode, FsError> {
        let (blk, off) = self.inode_loc(ino)?;
        let b = self.cache.get(blk)?;
        let inode = Inode::parse(&b[off..off + 128]);
        // The size bounds every later loop: check it against the map.
        if inode.size > self.max_file_size() {
            return Err(FsError::Corrupt("inode size beyond block map"));
        }
        Ok(inode)
    }

    fn write_inode(&mut self, ino: u32, inode: &Inode) -> Result<(), FsError> {
        let (blk, off) = self.inode_loc(ino)?;
        let b = self.cache.get_mut(blk, Class::Inode)?;
        inode.store(&mut b[off..off + 128]);
        Ok(())
    }

    /// Largest size the block map (and `i_blocks` in 512-byte units) allows.
    fn max_file_size(&self) -> u64 {
        let a = self.apb;
        let blocks = 12 + a + a * a + a * a * a;
        let by_map = blocks * self.sb.block_size as u64;
        by_map.min((u32::MAX as u64) * 512 / 2)
    }

    fn check_block(&self, b: u32) -> Result<u32, FsError> {
        if b < self.sb.first_data_block || b >= self.sb.blocks_count {
            return Err(FsError::Corrupt("block pointer out of range"));
        }
        Ok(b)
    }

    // ---- allocation ---------------------------------------------------

    fn group_has_super(&self, g: u32) -> bool {
        if g <= 1 || self.sb.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        for p in [3u32, 5, 7] {
            let mut x = p;
            while x < g {
                x = x.saturating_mul(p);
            }
            if x == g {
                return true;
            }
        }
        false
    }

    /// True when `b` holds group metadata (a hostile bitmap could mark it free).
    fn is_meta_block(&self, b: u32) -> bool {
        let g = (b - self.sb.first_data_block) / self.sb.blocks_per_group;
        let start = self.sb.first_data_block + g * self.sb.blocks_per_group;
        let gd = &self.groups[g as usize];
        if b == gd.block_bitmap || b == gd.inode_bitmap {
            return true;
        }
        if b >= gd.inode_table && b < gd.inode_table + self.sb.inode_table_blocks() {
            return true;
        }
        self.group_has_super(g) && b < start + 1 + self.gdt_blocks + self.reserved_gdt
    }

    fn alloc_block(&mut self, goal: u32) -> Result<u32, FsError> {
        match self.alloc_block_once(goal) {
            // Blocks freed earlier in this batch become usable once the
            // metadata that dropped them is on disk. Allocation never runs
            // while a freed block is still referenced, so flushing is safe.
            Err(FsError::NoSpace) if !self.pending_blocks.is_empty() => {
                self.flush_with(false)?;
                self.alloc_block_once(goal)
            }
            r => r,
        }
    }

    fn alloc_block_once(&mut self, goal: u32) -> Result<u32, FsError> {
        if self.sb.free_blocks == 0 {
            return Err(FsError::NoSpace);
        }
        let fdb = self.sb.first_data_block;
        let goal = if goal < fdb || goal >= self.sb.blocks_count { fdb } else { goal };
        let g0 = (goal - fdb) / self.sb.blocks_per_group;
        let ng = self.sb.groups;
        for k in 0..=ng {
            let g = (g0 + k) % ng;
            if self.groups[g as usize].free_blocks == 0 {
                continue;
            }
            let start = fdb + g * self.sb.blocks_per_group;
            let n = self.sb.blocks_in_group(g);
            let from = if k == 0 { goal - start } else { 0 };
            let bm = self.groups[g as usize].block_bitmap as u64;
            let bits = self.cache.get(bm)?;
            let found = find_zero(bits, from, n).or_else(|| find_zero(bits, 0, from.min(n)));
            if let Some(bit) = found {
                let b = start + bit;
                if self.is_meta_block(b) {
                    return Err(FsError::Corrupt("block bitmap marks metadata free"));
                }
                let bits = self.cache.get_mut(bm, Class::Bitmap)?;
                bits[(bit / 8) as usize] |= 1 << (bit % 8);
                self.groups[g as usize].free_blocks -= 1;
                self.sb.free_blocks -= 1;
                self.meta_dirty = true;
                return Ok(b);
            }
        }
        Err(FsError::NoSpace)
    }

    fn free_block(&mut self, b: u32) -> Result<(), FsError> {
        self.check_block(b)?;
        if self.is_meta_block(b) {
            return Err(FsError::Corrupt("freeing a metadata block"));
        }
        let rel = b - self.sb.first_data_block;
        let g = rel / self.sb.blocks_per_group;
        let bit = rel % self.sb.blocks_per_group;
        let bm = self.groups[g as usize].block_bitmap as u64;
        let bits = self.cache.get(bm)?;
        if bits[(bit / 8) as usize] & (1u8 << (bit % 8)) == 0 {
            return Err(FsError::Corrupt("block freed twice"));
        }
        self.pending_blocks.push(b);
        self.cache.forget(b as u64);
        Ok(())
    }

    fn alloc_inode(&mut self, dir: bool, parent: u32) -> Result<u32, FsError> {
        match self.alloc_inode_once(dir, parent) {
            // As for blocks: inodes freed in this batch after a flush.
            Err(FsError::NoInodes) if !self.pending_inodes.is_empty() => {
                self.flush_with(false)?;
                self.alloc_inode_once(dir, parent)
            }
            r => r,
        }
    }

    fn alloc_inode_once(&mut self, dir: bool, parent: u32) -> Result<u32, FsError> {
        if self.sb.free_inodes == 0 {
            return Err(FsError::NoInodes);
        }
        let ipg = self.sb.inodes_per_group;
        let ng = self.sb.groups;
        let pg = ((parent.max(1) - 1) / ipg).min(ng - 1);
        // Directories go to the group with the most free blocks (spreads
        // folders over the disk); files stay beside their directory.
        let g0 = if dir {
            (0..ng)
                .filter(|&g| self.groups[g as usize].free_inodes > 0)
                .max_by_key(|&g| (self.groups[g as usize].free_blocks, u32::MAX - g))
                .unwrap_or(pg)
        } else {
            pg
        };
        for k in 0..ng {
            let g = (g0 + k) % ng;
            if self.groups[g as usize].free_inodes == 0 {
                continue;
            }
            let from = if g == 0 { self.sb.first_ino - 1 } else { 0 };
            if from >= ipg {
                continue;
            }
            let bm = self.groups[g as usize].inode_bitmap as u64;
            let bits = self.cache.get(bm)?;
            if let Some(bit) = find_zero(bits, from, ipg) {
                let bits = self.cache.get_mut(bm, Class::Bitmap)?;
                bits[(bit / 8) as usize] |= 1 << (bit % 8);
                let gd = &mut self.groups[g as usize];
                gd.free_inodes -= 1;
                if dir {
                    gd.used_dirs = gd.used_dirs.saturating_add(1);
                }
                self.sb.free_inodes -= 1;
                self.meta_dirty = true;
                return Ok(g * ipg + bit + 1);
            }
        }
        Err(FsError::NoInodes)
    }

    fn free_inode(&mut self, ino: u32, dir: bool) -> Result<(), FsError> {
        self.inode_loc(ino)?;
        let ipg = self.sb.inodes_per_group;
        let g = (ino - 1) / ipg;
        let bit = (ino - 1) % ipg;
        let bm = self.groups[g as usize].inode_bitmap as u64;
        let bits = self.cache.get(bm)?;
        if bits[(bit / 8) as usize] & (1u8 << (bit % 8)) == 0 {
            return Err(FsError::Corrupt("inode freed twice"));
        }
        self.pending_inodes.push((ino, dir));
        Ok(())
    }

    fn free_inode_if_set(&mut self, ino: u32, dir: bool) -> Result<(), FsError> {
        self.inode_loc(ino)?;
        let ipg = self.sb.inodes_per_group;
        let (g, bit) = ((ino - 1) / ipg, (ino - 1) % ipg);
        let bm = self.groups[g as usize].inode_bitmap as u64;
        if self.cache.get(bm)?[(bit / 8) as usize] & (1u8 << (bit % 8)) != 0 {
            self.pending_inodes.push((ino, dir));
        }
        Ok(())
    }

    /// A fresh inode: slot zeroed, then the fields e2fsck expects.
    fn new_inode(&mut self, ino: u32, mode: u16, now: u32) -> Result<Inode, FsError> {
        let (blk, off) = self.inode_loc(ino)?;
        let isz = self.sb.inode_size;
        let b = self.cache.get_mut(blk, Class::Inode)?;
        b[off..off + isz].iter_mut().for_each(|x| *x = 0);
        if isz >= 160 {
            // i_extra_isize: the 32 bytes mke2fs asks for (s_want_extra_isize).
            put16(b, off + 128, 32);
        }
        let mut inode = Inode::parse(&b[off..off + 128]);
        inode.mode = mode;
        inode.atime = now;
        inode.ctime = now;
        inode.mtime = now;
        put16(&mut inode.raw, 2, self.opts.uid as u16);
        put16(&mut inode.raw, 120, (self.opts.uid >> 16) as u16);
        put16(&mut inode.raw, 24, self.opts.gid as u16);
        put16(&mut inode.raw, 122, (self.opts.gid >> 16) as u16);
        Ok(inode)
    }

    fn inode_group_goal(&self, ino: u32) -> u32 {
        let g = (ino.max(1) - 1) / self.sb.inodes_per_group;
        let gd = &self.groups[g as usize];
        gd.inode_table + self.sb.inode_table_blocks()
    }

    // ---- block map ----------------------------------------------------

    /// Path through the block map: depth and the index at each level.
    fn map_path(&self, lblk: u64) -> Result<(usize, [usize; 4]), FsError> {
        let a = self.apb;
        if lblk < 12 {
            return Ok((0, [lblk as usize, 0, 0, 0]));
        }
        let l = lblk - 12;
        if l < a {
            return Ok((1, [12, l as usize, 0, 0]));
        }
        let l = l - a;
        if l < a * a {
            return Ok((2, [13, (l / a) as usize, (l % a) as usize, 0]));
        }
        let l = l - a * a;
        if l < a * a * a {
            return Ok((3, [14, (l / (a * a)) as usize, ((l / a) % a) as usize, (l % a) as usize]));
        }
        Err(FsError::TooBig)
    }

    /// Physical block of logical block `lblk`, 0 for a hole.
    fn bmap(&mut self, inode: &Inode, lblk: u64) -> Result<u32, FsError> {
        let (depth, idx) = self.map_path(lblk)?;
        let mut p = inode.block[idx[0]];
        for &i in &idx[1..=depth] {
            if p == 0 {
                return Ok(0);
            }
            self.check_block(p)?;
            p = le32(self.cache.get(p as u64)?, i * 4);
        }
        if p != 0 {
            self.check_block(p)?;
        }
        Ok(p)
    }

    /// Like `bmap`, allocating the block (and indirect blocks) when absent.
    /// Returns the block and whether it is new (its contents are garbage).
    fn bmap_alloc(&mut self, inode: &mut Inode, lblk: u64, goal: u32) -> Result<(u32, bool), FsError> {
        let (depth, idx) = self.map_path(lblk)?;
        let per = (self.sb.block_size / 512) as u32;
        // Room for the worst case first, so running out of space never
        // leaves a half-built branch of indirect blocks.
        let worst = depth as u32 + 1;
        if self.sb.free_blocks < worst && !self.pending_blocks.is_empty() {
            self.flush_with(false)?;
        }
        if self.sb.free_blocks < worst {
            return Err(FsError::NoSpace);
        }
        let mut p = inode.block[idx[0]];
        let mut fresh = false;
        if p == 0 {
            p = self.alloc_block(goal)?;
            inode.block[idx[0]] = p;
            inode.blocks512 = inode.blocks512.saturating_add(per);
            if depth > 0 {
                self.cache.zeroed(p as u64)?;
            } else {
                fresh = true;
            }
        }
        for level in 1..=depth {
            self.check_block(p)?;
            if self.is_meta_block(p) {
                return Err(FsError::Corrupt("indirect block points at filesystem metadata"));
            }
            let i = idx[level] * 4;
            let mut q = le32(self.cache.get(p as u64)?, i);
            if q == 0 {
                q = self.alloc_block(goal)?;
                inode.blocks512 = inode.blocks512.saturating_add(per);
                if level < depth {
                    self.cache.zeroed(q as u64)?;
                } else {
                    fresh = true;
                }
                put32(self.cache.get_mut(p as u64, Class::Indirect)?, i, q);
            }
            p = q;
        }
        self.check_block(p)?;
        if !fresh && self.is_meta_block(p) {
            return Err(FsError::Corrupt("file block points at filesystem metadata"));
        }
        Ok((p, fresh))
    }

    /// Frees a whole subtree of the block map; returns blocks freed.
    fn free_tree(&mut self, blk: u32, level: u32) -> Result<u32, FsError> {
        self.check_block(blk)?;
        let mut freed = 0;
        if level > 0 {
            let entries = self.read_ptrs(blk)?;
            for e in entries.into_iter().filter(|&e| e != 0) {
                freed += self.free_tree(e, level - 1)?;
            }
        }
        self.free_block(blk)?;
        Ok(freed + 1)
    }

    fn read_ptrs(&mut self, blk: u32) -> Result<Vec<u32>, FsError> {
        let b = self.cache.get(blk as u64)?;
        Ok(b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Frees the entries of indirect block `blk` (at `level`) covering
    /// relative logical blocks `from..`. Returns (freed, now empty).
    fn trim(&mut self, blk: u32, level: u32, from: u64) -> Result<(u32, bool), FsError> {
        self.check_block(blk)?;
        let span = self.apb.pow(level - 1);
        let mut entries = self.read_ptrs(blk)?;
        let first = (from / span) as usize;
        let mut freed = 0;
        let mut changed = false;
        for i in first..entries.len() {
            let e = entries[i];
            if e == 0 {
                continue;
            }
            if i == first && from % span != 0 {
                let (f, empty) = self.trim(e, level - 1, from % span)?;
                freed += f;
                if empty {
                    entries[i] = 0;
                    changed = true;
                }
            } else {
                freed += self.free_tree(e, level - 1)?;
                entries[i] = 0;
                changed = true;
            }
        }
        if entries.iter().all(|&e| e == 0) {
            self.free_block(blk)?;
            return Ok((freed + 1, true));
        }
        if changed {
            let b = self.cache.get_mut(blk as u64, Class::Indirect)?;
            for (i, e) in entries.iter().enumerate() {
                put32(b, i * 4, *e);
            }
        }
        Ok((freed, false))
    }

    /// Frees every block at logical index `first` and beyond.
    fn free_blocks_from(&mut self, inode: &mut Inode, first: u64) -> Result<(), FsError> {
        let mut freed = 0u32;
        for i in (first.min(12) as usize)..12 {
            if inode.block[i] != 0 {
                freed += self.free_tree(inode.block[i], 0)?;
                inode.block[i] = 0;
            }
        }
        let mut base = 12u64;
        for level in 1..=3u32 {
            let span = self.apb.pow(level);
            let slot = 11 + level as usize;
            let p = inode.block[slot];
            if p != 0 {
                if first <= base {
                    freed += self.free_tree(p, level)?;
                    inode.block[slot] = 0;
                } else if first < base + span {
                    let (f, empty) = self.trim(p, level, first - base)?;
                    freed += f;
                    if empty {
                        inode.block[slot] = 0;
                    }
                }
            }
            base += span;
        }
        let per = (self.sb.block_size / 512) as u32;
        inode.blocks512 = inode.blocks512.saturating_sub(freed * per);
        Ok(())
    }

    /// Zeroes the bytes of the last block past `size`, so a later extension
    /// reads zeros there.
    fn zero_tail(&mut self, inode: &Inode, size: u64, class: Class) -> Result<(), FsError> {
        let bs = self.sb.block_size as u64;
        if size % bs == 0 {
            return Ok(());
        }
        let p = self.bmap(inode, size / bs)?;
        if p != 0 {
            let b = self.cache.get_mut(p as u64, class)?;
            b[(size % bs) as usize..].iter_mut().for_each(|x| *x = 0);
        }
        Ok(())
    }

    /// Drops the inode's blocks and marks it deleted.
    fn release_inode(&mut self, ino: u32, mut inode: Inode, now: u32) -> Result<(), FsError> {
        let bs = self.sb.block_size;
        if !(inode.is_symlink() && inode.blocks512 == if inode.file_acl != 0 { (bs / 512) as u32 } else { 0 }) {
            self.free_blocks_from(&mut inode, 0)?;
        } else {
            inode.block = [0; 15];
        }
        if inode.file_acl != 0 {
            self.release_xattr_block(inode.file_acl)?;
            inode.file_acl = 0;
        }
        let dir = inode.is_dir();
        if dir {
            self.dindex.drop_dir(ino);
        }
        inode.links = 0;
        inode.size = 0;
        inode.blocks512 = 0;
        // e2fsck reads a small dtime as an orphan-list link: keep it above
        // the inode count (any real clock is far above it).
        inode.dtime = now.max(self.sb.inodes_count.saturating_add(1));
        self.write_inode(ino, &inode)?;
        self.free_inode(ino, dir)
    }

    /// Extended-attribute blocks are shared and reference-counted.
    fn release_xattr_block(&mut self, blk: u32) -> Result<(), FsError> {
        self.check_block(blk)?;
        let b = self.cache.get(blk as u64)?;
        if le32(b, 0) != 0xEA02_0000 {
            return Err(FsError::Corrupt("bad xattr block"));
        }
        let refs = le32(b, 4);
        if refs <= 1 {
            self.free_block(blk)
        } else {
            put32(self.cache.get_mut(blk as u64, Class::Inode)?, 4, refs - 1);
            Ok(())
        }
    }

    // ---- file contents --------------------------------------------------

    fn read_inode_at(&mut self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        if offset >= inode.size {
            return Ok(0);
        }
        let n = ((inode.size - offset).min(buf.len() as u64)) as usize;
        let bs = self.sb.block_size as u64;
        let mut done = 0;
        while done < n {
            let pos = offset + done as u64;
            let o = (pos % bs) as usize;
            let len = (bs as usize - o).min(n - done);
            let p = self.bmap(inode, pos / bs)?;
            if p == 0 {
                buf[done..done + len].iter_mut().for_each(|x| *x = 0);
            } else {
                let b = self.cache.get(p as u64)?;
                buf[done..done + len].copy_from_slice(&b[o..o + len]);
            }
            done += len;
        }
        Ok(n)
    }

    fn write_inode_at(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        offset: u64,
        data: &[u8],
        class: Class,
    ) -> Result<(), FsError> {
        let end = offset.checked_add(data.len() as u64).ok_or(FsError::TooBig)?;
        if end > self.max_file_size() {
            return Err(FsError::TooBig);
        }
        if offset > inode.size {
            self.zero_tail(inode, inode.size, class)?;
        }
        let bs = self.sb.block_size as u64;
        let mut goal = if offset >= bs {
            match self.bmap(inode, offset / bs - 1)? {
                0 => self.inode_group_goal(ino),
                p => p + 1,
            }
        } else {
            self.inode_group_goal(ino)
        };
        let mut done = 0usize;
        let mut result = Ok(());
        while done < data.len() {
            let pos = offset + done as u64;
            let o = (pos % bs) as usize;
            let len = (bs as usize - o).min(data.len() - done);
            let (p, fresh) = match self.bmap_alloc(inode, pos / bs, goal) {
                Ok(x) => x,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            goal = p + 1;
            let b = if fresh || (o == 0 && len == bs as usize) {
                self.cache.zeroed(p as u64)
            } else {
                self.cache.get_mut(p as u64, class)
            };
            match b {
                Ok(b) => b[o..o + len].copy_from_slice(&data[done..done + len]),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            done += len;
        }
        inode.size = inode.size.max(offset + done as u64);
        self.write_inode(ino, inode)?;
        result
    }

    // ---- public API by inode number ------------------------------------

    /// Metadata of inode `ino`.
    pub fn stat_ino(&mut self, ino: u32) -> Result<Metadata, FsError> {
        let i = self.read_inode(ino)?;
        Ok(Metadata {
            ino,
            kind: FileType::from_mode(i.mode),
            size: i.size,
            mtime: i.mtime,
            ctime: i.ctime,
            links: i.links,
            perm: i.mode & 0o7777,
        })
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many (0 at end).
    pub fn read_at(&mut self, ino: u32, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        self.read_inode_at(&inode, offset, buf)
    }

    /// Writes `data` at `offset`, growing the file as needed.
    pub fn write_at(&mut self, ino: u32, offset: u64, data: &[u8], now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let mut inode = self.read_inode(ino)?;
        if !inode.is_reg() {
            return Err(FsError::IsDir);
        }
        inode.mtime = now;
        inode.ctime = now;
        self.write_inode_at(ino, &mut inode, offset, data, Class::Data)
    }

    /// Appends `data` at the end of the file.
    pub fn append(&mut self, ino: u32, data: &[u8], now: u32) -> Result<(), FsError> {
        let size = self.read_inode(ino)?.size;
        self.write_at(ino, size, data, now)
    }

    /// Sets the size: shrinking frees blocks, growing leaves a hole.
    pub fn truncate(&mut self, ino: u32, size: u64, now: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let mut inode = self.read_inode(ino)?;
        if !inode.is_reg() {
            return Err(FsError::IsDir);
        }
        if size > self.max_file_size() {
            return Err(FsError::TooBig);
        }
        let bs = self.sb.block_size as u64;
        if size < inode.size {
            self.free_blocks_from(&mut inode, size.div_ceil(bs))?;
            self.zero_tail(&inode, size, Class::Data)?;
        } else if size > inode.size {
            self.zero_tail(&inode, inode.size, Class::Data)?;
        }
        inode.size = size;
        inode.mtime = now;
        inode.ctime = now;
        self.write_inode(ino, &inode)
    }

    /// Sets the modification time (Maildir uses it as the internal date).
    pub fn set_mtime_ino(&mut self, ino: u32, mtime: u32) -> Result<(), FsError> {
        self.bound_pending()?;
        let mut inode = self.read_inode(ino)?;
        inode.mtime = mtime;
        self.write_inode(ino, &inode)
    }
}

/// Clear bits among the first `n` of `bits`.
fn count_zero(bits: &[u8], n: u32) -> u32 {
    let n = n.min((bits.len() * 8) as u32);
    let full = (n / 8) as usize;
    let mut c: u32 = bits[..full].iter().map(|b| b.count_zeros()).sum();
    for i in (full as u32 * 8)..n {
        if bits[(i / 8) as usize] & (1 << (i % 8)) == 0 {
            c += 1;
        }
    }
    c
}

/// First clear bit in `bits[from..to)`.
fn find_zero(bits: &[u8], from: u32, to: u32) -> Option<u32> {
    let to = to.min((bits.len() * 8) as u32);
    let mut i = from;
    while i < to {
        if i % 8 == 0 && i + 8 <= to && bits[(i / 8) as usize] == 0xFF {
            i += 8;
            continue;
        }
        if bits[(i / 8) as usize] & (1 << (i % 8)) == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
pub(crate) mod tests;
