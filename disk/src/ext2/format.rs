//! `mkfs`: writes an empty ext2 revision-1 filesystem (features filetype,
//! sparse_super, large_file; 256-byte inodes) on a device, with `/` and
//! `/lost+found`. Used for RAM-disk tests and to initialise a blank mail
//! disk; the result passes `e2fsck -fn`.

use alloc::vec;
use alloc::vec::Vec;

use super::layout::*;
use super::FsError;
use crate::block::{BlockDevice, SECTOR_SIZE};

/// What `format` needs to know.
#[derive(Debug, Clone, Copy)]
pub struct FormatOptions {
    /// 1024, 2048 or 4096.
    pub block_size: u32,
    /// One inode per this many bytes (mke2fs default 16384; Maildir wants
    /// many small files, so 8192 is a fair choice).
    pub bytes_per_inode: u32,
    /// Volume UUID (the caller supplies randomness).
    pub uuid: [u8; 16],
    /// Unix time for timestamps.
    pub now: u32,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions { block_size: 4096, bytes_per_inode: 8192, uuid: [0x42; 16], now: 0 }
    }
}

const INODE_SIZE: usize = 256;
const FIRST_INO: u32 = 11;
const LOST_FOUND_INO: u32 = 11;

fn has_super(g: u32) -> bool {
    if g <= 1 {
        return true;
    }
    for p in [3u32, 5, 7] {
        let mut x = p;
        while x < g {
            x *= p;
        }
        if x == g {
            return true;
        }
    }
    false
}

/// Formats `dev`. Everything on it is lost.
pub fn format<D: BlockDevice>(dev: &mut D, o: &FormatOptions) -> Result<(), FsError> {
    let bs = o.block_size as usize;
    if !(bs == 1024 || bs == 2048 || bs == 4096) {
        return Err(FsError::Unsupported("block size"));
    }
    let bytes = dev.capacity() * SECTOR_SIZE as u64;
    let fdb: u32 = u32::from(bs == 1024);
    let bpg = (bs * 8) as u32;
    let mut blocks = (bytes / bs as u64).min(u32::MAX as u64) as u32;
    let ipb = (bs / INODE_SIZE) as u32;
    let mut groups;
    let mut ipg;
    let mut gdt_blocks;
    let mut itb;
    loop {
        if blocks < 64 + fdb {
            return Err(FsError::NoSpace);
        }
        groups = (blocks - fdb).div_ceil(bpg);
        let want = (blocks as u64 * bs as u64 / o.bytes_per_inode.max(1024) as u64).max(16) as u32;
        ipg = want.div_ceil(groups);
        // Whole inode-table blocks, a multiple of 8, at most one bitmap block.
        ipg = ipg.div_ceil(ipb) * ipb;
        ipg = ipg.div_ceil(8) * 8;
        ipg = ipg.min(bpg).min(65536 - 8);
        itb = ipg / ipb;
        gdt_blocks = (groups as usize * GROUP_DESC_SIZE).div_ceil(bs) as u32;
        // The last group must hold its own metadata plus some data.
        let last = blocks - fdb - (groups - 1) * bpg;
        let overhead = if has_super(groups - 1) { 1 + gdt_blocks } else { 0 } + 2 + itb;
        if last >= overhead + 50 || groups == 1 {
            if last < overhead + 8 {
                return Err(FsError::NoSpace);
            }
            break;
        }
        blocks -= last;
    }
    let inodes = groups * ipg;
    let zero = vec![0u8; bs];
    let write = |dev: &mut D, blk: u32, data: &[u8]| -> Result<(), FsError> {
        dev.write_blocks(blk as u64 * (bs / SECTOR_SIZE) as u64, data)?;
        Ok(())
    };
    // Group layout and free counts.
    let mut descs: Vec<Group> = Vec::new();
    let mut free_total = 0u32;
    for g in 0..groups {
        let start = fdb + g * bpg;
        let n = (blocks - start).min(bpg);
        let meta = if has_super(g) { 1 + gdt_blocks } else { 0 };
        let bb = start + meta;
        let mut used = meta + 2 + itb;
        // The root and lost+found directory blocks live in group 0.
        if g == 0 {
            used += 2;
        }
        let free_inodes = if g == 0 { ipg - (FIRST_INO) } else { ipg };
        descs.push(Group {
            block_bitmap: bb,
            inode_bitmap: bb + 1,
            inode_table: bb + 2,
            free_blocks: (n - used) as u16,
            free_inodes: free_inodes as u16,
            used_dirs: if g == 0 { 2 } else { 0 },
        });
        free_total += n - used;
    }
    let root_blk = descs[0].inode_table + itb;
    let lf_blk = root_blk + 1;

    // Superblock (written at byte 1024 of each backup's block group).
    let mut sb = [0u8; 1024];
    put32(&mut sb, 0, inodes);
    put32(&mut sb, 4, blocks);
    put32(&mut sb, 8, 0);
    put32(&mut sb, 12, free_total);
    put32(&mut sb, 16, inodes - FIRST_INO);
    put32(&mut sb, 20, fdb);
    put32(&mut sb, 24, (bs / 1024).trailing_zeros());
    put32(&mut sb, 28, (bs / 1024).trailing_zeros());
    put32(&mut sb, 32, bpg);
    put32(&mut sb, 36, bpg);
    put32(&mut sb, 40, ipg);
    put32(&mut sb, 48, o.now);
    put16(&mut sb, 54, 0xFFFF);
    put16(&mut sb, 56, MAGIC);
    put16(&mut sb, 58, 1); // clean
    put16(&mut sb, 60, 1); // errors: continue
    put32(&mut sb, 64, o.now);
    put32(&mut sb, 76, 1);
    put32(&mut sb, 84, FIRST_INO);
    put16(&mut sb, 88, INODE_SIZE as u16);
    put32(&mut sb, 96, INCOMPAT_FILETYPE);
    put32(&mut sb, 100, RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE);
    sb[104..120].copy_from_slice(&o.uuid);
    sb[120..128].copy_from_slice(b"maildisk");
    put16(&mut sb, 0x15C, 32); // s_min_extra_isize
    put16(&mut sb, 0x15E, 32); // s_want_extra_isize

    let mut gdt = vec![0u8; gdt_blocks as usize * bs];
    for (g, d) in descs.iter().enumerate() {
        d.store(&mut gdt[g * GROUP_DESC_SIZE..(g + 1) * GROUP_DESC_SIZE]);
    }

    for g in 0..groups {
        let start = fdb + g * bpg;
        let n = (blocks - start).min(bpg);
        let d = descs[g as usize];
        if has_super(g) {
            let mut blk = vec![0u8; bs];
            let mut s = sb;
            put16(&mut s, 90, g as u16);
            if bs == 1024 {
                blk.copy_from_slice(&s);
                write(dev, start, &blk)?;
            } else if g == 0 {
                blk[1024..2048].copy_from_slice(&s);
                write(dev, 0, &blk)?;
            } else {
                // Backups sit at the start of their group's first block.
                blk[..1024].copy_from_slice(&s);
                write(dev, start, &blk)?;
            }
            for i in 0..gdt_blocks {
                write(dev, start + 1 + i, &gdt[i as usize * bs..(i as usize + 1) * bs])?;
            }
        }
        // Block bitmap: metadata used, padding past the group's end set.
        let mut bm = vec![0u8; bs];
        let used = n - d.free_blocks as u32;
        for bit in (0..used).chain(n..bpg) {
            bm[(bit / 8) as usize] |= 1 << (bit % 8);
        }
        write(dev, d.block_bitmap, &bm)?;
        let mut im = vec![0u8; bs];
        let iused = ipg - d.free_inodes as u32;
        for bit in (0..iused).chain(ipg..(bs * 8) as u32) {
            im[(bit / 8) as usize] |= 1 << (bit % 8);
        }
        write(dev, d.inode_bitmap, &im)?;
        for i in 0..itb {
            write(dev, d.inode_table + i, &zero)?;
        }
    }

    // Root and lost+found.
    let dir_inode = |blk: u32, links: u16| -> Inode {
        let mut raw = [0u8; 128];
        put16(&mut raw, 0, S_IFDIR | 0o755);
        put32(&mut raw, 4, bs as u32);
        for off in [8, 12, 16] {
            put32(&mut raw, off, o.now);
        }
        put16(&mut raw, 26, links);
        put32(&mut raw, 28, (bs / 512) as u32);
        put32(&mut raw, 40, blk);
        Inode::parse(&raw)
    };
    let root = dir_inode(root_blk, 3);
    let lf = dir_inode(lf_blk, 2);
    let mut table = vec![0u8; bs];
    let itable0 = descs[0].inode_table;
    for (ino, inode) in [(2u32, &root), (LOST_FOUND_INO, &lf)] {
        let byte = (ino as usize - 1) * INODE_SIZE;
        let blk = itable0 + (byte / bs) as u32;
        dev.read_blocks(blk as u64 * (bs / SECTOR_SIZE) as u64, &mut table)?;
        let off = byte % bs;
        inode.store(&mut table[off..off + 128]);
        put16(&mut table, off + 128, 32);
        write(dev, blk, &table)?;
    }
    let entry = |b: &mut [u8], pos: usize, ino: u32, rec: usize, name: &[u8]| {
        put32(b, pos, ino);
        put16(b, pos + 4, rec as u16);
        b[pos + 6] = name.len() as u8;
        b[pos + 7] = FT_DIR;
        b[pos + 8..pos + 8 + name.len()].copy_from_slice(name);
    };
    let mut b = vec![0u8; bs];
    entry(&mut b, 0, 2, 12, b".");
    entry(&mut b, 12, 2, 12, b"..");
    entry(&mut b, 24, LOST_FOUND_INO, bs - 24, b"lost+found");
    write(dev, root_blk, &b)?;
    let mut b = vec![0u8; bs];
    entry(&mut b, 0, LOST_FOUND_INO, 12, b".");
    entry(&mut b, 12, 2, bs - 12, b"..");
    write(dev, lf_blk, &b)?;
    dev.flush()?;
    Ok(())
}
