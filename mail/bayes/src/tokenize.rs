//! Tokeniser: decoded text parts (text/plain, text/html with tags
//! stripped) and selected headers (Subject, From, To; never Received,
//! which would teach the relay path), lower-cased words, URL hosts, and
//! OSB token pairs (orthogonal sparse bigrams, window 5, as rspamd): each
//! word paired with each of the 4 words before it, the distance part of
//! the pair. Every token is a 64-bit hash ([`crate::hash`]).

use alloc::string::String;
use alloc::vec::Vec;

use mail_mime::{Address, Message};

use crate::hash::TokenHasher;

/// OSB window: a word and the 4 before it.
pub const WINDOW: usize = 5;

/// Bounds on one message's tokenisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLimits {
    /// Distinct tokens kept per message.
    pub max_tokens: usize,
    /// Decoded text bytes read per message (the start of a long message
    /// says enough).
    pub max_text_bytes: usize,
    /// Words longer than this (in chars) become one "long word" token.
    pub max_word_chars: usize,
}

impl Default for TokenLimits {
    fn default() -> Self {
        TokenLimits { max_tokens: 20_000, max_text_bytes: 512 * 1024, max_word_chars: 32 }
    }
}

/// The distinct token hashes of one message, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tokens(pub Vec<u64>);

impl Tokens {
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct Collector<'l> {
    limits: &'l TokenLimits,
    out: Vec<u64>,
    text_bytes: usize,
}

impl Collector<'_> {
    fn push(&mut self, h: u64) {
        // Bounded before growing; duplicates are removed at the end, so
        // allow some slack for them.
        if self.out.len() < self.limits.max_tokens.saturating_mul(4) {
            self.out.push(h);
        }
    }

    /// Words of one text stream with OSB pairs, in namespace `ns`.
    fn words(&mut self, ns: &[u8], text: &str) {
        let room = self.limits.max_text_bytes.saturating_sub(self.text_bytes);
        let text = truncate(text, room);
        self.text_bytes += text.len();
        let mut window: [Option<u64>; WINDOW - 1] = [None; WINDOW - 1];
        for w in text.split(|c: char| !c.is_alphanumeric()).filter_map(|w| word_hash(w, self.limits.max_word_chars)) {
            // Unigram.
            self.push(TokenHasher::default().write(ns).write(&[0]).write(&w.to_le_bytes()).finish());
            // OSB pairs: (previous word at distance d, this word, d).
            for (d, prev) in window.iter().enumerate() {
                if let Some(p) = prev {
                    let mut h = TokenHasher::default();
                    h.write(ns).write(&[d as u8 + 1]).write(&p.to_le_bytes()).write(&w.to_le_bytes());
                    self.push(h.finish());
                }
            }
            window.rotate_right(1);
            window[0] = Some(w);
        }
    }

    fn token(&mut self, ns: &[u8], value: &[u8]) {
        self.push(TokenHasher::default().write(ns).write(&[0xff]).write(value).finish());
    }

    fn urls(&mut self, text: &str) {
        let text = truncate(text, self.limits.max_text_bytes);
        for host in url_hosts(text) {
            self.token(b"url", host.as_bytes());
            // The registered domain, roughly: the last two labels.
            let labels: Vec<&str> = host.rsplitn(3, '.').collect();
            if labels.len() >= 2 {
                let mut d = String::from(labels[1]);
                d.push('.');
                d.push_str(labels[0]);
                self.token(b"urld", d.as_bytes());
            }
        }
    }

    fn addresses(&mut self, ns: &[u8], list: &[Address]) {
        for a in list.iter().take(20) {
            let Address::Mailbox(mb) = a else { continue };
            let addr = mb.addr().to_lowercase();
            self.token(ns, addr.as_bytes());
            if let Some((_, dom)) = addr.rsplit_once('@') {
                let mut n = Vec::from(ns);
                n.push(b'@');
                self.token(&n, dom.as_bytes());
            }
            if let Some(name) = &mb.name {
                let mut n = Vec::from(ns);
                n.push(b'n');
                self.words(&n, name);
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Lower-cased words: runs of alphanumeric characters (apostrophes and
/// inner dots/dashes split words). A one-character word is dropped; a word
/// past `max_chars` becomes `\u{1}long:<first char>:<len/8>`, as SpamBayes
/// does, so encoded garbage counts without flooding the store.
pub fn split_words(text: &str, max_chars: usize) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter_map(move |w| {
        let n = w.chars().count();
        if n < 2 {
            return None;
        }
        if n > max_chars {
            let first = w.chars().next().unwrap_or('?');
            return Some(alloc::format!("\u{1}long:{}:{}", first.to_lowercase(), n / 8));
        }
        Some(w.chars().flat_map(char::to_lowercase).collect())
    })
}

/// The hash of a word as [`split_words`] would spell it, without building
/// the string (the tokeniser's hot path).
pub fn word_hash(w: &str, max_chars: usize) -> Option<u64> {
    if w.is_ascii() {
        let n = w.len();
        if n < 2 {
            return None;
        }
        if n <= max_chars {
            let mut h = TokenHasher::default();
            let mut buf = [0u8; 64];
            for chunk in w.as_bytes().chunks(64) {
                let out = &mut buf[..chunk.len()];
                out.copy_from_slice(chunk);
                out.make_ascii_lowercase();
                h.write(out);
            }
            return Some(h.finish());
        }
    }
    let n = w.chars().count();
    if n < 2 {
        return None;
    }
    if n > max_chars {
        let first = w.chars().next().unwrap_or('?');
        let long = alloc::format!("\u{1}long:{}:{}", first.to_lowercase(), n / 8);
        return Some(TokenHasher::default().write(long.as_bytes()).finish());
    }
    let mut h = TokenHasher::default();
    let mut buf = [0u8; 4];
    for c in w.chars().flat_map(char::to_lowercase) {
        h.write(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(h.finish())
}

/// Hosts of `http://` and `https://` URLs in a text (lower-cased, port and
/// userinfo removed), in order, duplicates kept.
pub fn url_hosts(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("http") {
        let after = &rest[i + 4..];
        let after = after.strip_prefix('s').unwrap_or(after);
        rest = after;
        let Some(a) = after.strip_prefix("://") else { continue };
        let end = a.find(|c: char| "/?#\"'<> \t\r\n()[]\\".contains(c)).unwrap_or(a.len());
        let auth = &a[..end];
        let host = auth.rsplit('@').next().unwrap_or(auth);
        let host = host.split(':').next().unwrap_or(host).trim_end_matches('.');
        if !host.is_empty() && host.len() <= 253 && out.len() < 100 {
            out.push(String::from(host));
        }
        rest = &a[end..];
    }
    out
}

/// Text of an HTML document as a reader sees it: tags removed (each
/// becomes a space), `<script>`/`<style>` content and comments dropped, the
/// common entities decoded. Not a full HTML parser; enough for tokens.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let skip_to = if lower[i..].starts_with("<!--") {
                lower[i..].find("-->").map(|e| i + e + 3)
            } else if lower[i..].starts_with("<script") {
                lower[i..].find("</script").and_then(|e| lower[i + e..].find('>').map(|g| i + e + g + 1))
            } else if lower[i..].starts_with("<style") {
                lower[i..].find("</style").and_then(|e| lower[i + e..].find('>').map(|g| i + e + g + 1))
            } else {
                lower[i..].find('>').map(|e| i + e + 1)
            };
            out.push(' ');
            i = skip_to.unwrap_or(b.len());
            continue;
        }
        if b[i] == b'&' {
            let ents =
                [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>'), ("&nbsp;", ' '), ("&quot;", '"'), ("&#39;", '\'')];
            if let Some((e, c)) = ents.iter().find(|(e, _)| lower[i..].starts_with(e)) {
                out.push(*c);
                i += e.len();
                continue;
            }
        }
        let next = html[i..].find(['<', '&']).map_or(b.len(), |n| if n == 0 { i + 1 } else { i + n });
        out.push_str(&html[i..next]);
        i = next;
    }
    out
}

/// Tokens of a whole message (RFC 5322 bytes).
pub fn tokenize(raw: &[u8], limits: &TokenLimits) -> Tokens {
    let m = Message::parse(raw);
    let mut c = Collector { limits, out: Vec::new(), text_bytes: 0 };
    if let Some(s) = m.subject() {
        c.words(b"s", &s);
    }
    c.addresses(b"f", &m.from());
    c.addresses(b"t", &m.to());
    for idx in m.body_parts(false) {
        let Some(text) = m.text(idx) else { continue };
        c.urls(&text);
        if m.parts[idx].content_type.sub == "html" {
            c.words(b"b", &strip_html(&text));
        } else {
            c.words(b"b", &text);
        }
    }
    let mut v = c.out;
    v.sort_unstable();
    v.dedup();
    v.truncate(limits.max_tokens);
    Tokens(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn words_and_long_words() {
        let w: Vec<String> = split_words("Hello, WORLD! a ÉTÉ x2 don't", 32).collect();
        assert_eq!(w, ["hello", "world", "été", "x2", "don"]);
        let w: Vec<String> = split_words("abcdefghijklmnopqrstuvwxyz0123456789", 32).collect();
        assert_eq!(w, ["\u{1}long:a:4"]);
    }

    #[test]
    fn word_hash_matches_split_words() {
        let text =
            "Hello, WORLD! a ÉTÉ x2 don't ÀÉÎÕÜàéîõü-ΣΑΣ abcdefghijklmnopqrstuvwxyz0123456789 Ünïcödé-lönger-than-8";
        for max in [8, 32] {
            let via_strings: Vec<u64> =
                split_words(text, max).map(|w| TokenHasher::default().write(w.as_bytes()).finish()).collect();
            let direct: Vec<u64> =
                text.split(|c: char| !c.is_alphanumeric()).filter_map(|w| word_hash(w, max)).collect();
            assert_eq!(via_strings, direct);
        }
    }

    #[test]
    fn urls() {
        let h =
            url_hosts("see HTTP://Www.Example.COM/x and https://user@evil.test:8080?q <a href=\"http://a.b.c.d/\">");
        assert_eq!(h, ["www.example.com", "evil.test", "a.b.c.d"]);
        assert!(url_hosts("http: nothing https:/ x").is_empty());
    }

    #[test]
    fn html() {
        let t = strip_html(
            "<html><style>p{x}</style><p>Buy&nbsp;NOW</p><!-- hidden --><script>var a;</script>&amp;save</html>",
        );
        let w: Vec<String> = split_words(&t, 32).collect();
        assert_eq!(w, vec!["buy", "now", "save"]);
        assert_eq!(strip_html("a < b"), "a  ");
    }

    #[test]
    fn osb_pairs_and_bounds() {
        let l = TokenLimits::default();
        let t = tokenize(b"Subject: one two\r\n\r\nthree four five six seven\r\n", &l);
        // Subject: 2 unigrams + 1 pair; body: 5 unigrams + (1+2+3+4) pairs.
        assert_eq!(t.len(), 3 + 5 + 10);
        // Order matters for pairs, not for the unigram set.
        let a = tokenize(b"\r\nalpha beta\r\n", &l);
        let b = tokenize(b"\r\nbeta alpha\r\n", &l);
        assert_eq!(a.len(), 3);
        assert_eq!(a.0.iter().filter(|h| b.0.contains(h)).count(), 2);
        // Repetition adds nothing.
        assert_eq!(tokenize(b"\r\nspam spam spam spam\r\n", &l).len(), 1 + 3);
        let small = TokenLimits { max_tokens: 5, ..TokenLimits::default() };
        assert_eq!(tokenize(b"\r\na1 b2 c3 d4 e5 f6 g7 h8\r\n", &small).len(), 5);
        let short = TokenLimits { max_text_bytes: 6, ..TokenLimits::default() };
        assert_eq!(tokenize(b"\r\nab cd ef gh\r\n", &short).len(), 2 + 1);
    }

    #[test]
    fn headers_and_parts() {
        let l = TokenLimits::default();
        let raw = b"From: Shop <deals@shop.example>\r\nTo: bob@example.org\r\nReceived: from x\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain words\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b--\r\n";
        let t = tokenize(raw, &l);
        let with_received = tokenize(&[b"Received: from other\r\n".as_slice(), raw].concat(), &l);
        assert_eq!(t, with_received);
        assert!(!t.is_empty());
        let html_only = tokenize(b"Content-Type: text/html\r\n\r\n<p>plain <i>words</i></p>\r\n", &l);
        let plain_only = tokenize(b"\r\nplain words\r\n", &l);
        assert_eq!(html_only, plain_only);
    }
}
