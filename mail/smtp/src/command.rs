//! Command-line parsing (RFC 5321 4.1.1 and 4.1.2), independent of session
//! state: turns one line (without CR LF) into a `Command`.

use alloc::string::String;
use alloc::vec::Vec;

/// A recognised verb with its raw argument text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    Helo(&'a [u8]),
    Ehlo(&'a [u8]),
    /// Bytes after `MAIL FROM:`
    Mail(&'a [u8]),
    /// Bytes after `RCPT TO:`
    Rcpt(&'a [u8]),
    Data(&'a [u8]),
    Bdat(&'a [u8]),
    Rset(&'a [u8]),
    Noop,
    Quit(&'a [u8]),
    Vrfy(&'a [u8]),
    Expn,
    Help,
    StartTls(&'a [u8]),
    Auth(&'a [u8]),
    /// ETRN, TURN, ATRN, ...: known but not implemented (502).
    NotImplemented,
    /// `MAIL`/`RCPT` without the `FROM:`/`TO:` part.
    BadSyntax,
    Unknown,
}

/// Split a command line into verb and argument and classify it.
pub fn parse(line: &[u8]) -> Command<'_> {
    let sp = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let verb = &line[..sp];
    let arg = if sp < line.len() { &line[sp + 1..] } else { &line[sp..] };
    let is = |v: &str| verb.eq_ignore_ascii_case(v.as_bytes());
    if is("MAIL") {
        return match strip_ci(arg, b"FROM:") {
            Some(rest) => Command::Mail(trim_start(rest)),
            None => Command::BadSyntax,
        };
    }
    if is("RCPT") {
        return match strip_ci(arg, b"TO:") {
            Some(rest) => Command::Rcpt(trim_start(rest)),
            None => Command::BadSyntax,
        };
    }
    match () {
        _ if is("EHLO") => Command::Ehlo(trim(arg)),
        _ if is("HELO") => Command::Helo(trim(arg)),
        _ if is("DATA") => Command::Data(trim(arg)),
        _ if is("BDAT") => Command::Bdat(arg),
        _ if is("RSET") => Command::Rset(trim(arg)),
        _ if is("NOOP") => Command::Noop,
        _ if is("QUIT") => Command::Quit(trim(arg)),
        _ if is("VRFY") => Command::Vrfy(trim(arg)),
        _ if is("EXPN") => Command::Expn,
        _ if is("HELP") => Command::Help,
        _ if is("STARTTLS") => Command::StartTls(trim(arg)),
        _ if is("AUTH") => Command::Auth(trim(arg)),
        _ if is("ETRN") || is("TURN") || is("ATRN") || is("SEND") || is("SOML") || is("SAML") => {
            Command::NotImplemented
        }
        _ => Command::Unknown,
    }
}

fn strip_ci<'a>(s: &'a [u8], p: &[u8]) -> Option<&'a [u8]> {
    if s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p) {
        Some(&s[p.len()..])
    } else {
        None
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ').count();
    &s[n..]
}

/// Trim spaces (and tabs) at both ends.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let end = s.len() - s[start..].iter().rev().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[start..end]
}

/// Split `<path> params...` into the path (brackets included) and the
/// parameter text. The closing `>` is the first one outside a quoted string.
/// RFC 5321 4.1.2 requires the angle brackets; a bare address is refused.
pub fn split_path(s: &[u8]) -> Option<(&[u8], &[u8])> {
    if s.first() != Some(&b'<') {
        return None;
    }
    let mut quoted = false;
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'>' if !quoted => {
                let rest = &s[i + 1..];
                if !rest.is_empty() && rest[0] != b' ' {
                    return None;
                }
                return Some((&s[..=i], trim(rest)));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One `esmtp-param` (RFC 5321 4.1.2): keyword upper-cased, optional value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub keyword: String,
    pub value: Option<String>,
}

/// Parse `esmtp-param *(SP esmtp-param)`; None on a grammar violation.
/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`,
/// `esmtp-value = 1*(%d33-60 / %d62-126)` (+ UTF-8 under RFC 6531 3.3).
pub fn parse_params(s: &[u8], max: usize) -> Option<Vec<Param>> {
    let mut out = Vec::new();
    for p in s.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
        if out.len() >= max {
            return None;
        }
        let (k, v) = match p.iter().position(|&b| b == b'=') {
            Some(eq) => (&p[..eq], Some(&p[eq + 1..])),
            None => (p, None),
        };
        if k.is_empty() || !k[0].is_ascii_alphanumeric() || !k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-') {
            return None;
        }
        let value = match v {
            Some(v) => {
                if v.is_empty() || !v.iter().all(|&b| (33..=126).contains(&b) && b != b'=' || b >= 0x80) {
                    return None;
                }
                Some(String::from(core::str::from_utf8(v).ok()?))
            }
            None => None,
        };
        let mut keyword = String::from(core::str::from_utf8(k).ok()?);
        keyword.make_ascii_uppercase();
        out.push(Param { keyword, value });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs() {
        assert_eq!(parse(b"ehlo client.example"), Command::Ehlo(b"client.example"));
        assert_eq!(parse(b"MAIL FROM:<a@b.c> SIZE=10"), Command::Mail(b"<a@b.c> SIZE=10"));
        assert_eq!(parse(b"mail from: <a@b.c>"), Command::Mail(b"<a@b.c>"));
        assert_eq!(parse(b"RCPT TO:<x@y.z>"), Command::Rcpt(b"<x@y.z>"));
        assert_eq!(parse(b"MAIL <a@b.c>"), Command::BadSyntax);
        assert_eq!(parse(b"NOOP whatever"), Command::Noop);
        assert_eq!(parse(b"ETRN x"), Command::NotImplemented);
        assert_eq!(parse(b"GET / HTTP/1.0"), Command::Unknown);
        assert_eq!(parse(b""), Command::Unknown);
    }

    #[test]
    fn paths_and_params() {
        assert_eq!(split_path(b"<a@b.c> SIZE=1 BODY=8BITMIME"), Some((&b"<a@b.c>"[..], &b"SIZE=1 BODY=8BITMIME"[..])));
        assert_eq!(split_path(b"<\"a>b\"@c.d>"), Some((&b"<\"a>b\"@c.d>"[..], &b""[..])));
        assert_eq!(split_path(b"a@b.c"), None);
        assert_eq!(split_path(b"<a@b.c>X"), None);
        let p = parse_params(b"size=1 SMTPUTF8", 10).unwrap();
        assert_eq!(p[0], Param { keyword: "SIZE".into(), value: Some("1".into()) });
        assert_eq!(p[1].value, None);
        assert!(parse_params(b"-X=1", 10).is_none());
        assert!(parse_params(b"X=", 10).is_none());
        assert!(parse_params(b"A B C", 2).is_none());
    }
}
