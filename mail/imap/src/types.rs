//! Small value types shared by the parser, the session and the store:
//! message flags and sequence sets.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// RFC 3501 2.3.2: the system flags a message can carry (except \Recent,
/// which is per-session state and never stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemFlag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
}

impl SystemFlag {
    pub const ALL: [SystemFlag; 5] =
        [SystemFlag::Seen, SystemFlag::Answered, SystemFlag::Flagged, SystemFlag::Deleted, SystemFlag::Draft];
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
    pub fn name(self) -> &'static str {
        match self {
            SystemFlag::Seen => "\\Seen",
            SystemFlag::Answered => "\\Answered",
            SystemFlag::Flagged => "\\Flagged",
            SystemFlag::Deleted => "\\Deleted",
            SystemFlag::Draft => "\\Draft",
        }
    }
    /// Parses `\Seen` etc. case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        SystemFlag::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(s))
    }
}

/// The stored flags of one message: system flags as bits, keywords as
/// atoms (case preserved, compared case-insensitively).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    bits: u8,
    keywords: Vec<String>,
}

impl Flags {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn has(&self, f: SystemFlag) -> bool {
        self.bits & f.bit() != 0
    }
    pub fn set(&mut self, f: SystemFlag, on: bool) {
        if on {
            self.bits |= f.bit()
        } else {
            self.bits &= !f.bit()
        }
    }
    pub fn with(mut self, f: SystemFlag) -> Self {
        self.set(f, true);
        self
    }
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }
    pub fn has_keyword(&self, k: &str) -> bool {
        self.keywords.iter().any(|x| x.eq_ignore_ascii_case(k))
    }
    pub fn add_keyword(&mut self, k: &str) {
        if !self.has_keyword(k) {
            self.keywords.push(String::from(k));
        }
    }
    pub fn remove_keyword(&mut self, k: &str) {
        self.keywords.retain(|x| !x.eq_ignore_ascii_case(k));
    }
    /// Adds a flag given by its protocol name (system flag or keyword).
    pub fn add_named(&mut self, name: &str) {
        match SystemFlag::parse(name) {
            Some(f) => self.set(f, true),
            None if name.starts_with('\\') => {} // \Recent and unknown system flags are not storable
            None => self.add_keyword(name),
        }
    }
    pub fn remove_named(&mut self, name: &str) {
        match SystemFlag::parse(name) {
            Some(f) => self.set(f, false),
            None => self.remove_keyword(name),
        }
    }
    pub fn union(&mut self, other: &Flags) {
        self.bits |= other.bits;
        for k in &other.keywords {
            self.add_keyword(k);
        }
    }
    pub fn subtract(&mut self, other: &Flags) {
        self.bits &= !other.bits;
        for k in &other.keywords {
            self.remove_keyword(k);
        }
    }
    /// Writes `(\Seen kw ...)`, adding `\Recent` when asked.
    pub fn write_list(&self, out: &mut String, recent: bool) {
        out.push('(');
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(' ');
            }
            first = false;
        };
        for f in SystemFlag::ALL {
            if self.has(f) {
                sep(out);
                out.push_str(f.name());
            }
        }
        if recent {
            sep(out);
            out.push_str("\\Recent");
        }
        for k in &self.keywords {
            sep(out);
            out.push_str(k);
        }
        out.push(')');
    }
}

/// One element of a sequence set: a number, `*`, or a range of those.
/// [`STAR`] (0, never a valid nz-number) stands for `*` (RFC 3501 9:
/// seq-number "*" is the largest number in use); 4294967295 is a number
/// like any other (imaptest `search-sets`: `UID n:4294967295` above the
/// last UID matches nothing, while `n:*` matches the last message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    pub lo: u32,
    pub hi: u32,
}

/// RFC 3501 9 `sequence-set`, or `$` (RFC 5182 SEARCHRES).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeqSet {
    Ranges(Vec<SeqRange>),
    /// `$`: the saved result of the last SEARCH RETURN (SAVE).
    Saved,
}

/// `*` in a [`SeqRange`].
pub const STAR: u32 = 0;

impl SeqSet {
    /// Whether `n` is in the set, with `*` meaning `largest`. RFC 3501 9:
    /// a range `a:b` is the same as `b:a`; `*` on an empty mailbox is 0.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SeqSet::Saved => false,
            SeqSet::Ranges(r) => r.iter().any(|r| {
                let a = if r.lo == STAR { largest } else { r.lo };
                let b = if r.hi == STAR { largest } else { r.hi };
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                a <= n && n <= b
            }),
        }
    }
    /// The set as sorted, merged inclusive ranges with `*` resolved, so
    /// that membership is a binary search (clients such as mbsync send
    /// sets with thousands of elements).
    pub fn normalize(&self, largest: u32) -> Vec<(u32, u32)> {
        let SeqSet::Ranges(r) = self else { return Vec::new() };
        let mut v: Vec<(u32, u32)> = r
            .iter()
            .map(|r| {
                let a = if r.lo == STAR { largest } else { r.lo };
                let b = if r.hi == STAR { largest } else { r.hi };
                if a <= b {
                    (a, b)
                } else {
                    (b, a)
                }
            })
            .collect();
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        out
    }

    /// Membership in a [`SeqSet::normalize`]d set.
    pub fn in_normalized(ranges: &[(u32, u32)], n: u32) -> bool {
        match ranges.binary_search_by(|&(a, _)| a.cmp(&n)) {
            Ok(_) => true,
            Err(0) => false,
            Err(i) => ranges[i - 1].1 >= n,
        }
    }

    /// Builds the compact form of a sorted list of numbers (`1:3,7`).
    pub fn format(nums: &[u32]) -> String {
        let mut s = String::new();
        let mut i = 0;
        while i < nums.len() {
            let start = nums[i];
            let mut end = start;
            while i + 1 < nums.len() && nums[i + 1] == end + 1 {
                i += 1;
                end = nums[i];
            }
            if !s.is_empty() {
                s.push(',');
            }
            if start == end {
                let _ = write!(s, "{}", start);
            } else {
                let _ = write!(s, "{}:{}", start, end);
            }
            i += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_ops() {
        let mut f = Flags::new();
        f.add_named("\\seen");
        f.add_named("$Junk");
        f.add_named("$junk");
        f.add_named("\\Recent");
        assert!(f.has(SystemFlag::Seen));
        assert_eq!(f.keywords().len(), 1);
        let mut s = String::new();
        f.write_list(&mut s, true);
        assert_eq!(s, "(\\Seen \\Recent $Junk)");
        f.remove_named("$JUNK");
        f.remove_named("\\SEEN");
        assert_eq!(f, Flags::new());
    }

    #[test]
    fn seqset_contains_and_format() {
        let s = SeqSet::Ranges(alloc::vec![SeqRange { lo: 5, hi: 2 }, SeqRange { lo: 9, hi: STAR }]);
        assert!(s.contains(3, 20));
        assert!(!s.contains(7, 20));
        assert!(s.contains(20, 20));
        assert!(!s.contains(21, 20));
        assert_eq!(SeqSet::format(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        let n = s.normalize(20);
        assert_eq!(n, alloc::vec![(2, 5), (9, 20)]);
        for i in 0..25 {
            assert_eq!(SeqSet::in_normalized(&n, i), s.contains(i, 20), "{}", i);
        }
        let m = SeqSet::Ranges(alloc::vec![
            SeqRange { lo: 3, hi: 4 },
            SeqRange { lo: 1, hi: 1 },
            SeqRange { lo: 5, hi: 5 },
            SeqRange { lo: 2, hi: 2 }
        ]);
        assert_eq!(m.normalize(9), alloc::vec![(1, 5)]);
    }
}
