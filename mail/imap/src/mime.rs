//! The MIME knowledge IMAP needs, on top of the `mail-mime` crate (one
//! RFC 5322/MIME parser for the whole project): section extraction
//! (RFC 3501 6.4.5), BINARY decoding (RFC 3516), and text matching for
//! SEARCH (RFC 3501 6.4.4) on decoded headers and bodies.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::command::{Section, SectionText};
pub use mail_mime::{Address, Body, Message, Part};
use mail_mime::{Encoding, Section as MimeSection};

/// Parses a message (CRLF form) into its part tree; bounded by
/// `mail_mime::Limits` (depth, parts, fields, addresses).
pub fn parse(msg: &[u8]) -> Message<'_> {
    Message::parse(msg)
}

/// The bytes of BODY[section] (before any partial range). `None` for a
/// section that does not exist; the session then sends an empty string,
/// as Dovecot does.
pub fn section_bytes<'m>(m: &Message<'m>, section: &Section) -> Option<Cow<'m, [u8]>> {
    let path = leaf_path(m, &section.part);
    if !path.is_empty() && m.resolve(&path).map_or(false, |i| is_boundaryless_multipart(&m.parts[i])) {
        // Dovecot shows such a part as an empty text/plain child.
        return Some(Cow::Borrowed(&[]));
    }
    // Ranges borrow the message: no copy before the literal is written.
    let raw: &'m [u8] = m.raw;
    let range = |spec| m.section(&path, spec).map(|r| Cow::Borrowed(&raw[r]));
    match &section.text {
        None => range(MimeSection::Full),
        Some(SectionText::Header) => range(MimeSection::Header),
        Some(SectionText::Text) => range(MimeSection::Text),
        Some(SectionText::Mime) => range(MimeSection::Mime),
        Some(SectionText::HeaderFields(names)) => {
            m.section(&path, MimeSection::Header).map(|r| Cow::Owned(select_fields(&raw[r], names, false)))
        }
        Some(SectionText::HeaderFieldsNot(names)) => {
            m.section(&path, MimeSection::Header).map(|r| Cow::Owned(select_fields(&raw[r], names, true)))
        }
    }
}

/// RFC 3501 6.4.5 HEADER.FIELDS(.NOT) over the raw header block: each
/// field with its continuation lines, verbatim. Like Dovecot, a line that
/// is not a field (no colon, an mbox "From " line) counts as a field whose
/// name matches nothing, and the empty line is added only if the header
/// had one.
fn select_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut blank = false;
    while i < header.len() {
        let start = i;
        loop {
            match header[i..].iter().position(|&b| b == b'\n') {
                Some(p) => i += p + 1,
                None => i = header.len(),
            }
            if i >= header.len() || !matches!(header[i], b' ' | b'\t') {
                break;
            }
        }
        let field = &header[start..i];
        if field == b"\r\n" || field == b"\n" {
            blank = true;
            break;
        }
        let name = match field.iter().position(|&b| b == b':') {
            Some(c) => trim_ascii(&field[..c]),
            None => &[][..],
        };
        let listed = !name.is_empty() && names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if listed != not {
            out.extend_from_slice(field);
            if !field.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if blank {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let b = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(a, |p| p + 1);
    &s[a..b]
}

/// A leaf part N also answers to N.1, N.1.1, ... (Dovecot does so, and
/// RFC 3501 6.4.5 says every part has at least part number 1): strips
/// trailing 1s that lead past a leaf.
fn leaf_path(m: &Message<'_>, path: &[u32]) -> Vec<u32> {
    let mut p = path.to_vec();
    while m.resolve(&p).is_none() && p.len() > 1 && p.last() == Some(&1) {
        p.pop();
        match m.resolve(&p) {
            Some(i) if m.parts[i].kind == Body::Leaf => return p,
            Some(_) => return path.to_vec(),
            None => {}
        }
    }
    path.to_vec()
}

/// A multipart without a usable boundary (RFC 2046 5.1.1 requires one):
/// mail-mime keeps it as a leaf; IMAP describes it, as Dovecot does, as a
/// multipart holding one empty text/plain part.
pub fn is_boundaryless_multipart(p: &Part<'_>) -> bool {
    p.content_type.main == "multipart" && p.kind == Body::Leaf
}

/// RFC 3516 BINARY[part] content.
pub enum Binary {
    Data(Vec<u8>),
    /// No such (leaf) part: served as an empty string (as Dovecot).
    NoPart,
    /// A Content-Transfer-Encoding we cannot undo: `NO [UNKNOWN-CTE]`.
    UnknownCte,
}

pub fn binary(m: &Message<'_>, path: &[u32]) -> Binary {
    if path.is_empty() {
        return Binary::Data(m.raw.to_vec());
    }
    match m.resolve(&leaf_path(m, path)) {
        None => Binary::NoPart,
        // BINARY of a multipart is its raw body (as Dovecot).
        Some(i) if m.parts[i].is_multipart() => Binary::Data(m.body_raw(i).to_vec()),
        Some(i) if is_boundaryless_multipart(&m.parts[i]) => Binary::NoPart,
        Some(i) if m.parts[i].encoding == Encoding::Other => Binary::UnknownCte,
        Some(i) => Binary::Data(m.decoded_body(i)),
    }
}

/// RFC 3516 4.4 / RFC 9051 6.3.12: a message APPENDed as literal8 may hold
/// NUL octets, which a plain literal (BODY[], RFC822) must never carry.
/// Like Dovecot, such a message is stored with each leaf part that holds
/// NUL or says `Content-Transfer-Encoding: binary` re-encoded as base64:
/// BINARY[part] still returns the original octets, BODY[part] is 7-bit.
/// `None` when the message has no NUL (it is stored as given).
pub fn binary_to_base64(msg: &[u8]) -> Option<Vec<u8>> {
    if !msg.contains(&0) {
        return None;
    }
    let m = parse(msg);
    // (range replaced, replacement), in message order.
    let mut edits: Vec<(core::ops::Range<usize>, Vec<u8>)> = Vec::new();
    for i in m.leaves() {
        let p = &m.parts[i];
        let body = &msg[p.body.clone()];
        if body.is_empty() || !(p.encoding == Encoding::Binary || body.contains(&0)) {
            continue;
        }
        if matches!(p.encoding, Encoding::Base64 | Encoding::QuotedPrintable | Encoding::Other) {
            // An encoded body with NUL in it is broken; leave it as is.
            continue;
        }
        const CTE: &[u8] = b"Content-Transfer-Encoding: base64\r\n";
        match p.header.fields.iter().find(|f| f.is("Content-Transfer-Encoding")) {
            Some(f) => edits.push((f.range.clone(), CTE.to_vec())),
            None => {
                // Before the empty line that ends the header.
                let end = p.header.range.end;
                let h = &msg[p.header.range.clone()];
                let at = if h.ends_with(b"\r\n") {
                    end - 2
                } else if h.ends_with(b"\n") {
                    end - 1
                } else {
                    end
                };
                edits.push((at..at, CTE.to_vec()));
            }
        }
        edits.push((p.body.clone(), crate::base64::encode_body(body)));
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 2);
    let mut pos = 0;
    for (r, with) in edits {
        out.extend_from_slice(&msg[pos..r.start]);
        out.extend_from_slice(&with);
        pos = r.end;
    }
    out.extend_from_slice(&msg[pos..]);
    Some(out)
}

/// body-fld-lines: the number of line breaks, as Dovecot counts them (a
/// last line without a break does not count).
pub fn count_lines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// Case-insensitive (ASCII) substring search on raw bytes.
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > hay.len() {
        return false;
    }
    let first = needle[0].to_ascii_lowercase();
    (0..=hay.len() - needle.len())
        .any(|i| hay[i].to_ascii_lowercase() == first && hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// RFC 3501 6.4.4 string matching: case-insensitive substring, on the raw
/// bytes or on the decoded text (RFC 2047 words, charsets), so that both
/// `SUBJECT =?utf-8?...` and `SUBJECT Grüße` find the message.
pub fn text_matches(raw: &[u8], decoded: &str, needle: &[u8]) -> bool {
    if contains_ci(raw, needle) {
        return true;
    }
    match core::str::from_utf8(needle) {
        Ok(n) if !n.is_ascii() => decoded.to_lowercase().contains(&n.to_lowercase()),
        Ok(_) => contains_ci(decoded.as_bytes(), needle),
        Err(_) => false,
    }
}

/// Whether any field `name` of the message header matches, on the
/// decoded text only (like Dovecot: `SUBJECT =?utf-8?` finds nothing).
pub fn header_matches(m: &Message<'_>, name: &str, needle: &[u8]) -> bool {
    m.header().get_all(name).any(|f| text_matches(b"", &f.text(), needle))
}

/// FROM/TO/CC/BCC search (RFC 3501 6.4.4): the field text as written, or
/// any of its addresses normalised (comments and CFWS inside the address
/// dropped, RFC 5322 3.4.1), so `user (c)@ (c) domain` matches
/// `user@domain`, as Dovecot's address search does.
pub fn address_matches(m: &Message<'_>, name: &str, needle: &[u8]) -> bool {
    header_matches(m, name, needle)
        || m.header().get_all(name).any(|f| {
            mail_mime::parse_address_list(f.value, MAX_SEARCH_ADDRESSES).iter().filter_map(|a| a.mailbox()).any(|mb| {
                let mut s = String::new();
                if let Some(n) = &mb.name {
                    s.push_str(n);
                    s.push(' ');
                }
                s.push('<');
                s.push_str(&mb.addr());
                s.push('>');
                text_matches(b"", &s, needle)
            })
        })
}

/// Addresses of one field looked at by an address search.
const MAX_SEARCH_ADDRESSES: usize = 1000;

/// BODY search: the decoded text of every text leaf (transfer encoding
/// and charset undone). Like Dovecot (without full-text indexes), the
/// encoded form does not match and non-text parts are not searched.
pub fn body_matches(m: &Message<'_>, needle: &[u8]) -> bool {
    m.leaves().any(|i| m.text(i).map_or(false, |t| text_matches(b"", &t, needle)))
}

/// TEXT search: every header field of every entity (the message's and
/// the MIME part headers, decoded) or the body.
pub fn text_search(m: &Message<'_>, needle: &[u8]) -> bool {
    m.parts
        .iter()
        .any(|p| p.header.fields.iter().any(|f| contains_ci(f.name, needle) || text_matches(b"", &f.text(), needle)))
        || body_matches(m, needle)
}

/// Converts bare LF line ends to CRLF (Maildir files often use LF; IMAP
/// always speaks CRLF). Borrows when nothing needs changing.
pub fn to_crlf(msg: &[u8]) -> Cow<'_, [u8]> {
    let bare = msg.iter().enumerate().any(|(i, &c)| c == b'\n' && (i == 0 || msg[i - 1] != b'\r'));
    if !bare {
        return Cow::Borrowed(msg);
    }
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 32);
    for (i, &c) in msg.iter().enumerate() {
        if c == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Lower-cases a header name for display in logs and tests.
pub fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const MULTI: &[u8] = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n--YY\r\n\r\ninner text\r\n--YY\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--YY--\r\n\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn sections() {
        let m = parse(MULTI);
        let s = |part: Vec<u32>, text| section_bytes(&m, &Section { part, text }).unwrap().into_owned();
        assert_eq!(s(vec![1], None), b"hello");
        assert_eq!(s(vec![2, 1], None), b"inner text");
        assert_eq!(s(vec![2, 2], None), b"<b>x</b>");
        assert_eq!(
            s(vec![2], Some(SectionText::Header)),
            b"Subject: inner\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n"
        );
        assert_eq!(s(vec![2], Some(SectionText::Mime)), b"Content-Type: message/rfc822\r\n\r\n");
        assert_eq!(s(vec![], Some(SectionText::HeaderFields(vec!["FROM".into()]))), b"From: a@b\r\n\r\n");
        assert!(section_bytes(&m, &Section { part: vec![3], text: None }).is_none());
        assert!(section_bytes(&m, &Section { part: vec![1], text: Some(SectionText::Header) }).is_none());
    }

    #[test]
    fn binary_and_crlf() {
        let raw = b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n";
        let m = parse(raw);
        assert!(matches!(binary(&m, &[1]), Binary::Data(d) if d == b"hello world"));
        assert!(matches!(binary(&m, &[2]), Binary::NoPart));
        let odd = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n";
        assert!(matches!(binary(&parse(odd), &[1]), Binary::UnknownCte));
        assert_eq!(&*to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(contains_ci(b"Hello World", b"o wOR"));
    }

    #[test]
    fn decoded_search() {
        let raw = "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=C3=A4se und Caf=C3=A9\r\n";
        let m = parse(raw.as_bytes());
        assert!(
            header_matches(&m, "subject", "GRÜSSE".as_bytes()) || header_matches(&m, "subject", "grüße".as_bytes())
        );
        assert!(!header_matches(&m, "Subject", b"=?utf-8?q?"));
        assert!(body_matches(&m, "KÄSE".as_bytes()));
        assert!(!body_matches(&m, b"caf=c3"));
        assert!(!body_matches(&m, b"Berlin"));
        assert!(text_search(&m, b"Berlin"));
    }
}
