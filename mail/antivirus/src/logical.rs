//! ClamAV logical signatures (`.ldb`, "Logical signatures" in the ClamAV
//! manual): `Name;TargetDescriptionBlock;LogicalExpression;Subsig0;...`.
//!
//! Supported: target description keys `Target`, `Engine` and `FileSize`
//! (others, such as `Container` or `EntryPoint`, make the line skipped);
//! up to 64 subsignatures in the extended format, each optionally
//! `offset:hexsig`; expressions over subsignature numbers with `&`, `|`,
//! parentheses and the counters `A=X`, `A=X,Y`, `A>X`, `A>X,Y`, `A<X`,
//! `A<X,Y`. For a subexpression the count is the total number of matches of
//! its subsignatures, and `,Y` asks for at least Y distinct ones matched;
//! a counter replaces the block's own truth (as in ClamAV, `0<2` holds when
//! subsignature 0 never matched, which tests/clamscan.rs confirms).
//! Subsignature modifiers (`::i`, `::w`, ...), PCRE and byte-compare
//! subsignatures are not supported: such lines are skipped.

use alloc::boxed::Box;
use alloc::string::String;

/// Subsignatures per logical signature (ClamAV's own limit).
pub const MAX_SUBSIGS: usize = 64;
/// Nesting of parentheses in an expression.
pub const MAX_DEPTH: usize = 32;

/// Comparison of a match count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Gt,
    Lt,
}

/// A logical expression over subsignature match counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Sub(u8),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Count { expr: Box<Expr>, cmp: Cmp, n: u32, distinct: Option<u32> },
}

/// Value of a subexpression: whether it holds, how many matches and how
/// many distinct subsignatures it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Val {
    ok: bool,
    count: u64,
    distinct: u32,
}

impl Expr {
    /// Evaluates with `counts[i]` matches of subsignature i.
    pub fn eval(&self, counts: &[u32]) -> bool {
        self.val(counts).ok
    }

    fn val(&self, counts: &[u32]) -> Val {
        match self {
            Expr::Sub(i) => {
                let c = counts.get(usize::from(*i)).copied().unwrap_or(0);
                Val { ok: c > 0, count: u64::from(c), distinct: u32::from(c > 0) }
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let (a, b) = (a.val(counts), b.val(counts));
                let ok = if matches!(self, Expr::And(..)) { a.ok && b.ok } else { a.ok || b.ok };
                Val { ok, count: a.count + b.count, distinct: a.distinct + b.distinct }
            }
            Expr::Count { expr, cmp, n, distinct } => {
                let v = expr.val(counts);
                let n = u64::from(*n);
                let by_count = match cmp {
                    Cmp::Eq => v.count == n,
                    Cmp::Gt => v.count > n,
                    Cmp::Lt => v.count < n,
                };
                // As ClamAV: the counter replaces the block's own truth, so
                // `0<2` holds with no match at all.
                let ok = by_count && distinct.is_none_or(|d| v.distinct >= d);
                Val { ok, ..v }
            }
        }
    }

    /// The highest subsignature number used.
    pub fn max_sub(&self) -> u8 {
        match self {
            Expr::Sub(i) => *i,
            Expr::And(a, b) | Expr::Or(a, b) => a.max_sub().max(b.max_sub()),
            Expr::Count { expr, .. } => expr.max_sub(),
        }
    }
}

/// Parses a logical expression.
pub fn parse_expr(s: &str) -> Result<Expr, String> {
    let mut p = Parser { s: s.as_bytes(), pos: 0, depth: 0 };
    let e = p.expr()?;
    if p.pos != p.s.len() {
        return Err(String::from("bad logical expression"));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn number(&mut self) -> Result<u32, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) && self.pos - start < 9 {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(String::from("bad logical expression"));
        }
        Ok(self.s[start..self.pos].iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0')))
    }

    // expr := term (('&' | '|') term)*, left to right (ClamAV's own sigs
    // parenthesise mixed operators).
    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        while let Some(op @ (b'&' | b'|')) = self.peek() {
            self.pos += 1;
            let right = self.term()?;
            left = if op == b'&' { Expr::And(left.into(), right.into()) } else { Expr::Or(left.into(), right.into()) };
        }
        Ok(left)
    }

    // term := (number | '(' expr ')') [('=' | '>' | '<') number [',' number]]
    fn term(&mut self) -> Result<Expr, String> {
        let base = if self.peek() == Some(b'(') {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(String::from("logical expression nested too deep"));
            }
            self.pos += 1;
            let e = self.expr()?;
            if self.peek() != Some(b')') {
                return Err(String::from("unbalanced parentheses in logical expression"));
            }
            self.pos += 1;
            self.depth -= 1;
            e
        } else {
            let n = self.number()?;
            if n as usize >= MAX_SUBSIGS {
                return Err(String::from("subsignature number too large"));
            }
            Expr::Sub(n as u8)
        };
        let cmp = match self.peek() {
            Some(b'=') => Cmp::Eq,
            Some(b'>') => Cmp::Gt,
            Some(b'<') => Cmp::Lt,
            _ => return Ok(base),
        };
        self.pos += 1;
        let n = self.number()?;
        let distinct = if self.peek() == Some(b',') {
            self.pos += 1;
            Some(self.number()?)
        } else {
            None
        };
        Ok(Expr::Count { expr: base.into(), cmp, n, distinct })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_eval() {
        let e = parse_expr("0&1").unwrap();
        assert!(e.eval(&[1, 2]));
        assert!(!e.eval(&[1, 0]));
        let e = parse_expr("(0|1)&2").unwrap();
        assert!(e.eval(&[0, 1, 1]));
        assert!(!e.eval(&[1, 1, 0]));
        assert_eq!(e.max_sub(), 2);
        let e = parse_expr("0=2").unwrap();
        assert!(e.eval(&[2]) && !e.eval(&[1]) && !e.eval(&[3]));
        let e = parse_expr("0>2").unwrap();
        assert!(e.eval(&[3]) && !e.eval(&[2]));
        let e = parse_expr("0<3").unwrap();
        assert!(e.eval(&[2]) && !e.eval(&[3]) && e.eval(&[0]));
        let e = parse_expr("(0|1|2)>1,2").unwrap();
        assert!(e.eval(&[1, 1, 0]));
        assert!(!e.eval(&[3, 0, 0]), "two matches needed from two distinct subsigs");
        let e = parse_expr("((0&1)|2)=1").unwrap();
        assert!(e.eval(&[0, 0, 1]));
    }

    #[test]
    fn bad_expressions() {
        for s in ["", "&", "0&", "(0", "0)", "a", "0==1", "64", "0&(1", "0,1", "0=", "0>1,"] {
            assert!(parse_expr(s).is_err(), "{s}");
        }
        let deep = alloc::format!("{}0{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_expr(&deep).is_err());
        let ok = alloc::format!("{}0{}", "(".repeat(10), ")".repeat(10));
        assert!(parse_expr(&ok).is_ok());
    }
}
