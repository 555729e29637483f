//! A small self-contained [`Message`] over raw RFC 5322 bytes: header
//! splitting and unfolding, single-level multipart for the body test. It
//! does no RFC 2047 or transfer decoding; delivery should use the mail-mime
//! crate's parser. Used by the tests and as a fallback.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::compile::BodyTransform;
use crate::eval::Message;

#[derive(Debug, Clone)]
pub struct SimpleMessage {
    headers: Vec<(String, String)>,
    body: String,
    size: u64,
}

fn split_head(raw: &str) -> (&str, &str) {
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(i) = raw.find(sep) {
            // Choose the earliest separator of either style.
            let other = if sep == "\r\n\r\n" { raw.find("\n\n") } else { raw.find("\r\n\r\n") };
            if other.is_none_or(|o| i <= o) {
                return (&raw[..i], &raw[i + sep.len()..]);
            }
        }
    }
    if let Some(b) = raw.strip_prefix("\r\n").or_else(|| raw.strip_prefix('\n')) {
        return ("", b);
    }
    (raw, "")
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with(' ') || line.starts_with('\t') {
            // RFC 5322 2.2.3: unfolding.
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
            continue;
        }
        if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_string(), v.to_string()));
        }
    }
    for h in out.iter_mut() {
        h.1 = h.1.trim().to_string();
    }
    out
}

impl SimpleMessage {
    pub fn parse(raw: &str) -> Self {
        let (head, body) = split_head(raw);
        SimpleMessage { headers: parse_headers(head), body: body.to_string(), size: raw.len() as u64 }
    }

    fn content_type(headers: &[(String, String)]) -> (String, Option<String>) {
        let ct = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "text/plain".to_string());
        let mut parts = ct.split(';');
        let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut boundary = None;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("boundary") {
                    boundary = Some(v.trim().trim_matches('"').to_string());
                }
            }
        }
        (ty, boundary)
    }

    /// Leaf parts as (content type, body), one multipart level deep.
    fn parts(&self) -> Vec<(String, String)> {
        let (ty, boundary) = Self::content_type(&self.headers);
        match (ty.starts_with("multipart/"), boundary) {
            (true, Some(b)) => {
                let delim = alloc::format!("--{b}");
                let mut out = Vec::new();
                for chunk in self.body.split(delim.as_str()).skip(1) {
                    if chunk.starts_with("--") {
                        break;
                    }
                    let chunk = chunk.strip_prefix("\r\n").or_else(|| chunk.strip_prefix('\n')).unwrap_or(chunk);
                    let (h, b) = split_head(chunk);
                    let hs = parse_headers(h);
                    let (t, _) = Self::content_type(&hs);
                    out.push((t, b.to_string()));
                }
                out
            }
            _ => alloc::vec![(ty, self.body.clone())],
        }
    }
}

impl Message for SimpleMessage {
    fn header(&self, name: &str) -> Vec<String> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).collect()
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn body(&self, t: &BodyTransform) -> Vec<String> {
        match t {
            BodyTransform::Raw => alloc::vec![self.body.clone()],
            BodyTransform::Text => {
                self.parts().into_iter().filter(|(ty, _)| ty.starts_with("text/")).map(|(_, b)| b).collect()
            }
            BodyTransform::Content(types) => self
                .parts()
                .into_iter()
                .filter(|(ty, _)| {
                    types.iter().any(|want| {
                        let w = want.to_ascii_lowercase();
                        w.is_empty() || *ty == w || ty.split('/').next() == Some(w.as_str())
                    })
                })
                .map(|(_, b)| b)
                .collect(),
        }
    }
}
