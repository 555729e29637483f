//! On-disk structures of ext2 revision 1, parsed defensively: every value
//! read from the disk is treated as hostile and checked before use.
//! Reference: the ext2/ext4 disk layout as documented with the Linux kernel
//! (Documentation/filesystems/ext4/) and e2fsprogs' `ext2_fs.h`.

use super::FsError;

pub const MAGIC: u16 = 0xEF53;
pub const ROOT_INO: u32 = 2;

pub const INCOMPAT_FILETYPE: u32 = 0x0002;
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;

pub const S_IFMT: u16 = 0xF000;
pub const S_IFREG: u16 = 0x8000;
pub const S_IFDIR: u16 = 0x4000;
pub const S_IFLNK: u16 = 0xA000;

/// Directory uses a hashed b-tree index (we clear it when we modify one).
pub const EXT2_INDEX_FL: u32 = 0x1000;

/// Directory entry file types (incompat `filetype`).
pub const FT_REG: u8 = 1;
pub const FT_DIR: u8 = 2;
pub const FT_LNK: u8 = 7;

pub fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
pub fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
pub fn put16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

/// The fields of the superblock we use, already validated.
#[derive(Debug, Clone)]
pub struct Super {
    pub inodes_count: u32,
    pub blocks_count: u32,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub first_data_block: u32,
    pub block_size: usize,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub first_ino: u32,
    pub inode_size: usize,
    pub ro_compat: u32,
    pub groups: u32,
}

impl Super {
    /// Parses and validates the 1024-byte superblock. `dev_bytes` is the
    /// device size: the filesystem must fit in it.
    pub fn parse(b: &[u8], dev_bytes: u64) -> Result<Super, FsError> {
        let c = FsError::Corrupt;
        if b.len() < 1024 || le16(b, 56) != MAGIC {
            return Err(c("bad superblock magic"));
        }
        let log = le32(b, 24);
        if log > 2 {
            return Err(FsError::Unsupported("block size above 4 KiB"));
        }
        let block_size = 1024usize << log;
        let rev = le32(b, 76);
        let (first_ino, inode_size) = match rev {
            0 => (11, 128),
            1 => (le32(b, 84), le16(b, 88) as usize),
            _ => return Err(FsError::Unsupported("superblock revision")),
        };
        let incompat = if rev >= 1 { le32(b, 96) } else { 0 };
        let ro_compat = if rev >= 1 { le32(b, 100) } else { 0 };
        if incompat & !INCOMPAT_FILETYPE != 0 {
            return Err(FsError::Unsupported("incompatible feature (not plain ext2)"));
        }
        if ro_compat & !(RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE) != 0 {
            return Err(FsError::Unsupported("read-only-compatible feature we cannot write"));
        }
        let s = Super {
            inodes_count: le32(b, 0),
            blocks_count: le32(b, 4),
            free_blocks: le32(b, 12),
            free_inodes: le32(b, 16),
            first_data_block: le32(b, 20),
            block_size,
            blocks_per_group: le32(b, 32),
            inodes_per_group: le32(b, 40),
            first_ino,
            inode_size,
            ro_compat,
            groups: 0,
        };
        let bits = (block_size * 8) as u32;
        if s.first_data_block != u32::from(block_size == 1024) {
            return Err(c("first data block"));
        }
        if s.blocks_per_group == 0 || s.blocks_per_group > bits || s.blocks_per_group % 8 != 0 {
            return Err(c("blocks per group"));
        }
        if s.inodes_per_group == 0 || s.inodes_per_group > bits || s.inodes_per_group % 8 != 0 {
            return Err(c("inodes per group"));
        }
        if s.inode_size < 128 || !s.inode_size.is_power_of_two() || s.inode_size > block_size {
            return Err(c("inode size"));
        }
        if s.blocks_count <= s.first_data_block || (s.blocks_count as u64) * (block_size as u64) > dev_bytes {
            return Err(c("block count larger than device"));
        }
        let data_blocks = s.blocks_count - s.first_data_block;
        let groups = data_blocks.div_ceil(s.blocks_per_group);
        if (groups as u64) * (s.inodes_per_group as u64) != s.inodes_count as u64 {
            return Err(c("inode count does not match groups"));
        }
        if s.first_ino < 11 || s.first_ino >= s.inodes_count {
            return Err(c("first inode"));
        }
        if s.free_blocks > s.blocks_count || s.free_inodes > s.inodes_count {
            return Err(c("free counts"));
        }
        Ok(Super { groups, ..s })
    }

    /// Writes the counts we maintain back into the raw superblock.
    pub fn store_counts(&self, b: &mut [u8]) {
        put32(b, 12, self.free_blocks);
        put32(b, 16, self.free_inodes);
    }

    pub fn inode_table_blocks(&self) -> u32 {
        ((self.inodes_per_group as usize * self.inode_size).div_ceil(self.block_size)) as u32
    }

    /// Number of blocks in group `g` (the last one may be short).
    pub fn blocks_in_group(&self, g: u32) -> u32 {
        let start = self.first_data_block + g * self.blocks_per_group;
        (self.blocks_count - start).min(self.blocks_per_group)
    }
}

/// One 32-byte group descriptor.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub block_bitmap: u32,
    pub inode_bitmap: u32,
    pub inode_table: u32,
    pub free_blocks: u16,
    pub free_inodes: u16,
    pub used_dirs: u16,
}

pub const GROUP_DESC_SIZE: usize = 32;

impl Group {
    pub fn parse(b: &[u8]) -> Group {
        Group {
            block_bitmap: le32(b, 0),
            inode_bitmap: le32(b, 4),
            inode_table: le32(b, 8),
            free_blocks: le16(b, 12),
            free_inodes: le16(b, 14),
            used_dirs: le16(b, 16),
        }
    }
    pub fn store(&self, b: &mut [u8]) {
        put32(b, 0, self.block_bitmap);
        put32(b, 4, self.inode_bitmap);
        put32(b, 8, self.inode_table);
        put16(b, 12, self.free_blocks);
        put16(b, 14, self.free_inodes);
        put16(b, 16, self.used_dirs);
    }
}

/// The first 128 bytes of an inode (plus `i_extra_isize` when present),
/// decoded. `raw` keeps the fields we do not interpret unchanged.
#[derive(Debug, Clone)]
pub struct Inode {
    pub raw: [u8; 128],
    pub mode: u16,
    pub size: u64,
    pub atime: u32,
    pub ctime: u32,
    pub mtime: u32,
    pub dtime: u32,
    pub links: u16,
    /// In 512-byte units, including indirect blocks.
    pub blocks512: u32,
    pub flags: u32,
    pub block: [u32; 15],
    pub file_acl: u32,
}

impl Inode {
    pub fn parse(b: &[u8]) -> Inode {
        let mut raw = [0u8; 128];
        raw.copy_from_slice(&b[..128]);
        let mode = le16(b, 0);
        let mut size = le32(b, 4) as u64;
        if mode & S_IFMT == S_IFREG {
            size |= (le32(b, 108) as u64) << 32;
        }
        let mut block = [0u32; 15];
        for (i, p) in block.iter_mut().enumerate() {
            *p = le32(b, 40 + 4 * i);
        }
        Inode {
            raw,
            mode,
            size,
            atime: le32(b, 8),
            ctime: le32(b, 12),
            mtime: le32(b, 16),
            dtime: le32(b, 20),
            links: le16(b, 26),
            blocks512: le32(b, 28),
            flags: le32(b, 32),
            block,
            file_acl: le32(b, 104),
        }
    }

    pub fn store(&self, b: &mut [u8]) {
        b[..128].copy_from_slice(&self.raw);
        put16(b, 0, self.mode);
        put32(b, 4, self.size as u32);
        put32(b, 8, self.atime);
        put32(b, 12, self.ctime);
        put32(b, 16, self.mtime);
        put32(b, 20, self.dtime);
        put16(b, 26, self.links);
        put32(b, 28, self.blocks512);
        put32(b, 32, self.flags);
        for (i, p) in self.block.iter().enumerate() {
            put32(b, 40 + 4 * i, *p);
        }
        put32(b, 104, self.file_acl);
        if self.mode & S_IFMT == S_IFREG {
            put32(b, 108, (self.size >> 32) as u32);
        }
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    pub fn is_reg(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }
    /// Directory-entry file type for this inode's mode.
    pub fn file_type(&self) -> u8 {
        match self.mode & S_IFMT {
            S_IFREG => FT_REG,
            S_IFDIR => FT_DIR,
            S_IFLNK => FT_LNK,
            0x2000 => 3,
            0x6000 => 4,
            0x1000 => 5,
            0xC000 => 6,
            _ => 0,
        }
    }
}
