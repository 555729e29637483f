//! Strict RFC 4648 base64, for SASL exchanges (RFC 3501 6.2.2, RFC 4959),
//! and the RFC 2045 6.8 body encoding APPEND uses for binary parts.

use alloc::vec::Vec;

fn val(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

pub fn decode(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (ci, chunk) in s.chunks(4).enumerate() {
        let last = ci == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &chunk[..4 - pad] {
            acc = (acc << 6) | val(c)?;
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// RFC 2045 6.8: base64 body text, lines of at most 76 characters, each
/// ended by CRLF.
pub fn encode_body(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(57) * 78);
    for line in data.chunks(57) {
        for c in line.chunks(3) {
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for k in 0..4 {
                if k <= c.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]);
                } else {
                    out.push(b'=');
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn body_encoding_round_trips_with_76_char_lines() {
        use alloc::vec::Vec;
        // RFC 4648 10 test vectors.
        assert_eq!(super::encode_body(b"foob"), b"Zm9vYg==\r\n");
        assert_eq!(super::encode_body(b"fooba"), b"Zm9vYmE=\r\n");
        assert_eq!(super::encode_body(b"foobar"), b"Zm9vYmFy\r\n");
        assert!(super::encode_body(b"").is_empty());
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let enc = super::encode_body(&data);
        let lines: Vec<&[u8]> = enc.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect();
        assert!(lines.iter().all(|l| l.len() <= 77 && l.ends_with(b"\r")));
        let joined: Vec<u8> = lines.iter().flat_map(|l| l[..l.len() - 1].iter().copied()).collect();
        assert_eq!(super::decode(&joined).unwrap(), data);
    }

    #[test]
    fn decodes() {
        assert_eq!(super::decode(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm").unwrap(), b"\0tim\0tanstaaftanstaaf");
        assert_eq!(super::decode(b"YQ==").unwrap(), b"a");
        assert!(super::decode(b"YQ=").is_none());
        assert!(super::decode(b"Y===").is_none());
        assert!(super::decode(b"YQ==YQ==").is_none());
    }
}
