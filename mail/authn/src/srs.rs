//! Sender Rewriting Scheme, the libsrs2/postsrsd "Guarded" scheme:
//!
//! ```text
//! SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
//! SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@srs-domain
//! ```
//!
//! HHHH: the first 4 characters of base64(HMAC-SHA1(secret, lower-cased
//! fields concatenated)), compared case-insensitively since MTAs may smash
//! the case of local parts. TT: days since the epoch modulo 1024 in two
//! base32 characters. The first secret signs; every secret verifies (key
//! rotation). Time is passed in (seconds since the epoch).

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};
use hmac::{Hmac, Mac};
use sha1::Sha1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PRECISION: u64 = 86_400;
const TICKSLOTS: u64 = 1024;
/// Hash length in characters (postsrsd and libsrs2 default).
pub const HASH_LEN: usize = 4;
/// Default maximum age of a rewritten address, in days.
pub const DEFAULT_MAX_AGE: u64 = 21;
/// Longest address accepted (RFC 5321 4.5.3.1.3: path is at most 256).
pub const MAX_ADDRESS: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrsError {
    /// Not of the form local@domain, or too long.
    BadAddress,
    /// reverse(): not an SRS0/SRS1 address.
    NotSrs,
    /// reverse(): malformed SRS fields.
    Malformed,
    /// reverse(): the hash does not match any secret.
    BadHash,
    /// reverse(): the timestamp is older than the maximum age (or in the
    /// future).
    Expired,
}

/// The rewriter: SRS domain, secrets, maximum age.
#[derive(Clone)]
pub struct Srs {
    domain: String,
    secrets: Vec<Vec<u8>>,
    max_age: u64,
}

impl core::fmt::Debug for Srs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print secrets.
        f.debug_struct("Srs").field("domain", &self.domain).field("max_age", &self.max_age).finish()
    }
}

fn split_addr(a: &str) -> Result<(&str, &str), SrsError> {
    if a.len() > MAX_ADDRESS {
        return Err(SrsError::BadAddress);
    }
    let (l, d) = a.rsplit_once('@').ok_or(SrsError::BadAddress)?;
    if l.is_empty() || d.is_empty() {
        return Err(SrsError::BadAddress);
    }
    Ok((l, d))
}

/// "SRS0" or "SRS1" (any case) followed by one of the separators - + =.
fn tagged<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    let b = local.as_bytes();
    // Compare bytes: `local[..4]` would panic inside a UTF-8 character
    // (an SMTPUTF8 local part such as "€€@x", found by fuzzing). When the
    // bytes match, index 4 follows ASCII and is a character boundary.
    if b.len() > 4 && b[..4].eq_ignore_ascii_case(tag.as_bytes()) && matches!(b[4], b'=' | b'-' | b'+') {
        Some(&local[4..])
    } else {
        None
    }
}

impl Srs {
    /// `domain` is the SRS domain (ours); `secret` signs and verifies.
    pub fn new(domain: &str, secret: &[u8]) -> Self {
        Srs { domain: String::from(domain), secrets: alloc::vec![secret.to_vec()], max_age: DEFAULT_MAX_AGE }
    }

    /// An older secret still accepted by [`reverse`](Self::reverse).
    pub fn add_verify_secret(&mut self, secret: &[u8]) -> &mut Self {
        self.secrets.push(secret.to_vec());
        self
    }

    pub fn set_max_age_days(&mut self, days: u64) -> &mut Self {
        self.max_age = days;
        self
    }

    fn hash_with(secret: &[u8], parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        for p in parts {
            for chunk in p.as_bytes().chunks(64) {
                let mut lower = [0u8; 64];
                for (o, c) in lower.iter_mut().zip(chunk) {
                    *o = c.to_ascii_lowercase();
                }
                mac.update(&lower[..chunk.len()]);
            }
        }
        let tag = mac.finalize().into_bytes();
        let mut s = Base64::encode_string(&tag);
        s.truncate(HASH_LEN);
        s
    }

    fn hash(&self, parts: &[&str]) -> String {
        Self::hash_with(&self.secrets[0], parts)
    }

    fn verify_hash(&self, h: &str, parts: &[&str]) -> bool {
        h.len() == HASH_LEN && self.secrets.iter().any(|s| Self::hash_with(s, parts).eq_ignore_ascii_case(h))
    }

    fn timestamp(now: u64) -> [u8; 2] {
        let t = now / PRECISION;
        [BASE32[((t >> 5) & 31) as usize], BASE32[(t & 31) as usize]]
    }

    fn timestamp_ok(&self, tt: &str, now: u64) -> Result<(), SrsError> {
        if tt.len() != 2 {
            return Err(SrsError::Malformed);
        }
        let mut ts = 0u64;
        for c in tt.bytes() {
            let v = BASE32.iter().position(|&b| b == c.to_ascii_uppercase()).ok_or(SrsError::Malformed)?;
            ts = ts * 32 + v as u64;
        }
        let mut today = (now / PRECISION) % TICKSLOTS;
        while today < ts {
            today += TICKSLOTS;
        }
        if today <= ts + self.max_age {
            Ok(())
        } else {
            Err(SrsError::Expired)
        }
    }

    /// Rewrite the envelope sender of a message forwarded to an external
    /// address. Addresses already in the SRS domain are returned unchanged.
    pub fn forward(&self, sender: &str, now: u64) -> Result<String, SrsError> {
        let (local, host) = split_addr(sender)?;
        if host.eq_ignore_ascii_case(&self.domain) {
            return Ok(String::from(sender));
        }
        let mut out = String::with_capacity(sender.len() + self.domain.len() + 16);
        if let Some(rest) = tagged(local, "SRS1") {
            // Re-forwarding an SRS1 address: keep the first forwarder's
            // host and opaque part, re-hash with our secret.
            let rest = &rest[1..];
            let mut it = rest.splitn(3, '=');
            let (_old, srshost, srsuser) = match (it.next(), it.next(), it.next()) {
                (Some(a), Some(b), Some(c)) => (a, b, c),
                _ => return Err(SrsError::Malformed),
            };
            let h = self.hash(&[srshost, srsuser]);
            for p in ["SRS1=", &h, "=", srshost, "=", srsuser, "@", &self.domain] {
                out.push_str(p);
            }
        } else if let Some(rest) = tagged(local, "SRS0") {
            // An SRS0 address of another forwarder: wrap it in SRS1.
            let h = self.hash(&[host, rest]);
            for p in ["SRS1=", &h, "=", host, "=", rest, "@", &self.domain] {
                out.push_str(p);
            }
        } else {
            let ts = Self::timestamp(now);
            let ts = core::str::from_utf8(&ts).unwrap_or("AA");
            let h = self.hash(&[ts, host, local]);
            for p in ["SRS0=", &h, "=", ts, "=", host, "=", local, "@", &self.domain] {
                out.push_str(p);
            }
        }
        Ok(out)
    }

    /// Undo [`forward`](Self::forward) for a bounce: check hash (and, for
    /// SRS0, age) and return the original address (for SRS1, the SRS0
    /// address at the first forwarder).
    pub fn reverse(&self, addr: &str, now: u64) -> Result<String, SrsError> {
        let (local, _host) = split_addr(addr)?;
        if let Some(rest) = tagged(local, "SRS1") {
            let mut it = rest[1..].splitn(3, '=');
            let (h, srshost, srsuser) = match (it.next(), it.next(), it.next()) {
                (Some(a), Some(b), Some(c)) if !b.is_empty() && !c.is_empty() => (a, b, c),
                _ => return Err(SrsError::Malformed),
            };
            if !self.verify_hash(h, &[srshost, srsuser]) {
                return Err(SrsError::BadHash);
            }
            let mut out = String::from("SRS0");
            out.push_str(srsuser);
            out.push('@');
            out.push_str(srshost);
            return Ok(out);
        }
        if let Some(rest) = tagged(local, "SRS0") {
            let mut it = rest[1..].splitn(4, '=');
            let (h, tt, host, user) = match (it.next(), it.next(), it.next(), it.next()) {
                (Some(a), Some(b), Some(c), Some(d)) if !c.is_empty() && !d.is_empty() => (a, b, c, d),
                _ => return Err(SrsError::Malformed),
            };
            if !self.verify_hash(h, &[tt, host, user]) {
                return Err(SrsError::BadHash);
            }
            self.timestamp_ok(tt, now)?;
            let mut out = String::from(user);
            out.push('@');
            out.push_str(host);
            return Ok(out);
        }
        Err(SrsError::NotSrs)
    }

    /// Is this an address [`reverse`](Self::reverse) should be tried on?
    pub fn is_srs(addr: &str) -> bool {
        let local = addr.rsplit_once('@').map(|(l, _)| l).unwrap_or(addr);
        tagged(local, "SRS0").is_some() || tagged(local, "SRS1").is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_790_000_000;
    const DAY: u64 = 86_400;

    #[test]
    fn round_trip_srs0() {
        let s = Srs::new("fwd.example.org", b"sekrit");
        let f = s.forward("alice@example.com", NOW).unwrap();
        assert!(f.starts_with("SRS0="), "{f}");
        assert!(f.ends_with("=example.com=alice@fwd.example.org"));
        assert_eq!(f.len(), "SRS0=HHHH=TT=example.com=alice@fwd.example.org".len());
        assert_eq!(s.reverse(&f, NOW).unwrap(), "alice@example.com");
        // Case smashed by a remote MTA still reverses.
        assert_eq!(s.reverse(&f.to_ascii_uppercase(), NOW).unwrap().to_ascii_lowercase(), "alice@example.com");
        // Our own domain is left alone.
        assert_eq!(s.forward("bob@FWD.example.org", NOW).unwrap(), "bob@FWD.example.org");
    }

    #[test]
    fn age_and_hash_checks() {
        let mut s = Srs::new("fwd.example.org", b"sekrit");
        let f = s.forward("alice@example.com", NOW).unwrap();
        assert_eq!(s.reverse(&f, NOW + 21 * DAY).unwrap(), "alice@example.com");
        assert_eq!(s.reverse(&f, NOW + 22 * DAY), Err(SrsError::Expired));
        s.set_max_age_days(30);
        assert!(s.reverse(&f, NOW + 29 * DAY).is_ok());
        // From the future.
        assert_eq!(s.reverse(&f, NOW - DAY), Err(SrsError::Expired));
        // Forged hash.
        let mut forged = f.clone().into_bytes();
        forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.reverse(core::str::from_utf8(&forged).unwrap(), NOW), Err(SrsError::BadHash));
        // Changed address under a valid hash.
        let changed = f.replace("alice", "mallory");
        assert_eq!(s.reverse(&changed, NOW), Err(SrsError::BadHash));
        assert_eq!(s.reverse("plain@fwd.example.org", NOW), Err(SrsError::NotSrs));
        assert_eq!(s.reverse("SRS0=abc@fwd.example.org", NOW), Err(SrsError::Malformed));
    }

    #[test]
    fn secret_rotation() {
        let old = Srs::new("fwd.example.org", b"old");
        let f = old.forward("alice@example.com", NOW).unwrap();
        let mut new = Srs::new("fwd.example.org", b"new");
        assert_eq!(new.reverse(&f, NOW), Err(SrsError::BadHash));
        new.add_verify_secret(b"old");
        assert_eq!(new.reverse(&f, NOW).unwrap(), "alice@example.com");
        assert_ne!(new.forward("alice@example.com", NOW).unwrap(), f);
    }

    #[test]
    fn srs1_chain() {
        let a = Srs::new("a.example", b"one");
        let b = Srs::new("b.example", b"two");
        let c = Srs::new("c.example", b"three");
        let s0 = a.forward("u@orig.example", NOW).unwrap();
        let s1 = b.forward(&s0, NOW).unwrap();
        assert!(s1.starts_with("SRS1="), "{s1}");
        assert!(s1.contains("=a.example==") && s1.ends_with("@b.example"), "{s1}");
        let s1c = c.forward(&s1, NOW).unwrap();
        assert!(s1c.contains("=a.example==") && s1c.ends_with("@c.example"), "{s1c}");
        // Bounce path: c -> a's SRS0 address -> original.
        let back = c.reverse(&s1c, NOW).unwrap();
        assert_eq!(back, s0);
        assert_eq!(b.reverse(&s1, NOW).unwrap(), s0);
        assert_eq!(a.reverse(&back, NOW).unwrap(), "u@orig.example");
        assert!(Srs::is_srs(&s1) && Srs::is_srs(&s0) && !Srs::is_srs("u@orig.example"));
    }
}
