//! The self-signed X.509 v3 certificate (RFC 5280 4.1) and its P-256 key.

use crate::der::{self, tag};
use crate::{hostname, pem, time, Error};
use alloc::string::String;
use alloc::vec::Vec;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// At most this many names go into subjectAltName. The appliance needs a
/// handful; the bound keeps the certificate (and the heap) small.
pub const MAX_HOSTNAMES: usize = 100;
/// RFC 5280 Appendix A: `ub-common-name INTEGER ::= 64`. The first hostname
/// becomes the CN, so it must fit.
pub const MAX_COMMON_NAME_LEN: usize = 64;

/// OIDs (dotted arcs, encoded by `der::oid`).
mod oids {
    /// RFC 5758 3.2: ecdsa-with-SHA256.
    pub const ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
    /// RFC 5480 2.1.1: id-ecPublicKey.
    pub const EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
    /// RFC 5480 2.1.1.1: secp256r1 (prime256v1).
    pub const SECP256R1: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
    /// X.520 id-at-commonName.
    pub const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
    /// RFC 5280 4.2.1.2.
    pub const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
    /// RFC 5280 4.2.1.3.
    pub const KEY_USAGE: &[u64] = &[2, 5, 29, 15];
    /// RFC 5280 4.2.1.6.
    pub const SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
    /// RFC 5280 4.2.1.9.
    pub const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
    /// RFC 5280 4.2.1.12.
    pub const EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
    /// RFC 5280 4.2.1.12: id-kp-serverAuth.
    pub const KP_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
}

/// A freshly generated certificate and its private key.
///
/// `key_pkcs8_der` is wiped from memory when dropped; the certificate is
/// public.
#[derive(Clone)]
pub struct SelfSigned {
    /// The X.509 v3 certificate, DER (RFC 5280 4.1).
    pub cert_der: Vec<u8>,
    /// The private key as PKCS#8 PrivateKeyInfo (RFC 5208 5) holding an
    /// ECPrivateKey (RFC 5915 3) for P-256, DER.
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// The public key, SEC1 uncompressed point (0x04 || X || Y), as it
    /// appears in the certificate's subjectPublicKeyInfo.
    pub public_key_sec1: [u8; 65],
}

impl SelfSigned {
    /// RFC 7468 5: "CERTIFICATE".
    pub fn cert_pem(&self) -> String {
        String::clone(&pem::encode("CERTIFICATE", &self.cert_der))
    }

    /// RFC 7468 10: "PRIVATE KEY" (unencrypted PKCS#8).
    pub fn key_pem(&self) -> Zeroizing<String> {
        pem::encode("PRIVATE KEY", &self.key_pkcs8_der)
    }
}

impl core::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SelfSigned")
            .field("cert_der_len", &self.cert_der.len())
            .field("key_pkcs8_der", &"<redacted>")
            .finish()
    }
}

fn algorithm_ecdsa_sha256() -> Vec<u8> {
    // RFC 5758 3.2: "the encoding MUST omit the parameters field".
    der::seq(&[&der::oid(oids::ECDSA_WITH_SHA256)])
}

/// Name ::= SEQUENCE OF RDN, here exactly one RDN with one CN attribute.
/// RFC 5280 4.1.2.4: new certificates use UTF8String for DirectoryString.
fn name_cn(cn: &str) -> Vec<u8> {
    let atv = der::seq(&[&der::oid(oids::COMMON_NAME), &der::tlv(tag::UTF8_STRING, cn.as_bytes())]);
    der::seq(&[&der::set_of_one(&atv)])
}

/// Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }.
/// X.690 11.5: a DEFAULT value is omitted, so `critical` appears only if true.
fn extension(id: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let id = der::oid(id);
    let value = der::octet_string(value);
    if critical {
        der::seq(&[&id, &der::boolean(true), &value])
    } else {
        der::seq(&[&id, &value])
    }
}

/// Serial number derived from the secret's hash (domain-separated so it is
/// not the hash of the key itself). RFC 5280 4.1.2.2: positive, at most 20
/// octets, unique per issuer (a new key is a new issuer here). The top bit is
/// cleared (positive) and the next one set (non-zero, always 20 octets).
fn serial(secret: &[u8; 32]) -> [u8; 20] {
    let mut h = Sha256::new();
    h.update(b"unimail selfsigned serial v1\0");
    h.update(secret);
    let digest = h.finalize();
    let mut s = [0u8; 20];
    s.copy_from_slice(&digest[..20]);
    s[0] = (s[0] & 0x7f) | 0x40;
    s
}

/// Generate a P-256 key from `secret` and a self-signed server certificate
/// for `hostnames`, valid from `not_before_unix` to `not_after_unix`
/// (inclusive, RFC 5280 4.1.2.5).
///
/// `secret` must be 32 bytes from a CSPRNG. It is used directly as the
/// private scalar (big-endian); if it is zero or not below the group order
/// (probability about 2^-32) this returns [`Error::InvalidSecret`] and the
/// caller draws new bytes. Signing uses RFC 6979 deterministic nonces, so no
/// further randomness is needed and the output is a pure function of the
/// inputs.
///
/// The first hostname is the subject/issuer CN; all of them are dNSNames in
/// subjectAltName, which is what TLS clients match (RFC 6125 6.4.4).
pub fn self_signed(
    hostnames: &[&str],
    not_before_unix: u64,
    not_after_unix: u64,
    secret: [u8; 32],
) -> Result<SelfSigned, Error> {
    let mut secret = secret;
    let result = build(hostnames, not_before_unix, not_after_unix, &secret);
    secret.zeroize();
    result
}

fn build(hostnames: &[&str], not_before: u64, not_after: u64, secret: &[u8; 32]) -> Result<SelfSigned, Error> {
    // Check all cheap preconditions before doing any curve arithmetic.
    let first = *hostnames.first().ok_or(Error::NoHostnames)?;
    if hostnames.len() > MAX_HOSTNAMES {
        return Err(Error::TooManyHostnames);
    }
    if let Some(i) = hostnames.iter().position(|h| !hostname::valid_dns_name(h)) {
        return Err(Error::InvalidHostname(i));
    }
    if first.len() > MAX_COMMON_NAME_LEN {
        return Err(Error::CommonNameTooLong);
    }
    if not_before > not_after {
        return Err(Error::InvalidValidity);
    }
    let not_before = time::encode(not_before).ok_or(Error::TimeOutOfRange)?;
    let not_after = time::encode(not_after).ok_or(Error::TimeOutOfRange)?;

    // SEC1 2.3.6 / FIPS 186-5 A.4.2: the scalar must lie in [1, n-1]; the
    // p256 crate checks it in constant time.
    let secret_key = p256::SecretKey::from_bytes(secret.into()).map_err(|_| Error::InvalidSecret)?;
    let signing_key = SigningKey::from(&secret_key);
    let point = secret_key.public_key().to_encoded_point(false);
    let mut public_key_sec1 = [0u8; 65];
    public_key_sec1.copy_from_slice(point.as_bytes());

    // RFC 5208 5 / RFC 5915 3 (via the pkcs8 crate).
    let key_pkcs8_der = Zeroizing::new(secret_key.to_pkcs8_der().map_err(|_| Error::Encoding)?.as_bytes().to_vec());

    // RFC 5280 4.1.2.7 + RFC 5480 2: SubjectPublicKeyInfo with the named
    // curve as parameters and the uncompressed point as the BIT STRING.
    let spki = der::seq(&[
        &der::seq(&[&der::oid(oids::EC_PUBLIC_KEY), &der::oid(oids::SECP256R1)]),
        &der::bit_string(0, &public_key_sec1),
    ]);

    // Extensions (RFC 5280 4.2.1.x).
    let mut sans = Vec::new();
    for h in hostnames {
        // GeneralName dNSName [2] IMPLICIT IA5String.
        sans.extend_from_slice(&der::tlv(tag::context_primitive(2), h.as_bytes()));
    }
    let san = der::tlv(tag::SEQUENCE, &sans);
    // RFC 7093 2 method 1: leftmost 160 bits of SHA-256 of subjectPublicKey.
    let ski = der::octet_string(&Sha256::digest(public_key_sec1)[..20]);
    let extensions = der::seq(&[
        // 4.2.1.6: non-critical because the subject is not empty.
        &extension(oids::SUBJECT_ALT_NAME, false, &san),
        // 4.2.1.9: cA FALSE is the DEFAULT, so the SEQUENCE is empty.
        &extension(oids::BASIC_CONSTRAINTS, true, &der::seq(&[])),
        // 4.2.1.3: digitalSignature is bit 0; DER drops trailing zero bits
        // (X.690 11.2.2), leaving one octet with 7 unused bits. SHOULD be
        // critical.
        &extension(oids::KEY_USAGE, true, &der::bit_string(7, &[0x80])),
        // 4.2.1.12: id-kp-serverAuth only.
        &extension(oids::EXT_KEY_USAGE, false, &der::seq(&[&der::oid(oids::KP_SERVER_AUTH)])),
        // 4.2.1.2: SHOULD be present in end-entity certificates.
        &extension(oids::SUBJECT_KEY_IDENTIFIER, false, &ski),
    ]);

    let name = name_cn(first);
    let tbs = der::seq(&[
        // 4.1.2.1: version [0] EXPLICIT, v3 = 2.
        &der::constructed(tag::context_constructed(0), &[&der::small_uint(2)]),
        // 4.1.2.2
        &der::uint(&serial(secret)),
        // 4.1.2.3: MUST equal signatureAlgorithm below.
        &algorithm_ecdsa_sha256(),
        // 4.1.2.4: issuer = subject for a self-signed certificate.
        &name,
        // 4.1.2.5
        &der::seq(&[&not_before, &not_after]),
        // 4.1.2.6
        &name,
        &spki,
        // 4.1.2.9: extensions [3] EXPLICIT.
        &der::constructed(tag::context_constructed(3), &[&extensions]),
    ]);

    // RFC 5758 3.2: ECDSA over SHA-256 of the DER TBSCertificate; the value
    // is Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279
    // 2.2.3) inside the BIT STRING.
    let sig: Signature = signing_key.sign(&tbs);
    let (r, s) = sig.split_bytes();
    let sig_value = der::seq(&[&der::uint(&r), &der::uint(&s)]);

    // 4.1.1
    let cert_der = der::seq(&[&tbs, &algorithm_ecdsa_sha256(), &der::bit_string(0, &sig_value)]);

    Ok(SelfSigned { cert_der, key_pkcs8_der, public_key_sec1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [7; 32];
    const NB: u64 = 1_700_000_000;
    const NA: u64 = NB + 365 * 86_400;

    #[test]
    fn rejects_bad_scalars() {
        assert_eq!(self_signed(&["a.example"], NB, NA, [0; 32]).unwrap_err(), Error::InvalidSecret);
        assert_eq!(self_signed(&["a.example"], NB, NA, [0xff; 32]).unwrap_err(), Error::InvalidSecret);
        // n itself (the group order) and n - 1.
        let n: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6,
            0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
        ];
        assert_eq!(self_signed(&["a.example"], NB, NA, n).unwrap_err(), Error::InvalidSecret);
        let mut n_minus_1 = n;
        n_minus_1[31] -= 1;
        assert!(self_signed(&["a.example"], NB, NA, n_minus_1).is_ok());
        let mut one = [0u8; 32];
        one[31] = 1;
        assert!(self_signed(&["a.example"], NB, NA, one).is_ok());
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(self_signed(&[], NB, NA, SECRET).unwrap_err(), Error::NoHostnames);
        assert_eq!(self_signed(&["ok.example", "bad name"], NB, NA, SECRET).unwrap_err(), Error::InvalidHostname(1));
        let many = ["a.example"; MAX_HOSTNAMES + 1];
        assert_eq!(self_signed(&many, NB, NA, SECRET).unwrap_err(), Error::TooManyHostnames);
        assert!(self_signed(&many[..MAX_HOSTNAMES], NB, NA, SECRET).is_ok());
        let long = alloc::format!("{}.example", "a".repeat(60));
        assert_eq!(self_signed(&[&long], NB, NA, SECRET).unwrap_err(), Error::CommonNameTooLong);
        // A long name is fine in second place.
        assert!(self_signed(&["short.example", &long], NB, NA, SECRET).is_ok());
        assert_eq!(self_signed(&["a.example"], NA, NB, SECRET).unwrap_err(), Error::InvalidValidity);
        assert_eq!(self_signed(&["a.example"], NB, time::MAX_UNIX + 1, SECRET).unwrap_err(), Error::TimeOutOfRange);
        assert!(self_signed(&["a.example"], NB, time::MAX_UNIX, SECRET).is_ok());
        assert!(self_signed(&["a.example"], NB, NB, SECRET).is_ok());
    }

    #[test]
    fn deterministic_and_serial_shape() {
        let a = self_signed(&["a.example"], NB, NA, SECRET).unwrap();
        let b = self_signed(&["a.example"], NB, NA, SECRET).unwrap();
        assert_eq!(a.cert_der, b.cert_der);
        assert_eq!(*a.key_pkcs8_der, *b.key_pkcs8_der);
        let s = serial(&SECRET);
        assert_eq!(s[0] & 0xc0, 0x40);
        assert_ne!(serial(&SECRET), serial(&[8; 32]));
        // The encoded INTEGER is 20 content octets, no sign padding.
        assert_eq!(der::uint(&s)[..2], [0x02, 20]);
        assert!(a.cert_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(a.key_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(!alloc::format!("{a:?}").contains("key_pkcs8_der: ["));
    }
}
