//! `unimail dns DIR --verify --server IP[:PORT]`: ask a DNS server for
//! every record `unimail dns` prints and say, for each, whether it is
//! published as printed:
//!
//! * `ok`        the server's RRset is the printed one;
//! * `missing`   no such record (NXDOMAIN or no data of that type);
//! * `different` records exist but differ (both are shown);
//! * `stale`     a DKIM selector still published whose key `dkim rotate
//!   --retire` set aside (`dkim/DOMAIN.SELECTOR.pem.retired`): delete it;
//! * `advice`    a PTR for an address of the host that does not name the
//!   host (not counted: the address's owner sets it, and the server asked
//!   is often not the one for the reverse zone).
//!
//! Comparison is by meaning, not bytes: TXT strings are joined (RFC 6376
//! 3.6.2.2 splits are free), tag lists (`v=DKIM1; k=…; p=…`) compare as
//! sets of tags with whitespace removed, names case-insensitively. TXT
//! records at a name are matched by their `v=` tag, so an unrelated TXT at
//! the apex (a site verification) is not a difference. Returns whether
//! nothing was missing or different.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hickory_proto::rr::{RData, RecordType};

use crate::config_cmds::Loaded;
use crate::dnsclient::{Client, Lookup};

/// A record `unimail dns` printed: owner, type, RDATA as printed.
struct Expected {
    name: String,
    rtype: String,
    rdata: Vec<String>,
}

/// The `name TTL IN TYPE rdata` lines of the zone text, grouped into RRsets.
fn expected(zone: &str) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for l in zone.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty()) {
        let mut it = l.splitn(5, ' ');
        let (Some(name), Some(_ttl), Some("IN"), Some(t), Some(rdata)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        let key = match t {
            // TXT RRsets are split by their v= tag (SPF beside other TXT).
            "TXT" => format!("TXT {}", vtag(&txt_join_printed(rdata))),
            _ => t.to_string(),
        };
        match out.iter_mut().find(|e| e.name == name && e.rtype == key) {
            Some(e) => e.rdata.push(rdata.to_string()),
            None => out.push(Expected { name, rtype: key, rdata: vec![rdata.to_string()] }),
        }
    }
    out
}

/// `"a" "b"` → `ab` (our own printer never escapes).
fn txt_join_printed(rdata: &str) -> String {
    rdata.split('"').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s).collect()
}

/// The `v=` tag a TXT value starts with (lowercased), or "".
fn vtag(v: &str) -> String {
    let first = v.trim_start().split([';', ' ']).next().unwrap_or("");
    if first.to_ascii_lowercase().starts_with("v=") {
        first.to_ascii_lowercase()
    } else {
        String::new()
    }
}

/// A TXT value in comparable form.
fn canon_txt(v: &str) -> String {
    let v = v.trim();
    if v.to_ascii_lowercase().starts_with("v=spf1") {
        // RFC 7208 4.6.1: terms separated by spaces.
        return v.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    }
    // RFC 6376 3.2 tag-lists: order and whitespace do not matter.
    let mut tags: Vec<String> = v
        .split(';')
        .map(|t| t.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('=') {
            Some((k, val)) => format!("{}={val}", k.to_ascii_lowercase()),
            None => t,
        })
        .collect();
    tags.sort();
    tags.join("; ")
}

fn canon_name(n: &str) -> String {
    let n = n.to_ascii_lowercase();
    if n.ends_with('.') {
        n
    } else {
        n + "."
    }
}

/// Printed RDATA in comparable form.
fn canon_printed(rtype: &str, rdata: &str) -> String {
    let f: Vec<&str> = rdata.split_whitespace().collect();
    match (rtype, f.as_slice()) {
        ("TXT", _) => canon_txt(&txt_join_printed(rdata)),
        ("MX", [p, h]) => format!("{p} {}", canon_name(h)),
        ("SRV", [p, w, port, t]) => format!("{p} {w} {port} {}", canon_name(t)),
        ("TLSA", [u, s, m, h]) => format!("{u} {s} {m} {}", h.to_ascii_lowercase()),
        ("A" | "AAAA", [a]) => a.parse::<std::net::IpAddr>().map(|a| a.to_string()).unwrap_or(a.to_string()),
        _ => rdata.to_string(),
    }
}

/// Received RDATA in the same form, and as zone text for display (TXT:
/// shown as its strings, tagged with its `v=`).
fn canon_received(d: &RData) -> Option<(String, String)> {
    let hexs = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Some(match d {
        RData::A(a) => (a.0.to_string(), a.0.to_string()),
        RData::AAAA(a) => (a.0.to_string(), a.0.to_string()),
        RData::MX(m) => {
            let s = format!("{} {}", m.preference, canon_name(&m.exchange.to_ascii()));
            (s.clone(), s)
        }
        RData::SRV(s) => {
            let v = format!("{} {} {} {}", s.priority, s.weight, s.port, canon_name(&s.target.to_ascii()));
            (v.clone(), v)
        }
        RData::TLSA(t) => {
            let v = format!(
                "{} {} {} {}",
                u8::from(t.cert_usage),
                u8::from(t.selector),
                u8::from(t.matching),
                hexs(&t.cert_data)
            );
            (v.clone(), v)
        }
        RData::TXT(t) => {
            let joined: String = t.txt_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
            let shown = t.txt_data.iter().map(|s| format!("\"{}\"", String::from_utf8_lossy(s))).collect::<Vec<_>>();
            (canon_txt(&joined), format!("{}\0{}", shown.join(" "), vtag(&joined)))
        }
        _ => return None,
    })
}

fn record_type(t: &str) -> Option<RecordType> {
    Some(match t {
        "A" => RecordType::A,
        "AAAA" => RecordType::AAAA,
        "MX" => RecordType::MX,
        "TXT" => RecordType::TXT,
        "SRV" => RecordType::SRV,
        "TLSA" => RecordType::TLSA,
        _ => return None,
    })
}

/// Print the comparison; Ok(true) when nothing is missing or different.
pub fn verify(l: &Loaded, zone: &str, server: &str) -> Result<bool, String> {
    let mut client = Client::new(server)?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = String::new();
    let mut cache: BTreeMap<(String, String), Lookup> = BTreeMap::new();
    for e in expected(zone) {
        let t = e.rtype.split(' ').next().unwrap_or("");
        let Some(rt) = record_type(t) else { continue };
        let tag = e.rtype.split_once(' ').map(|(_, v)| v.to_string());
        let lookup = cache.entry((e.name.clone(), t.to_string())).or_insert_with(|| client.query(&e.name, rt));
        let mut want: Vec<String> = e.rdata.iter().map(|r| canon_printed(t, r)).collect();
        want.sort();
        want.dedup();
        let status = match lookup {
            Lookup::Failed(why) => {
                let _ = writeln!(out, "missing   {} {t}: no answer ({why})", e.name);
                "missing"
            }
            Lookup::NxDomain | Lookup::NoData => {
                for r in &e.rdata {
                    let _ = writeln!(out, "missing   {} {t} {r}", e.name);
                }
                "missing"
            }
            Lookup::Records(recs) => {
                let got: Vec<(String, String)> = recs
                    .iter()
                    .filter_map(canon_received)
                    .filter_map(|(c, shown)| {
                        let (shown, v) = match shown.split_once('\0') {
                            Some((s, v)) => (s.to_string(), v.to_string()),
                            None => (shown, String::new()),
                        };
                        // TXT: only the records of the same kind (v= tag);
                        // DKIM keys may omit v=DKIM1 (RFC 6376 3.6.1).
                        let keep = match &tag {
                            Some(t) if e.name.contains("._domainkey.") => v.is_empty() || v == *t,
                            Some(t) => v == *t,
                            None => true,
                        };
                        keep.then_some((c, shown))
                    })
                    .collect();
                let mut have: Vec<String> = got.iter().map(|(c, _)| c.clone()).collect();
                have.sort();
                have.dedup();
                if got.is_empty() {
                    for r in &e.rdata {
                        let _ = writeln!(out, "missing   {} {t} {r}", e.name);
                    }
                    "missing"
                } else if have == want {
                    for r in &e.rdata {
                        let _ = writeln!(out, "ok        {} {t} {}", e.name, short(r));
                    }
                    "ok"
                } else {
                    let _ = writeln!(out, "different {} {t}", e.name);
                    for r in &e.rdata {
                        let _ = writeln!(out, "    want: {r}");
                    }
                    for (_, shown) in &got {
                        let _ = writeln!(out, "    have: {shown}");
                    }
                    "different"
                }
            }
        };
        *counts.entry(status).or_default() += 1;
    }
    // PTR (advice only: set by whoever owns the address, often not in the
    // server asked): each address of the host should name the host.
    let host = format!("{}.", l.cfg.hostname.to_ascii_lowercase());
    for e in expected(zone).iter().filter(|e| e.name == host && (e.rtype == "A" || e.rtype == "AAAA")) {
        for a in e.rdata.iter().filter_map(|r| r.parse::<std::net::IpAddr>().ok()) {
            let name = crate::config_cmds::ptr_name(a);
            let got = match client.query(&name, RecordType::PTR) {
                Lookup::Records(v) => v
                    .iter()
                    .filter_map(|r| match r {
                        RData::PTR(p) => Some(canon_name(&p.0.to_ascii())),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                Lookup::NoData | Lookup::NxDomain => "none".into(),
                Lookup::Failed(why) => format!("no answer: {why}"),
            };
            if got == host {
                let _ = writeln!(out, "ok        {name} PTR {host}  (advice)");
            } else {
                let _ = writeln!(out, "advice    {name} PTR {host}  (the address owner sets it; now: {got})");
            }
        }
    }
    // Stale: selectors set aside by `dkim rotate --retire`, still published.
    for (domain, selector) in retired_selectors(l) {
        let name = format!("{selector}._domainkey.{domain}.");
        if let Lookup::Records(recs) = client.query(&name, RecordType::TXT) {
            for (_, shown) in recs.iter().filter_map(canon_received) {
                let shown = shown.split('\0').next().unwrap_or("");
                let _ = writeln!(out, "stale     {name} TXT {}  (retired selector: delete this record)", short(shown));
                *counts.entry("stale").or_default() += 1;
            }
        }
    }
    print!("{out}");
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    println!(
        "{} ok, {} missing, {} different, {} stale (asked {server})",
        n("ok"),
        n("missing"),
        n("different"),
        n("stale")
    );
    Ok(n("missing") == 0 && n("different") == 0)
}

/// Long values (DKIM keys) shortened for the ok/stale lines.
fn short(r: &str) -> String {
    if r.len() > 100 {
        format!("{}…", &r[..r.char_indices().nth(96).map_or(r.len(), |(i, _)| i)])
    } else {
        r.to_string()
    }
}

/// `(domain, selector)` of each `dkim/DOMAIN.SELECTOR.pem.retired` for a
/// configured domain whose selector is no longer configured.
pub fn retired_selectors(l: &Loaded) -> Vec<(String, String)> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(l.dir.join("dkim")) else { return v };
    let mut names: Vec<String> = rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    names.sort();
    for f in names {
        let Some(stem) = f.strip_suffix(".pem.retired") else { continue };
        for d in &l.cfg.domains {
            let Some(sel) = stem.strip_prefix(&format!("{d}.")) else { continue };
            let configured = l.cfg.dkim.iter().any(|k| &k.domain == d && k.selector == sel);
            if !sel.is_empty() && !sel.contains('.') && !configured {
                v.push((d.clone(), sel.to_string()));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canon_txt("v=DKIM1;k=rsa; p=AB CD"), canon_txt("k=rsa; v=DKIM1; p=ABCD;"));
        assert_eq!(canon_txt("v=spf1  ip4:192.0.2.1 -all"), "v=spf1 ip4:192.0.2.1 -all");
        assert_ne!(canon_txt("v=spf1 ip4:192.0.2.1 -all"), canon_txt("v=spf1 ip4:192.0.2.2 -all"));
        assert_eq!(canon_printed("MX", "10 MX.Example.org."), "10 mx.example.org.");
        assert_eq!(canon_printed("AAAA", "2001:0db8::0010"), "2001:db8::10");
        assert_eq!(txt_join_printed("\"v=DKIM1; p=AB\" \"CD\""), "v=DKIM1; p=ABCD");
        assert_eq!(vtag("v=DMARC1; p=none"), "v=dmarc1");
        assert_eq!(vtag("google-site-verification=x"), "");
    }

    #[test]
    fn groups_rrsets() {
        let z = "; c\nexample.org. 3600 IN TXT \"v=spf1 -all\"\nmx.example.org. 3600 IN A 192.0.2.1\nmx.example.org. 3600 IN A 192.0.2.2\n_dmarc.example.org. 3600 IN TXT \"v=DMARC1; p=none\"\n";
        let e = expected(z);
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].rtype.as_str(), e[1].rdata.len()), ("TXT v=spf1", 2));
    }
}
