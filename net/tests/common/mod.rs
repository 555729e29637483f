#![allow(dead_code)]
use net::memwire::{wire_pair, WireEnd};
use net::smoltcp::wire::{Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};
use net::{Stack, StackConfig};

pub const A4: Ipv4Address = Ipv4Address::new(192, 0, 2, 10);
pub const B4: Ipv4Address = Ipv4Address::new(192, 0, 2, 20);
pub const A6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
pub const B6: Ipv6Address = Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20);

pub fn cfg(mac_last: u8, v4: Ipv4Address, v6: Ipv6Address, seed: u64) -> StackConfig {
    let mut c = StackConfig::new([0x02, 0, 0, 0, 0, mac_last], seed);
    c.ipv4 = Some(Ipv4Cidr::new(v4, 24));
    c.ipv6 = Some(Ipv6Cidr::new(v6, 64));
    c.gateway4 = Some(Ipv4Address::new(192, 0, 2, 1));
    c.gateway6 = Some(Ipv6Address::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    c
}

/// Two stacks on one wire: `a` (the "server") and `b` (the "peer").
pub struct Pair {
    pub a: Stack<WireEnd>,
    pub b: Stack<WireEnd>,
    pub now: u64,
}

impl Pair {
    pub fn new() -> Pair {
        Self::with(|_| {}, |_| {})
    }
    pub fn with(fa: impl FnOnce(&mut StackConfig), fb: impl FnOnce(&mut StackConfig)) -> Pair {
        let (wa, wb) = wire_pair(4096);
        let mut ca = cfg(1, A4, A6, 0x1234_5678);
        let mut cb = cfg(2, B4, B6, 0x9abc_def0);
        fa(&mut ca);
        fb(&mut cb);
        Pair { a: Stack::new(wa, ca, 0).unwrap(), b: Stack::new(wb, cb, 0).unwrap(), now: 0 }
    }
    /// Poll both stacks once and advance the clock by `step` ms.
    pub fn step(&mut self, step: u64) {
        self.a.poll(self.now);
        self.b.poll(self.now);
        self.now += step;
    }
    /// Run until `done` or `max` steps of 1 ms pass.
    pub fn run_until(&mut self, max: usize, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        for _ in 0..max {
            self.step(1);
            if done(self) {
                return true;
            }
        }
        false
    }
}

struct ELog;
impl log::Log for ELog {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        eprintln!("[{}] {}", r.level(), r.args());
    }
    fn flush(&self) {}
}
static LOGGER: ELog = ELog;
/// Route `log` output to stderr (shown for failing tests). Level from NET_LOG.
pub fn init_log() {
    let lvl = match std::env::var("NET_LOG").as_deref() {
        Ok("trace") => log::LevelFilter::Trace,
        Ok("debug") => log::LevelFilter::Debug,
        _ => log::LevelFilter::Info,
    };
    let _ = log::set_logger(&LOGGER).map(|()| log::set_max_level(lvl));
}
