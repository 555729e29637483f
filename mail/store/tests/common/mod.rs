//! Test harness: an ext2 filesystem (in RAM or in a file), a Maildir on
//! it, and a driver that runs a `mail_imap::Session` against a
//! `MaildirStore` built afresh for each `process` call, as the kernel does.
#![allow(dead_code)]

use disk::maildir::{Limits, Maildir};
use disk::{format, BlockDevice, Ext2, FileSystem, FormatOptions, RamDevice};
use mail_imap::{Action, AuthResult, Config, Session};
use mail_store::MaildirStore;

pub const T0: u32 = 1_700_000_000;
pub const USER: &str = "bob";
pub const ROOT: &str = "/mail/bob/Maildir";

pub const MSG1: &[u8] = b"From: Fred <fred@example.org>\r\nTo: bob@example.com\r\nSubject: afternoon meeting\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-Id: <1@example.org>\r\n\r\nHello Bob, 3:30 tomorrow?\r\n";
pub const MSG2: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: Report\r\nDate: Tue, 01 Mar 2022 10:00:00 +0000\r\n\r\nPlease find the report.\r\n";
/// Bare LF, as APPEND clients sometimes send.
pub const MSG3: &[u8] =
    b"From: list@lists.example\nTo: bob@example.com\nSubject: weekly digest\n\nline one\nline two\n";

pub struct Env<D: BlockDevice> {
    pub fs: Ext2<D>,
    pub md: Maildir,
    pub now: u32,
    /// Build the stores with `.deferred()` and `sync()` after each process.
    pub defer: bool,
    pub boot: u32,
}

pub fn ram_env(mb: u64) -> Env<RamDevice> {
    let mut dev = RamDevice::new(mb * 2048);
    format(&mut dev, &FormatOptions { block_size: 1024, now: T0, ..Default::default() }).unwrap();
    Env::mount(dev)
}

impl<D: BlockDevice> Env<D> {
    pub fn mount(dev: D) -> Self {
        Env { fs: Ext2::mount(dev).unwrap(), md: maildir(), now: T0 + 100, defer: false, boot: 0 }
    }
    /// Unmounts and mounts again with a fresh `Maildir` (a reboot).
    pub fn remount(self) -> Self {
        let dev = self.fs.unmount().unwrap();
        let mut e = Env::mount(dev);
        // A new boot draws a new nonce for file names (the kernel's RNG).
        e.boot = self.boot + 1;
        e.md = Maildir::new("/mail", "mx.example.org", 0x5eed + e.boot, Limits::default());
        e.now = self.now;
        e.defer = self.defer;
        e
    }
    pub fn store(&mut self) -> MaildirStore<'_, Ext2<D>> {
        MaildirStore::new(&mut self.fs, &mut self.md, USER, self.now)
    }
    /// A delivery as the SMTP side makes it (stage, flush, commit, flush).
    pub fn deliver(&mut self, msg: &[u8]) -> u32 {
        self.now += 1;
        self.md.deliver(&mut self.fs, USER, "INBOX", msg, self.now).unwrap().uid
    }
    /// Names in a directory, sorted.
    pub fn ls(&mut self, dir: &str) -> Vec<String> {
        let mut v = Vec::new();
        FileSystem::read_dir(&mut self.fs, &format!("{ROOT}/{dir}"), &mut |e: disk::DirEntry<'_>| {
            v.push(e.name_str().unwrap().to_string());
            true
        })
        .unwrap();
        v.sort();
        v
    }
    pub fn cat(&mut self, path: &str) -> String {
        String::from_utf8(self.fs.read_file(&format!("{ROOT}/{path}"), 1 << 20).unwrap()).unwrap()
    }
    /// `(uid, base name)` lines of a uidlist, the last line for a name winning.
    pub fn uidlist(&mut self, folder_dir: &str) -> Vec<(u32, String)> {
        let t = self.cat(&format!("{folder_dir}dovecot-uidlist"));
        let mut v: Vec<(u32, String)> = Vec::new();
        for l in t.lines().skip(1) {
            let (u, rest) = l.split_once(' ').unwrap();
            let name = &rest[rest.find(':').unwrap() + 1..];
            v.retain(|(_, n)| n != name);
            v.push((u.parse().unwrap(), name.to_string()));
        }
        v
    }
    /// Info parts (`2,FS`) of the files in `<dir>cur`, by base name.
    pub fn cur_flags(&mut self, folder_dir: &str) -> Vec<(String, String)> {
        self.ls(&format!("{folder_dir}cur"))
            .into_iter()
            .map(|n| {
                let (b, i) = n.split_once(':').unwrap();
                (b.to_string(), i.to_string())
            })
            .collect()
    }
    /// The flags (`2,...` part) of the file holding `uid` in a folder.
    pub fn flags_of(&mut self, folder_dir: &str, uid: u32) -> Option<String> {
        let base = self.uidlist(folder_dir).into_iter().find(|(u, _)| *u == uid)?.1;
        self.cur_flags(folder_dir).into_iter().find(|(b, _)| *b == base).map(|(_, f)| f)
    }
}

pub fn maildir() -> Maildir {
    Maildir::new("/mail", "mx.example.org", 0x5eed, Limits::default())
}

pub fn config() -> Config {
    Config { tls_active: true, ..Config::default() }
}

/// Feeds `input`, processing until the session waits; returns the output.
pub fn run<D: BlockDevice>(s: &mut Session, env: &mut Env<D>, input: &str) -> String {
    let mut out = Vec::new();
    let mut rest = input.as_bytes();
    loop {
        let n = s.feed(rest);
        rest = &rest[n..];
        loop {
            let defer = env.defer;
            let mut st = env.store();
            if defer {
                st = st.deferred();
            }
            let action = s.process(&mut st);
            // Durable before the output is sent.
            st.sync().unwrap();
            assert!(!st.pending());
            match action {
                Action::Authenticate { user, password, .. } => {
                    let ok = user == USER && password == b"secret";
                    s.auth_result(if ok { AuthResult::Ok } else { AuthResult::Failed });
                }
                Action::Wait => break,
                Action::Write => out.extend(s.take_output()),
                Action::StartTls => panic!("no STARTTLS in these tests"),
                Action::Close => {
                    out.extend(s.take_output());
                    return String::from_utf8_lossy(&out).into_owned();
                }
            }
        }
        out.extend(s.take_output());
        if rest.is_empty() {
            break;
        }
    }
    out.extend(s.take_output());
    String::from_utf8_lossy(&out).into_owned()
}

pub fn logged_in<D: BlockDevice>(env: &mut Env<D>) -> Session {
    let mut s = Session::new(config());
    let out = run(&mut s, env, "L LOGIN bob secret\r\n");
    assert!(out.contains("L OK"), "{out}");
    s
}

pub fn lines(s: &str) -> Vec<&str> {
    s.split("\r\n").filter(|l| !l.is_empty()).collect()
}

/// The `UIDVALIDITY n` figure in an output.
pub fn uidvalidity(out: &str) -> u32 {
    let i = out.find("UIDVALIDITY ").expect(out) + 12;
    out[i..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}
