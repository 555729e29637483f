//! RFC 6376 3.6.1: DKIM key records (`<s>._domainkey.<d>` TXT), and the
//! public keys they carry (RSA per RFC 6376/8301, Ed25519 per RFC 8463).

use super::tags;
use base64ct::{Base64, Encoding};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;

/// RFC 8301 3.2: verifiers refuse RSA keys shorter than this.
pub const MIN_RSA_BITS: usize = 1024;
/// And we refuse absurdly large ones (bounded work).
pub const MAX_RSA_BITS: usize = 8192;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    Rsa(RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A parsed key record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub key: PublicKey,
    /// t=s: the i= domain must equal d= exactly.
    pub strict: bool,
    /// t=y: the domain is testing DKIM.
    pub testing: bool,
}

/// Why a key record cannot be used; all are "permerror" for the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    Syntax(&'static str),
    /// p= empty: the key was revoked (RFC 6376 3.6.1).
    Revoked,
    /// h= does not allow sha256.
    HashNotAllowed,
    /// s= excludes email.
    ServiceNotAllowed,
    RsaTooShort,
    BadKey,
}

/// Parse a key record (absent k= means rsa).
pub fn parse(txt: &[u8]) -> Result<KeyRecord, KeyError> {
    let t = tags::parse(txt).map_err(KeyError::Syntax)?;
    if let Some(v) = tags::get(&t, "v") {
        if v != b"DKIM1" {
            return Err(KeyError::Syntax("v= is not DKIM1"));
        }
        // v= must be the first tag when present.
        if t[0].0 != b"v" {
            return Err(KeyError::Syntax("v= not first"));
        }
    }
    if let Some(h) = tags::get(&t, "h") {
        if !h.split(|&b| b == b':').any(|a| trim(a) == b"sha256") {
            return Err(KeyError::HashNotAllowed);
        }
    }
    if let Some(s) = tags::get(&t, "s") {
        if !s.split(|&b| b == b':').any(|a| matches!(trim(a), b"*" | b"email")) {
            return Err(KeyError::ServiceNotAllowed);
        }
    }
    let (mut strict, mut testing) = (false, false);
    if let Some(flags) = tags::get(&t, "t") {
        for f in flags.split(|&b| b == b':') {
            match trim(f) {
                b"s" => strict = true,
                b"y" => testing = true,
                _ => {}
            }
        }
    }
    let p = tags::strip_fws(tags::get(&t, "p").ok_or(KeyError::Syntax("missing p="))?);
    if p.is_empty() {
        return Err(KeyError::Revoked);
    }
    let p = core::str::from_utf8(&p).map_err(|_| KeyError::Syntax("bad p="))?;
    let der = Base64::decode_vec(p).map_err(|_| KeyError::Syntax("bad base64 in p="))?;
    let key = match tags::get(&t, "k").unwrap_or(b"rsa") {
        b"rsa" => {
            // RFC 6376 3.6.1 says SubjectPublicKeyInfo; bare RSAPublicKey
            // (PKCS#1) is also seen in the wild, accept both.
            let k = RsaPublicKey::from_public_key_der(&der)
                .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
                .map_err(|_| KeyError::BadKey)?;
            let bits = k.n().bits();
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaTooShort);
            }
            if bits > MAX_RSA_BITS {
                return Err(KeyError::BadKey);
            }
            PublicKey::Rsa(k)
        }
        b"ed25519" => {
            // RFC 8463 4.2: p= is the raw 32-byte public key.
            let raw: [u8; 32] = der.as_slice().try_into().map_err(|_| KeyError::BadKey)?;
            PublicKey::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| KeyError::BadKey)?)
        }
        _ => return Err(KeyError::Syntax("unknown k= key type")),
    };
    Ok(KeyRecord { key, strict, testing })
}

fn trim(s: &[u8]) -> &[u8] {
    let s = match s.iter().position(|b| !b" \t\r\n".contains(b)) {
        Some(i) => &s[i..],
        None => return &[],
    };
    let e = s.iter().rposition(|b| !b" \t\r\n".contains(b)).map(|e| e + 1).unwrap_or(0);
    &s[..e]
}

/// Base64 encoding used for p=, b=, bh=.
pub fn b64(data: &[u8]) -> alloc::string::String {
    Base64::encode_string(data)
}
