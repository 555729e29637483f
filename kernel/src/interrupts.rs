//! Interrupts: the IDT, exception reporting, the legacy 8259 PICs and the
//! PIT tick that wakes `hlt`.
//!
//! Why a 1 kHz PIT tick and not device interrupts: it works the same on q35
//! (PCI INTx) and microvm (virtio-mmio lines only on the IOAPIC) with no
//! IOAPIC/APIC driver, and it bounds wake-up latency at 1 ms while idle. The
//! main loop only halts after a quiet period, so busy traffic is polled
//! without that latency. Device interrupts are a known improvement (docs).

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

pub static TICKS: AtomicU64 = AtomicU64::new(0);

/// Timer interrupt rate.
pub const TICK_HZ: u32 = 1000;

global_asm!(
    r#"
    .section .text
isr_0:
    push $0
    push $0
    jmp isr_common
isr_1:
    push $0
    push $1
    jmp isr_common
isr_2:
    push $0
    push $2
    jmp isr_common
isr_3:
    push $0
    push $3
    jmp isr_common
isr_4:
    push $0
    push $4
    jmp isr_common
isr_5:
    push $0
    push $5
    jmp isr_common
isr_6:
    push $0
    push $6
    jmp isr_common
isr_7:
    push $0
    push $7
    jmp isr_common
isr_8:
    push $8
    jmp isr_common
isr_9:
    push $0
    push $9
    jmp isr_common
isr_10:
    push $10
    jmp isr_common
isr_11:
    push $11
    jmp isr_common
isr_12:
    push $12
    jmp isr_common
isr_13:
    push $13
    jmp isr_common
isr_14:
    push $14
    jmp isr_common
isr_15:
    push $0
    push $15
    jmp isr_common
isr_16:
    push $0
    push $16
    jmp isr_common
isr_17:
    push $17
    jmp isr_common
isr_18:
    push $0
    push $18
    jmp isr_common
isr_19:
    push $0
    push $19
    jmp isr_common
isr_20:
    push $0
    push $20
    jmp isr_common
isr_21:
    push $21
    jmp isr_common
isr_22:
    push $0
    push $22
    jmp isr_common
isr_23:
    push $0
    push $23
    jmp isr_common
isr_24:
    push $0
    push $24
    jmp isr_common
isr_25:
    push $0
    push $25
    jmp isr_common
isr_26:
    push $0
    push $26
    jmp isr_common
isr_27:
    push $0
    push $27
    jmp isr_common
isr_28:
    push $0
    push $28
    jmp isr_common
isr_29:
    push $29
    jmp isr_common
isr_30:
    push $30
    jmp isr_common
isr_31:
    push $0
    push $31
    jmp isr_common
isr_32:
    push $0
    push $32
    jmp isr_common
isr_33:
    push $0
    push $33
    jmp isr_common
isr_34:
    push $0
    push $34
    jmp isr_common
isr_35:
    push $0
    push $35
    jmp isr_common
isr_36:
    push $0
    push $36
    jmp isr_common
isr_37:
    push $0
    push $37
    jmp isr_common
isr_38:
    push $0
    push $38
    jmp isr_common
isr_39:
    push $0
    push $39
    jmp isr_common
isr_40:
    push $0
    push $40
    jmp isr_common
isr_41:
    push $0
    push $41
    jmp isr_common
isr_42:
    push $0
    push $42
    jmp isr_common
isr_43:
    push $0
    push $43
    jmp isr_common
isr_44:
    push $0
    push $44
    jmp isr_common
isr_45:
    push $0
    push $45
    jmp isr_common
isr_46:
    push $0
    push $46
    jmp isr_common
isr_47:
    push $0
    push $47
    jmp isr_common

isr_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov %rsp, %rdi
    cld
    call trap_handler
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq

    .section .rodata
    .p2align 3
    .global isr_table
isr_table:
    .quad isr_0
    .quad isr_1
    .quad isr_2
    .quad isr_3
    .quad isr_4
    .quad isr_5
    .quad isr_6
    .quad isr_7
    .quad isr_8
    .quad isr_9
    .quad isr_10
    .quad isr_11
    .quad isr_12
    .quad isr_13
    .quad isr_14
    .quad isr_15
    .quad isr_16
    .quad isr_17
    .quad isr_18
    .quad isr_19
    .quad isr_20
    .quad isr_21
    .quad isr_22
    .quad isr_23
    .quad isr_24
    .quad isr_25
    .quad isr_26
    .quad isr_27
    .quad isr_28
    .quad isr_29
    .quad isr_30
    .quad isr_31
    .quad isr_32
    .quad isr_33
    .quad isr_34
    .quad isr_35
    .quad isr_36
    .quad isr_37
    .quad isr_38
    .quad isr_39
    .quad isr_40
    .quad isr_41
    .quad isr_42
    .quad isr_43
    .quad isr_44
    .quad isr_45
    .quad isr_46
    .quad isr_47
"#,
    options(att_syntax)
);

/// What `isr_common` pushed, lowest address first.
#[repr(C)]
pub struct TrapFrame {
    regs: [u64; 9],
    vector: u64,
    error: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

#[repr(C, align(16))]
struct Idt([u64; 512]);

static mut IDT: Idt = Idt([0; 512]);

extern "C" {
    static isr_table: [u64; 48];
}

const EXCEPTIONS: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 FP",
    "alignment check",
    "machine check",
    "SIMD FP",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security",
    "reserved",
];

#[no_mangle]
extern "C" fn trap_handler(f: &TrapFrame) {
    let v = f.vector as usize;
    if v < 32 {
        let cr2: u64;
        unsafe { core::arch::asm!("mov %cr2, %rax", out("rax") cr2, options(att_syntax, nomem, nostack)) };
        crate::fatal(format_args!(
            "cpu exception {} ({}) error={:#x} rip={:#x} rsp={:#x} cr2={:#x}",
            v, EXCEPTIONS[v], f.error, f.rip, f.rsp, cr2
        ));
    }
    if v == 32 {
        TICKS.fetch_add(1, Ordering::Relaxed);
    }
    unsafe {
        if v >= 40 {
            Port::<u8>::new(0xa0).write(0x20);
        }
        Port::<u8>::new(0x20).write(0x20);
    }
}

/// Loads the IDT, remaps the PICs to vectors 32-47, unmasks only the timer and
/// starts the PIT at `TICK_HZ`. Interrupts stay disabled until `enable_and_hlt`.
pub fn init() {
    unsafe {
        let idt = &mut *core::ptr::addr_of_mut!(IDT);
        for (n, &addr) in isr_table.iter().enumerate() {
            let lo = (addr & 0xffff) | (0x08 << 16) | (0x8e00u64 << 32) | ((addr >> 16) & 0xffff) << 48;
            idt.0[n * 2] = lo;
            idt.0[n * 2 + 1] = addr >> 32;
        }
        let ptr = x86_64::structures::DescriptorTablePointer {
            limit: (48 * 16 - 1) as u16,
            base: x86_64::VirtAddr::new(idt as *const Idt as u64),
        };
        x86_64::instructions::tables::lidt(&ptr);

        // 8259A: ICW1..ICW4, master at 32, slave at 40, cascade on IRQ2.
        let (mut mc, mut md, mut sc, mut sd) =
            (Port::<u8>::new(0x20), Port::<u8>::new(0x21), Port::<u8>::new(0xa0), Port::<u8>::new(0xa1));
        mc.write(0x11);
        sc.write(0x11);
        md.write(32);
        sd.write(40);
        md.write(4);
        sd.write(2);
        md.write(1);
        sd.write(1);
        md.write(0xfe); // only IRQ0
        sd.write(0xff);

        // Local APIC in virtual-wire mode: PIC interrupts arrive through LINT0
        // as ExtINT. Firmware does this on q35 (SeaBIOS); microvm's qboot and
        // GRUB-on-UEFI may not, and then `hlt` would never wake.
        let apic_base = x86_64::registers::model_specific::Msr::new(0x1b);
        let base = apic_base.read();
        if base & (1 << 11) != 0 {
            let mmio = (base & 0xffff_f000) as usize;
            let reg = |off: usize| (mmio + off) as *mut u32;
            core::ptr::write_volatile(reg(0xf0), 0x12f); // software enable, spurious vector 47 (low nibble 0xf)
            core::ptr::write_volatile(reg(0x350), 0x700); // LINT0: ExtINT
            core::ptr::write_volatile(reg(0x360), 0x400); // LINT1: NMI
        }

        // PIT channel 0, mode 2 (rate generator).
        let div = (1_193_182 / TICK_HZ) as u16;
        Port::<u8>::new(0x43).write(0x34);
        Port::<u8>::new(0x40).write(div as u8);
        Port::<u8>::new(0x40).write((div >> 8) as u8);
    }
}

/// Sleeps until the next interrupt (at most one tick).
pub fn halt() {
    x86_64::instructions::interrupts::enable_and_hlt();
    x86_64::instructions::interrupts::disable();
}
