//! ARC (RFC 8617): the chain of ARC sets forwarders add
//! (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal):
//! verification, sans-IO like DKIM, and sealing ([`Sealer`]) when we
//! forward.

use super::canon::{self, BodyCanon, Canon, HeaderCollector, RawHeader};
use super::hash::{self, LimitedHash};
use super::sig::{self, Algorithm, Signature};
use super::sign::{h_list, push_b_value, push_h_tag, SignError, SigningKey, DEFAULT_HEADERS, DEFAULT_OVERSIGN};
use super::tags;
use super::verify::{finish as check_key, key_name, DkimStatus};
use crate::auth_results::AuthResults;
use crate::dns::{DnsAnswer, DnsQuery, DnsType};
use alloc::string::String;
use alloc::vec::Vec;

/// RFC 8617 4.2.1: at most 50 ARC sets.
pub const MAX_INSTANCES: u32 = 50;

/// RFC 8617 / RFC 8601 arc= result (the chain validation status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArcResult {
    None,
    Pass,
    Fail,
}

impl ArcResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail => "fail",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArcOutcome {
    pub result: ArcResult,
    /// Number of ARC sets (the highest instance).
    pub instances: u32,
    /// d= of each ARC-Seal, instance 1 first.
    pub sealers: Vec<String>,
    pub reason: Option<&'static str>,
}

#[derive(Clone, Debug)]
struct Seal {
    sig: Signature,
}

/// One signature whose key must be fetched and checked.
#[derive(Clone, Debug)]
struct Check {
    sig: Signature,
    digest: [u8; 32],
}

/// Streaming ARC verification; feed the message, then [`finish`](Self::finish).
#[derive(Clone, Debug)]
pub struct ArcVerifier {
    header: HeaderCollector,
    too_large: bool,
    early: Option<ArcOutcome>,
    n: u32,
    sealers: Vec<String>,
    /// AMS(N): its field index and body hashing state.
    ams: Option<(Signature, usize, BodyCanon, LimitedHash)>,
    seals: Vec<Seal>,
}

fn fail(n: u32, reason: &'static str) -> ArcOutcome {
    ArcOutcome { result: ArcResult::Fail, instances: n, sealers: Vec::new(), reason: Some(reason) }
}

fn value_of<'a>(h: &RawHeader<'a>) -> &'a [u8] {
    let v = &h.raw[h.name.len()..];
    &v[v.iter().position(|&b| b == b':').map(|p| p + 1).unwrap_or(0)..]
}

/// i= of an ARC-Authentication-Results value: "i=N;" first.
fn aar_instance(v: &[u8]) -> Result<u32, &'static str> {
    let semi = v.iter().position(|&b| b == b';').ok_or("AAR without ';'")?;
    let t = tags::parse(&v[..semi])?;
    sig::arc_instance(tags::get(&t, "i").ok_or("AAR without i=")?)
}

/// Parse an ARC-Seal (RFC 8617 4.1.3): i, a, b, cv, d, s, t; no h=/bh=.
fn parse_seal(v: &[u8]) -> Result<(u32, Signature, Vec<u8>), &'static str> {
    let t = tags::parse(v)?;
    let i = sig::arc_instance(tags::get(&t, "i").ok_or("AS without i=")?)?;
    if tags::get(&t, "h").is_some() {
        return Err("AS must not have h=");
    }
    let algorithm = match tags::get(&t, "a").ok_or("AS without a=")? {
        b"rsa-sha256" => Algorithm::RsaSha256,
        b"ed25519-sha256" => Algorithm::Ed25519Sha256,
        _ => return Err("unsupported AS a="),
    };
    let b_raw = tags::strip_fws(tags::get(&t, "b").ok_or("AS without b=")?);
    let signature = sig::b64(&b_raw)?;
    let domain = sig::text(tags::get(&t, "d").ok_or("AS without d=")?)?.to_ascii_lowercase();
    let selector = sig::text(tags::get(&t, "s").ok_or("AS without s=")?)?.to_ascii_lowercase();
    if !sig::dns_name_ok(&domain) || !sig::dns_name_ok(&selector) {
        return Err("bad AS d= or s=");
    }
    let cv = tags::get(&t, "cv").ok_or("AS without cv=")?.to_ascii_lowercase();
    let s = Signature {
        algorithm,
        signature,
        body_hash: Vec::new(),
        header_canon: Canon::Relaxed,
        body_canon: Canon::Relaxed,
        identity: alloc::format!("@{domain}"),
        domain,
        headers: Vec::new(),
        body_length: None,
        selector,
        timestamp: None,
        expiration: None,
        b_prefix: String::new(),
    };
    Ok((i, s, cv))
}

impl ArcVerifier {
    pub fn new() -> Self {
        ArcVerifier {
            header: HeaderCollector::new(),
            too_large: false,
            early: None,
            n: 0,
            sealers: Vec::new(),
            ams: None,
            seals: Vec::new(),
        }
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
            self.start();
        }
        if let Some((_, _, bc, h)) = &mut self.ams {
            bc.feed(body, &mut |b| h.update(b));
        }
    }

    /// RFC 8617 5.2 steps 1-3: collect and check the structure of the sets.
    fn start(&mut self) {
        let Ok((headers, _)) = canon::split_headers(self.header.bytes()) else {
            self.early = Some(fail(0, "unparsable header"));
            return;
        };
        let mut aar: Vec<u32> = Vec::new();
        let mut ams: Vec<(u32, usize)> = Vec::new();
        let mut seals: Vec<(u32, Signature, Vec<u8>)> = Vec::new();
        for (idx, h) in headers.iter().enumerate() {
            let v = value_of(h);
            let r = if h.name.eq_ignore_ascii_case(b"arc-authentication-results") {
                aar_instance(v).map(|i| aar.push(i))
            } else if h.name.eq_ignore_ascii_case(b"arc-message-signature") {
                sig::parse_ams(v).map(|(_, i)| ams.push((i, idx)))
            } else if h.name.eq_ignore_ascii_case(b"arc-seal") {
                parse_seal(v).map(|s| seals.push(s))
            } else {
                Ok(())
            };
            if let Err(e) = r {
                self.early = Some(fail(0, e));
                return;
            }
            if aar.len() + ams.len() + seals.len() > 3 * MAX_INSTANCES as usize {
                self.early = Some(fail(0, "too many ARC header fields"));
                return;
            }
        }
        if aar.is_empty() && ams.is_empty() && seals.is_empty() {
            self.early = Some(ArcOutcome { result: ArcResult::None, instances: 0, sealers: Vec::new(), reason: None });
            return;
        }
        let n = seals.iter().map(|s| s.0).max().unwrap_or(0);
        self.n = n;
        // Exactly one of each field per instance 1..=N.
        for i in 1..=n {
            let c = |v: &[u32]| v.iter().filter(|&&x| x == i).count();
            let ams_i: Vec<u32> = ams.iter().map(|a| a.0).collect();
            let as_i: Vec<u32> = seals.iter().map(|s| s.0).collect();
            if c(&aar) != 1 || c(&ams_i) != 1 || c(&as_i) != 1 {
                self.early = Some(fail(n, "ARC sets are incomplete or duplicated"));
                return;
            }
        }
        if aar.len() != n as usize || ams.len() != n as usize || seals.len() != n as usize {
            self.early = Some(fail(n, "ARC instance beyond the highest seal"));
            return;
        }
        seals.sort_by_key(|s| s.0);
        // RFC 8617 5.2 step 2 and 4.1.3: cv=fail anywhere ends it; the
        // first seal says none, later ones pass.
        for (i, _, cv) in &seals {
            let want: &[u8] = if *i == 1 { b"none" } else { b"pass" };
            if cv.as_slice() != want {
                self.early = Some(fail(n, "ARC-Seal cv= breaks the chain"));
                return;
            }
        }
        self.sealers = seals.iter().map(|s| s.1.domain.clone()).collect();
        let (_, idx) = *ams.iter().find(|a| a.0 == n).expect("checked above");
        let (sig, _) = match sig::parse_ams(value_of(&headers[idx])) {
            Ok(s) => s,
            Err(e) => {
                self.early = Some(fail(n, e));
                return;
            }
        };
        let bc = BodyCanon::new(sig.body_canon);
        let h = LimitedHash::new(sig.body_length);
        self.ams = Some((sig, idx, bc, h));
        self.seals = seals.into_iter().map(|(_, sig, _)| Seal { sig }).collect();
    }

    pub fn finish(mut self) -> ArcSession {
        if self.too_large {
            return ArcSession::done(fail(0, "header block too large"));
        }
        if !self.header.is_done() {
            self.header.eof();
            self.start();
        }
        if let Some(o) = self.early.take() {
            return ArcSession::done(o);
        }
        let Some((ams, ams_idx, bc, mut h)) = self.ams.take() else {
            return ArcSession::done(fail(self.n, "no ARC-Message-Signature"));
        };
        bc.finish(&mut |b| h.update(b));
        let (bh, total) = h.finish();
        let n = self.n;
        if ams.body_length.is_some_and(|l| l > total) || bh.as_slice() != ams.body_hash.as_slice() {
            return ArcSession::done(fail(n, "ARC-Message-Signature body hash did not verify"));
        }
        let headers = canon::split_headers(self.header.bytes()).map(|h| h.0).unwrap_or_default();
        let mut checks = Vec::new();
        let input = hash::header_hash_input(ams.header_canon, &headers, &ams.headers, headers[ams_idx].raw);
        checks.push(Check { sig: ams, digest: hash::sha256(&input) });
        // RFC 8617 5.1.1: each seal covers all sets up to its own, in
        // instance order, AAR then AMS then AS, relaxed canonicalization;
        // its own b= is empty and it has no final CRLF.
        let find = |name: &[u8], i: u32| find_set(&headers, name, i);
        for (k, seal) in self.seals.into_iter().enumerate() {
            let inst = k as u32 + 1;
            let mut input = Vec::new();
            for j in 1..=inst {
                let (Some(a), Some(m), Some(s)) =
                    (find(b"arc-authentication-results", j), find(b"arc-message-signature", j), find(b"arc-seal", j))
                else {
                    return ArcSession::done(fail(n, "ARC set missing"));
                };
                canon::header(Canon::Relaxed, a.raw, true, &mut input);
                canon::header(Canon::Relaxed, m.raw, true, &mut input);
                if j == inst {
                    canon::header(Canon::Relaxed, &sig::without_b_value(s.raw), false, &mut input);
                } else {
                    canon::header(Canon::Relaxed, s.raw, true, &mut input);
                }
            }
            checks.push(Check { sig: seal.sig, digest: hash::sha256(&input) });
        }
        ArcSession { checks, cache: Vec::new(), pending: None, n, sealers: self.sealers, outcome: None }
    }
}

/// The ARC field `name` of instance `i`.
fn find_set<'h, 'a>(headers: &'h [RawHeader<'a>], name: &[u8], i: u32) -> Option<&'h RawHeader<'a>> {
    headers.iter().find(|h| {
        if !h.name.eq_ignore_ascii_case(name) {
            return false;
        }
        let v = value_of(h);
        let inst = if name == b"arc-authentication-results" {
            aar_instance(v).ok()
        } else if name == b"arc-message-signature" {
            sig::parse_ams(v).ok().map(|x| x.1)
        } else {
            parse_seal(v).ok().map(|x| x.0)
        };
        inst == Some(i)
    })
}

/// Adds an ARC set (RFC 8617 5.1) when forwarding: AAR with this
/// receiver's results, AMS over the message, AS over the whole chain.
#[derive(Clone, Debug)]
pub struct Sealer {
    domain: String,
    selector: String,
    key: SigningKey,
    headers: Vec<String>,
    oversign: Vec<String>,
}

impl Sealer {
    pub fn new(domain: &str, selector: &str, key: SigningKey) -> Self {
        let mut headers: Vec<String> = DEFAULT_HEADERS.iter().map(|s| String::from(*s)).collect();
        headers.push(String::from("dkim-signature"));
        Sealer {
            domain: domain.to_ascii_lowercase(),
            selector: String::from(selector),
            key,
            headers,
            oversign: DEFAULT_OVERSIGN.iter().map(|s| String::from(*s)).collect(),
        }
    }

    /// Seal `message` as instance N+1. `chain` is the verification of the
    /// ARC sets it arrived with (cv=none when there were none, pass when
    /// they validated); a failed chain is not sealed (`ChainFailed`), the
    /// message is then forwarded without ARC. `ar` supplies the results
    /// copied into the ARC-Authentication-Results. Returns the three fields
    /// (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results) to put
    /// on top of the message.
    pub fn seal(&self, message: &[u8], now: u64, chain: &ArcOutcome, ar: &AuthResults) -> Result<String, SignError> {
        let cv = match chain.result {
            ArcResult::None => "none",
            ArcResult::Pass => "pass",
            ArcResult::Fail => return Err(SignError::ChainFailed),
        };
        let n = chain.instances;
        if n >= MAX_INSTANCES {
            return Err(SignError::ChainFailed);
        }
        let i = n + 1;
        let mut hc = HeaderCollector::new();
        let body = match hc.feed(message) {
            Ok(Some(b)) => b,
            Ok(None) => {
                hc.eof();
                &[][..]
            }
            Err(_) => return Err(SignError::HeaderTooLarge),
        };
        let (headers, _) = canon::split_headers(hc.bytes()).map_err(SignError::MalformedHeader)?;
        let mut lh = LimitedHash::new(None);
        let mut bc = BodyCanon::new(Canon::Relaxed);
        bc.feed(body, &mut |b| lh.update(b));
        bc.finish(&mut |b| lh.update(b));
        let (bh, _) = lh.finish();

        let aar = ar.to_arc_header(i);
        let names = h_list(&headers, &self.headers, &self.oversign);
        let mut ams = alloc::format!(
            "ARC-Message-Signature: i={i}; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={now};",
            self.key.algo(),
            self.domain,
            self.selector
        );
        push_h_tag(&mut ams, &names);
        ams.push_str(&alloc::format!("\r\n\tbh={};\r\n\tb=", super::key::b64(&bh)));
        let input = hash::header_hash_input(Canon::Relaxed, &headers, &names, ams.as_bytes());
        push_b_value(&mut ams, &self.key.sign_digest(&hash::sha256(&input))?);

        let mut seal = alloc::format!(
            "ARC-Seal: i={i}; a={}; cv={cv}; d={}; s={};\r\n\tt={now}; b=",
            self.key.algo(),
            self.domain,
            self.selector
        );
        // RFC 8617 5.1.1: every earlier set in order, then ours.
        let mut input = Vec::new();
        for j in 1..i {
            for name in [&b"arc-authentication-results"[..], b"arc-message-signature", b"arc-seal"] {
                let h = find_set(&headers, name, j).ok_or(SignError::ChainFailed)?;
                canon::header(Canon::Relaxed, h.raw, true, &mut input);
            }
        }
        canon::header(Canon::Relaxed, aar.as_bytes(), true, &mut input);
        canon::header(Canon::Relaxed, ams.as_bytes(), true, &mut input);
        canon::header(Canon::Relaxed, seal.as_bytes(), false, &mut input);
        push_b_value(&mut seal, &self.key.sign_digest(&hash::sha256(&input))?);
        Ok([seal, ams, aar].concat())
    }
}

impl Default for ArcVerifier {
    fn default() -> Self {
        Self::new()
    }
}

/// Key fetching for the ARC checks.
#[derive(Clone, Debug)]
pub struct ArcSession {
    checks: Vec<Check>,
    cache: Vec<(String, DnsAnswer)>,
    pending: Option<DnsQuery>,
    n: u32,
    sealers: Vec<String>,
    outcome: Option<ArcOutcome>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArcStep {
    Query(DnsQuery),
    Done(ArcOutcome),
}

/// Verify the ARC chain of a whole message.
pub fn verify(message: &[u8]) -> ArcSession {
    let mut v = ArcVerifier::new();
    v.feed(message);
    v.finish()
}

impl ArcSession {
    fn done(o: ArcOutcome) -> Self {
        ArcSession {
            checks: Vec::new(),
            cache: Vec::new(),
            pending: None,
            n: o.instances,
            sealers: Vec::new(),
            outcome: Some(o),
        }
    }

    pub fn poll(&mut self) -> ArcStep {
        if let Some(o) = &self.outcome {
            return ArcStep::Done(o.clone());
        }
        if let Some(q) = &self.pending {
            return ArcStep::Query(q.clone());
        }
        for c in &self.checks {
            let name = key_name(&c.sig);
            if !self.cache.iter().any(|(n, _)| *n == name) {
                let q = DnsQuery { name, qtype: DnsType::Txt };
                self.pending = Some(q.clone());
                return ArcStep::Query(q);
            }
        }
        let mut out =
            ArcOutcome { result: ArcResult::Pass, instances: self.n, sealers: self.sealers.clone(), reason: None };
        for (k, c) in self.checks.iter().enumerate() {
            let name = key_name(&c.sig);
            let ans = &self.cache.iter().find(|(n, _)| *n == name).expect("answered").1;
            let r = check_key(&c.sig, &c.digest, ans);
            if r.status != DkimStatus::Pass {
                out.result = ArcResult::Fail;
                out.reason =
                    Some(if k == 0 { "ARC-Message-Signature did not verify" } else { "ARC-Seal did not verify" });
                break;
            }
        }
        self.outcome = Some(out.clone());
        ArcStep::Done(out)
    }

    pub fn answer(&mut self, a: DnsAnswer) {
        if let Some(q) = self.pending.take() {
            self.cache.push((q.name, a));
        }
    }
}
