//! Ed25519 DKIM signing key (RFC 8463) and its DNS record.

use crate::{der, pem};
use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64, Encoding};
use ed25519_dalek::SigningKey;
use zeroize::{Zeroize, Zeroizing};

/// RFC 8410 3: id-Ed25519.
const ID_ED25519: &[u64] = &[1, 3, 101, 112];

/// An Ed25519 DKIM key.
#[derive(Clone)]
pub struct DkimKey {
    /// PKCS#8 v1 PrivateKeyInfo (RFC 8410 7), DER: the 32-byte seed as a
    /// CurvePrivateKey, no public key attribute — the form `openssl genpkey`
    /// writes and every PKCS#8 reader accepts.
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
    /// The raw 32-byte public key (RFC 8032 5.1.5).
    pub public_key: [u8; 32],
    /// The TXT record value to publish at `<selector>._domainkey.<domain>`.
    pub dns_txt: String,
}

impl DkimKey {
    /// RFC 7468 10: "PRIVATE KEY".
    pub fn key_pem(&self) -> Zeroizing<String> {
        pem::encode("PRIVATE KEY", &self.key_pkcs8_der)
    }
}

impl core::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DkimKey").field("dns_txt", &self.dns_txt).field("key_pkcs8_der", &"<redacted>").finish()
    }
}

/// Derive the DKIM key from 32 CSPRNG bytes. Every 32-byte string is a valid
/// Ed25519 private key (RFC 8032 5.1.5 hashes and clamps it), so this cannot
/// fail.
pub fn ed25519_dkim(secret: [u8; 32]) -> DkimKey {
    let mut secret = secret;
    let signing_key = SigningKey::from_bytes(&secret);
    let public_key = signing_key.verifying_key().to_bytes();
    drop(signing_key); // zeroized on drop (ed25519-dalek "zeroize" feature)

    // RFC 8410 7: OneAsymmetricKey v1 = PrivateKeyInfo { version 0,
    // AlgorithmIdentifier { id-Ed25519 } (parameters absent, RFC 8410 3),
    // privateKey OCTET STRING containing CurvePrivateKey ::= OCTET STRING }.
    let inner = Zeroizing::new(der::octet_string(&secret));
    secret.zeroize();
    let outer = Zeroizing::new(der::octet_string(&inner));
    let key_pkcs8_der = Zeroizing::new(der::seq(&[&der::small_uint(0), &der::seq(&[&der::oid(ID_ED25519)]), &outer]));

    // RFC 8463 4.2 / RFC 6376 3.6.1: k=ed25519, p= is the base64 of the raw
    // 32-byte public key (not an SPKI as for RSA).
    let mut dns_txt = String::with_capacity(64);
    dns_txt.push_str("v=DKIM1; k=ed25519; p=");
    dns_txt.push_str(&Base64::encode_string(&public_key));

    DkimKey { key_pkcs8_der, public_key, dns_txt }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 7.1 TEST 1.
        let sk: [u8; 32] = [
            0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49,
            0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
        ];
        let pk: [u8; 32] = [
            0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1,
            0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
        ];
        let k = ed25519_dkim(sk);
        assert_eq!(k.public_key, pk);
        assert_eq!(k.dns_txt, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        // RFC 8410 10.3 shape: 302e020100300506032b657004220420 || seed.
        let mut expect = alloc::vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
        ];
        expect.extend_from_slice(&sk);
        assert_eq!(*k.key_pkcs8_der, expect);
        assert!(k.key_pem().starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"));
        assert!(!alloc::format!("{k:?}").contains("key_pkcs8_der: ["));
    }
}
