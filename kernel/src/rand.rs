//! Entropy: RDSEED/RDRAND and virtio-rng seed a ChaCha20 CSPRNG that
//! everything else (TLS, DNS IDs, Maildir names) draws from.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use spin::Mutex;

static RNG: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

fn has_rdrand() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0
}

fn has_rdseed() -> bool {
    let max = core::arch::x86_64::__cpuid(0).eax;
    max >= 7 && core::arch::x86_64::__cpuid_count(7, 0).ebx & (1 << 18) != 0
}

fn rdrand() -> Option<u64> {
    for _ in 0..16 {
        let v: u64;
        let ok: u8;
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
        };
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

fn rdseed() -> Option<u64> {
    for _ in 0..64 {
        let v: u64;
        let ok: u8;
        unsafe {
            core::arch::asm!("rdseed {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack))
        };
        if ok != 0 {
            return Some(v);
        }
    }
    None
}

/// Seeds the CSPRNG from every source there is; `extra` is virtio-rng output
/// (may be empty). Returns the names of the sources used, or an error if none
/// gave anything (we refuse to run TLS on a guessable seed).
pub fn seed(extra: &[u8]) -> Result<&'static str, &'static str> {
    let mut seed = [0u8; 32];
    let mut got = false;
    let mut used = "";
    if has_rdseed() {
        for (i, c) in seed.chunks_mut(8).enumerate() {
            if let Some(v) = rdseed() {
                c.copy_from_slice(&v.to_le_bytes());
                got = i == 3 || got;
            }
        }
        used = "rdseed";
    }
    if has_rdrand() {
        for c in seed.chunks_mut(8) {
            if let Some(v) = rdrand() {
                for (a, b) in c.iter_mut().zip(v.to_le_bytes()) {
                    *a ^= b;
                }
                got = true;
            }
        }
        used = if used.is_empty() { "rdrand" } else { "rdseed+rdrand" };
    }
    if extra.len() >= 32 {
        for (i, b) in extra.iter().enumerate() {
            seed[i % 32] ^= b;
        }
        got = true;
        used = match used {
            "" => "virtio-rng",
            "rdrand" => "rdrand+virtio-rng",
            "rdseed" => "rdseed+virtio-rng",
            _ => "rdseed+rdrand+virtio-rng",
        };
    }
    if !got {
        return Err("no entropy source: the CPU has no RDRAND/RDSEED and there is no virtio-rng device");
    }
    // The TSC adds a little boot-timing jitter; never the only source.
    for (a, b) in seed.iter_mut().zip(crate::time::rdtsc().to_le_bytes()) {
        *a ^= b;
    }
    *RNG.lock() = Some(ChaCha20Rng::from_seed(seed));
    Ok(used)
}

pub fn fill(buf: &mut [u8]) {
    match RNG.lock().as_mut() {
        Some(r) => r.fill_bytes(buf),
        None => crate::fatal(format_args!("random numbers requested before the CSPRNG was seeded")),
    }
}

pub fn u64() -> u64 {
    let mut b = [0u8; 8];
    fill(&mut b);
    u64::from_le_bytes(b)
}
