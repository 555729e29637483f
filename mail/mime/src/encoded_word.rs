//! RFC 2047 encoded words, decoded to UTF-8 for display and search.

use alloc::string::String;
use alloc::vec::Vec;

use crate::charset::{self, Charset};
use crate::transfer::decode_base64;

/// One encoded word found at the start of `s`: `=?charset?E?text?=`.
struct Word<'a> {
    charset: &'a [u8],
    bytes: Vec<u8>,
    len: usize,
}

/// RFC 2047 2: `encoded-word = "=?" charset "?" encoding "?" encoded-text "?="`
/// with no whitespace inside. Length is not limited to 75 here (real mail
/// breaks that rule); the caller's header limit bounds it.
fn parse_word(s: &[u8]) -> Option<Word<'_>> {
    let rest = s.strip_prefix(b"=?")?;
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let charset = &rest[..q1];
    if charset.is_empty() || charset.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    // encoded-text holds no '?' and no whitespace, so the scan stops at the
    // first of those: linear work overall, even on "=?a?q?=?a?q?..." junk.
    let text_len = rest
        .get(text_start..)?
        .iter()
        .position(|&b| b == b'?' || b == b' ' || b == b'\t' || b == b'\r' || b == b'\n')?;
    if rest.get(text_start + text_len..text_start + text_len + 2) != Some(&b"?="[..]) {
        return None;
    }
    let text = &rest[text_start..text_start + text_len];
    let bytes = match enc {
        b'B' | b'b' => decode_base64(text),
        b'Q' | b'q' => decode_q(text),
        _ => return None,
    };
    Some(Word { charset, bytes, len: 2 + text_start + text_len + 2 })
}

/// RFC 2047 4.2: the "Q" encoding (`_` is a space, `=XX` an octet).
fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let h = text.get(i + 1).and_then(|&c| (c as char).to_digit(16));
                let l = text.get(i + 2).and_then(|&c| (c as char).to_digit(16));
                if let (Some(h), Some(l)) = (h, l) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Decodes the encoded words in an (unfolded) header value to UTF-8.
///
/// - RFC 2047 6.2: whitespace between two adjacent encoded words is dropped.
/// - Consecutive words in the same charset are joined before charset
///   decoding, so a multi-byte character split across words survives.
/// - Words glued to other text (`abc=?utf-8?q?x?=`) are decoded too: senders
///   do that and readers expect it.
/// - A word in an unknown charset is kept raw (RFC 2047 6.2).
/// - Text outside words is taken as UTF-8 (RFC 6532), else Windows-1252.
pub fn decode_text(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending: Vec<u8> = Vec::new();
    let mut pending_cs: Option<Charset> = None;
    let mut plain_start = 0;
    let mut i = 0;
    // The previous token was an encoded word (whitespace after it is held).
    let mut after_word = false;
    while i < value.len() {
        if value[i] == b'=' && value.get(i + 1) == Some(&b'?') {
            // A word in an unknown charset is plain text (RFC 2047 6.2).
            let word = parse_word(&value[i..]).and_then(|w| Charset::from_label(w.charset).map(|cs| (w, cs)));
            if let Some((w, cs)) = word {
                let between = &value[plain_start..i];
                let only_ws = between.iter().all(|b| b.is_ascii_whitespace());
                if !(after_word && only_ws) {
                    flush(&mut pending, &mut pending_cs, &mut out);
                    charset::decode_8bit_guess(between, &mut out);
                }
                if pending_cs != Some(cs) {
                    flush(&mut pending, &mut pending_cs, &mut out);
                    pending_cs = Some(cs);
                }
                pending.extend_from_slice(&w.bytes);
                i += w.len;
                plain_start = i;
                after_word = true;
                continue;
            }
        }
        i += 1;
    }
    flush(&mut pending, &mut pending_cs, &mut out);
    charset::decode_8bit_guess(&value[plain_start..], &mut out);
    out
}

fn flush(pending: &mut Vec<u8>, cs: &mut Option<Charset>, out: &mut String) {
    if let Some(c) = cs.take() {
        c.decode_into(pending, out);
    }
    pending.clear();
}

/// RFC 5322 2.2.3: unfolding removes each CRLF that precedes whitespace.
/// Bare LF and stray CR are treated the same way; a line end that is not
/// followed by whitespace (malformed input) becomes nothing as well.
pub fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    out
}

/// Unfolds, decodes encoded words and trims: the display form of an
/// unstructured field such as Subject.
pub fn decode_unstructured(value: &[u8]) -> String {
    let unfolded = unfold(value);
    let s = decode_text(charset::trim(&unfolded));
    String::from(s.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2047_examples() {
        // RFC 2047 8 examples.
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?a?="), "a");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?a?= b"), "a b");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?a_b?="), "a b");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?="), "a =?ISO-8859-2?Q?_b?=");
        assert_eq!(decode_text(b"(=?ISO-8859-1?Q?a?=)"), "(a)");
        assert_eq!(decode_text(b"=?US-ASCII?Q?Keith_Moore?="), "Keith Moore");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?="), "Keld Jørn Simonsen");
        assert_eq!(decode_text(b"=?ISO-8859-1?Q?Andr=E9?= Pirard"), "André Pirard");
    }

    #[test]
    fn base64_and_split_chars() {
        assert_eq!(decode_text(b"=?utf-8?B?4oKsIGV1cm8=?="), "€ euro");
        // "€" split across two words.
        assert_eq!(decode_text(b"=?utf-8?Q?=E2=82?= =?utf-8?Q?=AC?="), "€");
        assert_eq!(decode_text(b"=?windows-1252?q?=80?="), "€");
        assert_eq!(decode_text(b"=?iso-8859-15?b?pA==?="), "€");
        assert_eq!(decode_text(b"=?utf-8*en?q?hi?="), "hi");
    }

    #[test]
    fn malformed_words_stay_raw() {
        assert_eq!(decode_text(b"=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
        assert_eq!(decode_text(b"=?utf-8?q?a b?="), "=?utf-8?q?a b?=");
        assert_eq!(decode_text(b"=?utf-8?q?abc"), "=?utf-8?q?abc");
        assert_eq!(decode_text(b"=?"), "=?");
        assert_eq!(decode_text(b"a =? b"), "a =? b");
        assert_eq!(decode_text(b"x=?utf-8?q?y?=z"), "xyz");
        assert_eq!(decode_text(b"=?koi8-r?q?abc?= x"), "=?koi8-r?q?abc?= x");
        assert_eq!(decode_text("naïve".as_bytes()), "naïve");
        assert_eq!(decode_text(b"na\xefve"), "naïve");
    }

    #[test]
    fn pathological_input_is_linear() {
        let junk = b"=?a?q?".repeat(50_000);
        assert_eq!(decode_text(&junk).len(), junk.len());
        let junk = b"=?utf-8?q?".repeat(50_000);
        assert_eq!(decode_text(&junk).len(), junk.len());
    }

    #[test]
    fn unfolding() {
        assert_eq!(unfold(b"a\r\n b\n\tc"), b"a b\tc");
        assert_eq!(decode_unstructured(b" Hello\r\n =?utf-8?q?W=C3=B6rld?=\r\n"), "Hello Wörld");
    }
}
