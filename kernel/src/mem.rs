//! Physical memory: the boot loader's memory map, the kernel heap on the
//! largest usable RAM region above the kernel image, and heap accounting.
//!
//! Memory is identity-mapped (boot.rs), so physical = virtual everywhere and
//! virtio DMA buffers are plain heap allocations.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};
use talc::{source::Manual, TalcLock};

/// What the boot loader told us, copied out before the heap may cover it.
pub struct BootInfo {
    pub cmdline: heapless::String<2048>,
    pub regions: heapless::Vec<(u64, u64), 64>,
    pub loader: &'static str,
}

const RAM: u32 = 1;
/// Only the first 4 GiB are mapped (boot.rs); the top GiB is MMIO.
const MAPPED_LIMIT: u64 = 3 << 30;

unsafe fn read<T: Copy>(addr: u64) -> T {
    core::ptr::read_unaligned(addr as *const T)
}

unsafe fn c_string(addr: u64, out: &mut heapless::String<2048>) {
    if addr == 0 {
        return;
    }
    for i in 0..2047u64 {
        let b: u8 = read(addr + i);
        if b == 0 {
            break;
        }
        let _ = out.push(if b.is_ascii() && !b.is_ascii_control() { b as char } else { ' ' });
    }
}

/// Reads the PVH `hvm_start_info` or the multiboot2 information structure.
pub fn boot_info(kind: u32, info: u32) -> Result<BootInfo, &'static str> {
    let mut bi = BootInfo { cmdline: heapless::String::new(), regions: heapless::Vec::new(), loader: "?" };
    let info = info as u64;
    unsafe {
        match kind {
            crate::boot::BOOT_PVH => {
                bi.loader = "pvh";
                // xen/include/public/arch-x86/hvm/start_info.h
                if read::<u32>(info) != 0x336ec578 {
                    return Err("PVH start_info has a bad magic");
                }
                let version: u32 = read(info + 4);
                c_string(read(info + 24), &mut bi.cmdline);
                if version < 1 {
                    return Err("PVH start_info version 0 has no memory map");
                }
                let map: u64 = read(info + 40);
                let n: u32 = read(info + 48);
                for i in 0..n.min(64) as u64 {
                    let e = map + i * 24;
                    if read::<u32>(e + 16) == RAM {
                        let _ = bi.regions.push((read(e), read(e + 8)));
                    }
                }
            }
            crate::boot::BOOT_MULTIBOOT2 => {
                bi.loader = "multiboot2";
                let total: u32 = read(info);
                let mut off = 8u64;
                while off + 8 <= total as u64 {
                    let t: u32 = read(info + off);
                    let size: u32 = read(info + off + 4);
                    if t == 0 || size < 8 {
                        break;
                    }
                    match t {
                        1 => c_string(info + off + 8, &mut bi.cmdline),
                        6 => {
                            let esize: u32 = read(info + off + 8);
                            if esize >= 24 {
                                let mut e = off + 16;
                                while e + esize as u64 <= off + size as u64 {
                                    if read::<u32>(info + e + 16) == RAM {
                                        let _ = bi.regions.push((read(info + e), read(info + e + 8)));
                                    }
                                    e += esize as u64;
                                }
                            }
                        }
                        _ => {}
                    }
                    off += (size as u64 + 7) & !7;
                }
            }
            _ => return Err("unknown boot protocol (neither PVH nor multiboot2)"),
        }
    }
    if bi.regions.is_empty() {
        return Err("the boot loader's memory map has no RAM");
    }
    Ok(bi)
}

struct Counting {
    talc: TalcLock<spin::Mutex<()>, Manual>,
}

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
static HEAP_SIZE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = self.talc.alloc(l);
        if !p.is_null() {
            let now = IN_USE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            HIGH_WATER.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        IN_USE.fetch_sub(l.size(), Ordering::Relaxed);
        self.talc.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = self.talc.realloc(p, l, new);
        if !q.is_null() {
            IN_USE.fetch_sub(l.size(), Ordering::Relaxed);
            let now = IN_USE.fetch_add(new, Ordering::Relaxed) + new;
            HIGH_WATER.fetch_max(now, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting { talc: TalcLock::new(Manual) };

extern "C" {
    static __kernel_end: u8;
}

/// Claims the largest RAM region above the kernel image as the heap.
/// Returns its (start, size).
pub fn init_heap(bi: &BootInfo) -> Result<(u64, u64), &'static str> {
    let kend = unsafe { &__kernel_end as *const u8 as u64 };
    let kend = (kend + 0xfff) & !0xfff;
    let mut best = (0u64, 0u64);
    for &(start, len) in bi.regions.iter() {
        let end = start.saturating_add(len).min(MAPPED_LIMIT);
        let s = start.max(kend);
        if end > s && end - s > best.1 {
            best = (s, end - s);
        }
    }
    if best.1 < 4 << 20 {
        return Err("less than 4 MiB of RAM above the kernel image for the heap");
    }
    unsafe {
        ALLOC.talc.lock().claim(best.0 as *mut u8, best.1 as usize).ok_or("heap claim failed")?;
    }
    HEAP_SIZE.store(best.1 as usize, Ordering::Relaxed);
    Ok(best)
}

/// (bytes in use, high-water mark, heap size)
pub fn heap_stats() -> (usize, usize, usize) {
    (IN_USE.load(Ordering::Relaxed), HIGH_WATER.load(Ordering::Relaxed), HEAP_SIZE.load(Ordering::Relaxed))
}
