//! 16550 UART on COM1: the console. Polled output only; the console is for
//! logs, never for input.

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

pub struct Serial;

impl Serial {
    /// 115200 8N1, FIFOs on, interrupts off.
    pub fn init() {
        unsafe {
            Port::<u8>::new(COM1 + 1).write(0x00); // no interrupts
            Port::<u8>::new(COM1 + 3).write(0x80); // DLAB
            Port::<u8>::new(COM1).write(0x01); // divisor 1 = 115200
            Port::<u8>::new(COM1 + 1).write(0x00);
            Port::<u8>::new(COM1 + 3).write(0x03); // 8N1
            Port::<u8>::new(COM1 + 2).write(0xc7); // FIFO on, clear, 14-byte
            Port::<u8>::new(COM1 + 4).write(0x03); // DTR, RTS
        }
    }

    pub fn write_byte(b: u8) {
        unsafe {
            let mut lsr = Port::<u8>::new(COM1 + 5);
            // Bounded wait: a missing UART must not hang the kernel.
            for _ in 0..100_000 {
                if lsr.read() & 0x20 != 0 {
                    break;
                }
            }
            Port::<u8>::new(COM1).write(b);
        }
    }

    pub fn write_bytes(s: &[u8]) {
        for &b in s {
            if b == b'\n' {
                Self::write_byte(b'\r');
            }
            Self::write_byte(b);
        }
    }
}

impl core::fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        Self::write_bytes(s.as_bytes());
        Ok(())
    }
}
