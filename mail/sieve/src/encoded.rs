//! RFC 5228 2.4.2.4 encoded-character: `${hex:41 42}` and
//! `${unicode:1F600}` inside strings. A malformed sequence stays literal.

use alloc::string::String;

pub fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let close = after.find('}');
        let decoded = close.and_then(|j| decode_one(&after[..j]));
        match (close, decoded) {
            (Some(j), Some(d)) => {
                out.push_str(&d);
                rest = &after[j + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(inner: &str) -> Option<String> {
    let (kind, list) = inner.split_once(':')?;
    let unicode = if kind.trim().eq_ignore_ascii_case("hex") {
        false
    } else if kind.trim().eq_ignore_ascii_case("unicode") {
        true
    } else {
        return None;
    };
    let mut bytes = alloc::vec::Vec::new();
    let mut out = String::new();
    for tok in list.split([' ', '\t', '\r', '\n']).filter(|t| !t.is_empty()) {
        if tok.len() > 8 {
            return None;
        }
        let v = u32::from_str_radix(tok, 16).ok()?;
        if unicode {
            out.push(char::from_u32(v)?);
        } else {
            if v > 0xff {
                return None;
            }
            bytes.push(v as u8);
        }
    }
    if unicode {
        Some(out)
    } else {
        String::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn encoded() {
        assert_eq!(decode("a${hex:42 43}d"), "aBCd");
        assert_eq!(decode("${unicode:48 49}"), "HI");
        assert_eq!(decode("${unicode:1F600}"), "\u{1F600}");
        assert_eq!(decode("${hex:zz}${x}"), "${hex:zz}${x}");
        assert_eq!(decode("${hex:}"), "");
    }
}
