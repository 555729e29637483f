//! The containers reports arrive in: gzip (RFC 1952) and zip (PKWARE
//! APPNOTE 4.3: local file headers, central directory), both deflate
//! (RFC 1951, inflated by miniz_oxide) or, for zip, stored.
//!
//! Every inflation is bounded by the caller's output limit, so a
//! decompression bomb ends in [`ContainerError::TooLarge`], not an outage.

use alloc::vec::Vec;
use core::fmt;

/// Why a container could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerError {
    Gzip(&'static str),
    Zip(&'static str),
    /// The uncompressed report would exceed this many bytes.
    TooLarge(usize),
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContainerError::Gzip(w) => write!(f, "gzip: {w}"),
            ContainerError::Zip(w) => write!(f, "zip: {w}"),
            ContainerError::TooLarge(n) => write!(f, "uncompressed report larger than {n} bytes"),
        }
    }
}

/// What the bytes are, by their magic numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gzip,
    Zip,
    /// Anything else is taken to be the XML itself.
    Plain,
}

pub fn kind(data: &[u8]) -> Kind {
    if data.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else {
        Kind::Plain
    }
}

/// CRC-32 (ISO 3309, as RFC 1952 8 and the zip format use it).
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn le16(d: &[u8], at: usize) -> Option<usize> {
    d.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
}
fn le32(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Raw deflate, at most `limit` bytes out.
fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, Option<&'static str>> {
    use miniz_oxide::inflate::TINFLStatus;
    match miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit) {
        Ok(v) => Ok(v),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => Err(None),
        Err(e) if e.status == TINFLStatus::FailedCannotMakeProgress => Err(Some("deflate data truncated")),
        Err(_) => Err(Some("corrupt deflate data")),
    }
}

/// RFC 1952 2.3: one gzip member; the data, checked against CRC32 and ISIZE.
pub fn gunzip(d: &[u8], limit: usize) -> Result<Vec<u8>, ContainerError> {
    use ContainerError::Gzip as E;
    const FTEXT_RESERVED: u8 = 0xE0;
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if d.len() < 18 || d[0] != 0x1f || d[1] != 0x8b {
        return Err(E("not a gzip file (too short or bad magic)"));
    }
    if d[2] != 8 {
        return Err(E("compression method is not deflate"));
    }
    let flg = d[3];
    if flg & FTEXT_RESERVED != 0 {
        return Err(E("reserved flag bits set"));
    }
    let mut p = 10;
    if flg & FEXTRA != 0 {
        p += 2 + le16(d, p).ok_or(E("truncated header"))?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flg & flag != 0 {
            let z = d.get(p..).and_then(|r| r.iter().position(|&b| b == 0)).ok_or(E("truncated header"))?;
            p += z + 1;
        }
    }
    if flg & FHCRC != 0 {
        // RFC 1952 2.3.1: the two low bytes of the CRC32 of the header.
        let want = le16(d, p).ok_or(E("truncated header"))?;
        if crc32(&d[..p]) as usize & 0xffff != want {
            return Err(E("header CRC mismatch"));
        }
        p += 2;
    }
    if p + 8 > d.len() {
        return Err(E("truncated"));
    }
    let body = &d[p..d.len() - 8];
    let out = inflate(body, limit).map_err(|e| e.map_or(ContainerError::TooLarge(limit), E))?;
    let crc = le32(d, d.len() - 8).unwrap_or(0);
    let isize = le32(d, d.len() - 4).unwrap_or(0);
    if crc32(&out) != crc {
        return Err(E("CRC32 mismatch (corrupt or truncated)"));
    }
    if out.len() as u32 != isize {
        return Err(E("length mismatch (corrupt, truncated or several members)"));
    }
    Ok(out)
}

/// APPNOTE 4.3.16: end of central directory record; 4.3.12: central
/// directory headers; 4.3.7: local file headers. The first entry whose
/// name ends in `.xml` (else the first entry) is extracted.
pub fn unzip(d: &[u8], limit: usize) -> Result<Vec<u8>, ContainerError> {
    use ContainerError::Zip as E;
    const EOCD: &[u8] = b"PK\x05\x06";
    const CDH: &[u8] = b"PK\x01\x02";
    const LFH: &[u8] = b"PK\x03\x04";
    // The EOCD is 22 bytes plus a comment of up to 65535.
    let search_from = d.len().saturating_sub(22 + 0xffff);
    let eocd = d[search_from..]
        .windows(4)
        .rposition(|w| w == EOCD)
        .map(|i| search_from + i)
        .ok_or(E("no end of central directory (truncated?)"))?;
    if eocd + 22 > d.len() {
        return Err(E("truncated end of central directory"));
    }
    let entries = le16(d, eocd + 10).ok_or(E("truncated end of central directory"))?;
    let cd_off = le32(d, eocd + 16).ok_or(E("truncated end of central directory"))?;
    if cd_off == 0xffff_ffff || entries == 0xffff {
        return Err(E("ZIP64 archives are not supported"));
    }
    if entries == 0 {
        return Err(E("empty archive"));
    }
    let mut p = cd_off as usize;
    let mut chosen = None;
    for _ in 0..entries {
        if d.get(p..p + 4) != Some(CDH) {
            return Err(E("bad central directory header"));
        }
        let h = |o: usize| le16(d, p + o).ok_or(E("truncated central directory"));
        let w = |o: usize| le32(d, p + o).ok_or(E("truncated central directory"));
        let (flags, method) = (h(8)?, h(10)?);
        let (crc, csize, usize_) = (w(16)?, w(20)?, w(24)?);
        let (nlen, xlen, clen) = (h(28)?, h(30)?, h(32)?);
        let local = w(42)?;
        let name = d.get(p + 46..p + 46 + nlen).ok_or(E("truncated central directory"))?;
        let e = (flags, method, crc, csize, usize_, local);
        let is_xml = name.len() >= 4 && name[name.len() - 4..].eq_ignore_ascii_case(b".xml");
        match chosen {
            None => chosen = Some((e, is_xml)),
            Some((_, false)) if is_xml => chosen = Some((e, true)),
            _ => {}
        }
        p += 46 + nlen + xlen + clen;
    }
    let ((flags, method, crc, csize, usize_, local), _) = chosen.ok_or(E("empty archive"))?;
    if flags & 1 != 0 {
        return Err(E("encrypted entry"));
    }
    if csize == 0xffff_ffff || usize_ == 0xffff_ffff || local == 0xffff_ffff {
        return Err(E("ZIP64 entries are not supported"));
    }
    if usize_ as usize > limit {
        return Err(ContainerError::TooLarge(limit));
    }
    let l = local as usize;
    if d.get(l..l + 4) != Some(LFH) {
        return Err(E("bad local file header"));
    }
    let start = l + 30 + le16(d, l + 26).ok_or(E("truncated"))? + le16(d, l + 28).ok_or(E("truncated"))?;
    let data = d.get(start..start + csize as usize).ok_or(E("entry data truncated"))?;
    let out = match method {
        0 => data.to_vec(),
        8 => inflate(data, limit).map_err(|e| e.map_or(ContainerError::TooLarge(limit), E))?,
        _ => return Err(E("entry compression method is not stored or deflate")),
    };
    if out.len() != usize_ as usize || crc32(&out) != crc {
        return Err(E("entry CRC32 or size mismatch (corrupt)"));
    }
    Ok(out)
}

/// Test helpers: build containers with miniz_oxide (also used by the
/// image tool's tests through its own encoder).
#[cfg(test)]
pub(crate) mod build {
    use super::crc32;
    use alloc::vec::Vec;

    pub fn gzip(data: &[u8], name: Option<&[u8]>) -> Vec<u8> {
        let mut v = alloc::vec![0x1f, 0x8b, 8, if name.is_some() { 8 } else { 0 }, 0, 0, 0, 0, 0, 3];
        if let Some(n) = name {
            v.extend_from_slice(n);
            v.push(0);
        }
        v.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
        v.extend(crc32(data).to_le_bytes());
        v.extend((data.len() as u32).to_le_bytes());
        v
    }

    /// A zip with `files` (name, data, deflate?).
    pub fn zip(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data, deflate) in files {
            let body = if *deflate { miniz_oxide::deflate::compress_to_vec(data, 6) } else { data.to_vec() };
            let method: u16 = if *deflate { 8 } else { 0 };
            let off = out.len() as u32;
            let common = |v: &mut Vec<u8>| {
                v.extend(20u16.to_le_bytes()); // version needed
                v.extend(0u16.to_le_bytes()); // flags
                v.extend(method.to_le_bytes());
                v.extend([0, 0, 0x21, 0]); // time, date
                v.extend(crc32(data).to_le_bytes());
                v.extend((body.len() as u32).to_le_bytes());
                v.extend((data.len() as u32).to_le_bytes());
                v.extend((name.len() as u16).to_le_bytes());
                v.extend(0u16.to_le_bytes()); // extra
            };
            out.extend(b"PK\x03\x04");
            common(&mut out);
            out.extend(name.as_bytes());
            out.extend(&body);
            cd.extend(b"PK\x01\x02");
            cd.extend(20u16.to_le_bytes()); // version made by
            common(&mut cd);
            cd.extend([0u8; 6]); // comment len, disk, internal attrs
            cd.extend(0u32.to_le_bytes()); // external attrs
            cd.extend(off.to_le_bytes());
            cd.extend(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend(&cd);
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((files.len() as u16).to_le_bytes());
        out.extend((files.len() as u16).to_le_bytes());
        out.extend((cd.len() as u32).to_le_bytes());
        out.extend(cd_off.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] = b"<feedback><report_metadata><org_name>x</org_name></report_metadata></feedback>\n";

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn gzip_roundtrip_and_corruption() {
        let g = build::gzip(DOC, Some(b"example.com!example.org!1!2.xml"));
        assert_eq!(kind(&g), Kind::Gzip);
        assert_eq!(gunzip(&g, 1 << 20).unwrap(), DOC);
        assert_eq!(gunzip(&g, 10), Err(ContainerError::TooLarge(10)));
        let mut bad = g.clone();
        let n = bad.len();
        bad[n - 6] ^= 1;
        assert_eq!(gunzip(&bad, 1 << 20), Err(ContainerError::Gzip("CRC32 mismatch (corrupt or truncated)")));
        for cut in 0..g.len() {
            assert!(gunzip(&g[..cut], 1 << 20).is_err(), "{cut}");
        }
    }

    #[test]
    fn zip_stored_and_deflated() {
        let z = build::zip(&[("readme.txt", b"hi", false), ("r.xml", DOC, true)]);
        assert_eq!(kind(&z), Kind::Zip);
        assert_eq!(unzip(&z, 1 << 20).unwrap(), DOC);
        let z = build::zip(&[("r.XML", DOC, false)]);
        assert_eq!(unzip(&z, 1 << 20).unwrap(), DOC);
        assert_eq!(unzip(&z, 10), Err(ContainerError::TooLarge(10)));
        for cut in 0..z.len() {
            assert!(unzip(&z[..cut], 1 << 20).is_err(), "{cut}");
        }
    }

    #[test]
    fn deflate_bomb_is_bounded() {
        let big = alloc::vec![b'a'; 1 << 20];
        let g = build::gzip(&big, None);
        assert!(g.len() < 4096);
        assert_eq!(gunzip(&g, 1 << 16), Err(ContainerError::TooLarge(1 << 16)));
    }
}
