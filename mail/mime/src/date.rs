//! RFC 5322 3.3 date-time (with the obsolete forms of 4.3) to a Unix
//! timestamp and zone offset, and formatting as RFC 5322 and as IMAP's
//! date-time (RFC 3501 9).

use alloc::string::String;
use core::fmt::Write;

/// A point in time with the zone offset it was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub timestamp: i64,
    /// Minutes east of UTC (`+0200` is 120). RFC 5322 4.3: unknown zones
    /// are `-0000`, i.e. 0 here.
    pub offset_minutes: i16,
}

/// Broken-down local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// 0 = Sunday.
    pub weekday: u8,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Days from 1970-01-01 to the given proleptic Gregorian date (the classic
/// era-based algorithm: 400-year eras of 146097 days).
pub fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl DateTime {
    /// Builds from local fields and an offset; `None` when out of range.
    pub fn from_civil(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8, offset_minutes: i16) -> Option<DateTime> {
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        if !(0..=9999).contains(&y) || offset_minutes.unsigned_abs() >= 24 * 60 {
            return None;
        }
        let local = days_from_civil(y, mo, d) * 86400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
        Some(DateTime { timestamp: local - i64::from(offset_minutes) * 60, offset_minutes })
    }

    /// Local time in the stored offset.
    pub fn civil(&self) -> Civil {
        let local = self.timestamp + i64::from(self.offset_minutes) * 60;
        let days = local.div_euclid(86400);
        let secs = local.rem_euclid(86400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            weekday: (days + 4).rem_euclid(7) as u8,
        }
    }

    /// The same instant seen in another zone (Sieve date `:zone`,
    /// RFC 5260 4.1); `None` for offsets of a day or more.
    pub fn with_offset(&self, offset_minutes: i16) -> Option<DateTime> {
        (offset_minutes.unsigned_abs() < 24 * 60).then_some(DateTime { timestamp: self.timestamp, offset_minutes })
    }

    fn zone(&self, out: &mut String) {
        let o = self.offset_minutes;
        let sign = if o < 0 { '-' } else { '+' };
        let a = o.unsigned_abs();
        let _ = write!(out, "{}{:02}{:02}", sign, a / 60, a % 60);
    }

    /// RFC 5322 3.3: `Mon, 2 Jan 2006 15:04:05 -0700`.
    pub fn to_rfc5322(&self) -> String {
        let c = self.civil();
        let mut s = String::with_capacity(31);
        let _ = write!(
            s,
            "{}, {} {} {:04} {:02}:{:02}:{:02} ",
            DAYS[usize::from(c.weekday)],
            c.day,
            MONTHS[usize::from(c.month - 1)],
            c.year,
            c.hour,
            c.minute,
            c.second
        );
        self.zone(&mut s);
        s
    }

    /// RFC 3501 9 date-time without the quotes: `dd-Mon-yyyy hh:mm:ss +zzzz`
    /// with date-day-fixed (a space-padded day).
    pub fn to_imap(&self) -> String {
        let c = self.civil();
        let mut s = String::with_capacity(26);
        let _ = write!(
            s,
            "{:>2}-{}-{:04} {:02}:{:02}:{:02} ",
            c.day,
            MONTHS[usize::from(c.month - 1)],
            c.year,
            c.hour,
            c.minute,
            c.second
        );
        self.zone(&mut s);
        s
    }
}

fn month_from_name(w: &[u8]) -> Option<u8> {
    if w.len() < 3 {
        return None;
    }
    let p = &w[..3];
    MONTHS.iter().position(|m| m.as_bytes().eq_ignore_ascii_case(p)).map(|i| i as u8 + 1)
}

fn is_day_name(w: &[u8]) -> bool {
    w.len() >= 3 && DAYS.iter().any(|d| d.as_bytes().eq_ignore_ascii_case(&w[..3]))
}

/// RFC 5322 4.3 obs-zone, and RFC 822's names. Military letters were
/// defined with the wrong sign in RFC 822, so RFC 5322 says to treat them
/// (and any unknown name) as -0000.
fn named_zone(w: &[u8]) -> Option<i16> {
    const ZONES: &[(&str, i16)] = &[
        ("UT", 0),
        ("UTC", 0),
        ("GMT", 0),
        ("Z", 0),
        ("EST", -5 * 60),
        ("EDT", -4 * 60),
        ("CST", -6 * 60),
        ("CDT", -5 * 60),
        ("MST", -7 * 60),
        ("MDT", -6 * 60),
        ("PST", -8 * 60),
        ("PDT", -7 * 60),
    ];
    if !w.iter().all(|b| b.is_ascii_alphabetic()) || w.is_empty() {
        return None;
    }
    Some(ZONES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(w)).map(|z| z.1).unwrap_or(0))
}

fn number(w: &[u8]) -> Option<u32> {
    if w.is_empty() || w.len() > 9 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(w.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0')))
}

/// Parses an RFC 5322 date-time, leniently: day name optional, seconds
/// optional, comments ignored, obsolete and unknown zones, 2- and 3-digit
/// years (RFC 5322 4.3: add 2000 below 50, else 1900), the asctime order
/// (`Mon Jan  2 15:04:05 2006`), missing zone (taken as +0000).
pub fn parse_date(value: &[u8]) -> Option<DateTime> {
    // Drop comments, turn separators into spaces.
    let mut buf = alloc::vec::Vec::with_capacity(value.len());
    let mut depth = 0usize;
    for &b in value.iter().take(256) {
        let after_alnum = buf.last().is_some_and(|c: &u8| c.is_ascii_alphanumeric());
        match b {
            // RFC 850 style `01-Jan-2000`; a zone's sign follows a space.
            b'-' if after_alnum && depth == 0 => buf.push(b' '),
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            b',' | b'\r' | b'\n' | b'\t' => buf.push(b' '),
            _ => buf.push(b),
        }
    }
    let (mut day, mut month, mut year, mut time, mut zone) = (None, None, None, None, None);
    for w in buf.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if let Some(n) = number(w) {
            if day.is_none() && w.len() <= 2 {
                day = Some(n);
            } else if year.is_none() {
                year = Some((n, w.len()));
            }
        } else if (w[0] == b'+' || w[0] == b'-') && w.len() == 5 && zone.is_none() {
            zone = Some(parse_zone(w)?);
        } else if w.contains(&b':') && time.is_none() {
            let mut it = w.split(|&b| b == b':');
            let h = number(it.next()?)?;
            let m = number(it.next()?)?;
            let s = match it.next() {
                Some(s) => number(s)?,
                None => 0,
            };
            time = Some((h, m, s));
        } else if month.is_none() && month_from_name(w).is_some() && !is_day_name(w) {
            month = month_from_name(w);
        } else if is_day_name(w) {
        } else if zone.is_none() && time.is_some() {
            zone = named_zone(w);
        }
    }
    let (year, ylen) = year?;
    let year = match (year, ylen) {
        (y, 1 | 2) if y < 50 => y + 2000,
        (y, 1 | 2) => y + 1900,
        (y, 3) => y + 1900,
        (y, _) => y,
    };
    let (h, m, s) = time.unwrap_or((0, 0, 0));
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    // A leap second is folded into the next second's count.
    DateTime::from_civil(
        i32::try_from(year).ok()?,
        month?,
        u8::try_from(day?).ok()?,
        h as u8,
        m as u8,
        s as u8,
        zone.unwrap_or(0),
    )
}

/// RFC 3501 9 date-time as in APPEND: `dd-Mon-yyyy hh:mm:ss +zzzz` (quotes
/// optional, day may be space-padded).
pub fn parse_imap_date_time(value: &[u8]) -> Option<DateTime> {
    let v = crate::charset::trim(value);
    let v = v.strip_prefix(b"\"").unwrap_or(v);
    let v = v.strip_suffix(b"\"").unwrap_or(v);
    let v = crate::charset::trim(v);
    let (date, rest) = split_once(v, b' ')?;
    let (time, zone) = split_once(crate::charset::trim(rest), b' ')?;
    let (d, mo, y) = imap_date_parts(date)?;
    let mut t = time.split(|&b| b == b':');
    let h = number(t.next()?)?;
    let mi = number(t.next()?)?;
    let s = number(t.next()?)?;
    let off = parse_zone(crate::charset::trim(zone))?;
    DateTime::from_civil(y, mo, d, u8::try_from(h).ok()?, u8::try_from(mi).ok()?, u8::try_from(s).ok()?, off)
}

/// RFC 3501 9 `date` as in SEARCH SINCE/BEFORE/ON: `d-Mon-yyyy`. Returns
/// days since 1970-01-01.
pub fn parse_imap_date(value: &[u8]) -> Option<i64> {
    let v = crate::charset::trim(value);
    let v = v.strip_prefix(b"\"").unwrap_or(v);
    let v = v.strip_suffix(b"\"").unwrap_or(v);
    let (d, m, y) = imap_date_parts(v)?;
    if d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A numeric zone `+hhmm` / `-hhmm` (RFC 5322 3.3) to minutes east of UTC.
pub fn parse_zone(w: &[u8]) -> Option<i16> {
    if w.len() != 5 || !(w[0] == b'+' || w[0] == b'-') {
        return None;
    }
    let n = number(&w[1..])?;
    if n % 100 > 59 || n / 100 > 23 {
        return None;
    }
    let mins = (n / 100 * 60 + n % 100) as i16;
    Some(if w[0] == b'-' { -mins } else { mins })
}

fn imap_date_parts(v: &[u8]) -> Option<(u8, u8, i32)> {
    let mut it = v.split(|&b| b == b'-');
    let d = number(crate::charset::trim(it.next()?))?;
    let mw = it.next()?;
    if mw.len() != 3 {
        return None;
    }
    let m = month_from_name(mw)?;
    let yw = it.next()?;
    if yw.len() != 4 || it.next().is_some() {
        return None;
    }
    let y = number(yw)?;
    if d == 0 || d > 31 {
        return None;
    }
    Some((d as u8, m, y as i32))
}

fn split_once(v: &[u8], c: u8) -> Option<(&[u8], &[u8])> {
    let i = v.iter().position(|&b| b == c)?;
    Some((&v[..i], &v[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<(i64, i16)> {
        parse_date(s.as_bytes()).map(|d| (d.timestamp, d.offset_minutes))
    }

    #[test]
    fn rfc5322_forms() {
        // RFC 5322 A.1.1: 21 Nov 1997 09:55:06 -0600 = 15:55:06Z
        assert_eq!(ts("Fri, 21 Nov 1997 09:55:06 -0600"), Some((880127706, -360)));
        assert_eq!(ts("21 Nov 1997 09:55:06 -0600"), Some((880127706, -360)));
        assert_eq!(ts("Fri, 21 Nov 1997 09:55 -0600"), Some((880127706 - 6, -360)));
        // RFC 5322 A.5: folded, comment; 23:32 -0330 is 03:02Z the next day.
        assert_eq!(
            ts("Thu,\r\n 13\r\n   Feb\r\n 1969\r\n 23:32\r\n -0330 (Newfoundland Time)"),
            Some((days_from_civil(1969, 2, 14) * 86400 + 3 * 3600 + 2 * 60, -210))
        );
        assert_eq!(ts("1 Jan 2000 00:00:00 GMT"), Some((946684800, 0)));
        assert_eq!(ts("1 Jan 2000 00:00:00 EST"), Some((946684800 + 5 * 3600, -300)));
        assert_eq!(ts("1 Jan 2000 00:00:00 XYZ"), Some((946684800, 0)));
        assert_eq!(ts("1 Jan 00 00:00:00 +0000"), Some((946684800, 0)));
        assert_eq!(ts("1 Jan 99 00:00:00 +0000"), Some((915148800, 0)));
        assert_eq!(ts("1 Jan 100 00:00:00 +0000"), Some((946684800, 0)));
        assert_eq!(ts("Sat Jan  1 00:00:00 2000"), Some((946684800, 0)));
        assert_eq!(ts("2000 Jan 1 00:00:00 +0000"), Some((946684800, 0)));
        assert_eq!(ts("Saturday, 01-Jan-2000 00:00:00 +0000"), Some((946684800, 0)));
        assert_eq!(ts("31 Feb 2000 00:00:00 +0000"), None);
        assert_eq!(ts("garbage"), None);
        assert_eq!(ts(""), None);
        assert_eq!(ts("1 Jan 2000 25:00:00 +0000"), None);
    }

    #[test]
    fn formatting() {
        let d = parse_date(b"Fri, 21 Nov 1997 09:55:06 -0600").unwrap();
        assert_eq!(d.to_rfc5322(), "Fri, 21 Nov 1997 09:55:06 -0600");
        assert_eq!(d.to_imap(), "21-Nov-1997 09:55:06 -0600");
        let d = DateTime::from_civil(2024, 2, 29, 1, 2, 3, 330).unwrap();
        assert_eq!(d.to_rfc5322(), "Thu, 29 Feb 2024 01:02:03 +0530");
        assert_eq!(d.to_imap(), "29-Feb-2024 01:02:03 +0530");
        let d = DateTime::from_civil(2024, 3, 2, 0, 0, 0, -90).unwrap();
        assert_eq!(d.to_imap(), " 2-Mar-2024 00:00:00 -0130");
        assert_eq!(parse_imap_date_time(d.to_imap().as_bytes()), Some(d));
        assert_eq!(parse_imap_date_time(b"\" 2-Mar-2024 00:00:00 -0130\""), Some(d));
        assert_eq!(parse_imap_date(b"2-Mar-2024"), Some(days_from_civil(2024, 3, 2)));
        assert_eq!(parse_imap_date(b"30-Feb-2024"), None);
        assert_eq!(parse_imap_date(b"2-March-2024"), None);
    }

    #[test]
    fn zones() {
        assert_eq!(parse_zone(b"+0130"), Some(90));
        assert_eq!(parse_zone(b"-0000"), Some(0));
        assert_eq!(parse_zone(b"+2400"), None);
        assert_eq!(parse_zone(b"+0160"), None);
        let d = parse_date(b"Fri, 21 Nov 1997 23:55:06 -0600").unwrap();
        let u = d.with_offset(0).unwrap();
        assert_eq!(u.to_rfc5322(), "Sat, 22 Nov 1997 05:55:06 +0000");
        assert_eq!(u.civil().weekday, 6);
    }

    #[test]
    fn civil_roundtrip() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(DateTime { timestamp: 0, offset_minutes: 0 }.civil().weekday, 4);
    }
}
