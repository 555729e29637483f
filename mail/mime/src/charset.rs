//! Text decoding to UTF-8 for the charsets mail actually uses in our region.
//!
//! Small tables written here rather than a dependency: the set is fixed by the
//! brief (UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15, Windows-1252) and each
//! single-byte charset only differs from Latin-1 in a handful of code points.

use alloc::string::String;

/// A charset this crate can decode. Anything else is reported as unknown so
/// the caller keeps the raw text (RFC 2047 6.2: "an encoded-word with an
/// unknown charset may be displayed in its raw form").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    UsAscii,
    Latin1,
    Latin9,
    Windows1252,
}

/// Names compared case-insensitively. The list holds the IANA names and the
/// aliases seen in real mail.
const LABELS: &[(&str, Charset)] = &[
    ("utf-8", Charset::Utf8),
    ("utf8", Charset::Utf8),
    ("us-ascii", Charset::UsAscii),
    ("ascii", Charset::UsAscii),
    ("ansi_x3.4-1968", Charset::UsAscii),
    ("iso-8859-1", Charset::Latin1),
    ("iso8859-1", Charset::Latin1),
    ("iso_8859-1", Charset::Latin1),
    ("iso-ir-100", Charset::Latin1),
    ("latin1", Charset::Latin1),
    ("latin-1", Charset::Latin1),
    ("l1", Charset::Latin1),
    ("iso-8859-15", Charset::Latin9),
    ("iso8859-15", Charset::Latin9),
    ("iso_8859-15", Charset::Latin9),
    ("latin-9", Charset::Latin9),
    ("latin9", Charset::Latin9),
    ("windows-1252", Charset::Windows1252),
    ("cp1252", Charset::Windows1252),
    ("x-cp1252", Charset::Windows1252),
];

impl Charset {
    /// Looks a charset label up. RFC 2231 5 allows a language suffix in
    /// encoded words (`utf-8*en`); it is ignored here.
    pub fn from_label(label: &[u8]) -> Option<Charset> {
        let label = match label.iter().position(|&b| b == b'*') {
            Some(i) => &label[..i],
            None => label,
        };
        let label = trim(label);
        LABELS.iter().find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(label)).map(|&(_, cs)| cs)
    }

    /// Appends `bytes` decoded from this charset to `out`.
    pub fn decode_into(self, bytes: &[u8], out: &mut String) {
        match self {
            Charset::Utf8 => push_utf8_lossy(bytes, out),
            // Text labelled US-ASCII often carries 8-bit bytes anyway: take
            // them as UTF-8 when they form valid UTF-8, else as Windows-1252
            // (the usual real-world meaning), never dropping them.
            Charset::UsAscii => decode_8bit_guess(bytes, out),
            Charset::Latin1 => out.extend(bytes.iter().map(|&b| char::from(b))),
            Charset::Latin9 => out.extend(bytes.iter().map(|&b| latin9(b))),
            Charset::Windows1252 => out.extend(bytes.iter().map(|&b| windows1252(b))),
        }
    }

    pub fn decode(self, bytes: &[u8]) -> String {
        let mut s = String::with_capacity(bytes.len());
        self.decode_into(bytes, &mut s);
        s
    }
}

/// Decodes `bytes` with the charset named `label`; `None` when the charset is
/// unknown.
pub fn decode(label: &[u8], bytes: &[u8]) -> Option<String> {
    Charset::from_label(label).map(|cs| cs.decode(bytes))
}

/// Raw 8-bit text of unknown origin (RFC 6532 headers, unlabelled bodies):
/// UTF-8 when valid, else Windows-1252.
pub fn decode_8bit_guess(bytes: &[u8], out: &mut String) {
    match core::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(bytes.iter().map(|&b| windows1252(b))),
    }
}

/// UTF-8 with each invalid sequence replaced by U+FFFD.
pub fn push_utf8_lossy(mut bytes: &[u8], out: &mut String) {
    loop {
        match core::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction of valid_up_to().
                if let Ok(s) = core::str::from_utf8(good) {
                    out.push_str(s);
                }
                out.push('\u{FFFD}');
                let skip = e.error_len().unwrap_or(rest.len()).max(1).min(rest.len());
                bytes = &rest[skip..];
                if bytes.is_empty() {
                    return;
                }
            }
        }
    }
}

/// ISO-8859-15 differs from ISO-8859-1 in eight positions.
fn latin9(b: u8) -> char {
    match b {
        0xA4 => '\u{20AC}',
        0xA6 => '\u{0160}',
        0xA8 => '\u{0161}',
        0xB4 => '\u{017D}',
        0xB8 => '\u{017E}',
        0xBC => '\u{0152}',
        0xBD => '\u{0153}',
        0xBE => '\u{0178}',
        _ => char::from(b),
    }
}

/// Windows-1252 0x80..0x9F; the five unassigned bytes map to the C1 control
/// of the same value, as the WHATWG encoding standard does.
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D,
    0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
    0x0153, 0x009D, 0x017E, 0x0178,
];

fn windows1252(b: u8) -> char {
    if (0x80..0xA0).contains(&b) {
        char::from_u32(u32::from(CP1252_HIGH[usize::from(b - 0x80)])).unwrap_or('\u{FFFD}')
    } else {
        char::from(b)
    }
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label(b"UTF-8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label(b"utf-8*en"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label(b" ISO-8859-15 "), Some(Charset::Latin9));
        assert_eq!(Charset::from_label(b"Windows-1252"), Some(Charset::Windows1252));
        assert_eq!(Charset::from_label(b"koi8-r"), None);
        assert_eq!(Charset::from_label(b""), None);
    }

    #[test]
    fn single_byte() {
        assert_eq!(Charset::Latin1.decode(b"caf\xe9 \xa4"), "café ¤");
        assert_eq!(Charset::Latin9.decode(b"caf\xe9 \xa4"), "café €");
        assert_eq!(Charset::Windows1252.decode(b"\x93hi\x94 \x80 \x81"), "\u{201C}hi\u{201D} € \u{81}");
        assert_eq!(Charset::UsAscii.decode(b"plain"), "plain");
        assert_eq!(Charset::UsAscii.decode("é".as_bytes()), "é");
        assert_eq!(Charset::UsAscii.decode(b"\xe9"), "é");
    }

    #[test]
    fn utf8_lossy() {
        assert_eq!(Charset::Utf8.decode(b"a\xffb\xe2\x82"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(Charset::Utf8.decode("€".as_bytes()), "€");
    }
}
