//! `mail_imap::Store` on a Dovecot-compatible Maildir++ ([`disk::maildir`])
//! over any [`disk::FileSystem`], so the IMAP server and a host Dovecot (or
//! `doveadm`, or a person with `ls`) see the same mailboxes.
//!
//! The kernel keeps one long-lived filesystem and [`Maildir`], and builds a
//! [`MaildirStore`] around them for each `Session::process` call:
//!
//! ```ignore
//! let mut st = MaildirStore::new(&mut fs, &mut maildir, "example.org/bob", now_unix);
//! let action = session.process(&mut st);
//! st.sync()?;               // a no-op unless built with .deferred()
//! send(session.take_output());
//! ```
//!
//! Layout and semantics (Dovecot `LAYOUT=maildir++`, `separator = /`):
//!
//! * INBOX is the Maildir root; `A/B` is the directory `.A.B` (names in
//!   modified UTF-7, see [`names`]). Subscriptions: `<root>/subscriptions`.
//! * UIDs and UIDVALIDITY live in each folder's `dovecot-uidlist`; new
//!   folders take UIDVALIDITY from `<root>/dovecot-uidvalidity` (hex, as
//!   Dovecot keeps it), always greater than any handed out before, so a
//!   folder deleted and re-created in the same second still changes it.
//! * Flags are the `:2,` letters; keywords use `dovecot-keywords` ([`flags`]).
//! * RFC 3501 2.3.2 \Recent: a message is recent while it sits in `new/`;
//!   `claim_recent` moves those to `cur/` (what SELECT does in Dovecot).
//! * Sizes: RFC822.SIZE is the CRLF size. Dovecot's `,W=` is used when a
//!   file name has it; otherwise `,S=`, which equals it for the files this
//!   system writes (SMTP data is CRLF, and APPEND/COPY store CRLF).
//! * Durability: every mutating call flushes before it returns `Ok`
//!   (the session sends the tagged OK right after). With
//!   [`MaildirStore::deferred`] the final flush is left to [`MaildirStore::sync`],
//!   which the caller must run after `process` and before sending output:
//!   a STORE on many messages then costs one flush instead of one each.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod flags;
pub mod modseq;
pub mod names;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use disk::ext2::FsError;
use disk::maildir::{Flags as DiskFlags, MailError, Maildir, MessageInfo};
use disk::FileSystem;
use mail_imap::store::{FolderStatus, MessageMeta, Store, StoreError, Uid};
use mail_imap::Flags;

pub use flags::Keywords;
use modseq::{ModseqLog, MODSEQ_FILE};

const UIDVALIDITY_FILE: &str = "dovecot-uidvalidity";
const UIDLIST_FILE: &str = "dovecot-uidlist";
const SUBSCRIPTIONS_FILE: &str = "subscriptions";
/// Most subscribed names kept (Maildir's default folder limit).
const MAX_SUBSCRIPTIONS: usize = 1000;
/// Largest uidlist rewritten after an expunge (Maildir's default bound).
const MAX_UIDLIST: usize = 32 << 20;
/// Largest `dovecot-keywords` file read (26 short lines in practice).
const MAX_KEYWORDS_FILE: usize = 8192;
/// Largest `unimail-modseq` log read (compacted long before this).
const MAX_MODSEQ_FILE: usize = 32 << 20;

/// One folder's listing, kept for the length of one `process` call so a
/// FETCH of n messages does not scan the directory n times (and, through
/// [`ListingCache`], across calls).
struct Listing {
    folder: String,
    msgs: Vec<MessageInfo>,
    /// `new/<name>` / `cur/<name>` -> inode, from one scan of each
    /// directory, built on the first read: a lookup by name scans the
    /// whole directory on this ext2 (no htree), so reading n messages by
    /// path cost n directory scans.
    inos: Option<BTreeMap<String, u32>>,
}

/// A folder listing carried from one [`MaildirStore`] to the next
/// ([`MaildirStore::into_cache`], [`MaildirStore::with_cache`]) so that a
/// session's FETCH of one message does not scan the folder each time.
/// Drop it when the folder may have changed behind the session's back
/// (`Session::mailbox_changed`); a file renamed meanwhile is found again
/// by a fresh listing (`MailError::Gone`), `list_messages` always re-lists.
pub struct ListingCache(Listing);

/// One user's mailboxes for the length of one IMAP command (or one
/// `process` call): borrows the long-lived filesystem and [`Maildir`].
pub struct MaildirStore<'a, F: FileSystem> {
    fs: &'a mut F,
    maildir: &'a mut Maildir,
    user: &'a str,
    now: u32,
    defer: bool,
    dirty: bool,
    /// Something was written through this store (see [`Self::wrote`]).
    wrote: bool,
    listing: Option<Listing>,
    keywords: Option<(String, Keywords)>,
    /// One folder's RFC 7162 log, read once per call ([`modseq`]).
    modseqs: Option<(String, ModseqLog)>,
    /// COPY/MOVE done through this store ([`Self::take_transfers`]).
    transfers: Vec<Transfer>,
}

/// Messages copied or moved between folders by one call: what IMAPSieve
/// (RFC 6785) scripts see, and what the kernel uses to learn spam and ham
/// when a user moves mail into or out of Junk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// IMAP folder names (`INBOX`, `Junk`, ...).
    pub from: String,
    pub to: String,
    /// The messages' UIDs in `to`.
    pub uids: Vec<Uid>,
    /// MOVE rather than COPY.
    pub moved: bool,
}

fn map_mail(e: MailError) -> StoreError {
    match e {
        MailError::NoSuchFolder | MailError::Gone => StoreError::NotFound,
        MailError::FolderExists => StoreError::AlreadyExists,
        MailError::InvalidFolder | MailError::InvalidUser => StoreError::NotAllowed,
        MailError::TooBig => StoreError::OverQuota,
        MailError::Fs(e) => map_fs(e),
    }
}

fn map_fs(e: FsError) -> StoreError {
    match e {
        FsError::NotFound => StoreError::NotFound,
        FsError::Exists => StoreError::AlreadyExists,
        FsError::NoSpace | FsError::NoInodes | FsError::TooBig => StoreError::OverQuota,
        FsError::InvalidName => StoreError::NotAllowed,
        _ => StoreError::Failed,
    }
}

/// A header larger than this is served from a whole-message read.
const MAX_HEADER_READ: usize = 256 * 1024;

/// The offset just past the empty line ending a header (`\n\n` or
/// `\n\r\n`), if `b` holds it.
fn header_end(b: &[u8]) -> Option<usize> {
    (0..b.len()).find_map(|i| {
        if b[i] != b'\n' {
            None
        } else if b.get(i + 1) == Some(&b'\n') {
            Some(i + 2)
        } else if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
            Some(i + 3)
        } else {
            None
        }
    })
}

/// Dovecot's `,W=<vsize>` (CRLF size) or else `,S=<size>` from a base name.
fn vsize_from_name(base: &str) -> Option<u64> {
    let fields = || base.split(',').skip(1);
    fields()
        .find_map(|f| f.strip_prefix("W="))
        .or_else(|| fields().find_map(|f| f.strip_prefix("S=")))
        .and_then(|v| v.parse().ok())
}

/// RFC 3501 6.3.11: an APPEND date outside what the file's 32-bit mtime
/// can hold is clamped (before 1970 or after 2106).
fn clamp_date(d: i64) -> u32 {
    d.clamp(0, u32::MAX as i64) as u32
}

impl<'a, F: FileSystem> MaildirStore<'a, F> {
    /// `user` as `Maildir` expects it (`<domain>/<local>` or a plain name);
    /// `now`: unix time for new files, UIDVALIDITY and APPEND without date.
    pub fn new(fs: &'a mut F, maildir: &'a mut Maildir, user: &'a str, now: u32) -> Self {
        MaildirStore {
            fs,
            maildir,
            user,
            now,
            defer: false,
            dirty: false,
            wrote: false,
            listing: None,
            keywords: None,
            modseqs: None,
            transfers: Vec::new(),
        }
    }

    /// Leaves the last flush of each mutating call to [`Self::sync`]. The
    /// caller must then call `sync` after `Session::process` and before
    /// sending its output (the tagged OK promises durability).
    pub fn deferred(mut self) -> Self {
        self.defer = true;
        self
    }

    /// Starts from a listing kept by the caller (see [`ListingCache`]).
    pub fn with_cache(mut self, cache: Option<ListingCache>) -> Self {
        self.listing = cache.map(|c| c.0);
        self
    }

    /// The current listing, for [`Self::with_cache`] on the next call.
    pub fn into_cache(&mut self) -> Option<ListingCache> {
        self.listing.take().map(ListingCache)
    }

    /// Makes every change so far durable (a no-op when nothing is pending).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.dirty {
            self.fs.flush().map_err(map_fs)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// The filesystem underneath (for tests and the kernel's own checks).
    pub fn fs(&mut self) -> &mut F {
        self.fs
    }

    /// True when changes wait for [`Self::sync`].
    pub fn pending(&self) -> bool {
        self.dirty
    }

    /// Creates the user's Maildir (INBOX) if missing; idempotent.
    pub fn ensure_user(&mut self) -> Result<(), StoreError> {
        let root = self.maildir.user_root(self.user).map_err(map_mail)?;
        match self.fs.lookup(&format!("{root}/{}", "dovecot-uidlist")) {
            Ok(_) => return Ok(()),
            Err(FsError::NotFound) => {}
            Err(e) => return Err(map_fs(e)),
        }
        let uv = self.next_uidvalidity()?;
        self.maildir.create_user(self.fs, self.user, uv, self.now).map_err(map_mail)?;
        self.done()
    }

    /// Whether this store changed anything on disk (the caller then tells
    /// the user's other sessions to look again).
    pub fn wrote(&self) -> bool {
        self.wrote
    }

    /// The copies and moves done since the last call, oldest first.
    pub fn take_transfers(&mut self) -> Vec<Transfer> {
        core::mem::take(&mut self.transfers)
    }

    /// End of a mutating call: durable now, or at `sync`.
    fn done(&mut self) -> Result<(), StoreError> {
        self.dirty = true;
        self.wrote = true;
        if self.defer {
            Ok(())
        } else {
            self.sync()
        }
    }

    fn invalidate(&mut self) {
        self.listing = None;
    }

    /// A UIDVALIDITY never used before by this user: max(now, last + 1),
    /// remembered in `dovecot-uidvalidity` (8 hex digits, no newline, as Dovecot writes it).
    fn next_uidvalidity(&mut self) -> Result<u32, StoreError> {
        let root = self.maildir.user_root(self.user).map_err(map_mail)?;
        let path = format!("{root}/{UIDVALIDITY_FILE}");
        let last = match self.fs.read_file(&path, 64) {
            Ok(raw) => {
                core::str::from_utf8(&raw).ok().and_then(|s| u32::from_str_radix(s.trim(), 16).ok()).unwrap_or(0)
            }
            Err(FsError::NotFound) => 0,
            Err(e) => return Err(map_fs(e)),
        };
        let next = self.now.max(last.saturating_add(1)).max(1);
        if self.fs.lookup(&root).is_err() {
            // First use: the directory is made by create_user; the file
            // follows on the next call (INBOX's own value is `next`).
            self.maildir.create_user(self.fs, self.user, next, self.now).map_err(map_mail)?;
        }
        self.replace(&path, format!("{next:08x}").as_bytes())?;
        Ok(next)
    }

    /// Replaces a small file so that a power cut leaves the old or the new
    /// contents. `FileSystem::replace_file` (write beside, rename over) is
    /// not enough on this ext2: within one flush it may write the replaced
    /// inode (now empty, no links) before the directory block that names
    /// the new one, and a cut in between leaves an empty uidlist (found by
    /// tests/crash.rs). So: write beside and flush (the new inode is on
    /// disk before any name points at it); give the old file a second name
    /// so the rename only drops a link and never empties it; rename; flush;
    /// then remove the spare name (freed at the caller's flush).
    fn replace(&mut self, path: &str, data: &[u8]) -> Result<(), StoreError> {
        let tmp = format!("{path}.tmp");
        let old = format!("{path}.old");
        for stale in [&tmp, &old] {
            match self.fs.unlink(stale, self.now) {
                Ok(()) | Err(FsError::NotFound) => {}
                Err(e) => return Err(map_fs(e)),
            }
        }
        let ino = self.fs.create(&tmp, self.now).map_err(map_fs)?;
        self.fs.write_at(ino, 0, data, self.now).map_err(map_fs)?;
        self.fs.flush().map_err(map_fs)?;
        let kept = match self.fs.link(path, &old, self.now) {
            Ok(()) => true,
            Err(FsError::NotFound) => false,
            Err(e) => return Err(map_fs(e)),
        };
        self.fs.rename(&tmp, path, self.now).map_err(map_fs)?;
        if kept {
            self.fs.flush().map_err(map_fs)?;
            self.fs.unlink(&old, self.now).map_err(map_fs)?;
        }
        Ok(())
    }

    fn folder_dir(&self, disk: &str) -> Result<String, StoreError> {
        self.maildir.folder_dir(self.user, disk).map_err(map_mail)
    }

    /// The folder's keyword table (cached for this call).
    fn keywords(&mut self, disk: &str) -> Result<&mut Keywords, StoreError> {
        if self.keywords.as_ref().map(|(f, _)| f.as_str()) != Some(disk) {
            let path = format!("{}/{}", self.folder_dir(disk)?, flags::KEYWORDS_FILE);
            let k = match self.fs.read_file(&path, MAX_KEYWORDS_FILE) {
                Ok(raw) => Keywords::parse(&String::from_utf8_lossy(&raw)),
                Err(FsError::NotFound) => Keywords::default(),
                Err(e) => return Err(map_fs(e)),
            };
            self.keywords = Some((String::from(disk), k));
        }
        Ok(&mut self.keywords.as_mut().unwrap().1)
    }

    /// Writes the keyword table if a keyword was added. Called before any
    /// file gets the new letter, so a crash never leaves a letter unnamed.
    fn save_keywords(&mut self) -> Result<(), StoreError> {
        let Some((disk, k)) = self.keywords.as_mut() else { return Ok(()) };
        if !k.dirty {
            return Ok(());
        }
        let text = k.render();
        k.dirty = false;
        let disk = disk.clone();
        let path = format!("{}/{}", self.folder_dir(&disk)?, flags::KEYWORDS_FILE);
        self.replace(&path, text.as_bytes())
    }

    /// IMAP flags as letters for `disk`, the keyword file updated.
    fn disk_flags(&mut self, disk: &str, f: &Flags) -> Result<DiskFlags, StoreError> {
        let r = self.keywords(disk)?.to_disk(f);
        if r.is_err() {
            // Nothing was written; forget the partly extended table.
            self.keywords = None;
        }
        let d = r?;
        self.save_keywords()?;
        Ok(d)
    }

    /// Letters of a message in `from` re-expressed for folder `to`.
    fn remap(&mut self, from: &str, to: &str, f: DiskFlags) -> Result<DiskFlags, StoreError> {
        let imap = self.keywords(from)?.to_imap(f);
        self.disk_flags(to, &imap)
    }

    fn listing(&mut self, disk: &str) -> Result<&mut Vec<MessageInfo>, StoreError> {
        if self.listing.as_ref().map(|l| l.folder.as_str()) != Some(disk) {
            let msgs = self.maildir.list(self.fs, self.user, disk, self.now).map_err(map_mail)?;
            self.listing = Some(Listing { folder: String::from(disk), msgs, inos: None });
        }
        Ok(&mut self.listing.as_mut().unwrap().msgs)
    }

    fn find(&mut self, disk: &str, uid: Uid) -> Result<MessageInfo, StoreError> {
        let l = self.listing(disk)?;
        let i = l.binary_search_by_key(&uid, |m| m.uid).map_err(|_| StoreError::NotFound)?;
        Ok(l[i].clone())
    }

    /// The listed messages among `uids`, in the order of `uids`.
    fn pick(&mut self, disk: &str, uids: &[Uid]) -> Result<Vec<MessageInfo>, StoreError> {
        let l = self.listing(disk)?;
        Ok(uids.iter().filter_map(|u| l.binary_search_by_key(u, |m| m.uid).ok().map(|i| l[i].clone())).collect())
    }

    fn uidvalidity(&mut self, disk: &str) -> Result<u32, StoreError> {
        Ok(self.maildir.uid_state(self.fs, self.user, disk).map_err(map_mail)?.uidvalidity)
    }

    /// One attempt at renaming a listed message to carry `d`: its index in
    /// the listing and its new state, or `None` if it is gone (renamed by
    /// someone else since the listing, or expunged).
    fn set_flags_once(
        &mut self,
        disk: &str,
        uid: Uid,
        d: DiskFlags,
    ) -> Result<Option<(usize, MessageInfo)>, StoreError> {
        let l = self.listing(disk)?;
        let Ok(i) = l.binary_search_by_key(&uid, |m| m.uid) else { return Ok(None) };
        let mut msg = l[i].clone();
        match self.maildir.set_flags(self.fs, self.user, disk, &mut msg, d, self.now) {
            Ok(()) => Ok(Some((i, msg))),
            Err(MailError::Gone) => Ok(None),
            Err(e) => Err(map_mail(e)),
        }
    }

    /// The file's bytes up to and including the empty line that ends the
    /// header (all of it if there is none, or if the header is larger than
    /// [`MAX_HEADER_READ`]); `None` if the file is gone.
    fn read_header_of(&mut self, disk: &str, m: &MessageInfo) -> Result<Option<Vec<u8>>, StoreError> {
        let ino = match self.listed_ino(disk, m)? {
            Some(i) => i,
            None => {
                let path = format!("{}/{}/{}", self.folder_dir(disk)?, if m.in_new { "new" } else { "cur" }, m.name);
                match self.fs.lookup(&path) {
                    Ok(i) => i,
                    Err(FsError::NotFound) => return Ok(None),
                    Err(e) => return Err(map_fs(e)),
                }
            }
        };
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = self.fs.read_at(ino, buf.len() as u64, &mut chunk).map_err(map_fs)?;
            // Search from a little before the new bytes: the end may straddle.
            let from = buf.len().saturating_sub(3);
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = header_end(&buf[from..]) {
                buf.truncate(from + end);
                return Ok(Some(buf));
            }
            if n == 0 {
                return Ok(Some(buf));
            }
            if buf.len() >= MAX_HEADER_READ {
                return self.maildir.read_message(self.fs, self.user, disk, m).map(Some).map_err(map_mail);
            }
        }
    }

    /// The inode of a listed message from the listing's name map (built by
    /// one scan of `new/` and `cur/`), if it still is that message: a
    /// regular file with the listed size and date. `None`: look it up by
    /// path instead.
    fn listed_ino(&mut self, disk: &str, m: &MessageInfo) -> Result<Option<u32>, StoreError> {
        let Some(l) = self.listing.as_ref().filter(|l| l.folder == disk) else { return Ok(None) };
        if l.inos.is_none() {
            let dir = self.folder_dir(disk)?;
            let mut map = BTreeMap::new();
            let cap = l.msgs.len().saturating_mul(2).saturating_add(64);
            for sub in ["new", "cur"] {
                let mut full = false;
                let r = self.fs.read_dir(&format!("{dir}/{sub}"), &mut |e: disk::DirEntry<'_>| {
                    if e.kind == disk::FileType::File {
                        if let Some(n) = e.name_str() {
                            if map.len() >= cap {
                                full = true;
                                return false;
                            }
                            map.insert(format!("{sub}/{n}"), e.ino);
                        }
                    }
                    true
                });
                match r {
                    Ok(()) if !full => {}
                    // Too many names (files added meanwhile) or an error:
                    // fall back to lookups by path.
                    _ => return Ok(None),
                }
            }
            if let Some(l) = self.listing.as_mut() {
                l.inos = Some(map);
            }
        }
        let key = format!("{}/{}", if m.in_new { "new" } else { "cur" }, m.name);
        let Some(&ino) = self.listing.as_ref().and_then(|l| l.inos.as_ref()).and_then(|i| i.get(&key)) else {
            return Ok(None);
        };
        match self.fs.stat_ino(ino) {
            Ok(st)
                if st.kind == disk::FileType::File
                    && st.links > 0
                    && st.size == m.size
                    && st.mtime == m.internal_date =>
            {
                Ok(Some(ino))
            }
            _ => Ok(None),
        }
    }

    /// The folder's mod-sequence log (cached for this call).
    fn modseq_log(&mut self, disk: &str) -> Result<&mut ModseqLog, StoreError> {
        if self.modseqs.as_ref().map(|(f, _)| f.as_str()) != Some(disk) {
            let path = format!("{}/{MODSEQ_FILE}", self.folder_dir(disk)?);
            let log = match self.fs.read_file(&path, MAX_MODSEQ_FILE) {
                Ok(raw) => ModseqLog::parse(&raw),
                Err(FsError::NotFound) => ModseqLog::default(),
                Err(e) => return Err(map_fs(e)),
            };
            self.modseqs = Some((String::from(disk), log));
        }
        Ok(&mut self.modseqs.as_mut().unwrap().1)
    }

    /// Appends records to the folder's log (made durable by the caller's
    /// `done()`, the same flush as the change itself).
    fn modseq_append(&mut self, disk: &str, text: &str) -> Result<(), StoreError> {
        let path = format!("{}/{MODSEQ_FILE}", self.folder_dir(disk)?);
        let ino = match self.fs.lookup(&path) {
            Ok(i) => i,
            Err(FsError::NotFound) => self.fs.create(&path, self.now).map_err(map_fs)?,
            Err(e) => return Err(map_fs(e)),
        };
        self.fs.append(ino, text.as_bytes(), self.now).map_err(map_fs)?;
        self.dirty = true;
        Ok(())
    }

    /// RFC 7162 3.1: MODSEQ of each listed message (in listing order) and
    /// HIGHESTMODSEQ. Messages changed without a record (deliveries,
    /// copies, a lost record, another program) are recorded now at a new
    /// value, durably before any response can show it.
    fn modseqs(&mut self, disk: &str) -> Result<(Vec<u64>, u64), StoreError> {
        self.listing(disk)?;
        let msgs = core::mem::take(&mut self.listing.as_mut().unwrap().msgs);
        let r = self.modseqs_of(disk, &msgs);
        self.listing.as_mut().unwrap().msgs = msgs;
        r
    }

    fn modseqs_of(&mut self, disk: &str, msgs: &[MessageInfo]) -> Result<(Vec<u64>, u64), StoreError> {
        let keys: Vec<(u32, &str)> = msgs.iter().map(|m| (m.uid, modseq::letters(&m.name))).collect();
        let log = self.modseq_log(disk)?;
        let (mut values, changed) = log.resolve(&keys);
        if !changed.is_empty() {
            let pick: Vec<(u32, &str)> = changed.iter().map(|&i| keys[i]).collect();
            let (ms, text) = log.record_changed(&pick);
            for &i in &changed {
                values[i] = ms;
            }
            self.modseq_append(disk, &text)?;
            self.done()?;
        }
        let log = self.modseq_log(disk)?;
        if log.wants_compaction(msgs.len()) {
            let live: Vec<u32> = msgs.iter().map(|m| m.uid).collect();
            let text = log.render(&live);
            let path = format!("{}/{MODSEQ_FILE}", self.folder_dir(disk)?);
            self.replace(&path, text.as_bytes())?;
            self.done()?;
        }
        let highest = self.modseq_log(disk)?.highest();
        Ok((values, highest))
    }

    /// Records flag changes made by this store (same flush as the renames).
    fn modseq_changed(&mut self, disk: &str, msgs: &[MessageInfo]) -> Result<(), StoreError> {
        if msgs.is_empty() {
            return Ok(());
        }
        let keys: Vec<(u32, &str)> = msgs.iter().map(|m| (m.uid, modseq::letters(&m.name))).collect();
        let (_, text) = self.modseq_log(disk)?.record_changed(&keys);
        self.modseq_append(disk, &text)
    }

    /// Records expunges (HIGHESTMODSEQ grows).
    fn modseq_expunged(&mut self, disk: &str, msgs: &[MessageInfo]) -> Result<(), StoreError> {
        if msgs.is_empty() {
            return Ok(());
        }
        let uids: Vec<u32> = msgs.iter().map(|m| m.uid).collect();
        let text = self.modseq_log(disk)?.record_expunge(&uids);
        self.modseq_append(disk, &text)
    }

    fn meta(&mut self, disk: &str, m: &MessageInfo) -> Result<MessageMeta, StoreError> {
        let flags = self.keywords(disk)?.to_imap(m.flags);
        let size = vsize_from_name(m.base()).unwrap_or(m.size);
        Ok(MessageMeta {
            uid: m.uid,
            flags,
            size: size.min(u32::MAX as u64) as u32,
            internal_date: m.internal_date as i64,
            modseq: 0,
        })
    }

    /// Drops the lines of expunged or moved-away messages from a folder's
    /// uidlist (Dovecot rewrites it the same way): header kept with `N` set
    /// to the next UID so no UID is ever reused, other lines unchanged,
    /// written beside and renamed over (a crash leaves old or new).
    fn drop_from_uidlist(&mut self, disk: &str, gone: &[MessageInfo]) -> Result<(), StoreError> {
        if gone.is_empty() {
            return Ok(());
        }
        let path = format!("{}/{UIDLIST_FILE}", self.folder_dir(disk)?);
        let state = self.maildir.uid_state(self.fs, self.user, disk).map_err(map_mail)?;
        let raw = match self.fs.read_file(&path, MAX_UIDLIST) {
            Ok(r) => r,
            // Too big to rewrite here: stale lines are harmless.
            Err(FsError::TooBig) => return Ok(()),
            Err(e) => return Err(map_fs(e)),
        };
        let Ok(text) = core::str::from_utf8(&raw) else { return Ok(()) };
        let mut bases: Vec<&str> = gone.iter().map(|m| m.base()).collect();
        bases.sort_unstable();
        let mut lines = text.split('\n');
        let mut out = String::new();
        out.try_reserve(text.len()).map_err(|_| StoreError::Failed)?;
        // "3 V<validity> N<next> [more fields]": only N changes.
        for (i, f) in lines.next().unwrap_or("").split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if f.starts_with('N') && i > 0 {
                out.push_str(&format!("N{}", state.next_uid));
            } else {
                out.push_str(f);
            }
        }
        if !out.contains(" N") {
            out.push_str(&format!(" N{}", state.next_uid));
        }
        out.push('\n');
        for l in lines.filter(|l| !l.is_empty()) {
            let name = l.find(':').map(|i| &l[i + 1..]).unwrap_or("");
            let base = name.split(':').next().unwrap_or(name);
            if bases.binary_search(&base).is_err() {
                out.push_str(l);
                out.push('\n');
            }
        }
        self.replace(&path, out.as_bytes())
    }

    /// Copies `msgs` of `from` into `to` as new files (stage all, flush,
    /// commit all, then give flagged ones their `cur/` names). Internal
    /// dates are kept (the new files get the old mtime).
    fn copy_files(&mut self, from: &str, msgs: &[MessageInfo], to: &str) -> Result<Vec<Uid>, StoreError> {
        let mut staged = Vec::new();
        let mut want = Vec::new();
        for m in msgs {
            let r = self
                .maildir
                .read_message(self.fs, self.user, from, m)
                .and_then(|data| self.maildir.stage(self.fs, self.user, to, &data, m.internal_date));
            match r {
                Ok(st) => staged.push(st),
                Err(e) => {
                    for st in staged {
                        let _ = self.maildir.abort(self.fs, st, self.now);
                    }
                    return Err(map_mail(e));
                }
            }
            let f = self.remap(from, to, m.flags);
            match f {
                Ok(f) => want.push(f),
                Err(e) => {
                    for st in staged {
                        let _ = self.maildir.abort(self.fs, st, self.now);
                    }
                    return Err(e);
                }
            }
        }
        self.fs.flush().map_err(map_fs)?;
        let mut uids = Vec::new();
        let mut flagged = Vec::new();
        let mut fl = Vec::new();
        for (st, (f, m)) in staged.into_iter().zip(want.into_iter().zip(msgs)) {
            let size = st.size();
            let d = self.maildir.commit(self.fs, st, self.now).map_err(map_mail)?;
            uids.push(d.uid);
            if f != DiskFlags::empty() {
                flagged.push(MessageInfo {
                    uid: d.uid,
                    name: d.name,
                    in_new: true,
                    flags: DiskFlags::empty(),
                    size,
                    internal_date: m.internal_date,
                });
                fl.push(f);
            }
        }
        if !flagged.is_empty() {
            self.maildir.set_flags_many(self.fs, self.user, to, &mut flagged, &fl, self.now).map_err(map_mail)?;
        }
        Ok(uids)
    }
}

impl<F: FileSystem> Store for MaildirStore<'_, F> {
    fn list_folders(&mut self) -> Result<Vec<String>, StoreError> {
        self.ensure_user()?;
        let mut out = alloc::vec![String::from(names::INBOX)];
        for f in self.maildir.folders(self.fs, self.user).map_err(map_mail)? {
            out.push(names::from_disk(&f));
        }
        Ok(out)
    }

    fn create_folder(&mut self, name: &str) -> Result<(), StoreError> {
        let disk = names::to_disk(name)?;
        if disk == names::INBOX {
            return Err(StoreError::AlreadyExists);
        }
        self.ensure_user()?;
        let dir = self.folder_dir(&disk)?;
        if self.fs.lookup(&dir).is_ok() {
            return Err(StoreError::AlreadyExists);
        }
        let uv = self.next_uidvalidity()?;
        self.maildir.create_folder(self.fs, self.user, &disk, uv, self.now).map_err(map_mail)?;
        self.done()
    }

    fn delete_folder(&mut self, name: &str) -> Result<(), StoreError> {
        let disk = names::to_disk(name)?;
        if disk == names::INBOX {
            return Err(StoreError::NotAllowed);
        }
        // RFC 3501 6.3.4: inferior names stay (in Maildir++ they are
        // separate directories anyway).
        self.maildir.delete_folder(self.fs, self.user, &disk, self.now).map_err(map_mail)?;
        self.invalidate();
        self.keywords = None;
        self.done()
    }

    fn rename_folder(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        let (src, dst) = (names::to_disk(from)?, names::to_disk(to)?);
        if dst == names::INBOX {
            return Err(StoreError::AlreadyExists);
        }
        self.invalidate();
        self.keywords = None;
        if src == names::INBOX {
            // RFC 3501 6.3.5: renaming INBOX moves its messages into a new
            // folder and leaves INBOX empty; its inferiors stay.
            self.create_folder(to)?;
            let mut msgs = self.listing(&src)?.clone();
            for m in msgs.iter_mut() {
                m.flags = self.remap(&src, &dst, m.flags)?;
            }
            let mut start = 0;
            // Bounded batches: each is linked, flushed, then unlinked.
            while start < msgs.len() {
                let end = (start + 256).min(msgs.len());
                self.maildir
                    .move_messages(self.fs, self.user, &src, &msgs[start..end], &dst, self.now)
                    .map_err(map_mail)?;
                self.drop_from_uidlist(&src, &msgs[start..end])?;
                start = end;
            }
            self.invalidate();
            return self.done();
        }
        // Directory renames are atomic; children (`A.x`) follow.
        self.maildir.rename_folder(self.fs, self.user, &src, &dst, self.now).map_err(map_mail)?;
        self.done()
    }

    fn subscriptions(&mut self) -> Result<Vec<String>, StoreError> {
        let v = self.maildir.subscriptions(self.fs, self.user).map_err(map_mail)?;
        Ok(v.iter().map(|n| names::from_disk(n)).collect())
    }

    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> Result<(), StoreError> {
        let disk = names::to_disk(name)?;
        self.ensure_user()?;
        // Maildir's own subscribe/unsubscribe use FileSystem::replace_file;
        // the same file is written here with the crash-safe `replace`.
        let mut v = self.maildir.subscriptions(self.fs, self.user).map_err(map_mail)?;
        let had = v.contains(&disk);
        if had == subscribed {
            return Ok(());
        }
        if subscribed {
            if v.len() >= MAX_SUBSCRIPTIONS {
                return Err(StoreError::OverQuota);
            }
            v.push(disk);
            v.sort();
        } else {
            v.retain(|f| *f != disk);
        }
        let mut text = String::new();
        for n in &v {
            text.push_str(n);
            text.push('\n');
        }
        let path = format!("{}/{SUBSCRIPTIONS_FILE}", self.maildir.user_root(self.user).map_err(map_mail)?);
        self.replace(&path, text.as_bytes())?;
        self.done()
    }

    fn folder_status(&mut self, name: &str) -> Result<FolderStatus, StoreError> {
        let disk = names::to_disk(name)?;
        if disk == names::INBOX {
            self.ensure_user()?;
        }
        let msgs = self.listing(&disk)?;
        let (mut messages, mut unseen, mut deleted, mut size) = (0u32, 0u32, 0u32, 0u64);
        for m in msgs.iter() {
            messages += 1;
            unseen += u32::from(!m.flags.contains(DiskFlags::SEEN));
            deleted += u32::from(m.flags.contains(DiskFlags::TRASHED));
            size += vsize_from_name(m.base()).unwrap_or(m.size);
        }
        let (_, highest_modseq) = self.modseqs(&disk)?;
        // After listing: files that arrived without a UID now have one.
        let st = self.maildir.uid_state(self.fs, self.user, &disk).map_err(map_mail)?;
        Ok(FolderStatus {
            uid_validity: st.uidvalidity,
            uid_next: st.next_uid,
            messages,
            unseen,
            deleted,
            size,
            highest_modseq,
        })
    }

    fn list_messages(&mut self, name: &str) -> Result<(u32, Vec<MessageMeta>), StoreError> {
        let disk = names::to_disk(name)?;
        if disk == names::INBOX {
            self.ensure_user()?;
        }
        // A fresh listing each time: the session diffs it against its
        // snapshot to report deliveries and other sessions' changes.
        self.invalidate();
        let msgs = core::mem::take(self.listing(&disk)?);
        let mut out = Vec::new();
        out.try_reserve_exact(msgs.len()).map_err(|_| StoreError::Failed)?;
        for m in &msgs {
            out.push(self.meta(&disk, m)?);
        }
        let (values, _) = self.modseqs_of(&disk, &msgs)?;
        for (o, v) in out.iter_mut().zip(values) {
            o.modseq = v;
        }
        if let Some(l) = self.listing.as_mut() {
            l.msgs = msgs;
        }
        let uv = self.uidvalidity(&disk)?;
        Ok((uv, out))
    }

    fn read_message(&mut self, name: &str, uid: Uid) -> Result<Vec<u8>, StoreError> {
        let disk = names::to_disk(name)?;
        let m = self.find(&disk, uid)?;
        let max = disk::maildir::Limits::default().max_message;
        if let Some(ino) = self.listed_ino(&disk, &m)?.filter(|_| m.size <= max) {
            let mut v = Vec::new();
            v.try_reserve_exact(m.size as usize).map_err(|_| StoreError::Failed)?;
            v.resize(m.size as usize, 0);
            let n = self.fs.read_at(ino, 0, &mut v).map_err(map_fs)?;
            v.truncate(n);
            return Ok(v);
        }
        match self.maildir.read_message(self.fs, self.user, &disk, &m) {
            // Renamed meanwhile (flags changed by another session): list again.
            Err(MailError::Gone) => {
                self.invalidate();
                let m = self.find(&disk, uid)?;
                self.maildir.read_message(self.fs, self.user, &disk, &m).map_err(map_mail)
            }
            r => r.map_err(map_mail),
        }
    }

    fn read_header(&mut self, name: &str, uid: Uid) -> Result<Vec<u8>, StoreError> {
        let disk = names::to_disk(name)?;
        let m = self.find(&disk, uid)?;
        match self.read_header_of(&disk, &m)? {
            Some(h) => Ok(h),
            // Renamed meanwhile: list again (as read_message does).
            None => {
                self.invalidate();
                let m = self.find(&disk, uid)?;
                self.read_header_of(&disk, &m)?.ok_or(StoreError::NotFound)
            }
        }
    }

    fn set_flags(&mut self, name: &str, uid: Uid, flags: &Flags) -> Result<(), StoreError> {
        let disk = names::to_disk(name)?;
        let m = self.find(&disk, uid)?;
        let d = self.disk_flags(&disk, flags)?;
        if d == m.flags && !m.in_new {
            return Ok(());
        }
        // Renamed meanwhile (another session, a cached listing): list
        // again and retry once.
        let (i, msg) = match self.set_flags_once(&disk, uid, d)? {
            Some(r) => r,
            None => {
                self.invalidate();
                self.set_flags_once(&disk, uid, d)?.ok_or_else(|| {
                    self.invalidate();
                    StoreError::NotFound
                })?
            }
        };
        self.modseq_changed(&disk, core::slice::from_ref(&msg))?;
        if let Some(l) = self.listing.as_mut() {
            l.msgs[i] = msg;
            l.inos = None;
        }
        self.done()
    }

    fn append(
        &mut self,
        name: &str,
        flags: &Flags,
        date: Option<i64>,
        message: &[u8],
    ) -> Result<(u32, Uid), StoreError> {
        let disk = names::to_disk(name)?;
        if disk == names::INBOX {
            self.ensure_user()?;
        }
        let uv = self.uidvalidity(&disk)?;
        let received = date.map(clamp_date).unwrap_or(self.now);
        let d = self.disk_flags(&disk, flags)?;
        // Stored with CRLF line ends so `,S=` is the RFC822.SIZE.
        let data = mail_imap::mime::to_crlf(message);
        let st = self.maildir.stage(self.fs, self.user, &disk, &data, received).map_err(map_mail)?;
        let size = st.size();
        if let Err(e) = self.fs.flush() {
            let _ = self.maildir.abort(self.fs, st, self.now);
            return Err(map_fs(e));
        }
        let dl = self.maildir.commit(self.fs, st, self.now).map_err(map_mail)?;
        self.invalidate();
        if d != DiskFlags::empty() {
            // Flagged mail lives in cur/ (new/ files carry no info part).
            let mut m = MessageInfo {
                uid: dl.uid,
                name: dl.name,
                in_new: true,
                flags: DiskFlags::empty(),
                size,
                internal_date: received,
            };
            self.maildir.set_flags(self.fs, self.user, &disk, &mut m, d, self.now).map_err(map_mail)?;
        }
        self.done()?;
        Ok((uv, dl.uid))
    }

    fn copy(&mut self, from: &str, uids: &[Uid], to: &str) -> Result<(u32, Vec<Uid>), StoreError> {
        let (src, dst) = (names::to_disk(from)?, names::to_disk(to)?);
        let uv = self.uidvalidity(&dst)?;
        let msgs = self.pick(&src, uids)?;
        let out = self.copy_files(&src, &msgs, &dst)?;
        if src == dst {
            self.invalidate();
        }
        self.done()?;
        self.transfers.push(Transfer { from: from.into(), to: to.into(), uids: out.clone(), moved: false });
        Ok((uv, out))
    }

    /// RFC 6851: MOVE is a rename into the target's `cur/` (link, uidlist
    /// line, flush, unlink) per message: never lost, never doubled after
    /// the flush.
    fn move_messages(&mut self, from: &str, uids: &[Uid], to: &str) -> Result<(u32, Vec<Uid>), StoreError> {
        let (src, dst) = (names::to_disk(from)?, names::to_disk(to)?);
        let uv = self.uidvalidity(&dst)?;
        if src == dst {
            let (_, new) = self.copy(from, uids, to)?;
            self.expunge(from, uids)?;
            return Ok((uv, new));
        }
        let mut msgs = self.pick(&src, uids)?;
        for m in msgs.iter_mut() {
            m.flags = self.remap(&src, &dst, m.flags)?;
        }
        // A base name already in the target (Dovecot's hard-link copies
        // keep the name) cannot be linked there: those are copied under a
        // fresh name and expunged instead. Checked up front because a
        // failed link half-way would leave the earlier ones in both.
        let taken: Vec<String> = self.listing(&dst)?.iter().map(|m| String::from(m.base())).collect();
        type Indexed = Vec<(usize, MessageInfo)>;
        let (clash, plain): (Indexed, Indexed) =
            msgs.into_iter().enumerate().partition(|(_, m)| taken.iter().any(|t| t == m.base()));
        let mut out = alloc::vec![0; clash.len() + plain.len()];
        let plain_msgs: Vec<MessageInfo> = plain.iter().map(|(_, m)| m.clone()).collect();
        let moved = self.maildir.move_messages(self.fs, self.user, &src, &plain_msgs, &dst, self.now);
        self.invalidate();
        for ((i, _), uid) in plain.iter().zip(moved.map_err(map_mail)?) {
            out[*i] = uid;
        }
        self.drop_from_uidlist(&src, &plain_msgs)?;
        self.modseq_expunged(&src, &plain_msgs)?;
        if !clash.is_empty() {
            // copy_files re-maps flags itself: hand it the source letters.
            let orig = self.pick(&src, &clash.iter().map(|(_, m)| m.uid).collect::<Vec<_>>())?;
            let copied = self.copy_files(&src, &orig, &dst)?;
            for ((i, _), uid) in clash.iter().zip(copied) {
                out[*i] = uid;
            }
            for m in &orig {
                match self.maildir.expunge(self.fs, self.user, &src, m, self.now) {
                    Ok(()) | Err(MailError::Gone) => {}
                    Err(e) => return Err(map_mail(e)),
                }
            }
            self.drop_from_uidlist(&src, &orig)?;
            self.modseq_expunged(&src, &orig)?;
            self.invalidate();
        }
        self.done()?;
        self.transfers.push(Transfer { from: from.into(), to: to.into(), uids: out.clone(), moved: true });
        Ok((uv, out))
    }

    fn expunge(&mut self, name: &str, uids: &[Uid]) -> Result<(), StoreError> {
        let disk = names::to_disk(name)?;
        let msgs = self.pick(&disk, uids)?;
        for m in &msgs {
            match self.maildir.expunge(self.fs, self.user, &disk, m, self.now) {
                Ok(()) | Err(MailError::Gone) => {}
                Err(e) => {
                    self.invalidate();
                    return Err(map_mail(e));
                }
            }
        }
        self.invalidate();
        self.drop_from_uidlist(&disk, &msgs)?;
        self.modseq_expunged(&disk, &msgs)?;
        self.done()
    }

    fn claim_recent(&mut self, name: &str) -> Result<Vec<Uid>, StoreError> {
        let disk = names::to_disk(name)?;
        let from = self.modseq_log(&disk)?.recent_from();
        let l = self.listing(&disk)?;
        let idx: Vec<usize> = (0..l.len()).filter(|&i| l[i].in_new).collect();
        // Arrived in cur/ since the last claim (COPY, MOVE, APPEND with flags).
        let mut uids: Vec<Uid> =
            l.iter().filter(|m| !m.in_new && from.map_or(false, |r| m.uid >= r)).map(|m| m.uid).collect();
        if !idx.is_empty() {
            let mut msgs: Vec<MessageInfo> = idx.iter().map(|&i| l[i].clone()).collect();
            let flags: Vec<DiskFlags> = msgs.iter().map(|m| m.flags).collect();
            // new/<base> -> cur/<base>:2,<flags>, as Dovecot does on SELECT.
            self.maildir.set_flags_many(self.fs, self.user, &disk, &mut msgs, &flags, self.now).map_err(map_mail)?;
            uids.extend(msgs.iter().map(|m| m.uid));
            if let Some(l) = self.listing.as_mut() {
                for (&i, m) in idx.iter().zip(msgs) {
                    l.msgs[i] = m;
                }
                l.inos = None;
            }
        }
        // Everything below UIDNEXT is claimed now.
        let next = self.maildir.uid_state(self.fs, self.user, &disk).map_err(map_mail)?.next_uid;
        let text = self.modseq_log(&disk)?.record_recent(next);
        if !text.is_empty() {
            self.modseq_append(&disk, &text)?;
        }
        if uids.is_empty() && text.is_empty() {
            return Ok(uids);
        }
        uids.sort_unstable();
        self.done()?;
        Ok(uids)
    }

    fn peek_recent(&mut self, name: &str) -> Result<Vec<Uid>, StoreError> {
        let disk = names::to_disk(name)?;
        let from = self.modseq_log(&disk)?.recent_from();
        Ok(self
            .listing(&disk)?
            .iter()
            .filter(|m| m.in_new || from.map_or(false, |r| m.uid >= r))
            .map(|m| m.uid)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_from_names() {
        assert_eq!(vsize_from_name("1.M1P2.h,S=100,W=104"), Some(104));
        assert_eq!(vsize_from_name("1.M1P2.h,S=100"), Some(100));
        assert_eq!(vsize_from_name("1.M1P2.h"), None);
        assert_eq!(clamp_date(-5), 0);
        assert_eq!(clamp_date(1 << 40), u32::MAX);
        assert_eq!(header_end(b"A: b\r\n\r\nbody"), Some(8));
        assert_eq!(header_end(b"A: b\n\nbody"), Some(6));
        assert_eq!(header_end(b"A: b\r\nC: d\r\n"), None);
    }
}
