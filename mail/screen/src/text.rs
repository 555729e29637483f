//! Helpers for the small line-oriented state files (`screen/cache`,
//! `screen/greylist`): strict numbers, a header line, line limits.

use core::fmt;

/// Longest line accepted in a state file: a greylist line with two
/// addresses of [`crate::greylist::MAX_ADDRESS`] bytes, every byte
/// `%XX`-escaped, still fits (so no client can write a line that makes the
/// file unloadable).
pub const MAX_LINE: usize = 4096;

/// Why a state file was refused: the 1-based line and the problem. The
/// caller logs it and starts with an empty store (losing a cache or a
/// greylist costs a delay, never mail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Iterate over the content lines after checking the header: yields
/// (line number, text) for non-blank, non-comment lines.
pub(crate) fn lines<'a>(
    input: &'a [u8],
    header: &'static str,
) -> Result<impl Iterator<Item = Result<(usize, &'a str), LoadError>> + 'a, LoadError> {
    let text = core::str::from_utf8(input).map_err(|e| {
        let line = input[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        LoadError { line, reason: "not UTF-8" }
    })?;
    let mut it = text.split('\n').enumerate();
    let first = it.next().map(|(_, l)| l.trim_end_matches('\r')).unwrap_or("");
    if first != header {
        return Err(LoadError { line: 1, reason: "missing or unknown header line" });
    }
    Ok(it.filter_map(|(i, l)| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        if l.len() > MAX_LINE {
            return Some(Err(LoadError { line: i + 1, reason: "line too long" }));
        }
        if l.trim().is_empty() || l.starts_with('#') {
            return None;
        }
        Some(Ok((i + 1, l)))
    }))
}

/// A decimal u64 with no sign, no spaces, at most 20 digits.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
