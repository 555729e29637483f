//! The kernel command line, parsed into typed boot and network facts.
//!
//! The command line carries only what must be known before the config disk
//! is read: addresses, gateways, resolvers, the host name and the log level
//! (DESIGN.md, "Configuration"). Everything else lives on the config disk.
//!
//! Syntax: whitespace-separated `key=value` words, for example
//! `ip=192.0.2.10/24 gw=192.0.2.1 ip6=2001:db8::10/64 gw6=2001:db8::1
//! dns=192.0.2.53 hostname=mx.example.org log=info`.
//!
//! A known key with a bad value is an error that names the word, so boot can
//! stop with a clear `fatal:` line. Unknown keys are kept (QEMU and boot
//! loaders append their own words, e.g. `virtio_mmio.device=`), and the
//! kernel logs them as ignored.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The most resolvers we keep; more is a configuration mistake.
pub const MAX_DNS: usize = 4;
/// RFC 1035 2.3.4: a name is at most 253 characters in text form.
pub const MAX_HOSTNAME: usize = 253;

/// An IPv4 address with its prefix length (`ip=192.0.2.10/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// An IPv6 address with its prefix length (`ip6=2001:db8::10/64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Cidr {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

/// Log verbosity, as `log=` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Everything the command line says, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootConfig {
    pub ip4: Option<Ipv4Cidr>,
    pub gw4: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Cidr>,
    pub gw6: Option<Ipv6Addr>,
    pub dns: Vec<IpAddr>,
    pub hostname: Option<String>,
    pub log: LogLevel,
    /// `diag=NAME[,NAME…]`: built-in diagnostics the test suite asks for
    /// (e.g. `resolve`, `disk-write`); the kernel documents each.
    pub diag: Vec<String>,
    /// `diag.resolve=TYPE:NAME[,TYPE:NAME…]`: queries the resolver
    /// diagnostic runs and logs.
    pub resolve: Vec<(String, String)>,
    /// Words we do not know, kept so the kernel can log them.
    pub ignored: Vec<String>,
}

impl Default for BootConfig {
    fn default() -> Self {
        BootConfig {
            ip4: None,
            gw4: None,
            ip6: None,
            gw6: None,
            dns: Vec::new(),
            hostname: None,
            log: LogLevel::Info,
            diag: Vec::new(),
            resolve: Vec::new(),
            ignored: Vec::new(),
        }
    }
}

/// Why a command line was refused; `Display` names the offending word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub word: String,
    pub problem: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernel command line: `{}`: {}", self.word, self.problem)
    }
}

fn err(word: &str, problem: &'static str) -> Error {
    Error { word: word.to_string(), problem }
}

fn parse_prefix(word: &str, s: &str, max: u8) -> Result<u8, Error> {
    let p: u8 = s.parse().map_err(|_| err(word, "prefix length is not a number"))?;
    if p > max {
        return Err(err(word, "prefix length too large"));
    }
    Ok(p)
}

/// RFC 1123 2.1 host names: letters, digits, hyphens, dots; labels 1-63.
fn valid_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_HOSTNAME {
        return false;
    }
    s.trim_end_matches('.').split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Parses a whole command line.
pub fn parse(cmdline: &str) -> Result<BootConfig, Error> {
    let mut cfg = BootConfig::default();
    for word in cmdline.split_ascii_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            cfg.ignored.push(word.to_string());
            continue;
        };
        match key {
            "ip" => {
                if cfg.ip4.is_some() {
                    return Err(err(word, "given twice"));
                }
                let (a, p) = value.split_once('/').ok_or_else(|| err(word, "expected ADDRESS/PREFIX"))?;
                let addr: Ipv4Addr = a.parse().map_err(|_| err(word, "not an IPv4 address"))?;
                if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() {
                    return Err(err(word, "not a usable host address"));
                }
                let prefix = parse_prefix(word, p, 32)?;
                cfg.ip4 = Some(Ipv4Cidr { addr, prefix });
            }
            "gw" => {
                cfg.gw4 = Some(value.parse().map_err(|_| err(word, "not an IPv4 address"))?);
            }
            "ip6" => {
                if cfg.ip6.is_some() {
                    return Err(err(word, "given twice"));
                }
                let (a, p) = value.split_once('/').ok_or_else(|| err(word, "expected ADDRESS/PREFIX"))?;
                let addr: Ipv6Addr = a.parse().map_err(|_| err(word, "not an IPv6 address"))?;
                if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
                    return Err(err(word, "not a usable host address"));
                }
                let prefix = parse_prefix(word, p, 128)?;
                cfg.ip6 = Some(Ipv6Cidr { addr, prefix });
            }
            "gw6" => {
                cfg.gw6 = Some(value.parse().map_err(|_| err(word, "not an IPv6 address"))?);
            }
            "dns" => {
                for part in value.split(',') {
                    let a: IpAddr = part.parse().map_err(|_| err(word, "not an IP address"))?;
                    if cfg.dns.len() >= MAX_DNS {
                        return Err(err(word, "too many DNS servers (at most 4)"));
                    }
                    cfg.dns.push(a);
                }
            }
            "hostname" => {
                if !valid_hostname(value) {
                    return Err(err(word, "not a valid host name"));
                }
                cfg.hostname = Some(value.trim_end_matches('.').to_ascii_lowercase());
            }
            "log" => {
                cfg.log = match value {
                    "error" => LogLevel::Error,
                    "warn" => LogLevel::Warn,
                    "info" => LogLevel::Info,
                    "debug" => LogLevel::Debug,
                    "trace" => LogLevel::Trace,
                    _ => return Err(err(word, "expected error, warn, info, debug or trace")),
                }
            }
            "diag" => {
                for d in value.split(',').filter(|d| !d.is_empty()) {
                    cfg.diag.push(d.to_string());
                }
            }
            "diag.resolve" => {
                for q in value.split(',').filter(|q| !q.is_empty()) {
                    let (t, n) = q.split_once(':').ok_or_else(|| err(word, "expected TYPE:NAME"))?;
                    cfg.resolve.push((t.to_ascii_uppercase(), n.to_string()));
                }
            }
            _ => cfg.ignored.push(word.to_string()),
        }
    }
    // A gateway must be reachable through the configured prefix.
    if let (Some(gw), Some(ip)) = (cfg.gw4, cfg.ip4) {
        let mask = if ip.prefix == 0 { 0 } else { u32::MAX << (32 - ip.prefix) };
        if u32::from(gw) & mask != u32::from(ip.addr) & mask {
            return Err(Error { word: alloc::format!("gw={gw}"), problem: "gateway is outside the ip= prefix" });
        }
    }
    if cfg.gw4.is_some() && cfg.ip4.is_none() {
        return Err(err("gw", "gw= given without ip="));
    }
    if cfg.gw6.is_some() && cfg.ip6.is_none() {
        return Err(err("gw6", "gw6= given without ip6="));
    }
    Ok(cfg)
}

impl fmt::Display for BootConfig {
    /// One line for the boot log, in the same syntax as the input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip) = self.ip4 {
            write!(f, "ip={}/{} ", ip.addr, ip.prefix)?;
        }
        if let Some(gw) = self.gw4 {
            write!(f, "gw={gw} ")?;
        }
        if let Some(ip) = self.ip6 {
            write!(f, "ip6={}/{} ", ip.addr, ip.prefix)?;
        }
        if let Some(gw) = self.gw6 {
            write!(f, "gw6={gw} ")?;
        }
        for (i, d) in self.dns.iter().enumerate() {
            write!(f, "{}{d}", if i == 0 { "dns=" } else { "," })?;
        }
        if !self.dns.is_empty() {
            f.write_str(" ")?;
        }
        if let Some(h) = &self.hostname {
            write!(f, "hostname={h} ")?;
        }
        write!(f, "log={}", self.log.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn full_line() {
        let c = parse("ip=192.0.2.10/24 gw=192.0.2.1 ip6=2001:db8::10/64 gw6=2001:db8::1 dns=192.0.2.53,2001:db8::53 hostname=MX.Example.org. log=debug").unwrap();
        assert_eq!(c.ip4, Some(Ipv4Cidr { addr: Ipv4Addr::new(192, 0, 2, 10), prefix: 24 }));
        assert_eq!(c.gw4, Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(c.ip6.unwrap().prefix, 64);
        assert_eq!(c.dns.len(), 2);
        assert_eq!(c.hostname.as_deref(), Some("mx.example.org"));
        assert_eq!(c.log, LogLevel::Debug);
        assert_eq!(
            format!("{c}"),
            "ip=192.0.2.10/24 gw=192.0.2.1 ip6=2001:db8::10/64 gw6=2001:db8::1 dns=192.0.2.53,2001:db8::53 hostname=mx.example.org log=debug"
        );
    }

    #[test]
    fn empty_is_default() {
        assert_eq!(parse("").unwrap(), BootConfig::default());
        assert_eq!(parse("   ").unwrap().log, LogLevel::Info);
    }

    #[test]
    fn unknown_words_are_kept() {
        let c = parse("console=ttyS0 virtio_mmio.device=512@0xfeb00000:12 quiet").unwrap();
        assert_eq!(c.ignored, ["console=ttyS0", "virtio_mmio.device=512@0xfeb00000:12", "quiet"]);
    }

    #[test]
    fn bad_values_name_the_word() {
        for (line, word) in [
            ("ip=192.0.2.300/24", "ip=192.0.2.300/24"),
            ("ip=192.0.2.10", "ip=192.0.2.10"),
            ("ip=192.0.2.10/33", "ip=192.0.2.10/33"),
            ("ip=192.0.2.10/x", "ip=192.0.2.10/x"),
            ("ip=0.0.0.0/0", "ip=0.0.0.0/0"),
            ("ip6=2001:db8::g/64", "ip6=2001:db8::g/64"),
            ("ip6=2001:db8::1/129", "ip6=2001:db8::1/129"),
            ("ip6=ff02::1/64", "ip6=ff02::1/64"),
            ("gw=1.2.3", "gw=1.2.3"),
            ("dns=1.2.3.4,nope", "dns=1.2.3.4,nope"),
            ("hostname=bad_name", "hostname=bad_name"),
            ("hostname=-a.b", "hostname=-a.b"),
            ("log=loud", "log=loud"),
            ("ip=1.2.3.4/24 ip=1.2.3.5/24", "ip=1.2.3.5/24"),
            ("diag.resolve=example.org", "diag.resolve=example.org"),
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e.word, word, "{line}");
            assert!(format!("{e}").contains(word));
        }
    }

    #[test]
    fn gateway_outside_prefix() {
        let e = parse("ip=192.0.2.10/24 gw=198.51.100.1").unwrap_err();
        assert_eq!(e.problem, "gateway is outside the ip= prefix");
        assert!(parse("gw=192.0.2.1").is_err());
        assert!(parse("gw6=2001:db8::1").is_err());
        assert!(parse("ip=10.0.0.5/8 gw=10.200.0.1").is_ok());
    }

    #[test]
    fn too_many_dns() {
        assert!(parse("dns=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4").is_ok());
        assert!(parse("dns=1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5").is_err());
    }

    #[test]
    fn diagnostics() {
        let c = parse("diag=resolve,disk-write diag.resolve=mx:example.test,TXT:example.test").unwrap();
        assert_eq!(c.diag, ["resolve", "disk-write"]);
        assert_eq!(c.resolve, [("MX".into(), "example.test".into()), ("TXT".into(), "example.test".into())]);
    }

    #[test]
    fn long_hostname_rejected() {
        let long = "a".repeat(64);
        assert!(parse(&format!("hostname={long}.org")).is_err());
        let many = ["abcdefghi"; 30].join(".");
        assert!(parse(&format!("hostname={many}")).is_err());
    }
}
