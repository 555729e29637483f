//! RFC 2045/2046 MIME structure of a message held in memory: a flat tree of
//! entities (header + body), each with absolute byte ranges into the
//! original message, so IMAP can serve exact ranges and DKIM can hash them.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::address::{parse_address_list, Address};
use crate::charset::{self, Charset};
use crate::date::{parse_date, DateTime};
use crate::header::{parse_header, Header};
use crate::params::{ContentType, Disposition};
use crate::transfer::Encoding;
use crate::Limits;

/// What an entity's body holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A leaf: text, attachment, or anything not split further (also
    /// multiparts without a usable boundary, and entities past the limits).
    Leaf,
    /// RFC 2046 5.1: body parts, in order, as indices into `Message::parts`.
    Multipart { children: Vec<usize>, preamble: Range<usize>, epilogue: Range<usize> },
    /// RFC 2046 5.2.1: message/rfc822 (and RFC 6532 message/global): the
    /// body is itself a message, parsed as the entity `child`.
    Message { child: usize },
}

/// One MIME entity. The root message is `parts[0]`; the message inside a
/// message/rfc822 part is an entity of its own (with `is_message` set) whose
/// range equals that part's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub header: Header<'a>,
    /// Absolute range of the body (RFC 2046 5.1.1: the line end before a
    /// boundary delimiter belongs to the delimiter, not to the body).
    pub body: Range<usize>,
    /// Declared type, or the RFC 2045 5.2 / RFC 2046 5.1.5 default.
    pub content_type: ContentType,
    /// True when there was no (parsable) Content-Type field.
    pub content_type_defaulted: bool,
    pub encoding: Encoding,
    pub disposition: Option<Disposition>,
    pub kind: Body,
    pub parent: Option<usize>,
    /// 0 for the root; +1 per multipart or message level.
    pub depth: usize,
    /// The entity is a whole message (root, or inside message/rfc822): its
    /// header is an RFC 5322 header and it has an envelope.
    pub is_message: bool,
    /// Lines in the body (a last line without line end counts), the IMAP
    /// BODYSTRUCTURE body-fld-lines.
    pub lines: usize,
}

impl<'a> Part<'a> {
    /// Whole entity: header and body.
    pub fn range(&self) -> Range<usize> {
        self.header.range.start..self.body.end
    }

    /// Body size in octets (IMAP body-fld-octets).
    pub fn size(&self) -> usize {
        self.body.end - self.body.start
    }

    pub fn is_multipart(&self) -> bool {
        matches!(self.kind, Body::Multipart { .. })
    }

    pub fn children(&self) -> &[usize] {
        match &self.kind {
            Body::Multipart { children, .. } => children,
            _ => &[],
        }
    }

    /// Content-ID, raw and trimmed (IMAP body-fld-id).
    pub fn content_id(&self) -> Option<Vec<u8>> {
        self.header.get("content-id").map(|f| f.unfolded())
    }

    /// Content-Description, raw and trimmed (IMAP body-fld-desc).
    pub fn description(&self) -> Option<Vec<u8>> {
        self.header.get("content-description").map(|f| f.unfolded())
    }

    /// Content-Transfer-Encoding as written, or `7BIT` (IMAP body-fld-enc).
    pub fn encoding_name(&self) -> Vec<u8> {
        match self.header.get("content-transfer-encoding").map(|f| f.unfolded()) {
            Some(v) if !v.is_empty() => v,
            _ => b"7BIT".to_vec(),
        }
    }

    /// Content-MD5, raw (IMAP body-fld-md5; most servers send NIL).
    pub fn md5(&self) -> Option<Vec<u8>> {
        self.header.get("content-md5").map(|f| f.unfolded())
    }

    /// RFC 3066 tags of Content-Language (IMAP body-fld-lang).
    pub fn languages(&self) -> Vec<String> {
        let Some(f) = self.header.get("content-language") else { return Vec::new() };
        let v = f.unfolded();
        v.split(|&b| b == b',')
            .map(charset::trim)
            .filter(|t| !t.is_empty())
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect()
    }

    /// RFC 2557 Content-Location, raw (IMAP body-fld-loc).
    pub fn location(&self) -> Option<Vec<u8>> {
        self.header.get("content-location").map(|f| f.unfolded())
    }

    /// RFC 2183: an attachment is a part with disposition "attachment", or a
    /// non-text leaf with a file name.
    pub fn is_attachment(&self) -> bool {
        if let Some(d) = &self.disposition {
            if d.kind == "attachment" {
                return true;
            }
            if d.kind == "inline" && self.content_type.main == "text" {
                return false;
            }
        }
        self.kind == Body::Leaf && self.content_type.main != "text" && self.filename().is_some()
    }

    /// File name from Content-Disposition `filename`, else Content-Type
    /// `name` (RFC 2183 2.3, RFC 2231 decoded).
    pub fn filename(&self) -> Option<&str> {
        self.disposition
            .as_ref()
            .and_then(|d| d.params.get("filename"))
            .or_else(|| self.content_type.params.get("name"))
    }

    /// The charset for text decoding, when it is one we know.
    pub fn charset(&self) -> Option<Charset> {
        self.content_type.params.get("charset").and_then(|c| Charset::from_label(c.as_bytes()))
    }
}

/// A parsed message borrowing its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub raw: &'a [u8],
    /// Entities in pre-order; `parts[0]` is the message itself.
    pub parts: Vec<Part<'a>>,
    /// True when a limit (header fields, depth, part count) cut something
    /// off. A content filter should treat such a message as suspicious: parts
    /// past the limit were not looked at.
    pub truncated: bool,
    limits: Limits,
}

impl<'a> Message<'a> {
    /// Parses with the default limits.
    pub fn parse(raw: &'a [u8]) -> Message<'a> {
        Self::parse_with(raw, &Limits::default())
    }

    /// Parses; never fails and never panics. Garbage in gives a message with
    /// an empty or partial header and a leaf body.
    pub fn parse_with(raw: &'a [u8], limits: &Limits) -> Message<'a> {
        let mut m = Message { raw, parts: Vec::new(), truncated: false, limits: limits.clone() };
        m.entity(0, raw.len(), None, 0, false, true);
        m
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn root(&self) -> &Part<'a> {
        &self.parts[0]
    }

    /// The top-level header.
    pub fn header(&self) -> &Header<'a> {
        &self.parts[0].header
    }

    pub fn bytes(&self, r: Range<usize>) -> &'a [u8] {
        self.raw.get(r).unwrap_or(&[])
    }

    /// Decoded Subject (RFC 2047), trimmed.
    pub fn subject(&self) -> Option<String> {
        self.header().text("subject")
    }

    /// The Date field parsed (RFC 5322 3.6.1).
    pub fn date(&self) -> Option<DateTime> {
        self.header().get("date").and_then(|f| parse_date(f.value))
    }

    /// Addresses of every field with this name, in order (From, To, Cc,
    /// Bcc, Reply-To, Sender, Resent-*...).
    pub fn addresses(&self, name: &str) -> Vec<Address> {
        header_addresses(self.header(), name, self.limits.max_addresses)
    }

    pub fn from(&self) -> Vec<Address> {
        self.addresses("from")
    }

    pub fn to(&self) -> Vec<Address> {
        self.addresses("to")
    }

    /// Raw bytes of a part's body.
    pub fn body_raw(&self, idx: usize) -> &'a [u8] {
        self.parts.get(idx).map_or(&[][..], |p| self.bytes(p.body.clone()))
    }

    /// A part's body with its Content-Transfer-Encoding undone.
    pub fn decoded_body(&self, idx: usize) -> Vec<u8> {
        match self.parts.get(idx) {
            Some(p) => p.encoding.decode(self.bytes(p.body.clone())),
            None => Vec::new(),
        }
    }

    /// A text part's body as UTF-8: transfer decoding, then the charset
    /// parameter (unknown or missing charset: UTF-8 if valid, else
    /// Windows-1252). `None` for non-text parts.
    pub fn text(&self, idx: usize) -> Option<String> {
        let p = self.parts.get(idx)?;
        if p.content_type.main != "text" || p.kind != Body::Leaf {
            return None;
        }
        let bytes = self.decoded_body(idx);
        Some(match p.charset() {
            Some(cs) => cs.decode(&bytes),
            None => {
                let mut s = String::new();
                charset::decode_8bit_guess(&bytes, &mut s);
                s
            }
        })
    }

    /// Leaf entities in order (what a filter scans, what IMAP SEARCH BODY
    /// reads).
    pub fn leaves(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.parts.len()).filter(|&i| self.parts[i].kind == Body::Leaf)
    }

    /// The text leaves a reader sees as the message body (the content
    /// filter's and Sieve body :text's input), attachments and attached
    /// messages left out. RFC 2046 5.1.4: of a multipart/alternative one
    /// alternative is taken, the last that offers text/html when
    /// `prefer_html`, else the last that offers text/plain, else the first.
    pub fn body_parts(&self, prefer_html: bool) -> Vec<usize> {
        let mut out = Vec::new();
        self.collect_body(0, prefer_html, &mut out);
        out
    }

    fn collect_body(&self, idx: usize, prefer_html: bool, out: &mut Vec<usize>) {
        let Some(p) = self.parts.get(idx) else { return };
        match &p.kind {
            Body::Leaf => {
                if p.content_type.main == "text" && !p.is_attachment() {
                    out.push(idx);
                }
            }
            Body::Multipart { children, .. } if p.content_type.sub == "alternative" => {
                let want = if prefer_html { "html" } else { "plain" };
                let mut chosen: Option<Vec<usize>> = None;
                let mut first: Option<Vec<usize>> = None;
                for &c in children {
                    let mut v = Vec::new();
                    self.collect_body(c, prefer_html, &mut v);
                    if v.is_empty() {
                        continue;
                    }
                    if v.iter().any(|&i| self.parts[i].content_type.sub == want) {
                        chosen = Some(v);
                    } else if first.is_none() {
                        first = Some(v);
                    }
                }
                out.extend(chosen.or(first).unwrap_or_default());
            }
            Body::Multipart { children, .. } => {
                for &c in children {
                    self.collect_body(c, prefer_html, out);
                }
            }
            Body::Message { .. } => {}
        }
    }

    // RFC 2045 / 2046: parse one entity in [start, end).
    fn entity(
        &mut self,
        start: usize,
        end: usize,
        parent: Option<usize>,
        depth: usize,
        in_digest: bool,
        is_message: bool,
    ) -> Option<usize> {
        if !self.parts.is_empty() && self.parts.len() >= self.limits.max_parts {
            self.truncated = true;
            return None;
        }
        let header = parse_header(self.raw, start, end, &self.limits);
        if header.truncated {
            self.truncated = true;
        }
        let declared = header.get("content-type").and_then(|f| ContentType::parse(f.value, self.limits.max_params));
        let defaulted = declared.is_none();
        let content_type = declared.unwrap_or_else(|| {
            if in_digest {
                ContentType::message_rfc822_default()
            } else {
                ContentType::text_plain_default()
            }
        });
        let encoding = Encoding::parse(header.raw("content-transfer-encoding"));
        let disposition =
            header.get("content-disposition").and_then(|f| Disposition::parse(f.value, self.limits.max_params));
        let body = header.body_start..end;
        let lines = count_lines(&self.raw[body.clone()]);
        let idx = self.parts.len();
        self.parts.push(Part {
            header,
            body: body.clone(),
            content_type,
            content_type_defaulted: defaulted,
            encoding,
            disposition,
            kind: Body::Leaf,
            parent,
            depth,
            is_message,
            lines,
        });
        let ct = &self.parts[idx].content_type;
        if ct.main == "multipart" {
            let digest = ct.sub == "digest";
            // RFC 2046 5.1.1: a boundary cannot end in a space; senders that
            // quote one anyway put the space only in the parameter.
            let boundary = ct.params.get("boundary").map(|b| b.trim_end().as_bytes().to_vec());
            if depth >= self.limits.max_depth {
                self.truncated = true;
                return Some(idx);
            }
            let Some(boundary) = boundary.filter(|b| !b.is_empty()) else { return Some(idx) };
            let Some(split) = split_multipart(self.raw, body.clone(), &boundary) else { return Some(idx) };
            let mut children = Vec::with_capacity(split.parts.len().min(64));
            for r in split.parts {
                match self.entity(r.start, r.end, Some(idx), depth + 1, digest, false) {
                    Some(c) => children.push(c),
                    None => break,
                }
            }
            if !children.is_empty() {
                self.parts[idx].kind = Body::Multipart { children, preamble: split.preamble, epilogue: split.epilogue };
            }
        } else if ct.main == "message"
            && (ct.sub == "rfc822" || ct.sub == "global")
            && !matches!(self.parts[idx].encoding, Encoding::Base64 | Encoding::QuotedPrintable)
        {
            if depth >= self.limits.max_depth {
                self.truncated = true;
                return Some(idx);
            }
            if let Some(c) = self.entity(body.start, body.end, Some(idx), depth + 1, false, true) {
                self.parts[idx].kind = Body::Message { child: c };
            }
        }
        Some(idx)
    }
}

/// Addresses of all fields called `name` in a header.
pub fn header_addresses(h: &Header<'_>, name: &str, max: usize) -> Vec<Address> {
    let mut out = Vec::new();
    for f in h.get_all(name) {
        if out.len() >= max {
            break;
        }
        out.extend(parse_address_list(f.value, max - out.len()));
    }
    out
}

/// RFC 3501 body-fld-lines: line ends, plus an unterminated last line.
fn count_lines(b: &[u8]) -> usize {
    let n = b.iter().filter(|&&c| c == b'\n').count();
    n + usize::from(b.last().is_some_and(|&c| c != b'\n'))
}

struct Split {
    preamble: Range<usize>,
    parts: Vec<Range<usize>>,
    epilogue: Range<usize>,
}

/// RFC 2046 5.1.1: finds the delimiter lines `--boundary` (and the close
/// delimiter `--boundary--`), optionally followed by linear whitespace. The
/// line end before a delimiter belongs to it. Lenient: a missing close
/// delimiter ends the last part at the end of the body. `None` when no
/// delimiter line exists at all.
fn split_multipart(raw: &[u8], body: Range<usize>, boundary: &[u8]) -> Option<Split> {
    let (start, end) = (body.start, body.end);
    let mut pos = start;
    let mut preamble: Option<Range<usize>> = None;
    let mut part_start: Option<usize> = None;
    let mut parts = Vec::new();
    while pos < end {
        let line_end = match raw[pos..end].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => end,
        };
        let line = &raw[pos..line_end];
        if let Some(rest) = line.strip_prefix(b"--").and_then(|l| l.strip_prefix(boundary)) {
            let (close, rest) = match rest.strip_prefix(b"--") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            if rest.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                let prev_end = if pos == start {
                    pos
                } else if pos >= start + 2 && raw[pos - 2] == b'\r' {
                    pos - 2
                } else {
                    pos - 1
                };
                match part_start {
                    None => preamble = Some(start..prev_end.max(start)),
                    Some(ps) => parts.push(ps..prev_end.max(ps)),
                }
                if close {
                    return Some(Split { preamble: preamble.unwrap_or(start..start), parts, epilogue: line_end..end });
                }
                part_start = Some(line_end);
            }
        }
        pos = line_end;
    }
    let ps = part_start?;
    parts.push(ps..end);
    Some(Split { preamble: preamble.unwrap_or(start..start), parts, epilogue: end..end })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &[u8] = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\npreamble\r\n--xx\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n--xx\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--xx--\r\nepilogue\r\n";

    #[test]
    fn tree_and_ranges() {
        let m = Message::parse(MIXED);
        assert!(!m.truncated);
        assert_eq!(m.parts.len(), 4);
        let Body::Multipart { children, preamble, epilogue } = &m.parts[0].kind else { panic!() };
        assert_eq!(children, &[1, 2]);
        assert_eq!(m.bytes(preamble.clone()), b"preamble");
        assert_eq!(m.bytes(epilogue.clone()), b"epilogue\r\n");
        assert_eq!(m.body_raw(1), b"caf=E9");
        assert_eq!(m.text(1).as_deref(), Some("café"));
        assert_eq!(m.parts[1].lines, 1);
        assert_eq!(m.parts[2].kind, Body::Message { child: 3 });
        assert!(m.parts[3].is_message);
        assert_eq!(m.parts[3].header.text("subject").as_deref(), Some("inner"));
        assert_eq!(m.body_raw(3), b"inner body");
        assert_eq!(m.bytes(m.parts[2].body.clone()), b"Subject: inner\r\n\r\ninner body");
    }

    #[test]
    fn body_part_selection() {
        let raw = b"Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\nplain\n--a\nContent-Type: multipart/related; boundary=r\n\n--r\nContent-Type: text/html\n\n<p>html</p>\n--r\nContent-Type: image/png\n\nPNG\n--r--\n--a--\n--m\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nattached\n--m\nContent-Type: message/rfc822\n\nSubject: x\n\ninner\n--m\nContent-Type: text/plain\n\nfooter\n--m--\n";
        let m = Message::parse(raw);
        let texts = |v: Vec<usize>| v.iter().map(|&i| m.text(i).unwrap()).collect::<Vec<_>>();
        assert_eq!(texts(m.body_parts(false)), ["plain", "footer"]);
        assert_eq!(texts(m.body_parts(true)), ["<p>html</p>", "footer"]);
        assert!(m.parts.iter().any(|p| p.is_attachment() && p.filename() == Some("a.txt")));
    }

    #[test]
    fn missing_close_and_empty_parts() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\n\nsecond\n";
        let m = Message::parse(raw);
        let ch = m.parts[0].children().to_vec();
        assert_eq!(ch.len(), 2);
        assert_eq!(m.body_raw(ch[0]), b"");
        assert_eq!(m.body_raw(ch[1]), b"second\n");
        // No delimiter at all: a leaf.
        let m = Message::parse(b"Content-Type: multipart/mixed; boundary=b\n\nno parts\n");
        assert_eq!(m.parts.len(), 1);
        assert_eq!(m.parts[0].kind, Body::Leaf);
        // Boundary-like lines that are not delimiters.
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bc\n--b x\n--b--\n";
        let m = Message::parse(raw);
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.body_raw(1), b"--bc\n--b x");
    }

    #[test]
    fn digest_default_and_limits() {
        let raw = b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--\n";
        let m = Message::parse(raw);
        assert!(m.parts[1].content_type.is("message", "rfc822"));
        assert!(m.parts[1].content_type_defaulted);
        assert_eq!(m.parts[2].header.text("subject").as_deref(), Some("one"));
        let l = Limits { max_depth: 1, ..Limits::default() };
        let m = Message::parse_with(raw, &l);
        assert!(m.truncated);
        assert_eq!(m.parts.len(), 2);
        let l = Limits { max_parts: 2, ..Limits::default() };
        let m = Message::parse_with(MIXED, &l);
        assert!(m.truncated);
        assert_eq!(m.parts.len(), 2);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut raw = Vec::new();
        for i in 0..200 {
            raw.extend_from_slice(
                alloc::format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n").as_bytes(),
            );
        }
        let m = Message::parse(&raw);
        assert!(m.truncated);
        assert!(m.parts.len() <= Limits::default().max_depth + 1);
        let raw = b"Content-Type: message/rfc822\n\n".repeat(500);
        let m = Message::parse(&raw);
        assert!(m.truncated);
    }
}
