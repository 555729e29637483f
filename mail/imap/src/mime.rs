//! The MIME knowledge IMAP needs (RFC 5322, RFC 2045/2046): header fields,
//! the part tree with byte ranges, and section addressing (RFC 3501
//! 6.4.5). Everything message-dependent lives here so that it can move to
//! the `mail-mime` crate once that exposes an equivalent API.
//!
//! Parsing is lazy and bounded: depth and part counts are capped, ranges
//! point into the caller's buffer, nothing is copied.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::command::{Section, SectionText};

/// Caps on the part tree so a hostile message cannot blow the heap/stack.
const MAX_DEPTH: usize = 16;
const MAX_PARTS: usize = 1000;

/// One header field: the name, and the raw bytes of the whole field
/// (name, colon, value, continuation lines and the final line break).
#[derive(Clone, Debug)]
pub struct Field<'a> {
    pub name: &'a [u8],
    pub raw: &'a [u8],
    /// Value without the name, colon, and final line break (still folded).
    pub value: &'a [u8],
}

/// Splits an entity into its header block (including the empty line that
/// ends it, as RFC 3501 HEADER requires) and its body.
pub fn split_header(msg: &[u8]) -> (usize, usize) {
    // An entity starting with an empty line has an empty header.
    if msg.starts_with(b"\r\n") {
        return (2, 2);
    }
    if msg.starts_with(b"\n") {
        return (1, 1);
    }
    let mut i = 0;
    while let Some(p) = msg[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        let rest = &msg[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return (nl + 3, nl + 3);
        }
        if rest.starts_with(b"\n") {
            return (nl + 2, nl + 2);
        }
        i = nl + 1;
    }
    (msg.len(), msg.len())
}

/// Iterates the fields of a header block.
pub fn fields(header: &[u8]) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < header.len() {
        let start = i;
        // The field runs until a line that does not start with WSP.
        loop {
            match header[i..].iter().position(|&b| b == b'\n') {
                Some(p) => {
                    i += p + 1;
                    if !matches!(header.get(i), Some(b' ') | Some(b'\t')) {
                        break;
                    }
                }
                None => {
                    i = header.len();
                    break;
                }
            }
        }
        let raw = &header[start..i];
        if raw == b"\r\n" || raw == b"\n" {
            break;
        }
        if let Some(colon) = raw.iter().position(|&b| b == b':') {
            let name = trim(&raw[..colon]);
            let mut value = &raw[colon + 1..];
            while let Some((&last, rest)) = value.split_last() {
                if last == b'\n' || last == b'\r' {
                    value = rest;
                } else {
                    break;
                }
            }
            out.push(Field { name, raw, value });
        }
    }
    out
}

pub fn trim(s: &[u8]) -> &[u8] {
    let a = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let b = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(a, |p| p + 1);
    &s[a..b]
}

/// RFC 5322 2.2.3: unfolding removes CRLF before WSP.
pub fn unfold(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for &c in v {
        if c != b'\r' && c != b'\n' {
            out.push(c);
        }
    }
    let t = trim(&out);
    t.to_vec()
}

/// First value of a header field, unfolded.
pub fn header_value(header: &[u8], name: &str) -> Option<Vec<u8>> {
    fields(header)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|f| unfold(f.value))
}

/// RFC 2045 5.1 Content-Type (also used for Content-Disposition):
/// the main value and the parameters, names upper-cased.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub value: Vec<u8>,
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}

/// Skips RFC 5322 CFWS comments while tokenizing structured fields.
fn strip_comments(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut depth = 0u32;
    let mut in_q = false;
    let mut esc = false;
    for &c in v {
        if esc {
            esc = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            b'\\' => {
                esc = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            b'"' if depth == 0 => {
                in_q = !in_q;
                out.push(c);
            }
            b'(' if !in_q => depth += 1,
            b')' if !in_q && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

pub fn parse_params(v: &[u8]) -> Params {
    let v = strip_comments(&unfold(v));
    let mut parts = split_unquoted(&v, b';').into_iter();
    let value = trim(parts.next().unwrap_or(&[])).to_vec();
    let mut params = Vec::new();
    for p in parts {
        let p = trim(p);
        if let Some(eq) = p.iter().position(|&c| c == b'=') {
            let k = trim(&p[..eq]).to_vec();
            let mut val = trim(&p[eq + 1..]).to_vec();
            if val.len() >= 2 && val[0] == b'"' && val[val.len() - 1] == b'"' {
                let inner = &val[1..val.len() - 1];
                let mut u = Vec::with_capacity(inner.len());
                let mut esc = false;
                for &c in inner {
                    if !esc && c == b'\\' {
                        esc = true;
                    } else {
                        u.push(c);
                        esc = false;
                    }
                }
                val = u;
            }
            if !k.is_empty() && params.len() < 64 {
                params.push((k, val));
            }
        }
    }
    Params { value, params }
}

fn split_unquoted(v: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_q = false;
    let mut esc = false;
    for (i, &c) in v.iter().enumerate() {
        if esc {
            esc = false;
            continue;
        }
        match c {
            b'\\' if in_q => esc = true,
            b'"' => in_q = !in_q,
            _ if c == sep && !in_q => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out
}

/// A MIME entity inside a message: byte ranges into the message buffer.
#[derive(Clone, Debug)]
pub struct Part {
    /// The whole entity (header and body).
    pub full: Range<usize>,
    pub header: Range<usize>,
    pub body: Range<usize>,
    /// Lower-cased type and subtype (defaults per RFC 2045 5.2).
    pub mtype: Vec<u8>,
    pub subtype: Vec<u8>,
    pub children: Vec<Part>,
    /// For message/rfc822 (and message/global): the embedded message.
    pub message: Option<Box<Part>>,
}

impl Part {
    pub fn is_multipart(&self) -> bool {
        self.mtype == b"multipart"
    }
    pub fn is_message(&self) -> bool {
        self.mtype == b"message" && (self.subtype == b"rfc822" || self.subtype == b"global")
    }
}

/// Parses the part tree of a whole message.
pub fn parse(msg: &[u8]) -> Part {
    let mut count = 0;
    parse_entity(msg, 0..msg.len(), false, 0, &mut count)
}

fn parse_entity(msg: &[u8], full: Range<usize>, digest: bool, depth: usize, count: &mut usize) -> Part {
    *count += 1;
    let ent = &msg[full.clone()];
    let (h_end, b_start) = split_header(ent);
    let header = full.start..full.start + h_end;
    let body = full.start + b_start..full.end;
    let ct = header_value(&msg[header.clone()], "Content-Type").map(|v| parse_params(&v));
    // RFC 2046 5.1.5: in multipart/digest the default is message/rfc822.
    let (mut mtype, mut subtype) = if digest { (b"message".to_vec(), b"rfc822".to_vec()) } else { (b"text".to_vec(), b"plain".to_vec()) };
    let mut boundary = None;
    if let Some(ct) = &ct {
        let mut it = ct.value.splitn(2, |&c| c == b'/');
        if let (Some(t), Some(s)) = (it.next(), it.next()) {
            if !trim(t).is_empty() && !trim(s).is_empty() {
                mtype = trim(t).to_ascii_lowercase();
                subtype = trim(s).to_ascii_lowercase();
            }
        }
        boundary = ct.get("boundary").map(|b| b.to_vec());
    }
    let mut part = Part { full, header, body: body.clone(), mtype, subtype, children: Vec::new(), message: None };
    if depth >= MAX_DEPTH || *count > MAX_PARTS {
        return part;
    }
    if part.is_multipart() {
        match boundary {
            Some(b) if !b.is_empty() => {
                let is_digest = part.subtype == b"digest";
                for r in split_multipart(msg, body, &b) {
                    if *count > MAX_PARTS {
                        break;
                    }
                    part.children.push(parse_entity(msg, r, is_digest, depth + 1, count));
                }
            }
            // RFC 2046 5.1.1: no boundary; treat as text/plain.
            _ => {
                part.mtype = b"text".to_vec();
                part.subtype = b"plain".to_vec();
            }
        }
    } else if part.is_message() {
        part.message = Some(Box::new(parse_entity(msg, body, false, depth + 1, count)));
    }
    part
}

/// RFC 2046 5.1.1: body parts between `--boundary` delimiter lines; the
/// CRLF before a delimiter belongs to the delimiter.
fn split_multipart(msg: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let b = &msg[body.clone()];
    let mut line_start = 0;
    let mut cur: Option<usize> = None;
    while line_start <= b.len() {
        let line_end = b[line_start..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| line_start + p);
        let line = &b[line_start..line_end];
        if line.len() >= 2 + boundary.len() && line.starts_with(b"--") && line[2..].starts_with(boundary) {
            let rest = &line[2 + boundary.len()..];
            let closing = rest.starts_with(b"--");
            if trim(if closing { &rest[2..] } else { rest }).is_empty() {
                if let Some(s) = cur.take() {
                    // The line break before the delimiter is not content.
                    let mut e = line_start;
                    if e > s && b[e - 1] == b'\n' {
                        e -= 1;
                        if e > s && b[e - 1] == b'\r' {
                            e -= 1;
                        }
                    }
                    out.push(body.start + s..body.start + e.max(s));
                }
                if closing {
                    return out;
                }
                cur = Some((line_end + 1).min(b.len()));
            }
        }
        if line_end >= b.len() {
            break;
        }
        line_start = line_end + 1;
    }
    if let Some(s) = cur {
        out.push(body.start + s..body.start + b.len());
    }
    out
}

/// Children as seen by section numbering (RFC 3501 6.4.5): a multipart's
/// parts; for message/rfc822 the embedded message's parts (or the
/// embedded message itself if it is not multipart); otherwise the entity
/// itself as part 1.
fn numbered_children(p: &Part, is_root: bool) -> Vec<&Part> {
    if p.is_multipart() {
        p.children.iter().collect()
    } else if !is_root && p.is_message() {
        match &p.message {
            Some(m) if m.is_multipart() => m.children.iter().collect(),
            Some(m) => alloc::vec![&**m],
            None => Vec::new(),
        }
    } else {
        alloc::vec![p]
    }
}

/// Finds the entity a part path designates.
pub fn find_part<'p>(root: &'p Part, path: &[u32]) -> Option<&'p Part> {
    let mut cur = root;
    let mut is_root = true;
    for &n in path {
        let kids = numbered_children(cur, is_root);
        cur = kids.get(n as usize - 1).copied()?;
        is_root = false;
    }
    Some(cur)
}

/// Extracts the bytes of BODY[section] (before any partial range).
/// Returns `None` for a section that does not exist; RFC 3501 leaves that
/// to the server, and we answer with an empty string like most servers.
pub fn section_bytes(msg: &[u8], root: &Part, section: &Section) -> Option<Vec<u8>> {
    let part = find_part(root, &section.part)?;
    // HEADER/TEXT of a non-root part refer to the embedded message.
    let target = if section.part.is_empty() {
        part
    } else {
        match (&section.text, &part.message) {
            (Some(SectionText::Mime), _) | (None, _) => part,
            (Some(_), Some(m)) => &**m,
            (Some(_), None) => return None,
        }
    };
    Some(match &section.text {
        None if section.part.is_empty() => msg[part.full.clone()].to_vec(),
        None => msg[part.body.clone()].to_vec(),
        Some(SectionText::Header) | Some(SectionText::Mime) => msg[target.header.clone()].to_vec(),
        Some(SectionText::Text) => msg[target.body.clone()].to_vec(),
        Some(SectionText::HeaderFields(names)) => select_fields(&msg[target.header.clone()], names, true),
        Some(SectionText::HeaderFieldsNot(names)) => select_fields(&msg[target.header.clone()], names, false),
    })
}

/// RFC 3501 6.4.5 HEADER.FIELDS(.NOT): the matching fields followed by the
/// blank line.
fn select_fields(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields(header) {
        let listed = names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(f.name));
        if listed == keep {
            out.extend_from_slice(f.raw);
            if !f.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// RFC 2045 6: decodes a part body for BINARY (RFC 3516). Returns `None`
/// for an unknown encoding (answered with [UNKNOWN-CTE]).
pub fn decode_body(msg: &[u8], part: &Part) -> Option<Vec<u8>> {
    let body = &msg[part.body.clone()];
    let cte = header_value(&msg[part.header.clone()], "Content-Transfer-Encoding")
        .map(|v| trim(&v).to_ascii_lowercase())
        .unwrap_or_default();
    match cte.as_slice() {
        b"" | b"7bit" | b"8bit" | b"binary" => Some(body.to_vec()),
        b"base64" => {
            let mut out = Vec::with_capacity(body.len() * 3 / 4);
            let mut acc = 0u32;
            let mut n = 0;
            for &c in body {
                let v = match c {
                    b'A'..=b'Z' => c - b'A',
                    b'a'..=b'z' => c - b'a' + 26,
                    b'0'..=b'9' => c - b'0' + 52,
                    b'+' => 62,
                    b'/' => 63,
                    _ => continue,
                } as u32;
                acc = (acc << 6) | v;
                n += 1;
                if n == 4 {
                    out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                    acc = 0;
                    n = 0;
                }
            }
            if n == 3 {
                out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
            } else if n == 2 {
                out.push((acc >> 4) as u8);
            }
            Some(out)
        }
        b"quoted-printable" => {
            let mut out = Vec::with_capacity(body.len());
            let mut i = 0;
            let hex = |c: u8| (c as char).to_digit(16);
            while i < body.len() {
                let c = body[i];
                if c == b'=' {
                    if body[i + 1..].starts_with(b"\r\n") {
                        i += 3;
                        continue;
                    }
                    if body[i + 1..].starts_with(b"\n") {
                        i += 2;
                        continue;
                    }
                    if i + 2 < body.len() {
                        if let (Some(a), Some(b)) = (hex(body[i + 1]), hex(body[i + 2])) {
                            out.push((a * 16 + b) as u8);
                            i += 3;
                            continue;
                        }
                    }
                }
                out.push(c);
                i += 1;
            }
            Some(out)
        }
        _ => None,
    }
}

/// RFC 5322 3.4 address, as the ENVELOPE needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    Mailbox { name: Option<Vec<u8>>, route: Option<Vec<u8>>, local: Vec<u8>, domain: Option<Vec<u8>> },
    GroupStart(Vec<u8>),
    GroupEnd,
}

/// Parses an address-list leniently (display names, angle addresses,
/// groups, comments; obsolete routes kept as ADL).
pub fn parse_addresses(v: &[u8]) -> Vec<Addr> {
    let v = unfold(v);
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_group = false;
    let mut phrase: Vec<u8> = Vec::new();
    let mut plain: Vec<u8> = Vec::new();
    let mut comment: Vec<u8> = Vec::new();
    let flush = |plain: &mut Vec<u8>, phrase: &mut Vec<u8>, comment: &mut Vec<u8>, out: &mut Vec<Addr>| {
        let addr = trim(plain).to_vec();
        if !addr.is_empty() {
            let (local, domain) = split_addr(&addr);
            // A bare addr-spec has no display name; an old-style
            // trailing comment stands in for one.
            let name = if !comment.is_empty() {
                Some(comment.clone())
            } else {
                None
            };
            out.push(Addr::Mailbox { name, route: None, local, domain });
        }
        plain.clear();
        phrase.clear();
        comment.clear();
    };
    while i < v.len() && out.len() < 1000 {
        let c = v[i];
        match c {
            b'"' => {
                i += 1;
                let mut esc = false;
                while i < v.len() {
                    let d = v[i];
                    i += 1;
                    if esc {
                        plain.push(d);
                        phrase.push(d);
                        esc = false;
                    } else if d == b'\\' {
                        esc = true;
                    } else if d == b'"' {
                        break;
                    } else {
                        plain.push(d);
                        phrase.push(d);
                    }
                }
            }
            b'(' => {
                let mut depth = 0;
                let start = i + 1;
                while i < v.len() {
                    match v[i] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\\' => i += 1,
                        _ => {}
                    }
                    i += 1;
                }
                if comment.is_empty() {
                    comment = trim(&v[start.min(v.len())..i.min(v.len())]).to_vec();
                }
                i += 1;
            }
            b'<' => {
                let end = v[i..].iter().position(|&d| d == b'>').map_or(v.len(), |p| i + p);
                let inner = trim(&v[i + 1..end]);
                let (route, addr) = match inner.iter().position(|&d| d == b':') {
                    Some(p) if inner.first() == Some(&b'@') => (Some(inner[..p].to_vec()), &inner[p + 1..]),
                    _ => (None, inner),
                };
                let (local, domain) = split_addr(addr);
                let name = trim(&phrase);
                out.push(Addr::Mailbox {
                    name: if name.is_empty() { None } else { Some(name.to_vec()) },
                    route,
                    local,
                    domain,
                });
                phrase.clear();
                plain.clear();
                comment.clear();
                i = end + 1;
                // Skip to the next separator.
                while i < v.len() && v[i] != b',' && v[i] != b';' {
                    i += 1;
                }
            }
            b':' if !in_group => {
                out.push(Addr::GroupStart(trim(&phrase).to_vec()));
                phrase.clear();
                plain.clear();
                in_group = true;
                i += 1;
            }
            b';' if in_group => {
                flush(&mut plain, &mut phrase, &mut comment, &mut out);
                out.push(Addr::GroupEnd);
                in_group = false;
                i += 1;
            }
            b',' => {
                flush(&mut plain, &mut phrase, &mut comment, &mut out);
                i += 1;
            }
            _ => {
                if c.is_ascii_whitespace() {
                    if !phrase.is_empty() && phrase.last() != Some(&b' ') {
                        phrase.push(b' ');
                    }
                } else {
                    phrase.push(c);
                    plain.push(c);
                }
                i += 1;
            }
        }
    }
    flush(&mut plain, &mut phrase, &mut comment, &mut out);
    if in_group {
        out.push(Addr::GroupEnd);
    }
    out
}

fn split_addr(a: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    match a.iter().rposition(|&c| c == b'@') {
        Some(p) => (a[..p].to_vec(), Some(a[p + 1..].to_vec())),
        None => (a.to_vec(), None),
    }
}

/// Case-insensitive (ASCII) substring search, as RFC 3501 6.4.4 asks.
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > hay.len() {
        return false;
    }
    let first = needle[0].to_ascii_lowercase();
    (0..=hay.len() - needle.len()).any(|i| {
        hay[i].to_ascii_lowercase() == first && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
    })
}

/// Converts bare LF line ends to CRLF (Maildir files often use LF; IMAP
/// always speaks CRLF). Borrows when nothing needs changing.
pub fn to_crlf(msg: &[u8]) -> alloc::borrow::Cow<'_, [u8]> {
    let bare = msg.iter().enumerate().any(|(i, &c)| c == b'\n' && (i == 0 || msg[i - 1] != b'\r'));
    if !bare {
        return alloc::borrow::Cow::Borrowed(msg);
    }
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 32);
    for (i, &c) in msg.iter().enumerate() {
        if c == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(c);
    }
    alloc::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const MULTI: &[u8] = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n--YY\r\n\r\ninner text\r\n--YY\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--YY--\r\n\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn tree_and_sections() {
        let p = parse(MULTI);
        assert!(p.is_multipart());
        assert_eq!(p.children.len(), 2);
        assert_eq!(&MULTI[p.children[0].body.clone()], b"hello");
        let s = |part: Vec<u32>, text| section_bytes(MULTI, &p, &Section { part, text }).unwrap();
        assert_eq!(s(vec![1], None), b"hello");
        assert_eq!(s(vec![2, 1], None), b"inner text");
        assert_eq!(s(vec![2, 2], None), b"<b>x</b>");
        assert_eq!(s(vec![2], Some(SectionText::Header)), b"Subject: inner\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n");
        assert_eq!(s(vec![2], Some(SectionText::Mime)), b"Content-Type: message/rfc822\r\n\r\n");
        assert_eq!(s(vec![], Some(SectionText::HeaderFields(vec!["FROM".into()]))), b"From: a@b\r\n\r\n");
        assert!(section_bytes(MULTI, &p, &Section { part: vec![3], text: None }).is_none());
        assert!(section_bytes(MULTI, &p, &Section { part: vec![1], text: Some(SectionText::Header) }).is_none());
    }

    #[test]
    fn addresses() {
        let a = parse_addresses(b"\"Doe, John\" <john@example.com>, jane@example.org (Jane), undisclosed-recipients:;");
        assert_eq!(a[0], Addr::Mailbox { name: Some(b"Doe, John".to_vec()), route: None, local: b"john".to_vec(), domain: Some(b"example.com".to_vec()) });
        assert_eq!(a[1], Addr::Mailbox { name: Some(b"Jane".to_vec()), route: None, local: b"jane".to_vec(), domain: Some(b"example.org".to_vec()) });
        assert_eq!(a[2], Addr::GroupStart(b"undisclosed-recipients".to_vec()));
        assert_eq!(a[3], Addr::GroupEnd);
    }

    #[test]
    fn decode_and_crlf() {
        let m = b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n";
        assert_eq!(decode_body(m, &parse(m)).unwrap(), b"hello world");
        let q = b"Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc";
        assert_eq!(decode_body(q, &parse(q)).unwrap(), b"a=bc");
        assert_eq!(&*to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(contains_ci(b"Hello World", b"o wOR"));
    }
}
