//! The Maildir the IMAP store writes, checked by independent tools on a
//! file-backed ext2 image: `e2fsck -fn` (consistent filesystem), `debugfs`
//! (flags visible in the file names, Dovecot's keyword file), and Dovecot
//! itself (`doveadm`, Debian's dovecot-core): same UIDs, UIDVALIDITY,
//! flags including keywords, sizes, dates, folders and subscriptions.
//! Then the other way round: Dovecot changes flags and keywords and copies
//! mail, the tree is loaded back, and our store must see what Dovecot sees.
//! Tools come from tests/setup.sh; missing tools skip loudly unless CI is set.

mod common;
use common::*;
use disk::FileDevice;
use mail_imap::Store;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn have(tools: &[&str], pkg: &str) -> bool {
    let ok = tools.iter().all(|t| {
        Command::new(t).arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
            || Path::new(&format!("/usr/bin/{t}")).exists()
    });
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tools:?} ({pkg}) missing and CI is set: run mail/store/tests/setup.sh");
        }
        eprintln!("!!!!! SKIPPING: {pkg} not installed (run mail/store/tests/setup.sh) !!!!!");
    }
    ok
}

fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("mail-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    let _ = std::fs::remove_file(&p);
    p
}

fn sh(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn debugfs(img: &Path, req: &str) -> String {
    sh(Command::new("debugfs").arg("-R").arg(req).arg(img))
}

/// The image after our IMAP dialogue, and what our store reports.
/// `(uid, flags, size, internal date)` per message, per folder.
type View = Vec<(String, Vec<(u32, String, u32, i64)>)>;

fn build_image(tag: &str) -> (PathBuf, View, u32) {
    let img = tmp(&format!("{tag}.img"));
    sh(Command::new("mke2fs").args(["-t", "ext2", "-F", "-q", "-b", "4096"]).arg(&img).arg("32M"));
    let mut env = Env::mount(FileDevice::open(&img).unwrap());
    env.deliver(MSG1);
    env.deliver(MSG2);
    env.deliver(MSG1);
    let mut s = logged_in(&mut env);
    let out = run(
        &mut s,
        &mut env,
        "a SELECT INBOX\r\n\
         b STORE 1 +FLAGS (\\Seen \\Flagged Work $Junk)\r\n\
         c STORE 2 +FLAGS (\\Answered $Forwarded)\r\n\
         d CREATE Archive/2024\r\n\
         e COPY 1:2 Archive/2024\r\n\
         f MOVE 3 Archive/2024\r\n\
         g STORE 2 +FLAGS (\\Deleted)\r\n\
         h EXPUNGE\r\n\
         i SUBSCRIBE Archive/2024\r\n\
         j CREATE Entw&APw-rfe\r\n",
    );
    assert!(out.contains("j OK") && out.contains("h OK"), "{out}");
    let out = run(
        &mut s,
        &mut env,
        &format!(
            "k APPEND INBOX (\\Draft Later) \"02-Jan-2021 03:04:05 +0000\" {{{}+}}\r\n{}\r\n",
            MSG3.len(),
            std::str::from_utf8(MSG3).unwrap()
        ),
    );
    assert!(out.contains("k OK"), "{out}");
    let mut ours = Vec::new();
    let mut st = env.store();
    let uv = st.folder_status("INBOX").unwrap().uid_validity;
    for f in ["INBOX", "Archive/2024"] {
        let (_, l) = st.list_messages(f).unwrap();
        ours.push((f.to_string(), l.iter().map(|m| (m.uid, flag_words(&m.flags), m.size, m.internal_date)).collect()));
    }
    env.fs.unmount().unwrap();
    (img, ours, uv)
}

/// Flags as sorted words, without \Recent.
fn flag_words(f: &mail_imap::Flags) -> String {
    let mut s = String::new();
    f.write_list(&mut s, false);
    words(s.trim_matches(|c| c == '(' || c == ')'))
}

fn words(s: &str) -> String {
    let mut v: Vec<String> =
        s.split(' ').filter(|w| !w.is_empty() && *w != "\\Recent").map(|w| w.to_ascii_lowercase()).collect();
    v.sort();
    v.join(" ")
}

#[test]
fn e2fsck_and_debugfs_see_a_clean_maildir() {
    if !have(&["mke2fs", "e2fsck", "debugfs"], "e2fsprogs") {
        return;
    }
    let (img, _, _) = build_image("fsck");
    sh(Command::new("e2fsck").arg("-fn").arg(&img));
    let cur = debugfs(&img, "ls /mail/bob/Maildir/cur");
    assert!(cur.contains(",S=") && cur.contains(":2,FSab"), "{cur}");
    assert!(cur.contains(":2,Dd"), "{cur}"); // the APPEND: \Draft Later
    assert!(debugfs(&img, "ls /mail/bob/Maildir/new").lines().all(|l| !l.contains(",S=")));
    let arch = debugfs(&img, "ls /mail/bob/Maildir/.Archive.2024/cur");
    assert!(arch.contains(":2,FSab"), "{arch}");
    assert!(arch.contains(":2,Rc"), "{arch}");
    assert_eq!(debugfs(&img, "cat /mail/bob/Maildir/dovecot-keywords"), "0 Work\n1 $Junk\n2 $Forwarded\n3 Later\n");
    assert_eq!(
        debugfs(&img, "cat /mail/bob/Maildir/.Archive.2024/dovecot-keywords"),
        "0 Work\n1 $Junk\n2 $Forwarded\n"
    );
    let root = debugfs(&img, "ls /mail/bob/Maildir");
    assert!(
        root.contains(".Entw&APw-rfe") && root.contains("dovecot-uidvalidity") && root.contains("subscriptions"),
        "{root}"
    );
    let _ = std::fs::remove_file(&img);
}

fn dovecot_conf(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("run")).unwrap();
    let conf = dir.join("dovecot.conf");
    std::fs::write(
        &conf,
        format!(
            "mail_location = maildir:~/Maildir\nfirst_valid_uid = 0\nfirst_valid_gid = 0\nmail_uid = 65534\nmail_gid = 65534\n\
             base_dir = {0}/run\nstate_dir = {0}/run\nlog_path = /dev/stderr\nssl = no\nprotocols =\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n",
            dir.display()
        ),
    )
    .unwrap();
    sh(Command::new("chown").args(["-R", "65534:65534"]).arg(dir));
    conf
}

fn doveadm(conf: &Path, home: &Path, args: &[&str]) -> String {
    sh(Command::new("doveadm")
        .env("USER", USER)
        .env("HOME", home)
        .env("TZ", "UTC")
        .arg("-c")
        .arg(conf)
        .args(["-f", "tab"])
        .args(args))
}

/// `uid flags size date` rows from doveadm for a folder.
fn dovecot_rows(conf: &Path, home: &Path, folder: &str) -> Vec<(u32, String, u32, i64)> {
    let out = doveadm(conf, home, &["fetch", "uid flags size.virtual date.received", "mailbox", folder, "all"]);
    out.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].parse().unwrap(), words(f[1]), f[2].parse().unwrap(), epoch(f[3]))
        })
        .collect()
}

/// "2021-01-02 03:04:05" (TZ=UTC) -> unix time.
fn epoch(s: &str) -> i64 {
    let n: Vec<i64> =
        s.split(|c: char| !c.is_ascii_digit()).filter(|x| !x.is_empty()).map(|x| x.parse().unwrap()).collect();
    let (y, m, d) = (n[0], n[1], n[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146097 + doe - 719468) * 86400 + n[3] * 3600 + n[4] * 60 + n[5]
}

/// Loads a host directory tree into a fresh in-RAM ext2 under `to`,
/// keeping file mtimes.
fn import(env: &mut Env<disk::RamDevice>, from: &Path, to: &str) {
    let _ = env.fs.mkdir(to, T0);
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        let dst = format!("{to}/{name}");
        let md = e.metadata().unwrap();
        if md.is_dir() {
            import(env, &e.path(), &dst);
        } else if md.is_file() && !name.starts_with("dovecot.index") && !name.starts_with("dovecot.list") {
            env.fs.write_file(&dst, &std::fs::read(e.path()).unwrap(), T0).unwrap();
            let mtime = md.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
            env.fs.set_mtime(&dst, mtime).unwrap();
        }
    }
}

#[test]
fn dovecot_agrees_both_ways() {
    if !have(&["mke2fs", "e2fsck", "debugfs"], "e2fsprogs") || !have(&["doveadm"], "dovecot-core") {
        return;
    }
    let (img, ours, uv) = build_image("dovecot");
    let dir = tmp("dovecot");
    std::fs::create_dir_all(&dir).unwrap();
    debugfs(&img, &format!("rdump /mail/bob {}", dir.display()));
    let home = dir.join("bob");
    let conf = dovecot_conf(&dir);

    // Dovecot reads what we wrote.
    for (folder, rows) in &ours {
        assert_eq!(&dovecot_rows(&conf, &home, folder), rows, "{folder}");
    }
    let status = doveadm(&conf, &home, &["mailbox", "status", "uidvalidity uidnext messages", "INBOX"]);
    assert_eq!(status.lines().nth(1).unwrap(), format!("INBOX\t2\t5\t{uv}"), "{status}");
    let mut list: Vec<String> = doveadm(&conf, &home, &["mailbox", "list"]).lines().map(String::from).collect();
    list.sort();
    assert!(
        list.contains(&"Archive/2024".into()) && list.contains(&"Entwürfe".into()) && list.contains(&"INBOX".into()),
        "{list:?}"
    );
    let subs = doveadm(&conf, &home, &["mailbox", "list", "-s"]);
    assert!(subs.lines().any(|l| l == "Archive/2024"), "{subs}");

    // Dovecot changes things; we read them back.
    doveadm(&conf, &home, &["flags", "add", "\\Seen Dove $Label1", "mailbox", "INBOX", "uid", "4"]);
    doveadm(&conf, &home, &["flags", "remove", "Work", "mailbox", "INBOX", "uid", "1"]);
    doveadm(&conf, &home, &["copy", "Archive/2024", "mailbox", "INBOX", "all"]);
    doveadm(&conf, &home, &["mailbox", "create", "Dove/Made"]);
    let want_inbox = dovecot_rows(&conf, &home, "INBOX");
    let want_arch = dovecot_rows(&conf, &home, "Archive/2024");
    assert_eq!(want_arch.len(), 5);

    let mut env = ram_env(32);
    let _ = env.fs.mkdir("/mail", T0);
    import(&mut env, &home, "/mail/bob");
    let mut st = env.store();
    for (folder, want) in [("INBOX", &want_inbox), ("Archive/2024", &want_arch)] {
        let (v, l) = st.list_messages(folder).unwrap();
        let got: Vec<_> = l.iter().map(|m| (m.uid, flag_words(&m.flags), m.size, m.internal_date)).collect();
        assert_eq!(&got, want, "{folder}");
        if folder == "INBOX" {
            assert_eq!(v, uv);
        }
    }
    let folders = st.list_folders().unwrap();
    assert!(folders.contains(&"Dove/Made".to_string()), "{folders:?}");
    // Dovecot's dovecot-uidvalidity is understood: a folder we create
    // after Dovecot made one gets a larger UIDVALIDITY (Dovecot's clock is
    // the real one, far ahead of the tests' T0).
    let dove = st.folder_status("Dove/Made").unwrap().uid_validity;
    st.create_folder("Ours").unwrap();
    assert!(st.folder_status("Ours").unwrap().uid_validity > dove);
    // And our next UID continues Dovecot's.
    let (_, uid) = st.append("Archive/2024", &mail_imap::Flags::new(), None, MSG2).unwrap();
    assert_eq!(uid, want_arch.last().unwrap().0 + 1);
    let _ = std::fs::remove_file(&img);
    let _ = std::fs::remove_dir_all(&dir);
}
