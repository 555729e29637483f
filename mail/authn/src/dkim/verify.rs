//! DKIM verification (RFC 6376 6) as a sans-IO session: the message is
//! hashed up front; the session then asks for each `<s>._domainkey.<d>` TXT
//! record and finishes with one result per signature.

use super::canon::{self, RawHeader};
use super::hash;
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
/// header and body). `now` is seconds since the epoch, for x=.
pub fn verify(message: &[u8], now: u64) -> DkimSession {
    let mut items = Vec::new();
    if let Ok((headers, body_off)) = canon::split_headers(message) {
        let body = &message[body_off..];
        for h in headers.iter().filter(|h| h.name.eq_ignore_ascii_case(b"dkim-signature")) {
            let value = &h.raw[h.name.len()..];
            let value = &value[value.iter().position(|&b| b == b':').map(|p| p + 1).unwrap_or(0)..];
            if items.len() >= MAX_SIGNATURES {
                items.push(Item::Done(DkimResult {
                    status: DkimStatus::Policy,
                    domain: loose(value, "d"),
                    selector: loose(value, "s"),
                    identity: String::new(),
                    algorithm: None,
                    b_prefix: String::new(),
                    reason: Some("too many signatures"),
                    testing: false,
                }));
                continue;
            }
            items.push(check_one(&headers, h, value, body, now));
        }
    }
    DkimSession { items, cache: Vec::new(), pending: None }
}

fn check_one(headers: &[RawHeader<'_>], field: &RawHeader<'_>, value: &[u8], body: &[u8], now: u64) -> Item {
    let sig = match sig::parse(value) {
        Ok(s) => s,
        Err(e) => {
            return Item::Done(DkimResult {
                status: DkimStatus::PermError,
                domain: loose(value, "d"),
                selector: loose(value, "s"),
                identity: String::new(),
                algorithm: None,
                b_prefix: String::new(),
                reason: Some(e),
                testing: false,
            })
        }
    };
    // RFC 8301 3.1: rsa-sha1 signatures are not valid.
    if sig.algorithm == Algorithm::RsaSha1 {
        return Item::Done(result(&sig, DkimStatus::PermError, Some("rsa-sha1 is not accepted (RFC 8301)")));
    }
    // RFC 6376 6.1.1: expired signatures are refused.
    if let Some(x) = sig.expiration {
        if x < now {
            return Item::Done(result(&sig, DkimStatus::PermError, Some("signature expired")));
        }
    }
    let (bh, total) = hash::body_hash(sig.body_canon, body, sig.body_length);
    if let Some(l) = sig.body_length {
        if l > total {
            return Item::Done(result(&sig, DkimStatus::Fail, Some("l= is longer than the body")));
        }
    }
    if bh.as_slice() != sig.body_hash.as_slice() {
        return Item::Done(result(&sig, DkimStatus::Fail, Some("body hash did not verify")));
    }
    let input = hash::header_hash_input(sig.header_canon, headers, &sig.headers, field.raw);
    let digest = hash::sha256(&input);
    Item::NeedKey { sig, digest }
}

fn key_name(sig: &Signature) -> String {
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

fn finish(sig: &Signature, digest: &[u8; 32], ans: &DnsAnswer) -> DkimResult {
    let txts = match ans {
        DnsAnswer::TempFail => return result(sig, DkimStatus::TempError, Some("key lookup failed")),
        DnsAnswer::NxDomain | DnsAnswer::NoData => {
            return result(sig, DkimStatus::PermError, Some("no key record"))
        }
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
        (PublicKey::Rsa(k), Algorithm::RsaSha256) => k
            .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest, &sig.signature)
            .is_ok(),
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
