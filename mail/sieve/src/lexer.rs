//! Sieve lexer (RFC 5228 8.1: lexical tokens).
//!
//! Produces tokens with their 1-based line:column so every later error can
//! point at the offending place in the uploaded script.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::CompileError;

/// A position in the script source: 1-based line and column (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// RFC 5228 8.1: identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_")
    Ident(String),
    /// RFC 5228 8.1: tag = ":" identifier (stored lowercased, without ':')
    Tag(String),
    /// RFC 5228 8.1: number with optional K/M/G quantifier, already scaled.
    Number(u64),
    /// A quoted string or a multi-line `text:` string, unescaped.
    Str(String),
    LBracket,
    RBracket,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Semi,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

struct Lexer<'a> {
    src: &'a [u8],
    i: usize,
    line: u32,
    col: u32,
}

impl<'a> Lexer<'a> {
    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
    }
    fn peek(&self) -> Option<u8> {
        self.src.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.src.get(self.i + k).copied()
    }
    fn bump(&mut self) -> Option<u8> {
        let c = self.src.get(self.i).copied()?;
        self.i += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
    fn err(&self, pos: Pos, msg: &str) -> CompileError {
        CompileError::new(pos, msg)
    }
}

/// Splits `src` into tokens. `max_tokens` bounds the work on hostile input.
pub fn tokenize(src: &str, max_tokens: usize) -> Result<Vec<Token>, CompileError> {
    let mut lx = Lexer { src: src.as_bytes(), i: 0, line: 1, col: 1 };
    let mut out = Vec::new();
    loop {
        // Skip white space and comments.
        loop {
            match lx.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    lx.bump();
                }
                // RFC 5228 8.1: hash-comment
                Some(b'#') => {
                    while let Some(c) = lx.bump() {
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                // RFC 5228 8.1: bracket-comment
                Some(b'/') if lx.peek_at(1) == Some(b'*') => {
                    let start = lx.pos();
                    lx.bump();
                    lx.bump();
                    loop {
                        match lx.bump() {
                            None => return Err(lx.err(start, "unterminated comment")),
                            Some(b'*') if lx.peek() == Some(b'/') => {
                                lx.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => break,
            }
        }
        let pos = lx.pos();
        let Some(c) = lx.peek() else { break };
        if out.len() >= max_tokens {
            return Err(lx.err(pos, "script too large (token limit)"));
        }
        let tok = match c {
            b'[' => {
                lx.bump();
                Tok::LBracket
            }
            b']' => {
                lx.bump();
                Tok::RBracket
            }
            b'(' => {
                lx.bump();
                Tok::LParen
            }
            b')' => {
                lx.bump();
                Tok::RParen
            }
            b'{' => {
                lx.bump();
                Tok::LBrace
            }
            b'}' => {
                lx.bump();
                Tok::RBrace
            }
            b',' => {
                lx.bump();
                Tok::Comma
            }
            b';' => {
                lx.bump();
                Tok::Semi
            }
            b'"' => {
                lx.bump();
                Tok::Str(quoted(&mut lx, pos)?)
            }
            b':' => {
                lx.bump();
                let id = ident(&mut lx);
                if id.is_empty() {
                    return Err(lx.err(pos, "expected tag name after ':'"));
                }
                Tok::Tag(id.to_ascii_lowercase())
            }
            b'0'..=b'9' => {
                let mut n: u64 = 0;
                while let Some(d @ b'0'..=b'9') = lx.peek() {
                    lx.bump();
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(d - b'0')))
                        .ok_or_else(|| lx.err(pos, "number too large"))?;
                }
                // RFC 5228 2.4.1: QUANTIFIER = "K" / "M" / "G"
                let mul: u64 = match lx.peek() {
                    Some(b'k' | b'K') => 1 << 10,
                    Some(b'm' | b'M') => 1 << 20,
                    Some(b'g' | b'G') => 1 << 30,
                    _ => 1,
                };
                if mul != 1 {
                    lx.bump();
                }
                let n = n.checked_mul(mul).ok_or_else(|| lx.err(pos, "number too large"))?;
                if n > u64::from(u32::MAX) * 1024 {
                    return Err(lx.err(pos, "number too large"));
                }
                Tok::Number(n)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let id = ident(&mut lx);
                // RFC 5228 8.1: multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF)
                if id.eq_ignore_ascii_case("text") && lx.peek() == Some(b':') {
                    lx.bump();
                    Tok::Str(multiline(&mut lx, pos)?)
                } else {
                    Tok::Ident(id)
                }
            }
            _ => {
                return Err(lx.err(pos, "unexpected character"));
            }
        };
        out.push(Token { tok, pos });
    }
    Ok(out)
}

fn ident(lx: &mut Lexer<'_>) -> String {
    let mut s = String::new();
    while let Some(c) = lx.peek() {
        if c.is_ascii_alphanumeric() || c == b'_' {
            s.push(c as char);
            lx.bump();
        } else {
            break;
        }
    }
    s
}

/// RFC 5228 2.4.2: quoted-string; `\\` and `\"` are escapes, any other
/// backslash is dropped ("as if the backslash were not there").
fn quoted(lx: &mut Lexer<'_>, start: Pos) -> Result<String, CompileError> {
    let mut buf = Vec::new();
    loop {
        match lx.bump() {
            None => return Err(lx.err(start, "unterminated string")),
            Some(b'"') => break,
            Some(b'\\') => match lx.bump() {
                None => return Err(lx.err(start, "unterminated string")),
                Some(c) => buf.push(c),
            },
            Some(c) => buf.push(c),
        }
    }
    String::from_utf8(buf).map_err(|_| lx.err(start, "string is not valid UTF-8"))
}

/// RFC 5228 2.4.2 / 8.1: multi-line string ending with a line holding a
/// single "."; lines starting with ".." are dot-unstuffed. Bare LF line ends
/// are accepted (scripts are often uploaded with Unix line ends) and kept
/// as CRLF in the value, as the RFC's grammar says.
fn multiline(lx: &mut Lexer<'_>, start: Pos) -> Result<String, CompileError> {
    // Rest of the "text:" line: white space then a comment or line end.
    while let Some(b' ' | b'\t') = lx.peek() {
        lx.bump();
    }
    match lx.peek() {
        Some(b'#') => {
            while let Some(c) = lx.bump() {
                if c == b'\n' {
                    break;
                }
            }
        }
        Some(b'\r') if lx.peek_at(1) == Some(b'\n') => {
            lx.bump();
            lx.bump();
        }
        Some(b'\n') => {
            lx.bump();
        }
        _ => return Err(lx.err(lx.pos(), "expected line end after 'text:'")),
    }
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Read one line.
        let mut line = Vec::new();
        let mut ended = false;
        while let Some(c) = lx.bump() {
            if c == b'\n' {
                ended = true;
                break;
            }
            line.push(c);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line == b"." {
            break;
        }
        if !ended {
            return Err(lx.err(start, "unterminated multi-line string"));
        }
        let body = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
        buf.extend_from_slice(body);
        buf.extend_from_slice(b"\r\n");
    }
    String::from_utf8(buf).map_err(|_| lx.err(start, "string is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s, 10_000).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            toks("if size :over 10K { keep; } # c\n/* x */"),
            alloc::vec![
                Tok::Ident("if".into()),
                Tok::Ident("size".into()),
                Tok::Tag("over".into()),
                Tok::Number(10240),
                Tok::LBrace,
                Tok::Ident("keep".into()),
                Tok::Semi,
                Tok::RBrace,
            ]
        );
    }

    #[test]
    fn strings() {
        assert_eq!(toks(r#""a\"b\\c\d""#), alloc::vec![Tok::Str("a\"b\\cd".into())]);
        assert_eq!(
            toks("text: # x\r\nline1\n..dot\n.\n;"),
            alloc::vec![Tok::Str("line1\r\n.dot\r\n".into()), Tok::Semi]
        );
    }

    #[test]
    fn positions() {
        let t = tokenize("keep;\n  stop;", 100).unwrap();
        assert_eq!(t[2].pos, Pos { line: 2, col: 3 });
        let e = tokenize("keep;\n \"abc", 100).unwrap_err();
        assert_eq!((e.line, e.col), (2, 2));
        let e = tokenize("keep;\n\n   @", 100).unwrap_err();
        assert_eq!((e.line, e.col), (3, 4));
        let e = tokenize("/* open", 100).unwrap_err();
        assert_eq!((e.line, e.col), (1, 1));
    }

    #[test]
    fn limits() {
        assert!(tokenize("keep; keep; keep;", 5).is_err());
        assert!(tokenize("99999999999999999999999", 5).is_err());
    }
}
