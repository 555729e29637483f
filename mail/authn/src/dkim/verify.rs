//! DKIM verification (RFC 6376 6) as a sans-IO session: the message is
//! hashed up front; the session then asks for each `<s>._domainkey.<d>` TXT
//! record and finishes with one result per signature.

use super::canon::{self, BodyCanon, HeaderCollector, RawHeader};
use super::hash::{self, LimitedHash};
use super::key::{self, KeyError, PublicKey};
use super::sig::{self, Algorithm, Signature};
use super::tags;
use crate::dns::{DnsAnswer, DnsQuery, DnsType};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Signatures beyond this many are not evaluated (bounded work).
pub const MAX_SIGNATURES: usize = 10;

/// RFC 8601 2.7.1 result values for one signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkimStatus {
    Pass,
    Fail,
    Neutral,
    Policy,
    TempError,
    PermError,
}

impl DkimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DkimStatus::Pass => "pass",
            DkimStatus::Fail => "fail",
            DkimStatus::Neutral => "neutral",
            DkimStatus::Policy => "policy",
            DkimStatus::TempError => "temperror",
            DkimStatus::PermError => "permerror",
        }
    }
}

/// The verdict on one DKIM-Signature field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimResult {
    pub status: DkimStatus,
    /// d= (lower case; empty if the signature could not be parsed at all).
    pub domain: String,
    pub selector: String,
    /// i= (or "@d" by default).
    pub identity: String,
    pub algorithm: Option<Algorithm>,
    /// First characters of b=, for `header.b` (RFC 6008).
    pub b_prefix: String,
    /// Why it is not a pass.
    pub reason: Option<&'static str>,
    /// Key record had t=y (domain is testing).
    pub testing: bool,
}

#[derive(Clone, Debug)]
enum Item {
    Done(DkimResult),
    NeedKey { sig: Signature, digest: [u8; 32] },
}

/// Verification in progress.
#[derive(Clone, Debug)]
pub struct DkimSession {
    items: Vec<Item>,
    cache: Vec<(String, DnsAnswer)>,
    pending: Option<DnsQuery>,
}

/// What the session wants next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DkimStep {
    Query(DnsQuery),
    Done(Vec<DkimResult>),
}

fn loose(value: &[u8], name: &str) -> String {
    // Best-effort d=/s= of an unparsable signature, for the report.
    tags::parse(value)
        .ok()
        .and_then(|t| tags::get(&t, name).map(|v| String::from_utf8_lossy(v).to_ascii_lowercase()))
        .unwrap_or_default()
}

fn result(sig: &Signature, status: DkimStatus, reason: Option<&'static str>) -> DkimResult {
    DkimResult {
        status,
        domain: sig.domain.clone(),
        selector: sig.selector.clone(),
        identity: sig.identity.clone(),
        algorithm: Some(sig.algorithm),
        b_prefix: sig.b_prefix.clone(),
        reason,
        testing: false,
    }
}

/// Start verifying every DKIM-Signature of `message` (the whole message,
/// header and body). `now` is seconds since the epoch, for x=. For a
/// message arriving in pieces use [`Verifier`].
pub fn verify(message: &[u8], now: u64) -> DkimSession {
    let mut v = Verifier::new(now);
    v.feed(message);
    v.finish()
}

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // at most MAX_SIGNATURES of them
enum SigState {
    Done(DkimResult),
    /// Body hashing in progress for the signature in header field `field`.
    Hashing {
        sig: Signature,
        field: usize,
        body: BodyCanon,
        hash: LimitedHash,
    },
}

/// Streaming verification: feed the message in chunks of any size, then
/// [`finish`](Self::finish) to get the session that fetches keys. Only the
/// header block is kept (at most [`canon::MAX_HEADER_BYTES`]); the body
/// is hashed as it passes.
#[derive(Clone, Debug)]
pub struct Verifier {
    now: u64,
    header: HeaderCollector,
    sigs: Vec<SigState>,
    too_large: bool,
}

impl Verifier {
    pub fn new(now: u64) -> Self {
        Verifier { now, header: HeaderCollector::new(), sigs: Vec::new(), too_large: false }
    }

    pub fn feed(&mut self, data: &[u8]) {
        if self.too_large {
            return;
        }
        let was_done = self.header.is_done();
        let body = match self.header.feed(data) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(_) => {
                self.too_large = true;
                return;
            }
        };
        if !was_done {
            self.start_signatures();
        }
        for st in &mut self.sigs {
            if let SigState::Hashing { body: bc, hash, .. } = st {
                bc.feed(body, &mut |b| hash.update(b));
            }
        }
    }

    /// The header block is complete: parse every DKIM-Signature field.
    fn start_signatures(&mut self) {
        let Ok((headers, _)) = canon::split_headers(self.header.bytes()) else { return };
        for (i, h) in headers.iter().enumerate() {
            if !h.name.eq_ignore_ascii_case(b"dkim-signature") {
                continue;
            }
            let value = &h.raw[h.name.len()..];
            let value = &value[value.iter().position(|&b| b == b':').map(|p| p + 1).unwrap_or(0)..];
            let failed = |status, reason| {
                SigState::Done(DkimResult {
                    status,
                    domain: loose(value, "d"),
                    selector: loose(value, "s"),
                    identity: String::new(),
                    algorithm: None,
                    b_prefix: String::new(),
                    reason: Some(reason),
                    testing: false,
                })
            };
            if self.sigs.len() >= MAX_SIGNATURES {
                self.sigs.push(failed(DkimStatus::Policy, "too many signatures"));
                continue;
            }
            let sig = match sig::parse(value) {
                Ok(s) => s,
                Err(e) => {
                    self.sigs.push(failed(DkimStatus::PermError, e));
                    continue;
                }
            };
            // RFC 8301 3.1: rsa-sha1 signatures are not valid.
            if sig.algorithm == Algorithm::RsaSha1 {
                self.sigs.push(SigState::Done(result(
                    &sig,
                    DkimStatus::PermError,
                    Some("rsa-sha1 is not accepted (RFC 8301)"),
                )));
                continue;
            }
            // RFC 6376 6.1.1: expired signatures are refused.
            if matches!(sig.expiration, Some(x) if x < self.now) {
                self.sigs.push(SigState::Done(result(&sig, DkimStatus::PermError, Some("signature expired"))));
                continue;
            }
            let body = BodyCanon::new(sig.body_canon);
            let hash = LimitedHash::new(sig.body_length);
            self.sigs.push(SigState::Hashing { sig, field: i, body, hash });
        }
    }

    /// End of message: finish the body hashes and hash the headers.
    pub fn finish(mut self) -> DkimSession {
        if self.too_large {
            let r = DkimResult {
                status: DkimStatus::PermError,
                domain: String::new(),
                selector: String::new(),
                identity: String::new(),
                algorithm: None,
                b_prefix: String::new(),
                reason: Some("header block too large to verify"),
                testing: false,
            };
            return DkimSession { items: alloc::vec![Item::Done(r)], cache: Vec::new(), pending: None };
        }
        if !self.header.is_done() {
            self.header.eof();
            self.start_signatures();
        }
        let headers = canon::split_headers(self.header.bytes()).map(|h| h.0).unwrap_or_default();
        let mut items = Vec::with_capacity(self.sigs.len());
        for st in self.sigs {
            items.push(match st {
                SigState::Done(r) => Item::Done(r),
                SigState::Hashing { sig, field, body, mut hash } => {
                    body.finish(&mut |b| hash.update(b));
                    let (bh, total) = hash.finish();
                    check_hashes(sig, &headers, field, bh, total)
                }
            });
        }
        DkimSession { items, cache: Vec::new(), pending: None }
    }
}

fn check_hashes(sig: Signature, headers: &[RawHeader<'_>], field: usize, bh: [u8; 32], total: u64) -> Item {
    if let Some(l) = sig.body_length {
        if l > total {
            return Item::Done(result(&sig, DkimStatus::Fail, Some("l= is longer than the body")));
        }
    }
    if bh.as_slice() != sig.body_hash.as_slice() {
        return Item::Done(result(&sig, DkimStatus::Fail, Some("body hash did not verify")));
    }
    let input = hash::header_hash_input(sig.header_canon, headers, &sig.headers, headers[field].raw);
    let digest = hash::sha256(&input);
    Item::NeedKey { sig, digest }
}

pub(crate) fn key_name(sig: &Signature) -> String {
    format!("{}._domainkey.{}", sig.selector, sig.domain)
}

impl DkimSession {
    /// Advance: ask for the next key record, or finish.
    pub fn poll(&mut self) -> DkimStep {
        if let Some(q) = &self.pending {
            return DkimStep::Query(q.clone());
        }
        for it in &self.items {
            if let Item::NeedKey { sig, .. } = it {
                let name = key_name(sig);
                if !self.cache.iter().any(|(n, _)| *n == name) {
                    let q = DnsQuery { name, qtype: DnsType::Txt };
                    self.pending = Some(q.clone());
                    return DkimStep::Query(q);
                }
            }
        }
        let mut out = Vec::with_capacity(self.items.len());
        for it in &self.items {
            out.push(match it {
                Item::Done(r) => r.clone(),
                Item::NeedKey { sig, digest } => {
                    let name = key_name(sig);
                    let ans = &self.cache.iter().find(|(n, _)| *n == name).expect("answered").1;
                    finish(sig, digest, ans)
                }
            });
        }
        DkimStep::Done(out)
    }

    /// Answer the query last returned by [`poll`](Self::poll).
    pub fn answer(&mut self, answer: DnsAnswer) {
        if let Some(q) = self.pending.take() {
            self.cache.push((q.name, answer));
        }
    }
}

pub(crate) fn finish(sig: &Signature, digest: &[u8; 32], ans: &DnsAnswer) -> DkimResult {
    let txts = match ans {
        DnsAnswer::TempFail => return result(sig, DkimStatus::TempError, Some("key lookup failed")),
        DnsAnswer::NxDomain | DnsAnswer::NoData => return result(sig, DkimStatus::PermError, Some("no key record")),
        DnsAnswer::Records(_) => ans.txt(),
    };
    if txts.is_empty() {
        return result(sig, DkimStatus::PermError, Some("no key record"));
    }
    // RFC 6376 6.1.2: with several records, the first usable one is taken.
    let mut err = KeyError::Syntax("no key record");
    let mut rec = None;
    for t in txts {
        match key::parse(t) {
            Ok(r) => {
                rec = Some(r);
                break;
            }
            Err(e) => err = e,
        }
    }
    let Some(rec) = rec else {
        let why = match err {
            KeyError::Syntax(s) => s,
            KeyError::Revoked => "key revoked",
            KeyError::HashNotAllowed => "key h= does not allow sha256",
            KeyError::ServiceNotAllowed => "key s= excludes email",
            KeyError::RsaTooShort => "RSA key shorter than 1024 bits (RFC 8301)",
            KeyError::BadKey => "unusable public key",
        };
        return result(sig, DkimStatus::PermError, Some(why));
    };
    let mut r = result(sig, DkimStatus::Pass, None);
    r.testing = rec.testing;
    // RFC 6376 3.6.1 t=s: i= must be in exactly d=, not a subdomain.
    if rec.strict {
        let idom = sig.identity.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if !idom.eq_ignore_ascii_case(&sig.domain) {
            r.status = DkimStatus::PermError;
            r.reason = Some("key t=s forbids i= subdomain");
            return r;
        }
    }
    let ok = match (&rec.key, sig.algorithm) {
        (PublicKey::Rsa(k), Algorithm::RsaSha256) => {
            k.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest, &sig.signature).is_ok()
        }
        (PublicKey::Ed25519(k), Algorithm::Ed25519Sha256) => {
            match ed25519_dalek::Signature::from_slice(&sig.signature) {
                Ok(s) => k.verify_strict(digest, &s).is_ok(),
                Err(_) => false,
            }
        }
        _ => {
            r.status = DkimStatus::PermError;
            r.reason = Some("key type does not match a=");
            return r;
        }
    };
    if !ok {
        r.status = DkimStatus::Fail;
        r.reason = Some("signature did not verify");
    }
    r
}
