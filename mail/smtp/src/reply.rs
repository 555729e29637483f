//! SMTP replies (RFC 5321 4.2) with RFC 2034 / RFC 3463 enhanced status codes.

use alloc::borrow::Cow;
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
    fn control_chars_neutralised() {
        assert_eq!(Reply::new(550, Enhanced(5, 7, 1), "x\r250 y").to_bytes(), b"550 5.7.1 x 250 y\r\n");
    }
}
