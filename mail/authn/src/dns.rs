//! DNS questions and answers exchanged with the caller (sans-IO).
//!
//! The checks in this crate never resolve names themselves: they hand the
//! caller a [`DnsQuery`] and are fed a [`DnsAnswer`]. The caller (the
//! kernel's resolver, or a test's zone table) follows CNAMEs itself.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};

/// The record types the checks ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsType {
    A,
    Aaaa,
    Mx,
    Txt,
    Ptr,
}

/// "Look up `name` with type `qtype`". `name` has no trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsQuery {
    pub name: String,
    pub qtype: DnsType,
}

/// One resource record of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsRecord {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// Preference and exchange name.
    Mx(u16, String),
    /// The character-strings of one TXT record, already concatenated
    /// (RFC 7208 3.3, RFC 6376 3.6.2.2). Bytes, since TXT data need not be
    /// ASCII.
    Txt(Vec<u8>),
    Ptr(String),
}

/// What the resolver said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsAnswer {
    /// RCODE 0 with at least one record (records of other types are ignored).
    Records(Vec<DnsRecord>),
    /// RCODE 0, no records of the asked type.
    NoData,
    /// RCODE 3 (NXDOMAIN).
    NxDomain,
    /// Timeout, SERVFAIL, or any other transient failure.
    TempFail,
}

impl DnsAnswer {
    /// The TXT strings of the answer (empty for anything else).
    pub fn txt(&self) -> Vec<&[u8]> {
        match self {
            DnsAnswer::Records(r) => r
                .iter()
                .filter_map(|r| match r {
                    DnsRecord::Txt(t) => Some(t.as_slice()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
