//! The DATA content scanner: end-of-data detection and dot-unstuffing
//! (RFC 5321 4.1.1.4 and 4.5.2), bare CR / bare LF handling (SMTP smuggling
//! defence), and per-line length accounting, byte by byte with O(1) state.
//!
//! The ONLY end-of-data sequence is the raw `CR LF . CR LF` (where the first
//! CR LF may be the one that ended the DATA command line, so `.\r\n` at the
//! very start ends an empty message). `\n.\n`, `\r.\n`, `\n.\r\n`,
//! `\r\n.\n` and `\r.\r\n` are content. "Line start" for dot-unstuffing and
//! end detection is defined on raw CR LF only: a bare LF or bare CR never
//! starts a line, so the scanner and any downstream hop that sees the same
//! bytes cannot disagree about where the message ends.

use alloc::vec::Vec;

/// What to do with a CR or LF that is not part of a CR LF pair in DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BareEndings {
    /// Keep reading until the real end-of-data, then reject the message
    /// (`550 5.5.2`, the enhanced code Postfix uses for
    /// `smtpd_forbid_bare_newline`). The session continues: because the end
    /// of data is only the raw CR LF . CR LF, nothing inside the message can
    /// have been taken for a command, so there is nothing to gain from a
    /// disconnect and a broken client gets a clear error.
    Reject,
    /// Accept and rewrite each bare CR and bare LF as CR LF in the content
    /// handed to the caller (like Postfix >= 3.9 `normalize`). The end of
    /// data is still only the raw CR LF . CR LF, and a line after a bare
    /// line ending is not dot-unstuffed.
    Normalize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// After a raw CR LF (or at the start of the data).
    LineStart,
    /// `.` at line start.
    Dot,
    /// `.` CR at line start.
    DotCr,
    /// Inside a line.
    Mid,
    /// CR inside a line (or at line start).
    Cr,
}

/// Streaming DATA scanner.
#[derive(Clone, Debug)]
pub struct DataScanner {
    state: State,
    policy: BareEndings,
    /// A bare CR or LF was seen.
    pub bare_seen: bool,
    /// Octets of content produced so far (after unstuffing).
    pub size: u64,
    line_len: usize,
    longest_line: usize,
}

impl DataScanner {
    /// Start of the content, just after `354`.
    pub fn new(policy: BareEndings) -> Self {
        DataScanner { state: State::LineStart, policy, bare_seen: false, size: 0, line_len: 0, longest_line: 0 }
    }

    /// Longest line seen so far (including the unfinished one), in octets
    /// excluding the line ending.
    pub fn longest_line(&self) -> usize {
        self.longest_line.max(self.line_len)
    }

    /// Most output octets one input octet can produce.
    pub const MAX_EXPANSION: usize = 3;

    fn push(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        out.extend_from_slice(bytes);
    }

    fn bare(&mut self, out: &mut Vec<u8>) {
        self.bare_seen = true;
        self.end_line();
        if self.policy == BareEndings::Normalize {
            self.push(out, b"\r\n");
        }
    }

    fn end_line(&mut self) {
        if self.line_len > self.longest_line {
            self.longest_line = self.line_len;
        }
        self.line_len = 0;
    }

    /// Feed raw bytes; content is appended to `out`. Returns the number of
    /// bytes consumed and whether the end-of-data sequence was reached (in
    /// which case the bytes after it are not consumed).
    pub fn scan(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Mid {
                // Fast path: copy up to the next CR or LF.
                let rest = &input[i..];
                let n = rest.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(rest.len());
                if n > 0 {
                    self.line_len = self.line_len.saturating_add(n);
                    self.push(out, &rest[..n]);
                    i += n;
                    continue;
                }
            }
            let b = input[i];
            i += 1;
            if self.step(b, out) {
                return (i, true);
            }
        }
        (i, false)
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        match self.state {
            State::LineStart => match b {
                b'.' => self.state = State::Dot,
                b'\r' => self.state = State::Cr,
                b'\n' => {
                    self.bare(out);
                    self.state = State::Mid;
                }
                _ => {
                    self.line_len = 1;
                    self.push(out, &[b]);
                    self.state = State::Mid;
                }
            },
            State::Dot => match b {
                b'\r' => self.state = State::DotCr,
                b'\n' => {
                    // ".\n": a dot line ended by a bare LF is content.
                    self.line_len = 1;
                    self.push(out, b".");
                    self.bare(out);
                    self.state = State::Mid;
                }
                _ => {
                    // RFC 5321 4.5.2: the leading dot of a line with other
                    // characters is deleted ("..x" -> ".x", ".x" -> "x").
                    self.line_len = 1;
                    self.push(out, &[b]);
                    self.state = State::Mid;
                }
            },
            State::DotCr => {
                if b == b'\n' {
                    // RFC 5321 4.1.1.4: CR LF . CR LF ends the mail data.
                    self.end_line();
                    return true;
                }
                // ".\r" followed by something else: the dot is content
                // (the line has other characters: the CR), the CR is bare.
                self.line_len = 1;
                self.push(out, b".");
                self.bare(out);
                self.state = State::Mid;
                return self.step(b, out);
            }
            State::Mid => match b {
                b'\r' => self.state = State::Cr,
                b'\n' => self.bare(out),
                _ => {
                    self.line_len = self.line_len.saturating_add(1);
                    self.push(out, &[b]);
                }
            },
            State::Cr => match b {
                b'\n' => {
                    self.end_line();
                    self.push(out, b"\r\n");
                    self.state = State::LineStart;
                }
                b'\r' => self.bare(out),
                _ => {
                    self.bare(out);
                    self.state = State::Mid;
                    return self.step(b, out);
                }
            },
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(policy: BareEndings, input: &[u8]) -> (Vec<u8>, usize, bool, bool) {
        let mut s = DataScanner::new(policy);
        let mut out = Vec::new();
        let (n, end) = s.scan(input, &mut out);
        (out, n, end, s.bare_seen)
    }

    #[test]
    fn simple_end() {
        let (out, n, end, bare) = run(BareEndings::Reject, b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
        assert_eq!(out, b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(n, 23);
        assert!(end && !bare);
    }

    #[test]
    fn empty_message() {
        let (out, n, end, _) = run(BareEndings::Reject, b".\r\nX");
        assert!(out.is_empty() && end && n == 3);
    }

    #[test]
    fn unstuffing() {
        let (out, _, end, _) = run(BareEndings::Reject, b"..\r\n..x\r\n.y\r\na.b\r\n.\r\n");
        assert_eq!(out, b".\r\n.x\r\ny\r\na.b\r\n");
        assert!(end);
    }

    #[test]
    fn smuggling_sequences_are_content() {
        for seq in [&b"a\n.\nb"[..], b"a\r.\nb", b"a\n.\r\nb", b"a\r\n.\nb", b"a\r.\r\nb", b"a\r\n.\rb"] {
            let (_, n, end, bare) = run(BareEndings::Reject, seq);
            assert!(!end, "{:?}", seq);
            assert_eq!(n, seq.len());
            assert!(bare);
            let (out, _, end, _) = run(BareEndings::Normalize, seq);
            assert!(!end);
            assert!(only_crlf(&out), "{:?}", out);
        }
    }

    fn only_crlf(v: &[u8]) -> bool {
        v.iter().enumerate().all(|(i, &b)| match b {
            b'\r' => v.get(i + 1) == Some(&b'\n'),
            b'\n' => i > 0 && v[i - 1] == b'\r',
            _ => true,
        })
    }

    #[test]
    fn normalize_rewrites() {
        let (out, _, end, bare) = run(BareEndings::Normalize, b"a\nb\rc\r\r\n.\r\n");
        assert_eq!(out, b"a\r\nb\r\nc\r\n\r\n");
        assert!(end && bare);
    }

    #[test]
    fn longest_line() {
        let mut s = DataScanner::new(BareEndings::Reject);
        let mut out = Vec::new();
        s.scan(b"abc\r\n", &mut out);
        s.scan(&[b'x'; 5000], &mut out);
        s.scan(b"\r\n.\r\n", &mut out);
        assert_eq!(s.longest_line(), 5000);
        assert_eq!(s.size, 5 + 5000 + 2);
    }
}
