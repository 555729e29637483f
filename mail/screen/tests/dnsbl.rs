//! DNSBL query names and postscreen's weighted scoring.

mod common;

use common::*;
use mail_config::DnsblSite;
use mail_screen::{queries, query_name, score, DnsAnswer};

fn sites(list: &[&str]) -> Vec<DnsblSite> {
    list.iter().map(|s| DnsblSite::parse(s).unwrap()).collect()
}

/// Score with `listed` (zone, replies); other zones NXDOMAIN.
fn total(sites: &[DnsblSite], listed: &[(&str, &[&str])]) -> (i32, Option<String>) {
    let answers: Vec<(String, DnsAnswer)> =
        listed.iter().map(|(z, r)| (z.to_string(), DnsAnswer::Listed(r.iter().map(|x| a(x)).collect()))).collect();
    let s = score(sites, |zone| answers.iter().find(|(z, _)| z == zone).map(|(_, a)| a));
    (s.total, s.top_site)
}

#[test]
fn seed_weights_with_threshold_3() {
    let seed = sites(&["zen.spamhaus.org*3", "bl.spamcop.net*2", "b.barracudacentral.org*2"]);
    let threshold = 3;
    type Listed<'a> = &'a [(&'a str, &'a [&'a str])];
    let cases: &[(Listed, i32, Option<&str>)] = &[
        (&[], 0, None),
        (&[("zen.spamhaus.org", &["127.0.0.2"])], 3, Some("zen.spamhaus.org")),
        (&[("bl.spamcop.net", &["127.0.0.2"])], 2, Some("bl.spamcop.net")),
        (&[("bl.spamcop.net", &["127.0.0.2"]), ("b.barracudacentral.org", &["127.0.0.2"])], 4, Some("bl.spamcop.net")),
        (
            &[
                ("zen.spamhaus.org", &["127.0.0.4", "127.0.0.11"]),
                ("bl.spamcop.net", &["127.0.0.2"]),
                ("b.barracudacentral.org", &["127.0.0.2"]),
            ],
            7,
            Some("zen.spamhaus.org"),
        ),
        // RFC 5782 5: 127.0.0.1 is never a listing without a filter.
        (&[("zen.spamhaus.org", &["127.0.0.1"])], 0, None),
        // Not in 127/8: a broken or hijacked zone, not a listing.
        (&[("zen.spamhaus.org", &["10.0.0.2"])], 0, None),
    ];
    for (listed, want, top) in cases {
        let (t, site) = total(&seed, listed);
        assert_eq!(t, *want, "{listed:?}");
        assert_eq!(site.as_deref(), *top, "{listed:?}");
        assert_eq!(t >= threshold, *want >= 3);
    }
}

#[test]
fn reply_filters_and_shared_zones() {
    // Two entries for one zone with different filters: one query, both
    // may count (postscreen adds each matching entry's weight).
    let s =
        sites(&["zen.spamhaus.org=127.0.0.[2..3]*3", "zen.spamhaus.org=127.0.0.[10;11]*1", "bl.spamcop.net=127.0.0.2"]);
    assert_eq!(queries(ip("192.0.2.1"), &s).len(), 2);
    assert_eq!(total(&s, &[("zen.spamhaus.org", &["127.0.0.2"])]).0, 3);
    assert_eq!(total(&s, &[("zen.spamhaus.org", &["127.0.0.10"])]).0, 1);
    assert_eq!(total(&s, &[("zen.spamhaus.org", &["127.0.0.3", "127.0.0.11"])]).0, 4);
    assert_eq!(total(&s, &[("zen.spamhaus.org", &["127.0.0.4"])]).0, 0);
    // An entry counts once even if several records match it.
    assert_eq!(total(&s, &[("zen.spamhaus.org", &["127.0.0.2", "127.0.0.3"])]).0, 3);
    assert_eq!(total(&s, &[("bl.spamcop.net", &["127.0.0.3"])]).0, 0);
}

#[test]
fn dnswl_negative_weights() {
    let s = sites(&["zen.spamhaus.org*3", "list.dnswl.org=127.0.[0..255].[1..3]*-2", "swl.spamhaus.org*-4"]);
    assert_eq!(total(&s, &[("list.dnswl.org", &["127.0.5.2"])]).0, -2);
    assert_eq!(total(&s, &[("list.dnswl.org", &["127.0.5.0"])]).0, 0, "trust level 0 is not in the filter");
    assert_eq!(total(&s, &[("list.dnswl.org", &["127.0.5.255"])]).0, 0, "127.0.0.255: DNSWL's 'query refused'");
    let (t, top) = total(&s, &[("zen.spamhaus.org", &["127.0.0.2"]), ("list.dnswl.org", &["127.0.5.3"])]);
    assert_eq!(t, 1);
    assert_eq!(top.as_deref(), Some("zen.spamhaus.org"));
    let (t, top) = total(&s, &[("list.dnswl.org", &["127.0.5.3"]), ("swl.spamhaus.org", &["127.0.2.1"])]);
    assert_eq!(t, -6);
    assert_eq!(top, None, "allowlists are never named as the reason for a refusal");
}

#[test]
fn pending_and_failed_count_as_not_listed() {
    let s = sites(&["zen.spamhaus.org*3"]);
    let failed = DnsAnswer::Failed;
    assert_eq!(score(&s, |_| Some(&failed)).total, 0);
    assert_eq!(score(&s, |_| None).total, 0);
    let nx = DnsAnswer::NotListed;
    assert_eq!(score(&s, |_| Some(&nx)).total, 0);
}

#[test]
fn query_names() {
    assert_eq!(query_name(ip("203.0.113.45"), "zen.spamhaus.org").unwrap(), "45.113.0.203.zen.spamhaus.org");
    assert_eq!(query_name(ip("::ffff:203.0.113.45"), "bl.spamcop.net").unwrap(), "45.113.0.203.bl.spamcop.net");
    assert_eq!(
        query_name(ip("2a00:1450:4001:80b::200e"), "zen.spamhaus.org").unwrap(),
        "e.0.0.2.0.0.0.0.0.0.0.0.0.0.0.0.b.0.8.0.1.0.0.4.0.5.4.1.0.0.a.2.zen.spamhaus.org"
    );
    let q = queries(ip("192.0.2.1"), &sites(&["a.example*1", "A.EXAMPLE=127.0.0.2*2", "b.example"]));
    assert_eq!(q.iter().map(|q| (q.id, q.zone.as_str())).collect::<Vec<_>>(), [(0, "a.example"), (1, "b.example")]);
}
