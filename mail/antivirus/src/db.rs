//! ClamAV signature databases in their own text formats ("Hash-based
//! Signatures" and "Extended signature format" of the ClamAV manual).
//!
//! * `.hdb`: `MD5:FileSize:MalwareName[:MinFL[:MaxFL]]`
//! * `.hsb`: `SHA1-or-SHA256:FileSize:MalwareName[:MinFL[:MaxFL]]`; the size
//!   may be `*` (any size; ClamAV wants MinFL 73 with it, we do not insist).
//!   A `*` size is accepted in `.hdb` lines too.
//! * `.ndb`: `MalwareName:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]`.
//! * `.ldb`: `Name;TargetDescriptionBlock;LogicalExpression;Subsig0;...`
//!   (what is supported: [`crate::logical`]).
//!
//! Target types: 0 (any) matches every scanned object; 4 (mail) matches the
//! raw message only; 3 (HTML) and 7 (ASCII text) are matched like 0 on the
//! decoded parts (we do not normalise HTML/text as ClamAV does, so such a
//! signature may miss); 1 (PE), 6 (ELF), 9 (Mach-O) and 10 (PDF) match
//! objects starting with that format's magic (`MZ`, `\x7fELF`, Mach-O magic,
//! `%PDF-`); every other type is accepted and skipped (counted in
//! [`LoadReport::skipped`]). Offsets: `*`, `n`, `EOF-n`, each with an
//! optional `,MaxShift`; the executable-relative ones (`EP+n`, `Sx+n`,
//! `SEx`, `SL+n`) are skipped likewise. Comment lines start with `#`.
//! Unlike ClamAV we match only the bytes as decoded, not also a lower-cased
//! normalisation of text files (tests/clamscan.rs shows the difference).
//!
//! Errors are `line N: problem` and refuse the whole file (as ClamAV does
//! with a malformed database); nothing panics.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::logical::{parse_expr, Expr, MAX_SUBSIGS};
use crate::pattern::{self, Compiled};

/// Bounds on what a database may make us allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbLimits {
    /// Bytes per line.
    pub max_line: usize,
    /// Signatures of all kinds together.
    pub max_signatures: usize,
    /// Bytes of a malware name.
    pub max_name: usize,
}

impl Default for DbLimits {
    fn default() -> Self {
        DbLimits { max_line: 16 * 1024, max_signatures: 2_000_000, max_name: 256 }
    }
}

/// A database line that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub problem: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// What one loaded file contributed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub loaded: usize,
    /// Valid lines we cannot evaluate (unsupported target type or offset).
    pub skipped: usize,
}

/// Database file kinds, chosen by file name extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Hdb,
    Hsb,
    Ndb,
    Ldb,
}

impl Format {
    /// The format for a file name (`main.hdb`), or `None` for files we do
    /// not read.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit('.').next()?;
        match ext.to_ascii_lowercase().as_str() {
            // The `u` forms are ClamAV's PUA ("potentially unwanted")
            // variants of the same formats.
            "hdb" | "hdu" => Some(Format::Hdb),
            "hsb" | "hsu" => Some(Format::Hsb),
            "ndb" | "ndu" => Some(Format::Ndb),
            "ldb" | "ldu" => Some(Format::Ldb),
            _ => None,
        }
    }
}

/// Where an `.ndb` pattern must start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offset {
    Any,
    /// From the start, with a floating range `shift`.
    Abs {
        at: usize,
        shift: usize,
    },
    /// `EOF-n`: n bytes before the end.
    FromEnd {
        back: usize,
        shift: usize,
    },
}

impl Offset {
    pub fn allows(&self, start: usize, len: usize) -> bool {
        match *self {
            Offset::Any => true,
            Offset::Abs { at, shift } => start >= at && start - at <= shift,
            Offset::FromEnd { back, shift } => {
                let Some(at) = len.checked_sub(back) else { return false };
                start >= at && start - at <= shift
            }
        }
    }
}

/// What kind of object a scan looks at; decides which target types apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// 0: any object.
    Any,
    /// 4: the raw message.
    Mail,
    /// 3 and 7, matched on decoded parts without normalisation.
    Text,
    /// 1 PE, 6 ELF, 9 Mach-O, 10 PDF: objects with that magic.
    Magic(&'static [&'static [u8]]),
}

const PE: &[&[u8]] = &[b"MZ"];
const ELF: &[&[u8]] = &[b"\x7fELF"];
const MACHO: &[&[u8]] = &[b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"];
const PDF: &[&[u8]] = &[b"%PDF-"];

impl Target {
    /// Does a signature for this target apply to `obj` (is_mail: the raw
    /// message rather than a decoded part)?
    pub fn applies(&self, obj: &[u8], is_mail: bool) -> bool {
        match self {
            Target::Any => true,
            Target::Mail => is_mail,
            Target::Text => !is_mail,
            Target::Magic(m) => !is_mail && m.iter().any(|p| obj.starts_with(p)),
        }
    }
}

/// One compiled `.ndb` signature.
#[derive(Clone, Debug)]
pub struct BodySig {
    pub name: String,
    pub target: Target,
    pub offset: Offset,
    pub pattern: Compiled,
    /// `Some((ldb, n))`: subsignature n of logical signature `ldb`, whose
    /// matches are counted rather than reported.
    pub sub_of: Option<(u32, u8)>,
}

/// One `.ldb` logical signature.
#[derive(Clone, Debug)]
pub struct LogicalSig {
    pub name: String,
    /// `FileSize:min-max` of the target description.
    pub size: Option<(u64, u64)>,
    pub expr: Expr,
    pub subsigs: u8,
    /// The expression holds with no subsignature matched (`0<2`): checked
    /// on every object, not only when a subsignature matched.
    pub zero_true: bool,
}

/// A hash signature: digest bytes, size (`None` = `*`), name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashSig {
    pub size: Option<u64>,
    pub name: String,
}

/// All loaded signatures with the index the scanner uses.
#[derive(Clone, Debug, Default)]
pub struct Database {
    pub(crate) md5: BTreeMap<[u8; 16], Vec<HashSig>>,
    pub(crate) sha1: BTreeMap<[u8; 20], Vec<HashSig>>,
    pub(crate) sha256: BTreeMap<[u8; 32], Vec<HashSig>>,
    pub(crate) body: Vec<BodySig>,
    pub(crate) logical: Vec<LogicalSig>,
    /// Logical signatures true with no match at all (see `zero_true`).
    pub(crate) zero_true: Vec<u32>,
    /// Signatures with a 4-byte key: sorted (key, signature index), and a
    /// 2^20-bit filter over a hash of the key (allocated with the first
    /// such signature): most positions are rejected by one bit test.
    pub(crate) index4: Vec<(u32, u32)>,
    pub(crate) keys4: Vec<u64>,
    /// Signatures whose anchor is 2 or 3 bytes: 2-byte keys.
    pub(crate) index: Vec<(u16, u32)>,
    /// Bit set of the two-byte keys present in `index`: most positions of
    /// a buffer are rejected by one bit test.
    pub(crate) keys: Vec<u64>,
    limits: DbLimits,
    count: usize,
}

fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let h = (b[2 * i] as char).to_digit(16)?;
        let l = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (h * 16 + l) as u8;
    }
    Some(out)
}

fn parse_usize(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Database {
    pub fn new() -> Database {
        Database::with_limits(DbLimits::default())
    }

    pub fn with_limits(limits: DbLimits) -> Database {
        Database { limits, keys: alloc::vec![0; 1024], ..Database::default() }
    }

    /// Signatures loaded so far (all formats).
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Loads one database file's text in the given format. On error nothing
    /// from this file is kept.
    pub fn load(&mut self, format: Format, text: &str) -> Result<LoadReport, ParseError> {
        self.load_bytes(format, text.as_bytes())
    }

    /// Like [`Database::load`] for raw file bytes (a line that is not
    /// UTF-8 is an error naming it).
    pub fn load_bytes(&mut self, format: Format, bytes: &[u8]) -> Result<LoadReport, ParseError> {
        let mut staged = Database::with_limits(self.limits.clone());
        staged.count = self.count;
        let mut report = LoadReport::default();
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let err = |p: &str| ParseError { line: n + 1, problem: p.to_string() };
            if line.len() > self.limits.max_line {
                return Err(err("line too long"));
            }
            let line = core::str::from_utf8(line).map_err(|_| err("not UTF-8"))?;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if staged.count >= self.limits.max_signatures {
                return Err(err("too many signatures"));
            }
            let used = match format {
                Format::Hdb | Format::Hsb => staged.hash_line(format, line),
                Format::Ndb => staged.ndb_line(line),
                Format::Ldb => staged.ldb_line(line),
            }
            .map_err(|p| err(&p))?;
            if used {
                report.loaded += 1;
                staged.count += 1;
            } else {
                report.skipped += 1;
            }
        }
        self.merge(staged);
        Ok(report)
    }

    /// Loads a file from the config disk by name: the format comes from the
    /// extension; `Ok(None)` for files that are not signature databases
    /// (so a directory can be loaded as a whole). Errors read
    /// `sigs/main.ndb: line 3: bad hex digit`.
    pub fn load_named(&mut self, name: &str, bytes: &[u8]) -> Result<Option<LoadReport>, String> {
        let Some(format) = Format::from_file_name(name) else { return Ok(None) };
        self.load_bytes(format, bytes).map(Some).map_err(|e| format!("{name}: {e}"))
    }

    fn merge(&mut self, s: Database) {
        for (k, v) in s.md5 {
            self.md5.entry(k).or_default().extend(v);
        }
        for (k, v) in s.sha1 {
            self.sha1.entry(k).or_default().extend(v);
        }
        for (k, v) in s.sha256 {
            self.sha256.entry(k).or_default().extend(v);
        }
        self.count = s.count;
        let base = self.body.len() as u32;
        for (key, i) in s.index {
            self.index.push((key, base + i));
            self.keys[usize::from(key) / 64] |= 1 << (key % 64);
        }
        if !s.index4.is_empty() && self.keys4.is_empty() {
            self.keys4 = alloc::vec![0; KEY4_WORDS];
        }
        for (key, i) in s.index4 {
            self.index4.push((key, base + i));
            let h = key4_hash(key);
            self.keys4[h / 64] |= 1 << (h % 64);
        }
        self.index4.sort_unstable();
        let ldb_base = self.logical.len() as u32;
        self.body.extend(s.body.into_iter().map(|mut b| {
            if let Some((l, n)) = b.sub_of {
                b.sub_of = Some((l + ldb_base, n));
            }
            b
        }));
        self.zero_true.extend(s.zero_true.iter().map(|l| l + ldb_base));
        self.logical.extend(s.logical);
        self.index.sort_unstable();
    }

    fn name(&self, s: &str) -> Result<String, String> {
        if s.is_empty() {
            return Err(String::from("empty malware name"));
        }
        if s.len() > self.limits.max_name {
            return Err(String::from("malware name too long"));
        }
        Ok(s.to_string())
    }

    fn flevels(fields: &[&str]) -> Result<(), String> {
        if fields.len() > 2 || fields.iter().any(|f| !f.is_empty() && parse_usize(f).is_none()) {
            return Err(String::from("bad functionality level fields"));
        }
        Ok(())
    }

    fn hash_line(&mut self, format: Format, line: &str) -> Result<bool, String> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 {
            return Err(String::from("expected HASH:SIZE:NAME"));
        }
        Self::flevels(&f[3..])?;
        let size = match f[1] {
            "*" => None,
            s => Some(parse_usize(s).ok_or("bad file size")? as u64),
        };
        let sig = HashSig { size, name: self.name(f[2])? };
        let h = f[0];
        match (format, h.len()) {
            (Format::Hdb, 32) => self.md5.entry(hex_bytes(h).ok_or("bad MD5 hex")?).or_default().push(sig),
            (Format::Hsb, 40) => self.sha1.entry(hex_bytes(h).ok_or("bad SHA1 hex")?).or_default().push(sig),
            (Format::Hsb, 64) => self.sha256.entry(hex_bytes(h).ok_or("bad SHA256 hex")?).or_default().push(sig),
            (Format::Hdb, _) => return Err(String::from("MD5 must be 32 hex digits")),
            _ => return Err(String::from("hash must be 40 (SHA1) or 64 (SHA256) hex digits")),
        }
        Ok(true)
    }

    fn ndb_line(&mut self, line: &str) -> Result<bool, String> {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 {
            return Err(String::from("expected NAME:TARGET:OFFSET:HEXSIG"));
        }
        Self::flevels(&f[4..])?;
        let name = self.name(f[0])?;
        let target = parse_target(f[1])?;
        let offset = parse_offset(f[2])?;
        // The pattern is parsed even for skipped lines so bad ones are caught.
        let pattern = pattern::compile(pattern::parse(f[3])?)?;
        let (Some(target), Some(offset)) = (target, offset) else { return Ok(false) };
        self.push_body(BodySig { name, target, offset, pattern, sub_of: None });
        Ok(true)
    }

    fn push_body(&mut self, sig: BodySig) {
        let p = &sig.pattern;
        let k = &p.anchor[p.key_at..p.key_at + p.key_len];
        if let [a, b, c, d] = *k {
            self.index4.push((u32::from_be_bytes([a, b, c, d]), self.body.len() as u32));
        } else {
            self.index.push((u16::from_be_bytes([k[0], k[1]]), self.body.len() as u32));
        }
        self.body.push(sig);
    }

    /// `Name;TargetDescriptionBlock;LogicalExpression;Subsig0;...`
    /// (see [`crate::logical`] for what is supported).
    fn ldb_line(&mut self, line: &str) -> Result<bool, String> {
        let f: Vec<&str> = line.split(';').collect();
        if f.len() < 4 {
            return Err(String::from("expected NAME;TARGETBLOCK;EXPRESSION;SUBSIG..."));
        }
        let name = self.name(f[0])?;
        let subs = &f[3..];
        if subs.len() > MAX_SUBSIGS {
            return Err(String::from("more than 64 subsignatures"));
        }
        let expr = parse_expr(f[2])?;
        if usize::from(expr.max_sub()) >= subs.len() {
            return Err(String::from("expression names a missing subsignature"));
        }
        let mut target = Some(Target::Any);
        let mut size = None;
        let mut supported = true;
        for item in f[1].split(',') {
            let (k, v) = item.split_once(':').ok_or("bad target description")?;
            match k {
                "Target" => target = parse_target(v)?,
                "Engine" => {}
                "FileSize" => {
                    let (a, b) = v.split_once('-').unwrap_or((v, v));
                    let (a, b) = (parse_usize(a).ok_or("bad FileSize")?, parse_usize(b).ok_or("bad FileSize")?);
                    size = Some((a as u64, b as u64));
                }
                _ => supported = false,
            }
        }
        let mut parsed = alloc::vec::Vec::with_capacity(subs.len());
        for sub in subs {
            if sub.contains("::") || sub.contains('/') {
                supported = false;
                continue;
            }
            let (offset, hex) = match sub.split_once(':') {
                Some((o, h)) => (parse_offset(o)?, h),
                None => (Some(Offset::Any), *sub),
            };
            let pattern = pattern::compile(pattern::parse(hex)?)?;
            match offset {
                Some(o) => parsed.push((o, pattern)),
                None => supported = false,
            }
        }
        let Some(target) = target.filter(|_| supported) else { return Ok(false) };
        let ldb = self.logical.len() as u32;
        for (n, (offset, pattern)) in parsed.into_iter().enumerate() {
            self.push_body(BodySig { name: String::new(), target, offset, pattern, sub_of: Some((ldb, n as u8)) });
        }
        let zero_true = expr.eval(&[0; MAX_SUBSIGS]);
        if zero_true {
            self.zero_true.push(self.logical.len() as u32);
        }
        self.logical.push(LogicalSig { name, size, expr, subsigs: subs.len() as u8, zero_true });
        Ok(true)
    }
}

/// Words of the 4-byte key filter (2^20 bits, 128 KiB).
pub(crate) const KEY4_WORDS: usize = (1 << 20) / 64;

/// Fibonacci hashing of a 4-byte key to 20 bits.
pub(crate) fn key4_hash(k: u32) -> usize {
    (k.wrapping_mul(0x9e37_79b1) >> 12) as usize
}

/// ClamAV target type number to what we can match; `Ok(None)` for types
/// accepted but not evaluated.
fn parse_target(s: &str) -> Result<Option<Target>, String> {
    Ok(match parse_usize(s).ok_or("bad target type")? {
        0 => Some(Target::Any),
        4 => Some(Target::Mail),
        3 | 7 => Some(Target::Text),
        1 => Some(Target::Magic(PE)),
        6 => Some(Target::Magic(ELF)),
        9 => Some(Target::Magic(MACHO)),
        10 => Some(Target::Magic(PDF)),
        2 | 5 | 8 | 11..=14 => None,
        _ => return Err(String::from("unknown target type")),
    })
}

/// `*`, `n`, `EOF-n` with optional `,MaxShift`; `Ok(None)` for valid offsets
/// we cannot evaluate (`EP`, `S`, `SE`, `SL` forms, which need a PE/ELF
/// parser).
fn parse_offset(s: &str) -> Result<Option<Offset>, String> {
    if s == "*" {
        return Ok(Some(Offset::Any));
    }
    let (base, shift) = match s.split_once(',') {
        Some((b, sh)) => (b, parse_usize(sh).ok_or("bad MaxShift")?),
        None => (s, 0),
    };
    if let Some(n) = base.strip_prefix("EOF-") {
        return Ok(Some(Offset::FromEnd { back: parse_usize(n).ok_or("bad EOF-n offset")?, shift }));
    }
    if let Some(n) = parse_usize(base) {
        return Ok(Some(Offset::Abs { at: n, shift }));
    }
    let exe = base.strip_prefix("EP+").or_else(|| base.strip_prefix("EP-")).or_else(|| base.strip_prefix("SL+"));
    let sect = base.strip_prefix("SE").or_else(|| base.strip_prefix('S').and_then(|r| r.split('+').next()));
    if exe.and_then(parse_usize).is_some() || sect.and_then(parse_usize).is_some() {
        return Ok(None);
    }
    Err(format!("bad offset {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_formats() {
        let mut db = Database::new();
        let r = db
            .load(Format::Hdb, "# comment\n44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test\r\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:*:Any:73\n")
            .unwrap();
        assert_eq!(r, LoadReport { loaded: 2, skipped: 0 });
        let r = db
            .load(
                Format::Hsb,
                "3395856ce81f2b7382dee72602f798b642f14140:68:E1\n275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:E2:73\n",
            )
            .unwrap();
        assert_eq!(r.loaded, 2);
        assert_eq!(db.len(), 4);
        assert_eq!(db.md5.len(), 2);
        assert_eq!(db.sha1.len(), 1);
        assert_eq!(db.sha256.len(), 1);
    }

    #[test]
    fn hash_errors() {
        let bad = [
            (Format::Hdb, "44d88612fea8a8f36de82e1278abb02f:68", "line 1: expected HASH:SIZE:NAME"),
            (Format::Hdb, "44d88612fea8a8f36de82e1278abb0:68:x", "line 1: MD5 must be 32 hex digits"),
            (Format::Hdb, "44d88612fea8a8f36de82e1278abb0zz:68:x", "line 1: bad MD5 hex"),
            (Format::Hdb, "#\n44d88612fea8a8f36de82e1278abb02f:-1:x", "line 2: bad file size"),
            (Format::Hdb, "44d88612fea8a8f36de82e1278abb02f:68:", "line 1: empty malware name"),
            (Format::Hdb, "44d88612fea8a8f36de82e1278abb02f:68:x:y", "line 1: bad functionality level fields"),
            (
                Format::Hsb,
                "44d88612fea8a8f36de82e1278abb02f:68:x",
                "line 1: hash must be 40 (SHA1) or 64 (SHA256) hex digits",
            ),
        ];
        for (f, text, want) in bad {
            let mut db = Database::new();
            assert_eq!(db.load(f, text).unwrap_err().to_string(), want, "{text}");
            assert!(db.is_empty());
        }
        let mut db = Database::new();
        assert_eq!(db.load_bytes(Format::Hdb, b"#\n\xff:1:x\n").unwrap_err().to_string(), "line 2: not UTF-8");
        assert_eq!(db.load_named("x/readme.txt", b"junk").unwrap(), None);
        assert_eq!(
            db.load_named("sigs/a.hdb", b"zz:1:x").unwrap_err(),
            "sigs/a.hdb: line 1: MD5 must be 32 hex digits"
        );
        assert_eq!(db.load_named("a.HSB", b"").unwrap(), Some(LoadReport::default()));
        let mut db = Database::with_limits(DbLimits { max_line: 10, ..DbLimits::default() });
        assert_eq!(db.load(Format::Hdb, "x".repeat(11).as_str()).unwrap_err().to_string(), "line 1: line too long");
        let mut db = Database::with_limits(DbLimits { max_signatures: 1, ..DbLimits::default() });
        let two = "44d88612fea8a8f36de82e1278abb02f:68:a\n44d88612fea8a8f36de82e1278abb02f:68:b\n";
        assert_eq!(db.load(Format::Hdb, two).unwrap_err().to_string(), "line 2: too many signatures");
    }

    #[test]
    fn ndb_lines() {
        let mut db = Database::new();
        let text = "A:0:*:41424344\nB:4:10,5:41424344\nC:0:EOF-20:4142*4344\nD:1:EP+0:4d5a9000\nE:2:*:41424344\nF:6:S1+4:7f454c46\nG:7:0:6869(21|3f)\n";
        let r = db.load(Format::Ndb, text).unwrap();
        assert_eq!(r, LoadReport { loaded: 4, skipped: 3 });
        assert_eq!(db.body[1].offset, Offset::Abs { at: 10, shift: 5 });
        assert_eq!(db.body[2].offset, Offset::FromEnd { back: 20, shift: 0 });
        assert_eq!(db.body[3].target, Target::Text);
        for (text, want) in [
            ("A:0:*", "line 1: expected NAME:TARGET:OFFSET:HEXSIG"),
            ("A:x:*:41424344", "line 1: bad target type"),
            ("A:99:*:41424344", "line 1: unknown target type"),
            ("A:0:XX:41424344", "line 1: bad offset \"XX\""),
            ("A:0:1,x:41424344", "line 1: bad MaxShift"),
            ("A:0:*:4142434", "line 1: odd number of hex digits"),
            ("A:0:*:41??43", "line 1: signature needs at least two consecutive fixed bytes"),
            ("ok:0:*:4142\nA:1:EP+0:zz", "line 2: bad hex digit"),
        ] {
            let mut db = Database::new();
            assert_eq!(db.load(Format::Ndb, text).unwrap_err().to_string(), want, "{text}");
            assert!(db.is_empty());
        }
    }

    #[test]
    fn ldb_lines() {
        let mut db = Database::new();
        let text = "\
A;Target:0;0&1;41424344;45464748
B;Engine:51-255,Target:1,FileSize:10-20;(0|1)>1,2;10:41424344;EOF-4:45464748;4142*4344
C;Target:0,Container:CL_TYPE_ZIP;0;41424344
D;Target:0;0;41424344::i
E;Target:0;0&1;41424344;0/abc/
F;Target:2;0;41424344
";
        let r = db.load(Format::Ldb, text).unwrap();
        assert_eq!(r, LoadReport { loaded: 2, skipped: 4 });
        assert_eq!(db.logical.len(), 2);
        assert_eq!(db.logical[1].size, Some((10, 20)));
        assert_eq!(db.body.iter().filter(|b| b.sub_of.is_some()).count(), 5);
        assert_eq!(db.body[3].offset, Offset::FromEnd { back: 4, shift: 0 });
        for (text, want) in [
            ("A;Target:0;0", "line 1: expected NAME;TARGETBLOCK;EXPRESSION;SUBSIG..."),
            ("A;Target:0;0&1;41424344", "line 1: expression names a missing subsignature"),
            ("A;Target:0;0&;41424344", "line 1: bad logical expression"),
            ("A;Target;0;41424344", "line 1: bad target description"),
            ("A;Target:0,FileSize:x;0;41424344", "line 1: bad FileSize"),
            ("A;Target:0;0;4142434", "line 1: odd number of hex digits"),
            ("A;Target:0;0;XX:41424344", "line 1: bad offset \"XX\""),
        ] {
            let mut db = Database::new();
            assert_eq!(db.load(Format::Ldb, text).unwrap_err().to_string(), want, "{text}");
            assert!(db.is_empty());
        }
        let many = alloc::format!("A;Target:0;0;{}", ["41424344"; 65].join(";"));
        assert_eq!(
            Database::new().load(Format::Ldb, &many).unwrap_err().to_string(),
            "line 1: more than 64 subsignatures"
        );
        // Loaded after other files: subsignature owners are renumbered.
        let mut db = Database::new();
        db.load(Format::Ldb, "X;Target:0;0;5859").unwrap();
        db.load(Format::Ldb, "Y;Target:0;0&1;41424344;45464748").unwrap();
        assert_eq!(db.scan_bytes(b"..ABCD..EFGH.."), Some("Y"));
        assert_eq!(db.scan_bytes(b"..XY.."), Some("X"));
        assert_eq!(db.scan_bytes(b"..ABCD.."), None);
    }

    #[test]
    fn offsets_and_targets() {
        assert!(Offset::Abs { at: 10, shift: 5 }.allows(15, 100));
        assert!(!Offset::Abs { at: 10, shift: 5 }.allows(16, 100));
        assert!(!Offset::Abs { at: 10, shift: 5 }.allows(9, 100));
        assert!(Offset::FromEnd { back: 20, shift: 0 }.allows(80, 100));
        assert!(!Offset::FromEnd { back: 200, shift: 0 }.allows(0, 100));
        assert!(Target::Magic(ELF).applies(b"\x7fELF...", false));
        assert!(!Target::Magic(ELF).applies(b"\x7fELF...", true));
        assert!(Target::Mail.applies(b"x", true));
        assert!(!Target::Mail.applies(b"x", false));
        assert_eq!(Format::from_file_name("sigs/unimail.NDB"), Some(Format::Ndb));
        assert_eq!(Format::from_file_name("main.cvd"), None);
        assert_eq!(Format::from_file_name("pua.hdu"), Some(Format::Hdb));
        assert_eq!(Format::from_file_name("x.ldb"), Some(Format::Ldb));
    }
}
