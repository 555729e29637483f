//! Time: a monotonic clock from the TSC (calibrated against the PIT) and the
//! wall clock from the CMOS RTC read once at boot.

use core::sync::atomic::{AtomicU64, Ordering};

static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
/// TSC ticks per microsecond, 0 until calibrated.
static TSC_PER_US: AtomicU64 = AtomicU64::new(0);

fn rdtsc() -> u64 {
    unsafe { core::arch::x86_64::_rdtsc() }
}

pub fn init_early() {
    TSC_AT_BOOT.store(rdtsc(), Ordering::Relaxed);
}

pub fn micros_since_boot() -> u64 {
    let per = TSC_PER_US.load(Ordering::Relaxed);
    if per == 0 {
        return 0;
    }
    (rdtsc() - TSC_AT_BOOT.load(Ordering::Relaxed)) / per
}
