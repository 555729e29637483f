//! The pyspf RFC 7208 test suite (rfc7208-tests.yml, fetched by
//! tests/setup.sh and converted to JSON; not kept in this repository), run
//! against our check_host() with each scenario's zone data as the DNS.

mod common;
use common::{Entry, Zone};
use mail_authn::dns::DnsRecord;
use mail_authn::spf::{self, SpfStep};
use serde_json::Value;

fn zone_of(zd: &Value) -> Zone {
    let mut z = Zone::default();
    let Some(map) = zd.as_object() else { return z };
    for (name, entries) in map {
        // pyspf's testspf.py: SPF-type data doubles as TXT unless the name
        // has TXT entries; TXT "NONE" means no TXT record.
        let has_txt = entries.as_array().unwrap().iter().any(|e| e.get("TXT").is_some());
        for e in entries.as_array().unwrap() {
            if e.as_str() == Some("TIMEOUT") {
                z.add(name, Entry::Timeout);
                continue;
            }
            let (k, v) = e.as_object().unwrap().iter().next().unwrap();
            let s = |v: &Value| v.as_str().map(String::from).unwrap_or_else(|| v.to_string());
            match k.as_str() {
                "TXT" | "SPF" if v.as_str() == Some("TIMEOUT") => {
                    if k == "TXT" {
                        z.add(name, Entry::TimeoutType(mail_authn::dns::DnsType::Txt));
                    }
                }
                "TXT" | "SPF" if v.as_str() == Some("NONE") => {}
                "SPF" if has_txt => {}
                "TXT" | "SPF" => {
                    let data = match v {
                        Value::Array(parts) => parts.iter().map(s).collect::<Vec<_>>().concat(),
                        other => s(other),
                    };
                    z.add(name, Entry::Rec(DnsRecord::Txt(data.into_bytes())));
                }
                "A" | "AAAA" => {
                    let list = match v {
                        Value::Array(a) => a.iter().map(s).collect(),
                        other => vec![s(other)],
                    };
                    for ip in list {
                        let r = if k == "A" {
                            DnsRecord::A(ip.parse().unwrap())
                        } else {
                            DnsRecord::Aaaa(ip.parse().unwrap())
                        };
                        z.add(name, Entry::Rec(r));
                    }
                }
                "MX" => {
                    let a = v.as_array().unwrap();
                    z.add(name, Entry::Rec(DnsRecord::Mx(a[0].as_u64().unwrap() as u16, s(&a[1]))));
                }
                "PTR" => z.add(name, Entry::Rec(DnsRecord::Ptr(s(v)))),
                "CNAME" => z.add(name, Entry::Cname(s(v))),
                other => panic!("unknown zone entry type {other}"),
            }
        }
    }
    z
}

#[test]
fn pyspf_rfc7208_suite() {
    let path = common::cache_dir().join("rfc7208-tests.json");
    if !path.exists() {
        common::run_setup();
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        common::missing("pyspf rfc7208-tests.yml");
        return;
    };
    let docs: Vec<Value> = serde_json::from_str(&text).unwrap();
    let (mut passed, mut failed) = (0, Vec::new());
    for doc in &docs {
        let zone = zone_of(&doc["zonedata"]);
        for (name, t) in doc["tests"].as_object().unwrap() {
            let ip: std::net::IpAddr = t["host"].as_str().unwrap().parse().unwrap();
            let helo = t["helo"].as_str().unwrap();
            let mailfrom = t["mailfrom"].as_str().unwrap();
            let mut s = spf::check_mail_from(ip, mailfrom, helo);
            let out = loop {
                match s.poll() {
                    SpfStep::Query(q) => {
                        // testspf.py's resolver: over-long labels and
                        // unknown "error." names time out.
                        let n = common::norm(&q.name);
                        let a = if n.split('.').any(|l| l.len() > 63)
                            || (n.starts_with("error.") && !zone.names.contains_key(&n))
                        {
                            mail_authn::dns::DnsAnswer::TempFail
                        } else {
                            zone.resolve(&q)
                        };
                        s.answer(a)
                    }
                    SpfStep::Done(o) => break o,
                }
            };
            let got = out.result.as_str();
            let ok_results: Vec<&str> = match &t["result"] {
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap()).collect(),
                v => vec![v.as_str().unwrap()],
            };
            let mut ok = ok_results.contains(&got);
            if ok {
                if let Some(exp) = t.get("explanation").and_then(|e| e.as_str()) {
                    let want = if exp == "DEFAULT" { None } else { Some(exp) };
                    if got == "fail" && out.explanation.as_deref() != want {
                        ok = false;
                    }
                }
            }
            if ok {
                passed += 1;
            } else {
                failed.push(format!(
                    "{name}: want {ok_results:?} {:?}, got {got} {:?} ({:?})",
                    t.get("explanation"),
                    out.explanation,
                    out.problem
                ));
            }
        }
    }
    for f in &failed {
        eprintln!("FAIL {f}");
    }
    eprintln!("pyspf rfc7208 suite: {} passed, {} failed", passed, failed.len());
    assert!(failed.is_empty());
    assert!(passed >= 200);
}
