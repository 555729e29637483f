//! Runs mbsync (isync, an independent IMAP client) against the session
//! over TCP: a two-way sync of a local Maildir, then flag changes and a
//! deletion in each direction. Needs `mbsync` (Debian isync; see
//! tests/setup.sh); skipped loudly if missing and CI is not set.

mod common;
#[path = "common/tcp.rs"]
mod tcp;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use mail_imap::{Flags, Store, SystemFlag};

fn have_mbsync() -> bool {
    Command::new("mbsync").arg("--version").output().map_or(false, |o| o.status.success())
}

fn ci() -> bool {
    std::env::var("CI").map_or(false, |v| !v.is_empty() && v != "false" && v != "0")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in ["cur", "new"] {
        if let Ok(rd) = fs::read_dir(dir.join(sub)) {
            v.extend(rd.map(|e| e.unwrap().path()));
        }
    }
    v.sort();
    v
}

fn lf(m: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(m.len());
    for (i, &c) in m.iter().enumerate() {
        if c == b'\r' && m.get(i + 1) == Some(&b'\n') {
            continue;
        }
        v.push(c);
    }
    v
}

/// Removes mbsync's `X-TUID:` line.
fn strip_tuid(m: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len());
    for line in m.split_inclusive(|&c| c == b'\n') {
        if !line.starts_with(b"X-TUID: ") {
            out.extend_from_slice(line);
        }
    }
    out
}

fn mbsync(conf: &Path) {
    let out = Command::new("timeout")
        .args(["60", "mbsync", "-c", conf.to_str().unwrap(), "-a"])
        .output()
        .expect("run mbsync");
    assert!(
        out.status.success(),
        "mbsync failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mbsync_two_way_sync() {
    if !have_mbsync() {
        if ci() {
            panic!("mbsync is required under CI (run mail/imap/tests/setup.sh)");
        }
        eprintln!("\n!!! SKIPPING mbsync_two_way_sync: mbsync (isync) not found !!!\n");
        return;
    }
    let mut store = mail_imap::MemStore::new();
    store.deliver("INBOX", common::MSG1);
    store.deliver("INBOX", common::MSG2);
    store.create_folder("Lists").unwrap();
    store.deliver("Lists", common::MSG3);
    let shared = tcp::Shared::new(store);
    let port = tcp::spawn_server("127.0.0.1:0", shared.clone());

    let dir = std::env::temp_dir().join(format!("mail-imap-mbsync-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    // Removed even when an assertion fails.
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    let local = dir.join("mail");
    let inbox = local.join("INBOX");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let local_msg = b"From: me@example.com\r\nTo: bob@example.com\r\nSubject: written offline\r\nMessage-ID: <off1@example.com>\r\n\r\nhello from the laptop\r\n";
    fs::write(inbox.join("cur/1700000000.M1P1.laptop:2,S"), local_msg).unwrap();
    let conf = dir.join("mbsyncrc");
    fs::write(
        &conf,
        format!(
            "IMAPAccount test\nHost 127.0.0.1\nPort {port}\nUser bob\nPass secret\nSSLType None\nAuthMechs PLAIN\n\n\
IMAPStore remote\nAccount test\n\n\
MaildirStore local\nPath {l}/\nInbox {l}/INBOX\nSubFolders Verbatim\n\n\
Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\n",
            port = port,
            l = local.display()
        ),
    )
    .unwrap();

    // 1. First sync: both directions.
    mbsync(&conf);
    let inbox_files = files(&inbox);
    assert_eq!(inbox_files.len(), 3, "{:?}", inbox_files);
    let bodies: Vec<Vec<u8>> = inbox_files.iter().map(|p| strip_tuid(&fs::read(p).unwrap())).collect();
    // mbsync stores Maildir files with LF line ends and adds its X-TUID
    // tracking header; apart from that the server's messages arrive
    // byte-exact.
    assert!(bodies.iter().any(|b| *b == lf(common::MSG1)), "MSG1 not byte-exact: {:?}", bodies);
    assert!(bodies.iter().any(|b| *b == lf(common::MSG2)), "MSG2 not byte-exact");
    let lists = files(&local.join("Lists"));
    assert_eq!(lists.len(), 1);
    assert_eq!(strip_tuid(&fs::read(&lists[0]).unwrap()), common::MSG3);
    {
        let mut st = shared.store.lock().unwrap();
        let (_, list) = st.list_messages("INBOX").unwrap();
        assert_eq!(list.len(), 3);
        let up = list
            .iter()
            .find(|m| st.read_message("INBOX", m.uid).unwrap().windows(15).any(|w| w == b"written offline"))
            .expect("uploaded");
        assert!(up.flags.has(SystemFlag::Seen), "local S flag uploaded");
        // Special-use folders created at first login come down too.
        assert!(local.join("Trash").exists() && local.join("Sent").exists());
    }

    // 2. Change flags on the server, flag and delete locally, sync again.
    {
        let mut st = shared.store.lock().unwrap();
        st.set_flags("INBOX", 1, &Flags::new().with(SystemFlag::Seen).with(SystemFlag::Answered)).unwrap();
    }
    let msg2_file = files(&inbox).into_iter().find(|p| strip_tuid(&fs::read(p).unwrap()) == lf(common::MSG2)).unwrap();
    fs::remove_file(&msg2_file).unwrap();
    // Maildir: add F to the ":2," info, keeping the letters sorted.
    let list_file = &lists[0];
    let name = list_file.file_name().unwrap().to_string_lossy().into_owned();
    let (base, info) = name.split_once(":2,").unwrap_or((name.as_str(), ""));
    let mut letters: Vec<char> = info.chars().chain(['F']).collect();
    letters.sort();
    letters.dedup();
    let flagged = list_file.with_file_name(format!("{}:2,{}", base, letters.into_iter().collect::<String>()));
    fs::rename(list_file, &flagged).unwrap();
    mbsync(&conf);
    {
        let mut st = shared.store.lock().unwrap();
        let (_, inbox_list) = st.list_messages("INBOX").unwrap();
        assert_eq!(inbox_list.len(), 2, "deleted locally => expunged on the server: {:?}", inbox_list);
        assert!(inbox_list.iter().all(|m| m.uid != 2));
        let (_, lists_list) = st.list_messages("Lists").unwrap();
        assert!(lists_list[0].flags.has(SystemFlag::Flagged), "{:?}", lists_list);
    }
    let msg1_file = files(&inbox).into_iter().find(|p| strip_tuid(&fs::read(p).unwrap()) == lf(common::MSG1)).unwrap();
    let name = msg1_file.file_name().unwrap().to_string_lossy().into_owned();
    let info = name.split(":2,").nth(1).unwrap_or("");
    assert!(info.contains('R') && info.contains('S'), "server flags reached the Maildir: {}", name);
    let _ = fs::remove_dir_all(&dir);
}
