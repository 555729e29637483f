//! Device discovery and the virtio-drivers glue: the DMA `Hal` (identity
//! mapping, heap pages), PCI configuration access through ports 0xCF8/0xCFC
//! (q35), and the virtio-mmio windows microvm places at 0xfeb00000.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};
use x86_64::instructions::port::Port;

/// DMA for virtio-drivers. Memory is identity-mapped, so a buffer's address
/// is its physical address and sharing is free.
pub struct KernelHal;

unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _dir: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let layout = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("dma layout");
        let p = unsafe { alloc_zeroed(layout) };
        let p = NonNull::new(p).unwrap_or_else(|| crate::fatal(format_args!("out of memory for virtio DMA")));
        (p.as_ptr() as PhysAddr, p)
    }
    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        dealloc(vaddr.as_ptr(), Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).unwrap());
        0
    }
    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        crate::paging::map_mmio(paddr as u64, size as u64);
        NonNull::new(paddr as *mut u8).unwrap()
    }
    unsafe fn share(buffer: NonNull<[u8]>, _dir: BufferDirection) -> PhysAddr {
        buffer.as_ptr() as *mut u8 as PhysAddr
    }
    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _dir: BufferDirection) {}
}

/// PCI configuration mechanism #1 (I/O ports).
pub struct PortCam;

impl ConfigurationAccess for PortCam {
    fn read_word(&self, df: DeviceFunction, off: u8) -> u32 {
        unsafe {
            Port::<u32>::new(0xcf8).write(addr(df, off));
            Port::<u32>::new(0xcfc).read()
        }
    }
    fn write_word(&mut self, df: DeviceFunction, off: u8, data: u32) {
        unsafe {
            Port::<u32>::new(0xcf8).write(addr(df, off));
            Port::<u32>::new(0xcfc).write(data);
        }
    }
    unsafe fn unsafe_clone(&self) -> Self {
        PortCam
    }
}

fn addr(df: DeviceFunction, off: u8) -> u32 {
    0x8000_0000 | (df.bus as u32) << 16 | (df.device as u32) << 11 | (df.function as u32) << 8 | (off as u32 & 0xfc)
}

/// A discovered virtio device.
pub struct Found {
    pub transport: SomeTransport<'static>,
    pub kind: DeviceType,
    pub location: String,
}

/// What the machine is, as far as we need to know.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Machine {
    /// PCI host bridge present (q35, i440fx, cloud VMs).
    Pci { q35: bool },
    /// No PCI: microvm with virtio-mmio.
    Microvm,
}

pub fn discover() -> (Machine, Vec<Found>) {
    let mut found = Vec::new();
    let cam = PortCam;
    let host = cam.read_word(DeviceFunction { bus: 0, device: 0, function: 0 }, 0);
    let machine =
        if host != 0xffff_ffff && host != 0 { Machine::Pci { q35: host == 0x29c0_8086 } } else { Machine::Microvm };
    if let Machine::Pci { .. } = machine {
        let mut root = PciRoot::new(PortCam);
        // Bus 0 holds every device QEMU's default topologies create.
        let devs: Vec<_> = root.enumerate_bus(0).collect();
        for (df, info) in devs {
            let Some(kind) = virtio_device_type(&info) else { continue };
            root.set_command(df, Command::IO_SPACE | Command::MEMORY_SPACE | Command::BUS_MASTER);
            match PciTransport::new::<KernelHal, _>(&mut root, df) {
                Ok(t) => found.push(Found {
                    transport: t.into(),
                    kind,
                    location: alloc::format!("pci {:02x}:{:02x}.{}", df.bus, df.device, df.function),
                }),
                Err(e) => log::warn!("virtio: pci {:02x}.{}: {e:?}", df.device, df.function),
            }
        }
    } else {
        for n in 0..32usize {
            let base = 0xfeb0_0000usize + n * 0x200;
            let magic = unsafe { core::ptr::read_volatile(base as *const u32) };
            let dev_id = unsafe { core::ptr::read_volatile((base + 8) as *const u32) };
            if magic != 0x7472_6976 || dev_id == 0 {
                continue;
            }
            let hdr = NonNull::new(base as *mut VirtIOHeader).unwrap();
            match unsafe { MmioTransport::new(hdr, 0x200) } {
                Ok(t) => {
                    let kind = t.device_type();
                    found.push(Found { transport: t.into(), kind, location: alloc::format!("mmio {base:#x}") })
                }
                Err(e) => log::warn!("virtio: mmio {base:#x}: {e:?}"),
            }
        }
    }
    (machine, found)
}
