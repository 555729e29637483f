//! Dates: IMAP `date-time` (RFC 3501 9) for INTERNALDATE/APPEND and
//! `date` for SEARCH, plus the RFC 5322 3.3 `Date:` header for SENT* keys.
//! Times are Unix seconds (UTC); the caller supplies "now" when needed.

use alloc::string::String;
use core::fmt::Write;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 for a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn month_from_name(s: &[u8]) -> Option<u32> {
    MONTHS.iter().position(|m| m.as_bytes().eq_ignore_ascii_case(s)).map(|i| i as u32 + 1)
}

/// Formats an INTERNALDATE as `"dd-Mon-yyyy hh:mm:ss +0000"` (quoted).
pub fn format_internal(t: i64, out: &mut String) {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "\"{:02}-{}-{:04} {:02}:{:02}:{:02} +0000\"",
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32))
}

/// RFC 3501 9 `date-text` (`1-Feb-1994` / `01-Feb-1994`): days since epoch.
pub fn parse_date(s: &[u8]) -> Option<i64> {
    let mut it = s.split(|&c| c == b'-');
    let d = num(it.next()?)?;
    let m = month_from_name(it.next()?)?;
    let y = num(it.next()?)?;
    if it.next().is_some() || !(1..=31).contains(&d) || y < 1 || y > 9999 {
        return None;
    }
    Some(days_from_civil(y as i64, m, d))
}

/// RFC 3501 9 `date-time` content (without quotes):
/// `dd-Mon-yyyy hh:mm:ss +zzzz` where the day may be space-padded.
pub fn parse_date_time(s: &[u8]) -> Option<i64> {
    let s = if s.first() == Some(&b' ') { &s[1..] } else { s };
    let mut parts = s.split(|&c| c == b' ');
    let days = parse_date(parts.next()?)?;
    let time = parts.next()?;
    let zone = parts.next()?;
    if parts.next().is_some() || time.len() != 8 || zone.len() != 5 {
        return None;
    }
    let h = num(&time[0..2])?;
    let mi = num(&time[3..5])?;
    let se = num(&time[6..8])?;
    if time[2] != b':' || time[5] != b':' || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let sign = match zone[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let zh = num(&zone[1..3])? as i64;
    let zm = num(&zone[3..5])? as i64;
    let off = sign * (zh * 3600 + zm * 60);
    Some(days * 86400 + (h * 3600 + mi * 60 + se) as i64 - off)
}

/// RFC 5322 3.3 `Date:` header, leniently (day name optional, obsolete
/// zone names). Returns Unix seconds.
pub fn parse_rfc5322(s: &[u8]) -> Option<i64> {
    let mut toks = s
        .split(|&c| c == b' ' || c == b'\t' || c == b',' || c == b'\r' || c == b'\n')
        .filter(|t| !t.is_empty())
        .peekable();
    let first = *toks.peek()?;
    if !first[0].is_ascii_digit() {
        toks.next();
    }
    let d = num(toks.next()?)?;
    let m = month_from_name(toks.next()?)?;
    let mut y = num(toks.next()?)? as i64;
    if y < 50 {
        y += 2000;
    } else if y < 1000 {
        y += 1900;
    }
    let time = toks.next()?;
    let mut tp = time.split(|&c| c == b':');
    let h = num(tp.next()?)? as i64;
    let mi = num(tp.next()?)? as i64;
    let se = tp.next().and_then(num).unwrap_or(0) as i64;
    let off = match toks.next() {
        Some(z) if z.len() == 5 && (z[0] == b'+' || z[0] == b'-') => {
            let v = num(&z[1..3])? as i64 * 3600 + num(&z[3..5])? as i64 * 60;
            if z[0] == b'-' {
                -v
            } else {
                v
            }
        }
        Some(z) => match z.to_ascii_uppercase().as_slice() {
            b"EDT" => -4 * 3600,
            b"EST" | b"CDT" => -5 * 3600,
            b"CST" | b"MDT" => -6 * 3600,
            b"MST" | b"PDT" => -7 * 3600,
            b"PST" => -8 * 3600,
            _ => 0,
        },
        None => 0,
    };
    if !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + se - off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_internal() {
        let t = parse_date_time(b"17-Jul-1996 02:44:25 -0700").unwrap();
        let mut s = String::new();
        format_internal(t, &mut s);
        assert_eq!(s, "\"17-Jul-1996 09:44:25 +0000\"");
        assert_eq!(parse_date_time(b" 7-Feb-1994 21:52:25 -0800").unwrap() % 86400, 5 * 3600 + 52 * 60 + 25);
        assert!(parse_date_time(b"7-Foo-1994 21:52:25 -0800").is_none());
        assert!(parse_date_time(b"7-Feb-1994 25:52:25 -0800").is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"1-Jan-1970"), Some(0));
        assert_eq!(parse_date(b"01-feb-1970"), Some(31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(parse_rfc5322(b"Mon, 7 Feb 1994 21:52:25 -0800"), parse_date_time(b"07-Feb-1994 21:52:25 -0800"));
        assert_eq!(parse_rfc5322(b"7 Feb 94 21:52 GMT").unwrap() % 60, 0);
    }
}
