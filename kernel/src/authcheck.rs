//! Sender authentication of inbound mail (RFC 7208 SPF, RFC 6376 DKIM,
//! RFC 7489 DMARC) with `mail-authn`'s sans-IO sessions, their DNS questions
//! answered by the kernel's resolver, ending in an RFC 8601
//! `Authentication-Results` header that delivery puts on the message.
//!
//! Without a resolver (`dns=` not given) every lookup is a temporary error,
//! so the results are `temperror`/`none` rather than guesses.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;
use mail_authn::auth_results::AuthResults;
use mail_authn::dkim::{DkimResult, DkimSession, DkimStep};
use mail_authn::dmarc::{DmarcOutcome, DmarcSession, DmarcStep, Inputs};
use mail_authn::dns::{DnsAnswer, DnsQuery, DnsRecord, DnsType};
use mail_authn::spf::{SpfOutcome, SpfSession, SpfStep};
use net::dns::{Answer, DnsClient, QueryId, Record, Rtype};

enum Stage {
    Spf(SpfSession),
    Dkim(DkimSession),
    Dmarc(DmarcSession),
    Done,
}

pub struct Checks {
    stage: Stage,
    pending: Option<QueryId>,
    mail_from: String,
    helo: String,
    from_domain: Option<String>,
    spf: Option<SpfOutcome>,
    dkim: Vec<DkimResult>,
    dkim_session: Option<DkimSession>,
    dmarc: Option<DmarcOutcome>,
    /// DNS questions asked, bounded (each session has its own limits too).
    asked: u32,
}

const MAX_QUERIES: u32 = 64;

fn rtype(t: DnsType) -> Rtype {
    match t {
        DnsType::A => Rtype::A,
        DnsType::Aaaa => Rtype::Aaaa,
        DnsType::Mx => Rtype::Mx,
        DnsType::Txt => Rtype::Txt,
        DnsType::Ptr => Rtype::Ptr,
    }
}

fn convert(a: Answer) -> DnsAnswer {
    match a {
        Answer::Records { records, .. } => DnsAnswer::Records(
            records
                .into_iter()
                .filter_map(|r| match r {
                    Record::A(a) => Some(DnsRecord::A(a)),
                    Record::Aaaa(a) => Some(DnsRecord::Aaaa(a)),
                    Record::Mx { preference, exchange } => Some(DnsRecord::Mx(preference, exchange)),
                    Record::Txt(parts) => Some(DnsRecord::Txt(parts.concat())),
                    Record::Ptr(p) => Some(DnsRecord::Ptr(p)),
                    _ => None,
                })
                .collect(),
        ),
        Answer::NoData => DnsAnswer::NoData,
        Answer::NxDomain => DnsAnswer::NxDomain,
        _ => DnsAnswer::TempFail,
    }
}

impl Checks {
    /// Starts the checks for a received message (`message` is what the
    /// client sent, without our trace headers).
    pub fn new(ip: IpAddr, mail_from: &str, helo: &str, message: &[u8], now: u64) -> Checks {
        let header_end = message.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 2).unwrap_or(message.len());
        let from_domain = mail_authn::dmarc::from_domain(&message[..header_end]).ok();
        Checks {
            stage: Stage::Spf(mail_authn::spf::check_mail_from(ip, mail_from, helo)),
            pending: None,
            mail_from: mail_from.into(),
            helo: helo.into(),
            from_domain,
            spf: None,
            dkim: Vec::new(),
            // DKIM hashing is CPU work done once, here.
            dkim_session: Some(mail_authn::dkim::verify(message, now)),
            dmarc: None,
            asked: 0,
        }
    }

    /// Advances as far as DNS answers allow. Returns the
    /// Authentication-Results field (with CRLF) when everything is done.
    pub fn step(&mut self, mut dns: Option<&mut DnsClient>, now_ms: u64, authserv: &str) -> Option<String> {
        loop {
            if let Some(q) = self.pending {
                let d = dns.as_deref_mut()?;
                let a = d.take_answer(q)?;
                self.pending = None;
                let ans = convert(a);
                match &mut self.stage {
                    Stage::Spf(s) => s.answer(ans),
                    Stage::Dkim(s) => s.answer(ans),
                    Stage::Dmarc(s) => s.answer(ans),
                    Stage::Done => {}
                }
            }
            let query: Option<DnsQuery> = match &mut self.stage {
                Stage::Spf(s) => match s.poll() {
                    SpfStep::Query(q) => Some(q),
                    SpfStep::Done(o) => {
                        self.spf = Some(o);
                        self.stage = Stage::Dkim(self.dkim_session.take().unwrap());
                        None
                    }
                },
                Stage::Dkim(s) => match s.poll() {
                    DkimStep::Query(q) => Some(q),
                    DkimStep::Done(r) => {
                        self.dkim = r;
                        self.stage = match &self.from_domain {
                            Some(fd) => {
                                let spf = self.spf.as_ref().map(|o| (o.result, o.domain.as_str()));
                                Stage::Dmarc(mail_authn::dmarc::evaluate(&Inputs {
                                    from_domain: fd,
                                    spf,
                                    dkim: &self.dkim,
                                    random: crate::rand::u64() as u32,
                                }))
                            }
                            None => Stage::Done,
                        };
                        None
                    }
                },
                Stage::Dmarc(s) => match s.poll() {
                    DmarcStep::Query(q) => Some(q),
                    DmarcStep::Done(o) => {
                        self.dmarc = Some(o);
                        self.stage = Stage::Done;
                        None
                    }
                },
                Stage::Done => {
                    let mut ar = AuthResults::new(authserv);
                    if let Some(o) = &self.spf {
                        ar.spf(o, &self.mail_from, &self.helo);
                    }
                    ar.dkim(&self.dkim);
                    if let Some(o) = &self.dmarc {
                        ar.dmarc(o);
                    }
                    let mut h = ar.to_header();
                    if !h.ends_with("\r\n") {
                        h.push_str("\r\n");
                    }
                    return Some(h);
                }
            };
            if let Some(q) = query {
                self.asked += 1;
                match dns.as_deref_mut() {
                    Some(d) if self.asked <= MAX_QUERIES => {
                        self.pending = Some(d.query(&q.name, rtype(q.qtype), now_ms))
                    }
                    _ => {
                        let a = DnsAnswer::TempFail;
                        match &mut self.stage {
                            Stage::Spf(s) => s.answer(a),
                            Stage::Dkim(s) => s.answer(a),
                            Stage::Dmarc(s) => s.answer(a),
                            Stage::Done => {}
                        }
                    }
                }
            }
        }
    }
}

impl Checks {
    /// The results for the content filter (call after `step` returned the
    /// header). DKIM passes if any signature verified (RFC 6376 6.1).
    pub fn auth(&self) -> mail_filter::Auth {
        use mail_authn::dkim::DkimStatus;
        use mail_authn::dmarc::DmarcResult as D;
        use mail_authn::spf::SpfResult as S;
        use mail_filter::{DkimResult, DmarcPolicy, DmarcResult, SpfResult};
        let spf = match self.spf.as_ref().map(|o| o.result) {
            Some(S::Pass) => SpfResult::Pass,
            Some(S::Fail) => SpfResult::Fail,
            Some(S::SoftFail) => SpfResult::SoftFail,
            Some(S::Neutral) => SpfResult::Neutral,
            Some(S::TempError) => SpfResult::TempError,
            Some(S::PermError) => SpfResult::PermError,
            Some(S::None) | None => SpfResult::None,
        };
        let st = |s: DkimStatus| self.dkim.iter().any(|r| r.status == s);
        let dkim = if st(DkimStatus::Pass) {
            DkimResult::Pass
        } else if st(DkimStatus::Fail) {
            DkimResult::Fail
        } else if st(DkimStatus::TempError) {
            DkimResult::TempError
        } else if st(DkimStatus::PermError) {
            DkimResult::PermError
        } else {
            DkimResult::None
        };
        let dmarc = match &self.dmarc {
            Some(o) => match o.result {
                D::Pass => DmarcResult::Pass,
                D::Fail => DmarcResult::Fail(match o.disposition {
                    mail_authn::dmarc::Disposition::Reject => DmarcPolicy::Reject,
                    mail_authn::dmarc::Disposition::Quarantine => DmarcPolicy::Quarantine,
                    mail_authn::dmarc::Disposition::None => DmarcPolicy::None,
                }),
                D::TempError => DmarcResult::TempError,
                D::PermError => DmarcResult::PermError,
                D::None => DmarcResult::None,
            },
            None => DmarcResult::None,
        };
        mail_filter::Auth { spf, dkim, dmarc }
    }
}
