//! RFC 7468 textual encoding ("PEM"): strict form (RFC 7468 3), base64 lines
//! of exactly 64 characters, LF line ends, one trailing LF.

use alloc::string::String;
use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

/// RFC 7468 3: `stricttextualmsg`. The intermediate base64 string is
/// zeroized on drop because private keys pass through here; the output is
/// allocated at its final size up front so it never reallocates (a
/// reallocation would leave an un-zeroized copy behind).
pub fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(Base64::encode_string(der));
    let lines = b64.len().div_ceil(64);
    let cap = 11 + label.len() + 6 + b64.len() + lines + 9 + label.len() + 6;
    let mut out = Zeroizing::new(String::with_capacity(cap));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest: &str = &b64;
    while !rest.is_empty() {
        // base64 is ASCII, so splitting at any byte index is a char boundary.
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    debug_assert_eq!(out.len(), cap);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_64_columns() {
        let pem = encode("TEST", &[0u8; 96]); // 128 base64 chars = 2 full lines
        let lines: alloc::vec::Vec<&str> = pem.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "-----BEGIN TEST-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3], "-----END TEST-----");
        assert!(pem.ends_with("-----\n"));

        let pem = encode("X", b"hi");
        assert_eq!(&*pem, "-----BEGIN X-----\naGk=\n-----END X-----\n");
        let pem = encode("X", b"");
        assert_eq!(&*pem, "-----BEGIN X-----\n-----END X-----\n");
    }
}
