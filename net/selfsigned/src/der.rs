//! A minimal DER *writer* (ITU-T X.690 10): just the handful of types an
//! X.509 v3 certificate and a PKCS#8 key need. No parser lives here: the
//! output is checked in tests against OpenSSL and `x509-parser`.
//!
//! Every function returns a complete TLV so that callers compose a structure
//! bottom-up (`seq(&[a, b, c])`); lengths are always known before encoding,
//! which is what DER's definite-length rule (X.690 10.1) needs.

use alloc::vec::Vec;

/// Universal and context tags used by this crate (X.680 8.4, X.690 8.1.2).
pub mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// Constructed SEQUENCE / SEQUENCE OF.
    pub const SEQUENCE: u8 = 0x30;
    /// Constructed SET / SET OF.
    pub const SET: u8 = 0x31;

    /// `[n]` context-specific, constructed (EXPLICIT tagging of a constructed
    /// or any type).
    pub const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` context-specific, primitive (IMPLICIT tagging of a primitive type).
    pub const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// X.690 8.1.3: definite length, short form below 128, otherwise long form
/// with the minimum number of length octets (X.690 10.1).
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// One tag-length-value with the given content octets.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A constructed value (SEQUENCE, SET, explicit tag) whose content is the
/// concatenation of already encoded TLVs.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    constructed(tag::SEQUENCE, parts)
}

/// X.690 11.6: a SET OF must be sorted by encoding; this crate only ever
/// emits single-element sets (one attribute per RDN), so taking exactly one
/// element makes the sorting rule hold by construction.
pub fn set_of_one(part: &[u8]) -> Vec<u8> {
    constructed(tag::SET, &[part])
}

/// X.690 8.3 + 10.1: INTEGER from an unsigned big-endian magnitude. Leading
/// zero octets are dropped and one 0x00 is prepended when the top bit is set,
/// so the value stays positive and the encoding minimal.
pub fn uint(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let m = &magnitude[skip..];
    let mut content = Vec::with_capacity(m.len() + 1);
    if m.is_empty() || m[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(m);
    tlv(tag::INTEGER, &content)
}

/// INTEGER for a small non-negative value (versions).
pub fn small_uint(v: u8) -> Vec<u8> {
    uint(&[v])
}

/// X.690 8.2.2 + 11.1: DER TRUE is 0xFF.
pub fn boolean(v: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if v { 0xff } else { 0x00 }])
}

/// X.690 8.6: BIT STRING; the first content octet counts unused bits in the
/// last octet (which DER requires to be zero, X.690 11.2.1).
pub fn bit_string(unused_bits: u8, bytes: &[u8]) -> Vec<u8> {
    debug_assert!(unused_bits < 8 && (unused_bits == 0 || !bytes.is_empty()));
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(unused_bits);
    content.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &content)
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, bytes)
}

/// X.690 8.19: OBJECT IDENTIFIER. The first two arcs share one subidentifier
/// (40 * a + b); every subidentifier is base-128, high bit = "more follows",
/// with no leading 0x80 octets (X.690 8.19.2).
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    assert!(arcs.len() >= 2 && arcs[0] <= 2 && (arcs[0] == 2 || arcs[1] < 40));
    let mut content = Vec::new();
    let mut push_sub = |mut v: u64| {
        let mut tmp = [0u8; 10];
        let mut i = tmp.len();
        loop {
            i -= 1;
            tmp[i] = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        let last = tmp.len() - 1;
        for (j, b) in tmp.iter_mut().enumerate().skip(i) {
            if j != last {
                *b |= 0x80;
            }
        }
        content.extend_from_slice(&tmp[i..]);
    };
    push_sub(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push_sub(a);
    }
    tlv(tag::OID, &content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn lengths_short_and_long_form() {
        assert_eq!(tlv(0x04, &[]), vec![0x04, 0x00]);
        assert_eq!(tlv(0x04, &[0; 127])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(0x04, &[0; 128])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 255])[..3], [0x04, 0x81, 0xff]);
        assert_eq!(tlv(0x04, &[0; 256])[..4], [0x04, 0x82, 0x01, 0x00]);
        assert_eq!(tlv(0x04, &[0; 65536])[..5], [0x04, 0x83, 0x01, 0x00, 0x00]);
        assert_eq!(tlv(0x04, &[0; 300]).len(), 300 + 4);
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(small_uint(0), vec![0x02, 0x01, 0x00]);
        assert_eq!(small_uint(2), vec![0x02, 0x01, 0x02]);
        assert_eq!(small_uint(0x7f), vec![0x02, 0x01, 0x7f]);
        assert_eq!(small_uint(0x80), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 0x01, 0x02]), vec![0x02, 0x02, 0x01, 0x02]);
        assert_eq!(uint(&[0, 0]), vec![0x02, 0x01, 0x00]);
        assert_eq!(uint(&[]), vec![0x02, 0x01, 0x00]);
        assert_eq!(uint(&[0x00, 0xff, 0x01]), vec![0x02, 0x03, 0x00, 0xff, 0x01]);
    }

    #[test]
    fn booleans_bits_octets() {
        assert_eq!(boolean(true), vec![0x01, 0x01, 0xff]);
        assert_eq!(boolean(false), vec![0x01, 0x01, 0x00]);
        // keyUsage digitalSignature only: RFC 5280 4.2.1.3 example encoding.
        assert_eq!(bit_string(7, &[0x80]), vec![0x03, 0x02, 0x07, 0x80]);
        assert_eq!(octet_string(b"ab"), vec![0x04, 0x02, b'a', b'b']);
    }

    #[test]
    fn oids_match_well_known_encodings() {
        // 1.2.840.10045.2.1 id-ecPublicKey
        assert_eq!(oid(&[1, 2, 840, 10045, 2, 1]), vec![0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
        // 1.2.840.10045.3.1.7 prime256v1
        assert_eq!(oid(&[1, 2, 840, 10045, 3, 1, 7]), vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
        // 2.5.29.17 subjectAltName
        assert_eq!(oid(&[2, 5, 29, 17]), vec![0x06, 0x03, 0x55, 0x1d, 0x11]);
        // 1.3.101.112 id-Ed25519
        assert_eq!(oid(&[1, 3, 101, 112]), vec![0x06, 0x03, 0x2b, 0x65, 0x70]);
        // 2.999.3: first subidentifier above 127 (X.690 8.19.4 example).
        assert_eq!(oid(&[2, 999, 3]), vec![0x06, 0x03, 0x88, 0x37, 0x03]);
        // An arc of exactly 128 needs two octets, 127 one.
        assert_eq!(oid(&[1, 3, 128]), vec![0x06, 0x03, 0x2b, 0x81, 0x00]);
        assert_eq!(oid(&[1, 3, 127]), vec![0x06, 0x02, 0x2b, 0x7f]);
    }

    #[test]
    fn nesting() {
        let inner = seq(&[&small_uint(1), &boolean(true)]);
        assert_eq!(inner, vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x01, 0x01, 0xff]);
        let e = constructed(tag::context_constructed(0), &[&small_uint(2)]);
        assert_eq!(e, vec![0xa0, 0x03, 0x02, 0x01, 0x02]);
        assert_eq!(set_of_one(&[0x05, 0x00]), vec![0x31, 0x02, 0x05, 0x00]);
        assert_eq!(tag::context_primitive(2), 0x82);
    }
}
