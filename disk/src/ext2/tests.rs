//! Host tests against e2fsprogs: images made by `mke2fs`, checked by
//! `e2fsck -fn` and read back with `debugfs`.

use super::*;
use crate::block::FileDevice;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// True when the e2fsprogs tools are here. Absent tools skip loudly, but
/// fail under CI.
pub(crate) fn have_tools() -> bool {
    let ok = ["mke2fs", "e2fsck", "debugfs"].iter().all(|t| Command::new(t).arg("-V").output().is_ok());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("e2fsprogs (mke2fs/e2fsck/debugfs) missing and CI is set: run disk/tests/setup.sh");
        }
        std::eprintln!("!!!!! SKIPPING: e2fsprogs not installed (run disk/tests/setup.sh) !!!!!");
    }
    ok
}

/// Compares bytes without dumping megabytes on failure.
#[track_caller]
pub(crate) fn same(a: &[u8], b: &[u8]) {
    if a != b {
        let i = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        panic!("bytes differ: len {} vs {}, first difference at {}", a.len(), b.len(), i);
    }
}

static N: AtomicU32 = AtomicU32::new(0);

pub(crate) fn mkimg(bs: u32, size: &str, extra: &[&str]) -> PathBuf {
    let p =
        std::env::temp_dir().join(format!("disk-test-{}-{}.img", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_file(&p);
    let mut c = Command::new("mke2fs");
    c.args(["-t", "ext2", "-F", "-q", "-b", &bs.to_string()]).args(extra).arg(&p).arg(size);
    let o = c.output().expect("mke2fs");
    assert!(o.status.success(), "mke2fs: {}", String::from_utf8_lossy(&o.stderr));
    p
}

pub(crate) fn fsck(p: &PathBuf) {
    let o = Command::new("e2fsck").arg("-fn").arg(p).output().expect("e2fsck");
    assert!(
        o.status.success(),
        "e2fsck -fn failed ({:?}):\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// e2fsck on an image that is still mounted by us (after a flush).
fn fsck_mounted(p: &PathBuf) {
    fsck(p)
}

pub(crate) fn debugfs(p: &PathBuf, req: &str) -> Vec<u8> {
    let o = Command::new("debugfs").arg("-R").arg(req).arg(p).output().expect("debugfs");
    assert!(o.status.success());
    o.stdout
}

fn debugfs_w(p: &PathBuf, req: &str) {
    let o = Command::new("debugfs").arg("-w").arg("-R").arg(req).arg(p).output().expect("debugfs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Names in a directory according to debugfs (`ls -p`: /ino/mode/uid/gid/name/size/).
pub(crate) fn debugfs_names(p: &PathBuf, dir: &str) -> Vec<String> {
    let out = String::from_utf8(debugfs(p, &format!("ls -p {dir}"))).unwrap();
    let mut v: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('/').collect();
            if f.len() >= 7 && f[1] != "0" {
                Some(f[5].into())
            } else {
                None
            }
        })
        .filter(|n: &String| n != "." && n != "..")
        .collect();
    v.sort();
    v
}

fn mount(p: &PathBuf) -> Ext2<FileDevice> {
    Ext2::mount(FileDevice::open(p).unwrap()).unwrap()
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn basic(bs: u32) {
    if !have_tools() {
        return;
    }
    let img = mkimg(bs, "64M", &[]);
    let mut fs = mount(&img);
    fs.mkdir("/a", 1000).unwrap();
    fs.mkdir("/a/b", 1000).unwrap();
    let ino = fs.create("/a/b/hello.txt", 1001).unwrap();
    fs.write_at(ino, 0, b"hello world\n", 1002).unwrap();
    fs.append(ino, b"second line\n", 1003).unwrap();
    same(&fs.read_file("/a/b/hello.txt", 1 << 20).unwrap(), b"hello world\nsecond line\n");
    assert_eq!(fs.create("/a/b/hello.txt", 1).unwrap_err(), FsError::Exists);
    assert_eq!(fs.mkdir("/a", 1).unwrap_err(), FsError::Exists);
    assert_eq!(fs.lookup("/nope").unwrap_err(), FsError::NotFound);
    assert_eq!(fs.create("/a/b/hello.txt/x", 1).unwrap_err(), FsError::NotDir);
    let st = fs.stat("/a/b/hello.txt").unwrap();
    assert_eq!(st.size, 24);
    assert_eq!(st.mtime, 1003);
    fs.set_mtime("/a/b/hello.txt", 777).unwrap();
    assert_eq!(fs.stat("/a/b/hello.txt").unwrap().mtime, 777);
    let mid = pattern(3 * bs as usize + 17, 9);
    fs.write_file("/a/mid.bin", &mid, 5).unwrap();
    // Overwrite in the middle, across a block boundary.
    let ino = fs.lookup("/a/mid.bin").unwrap();
    fs.write_at(ino, bs as u64 - 3, b"XXXXXX", 6).unwrap();
    let mut expect = mid.clone();
    expect[bs as usize - 3..bs as usize + 3].copy_from_slice(b"XXXXXX");
    // A write past the end leaves a zero-filled hole.
    fs.write_at(ino, expect.len() as u64 + 10000, b"tail", 7).unwrap();
    expect.resize(expect.len() + 10000, 0);
    expect.extend_from_slice(b"tail");
    same(&fs.read_file("/a/mid.bin", 1 << 20).unwrap(), &expect);
    let mut names = Vec::new();
    fs.read_dir("/a", |e| {
        names.push((String::from(e.name_str().unwrap()), e.kind));
        true
    })
    .unwrap();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(names, vec![("b".into(), FileType::Dir), ("mid.bin".into(), FileType::File)]);
    fs.unmount().unwrap();
    fsck(&img);
    same(&debugfs(&img, "cat /a/b/hello.txt"), b"hello world\nsecond line\n");
    same(&debugfs(&img, "cat /a/mid.bin"), &expect);
    assert_eq!(debugfs_names(&img, "/a"), vec!["b", "mid.bin"]);
    // Remount and check it is all still there.
    let mut fs = mount(&img);
    same(&fs.read_file("/a/mid.bin", 1 << 20).unwrap(), &expect);
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn basic_4k() {
    basic(4096);
}

#[test]
fn basic_1k() {
    basic(1024);
}

#[test]
fn basic_2k() {
    basic(2048);
}

fn big_files(bs: u32) {
    if !have_tools() {
        return;
    }
    let img = mkimg(bs, "64M", &[]);
    let mut fs = mount(&img);
    let free0 = fs.free_blocks();
    // > 4 MiB: double-indirect blocks with 4 KiB blocks.
    let big = pattern(5 * 1024 * 1024 + 123, 1);
    let ino = fs.create("/big", 10).unwrap();
    // Written in uneven chunks, as a mail body arrives.
    let mut off = 0;
    for chunk in big.chunks(70001) {
        fs.write_at(ino, off, chunk, 11).unwrap();
        off += chunk.len() as u64;
    }
    same(&fs.read_file("/big", 8 << 20).unwrap(), &big);
    // A sparse file reaching the triple-indirect range.
    let apb = bs as u64 / 4;
    let triple = (12 + apb + apb * apb) * bs as u64 + 5 * bs as u64 + 7;
    let sp = fs.create("/sparse", 12).unwrap();
    fs.write_at(sp, 100, b"head", 12).unwrap();
    fs.write_at(sp, triple, b"far away", 12).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(fs.read_at(sp, triple, &mut buf).unwrap(), 8);
    assert_eq!(&buf, b"far away");
    assert_eq!(fs.read_at(sp, triple - 8, &mut buf).unwrap(), 8);
    assert_eq!(buf, [0; 8]);
    // A second run of blocks further into the triple-indirect tree, then
    // truncations that trim inside it (partial level-3 and level-2 trims).
    let far = triple + (apb * apb + 3 * apb + 2) * bs as u64;
    fs.write_at(sp, far, b"further", 12).unwrap();
    fs.flush().unwrap();
    fsck_mounted(&img);
    fs.truncate(sp, triple + (apb * apb + 1) * bs as u64, 13).unwrap();
    assert_eq!(fs.read_at(sp, triple, &mut buf).unwrap(), 8);
    assert_eq!(&buf, b"far away");
    fs.flush().unwrap();
    fsck_mounted(&img);
    fs.truncate(sp, triple + 3, 13).unwrap();
    assert_eq!(fs.read_at(sp, triple, &mut buf).unwrap(), 3);
    fs.write_at(sp, triple + 3, b"X", 13).unwrap();
    assert_eq!(fs.read_at(sp, triple, &mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"farX");
    fs.truncate(sp, triple + 8, 13).unwrap();
    fs.write_at(sp, triple + 4, b" away", 13).unwrap();
    assert_eq!(fs.read_at(sp, triple, &mut buf).unwrap(), 8);
    assert_eq!(&buf, b"farX awa");
    fs.truncate(sp, triple + 8, 13).unwrap();
    fs.flush().unwrap();
    drop(fs);
    fsck(&img);
    same(&debugfs(&img, "cat /big"), &big);
    let stat = String::from_utf8(debugfs(&img, "stat /sparse")).unwrap();
    assert!(stat.contains(&format!("Size: {}", triple + 8)), "{stat}");

    // Truncations at awkward places, each checked by e2fsck.
    let mut fs = mount(&img);
    let ino = fs.lookup("/big").unwrap();
    let mut cuts = [4 * 1024 * 1024 + 5, (12 + apb) * bs as u64 + 1, (12 + apb) * bs as u64, 12 * bs as u64, 100, 0];
    cuts.sort_unstable_by(|a, b| b.cmp(a));
    for &cut in &cuts {
        fs.truncate(ino, cut, 20).unwrap();
        fs.flush().unwrap();
        fsck(&img);
        same(&debugfs(&img, "cat /big"), &big[..cut as usize]);
    }
    // Growing by truncate reads back zeros.
    fs.write_at(ino, 0, b"abc", 21).unwrap();
    fs.truncate(ino, 1, 21).unwrap();
    fs.truncate(ino, 5000, 21).unwrap();
    let mut want = vec![0u8; 5000];
    want[0] = b'a';
    same(&fs.read_file("/big", 1 << 20).unwrap(), &want);
    fs.unlink("/big", 22).unwrap();
    fs.unlink("/sparse", 22).unwrap();
    // Frees are deferred to the flush.
    assert!(fs.free_blocks() < free0);
    fs.flush().unwrap();
    assert_eq!(fs.free_blocks(), free0);
    fs.unmount().unwrap();
    fsck(&img);
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn big_files_4k() {
    big_files(4096);
}

#[test]
fn big_files_1k() {
    big_files(1024);
}

fn many_files(bs: u32, n: usize, size: &str) {
    if !have_tools() {
        return;
    }
    let img = mkimg(bs, size, &[]);
    let mut fs = mount(&img);
    fs.mkdir("/d", 1).unwrap();
    fs.mkdir("/e", 1).unwrap();
    for i in 0..n {
        let name = format!("/d/1700000000.M{i}P42.host,S={}", i % 977);
        let ino = fs.create(&name, 2).unwrap();
        fs.write_at(ino, 0, format!("message {i}\n").as_bytes(), 2).unwrap();
    }
    // Rename every third within the dir, move every seventh to /e, delete every fifth.
    let mut expect_d = Vec::new();
    let mut expect_e = Vec::new();
    for i in 0..n {
        let name = format!("1700000000.M{i}P42.host,S={}", i % 977);
        if i % 5 == 0 {
            fs.unlink(&format!("/d/{name}"), 3).unwrap();
        } else if i % 7 == 0 {
            fs.rename(&format!("/d/{name}"), &format!("/e/{name}"), 3).unwrap();
            expect_e.push(name);
        } else if i % 3 == 0 {
            let new = format!("{name}:2,S");
            fs.rename(&format!("/d/{name}"), &format!("/d/{new}"), 3).unwrap();
            expect_d.push(new);
        } else {
            expect_d.push(name);
        }
    }
    // New files reuse the holes left by deletes before the directory grows.
    let size_before = fs.stat("/d").unwrap().size;
    for i in 0..n / 10 {
        fs.create(&format!("/d/new{i}"), 4).unwrap();
        expect_d.push(format!("new{i}"));
    }
    assert_eq!(fs.stat("/d").unwrap().size, size_before);
    let mut count = 0;
    fs.read_dir("/d", |_| {
        count += 1;
        true
    })
    .unwrap();
    assert_eq!(count, expect_d.len());
    same(&fs.read_file("/d/1700000000.M1P42.host,S=1", 100).unwrap(), b"message 1\n");
    fs.unmount().unwrap();
    fsck(&img);
    expect_d.sort();
    expect_e.sort();
    assert_eq!(debugfs_names(&img, "/d"), expect_d);
    assert_eq!(debugfs_names(&img, "/e"), expect_e);
    same(&debugfs(&img, "cat /e/1700000000.M7P42.host,S=7"), b"message 7\n");
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn many_files_4k() {
    many_files(4096, 6000, "64M");
}

/// Tens of thousands of names in one directory.
#[test]
fn many_files_30k() {
    many_files(4096, 30000, "512M");
}

#[test]
fn many_files_1k() {
    many_files(1024, 2000, "64M");
}

#[test]
fn dirs_and_renames() {
    if !have_tools() {
        return;
    }
    let img = mkimg(4096, "64M", &[]);
    let mut fs = mount(&img);
    for d in ["/u", "/u/Maildir", "/u/Maildir/cur", "/u/Maildir/new", "/u/Maildir/tmp", "/x", "/x/y"] {
        fs.mkdir(d, 5).unwrap();
    }
    fs.write_file("/u/Maildir/tmp/m1", b"one", 6).unwrap();
    fs.write_file("/u/Maildir/new/m1", b"old", 6).unwrap();
    // Rename over an existing file replaces it.
    fs.rename("/u/Maildir/tmp/m1", "/u/Maildir/new/m1", 7).unwrap();
    same(&fs.read_file("/u/Maildir/new/m1", 10).unwrap(), b"one");
    assert_eq!(fs.lookup("/u/Maildir/tmp/m1").unwrap_err(), FsError::NotFound);
    // Directory moves across parents fix "..", link counts.
    fs.rename("/x/y", "/u/y", 8).unwrap();
    assert_eq!(fs.lookup("/u/y/..").unwrap(), fs.lookup("/u").unwrap());
    assert_eq!(fs.rename("/u", "/u/y/z", 8).unwrap_err(), FsError::InvalidArgument);
    // Directory over an empty directory.
    fs.mkdir("/x/z", 8).unwrap();
    fs.rename("/u/y", "/x/z", 9).unwrap();
    assert_eq!(fs.rmdir("/u", 9).unwrap_err(), FsError::NotEmpty);
    assert_eq!(fs.rmdir("/u/Maildir/new/m1", 9).unwrap_err(), FsError::NotDir);
    assert_eq!(fs.unlink("/u/Maildir", 9).unwrap_err(), FsError::IsDir);
    fs.rmdir("/u/Maildir/tmp", 10).unwrap();
    fs.rename("/u/Maildir/cur", "/u/Maildir/current", 10).unwrap();
    assert_eq!(fs.create("/u/Maildir/..", 1).unwrap_err(), FsError::InvalidName);
    assert_eq!(fs.stat("/u").unwrap().links, 3);
    fs.unmount().unwrap();
    fsck(&img);
    assert_eq!(debugfs_names(&img, "/u/Maildir"), vec!["current", "new"]);
    assert_eq!(debugfs_names(&img, "/x"), vec!["z"]);
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn read_only_mount_never_writes() {
    if !have_tools() {
        return;
    }
    let img = mkimg(1024, "4M", &[]);
    debugfs_w(&img, "mkdir etc");
    let host = img.with_extension("cfg");
    std::fs::write(&host, b"domain example.org\n").unwrap();
    debugfs_w(&img, &format!("write {} etc/unimail.conf", host.display()));
    let before = std::fs::read(&img).unwrap();
    let dev = FileDevice::open_read_only(&img).unwrap();
    let mut fs = Ext2::mount_with(dev, MountOptions { read_only: true, ..Default::default() }).unwrap();
    same(&fs.read_file("/etc/unimail.conf", 1000).unwrap(), b"domain example.org\n");
    assert_eq!(fs.create("/x", 1).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.unlink("/etc/unimail.conf", 1).unwrap_err(), FsError::ReadOnly);
    assert_eq!(fs.set_mtime("/etc/unimail.conf", 1).unwrap_err(), FsError::ReadOnly);
    fs.flush().unwrap();
    fs.unmount().unwrap();
    assert!(std::fs::read(&img).unwrap() == before);
    std::fs::remove_file(&img).unwrap();
    std::fs::remove_file(&host).unwrap();
}

#[test]
fn reads_what_debugfs_wrote() {
    if !have_tools() {
        return;
    }
    let img = mkimg(4096, "64M", &[]);
    let host = img.with_extension("src");
    let data = pattern(6 * 1024 * 1024 + 5, 3);
    std::fs::write(&host, &data).unwrap();
    debugfs_w(&img, "mkdir dir");
    debugfs_w(&img, &format!("write {} dir/f", host.display()));
    let mut fs = mount(&img);
    same(&fs.read_file("/dir/f", 8 << 20).unwrap(), &data);
    assert_eq!(fs.stat("/dir/f").unwrap().size, data.len() as u64);
    // And modify what the other side wrote.
    fs.unlink("/dir/f", 1).unwrap();
    fs.rmdir("/dir", 1).unwrap();
    fs.unmount().unwrap();
    fsck(&img);
    std::fs::remove_file(&img).unwrap();
    std::fs::remove_file(&host).unwrap();
}

#[test]
fn htree_directory_is_made_linear() {
    if !have_tools() {
        return;
    }
    let img = mkimg(1024, "16M", &[]);
    let mut fs = mount(&img);
    fs.mkdir("/big", 1).unwrap();
    for i in 0..400 {
        fs.create(&format!("/big/a-fairly-long-file-name-{i:05}"), 1).unwrap();
    }
    fs.unmount().unwrap();
    // e2fsck -D builds a hash index for the directory.
    let o = Command::new("e2fsck").args(["-fyD"]).arg(&img).output().unwrap();
    assert!(o.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8(debugfs(&img, "stat /big")).unwrap().contains("Flags: 0x1000"));
    let mut fs = mount(&img);
    assert!(fs.lookup("/big/a-fairly-long-file-name-00399").is_ok());
    for i in 0..50 {
        fs.create(&format!("/big/new-{i}"), 2).unwrap();
        fs.unlink(&format!("/big/a-fairly-long-file-name-{i:05}"), 2).unwrap();
    }
    fs.unmount().unwrap();
    fsck(&img);
    assert_eq!(debugfs_names(&img, "/big").len(), 400);
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn full_disk_reports_no_space() {
    if !have_tools() {
        return;
    }
    let img = mkimg(1024, "2M", &[]);
    let mut fs = mount(&img);
    let ino = fs.create("/fill", 1).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut err = None;
    for i in 0..100 {
        if let Err(e) = fs.write_at(ino, i * chunk.len() as u64, &chunk, 1) {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err, Some(FsError::NoSpace));
    fs.unlink("/fill", 2).unwrap();
    // The freed blocks are usable at once (a flush is made internally).
    let ino = fs.create("/again", 3).unwrap();
    fs.write_at(ino, 0, &vec![1u8; 1024 * 1024], 3).unwrap();
    fs.unlink("/again", 3).unwrap();
    // Same for inodes.
    let mut n = 0;
    let err = loop {
        match fs.create(&format!("/i{n}"), 4) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, FsError::NoInodes);
    fs.unlink("/i0", 5).unwrap();
    fs.create("/last", 5).unwrap();
    fs.unmount().unwrap();
    fsck(&img);
    std::fs::remove_file(&img).unwrap();
}

/// Mount and walk everything; errors are fine, panics are not.
fn walk_all(img: Vec<u8>) {
    let Ok(mut fs) = Ext2::mount(crate::block::RamDevice::from_vec(img)) else { return };
    let mut stack = vec![String::from("/")];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        let mut kids = Vec::new();
        let _ = fs.read_dir(&d, |e| {
            kids.push((format!("{}/{}", d.trim_end_matches('/'), String::from_utf8_lossy(e.name)), e.kind));
            true
        });
        for (k, kind) in kids {
            seen += 1;
            if seen > 2000 {
                return;
            }
            if kind == FileType::Dir {
                stack.push(k.clone());
            } else {
                let _ = fs.read_file(&k, 1 << 20);
                let _ = fs.write_file(&k, b"x", 1);
            }
            let _ = fs.unlink(&k, 1);
        }
        let _ = fs.create(&format!("{}/new", d.trim_end_matches('/')), 1);
        let _ = fs.mkdir(&format!("{}/newdir", d.trim_end_matches('/')), 1);
    }
    let _ = fs.flush();
}

#[test]
fn corrupted_images_fail_cleanly() {
    if !have_tools() {
        return;
    }
    let img = mkimg(1024, "4M", &[]);
    {
        let mut fs = mount(&img);
        fs.mkdir("/d", 1).unwrap();
        for i in 0..30 {
            fs.write_file(&format!("/d/f{i}"), &pattern(3000 * i, i as u32), 1).unwrap();
        }
        fs.unmount().unwrap();
    }
    let good = std::fs::read(&img).unwrap();
    let ram = |v: &Vec<u8>| crate::block::RamDevice::from_vec(v.clone());
    assert!(Ext2::mount(ram(&good)).is_ok());
    // Bad magic.
    let mut bad = good.clone();
    bad[1024 + 56] = 0;
    assert!(matches!(Ext2::mount(ram(&bad)), Err(FsError::Corrupt(_))));
    // Block count larger than the device.
    let mut bad = good.clone();
    bad[1024 + 4..1024 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Ext2::mount(ram(&bad)).is_err());
    // Absurd block size, zero blocks per group.
    let mut bad = good.clone();
    bad[1024 + 24] = 30;
    assert!(Ext2::mount(ram(&bad)).is_err());
    let mut bad = good.clone();
    bad[1024 + 32..1024 + 36].copy_from_slice(&0u32.to_le_bytes());
    assert!(Ext2::mount(ram(&bad)).is_err());
    // Unknown incompatible feature.
    let mut bad = good.clone();
    bad[1024 + 96] |= 0x40;
    assert!(matches!(Ext2::mount(ram(&bad)), Err(FsError::Unsupported(_))));
    // Corrupt inode: the file's first block pointer far out of range.
    let ino = {
        let mut fs = Ext2::mount(ram(&good)).unwrap();
        fs.lookup("/d/f5").unwrap()
    };
    let inode_table = {
        let gd = &good[2048..2048 + 32];
        u32::from_le_bytes([gd[8], gd[9], gd[10], gd[11]]) as usize
    };
    let isz = u16::from_le_bytes([good[1024 + 88], good[1024 + 89]]) as usize;
    let off = inode_table * 1024 + (ino as usize - 1) * isz;
    let mut bad = good.clone();
    bad[off + 40..off + 44].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let mut fs = Ext2::mount(ram(&bad)).unwrap();
    assert!(matches!(fs.read_file("/d/f5", 1 << 20), Err(FsError::Corrupt(_))));
    assert!(fs.unlink("/d/f5", 1).is_err());
    // Corrupt inode: absurd size.
    let mut bad = good.clone();
    bad[off + 108..off + 112].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut fs = Ext2::mount(ram(&bad)).unwrap();
    assert!(fs.read_file("/d/f5", usize::MAX).is_err());
    // Corrupt root directory block: rec_len 0.
    let root_off = inode_table * 1024 + isz;
    let root_blk = u32::from_le_bytes(good[root_off + 40..root_off + 44].try_into().unwrap()) as usize;
    let mut bad = good.clone();
    bad[root_blk * 1024 + 4] = 0;
    bad[root_blk * 1024 + 5] = 0;
    let mut fs = Ext2::mount(ram(&bad)).unwrap();
    assert!(matches!(fs.lookup("/d"), Err(FsError::Corrupt(_))));
    // A directory with a hole, and one claiming more blocks than the
    // filesystem has: errors, not a skip over every missing block.
    let d_off = {
        let mut fs = Ext2::mount(ram(&good)).unwrap();
        inode_table * 1024 + (fs.lookup("/d").unwrap() as usize - 1) * isz
    };
    let mut bad = good.clone();
    bad[d_off + 40..d_off + 44].copy_from_slice(&0u32.to_le_bytes());
    let mut fs = Ext2::mount(ram(&bad)).unwrap();
    assert!(matches!(fs.lookup("/d/f5"), Err(FsError::Corrupt("hole in a directory"))));
    assert!(matches!(fs.read_dir("/d", |_| true), Err(FsError::Corrupt("hole in a directory"))));
    assert!(matches!(fs.create("/d/new", 1), Err(FsError::Corrupt("hole in a directory"))));
    let mut bad = good.clone();
    bad[d_off + 4..d_off + 8].copy_from_slice(&(0xffff_fc00u32).to_le_bytes());
    bad[d_off + 28..d_off + 32].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut fs = Ext2::mount(ram(&bad)).unwrap();
    assert!(matches!(fs.lookup("/d/f5"), Err(FsError::Corrupt("directory larger than the filesystem"))));
    // Random damage to the metadata area never panics.
    let mut x = 12345u32;
    for round in 0..300 {
        let mut bad = good.clone();
        for _ in 0..(1 + round % 8) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Superblock, descriptors, bitmaps, inode table, first dir blocks.
            let pos = 1024 + (x as usize % (300 * 1024));
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bad[pos] = x as u8;
        }
        walk_all(bad);
    }
    std::fs::remove_file(&img).unwrap();
}

#[test]
fn format_passes_e2fsck() {
    if !have_tools() {
        return;
    }
    for (bs, size_mb) in [(1024u32, 9u64), (4096, 64), (4096, 300), (2048, 40), (1024, 130)] {
        let p = std::env::temp_dir().join(format!("disk-fmt-{}-{bs}-{size_mb}.img", std::process::id()));
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(size_mb << 20).unwrap();
        drop(f);
        let mut dev = FileDevice::open(&p).unwrap();
        format(&mut dev, &FormatOptions { block_size: bs, now: 1_700_000_000, ..Default::default() }).unwrap();
        fsck(&p);
        let mut fs = Ext2::mount(dev).unwrap();
        fs.mkdir("/x", 1_700_000_001).unwrap();
        fs.write_file("/x/y", b"data", 1_700_000_001).unwrap();
        fs.unmount().unwrap();
        fsck(&p);
        same(&debugfs(&p, "cat /x/y"), b"data");
        std::fs::remove_file(&p).unwrap();
    }
}

/// Structure-aware damage: inode fields, directory blocks, bitmaps and
/// descriptors of a populated image. Every operation may fail; none may
/// panic or loop forever.
#[test]
fn fuzzed_metadata_never_panics() {
    if !have_tools() {
        return;
    }
    for bs in [1024u32, 4096] {
        let img = mkimg(bs, "16M", &[]);
        {
            let mut fs = mount(&img);
            for d in 0..4 {
                fs.mkdir(&format!("/d{d}"), 1).unwrap();
                for i in 0..25 {
                    let len = [0, 10, 5000, 70_000, 300_000][(i + d) % 5];
                    fs.write_file(&format!("/d{d}/file-with-a-long-name-{i}"), &pattern(len, i as u32), 1).unwrap();
                }
            }
            fs.unmount().unwrap();
        }
        let good = std::fs::read(&img).unwrap();
        std::fs::remove_file(&img).unwrap();
        let bsz = bs as usize;
        let gd_off = if bs == 1024 { 2048 } else { 4096 };
        let rd = |o: usize| u32::from_le_bytes(good[o..o + 4].try_into().unwrap()) as usize;
        let itable = rd(gd_off + 8) * bsz;
        let isz = u16::from_le_bytes([good[1024 + 88], good[1024 + 89]]) as usize;
        let mut x = 0x9e3779b9u32 ^ bs;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as usize
        };
        for _ in 0..250 {
            let mut bad = good.clone();
            for _ in 0..1 + rnd() % 4 {
                match rnd() % 6 {
                    // An inode field of one of the first 120 inodes.
                    0 | 1 => {
                        let ino = rnd() % 120;
                        let field = [0, 4, 26, 28, 32, 40, 44, 84, 88, 92, 96, 100, 108][rnd() % 13];
                        let v = [0u32, 1, 2, 0xffff_ffff, 0x8000_0000, rnd() as u32, 12, 4096][rnd() % 8];
                        let o = itable + ino * isz + field;
                        bad[o..o + 4].copy_from_slice(&v.to_le_bytes());
                    }
                    // A byte of some block past the inode table (directory and data blocks).
                    2 | 3 => {
                        let o = itable + 200 * isz + rnd() % (bad.len() - itable - 200 * isz);
                        bad[o] = rnd() as u8;
                    }
                    // Group descriptor or bitmaps.
                    4 => {
                        let o = gd_off + rnd() % 64;
                        bad[o] = rnd() as u8;
                    }
                    _ => {
                        let o = rd(gd_off) * bsz + rnd() % bsz;
                        bad[o] = rnd() as u8;
                    }
                }
            }
            walk_all(bad);
        }
    }
}

/// The in-memory directory index must pick exactly the slots the linear
/// scan picks: the same workload gives byte-identical images.
#[test]
fn directory_index_matches_linear_scan() {
    let run = |index: usize| -> Vec<u8> {
        let mut dev = crate::block::RamDevice::new(32 * 2048);
        format(&mut dev, &FormatOptions { block_size: 1024, now: 5, ..Default::default() }).unwrap();
        let opts = MountOptions { dir_index_entries: index, cache_blocks: 64, ..Default::default() };
        let mut fs = Ext2::mount_with(dev, opts).unwrap();
        fs.mkdir("/d", 1).unwrap();
        fs.mkdir("/e", 1).unwrap();
        let mut x = 1u32;
        let mut live: Vec<String> = Vec::new();
        for step in 0..6000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let op = x % 10;
            if op < 5 || live.is_empty() {
                let name = format!("/d/{}-{}", "n".repeat((x % 40) as usize), step);
                fs.create(&name, step).unwrap();
                live.push(name);
            } else if op < 7 {
                let i = (x as usize / 10) % live.len();
                let name = live.swap_remove(i);
                fs.unlink(&name, step).unwrap();
            } else if op < 9 {
                let i = (x as usize / 10) % live.len();
                let new = if x % 2 == 0 { format!("/d/r{step}") } else { format!("/e/m{step}") };
                fs.rename(&live[i], &new, step).unwrap();
                live[i] = new;
            } else {
                let i = (x as usize / 10) % live.len();
                assert!(fs.lookup(&live[i]).is_ok());
                assert_eq!(fs.lookup(&format!("{}x", live[i])).unwrap_err(), FsError::NotFound);
                assert_eq!(fs.create(&live[i], step).unwrap_err(), FsError::Exists);
            }
            if step == 3000 {
                fs.flush().unwrap();
            }
        }
        let mut n = 0;
        fs.read_dir("/d", |_| {
            n += 1;
            true
        })
        .unwrap();
        fs.read_dir("/e", |_| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, live.len());
        fs.unmount().unwrap().into_vec()
    };
    let a = run(0);
    let b = run(100_000);
    let c = run(300); // an index too small for the directory: linear fallback
    assert!(a == b, "index changed the on-disk result");
    assert!(a == c);
    if have_tools() {
        let p = std::env::temp_dir().join(format!("disk-idx-{}.img", std::process::id()));
        std::fs::write(&p, &b).unwrap();
        fsck(&p);
        std::fs::remove_file(&p).unwrap();
    }
}
