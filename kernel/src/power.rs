//! Leaving: clean power-off, and the exit status QEMU reports.
//!
//! * Clean power-off: ACPI S5 through the PM1a control register on q35
//!   (SeaBIOS places the PM block at 0x600); elsewhere (microvm with
//!   `acpi=off`) a deliberate triple fault, which QEMU turns into an exit with
//!   status 0 under `-no-reboot` (the scripts always pass it).
//! * Fatal: the `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4`)
//!   makes QEMU exit with status `(code << 1) | 1`, so never 0.

use x86_64::instructions::port::Port;

static mut ACPI_PM1A_CNT: Option<u16> = None;

/// Set when the platform is known to have the PM block at this port.
pub fn set_acpi_pm1a_cnt(port: u16) {
    unsafe { ACPI_PM1A_CNT = Some(port) };
}

pub fn poweroff() -> ! {
    let (used, high, size) = crate::mem::heap_stats();
    log::info!("power off (heap: {} KiB in use, high-water {} KiB of {} KiB)", used >> 10, high >> 10, size >> 10);
    unsafe {
        if let Some(p) = ACPI_PM1A_CNT {
            // SLP_TYPa = 0 (S5 in QEMU's DSDT), SLP_EN = bit 13.
            Port::<u16>::new(p).write(0x2000);
        }
    }
    triple_fault()
}

pub fn exit_failure(code: u8) -> ! {
    unsafe {
        Port::<u32>::new(0xf4).write(code as u32);
    }
    // No debug-exit device: stop here rather than reboot into a loop.
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

fn triple_fault() -> ! {
    unsafe {
        // An empty IDT makes the next exception a triple fault: reset.
        let idt = x86_64::structures::DescriptorTablePointer { limit: 0, base: x86_64::VirtAddr::new(0) };
        x86_64::instructions::tables::lidt(&idt);
        core::arch::asm!("int3", options(noreturn));
    }
}
