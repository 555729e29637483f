//! `log` backend: every record goes to the serial console with a timestamp in
//! seconds since kernel entry (from the TSC once it is calibrated).

use crate::serial::Serial;
use core::fmt::Write;
use log::{LevelFilter, Log, Metadata, Record};

struct Console;

static LOGGER: Console = Console;

impl Log for Console {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let us = crate::time::micros_since_boot();
        let mut s = Serial;
        let _ =
            write!(s, "[{:5}.{:06}] {:5} {}: {}\n", us / 1_000_000, us % 1_000_000, r.level(), r.target(), r.args());
    }
    fn flush(&self) {}
}

pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Lines the test scripts read (`ready:`, `fatal:`) are printed raw, without
/// the timestamp prefix, so they start at column 0.
pub fn raw_line(args: core::fmt::Arguments) {
    let mut s = Serial;
    let _ = s.write_fmt(args);
    let _ = s.write_str("\n");
}
