//! The parsed form of a client command (RFC 3501 6, RFC 9051 6).
//!
//! Mailbox names are kept as the raw bytes the client sent; the session
//! decodes them (modified UTF-7 or, after ENABLE UTF8=ACCEPT, UTF-8).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::types::SeqSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: String,
    pub body: CommandBody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandBody {
    Capability,
    Noop,
    Logout,
    StartTls,
    Login {
        user: Vec<u8>,
        password: Vec<u8>,
    },
    /// RFC 4959 SASL-IR: `initial` is the base64 text or `=` (empty).
    Authenticate {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    Enable(Vec<String>),
    Select {
        mailbox: Vec<u8>,
        read_only: bool,
        condstore: bool,
    },
    Create(Vec<u8>),
    Delete(Vec<u8>),
    Rename {
        from: Vec<u8>,
        to: Vec<u8>,
    },
    Subscribe(Vec<u8>),
    Unsubscribe(Vec<u8>),
    List(ListCommand),
    Lsub {
        reference: Vec<u8>,
        pattern: Vec<u8>,
    },
    Namespace,
    Status {
        mailbox: Vec<u8>,
        items: Vec<StatusItem>,
    },
    Append {
        mailbox: Vec<u8>,
        flags: Vec<String>,
        date: Option<i64>,
        message: Vec<u8>,
    },
    Check,
    Close,
    Unselect,
    Expunge {
        uids: Option<SeqSet>,
    },
    Search(SearchCommand),
    Fetch {
        uid: bool,
        set: SeqSet,
        items: Vec<FetchAttr>,
        changed_since: Option<u64>,
    },
    Store(StoreCommand),
    Copy {
        uid: bool,
        set: SeqSet,
        mailbox: Vec<u8>,
    },
    Move {
        uid: bool,
        set: SeqSet,
        mailbox: Vec<u8>,
    },
    Idle,
    /// RFC 2971: `None` is `ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),
}

impl CommandBody {
    /// The command name, for logs and "X completed" texts.
    pub fn name(&self) -> &'static str {
        use CommandBody::*;
        match self {
            Capability => "CAPABILITY",
            Noop => "NOOP",
            Logout => "LOGOUT",
            StartTls => "STARTTLS",
            Login { .. } => "LOGIN",
            Authenticate { .. } => "AUTHENTICATE",
            Enable(_) => "ENABLE",
            Select { read_only: false, .. } => "SELECT",
            Select { .. } => "EXAMINE",
            Create(_) => "CREATE",
            Delete(_) => "DELETE",
            Rename { .. } => "RENAME",
            Subscribe(_) => "SUBSCRIBE",
            Unsubscribe(_) => "UNSUBSCRIBE",
            List(_) => "LIST",
            Lsub { .. } => "LSUB",
            Namespace => "NAMESPACE",
            Status { .. } => "STATUS",
            Append { .. } => "APPEND",
            Check => "CHECK",
            Close => "CLOSE",
            Unselect => "UNSELECT",
            Expunge { .. } => "EXPUNGE",
            Search(_) => "SEARCH",
            Fetch { .. } => "FETCH",
            Store(_) => "STORE",
            Copy { .. } => "COPY",
            Move { .. } => "MOVE",
            Idle => "IDLE",
            Id(_) => "ID",
        }
    }
}

/// RFC 5258 LIST-EXTENDED (basic options) and RFC 6154 SPECIAL-USE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListCommand {
    pub reference: Vec<u8>,
    pub patterns: Vec<Vec<u8>>,
    /// Selection options: SUBSCRIBED, RECURSIVEMATCH, SPECIAL-USE, REMOTE.
    pub select_subscribed: bool,
    pub select_special_use: bool,
    pub recursive_match: bool,
    /// Return options: SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS (RFC 5819).
    pub return_subscribed: bool,
    pub return_children: bool,
    pub return_special_use: bool,
    pub return_status: Option<Vec<StatusItem>>,
    /// Whether any extended syntax was used (changes reply details).
    pub extended: bool,
}

/// RFC 3501 6.3.10 / RFC 9051 6.3.11 status data items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    Size,
    Deleted,
    HighestModSeq,
}

/// RFC 3501 6.4.5 fetch data items (macros are expanded by the parser).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchAttr {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// BODY (non-extensible BODYSTRUCTURE).
    Body,
    BodyStructure,
    Uid,
    /// BODY[section]<partial> and BODY.PEEK[...].
    Section {
        peek: bool,
        section: Section,
        partial: Option<(u32, u32)>,
    },
    /// RFC 3516 BINARY[part]<partial> / BINARY.PEEK.
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<(u32, u32)>,
    },
    BinarySize(Vec<u32>),
    ModSeq,
}

/// RFC 3501 6.4.5 section specification: a part path and a text part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionText {
    Header,
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    Replace,
    Add,
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCommand {
    pub uid: bool,
    pub set: SeqSet,
    pub mode: StoreMode,
    pub silent: bool,
    pub flags: Vec<String>,
    /// RFC 7162 UNCHANGEDSINCE.
    pub unchanged_since: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchCommand {
    pub uid: bool,
    pub charset: Option<String>,
    pub key: SearchKey,
    /// RFC 4731 ESEARCH return options; `None` means a plain SEARCH.
    pub ret: Option<SearchReturn>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchReturn {
    pub min: bool,
    pub max: bool,
    pub all: bool,
    pub count: bool,
    /// RFC 5182 SEARCHRES.
    pub save: bool,
}

/// RFC 3501 6.4.4 search keys. Dates are days since 1970-01-01.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    And(Vec<SearchKey>),
    Answered,
    Bcc(Vec<u8>),
    Before(i64),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    Header(String, Vec<u8>),
    Keyword(String),
    Larger(u32),
    New,
    Not(Box<SearchKey>),
    Old,
    On(i64),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(i64),
    SentOn(i64),
    SentSince(i64),
    SeqSet(SeqSet),
    Since(i64),
    Smaller(u32),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SeqSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    ModSeq(u64),
}

impl SearchKey {
    /// Whether any key in the tree (through AND, OR and NOT) is one that
    /// `leaf` picks.
    fn any(&self, leaf: &dyn Fn(&SearchKey) -> bool) -> bool {
        use SearchKey::*;
        match self {
            And(v) => v.iter().any(|k| k.any(leaf)),
            Not(k) => k.any(leaf),
            Or(a, b) => a.any(leaf) || b.any(leaf),
            k => leaf(k),
        }
    }

    /// Whether evaluating the key needs the message text (not just
    /// flags, size and dates).
    pub fn needs_content(&self) -> bool {
        use SearchKey::*;
        self.any(&|k| {
            matches!(
                k,
                Bcc(_)
                    | Body(_)
                    | Cc(_)
                    | From(_)
                    | Header(..)
                    | Subject(_)
                    | Text(_)
                    | To(_)
                    | SentBefore(_)
                    | SentOn(_)
                    | SentSince(_)
            )
        })
    }

    /// Whether the key looks at the body (BODY, TEXT); the other content
    /// keys need only the header.
    pub fn needs_body(&self) -> bool {
        self.any(&|k| matches!(k, SearchKey::Body(_) | SearchKey::Text(_)))
    }

    /// Whether the key uses MODSEQ (RFC 7162 3.1.5: the response then
    /// carries the highest MODSEQ of the matches).
    pub fn uses_modseq(&self) -> bool {
        self.any(&|k| matches!(k, SearchKey::ModSeq(_)))
    }
}
