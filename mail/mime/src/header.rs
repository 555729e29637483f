//! RFC 5322 2.2 / 3.6: the header block, split into fields without copying.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::encoded_word::{decode_unstructured, unfold};
use crate::Limits;

/// One header field. `name` and `value` borrow the message; `range` is the
/// field's absolute byte range in the message (name through its final line
/// end), so DKIM can hash it and IMAP can serve HEADER.FIELDS verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field name as written (no trailing whitespace, no colon).
    pub name: &'a [u8],
    /// Raw value after the colon, folding line ends included, without the
    /// field's final line end.
    pub value: &'a [u8],
    /// Absolute byte range of the whole field including its final line end.
    pub range: Range<usize>,
}

impl<'a> Field<'a> {
    /// Case-insensitive name comparison (RFC 5322 1.2.2).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// RFC 5322 2.2.3: the value with folding removed, leading/trailing
    /// whitespace trimmed. Raw bytes: encoded words are kept.
    pub fn unfolded(&self) -> Vec<u8> {
        crate::charset::trim(&unfold(self.value)).to_vec()
    }

    /// The value unfolded with encoded words decoded (RFC 2047): the form for
    /// display, Sieve `header` tests and IMAP SEARCH.
    pub fn text(&self) -> String {
        decode_unstructured(self.value)
    }
}

/// A parsed header block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header<'a> {
    pub fields: Vec<Field<'a>>,
    /// Absolute range of the header block including the empty line that ends
    /// it (what IMAP BODY[HEADER] / BODY[n.MIME] return).
    pub range: Range<usize>,
    /// Where the body starts (after the empty line), absolute.
    pub body_start: usize,
    /// Lines that were neither fields nor continuations (no colon, bad name)
    /// and were skipped.
    pub malformed_lines: usize,
    /// True when fields were dropped because of `Limits`.
    pub truncated: bool,
}

impl<'a> Header<'a> {
    /// First field with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// All fields with this name, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field<'a>> + 's {
        self.fields.iter().filter(move |f| f.is(name))
    }

    /// Raw value of the first field with this name.
    pub fn raw(&self, name: &str) -> Option<&'a [u8]> {
        self.get(name).map(|f| f.value)
    }

    /// Addresses of every field with this name, in order (Sieve `address`
    /// tests look at all of them), at most `max` items.
    pub fn addresses(&self, name: &str, max: usize) -> Vec<crate::Address> {
        crate::message::header_addresses(self, name, max)
    }

    /// Decoded (unfolded, RFC 2047) text of the first field with this name.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|f| f.text())
    }
}

/// RFC 5322 3.6.8: ftext is printable US-ASCII except colon.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

/// Parses the header block that starts at `start` in `msg`, not reading at
/// or past `end`. Lines may end in CRLF or a bare LF. Never fails: malformed
/// lines are counted and skipped, fields past the limits are dropped (and
/// `truncated` set), and the end of the block is still found so the body
/// range is right.
pub fn parse_header<'a>(msg: &'a [u8], start: usize, end: usize, limits: &Limits) -> Header<'a> {
    let end = end.min(msg.len());
    let start = start.min(end);
    let mut h = Header { range: start..end, body_start: end, ..Header::default() };
    let mut pos = start;
    // The field being built: (name, value start, line end of its last line).
    let mut cur: Option<(usize, usize, usize, usize)> = None; // (field start, name end, value start, content end)
    let mut first = true;
    while pos < end {
        let line_end = match msg[pos..end].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => end,
        };
        let line = &msg[pos..line_end];
        let content_len = line.len() - eol_len(line);
        if content_len == 0 {
            // RFC 5322 2.1: the empty line ends the header section.
            finish(msg, &mut h, cur.take(), pos, limits);
            h.range = start..line_end;
            h.body_start = line_end;
            return h;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // RFC 5322 2.2.3: a folded continuation line.
            if let Some(c) = cur.as_mut() {
                c.3 = pos + content_len;
            } else {
                h.malformed_lines += 1;
            }
        } else {
            finish(msg, &mut h, cur.take(), pos, limits);
            let colon = line[..content_len].iter().position(|&b| b == b':');
            // The mbox "From " line some stores keep in front of the header.
            let mbox = first && line.starts_with(b"From ");
            match colon {
                Some(c) if !mbox => {
                    // RFC 5322 4.5.2 (obs-optional): whitespace before the colon.
                    let mut name_end = pos + c;
                    while name_end > pos && matches!(msg[name_end - 1], b' ' | b'\t') {
                        name_end -= 1;
                    }
                    if valid_name(&msg[pos..name_end]) {
                        cur = Some((pos, name_end, pos + c + 1, pos + content_len));
                    } else {
                        h.malformed_lines += 1;
                    }
                }
                _ => h.malformed_lines += 1,
            }
        }
        first = false;
        pos = line_end;
    }
    // No empty line: the whole range is header, the body is empty.
    finish(msg, &mut h, cur.take(), end, limits);
    h.range = start..end;
    h.body_start = end;
    h
}

fn eol_len(line: &[u8]) -> usize {
    if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") {
        1
    } else {
        0
    }
}

fn finish<'a>(
    msg: &'a [u8],
    h: &mut Header<'a>,
    cur: Option<(usize, usize, usize, usize)>,
    next_line: usize,
    limits: &Limits,
) {
    let Some((fstart, name_end, vstart, vend)) = cur else { return };
    if h.fields.len() >= limits.max_header_fields || next_line - h.range.start > limits.max_header_bytes {
        h.truncated = true;
        return;
    }
    h.fields.push(Field { name: &msg[fstart..name_end], value: &msg[vstart..vend], range: fstart..next_line });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(m: &[u8]) -> Header<'_> {
        parse_header(m, 0, m.len(), &Limits::default())
    }

    #[test]
    fn fields_and_folding() {
        let m = b"Subject: hello\r\n  world\r\nFrom : a@b\r\n\r\nbody";
        let h = parse(m);
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.fields[0].name, b"Subject");
        assert_eq!(h.fields[0].value, b" hello\r\n  world");
        assert_eq!(h.fields[0].unfolded(), b"hello  world");
        assert_eq!(h.fields[0].range, 0..25);
        assert_eq!(h.fields[1].name, b"From");
        assert_eq!(h.text("FROM").as_deref(), Some("a@b"));
        assert_eq!(h.range, 0..39);
        assert_eq!(&m[h.body_start..], b"body");
    }

    #[test]
    fn bare_lf_and_junk() {
        let m = b"From x Mon\nA: 1\nno colon here\n\tcont\n bad name: 2\nB:3\n\nbody\n";
        let h = parse(m);
        let names: Vec<&[u8]> = h.fields.iter().map(|f| f.name).collect();
        assert_eq!(names, [&b"A"[..], b"B"]);
        // Skipped: "From x Mon" (mbox line), "no colon here", and the two
        // continuation lines after it (the junk line ended field A, so they
        // continue nothing).
        assert_eq!(h.malformed_lines, 4);
        assert_eq!(&m[h.body_start..], b"body\n");
    }

    #[test]
    fn no_body() {
        let m = b"A: 1\r\nB: 2";
        let h = parse(m);
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.fields[1].value, b" 2");
        assert_eq!(h.body_start, m.len());
        let h = parse(b"");
        assert!(h.fields.is_empty());
        let h = parse(b"\r\nbody");
        assert!(h.fields.is_empty());
        assert_eq!(h.body_start, 2);
    }

    #[test]
    fn limits() {
        let mut m = Vec::new();
        for i in 0..50 {
            m.extend_from_slice(alloc::format!("X-{i}: v\r\n").as_bytes());
        }
        m.extend_from_slice(b"\r\nbody");
        let l = Limits { max_header_fields: 10, ..Limits::default() };
        let h = parse_header(&m, 0, m.len(), &l);
        assert_eq!(h.fields.len(), 10);
        assert!(h.truncated);
        assert_eq!(&m[h.body_start..], b"body");
        let l = Limits { max_header_bytes: 30, ..Limits::default() };
        let h = parse_header(&m, 0, m.len(), &l);
        assert_eq!(h.fields.len(), 3);
    }

    #[test]
    fn byte_ranges_are_exact_with_offset() {
        let m = b"xxxxA: 1\r\n\r\nyy";
        let h = parse_header(m, 4, m.len(), &Limits::default());
        assert_eq!(h.fields[0].range, 4..10);
        assert_eq!(h.range, 4..12);
        assert_eq!(h.body_start, 12);
    }
}
