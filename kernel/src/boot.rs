//! Entry from the boot loader: 32-bit protected mode to 64-bit long mode.
//!
//! Two ways in, one way on:
//! * **PVH** (`qemu -kernel`, Firecracker, cloud-hypervisor): the loader finds
//!   `XEN_ELFNOTE_PHYS32_ENTRY` in `.note.Xen` and jumps to `pvh_start32` with
//!   `%ebx` = physical address of `hvm_start_info`.
//! * **Multiboot2** (GRUB on the bootable disk): the header below sits in the
//!   first 32 KiB; GRUB enters at the ELF entry `mb2_start32` with
//!   `%eax` = 0x36d76289 and `%ebx` = the multiboot2 information structure.
//!
//! Both then zero `.bss`, identity-map the first 4 GiB with 2 MiB pages (the
//! top GiB, where MMIO lives, uncached), enable PAE + long mode + paging, load
//! a flat 64-bit GDT and call `kmain(kind, info)` on a static stack.

use core::arch::global_asm;

/// How we were booted, as `kmain` receives it.
pub const BOOT_PVH: u32 = 1;
pub const BOOT_MULTIBOOT2: u32 = 2;

/// Boot stack size. TLS handshakes (RSA in rustls-rustcrypto) want room.
pub const STACK_SIZE: usize = 1024 * 1024;

global_asm!(
    r#"
    .section .note.Xen, "a"
    .p2align 2
    .long 4
    .long 4
    .long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start32

    .section .multiboot2, "a"
    .p2align 3
mb2_header_start:
    .long 0xe85250d6    /* multiboot2 magic */
    .long 0             /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header_start))
    /* entry address tag */
    .p2align 3
    .word 3
    .word 0
    .long 12
    .long mb2_start32
    /* end tag */
    .p2align 3
    .word 0
    .word 0
    .long 8
mb2_header_end:

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    mov $1, %ebp
    mov %ebx, %edx
    jmp 3f

    .global mb2_start32
mb2_start32:
    cli
    mov $2, %ebp
    mov %ebx, %edx
    cmp $0x36d76289, %eax
    je 3f
    mov $0, %ebp

3:
    cld
    /* zero .bss (boot_kind/boot_info live in .data and survive) */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov %ebp, boot_kind
    mov %edx, boot_info

    /* PD: 2048 entries of 2 MiB = 4 GiB, the top GiB uncached (PCD|PWT) */
    mov $boot_pd, %edi
    xor %ecx, %ecx
4:
    mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    cmp $1536, %ecx
    jb 5f
    or $0x18, %eax
5:
    mov %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 4b

    /* PDPT: four entries pointing at the four PD pages */
    mov $boot_pdpt, %edi
    mov $boot_pd, %eax
    or $0x3, %eax
    xor %ecx, %ecx
6:
    mov %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    add $4096, %eax
    inc %ecx
    cmp $4, %ecx
    jb 6b

    /* PML4[0] -> PDPT */
    mov $boot_pml4, %edi
    mov $boot_pdpt, %eax
    or $0x3, %eax
    mov %eax, (%edi)

    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax          /* PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx   /* EFER */
    rdmsr
    or $0x100, %eax         /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax    /* PG | PE */
    and $0x9fffffff, %eax   /* caches on: clear CD, NW */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_start

    .code64
long_mode_start:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    lea boot_stack_top(%rip), %rsp
    xor %rbp, %rbp
    mov boot_kind(%rip), %edi
    mov boot_info(%rip), %esi
    call kmain
7:
    cli
    hlt
    jmp 7b

    .section .rodata
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .data
    .p2align 2
boot_kind: .long 0
boot_info: .long 0

    .section .bss
    .p2align 12
    .global boot_pml4
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096 * 4
boot_stack: .skip {stack}
boot_stack_top:
    "#,
    stack = const STACK_SIZE,
    options(att_syntax)
);
