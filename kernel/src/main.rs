//! unimail kernel: boots, brings up the platform, wires config -> disks ->
//! store -> services, and runs the poll loop.
#![no_std]
#![no_main]

extern crate alloc;

mod app;
mod authcheck;
mod bench;
mod boot;
mod config;
mod filter;
mod imap;
mod interrupts;
mod link;
mod logger;
mod managesieve;
mod mem;
mod metrics;
mod nic;
mod outbound;
mod paging;
mod power;
mod rand;
mod screen;
mod serial;
mod smtp;
mod storage;
mod time;
mod tls;
mod virtio;

use core::panic::PanicInfo;

/// Prints the `fatal:` line the scripts look for and exits QEMU non-zero.
pub fn fatal(args: core::fmt::Arguments) -> ! {
    logger::raw_line(format_args!("fatal: {}", args));
    power::exit_failure(1)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    // One line, so scripts see the whole message after `fatal:`.
    match info.location() {
        Some(l) => logger::raw_line(format_args!("fatal: panic at {}:{}: {}", l.file(), l.line(), info.message())),
        None => logger::raw_line(format_args!("fatal: panic: {}", info.message())),
    }
    power::exit_failure(2)
}

#[no_mangle]
pub extern "C" fn kmain(kind: u32, info: u32) -> ! {
    time::init_early();
    serial::Serial::init();
    logger::init(log::LevelFilter::Info);
    let bi = match mem::boot_info(kind, info) {
        Ok(bi) => bi,
        Err(e) => fatal(format_args!("boot: {e}")),
    };
    let heap = match mem::init_heap(&bi) {
        Ok(h) => h,
        Err(e) => fatal(format_args!("memory: {e}")),
    };
    let cfg = match bootcfg::parse(&bi.cmdline) {
        Ok(c) => c,
        Err(e) => fatal(format_args!("{e}")),
    };
    logger::init(match cfg.log {
        bootcfg::LogLevel::Error => log::LevelFilter::Error,
        bootcfg::LogLevel::Warn => log::LevelFilter::Warn,
        bootcfg::LogLevel::Info => log::LevelFilter::Info,
        bootcfg::LogLevel::Debug => log::LevelFilter::Debug,
        bootcfg::LogLevel::Trace => log::LevelFilter::Trace,
    });
    if cfg.diag.iter().any(|d| d == "panic") {
        // The test suite checks that a panic logs and exits non-zero.
        panic!("diag=panic asked for a panic");
    }
    let mhz = time::calibrate();
    let now = time::read_rtc();
    interrupts::init();
    log::info!("unimail kernel, booted by {}", bi.loader);
    log::info!("time: TSC {mhz} MHz, RTC unix time {now}");
    log::info!("heap: {} MiB at {:#x}", heap.1 >> 20, heap.0);
    log::info!("command line: {}", cfg);
    for w in &cfg.ignored {
        log::info!("command line: ignored `{w}`");
    }
    let (machine, devices) = virtio::discover();
    if machine == (virtio::Machine::Pci { q35: true }) {
        power::set_acpi_pm1a_cnt(0x604);
    }
    log::info!("platform: {machine:?}, {} virtio devices", devices.len());
    let mut rng_bytes = alloc::vec::Vec::new();
    let mut nets = alloc::vec::Vec::new();
    let mut blks = alloc::vec::Vec::new();
    for d in devices {
        log::info!("virtio: {:?} at {}", d.kind, d.location);
        match d.kind {
            virtio_drivers::transport::DeviceType::EntropySource => {
                match virtio_drivers::device::rng::VirtIORng::<virtio::KernelHal, _>::new(d.transport) {
                    Ok(mut r) => {
                        let mut buf = [0u8; 64];
                        if let Ok(n) = r.request_entropy(&mut buf) {
                            rng_bytes.extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(e) => log::warn!("virtio-rng: {e:?}"),
                }
            }
            virtio_drivers::transport::DeviceType::Network => nets.push(d.transport),
            virtio_drivers::transport::DeviceType::Block => blks.push(d.transport),
            _ => {}
        }
    }
    match rand::seed(&rng_bytes) {
        Ok(src) => log::info!("entropy: {src}"),
        Err(e) => fatal(format_args!("{e}")),
    }
    let Some(nic) = nets.pop() else { fatal(format_args!("no virtio-net device")) };
    let phy = match nic::VirtioPhy::new(nic) {
        Ok(p) => p,
        Err(e) => fatal(format_args!("virtio-net: {e:?}")),
    };
    let mut vblks = alloc::vec::Vec::new();
    for t in blks {
        match storage::VirtioBlock::new(t) {
            Ok(b) => {
                log::info!(
                    "disk: `{}` {} MiB{}",
                    b.serial,
                    (disk::block::BlockDevice::capacity(&b) * 512) >> 20,
                    if b.readonly { " read-only" } else { "" }
                );
                vblks.push(b)
            }
            Err(e) => log::warn!("virtio-blk: {e:?}"),
        }
    }
    let disks = storage::sort(vblks);
    let mut mailfs = None;
    if let Some(m) = disks.mail {
        match disk::ext2::Ext2::mount(m) {
            Ok(fs) => mailfs = Some(fs),
            Err(e) => fatal(format_args!("mail disk: cannot mount: {e:?}")),
        }
    }
    if let Some(fs) = mailfs.as_mut() {
        if cfg.diag.iter().any(|d| d == "disk-write") {
            if let Err(e) = storage::diag_write(fs, rand::u64()) {
                fatal(format_args!("diag: disk-write: {e:?}"));
            }
        }
        if cfg.diag.iter().any(|d| d == "disk-read") {
            let _ = storage::diag_read(fs);
        }
    }
    let loaded = match config::load(disks.config) {
        Ok(l) => l,
        Err(e) => fatal(format_args!("{e}")),
    };
    log::info!(
        "config: {} ({}): hostname {}, {} domains, {} users, {} aliases",
        loaded.source,
        loaded.files.len(),
        loaded.config.hostname,
        loaded.config.domains.len(),
        loaded.config.users.len(),
        loaded.config.aliases.len()
    );
    if cfg.diag.iter().any(|d| d == "bench-dkim") {
        bench::dkim(&loaded);
    }
    let tls = match tls::server(&loaded) {
        Ok(t) => t,
        Err(e) => fatal(format_args!("{e}")),
    };
    let app = match app::App::new(phy, &cfg, tls, loaded.config, mailfs.take(), &loaded.files) {
        Ok(a) => a,
        Err(e) => fatal(format_args!("{e}")),
    };
    log::info!("boot took {} us", time::micros_since_boot());
    logger::raw_line(format_args!("ready: {}", app.ready_line()));
    if cfg.diag.iter().any(|d| d == "poweroff") {
        if let Some(fs) = mailfs.as_mut() {
            if let Err(e) = fs.flush() {
                fatal(format_args!("mail disk: flush: {e:?}"));
            }
        }
        power::poweroff();
    }
    app.run()
}
