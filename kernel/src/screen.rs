//! Port 25's screen and greylist (`mail-screen`) wired to the kernel: the
//! per-connection pre-greet/DNSBL state machine gets its DNS answers from
//! the resolver and its time from the clock; the pass cache and the
//! greylist live on the mail disk (`/screen/cache`, `/screen/greylist`),
//! saved at most every 30 s when they changed (losing the last seconds of
//! either costs a client one more pre-greet wait or one more 450, never
//! mail).

use alloc::vec::Vec;
use core::net::IpAddr;
use mail_screen::{DnsAnswer, Greylist, GreylistAnswer, GreylistRequest, Load, PassCache, Policy, Screen};
use net::dns::{Answer, DnsClient, QueryId, Record, Rtype};

use crate::storage::MailFs;

const CACHE: &str = "/screen/cache";
const GREYLIST: &str = "/screen/greylist";
const SAVE_EVERY_MS: u64 = 30_000;
/// Largest state file read at boot.
const MAX_FILE: usize = 16 << 20;

/// The listener-wide state.
pub struct ScreenService {
    pub policy: Policy,
    /// `[screen] enabled`: without it connections go straight to SMTP.
    pub enabled: bool,
    pub cache: PassCache,
    pub greylist: Greylist,
    pub stats: mail_screen::Stats,
    dirty: bool,
    last_save: u64,
}

fn load_file(fs: &mut MailFs, path: &str) -> Option<Vec<u8>> {
    disk::FileSystem::read_file(fs, path, MAX_FILE).ok()
}

impl ScreenService {
    pub fn new(cfg: &mail_config::Config, fs: &mut MailFs) -> ScreenService {
        let now = crate::time::unix_time();
        let cache = match load_file(fs, CACHE) {
            Some(b) => PassCache::load(&b, now, PassCache::DEFAULT_CAPACITY).unwrap_or_else(|e| {
                log::warn!("screen: {CACHE}: {e:?}: starting with an empty cache");
                PassCache::new(PassCache::DEFAULT_CAPACITY)
            }),
            None => PassCache::new(PassCache::DEFAULT_CAPACITY),
        };
        let (t, c) = (Greylist::DEFAULT_TRIPLETS, Greylist::DEFAULT_CLIENTS);
        let greylist = match load_file(fs, GREYLIST) {
            Some(b) => Greylist::load(cfg.greylist, &b, now, t, c).unwrap_or_else(|e| {
                log::warn!("screen: {GREYLIST}: {e:?}: starting with an empty greylist");
                Greylist::new(cfg.greylist, t, c)
            }),
            None => Greylist::new(cfg.greylist, t, c),
        };
        log::info!(
            "screen: {} (pre-greet wait {} s, {} DNS lists); pass cache {} clients; greylist {} ({} triplets)",
            if cfg.screen.enabled { "on" } else { "off" },
            cfg.screen.pregreet_wait.as_secs(),
            cfg.dnsbl.sites.len(),
            cache.len(),
            if cfg.greylist.enabled { "on" } else { "off" },
            greylist.triplets()
        );
        ScreenService {
            policy: Policy::from_config(cfg),
            enabled: cfg.screen.enabled,
            cache,
            greylist,
            stats: Default::default(),
            dirty: false,
            // The first change is saved at once (a new installation's first
            // clients), later ones at most every 30 s.
            last_save: 0,
        }
    }

    /// Starts screening a new port-25 connection.
    pub fn connect(&self, ip: IpAddr, load: Load, dns: Option<&mut DnsClient>, now_ms: u64) -> Screening {
        // The screen's clock is UNIX time: its cache outlives reboots.
        let screen = Screen::connect(&self.policy, &self.cache, ip, crate::time::unix_ms(), load);
        let mut queries = Vec::new();
        if let Some(d) = dns {
            for q in screen.queries() {
                queries.push((q.id, d.query(&q.name, Rtype::A, now_ms)));
            }
        }
        // Without a resolver nothing is asked: lists still pending when the
        // wait ends count as not listed (postscreen's rule).
        Screening { screen, queries }
    }

    /// Greylisting of one recipient: `Some(450 reply)` refuses it.
    pub fn greylist(&mut self, req: &GreylistRequest<'_>) -> Option<mail_screen::reply::ScreenReply> {
        let a: GreylistAnswer = self.greylist.check(req, crate::time::unix_time());
        self.stats.record_greylist(&a);
        if !matches!(a, GreylistAnswer::Pass(mail_screen::PassReason::Disabled)) {
            self.dirty = true;
        }
        a.reply()
    }

    /// Records a finished screen (cache and statistics).
    pub fn finished(&mut self, s: &Screen) {
        s.record_passes(&self.policy, &mut self.cache);
        self.stats.record_screen(s);
        log::info!("screen: {}", s.log_line());
        self.dirty = true;
    }

    /// Records a session's protocol-test passes.
    pub fn session_ended(&mut self, obs: &mail_screen::ProtocolObserver) {
        obs.record_passes(&self.policy, &mut self.cache, crate::time::unix_time());
        self.dirty = true;
    }

    /// Saves the cache and the greylist when they changed and 30 s passed.
    pub fn save_if_due(&mut self, fs: &mut MailFs, now_ms: u64) {
        if !self.dirty || (self.last_save != 0 && now_ms.saturating_sub(self.last_save) < SAVE_EVERY_MS) {
            return;
        }
        self.save(fs);
        self.last_save = now_ms.max(1);
    }

    pub fn save(&mut self, fs: &mut MailFs) {
        let now = crate::time::unix_time();
        self.cache.expire(now);
        self.greylist.expire(now);
        let _ = disk::FileSystem::mkdir(fs, "/screen", now as u32);
        for (path, text) in [(CACHE, self.cache.save(now)), (GREYLIST, self.greylist.save(now))] {
            let tmp = alloc::format!("{path}.tmp");
            if let Err(e) = disk::FileSystem::replace_file(fs, path, &tmp, text.as_bytes(), now as u32) {
                log::warn!("screen: saving {path}: {e:?}");
            }
        }
        if let Err(e) = disk::FileSystem::flush(fs) {
            log::warn!("screen: flush: {e:?}");
        }
        self.dirty = false;
    }
}

/// One connection being screened.
pub struct Screening {
    pub screen: Screen,
    /// (screen query index, resolver query) still unanswered.
    queries: Vec<(usize, QueryId)>,
}

impl Screening {
    /// Feeds DNS answers and the clock; returns true if anything moved.
    pub fn poll(&mut self, policy: &Policy, dns: Option<&mut DnsClient>) -> bool {
        let now_ms = crate::time::unix_ms();
        let mut moved = false;
        if let Some(d) = dns {
            let mut i = 0;
            while i < self.queries.len() {
                let (id, q) = self.queries[i];
                match d.take_answer(q) {
                    Some(a) => {
                        self.queries.swap_remove(i);
                        let ans = match a {
                            Answer::Records { records, .. } => {
                                let v4: Vec<_> = records
                                    .into_iter()
                                    .filter_map(|r| match r {
                                        Record::A(a) => Some(a),
                                        _ => None,
                                    })
                                    .collect();
                                if v4.is_empty() {
                                    DnsAnswer::NotListed
                                } else {
                                    DnsAnswer::Listed(v4)
                                }
                            }
                            Answer::NoData | Answer::NxDomain => DnsAnswer::NotListed,
                            _ => DnsAnswer::Failed,
                        };
                        self.screen.answer(policy, id, ans, now_ms);
                        moved = true;
                    }
                    None => i += 1,
                }
            }
        }
        if self.screen.verdict().is_none() && self.screen.deadline_ms().is_some_and(|d| now_ms >= d) {
            self.screen.tick(policy, now_ms);
            moved = true;
        }
        moved
    }

    /// Forgets the outstanding DNS queries (the connection went away).
    pub fn cancel(&mut self, stack: &mut net::Stack<crate::nic::VirtioPhy>, dns: Option<&mut DnsClient>) {
        if let Some(d) = dns {
            for (_, q) in self.queries.drain(..) {
                d.cancel(stack, q);
            }
        }
    }
}
