//! Dovecot-style password hashes: parse, verify, and create.
//!
//! A stored hash looks like `{SCHEME}data` (Dovecot's "password scheme"
//! syntax, see Dovecot's doc "Password Schemes"). The scheme name is
//! case-insensitive. A bare crypt string (`$6$…`, `$2y$…`, `$argon2id$…`) is
//! accepted as `{CRYPT}` and dispatched on its `$id$` prefix, as Dovecot does.
//!
//! Parsing is separate from verifying so the config parser can reject an
//! unusable hash (bad syntax, or a cost the appliance cannot afford, such as
//! Argon2 memory larger than its heap) at boot, naming the line, instead of
//! failing at the first login.
//!
//! Comparisons of computed against stored digests are constant-time
//! (`subtle`). The costs (rounds, memory) come from the stored hash; the
//! [`HashLimits`] bound them so a hash cannot make a login exhaust the heap or
//! the CPU.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use base64ct::{Base64, Base64Bcrypt, Base64Unpadded, Encoding};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Longest password accepted for verification. SHA-crypt's step 14 hashes the
/// password once per password byte (quadratic), so the length is bounded
/// before any work is done. SASL PLAIN lines are bounded far below this by
/// the protocol layers anyway.
pub const MAX_PASSWORD_LEN: usize = 512;

/// Upper bounds on the work a stored hash may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    /// Argon2 memory in KiB (`m=`); every login allocates this much.
    pub argon2_max_memory_kib: u32,
    /// Argon2 passes (`t=`).
    pub argon2_max_passes: u32,
    /// SHA-crypt `rounds=`.
    pub sha_crypt_max_rounds: u32,
    /// bcrypt cost (log2 of the rounds).
    pub bcrypt_max_cost: u32,
}

impl Default for HashLimits {
    /// Defaults sized for a 64 MiB guest: 16 MiB of Argon2 memory at most.
    fn default() -> Self {
        HashLimits {
            argon2_max_memory_kib: 16 * 1024,
            argon2_max_passes: 10,
            sha_crypt_max_rounds: 1_000_000,
            bcrypt_max_cost: 14,
        }
    }
}

/// The password schemes this appliance understands (Dovecot names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `{SHA512-CRYPT}` / `$6$` (Drepper's SHA-crypt).
    Sha512Crypt,
    /// `{SHA256-CRYPT}` / `$5$`.
    Sha256Crypt,
    /// `{BLF-CRYPT}` / `$2a$`, `$2b$`, `$2y$` (bcrypt).
    BlfCrypt,
    /// `{ARGON2ID}` / `$argon2id$` (PHC string).
    Argon2id,
    /// `{ARGON2I}` / `$argon2i$`.
    Argon2i,
    /// `{SSHA512}`: base64(SHA-512(password ‖ salt) ‖ salt).
    Ssha512,
    /// `{SSHA256}`: base64(SHA-256(password ‖ salt) ‖ salt).
    Ssha256,
    /// `{SHA512}`: base64(SHA-512(password)), unsalted; weak.
    Sha512,
    /// `{SHA256}`: base64(SHA-256(password)), unsalted; weak.
    Sha256,
    /// `{PLAIN}`: the password itself; for tests only, weak.
    Plain,
}

impl Scheme {
    /// The Dovecot scheme name, as written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Sha512Crypt => "SHA512-CRYPT",
            Scheme::Sha256Crypt => "SHA256-CRYPT",
            Scheme::BlfCrypt => "BLF-CRYPT",
            Scheme::Argon2id => "ARGON2ID",
            Scheme::Argon2i => "ARGON2I",
            Scheme::Ssha512 => "SSHA512",
            Scheme::Ssha256 => "SSHA256",
            Scheme::Sha512 => "SHA512",
            Scheme::Sha256 => "SHA256",
            Scheme::Plain => "PLAIN",
        }
    }

    /// Weak schemes: unsalted or plaintext. The config parser refuses them
    /// unless `allow_weak_passwords = yes`.
    pub fn is_weak(self) -> bool {
        matches!(self, Scheme::Plain | Scheme::Sha512 | Scheme::Sha256)
    }
}

/// Why a stored hash cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashError {
    /// `{NAME}` names a scheme this appliance does not implement.
    UnknownScheme(String),
    /// The data after the scheme is malformed for that scheme.
    Malformed(&'static str),
    /// The hash asks for more work or memory than [`HashLimits`] allow.
    TooCostly(&'static str),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::UnknownScheme(s) => write!(f, "unknown password scheme {{{}}}", s),
            HashError::Malformed(why) => write!(f, "malformed password hash: {}", why),
            HashError::TooCostly(why) => write!(f, "password hash too costly for this appliance: {}", why),
        }
    }
}

/// A parsed, validated stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    scheme: Scheme,
    kind: Kind,
}

impl fmt::Debug for PasswordHash {
    /// Never prints the digest or (for `{PLAIN}`) the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash({{{}}})", self.scheme.name())
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    ShaCrypt { rounds: Option<u32>, salt: Vec<u8>, encoded: Vec<u8> },
    Bcrypt { cost: u32, salt: [u8; 16], hash: [u8; 23] },
    Argon2 { version: u32, m: u32, t: u32, p: u32, salt: Vec<u8>, hash: Vec<u8> },
    Salted { digest: Vec<u8>, salt: Vec<u8> },
    Plain(Vec<u8>),
}

/// The outcome of [`verify_password`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches.
    Match,
    /// The password does not match.
    Mismatch,
}

/// Parse `stored` and check `password` against it, with default limits.
pub fn verify_password(stored: &str, password: &[u8]) -> Result<Verdict, HashError> {
    let h = PasswordHash::parse(stored, &HashLimits::default())?;
    Ok(h.verify(password))
}

impl PasswordHash {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// True for `{PLAIN}` and unsalted digests.
    pub fn is_weak(&self) -> bool {
        self.scheme.is_weak()
    }

    /// Argon2 memory in KiB this hash allocates per verification (0 for
    /// other schemes), so the kernel can serialise expensive logins.
    pub fn memory_kib(&self) -> u32 {
        match &self.kind {
            Kind::Argon2 { m, .. } => *m,
            _ => 0,
        }
    }

    /// Parse a Dovecot-style stored hash, enforcing `limits`.
    pub fn parse(stored: &str, limits: &HashLimits) -> Result<PasswordHash, HashError> {
        let (scheme_name, data) = match stored.strip_prefix('{') {
            Some(rest) => match rest.find('}') {
                Some(end) => (Some(&rest[..end]), &rest[end + 1..]),
                None => return Err(HashError::Malformed("'{' without '}'")),
            },
            None => (None, stored),
        };
        let scheme = match scheme_name {
            None => sniff_crypt(data)?,
            Some(n) if n.eq_ignore_ascii_case("CRYPT") => sniff_crypt(data)?,
            Some(n) => {
                let all = [
                    Scheme::Sha512Crypt,
                    Scheme::Sha256Crypt,
                    Scheme::BlfCrypt,
                    Scheme::Argon2id,
                    Scheme::Argon2i,
                    Scheme::Ssha512,
                    Scheme::Ssha256,
                    Scheme::Sha512,
                    Scheme::Sha256,
                    Scheme::Plain,
                ];
                match all.iter().find(|s| s.name().eq_ignore_ascii_case(n)) {
                    Some(s) => *s,
                    None => return Err(HashError::UnknownScheme(String::from(n))),
                }
            }
        };
        let kind = match scheme {
            Scheme::Sha512Crypt => parse_sha_crypt(data, "$6$", 86, limits)?,
            Scheme::Sha256Crypt => parse_sha_crypt(data, "$5$", 43, limits)?,
            Scheme::BlfCrypt => parse_bcrypt(data, limits)?,
            Scheme::Argon2id => parse_argon2(data, "$argon2id$", limits)?,
            Scheme::Argon2i => parse_argon2(data, "$argon2i$", limits)?,
            Scheme::Ssha512 => parse_salted(data, 64, true)?,
            Scheme::Ssha256 => parse_salted(data, 32, true)?,
            Scheme::Sha512 => parse_salted(data, 64, false)?,
            Scheme::Sha256 => parse_salted(data, 32, false)?,
            Scheme::Plain => Kind::Plain(data.as_bytes().to_vec()),
        };
        Ok(PasswordHash { scheme, kind })
    }

    /// Check `password` against this hash. Passwords longer than
    /// [`MAX_PASSWORD_LEN`] never match.
    pub fn verify(&self, password: &[u8]) -> Verdict {
        if password.len() > MAX_PASSWORD_LEN {
            return Verdict::Mismatch;
        }
        let ok = match (&self.kind, self.scheme) {
            (Kind::ShaCrypt { rounds, salt, encoded }, s) => {
                let computed = sha_crypt_encoded(s, password, salt, rounds.unwrap_or(5000));
                ct_eq(&computed, encoded)
            }
            (Kind::Bcrypt { cost, salt, hash }, _) => {
                let out = bcrypt_raw(*cost, salt, password);
                ct_eq(&out[..23], hash)
            }
            (Kind::Argon2 { version, m, t, p, salt, hash }, s) => {
                match argon2_raw(s, *version, *m, *t, *p, salt, password, hash.len()) {
                    Some(out) => ct_eq(&out, hash),
                    None => false,
                }
            }
            (Kind::Salted { digest, salt }, s) => {
                let computed = salted_digest(s, password, salt);
                ct_eq(&computed, digest)
            }
            (Kind::Plain(p), _) => ct_eq(password, p),
        };
        if ok {
            Verdict::Match
        } else {
            Verdict::Mismatch
        }
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret (it is fixed by the scheme); contents are.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn sniff_crypt(data: &str) -> Result<Scheme, HashError> {
    if data.starts_with("$6$") {
        Ok(Scheme::Sha512Crypt)
    } else if data.starts_with("$5$") {
        Ok(Scheme::Sha256Crypt)
    } else if data.starts_with("$2a$") || data.starts_with("$2b$") || data.starts_with("$2y$") {
        Ok(Scheme::BlfCrypt)
    } else if data.starts_with("$argon2id$") {
        Ok(Scheme::Argon2id)
    } else if data.starts_with("$argon2i$") {
        Ok(Scheme::Argon2i)
    } else if data.starts_with('$') {
        Err(HashError::Malformed("unsupported crypt method"))
    } else {
        Err(HashError::Malformed("no {SCHEME} prefix and not a crypt string"))
    }
}

// ---------------------------------------------------------------------------
// SHA-crypt (Drepper, "Unix crypt using SHA-256 and SHA-512", 2008):
// `$6$[rounds=N$]salt$hash`, salt at most 16 chars, rounds clamped to
// [1000, 999999999], default 5000 (and then omitted from the string).

fn parse_sha_crypt(data: &str, prefix: &str, hash_len: usize, limits: &HashLimits) -> Result<Kind, HashError> {
    let rest = data.strip_prefix(prefix).ok_or(HashError::Malformed("wrong crypt prefix"))?;
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let end = r.find('$').ok_or(HashError::Malformed("rounds= without '$'"))?;
            let n: u32 = r[..end].parse().map_err(|_| HashError::Malformed("bad rounds="))?;
            // Drepper: out-of-range values are clamped, not rejected.
            let n = n.clamp(1000, 999_999_999);
            if n > limits.sha_crypt_max_rounds {
                return Err(HashError::TooCostly("SHA-crypt rounds above the limit"));
            }
            (Some(n), &r[end + 1..])
        }
        None => (None, rest),
    };
    let end = rest.rfind('$').ok_or(HashError::Malformed("missing '$' before the hash"))?;
    let salt = &rest[..end];
    let encoded = &rest[end + 1..];
    if salt.len() > 16 || salt.bytes().any(|b| b == b'$' || b == b':' || b == b'\n') {
        return Err(HashError::Malformed("bad SHA-crypt salt"));
    }
    if encoded.len() != hash_len || !encoded.bytes().all(is_crypt64) {
        return Err(HashError::Malformed("bad SHA-crypt hash length or characters"));
    }
    Ok(Kind::ShaCrypt { rounds, salt: salt.as_bytes().to_vec(), encoded: encoded.as_bytes().to_vec() })
}

fn is_crypt64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/'
}

fn sha_crypt_encoded(scheme: Scheme, password: &[u8], salt: &[u8], rounds: u32) -> Vec<u8> {
    let rounds = rounds.clamp(1000, 999_999_999) as usize;
    match scheme {
        Scheme::Sha256Crypt => {
            let params = sha_crypt::Sha256Params::new(rounds).expect("rounds clamped");
            match sha_crypt::sha256_crypt_b64(password, salt, &params) {
                Ok(s) => s.into_bytes(),
                Err(_) => Vec::new(),
            }
        }
        _ => {
            let params = sha_crypt::Sha512Params::new(rounds).expect("rounds clamped");
            match sha_crypt::sha512_crypt_b64(password, salt, &params) {
                Ok(s) => s.into_bytes(),
                Err(_) => Vec::new(),
            }
        }
    }
}

/// Create a `{SHA512-CRYPT}$6$…` hash. `salt` is used as given (up to 16
/// characters from `./0-9A-Za-z`; the caller supplies randomness).
/// `rounds` of `None` means the default 5000, omitted from the string.
pub fn hash_sha512_crypt(password: &[u8], salt: &str, rounds: Option<u32>) -> Result<String, HashError> {
    if salt.is_empty() || salt.len() > 16 || !salt.bytes().all(is_crypt64) {
        return Err(HashError::Malformed("salt must be 1-16 characters of ./0-9A-Za-z"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(HashError::Malformed("password too long"));
    }
    let mut out = String::from("{SHA512-CRYPT}$6$");
    if let Some(r) = rounds {
        let r = r.clamp(1000, 999_999_999);
        out.push_str("rounds=");
        push_u32(&mut out, r);
        out.push('$');
    }
    out.push_str(salt);
    out.push('$');
    let enc = sha_crypt_encoded(Scheme::Sha512Crypt, password, salt.as_bytes(), rounds.unwrap_or(5000));
    out.push_str(core::str::from_utf8(&enc).map_err(|_| HashError::Malformed("encoding"))?);
    Ok(out)
}

fn push_u32(out: &mut String, n: u32) {
    use core::fmt::Write;
    let _ = write!(out, "{}", n);
}

// ---------------------------------------------------------------------------
// bcrypt (Provos & Mazières 1999; OpenBSD `$2b$`): `$2y$CC$` + 22 chars of
// salt + 31 chars of hash, in bcrypt's own base64 alphabet. The password is
// NUL-terminated and truncated to 72 bytes. `$2a$`, `$2b$` and `$2y$` are
// computed identically here (the 8-bit bug `$2x$` is not supported).

fn parse_bcrypt(data: &str, limits: &HashLimits) -> Result<Kind, HashError> {
    let b = data.as_bytes();
    // ASCII only: the fixed byte offsets below must be character
    // boundaries (a multi-byte character there panicked; found by fuzzing).
    if b.len() != 60 || !data.is_ascii() || b[0] != b'$' || b[3] != b'$' || b[6] != b'$' {
        return Err(HashError::Malformed("bcrypt string must be 60 characters $2y$NN$…"));
    }
    let cost: u32 = data[4..6].parse().map_err(|_| HashError::Malformed("bad bcrypt cost"))?;
    if !(4..=31).contains(&cost) {
        return Err(HashError::Malformed("bcrypt cost outside 4..31"));
    }
    if cost > limits.bcrypt_max_cost {
        return Err(HashError::TooCostly("bcrypt cost above the limit"));
    }
    let mut salt = [0u8; 16];
    let mut hash = [0u8; 23];
    decode_bcrypt64(&data[7..29], &mut salt)?;
    decode_bcrypt64(&data[29..60], &mut hash)?;
    Ok(Kind::Bcrypt { cost, salt, hash })
}

/// bcrypt base64 decode that ignores the unused low bits of the last
/// character (some generators leave them non-zero; base64ct is strict).
fn decode_bcrypt64(s: &str, out: &mut [u8]) -> Result<(), HashError> {
    const ALPHA: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut n = 0;
    for c in s.bytes() {
        let v = ALPHA.iter().position(|&a| a == c).ok_or(HashError::Malformed("bad bcrypt base64"))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if n < out.len() {
                out[n] = (acc >> bits) as u8;
                n += 1;
            }
            acc &= (1 << bits) - 1;
        }
    }
    if n != out.len() {
        return Err(HashError::Malformed("bad bcrypt base64 length"));
    }
    Ok(())
}

fn bcrypt_raw(cost: u32, salt: &[u8; 16], password: &[u8]) -> [u8; 24] {
    use blowfish::Blowfish;
    // Key: password bytes plus NUL, at most 72 bytes.
    let mut key = [0u8; 73];
    let n = password.len().min(72);
    key[..n].copy_from_slice(&password[..n]);
    let key = &key[..(n + 1).min(72)];
    // EksBlowfishSetup
    let mut state = Blowfish::bc_init_state();
    state.salted_expand_key(salt, key);
    for _ in 0..(1u64 << cost) {
        state.bc_expand_key(key);
        state.bc_expand_key(salt);
    }
    // Encrypt "OrpheanBeholderScryDoubt" 64 times.
    let mut ctext: [u32; 6] = [0x4f72_7068, 0x6561_6e42, 0x6568_6f6c, 0x6465_7253, 0x6372_7944, 0x6f75_6274];
    let mut out = [0u8; 24];
    for i in (0..6).step_by(2) {
        for _ in 0..64 {
            let [l, r] = state.bc_encrypt([ctext[i], ctext[i + 1]]);
            ctext[i] = l;
            ctext[i + 1] = r;
        }
        out[i * 4..i * 4 + 4].copy_from_slice(&ctext[i].to_be_bytes());
        out[i * 4 + 4..i * 4 + 8].copy_from_slice(&ctext[i + 1].to_be_bytes());
    }
    out
}

/// Create a `{BLF-CRYPT}$2y$…` hash from a caller-supplied 16-byte salt.
pub fn hash_blf_crypt(password: &[u8], salt: &[u8; 16], cost: u32) -> Result<String, HashError> {
    if !(4..=31).contains(&cost) {
        return Err(HashError::Malformed("bcrypt cost outside 4..31"));
    }
    let raw = bcrypt_raw(cost, salt, password);
    let mut out = String::from("{BLF-CRYPT}$2y$");
    use core::fmt::Write;
    let _ = write!(out, "{:02}$", cost);
    let mut buf = [0u8; 32];
    out.push_str(Base64Bcrypt::encode(salt, &mut buf).map_err(|_| HashError::Malformed("enc"))?);
    out.push_str(Base64Bcrypt::encode(&raw[..23], &mut buf).map_err(|_| HashError::Malformed("enc"))?);
    Ok(out)
}

// ---------------------------------------------------------------------------
// Argon2 (RFC 9106) in the PHC string format that libsodium and Dovecot
// write: `$argon2id$v=19$m=65536,t=3,p=1$<salt b64>$<hash b64>` with
// unpadded standard base64. `v=` may be absent (version 0x10).

fn parse_argon2(data: &str, prefix: &str, limits: &HashLimits) -> Result<Kind, HashError> {
    let rest = data.strip_prefix(prefix).ok_or(HashError::Malformed("wrong argon2 prefix"))?;
    let mut parts = rest.split('$');
    let mut field = parts.next().ok_or(HashError::Malformed("argon2: missing fields"))?;
    let mut version = 0x10;
    if let Some(v) = field.strip_prefix("v=") {
        version = v.parse().map_err(|_| HashError::Malformed("argon2: bad v="))?;
        if version != 0x10 && version != 0x13 {
            return Err(HashError::Malformed("argon2: unknown version"));
        }
        field = parts.next().ok_or(HashError::Malformed("argon2: missing parameters"))?;
    }
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in field.split(',') {
        let (k, v) = kv.split_once('=').ok_or(HashError::Malformed("argon2: bad parameter"))?;
        let v: u32 = v.parse().map_err(|_| HashError::Malformed("argon2: bad parameter value"))?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return Err(HashError::Malformed("argon2: unknown parameter")),
        }
    }
    let (m, t, p) = match (m, t, p) {
        (Some(m), Some(t), Some(p)) => (m, t, p),
        _ => return Err(HashError::Malformed("argon2: m, t and p are required")),
    };
    let salt_b64 = parts.next().ok_or(HashError::Malformed("argon2: missing salt"))?;
    let hash_b64 = parts.next().ok_or(HashError::Malformed("argon2: missing hash"))?;
    if parts.next().is_some() {
        return Err(HashError::Malformed("argon2: trailing fields"));
    }
    if m > limits.argon2_max_memory_kib {
        return Err(HashError::TooCostly("argon2 memory (m=) above the limit"));
    }
    if t > limits.argon2_max_passes {
        return Err(HashError::TooCostly("argon2 passes (t=) above the limit"));
    }
    let salt = Base64Unpadded::decode_vec(salt_b64).map_err(|_| HashError::Malformed("argon2: bad salt base64"))?;
    let hash = Base64Unpadded::decode_vec(hash_b64).map_err(|_| HashError::Malformed("argon2: bad hash base64"))?;
    if argon2::Params::new(m, t, p, Some(hash.len())).is_err() || salt.len() < 8 || hash.len() > 128 {
        return Err(HashError::Malformed("argon2: parameters out of range"));
    }
    Ok(Kind::Argon2 { version, m, t, p, salt, hash })
}

#[allow(clippy::too_many_arguments)]
fn argon2_raw(
    scheme: Scheme,
    version: u32,
    m: u32,
    t: u32,
    p: u32,
    salt: &[u8],
    password: &[u8],
    out_len: usize,
) -> Option<Vec<u8>> {
    let alg = if scheme == Scheme::Argon2i { argon2::Algorithm::Argon2i } else { argon2::Algorithm::Argon2id };
    let ver = if version == 0x10 { argon2::Version::V0x10 } else { argon2::Version::V0x13 };
    let params = argon2::Params::new(m, t, p, Some(out_len)).ok()?;
    let ctx = argon2::Argon2::new(alg, ver, params);
    let mut out = vec![0u8; out_len];
    ctx.hash_password_into(password, salt, &mut out).ok()?;
    Some(out)
}

/// Argon2id cost parameters for [`hash_argon2id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub passes: u32,
    /// Lanes.
    pub lanes: u32,
}

impl Default for Argon2Cost {
    /// 16 MiB, 3 passes, 1 lane: affordable in the appliance's heap.
    fn default() -> Self {
        Argon2Cost { memory_kib: 16 * 1024, passes: 3, lanes: 1 }
    }
}

/// Create an `{ARGON2ID}$argon2id$v=19$…` hash (32-byte output) from a
/// caller-supplied salt (at least 8 bytes; 16 recommended).
pub fn hash_argon2id(password: &[u8], salt: &[u8], cost: Argon2Cost) -> Result<String, HashError> {
    if salt.len() < 8 || salt.len() > 64 {
        return Err(HashError::Malformed("argon2 salt must be 8..64 bytes"));
    }
    let out = argon2_raw(Scheme::Argon2id, 0x13, cost.memory_kib, cost.passes, cost.lanes, salt, password, 32)
        .ok_or(HashError::Malformed("argon2 parameters out of range"))?;
    use core::fmt::Write;
    let mut s = String::new();
    let _ = write!(
        s,
        "{{ARGON2ID}}$argon2id$v=19$m={},t={},p={}${}${}",
        cost.memory_kib,
        cost.passes,
        cost.lanes,
        Base64Unpadded::encode_string(salt),
        Base64Unpadded::encode_string(&out)
    );
    Ok(s)
}

// ---------------------------------------------------------------------------
// Salted and plain digests, Dovecot's {SSHA512}/{SSHA256}/{SHA512}/{SHA256}:
// standard padded base64 of digest ‖ salt (salt empty for the unsalted ones).
// Dovecot also accepts hex for the unsalted ones; only base64 is taken here.

fn parse_salted(data: &str, digest_len: usize, salted: bool) -> Result<Kind, HashError> {
    let raw = Base64::decode_vec(data.trim()).map_err(|_| HashError::Malformed("bad base64"))?;
    if raw.len() < digest_len || (!salted && raw.len() != digest_len) || raw.len() > digest_len + 256 {
        return Err(HashError::Malformed("wrong digest length"));
    }
    let (digest, salt) = raw.split_at(digest_len);
    Ok(Kind::Salted { digest: digest.to_vec(), salt: salt.to_vec() })
}

fn salted_digest(scheme: Scheme, password: &[u8], salt: &[u8]) -> Vec<u8> {
    match scheme {
        Scheme::Ssha256 | Scheme::Sha256 => {
            let mut h = Sha256::new();
            h.update(password);
            h.update(salt);
            h.finalize().to_vec()
        }
        _ => {
            let mut h = Sha512::new();
            h.update(password);
            h.update(salt);
            h.finalize().to_vec()
        }
    }
}

/// Create an `{SSHA512}` hash from a caller-supplied salt.
pub fn hash_ssha512(password: &[u8], salt: &[u8]) -> String {
    let mut raw = salted_digest(Scheme::Ssha512, password, salt);
    raw.extend_from_slice(salt);
    let mut s = String::from("{SSHA512}");
    s.push_str(&Base64::encode_string(&raw));
    s
}

#[cfg(test)]
mod tests;
