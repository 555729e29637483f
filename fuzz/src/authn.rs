//! A fixed fake DNS zone for the SPF/DKIM/ARC/DMARC checks; the SPF and
//! DMARC records of `example.com` come from the fuzz input.

use std::sync::OnceLock;

use mail_authn::dkim::SigningKey;
use mail_authn::dns::{DnsAnswer, DnsQuery, DnsRecord, DnsType};

pub const RSA_PEM: &str = include_str!("../../mail/authn/tests/keys/rsa2048.pkcs8.pem");
pub const ED_SEED: [u8; 32] = [3; 32];

pub fn ed_key() -> SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::ed25519_from_seed(&ED_SEED)).clone()
}

pub fn rsa_key() -> SigningKey {
    SigningKey::from_pem(RSA_PEM).expect("test key")
}

/// (ed25519 record, rsa record), computed once.
fn key_records() -> &'static (Vec<u8>, Vec<u8>) {
    static K: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    K.get_or_init(|| (ed_key().dns_record().unwrap().into_bytes(), rsa_key().dns_record().unwrap().into_bytes()))
}

pub struct Zone<'a> {
    pub spf: &'a [u8],
    pub dmarc: &'a [u8],
}

impl Zone<'_> {
    pub fn answer(&self, q: &DnsQuery) -> DnsAnswer {
        let name = q.name.to_ascii_lowercase();
        if name.contains("nx") {
            return DnsAnswer::NxDomain;
        }
        if name.contains("fail") {
            return DnsAnswer::TempFail;
        }
        let txt = |t: &[u8]| DnsAnswer::Records(vec![DnsRecord::Txt(t.to_vec())]);
        match q.qtype {
            DnsType::Txt => match name.as_str() {
                "example.com" => txt(self.spf),
                "_dmarc.example.com" | "_dmarc.example.org" => txt(self.dmarc),
                "ed._domainkey.example.com" | "arc._domainkey.example.com" => txt(&key_records().0),
                "rsa._domainkey.example.com" => txt(&key_records().1),
                "inc.example.com" => txt(b"v=spf1 a mx ptr ip6:2001:db8::/32 -all"),
                "loop.example.com" => txt(b"v=spf1 include:loop.example.com -all"),
                "exp.example.com" => txt(b"%{i} is not one of %{d}'s designated mail servers (%{l}@%{o} %{h} %{r})"),
                _ => DnsAnswer::NoData,
            },
            DnsType::A => DnsAnswer::Records(vec![DnsRecord::A([192, 0, 2, 1].into())]),
            DnsType::Aaaa => DnsAnswer::Records(vec![DnsRecord::Aaaa("2001:db8::1".parse().unwrap())]),
            DnsType::Mx => DnsAnswer::Records(vec![
                DnsRecord::Mx(10, "mx.example.com".into()),
                DnsRecord::Mx(20, "mx2.example.com".into()),
            ]),
            DnsType::Ptr => DnsAnswer::Records(vec![DnsRecord::Ptr("mx.example.com".into())]),
        }
    }
}
