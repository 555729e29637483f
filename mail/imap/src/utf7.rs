//! RFC 3501 5.1.3: mailbox international naming convention ("modified UTF-7").
//!
//! Mailbox names travel in modified UTF-7 unless the client enabled
//! UTF8=ACCEPT (RFC 6855); internally (and in the [`crate::Store`]) names are
//! plain UTF-8, so the session converts at the protocol edge.

use alloc::string::String;
use alloc::vec::Vec;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_val(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    } as u32)
}

/// Encodes a UTF-8 mailbox name to modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    fn flush(out: &mut String, pending: &mut Vec<u16>) {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for unit in pending.drain(..) {
            bits = (bits << 16) | unit as u32;
            nbits += 16;
            while nbits >= 6 {
                nbits -= 6;
                out.push(B64[((bits >> nbits) & 63) as usize] as char);
            }
        }
        if nbits > 0 {
            out.push(B64[((bits << (6 - nbits)) & 63) as usize] as char);
        }
        out.push('-');
    }
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut out, &mut pending);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

/// Decodes a modified UTF-7 mailbox name. Returns `None` for malformed
/// input (bad base64, unpaired surrogates, raw 8-bit bytes, or a shift
/// sequence that encodes printable ASCII, which RFC 3501 forbids).
pub fn decode(raw: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c != b'&' {
            if !(0x20..=0x7e).contains(&c) {
                return None;
            }
            out.push(c as char);
            i += 1;
            continue;
        }
        let end = i + 1 + raw[i + 1..].iter().position(|&b| b == b'-')?;
        let chunk = &raw[i + 1..end];
        i = end + 1;
        if chunk.is_empty() {
            out.push('&');
            continue;
        }
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut units: Vec<u16> = Vec::new();
        for &b in chunk {
            bits = (bits << 6) | b64_val(b)?;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push(((bits >> nbits) & 0xffff) as u16);
            }
        }
        // Leftover bits must be zero padding (< 6 bits).
        if nbits >= 6 || (bits & ((1 << nbits) - 1)) != 0 {
            return None;
        }
        for r in char::decode_utf16(units.iter().copied()) {
            let ch = r.ok()?;
            if (' '..='~').contains(&ch) {
                return None;
            }
            out.push(ch);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        // RFC 3501 5.1.3 example: "~peter/mail/台北/日本語"
        let s = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        assert_eq!(encode(s), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(decode(b"~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(), s);
    }

    #[test]
    fn ampersand_and_roundtrip() {
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode(b"A&-B").unwrap(), "A&B");
        for s in ["Entwürfe", "Gesendete Objekte", "😀 emoji", "Ünï/çødé&x", ""] {
            assert_eq!(decode(encode(s).as_bytes()).unwrap(), s);
        }
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
    }

    #[test]
    fn malformed() {
        assert!(decode(b"&U,BTFw").is_none()); // unterminated
        assert!(decode(b"&AGE-").is_none()); // encodes 'a' (printable)
        assert!(decode(b"caf\xc3\xa9").is_none()); // raw 8-bit
        assert!(decode(b"&2D0-").is_none()); // lone surrogate
    }
}
