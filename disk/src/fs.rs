//! The small filesystem interface the higher layers (Maildir, queue) use.
//!
//! Paths are absolute and `/`-separated; `now` is a unix time supplied by
//! the caller (no clock in here). `flush` is the durability point: nothing
//! is promised on disk before it returns.

use alloc::vec::Vec;

use crate::block::BlockDevice;
use crate::ext2::{DirEntry, Ext2, FsError, Metadata};

pub trait FileSystem {
    /// Inode number of `path`.
    fn lookup(&mut self, path: &str) -> Result<u32, FsError>;
    fn stat(&mut self, path: &str) -> Result<Metadata, FsError>;
    fn stat_ino(&mut self, ino: u32) -> Result<Metadata, FsError>;
    /// Creates an empty file; `Exists` if the name is taken.
    fn create(&mut self, path: &str, now: u32) -> Result<u32, FsError>;
    fn read_at(&mut self, ino: u32, offset: u64, buf: &mut [u8]) -> Result<usize, FsError>;
    fn write_at(&mut self, ino: u32, offset: u64, data: &[u8], now: u32) -> Result<(), FsError>;
    fn truncate(&mut self, ino: u32, size: u64, now: u32) -> Result<(), FsError>;
    fn set_mtime(&mut self, path: &str, mtime: u32) -> Result<(), FsError>;
    fn unlink(&mut self, path: &str, now: u32) -> Result<(), FsError>;
    fn mkdir(&mut self, path: &str, now: u32) -> Result<u32, FsError>;
    /// Removes an empty directory.
    fn rmdir(&mut self, path: &str, now: u32) -> Result<(), FsError>;
    /// Atomic rename; an existing target is replaced.
    fn rename(&mut self, from: &str, to: &str, now: u32) -> Result<(), FsError>;
    /// A second name for a regular file (hard link).
    fn link(&mut self, existing: &str, new: &str, now: u32) -> Result<(), FsError>;
    /// Removes one name of a file known to have another; never frees it.
    fn remove_alias(&mut self, path: &str, now: u32) -> Result<(), FsError>;
    /// Every entry but `.` and `..`, until `f` returns false.
    fn read_dir(&mut self, path: &str, f: &mut dyn FnMut(DirEntry<'_>) -> bool) -> Result<(), FsError>;
    /// Writes everything and makes it durable.
    fn flush(&mut self) -> Result<(), FsError>;

    /// A whole file, refusing more than `limit` bytes.
    fn read_file(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, FsError> {
        let st = self.stat(path)?;
        if st.size > limit as u64 {
            return Err(FsError::TooBig);
        }
        let mut v = Vec::new();
        v.try_reserve_exact(st.size as usize).map_err(|_| FsError::TooBig)?;
        v.resize(st.size as usize, 0);
        let n = self.read_at(st.ino, 0, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// Appends to the end of a file.
    fn append(&mut self, ino: u32, data: &[u8], now: u32) -> Result<(), FsError> {
        let size = self.stat_ino(ino)?.size;
        self.write_at(ino, size, data, now)
    }

    /// Creates or replaces the contents of `path`.
    fn write_file(&mut self, path: &str, data: &[u8], now: u32) -> Result<u32, FsError> {
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

    /// Writes `path` so that a crash leaves the old or the new contents:
    /// a temporary file beside it, renamed over it.
    fn replace_file(&mut self, path: &str, tmp: &str, data: &[u8], now: u32) -> Result<(), FsError> {
        match self.unlink(tmp, now) {
            Ok(()) | Err(FsError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let ino = self.create(tmp, now)?;
        self.write_at(ino, 0, data, now)?;
        self.rename(tmp, path, now)
    }
}

impl<D: BlockDevice> FileSystem for Ext2<D> {
    fn lookup(&mut self, path: &str) -> Result<u32, FsError> {
        Ext2::lookup(self, path)
    }
    fn stat(&mut self, path: &str) -> Result<Metadata, FsError> {
        Ext2::stat(self, path)
    }
    fn stat_ino(&mut self, ino: u32) -> Result<Metadata, FsError> {
        Ext2::stat_ino(self, ino)
    }
    fn create(&mut self, path: &str, now: u32) -> Result<u32, FsError> {
        Ext2::create(self, path, now)
    }
    fn read_at(&mut self, ino: u32, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        Ext2::read_at(self, ino, offset, buf)
    }
    fn write_at(&mut self, ino: u32, offset: u64, data: &[u8], now: u32) -> Result<(), FsError> {
        Ext2::write_at(self, ino, offset, data, now)
    }
    fn truncate(&mut self, ino: u32, size: u64, now: u32) -> Result<(), FsError> {
        Ext2::truncate(self, ino, size, now)
    }
    fn set_mtime(&mut self, path: &str, mtime: u32) -> Result<(), FsError> {
        Ext2::set_mtime(self, path, mtime)
    }
    fn unlink(&mut self, path: &str, now: u32) -> Result<(), FsError> {
        Ext2::unlink(self, path, now)
    }
    fn mkdir(&mut self, path: &str, now: u32) -> Result<u32, FsError> {
        Ext2::mkdir(self, path, now)
    }
    fn rmdir(&mut self, path: &str, now: u32) -> Result<(), FsError> {
        Ext2::rmdir(self, path, now)
    }
    fn rename(&mut self, from: &str, to: &str, now: u32) -> Result<(), FsError> {
        Ext2::rename(self, from, to, now)
    }
    fn read_dir(&mut self, path: &str, f: &mut dyn FnMut(DirEntry<'_>) -> bool) -> Result<(), FsError> {
        Ext2::read_dir(self, path, f)
    }
    fn link(&mut self, existing: &str, new: &str, now: u32) -> Result<(), FsError> {
        Ext2::link(self, existing, new, now)
    }
    fn remove_alias(&mut self, path: &str, now: u32) -> Result<(), FsError> {
        Ext2::remove_alias(self, path, now)
    }
    fn flush(&mut self) -> Result<(), FsError> {
        Ext2::flush(self)
    }
}
