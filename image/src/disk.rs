//! Disk images: the bootable GRUB disk, the config disk and the mail disk.

use crate::Args;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const SECTOR: u64 = 512;
/// BIOS boot partition (holds GRUB's i386-pc core.img): LBA 2048, 1 MiB.
const BIOS_START: u64 = 2048;
const BIOS_SECTORS: u64 = 2048;
/// EFI system partition: from LBA 4096 to the end (less the backup GPT).
const ESP_START: u64 = 4096;
/// GRUB's boot.img: where the LBA of core.img's first sector lives
/// (GRUB_BOOT_MACHINE_KERNEL_SECTOR).
const BOOT_IMG_KERNEL_SECTOR: usize = 0x5c;
/// diskboot.img (core.img's first sector) ends with a blocklist
/// { start: u64, len: u16, segment: u16 } naming the rest of core.img.
const DISKBOOT_BLOCKLIST: usize = 0x200 - 12;

const GRUB_MODULES: &[&str] = &[
    "part_gpt",
    "part_msdos",
    "fat",
    "multiboot2",
    "normal",
    "configfile",
    "serial",
    "terminal",
    "echo",
    "test",
    "boot",
];

fn run(cmd: &mut Command) -> Result<(), String> {
    let name = cmd.get_program().to_string_lossy().to_string();
    let out = cmd.output().map_err(|e| format!("cannot run `{name}` ({e}); scripts/setup installs it"))?;
    if !out.status.success() {
        return Err(format!(
            "`{name}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn grub_lib(platform: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from("/usr/lib/grub").join(platform);
    if p.join("moddep.lst").exists() {
        Ok(p)
    } else {
        Err(format!("{} is missing: install grub-pc-bin and grub-efi-amd64-bin (scripts/setup)", p.display()))
    }
}

fn grub_cfg(cmdline: &str) -> String {
    format!(
        "# unimail boot menu. Edit the kernel command line here (mount the EFI\n\
         # system partition, or `mcopy` this file out and back).\n\
         serial --unit=0 --speed=115200\n\
         terminal_input serial console\n\
         terminal_output serial console\n\
         set timeout=0\n\
         menuentry \"unimail\" {{\n\
         \x20   multiboot2 /boot/unimail.elf {cmdline}\n\
         \x20   boot\n\
         }}\n"
    )
}

/// Builds the kernel ELF with cargo for the bare-metal target (which
/// `scripts/setup` installs) and prints its path.
pub fn build_kernel(a: &Args) -> Result<(), String> {
    let ws = match a.get("workspace") {
        Some(w) => PathBuf::from(w),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    if !ws.join("kernel").join("Cargo.toml").is_file() {
        return Err(format!("{}: not the unimail workspace (no kernel/Cargo.toml)", ws.display()));
    }
    run(Command::new("cargo").current_dir(&ws).args([
        "build",
        "--release",
        "-p",
        "kernel",
        "--target",
        "x86_64-unknown-none",
    ]))?;
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| ws.join("target"));
    let elf = target.join("x86_64-unknown-none").join("release").join("unimail-kernel");
    let size = fs::metadata(&elf).map_err(|e| format!("{}: {e}", elf.display()))?.len();
    println!("{}: kernel image, {size} bytes", elf.display());
    Ok(())
}

pub fn boot_disk(a: &Args) -> Result<(), String> {
    let kernel = a.need("kernel")?;
    let out = a.need("out")?;
    let size_mib = a.num("size-mib", 64)?;
    if size_mib < 8 {
        return Err("--size-mib must be at least 8".into());
    }
    let cmdline = a.get("cmdline").unwrap_or("");
    if cmdline.contains(['\n', '"', '\'']) {
        return Err("--cmdline must not contain quotes or newlines".into());
    }
    let k = fs::read(kernel).map_err(|e| format!("{kernel}: {e}"))?;
    if k.get(..4) != Some(b"\x7fELF") {
        return Err(format!("{kernel}: not an ELF file"));
    }
    let work = tempdir()?;
    let total = size_mib * 1024 * 1024 / SECTOR;

    // 1. GRUB images.
    let pc = grub_lib("i386-pc")?;
    let efi = grub_lib("x86_64-efi")?;
    let core = work.join("core.img");
    let mut mods: Vec<&str> = vec!["biosdisk"];
    mods.extend_from_slice(GRUB_MODULES);
    run(Command::new("grub-mkimage")
        .args(["-O", "i386-pc", "-d"])
        .arg(&pc)
        .args(["-p", "(hd0,gpt2)/boot/grub", "-o"])
        .arg(&core)
        .args(&mods))?;
    let bootx64 = work.join("BOOTX64.EFI");
    run(Command::new("grub-mkimage")
        .args(["-O", "x86_64-efi", "-d"])
        .arg(&efi)
        .args(["-p", "/boot/grub", "-o"])
        .arg(&bootx64)
        .args(GRUB_MODULES))?;

    // 2. The raw disk and its GPT.
    let tmp_out = PathBuf::from(format!("{out}.tmp"));
    {
        let f = File::create(&tmp_out).map_err(|e| format!("{out}: {e}"))?;
        f.set_len(total * SECTOR).map_err(|e| format!("{out}: {e}"))?;
    }
    let esp_sectors = total - ESP_START - 34;
    let layout = format!(
        "label: gpt\n\
         start={BIOS_START}, size={BIOS_SECTORS}, type=21686148-6449-6E6F-744E-656564454649, name=\"bios-boot\"\n\
         start={ESP_START}, size={esp_sectors}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"unimail-esp\"\n"
    );
    let mut sf = Command::new("sfdisk")
        .args(["--quiet", "--no-reread", "--no-tell-kernel"])
        .arg(&tmp_out)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run sfdisk ({e}); scripts/setup installs fdisk"))?;
    sf.stdin.take().unwrap().write_all(layout.as_bytes()).map_err(|e| e.to_string())?;
    let o = sf.wait_with_output().map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!("sfdisk failed: {}", String::from_utf8_lossy(&o.stderr)));
    }

    // 3. The EFI system partition: FAT with GRUB EFI, grub.cfg, the kernel.
    let esp = work.join("esp.img");
    File::create(&esp).and_then(|f| f.set_len(esp_sectors * SECTOR)).map_err(|e| e.to_string())?;
    run(Command::new("mformat").arg("-i").arg(&esp).args([
        "-v",
        "UNIMAIL",
        "-T",
        &esp_sectors.to_string(),
        "-h",
        "64",
        "-s",
        "32",
        "::",
    ]))?;
    for d in ["::/EFI", "::/EFI/BOOT", "::/boot", "::/boot/grub"] {
        run(Command::new("mmd").arg("-i").arg(&esp).arg(d))?;
    }
    let cfg = work.join("grub.cfg");
    fs::write(&cfg, grub_cfg(cmdline)).map_err(|e| e.to_string())?;
    run(Command::new("mcopy").arg("-i").arg(&esp).arg(&bootx64).arg("::/EFI/BOOT/BOOTX64.EFI"))?;
    run(Command::new("mcopy").arg("-i").arg(&esp).arg(&cfg).arg("::/boot/grub/grub.cfg"))?;
    run(Command::new("mcopy").arg("-i").arg(&esp).arg(kernel).arg("::/boot/unimail.elf"))?;

    // 4. Put the pieces at their LBAs.
    let mut disk = OpenOptions::new().read(true).write(true).open(&tmp_out).map_err(|e| e.to_string())?;
    let esp_bytes = fs::read(&esp).map_err(|e| e.to_string())?;
    write_at(&mut disk, ESP_START * SECTOR, &esp_bytes)?;

    let mut core_bytes = fs::read(&core).map_err(|e| e.to_string())?;
    let core_sectors = (core_bytes.len() as u64).div_ceil(SECTOR);
    if core_sectors > BIOS_SECTORS {
        return Err(format!("GRUB core.img is {core_sectors} sectors; the BIOS boot partition holds {BIOS_SECTORS}"));
    }
    core_bytes.resize((core_sectors * SECTOR) as usize, 0);
    // diskboot.img loads the remaining sectors from this blocklist.
    core_bytes[DISKBOOT_BLOCKLIST..DISKBOOT_BLOCKLIST + 8].copy_from_slice(&(BIOS_START + 1).to_le_bytes());
    core_bytes[DISKBOOT_BLOCKLIST + 8..DISKBOOT_BLOCKLIST + 10]
        .copy_from_slice(&((core_sectors - 1) as u16).to_le_bytes());
    write_at(&mut disk, BIOS_START * SECTOR, &core_bytes)?;

    let mut boot = fs::read(pc.join("boot.img")).map_err(|e| format!("boot.img: {e}"))?;
    if boot.len() != 512 {
        return Err("boot.img is not one sector".into());
    }
    boot[BOOT_IMG_KERNEL_SECTOR..BOOT_IMG_KERNEL_SECTOR + 8].copy_from_slice(&BIOS_START.to_le_bytes());
    // Keep the protective MBR's partition table and signature (bytes 440..).
    write_at(&mut disk, 0, &boot[..440])?;
    disk.sync_all().map_err(|e| e.to_string())?;
    drop(disk);
    fs::rename(&tmp_out, out).map_err(|e| e.to_string())?;
    let _ = fs::remove_dir_all(&work);
    println!("{out}: bootable disk, {size_mib} MiB (GPT: BIOS boot + EFI system partition; GRUB i386-pc and x86_64-efi; multiboot2 kernel)");
    println!("  kernel command line: {}", if cmdline.is_empty() { "(none)" } else { cmdline });
    println!("  for a cloud VM: qemu-img convert -f raw -O qcow2 {out} unimail.qcow2   (or -O vpc / vmdk)");
    Ok(())
}

fn write_at(f: &mut File, off: u64, data: &[u8]) -> Result<(), String> {
    f.seek(SeekFrom::Start(off)).map_err(|e| e.to_string())?;
    f.write_all(data).map_err(|e| e.to_string())
}

fn tempdir() -> Result<PathBuf, String> {
    let mut r = [0u8; 8];
    File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut r)).map_err(|e| e.to_string())?;
    let p = std::env::temp_dir().join(format!("unimail-{:016x}", u64::from_le_bytes(r)));
    fs::create_dir_all(&p).map_err(|e| e.to_string())?;
    Ok(p)
}

fn mke2fs(out: &str, size_mib: u64, block: u64, label: &str, dir: Option<&Path>) -> Result<(), String> {
    let mut c = Command::new("mke2fs");
    c.args(["-q", "-F", "-t", "ext2", "-b", &block.to_string(), "-L", label, "-m", "0"]);
    if let Some(d) = dir {
        c.arg("-d").arg(d);
    }
    c.arg(out).arg(format!("{size_mib}M"));
    run(&mut c)
}

pub fn config_disk(a: &Args) -> Result<(), String> {
    let dir = Path::new(a.need("dir")?);
    let out = a.need("out")?;
    if !dir.join("unimail.conf").is_file() {
        return Err(format!("{}: no unimail.conf in this directory", dir.display()));
    }
    let size = a.num("size-mib", 16)?;
    mke2fs(out, size, 1024, "unimail-config", Some(dir))?;
    println!("{out}: config disk from {} ({size} MiB ext2; attach read-only with serial=config)", dir.display());
    Ok(())
}

pub fn mail_disk(a: &Args) -> Result<(), String> {
    let out = a.need("out")?;
    let size = a.num("size-mib", 1024)?;
    let block = a.num("block-size", 4096)?;
    if ![1024, 2048, 4096].contains(&block) {
        return Err("--block-size must be 1024, 2048 or 4096".into());
    }
    mke2fs(out, size, block, "unimail-mail", None)?;
    println!("{out}: empty mail disk ({size} MiB ext2; attach with serial=mail)");
    Ok(())
}
