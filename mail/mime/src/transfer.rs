//! Content-Transfer-Encoding (RFC 2045 6) decoders, tolerant of real-world
//! damage: they never fail, they skip what they cannot use.

use alloc::vec::Vec;

/// RFC 2045 6.1: the mechanisms. Unknown tokens (`x-uuencode`, typos) are
/// kept as `Other` and bodies pass through undecoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    SevenBit,
    EightBit,
    Binary,
    QuotedPrintable,
    Base64,
    Other,
}

impl Encoding {
    /// Parses a Content-Transfer-Encoding value; absent means 7bit
    /// (RFC 2045 6.1).
    pub fn parse(value: Option<&[u8]>) -> Encoding {
        let Some(v) = value else { return Encoding::SevenBit };
        let v = crate::charset::trim(strip_comment(v));
        if v.eq_ignore_ascii_case(b"7bit") {
            Encoding::SevenBit
        } else if v.eq_ignore_ascii_case(b"8bit") {
            Encoding::EightBit
        } else if v.eq_ignore_ascii_case(b"binary") {
            Encoding::Binary
        } else if v.eq_ignore_ascii_case(b"quoted-printable") {
            Encoding::QuotedPrintable
        } else if v.eq_ignore_ascii_case(b"base64") {
            Encoding::Base64
        } else if v.is_empty() {
            Encoding::SevenBit
        } else {
            Encoding::Other
        }
    }

    /// Decodes a body; identity for the encodings that are not transforms.
    pub fn decode(self, body: &[u8]) -> Vec<u8> {
        match self {
            Encoding::Base64 => decode_base64(body),
            Encoding::QuotedPrintable => decode_quoted_printable(body),
            _ => body.to_vec(),
        }
    }
}

fn strip_comment(v: &[u8]) -> &[u8] {
    match v.iter().position(|&b| b == b'(' || b == b';') {
        Some(i) => &v[..i],
        None => v,
    }
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// RFC 2045 6.8: base64. Characters outside the alphabet are ignored (the
/// RFC says so for line breaks and "illegal" characters); `=` ends a quantum,
/// and decoding resumes after it, which recovers concatenated base64 blocks.
/// A trailing lone sextet is dropped. Output is at most 3/4 of the input.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    for &c in input {
        if let Some(v) = b64_value(c) {
            acc = (acc << 6) | u32::from(v);
            n += 1;
            if n == 4 {
                out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                acc = 0;
                n = 0;
            }
        } else if c == b'=' {
            flush_b64(&mut out, acc, n);
            acc = 0;
            n = 0;
        }
    }
    flush_b64(&mut out, acc, n);
    out
}

fn flush_b64(out: &mut Vec<u8>, acc: u32, n: u8) {
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// RFC 2045 6.7: quoted-printable. `=XX` (either case) is an octet; `=` at
/// the end of a line (optionally followed by transport-added whitespace) is a
/// soft line break; any other `=` is kept literally (rule 1 "robust"
/// suggestion). Trailing whitespace on lines is removed (rule 3). Line ends
/// (CRLF or bare LF) are kept as they are.
pub fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for line in LinesWithEnd::new(input) {
        let (content, eol) = split_eol(line);
        // Rule 3: trailing whitespace on an encoded line is transport junk.
        let content = trim_end_ws(content);
        let mut i = 0;
        let mut soft = false;
        while i < content.len() {
            let c = content[i];
            if c == b'=' {
                if i + 1 == content.len() {
                    soft = true;
                    break;
                }
                if let (Some(h), Some(l)) =
                    (content.get(i + 1).copied().and_then(hex), content.get(i + 2).copied().and_then(hex))
                {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
                i += 1;
            } else {
                out.push(c);
                i += 1;
            }
        }
        if !soft {
            out.extend_from_slice(eol);
        }
    }
    out
}

fn trim_end_ws(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Splits a line (as yielded by [`LinesWithEnd`]) into content and its line
/// end (`\r\n`, `\n` or empty).
pub(crate) fn split_eol(line: &[u8]) -> (&[u8], &[u8]) {
    if let Some(stripped) = line.strip_suffix(b"\r\n") {
        (stripped, &line[line.len() - 2..])
    } else if let Some(stripped) = line.strip_suffix(b"\n") {
        (stripped, &line[line.len() - 1..])
    } else {
        (line, &[])
    }
}

/// Iterator over lines including their terminating LF.
pub(crate) struct LinesWithEnd<'a> {
    rest: &'a [u8],
}

impl<'a> LinesWithEnd<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        LinesWithEnd { rest: s }
    }
}

impl<'a> Iterator for LinesWithEnd<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = match self.rest.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => self.rest.len(),
        };
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_basic() {
        assert_eq!(decode_base64(b"aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8"), b"hello");
        assert_eq!(decode_base64(b"YQ==Yg=="), b"ab");
        assert_eq!(decode_base64(b"!!a*GV\x00sbG8="), b"hello");
        assert_eq!(decode_base64(b"Q"), b"");
        assert_eq!(decode_base64(b""), b"");
    }

    #[test]
    fn qp_basic() {
        assert_eq!(decode_quoted_printable(b"caf=E9 =3D ok"), b"caf\xe9 = ok");
        assert_eq!(decode_quoted_printable(b"long=\r\nline\r\n"), b"longline\r\n");
        assert_eq!(decode_quoted_printable(b"soft= \nbreak"), b"softbreak");
        assert_eq!(decode_quoted_printable(b"trail   \r\nx"), b"trail\r\nx");
        assert_eq!(decode_quoted_printable(b"bad =ZZ =4"), b"bad =ZZ =4");
        assert_eq!(decode_quoted_printable(b"lower =e9"), b"lower \xe9");
        assert_eq!(decode_quoted_printable(b"="), b"");
    }

    #[test]
    fn encoding_names() {
        assert_eq!(Encoding::parse(None), Encoding::SevenBit);
        assert_eq!(Encoding::parse(Some(b" Base64 ")), Encoding::Base64);
        assert_eq!(Encoding::parse(Some(b"Quoted-Printable (x)")), Encoding::QuotedPrintable);
        assert_eq!(Encoding::parse(Some(b"x-uue")), Encoding::Other);
    }
}
