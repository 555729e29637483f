//! Block devices: the one seam between the filesystem and the hardware.
//!
//! The unit is the **512-byte sector**, because that is what virtio-blk
//! (virtio 1.1 5.2.6: `sector` is always in 512-byte units) and every host
//! file speak natively; the filesystem reads and writes whole fs blocks
//! (1-4 KiB) as runs of sectors. `flush` is the durability barrier: after it
//! returns `Ok`, every completed write is on stable storage (virtio-blk
//! `VIRTIO_BLK_T_FLUSH`, `fsync` on a host file).

use alloc::vec;
use alloc::vec::Vec;

/// Size of one device sector in bytes.
pub const SECTOR_SIZE: usize = 512;

/// What a device can report. Kept small: the filesystem only needs to know
/// that an I/O failed (and roughly why) to refuse the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevError {
    /// The request reaches past the end of the device.
    OutOfRange,
    /// A buffer length is not a multiple of [`SECTOR_SIZE`].
    Misaligned,
    /// The medium or transport reported an error.
    Io,
    /// The device is read-only.
    ReadOnly,
}

/// A random-access device of 512-byte sectors.
pub trait BlockDevice {
    /// Number of sectors on the device.
    fn capacity(&self) -> u64;
    /// Reads `buf.len() / 512` sectors starting at `lba`.
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError>;
    /// Writes `buf.len() / 512` sectors starting at `lba`. May be cached by
    /// the device until [`BlockDevice::flush`].
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError>;
    /// Makes every completed write durable.
    fn flush(&mut self) -> Result<(), DevError>;
}

/// Checks alignment and range of a request against a device of `cap` sectors.
pub fn check_request(cap: u64, lba: u64, len: usize) -> Result<(), DevError> {
    if len % SECTOR_SIZE != 0 {
        return Err(DevError::Misaligned);
    }
    let n = (len / SECTOR_SIZE) as u64;
    match lba.checked_add(n) {
        Some(end) if end <= cap => Ok(()),
        _ => Err(DevError::OutOfRange),
    }
}

impl<T: BlockDevice + ?Sized> BlockDevice for &mut T {
    fn capacity(&self) -> u64 {
        (**self).capacity()
    }
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError> {
        (**self).read_blocks(lba, buf)
    }
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError> {
        (**self).write_blocks(lba, buf)
    }
    fn flush(&mut self) -> Result<(), DevError> {
        (**self).flush()
    }
}

/// An in-memory device (tests, and a scratch disk).
#[derive(Clone)]
pub struct RamDevice {
    data: Vec<u8>,
    /// Number of `flush` calls seen (tests use it to check group commit).
    pub flushes: u64,
    /// Number of sectors written.
    pub sectors_written: u64,
}

impl RamDevice {
    /// A zero-filled device of `sectors` sectors.
    pub fn new(sectors: u64) -> Self {
        RamDevice { data: vec![0; sectors as usize * SECTOR_SIZE], flushes: 0, sectors_written: 0 }
    }
    /// Wraps an existing image (its length is rounded down to whole sectors).
    pub fn from_vec(mut data: Vec<u8>) -> Self {
        let n = data.len() / SECTOR_SIZE * SECTOR_SIZE;
        data.truncate(n);
        RamDevice { data, flushes: 0, sectors_written: 0 }
    }
    /// The raw image.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
    /// The raw image, mutable (tests corrupt it on purpose).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
    /// Gives the image back.
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }
}

impl BlockDevice for RamDevice {
    fn capacity(&self) -> u64 {
        (self.data.len() / SECTOR_SIZE) as u64
    }
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError> {
        check_request(self.capacity(), lba, buf.len())?;
        let off = lba as usize * SECTOR_SIZE;
        buf.copy_from_slice(&self.data[off..off + buf.len()]);
        Ok(())
    }
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError> {
        check_request(self.capacity(), lba, buf.len())?;
        let off = lba as usize * SECTOR_SIZE;
        self.data[off..off + buf.len()].copy_from_slice(buf);
        self.sectors_written += (buf.len() / SECTOR_SIZE) as u64;
        Ok(())
    }
    fn flush(&mut self) -> Result<(), DevError> {
        self.flushes += 1;
        Ok(())
    }
}

#[cfg(any(test, feature = "std"))]
pub use file::FileDevice;

#[cfg(any(test, feature = "std"))]
mod file {
    use super::*;
    use std::fs::{File, OpenOptions};
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::path::Path;

    /// A device backed by a host file (an image file or a block device node).
    pub struct FileDevice {
        file: File,
        sectors: u64,
        read_only: bool,
    }

    impl FileDevice {
        /// Opens `path` read-write.
        pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
            let mut file = OpenOptions::new().read(true).write(true).open(path)?;
            let len = file.seek(SeekFrom::End(0))?;
            Ok(FileDevice { file, sectors: len / SECTOR_SIZE as u64, read_only: false })
        }
        /// Opens `path` read-only (writes fail with [`DevError::ReadOnly`]).
        pub fn open_read_only(path: impl AsRef<Path>) -> std::io::Result<Self> {
            let mut file = File::open(path)?;
            let len = file.seek(SeekFrom::End(0))?;
            Ok(FileDevice { file, sectors: len / SECTOR_SIZE as u64, read_only: true })
        }
    }

    impl BlockDevice for FileDevice {
        fn capacity(&self) -> u64 {
            self.sectors
        }
        fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError> {
            check_request(self.sectors, lba, buf.len())?;
            self.file.seek(SeekFrom::Start(lba * SECTOR_SIZE as u64)).map_err(|_| DevError::Io)?;
            self.file.read_exact(buf).map_err(|_| DevError::Io)
        }
        fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError> {
            if self.read_only {
                return Err(DevError::ReadOnly);
            }
            check_request(self.sectors, lba, buf.len())?;
            self.file.seek(SeekFrom::Start(lba * SECTOR_SIZE as u64)).map_err(|_| DevError::Io)?;
            self.file.write_all(buf).map_err(|_| DevError::Io)
        }
        fn flush(&mut self) -> Result<(), DevError> {
            if self.read_only {
                return Ok(());
            }
            // fdatasync: the file's size never changes, so data sync suffices.
            self.file.sync_data().map_err(|_| DevError::Io)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_device_bounds() {
        let mut d = RamDevice::new(4);
        let mut b = [0u8; 512];
        assert_eq!(d.read_blocks(4, &mut b), Err(DevError::OutOfRange));
        assert_eq!(d.read_blocks(0, &mut b[..100]), Err(DevError::Misaligned));
        assert_eq!(d.read_blocks(u64::MAX, &mut b), Err(DevError::OutOfRange));
        b[0] = 7;
        d.write_blocks(3, &b).unwrap();
        let mut c = [0u8; 512];
        d.read_blocks(3, &mut c).unwrap();
        assert_eq!(c[0], 7);
    }
}
