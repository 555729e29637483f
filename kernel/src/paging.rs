//! Identity mappings above the 4 GiB the boot code maps: UEFI firmware (OVMF)
//! places 64-bit PCI BARs high (e.g. 0xe0_0000_0000), and virtio-drivers must
//! reach them. 2 MiB pages, uncached, tables from the heap (never freed).

use alloc::alloc::{alloc_zeroed, Layout};

extern "C" {
    static mut boot_pml4: [u64; 512];
}

const PRESENT: u64 = 1;
const WRITABLE: u64 = 2;
const PWT: u64 = 1 << 3;
const PCD: u64 = 1 << 4;
const HUGE: u64 = 1 << 7;
const ADDR: u64 = 0x000f_ffff_ffff_f000;

unsafe fn table(entry: &mut u64) -> &'static mut [u64; 512] {
    if *entry & PRESENT == 0 {
        let p = alloc_zeroed(Layout::from_size_align(4096, 4096).unwrap());
        if p.is_null() {
            crate::fatal(format_args!("out of memory for page tables"));
        }
        *entry = p as u64 | PRESENT | WRITABLE;
    }
    &mut *((*entry & ADDR) as *mut [u64; 512])
}

/// Identity-maps `[paddr, paddr + size)` as uncached device memory.
pub fn map_mmio(paddr: u64, size: u64) {
    if paddr + size <= 1 << 32 {
        return; // boot.rs mapped it
    }
    let start = paddr & !0x1f_ffff;
    let end = (paddr + size + 0x1f_ffff) & !0x1f_ffff;
    unsafe {
        let pml4 = &mut *core::ptr::addr_of_mut!(boot_pml4);
        let mut a = start;
        while a < end {
            let pdpt = table(&mut pml4[((a >> 39) & 511) as usize]);
            let pdpte = &mut pdpt[((a >> 30) & 511) as usize];
            if *pdpte & HUGE != 0 {
                a += 1 << 21;
                continue;
            }
            let pd = table(pdpte);
            let e = &mut pd[((a >> 21) & 511) as usize];
            if *e & PRESENT == 0 {
                *e = a | PRESENT | WRITABLE | HUGE | PCD | PWT;
            }
            a += 1 << 21;
        }
        // Reload CR3 so no stale translation survives.
        core::arch::asm!("mov %cr3, %rax", "mov %rax, %cr3", out("rax") _, options(att_syntax, nostack));
    }
}
