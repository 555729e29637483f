//! Sender-authentication commands for users debugging their DNS and mail
//! (issue 5 item 5), over the sans-IO `mail-authn` crate:
//!
//! * `spf`          RFC 7208 check_host() for an IP and MAIL FROM.
//! * `dkim-verify`  RFC 6376 verification of every DKIM-Signature.
//! * `dkim-sign`    sign a message the way the appliance signs outbound mail.
//! * `dmarc`        SPF + DKIM + RFC 7489 DMARC, with the RFC 8601
//!   Authentication-Results field the appliance would add.
//!
//! DNS is answered from a zone file (see [`zone`]), never from the network,
//! so a setup can be tried before it is published. `mail-authn` only asks
//! questions ([`DnsQuery`]) and is fed answers; CNAMEs are followed here, as
//! the crate expects of its caller.
//!
//! Exit status: 0 when the check ran (whatever its result), 1 when it could
//! not (unreadable file, zone syntax error, bad argument).

use std::fs;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use mail_authn::auth_results::AuthResults;
use mail_authn::dkim::{self, DkimStep, Signer, SigningKey};
use mail_authn::dmarc::{self, DmarcStep};
use mail_authn::dns::{DnsAnswer, DnsQuery, DnsRecord, DnsType};
use mail_authn::spf::{self, SpfOutcome, SpfStep};

/// The subcommands handled here.
pub const COMMANDS: &[&str] = &["spf", "dkim-verify", "dkim-sign", "dmarc"];

/// Usage lines for `unimail --help`.
pub const USAGE: &str = "  unimail spf --zone FILE --ip IP --mail-from ADDR [--helo NAME] [--receiver NAME] [-v]
  unimail dkim-verify --zone FILE [-v] MESSAGE
  unimail dkim-sign --key PEM --domain D --selector S MESSAGE
  unimail dmarc --zone FILE --ip IP --mail-from ADDR [--helo NAME] [--receiver NAME] [-v] MESSAGE
    (--zone may be repeated; MESSAGE may be `-` for stdin; -v traces DNS questions on stderr)";

/// Larger messages and zone files are refused rather than read.
const MAX_FILE: u64 = 64 << 20;

/// Run `cmd` with the arguments after it; prints its own errors.
pub fn main(cmd: &str, argv: &[String]) -> ExitCode {
    let r = Opts::parse(argv).and_then(|o| match cmd {
        "spf" => o.known(&["zone", "ip", "mail-from", "helo", "receiver"], 0).and_then(|_| spf_cmd(&o)),
        "dkim-verify" => o.known(&["zone"], 1).and_then(|_| dkim_verify_cmd(&o)),
        "dkim-sign" => o.known(&["key", "domain", "selector"], 1).and_then(|_| dkim_sign_cmd(&o)),
        "dmarc" => o.known(&["zone", "ip", "mail-from", "helo", "receiver"], 1).and_then(|_| dmarc_cmd(&o)),
        _ => Err(format!("unknown command `{cmd}`")),
    });
    crate::exit_status(cmd, r)
}

// ------------------------------------------------------------- arguments

/// Positional arguments, `--key value` options and the `-v` flag.
struct Opts {
    pos: Vec<String>,
    opts: Vec<(String, String)>,
    verbose: bool,
}

impl Opts {
    fn parse(v: &[String]) -> Result<Opts, String> {
        let (mut pos, mut opts, mut verbose) = (Vec::new(), Vec::new(), false);
        let mut it = v.iter();
        while let Some(a) = it.next() {
            if a == "-v" || a == "--verbose" {
                verbose = true;
            } else if let Some(name) = a.strip_prefix("--") {
                let val = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                opts.push((name.to_string(), val.clone()));
            } else {
                pos.push(a.clone());
            }
        }
        Ok(Opts { pos, opts, verbose })
    }
    /// Only these options, and exactly `npos` positional arguments.
    fn known(&self, known: &[&str], npos: usize) -> Result<(), String> {
        if let Some((k, _)) = self.opts.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(format!("unknown option --{k}"));
        }
        match (npos, self.pos.len()) {
            (a, b) if a == b => Ok(()),
            (0, _) => Err(format!("unexpected argument `{}`", self.pos[0])),
            (_, 0) => Err("missing MESSAGE (a file, or - for stdin)".into()),
            _ => Err(format!("unexpected argument `{}`", self.pos[npos])),
        }
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.opts.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn need(&self, k: &str) -> Result<&str, String> {
        self.get(k).ok_or_else(|| format!("missing --{k}"))
    }
    fn zone(&self) -> Result<zone::Zone, String> {
        let files: Vec<&str> = self.opts.iter().filter(|(k, _)| k == "zone").map(|(_, v)| v.as_str()).collect();
        if files.is_empty() {
            return Err("missing --zone FILE".into());
        }
        let mut z = zone::Zone::default();
        for f in files {
            let text = read_limited(f)?;
            let text = String::from_utf8(text).map_err(|_| format!("{f}: not UTF-8 text"))?;
            z.load(f, &text)?;
        }
        Ok(z)
    }
    fn message(&self) -> Result<Vec<u8>, String> {
        read_limited(&self.pos[0])
    }
}

/// A file (or stdin for `-`), refused above [`MAX_FILE`] bytes.
fn read_limited(path: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let r = if path == "-" {
        std::io::stdin().lock().take(MAX_FILE + 1).read_to_end(&mut buf)
    } else {
        fs::File::open(path).and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut buf))
    };
    r.map_err(|e| format!("cannot read {path}: {e}"))?;
    if buf.len() as u64 > MAX_FILE {
        return Err(format!("{path}: larger than {} MiB", MAX_FILE >> 20));
    }
    Ok(buf)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The envelope: client IP, MAIL FROM (empty for the null reverse-path
/// `<>`), and HELO name.
struct Envelope {
    ip: IpAddr,
    mail_from: String,
    helo: String,
    receiver: String,
}

impl Envelope {
    fn from_opts(o: &Opts) -> Result<Envelope, String> {
        let ip_s = o.need("ip")?;
        let ip: IpAddr = ip_s.parse().map_err(|_| format!("--ip: `{ip_s}` is not an IPv4 or IPv6 address"))?;
        let mf = o.need("mail-from")?.trim();
        let mail_from = mf.strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or(mf).to_string();
        if !mail_from.is_empty() && !mail_from.contains('@') {
            return Err(format!("--mail-from: `{mf}` is not an address (use <> for the null sender)"));
        }
        // Without --helo, use the MAIL FROM domain (it only feeds the %{h}
        // macro and the Received-SPF helo= then).
        let helo = match (o.get("helo"), mail_from.rsplit_once('@')) {
            (Some(h), _) => h.trim_end_matches('.').to_string(),
            (None, Some((_, d))) => d.to_string(),
            (None, None) => {
                return Err("--mail-from <> (null sender) needs --helo NAME: SPF then checks the HELO name".into())
            }
        };
        let receiver = o.get("receiver").unwrap_or("unimail").to_string();
        Ok(Envelope { ip, mail_from, helo, receiver })
    }
}

// ------------------------------------------------------------- DNS loops

/// Answer one question from the zone, tracing it with `-v`.
fn ask(z: &zone::Zone, q: &DnsQuery, verbose: bool) -> DnsAnswer {
    let a = z.resolve(q);
    if verbose {
        eprintln!("dns: {} {} -> {}", qtype_name(q.qtype), q.name, describe(&a));
    }
    a
}

fn qtype_name(t: DnsType) -> &'static str {
    match t {
        DnsType::A => "A",
        DnsType::Aaaa => "AAAA",
        DnsType::Mx => "MX",
        DnsType::Txt => "TXT",
        DnsType::Ptr => "PTR",
    }
}

fn describe(a: &DnsAnswer) -> String {
    match a {
        DnsAnswer::NoData => "NODATA".into(),
        DnsAnswer::NxDomain => "NXDOMAIN".into(),
        DnsAnswer::TempFail => "SERVFAIL (CNAME chain too long or looping)".into(),
        DnsAnswer::Records(rs) => rs
            .iter()
            .map(|r| match r {
                DnsRecord::A(a) => a.to_string(),
                DnsRecord::Aaaa(a) => a.to_string(),
                DnsRecord::Mx(p, n) => format!("{p} {n}"),
                DnsRecord::Txt(t) => format!("\"{}\"", String::from_utf8_lossy(t)),
                DnsRecord::Ptr(n) => n.clone(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn run_spf(z: &zone::Zone, e: &Envelope, verbose: bool) -> SpfOutcome {
    let mut s = spf::check_mail_from(e.ip, &e.mail_from, &e.helo);
    s.set_receiver(&e.receiver);
    s.set_timestamp(now());
    loop {
        match s.poll() {
            SpfStep::Query(q) => s.answer(ask(z, &q, verbose)),
            SpfStep::Done(o) => return o,
        }
    }
}

fn run_dkim(z: &zone::Zone, msg: &[u8], verbose: bool) -> Vec<dkim::DkimResult> {
    let mut s = dkim::verify(msg, now());
    loop {
        match s.poll() {
            DkimStep::Query(q) => s.answer(ask(z, &q, verbose)),
            DkimStep::Done(rs) => return rs,
        }
    }
}

/// A header field from mail-authn (CRLF-folded, CRLF-terminated) as printed
/// on a terminal.
fn show(field: &str) -> String {
    field.trim_end().replace("\r\n", "\n")
}

// ------------------------------------------------------------- commands

fn spf_cmd(o: &Opts) -> Result<(), String> {
    let z = o.zone()?;
    let e = Envelope::from_opts(o)?;
    let out = run_spf(&z, &e, o.verbose);
    println!("spf: {}", out.result);
    println!("domain: {}", out.domain);
    if let Some(x) = &out.explanation {
        println!("explanation: {x}");
    }
    if let Some(p) = out.problem {
        println!("problem: {p}");
    }
    println!("{}", show(&out.received_spf(e.ip, &e.mail_from, &e.helo, &e.receiver)));
    Ok(())
}

fn dkim_verify_cmd(o: &Opts) -> Result<(), String> {
    let z = o.zone()?;
    let msg = o.message()?;
    let rs = run_dkim(&z, &msg, o.verbose);
    if rs.is_empty() {
        println!("none: no DKIM-Signature field");
    }
    for r in &rs {
        let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        let mut line = format!(
            "{} d={} s={} a={}",
            r.status.as_str(),
            dash(&r.domain),
            dash(&r.selector),
            r.algorithm.map(|a| a.as_str()).unwrap_or("-")
        );
        if r.testing {
            line.push_str(" (testing, t=y)");
        }
        if let Some(why) = r.reason {
            line.push_str(&format!(" reason: {why}"));
        }
        println!("{line}");
    }
    Ok(())
}

fn dkim_sign_cmd(o: &Opts) -> Result<(), String> {
    let key_path = o.need("key")?;
    let domain = o.need("domain")?.trim_end_matches('.');
    let selector = o.need("selector")?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|l| {
                !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    if !valid(domain) {
        return Err(format!("--domain: `{domain}` is not a domain name"));
    }
    if !valid(selector) {
        return Err(format!("--selector: `{selector}` is not a valid selector (RFC 6376 3.1)"));
    }
    let pem = read_limited(key_path)?;
    let pem = String::from_utf8(pem).map_err(|_| format!("{key_path}: not a PEM file"))?;
    let key = SigningKey::from_pem(&pem)
        .map_err(|_| format!("{key_path}: not an RSA (PKCS#1/PKCS#8) or Ed25519 (PKCS#8) private key in PEM"))?;
    if let SigningKey::Rsa(k) = &key {
        use rsa::traits::PublicKeyParts;
        let bits = k.size() * 8;
        if bits < 1024 {
            return Err(format!(
                "{key_path}: RSA key of {bits} bits; verifiers reject keys under 1024 bits (RFC 8301 3.2), use 2048"
            ));
        }
    }
    let msg = o.message()?;
    let mut signer = Signer::new();
    signer.add_key(domain, selector, key);
    let fields = signer.sign(&msg, now()).map_err(|e| format!("cannot sign: {e:?}"))?;
    // Keep the message's own line endings: a file with bare LF stays that
    // way (verifiers read bare LF as CRLF, as SMTP would carry it).
    let bare_lf = !msg.contains(&b'\r');
    let mut out = Vec::with_capacity(msg.len() + 1024);
    for f in &fields {
        if bare_lf {
            out.extend_from_slice(f.replace("\r\n", "\n").as_bytes());
        } else {
            out.extend_from_slice(f.as_bytes());
        }
    }
    out.extend_from_slice(&msg);
    std::io::stdout().lock().write_all(&out).map_err(|e| format!("cannot write: {e}"))
}

fn dmarc_cmd(o: &Opts) -> Result<(), String> {
    let z = o.zone()?;
    let e = Envelope::from_opts(o)?;
    let msg = o.message()?;
    let spf_out = run_spf(&z, &e, o.verbose);
    let dkim_out = run_dkim(&z, &msg, o.verbose);
    let from = match dmarc::from_domain(&msg) {
        Ok(d) => d,
        Err(err) => {
            eprintln!("unimail dmarc: no usable RFC5322.From domain ({err:?}): DMARC cannot be evaluated");
            String::new()
        }
    };
    // random = 0: pct= sampling always selects the message, so the
    // published policy is shown as applied in full.
    let inputs =
        dmarc::Inputs { from_domain: &from, spf: Some((spf_out.result, &spf_out.domain)), dkim: &dkim_out, random: 0 };
    let mut s = dmarc::evaluate(&inputs);
    let d = loop {
        match s.poll() {
            DmarcStep::Query(q) => s.answer(ask(&z, &q, o.verbose)),
            DmarcStep::Done(d) => break d,
        }
    };
    let mut ar = AuthResults::new(&e.receiver);
    ar.spf(&spf_out, &e.mail_from, &e.helo).dkim(&dkim_out).dmarc(&d);
    println!("{}", show(&ar.to_header()));
    println!("dmarc: {}", d.result.as_str());
    let yn = |b: bool| if b { "yes" } else { "no" };
    println!(
        "from: {}  org: {}  spf aligned: {}  dkim aligned: {}",
        if d.from_domain.is_empty() { "-" } else { &d.from_domain },
        if d.org_domain.is_empty() { "-" } else { &d.org_domain },
        yn(d.spf_aligned),
        yn(d.dkim_aligned)
    );
    match (&d.record_domain, d.policy) {
        (Some(rd), Some(p)) => println!("policy: {} (record at _dmarc.{rd})", p.as_str()),
        (Some(rd), None) => println!("policy: - (record at _dmarc.{rd})"),
        _ => println!("policy: - (no DMARC record)"),
    }
    println!("disposition: {}", d.disposition.as_str());
    Ok(())
}

// ------------------------------------------------------------- zone files

/// A practical subset of the RFC 1035 5 master-file format, enough to
/// describe the records SPF, DKIM and DMARC look at:
///
/// * `$ORIGIN name`, `$TTL ttl` (`$INCLUDE` is refused);
/// * owner names absolute (`a.example.`), relative to `$ORIGIN`, `@`, or
///   omitted (a line starting with a blank reuses the previous owner);
/// * an optional TTL (`3600`, `1h30m`) and class `IN`, in either order;
/// * A, AAAA, MX, TXT (one or more character-strings, quoted or not, with
///   `\"`, `\\` and `\DDD` escapes), PTR and CNAME. NS, SOA, SRV, TLSA, CAA
///   and a few more are accepted and ignored (their name then exists);
/// * `;` comments, and `( … )` spanning lines;
/// * wildcards `*.name` (RFC 4592: used only for names that do not exist).
///
/// Errors read `FILE:LINE: problem`. Answers: a name that is neither an
/// owner nor an ancestor of one is NXDOMAIN; an existing name without the
/// asked type is NODATA; CNAMEs are followed up to [`MAX_CNAME_CHAIN`]
/// links (RFC 1034 3.6.2).
pub mod zone {
    use std::collections::{HashMap, HashSet};
    use std::net::{Ipv4Addr, Ipv6Addr};

    use mail_authn::dns::{DnsAnswer, DnsQuery, DnsRecord, DnsType};

    /// Longer chains (or loops) answer SERVFAIL, as a resolver would.
    pub const MAX_CNAME_CHAIN: usize = 8;
    /// RFC 1035 3.3: a <character-string> is at most 255 bytes.
    const MAX_CHARSTRING: usize = 255;
    /// Records beyond this many are refused (bounded memory).
    const MAX_RECORDS: usize = 100_000;

    /// Types accepted for completeness (a zone copied from a real server)
    /// but never asked for by the checks.
    const IGNORED: &[&str] = &[
        "NS", "SOA", "SRV", "TLSA", "CAA", "SPF", "DS", "DNSKEY", "RRSIG", "NSEC", "HINFO", "NAPTR", "SSHFP", "HTTPS",
        "SVCB", "LOC", "RP", "URI",
    ];

    #[derive(Default, Debug)]
    struct Node {
        records: Vec<(DnsType, DnsRecord)>,
        /// Target and the line it was declared on.
        cname: Option<(String, usize)>,
        /// Line of the first non-CNAME record (for conflict reports).
        other_line: Option<usize>,
    }

    /// The loaded zone data (one or several files).
    #[derive(Default, Debug)]
    pub struct Zone {
        nodes: HashMap<String, Node>,
        /// Owners and all their ancestors (RFC 4592 2.2.2: empty
        /// non-terminals exist and answer NODATA).
        exists: HashSet<String>,
        count: usize,
    }

    /// One token and the line it sits on.
    #[derive(Debug, Clone)]
    struct Tok {
        text: Vec<u8>,
        quoted: bool,
        /// A backslash escape was decoded (refused in names).
        escaped: bool,
        line: usize,
    }

    impl Tok {
        fn s(&self) -> String {
            String::from_utf8_lossy(&self.text).into_owned()
        }
    }

    /// A logical entry: one line, or several joined by parentheses.
    struct Entry {
        line: usize,
        /// Started with a blank: the owner is the previous entry's.
        blank_owner: bool,
        toks: Vec<Tok>,
    }

    /// RFC 1035 5.1: split into entries, dropping comments and joining
    /// parenthesised continuation lines.
    fn lex(file: &str, text: &str) -> Result<Vec<Entry>, String> {
        let err = |line: usize, m: String| format!("{file}:{line}: {m}");
        let mut entries = Vec::new();
        let mut cur: Option<Entry> = None;
        let mut depth = 0usize;
        let mut open_line = 0usize;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let b = raw.as_bytes();
            if depth == 0 {
                cur = Some(Entry { line, blank_owner: matches!(b.first(), Some(b' ' | b'\t')), toks: Vec::new() });
            }
            let e = cur.as_mut().expect("entry open");
            let mut p = 0;
            while p < b.len() {
                match b[p] {
                    b' ' | b'\t' | b'\r' => p += 1,
                    b';' => break,
                    b'(' => {
                        if depth == 0 {
                            open_line = line;
                        }
                        depth += 1;
                        p += 1;
                    }
                    b')' => {
                        if depth == 0 {
                            return Err(err(line, "')' without a matching '('".into()));
                        }
                        depth -= 1;
                        p += 1;
                    }
                    b'"' => {
                        p += 1;
                        let mut t = Tok { text: Vec::new(), quoted: true, escaped: false, line };
                        loop {
                            match b.get(p) {
                                None => {
                                    return Err(err(
                                        line,
                                        "unterminated quoted string (a closing \" is missing on this line)".into(),
                                    ))
                                }
                                Some(b'"') => {
                                    p += 1;
                                    break;
                                }
                                Some(b'\\') => {
                                    p = unescape(b, p, &mut t).map_err(|m| err(line, m))?;
                                }
                                Some(&c) => {
                                    t.text.push(c);
                                    p += 1;
                                }
                            }
                        }
                        e.toks.push(t);
                    }
                    _ => {
                        let mut t = Tok { text: Vec::new(), quoted: false, escaped: false, line };
                        while p < b.len() && !matches!(b[p], b' ' | b'\t' | b'\r' | b';' | b'(' | b')' | b'"') {
                            if b[p] == b'\\' {
                                p = unescape(b, p, &mut t).map_err(|m| err(line, m))?;
                            } else {
                                t.text.push(b[p]);
                                p += 1;
                            }
                        }
                        e.toks.push(t);
                    }
                }
            }
            if depth == 0 {
                let e = cur.take().expect("entry open");
                if !e.toks.is_empty() {
                    entries.push(e);
                }
            }
        }
        if depth > 0 {
            return Err(err(open_line, "'(' is never closed".into()));
        }
        Ok(entries)
    }

    /// RFC 1035 5.1: `\X` is X, `\DDD` is the byte with that decimal value.
    /// `b[p]` is the backslash; returns the position after the escape.
    fn unescape(b: &[u8], p: usize, t: &mut Tok) -> Result<usize, String> {
        t.escaped = true;
        let rest = &b[p + 1..];
        match rest.first() {
            None => Err("'\\' at the end of the line".into()),
            Some(c) if c.is_ascii_digit() => {
                let d = rest.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
                if d != 3 {
                    return Err("\\DDD escape needs exactly three decimal digits".into());
                }
                let v: u32 = std::str::from_utf8(&rest[..3]).unwrap().parse().unwrap();
                let v = u8::try_from(v).map_err(|_| format!("\\{v} escape is above 255"))?;
                t.text.push(v);
                Ok(p + 4)
            }
            Some(&c) => {
                t.text.push(c);
                Ok(p + 2)
            }
        }
    }

    /// RFC 2308 4 / BIND: `3600`, or units `1w2d3h4m5s`.
    fn ttl(t: &str) -> Option<u32> {
        if t.is_empty() || !t.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        if let Ok(n) = t.parse::<u32>() {
            return Some(n);
        }
        let (mut total, mut n) = (0u64, None::<u64>);
        for c in t.chars() {
            if let Some(d) = c.to_digit(10) {
                n = Some(n.unwrap_or(0) * 10 + u64::from(d));
                if n > Some(u64::from(u32::MAX)) {
                    return None;
                }
                continue;
            }
            let mult = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 604800,
                _ => return None,
            };
            total += n.take()? * mult;
        }
        if n.is_some() {
            return None;
        }
        u32::try_from(total).ok()
    }

    /// An owner or target name: `@`, absolute (`a.b.`) or relative to the
    /// origin. Lower-cased, no trailing dot.
    fn name(t: &Tok, origin: &Option<String>) -> Result<String, String> {
        let s = t.s();
        if t.quoted || t.escaped {
            return Err(format!("name `{s}`: quotes and escapes in names are not supported"));
        }
        let full = if s == "@" {
            origin.clone().ok_or("`@` used before any $ORIGIN")?
        } else if let Some(abs) = s.strip_suffix('.') {
            abs.to_string()
        } else {
            match origin {
                Some(o) if o.is_empty() => s.clone(),
                Some(o) => format!("{s}.{o}"),
                None => {
                    return Err(format!(
                        "relative name `{s}` but no $ORIGIN (write `{s}.` for an absolute name, or set $ORIGIN)"
                    ))
                }
            }
        };
        let full = full.to_ascii_lowercase();
        if full.is_empty() {
            return Ok(full); // the root
        }
        // RFC 1035 2.3.4: labels of 1..63 octets, names up to 255 on the
        // wire (253 characters in text form).
        if full.len() > 253 {
            return Err(format!("name `{full}` is longer than 253 characters"));
        }
        for (i, l) in full.split('.').enumerate() {
            if l.is_empty() {
                return Err(format!("name `{s}` has an empty label"));
            }
            if l.len() > 63 {
                return Err(format!("label `{l}` is longer than 63 characters"));
            }
            // RFC 4592 2.1.1: `*` is a wildcard only as the leftmost label.
            if l == "*" && i > 0 {
                return Err(format!("name `{s}`: `*` is a wildcard only as the first label"));
            }
            // `/` appears in RFC 2317 classless in-addr.arpa names.
            if let Some(c) =
                l.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/')) && l != "*")
            {
                return Err(format!("name `{s}` contains `{c}`"));
            }
        }
        Ok(full)
    }

    impl Zone {
        /// Parse `text` (from `file`, for messages) and add its records.
        pub fn load(&mut self, file: &str, text: &str) -> Result<(), String> {
            let mut origin: Option<String> = None;
            let mut owner: Option<String> = None;
            for e in lex(file, text)? {
                let at = |t: &Tok, m: String| format!("{file}:{}: {m}", t.line);
                let first = &e.toks[0];
                let first_s = first.s();
                // RFC 1035 5.1 control entries.
                if !e.blank_owner && first_s.starts_with('$') && !first.quoted {
                    let arg = e.toks.get(1);
                    match first_s.to_ascii_uppercase().as_str() {
                        "$ORIGIN" => {
                            let a = arg.ok_or_else(|| at(first, "$ORIGIN needs a name".into()))?;
                            origin = Some(name(a, &origin).map_err(|m| at(a, m))?);
                        }
                        "$TTL" => {
                            let a = arg.ok_or_else(|| at(first, "$TTL needs a value".into()))?;
                            // TTLs do not matter to the checks, but must be well formed.
                            ttl(&a.s()).ok_or_else(|| at(a, format!("$TTL: `{}` is not a TTL", a.s())))?;
                        }
                        "$INCLUDE" => {
                            return Err(at(
                                first,
                                "$INCLUDE is not supported (give several --zone files instead)".into(),
                            ))
                        }
                        d => return Err(at(first, format!("unknown directive {d}"))),
                    }
                    if let Some(extra) = e.toks.get(2) {
                        return Err(at(extra, format!("unexpected `{}` after {first_s}", extra.s())));
                    }
                    continue;
                }
                let mut toks = e.toks.iter().peekable();
                let own = if e.blank_owner {
                    owner.clone().ok_or_else(|| {
                        format!("{file}:{}: line starts with a blank but there is no previous owner name", e.line)
                    })?
                } else {
                    let t = toks.next().expect("non-empty entry");
                    name(t, &origin).map_err(|m| at(t, m))?
                };
                owner = Some(own.clone());
                // [TTL] [class] or [class] [TTL], then the type.
                let (mut seen_ttl, mut seen_class) = (false, false);
                let rtype = loop {
                    let Some(t) = toks.next() else {
                        return Err(format!("{file}:{}: record for `{own}` has no type", e.line));
                    };
                    let s = t.s();
                    let up = s.to_ascii_uppercase();
                    if !t.quoted && !seen_ttl && ttl(&s).is_some() {
                        seen_ttl = true;
                    } else if !t.quoted && !seen_class && up == "IN" {
                        seen_class = true;
                    } else if !t.quoted && matches!(up.as_str(), "CH" | "HS" | "CS") {
                        return Err(at(t, format!("class {up} is not supported (only IN)")));
                    } else {
                        break (t, up);
                    }
                };
                let (tt, up) = rtype;
                let data: Vec<&Tok> = toks.collect();
                let one = |what: &str| -> Result<&Tok, String> {
                    match data.as_slice() {
                        [t] => Ok(t),
                        [] => Err(at(tt, format!("{up} record needs {what}"))),
                        [_, x, ..] => Err(at(x, format!("unexpected `{}` after the {up} data", x.s()))),
                    }
                };
                let rec = match up.as_str() {
                    "A" => {
                        let t = one("an IPv4 address")?;
                        let a: Ipv4Addr = t.s().parse().map_err(|_| at(t, format!("`{}` is not an IPv4 address", t.s())))?;
                        Some((DnsType::A, DnsRecord::A(a)))
                    }
                    "AAAA" => {
                        let t = one("an IPv6 address")?;
                        let a: Ipv6Addr = t.s().parse().map_err(|_| at(t, format!("`{}` is not an IPv6 address", t.s())))?;
                        Some((DnsType::Aaaa, DnsRecord::Aaaa(a)))
                    }
                    "MX" => {
                        let (p, x) = match data.as_slice() {
                            [p, x] => (p, x),
                            [_, _, y, ..] => return Err(at(y, format!("unexpected `{}` after the MX data", y.s()))),
                            _ => return Err(at(tt, "MX record needs a preference and an exchange name".into())),
                        };
                        let pref: u16 = p.s().parse().map_err(|_| at(p, format!("MX preference `{}` is not a number 0-65535", p.s())))?;
                        Some((DnsType::Mx, DnsRecord::Mx(pref, name(x, &origin).map_err(|m| at(x, m))?)))
                    }
                    "TXT" => {
                        if data.is_empty() {
                            return Err(at(tt, "TXT record needs at least one string".into()));
                        }
                        let mut all = Vec::new();
                        for t in &data {
                            if t.text.len() > MAX_CHARSTRING {
                                return Err(at(
                                    t,
                                    format!("TXT string of {} bytes; at most 255 per string: split it into several \"…\" \"…\"", t.text.len()),
                                ));
                            }
                            // RFC 7208 3.3 / RFC 6376 3.6.2.2: the strings are joined.
                            all.extend_from_slice(&t.text);
                        }
                        Some((DnsType::Txt, DnsRecord::Txt(all)))
                    }
                    "PTR" => {
                        let t = one("a name")?;
                        Some((DnsType::Ptr, DnsRecord::Ptr(name(t, &origin).map_err(|m| at(t, m))?)))
                    }
                    "CNAME" => {
                        let t = one("a target name")?;
                        let target = name(t, &origin).map_err(|m| at(t, m))?;
                        let n = self.nodes.entry(own.clone()).or_default();
                        if let Some((_, l)) = &n.cname {
                            return Err(at(tt, format!("second CNAME for `{own}` (first on line {l})")));
                        }
                        n.cname = Some((target, tt.line));
                        None
                    }
                    other if IGNORED.contains(&other) => {
                        self.nodes.entry(own.clone()).or_default().other_line.get_or_insert(tt.line);
                        None
                    }
                    other => {
                        return Err(at(
                            tt,
                            format!("unknown or unsupported record type `{other}` (supported: A AAAA MX TXT PTR CNAME; ignored: {})", IGNORED.join(" ")),
                        ))
                    }
                };
                self.count += 1;
                if self.count > MAX_RECORDS {
                    return Err(at(tt, format!("more than {MAX_RECORDS} records")));
                }
                let n = self.nodes.entry(own.clone()).or_default();
                if let Some(r) = rec {
                    n.other_line.get_or_insert(tt.line);
                    n.records.push(r);
                }
                // RFC 1034 3.6.2: a CNAME owner has no other data.
                if let (Some((_, cl)), Some(ol)) = (&n.cname, n.other_line) {
                    return Err(at(tt, format!("`{own}` has a CNAME (line {cl}) and other records (line {ol}); RFC 1034 3.6.2 forbids that")));
                }
                let mut anc = own.as_str();
                loop {
                    self.exists.insert(anc.to_string());
                    match anc.split_once('.') {
                        Some((_, rest)) => anc = rest,
                        None => break,
                    }
                }
            }
            Ok(())
        }

        /// Answer one question, following CNAMEs.
        pub fn resolve(&self, q: &DnsQuery) -> DnsAnswer {
            let mut n = q.name.trim_end_matches('.').to_ascii_lowercase();
            for _ in 0..=MAX_CNAME_CHAIN {
                let node = match self.nodes.get(&n) {
                    Some(node) => node,
                    None if self.exists.contains(&n) => return DnsAnswer::NoData, // empty non-terminal
                    None => match self.wildcard(&n) {
                        Some(node) => node,
                        None => return DnsAnswer::NxDomain,
                    },
                };
                if let Some((t, _)) = &node.cname {
                    n = t.clone();
                    continue;
                }
                let rs: Vec<DnsRecord> =
                    node.records.iter().filter(|(t, _)| *t == q.qtype).map(|(_, r)| r.clone()).collect();
                return if rs.is_empty() { DnsAnswer::NoData } else { DnsAnswer::Records(rs) };
            }
            DnsAnswer::TempFail
        }

        /// RFC 4592 3.3.1: a name that does not exist is answered from
        /// `*.<closest encloser>` when that wildcard exists.
        fn wildcard(&self, name: &str) -> Option<&Node> {
            let mut rest = name;
            while let Some((_, parent)) = rest.split_once('.') {
                if self.exists.contains(parent) {
                    return self.nodes.get(&format!("*.{parent}"));
                }
                rest = parent;
            }
            None
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn q(n: &str, t: DnsType) -> DnsQuery {
            DnsQuery { name: n.into(), qtype: t }
        }

        fn load(text: &str) -> Result<Zone, String> {
            let mut z = Zone::default();
            z.load("z", text).map(|_| z)
        }

        #[test]
        fn parses_and_answers() {
            let z = load(concat!(
                "$ORIGIN Example.COM.\n$TTL 1h\n",
                "@ 300 IN A 192.0.2.1\n",
                "  IN 60 AAAA 2001:db8::1 ; same owner\n",
                "@ MX 10 mx\nmx A 192.0.2.2\n",
                "@ TXT ( \"v=spf1 \" \"a mx\"\n   \" -all\" ) ; joined\n",
                "sel._domainkey TXT \"a\\\"b\\059c\"\n",
                "alias CNAME mx\nloop1 CNAME loop2\nloop2 CNAME loop1.example.com.\n",
                "1.2.0.192.in-addr.arpa. PTR mx\n",
                "@ NS ns1\n@ SOA ns1 host ( 1 2 3 4 5 )\n",
            ))
            .unwrap();
            assert_eq!(
                z.resolve(&q("example.com", DnsType::A)),
                DnsAnswer::Records(vec![DnsRecord::A("192.0.2.1".parse().unwrap())])
            );
            assert!(matches!(z.resolve(&q("EXAMPLE.com.", DnsType::Aaaa)), DnsAnswer::Records(_)));
            assert_eq!(
                z.resolve(&q("example.com", DnsType::Mx)),
                DnsAnswer::Records(vec![DnsRecord::Mx(10, "mx.example.com".into())])
            );
            assert_eq!(z.resolve(&q("example.com", DnsType::Txt)).txt(), vec![&b"v=spf1 a mx -all"[..]]);
            assert_eq!(z.resolve(&q("sel._domainkey.example.com", DnsType::Txt)).txt(), vec![&b"a\"b;c"[..]]);
            assert_eq!(z.resolve(&q("_domainkey.example.com", DnsType::Txt)), DnsAnswer::NoData); // empty non-terminal
            assert_eq!(z.resolve(&q("mx.example.com", DnsType::Txt)), DnsAnswer::NoData);
            assert_eq!(z.resolve(&q("nope.example.com", DnsType::A)), DnsAnswer::NxDomain);
            assert_eq!(
                z.resolve(&q("alias.example.com", DnsType::A)),
                DnsAnswer::Records(vec![DnsRecord::A("192.0.2.2".parse().unwrap())])
            );
            assert_eq!(z.resolve(&q("loop1.example.com", DnsType::A)), DnsAnswer::TempFail);
            assert_eq!(
                z.resolve(&q("1.2.0.192.in-addr.arpa", DnsType::Ptr)),
                DnsAnswer::Records(vec![DnsRecord::Ptr("mx.example.com".into())])
            );
        }

        #[test]
        fn wildcards_and_crlf() {
            let z = load("$ORIGIN example.com.\r\n*.w TXT \"wild\"\r\nx.w TXT \"x\"\r\n*.c CNAME x.w\r\ny.sub.d MX 1 @\r\n*.d A 192.0.2.9\r\n").unwrap();
            let txt = |n: &str| z.resolve(&q(n, DnsType::Txt));
            assert_eq!(txt("a.w.example.com").txt(), vec![&b"wild"[..]]);
            assert_eq!(txt("a.b.w.example.com").txt(), vec![&b"wild"[..]]);
            assert_eq!(txt("x.w.example.com").txt(), vec![&b"x"[..]]); // exists: no synthesis
            assert_eq!(txt("q.c.example.com").txt(), vec![&b"x"[..]]); // wildcard CNAME
                                                                       // RFC 4592 2.2.1: sub.d exists (empty non-terminal), so
                                                                       // z.sub.d's closest encloser is sub.d, which has no wildcard.
            assert_eq!(z.resolve(&q("z.sub.d.example.com", DnsType::A)), DnsAnswer::NxDomain);
            assert_eq!(z.resolve(&q("sub.d.example.com", DnsType::A)), DnsAnswer::NoData);
            assert!(matches!(z.resolve(&q("other.d.example.com", DnsType::A)), DnsAnswer::Records(_)));
            assert_eq!(txt("nope.example.com"), DnsAnswer::NxDomain);
            assert!(load("a.*.example.com. A 192.0.2.1\n").unwrap_err().contains("wildcard only as the first label"));
            assert!(load("*.*.example.com. A 192.0.2.1\n").unwrap_err().contains("wildcard only as the first label"));
            assert!(load("a*.example.com. A 192.0.2.1\n").unwrap_err().contains("contains `*`"));
        }

        #[test]
        fn errors_name_the_line() {
            let e = |t: &str| load(t).unwrap_err();
            assert_eq!(e("a.example. A 1.2.3\n"), "z:1: `1.2.3` is not an IPv4 address");
            assert!(
                e("\n\nfoo A 192.0.2.1\n").starts_with("z:3: relative name `foo`"),
                "{}",
                e("\n\nfoo A 192.0.2.1\n")
            );
            assert!(e("a. TXT (\n\"x\"\n").starts_with("z:1: '(' is never closed"));
            assert!(e("a. TXT \"x\n").starts_with("z:1: unterminated quoted string"));
            assert!(e("a. TXT \"x\" )\n").starts_with("z:1: ')' without"));
            assert!(e("$ORIGIN e.\n\nx 300 IN FOO bar\n").starts_with("z:3: unknown or unsupported record type `FOO`"));
            assert!(e("a. CH TXT \"x\"\n").starts_with("z:1: class CH"));
            assert!(e("a. MX 10\n").starts_with("z:1: MX record needs"));
            assert!(e("a. MX 99999 b.\n").starts_with("z:1: MX preference"));
            assert!(e(" A 192.0.2.1\n").starts_with("z:1: line starts with a blank"));
            assert!(e("a. A 192.0.2.1\na. CNAME b.\n").starts_with("z:2: `a` has a CNAME"));
            assert!(e("a.\n").starts_with("z:1: record for `a` has no type"));
            assert!(e("$INCLUDE x\n").starts_with("z:1: $INCLUDE is not supported"));
            assert!(e("a. TXT \"\\300\"\n").starts_with("z:1: \\300 escape"));
            assert!(e(&format!("a. TXT \"{}\"\n", "x".repeat(256))).starts_with("z:1: TXT string of 256 bytes"));
            assert!(e("a..b. A 192.0.2.1\n").starts_with("z:1: name `a..b.` has an empty label"));
        }

        #[test]
        fn ttls() {
            assert_eq!(ttl("3600"), Some(3600));
            assert_eq!(ttl("1h30m"), Some(5400));
            assert_eq!(ttl("1w"), Some(604800));
            assert_eq!(ttl("1x"), None);
            assert_eq!(ttl("h"), None);
            assert_eq!(ttl("10m5"), None);
        }
    }
}
