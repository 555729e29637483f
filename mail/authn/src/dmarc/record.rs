//! RFC 7489 6.3 / 6.4: the DMARC policy record.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
    fn parse(v: &str) -> Option<Policy> {
        match v {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }
}

/// adkim= / aspf=
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alignment {
    Relaxed,
    Strict,
}

/// A reporting URI with its optional size limit (`!10m`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportUri {
    pub uri: String,
    pub max_bytes: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmarcRecord {
    pub p: Policy,
    /// sp= (None: same as p).
    pub sp: Option<Policy>,
    pub pct: u8,
    pub adkim: Alignment,
    pub aspf: Alignment,
    pub rua: Vec<ReportUri>,
    pub ruf: Vec<ReportUri>,
    /// fo= options, e.g. ["0"] or ["1", "d"].
    pub fo: Vec<String>,
    /// rf= formats (default ["afrf"]).
    pub rf: Vec<String>,
    /// ri= seconds (default 86400).
    pub ri: u32,
}

/// Most reporting URIs kept per tag (bounded heap).
pub const MAX_URIS: usize = 8;

/// Does this TXT string claim to be a DMARC record (RFC 7489 6.6.3:
/// records not starting with "v=DMARC1" are discarded)?
pub fn is_dmarc(txt: &[u8]) -> bool {
    let t = txt.trim_ascii_start();
    if !t.starts_with(b"v") {
        return false;
    }
    let rest = t[1..].trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"=") else { return false };
    let rest = rest.trim_ascii_start();
    rest.starts_with(b"DMARC1") && rest[6..].trim_ascii_start().first().is_none_or(|&c| c == b';')
}

fn uris(v: &str) -> Vec<ReportUri> {
    let mut out = Vec::new();
    for u in v.split(',') {
        let u = u.trim();
        if u.is_empty() || out.len() >= MAX_URIS {
            continue;
        }
        // dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
        let (uri, limit) = match u.rsplit_once('!') {
            Some((a, l)) => (a, Some(l)),
            None => (u, None),
        };
        if !uri.contains(':') {
            continue; // not a URI: ignored (RFC 7489 6.6.3)
        }
        let max_bytes = limit.and_then(|l| {
            let (num, unit) = match l.as_bytes().last() {
                Some(b'k') => (&l[..l.len() - 1], 1u64 << 10),
                Some(b'm') => (&l[..l.len() - 1], 1 << 20),
                Some(b'g') => (&l[..l.len() - 1], 1 << 30),
                Some(b't') => (&l[..l.len() - 1], 1 << 40),
                _ => (l, 1),
            };
            num.parse::<u64>().ok().map(|n| n.saturating_mul(unit))
        });
        out.push(ReportUri { uri: String::from(uri), max_bytes });
    }
    out
}

/// Parse a record selected by [`is_dmarc`]. `Err` means "no usable
/// record" (invalid p= and no valid rua=). Bad values of other tags fall
/// back to their defaults (RFC 7489 6.3).
pub fn parse(txt: &[u8]) -> Result<DmarcRecord, &'static str> {
    if txt.len() > 4096 {
        return Err("record too long");
    }
    let s = core::str::from_utf8(txt).map_err(|_| "non-UTF-8 record")?;
    let mut p: Option<Option<Policy>> = None; // Some(None): present but invalid
    let mut r = DmarcRecord {
        p: Policy::None,
        sp: None,
        pct: 100,
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
        rua: Vec::new(),
        ruf: Vec::new(),
        fo: alloc::vec![String::from("0")],
        rf: alloc::vec![String::from("afrf")],
        ri: 86400,
    };
    for (n, spec) in s.split(';').enumerate() {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        let Some((k, v)) = spec.split_once('=') else { continue };
        let (k, v) = (k.trim(), v.trim());
        if n == 0 {
            if k != "v" || v != "DMARC1" {
                return Err("v=DMARC1 is not the first tag");
            }
            continue;
        }
        let lv = v.to_ascii_lowercase();
        match k {
            "p" => p = Some(Policy::parse(&lv)),
            "sp" => r.sp = Policy::parse(&lv),
            "pct" => {
                if let Ok(n) = v.parse::<u8>() {
                    if n <= 100 {
                        r.pct = n;
                    }
                }
            }
            "adkim" | "aspf" => {
                let a = match lv.as_str() {
                    "s" => Alignment::Strict,
                    _ => Alignment::Relaxed,
                };
                if k == "adkim" {
                    r.adkim = a;
                } else {
                    r.aspf = a;
                }
            }
            "rua" => r.rua = uris(v),
            "ruf" => r.ruf = uris(v),
            "fo" => {
                let fo: Vec<String> = lv
                    .split(':')
                    .map(|x| String::from(x.trim()))
                    .filter(|x| matches!(x.as_str(), "0" | "1" | "d" | "s"))
                    .take(4)
                    .collect();
                if !fo.is_empty() {
                    r.fo = fo;
                }
            }
            "rf" => {
                let rf: Vec<String> =
                    lv.split(':').map(|x| String::from(x.trim())).filter(|x| !x.is_empty()).take(4).collect();
                if !rf.is_empty() {
                    r.rf = rf;
                }
            }
            "ri" => {
                if let Ok(n) = v.parse::<u32>() {
                    r.ri = n;
                }
            }
            _ => {} // unknown tags are ignored
        }
    }
    match p {
        Some(Some(pol)) => r.p = pol,
        // RFC 7489 6.6.3: no valid p= but a valid rua= acts as p=none.
        _ if !r.rua.is_empty() => r.p = Policy::None,
        _ => return Err("no valid p= tag"),
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let r = parse(b"v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; rua=mailto:a@example.com!10m, mailto:b@example.net; ruf=mailto:f@example.com; fo=1:d; rf=afrf; ri=3600").unwrap();
        assert_eq!(r.p, Policy::Reject);
        assert_eq!(r.sp, Some(Policy::Quarantine));
        assert_eq!(r.pct, 50);
        assert_eq!(r.adkim, Alignment::Strict);
        assert_eq!(r.aspf, Alignment::Relaxed);
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.rua[0].max_bytes, Some(10 << 20));
        assert_eq!(r.fo, ["1", "d"]);
        assert_eq!(r.ri, 3600);
        let d = parse(b"v=DMARC1;p=none").unwrap();
        assert_eq!((d.pct, d.adkim, d.sp, d.ri), (100, Alignment::Relaxed, None, 86400));
        assert!(parse(b"p=reject; v=DMARC1").is_err());
        assert!(parse(b"v=DMARC1; p=bogus").is_err());
        assert_eq!(parse(b"v=DMARC1; p=bogus; rua=mailto:x@example.com").unwrap().p, Policy::None);
        assert_eq!(parse(b"v=DMARC1; p=reject; pct=200").unwrap().pct, 100);
        assert!(is_dmarc(b"v=DMARC1; p=none"));
        assert!(is_dmarc(b"v = DMARC1"));
        assert!(!is_dmarc(b"v=DMARC10; p=none"));
        assert!(!is_dmarc(b"v=spf1 -all"));
    }
}
