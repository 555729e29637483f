//! A small, bounded XML 1.0 reader: enough for RFC 7489 appendix C
//! aggregate reports, which are plain data documents.
//!
//! It builds a tree of [`Element`]s (local names, namespace prefixes
//! dropped; attributes checked for syntax and dropped) with their character
//! data. Supported: the XML declaration and processing instructions
//! (skipped), comments, CDATA sections, the five predefined entities and
//! character references. A DOCTYPE with an internal subset is refused:
//! entity definitions are how XML bombs work, and no report needs one.
//! Malformed input is an [`XmlError`] with the byte offset, line and column.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Bounds checked before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XmlLimits {
    /// Element nesting depth.
    pub max_depth: usize,
    /// Elements in the document.
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits { max_depth: 32, max_elements: 50_000 }
    }
}

/// One element: its local name, its character data (text and CDATA of the
/// element itself, not of its children) and its child elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The trimmed text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// Where and why the document is not well-formed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    /// Byte offset into the document.
    pub offset: usize,
    /// 1-based line and column (in characters) of `offset`.
    pub line: usize,
    pub column: usize,
    pub what: &'static str,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XML error at line {}, column {}: {}", self.line, self.column, self.what)
    }
}

/// Parse a whole document; returns its root element.
pub fn parse(doc: &[u8], limits: &XmlLimits) -> Result<Element, XmlError> {
    // XML 1.0 4.3.3: UTF-8 (the default and what reporters send); a BOM is allowed.
    let doc = doc.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(doc);
    let text = match core::str::from_utf8(doc) {
        Ok(t) => t,
        Err(e) => return Err(error_at(doc, e.valid_up_to(), "not UTF-8")),
    };
    let mut p = Parser { s: text.as_bytes(), pos: 0, limits, elements: 0 };
    p.document().map_err(|(at, what)| error_at(doc, at, what))
}

fn error_at(doc: &[u8], offset: usize, what: &'static str) -> XmlError {
    let before = &doc[..offset.min(doc.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    // Count characters, not bytes (continuation bytes are 10xxxxxx).
    let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
    XmlError { offset, line, column, what }
}

type R<T> = Result<T, (usize, &'static str)>;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    limits: &'a XmlLimits,
    elements: usize,
}

/// XML 1.0 2.3 NameStartChar/NameChar, ASCII subset plus any non-ASCII.
fn name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}
fn name_char(b: u8) -> bool {
    name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

impl<'a> Parser<'a> {
    fn err<T>(&self, what: &'static str) -> R<T> {
        Err((self.pos, what))
    }
    fn starts(&self, p: &[u8]) -> bool {
        self.s[self.pos..].starts_with(p)
    }
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
    }
    /// Move past the next `end`, or fail with `what`.
    fn skip_past(&mut self, end: &[u8], what: &'static str) -> R<usize> {
        match self.s[self.pos..].windows(end.len()).position(|w| w == end) {
            Some(i) => {
                let start = self.pos;
                self.pos += i + end.len();
                Ok(start + i)
            }
            None => self.err(what),
        }
    }

    /// XML 1.0 2.1: prolog, one element, then only misc.
    fn document(&mut self) -> R<Element> {
        self.misc()?;
        if self.starts(b"<!DOCTYPE") {
            let start = self.pos;
            let end = self.skip_past(b">", "unterminated DOCTYPE")?;
            if self.s[start..end].contains(&b'[') {
                return Err((start, "DOCTYPE with an internal subset (entity definitions) is not accepted"));
            }
            self.misc()?;
        }
        if !self.starts(b"<") {
            return self.err(if self.pos >= self.s.len() { "no root element" } else { "text before the root element" });
        }
        let root = self.element(1)?;
        self.misc()?;
        if self.pos < self.s.len() {
            return self.err("content after the root element");
        }
        Ok(root)
    }

    /// Whitespace, comments and processing instructions.
    fn misc(&mut self) -> R<()> {
        loop {
            self.skip_ws();
            if self.starts(b"<?") {
                self.skip_past(b"?>", "unterminated processing instruction")?;
            } else if self.starts(b"<!--") {
                self.comment()?;
            } else {
                return Ok(());
            }
        }
    }

    fn comment(&mut self) -> R<()> {
        let open = self.pos;
        self.pos += 4;
        let start = self.pos;
        let end = self.skip_past(b"-->", "unterminated comment").map_err(|(_, w)| (open, w))?;
        // XML 1.0 2.5: `--` must not occur inside a comment.
        if let Some(i) = self.s[start..end].windows(2).position(|w| w == b"--") {
            return Err((start + i, "'--' inside a comment"));
        }
        Ok(())
    }

    fn name(&mut self) -> R<&'a str> {
        let start = self.pos;
        if self.pos >= self.s.len() || !name_start(self.s[self.pos]) {
            return self.err("expected a name");
        }
        while self.pos < self.s.len() && name_char(self.s[self.pos]) {
            self.pos += 1;
        }
        // Only ASCII delimiters stop a name, so this is a char boundary.
        Ok(core::str::from_utf8(&self.s[start..self.pos]).unwrap_or(""))
    }

    /// An element starting at `<`; `depth` counts this one.
    fn element(&mut self, depth: usize) -> R<Element> {
        if depth > self.limits.max_depth {
            return self.err("elements nested too deeply");
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return self.err("too many elements");
        }
        self.pos += 1;
        let qname = self.name()?;
        let mut el = Element { name: local(qname).into(), ..Element::default() };
        // Attributes: XML 1.0 3.1, checked and dropped.
        loop {
            let had_ws = self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\r' | b'\n');
            self.skip_ws();
            if self.starts(b"/>") {
                self.pos += 2;
                return Ok(el);
            }
            if self.starts(b">") {
                self.pos += 1;
                break;
            }
            if self.pos >= self.s.len() {
                return self.err("unterminated start tag");
            }
            if !had_ws {
                return self.err("expected whitespace, '>' or '/>' in a start tag");
            }
            self.name()?;
            self.skip_ws();
            if !self.starts(b"=") {
                return self.err("expected '=' after an attribute name");
            }
            self.pos += 1;
            self.skip_ws();
            let q = match self.s.get(self.pos) {
                Some(&q @ (b'"' | b'\'')) => q,
                _ => return self.err("attribute value not quoted"),
            };
            self.pos += 1;
            let start = self.pos;
            let end = self.skip_past(&[q], "unterminated attribute value")?;
            if self.s[start..end].contains(&b'<') {
                return Err((start, "'<' in an attribute value"));
            }
            let mut sink = String::new();
            decode_text(&self.s[start..end], start, &mut sink)?;
        }
        // Content: XML 1.0 3.1 [43].
        loop {
            if self.pos >= self.s.len() {
                return self.err("unterminated element (missing end tag)");
            }
            if self.starts(b"</") {
                let at = self.pos;
                self.pos += 2;
                let end = self.name()?;
                if end != qname {
                    return Err((at, "end tag does not match the start tag"));
                }
                self.skip_ws();
                if !self.starts(b">") {
                    return self.err("expected '>' to close the end tag");
                }
                self.pos += 1;
                return Ok(el);
            } else if self.starts(b"<!--") {
                self.comment()?;
            } else if self.starts(b"<![CDATA[") {
                self.pos += 9;
                let start = self.pos;
                let end = self.skip_past(b"]]>", "unterminated CDATA section")?;
                el.text.push_str(core::str::from_utf8(&self.s[start..end]).unwrap_or(""));
            } else if self.starts(b"<?") {
                self.skip_past(b"?>", "unterminated processing instruction")?;
            } else if self.starts(b"<!") {
                return self.err("unexpected markup declaration in content");
            } else if self.starts(b"<") {
                let child = self.element(depth + 1)?;
                el.children.push(child);
            } else {
                let start = self.pos;
                while self.pos < self.s.len() && self.s[self.pos] != b'<' {
                    self.pos += 1;
                }
                let raw = &self.s[start..self.pos];
                // XML 1.0 2.4: `]]>` must not occur in character data.
                if let Some(i) = raw.windows(3).position(|w| w == b"]]>") {
                    return Err((start + i, "']]>' in character data"));
                }
                decode_text(raw, start, &mut el.text)?;
            }
        }
    }
}

/// Namespaces (XML Names 4) are ignored: the local part of a QName.
fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

/// Character data with entity and character references (XML 1.0 4.1, 4.6)
/// replaced; `base` is `raw`'s offset for errors.
fn decode_text(raw: &[u8], base: usize, out: &mut String) -> R<()> {
    let mut i = 0;
    while i < raw.len() {
        let Some(amp) = raw[i..].iter().position(|&b| b == b'&') else {
            out.push_str(core::str::from_utf8(&raw[i..]).unwrap_or(""));
            return Ok(());
        };
        out.push_str(core::str::from_utf8(&raw[i..i + amp]).unwrap_or(""));
        let at = i + amp;
        let Some(semi) = raw[at..].iter().take(12).position(|&b| b == b';') else {
            return Err((base + at, "'&' not starting an entity reference"));
        };
        let ent = &raw[at + 1..at + semi];
        let c = match ent {
            b"lt" => '<',
            b"gt" => '>',
            b"amp" => '&',
            b"quot" => '"',
            b"apos" => '\'',
            [b'#', b'x', hex @ ..] => char_ref(hex, 16).ok_or((base + at, "bad character reference"))?,
            [b'#', dec @ ..] => char_ref(dec, 10).ok_or((base + at, "bad character reference"))?,
            _ => return Err((base + at, "unknown entity")),
        };
        out.push(c);
        i = at + semi + 1;
    }
    Ok(())
}

fn char_ref(digits: &[u8], radix: u32) -> Option<char> {
    if digits.is_empty() {
        return None;
    }
    let s = core::str::from_utf8(digits).ok()?;
    let v = u32::from_str_radix(s, radix).ok()?;
    // XML 1.0 2.2 Char: no NUL or other C0 controls but tab, CR, LF.
    if v < 0x20 && !matches!(v, 9 | 10 | 13) {
        return None;
    }
    char::from_u32(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), &XmlLimits::default())
    }

    #[test]
    fn elements_text_entities_cdata_comments_namespaces() {
        let e = p("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!-- top -->\n<ns:feedback xmlns:ns='urn:x' a=\"1\">\n <a>x &amp; y &lt;&#65;&#x42;&quot;&apos;&gt;</a><!-- c - d --><b><![CDATA[<raw>&amp;]]></b><c/><ns:d>é</ns:d></ns:feedback>\n")
            .unwrap();
        assert_eq!(e.name, "feedback");
        assert_eq!(e.text_of("a"), Some("x & y <AB\"'>"));
        assert_eq!(e.text_of("b"), Some("<raw>&amp;"));
        assert_eq!(e.text_of("c"), Some(""));
        assert_eq!(e.text_of("d"), Some("é"));
        assert_eq!(e.children.len(), 4);
    }

    #[test]
    fn doctype_without_subset_is_fine() {
        assert_eq!(p("<!DOCTYPE feedback><feedback/>").unwrap().name, "feedback");
    }

    #[test]
    fn malformed_documents_give_positions() {
        let cases: &[(&str, usize, usize, &str)] = &[
            ("<a><b></a>", 1, 7, "end tag does not match the start tag"),
            ("<a>\n  <b>x</b>\n  <c>", 3, 6, "unterminated element (missing end tag)"),
            ("<a>&foo;</a>", 1, 4, "unknown entity"),
            ("<a>AT&T</a>", 1, 6, "'&' not starting an entity reference"),
            ("<a>&#0;</a>", 1, 4, "bad character reference"),
            ("<a x=1/>", 1, 6, "attribute value not quoted"),
            ("<a></a><b/>", 1, 8, "content after the root element"),
            ("", 1, 1, "no root element"),
            ("hello", 1, 1, "text before the root element"),
            ("<a><!-- x </a>", 1, 4, "unterminated comment"),
            (
                "<!DOCTYPE a [<!ENTITY x \"y\">]><a/>",
                1,
                1,
                "DOCTYPE with an internal subset (entity definitions) is not accepted",
            ),
            ("<a>]]></a>", 1, 4, "']]>' in character data"),
            ("<é>\n<b x='<'/></é>", 2, 7, "'<' in an attribute value"),
        ];
        for &(doc, line, column, what) in cases {
            let e = p(doc).expect_err(doc);
            assert_eq!((e.line, e.column, e.what), (line, column, what), "{doc}: {e}");
        }
        let e = parse(b"<a>\xff</a>", &XmlLimits::default()).unwrap_err();
        assert_eq!((e.offset, e.what), (3, "not UTF-8"));
        assert_eq!(format!("{e}"), "XML error at line 1, column 4: not UTF-8");
    }

    #[test]
    fn limits_are_enforced() {
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(p(&deep).unwrap_err().what, "elements nested too deeply");
        let many = format!("<a>{}</a>", "<b/>".repeat(20));
        let l = XmlLimits { max_depth: 4, max_elements: 10 };
        assert_eq!(parse(many.as_bytes(), &l).unwrap_err().what, "too many elements");
    }

    #[test]
    fn every_prefix_is_an_error_not_a_panic() {
        let doc = "<?xml version='1.0'?><f><a x='1'>t&amp;<![CDATA[c]]><!--k--></a><b/></f>";
        for n in 0..doc.len() {
            assert!(p(&doc[..n]).is_err(), "{}", &doc[..n]);
        }
        assert!(p(doc).is_ok());
    }
}
