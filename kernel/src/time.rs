//! Time: a monotonic clock from the TSC (calibrated against the PIT) and the
//! wall clock from the CMOS RTC read once at boot.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
/// TSC ticks per microsecond, 0 until calibrated.
static TSC_PER_US: AtomicU64 = AtomicU64::new(0);
/// Unix time (seconds) read from the RTC at boot, and the TSC then.
static RTC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static TSC_AT_RTC: AtomicU64 = AtomicU64::new(0);

pub fn rdtsc() -> u64 {
    unsafe { core::arch::x86_64::_rdtsc() }
}

pub fn init_early() {
    TSC_AT_BOOT.store(rdtsc(), Ordering::Relaxed);
}

/// Microseconds since kernel entry (0 before calibration).
pub fn micros_since_boot() -> u64 {
    let per = TSC_PER_US.load(Ordering::Relaxed);
    if per == 0 {
        return 0;
    }
    (rdtsc() - TSC_AT_BOOT.load(Ordering::Relaxed)) / per
}

/// Milliseconds of the monotonic clock.
pub fn now_ms() -> u64 {
    micros_since_boot() / 1000
}

/// Seconds since the Unix epoch.
pub fn unix_time() -> u64 {
    let per = TSC_PER_US.load(Ordering::Relaxed).max(1);
    RTC_AT_BOOT.load(Ordering::Relaxed) + (rdtsc() - TSC_AT_RTC.load(Ordering::Relaxed)) / per / 1_000_000
}

/// Milliseconds since the Unix epoch (for state that outlives a reboot,
/// such as the screen's pass cache).
pub fn unix_ms() -> u64 {
    let per = TSC_PER_US.load(Ordering::Relaxed).max(1);
    RTC_AT_BOOT.load(Ordering::Relaxed) * 1000 + (rdtsc() - TSC_AT_RTC.load(Ordering::Relaxed)) / per / 1000
}

/// Measures the TSC rate over 10 ms of PIT channel 2; falls back to CPUID
/// leaves 0x15/0x16 where there is no PIT. Returns MHz.
pub fn calibrate() -> u64 {
    let per_us = unsafe { pit_calibrate() }.or_else(cpuid_tsc_mhz).unwrap_or_else(|| {
        log::warn!("time: cannot calibrate the TSC; assuming 1 GHz");
        1000
    });
    TSC_PER_US.store(per_us.max(1), Ordering::Relaxed);
    per_us
}

/// PIT channel 0 free-running (mode 2, full 16-bit period) read back with
/// latch commands: unlike channel 2 it needs no port 0x61 gate, which
/// microvm does not have. The interrupt setup reprograms channel 0 later.
unsafe fn pit_calibrate() -> Option<u64> {
    let mut cmd = Port::<u8>::new(0x43);
    let mut ch0 = Port::<u8>::new(0x40);
    cmd.write(0x34); // channel 0, lo/hi, mode 2
    ch0.write(0xff);
    ch0.write(0xff);
    let mut read = || {
        cmd.write(0x00); // latch channel 0
        let lo = ch0.read() as u32;
        let hi = ch0.read() as u32;
        lo | hi << 8
    };
    const TICKS: u32 = 11932; // 10 ms at 1.193182 MHz
    let mut last = read();
    let t0 = rdtsc();
    let mut elapsed = 0u32;
    let mut spins = 0u64;
    while elapsed < TICKS {
        let c = read();
        // The counter counts down and reloads at 0.
        elapsed += if c <= last { last - c } else { last + (0x10000 - c) };
        last = c;
        spins += 1;
        if spins > 20_000_000 {
            return None;
        }
    }
    let dt = rdtsc() - t0;
    let us = elapsed as u64 * 1_000_000 / 1_193_182;
    if dt < 10_000 || us == 0 {
        return None;
    }
    Some(dt / us)
}

fn cpuid_tsc_mhz() -> Option<u64> {
    let max = core::arch::x86_64::__cpuid(0).eax;
    if max >= 0x15 {
        let r = core::arch::x86_64::__cpuid(0x15);
        if r.eax != 0 && r.ebx != 0 && r.ecx != 0 {
            return Some(r.ecx as u64 * r.ebx as u64 / r.eax as u64 / 1_000_000);
        }
    }
    if max >= 0x16 {
        let r = core::arch::x86_64::__cpuid(0x16);
        if r.eax != 0 {
            return Some(r.eax as u64);
        }
    }
    None
}

fn cmos(reg: u8) -> u8 {
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

/// Reads the RTC (waiting out an update in progress, twice-equal reads),
/// handling BCD and 12-hour modes. Returns Unix seconds.
pub fn read_rtc() -> u64 {
    let read = || {
        for _ in 0..1_000_000 {
            if cmos(0x0a) & 0x80 == 0 {
                break;
            }
        }
        [cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32)]
    };
    let mut a = read();
    for _ in 0..5 {
        let b = read();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = cmos(0x0b);
    let bcd = |x: u8| if status_b & 0x04 == 0 { (x & 0x0f) + (x >> 4) * 10 } else { x };
    let (sec, min) = (bcd(a[0]) as u64, bcd(a[1]) as u64);
    let mut hour = bcd(a[2] & 0x7f) as u64;
    if status_b & 0x02 == 0 && a[2] & 0x80 != 0 {
        hour = (hour % 12) + 12; // 12-hour mode, PM
    }
    let (day, month) = (bcd(a[3]) as u64, bcd(a[4]) as u64);
    let century = match bcd(a[6]) as u64 {
        c @ 19..=21 => c,
        _ => 20,
    };
    let year = century * 100 + bcd(a[5]) as u64;
    let t = days_from_civil(year as i64, month as u32, day as u32) as u64 * 86400 + hour * 3600 + min * 60 + sec;
    RTC_AT_BOOT.store(t, Ordering::Relaxed);
    TSC_AT_RTC.store(rdtsc(), Ordering::Relaxed);
    t
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's
/// civil-from-days inverse).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}
