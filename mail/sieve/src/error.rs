//! Compile errors carry a 1-based line:column so ManageSieve can tell the
//! user exactly where the script is wrong (RFC 5804 2.6: PUTSCRIPT answers NO
//! with a human-readable reason).

use alloc::string::String;
use core::fmt;

use crate::lexer::Pos;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: u32,
    pub col: u32,
    pub msg: String,
}

impl CompileError {
    pub fn new(pos: Pos, msg: &str) -> Self {
        CompileError { line: pos.line, col: pos.col, msg: String::from(msg) }
    }
    pub fn owned(pos: Pos, msg: String) -> Self {
        CompileError { line: pos.line, col: pos.col, msg }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}: {}", self.line, self.col, self.msg)
    }
}
