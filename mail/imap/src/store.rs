//! The mailbox storage the session drives. The real implementation is the
//! Maildir store in `disk/` (glued by the kernel); [`MemStore`] is an
//! in-memory one for tests and the host TCP adapter.
//!
//! One `Store` value is one user's mailboxes. Folder names are UTF-8 with
//! `/` as the hierarchy delimiter; `INBOX` is always spelled in capitals.
//! Every mutating call must be durable when it returns `Ok` (the session
//! sends its tagged OK right after).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::types::Flags;

pub type Uid = u32;

/// The hierarchy delimiter the session advertises.
pub const DELIMITER: char = '/';

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No such folder or message.
    NotFound,
    /// The folder already exists (CREATE, RENAME target).
    AlreadyExists,
    /// The operation is not allowed (deleting INBOX, ...).
    NotAllowed,
    /// Out of space or over quota: answered `NO [OVERQUOTA]`.
    OverQuota,
    /// I/O or other failure: answered `NO [SERVERBUG]`-ish.
    Failed,
}

/// RFC 3501 6.3.10 figures for one folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FolderStatus {
    pub uid_validity: u32,
    pub uid_next: Uid,
    pub messages: u32,
    pub unseen: u32,
    /// Messages with \Deleted (RFC 9051 STATUS DELETED).
    pub deleted: u32,
    /// Sum of message sizes (RFC 8438 STATUS SIZE).
    pub size: u64,
    /// RFC 7162 HIGHESTMODSEQ, 0 when the store does not track it.
    pub highest_modseq: u64,
}

/// One message as listed by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: Uid,
    pub flags: Flags,
    /// RFC822.SIZE: the size of the message with CRLF line ends (the
    /// session serves bare-LF files converted to CRLF).
    pub size: u32,
    /// INTERNALDATE, Unix seconds.
    pub internal_date: i64,
    /// RFC 7162 per-message MODSEQ (0 if unsupported).
    pub modseq: u64,
}

/// Storage operations. Synchronous: the disk is synchronous in the image.
pub trait Store {
    /// All folders (INBOX included), any order.
    fn list_folders(&mut self) -> Result<Vec<String>, StoreError>;
    fn create_folder(&mut self, name: &str) -> Result<(), StoreError>;
    fn delete_folder(&mut self, name: &str) -> Result<(), StoreError>;
    /// RFC 3501 6.3.5: renaming INBOX moves its messages to the new folder
    /// and leaves INBOX empty; the store implements that case too.
    fn rename_folder(&mut self, from: &str, to: &str) -> Result<(), StoreError>;
    fn subscriptions(&mut self) -> Result<Vec<String>, StoreError>;
    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> Result<(), StoreError>;
    fn folder_status(&mut self, name: &str) -> Result<FolderStatus, StoreError>;
    /// The messages of a folder in ascending UID order, with UIDVALIDITY.
    fn list_messages(&mut self, name: &str) -> Result<(u32, Vec<MessageMeta>), StoreError>;
    /// The message's bytes as stored.
    fn read_message(&mut self, name: &str, uid: Uid) -> Result<Vec<u8>, StoreError>;
    /// At least the message's header and the empty line that ends it (the
    /// whole message is fine too): what ENVELOPE, BODY[HEADER...] and
    /// header SEARCH keys need, without reading a large body.
    fn read_header(&mut self, name: &str, uid: Uid) -> Result<Vec<u8>, StoreError> {
        self.read_message(name, uid)
    }
    /// Replaces a message's flags.
    fn set_flags(&mut self, name: &str, uid: Uid, flags: &Flags) -> Result<(), StoreError>;
    /// Stores a new message; returns (UIDVALIDITY, UID). `date` None means
    /// "now" (the store knows the time; the session does not).
    fn append(
        &mut self,
        name: &str,
        flags: &Flags,
        date: Option<i64>,
        message: &[u8],
    ) -> Result<(u32, Uid), StoreError>;
    /// Copies messages (flags and internal date kept); returns the target
    /// UIDVALIDITY and the new UIDs in the order of `uids`.
    fn copy(&mut self, from: &str, uids: &[Uid], to: &str) -> Result<(u32, Vec<Uid>), StoreError>;
    /// Moves messages; by default copy then expunge. A store with an
    /// atomic rename should override this.
    fn move_messages(&mut self, from: &str, uids: &[Uid], to: &str) -> Result<(u32, Vec<Uid>), StoreError> {
        let r = self.copy(from, uids, to)?;
        self.expunge(from, uids)?;
        Ok(r)
    }
    /// Removes messages for good.
    fn expunge(&mut self, name: &str, uids: &[Uid]) -> Result<(), StoreError>;
    /// RFC 3501 2.3.2 \Recent: returns the UIDs that arrived since any
    /// session last claimed them (Maildir: moved from new/ to cur/). Only
    /// the claiming session sees them as \Recent.
    fn claim_recent(&mut self, _name: &str) -> Result<Vec<Uid>, StoreError> {
        Ok(Vec::new())
    }
    /// The UIDs `claim_recent` would return, without claiming them (EXAMINE
    /// must not change \Recent, RFC 3501 6.3.2).
    fn peek_recent(&mut self, _name: &str) -> Result<Vec<Uid>, StoreError> {
        Ok(Vec::new())
    }
}

struct MemMessage {
    meta: MessageMeta,
    data: Vec<u8>,
}

struct MemFolder {
    uid_validity: u32,
    uid_next: Uid,
    recent_claimed: Uid,
    modseq: u64,
    messages: Vec<MemMessage>,
}

impl MemFolder {
    /// The message with `uid`. Messages are kept in UID order (UIDs only
    /// grow and expunge keeps the order), so a binary search finds it; a
    /// linear one made `COPY 1:*` quadratic in the folder size.
    fn index(&self, uid: Uid) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.meta.uid).ok()
    }
}

/// In-memory store for tests; internal dates default to a fixed clock
/// that advances one second per append.
pub struct MemStore {
    folders: BTreeMap<String, MemFolder>,
    subscribed: Vec<String>,
    next_validity: u32,
    pub clock: i64,
    /// Refuse appends and copies beyond this many bytes in total (quota
    /// tests; also keeps a fuzzed COPY of a folder into itself from
    /// doubling it without end).
    pub quota: Option<u64>,
    /// What one message counts against `quota` at least, however small:
    /// on the image's disk each message is a file taking at least one
    /// block. Default 1 byte.
    pub min_message_cost: u64,
}

impl Default for MemStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemStore {
    pub fn new() -> Self {
        let mut s = MemStore {
            folders: BTreeMap::new(),
            subscribed: Vec::new(),
            next_validity: 1_700_000_000,
            clock: 1_700_000_000,
            quota: None,
            min_message_cost: 1,
        };
        let _ = s.create_folder("INBOX");
        s
    }
    fn folder(&mut self, name: &str) -> Result<&mut MemFolder, StoreError> {
        self.folders.get_mut(name).ok_or(StoreError::NotFound)
    }
    /// Test helper: delivers a message as the MTA would (not via IMAP).
    pub fn deliver(&mut self, folder: &str, message: &[u8]) -> Uid {
        self.append(folder, &Flags::new(), None, message).expect("deliver").1
    }
    fn cost(&self, message: &[u8]) -> u64 {
        (message.len() as u64).max(self.min_message_cost)
    }
    fn total_size(&self) -> u64 {
        self.folders.values().flat_map(|f| f.messages.iter()).map(|m| self.cost(&m.data)).sum()
    }
    /// `OverQuota` if adding `bytes` would pass the quota (APPEND and COPY).
    fn check_quota(&self, bytes: u64) -> Result<(), StoreError> {
        match self.quota {
            Some(q) if self.total_size() + bytes > q => Err(StoreError::OverQuota),
            _ => Ok(()),
        }
    }
}

fn crlf_size(m: &[u8]) -> u32 {
    crate::mime::to_crlf(m).len() as u32
}

impl Store for MemStore {
    fn list_folders(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(self.folders.keys().cloned().collect())
    }
    fn create_folder(&mut self, name: &str) -> Result<(), StoreError> {
        if self.folders.contains_key(name) {
            return Err(StoreError::AlreadyExists);
        }
        self.next_validity += 1;
        self.folders.insert(
            name.to_string(),
            MemFolder {
                uid_validity: self.next_validity,
                uid_next: 1,
                recent_claimed: 0,
                modseq: 1,
                messages: Vec::new(),
            },
        );
        Ok(())
    }
    fn delete_folder(&mut self, name: &str) -> Result<(), StoreError> {
        if name == "INBOX" {
            return Err(StoreError::NotAllowed);
        }
        self.folders.remove(name).map(|_| ()).ok_or(StoreError::NotFound)
    }
    fn rename_folder(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        if self.folders.contains_key(to) {
            return Err(StoreError::AlreadyExists);
        }
        if from == "INBOX" {
            let msgs = core::mem::take(&mut self.folder("INBOX")?.messages);
            self.create_folder(to)?;
            let f = self.folder(to)?;
            for mut m in msgs {
                m.meta.uid = f.uid_next;
                f.uid_next += 1;
                f.messages.push(m);
            }
            return Ok(());
        }
        let f = self.folders.remove(from).ok_or(StoreError::NotFound)?;
        // Children move along (RFC 3501 6.3.5).
        let prefix = alloc::format!("{}{}", from, DELIMITER);
        let kids: Vec<String> = self.folders.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
        for k in kids {
            let v = self.folders.remove(&k).unwrap();
            self.folders.insert(alloc::format!("{}{}", to, &k[from.len()..]), v);
        }
        self.folders.insert(to.to_string(), f);
        Ok(())
    }
    fn subscriptions(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(self.subscribed.clone())
    }
    fn set_subscribed(&mut self, name: &str, on: bool) -> Result<(), StoreError> {
        self.subscribed.retain(|s| s != name);
        if on {
            self.subscribed.push(name.to_string());
        }
        Ok(())
    }
    fn folder_status(&mut self, name: &str) -> Result<FolderStatus, StoreError> {
        let f = self.folder(name)?;
        use crate::types::SystemFlag::*;
        Ok(FolderStatus {
            uid_validity: f.uid_validity,
            uid_next: f.uid_next,
            messages: f.messages.len() as u32,
            unseen: f.messages.iter().filter(|m| !m.meta.flags.has(Seen)).count() as u32,
            deleted: f.messages.iter().filter(|m| m.meta.flags.has(Deleted)).count() as u32,
            size: f.messages.iter().map(|m| m.meta.size as u64).sum(),
            highest_modseq: f.modseq,
        })
    }
    fn list_messages(&mut self, name: &str) -> Result<(u32, Vec<MessageMeta>), StoreError> {
        let f = self.folder(name)?;
        Ok((f.uid_validity, f.messages.iter().map(|m| m.meta.clone()).collect()))
    }
    fn read_message(&mut self, name: &str, uid: Uid) -> Result<Vec<u8>, StoreError> {
        let f = self.folder(name)?;
        f.index(uid).map(|i| f.messages[i].data.clone()).ok_or(StoreError::NotFound)
    }
    fn set_flags(&mut self, name: &str, uid: Uid, flags: &Flags) -> Result<(), StoreError> {
        let f = self.folder(name)?;
        f.modseq += 1;
        let ms = f.modseq;
        let i = f.index(uid).ok_or(StoreError::NotFound)?;
        let m = &mut f.messages[i];
        m.meta.flags = flags.clone();
        m.meta.modseq = ms;
        Ok(())
    }
    fn append(
        &mut self,
        name: &str,
        flags: &Flags,
        date: Option<i64>,
        message: &[u8],
    ) -> Result<(u32, Uid), StoreError> {
        self.check_quota(self.cost(message))?;
        self.clock += 1;
        let now = self.clock;
        let f = self.folder(name)?;
        let uid = f.uid_next;
        f.uid_next += 1;
        f.modseq += 1;
        let meta = MessageMeta {
            uid,
            flags: flags.clone(),
            size: crlf_size(message),
            internal_date: date.unwrap_or(now),
            modseq: f.modseq,
        };
        f.messages.push(MemMessage { meta, data: message.to_vec() });
        Ok((f.uid_validity, uid))
    }
    fn copy(&mut self, from: &str, uids: &[Uid], to: &str) -> Result<(u32, Vec<Uid>), StoreError> {
        let src: Vec<(MessageMeta, Vec<u8>)> = {
            let f = self.folder(from)?;
            uids.iter()
                .filter_map(|u| f.index(*u).map(|i| &f.messages[i]))
                .map(|m| (m.meta.clone(), m.data.clone()))
                .collect()
        };
        self.check_quota(src.iter().map(|(_, d)| self.cost(d)).sum())?;
        let t = self.folder(to)?;
        let mut out = Vec::new();
        for (mut meta, data) in src {
            meta.uid = t.uid_next;
            t.uid_next += 1;
            t.modseq += 1;
            meta.modseq = t.modseq;
            out.push(meta.uid);
            t.messages.push(MemMessage { meta, data });
        }
        Ok((t.uid_validity, out))
    }
    fn expunge(&mut self, name: &str, uids: &[Uid]) -> Result<(), StoreError> {
        let f = self.folder(name)?;
        let mut gone = uids.to_vec();
        gone.sort_unstable();
        f.messages.retain(|m| gone.binary_search(&m.meta.uid).is_err());
        f.modseq += 1;
        Ok(())
    }
    fn peek_recent(&mut self, name: &str) -> Result<Vec<Uid>, StoreError> {
        let f = self.folder(name)?;
        let from = f.recent_claimed;
        Ok(f.messages.iter().map(|m| m.meta.uid).filter(|&u| u > from).collect())
    }
    fn claim_recent(&mut self, name: &str) -> Result<Vec<Uid>, StoreError> {
        let f = self.folder(name)?;
        let from = f.recent_claimed;
        f.recent_claimed = f.uid_next - 1;
        Ok(f.messages.iter().map(|m| m.meta.uid).filter(|&u| u > from).collect())
    }
}

/// A store with nothing in it, for [`crate::Session::process`] before
/// login (the session never touches the store then) and for tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStore;

impl Store for NoStore {
    fn list_folders(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    fn create_folder(&mut self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::NotAllowed)
    }
    fn delete_folder(&mut self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::NotFound)
    }
    fn rename_folder(&mut self, _: &str, _: &str) -> Result<(), StoreError> {
        Err(StoreError::NotFound)
    }
    fn subscriptions(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    fn set_subscribed(&mut self, _: &str, _: bool) -> Result<(), StoreError> {
        Err(StoreError::NotFound)
    }
    fn folder_status(&mut self, _: &str) -> Result<FolderStatus, StoreError> {
        Err(StoreError::NotFound)
    }
    fn list_messages(&mut self, _: &str) -> Result<(u32, Vec<MessageMeta>), StoreError> {
        Err(StoreError::NotFound)
    }
    fn read_message(&mut self, _: &str, _: Uid) -> Result<Vec<u8>, StoreError> {
        Err(StoreError::NotFound)
    }
    fn set_flags(&mut self, _: &str, _: Uid, _: &Flags) -> Result<(), StoreError> {
        Err(StoreError::NotFound)
    }
    fn append(&mut self, _: &str, _: &Flags, _: Option<i64>, _: &[u8]) -> Result<(u32, Uid), StoreError> {
        Err(StoreError::NotFound)
    }
    fn copy(&mut self, _: &str, _: &[Uid], _: &str) -> Result<(u32, Vec<Uid>), StoreError> {
        Err(StoreError::NotFound)
    }
    fn expunge(&mut self, _: &str, _: &[Uid]) -> Result<(), StoreError> {
        Err(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memstore_folders_uids_and_recent() {
        let mut s = MemStore::new();
        s.create_folder("A").unwrap();
        s.create_folder("A/B").unwrap();
        assert_eq!(s.create_folder("A"), Err(StoreError::AlreadyExists));
        let (v, u1) = s.append("A", &Flags::new(), Some(5), b"one\n").unwrap();
        let (_, u2) = s.append("A", &Flags::new(), None, b"two\r\n").unwrap();
        assert_eq!((u1, u2), (1, 2));
        // RFC822.SIZE is the CRLF size.
        assert_eq!(s.list_messages("A").unwrap().1[0].size, 5);
        assert_eq!(s.peek_recent("A").unwrap(), [1, 2]);
        assert_eq!(s.claim_recent("A").unwrap(), [1, 2]);
        assert!(s.claim_recent("A").unwrap().is_empty());
        s.rename_folder("A", "C").unwrap();
        let mut f = s.list_folders().unwrap();
        f.sort();
        assert_eq!(f, ["C", "C/B", "INBOX"]);
        assert_eq!(s.list_messages("C").unwrap().0, v, "UIDVALIDITY survives a rename");
        let (_, moved) = s.move_messages("C", &[2], "INBOX").unwrap();
        assert_eq!(moved, [1]);
        assert_eq!(s.list_messages("C").unwrap().1.len(), 1);
        assert_eq!(s.delete_folder("INBOX"), Err(StoreError::NotAllowed));
        assert_eq!(NoStore.list_messages("INBOX"), Err(StoreError::NotFound));
    }
}
