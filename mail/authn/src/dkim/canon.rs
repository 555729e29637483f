//! RFC 6376 3.4: canonicalization of header fields and of the body.

use alloc::vec::Vec;

/// c= for one half (header or body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    Simple,
    Relaxed,
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// One header field as it appears in the message: name and the raw bytes of
/// the whole field (name, colon, value, folding, final line break).
#[derive(Clone, Copy, Debug)]
pub struct RawHeader<'a> {
    pub name: &'a [u8],
    pub raw: &'a [u8],
}

/// Most header fields accepted in one message (bounded work and heap).
pub const MAX_HEADERS: usize = 1000;

/// Split a message into its header fields and the offset of the body.
/// Bare LF is accepted as a line break. A header block with no blank line
/// ends at the end of the message (empty body).
pub fn split_headers(msg: &[u8]) -> Result<(Vec<RawHeader<'_>>, usize), &'static str> {
    let mut out: Vec<RawHeader<'_>> = Vec::new();
    let mut pos = 0;
    let mut start: Option<usize> = None;
    while pos < msg.len() {
        let eol = msg[pos..].iter().position(|&b| b == b'\n').map(|n| pos + n + 1).unwrap_or(msg.len());
        let line = &msg[pos..eol];
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            if let Some(s) = start.take() {
                push(&mut out, &msg[s..pos])?;
            }
            return Ok((out, eol));
        }
        if is_wsp(line[0]) {
            if start.is_none() {
                return Err("continuation line before any header field");
            }
        } else {
            if let Some(s) = start.take() {
                push(&mut out, &msg[s..pos])?;
            }
            start = Some(pos);
        }
        pos = eol;
    }
    if let Some(s) = start.take() {
        push(&mut out, &msg[s..pos])?;
    }
    Ok((out, msg.len()))
}

fn push<'a>(out: &mut Vec<RawHeader<'a>>, raw: &'a [u8]) -> Result<(), &'static str> {
    if out.len() >= MAX_HEADERS {
        return Err("too many header fields");
    }
    let colon = raw.iter().position(|&b| b == b':').ok_or("header field without ':'")?;
    let mut name = &raw[..colon];
    while let [rest @ .., l] = name {
        if is_wsp(*l) {
            name = rest;
        } else {
            break;
        }
    }
    if name.is_empty() {
        return Err("empty header field name");
    }
    out.push(RawHeader { name, raw });
    Ok(())
}

/// Largest header block accepted by the streaming signer and verifier
/// (bounded heap); larger messages are refused, not truncated.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// Collects the header block of a message arriving in chunks, up to and
/// including the empty line that ends it.
#[derive(Clone, Debug, Default)]
pub struct HeaderCollector {
    buf: Vec<u8>,
    done: bool,
}

/// The header block went past [`MAX_HEADER_BYTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderTooLarge;

fn header_end(h: &[u8], from: usize) -> Option<usize> {
    if h.starts_with(b"\r\n") {
        return Some(2);
    }
    if h.starts_with(b"\n") {
        return Some(1);
    }
    let mut i = from.max(1);
    while i < h.len() {
        if h[i - 1] == b'\n' {
            if h[i] == b'\n' {
                return Some(i + 1);
            }
            if h[i] == b'\r' && h.get(i + 1) == Some(&b'\n') {
                return Some(i + 2);
            }
        }
        i += 1;
    }
    None
}

impl HeaderCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Has the empty line been seen (or [`eof`](Self::eof) called)?
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The header block collected so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Take header bytes from `data`. Returns the part of `data` that is
    /// body once the header has ended (possibly empty), `None` while the
    /// header goes on.
    pub fn feed<'d>(&mut self, data: &'d [u8]) -> Result<Option<&'d [u8]>, HeaderTooLarge> {
        if self.done {
            return Ok(Some(data));
        }
        let old = self.buf.len();
        let room = (MAX_HEADER_BYTES + 2).saturating_sub(old);
        let take = data.len().min(room);
        self.buf.extend_from_slice(&data[..take]);
        match header_end(&self.buf, old.saturating_sub(2)) {
            Some(end) => {
                // The header ends inside this chunk (end > old): the rest
                // of the chunk is body.
                self.buf.truncate(end);
                self.done = true;
                Ok(Some(&data[end.saturating_sub(old).min(data.len())..]))
            }
            None if take < data.len() || self.buf.len() > MAX_HEADER_BYTES => Err(HeaderTooLarge),
            None => Ok(None),
        }
    }

    /// The message ended without an empty line: all of it was header.
    pub fn eof(&mut self) {
        self.done = true;
    }
}

/// RFC 6376 3.4.1 / 3.4.2: canonical form of one header field, appended to
/// `out`, with the trailing CRLF unless `crlf` is false (the signature field
/// itself is hashed without it).
pub fn header(c: Canon, raw: &[u8], crlf: bool, out: &mut Vec<u8>) {
    // Strip the field's own line break; it is re-added as CRLF.
    let mut body = raw;
    if let Some(b) = body.strip_suffix(b"\n") {
        body = b.strip_suffix(b"\r").unwrap_or(b);
    }
    match c {
        Canon::Simple => {
            // Unchanged, except bare LF (tolerated on input) becomes CRLF.
            let mut prev = 0u8;
            for &b in body {
                if b == b'\n' && prev != b'\r' {
                    out.push(b'\r');
                }
                out.push(b);
                prev = b;
            }
        }
        Canon::Relaxed => {
            let colon = body.iter().position(|&b| b == b':').unwrap_or(body.len());
            // Name: lower-case, no WSP before the colon.
            for &b in &body[..colon] {
                if !is_wsp(b) {
                    out.push(b.to_ascii_lowercase());
                }
            }
            out.push(b':');
            // Value: unfold, collapse WSP runs, drop WSP at both ends.
            let mut wsp = false;
            let mut started = false;
            for &b in body.get(colon + 1..).unwrap_or(&[]) {
                if b == b'\r' || b == b'\n' || is_wsp(b) {
                    wsp = true;
                    continue;
                }
                if wsp && started {
                    out.push(b' ');
                }
                wsp = false;
                started = true;
                out.push(b);
            }
        }
    }
    if crlf {
        out.extend_from_slice(b"\r\n");
    }
}

/// RFC 6376 3.4.3 / 3.4.4: streaming body canonicalization. Bytes may be fed
/// in chunks of any size; output goes to `sink` in small pieces.
#[derive(Clone, Debug)]
pub struct BodyCanon {
    canon: Canon,
    cr: bool,
    wsp: bool,
    line_has_data: bool,
    empty_lines: u64,
    emitted_any: bool,
    buf: Vec<u8>,
}

const BUF: usize = 512;

impl BodyCanon {
    pub fn new(canon: Canon) -> Self {
        BodyCanon {
            canon,
            cr: false,
            wsp: false,
            line_has_data: false,
            empty_lines: 0,
            emitted_any: false,
            buf: Vec::with_capacity(BUF),
        }
    }

    fn emit(&mut self, b: &[u8], sink: &mut dyn FnMut(&[u8])) {
        self.emitted_any = true;
        if self.buf.len() + b.len() > BUF {
            sink(&self.buf);
            self.buf.clear();
        }
        self.buf.extend_from_slice(b);
    }

    fn data(&mut self, c: u8, sink: &mut dyn FnMut(&[u8])) {
        if self.canon == Canon::Relaxed && is_wsp(c) {
            self.wsp = true;
            return;
        }
        // Empty lines are held back until we know they are not trailing.
        while self.empty_lines > 0 {
            self.emit(b"\r\n", sink);
            self.empty_lines -= 1;
        }
        if self.wsp {
            self.emit(b" ", sink);
            self.wsp = false;
        }
        self.emit(&[c], sink);
        self.line_has_data = true;
    }

    fn end_line(&mut self, sink: &mut dyn FnMut(&[u8])) {
        // Relaxed: whitespace at the end of a line is dropped.
        self.wsp = false;
        if self.line_has_data {
            self.emit(b"\r\n", sink);
            self.line_has_data = false;
        } else {
            self.empty_lines += 1;
        }
    }

    pub fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8])) {
        for &b in data {
            if self.cr {
                self.cr = false;
                if b == b'\n' {
                    self.end_line(sink);
                    continue;
                }
                self.data(b'\r', sink);
            }
            match b {
                b'\r' => self.cr = true,
                b'\n' => self.end_line(sink), // bare LF tolerated as CRLF
                _ => self.data(b, sink),
            }
        }
    }

    pub fn finish(mut self, sink: &mut dyn FnMut(&[u8])) {
        if self.cr {
            self.cr = false;
            self.data(b'\r', sink);
        }
        if self.line_has_data {
            // A last line without CRLF gets one (both algorithms).
            self.emit(b"\r\n", sink);
        } else if self.canon == Canon::Simple && !self.emitted_any {
            // Simple: an empty body is a single CRLF.
            self.emit(b"\r\n", sink);
        }
        if !self.buf.is_empty() {
            sink(&self.buf);
        }
    }
}

/// Canonicalize a whole body (tests, small inputs).
pub fn body(c: Canon, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bc = BodyCanon::new(c);
    bc.feed(data, &mut |b| out.extend_from_slice(b));
    bc.finish(&mut |b| out.extend_from_slice(b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6376_3_4_6_example() {
        // RFC 6376 3.4.6 examples.
        let mut h = Vec::new();
        header(Canon::Relaxed, b"A: X\r\n", true, &mut h);
        header(Canon::Relaxed, b"B : Y\t\r\n\tZ  \r\n", true, &mut h);
        assert_eq!(h, b"a:X\r\nb:Y Z\r\n");
        let mut s = Vec::new();
        header(Canon::Simple, b"B : Y\t\r\n\tZ  \r\n", true, &mut s);
        assert_eq!(s, b"B : Y\t\r\n\tZ  \r\n");
        let b = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(body(Canon::Relaxed, b), b" C\r\nD E\r\n");
        assert_eq!(body(Canon::Simple, b), b" C \r\nD \t E\r\n");
    }

    #[test]
    fn empty_and_unterminated_bodies() {
        assert_eq!(body(Canon::Simple, b""), b"\r\n");
        assert_eq!(body(Canon::Relaxed, b""), b"");
        assert_eq!(body(Canon::Relaxed, b"\r\n\r\n"), b"");
        assert_eq!(body(Canon::Simple, b"\r\n\r\n"), b"\r\n");
        assert_eq!(body(Canon::Simple, b"abc"), b"abc\r\n");
        assert_eq!(body(Canon::Relaxed, b"abc  "), b"abc\r\n");
        assert_eq!(body(Canon::Relaxed, b"a\n\nb\n"), b"a\r\n\r\nb\r\n");
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let msg = b"line one  \r\n\t two\t\r\n\r\nthree\r\r\n \r\n\r\n";
        for c in [Canon::Simple, Canon::Relaxed] {
            let whole = body(c, msg);
            let mut out = Vec::new();
            let mut bc = BodyCanon::new(c);
            for b in msg.iter() {
                bc.feed(core::slice::from_ref(b), &mut |x| out.extend_from_slice(x));
            }
            bc.finish(&mut |x| out.extend_from_slice(x));
            assert_eq!(out, whole);
        }
    }

    #[test]
    fn header_collector_any_chunking() {
        let msg = b"A: 1\r\nB: 2\r\n 3\r\n\r\nbody\r\n\r\nmore";
        for n in 1..msg.len() {
            let mut hc = HeaderCollector::new();
            let mut body = Vec::new();
            for c in msg.chunks(n) {
                if let Some(b) = hc.feed(c).unwrap() {
                    body.extend_from_slice(b);
                }
            }
            assert_eq!(hc.bytes(), b"A: 1\r\nB: 2\r\n 3\r\n\r\n", "chunk {n}");
            assert_eq!(body, b"body\r\n\r\nmore", "chunk {n}");
        }
    }

    #[test]
    fn splits_headers() {
        let (h, off) = split_headers(b"A: 1\r\nB: 2\r\n 3\r\n\r\nbody").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].raw, b"B: 2\r\n 3\r\n");
        assert_eq!(off, 18);
    }
}
