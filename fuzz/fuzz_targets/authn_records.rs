//! The DNS TXT and header-field parsers of mail-authn on arbitrary bytes:
//! DKIM-Signature / ARC-Message-Signature values, DKIM key records, tag
//! lists, SPF records, DMARC records, the From domain for DMARC, the
//! Public Suffix lookup, SRS addresses, and header/body canonicalisation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mail_authn::dkim::{canon, key, sig, tags};
use mail_authn::dmarc::{self, record as dmarc_record};
use mail_authn::spf::record as spf_record;
use mail_authn::srs::Srs;

fuzz_target!(|data: &[u8]| {
    let _ = sig::parse(data);
    let _ = sig::parse_ams(data);
    let _ = sig::arc_instance(data);
    let _ = sig::without_b_value(data);
    let _ = key::parse(data);
    if let Ok(t) = tags::parse(data) {
        let _ = tags::get(&t, "v");
    }
    let _ = tags::strip_fws(data);
    let _ = spf_record::is_spf_record(data);
    if let Ok(r) = spf_record::parse(data) {
        let _ = format!("{r:?}");
    }
    let _ = dmarc_record::is_dmarc(data);
    let _ = dmarc_record::parse(data);
    let _ = dmarc::from_domain(data);
    let text = String::from_utf8_lossy(data);
    let _ = dmarc::organizational_domain(&text);
    let _ = spf_record::domain_spec(&text);
    let _ = spf_record::check_macro_string(&text, true);
    let mut srs = Srs::new("fwd.example", b"secret");
    srs.add_verify_secret(b"old");
    let _ = Srs::is_srs(&text);
    let _ = srs.reverse(&text, 1_700_000_000);
    let _ = srs.forward(&text, 1_700_000_000);
    if let Ok((fields, _body)) = canon::split_headers(data) {
        let mut out = Vec::new();
        for f in fields.iter().take(50) {
            let _ = format!("{f:?}");
        }
        canon::header(canon::Canon::Relaxed, data, true, &mut out);
        canon::header(canon::Canon::Simple, data, false, &mut out);
    }
    let _ = canon::body(canon::Canon::Relaxed, data);
    let _ = canon::body(canon::Canon::Simple, data);
});
