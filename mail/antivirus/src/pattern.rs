//! ClamAV body-signature hex patterns ("Body-based Signature Content
//! Format"): parsing into elements and anchored matching.
//!
//! Supported: plain hex, `??`, nibble wildcards `a?`/`?a`, `*`, `{n}`,
//! `{-n}`, `{n-}`, `{n-m}`, alternatives `(aa|bb|cc)` (also of multi-byte
//! strings of any length, with `??`-free hex) and negated single-byte
//! alternatives `!(aa|bb)`. Not supported (the line is refused with an
//! error): `[x-y]` anchored byte ranges, `(B)` / `(L)` boundaries.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest hex signature text accepted (ClamAV's own are far shorter).
pub const MAX_PATTERN_TEXT: usize = 8192;
/// Alternatives inside one `( | )` group.
pub const MAX_ALTERNATIVES: usize = 64;
/// Upper bound written in `{n-m}` gaps; larger values are an error.
pub const MAX_GAP: u32 = 1 << 20;
/// Gaps and alternative groups per signature: each is a backtracking
/// point (and a recursion level of the matcher).
pub const MAX_BRANCHES: usize = 64;

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Elem {
    /// A byte under a mask: exact (`0xff`), high nibble (`0xf0`), low nibble
    /// (`0x0f`) or any (`0x00`, written `??`).
    Byte { value: u8, mask: u8 },
    /// `(aa|bbcc)`: one of several strings.
    Alt(Vec<Vec<u8>>),
    /// `!(aa|bb)`: one byte that is none of these.
    NotAlt(Vec<u8>),
    /// `*`, `{n}`, `{-n}`, `{n-}`, `{n-m}`: skip between `min` and `max`
    /// bytes (`None`: any number).
    Gap { min: u32, max: Option<u32> },
}

impl Elem {
    fn exact(&self) -> Option<u8> {
        match self {
            Elem::Byte { value, mask: 0xff } => Some(*value),
            _ => None,
        }
    }

    /// The element as seen when matching backwards (strings reversed).
    fn reversed(&self) -> Elem {
        match self {
            Elem::Alt(v) => Elem::Alt(
                v.iter()
                    .map(|s| {
                        let mut s = s.clone();
                        s.reverse();
                        s
                    })
                    .collect(),
            ),
            e => e.clone(),
        }
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn parse_num(s: &[u8]) -> Result<u32, String> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return Err(String::from("bad number in {n-m}"));
    }
    let n = s.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
    if n > MAX_GAP {
        return Err(String::from("gap too large"));
    }
    Ok(n)
}

/// Parses a hex signature into elements.
pub fn parse(text: &str) -> Result<Vec<Elem>, String> {
    let s = text.as_bytes();
    if s.len() > MAX_PATTERN_TEXT {
        return Err(String::from("hex signature too long"));
    }
    if s.is_empty() {
        return Err(String::from("empty hex signature"));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'*' => {
                out.push(Elem::Gap { min: 0, max: None });
                i += 1;
            }
            b'{' => {
                let end = s[i..].iter().position(|&c| c == b'}').ok_or("unterminated {")? + i;
                let body = &s[i + 1..end];
                let gap = match body.iter().position(|&c| c == b'-') {
                    None => {
                        let n = parse_num(body)?;
                        Elem::Gap { min: n, max: Some(n) }
                    }
                    Some(0) => Elem::Gap { min: 0, max: Some(parse_num(&body[1..])?) },
                    Some(d) if d == body.len() - 1 => Elem::Gap { min: parse_num(&body[..d])?, max: None },
                    Some(d) => {
                        let (a, b) = (parse_num(&body[..d])?, parse_num(&body[d + 1..])?);
                        if b < a {
                            return Err(String::from("{n-m} with m < n"));
                        }
                        Elem::Gap { min: a, max: Some(b) }
                    }
                };
                out.push(gap);
                i = end + 1;
            }
            b'!' | b'(' => {
                let neg = s[i] == b'!';
                if neg {
                    i += 1;
                    if s.get(i) != Some(&b'(') {
                        return Err(String::from("'!' not followed by '('"));
                    }
                }
                let end = s[i..].iter().position(|&c| c == b')').ok_or("unterminated (")? + i;
                let body = &s[i + 1..end];
                if body == b"B" || body == b"L" {
                    return Err(String::from("(B)/(L) boundaries not supported"));
                }
                let mut alts = Vec::new();
                for a in body.split(|&c| c == b'|') {
                    if alts.len() >= MAX_ALTERNATIVES {
                        return Err(String::from("too many alternatives"));
                    }
                    if a.is_empty() || a.len() % 2 != 0 {
                        return Err(String::from("bad alternative"));
                    }
                    let mut v = Vec::with_capacity(a.len() / 2);
                    for p in a.chunks(2) {
                        let (h, l) = (hex_val(p[0]), hex_val(p[1]));
                        match (h, l) {
                            (Some(h), Some(l)) => v.push(h << 4 | l),
                            _ => return Err(String::from("wildcards inside alternatives not supported")),
                        }
                    }
                    alts.push(v);
                }
                if neg {
                    if alts.iter().any(|a| a.len() != 1) {
                        return Err(String::from("negated alternatives must be single bytes"));
                    }
                    out.push(Elem::NotAlt(alts.into_iter().map(|a| a[0]).collect()));
                } else {
                    out.push(Elem::Alt(alts));
                }
                i = end + 1;
            }
            b'[' => return Err(String::from("[x-y] ranges not supported")),
            _ => {
                let (a, b) = (s[i], *s.get(i + 1).ok_or("odd number of hex digits")?);
                let e = match (a, b) {
                    (b'?', b'?') => Elem::Byte { value: 0, mask: 0 },
                    (b'?', l) => Elem::Byte { value: hex_val(l).ok_or("bad hex digit")?, mask: 0x0f },
                    (h, b'?') => Elem::Byte { value: hex_val(h).ok_or("bad hex digit")? << 4, mask: 0xf0 },
                    (h, l) => {
                        let (h, l) = (hex_val(h).ok_or("bad hex digit")?, hex_val(l).ok_or("bad hex digit")?);
                        Elem::Byte { value: h << 4 | l, mask: 0xff }
                    }
                };
                out.push(e);
                i += 2;
            }
        }
    }
    if matches!(out.first(), Some(Elem::Gap { .. })) || matches!(out.last(), Some(Elem::Gap { .. })) {
        return Err(String::from("signature starts or ends with a gap"));
    }
    Ok(out)
}

/// A pattern split around its anchor: the longest run of exact bytes, which
/// the scanner finds through its index; the rest is verified around it.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Elements before the anchor, in reverse order (matched backwards).
    pub before_rev: Vec<Elem>,
    pub anchor: Vec<u8>,
    /// Where in the anchor the scanner's index key sits (4 bytes, or 2
    /// for anchors shorter than 4): the window least likely to occur in
    /// ordinary data, so few positions become candidates.
    pub key_at: usize,
    pub key_len: usize,
    pub after: Vec<Elem>,
    /// Shortest length the elements before the anchor can take (lets a
    /// fixed offset be checked cheaply).
    pub before_min: usize,
}

/// Splits at the longest exact run; ClamAV likewise requires static bytes.
pub fn compile(elems: Vec<Elem>) -> Result<Compiled, String> {
    let (mut best, mut best_len) = (0usize, 0usize);
    let mut i = 0;
    while i < elems.len() {
        if elems[i].exact().is_some() {
            let start = i;
            while i < elems.len() && elems[i].exact().is_some() {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        return Err(String::from("signature needs at least two consecutive fixed bytes"));
    }
    if elems.iter().filter(|e| matches!(e, Elem::Gap { .. } | Elem::Alt(_))).count() > MAX_BRANCHES {
        return Err(String::from("too many gaps and alternatives"));
    }
    let anchor: Vec<u8> = elems[best..best + best_len].iter().filter_map(Elem::exact).collect();
    let key_len = if anchor.len() >= 4 { 4 } else { 2 };
    let key_at = (0..=anchor.len() - key_len)
        .min_by_key(|&i| anchor[i..i + key_len].iter().map(|&b| commonness(b)).sum::<u32>())
        .unwrap_or(0);
    let before_rev: Vec<Elem> = elems[..best].iter().rev().map(Elem::reversed).collect();
    let before_min = before_rev.iter().map(min_len).sum();
    Ok(Compiled { before_rev, anchor, key_at, key_len, after: elems[best + best_len..].to_vec(), before_min })
}

/// Rough frequency of a byte in mail parts and files (padding, spaces,
/// line ends and lower-case text are everywhere; other bytes are rarer).
fn commonness(b: u8) -> u32 {
    match b {
        0x00 => 10,
        0xff | b' ' => 8,
        b'\r' | b'\n' | b'\t' => 6,
        b'a'..=b'z' => 4,
        b'A'..=b'Z' | b'0'..=b'9' => 3,
        0x21..=0x7e => 2,
        _ => 1,
    }
}

fn min_len(e: &Elem) -> usize {
    match e {
        Elem::Byte { .. } | Elem::NotAlt(_) => 1,
        Elem::Alt(v) => v.iter().map(Vec::len).min().unwrap_or(0),
        Elem::Gap { min, .. } => *min as usize,
    }
}

/// Work budget for one anchored verification: patterns with several `*`
/// can backtrack; past this many steps the candidate counts as no match
/// (bounded time per message beats exotic completeness).
pub const STEP_BUDGET: u32 = 200_000;

/// Direction-agnostic view of the buffer around the anchor.
pub struct View<'a> {
    pub buf: &'a [u8],
    /// Forward: first byte after the anchor. Backward: the anchor's start.
    pub origin: usize,
    pub backward: bool,
}

impl View<'_> {
    fn get(&self, k: usize) -> Option<u8> {
        if self.backward {
            self.origin.checked_sub(k + 1).map(|i| self.buf[i])
        } else {
            self.buf.get(self.origin + k).copied()
        }
    }
    fn len(&self) -> usize {
        if self.backward {
            self.origin
        } else {
            self.buf.len() - self.origin
        }
    }
}

/// Matches `elems` from distance `k` of the view; on a full match calls
/// `accept(total_len)` and stops at the first accepted one. Fixed bytes are
/// walked in a loop; only alternatives and gaps recurse, so the recursion
/// depth is bounded by [`MAX_BRANCHES`], not by the signature length.
pub fn matches(
    elems: &[Elem],
    v: &View<'_>,
    mut k: usize,
    budget: &mut u32,
    accept: &mut dyn FnMut(usize) -> bool,
) -> bool {
    let mut i = 0;
    loop {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let Some(e) = elems.get(i) else { return accept(k) };
        let rest = &elems[i + 1..];
        match e {
            Elem::Byte { value, mask } => match v.get(k) {
                Some(b) if b & mask == *value => {}
                _ => return false,
            },
            Elem::NotAlt(set) => match v.get(k) {
                Some(b) if !set.contains(&b) => {}
                _ => return false,
            },
            Elem::Alt(alts) => {
                return alts.iter().any(|a| {
                    (0..a.len()).all(|j| v.get(k + j) == Some(a[j])) && matches(rest, v, k + a.len(), budget, accept)
                })
            }
            Elem::Gap { min, max } => {
                let lo = k + *min as usize;
                let avail = v.len();
                if lo > avail {
                    return false;
                }
                let hi = match max {
                    Some(m) => (k + *m as usize).min(avail),
                    None => avail,
                };
                // Skip ahead to where the next exact byte can occur.
                let next = rest.first().and_then(Elem::exact);
                let mut j = lo;
                while j <= hi {
                    if *budget == 0 {
                        return false;
                    }
                    if let Some(b) = next {
                        if v.get(j) != Some(b) {
                            j += 1;
                            *budget -= 1;
                            continue;
                        }
                    }
                    if matches(rest, v, j, budget, accept) {
                        return true;
                    }
                    j += 1;
                }
                return false;
            }
        }
        k += 1;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, buf: &[u8]) -> bool {
        m_compiled(&compile(parse(pat).unwrap()).unwrap(), buf)
    }

    fn m_compiled(c: &Compiled, buf: &[u8]) -> bool {
        let mut i = 0;
        while let Some(p) = buf[i..].windows(c.anchor.len()).position(|w| w == c.anchor.as_slice()) {
            let at = i + p;
            let mut budget = STEP_BUDGET;
            let back = View { buf, origin: at, backward: true };
            let fwd = View { buf, origin: at + c.anchor.len(), backward: false };
            if matches(&c.before_rev, &back, 0, &mut budget, &mut |_| {
                let mut b2 = STEP_BUDGET;
                matches(&c.after, &fwd, 0, &mut b2, &mut |_| true)
            }) {
                return true;
            }
            i = at + 1;
        }
        false
    }

    #[test]
    fn wildcards() {
        assert!(m("41424344", b"xxABCDyy"));
        assert!(!m("41424345", b"xxABCDyy"));
        assert!(m("4142??44", b"AB-D"));
        assert!(m("41424?", b"ABC"));
        assert!(m("4142?3", b"ABs"));
        assert!(!m("4142?3", b"ABt"));
        assert!(m("4142*4344", b"AB lots of stuff CD"));
        assert!(m("4142{2}4344", b"ABxxCD"));
        assert!(!m("4142{2}4344", b"ABxCD"));
        assert!(m("4142{-2}4344", b"ABxCD"));
        assert!(m("4142{-2}4344", b"ABCD"));
        assert!(!m("4142{-2}4344", b"ABxxxCD"));
        assert!(m("4142{2-}4344", b"ABxxxxxCD"));
        assert!(m("4142{1-3}4344", b"ABxxxCD"));
        assert!(!m("4142{1-3}4344", b"ABxxxxCD"));
        assert!(m("4142(43|4445)4647", b"ABDEFG"));
        assert!(m("4142(43|4445)4647", b"ABCFG"));
        assert!(!m("4142(43|4445)4647", b"ABEFG"));
        assert!(m("4142!(43|44)4647", b"ABEFG"));
        assert!(!m("4142!(43|44)4647", b"ABCFG"));
        // Anchor in the middle, backward part with a gap.
        assert!(m("61*6263646566{1-2}7a", b"a....bcdef.z"));
        assert!(!m("61*6263646566{1-2}7a", b"....bcdef.z"));
    }

    #[test]
    fn key_avoids_common_bytes() {
        let c = compile(parse("0000000000004d5a9000").unwrap()).unwrap();
        assert_eq!(&c.anchor[c.key_at..c.key_at + c.key_len], b"\x00\x4d\x5a\x90");
        let c = compile(parse("41424344").unwrap()).unwrap();
        assert_eq!((c.key_at, c.key_len), (0, 4));
        let c = compile(parse("4142??43").unwrap()).unwrap();
        assert_eq!((c.key_at, c.key_len), (0, 2));
    }

    #[test]
    fn bad_patterns() {
        for p in [
            "",
            "414",
            "41G1",
            "*4142",
            "4142*",
            "4142{3",
            "4142{a}4344",
            "4142{5-2}4344",
            "(41|42",
            "4142(4|43)",
            "41??42",
            "4142[1-2]43",
            "4142(B)4344",
            "4142!43",
            "4142!(4142|43)4344",
            "4142(4?|43)4344",
        ] {
            assert!(parse(p).and_then(compile).is_err(), "{p}");
        }
        let many = "4142*".repeat(MAX_BRANCHES + 1) + "4344";
        assert_eq!(parse(&many).and_then(compile).unwrap_err(), "too many gaps and alternatives");
    }

    #[test]
    fn long_signature_and_budget() {
        // A 4000-byte literal signature: matched in a loop, no deep recursion.
        let lit: alloc::vec::Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
        let hex: String = lit.iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert!(m(&hex, &lit));
        // Pathological backtracking is cut off by the budget, not hung.
        let pat = "6161*6161*6161*6161*6162";
        let buf = alloc::vec![b'a'; 80];
        assert!(!m(pat, &buf));
    }

    #[test]
    fn random_input_never_panics() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let alphabet = b"0123456789abcdefAF?*{}-|()![]BL,";
        for _ in 0..5000 {
            let mut s = String::new();
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize] as char);
            }
            if let Ok(c) = parse(&s).and_then(compile) {
                let _ = m_compiled(&c, b"abcdef0123456789ABCDEF");
            }
        }
    }
}
