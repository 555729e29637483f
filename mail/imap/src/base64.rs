//! Strict RFC 4648 base64, for SASL exchanges (RFC 3501 6.2.2, RFC 4959).

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

#[cfg(test)]
mod tests {
    #[test]
    fn decodes() {
        assert_eq!(super::decode(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm").unwrap(), b"\0tim\0tanstaaftanstaaf");
        assert_eq!(super::decode(b"YQ==").unwrap(), b"a");
        assert!(super::decode(b"YQ=").is_none());
        assert!(super::decode(b"Y===").is_none());
        assert!(super::decode(b"YQ==YQ==").is_none());
    }
}
