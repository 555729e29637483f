//! The ext2 filesystem (disk crate) on a damaged disk: a valid image made
//! by mke2fs (seeds/ext2-base.img) with the input's patches applied is
//! mounted, walked and read entirely (directories linear and htree,
//! direct and indirect blocks, symlinks), then changed (create, write,
//! mkdir, link, rename, unlink, truncate, flush) and mounted again. Every
//! problem must be an `Err`, never a panic, and every loop must end.
//!
//! Input: `flags, (offset: u24 BE, len: u8, bytes)*`.
#![no_main]
use disk::{Ext2, FileSystem, MountOptions, RamDevice};
use fuzz_common::{mount_options, patch_image, walk, Reader, EXT2_BASE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let flags = r.byte();
    let img = patch_image(EXT2_BASE, r.rest());
    let opts = MountOptions {
        read_only: flags & 1 != 0,
        recount: flags & 2 != 0,
        dir_index_entries: if flags & 4 != 0 { 0 } else { 1000 },
        cache_blocks: 8 + (flags as usize >> 4) * 8,
        ..mount_options()
    };
    let Ok(mut fs) = Ext2::mount_with(RamDevice::from_vec(img), opts) else { return };
    let _ = (fs.free_blocks(), fs.free_inodes(), fs.block_size());
    let mut seen = Vec::new();
    walk(&mut fs, "/", 0, &mut 400, &mut seen);
    for p in ["/fastlink", "/slowlink", "/bob/Maildir/cur", "/big/file-with-a-longish-name-77", "/nonexistent/x"] {
        let _ = fs.lookup(p);
        let _ = fs.stat(p);
    }
    if flags & 1 != 0 {
        return;
    }
    // Changes on the damaged filesystem.
    let now = 1_800_000_000;
    let _ = fs.write_file("/new", &[b'n'; 3000], now);
    if let Ok(ino) = fs.create("/big/zz-new-name", now) {
        let _ = fs.write_at(ino, 5000, b"sparse", now);
        let _ = fs.append(ino, &[7; 2000], now);
        let _ = fs.truncate(ino, 100, now);
    }
    let _ = fs.mkdir("/deep/a/new-dir", now);
    for (i, (path, is_dir)) in seen.iter().enumerate().take(40) {
        match (i % 4, is_dir) {
            (0, false) => {
                let _ = fs.unlink(path, now);
            }
            (1, false) => {
                let _ = fs.rename(path, "/big/renamed", now);
            }
            (2, false) => {
                let _ = fs.link(path, "/deep/linked", now);
                let _ = fs.remove_alias("/deep/linked", now);
            }
            (3, _) => {
                let _ = fs.write_file(&format!("{path}.w"), b"data", now);
            }
            (_, true) => {
                let _ = fs.rmdir(path, now);
            }
            _ => {}
        }
    }
    let _ = fs.replace_file("/big/file-with-a-longish-name-5", "/big/tmp", b"replaced", now);
    let _ = fs.set_mtime("/new", now + 1);
    if fs.flush().is_err() {
        return;
    }
    let Ok(dev) = fs.unmount() else { return };
    // What we wrote must mount again (as well as the damage allows).
    if let Ok(mut fs) = Ext2::mount_with(dev, mount_options()) {
        walk(&mut fs, "/", 0, &mut 400, &mut Vec::new());
    }
});
