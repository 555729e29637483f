//! Config errors, printed as `file:line: problem` so a failed boot names the
//! exact place to fix.

use alloc::string::String;
use core::fmt;

use crate::password::HashError;

/// One problem found in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The file the problem is in (normally `unimail.conf`).
    pub file: String,
    /// 1-based line, or `None` for whole-file problems (a missing section).
    pub line: Option<u32>,
    pub kind: ErrorKind,
}

impl Error {
    pub(crate) fn new(file: &str, line: Option<u32>, kind: ErrorKind) -> Error {
        Error { file: String::from(file), line, kind }
    }
}

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file exceeds the size limit.
    FileTooLarge { limit: usize },
    /// A line exceeds the length limit.
    LineTooLong { limit: usize },
    /// A line is neither a header, a `key = value` pair, a comment nor blank.
    Syntax(&'static str),
    /// `[name]` is not a known section.
    UnknownSection(String),
    /// A section that may appear once appears again (or `[user X]` /
    /// `[tls X]` / `[dkim D]` with the same argument).
    DuplicateSection(String),
    /// A section needs an argument (`[user ADDRESS]`) or takes none.
    SectionArgument { section: String, problem: &'static str },
    /// `key` is not valid in `[section]`.
    UnknownKey { section: String, key: String },
    /// A key given twice in one section.
    DuplicateKey(String),
    /// A required key is missing.
    MissingKey { section: String, key: &'static str },
    /// A value does not parse; `expected` says what would.
    BadValue { key: String, value: String, expected: &'static str },
    /// An email address or domain that does not parse.
    BadAddress { value: String, problem: &'static str },
    /// A CIDR block that does not parse.
    BadCidr { value: String, problem: &'static str },
    /// A password hash that cannot be used.
    BadPasswordHash(HashError),
    /// A `{PLAIN}` or unsalted hash without `allow_weak_passwords = yes`.
    WeakPasswordHash(&'static str),
    /// Two `[user]` sections for one address.
    DuplicateUser(String),
    /// A user or alias in a domain that is not in `domains`.
    NotLocalDomain(String),
    /// An alias key that is also a user's address.
    AliasShadowsUser(String),
    /// Two aliases with the same key.
    DuplicateAlias(String),
    /// An alias whose expansion comes back to itself; the chain is shown.
    AliasLoop(String),
    /// An alias expansion deeper than the limit.
    AliasTooDeep { alias: String, limit: usize },
    /// An alias target in a local domain that is neither a user nor an alias.
    AliasUnknownLocal { alias: String, target: String },
    /// A referenced file (key, certificate, script) is not on the config disk.
    MissingFile(String),
    /// Values that are each fine but contradict each other.
    Conflict(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.kind),
            None => write!(f, "{}: {}", self.file, self.kind),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            FileTooLarge { limit } => write!(f, "file larger than {} bytes", limit),
            LineTooLong { limit } => write!(f, "line longer than {} bytes", limit),
            Syntax(why) => write!(f, "syntax error: {}", why),
            UnknownSection(s) => write!(f, "unknown section [{}]", s),
            DuplicateSection(s) => write!(f, "duplicate section [{}]", s),
            SectionArgument { section, problem } => write!(f, "section [{}]: {}", section, problem),
            UnknownKey { section, key } => write!(f, "unknown key '{}' in [{}]", key, section),
            DuplicateKey(k) => write!(f, "duplicate key '{}'", k),
            MissingKey { section, key } => write!(f, "missing required key '{}' in [{}]", key, section),
            BadValue { key, value, expected } => {
                write!(f, "bad value '{}' for '{}': expected {}", value, key, expected)
            }
            BadAddress { value, problem } => write!(f, "bad address '{}': {}", value, problem),
            BadCidr { value, problem } => write!(f, "bad CIDR '{}': {}", value, problem),
            BadPasswordHash(e) => write!(f, "{}", e),
            WeakPasswordHash(s) => write!(
                f,
                "weak password scheme {{{}}}; use SHA512-CRYPT, BLF-CRYPT or ARGON2ID (or set allow_weak_passwords = yes in [server] for tests)",
                s
            ),
            DuplicateUser(u) => write!(f, "duplicate user {}", u),
            NotLocalDomain(a) => write!(f, "'{}' is not in a local domain (add its domain to 'domains' in [server])", a),
            AliasShadowsUser(a) => write!(f, "alias '{}' has the same address as a user", a),
            DuplicateAlias(a) => write!(f, "duplicate alias '{}'", a),
            AliasLoop(chain) => write!(f, "alias loop: {}", chain),
            AliasTooDeep { alias, limit } => write!(f, "alias '{}' expands deeper than {} levels", alias, limit),
            AliasUnknownLocal { alias, target } => {
                write!(f, "alias '{}' points to unknown local user '{}'", alias, target)
            }
            MissingFile(p) => write!(f, "missing file '{}' on the config disk", p),
            Conflict(why) => write!(f, "{}", why),
        }
    }
}
