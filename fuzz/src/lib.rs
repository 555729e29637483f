//! Helpers shared by the fuzz targets: a byte reader for the option bytes
//! at the front of an input, fragmentation of a byte stream, drivers for
//! the sans-IO state machines, and in-memory ext2 filesystems.
//!
//! Every target only checks what the crates promise: no panic, no hang,
//! bounded memory (libFuzzer's `-rss_limit_mb` / `-malloc_limit_mb`), and
//! where a crate documents it, the same transcript whatever the
//! fragmentation of the input.

pub mod authn;
pub mod imap;
pub mod smtp;

use disk::{Ext2, FormatOptions, MountOptions, RamDevice};

/// Reads option bytes from the front of a fuzz input; missing bytes read as 0.
pub struct Reader<'a> {
    pub data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from(self.byte()) << 8 | u16::from(self.byte())
    }
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
    /// Everything up to the next `sep` (the separator is dropped).
    pub fn until(&mut self, sep: &[u8]) -> &'a [u8] {
        match self.data.windows(sep.len()).position(|w| w == sep) {
            Some(p) => {
                let a = &self.data[..p];
                self.data = &self.data[p + sep.len()..];
                a
            }
            None => core::mem::take(&mut self.data),
        }
    }
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// Splits `input` into pieces whose sizes come from `seed` (0: whole,
/// 1: byte at a time, otherwise a deterministic pseudo-random walk).
pub fn fragments(input: &[u8], seed: u8) -> Vec<&[u8]> {
    match seed {
        0 => vec![input],
        1 => input.chunks(1).collect(),
        s => {
            let mut x = u64::from(s).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut out = Vec::new();
            let mut rest = input;
            while !rest.is_empty() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = (1 + (x % 97) as usize).min(rest.len());
                out.push(&rest[..n]);
                rest = &rest[n..];
            }
            out
        }
    }
}

/// A freshly formatted, empty ext2 filesystem in RAM (`format` once per
/// process, then a copy per call).
pub fn empty_fs() -> Ext2<RamDevice> {
    use std::sync::OnceLock;
    static IMG: OnceLock<Vec<u8>> = OnceLock::new();
    let img = IMG.get_or_init(|| {
        // 1 MiB, 1 KiB blocks: enough for the small trees the targets make.
        let mut dev = RamDevice::new(2048);
        let o = FormatOptions { block_size: 1024, bytes_per_inode: 4096, ..FormatOptions::default() };
        disk::format(&mut dev, &o).expect("format");
        dev.into_vec()
    });
    Ext2::mount_with(RamDevice::from_vec(img.clone()), mount_options()).expect("mount fresh image")
}

/// A filesystem prepared by `setup` on a fresh one, built once per process
/// (per `key`) and copied for each run: the setup is the same every time,
/// so redoing it would only spend executions.
pub fn prepared_fs(key: &'static str, setup: fn(&mut Ext2<RamDevice>)) -> Ext2<RamDevice> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static IMGS: OnceLock<Mutex<HashMap<&'static str, Vec<u8>>>> = OnceLock::new();
    let mut imgs = IMGS.get_or_init(Default::default).lock().unwrap();
    let img = imgs.entry(key).or_insert_with(|| {
        let mut fs = empty_fs();
        setup(&mut fs);
        fs.unmount().expect("unmount prepared image").into_vec()
    });
    Ext2::mount_with(RamDevice::from_vec(img.clone()), mount_options()).expect("mount prepared image")
}

/// Small cache so that evictions (and re-reads of damaged blocks) happen.
pub fn mount_options() -> MountOptions {
    MountOptions { cache_blocks: 64, dir_index_entries: 1000, ..MountOptions::default() }
}

/// A `mail_sieve::Environment` that answers everything plainly.
pub struct SieveEnv;

impl mail_sieve::Environment for SieveEnv {
    fn envelope_from(&self) -> &str {
        "alice@example.org"
    }
    fn envelope_to(&self) -> &str {
        "bob+box@example.com"
    }
    fn mailbox_exists(&mut self, name: &str) -> bool {
        name.len() % 2 == 0
    }
    fn vacation_sent_recently(&mut self, _: &str, _: &str, _: u32) -> bool {
        false
    }
}

/// The valid image (made by `mke2fs -d` and `e2fsck -D`, see
/// `seeds/make-ext2-base.sh`) that the `ext2_image` target damages.
pub const EXT2_BASE: &[u8] = include_bytes!("../seeds/ext2-base.img");

/// Applies patches `(offset: 3 bytes big-endian, len: 1 byte, bytes)*`
/// to a copy of `base` (offsets wrap around the image size).
pub fn patch_image(base: &[u8], patches: &[u8]) -> Vec<u8> {
    let mut img = base.to_vec();
    let mut r = Reader::new(patches);
    while !r.data.is_empty() {
        let off = (usize::from(r.byte()) << 16 | usize::from(r.u16())) % img.len();
        let len = usize::from(r.byte());
        let bytes = r.take(len);
        let end = (off + bytes.len()).min(img.len());
        img[off..end].copy_from_slice(&bytes[..end - off]);
    }
    img
}

/// Reads a whole tree, bounded: depth, entries and bytes read. Paths
/// are collected into `seen` (files and directories). One entry in four
/// is reached by its path (a lookup from the root); the others by the
/// inode number in their directory entry, which is as damaged as the
/// rest and much cheaper than a lookup per entry.
pub fn walk<F: disk::FileSystem>(fs: &mut F, dir: &str, depth: u32, budget: &mut u32, seen: &mut Vec<(String, bool)>) {
    if depth > 6 || *budget == 0 {
        return;
    }
    let mut names = Vec::new();
    let _ = fs.read_dir(dir, &mut |e| {
        if let Some(n) = e.name_str() {
            if !n.contains('/') && !n.is_empty() {
                names.push((n.to_string(), e.ino));
            }
        }
        names.len() < 200
    });
    for (i, (n, ino)) in names.into_iter().enumerate() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = if dir == "/" { format!("/{n}") } else { format!("{dir}/{n}") };
        let by_path = i % 4 == 0;
        let md = if by_path { fs.stat(&path) } else { fs.stat_ino(ino) };
        let Ok(md) = md else { continue };
        match md.kind {
            disk::FileType::Dir => {
                seen.push((path.clone(), true));
                walk(fs, &path, depth + 1, budget, seen);
            }
            disk::FileType::File => {
                seen.push((path.clone(), false));
                if by_path {
                    let _ = fs.read_file(&path, 64 * 1024);
                } else if md.size <= 64 * 1024 {
                    let mut whole = vec![0u8; md.size as usize];
                    let _ = fs.read_at(md.ino, 0, &mut whole);
                }
                let mut buf = [0u8; 700];
                let _ = fs.read_at(md.ino, md.size.saturating_sub(300), &mut buf);
                let _ = fs.read_at(md.ino, 1 << 40, &mut buf);
            }
            _ => {}
        }
    }
}
