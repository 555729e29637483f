//! Incremental command framing (RFC 3501 2.2 / 4.3, RFC 7888).
//!
//! A command is one or more CRLF-terminated lines; a line ending in a
//! literal announcement `{n}` / `{n+}` (or `~{n}` for literal8, RFC 3516) is
//! followed by exactly `n` raw bytes and then the rest of the command.
//! The framer cuts the byte stream into whole commands so that the parser
//! only ever sees complete input. It decides, from the announcement alone
//! and before allocating, whether a literal is acceptable, and tells the
//! session when to send the `+` continuation request (synchronizing
//! literals only, RFC 3501 7.5).

use alloc::string::String;
use alloc::vec::Vec;

/// Size limits, checked before any allocation happens.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest line (between CRLFs, excluding literal data).
    pub max_line: usize,
    /// Largest literal in commands other than APPEND.
    pub max_literal: usize,
    /// Largest message APPEND accepts (also the APPENDLIMIT capability).
    pub max_append: usize,
    /// Largest whole command, non-APPEND literals included.
    pub max_command: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line: 64 * 1024, max_literal: 64 * 1024, max_append: 64 * 1024 * 1024, max_command: 256 * 1024 }
    }
}

/// What the framer produced from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete command: lines (each ending in CRLF) and literal data.
    Command(Vec<u8>),
    /// A raw line (without CRLF), in raw-line mode (AUTHENTICATE, IDLE).
    Line(Vec<u8>),
    /// A synchronizing literal was accepted: send a continuation request.
    Continue,
    /// A literal announcement exceeds the limits. The command is dropped.
    /// For a synchronizing literal the client sends nothing more for it
    /// (it waits for our `+`), so the session answers with a tagged NO and
    /// carries on. For a non-synchronizing one the data is already on its
    /// way: RFC 7888 4 says to reject with a tagged BAD [TOOBIG]; we then
    /// close the connection rather than read and discard gigabytes.
    LiteralTooBig { tag: String, non_sync: bool, append: bool },
    /// A line exceeded `max_line` (or a command `max_command`): the stream
    /// cannot be resynchronized safely, so the session says BYE.
    TooLong,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Line,
    Literal(usize, bool),
}

/// The framer; feed it bytes with [`Framer::push`].
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    buf: Vec<u8>,
    line_start: usize,
    exempt: usize,
    state: State,
    raw: bool,
}

impl Framer {
    pub fn new(limits: Limits) -> Self {
        Framer { limits, buf: Vec::new(), line_start: 0, exempt: 0, state: State::Line, raw: false }
    }

    /// Raw-line mode: lines are returned as [`Frame::Line`], literals are
    /// not interpreted (AUTHENTICATE responses, IDLE's DONE).
    pub fn set_raw(&mut self, raw: bool) {
        self.raw = raw;
    }

    /// Whether a command is partly received.
    pub fn in_progress(&self) -> bool {
        !self.buf.is_empty()
    }

    pub fn reset(&mut self) {
        self.buf = Vec::new();
        self.line_start = 0;
        self.exempt = 0;
        self.state = State::Line;
    }

    /// Consumes bytes from `input`; returns how many were consumed and
    /// a frame if one is ready. Call again with the rest of the input.
    pub fn push(&mut self, input: &[u8]) -> (usize, Option<Frame>) {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Literal(rem, exempt) => {
                    let n = rem.min(input.len() - i);
                    self.buf.extend_from_slice(&input[i..i + n]);
                    if exempt {
                        self.exempt += n;
                    }
                    i += n;
                    if n == rem {
                        self.state = State::Line;
                        self.line_start = self.buf.len();
                    } else {
                        self.state = State::Literal(rem - n, exempt);
                    }
                }
                State::Line => {
                    let avail = &input[i..];
                    let (take, found) = match avail.iter().position(|&b| b == b'\n') {
                        Some(p) => (p + 1, true),
                        None => (avail.len(), false),
                    };
                    let line_len = self.buf.len() - self.line_start + take;
                    if line_len > self.limits.max_line + 2 || self.command_len() + take > self.limits.max_command {
                        self.reset();
                        return (i + take, Some(Frame::TooLong));
                    }
                    self.buf.extend_from_slice(&avail[..take]);
                    i += take;
                    if !found {
                        continue;
                    }
                    // Normalise the terminator to CRLF (bare LF tolerated).
                    // The CR must belong to this line, not to literal data.
                    self.buf.pop();
                    if self.buf.len() > self.line_start && self.buf.last() == Some(&b'\r') {
                        self.buf.pop();
                    }
                    if self.raw {
                        let line = core::mem::take(&mut self.buf);
                        self.reset();
                        return (i, Some(Frame::Line(line)));
                    }
                    match literal_announcement(&self.buf[self.line_start..]) {
                        None => {
                            self.buf.extend_from_slice(b"\r\n");
                            let cmd = core::mem::take(&mut self.buf);
                            self.reset();
                            return (i, Some(Frame::Command(cmd)));
                        }
                        Some((size, non_sync)) => {
                            let append = is_append(&self.buf);
                            let cap = if append { self.limits.max_append } else { self.limits.max_literal };
                            // RFC 3502 MULTIAPPEND: the messages of one
                            // APPEND share `max_append`, so a command with
                            // many literals is bounded too.
                            let fits = if append {
                                (self.exempt as u64).saturating_add(size) <= cap as u64
                            } else {
                                size <= cap as u64
                                    && (self.command_len() as u64 + size) <= self.limits.max_command as u64
                            };
                            if !fits {
                                let tag = tag_of(&self.buf);
                                self.reset();
                                return (i, Some(Frame::LiteralTooBig { tag, non_sync, append }));
                            }
                            let size = size as usize;
                            // Reserve once, only after the check above.
                            self.buf.reserve(size + 2);
                            self.buf.extend_from_slice(b"\r\n");
                            self.state = if size == 0 { State::Line } else { State::Literal(size, append) };
                            self.line_start = self.buf.len();
                            if !non_sync {
                                return (i, Some(Frame::Continue));
                            }
                        }
                    }
                }
            }
        }
        (i, None)
    }

    /// Bytes counted against `max_command`: everything except APPEND
    /// message literals, which are bounded separately by `max_append`.
    fn command_len(&self) -> usize {
        self.buf.len() - self.exempt
    }
}

/// Parses a trailing `{n}`, `{n+}`, `~{n}` on a line. Returns the size
/// (saturating: a 30-digit count is simply "too big") and non-sync flag.
fn literal_announcement(line: &[u8]) -> Option<(u64, bool)> {
    let line = line.strip_suffix(b"}")?;
    let (line, non_sync) = match line.strip_suffix(b"+") {
        Some(l) => (l, true),
        None => (line, false),
    };
    let open = line.iter().rposition(|&b| b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0u64, |a, &d| a.saturating_mul(10).saturating_add((d - b'0') as u64));
    Some((n, non_sync))
}

/// The tag (first word) of a command being framed, for error replies.
pub fn tag_of(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == b' ' || b == b'\r' || b == b'\n').unwrap_or(buf.len());
    let tag = &buf[..end.min(64)];
    if !tag.is_empty() && tag.iter().all(|&b| b > b' ' && b < 0x7f && b != b'{' && b != b'+' && b != b'*') {
        String::from_utf8_lossy(tag).into_owned()
    } else {
        String::from("*")
    }
}

/// Whether the command's first line is `tag APPEND ...` (its literal is a
/// message, bounded by `max_append` instead of `max_literal`).
fn is_append(buf: &[u8]) -> bool {
    let mut words = buf.splitn(3, |&b| b == b' ');
    words.next();
    matches!(words.next(), Some(w) if w.eq_ignore_ascii_case(b"APPEND"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn run_all(f: &mut Framer, input: &[u8], chunk: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            let mut p = piece;
            while !p.is_empty() {
                let (n, fr) = f.push(p);
                p = &p[n..];
                out.extend(fr);
            }
        }
        out
    }

    #[test]
    fn simple_and_literals_any_fragmentation() {
        let input = b"a1 NOOP\r\na2 LOGIN {3}\r\nbob {4+}\r\npass\r\na3 SELECT INBOX\n";
        let expect = vec![
            Frame::Command(b"a1 NOOP\r\n".to_vec()),
            Frame::Continue,
            Frame::Command(b"a2 LOGIN {3}\r\nbob {4+}\r\npass\r\n".to_vec()),
            Frame::Command(b"a3 SELECT INBOX\r\n".to_vec()),
        ];
        for chunk in 1..input.len() + 1 {
            let mut f = Framer::new(Limits::default());
            assert_eq!(run_all(&mut f, input, chunk), expect, "chunk {}", chunk);
        }
    }

    #[test]
    fn literal_containing_crlf_and_braces() {
        let mut f = Framer::new(Limits::default());
        let input = b"a APPEND x {10}\r\n{5}\r\n\r\n\r\nX\r\n";
        let fr = run_all(&mut f, input, 1);
        assert_eq!(fr, vec![Frame::Continue, Frame::Command(input.to_vec())]);
    }

    #[test]
    fn huge_literal_refused_without_allocating() {
        let mut f = Framer::new(Limits::default());
        let fr = run_all(&mut f, b"A APPEND INBOX {2147483648}\r\n", 7);
        assert_eq!(fr, vec![Frame::LiteralTooBig { tag: "A".into(), non_sync: false, append: true }]);
        assert!(f.buf.capacity() < 4096);
        let fr = run_all(&mut f, b"B LOGIN {99999999999999999999999+}\r\n", 100);
        assert_eq!(fr, vec![Frame::LiteralTooBig { tag: "B".into(), non_sync: true, append: false }]);
        // After a refused sync literal the framer carries on normally.
        assert_eq!(run_all(&mut f, b"C NOOP\r\n", 100), vec![Frame::Command(b"C NOOP\r\n".to_vec())]);
    }

    #[test]
    fn line_too_long() {
        let mut f = Framer::new(Limits { max_line: 10, ..Limits::default() });
        let fr = run_all(&mut f, b"a NOOP xxxxxxxxxxxxxxxxxxxxxxxx", 3);
        assert_eq!(fr[0], Frame::TooLong);
    }

    #[test]
    fn raw_mode() {
        let mut f = Framer::new(Limits::default());
        f.set_raw(true);
        assert_eq!(run_all(&mut f, b"DONE {5}\r\n", 1), vec![Frame::Line(b"DONE {5}".to_vec())]);
    }
}
