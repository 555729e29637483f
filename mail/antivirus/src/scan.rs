//! Scanning a message: the raw bytes (target type 4 and 0), then every
//! decoded MIME leaf (transfer encoding undone), descending into nested
//! multiparts and message/rfc822 parts, including encoded ones.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use mail_mime::{Body, Limits, Message};

use crate::db::{key4_hash, Database, HashSig};
use crate::logical::MAX_SUBSIGS;
use crate::pattern::{matches, View, STEP_BUDGET};

/// Bounds on one scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanLimits {
    /// Objects (raw message + decoded parts) looked at; more makes the
    /// result [`Verdict::Incomplete`] unless a virus was already found.
    pub max_objects: usize,
    /// Decoded bytes across all objects.
    pub max_total_bytes: usize,
    /// Nesting of base64/QP-encoded message/rfc822 parts re-parsed.
    pub max_depth: usize,
    /// MIME parser bounds per (nested) message.
    pub mime: Limits,
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits { max_objects: 1000, max_total_bytes: 64 << 20, max_depth: 8, mime: Limits::default() }
    }
}

/// Which object a hit was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The message as received.
    Raw,
    /// A decoded MIME part; the file name when it has one.
    Part { filename: Option<String> },
}

/// A signature hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The signature's malware name (`Unimail.Test.EICAR`).
    pub name: String,
    pub location: Location,
}

/// The scan result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(Detection),
    /// Limits cut the scan short (or the MIME parser truncated the tree)
    /// and nothing was found in what was looked at. The caller decides
    /// (a strict site soft-rejects).
    Incomplete,
}

impl Verdict {
    pub fn virus(&self) -> Option<&str> {
        match self {
            Verdict::Infected(d) => Some(&d.name),
            _ => None,
        }
    }
}

/// Verification steps allowed per scanned object: generous for real mail
/// (a candidate costs about its signature's length), a hard stop for
/// input crafted to make wildcard signatures backtrack at every position.
pub fn object_budget(len: usize) -> u64 {
    4_000_000 + 64 * len as u64
}

struct Walk<'d> {
    db: &'d Database,
    limits: &'d ScanLimits,
    objects: usize,
    bytes: usize,
    incomplete: bool,
}

impl Database {
    /// Scans a whole message (RFC 5322 bytes as received).
    pub fn scan_message(&self, raw: &[u8], limits: &ScanLimits) -> Verdict {
        let mut w = Walk { db: self, limits, objects: 0, bytes: 0, incomplete: false };
        if let Some(name) = w.object(raw, true) {
            return Verdict::Infected(Detection { name, location: Location::Raw });
        }
        if let Some(d) = w.message(raw, 0) {
            return Verdict::Infected(d);
        }
        if w.incomplete {
            Verdict::Incomplete
        } else {
            Verdict::Clean
        }
    }

    /// Scans one buffer as a file (a decoded attachment): hash and body
    /// signatures, not type 4.
    pub fn scan_bytes(&self, data: &[u8]) -> Option<&str> {
        let mut budget = object_budget(data.len());
        self.hash_hit(data).or_else(|| self.body_hit(data, false, &mut budget)).map(|s| s.as_str())
    }

    fn hash_hit(&self, data: &[u8]) -> Option<&String> {
        let size = data.len() as u64;
        let pick = |v: &'_ Vec<HashSig>| -> Option<usize> { v.iter().position(|s| s.size.is_none_or(|n| n == size)) };
        if !self.md5.is_empty() {
            let d: [u8; 16] = Md5::digest(data).into();
            if let Some(v) = self.md5.get(&d) {
                if let Some(i) = pick(v) {
                    return Some(&v[i].name);
                }
            }
        }
        if !self.sha1.is_empty() {
            let d: [u8; 20] = Sha1::digest(data).into();
            if let Some(v) = self.sha1.get(&d) {
                if let Some(i) = pick(v) {
                    return Some(&v[i].name);
                }
            }
        }
        if !self.sha256.is_empty() {
            let d: [u8; 32] = Sha256::digest(data).into();
            if let Some(v) = self.sha256.get(&d) {
                if let Some(i) = pick(v) {
                    return Some(&v[i].name);
                }
            }
        }
        None
    }

    /// Body signatures: one pass over the buffer; at each position a bit
    /// test on the next two bytes, and only for indexed keys a binary search
    /// and verification of the candidates around their anchor.
    fn body_hit(&self, data: &[u8], is_mail: bool, total: &mut u64) -> Option<&String> {
        if (self.index.is_empty() && self.index4.is_empty()) || data.len() < 2 {
            return self.logical_hit(&BTreeMap::new(), data.len());
        }
        // Matches of logical-signature subsignatures: (ldb, subsig) -> count.
        let mut counts: BTreeMap<(u32, u8), u32> = BTreeMap::new();
        for pos in 0..data.len() - 1 {
            let short = if self.index.is_empty() {
                &[][..]
            } else {
                let key = u16::from_be_bytes([data[pos], data[pos + 1]]);
                if self.keys[usize::from(key) / 64] & (1 << (key % 64)) != 0 {
                    let first = self.index.partition_point(|&(k, _)| k < key);
                    let n = self.index[first..].iter().take_while(|e| e.0 == key).count();
                    &self.index[first..first + n]
                } else {
                    &[][..]
                }
            };
            let long = if self.index4.is_empty() || pos + 4 > data.len() {
                &[][..]
            } else {
                let key = u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]);
                let h = key4_hash(key);
                if self.keys4[h / 64] & (1 << (h % 64)) != 0 {
                    let first = self.index4.partition_point(|&(k, _)| k < key);
                    let n = self.index4[first..].iter().take_while(|e| e.0 == key).count();
                    &self.index4[first..first + n]
                } else {
                    &[][..]
                }
            };
            let candidates = short.iter().map(|e| e.1).chain(long.iter().map(|e| e.1));
            for si in candidates {
                match self.verify(si, pos, data, is_mail, total) {
                    Check::NoMatch => {}
                    Check::OutOfBudget => return None,
                    Check::Match => {
                        let sig = &self.body[si as usize];
                        match sig.sub_of {
                            None => return Some(&sig.name),
                            Some(k) => *counts.entry(k).or_insert(0) += 1,
                        }
                    }
                }
            }
        }
        self.logical_hit(&counts, data.len())
    }

    /// The first logical signature whose expression holds for the counted
    /// subsignature matches: those with a match, then those that hold
    /// with none.
    fn logical_hit(&self, counts: &BTreeMap<(u32, u8), u32>, len: usize) -> Option<&String> {
        let size_ok = |l: u32| self.logical[l as usize].size.is_none_or(|(lo, hi)| (lo..=hi).contains(&(len as u64)));
        let mut iter = counts.iter().peekable();
        while let Some((&(l, _), _)) = iter.peek() {
            let mut per_sub = [0u32; MAX_SUBSIGS];
            while let Some((&(l2, n), &c)) = iter.peek() {
                if l2 != l {
                    break;
                }
                per_sub[usize::from(n)] = c;
                iter.next();
            }
            let sig = &self.logical[l as usize];
            if size_ok(l) && sig.expr.eval(&per_sub[..usize::from(sig.subsigs)]) {
                return Some(&sig.name);
            }
        }
        self.zero_true
            .iter()
            .find(|&&l| size_ok(l) && !counts.range((l, 0)..=(l, u8::MAX)).any(|_| true))
            .map(|&l| &self.logical[l as usize].name)
    }

    /// Checks signature `si` whose index key was seen at `pos`.
    fn verify(&self, si: u32, pos: usize, data: &[u8], is_mail: bool, total: &mut u64) -> Check {
        let sig = &self.body[si as usize];
        let p = &sig.pattern;
        // The key sits `key_at` bytes into the anchor.
        let Some(at) = pos.checked_sub(p.key_at) else { return Check::NoMatch };
        if at < p.before_min || !data[at..].starts_with(&p.anchor) || !sig.target.applies(data, is_mail) {
            return Check::NoMatch;
        }
        if *total == 0 {
            return Check::OutOfBudget;
        }
        let back = View { buf: data, origin: at, backward: true };
        let fwd = View { buf: data, origin: at + p.anchor.len(), backward: false };
        let mut budget = STEP_BUDGET;
        let mut inner = STEP_BUDGET;
        let hit = matches(&p.before_rev, &back, 0, &mut budget, &mut |k| {
            sig.offset.allows(at - k, data.len()) && matches(&p.after, &fwd, 0, &mut inner, &mut |_| true)
        });
        let used = u64::from(2 * STEP_BUDGET - budget - inner);
        *total = total.saturating_sub(used);
        if hit {
            Check::Match
        } else {
            Check::NoMatch
        }
    }
}

enum Check {
    NoMatch,
    Match,
    OutOfBudget,
}

impl Walk<'_> {
    /// Checks one object against all signatures; `None` when clean or
    /// over the limits.
    fn object(&mut self, data: &[u8], is_mail: bool) -> Option<String> {
        if self.objects >= self.limits.max_objects
            || self.bytes.saturating_add(data.len()) > self.limits.max_total_bytes
        {
            self.incomplete = true;
            return None;
        }
        self.objects += 1;
        self.bytes += data.len();
        let mut budget = object_budget(data.len());
        let hit = self.db.hash_hit(data).or_else(|| self.db.body_hit(data, is_mail, &mut budget)).cloned();
        if budget == 0 {
            // Verification work ran out (a buffer built to make signatures
            // backtrack): what was not checked is not known clean.
            self.incomplete = true;
        }
        hit
    }

    fn message(&mut self, raw: &[u8], depth: usize) -> Option<Detection> {
        let m = Message::parse_with(raw, &self.limits.mime);
        if m.truncated {
            self.incomplete = true;
        }
        for idx in 0..m.parts.len() {
            let p = &m.parts[idx];
            if p.kind != Body::Leaf {
                continue;
            }
            let decoded = m.decoded_body(idx);
            if let Some(name) = self.object(&decoded, false) {
                let filename = p.filename().map(String::from);
                return Some(Detection { name, location: Location::Part { filename } });
            }
            // An encoded message/rfc822 is a leaf to the parser: parse its
            // decoded form (RFC 2046 5.2.1 forbids the encoding, senders
            // do it anyway).
            if p.content_type.main == "message" && (p.content_type.sub == "rfc822" || p.content_type.sub == "global") {
                if depth + 1 > self.limits.max_depth {
                    self.incomplete = true;
                } else if let Some(d) = self.message(&decoded, depth + 1) {
                    return Some(d);
                }
            }
        }
        None
    }
}
