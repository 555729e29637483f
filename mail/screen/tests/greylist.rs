//! Greylisting (RFC 6647) with a fake clock.

mod common;

use common::*;
use mail_screen::{Greylist, GreylistAnswer as Answer, PassReason};

const T: u64 = 1_795_000_000;

#[test]
fn too_early_in_window_and_known() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    let r = req("192.0.2.10", "alice@example.net", "bob@example.org");
    assert_eq!(g.check(&r, T), Answer::DeferNew(300));
    assert_eq!(g.check(&r, T).reply().unwrap().to_line(), "450 4.7.1 greylisted, try again in 300 s\r\n");
    assert_eq!(g.check(&r, T + 1), Answer::Defer(299));
    assert_eq!(g.check(&r, T + 299), Answer::Defer(1));
    // Another host of the same /24, different case: the same triplet.
    let r2 = req("192.0.2.99", "Alice@Example.NET", "BOB@example.org");
    assert_eq!(g.check(&r2, T + 300), Answer::Pass(PassReason::Retried));
    assert_eq!(g.check(&r, T + 400), Answer::Pass(PassReason::Known));
    assert_eq!(g.check(&r, T + 400).reply(), None);
    // A different network starts over.
    assert_eq!(g.check(&req("192.0.3.10", "alice@example.net", "bob@example.org"), T + 400), Answer::DeferNew(300));
    assert_eq!(g.triplets(), 2);
}

#[test]
fn retry_after_the_window_starts_over() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    let r = req("2001:db8:1:2::10", "a@x.example", "b@y.example");
    assert_eq!(g.check(&r, T), Answer::DeferNew(300));
    let late = T + 2 * 86400 + 1;
    assert_eq!(g.check(&r, late), Answer::DeferNew(300));
    assert_eq!(g.check(&r, late + 300), Answer::Pass(PassReason::Retried));
    // Same /64, another host.
    assert_eq!(
        g.check(&req("2001:db8:1:2::ffff", "a@x.example", "b@y.example"), late + 301),
        Answer::Pass(PassReason::Known)
    );
    // Another /64.
    assert_eq!(g.check(&req("2001:db8:1:3::10", "a@x.example", "b@y.example"), late + 301), Answer::DeferNew(300));
}

#[test]
fn passed_triplet_expires() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    let r = req("198.51.100.1", "", "postmaster@example.org");
    g.check(&r, T);
    assert_eq!(g.check(&r, T + 600), Answer::Pass(PassReason::Retried));
    let e = 35 * 86400;
    assert_eq!(g.check(&r, T + 600 + e), Answer::Pass(PassReason::Known), "used within expiry");
    assert_eq!(g.check(&r, T + 600 + 2 * e + 1), Answer::DeferNew(300), "unused past expiry");
    g.expire(T + 600 + 4 * e);
    assert_eq!(g.triplets(), 0);
    assert_eq!(g.clients(), 0);
}

#[test]
fn auto_allow_after_n_passes() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    let mut t = T;
    for i in 0..3 {
        let to = format!("user{i}@example.org");
        let r = req("203.0.113.7", "list@lists.example", &to);
        // A second triplet from the same /24 in the same hour.
        let other = format!("other{i}@example.org");
        let r2 = req("203.0.113.8", "list@lists.example", &other);
        assert!(matches!(g.check(&r, t), Answer::DeferNew(_)), "{i}");
        assert!(matches!(g.check(&r2, t), Answer::DeferNew(_)), "{i}");
        t += 300;
        assert_eq!(g.check(&r, t), Answer::Pass(PassReason::Retried), "{i}");
        // Passes within the same hour count once: the second triplet does
        // not tip the count (only the third hour's first pass does).
        let want = if i < 2 { PassReason::Retried } else { PassReason::AutoAllowed };
        assert_eq!(g.check(&r2, t + 1), Answer::Pass(want), "{i}");
        // Using a known triplet does not count either.
        if i < 2 {
            assert_eq!(g.check(&r, t + 2), Answer::Pass(PassReason::Known));
        }
        t += 3600;
    }
    // Three passed triplets in three separate hours: the whole /24 skips
    // greylisting now.
    assert_eq!(
        g.check(&req("203.0.113.200", "new@other.example", "x@example.org"), t + 1),
        Answer::Pass(PassReason::AutoAllowed)
    );
    // Auto-allow lapses after expiry without mail.
    let later = t + 1 + 35 * 86400 + 1;
    assert_eq!(g.check(&req("203.0.113.200", "n2@other.example", "x@example.org"), later), Answer::DeferNew(300));
}

#[test]
fn auto_allow_off() {
    let mut c = greylist_cfg(2 * 86400, 35 * 86400, 3);
    c.auto_allow = 0;
    let mut g = Greylist::new(c, 100, 100);
    for i in 0..10 {
        let to = format!("u{i}@example.org");
        let r = req("203.0.113.8", "a@b.example", &to);
        let t = T + i * 3600;
        g.check(&r, t);
        assert_eq!(g.check(&r, t + 300), Answer::Pass(PassReason::Retried));
    }
    assert_eq!(g.check(&req("203.0.113.8", "z@b.example", "z@example.org"), T + 40_000), Answer::DeferNew(300));
}

#[test]
fn skipped_for_authenticated_allowlisted_and_disabled() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    let mut r = req("192.0.2.1", "a@b", "c@d");
    r.authenticated = true;
    assert_eq!(g.check(&r, T), Answer::Pass(PassReason::Skipped));
    r.authenticated = false;
    r.allowlisted = true;
    assert_eq!(g.check(&r, T), Answer::Pass(PassReason::Skipped));
    assert_eq!(g.triplets(), 0);
    let mut c = greylist_cfg(2 * 86400, 35 * 86400, 3);
    c.enabled = false;
    let mut off = Greylist::new(c, 10, 10);
    assert_eq!(off.check(&req("192.0.2.1", "a@b", "c@d"), T), Answer::Pass(PassReason::Disabled));
}

#[test]
fn batv_sender_tags_do_not_defeat_the_retry() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    g.check(&req("192.0.2.1", "prvs=1111aaaa=bounce@lists.example", "c@d.example"), T);
    assert_eq!(
        g.check(&req("192.0.2.1", "prvs=2222bbbb=bounce@lists.example", "c@d.example"), T + 300),
        Answer::Pass(PassReason::Retried)
    );
}

#[test]
fn bounded_store_evicts_oldest() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 3, 2);
    for i in 0..5 {
        g.check(&req("192.0.2.1", &format!("s{i}@x"), "r@y"), T + i);
    }
    assert_eq!(g.triplets(), 3);
    // s0 and s1 were evicted: they start over.
    assert_eq!(g.check(&req("192.0.2.1", "s0@x", "r@y"), T + 400), Answer::DeferNew(300));
    assert_eq!(g.check(&req("192.0.2.1", "s4@x", "r@y"), T + 400), Answer::Pass(PassReason::Retried));
    let long = "x".repeat(5000);
    assert_eq!(g.check(&req("192.0.2.1", &long, &long), T + 500), Answer::DeferNew(300));
}

#[test]
fn clock_going_back_restarts_the_triplet() {
    let mut g = Greylist::new(greylist_cfg(2 * 86400, 35 * 86400, 3), 100, 100);
    let r = req("192.0.2.10", "a@b.example", "c@d.example");
    assert_eq!(g.check(&r, T + 86400), Answer::DeferNew(300));
    // The RTC is corrected by a day: not a day-long deferral.
    assert_eq!(g.check(&r, T), Answer::DeferNew(300));
    assert_eq!(g.check(&r, T + 300), Answer::Pass(PassReason::Retried));
}
