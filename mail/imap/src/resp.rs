//! Response encoding helpers (RFC 3501 4: strings, NIL, literals).

use alloc::vec::Vec;
use core::fmt::Write;

/// A response being built; bytes because literals may hold 8-bit data.
#[derive(Default, Debug)]
pub struct Out {
    pub buf: Vec<u8>,
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Out {
    pub fn s(&mut self, s: &str) -> &mut Self {
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    pub fn b(&mut self, s: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(s);
        self
    }
    pub fn num(&mut self, n: impl core::fmt::Display) -> &mut Self {
        let _ = write!(self, "{}", n);
        self
    }
    /// RFC 3501 4.3: a quoted string when the bytes allow it, else a literal.
    pub fn string(&mut self, v: &[u8]) -> &mut Self {
        let quotable = v.len() <= 1024 && v.iter().all(|&c| (0x20..0x7f).contains(&c));
        if quotable {
            self.buf.push(b'"');
            for &c in v {
                if c == b'"' || c == b'\\' {
                    self.buf.push(b'\\');
                }
                self.buf.push(c);
            }
            self.buf.push(b'"');
        } else {
            self.literal(v);
        }
        self
    }
    pub fn literal(&mut self, v: &[u8]) -> &mut Self {
        let _ = write!(self, "{{{}}}\r\n", v.len());
        self.buf.extend_from_slice(v);
        self
    }
    pub fn nstring(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.string(v),
            None => self.s("NIL"),
        }
    }
    /// An astring: an atom when possible (mailbox names), else a string.
    pub fn astring(&mut self, v: &[u8]) -> &mut Self {
        let atom = !v.is_empty()
            && v.len() < 256
            && v.iter().all(|&c| c > 0x20 && c < 0x7f && !matches!(c, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\'));
        if atom {
            self.b(v)
        } else {
            self.string(v)
        }
    }
}
