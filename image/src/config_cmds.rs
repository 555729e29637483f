//! Operator commands on a config directory (issue 9):
//!
//! * `check DIR`  parse `DIR/unimail.conf` with the same parser the kernel
//!   uses at boot (`mail-config`), then check what the parser cannot see
//!   because it has no file contents: certificates and keys parse, match,
//!   name the right host and are in date; DKIM keys parse as the signer
//!   (`mail-authn`) reads them and are strong enough.
//! * `init`       write a starter config directory that passes `check`.
//! * `dns DIR`    print the DNS records to publish, as zone-file lines.
//!
//! These take a positional DIR, so they parse their own arguments.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mail_config::{Config, DkimAlgorithm, FileRef, CONFIG_FILE};

/// The subcommands handled here.
pub const COMMANDS: &[&str] = &["check", "init", "dns", "dkim"];

/// Usage lines for `unimail --help`.
pub const USAGE: &str = "  unimail check DIR
  unimail dkim rotate DIR [--retire SELECTOR]...   (add a new selector pair; or retire old selectors)
  unimail init --domain D --hostname H --out DIR [--user NAME] [--scheme sha512-crypt|argon2id]
               [--cert CHAIN.pem --key KEY.pem]   (password on stdin; without --cert a self-signed one)
  unimail dns DIR [--ip4 A]... [--ip6 A]... [--ttl SECONDS] [--verify --server IP[:PORT]]
    (--verify asks that DNS server for every record and lists each as ok, missing, different or stale)";

/// Run `cmd` with the arguments after it; prints its own errors.
pub fn main(cmd: &str, argv: &[String]) -> ExitCode {
    let r = Opts::parse(argv).and_then(|o| match cmd {
        "check" => o.known(&[]).and_then(|_| check_cmd(&o)),
        "init" => o.known(&["domain", "hostname", "out", "user", "scheme", "cert", "key"]).and_then(|_| init_cmd(&o)),
        "dns" => o.known(&["ip4", "ip6", "ttl", "verify", "server"]).and_then(|_| dns_cmd(&o)),
        "dkim" => match o.pos.first().map(String::as_str) {
            Some("rotate") => {
                let o = Opts { pos: o.pos[1..].to_vec(), opts: o.opts.clone() };
                o.known(&["retire"]).and_then(|_| crate::rotate::rotate_cmd(&o))
            }
            _ => Err("usage: unimail dkim rotate DIR [--retire SELECTOR]...".into()),
        },
        _ => Err(format!("unknown command `{cmd}`")),
    });
    crate::exit_status(cmd, r)
}

// ------------------------------------------------------------- arguments

/// Positional arguments and repeatable `--key value` options.
pub(crate) struct Opts {
    pub(crate) pos: Vec<String>,
    opts: Vec<(String, String)>,
}

/// Options that take no value.
const FLAGS: &[&str] = &["verify", "json"];

impl Opts {
    pub(crate) fn parse(v: &[String]) -> Result<Opts, String> {
        let (mut pos, mut opts) = (Vec::new(), Vec::new());
        let mut it = v.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--").filter(|n| FLAGS.contains(n)) {
                opts.push((name.to_string(), String::new()));
            } else if let Some(name) = a.strip_prefix("--") {
                let val = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                opts.push((name.to_string(), val.clone()));
            } else {
                pos.push(a.clone());
            }
        }
        Ok(Opts { pos, opts })
    }
    pub(crate) fn known(&self, known: &[&str]) -> Result<(), String> {
        match self.opts.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) if k == "password" => {
                Err("--password is not accepted: a password on the command line leaks into `ps` and shell history; give it on stdin".into())
            }
            Some((k, _)) => Err(format!("unknown option --{k}")),
            None => Ok(()),
        }
    }
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.opts.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub(crate) fn all<'a>(&'a self, k: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.opts.iter().filter(move |(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub(crate) fn need(&self, k: &str) -> Result<&str, String> {
        self.get(k).ok_or_else(|| format!("missing --{k}"))
    }
    pub(crate) fn dir(&self) -> Result<PathBuf, String> {
        match self.pos.as_slice() {
            [d] => Ok(PathBuf::from(d)),
            [] => Err("missing config directory".into()),
            _ => Err(format!("unexpected argument `{}`", self.pos[1])),
        }
    }
}

// ----------------------------------------------------------------- check

/// A problem found by `check`, printed as `file:line: problem` like the
/// parser's own errors.
pub(crate) struct Problem {
    file: String,
    line: Option<u32>,
    pub(crate) warning: bool,
    text: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}{}", if self.warning { "warning: " } else { "" }, self.text)
    }
}

/// The parsed config, its directory and text (to find line numbers).
pub(crate) struct Loaded {
    pub(crate) dir: PathBuf,
    pub(crate) text: String,
    pub(crate) cfg: Config,
}

impl Loaded {
    /// Line of the first `key = path` entry naming `path` (the model keeps
    /// no line numbers for file references).
    fn line_of(&self, keys: &[&str], path: &str) -> Option<u32> {
        for (i, l) in self.text.lines().enumerate() {
            let Some((k, v)) = l.split_once('=') else { continue };
            let k = k.trim().to_ascii_lowercase();
            let v = v.split(" #").next().unwrap_or("").split("\t#").next().unwrap_or("").trim();
            if keys.contains(&k.as_str()) && v == path {
                return Some(i as u32 + 1);
            }
        }
        None
    }
    pub(crate) fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        fs::read(self.dir.join(path)).map_err(|e| format!("cannot read '{path}': {e}"))
    }
}

/// Parse `DIR/unimail.conf` exactly as the kernel does at boot.
pub(crate) fn load(dir: &Path) -> Result<Loaded, Vec<Problem>> {
    let p = |text: String| vec![Problem { file: CONFIG_FILE.into(), line: None, warning: false, text }];
    let path = dir.join(CONFIG_FILE);
    let meta = fs::metadata(&path).map_err(|e| p(format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > mail_config::MAX_FILE_LEN as u64 {
        return Err(p(format!("file larger than {} bytes", mail_config::MAX_FILE_LEN)));
    }
    let bytes = fs::read(&path).map_err(|e| p(format!("cannot read {}: {e}", path.display())))?;
    let text =
        String::from_utf8(bytes).map_err(|e| p(format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to())))?;
    match mail_config::parse_named(CONFIG_FILE, &text, &mail_config::DirFiles(dir.to_path_buf())) {
        Ok(cfg) => Ok(Loaded { dir: dir.to_path_buf(), text, cfg }),
        Err(errs) => Err(errs
            .into_iter()
            .map(|e| Problem { file: e.file.clone(), line: e.line, warning: false, text: e.kind.to_string() })
            .collect()),
    }
}

fn check_cmd(o: &Opts) -> Result<(), String> {
    let dir = o.dir()?;
    let (loaded, problems) = match load(&dir) {
        Ok(l) => {
            let p = check_files(&l);
            (Some(l), p)
        }
        Err(p) => (None, p),
    };
    for p in &problems {
        println!("{p}");
    }
    let errors = problems.iter().filter(|p| !p.warning).count();
    let warnings = problems.len() - errors;
    match loaded {
        Some(l) if errors == 0 => {
            let c = &l.cfg;
            println!(
                "ok: {} users, {} domains, {} aliases, {} DKIM keys, {} certificates{}",
                c.users.len(),
                c.domains.len(),
                c.aliases.len(),
                c.dkim.len(),
                c.tls.default.iter().count() + c.tls.sni.len(),
                if warnings > 0 { format!(", {warnings} warnings") } else { String::new() }
            );
            Ok(())
        }
        _ => Err(format!("{errors} error{} in {}", if errors == 1 { "" } else { "s" }, dir.display())),
    }
}

/// The checks that need the referenced files' contents.
pub(crate) fn check_files(l: &Loaded) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |line: Option<u32>, warning: bool, text: String| {
        out.push(Problem { file: CONFIG_FILE.into(), line, warning, text })
    };
    let now = time::OffsetDateTime::now_utc();
    // TLS: the default certificate must name the hostname, `[tls NAME]` its NAME.
    let pairs = l.cfg.tls.default.iter().map(|c| (l.cfg.hostname.as_str(), c));
    for (name, pair) in pairs.chain(l.cfg.tls.sni.iter().map(|(n, c)| (n.as_str(), c))) {
        let (FileRef::Path(cert), FileRef::Path(key)) = (&pair.cert, &pair.key) else { continue };
        let line = l.line_of(&["cert"], cert);
        for (warning, text) in tls::check_pair(l, cert, key, name, now) {
            let line = if text.starts_with("key ") { l.line_of(&["key"], key).or(line) } else { line };
            push(line, warning, text);
        }
    }
    // DKIM keys, read the way the signer reads them.
    for d in &l.cfg.dkim {
        let FileRef::Path(path) = &d.key else { continue };
        let line = l.line_of(&["key"], path);
        match l.read(path).map(String::from_utf8) {
            Err(e) => push(line, false, e),
            Ok(Err(_)) => push(line, false, format!("DKIM key '{path}' is not PEM text")),
            Ok(Ok(pem)) => match DkimKey::from_pem(&pem) {
                None => push(
                    line,
                    false,
                    format!("DKIM key '{path}' is not an RSA (PKCS#1/PKCS#8) or Ed25519 (PKCS#8) PEM private key"),
                ),
                Some(k) => {
                    for (w, t) in dkim_key_problems(&k, d.algorithm, path) {
                        push(line, w, t);
                    }
                }
            },
        }
    }
    // The system Sieve script and the SRS secret: readable and sane.
    if let Some(FileRef::Path(p)) = &l.cfg.sieve.system_before {
        let line = l.line_of(&["system_before"], p);
        match l.read(p) {
            Err(e) => push(line, false, e),
            Ok(b) if std::str::from_utf8(&b).is_err() => push(line, false, format!("Sieve script '{p}' is not UTF-8")),
            Ok(_) => {}
        }
    }
    if let Some(srs) = &l.cfg.srs {
        if let FileRef::Path(p) = &srs.secret {
            let line = l.line_of(&["secret"], p);
            match l.read(p) {
                Err(e) => push(line, false, e),
                Ok(b) if b.trim_ascii().len() < 16 => {
                    push(line, false, format!("SRS secret '{p}' is shorter than 16 bytes: anyone could forge bounces"))
                }
                Ok(_) => {}
            }
        }
    }
    out
}

/// A DKIM private key, read as the signer (`mail-authn`) reads it: RSA as
/// PKCS#1 ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"), Ed25519 as PKCS#8.
/// (Not a dependency on `mail-authn` itself: its working tree is edited
/// concurrently by others; keep the formats in step with `SigningKey::from_pem`.)
pub enum DkimKey {
    Rsa(rsa::RsaPrivateKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl DkimKey {
    pub fn from_pem(pem: &str) -> Option<DkimKey> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
            return Some(DkimKey::Rsa(k));
        }
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            return Some(DkimKey::Rsa(k));
        }
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem).ok().map(DkimKey::Ed25519)
    }

    /// The TXT record value for `<selector>._domainkey.<domain>`:
    /// RFC 6376 3.6.1 (`p=` is the base64 SubjectPublicKeyInfo for RSA),
    /// RFC 8463 4.2 (`p=` is the raw 32-byte Ed25519 public key).
    pub fn dns_record(&self) -> String {
        use base64ct::{Base64, Encoding};
        use rsa::pkcs8::EncodePublicKey;
        match self {
            DkimKey::Rsa(k) => {
                let der = k.to_public_key().to_public_key_der().expect("RSA public key encodes");
                format!("v=DKIM1; k=rsa; p={}", Base64::encode_string(der.as_bytes()))
            }
            DkimKey::Ed25519(k) => {
                format!("v=DKIM1; k=ed25519; p={}", Base64::encode_string(k.verifying_key().as_bytes()))
            }
        }
    }
}

fn dkim_key_problems(k: &DkimKey, alg: DkimAlgorithm, path: &str) -> Vec<(bool, String)> {
    use rsa::traits::PublicKeyParts;
    use DkimKey as K;
    let mut v = Vec::new();
    match (k, alg) {
        (K::Rsa(r), DkimAlgorithm::RsaSha256) => {
            let bits = r.n().bits();
            // RFC 8301 3.2: signers MUST use at least 1024 bits, SHOULD 2048.
            if bits < 1024 {
                v.push((
                    false,
                    format!("DKIM key '{path}' has {bits} bits; RFC 8301 requires at least 1024 (use 2048)"),
                ));
            } else if bits < 2048 {
                v.push((true, format!("DKIM key '{path}' has {bits} bits; RFC 8301 recommends 2048")));
            }
        }
        (K::Ed25519(_), DkimAlgorithm::Ed25519Sha256) => {}
        (K::Rsa(_), _) => v.push((false, format!("DKIM key '{path}' is RSA but the section says ed25519-sha256"))),
        (K::Ed25519(_), _) => v.push((
            false,
            format!("DKIM key '{path}' is Ed25519 but the section says rsa-sha256 (add 'algorithm = ed25519-sha256')"),
        )),
    }
    v
}

/// Certificate and key checks (RFC 5280 validity, RFC 6125 names).
mod tls {
    use super::Loaded;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use x509_parser::prelude::*;

    /// `(is_warning, text)` for one `cert`/`key` pair that must serve `name`.
    pub fn check_pair(
        l: &Loaded,
        cert: &str,
        key: &str,
        name: &str,
        now: ::time::OffsetDateTime,
    ) -> Vec<(bool, String)> {
        let mut v = Vec::new();
        // Parsed with the same PEM reader as the kernel (net::tls).
        let chain: Result<Vec<_>, _> = match l.read(cert) {
            Err(e) => return vec![(false, e)],
            Ok(b) => CertificateDer::pem_slice_iter(&b).collect(),
        };
        let chain = match chain {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => return vec![(false, format!("certificate '{cert}' holds no PEM CERTIFICATE"))],
            Err(e) => return vec![(false, format!("certificate '{cert}' is not valid PEM: {e:?}"))],
        };
        let mut parsed = Vec::new();
        for (i, der) in chain.iter().enumerate() {
            match X509Certificate::from_der(der) {
                Ok((_, c)) => parsed.push(c),
                Err(e) => {
                    v.push((false, format!("certificate '{cert}': certificate {} does not parse: {e}", i + 1)));
                    return v;
                }
            }
        }
        let leaf = &parsed[0];
        // RFC 5280 4.1.2.5: validity.
        let (nb, na) = (leaf.validity().not_before.to_datetime(), leaf.validity().not_after.to_datetime());
        if na < now {
            v.push((false, format!("certificate '{cert}' expired on {}", day(na))));
        } else if nb > now {
            v.push((false, format!("certificate '{cert}' is not valid before {}", day(nb))));
        } else if na - now < ::time::Duration::days(21) {
            v.push((true, format!("certificate '{cert}' expires on {}", day(na))));
        }
        for (i, c) in parsed.iter().enumerate().skip(1) {
            if c.validity().not_after.to_datetime() < now {
                v.push((false, format!("certificate '{cert}': chain certificate {} expired", i + 1)));
            }
            if parsed[i - 1].issuer() != c.subject() {
                v.push((
                    true,
                    format!(
                        "certificate '{cert}': certificate {} did not issue certificate {i} (chain must be leaf first)",
                        i + 1
                    ),
                ));
            }
        }
        // RFC 6125 6.4: the name must be a DNS-ID (subjectAltName).
        let names = dns_names(leaf);
        if !names.iter().any(|n| name_matches(n, name)) {
            v.push((
                false,
                format!(
                    "certificate '{cert}' does not name {name} (it names: {})",
                    if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
                ),
            ));
        }
        if parsed.len() == 1 && leaf.issuer() == leaf.subject() {
            v.push((
                true,
                format!("certificate '{cert}' is self-signed: servers accept it for STARTTLS and DANE (TLSA 3 1 1), but MTA-STS and mail clients need a CA-issued one"),
            ));
        }
        // The key: same PEM reader as the kernel; its public half must be
        // the certificate's.
        let key_der = match l.read(key) {
            Err(e) => {
                v.push((false, format!("key {e}")));
                return v;
            }
            Ok(b) => PrivateKeyDer::from_pem_slice(&b),
        };
        match key_der {
            Err(e) => v.push((false, format!("key '{key}' is not a PEM private key (PKCS#8, SEC1 or PKCS#1): {e:?}"))),
            Ok(k) => match public_key(&k) {
                Err(why) => v.push((false, format!("key '{key}': {why}"))),
                Ok(pubkey) => {
                    if pubkey != leaf.public_key().subject_public_key.data.as_ref() {
                        v.push((false, format!("key '{key}' does not match certificate '{cert}'")));
                    }
                }
            },
        }
        v
    }

    fn day(t: ::time::OffsetDateTime) -> String {
        format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())
    }

    /// subjectAltName dNSNames, or the subject CN when there are none.
    pub fn dns_names(c: &X509Certificate) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(Some(san)) = c.subject_alternative_name() {
            for n in &san.value.general_names {
                if let GeneralName::DNSName(d) = n {
                    out.push(d.to_ascii_lowercase());
                }
            }
        }
        if out.is_empty() {
            out.extend(
                c.subject().iter_common_name().filter_map(|cn| cn.as_str().ok()).map(|s| s.to_ascii_lowercase()),
            );
        }
        out
    }

    /// RFC 6125 6.4.3: `*` only as the whole leftmost label, matching one
    /// label. A config name `*.d` needs a certificate name `*.d`.
    fn name_matches(cert_name: &str, name: &str) -> bool {
        let (c, n) = (cert_name.trim_end_matches('.'), name.trim_end_matches('.').to_ascii_lowercase());
        if c == n {
            return true;
        }
        match (c.strip_prefix("*."), n.split_once('.')) {
            (Some(parent), Some((first, rest))) => first != "*" && !first.is_empty() && rest == parent,
            _ => false,
        }
    }

    /// The subjectPublicKey bits for a private key: the PKCS#1
    /// RSAPublicKey, the uncompressed EC point, or the Ed25519 key.
    fn public_key(k: &PrivateKeyDer) -> Result<Vec<u8>, String> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
        use rsa::pkcs8::DecodePrivateKey;
        let rsa_pub = |r: rsa::RsaPrivateKey| {
            r.to_public_key().to_pkcs1_der().map(|d| d.as_bytes().to_vec()).map_err(|e| e.to_string())
        };
        match k {
            PrivateKeyDer::Pkcs1(d) => rsa::RsaPrivateKey::from_pkcs1_der(d.secret_pkcs1_der())
                .map_err(|e| format!("bad RSA key: {e}"))
                .and_then(rsa_pub),
            PrivateKeyDer::Sec1(d) => {
                let der = d.secret_sec1_der();
                if let Ok(s) = p256::SecretKey::from_sec1_der(der) {
                    Ok(s.public_key().to_encoded_point(false).as_bytes().to_vec())
                } else if let Ok(s) = p384::SecretKey::from_sec1_der(der) {
                    Ok(s.public_key().to_encoded_point(false).as_bytes().to_vec())
                } else {
                    Err("EC key is not P-256 or P-384".into())
                }
            }
            PrivateKeyDer::Pkcs8(d) => {
                let der = d.secret_pkcs8_der();
                if let Ok(r) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
                    rsa_pub(r)
                } else if let Ok(s) = p256::SecretKey::from_pkcs8_der(der) {
                    Ok(s.public_key().to_encoded_point(false).as_bytes().to_vec())
                } else if let Ok(s) = p384::SecretKey::from_pkcs8_der(der) {
                    Ok(s.public_key().to_encoded_point(false).as_bytes().to_vec())
                } else if let Ok(s) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
                    Ok(s.verifying_key().as_bytes().to_vec())
                } else {
                    Err("not an RSA, P-256, P-384 or Ed25519 key".into())
                }
            }
            _ => Err("unsupported key format".into()),
        }
    }
}

// ------------------------------------------------------------------ init

/// `unimail init`: everything is generated in memory first, then written
/// with `create_new`, so an existing file is never overwritten.
fn init_cmd(o: &Opts) -> Result<(), String> {
    if !o.pos.is_empty() {
        return Err(format!("unexpected argument `{}`", o.pos[0]));
    }
    let domain = mail_config::addr::parse_domain(o.need("domain")?).map_err(|e| format!("--domain: {e}"))?;
    let hostname = mail_config::addr::parse_domain(o.need("hostname")?).map_err(|e| format!("--hostname: {e}"))?;
    let out = PathBuf::from(o.need("out")?);
    let user = match o.get("user").unwrap_or("admin") {
        u if u.contains('@') => u.to_string(),
        u => format!("{u}@{domain}"),
    };
    let user = mail_config::Address::parse(&user).map_err(|e| format!("--user: {e}"))?;
    if user.domain() != domain {
        return Err(format!("--user: {} is not in --domain {domain}", user));
    }
    let scheme = o.get("scheme").unwrap_or("sha512-crypt");
    if !["sha512-crypt", "argon2id"].contains(&scheme) {
        return Err(format!("--scheme: `{scheme}` is not sha512-crypt or argon2id"));
    }

    // A provided certificate chain (leaf first) and key, copied in as is;
    // `check` below validates them as the image will.
    let provided = match (o.get("cert"), o.get("key")) {
        (None, None) => None,
        (Some(c), Some(k)) => {
            let read = |p: &str, what: &str| -> Result<String, String> {
                let b = fs::read(p).map_err(|e| format!("--{what} {p}: {e}"))?;
                if b.len() > 1 << 20 {
                    return Err(format!("--{what} {p}: larger than 1 MiB"));
                }
                String::from_utf8(b).map_err(|_| format!("--{what} {p}: not PEM text"))
            };
            Some((read(c, "cert")?, read(k, "key")?))
        }
        _ => return Err("--cert and --key go together".into()),
    };
    let now = time::OffsetDateTime::now_utc();
    let files = init_files(&domain, &hostname, &user.to_string(), scheme, now, provided)?;
    let existing: Vec<_> = files.iter().filter(|f| out.join(&f.path).exists()).map(|f| f.path.as_str()).collect();
    if !existing.is_empty() {
        return Err(format!("{} already holds {}: not overwriting", out.display(), existing.join(", ")));
    }
    // The password last: nothing is asked before the arguments are good.
    let provided_tls = o.get("cert").is_some();
    let password = read_password()?;
    let files = set_password(files, &password, scheme)?;
    for f in &files {
        let p = out.join(&f.path);
        fs::create_dir_all(p.parent().unwrap()).map_err(|e| format!("{}: {e}", p.parent().unwrap().display()))?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if f.secret { 0o600 } else { 0o644 });
        }
        let mut h = opts.open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        h.write_all(f.body.as_bytes()).map_err(|e| format!("{}: {e}", p.display()))?;
        println!("wrote {}", p.display());
    }
    // The same checks as `unimail check`: a provided certificate must
    // match its key and name the host.
    let problems = match load(&out) {
        Ok(l) => check_files(&l),
        Err(p) => p,
    };
    let errors = problems.iter().filter(|p| !p.warning).count();
    for p in problems.iter().filter(|p| !p.warning || provided_tls) {
        println!("{p}");
    }
    if errors > 0 {
        return Err(format!("wrote {}, but `unimail check` finds {errors} error(s) (above)", out.display()));
    }
    let d = out.display();
    println!("next: unimail check {d}");
    println!("      unimail dns {d} --ip4 ADDRESS --ip6 ADDRESS   (the records to publish)");
    println!("      unimail config-disk --dir {d} --out config.img");
    Ok(())
}

/// A file `init` writes, relative to the output directory.
struct NewFile {
    path: String,
    body: String,
    /// Private keys and secrets: mode 0600.
    secret: bool,
}

const PASSWORD_PLACEHOLDER: &str = "@PASSWORD-HASH@";

fn init_files(
    domain: &str,
    host: &str,
    user: &str,
    scheme: &str,
    now: time::OffsetDateTime,
    provided_tls: Option<(String, String)>,
) -> Result<Vec<NewFile>, String> {
    use rand_core::{OsRng, RngCore};
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    // Selectors named by month, so a rotation next month gets a new name.
    let stamp = format!("{:04}{:02}", now.year(), now.month() as u8);
    let (sel_r, sel_e) = (format!("s{stamp}r"), format!("s{stamp}e"));
    let rsa_key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| format!("RSA key generation: {e}"))?;
    let rsa_pem = rsa_key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?.to_string();
    let ed_key = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let ed_pem = ed_key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?.to_string();
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let srs = format!("{}\n", <base64ct::Base64 as base64ct::Encoding>::encode_string(&secret));
    // Self-signed certificate for the hostname (ECDSA P-256), two years,
    // unless a chain was provided.
    let self_signed = provided_tls.is_none();
    let (cert_pem, key_pem) = match provided_tls {
        Some(pair) => pair,
        None => {
            let kp = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
            let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).map_err(|e| e.to_string())?;
            params.distinguished_name.push(rcgen::DnType::CommonName, host);
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(730);
            let cert = params.self_signed(&kp).map_err(|e| e.to_string())?;
            (cert.pem(), kp.serialize_pem())
        }
    };
    let tls_note = if self_signed {
        format!(
            "# Self-signed by `unimail init` for {host}: enough for server-to-server
# STARTTLS and DANE (the TLSA record from `unimail dns`). For MTA-STS and
# for mail clients, put a CA-issued chain (leaf first) and its key here."
        )
    } else {
        format!(
            "# The certificate chain (leaf first) and key given to `unimail init` for {host}.
# On renewal replace both files; publish the new TLSA record first if the key changes."
        )
    };

    let (dkim_r, dkim_e) = (format!("dkim/{domain}.{sel_r}.pem"), format!("dkim/{domain}.{sel_e}.pem"));
    let (crt, key) = (format!("tls/{host}.crt"), format!("tls/{host}.key"));
    let aliases: String = ["postmaster", "abuse"]
        .iter()
        .map(|a| format!("{a}@{domain}"))
        .filter(|a| !a.eq_ignore_ascii_case(user))
        .map(|a| format!("{a} = {user}\n"))
        .collect();
    let hash_note = match scheme {
        "argon2id" => "ARGON2ID, 16 MiB (within [limits] password_max_memory)",
        _ => "SHA512-CRYPT",
    };
    let conf = format!(
        "# unimail.conf for {domain}, written by `unimail init` on {date}.
# The format is described in CONFIG.md; check changes with `unimail check DIR`
# and print the DNS records to publish with `unimail dns DIR --ip4 … --ip6 …`.
# Comments start with `#` at the start of a line or after a space.

[server]
hostname = {host}     # SMTP banner and EHLO name; the certificate names it
domains = {domain}    # mail for these domains is delivered here (a list)
log_level = info

[user {user}]
# {hash_note}, made by `unimail init` from the password given on stdin.
password = {PASSWORD_PLACEHOLDER}
quota = unlimited

[aliases]
# RFC 5321 4.5.1: postmaster must reach a person; DMARC and TLS-RPT reports
# (see `unimail dns`) are sent to postmaster too.
{aliases}
# Two DKIM keys for one domain sign every message twice (RFC 8463 advises
# RSA alongside Ed25519). Selectors are named by date: `unimail dkim rotate DIR`
# adds a new pair (publish its records), `--retire SELECTOR` drops an old one.
[dkim {domain}]
selector = {sel_r}
algorithm = rsa-sha256
key = {dkim_r}

[dkim {domain}]
selector = {sel_e}
algorithm = ed25519-sha256
key = {dkim_e}

[tls]
{tls_note}
cert = {crt}
key = {key}

[sieve]
system_before = sieve/before.sieve   # files spam (X-Spam: Yes) into Junk

[srs]
# Sender Rewriting Scheme for mail forwarded to external alias targets.
domain = {domain}
secret = srs/secret

[screen]
# postscreen's tests on port 25: the greeting is held this long, and a bot
# that talks first is dropped; the DNS lists below are asked meanwhile.
pregreet_wait = 6s

[dnsbl]
# The lists and weights of the stack this replaces (postscreen_dnsbl_sites):
# a client scoring 3 or more is refused; the DNSWL lowers the score, and at
# -1 or less a client skips greylisting. Spamhaus answers only resolvers
# that are not public forwarders: give the image your own (dns=).
sites = zen.spamhaus.org=127.0.0.[2..11]*3, bl.spamcop.net*2, b.barracudacentral.org*2
sites = list.dnswl.org=127.0.[0..255].[1..3]*-2
threshold = 3
allowlist_threshold = -1

[access]
# Apple's mail servers retry badly after a pause or a 450: let them in.
allow = 17.0.0.0/8

[greylist]
delay = 5m            # a retry sooner than this is refused again

[stats]
# DMARC aggregate reports (the rua= that `unimail dns` prints) are read and
# counted. `listen = ADDRESS:PORT` with `users = ...` serves the figures.
dmarc_reports = postmaster@{domain}
",
        date = format_args!("{:04}-{:02}-{:02}", now.year(), now.month() as u8, now.day()),
    );
    let f = |path: String, body: String, secret: bool| NewFile { path, body, secret };
    Ok(vec![
        f(CONFIG_FILE.into(), conf, true),
        f(dkim_r, rsa_pem, true),
        f(dkim_e, ed_pem, true),
        f(crt, cert_pem, false),
        f(key, key_pem, true),
        f("sieve/before.sieve".into(), mail_config::DEFAULT_SYSTEM_SIEVE.into(), false),
        f("srs/secret".into(), srs, true),
    ])
}

/// Put the password's hash into `unimail.conf` (random salt from the OS).
fn set_password(mut files: Vec<NewFile>, password: &str, scheme: &str) -> Result<Vec<NewFile>, String> {
    use mail_config::password as pw;
    use rand_core::{OsRng, RngCore};
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let hash = match scheme {
        "argon2id" => pw::hash_argon2id(password.as_bytes(), &salt, pw::Argon2Cost::default()),
        _ => {
            // crypt(3) salt: 16 characters of ./0-9A-Za-z.
            const B64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            let s: String = salt.iter().map(|b| B64[(b & 63) as usize] as char).collect();
            pw::hash_sha512_crypt(password.as_bytes(), &s, None)
        }
    }
    .map_err(|e| format!("password hash: {e}"))?;
    files[0].body = files[0].body.replace(PASSWORD_PLACEHOLDER, &hash);
    Ok(files)
}

/// One line from stdin; on a terminal, prompted twice without echo.
fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let read = |prompt: &str| -> Result<String, String> {
        if tty {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| format!("reading the password: {e}"))?;
        if tty {
            eprintln!();
        }
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    };
    let echo = |on: bool| {
        if tty {
            let _ = std::process::Command::new("stty")
                .arg(if on { "echo" } else { "-echo" })
                .stdin(std::process::Stdio::inherit())
                .status();
        }
    };
    echo(false);
    let first = read("password for the new user: ");
    let again = if tty && first.is_ok() { Some(read("again: ")) } else { None };
    echo(true);
    let p = first?;
    if let Some(a) = again {
        if a? != p {
            return Err("the passwords differ".into());
        }
    }
    if p.is_empty() {
        return Err("empty password (give it on stdin: `echo … | unimail init …` or type it at the prompt)".into());
    }
    if p.len() > mail_config::password::MAX_PASSWORD_LEN {
        return Err("password too long".into());
    }
    Ok(p)
}

// ------------------------------------------------------------------- dns

fn dns_cmd(o: &Opts) -> Result<(), String> {
    let dir = o.dir()?;
    let mut ip4: Vec<Ipv4Addr> = Vec::new();
    for a in o.all("ip4") {
        ip4.push(a.parse().map_err(|_| format!("--ip4: `{a}` is not an IPv4 address"))?);
    }
    let mut ip6: Vec<Ipv6Addr> = Vec::new();
    for a in o.all("ip6") {
        ip6.push(a.parse().map_err(|_| format!("--ip6: `{a}` is not an IPv6 address"))?);
    }
    let ttl: u32 = match o.get("ttl") {
        None => 3600,
        Some(t) => t.parse().map_err(|_| format!("--ttl: `{t}` is not a number of seconds"))?,
    };
    let l = match load(&dir) {
        Ok(l) => l,
        Err(problems) => {
            for p in &problems {
                println!("{p}");
            }
            return Err(format!(
                "{} errors in {}: run `unimail check` and fix them first",
                problems.len(),
                dir.display()
            ));
        }
    };
    let z = zone(&l, &ip4, &ip6, ttl)?;
    match (o.get("verify").is_some(), o.get("server")) {
        (false, None) => {
            print!("{z}");
            Ok(())
        }
        (true, Some(server)) => match crate::dnsverify::verify(&l, &z, server)? {
            true => Ok(()),
            false => Err("records missing or different".into()),
        },
        (true, None) => Err("--verify needs --server IP[:PORT]".into()),
        (false, Some(_)) => Err("--server is only used with --verify".into()),
    }
}

/// A TXT record's RDATA: RFC 1035 3.3.14 character-strings of at most 255
/// bytes each (RFC 6376 3.6.2.2: DKIM verifiers concatenate them).
pub fn txt(value: &str) -> String {
    value.as_bytes().chunks(255).map(|c| format!("\"{}\"", String::from_utf8_lossy(c))).collect::<Vec<_>>().join(" ")
}

/// RFC 1035 3.5 / RFC 3596 2.5: the reverse-lookup name of an address.
pub fn ptr_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            let mut s = String::new();
            for b in a.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 15, b >> 4));
            }
            s + "ip6.arpa."
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The zone-file text `unimail dns` prints.
pub(crate) fn zone(l: &Loaded, ip4: &[Ipv4Addr], ip6: &[Ipv6Addr], ttl: u32) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let cfg = &l.cfg;
    let host = cfg.hostname.as_str();
    let mut z = String::new();
    let w = &mut z;
    let _ = writeln!(w, "; DNS records for the unimail appliance {host} (domains: {}).", cfg.domains.join(", "));
    let _ = writeln!(w, "; Zone-file lines with absolute names: paste each into the zone it belongs to.");

    // RFC 7208 5.6: exactly the pinned addresses; `mx` when none are given.
    let spf = if ip4.is_empty() && ip6.is_empty() {
        "v=spf1 mx -all".to_string()
    } else {
        let mut s = String::from("v=spf1");
        ip4.iter().for_each(|a| s.push_str(&format!(" ip4:{a}")));
        ip6.iter().for_each(|a| s.push_str(&format!(" ip6:{a}")));
        s + " -all"
    };

    // The certificate port 25 presents (SMTP clients send the MX name as SNI).
    let mut tlsa = None;
    let mut self_signed = false;
    let pair = cfg.tls.select(Some(host));
    if let Some(mail_config::CertPair { cert: FileRef::Path(p), .. }) = pair {
        use rustls_pki_types::pem::PemObject;
        let b = l.read(p)?;
        let der = rustls_pki_types::CertificateDer::pem_slice_iter(&b)
            .next()
            .ok_or(format!("'{p}' holds no certificate"))?
            .map_err(|e| format!("'{p}': {e:?}"))?;
        let (_, c) = x509_parser::parse_x509_certificate(&der).map_err(|e| format!("'{p}': {e}"))?;
        tlsa = Some(hex(&Sha256::digest(c.public_key().raw)));
        self_signed = c.issuer() == c.subject();
    }

    let _ = writeln!(w, "\n; ---- the mail host {host}");
    if ip4.is_empty() {
        let _ = writeln!(w, "; (give --ip4 ADDRESS for its A record)");
    }
    for a in ip4 {
        let _ = writeln!(w, "{host}. {ttl} IN A {a}");
    }
    for a in ip6 {
        let _ = writeln!(w, "{host}. {ttl} IN AAAA {a}");
    }
    if !ip4.is_empty() || !ip6.is_empty() {
        let _ = writeln!(w, "; Each address also needs a PTR naming {host} (many receivers refuse mail");
        let _ = writeln!(w, "; without one); it is set by whoever owns the address, e.g. the provider's console:");
        for a in ip4.iter().map(|a| IpAddr::V4(*a)).chain(ip6.iter().map(|a| IpAddr::V6(*a))) {
            let _ = writeln!(w, ";   {} {ttl} IN PTR {host}.", ptr_name(a));
        }
    }
    if !cfg.domains.iter().any(|d| d == host) {
        let _ = writeln!(w, "; SPF for the HELO name (RFC 7208 2.3)");
        let _ = writeln!(w, "{host}. {ttl} IN TXT {}", txt(&spf));
    }
    match &tlsa {
        Some(h) => {
            let _ = writeln!(
                w,
                "; DANE (RFC 7672, RFC 6698): DANE-EE, SPKI, SHA-256; valid for self-signed certificates too."
            );
            let _ = writeln!(w, "; Publish only in a DNSSEC-signed zone; publish the new one before changing the key.");
            let _ = writeln!(w, "_25._tcp.{host}. {ttl} IN TLSA 3 1 1 {h}");
        }
        None => {
            let _ = writeln!(w, "; No TLSA record: the certificate is generated at boot and changes every boot.");
        }
    }

    for d in &cfg.domains {
        let _ = writeln!(w, "\n; ---- {d}");
        let _ = writeln!(w, "{d}. {ttl} IN MX 10 {host}.");
        let _ = writeln!(w, "{d}. {ttl} IN TXT {}", txt(&spf));
        for k in cfg.dkim.iter().filter(|k| &k.domain == d) {
            match &k.key {
                FileRef::Path(p) => {
                    let pem = String::from_utf8(l.read(p)?).map_err(|_| format!("'{p}' is not PEM"))?;
                    let key = DkimKey::from_pem(&pem).ok_or(format!("'{p}' is not a DKIM private key"))?;
                    let _ = writeln!(w, "{}._domainkey.{d}. {ttl} IN TXT {}", k.selector, txt(&key.dns_record()));
                }
                FileRef::Builtin(_) => {
                    let _ = writeln!(
                        w,
                        "; {}._domainkey.{d}: key generated at boot; the kernel prints its record",
                        k.selector
                    );
                }
            }
        }
        // RFC 7489 6.3: p=none collects reports without affecting delivery;
        // raise it to quarantine/reject once `dmarc-report` shows only your
        // own servers passing.
        let rua = format!("postmaster@{d}");
        if cfg.resolve(&rua).is_err() {
            let _ = writeln!(w, "; WARNING: {rua} does not route to a local user: add an alias so reports arrive");
        }
        let _ = writeln!(w, "_dmarc.{d}. {ttl} IN TXT {}", txt(&format!("v=DMARC1; p=none; rua=mailto:{rua}")));
        // RFC 8461 3.2: the policy; its id changes whenever its text does.
        let mode = if self_signed || tlsa.is_none() { "testing" } else { "enforce" };
        let policy = format!("version: STSv1\nmode: {mode}\nmx: {host}\nmax_age: 604800\n");
        let id = &hex(&Sha256::digest(policy.as_bytes()))[..20];
        let _ = writeln!(w, "_mta-sts.{d}. {ttl} IN TXT {}", txt(&format!("v=STSv1; id={id}")));
        // RFC 8460 3: where TLS failure reports go.
        let _ = writeln!(w, "_smtp._tls.{d}. {ttl} IN TXT {}", txt(&format!("v=TLSRPTv1; rua=mailto:{rua}")));
        // RFC 6186 3.1, RFC 8314 5.1 (implicit TLS preferred): client
        // autodiscovery. Port 0 and target "." say "not offered" (RFC 6186 4).
        let ls = &cfg.listeners;
        for (svc, prio, port) in [
            ("_submissions", 0, ls.submissions),
            ("_submission", 10, ls.submission),
            ("_imaps", 0, ls.imaps),
            ("_imap", 10, ls.imap),
            ("_sieve", 0, ls.managesieve),
        ] {
            match port {
                Some(p) => {
                    let _ = writeln!(w, "{svc}._tcp.{d}. {ttl} IN SRV {prio} 1 {p} {host}.");
                }
                None => {
                    let _ = writeln!(w, "{svc}._tcp.{d}. {ttl} IN SRV 0 0 0 .");
                }
            }
        }
        let _ = writeln!(w, "; MTA-STS policy (RFC 8461 3.3): serve this text at");
        let _ = writeln!(w, ";   https://mta-sts.{d}/.well-known/mta-sts.txt");
        let _ = writeln!(w, "; from a web server with a CA-issued certificate for mta-sts.{d}:");
        for line in policy.lines() {
            let _ = writeln!(w, ";   {line}");
        }
        if mode == "testing" {
            let _ = writeln!(
                w,
                "; (mode testing: {host}'s certificate is not CA-issued; senders enforcing MTA-STS would refuse it)"
            );
        }
        let _ = writeln!(w, "; Thunderbird autoconfig: serve this at https://autoconfig.{d}/mail/config-v1.1.xml");
        for line in autoconfig(d, host, ls).lines() {
            let _ = writeln!(w, ";   {line}");
        }
    }
    Ok(z)
}

/// Thunderbird's autoconfig file (config-v1.1.xml): implicit TLS where it
/// is on (RFC 8314 3), else STARTTLS. Login is the full address.
fn autoconfig(domain: &str, host: &str, ls: &mail_config::Listeners) -> String {
    let server = |tag: &str, kind: &str, tls: Option<u16>, starttls: Option<u16>| {
        match (tls, starttls) {
        (Some(p), _) | (None, Some(p)) => format!(
            "  <{tag} type=\"{kind}\">\n    <hostname>{host}</hostname>\n    <port>{p}</port>\n    <socketType>{}</socketType>\n    <authentication>password-cleartext</authentication>\n    <username>%EMAILADDRESS%</username>\n  </{tag}>\n",
            if tls.is_some() { "SSL" } else { "STARTTLS" }
        ),
        (None, None) => String::new(),
    }
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n<emailProvider id=\"{domain}\">\n  <domain>{domain}</domain>\n  <displayName>{domain}</displayName>\n{}{}</emailProvider>\n</clientConfig>\n",
        server("incomingServer", "imap", ls.imaps, ls.imap),
        server("outgoingServer", "smtp", ls.submissions, ls.submission),
    )
}
