//! ManageSieve dialogues against an in-memory store, whole-line and
//! byte-at-a-time.

use super::*;
use alloc::collections::BTreeMap;
use alloc::vec;

/// A test store: the caller side of the requests.
#[derive(Default)]
struct Store {
    scripts: BTreeMap<String, String>,
    active: Option<String>,
    max_scripts: usize,
}

impl Store {
    fn answer(&mut self, r: Request) -> Reply {
        match r {
            Request::Authenticate { user, password, .. } => {
                if user == "bob" && password == "secret" {
                    Reply::AuthOk
                } else {
                    Reply::AuthFailed
                }
            }
            Request::ListScripts => Reply::Scripts(
                self.scripts.keys().map(|k| (k.clone(), self.active.as_deref() == Some(k.as_str()))).collect(),
            ),
            Request::GetScript { name } => match self.scripts.get(&name) {
                Some(s) => Reply::Script(s.clone()),
                None => Reply::NotFound,
            },
            Request::PutScript { name, content } => {
                if !self.scripts.contains_key(&name) && self.scripts.len() >= self.max_scripts {
                    return Reply::Quota(QuotaKind::MaxScripts);
                }
                self.scripts.insert(name, content);
                Reply::Done
            }
            Request::DeleteScript { name } => {
                if self.active.as_deref() == Some(name.as_str()) {
                    Reply::Active
                } else if self.scripts.remove(&name).is_some() {
                    Reply::Done
                } else {
                    Reply::NotFound
                }
            }
            Request::RenameScript { old, new } => {
                if self.scripts.contains_key(&new) {
                    return Reply::AlreadyExists;
                }
                match self.scripts.remove(&old) {
                    Some(s) => {
                        self.scripts.insert(new.clone(), s);
                        if self.active.as_deref() == Some(old.as_str()) {
                            self.active = Some(new);
                        }
                        Reply::Done
                    }
                    None => Reply::NotFound,
                }
            }
            Request::SetActive { name } => match name {
                None => {
                    self.active = None;
                    Reply::Done
                }
                Some(n) if self.scripts.contains_key(&n) => {
                    self.active = Some(n);
                    Reply::Done
                }
                Some(_) => Reply::NotFound,
            },
            Request::HaveSpace { size, .. } => {
                if size > 1000 {
                    Reply::Quota(QuotaKind::Other)
                } else {
                    Reply::Done
                }
            }
        }
    }
}

struct Harness {
    s: Session,
    store: Store,
    out: String,
    starttls: bool,
    closed: bool,
    greeting: String,
}

impl Harness {
    fn new(cfg: Config, tls: bool) -> Self {
        let mut h = Harness {
            s: Session::new(cfg, tls),
            store: Store { max_scripts: 3, ..Default::default() },
            out: String::new(),
            starttls: false,
            closed: false,
            greeting: String::new(),
        };
        h.pump();
        h.greeting = core::mem::take(&mut h.out);
        h
    }
    fn pump(&mut self) {
        while let Some(e) = self.s.poll() {
            match e {
                Event::Write(b) => self.out.push_str(core::str::from_utf8(&b).unwrap()),
                Event::Request(r) => {
                    let a = self.store.answer(r);
                    self.s.reply(a);
                }
                Event::StartTls => self.starttls = true,
                Event::Close => self.closed = true,
            }
        }
    }
    fn send(&mut self, data: &str, bytewise: bool) -> String {
        if bytewise {
            for b in data.as_bytes() {
                self.s.feed(core::slice::from_ref(b));
                self.pump();
            }
        } else {
            self.s.feed(data.as_bytes());
            self.pump();
        }
        core::mem::take(&mut self.out)
    }
}

fn plain(user: &str, pass: &str) -> String {
    let raw = alloc::format!("\0{user}\0{pass}");
    b64(raw.as_bytes())
}

fn b64(d: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in d.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                o.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

fn tls_cfg() -> Config {
    Config::default()
}

fn login(h: &mut Harness, bytewise: bool) {
    let r = h.send(&alloc::format!("AUTHENTICATE \"PLAIN\" \"{}\"\r\n", plain("bob", "secret")), bytewise);
    assert!(r.starts_with("OK"), "{r}");
}

#[test]
fn greeting_and_capability() {
    let mut h = Harness::new(tls_cfg(), false);
    assert!(h.greeting.starts_with("\"IMPLEMENTATION\" \"unimail\"\r\n"));
    assert!(h.greeting.ends_with("OK \"ManageSieve ready.\"\r\n"));
    assert_eq!(h.send("", false), "");
    let r = h.send("CAPABILITY\r\n", false);
    assert!(r.contains("\"IMPLEMENTATION\" \"unimail\"\r\n"));
    assert!(r.contains("\"SASL\" \"\"\r\n"), "no PLAIN before TLS: {r}");
    assert!(r.contains("\"STARTTLS\"\r\n"));
    assert!(r.contains("\"VERSION\" \"1.0\"\r\n"));
    assert!(r.contains("\"MAXREDIRECTS\" \"4\"\r\n"));
    assert!(r.contains("\"SIEVE\" \"fileinto envelope"));
    assert!(r.ends_with("OK \"Capability completed.\"\r\n"));
}

#[test]
fn starttls_then_plain_login() {
    for bytewise in [false, true] {
        let mut h = Harness::new(tls_cfg(), false);
        let r = h.send(&alloc::format!("AUTHENTICATE \"PLAIN\" \"{}\"\r\n", plain("bob", "secret")), bytewise);
        assert!(r.starts_with("NO (ENCRYPT-NEEDED)"), "{r}");
        // Bytes pipelined after STARTTLS are dropped (RFC 5804 2.2).
        let r = h.send("STARTTLS\r\nLISTSCRIPTS\r\n", bytewise);
        assert_eq!(r, "OK \"Begin TLS negotiation now.\"\r\n");
        assert!(h.starttls);
        h.s.tls_established();
        h.pump();
        let r = core::mem::take(&mut h.out);
        assert!(r.contains("\"SASL\" \"PLAIN\""), "{r}");
        assert!(!r.contains("STARTTLS"));
        assert!(r.ends_with("OK \"TLS negotiation successful.\"\r\n"));
        login(&mut h, bytewise);
        assert_eq!(h.s.user(), Some("bob"));
        let r = h.send("CAPABILITY\r\n", bytewise);
        assert!(r.contains("\"OWNER\" \"bob\""));
    }
}

#[test]
fn authenticate_continuation_and_failures() {
    let mut h = Harness::new(tls_cfg(), true);
    let r = h.send("AUTHENTICATE \"PLAIN\"\r\n", true);
    assert_eq!(r, "\"\"\r\n");
    let r = h.send(&alloc::format!("\"{}\"\r\n", plain("bob", "wrong")), true);
    assert_eq!(r, "NO \"Authentication failed.\"\r\n");
    let r = h.send("AUTHENTICATE \"PLAIN\"\r\n\"*\"\r\n", false);
    assert_eq!(r, "\"\"\r\nNO \"Authentication aborted.\"\r\n");
    let r = h.send("LISTSCRIPTS\r\n", false);
    assert!(r.starts_with("NO"));
    let lit = plain("bob", "secret");
    let r = h.send(&alloc::format!("AUTHENTICATE \"PLAIN\" {{{}+}}\r\n{}\r\n", lit.len(), lit), true);
    assert_eq!(r, "OK \"Logged in.\"\r\n");
    let r = h.send("AUTHENTICATE \"PLAIN\" \"x\"\r\n", false);
    assert!(r.starts_with("NO"));
    let r = h.send("UNAUTHENTICATE\r\n", false);
    assert!(r.starts_with("OK"));
    let r = h.send("LISTSCRIPTS\r\n", false);
    assert!(r.starts_with("NO"));
    // Three failures end the connection.
    let mut h = Harness::new(tls_cfg(), true);
    for _ in 0..3 {
        h.send(&alloc::format!("AUTHENTICATE \"PLAIN\" \"{}\"\r\n", plain("bob", "no")), false);
    }
    assert!(h.closed);
}

#[test]
fn plaintext_allowed_by_config() {
    let cfg = Config { allow_plain_without_tls: true, ..Config::default() };
    let mut h = Harness::new(cfg, false);
    login(&mut h, false);
}

#[test]
fn script_management_dialogue() {
    for bytewise in [false, true] {
        let mut h = Harness::new(tls_cfg(), true);
        login(&mut h, bytewise);
        let script = "require \"fileinto\";\r\nif header :contains \"X-Spam\" \"Yes\" { fileinto \"Junk\"; }\r\n";
        let r = h.send(&alloc::format!("PUTSCRIPT \"spam\" {{{}+}}\r\n{}\r\n", script.len(), script), bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        // Synchronising-literal form is accepted too.
        let r = h.send("PUTSCRIPT \"two\" {6}\r\nkeep;\n\r\n", bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        let r = h.send("LISTSCRIPTS\r\n", bytewise);
        assert_eq!(r, "\"spam\"\r\n\"two\"\r\nOK \"Listscripts completed.\"\r\n");
        let r = h.send("SETACTIVE \"spam\"\r\n", bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        let r = h.send("LISTSCRIPTS\r\n", bytewise);
        assert_eq!(r, "\"spam\" ACTIVE\r\n\"two\"\r\nOK \"Listscripts completed.\"\r\n");
        let r = h.send("GETSCRIPT \"spam\"\r\n", bytewise);
        assert_eq!(r, alloc::format!("{{{}}}\r\n{}\r\nOK \"Getscript completed.\"\r\n", script.len(), script));
        let r = h.send("GETSCRIPT \"nope\"\r\n", bytewise);
        assert!(r.starts_with("NO (NONEXISTENT)"));
        let r = h.send("DELETESCRIPT \"spam\"\r\n", bytewise);
        assert!(r.starts_with("NO (ACTIVE)"), "{r}");
        let r = h.send("RENAMESCRIPT \"spam\" \"two\"\r\n", bytewise);
        assert!(r.starts_with("NO (ALREADYEXISTS)"));
        let r = h.send("RENAMESCRIPT \"spam\" \"junk\"\r\n", bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        let r = h.send("RENAMESCRIPT \"zzz\" \"yyy\"\r\n", bytewise);
        assert!(r.starts_with("NO (NONEXISTENT)"));
        let r = h.send("SETACTIVE \"\"\r\n", bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        let r = h.send("SETACTIVE \"missing\"\r\n", bytewise);
        assert!(r.starts_with("NO (NONEXISTENT)"));
        let r = h.send("DELETESCRIPT \"junk\"\r\n", bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        let r = h.send("HAVESPACE \"x\" 500\r\n", bytewise);
        assert_eq!(r, "OK \"Done.\"\r\n");
        let r = h.send("HAVESPACE \"x\" 5000\r\n", bytewise);
        assert!(r.starts_with("NO (QUOTA)"));
        let r = h.send("HAVESPACE \"x\" 999999999\r\n", bytewise);
        assert!(r.starts_with("NO (QUOTA/MAXSIZE)"));
        let r = h.send("NOOP \"abc\"\r\nNOOP\r\n", bytewise);
        assert_eq!(r, "OK (TAG \"abc\") \"Done\"\r\nOK \"NOOP completed.\"\r\n");
        let r = h.send("LOGOUT\r\n", bytewise);
        assert!(r.starts_with("OK"));
        assert!(h.closed && h.s.is_closed());
    }
}

#[test]
fn putscript_validation_errors_with_position() {
    let mut h = Harness::new(tls_cfg(), true);
    login(&mut h, false);
    let bad = "require \"fileinto\";\nif header :contains \"a\" \"b\" {\n  frob;\n}\n";
    let r = h.send(&alloc::format!("PUTSCRIPT \"bad\" {{{}+}}\r\n{}\r\n", bad.len(), bad), false);
    assert_eq!(r, "NO \"line 3:3: unknown command 'frob'\"\r\n");
    let r = h.send("CHECKSCRIPT \"fileinto \\\"x\\\";\"\r\n", false);
    assert!(r.starts_with("NO \"line 1:1: fileinto requires"), "{r}");
    let r = h.send("CHECKSCRIPT \"keep;\"\r\n", false);
    assert_eq!(r, "OK \"Script is valid.\"\r\n");
    let r = h.send("LISTSCRIPTS\r\n", false);
    assert_eq!(r, "OK \"Listscripts completed.\"\r\n");
}

#[test]
fn limits() {
    let cfg = Config { max_script_size: 100, max_line: 64, ..Config::default() };
    let mut h = Harness::new(cfg, true);
    login(&mut h, false);
    // Oversized literal: refused, its bytes skipped, session still usable.
    let big = "#".repeat(500);
    let r = h.send(&alloc::format!("PUTSCRIPT \"big\" {{500+}}\r\n{big}\r\nNOOP\r\n"), false);
    assert_eq!(r, "NO (QUOTA/MAXSIZE) \"Literal too large.\"\r\nOK \"NOOP completed.\"\r\n");
    // Same, byte at a time.
    let r = h.send(&alloc::format!("PUTSCRIPT \"big\" {{500+}}\r\n{big}\r\nNOOP\r\n"), true);
    assert_eq!(r, "NO (QUOTA/MAXSIZE) \"Literal too large.\"\r\nOK \"NOOP completed.\"\r\n");
    // Overlong line.
    let r = h.send(&alloc::format!("NOOP \"{}\"\r\nNOOP\r\n", "a".repeat(200)), false);
    assert_eq!(r, "NO \"line too long\"\r\nOK \"NOOP completed.\"\r\n");
    // Script count quota from the store.
    for i in 0..3 {
        let r = h.send(&alloc::format!("PUTSCRIPT \"s{i}\" \"keep;\"\r\n"), false);
        assert_eq!(r, "OK \"Done.\"\r\n");
    }
    let r = h.send("PUTSCRIPT \"s9\" \"keep;\"\r\n", false);
    assert!(r.starts_with("NO (QUOTA/MAXSCRIPTS)"));
    // Invalid name.
    assert!(h.send("DELETESCRIPT \"s0\"\r\n", false).starts_with("OK"));
    let r = h.send("PUTSCRIPT \"a\\\\b\" \"keep;\"\r\n", false);
    assert!(r.starts_with("OK"), "backslash is a legal name char: {r}");
    let r = h.send("PUTSCRIPT \"\" \"keep;\"\r\n", false);
    assert!(r.starts_with("NO \"Invalid script name\""));
}

#[test]
fn bad_commands_and_syntax() {
    let mut h = Harness::new(tls_cfg(), true);
    assert!(h.send("FROB\r\n", false).starts_with("NO \"Unknown command\""));
    assert!(h.send("\"str\"\r\n", false).starts_with("NO"));
    assert!(h.send("NOOP \"unterminated\r\n", false).starts_with("NO"));
    assert!(h.send("GETSCRIPT\r\n", false).starts_with("NO"));
    assert!(h.send("NOOP {x+}\r\n", false).starts_with("NO"));
    // Too many bad commands: BYE.
    for _ in 0..10 {
        h.send("FROB\r\n", false);
    }
    assert!(h.closed);
}

#[test]
fn base64() {
    assert_eq!(base64_decode(b"AGJvYgBzZWNyZXQ=").unwrap(), b"\0bob\0secret");
    assert!(base64_decode(b"A=A").is_none());
    assert!(base64_decode(b"!!").is_none());
    assert_eq!(b64(b"\0bob\0secret"), "AGJvYgBzZWNyZXQ=");
    let _ = vec![0u8];
}

#[test]
fn response_strings() {
    assert_eq!(sieve_string("a\"b"), "\"a\\\"b\"");
    assert_eq!(sieve_string("a\r\nb"), "{4}\r\na\r\nb");
}
