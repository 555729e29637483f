//! DKIM signing (RFC 6376 5): relaxed/relaxed, SHA-256, RSA or Ed25519
//! (RFC 8463), several keys at once (selector rotation). The body hash is
//! computed while the message streams through; only the header block is
//! kept in memory.

use super::canon::{self, BodyCanon, Canon, HeaderCollector};
use super::hash::{self, LimitedHash};
use super::key::b64;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::RsaPrivateKey;

/// Fields signed by default (when present).
pub const DEFAULT_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "to",
    "cc",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-language",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
];

/// Fields signed once more than they occur, so none can be added later
/// (RFC 6376 8.15).
pub const DEFAULT_OVERSIGN: &[&str] = &["from", "subject", "date", "to"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The key file could not be read as PKCS#1/PKCS#8 PEM/DER.
    BadKey,
    HeaderTooLarge,
    MalformedHeader(&'static str),
    NoFrom,
    Crypto,
    /// ARC: the incoming chain failed (or is at 50 sets); not sealed.
    ChainFailed,
}

/// A private key.
#[derive(Clone, Debug)]
pub enum SigningKey {
    Rsa(RsaPrivateKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// PEM: "RSA PRIVATE KEY" (PKCS#1) or "PRIVATE KEY" (PKCS#8, RSA or
    /// Ed25519).
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if let Ok(k) = RsaPrivateKey::from_pkcs1_pem(pem) {
            return Ok(SigningKey::Rsa(k));
        }
        if let Ok(k) = RsaPrivateKey::from_pkcs8_pem(pem) {
            return Ok(SigningKey::Rsa(k));
        }
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map(SigningKey::Ed25519).map_err(|_| SignError::BadKey)
    }

    /// DER of the same kinds as [`from_pem`](Self::from_pem).
    pub fn from_der(der: &[u8]) -> Result<Self, SignError> {
        if let Ok(k) = RsaPrivateKey::from_pkcs1_der(der) {
            return Ok(SigningKey::Rsa(k));
        }
        if let Ok(k) = RsaPrivateKey::from_pkcs8_der(der) {
            return Ok(SigningKey::Rsa(k));
        }
        ed25519_dalek::SigningKey::from_pkcs8_der(der).map(SigningKey::Ed25519).map_err(|_| SignError::BadKey)
    }

    /// An Ed25519 key from its 32-byte seed (RFC 8032 private key).
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Self {
        SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    pub(crate) fn algo(&self) -> &'static str {
        match self {
            SigningKey::Rsa(_) => "rsa-sha256",
            SigningKey::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The TXT record to publish at `<selector>._domainkey.<domain>`.
    pub fn dns_record(&self) -> Result<String, SignError> {
        Ok(match self {
            SigningKey::Rsa(k) => {
                let der = k.to_public_key().to_public_key_der().map_err(|_| SignError::BadKey)?;
                format!("v=DKIM1; k=rsa; p={}", b64(der.as_bytes()))
            }
            SigningKey::Ed25519(k) => {
                format!("v=DKIM1; k=ed25519; p={}", b64(k.verifying_key().as_bytes()))
            }
        })
    }

    pub(crate) fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, SignError> {
        match self {
            SigningKey::Rsa(k) => {
                k.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest).map_err(|_| SignError::Crypto)
            }
            SigningKey::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                Ok(k.sign(digest).to_bytes().to_vec())
            }
        }
    }
}

/// One (domain, selector, key) to sign with.
#[derive(Clone, Debug)]
pub struct SignerKey {
    pub domain: String,
    pub selector: String,
    pub key: SigningKey,
}

/// Signing configuration: keys (all used for each message), the header
/// list, the over-signed names, and an optional signature lifetime.
#[derive(Clone, Debug)]
pub struct Signer {
    keys: Vec<SignerKey>,
    headers: Vec<String>,
    oversign: Vec<String>,
    lifetime: Option<u64>,
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}

impl Signer {
    pub fn new() -> Self {
        Signer {
            keys: Vec::new(),
            headers: DEFAULT_HEADERS.iter().map(|s| String::from(*s)).collect(),
            oversign: DEFAULT_OVERSIGN.iter().map(|s| String::from(*s)).collect(),
            lifetime: None,
        }
    }

    /// Add a key; every message gets one signature per key (rotation:
    /// publish the new selector, sign with both, retire the old one).
    pub fn add_key(&mut self, domain: &str, selector: &str, key: SigningKey) -> &mut Self {
        self.keys.push(SignerKey { domain: domain.to_ascii_lowercase(), selector: String::from(selector), key });
        self
    }

    /// Replace the signed header list (From is always added).
    pub fn set_headers(&mut self, names: &[&str]) -> &mut Self {
        self.headers = names.iter().map(|s| s.to_ascii_lowercase()).collect();
        if !self.headers.iter().any(|h| h == "from") {
            self.headers.insert(0, String::from("from"));
        }
        self
    }

    pub fn set_oversign(&mut self, names: &[&str]) -> &mut Self {
        self.oversign = names.iter().map(|s| s.to_ascii_lowercase()).collect();
        self
    }

    /// Add x= this many seconds after t=.
    pub fn set_lifetime(&mut self, secs: Option<u64>) -> &mut Self {
        self.lifetime = secs;
        self
    }

    pub fn keys(&self) -> &[SignerKey] {
        &self.keys
    }

    /// Start signing one message; `now` (seconds since the epoch) is t=.
    pub fn start(&self, now: u64) -> SignSession<'_> {
        SignSession {
            signer: self,
            now,
            header: HeaderCollector::new(),
            body: BodyCanon::new(Canon::Relaxed),
            hash: LimitedHash::new(None),
        }
    }

    /// Sign a whole message; returns the DKIM-Signature fields (each ending
    /// in CRLF) to put on top of it.
    pub fn sign(&self, message: &[u8], now: u64) -> Result<Vec<String>, SignError> {
        let mut s = self.start(now);
        s.feed(message)?;
        s.finish()
    }
}

/// A message being signed; feed it in chunks, then [`finish`](Self::finish).
pub struct SignSession<'a> {
    signer: &'a Signer,
    now: u64,
    header: HeaderCollector,
    body: BodyCanon,
    hash: LimitedHash,
}

impl SignSession<'_> {
    pub fn feed(&mut self, data: &[u8]) -> Result<(), SignError> {
        let body = match self.header.feed(data) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(()),
            Err(_) => return Err(SignError::HeaderTooLarge),
        };
        let h = &mut self.hash;
        self.body.feed(body, &mut |b| h.update(b));
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<String>, SignError> {
        let SignSession { signer, now, mut header, body, mut hash } = self;
        header.eof();
        let header = header.bytes();
        body.finish(&mut |b| hash.update(b));
        let (bh, _) = hash.finish();
        let (headers, _) = canon::split_headers(header).map_err(SignError::MalformedHeader)?;
        if !headers.iter().any(|h| h.name.eq_ignore_ascii_case(b"from")) {
            return Err(SignError::NoFrom);
        }
        let names = h_list(&headers, &signer.headers, &signer.oversign);
        let mut out = Vec::new();
        for k in &signer.keys {
            let mut f = format!(
                "DKIM-Signature: v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={};",
                k.key.algo(),
                k.domain,
                k.selector,
                now
            );
            if let Some(l) = signer.lifetime {
                f.push_str(&format!(" x={};", now + l));
            }
            push_h_tag(&mut f, &names);
            f.push_str(&format!("\r\n\tbh={};\r\n\tb=", b64(&bh)));
            let input = hash::header_hash_input(Canon::Relaxed, &headers, &names, f.as_bytes());
            let sig = k.key.sign_digest(&hash::sha256(&input))?;
            push_b_value(&mut f, &sig);
            out.push(f);
        }
        Ok(out)
    }
}

/// h=: each configured name once per occurrence in the message, over-signed
/// names once more (RFC 6376 5.4.2, 8.15).
pub(crate) fn h_list(headers: &[canon::RawHeader<'_>], wanted: &[String], oversign: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in wanted {
        let count = headers.iter().filter(|h| h.name.eq_ignore_ascii_case(n.as_bytes())).count();
        let extra = usize::from(oversign.iter().any(|o| o == n));
        for _ in 0..count + extra {
            names.push(n.clone());
        }
    }
    names
}

/// Append "\r\n\th=a:b:c;" folded before 72 columns.
pub(crate) fn push_h_tag(f: &mut String, names: &[String]) {
    f.push_str("\r\n\th=");
    let mut line = 3;
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            f.push(':');
            line += 1;
        }
        if line + n.len() > 72 {
            f.push_str("\r\n\t ");
            line = 2;
        }
        f.push_str(n);
        line += n.len();
    }
    f.push(';');
}

/// Append the base64 signature folded in 72-column pieces, then CRLF.
pub(crate) fn push_b_value(f: &mut String, sig: &[u8]) {
    let b = b64(sig);
    let mut first = true;
    for chunk in b.as_bytes().chunks(72) {
        if !first {
            f.push_str("\r\n\t ");
        }
        first = false;
        f.push_str(core::str::from_utf8(chunk).unwrap_or(""));
    }
    f.push_str("\r\n");
}
