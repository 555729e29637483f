//! Runs Dovecot's `imap` binary (Debian dovecot-imapd) in PREAUTH mode
//! over a pipe, on a fresh Maildir, as an unprivileged user; and a small
//! IMAP response-data parser to compare its output with ours.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

pub const DOVECOT_IMAP: &str = "/usr/lib/dovecot/imap";

/// Whether the test can run; panics under CI when Dovecot is missing.
pub fn available(test: &str) -> bool {
    if Path::new(DOVECOT_IMAP).exists() {
        return true;
    }
    if std::env::var("CI").map_or(false, |v| !v.is_empty() && v != "false" && v != "0") {
        panic!("Dovecot is required under CI (run mail/imap/tests/setup.sh)");
    }
    eprintln!("\n!!! SKIPPING {}: {} not found !!!\n", test, DOVECOT_IMAP);
    false
}

/// Feeds `append` (commands whose completions are awaited one by one, so
/// that UIDs are assigned in order), then `queries`; returns all output
/// after the APPENDs.
pub fn run(name: &str, append: &[u8], queries: &[u8]) -> Vec<u8> {
    run_inner(name, append, &[queries.to_vec()], false)
}

/// Like [`run`], but sends the commands one at a time, each after the
/// previous one's tagged completion: Dovecot runs pipelined commands in
/// parallel and may complete them out of order.
pub fn run_serial(name: &str, append: &[u8], cmds: &[Vec<u8>]) -> Vec<u8> {
    run_inner(name, append, cmds, true)
}

fn run_inner(name: &str, append: &[u8], cmds: &[Vec<u8>], serial: bool) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("mail-imap-dovecot-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join("Maildir").join(sub)).unwrap();
    }
    let conf = dir.join("dovecot.conf");
    std::fs::write(
        &conf,
        format!(
            "mail_location = maildir:{d}/Maildir\nlog_path = {d}/log\nnamespace inbox {{\n  inbox = yes\n  separator = /\n}}\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let root = Command::new("id").arg("-u").output().map_or(false, |o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if root {
        // Dovecot refuses mail access as root: run as nobody.
        Command::new("chown").args(["-R", "65534:65534", dir.to_str().unwrap()]).status().unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", DOVECOT_IMAP]);
        c
    } else {
        Command::new(DOVECOT_IMAP)
    };
    let mut child = cmd
        .args(["-c", conf.to_str().unwrap()])
        .env_clear()
        .env("MAIL", format!("maildir:{}/Maildir", dir.display()))
        .env("HOME", &dir)
        .env("USER", "bob")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dovecot imap");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = Vec::new();
    stdout.read_until(b'\n', &mut line).unwrap(); // PREAUTH
    let n = append.windows(8).filter(|w| w.starts_with(b" APPEND ")).count();
    stdin.write_all(append).unwrap();
    stdin.flush().unwrap();
    let mut done = 0;
    while done < n {
        line.clear();
        stdout.read_until(b'\n', &mut line).unwrap();
        assert!(!line.is_empty(), "dovecot exited early");
        if !line.starts_with(b"*") && line.windows(4).any(|w| w == b" OK ") {
            done += 1;
        }
    }
    let mut out = Vec::new();
    if !serial {
        // Write from another thread: Dovecot stops reading input while its
        // output pipe is full, so writing everything first could deadlock.
        let all: Vec<u8> = cmds.concat();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&all);
            drop(stdin);
        });
        stdout.read_to_end(&mut out).unwrap();
        writer.join().unwrap();
    } else {
        for c in cmds {
            stdin.write_all(c).unwrap();
            stdin.flush().unwrap();
            let tag: Vec<u8> = c.iter().take_while(|&&b| b != b' ').copied().collect();
            loop {
                line.clear();
                stdout.read_until(b'\n', &mut line).unwrap();
                if line.is_empty() {
                    break;
                }
                out.extend_from_slice(&line);
                // Literal data in a response line: read it whole.
                if let Some(n) = literal_len(&line) {
                    let mut buf = vec![0u8; n];
                    stdout.read_exact(&mut buf).unwrap();
                    out.extend_from_slice(&buf);
                    continue;
                }
                if line.starts_with(&tag) && line.get(tag.len()) == Some(&b' ') {
                    break;
                }
            }
        }
        drop(stdin);
        stdout.read_to_end(&mut out).unwrap();
    }
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// A Dovecot `imap` process on a shared Maildir, driven command by command.
pub struct Proc {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

/// A fresh Maildir + config for [`Proc::spawn`]; removed on drop.
pub struct Dir(pub std::path::PathBuf);

impl Dir {
    pub fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("mail-imap-dovecot-{}-{}", name, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join("Maildir").join(sub)).unwrap();
        }
        std::fs::write(
            dir.join("dovecot.conf"),
            format!(
                "mail_location = maildir:{d}/Maildir\nlog_path = {d}/log\nnamespace inbox {{\n  inbox = yes\n  separator = /\n}}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let root = Command::new("id").arg("-u").output().map_or(false, |o| o.stdout.starts_with(b"0\n"));
        if root {
            Command::new("chown").args(["-R", "65534:65534", dir.to_str().unwrap()]).status().unwrap();
        }
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Proc {
    pub fn spawn(dir: &Dir) -> Proc {
        let d = &dir.0;
        let root = Command::new("id").arg("-u").output().map_or(false, |o| o.stdout.starts_with(b"0\n"));
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", DOVECOT_IMAP]);
            c
        } else {
            Command::new(DOVECOT_IMAP)
        };
        let mut child = cmd
            .args(["-c", d.join("dovecot.conf").to_str().unwrap()])
            .env_clear()
            .env("MAIL", format!("maildir:{}/Maildir", d.display()))
            .env("HOME", d)
            .env("USER", "bob")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dovecot imap");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = Vec::new();
        stdout.read_until(b'\n', &mut line).unwrap(); // PREAUTH
        Proc { child, stdin, stdout }
    }

    /// Sends one command and returns everything up to its tagged reply.
    pub fn cmd(&mut self, c: &[u8]) -> Vec<u8> {
        self.stdin.write_all(c).unwrap();
        self.stdin.flush().unwrap();
        let tag: Vec<u8> = c.iter().take_while(|&&b| b != b' ').copied().collect();
        let mut out = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            self.stdout.read_until(b'\n', &mut line).unwrap();
            if line.is_empty() {
                break;
            }
            out.extend_from_slice(&line);
            if let Some(n) = literal_len(&line) {
                let mut buf = vec![0u8; n];
                self.stdout.read_exact(&mut buf).unwrap();
                out.extend_from_slice(&buf);
                continue;
            }
            if line.starts_with(&tag) && line.get(tag.len()) == Some(&b' ') {
                break;
            }
        }
        out
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `{n}` at the end of a response line.
fn literal_len(line: &[u8]) -> Option<usize> {
    let l = line.strip_suffix(b"\r\n").unwrap_or(line);
    let l = l.strip_suffix(b"}")?;
    let open = l.iter().rposition(|&c| c == b'{')?;
    std::str::from_utf8(&l[open + 1..]).ok()?.parse().ok()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Nil,
    Str(Vec<u8>),
    List(Vec<Tok>),
}

/// Parses IMAP response data (atoms, quoted strings, literals, lists).
pub fn parse(b: &[u8], i: &mut usize) -> Tok {
    while b[*i] == b' ' {
        *i += 1;
    }
    match b[*i] {
        b'(' => {
            *i += 1;
            let mut v = Vec::new();
            loop {
                while b[*i] == b' ' {
                    *i += 1;
                }
                if b[*i] == b')' {
                    *i += 1;
                    return Tok::List(v);
                }
                v.push(parse(b, i));
            }
        }
        b'"' => {
            *i += 1;
            let mut s = Vec::new();
            while b[*i] != b'"' {
                if b[*i] == b'\\' {
                    *i += 1;
                }
                s.push(b[*i]);
                *i += 1;
            }
            *i += 1;
            Tok::Str(s)
        }
        b'{' | b'~' => {
            if b[*i] == b'~' {
                *i += 1;
            }
            let close = *i + b[*i..].iter().position(|&c| c == b'}').unwrap();
            let n: usize = std::str::from_utf8(&b[*i + 1..close]).unwrap().trim_end_matches('+').parse().unwrap();
            *i = close + 3;
            let s = b[*i..*i + n].to_vec();
            *i += n;
            Tok::Str(s)
        }
        _ => {
            let s = *i;
            // Atoms; section names like BODY[HEADER.FIELDS (A B)]<0> are one token.
            let mut depth = 0;
            while *i < b.len() {
                let c = b[*i];
                if c == b'[' {
                    depth += 1;
                } else if c == b']' {
                    depth -= 1;
                } else if depth == 0 && (c == b' ' || c == b')' || c == b'(' || c == b'\r') {
                    break;
                }
                *i += 1;
            }
            let a = b[s..*i].to_vec();
            if a.eq_ignore_ascii_case(b"NIL") {
                Tok::Nil
            } else {
                Tok::Str(a)
            }
        }
    }
}

pub fn show(t: &Tok) -> String {
    match t {
        Tok::Nil => "NIL".into(),
        Tok::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
        Tok::List(v) => format!("({})", v.iter().map(show).collect::<Vec<_>>().join(" ")),
    }
}
