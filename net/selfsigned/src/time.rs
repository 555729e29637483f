//! Certificate validity times (RFC 5280 4.1.2.5) from Unix seconds.
//!
//! The kernel reads the RTC and passes seconds since 1970; no clock is read
//! here. Leap seconds do not exist in Unix time nor in X.509 times (RFC 5280
//! 4.1.2.5: seconds field, "Z" only), so the mapping is plain calendar math.

use crate::der::{self, tag};
use alloc::vec::Vec;

/// 9999-12-31T23:59:59Z, the last instant a four-digit GeneralizedTime
/// year can express.
pub const MAX_UNIX: u64 = 253_402_300_799;

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: u32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// Unix seconds to a proleptic Gregorian date. `None` past year 9999.
///
/// Days are mapped with the era arithmetic (400-year cycles of 146097 days,
/// counting years from 1 March so that the leap day falls at the end), which
/// needs no loop and no table.
pub fn civil(unix: u64) -> Option<Civil> {
    if unix > MAX_UNIX {
        return None;
    }
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Shift the epoch from 1970-01-01 to 0000-03-01 (719468 days earlier).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of March-based year
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    Some(Civil {
        year: year as u32,
        month: month as u8,
        day: day as u8,
        hour: (secs / 3_600) as u8,
        minute: (secs / 60 % 60) as u8,
        second: (secs % 60) as u8,
    })
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// The DER `Time` CHOICE for one validity bound. `None` past year 9999.
///
/// RFC 5280 4.1.2.5: dates through 2049 MUST be UTCTime, 2050 or later MUST
/// be GeneralizedTime. 4.1.2.5.1 / 4.1.2.5.2: always "Z", always seconds,
/// never fractional seconds. (Unix time starts in 1970, so the UTCTime
/// window's lower edge, 1950, is never reached.)
pub fn encode(unix: u64) -> Option<Vec<u8>> {
    let c = civil(unix)?;
    let mut s = Vec::with_capacity(15);
    let t = if c.year < 2050 {
        push_2(&mut s, c.year % 100);
        tag::UTC_TIME
    } else {
        push_2(&mut s, c.year / 100);
        push_2(&mut s, c.year % 100);
        tag::GENERALIZED_TIME
    };
    for v in [c.month, c.day, c.hour, c.minute, c.second] {
        push_2(&mut s, u32::from(v));
    }
    s.push(b'Z');
    Some(der::tlv(t, &s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(year: u32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Civil {
        Civil { year, month, day, hour, minute, second }
    }

    #[test]
    fn known_instants() {
        assert_eq!(civil(0), Some(c(1970, 1, 1, 0, 0, 0)));
        assert_eq!(civil(86_399), Some(c(1970, 1, 1, 23, 59, 59)));
        assert_eq!(civil(951_782_400), Some(c(2000, 2, 29, 0, 0, 0)));
        assert_eq!(civil(951_868_800), Some(c(2000, 3, 1, 0, 0, 0)));
        // 2100 is not a leap year: Feb 28 is followed by Mar 1.
        assert_eq!(civil(4_107_456_000), Some(c(2100, 2, 28, 0, 0, 0)));
        assert_eq!(civil(4_107_542_400), Some(c(2100, 3, 1, 0, 0, 0)));
        assert_eq!(civil(1_700_000_000), Some(c(2023, 11, 14, 22, 13, 20)));
        assert_eq!(civil(2_147_483_647), Some(c(2038, 1, 19, 3, 14, 7)));
        assert_eq!(civil(MAX_UNIX), Some(c(9999, 12, 31, 23, 59, 59)));
        assert_eq!(civil(MAX_UNIX + 1), None);
    }

    #[test]
    fn every_day_for_four_centuries_is_consecutive() {
        // Walk day by day from 1970 to 2400 and check each date follows the
        // previous one by the Gregorian rules, independently of the formula.
        let mut prev = civil(0).unwrap();
        for day in 1..(430 * 366) {
            let cur = civil(day * 86_400).unwrap();
            let y = prev.year;
            let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
            let len = match prev.month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expect = if prev.day < len {
                c(prev.year, prev.month, prev.day + 1, 0, 0, 0)
            } else if prev.month < 12 {
                c(prev.year, prev.month + 1, 1, 0, 0, 0)
            } else {
                c(prev.year + 1, 1, 1, 0, 0, 0)
            };
            assert_eq!(cur, expect, "day {day}");
            prev = cur;
        }
    }

    #[test]
    fn utctime_until_2049_generalizedtime_from_2050() {
        assert_eq!(encode(0).unwrap(), der::tlv(tag::UTC_TIME, b"700101000000Z"));
        assert_eq!(encode(2_524_607_999).unwrap(), der::tlv(tag::UTC_TIME, b"491231235959Z"));
        assert_eq!(encode(2_524_608_000).unwrap(), der::tlv(tag::GENERALIZED_TIME, b"20500101000000Z"));
        assert_eq!(encode(MAX_UNIX).unwrap(), der::tlv(tag::GENERALIZED_TIME, b"99991231235959Z"));
        assert_eq!(encode(MAX_UNIX + 1), None);
    }
}
