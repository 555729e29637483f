//! `unimail dmarc-report`: read DMARC aggregate reports (RFC 7489 7.2)
//! from files (XML, `.gz`, `.zip`, or saved messages) or from a user's
//! Maildir folder on a mail disk image, and summarise them with the same
//! code the image runs on mail for its `rua` address (`mail-dmarc-report`).
//!
//! Exit status: 0 when every input was read, 1 when any failed (each is
//! named on stderr; the others are still summarised), 2 on bad arguments.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::process::ExitCode;

use disk::{Ext2, FileDevice, FileSystem, MountOptions};
use mail_dmarc_report::{container, parse_report, reports_in_message, Error, Limits, Report, Summary};

use crate::config_cmds::Opts;
use crate::dnsclient::Client;

pub const COMMANDS: &[&str] = &["dmarc-report"];

pub const USAGE: &str = "  unimail dmarc-report FILE... [--resolver IP[:PORT]] [--json]
  unimail dmarc-report --maildir DISK.img --user USER@DOMAIN [--folder F] [--resolver IP[:PORT]] [--json]
    (FILE: report XML, .gz, .zip or a saved report message; --resolver adds the reverse name of failing sources)";

/// Larger files (and Maildir messages) are refused rather than read.
const MAX_FILE: u64 = 64 << 20;
/// Messages read from one Maildir folder.
const MAX_MESSAGES: usize = 100_000;

pub fn main(_cmd: &str, argv: &[String]) -> ExitCode {
    let o = match Opts::parse(argv).and_then(|o| o.known(&["maildir", "user", "folder", "resolver", "json"]).map(|_| o))
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("unimail dmarc-report: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("unimail dmarc-report: {e}");
            ExitCode::from(2)
        }
    }
}

/// One input's reports, or why it failed.
type Read1 = (String, Result<Vec<Report>, String>);

fn run(o: &Opts) -> Result<bool, String> {
    let limits = Limits::host();
    let mut inputs: Vec<Read1> = Vec::new();
    let mut skipped = 0usize;
    match (o.get("maildir"), o.pos.is_empty()) {
        (Some(img), true) => {
            let user = o.need("user")?;
            for (name, raw) in maildir_messages(img, user, o.get("folder"))? {
                match reports_in_message(&raw, &limits) {
                    Err(Error::NoReport) => skipped += 1,
                    r => inputs.push((name, r.map_err(|e| e.to_string()))),
                }
            }
        }
        (Some(_), false) => return Err("give FILEs or --maildir, not both".into()),
        (None, true) => return Err(format!("no input\n{USAGE}")),
        (None, false) => {
            if o.get("user").is_some() || o.get("folder").is_some() {
                return Err("--user and --folder go with --maildir".into());
            }
            for f in &o.pos {
                let r = read_limited(f).map_err(|e| e.to_string());
                inputs.push((f.clone(), r.and_then(|b| read_input(&b, &limits).map_err(|e| e.to_string()))));
            }
        }
    }
    let mut reports = Vec::new();
    let mut failed = 0;
    for (name, r) in inputs {
        match r {
            Ok(v) => reports.extend(v),
            Err(e) => {
                failed += 1;
                eprintln!("unimail dmarc-report: {name}: {e}");
            }
        }
    }
    let mut summary = Summary::from_reports(&reports);
    if let Some(server) = o.get("resolver") {
        let mut client = Client::new(server)?;
        let mut seen: BTreeMap<IpAddr, Option<String>> = BTreeMap::new();
        for row in summary.failing() {
            let name = seen.entry(row.source_ip).or_insert_with(|| client.reverse(row.source_ip)).clone();
            row.reverse = Some(name.unwrap_or_else(|| "(no PTR)".into()));
        }
    }
    if o.get("json").is_some() {
        println!("{}", summary.to_json());
    } else {
        print!("{}", summary.to_text());
        if skipped > 0 {
            println!("\n({skipped} messages in the folder carried no report)");
        }
    }
    Ok(failed == 0)
}

/// A report file: gzip/zip by magic, XML when it starts with `<`, else a
/// saved message carrying the report as an attachment.
fn read_input(b: &[u8], limits: &Limits) -> Result<Vec<Report>, Error> {
    let t = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let t = &t[t.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(t.len())..];
    if container::kind(b) != container::Kind::Plain || t.starts_with(b"<") || t.is_empty() {
        parse_report(b, limits).map(|r| vec![r])
    } else {
        reports_in_message(b, limits)
    }
}

fn read_limited(path: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(MAX_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other(format!("larger than {} MiB", MAX_FILE >> 20)));
    }
    Ok(buf)
}

/// The messages (name, bytes) of `new/` and `cur/` of the user's folder on
/// a mail disk: `/mail/DOMAIN/LOCAL/Maildir[/.FOLDER]`, as the kernel's
/// store lays it out (disk/src/maildir.rs). The image is opened read-only.
fn maildir_messages(img: &str, user: &str, folder: Option<&str>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let a = mail_config::Address::parse(user).map_err(|e| format!("--user: {e}"))?;
    let mut root = format!("/mail/{}/{}/Maildir", a.domain(), a.local());
    match folder {
        None | Some("INBOX") => {}
        Some(f) if f.is_empty() || f.contains('/') || f.starts_with('.') => {
            return Err(format!("--folder: `{f}` is not a folder name (use dots for levels: Reports.DMARC)"))
        }
        Some(f) => root = format!("{root}/.{f}"),
    }
    let dev = FileDevice::open_read_only(img).map_err(|e| format!("{img}: {e}"))?;
    let opts = MountOptions { read_only: true, ..MountOptions::default() };
    let mut fs = Ext2::mount_with(dev, opts).map_err(|e| format!("{img}: not a mail disk ({e:?})"))?;
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let dir = format!("{root}/{sub}");
        let mut names = Vec::new();
        let r = FileSystem::read_dir(&mut fs, &dir, &mut |e: disk::DirEntry<'_>| {
            if let Ok(n) = std::str::from_utf8(e.name) {
                if !n.starts_with('.') {
                    names.push(n.to_string());
                }
            }
            names.len() < MAX_MESSAGES
        });
        match r {
            Ok(()) => {}
            Err(disk::FsError::NotFound) => return Err(format!("{img}: no folder {root} ({user}'s mailbox)")),
            Err(e) => return Err(format!("{img}: {dir}: {e:?}")),
        }
        names.sort();
        for n in names {
            let p = format!("{dir}/{n}");
            let raw = fs.read_file(&p, MAX_FILE as usize).map_err(|e| format!("{img}: {p}: {e:?}"))?;
            out.push((format!("{img}:{p}"), raw));
        }
    }
    Ok(out)
}
