//! The disks: virtio-blk as a `disk::BlockDevice`, finding the config and mail
//! disks, and the storage diagnostics the platform tests use.
//!
//! Disks are told apart by their virtio-blk serial (`-device
//! virtio-blk-…,serial=config` / `serial=mail`); without serials the first
//! read-only disk is the config disk and the first writable one the mail disk.

use alloc::string::String;
use alloc::vec::Vec;
use disk::block::{BlockDevice, DevError};
use disk::ext2::Ext2;
use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::SomeTransport;

use crate::virtio::KernelHal;

pub struct VirtioBlock {
    dev: VirtIOBlk<KernelHal, SomeTransport<'static>>,
    sectors: u64,
    pub readonly: bool,
    pub serial: String,
}

impl VirtioBlock {
    pub fn new(t: SomeTransport<'static>) -> Result<Self, virtio_drivers::Error> {
        let mut dev = VirtIOBlk::new(t)?;
        let mut id = [0u8; 20];
        let serial = match dev.device_id(&mut id) {
            Ok(n) => String::from_utf8_lossy(&id[..n.min(20)]).trim_end_matches('\0').into(),
            Err(_) => String::new(),
        };
        Ok(VirtioBlock { sectors: dev.capacity(), readonly: dev.readonly(), serial, dev })
    }
}

impl BlockDevice for VirtioBlock {
    fn capacity(&self) -> u64 {
        self.sectors
    }
    fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), DevError> {
        disk::block::check_request(self.sectors, lba, buf.len())?;
        self.dev.read_blocks(lba as usize, buf).map_err(|_| DevError::Io)
    }
    fn write_blocks(&mut self, lba: u64, buf: &[u8]) -> Result<(), DevError> {
        if self.readonly {
            return Err(DevError::ReadOnly);
        }
        disk::block::check_request(self.sectors, lba, buf.len())?;
        self.dev.write_blocks(lba as usize, buf).map_err(|_| DevError::Io)
    }
    /// virtio-blk FLUSH: the host writes its cache through before answering.
    fn flush(&mut self) -> Result<(), DevError> {
        self.dev.flush().map_err(|_| DevError::Io)
    }
}

pub struct Disks {
    pub config: Option<VirtioBlock>,
    pub mail: Option<VirtioBlock>,
}

/// The disk we booted from (GPT header at LBA 1, or an MBR boot signature)
/// is never taken for a data disk.
fn is_boot_disk(b: &mut VirtioBlock) -> bool {
    let mut s = [0u8; 1024];
    if b.read_blocks(0, &mut s).is_err() {
        return false;
    }
    &s[512..520] == b"EFI PART" || s[510..512] == [0x55, 0xaa]
}

pub fn sort(mut blks: Vec<VirtioBlock>) -> Disks {
    let mut d = Disks { config: None, mail: None };
    blks.retain_mut(|b| {
        if b.serial != "mail" && b.serial != "config" && is_boot_disk(b) {
            log::info!("disk: `{}` is the boot disk", b.serial);
            return false;
        }
        true
    });
    if let Some(i) = blks.iter().position(|b| b.serial == "config") {
        d.config = Some(blks.remove(i));
    }
    if let Some(i) = blks.iter().position(|b| b.serial == "mail") {
        d.mail = Some(blks.remove(i));
    }
    for b in blks {
        if d.config.is_none() && b.readonly {
            d.config = Some(b);
        } else if d.mail.is_none() && !b.readonly {
            d.mail = Some(b);
        } else {
            log::warn!("disk: ignoring an extra disk (serial `{}`)", b.serial);
        }
    }
    d
}

pub type MailFs = Ext2<VirtioBlock>;

/// `diag=disk-write`: writes a small tree the test reads back with debugfs.
pub fn diag_write(fs: &mut MailFs, boot_id: u64) -> Result<(), disk::ext2::FsError> {
    let now = crate::time::unix_time() as u32;
    if fs.stat("/diag").is_err() {
        fs.mkdir("/diag", now)?;
    }
    let body = alloc::format!("hello from unimail, boot {boot_id:016x}\n");
    fs.write_file("/diag/hello.txt", body.as_bytes(), now)?;
    // A file crossing several blocks, with a pattern the test recomputes.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    fs.write_file("/diag/pattern.bin", &big, now)?;
    if fs.stat("/diag/many").is_err() {
        fs.mkdir("/diag/many", now)?;
    }
    for i in 0..2000u32 {
        let name = alloc::format!("/diag/many/f{i:05}");
        fs.write_file(&name, name.as_bytes(), now)?;
    }
    // Atomic replace by rename, as Maildir delivery does.
    fs.write_file("/diag/tmp-renamed", b"renamed\n", now)?;
    fs.rename("/diag/tmp-renamed", "/diag/renamed.txt", now)?;
    fs.flush()?;
    log::info!("diag: disk-write wrote /diag (boot {boot_id:016x})");
    Ok(())
}

/// `diag=disk-read`: reads back what the host or an earlier boot wrote.
pub fn diag_read(fs: &mut MailFs) -> Result<(), disk::ext2::FsError> {
    for p in ["/diag/hello.txt", "/diag/renamed.txt", "/host.txt"] {
        match fs.read_file(p, 4096) {
            Ok(b) => log::info!("diag: disk-read {p}: {}", String::from_utf8_lossy(&b).trim_end()),
            Err(e) => log::info!("diag: disk-read {p}: {e:?}"),
        }
    }
    let mut n = 0usize;
    let _ = fs.read_dir("/diag/many", |_| {
        n += 1;
        true
    });
    log::info!("diag: disk-read /diag/many has {n} entries");
    Ok(())
}
