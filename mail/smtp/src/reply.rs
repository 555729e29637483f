//! SMTP replies (RFC 5321 4.2) with RFC 2034 / RFC 3463 enhanced status codes.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// RFC 3463 `class.subject.detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enhanced(pub u8, pub u16, pub u16);

/// One reply: a three-digit code, an optional enhanced code and text.
///
/// The text may contain `\n` to produce a multi-line reply
/// (RFC 5321 4.2.1: `code-text` lines, last one `code SP text`). CR and other
/// control characters are replaced by spaces when written, so a caller-given
/// text can never inject a reply line or a command-looking line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// 200..=599
    pub code: u16,
    /// RFC 2034: present on every 2xx/4xx/5xx reply except the greeting and
    /// the HELO/EHLO replies.
    pub enhanced: Option<Enhanced>,
    /// Human-readable text.
    pub text: Cow<'static, str>,
}

impl Reply {
    /// A reply with an enhanced code.
    pub fn new(code: u16, enhanced: Enhanced, text: impl Into<Cow<'static, str>>) -> Self {
        Reply { code, enhanced: Some(enhanced), text: text.into() }
    }
    /// A reply without an enhanced code (greeting, EHLO, 354, 334).
    pub fn plain(code: u16, text: impl Into<Cow<'static, str>>) -> Self {
        Reply { code, enhanced: None, text: text.into() }
    }
    /// 2xx
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
    /// 4xx or 5xx
    pub fn is_error(&self) -> bool {
        self.code >= 400
    }
    /// `250 2.1.5 Ok`: the usual recipient acceptance.
    pub fn rcpt_ok() -> Self {
        Reply::new(250, Enhanced(2, 1, 5), "Ok")
    }
    /// `250 2.1.0 Ok`: the usual sender acceptance.
    pub fn sender_ok() -> Self {
        Reply::new(250, Enhanced(2, 1, 0), "Ok")
    }
    /// `550 5.1.1 <addr>: Recipient address rejected: User unknown`-style text.
    pub fn user_unknown() -> Self {
        Reply::new(550, Enhanced(5, 1, 1), "Recipient address rejected: User unknown")
    }
    /// `250 2.0.0 Ok: queued as <id>`
    pub fn queued(id: &str) -> Self {
        Reply::new(250, Enhanced(2, 0, 0), alloc::format!("Ok: queued as {}", id))
    }

    /// Append the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let code = if (200..=599).contains(&self.code) { self.code } else { 451 };
        let text = self.text.strip_suffix('\n').unwrap_or(&self.text);
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            let last = lines.peek().is_none();
            push_num(out, code);
            out.push(if last { b' ' } else { b'-' });
            if let Some(Enhanced(a, b, c)) = self.enhanced {
                push_num(out, a as u16);
                out.push(b'.');
                push_num(out, b);
                out.push(b'.');
                push_num(out, c);
                if !line.is_empty() {
                    out.push(b' ');
                }
            }
            for &b in line.as_bytes() {
                out.push(if b < 0x20 || b == 0x7f { b' ' } else { b });
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }
}

/// Why a server reply could not be parsed (the client gives up on the
/// connection: RFC 5321 4.2 grammar violated or a limit exceeded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// Not `3DIGIT [("-" / SP) text]`, or the code changed between lines.
    Syntax,
    /// A line or the number of lines exceeded the parser's limits.
    TooLong,
}

/// Incremental reply parser for the client side (RFC 5321 4.2.1):
/// `Reply-line = *( Reply-code "-" [ textstring ] CRLF )
/// Reply-code [ SP textstring ] CRLF`. Bounded: at most `max_line` octets
/// per line and `max_lines` lines per reply.
#[derive(Clone, Debug)]
pub struct ReplyParser {
    line: Vec<u8>,
    overflow: bool,
    code: Option<u16>,
    text: String,
    lines: usize,
    max_line: usize,
    max_lines: usize,
}

impl ReplyParser {
    /// `max_line` includes CR LF (RFC 5321 4.5.3.1.5 says 512; real
    /// servers send longer, so callers usually allow more).
    pub fn new(max_line: usize, max_lines: usize) -> Self {
        ReplyParser {
            line: Vec::new(),
            overflow: false,
            code: None,
            text: String::new(),
            lines: 0,
            max_line,
            max_lines,
        }
    }

    /// Consume bytes up to the end of the next complete reply. Returns the
    /// number of bytes used and the reply, if one was completed.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Reply, ReplyError>>) {
        let mut used = 0;
        while used < input.len() {
            let rest = &input[used..];
            let (part, complete) = match rest.iter().position(|&b| b == b'\n') {
                Some(p) => (&rest[..p], true),
                None => (rest, false),
            };
            used += part.len() + complete as usize;
            if self.line.len() + part.len() > self.max_line {
                self.overflow = true;
            } else {
                self.line.extend_from_slice(part);
            }
            if complete {
                let line = core::mem::take(&mut self.line);
                if let Some(r) = self.line_done(&line) {
                    return (used, Some(r));
                }
            }
        }
        (used, None)
    }

    fn reset(&mut self) {
        self.code = None;
        self.text.clear();
        self.lines = 0;
        self.overflow = false;
    }

    fn line_done(&mut self, line: &[u8]) -> Option<Result<Reply, ReplyError>> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.lines += 1;
        if core::mem::take(&mut self.overflow) || self.lines > self.max_lines {
            self.reset();
            return Some(Err(ReplyError::TooLong));
        }
        let ok = line.len() >= 3
            && line[0].is_ascii_digit()
            && (b'2'..=b'5').contains(&line[0])
            && line[1].is_ascii_digit()
            && line[2].is_ascii_digit()
            && (line.len() == 3 || line[3] == b' ' || line[3] == b'-');
        let code =
            if ok { (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16 } else { 0 };
        if !ok || self.code.is_some_and(|c| c != code) {
            self.reset();
            return Some(Err(ReplyError::Syntax));
        }
        self.code = Some(code);
        let more = line.len() > 3 && line[3] == b'-';
        let text = if line.len() > 4 { &line[4..] } else { &b""[..] };
        if self.lines > 1 {
            self.text.push('\n');
        }
        self.text.push_str(&String::from_utf8_lossy(text));
        if more {
            return None;
        }
        let text = core::mem::take(&mut self.text);
        self.reset();
        Some(Ok(split_enhanced(code, text)))
    }
}

/// RFC 2034 4: a reply text starting with `class.subject.detail ` whose
/// class matches the reply code carries an enhanced code; it is removed
/// from every line of the text.
fn split_enhanced(code: u16, text: String) -> Reply {
    let first = text.split('\n').next().unwrap_or("");
    let token = first.split(' ').next().unwrap_or("");
    let mut parts = token.split('.');
    let parsed = (|| {
        let a: u8 = parts.next()?.parse().ok()?;
        let b: u16 = parts.next()?.parse().ok()?;
        let c: u16 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || a as u16 != code / 100 || token.len() > 11 {
            return None;
        }
        Some(Enhanced(a, b, c))
    })();
    match parsed {
        Some(e) => {
            let mut out = String::with_capacity(text.len());
            for (i, l) in text.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let l = l.strip_prefix(token).map(|r| r.strip_prefix(' ').unwrap_or(r)).unwrap_or(l);
                out.push_str(l);
            }
            Reply { code, enhanced: Some(e), text: Cow::Owned(out) }
        }
        None => Reply { code, enhanced: None, text: Cow::Owned(text) },
    }
}

fn push_num(out: &mut Vec<u8>, n: u16) {
    let mut buf = [0u8; 5];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi() {
        assert_eq!(Reply::queued("ABC").to_bytes(), b"250 2.0.0 Ok: queued as ABC\r\n");
        assert_eq!(Reply::plain(250, "a\nb\nc").to_bytes(), b"250-a\r\n250-b\r\n250 c\r\n");
        assert_eq!(Reply::plain(354, "go").to_bytes(), b"354 go\r\n");
        assert_eq!(Reply::plain(250, "a\n").to_bytes(), b"250 a\r\n");
        assert_eq!(Reply::plain(334, "").to_bytes(), b"334 \r\n");
    }

    #[test]
    fn parser_roundtrip_and_fragmentation() {
        let replies = [
            Reply::queued("ABC"),
            Reply::plain(250, "mx.example.org\nPIPELINING\nSIZE 100\nCHUNKING"),
            Reply::new(550, Enhanced(5, 1, 1), "line one\nline two"),
            Reply::plain(354, "go ahead"),
            Reply::plain(220, "2.0.0x not enhanced"),
        ];
        let mut wire = Vec::new();
        for r in &replies {
            r.write_to(&mut wire);
        }
        for step in [1usize, 3, 1000] {
            let mut p = ReplyParser::new(512, 10);
            let mut got = Vec::new();
            let mut buf: Vec<u8> = Vec::new();
            for piece in wire.chunks(step) {
                buf.extend_from_slice(piece);
                loop {
                    let (n, r) = p.feed(&buf);
                    buf.drain(..n);
                    match r {
                        Some(r) => got.push(r.unwrap()),
                        None => break,
                    }
                }
            }
            assert_eq!(got, replies);
        }
    }

    #[test]
    fn parser_errors() {
        let mut p = ReplyParser::new(20, 3);
        assert_eq!(p.feed(b"hello\r\n").1, Some(Err(ReplyError::Syntax)));
        assert_eq!(p.feed(b"250-a\r\n").1, None);
        assert_eq!(p.feed(b"251 b\r\n").1, Some(Err(ReplyError::Syntax)));
        assert_eq!(p.feed(b"250-a\r\n250 b\r\nX"), (14, Some(Ok(Reply::plain(250, "a\nb")))));
        let mut p = ReplyParser::new(20, 3);
        assert_eq!(p.feed(b"250-a\r\n250-a\r\n250-a\r\n250 a\r\n").1, Some(Err(ReplyError::TooLong)));
        let mut p = ReplyParser::new(20, 3);
        assert_eq!(p.feed(b"250 aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n").1, Some(Err(ReplyError::TooLong)));
        let mut p = ReplyParser::new(20, 3);
        assert_eq!(p.feed(b"250\r\n").1, Some(Ok(Reply::plain(250, ""))));
    }

    #[test]
    fn control_chars_neutralised() {
        assert_eq!(Reply::new(550, Enhanced(5, 7, 1), "x\r250 y").to_bytes(), b"550 5.7.1 x 250 y\r\n");
    }
}
