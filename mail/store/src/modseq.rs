//! RFC 7162 (CONDSTORE) mod-sequences for a Maildir folder. Dovecot keeps
//! them in its index; we keep our own per-folder log, `unimail-modseq`,
//! that Dovecot ignores:
//!
//! ```text
//! H 41              highest mod-sequence when the file was last compacted
//! 7 42 :FS          UID 7 got MODSEQ 42 with the flag letters `FS`
//! X 43              an expunge (RFC 7162 3.1.1: HIGHESTMODSEQ grows)
//! R 9               UIDs below 9 were claimed as \Recent by some session
//! ```
//!
//! The `R` line extends RFC 3501 2.3.2 \Recent beyond `new/`: a message
//! that arrives in `cur/` (COPY, MOVE, APPEND with flags) is recent for
//! the first session that sees it, as in Dovecot. Without an `R` line
//! (a folder never claimed since) only `new/` counts.
//!
//! Records are appended and flushed together with the change they describe
//! (the same flush as the rename, before the tagged OK), so an acknowledged
//! increase is never lost. The record carries the flag letters it was
//! made for: a message whose file name letters differ from its newest
//! record (the rename reached the disk but the record did not, or another
//! program changed the flags), or that has no record at all (SMTP delivery,
//! COPY, APPEND, a host-side `cp`), counts as changed *now*: it gets
//! `highest + 1`, which is recorded (and flushed) before any response shows
//! it. After a power cut the same rule gives such a message a value above
//! everything any client was told, never a lower one.
//!
//! Lines are only trusted when terminated by `\n` (a torn append is
//! skipped; the next append starts on a fresh line). The log is rewritten
//! (compacted: one line per live message) when it holds far more lines
//! than messages.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The per-folder file, beside `dovecot-uidlist`.
pub const MODSEQ_FILE: &str = "unimail-modseq";

/// One folder's mod-sequence log as read from disk (plus what this call
/// appended).
#[derive(Debug, Default, Clone)]
pub struct ModseqLog {
    /// The highest mod-sequence recorded (0: nothing yet).
    highest: u64,
    /// UID -> (MODSEQ, flag letters of that change).
    recs: BTreeMap<u32, (u64, String)>,
    /// Records in the file (compaction trigger).
    lines: usize,
    /// The file ends with `\n` (or is empty): an append needs no separator.
    clean_end: bool,
    /// UIDs from here on are unclaimed (\Recent); `None`: only `new/`.
    recent_from: Option<u32>,
}

/// The flag letters of a Maildir file name (after `:2,`; none in `new/`).
pub fn letters(name: &str) -> &str {
    name.find(":2,").map_or("", |i| &name[i + 3..])
}

fn valid_letters(s: &str) -> bool {
    s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

impl ModseqLog {
    pub fn parse(raw: &[u8]) -> Self {
        let mut log = ModseqLog { clean_end: raw.last().map_or(true, |&b| b == b'\n'), ..Default::default() };
        let mut parts: Vec<&[u8]> = raw.split(|&b| b == b'\n').collect();
        // The last piece is empty when the file ends with `\n`; otherwise it
        // is a torn append: skipped.
        parts.pop();
        for line in parts {
            let Ok(l) = core::str::from_utf8(line) else { continue };
            let mut w = l.split(' ');
            match (w.next(), w.next(), w.next(), w.next()) {
                (Some("H" | "X"), Some(n), None, None) => {
                    if let Ok(n) = n.parse::<u64>() {
                        log.highest = log.highest.max(n);
                        log.lines += 1;
                    }
                }
                (Some("R"), Some(n), None, None) => {
                    if let Ok(n) = n.parse::<u32>() {
                        log.recent_from = Some(log.recent_from.map_or(n, |r| r.max(n)));
                        log.lines += 1;
                    }
                }
                (Some(uid), Some(ms), Some(l), None) => {
                    let (Ok(uid), Ok(ms), Some(l)) = (uid.parse::<u32>(), ms.parse::<u64>(), l.strip_prefix(':'))
                    else {
                        continue;
                    };
                    if !valid_letters(l) {
                        continue;
                    }
                    log.highest = log.highest.max(ms);
                    log.lines += 1;
                    // Appended in order: the later line is the newer state.
                    log.recs.insert(uid, (ms, String::from(l)));
                }
                _ => {}
            }
        }
        log
    }

    /// HIGHESTMODSEQ (RFC 7162 3.1.1): at least 1 for an existing folder.
    pub fn highest(&self) -> u64 {
        self.highest.max(1)
    }

    /// MODSEQs for the listed `(uid, flag letters)`: the recorded value
    /// when the letters match their newest record; otherwise the message
    /// changed unrecorded and its index is returned in the second list, to
    /// be recorded with [`Self::record_changed`].
    pub fn resolve(&self, msgs: &[(u32, &str)]) -> (Vec<u64>, Vec<usize>) {
        let mut out = Vec::with_capacity(msgs.len());
        let mut changed = Vec::new();
        for (i, &(uid, l)) in msgs.iter().enumerate() {
            match self.recs.get(&uid) {
                Some((ms, rl)) if rl == l => out.push(*ms),
                _ => {
                    changed.push(i);
                    out.push(self.highest + 1);
                }
            }
        }
        (out, changed)
    }

    /// Records a change of each `(uid, letters)` at one new MODSEQ
    /// (RFC 7162 3.1: values only grow); returns it and the text to append.
    pub fn record_changed(&mut self, msgs: &[(u32, &str)]) -> (u64, String) {
        let ms = self.highest + 1;
        self.highest = ms;
        let mut text = self.separator();
        for &(uid, l) in msgs {
            let l = if valid_letters(l) { l } else { "" };
            text.push_str(&format!("{uid} {ms} :{l}\n"));
            self.recs.insert(uid, (ms, String::from(l)));
            self.lines += 1;
        }
        (ms, text)
    }

    /// Records expunges (HIGHESTMODSEQ grows, RFC 7162 3.1.1 / 3.2.10);
    /// returns the text to append.
    pub fn record_expunge(&mut self, uids: &[u32]) -> String {
        self.highest += 1;
        for u in uids {
            self.recs.remove(u);
        }
        self.lines += 1;
        let mut text = self.separator();
        text.push_str(&format!("X {}\n", self.highest));
        text
    }

    /// The first UID no session has claimed as \Recent (`None`: only the
    /// files in `new/` are unclaimed).
    pub fn recent_from(&self) -> Option<u32> {
        self.recent_from
    }

    /// Records that every UID below `next` has been claimed; returns the
    /// text to append (empty if nothing changes).
    pub fn record_recent(&mut self, next: u32) -> String {
        if self.recent_from.map_or(false, |r| r >= next) {
            return String::new();
        }
        self.recent_from = Some(next);
        self.lines += 1;
        let mut text = self.separator();
        text.push_str(&format!("R {next}\n"));
        text
    }

    fn separator(&mut self) -> String {
        let s = if self.clean_end { String::new() } else { String::from("\n") };
        self.clean_end = true;
        s
    }

    /// Whether the file has grown well past one line per live message.
    pub fn wants_compaction(&self, live: usize) -> bool {
        self.lines > 2 * live + 1024
    }

    /// The compacted file: the high-water mark, then the live messages.
    pub fn render(&mut self, live: &[u32]) -> String {
        let mut s = format!("H {}\n", self.highest);
        if let Some(r) = self.recent_from {
            s.push_str(&format!("R {r}\n"));
        }
        let mut kept = BTreeMap::new();
        for u in live {
            if let Some((ms, l)) = self.recs.remove(u) {
                s.push_str(&format!("{u} {ms} :{l}\n"));
                kept.insert(*u, (ms, l));
            }
        }
        self.recs = kept;
        self.lines = 1 + usize::from(self.recent_from.is_some()) + self.recs.len();
        self.clean_end = true;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_resolve_record() {
        let mut log = ModseqLog::parse(b"H 40\n7 42 :FS\n8 41 :\nX 43\n");
        assert_eq!(log.highest(), 43);
        let (ms, ch) = log.resolve(&[(7, "FS"), (8, ""), (9, ""), (7, "S")]);
        assert_eq!(ms, [42, 41, 44, 44]);
        assert_eq!(ch, [2, 3]);
        let (m, text) = log.record_changed(&[(9, ""), (7, "S")]);
        assert_eq!((m, text.as_str()), (44, "9 44 :\n7 44 :S\n"));
        assert_eq!(log.resolve(&[(7, "S")]).0, [44]);
        assert_eq!(log.record_expunge(&[9]), "X 45\n");
        assert_eq!(log.highest(), 45);
        assert_eq!(log.render(&[7, 8]), "H 45\n7 44 :S\n8 41 :\n");
        assert_eq!(log.recent_from(), None);
        assert_eq!(log.record_recent(9), "R 9\n");
        assert_eq!(log.record_recent(9), "");
        assert_eq!(log.render(&[7]), "H 45\nR 9\n7 44 :S\n");
        assert_eq!(ModseqLog::parse(b"R 4\nR 9\nR 7\n").recent_from(), Some(9));
    }

    #[test]
    fn torn_and_garbage_lines_are_skipped() {
        // A torn last append ("12 9" without newline) must not be trusted,
        // and the next append starts on a new line.
        let mut log = ModseqLog::parse(b"7 5 :S\n\0\0\0\n9 6 :x y\n12 9");
        assert_eq!(log.highest(), 5);
        assert_eq!(log.resolve(&[(12, "")]).1, [0]);
        let (_, text) = log.record_changed(&[(12, "")]);
        assert_eq!(text, "\n12 6 :\n");
        assert_eq!(ModseqLog::parse(b"").highest(), 1);
    }

    #[test]
    fn letters_of_names() {
        assert_eq!(letters("1.M2.h,S=5:2,FS"), "FS");
        assert_eq!(letters("1.M2.h,S=5"), "");
        assert_eq!(letters("1.M2.h:2,"), "");
    }
}
