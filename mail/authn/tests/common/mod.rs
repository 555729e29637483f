//! Shared helpers for the integration tests: the external-tool policy and
//! a tiny zone table that answers the sans-IO DNS queries.
#![allow(dead_code)]

use mail_authn::dns::{DnsAnswer, DnsQuery, DnsRecord, DnsType};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

pub fn cache_dir() -> PathBuf {
    PathBuf::from(std::env::var("AUTHN_CACHE").unwrap_or_else(|_| "/work/.cache/mail-authn".into()))
}

/// Run tests/setup.sh once (installs dkimpy, fetches the pyspf suite).
pub fn run_setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/setup.sh");
        let st = Command::new("sh").arg(script).status();
        if !matches!(st, Ok(s) if s.success()) {
            eprintln!("!!! mail-authn tests/setup.sh failed: {st:?}");
        }
    });
}

/// The policy for external tools: skip loudly, unless CI is set.
pub fn missing(what: &str) {
    if std::env::var("CI").map(|v| !v.is_empty() && v != "0" && v != "false").unwrap_or(false) {
        panic!("CI is set and the external reference is missing: {what}");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {what} is missing (run mail/authn/tests/setup.sh) !!!!!!!!\n");
}

pub fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Does `python3 -c <code>` succeed?
pub fn python_has(module: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[derive(Clone, Debug)]
pub enum Entry {
    Rec(DnsRecord),
    Cname(String),
    Timeout,
    TimeoutType(DnsType),
}

#[derive(Default, Debug)]
pub struct Zone {
    pub names: HashMap<String, Vec<Entry>>,
}

pub fn norm(n: &str) -> String {
    n.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    pub fn add(&mut self, name: &str, e: Entry) {
        self.names.entry(norm(name)).or_default().push(e);
    }
    pub fn txt(&mut self, name: &str, v: &str) {
        self.add(name, Entry::Rec(DnsRecord::Txt(v.as_bytes().to_vec())));
    }

    pub fn resolve(&self, q: &DnsQuery) -> DnsAnswer {
        let mut name = norm(&q.name);
        for _ in 0..8 {
            let Some(es) = self.names.get(&name) else { return DnsAnswer::NxDomain };
            if let Some(Entry::Cname(t)) = es.iter().find(|e| matches!(e, Entry::Cname(_))) {
                name = norm(t);
                continue;
            }
            let recs: Vec<DnsRecord> = es
                .iter()
                .filter_map(|e| match e {
                    Entry::Rec(r) if rtype(r) == q.qtype => Some(r.clone()),
                    _ => None,
                })
                .collect();
            if !recs.is_empty() {
                return DnsAnswer::Records(recs);
            }
            if es.iter().any(|e| matches!(e, Entry::Timeout) || matches!(e, Entry::TimeoutType(t) if *t == q.qtype)) {
                return DnsAnswer::TempFail;
            }
            return DnsAnswer::NoData;
        }
        DnsAnswer::TempFail
    }
}

pub fn rtype(r: &DnsRecord) -> DnsType {
    match r {
        DnsRecord::A(_) => DnsType::A,
        DnsRecord::Aaaa(_) => DnsType::Aaaa,
        DnsRecord::Mx(..) => DnsType::Mx,
        DnsRecord::Txt(_) => DnsType::Txt,
        DnsRecord::Ptr(_) => DnsType::Ptr,
    }
}
