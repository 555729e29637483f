//! Generic Sieve grammar (RFC 5228 8.2): commands, arguments, tests and
//! blocks, before any knowledge of what a command means. `compile` turns
//! this tree into the typed program and does the semantic checks.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::CompileError;
use crate::lexer::{Pos, Tok, Token};

#[derive(Debug, Clone)]
pub enum Arg {
    Tag(String, Pos),
    Number(u64, Pos),
    /// A single string (`list == false`) or a bracketed string list.
    Strings {
        list: bool,
        items: Vec<String>,
        pos: Pos,
    },
}

impl Arg {
    pub fn pos(&self) -> Pos {
        match self {
            Arg::Tag(_, p) | Arg::Number(_, p) => *p,
            Arg::Strings { pos, .. } => *pos,
        }
    }
}

/// RFC 5228 8.2: test = identifier arguments
#[derive(Debug, Clone)]
pub struct TestNode {
    pub name: String,
    pub pos: Pos,
    pub args: Vec<Arg>,
    pub tests: Vec<TestNode>,
    /// Whether the tests came as a parenthesised test-list.
    pub test_list: bool,
}

/// RFC 5228 8.2: command = identifier arguments (";" / block)
#[derive(Debug, Clone)]
pub struct CommandNode {
    pub name: String,
    pub pos: Pos,
    pub args: Vec<Arg>,
    pub tests: Vec<TestNode>,
    pub test_list: bool,
    pub block: Option<Vec<CommandNode>>,
}

pub struct Limits {
    pub max_depth: usize,
    pub max_list: usize,
}

struct P<'a> {
    t: &'a [Token],
    i: usize,
    end: Pos,
    lim: &'a Limits,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.t.get(self.i).map(|t| &t.tok)
    }
    fn pos(&self) -> Pos {
        self.t.get(self.i).map(|t| t.pos).unwrap_or(self.end)
    }
    fn err(&self, msg: &str) -> CompileError {
        CompileError::new(self.pos(), msg)
    }
}

pub fn parse(tokens: &[Token], end: Pos, lim: &Limits) -> Result<Vec<CommandNode>, CompileError> {
    let mut p = P { t: tokens, i: 0, end, lim };
    let cmds = commands(&mut p, 0)?;
    if p.i < tokens.len() {
        return Err(p.err("unexpected '}'"));
    }
    Ok(cmds)
}

fn commands(p: &mut P<'_>, depth: usize) -> Result<Vec<CommandNode>, CompileError> {
    let mut out = Vec::new();
    loop {
        match p.peek() {
            None | Some(Tok::RBrace) => return Ok(out),
            Some(Tok::Ident(_)) => out.push(command(p, depth)?),
            Some(_) => return Err(p.err("expected command name")),
        }
    }
}

fn command(p: &mut P<'_>, depth: usize) -> Result<CommandNode, CompileError> {
    if depth > p.lim.max_depth {
        return Err(p.err("blocks nested too deeply"));
    }
    let pos = p.pos();
    let Some(Tok::Ident(name)) = p.peek() else { return Err(p.err("expected command name")) };
    p.i += 1;
    let (args, tests, test_list) = arguments(p, depth)?;
    let block = match p.peek() {
        Some(Tok::Semi) => {
            p.i += 1;
            None
        }
        Some(Tok::LBrace) => {
            p.i += 1;
            let b = commands(p, depth + 1)?;
            match p.peek() {
                Some(Tok::RBrace) => p.i += 1,
                _ => return Err(p.err("expected '}' to close block")),
            }
            Some(b)
        }
        _ => return Err(p.err("expected ';' or '{' after command arguments")),
    };
    Ok(CommandNode { name: name.to_ascii_lowercase(), pos, args, tests, test_list, block })
}

type Args = (Vec<Arg>, Vec<TestNode>, bool);

/// RFC 5228 8.2: arguments = *argument [ test / test-list ]
fn arguments(p: &mut P<'_>, depth: usize) -> Result<Args, CompileError> {
    let mut args = Vec::new();
    loop {
        let pos = p.pos();
        match p.peek() {
            Some(Tok::Tag(t)) => {
                p.i += 1;
                args.push(Arg::Tag(t.clone(), pos));
            }
            Some(Tok::Number(n)) => {
                p.i += 1;
                args.push(Arg::Number(*n, pos));
            }
            Some(Tok::Str(s)) => {
                p.i += 1;
                args.push(Arg::Strings { list: false, items: alloc::vec![s.clone()], pos });
            }
            Some(Tok::LBracket) => {
                p.i += 1;
                let mut items = Vec::new();
                loop {
                    match p.peek() {
                        Some(Tok::Str(s)) => {
                            if items.len() >= p.lim.max_list {
                                return Err(p.err("string list too long"));
                            }
                            items.push(s.clone());
                            p.i += 1;
                        }
                        _ => return Err(p.err("expected string in string list")),
                    }
                    match p.peek() {
                        Some(Tok::Comma) => p.i += 1,
                        Some(Tok::RBracket) => {
                            p.i += 1;
                            break;
                        }
                        _ => return Err(p.err("expected ',' or ']' in string list")),
                    }
                }
                args.push(Arg::Strings { list: true, items, pos });
            }
            _ => break,
        }
    }
    match p.peek() {
        Some(Tok::Ident(_)) => {
            let t = test(p, depth + 1)?;
            Ok((args, alloc::vec![t], false))
        }
        Some(Tok::LParen) => {
            p.i += 1;
            let mut tests = Vec::new();
            loop {
                if tests.len() >= p.lim.max_list {
                    return Err(p.err("test list too long"));
                }
                tests.push(test(p, depth + 1)?);
                match p.peek() {
                    Some(Tok::Comma) => p.i += 1,
                    Some(Tok::RParen) => {
                        p.i += 1;
                        break;
                    }
                    _ => return Err(p.err("expected ',' or ')' in test list")),
                }
            }
            Ok((args, tests, true))
        }
        _ => Ok((args, Vec::new(), false)),
    }
}

fn test(p: &mut P<'_>, depth: usize) -> Result<TestNode, CompileError> {
    if depth > p.lim.max_depth {
        return Err(p.err("tests nested too deeply"));
    }
    let pos = p.pos();
    let Some(Tok::Ident(name)) = p.peek() else { return Err(p.err("expected test name")) };
    p.i += 1;
    let (args, tests, test_list) = arguments(p, depth)?;
    Ok(TestNode { name: name.to_ascii_lowercase(), pos, args, tests, test_list })
}
