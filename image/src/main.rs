//! `unimail`: the host tool that builds what the appliance boots from.
//!
//! Subcommands (each prints what it wrote):
//! * `disk`        a bootable raw disk: GPT with a BIOS boot partition (GRUB
//!                 i386-pc core) and an EFI system partition (GRUB x86_64-efi,
//!                 grub.cfg, the kernel). Boots under SeaBIOS and OVMF; convert
//!                 with `qemu-img convert -O qcow2|vpc|vmdk` for a cloud.
//! * `config-disk` an ext2 image holding a config directory (read-only disk).
//! * `mail-disk`   an empty ext2 mail disk.
//!
//! Everything is built with Debian's tools (grub-mkimage, sfdisk, mtools,
//! mke2fs) as an unprivileged file operation: no loop devices, no root.

mod authn_cmds;
mod config_cmds;
mod disk;
mod dmarc_cmds;
mod dnsclient;
mod dnsverify;
mod rotate;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage:
  unimail kernel [--workspace DIR]      build the kernel image (cargo, x86_64-unknown-none)
  unimail disk --kernel ELF --out IMG [--cmdline \"ip=… gw=…\"] [--size-mib 64]
  unimail config-disk --dir DIR --out IMG [--size-mib 16]
  unimail mail-disk --out IMG [--size-mib 1024] [--block-size 4096]
{}
{}
{}",
        config_cmds::USAGE,
        dmarc_cmds::USAGE,
        authn_cmds::USAGE
    );
    ExitCode::from(2)
}

/// `--key value` pairs after the subcommand.
pub struct Args(Vec<(String, String)>);

impl Args {
    fn parse(v: &[String]) -> Result<Args, String> {
        let mut out = Vec::new();
        let mut it = v.iter();
        while let Some(k) = it.next() {
            let Some(name) = k.strip_prefix("--") else { return Err(format!("unexpected argument `{k}`")) };
            let val = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            out.push((name.to_string(), val.clone()));
        }
        Ok(Args(out))
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub fn need(&self, k: &str) -> Result<&str, String> {
        self.get(k).ok_or_else(|| format!("missing --{k}"))
    }
    pub fn num(&self, k: &str, default: u64) -> Result<u64, String> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{k}: `{v}` is not a number")),
        }
    }
    fn check_known(&self, known: &[&str]) -> Result<(), String> {
        for (k, _) in &self.0 {
            if !known.contains(&k.as_str()) {
                return Err(format!("unknown option --{k}"));
            }
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else { return usage() };
    if config_cmds::COMMANDS.contains(&cmd.as_str()) {
        return config_cmds::main(cmd, &argv[1..]); // these take a positional DIR
    }
    if dmarc_cmds::COMMANDS.contains(&cmd.as_str()) {
        return dmarc_cmds::main(cmd, &argv[1..]);
    }
    if authn_cmds::COMMANDS.contains(&cmd.as_str()) {
        return authn_cmds::main(cmd, &argv[1..]); // these take a positional MESSAGE
    }
    let args = match Args::parse(&argv[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("unimail: {e}");
            return usage();
        }
    };
    let r = match cmd.as_str() {
        "kernel" => args.check_known(&["workspace"]).and_then(|_| disk::build_kernel(&args)),
        "disk" => args.check_known(&["kernel", "out", "cmdline", "size-mib"]).and_then(|_| disk::boot_disk(&args)),
        "config-disk" => args.check_known(&["dir", "out", "size-mib"]).and_then(|_| disk::config_disk(&args)),
        "mail-disk" => args.check_known(&["out", "size-mib", "block-size"]).and_then(|_| disk::mail_disk(&args)),
        "-h" | "--help" | "help" => return usage(),
        _ => {
            eprintln!("unimail: unknown command `{cmd}`");
            return usage();
        }
    };
    exit_status(cmd, r)
}

/// Exit 0, or print `unimail CMD: error` and exit 1.
pub fn exit_status(cmd: &str, r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unimail {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}
