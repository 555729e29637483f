//! Comparators (RFC 5228 2.7.3, RFC 4790) and match types (RFC 5228 2.7.1,
//! RFC 5231 relational).

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// RFC 5228 2.7.3 comparators; i;ascii-numeric needs
/// `require "comparator-i;ascii-numeric"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Octet,
    AsciiCasemap,
    AsciiNumeric,
}

/// RFC 5231 4: relational match operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Rel {
    pub fn parse(s: &str) -> Option<Rel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "gt" => Rel::Gt,
            "ge" => Rel::Ge,
            "lt" => Rel::Lt,
            "le" => Rel::Le,
            "eq" => Rel::Eq,
            "ne" => Rel::Ne,
            _ => return None,
        })
    }
    fn holds(self, o: Ordering) -> bool {
        match self {
            Rel::Gt => o == Ordering::Greater,
            Rel::Ge => o != Ordering::Less,
            Rel::Lt => o == Ordering::Less,
            Rel::Le => o != Ordering::Greater,
            Rel::Eq => o == Ordering::Equal,
            Rel::Ne => o != Ordering::Equal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    Is,
    Contains,
    Matches,
    /// RFC 5231 3.1
    Value(Rel),
    /// RFC 5231 3.2
    Count(Rel),
    /// draft-ietf-sieve-regex: POSIX-style extended regular expression,
    /// searched anywhere in the value. Run by a Pike VM (regex-automata):
    /// time linear in value length times pattern size, never exponential.
    Regex,
}

/// RFC 4790 9.1.1: i;ascii-numeric takes the leading digits as an unsigned
/// number; a string without leading digit is "positive infinity".
fn numeric_key(s: &str) -> Option<&str> {
    let d = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    if d == 0 {
        return None;
    }
    let digits = &s[..d];
    let t = digits.trim_start_matches('0');
    Some(t)
}

fn cmp_numeric(a: &str, b: &str) -> Ordering {
    match (numeric_key(a), numeric_key(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        // Arbitrary length: compare by digit count, then lexically.
        (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
    }
}

impl Comparator {
    pub fn parse(s: &str) -> Option<Comparator> {
        match s {
            "i;octet" => Some(Comparator::Octet),
            "i;ascii-casemap" => Some(Comparator::AsciiCasemap),
            "i;ascii-numeric" => Some(Comparator::AsciiNumeric),
            _ => None,
        }
    }

    pub fn order(self, a: &str, b: &str) -> Ordering {
        match self {
            Comparator::Octet => a.as_bytes().cmp(b.as_bytes()),
            Comparator::AsciiCasemap => {
                a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
            }
            Comparator::AsciiNumeric => cmp_numeric(a, b),
        }
    }

    fn contains(self, hay: &str, needle: &str) -> bool {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.is_empty() {
            return true;
        }
        if n.len() > h.len() {
            return false;
        }
        // core's substring search is linear (Two-Way): no O(n*m) worst case.
        match self {
            Comparator::AsciiCasemap => hay.to_ascii_lowercase().contains(&needle.to_ascii_lowercase()),
            _ => hay.contains(needle),
        }
    }
}

/// One wildcard element of a `:matches` pattern (RFC 5228 2.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G {
    Lit(char),
    One,
    Any,
}

fn glob_compile(pat: &str) -> Vec<G> {
    let mut out = Vec::new();
    let mut it = pat.chars();
    while let Some(c) = it.next() {
        match c {
            '*' => out.push(G::Any),
            '?' => out.push(G::One),
            // RFC 5228 2.7.1: "\" escapes the next character.
            '\\' => {
                if let Some(n) = it.next() {
                    out.push(G::Lit(n))
                }
            }
            c => out.push(G::Lit(c)),
        }
    }
    out
}

fn char_eq(cmp: Comparator, a: char, b: char) -> bool {
    match cmp {
        Comparator::AsciiCasemap => a.eq_ignore_ascii_case(&b),
        _ => a == b,
    }
}

/// `:matches` with capture of each wildcard (RFC 5229 3.2: `${1}`..).
/// Wildcards match as few characters as possible from the left (the RFC's
/// `"[*] *"` example), found with the classic single-backtrack-point
/// algorithm, which is O(len(text) * len(pattern)) at worst: no exponential
/// blow-up on hostile patterns.
pub fn glob_match(cmp: Comparator, pat: &str, text: &str, caps: Option<&mut Vec<String>>) -> bool {
    let p = glob_compile(pat);
    let t: Vec<(usize, char)> = text.char_indices().collect();
    let n = t.len();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Capture bounds (in char indices) per pattern element that is a wildcard.
    let mut spans: Vec<(usize, usize)> = alloc::vec![(0, 0); p.len()];
    let mut star: Option<(usize, usize)> = None; // (pattern index of '*', text index after it)
    loop {
        if pi < p.len() {
            match p[pi] {
                G::Any => {
                    spans[pi] = (ti, ti);
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                G::One if ti < n => {
                    spans[pi] = (ti, ti + 1);
                    pi += 1;
                    ti += 1;
                    continue;
                }
                G::Lit(c) if ti < n && char_eq(cmp, c, t[ti].1) => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == n {
            break;
        }
        // Mismatch: grow the last '*' by one character.
        match star {
            Some((sp, st)) if st < n => {
                star = Some((sp, st + 1));
                spans[sp] = (spans[sp].0, st + 1);
                pi = sp + 1;
                ti = st + 1;
            }
            _ => return false,
        }
    }
    if let Some(caps) = caps {
        caps.clear();
        caps.push(String::from(text));
        let off = |i: usize| if i < n { t[i].0 } else { text.len() };
        for (k, g) in p.iter().enumerate() {
            if matches!(g, G::Any | G::One) {
                let (a, b) = spans[k];
                caps.push(String::from(&text[off(a)..off(b)]));
            }
        }
    }
    true
}

/// Worst-case cost of matching `values` against `keys`, in character steps,
/// so the evaluator can refuse a test before running it (`:matches` with a
/// '*' can cost len(value) * len(pattern)).
pub fn match_cost(mt: MatchType, values: &[String], keys: &[String]) -> u64 {
    let mut c: u64 = 0;
    for v in values {
        for k in keys {
            let (v, k) = (v.len() as u64, k.len() as u64);
            let pair =
                if matches!(mt, MatchType::Matches | MatchType::Regex) && k > 0 { v.saturating_mul(k) } else { v + k };
            c = c.saturating_add(pair + 1);
        }
    }
    c
}

/// Compiles a `:regex` key. Byte-oriented and without Unicode classes, so
/// case-insensitivity (i;ascii-casemap) is ASCII-only like the comparator;
/// the NFA size and nesting are bounded.
pub fn regex_compile(pat: &str, cmp: Comparator) -> Result<regex_automata::nfa::thompson::pikevm::PikeVM, String> {
    use regex_automata::nfa::thompson::{self, pikevm::PikeVM};
    use regex_automata::util::syntax;
    PikeVM::builder()
        .syntax(
            syntax::Config::new()
                .unicode(false)
                .utf8(false)
                .case_insensitive(cmp == Comparator::AsciiCasemap)
                .nest_limit(32),
        )
        .thompson(thompson::Config::new().utf8(false).nfa_size_limit(Some(256 * 1024)))
        .build(pat)
        .map_err(|e| alloc::format!("{e}"))
}

fn regex_match(cmp: Comparator, pat: &str, text: &str, caps: Option<&mut Vec<String>>) -> bool {
    let Ok(vm) = regex_compile(pat, cmp) else { return false };
    regex_run(&vm, text, caps)
}

fn regex_run(vm: &regex_automata::nfa::thompson::pikevm::PikeVM, text: &str, caps: Option<&mut Vec<String>>) -> bool {
    let mut cache = vm.create_cache();
    let mut c = vm.create_captures();
    vm.captures(&mut cache, text.as_bytes(), &mut c);
    if !c.is_match() {
        return false;
    }
    if let Some(out) = caps {
        out.clear();
        for i in 0..c.group_len().min(10) {
            let s = c.get_group(i).map(|sp| String::from_utf8_lossy(&text.as_bytes()[sp.start..sp.end]).into_owned());
            out.push(s.unwrap_or_default());
        }
    }
    true
}

/// Compares one value with one key (not for :count, which works on the
/// number of values).
pub fn match_one(cmp: Comparator, mt: MatchType, value: &str, key: &str, caps: Option<&mut Vec<String>>) -> bool {
    match mt {
        MatchType::Is => cmp.order(value, key) == Ordering::Equal,
        MatchType::Contains => cmp.contains(value, key),
        MatchType::Matches => glob_match(cmp, key, value, caps),
        MatchType::Regex => regex_match(cmp, key, value, caps),
        MatchType::Value(r) => r.holds(cmp.order(value, key)),
        MatchType::Count(_) => false,
    }
}

/// The generic "does any value match any key" of RFC 5228 2.7, including
/// RFC 5231 :count. `caps` receives the match variables of a successful
/// `:matches`.
pub fn match_values(
    cmp: Comparator,
    mt: MatchType,
    values: &[String],
    keys: &[String],
    caps: &mut Option<Vec<String>>,
) -> bool {
    if let MatchType::Count(r) = mt {
        let count = alloc::format!("{}", values.len());
        return keys.iter().any(|k| r.holds(cmp.order(&count, k)));
    }
    let mut tmp = Vec::new();
    if mt == MatchType::Regex {
        // Compile each key once, not once per value; a key that does not
        // compile (built from variables at run time) matches nothing.
        let vms: Vec<_> = keys.iter().filter_map(|k| regex_compile(k, cmp).ok()).collect();
        for v in values {
            for vm in &vms {
                if regex_run(vm, v, Some(&mut tmp)) {
                    *caps = Some(tmp);
                    return true;
                }
            }
        }
        return false;
    }
    for v in values {
        for k in keys {
            if match_one(cmp, mt, v, k, Some(&mut tmp)) {
                if matches!(mt, MatchType::Matches | MatchType::Regex) {
                    *caps = Some(core::mem::take(&mut tmp));
                }
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn comparators() {
        assert_eq!(Comparator::AsciiCasemap.order("ABC", "abc"), Ordering::Equal);
        assert_ne!(Comparator::Octet.order("ABC", "abc"), Ordering::Equal);
        assert_eq!(Comparator::AsciiNumeric.order("007", "7"), Ordering::Equal);
        assert_eq!(Comparator::AsciiNumeric.order("10", "9"), Ordering::Greater);
        assert_eq!(Comparator::AsciiNumeric.order("x", "99999"), Ordering::Greater);
        assert_eq!(Comparator::AsciiNumeric.order("x", "y"), Ordering::Equal);
        assert!(Comparator::AsciiCasemap.contains("Hello World", "o w"));
        assert!(!Comparator::Octet.contains("Hello World", "o w"));
    }

    #[test]
    fn glob() {
        let c = Comparator::AsciiCasemap;
        let mut caps = Vec::new();
        assert!(glob_match(c, "[*] *", "[acme-users] [fwd] version 1.0 is out", Some(&mut caps)));
        assert_eq!(caps, vec!["[acme-users] [fwd] version 1.0 is out", "acme-users", "[fwd] version 1.0 is out"]);
        assert!(glob_match(c, "*<*@*", "Foo <foo@bar.org>", Some(&mut caps)));
        assert_eq!(&caps[1..], &["Foo ", "foo", "bar.org>"]);
        assert!(glob_match(c, "a?c", "ABC", Some(&mut caps)));
        assert_eq!(caps[1], "B");
        assert!(!glob_match(Comparator::Octet, "a?c", "ABC", None));
        assert!(glob_match(c, "\\*x", "*X", None));
        assert!(!glob_match(c, "\\*x", "ax", None));
        assert!(glob_match(c, "*", "", None));
        assert!(!glob_match(c, "?", "", None));
        assert!(glob_match(c, "*.com", "x.y.com", None));
        // Hostile pattern stays fast.
        let long = "a".repeat(2000);
        assert!(!glob_match(c, "*a*a*a*a*a*a*a*a*b", &long, None));
    }

    #[test]
    fn regex() {
        let mut caps = Vec::new();
        assert!(match_one(
            Comparator::AsciiCasemap,
            MatchType::Regex,
            "Re: [list] Hello",
            "\\[([a-z]+)\\] (h.*)$",
            Some(&mut caps)
        ));
        assert_eq!(caps, vec!["[list] Hello", "list", "Hello"]);
        assert!(!match_one(Comparator::Octet, MatchType::Regex, "Hello", "^hello", None));
        assert!(match_one(Comparator::Octet, MatchType::Regex, "a1b22", "^a[[:digit:]]b[0-9]{2}$", None));
        assert!(regex_compile("(", Comparator::Octet).is_err());
        assert!(regex_compile("a{1000}{1000}", Comparator::Octet).is_err(), "NFA size is bounded");
        // Pathological for backtracking engines, linear here.
        let long = "a".repeat(5000);
        assert!(!match_one(Comparator::Octet, MatchType::Regex, &long, "^(a+)+b$", None));
    }

    #[test]
    fn relational() {
        let mut caps = None;
        let keys = vec![String::from("2")];
        let vals = vec![String::from("a"), String::from("b")];
        assert!(match_values(Comparator::AsciiNumeric, MatchType::Count(Rel::Eq), &vals, &keys, &mut caps));
        assert!(match_values(Comparator::AsciiNumeric, MatchType::Count(Rel::Ge), &vals, &keys, &mut caps));
        assert!(!match_values(Comparator::AsciiNumeric, MatchType::Count(Rel::Gt), &vals, &keys, &mut caps));
        let vals = vec![String::from("10")];
        assert!(match_values(Comparator::AsciiNumeric, MatchType::Value(Rel::Gt), &vals, &keys, &mut caps));
        assert!(!match_values(Comparator::Octet, MatchType::Value(Rel::Gt), &vals, &keys, &mut caps));
    }
}
