//! The two hashes of RFC 6376 3.7: body hash and header hash.

use super::canon::{self, Canon, RawHeader};
use super::sig;
use alloc::vec::Vec;
use sha2::{Digest, Sha256};

/// Body hash with an optional l= limit: returns the digest and the full
/// canonical body length (to detect l= longer than the body).
#[cfg(test)]
pub fn body_hash(c: Canon, body: &[u8], limit: Option<u64>) -> ([u8; 32], u64) {
    let mut h = LimitedHash::new(limit);
    let mut bc = canon::BodyCanon::new(c);
    bc.feed(body, &mut |b| h.update(b));
    bc.finish(&mut |b| h.update(b));
    h.finish()
}

/// SHA-256 over at most `limit` bytes, counting everything offered.
#[derive(Clone, Debug)]
pub struct LimitedHash {
    h: Sha256,
    limit: Option<u64>,
    total: u64,
}

impl LimitedHash {
    pub fn new(limit: Option<u64>) -> Self {
        LimitedHash { h: Sha256::new(), limit, total: 0 }
    }
    pub fn update(&mut self, b: &[u8]) {
        let take = match self.limit {
            Some(l) => (l.saturating_sub(self.total)).min(b.len() as u64) as usize,
            None => b.len(),
        };
        self.h.update(&b[..take]);
        self.total += b.len() as u64;
    }
    pub fn finish(self) -> ([u8; 32], u64) {
        (self.h.finalize().into(), self.total)
    }
}

/// RFC 6376 5.4.2: pick header fields for h= from the bottom up; a name
/// with no unused instance left contributes nothing (over-signing).
pub fn header_hash_input(
    c: Canon,
    headers: &[RawHeader<'_>],
    names: &[alloc::string::String],
    sig_field: &[u8],
) -> Vec<u8> {
    let mut used = alloc::vec![false; headers.len()];
    let mut out = Vec::new();
    for name in names {
        let found =
            (0..headers.len()).rev().find(|&i| !used[i] && headers[i].name.eq_ignore_ascii_case(name.as_bytes()));
        if let Some(i) = found {
            used[i] = true;
            canon::header(c, headers[i].raw, true, &mut out);
        }
    }
    // RFC 6376 3.7: the signature field last, b= empty, no final CRLF.
    canon::header(c, &sig::without_b_value(sig_field), false, &mut out);
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}
