use super::*;
use crate::dkim::{DkimResult, DkimStatus};
use crate::dns::DnsRecord;
use alloc::string::ToString;
use alloc::vec;

fn dk(domain: &str, status: DkimStatus) -> DkimResult {
    DkimResult {
        status,
        domain: domain.to_string(),
        selector: "s".to_string(),
        identity: alloc::format!("@{domain}"),
        algorithm: None,
        b_prefix: "abcdefgh".to_string(),
        reason: None,
        testing: false,
    }
}

fn run(inputs: &Inputs<'_>, zone: &[(&str, &str)]) -> (DmarcOutcome, Vec<String>) {
    let mut s = evaluate(inputs);
    let mut asked = Vec::new();
    loop {
        match s.poll() {
            DmarcStep::Query(q) => {
                asked.push(q.name.clone());
                let recs: Vec<DnsRecord> = zone
                    .iter()
                    .filter(|(n, _)| *n == q.name)
                    .map(|(_, t)| DnsRecord::Txt(t.as_bytes().to_vec()))
                    .collect();
                s.answer(if recs.is_empty() { DnsAnswer::NxDomain } else { DnsAnswer::Records(recs) });
            }
            DmarcStep::Done(o) => return (o, asked),
        }
    }
}

#[test]
fn alignment_matrix() {
    use Alignment::*;
    // (from, identifier, relaxed?, strict?)
    for (from, id, r, s) in [
        ("example.com", "example.com", true, true),
        ("example.com", "EXAMPLE.com.", true, true),
        ("example.com", "mail.example.com", true, false),
        ("news.example.com", "bounce.example.com", true, false),
        ("example.com", "example.net", false, false),
        ("example.co.uk", "other.co.uk", false, false),
        ("a.example.co.uk", "b.example.co.uk", true, false),
        ("foo.github.io", "bar.github.io", false, false),
    ] {
        assert_eq!(aligned(id, from, Relaxed), r, "{from} {id} relaxed");
        assert_eq!(aligned(id, from, Strict), s, "{from} {id} strict");
    }
}

#[test]
fn pass_fail_matrix() {
    let zone = [
        ("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine"),
        ("_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s"),
    ];
    let pass = DkimStatus::Pass;
    let fail = DkimStatus::Fail;
    // (from, spf, dkim, result, disposition)
    type Case<'a> = (&'a str, Option<(SpfResult, &'a str)>, Vec<DkimResult>, DmarcResult, Disposition);
    let cases: Vec<Case<'_>> = vec![
        ("example.com", Some((SpfResult::Pass, "example.com")), vec![], DmarcResult::Pass, Disposition::None),
        ("example.com", Some((SpfResult::Pass, "bounce.example.com")), vec![], DmarcResult::Pass, Disposition::None),
        ("example.com", Some((SpfResult::Pass, "other.net")), vec![], DmarcResult::Fail, Disposition::Reject),
        (
            "example.com",
            Some((SpfResult::Fail, "example.com")),
            vec![dk("example.com", pass)],
            DmarcResult::Pass,
            Disposition::None,
        ),
        (
            "example.com",
            Some((SpfResult::SoftFail, "example.com")),
            vec![dk("example.com", fail)],
            DmarcResult::Fail,
            Disposition::Reject,
        ),
        (
            "example.com",
            None,
            vec![dk("other.net", pass), dk("sub.example.com", pass)],
            DmarcResult::Pass,
            Disposition::None,
        ),
        ("example.com", None, vec![dk("other.net", pass)], DmarcResult::Fail, Disposition::Reject),
        // Subdomain with no record of its own: sp= from the org domain.
        ("mail.example.com", None, vec![], DmarcResult::Fail, Disposition::Quarantine),
        ("mail.example.com", None, vec![dk("example.com", pass)], DmarcResult::Pass, Disposition::None),
        // Strict alignment.
        (
            "strict.example",
            Some((SpfResult::Pass, "mx.strict.example")),
            vec![dk("sub.strict.example", pass)],
            DmarcResult::Fail,
            Disposition::Reject,
        ),
        ("strict.example", Some((SpfResult::Pass, "strict.example")), vec![], DmarcResult::Pass, Disposition::None),
        // No record anywhere.
        ("nodmarc.example", None, vec![], DmarcResult::None, Disposition::None),
    ];
    for (from, spf, dkim, res, disp) in cases {
        let (o, _) = run(&Inputs { from_domain: from, spf, dkim: &dkim, random: 0 }, &zone);
        assert_eq!((o.result, o.disposition), (res, disp), "{from} {spf:?} {dkim:?}");
    }
}

#[test]
fn discovery_order_and_errors() {
    let zone = [
        ("_dmarc.example.co.uk", "v=DMARC1; p=quarantine"),
        ("_dmarc.dup.example", "v=DMARC1; p=none"),
        ("_dmarc.dup.example", "v=DMARC1; p=reject"),
    ];
    let (o, asked) = run(&Inputs { from_domain: "a.b.example.co.uk", spf: None, dkim: &[], random: 0 }, &zone);
    assert_eq!(asked, ["_dmarc.a.b.example.co.uk", "_dmarc.example.co.uk"]);
    assert_eq!(o.org_domain, "example.co.uk");
    assert_eq!(o.record_domain.as_deref(), Some("example.co.uk"));
    assert_eq!(o.policy, Some(Policy::Quarantine));
    // Org domain itself: one query only.
    let (_, asked) = run(&Inputs { from_domain: "example.co.uk", spf: None, dkim: &[], random: 0 }, &zone);
    assert_eq!(asked, ["_dmarc.example.co.uk"]);
    // Two records: as if none.
    let (o, _) = run(&Inputs { from_domain: "dup.example", spf: None, dkim: &[], random: 0 }, &zone);
    assert_eq!(o.result, DmarcResult::None);
    // Temporary DNS failure.
    let mut s = evaluate(&Inputs { from_domain: "example.com", spf: None, dkim: &[], random: 0 });
    assert!(matches!(s.poll(), DmarcStep::Query(_)));
    s.answer(DnsAnswer::TempFail);
    assert!(matches!(s.poll(), DmarcStep::Done(DmarcOutcome { result: DmarcResult::TempError, .. })));
}

#[test]
fn pct_sampling() {
    let zone =
        [("_dmarc.example.com", "v=DMARC1; p=reject; pct=25"), ("_dmarc.q.example", "v=DMARC1; p=quarantine; pct=0")];
    let run_r = |from, random| run(&Inputs { from_domain: from, spf: None, dkim: &[], random }, &zone).0;
    let o = run_r("example.com", 24);
    assert_eq!((o.disposition, o.sampled_out), (Disposition::Reject, false));
    let o = run_r("example.com", 25);
    assert_eq!((o.disposition, o.sampled_out), (Disposition::Quarantine, true));
    let o = run_r("example.com", 199);
    assert_eq!(o.disposition, Disposition::Quarantine);
    let o = run_r("q.example", 0);
    assert_eq!((o.disposition, o.sampled_out), (Disposition::None, true));
}
