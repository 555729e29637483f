//! RFC 8601: the Authentication-Results header field written by the
//! receiving side, for spf, dkim and dmarc.
//!
//! ```text
//! Authentication-Results: mx.example.org;
//!  spf=pass smtp.mailfrom=alice@example.com;
//!  dkim=pass header.d=example.com header.i=@example.com header.s=sel header.b="AbC/dEf+";
//!  dmarc=pass (p=reject dis=none) header.from=example.com
//! ```

use crate::dkim::DkimResult;
use crate::dmarc::DmarcOutcome;
use crate::spf::SpfOutcome;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// RFC 2045 token, or else a quoted-string (RFC 8601 2.2 "value").
fn value(v: &str) -> String {
    let token = !v.is_empty() && v.bytes().all(|b| b > 0x20 && b < 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&b));
    if token {
        return String::from(v);
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        if !c.is_control() {
            s.push(c);
        }
    }
    s.push('"');
    s
}

/// `[local-part "@"] domain` property values (RFC 8601 2.2 pvalue): kept
/// as-is when they are a plain address, quoted otherwise.
fn addr_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes().all(|b| b > 0x20 && b < 0x7f && !b"()<>,;:\\\"[]".contains(&b))
        && v.matches('@').count() <= 1;
    if plain {
        String::from(v)
    } else {
        value(v)
    }
}

/// Collects method results, then renders the field.
#[derive(Clone, Debug)]
pub struct AuthResults {
    authserv_id: String,
    results: Vec<String>,
}

impl AuthResults {
    /// `authserv_id` names this receiver (usually its host name).
    pub fn new(authserv_id: &str) -> Self {
        AuthResults { authserv_id: String::from(authserv_id), results: Vec::new() }
    }

    /// spf= with smtp.mailfrom (or smtp.helo when the reverse-path was
    /// null).
    pub fn spf(&mut self, o: &SpfOutcome, mail_from: &str, helo: &str) -> &mut Self {
        let mut r = format!("spf={}", o.result.as_str());
        if let Some(p) = o.problem {
            r.push_str(&format!(" ({})", p.replace(['(', ')', '\\'], "")));
        }
        if mail_from.is_empty() {
            r.push_str(&format!(" smtp.helo={}", addr_value(helo)));
        } else {
            r.push_str(&format!(" smtp.mailfrom={}", addr_value(mail_from)));
        }
        self.results.push(r);
        self
    }

    /// One dkim= per signature; "dkim=none" when there was none.
    pub fn dkim(&mut self, rs: &[DkimResult]) -> &mut Self {
        if rs.is_empty() {
            self.results.push(String::from("dkim=none"));
        }
        for d in rs {
            let mut r = format!("dkim={}", d.status.as_str());
            if let Some(why) = d.reason {
                r.push_str(&format!(" ({})", why.replace(['(', ')', '\\'], "")));
            }
            if !d.domain.is_empty() {
                r.push_str(&format!(" header.d={}", addr_value(&d.domain)));
            }
            if !d.identity.is_empty() {
                r.push_str(&format!(" header.i={}", addr_value(&d.identity)));
            }
            if !d.selector.is_empty() {
                r.push_str(&format!(" header.s={}", value(&d.selector)));
            }
            if let Some(a) = d.algorithm {
                r.push_str(&format!(" header.a={}", a.as_str()));
            }
            if !d.b_prefix.is_empty() {
                // RFC 6008: the first 8 characters of b= tell signatures apart.
                let b: String = d.b_prefix.chars().take(8).collect();
                r.push_str(&format!(" header.b={}", value(&b)));
            }
            self.results.push(r);
        }
        self
    }

    /// arc= (RFC 8617 7) with the number of ARC sets as a comment.
    pub fn arc(&mut self, o: &crate::dkim::arc::ArcOutcome) -> &mut Self {
        let mut r = format!("arc={}", o.result.as_str());
        if o.instances > 0 {
            r.push_str(&format!(" (i={})", o.instances));
        }
        self.results.push(r);
        self
    }

    /// dmarc= with the policy and disposition as a comment.
    pub fn dmarc(&mut self, o: &DmarcOutcome) -> &mut Self {
        let mut r = format!("dmarc={}", o.result.as_str());
        if let Some(p) = o.policy {
            r.push_str(&format!(" (p={} dis={})", p.as_str(), o.disposition.as_str()));
        }
        r.push_str(&format!(" header.from={}", addr_value(&o.from_domain)));
        self.results.push(r);
        self
    }

    /// RFC 8617 4.1.1: the same results as an ARC-Authentication-Results
    /// field of instance `i` (ending in CRLF).
    pub fn to_arc_header(&self, i: u32) -> String {
        let mut s = format!("ARC-Authentication-Results: i={}; {}", i, value(&self.authserv_id));
        if self.results.is_empty() {
            s.push_str("; none");
        }
        for r in &self.results {
            s.push_str(";\r\n\t");
            s.push_str(r);
        }
        s.push_str("\r\n");
        s
    }

    /// The whole field, folded one result per line, ending in CRLF.
    pub fn to_header(&self) -> String {
        let mut s = format!("Authentication-Results: {}", value(&self.authserv_id));
        if self.results.is_empty() {
            // RFC 8601 2.2: "none" when no method was evaluated.
            s.push_str("; none");
        }
        for r in &self.results {
            s.push_str(";\r\n\t");
            s.push_str(r);
        }
        s.push_str("\r\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkim::{Algorithm, DkimStatus};
    use crate::dmarc::{Disposition, DmarcResult, Policy};
    use crate::spf::SpfResult;

    #[test]
    fn renders() {
        let spf =
            SpfOutcome { result: SpfResult::Pass, explanation: None, problem: None, domain: "example.com".into() };
        let dkim = [DkimResult {
            status: DkimStatus::Pass,
            domain: "example.com".into(),
            selector: "sel".into(),
            identity: "@example.com".into(),
            algorithm: Some(Algorithm::Ed25519Sha256),
            b_prefix: "AbC/dEf+ghijk".into(),
            reason: None,
            testing: false,
        }];
        let dmarc = DmarcOutcome {
            result: DmarcResult::Pass,
            from_domain: "example.com".into(),
            org_domain: "example.com".into(),
            record: None,
            record_domain: Some("example.com".into()),
            policy: Some(Policy::Reject),
            disposition: Disposition::None,
            sampled_out: false,
            spf_aligned: true,
            dkim_aligned: true,
        };
        let h = AuthResults::new("mx.example.org")
            .spf(&spf, "alice@example.com", "h")
            .dkim(&dkim)
            .dmarc(&dmarc)
            .to_header();
        assert_eq!(
            h,
            "Authentication-Results: mx.example.org;\r\n\
             \tspf=pass smtp.mailfrom=alice@example.com;\r\n\
             \tdkim=pass header.d=example.com header.i=@example.com header.s=sel header.a=ed25519-sha256 header.b=\"AbC/dEf+\";\r\n\
             \tdmarc=pass (p=reject dis=none) header.from=example.com\r\n"
        );
        let arc = crate::dkim::arc::ArcOutcome {
            result: crate::dkim::arc::ArcResult::Pass,
            instances: 2,
            sealers: alloc::vec![],
            reason: None,
        };
        assert!(AuthResults::new("mx").arc(&arc).to_header().contains("\tarc=pass (i=2)\r\n"));
        let none = AuthResults::new("mx.example.org").dkim(&[]).to_header();
        assert_eq!(none, "Authentication-Results: mx.example.org;\r\n\tdkim=none\r\n");
        assert_eq!(AuthResults::new("mx").to_header(), "Authentication-Results: mx; none\r\n");
        let helo = AuthResults::new("mx")
            .spf(
                &SpfOutcome {
                    result: SpfResult::PermError,
                    explanation: None,
                    problem: Some("too many (x)"),
                    domain: "h.example".into(),
                },
                "",
                "h.example",
            )
            .to_header();
        assert!(helo.contains("spf=permerror (too many x) smtp.helo=h.example"), "{helo}");
    }
}
