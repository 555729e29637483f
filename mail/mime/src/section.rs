//! IMAP section numbering (RFC 3501 6.4.5 BODY[<section>]): from a part
//! path like 1.2.3 to an entity and to the exact byte range to serve.

use alloc::vec::Vec;
use core::ops::Range;

use crate::message::{Body, Message};

/// What of a section is wanted (RFC 3501 6.4.5 section-text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `BODY[1.2]`: the part's body; `BODY[]` the whole message.
    Full,
    /// `BODY[HEADER]`, `BODY[1.2.HEADER]`: header of a message (root or
    /// message/rfc822 part), empty line included.
    Header,
    /// `BODY[TEXT]`, `BODY[1.2.TEXT]`: body of a message.
    Text,
    /// `BODY[1.2.MIME]`: the MIME header of a part, empty line included.
    Mime,
}

impl<'a> Message<'a> {
    /// The entity that part number `n` (1-based) of message entity `m`
    /// designates: its n-th child if the message is multipart, else the
    /// message entity itself for n = 1 (RFC 3501 6.4.5: "every message has
    /// at least one part number").
    fn in_message(&self, m: usize, n: u32) -> Option<usize> {
        match &self.parts.get(m)?.kind {
            Body::Multipart { children, .. } => children.get(usize::try_from(n).ok()?.checked_sub(1)?).copied(),
            _ => (n == 1).then_some(m),
        }
    }

    /// Resolves a part path (`[]` is the message, `[1, 2]` is `1.2`).
    pub fn resolve(&self, path: &[u32]) -> Option<usize> {
        let mut cur = 0usize;
        let mut first = true;
        for &n in path {
            cur = if first {
                self.in_message(0, n)?
            } else {
                match &self.parts.get(cur)?.kind {
                    Body::Multipart { children, .. } => *children.get(usize::try_from(n).ok()?.checked_sub(1)?)?,
                    Body::Message { child } => self.in_message(*child, n)?,
                    Body::Leaf => return None,
                }
            };
            first = false;
        }
        Some(cur)
    }

    /// Byte range of `BODY[path.spec]`; `None` when the section does not
    /// exist (IMAP answers such a fetch with an empty string or NO).
    pub fn section(&self, path: &[u32], spec: Section) -> Option<Range<usize>> {
        let idx = self.resolve(path)?;
        let p = &self.parts[idx];
        // HEADER/TEXT name the message inside a message/rfc822 part, or the
        // root message for the empty path.
        let msg = if path.is_empty() {
            Some(0)
        } else {
            match p.kind {
                Body::Message { child } => Some(child),
                _ => None,
            }
        };
        match spec {
            Section::Full if path.is_empty() => Some(0..self.raw.len()),
            Section::Full => Some(p.body.clone()),
            Section::Header => msg.map(|m| self.parts[m].header.range.clone()),
            Section::Text => msg.map(|m| self.parts[m].body.clone()),
            Section::Mime if path.is_empty() => None,
            Section::Mime => Some(p.header.range.clone()),
        }
    }

    /// The part path of an entity, as IMAP numbers it. A multipart message
    /// entity has no number of its own and gets its container's path; a
    /// non-multipart message entity is part 1 of itself.
    pub fn section_path(&self, idx: usize) -> Vec<u32> {
        let mut rev = Vec::new();
        let mut cur = idx;
        while let Some(p) = self.parts.get(cur) {
            // A non-multipart message entity is "part 1" of its message.
            if p.is_message && !p.is_multipart() {
                rev.push(1);
            }
            let Some(parent) = p.parent else { break };
            if let Body::Multipart { children, .. } = &self.parts[parent].kind {
                if let Some(i) = children.iter().position(|&c| c == cur) {
                    rev.push(i as u32 + 1);
                }
            }
            cur = parent;
        }
        rev.reverse();
        rev
    }

    /// RFC 3501 6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT: the fields of the
    /// header of `BODY[path.HEADER]` whose names are (`not` = false) or are
    /// not (`not` = true) in `names`, verbatim, followed by the empty line.
    pub fn header_fields(&self, path: &[u32], names: &[&[u8]], not: bool) -> Option<Vec<u8>> {
        let r = self.section(path, Section::Header)?;
        let h = &self.parts.iter().find(|p| p.header.range == r && p.is_message)?.header;
        let mut out = Vec::new();
        for f in &h.fields {
            let listed = names.iter().any(|n| n.eq_ignore_ascii_case(f.name));
            if listed != not {
                out.extend_from_slice(&self.raw[f.range.clone()]);
                if !out.ends_with(b"\n") {
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    // RFC 3501 6.4.5's example structure, abridged:
    // HEADER, TEXT; 1 text/plain; 2 application/octet-stream;
    // 3 message/rfc822 (3.HEADER, 3.TEXT, 3.1 text/plain, 3.2 octet);
    // 4 multipart/mixed (4.1 image/gif, 4.2 message/rfc822 with
    // 4.2.1 text/plain and 4.2.2 multipart/alternative 4.2.2.1, 4.2.2.2).
    const MSG: &str = "Subject: top\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n\
--o\r\n\r\npart1\r\n\
--o\r\nContent-Type: application/octet-stream\r\n\r\npart2\r\n\
--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: three\r\nContent-Type: multipart/mixed; boundary=t\r\n\r\n--t\r\n\r\np31\r\n--t\r\nContent-Type: application/octet-stream\r\n\r\np32\r\n--t--\r\n\
--o\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\nContent-Type: image/gif\r\n\r\np41\r\n--f\r\nContent-Type: message/rfc822\r\n\r\nSubject: four\r\nContent-Type: multipart/mixed; boundary=g\r\n\r\n--g\r\n\r\np421\r\n--g\r\nContent-Type: multipart/alternative; boundary=h\r\n\r\n--h\r\n\r\np4221\r\n--h\r\nContent-Type: text/richtext\r\n\r\np4222\r\n--h--\r\n--g--\r\n--f--\r\n\
--o--\r\n";

    fn body<'a>(m: &Message<'a>, path: &[u32], s: Section) -> &'a [u8] {
        m.bytes(m.section(path, s).expect("section exists"))
    }

    #[test]
    fn rfc3501_section_example() {
        let m = Message::parse(MSG.as_bytes());
        assert_eq!(body(&m, &[1], Section::Full), b"part1");
        assert_eq!(body(&m, &[2], Section::Full), b"part2");
        assert_eq!(body(&m, &[2], Section::Mime), b"Content-Type: application/octet-stream\r\n\r\n");
        assert!(body(&m, &[3], Section::Header).starts_with(b"Subject: three\r\n"));
        assert!(body(&m, &[3], Section::Text).starts_with(b"--t\r\n"));
        assert_eq!(body(&m, &[3, 1], Section::Full), b"p31");
        assert_eq!(body(&m, &[3, 2], Section::Full), b"p32");
        assert_eq!(body(&m, &[4, 1], Section::Full), b"p41");
        assert!(body(&m, &[4, 2], Section::Header).starts_with(b"Subject: four"));
        assert_eq!(body(&m, &[4, 2, 1], Section::Full), b"p421");
        assert_eq!(body(&m, &[4, 2, 2, 1], Section::Full), b"p4221");
        assert_eq!(body(&m, &[4, 2, 2, 2], Section::Full), b"p4222");
        assert!(body(&m, &[], Section::Header).starts_with(b"Subject: top"));
        assert_eq!(body(&m, &[], Section::Full), MSG.as_bytes());
        assert!(m.section(&[5], Section::Full).is_none());
        assert!(m.section(&[0], Section::Full).is_none());
        assert!(m.section(&[1, 1], Section::Full).is_none());
        assert!(m.section(&[1], Section::Header).is_none());
        // section_path is the inverse of resolve for numbered parts.
        for path in [vec![1], vec![2], vec![3], vec![3, 1], vec![4, 2, 2, 2], vec![4, 2, 1]] {
            let idx = m.resolve(&path).unwrap();
            assert_eq!(m.section_path(idx), path);
        }
    }

    #[test]
    fn single_part_message() {
        let m = Message::parse(b"Subject: s\nContent-Type: message/rfc822\n\nSubject: in\n\nx\n");
        assert_eq!(body(&m, &[1], Section::Full), b"Subject: in\n\nx\n");
        assert_eq!(body(&m, &[1], Section::Header), b"Subject: in\n\n");
        assert_eq!(body(&m, &[1, 1], Section::Full), b"x\n");
        assert_eq!(m.section_path(1), [1, 1]);
        assert_eq!(m.resolve(&[1, 1]), Some(1));
        let m = Message::parse(b"Subject: s\r\n\r\nhello\r\n");
        assert_eq!(body(&m, &[1], Section::Full), b"hello\r\n");
        assert_eq!(body(&m, &[], Section::Text), b"hello\r\n");
        assert_eq!(m.section_path(0), [1]);
        let hf = m.header_fields(&[], &[b"SUBJECT"], false).unwrap();
        assert_eq!(hf, b"Subject: s\r\n\r\n");
        let hf = m.header_fields(&[], &[b"subject"], true).unwrap();
        assert_eq!(hf, b"\r\n");
    }
}
