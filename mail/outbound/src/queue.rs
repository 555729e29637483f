//! The durable outbound queue on the mail disk.
//!
//! ```text
//! /queue/<id>.msg       the message as received (CRLF), never changed
//! /queue/<id>.env       envelope and per-recipient state (text, below)
//! /queue/<id>.*.tmp     a write in progress (never read)
//! ```
//!
//! `<id>` is `<arrival>.<seq>.<nonce>` in lower-case hex digits (`seq`
//! counts up within the queue, `nonce` comes from the caller), so names
//! stay unique across reboots without a clock or RNG in here.
//!
//! The `.env` file is the commit record: an entry exists exactly when its
//! `.env` does. [`Queue::enqueue`] writes `<id>.msg.tmp`, renames it to
//! `<id>.msg` and writes `<id>.env.tmp`, flushes, renames `.env.tmp` to
//! `<id>.env` and flushes again before returning (or the same for a batch:
//! [`Queue::stage`] each, one [`Queue::commit`]); the SMTP `250` is sent
//! only after that (DESIGN rule 4: acknowledged means durable). Every state
//! change rewrites `.env` through a temporary file and a rename, then
//! flushes, so a crash leaves the old or the new state, never a mix.
//!
//! Removal renames `<id>.env` to `<id>.gone` (flush), then deletes the
//! message and the tombstone.
//!
//! Boot repair rule ([`Queue::open`]): `*.tmp` and `*.gone` files are
//! deleted (a write or removal that never completed); a `.msg` without `.env` is deleted (its enqueue
//! never returned, so it was never acknowledged); an `.env` whose `.msg` is
//! missing, or that does not parse, is moved aside to `<id>.env.bad` (and
//! its message to `<id>.msg.bad`) and reported (this cannot happen with the write order above, so it means
//! outside damage; the file is kept for a human).
//!
//! `.env` format (one field per line, `\n`-terminated, ASCII control
//! characters in reply texts replaced by spaces):
//!
//! ```text
//! unimail-queue 1
//! sender <address or empty for the null sender>
//! arrival <unix seconds>
//! size <message bytes>
//! warned <0|1>                       a "delayed" DSN was sent
//! rcpt <state> <attempts> <time> <notified> <address> <TAB> <last reply>
//! ```
//!
//! `state` is `P` pending, `T` deferred (time = next attempt), `D`
//! delivered, `F` failed (time = when). `notified` is 1 once the failure
//! was reported in a DSN (or needs no report).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use disk::{FileSystem, FileType, FsError};

use crate::schedule::{Retry, Schedule};

/// Queue errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    Fs(FsError),
    /// Too many entries or a message over the size limit (SMTP 452/552).
    Full,
    TooBig,
    /// An address with control characters, no recipients, or too many.
    BadEnvelope,
    NoSuchEntry,
    NoSuchRecipient,
}

impl From<FsError> for QueueError {
    fn from(e: FsError) -> Self {
        QueueError::Fs(e)
    }
}

type Result<T> = core::result::Result<T, QueueError>;

/// Limits on what the queue holds (all checked before allocating).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_message: u64,
    pub max_recipients: usize,
    /// Longest address and longest stored reply text.
    pub max_address: usize,
    pub max_reply: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_entries: 10_000, max_message: 64 << 20, max_recipients: 1000, max_address: 512, max_reply: 512 }
    }
}

/// State of one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RcptState {
    /// Not tried yet.
    Pending,
    /// Temporary failure; try again at `next`.
    Deferred { attempts: u32, next: u64, reply: String },
    /// Accepted by the next hop.
    Delivered { reply: String },
    /// Permanent failure (or gave up); `notified` once a DSN reported it.
    Failed { at: u64, reply: String, notified: bool },
}

impl RcptState {
    /// Delivered or failed: no more attempts.
    pub fn is_final(&self) -> bool {
        matches!(self, RcptState::Delivered { .. } | RcptState::Failed { .. })
    }
    fn attempts(&self) -> u32 {
        match self {
            RcptState::Deferred { attempts, .. } => *attempts,
            _ => 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub state: RcptState,
}

/// One queued message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// Envelope sender; empty for the null sender `<>` (bounces).
    pub sender: String,
    pub arrival: u64,
    pub size: u64,
    /// A "delayed" DSN was already sent for this message.
    pub warned: bool,
    pub recipients: Vec<Recipient>,
}

impl Entry {
    /// Recipients due for an attempt at `now` (their indexes).
    pub fn due_recipients(&self, now: u64) -> Vec<usize> {
        let mut v = Vec::new();
        for (i, r) in self.recipients.iter().enumerate() {
            match r.state {
                RcptState::Pending => v.push(i),
                RcptState::Deferred { next, .. } if next <= now => v.push(i),
                _ => {}
            }
        }
        v
    }

    /// The due recipients grouped by destination domain (lower-cased,
    /// the part after the last `@`), in first-appearance order: one MX
    /// lookup and one delivery attempt per group.
    pub fn due_by_domain(&self, now: u64) -> Vec<(String, Vec<usize>)> {
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for i in self.due_recipients(now) {
            let a = &self.recipients[i].address;
            let d = a.rsplit_once('@').map(|(_, d)| d).unwrap_or("").to_ascii_lowercase();
            match groups.iter_mut().find(|(g, _)| *g == d) {
                Some((_, v)) => v.push(i),
                None => groups.push((d, alloc::vec![i])),
            }
        }
        groups
    }

    /// Deferred recipients to mention in a one-time "delayed" DSN
    /// (RFC 3464 Action: delayed), once the message is older than the
    /// schedule's `warn_after`; empty for bounces and once warned.
    pub fn delay_warning_due(&self, schedule: &Schedule, now: u64) -> Vec<usize> {
        if self.warned || self.sender.is_empty() || !schedule.warn_due(self.arrival, now) {
            return Vec::new();
        }
        (0..self.recipients.len()).filter(|&i| matches!(self.recipients[i].state, RcptState::Deferred { .. })).collect()
    }

    /// Earliest time this entry wants an attempt (None: nothing left).
    pub fn next_attempt(&self) -> Option<u64> {
        self.recipients
            .iter()
            .filter_map(|r| match r.state {
                RcptState::Pending => Some(0),
                RcptState::Deferred { next, .. } => Some(next),
                _ => None,
            })
            .min()
    }

    /// Failed recipients not yet reported to the sender.
    pub fn unreported_failures(&self) -> Vec<usize> {
        (0..self.recipients.len())
            .filter(|&i| matches!(self.recipients[i].state, RcptState::Failed { notified: false, .. }))
            .collect()
    }

    /// Every recipient is final and every failure reported: remove it.
    pub fn is_done(&self) -> bool {
        self.recipients
            .iter()
            .all(|r| matches!(r.state, RcptState::Delivered { .. } | RcptState::Failed { notified: true, .. }))
    }

    fn encode(&self) -> Vec<u8> {
        let mut s = String::new();
        s.push_str("unimail-queue 1\n");
        s.push_str(&format!("sender {}\n", self.sender));
        s.push_str(&format!("arrival {}\nsize {}\nwarned {}\n", self.arrival, self.size, self.warned as u8));
        for r in &self.recipients {
            let (c, att, t, n, reply) = match &r.state {
                RcptState::Pending => ('P', 0, 0, 0, ""),
                RcptState::Deferred { attempts, next, reply } => ('T', *attempts, *next, 0, reply.as_str()),
                RcptState::Delivered { reply } => ('D', 0, 0, 0, reply.as_str()),
                RcptState::Failed { at, reply, notified } => ('F', 0, *at, *notified as u8, reply.as_str()),
            };
            s.push_str(&format!("rcpt {c} {att} {t} {n} {}\t{}\n", r.address, reply));
        }
        s.into_bytes()
    }

    fn decode(id: &str, data: &[u8], limits: &Limits) -> Option<Entry> {
        let text = core::str::from_utf8(data).ok()?;
        let mut lines = text.split('\n');
        if lines.next()? != "unimail-queue 1" {
            return None;
        }
        let sender = lines.next()?.strip_prefix("sender ")?.to_string();
        if bad_address(&sender, limits) {
            return None;
        }
        let arrival = lines.next()?.strip_prefix("arrival ")?.parse().ok()?;
        let size = lines.next()?.strip_prefix("size ")?.parse().ok()?;
        let warned = match lines.next()?.strip_prefix("warned ")? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let mut recipients = Vec::new();
        for line in lines {
            if line.is_empty() {
                continue;
            }
            if recipients.len() >= limits.max_recipients {
                return None;
            }
            let rest = line.strip_prefix("rcpt ")?;
            let (head, reply) = rest.split_once('\t')?;
            let mut f = head.splitn(5, ' ');
            let c = f.next()?;
            let attempts: u32 = f.next()?.parse().ok()?;
            let t: u64 = f.next()?.parse().ok()?;
            let n = f.next()?;
            let address = f.next()?.to_string();
            if address.is_empty() || bad_address(&address, limits) {
                return None;
            }
            // As `record_results` stores it, so that it is written back the same size.
            let reply = clean(reply, limits.max_reply);
            let state = match c {
                "P" => RcptState::Pending,
                "T" => RcptState::Deferred { attempts, next: t, reply },
                "D" => RcptState::Delivered { reply },
                "F" => RcptState::Failed { at: t, reply, notified: n == "1" },
                _ => return None,
            };
            recipients.push(Recipient { address, state });
        }
        if recipients.is_empty() {
            return None;
        }
        Some(Entry { id: id.to_string(), sender, arrival, size, warned, recipients })
    }
}

/// What one delivery attempt said about one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// 2xx: accepted.
    Delivered(String),
    /// 4xx or no connection: try again later.
    TempFail(String),
    /// 5xx (or null MX, no such domain): fail now.
    PermFail(String),
}

/// What the boot scan found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub entries: usize,
    /// Temporary files removed.
    pub removed_tmp: usize,
    /// Messages without state file removed (never acknowledged).
    pub removed_unacknowledged: usize,
    /// Damaged entries moved aside to `<id>.env.bad` (ids).
    pub damaged: Vec<String>,
}

/// The queue: its directory and an in-memory index of every entry.
#[derive(Debug)]
pub struct Queue {
    dir: String,
    limits: Limits,
    seq: u64,
    /// Staged, not yet committed (they count against `max_entries`).
    staged: usize,
    entries: BTreeMap<String, Entry>,
}

/// A message written by [`Queue::stage`], waiting for [`Queue::commit`].
#[derive(Debug)]
#[must_use = "a staged message is only queued after Queue::commit"]
pub struct Staged {
    entry: Entry,
}

impl Staged {
    pub fn id(&self) -> &str {
        &self.entry.id
    }
}

/// An address the queue will not store: too long, or with characters
/// that would break the `.env` line format. Checked at enqueue and again
/// when an entry is read back, so that whatever is loaded also fits
/// [`env_cap`] once it is written again.
fn bad_address(a: &str, limits: &Limits) -> bool {
    a.len() > limits.max_address || a.chars().any(|c| c.is_control() || c == ' ' || c == '<' || c == '>')
}

/// The most an `.env` file of an entry within `limits` can hold: the
/// header lines with the sender, then per recipient its state, numbers
/// (at most 44 bytes), address and cleaned reply.
fn env_cap(limits: &Limits) -> usize {
    128 + limits.max_address + limits.max_recipients * (limits.max_address + limits.max_reply + 64)
}

fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

fn valid_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty() && p.len() <= 16 && p.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
}

impl Queue {
    /// Mounts the queue under `dir` (created if missing), repairs half
    /// written entries (see the module doc for the rule) and loads the
    /// index. Call once at boot, before accepting mail.
    pub fn open<F: FileSystem + ?Sized>(
        fs: &mut F,
        dir: &str,
        limits: Limits,
        now: u64,
    ) -> Result<(Queue, ScanReport)> {
        let dir = dir.trim_end_matches('/').to_string();
        match fs.mkdir(&dir, now as u32) {
            Ok(_) | Err(FsError::Exists) => {}
            Err(e) => return Err(e.into()),
        }
        let mut names: Vec<String> = Vec::new();
        let mut too_many = false;
        fs.read_dir(&dir, &mut |e| {
            if e.kind == FileType::File {
                if let Ok(n) = core::str::from_utf8(e.name) {
                    // Two files per entry plus a few strays.
                    if names.len() >= limits.max_entries * 2 + 64 {
                        too_many = true;
                        return false;
                    }
                    names.push(n.to_string());
                }
            }
            true
        })?;
        let mut report = ScanReport::default();
        let mut q = Queue { dir, limits, seq: 0, staged: 0, entries: BTreeMap::new() };
        let mut msgs = alloc::collections::BTreeSet::new();
        let mut envs = Vec::new();
        let mut gone = Vec::new();
        for n in &names {
            if n.ends_with(".tmp") {
                fs.unlink(&q.path(n), now as u32)?;
                report.removed_tmp += 1;
            } else if let Some(id) = n.strip_suffix(".msg") {
                msgs.insert(id.to_string());
            } else if let Some(id) = n.strip_suffix(".env") {
                envs.push(id.to_string());
            } else if let Some(id) = n.strip_suffix(".gone") {
                gone.push(id.to_string());
            }
        }
        let mut dirty = report.removed_tmp > 0;
        // A removal cut short: its message goes too (below), then the tombstone.
        for id in &gone {
            fs.unlink(&q.path(&format!("{id}.gone")), now as u32)?;
            report.removed_tmp += 1;
            dirty = true;
        }
        for id in envs {
            let parsed = if valid_id(&id) && msgs.contains(&id) && q.entries.len() < limits.max_entries {
                fs.read_file(&q.path(&format!("{id}.env")), env_cap(&limits))
                    .ok()
                    .and_then(|d| Entry::decode(&id, &d, &limits))
            } else {
                None
            };
            match parsed {
                Some(e) => {
                    if let Some(seq) = id.split('.').nth(1).and_then(|s| u64::from_str_radix(s, 16).ok()) {
                        q.seq = q.seq.max(seq + 1);
                    }
                    msgs.remove(&id);
                    q.entries.insert(id, e);
                }
                None => {
                    let p = q.path(&format!("{id}.env"));
                    fs.rename(&p, &format!("{p}.bad"), now as u32)?;
                    if msgs.remove(&id) {
                        let m = q.path(&format!("{id}.msg"));
                        fs.rename(&m, &format!("{m}.bad"), now as u32)?;
                    }
                    report.damaged.push(id);
                    dirty = true;
                }
            }
        }
        // RFC-free rule of our own: no state file means the enqueue never
        // returned, so nobody was told "250"; the sender still has it.
        for id in msgs {
            fs.unlink(&q.path(&format!("{id}.msg")), now as u32)?;
            report.removed_unacknowledged += 1;
            dirty = true;
        }
        if dirty {
            fs.flush()?;
        }
        if too_many {
            report.damaged.push("(directory listing truncated at the entry limit)".to_string());
        }
        report.entries = q.entries.len();
        Ok((q, report))
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{}", self.dir, name)
    }

    /// Path of an entry's message file (stream it with `read_at`).
    pub fn message_path(&self, id: &str) -> String {
        self.path(&format!("{id}.msg"))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Stores a message durably and returns its id. Only after this
    /// returns may the SMTP server answer `250`. `nonce` is any random
    /// value from the caller (keeps ids unique if the clock goes back).
    /// For several messages at once use [`Queue::stage`] and
    /// [`Queue::commit`] (two flushes for the whole batch).
    pub fn enqueue<F: FileSystem + ?Sized>(
        &mut self,
        fs: &mut F,
        sender: &str,
        recipients: &[&str],
        message: &[u8],
        now: u64,
        nonce: u32,
    ) -> Result<String> {
        let st = self.stage(fs, sender, recipients, message, now, nonce)?;
        let mut ids = self.commit(fs, alloc::vec![st], now)?;
        Ok(ids.pop().unwrap_or_default())
    }

    /// Group commit, step 1: writes `<id>.msg` and `<id>.env.tmp` without
    /// flushing. Nothing is acknowledged yet (a crash now loses the staged
    /// message, which the client still holds).
    pub fn stage<F: FileSystem + ?Sized>(
        &mut self,
        fs: &mut F,
        sender: &str,
        recipients: &[&str],
        message: &[u8],
        now: u64,
        nonce: u32,
    ) -> Result<Staged> {
        if self.entries.len() + self.staged >= self.limits.max_entries {
            return Err(QueueError::Full);
        }
        if message.len() as u64 > self.limits.max_message {
            return Err(QueueError::TooBig);
        }
        let bad = |a: &str| bad_address(a, &self.limits);
        if recipients.is_empty()
            || recipients.len() > self.limits.max_recipients
            || bad(sender)
            || recipients.iter().any(|r| r.is_empty() || bad(r))
        {
            return Err(QueueError::BadEnvelope);
        }
        let id = format!("{:x}.{:x}.{:x}", now, self.seq, nonce);
        self.seq += 1;
        let t = now as u32;
        let msg = self.path(&format!("{id}.msg"));
        fs.replace_file(&msg, &format!("{msg}.tmp"), message, t)?;
        let entry = Entry {
            id: id.clone(),
            sender: sender.to_string(),
            arrival: now,
            size: message.len() as u64,
            warned: false,
            recipients: recipients
                .iter()
                .map(|r| Recipient { address: r.to_string(), state: RcptState::Pending })
                .collect(),
        };
        let tmp = self.path(&format!("{id}.env.tmp"));
        match fs.unlink(&tmp, t) {
            Ok(()) | Err(FsError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let r = fs.create(&tmp, t).and_then(|ino| fs.write_at(ino, 0, &entry.encode(), t));
        if let Err(e) = r {
            let _ = fs.unlink(&msg, t);
            let _ = fs.unlink(&tmp, t);
            return Err(e.into());
        }
        self.staged += 1;
        Ok(Staged { entry })
    }

    /// Group commit, step 2: one flush puts every staged message on disk,
    /// the renames `<id>.env.tmp` -> `<id>.env` make them entries, and a
    /// second flush makes that durable. On success every id may be
    /// acknowledged; on error none may (the boot scan removes the rest).
    pub fn commit<F: FileSystem + ?Sized>(&mut self, fs: &mut F, staged: Vec<Staged>, now: u64) -> Result<Vec<String>> {
        self.staged = self.staged.saturating_sub(staged.len());
        // The messages must be on disk before the records that name them.
        fs.flush()?;
        for s in &staged {
            let env = self.path(&format!("{}.env", s.entry.id));
            fs.rename(&format!("{env}.tmp"), &env, now as u32)?;
        }
        fs.flush()?;
        let mut ids = Vec::with_capacity(staged.len());
        for s in staged {
            ids.push(s.entry.id.clone());
            self.entries.insert(s.entry.id.clone(), s.entry);
        }
        Ok(ids)
    }

    fn write_env<F: FileSystem + ?Sized>(&self, fs: &mut F, e: &Entry, now: u64) -> Result<()> {
        let env = self.path(&format!("{}.env", e.id));
        fs.replace_file(&env, &format!("{env}.tmp"), &e.encode(), now as u32)?;
        fs.flush()?;
        Ok(())
    }

    /// Entries with a recipient due at `now`, oldest first.
    pub fn due(&self, now: u64) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.values().filter(|e| e.next_attempt().is_some_and(|t| t <= now)).collect();
        v.sort_by_key(|e| (e.arrival, e.id.clone()));
        v
    }

    /// The earliest time any entry wants an attempt (for the kernel's timer).
    pub fn next_wakeup(&self) -> Option<u64> {
        self.entries.values().filter_map(Entry::next_attempt).min()
    }

    /// Records one recipient's result durably (see [`Queue::record_results`]).
    pub fn record_result<F: FileSystem + ?Sized>(
        &mut self,
        fs: &mut F,
        id: &str,
        rcpt: usize,
        result: AttemptResult,
        now: u64,
        schedule: &Schedule,
    ) -> Result<&Entry> {
        self.record_results(fs, id, &[(rcpt, result)], now, schedule)
    }

    /// Records the results of one attempt (one flush for all of them). A
    /// temporary failure is deferred by `schedule`, or becomes a permanent
    /// failure once the message is older than its give-up time. Failures
    /// of a bounce (null sender) are marked reported: no DSN is ever sent
    /// to `<>` (RFC 5321 6.1, RFC 3464 2).
    pub fn record_results<F: FileSystem + ?Sized>(
        &mut self,
        fs: &mut F,
        id: &str,
        results: &[(usize, AttemptResult)],
        now: u64,
        schedule: &Schedule,
    ) -> Result<&Entry> {
        let max_reply = self.limits.max_reply;
        let mut e = self.entries.get(id).ok_or(QueueError::NoSuchEntry)?.clone();
        let null_sender = e.sender.is_empty();
        for (i, res) in results {
            let r = e.recipients.get_mut(*i).ok_or(QueueError::NoSuchRecipient)?;
            if r.state.is_final() {
                continue;
            }
            r.state = match res {
                AttemptResult::Delivered(t) => RcptState::Delivered { reply: clean(t, max_reply) },
                AttemptResult::PermFail(t) => {
                    RcptState::Failed { at: now, reply: clean(t, max_reply), notified: null_sender }
                }
                AttemptResult::TempFail(t) => {
                    let attempts = r.state.attempts().saturating_add(1);
                    match schedule.after_tempfail(e.arrival, attempts, now) {
                        Retry::At(next) => RcptState::Deferred { attempts, next, reply: clean(t, max_reply) },
                        // RFC 3463 4.4.7: delivery time expired; keep the last reply.
                        Retry::GiveUp => RcptState::Failed {
                            at: now,
                            reply: clean(&format!("retry time expired; last error: {t}"), max_reply),
                            notified: null_sender,
                        },
                    }
                }
            };
        }
        self.write_env(fs, &e, now)?;
        self.entries.insert(id.to_string(), e);
        Ok(&self.entries[id])
    }

    /// Marks failures as reported (after the DSN was itself enqueued) and
    /// optionally the "delayed" warning as sent.
    pub fn mark_notified<F: FileSystem + ?Sized>(
        &mut self,
        fs: &mut F,
        id: &str,
        rcpts: &[usize],
        warned: bool,
        now: u64,
    ) -> Result<&Entry> {
        let mut e = self.entries.get(id).ok_or(QueueError::NoSuchEntry)?.clone();
        for &i in rcpts {
            if let Some(RcptState::Failed { notified, .. }) = e.recipients.get_mut(i).map(|r| &mut r.state) {
                *notified = true;
            }
        }
        e.warned |= warned;
        self.write_env(fs, &e, now)?;
        self.entries.insert(id.to_string(), e);
        Ok(&self.entries[id])
    }

    /// Removes an entry whose recipients are all final and reported
    /// (`force` removes it regardless, e.g. an administrator's delete).
    /// The state file is first renamed to `<id>.gone` (the tombstone),
    /// flushed, then the message and the tombstone are deleted; the boot
    /// scan finishes a removal it finds a tombstone for.
    pub fn remove<F: FileSystem + ?Sized>(&mut self, fs: &mut F, id: &str, force: bool, now: u64) -> Result<bool> {
        let e = self.entries.get(id).ok_or(QueueError::NoSuchEntry)?;
        if !force && !e.is_done() {
            return Ok(false);
        }
        // A rename frees no inode, so a crash leaves either name intact;
        // an interrupted unlink of `.env` itself could leave its name on a
        // freed (empty) inode, which the crash-replay test caught.
        let env = self.path(&format!("{id}.env"));
        let gone = self.path(&format!("{id}.gone"));
        fs.rename(&env, &gone, now as u32)?;
        fs.flush()?;
        self.entries.remove(id);
        fs.unlink(&self.path(&format!("{id}.msg")), now as u32)?;
        fs.flush()?;
        fs.unlink(&gone, now as u32)?;
        fs.flush()?;
        Ok(true)
    }

    /// The message's header block (up to the empty line, at most `limit`
    /// bytes, cut at a line end), for the DSN's text/rfc822-headers part.
    pub fn read_headers<F: FileSystem + ?Sized>(&self, fs: &mut F, id: &str, limit: usize) -> Result<Vec<u8>> {
        let ino = fs.lookup(&self.message_path(id))?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(limit).map_err(|_| QueueError::TooBig)?;
        buf.resize(limit, 0);
        let n = fs.read_at(ino, 0, &mut buf)?;
        buf.truncate(n);
        Ok(crate::dsn::header_block(&buf).to_vec())
    }

    /// The whole message (at most the queue's message limit).
    pub fn read_message<F: FileSystem + ?Sized>(&self, fs: &mut F, id: &str) -> Result<Vec<u8>> {
        Ok(fs.read_file(&self.message_path(id), self.limits.max_message as usize)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use disk::{format as mkfs, Ext2, FormatOptions, RamDevice};

    const T0: u64 = 1_800_000_000;
    const MSG: &[u8] = b"From: a@ex.test\r\nTo: b@far.test\r\nSubject: hi\r\n\r\nbody\r\n";

    fn fresh() -> Ext2<RamDevice> {
        let mut dev = RamDevice::new(16 * 2048);
        mkfs(&mut dev, &FormatOptions::default()).unwrap();
        Ext2::mount(dev).unwrap()
    }
    /// Unmount and mount again: only what reached the device survives.
    fn remount(fs: Ext2<RamDevice>) -> Ext2<RamDevice> {
        Ext2::mount(fs.unmount().unwrap()).unwrap()
    }
    /// What survives a power cut right now: the device as last flushed.
    fn crash(fs: &mut Ext2<RamDevice>) -> Ext2<RamDevice> {
        let img = fs.device().as_bytes().to_vec();
        Ext2::mount(RamDevice::from_vec(img)).unwrap()
    }
    fn files(fs: &mut Ext2<RamDevice>) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        fs.read_dir("/queue", &mut |e: disk::DirEntry<'_>| {
            v.push(String::from_utf8_lossy(e.name).into_owned());
            true
        })
        .unwrap();
        v.sort();
        v
    }

    #[test]
    fn enqueue_survives_crash_and_remount() {
        let mut fs = fresh();
        let (mut q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert_eq!(rep, ScanReport::default());
        let id = q.enqueue(&mut fs, "a@ex.test", &["b@far.test", "c@other.test"], MSG, T0, 0xabc).unwrap();
        // Acknowledged means durable: a crash right after enqueue keeps it.
        let mut after = crash(&mut fs);
        let (q2, rep) = Queue::open(&mut after, "/queue", Limits::default(), T0 + 1).unwrap();
        assert_eq!(rep.entries, 1);
        assert_eq!(q2.get(&id), q.get(&id));
        assert_eq!(q2.read_message(&mut after, &id).unwrap(), MSG);
        assert_eq!(q2.read_headers(&mut after, &id, 4096).unwrap(), &MSG[..MSG.len() - 8]);
        let mut fs = remount(fs);
        let (mut q3, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0 + 1).unwrap();
        assert_eq!(q3.due(T0 + 1).len(), 1);
        // Ids keep increasing after a remount.
        let id2 = q3.enqueue(&mut fs, "", &["x@y.test"], MSG, T0, 0xabc).unwrap();
        assert_ne!(id, id2);
        assert_eq!(files(&mut fs).len(), 4);
    }

    #[test]
    fn per_recipient_results_and_backoff() {
        let s = Schedule::default();
        let mut fs = fresh();
        let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        let id =
            q.enqueue(&mut fs, "a@ex.test", &["ok@far.test", "bad@far.test", "later@far.test"], MSG, T0, 1).unwrap();
        let e = q
            .record_results(
                &mut fs,
                &id,
                &[
                    (0, AttemptResult::Delivered("250 2.0.0 ok".into())),
                    (1, AttemptResult::PermFail("550 5.1.1 no such\r\nuser".into())),
                    (2, AttemptResult::TempFail("451 4.7.1 greylisted".into())),
                ],
                T0,
                &s,
            )
            .unwrap()
            .clone();
        assert_eq!(e.recipients[0].state, RcptState::Delivered { reply: "250 2.0.0 ok".into() });
        assert_eq!(
            e.recipients[1].state,
            RcptState::Failed { at: T0, reply: "550 5.1.1 no such  user".into(), notified: false }
        );
        assert_eq!(
            e.recipients[2].state,
            RcptState::Deferred { attempts: 1, next: T0 + 300, reply: "451 4.7.1 greylisted".into() }
        );
        assert_eq!(e.unreported_failures(), [1]);
        assert!(q.due(T0 + 299).is_empty());
        assert_eq!(q.due(T0 + 300)[0].due_recipients(T0 + 300), [2]);
        assert_eq!(q.next_wakeup(), Some(T0 + 300));
        // Retries double: 300, 600, 1200 ...
        let mut now = T0 + 300;
        for (n, delay) in [(2u32, 600u64), (3, 1200), (4, 2400)] {
            let e = q.record_result(&mut fs, &id, 2, AttemptResult::TempFail("421 busy".into()), now, &s).unwrap();
            assert_eq!(
                e.recipients[2].state,
                RcptState::Deferred { attempts: n, next: now + delay, reply: "421 busy".into() }
            );
            now += delay;
        }
        // Final results are not overwritten.
        q.record_result(&mut fs, &id, 0, AttemptResult::PermFail("550 x".into()), now, &s).unwrap();
        assert!(matches!(q.get(&id).unwrap().recipients[0].state, RcptState::Delivered { .. }));
        assert_eq!(
            q.record_result(&mut fs, &id, 9, AttemptResult::PermFail("550".into()), now, &s).unwrap_err(),
            QueueError::NoSuchRecipient
        );
        // State survives remount.
        let before = q.get(&id).unwrap().clone();
        let mut fs = remount(fs);
        let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), now).unwrap();
        assert_eq!(q.get(&id).unwrap(), &before);
        // Give up after five days.
        let late = T0 + 5 * 86400;
        let e = q.record_result(&mut fs, &id, 2, AttemptResult::TempFail("451 still".into()), late, &s).unwrap();
        match &e.recipients[2].state {
            RcptState::Failed { reply, notified: false, .. } => {
                assert!(reply.contains("expired") && reply.contains("451 still"))
            }
            other => panic!("{other:?}"),
        }
        assert!(!e.is_done());
        assert!(!q.remove(&mut fs, &id, false, late).unwrap());
        q.mark_notified(&mut fs, &id, &[1, 2], false, late).unwrap();
        assert!(q.get(&id).unwrap().is_done());
        assert!(q.remove(&mut fs, &id, false, late).unwrap());
        assert!(files(&mut fs).is_empty());
        let mut fs = remount(fs);
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), late).unwrap();
        assert!(q.is_empty());
        assert_eq!(rep.entries, 0);
    }

    #[test]
    fn grouping_and_delay_warnings() {
        let s = Schedule::default();
        let mut fs = fresh();
        let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        let id =
            q.enqueue(&mut fs, "a@ex.test", &["x@A.test", "y@b.test", "z@a.TEST", "w@c.test"], MSG, T0, 1).unwrap();
        let g = q.get(&id).unwrap().due_by_domain(T0);
        assert_eq!(g, vec![("a.test".into(), vec![0, 2]), ("b.test".into(), vec![1]), ("c.test".into(), vec![3])]);
        q.record_result(&mut fs, &id, 1, AttemptResult::TempFail("451 later".into()), T0, &s).unwrap();
        q.record_result(&mut fs, &id, 3, AttemptResult::Delivered("250 ok".into()), T0, &s).unwrap();
        let e = q.get(&id).unwrap();
        assert_eq!(e.due_by_domain(T0 + 1), vec![("a.test".into(), vec![0, 2])]);
        assert!(e.delay_warning_due(&s, T0 + 3600).is_empty());
        assert_eq!(e.delay_warning_due(&s, T0 + 4 * 3600), [1]);
        q.mark_notified(&mut fs, &id, &[], true, T0 + 4 * 3600).unwrap();
        assert!(q.get(&id).unwrap().delay_warning_due(&s, T0 + 5 * 3600).is_empty());
        let mut fs = remount(fs);
        let (q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert!(q.get(&id).unwrap().warned);
    }

    #[test]
    fn group_commit_two_flush_calls_per_batch() {
        let mut fs = fresh();
        let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        let before = fs.device().flushes;
        let staged: Vec<Staged> =
            (0..5).map(|i| q.stage(&mut fs, "a@ex.test", &["b@far.test"], MSG, T0 + i, i as u32).unwrap()).collect();
        assert_eq!(fs.device().flushes, before, "staging must not flush");
        let ids = q.commit(&mut fs, staged, T0).unwrap();
        let per_fs_flush = {
            let b = fs.device().flushes;
            fs.write_file("/x", b"y", 0).unwrap();
            fs.flush().unwrap();
            fs.device().flushes - b
        };
        assert!(fs.device().flushes - before <= 3 * per_fs_flush);
        assert_eq!(ids.len(), 5);
        let mut fs = remount(fs);
        let (q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert_eq!(q.len(), 5);
        // Staged but never committed: gone after a crash, nothing acknowledged.
        let mut fs2 = fresh();
        let (mut q2, _) = Queue::open(&mut fs2, "/queue", Limits::default(), T0).unwrap();
        let st = q2.stage(&mut fs2, "a@ex.test", &["b@far.test"], MSG, T0, 1).unwrap();
        assert!(!st.id().is_empty());
        fs2.flush().unwrap();
        let mut fs2 = remount(fs2);
        let (q2, rep) = Queue::open(&mut fs2, "/queue", Limits::default(), T0).unwrap();
        assert!(q2.is_empty());
        assert_eq!((rep.removed_tmp, rep.removed_unacknowledged), (1, 1));
        assert!(files(&mut fs2).is_empty());
    }

    #[test]
    fn null_sender_failures_need_no_dsn() {
        let s = Schedule::default();
        let mut fs = fresh();
        let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        let id = q.enqueue(&mut fs, "", &["a@b.test"], MSG, T0, 1).unwrap();
        let e = q.record_result(&mut fs, &id, 0, AttemptResult::PermFail("550 no".into()), T0, &s).unwrap();
        assert!(e.is_done());
        assert!(e.unreported_failures().is_empty());
    }

    #[test]
    fn boot_scan_repairs_half_written_entries() {
        let mut fs = fresh();
        let (mut q, _) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        let good = q.enqueue(&mut fs, "a@ex.test", &["b@far.test"], MSG, T0, 1).unwrap();
        // A crash between the message flush and the state file: never acknowledged.
        fs.write_file("/queue/6b49d200.5.1.msg", MSG, T0 as u32).unwrap();
        fs.write_file("/queue/6b49d200.6.1.msg.tmp", b"partial", T0 as u32).unwrap();
        fs.write_file("/queue/6b49d200.6.1.env.tmp", b"unimail", T0 as u32).unwrap();
        // Outside damage: a state file without message, and a garbled one.
        fs.write_file("/queue/6b49d200.7.1.env", b"unimail-queue 1\n", T0 as u32).unwrap();
        fs.write_file("/queue/6b49d200.8.1.msg", MSG, T0 as u32).unwrap();
        fs.write_file("/queue/6b49d200.8.1.env", b"garbage", T0 as u32).unwrap();
        fs.flush().unwrap();
        let mut fs = remount(fs);
        let (q, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert_eq!(rep.entries, 1);
        assert_eq!(rep.removed_tmp, 2);
        assert_eq!(rep.removed_unacknowledged, 1); // .5
        assert_eq!(rep.damaged, ["6b49d200.7.1", "6b49d200.8.1"]);
        assert!(q.get(&good).is_some());
        let mut expect = vec![
            format!("{good}.env"),
            format!("{good}.msg"),
            "6b49d200.7.1.env.bad".into(),
            "6b49d200.8.1.env.bad".into(),
            "6b49d200.8.1.msg.bad".into(),
        ];
        expect.sort();
        assert_eq!(files(&mut fs), expect);
        // A second scan finds nothing more to do.
        let (_, rep) = Queue::open(&mut fs, "/queue", Limits::default(), T0).unwrap();
        assert_eq!(rep, ScanReport { entries: 1, ..Default::default() });
    }

    #[test]
    fn limits_and_bad_envelopes() {
        let mut fs = fresh();
        let lim = Limits { max_entries: 1, max_message: 100, max_recipients: 2, ..Default::default() };
        let (mut q, _) = Queue::open(&mut fs, "/queue", lim, T0).unwrap();
        assert_eq!(q.enqueue(&mut fs, "a@b", &[], MSG, T0, 1), Err(QueueError::BadEnvelope));
        assert_eq!(q.enqueue(&mut fs, "a@b", &["x", "y", "z"], MSG, T0, 1), Err(QueueError::BadEnvelope));
        assert_eq!(q.enqueue(&mut fs, "a@b\r\nrcpt", &["x"], MSG, T0, 1), Err(QueueError::BadEnvelope));
        assert_eq!(q.enqueue(&mut fs, "a@b", &["x y"], MSG, T0, 1), Err(QueueError::BadEnvelope));
        assert_eq!(q.enqueue(&mut fs, "a@b", &["x"], &[b'x'; 101], T0, 1), Err(QueueError::TooBig));
        q.enqueue(&mut fs, "a@b", &["x"], MSG, T0, 1).unwrap();
        assert_eq!(q.enqueue(&mut fs, "a@b", &["x"], MSG, T0, 1), Err(QueueError::Full));
        assert!(files(&mut fs).len() == 2);
    }

    #[test]
    fn env_roundtrip_with_utf8_and_tabs() {
        let e = Entry {
            id: "1.2.3".into(),
            sender: "ü@例え.jp".into(),
            arrival: 7,
            size: 9,
            warned: true,
            recipients: vec![
                Recipient { address: "a@b".into(), state: RcptState::Pending },
                Recipient {
                    address: "c@d".into(),
                    state: RcptState::Deferred { attempts: 3, next: 99, reply: "451 a\tb".replace('\t', " ") },
                },
                Recipient {
                    address: "e@f".into(),
                    state: RcptState::Failed { at: 5, reply: String::new(), notified: true },
                },
                Recipient { address: "g@h".into(), state: RcptState::Delivered { reply: "250 ok".into() } },
            ],
        };
        assert_eq!(Entry::decode("1.2.3", &e.encode(), &Limits::default()), Some(e));
        assert!(valid_id("6b49d200.0.abc"));
        assert!(!valid_id("6b49d200.0"));
        assert!(!valid_id("../x.0.1"));
        assert!(!valid_id("A.0.1"));
    }
}
