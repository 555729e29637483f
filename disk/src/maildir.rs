//! A Maildir++ store on top of [`FileSystem`], laid out the way Dovecot
//! reads it, so a host can mount the disk and serve or inspect it.
//!
//! ```text
//! <base>/<user>/Maildir/{cur,new,tmp}          INBOX
//! <base>/<user>/Maildir/.Archive.2024/{cur,new,tmp}   folder "Archive.2024"
//! <folder>/dovecot-uidlist                      "3 V<uidvalidity> N<nextuid>" + "<uid> :<base name>" lines
//! <base>/<user>/Maildir/subscriptions           one folder name per line
//! ```
//!
//! Messages are named `<unixtime>.M<seq>R<nonce>.<host>,S=<size>`, with
//! `:2,<flags>` appended in `cur/` (flags `DFPRST` then keywords `a-z`, in
//! ASCII order), as in <https://cr.yp.to/proto/maildir.html> and the
//! Maildir++ and Dovecot conventions.
//!
//! Delivery is split for group commit: [`Maildir::stage`] writes `tmp/`
//! files, the caller flushes once for the whole batch, [`Maildir::commit`]
//! renames each into `new/` and appends its UID, and one more flush makes
//! the batch durable before any `250` is sent. (With [`crate::Ext2`] the
//! first flush is belt and braces: its write-back already puts file data
//! before the directory entries that name it.)
//!
//! UIDs: the uidlist is append-only between compactions. The next UID is
//! the larger of the header's `N` and the last line's UID + 1, so a
//! delivery only reads the file's head and tail. [`Maildir::list`] assigns
//! UIDs to files that appeared without one (for example copied in by the
//! host) and rewrites the list when most of its lines are stale.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::ext2::{FileType, FsError};
use crate::fs::FileSystem;

/// Errors of the mail store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailError {
    Fs(FsError),
    /// A user name with `..`, control characters, or similar.
    InvalidUser,
    /// A folder name the layout cannot represent.
    InvalidFolder,
    NoSuchFolder,
    FolderExists,
    /// Above [`Limits::max_message`], or a list above its limit.
    TooBig,
    /// The message is not where the listing said (changed meanwhile).
    Gone,
}

impl From<FsError> for MailError {
    fn from(e: FsError) -> Self {
        MailError::Fs(e)
    }
}

impl core::fmt::Display for MailError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MailError::Fs(e) => write!(f, "filesystem: {e}"),
            MailError::InvalidUser => f.write_str("invalid user name"),
            MailError::InvalidFolder => f.write_str("invalid folder name"),
            MailError::NoSuchFolder => f.write_str("no such folder"),
            MailError::FolderExists => f.write_str("folder exists"),
            MailError::TooBig => f.write_str("over a configured limit"),
            MailError::Gone => f.write_str("message no longer exists"),
        }
    }
}

type Result<T> = core::result::Result<T, MailError>;

/// Bounds on what the store will hold in memory at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest message accepted by `stage`.
    pub max_message: u64,
    /// Most messages `list` returns for one folder.
    pub max_messages: usize,
    /// Most folders per user.
    pub max_folders: usize,
    /// Largest uidlist or subscriptions file read.
    pub max_index_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message: 64 << 20, max_messages: 100_000, max_folders: 1000, max_index_bytes: 8 << 20 }
    }
}

/// Message flags: the six Maildir flags plus Dovecot keywords `a`-`z`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(pub u32);

impl Flags {
    pub const DRAFT: Flags = Flags(1 << 0);
    pub const FLAGGED: Flags = Flags(1 << 1);
    /// "Passed": forwarded (IMAP has no standard flag for it).
    pub const PASSED: Flags = Flags(1 << 2);
    pub const REPLIED: Flags = Flags(1 << 3);
    pub const SEEN: Flags = Flags(1 << 4);
    /// "Trashed": IMAP `\Deleted`.
    pub const TRASHED: Flags = Flags(1 << 5);
    const LETTERS: &'static [u8; 6] = b"DFPRST";

    pub fn empty() -> Flags {
        Flags(0)
    }
    pub fn contains(self, f: Flags) -> bool {
        self.0 & f.0 == f.0
    }
    pub fn union(self, f: Flags) -> Flags {
        Flags(self.0 | f.0)
    }
    pub fn without(self, f: Flags) -> Flags {
        Flags(self.0 & !f.0)
    }
    /// Keyword `a`..`z` (Dovecot maps IMAP keywords to these letters).
    pub fn keyword(letter: u8) -> Option<Flags> {
        letter.is_ascii_lowercase().then(|| Flags(1 << (6 + (letter - b'a'))))
    }
    /// Parses the part after `:2,`; unknown characters are ignored.
    pub fn parse(s: &str) -> Flags {
        let mut f = 0;
        for c in s.bytes() {
            if let Some(i) = Self::LETTERS.iter().position(|&l| l == c) {
                f |= 1 << i;
            } else if c.is_ascii_lowercase() {
                f |= 1 << (6 + (c - b'a'));
            }
        }
        Flags(f)
    }
    /// The letters in ASCII order, as Maildir requires.
    pub fn render(self) -> String {
        let mut s = String::new();
        for i in 0..32u32 {
            if self.0 & (1 << i) != 0 {
                let c = if i < 6 { Self::LETTERS[i as usize] } else { b'a' + (i as u8 - 6) };
                s.push(c as char);
            }
        }
        s
    }
}

/// One message as `list` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: u32,
    /// Current file name (in `new/` or `cur/`).
    pub name: String,
    /// True while the file is still in `new/` (IMAP `\Recent`).
    pub in_new: bool,
    pub flags: Flags,
    pub size: u64,
    /// Internal date: the file's mtime (set to the receive time).
    pub internal_date: u32,
}

impl MessageInfo {
    /// The name without the `:2,...` info part.
    pub fn base(&self) -> &str {
        base_name(&self.name)
    }
    fn rel_path(&self) -> String {
        format!("{}/{}", if self.in_new { "new" } else { "cur" }, self.name)
    }
}

/// A message written to `tmp/` but not yet delivered.
#[derive(Debug)]
pub struct Staged {
    dir: String,
    base: String,
    ino: u32,
    size: u64,
    received: u32,
}

impl Staged {
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// What `commit` delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub uid: u32,
    pub name: String,
}

/// UIDVALIDITY and the next UID of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidState {
    pub uidvalidity: u32,
    pub next_uid: u32,
}

const UIDLIST: &str = "dovecot-uidlist";
const SUBSCRIPTIONS: &str = "subscriptions";

fn base_name(name: &str) -> &str {
    match name.find(':') {
        Some(i) => &name[..i],
        None => name,
    }
}

/// Flags from the `:2,<flags>` info part of a file name.
fn flags_of(name: &str) -> Flags {
    match name.find(":2,") {
        Some(i) => Flags::parse(&name[i + 3..]),
        None => Flags::empty(),
    }
}

/// Size from the `,S=<size>` field of a base name.
fn size_from_name(base: &str) -> Option<u64> {
    base.split(',').skip(1).find_map(|f| f.strip_prefix("S=")).and_then(|v| v.parse().ok())
}

fn valid_component(c: &str) -> bool {
    !c.is_empty() && c.len() <= 255 && !c.starts_with('.') && c.bytes().all(|b| b >= 0x20 && b != 0x7f && b != b'/')
}

/// The store: where users live and how files are named. It holds no
/// filesystem; every call takes one, so the queue and other stores share it.
pub struct Maildir {
    base: String,
    host: String,
    nonce: u32,
    seq: u64,
    limits: Limits,
}

impl Maildir {
    /// `base`: directory holding the users (e.g. `/mail`); `host`: this
    /// server's name for file names; `nonce`: a random value from the
    /// caller, so names stay unique across restarts within one second.
    pub fn new(base: &str, host: &str, nonce: u32, limits: Limits) -> Self {
        let mut h = String::new();
        for c in host.chars() {
            match c {
                '/' => h.push_str("\\057"),
                ':' => h.push_str("\\072"),
                c if c.is_ascii_graphic() => h.push(c),
                _ => {}
            }
        }
        if h.is_empty() {
            h.push_str("localhost");
        }
        Maildir { base: String::from(base.trim_end_matches('/')), host: h, nonce, seq: 0, limits }
    }

    /// `<base>/<user>/Maildir`.
    pub fn user_root(&self, user: &str) -> Result<String> {
        if user.is_empty() || user.len() > 255 || !user.split('/').all(valid_component) {
            return Err(MailError::InvalidUser);
        }
        Ok(format!("{}/{}/Maildir", self.base, user))
    }

    /// Directory of `folder` ("" or "INBOX" is the Maildir root).
    pub fn folder_dir(&self, user: &str, folder: &str) -> Result<String> {
        let root = self.user_root(user)?;
        if folder.is_empty() || folder.eq_ignore_ascii_case("INBOX") {
            return Ok(root);
        }
        if folder.len() > 200 || !folder.split('.').all(valid_component) {
            return Err(MailError::InvalidFolder);
        }
        Ok(format!("{root}/.{folder}"))
    }

    fn mkdir_p<F: FileSystem>(fs: &mut F, path: &str, now: u32) -> Result<()> {
        let mut cur = String::new();
        for c in path.split('/').filter(|c| !c.is_empty()) {
            cur.push('/');
            cur.push_str(c);
            match fs.mkdir(&cur, now) {
                Ok(_) | Err(FsError::Exists) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn make_maildir<F: FileSystem>(fs: &mut F, dir: &str, uidvalidity: u32, now: u32, folder: bool) -> Result<()> {
        for sub in ["cur", "new", "tmp"] {
            Self::mkdir_p(fs, &format!("{dir}/{sub}"), now)?;
        }
        if folder {
            // Dovecot marks Maildir++ subfolders with this empty file.
            match fs.create(&format!("{dir}/maildirfolder"), now) {
                Ok(_) | Err(FsError::Exists) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let list = format!("{dir}/{UIDLIST}");
        match fs.lookup(&list) {
            Ok(_) => Ok(()),
            Err(FsError::NotFound) => {
                fs.write_file(&list, format!("3 V{uidvalidity} N1\n").as_bytes(), now)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Creates `<user>/Maildir` with INBOX (idempotent).
    pub fn create_user<F: FileSystem>(&self, fs: &mut F, user: &str, uidvalidity: u32, now: u32) -> Result<()> {
        let root = self.user_root(user)?;
        Self::make_maildir(fs, &root, uidvalidity, now, false)
    }

    /// Creates a folder such as `Archive.2024` (its parents are not required
    /// to exist, as in Maildir++).
    pub fn create_folder<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        folder: &str,
        uidvalidity: u32,
        now: u32,
    ) -> Result<()> {
        let dir = self.folder_dir(user, folder)?;
        if dir == self.user_root(user)? {
            return Err(MailError::FolderExists);
        }
        match fs.lookup(&dir) {
            Ok(_) => return Err(MailError::FolderExists),
            Err(FsError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        if self.folders(fs, user)?.len() >= self.limits.max_folders {
            return Err(MailError::TooBig);
        }
        Self::make_maildir(fs, &dir, uidvalidity, now, true)
    }

    /// Folder names of `user` (without INBOX), sorted.
    pub fn folders<F: FileSystem>(&self, fs: &mut F, user: &str) -> Result<Vec<String>> {
        let root = self.user_root(user)?;
        let mut out = Vec::new();
        let max = self.limits.max_folders;
        let mut over = false;
        fs.read_dir(&root, &mut |e| {
            if e.kind == FileType::Dir && e.name.len() > 1 && e.name[0] == b'.' {
                if let Some(n) = e.name_str() {
                    if out.len() >= max {
                        over = true;
                        return false;
                    }
                    out.push(String::from(&n[1..]));
                }
            }
            true
        })?;
        if over {
            return Err(MailError::TooBig);
        }
        out.sort();
        Ok(out)
    }

    fn names_in<F: FileSystem>(&self, fs: &mut F, dir: &str, max: usize) -> Result<Vec<(String, u32, FileType)>> {
        let mut out = Vec::new();
        let mut over = false;
        fs.read_dir(dir, &mut |e| {
            if out.len() >= max {
                over = true;
                return false;
            }
            if let Some(n) = e.name_str() {
                out.push((String::from(n), e.ino, e.kind));
            }
            true
        })?;
        if over {
            return Err(MailError::TooBig);
        }
        Ok(out)
    }

    /// Deletes a folder and every message in it (not its subfolders).
    pub fn delete_folder<F: FileSystem>(&self, fs: &mut F, user: &str, folder: &str, now: u32) -> Result<()> {
        let dir = self.folder_dir(user, folder)?;
        if dir == self.user_root(user)? {
            return Err(MailError::InvalidFolder);
        }
        let max = self.limits.max_messages.saturating_mul(2);
        let entries = match self.names_in(fs, &dir, max) {
            Err(MailError::Fs(FsError::NotFound)) => return Err(MailError::NoSuchFolder),
            r => r?,
        };
        for (name, _, kind) in entries {
            let p = format!("{dir}/{name}");
            if kind == FileType::Dir {
                for (n, _, k) in self.names_in(fs, &p, max)? {
                    if k != FileType::Dir {
                        fs.unlink(&format!("{p}/{n}"), now)?;
                    }
                }
                fs.rmdir(&p, now)?;
            } else {
                fs.unlink(&p, now)?;
            }
        }
        fs.rmdir(&dir, now)?;
        Ok(())
    }

    /// Renames a folder and its Maildir++ children (`A` -> `B` also moves
    /// `A.x` to `B.x`). Each directory rename is atomic.
    pub fn rename_folder<F: FileSystem>(&self, fs: &mut F, user: &str, from: &str, to: &str, now: u32) -> Result<()> {
        let src = self.folder_dir(user, from)?;
        let dst = self.folder_dir(user, to)?;
        let root = self.user_root(user)?;
        if src == root || dst == root {
            return Err(MailError::InvalidFolder);
        }
        match fs.lookup(&dst) {
            Ok(_) => return Err(MailError::FolderExists),
            Err(FsError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        if fs.lookup(&src).is_err() {
            return Err(MailError::NoSuchFolder);
        }
        let prefix = format!("{from}.");
        let children: Vec<String> = self.folders(fs, user)?.into_iter().filter(|f| f.starts_with(&prefix)).collect();
        fs.rename(&src, &dst, now)?;
        for c in children {
            let new = format!("{to}.{}", &c[prefix.len()..]);
            fs.rename(&self.folder_dir(user, &c)?, &self.folder_dir(user, &new)?, now)?;
        }
        Ok(())
    }

    // ---- uidlist ----------------------------------------------------------

    fn parse_header(line: &str) -> Option<UidState> {
        let mut it = line.split(' ');
        if it.next()? != "3" {
            return None;
        }
        let (mut v, mut n) = (None, None);
        for f in it {
            if let Some(x) = f.strip_prefix('V') {
                v = x.parse().ok();
            } else if let Some(x) = f.strip_prefix('N') {
                n = x.parse().ok();
            }
        }
        Some(UidState { uidvalidity: v?, next_uid: n.unwrap_or(1).max(1) })
    }

    /// `<uid> [ext...] :<name>`
    fn parse_line(line: &str) -> Option<(u32, &str)> {
        let (uid, rest) = line.split_once(' ')?;
        let uid: u32 = uid.parse().ok().filter(|&u| u > 0)?;
        let i = rest.find(':')?;
        let name = &rest[i + 1..];
        (!name.is_empty()).then_some((uid, name))
    }

    /// UIDVALIDITY and next UID, reading only the head and tail of the list.
    pub fn uid_state<F: FileSystem>(&self, fs: &mut F, user: &str, folder: &str) -> Result<UidState> {
        let dir = self.folder_dir(user, folder)?;
        self.uid_state_at(fs, &dir).map(|(s, _)| s)
    }

    fn uid_state_at<F: FileSystem>(&self, fs: &mut F, dir: &str) -> Result<(UidState, u32)> {
        let path = format!("{dir}/{UIDLIST}");
        let st = match fs.stat(&path) {
            Ok(st) => st,
            Err(FsError::NotFound) => return Err(MailError::NoSuchFolder),
            Err(e) => return Err(e.into()),
        };
        let mut head = [0u8; 128];
        let n = fs.read_at(st.ino, 0, &mut head)?;
        let line = head[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
        let mut state =
            core::str::from_utf8(line).ok().and_then(Self::parse_header).ok_or(FsError::Corrupt("uidlist header"))?;
        // Last line: read a tail window; widen once if a line is longer.
        let mut last = 0;
        for window in [512u64, 8192] {
            let start = st.size.saturating_sub(window);
            let mut tail = alloc::vec![0u8; (st.size - start) as usize];
            let n = fs.read_at(st.ino, start, &mut tail)?;
            tail.truncate(n);
            let body = tail.strip_suffix(b"\n").unwrap_or(&tail);
            match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    if let Some((uid, _)) = core::str::from_utf8(&body[i + 1..]).ok().and_then(Self::parse_line) {
                        last = uid;
                    }
                    break;
                }
                None if start == 0 => break,
                None => continue,
            }
        }
        if last >= state.next_uid {
            state.next_uid = last.saturating_add(1);
        }
        Ok((state, st.ino))
    }

    fn append_uid<F: FileSystem>(&self, fs: &mut F, dir: &str, base: &str, now: u32) -> Result<u32> {
        let (state, ino) = self.uid_state_at(fs, dir)?;
        let uid = state.next_uid;
        if uid == u32::MAX {
            return Err(MailError::TooBig);
        }
        fs.append(ino, format!("{uid} :{base}\n").as_bytes(), now)?;
        Ok(uid)
    }

    // ---- delivery -----------------------------------------------------------

    /// Starts a message in `tmp/` (for bodies that arrive in pieces).
    pub fn stage_begin<F: FileSystem>(
        &mut self,
        fs: &mut F,
        user: &str,
        folder: &str,
        received: u32,
    ) -> Result<Staged> {
        let dir = self.folder_dir(user, folder)?;
        if fs.lookup(&format!("{dir}/tmp")).is_err() {
            if dir == self.user_root(user)? {
                self.create_user(fs, user, received, received)?;
            } else {
                return Err(MailError::NoSuchFolder);
            }
        }
        loop {
            self.seq += 1;
            let base = format!("{received}.M{}R{:08x}.{}", self.seq, self.nonce, self.host);
            match fs.create(&format!("{dir}/tmp/{base}"), received) {
                Ok(ino) => return Ok(Staged { dir, base, ino, size: 0, received }),
                Err(FsError::Exists) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Appends a piece of the message.
    pub fn stage_write<F: FileSystem>(&self, fs: &mut F, st: &mut Staged, data: &[u8]) -> Result<()> {
        if st.size + data.len() as u64 > self.limits.max_message {
            return Err(MailError::TooBig);
        }
        fs.write_at(st.ino, st.size, data, st.received)?;
        st.size += data.len() as u64;
        Ok(())
    }

    /// Writes a whole message to `tmp/`.
    pub fn stage<F: FileSystem>(
        &mut self,
        fs: &mut F,
        user: &str,
        folder: &str,
        data: &[u8],
        received: u32,
    ) -> Result<Staged> {
        if data.len() as u64 > self.limits.max_message {
            return Err(MailError::TooBig);
        }
        let mut st = self.stage_begin(fs, user, folder, received)?;
        if let Err(e) = self.stage_write(fs, &mut st, data) {
            let _ = self.abort(fs, st, received);
            return Err(e);
        }
        Ok(st)
    }

    /// Drops a staged message.
    pub fn abort<F: FileSystem>(&self, fs: &mut F, st: Staged, now: u32) -> Result<()> {
        fs.unlink(&format!("{}/tmp/{}", st.dir, st.base), now)?;
        Ok(())
    }

    /// Moves a staged (and flushed) message into `new/` and gives it a UID.
    /// Flush afterwards before acknowledging.
    pub fn commit<F: FileSystem>(&self, fs: &mut F, st: Staged, now: u32) -> Result<Delivered> {
        let tmp = format!("{}/tmp/{}", st.dir, st.base);
        fs.set_mtime(&tmp, st.received)?;
        let name = format!("{},S={}", st.base, st.size);
        fs.rename(&tmp, &format!("{}/new/{}", st.dir, name), now)?;
        let uid = self.append_uid(fs, &st.dir, &name, now)?;
        Ok(Delivered { uid, name })
    }

    /// One message, start to durable: stage, flush, commit, flush.
    pub fn deliver<F: FileSystem>(
        &mut self,
        fs: &mut F,
        user: &str,
        folder: &str,
        data: &[u8],
        now: u32,
    ) -> Result<Delivered> {
        let st = self.stage(fs, user, folder, data, now)?;
        fs.flush()?;
        let d = self.commit(fs, st, now)?;
        fs.flush()?;
        Ok(d)
    }

    /// Removes files in `tmp/` older than 36 hours (the Maildir rule):
    /// leftovers of deliveries cut short by a crash. Returns how many.
    pub fn clean_tmp<F: FileSystem>(&self, fs: &mut F, user: &str, folder: &str, now: u32) -> Result<usize> {
        let tmp = format!("{}/tmp", self.folder_dir(user, folder)?);
        let mut removed = 0;
        for (name, ino, kind) in self.names_in(fs, &tmp, self.limits.max_messages)? {
            if kind != FileType::File {
                continue;
            }
            let st = fs.stat_ino(ino)?;
            if st.mtime.saturating_add(36 * 3600) < now && st.ctime.saturating_add(36 * 3600) < now {
                fs.unlink(&format!("{tmp}/{name}"), now)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    // ---- reading and changing messages ------------------------------------

    /// Every message in the folder, by UID. Files without a UID get one
    /// (appended to the uidlist and flushed before returning, so the UIDs
    /// shown are durable); a mostly stale uidlist is compacted. Two
    /// different files under one base name: the newer is renamed to a fresh
    /// base name and gets its own UID (never silently skipped).
    pub fn list<F: FileSystem>(&self, fs: &mut F, user: &str, folder: &str, now: u32) -> Result<Vec<MessageInfo>> {
        let dir = self.folder_dir(user, folder)?;
        let path = format!("{dir}/{UIDLIST}");
        let raw = match fs.read_file(&path, self.limits.max_index_bytes) {
            Ok(r) => r,
            Err(FsError::NotFound) => return Err(MailError::NoSuchFolder),
            Err(FsError::TooBig) => return Err(MailError::TooBig),
            Err(e) => return Err(e.into()),
        };
        let text = core::str::from_utf8(&raw).map_err(|_| FsError::Corrupt("uidlist not UTF-8"))?;
        let mut lines = text.split('\n');
        let mut state = lines.next().and_then(Self::parse_header).ok_or(FsError::Corrupt("uidlist header"))?;
        let mut uids: BTreeMap<&str, u32> = BTreeMap::new();
        let mut listed = 0usize;
        // UIDs only ever grow down the list (it is append-only). A line
        // that goes back is damage (two files would share a UID, which
        // IMAP cannot show; found by fuzzing): ignore it, so its file gets
        // a fresh UID below, as Dovecot renumbers on "UIDs not ordered".
        let mut last_uid = 0;
        for l in lines {
            if let Some((uid, name)) = Self::parse_line(l) {
                listed += 1;
                if uid <= last_uid {
                    continue;
                }
                last_uid = uid;
                uids.insert(base_name(name), uid);
                if uid >= state.next_uid {
                    state.next_uid = uid.saturating_add(1);
                }
            }
        }
        let max = self.limits.max_messages;
        let mut out: Vec<MessageInfo> = Vec::new();
        let mut fresh = String::new();
        // Base name -> (index in out, inode): a crash in the middle of a
        // flag change or move can leave two names for one message.
        let mut seen: BTreeMap<String, (usize, u32)> = BTreeMap::new();
        let mut aliases = Vec::new();
        // Inode of each entry of `out`.
        let mut inos: Vec<u32> = Vec::new();
        // A different file under a base name already seen: (name, inode,
        // in new/, index in out of the first).
        let mut dups: Vec<(String, u32, bool, usize)> = Vec::new();
        for (sub, in_new) in [("new", true), ("cur", false)] {
            for (name, ino, kind) in self.names_in(fs, &format!("{dir}/{sub}"), max)? {
                if kind != FileType::File {
                    continue;
                }
                if out.len() >= max {
                    return Err(MailError::TooBig);
                }
                let base = base_name(&name);
                if let Some(&(idx, first_ino)) = seen.get(base) {
                    if first_ino == ino {
                        // Same file twice: keep the cur/ name.
                        let stale = if !in_new && out[idx].in_new {
                            let old = out[idx].rel_path();
                            out[idx].name = name.clone();
                            out[idx].in_new = false;
                            out[idx].flags = match name.find(":2,") {
                                Some(i) => Flags::parse(&name[i + 3..]),
                                None => Flags::empty(),
                            };
                            old
                        } else {
                            format!("{sub}/{name}")
                        };
                        aliases.push(format!("{dir}/{stale}"));
                    } else if dups.iter().any(|d| d.1 == ino) {
                        // A second name of a duplicate: keep its first.
                        aliases.push(format!("{dir}/{sub}/{name}"));
                    } else {
                        if out.len() + dups.len() >= max {
                            return Err(MailError::TooBig);
                        }
                        dups.push((name.clone(), ino, in_new, idx));
                    }
                    continue;
                }
                seen.insert(String::from(base), (out.len(), ino));
                let uid = match uids.get(base) {
                    Some(&u) => u,
                    None => {
                        let u = state.next_uid;
                        state.next_uid = u.checked_add(1).ok_or(MailError::TooBig)?;
                        fresh.push_str(&format!("{u} :{base}\n"));
                        u
                    }
                };
                let st = fs.stat_ino(ino)?;
                let flags = flags_of(&name);
                let size = size_from_name(base).unwrap_or(st.size);
                out.push(MessageInfo { uid, name, in_new, flags, size, internal_date: st.mtime });
                inos.push(ino);
            }
        }
        for a in &aliases {
            fs.remove_alias(a, now)?;
        }
        // Different files under one base name (copied in by the host, a
        // restored backup): the uidlist gives a base name one UID, so, as
        // Dovecot does ("Fixed a duplicate"), one of them is renamed to a
        // fresh unique base name in its directory (flags kept) and gets a
        // new UID. The older file (ctime, then inode number) is taken for
        // the original: it keeps the base name and its UID.
        for (name, ino, in_new, idx) in dups {
            let first = fs.stat_ino(inos[idx])?;
            let st = fs.stat_ino(ino)?;
            let base = String::from(base_name(&name));
            let mut msg = MessageInfo {
                uid: 0,
                flags: flags_of(&name),
                size: size_from_name(&base).unwrap_or(st.size),
                internal_date: st.mtime,
                name,
                in_new,
            };
            let mut moved = (ino, st);
            if (st.ctime, ino) < (first.ctime, inos[idx]) {
                msg.uid = out[idx].uid;
                core::mem::swap(&mut out[idx], &mut msg);
                inos[idx] = ino;
                moved = (first.ino, first);
            }
            let sub = if msg.in_new { "new" } else { "cur" };
            let info = String::from(&msg.name[msg.base().len()..]);
            let mut k = 0u32;
            let fresh_base = loop {
                let b = format!("{now}.M{}D{k}.{},S={}", moved.0, self.host, moved.1.size);
                if !seen.contains_key(&b) && !uids.contains_key(b.as_str()) {
                    match fs.lookup(&format!("{dir}/{sub}/{b}{info}")) {
                        Err(FsError::NotFound) => break b,
                        Ok(_) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                k += 1;
                if k > 1000 {
                    return Err(FsError::Exists.into());
                }
            };
            let new_name = format!("{fresh_base}{info}");
            // A rename within the directory to a name that is free: atomic.
            fs.rename(&format!("{dir}/{sub}/{}", msg.name), &format!("{dir}/{sub}/{new_name}"), now)?;
            let u = state.next_uid;
            state.next_uid = u.checked_add(1).ok_or(MailError::TooBig)?;
            fresh.push_str(&format!("{u} :{fresh_base}\n"));
            msg.uid = u;
            msg.name = new_name;
            msg.size = moved.1.size;
            seen.insert(fresh_base, (out.len(), moved.0));
            out.push(msg);
            inos.push(moved.0);
        }
        out.sort_by_key(|m| m.uid);
        let stale = listed.saturating_sub(out.len());
        if stale > 64 && stale > out.len() {
            // Compact: header with the current next UID, live lines only.
            let mut s = format!("3 V{} N{}\n", state.uidvalidity, state.next_uid);
            for m in &out {
                s.push_str(&format!("{} :{}\n", m.uid, m.base()));
            }
            fs.replace_file(&path, &format!("{dir}/{UIDLIST}.tmp"), s.as_bytes(), now)?;
            fs.flush()?;
        } else if !fresh.is_empty() {
            let ino = fs.lookup(&path)?;
            fs.append(ino, fresh.as_bytes(), now)?;
            fs.flush()?;
        } else if !aliases.is_empty() {
            fs.flush()?;
        }
        Ok(out)
    }

    /// Path of a listed message (for streaming with `read_at`).
    pub fn message_path(&self, user: &str, folder: &str, msg: &MessageInfo) -> Result<String> {
        Ok(format!("{}/{}", self.folder_dir(user, folder)?, msg.rel_path()))
    }

    /// Reads a whole message.
    pub fn read_message<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        folder: &str,
        msg: &MessageInfo,
    ) -> Result<Vec<u8>> {
        let p = self.message_path(user, folder, msg)?;
        match fs.read_file(&p, self.limits.max_message as usize) {
            Err(FsError::NotFound) => Err(MailError::Gone),
            r => Ok(r?),
        }
    }

    /// Sets the flags of one message; see [`Maildir::set_flags_many`].
    pub fn set_flags<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        folder: &str,
        msg: &mut MessageInfo,
        flags: Flags,
        now: u32,
    ) -> Result<()> {
        self.set_flags_many(fs, user, folder, core::slice::from_mut(msg), &[flags], now)
    }

    /// Gives `msgs[i]` the flags `flags[i]`: each file becomes
    /// `cur/<base>:2,<flags>` (leaving `new/` too). Crash-safe for mail that
    /// was acknowledged long ago: all new names are linked, one flush, then
    /// the old names are removed. Flush afterwards before answering.
    pub fn set_flags_many<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        folder: &str,
        msgs: &mut [MessageInfo],
        flags: &[Flags],
        now: u32,
    ) -> Result<()> {
        let dir = self.folder_dir(user, folder)?;
        let mut moves = Vec::new();
        for (i, (msg, &f)) in msgs.iter().zip(flags).enumerate() {
            let name = format!("{}:2,{}", msg.base(), f.render());
            if !msg.in_new && name == msg.name {
                continue;
            }
            let new = format!("{dir}/cur/{name}");
            match fs.link(&format!("{dir}/{}", msg.rel_path()), &new, now) {
                Ok(()) => moves.push((i, name)),
                Err(FsError::NotFound) => return Err(MailError::Gone),
                Err(e) => return Err(e.into()),
            }
        }
        if moves.is_empty() {
            return Ok(());
        }
        fs.flush()?;
        for (i, name) in moves {
            let msg = &mut msgs[i];
            fs.remove_alias(&format!("{dir}/{}", msg.rel_path()), now)?;
            msg.name = name;
            msg.in_new = false;
            msg.flags = flags[i];
        }
        Ok(())
    }

    /// Moves a message from `new/` to `cur/` keeping its flags.
    pub fn to_cur<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        folder: &str,
        msg: &mut MessageInfo,
        now: u32,
    ) -> Result<()> {
        if !msg.in_new {
            return Ok(());
        }
        let flags = msg.flags;
        self.set_flags(fs, user, folder, msg, flags, now)
    }

    /// Deletes a message for good.
    pub fn expunge<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        folder: &str,
        msg: &MessageInfo,
        now: u32,
    ) -> Result<()> {
        match fs.unlink(&self.message_path(user, folder, msg)?, now) {
            Err(FsError::NotFound) => Err(MailError::Gone),
            r => Ok(r?),
        }
    }

    /// Moves one message; see [`Maildir::move_messages`].
    pub fn move_message<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        from: &str,
        msg: &MessageInfo,
        to: &str,
        now: u32,
    ) -> Result<u32> {
        Ok(self.move_messages(fs, user, from, core::slice::from_ref(msg), to, now)?[0])
    }

    /// Moves messages to another folder (IMAP MOVE) and returns their UIDs
    /// there. Like `set_flags_many`: link into the target, append the UIDs,
    /// one flush, then remove the old names. Flush before answering.
    ///
    /// All or nothing: when a link or a UID line fails part-way (a message
    /// gone, a name already in the target, no space), the links already
    /// made in the target are removed and its uidlist is cut back to its
    /// old length before the error is returned, so the source is intact and
    /// the target unchanged. Only a failing device during that undo (or a
    /// power cut, as for any move) can leave a copy in both folders, never
    /// in neither.
    pub fn move_messages<F: FileSystem>(
        &self,
        fs: &mut F,
        user: &str,
        from: &str,
        msgs: &[MessageInfo],
        to: &str,
        now: u32,
    ) -> Result<Vec<u32>> {
        let src = self.folder_dir(user, from)?;
        let dst = self.folder_dir(user, to)?;
        if fs.lookup(&format!("{dst}/cur")).is_err() {
            return Err(MailError::NoSuchFolder);
        }
        let list = match fs.stat(&format!("{dst}/{UIDLIST}")) {
            Ok(st) => st,
            Err(FsError::NotFound) => return Err(MailError::NoSuchFolder),
            Err(e) => return Err(e.into()),
        };
        let mut linked: Vec<String> = Vec::new();
        let mut uids = Vec::new();
        let mut failed = None;
        for msg in msgs {
            let target = format!("{dst}/cur/{}:2,{}", msg.base(), msg.flags.render());
            let r = match fs.link(&format!("{src}/{}", msg.rel_path()), &target, now) {
                Ok(()) => {
                    linked.push(target);
                    self.append_uid(fs, &dst, msg.base(), now)
                }
                Err(FsError::NotFound) => Err(MailError::Gone),
                Err(e) => Err(e.into()),
            };
            match r {
                Ok(uid) => uids.push(uid),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            // Undo, newest first; each file still has its source name.
            for t in linked.iter().rev() {
                let _ = fs.remove_alias(t, now);
            }
            let _ = fs.truncate(list.ino, list.size, now);
            return Err(e);
        }
        fs.flush()?;
        for msg in msgs {
            fs.remove_alias(&format!("{src}/{}", msg.rel_path()), now)?;
        }
        Ok(uids)
    }

    // ---- subscriptions --------------------------------------------------------

    /// Subscribed folder names (Dovecot's one-name-per-line file; its v2
    /// header line and tab separators are understood too).
    pub fn subscriptions<F: FileSystem>(&self, fs: &mut F, user: &str) -> Result<Vec<String>> {
        let p = format!("{}/{SUBSCRIPTIONS}", self.user_root(user)?);
        let raw = match fs.read_file(&p, self.limits.max_index_bytes) {
            Ok(r) => r,
            Err(FsError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&raw);
        let mut v: Vec<String> =
            text.lines().filter(|l| !l.is_empty() && *l != "V\t2").map(|l| l.replace('\t', ".")).collect();
        v.sort();
        v.dedup();
        Ok(v)
    }

    fn write_subscriptions<F: FileSystem>(&self, fs: &mut F, user: &str, list: &[String], now: u32) -> Result<()> {
        let root = self.user_root(user)?;
        let mut s = String::new();
        for n in list {
            s.push_str(n);
            s.push('\n');
        }
        fs.replace_file(&format!("{root}/{SUBSCRIPTIONS}"), &format!("{root}/{SUBSCRIPTIONS}.tmp"), s.as_bytes(), now)?;
        Ok(())
    }

    pub fn subscribe<F: FileSystem>(&self, fs: &mut F, user: &str, folder: &str, now: u32) -> Result<()> {
        if folder.contains(['\n', '\r', '\0']) || folder.len() > 255 {
            return Err(MailError::InvalidFolder);
        }
        let mut v = self.subscriptions(fs, user)?;
        if v.iter().any(|f| f == folder) {
            return Ok(());
        }
        if v.len() >= self.limits.max_folders {
            return Err(MailError::TooBig);
        }
        v.push(String::from(folder));
        v.sort();
        self.write_subscriptions(fs, user, &v, now)
    }

    pub fn unsubscribe<F: FileSystem>(&self, fs: &mut F, user: &str, folder: &str, now: u32) -> Result<()> {
        let mut v = self.subscriptions(fs, user)?;
        let n = v.len();
        v.retain(|f| f != folder);
        if v.len() != n {
            self.write_subscriptions(fs, user, &v, now)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
