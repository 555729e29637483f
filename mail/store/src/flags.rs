//! IMAP flags <-> Maildir info letters, with Dovecot's per-folder
//! `dovecot-keywords` file for the keyword letters `a`-`z`.
//!
//! Maildir (<https://cr.yp.to/proto/maildir.html>): `D` draft, `F`
//! flagged, `P` passed, `R` replied, `S` seen, `T` trashed. IMAP (RFC 3501
//! 2.3.2) maps \Draft D, \Flagged F, \Answered R, \Seen S, \Deleted T.
//! Keywords get a letter from the folder's `dovecot-keywords` file: lines
//! `<n> <keyword>`, letter `'a' + n`, so at most 26 per folder.
//!
//! `$Forwarded` (RFC 5788 registry) is an ordinary keyword letter, as
//! Dovecot 2.3 stores it (checked with doveadm in tests/host_tools.rs:
//! Dovecot ignores `P`). A `P` written by another MUA (mutt) is still
//! shown as `$Forwarded`; the next flag change re-stores it as a letter.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use disk::maildir::Flags as DiskFlags;
use mail_imap::{Flags, StoreError, SystemFlag};

pub const KEYWORDS_FILE: &str = "dovecot-keywords";
/// Keyword letters `a`..`z`.
pub const MAX_KEYWORDS: usize = 26;
/// The keyword stored as the Maildir `P` (passed) flag.
pub const FORWARDED: &str = "$Forwarded";

const SYSTEM: [(SystemFlag, DiskFlags); 5] = [
    (SystemFlag::Draft, DiskFlags::DRAFT),
    (SystemFlag::Flagged, DiskFlags::FLAGGED),
    (SystemFlag::Answered, DiskFlags::REPLIED),
    (SystemFlag::Seen, DiskFlags::SEEN),
    (SystemFlag::Deleted, DiskFlags::TRASHED),
];

/// One folder's keyword table: slot `n` is letter `'a' + n`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keywords {
    slots: [Option<String>; MAX_KEYWORDS],
    /// Set when a keyword was added and the file must be rewritten.
    pub dirty: bool,
}

impl Keywords {
    /// Parses Dovecot's file; malformed lines and indexes past `z` are
    /// skipped (Dovecot ignores them too).
    pub fn parse(text: &str) -> Keywords {
        let mut k = Keywords::default();
        for line in text.lines() {
            let Some((n, name)) = line.split_once(' ') else { continue };
            let Ok(n) = n.parse::<usize>() else { continue };
            let name = name.trim_end_matches('\r');
            if n < MAX_KEYWORDS && valid_keyword(name) {
                k.slots[n] = Some(String::from(name));
            }
        }
        k
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        for (i, k) in self.slots.iter().enumerate() {
            if let Some(k) = k {
                s.push_str(&format!("{i} {k}\n"));
            }
        }
        s
    }

    pub fn name(&self, idx: usize) -> Option<&str> {
        self.slots.get(idx).and_then(|s| s.as_deref())
    }

    /// The slot of `keyword` (case-insensitive, RFC 3501 keywords are
    /// compared without case), allocating one if `add`.
    fn slot(&mut self, keyword: &str, add: bool) -> Result<Option<usize>, StoreError> {
        if let Some(i) = self.slots.iter().position(|s| s.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(keyword))) {
            return Ok(Some(i));
        }
        if !add {
            return Ok(None);
        }
        if !valid_keyword(keyword) {
            return Err(StoreError::NotAllowed);
        }
        // Dovecot's limit: 26 letters per folder. The session answers NO.
        let i = self.slots.iter().position(|s| s.is_none()).ok_or(StoreError::NotAllowed)?;
        self.slots[i] = Some(String::from(keyword));
        self.dirty = true;
        Ok(Some(i))
    }

    /// Maildir letters -> IMAP flags. Letters without a keyword are dropped.
    pub fn to_imap(&self, f: DiskFlags) -> Flags {
        let mut out = Flags::new();
        for (s, d) in SYSTEM {
            if f.contains(d) {
                out.set(s, true);
            }
        }
        if f.contains(DiskFlags::PASSED) {
            out.add_keyword(FORWARDED);
        }
        for i in 0..MAX_KEYWORDS {
            if f.0 & (1 << (6 + i)) != 0 {
                if let Some(k) = self.name(i) {
                    out.add_keyword(k);
                }
            }
        }
        out
    }

    /// IMAP flags -> Maildir letters, adding keywords to the table
    /// (`NotAllowed` when the folder already has 26).
    pub fn to_disk(&mut self, f: &Flags) -> Result<DiskFlags, StoreError> {
        let mut out = DiskFlags::empty();
        for (s, d) in SYSTEM {
            if f.has(s) {
                out = out.union(d);
            }
        }
        for k in f.keywords() {
            if let Some(i) = self.slot(k, true)? {
                out = out.union(DiskFlags(1 << (6 + i)));
            }
        }
        Ok(out)
    }
}

/// RFC 3501 9 `atom`, as the file stores one per line.
fn valid_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 128
        && k.bytes()
            .all(|b| b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']'))
}

/// Keywords sorted case-insensitively: for comparing flag sets.
pub fn normalized(f: &Flags) -> (Vec<bool>, Vec<String>) {
    let sys = SystemFlag::ALL.iter().map(|&s| f.has(s)).collect();
    let mut kw: Vec<String> = f.keywords().iter().map(|k| k.to_ascii_lowercase()).collect();
    kw.sort();
    (sys, kw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_flags_and_forwarded() {
        let mut k = Keywords::default();
        let mut f = Flags::new().with(SystemFlag::Seen).with(SystemFlag::Deleted).with(SystemFlag::Draft);
        f.set(SystemFlag::Answered, true);
        f.set(SystemFlag::Flagged, true);
        f.add_keyword("$forwarded");
        let d = k.to_disk(&f).unwrap();
        assert_eq!(d.render(), "DFRSTa");
        assert_eq!(k.render(), "0 $forwarded\n");
        // A mutt-style P reads as $Forwarded.
        assert_eq!(normalized(&Keywords::default().to_imap(DiskFlags::parse("PS"))).1, ["$forwarded"]);
        let back = k.to_imap(d);
        assert_eq!(normalized(&back), normalized(&f));
    }

    #[test]
    fn keywords_file_dovecot_format() {
        let mut k = Keywords::parse("0 $Junk\n2 Work\nbogus\n30 far\n1 \n");
        assert_eq!(k.name(0), Some("$Junk"));
        assert_eq!(k.name(1), None);
        assert_eq!(k.name(2), Some("Work"));
        let mut f = Flags::new();
        f.add_keyword("work");
        f.add_keyword("NonJunk");
        let d = k.to_disk(&f).unwrap();
        // "work" matches "Work" (c); "NonJunk" takes the free slot 1 (b).
        assert_eq!(d.render(), "bc");
        assert!(k.dirty);
        assert_eq!(k.render(), "0 $Junk\n1 NonJunk\n2 Work\n");
        assert_eq!(normalized(&k.to_imap(DiskFlags::parse("Sbcz"))).1, ["nonjunk", "work"]);
    }

    #[test]
    fn at_most_26_keywords() {
        let mut k = Keywords::default();
        for i in 0..26 {
            let mut f = Flags::new();
            f.add_keyword(&format!("k{i}"));
            k.to_disk(&f).unwrap();
        }
        let mut f = Flags::new();
        f.add_keyword("k5");
        assert_eq!(k.to_disk(&f).unwrap().render(), "f");
        f.add_keyword("one-too-many");
        assert_eq!(k.to_disk(&f), Err(StoreError::NotAllowed));
        assert_eq!(Keywords::parse(&k.render()), Keywords { dirty: false, ..k });
    }
}
