//! RFC 2045 5.1 Content-Type, RFC 2183 Content-Disposition, and their
//! parameters with RFC 2231 continuations and charsets.

use alloc::string::String;
use alloc::vec::Vec;

use crate::charset::{self, Charset};
use crate::encoded_word::{decode_text, unfold};

/// A parameter as written, after unquoting (what IMAP BODYSTRUCTURE's
/// body-fld-param carries; RFC 2231 sections stay separate here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawParam {
    /// Lowercased attribute, including any `*n*` suffix.
    pub name: String,
    pub value: Vec<u8>,
}

/// A decoded parameter: RFC 2231 sections joined, `%XX` and charset decoded,
/// stray RFC 2047 words decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Lowercased attribute without RFC 2231 suffixes.
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pub raw: Vec<RawParam>,
    pub decoded: Vec<Param>,
}

impl Params {
    /// Decoded value of a parameter (name case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.decoded.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value.as_str())
    }
}

/// RFC 2045 5.1: `type "/" subtype *(";" parameter)`, lowercased type names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub main: String,
    pub sub: String,
    pub params: Params,
}

impl ContentType {
    /// RFC 2045 5.2: the default, `text/plain; charset=us-ascii`.
    pub fn text_plain_default() -> ContentType {
        ContentType {
            main: String::from("text"),
            sub: String::from("plain"),
            params: Params {
                raw: alloc::vec![RawParam { name: String::from("charset"), value: b"us-ascii".to_vec() }],
                decoded: alloc::vec![Param { name: String::from("charset"), value: String::from("us-ascii") }],
            },
        }
    }

    /// RFC 2046 5.1.5: the default inside multipart/digest.
    pub fn message_rfc822_default() -> ContentType {
        ContentType { main: String::from("message"), sub: String::from("rfc822"), params: Params::default() }
    }

    pub fn is(&self, main: &str, sub: &str) -> bool {
        self.main.eq_ignore_ascii_case(main) && self.sub.eq_ignore_ascii_case(sub)
    }

    /// Parses a Content-Type value. `None` when there is no `type/subtype`
    /// (the caller then uses the default, RFC 2045 5.2).
    pub fn parse(value: &[u8], max_params: usize) -> Option<ContentType> {
        let v = unfold(value);
        let mut p = Cursor { s: &v, i: 0 };
        p.skip_cfws();
        let main = p.token();
        p.skip_cfws();
        if main.is_empty() || !p.eat(b'/') {
            return None;
        }
        p.skip_cfws();
        let sub = p.token();
        if sub.is_empty() {
            return None;
        }
        let params = parse_params(&mut p, max_params);
        Some(ContentType { main: lower(main), sub: lower(sub), params })
    }
}

/// RFC 2183 2: `disposition-type *(";" parameter)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposition {
    /// Lowercased: "inline", "attachment", or an extension token.
    pub kind: String,
    pub params: Params,
}

impl Disposition {
    pub fn parse(value: &[u8], max_params: usize) -> Option<Disposition> {
        let v = unfold(value);
        let mut p = Cursor { s: &v, i: 0 };
        p.skip_cfws();
        let kind = p.token();
        if kind.is_empty() {
            return None;
        }
        let params = parse_params(&mut p, max_params);
        Some(Disposition { kind: lower(kind), params })
    }
}

fn lower(s: &[u8]) -> String {
    let mut out = String::new();
    charset::decode_8bit_guess(s, &mut out);
    out.make_ascii_lowercase();
    out
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// RFC 5322 3.2.2: whitespace and (nested) comments.
    fn skip_cfws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.i += 1,
                Some(b'(') => {
                    let mut depth = 0usize;
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        match c {
                            b'\\' => self.i += 1,
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    self.i = self.i.min(self.s.len());
                }
                _ => return,
            }
        }
    }
    /// RFC 2045 5.1 token: anything but tspecials, space and controls.
    /// 8-bit bytes are accepted (lenient).
    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c <= b' ' || c == 0x7f || b"()<>@,;:\\\"/[]?=".contains(&c) {
                break;
            }
            self.i += 1;
        }
        &self.s[start..self.i]
    }
    /// RFC 5322 3.2.4 quoted-string (opening quote already seen); an
    /// unterminated string runs to the end.
    fn quoted(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }
}

/// Parameters after the type: `;` name `=` (token / quoted-string). Lenient:
/// unquoted values may contain spaces and tspecials up to the next `;`,
/// missing `;` between parameters is tolerated, names without `=` skipped.
fn parse_params(p: &mut Cursor<'_>, max_params: usize) -> Params {
    let mut raw: Vec<RawParam> = Vec::new();
    loop {
        // Skip to the next ';' (junk after a value is ignored).
        while let Some(c) = p.peek() {
            if c == b';' {
                break;
            }
            if c == b'"' {
                p.i += 1;
                p.quoted();
                continue;
            }
            p.i += 1;
        }
        if !p.eat(b';') {
            break;
        }
        p.skip_cfws();
        let name = p.token();
        p.skip_cfws();
        if name.is_empty() || !p.eat(b'=') {
            continue;
        }
        p.skip_cfws();
        let value = if p.eat(b'"') {
            p.quoted()
        } else {
            let start = p.i;
            while let Some(c) = p.peek() {
                if c == b';' {
                    break;
                }
                p.i += 1;
            }
            charset::trim(&p.s[start..p.i]).to_vec()
        };
        if raw.len() >= max_params {
            break;
        }
        raw.push(RawParam { name: lower(name), value });
    }
    let decoded = decode_params(&raw);
    Params { raw, decoded }
}

/// RFC 2231 3 and 4: `name*n` sections joined in order; `*`-suffixed
/// sections are `%XX`-encoded, the first may carry `charset'lang'`. A plain
/// value that contains RFC 2047 words (common, not standard) is decoded too.
fn decode_params(raw: &[RawParam]) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for rp in raw {
        let (base, _, _) = split_name(&rp.name);
        if done.contains(&base) || out.iter().any(|p| p.name == base) {
            continue;
        }
        if base.len() == rp.name.len() {
            // Plain parameter. If an RFC 2231 form of the same name exists,
            // that one wins (RFC 2231 says it is the more complete value).
            if raw.iter().any(|r| r.name.len() > base.len() && split_name(&r.name).0 == base) {
                continue;
            }
            let value = if rp.value.windows(2).any(|w| w == b"=?") {
                decode_text(&rp.value)
            } else {
                let mut s = String::new();
                charset::decode_8bit_guess(&rp.value, &mut s);
                s
            };
            out.push(Param { name: String::from(base), value });
            continue;
        }
        done.push(base);
        // Gather sections of this name: (index, extended, value).
        let mut sections: Vec<(u32, bool, &[u8])> = raw
            .iter()
            .filter_map(|r| {
                let (b, idx, ext) = split_name(&r.name);
                (b == base && b.len() < r.name.len()).then_some((idx.unwrap_or(0), ext, &r.value[..]))
            })
            .collect();
        sections.sort_by_key(|s| s.0);
        let mut bytes = Vec::new();
        let mut cs: Option<Charset> = None;
        for (n, (_, ext, val)) in sections.iter().enumerate() {
            let mut val: &[u8] = val;
            if *ext {
                if n == 0 {
                    // charset'language'value
                    let mut it = val.splitn(3, |&b| b == b'\'');
                    if let (Some(c), Some(_lang), Some(v)) = (it.next(), it.next(), it.next()) {
                        cs = Charset::from_label(c);
                        val = v;
                    }
                }
                percent_decode(val, &mut bytes);
            } else {
                bytes.extend_from_slice(val);
            }
        }
        let value = match cs {
            Some(c) => c.decode(&bytes),
            // No or unknown charset: keep the octets readable as best we can.
            None => {
                let mut s = String::new();
                charset::decode_8bit_guess(&bytes, &mut s);
                s
            }
        };
        out.push(Param { name: String::from(base), value });
    }
    out
}

/// `name`, `name*`, `name*3`, `name*3*` -> (base, section, extended).
fn split_name(name: &str) -> (&str, Option<u32>, bool) {
    let Some(star) = name.find('*') else { return (name, None, false) };
    let base = &name[..star];
    let rest = &name[star + 1..];
    if rest.is_empty() {
        return (base, None, true);
    }
    let (digits, ext) = match rest.strip_suffix('*') {
        Some(d) => (d, true),
        None => (rest, false),
    };
    match digits.parse::<u32>() {
        Ok(n) => (base, Some(n), ext),
        Err(_) => (name, None, false),
    }
}

fn percent_decode(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let h = s.get(i + 1).and_then(|&c| (c as char).to_digit(16));
            let l = s.get(i + 2).and_then(|&c| (c as char).to_digit(16));
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_basic() {
        let ct = ContentType::parse(b" Text/HTML; Charset=\"UTF-8\" (c); format=flowed", 64).unwrap();
        assert_eq!((ct.main.as_str(), ct.sub.as_str()), ("text", "html"));
        assert_eq!(ct.params.get("charset"), Some("UTF-8"));
        assert_eq!(ct.params.get("FORMAT"), Some("flowed"));
        let ct = ContentType::parse(b"multipart/mixed;\r\n\tboundary=\"a\\\"b; c\"", 64).unwrap();
        assert_eq!(ct.params.get("boundary"), Some("a\"b; c"));
        assert!(ContentType::parse(b"text", 64).is_none());
        assert!(ContentType::parse(b"", 64).is_none());
        assert!(ContentType::parse(b"/plain", 64).is_none());
        let ct = ContentType::parse(b"application/octet-stream; name=my file.pdf;;x", 64).unwrap();
        assert_eq!(ct.params.get("name"), Some("my file.pdf"));
    }

    #[test]
    fn rfc2231() {
        // RFC 2231 3 and 4 examples.
        let ct = ContentType::parse(
            b"message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
            64,
        )
        .unwrap();
        assert_eq!(ct.params.get("url"), Some("ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"));
        let ct =
            ContentType::parse(b"application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", 64)
                .unwrap();
        assert_eq!(ct.params.get("title"), Some("This is ***fun***"));
        let ct = ContentType::parse(
            b"application/x-stuff; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*0*=us-ascii'en'This%20is%20even%20more%20; title*2=\"isn't it!\"",
            64,
        )
        .unwrap();
        assert_eq!(ct.params.get("title"), Some("This is even more ***fun*** isn't it!"));
        assert_eq!(ct.params.raw.len(), 3);
        let d = Disposition::parse(b"attachment; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"fallback\"", 64)
            .unwrap();
        assert_eq!(d.kind, "attachment");
        assert_eq!(d.params.get("filename"), Some("€ rates.txt"));
        let d = Disposition::parse(b"attachment; filename*=iso-8859-1''caf%E9.txt", 64).unwrap();
        assert_eq!(d.params.get("filename"), Some("café.txt"));
    }

    #[test]
    fn rfc2047_in_params_and_limits() {
        let d = Disposition::parse(b"inline; filename=\"=?utf-8?B?w6kudHh0?=\"", 64).unwrap();
        assert_eq!(d.params.get("filename"), Some("é.txt"));
        let ct = ContentType::parse(b"text/plain; a=1; b=2; c=3", 2).unwrap();
        assert_eq!(ct.params.raw.len(), 2);
        let ct = ContentType::parse(b"text/plain; charset=\"unterminated", 8).unwrap();
        assert_eq!(ct.params.get("charset"), Some("unterminated"));
        assert_eq!(split_name("x*a"), ("x*a", None, false));
    }
}
